//! `nodes`: the cluster's managed node groups, a step of their own after `cluster` so that
//! `irsa` and `istio` (which need the API server, not nodes) start at the control-plane
//! milestone. Node groups are created concurrently once the NAT gateways work, then awaited
//! ACTIVE together. Destroy first removes what makes AWS load balancers (Services of type
//! LoadBalancer and Ingresses in namespaces meshctl labelled), waits until those load
//! balancers are gone, then deletes the node groups concurrently.

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use aws_sdk_eks::types::{AmiTypes, CapacityTypes, NodegroupScalingConfig, Taint, TaintEffect};
use futures::future::{join_all, try_join_all};

use super::{POLL, code, describe_cluster};
use crate::aws::{client_token, sdk_error, tags};
use crate::config::{Config, NodegroupConfig, STACK_TAG};
use crate::engine::owned::is_owned;
use crate::engine::{
    Action, Op, Resource, Step, StepCtx, StepId, StepPlan, StepReport, StepStatus,
};
use crate::error::Error;
use crate::steps::network;

pub const NODEGROUP: &str = "eks-nodegroup";

pub struct NodesStep;

/// A node group as DescribeNodegroup reports it.
#[derive(Debug, Clone)]
struct Nodegroup {
    name: String,
    status: String,
    min: i32,
    max: i32,
    desired: i32,
    tags: HashMap<String, String>,
}

async fn describe(
    eks: &aws_sdk_eks::Client,
    cluster: &str,
    name: &str,
) -> Result<Option<Nodegroup>, Error> {
    match eks
        .describe_nodegroup()
        .cluster_name(cluster)
        .nodegroup_name(name)
        .send()
        .await
    {
        Ok(out) => Ok(out.nodegroup.map(|n| {
            let s = n.scaling_config();
            Nodegroup {
                name: n.nodegroup_name().unwrap_or(name).to_string(),
                status: n
                    .status()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
                min: s.and_then(|s| s.min_size()).unwrap_or(0),
                max: s.and_then(|s| s.max_size()).unwrap_or(0),
                desired: s.and_then(|s| s.desired_size()).unwrap_or(0),
                tags: n.tags().cloned().unwrap_or_default(),
            }
        })),
        Err(e) if code(&e) == Some("ResourceNotFoundException") => Ok(None),
        Err(e) => Err(sdk_error("eks", "DescribeNodegroup", &e)),
    }
}

async fn list(eks: &aws_sdk_eks::Client, cluster: &str) -> Result<Vec<String>, Error> {
    let mut out = vec![];
    let mut pages = eks
        .list_nodegroups()
        .cluster_name(cluster)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        match page {
            Ok(p) => out.extend(p.nodegroups().iter().cloned()),
            Err(e) if code(&e) == Some("ResourceNotFoundException") => return Ok(vec![]),
            Err(e) => return Err(sdk_error("eks", "ListNodegroups", &e)),
        }
    }
    Ok(out)
}

/// Node groups of `cluster` and their states (for `status`).
pub async fn nodegroup_states(
    ctx: &StepCtx,
    cluster: &str,
) -> Result<Vec<(String, String)>, Error> {
    let eks = ctx.aws()?.eks();
    let mut out = vec![];
    if describe_cluster(&eks, cluster).await?.is_none() {
        return Ok(out);
    }
    for n in list(&eks, cluster).await? {
        if let Some(ng) = describe(&eks, cluster, &n).await? {
            out.push((ng.name, ng.status));
        }
    }
    Ok(out)
}

/// Node groups of `cluster` tagged for the stack.
async fn owned(ctx: &StepCtx, cluster: &str) -> Result<Vec<Nodegroup>, Error> {
    let eks = ctx.aws()?.eks();
    let mut out = vec![];
    if describe_cluster(&eks, cluster).await?.is_none() {
        return Ok(out);
    }
    for n in list(&eks, cluster).await? {
        if let Some(ng) = describe(&eks, cluster, &n).await?
            && is_owned(&ng.tags, &ctx.config.name)
        {
            out.push(ng);
        }
    }
    Ok(out)
}

fn sizes(ng: &NodegroupConfig) -> String {
    format!(
        "{} x {}..{} (desired {}), {}, {}",
        ng.instance_types.join(","),
        ng.min_size,
        ng.max_size,
        ng.desired_size,
        ng.capacity_type,
        ng.ami_type
    )
}

fn scaling(ng: &NodegroupConfig) -> NodegroupScalingConfig {
    NodegroupScalingConfig::builder()
        .min_size(ng.min_size as i32)
        .max_size(ng.max_size as i32)
        .desired_size(ng.desired_size as i32)
        .build()
}

/// What the config asks of an existing node group.
enum Want {
    Keep,
    Resize(String),
    /// Someone else's node group with the configured name.
    Foreign,
}

fn compare(ctx: &StepCtx, have: &Nodegroup, want: &NodegroupConfig) -> Want {
    if !is_owned(&have.tags, &ctx.config.name) {
        return Want::Foreign;
    }
    let (min, max, desired) = (
        want.min_size as i32,
        want.max_size as i32,
        want.desired_size as i32,
    );
    if (have.min, have.max, have.desired) != (min, max, desired) {
        Want::Resize(format!(
            "size {}..{} (desired {}) -> {min}..{max} (desired {desired})",
            have.min, have.max, have.desired
        ))
    } else {
        Want::Keep
    }
}

/// The cluster's name and the node role, as the `cluster` step recorded them.
async fn cluster_facts(ctx: &StepCtx) -> (String, Option<String>) {
    let name = ctx
        .state
        .output(StepId::Cluster, crate::kube::connect::outputs::CLUSTER_NAME)
        .await
        .unwrap_or_else(|| ctx.config.cluster_name().to_string());
    let role = ctx
        .state
        .output(StepId::Cluster, "node_role_arn")
        .await
        .filter(|r| !r.is_empty());
    (name, role)
}

async fn create_one(
    ctx: &StepCtx,
    cluster: &str,
    ng: &NodegroupConfig,
    role: &str,
    subnets: &[String],
) -> Result<Action, Error> {
    let config = &ctx.config;
    let run_id = ctx.ledger.run_id().await;
    let taints: Vec<Taint> = ng
        .taints
        .iter()
        .map(|t| {
            Taint::builder()
                .key(&t.key)
                .set_value(t.value.clone())
                .effect(TaintEffect::from(t.effect.as_str()))
                .build()
        })
        .collect();
    ctx.progress
        .message(&format!("creating node group {}", ng.name));
    ctx.aws()?
        .eks()
        .create_nodegroup()
        .cluster_name(cluster)
        .nodegroup_name(&ng.name)
        .node_role(role)
        .set_subnets(Some(subnets.to_vec()))
        .scaling_config(scaling(ng))
        .set_instance_types(Some(ng.instance_types.clone()))
        .disk_size(ng.disk_size_gib as i32)
        .ami_type(AmiTypes::from(ng.ami_type.as_str()))
        .capacity_type(CapacityTypes::from(ng.capacity_type.as_str()))
        .set_labels((!ng.labels.is_empty()).then(|| ng.labels.clone().into_iter().collect()))
        .set_taints((!taints.is_empty()).then_some(taints))
        .set_tags(Some(tags(config)))
        .client_request_token(client_token(
            &config.name,
            &run_id,
            &format!("eks-nodegroup/{}", ng.name),
        ))
        .send()
        .await
        .map_err(|e| sdk_error("eks", "CreateNodegroup", &e))?;
    ctx.ledger
        .record(
            Resource::new(StepId::Nodes, NODEGROUP, &ng.name)
                .with("cluster", cluster)
                .with("region", &config.region),
        )
        .await?;
    Ok(Action::new(Op::Create, NODEGROUP, &ng.name).detail(sizes(ng)))
}

async fn wait_active(ctx: &StepCtx, cluster: &str, name: &str) -> Result<(), Error> {
    let eks = ctx.aws()?.eks();
    ctx.wait_for(
        &format!("node group {name} to become ACTIVE (usually 2-4 minutes)"),
        POLL,
        || {
            let eks = eks.clone();
            async move {
                match describe(&eks, cluster, name).await? {
                    Some(n) if n.status == "ACTIVE" => Ok(Some(())),
                    Some(n) if matches!(n.status.as_str(), "CREATE_FAILED" | "DEGRADED") => {
                        Err(Error::Aws {
                            service: "eks",
                            operation: "DescribeNodegroup",
                            message: format!("node group {name} is {}", n.status),
                            help: "see the node group's health issues in the EKS console (instance capacity, subnet IPs, IAM); fix them and run `meshctl cluster` again".into(),
                        })
                    }
                    Some(_) => Ok(None),
                    None => Err(Error::Aws {
                        service: "eks",
                        operation: "DescribeNodegroup",
                        message: format!("node group {name} disappeared while waiting for it"),
                        help: "run `meshctl cluster` again".into(),
                    }),
                }
            }
        },
    )
    .await
}

async fn delete_and_wait(ctx: &StepCtx, cluster: &str, name: &str) -> Result<bool, Error> {
    let eks = ctx.aws()?.eks();
    match eks
        .delete_nodegroup()
        .cluster_name(cluster)
        .nodegroup_name(name)
        .send()
        .await
    {
        Ok(_) => {}
        Err(e) if code(&e) == Some("ResourceNotFoundException") => return Ok(false),
        Err(e) => return Err(sdk_error("eks", "DeleteNodegroup", &e)),
    }
    ctx.wait_for(&format!("node group {name} to be deleted"), POLL, || {
        let eks = eks.clone();
        async move { Ok(describe(&eks, cluster, name).await?.is_none().then_some(())) }
    })
    .await?;
    Ok(true)
}

/// Delete every Service of type LoadBalancer and every Ingress in namespaces labelled for the
/// stack, so their AWS load balancers go before the nodes and the network. Returns what was
/// deleted; a note instead when the API server cannot be reached.
async fn delete_load_balancer_objects(ctx: &StepCtx) -> Result<Result<Vec<Action>, String>, Error> {
    use k8s_openapi::api::core::v1::{Namespace, Service};
    use k8s_openapi::api::networking::v1::Ingress;
    use kube::api::{Api, DeleteParams, ListParams};

    let kube = match crate::kube::connect(ctx).await {
        Ok(k) => k,
        Err(e) => return Ok(Err(format!("the API server could not be reached ({e})"))),
    };
    let client = kube.client().clone();
    let selector = format!("{STACK_TAG}={}", ctx.config.name);
    let namespaces = match Api::<Namespace>::all(client.clone())
        .list(&ListParams::default().labels(&selector))
        .await
    {
        Ok(l) => l,
        Err(e) => return Ok(Err(format!("the API server could not be reached ({e})"))),
    };
    let mut out = vec![];
    for ns in namespaces.items {
        let Some(ns) = ns.metadata.name else { continue };
        let services: Api<Service> = Api::namespaced(client.clone(), &ns);
        let list = services.list(&ListParams::default()).await.map_err(|e| {
            Error::usage(
                format!("listing Services in namespace {ns} failed: {e}"),
                "check that the caller may list and delete Services (an access entry with cluster admin)",
            )
        })?;
        for svc in list.items {
            let is_lb = svc.spec.as_ref().and_then(|s| s.type_.as_deref()) == Some("LoadBalancer");
            let Some(name) = svc.metadata.name else {
                continue;
            };
            if is_lb {
                ctx.progress
                    .message(&format!("deleting LoadBalancer Service {ns}/{name}"));
                match services.delete(&name, &DeleteParams::background()).await {
                    Ok(_) => out.push(
                        Action::new(Op::Delete, "service", format!("{ns}/{name}"))
                            .detail("type LoadBalancer: its AWS load balancer goes with it"),
                    ),
                    Err(kube::Error::Api(s)) if s.code == 404 => {}
                    Err(e) => {
                        return Err(Error::usage(
                            format!("deleting Service {ns}/{name} failed: {e}"),
                            "delete it by hand, then run the cleanup again",
                        ));
                    }
                }
            }
        }
        let ingresses: Api<Ingress> = Api::namespaced(client.clone(), &ns);
        let list = match ingresses.list(&ListParams::default()).await {
            Ok(l) => l.items,
            // No Ingress API on this server: nothing to delete.
            Err(kube::Error::Api(s)) if s.code == 404 => vec![],
            Err(e) => {
                return Err(Error::usage(
                    format!("listing Ingresses in namespace {ns} failed: {e}"),
                    "check that the caller may list and delete Ingresses",
                ));
            }
        };
        for ing in list {
            let Some(name) = ing.metadata.name else {
                continue;
            };
            match ingresses.delete(&name, &DeleteParams::background()).await {
                Ok(_) => out.push(Action::new(Op::Delete, "ingress", format!("{ns}/{name}"))),
                Err(kube::Error::Api(s)) if s.code == 404 => {}
                Err(e) => {
                    return Err(Error::usage(
                        format!("deleting Ingress {ns}/{name} failed: {e}"),
                        "delete it by hand, then run the cleanup again",
                    ));
                }
            }
        }
    }
    Ok(Ok(out))
}

impl NodesStep {
    fn configured(config: &Config) -> &[NodegroupConfig] {
        if config.cluster.create || !config.cluster.nodegroups.is_empty() {
            &config.cluster.nodegroups
        } else {
            &[]
        }
    }
}

#[async_trait]
impl Step for NodesStep {
    fn id(&self) -> StepId {
        StepId::Nodes
    }

    async fn plan(&self, ctx: &StepCtx) -> Result<StepPlan, Error> {
        let config = &ctx.config;
        let mut plan = StepPlan::new(StepId::Nodes);
        let wanted = Self::configured(config);
        let Some(aws) = &ctx.aws else {
            for ng in wanted {
                plan.push(Action::new(Op::Create, NODEGROUP, &ng.name).detail(sizes(ng)));
            }
            return Ok(plan);
        };
        let eks = aws.eks();
        let (cluster, _) = cluster_facts(ctx).await;
        let exists = describe_cluster(&eks, &cluster).await?.is_some();
        for ng in wanted {
            let have = if exists {
                describe(&eks, &cluster, &ng.name).await?
            } else {
                None
            };
            plan.push(match have {
                None => Action::new(Op::Create, NODEGROUP, &ng.name).detail(sizes(ng)),
                Some(h) => match compare(ctx, &h, ng) {
                    Want::Keep => Action::new(Op::Keep, NODEGROUP, &ng.name).detail(h.status),
                    Want::Resize(d) => Action::new(Op::Update, NODEGROUP, &ng.name).detail(d),
                    Want::Foreign => Action::new(Op::Conflict, NODEGROUP, &ng.name).detail(format!(
                        "exists in cluster {cluster} and is not tagged {STACK_TAG}={}: rename the node group in the config",
                        config.name
                    )),
                },
            });
        }
        Ok(plan)
    }

    async fn apply(&self, ctx: &StepCtx) -> Result<StepReport, Error> {
        let config = &ctx.config;
        let eks = ctx.aws()?.eks();
        let mut report = StepReport {
            step: Some(StepId::Nodes),
            ..Default::default()
        };
        let wanted = Self::configured(config);
        if wanted.is_empty() {
            return Ok(report);
        }
        let (cluster, role) = cluster_facts(ctx).await;
        let Some(role) = role else {
            return Err(Error::config(
                "node groups need a node IAM role, and the `cluster` step recorded none",
                "run `meshctl cluster` (it creates the node role), or set `cluster.node_role_arn` when adopting a cluster",
            ));
        };
        let Some(c) = describe_cluster(&eks, &cluster).await? else {
            return Err(Error::usage(
                format!("EKS cluster {cluster} does not exist"),
                "run `meshctl cluster` first",
            ));
        };
        // The private subnets: the network the cluster step made (found again, read-only) once
        // its NAT gateways are available, with the private routes to them; or the adopted
        // cluster's subnets.
        let net = if config.cluster.create {
            let Some(net) = network::find(ctx, &super::network_spec(config)).await? else {
                return Err(Error::usage(
                    format!("the stack `{}` has no VPC of its own", config.name),
                    "run `meshctl cluster` first (it creates the network)",
                ));
            };
            network::wait_nat(ctx, &net).await?;
            network::route_private_subnets(ctx, &net).await?;
            net.private_subnet_ids.clone()
        } else {
            c.subnet_ids.clone()
        };

        let mut to_create = vec![];
        for ng in wanted {
            match describe(&eks, &cluster, &ng.name).await? {
                None => to_create.push(ng),
                Some(h) => match compare(ctx, &h, ng) {
                    Want::Keep => report
                        .actions
                        .push(Action::new(Op::Keep, NODEGROUP, &ng.name).detail(h.status)),
                    Want::Resize(d) => {
                        eks.update_nodegroup_config()
                            .cluster_name(&cluster)
                            .nodegroup_name(&ng.name)
                            .scaling_config(scaling(ng))
                            .send()
                            .await
                            .map_err(|e| sdk_error("eks", "UpdateNodegroupConfig", &e))?;
                        report
                            .actions
                            .push(Action::new(Op::Update, NODEGROUP, &ng.name).detail(d));
                    }
                    Want::Foreign => {
                        return Err(Error::config(
                            format!(
                                "node group {} exists in cluster {cluster} and is not tagged {STACK_TAG}={}",
                                ng.name, config.name
                            ),
                            "give the node group another name in `cluster.nodegroups`",
                        ));
                    }
                },
            }
        }
        // Concurrently: node groups are independent of each other. Every create runs to its
        // end (and records what it made) before a failure of another one is reported, so
        // rollback knows about every node group that exists.
        let results = join_all(
            to_create
                .iter()
                .map(|ng| create_one(ctx, &cluster, ng, &role, &net)),
        )
        .await;
        let mut first_error = None;
        for r in results {
            match r {
                Ok(a) => report.actions.push(a),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        if let Some(e) = first_error {
            return Err(e);
        }
        if ctx.options.no_wait {
            if !to_create.is_empty() {
                report.incomplete = Some(
                    "node groups are being created; --no-wait did not wait for them: check with `meshctl status`".into(),
                );
            }
            return Ok(report);
        }
        try_join_all(wanted.iter().map(|ng| wait_active(ctx, &cluster, &ng.name))).await?;
        report.outputs.insert(
            "nodegroups".into(),
            wanted
                .iter()
                .map(|n| n.name.clone())
                .collect::<Vec<_>>()
                .join(","),
        );
        Ok(report)
    }

    async fn destroy_plan(&self, ctx: &StepCtx) -> Result<StepPlan, Error> {
        let mut plan = StepPlan::new(StepId::Nodes);
        if ctx.aws.is_none() {
            plan.note("offline: cannot list node groups without credentials");
            return Ok(plan);
        }
        let (cluster, _) = cluster_facts(ctx).await;
        let owned = owned(ctx, &cluster).await?;
        if !owned.is_empty() {
            plan.note("first: Services of type LoadBalancer and Ingresses in namespaces labelled for the stack, then their load balancers are awaited gone");
        }
        for ng in owned {
            plan.push(
                Action::new(Op::Delete, NODEGROUP, ng.name).detail(format!("in cluster {cluster}")),
            );
        }
        Ok(plan)
    }

    async fn destroy(&self, ctx: &StepCtx) -> Result<StepReport, Error> {
        let mut report = StepReport {
            step: Some(StepId::Nodes),
            ..Default::default()
        };
        let eks = ctx.aws()?.eks();
        let (cluster, _) = cluster_facts(ctx).await;
        let Some(c) = describe_cluster(&eks, &cluster).await? else {
            return Ok(report);
        };
        let owned = owned(ctx, &cluster).await?;
        if !owned.is_empty() || c.owned_by(&ctx.config.name) {
            match delete_load_balancer_objects(ctx).await? {
                Ok(actions) => report.actions.extend(actions),
                Err(why) => report.notes.push(format!(
                    "skipped deleting LoadBalancer Services and Ingresses: {why}"
                )),
            }
            if !c.vpc_id.is_empty() {
                network::wait_load_balancers_gone(ctx, &c.vpc_id, &cluster).await?;
            }
        }
        let deleted = try_join_all(
            owned
                .iter()
                .map(|ng| delete_and_wait(ctx, &cluster, &ng.name)),
        )
        .await?;
        for (ng, gone) in owned.iter().zip(deleted) {
            if gone {
                report
                    .actions
                    .push(Action::new(Op::Delete, NODEGROUP, &ng.name));
            }
        }
        Ok(report)
    }

    async fn status(&self, ctx: &StepCtx) -> Result<StepStatus, Error> {
        let (cluster, _) = cluster_facts(ctx).await;
        let states = nodegroup_states(ctx, &cluster).await?;
        let mut details = BTreeMap::new();
        for (n, s) in &states {
            details.insert(format!("nodegroup.{n}"), s.clone());
        }
        let wanted = Self::configured(&ctx.config);
        let state = if wanted.is_empty() && states.is_empty() {
            "absent"
        } else if wanted
            .iter()
            .all(|w| states.iter().any(|(n, s)| *n == w.name && s == "ACTIVE"))
        {
            "present"
        } else if states.is_empty() {
            "absent"
        } else {
            "partial"
        };
        Ok(StepStatus {
            step: StepId::Nodes,
            state: state.into(),
            details,
        })
    }

    async fn undo(&self, ctx: &StepCtx, resource: &Resource) -> Result<(), Error> {
        match resource.kind.as_str() {
            NODEGROUP => {
                let cluster = resource.get("cluster").unwrap_or_default();
                delete_and_wait(ctx, cluster, &resource.id).await?;
                Ok(())
            }
            other => Err(Resource::unknown_kind(StepId::Nodes, other)),
        }
    }

    fn undo_hint(&self, resource: &Resource) -> String {
        let region = resource.get("region").unwrap_or("<region>");
        match resource.kind.as_str() {
            NODEGROUP => format!(
                "aws eks delete-nodegroup --region {region} --cluster-name {} --nodegroup-name {}",
                resource.get("cluster").unwrap_or("<cluster>"),
                resource.id
            ),
            _ => "meshctl cleanup --only nodes".into(),
        }
    }
}
