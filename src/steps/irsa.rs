//! `irsa`: IAM roles for the in-cluster identities meshctl needs (Prometheus remote write, the
//! SigV4 proxy Kiali queries AMP through), each trusted by exactly one Kubernetes service
//! account through the cluster's OIDC provider, with an inline policy scoped to the stack's
//! AMP workspace; and the namespaces and service accounts, annotated with their role ARN.
//!
//! Roles: a role named in `irsa.roles.<identity>` is pinned, and one that exists without the
//! stack tag is adopted: meshctl adds its own trust statement (found by its `Sid`) and inline
//! policy, and cleanup removes only those. A role meshctl created carries the stack tag and is
//! deleted by cleanup (inline and attached policies first). docs/steps/irsa.md.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use async_trait::async_trait;
use aws_sdk_iam::Client;
use aws_sdk_iam::types::Tag;
use kube::api::{Api, DeleteParams, DynamicObject};
use kube::discovery::Scope;
use serde_json::{Value, json};

use crate::aws::iam::{backoff, delete_policy, delete_role, no_such_entity, say_retry};
use crate::aws::retry::{iam_transient, retry};
use crate::aws::{sdk_error, tags};
use crate::config::{Config, STACK_TAG};
use crate::engine::owned::{
    MANAGED_TAGS, TagChanges, is_owned, managed_tag_keys, managed_tags_output,
};
use crate::engine::{
    Action, Op, Resource, Step, StepCtx, StepId, StepPlan, StepReport, StepStatus,
};
use crate::error::Error;
use crate::kube::{ApplyOptions, Kube, ObjectRef, Propagation, manifest};

/// Ledger kinds.
const ROLE: &str = "iam-role";
const POLICY: &str = "iam-inline-policy";
const TRUST: &str = "iam-trust-statement";
const KUBE_OBJECT: &str = "kubernetes-object";
const ASSOCIATION: &str = "eks-pod-identity-association";
const ADDON: &str = "eks-addon";

/// The add-on EKS Pod Identity needs on the nodes.
pub const POD_IDENTITY_AGENT: &str = "eks-pod-identity-agent";

/// The component name of the Kubernetes objects this step applies.
pub const COMPONENT: &str = "irsa";
/// The service-account annotation the EKS pod identity webhook reads.
pub const ROLE_ARN_ANNOTATION: &str = "eks.amazonaws.com/role-arn";
/// The audience IRSA tokens carry.
pub const STS_AUDIENCE: &str = "sts.amazonaws.com";

const TRUST_TEMPLATE: &str = "iam/irsa-trust-statement.json.j2";
const POD_IDENTITY_TEMPLATE: &str = "iam/pod-identity-trust-statement.json.j2";
const PERMISSIONS_TEMPLATE: &str = "iam/amp-permissions.json.j2";

/// Outputs of the `cluster` and `amp` steps this step reads.
mod inputs {
    pub const OIDC_ISSUER: &str = "oidc_issuer";
    pub const OIDC_PROVIDER_ARN: &str = "oidc_provider_arn";
    pub const WORKSPACE_ARN: &str = "workspace_arn";
}

/// One in-cluster identity, as data.
#[derive(Debug, Clone, Copy)]
pub struct IdentitySpec {
    /// The key under `irsa.roles` and in output names.
    pub key: &'static str,
    /// The default role name is `<stack>-<role_suffix>`; the inline policy is
    /// `meshctl-<role_suffix>`.
    pub role_suffix: &'static str,
    /// Part of the statement ids.
    pub sid_suffix: &'static str,
    /// The AMP actions it may call on the stack's workspace.
    pub actions: &'static [&'static str],
    /// The state output holding the role ARN.
    pub output: &'static str,
    pub purpose: &'static str,
}

/// Every identity this step manages.
pub const IDENTITIES: [IdentitySpec; 2] = [
    IdentitySpec {
        key: "prometheus",
        role_suffix: "amp-ingest",
        sid_suffix: "AmpIngest",
        actions: &["aps:RemoteWrite"],
        output: "prometheus_role_arn",
        purpose: "Prometheus remote write to AMP",
    },
    IdentitySpec {
        key: "query",
        role_suffix: "amp-query",
        sid_suffix: "AmpQuery",
        actions: &[
            "aps:QueryMetrics",
            "aps:GetSeries",
            "aps:GetLabels",
            "aps:GetMetricMetadata",
        ],
        output: "query_role_arn",
        purpose: "the SigV4 proxy Kiali queries AMP through",
    },
];

/// An identity resolved against a config.
#[derive(Debug, Clone)]
pub struct Identity {
    pub spec: IdentitySpec,
    pub namespace: String,
    pub service_account: String,
    pub role_name: String,
    /// The ARN given in `irsa.roles.<key>`: adopted, never deleted.
    pub pinned_arn: Option<String>,
    /// The `Sid` of meshctl's trust statement.
    pub sid: String,
    pub policy_name: String,
}

impl Identity {
    pub fn subject(&self) -> String {
        format!(
            "system:serviceaccount:{}:{}",
            self.namespace, self.service_account
        )
    }
}

/// The identities of `c`, in a fixed order.
pub fn identities(c: &Config) -> Vec<Identity> {
    IDENTITIES
        .iter()
        .map(|spec| {
            let (namespace, service_account, name, pinned) = match spec.key {
                "prometheus" => (
                    &c.prometheus.namespace,
                    &c.irsa.prometheus_service_account,
                    &c.irsa.prometheus_role_name,
                    &c.irsa.roles.prometheus,
                ),
                _ => (
                    &c.kiali.namespace,
                    &c.irsa.query_service_account,
                    &c.irsa.query_role_name,
                    &c.irsa.roles.query,
                ),
            };
            let role_name = match pinned {
                Some(arn) => role_name_of(arn).to_string(),
                None => name
                    .clone()
                    .unwrap_or_else(|| format!("{}-{}", c.name, spec.role_suffix)),
            };
            Identity {
                spec: *spec,
                namespace: namespace.clone(),
                service_account: service_account.clone(),
                role_name,
                pinned_arn: pinned.clone(),
                sid: sid(&c.name, spec),
                policy_name: format!("meshctl-{}", spec.role_suffix),
            }
        })
        .collect()
}

/// The role name at the end of a role ARN (after its path).
pub fn role_name_of(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// `MeshctlIrsa<Stack><Identity>`: IAM allows only ASCII letters and digits in a `Sid`.
pub fn sid(stack: &str, spec: &IdentitySpec) -> String {
    let mut out = String::from("MeshctlIrsa");
    for part in stack.split(|c: char| !c.is_ascii_alphanumeric()) {
        let mut chars = part.chars();
        if let Some(first) = chars.next() {
            out.push(first.to_ascii_uppercase());
            out.extend(chars);
        }
    }
    out.push_str(spec.sid_suffix);
    out
}

/// The issuer as IAM condition keys use it: without `https://` and a trailing slash.
pub fn issuer_host_path(issuer: &str) -> &str {
    issuer
        .trim()
        .trim_start_matches("https://")
        .trim_end_matches('/')
}

/// meshctl's trust statement for `id`.
pub fn trust_statement(
    id: &Identity,
    oidc_provider_arn: &str,
    issuer: &str,
) -> Result<Value, Error> {
    let issuer = issuer_host_path(issuer);
    let text = crate::templates::render(
        TRUST_TEMPLATE,
        json!({
            "sid": j(&id.sid),
            "oidc_provider_arn": j(oidc_provider_arn),
            "sub_key": j(&format!("{issuer}:sub")),
            "subject": j(&id.subject()),
            "aud_key": j(&format!("{issuer}:aud")),
            "audience": j(STS_AUDIENCE),
        }),
    )?;
    parse_template(TRUST_TEMPLATE, &text)
}

/// meshctl's trust statement for `id` in `pod-identity` mode: the EKS pod identity service
/// assumes the role (and tags the session); the association picks the service account.
pub fn pod_identity_statement(id: &Identity) -> Result<Value, Error> {
    let text = crate::templates::render(POD_IDENTITY_TEMPLATE, json!({"sid": j(&id.sid)}))?;
    parse_template(POD_IDENTITY_TEMPLATE, &text)
}

/// Whether `c` asks for EKS Pod Identity instead of IRSA.
pub fn pod_identity(c: &Config) -> bool {
    c.irsa.mode == "pod-identity"
}

/// The inline permission policy of `id`, scoped to `workspace_arn`.
pub fn permission_policy(id: &Identity, workspace_arn: &str) -> Result<Value, Error> {
    let text = crate::templates::render(
        PERMISSIONS_TEMPLATE,
        json!({
            "sid": j(&id.sid),
            "actions": serde_json::to_string(id.spec.actions).unwrap_or_default(),
            "workspace_arn": j(workspace_arn),
        }),
    )?;
    parse_template(PERMISSIONS_TEMPLATE, &text)
}

/// `v` as a JSON string literal, for the templates (which insert values JSON-encoded).
fn j(v: &str) -> String {
    Value::String(v.to_string()).to_string()
}

fn parse_template(name: &str, text: &str) -> Result<Value, Error> {
    serde_json::from_str(text).map_err(|e| Error::Template {
        name: name.to_string(),
        message: format!("does not render to JSON: {e}"),
    })
}

/// A trust policy holding `statements`.
pub fn trust_document(statements: Vec<Value>) -> Value {
    json!({"Version": "2012-10-17", "Statement": statements})
}

/// The statements of a policy document (`Statement` may be one object or a list).
pub fn statements(doc: &Value) -> Vec<Value> {
    match doc.get("Statement") {
        Some(Value::Array(v)) => v.clone(),
        Some(v @ Value::Object(_)) => vec![v.clone()],
        _ => vec![],
    }
}

/// `doc` with meshctl's statement (by its `Sid`) replaced by or added as `stmt`; every other
/// statement kept as it was, in its place.
pub fn merge_statement(doc: &Value, stmt: &Value) -> Value {
    let sid = stmt.get("Sid");
    let mut out = vec![];
    let mut placed = false;
    for s in statements(doc) {
        if s.get("Sid").is_some() && s.get("Sid") == sid {
            if !placed {
                out.push(stmt.clone());
                placed = true;
            }
        } else {
            out.push(s);
        }
    }
    if !placed {
        out.push(stmt.clone());
    }
    let mut merged = doc.clone();
    if !merged.is_object() {
        merged = json!({});
    }
    if merged.get("Version").is_none() {
        merged["Version"] = json!("2012-10-17");
    }
    merged["Statement"] = Value::Array(out);
    merged
}

/// `doc` without the statement `sid`, or `None` when it has no such statement.
pub fn remove_statement(doc: &Value, sid: &str) -> Option<Value> {
    let all = statements(doc);
    let kept: Vec<Value> = all
        .iter()
        .filter(|s| s.get("Sid").and_then(Value::as_str) != Some(sid))
        .cloned()
        .collect();
    if kept.len() == all.len() {
        return None;
    }
    let mut out = doc.clone();
    out["Statement"] = Value::Array(kept);
    Some(out)
}

/// The statement `sid` of `doc`.
fn find_statement(doc: &Value, sid: &str) -> Option<Value> {
    statements(doc)
        .into_iter()
        .find(|s| s.get("Sid").and_then(Value::as_str) == Some(sid))
}

/// A policy in a form where equal meaning compares equal: one-element lists become their
/// element (IAM accepts both), recursively. Object key order never matters in `Value`.
pub fn normalize(v: &Value) -> Value {
    match v {
        Value::Array(items) if items.len() == 1 => normalize(&items[0]),
        Value::Array(items) => Value::Array(items.iter().map(normalize).collect()),
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), normalize(v))).collect())
        }
        other => other.clone(),
    }
}

/// Whether two policies mean the same.
pub fn same_policy(a: &Value, b: &Value) -> bool {
    normalize(a) == normalize(b)
}

/// A policy document as IAM returns it: URL-encoded JSON (RFC 3986), or plain JSON.
pub fn decode_policy(text: &str) -> Result<Value, String> {
    let trimmed = text.trim();
    let json_text = if trimmed.starts_with('{') {
        trimmed.to_string()
    } else {
        percent_decode(trimmed)?
    };
    serde_json::from_str(&json_text).map_err(|e| format!("not a JSON policy document: {e}"))
}

fn percent_decode(s: &str) -> Result<String, String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("bad percent-encoding at byte {i}"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|e| format!("not UTF-8 after decoding: {e}"))
}

/// A role ARN in the partition and account of the OIDC provider's ARN.
fn predicted_role_arn(oidc_provider_arn: &str, account: &str, name: &str) -> String {
    let mut parts = oidc_provider_arn.split(':');
    let partition = parts.nth(1).filter(|p| !p.is_empty()).unwrap_or("aws");
    let account = oidc_provider_arn
        .split(':')
        .nth(4)
        .filter(|a| !a.is_empty())
        .unwrap_or(account);
    format!("arn:{partition}:iam::{account}:role/{name}")
}

// ---------------------------------------------------------------------------------------
// Observing IAM
// ---------------------------------------------------------------------------------------

/// A role as meshctl sees it.
#[derive(Debug, Clone)]
struct RoleSeen {
    name: String,
    arn: String,
    tags: HashMap<String, String>,
    trust: Value,
    /// meshctl's inline policy, when the role has it.
    policy: Option<Value>,
}

/// What one identity's role needs.
#[derive(Debug, Clone)]
enum RolePlan {
    /// No role of that name: create it with meshctl's statement, policy and tags.
    Create { name: String },
    Existing {
        role: Box<RoleSeen>,
        /// `false` for a pinned role or one without the stack tag: never deleted or retagged.
        owned: bool,
        /// The new trust policy, when it must change.
        trust: Option<Value>,
        /// meshctl's statement was not there before.
        statement_added: bool,
        /// The policy must be written; `policy_added` when it was not there.
        put_policy: bool,
        policy_added: bool,
        tags: TagChanges,
    },
}

/// Everything the step observed and decided for one identity.
#[derive(Debug, Clone)]
struct Survey {
    id: Identity,
    statement: Value,
    policy: Value,
    plan: RolePlan,
}

impl Survey {
    fn role_arn(&self, oidc_provider_arn: &str, account: &str) -> String {
        match &self.plan {
            RolePlan::Create { name } => predicted_role_arn(oidc_provider_arn, account, name),
            RolePlan::Existing { role, .. } => role.arn.clone(),
        }
    }

    fn action(&self) -> Action {
        let subject = self.id.subject();
        match &self.plan {
            RolePlan::Create { name } => Action::new(Op::Create, ROLE, name)
                .detail(format!("trusts {subject} (aud {STS_AUDIENCE})"))
                .detail(format!(
                    "inline policy {}: {}",
                    self.id.policy_name,
                    self.id.spec.actions.join(", ")
                ))
                .detail(format!("tag {STACK_TAG}")),
            RolePlan::Existing {
                role,
                owned,
                trust,
                statement_added,
                put_policy,
                policy_added,
                tags,
            } => {
                let changed = trust.is_some() || *put_policy || !tags.is_empty();
                let mut a = Action::new(
                    if changed { Op::Update } else { Op::Keep },
                    ROLE,
                    &role.name,
                )
                .detail(if *owned {
                    "owned".to_string()
                } else if self.id.pinned_arn.is_some() {
                    format!(
                        "pinned by irsa.roles.{}: adopted, never deleted",
                        self.id.spec.key
                    )
                } else {
                    format!("exists without {STACK_TAG}: adopted, never deleted")
                });
                if trust.is_some() {
                    a.push_detail(if *statement_added {
                        format!("trust statement {} added for {subject}", self.id.sid)
                    } else {
                        format!("trust statement {} replaced for {subject}", self.id.sid)
                    });
                    let others = statements(&role.trust)
                        .iter()
                        .filter(|s| s.get("Sid").and_then(Value::as_str) != Some(&self.id.sid))
                        .count();
                    if others > 0 {
                        a.push_detail(format!("{others} other trust statement(s) kept"));
                    }
                }
                if *put_policy {
                    a.push_detail(format!(
                        "inline policy {} {}",
                        self.id.policy_name,
                        if *policy_added { "added" } else { "updated" }
                    ));
                }
                for line in &tags.lines {
                    a.push_detail(line.clone());
                }
                a
            }
        }
    }
}

async fn get_role(client: &Client, name: &str) -> Result<Option<(String, Value)>, Error> {
    match client.get_role().role_name(name).send().await {
        Ok(out) => {
            let Some(role) = out.role() else {
                return Ok(None);
            };
            let trust = match role.assume_role_policy_document() {
                Some(doc) => decode_policy(doc).map_err(|m| Error::Aws {
                    service: "iam",
                    operation: "GetRole",
                    message: format!("the trust policy of role {name} is {m}"),
                    help: "check the role's trust relationships in the IAM console".into(),
                })?,
                None => trust_document(vec![]),
            };
            Ok(Some((role.arn().to_string(), trust)))
        }
        Err(e) if no_such_entity(&e) => Ok(None),
        Err(e) => Err(sdk_error("iam", "GetRole", &e)),
    }
}

async fn role_tags(client: &Client, name: &str) -> Result<HashMap<String, String>, Error> {
    let mut out = HashMap::new();
    let mut pages = client
        .list_role_tags()
        .role_name(name)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| sdk_error("iam", "ListRoleTags", &e))?;
        for t in page.tags() {
            out.insert(t.key().to_string(), t.value().to_string());
        }
    }
    Ok(out)
}

async fn role_policy(client: &Client, role: &str, policy: &str) -> Result<Option<Value>, Error> {
    match client
        .get_role_policy()
        .role_name(role)
        .policy_name(policy)
        .send()
        .await
    {
        Ok(out) => decode_policy(out.policy_document())
            .map(Some)
            .map_err(|m| Error::Aws {
                service: "iam",
                operation: "GetRolePolicy",
                message: format!("inline policy {policy} of role {role} is {m}"),
                help: "delete the inline policy by hand; meshctl writes it again".into(),
            }),
        Err(e) if no_such_entity(&e) => Ok(None),
        Err(e) => Err(sdk_error("iam", "GetRolePolicy", &e)),
    }
}

async fn observe_role(
    client: &Client,
    id: &Identity,
    name: &str,
) -> Result<Option<RoleSeen>, Error> {
    let Some((arn, trust)) = get_role(client, name).await? else {
        return Ok(None);
    };
    Ok(Some(RoleSeen {
        name: name.to_string(),
        arn,
        tags: role_tags(client, name).await?,
        trust,
        policy: role_policy(client, name, &id.policy_name).await?,
    }))
}

/// The role of `id`: the pinned one (which must exist), or the one of the configured name.
async fn find_role(client: &Client, id: &Identity) -> Result<Option<RoleSeen>, Error> {
    let found = observe_role(client, id, &id.role_name).await?;
    if found.is_none()
        && let Some(arn) = &id.pinned_arn
    {
        return Err(Error::config(
            format!("irsa.roles.{}: role {arn} does not exist", id.spec.key),
            "check the ARN in the IAM console, or remove the key to let meshctl create the role",
        ));
    }
    Ok(found)
}

fn is_owned_role(id: &Identity, role: &RoleSeen, stack: &str) -> bool {
    id.pinned_arn.is_none() && is_owned(&role.tags, stack)
}

async fn survey(
    ctx: &StepCtx,
    client: &Client,
    id: &Identity,
    statement: Value,
    policy: Value,
) -> Result<Survey, Error> {
    let config = &ctx.config;
    let plan = match find_role(client, id).await? {
        None => RolePlan::Create {
            name: id.role_name.clone(),
        },
        Some(role) => {
            let owned = is_owned_role(id, &role, &config.name);
            let current = find_statement(&role.trust, &id.sid);
            let trust = match &current {
                Some(s) if same_policy(s, &statement) => None,
                _ => Some(merge_statement(&role.trust, &statement)),
            };
            let put_policy = !role
                .policy
                .as_ref()
                .is_some_and(|p| same_policy(p, &policy));
            let tags = if owned {
                let before = managed_tag_keys(
                    ctx.state
                        .output(StepId::Irsa, MANAGED_TAGS)
                        .await
                        .as_deref(),
                );
                TagChanges::between(&tags(config), &role.tags, &before)
            } else {
                TagChanges::default()
            };
            RolePlan::Existing {
                owned,
                trust,
                statement_added: current.is_none(),
                put_policy,
                policy_added: role.policy.is_none(),
                tags,
                role: Box::new(role),
            }
        }
    };
    Ok(Survey {
        id: id.clone(),
        statement,
        policy,
        plan,
    })
}

// ---------------------------------------------------------------------------------------
// Changing IAM (with bounded retries for IAM's eventual consistency)
// ---------------------------------------------------------------------------------------

fn iam_tags(config: &Config) -> Result<Vec<Tag>, Error> {
    let mut v: Vec<(String, String)> = tags(config).into_iter().collect();
    v.sort();
    v.into_iter()
        .map(|(k, val)| {
            Tag::builder()
                .key(k)
                .value(val)
                .build()
                .map_err(|e| Error::config(format!("tag: {e}"), "check `tags` in the config"))
        })
        .collect()
}

fn policy_text(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

async fn update_trust(
    ctx: &StepCtx,
    client: &Client,
    role: &str,
    doc: &Value,
) -> Result<(), Error> {
    let text = policy_text(doc);
    retry(
        backoff(ctx),
        |e| iam_transient(e, false),
        say_retry(ctx, &format!("updating the trust policy of {role}")),
        || {
            client
                .update_assume_role_policy()
                .role_name(role)
                .policy_document(&text)
                .send()
        },
    )
    .await
    .map_err(|e| sdk_error("iam", "UpdateAssumeRolePolicy", &e))?;
    Ok(())
}

async fn put_policy(
    ctx: &StepCtx,
    client: &Client,
    role: &str,
    name: &str,
    doc: &Value,
    fresh: bool,
) -> Result<(), Error> {
    let text = policy_text(doc);
    retry(
        backoff(ctx),
        |e| iam_transient(e, fresh),
        say_retry(ctx, &format!("writing inline policy {name} of {role}")),
        || {
            client
                .put_role_policy()
                .role_name(role)
                .policy_name(name)
                .policy_document(&text)
                .send()
        },
    )
    .await
    .map_err(|e| sdk_error("iam", "PutRolePolicy", &e))?;
    Ok(())
}

async fn retag(
    ctx: &StepCtx,
    client: &Client,
    role: &str,
    changes: &TagChanges,
) -> Result<(), Error> {
    if !changes.set.is_empty() {
        let set: Vec<Tag> = changes
            .set
            .iter()
            .filter_map(|(k, v)| Tag::builder().key(k).value(v).build().ok())
            .collect();
        retry(
            backoff(ctx),
            |e| iam_transient(e, false),
            say_retry(ctx, &format!("tagging {role}")),
            || {
                client
                    .tag_role()
                    .role_name(role)
                    .set_tags(Some(set.clone()))
                    .send()
            },
        )
        .await
        .map_err(|e| sdk_error("iam", "TagRole", &e))?;
    }
    if !changes.remove.is_empty() {
        retry(
            backoff(ctx),
            |e| iam_transient(e, false),
            say_retry(ctx, &format!("untagging {role}")),
            || {
                client
                    .untag_role()
                    .role_name(role)
                    .set_tag_keys(Some(changes.remove.clone()))
                    .send()
            },
        )
        .await
        .map_err(|e| sdk_error("iam", "UntagRole", &e))?;
    }
    Ok(())
}

/// Remove statement `sid` from `role`'s trust policy; `false` when it was not there (or it
/// is the only statement: IAM needs one, so the role is left as it is and a note says so).
async fn remove_trust_statement(
    ctx: &StepCtx,
    client: &Client,
    role: &str,
    sid: &str,
) -> Result<bool, Error> {
    let Some((_, trust)) = get_role(client, role).await? else {
        return Ok(false);
    };
    let Some(doc) = remove_statement(&trust, sid) else {
        return Ok(false);
    };
    if statements(&doc).is_empty() {
        return Err(Error::Aws {
            service: "iam",
            operation: "UpdateAssumeRolePolicy",
            message: format!(
                "statement {sid} is the only statement in the trust policy of role {role}, which meshctl did not create"
            ),
            help: format!(
                "add the trust the role needs, or delete role {role} by hand (`aws iam delete-role --role-name {role}`)"
            ),
        });
    }
    update_trust(ctx, client, role, &doc).await?;
    Ok(true)
}

// ---------------------------------------------------------------------------------------
// Kubernetes
// ---------------------------------------------------------------------------------------

fn namespace_object(name: &str) -> Result<DynamicObject, Error> {
    object(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}))
}

fn service_account_object(
    id: &Identity,
    role_arn: &str,
    annotate: bool,
) -> Result<DynamicObject, Error> {
    let mut metadata = json!({"name": id.service_account, "namespace": id.namespace});
    if annotate {
        metadata["annotations"] = json!({ROLE_ARN_ANNOTATION: role_arn});
    }
    object(json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": metadata}))
}

fn object(v: Value) -> Result<DynamicObject, Error> {
    serde_json::from_value(v).map_err(|e| Error::Template {
        name: "irsa kubernetes objects".into(),
        message: e.to_string(),
    })
}

/// Whether `obj` carries this stack's labels for this component. A namespace an earlier
/// meshctl applied as component `prometheus` (that step used to apply its own namespace) is
/// taken over: this step owns the namespaces of the identities it annotates.
fn labelled_ours(obj: &DynamicObject, stack: &str) -> bool {
    let labels = obj.metadata.labels.clone().unwrap_or_default();
    labels
        .get(crate::config::MANAGED_BY_LABEL)
        .map(String::as_str)
        == Some(manifest::MANAGED_BY)
        && labels.get(STACK_TAG).map(String::as_str) == Some(stack)
        && matches!(
            labels.get(manifest::COMPONENT_LABEL).map(String::as_str),
            Some(COMPONENT) | Some(crate::steps::prometheus::COMPONENT)
        )
}

/// The objects to apply: the service accounts, and each namespace that does not exist yet or
/// that this step created earlier (an existing namespace someone else made is left alone, so
/// cleanup never deletes it). Also the names of the namespaces left alone.
async fn desired_objects(
    kube: Option<&Kube>,
    stack: &str,
    ids: &[(Identity, String)],
    annotate: bool,
) -> Result<(Vec<DynamicObject>, Vec<String>), Error> {
    let mut out = vec![];
    let mut foreign = vec![];
    let namespaces: BTreeSet<&str> = ids.iter().map(|(i, _)| i.namespace.as_str()).collect();
    for ns in namespaces {
        let existing = match kube {
            Some(k) => k.get(&ObjectRef::of(&namespace_object(ns)?)).await?,
            None => None,
        };
        match existing {
            Some(obj) if !labelled_ours(&obj, stack) => foreign.push(ns.to_string()),
            _ => out.push(namespace_object(ns)?),
        }
    }
    for (id, arn) in ids {
        out.push(service_account_object(id, arn, annotate)?);
    }
    Ok((out, foreign))
}

fn kube_action(c: &crate::kube::ObjectChange) -> Action {
    let kind = match c.object.kind.as_str() {
        "Namespace" => "namespace",
        "ServiceAccount" => "service-account",
        other => other,
    };
    let name = match &c.object.namespace {
        Some(ns) => format!("{ns}/{}", c.object.name),
        None => c.object.name.clone(),
    };
    let op = match c.op {
        crate::kube::Op::Create => Op::Create,
        crate::kube::Op::Change => Op::Update,
        crate::kube::Op::Unchanged => Op::Keep,
        crate::kube::Op::Delete => Op::Delete,
    };
    let mut a = Action::new(op, kind, name);
    if !c.fields.is_empty() {
        a.push_detail(format!("changes {}", c.fields.join(", ")));
    }
    if let Some(n) = &c.note {
        a.push_detail(n.clone());
    }
    a
}

/// Whether `e` says the cluster cannot be reached (rather than that it refused something).
fn unreachable(e: &Error) -> bool {
    use crate::kube::KubeError;
    match e {
        Error::Kube(k) => matches!(
            k.as_ref(),
            KubeError::Connect { .. }
                | KubeError::Transport { .. }
                | KubeError::Token { .. }
                | KubeError::Kubeconfig { .. }
        ),
        // No cluster endpoint in the state and no kubeconfig, or no credentials for a token.
        Error::Usage { .. } | Error::NoCredentials => true,
        _ => false,
    }
}

fn apply_options(ctx: &StepCtx) -> ApplyOptions {
    ApplyOptions {
        force: false,
        timeout: ctx.options.timeout,
    }
}

/// Delete one object (rollback); `false` when it was not there.
async fn delete_object(kube: &Kube, r: &ObjectRef) -> Result<bool, Error> {
    let (ar, caps) = kube.resolve(r).await?;
    let api: Api<DynamicObject> = match (&caps.scope, &r.namespace) {
        (Scope::Namespaced, Some(ns)) => Api::namespaced_with(kube.client().clone(), ns, &ar),
        _ => Api::all_with(kube.client().clone(), &ar),
    };
    match api.delete(&r.name, &DeleteParams::background()).await {
        Ok(_) => Ok(true),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(false),
        Err(e) => Err(crate::kube::KubeError::from_kube("delete", &r.to_string(), e).into()),
    }
}

// ---------------------------------------------------------------------------------------
// EKS Pod Identity (`irsa.mode: pod-identity`): the agent add-on and one association per
// identity, instead of the service-account annotation.
// ---------------------------------------------------------------------------------------

/// The add-on as meshctl sees it: `None` when absent; else its status and whether it
/// carries the stack tag (only then may cleanup delete it).
async fn addon(
    eks: &aws_sdk_eks::Client,
    cluster: &str,
) -> Result<Option<(String, bool, HashMap<String, String>)>, Error> {
    match eks
        .describe_addon()
        .cluster_name(cluster)
        .addon_name(POD_IDENTITY_AGENT)
        .send()
        .await
    {
        Ok(out) => Ok(out.addon().map(|a| {
            let tags = a.tags().cloned().unwrap_or_default();
            (
                a.status()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
                true,
                tags,
            )
        })),
        Err(e)
            if e.as_service_error()
                .is_some_and(|se| se.is_resource_not_found_exception()) =>
        {
            Ok(None)
        }
        Err(e) => Err(sdk_error("eks", "DescribeAddon", &e)),
    }
}

/// The association of `ns/sa` on `cluster`: `(id, role ARN, tags)`.
async fn association(
    eks: &aws_sdk_eks::Client,
    cluster: &str,
    ns: &str,
    sa: &str,
) -> Result<Option<(String, String, HashMap<String, String>)>, Error> {
    let out = eks
        .list_pod_identity_associations()
        .cluster_name(cluster)
        .namespace(ns)
        .service_account(sa)
        .send()
        .await
        .map_err(|e| sdk_error("eks", "ListPodIdentityAssociations", &e))?;
    let Some(id) = out
        .associations()
        .iter()
        .find(|a| a.namespace() == Some(ns) && a.service_account() == Some(sa))
        .and_then(|a| a.association_id())
    else {
        return Ok(None);
    };
    let out = eks
        .describe_pod_identity_association()
        .cluster_name(cluster)
        .association_id(id)
        .send()
        .await
        .map_err(|e| sdk_error("eks", "DescribePodIdentityAssociation", &e))?;
    Ok(out.association().map(|a| {
        (
            id.to_string(),
            a.role_arn().unwrap_or_default().to_string(),
            a.tags().cloned().unwrap_or_default(),
        )
    }))
}

/// Plan lines for the add-on and the associations.
async fn plan_pod_identity(
    ctx: &StepCtx,
    cluster: &str,
    arns: &[(Identity, String)],
) -> Result<Vec<Action>, Error> {
    let eks = ctx.aws()?.eks();
    let mut out = vec![];
    out.push(match addon(&eks, cluster).await? {
        None => Action::new(Op::Create, ADDON, POD_IDENTITY_AGENT)
            .detail(format!("on cluster {cluster}; tag {STACK_TAG}")),
        Some((status, _, tags)) => Action::new(Op::Keep, ADDON, POD_IDENTITY_AGENT).detail(
            if is_owned(&tags, &ctx.config.name) {
                format!("{status}, owned")
            } else {
                format!("{status}, installed outside meshctl: used, never deleted")
            },
        ),
    });
    for (id, arn) in arns {
        let name = format!("{}/{}", id.namespace, id.service_account);
        out.push(
            match association(&eks, cluster, &id.namespace, &id.service_account).await? {
                None => Action::new(Op::Create, ASSOCIATION, name).detail(format!("role {arn}")),
                Some((_, role, _)) if &role == arn => Action::new(Op::Keep, ASSOCIATION, name),
                Some((_, role, tags)) if is_owned(&tags, &ctx.config.name) => {
                    Action::new(Op::Update, ASSOCIATION, name)
                        .detail(format!("role {role} -> {arn}"))
                }
                Some((_, role, _)) => Action::new(Op::Conflict, ASSOCIATION, name)
                    .detail(format!(
                        "exists for role {role} and is not tagged for this stack"
                    ))
                    .detail("fix: delete that association, or use another service account"),
            },
        );
    }
    Ok(out)
}

/// Install the agent add-on if missing (and wait until ACTIVE), then create or update each
/// association; every creation recorded in the ledger at once.
async fn apply_pod_identity(
    ctx: &StepCtx,
    cluster: &str,
    arns: &[(Identity, String)],
    report: &mut StepReport,
) -> Result<(), Error> {
    let config = &ctx.config;
    let eks = ctx.aws()?.eks();
    let placement = ctx.placement();
    let run_id = ctx.ledger.run_id().await;
    let status = match addon(&eks, cluster).await? {
        None => {
            ctx.progress
                .message(&format!("installing the {POD_IDENTITY_AGENT} add-on"));
            eks.create_addon()
                .cluster_name(cluster)
                .addon_name(POD_IDENTITY_AGENT)
                .set_tags(Some(tags(config)))
                .client_request_token(crate::aws::client_token(&config.name, &run_id, ADDON))
                .send()
                .await
                .map_err(|e| sdk_error("eks", "CreateAddon", &e))?;
            ctx.ledger
                .record(
                    Resource::new(StepId::Irsa, ADDON, POD_IDENTITY_AGENT)
                        .with("cluster", cluster)
                        .with("region", &placement.region)
                        .with("account", &placement.account),
                )
                .await?;
            report
                .actions
                .push(Action::new(Op::Create, ADDON, POD_IDENTITY_AGENT));
            "CREATING".to_string()
        }
        Some((status, _, _)) => {
            report
                .actions
                .push(Action::new(Op::Keep, ADDON, POD_IDENTITY_AGENT).detail(status.clone()));
            status
        }
    };
    if status != "ACTIVE" && !ctx.options.no_wait {
        ctx.wait_for(
            &format!("add-on {POD_IDENTITY_AGENT} on cluster {cluster} to become ACTIVE"),
            std::time::Duration::from_secs(10),
            || async {
                match addon(&eks, cluster).await? {
                    Some((s, _, _)) if s == "ACTIVE" => Ok(Some(())),
                    Some((s, _, _)) if s == "CREATE_FAILED" || s == "DEGRADED" => Err(Error::Aws {
                        service: "eks",
                        operation: "CreateAddon",
                        message: format!("add-on {POD_IDENTITY_AGENT} on cluster {cluster} is {s}"),
                        help: "look at the add-on's health issues in the EKS console, fix them, then run `meshctl irsa` again".into(),
                    }),
                    Some(_) => Ok(None),
                    None => Err(Error::Aws {
                        service: "eks",
                        operation: "DescribeAddon",
                        message: format!("add-on {POD_IDENTITY_AGENT} disappeared while waiting for it"),
                        help: "something else deleted it; run the command again".into(),
                    }),
                }
            },
        )
        .await?;
    }
    for (id, arn) in arns {
        let name = format!("{}/{}", id.namespace, id.service_account);
        match association(&eks, cluster, &id.namespace, &id.service_account).await? {
            None => {
                ctx.progress
                    .message(&format!("associating {name} with role {arn}"));
                let out = eks
                    .create_pod_identity_association()
                    .cluster_name(cluster)
                    .namespace(&id.namespace)
                    .service_account(&id.service_account)
                    .role_arn(arn)
                    .set_tags(Some(tags(config)))
                    .client_request_token(crate::aws::client_token(
                        &config.name,
                        &run_id,
                        &format!("{ASSOCIATION}/{name}"),
                    ))
                    .send()
                    .await
                    .map_err(|e| sdk_error("eks", "CreatePodIdentityAssociation", &e))?;
                let assoc_id = out
                    .association()
                    .and_then(|a| a.association_id())
                    .unwrap_or_default()
                    .to_string();
                ctx.ledger
                    .record(
                        Resource::new(StepId::Irsa, ASSOCIATION, &assoc_id)
                            .with("cluster", cluster)
                            .with("service_account", &name)
                            .with("region", &placement.region)
                            .with("account", &placement.account),
                    )
                    .await?;
                report
                    .actions
                    .push(Action::new(Op::Create, ASSOCIATION, name).detail(format!("role {arn}")));
            }
            Some((_, role, _)) if &role == arn => {
                report
                    .actions
                    .push(Action::new(Op::Keep, ASSOCIATION, name));
            }
            Some((assoc_id, role, t)) if is_owned(&t, &config.name) => {
                eks.update_pod_identity_association()
                    .cluster_name(cluster)
                    .association_id(&assoc_id)
                    .role_arn(arn)
                    .send()
                    .await
                    .map_err(|e| sdk_error("eks", "UpdatePodIdentityAssociation", &e))?;
                report.actions.push(
                    Action::new(Op::Update, ASSOCIATION, name)
                        .detail(format!("role {role} -> {arn}")),
                );
            }
            Some((_, role, _)) => {
                return Err(Error::config(
                    format!(
                        "the pod identity association of {name} exists for role {role} and is not tagged {STACK_TAG}={}",
                        config.name
                    ),
                    "delete that association, or configure another service account; meshctl never changes what it does not own",
                ));
            }
        }
    }
    Ok(())
}

/// Delete the stack's associations and, when meshctl installed it, the add-on.
async fn destroy_pod_identity(
    ctx: &StepCtx,
    cluster: &str,
    dry: bool,
) -> Result<Vec<Action>, Error> {
    let config = &ctx.config;
    let eks = ctx.aws()?.eks();
    let mut out = vec![];
    for id in identities(config) {
        let name = format!("{}/{}", id.namespace, id.service_account);
        if let Some((assoc_id, _, t)) =
            association(&eks, cluster, &id.namespace, &id.service_account).await?
            && is_owned(&t, &config.name)
        {
            if !dry {
                delete_association(&eks, cluster, &assoc_id).await?;
            }
            out.push(Action::new(Op::Delete, ASSOCIATION, name));
        }
    }
    if let Some((_, _, t)) = addon(&eks, cluster).await?
        && is_owned(&t, &config.name)
    {
        if !dry {
            delete_addon(ctx, &eks, cluster).await?;
        }
        out.push(Action::new(Op::Delete, ADDON, POD_IDENTITY_AGENT).detail("installed by meshctl"));
    }
    Ok(out)
}

async fn delete_association(
    eks: &aws_sdk_eks::Client,
    cluster: &str,
    id: &str,
) -> Result<(), Error> {
    match eks
        .delete_pod_identity_association()
        .cluster_name(cluster)
        .association_id(id)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|se| se.is_resource_not_found_exception()) =>
        {
            Ok(())
        }
        Err(e) => Err(sdk_error("eks", "DeletePodIdentityAssociation", &e)),
    }
}

async fn delete_addon(
    ctx: &StepCtx,
    eks: &aws_sdk_eks::Client,
    cluster: &str,
) -> Result<(), Error> {
    match eks
        .delete_addon()
        .cluster_name(cluster)
        .addon_name(POD_IDENTITY_AGENT)
        .send()
        .await
    {
        Ok(_) => {}
        Err(e)
            if e.as_service_error()
                .is_some_and(|se| se.is_resource_not_found_exception()) =>
        {
            return Ok(());
        }
        Err(e) => return Err(sdk_error("eks", "DeleteAddon", &e)),
    }
    if ctx.options.no_wait {
        return Ok(());
    }
    ctx.wait_for(
        &format!("add-on {POD_IDENTITY_AGENT} on cluster {cluster} to be deleted"),
        std::time::Duration::from_secs(10),
        || async { Ok(addon(eks, cluster).await?.is_none().then_some(())) },
    )
    .await
}

// ---------------------------------------------------------------------------------------
// The step
// ---------------------------------------------------------------------------------------

pub struct IrsaStep;

/// The inputs from `cluster` and `amp`, when both are in the state.
struct Inputs {
    /// Empty in `pod-identity` mode, which needs no OIDC provider.
    oidc_provider_arn: String,
    issuer: String,
    workspace_arn: String,
    cluster: String,
}

impl IrsaStep {
    async fn inputs(ctx: &StepCtx) -> Result<Inputs, Vec<String>> {
        let pod = pod_identity(&ctx.config);
        let mut missing = vec![];
        let mut oidc_provider_arn = ctx
            .state
            .output(StepId::Cluster, inputs::OIDC_PROVIDER_ARN)
            .await;
        let mut issuer = ctx.state.output(StepId::Cluster, inputs::OIDC_ISSUER).await;
        if pod {
            oidc_provider_arn = Some(String::new());
            issuer = Some(String::new());
        }
        let workspace_arn = ctx.state.output(StepId::Amp, inputs::WORKSPACE_ARN).await;
        let cluster = ctx
            .state
            .output(StepId::Cluster, crate::kube::connect::outputs::CLUSTER_NAME)
            .await
            .unwrap_or_else(|| ctx.config.cluster_name().to_string());
        if oidc_provider_arn.is_none() || issuer.is_none() {
            missing.push("the cluster's OIDC provider (run `meshctl cluster` first)".to_string());
        }
        if workspace_arn.is_none() {
            missing.push("the AMP workspace ARN (run `meshctl amp` first)".to_string());
        }
        match (oidc_provider_arn, issuer, workspace_arn) {
            (Some(oidc_provider_arn), Some(issuer), Some(workspace_arn)) => Ok(Inputs {
                oidc_provider_arn,
                issuer,
                workspace_arn,
                cluster,
            }),
            _ => Err(missing),
        }
    }

    async fn surveys(
        ctx: &StepCtx,
        client: &Client,
        inputs: &Inputs,
    ) -> Result<Vec<Survey>, Error> {
        let mut out = vec![];
        for id in identities(&ctx.config) {
            let statement = if pod_identity(&ctx.config) {
                pod_identity_statement(&id)?
            } else {
                trust_statement(&id, &inputs.oidc_provider_arn, &inputs.issuer)?
            };
            let policy = permission_policy(&id, &inputs.workspace_arn)?;
            out.push(survey(ctx, client, &id, statement, policy).await?);
        }
        Ok(out)
    }

    fn outputs(config: &Config, arns: &[(Identity, String)]) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for (id, arn) in arns {
            out.insert(id.spec.output.to_string(), arn.clone());
            out.insert(
                format!("{}_service_account", id.spec.key),
                format!("{}/{}", id.namespace, id.service_account),
            );
        }
        out.insert("mode".into(), config.irsa.mode.clone());
        out.insert(MANAGED_TAGS.into(), managed_tags_output(&tags(config)));
        out
    }

    /// The EKS cluster's name: from the state, else the config.
    async fn cluster(ctx: &StepCtx) -> String {
        ctx.state
            .output(StepId::Cluster, crate::kube::connect::outputs::CLUSTER_NAME)
            .await
            .unwrap_or_else(|| ctx.config.cluster_name().to_string())
    }

    /// Role names this step may have created for `id`: the configured one and the one in the
    /// state (the name changed in the config since).
    async fn candidate_roles(ctx: &StepCtx, id: &Identity) -> Vec<String> {
        let mut names = vec![id.role_name.clone()];
        if let Some(arn) = ctx.state.output(StepId::Irsa, id.spec.output).await {
            let name = role_name_of(&arn).to_string();
            if !names.contains(&name) {
                names.push(name);
            }
        }
        names
    }
}

#[async_trait]
impl Step for IrsaStep {
    fn id(&self) -> StepId {
        StepId::Irsa
    }

    async fn plan(&self, ctx: &StepCtx) -> Result<StepPlan, Error> {
        let config = &ctx.config;
        let mut plan = StepPlan::new(StepId::Irsa);
        let ids = identities(config);
        let inputs = match (&ctx.aws, Self::inputs(ctx).await) {
            (Some(_), Ok(inputs)) => Some(inputs),
            (_, Err(missing)) => {
                for m in missing {
                    plan.note(format!("not yet known: {m}"));
                }
                None
            }
            (None, Ok(_)) => None,
        };
        let (Some(aws), Some(inputs)) = (&ctx.aws, inputs) else {
            // Offline, or before `cluster` and `amp`: everything would be created.
            for id in &ids {
                let a = match &id.pinned_arn {
                    Some(arn) => Action::new(Op::Update, ROLE, &id.role_name)
                        .detail(format!(
                            "pinned by irsa.roles.{} ({arn}): adopted, never deleted",
                            id.spec.key
                        ))
                        .detail(format!("trust statement {} for {}", id.sid, id.subject())),
                    None => Action::new(Op::Create, ROLE, &id.role_name).detail(format!(
                        "{} for {}",
                        id.spec.actions.join(", "),
                        id.subject()
                    )),
                };
                plan.push(a);
            }
            let namespaces: BTreeSet<&str> = ids.iter().map(|i| i.namespace.as_str()).collect();
            for ns in namespaces {
                plan.push(Action::new(Op::Create, "namespace", ns).detail("unless it exists"));
            }
            for id in &ids {
                plan.push(
                    Action::new(
                        Op::Create,
                        "service-account",
                        format!("{}/{}", id.namespace, id.service_account),
                    )
                    .detail(if pod_identity(config) {
                        format!("pod identity association with role {}", id.role_name)
                    } else {
                        format!("{ROLE_ARN_ANNOTATION}: role {}", id.role_name)
                    }),
                );
            }
            if pod_identity(config) {
                plan.push(
                    Action::new(Op::Create, ADDON, POD_IDENTITY_AGENT)
                        .detail("unless it is installed"),
                );
                for id in &ids {
                    plan.push(
                        Action::new(
                            Op::Create,
                            ASSOCIATION,
                            format!("{}/{}", id.namespace, id.service_account),
                        )
                        .detail(format!("role {}", id.role_name)),
                    );
                }
            }
            return Ok(plan);
        };
        let client = aws.iam();
        let surveys = Self::surveys(ctx, &client, &inputs).await?;
        let account = ctx.placement().account;
        let mut arns = vec![];
        for s in &surveys {
            plan.push(s.action());
            arns.push((
                s.id.clone(),
                s.role_arn(&inputs.oidc_provider_arn, &account),
            ));
        }
        let kube_plan = async {
            let kube = crate::kube::connect(ctx).await?;
            let (objects, foreign) =
                desired_objects(Some(&kube), &config.name, &arns, !pod_identity(config)).await?;
            let mut actions: Vec<Action> = foreign
                .into_iter()
                .map(|ns| {
                    Action::new(Op::Keep, "namespace", ns)
                        .detail("exists, not created by meshctl: used, never deleted")
                })
                .collect();
            let changes = kube.plan(COMPONENT, &objects, &apply_options(ctx)).await?;
            actions.extend(changes.objects.iter().map(kube_action));
            Ok::<_, Error>(actions)
        };
        match kube_plan.await {
            Ok(actions) => {
                for a in actions {
                    plan.push(a);
                }
            }
            // Only an unreachable cluster is planned blind; a refusal or conflict is shown.
            Err(e) if unreachable(&e) => {
                plan.note(format!(
                    "cluster not reachable for a Kubernetes plan, objects shown as created: {e}"
                ));
                let (objects, _) =
                    desired_objects(None, &config.name, &arns, !pod_identity(config)).await?;
                for o in &objects {
                    plan.push(kube_action(&crate::kube::ObjectChange {
                        object: ObjectRef::of(o),
                        op: crate::kube::Op::Create,
                        fields: vec![],
                        note: None,
                    }));
                }
            }
            Err(e) => return Err(e),
        }
        if pod_identity(config) {
            for a in plan_pod_identity(ctx, &inputs.cluster, &arns).await? {
                plan.push(a);
            }
        }
        Ok(plan)
    }

    async fn apply(&self, ctx: &StepCtx) -> Result<StepReport, Error> {
        let config = &ctx.config;
        let aws = ctx.aws()?;
        let client = aws.iam();
        let placement = ctx.placement();
        let mut report = StepReport {
            step: Some(StepId::Irsa),
            ..Default::default()
        };
        let inputs = Self::inputs(ctx).await.map_err(|missing| {
            Error::usage(
                format!("irsa needs {}", missing.join(" and ")),
                "apply the prerequisites first: `meshctl up --only cluster,amp,irsa`",
            )
        })?;
        ctx.progress.message("checking the cluster's OIDC provider");
        if pod_identity(config) {
            // Pod Identity needs no OIDC provider.
        } else if let Err(e) = client
            .get_open_id_connect_provider()
            .open_id_connect_provider_arn(&inputs.oidc_provider_arn)
            .send()
            .await
        {
            if no_such_entity(&e) {
                return Err(Error::usage(
                    format!(
                        "the cluster's OIDC provider {} does not exist",
                        inputs.oidc_provider_arn
                    ),
                    "run `meshctl cluster` again: it creates the OIDC provider",
                ));
            }
            return Err(sdk_error("iam", "GetOpenIDConnectProvider", &e));
        }

        ctx.progress.message("looking for the IAM roles");
        let surveys = Self::surveys(ctx, &client, &inputs).await?;
        let mut arns = vec![];
        for s in &surveys {
            let id = &s.id;
            let action = s.action();
            let arn = match &s.plan {
                RolePlan::Create { name } => {
                    ctx.progress.message(&format!("creating IAM role {name}"));
                    let doc = policy_text(&trust_document(vec![s.statement.clone()]));
                    let role_tags = iam_tags(config)?;
                    let out = retry(
                        backoff(ctx),
                        |e| iam_transient(e, false),
                        say_retry(ctx, &format!("creating IAM role {name}")),
                        || {
                            client
                                .create_role()
                                .role_name(name)
                                .assume_role_policy_document(&doc)
                                .description(format!(
                                    "meshctl stack {}: {} ({})",
                                    config.name,
                                    id.spec.purpose,
                                    id.subject()
                                ))
                                .set_tags(Some(role_tags.clone()))
                                .send()
                        },
                    )
                    .await
                    .map_err(|e| sdk_error("iam", "CreateRole", &e))?;
                    let arn = out.role().map(|r| r.arn().to_string()).unwrap_or_else(|| {
                        predicted_role_arn(&inputs.oidc_provider_arn, &placement.account, name)
                    });
                    ctx.ledger
                        .record(
                            Resource::new(StepId::Irsa, ROLE, name)
                                .with("arn", &arn)
                                .with("region", &placement.region)
                                .with("account", &placement.account),
                        )
                        .await?;
                    // A new role is not visible everywhere at once: retried while IAM says
                    // it does not exist.
                    put_policy(ctx, &client, name, &id.policy_name, &s.policy, true).await?;
                    ctx.ledger
                        .record(
                            Resource::new(StepId::Irsa, POLICY, &id.policy_name)
                                .with("role", name)
                                .with("account", &placement.account),
                        )
                        .await?;
                    arn
                }
                RolePlan::Existing {
                    role,
                    trust,
                    statement_added,
                    put_policy: must_put,
                    policy_added,
                    tags,
                    ..
                } => {
                    if let Some(doc) = trust {
                        ctx.progress
                            .message(&format!("merging the trust statement into {}", role.name));
                        update_trust(ctx, &client, &role.name, doc).await?;
                        if *statement_added {
                            ctx.ledger
                                .record(
                                    Resource::new(StepId::Irsa, TRUST, &id.sid)
                                        .with("role", &role.name)
                                        .with("account", &placement.account),
                                )
                                .await?;
                        }
                    }
                    if *must_put {
                        ctx.progress.message(&format!(
                            "writing inline policy {} of {}",
                            id.policy_name, role.name
                        ));
                        put_policy(ctx, &client, &role.name, &id.policy_name, &s.policy, false)
                            .await?;
                        if *policy_added {
                            ctx.ledger
                                .record(
                                    Resource::new(StepId::Irsa, POLICY, &id.policy_name)
                                        .with("role", &role.name)
                                        .with("account", &placement.account),
                                )
                                .await?;
                        }
                    }
                    retag(ctx, &client, &role.name, tags).await?;
                    role.arn.clone()
                }
            };
            report.actions.push(action);
            arns.push((id.clone(), arn));
        }

        ctx.progress.message("connecting to the cluster");
        let kube = crate::kube::connect(ctx).await?;
        let (objects, foreign) =
            desired_objects(Some(&kube), &config.name, &arns, !pod_identity(config)).await?;
        for ns in foreign {
            report.actions.push(
                Action::new(Op::Keep, "namespace", ns)
                    .detail("exists, not created by meshctl: used, never deleted"),
            );
        }
        let options = apply_options(ctx);
        let mut ordered = objects.clone();
        manifest::sort_for_apply(&mut ordered);
        for obj in &ordered {
            let r = ObjectRef::of(obj);
            ctx.progress.message(&format!("applying {r}"));
            let changes = kube
                .apply(COMPONENT, std::slice::from_ref(obj), &options)
                .await?;
            for c in &changes.objects {
                if c.op == crate::kube::Op::Create {
                    let mut res = Resource::new(StepId::Irsa, KUBE_OBJECT, &c.object.name)
                        .with("api_version", &c.object.api_version)
                        .with("kind", &c.object.kind);
                    if let Some(ns) = &c.object.namespace {
                        res = res.with("namespace", ns);
                    }
                    ctx.ledger.record(res).await?;
                }
                report.actions.push(kube_action(c));
            }
        }
        let pruned = kube.prune(COMPONENT, &objects, ctx.options.timeout).await?;
        for c in &pruned.objects {
            report
                .actions
                .push(kube_action(c).detail("no longer configured"));
        }
        if pod_identity(config) {
            apply_pod_identity(ctx, &inputs.cluster, &arns, &mut report).await?;
        }
        report.outputs = Self::outputs(config, &arns);
        Ok(report)
    }

    async fn destroy_plan(&self, ctx: &StepCtx) -> Result<StepPlan, Error> {
        let config = &ctx.config;
        let mut plan = StepPlan::new(StepId::Irsa);
        let Some(aws) = &ctx.aws else {
            plan.note("offline: cannot look at IAM roles without credentials");
            return Ok(plan);
        };
        if pod_identity(config) {
            for a in destroy_pod_identity(ctx, &Self::cluster(ctx).await, true).await? {
                plan.push(a);
            }
        }
        let client = aws.iam();
        for id in identities(config) {
            for name in Self::candidate_roles(ctx, &id).await {
                let Some(role) = observe_role(&client, &id, &name).await? else {
                    continue;
                };
                if is_owned_role(&id, &role, &config.name) {
                    plan.push(Action::new(Op::Delete, ROLE, &name).detail(format!(
                        "tagged {STACK_TAG}={}; inline policies first",
                        config.name
                    )));
                    continue;
                }
                if find_statement(&role.trust, &id.sid).is_some() {
                    plan.push(
                        Action::new(Op::Delete, TRUST, format!("{name}/{}", id.sid)).detail(
                            "only meshctl's statement; the role and its other statements are kept",
                        ),
                    );
                }
                if role.policy.is_some() {
                    plan.push(
                        Action::new(Op::Delete, POLICY, format!("{name}/{}", id.policy_name))
                            .detail("the role is adopted and kept"),
                    );
                }
            }
        }
        let listed = async {
            let kube = crate::kube::connect(ctx).await?;
            let selector = manifest::component_selector(&config.name, COMPONENT);
            let mut actions = vec![];
            for kind in ["ServiceAccount", "Namespace"] {
                for (ns, name) in labelled(&kube, kind, &selector).await? {
                    let shown = match ns {
                        Some(ns) => format!("{ns}/{name}"),
                        None => name,
                    };
                    let kind = if kind == "Namespace" {
                        "namespace"
                    } else {
                        "service-account"
                    };
                    actions.push(Action::new(Op::Delete, kind, shown));
                }
            }
            Ok::<_, Error>(actions)
        };
        match listed.await {
            Ok(actions) => {
                for a in actions {
                    plan.push(a);
                }
            }
            Err(e) if unreachable(&e) => plan.note(format!(
                "cluster not reachable: Kubernetes objects are not listed ({e})"
            )),
            Err(e) => return Err(e),
        }
        Ok(plan)
    }

    async fn destroy(&self, ctx: &StepCtx) -> Result<StepReport, Error> {
        let config = &ctx.config;
        let client = ctx.aws()?.iam();
        let mut report = StepReport {
            step: Some(StepId::Irsa),
            ..Default::default()
        };
        let deleted = async {
            let kube = crate::kube::connect(ctx).await?;
            ctx.progress
                .message("deleting the service accounts and namespaces");
            let selector = manifest::component_selector(&config.name, COMPONENT);
            Ok::<_, Error>(
                kube.delete_by_label(&selector, Propagation::Background, ctx.options.timeout)
                    .await?,
            )
        };
        match deleted.await {
            Ok(gone) => {
                for r in gone {
                    let name = match &r.namespace {
                        Some(ns) => format!("{ns}/{}", r.name),
                        None => r.name.clone(),
                    };
                    report
                        .actions
                        .push(Action::new(Op::Delete, r.kind.to_lowercase(), name));
                }
            }
            Err(e) if unreachable(&e) => report.notes.push(format!(
                "cluster not reachable: Kubernetes objects were not deleted ({e})"
            )),
            Err(e) => return Err(e),
        }
        if pod_identity(config) {
            ctx.progress
                .message("deleting the pod identity associations");
            let done = destroy_pod_identity(ctx, &Self::cluster(ctx).await, false).await?;
            report.actions.extend(done);
        }
        for id in identities(config) {
            for name in Self::candidate_roles(ctx, &id).await {
                let Some(role) = observe_role(&client, &id, &name).await? else {
                    continue;
                };
                if is_owned_role(&id, &role, &config.name) {
                    if delete_role(ctx, &client, &name).await? {
                        report.actions.push(Action::new(Op::Delete, ROLE, &name));
                    }
                    continue;
                }
                if remove_trust_statement(ctx, &client, &name, &id.sid).await? {
                    report.actions.push(
                        Action::new(Op::Delete, TRUST, format!("{name}/{}", id.sid))
                            .detail("the role is adopted and kept"),
                    );
                }
                if delete_policy(ctx, &client, &name, &id.policy_name).await? {
                    report.actions.push(Action::new(
                        Op::Delete,
                        POLICY,
                        format!("{name}/{}", id.policy_name),
                    ));
                }
            }
        }
        Ok(report)
    }

    async fn status(&self, ctx: &StepCtx) -> Result<StepStatus, Error> {
        let config = &ctx.config;
        let client = ctx.aws()?.iam();
        let mut details = BTreeMap::new();
        let inputs = Self::inputs(ctx).await;
        let mut found = 0;
        let mut whole = 0;
        for id in identities(config) {
            let key = format!("{}_role", id.spec.key);
            let Some(role) = observe_role(&client, &id, &id.role_name).await? else {
                details.insert(key, format!("{} missing", id.role_name));
                continue;
            };
            found += 1;
            let mut problems = vec![];
            match &inputs {
                Ok(inputs) => {
                    let stmt = trust_statement(&id, &inputs.oidc_provider_arn, &inputs.issuer)?;
                    if !find_statement(&role.trust, &id.sid).is_some_and(|s| same_policy(&s, &stmt))
                    {
                        problems.push("trust statement missing or different");
                    }
                    let policy = permission_policy(&id, &inputs.workspace_arn)?;
                    if !role
                        .policy
                        .as_ref()
                        .is_some_and(|p| same_policy(p, &policy))
                    {
                        problems.push("inline policy missing or different");
                    }
                }
                Err(_) => problems.push("cluster or amp outputs missing"),
            }
            let owner = if is_owned_role(&id, &role, &config.name) {
                "owned"
            } else {
                "adopted"
            };
            if problems.is_empty() {
                whole += 1;
                details.insert(key, format!("{} ({owner})", role.arn));
            } else {
                details.insert(
                    key,
                    format!("{} ({owner}; {})", role.arn, problems.join(", ")),
                );
            }
        }
        if let Ok(kube) = crate::kube::connect(ctx).await {
            for id in identities(config) {
                let r = ObjectRef {
                    api_version: "v1".into(),
                    kind: "ServiceAccount".into(),
                    namespace: Some(id.namespace.clone()),
                    name: id.service_account.clone(),
                };
                let found = match kube.get(&r).await {
                    Ok(found) => found,
                    Err(e) => {
                        details.insert("cluster".into(), format!("not reachable: {e}"));
                        break;
                    }
                };
                let annotated = if pod_identity(config) {
                    match found {
                        Some(_) => association(
                            &ctx.aws()?.eks(),
                            &Self::cluster(ctx).await,
                            &id.namespace,
                            &id.service_account,
                        )
                        .await?
                        .map(|(assoc, role, _)| {
                            format!("{role} (pod identity association {assoc})")
                        }),
                        None => None,
                    }
                } else {
                    found.and_then(|o| {
                        o.metadata
                            .annotations
                            .and_then(|a| a.get(ROLE_ARN_ANNOTATION).cloned())
                    })
                };
                details.insert(
                    format!("{}_service_account", id.spec.key),
                    match annotated {
                        Some(arn) => format!("{}/{} -> {arn}", id.namespace, id.service_account),
                        None => format!(
                            "{}/{} missing, or without its role",
                            id.namespace, id.service_account
                        ),
                    },
                );
            }
        }
        let state = if found == 0 {
            "absent"
        } else if whole == IDENTITIES.len()
            && identities(config).iter().all(|id| {
                details
                    .get(&format!("{}_service_account", id.spec.key))
                    .is_none_or(|v| v.contains(" -> "))
            })
        {
            "present"
        } else {
            "partial"
        };
        Ok(StepStatus {
            step: StepId::Irsa,
            state: state.into(),
            details,
        })
    }

    async fn undo(&self, ctx: &StepCtx, resource: &Resource) -> Result<(), Error> {
        match resource.kind.as_str() {
            ROLE => {
                delete_role(ctx, &ctx.aws()?.iam(), &resource.id).await?;
            }
            POLICY => {
                let role = resource.get("role").unwrap_or_default();
                delete_policy(ctx, &ctx.aws()?.iam(), role, &resource.id).await?;
            }
            TRUST => {
                let role = resource.get("role").unwrap_or_default();
                remove_trust_statement(ctx, &ctx.aws()?.iam(), role, &resource.id).await?;
            }
            ASSOCIATION => {
                let cluster = resource.get("cluster").unwrap_or_default();
                delete_association(&ctx.aws()?.eks(), cluster, &resource.id).await?;
            }
            ADDON => {
                let cluster = resource.get("cluster").unwrap_or_default();
                delete_addon(ctx, &ctx.aws()?.eks(), cluster).await?;
            }
            KUBE_OBJECT => {
                let kube = crate::kube::connect(ctx).await?;
                let r = ObjectRef {
                    api_version: resource.get("api_version").unwrap_or("v1").to_string(),
                    kind: resource.get("kind").unwrap_or_default().to_string(),
                    namespace: resource.get("namespace").map(str::to_string),
                    name: resource.id.clone(),
                };
                delete_object(&kube, &r).await?;
            }
            other => return Err(Resource::unknown_kind(StepId::Irsa, other)),
        }
        Ok(())
    }

    fn undo_hint(&self, resource: &Resource) -> String {
        let role = resource.get("role").unwrap_or("<role>");
        match resource.kind.as_str() {
            ROLE => format!(
                "aws iam list-role-policies --role-name {0}; aws iam delete-role-policy --role-name {0} --policy-name <each>; aws iam delete-role --role-name {0}",
                resource.id
            ),
            POLICY => format!(
                "aws iam delete-role-policy --role-name {role} --policy-name {}",
                resource.id
            ),
            TRUST => format!(
                "edit the trust policy of role {role} (IAM console, Trust relationships) and remove the statement with Sid {}",
                resource.id
            ),
            KUBE_OBJECT => {
                let kind = resource.get("kind").unwrap_or("<kind>").to_lowercase();
                match resource.get("namespace") {
                    Some(ns) => format!("kubectl delete {kind} {} -n {ns}", resource.id),
                    None => format!("kubectl delete {kind} {}", resource.id),
                }
            }
            ASSOCIATION => format!(
                "aws eks delete-pod-identity-association --region {} --cluster-name {} --association-id {}",
                resource.get("region").unwrap_or("<region>"),
                resource.get("cluster").unwrap_or("<cluster>"),
                resource.id
            ),
            ADDON => format!(
                "aws eks delete-addon --region {} --cluster-name {} --addon-name {}",
                resource.get("region").unwrap_or("<region>"),
                resource.get("cluster").unwrap_or("<cluster>"),
                resource.id
            ),
            _ => "meshctl cleanup --only irsa".into(),
        }
    }
}

/// `(namespace, name)` of the objects of `kind` (core group) matching `selector`.
async fn labelled(
    kube: &Kube,
    kind: &str,
    selector: &str,
) -> Result<Vec<(Option<String>, String)>, Error> {
    let r = ObjectRef {
        api_version: "v1".into(),
        kind: kind.into(),
        namespace: None,
        name: String::new(),
    };
    let (ar, _) = kube.resolve(&r).await?;
    let api: Api<DynamicObject> = Api::all_with(kube.client().clone(), &ar);
    let list = api
        .list(&kube::api::ListParams::default().labels(selector))
        .await
        .map_err(|e| {
            crate::kube::KubeError::from_kube("list", &format!("{} ({selector})", ar.plural), e)
        })?;
    Ok(list
        .items
        .into_iter()
        .map(|o| (o.metadata.namespace, o.metadata.name.unwrap_or_default()))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        serde_yaml_ng::from_str("name: demo-1").unwrap()
    }

    #[test]
    fn sids_use_only_letters_and_digits() {
        let ids = identities(&config());
        assert_eq!(ids[0].sid, "MeshctlIrsaDemo1AmpIngest");
        assert_eq!(ids[1].sid, "MeshctlIrsaDemo1AmpQuery");
        assert!(
            ids.iter()
                .all(|i| i.sid.chars().all(|c| c.is_ascii_alphanumeric()))
        );
    }

    #[test]
    fn merge_replaces_only_meshctls_statement() {
        let foreign = json!({"Sid": "Theirs", "Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"});
        let old = json!({"Sid": "Mine", "Effect": "Allow", "Action": "x"});
        let new = json!({"Sid": "Mine", "Effect": "Allow", "Action": "y"});
        let doc = json!({"Version": "2012-10-17", "Statement": [foreign.clone(), old]});
        let merged = merge_statement(&doc, &new);
        assert_eq!(statements(&merged), vec![foreign.clone(), new.clone()]);
        // A statement given as one object is kept too.
        let single = json!({"Version": "2012-10-17", "Statement": foreign.clone()});
        assert_eq!(
            statements(&merge_statement(&single, &new)),
            vec![foreign.clone(), new]
        );
        let removed = remove_statement(&merged, "Mine").unwrap();
        assert_eq!(statements(&removed), vec![foreign]);
        assert!(remove_statement(&removed, "Mine").is_none());
    }

    #[test]
    fn policies_compare_by_meaning() {
        let a = json!({"Statement": [{"Action": ["aps:RemoteWrite"], "Effect": "Allow"}]});
        let b = json!({"Statement": {"Effect": "Allow", "Action": "aps:RemoteWrite"}});
        assert!(same_policy(&a, &b));
        let c = json!({"Statement": {"Effect": "Allow", "Action": "aps:QueryMetrics"}});
        assert!(!same_policy(&a, &c));
    }

    #[test]
    fn url_encoded_documents_decode() {
        let v =
            decode_policy("%7B%22Version%22%3A%222012-10-17%22%2C%22a%22%3A%22x+y%22%7D").unwrap();
        assert_eq!(v, json!({"Version": "2012-10-17", "a": "x+y"}));
        assert_eq!(decode_policy(" {\"a\": 1}").unwrap(), json!({"a": 1}));
        assert!(decode_policy("%7").is_err());
    }

    #[test]
    fn issuer_loses_scheme_and_trailing_slash() {
        assert_eq!(
            issuer_host_path("https://oidc.eks.us-east-1.amazonaws.com/id/ABC/"),
            "oidc.eks.us-east-1.amazonaws.com/id/ABC"
        );
    }

    #[test]
    fn pinned_role_name_comes_from_its_arn() {
        let mut c = config();
        c.irsa.roles.query = Some("arn:aws:iam::123456789012:role/team/shared-query".into());
        c.irsa.prometheus_role_name = Some("custom-ingest".into());
        let ids = identities(&c);
        assert_eq!(ids[0].role_name, "custom-ingest");
        assert_eq!(ids[1].role_name, "shared-query");
        assert!(ids[1].pinned_arn.is_some());
    }
}
