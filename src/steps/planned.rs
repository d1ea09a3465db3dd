//! Steps this version can plan but not yet apply. Their plans list, from the config, what
//! the step will create; asking to apply them stops before any change.

use std::collections::BTreeMap;

use async_trait::async_trait;

use crate::config::{Config, STACK_TAG};
use crate::engine::{
    Action, Op, Resource, Step, StepCtx, StepId, StepPlan, StepReport, StepStatus,
};
use crate::error::Error;

pub struct PlannedStep(pub StepId);

fn create(kind: &str, name: impl Into<String>) -> Action {
    Action::new(Op::Create, kind, name)
}

/// What step `id` would create for `config`, assuming nothing exists.
pub fn intended(id: StepId, c: &Config) -> Vec<Action> {
    let cluster = c.cluster_name();
    let stack = &c.name;
    match id {
        StepId::Cluster if !c.cluster.create => vec![
            Action::new(Op::Keep, "eks-cluster", cluster).detail("existing cluster, adopted and never deleted"),
            create("iam-oidc-provider", format!("for cluster {cluster}")).detail("client id sts.amazonaws.com"),
        ],
        StepId::Cluster => {
            let mut v = vec![
                create("vpc", format!("{stack}-vpc")).detail(c.cluster.vpc_cidr.clone()),
                create("subnets", format!("{stack}-public/private")).detail("2 public + 2 private across 2 AZs"),
                create("iam-role", format!("{stack}-cluster")).detail("AmazonEKSClusterPolicy"),
                create("iam-role", format!("{stack}-nodes")).detail(
                    "AmazonEKSWorkerNodePolicy, AmazonEKS_CNI_Policy, AmazonEC2ContainerRegistryReadOnly",
                ),
                create("eks-cluster", cluster).detail(format!("Kubernetes {}", c.cluster.version)),
                create("security-group-rule", "control plane -> nodes tcp/15017,15012")
                    .detail("Istio sidecar injection webhook and xDS"),
            ];
            v.push(create("iam-oidc-provider", format!("for cluster {cluster}")).detail("client id sts.amazonaws.com"));
            v
        }
        StepId::Nodes => c
            .cluster
            .nodegroups
            .iter()
            .map(|ng| {
                create("eks-nodegroup", &ng.name).detail(format!(
                    "{} x {}..{} (desired {})",
                    ng.instance_types.join(","),
                    ng.min_size,
                    ng.max_size,
                    ng.desired_size
                ))
            })
            .collect(),
        StepId::Istio => {
            let ns = &c.istio.namespace;
            let mut v = vec![
                create("namespace", ns),
                create("helm-release", format!("{ns}/istio-base")).detail(format!("chart base {}", c.istio.version)),
                create("helm-release", format!("{ns}/istiod")).detail(format!("chart istiod {}", c.istio.version)),
            ];
            if c.istio.ingress_gateway {
                v.push(create("helm-release", "istio-ingress/istio-ingressgateway").detail(format!("chart gateway {}", c.istio.version)));
            }
            v
        }
        StepId::Amp => vec![],
        StepId::Irsa => vec![
            create("iam-role", format!("{stack}-amp-ingest")).detail(format!(
                "aps:RemoteWrite for system:serviceaccount:{}:{}",
                c.prometheus.namespace, c.irsa.prometheus_service_account
            )),
            create("iam-role", format!("{stack}-amp-query")).detail(format!(
                "aps:QueryMetrics, GetSeries, GetLabels, GetMetricMetadata for system:serviceaccount:{}:{}",
                c.kiali.namespace, c.irsa.query_service_account
            )),
        ],
        StepId::Prometheus => vec![
            create("namespace", &c.prometheus.namespace),
            create("service-account", format!("{}/{}", c.prometheus.namespace, c.irsa.prometheus_service_account)),
            create("deployment", format!("{}/prometheus", c.prometheus.namespace)).detail(format!(
                "{} mode, scrape every {}, remote write to AMP with SigV4",
                c.prometheus.mode,
                c.prometheus.scrape_interval
            )),
        ],
        StepId::Kiali if !c.kiali.enabled => vec![],
        StepId::Kiali => vec![
            create("deployment", format!("{}/aws-sigv4-proxy", c.kiali.namespace)).detail("queries AMP as service name aps"),
            create("service", format!("{}/aws-sigv4-proxy", c.kiali.namespace)),
            create("helm-release", format!("{}/kiali-server", c.kiali.namespace)).detail("Prometheus URL = SigV4 proxy, thanos_proxy enabled"),
        ],
        StepId::Grafana if !c.grafana.enabled => vec![],
        StepId::Grafana => {
            let mut v = vec![
                create("grafana-workspace", c.grafana_workspace_name()).detail(format!(
                    "{}, service-managed permissions, unified alerting",
                    c.grafana.authentication
                )),
                create("grafana-service-account", format!("{stack}-meshctl")).detail("short-lived token, deleted after provisioning"),
                create("grafana-datasource", "Amazon Managed Prometheus").detail(format!(
                    "SigV4, timeInterval {}",
                    c.prometheus.scrape_interval
                )),
            ];
            for id in &c.grafana.dashboards {
                v.push(create("grafana-dashboard", format!("grafana.com/{id}")).detail("rate windows rewritten to $__rate_interval"));
            }
            v
        }
        StepId::Pagerduty if !c.pagerduty.enabled => vec![],
        StepId::Pagerduty => vec![
            create(
                "pagerduty-service",
                c.pagerduty.service_name.clone().unwrap_or_else(|| format!("{stack}-istio")),
            ),
            create("pagerduty-integration", "Events API v2"),
            create("grafana-contact-point", format!("{stack}-pagerduty")).detail(format!("severity {}", c.pagerduty.severity)),
            create("grafana-notification-policy", format!("route {STACK_TAG}={stack}")).detail("merged into the existing tree"),
        ],
    }
}

/// Why `config` turns step `id` off (`kiali.enabled: false`, ...), or `None` when it is on.
/// A plan-only step that is turned off has nothing to apply, so it never blocks `up`.
pub fn disabled_note(id: StepId, c: &Config) -> Option<&'static str> {
    match id {
        StepId::Kiali if !c.kiali.enabled => Some("disabled by kiali.enabled: false"),
        StepId::Grafana if !c.grafana.enabled => Some("disabled by grafana.enabled: false"),
        StepId::Pagerduty if !c.pagerduty.enabled => Some("disabled by pagerduty.enabled: false"),
        _ => None,
    }
}

#[async_trait]
impl Step for PlannedStep {
    fn id(&self) -> StepId {
        self.0
    }

    fn available(&self) -> bool {
        false
    }

    async fn plan(&self, ctx: &StepCtx) -> Result<StepPlan, Error> {
        let mut plan = StepPlan::new(self.0);
        plan.available = false;
        plan.actions = intended(self.0, &ctx.config);
        if let Some(note) = disabled_note(self.0, &ctx.config) {
            plan.note(note);
        }
        plan.note("not available yet: this version plans this step but cannot apply it");
        Ok(plan)
    }

    async fn apply(&self, ctx: &StepCtx) -> Result<StepReport, Error> {
        match disabled_note(self.0, &ctx.config) {
            // Turned off: nothing to apply, as with any step its config disables.
            Some(note) => Ok(StepReport {
                step: Some(self.0),
                notes: vec![note.to_string()],
                ..Default::default()
            }),
            None => Err(crate::steps::not_available(self.0)),
        }
    }

    async fn destroy_plan(&self, _ctx: &StepCtx) -> Result<StepPlan, Error> {
        let mut plan = StepPlan::new(self.0);
        // This version never creates resources for this step, so there is nothing to remove.
        plan.available = false;
        Ok(plan)
    }

    async fn destroy(&self, _ctx: &StepCtx) -> Result<StepReport, Error> {
        Ok(StepReport {
            step: Some(self.0),
            ..Default::default()
        })
    }

    async fn status(&self, ctx: &StepCtx) -> Result<StepStatus, Error> {
        if let Some(note) = disabled_note(self.0, &ctx.config) {
            return Ok(StepStatus {
                step: self.0,
                state: "absent".into(),
                details: BTreeMap::from([("note".to_string(), note.to_string())]),
            });
        }
        Ok(StepStatus {
            step: self.0,
            state: "unknown".into(),
            details: BTreeMap::from([(
                "note".to_string(),
                "not available yet in this version".to_string(),
            )]),
        })
    }

    async fn undo(&self, _ctx: &StepCtx, _resource: &Resource) -> Result<(), Error> {
        Err(crate::steps::not_available(self.0))
    }

    fn undo_hint(&self, _resource: &Resource) -> String {
        format!("meshctl cleanup --only {}", self.0)
    }
}
