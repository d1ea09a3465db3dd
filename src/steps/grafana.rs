//! `grafana`: an Amazon Managed Grafana workspace (found by name *and* the stack tag, or named
//! by `grafana.workspace_id` and then never deleted), Admin for the configured SSO users and
//! groups, and through the Grafana HTTP API, with a short-lived service-account token held in
//! memory only: the AMP data source, the stack's folder and the Istio dashboards.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_grafana::Client;
use aws_sdk_grafana::types::{
    AccountAccessType, AuthenticationProviderTypes, DataSourceType, PermissionType, Role,
    UpdateAction, UpdateInstruction, User, UserType, WorkspaceStatus,
};
use serde_json::{Value, json};

use crate::aws::{client_token, owned_by, sdk_error, tags};
use crate::config::{Config, STACK_TAG};
use crate::engine::{
    Action, Op, Resource, Step, StepCtx, StepId, StepPlan, StepReport, StepStatus,
};
use crate::error::Error;
use crate::grafana::GrafanaApi;
use crate::grafana::dashboard::{self, Rewrite};
use crate::http::Secret;

pub const WORKSPACE: &str = "grafana-workspace";
pub const SERVICE_ACCOUNT: &str = "grafana-service-account";
pub const TOKEN: &str = "grafana-token";
pub const DATASOURCE: &str = "grafana-datasource";
pub const FOLDER: &str = "grafana-folder";
pub const DASHBOARD: &str = "grafana-dashboard";
/// The service account meshctl uses in every workspace it provisions.
pub const SERVICE_ACCOUNT_NAME: &str = "meshctl";
/// How long a service-account token lives: long enough for one run's API calls, no longer.
pub const TOKEN_TTL: Duration = Duration::from_secs(15 * 60);
const POLL: Duration = Duration::from_secs(3);
/// The workspace configuration meshctl asks for: unified alerting on.
const WORKSPACE_CONFIGURATION: &str = r#"{"unifiedAlerting":{"enabled":true}}"#;

/// The data-source type Grafana 13 migrates SigV4 Prometheus data sources to.
const AMP_PLUGIN_TYPE: &str = "grafana-amazonprometheus-datasource";

pub struct GrafanaStep;

/// A workspace as meshctl sees it.
#[derive(Debug, Clone)]
pub struct Workspace {
    pub id: String,
    pub name: String,
    pub status: WorkspaceStatus,
    pub endpoint: String,
    pub version: String,
    pub data_sources: Vec<DataSourceType>,
    pub tags: HashMap<String, String>,
    /// `false` for a workspace named by `grafana.workspace_id`: used, never tagged or deleted.
    pub owned: bool,
}

/// The UIDs meshctl gives the stack's Grafana objects: stable, so re-runs find them.
pub fn datasource_uid(stack: &str) -> String {
    format!("meshctl-{}-amp", dashboard::short_hash(stack))
}

pub fn folder_uid(stack: &str) -> String {
    format!("meshctl-{}", dashboard::short_hash(stack))
}

pub fn datasource_name(stack: &str) -> String {
    format!("meshctl {stack} AMP")
}

/// The Grafana HTTP API base URL: the `grafana.url` override, else the workspace endpoint.
pub fn grafana_url(config: &Config, ws: &Workspace) -> String {
    match &config.grafana.url {
        Some(url) => url.trim_end_matches('/').to_string(),
        None => format!("https://{}", ws.endpoint.trim_end_matches('/')),
    }
}

/// `1.2.3` > `1.10` is false: compare versions number by number.
fn version_key(v: &str) -> Vec<u64> {
    v.split('.').map(|p| p.parse().unwrap_or(0)).collect()
}

/// The newest version in `versions`.
pub fn newest_version(versions: &[String]) -> Option<String> {
    versions.iter().max_by_key(|v| version_key(v)).cloned()
}

/// Whether Grafana `version` lets an alert rule select its contact point directly
/// (simplified routing, Grafana 11 and newer).
pub fn has_simplified_routing(version: &str) -> bool {
    version_key(version)
        .first()
        .is_some_and(|major| *major >= 11)
}

fn not_found<E: aws_smithy_types::error::metadata::ProvideErrorMetadata>(e: &E) -> bool {
    e.code() == Some("ResourceNotFoundException")
}

impl GrafanaStep {
    async fn describe(client: &Client, id: &str, owned: bool) -> Result<Option<Workspace>, Error> {
        match client.describe_workspace().workspace_id(id).send().await {
            Ok(out) => Ok(out.workspace.map(|w| Workspace {
                id: w.id().to_string(),
                name: w.name().unwrap_or_default().to_string(),
                status: w.status().clone(),
                endpoint: w.endpoint().to_string(),
                version: w.grafana_version().to_string(),
                data_sources: w.data_sources().to_vec(),
                tags: w.tags().cloned().unwrap_or_default(),
                owned,
            })),
            Err(e) if e.as_service_error().is_some_and(not_found) => Ok(None),
            Err(e) => Err(sdk_error("grafana", "DescribeWorkspace", &e)),
        }
    }

    /// Every workspace carrying this stack's tag, optionally only those named `name`.
    async fn owned_workspaces(
        client: &Client,
        stack: &str,
        name: Option<&str>,
    ) -> Result<Vec<Workspace>, Error> {
        let mut found = vec![];
        let mut pages = client.list_workspaces().into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| sdk_error("grafana", "ListWorkspaces", &e))?;
            for s in page.workspaces() {
                if name.is_some_and(|n| s.name() != Some(n))
                    || !owned_by(s.tags(), stack)
                    || *s.status() == WorkspaceStatus::Deleting
                {
                    continue;
                }
                if let Some(ws) = Self::describe(client, s.id(), true).await? {
                    found.push(ws);
                }
            }
        }
        Ok(found)
    }

    /// The workspace this stack uses, if it exists.
    pub async fn find(client: &Client, config: &Config) -> Result<Option<Workspace>, Error> {
        if let Some(id) = &config.grafana.workspace_id {
            return match Self::describe(client, id, false).await? {
                Some(ws) => Ok(Some(ws)),
                None => Err(Error::config(
                    format!(
                        "grafana.workspace_id `{id}` does not exist in {}",
                        config.region
                    ),
                    "check the id in the Amazon Managed Grafana console, or remove grafana.workspace_id to let meshctl create a workspace",
                )),
            };
        }
        let mut owned =
            Self::owned_workspaces(client, &config.name, Some(config.grafana_workspace_name()))
                .await?;
        owned.sort_by_key(|w| w.status != WorkspaceStatus::Active);
        Ok(owned.into_iter().next())
    }

    async fn version(client: &Client, config: &Config) -> Result<String, Error> {
        if let Some(v) = &config.grafana.version {
            return Ok(v.clone());
        }
        let mut versions = vec![];
        let mut pages = client.list_versions().into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| sdk_error("grafana", "ListVersions", &e))?;
            versions.extend(page.grafana_versions().iter().cloned());
        }
        newest_version(&versions).ok_or_else(|| Error::Aws {
            service: "grafana",
            operation: "ListVersions",
            message: "Amazon Managed Grafana offered no version".into(),
            help: "set grafana.version to a version the AMG console offers".into(),
        })
    }

    pub async fn wait_active(ctx: &StepCtx, client: &Client, id: &str) -> Result<Workspace, Error> {
        ctx.wait_for(
            &format!("Grafana workspace {id} to become ACTIVE (this takes 5 to 10 minutes)"),
            POLL,
            || async {
                match Self::describe(client, id, true).await? {
                    Some(ws) if ws.status == WorkspaceStatus::Active => Ok(Some(ws)),
                    Some(ws)
                        if matches!(
                            ws.status,
                            WorkspaceStatus::Failed | WorkspaceStatus::CreationFailed
                        ) =>
                    {
                        Err(Error::Aws {
                            service: "grafana",
                            operation: "CreateWorkspace",
                            message: format!("workspace {id} ended in {}", ws.status.as_str()),
                            help: "run `meshctl cleanup --only grafana`, then try again".into(),
                        })
                    }
                    Some(_) => Ok(None),
                    None => Err(Error::Aws {
                        service: "grafana",
                        operation: "DescribeWorkspace",
                        message: format!("workspace {id} disappeared while waiting for it"),
                        help: "something else deleted it; run the command again".into(),
                    }),
                }
            },
        )
        .await
    }

    async fn delete_workspace(ctx: &StepCtx, client: &Client, id: &str) -> Result<bool, Error> {
        ctx.progress
            .message(&format!("deleting Grafana workspace {id}"));
        match client.delete_workspace().workspace_id(id).send().await {
            Ok(_) => {}
            Err(e) if e.as_service_error().is_some_and(not_found) => return Ok(false),
            Err(e) => return Err(sdk_error("grafana", "DeleteWorkspace", &e)),
        }
        if !ctx.options.no_wait {
            ctx.wait_for(
                &format!("Grafana workspace {id} to be deleted"),
                POLL,
                || async {
                    Ok(Self::describe(client, id, true)
                        .await?
                        .is_none()
                        .then_some(()))
                },
            )
            .await?;
        }
        Ok(true)
    }

    /// Instructions adding Admin for configured users and groups that lack it. Never removes.
    async fn missing_admins(
        client: &Client,
        config: &Config,
        ws: &str,
    ) -> Result<Vec<(UserType, String)>, Error> {
        let wanted: Vec<(UserType, String)> = config
            .grafana
            .admin_users
            .iter()
            .map(|u| (UserType::SsoUser, u.clone()))
            .chain(
                config
                    .grafana
                    .admin_groups
                    .iter()
                    .map(|g| (UserType::SsoGroup, g.clone())),
            )
            .collect();
        if wanted.is_empty() {
            return Ok(vec![]);
        }
        let out = client
            .list_permissions()
            .workspace_id(ws)
            .send()
            .await
            .map_err(|e| sdk_error("grafana", "ListPermissions", &e))?;
        let admins: Vec<(UserType, String)> = out
            .permissions()
            .iter()
            .filter(|p| *p.role() == Role::Admin)
            .filter_map(|p| p.user().map(|u| (u.r#type().clone(), u.id().to_string())))
            .collect();
        Ok(wanted.into_iter().filter(|w| !admins.contains(w)).collect())
    }

    async fn grant_admins(
        client: &Client,
        ws: &str,
        missing: &[(UserType, String)],
    ) -> Result<(), Error> {
        let mut users = vec![];
        for (t, id) in missing {
            users.push(
                User::builder()
                    .id(id)
                    .r#type(t.clone())
                    .build()
                    .map_err(|e| Error::Aws {
                        service: "grafana",
                        operation: "UpdatePermissions",
                        message: e.to_string(),
                        help: "check grafana.admin_users and grafana.admin_groups".into(),
                    })?,
            );
        }
        let instruction = UpdateInstruction::builder()
            .action(UpdateAction::Add)
            .role(Role::Admin)
            .set_users(Some(users))
            .build()
            .map_err(|e| Error::Aws {
                service: "grafana",
                operation: "UpdatePermissions",
                message: e.to_string(),
                help: "check grafana.admin_users and grafana.admin_groups".into(),
            })?;
        let out = client
            .update_permissions()
            .workspace_id(ws)
            .update_instruction_batch(instruction)
            .send()
            .await
            .map_err(|e| sdk_error("grafana", "UpdatePermissions", &e))?;
        if let Some(err) = out.errors().first() {
            return Err(Error::Aws {
                service: "grafana",
                operation: "UpdatePermissions",
                message: err.message().to_string(),
                help: "check that each id in grafana.admin_users / admin_groups exists in IAM Identity Center".into(),
            });
        }
        Ok(())
    }

    async fn service_account(client: &Client, ws: &str) -> Result<Option<String>, Error> {
        let mut pages = client
            .list_workspace_service_accounts()
            .workspace_id(ws)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page =
                page.map_err(|e| sdk_error("grafana", "ListWorkspaceServiceAccounts", &e))?;
            if let Some(sa) = page
                .service_accounts()
                .iter()
                .find(|s| s.name() == SERVICE_ACCOUNT_NAME)
            {
                return Ok(Some(sa.id().to_string()));
            }
        }
        Ok(None)
    }

    async fn delete_service_account(client: &Client, ws: &str, sa: &str) -> Result<bool, Error> {
        match client
            .delete_workspace_service_account()
            .workspace_id(ws)
            .service_account_id(sa)
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(not_found) => Ok(false),
            Err(e) => Err(sdk_error("grafana", "DeleteWorkspaceServiceAccount", &e)),
        }
    }

    async fn delete_token(client: &Client, ws: &str, sa: &str, token: &str) -> Result<(), Error> {
        match client
            .delete_workspace_service_account_token()
            .workspace_id(ws)
            .service_account_id(sa)
            .token_id(token)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.as_service_error().is_some_and(not_found) => Ok(()),
            Err(e) => Err(sdk_error(
                "grafana",
                "DeleteWorkspaceServiceAccountToken",
                &e,
            )),
        }
    }

    fn datasource_body(config: &Config, amp_endpoint: &str) -> Value {
        json!({
            "uid": datasource_uid(&config.name),
            "name": datasource_name(&config.name),
            "type": "prometheus",
            "access": "proxy",
            "url": amp_endpoint.trim_end_matches('/'),
            "isDefault": false,
            "jsonData": {
                "httpMethod": "POST",
                "sigV4Auth": true,
                // AMG signs with the workspace's own IAM role (service-managed permissions),
                // which the data-source settings call `ec2_iam_role` ("Workspace IAM Role").
                "sigV4AuthType": "ec2_iam_role",
                "sigV4Region": config.region,
                "timeInterval": config.prometheus.scrape_interval,
            },
        })
    }

    /// Whether the stored data source is the one meshctl wants. Grafana 13 migrates SigV4
    /// Prometheus data sources to the dedicated AMP plugin type on its own; that is not a change
    /// to undo on every run.
    fn datasource_matches(existing: &Value, wanted: &Value) -> bool {
        let mut wanted = wanted.clone();
        if existing["type"] == AMP_PLUGIN_TYPE {
            wanted["type"] = json!(AMP_PLUGIN_TYPE);
        }
        Self::same_fields(existing, &wanted)
    }

    /// Whether `existing` already has every field of `wanted` (Grafana adds its own).
    fn same_fields(existing: &Value, wanted: &Value) -> bool {
        match (existing, wanted) {
            (Value::Object(e), Value::Object(w)) => w
                .iter()
                .all(|(k, v)| e.get(k).is_some_and(|ev| Self::same_fields(ev, v))),
            (e, w) => e == w,
        }
    }

    async fn load_dashboard(ctx: &StepCtx, id: u32) -> Result<Value, Error> {
        let g = &ctx.config.grafana;
        match &g.dashboards_dir {
            Some(dir) => dashboard::from_dir(dir, id),
            None => {
                let http = crate::http::client("grafana.com", g.ca_bundle.as_deref())?;
                dashboard::download(&http, &g.dashboards_url, id).await
            }
        }
    }

    /// Data source, folder, dashboards: everything done through the Grafana API.
    async fn provision(
        ctx: &StepCtx,
        api: &GrafanaApi,
        ws: &Workspace,
        amp_endpoint: &str,
        report: &mut StepReport,
    ) -> Result<(), Error> {
        let config = &ctx.config;
        let stack = &config.name;
        let record = |kind: &str, id: &str| {
            Resource::new(StepId::Grafana, kind, id)
                .with("workspace_id", &ws.id)
                .with("region", &config.region)
                .with("grafana_url", api.base())
        };

        // The AMP data source.
        let ds_uid = datasource_uid(stack);
        let wanted = Self::datasource_body(config, amp_endpoint);
        ctx.progress.message("reconciling the AMP data source");
        match api.datasource(&ds_uid).await? {
            None => {
                api.create_datasource(&wanted).await?;
                ctx.ledger.record(record(DATASOURCE, &ds_uid)).await?;
                report.actions.push(
                    Action::new(Op::Create, DATASOURCE, datasource_name(stack)).detail(format!(
                        "SigV4 {}, timeInterval {}",
                        config.region, config.prometheus.scrape_interval
                    )),
                );
            }
            Some(existing) if Self::datasource_matches(&existing, &wanted) => {
                report
                    .actions
                    .push(Action::new(Op::Keep, DATASOURCE, datasource_name(stack)));
            }
            Some(_) => {
                api.update_datasource(&ds_uid, &wanted).await?;
                report.actions.push(
                    Action::new(Op::Update, DATASOURCE, datasource_name(stack))
                        .detail("settings differed from config"),
                );
            }
        }
        match api.datasource_health(&ds_uid).await? {
            Ok(_) => {}
            Err(message) => report.notes.push(format!(
                "the AMP data source does not answer yet ({message}): metrics appear once Prometheus remote-writes to AMP"
            )),
        }

        // The stack's folder.
        let f_uid = folder_uid(stack);
        let title = format!("meshctl {stack}");
        if api.folder(&f_uid).await?.is_some() {
            report.actions.push(Action::new(Op::Keep, FOLDER, &title));
        } else {
            api.create_folder(&f_uid, &title).await?;
            ctx.ledger.record(record(FOLDER, &f_uid)).await?;
            report.actions.push(Action::new(Op::Create, FOLDER, &title));
        }

        // The dashboards.
        let scrape =
            crate::grafana::dashboard::parse_prom_duration(&config.prometheus.scrape_interval)
                .unwrap_or(Duration::from_secs(30));
        for id in &config.grafana.dashboards {
            ctx.progress.message(&format!("importing dashboard {id}"));
            let raw = Self::load_dashboard(ctx, *id).await?;
            let model = Rewrite {
                stack,
                id: *id,
                datasource_uid: &ds_uid,
                scrape_interval: scrape,
            }
            .apply(raw);
            let uid = dashboard::uid(stack, *id);
            let name = model["title"].as_str().unwrap_or_default().to_string();
            match api.dashboard(&uid).await? {
                None => {
                    api.save_dashboard(model, &f_uid, None).await?;
                    ctx.ledger.record(record(DASHBOARD, &uid)).await?;
                    report.actions.push(
                        Action::new(Op::Create, DASHBOARD, &name)
                            .detail(format!("grafana.com/{id}, uid {uid}")),
                    );
                }
                Some(existing) => {
                    let mut current = existing["dashboard"].clone();
                    let version = current["version"].as_i64();
                    if let Some(m) = current.as_object_mut() {
                        m.remove("version");
                        m.insert("id".into(), Value::Null);
                    }
                    let in_folder = existing["meta"]["folderUid"].as_str() == Some(f_uid.as_str());
                    if current == model && in_folder {
                        report.actions.push(Action::new(Op::Keep, DASHBOARD, &name));
                    } else {
                        api.save_dashboard(model, &f_uid, version).await?;
                        report.actions.push(
                            Action::new(Op::Update, DASHBOARD, &name)
                                .detail("replaced with the rewritten import"),
                        );
                    }
                }
            }
        }
        Ok(())
    }

    fn outputs(config: &Config, ws: &Workspace) -> BTreeMap<String, String> {
        let url = grafana_url(config, ws);
        let mut out = BTreeMap::new();
        out.insert("workspace_id".into(), ws.id.clone());
        out.insert("owned".into(), ws.owned.to_string());
        out.insert("grafana_version".into(), ws.version.clone());
        out.insert("workspace_url".into(), format!("https://{}", ws.endpoint));
        out.insert("grafana_url".into(), url.clone());
        out.insert("datasource_uid".into(), datasource_uid(&config.name));
        out.insert("folder_uid".into(), folder_uid(&config.name));
        for id in &config.grafana.dashboards {
            out.insert(
                format!("dashboard_{id}"),
                format!("{url}/d/{}", dashboard::uid(&config.name, *id)),
            );
        }
        out
    }

    /// What apply creates when nothing exists yet.
    fn intended(config: &Config) -> Vec<Action> {
        let g = &config.grafana;
        let mut v = vec![
            match &g.workspace_id {
                Some(id) => Action::new(Op::Keep, WORKSPACE, id).detail("existing workspace, not owned"),
                None => Action::new(Op::Create, WORKSPACE, config.grafana_workspace_name()).detail(format!(
                    "{}, service-managed permissions, unified alerting, Grafana {}, tag {STACK_TAG}={}",
                    g.authentication,
                    g.version.as_deref().unwrap_or("newest offered"),
                    config.name
                )),
            },
            Action::new(Op::Create, SERVICE_ACCOUNT, SERVICE_ACCOUNT_NAME)
                .detail("Admin; each run mints a token living 15 minutes and deletes it when done"),
            Action::new(Op::Create, DATASOURCE, datasource_name(&config.name)).detail(format!(
                "AMP, SigV4 {}, timeInterval {}",
                config.region, config.prometheus.scrape_interval
            )),
            Action::new(Op::Create, FOLDER, format!("meshctl {}", config.name)),
        ];
        if !g.admin_users.is_empty() || !g.admin_groups.is_empty() {
            v.insert(
                1,
                Action::new(
                    Op::Update,
                    "grafana-permissions",
                    config.grafana_workspace_name(),
                )
                .detail(format!(
                    "Admin for {} user(s) and {} group(s)",
                    g.admin_users.len(),
                    g.admin_groups.len()
                )),
            );
        }
        for id in &g.dashboards {
            v.push(
                Action::new(Op::Create, DASHBOARD, format!("grafana.com/{id}")).detail(format!(
                    "uid {}, short rate windows rewritten to $__rate_interval",
                    dashboard::uid(&config.name, *id)
                )),
            );
        }
        v
    }

    /// Delete what meshctl put into a workspace it does not own (its objects by UID).
    async fn remove_objects(ctx: &StepCtx, api: &GrafanaApi) -> Result<Vec<Action>, Error> {
        let config = &ctx.config;
        let stack = &config.name;
        let mut actions = vec![];
        for id in &config.grafana.dashboards {
            let uid = dashboard::uid(stack, *id);
            if api.delete(&format!("/api/dashboards/uid/{uid}")).await? {
                actions.push(Action::new(Op::Delete, DASHBOARD, uid));
            }
        }
        let f_uid = folder_uid(stack);
        if api.delete(&format!("/api/folders/{f_uid}")).await? {
            actions.push(Action::new(Op::Delete, FOLDER, f_uid));
        }
        let ds_uid = datasource_uid(stack);
        if api
            .delete(&format!("/api/datasources/uid/{ds_uid}"))
            .await?
        {
            actions.push(Action::new(Op::Delete, DATASOURCE, datasource_name(stack)));
        }
        Ok(actions)
    }
}

/// A service-account token for one piece of work. Created on open, recorded in the ledger (so
/// a rollback deletes it even if this process dies), and deleted by [`ApiSession::close`].
pub struct ApiSession {
    pub api: GrafanaApi,
    workspace_id: String,
    service_account_id: String,
    token_id: String,
}

impl ApiSession {
    /// Find or create the `meshctl` service account in `ws`, and mint a short-lived token.
    pub async fn open(
        ctx: &StepCtx,
        step: StepId,
        client: &Client,
        ws: &Workspace,
    ) -> Result<ApiSession, Error> {
        let config = &ctx.config;
        let sa = match GrafanaStep::service_account(client, &ws.id).await? {
            Some(id) => id,
            None => {
                let out = client
                    .create_workspace_service_account()
                    .workspace_id(&ws.id)
                    .name(SERVICE_ACCOUNT_NAME)
                    .grafana_role(Role::Admin)
                    .send()
                    .await
                    .map_err(|e| sdk_error("grafana", "CreateWorkspaceServiceAccount", &e))?;
                let id = out.id().to_string();
                ctx.ledger
                    .record(
                        Resource::new(step, SERVICE_ACCOUNT, &id)
                            .with("workspace_id", &ws.id)
                            .with("region", &config.region),
                    )
                    .await?;
                id
            }
        };
        let name = format!(
            "meshctl-{}-{:06x}",
            ctx.ledger.run_id().await,
            rand::random::<u32>() & 0xff_ffff
        );
        let out = client
            .create_workspace_service_account_token()
            .workspace_id(&ws.id)
            .service_account_id(&sa)
            .name(&name)
            .seconds_to_live(TOKEN_TTL.as_secs() as i32)
            .send()
            .await
            .map_err(|e| sdk_error("grafana", "CreateWorkspaceServiceAccountToken", &e))?;
        let Some(token) = out.service_account_token else {
            return Err(Error::Aws {
                service: "grafana",
                operation: "CreateWorkspaceServiceAccountToken",
                message: "the response carried no token".into(),
                help: "run the command again".into(),
            });
        };
        let token_id = token.id().to_string();
        ctx.ledger
            .record(
                Resource::new(step, TOKEN, &token_id)
                    .with("workspace_id", &ws.id)
                    .with("service_account_id", &sa)
                    .with("region", &config.region),
            )
            .await?;
        let http = crate::http::client("Grafana", config.grafana.ca_bundle.as_deref())?;
        Ok(ApiSession {
            api: GrafanaApi::new(&grafana_url(config, ws), Secret::new(token.key()), http),
            workspace_id: ws.id.clone(),
            service_account_id: sa,
            token_id,
        })
    }

    /// Delete the token and forget it in the ledger.
    pub async fn close(self, ctx: &StepCtx, client: &Client) -> Result<(), Error> {
        GrafanaStep::delete_token(
            client,
            &self.workspace_id,
            &self.service_account_id,
            &self.token_id,
        )
        .await?;
        ctx.ledger.forget(TOKEN, &self.token_id).await
    }

    /// Run `work` with the API, then always delete the token: on success, failure and Ctrl-C.
    pub async fn run<T, F>(self, ctx: &StepCtx, client: &Client, work: F) -> Result<T, Error>
    where
        F: std::future::Future<Output = Result<T, Error>>,
    {
        let result = tokio::select! {
            r = work => r,
            _ = ctx.cancel.cancelled() => Err(Error::Interrupted),
        };
        let closed = self.close(ctx, client).await;
        match (result, closed) {
            (Ok(v), Ok(())) => Ok(v),
            (Ok(_), Err(e)) => Err(e),
            (Err(e), Ok(())) => Err(e),
            (Err(e), Err(close)) => {
                ctx.progress.message(&format!(
                    "could not delete the service-account token ({close}); it expires on its own within {} minutes",
                    TOKEN_TTL.as_secs() / 60
                ));
                Err(e)
            }
        }
    }
}

#[async_trait]
impl Step for GrafanaStep {
    fn id(&self) -> StepId {
        StepId::Grafana
    }

    async fn plan(&self, ctx: &StepCtx) -> Result<StepPlan, Error> {
        let config = &ctx.config;
        let mut plan = StepPlan::new(StepId::Grafana);
        if !config.grafana.enabled {
            plan.note("disabled by grafana.enabled: false");
            return Ok(plan);
        }
        let Some(aws) = &ctx.aws else {
            plan.actions = Self::intended(config);
            return Ok(plan);
        };
        let client = aws.grafana();
        match Self::find(&client, config).await? {
            None => plan.actions = Self::intended(config),
            Some(ws) => {
                plan.push(Action::new(Op::Keep, WORKSPACE, &ws.id).detail(format!(
                    "{}, Grafana {}, {}",
                    ws.status.as_str(),
                    ws.version,
                    if ws.owned {
                        "owned"
                    } else {
                        "existing, not owned"
                    }
                )));
                let missing = Self::missing_admins(&client, config, &ws.id).await?;
                if !missing.is_empty() {
                    plan.push(
                        Action::new(Op::Update, "grafana-permissions", &ws.id)
                            .detail(format!("add Admin for {} user(s)/group(s)", missing.len())),
                    );
                }
                plan.note(
                    "the data source, folder and dashboards are compared through the Grafana API when applied: \
                     reading them needs a short-lived token, which planning does not create",
                );
            }
        }
        Ok(plan)
    }

    async fn apply(&self, ctx: &StepCtx) -> Result<StepReport, Error> {
        let config = &ctx.config;
        let mut report = StepReport {
            step: Some(StepId::Grafana),
            ..Default::default()
        };
        if !config.grafana.enabled {
            report
                .notes
                .push("disabled by grafana.enabled: false".into());
            return Ok(report);
        }
        let client = ctx.aws()?.grafana();
        let Some(amp_endpoint) = ctx.state.output(StepId::Amp, "prometheus_endpoint").await else {
            return Err(Error::Prerequisite {
                step: StepId::Grafana,
                needs: StepId::Amp,
                stack: config.name.clone(),
            });
        };
        let run_id = ctx.ledger.run_id().await;

        ctx.progress.message("looking for the Grafana workspace");
        let mut ws = match Self::find(&client, config).await? {
            Some(ws) => {
                report
                    .actions
                    .push(Action::new(Op::Keep, WORKSPACE, &ws.id));
                ws
            }
            None => {
                let version = Self::version(&client, config).await?;
                ctx.progress.message(&format!(
                    "creating the Grafana workspace (Grafana {version})"
                ));
                let out = client
                    .create_workspace()
                    .workspace_name(config.grafana_workspace_name())
                    .account_access_type(AccountAccessType::CurrentAccount)
                    .authentication_providers(AuthenticationProviderTypes::from(
                        config.grafana.authentication.as_str(),
                    ))
                    .permission_type(PermissionType::ServiceManaged)
                    .workspace_data_sources(DataSourceType::Prometheus)
                    .grafana_version(&version)
                    .configuration(WORKSPACE_CONFIGURATION)
                    .client_token(client_token(&config.name, &run_id, WORKSPACE))
                    .set_tags(Some(tags(config)))
                    .send()
                    .await
                    .map_err(|e| sdk_error("grafana", "CreateWorkspace", &e))?;
                let Some(w) = out.workspace else {
                    return Err(Error::Aws {
                        service: "grafana",
                        operation: "CreateWorkspace",
                        message: "the response described no workspace".into(),
                        help: "run the command again; it finds the workspace by name and tag"
                            .into(),
                    });
                };
                ctx.ledger
                    .record(
                        Resource::new(StepId::Grafana, WORKSPACE, w.id())
                            .with("region", &config.region),
                    )
                    .await?;
                report
                    .actions
                    .push(Action::new(Op::Create, WORKSPACE, w.id()).detail(format!(
                        "Grafana {version}, {}",
                        config.grafana.authentication
                    )));
                Workspace {
                    id: w.id().to_string(),
                    name: config.grafana_workspace_name().to_string(),
                    status: w.status().clone(),
                    endpoint: w.endpoint().to_string(),
                    version,
                    data_sources: w.data_sources().to_vec(),
                    tags: tags(config),
                    owned: true,
                }
            }
        };

        if ws.status != WorkspaceStatus::Active {
            if ctx.options.no_wait {
                report.notes.push(format!(
                    "workspace {} is {}; --no-wait skipped the data source and dashboards: run `meshctl grafana` again once it is ACTIVE",
                    ws.id,
                    ws.status.as_str()
                ));
                report.outputs = Self::outputs(config, &ws);
                return Ok(report);
            }
            ws = Self::wait_active(ctx, &client, &ws.id).await?;
        }
        if !ws.data_sources.contains(&DataSourceType::Prometheus) && ws.owned {
            // With service-managed permissions, listing Prometheus makes AWS give the
            // workspace role read access to AMP.
            let mut sources = ws.data_sources.clone();
            sources.push(DataSourceType::Prometheus);
            client
                .update_workspace()
                .workspace_id(&ws.id)
                .set_workspace_data_sources(Some(sources))
                .send()
                .await
                .map_err(|e| sdk_error("grafana", "UpdateWorkspace", &e))?;
            report
                .actions
                .push(Action::new(Op::Update, WORKSPACE, &ws.id).detail(
                    "add Prometheus data-source permissions, so the workspace role may query AMP",
                ));
            ws = Self::wait_active(ctx, &client, &ws.id).await?;
        } else if !ws.data_sources.contains(&DataSourceType::Prometheus) {
            report.notes.push(format!(
                "workspace {} does not list Prometheus among its data sources: its role may lack \
                 permission to query AMP; add Amazon Managed Service for Prometheus in the workspace's data sources",
                ws.id
            ));
        }

        let missing = Self::missing_admins(&client, config, &ws.id).await?;
        if !missing.is_empty() {
            Self::grant_admins(&client, &ws.id, &missing).await?;
            report.actions.push(
                Action::new(Op::Update, "grafana-permissions", &ws.id)
                    .detail(format!("Admin for {} user(s)/group(s)", missing.len())),
            );
        }

        let session = ApiSession::open(ctx, StepId::Grafana, &client, &ws).await?;
        let api = session.api.clone();
        session
            .run(
                ctx,
                &client,
                Self::provision(ctx, &api, &ws, &amp_endpoint, &mut report),
            )
            .await?;
        report.outputs = Self::outputs(config, &ws);
        Ok(report)
    }

    async fn destroy_plan(&self, ctx: &StepCtx) -> Result<StepPlan, Error> {
        let config = &ctx.config;
        let mut plan = StepPlan::new(StepId::Grafana);
        let Some(aws) = &ctx.aws else {
            plan.note("offline: cannot list workspaces without credentials");
            return Ok(plan);
        };
        let client = aws.grafana();
        if let Some(id) = &config.grafana.workspace_id
            && let Some(ws) = Self::describe(&client, id, false).await?
            && Self::service_account(&client, &ws.id).await?.is_some()
        {
            for d in &config.grafana.dashboards {
                plan.push(
                    Action::new(Op::Delete, DASHBOARD, dashboard::uid(&config.name, *d))
                        .detail(format!("in workspace {id}, which is kept (if present)")),
                );
            }
            plan.push(
                Action::new(Op::Delete, FOLDER, folder_uid(&config.name)).detail("if present"),
            );
            plan.push(
                Action::new(Op::Delete, DATASOURCE, datasource_name(&config.name))
                    .detail("if present"),
            );
            plan.push(Action::new(
                Op::Delete,
                SERVICE_ACCOUNT,
                SERVICE_ACCOUNT_NAME,
            ));
        }
        for ws in Self::owned_workspaces(&client, &config.name, None).await? {
            plan.push(Action::new(Op::Delete, WORKSPACE, &ws.id).detail(format!(
                "name {}, tagged {STACK_TAG}={}",
                ws.name, config.name
            )));
        }
        Ok(plan)
    }

    async fn destroy(&self, ctx: &StepCtx) -> Result<StepReport, Error> {
        let config = &ctx.config;
        let client = ctx.aws()?.grafana();
        let mut report = StepReport {
            step: Some(StepId::Grafana),
            ..Default::default()
        };
        if let Some(id) = &config.grafana.workspace_id
            && let Some(ws) = Self::describe(&client, id, false).await?
            && let Some(sa) = Self::service_account(&client, &ws.id).await?
        {
            let session = ApiSession::open(ctx, StepId::Grafana, &client, &ws).await?;
            let api = session.api.clone();
            let actions = session
                .run(ctx, &client, Self::remove_objects(ctx, &api))
                .await?;
            report.actions.extend(actions);
            if Self::delete_service_account(&client, &ws.id, &sa).await? {
                report.actions.push(Action::new(
                    Op::Delete,
                    SERVICE_ACCOUNT,
                    SERVICE_ACCOUNT_NAME,
                ));
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
        let client = ctx.aws()?.grafana();
        let mut details = BTreeMap::new();
        if !config.grafana.enabled {
            details.insert("note".into(), "disabled by grafana.enabled: false".into());
            return Ok(StepStatus {
                step: StepId::Grafana,
                state: "absent".into(),
                details,
            });
        }
        let found = match Self::find(&client, config).await {
            Ok(found) => found,
            // One unreachable service must not hide the status of the others.
            Err(e) => {
                details.insert("error".into(), e.to_string());
                return Ok(StepStatus {
                    step: StepId::Grafana,
                    state: "unknown".into(),
                    details,
                });
            }
        };
        let state = match found {
            None => "absent",
            Some(ws) => {
                details.extend(Self::outputs(config, &ws));
                details.insert("state".into(), ws.status.as_str().to_string());
                if ws.status == WorkspaceStatus::Active
                    && Self::service_account(&client, &ws.id).await?.is_some()
                {
                    let session = ApiSession::open(ctx, StepId::Grafana, &client, &ws).await?;
                    let api = session.api.clone();
                    let health = session
                        .run(ctx, &client, async {
                            api.datasource_health(&datasource_uid(&config.name)).await
                        })
                        .await?;
                    details.insert(
                        "datasource_health".into(),
                        match health {
                            Ok(_) => "OK".to_string(),
                            Err(m) => format!("failing: {m}"),
                        },
                    );
                    "present"
                } else {
                    "partial"
                }
            }
        };
        Ok(StepStatus {
            step: StepId::Grafana,
            state: state.into(),
            details,
        })
    }

    async fn undo(&self, ctx: &StepCtx, resource: &Resource) -> Result<(), Error> {
        let client = ctx.aws()?.grafana();
        let ws_id = resource.get("workspace_id").unwrap_or_default();
        match resource.kind.as_str() {
            WORKSPACE => {
                Self::delete_workspace(ctx, &client, &resource.id).await?;
            }
            SERVICE_ACCOUNT => {
                Self::delete_service_account(&client, ws_id, &resource.id).await?;
            }
            TOKEN => {
                let sa = resource.get("service_account_id").unwrap_or_default();
                Self::delete_token(&client, ws_id, sa, &resource.id).await?;
            }
            DATASOURCE | FOLDER | DASHBOARD => {
                // Gone with the workspace when meshctl created that too.
                let Some(ws) = Self::describe(&client, ws_id, false).await? else {
                    return Ok(());
                };
                let path = match resource.kind.as_str() {
                    DATASOURCE => format!("/api/datasources/uid/{}", resource.id),
                    FOLDER => format!("/api/folders/{}", resource.id),
                    _ => format!("/api/dashboards/uid/{}", resource.id),
                };
                let session = ApiSession::open(ctx, StepId::Grafana, &client, &ws).await?;
                let api = session.api.clone();
                session
                    .run(ctx, &client, async { api.delete(&path).await.map(|_| ()) })
                    .await?;
            }
            other => {
                return Err(Resource::unknown_kind(StepId::Grafana, other));
            }
        }
        Ok(())
    }

    fn undo_hint(&self, resource: &Resource) -> String {
        let region = resource.get("region").unwrap_or("<region>");
        let ws = resource.get("workspace_id").unwrap_or("<workspace-id>");
        match resource.kind.as_str() {
            WORKSPACE => format!(
                "aws grafana delete-workspace --region {region} --workspace-id {}",
                resource.id
            ),
            SERVICE_ACCOUNT => format!(
                "aws grafana delete-workspace-service-account --region {region} --workspace-id {ws} --service-account-id {}",
                resource.id
            ),
            TOKEN => format!(
                "aws grafana delete-workspace-service-account-token --region {region} --workspace-id {ws} --service-account-id {} --token-id {}",
                resource
                    .get("service_account_id")
                    .unwrap_or("<service-account-id>"),
                resource.id
            ),
            _ => format!(
                "delete `{}` ({}) in Grafana at {}",
                resource.id,
                resource.kind,
                resource.get("grafana_url").unwrap_or("<grafana url>")
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newest_version_compares_numbers() {
        let v = vec!["8.4".to_string(), "10.4".to_string(), "9.4".to_string()];
        assert_eq!(newest_version(&v).as_deref(), Some("10.4"));
        assert!(has_simplified_routing("11.1"));
        assert!(!has_simplified_routing("10.4"));
    }

    #[test]
    fn a_datasource_migrated_to_the_amp_plugin_still_matches() {
        let c = Config::with_defaults("demo");
        let wanted = GrafanaStep::datasource_body(&c, "https://aps/workspaces/ws-1/");
        let mut stored = wanted.clone();
        stored["id"] = json!(7);
        assert!(GrafanaStep::datasource_matches(&stored, &wanted));
        stored["type"] = json!(AMP_PLUGIN_TYPE);
        assert!(GrafanaStep::datasource_matches(&stored, &wanted));
        stored["jsonData"]["timeInterval"] = json!("1m");
        assert!(!GrafanaStep::datasource_matches(&stored, &wanted));
    }

    #[test]
    fn uids_are_stable_and_short() {
        assert_eq!(folder_uid("demo"), folder_uid("demo"));
        assert_ne!(folder_uid("demo"), folder_uid("other"));
        assert!(datasource_uid(&"x".repeat(200)).len() <= 40);
    }
}
