//! `pagerduty`: the Events API v2 integration key (from config indirection, or a PagerDuty
//! service and integration meshctl creates with a REST API token), and in Grafana a PagerDuty
//! contact point plus Grafana-managed Istio alert rules in the stack's folder. Each rule selects
//! the contact point directly (simplified routing), so the workspace's shared notification
//! policy tree is left alone; on Grafana older than 11 one route for the stack's label is added
//! to the tree instead, and written back only if nobody changed the tree meanwhile.

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::Serialize;
use serde_json::{Value, json};

use crate::aws::Aws;
use crate::config::Config;
use crate::engine::{
    Action, Op, Resource, Step, StepCtx, StepId, StepPlan, StepReport, StepStatus,
};
use crate::error::Error;
use crate::grafana::GrafanaApi;
use crate::grafana::dashboard::short_hash;
use crate::http::Secret;
use crate::pagerduty::{Events, Rest, configured_key, service_mark};
use crate::steps::grafana::{
    ApiSession, GrafanaStep, Workspace, folder_uid, has_simplified_routing,
};

pub const SERVICE: &str = "pagerduty-service";
pub const INTEGRATION: &str = "pagerduty-integration";
pub const CONTACT_POINT: &str = "grafana-contact-point";
pub const RULE_GROUP: &str = "grafana-rule-group";
pub const ROUTE: &str = "grafana-notification-route";
/// The label every meshctl alert rule carries, and the route (if any) matches on.
pub const STACK_LABEL: &str = "meshctl_stack";

pub struct PagerdutyStep;

pub fn service_name(config: &Config) -> String {
    config
        .pagerduty
        .service_name
        .clone()
        .unwrap_or_else(|| format!("{}-istio", config.name))
}

pub fn contact_point_uid(stack: &str) -> String {
    format!("meshctl-{}-pd", short_hash(stack))
}

pub fn contact_point_name(stack: &str) -> String {
    format!("meshctl-{stack}-pagerduty")
}

pub fn rule_group_name(stack: &str) -> String {
    format!("meshctl-{stack}-istio")
}

fn matcher(stack: &str) -> Value {
    json!([STACK_LABEL, "=", stack])
}

/// Whether `route` is the one meshctl adds for `stack`.
fn is_our_route(route: &Value, stack: &str) -> bool {
    route["receiver"] == contact_point_name(stack)
        && route["object_matchers"]
            .as_array()
            .is_some_and(|m| m.contains(&matcher(stack)))
}

/// The Istio alert rules, thresholds as in the AMP rules (`amp.alerts`).
pub fn rules(config: &Config, ds_uid: &str, direct: bool) -> Value {
    let a = &config.amp.alerts;
    let stack = &config.name;
    let sev = &config.pagerduty.severity;
    let defs = [
        (
            "IstioHigh5xxRatio",
            "sum by (destination_service_name) (rate(istio_requests_total{reporter=\"destination\",response_code=~\"5..\"}[5m])) / sum by (destination_service_name) (rate(istio_requests_total{reporter=\"destination\"}[5m]))".to_string(),
            "gt",
            a.error_ratio,
            "More than the allowed share of requests to {{ $labels.destination_service_name }} fail with 5xx",
        ),
        (
            "IstioHighP99Latency",
            "histogram_quantile(0.99, sum by (destination_service_name, le) (rate(istio_request_duration_milliseconds_bucket{reporter=\"destination\"}[5m])))".to_string(),
            "gt",
            f64::from(a.p99_latency_ms),
            "p99 latency of {{ $labels.destination_service_name }} is above the threshold",
        ),
        (
            "IstiodUnavailable",
            "sum(up{app=\"istiod\"}) or vector(0)".to_string(),
            "lt",
            1.0,
            "no istiod instance is up",
        ),
        (
            "IstioIngressGatewayUnavailable",
            "sum(up{app=\"istio-ingressgateway\"}) or vector(0)".to_string(),
            "lt",
            1.0,
            "no Istio ingress gateway instance is up",
        ),
    ];
    let rules: Vec<Value> = defs
        .iter()
        .map(|(title, expr, op, threshold, summary)| {
            let mut rule = json!({
                "uid": format!("meshctl-{}-{}", short_hash(stack), short_hash(title)),
                "title": title,
                "condition": "C",
                "data": [
                    {
                        "refId": "A",
                        "relativeTimeRange": {"from": 600, "to": 0},
                        "datasourceUid": ds_uid,
                        "model": {"refId": "A", "expr": expr, "instant": true},
                    },
                    {
                        "refId": "C",
                        "datasourceUid": "__expr__",
                        "model": {
                            "refId": "C",
                            "type": "threshold",
                            "expression": "A",
                            "conditions": [{"evaluator": {"type": op, "params": [threshold]}}],
                        },
                    },
                ],
                "noDataState": "OK",
                "execErrState": "Error",
                "for": "5m",
                "labels": {STACK_LABEL: stack, "severity": sev},
                "annotations": {"summary": summary},
            });
            if direct {
                rule["notification_settings"] = json!({"receiver": contact_point_name(stack)});
            }
            rule
        })
        .collect();
    json!({
        "title": rule_group_name(stack),
        "folderUid": folder_uid(stack),
        "interval": 60,
        "rules": rules,
    })
}

/// What `meshctl pagerduty test` reports.
#[derive(Debug, Serialize)]
pub struct TestReport {
    pub kind: &'static str,
    pub dedup_key: String,
    pub resolved: bool,
}

impl std::fmt::Display for TestReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "Sent a test event to PagerDuty: dedup key {}.",
            self.dedup_key
        )?;
        if self.resolved {
            writeln!(f, "Resolved it again.")
        } else {
            writeln!(f, "It is still open: resolve it in PagerDuty.")
        }
    }
}

/// `meshctl pagerduty test`: trigger a test event through the Events API v2, then resolve it.
pub async fn send_test(config: &Config, aws: Option<&Aws>) -> Result<TestReport, Error> {
    let key = existing_key(config, aws).await?;
    let events = Events::new(&config.pagerduty)?;
    let dedup = events
        .enqueue(
            &key,
            "trigger",
            None,
            Some(json!({
                "summary": format!("meshctl test event for stack {}", config.name),
                "source": format!("meshctl/{}", config.name),
                "severity": "info",
                "custom_details": {"note": "sent by `meshctl pagerduty test`; resolved right away"},
            })),
        )
        .await?;
    events.enqueue(&key, "resolve", Some(&dedup), None).await?;
    Ok(TestReport {
        kind: "pagerduty-test",
        dedup_key: dedup,
        resolved: true,
    })
}

/// The key from config indirection, or that of the service meshctl created (never creates).
async fn existing_key(config: &Config, aws: Option<&Aws>) -> Result<Secret, Error> {
    if let Some(k) = configured_key(&config.pagerduty, aws).await? {
        return Ok(k);
    }
    let rest = rest_client(config)?;
    let name = service_name(config);
    let Some(service) = rest.find_service(&name).await? else {
        return Err(Error::usage(
            format!("the PagerDuty service `{name}` does not exist yet"),
            "run `meshctl pagerduty` first, or set pagerduty.integration_key_env / _file / _secret_arn",
        ));
    };
    let id = service["id"].as_str().unwrap_or_default();
    match rest.events_integration(id).await? {
        Some((_, key)) => Ok(key),
        None => Err(Error::usage(
            format!("the PagerDuty service `{name}` has no Events API v2 integration"),
            "run `meshctl pagerduty` to create it",
        )),
    }
}

fn rest_client(config: &Config) -> Result<Rest, Error> {
    let Some(token) = Rest::token(&config.pagerduty) else {
        return Err(Error::config(
            format!(
                "no integration key source is set and the variable {} (pagerduty.api_key_env) holding a PagerDuty REST API token is not set",
                config.pagerduty.api_key_env
            ),
            "set one of pagerduty.integration_key_env / integration_key_file / integration_key_secret_arn, or export a REST API token so meshctl can create the service",
        ));
    };
    Rest::new(&config.pagerduty, token)
}

impl PagerdutyStep {
    /// The integration key, creating the service and integration with the REST API if needed.
    async fn key(ctx: &StepCtx, report: &mut StepReport) -> Result<Secret, Error> {
        let config = &ctx.config;
        if let Some(k) = configured_key(&config.pagerduty, ctx.aws.as_ref()).await? {
            return Ok(k);
        }
        let rest = rest_client(config)?;
        let name = service_name(config);
        let service_id = match rest.find_service(&name).await? {
            Some(s) => {
                report.actions.push(Action::new(Op::Keep, SERVICE, &name));
                s["id"].as_str().unwrap_or_default().to_string()
            }
            None => {
                let ep = config
                    .pagerduty
                    .escalation_policy_id
                    .clone()
                    .unwrap_or_default();
                let s = rest
                    .create_service(&name, &ep, &service_mark(&config.name))
                    .await?;
                let id = s["id"].as_str().unwrap_or_default().to_string();
                ctx.ledger
                    .record(Resource::new(StepId::Pagerduty, SERVICE, &id).with("name", &name))
                    .await?;
                report.actions.push(
                    Action::new(Op::Create, SERVICE, &name)
                        .detail(format!("escalation policy {ep}")),
                );
                id
            }
        };
        report
            .outputs
            .insert("service_id".into(), service_id.clone());
        match rest.events_integration(&service_id).await? {
            Some((_, key)) => {
                report
                    .actions
                    .push(Action::new(Op::Keep, INTEGRATION, "Events API v2"));
                Ok(key)
            }
            None => {
                let (id, key) = rest
                    .create_events_integration(&service_id, &format!("meshctl {}", config.name))
                    .await?;
                ctx.ledger
                    .record(
                        Resource::new(StepId::Pagerduty, INTEGRATION, &id)
                            .with("service_id", &service_id),
                    )
                    .await?;
                report
                    .actions
                    .push(Action::new(Op::Create, INTEGRATION, "Events API v2"));
                Ok(key)
            }
        }
    }

    async fn workspace(ctx: &StepCtx) -> Result<Option<Workspace>, Error> {
        let client = ctx.aws()?.grafana();
        GrafanaStep::find(&client, &ctx.config).await
    }

    /// Contact point, rules and (on old Grafana) the route, through the Grafana API.
    async fn provision(
        ctx: &StepCtx,
        api: &GrafanaApi,
        ws: &Workspace,
        key: &Secret,
        report: &mut StepReport,
    ) -> Result<(), Error> {
        let config = &ctx.config;
        let stack = &config.name;
        let record = |kind: &str, id: &str| {
            Resource::new(StepId::Pagerduty, kind, id)
                .with("workspace_id", &ws.id)
                .with("region", &config.region)
        };
        // Contact point. Grafana never returns the key, so an existing one is kept as is.
        let uid = contact_point_uid(stack);
        let name = contact_point_name(stack);
        let wanted = json!({
            "uid": uid,
            "name": name,
            "type": "pagerduty",
            "settings": {"integrationKey": key.expose(), "severity": config.pagerduty.severity},
            "disableResolveMessage": false,
        });
        let existing = api
            .contact_points()
            .await?
            .into_iter()
            .find(|c| c["uid"] == uid.as_str());
        match existing {
            None => {
                api.post("/api/v1/provisioning/contact-points", &wanted)
                    .await?;
                ctx.ledger.record(record(CONTACT_POINT, &uid)).await?;
                report.actions.push(
                    Action::new(Op::Create, CONTACT_POINT, &name)
                        .detail(format!("severity {}", config.pagerduty.severity)),
                );
            }
            Some(c)
                if c["name"] == name.as_str()
                    && c["type"] == "pagerduty"
                    && c["settings"]["severity"] == config.pagerduty.severity.as_str() =>
            {
                report
                    .actions
                    .push(Action::new(Op::Keep, CONTACT_POINT, &name));
            }
            Some(_) => {
                api.put(
                    &format!("/api/v1/provisioning/contact-points/{uid}"),
                    &wanted,
                    &[("X-Disable-Provenance", "true")],
                )
                .await?;
                report.actions.push(
                    Action::new(Op::Update, CONTACT_POINT, &name).detail("settings differed"),
                );
            }
        }

        // Rules.
        let direct = has_simplified_routing(&ws.version);
        let ds_uid = crate::steps::grafana::datasource_uid(stack);
        let group = rules(config, &ds_uid, direct);
        let group_name = rule_group_name(stack);
        let folder = folder_uid(stack);
        let path = format!("/api/v1/provisioning/folder/{folder}/rule-groups/{group_name}");
        let current = api.get(&path).await?;
        let same = current.as_ref().is_some_and(|c| same_group(c, &group));
        if same {
            report
                .actions
                .push(Action::new(Op::Keep, RULE_GROUP, &group_name));
        } else {
            api.put(&path, &group, &[("X-Disable-Provenance", "true")])
                .await?;
            if current.is_none() {
                ctx.ledger
                    .record(record(RULE_GROUP, &group_name).with("folder_uid", &folder))
                    .await?;
            }
            report.actions.push(
                Action::new(
                    if current.is_none() {
                        Op::Create
                    } else {
                        Op::Update
                    },
                    RULE_GROUP,
                    &group_name,
                )
                .detail(if direct {
                    "4 rules, each sending to the contact point directly"
                } else {
                    "4 rules, routed by label"
                }),
            );
        }

        if direct {
            report
                .outputs
                .insert("routing".into(), "direct (simplified routing)".into());
        } else {
            report
                .outputs
                .insert("routing".into(), "notification policy route".into());
            let added = Self::ensure_route(api, stack).await?;
            let label = format!("{STACK_LABEL}={stack}");
            if added {
                ctx.ledger.record(record(ROUTE, &label)).await?;
                report.actions.push(
                    Action::new(Op::Create, ROUTE, &label)
                        .detail("added to the policy tree; other routes kept"),
                );
            } else {
                report.actions.push(Action::new(Op::Keep, ROUTE, &label));
            }
        }
        report.outputs.insert("contact_point".into(), name);
        report.outputs.insert("rule_group".into(), group_name);
        Ok(())
    }

    /// Add the stack's route to the policy tree if missing; `true` when it was added. The tree is
    /// read again right before writing, and the write is retried if someone changed it.
    async fn ensure_route(api: &GrafanaApi, stack: &str) -> Result<bool, Error> {
        for _ in 0..3 {
            let tree = api.policy_tree().await?;
            let routes = tree["routes"].as_array().cloned().unwrap_or_default();
            if routes.iter().any(|r| is_our_route(r, stack)) {
                return Ok(false);
            }
            let mut new_tree = tree.clone();
            let mut new_routes = routes;
            new_routes.insert(
                0,
                json!({
                    "receiver": contact_point_name(stack),
                    "object_matchers": [matcher(stack)],
                    "continue": false,
                }),
            );
            new_tree["routes"] = Value::Array(new_routes);
            if api.policy_tree().await? != tree {
                continue;
            }
            api.put_policy_tree(&new_tree).await?;
            return Ok(true);
        }
        Err(Error::Http {
            service: "Grafana",
            operation: "update notification policies".into(),
            message: "the notification policy tree kept changing while meshctl added its route"
                .into(),
            help: "run the command again when nobody is editing notification policies".into(),
        })
    }

    /// Remove the stack's route, keeping every other; `true` when it was there.
    async fn remove_route(api: &GrafanaApi, stack: &str) -> Result<bool, Error> {
        for _ in 0..3 {
            let tree = api.policy_tree().await?;
            let routes = tree["routes"].as_array().cloned().unwrap_or_default();
            if !routes.iter().any(|r| is_our_route(r, stack)) {
                return Ok(false);
            }
            let mut new_tree = tree.clone();
            new_tree["routes"] = Value::Array(
                routes
                    .into_iter()
                    .filter(|r| !is_our_route(r, stack))
                    .collect(),
            );
            if api.policy_tree().await? != tree {
                continue;
            }
            api.put_policy_tree(&new_tree).await?;
            return Ok(true);
        }
        Err(Error::Http {
            service: "Grafana",
            operation: "update notification policies".into(),
            message: "the notification policy tree kept changing while meshctl removed its route"
                .into(),
            help: "run the command again when nobody is editing notification policies".into(),
        })
    }

    async fn remove_grafana_objects(ctx: &StepCtx, api: &GrafanaApi) -> Result<Vec<Action>, Error> {
        let stack = &ctx.config.name;
        let mut actions = vec![];
        let group = rule_group_name(stack);
        if api
            .delete(&format!(
                "/api/v1/provisioning/folder/{}/rule-groups/{group}",
                folder_uid(stack)
            ))
            .await?
        {
            actions.push(Action::new(Op::Delete, RULE_GROUP, group));
        }
        if Self::remove_route(api, stack).await? {
            actions.push(Action::new(
                Op::Delete,
                ROUTE,
                format!("{STACK_LABEL}={stack}"),
            ));
        }
        let uid = contact_point_uid(stack);
        if api
            .contact_points()
            .await?
            .iter()
            .any(|c| c["uid"] == uid.as_str())
        {
            api.delete(&format!("/api/v1/provisioning/contact-points/{uid}"))
                .await?;
            actions.push(Action::new(
                Op::Delete,
                CONTACT_POINT,
                contact_point_name(stack),
            ));
        }
        Ok(actions)
    }

    /// The PagerDuty service meshctl created for this stack (its description carries the mark).
    async fn owned_service(config: &Config) -> Result<Option<(Rest, Value)>, Error> {
        if config.pagerduty.has_integration_key_source() {
            return Ok(None);
        }
        let Some(token) = Rest::token(&config.pagerduty) else {
            return Ok(None);
        };
        let rest = Rest::new(&config.pagerduty, token)?;
        let mark = service_mark(&config.name);
        Ok(rest
            .find_service(&service_name(config))
            .await?
            .filter(|s| s["description"].as_str().is_some_and(|d| d.contains(&mark)))
            .map(|s| (rest, s)))
    }
}

/// Whether the stored group already has what meshctl would write (Grafana adds fields).
fn same_group(current: &Value, wanted: &Value) -> bool {
    fn covers(e: &Value, w: &Value) -> bool {
        match (e, w) {
            (Value::Object(e), Value::Object(w)) => w
                .iter()
                .all(|(k, v)| e.get(k).is_some_and(|ev| covers(ev, v))),
            (Value::Array(e), Value::Array(w)) => {
                e.len() == w.len() && e.iter().zip(w).all(|(a, b)| covers(a, b))
            }
            (e, w) => e == w,
        }
    }
    covers(current, wanted)
        && current["rules"].as_array().map(Vec::len) == wanted["rules"].as_array().map(Vec::len)
}

#[async_trait]
impl Step for PagerdutyStep {
    fn id(&self) -> StepId {
        StepId::Pagerduty
    }

    async fn plan(&self, ctx: &StepCtx) -> Result<StepPlan, Error> {
        let config = &ctx.config;
        let mut plan = StepPlan::new(StepId::Pagerduty);
        if !config.pagerduty.enabled {
            plan.note("disabled by pagerduty.enabled: false");
            return Ok(plan);
        }
        if config.pagerduty.has_integration_key_source() {
            plan.note("the integration key comes from pagerduty.integration_key_*: no PagerDuty service is created");
        } else {
            let name = service_name(config);
            // Reading the service is safe with the REST token; without it, assume nothing exists.
            let found = match (Rest::token(&config.pagerduty), ctx.aws.is_some()) {
                (Some(token), true) => {
                    let rest = Rest::new(&config.pagerduty, token)?;
                    match rest.find_service(&name).await? {
                        Some(s) => {
                            let id = s["id"].as_str().unwrap_or_default().to_string();
                            Some(rest.events_integration(&id).await?.is_some())
                        }
                        None => None,
                    }
                }
                _ => None,
            };
            match found {
                Some(has_integration) => {
                    plan.push(Action::new(Op::Keep, SERVICE, &name));
                    plan.push(if has_integration {
                        Action::new(Op::Keep, INTEGRATION, "Events API v2")
                    } else {
                        Action::new(Op::Create, INTEGRATION, "Events API v2")
                    });
                }
                None => {
                    plan.push(Action::new(Op::Create, SERVICE, &name).detail(format!(
                        "escalation policy {}",
                        config.pagerduty.escalation_policy_id.as_deref().unwrap_or("(unset)")
                    )));
                    plan.push(Action::new(Op::Create, INTEGRATION, "Events API v2"));
                }
            }
        }
        plan.note(format!(
            "in Grafana: contact point {}, rule group {} in the stack's folder (compared when applied)",
            contact_point_name(&config.name),
            rule_group_name(&config.name)
        ));
        Ok(plan)
    }

    async fn apply(&self, ctx: &StepCtx) -> Result<StepReport, Error> {
        let config = &ctx.config;
        let mut report = StepReport {
            step: Some(StepId::Pagerduty),
            ..Default::default()
        };
        if !config.pagerduty.enabled {
            report
                .notes
                .push("disabled by pagerduty.enabled: false".into());
            return Ok(report);
        }
        let Some(ws) = Self::workspace(ctx).await? else {
            return Err(Error::Prerequisite {
                step: StepId::Pagerduty,
                needs: StepId::Grafana,
                stack: config.name.clone(),
            });
        };
        let key = Self::key(ctx, &mut report).await?;
        let client = ctx.aws()?.grafana();
        let session = ApiSession::open(ctx, StepId::Pagerduty, &client, &ws).await?;
        let api = session.api.clone();
        session
            .run(
                ctx,
                &client,
                Self::provision(ctx, &api, &ws, &key, &mut report),
            )
            .await?;
        Ok(report)
    }

    async fn destroy_plan(&self, ctx: &StepCtx) -> Result<StepPlan, Error> {
        let config = &ctx.config;
        let mut plan = StepPlan::new(StepId::Pagerduty);
        if ctx.aws.is_none() {
            plan.note("offline: cannot look for the Grafana workspace without credentials");
            return Ok(plan);
        }
        if Self::workspace(ctx).await?.is_some() {
            let stack = &config.name;
            plan.push(
                Action::new(Op::Delete, RULE_GROUP, rule_group_name(stack)).detail("if present"),
            );
            plan.push(
                Action::new(Op::Delete, CONTACT_POINT, contact_point_name(stack))
                    .detail("if present"),
            );
            plan.push(
                Action::new(Op::Delete, ROUTE, format!("{STACK_LABEL}={stack}"))
                    .detail("if present; other routes are kept"),
            );
        }
        if let Some((_, s)) = Self::owned_service(config).await? {
            plan.push(
                Action::new(Op::Delete, SERVICE, s["name"].as_str().unwrap_or_default())
                    .detail("created by meshctl for this stack"),
            );
        }
        Ok(plan)
    }

    async fn destroy(&self, ctx: &StepCtx) -> Result<StepReport, Error> {
        let config = &ctx.config;
        let mut report = StepReport {
            step: Some(StepId::Pagerduty),
            ..Default::default()
        };
        if let Some(ws) = Self::workspace(ctx).await? {
            let client = ctx.aws()?.grafana();
            let session = ApiSession::open(ctx, StepId::Pagerduty, &client, &ws).await?;
            let api = session.api.clone();
            let actions = session
                .run(ctx, &client, Self::remove_grafana_objects(ctx, &api))
                .await?;
            report.actions.extend(actions);
        }
        if let Some((rest, s)) = Self::owned_service(config).await?
            && let Some(id) = s["id"].as_str()
            && rest.delete_service(id).await?
        {
            report.actions.push(Action::new(
                Op::Delete,
                SERVICE,
                s["name"].as_str().unwrap_or_default(),
            ));
        }
        Ok(report)
    }

    async fn status(&self, ctx: &StepCtx) -> Result<StepStatus, Error> {
        let config = &ctx.config;
        let mut details = BTreeMap::new();
        details.insert("contact_point".into(), contact_point_name(&config.name));
        details.insert("rule_group".into(), rule_group_name(&config.name));
        let state = if !config.pagerduty.enabled {
            "absent"
        } else if ctx.state.is_applied(StepId::Pagerduty).await {
            "present"
        } else {
            "absent"
        };
        Ok(StepStatus {
            step: StepId::Pagerduty,
            state: state.into(),
            details,
        })
    }

    async fn undo(&self, ctx: &StepCtx, resource: &Resource) -> Result<(), Error> {
        let config = &ctx.config;
        match resource.kind.as_str() {
            SERVICE => {
                rest_client(config)?.delete_service(&resource.id).await?;
            }
            INTEGRATION => {
                // Deleted with its service, which this run created too or which is kept.
            }
            crate::steps::grafana::TOKEN | crate::steps::grafana::SERVICE_ACCOUNT => {
                crate::steps::grafana::GrafanaStep
                    .undo(ctx, resource)
                    .await?;
            }
            CONTACT_POINT | RULE_GROUP | ROUTE => {
                let Some(ws) = Self::workspace(ctx).await? else {
                    return Ok(());
                };
                let client = ctx.aws()?.grafana();
                let session = ApiSession::open(ctx, StepId::Pagerduty, &client, &ws).await?;
                let api = session.api.clone();
                let stack = config.name.clone();
                let kind = resource.kind.clone();
                let id = resource.id.clone();
                let folder = resource.get("folder_uid").unwrap_or_default().to_string();
                session
                    .run(ctx, &client, async {
                        match kind.as_str() {
                            CONTACT_POINT => {
                                api.delete(&format!("/api/v1/provisioning/contact-points/{id}"))
                                    .await?;
                            }
                            RULE_GROUP => {
                                api.delete(&format!(
                                    "/api/v1/provisioning/folder/{folder}/rule-groups/{id}"
                                ))
                                .await?;
                            }
                            _ => {
                                Self::remove_route(&api, &stack).await?;
                            }
                        }
                        Ok(())
                    })
                    .await?;
            }
            other => {
                return Err(Resource::unknown_kind(StepId::Pagerduty, other));
            }
        }
        Ok(())
    }

    fn undo_hint(&self, resource: &Resource) -> String {
        match resource.kind.as_str() {
            SERVICE => format!(
                "delete the PagerDuty service {} (Services > Service Directory)",
                resource.id
            ),
            _ => "meshctl cleanup --only pagerduty".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_select_the_contact_point_only_with_simplified_routing() {
        let c = Config::with_defaults("demo");
        let direct = rules(&c, "ds", true);
        assert_eq!(direct["rules"].as_array().unwrap().len(), 4);
        assert!(
            direct["rules"][0]["notification_settings"]["receiver"] == "meshctl-demo-pagerduty"
        );
        let routed = rules(&c, "ds", false);
        assert!(routed["rules"][0].get("notification_settings").is_none());
        assert_eq!(routed["rules"][0]["labels"][STACK_LABEL], "demo");
    }
}
