//! The `istio` step end to end: the real binary, the real helm rendering the test charts
//! (tests/fixtures/charts/, packaged into a directory as `istio.charts`), the Kubernetes API
//! server fake reached through `kubernetes.kubeconfig`, and a task playing istiod's part
//! (Deployment status, the webhook's CA bundle, a ready EndpointSlice).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use k8s_openapi::api::admissionregistration::v1::MutatingWebhookConfiguration;
use k8s_openapi::api::apps::v1::Deployment;
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams};
use serde_json::{Value, json};

use crate::helm::{packaged_charts, test_helm};
use crate::support::kube_fake::{self, KubeFake, Options};
use crate::support::{Run, Stack};

const STACK_LABEL: &str = "meshctl.io/stack";

fn kubeconfig(fake: &KubeFake, dir: &Path) -> std::path::PathBuf {
    let path = dir.join("kubeconfig");
    let text = format!(
        "apiVersion: v1\nkind: Config\ncurrent-context: fake\n\
         clusters:\n- name: fake\n  cluster: {{server: \"{}\"}}\n\
         users:\n- name: admin\n  user: {{token: {}}}\n\
         contexts:\n- name: fake\n  context: {{cluster: fake, user: admin}}\n",
        fake.url,
        kube_fake::TOKEN
    );
    std::fs::write(&path, text).expect("write kubeconfig");
    path
}

/// A stack whose kubeconfig points at `fake` and whose charts come from `charts`.
fn stack(test: &str, fake: &KubeFake, charts: &Path, istio_yaml: &str) -> Stack {
    let dir = tempfile::tempdir().expect("temp dir");
    let kc = kubeconfig(fake, dir.path());
    // The kubeconfig lives as long as the stack: keep its directory.
    let kc_dir = dir.keep();
    let _ = kc_dir;
    let s = Stack::builder(test)
        .yaml(&format!(
            "kubernetes:\n  kubeconfig: \"{}\"\n  context: fake\nistio:\n  charts: \"{}\"\n{istio_yaml}",
            kc.display(),
            charts.display()
        ))
        .build();
    s.seed_applied(
        "cluster",
        &[("cluster_name", "fake"), ("kubernetes_version", "1.34")],
    );
    s
}

/// `meshctl <args> --output json` in a blocking task, with the test helm and fast polling.
async fn run(stack: &Stack, args: &[&str], extra: &[(&str, &str)]) -> Run {
    let mut cmd = stack.std_command(&crate::support::moto());
    cmd.args(args)
        .args(["--output", "json"])
        .env("MESHCTL_HELM", test_helm())
        .env("MESHCTL_POLL_INTERVAL", "50ms");
    for (k, v) in extra {
        cmd.env(k, v);
    }
    let out = tokio::time::timeout(
        crate::support::RUN_GUARD,
        tokio::task::spawn_blocking(move || cmd.output().expect("meshctl runs")),
    )
    .await
    .expect("meshctl finished within the guard")
    .expect("the blocking task ran");
    Run::from(out)
}

async fn client(fake: &KubeFake) -> kube::Client {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = kubeconfig(fake, dir.path());
    let kc = kube::config::Kubeconfig::read_from(&path).expect("kubeconfig");
    let config = kube::Config::from_custom_kubeconfig(kc, &Default::default())
        .await
        .expect("client config");
    kube::Client::try_from(config).expect("client")
}

/// Play istiod's part until the task is dropped: mark Deployments available, write the
/// injection webhook's CA bundle, and publish a ready EndpointSlice for the istiod Service.
fn play_istiod(client: kube::Client, ns: &'static str) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let deployments: Api<Deployment> = Api::namespaced(client.clone(), ns);
        let hooks: Api<MutatingWebhookConfiguration> = Api::all(client.clone());
        let slices: Api<DynamicObject> = Api::namespaced_with(
            client.clone(),
            ns,
            &kube::api::ApiResource::from_gvk(&kube::api::GroupVersionKind::gvk(
                "discovery.k8s.io",
                "v1",
                "EndpointSlice",
            )),
        );
        loop {
            if let Ok(Some(d)) = deployments.get_opt("istiod").await {
                let generation = d.metadata.generation.unwrap_or(1);
                let want = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
                let observed = d.status.as_ref().and_then(|s| s.observed_generation);
                if observed != Some(generation) {
                    let status = json!({"status": {
                        "observedGeneration": generation, "replicas": want,
                        "updatedReplicas": want, "readyReplicas": want, "availableReplicas": want,
                        "conditions": [{"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"}]}});
                    let _ = deployments
                        .patch_status("istiod", &PatchParams::default(), &Patch::Merge(&status))
                        .await;
                }
                let slice = json!({
                    "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                    "metadata": {"name": "istiod-x7k2p", "namespace": ns,
                                 "labels": {"kubernetes.io/service-name": "istiod"}},
                    "addressType": "IPv4",
                    "endpoints": [{"addresses": ["10.0.1.17"], "conditions": {"ready": true}}],
                    "ports": [{"name": "https-webhook", "port": 15017, "protocol": "TCP"}],
                });
                let _ = slices
                    .patch(
                        "istiod-x7k2p",
                        &PatchParams::apply("endpointslice-controller"),
                        &Patch::Apply(&slice),
                    )
                    .await;
            }
            if let Ok(Some(m)) = hooks.get_opt("istio-sidecar-injector").await {
                let mut v = serde_json::to_value(&m).unwrap_or(Value::Null);
                let mut changed = false;
                if let Some(list) = v["webhooks"].as_array_mut() {
                    for h in list {
                        if h["clientConfig"]["caBundle"]
                            .as_str()
                            .unwrap_or("")
                            .is_empty()
                        {
                            h["clientConfig"]["caBundle"] = json!("dGVzdC1jYQ==");
                            changed = true;
                        }
                    }
                }
                if changed {
                    let _ = hooks
                        .patch(
                            "istio-sidecar-injector",
                            &PatchParams::default(),
                            &Patch::Merge(&json!({"webhooks": v["webhooks"]})),
                        )
                        .await;
                }
            }
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
    })
}

fn doc(run: &Run) -> Value {
    serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {run:#?}"))
}

/// Every (kind, namespace/name) carrying `stack`'s label, by listing each kind the charts use.
async fn labelled(client: &kube::Client, stack: &str) -> Vec<String> {
    let kinds = [
        ("", "v1", "Namespace"),
        ("", "v1", "ServiceAccount"),
        ("", "v1", "ConfigMap"),
        ("", "v1", "Service"),
        ("apps", "v1", "Deployment"),
        ("apps", "v1", "DaemonSet"),
        ("rbac.authorization.k8s.io", "v1", "ClusterRole"),
        ("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding"),
        (
            "admissionregistration.k8s.io",
            "v1",
            "MutatingWebhookConfiguration",
        ),
        (
            "admissionregistration.k8s.io",
            "v1",
            "ValidatingWebhookConfiguration",
        ),
        ("apiextensions.k8s.io", "v1", "CustomResourceDefinition"),
        ("policy", "v1", "PodDisruptionBudget"),
        ("autoscaling", "v2", "HorizontalPodAutoscaler"),
    ];
    let mut out = vec![];
    for (g, v, k) in kinds {
        let ar = kube::api::ApiResource::from_gvk(&kube::api::GroupVersionKind::gvk(g, v, k));
        let api: Api<DynamicObject> = Api::all_with(client.clone(), &ar);
        let list = api
            .list(&ListParams::default().labels(&format!("{STACK_LABEL}={stack}")))
            .await
            .expect("list");
        for o in list.items {
            out.push(format!(
                "{k} {}/{}",
                o.metadata.namespace.unwrap_or_default(),
                o.metadata.name.unwrap_or_default()
            ));
        }
    }
    out
}

async fn webhook_count(client: &kube::Client) -> usize {
    let m: Api<MutatingWebhookConfiguration> = Api::all(client.clone());
    let v: Api<k8s_openapi::api::admissionregistration::v1::ValidatingWebhookConfiguration> =
        Api::all(client.clone());
    m.list(&ListParams::default())
        .await
        .expect("list")
        .items
        .len()
        + v.list(&ListParams::default())
            .await
            .expect("list")
            .items
            .len()
}

fn labels(fake: &KubeFake, ns: &str) -> BTreeMap<String, String> {
    let o = fake.object("", "namespaces", "", ns).unwrap_or(Value::Null);
    serde_json::from_value(o["metadata"]["labels"].clone()).unwrap_or_default()
}

/// A MutatingWebhookConfiguration made by another tool, calling `ns/service`.
async fn webhook(client: &kube::Client, name: &str, ns: &str, service: &str) {
    let api: Api<MutatingWebhookConfiguration> = Api::all(client.clone());
    api.patch(
        name,
        &PatchParams::apply("istioctl"),
        &Patch::Apply(&json!({"apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "MutatingWebhookConfiguration", "metadata": {"name": name},
            "webhooks": [{"name": format!("{name}.example.io"), "sideEffects": "None",
                "admissionReviewVersions": ["v1"],
                "clientConfig": {"service": {"name": service, "namespace": ns, "path": "/inject"}}}]})),
    )
    .await
    .expect("create the webhook configuration");
}

/// An application namespace someone else made (labels by another field manager).
async fn foreign_namespace(client: &kube::Client, name: &str) {
    let api: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client.clone());
    api.patch(
        name,
        &PatchParams::apply("team-shop"),
        &Patch::Apply(&json!({"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": name, "labels": {"team": "shop"}}})),
    )
    .await
    .expect("create the team's namespace");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sidecar_install_is_idempotent_and_cleanup_leaves_nothing() {
    let fake = KubeFake::start(Options::default()).await;
    let charts = packaged_charts();
    let client = client(&fake).await;
    foreign_namespace(&client, "shop").await;
    let stack = stack(
        "istio-sidecar",
        &fake,
        charts.path(),
        "  namespaces: [shop, bookinfo]\n  mtls: strict\n  default_deny: true\n",
    );
    let controller = play_istiod(client.clone(), "istio-system");

    let first = run(&stack, &["istio", "--yes"], &[]).await;
    assert_eq!(first.code, Some(0), "{first:#?}");
    // Charts in order: base's CRDs before istiod, istiod before the gateway, and the mesh
    // policies (custom resources of base's CRDs) after the webhook was ready.
    let order = fake.created_order();
    let pos = |what: &str| {
        order
            .iter()
            .position(|o| o == what)
            .unwrap_or_else(|| panic!("{what} was not created: {order:?}"))
    };
    assert!(
        pos("CustomResourceDefinition/peerauthentications.security.istio.io")
            < pos("Deployment/istiod")
    );
    assert!(pos("Namespace/istio-system") < pos("Deployment/istiod"));
    assert!(pos("Deployment/istiod") < pos("Deployment/istio-ingressgateway"));
    assert!(
        pos("MutatingWebhookConfiguration/istio-sidecar-injector")
            < pos("PeerAuthentication/default")
    );
    assert!(pos("Deployment/istio-ingressgateway") < pos("Namespace/bookinfo"));

    let pa = fake
        .object(
            "security.istio.io",
            "peerauthentications",
            "istio-system",
            "default",
        )
        .expect("PeerAuthentication default");
    assert_eq!(pa["spec"]["mtls"]["mode"], "STRICT");
    assert!(
        fake.object(
            "security.istio.io",
            "authorizationpolicies",
            "istio-system",
            "allow-nothing"
        )
        .is_some()
    );
    let istiod = fake
        .object("apps", "deployments", "istio-system", "istiod")
        .expect("istiod");
    assert_eq!(
        istiod["metadata"]["labels"]["meshctl.io/component"],
        "istiod"
    );
    assert_eq!(
        istiod["metadata"]["labels"][STACK_LABEL],
        stack.name.as_str()
    );
    // demo profile: one small istiod, no HPA.
    assert_eq!(istiod["spec"]["replicas"], 1);
    assert!(
        fake.object(
            "autoscaling",
            "horizontalpodautoscalers",
            "istio-system",
            "istiod"
        )
        .is_none()
    );

    // The team's namespace got only the label; the missing one was created and labelled.
    let shop = labels(&fake, "shop");
    assert_eq!(
        shop.get("istio-injection").map(String::as_str),
        Some("enabled")
    );
    assert_eq!(shop.get("team").map(String::as_str), Some("shop"));
    assert!(!shop.contains_key(STACK_LABEL), "{shop:?}");
    let bookinfo = labels(&fake, "bookinfo");
    assert_eq!(
        bookinfo.get("istio-injection").map(String::as_str),
        Some("enabled")
    );
    assert_eq!(
        bookinfo.get("meshctl.io/component").map(String::as_str),
        Some("istio-namespaces")
    );
    let result = doc(&first);
    let outputs = &result["steps"][0]["outputs"];
    assert_eq!(outputs["version"], "1.31.1", "{result:#}");
    assert_eq!(outputs["mode"], "sidecar");

    // status: every component there, istiod ready.
    let status = run(&stack, &["status"], &[]).await;
    let status = doc(&status);
    let istio = status["steps"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["step"] == "istio"))
        .unwrap_or_else(|| panic!("no istio in {status:#}"))
        .clone();
    assert_eq!(istio["state"], "present", "{istio:#}");
    assert!(
        istio["details"]["istiod"]
            .as_str()
            .unwrap_or("")
            .contains("ready"),
        "{istio:#}"
    );

    // The load balancer controller gives the gateway Service its address.
    let services: Api<k8s_openapi::api::core::v1::Service> =
        Api::namespaced(client.clone(), "istio-ingress");
    services
        .patch_status(
            "istio-ingressgateway",
            &PatchParams::default(),
            &Patch::Merge(&json!({"status": {"loadBalancer": {"ingress": [
                {"hostname": "k8s-istioing-abc123.elb.us-east-1.amazonaws.com"}]}}})),
        )
        .await
        .expect("the test plays the load balancer controller");

    // A second run changes no object, and reports the ingress hostname.
    fake.clear_log();
    let second = run(&stack, &["istio", "--yes"], &[]).await;
    assert_eq!(second.code, Some(0), "{second:#?}");
    assert_eq!(
        doc(&second)["steps"][0]["outputs"]["ingress_hostname"],
        "k8s-istioing-abc123.elb.us-east-1.amazonaws.com",
        "{}",
        second.stdout
    );
    let writes: Vec<_> = fake
        .mutating_calls()
        .into_iter()
        .filter(|c| c.field_manager.as_deref() == Some("meshctl") || c.method == "DELETE")
        .map(|c| format!("{} {}", c.method, c.path))
        .collect();
    assert!(writes.is_empty(), "second run wrote: {writes:?}");

    // A dry run against the existing stack: every object unchanged.
    let plan = run(&stack, &["istio", "--dry-run"], &[]).await;
    assert_eq!(plan.code, Some(0), "{plan:#?}");
    let plan = doc(&plan);
    let actions = plan["steps"][0]["actions"]
        .as_array()
        .expect("actions")
        .clone();
    assert!(!actions.is_empty());
    assert!(
        actions.iter().all(|a| a["op"] == "keep"),
        "{:#}",
        plan["steps"][0]
    );

    controller.abort();
    // A webhook another tool made for this istiod (a revision tag), and one for another
    // service: cleanup removes the first once istiod is gone and leaves the second alone.
    webhook(
        &client,
        "istio-revision-tag-default",
        "istio-system",
        "istiod",
    )
    .await;
    webhook(&client, "team-policy", "shop", "policy-server").await;
    let cleanup = run(&stack, &["cleanup", "--only", "istio", "--yes"], &[]).await;
    assert_eq!(cleanup.code, Some(0), "{cleanup:#?}");
    let left = labelled(&client, &stack.name).await;
    assert!(left.is_empty(), "left behind: {left:?}");
    let hooks: Api<MutatingWebhookConfiguration> = Api::all(client.clone());
    let names: Vec<String> = hooks
        .list(&ListParams::default())
        .await
        .expect("list")
        .items
        .into_iter()
        .filter_map(|m| m.metadata.name)
        .collect();
    assert_eq!(
        names,
        ["team-policy"],
        "no webhook of the removed istiod may remain"
    );
    assert_eq!(webhook_count(&client).await, 1);
    // The team's namespace stays, without meshctl's label.
    let shop = labels(&fake, "shop");
    assert!(!shop.contains_key("istio-injection"), "{shop:?}");
    assert_eq!(shop.get("team").map(String::as_str), Some("shop"));
    assert!(fake.object("", "namespaces", "", "bookinfo").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_lists_creates_changes_with_fields_and_unchanged() {
    let fake = KubeFake::start(Options::default()).await;
    let charts = packaged_charts();
    let client = client(&fake).await;
    let stack = stack(
        "istio-dry-run",
        &fake,
        charts.path(),
        "  ingress_gateway: false\n",
    );
    // Nothing there yet: creates, and nothing written.
    fake.clear_log();
    let plan = run(&stack, &["istio", "--dry-run"], &[]).await;
    assert_eq!(plan.code, Some(0), "{plan:#?}");
    assert!(
        fake.mutating_calls().is_empty(),
        "{:?}",
        fake.mutating_calls()
    );
    let d = doc(&plan);
    let step = &d["steps"][0];
    let actions = step["actions"].as_array().expect("actions");
    assert!(
        actions.iter().any(|a| a["op"] == "create"
            && a["kind"] == "Deployment"
            && a["name"] == "istio-system/istiod"),
        "{step:#}"
    );
    // The values used are shown per chart.
    let notes = step["notes"].to_string();
    assert!(
        notes.contains("chart istiod 1.31.1") && notes.contains("autoscaleEnabled"),
        "{notes}"
    );

    let controller = play_istiod(client.clone(), "istio-system");
    let applied = run(&stack, &["istio", "--yes"], &[]).await;
    assert_eq!(applied.code, Some(0), "{applied:#?}");
    controller.abort();

    // The production profile changes istiod: the plan names the fields.
    let text = std::fs::read_to_string(stack.path().join("meshctl.yaml")).expect("config");
    std::fs::write(
        stack.path().join("meshctl.yaml"),
        text.replace(
            "  ingress_gateway: false\n",
            "  ingress_gateway: false\n  profile: production\n",
        ),
    )
    .expect("write config");
    let plan = run(&stack, &["istio", "--dry-run"], &[]).await;
    assert_eq!(plan.code, Some(0), "{plan:#?}");
    let d = doc(&plan);
    let actions = d["steps"][0]["actions"]
        .as_array()
        .expect("actions")
        .clone();
    let find = |kind: &str, name: &str| {
        actions
            .iter()
            .find(|a| a["kind"] == kind && a["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("{kind} {name} missing from {actions:#?}"))
    };
    let istiod = find("Deployment", "istio-system/istiod");
    assert_eq!(istiod["op"], "update", "{istiod:#}");
    let details = istiod["details"].to_string();
    assert!(
        details.contains("spec.template.spec.containers"),
        "{details}"
    );
    assert_eq!(
        find("HorizontalPodAutoscaler", "istio-system/istiod")["op"],
        "create"
    );
    assert_eq!(
        find("PodDisruptionBudget", "istio-system/istiod")["op"],
        "create"
    );
    assert_eq!(find("ServiceAccount", "istio-system/istiod")["op"], "keep");
    assert_eq!(
        find("PeerAuthentication", "istio-system/default")["op"],
        "keep"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ambient_applies_four_charts_in_order_and_labels_for_ambient() {
    let fake = KubeFake::start(Options::default()).await;
    let charts = packaged_charts();
    let client = client(&fake).await;
    let stack = stack(
        "istio-ambient",
        &fake,
        charts.path(),
        "  mode: ambient\n  ingress_gateway: false\n  namespaces: [shop]\n",
    );
    let controller = play_istiod(client.clone(), "istio-system");
    let r = run(&stack, &["istio", "--yes"], &[]).await;
    controller.abort();
    assert_eq!(r.code, Some(0), "{r:#?}");
    let order = fake.created_order();
    let pos = |what: &str| {
        order
            .iter()
            .position(|o| o == what)
            .unwrap_or_else(|| panic!("{what} was not created: {order:?}"))
    };
    assert!(
        pos("CustomResourceDefinition/peerauthentications.security.istio.io")
            < pos("Deployment/istiod")
    );
    assert!(pos("Deployment/istiod") < pos("DaemonSet/istio-cni-node"));
    assert!(pos("DaemonSet/istio-cni-node") < pos("DaemonSet/ztunnel"));
    let istiod = fake
        .object("apps", "deployments", "istio-system", "istiod")
        .expect("istiod");
    let env = istiod["spec"]["template"]["spec"]["containers"][0]["env"].to_string();
    assert!(
        env.contains("PILOT_ENABLE_AMBIENT") && env.contains("\"true\""),
        "{env}"
    );
    let cni = fake
        .object("apps", "daemonsets", "istio-system", "istio-cni-node")
        .expect("cni");
    assert!(cni.to_string().contains("AMBIENT_ENABLED"), "{cni}");
    assert_eq!(
        cni["metadata"]["labels"]["meshctl.io/component"],
        "istio-cni"
    );
    let shop = labels(&fake, "shop");
    assert_eq!(
        shop.get("istio.io/dataplane-mode").map(String::as_str),
        Some("ambient")
    );
    assert!(!shop.contains_key("istio-injection"));
    assert_eq!(doc(&r)["steps"][0]["outputs"]["mode"], "ambient");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unready_istiod_times_out_naming_what_it_waited_for() {
    let fake = KubeFake::start(Options::default()).await;
    let charts = packaged_charts();
    let client = client(&fake).await;
    let stack = stack(
        "istio-unready",
        &fake,
        charts.path(),
        "  ingress_gateway: false\n  namespaces: [shop]\n",
    );
    // No controller: istiod never becomes available.
    let r = run(&stack, &["istio", "--yes", "--timeout", "10s"], &[]).await;
    assert_ne!(r.code, Some(0), "{r:#?}");
    assert!(
        r.stderr.contains("istiod") && r.stderr.contains("not available"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("sidecar injection webhook"),
        "{}",
        r.stderr
    );
    // Nothing Istio validates was applied, and no namespace was labelled.
    assert!(fake.object("", "namespaces", "", "shop").is_none());
    assert!(
        fake.object(
            "security.istio.io",
            "peerauthentications",
            "istio-system",
            "default"
        )
        .is_none()
    );
    // Rollback removed what the run created.
    let left = labelled(&client, &stack.name).await;
    assert!(left.is_empty(), "rollback left: {left:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsupported_kubernetes_and_missing_helm_stop_with_exit_2() {
    let fake = KubeFake::start(Options {
        git_version: "v1.29.4-eks-old".into(),
        ..Options::default()
    })
    .await;
    let charts = packaged_charts();
    let stack = stack("istio-old-kube", &fake, charts.path(), "");
    let r = run(&stack, &["istio", "--dry-run"], &[]).await;
    assert_eq!(r.code, Some(2), "{r:#?}");
    assert!(r.stdout.contains("1.32, 1.33, 1.34, 1.35, 1.36"), "{r:#?}");

    let r = run(
        &stack,
        &["istio", "--yes"],
        &[("MESHCTL_HELM", "/nonexistent/helm")],
    )
    .await;
    assert_eq!(r.code, Some(2), "{r:#?}");
    assert!(r.stdout.contains("install helm"), "{r:#?}");
    assert!(fake.mutating_calls().is_empty());
}

#[test]
fn rendered_values_per_profile_and_mode_match_the_snapshots() {
    use meshctl::config::Config;
    let mut all = String::new();
    for (name, yaml) in [
        ("sidecar-demo", ""),
        (
            "sidecar-production-cni",
            "istio:\n  profile: production\n  cni: true\n",
        ),
        ("ambient-demo", "istio:\n  mode: ambient\n"),
        (
            "ambient-production",
            "istio:\n  mode: ambient\n  profile: production\n",
        ),
    ] {
        let config: Config =
            serde_yaml_ng::from_str(&format!("name: demo\n{yaml}")).expect("config");
        for chart in meshctl::steps::istio::charts(&config) {
            let values = meshctl::steps::istio::chart_values(&config, &chart).expect("values");
            all.push_str(&format!(
                "# {name}: {} ({})\n{}\n",
                chart.chart,
                chart.component,
                serde_yaml_ng::to_string(&values).expect("yaml")
            ));
        }
    }
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/snapshots/istio-values.yaml");
    if std::env::var_os("MESHCTL_UPDATE_SNAPSHOTS").is_some() {
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, &all).expect("write snapshot");
    }
    let want = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "{} missing: run with MESHCTL_UPDATE_SNAPSHOTS=1",
            path.display()
        )
    });
    assert_eq!(
        all, want,
        "rendered values changed: review, then MESHCTL_UPDATE_SNAPSHOTS=1"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_users_values_file_wins_and_a_typo_in_it_is_named() {
    let fake = KubeFake::start(Options::default()).await;
    let charts = packaged_charts();
    let client = client(&fake).await;
    let stack = stack(
        "istio-values",
        &fake,
        charts.path(),
        "  ingress_gateway: false\n  values: my-values.yaml\n",
    );
    // A path relative to where meshctl runs (the stack's directory).
    std::fs::write(
        stack.path().join("my-values.yaml"),
        "istiod:\n  pilot:\n    replicaCount: 3\ngateway: {}\n",
    )
    .expect("write values");
    let controller = play_istiod(client.clone(), "istio-system");
    let r = run(&stack, &["istio", "--yes"], &[]).await;
    controller.abort();
    assert_eq!(r.code, Some(0), "{r:#?}");
    let istiod = fake
        .object("apps", "deployments", "istio-system", "istiod")
        .expect("istiod");
    assert_eq!(istiod["spec"]["replicas"], 3, "the user's value wins");

    std::fs::write(
        stack.path().join("my-values.yaml"),
        "istiod:\n  pilot:\n    replicaCuont: 3\n",
    )
    .expect("write values");
    fake.clear_log();
    let r = run(&stack, &["istio", "--yes"], &[]).await;
    assert_eq!(r.code, Some(1), "{r:#?}");
    assert!(
        r.stdout.contains("replicaCuont"),
        "helm's message names the key: {r:#?}"
    );
    assert!(r.stdout.contains("istiod"), "{r:#?}");
    assert!(
        fake.mutating_calls().is_empty(),
        "nothing applied after a failed render"
    );

    // A section that is no chart: exit 2, nothing changed.
    std::fs::write(
        stack.path().join("my-values.yaml"),
        "istiodd:\n  pilot: {}\n",
    )
    .expect("write values");
    let r = run(&stack, &["istio", "--dry-run"], &[]).await;
    assert_eq!(r.code, Some(2), "{r:#?}");
    assert!(r.stdout.contains("unknown section `istiodd`"), "{r:#?}");
}
