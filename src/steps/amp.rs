//! `amp`: an Amazon Managed Service for Prometheus workspace, found by alias *and* the stack
//! tag (aliases are not unique), and a rule-groups namespace with the Istio rules.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_amp::Client;
use aws_sdk_amp::primitives::Blob;
use aws_sdk_amp::types::{RuleGroupsNamespaceStatusCode, WorkspaceStatusCode};
use serde_json::json;

use crate::aws::{client_token, owned_by, sdk_error, tags};
use crate::config::Config;
use crate::engine::{
    Action, Op, Resource, Step, StepCtx, StepId, StepPlan, StepReport, StepStatus,
};
use crate::error::Error;

const WORKSPACE: &str = "amp-workspace";
const NAMESPACE: &str = "amp-rule-groups-namespace";
const RULES_TEMPLATE: &str = "amp/istio-rules.yaml.j2";
const POLL: Duration = Duration::from_secs(5);

pub struct AmpStep;

/// A workspace as meshctl sees it.
#[derive(Debug, Clone)]
struct Workspace {
    id: String,
    alias: Option<String>,
    arn: String,
    status: WorkspaceStatusCode,
    endpoint: Option<String>,
    tags: HashMap<String, String>,
    /// `false` for a workspace named by `amp.workspace_id`: used, never tagged or deleted.
    owned: bool,
}

#[derive(Debug, Clone)]
struct Namespace {
    data: String,
    tags: HashMap<String, String>,
    status: Option<RuleGroupsNamespaceStatusCode>,
}

/// The Istio rules for this stack, rendered from `templates/`.
pub fn render_rules(config: &Config) -> Result<String, Error> {
    let a = &config.amp.alerts;
    crate::templates::render(
        RULES_TEMPLATE,
        json!({
            "stack": config.name,
            "error_ratio": a.error_ratio,
            "error_percent": percent(a.error_ratio),
            "p99_latency_ms": a.p99_latency_ms,
        }),
    )
}

/// `0.05` → `"5"`, `0.0125` → `"1.25"`: a ratio as a short percentage for messages.
fn percent(ratio: f64) -> String {
    let s = format!("{:.3}", ratio * 100.0);
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn remote_write_url(endpoint: &str) -> String {
    format!("{endpoint}api/v1/remote_write")
}

fn rules_summary(rules: &str) -> String {
    let records = rules.matches("- record:").count();
    let alerts = rules.matches("- alert:").count();
    format!("{records} recording and {alerts} alerting rules")
}

impl AmpStep {
    async fn describe(client: &Client, id: &str, owned: bool) -> Result<Option<Workspace>, Error> {
        match client.describe_workspace().workspace_id(id).send().await {
            Ok(out) => {
                let Some(ws) = out.workspace else {
                    return Ok(None);
                };
                Ok(Some(Workspace {
                    id: ws.workspace_id().to_string(),
                    alias: ws.alias().map(str::to_string),
                    arn: ws.arn().to_string(),
                    status: ws
                        .status()
                        .map(|s| s.status_code().clone())
                        .unwrap_or(WorkspaceStatusCode::Creating),
                    endpoint: ws.prometheus_endpoint().map(str::to_string),
                    tags: ws.tags().cloned().unwrap_or_default(),
                    owned,
                }))
            }
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_resource_not_found_exception()) =>
            {
                Ok(None)
            }
            Err(e) => Err(sdk_error("amp", "DescribeWorkspace", &e)),
        }
    }

    /// Every workspace carrying this stack's tag, optionally only those with `alias`.
    async fn owned_workspaces(
        client: &Client,
        stack: &str,
        alias: Option<&str>,
    ) -> Result<Vec<Workspace>, Error> {
        let mut found = vec![];
        let mut pages = client
            .list_workspaces()
            .set_alias(alias.map(str::to_string))
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| sdk_error("amp", "ListWorkspaces", &e))?;
            for summary in page.workspaces() {
                if alias.is_some_and(|a| summary.alias() != Some(a)) {
                    continue;
                }
                let tags = match summary.tags() {
                    Some(t) => t.clone(),
                    None => client
                        .list_tags_for_resource()
                        .resource_arn(summary.arn())
                        .send()
                        .await
                        .map_err(|e| sdk_error("amp", "ListTagsForResource", &e))?
                        .tags
                        .unwrap_or_default(),
                };
                if !owned_by(Some(&tags), stack) {
                    continue;
                }
                let status = summary
                    .status()
                    .map(|s| s.status_code().clone())
                    .unwrap_or(WorkspaceStatusCode::Creating);
                if status == WorkspaceStatusCode::Deleting {
                    continue;
                }
                if let Some(ws) = Self::describe(client, summary.workspace_id(), true).await? {
                    found.push(ws);
                }
            }
        }
        Ok(found)
    }

    /// The workspace this stack uses, if it exists.
    async fn find(client: &Client, config: &Config) -> Result<Option<Workspace>, Error> {
        if let Some(id) = &config.amp.workspace_id {
            return match Self::describe(client, id, false).await? {
                Some(ws) => Ok(Some(ws)),
                None => Err(Error::config(
                    format!(
                        "amp.workspace_id `{id}` does not exist in {}",
                        config.region
                    ),
                    "check the id with the AMP console, or remove amp.workspace_id to let meshctl create a workspace",
                )),
            };
        }
        let mut owned =
            Self::owned_workspaces(client, &config.name, Some(config.amp_alias())).await?;
        // Prefer an active one if an earlier failure left more than one.
        owned.sort_by_key(|w| w.status != WorkspaceStatusCode::Active);
        Ok(owned.into_iter().next())
    }

    async fn namespace(client: &Client, ws: &str, name: &str) -> Result<Option<Namespace>, Error> {
        match client
            .describe_rule_groups_namespace()
            .workspace_id(ws)
            .name(name)
            .send()
            .await
        {
            Ok(out) => Ok(out.rule_groups_namespace.map(|ns| Namespace {
                data: String::from_utf8_lossy(ns.data().as_ref()).into_owned(),
                tags: ns.tags().cloned().unwrap_or_default(),
                status: ns.status().map(|s| s.status_code().clone()),
            })),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_resource_not_found_exception()) =>
            {
                Ok(None)
            }
            Err(e) => Err(sdk_error("amp", "DescribeRuleGroupsNamespace", &e)),
        }
    }

    /// Tags the config asks for that the workspace lacks or has with another value.
    fn missing_tags(config: &Config, ws: &Workspace) -> HashMap<String, String> {
        tags(config)
            .into_iter()
            .filter(|(k, v)| ws.tags.get(k) != Some(v))
            .collect()
    }

    async fn wait_active(ctx: &StepCtx, client: &Client, id: &str) -> Result<Workspace, Error> {
        ctx.wait_for(
            &format!("AMP workspace {id} to become ACTIVE"),
            POLL,
            || async {
                match Self::describe(client, id, true).await? {
                    Some(ws) if ws.status == WorkspaceStatusCode::Active => Ok(Some(ws)),
                    Some(ws) if ws.status == WorkspaceStatusCode::CreationFailed => {
                        Err(Error::Aws {
                            service: "amp",
                            operation: "CreateWorkspace",
                            message: format!("workspace {id} ended in CREATION_FAILED"),
                            help: "run `meshctl cleanup --only amp`, then try again".into(),
                        })
                    }
                    Some(_) => Ok(None),
                    None => Err(Error::Aws {
                        service: "amp",
                        operation: "DescribeWorkspace",
                        message: format!("workspace {id} disappeared while waiting for it"),
                        help: "something else deleted it; run the command again".into(),
                    }),
                }
            },
        )
        .await
    }

    async fn wait_gone(ctx: &StepCtx, client: &Client, id: &str) -> Result<(), Error> {
        if ctx.options.no_wait {
            return Ok(());
        }
        ctx.wait_for(
            &format!("AMP workspace {id} to be deleted"),
            POLL,
            || async {
                Ok(Self::describe(client, id, true)
                    .await?
                    .is_none()
                    .then_some(()))
            },
        )
        .await
    }

    async fn delete_workspace(ctx: &StepCtx, client: &Client, id: &str) -> Result<bool, Error> {
        ctx.progress
            .message(&format!("deleting AMP workspace {id}"));
        match client.delete_workspace().workspace_id(id).send().await {
            Ok(_) => {}
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_resource_not_found_exception()) =>
            {
                return Ok(false);
            }
            Err(e) => return Err(sdk_error("amp", "DeleteWorkspace", &e)),
        }
        Self::wait_gone(ctx, client, id).await?;
        Ok(true)
    }

    async fn delete_namespace(client: &Client, ws: &str, name: &str) -> Result<bool, Error> {
        match client
            .delete_rule_groups_namespace()
            .workspace_id(ws)
            .name(name)
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_resource_not_found_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(sdk_error("amp", "DeleteRuleGroupsNamespace", &e)),
        }
    }

    fn outputs(config: &Config, ws: &Workspace) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        out.insert("workspace_id".into(), ws.id.clone());
        out.insert("workspace_arn".into(), ws.arn.clone());
        out.insert("owned".into(), ws.owned.to_string());
        out.insert("rules_namespace".into(), config.amp.rules_namespace.clone());
        if let Some(ep) = &ws.endpoint {
            out.insert("prometheus_endpoint".into(), ep.clone());
            out.insert("remote_write_url".into(), remote_write_url(ep));
            out.insert("query_url".into(), format!("{ep}api/v1/query"));
        }
        out
    }
}

#[async_trait]
impl Step for AmpStep {
    fn id(&self) -> StepId {
        StepId::Amp
    }

    async fn plan(&self, ctx: &StepCtx) -> Result<StepPlan, Error> {
        let config = &ctx.config;
        let rules = render_rules(config)?;
        let ns_name = &config.amp.rules_namespace;
        let mut plan = StepPlan::new(StepId::Amp);
        let Some(aws) = &ctx.aws else {
            match &config.amp.workspace_id {
                Some(id) => plan.push(
                    Action::new(Op::Keep, WORKSPACE, id).detail("existing workspace, not owned"),
                ),
                None => plan.push(
                    Action::new(Op::Create, WORKSPACE, config.amp_alias()).detail(format!(
                        "tag {}={}",
                        crate::config::STACK_TAG,
                        config.name
                    )),
                ),
            }
            plan.push(Action::new(Op::Create, NAMESPACE, ns_name).detail(rules_summary(&rules)));
            return Ok(plan);
        };
        let client = aws.amp();
        let Some(ws) = Self::find(&client, config).await? else {
            plan.push(
                Action::new(Op::Create, WORKSPACE, config.amp_alias()).detail(format!(
                    "tag {}={}",
                    crate::config::STACK_TAG,
                    config.name
                )),
            );
            plan.push(Action::new(Op::Create, NAMESPACE, ns_name).detail(rules_summary(&rules)));
            return Ok(plan);
        };
        let missing = if ws.owned {
            Self::missing_tags(config, &ws)
        } else {
            HashMap::new()
        };
        let ws_action = if missing.is_empty() {
            Action::new(Op::Keep, WORKSPACE, &ws.id)
        } else {
            let mut keys: Vec<_> = missing.keys().cloned().collect();
            keys.sort();
            Action::new(Op::Update, WORKSPACE, &ws.id)
                .detail(format!("add tags {}", keys.join(", ")))
        };
        plan.push(ws_action.detail(format!(
            "{}, {}",
            ws.status.as_str(),
            if ws.owned {
                "owned"
            } else {
                "existing, not owned"
            }
        )));
        match Self::namespace(&client, &ws.id, ns_name).await? {
            None => {
                plan.push(Action::new(Op::Create, NAMESPACE, ns_name).detail(rules_summary(&rules)))
            }
            Some(ns) if ns.data == rules => plan.push(Action::new(Op::Keep, NAMESPACE, ns_name)),
            Some(_) => plan.push(
                Action::new(Op::Update, NAMESPACE, ns_name)
                    .detail(format!("replace with {}", rules_summary(&rules))),
            ),
        }
        Ok(plan)
    }

    async fn apply(&self, ctx: &StepCtx) -> Result<StepReport, Error> {
        let config = &ctx.config;
        let aws = ctx.aws()?;
        let client = aws.amp();
        let rules = render_rules(config)?;
        let run_id = ctx.ledger.run_id().await;
        let mut report = StepReport {
            step: Some(StepId::Amp),
            ..Default::default()
        };

        ctx.progress.message("looking for the AMP workspace");
        let mut ws = match Self::find(&client, config).await? {
            Some(ws) => {
                report
                    .actions
                    .push(Action::new(Op::Keep, WORKSPACE, &ws.id));
                ws
            }
            None => {
                ctx.progress.message("creating the AMP workspace");
                let out = client
                    .create_workspace()
                    .alias(config.amp_alias())
                    .client_token(client_token(&config.name, &run_id, WORKSPACE))
                    .set_tags(Some(tags(config)))
                    .send()
                    .await
                    .map_err(|e| sdk_error("amp", "CreateWorkspace", &e))?;
                let id = out.workspace_id().to_string();
                ctx.ledger
                    .record(
                        Resource::new(StepId::Amp, WORKSPACE, &id)
                            .with("arn", out.arn())
                            .with("region", &config.region),
                    )
                    .await?;
                report.actions.push(Action::new(Op::Create, WORKSPACE, &id));
                Workspace {
                    id,
                    alias: Some(config.amp_alias().to_string()),
                    arn: out.arn().to_string(),
                    status: out
                        .status()
                        .map(|s| s.status_code().clone())
                        .unwrap_or(WorkspaceStatusCode::Creating),
                    endpoint: None,
                    tags: tags(config),
                    owned: true,
                }
            }
        };

        if ws.owned {
            let missing = Self::missing_tags(config, &ws);
            if !missing.is_empty() {
                client
                    .tag_resource()
                    .resource_arn(&ws.arn)
                    .set_tags(Some(missing))
                    .send()
                    .await
                    .map_err(|e| sdk_error("amp", "TagResource", &e))?;
                if let Some(a) = report
                    .actions
                    .iter_mut()
                    .find(|a| a.kind == WORKSPACE && a.op == Op::Keep)
                {
                    a.op = Op::Update;
                    a.detail = Some("tags updated".into());
                }
            }
        }

        if ws.status != WorkspaceStatusCode::Active || ws.endpoint.is_none() {
            if ctx.options.no_wait {
                report.notes.push(format!(
                    "workspace {} is {}; --no-wait skipped the Istio rules: run `meshctl amp` again once it is ACTIVE",
                    ws.id,
                    ws.status.as_str()
                ));
                report.outputs = Self::outputs(config, &ws);
                return Ok(report);
            }
            ws = Self::wait_active(ctx, &client, &ws.id).await?;
        }

        let ns_name = &config.amp.rules_namespace;
        ctx.progress
            .message(&format!("reconciling rule-groups namespace {ns_name}"));
        match Self::namespace(&client, &ws.id, ns_name).await? {
            None => {
                client
                    .create_rule_groups_namespace()
                    .workspace_id(&ws.id)
                    .name(ns_name)
                    .data(Blob::new(rules.as_bytes()))
                    .client_token(client_token(&config.name, &run_id, NAMESPACE))
                    .set_tags(Some(tags(config)))
                    .send()
                    .await
                    .map_err(|e| sdk_error("amp", "CreateRuleGroupsNamespace", &e))?;
                ctx.ledger
                    .record(
                        Resource::new(StepId::Amp, NAMESPACE, ns_name)
                            .with("workspace_id", &ws.id)
                            .with("region", &config.region),
                    )
                    .await?;
                report.actions.push(
                    Action::new(Op::Create, NAMESPACE, ns_name).detail(rules_summary(&rules)),
                );
            }
            Some(ns) if ns.data == rules => {
                report
                    .actions
                    .push(Action::new(Op::Keep, NAMESPACE, ns_name));
            }
            Some(ns) => {
                if !owned_by(Some(&ns.tags), &config.name) {
                    return Err(Error::config(
                        format!(
                            "rule-groups namespace `{ns_name}` in workspace {} exists and is not owned by stack `{}`",
                            ws.id, config.name
                        ),
                        "choose another name with amp.rules_namespace; meshctl never overwrites what it does not own",
                    ));
                }
                client
                    .put_rule_groups_namespace()
                    .workspace_id(&ws.id)
                    .name(ns_name)
                    .data(Blob::new(rules.as_bytes()))
                    .send()
                    .await
                    .map_err(|e| sdk_error("amp", "PutRuleGroupsNamespace", &e))?;
                report.actions.push(
                    Action::new(Op::Update, NAMESPACE, ns_name).detail(rules_summary(&rules)),
                );
            }
        }
        if !ctx.options.no_wait {
            let ws_id = ws.id.clone();
            ctx.wait_for(
                &format!("rule-groups namespace {ns_name} to become ACTIVE"),
                POLL,
                || async {
                    Ok(Self::namespace(&client, &ws_id, ns_name)
                        .await?
                        .and_then(|ns| match ns.status {
                            None | Some(RuleGroupsNamespaceStatusCode::Active) => Some(()),
                            _ => None,
                        }))
                },
            )
            .await?;
        }
        report.outputs = Self::outputs(config, &ws);
        Ok(report)
    }

    async fn destroy_plan(&self, ctx: &StepCtx) -> Result<StepPlan, Error> {
        let config = &ctx.config;
        let mut plan = StepPlan::new(StepId::Amp);
        let Some(aws) = &ctx.aws else {
            plan.note("offline: cannot list workspaces without credentials");
            return Ok(plan);
        };
        let client = aws.amp();
        if let Some(id) = &config.amp.workspace_id
            && let Some(ns) = Self::namespace(&client, id, &config.amp.rules_namespace).await?
            && owned_by(Some(&ns.tags), &config.name)
        {
            plan.push(
                Action::new(Op::Delete, NAMESPACE, &config.amp.rules_namespace)
                    .detail(format!("in workspace {id}, which is kept")),
            );
        }
        for ws in Self::owned_workspaces(&client, &config.name, None).await? {
            plan.push(Action::new(Op::Delete, WORKSPACE, &ws.id).detail(format!(
                "alias {}, tagged {}={}",
                ws.alias.as_deref().unwrap_or("(none)"),
                crate::config::STACK_TAG,
                config.name
            )));
        }
        Ok(plan)
    }

    async fn destroy(&self, ctx: &StepCtx) -> Result<StepReport, Error> {
        let config = &ctx.config;
        let client = ctx.aws()?.amp();
        let mut report = StepReport {
            step: Some(StepId::Amp),
            ..Default::default()
        };
        if let Some(id) = &config.amp.workspace_id {
            let name = &config.amp.rules_namespace;
            if let Some(ns) = Self::namespace(&client, id, name).await?
                && owned_by(Some(&ns.tags), &config.name)
                && Self::delete_namespace(&client, id, name).await?
            {
                report
                    .actions
                    .push(Action::new(Op::Delete, NAMESPACE, name));
            }
        }
        for ws in Self::owned_workspaces(&client, &config.name, None).await? {
            if Self::delete_workspace(ctx, &client, &ws.id).await? {
                report
                    .actions
                    .push(Action::new(Op::Delete, WORKSPACE, &ws.id));
            }
        }
        Ok(report)
    }

    async fn status(&self, ctx: &StepCtx) -> Result<StepStatus, Error> {
        let config = &ctx.config;
        let client = ctx.aws()?.amp();
        let mut details = BTreeMap::new();
        let state = match Self::find(&client, config).await? {
            None => "absent",
            Some(ws) => {
                let ns = Self::namespace(&client, &ws.id, &config.amp.rules_namespace).await?;
                let rules_ok = ns
                    .as_ref()
                    .is_some_and(|ns| ns.data == render_rules(config).unwrap_or_default());
                details.insert("workspace_id".into(), ws.id.clone());
                details.insert("state".into(), ws.status.as_str().to_string());
                if let Some(ep) = &ws.endpoint {
                    details.insert("remote_write_url".into(), remote_write_url(ep));
                }
                details.insert(
                    "rules".into(),
                    match (&ns, rules_ok) {
                        (None, _) => "missing".to_string(),
                        (Some(_), true) => format!("{} (up to date)", config.amp.rules_namespace),
                        (Some(_), false) => {
                            format!("{} (differs from config)", config.amp.rules_namespace)
                        }
                    },
                );
                if ws.status == WorkspaceStatusCode::Active && rules_ok {
                    "present"
                } else {
                    "partial"
                }
            }
        };
        Ok(StepStatus {
            step: StepId::Amp,
            state: state.into(),
            details,
        })
    }

    async fn undo(&self, ctx: &StepCtx, resource: &Resource) -> Result<(), Error> {
        let client = ctx.aws()?.amp();
        match resource.kind.as_str() {
            WORKSPACE => {
                Self::delete_workspace(ctx, &client, &resource.id).await?;
            }
            NAMESPACE => {
                let ws = resource.get("workspace_id").unwrap_or_default();
                Self::delete_namespace(&client, ws, &resource.id).await?;
            }
            other => {
                return Err(Error::State {
                    location: "ledger".into(),
                    message: format!("amp does not know resource kind `{other}`"),
                });
            }
        }
        Ok(())
    }

    fn undo_hint(&self, resource: &Resource) -> String {
        let region = resource.get("region").unwrap_or("<region>");
        match resource.kind.as_str() {
            WORKSPACE => format!(
                "aws amp delete-workspace --region {region} --workspace-id {}",
                resource.id
            ),
            NAMESPACE => format!(
                "aws amp delete-rule-groups-namespace --region {region} --workspace-id {} --name {}",
                resource.get("workspace_id").unwrap_or("<workspace-id>"),
                resource.id
            ),
            _ => "meshctl cleanup --only amp".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        serde_yaml_ng::from_str("name: demo").unwrap()
    }

    #[test]
    fn rules_render_with_thresholds() {
        let mut c = config();
        c.amp.alerts.error_ratio = 0.02;
        c.amp.alerts.p99_latency_ms = 750;
        let rules = render_rules(&c).unwrap();
        assert!(rules.contains("ratio_rate5m > 0.02"), "{rules}");
        assert!(rules.contains("p99_5m > 750"), "{rules}");
        assert!(
            rules.contains("$labels.destination_service_name"),
            "{rules}"
        );
        assert!(rules.contains("meshctl_stack: \"demo\""), "{rules}");
    }

    #[test]
    fn remote_write_url_appends_path() {
        assert_eq!(
            remote_write_url("https://aps-workspaces.us-west-2.amazonaws.com/workspaces/ws-1/"),
            "https://aps-workspaces.us-west-2.amazonaws.com/workspaces/ws-1/api/v1/remote_write"
        );
    }
}
