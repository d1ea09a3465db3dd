//! `meshctl traffic` through the binary against a local hyper server on 127.0.0.1 that answers
//! every fifth request with 500 and delays every third: counts, error statuses, percentile
//! shape and the JSON document. No timing assertion.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use http_body_util::Full;
use hyper::body::Bytes;

use crate::support::offline_meshctl;

/// A product page that fails every fifth request and is slow on every third.
struct Page {
    url: String,
    served: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Page {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn page() -> Page {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the test page");
    let url = format!(
        "http://{}/productpage",
        listener.local_addr().expect("local address")
    );
    let served = Arc::new(AtomicU64::new(0));
    let count = served.clone();
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let count = count.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |_req| {
                    let n = count.fetch_add(1, Ordering::SeqCst) + 1;
                    async move {
                        if n.is_multiple_of(3) {
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                        let status = if n.is_multiple_of(5) { 500 } else { 200 };
                        Ok::<_, Infallible>(
                            hyper::Response::builder()
                                .status(status)
                                .body(Full::new(Bytes::from_static(b"<html>bookinfo</html>")))
                                .expect("a response"),
                        )
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Page { url, served, task }
}

async fn run(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    let mut cmd = offline_meshctl(dir);
    cmd.arg("traffic")
        .args(args)
        .timeout(Duration::from_secs(120));
    tokio::task::spawn_blocking(move || cmd.output().expect("meshctl runs"))
        .await
        .expect("the run finishes")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counts_every_request_and_errors_by_status_in_json() {
    let page = page().await;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let out = run(
        dir.path(),
        &[
            "--url",
            &page.url,
            "--requests",
            "50",
            "--concurrency",
            "3",
            "--output",
            "json",
        ],
    )
    .await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("one JSON document on stdout ({e}): {stderr}"));
    assert_eq!(doc["kind"], "traffic");
    assert_eq!(doc["url"], page.url.as_str());
    assert_eq!(doc["concurrency"], 3);
    assert_eq!(doc["requests"], 50);
    assert_eq!(
        page.served.load(Ordering::SeqCst),
        50,
        "the server saw every request"
    );
    assert_eq!(doc["succeeded"], 40);
    assert_eq!(doc["errors"], 10);
    assert_eq!(doc["errors_by_status"], serde_json::json!({"500": 10}));
    assert_eq!(doc["interrupted"], false);
    let l = &doc["latency_ms"];
    let f = |k: &str| {
        l[k].as_f64()
            .unwrap_or_else(|| panic!("latency_ms.{k} in {doc:#}"))
    };
    assert!(f("min") <= f("p50") && f("p50") <= f("p90"));
    assert!(f("p90") <= f("p99") && f("p99") <= f("max"), "{doc:#}");
    assert!(doc["throughput_rps"].as_f64().unwrap() > 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_output_summarises_throughput_latency_and_errors() {
    let page = page().await;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let out = run(
        dir.path(),
        &["--url", &page.url, "--requests", "10", "--concurrency", "2"],
    )
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains(&format!("traffic to {}", page.url)),
        "{stdout}"
    );
    assert!(stdout.contains("requests    10 in "), "{stdout}");
    assert!(stdout.contains("errors      2 (500: 2)"), "{stdout}");
    assert!(stdout.contains("p50 ") && stdout.contains("p90 ") && stdout.contains("p99 "));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duration_bounds_the_run_and_the_report_matches_the_server() {
    let page = page().await;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let out = run(
        dir.path(),
        &[
            "--url",
            &page.url,
            "--duration",
            "1s",
            "--concurrency",
            "2",
            "--output",
            "json",
        ],
    )
    .await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let n = doc["requests"].as_u64().expect("a count");
    assert!(n > 0);
    assert_eq!(page.served.load(Ordering::SeqCst), n);
    assert_eq!(
        doc["succeeded"].as_u64().unwrap() + doc["errors"].as_u64().unwrap(),
        n
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_urls_count_as_connect_errors() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let out = run(
        dir.path(),
        &[
            "--url",
            "http://127.0.0.1:9/productpage",
            "--requests",
            "3",
            "--output",
            "json",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(0));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(doc["errors_by_status"], serde_json::json!({"connect": 3}));
    assert!(doc["latency_ms"].is_null());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_bounds_exit_2_before_sending() {
    let page = page().await;
    let dir = tempfile::tempdir().expect("a temporary directory");
    for args in [
        vec!["--url", page.url.as_str(), "--requests", "0"],
        vec!["--url", page.url.as_str(), "--concurrency", "0"],
        vec!["--url", "ftp://127.0.0.1/x"],
    ] {
        let out = run(dir.path(), &args).await;
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
    assert_eq!(page.served.load(Ordering::SeqCst), 0);
}

// ---------------------------------------------------------------------------------------
// The Bookinfo sample (src/steps/sample.rs), through a test-only harness that calls it the way
// the `istio` step does, against the API server fake.
// ---------------------------------------------------------------------------------------

mod bookinfo {
    use std::sync::Arc;
    use std::time::Duration;

    use k8s_openapi::api::apps::v1::Deployment;
    use k8s_openapi::api::core::v1::Service;
    use kube::api::{Api, Patch, PatchParams};
    use meshctl::engine::{Ledger, Op, RunOptions, StackState, StepCtx, StepId};
    use meshctl::kube::{ApplyOptions, Kube, manifest};
    use meshctl::steps::sample;
    use serde_json::json;
    use tokio_util::sync::CancellationToken;

    use crate::support::kube_fake::{KubeFake, Options};

    const STACK: &str = "sample";

    /// The CRDs of the Istio kinds Bookinfo uses (the `istio` step's base chart installs them).
    const ISTIO_CRDS: &str = r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: gateways.networking.istio.io}
spec:
  group: networking.istio.io
  names: {kind: Gateway, plural: gateways, singular: gateway, listKind: GatewayList}
  scope: Namespaced
  versions: [{name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}}]
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: virtualservices.networking.istio.io}
spec:
  group: networking.istio.io
  names: {kind: VirtualService, plural: virtualservices, singular: virtualservice, listKind: VirtualServiceList}
  scope: Namespaced
  versions: [{name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}}]
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: destinationrules.networking.istio.io}
spec:
  group: networking.istio.io
  names: {kind: DestinationRule, plural: destinationrules, singular: destinationrule, listKind: DestinationRuleList}
  scope: Namespaced
  versions: [{name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}}]
"#;

    struct Harness {
        fake: KubeFake,
        kube: Kube,
        _dir: tempfile::TempDir,
        controller: tokio::task::JoinHandle<()>,
    }

    impl Drop for Harness {
        fn drop(&mut self) {
            self.controller.abort();
        }
    }

    async fn harness() -> Harness {
        let fake = KubeFake::start(Options::default()).await;
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = crate::kiali_fakes::kubeconfig(&fake, dir.path());
        let kube = Kube::from_kubeconfig(STACK, Some(&path), Some("fake"))
            .await
            .expect("connect")
            .with_poll_interval(Duration::from_millis(20));
        let crds = manifest::parse("istio-crds", ISTIO_CRDS).expect("CRDs");
        kube.apply("test-istio-crds", &crds, &ApplyOptions::default())
            .await
            .expect("apply the Istio CRDs");
        let api: Api<Deployment> = Api::namespaced(kube.client().clone(), sample::NAMESPACE);
        let controller = tokio::spawn(async move {
            loop {
                if let Ok(list) = api.list(&Default::default()).await {
                    for d in list.items {
                        let generation = d.metadata.generation.unwrap_or(1);
                        if d.status.as_ref().and_then(|s| s.observed_generation) == Some(generation)
                        {
                            continue;
                        }
                        let status = json!({"status": {"observedGeneration": generation, "replicas": 1,
                            "updatedReplicas": 1, "readyReplicas": 1, "availableReplicas": 1}});
                        let _ = api
                            .patch_status(
                                d.metadata.name.as_deref().unwrap_or_default(),
                                &PatchParams::default(),
                                &Patch::Merge(&status),
                            )
                            .await;
                    }
                }
                tokio::time::sleep(Duration::from_millis(30)).await;
            }
        });
        Harness {
            fake,
            kube,
            _dir: dir,
            controller,
        }
    }

    fn ctx(yaml: &str) -> StepCtx {
        StepCtx {
            config: Arc::new(
                serde_yaml_ng::from_str(&format!("name: {STACK}\n{yaml}")).expect("config"),
            ),
            aws: None,
            options: RunOptions {
                timeout: Duration::from_secs(30),
                ..RunOptions::default()
            },
            ledger: Ledger::scratch(STACK),
            state: StackState::in_memory(STACK),
            progress: meshctl::ui::StepProgress::silent("istio"),
            cancel: CancellationToken::new(),
        }
    }

    fn names(actions: &[meshctl::engine::Action], op: Op) -> Vec<String> {
        actions
            .iter()
            .filter(|a| a.op == op)
            .map(|a| format!("{} {}", a.kind, a.name))
            .collect()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn bookinfo_plans_applies_once_and_is_removed_by_label() {
        let h = harness().await;
        let ctx = ctx("istio:\n  sample: bookinfo\n");

        let plan = sample::plan(&ctx, &h.kube).await.expect("plan");
        let creates = names(&plan, Op::Create);
        assert_eq!(creates.len(), plan.len(), "{plan:?}");
        for want in [
            "namespace bookinfo",
            "deployment bookinfo/productpage-v1",
            "deployment bookinfo/reviews-v3",
            "gateway bookinfo/bookinfo-gateway",
            "virtualservice bookinfo/bookinfo",
            "destinationrule bookinfo/reviews",
        ] {
            assert!(
                creates.iter().any(|c| c == want),
                "{want} not in {creates:?}"
            );
        }
        assert!(
            h.fake
                .mutating_calls()
                .iter()
                .all(|c| !c.path.contains("bookinfo"))
        );

        let applied = sample::apply(&ctx, &h.kube).await.expect("apply");
        assert_eq!(names(&applied, Op::Create).len(), creates.len());
        let ns = h
            .fake
            .object("", "namespaces", "", "bookinfo")
            .expect("the namespace");
        assert_eq!(ns["metadata"]["labels"]["istio-injection"], "enabled");
        assert_eq!(
            ns["metadata"]["labels"]["meshctl.io/component"],
            sample::COMPONENT
        );
        for d in [
            "productpage-v1",
            "details-v1",
            "ratings-v1",
            "reviews-v1",
            "reviews-v2",
            "reviews-v3",
        ] {
            assert!(
                h.fake
                    .object("apps", "deployments", "bookinfo", d)
                    .is_some(),
                "{d}"
            );
        }
        let vs = h
            .fake
            .object(
                "networking.istio.io",
                "virtualservices",
                "bookinfo",
                "bookinfo",
            )
            .expect("the VirtualService");
        assert_eq!(vs["spec"]["gateways"], json!(["bookinfo-gateway"]));
        let recorded = ctx.ledger.resources().await;
        assert!(
            recorded.iter().any(|r| r.step == StepId::Istio
                && r.kind == sample::LEDGER_KIND
                && r.id == sample::COMPONENT),
            "{recorded:?}"
        );

        // Applying again writes nothing.
        h.fake.clear_log();
        let again = sample::apply(&ctx, &h.kube).await.expect("apply again");
        assert!(again.iter().all(|a| a.op == Op::Keep), "{again:?}");
        assert!(
            h.fake.mutating_calls().is_empty(),
            "{:?}",
            h.fake.mutating_calls()
        );

        // The URL appears once the ingress gateway Service has a load balancer hostname.
        assert_eq!(sample::product_page_url(&h.kube).await.expect("read"), None);
        let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": sample::GATEWAY_NAMESPACE}});
        Api::<k8s_openapi::api::core::v1::Namespace>::all(h.kube.client().clone())
            .patch(
                sample::GATEWAY_NAMESPACE,
                &PatchParams::apply("test"),
                &Patch::Apply(&ns),
            )
            .await
            .expect("gateway namespace");
        let services: Api<Service> =
            Api::namespaced(h.kube.client().clone(), sample::GATEWAY_NAMESPACE);
        let svc = json!({"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": sample::GATEWAY_SERVICE, "namespace": sample::GATEWAY_NAMESPACE},
            "spec": {"type": "LoadBalancer", "ports": [{"name": "http2", "port": 80}]}});
        services
            .patch(
                sample::GATEWAY_SERVICE,
                &PatchParams::apply("test"),
                &Patch::Apply(&svc),
            )
            .await
            .expect("gateway service");
        assert_eq!(sample::product_page_url(&h.kube).await.expect("read"), None);
        services
            .patch_status(
                sample::GATEWAY_SERVICE,
                &PatchParams::default(),
                &Patch::Merge(&json!({"status": {"loadBalancer": {"ingress": [{"hostname": "abc.elb.us-east-1.amazonaws.com"}]}}})),
            )
            .await
            .expect("gateway status");
        assert_eq!(
            sample::product_page_url(&h.kube)
                .await
                .expect("read")
                .as_deref(),
            Some("http://abc.elb.us-east-1.amazonaws.com/productpage")
        );

        // Without `istio.sample` the plan removes it; destroy deletes every labelled object.
        let off = super::bookinfo::ctx("");
        let plan = sample::plan(&off, &h.kube).await.expect("plan");
        assert!(
            plan.iter().all(|a| a.op == Op::Delete) && !plan.is_empty(),
            "{plan:?}"
        );
        let deleted = sample::destroy(&ctx, &h.kube).await.expect("destroy");
        assert_eq!(deleted.len(), creates.len());
        let left = h
            .kube
            .list_by_label(&manifest::component_selector(STACK, sample::COMPONENT))
            .await
            .expect("list");
        assert!(left.is_empty(), "{left:?}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn before_the_istio_crds_exist_the_plan_lists_creates() {
        let fake = KubeFake::start(Options::default()).await;
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = crate::kiali_fakes::kubeconfig(&fake, dir.path());
        let kube = Kube::from_kubeconfig(STACK, Some(&path), Some("fake"))
            .await
            .expect("connect");
        let plan = sample::plan(&ctx("istio:\n  sample: bookinfo\n"), &kube)
            .await
            .expect("a plan without the CRDs");
        assert_eq!(plan.len(), 21);
        assert!(plan.iter().all(|a| a.op == Op::Create), "{plan:?}");
        assert!(fake.mutating_calls().is_empty());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn ambient_mode_labels_the_namespace_for_ztunnel() {
        let h = harness().await;
        let ctx = ctx("istio:\n  mode: ambient\n  sample: bookinfo\n");
        sample::apply(&ctx, &h.kube).await.expect("apply");
        let ns = h
            .fake
            .object("", "namespaces", "", "bookinfo")
            .expect("the namespace");
        assert_eq!(
            ns["metadata"]["labels"]["istio.io/dataplane-mode"],
            "ambient"
        );
        assert!(ns["metadata"]["labels"].get("istio-injection").is_none());
    }
}
