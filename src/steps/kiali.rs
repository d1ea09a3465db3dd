//! `kiali`: Kiali reading Amazon Managed Service for Prometheus through a SigV4 proxy.
//!
//! Two components, both applied through the Kubernetes adapter (server-side apply, labelled,
//! pruned and deleted by label):
//! - `kiali-proxy`: meshctl's own manifests (`templates/kiali/sigv4-proxy.yaml.j2`): the
//!   query service account (with the `irsa` role annotation), a Service and a Deployment of the
//!   SigV4 proxy that signs Kiali's queries for the service `aps`;
//! - `kiali`: the official `kiali-server` chart rendered by helm (`--skip-tests`) with values
//!   from `templates/kiali/values.yaml.j2`: Prometheus at the proxy URL of this workspace,
//!   `thanos_proxy` on (so Kiali never calls endpoints AMP lacks), Grafana links when the
//!   `grafana` step has run. `kiali.values` is merged over them.
//!
//! See docs/steps/kiali.md.

use std::collections::BTreeMap;
use std::time::Duration;

use ::kube::api::DynamicObject;
use async_trait::async_trait;
use serde_json::{Value, json};

use crate::config::Config;
use crate::engine::{
    Action, Op, Resource, Step, StepCtx, StepId, StepPlan, StepReport, StepStatus,
};
use crate::error::Error;
use crate::helm::{ChartSource, Helm, TemplateRequest};
use crate::kube::{ApplyOptions, Condition, Kube, ObjectRef, Propagation, manifest};
use crate::steps::sample::{LEDGER_KIND, actions};

/// Component of the SigV4 proxy objects.
pub const PROXY_COMPONENT: &str = "kiali-proxy";
/// Component of the objects the kiali-server chart renders.
pub const CHART_COMPONENT: &str = "kiali";
/// Name of the proxy Deployment and Service.
pub const PROXY_NAME: &str = "aws-sigv4-proxy";
/// Port the proxy listens on and its Service exposes.
pub const PROXY_PORT: u16 = 8080;
/// The chart, its release name, and the name it gives Kiali's Deployment, Service and ConfigMap.
pub const CHART: &str = "kiali-server";
pub const RELEASE: &str = "kiali-server";
pub const KIALI_NAME: &str = "kiali";
/// Kiali's HTTP port (Service `kiali`).
pub const KIALI_PORT: u16 = 20001;
/// A Secret in `kiali.namespace` with a key `token`: when it exists, Kiali authenticates to
/// Grafana with that bearer token (the `grafana` step owns and rotates it).
pub const GRAFANA_TOKEN_SECRET: &str = "kiali-grafana";
const PROXY_TEMPLATE: &str = "kiali/sigv4-proxy.yaml.j2";
const VALUES_TEMPLATE: &str = "kiali/values.yaml.j2";
/// Kiali's default metrics window; raised to two scrape intervals when those are longer.
const MIN_METRICS_WINDOW: Duration = Duration::from_secs(60);

pub struct KialiStep;

/// What the step reads from the stack state (outputs of earlier steps).
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    /// `amp.workspace_id`; `None` before `amp` was applied (plans then show a placeholder).
    pub workspace_id: Option<String>,
    /// `irsa.query_role_arn` (the `irsa` step annotates the query service account with it).
    pub query_role_arn: Option<String>,
    /// `grafana.workspace_url`, for Kiali's Grafana links.
    pub grafana_url: Option<String>,
    /// Whether the Grafana token Secret exists in the cluster.
    pub grafana_token: bool,
}

impl Inputs {
    async fn read(ctx: &StepCtx) -> Inputs {
        let get = |step, key: &'static str| {
            let state = ctx.state.clone();
            async move { state.output(step, key).await.filter(|v| !v.is_empty()) }
        };
        Inputs {
            workspace_id: get(StepId::Amp, "workspace_id").await,
            query_role_arn: get(StepId::Irsa, "query_role_arn").await,
            grafana_url: get(StepId::Grafana, "workspace_url").await,
            grafana_token: false,
        }
    }
}

/// `http://aws-sigv4-proxy.<ns>.svc.cluster.local:8080`
pub fn proxy_service(config: &Config) -> String {
    format!(
        "http://{PROXY_NAME}.{}.svc.cluster.local:{PROXY_PORT}",
        config.kiali.namespace
    )
}

/// The Prometheus URL Kiali uses: the proxy, with the workspace path (ends with `/`).
pub fn prometheus_url(config: &Config, workspace_id: &str) -> String {
    format!("{}/workspaces/{workspace_id}/", proxy_service(config))
}

/// The metrics window Kiali fetches per refresh: at least two scrape intervals, at least 1m.
pub fn metrics_window(scrape_interval: &str) -> String {
    let scrape = crate::config::validate::prometheus_duration(scrape_interval)
        .unwrap_or(Duration::from_secs(30));
    let window = (scrape * 2).max(MIN_METRICS_WINDOW);
    let secs = window.as_secs().max(1);
    if secs.is_multiple_of(60) {
        format!("{}m", secs / 60)
    } else {
        format!("{secs}s")
    }
}

/// The SigV4 proxy manifests.
pub fn render_proxy(config: &Config) -> Result<String, Error> {
    crate::templates::render(
        PROXY_TEMPLATE,
        json!({
            "name": PROXY_NAME,
            "namespace": config.kiali.namespace,
            "service_account": config.irsa.query_service_account,
            "image": config.kiali.proxy_image,
            "region": config.region,
            "port": PROXY_PORT,
        }),
    )
}

/// meshctl's values for the kiali-server chart, as YAML text (what `--dry-run` shows).
pub fn render_values(config: &Config, inputs: &Inputs) -> Result<String, Error> {
    let ws = inputs
        .workspace_id
        .clone()
        .unwrap_or_else(|| "<amp workspace id>".into());
    crate::templates::render(
        VALUES_TEMPLATE,
        json!({
            "istio_namespace": config.istio.namespace,
            "auth_strategy": config.kiali.auth_strategy,
            "prometheus_url": prometheus_url(config, &ws),
            "retention_period": config.kiali.retention_period,
            "scrape_interval": config.prometheus.scrape_interval,
            "metrics_window": metrics_window(&config.prometheus.scrape_interval),
            "grafana_url": inputs.grafana_url.clone().unwrap_or_default(),
            "grafana_token_secret": if inputs.grafana_token { GRAFANA_TOKEN_SECRET } else { "" },
        }),
    )
}

/// meshctl's values for the chart, parsed.
pub fn values(config: &Config, inputs: &Inputs) -> Result<Value, Error> {
    let text = render_values(config, inputs)?;
    serde_yaml_ng::from_str(&text).map_err(|e| Error::Template {
        name: VALUES_TEMPLATE.into(),
        message: format!("the rendered values are not YAML: {e}"),
    })
}

fn proxy_objects(config: &Config) -> Result<Vec<DynamicObject>, Error> {
    Ok(manifest::parse(PROXY_TEMPLATE, &render_proxy(config)?)?)
}

fn deployment(ns: &str, name: &str) -> ObjectRef {
    ObjectRef {
        api_version: "apps/v1".into(),
        kind: "Deployment".into(),
        namespace: Some(ns.into()),
        name: name.into(),
    }
}

fn options(ctx: &StepCtx) -> ApplyOptions {
    ApplyOptions {
        force: false,
        timeout: ctx.options.timeout,
    }
}

fn selector(kube: &Kube, component: &str) -> String {
    manifest::component_selector(kube.stack(), component)
}

async fn connect(ctx: &StepCtx) -> Result<Kube, Error> {
    Ok(crate::kube::connect(ctx)
        .await?
        .with_poll_interval(ctx.poll(crate::kube::DEFAULT_POLL)))
}

/// Whether there is a cluster to ask: a kubeconfig, or credentials and the endpoint the
/// `cluster` step recorded. Without one, plans list what would be created and cleanup and
/// status have nothing to look at.
async fn can_connect(ctx: &StepCtx) -> bool {
    let k = &ctx.config.kubernetes;
    if k.kubeconfig.is_some() || k.context.is_some() {
        return true;
    }
    ctx.aws.is_some()
        && ctx
            .state
            .output(StepId::Cluster, crate::kube::connect::outputs::ENDPOINT)
            .await
            .is_some()
}

/// Render the kiali-server chart with helm.
async fn render_chart(
    ctx: &StepCtx,
    kube: Option<&Kube>,
    inputs: &Inputs,
) -> Result<Vec<DynamicObject>, Error> {
    let config = &ctx.config;
    let helm = Helm::locate().await?.with_timeout(ctx.options.timeout);
    let source = ChartSource::parse(&config.kiali.charts).map_err(|m| {
        Error::config(
            format!("kiali.charts `{}`: {m}", config.kiali.charts),
            "use an HTTPS chart repository URL, an `oci://` reference, or a local directory of packaged charts",
        )
    })?;
    let caps = match kube {
        Some(k) => Some(k.capabilities().await?),
        None => None,
    };
    let req = TemplateRequest {
        release: RELEASE.into(),
        namespace: config.kiali.namespace.clone(),
        chart: CHART.into(),
        version: config.kiali.version.clone(),
        source,
        values: vec![values(config, inputs)?],
        values_files: config.kiali.values.iter().cloned().collect(),
        kube_version: caps.as_ref().map(|c| c.kube_version.clone()),
        api_versions: caps.map(|c| c.api_versions).unwrap_or_default(),
        skip_tests: true,
    };
    let text = helm.template(&req).await?;
    let name = format!("chart {CHART} {}", config.kiali.version);
    Ok(manifest::parse(&name, &text)?)
}

/// Whether the Grafana token Secret exists.
async fn grafana_token(kube: &Kube, ns: &str) -> Result<bool, Error> {
    let secret = ObjectRef {
        api_version: "v1".into(),
        kind: "Secret".into(),
        namespace: Some(ns.into()),
        name: GRAFANA_TOKEN_SECRET.into(),
    };
    Ok(kube
        .get(&secret)
        .await?
        .is_some_and(|s| s.data["data"]["token"].is_string()))
}

/// The query service account the proxy runs as: the `irsa` step creates and annotates it.
async fn require_service_account(kube: &Kube, config: &Config) -> Result<(), Error> {
    let sa = ObjectRef {
        api_version: "v1".into(),
        kind: "ServiceAccount".into(),
        namespace: Some(config.kiali.namespace.clone()),
        name: config.irsa.query_service_account.clone(),
    };
    if kube.get(&sa).await?.is_none() {
        return Err(Error::usage(
            format!("{sa} does not exist: the SigV4 proxy runs as it, with the query role"),
            "run `meshctl irsa` (it creates and annotates the query service account), then `meshctl kiali`",
        ));
    }
    Ok(())
}

/// Why the step cannot apply yet, when a prerequisite output is missing.
fn require_workspace(inputs: &Inputs) -> Result<String, Error> {
    inputs.workspace_id.clone().ok_or_else(|| {
        Error::usage(
            "the stack has no AMP workspace recorded: the `amp` step has not been applied",
            "run `meshctl amp` (or `meshctl up`) first",
        )
    })
}

fn offline_plan(config: &Config, inputs: &Inputs) -> Result<Vec<Action>, Error> {
    let mut out = vec![];
    for o in proxy_objects(config)? {
        let r = ObjectRef::of(&o);
        out.push(Action::new(
            Op::Create,
            r.kind.to_lowercase(),
            format!("{}/{}", config.kiali.namespace, r.name),
        ));
    }
    let ws = inputs
        .workspace_id
        .as_deref()
        .unwrap_or("<amp workspace id>");
    out.push(
        Action::new(
            Op::Create,
            "helm-chart",
            format!(
                "{}/{CHART} {}",
                config.kiali.namespace, config.kiali.version
            ),
        )
        .detail(format!("Prometheus URL {}", prometheus_url(config, ws)))
        .detail(format!(
            "thanos_proxy enabled, retention {}, scrape interval {}",
            config.kiali.retention_period, config.prometheus.scrape_interval
        ))
        .detail(format!("auth strategy {}", config.kiali.auth_strategy)),
    );
    Ok(out)
}

async fn wait_ready(ctx: &StepCtx, kube: &Kube) -> Result<(), Error> {
    let ns = &ctx.config.kiali.namespace;
    for (name, why) in [
        (PROXY_NAME, "Kiali reads AMP through it"),
        (KIALI_NAME, "the Kiali console"),
    ] {
        ctx.progress
            .message(&format!("waiting for Deployment {ns}/{name} ({why})"));
        kube.wait_for(&deployment(ns, name), Condition::Ready, ctx.options.timeout)
            .await?;
    }
    Ok(())
}

async fn delete_component(
    kube: &Kube,
    component: &str,
    timeout: Duration,
) -> Result<Vec<Action>, Error> {
    let refs = kube
        .delete_by_label(&selector(kube, component), Propagation::Background, timeout)
        .await?;
    Ok(refs
        .iter()
        .map(|r| Action::new(Op::Delete, r.kind.to_lowercase(), name_of(r)))
        .collect())
}

fn name_of(r: &ObjectRef) -> String {
    match &r.namespace {
        Some(ns) => format!("{ns}/{}", r.name),
        None => r.name.clone(),
    }
}

async fn labelled(kube: &Kube) -> Result<Vec<Action>, Error> {
    let mut out = vec![];
    for c in [CHART_COMPONENT, PROXY_COMPONENT] {
        for r in kube.list_by_label(&selector(kube, c)).await? {
            out.push(Action::new(Op::Delete, r.kind.to_lowercase(), name_of(&r)));
        }
    }
    Ok(out)
}

#[async_trait]
impl Step for KialiStep {
    fn id(&self) -> StepId {
        StepId::Kiali
    }

    async fn plan(&self, ctx: &StepCtx) -> Result<StepPlan, Error> {
        let config = &ctx.config;
        let mut plan = StepPlan::new(StepId::Kiali);
        let mut inputs = Inputs::read(ctx).await;
        if !config.kiali.enabled {
            plan.note("disabled by kiali.enabled: false");
            if can_connect(ctx).await {
                let kube = connect(ctx).await?;
                plan.actions = labelled(&kube).await?;
            }
            return Ok(plan);
        }
        if !can_connect(ctx).await {
            plan.actions = offline_plan(config, &inputs)?;
            plan.note("the cluster was not asked (offline, or `cluster` not applied yet): everything is listed as created");
            return Ok(plan);
        }
        let kube = connect(ctx).await?;
        inputs.grafana_token = grafana_token(&kube, &config.kiali.namespace).await?;
        let proxy = kube
            .plan(PROXY_COMPONENT, &proxy_objects(config)?, &options(ctx))
            .await?;
        plan.actions.extend(actions(&proxy));
        let chart = render_chart(ctx, Some(&kube), &inputs).await?;
        let planned = kube.plan(CHART_COMPONENT, &chart, &options(ctx)).await?;
        plan.actions.extend(actions(&planned));
        if inputs.workspace_id.is_none() {
            plan.note("the AMP workspace id is known once `amp` is applied");
        }
        if inputs.grafana_url.is_none() {
            plan.note("no Grafana links: the `grafana` step has not been applied");
        }
        Ok(plan)
    }

    async fn apply(&self, ctx: &StepCtx) -> Result<StepReport, Error> {
        let config = &ctx.config;
        let mut report = StepReport {
            step: Some(StepId::Kiali),
            ..Default::default()
        };
        if !config.kiali.enabled {
            report.actions = self.destroy(ctx).await?.actions;
            return Ok(report);
        }
        let kube = connect(ctx).await?;
        let mut inputs = Inputs::read(ctx).await;
        let workspace_id = require_workspace(&inputs)?;
        inputs.grafana_token = grafana_token(&kube, &config.kiali.namespace).await?;
        require_service_account(&kube, config).await?;
        // Render the chart before any change: a missing helm or chart stops here.
        let chart = render_chart(ctx, Some(&kube), &inputs).await?;
        let proxy = proxy_objects(config)?;

        for (component, objects, what) in [
            (PROXY_COMPONENT, &proxy, "the SigV4 proxy"),
            (CHART_COMPONENT, &chart, "the kiali-server chart"),
        ] {
            let planned = kube.plan(component, objects, &options(ctx)).await?;
            if planned.count(crate::kube::Op::Create) > 0 {
                ctx.ledger
                    .record(
                        Resource::new(StepId::Kiali, LEDGER_KIND, component)
                            .with("selector", selector(&kube, component))
                            .with("namespace", &config.kiali.namespace),
                    )
                    .await?;
            }
            ctx.progress.message(&format!("applying {what}"));
            let applied = kube.apply(component, objects, &options(ctx)).await?;
            report.actions.extend(actions(&applied));
            let pruned = kube.prune(component, objects, ctx.options.timeout).await?;
            report.actions.extend(actions(&pruned));
        }

        if ctx.options.no_wait {
            report.incomplete = Some(format!(
                "--no-wait: Deployments {0}/{PROXY_NAME} and {0}/{KIALI_NAME} were not waited for",
                config.kiali.namespace
            ));
        } else {
            wait_ready(ctx, &kube).await?;
        }
        report.outputs = BTreeMap::from([
            ("namespace".to_string(), config.kiali.namespace.clone()),
            (
                "prometheus_url".to_string(),
                prometheus_url(config, &workspace_id),
            ),
            ("proxy_service".to_string(), proxy_service(config)),
        ]);
        if inputs.grafana_url.is_none() {
            report
                .notes
                .push("no Grafana links: apply `grafana`, then `meshctl kiali` again".into());
        }
        report.notes.push(format!(
            "open Kiali with `meshctl kiali open` (port-forward to Service {}/{KIALI_NAME})",
            config.kiali.namespace
        ));
        Ok(report)
    }

    async fn destroy_plan(&self, ctx: &StepCtx) -> Result<StepPlan, Error> {
        let mut plan = StepPlan::new(StepId::Kiali);
        if !can_connect(ctx).await {
            plan.note(
                "no cluster to look at (offline, or `cluster` not applied): nothing to remove",
            );
            return Ok(plan);
        }
        let kube = connect(ctx).await?;
        plan.actions = labelled(&kube).await?;
        Ok(plan)
    }

    async fn destroy(&self, ctx: &StepCtx) -> Result<StepReport, Error> {
        let mut report = StepReport {
            step: Some(StepId::Kiali),
            ..Default::default()
        };
        if !can_connect(ctx).await {
            report
                .notes
                .push("no cluster recorded for this stack: nothing to remove".into());
            return Ok(report);
        }
        let kube = connect(ctx).await?;
        for c in [CHART_COMPONENT, PROXY_COMPONENT] {
            report
                .actions
                .extend(delete_component(&kube, c, ctx.options.timeout).await?);
        }
        Ok(report)
    }

    async fn status(&self, ctx: &StepCtx) -> Result<StepStatus, Error> {
        let ns = &ctx.config.kiali.namespace;
        let mut details = BTreeMap::new();
        if !can_connect(ctx).await {
            details.insert(
                "note".to_string(),
                "no cluster recorded for this stack (apply `cluster`, or set kubernetes.kubeconfig)"
                    .to_string(),
            );
            return Ok(StepStatus {
                step: StepId::Kiali,
                state: "absent".into(),
                details,
            });
        }
        let kube = connect(ctx).await?;
        let mut ready = 0;
        let mut found = 0;
        for name in [PROXY_NAME, KIALI_NAME] {
            let r = deployment(ns, name);
            let text = match kube.get(&r).await? {
                None => "missing".to_string(),
                Some(d) => {
                    found += 1;
                    let want = d.data["spec"]["replicas"].as_u64().unwrap_or(1);
                    let have = d.data["status"]["availableReplicas"].as_u64().unwrap_or(0);
                    if have >= want {
                        ready += 1;
                    }
                    format!("{have}/{want} available")
                }
            };
            details.insert(format!("deployment {name}"), text);
        }
        if let Some(url) = ctx.state.output(StepId::Kiali, "prometheus_url").await {
            details.insert("prometheus_url".into(), url);
        }
        let state = match (found, ready) {
            (0, _) => "absent",
            (2, 2) => "present",
            _ => "partial",
        };
        Ok(StepStatus {
            step: StepId::Kiali,
            state: state.into(),
            details,
        })
    }

    async fn undo(&self, ctx: &StepCtx, resource: &Resource) -> Result<(), Error> {
        match resource.kind.as_str() {
            LEDGER_KIND => {
                let kube = connect(ctx).await?;
                let selector = resource
                    .get("selector")
                    .map(str::to_string)
                    .unwrap_or_else(|| selector(&kube, &resource.id));
                kube.delete_by_label(&selector, Propagation::Background, ctx.options.timeout)
                    .await?;
                Ok(())
            }
            other => Err(Resource::unknown_kind(StepId::Kiali, other)),
        }
    }

    fn undo_hint(&self, resource: &Resource) -> String {
        match (resource.kind.as_str(), resource.get("selector")) {
            (LEDGER_KIND, Some(selector)) => format!(
                "kubectl delete $(kubectl api-resources --verbs=list,delete -o name | paste -sd, -) --all-namespaces -l {selector}"
            ),
            _ => "meshctl cleanup --only kiali".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(extra: &str) -> Config {
        serde_yaml_ng::from_str(&format!("name: demo\nregion: eu-west-1\n{extra}")).unwrap()
    }

    #[test]
    fn undo_hint_deletes_by_the_recorded_selector() {
        let r = Resource::new(StepId::Kiali, LEDGER_KIND, PROXY_COMPONENT).with(
            "selector",
            "meshctl.io/stack=demo,meshctl.io/component=kiali-proxy",
        );
        let hint = KialiStep.undo_hint(&r);
        assert!(hint.starts_with("kubectl delete "), "{hint}");
        assert!(hint.ends_with("-l meshctl.io/stack=demo,meshctl.io/component=kiali-proxy"));
        let other = Resource::new(StepId::Kiali, "something", "x");
        assert_eq!(KialiStep.undo_hint(&other), "meshctl cleanup --only kiali");
    }

    #[test]
    fn metrics_window_is_at_least_two_scrapes_and_a_minute() {
        assert_eq!(metrics_window("15s"), "1m");
        assert_eq!(metrics_window("30s"), "1m");
        assert_eq!(metrics_window("45s"), "90s");
        assert_eq!(metrics_window("1m"), "2m");
        assert_eq!(metrics_window("2m30s"), "5m");
    }

    #[test]
    fn values_point_kiali_at_the_proxy_with_thanos_proxy() {
        let c = config("prometheus:\n  scrape_interval: 1m\n");
        let inputs = Inputs {
            workspace_id: Some("ws-1234".into()),
            ..Default::default()
        };
        let v = values(&c, &inputs).unwrap();
        let p = &v["external_services"]["prometheus"];
        assert_eq!(
            p["url"],
            "http://aws-sigv4-proxy.istio-system.svc.cluster.local:8080/workspaces/ws-1234/"
        );
        assert_eq!(p["thanos_proxy"]["enabled"], true);
        assert_eq!(p["thanos_proxy"]["scrape_interval"], "1m");
        assert_eq!(p["thanos_proxy"]["retention_period"], "150d");
        assert!(
            p["health_check_url"]
                .as_str()
                .unwrap()
                .starts_with(p["url"].as_str().unwrap())
        );
        assert_eq!(
            v["kiali_feature_flags"]["ui_defaults"]["metrics_per_refresh"],
            "2m"
        );
        assert_eq!(v["external_services"]["grafana"]["enabled"], false);
        assert_eq!(v["auth"]["strategy"], "token");
    }

    #[test]
    fn grafana_links_only_with_a_workspace_and_a_token_only_by_secret() {
        let c = config("");
        let mut inputs = Inputs {
            workspace_id: Some("ws-1".into()),
            grafana_url: Some("https://g-abc.grafana-workspace.eu-west-1.amazonaws.com".into()),
            ..Default::default()
        };
        let g = values(&c, &inputs).unwrap()["external_services"]["grafana"].clone();
        assert_eq!(g["enabled"], true);
        assert_eq!(
            g["external_url"],
            "https://g-abc.grafana-workspace.eu-west-1.amazonaws.com"
        );
        assert!(g.get("auth").is_none());
        let names: Vec<&str> = g["dashboards"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["name"].as_str().unwrap())
            .collect();
        assert!(names.contains(&"Istio Workload Dashboard"), "{names:?}");
        inputs.grafana_token = true;
        let g = values(&c, &inputs).unwrap()["external_services"]["grafana"].clone();
        assert_eq!(g["auth"]["token"], "secret:kiali-grafana:token");
    }

    #[test]
    fn proxy_signs_for_aps_in_the_region_as_the_query_account() {
        let c = config("");
        let objs = proxy_objects(&c).unwrap();
        let dep = objs
            .iter()
            .find(|o| ObjectRef::of(o).kind == "Deployment")
            .unwrap();
        let spec = &dep.data["spec"]["template"]["spec"];
        assert_eq!(
            spec["serviceAccountName"],
            "amp-iamproxy-query-service-account"
        );
        let args: Vec<&str> = spec["containers"][0]["args"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        assert_eq!(
            args,
            [
                "--name",
                "aps",
                "--region",
                "eu-west-1",
                "--host",
                "aps-workspaces.eu-west-1.amazonaws.com",
                "--port",
                ":8080"
            ]
        );
        assert!(spec["containers"][0]["readinessProbe"].is_object());
        // The irsa step owns the service account: the proxy only runs as it.
        assert!(
            objs.iter()
                .all(|o| ObjectRef::of(o).kind != "ServiceAccount")
        );
    }
}
