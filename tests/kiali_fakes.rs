//! The `kiali` step through the binary: the API server fake (tests/support/kube_fake.rs) as the
//! cluster, moto for AWS, and the real helm rendering a test chart shaped like `kiali-server`
//! (tests/fixtures/charts/kiali-server). The test plays the Deployment controller.

use std::path::{Path, PathBuf};
use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Namespace, Pod, Service};
use kube::api::{Api, Patch, PatchParams};
use meshctl::kube::Kube;
use serde_json::{Value, json};

use crate::support::kube_fake::{self, KubeFake, Options};
use crate::support::{RUN_GUARD, Run, Stack, step_actions};

const NS: &str = "istio-system";
const WORKSPACE: &str = "ws-11111111-2222-3333-4444-555555555555";
const QUERY_ROLE: &str = "arn:aws:iam::123456789012:role/kiali-test-amp-query";

fn helm() -> std::path::PathBuf {
    crate::support::charts::test_helm()
}

pub use crate::support::charts::packaged_kiali_charts as packaged_charts;

/// A kubeconfig for `fake` (static token), written into `dir`.
pub fn kubeconfig(fake: &KubeFake, dir: &Path) -> PathBuf {
    let path = dir.join("kubeconfig");
    let text = format!(
        "apiVersion: v1\nkind: Config\ncurrent-context: fake\n\
         clusters:\n- name: fake\n  cluster: {{server: \"{}\"}}\n\
         users:\n- name: admin\n  user: {{token: {}}}\n\
         contexts:\n- name: fake\n  context: {{cluster: fake, user: admin}}\n",
        fake.url,
        kube_fake::TOKEN
    );
    std::fs::write(&path, text).expect("write the kubeconfig");
    path
}

struct Env {
    fake: KubeFake,
    stack: Stack,
    kube: Kube,
    controller: tokio::task::JoinHandle<()>,
}

impl Drop for Env {
    fn drop(&mut self) {
        self.controller.abort();
    }
}

/// Make every Deployment in `ns` available, as the controller would, until aborted.
fn play_controller(kube: Kube, ns: &'static str) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let api: Api<Deployment> = Api::namespaced(kube.client().clone(), ns);
        loop {
            if let Ok(list) = api.list(&Default::default()).await {
                for d in list.items {
                    let name = d.metadata.name.clone().unwrap_or_default();
                    let generation = d.metadata.generation.unwrap_or(1);
                    let want = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
                    let done = d.status.as_ref().is_some_and(|s| {
                        s.observed_generation == Some(generation)
                            && s.available_replicas == Some(want)
                    });
                    if !done {
                        let status = json!({"status": {
                            "observedGeneration": generation, "replicas": want,
                            "updatedReplicas": want, "readyReplicas": want, "availableReplicas": want,
                            "conditions": [{"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"}]}});
                        let _ = api
                            .patch_status(&name, &PatchParams::default(), &Patch::Merge(&status))
                            .await;
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
}

async fn setup(test: &str, extra_yaml: &str) -> Env {
    let fake = KubeFake::start(Options::default()).await;
    let scratch = tempfile::tempdir().expect("a temporary directory").keep();
    let charts = packaged_charts(&scratch);
    let kubeconfig = kubeconfig(&fake, &scratch);
    let stack = Stack::builder(test)
        .yaml(&format!(
            "kubernetes:\n  kubeconfig: \"{}\"\nkiali:\n  charts: \"{}\"\n{extra_yaml}",
            kubeconfig.display(),
            charts.display()
        ))
        .build();
    let name = stack.name.clone();
    stack.seed_applied(
        "cluster",
        &[
            ("cluster_name", name.as_str()),
            ("kubernetes_version", "1.34"),
        ],
    );
    stack.seed_applied(
        "amp",
        &[
            ("workspace_id", WORKSPACE),
            (
                "prometheus_endpoint",
                "https://aps-workspaces.us-east-1.amazonaws.com/workspaces/ws-1/",
            ),
        ],
    );
    stack.seed_applied("irsa", &[("query_role_arn", QUERY_ROLE)]);
    stack.seed_applied("istio", &[("version", "1.28.0"), ("mode", "sidecar")]);
    stack.seed_applied("prometheus", &[]);
    let kube = Kube::from_kubeconfig(&name, Some(&kubeconfig), Some("fake"))
        .await
        .expect("connect to the fake");
    // The istio step creates the control-plane namespace; here it simply exists.
    let namespaces: Api<Namespace> = Api::all(kube.client().clone());
    let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}});
    namespaces
        .patch(NS, &PatchParams::apply("test"), &Patch::Apply(&ns))
        .await
        .expect("create the namespace");
    // The irsa step creates the query service account with its role annotation.
    let sa: kube::api::DynamicObject = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "ServiceAccount",
        "metadata": {"name": "amp-iamproxy-query-service-account", "namespace": NS,
                     "annotations": {"eks.amazonaws.com/role-arn": QUERY_ROLE}}
    }))
    .expect("a service account");
    kube.apply("irsa", &[sa], &Default::default())
        .await
        .expect("create the query service account");
    let controller = play_controller(kube.clone(), NS);
    Env {
        fake,
        stack,
        kube,
        controller,
    }
}

async fn meshctl(env: &Env, args: &[&str]) -> Run {
    let mut cmd = env.stack.cmd();
    cmd.env("MESHCTL_HELM", helm())
        .env("MESHCTL_POLL_INTERVAL", "100ms")
        .args(args)
        .args(["--output", "json"])
        .timeout(RUN_GUARD);
    tokio::task::spawn_blocking(move || Run::from(cmd.output().expect("meshctl runs")))
        .await
        .expect("the run finishes")
}

fn config_yaml(fake: &KubeFake) -> Value {
    let cm = fake
        .object("", "configmaps", NS, "kiali")
        .expect("the chart's ConfigMap kiali");
    let text = cm["data"]["config.yaml"].as_str().expect("config.yaml");
    serde_yaml_ng::from_str(text).expect("config.yaml is YAML")
}

fn labels(v: &Value) -> Value {
    v["metadata"]["labels"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kiali_applies_proxy_and_chart_then_changes_nothing_and_cleans_up() {
    let env = setup("kiali-apply", "").await;
    let stack = env.stack.name.clone();

    let run = meshctl(&env, &["kiali", "--yes"]).await;
    run.expect_code(0);
    let doc = run.json();
    let actions = step_actions(&doc, "kiali");
    for (kind, name) in [
        ("deployment", "istio-system/aws-sigv4-proxy"),
        ("service", "istio-system/aws-sigv4-proxy"),
        ("deployment", "istio-system/kiali"),
        ("configmap", "istio-system/kiali"),
        ("clusterrole", "kiali"),
    ] {
        assert!(
            actions
                .iter()
                .any(|(op, k, n)| op == "create" && k == kind && n == name),
            "no create of {kind} {name} in {actions:?}"
        );
    }

    // The proxy: signs for aps in the region, as the query service account with the irsa role.
    let proxy = env
        .fake
        .object("apps", "deployments", NS, "aws-sigv4-proxy")
        .expect("the proxy Deployment");
    let pod = &proxy["spec"]["template"]["spec"];
    assert_eq!(
        pod["serviceAccountName"],
        "amp-iamproxy-query-service-account"
    );
    let args = pod["containers"][0]["args"].clone();
    assert_eq!(
        args,
        json!([
            "--name",
            "aps",
            "--region",
            "us-east-1",
            "--host",
            "aps-workspaces.us-east-1.amazonaws.com",
            "--port",
            ":8080"
        ])
    );
    let sa = env
        .fake
        .object(
            "",
            "serviceaccounts",
            NS,
            "amp-iamproxy-query-service-account",
        )
        .expect("the query service account");
    assert_eq!(
        sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"],
        QUERY_ROLE
    );
    assert_eq!(
        labels(&sa)["meshctl.io/component"],
        "irsa",
        "the irsa step's service account is left to it"
    );
    assert_eq!(labels(&proxy)["meshctl.io/component"], "kiali-proxy");
    assert_eq!(labels(&proxy)["meshctl.io/stack"], stack.as_str());

    // Kiali's configuration points at the proxy with thanos_proxy on.
    let cfg = config_yaml(&env.fake);
    let prom = &cfg["external_services"]["prometheus"];
    let url = format!(
        "http://aws-sigv4-proxy.istio-system.svc.cluster.local:8080/workspaces/{WORKSPACE}/"
    );
    assert_eq!(prom["url"], url.as_str());
    assert_eq!(prom["thanos_proxy"]["enabled"], true);
    assert_eq!(prom["thanos_proxy"]["scrape_interval"], "30s");
    assert_eq!(cfg["external_services"]["grafana"]["enabled"], false);
    let kiali = env
        .fake
        .object("apps", "deployments", NS, "kiali")
        .expect("the Kiali Deployment");
    assert_eq!(labels(&kiali)["meshctl.io/component"], "kiali");
    assert_eq!(labels(&kiali)["app.kubernetes.io/managed-by"], "meshctl");
    // --skip-tests: the chart's `helm test` pod is not applied.
    assert!(
        env.fake
            .object("", "pods", NS, "kiali-test-connection")
            .is_none()
    );

    // Outputs for later steps and the user.
    let state: Value = serde_json::from_slice(
        &std::fs::read(env.stack.state_dir().join("state.json")).expect("state.json"),
    )
    .expect("state JSON");
    let out = &state["steps"]["kiali"]["outputs"];
    assert_eq!(out["prometheus_url"], url.as_str());
    assert_eq!(out["namespace"], NS);
    assert_eq!(
        out["proxy_service"],
        "http://aws-sigv4-proxy.istio-system.svc.cluster.local:8080"
    );

    // A second run changes no object.
    env.fake.clear_log();
    let again = meshctl(&env, &["kiali", "--yes"]).await;
    again.expect_code(0);
    let writes = env.fake.mutating_calls();
    assert!(writes.is_empty(), "second run wrote: {writes:?}");
    let actions = step_actions(&again.json(), "kiali");
    assert!(actions.iter().all(|(op, _, _)| op == "keep"), "{actions:?}");

    // Status sees both Deployments available.
    let status = meshctl(&env, &["status"]).await;
    status.expect_code(0);
    let doc = status.json();
    let kiali_status = doc["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .find(|s| s["step"] == "kiali")
        .expect("a kiali entry")
        .clone();
    assert_eq!(kiali_status["state"], "present", "{kiali_status:#}");
    assert_eq!(
        kiali_status["details"]["deployment aws-sigv4-proxy"],
        "1/1 available"
    );

    // Cleanup leaves no object with the stack's label.
    meshctl(&env, &["cleanup", "--only", "kiali", "--yes"])
        .await
        .expect_code(0);
    let left = env
        .kube
        .list_by_label(&format!("meshctl.io/stack={stack}"))
        .await
        .expect("list");
    let left: Vec<String> = left.iter().map(|r| r.to_string()).collect();
    assert_eq!(
        left,
        ["ServiceAccount istio-system/amp-iamproxy-query-service-account"],
        "only the irsa step's service account may remain"
    );
    assert!(
        env.fake.object("", "namespaces", "", NS).is_some(),
        "the namespace is not the step's"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grafana_links_follow_the_grafana_step_and_user_values_win() {
    let scratch = tempfile::tempdir().expect("a temporary directory");
    let user = scratch.path().join("kiali-values.yaml");
    std::fs::write(&user, "deployment:\n  replicas: 2\n").expect("write the values file");
    let env = setup(
        "kiali-grafana",
        &format!("  values: \"{}\"\n", user.display()),
    )
    .await;
    env.stack.seed_applied(
        "grafana",
        &[(
            "workspace_url",
            "https://g-abc123.grafana-workspace.us-east-1.amazonaws.com",
        )],
    );
    meshctl(&env, &["kiali", "--yes"]).await.expect_code(0);
    let cfg = config_yaml(&env.fake);
    let g = &cfg["external_services"]["grafana"];
    assert_eq!(g["enabled"], true);
    assert_eq!(
        g["external_url"],
        "https://g-abc123.grafana-workspace.us-east-1.amazonaws.com"
    );
    assert!(
        g.get("auth").is_none(),
        "no token without the Secret: {g:#}"
    );
    let kiali = env
        .fake
        .object("apps", "deployments", NS, "kiali")
        .expect("the Kiali Deployment");
    assert_eq!(kiali["spec"]["replicas"], 2, "the user's values file wins");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_lists_objects_without_writing() {
    let env = setup("kiali-dry-run", "").await;
    env.fake.clear_log();
    let run = meshctl(&env, &["kiali", "--dry-run"]).await;
    run.expect_code(0);
    let actions = step_actions(&run.json(), "kiali");
    assert!(
        actions
            .iter()
            .any(|(op, k, n)| op == "create" && k == "configmap" && n == "istio-system/kiali"),
        "{actions:?}"
    );
    assert!(env.fake.mutating_calls().is_empty());
}

#[test]
fn rendered_values_match_the_snapshot() {
    let config: meshctl::config::Config = serde_yaml_ng::from_str(
        "name: demo\nregion: eu-west-1\nprometheus:\n  scrape_interval: 45s\n",
    )
    .expect("config");
    let inputs = meshctl::steps::kiali::Inputs {
        workspace_id: Some("ws-abcdef01-2345-6789-abcd-ef0123456789".into()),
        query_role_arn: Some("arn:aws:iam::123456789012:role/demo-amp-query".into()),
        grafana_url: Some("https://g-abc123.grafana-workspace.eu-west-1.amazonaws.com".into()),
        grafana_token: true,
    };
    let text = meshctl::steps::kiali::render_values(&config, &inputs).expect("render");
    let snapshot =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/snapshots/kiali-values.yaml");
    if std::env::var_os("MESHCTL_UPDATE_SNAPSHOTS").is_some() {
        std::fs::create_dir_all(snapshot.parent().expect("a parent")).expect("mkdir");
        std::fs::write(&snapshot, &text).expect("write the snapshot");
    }
    let expected = std::fs::read_to_string(&snapshot)
        .expect("the snapshot exists (MESHCTL_UPDATE_SNAPSHOTS=1 writes it)");
    assert_eq!(
        text, expected,
        "the values changed; review and update the snapshot"
    );
}

/// `kiali open` picks the ready pod behind Service kiali; the fake serves no
/// `pods/portforward`, so the binary must stop with a clear error instead of printing a URL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kiali_open_picks_the_ready_pod_and_says_when_port_forward_fails() {
    let env = setup("kiali-open", "").await;
    let svc: Service = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "kiali", "namespace": NS},
        "spec": {"selector": {"app.kubernetes.io/name": "kiali"},
                 "ports": [{"name": "http", "port": 20001, "targetPort": "api-port"}]}
    }))
    .expect("a service");
    Api::<Service>::namespaced(env.kube.client().clone(), NS)
        .patch("kiali", &PatchParams::apply("test"), &Patch::Apply(&svc))
        .await
        .expect("create the service");
    let pods: Api<Pod> = Api::namespaced(env.kube.client().clone(), NS);
    for (name, ready) in [("kiali-a", false), ("kiali-b", true), ("other", true)] {
        let app = if name == "other" { "other" } else { "kiali" };
        let pod = json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": NS, "labels": {"app.kubernetes.io/name": app}},
            "spec": {"containers": [{"name": "kiali", "image": "kiali", "ports": [{"name": "api-port", "containerPort": 20001}]}]}
        });
        pods.patch(name, &PatchParams::apply("test"), &Patch::Apply(&pod))
            .await
            .expect("create a pod");
        let status = json!({"status": {"phase": "Running", "conditions": [
            {"type": "Ready", "status": if ready { "True" } else { "False" }}]}});
        pods.patch_status(name, &PatchParams::default(), &Patch::Merge(&status))
            .await
            .expect("set the pod status");
    }
    let (pod, port) = meshctl::steps::kiali_open::find_pod(&env.kube, NS)
        .await
        .expect("a ready Kiali pod");
    assert_eq!(pod.metadata.name.as_deref(), Some("kiali-b"));
    assert_eq!(port, 20001);

    let mut cmd = env.stack.cmd();
    cmd.args(["kiali", "open", "--port", "0"])
        .timeout(RUN_GUARD);
    let run = tokio::task::spawn_blocking(move || Run::from(cmd.output().expect("meshctl runs")))
        .await
        .expect("the run finishes");
    run.expect_code(1);
    assert!(
        run.stderr
            .contains("cannot port-forward to pod istio-system/kiali-b"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stdout.contains("http://127.0.0.1"),
        "no URL is printed: {}",
        run.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kiali_open_without_kiali_says_to_install_it() {
    let env = setup("kiali-open-missing", "").await;
    let mut cmd = env.stack.cmd();
    cmd.args(["kiali", "open"]).timeout(RUN_GUARD);
    let run = tokio::task::spawn_blocking(move || Run::from(cmd.output().expect("meshctl runs")))
        .await
        .expect("the run finishes");
    run.expect_code(2);
    assert!(
        run.stderr.contains("Kiali is not installed"),
        "{}",
        run.stderr
    );
}

/// Nobody makes the proxy available: the wait times out naming the Deployment and why, and the
/// rollback deletes both components by label.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unready_proxy_times_out_naming_it_and_rolls_back() {
    let env = setup("kiali-unready", "").await;
    env.controller.abort();
    let stack = env.stack.name.clone();
    let run = meshctl(&env, &["kiali", "--yes", "--timeout", "10s"]).await;
    run.expect_code(1);
    assert!(
        run.stderr
            .contains("waiting for Deployment istio-system/aws-sigv4-proxy to be ready"),
        "{}",
        run.stderr
    );
    let left = env
        .kube
        .list_by_label(&format!(
            "meshctl.io/stack={stack},meshctl.io/component in (kiali,kiali-proxy)"
        ))
        .await
        .expect("list");
    assert!(left.is_empty(), "rollback left: {left:?}");
}

/// Without the query service account (the irsa step's), the step stops before any change.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_query_service_account_stops_before_any_change() {
    let env = setup("kiali-no-sa", "").await;
    env.kube
        .delete_by_label(
            &format!(
                "meshctl.io/stack={},meshctl.io/component=irsa",
                env.stack.name
            ),
            meshctl::kube::Propagation::Background,
            Duration::from_secs(20),
        )
        .await
        .expect("remove the service account");
    env.fake.clear_log();
    let run = meshctl(&env, &["kiali", "--yes"]).await;
    // The step fails (exit 1) with nothing to roll back.
    run.expect_code(1);
    assert!(
        run.stderr
            .contains("amp-iamproxy-query-service-account does not exist"),
        "{}",
        run.stderr
    );
    // The help (in the JSON result) says what to run.
    assert!(run.stdout.contains("run `meshctl irsa`"), "{}", run.stdout);
    assert!(
        env.fake.mutating_calls().is_empty(),
        "{:?}",
        env.fake.mutating_calls()
    );
}

/// The check `link` of a verify report.
fn verify_check<'a>(report: &'a Value, link: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["link"] == link))
        .unwrap_or_else(|| panic!("no check `{link}` in {report:#}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_checks_kiali_config_and_the_proxy_through_the_api_server() {
    use crate::support::amp_query_fake::{AmpQueryFake, Mode};
    use crate::support::http_fake::{Request, Response, serve};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    let env = setup("kiali-verify", "").await;
    meshctl(&env, &["kiali", "--yes"]).await.expect_code(0);
    // The AMP link of verify asks a local AMP query fake, never a real endpoint.
    let amp = AmpQueryFake::start(WORKSPACE, crate::support::REGION, Mode::Healthy);
    let path = env.stack.state_dir().join("state.json");
    let mut doc: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    doc["steps"]["amp"]["outputs"]["prometheus_endpoint"] = Value::from(amp.endpoint());
    std::fs::write(&path, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();

    // The proxy's pod: answers Prometheus queries for the workspace, as AMP does behind it,
    // or refuses as AMP does when the query role may not query.
    let refuse = Arc::new(AtomicBool::new(false));
    let r = refuse.clone();
    let pod = serve(Arc::new(move |req: &Request| {
        let want = ["workspaces", WORKSPACE, "api", "v1", "query"];
        if req.path() != want {
            return Response::json(404, json!({"message": "Not Found"}));
        }
        if r.load(Ordering::SeqCst) {
            return Response::json(
                403,
                json!({"message": "User is not authorized to perform: aps:QueryMetrics"}),
            );
        }
        Response::json(
            200,
            json!({"status": "success", "data": {"resultType": "vector", "result": [
                {"metric": {}, "value": [1_767_000_000, "1"]}]}}),
        )
    }));

    // Healthy: both Kiali links pass.
    env.fake
        .set_service_backend(NS, "aws-sigv4-proxy", Some(&pod));
    let run = meshctl(&env, &["verify"]).await;
    let report = run.json();
    assert_eq!(
        verify_check(&report, "kiali-config")["outcome"],
        "pass",
        "{report:#}"
    );
    assert_eq!(
        verify_check(&report, "kiali-proxy")["outcome"],
        "pass",
        "{report:#}"
    );
    assert_eq!(report["status"], "passed", "{report:#}");
    run.expect_code(0);
    assert!(
        env.fake.requests().iter().any(|l| l.method == "GET"
            && l.path
                .contains("/services/aws-sigv4-proxy:8080/proxy/workspaces/")),
        "verify went through the API server's service proxy"
    );

    // AMP refuses the proxy's signature: the fix names irsa.
    refuse.store(true, Ordering::SeqCst);
    let report = meshctl(&env, &["verify"]).await.json();
    let proxy = verify_check(&report, "kiali-proxy");
    assert_eq!(proxy["outcome"], "fail", "{report:#}");
    assert!(
        proxy["fix"]
            .as_str()
            .unwrap_or_default()
            .contains("meshctl irsa"),
        "{proxy:#}"
    );
    assert_eq!(report["first_broken"], "kiali-proxy", "{report:#}");
    refuse.store(false, Ordering::SeqCst);

    // No ready pod behind the Service: the API server answers 503.
    env.fake.set_service_backend(NS, "aws-sigv4-proxy", None);
    let run = meshctl(&env, &["verify"]).await;
    assert_eq!(run.code, Some(1), "{}", run.stdout);
    let report = run.json();
    let proxy = verify_check(&report, "kiali-proxy");
    assert_eq!(proxy["outcome"], "fail", "{report:#}");
    assert!(
        proxy["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("no ready pod"),
        "{proxy:#}"
    );

    // Someone points Kiali elsewhere: the config link fails first, with the fix.
    env.fake
        .set_service_backend(NS, "aws-sigv4-proxy", Some(&pod));
    let cm: Api<kube::api::DynamicObject> = Api::namespaced_with(
        env.kube.client().clone(),
        NS,
        &kube::api::ApiResource::erase::<k8s_openapi::api::core::v1::ConfigMap>(&()),
    );
    let changed = "external_services:\n  prometheus:\n    url: http://prometheus.example:9090/\n";
    cm.patch(
        "kiali",
        &PatchParams::default(),
        &Patch::Merge(&json!({"data": {"config.yaml": changed}})),
    )
    .await
    .expect("change Kiali's ConfigMap");
    let report = meshctl(&env, &["verify"]).await.json();
    let config = verify_check(&report, "kiali-config");
    assert_eq!(config["outcome"], "fail", "{report:#}");
    assert!(
        config["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("prometheus.example"),
        "{config:#}"
    );
    assert!(
        config["fix"]
            .as_str()
            .unwrap_or_default()
            .contains("meshctl kiali"),
        "{config:#}"
    );
    assert_eq!(report["first_broken"], "kiali-config", "{report:#}");
}
