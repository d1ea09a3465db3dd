//! `prometheus`: how the mesh's metrics reach AMP.
//!
//! - `prometheus.mode: agent` (default): Prometheus in agent mode from meshctl's own manifests
//!   (`templates/prometheus/`), applied through the Kubernetes adapter as component
//!   `prometheus`: discovery RBAC, the configuration and a Deployment whose pod template carries
//!   a checksum of the configuration. The namespace and the IRSA service account belong to the
//!   `irsa` step; this step only names the account and checks both exist before applying.
//! - `prometheus.mode: managed-collector`: an AMP managed scraper (found by the stack tag first)
//!   with the same scrape jobs, plus the RBAC its Kubernetes user needs.
//!
//! Both render one scrape configuration (`templates/prometheus/prometheus.yml.j2`).

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use ::kube::api::{Api, DeleteParams, DynamicObject};
use ::kube::discovery::Scope;
use async_trait::async_trait;
use aws_sdk_amp::Client;
use aws_sdk_amp::primitives::Blob;
use aws_sdk_amp::types::{
    AmpConfiguration, Destination, EksConfiguration, ScrapeConfiguration, ScraperStatusCode, Source,
};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::aws::{client_token, sdk_error, tags};
use crate::config::{Config, STACK_TAG};
use crate::engine::owned::{Owned, Tagged};
use crate::engine::{
    Action, Op, Resource, Step, StepCtx, StepId, StepPlan, StepReport, StepStatus,
};
use crate::error::Error;
use crate::kube::{
    ApplyOptions, Changes, Condition, Kube, KubeError, ObjectRef, Propagation, manifest,
};

/// The adapter component (label `meshctl.io/component`) of everything this step applies.
pub const COMPONENT: &str = "prometheus";
/// Ledger kind of one Kubernetes object this step created.
const K8S_OBJECT: &str = "k8s-object";
/// Ledger kind of an AMP managed scraper.
const SCRAPER: &str = "amp-scraper";
const CONFIG_TEMPLATE: &str = "prometheus/prometheus.yml.j2";
const AGENT_TEMPLATE: &str = "prometheus/agent.yaml.j2";
const SCRAPER_RBAC_TEMPLATE: &str = "prometheus/scraper-rbac.yaml.j2";
/// The Deployment of agent mode, in `prometheus.namespace`.
pub const DEPLOYMENT: &str = "prometheus";
const POLL: Duration = Duration::from_secs(10);

/// Series dropped by metric thinning (Kiali's Prometheus tuning advice): Envoy cluster,
/// listener, server and Wasm internals and the Istio agent's own series. What Kiali, the Istio
/// dashboards and meshctl's rules read (`istio_*` standard metrics, `envoy_cluster_upstream_*`,
/// `pilot_xds*`, `pilot_proxy_*`, `pilot_services`) is kept.
pub const THINNING_DROP_SERIES: &str = "istio_agent_.*|istiod_.*|istio_build|citadel_.*|galley_.*|pilot_[^psx].*|envoy_cluster_[^u].*|envoy_cluster_update.*|envoy_listener_[^dh].*|envoy_server_[^mu].*|envoy_wasm_.*";
/// Labels dropped by metric thinning: chart and operator bookkeeping, and the app/version
/// labels that duplicate the canonical service labels.
pub const THINNING_DROP_LABELS: &str = "chart|destination_app|destination_version|heritage|.*operator.*|istio.*|release|security_istio_io_.*|service_istio_io_.*|sidecar_istio_io_inject|source_app|source_version";

pub struct PrometheusStep;

/// What the scrape configuration depends on besides the config file.
#[derive(Debug, Clone, Default)]
pub struct ScrapeInputs {
    /// The AMP remote-write URL; `None` renders no `remote_write` (managed collector).
    pub remote_write_url: Option<String>,
    /// Istio runs in ambient mode: scrape ztunnel too.
    pub ambient: bool,
}

/// The Prometheus configuration (`prometheus.yml`) for `config`.
pub fn render_config(config: &Config, inputs: &ScrapeInputs) -> Result<String, Error> {
    let p = &config.prometheus;
    crate::templates::render(
        CONFIG_TEMPLATE,
        json!({
            "stack": config.name,
            "scrape_interval": p.scrape_interval,
            "istio_namespace": config.istio.namespace,
            "ambient": inputs.ambient,
            "thinning": p.thinning,
            "drop_series": THINNING_DROP_SERIES,
            "drop_labels": THINNING_DROP_LABELS,
            "remote_write_url": inputs.remote_write_url,
            "region": config.region,
            "queue": p.remote_write,
        }),
    )
}

/// The agent-mode manifests: discovery RBAC for the service account, the ConfigMap holding
/// `prometheus_yml` and the Deployment running as that account. The namespace and the service
/// account are the `irsa` step's (see [`PrometheusStep::missing_identity`]).
pub fn render_agent(config: &Config, prometheus_yml: &str) -> Result<String, Error> {
    let p = &config.prometheus;
    crate::templates::render(
        AGENT_TEMPLATE,
        json!({
            "stack": config.name,
            "namespace": p.namespace,
            "service_account": config.irsa.prometheus_service_account,
            "cluster_role": cluster_role(config),
            "config": prometheus_yml,
            "checksum": checksum(prometheus_yml),
            "image": p.image,
            "resources": p.resources,
        }),
    )
}

/// The RBAC an AMP managed collector's Kubernetes user (`aps-collector-user`) needs.
pub fn render_scraper_rbac(config: &Config) -> Result<String, Error> {
    crate::templates::render(
        SCRAPER_RBAC_TEMPLATE,
        json!({
            "stack": config.name,
            "cluster_role": format!("meshctl-{}-aps-collector", config.name),
        }),
    )
}

fn cluster_role(config: &Config) -> String {
    format!("meshctl-{}-prometheus", config.name)
}

fn checksum(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// The scraper alias of a stack.
fn scraper_alias(config: &Config) -> String {
    format!("{}-meshctl", config.name)
}

/// A managed scraper as meshctl sees it.
#[derive(Debug, Clone)]
struct Scraper {
    id: String,
    arn: String,
    alias: Option<String>,
    status: ScraperStatusCode,
    status_reason: Option<String>,
    role_arn: String,
    tags: HashMap<String, String>,
    blob: Option<Vec<u8>>,
    workspace_arn: Option<String>,
}

impl Tagged for Scraper {
    fn id(&self) -> &str {
        &self.id
    }
    fn name(&self) -> Option<&str> {
        self.alias.as_deref()
    }
    fn tags(&self) -> &HashMap<String, String> {
        &self.tags
    }
}

/// Inputs read from the stack state, by step.
struct Upstream {
    remote_write_url: Option<String>,
    workspace_arn: Option<String>,
    ambient: bool,
    cluster_arn: Option<String>,
    subnets: Vec<String>,
    security_group: Option<String>,
    /// The cluster can be reached: a kubeconfig is configured or `cluster` recorded an endpoint.
    reachable: bool,
}

impl Upstream {
    async fn read(ctx: &StepCtx) -> Upstream {
        let out = |step, key: &'static str| ctx.state.output(step, key);
        let config = &ctx.config;
        Upstream {
            remote_write_url: out(StepId::Amp, "remote_write_url").await,
            workspace_arn: out(StepId::Amp, "workspace_arn").await,
            ambient: out(StepId::Istio, "mode").await.as_deref() == Some("ambient"),
            cluster_arn: out(StepId::Cluster, "cluster_arn").await,
            subnets: out(StepId::Cluster, "private_subnet_ids")
                .await
                .map(|s| {
                    s.split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default(),
            security_group: out(StepId::Cluster, "cluster_security_group_id").await,
            reachable: config.kubernetes.kubeconfig.is_some()
                || config.kubernetes.context.is_some()
                || out(StepId::Cluster, crate::kube::connect::outputs::ENDPOINT)
                    .await
                    .is_some(),
        }
    }

    fn scrape_inputs(&self, config: &Config) -> ScrapeInputs {
        ScrapeInputs {
            remote_write_url: if config.prometheus.managed_collector() {
                None
            } else {
                Some(
                    self.remote_write_url
                        .clone()
                        .unwrap_or_else(|| "<amp remote_write_url>".into()),
                )
            },
            ambient: self.ambient,
        }
    }

    fn require(value: &Option<String>, what: &str, step: &str) -> Result<String, Error> {
        value.clone().ok_or_else(|| {
            Error::usage(
                format!("the stack has no {what} recorded: the `{step}` step has not been applied"),
                format!("run `meshctl {step}` first"),
            )
        })
    }
}

fn parse(name: &str, yaml: &str) -> Result<Vec<DynamicObject>, Error> {
    Ok(manifest::parse(name, yaml)?)
}

/// The objects to apply for `config`: agent mode or the managed collector's RBAC.
fn objects(config: &Config, up: &Upstream) -> Result<Vec<DynamicObject>, Error> {
    if config.prometheus.managed_collector() {
        parse(SCRAPER_RBAC_TEMPLATE, &render_scraper_rbac(config)?)
    } else {
        let yml = render_config(config, &up.scrape_inputs(config))?;
        parse(AGENT_TEMPLATE, &render_agent(config, &yml)?)
    }
}

fn kind_name(r: &ObjectRef) -> (String, String) {
    let name = match &r.namespace {
        Some(ns) => format!("{ns}/{}", r.name),
        None => r.name.clone(),
    };
    (format!("k8s {}", r.kind), name)
}

/// A plan or apply result as step actions.
fn actions(changes: &Changes) -> Vec<Action> {
    changes
        .objects
        .iter()
        .map(|o| {
            let (kind, name) = kind_name(&o.object);
            let op = match o.op {
                crate::kube::Op::Create => Op::Create,
                crate::kube::Op::Change => Op::Update,
                crate::kube::Op::Unchanged => Op::Keep,
                crate::kube::Op::Delete => Op::Delete,
            };
            let mut a = Action::new(op, kind, name);
            if !o.fields.is_empty() {
                a.push_detail(format!("changes {}", o.fields.join(", ")));
            }
            if let Some(n) = &o.note {
                a.push_detail(n.clone());
            }
            a
        })
        .collect()
}

impl PrometheusStep {
    async fn connect(ctx: &StepCtx) -> Result<Kube, Error> {
        Ok(crate::kube::connect(ctx)
            .await?
            .with_poll_interval(ctx.poll(crate::kube::DEFAULT_POLL)))
    }

    fn options(ctx: &StepCtx) -> ApplyOptions {
        ApplyOptions {
            force: false,
            timeout: ctx.options.timeout,
        }
    }

    /// The namespace and the service account agent mode runs in. Both belong to the `irsa`
    /// step (component `irsa`): this step never applies them, so the two steps never take
    /// each other's objects over and a second run changes nothing.
    fn identity_refs(config: &Config) -> [ObjectRef; 2] {
        let ns = &config.prometheus.namespace;
        [
            ObjectRef {
                api_version: "v1".into(),
                kind: "Namespace".into(),
                namespace: None,
                name: ns.clone(),
            },
            ObjectRef {
                api_version: "v1".into(),
                kind: "ServiceAccount".into(),
                namespace: Some(ns.clone()),
                name: config.irsa.prometheus_service_account.clone(),
            },
        ]
    }

    /// Which of the namespace and the service account ([`Self::identity_refs`]) do not exist.
    async fn missing_identity(kube: &Kube, config: &Config) -> Result<Vec<ObjectRef>, Error> {
        let mut missing = vec![];
        for r in Self::identity_refs(config) {
            if kube.get(&r).await?.is_none() {
                missing.push(r);
            }
        }
        Ok(missing)
    }

    /// "Namespace x is missing" / "Namespace x and ServiceAccount x/y are missing".
    fn describe(missing: &[ObjectRef]) -> String {
        let names: Vec<String> = missing.iter().map(ToString::to_string).collect();
        let verb = if names.len() == 1 { "is" } else { "are" };
        format!("{} {verb} missing", names.join(" and "))
    }

    /// What prune must keep besides `objects`: the `irsa` step's namespace and service account,
    /// even when an earlier meshctl labelled them `prometheus` (`meshctl irsa` takes them over).
    fn keep_on_prune(config: &Config, objects: &[DynamicObject]) -> Vec<DynamicObject> {
        let mut keep = objects.to_vec();
        for r in Self::identity_refs(config) {
            let mut obj =
                DynamicObject::new(&r.name, &::kube::api::ApiResource::from_gvk(&r.gvk()));
            obj.metadata.namespace = r.namespace.clone();
            keep.push(obj);
        }
        keep
    }

    /// Wait for `what` under `--timeout`, stopping at once on Ctrl-C.
    async fn kube_wait(
        ctx: &StepCtx,
        kube: &Kube,
        r: &ObjectRef,
        condition: Condition,
    ) -> Result<(), Error> {
        tokio::select! {
            _ = ctx.cancel.cancelled() => Err(Error::Interrupted),
            res = kube.wait_for(r, condition, ctx.options.timeout) => Ok(res?),
        }
    }

    fn deployment_ref(config: &Config) -> ObjectRef {
        ObjectRef {
            api_version: "apps/v1".into(),
            kind: "Deployment".into(),
            namespace: Some(config.prometheus.namespace.clone()),
            name: DEPLOYMENT.into(),
        }
    }

    fn outputs(config: &Config, up: &Upstream) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        out.insert("mode".into(), config.prometheus.mode.clone());
        out.insert("namespace".into(), config.prometheus.namespace.clone());
        out.insert(
            "scrape_interval".into(),
            config.prometheus.scrape_interval.clone(),
        );
        if let Some(url) = &up.remote_write_url {
            out.insert("remote_write_url".into(), url.clone());
        }
        if !config.prometheus.managed_collector() {
            out.insert(
                "service_account".into(),
                config.irsa.prometheus_service_account.clone(),
            );
            out.insert("deployment".into(), DEPLOYMENT.into());
        }
        out
    }

    // ---- the managed collector -----------------------------------------------------------

    fn scraper_from(d: &aws_sdk_amp::types::ScraperDescription) -> Scraper {
        Scraper {
            id: d.scraper_id().to_string(),
            arn: d.arn().to_string(),
            alias: d.alias().map(str::to_string),
            status: d
                .status()
                .map(|s| s.status_code().clone())
                .unwrap_or(ScraperStatusCode::Creating),
            status_reason: d.status_reason().map(str::to_string),
            role_arn: d.role_arn().to_string(),
            tags: d.tags().cloned().unwrap_or_default(),
            blob: match d.scrape_configuration() {
                Some(ScrapeConfiguration::ConfigurationBlob(b)) => Some(b.as_ref().to_vec()),
                _ => None,
            },
            workspace_arn: match d.destination() {
                Some(Destination::AmpConfiguration(a)) => Some(a.workspace_arn().to_string()),
                _ => None,
            },
        }
    }

    async fn describe_scraper(client: &Client, id: &str) -> Result<Option<Scraper>, Error> {
        match client.describe_scraper().scraper_id(id).send().await {
            Ok(out) => Ok(out.scraper().map(Self::scraper_from)),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_resource_not_found_exception()) =>
            {
                Ok(None)
            }
            Err(e) => Err(sdk_error("amp", "DescribeScraper", &e)),
        }
    }

    /// The stack's scrapers by the ownership rules (tag first, alias second).
    async fn owned_scrapers(client: &Client, config: &Config) -> Result<Owned<Scraper>, Error> {
        let mut found = vec![];
        let mut pages = client.list_scrapers().into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| sdk_error("amp", "ListScrapers", &e))?;
            for s in page.scrapers() {
                let tags = s.tags().cloned().unwrap_or_default();
                if !crate::engine::owned::is_owned(&tags, &config.name) {
                    continue;
                }
                let status = s.status().map(|st| st.status_code().clone());
                if matches!(status, Some(ScraperStatusCode::Deleting)) {
                    continue;
                }
                if let Some(full) = Self::describe_scraper(client, s.scraper_id()).await? {
                    found.push(full);
                }
            }
        }
        let alias = scraper_alias(config);
        Ok(Owned::sort(found, &config.name, None, &alias, |s| {
            s.status == ScraperStatusCode::Active
        }))
    }

    async fn wait_scraper_active(
        ctx: &StepCtx,
        client: &Client,
        id: &str,
    ) -> Result<Scraper, Error> {
        ctx.wait_for(
            &format!("AMP scraper {id} to become ACTIVE"),
            POLL,
            || async {
                match Self::describe_scraper(client, id).await? {
                    Some(s) if s.status == ScraperStatusCode::Active => Ok(Some(s)),
                    Some(s)
                        if matches!(
                            s.status,
                            ScraperStatusCode::CreationFailed | ScraperStatusCode::UpdateFailed
                        ) =>
                    {
                        Err(Error::Aws {
                            service: "amp",
                            operation: "CreateScraper",
                            message: format!(
                                "scraper {id} ended in {}: {}",
                                s.status.as_str(),
                                s.status_reason.as_deref().unwrap_or("no reason given")
                            ),
                            help: "check the cluster's subnets and that its API server is reachable from them, then run `meshctl cleanup --only prometheus` and try again".into(),
                        })
                    }
                    Some(_) => Ok(None),
                    None => Err(Error::Aws {
                        service: "amp",
                        operation: "DescribeScraper",
                        message: format!("scraper {id} disappeared while waiting for it"),
                        help: "something else deleted it; run the command again".into(),
                    }),
                }
            },
        )
        .await
    }

    async fn delete_scraper(ctx: &StepCtx, client: &Client, id: &str) -> Result<bool, Error> {
        ctx.progress.message(&format!("deleting AMP scraper {id}"));
        let run_id = ctx.ledger.run_id().await;
        match client
            .delete_scraper()
            .scraper_id(id)
            .client_token(client_token(
                &ctx.config.name,
                &run_id,
                &format!("delete-{id}"),
            ))
            .send()
            .await
        {
            Ok(_) => {}
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_resource_not_found_exception()) =>
            {
                return Ok(false);
            }
            Err(e) => return Err(sdk_error("amp", "DeleteScraper", &e)),
        }
        if !ctx.options.no_wait {
            ctx.wait_for(&format!("AMP scraper {id} to be deleted"), POLL, || async {
                Ok(Self::describe_scraper(client, id)
                    .await?
                    .is_none()
                    .then_some(()))
            })
            .await?;
        }
        Ok(true)
    }

    /// What the scraper needs: a plan action for the survey result.
    fn scraper_action(found: Option<&Scraper>, blob: &[u8], workspace_arn: &str) -> Action {
        match found {
            None => Action::new(Op::Create, SCRAPER, "(new)")
                .detail("AMP managed collector, Kubernetes discovery of the cluster"),
            Some(s) => {
                let mut details = vec![];
                if s.blob.as_deref() != Some(blob) {
                    details.push("scrape configuration changes".to_string());
                }
                if s.workspace_arn.as_deref() != Some(workspace_arn) {
                    details.push(format!("destination -> {workspace_arn}"));
                }
                let mut a = Action::new(
                    if details.is_empty() {
                        Op::Keep
                    } else {
                        Op::Update
                    },
                    SCRAPER,
                    &s.id,
                )
                .detail(format!("{}, owned", s.status.as_str()));
                for d in details {
                    a.push_detail(d);
                }
                a
            }
        }
    }

    async fn apply_scraper(
        ctx: &StepCtx,
        up: &Upstream,
        report: &mut StepReport,
    ) -> Result<(), Error> {
        let config = &ctx.config;
        let aws = ctx.aws()?;
        let client = aws.amp();
        let workspace_arn = Upstream::require(&up.workspace_arn, "AMP workspace ARN", "amp")?;
        let cluster_arn = Upstream::require(&up.cluster_arn, "EKS cluster ARN", "cluster")?;
        if up.subnets.is_empty() {
            return Err(Error::usage(
                "the stack has no private subnets recorded for the cluster: the `cluster` step has not been applied",
                "run `meshctl cluster` first; the managed collector runs in the cluster's subnets",
            ));
        }
        let yml = render_config(config, &up.scrape_inputs(config))?;
        let blob = yml.as_bytes().to_vec();
        ctx.progress.message("looking for the AMP scraper");
        let owned = Self::owned_scrapers(&client, config).await?;
        let run_id = ctx.ledger.run_id().await;
        let placement = ctx.placement();
        let scraper = match &owned.primary {
            None => {
                ctx.progress.message("creating the AMP scraper");
                let out = client
                    .create_scraper()
                    .alias(scraper_alias(config))
                    .scrape_configuration(ScrapeConfiguration::ConfigurationBlob(Blob::new(
                        blob.clone(),
                    )))
                    .source(Source::EksConfiguration(
                        EksConfiguration::builder()
                            .cluster_arn(&cluster_arn)
                            .set_subnet_ids(Some(up.subnets.clone()))
                            .set_security_group_ids(up.security_group.clone().map(|g| vec![g]))
                            .build()
                            .map_err(|e| Error::Aws {
                                service: "amp",
                                operation: "CreateScraper",
                                message: e.to_string(),
                                help: "run `meshctl cluster` again so its outputs are complete"
                                    .into(),
                            })?,
                    ))
                    .destination(Destination::AmpConfiguration(
                        AmpConfiguration::builder()
                            .workspace_arn(&workspace_arn)
                            .build()
                            .map_err(|e| Error::Aws {
                                service: "amp",
                                operation: "CreateScraper",
                                message: e.to_string(),
                                help: "run `meshctl amp` again so its outputs are complete".into(),
                            })?,
                    ))
                    .client_token(client_token(&config.name, &run_id, SCRAPER))
                    .set_tags(Some(tags(config)))
                    .send()
                    .await
                    .map_err(|e| sdk_error("amp", "CreateScraper", &e))?;
                let id = out.scraper_id().to_string();
                ctx.ledger
                    .record(
                        Resource::new(StepId::Prometheus, SCRAPER, &id)
                            .with("arn", out.arn())
                            .with("region", &placement.region)
                            .with("account", &placement.account),
                    )
                    .await?;
                report.actions.push(
                    Action::new(Op::Create, SCRAPER, &id)
                        .detail(format!("alias {}", scraper_alias(config))),
                );
                id
            }
            Some(s) => {
                let action = Self::scraper_action(Some(s), &blob, &workspace_arn);
                if action.op == Op::Update {
                    ctx.progress
                        .message(&format!("updating AMP scraper {}", s.id));
                    client
                        .update_scraper()
                        .scraper_id(&s.id)
                        .scrape_configuration(ScrapeConfiguration::ConfigurationBlob(Blob::new(
                            blob.clone(),
                        )))
                        .client_token(client_token(&config.name, &run_id, "amp-scraper-update"))
                        .send()
                        .await
                        .map_err(|e| sdk_error("amp", "UpdateScraper", &e))?;
                }
                report.actions.push(action);
                s.id.clone()
            }
        };
        if !owned.leftovers.is_empty() {
            let ids: Vec<&str> = owned.leftovers.iter().map(|s| s.id.as_str()).collect();
            report.notes.push(format!(
                "other scrapers tagged for this stack are left over from earlier runs: {}; `meshctl cleanup --only prometheus` removes them",
                ids.join(", ")
            ));
        }
        report.outputs.insert("scraper_id".into(), scraper.clone());
        if ctx.options.no_wait {
            report.incomplete = Some(format!(
                "--no-wait: AMP scraper {scraper} may not be ACTIVE yet; run `meshctl prometheus` again to wait for it"
            ));
            return Ok(());
        }
        let active = Self::wait_scraper_active(ctx, &client, &scraper).await?;
        report.outputs.insert("scraper_arn".into(), active.arn);
        report
            .outputs
            .insert("scraper_role_arn".into(), active.role_arn);
        Ok(())
    }

    async fn delete_object(kube: &Kube, r: &ObjectRef) -> Result<bool, Error> {
        let (ar, caps) = match kube.resolve(r).await {
            Ok(found) => found,
            Err(KubeError::UnknownKind { .. }) => return Ok(false),
            Err(e) => return Err(e.into()),
        };
        let api: Api<DynamicObject> = match (&caps.scope, &r.namespace) {
            (Scope::Namespaced, Some(ns)) => Api::namespaced_with(kube.client().clone(), ns, &ar),
            _ => Api::all_with(kube.client().clone(), &ar),
        };
        match api.delete(&r.name, &DeleteParams::background()).await {
            Ok(_) => Ok(true),
            Err(::kube::Error::Api(s)) if s.code == 404 => Ok(false),
            Err(e) => Err(KubeError::from_kube("delete", &r.to_string(), e).into()),
        }
    }
}

#[async_trait]
impl Step for PrometheusStep {
    fn id(&self) -> StepId {
        StepId::Prometheus
    }

    async fn plan(&self, ctx: &StepCtx) -> Result<StepPlan, Error> {
        let config = &ctx.config;
        let mut plan = StepPlan::new(StepId::Prometheus);
        let up = Upstream::read(ctx).await;
        let objects = objects(config, &up)?;
        let managed = config.prometheus.managed_collector();
        let mode_note = if managed {
            format!(
                "managed-collector mode: an AMP scraper every {} with Kubernetes discovery; nothing runs in the cluster",
                config.prometheus.scrape_interval
            )
        } else {
            format!(
                "agent mode: {} every {}, remote write to AMP with SigV4 ({}), thinning {}",
                config.prometheus.image,
                config.prometheus.scrape_interval,
                config.region,
                if config.prometheus.thinning {
                    "on"
                } else {
                    "off"
                }
            )
        };
        plan.note(mode_note);
        let offline = ctx.aws.is_none() || !up.reachable;
        if offline {
            for o in &objects {
                let (kind, name) = kind_name(&ObjectRef::of(o));
                plan.push(Action::new(Op::Create, kind, name));
            }
            plan.note(if ctx.aws.is_none() {
                "offline: assumes no object exists in the cluster"
            } else {
                "the cluster is not reachable yet (no `cluster` endpoint and no `kubernetes.kubeconfig`): assumes no object exists"
            });
        } else {
            let kube = Self::connect(ctx).await?;
            let mut ask = objects;
            if !managed {
                let missing = Self::missing_identity(&kube, config).await?;
                if !missing.is_empty() {
                    plan.note(format!(
                        "{}: the `irsa` step creates them (`meshctl irsa`; `meshctl up` runs it first)",
                        Self::describe(&missing)
                    ));
                }
                // No dry run can place an object in a namespace that does not exist yet.
                let ns = &config.prometheus.namespace;
                if missing.iter().any(|r| r.kind == "Namespace") {
                    let (inside, outside): (Vec<_>, Vec<_>) = ask
                        .into_iter()
                        .partition(|o| o.metadata.namespace.as_deref() == Some(ns.as_str()));
                    for o in &inside {
                        let (kind, name) = kind_name(&ObjectRef::of(o));
                        plan.push(
                            Action::new(Op::Create, kind, name)
                                .detail("its namespace is created first, by `irsa`"),
                        );
                    }
                    ask = outside;
                }
            }
            let changes = kube.plan(COMPONENT, &ask, &Self::options(ctx)).await?;
            plan.actions.extend(actions(&changes));
        }
        if managed {
            match &ctx.aws {
                Some(aws) => {
                    let client = aws.amp();
                    let owned = Self::owned_scrapers(&client, config).await?;
                    let yml = render_config(config, &up.scrape_inputs(config))?;
                    let ws = up.workspace_arn.clone().unwrap_or_default();
                    plan.push(Self::scraper_action(
                        owned.primary.as_ref(),
                        yml.as_bytes(),
                        &ws,
                    ));
                    if !owned.leftovers.is_empty() {
                        let ids: Vec<&str> =
                            owned.leftovers.iter().map(|s| s.id.as_str()).collect();
                        plan.note(format!(
                            "other scrapers tagged for this stack are left over from earlier runs: {}; `meshctl cleanup --only prometheus` removes them",
                            ids.join(", ")
                        ));
                    }
                }
                None => plan.push(Self::scraper_action(None, &[], "")),
            }
        }
        Ok(plan)
    }

    async fn apply(&self, ctx: &StepCtx) -> Result<StepReport, Error> {
        let config = &ctx.config;
        let up = Upstream::read(ctx).await;
        let mut report = StepReport {
            step: Some(StepId::Prometheus),
            ..Default::default()
        };
        let managed = config.prometheus.managed_collector();
        if !managed {
            Upstream::require(&up.remote_write_url, "AMP remote-write URL", "amp")?;
        }
        let objects = objects(config, &up)?;
        ctx.progress.message("connecting to the cluster");
        let kube = Self::connect(ctx).await?;
        if !managed {
            let missing = Self::missing_identity(&kube, config).await?;
            if !missing.is_empty() {
                return Err(Error::usage(
                    format!(
                        "{}: Prometheus runs in the namespace and as the service account that the `irsa` step creates",
                        Self::describe(&missing)
                    ),
                    "run `meshctl irsa` (or `meshctl up`, which runs it first), then run this step again",
                ));
            }
        }
        let options = Self::options(ctx);
        let planned = kube.plan(COMPONENT, &objects, &options).await?;
        // Record what this run creates before creating it: a rollback then removes exactly
        // these objects (deleting one that never got created is a no-op).
        let placement = ctx.placement();
        for o in planned
            .objects
            .iter()
            .filter(|o| o.op == crate::kube::Op::Create)
        {
            let r = &o.object;
            let mut res = Resource::new(StepId::Prometheus, K8S_OBJECT, r.to_string())
                .with("api_version", &r.api_version)
                .with("kind", &r.kind)
                .with("name", &r.name)
                .with("region", &placement.region);
            if let Some(ns) = &r.namespace {
                res = res.with("namespace", ns);
            }
            ctx.ledger.record(res).await?;
        }
        ctx.progress
            .message(&format!("applying {} objects", objects.len()));
        let applied = kube.apply(COMPONENT, &objects, &options).await?;
        report.actions.extend(actions(&applied));
        let keep = Self::keep_on_prune(config, &objects);
        let pruned = kube.prune(COMPONENT, &keep, ctx.options.timeout).await?;
        report.actions.extend(actions(&pruned));
        report.outputs = Self::outputs(config, &up);

        if managed {
            Self::apply_scraper(ctx, &up, &mut report).await?;
            return Ok(report);
        }
        let deployment = Self::deployment_ref(config);
        if ctx.options.no_wait {
            report.notes.push(format!(
                "--no-wait: did not wait for {deployment} to be available"
            ));
        } else {
            ctx.progress
                .message(&format!("waiting for {deployment} to be available"));
            Self::kube_wait(ctx, &kube, &deployment, Condition::Ready).await?;
        }
        Ok(report)
    }

    async fn destroy_plan(&self, ctx: &StepCtx) -> Result<StepPlan, Error> {
        let config = &ctx.config;
        let mut plan = StepPlan::new(StepId::Prometheus);
        let up = Upstream::read(ctx).await;
        if up.reachable {
            plan.push(
                Action::new(Op::Delete, "k8s objects", format!("component {COMPONENT}")).detail(
                    format!(
                        "every object labelled {}={COMPONENT}, {STACK_TAG}={}",
                        manifest::COMPONENT_LABEL,
                        config.name
                    ),
                ),
            );
        } else {
            plan.note("no cluster to reach (no `cluster` endpoint and no `kubernetes.kubeconfig`): no Kubernetes object to remove");
        }
        let Some(aws) = &ctx.aws else {
            plan.note("offline: cannot list AMP scrapers without credentials");
            return Ok(plan);
        };
        for s in Self::owned_scrapers(&aws.amp(), config).await?.deletable() {
            plan.push(Action::new(Op::Delete, SCRAPER, &s.id).detail(format!(
                "alias {}, tagged {STACK_TAG}={}",
                s.alias.as_deref().unwrap_or("(none)"),
                config.name
            )));
        }
        Ok(plan)
    }

    async fn destroy(&self, ctx: &StepCtx) -> Result<StepReport, Error> {
        let config = &ctx.config;
        let mut report = StepReport {
            step: Some(StepId::Prometheus),
            ..Default::default()
        };
        // The scraper first: it stops scraping before its RBAC goes.
        let client = ctx.aws()?.amp();
        for s in Self::owned_scrapers(&client, config).await?.deletable() {
            if Self::delete_scraper(ctx, &client, &s.id).await? {
                report.actions.push(Action::new(Op::Delete, SCRAPER, &s.id));
            }
        }
        let up = Upstream::read(ctx).await;
        if up.reachable {
            let kube = Self::connect(ctx).await?;
            let selector = manifest::component_selector(&config.name, COMPONENT);
            ctx.progress
                .message(&format!("deleting objects labelled {selector}"));
            let gone = tokio::select! {
                _ = ctx.cancel.cancelled() => return Err(Error::Interrupted),
                res = kube.delete_by_label(&selector, Propagation::Background, ctx.options.timeout) => res?,
            };
            for r in gone {
                let (kind, name) = kind_name(&r);
                report.actions.push(Action::new(Op::Delete, kind, name));
            }
        } else {
            report
                .notes
                .push("no cluster to reach: no Kubernetes object removed".into());
        }
        Ok(report)
    }

    async fn status(&self, ctx: &StepCtx) -> Result<StepStatus, Error> {
        let config = &ctx.config;
        let mut details = BTreeMap::new();
        details.insert("mode".into(), config.prometheus.mode.clone());
        let state = if config.prometheus.managed_collector() {
            let client = ctx.aws()?.amp();
            match Self::owned_scrapers(&client, config).await?.primary {
                None => "absent",
                Some(s) => {
                    details.insert("scraper_id".into(), s.id.clone());
                    details.insert("state".into(), s.status.as_str().to_string());
                    if let Some(r) = &s.status_reason {
                        details.insert("reason".into(), r.clone());
                    }
                    if s.status == ScraperStatusCode::Active {
                        "present"
                    } else {
                        "partial"
                    }
                }
            }
        } else if !Upstream::read(ctx).await.reachable {
            details.insert("note".into(), "no cluster to reach".into());
            "unknown"
        } else {
            let kube = Self::connect(ctx).await?;
            let r = Self::deployment_ref(config);
            match kube.get(&r).await? {
                None => "absent",
                Some(d) => match crate::kube::readiness("Deployment", &d) {
                    Ok(()) => {
                        details.insert("deployment".into(), format!("{r}: available"));
                        "present"
                    }
                    Err(why) => {
                        details.insert("deployment".into(), format!("{r}: {why}"));
                        "partial"
                    }
                },
            }
        };
        Ok(StepStatus {
            step: StepId::Prometheus,
            state: state.into(),
            details,
        })
    }

    async fn undo(&self, ctx: &StepCtx, resource: &Resource) -> Result<(), Error> {
        match resource.kind.as_str() {
            SCRAPER => {
                let client = ctx.aws()?.amp();
                Self::delete_scraper(ctx, &client, &resource.id).await?;
            }
            K8S_OBJECT => {
                let r = ObjectRef {
                    api_version: resource.get("api_version").unwrap_or("v1").to_string(),
                    kind: resource.get("kind").unwrap_or_default().to_string(),
                    namespace: resource.get("namespace").map(str::to_string),
                    name: resource.get("name").unwrap_or_default().to_string(),
                };
                let kube = Self::connect(ctx).await?;
                if Self::delete_object(&kube, &r).await? && !ctx.options.no_wait {
                    Self::kube_wait(ctx, &kube, &r, Condition::Gone).await?;
                }
            }
            other => return Err(Resource::unknown_kind(StepId::Prometheus, other)),
        }
        Ok(())
    }

    fn undo_hint(&self, resource: &Resource) -> String {
        match resource.kind.as_str() {
            SCRAPER => format!(
                "aws amp delete-scraper --region {} --scraper-id {}",
                resource.get("region").unwrap_or("<region>"),
                resource.id
            ),
            K8S_OBJECT => {
                let ns = resource
                    .get("namespace")
                    .map(|n| format!(" --namespace {n}"))
                    .unwrap_or_default();
                format!(
                    "kubectl delete{ns} {} {}",
                    resource
                        .get("kind")
                        .unwrap_or("<kind>")
                        .to_ascii_lowercase(),
                    resource.get("name").unwrap_or("<name>")
                )
            }
            _ => "meshctl cleanup --only prometheus".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The annotation IRSA reads on a service account.
    const ROLE_ANNOTATION: &str = "eks.amazonaws.com/role-arn";

    fn config(yaml: &str) -> Config {
        serde_yaml_ng::from_str(yaml).unwrap()
    }

    #[test]
    fn the_config_checksum_follows_the_configuration() {
        let c = config("name: demo");
        let a = render_config(&c, &ScrapeInputs::default()).unwrap();
        let b = render_config(
            &config("name: demo\nprometheus:\n  scrape_interval: 1m\n"),
            &ScrapeInputs::default(),
        )
        .unwrap();
        let agent_a = render_agent(&c, &a).unwrap();
        let agent_b = render_agent(&c, &b).unwrap();
        assert!(agent_a.contains(&checksum(&a)));
        assert!(agent_b.contains(&checksum(&b)));
        assert_ne!(checksum(&a), checksum(&b));
    }

    #[test]
    fn agent_mode_applies_neither_the_namespace_nor_the_service_account() {
        let c = config("name: demo");
        let yml = render_config(&c, &ScrapeInputs::default()).unwrap();
        let objects = parse(AGENT_TEMPLATE, &render_agent(&c, &yml).unwrap()).unwrap();
        let kinds: Vec<&str> = objects
            .iter()
            .filter_map(|o| o.types.as_ref().map(|t| t.kind.as_str()))
            .collect();
        assert_eq!(
            kinds,
            [
                "ClusterRole",
                "ClusterRoleBinding",
                "ConfigMap",
                "Deployment"
            ]
        );
        let text = render_agent(&c, &yml).unwrap();
        assert!(!text.contains(ROLE_ANNOTATION), "{text}");
        assert!(
            text.contains(&format!(
                "serviceAccountName: \"{}\"",
                c.irsa.prometheus_service_account
            )),
            "{text}"
        );
    }
}
