//! Helpers shared by the integration tests: the moto endpoint, a stack in a temporary
//! directory that runs the real `meshctl` binary against moto, and direct SDK calls to moto
//! to check what really exists.
//!
//! Tests run in parallel against one moto server that is never reset, so everything is named
//! after the test plus a per-process suffix, and no test relies on global counts.

// Each test crate uses a different subset of these helpers.
#![allow(dead_code)]

pub mod amg_fake;
pub mod amp_query_fake;
pub mod amp_scraper_fake;
pub mod appmesh_shim;
pub mod charts;
pub mod ec2_shim;
pub mod eks_auth;
pub mod eks_shim;
pub mod fault_proxy;
pub mod grafana_fake;
pub mod http_fake;
pub mod kube_fake;
pub mod latency;
pub mod pagerduty_fake;
pub mod stack_rig;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_credential_types::Credentials;
use aws_types::SdkConfig;
use aws_types::region::Region;
use tempfile::TempDir;

pub const REGION: &str = "us-east-1";
/// The account moto answers STS GetCallerIdentity with.
pub const MOTO_ACCOUNT: &str = "123456789012";
/// Every subcommand `meshctl --help` and the completion scripts must offer.
pub const SUBCOMMANDS: &[&str] = &[
    "up",
    "cluster",
    "istio",
    "amp",
    "irsa",
    "prometheus",
    "kiali",
    "grafana",
    "pagerduty",
    "cleanup",
    "status",
    "verify",
    "doctor",
    "init",
    "token",
    "traffic",
    "kubeconfig",
    "completions",
    "migrate",
];
/// The ownership tag meshctl puts on what a stack owns.
pub const STACK_TAG: &str = "meshctl.io/stack";
/// `USER` given to every meshctl run, so lock messages are predictable.
pub const TEST_USER: &str = "meshctl-test";
/// Hang guard for one meshctl run (never an assertion on how long it took).
pub const RUN_GUARD: Duration = Duration::from_secs(180);

/// The moto endpoint `./test.sh` started. Panics (never skips) when it is not there.
pub fn moto() -> String {
    match std::env::var("MESHCTL_TEST_MOTO") {
        Ok(url) if !url.trim().is_empty() => url.trim().trim_end_matches('/').to_string(),
        _ => panic!(
            "moto is not running: MESHCTL_TEST_MOTO is not set. Run the tests with `./test.sh`, \
             which installs a pinned moto[server] into .venv-test/, starts it on a free loopback \
             port and exports MESHCTL_TEST_MOTO"
        ),
    }
}

/// A name unique to this test and this test process, usable as a stack name, an AMP alias
/// and an S3 bucket name (lowercase letters, digits and hyphens, at most 32 characters, the
/// longest stack name meshctl accepts).
pub fn unique(test: &str) -> String {
    static SEQ: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let suffix = format!(
        "{:x}{:x}{}",
        std::process::id(),
        nanos & 0xfff,
        SEQ.fetch_add(1, Ordering::Relaxed)
    );
    let mut base: String = test
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    // A valid stack name (at most 32 characters), so every name here can be one.
    base.truncate(32usize.saturating_sub(suffix.len() + 1));
    format!("{}-{suffix}", base.trim_matches('-'))
}

/// `meshctl` with no credentials anywhere: a clean environment (no AWS or MESHCTL variables
/// from the caller), `HOME` = `dir` with no AWS config or credentials files in it, instance
/// metadata disabled, and, as a last guard, every AWS endpoint on a closed local port.
/// It runs in `dir`, so local state (`.meshctl/`) never touches the checkout.
pub fn offline_meshctl(dir: &Path) -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::new(env!("CARGO_BIN_EXE_meshctl"));
    cmd.env_clear()
        .current_dir(dir)
        .env("HOME", dir)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", dir.join("no-such-aws-config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            dir.join("no-such-aws-credentials"),
        )
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("NO_COLOR", "1");
    cmd
}

/// Run `fut` to completion on a fresh current-thread runtime (for synchronous tests).
pub fn block_on<F: std::future::Future>(fut: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime for the test")
        .block_on(fut)
}

// ---------------------------------------------------------------------------------------
// A stack in a temporary directory, driven through the real binary.
// ---------------------------------------------------------------------------------------

/// The AMG fake shared by every run in this test process that does not bring its own:
/// moto serves no Managed Grafana, and a whole-stack `cleanup` or `status` lists workspaces.
pub fn shared_amg() -> &'static amg_fake::AmgFake {
    static AMG: std::sync::OnceLock<amg_fake::AmgFake> = std::sync::OnceLock::new();
    AMG.get_or_init(|| amg_fake::AmgFake::start(Duration::ZERO))
}

/// The AMP scraper fake shared by every run against moto in this test process that does not
/// bring its own: moto serves no AMP scrapers, and a whole-stack `cleanup` lists them. It
/// answers the scraper operations and forwards every other AMP request to moto.
pub fn shared_scrapers() -> &'static amp_scraper_fake::ScraperFake {
    static SCRAPERS: std::sync::OnceLock<amp_scraper_fake::ScraperFake> =
        std::sync::OnceLock::new();
    SCRAPERS.get_or_init(|| amp_scraper_fake::ScraperFake::start(Duration::ZERO, &moto()))
}

/// A stack with a unique name, its own meshctl.yaml and its own local state directory.
pub struct Stack {
    pub name: String,
    /// Holds meshctl.yaml, the state directory and the fake HOME.
    pub dir: TempDir,
}

pub struct StackBuilder {
    test: String,
    state: Option<String>,
    extra_yaml: String,
}

impl StackBuilder {
    /// Keep state somewhere other than `<tmp>/.meshctl` (e.g. `s3://bucket/ci`).
    pub fn state(mut self, state: impl Into<String>) -> Self {
        self.state = Some(state.into());
        self
    }

    /// Extra top-level YAML appended to meshctl.yaml (e.g. an `amp:` section).
    pub fn yaml(mut self, yaml: &str) -> Self {
        self.extra_yaml.push_str(yaml);
        if !self.extra_yaml.ends_with('\n') {
            self.extra_yaml.push('\n');
        }
        self
    }

    pub fn build(self) -> Stack {
        let dir = tempfile::Builder::new()
            .prefix("meshctl-test-")
            .tempdir()
            .expect("a temporary directory");
        let name = unique(&self.test);
        let state = self
            .state
            .unwrap_or_else(|| dir.path().join(".meshctl").display().to_string());
        let yaml = format!(
            "name: {name}\nregion: {REGION}\nstate: \"{state}\"\n{}",
            self.extra_yaml
        );
        std::fs::write(dir.path().join("meshctl.yaml"), yaml).expect("write meshctl.yaml");
        std::fs::create_dir_all(dir.path().join("home")).expect("create the fake HOME");
        Stack { name, dir }
    }
}

impl Stack {
    pub fn builder(test: &str) -> StackBuilder {
        StackBuilder {
            test: test.to_string(),
            state: None,
            extra_yaml: String::new(),
        }
    }

    /// A stack with the default configuration and local state.
    pub fn new(test: &str) -> Stack {
        Self::builder(test).build()
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `<tmp>/.meshctl/<stack>`: where the local store keeps state, ledger and lock.
    pub fn state_dir(&self) -> PathBuf {
        self.path().join(".meshctl").join(&self.name)
    }

    pub fn lock_file(&self) -> PathBuf {
        self.state_dir().join("lock.json")
    }

    /// Record in the local state that `step` was applied with `outputs` (in moto's account
    /// and [`REGION`]), as if an earlier run had done it: tests of a step seed its
    /// prerequisites' outputs this way (e.g. the cluster endpoint and OIDC issuer).
    pub fn seed_applied(&self, step: &str, outputs: &[(&str, &str)]) {
        let path = self.state_dir().join("state.json");
        std::fs::create_dir_all(self.state_dir()).expect("create the state directory");
        let mut doc: serde_json::Value = std::fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_else(|| serde_json::json!({"stack": self.name, "steps": {}}));
        let outputs: serde_json::Map<String, serde_json::Value> = outputs
            .iter()
            .map(|(k, v)| (k.to_string(), serde_json::Value::from(*v)))
            .collect();
        doc["steps"][step] = serde_json::json!({
            "applied_at": "2026-01-01T00:00:00Z",
            "outputs": outputs,
            "region": REGION,
            "account": MOTO_ACCOUNT,
        });
        std::fs::write(&path, serde_json::to_vec_pretty(&doc).expect("state JSON"))
            .expect("write state.json");
    }

    /// `meshctl` as a std command against `endpoint`: AWS settings come only from what is
    /// set here (every inherited `AWS_*` and `MESHCTL_*` variable is removed).
    pub fn std_command(&self, endpoint: &str) -> std::process::Command {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_meshctl"));
        for (key, _) in std::env::vars_os() {
            let k = key.to_string_lossy();
            if k.starts_with("AWS_") || k.starts_with("MESHCTL_") {
                cmd.env_remove(&key);
            }
        }
        cmd.current_dir(self.path())
            .env("AWS_ENDPOINT_URL", endpoint)
            // Moto has no Managed Grafana: every run reaches this process's AMG fake, unless
            // a test sets its own (a later `.env` wins).
            .env("AWS_ENDPOINT_URL_GRAFANA", &shared_amg().url)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_REGION", REGION)
            .env("HOME", self.path().join("home"))
            .env("USER", TEST_USER)
            .env("NO_COLOR", "1")
            .env_remove("AWS_PROFILE");
        // Moto has no AMP scrapers: runs against moto reach AMP through the scraper fake,
        // which forwards everything else to moto (a test may set its own, later `.env` wins).
        let is_moto = std::env::var("MESHCTL_TEST_MOTO")
            .is_ok_and(|m| m.trim().trim_end_matches('/') == endpoint.trim_end_matches('/'));
        if is_moto {
            cmd.env("AWS_ENDPOINT_URL_AMP", &shared_scrapers().url);
        }
        cmd
    }

    /// `meshctl <args>` against moto, with a hang guard.
    pub fn cmd(&self) -> assert_cmd::Command {
        self.cmd_via(&moto())
    }

    /// `meshctl <args>` against `endpoint` (e.g. a proxy in front of moto).
    pub fn cmd_via(&self, endpoint: &str) -> assert_cmd::Command {
        let mut cmd = assert_cmd::Command::from_std(self.std_command(endpoint));
        cmd.timeout(RUN_GUARD);
        cmd
    }

    /// Run `meshctl <args> --output json` against moto.
    pub fn run_json(&self, args: &[&str]) -> Run {
        let output = self
            .cmd()
            .args(args)
            .args(["--output", "json"])
            .output()
            .expect("meshctl runs");
        Run::from(output)
    }
}

impl Stack {
    /// Run `meshctl <args> --output json` against moto with extra environment variables.
    pub fn run_json_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut cmd = self.cmd();
        for (k, v) in env {
            cmd.env(k, v);
        }
        Run::from(
            cmd.args(args)
                .args(["--output", "json"])
                .output()
                .expect("meshctl runs"),
        )
    }
}

/// The actions of `step` in a run report or plan, as `(op, kind, name)`.
pub fn step_actions(doc: &serde_json::Value, step: &str) -> Vec<(String, String, String)> {
    let steps = doc["steps"].as_array().expect("a `steps` array");
    let Some(s) = steps.iter().find(|s| s["step"] == step) else {
        panic!("no {step} step in {doc:#}")
    };
    s["actions"]
        .as_array()
        .expect("an `actions` array")
        .iter()
        .map(|a| {
            let f = |k: &str| a[k].as_str().unwrap_or_default().to_string();
            (f("op"), f("kind"), f("name"))
        })
        .collect()
}

/// The outcome of one meshctl run.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code(),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl Run {
    /// Stdout parsed as the one JSON document `--output json` prints.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not one JSON document ({e})\nstdout:\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }

    /// Panic with the whole output unless the exit code is `code`.
    pub fn expect_code(&self, code: i32) -> &Run {
        assert_eq!(
            self.code,
            Some(code),
            "expected exit code {code}\nstdout:\n{}\nstderr:\n{}",
            self.stdout,
            self.stderr
        );
        self
    }
}

/// Wait for a spawned meshctl (`stdout` and `stderr` piped) and collect what it printed. Both
/// pipes are read on threads of their own, so a large output never blocks the child; after
/// `guard` the child is killed and the test fails (a hang guard, not a timing).
pub fn finish(mut child: std::process::Child, guard: Duration) -> Run {
    use std::io::Read;
    let reader = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_string(&mut text);
            }
            text
        })
    };
    let out = reader(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let err = reader(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("poll meshctl") {
            break status;
        }
        if started.elapsed() > guard {
            let _ = child.kill();
            let _ = child.wait();
            panic!("hang guard: meshctl did not exit within {guard:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Run {
        code: status.code(),
        stdout: out.join().expect("stdout reader"),
        stderr: err.join().expect("stderr reader"),
    }
}

/// The actions of the `amp` step in a run report or plan, as `(op, kind, name)`.
pub fn amp_actions(doc: &serde_json::Value) -> Vec<(String, String, String)> {
    let steps = doc["steps"].as_array().expect("a `steps` array");
    let amp = steps
        .iter()
        .find(|s| s["step"] == "amp")
        .unwrap_or_else(|| panic!("no amp step in {doc:#}"));
    amp["actions"]
        .as_array()
        .expect("an `actions` array")
        .iter()
        .map(|a| {
            let s = |k: &str| a[k].as_str().unwrap_or_default().to_string();
            (s("op"), s("kind"), s("name"))
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Direct SDK calls to moto, to check what exists independently of meshctl.
// ---------------------------------------------------------------------------------------

/// SDK configuration pointing at moto with static test credentials.
pub async fn sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(meshctl::aws::https_client())
        .endpoint_url(moto())
        .region(Region::new(REGION))
        .credentials_provider(Credentials::new(
            "testing",
            "testing",
            None,
            None,
            "meshctl-tests",
        ))
        .load()
        .await
}

pub async fn amp() -> aws_sdk_amp::Client {
    aws_sdk_amp::Client::new(&sdk_config().await)
}

pub async fn s3() -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::new(&sdk_config().await)
}

/// One AMP workspace as moto reports it.
#[derive(Debug, Clone)]
pub struct WorkspaceInfo {
    pub id: String,
    pub arn: String,
    pub alias: Option<String>,
    pub status: String,
    pub tags: HashMap<String, String>,
}

impl WorkspaceInfo {
    pub fn owned_by(&self, stack: &str) -> bool {
        self.tags.get(STACK_TAG).is_some_and(|v| v == stack)
    }

    /// Still there for practical purposes (not on its way out).
    pub fn is_live(&self) -> bool {
        self.status != "DELETING"
    }
}

/// Every workspace in moto (all pages), with its tags.
pub async fn all_workspaces() -> Vec<WorkspaceInfo> {
    let client = amp().await;
    let mut out = vec![];
    let mut pages = client.list_workspaces().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.expect("ListWorkspaces on moto");
        for s in page.workspaces() {
            let tags = match s.tags() {
                Some(t) => t.clone(),
                None => client
                    .list_tags_for_resource()
                    .resource_arn(s.arn())
                    .send()
                    .await
                    .expect("ListTagsForResource on moto")
                    .tags
                    .unwrap_or_default(),
            };
            out.push(WorkspaceInfo {
                id: s.workspace_id().to_string(),
                arn: s.arn().to_string(),
                alias: s.alias().map(str::to_string),
                status: s
                    .status()
                    .map(|st| st.status_code().as_str().to_string())
                    .unwrap_or_default(),
                tags,
            });
        }
    }
    out
}

/// Workspaces carrying `meshctl.io/stack=<stack>` that are not being deleted.
pub async fn live_tagged_workspaces(stack: &str) -> Vec<WorkspaceInfo> {
    all_workspaces()
        .await
        .into_iter()
        .filter(|w| w.owned_by(stack) && w.is_live())
        .collect()
}

/// Workspaces whose alias is exactly `alias` (any tags) that are not being deleted.
pub async fn live_workspaces_with_alias(alias: &str) -> Vec<WorkspaceInfo> {
    all_workspaces()
        .await
        .into_iter()
        .filter(|w| w.alias.as_deref() == Some(alias) && w.is_live())
        .collect()
}

/// A workspace as DescribeWorkspace reports it, `None` when it does not exist.
pub async fn describe_workspace(id: &str) -> Option<WorkspaceInfo> {
    let client = amp().await;
    match client.describe_workspace().workspace_id(id).send().await {
        Ok(out) => out.workspace.map(|w| WorkspaceInfo {
            id: w.workspace_id().to_string(),
            arn: w.arn().to_string(),
            alias: w.alias().map(str::to_string),
            status: w
                .status()
                .map(|s| s.status_code().as_str().to_string())
                .unwrap_or_default(),
            tags: w.tags().cloned().unwrap_or_default(),
        }),
        Err(e)
            if e.as_service_error()
                .is_some_and(|se| se.is_resource_not_found_exception()) =>
        {
            None
        }
        Err(e) => panic!(
            "DescribeWorkspace {id} on moto: {}",
            aws_smithy_types::error::display::DisplayErrorContext(&e)
        ),
    }
}

/// Whether workspace `id` still exists and is not being deleted.
pub async fn workspace_is_live(id: &str) -> bool {
    describe_workspace(id).await.is_some_and(|w| w.is_live())
}

/// Create a workspace with `alias` and no tags at all, as someone else would.
pub async fn create_untagged_workspace(alias: &str) -> String {
    amp()
        .await
        .create_workspace()
        .alias(alias)
        .send()
        .await
        .expect("CreateWorkspace on moto")
        .workspace_id()
        .to_string()
}

/// A rule-groups namespace's data (as text) and tags, `None` when it does not exist.
pub async fn rule_groups_namespace(
    workspace_id: &str,
    name: &str,
) -> Option<(String, HashMap<String, String>)> {
    let client = amp().await;
    match client
        .describe_rule_groups_namespace()
        .workspace_id(workspace_id)
        .name(name)
        .send()
        .await
    {
        Ok(out) => out.rule_groups_namespace.map(|ns| {
            (
                String::from_utf8_lossy(ns.data().as_ref()).into_owned(),
                ns.tags().cloned().unwrap_or_default(),
            )
        }),
        Err(e)
            if e.as_service_error()
                .is_some_and(|se| se.is_resource_not_found_exception()) =>
        {
            None
        }
        Err(e) => panic!(
            "DescribeRuleGroupsNamespace {workspace_id}/{name} on moto: {}",
            aws_smithy_types::error::display::DisplayErrorContext(&e)
        ),
    }
}

/// Create an S3 bucket in moto.
pub async fn create_bucket(bucket: &str) {
    s3().await
        .create_bucket()
        .bucket(bucket)
        .send()
        .await
        .unwrap_or_else(|e| {
            panic!(
                "CreateBucket {bucket} on moto: {}",
                aws_smithy_types::error::display::DisplayErrorContext(&e)
            )
        });
}

/// An S3 object's body, `None` when the key does not exist.
pub async fn get_object(bucket: &str, key: &str) -> Option<Vec<u8>> {
    match s3().await.get_object().bucket(bucket).key(key).send().await {
        Ok(out) => Some(
            out.body
                .collect()
                .await
                .expect("read the object body")
                .to_vec(),
        ),
        Err(e) if e.as_service_error().is_some_and(|se| se.is_no_such_key()) => None,
        Err(e) => panic!(
            "GetObject s3://{bucket}/{key} on moto: {}",
            aws_smithy_types::error::display::DisplayErrorContext(&e)
        ),
    }
}
