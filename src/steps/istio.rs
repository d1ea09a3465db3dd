//! `istio`: the official Istio charts rendered by `helm template` (src/helm.rs) and applied
//! by the Kubernetes adapter (server-side apply, meshctl's labels, CRDs first, pruning by
//! label), then namespaces joined to the mesh and the mesh-wide mTLS / default-deny
//! policies. Each chart is one component; cleanup deletes components by label.
//! See docs/steps/istio.md.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use k8s_openapi::api::admissionregistration::v1::{
    MutatingWebhookConfiguration, ValidatingWebhookConfiguration,
};
use k8s_openapi::api::core::v1::{Namespace, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams};
use serde_json::{Value, json};

use crate::config::{Config, IstioMode, MANAGED_BY_LABEL, STACK_TAG};
use crate::engine::{
    Action, Op, Resource, Step, StepCtx, StepId, StepPlan, StepReport, StepStatus,
};
use crate::error::Error;
use crate::helm::{ChartSource, Helm, TemplateRequest};
use crate::kube::manifest::component_selector;
use crate::kube::{
    ApplyOptions, COMPONENT_LABEL, Capabilities, Changes, FIELD_MANAGER, Kube, KubeError,
    MANAGED_BY, ObjectRef, Propagation,
};

/// Where the ingress gateway runs (the Istio docs' namespace for it).
pub const GATEWAY_NAMESPACE: &str = "istio-ingress";
/// The ingress gateway's release (and Deployment/Service) name.
pub const GATEWAY_RELEASE: &str = "istio-ingressgateway";
/// Components that are not charts.
const NAMESPACES_COMPONENT: &str = "istio-namespaces";
const MESH_COMPONENT: &str = "istio-mesh";
/// Ledger kinds.
const COMPONENT_KIND: &str = "k8s-component";
const LABEL_KIND: &str = "namespace-label";
const INJECTION_LABEL: &str = "istio-injection";
const AMBIENT_LABEL: &str = "istio.io/dataplane-mode";
const POLL: Duration = Duration::from_secs(2);

/// Kubernetes minors each Istio minor supports, from Istio's supported-releases page
/// (istio.io docs/releases/supported-releases, "Support status of Istio releases"):
/// `(istio minor, lowest Kubernetes minor, highest Kubernetes minor)`.
pub const SUPPORTED_KUBERNETES: &[(u32, u32, u32)] = &[
    (24, 28, 31),
    (25, 29, 32),
    (26, 29, 33),
    (27, 29, 33),
    (28, 30, 34),
    (29, 31, 35),
    (30, 32, 36),
    (31, 32, 36),
];

pub struct IstioStep;

/// One chart of the install, in order.
#[derive(Debug, Clone)]
pub struct ChartSpec {
    /// The component label value (`istio-base`, `istiod`, …).
    pub component: &'static str,
    pub chart: &'static str,
    pub release: &'static str,
    pub namespace: String,
}

/// The charts `config` installs, in install order (destroy goes the other way).
pub fn charts(config: &Config) -> Vec<ChartSpec> {
    let i = &config.istio;
    let ns = i.namespace.clone();
    let spec = |component, chart, release, namespace: &str| ChartSpec {
        component,
        chart,
        release,
        namespace: namespace.to_string(),
    };
    let mut v = vec![spec("istio-base", "base", "istio-base", &ns)];
    match i.mode {
        IstioMode::Sidecar => {
            // The CNI node agent goes before istiod so injected pods never miss it.
            if i.cni {
                v.push(spec("istio-cni", "cni", "istio-cni", &ns));
            }
            v.push(spec("istiod", "istiod", "istiod", &ns));
        }
        IstioMode::Ambient => {
            v.push(spec("istiod", "istiod", "istiod", &ns));
            v.push(spec("istio-cni", "cni", "istio-cni", &ns));
            v.push(spec("ztunnel", "ztunnel", "ztunnel", &ns));
        }
    }
    if i.ingress_gateway {
        v.push(spec(
            "istio-gateway",
            "gateway",
            GATEWAY_RELEASE,
            GATEWAY_NAMESPACE,
        ));
    }
    v
}

/// Every component this step may have applied, in destroy order.
const DESTROY_ORDER: [&str; 7] = [
    MESH_COMPONENT,
    NAMESPACES_COMPONENT,
    "istio-gateway",
    "ztunnel",
    "istio-cni",
    "istiod",
    "istio-base",
];

/// meshctl's values for `chart`, rendered from templates/istio/<chart>.yaml.j2.
pub fn chart_values(config: &Config, chart: &ChartSpec) -> Result<Value, Error> {
    let i = &config.istio;
    let name = format!("istio/{}.yaml.j2", chart.chart);
    let text = crate::templates::render(
        &name,
        json!({
            "mode": i.mode.as_str(),
            "profile": i.profile.as_str(),
            "cni": i.cni,
            "namespace": i.namespace,
            "version": i.version,
            "release": chart.release,
        }),
    )?;
    let value: Value = serde_yaml_ng::from_str(&text).map_err(|e| Error::Template {
        name: name.clone(),
        message: format!("the rendered values are not YAML: {e}"),
    })?;
    Ok(if value.is_null() { json!({}) } else { value })
}

/// The charts a user's `istio.values` file may have a section for.
pub const VALUES_SECTIONS: [&str; 5] = ["base", "istiod", "gateway", "cni", "ztunnel"];

/// The user's `istio.values` file: one section per chart (`istiod:`, `gateway:`, …), each
/// given to that chart after meshctl's values. Unknown sections stop the run (exit 2).
pub fn user_values(config: &Config) -> Result<BTreeMap<String, Value>, Error> {
    let Some(path) = &config.istio.values else {
        return Ok(BTreeMap::new());
    };
    let shown = path.display();
    let help = "istio.values is a YAML file with one section per chart: base, istiod, gateway, cni, ztunnel (e.g. `istiod: {pilot: {replicaCount: 3}}`)";
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::usage(format!("cannot read istio.values file {shown}: {e}"), help))?;
    let doc: Value = serde_yaml_ng::from_str(&text)
        .map_err(|e| Error::usage(format!("istio.values file {shown} is not YAML: {e}"), help))?;
    let map = match doc {
        Value::Null => return Ok(BTreeMap::new()),
        Value::Object(m) => m,
        _ => {
            return Err(Error::usage(
                format!("istio.values file {shown} is not a mapping of chart sections"),
                help,
            ));
        }
    };
    let mut out = BTreeMap::new();
    let mut bad = vec![];
    for (k, v) in map {
        if !VALUES_SECTIONS.contains(&k.as_str()) {
            bad.push(format!("unknown section `{k}`"));
        } else if !(v.is_object() || v.is_null()) {
            bad.push(format!("section `{k}` is not a mapping"));
        } else if v.is_object() {
            out.insert(k, v);
        }
    }
    if !bad.is_empty() {
        return Err(Error::usage(
            format!("istio.values file {shown}: {}", bad.join("; ")),
            help,
        ));
    }
    Ok(out)
}

/// The label a namespace joins the mesh with, and the other mode's label.
fn join_label(mode: IstioMode) -> ((&'static str, &'static str), &'static str) {
    match mode {
        IstioMode::Sidecar => ((INJECTION_LABEL, "enabled"), AMBIENT_LABEL),
        IstioMode::Ambient => ((AMBIENT_LABEL, "ambient"), INJECTION_LABEL),
    }
}

/// Refuse a cluster whose Kubernetes minor the Istio release does not support (exit 2).
pub fn check_support(istio_version: &str, kube_minor: &str) -> Result<(), Error> {
    let minor_of = |v: &str| v.split('.').nth(1).and_then(|m| m.parse::<u32>().ok());
    let istio = minor_of(istio_version);
    let kube = minor_of(kube_minor);
    let Some(&(_, lo, hi)) = istio.and_then(|m| SUPPORTED_KUBERNETES.iter().find(|s| s.0 == m))
    else {
        return Err(Error::usage(
            format!("Istio {istio_version} is not in meshctl's support table"),
            "set istio.version to a release from 1.24.0 to 1.31.x",
        ));
    };
    match kube {
        Some(k) if (lo..=hi).contains(&k) => Ok(()),
        _ => {
            let list: Vec<String> = (lo..=hi).map(|m| format!("1.{m}")).collect();
            Err(Error::usage(
                format!(
                    "Istio {istio_version} does not support Kubernetes {kube_minor} (the cluster's version): it supports Kubernetes {}",
                    list.join(", ")
                ),
                "choose an istio.version that supports the cluster's Kubernetes version (see docs/steps/istio.md), or upgrade the cluster",
            ))
        }
    }
}

/// What one render of a chart gives.
struct Rendered {
    spec: ChartSpec,
    values: Value,
    objects: Vec<DynamicObject>,
}

fn op_of(op: crate::kube::Op) -> Op {
    match op {
        crate::kube::Op::Create => Op::Create,
        crate::kube::Op::Change => Op::Update,
        crate::kube::Op::Unchanged => Op::Keep,
        crate::kube::Op::Delete => Op::Delete,
    }
}

fn object_name(r: &ObjectRef) -> String {
    match &r.namespace {
        Some(ns) => format!("{ns}/{}", r.name),
        None => r.name.clone(),
    }
}

/// Plan/apply results as step actions, one per object.
fn actions_of(changes: &Changes) -> Vec<Action> {
    changes
        .objects
        .iter()
        .map(|o| {
            let mut a = Action::new(op_of(o.op), o.object.kind.clone(), object_name(&o.object))
                .detail(format!("component {}", changes.component));
            if !o.fields.is_empty() {
                a.push_detail(format!("fields: {}", o.fields.join(", ")));
            }
            if let Some(n) = &o.note {
                a.push_detail(n.clone());
            }
            a
        })
        .collect()
}

fn namespace_object(name: &str, labels: &[(&str, &str)]) -> Result<DynamicObject, Error> {
    let labels: serde_json::Map<String, Value> = labels
        .iter()
        .map(|(k, v)| (k.to_string(), Value::from(*v)))
        .collect();
    serde_json::from_value(json!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "labels": labels},
    }))
    .map_err(|e| Error::usage(e.to_string(), "report this as a bug"))
}

/// Whether a live object carries this stack's marks (for `component`, when given).
fn ours(labels: Option<&BTreeMap<String, String>>, stack: &str, component: Option<&str>) -> bool {
    let Some(l) = labels else { return false };
    l.get(MANAGED_BY_LABEL).map(String::as_str) == Some(MANAGED_BY)
        && l.get(STACK_TAG).map(String::as_str) == Some(stack)
        && component.is_none_or(|c| l.get(COMPONENT_LABEL).map(String::as_str) == Some(c))
}

/// Whether meshctl's field manager owns label `key` of `ns`.
fn meshctl_owns_label(ns: &Namespace, key: &str) -> bool {
    ns.metadata.managed_fields.iter().flatten().any(|m| {
        m.manager.as_deref() == Some(FIELD_MANAGER)
            && m.fields_v1.as_ref().is_some_and(|f| {
                f.0.get("f:metadata")
                    .and_then(|m| m.get("f:labels"))
                    .and_then(|l| l.get(format!("f:{key}")))
                    .is_some()
            })
    })
}

/// What happens to one namespace that joins the mesh.
#[derive(Debug, Clone, PartialEq)]
enum Join {
    /// Missing or created by meshctl earlier: part of the `istio-namespaces` component.
    Owned,
    /// Someone else's namespace: only its label is applied (or already is).
    Label { done: bool },
}

impl IstioStep {
    fn online(ctx: &StepCtx) -> bool {
        let k = &ctx.config.kubernetes;
        k.kubeconfig.is_some() || k.context.is_some() || ctx.aws.is_some()
    }

    async fn cluster_known(ctx: &StepCtx) -> bool {
        let k = &ctx.config.kubernetes;
        k.kubeconfig.is_some()
            || k.context.is_some()
            || ctx
                .state
                .output(StepId::Cluster, crate::kube::connect::outputs::ENDPOINT)
                .await
                .is_some()
    }

    fn source(config: &Config) -> Result<ChartSource, Error> {
        ChartSource::parse(&config.istio.charts).map_err(|m| {
            Error::config(
                format!("istio.charts: {m}"),
                "use an https chart repository, oci://… or a directory of packaged charts",
            )
        })
    }

    fn options(ctx: &StepCtx) -> ApplyOptions {
        ApplyOptions {
            force: false,
            timeout: ctx.options.timeout,
        }
    }

    /// Render every chart for this cluster.
    async fn render_all(
        ctx: &StepCtx,
        helm: &Helm,
        kube: &Kube,
        caps: &Capabilities,
    ) -> Result<Vec<Rendered>, Error> {
        let config = &ctx.config;
        let source = Self::source(config)?;
        let user = user_values(config)?;
        let mut out = vec![];
        for spec in charts(config) {
            let values = chart_values(config, &spec)?;
            let mut all_values = vec![values.clone()];
            if let Some(mine) = user.get(spec.chart) {
                all_values.push(mine.clone());
            }
            let req = TemplateRequest {
                release: spec.release.to_string(),
                namespace: spec.namespace.clone(),
                chart: spec.chart.to_string(),
                version: config.istio.version.clone(),
                source: source.clone(),
                values: all_values,
                values_files: vec![],
                kube_version: Some(caps.kube_version.clone()),
                api_versions: caps.api_versions.clone(),
                skip_tests: true,
            };
            let yaml = helm.template(&req).await?;
            let mut objects =
                crate::kube::manifest::parse(&format!("chart {}", spec.chart), &yaml)?;
            Self::keep_istiod_webhook_fields(kube, &mut objects).await?;
            // The charts create no namespace: meshctl does, unless it exists and is not ours.
            if spec.component == "istio-base" || spec.component == "istio-gateway" {
                let ns =
                    Self::namespace_if_ours(kube, &config.name, &spec.namespace, spec.component)
                        .await?;
                if let Some(obj) = ns {
                    objects.insert(0, obj);
                }
            }
            out.push(Rendered {
                spec,
                values,
                objects,
            });
        }
        Ok(out)
    }

    /// istiod writes each webhook's `caBundle` (and turns the validator's `failurePolicy` to
    /// `Fail` once it serves) after the chart is applied. Carry the live values into the
    /// render so a re-apply neither undoes them nor reports a change.
    async fn keep_istiod_webhook_fields(
        kube: &Kube,
        objects: &mut [DynamicObject],
    ) -> Result<(), Error> {
        for obj in objects.iter_mut() {
            let r = ObjectRef::of(obj);
            let validating = r.kind == "ValidatingWebhookConfiguration";
            if !(validating || r.kind == "MutatingWebhookConfiguration")
                || !r.api_version.starts_with("admissionregistration.k8s.io/")
            {
                continue;
            }
            let Some(live) = kube.get(&r).await? else {
                continue;
            };
            let Some(live_hooks) = live.data["webhooks"].as_array() else {
                continue;
            };
            let Some(hooks) = obj.data["webhooks"].as_array_mut() else {
                continue;
            };
            for hook in hooks.iter_mut() {
                let Some(current) = live_hooks.iter().find(|h| h["name"] == hook["name"]) else {
                    continue;
                };
                if let Some(ca) = current["clientConfig"]["caBundle"].as_str()
                    && !ca.is_empty()
                    && hook["clientConfig"].is_object()
                {
                    hook["clientConfig"]["caBundle"] = Value::from(ca);
                }
                if validating && current["failurePolicy"].is_string() {
                    hook["failurePolicy"] = current["failurePolicy"].clone();
                }
            }
        }
        Ok(())
    }

    /// The Namespace object for `component` to own, unless someone else's namespace exists.
    async fn namespace_if_ours(
        kube: &Kube,
        stack: &str,
        name: &str,
        component: &str,
    ) -> Result<Option<DynamicObject>, Error> {
        let api: Api<Namespace> = Api::all(kube.client().clone());
        let live = api
            .get_opt(name)
            .await
            .map_err(|e| KubeError::from_kube("read", &format!("Namespace {name}"), e))?;
        match live {
            Some(ns) if !ours(ns.metadata.labels.as_ref(), stack, Some(component)) => Ok(None),
            _ => Ok(Some(namespace_object(name, &[])?)),
        }
    }

    /// How each configured namespace joins the mesh.
    async fn joins(ctx: &StepCtx, kube: &Kube) -> Result<Vec<(String, Join)>, Error> {
        let config = &ctx.config;
        let ((key, value), other) = join_label(config.istio.mode);
        let api: Api<Namespace> = Api::all(kube.client().clone());
        let mut out = vec![];
        for name in &config.istio.namespaces {
            let live = api
                .get_opt(name)
                .await
                .map_err(|e| KubeError::from_kube("read", &format!("Namespace {name}"), e))?;
            let join = match live {
                None => Join::Owned,
                Some(ns)
                    if ours(
                        ns.metadata.labels.as_ref(),
                        &config.name,
                        Some(NAMESPACES_COMPONENT),
                    ) =>
                {
                    Join::Owned
                }
                Some(ns) => {
                    let has = ns
                        .metadata
                        .labels
                        .as_ref()
                        .and_then(|l| l.get(key))
                        .is_some_and(|v| v == value);
                    Join::Label {
                        done: has
                            && meshctl_owns_label(&ns, key)
                            && !meshctl_owns_label(&ns, other),
                    }
                }
            };
            out.push((name.clone(), join));
        }
        Ok(out)
    }

    fn owned_namespaces(
        config: &Config,
        joins: &[(String, Join)],
    ) -> Result<Vec<DynamicObject>, Error> {
        let ((key, value), _) = join_label(config.istio.mode);
        joins
            .iter()
            .filter(|(_, j)| *j == Join::Owned)
            .map(|(n, _)| namespace_object(n, &[(key, value)]))
            .collect()
    }

    fn mesh_objects(config: &Config) -> Result<Vec<DynamicObject>, Error> {
        let root = &config.istio.namespace;
        let mut docs = vec![json!({
            "apiVersion": "security.istio.io/v1",
            "kind": "PeerAuthentication",
            "metadata": {"name": "default", "namespace": root},
            "spec": {"mtls": {"mode": config.istio.mtls.as_peer_authentication()}},
        })];
        if config.istio.default_deny {
            docs.push(json!({
                "apiVersion": "security.istio.io/v1",
                "kind": "AuthorizationPolicy",
                "metadata": {"name": "allow-nothing", "namespace": root},
                "spec": {},
            }));
        }
        docs.into_iter()
            .map(|d| {
                serde_json::from_value(d)
                    .map_err(|e| Error::usage(e.to_string(), "report this as a bug"))
            })
            .collect()
    }

    /// A plan of `objects` as all new, with `note` (when the server cannot be asked yet).
    fn all_created(component: &str, objects: &[DynamicObject], note: &str) -> Changes {
        let mut objects = objects.to_vec();
        crate::kube::manifest::sort_for_apply(&mut objects);
        Changes {
            component: component.to_string(),
            objects: objects
                .iter()
                .map(|o| crate::kube::ObjectChange {
                    object: ObjectRef::of(o),
                    op: crate::kube::Op::Create,
                    fields: vec![],
                    note: Some(note.to_string()),
                })
                .collect(),
        }
    }

    /// Connect, check helm and the cluster's version: what plan and apply need first.
    async fn prepare(ctx: &StepCtx) -> Result<(Helm, Kube, Capabilities), Error> {
        let helm = Helm::locate().await?.with_timeout(ctx.options.timeout);
        let kube = crate::kube::connect(ctx)
            .await?
            .with_poll_interval(ctx.poll(POLL));
        let caps = kube.capabilities().await?;
        check_support(&ctx.config.istio.version, &caps.minor)?;
        Ok((helm, kube, caps))
    }

    fn values_note(r: &Rendered, config: &Config) -> String {
        let user = config
            .istio
            .values
            .as_ref()
            .map(|p| format!(", then section `{}` of {}", r.spec.chart, p.display()))
            .unwrap_or_default();
        format!(
            "chart {} {} from {} as {} in {}: values {}{user}",
            r.spec.chart,
            config.istio.version,
            config.istio.charts,
            r.spec.release,
            r.spec.namespace,
            serde_json::to_string(&r.values).unwrap_or_default()
        )
    }

    /// The plan when the cluster cannot be asked (offline, or `cluster` not applied yet).
    fn offline_plan(config: &Config, plan: &mut StepPlan) -> Result<(), Error> {
        for spec in charts(config) {
            let values = chart_values(config, &spec)?;
            plan.push(
                Action::new(
                    Op::Create,
                    "istio-chart",
                    format!("{}/{}", spec.namespace, spec.release),
                )
                .detail(format!(
                    "chart {} {} from {}",
                    spec.chart, config.istio.version, config.istio.charts
                ))
                .detail(format!(
                    "values {}",
                    serde_json::to_string(&values).unwrap_or_default()
                )),
            );
        }
        let ((key, value), _) = join_label(config.istio.mode);
        for ns in &config.istio.namespaces {
            plan.push(
                Action::new(Op::Create, "namespace-label", ns).detail(format!("{key}={value}")),
            );
        }
        plan.push(
            Action::new(
                Op::Create,
                "PeerAuthentication",
                format!("{}/default", config.istio.namespace),
            )
            .detail(format!(
                "mtls {}",
                config.istio.mtls.as_peer_authentication()
            )),
        );
        if config.istio.default_deny {
            plan.push(Action::new(
                Op::Create,
                "AuthorizationPolicy",
                format!("{}/allow-nothing", config.istio.namespace),
            ));
        }
        Ok(())
    }

    /// Wait until istiod is available and its injection webhook can answer: the webhook
    /// configuration has a CA bundle and the istiod Service has a ready endpoint.
    async fn wait_istiod(ctx: &StepCtx, kube: &Kube) -> Result<(), Error> {
        let ns = &ctx.config.istio.namespace;
        let deployment = ObjectRef {
            api_version: "apps/v1".into(),
            kind: "Deployment".into(),
            namespace: Some(ns.clone()),
            name: "istiod".into(),
        };
        let started = std::time::Instant::now();
        let what = format!(
            "istiod in {ns} to be available and its sidecar injection webhook ready (needed before anything Istio validates is applied)"
        );
        loop {
            let why = Self::istiod_not_ready(kube, &deployment, ns).await?;
            let Some(why) = why else { return Ok(()) };
            if started.elapsed() >= ctx.options.timeout {
                return Err(Error::Timeout {
                    what: format!("{what}: {why}"),
                    after: ctx.options.timeout,
                });
            }
            ctx.progress.waiting(&format!("istiod in {ns}: {why}"));
            tokio::select! {
                _ = ctx.cancel.cancelled() => return Err(Error::Interrupted),
                _ = tokio::time::sleep(ctx.poll(POLL)) => {}
            }
        }
    }

    async fn istiod_not_ready(
        kube: &Kube,
        deployment: &ObjectRef,
        ns: &str,
    ) -> Result<Option<String>, Error> {
        match kube.get(deployment).await? {
            None => return Ok(Some("Deployment istiod does not exist yet".into())),
            Some(d) => {
                if let Err(why) = crate::kube::readiness("Deployment", &d) {
                    return Ok(Some(format!("Deployment istiod not available: {why}")));
                }
            }
        }
        let hooks: Api<MutatingWebhookConfiguration> = Api::all(kube.client().clone());
        let injector = hooks.get_opt("istio-sidecar-injector").await.map_err(|e| {
            KubeError::from_kube(
                "read",
                "MutatingWebhookConfiguration istio-sidecar-injector",
                e,
            )
        })?;
        match injector {
            None => {
                return Ok(Some(
                    "MutatingWebhookConfiguration istio-sidecar-injector does not exist yet".into(),
                ));
            }
            Some(m) => {
                let missing_ca = m.webhooks.iter().flatten().any(|w| {
                    w.client_config
                        .ca_bundle
                        .as_ref()
                        .is_none_or(|b| b.0.is_empty())
                });
                if missing_ca {
                    return Ok(Some(
                        "the injection webhook has no caBundle yet (istiod writes it when it starts)".into(),
                    ));
                }
            }
        }
        let slices: Api<EndpointSlice> = Api::namespaced(kube.client().clone(), ns);
        let list = slices
            .list(&ListParams::default().labels("kubernetes.io/service-name=istiod"))
            .await
            .map_err(|e| {
                KubeError::from_kube("list", &format!("EndpointSlices of Service {ns}/istiod"), e)
            })?;
        let ready = list.items.iter().any(|s| {
            s.endpoints
                .iter()
                .any(|e| e.conditions.as_ref().and_then(|c| c.ready).unwrap_or(false))
        });
        if !ready {
            return Ok(Some(
                "Service istiod has no ready endpoint yet, so the webhook cannot answer".into(),
            ));
        }
        Ok(None)
    }

    async fn record_component(ctx: &StepCtx, component: &str) -> Result<(), Error> {
        ctx.ledger
            .record(
                Resource::new(StepId::Istio, COMPONENT_KIND, component)
                    .with("selector", component_selector(&ctx.config.name, component)),
            )
            .await
    }

    /// Apply one component: plan, record it when none of it existed, apply, prune.
    async fn apply_component(
        ctx: &StepCtx,
        kube: &Kube,
        component: &str,
        objects: &[DynamicObject],
        report: &mut StepReport,
    ) -> Result<(), Error> {
        let options = Self::options(ctx);
        let existing = kube
            .list_by_label(&component_selector(&ctx.config.name, component))
            .await?;
        if existing.is_empty() && !objects.is_empty() {
            Self::record_component(ctx, component).await?;
        }
        let changes = kube.apply(component, objects, &options).await?;
        report.actions.extend(actions_of(&changes));
        let pruned = kube.prune(component, objects, ctx.options.timeout).await?;
        report.actions.extend(actions_of(&pruned));
        Ok(())
    }

    /// Apply the join label to someone else's namespace with meshctl's field manager only.
    async fn label_namespace(kube: &Kube, name: &str, mode: IstioMode) -> Result<(), Error> {
        let ((key, value), _) = join_label(mode);
        let api: Api<Namespace> = Api::all(kube.client().clone());
        let body = json!({
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": name, "labels": {key: value}},
        });
        api.patch(
            name,
            &PatchParams::apply(FIELD_MANAGER),
            &Patch::Apply(&body),
        )
        .await
        .map_err(|e| KubeError::from_kube("label", &format!("Namespace {name}"), e))?;
        Ok(())
    }

    /// Drop meshctl's field ownership of a namespace's labels: labels only meshctl set go.
    async fn unlabel_namespace(kube: &Kube, name: &str) -> Result<bool, Error> {
        let api: Api<Namespace> = Api::all(kube.client().clone());
        let Some(ns) = api
            .get_opt(name)
            .await
            .map_err(|e| KubeError::from_kube("read", &format!("Namespace {name}"), e))?
        else {
            return Ok(false);
        };
        if !(meshctl_owns_label(&ns, INJECTION_LABEL) || meshctl_owns_label(&ns, AMBIENT_LABEL)) {
            return Ok(false);
        }
        let body = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}});
        api.patch(
            name,
            &PatchParams::apply(FIELD_MANAGER),
            &Patch::Apply(&body),
        )
        .await
        .map_err(|e| {
            KubeError::from_kube("remove the mesh label of", &format!("Namespace {name}"), e)
        })?;
        Ok(true)
    }

    /// Namespaces to unlabel on destroy: the configured ones and those a run recorded.
    async fn labelled_candidates(ctx: &StepCtx) -> Vec<String> {
        let mut v = ctx.config.istio.namespaces.clone();
        if let Some(recorded) = ctx.state.output(StepId::Istio, "labelled_namespaces").await {
            v.extend(
                recorded
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_string),
            );
        }
        v.sort();
        v.dedup();
        v
    }

    /// Webhook configurations whose every service is in `ns` and gone: left behind, they
    /// would refuse pod creation (injector) or Istio resources (validator) cluster-wide.
    async fn orphan_webhooks(kube: &Kube, ns: &str) -> Result<Vec<(String, String)>, Error> {
        let services: Api<Service> = Api::namespaced(kube.client().clone(), ns);
        let mut out = vec![];
        let mutating: Api<MutatingWebhookConfiguration> = Api::all(kube.client().clone());
        let list = mutating
            .list(&ListParams::default())
            .await
            .map_err(|e| KubeError::from_kube("list", "MutatingWebhookConfigurations", e))?;
        for m in list.items {
            let refs: Vec<(String, String)> = m
                .webhooks
                .iter()
                .flatten()
                .filter_map(|w| w.client_config.service.as_ref())
                .map(|s| (s.namespace.clone(), s.name.clone()))
                .collect();
            if Self::all_gone(&services, ns, &refs).await? {
                out.push((
                    "MutatingWebhookConfiguration".into(),
                    m.metadata.name.unwrap_or_default(),
                ));
            }
        }
        let validating: Api<ValidatingWebhookConfiguration> = Api::all(kube.client().clone());
        let list = validating
            .list(&ListParams::default())
            .await
            .map_err(|e| KubeError::from_kube("list", "ValidatingWebhookConfigurations", e))?;
        for v in list.items {
            let refs: Vec<(String, String)> = v
                .webhooks
                .iter()
                .flatten()
                .filter_map(|w| w.client_config.service.as_ref())
                .map(|s| (s.namespace.clone(), s.name.clone()))
                .collect();
            if Self::all_gone(&services, ns, &refs).await? {
                out.push((
                    "ValidatingWebhookConfiguration".into(),
                    v.metadata.name.unwrap_or_default(),
                ));
            }
        }
        Ok(out)
    }

    async fn all_gone(
        services: &Api<Service>,
        ns: &str,
        refs: &[(String, String)],
    ) -> Result<bool, Error> {
        if refs.is_empty()
            || refs
                .iter()
                .any(|(n, s)| n != ns || !s.starts_with("istiod"))
        {
            return Ok(false);
        }
        for (_, name) in refs {
            let found = services
                .get_opt(name)
                .await
                .map_err(|e| KubeError::from_kube("read", &format!("Service {ns}/{name}"), e))?;
            if found.is_some() {
                return Ok(false);
            }
        }
        Ok(true)
    }

    async fn ingress_hostname(kube: &Kube) -> Result<Option<String>, Error> {
        let api: Api<Service> = Api::namespaced(kube.client().clone(), GATEWAY_NAMESPACE);
        let svc = api.get_opt(GATEWAY_RELEASE).await.map_err(|e| {
            KubeError::from_kube(
                "read",
                &format!("Service {GATEWAY_NAMESPACE}/{GATEWAY_RELEASE}"),
                e,
            )
        })?;
        Ok(svc
            .and_then(|s| s.status)
            .and_then(|s| s.load_balancer)
            .and_then(|lb| lb.ingress)
            .and_then(|i| i.into_iter().find_map(|x| x.hostname.or(x.ip))))
    }
}

#[async_trait]
impl Step for IstioStep {
    fn id(&self) -> StepId {
        StepId::Istio
    }

    async fn plan(&self, ctx: &StepCtx) -> Result<StepPlan, Error> {
        let config = &ctx.config;
        let mut plan = StepPlan::new(StepId::Istio);
        if !Self::online(ctx) || !Self::cluster_known(ctx).await {
            Self::offline_plan(config, &mut plan)?;
            plan.note(
                "the cluster cannot be asked yet: every chart is planned as new; rendered objects are listed once the cluster exists",
            );
            return Ok(plan);
        }
        let (helm, kube, caps) = Self::prepare(ctx).await?;
        plan.note(format!(
            "helm {} renders for Kubernetes {} ({} API group versions)",
            helm.version(),
            caps.kube_version,
            caps.api_versions.len()
        ));
        let options = Self::options(ctx);
        let rendered = Self::render_all(ctx, &helm, &kube, &caps).await?;
        // Namespaces one component creates for the next ones (istio-system by istio-base).
        let mut created_first: Vec<String> = vec![];
        for r in &rendered {
            plan.note(Self::values_note(r, config));
            let waits_for_namespace = created_first.contains(&r.spec.namespace);
            let changes = if waits_for_namespace {
                Self::all_created(
                    r.spec.component,
                    &r.objects,
                    "its namespace is created by an earlier chart",
                )
            } else {
                kube.plan(r.spec.component, &r.objects, &options).await?
            };
            for o in &changes.objects {
                if o.object.kind == "Namespace" && o.op == crate::kube::Op::Create {
                    created_first.push(o.object.name.clone());
                }
            }
            plan.actions.extend(actions_of(&changes));
        }
        let joins = Self::joins(ctx, &kube).await?;
        let owned = Self::owned_namespaces(config, &joins)?;
        if !owned.is_empty() {
            let changes = kube.plan(NAMESPACES_COMPONENT, &owned, &options).await?;
            plan.actions.extend(actions_of(&changes));
        }
        let ((key, value), _) = join_label(config.istio.mode);
        for (ns, j) in &joins {
            if let Join::Label { done } = j {
                let op = if *done { Op::Keep } else { Op::Update };
                plan.push(
                    Action::new(op, "namespace-label", ns)
                        .detail(format!("{key}={value}, field manager {FIELD_MANAGER}")),
                );
            }
        }
        let mesh = Self::mesh_objects(config)?;
        let changes = if created_first.contains(&config.istio.namespace) {
            Self::all_created(
                MESH_COMPONENT,
                &mesh,
                "its namespace is created by istio-base",
            )
        } else {
            match kube.plan(MESH_COMPONENT, &mesh, &options).await {
                Ok(changes) => changes,
                Err(KubeError::UnknownKind { .. }) => Self::all_created(
                    MESH_COMPONENT,
                    &mesh,
                    "its CustomResourceDefinition comes with istio-base",
                ),
                Err(e) => return Err(e.into()),
            }
        };
        plan.actions.extend(actions_of(&changes));
        // The sample (`istio.sample`), or its removal when the key is gone.
        plan.actions
            .extend(crate::steps::sample::plan(ctx, &kube).await?);
        Ok(plan)
    }

    async fn apply(&self, ctx: &StepCtx) -> Result<StepReport, Error> {
        let config = &ctx.config;
        let (helm, kube, caps) = Self::prepare(ctx).await?;
        let rendered = Self::render_all(ctx, &helm, &kube, &caps).await?;
        let mut report = StepReport {
            step: Some(StepId::Istio),
            ..Default::default()
        };
        for r in &rendered {
            ctx.progress.message(&format!(
                "applying chart {} ({})",
                r.spec.chart, r.spec.component
            ));
            Self::apply_component(ctx, &kube, r.spec.component, &r.objects, &mut report).await?;
            if r.spec.component == "istiod" {
                if ctx.options.no_wait {
                    report.incomplete = Some(
                        "istiod readiness was not awaited (--no-wait): run `meshctl istio` again to finish".into(),
                    );
                } else {
                    Self::wait_istiod(ctx, &kube).await?;
                }
            }
        }
        // Namespaces join the mesh once the injection webhook answers.
        let joins = Self::joins(ctx, &kube).await?;
        let owned = Self::owned_namespaces(config, &joins)?;
        Self::apply_component(ctx, &kube, NAMESPACES_COMPONENT, &owned, &mut report).await?;
        let ((key, value), _) = join_label(config.istio.mode);
        let mut labelled = vec![];
        for (ns, j) in &joins {
            if let Join::Label { done } = j {
                labelled.push(ns.clone());
                if *done {
                    report.push_keep(ns, key, value);
                    continue;
                }
                Self::label_namespace(&kube, ns, config.istio.mode).await?;
                ctx.ledger
                    .record(Resource::new(StepId::Istio, LABEL_KIND, ns.clone()).with("label", key))
                    .await?;
                report
                    .actions
                    .push(Action::new(Op::Update, "namespace-label", ns).detail(
                    format!(
                        "{key}={value} added; the namespace is not meshctl's and is never deleted"
                    ),
                ));
            }
        }
        let mesh = Self::mesh_objects(config)?;
        Self::apply_component(ctx, &kube, MESH_COMPONENT, &mesh, &mut report).await?;
        // The sample (`istio.sample`), or its removal when the key is gone.
        report
            .actions
            .extend(crate::steps::sample::apply(ctx, &kube).await?);

        report
            .outputs
            .insert("version".into(), config.istio.version.clone());
        report
            .outputs
            .insert("mode".into(), config.istio.mode.as_str().into());
        report
            .outputs
            .insert("profile".into(), config.istio.profile.as_str().into());
        report
            .outputs
            .insert("labelled_namespaces".into(), labelled.join(","));
        if config.istio.ingress_gateway
            && let Some(h) = Self::ingress_hostname(&kube).await?
        {
            report.outputs.insert("ingress_hostname".into(), h);
        }
        if crate::steps::sample::wanted(ctx)
            && let Some(url) = crate::steps::sample::product_page_url(&kube).await?
        {
            report.outputs.insert("product_page_url".into(), url);
        }
        Ok(report)
    }

    async fn destroy_plan(&self, ctx: &StepCtx) -> Result<StepPlan, Error> {
        let mut plan = StepPlan::new(StepId::Istio);
        if !Self::online(ctx) || !Self::cluster_known(ctx).await {
            plan.note("the cluster cannot be asked: nothing of this step can be listed");
            return Ok(plan);
        }
        let kube = crate::kube::connect(ctx).await?;
        let stack = &ctx.config.name;
        for component in DESTROY_ORDER {
            if component == NAMESPACES_COMPONENT {
                for ns in Self::labelled_candidates(ctx).await {
                    let api: Api<Namespace> = Api::all(kube.client().clone());
                    if let Some(n) = api
                        .get_opt(&ns)
                        .await
                        .map_err(|e| KubeError::from_kube("read", &format!("Namespace {ns}"), e))?
                        && !ours(n.metadata.labels.as_ref(), stack, None)
                        && (meshctl_owns_label(&n, INJECTION_LABEL)
                            || meshctl_owns_label(&n, AMBIENT_LABEL))
                    {
                        plan.push(
                            Action::new(Op::Update, "namespace-label", ns)
                                .detail("meshctl's mesh label removed; the namespace is kept"),
                        );
                    }
                }
            }
            for r in kube
                .list_by_label(&component_selector(stack, component))
                .await?
            {
                plan.push(
                    Action::new(Op::Delete, r.kind.clone(), object_name(&r))
                        .detail(format!("component {component}")),
                );
            }
        }
        Ok(plan)
    }

    async fn destroy(&self, ctx: &StepCtx) -> Result<StepReport, Error> {
        let mut report = StepReport {
            step: Some(StepId::Istio),
            ..Default::default()
        };
        if !Self::online(ctx) || !Self::cluster_known(ctx).await {
            report
                .notes
                .push("the cluster cannot be reached: nothing removed".into());
            return Ok(report);
        }
        let kube = crate::kube::connect(ctx)
            .await?
            .with_poll_interval(ctx.poll(POLL));
        // The sample first: it runs in the mesh this step removes.
        report
            .actions
            .extend(crate::steps::sample::destroy(ctx, &kube).await?);
        let stack = &ctx.config.name;
        for component in DESTROY_ORDER {
            if component == NAMESPACES_COMPONENT {
                for ns in Self::labelled_candidates(ctx).await {
                    let api: Api<Namespace> = Api::all(kube.client().clone());
                    let foreign = api
                        .get_opt(&ns)
                        .await
                        .map_err(|e| KubeError::from_kube("read", &format!("Namespace {ns}"), e))?
                        .is_some_and(|n| !ours(n.metadata.labels.as_ref(), stack, None));
                    if foreign && Self::unlabel_namespace(&kube, &ns).await? {
                        report.actions.push(
                            Action::new(Op::Update, "namespace-label", ns)
                                .detail("meshctl's mesh label removed; the namespace is kept"),
                        );
                    }
                }
            }
            ctx.progress.message(&format!("deleting {component}"));
            let gone = kube
                .delete_by_label(
                    &component_selector(stack, component),
                    Propagation::Background,
                    ctx.options.timeout,
                )
                .await?;
            for r in gone {
                report.actions.push(
                    Action::new(Op::Delete, r.kind.clone(), object_name(&r))
                        .detail(format!("component {component}")),
                );
            }
        }
        for (kind, name) in Self::orphan_webhooks(&kube, &ctx.config.istio.namespace).await? {
            let result = if kind == "MutatingWebhookConfiguration" {
                Api::<MutatingWebhookConfiguration>::all(kube.client().clone())
                    .delete(&name, &DeleteParams::default())
                    .await
                    .map(|_| ())
            } else {
                Api::<ValidatingWebhookConfiguration>::all(kube.client().clone())
                    .delete(&name, &DeleteParams::default())
                    .await
                    .map(|_| ())
            };
            match result {
                Ok(()) => {}
                Err(kube::Error::Api(s)) if s.code == 404 => {}
                Err(e) => {
                    return Err(KubeError::from_kube("delete", &format!("{kind} {name}"), e).into());
                }
            }
            report.actions.push(
                Action::new(Op::Delete, kind, name)
                    .detail("its istiod Service is gone; left behind it would block the cluster"),
            );
        }
        Ok(report)
    }

    async fn status(&self, ctx: &StepCtx) -> Result<StepStatus, Error> {
        let mut details = BTreeMap::new();
        if !Self::online(ctx) || !Self::cluster_known(ctx).await {
            return Ok(StepStatus {
                step: StepId::Istio,
                state: "unknown".into(),
                details: BTreeMap::from([(
                    "note".to_string(),
                    "the cluster cannot be asked (no cluster endpoint or kubeconfig)".to_string(),
                )]),
            });
        }
        let kube = crate::kube::connect(ctx).await?;
        let stack = &ctx.config.name;
        let mut present = 0;
        let wanted = charts(&ctx.config);
        for spec in &wanted {
            let objects = kube
                .list_by_label(&component_selector(stack, spec.component))
                .await?;
            if !objects.is_empty() {
                present += 1;
            }
            details.insert(
                spec.component.to_string(),
                format!("{} objects", objects.len()),
            );
        }
        let ns = &ctx.config.istio.namespace;
        let deployment = ObjectRef {
            api_version: "apps/v1".into(),
            kind: "Deployment".into(),
            namespace: Some(ns.clone()),
            name: "istiod".into(),
        };
        let ready = Self::istiod_not_ready(&kube, &deployment, ns).await?;
        details.insert(
            "istiod".into(),
            match &ready {
                None => "ready, injection webhook answering".into(),
                Some(why) => why.clone(),
            },
        );
        let state = if present == 0 {
            "absent"
        } else if present == wanted.len() && ready.is_none() {
            "present"
        } else {
            "partial"
        };
        Ok(StepStatus {
            step: StepId::Istio,
            state: state.into(),
            details,
        })
    }

    async fn undo(&self, ctx: &StepCtx, resource: &Resource) -> Result<(), Error> {
        let kube = crate::kube::connect(ctx)
            .await?
            .with_poll_interval(ctx.poll(POLL));
        match resource.kind.as_str() {
            COMPONENT_KIND => {
                kube.delete_by_label(
                    &component_selector(&ctx.config.name, &resource.id),
                    Propagation::Background,
                    ctx.options.timeout,
                )
                .await?;
            }
            LABEL_KIND => {
                Self::unlabel_namespace(&kube, &resource.id).await?;
            }
            other => return Err(Resource::unknown_kind(StepId::Istio, other)),
        }
        Ok(())
    }

    fn undo_hint(&self, resource: &Resource) -> String {
        match resource.kind.as_str() {
            COMPONENT_KIND => format!(
                "kubectl delete $(kubectl api-resources --verbs=list,delete -o name | paste -sd, -) -A -l {}",
                resource
                    .get("selector")
                    .unwrap_or("meshctl.io/component=<component>")
            ),
            LABEL_KIND => format!(
                "kubectl label namespace {} {}-",
                resource.id,
                resource.get("label").unwrap_or(INJECTION_LABEL)
            ),
            _ => "meshctl cleanup --only istio".into(),
        }
    }
}

trait ReportExt {
    fn push_keep(&mut self, ns: &str, key: &str, value: &str);
}

impl ReportExt for StepReport {
    fn push_keep(&mut self, ns: &str, key: &str, value: &str) {
        self.actions
            .push(Action::new(Op::Keep, "namespace-label", ns).detail(format!("{key}={value}")));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(yaml: &str) -> Config {
        serde_yaml_ng::from_str(&format!("name: demo\n{yaml}")).unwrap()
    }

    #[test]
    fn sidecar_and_ambient_install_their_charts_in_order() {
        let names = |c: &Config| charts(c).iter().map(|s| s.chart).collect::<Vec<_>>();
        assert_eq!(names(&config("")), ["base", "istiod", "gateway"]);
        assert_eq!(
            names(&config("istio:\n  cni: true\n  ingress_gateway: false\n")),
            ["base", "cni", "istiod"]
        );
        assert_eq!(
            names(&config("istio:\n  mode: ambient\n")),
            ["base", "istiod", "cni", "ztunnel", "gateway"]
        );
    }

    #[test]
    fn the_support_table_refuses_other_kubernetes_versions() {
        assert!(check_support("1.31.1", "1.34").is_ok());
        let err = check_support("1.31.1", "1.30").unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(
            err.to_string().contains("1.32, 1.33, 1.34, 1.35, 1.36"),
            "{err}"
        );
        assert!(check_support("1.28.0", "1.36").is_err());
    }
}
