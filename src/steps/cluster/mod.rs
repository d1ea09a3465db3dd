//! `cluster`: the stack's network (src/steps/network.rs), the cluster and node IAM roles, the
//! EKS control plane in API authentication mode with access entries, the security-group rules
//! Istio needs, and the IAM OIDC provider for the cluster's issuer. This is the control-plane
//! milestone: `irsa` and `istio` start when it is done, while [`nodes`] creates the node
//! groups. With `cluster.create: false` an existing cluster is adopted: only what is missing
//! (OIDC provider, SG rules, an access entry for the caller) is added, and only that is
//! removed by cleanup.

pub mod nodes;

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_eks::types::{
    AccessScope, AccessScopeType, AuthenticationMode, ClusterStatus, CreateAccessConfigRequest,
    LogSetup, LogType, Logging, VpcConfigRequest,
};
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::aws::iam::{backoff, no_such_entity, say_retry};
use crate::aws::retry::{iam_transient, retry};
use crate::aws::{client_token, sdk_error, tags};
use crate::config::{Config, STACK_TAG};
use crate::engine::owned::{MANAGED_TAGS, is_owned, managed_tags_output};
use crate::engine::{
    Action, Op, Resource, Step, StepCtx, StepId, StepPlan, StepReport, StepStatus,
};
use crate::error::Error;
use crate::kube::connect::outputs;
use crate::steps::network::{self, NatMode, NetworkSpec};

pub const ROLE: &str = "iam-role";
pub const CLUSTER: &str = "eks-cluster";
pub const ACCESS_ENTRY: &str = "eks-access-entry";
pub const SG_RULE: &str = "security-group-rule";
pub const OIDC: &str = "iam-oidc-provider";

/// Istio's ports the control plane must reach on the nodes: the sidecar-injection webhook
/// (15017) and istiod's xDS/CA (15012).
pub const ISTIO_PORTS: [i32; 2] = [15017, 15012];
pub const ADMIN_POLICY: &str = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy";
const OIDC_CLIENT_ID: &str = "sts.amazonaws.com";
/// How often cluster waits poll (the AWS tools' cadence); `MESHCTL_POLL_INTERVAL` caps it.
pub const POLL: Duration = Duration::from_secs(30);

pub const CLUSTER_POLICIES: &[&str] = &["AmazonEKSClusterPolicy"];
pub const NODE_POLICIES: &[&str] = &[
    "AmazonEKSWorkerNodePolicy",
    "AmazonEKS_CNI_Policy",
    "AmazonEC2ContainerRegistryReadOnly",
];

pub struct ClusterStep;

/// The AWS partition of `region` (`aws`, `aws-cn`, `aws-us-gov`).
pub fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// The error code of a failed SDK call, when the service sent one.
pub(crate) use crate::aws::retry::error_code as code;

/// `arn:aws:sts::A:assumed-role/R/S` -> `arn:aws:iam::A:role/R` (the principal an access entry
/// names); IAM user and role ARNs unchanged.
pub fn principal_of(arn: &str) -> String {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    if parts.len() == 6 && parts[2] == "sts" {
        if let Some(rest) = parts[5].strip_prefix("assumed-role/") {
            let role = rest.split('/').next().unwrap_or_default();
            return format!("arn:{}:iam::{}:role/{role}", parts[1], parts[4]);
        }
        return format!("arn:{}:iam::{}:{}", parts[1], parts[4], parts[5]);
    }
    arn.to_string()
}

/// One IAM role the cluster needs.
struct RoleSpec {
    /// `cluster` or `nodes`.
    which: &'static str,
    name: String,
    service: &'static str,
    policies: &'static [&'static str],
    /// The ARN the config adopts (`cluster.cluster_role_arn` / `node_role_arn`).
    adopt: Option<String>,
}

fn role_specs(config: &Config) -> [RoleSpec; 2] {
    [
        RoleSpec {
            which: "cluster",
            name: format!("{}-cluster", config.name),
            service: "eks.amazonaws.com",
            policies: CLUSTER_POLICIES,
            adopt: config.cluster.cluster_role_arn.clone(),
        },
        RoleSpec {
            which: "nodes",
            name: format!("{}-nodes", config.name),
            service: "ec2.amazonaws.com",
            policies: NODE_POLICIES,
            adopt: config.cluster.node_role_arn.clone(),
        },
    ]
}

/// The trust policy letting `service` assume a role.
pub fn trust_policy(service: &str) -> String {
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": service},
            "Action": "sts:AssumeRole"
        }]
    })
    .to_string()
}

/// What exists of a role.
#[derive(Debug, Clone)]
enum RoleState {
    Missing,
    /// Tagged for the stack; `missing_policies` are not attached yet.
    Owned {
        arn: String,
        missing_policies: Vec<String>,
    },
    /// Adopted by ARN: used as it is.
    Adopted {
        arn: String,
    },
    /// Exists with the stack's name but is not the stack's.
    Foreign {
        arn: String,
    },
}

/// The control plane as DescribeCluster reports it.
#[derive(Debug, Clone)]
pub struct ClusterInfo {
    pub name: String,
    pub arn: String,
    pub status: String,
    pub version: String,
    pub endpoint: String,
    pub ca: String,
    pub issuer: String,
    pub vpc_id: String,
    pub subnet_ids: Vec<String>,
    pub cluster_sg: String,
    pub extra_sgs: Vec<String>,
    pub auth_mode: String,
    pub role_arn: String,
    pub tags: HashMap<String, String>,
}

impl ClusterInfo {
    pub fn owned_by(&self, stack: &str) -> bool {
        is_owned(&self.tags, stack)
    }
}

/// DescribeCluster, `None` when there is no such cluster.
pub async fn describe_cluster(
    eks: &aws_sdk_eks::Client,
    name: &str,
) -> Result<Option<ClusterInfo>, Error> {
    match eks.describe_cluster().name(name).send().await {
        Ok(out) => Ok(out.cluster.map(|c| {
            let vpc = c.resources_vpc_config();
            ClusterInfo {
                name: c.name().unwrap_or(name).to_string(),
                arn: c.arn().unwrap_or_default().to_string(),
                status: c
                    .status()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
                version: c.version().unwrap_or_default().to_string(),
                endpoint: c.endpoint().unwrap_or_default().to_string(),
                ca: c
                    .certificate_authority()
                    .and_then(|a| a.data())
                    .unwrap_or_default()
                    .to_string(),
                issuer: c
                    .identity()
                    .and_then(|i| i.oidc())
                    .and_then(|o| o.issuer())
                    .unwrap_or_default()
                    .to_string(),
                vpc_id: vpc.and_then(|v| v.vpc_id()).unwrap_or_default().to_string(),
                subnet_ids: vpc.map(|v| v.subnet_ids().to_vec()).unwrap_or_default(),
                cluster_sg: vpc
                    .and_then(|v| v.cluster_security_group_id())
                    .unwrap_or_default()
                    .to_string(),
                extra_sgs: vpc
                    .map(|v| v.security_group_ids().to_vec())
                    .unwrap_or_default(),
                auth_mode: c
                    .access_config()
                    .and_then(|a| a.authentication_mode())
                    .map(|m| m.as_str().to_string())
                    .unwrap_or_else(|| "CONFIG_MAP".into()),
                role_arn: c.role_arn().unwrap_or_default().to_string(),
                tags: c.tags().cloned().unwrap_or_default(),
            }
        })),
        Err(e) if code(&e) == Some("ResourceNotFoundException") => Ok(None),
        Err(e) => Err(sdk_error("eks", "DescribeCluster", &e)),
    }
}

/// The versions EKS offers now: `(version, status)`, newest first.
async fn supported_versions(eks: &aws_sdk_eks::Client) -> Result<Vec<(String, String)>, Error> {
    let mut out = vec![];
    let mut pages = eks.describe_cluster_versions().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| sdk_error("eks", "DescribeClusterVersions", &e))?;
        for v in page.cluster_versions() {
            if let Some(version) = v.cluster_version() {
                let status = v
                    .version_status()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default();
                out.push((version.to_string(), status));
            }
        }
    }
    out.sort_by_key(|v| std::cmp::Reverse(minor(&v.0)));
    Ok(out)
}

fn minor(v: &str) -> u32 {
    v.strip_prefix("1.")
        .and_then(|m| m.parse().ok())
        .unwrap_or(0)
}

/// Exit 2 before any change when EKS does not offer the configured version.
async fn check_version(eks: &aws_sdk_eks::Client, wanted: &str) -> Result<(), Error> {
    let versions = supported_versions(eks).await?;
    if versions.is_empty() || versions.iter().any(|(v, _)| v == wanted) {
        return Ok(());
    }
    let listed: Vec<String> = versions
        .iter()
        .map(|(v, s)| {
            let s = s.to_ascii_lowercase().replace('_', " ");
            if s.is_empty() {
                v.clone()
            } else {
                format!("{v} ({s})")
            }
        })
        .collect();
    Err(Error::config(
        format!(
            "cluster.version: EKS does not offer Kubernetes {wanted} in this region; it offers {}",
            listed.join(", ")
        ),
        format!(
            "set `cluster.version` to one of them, e.g. \"{}\" (in quotes)",
            versions[0].0
        ),
    ))
}

/// The network spec for the config.
pub fn network_spec(config: &Config) -> NetworkSpec {
    NetworkSpec {
        stack: config.name.clone(),
        cluster_name: config.cluster_name().to_string(),
        vpc_cidr: config.cluster.vpc_cidr.clone(),
        nat: if config.cluster.nat == "per-az" {
            NatMode::PerAz
        } else {
            NatMode::Single
        },
        tags: tags(config),
        adopt_subnet_ids: config.cluster.subnet_ids.clone(),
    }
}

fn iam_tags(config: &Config) -> Vec<aws_sdk_iam::types::Tag> {
    let mut t: Vec<(String, String)> = tags(config).into_iter().collect();
    t.sort();
    t.into_iter()
        .filter_map(|(k, v)| {
            aws_sdk_iam::types::Tag::builder()
                .key(k)
                .value(v)
                .build()
                .ok()
        })
        .collect()
}

fn iam_owned(t: &[aws_sdk_iam::types::Tag], stack: &str) -> bool {
    t.iter().any(|t| t.key() == STACK_TAG && t.value() == stack)
}

async fn role_state(ctx: &StepCtx, spec: &RoleSpec) -> Result<RoleState, Error> {
    let iam = ctx.aws()?.iam();
    let stack = &ctx.config.name;
    if let Some(arn) = &spec.adopt {
        let name = arn.rsplit('/').next().unwrap_or_default();
        return match iam.get_role().role_name(name).send().await {
            Ok(_) => Ok(RoleState::Adopted { arn: arn.clone() }),
            Err(e) if no_such_entity(&e) => Err(Error::config(
                format!(
                    "IAM role {arn} (cluster.{}_role_arn) does not exist",
                    if spec.which == "cluster" {
                        "cluster"
                    } else {
                        "node"
                    }
                ),
                "check the ARN, or remove the key to let meshctl create the role",
            )),
            Err(e) => Err(sdk_error("iam", "GetRole", &e)),
        };
    }
    let role = match iam.get_role().role_name(&spec.name).send().await {
        Ok(out) => out.role,
        Err(e) if no_such_entity(&e) => return Ok(RoleState::Missing),
        Err(e) => return Err(sdk_error("iam", "GetRole", &e)),
    };
    let Some(role) = role else {
        return Ok(RoleState::Missing);
    };
    let arn = role.arn().to_string();
    let tags = iam
        .list_role_tags()
        .role_name(&spec.name)
        .send()
        .await
        .map_err(|e| sdk_error("iam", "ListRoleTags", &e))?;
    if !iam_owned(tags.tags(), stack) {
        return Ok(RoleState::Foreign { arn });
    }
    let attached = iam
        .list_attached_role_policies()
        .role_name(&spec.name)
        .send()
        .await
        .map_err(|e| sdk_error("iam", "ListAttachedRolePolicies", &e))?;
    let have: Vec<&str> = attached
        .attached_policies()
        .iter()
        .filter_map(|p| p.policy_arn())
        .collect();
    let part = partition(&ctx.config.region);
    let missing_policies = spec
        .policies
        .iter()
        .map(|p| format!("arn:{part}:iam::aws:policy/{p}"))
        .filter(|p| !have.contains(&p.as_str()))
        .collect();
    Ok(RoleState::Owned {
        arn,
        missing_policies,
    })
}

async fn attach_policies(ctx: &StepCtx, role: &str, policies: &[String]) -> Result<(), Error> {
    let iam = ctx.aws()?.iam();
    for p in policies {
        retry(
            backoff(ctx),
            |e| iam_transient(e, false),
            say_retry(ctx, &format!("attaching {p} to {role}")),
            || {
                iam.attach_role_policy()
                    .role_name(role)
                    .policy_arn(p)
                    .send()
            },
        )
        .await
        .map_err(|e| sdk_error("iam", "AttachRolePolicy", &e))?;
    }
    Ok(())
}

/// Create or reuse one role; returns its ARN.
async fn ensure_role(
    ctx: &StepCtx,
    spec: &RoleSpec,
    report: &mut StepReport,
) -> Result<String, Error> {
    let config = &ctx.config;
    match role_state(ctx, spec).await? {
        RoleState::Adopted { arn } => {
            report.actions.push(
                Action::new(Op::Keep, ROLE, &arn)
                    .detail("adopted from config, never modified or deleted"),
            );
            Ok(arn)
        }
        RoleState::Foreign { arn } => Err(Error::config(
            format!(
                "IAM role {} exists and is not tagged {STACK_TAG}={}",
                spec.name, config.name
            ),
            format!(
                "adopt it with `cluster.{}_role_arn: {arn}`, or delete or rename it",
                if spec.which == "cluster" {
                    "cluster"
                } else {
                    "node"
                }
            ),
        )),
        RoleState::Owned {
            arn,
            missing_policies,
        } => {
            if missing_policies.is_empty() {
                report.actions.push(Action::new(Op::Keep, ROLE, &spec.name));
            } else {
                attach_policies(ctx, &spec.name, &missing_policies).await?;
                let mut a = Action::new(Op::Update, ROLE, &spec.name);
                for p in &missing_policies {
                    a.push_detail(format!("policy attached: {p}"));
                }
                report.actions.push(a);
            }
            Ok(arn)
        }
        RoleState::Missing => {
            ctx.progress
                .message(&format!("creating IAM role {}", spec.name));
            let iam = ctx.aws()?.iam();
            let out = iam
                .create_role()
                .role_name(&spec.name)
                .assume_role_policy_document(trust_policy(spec.service))
                .description(format!(
                    "meshctl stack {}: EKS {} role",
                    config.name, spec.which
                ))
                .set_tags(Some(iam_tags(config)))
                .send()
                .await
                .map_err(|e| sdk_error("iam", "CreateRole", &e))?;
            let arn = out.role().map(|r| r.arn().to_string()).unwrap_or_default();
            ctx.ledger
                .record(
                    Resource::new(StepId::Cluster, ROLE, &spec.name)
                        .with("arn", &arn)
                        .with("region", &config.region),
                )
                .await?;
            let part = partition(&config.region);
            let policies: Vec<String> = spec
                .policies
                .iter()
                .map(|p| format!("arn:{part}:iam::aws:policy/{p}"))
                .collect();
            attach_policies(ctx, &spec.name, &policies).await?;
            report
                .actions
                .push(Action::new(Op::Create, ROLE, &spec.name).detail(spec.policies.join(", ")));
            Ok(arn)
        }
    }
}

/// Delete an owned role with its policies (`crate::aws::iam::delete_role`); `Ok(false)` when
/// it was already gone.
async fn delete_role(ctx: &StepCtx, name: &str) -> Result<bool, Error> {
    crate::aws::iam::delete_role(ctx, &ctx.aws()?.iam(), name).await
}

/// The OIDC provider for `issuer`: `(arn, owned by the stack)`, `None` when absent.
async fn find_oidc(ctx: &StepCtx, issuer: &str) -> Result<Option<(String, bool)>, Error> {
    let iam = ctx.aws()?.iam();
    let host_path = issuer.trim_start_matches("https://");
    let list = iam
        .list_open_id_connect_providers()
        .send()
        .await
        .map_err(|e| sdk_error("iam", "ListOpenIDConnectProviders", &e))?;
    for p in list.open_id_connect_provider_list() {
        let Some(arn) = p.arn() else { continue };
        if arn.ends_with(&format!(":oidc-provider/{host_path}")) {
            let tags = iam
                .list_open_id_connect_provider_tags()
                .open_id_connect_provider_arn(arn)
                .send()
                .await
                .map_err(|e| sdk_error("iam", "ListOpenIDConnectProviderTags", &e))?;
            return Ok(Some((
                arn.to_string(),
                iam_owned(tags.tags(), &ctx.config.name),
            )));
        }
    }
    Ok(None)
}

/// Every OIDC provider tagged for the stack.
async fn owned_oidc_providers(ctx: &StepCtx) -> Result<Vec<String>, Error> {
    let iam = ctx.aws()?.iam();
    let list = iam
        .list_open_id_connect_providers()
        .send()
        .await
        .map_err(|e| sdk_error("iam", "ListOpenIDConnectProviders", &e))?;
    let mut out = vec![];
    for p in list.open_id_connect_provider_list() {
        let Some(arn) = p.arn() else { continue };
        let tags = match iam
            .list_open_id_connect_provider_tags()
            .open_id_connect_provider_arn(arn)
            .send()
            .await
        {
            Ok(t) => t,
            Err(e) if no_such_entity(&e) => continue,
            Err(e) => return Err(sdk_error("iam", "ListOpenIDConnectProviderTags", &e)),
        };
        if iam_owned(tags.tags(), &ctx.config.name) {
            out.push(arn.to_string());
        }
    }
    Ok(out)
}

async fn delete_oidc(ctx: &StepCtx, arn: &str) -> Result<bool, Error> {
    match ctx
        .aws()?
        .iam()
        .delete_open_id_connect_provider()
        .open_id_connect_provider_arn(arn)
        .send()
        .await
    {
        Ok(_) => Ok(true),
        Err(e) if no_such_entity(&e) => Ok(false),
        Err(e) => Err(sdk_error("iam", "DeleteOpenIDConnectProvider", &e)),
    }
}

/// One ingress rule meshctl wants on the cluster security group.
#[derive(Debug, Clone, PartialEq)]
struct SgRule {
    group: String,
    source: String,
    port: i32,
}

impl SgRule {
    fn label(&self) -> String {
        format!("{} tcp/{} from {}", self.group, self.port, self.source)
    }
}

/// The rules Istio needs: TCP 15017 and 15012 into the node security group (managed node
/// groups without a launch template use the cluster security group) from the control plane
/// (the cluster security group, and any additional control-plane security groups).
fn wanted_rules(c: &ClusterInfo) -> Vec<SgRule> {
    if c.cluster_sg.is_empty() {
        return vec![];
    }
    let mut sources = vec![c.cluster_sg.clone()];
    sources.extend(c.extra_sgs.iter().cloned());
    let mut out = vec![];
    for source in sources {
        for port in ISTIO_PORTS {
            out.push(SgRule {
                group: c.cluster_sg.clone(),
                source: source.clone(),
                port,
            });
        }
    }
    out
}

/// Ingress rules of `group`: `(rule, rule id, tagged for the stack)`.
async fn existing_rules(ctx: &StepCtx, group: &str) -> Result<Vec<(SgRule, String, bool)>, Error> {
    let ec2 = ctx.aws()?.ec2();
    let out = ec2
        .describe_security_group_rules()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("group-id")
                .values(group)
                .build(),
        )
        .send()
        .await
        .map_err(|e| sdk_error("ec2", "DescribeSecurityGroupRules", &e))?;
    Ok(out
        .security_group_rules()
        .iter()
        .filter(|r| r.is_egress() != Some(true))
        .filter(|r| r.ip_protocol() == Some("tcp"))
        .filter(|r| r.from_port() == r.to_port())
        .filter_map(|r| {
            let source = r.referenced_group_info()?.group_id()?.to_string();
            let owned = r
                .tags()
                .iter()
                .any(|t| t.key() == Some(STACK_TAG) && t.value() == Some(ctx.config.name.as_str()));
            Some((
                SgRule {
                    group: group.to_string(),
                    source,
                    port: r.from_port()?,
                },
                r.security_group_rule_id().unwrap_or_default().to_string(),
                owned,
            ))
        })
        .collect())
}

fn ip_permission(rule: &SgRule) -> aws_sdk_ec2::types::IpPermission {
    aws_sdk_ec2::types::IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(rule.port)
        .to_port(rule.port)
        .user_id_group_pairs(
            aws_sdk_ec2::types::UserIdGroupPair::builder()
                .group_id(&rule.source)
                .description(format!(
                    "meshctl: Istio tcp/{} from the control plane",
                    rule.port
                ))
                .build(),
        )
        .build()
}

async fn revoke_rule(ctx: &StepCtx, rule: &SgRule) -> Result<bool, Error> {
    match ctx
        .aws()?
        .ec2()
        .revoke_security_group_ingress()
        .group_id(&rule.group)
        .ip_permissions(ip_permission(rule))
        .send()
        .await
    {
        Ok(_) => Ok(true),
        Err(e)
            if matches!(
                code(&e),
                Some("InvalidPermission.NotFound") | Some("InvalidGroup.NotFound")
            ) =>
        {
            Ok(false)
        }
        Err(e) => Err(sdk_error("ec2", "RevokeSecurityGroupIngress", &e)),
    }
}

/// The principal of the caller (an assumed role's session as its role).
async fn caller_principal(ctx: &StepCtx) -> Result<String, Error> {
    let out = ctx
        .aws()?
        .sts()
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| sdk_error("sts", "GetCallerIdentity", &e))?;
    Ok(principal_of(out.arn().unwrap_or_default()))
}

/// An access entry: `Some(tagged for the stack)` when it exists.
async fn access_entry(
    ctx: &StepCtx,
    cluster: &str,
    principal: &str,
) -> Result<Option<bool>, Error> {
    match ctx
        .aws()?
        .eks()
        .describe_access_entry()
        .cluster_name(cluster)
        .principal_arn(principal)
        .send()
        .await
    {
        Ok(out) => Ok(Some(
            out.access_entry()
                .and_then(|e| e.tags())
                .is_some_and(|t| is_owned(t, &ctx.config.name)),
        )),
        Err(e) if code(&e) == Some("ResourceNotFoundException") => Ok(None),
        Err(e) => Err(sdk_error("eks", "DescribeAccessEntry", &e)),
    }
}

async fn has_admin_policy(ctx: &StepCtx, cluster: &str, principal: &str) -> Result<bool, Error> {
    let out = ctx
        .aws()?
        .eks()
        .list_associated_access_policies()
        .cluster_name(cluster)
        .principal_arn(principal)
        .send()
        .await
        .map_err(|e| sdk_error("eks", "ListAssociatedAccessPolicies", &e))?;
    Ok(out
        .associated_access_policies()
        .iter()
        .any(|p| p.policy_arn() == Some(ADMIN_POLICY)))
}

async fn associate_admin(ctx: &StepCtx, cluster: &str, principal: &str) -> Result<(), Error> {
    ctx.aws()?
        .eks()
        .associate_access_policy()
        .cluster_name(cluster)
        .principal_arn(principal)
        .policy_arn(ADMIN_POLICY)
        .access_scope(
            AccessScope::builder()
                .r#type(AccessScopeType::Cluster)
                .build(),
        )
        .send()
        .await
        .map_err(|e| sdk_error("eks", "AssociateAccessPolicy", &e))?;
    Ok(())
}

async fn delete_access_entry(ctx: &StepCtx, cluster: &str, principal: &str) -> Result<bool, Error> {
    match ctx
        .aws()?
        .eks()
        .delete_access_entry()
        .cluster_name(cluster)
        .principal_arn(principal)
        .send()
        .await
    {
        Ok(_) => Ok(true),
        Err(e) if code(&e) == Some("ResourceNotFoundException") => Ok(false),
        Err(e) => Err(sdk_error("eks", "DeleteAccessEntry", &e)),
    }
}

/// Access entries tagged for the stack on `cluster`.
async fn owned_access_entries(ctx: &StepCtx, cluster: &str) -> Result<Vec<String>, Error> {
    let eks = ctx.aws()?.eks();
    let list = match eks.list_access_entries().cluster_name(cluster).send().await {
        Ok(l) => l,
        Err(e) if code(&e) == Some("ResourceNotFoundException") => return Ok(vec![]),
        // A cluster in CONFIG_MAP mode has no access entries.
        Err(e) if code(&e) == Some("InvalidRequestException") => return Ok(vec![]),
        Err(e) => return Err(sdk_error("eks", "ListAccessEntries", &e)),
    };
    let mut out = vec![];
    for p in list.access_entries() {
        if access_entry(ctx, cluster, p).await? == Some(true) {
            out.push(p.clone());
        }
    }
    Ok(out)
}

async fn delete_cluster_and_wait(ctx: &StepCtx, name: &str) -> Result<bool, Error> {
    let eks = ctx.aws()?.eks();
    match eks.delete_cluster().name(name).send().await {
        Ok(_) => {}
        Err(e) if code(&e) == Some("ResourceNotFoundException") => return Ok(false),
        Err(e) => return Err(sdk_error("eks", "DeleteCluster", &e)),
    }
    ctx.wait_for(&format!("EKS cluster {name} to be deleted"), POLL, || {
        let eks = eks.clone();
        async move { Ok(describe_cluster(&eks, name).await?.is_none().then_some(())) }
    })
    .await?;
    Ok(true)
}

async fn wait_active(ctx: &StepCtx, name: &str) -> Result<ClusterInfo, Error> {
    let eks = ctx.aws()?.eks();
    ctx.wait_for(
        &format!("EKS cluster {name} to become ACTIVE (control plane creation takes 10-15 minutes)"),
        POLL,
        || {
            let eks = eks.clone();
            async move {
                match describe_cluster(&eks, name).await? {
                    Some(c) if c.status == "ACTIVE" => Ok(Some(c)),
                    Some(c) if c.status == "FAILED" => Err(Error::Aws {
                        service: "eks",
                        operation: "DescribeCluster",
                        message: format!("cluster {name} is FAILED"),
                        help: "see the cluster's health in the EKS console; then `meshctl cleanup --only cluster` and run again".into(),
                    }),
                    Some(_) => Ok(None),
                    None => Err(Error::Aws {
                        service: "eks",
                        operation: "DescribeCluster",
                        message: format!("cluster {name} disappeared while waiting for it"),
                        help: "run `meshctl cluster` again".into(),
                    }),
                }
            }
        },
    )
    .await
}

/// The state outputs the contract names (BRIEF: cluster outputs).
fn cluster_outputs(
    config: &Config,
    c: &ClusterInfo,
    net: Option<&network::Network>,
    oidc_arn: &str,
    cluster_role: &str,
    node_role: &str,
) -> BTreeMap<String, String> {
    let mut o = BTreeMap::new();
    o.insert(outputs::CLUSTER_NAME.into(), c.name.clone());
    o.insert("cluster_arn".into(), c.arn.clone());
    o.insert(outputs::ENDPOINT.into(), c.endpoint.clone());
    o.insert(outputs::CERTIFICATE_AUTHORITY.into(), c.ca.clone());
    o.insert("kubernetes_version".into(), c.version.clone());
    o.insert("oidc_issuer".into(), c.issuer.clone());
    o.insert("oidc_provider_arn".into(), oidc_arn.to_string());
    o.insert("vpc_id".into(), c.vpc_id.clone());
    let (private, public) = match net {
        Some(n) => (
            n.private_subnet_ids.join(","),
            n.public_subnet_ids.join(","),
        ),
        None => (c.subnet_ids.join(","), String::new()),
    };
    o.insert("private_subnet_ids".into(), private);
    o.insert("public_subnet_ids".into(), public);
    o.insert("cluster_security_group_id".into(), c.cluster_sg.clone());
    o.insert("node_role_arn".into(), node_role.to_string());
    o.insert("cluster_role_arn".into(), cluster_role.to_string());
    o.insert(MANAGED_TAGS.into(), managed_tags_output(&tags(config)));
    o
}

impl ClusterStep {
    /// Admins from config plus, in adopt mode, the caller (when it has no access entry).
    async fn wanted_entries(ctx: &StepCtx, c: &ClusterInfo) -> Result<Vec<String>, Error> {
        let mut wanted: Vec<String> = ctx.config.cluster.admins.clone();
        if !ctx.config.cluster.create && c.auth_mode != "CONFIG_MAP" {
            let me = caller_principal(ctx).await?;
            if !wanted.contains(&me) {
                wanted.push(me);
            }
        }
        Ok(wanted)
    }

    async fn plan_online(ctx: &StepCtx, plan: &mut StepPlan) -> Result<(), Error> {
        let config = &ctx.config;
        let name = config.cluster_name();
        let eks = ctx.aws()?.eks();
        let existing = describe_cluster(&eks, name).await?;
        if config.cluster.create {
            if existing.is_none() {
                check_version(&eks, &config.cluster.version).await?;
            }
            for a in network::plan(ctx, &network_spec(config)).await? {
                plan.push(a);
            }
            for spec in role_specs(config) {
                let a = match role_state(ctx, &spec).await? {
                    RoleState::Missing => Action::new(Op::Create, ROLE, &spec.name)
                        .detail(spec.policies.join(", ")),
                    RoleState::Adopted { arn } => {
                        Action::new(Op::Keep, ROLE, arn).detail("adopted from config, never modified or deleted")
                    }
                    RoleState::Owned {
                        missing_policies, ..
                    } if missing_policies.is_empty() => Action::new(Op::Keep, ROLE, &spec.name),
                    RoleState::Owned {
                        missing_policies, ..
                    } => {
                        let mut a = Action::new(Op::Update, ROLE, &spec.name);
                        for p in missing_policies {
                            a.push_detail(format!("policy to attach: {p}"));
                        }
                        a
                    }
                    RoleState::Foreign { arn } => Action::new(Op::Conflict, ROLE, &spec.name).detail(format!(
                        "{arn} exists and is not tagged for the stack: adopt it with cluster.{}_role_arn, or delete or rename it",
                        if spec.which == "cluster" { "cluster" } else { "node" }
                    )),
                };
                plan.push(a);
            }
        }
        let Some(c) = existing else {
            if !config.cluster.create {
                return Err(Self::missing_adopted(name));
            }
            plan.push(
                Action::new(Op::Create, CLUSTER, name)
                    .detail(format!("Kubernetes {}", config.cluster.version))
                    .detail("authentication mode API; the caller is cluster admin"),
            );
            for admin in &config.cluster.admins {
                plan.push(
                    Action::new(Op::Create, ACCESS_ENTRY, admin)
                        .detail("AmazonEKSClusterAdminPolicy"),
                );
            }
            plan.push(
                Action::new(
                    Op::Create,
                    SG_RULE,
                    "cluster security group tcp/15017,15012",
                )
                .detail("from the control plane: Istio's injection webhook and istiod"),
            );
            plan.push(
                Action::new(Op::Create, OIDC, format!("for cluster {name}"))
                    .detail("client id sts.amazonaws.com"),
            );
            return Ok(());
        };
        let owned = c.owned_by(&config.name);
        if config.cluster.create && !owned {
            plan.push(Action::new(Op::Conflict, CLUSTER, name).detail(format!(
                "exists and is not tagged {STACK_TAG}={}: adopt it with `cluster.create: false`, or choose another cluster.name",
                config.name
            )));
            return Ok(());
        }
        if !config.cluster.create && c.status != "ACTIVE" {
            return Err(Self::not_active(name, &c.status));
        }
        let mut keep = Action::new(Op::Keep, CLUSTER, name)
            .detail(format!("{}, Kubernetes {}", c.status, c.version));
        if !owned {
            keep.push_detail("adopted (cluster.create: false), never deleted");
        }
        if config.cluster.create && c.version != config.cluster.version {
            keep.push_detail(format!(
                "runs Kubernetes {}, config says {}: meshctl does not upgrade clusters",
                c.version, config.cluster.version
            ));
        }
        plan.push(keep);
        for p in Self::wanted_entries(ctx, &c).await? {
            match access_entry(ctx, name, &p).await? {
                None if c.auth_mode == "CONFIG_MAP" => plan.push(
                    Action::new(Op::Conflict, ACCESS_ENTRY, &p).detail(
                        "the cluster uses the aws-auth ConfigMap only: switch its authentication mode to API_AND_CONFIG_MAP, or remove the admin",
                    ),
                ),
                None => plan.push(Action::new(Op::Create, ACCESS_ENTRY, &p).detail("AmazonEKSClusterAdminPolicy")),
                Some(_) if !has_admin_policy(ctx, name, &p).await? => plan.push(
                    Action::new(Op::Update, ACCESS_ENTRY, &p).detail("associate AmazonEKSClusterAdminPolicy"),
                ),
                Some(_) => plan.push(Action::new(Op::Keep, ACCESS_ENTRY, &p)),
            }
        }
        let have = if c.cluster_sg.is_empty() {
            vec![]
        } else {
            existing_rules(ctx, &c.cluster_sg).await?
        };
        for r in wanted_rules(&c) {
            let op = if have.iter().any(|(h, _, _)| *h == r) {
                Op::Keep
            } else {
                Op::Create
            };
            plan.push(Action::new(op, SG_RULE, r.label()));
        }
        match find_oidc(ctx, &c.issuer).await? {
            Some((arn, true)) => plan.push(Action::new(Op::Keep, OIDC, arn)),
            Some((arn, false)) => plan.push(
                Action::new(Op::Keep, OIDC, arn)
                    .detail("exists, not made by meshctl: adopted, never deleted"),
            ),
            None => plan.push(
                Action::new(Op::Create, OIDC, &c.issuer).detail("client id sts.amazonaws.com"),
            ),
        }
        Ok(())
    }

    /// Without credentials: everything the config asks for, as if nothing existed.
    async fn plan_offline(ctx: &StepCtx, plan: &mut StepPlan) -> Result<(), Error> {
        let config = &ctx.config;
        let name = config.cluster_name();
        if config.cluster.create {
            for a in network::plan(ctx, &network_spec(config)).await? {
                plan.push(a);
            }
            for spec in role_specs(config) {
                plan.push(match &spec.adopt {
                    Some(arn) => Action::new(Op::Keep, ROLE, arn)
                        .detail("adopted from config, never modified or deleted"),
                    None => {
                        Action::new(Op::Create, ROLE, &spec.name).detail(spec.policies.join(", "))
                    }
                });
            }
            plan.push(
                Action::new(Op::Create, CLUSTER, name)
                    .detail(format!("Kubernetes {}", config.cluster.version))
                    .detail("authentication mode API; the caller is cluster admin"),
            );
        } else {
            plan.push(
                Action::new(Op::Keep, CLUSTER, name)
                    .detail("existing cluster, adopted and never deleted"),
            );
        }
        for admin in &config.cluster.admins {
            plan.push(
                Action::new(Op::Create, ACCESS_ENTRY, admin).detail("AmazonEKSClusterAdminPolicy"),
            );
        }
        plan.push(
            Action::new(
                Op::Create,
                SG_RULE,
                "cluster security group tcp/15017,15012",
            )
            .detail("from the control plane: Istio's injection webhook and istiod"),
        );
        plan.push(
            Action::new(Op::Create, OIDC, format!("for cluster {name}"))
                .detail("client id sts.amazonaws.com"),
        );
        Ok(())
    }

    fn missing_adopted(name: &str) -> Error {
        Error::config(
            format!(
                "cluster.create is false, and there is no EKS cluster `{name}` in this account and region"
            ),
            "set `cluster.name` to an existing cluster (check the region), or set `cluster.create: true` to create it",
        )
    }

    fn not_active(name: &str, status: &str) -> Error {
        Error::config(
            format!("the adopted EKS cluster `{name}` is {status}, not ACTIVE"),
            "wait until it is ACTIVE (see the EKS console), then run again",
        )
    }

    /// Create the control plane; returns it once ACTIVE (or as created with `--no-wait`).
    async fn create_cluster(
        ctx: &StepCtx,
        net: &network::Network,
        role_arn: &str,
        report: &mut StepReport,
    ) -> Result<Option<ClusterInfo>, Error> {
        let config = &ctx.config;
        let cl = &config.cluster;
        let name = config.cluster_name();
        let run_id = ctx.ledger.run_id().await;
        let mut subnets = net.private_subnet_ids.clone();
        for s in &net.public_subnet_ids {
            if !subnets.contains(s) {
                subnets.push(s.clone());
            }
        }
        let logging = Logging::builder()
            .cluster_logging(
                LogSetup::builder()
                    .set_types(Some(
                        cl.logging
                            .iter()
                            .map(|t| LogType::from(t.as_str()))
                            .collect(),
                    ))
                    .enabled(!cl.logging.is_empty())
                    .build(),
            )
            .build();
        ctx.progress.message(&format!(
            "creating EKS cluster {name} (Kubernetes {})",
            cl.version
        ));
        let eks = ctx.aws()?.eks();
        let request = eks
            .create_cluster()
            .name(name)
            .version(&cl.version)
            .role_arn(role_arn)
            .resources_vpc_config(
                VpcConfigRequest::builder()
                    .set_subnet_ids(Some(subnets))
                    .endpoint_public_access(cl.endpoint_public_access)
                    .endpoint_private_access(cl.endpoint_private_access)
                    .set_public_access_cidrs(
                        cl.endpoint_public_access
                            .then(|| cl.public_access_cidrs.clone()),
                    )
                    .build(),
            )
            .logging(logging)
            .access_config(
                CreateAccessConfigRequest::builder()
                    .authentication_mode(AuthenticationMode::Api)
                    .bootstrap_cluster_creator_admin_permissions(true)
                    .build(),
            )
            .set_tags(Some(tags(config)))
            .client_request_token(client_token(&config.name, &run_id, "eks-cluster"));
        // A role created seconds ago may not be assumable by EKS yet (IAM is eventually
        // consistent): EKS answers InvalidParameterException naming the role. Retry with a
        // bounded backoff; the same clientRequestToken keeps a retry from making a second
        // cluster.
        let mut delay = Duration::from_secs(2);
        let mut attempt = 0;
        let out = loop {
            attempt += 1;
            match request.clone().send().await {
                Ok(out) => break out,
                Err(e)
                    if attempt < 8
                        && code(&e) == Some("InvalidParameterException")
                        && e.as_service_error()
                            .and_then(|s| s.message())
                            .is_some_and(|m| m.contains("role") || m.contains("Role")) =>
                {
                    ctx.progress.waiting(&format!(
                        "IAM role {role_arn} to become usable by EKS (new roles take seconds to propagate), retry {attempt}"
                    ));
                    tokio::select! {
                        _ = ctx.cancel.cancelled() => return Err(Error::Interrupted),
                        _ = tokio::time::sleep(ctx.poll(delay)) => {}
                    }
                    delay = (delay * 2).min(Duration::from_secs(20));
                }
                Err(e) => return Err(sdk_error("eks", "CreateCluster", &e)),
            }
        };
        let arn = out
            .cluster()
            .and_then(|c| c.arn())
            .unwrap_or_default()
            .to_string();
        ctx.ledger
            .record(
                Resource::new(StepId::Cluster, CLUSTER, name)
                    .with("arn", &arn)
                    .with("region", &config.region),
            )
            .await?;
        report
            .actions
            .push(Action::new(Op::Create, CLUSTER, name).detail(format!(
                "Kubernetes {}, authentication mode API",
                cl.version
            )));
        if ctx.options.no_wait {
            let status = out
                .cluster()
                .and_then(|c| c.status())
                .map(ClusterStatus::as_str)
                .unwrap_or("CREATING");
            if status != "ACTIVE" {
                report.incomplete = Some(format!(
                    "cluster {name} is {status}; --no-wait skipped access entries, SG rules and the OIDC provider: run `meshctl cluster` again once it is ACTIVE"
                ));
                return Ok(None);
            }
        }
        Ok(Some(wait_active(ctx, name).await?))
    }

    /// Everything after the control plane exists: access entries, SG rules, OIDC provider.
    async fn converge(
        ctx: &StepCtx,
        c: &ClusterInfo,
        report: &mut StepReport,
    ) -> Result<String, Error> {
        let config = &ctx.config;
        let name = c.name.as_str();
        let eks = ctx.aws()?.eks();
        let run_id = ctx.ledger.run_id().await;
        for p in Self::wanted_entries(ctx, c).await? {
            match access_entry(ctx, name, &p).await? {
                None if c.auth_mode == "CONFIG_MAP" => {
                    report.notes.push(format!(
                        "cluster {name} uses the aws-auth ConfigMap only: no access entry for {p}; map it in aws-auth or switch the cluster to API_AND_CONFIG_MAP"
                    ));
                }
                None => {
                    ctx.progress
                        .message(&format!("adding access entry for {p}"));
                    eks.create_access_entry()
                        .cluster_name(name)
                        .principal_arn(&p)
                        .set_tags(Some(tags(config)))
                        .client_request_token(client_token(
                            &config.name,
                            &run_id,
                            &format!("access-entry/{p}"),
                        ))
                        .send()
                        .await
                        .map_err(|e| sdk_error("eks", "CreateAccessEntry", &e))?;
                    ctx.ledger
                        .record(
                            Resource::new(StepId::Cluster, ACCESS_ENTRY, &p)
                                .with("cluster", name)
                                .with("region", &config.region),
                        )
                        .await?;
                    associate_admin(ctx, name, &p).await?;
                    report.actions.push(
                        Action::new(Op::Create, ACCESS_ENTRY, &p)
                            .detail("AmazonEKSClusterAdminPolicy"),
                    );
                }
                Some(_) => {
                    if has_admin_policy(ctx, name, &p).await? {
                        report.actions.push(Action::new(Op::Keep, ACCESS_ENTRY, &p));
                    } else {
                        associate_admin(ctx, name, &p).await?;
                        report.actions.push(
                            Action::new(Op::Update, ACCESS_ENTRY, &p)
                                .detail("associated AmazonEKSClusterAdminPolicy"),
                        );
                    }
                }
            }
        }

        if c.cluster_sg.is_empty() {
            report.notes.push(format!(
                "cluster {name} reports no cluster security group: add TCP 15017 and 15012 from the control plane to the node security group by hand"
            ));
        } else {
            let have = existing_rules(ctx, &c.cluster_sg).await?;
            let ec2 = ctx.aws()?.ec2();
            for r in wanted_rules(c) {
                if have.iter().any(|(h, _, _)| *h == r) {
                    report
                        .actions
                        .push(Action::new(Op::Keep, SG_RULE, r.label()));
                    continue;
                }
                let rule_tags: Vec<aws_sdk_ec2::types::Tag> = {
                    let mut t: Vec<(String, String)> = tags(config).into_iter().collect();
                    t.sort();
                    t.into_iter()
                        .map(|(k, v)| aws_sdk_ec2::types::Tag::builder().key(k).value(v).build())
                        .collect()
                };
                let out = ec2
                    .authorize_security_group_ingress()
                    .group_id(&r.group)
                    .ip_permissions(ip_permission(&r))
                    .tag_specifications(
                        aws_sdk_ec2::types::TagSpecification::builder()
                            .resource_type(aws_sdk_ec2::types::ResourceType::SecurityGroupRule)
                            .set_tags(Some(rule_tags))
                            .build(),
                    )
                    .send()
                    .await
                    .map_err(|e| sdk_error("ec2", "AuthorizeSecurityGroupIngress", &e))?;
                let id = out
                    .security_group_rules()
                    .first()
                    .and_then(|s| s.security_group_rule_id())
                    .unwrap_or_default()
                    .to_string();
                ctx.ledger
                    .record(
                        Resource::new(
                            StepId::Cluster,
                            SG_RULE,
                            if id.is_empty() { r.label() } else { id },
                        )
                        .with("group_id", &r.group)
                        .with("source_group_id", &r.source)
                        .with("port", r.port.to_string())
                        .with("region", &config.region),
                    )
                    .await?;
                report
                    .actions
                    .push(Action::new(Op::Create, SG_RULE, r.label()));
            }
        }

        let oidc_arn = match find_oidc(ctx, &c.issuer).await? {
            Some((arn, owned)) => {
                let mut a = Action::new(Op::Keep, OIDC, &arn);
                if !owned {
                    a.push_detail("exists, not made by meshctl: adopted, never deleted");
                }
                report.actions.push(a);
                arn
            }
            None => {
                ctx.progress.message("creating the IAM OIDC provider");
                let out = ctx
                    .aws()?
                    .iam()
                    .create_open_id_connect_provider()
                    .url(&c.issuer)
                    .client_id_list(OIDC_CLIENT_ID)
                    .set_tags(Some(iam_tags(config)))
                    .send()
                    .await
                    .map_err(|e| sdk_error("iam", "CreateOpenIDConnectProvider", &e))?;
                let arn = out
                    .open_id_connect_provider_arn()
                    .unwrap_or_default()
                    .to_string();
                ctx.ledger
                    .record(
                        Resource::new(StepId::Cluster, OIDC, &arn).with("region", &config.region),
                    )
                    .await?;
                report.actions.push(
                    Action::new(Op::Create, OIDC, &arn).detail("client id sts.amazonaws.com"),
                );
                arn
            }
        };
        Ok(oidc_arn)
    }
}

#[async_trait]
impl Step for ClusterStep {
    fn id(&self) -> StepId {
        StepId::Cluster
    }

    async fn plan(&self, ctx: &StepCtx) -> Result<StepPlan, Error> {
        let mut plan = StepPlan::new(StepId::Cluster);
        if ctx.aws.is_none() {
            Self::plan_offline(ctx, &mut plan).await?;
            return Ok(plan);
        }
        Self::plan_online(ctx, &mut plan).await?;
        Ok(plan)
    }

    async fn apply(&self, ctx: &StepCtx) -> Result<StepReport, Error> {
        let config = &ctx.config;
        let name = config.cluster_name();
        let eks = ctx.aws()?.eks();
        let mut report = StepReport {
            step: Some(StepId::Cluster),
            ..Default::default()
        };
        ctx.progress
            .message(&format!("looking for EKS cluster {name}"));
        let existing = describe_cluster(&eks, name).await?;

        let (c, net, cluster_role, node_role) = if config.cluster.create {
            if let Some(c) = &existing
                && !c.owned_by(&config.name)
            {
                return Err(Error::config(
                    format!(
                        "EKS cluster `{name}` exists and is not tagged {STACK_TAG}={}",
                        config.name
                    ),
                    "adopt it with `cluster.create: false`, or choose another `cluster.name`",
                ));
            }
            if existing.is_none() {
                // Before anything is created: a version EKS does not offer stops here (exit 2).
                check_version(&eks, &config.cluster.version).await?;
            }
            ctx.progress.message("preparing the network");
            // What `ensure` is about to do (create, update, keep), observed first, for the report.
            let spec = network_spec(config);
            let network_actions = network::plan(ctx, &spec).await?;
            let net = network::ensure(ctx, &spec).await?;
            report.actions.extend(network_actions);
            let [cluster_spec, node_spec] = role_specs(config);
            let cluster_role = ensure_role(ctx, &cluster_spec, &mut report).await?;
            let node_role = ensure_role(ctx, &node_spec, &mut report).await?;
            let c = match existing {
                Some(c) if c.status == "ACTIVE" => {
                    report.actions.push(
                        Action::new(Op::Keep, CLUSTER, name)
                            .detail(format!("ACTIVE, Kubernetes {}", c.version)),
                    );
                    c
                }
                Some(_) => wait_active(ctx, name).await?,
                None => match Self::create_cluster(ctx, &net, &cluster_role, &mut report).await? {
                    Some(c) => c,
                    None => return Ok(report),
                },
            };
            (c, Some(net), cluster_role, node_role)
        } else {
            let Some(c) = existing else {
                return Err(Self::missing_adopted(name));
            };
            if c.status != "ACTIVE" {
                return Err(Self::not_active(name, &c.status));
            }
            report.actions.push(
                Action::new(Op::Keep, CLUSTER, name)
                    .detail(format!("adopted, Kubernetes {}; never deleted", c.version)),
            );
            let cluster_role = c.role_arn.clone();
            let node_role = config.cluster.node_role_arn.clone().unwrap_or_default();
            (c, None, cluster_role, node_role)
        };

        let oidc_arn = Self::converge(ctx, &c, &mut report).await?;
        report.outputs = cluster_outputs(
            config,
            &c,
            net.as_ref(),
            &oidc_arn,
            &cluster_role,
            &node_role,
        );
        Ok(report)
    }

    async fn destroy_plan(&self, ctx: &StepCtx) -> Result<StepPlan, Error> {
        let config = &ctx.config;
        let mut plan = StepPlan::new(StepId::Cluster);
        if ctx.aws.is_none() {
            plan.note("offline: cannot look for the cluster without credentials");
            return Ok(plan);
        }
        let name = config.cluster_name();
        let eks = ctx.aws()?.eks();
        if let Some(c) = describe_cluster(&eks, name).await? {
            let owned = c.owned_by(&config.name);
            for p in owned_access_entries(ctx, name).await? {
                plan.push(Action::new(Op::Delete, ACCESS_ENTRY, p));
            }
            if owned {
                plan.push(
                    Action::new(Op::Delete, CLUSTER, name)
                        .detail(format!("tagged {STACK_TAG}={}", config.name)),
                );
            } else {
                plan.push(
                    Action::new(Op::Keep, CLUSTER, name)
                        .detail("not made by meshctl: never deleted"),
                );
                for (r, _, mine) in existing_rules(ctx, &c.cluster_sg).await.unwrap_or_default() {
                    if mine {
                        plan.push(Action::new(Op::Delete, SG_RULE, r.label()));
                    }
                }
            }
        }
        for arn in owned_oidc_providers(ctx).await? {
            plan.push(Action::new(Op::Delete, OIDC, arn));
        }
        for spec in role_specs(config) {
            if spec.adopt.is_none()
                && let RoleState::Owned { .. } = role_state(ctx, &spec).await?
            {
                plan.push(Action::new(Op::Delete, ROLE, &spec.name));
            }
        }
        for a in network::destroy_plan(ctx, &config.name).await? {
            plan.push(a);
        }
        Ok(plan)
    }

    async fn destroy(&self, ctx: &StepCtx) -> Result<StepReport, Error> {
        let config = &ctx.config;
        let name = config.cluster_name();
        let eks = ctx.aws()?.eks();
        let mut report = StepReport {
            step: Some(StepId::Cluster),
            ..Default::default()
        };
        if let Some(c) = describe_cluster(&eks, name).await? {
            for p in owned_access_entries(ctx, name).await? {
                if delete_access_entry(ctx, name, &p).await? {
                    report
                        .actions
                        .push(Action::new(Op::Delete, ACCESS_ENTRY, p));
                }
            }
            if c.owned_by(&config.name) {
                ctx.progress
                    .message(&format!("deleting EKS cluster {name}"));
                if delete_cluster_and_wait(ctx, name).await? {
                    report.actions.push(Action::new(Op::Delete, CLUSTER, name));
                }
            } else if !c.cluster_sg.is_empty() {
                for (r, _, mine) in existing_rules(ctx, &c.cluster_sg).await? {
                    if mine && revoke_rule(ctx, &r).await? {
                        report
                            .actions
                            .push(Action::new(Op::Delete, SG_RULE, r.label()));
                    }
                }
            }
        }
        for arn in owned_oidc_providers(ctx).await? {
            if delete_oidc(ctx, &arn).await? {
                report.actions.push(Action::new(Op::Delete, OIDC, arn));
            }
        }
        for spec in role_specs(config) {
            if spec.adopt.is_none()
                && let RoleState::Owned { .. } = role_state(ctx, &spec).await?
                && delete_role(ctx, &spec.name).await?
            {
                report
                    .actions
                    .push(Action::new(Op::Delete, ROLE, &spec.name));
            }
        }
        report
            .actions
            .extend(network::destroy(ctx, &config.name).await?);
        Ok(report)
    }

    async fn status(&self, ctx: &StepCtx) -> Result<StepStatus, Error> {
        let config = &ctx.config;
        let name = config.cluster_name();
        let eks = ctx.aws()?.eks();
        let mut details = BTreeMap::new();
        let state = match describe_cluster(&eks, name).await? {
            None => "absent",
            Some(c) => {
                details.insert("cluster".into(), name.to_string());
                details.insert("state".into(), c.status.clone());
                details.insert("version".into(), c.version.clone());
                details.insert("endpoint".into(), c.endpoint.clone());
                details.insert("authentication_mode".into(), c.auth_mode.clone());
                if !c.owned_by(&config.name) {
                    details.insert("ownership".into(), "adopted".into());
                }
                let ngs = nodes::nodegroup_states(ctx, name).await?;
                if !ngs.is_empty() {
                    details.insert(
                        "nodegroups".into(),
                        ngs.iter()
                            .map(|(n, s)| format!("{n} ({s})"))
                            .collect::<Vec<_>>()
                            .join(", "),
                    );
                }
                if let Some(net) = network::describe(ctx, &config.name).await? {
                    for (k, v) in net {
                        details.insert(format!("network.{k}"), v);
                    }
                }
                if c.status == "ACTIVE" {
                    "present"
                } else {
                    "partial"
                }
            }
        };
        Ok(StepStatus {
            step: StepId::Cluster,
            state: state.into(),
            details,
        })
    }

    async fn undo(&self, ctx: &StepCtx, resource: &Resource) -> Result<(), Error> {
        match resource.kind.as_str() {
            ROLE => {
                delete_role(ctx, &resource.id).await?;
            }
            CLUSTER => {
                delete_cluster_and_wait(ctx, &resource.id).await?;
            }
            ACCESS_ENTRY => {
                let cluster = resource.get("cluster").unwrap_or_default();
                delete_access_entry(ctx, cluster, &resource.id).await?;
            }
            SG_RULE => {
                let rule = SgRule {
                    group: resource.get("group_id").unwrap_or_default().to_string(),
                    source: resource
                        .get("source_group_id")
                        .unwrap_or_default()
                        .to_string(),
                    port: resource
                        .get("port")
                        .and_then(|p| p.parse().ok())
                        .unwrap_or(0),
                };
                revoke_rule(ctx, &rule).await?;
            }
            OIDC => {
                delete_oidc(ctx, &resource.id).await?;
            }
            other => {
                if !network::undo(ctx, resource).await? {
                    return Err(Resource::unknown_kind(StepId::Cluster, other));
                }
            }
        }
        Ok(())
    }

    fn undo_hint(&self, resource: &Resource) -> String {
        let region = resource.get("region").unwrap_or("<region>");
        match resource.kind.as_str() {
            ROLE => format!(
                "aws iam list-attached-role-policies --role-name {0} (detach each with aws iam detach-role-policy), then aws iam delete-role --role-name {0}",
                resource.id
            ),
            CLUSTER => format!(
                "aws eks delete-cluster --region {region} --name {}",
                resource.id
            ),
            ACCESS_ENTRY => format!(
                "aws eks delete-access-entry --region {region} --cluster-name {} --principal-arn {}",
                resource.get("cluster").unwrap_or("<cluster>"),
                resource.id
            ),
            SG_RULE => format!(
                "aws ec2 revoke-security-group-ingress --region {region} --group-id {} --security-group-rule-ids {}",
                resource.get("group_id").unwrap_or("<group-id>"),
                resource.id
            ),
            OIDC => format!(
                "aws iam delete-open-id-connect-provider --open-id-connect-provider-arn {}",
                resource.id
            ),
            _ => network::undo_hint(resource)
                .unwrap_or_else(|| "meshctl cleanup --only cluster".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assumed_role_sessions_become_their_role() {
        assert_eq!(
            principal_of("arn:aws:sts::123456789012:assumed-role/Admin/me@example.com"),
            "arn:aws:iam::123456789012:role/Admin"
        );
        assert_eq!(
            principal_of("arn:aws:iam::123456789012:user/ci"),
            "arn:aws:iam::123456789012:user/ci"
        );
    }

    #[test]
    fn trust_policies_name_the_service() {
        let doc: serde_json::Value =
            serde_json::from_str(&trust_policy("eks.amazonaws.com")).unwrap();
        assert_eq!(
            doc["Statement"][0]["Principal"]["Service"],
            "eks.amazonaws.com"
        );
        assert_eq!(doc["Statement"][0]["Action"], "sts:AssumeRole");
    }

    #[test]
    fn istio_rules_come_from_every_control_plane_group() {
        let c = ClusterInfo {
            name: "c".into(),
            arn: String::new(),
            status: "ACTIVE".into(),
            version: "1.36".into(),
            endpoint: String::new(),
            ca: String::new(),
            issuer: String::new(),
            vpc_id: String::new(),
            subnet_ids: vec![],
            cluster_sg: "sg-1".into(),
            extra_sgs: vec!["sg-2".into()],
            auth_mode: "API".into(),
            role_arn: String::new(),
            tags: HashMap::new(),
        };
        let rules = wanted_rules(&c);
        assert_eq!(rules.len(), 4);
        assert!(rules.iter().all(|r| r.group == "sg-1"));
        assert!(rules.iter().any(|r| r.source == "sg-2" && r.port == 15012));
    }
}
