//! `amp`: an Amazon Managed Service for Prometheus workspace, found by the stack tag first and
//! the alias second (aliases are not unique, and a changed alias renames the workspace), and a
//! rule-groups namespace with the Istio rules. Ownership rules: [`crate::engine::owned`].

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_amp::Client;
use aws_sdk_amp::primitives::Blob;
use aws_sdk_amp::types::{RuleGroupsNamespaceStatusCode, WorkspaceStatusCode};
use serde_json::json;

use crate::aws::{client_token, sdk_error, tags};
use crate::config::Config;
use crate::engine::owned::{
    MANAGED_TAGS, Owned, TagChanges, Tagged, is_owned, line_diff, managed_tag_keys,
    managed_tags_output,
};
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
    arn: String,
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

impl Tagged for Workspace {
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

/// What the rule-groups namespace needs.
#[derive(Debug, Clone)]
enum NsPlan {
    Create,
    /// Up to date; `owned` is `false` for someone else's namespace with identical rules.
    Keep {
        owned: bool,
    },
    /// Owned and different: new rules (`diff` non-empty) and/or tags.
    Update {
        arn: String,
        diff: Vec<String>,
        tags: TagChanges,
    },
    /// Exists, differs, and is not the stack's: applying would overwrite someone's rules.
    Conflict {
        reason: String,
        fix: String,
    },
}

/// Everything the amp step observed and decided, shared by `plan` and `apply` so that what
/// is applied is exactly what was planned.
struct Survey {
    /// The workspace the rules go to: the pinned one or the stack's own. `None`: create it.
    ws: Option<Workspace>,
    /// `(old alias, new alias)` for an owned workspace found under another alias.
    rename: Option<(Option<String>, String)>,
    /// Tag changes for an owned workspace.
    ws_tags: TagChanges,
    /// Other workspaces tagged for the stack (cleanup removes them).
    leftovers: Vec<Workspace>,
    ns: NsPlan,
    /// Namespaces in the workspace owned by the stack under another name (the configured
    /// name changed): replaced by the configured one.
    stale_ns: Vec<String>,
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

    /// Every live workspace carrying this stack's tag, whatever its alias.
    async fn tagged_workspaces(client: &Client, stack: &str) -> Result<Vec<Workspace>, Error> {
        let mut found = vec![];
        let mut pages = client.list_workspaces().into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| sdk_error("amp", "ListWorkspaces", &e))?;
            for summary in page.workspaces() {
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
                if !is_owned(&tags, stack) {
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

    /// The pinned workspace (`amp.workspace_id`), if the config names one.
    async fn pinned(client: &Client, config: &Config) -> Result<Option<Workspace>, Error> {
        let Some(id) = &config.amp.workspace_id else {
            return Ok(None);
        };
        match Self::describe(client, id, false).await? {
            Some(ws) => Ok(Some(ws)),
            None => Err(Error::config(
                format!(
                    "amp.workspace_id `{id}` does not exist in {}",
                    config.region
                ),
                "check the id with the AMP console, or remove amp.workspace_id to let meshctl create a workspace",
            )),
        }
    }

    /// The stack's workspaces by the ownership rules (tag first, alias second; a pinned one
    /// is never among them).
    async fn owned(client: &Client, config: &Config) -> Result<Owned<Workspace>, Error> {
        let found = Self::tagged_workspaces(client, &config.name).await?;
        Ok(Owned::sort(
            found,
            &config.name,
            config.amp.workspace_id.as_deref(),
            config.amp_alias(),
            |w| w.status == WorkspaceStatusCode::Active,
        ))
    }

    async fn survey(ctx: &StepCtx, client: &Client, rules: &str) -> Result<Survey, Error> {
        let config = &ctx.config;
        let pinned = Self::pinned(client, config).await?;
        let owned = Self::owned(client, config).await?;
        let desired = tags(config);
        let set_before =
            managed_tag_keys(ctx.state.output(StepId::Amp, MANAGED_TAGS).await.as_deref());
        let ws = pinned.or(owned.primary);
        let (rename, ws_tags) = match &ws {
            Some(w) if w.owned => (
                (w.alias.as_deref() != Some(config.amp_alias()))
                    .then(|| (w.alias.clone(), config.amp_alias().to_string())),
                TagChanges::between(&desired, &w.tags, &set_before),
            ),
            _ => (None, TagChanges::default()),
        };
        let ns_name = &config.amp.rules_namespace;
        let (ns, stale_ns) = match &ws {
            None => (NsPlan::Create, vec![]),
            Some(w) => {
                let ns = match Self::namespace(client, &w.id, ns_name).await? {
                    None => NsPlan::Create,
                    Some(ns) if !is_owned(&ns.tags, &config.name) => {
                        if ns.data == rules {
                            NsPlan::Keep { owned: false }
                        } else {
                            NsPlan::Conflict {
                                reason: format!(
                                    "exists in workspace {} with other rules and is not tagged {}={}",
                                    w.id,
                                    crate::config::STACK_TAG,
                                    config.name
                                ),
                                fix: "choose another name with amp.rules_namespace; meshctl never overwrites what it does not own".into(),
                            }
                        }
                    }
                    Some(ns) => {
                        let diff = if ns.data == rules {
                            vec![]
                        } else {
                            line_diff(&ns.data, rules, 8)
                        };
                        let tags = TagChanges::between(&desired, &ns.tags, &set_before);
                        if ns.data == rules && tags.is_empty() {
                            NsPlan::Keep { owned: true }
                        } else {
                            NsPlan::Update {
                                arn: ns.arn,
                                // A change in whitespace only still needs a put.
                                diff: if diff.is_empty() && ns.data != rules {
                                    vec!["whitespace only".into()]
                                } else {
                                    diff
                                },
                                tags,
                            }
                        }
                    }
                };
                let stale = Self::owned_namespaces(client, &w.id, &config.name)
                    .await?
                    .into_iter()
                    .filter(|n| n != ns_name)
                    .collect();
                (ns, stale)
            }
        };
        Ok(Survey {
            ws,
            rename,
            ws_tags,
            leftovers: owned.leftovers,
            ns,
            stale_ns,
        })
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
                arn: ns.arn().to_string(),
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

    /// Names of the rule-groups namespaces in `ws` tagged for the stack.
    async fn owned_namespaces(
        client: &Client,
        ws: &str,
        stack: &str,
    ) -> Result<Vec<String>, Error> {
        let mut names = vec![];
        let mut pages = client
            .list_rule_groups_namespaces()
            .workspace_id(ws)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = match page {
                Ok(p) => p,
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|se| se.is_resource_not_found_exception()) =>
                {
                    return Ok(vec![]);
                }
                Err(e) => return Err(sdk_error("amp", "ListRuleGroupsNamespaces", &e)),
            };
            for ns in page.rule_groups_namespaces() {
                if ns.tags().is_some_and(|t| is_owned(t, stack)) {
                    names.push(ns.name().to_string());
                }
            }
        }
        Ok(names)
    }

    async fn retag(client: &Client, arn: &str, changes: &TagChanges) -> Result<(), Error> {
        if !changes.set.is_empty() {
            client
                .tag_resource()
                .resource_arn(arn)
                .set_tags(Some(changes.set.clone().into_iter().collect()))
                .send()
                .await
                .map_err(|e| sdk_error("amp", "TagResource", &e))?;
        }
        if !changes.remove.is_empty() {
            client
                .untag_resource()
                .resource_arn(arn)
                .set_tag_keys(Some(changes.remove.clone()))
                .send()
                .await
                .map_err(|e| sdk_error("amp", "UntagResource", &e))?;
        }
        Ok(())
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
        out.insert(MANAGED_TAGS.into(), managed_tags_output(&tags(config)));
        if let Some(ep) = &ws.endpoint {
            out.insert("prometheus_endpoint".into(), ep.clone());
            out.insert("remote_write_url".into(), remote_write_url(ep));
            out.insert("query_url".into(), format!("{ep}api/v1/query"));
        }
        out
    }

    /// The plan line of the workspace the survey found.
    fn workspace_action(survey: &Survey, ws: &Workspace) -> Action {
        if !ws.owned {
            return Action::new(Op::Keep, WORKSPACE, &ws.id)
                .detail(ws.status.as_str())
                .detail("pinned by amp.workspace_id: used, never tagged, renamed or deleted");
        }
        let changed = survey.rename.is_some() || !survey.ws_tags.is_empty();
        let mut a = Action::new(
            if changed { Op::Update } else { Op::Keep },
            WORKSPACE,
            &ws.id,
        )
        .detail(format!("{}, owned", ws.status.as_str()));
        if let Some((old, new)) = &survey.rename {
            a.push_detail(format!(
                "alias {} -> {new}",
                old.as_deref().unwrap_or("(none)")
            ));
        }
        for line in &survey.ws_tags.lines {
            a.push_detail(line.clone());
        }
        a
    }

    fn namespace_action(ns: &NsPlan, name: &str, rules: &str) -> Action {
        match ns {
            NsPlan::Create => Action::new(Op::Create, NAMESPACE, name).detail(rules_summary(rules)),
            NsPlan::Keep { owned: true } => Action::new(Op::Keep, NAMESPACE, name),
            NsPlan::Keep { owned: false } => {
                Action::new(Op::Keep, NAMESPACE, name).detail("not owned; its rules already match")
            }
            NsPlan::Update { diff, tags, .. } => {
                let mut a = Action::new(Op::Update, NAMESPACE, name);
                if !diff.is_empty() {
                    a.push_detail(format!("rules: {}", rules_summary(rules)));
                    for line in diff {
                        a.push_detail(line.clone());
                    }
                }
                for line in &tags.lines {
                    a.push_detail(line.clone());
                }
                a
            }
            NsPlan::Conflict { reason, fix } => Action::new(Op::Conflict, NAMESPACE, name)
                .detail(reason.clone())
                .detail(format!("fix: {fix}")),
        }
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
        let create_ws = || {
            Action::new(Op::Create, WORKSPACE, config.amp_alias()).detail(format!(
                "tag {}={}",
                crate::config::STACK_TAG,
                config.name
            ))
        };
        let Some(aws) = &ctx.aws else {
            match &config.amp.workspace_id {
                Some(id) => plan.push(
                    Action::new(Op::Keep, WORKSPACE, id).detail("existing workspace, not owned"),
                ),
                None => plan.push(create_ws()),
            }
            plan.push(Action::new(Op::Create, NAMESPACE, ns_name).detail(rules_summary(&rules)));
            return Ok(plan);
        };
        let client = aws.amp();
        let survey = Self::survey(ctx, &client, &rules).await?;
        match &survey.ws {
            None => plan.push(create_ws()),
            Some(ws) => plan.push(Self::workspace_action(&survey, ws)),
        }
        plan.push(Self::namespace_action(&survey.ns, ns_name, &rules));
        for stale in &survey.stale_ns {
            plan.push(
                Action::new(Op::Delete, NAMESPACE, stale)
                    .detail(format!("owned by the stack; replaced by {ns_name}")),
            );
        }
        if !survey.leftovers.is_empty() {
            let ids: Vec<&str> = survey.leftovers.iter().map(|w| w.id.as_str()).collect();
            plan.note(format!(
                "other workspaces tagged for this stack are left over from earlier runs: {}; `meshctl cleanup --only amp` removes them",
                ids.join(", ")
            ));
        }
        Ok(plan)
    }

    async fn apply(&self, ctx: &StepCtx) -> Result<StepReport, Error> {
        let config = &ctx.config;
        let aws = ctx.aws()?;
        let client = aws.amp();
        let rules = render_rules(config)?;
        let run_id = ctx.ledger.run_id().await;
        let placement = ctx.placement();
        let mut report = StepReport {
            step: Some(StepId::Amp),
            ..Default::default()
        };

        ctx.progress.message("looking for the AMP workspace");
        let survey = Self::survey(ctx, &client, &rules).await?;
        let ns_name = &config.amp.rules_namespace;
        if let NsPlan::Conflict { reason, fix } = &survey.ns {
            // The plan showed it and the run refuses before any change; this guards callers
            // that apply without planning.
            return Err(Error::config(
                format!("rule-groups namespace `{ns_name}` {reason}"),
                fix.clone(),
            ));
        }
        let mut ws = match &survey.ws {
            Some(ws) => {
                let action = Self::workspace_action(&survey, ws);
                if let Some((_, alias)) = &survey.rename {
                    ctx.progress
                        .message(&format!("renaming AMP workspace {} to {alias}", ws.id));
                    client
                        .update_workspace_alias()
                        .workspace_id(&ws.id)
                        .alias(alias)
                        .client_token(client_token(&config.name, &run_id, "amp-workspace-alias"))
                        .send()
                        .await
                        .map_err(|e| sdk_error("amp", "UpdateWorkspaceAlias", &e))?;
                }
                Self::retag(&client, &ws.arn, &survey.ws_tags).await?;
                report.actions.push(action);
                ws.clone()
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
                            .with("region", &placement.region)
                            .with("account", &placement.account),
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

        if ws.status != WorkspaceStatusCode::Active || ws.endpoint.is_none() {
            if ctx.options.no_wait {
                report.incomplete = Some(format!(
                    "workspace {} is {}; --no-wait skipped the Istio rules: run `meshctl amp` again once it is ACTIVE",
                    ws.id,
                    ws.status.as_str()
                ));
                report.outputs = Self::outputs(config, &ws);
                return Ok(report);
            }
            ws = Self::wait_active(ctx, &client, &ws.id).await?;
        }

        ctx.progress
            .message(&format!("reconciling rule-groups namespace {ns_name}"));
        let mut ns_plan = survey.ns.clone();
        if survey.ws.is_none() {
            // A new workspace: whatever was planned, the namespace is created in it.
            ns_plan = NsPlan::Create;
        }
        let action = Self::namespace_action(&ns_plan, ns_name, &rules);
        match &ns_plan {
            NsPlan::Create => {
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
                            .with("region", &placement.region)
                            .with("account", &placement.account),
                    )
                    .await?;
            }
            NsPlan::Keep { .. } | NsPlan::Conflict { .. } => {}
            NsPlan::Update { arn, diff, tags } => {
                if !diff.is_empty() {
                    client
                        .put_rule_groups_namespace()
                        .workspace_id(&ws.id)
                        .name(ns_name)
                        .data(Blob::new(rules.as_bytes()))
                        .send()
                        .await
                        .map_err(|e| sdk_error("amp", "PutRuleGroupsNamespace", &e))?;
                }
                Self::retag(&client, arn, tags).await?;
            }
        }
        report.actions.push(action);
        for stale in &survey.stale_ns {
            if Self::delete_namespace(&client, &ws.id, stale).await? {
                report.actions.push(
                    Action::new(Op::Delete, NAMESPACE, stale)
                        .detail(format!("replaced by {ns_name}")),
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
            && Self::describe(&client, id, false).await?.is_some()
        {
            plan.push(
                Action::new(Op::Keep, WORKSPACE, id).detail("pinned by amp.workspace_id: kept"),
            );
            for name in Self::owned_namespaces(&client, id, &config.name).await? {
                plan.push(
                    Action::new(Op::Delete, NAMESPACE, name)
                        .detail(format!("in workspace {id}, which is kept")),
                );
            }
        }
        for ws in Self::owned(&client, config).await?.deletable() {
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
        if let Some(id) = &config.amp.workspace_id
            && Self::describe(&client, id, false).await?.is_some()
        {
            for name in Self::owned_namespaces(&client, id, &config.name).await? {
                if Self::delete_namespace(&client, id, &name).await? {
                    report
                        .actions
                        .push(Action::new(Op::Delete, NAMESPACE, name));
                }
            }
        }
        for ws in Self::owned(&client, config).await?.deletable() {
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
        let rules = render_rules(config)?;
        let mut details = BTreeMap::new();
        let survey = Self::survey(ctx, &client, &rules).await?;
        let state = match &survey.ws {
            None => "absent",
            Some(ws) => {
                details.insert("workspace_id".into(), ws.id.clone());
                details.insert("state".into(), ws.status.as_str().to_string());
                if let Some(ep) = &ws.endpoint {
                    details.insert("remote_write_url".into(), remote_write_url(ep));
                }
                if let Some((old, new)) = &survey.rename {
                    details.insert(
                        "alias".into(),
                        format!("{} (config says {new})", old.as_deref().unwrap_or("(none)")),
                    );
                }
                let rules_ok = matches!(survey.ns, NsPlan::Keep { .. })
                    || matches!(&survey.ns, NsPlan::Update { diff, .. } if diff.is_empty());
                let ns = &config.amp.rules_namespace;
                details.insert(
                    "rules".into(),
                    match &survey.ns {
                        NsPlan::Create => "missing".to_string(),
                        NsPlan::Conflict { .. } => format!("{ns} (exists, not owned, differs)"),
                        _ if rules_ok => format!("{ns} (up to date)"),
                        _ => format!("{ns} (differs from config)"),
                    },
                );
                if !survey.leftovers.is_empty() {
                    let ids: Vec<&str> = survey.leftovers.iter().map(|w| w.id.as_str()).collect();
                    details.insert("leftover_workspaces".into(), ids.join(", "));
                }
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
                return Err(Resource::unknown_kind(StepId::Amp, other));
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
