//! The Bookinfo sample (`istio.sample: bookinfo`): meshctl's own manifests for the six
//! Bookinfo workloads, their services and service accounts in namespace `bookinfo` (which joins
//! the mesh), the ingress Gateway and VirtualService, and one DestinationRule subset per version.
//!
//! The `istio` step calls these functions once the control plane and the ingress gateway are
//! ready. They go through the Kubernetes adapter like every other manifest set: component
//! [`COMPONENT`], server-side apply, prune and delete by label. See docs/sample.md.

use std::time::Duration;

use ::kube::api::DynamicObject;
use serde::Serialize;

use crate::engine::{Action, Op, Resource, StepCtx, StepId};
use crate::error::Error;
use crate::kube::{ApplyOptions, Changes, Condition, Kube, ObjectRef, Propagation, manifest};

/// The namespace Bookinfo runs in.
pub const NAMESPACE: &str = "bookinfo";
/// The component label value of every Bookinfo object.
pub const COMPONENT: &str = "sample-bookinfo";
/// The ledger kind of a manifest set applied to the cluster (deleted by its labels); the same
/// kind the `istio` step records its charts under, so its `undo` removes Bookinfo too.
pub const LEDGER_KIND: &str = "k8s-component";
/// Where the `gateway` chart's ingress gateway Service lives (release `istio-ingressgateway`).
pub const GATEWAY_NAMESPACE: &str = "istio-ingress";
pub const GATEWAY_SERVICE: &str = "istio-ingressgateway";
/// The `istio` label the gateway chart gives the pods of release `istio-ingressgateway`.
pub const GATEWAY_SELECTOR: &str = "ingressgateway";
const TEMPLATE: &str = "sample/bookinfo.yaml.j2";
/// Bookinfo's images (the Istio project's published sample images).
const REGISTRY: &str = "docker.io/istio";
const TAG: &str = "1.20.3";
const PORT: u16 = 9080;

#[derive(Serialize)]
struct Workload {
    name: &'static str,
    versions: &'static [&'static str],
    /// Needs a writable /tmp (and, for reviews, the application server's output directory).
    writable: bool,
}

const WORKLOADS: &[Workload] = &[
    Workload {
        name: "details",
        versions: &["v1"],
        writable: false,
    },
    Workload {
        name: "ratings",
        versions: &["v1"],
        writable: false,
    },
    Workload {
        name: "reviews",
        versions: &["v1", "v2", "v3"],
        writable: true,
    },
    Workload {
        name: "productpage",
        versions: &["v1"],
        writable: true,
    },
];

/// Whether the mesh runs in ambient mode (`istio.mode`): namespaces then join with
/// `istio.io/dataplane-mode=ambient` instead of the injection label.
async fn ambient(ctx: &StepCtx) -> bool {
    ctx.config.istio.mode == crate::config::IstioMode::Ambient
}

/// The Bookinfo manifests.
pub fn render(ambient: bool) -> Result<String, Error> {
    crate::templates::render(
        TEMPLATE,
        serde_json::json!({
            "namespace": NAMESPACE,
            "ambient": ambient,
            "services": WORKLOADS,
            "registry": REGISTRY,
            "tag": TAG,
            "port": PORT,
            "gateway_selector": GATEWAY_SELECTOR,
        }),
    )
}

/// The Bookinfo objects, parsed.
pub fn objects(ambient: bool) -> Result<Vec<DynamicObject>, Error> {
    Ok(manifest::parse(TEMPLATE, &render(ambient)?)?)
}

/// Whether the config asks for Bookinfo.
pub fn wanted(ctx: &StepCtx) -> bool {
    ctx.config.istio.sample.as_deref() == Some("bookinfo")
}

fn options(ctx: &StepCtx) -> ApplyOptions {
    ApplyOptions {
        force: false,
        timeout: ctx.options.timeout,
    }
}

/// Kubernetes object changes as plan actions: `+ deployment bookinfo/reviews-v1`.
pub fn actions(changes: &Changes) -> Vec<Action> {
    changes
        .objects
        .iter()
        .map(|o| {
            let op = match o.op {
                crate::kube::Op::Create => Op::Create,
                crate::kube::Op::Change => Op::Update,
                crate::kube::Op::Unchanged => Op::Keep,
                crate::kube::Op::Delete => Op::Delete,
            };
            let mut a = Action::new(op, o.object.kind.to_lowercase(), object_name(&o.object));
            if !o.fields.is_empty() {
                a.push_detail(format!("changes {}", o.fields.join(", ")));
            }
            if let Some(note) = &o.note {
                a.push_detail(note.clone());
            }
            a
        })
        .collect()
}

fn object_name(r: &ObjectRef) -> String {
    match &r.namespace {
        Some(ns) => format!("{ns}/{}", r.name),
        None => r.name.clone(),
    }
}

/// What [`apply`] would do: per object create / change (with fields) / unchanged, and what a
/// sample no longer configured would lose. Offline (`--dry-run` without credentials) the
/// render is listed as created.
pub async fn plan(ctx: &StepCtx, kube: &Kube) -> Result<Vec<Action>, Error> {
    if !wanted(ctx) {
        return destroy_plan(kube).await;
    }
    let ambient = ambient(ctx).await;
    let objects = objects(ambient)?;
    match kube.plan(COMPONENT, &objects, &options(ctx)).await {
        Ok(changes) => Ok(actions(&changes)),
        // Before the istio base chart is applied the cluster does not serve Gateway,
        // VirtualService and DestinationRule yet: everything is created after it.
        Err(crate::kube::KubeError::UnknownKind { .. }) => Ok(plan_offline(ambient)?
            .into_iter()
            .map(|a| a.detail("after the Istio CRDs are installed"))
            .collect()),
        Err(e) => Err(e.into()),
    }
}

/// The plan when the cluster cannot be asked: every object is created.
pub fn plan_offline(ambient: bool) -> Result<Vec<Action>, Error> {
    Ok(objects(ambient)?
        .iter()
        .map(|o| {
            let r = ObjectRef::of(o);
            Action::new(Op::Create, r.kind.to_lowercase(), object_name(&r))
        })
        .collect())
}

async fn destroy_plan(kube: &Kube) -> Result<Vec<Action>, Error> {
    let selector = manifest::component_selector(kube.stack(), COMPONENT);
    Ok(kube
        .list_by_label(&selector)
        .await?
        .iter()
        .map(|r| Action::new(Op::Delete, r.kind.to_lowercase(), object_name(r)))
        .collect())
}

/// Apply Bookinfo (or, when `istio.sample` no longer asks for it, remove it), prune objects the
/// render no longer holds, and wait for the six Deployments unless `--no-wait`.
/// Records the component in the ledger (under the `istio` step) before the first write.
pub async fn apply(ctx: &StepCtx, kube: &Kube) -> Result<Vec<Action>, Error> {
    if !wanted(ctx) {
        return destroy(ctx, kube).await;
    }
    let objects = objects(ambient(ctx).await)?;
    let planned = kube.plan(COMPONENT, &objects, &options(ctx)).await?;
    if planned.count(crate::kube::Op::Create) > 0 {
        ctx.ledger
            .record(Resource::new(StepId::Istio, LEDGER_KIND, COMPONENT).with(
                "selector",
                manifest::component_selector(kube.stack(), COMPONENT),
            ))
            .await?;
    }
    ctx.progress.message("applying the Bookinfo sample");
    let applied = kube.apply(COMPONENT, &objects, &options(ctx)).await?;
    let pruned = kube.prune(COMPONENT, &objects, ctx.options.timeout).await?;
    let mut out = actions(&applied);
    out.extend(actions(&pruned));
    if !ctx.options.no_wait {
        for o in &objects {
            let r = ObjectRef::of(o);
            if r.kind == "Deployment" {
                kube.wait_for(&r, Condition::Ready, ctx.options.timeout)
                    .await?;
            }
        }
    }
    Ok(out)
}

/// Delete every Bookinfo object of this stack (found by label) and wait until it is gone.
pub async fn destroy(ctx: &StepCtx, kube: &Kube) -> Result<Vec<Action>, Error> {
    delete(kube, ctx.options.timeout).await
}

/// Delete the component by its labels (also what rollback does).
pub async fn delete(kube: &Kube, timeout: Duration) -> Result<Vec<Action>, Error> {
    let selector = manifest::component_selector(kube.stack(), COMPONENT);
    Ok(kube
        .delete_by_label(&selector, Propagation::Background, timeout)
        .await?
        .iter()
        .map(|r| Action::new(Op::Delete, r.kind.to_lowercase(), object_name(r)))
        .collect())
}

/// `http://<ingress load balancer>/productpage`, once the ingress gateway Service has a load
/// balancer hostname (or address); `None` before.
pub async fn product_page_url(kube: &Kube) -> Result<Option<String>, Error> {
    let svc = ObjectRef {
        api_version: "v1".into(),
        kind: "Service".into(),
        namespace: Some(GATEWAY_NAMESPACE.into()),
        name: GATEWAY_SERVICE.into(),
    };
    let Some(obj) = kube.get(&svc).await? else {
        return Ok(None);
    };
    Ok(load_balancer_host(&obj.data).map(|h| format!("http://{h}/productpage")))
}

/// The first load balancer ingress of a Service's status: its hostname, else its IP.
pub fn load_balancer_host(data: &serde_json::Value) -> Option<String> {
    let first = data["status"]["loadBalancer"]["ingress"].get(0)?;
    ["hostname", "ip"]
        .iter()
        .find_map(|k| first[*k].as_str().filter(|s| !s.is_empty()))
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(ambient: bool) -> Vec<String> {
        objects(ambient)
            .unwrap()
            .iter()
            .map(|o| ObjectRef::of(o).to_string())
            .collect()
    }

    #[test]
    fn six_workloads_four_services_and_routing() {
        let all = kinds(false);
        for d in [
            "productpage-v1",
            "details-v1",
            "ratings-v1",
            "reviews-v1",
            "reviews-v2",
            "reviews-v3",
        ] {
            assert!(all.contains(&format!("Deployment bookinfo/{d}")), "{all:?}");
        }
        assert_eq!(
            all.iter().filter(|k| k.starts_with("Deployment ")).count(),
            6
        );
        assert_eq!(all.iter().filter(|k| k.starts_with("Service ")).count(), 4);
        assert_eq!(
            all.iter()
                .filter(|k| k.starts_with("ServiceAccount "))
                .count(),
            4
        );
        assert_eq!(
            all.iter()
                .filter(|k| k.starts_with("DestinationRule "))
                .count(),
            4
        );
        assert!(all.contains(&"Gateway bookinfo/bookinfo-gateway".to_string()));
        assert!(all.contains(&"VirtualService bookinfo/bookinfo".to_string()));
    }

    #[test]
    fn reviews_has_a_subset_per_version() {
        let objs = objects(false).unwrap();
        let dr = objs
            .iter()
            .find(|o| ObjectRef::of(o).to_string() == "DestinationRule bookinfo/reviews")
            .unwrap();
        let subsets: Vec<&str> = dr.data["spec"]["subsets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["labels"]["version"].as_str().unwrap())
            .collect();
        assert_eq!(subsets, ["v1", "v2", "v3"]);
    }

    #[test]
    fn namespace_joins_the_mesh_by_mode() {
        let ns = |ambient| {
            objects(ambient)
                .unwrap()
                .into_iter()
                .find(|o| ObjectRef::of(o).kind == "Namespace")
                .unwrap()
                .metadata
                .labels
                .unwrap()
        };
        assert_eq!(ns(false)["istio-injection"], "enabled");
        assert!(!ns(false).contains_key("istio.io/dataplane-mode"));
        assert_eq!(ns(true)["istio.io/dataplane-mode"], "ambient");
        assert!(!ns(true).contains_key("istio-injection"));
    }

    #[test]
    fn load_balancer_host_prefers_hostname_then_ip() {
        let v = serde_json::json!({"status": {"loadBalancer": {"ingress": [{"hostname": "a.elb.amazonaws.com"}]}}});
        assert_eq!(
            load_balancer_host(&v).as_deref(),
            Some("a.elb.amazonaws.com")
        );
        let v = serde_json::json!({"status": {"loadBalancer": {"ingress": [{"ip": "10.0.0.9"}]}}});
        assert_eq!(load_balancer_host(&v).as_deref(), Some("10.0.0.9"));
        let v = serde_json::json!({"status": {"loadBalancer": {}}});
        assert_eq!(load_balancer_host(&v), None);
    }
}
