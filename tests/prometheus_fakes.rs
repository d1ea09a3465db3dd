//! The `prometheus` step through the real binary against moto (STS, workspaces), the
//! Kubernetes API server fake (tests/support/kube_fake.rs) and the AMP scraper fake
//! (tests/support/amp_scraper_fake.rs); every rendered Prometheus configuration and rule file
//! checked with the real `promtool`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use kube::api::{Api, DynamicObject, Patch, PatchParams};
use meshctl::config::Config;
use meshctl::steps::prometheus::{ScrapeInputs, render_agent, render_config, render_scraper_rbac};
use serde_json::{Value, json};

use crate::support::amp_scraper_fake::ScraperFake;
use crate::support::kube_fake::{self, KubeFake, Options};
use crate::support::{MOTO_ACCOUNT, REGION, Run, Stack, moto, step_actions};

const RW_URL: &str = "https://aps-workspaces.us-east-1.amazonaws.com/workspaces/ws-0123abcd-4567-89ab-cdef-0123456789ab/api/v1/remote_write";
const ROLE_ARN: &str = "arn:aws:iam::123456789012:role/prom-amp-ingest";

fn promtool() -> PathBuf {
    match std::env::var("MESHCTL_TEST_PROMTOOL") {
        Ok(p) if !p.trim().is_empty() => PathBuf::from(p.trim()),
        _ => panic!(
            "promtool is not installed: MESHCTL_TEST_PROMTOOL is not set. Run the tests with \
             `./test.sh`, which installs promtool into ~/.cache/meshctl-test"
        ),
    }
}

/// `promtool <args> <file with text>`; panics with promtool's output when it fails.
fn promtool_check(args: &[&str], file_name: &str, text: &str) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join(file_name);
    std::fs::write(&path, text).expect("write the file to check");
    let out = Command::new(promtool())
        .args(args)
        .arg(&path)
        .output()
        .expect("promtool runs");
    assert!(
        out.status.success(),
        "promtool {args:?} failed:\n{}{}\n--- {file_name} ---\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn config(yaml: &str) -> Config {
    let mut c: Config = serde_yaml_ng::from_str(yaml).expect("a valid config");
    c.region = REGION.into();
    c
}

fn agent_inputs(ambient: bool) -> ScrapeInputs {
    ScrapeInputs {
        remote_write_url: Some(RW_URL.into()),
        ambient,
    }
}

fn job_names(yml: &str) -> Vec<String> {
    let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(yml).expect("the config is YAML");
    doc["scrape_configs"]
        .as_sequence()
        .expect("scrape_configs")
        .iter()
        .map(|j| j["job_name"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// `promtool check config [--agent]` on a Prometheus configuration.
///
/// Debian's `prometheus` package (the promtool the tests run) is built without Kubernetes
/// service discovery, so its promtool refuses the key `kubernetes_sd_configs`. Each such block
/// is therefore checked here against the Prometheus schema (role, namespaces, nothing else)
/// and replaced by a static target; promtool then checks everything else: relabelling rules
/// and their regexes, metric relabelling, global settings, remote write, SigV4, queue.
fn promtool_check_config(agent: bool, file_name: &str, text: &str) {
    const ROLES: [&str; 6] = [
        "node",
        "service",
        "pod",
        "endpoints",
        "endpointslice",
        "ingress",
    ];
    let mut doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(text).expect("the config is YAML");
    let jobs = doc["scrape_configs"]
        .as_sequence_mut()
        .expect("scrape_configs is a list");
    for job in jobs {
        let map = job.as_mapping_mut().expect("a scrape config is a mapping");
        let Some(sd) = map.remove("kubernetes_sd_configs") else {
            continue;
        };
        for block in sd.as_sequence().expect("kubernetes_sd_configs is a list") {
            let block = block
                .as_mapping()
                .expect("a kubernetes_sd_config is a mapping");
            for (k, v) in block {
                match k.as_str() {
                    Some("role") => assert!(
                        v.as_str().is_some_and(|r| ROLES.contains(&r)),
                        "bad role {v:?} in {text}"
                    ),
                    Some("namespaces") => {
                        let names = v["names"]
                            .as_sequence()
                            .expect("namespaces.names is a list");
                        assert!(
                            names
                                .iter()
                                .all(|n| n.as_str().is_some_and(|n| !n.is_empty()))
                        );
                    }
                    other => panic!("unexpected kubernetes_sd_configs key {other:?} in {text}"),
                }
            }
            assert!(block.contains_key("role"), "role is required: {text}");
        }
        map.insert(
            "static_configs".into(),
            serde_yaml_ng::from_str("[{targets: ['127.0.0.1:15090']}]").unwrap(),
        );
    }
    let checked = serde_yaml_ng::to_string(&doc).unwrap();
    let args: &[&str] = if agent {
        &["check", "config", "--agent"]
    } else {
        &["check", "config"]
    };
    promtool_check(args, file_name, &checked);
}

#[test]
fn agent_config_holds_remote_write_sigv4_and_both_jobs_and_passes_promtool() {
    let c = config("name: demo");
    let yml = render_config(&c, &agent_inputs(false)).unwrap();
    let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(&yml).unwrap();
    let rw = &doc["remote_write"][0];
    assert_eq!(rw["url"].as_str(), Some(RW_URL));
    assert_eq!(rw["sigv4"]["region"].as_str(), Some(REGION));
    assert_eq!(rw["queue_config"]["capacity"].as_u64(), Some(2500));
    assert_eq!(rw["queue_config"]["max_shards"].as_u64(), Some(200));
    assert_eq!(
        rw["queue_config"]["max_samples_per_send"].as_u64(),
        Some(1000)
    );
    assert_eq!(doc["global"]["scrape_interval"].as_str(), Some("30s"));
    assert_eq!(job_names(&yml), ["istiod", "envoy-stats"]);
    assert!(yml.contains("istiod;http-monitoring"), "{yml}");
    assert!(
        yml.contains("/stats/prometheus") && yml.contains("\"15090\""),
        "{yml}"
    );
    promtool_check_config(true, "prometheus.yml", &yml);
}

#[test]
fn ambient_adds_the_ztunnel_job_and_passes_promtool() {
    let c = config("name: demo\nprometheus:\n  scrape_interval: 1m\n");
    let yml = render_config(&c, &agent_inputs(true)).unwrap();
    assert_eq!(job_names(&yml), ["istiod", "envoy-stats", "ztunnel"]);
    assert!(yml.contains("\"15020\""), "{yml}");
    assert!(yml.contains("scrape_interval: \"1m\""), "{yml}");
    promtool_check_config(true, "prometheus.yml", &yml);
}

#[test]
fn thinning_rules_follow_the_config() {
    let on = render_config(&config("name: demo"), &agent_inputs(true)).unwrap();
    let off = render_config(
        &config("name: demo\nprometheus:\n  thinning: false\n"),
        &agent_inputs(true),
    )
    .unwrap();
    // On the sidecar and ztunnel jobs, never on istiod (its series feed the control-plane rules).
    assert_eq!(on.matches("metric_relabel_configs:").count(), 2, "{on}");
    assert!(
        on.contains("envoy_cluster_[^u].*") && on.contains("labeldrop"),
        "{on}"
    );
    assert!(!off.contains("metric_relabel_configs"), "{off}");
    promtool_check_config(true, "on.yml", &on);
    promtool_check_config(true, "off.yml", &off);
}

#[test]
fn custom_queue_settings_are_rendered() {
    let c = config(
        "name: demo\nprometheus:\n  remote_write: {capacity: 5000, max_shards: 50, max_samples_per_send: 2000}\n",
    );
    let yml = render_config(&c, &agent_inputs(false)).unwrap();
    assert!(
        yml.contains("capacity: 5000") && yml.contains("max_shards: 50"),
        "{yml}"
    );
    assert!(yml.contains("max_samples_per_send: 2000"), "{yml}");
    promtool_check_config(true, "prometheus.yml", &yml);
}

#[test]
fn amp_rule_file_passes_promtool_check_rules() {
    for yaml in [
        "name: rules",
        "name: rules\namp:\n  alerts:\n    error_ratio: 0.05\n    p99_latency_ms: 1200\n",
    ] {
        let rules = meshctl::steps::amp::render_rules(&config(yaml)).unwrap();
        promtool_check(&["check", "rules"], "istio-rules.yaml", &rules);
    }
}

fn snapshot(name: &str, text: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/prometheus/snapshots")
        .join(name);
    if std::env::var_os("MESHCTL_UPDATE_SNAPSHOTS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
    }
    let expected = std::fs::read_to_string(&path)
        .expect("the snapshot exists (MESHCTL_UPDATE_SNAPSHOTS=1 writes it)");
    assert_eq!(
        text, expected,
        "{name} changed; review and update the snapshot"
    );
}

#[test]
fn rendered_manifests_match_snapshots() {
    let c = config("name: demo");
    let yml = render_config(&c, &agent_inputs(false)).unwrap();
    snapshot("prometheus.yml", &yml);
    snapshot("agent.yaml", &render_agent(&c, &yml).unwrap());
    let managed = config("name: demo\nprometheus:\n  mode: managed-collector\n");
    snapshot(
        "managed-collector.yml",
        &render_config(&managed, &ScrapeInputs::default()).unwrap(),
    );
    snapshot("scraper-rbac.yaml", &render_scraper_rbac(&managed).unwrap());
}

// ---- the binary against the fakes ----------------------------------------------------------

/// A stack whose kubeconfig points at `fake`, with its prerequisites' outputs seeded.
fn stack(test: &str, fake: &KubeFake, extra: &str) -> Stack {
    let dir = tempfile::tempdir().expect("a directory for the kubeconfig");
    let kubeconfig = dir.keep().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: fake\n\
             clusters:\n- name: fake\n  cluster: {{server: \"{}\"}}\n\
             users:\n- name: admin\n  user: {{token: {}}}\n\
             contexts:\n- name: fake\n  context: {{cluster: fake, user: admin}}\n",
            fake.url,
            kube_fake::TOKEN
        ),
    )
    .expect("write the kubeconfig");
    let s = Stack::builder(test)
        .yaml(&format!(
            "kubernetes:\n  kubeconfig: \"{}\"\n{extra}",
            kubeconfig.display()
        ))
        .build();
    let cluster_arn = format!("arn:aws:eks:{REGION}:{MOTO_ACCOUNT}:cluster/{}", s.name);
    s.seed_applied(
        "cluster",
        &[
            ("cluster_name", s.name.as_str()),
            ("cluster_arn", cluster_arn.as_str()),
            ("private_subnet_ids", "subnet-0aaa1111,subnet-0bbb2222"),
            ("cluster_security_group_id", "sg-0ccc3333"),
        ],
    );
    let ws_arn = format!(
        "arn:aws:aps:{REGION}:{MOTO_ACCOUNT}:workspace/ws-0123abcd-4567-89ab-cdef-0123456789ab"
    );
    s.seed_applied(
        "amp",
        &[
            ("workspace_id", "ws-0123abcd-4567-89ab-cdef-0123456789ab"),
            ("workspace_arn", ws_arn.as_str()),
            ("remote_write_url", RW_URL),
        ],
    );
    s.seed_applied("irsa", &[("prometheus_role_arn", ROLE_ARN)]);
    s.seed_applied("istio", &[("mode", "sidecar"), ("version", "1.27.3")]);
    s
}

const PROM_NS: &str = "prometheus";
const PROM_SA: &str = "amp-iamproxy-ingest-service-account";

/// Put the namespace and the annotated service account in the fake as `meshctl irsa` does:
/// server-side applied by field manager `meshctl`, labelled component `irsa`.
async fn seed_irsa_objects(fake: &KubeFake, stack: &str) {
    let labels = json!({
        "app.kubernetes.io/managed-by": "meshctl",
        "meshctl.io/stack": stack,
        "meshctl.io/component": "irsa",
    });
    let c = client(fake).await;
    let pp = PatchParams::apply("meshctl");
    let ns: Api<DynamicObject> = Api::all_with(
        c.clone(),
        &kube::api::ApiResource::from_gvk(&kube::api::GroupVersionKind::gvk("", "v1", "Namespace")),
    );
    ns.patch(
        PROM_NS,
        &pp,
        &Patch::Apply(json!({"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": PROM_NS, "labels": labels}})),
    )
    .await
    .expect("seed the namespace");
    let sa: Api<DynamicObject> = Api::namespaced_with(
        c,
        PROM_NS,
        &kube::api::ApiResource::from_gvk(&kube::api::GroupVersionKind::gvk(
            "",
            "v1",
            "ServiceAccount",
        )),
    );
    sa.patch(
        PROM_SA,
        &pp,
        &Patch::Apply(json!({"apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": {"name": PROM_SA, "namespace": PROM_NS, "labels": labels,
                         "annotations": {"eks.amazonaws.com/role-arn": ROLE_ARN}}})),
    )
    .await
    .expect("seed the service account");
}

/// The `meshctl.io/component` label of a stored object, `None` when it does not exist.
fn component_of(fake: &KubeFake, plural: &str, ns: &str, name: &str) -> Option<String> {
    fake.object("", plural, ns, name).map(|o| {
        o["metadata"]["labels"]["meshctl.io/component"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    })
}

async fn client(fake: &KubeFake) -> kube::Client {
    let mut config = kube::Config::new(fake.url.parse().expect("the fake's URL"));
    config.auth_info.token = Some(kube_fake::TOKEN.to_string().into());
    kube::Client::try_from(config).expect("a client for the fake")
}

/// Play the Deployment controller: whenever `ns/prometheus` has a generation its status has
/// not observed, report it rolled out and available.
fn play_controller(fake: &KubeFake, client: kube::Client, ns: &str) -> tokio::task::JoinHandle<()> {
    let probe = fake.probe("apps", "deployments", ns, "prometheus");
    let api: Api<DynamicObject> = Api::namespaced_with(
        client,
        ns,
        &kube::api::ApiResource::from_gvk(&kube::api::GroupVersionKind::gvk(
            "apps",
            "v1",
            "Deployment",
        )),
    );
    tokio::spawn(async move {
        loop {
            if let Some(d) = probe() {
                let generation = d["metadata"]["generation"].as_i64().unwrap_or(1);
                if d["status"]["observedGeneration"].as_i64() != Some(generation) {
                    let status = json!({"status": {
                        "observedGeneration": generation,
                        "replicas": 1, "updatedReplicas": 1, "readyReplicas": 1,
                        "availableReplicas": 1,
                        "conditions": [{"type": "Available", "status": "True",
                                        "reason": "MinimumReplicasAvailable"}]}});
                    let _ = api
                        .patch_status(
                            "prometheus",
                            &PatchParams::default(),
                            &Patch::Merge(&status),
                        )
                        .await;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
}

async fn run(stack: &Stack, scraper: &ScraperFake, args: &[&str]) -> Run {
    let mut cmd = stack.std_command(&moto());
    cmd.env("AWS_ENDPOINT_URL_AMP", &scraper.url)
        .env("MESHCTL_POLL_INTERVAL", "100ms")
        .args(args)
        .args(["--output", "json", "--timeout", "60s"]);
    let out = tokio::time::timeout(
        Duration::from_secs(180),
        tokio::task::spawn_blocking(move || cmd.output().expect("meshctl runs")),
    )
    .await
    .expect("hang guard")
    .expect("the run finished");
    Run::from(out)
}

/// The outputs of the prometheus step in a run report.
fn outputs(doc: &Value) -> Value {
    doc["steps"]
        .as_array()
        .and_then(|steps| steps.iter().find(|s| s["step"] == "prometheus"))
        .map(|s| s["outputs"].clone())
        .unwrap_or_else(|| panic!("no prometheus step in {doc:#}"))
}

/// The objects labelled for `stack` as component `prometheus` (the namespace and the service
/// account are looked at too: they must never carry this component).
fn labelled(fake: &KubeFake, stack: &str) -> Vec<String> {
    let mut found = vec![];
    for (group, plural, ns, name) in [
        ("", "namespaces", "", PROM_NS),
        ("", "serviceaccounts", PROM_NS, PROM_SA),
        ("", "configmaps", "prometheus", "prometheus-config"),
        ("apps", "deployments", "prometheus", "prometheus"),
        (
            "rbac.authorization.k8s.io",
            "clusterroles",
            "",
            &format!("meshctl-{stack}-prometheus"),
        ),
        (
            "rbac.authorization.k8s.io",
            "clusterrolebindings",
            "",
            &format!("meshctl-{stack}-prometheus"),
        ),
        (
            "rbac.authorization.k8s.io",
            "clusterroles",
            "",
            &format!("meshctl-{stack}-aps-collector"),
        ),
        (
            "rbac.authorization.k8s.io",
            "clusterrolebindings",
            "",
            &format!("meshctl-{stack}-aps-collector"),
        ),
    ] {
        if let Some(o) = fake.object(group, plural, ns, name)
            && o["metadata"]["labels"]["meshctl.io/stack"] == stack
            && o["metadata"]["labels"]["meshctl.io/component"] == "prometheus"
        {
            found.push(format!("{plural}/{name}"));
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_applies_waits_changes_nothing_on_rerun_and_cleans_up() {
    let fake = KubeFake::start(Options::default()).await;
    let scraper = ScraperFake::start(Duration::ZERO, &moto());
    let s = stack("prom-agent", &fake, "");
    seed_irsa_objects(&fake, &s.name).await;
    let controller = play_controller(&fake, client(&fake).await, "prometheus");

    let first = run(&s, &scraper, &["prometheus", "--yes"]).await;
    first.expect_code(0);
    let doc = first.json();
    let created: Vec<_> = step_actions(&doc, "prometheus")
        .into_iter()
        .filter(|(op, _, _)| op == "create")
        .collect();
    // RBAC, config map, deployment: the namespace and service account are irsa's.
    assert_eq!(created.len(), 4, "{doc:#}");
    assert!(
        created
            .iter()
            .all(|(_, kind, _)| !kind.contains("Namespace") && !kind.contains("ServiceAccount")),
        "{created:?}"
    );
    assert_eq!(
        component_of(&fake, "serviceaccounts", PROM_NS, PROM_SA).as_deref(),
        Some("irsa")
    );
    assert_eq!(
        component_of(&fake, "namespaces", "", PROM_NS).as_deref(),
        Some("irsa")
    );
    let cm = fake
        .object("", "configmaps", "prometheus", "prometheus-config")
        .expect("the config map");
    let yml = cm["data"]["prometheus.yml"]
        .as_str()
        .expect("prometheus.yml");
    assert!(
        yml.contains(RW_URL) && yml.contains("region: \"us-east-1\""),
        "{yml}"
    );
    promtool_check_config(true, "prometheus.yml", yml);
    let deploy = fake
        .object("apps", "deployments", "prometheus", "prometheus")
        .expect("the deployment");
    let pod = &deploy["spec"]["template"];
    let args: Vec<&str> = pod["spec"]["containers"][0]["args"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(args.contains(&"--agent"), "{args:?}");
    assert_eq!(pod["spec"]["serviceAccountName"], PROM_SA);
    assert_eq!(pod["spec"]["securityContext"]["runAsNonRoot"], true);
    assert_eq!(
        pod["spec"]["containers"][0]["resources"]["limits"]["memory"],
        "1Gi"
    );
    let sum = pod["metadata"]["annotations"]["meshctl.io/config-checksum"]
        .as_str()
        .expect("the checksum annotation");
    assert_eq!(sum.len(), 64);
    assert_eq!(labelled(&fake, &s.name).len(), 4);
    assert_eq!(outputs(&doc)["mode"], "agent", "{doc:#}");

    // Nothing changed: no write at all, and every object planned as kept.
    fake.clear_log();
    let second = run(&s, &scraper, &["prometheus", "--yes"]).await;
    second.expect_code(0);
    assert!(
        fake.mutating_calls().is_empty(),
        "{:?}",
        fake.mutating_calls()
    );
    let ops: Vec<_> = step_actions(&second.json(), "prometheus")
        .into_iter()
        .map(|(op, _, _)| op)
        .collect();
    assert!(ops.iter().all(|op| op == "keep"), "{ops:?}");

    // A dry run against the applied stack plans every object as unchanged.
    let plan = run(&s, &scraper, &["prometheus", "--dry-run"]).await;
    plan.expect_code(0);
    let ops: Vec<_> = step_actions(&plan.json(), "prometheus")
        .into_iter()
        .map(|(op, _, _)| op)
        .collect();
    assert!(
        !ops.is_empty() && ops.iter().all(|op| op == "keep"),
        "{ops:?}"
    );

    let cleanup = run(&s, &scraper, &["cleanup", "--only", "prometheus", "--yes"]).await;
    cleanup.expect_code(0);
    assert!(
        labelled(&fake, &s.name).is_empty(),
        "{:?}",
        labelled(&fake, &s.name)
    );
    // irsa's objects stay.
    assert_eq!(
        component_of(&fake, "serviceaccounts", PROM_NS, PROM_SA).as_deref(),
        Some("irsa")
    );
    controller.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_config_change_rolls_the_pod_and_a_dry_run_names_the_fields() {
    let fake = KubeFake::start(Options::default()).await;
    let scraper = ScraperFake::start(Duration::ZERO, &moto());
    let s = stack("prom-roll", &fake, "");
    seed_irsa_objects(&fake, &s.name).await;
    let controller = play_controller(&fake, client(&fake).await, "prometheus");
    run(&s, &scraper, &["prometheus", "--yes"])
        .await
        .expect_code(0);
    let before = fake
        .object("apps", "deployments", "prometheus", "prometheus")
        .unwrap()["spec"]["template"]["metadata"]["annotations"]["meshctl.io/config-checksum"]
        .clone();

    let yaml = std::fs::read_to_string(s.path().join("meshctl.yaml")).unwrap();
    std::fs::write(
        s.path().join("meshctl.yaml"),
        format!("{yaml}prometheus:\n  scrape_interval: 1m\n"),
    )
    .unwrap();
    let plan = run(&s, &scraper, &["prometheus", "--dry-run"]).await;
    plan.expect_code(0);
    let actions = step_actions(&plan.json(), "prometheus");
    let updates: Vec<_> = actions.iter().filter(|(op, _, _)| op == "update").collect();
    assert_eq!(updates.len(), 2, "config map and deployment: {actions:?}");
    let text = plan.json().to_string();
    assert!(text.contains("data.prometheus.yml"), "{text}");
    assert!(
        text.contains("spec.template.metadata.annotations.meshctl.io/config-checksum"),
        "{text}"
    );

    run(&s, &scraper, &["prometheus", "--yes"])
        .await
        .expect_code(0);
    let after = fake
        .object("apps", "deployments", "prometheus", "prometheus")
        .unwrap()["spec"]["template"]["metadata"]["annotations"]["meshctl.io/config-checksum"]
        .clone();
    assert_ne!(before, after);
    controller.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unready_deployment_times_out_saying_why_and_is_rolled_back() {
    let fake = KubeFake::start(Options::default()).await;
    let scraper = ScraperFake::start(Duration::ZERO, &moto());
    let s = stack("prom-unready", &fake, "");
    seed_irsa_objects(&fake, &s.name).await;
    // Nobody plays the controller: the Deployment never becomes available.
    let mut cmd = s.std_command(&moto());
    cmd.env("AWS_ENDPOINT_URL_AMP", &scraper.url)
        .env("MESHCTL_POLL_INTERVAL", "100ms")
        .args(["prometheus", "--yes", "--timeout", "10s"]);
    let out = tokio::task::spawn_blocking(move || cmd.output().expect("meshctl runs"))
        .await
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "failed and fully rolled back: {text}"
    );
    assert!(text.contains("Deployment prometheus/prometheus"), "{text}");
    assert!(
        text.contains("has not observed generation"),
        "says why it is not ready: {text}"
    );
    // The rollback removed every object this run created, and nothing of irsa's.
    assert!(
        labelled(&fake, &s.name).is_empty(),
        "{:?}",
        labelled(&fake, &s.name)
    );
    assert!(
        fake.object("", "serviceaccounts", PROM_NS, PROM_SA)
            .is_some()
    );
    assert!(fake.object("", "namespaces", "", PROM_NS).is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_mode_without_irsas_service_account_stops_naming_meshctl_irsa() {
    let fake = KubeFake::start(Options::default()).await;
    let scraper = ScraperFake::start(Duration::ZERO, &moto());
    let s = stack("prom-no-sa", &fake, "");

    // The plan says who creates them.
    let plan = run(&s, &scraper, &["prometheus", "--dry-run"]).await;
    plan.expect_code(0);
    let text = plan.json().to_string();
    assert!(
        text.contains(&format!("ServiceAccount {PROM_NS}/{PROM_SA}"))
            && text.contains("meshctl irsa"),
        "{text}"
    );

    fake.clear_log();
    // The step fails before its first write; there is nothing to roll back.
    let out = run(&s, &scraper, &["prometheus", "--yes"]).await;
    out.expect_code(1);
    assert_eq!(out.json()["rollback"], json!([]), "{}", out.stdout);
    let all = format!("{}{}", out.stdout, out.stderr);
    assert!(all.contains("meshctl irsa"), "{all}");
    assert!(all.contains(&format!("Namespace {PROM_NS}")), "{all}");
    assert!(
        fake.mutating_calls().is_empty(),
        "{:?}",
        fake.mutating_calls()
    );
    assert!(fake.object("", "namespaces", "", PROM_NS).is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn managed_collector_creates_waits_finds_again_and_deletes_the_scraper() {
    let fake = KubeFake::start(Options::default()).await;
    let scraper = ScraperFake::start(Duration::from_millis(600), &moto());
    let s = stack(
        "prom-managed",
        &fake,
        "prometheus:\n  mode: managed-collector\n",
    );

    let first = run(&s, &scraper, &["prometheus", "--yes"]).await;
    first.expect_code(0);
    let ids = scraper.scraper_ids();
    assert_eq!(ids.len(), 1, "{ids:?}");
    let id = &ids[0];
    assert_eq!(scraper.tags(id).get("meshctl.io/stack"), Some(&s.name));
    let doc = first.json();
    assert_eq!(outputs(&doc)["scraper_id"], id.as_str(), "{doc:#}");
    let (source, destination) = scraper.source_and_destination(id).unwrap();
    assert_eq!(
        source["eksConfiguration"]["subnetIds"],
        json!(["subnet-0aaa1111", "subnet-0bbb2222"])
    );
    assert!(
        destination["ampConfiguration"]["workspaceArn"]
            .as_str()
            .unwrap()
            .ends_with("workspace/ws-0123abcd-4567-89ab-cdef-0123456789ab")
    );
    // The blob is base64 on the wire; the fake decoded it. Check it as Prometheus would.
    let yml = scraper.configuration(id).unwrap();
    assert_eq!(job_names(&yml), ["istiod", "envoy-stats"]);
    assert!(!yml.contains("remote_write"), "{yml}");
    promtool_check_config(false, "scraper.yml", &yml);
    // Its RBAC is in the cluster; no in-cluster Prometheus.
    let found = labelled(&fake, &s.name);
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(
        fake.object("apps", "deployments", "prometheus", "prometheus")
            .is_none()
    );

    let second = run(&s, &scraper, &["prometheus", "--yes"]).await;
    second.expect_code(0);
    assert_eq!(
        scraper.creates(),
        1,
        "found again by its tag, not created twice"
    );
    assert_eq!(scraper.scraper_ids(), ids);

    let cleanup = run(&s, &scraper, &["cleanup", "--only", "prometheus", "--yes"]).await;
    cleanup.expect_code(0);
    assert!(
        scraper.scraper_ids().is_empty(),
        "{:?}",
        scraper.scraper_ids()
    );
    assert!(labelled(&fake, &s.name).is_empty());
}

#[test]
fn managed_collector_interval_below_30s_is_a_config_error_before_any_call() {
    let s = Stack::builder("prom-interval")
        .yaml("prometheus:\n  mode: managed-collector\n  scrape_interval: 20s\n")
        .build();
    let out = s
        .cmd_via("http://127.0.0.1:9")
        .args(["prometheus", "--yes"])
        .output()
        .expect("meshctl runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("prometheus.scrape_interval"), "{stderr}");
    assert!(stderr.contains("30s"), "{stderr}");
}

#[test]
fn the_scraper_fake_refuses_unsigned_requests_and_forwards_the_rest_to_moto() {
    let scraper = ScraperFake::start(Duration::ZERO, &moto());
    // No SigV4: refused as AMP does.
    let resp = raw::get(&format!("{}/scrapers", scraper.url));
    assert_eq!(resp.0, 403, "{}", resp.1);
    assert!(resp.1.contains("MissingAuthenticationToken"), "{}", resp.1);
    // Signed workspace calls reach moto.
    let listed = crate::support::block_on(async {
        let conf = crate::support::sdk_config().await;
        let amp = aws_sdk_amp::Client::from_conf(
            aws_sdk_amp::config::Builder::from(&conf)
                .endpoint_url(&scraper.url)
                .build(),
        );
        amp.list_workspaces().send().await.map(|_| ())
    });
    assert!(listed.is_ok(), "{listed:?}");
}

mod raw {
    /// `GET url` without signing: (status, the whole answer).
    pub fn get(url: &str) -> (u16, String) {
        use std::io::{Read, Write};
        let rest = url.trim_start_matches("http://");
        let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
        let mut s = std::net::TcpStream::connect(host).expect("connect to the fake");
        write!(
            s,
            "GET /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut text = String::new();
        s.read_to_string(&mut text).unwrap();
        let status = text
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        (status, text)
    }
}

// ---- who owns the namespace and the service account: irsa, never prometheus --------------

/// A stack as [`stack`] makes it, whose `cluster` outputs also carry an OIDC issuer and
/// provider (created in moto, as the `cluster` step would) so the real `meshctl irsa` runs.
async fn stack_for_irsa(test: &str, fake: &KubeFake) -> Stack {
    let s = stack(test, fake, "");
    let id = format!(
        "{:X}",
        s.name.bytes().fold(0xcbf29ce484222325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100000001b3)
        })
    );
    let issuer = format!("https://oidc.eks.{REGION}.amazonaws.com/id/{id}");
    let iam = aws_sdk_iam::Client::new(&crate::support::sdk_config().await);
    let provider = iam
        .create_open_id_connect_provider()
        .url(&issuer)
        .client_id_list("sts.amazonaws.com")
        .thumbprint_list("9e99a48a9960b14926bb7f3b02e22da2b0ab7280")
        .send()
        .await
        .expect("create the OIDC provider in moto")
        .open_id_connect_provider_arn()
        .expect("an OIDC provider ARN")
        .to_string();
    let cluster_arn = format!("arn:aws:eks:{REGION}:{MOTO_ACCOUNT}:cluster/{}", s.name);
    s.seed_applied(
        "cluster",
        &[
            ("cluster_name", s.name.as_str()),
            ("cluster_arn", cluster_arn.as_str()),
            ("oidc_issuer", issuer.as_str()),
            ("oidc_provider_arn", provider.as_str()),
            ("private_subnet_ids", "subnet-0aaa1111,subnet-0bbb2222"),
            ("cluster_security_group_id", "sg-0ccc3333"),
        ],
    );
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn irsa_owns_the_namespace_and_service_account_so_a_second_round_writes_nothing() {
    let fake = KubeFake::start(Options::default()).await;
    let scraper = ScraperFake::start(Duration::ZERO, &moto());
    let s = stack_for_irsa("prom-owner", &fake).await;
    let controller = play_controller(&fake, client(&fake).await, PROM_NS);

    run(&s, &scraper, &["irsa", "--yes"]).await.expect_code(0);
    run(&s, &scraper, &["prometheus", "--yes"])
        .await
        .expect_code(0);
    let sa = fake
        .object("", "serviceaccounts", PROM_NS, PROM_SA)
        .expect("irsa created the service account");
    let role = sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"].clone();
    assert!(
        role.as_str().is_some_and(|r| r.ends_with("-amp-ingest")),
        "{sa:#}"
    );

    // The second round: both steps find everything as they left it.
    fake.clear_log();
    let irsa = run(&s, &scraper, &["irsa", "--yes"]).await;
    irsa.expect_code(0);
    let prom = run(&s, &scraper, &["prometheus", "--yes"]).await;
    prom.expect_code(0);
    assert!(
        fake.mutating_calls().is_empty(),
        "{:?}",
        fake.mutating_calls()
    );
    for (run, step) in [(&irsa, "irsa"), (&prom, "prometheus")] {
        let ops: Vec<_> = step_actions(&run.json(), step)
            .into_iter()
            .filter(|(op, _, _)| op != "keep")
            .collect();
        assert!(ops.is_empty(), "{step}: {ops:?}");
    }
    assert_eq!(
        component_of(&fake, "namespaces", "", PROM_NS).as_deref(),
        Some("irsa")
    );
    assert_eq!(
        component_of(&fake, "serviceaccounts", PROM_NS, PROM_SA).as_deref(),
        Some("irsa")
    );
    assert_eq!(
        fake.object("", "serviceaccounts", PROM_NS, PROM_SA)
            .unwrap()["metadata"]["annotations"]["eks.amazonaws.com/role-arn"],
        role
    );

    // Cleaning up prometheus leaves irsa's objects; cleaning up irsa removes them.
    run(&s, &scraper, &["cleanup", "--only", "prometheus", "--yes"])
        .await
        .expect_code(0);
    assert!(
        fake.object("apps", "deployments", PROM_NS, "prometheus")
            .is_none()
    );
    assert_eq!(
        component_of(&fake, "serviceaccounts", PROM_NS, PROM_SA).as_deref(),
        Some("irsa")
    );
    assert!(fake.object("", "namespaces", "", PROM_NS).is_some());
    run(&s, &scraper, &["cleanup", "--only", "irsa", "--yes"])
        .await
        .expect_code(0);
    assert!(
        fake.object("", "serviceaccounts", PROM_NS, PROM_SA)
            .is_none()
    );
    assert!(fake.object("", "namespaces", "", PROM_NS).is_none());
    controller.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_namespace_an_earlier_version_labelled_prometheus_is_kept_and_handed_to_irsa() {
    let fake = KubeFake::start(Options::default()).await;
    let scraper = ScraperFake::start(Duration::ZERO, &moto());
    let s = stack_for_irsa("prom-legacy", &fake).await;
    let controller = play_controller(&fake, client(&fake).await, PROM_NS);
    // As an earlier meshctl left them: applied by the prometheus step.
    seed_irsa_objects(&fake, &s.name).await;
    let c = client(&fake).await;
    for (plural, kind, ns, name) in [
        ("namespaces", "Namespace", None, PROM_NS),
        ("serviceaccounts", "ServiceAccount", Some(PROM_NS), PROM_SA),
    ] {
        let ar =
            kube::api::ApiResource::from_gvk(&kube::api::GroupVersionKind::gvk("", "v1", kind));
        let api: Api<DynamicObject> = match ns {
            Some(ns) => Api::namespaced_with(c.clone(), ns, &ar),
            None => Api::all_with(c.clone(), &ar),
        };
        api.patch(
            name,
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"meshctl.io/component": "prometheus"}}})),
        )
        .await
        .expect("relabel");
        assert_eq!(
            component_of(&fake, plural, ns.unwrap_or(""), name).as_deref(),
            Some("prometheus")
        );
    }

    // prometheus alone no longer applies them, and its prune does not delete them.
    run(&s, &scraper, &["prometheus", "--yes"])
        .await
        .expect_code(0);
    assert!(fake.object("", "namespaces", "", PROM_NS).is_some());
    assert!(
        fake.object("", "serviceaccounts", PROM_NS, PROM_SA)
            .is_some()
    );

    // irsa takes both over.
    run(&s, &scraper, &["irsa", "--yes"]).await.expect_code(0);
    assert_eq!(
        component_of(&fake, "namespaces", "", PROM_NS).as_deref(),
        Some("irsa")
    );
    assert_eq!(
        component_of(&fake, "serviceaccounts", PROM_NS, PROM_SA).as_deref(),
        Some("irsa")
    );
    fake.clear_log();
    run(&s, &scraper, &["prometheus", "--yes"])
        .await
        .expect_code(0);
    assert!(
        fake.mutating_calls().is_empty(),
        "{:?}",
        fake.mutating_calls()
    );
    controller.abort();
}
