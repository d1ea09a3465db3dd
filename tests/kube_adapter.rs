//! The Kubernetes adapter (src/kube/) through a real client against the API server fake
//! (tests/support/kube_fake.rs): apply, plan, conflicts, prune, delete, waits, EKS tokens.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, Patch, PatchParams};
use meshctl::kube::manifest::{self, component_selector};
use meshctl::kube::{
    ApplyOptions, Condition, EksTokenSource, Kube, KubeError, ObjectRef, Op, Propagation,
};
use serde_json::json;

use crate::support::eks_auth::EksAuth;
use crate::support::kube_fake::{self, KubeFake, Options};

const STACK: &str = "demo";
const GUARD: Duration = Duration::from_secs(60);

/// Out of order on purpose: the adapter must create the CRD, then the namespace, first.
const MANIFEST: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: "nginx:1.27"}]}
---
apiVersion: example.meshctl.io/v1
kind: Widget
metadata: {name: w1, namespace: shop}
spec: {size: 3}
---
# an empty document is skipped
---
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.meshctl.io}
spec:
  group: example.meshctl.io
  names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}
  scope: Namespaced
  versions:
    - name: v1
      served: true
      storage: true
      schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
"#;

fn objects(yaml: &str) -> Vec<kube::api::DynamicObject> {
    manifest::parse("test.yaml", yaml).expect("a valid manifest")
}

fn opts() -> ApplyOptions {
    ApplyOptions {
        force: false,
        timeout: Duration::from_secs(20),
    }
}

/// A connection through a kubeconfig file (static token) to `fake`.
async fn connect(fake: &KubeFake, dir: &tempfile::TempDir) -> Kube {
    let path = dir.path().join("kubeconfig");
    let kubeconfig = format!(
        "apiVersion: v1\nkind: Config\ncurrent-context: other\n\
         clusters:\n- name: fake\n  cluster: {{server: \"{}\"}}\n\
         users:\n- name: admin\n  user: {{token: {}}}\n\
         contexts:\n- name: fake\n  context: {{cluster: fake, user: admin}}\n\
         - name: other\n  context: {{cluster: nowhere, user: nobody}}\n",
        fake.url,
        kube_fake::TOKEN
    );
    std::fs::write(&path, kubeconfig).expect("write kubeconfig");
    Kube::from_kubeconfig(STACK, Some(&path), Some("fake"))
        .await
        .expect("connect with the kubeconfig")
        .with_poll_interval(Duration::from_millis(20))
}

async fn setup(options: Options) -> (KubeFake, Kube, tempfile::TempDir) {
    let fake = KubeFake::start(options).await;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let kube = connect(&fake, &dir).await;
    (fake, kube, dir)
}

fn labels_of(v: &serde_json::Value) -> BTreeMap<String, String> {
    serde_json::from_value(v["metadata"]["labels"].clone()).unwrap_or_default()
}

#[tokio::test]
async fn apply_creates_crds_first_then_namespaces_and_labels_every_object() {
    let (fake, kube, _dir) = setup(Options {
        crd_established_after: Duration::from_millis(200),
        ..Options::default()
    })
    .await;
    let changes = tokio::time::timeout(GUARD, kube.apply("mesh", &objects(MANIFEST), &opts()))
        .await
        .expect("hang guard")
        .expect("apply");
    assert_eq!(changes.count(Op::Create), 4, "{changes}");
    assert_eq!(
        fake.created_order(),
        [
            "CustomResourceDefinition/widgets.example.meshctl.io",
            "Namespace/shop",
            "Deployment/web",
            "Widget/w1"
        ]
    );
    let crd = fake
        .object(
            "apiextensions.k8s.io",
            "customresourcedefinitions",
            "",
            "widgets.example.meshctl.io",
        )
        .expect("the CRD");
    for obj in [
        crd,
        fake.object("", "namespaces", "", "shop")
            .expect("the namespace"),
        fake.object("apps", "deployments", "shop", "web")
            .expect("the deployment"),
        fake.object("example.meshctl.io", "widgets", "shop", "w1")
            .expect("the widget"),
    ] {
        let labels = labels_of(&obj);
        assert_eq!(
            labels
                .get("app.kubernetes.io/managed-by")
                .map(String::as_str),
            Some("meshctl"),
            "{obj}"
        );
        assert_eq!(
            labels.get("meshctl.io/stack").map(String::as_str),
            Some(STACK)
        );
        assert_eq!(
            labels.get("meshctl.io/component").map(String::as_str),
            Some("mesh")
        );
        assert_eq!(obj["metadata"]["managedFields"][0]["manager"], "meshctl");
    }
    // Every write was a server-side apply by meshctl.
    for r in fake.mutating_calls() {
        assert_eq!(r.method, "PATCH");
        assert_eq!(r.field_manager.as_deref(), Some("meshctl"));
    }
    // The output is both text and JSON.
    assert!(
        changes
            .to_string()
            .contains("create    Deployment shop/web"),
        "{changes}"
    );
    let doc = serde_json::to_value(&changes).expect("serialize");
    assert_eq!(doc["objects"][0]["op"], "create");
}

#[tokio::test]
async fn reapplying_the_same_manifest_sends_no_write_and_keeps_resource_versions() {
    let (fake, kube, _dir) = setup(Options::default()).await;
    kube.apply("mesh", &objects(MANIFEST), &opts())
        .await
        .expect("first apply");
    let rv = |fake: &KubeFake| {
        fake.object("apps", "deployments", "shop", "web")
            .expect("deployment")["metadata"]["resourceVersion"]
            .clone()
    };
    let before = rv(&fake);
    fake.clear_log();
    let again = kube
        .apply("mesh", &objects(MANIFEST), &opts())
        .await
        .expect("second apply");
    assert!(!again.has_changes(), "{again}");
    assert_eq!(again.count(Op::Unchanged), 4);
    assert_eq!(rv(&fake), before);
    assert!(
        fake.mutating_calls().is_empty(),
        "{:?}",
        fake.mutating_calls()
    );
    assert!(
        fake.requests().iter().any(|r| r.dry_run),
        "planned by dry-run"
    );
}

#[tokio::test]
async fn plan_reports_create_change_with_field_paths_and_unchanged_without_writing() {
    let (fake, kube, _dir) = setup(Options::default()).await;
    // Before anything exists: everything is created; the widget's kind waits for its CRD.
    let first = kube
        .plan("mesh", &objects(MANIFEST), &opts())
        .await
        .expect("plan");
    assert_eq!(first.count(Op::Create), 4, "{first}");
    let widget = first
        .objects
        .iter()
        .find(|o| o.object.kind == "Widget")
        .expect("widget");
    assert!(
        widget
            .note
            .as_deref()
            .unwrap_or("")
            .contains("CustomResourceDefinition")
    );
    assert!(fake.mutating_calls().is_empty());

    kube.apply("mesh", &objects(MANIFEST), &opts())
        .await
        .expect("apply");
    let changed = MANIFEST.replace("replicas: 2", "replicas: 3")
        + "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: shop}\ndata: {a: b}\n";
    fake.clear_log();
    let plan = kube
        .plan("mesh", &objects(&changed), &opts())
        .await
        .expect("plan");
    let op_of = |kind: &str| {
        plan.objects
            .iter()
            .find(|o| o.object.kind == kind)
            .unwrap_or_else(|| panic!("{kind} in {plan}"))
            .clone()
    };
    let deployment = op_of("Deployment");
    assert_eq!(deployment.op, Op::Change);
    assert_eq!(deployment.fields, ["spec.replicas"]);
    assert_eq!(op_of("ConfigMap").op, Op::Create);
    assert_eq!(op_of("Namespace").op, Op::Unchanged);
    assert_eq!(op_of("Widget").op, Op::Unchanged);
    assert!(
        plan.to_string()
            .contains("change    Deployment shop/web (spec.replicas)"),
        "{plan}"
    );
    assert!(fake.mutating_calls().is_empty(), "a plan writes nothing");
}

const SETTINGS: &str = "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: shop}\ndata: {mode: strict}\n";

#[tokio::test]
async fn conflict_without_force_names_the_other_manager_and_field() {
    let (_fake, kube, _dir) = setup(Options::default()).await;
    kube.apply("mesh", &objects(SETTINGS), &opts())
        .await
        .expect("apply");
    // Someone else takes over data.mode.
    let cms: Api<ConfigMap> = Api::namespaced(kube.client().clone(), "shop");
    let theirs = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"}, "data": {"mode": "loose"}});
    cms.patch(
        "settings",
        &PatchParams::apply("helm").force(),
        &Patch::Apply(&theirs),
    )
    .await
    .expect("the other manager forces its value");

    let err = kube
        .apply("mesh", &objects(SETTINGS), &opts())
        .await
        .expect_err("a conflict");
    assert_eq!(err.status_code(), Some(409));
    let text = err.to_string();
    assert!(text.contains("ConfigMap shop/settings"), "{text}");
    assert!(
        text.contains("helm") && text.contains(".data.mode"),
        "{text}"
    );
    let help = miette::Diagnostic::help(&err)
        .map(|h| h.to_string())
        .unwrap_or_default();
    assert!(help.contains("force"), "{help}");
    assert!(!text.contains("Status {"), "no Debug text: {text}");

    let forced = kube
        .apply(
            "mesh",
            &objects(SETTINGS),
            &ApplyOptions {
                force: true,
                ..opts()
            },
        )
        .await
        .expect("force takes the field over");
    assert_eq!(forced.count(Op::Change), 1, "{forced}");
    let cm = cms.get("settings").await.expect("get");
    assert_eq!(
        cm.data.unwrap_or_default().get("mode").map(String::as_str),
        Some("strict")
    );
}

#[tokio::test]
async fn prune_removes_only_labelled_objects_dropped_from_the_render() {
    let (fake, kube, _dir) = setup(Options::default()).await;
    let two = format!(
        "{SETTINGS}---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: old, namespace: shop}}\ndata: {{x: y}}\n"
    );
    kube.apply("mesh", &objects(&two), &opts())
        .await
        .expect("apply");
    // Not meshctl's: no labels; and another component's object.
    let cms: Api<ConfigMap> = Api::namespaced(kube.client().clone(), "shop");
    let foreign = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "foreign"}, "data": {"x": "y"}});
    cms.patch(
        "foreign",
        &PatchParams::apply("someone"),
        &Patch::Apply(&foreign),
    )
    .await
    .expect("create an unlabelled config map");
    let other =
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: other, namespace: shop}\ndata: {x: y}\n";
    kube.apply("telemetry", &objects(other), &opts())
        .await
        .expect("another component");

    let render = objects(SETTINGS);
    let pruned = kube.prune("mesh", &render, GUARD).await.expect("prune");
    let names: Vec<String> = pruned
        .objects
        .iter()
        .map(|o| o.object.to_string())
        .collect();
    assert_eq!(names, ["ConfigMap shop/old"]);
    assert!(fake.object("", "configmaps", "shop", "old").is_none());
    for kept in ["settings", "foreign", "other"] {
        assert!(
            fake.object("", "configmaps", "shop", kept).is_some(),
            "{kept} kept"
        );
    }
    assert!(fake.object("", "namespaces", "", "shop").is_some());
}

#[tokio::test]
async fn delete_by_label_waits_until_a_finalizer_is_removed() {
    let (fake, kube, _dir) = setup(Options::default()).await;
    let held = format!(
        "{SETTINGS}---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: held, namespace: shop, finalizers: [example.com/hold]}}\ndata: {{x: y}}\n"
    );
    kube.apply("mesh", &objects(&held), &opts())
        .await
        .expect("apply");
    // Play the controller: once the delete is seen, drop the finalizer.
    let cms: Api<ConfigMap> = Api::namespaced(kube.client().clone(), "shop");
    let held_now = fake.probe("", "configmaps", "shop", "held");
    let remover = tokio::spawn(async move {
        while held_now().is_none_or(|o| o["metadata"]["deletionTimestamp"].is_null()) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let patch = json!({"metadata": {"finalizers": null}});
        cms.patch("held", &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .expect("remove the finalizer");
    });
    let selector = component_selector(STACK, "mesh");
    let deleted = tokio::time::timeout(
        GUARD,
        kube.delete_by_label(&selector, Propagation::Foreground, GUARD),
    )
    .await
    .expect("hang guard")
    .expect("delete by label");
    remover.await.expect("the finalizer remover ran");
    let names: Vec<String> = deleted.iter().map(ObjectRef::to_string).collect();
    assert!(
        names.contains(&"ConfigMap shop/held".to_string()),
        "{names:?}"
    );
    assert!(names.contains(&"Namespace shop".to_string()), "{names:?}");
    assert!(fake.object("", "configmaps", "shop", "held").is_none());
    assert!(fake.object("", "namespaces", "", "shop").is_none());
    assert!(
        fake.requests()
            .iter()
            .any(|r| r.method == "DELETE" && r.propagation.as_deref() == Some("Foreground")),
        "deletes carry the propagation policy"
    );
}

#[tokio::test]
async fn wait_on_an_unready_deployment_times_out_saying_what_and_why() {
    let (_fake, kube, _dir) = setup(Options::default()).await;
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = lines.clone();
    let kube = kube.with_progress(Arc::new(move |l: &str| {
        sink.lock().unwrap().push(l.to_string())
    }));
    let web = MANIFEST.replace("replicas: 2", "replicas: 3");
    let objs: Vec<_> = objects(&web)
        .into_iter()
        .filter(|o| matches!(ObjectRef::of(o).kind.as_str(), "Namespace" | "Deployment"))
        .collect();
    kube.apply("mesh", &objs, &opts()).await.expect("apply");
    let deployments: Api<kube::api::DynamicObject> = Api::namespaced_with(
        kube.client().clone(),
        "shop",
        &kube::api::ApiResource::erase::<k8s_openapi::api::apps::v1::Deployment>(&()),
    );
    let status = |available: i64, cond: &str, reason: &str| {
        json!({"status": {
            "observedGeneration": 1, "replicas": 3, "updatedReplicas": 3, "availableReplicas": available,
            "conditions": [{"type": "Available", "status": cond, "reason": reason}]}})
    };
    deployments
        .patch_status(
            "web",
            &PatchParams::default(),
            &Patch::Merge(&status(1, "False", "MinimumReplicasUnavailable")),
        )
        .await
        .expect("the test plays the controller");
    let target = ObjectRef {
        api_version: "apps/v1".into(),
        kind: "Deployment".into(),
        namespace: Some("shop".into()),
        name: "web".into(),
    };
    let err = tokio::time::timeout(
        GUARD,
        kube.wait_for(&target, Condition::Ready, Duration::from_millis(300)),
    )
    .await
    .expect("hang guard")
    .expect_err("never ready");
    assert!(matches!(err, KubeError::Timeout { .. }), "{err}");
    let text = err.to_string();
    assert!(text.contains("Deployment shop/web to be ready"), "{text}");
    assert!(text.contains("1/3 replicas available"), "{text}");
    assert!(
        text.contains("condition Available=False reason MinimumReplicasUnavailable"),
        "{text}"
    );
    assert!(
        lines
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.contains("1/3 replicas available")),
        "progress says why"
    );

    // PUT on the status subresource replaces the status as a controller does.
    let mut ready = status(3, "True", "MinimumReplicasAvailable");
    ready["apiVersion"] = json!("apps/v1");
    ready["kind"] = json!("Deployment");
    ready["metadata"] = json!({"name": "web", "namespace": "shop"});
    deployments
        .replace_status(
            "web",
            &kube::api::PostParams::default(),
            &serde_json::from_value(ready).expect("a deployment document"),
        )
        .await
        .expect("now available");
    kube.wait_for(&target, Condition::Ready, GUARD)
        .await
        .expect("ready now");
}

fn eks_fake_options() -> Options {
    Options {
        auth: kube_fake::Auth {
            eks: Some(EksAuth {
                cluster: "prod-mesh".into(),
                region: "us-east-1".into(),
                keys: HashMap::from([("testing".to_string(), "testing".to_string())]),
            }),
            ..Default::default()
        },
        ..Options::default()
    }
}

fn creds() -> Credentials {
    Credentials::new("testing", "testing", None, None, "test")
}

#[tokio::test]
async fn token_minted_for_another_cluster_gets_401_and_a_clear_error() {
    let fake = KubeFake::start(eks_fake_options()).await;
    let wrong = Arc::new(EksTokenSource::new(creds(), "us-east-1", "staging-mesh"));
    let kube = Kube::from_eks(STACK, &fake.url, None, wrong).expect("client");
    let err = kube
        .server_version()
        .await
        .expect_err("another cluster's token");
    assert_eq!(err.status_code(), Some(401));
    let help = miette::Diagnostic::help(&err)
        .map(|h| h.to_string())
        .unwrap_or_default();
    assert!(help.contains("minted for this cluster"), "{help}");
    let why = fake
        .requests()
        .last()
        .and_then(|r| r.auth_error.clone())
        .unwrap_or_default();
    assert!(why.contains("signature does not match"), "{why}");

    let right = Arc::new(EksTokenSource::new(creds(), "us-east-1", "prod-mesh"));
    let kube = Kube::from_eks(STACK, &fake.url, None, right).expect("client");
    assert_eq!(
        kube.server_version().await.expect("accepted"),
        "v1.34.2-eks-fake"
    );
}

#[tokio::test]
async fn an_expired_token_is_replaced_by_a_fresh_one() {
    let fake = KubeFake::start(eks_fake_options()).await;
    let offset = Arc::new(AtomicI64::new(-20 * 60));
    let clock_offset = offset.clone();
    let clock = Arc::new(move || {
        let secs = clock_offset.load(Ordering::SeqCst);
        let now = SystemTime::now();
        if secs < 0 {
            now - Duration::from_secs(secs.unsigned_abs())
        } else {
            now + Duration::from_secs(secs.unsigned_abs())
        }
    });
    let tokens = Arc::new(EksTokenSource::with_clock(
        creds(),
        "us-east-1",
        "prod-mesh",
        clock,
    ));
    let kube = Kube::from_eks(STACK, &fake.url, None, tokens).expect("client");
    // Signed 20 minutes ago: the API server no longer accepts it.
    let err = kube.server_version().await.expect_err("an expired token");
    assert_eq!(err.status_code(), Some(401));
    let why = fake
        .requests()
        .last()
        .and_then(|r| r.auth_error.clone())
        .unwrap_or_default();
    assert!(why.contains("expired"), "{why}");
    // Time moves on past the token's refresh time: the next request carries a new token.
    offset.store(0, Ordering::SeqCst);
    assert_eq!(
        kube.server_version().await.expect("refreshed"),
        "v1.34.2-eks-fake"
    );
}

#[test]
fn eks_auth_accepts_a_minted_token_and_rejects_other_clusters_and_old_ones() {
    let auth = EksAuth {
        cluster: "prod-mesh".into(),
        region: "eu-west-1".into(),
        keys: HashMap::from([("testing".to_string(), "testing".to_string())]),
    };
    let now = SystemTime::now();
    let mint = |cluster: &str, at: SystemTime| {
        meshctl::aws::eks_token::mint(&creds(), "eu-west-1", cluster, at)
            .expect("mint")
            .secret()
            .to_string()
    };
    assert_eq!(
        auth.verify(&mint("prod-mesh", now), now).as_deref(),
        Ok("testing")
    );
    assert!(
        auth.verify(&mint("other", now), now)
            .unwrap_err()
            .contains("signature")
    );
    let ahead = now + Duration::from_secs(10 * 60);
    assert!(
        auth.verify(&mint("prod-mesh", ahead), now)
            .unwrap_err()
            .contains("future")
    );
    let old = now - Duration::from_secs(16 * 60);
    assert!(
        auth.verify(&mint("prod-mesh", old), now)
            .unwrap_err()
            .contains("expired")
    );
    let wrong_key = EksAuth {
        keys: HashMap::from([("testing".to_string(), "another".to_string())]),
        ..auth.clone()
    };
    assert!(wrong_key.verify(&mint("prod-mesh", now), now).is_err());
}

#[tokio::test]
async fn api_errors_say_who_what_and_how_to_fix() {
    let mut options = Options::default();
    options.auth.tokens.insert("viewer".into(), "viewer".into());
    options.auth.read_only.insert("viewer".into());
    let (_fake, kube, _dir) = setup(options).await;
    // 404: a kind nobody defined.
    let widget =
        "apiVersion: example.meshctl.io/v1\nkind: Widget\nmetadata: {name: w1, namespace: shop}\n";
    let err = kube
        .apply("mesh", &objects(widget), &opts())
        .await
        .expect_err("unknown kind");
    assert!(matches!(err, KubeError::UnknownKind { .. }), "{err}");
    // 404: the namespace does not exist.
    let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: nowhere}\n";
    let err = kube
        .apply("mesh", &objects(cm), &opts())
        .await
        .expect_err("no namespace");
    assert_eq!(err.status_code(), Some(404), "{err}");
    assert!(
        err.to_string().contains("namespaces \"nowhere\" not found"),
        "{err}"
    );
    // 422: an invalid name.
    let bad = "apiVersion: v1\nkind: Namespace\nmetadata: {name: Not_Valid}\n";
    let err = kube
        .apply("mesh", &objects(bad), &opts())
        .await
        .expect_err("invalid");
    assert_eq!(err.status_code(), Some(422), "{err}");
    // A manifest without kind names its document.
    let err = manifest::parse("m.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\napiVersion: v1\nmetadata: {name: b}\n")
        .expect_err("no kind");
    assert!(err.to_string().contains("m.yaml`, document 2"), "{err}");
}

#[tokio::test]
async fn a_read_only_identity_gets_403_with_rbac_help() {
    let mut options = Options::default();
    options.auth.tokens.insert("viewer".into(), "viewer".into());
    options.auth.read_only.insert("viewer".into());
    let fake = KubeFake::start(options).await;
    let mut config = kube::Config::new(fake.url.parse().expect("url"));
    config.auth_info.token = Some("viewer".to_string().into());
    let client = kube::Client::try_from(config).expect("client");
    let kube = Kube::new(client, STACK, fake.url.clone());
    let err = kube
        .apply("mesh", &objects(SETTINGS), &opts())
        .await
        .expect_err("forbidden");
    assert_eq!(err.status_code(), Some(403), "{err}");
    let help = miette::Diagnostic::help(&err)
        .map(|h| h.to_string())
        .unwrap_or_default();
    assert!(help.contains("RBAC"), "{help}");
}

#[tokio::test]
async fn fake_lists_by_every_selector_operator_and_keeps_resource_version_on_a_no_op_apply() {
    let (_fake, kube, _dir) = setup(Options::default()).await;
    kube.apply("mesh", &objects(SETTINGS), &opts())
        .await
        .expect("namespace");
    let cms: Api<ConfigMap> = Api::namespaced(kube.client().clone(), "shop");
    for (name, tier) in [("a", Some("web")), ("b", Some("db")), ("c", None)] {
        let labels = match tier {
            Some(t) => json!({"tier": t}),
            None => json!({}),
        };
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": labels}});
        cms.patch(name, &PatchParams::apply("t"), &Patch::Apply(&cm))
            .await
            .expect("create");
    }
    let names = |selector: &'static str| {
        let cms = cms.clone();
        async move {
            let list = cms
                .list(&kube::api::ListParams::default().labels(selector))
                .await
                .expect("list");
            let mut n: Vec<String> = list
                .items
                .into_iter()
                .filter_map(|c| c.metadata.name)
                .filter(|n| n.len() == 1)
                .collect();
            n.sort();
            n
        }
    };
    assert_eq!(names("tier=web").await, ["a"]);
    assert_eq!(names("tier==db").await, ["b"]);
    assert_eq!(names("tier!=web").await, ["b", "c"]);
    assert_eq!(names("tier in (web,db)").await, ["a", "b"]);
    assert_eq!(names("tier notin (web)").await, ["b", "c"]);
    assert_eq!(names("tier").await, ["a", "b"]);
    assert_eq!(names("!tier").await, ["c"]);

    let before = cms.get("a").await.expect("get").metadata.resource_version;
    let same = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "labels": {"tier": "web"}}});
    let after = cms
        .patch("a", &PatchParams::apply("t"), &Patch::Apply(&same))
        .await
        .expect("re-apply");
    assert_eq!(after.metadata.resource_version, before);
}

#[tokio::test]
async fn a_terminating_namespace_refuses_new_objects_until_it_is_gone() {
    let (fake, kube, _dir) = setup(Options::default()).await;
    let held = format!(
        "{SETTINGS}---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: held, namespace: shop, finalizers: [example.com/hold]}}\n"
    );
    kube.apply("mesh", &objects(&held), &opts())
        .await
        .expect("apply");
    let namespaces: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(kube.client().clone());
    namespaces
        .delete("shop", &kube::api::DeleteParams::background())
        .await
        .expect("delete the namespace");
    let ns = fake
        .object("", "namespaces", "", "shop")
        .expect("kept while not empty");
    assert_eq!(ns["status"]["phase"], "Terminating");
    assert!(fake.object("", "configmaps", "shop", "settings").is_none());
    let late = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: late, namespace: shop}\n";
    let err = kube
        .apply("mesh", &objects(late), &opts())
        .await
        .expect_err("terminating");
    assert_eq!(err.status_code(), Some(403), "{err}");
    assert!(err.to_string().contains("being terminated"), "{err}");

    let cms: Api<ConfigMap> = Api::namespaced(kube.client().clone(), "shop");
    cms.patch(
        "held",
        &PatchParams::default(),
        &Patch::Merge(&json!({"metadata": {"finalizers": null}})),
    )
    .await
    .expect("remove the finalizer");
    assert!(fake.object("", "configmaps", "shop", "held").is_none());
    assert!(fake.object("", "namespaces", "", "shop").is_none());
}

#[tokio::test]
async fn connection_problems_name_the_file_or_endpoint_and_how_to_fix() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let missing = dir.path().join("no-such-kubeconfig");
    let err = Kube::from_kubeconfig(STACK, Some(&missing), None)
        .await
        .err()
        .expect("no kubeconfig");
    assert!(matches!(err, KubeError::Kubeconfig { .. }), "{err}");
    assert!(err.to_string().contains("no-such-kubeconfig"), "{err}");

    // Nothing listens on port 9: a transport error, with no Debug text.
    let tokens = Arc::new(EksTokenSource::new(creds(), "us-east-1", "prod-mesh"));
    let kube = Kube::from_eks(STACK, "http://127.0.0.1:9", None, tokens).expect("client");
    let err = kube.server_version().await.expect_err("unreachable");
    assert!(matches!(err, KubeError::Transport { .. }), "{err}");
    let help = miette::Diagnostic::help(&err)
        .map(|h| h.to_string())
        .unwrap_or_default();
    assert!(help.contains("reachable"), "{help}");

    let err = Kube::from_eks(
        STACK,
        "https://x",
        Some("bm90IHBlbQ=="),
        Arc::new(EksTokenSource::new(creds(), "us-east-1", "c")),
    )
    .err()
    .expect("a CA bundle that is not PEM");
    assert!(err.to_string().contains("CA bundle"), "{err}");
}

#[tokio::test]
async fn plan_of_an_object_whose_namespace_an_earlier_step_creates_is_a_create_with_a_note() {
    let (fake, kube, _dir) = setup(Options::default()).await;
    let proxy = objects(
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: proxy\n  namespace: made-by-another-step\nspec:\n  ports:\n  - port: 8080\n",
    );
    let plan = kube
        .plan("proxy", &proxy, &opts())
        .await
        .expect("a plan, not a 404, while the namespace does not exist yet");
    assert_eq!(plan.objects.len(), 1);
    assert_eq!(plan.objects[0].op, Op::Create);
    assert!(
        plan.objects[0]
            .note
            .as_deref()
            .is_some_and(|n| n.contains("namespace does not exist yet")),
        "{plan}"
    );
    assert!(fake.mutating_calls().is_empty(), "a plan writes nothing");
    // Applying it while the namespace is still missing fails as the API server says.
    let err = kube
        .apply("proxy", &proxy, &opts())
        .await
        .expect_err("no namespace, no apply");
    assert_eq!(err.status_code(), Some(404), "{err}");
}
