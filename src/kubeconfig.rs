//! `meshctl kubeconfig`: write or merge a kubeconfig cluster, user and context for the stack's
//! EKS cluster. The user is an `exec` entry that runs `meshctl token`, so kubectl needs no AWS
//! CLI. Other clusters, users and contexts in the file are kept as they are.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_yaml_ng::{Mapping, Value};

use crate::aws::{Aws, Connection};
use crate::cli::{GlobalArgs, KubeconfigArgs};
use crate::config::Config;
use crate::engine::StepId;
use crate::engine::state::{self, StackState};
use crate::error::Error;
use crate::kube::connect::outputs;
use crate::ui::Ui;

/// The client-go exec credential API the `exec` entry asks for (what `meshctl token` prints).
pub const EXEC_API_VERSION: &str = "client.authentication.k8s.io/v1beta1";

/// What the kubeconfig entries are built from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The name of the cluster and user entries (and of the context unless `context` is set).
    pub name: String,
    pub context: String,
    pub cluster: String,
    pub region: String,
    pub profile: Option<String>,
    pub endpoint: String,
    /// Base64 PEM bundle, as DescribeCluster reports it.
    pub certificate_authority: String,
    /// The command the exec entry runs.
    pub command: String,
}

/// The kubeconfig file to write: `$KUBECONFIG`'s first entry, else `~/.kube/config`.
pub fn default_path() -> Result<PathBuf, Error> {
    if let Some(v) = std::env::var_os("KUBECONFIG")
        && let Some(first) = std::env::split_paths(&v).find(|p| !p.as_os_str().is_empty())
    {
        return Ok(first);
    }
    match std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        Some(home) => Ok(PathBuf::from(home).join(".kube").join("config")),
        None => Err(Error::usage(
            "no kubeconfig path: neither KUBECONFIG nor HOME is set",
            "pass --kubeconfig PATH",
        )),
    }
}

fn s(v: &str) -> Value {
    Value::String(v.to_string())
}

fn map(pairs: Vec<(&str, Value)>) -> Value {
    let mut m = Mapping::new();
    for (k, v) in pairs {
        m.insert(s(k), v);
    }
    Value::Mapping(m)
}

impl Entry {
    fn cluster_value(&self) -> Value {
        map(vec![
            ("server", s(&self.endpoint)),
            ("certificate-authority-data", s(&self.certificate_authority)),
        ])
    }

    fn user_value(&self) -> Value {
        let mut args = vec![
            s("token"),
            s("--cluster"),
            s(&self.cluster),
            s("--region"),
            s(&self.region),
        ];
        if let Some(p) = &self.profile {
            args.push(s("--profile"));
            args.push(s(p));
        }
        map(vec![(
            "exec",
            map(vec![
                ("apiVersion", s(EXEC_API_VERSION)),
                ("command", s(&self.command)),
                ("args", Value::Sequence(args)),
                ("interactiveMode", s("Never")),
                ("provideClusterInfo", Value::Bool(false)),
            ]),
        )])
    }

    fn context_value(&self) -> Value {
        map(vec![("cluster", s(&self.name)), ("user", s(&self.name))])
    }
}

/// Put `{name, <field>: value}` into the list `key` of `doc`, replacing the entry of that
/// name and keeping every other entry where it is.
fn upsert(doc: &mut Mapping, key: &str, field: &str, name: &str, value: Value) {
    let list = doc.entry(s(key)).or_insert(Value::Sequence(vec![]));
    if !list.is_sequence() {
        *list = Value::Sequence(vec![]);
    }
    let Value::Sequence(items) = list else {
        return;
    };
    let entry = map(vec![("name", s(name)), (field, value)]);
    match items
        .iter_mut()
        .find(|i| i.get("name").and_then(Value::as_str) == Some(name))
    {
        Some(existing) => {
            // Keep any extra keys someone added to the entry (e.g. `extensions`).
            if let (Value::Mapping(old), Value::Mapping(new)) = (existing, entry) {
                for (k, v) in new {
                    old.insert(k, v);
                }
            }
        }
        None => items.push(entry),
    }
}

/// `existing` (a kubeconfig's text, empty for none) with `entry` merged in, and it made the
/// current context.
pub fn merge(existing: &str, entry: &Entry) -> Result<Value, String> {
    let mut doc = if existing.trim().is_empty() {
        Mapping::new()
    } else {
        match serde_yaml_ng::from_str::<Value>(existing) {
            Ok(Value::Mapping(m)) => m,
            Ok(Value::Null) => Mapping::new(),
            Ok(_) => return Err("it is not a YAML mapping".into()),
            Err(e) => return Err(format!("it is not YAML: {e}")),
        }
    };
    doc.entry(s("apiVersion")).or_insert(s("v1"));
    doc.entry(s("kind")).or_insert(s("Config"));
    doc.entry(s("preferences"))
        .or_insert(Value::Mapping(Mapping::new()));
    upsert(
        &mut doc,
        "clusters",
        "cluster",
        &entry.name,
        entry.cluster_value(),
    );
    upsert(&mut doc, "users", "user", &entry.name, entry.user_value());
    upsert(
        &mut doc,
        "contexts",
        "context",
        &entry.context,
        entry.context_value(),
    );
    doc.insert(s("current-context"), s(&entry.context));
    Ok(Value::Mapping(doc))
}

/// What `meshctl kubeconfig` did.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub kind: &'static str,
    pub path: String,
    pub context: String,
    pub cluster: String,
    pub endpoint: String,
    /// `created`, `updated`, `unchanged`, or `dry-run`.
    pub result: String,
    /// The merged document, for `--dry-run`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document: Option<String>,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(doc) = &self.document {
            return write!(f, "{doc}");
        }
        writeln!(
            f,
            "kubeconfig {}: {} (context {}, cluster {} at {})",
            self.path, self.result, self.context, self.cluster, self.endpoint
        )?;
        write!(
            f,
            "use it with: kubectl --context {} get nodes",
            self.context
        )
    }
}

/// Merge `entry` into the file at `path` (written with mode 0600, atomically), or only
/// render the merged document when `dry_run`.
pub fn write(path: &Path, entry: &Entry, dry_run: bool) -> Result<Report, Error> {
    let shown = path.display().to_string();
    let existing = match std::fs::read_to_string(path) {
        Ok(t) => Some(t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => {
            return Err(Error::usage(
                format!("cannot read kubeconfig {shown}: {e}"),
                "check the file's permissions, or pass another --kubeconfig",
            ));
        }
    };
    let merged = merge(existing.as_deref().unwrap_or(""), entry).map_err(|m| {
        Error::usage(
            format!("kubeconfig {shown} cannot be merged: {m}"),
            "fix the file, or pass another --kubeconfig",
        )
    })?;
    let text = serde_yaml_ng::to_string(&merged)
        .map_err(|e| Error::usage(format!("cannot render the kubeconfig: {e}"), "report this"))?;
    let unchanged = existing
        .as_deref()
        .is_some_and(|old| serde_yaml_ng::from_str::<Value>(old).is_ok_and(|v| v == merged));
    let mut report = Report {
        kind: "kubeconfig",
        path: shown.clone(),
        context: entry.context.clone(),
        cluster: entry.cluster.clone(),
        endpoint: entry.endpoint.clone(),
        result: String::new(),
        document: None,
    };
    if dry_run {
        report.result = "dry-run".into();
        report.document = Some(text);
        return Ok(report);
    }
    if unchanged {
        report.result = "unchanged".into();
        return Ok(report);
    }
    let io = |what: &str, e: std::io::Error| {
        Error::usage(
            format!("cannot {what} kubeconfig {shown}: {e}"),
            "check the directory's permissions, or pass another --kubeconfig",
        )
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| io("create the directory of", e))?;
    }
    let tmp = path.with_extension(format!("meshctl-{}.tmp", std::process::id()));
    write_private(&tmp, text.as_bytes()).map_err(|e| io("write", e))?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io("replace", e)
    })?;
    report.result = if existing.is_some() {
        "updated"
    } else {
        "created"
    }
    .into();
    Ok(report)
}

/// Write `bytes` to a new file readable only by its owner.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options.open(path)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(())
}

/// `meshctl kubeconfig`: the cluster's endpoint and CA from the stack state, or from
/// DescribeCluster when the state lacks them (or names another cluster), merged into a
/// kubeconfig file.
pub async fn run(
    config: &Config,
    g: &GlobalArgs,
    ui: &Ui,
    args: &KubeconfigArgs,
) -> Result<Report, Error> {
    for warning in &config.warnings {
        ui.warn(warning);
    }
    let cluster = args
        .cluster
        .clone()
        .unwrap_or_else(|| config.cluster_name().to_string());
    let path = match &args.kubeconfig {
        Some(p) => p.clone(),
        None => default_path()?,
    };
    let s3 = config.state.starts_with("s3://");
    let mut aws: Option<Aws> = None;
    if s3 {
        aws = match Aws::connect(&config.region, g.profile.as_deref(), g.call_timeout).await? {
            Connection::Online(a) => Some(*a),
            Connection::Offline { .. } => return Err(Error::NoCredentials),
        };
    }
    let store = state::open(&config.state, &config.name, aws.as_ref().map(|a| &a.sdk)).await?;
    let state = StackState::load(store, &config.name).await?;
    let from_state = |key: &'static str| {
        let state = state.clone();
        async move { state.output(StepId::Cluster, key).await }
    };
    let same_cluster = from_state(outputs::CLUSTER_NAME)
        .await
        .is_none_or(|n| n == cluster);
    let mut endpoint = None;
    let mut ca = None;
    let mut arn = None;
    if same_cluster {
        endpoint = from_state(outputs::ENDPOINT).await;
        ca = from_state(outputs::CERTIFICATE_AUTHORITY).await;
        arn = from_state("cluster_arn").await;
    }
    if endpoint.is_none() || ca.is_none() {
        let aws = match aws {
            Some(a) => Some(a),
            None => match Aws::connect(&config.region, g.profile.as_deref(), g.call_timeout).await?
            {
                Connection::Online(a) => Some(*a),
                // An offline dry run assumes nothing: placeholders show where the values go.
                Connection::Offline { .. } if g.dry_run => None,
                Connection::Offline { .. } => return Err(Error::NoCredentials),
            },
        };
        let Some(aws) = aws else {
            ui.warn(format!(
                "offline: the endpoint and CA of cluster `{cluster}` are not in the stack state; placeholders shown"
            ));
            let entry = Entry {
                context: args
                    .context
                    .clone()
                    .unwrap_or_else(|| format!("{cluster}.{}", config.region)),
                name: format!("{cluster}.{}", config.region),
                cluster: cluster.clone(),
                region: config.region.clone(),
                profile: g.profile.clone(),
                endpoint: format!("<endpoint of EKS cluster {cluster}>"),
                certificate_authority: format!("<certificate authority of EKS cluster {cluster}>"),
                command: "meshctl".into(),
            };
            return write(&path, &entry, true);
        };
        let out = aws
            .eks()
            .describe_cluster()
            .name(&cluster)
            .send()
            .await
            .map_err(|e| {
                if e.as_service_error()
                    .is_some_and(|se| se.is_resource_not_found_exception())
                {
                    Error::usage(
                        format!("EKS cluster `{cluster}` does not exist in {}", config.region),
                        "run `meshctl cluster` first, or pass --cluster and --region of an existing cluster",
                    )
                } else {
                    crate::aws::sdk_error("eks", "DescribeCluster", &e)
                }
            })?;
        let c = out.cluster();
        endpoint = c.and_then(|c| c.endpoint()).map(str::to_string);
        ca = c
            .and_then(|c| c.certificate_authority())
            .and_then(|a| a.data())
            .map(str::to_string);
        arn = c.and_then(|c| c.arn()).map(str::to_string);
    }
    let (Some(endpoint), Some(ca)) = (endpoint, ca) else {
        return Err(Error::usage(
            format!("EKS cluster `{cluster}` has no endpoint or certificate yet"),
            "wait until the cluster is ACTIVE (`meshctl status`), then run this again",
        ));
    };
    let name = arn.unwrap_or_else(|| format!("{cluster}.{}", config.region));
    let entry = Entry {
        context: args.context.clone().unwrap_or_else(|| name.clone()),
        name,
        cluster,
        region: config.region.clone(),
        profile: g.profile.clone(),
        endpoint,
        certificate_authority: ca,
        command: "meshctl".into(),
    };
    write(&path, &entry, g.dry_run)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> Entry {
        Entry {
            name: "arn:aws:eks:us-east-1:123456789012:cluster/demo".into(),
            context: "demo".into(),
            cluster: "demo".into(),
            region: "us-east-1".into(),
            profile: Some("ops".into()),
            endpoint: "https://ABC.gr7.us-east-1.eks.amazonaws.com".into(),
            certificate_authority: "Q0E=".into(),
            command: "meshctl".into(),
        }
    }

    #[test]
    fn merge_keeps_other_entries_and_replaces_its_own() {
        let existing = "apiVersion: v1\nkind: Config\nclusters:\n- name: other\n  cluster: {server: https://other}\n\
                        users:\n- name: bob\n  user: {token: t}\ncontexts:\n- name: o\n  context: {cluster: other, user: bob}\n\
                        current-context: o\n";
        let doc = merge(existing, &entry()).unwrap();
        let again = merge(&serde_yaml_ng::to_string(&doc).unwrap(), &entry()).unwrap();
        assert_eq!(doc, again, "a second merge changes nothing");
        assert_eq!(doc["clusters"].as_sequence().unwrap().len(), 2);
        assert_eq!(doc["users"][0]["name"], s("bob"));
        assert_eq!(doc["current-context"], s("demo"));
        let exec = &doc["users"][1]["user"]["exec"];
        assert_eq!(exec["apiVersion"], s(EXEC_API_VERSION));
        let args: Vec<&str> = exec["args"]
            .as_sequence()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert_eq!(
            args,
            [
                "token",
                "--cluster",
                "demo",
                "--region",
                "us-east-1",
                "--profile",
                "ops"
            ]
        );
    }

    #[test]
    fn a_broken_file_is_refused_not_overwritten() {
        assert!(merge("- just\n- a list\n", &entry()).is_err());
        assert!(merge("clusters: [", &entry()).is_err());
    }
}
