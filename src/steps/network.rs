//! placeholder: replaced by the network branch.
//!
//! The stack's network for the `cluster` step. This placeholder implements only adoption of
//! the subnets given in `cluster.subnet_ids`; creating a VPC answers with an error that says
//! so. The network branch brings the full module with the same interface.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use serde::Serialize;

use crate::aws::sdk_error;
use crate::engine::{Action, Op, Resource, StepCtx};
use crate::error::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NatMode {
    Single,
    PerAz,
}

pub struct NetworkSpec {
    pub stack: String,
    pub cluster_name: String,
    pub vpc_cidr: String,
    pub nat: NatMode,
    pub tags: HashMap<String, String>,
    /// Subnets given in the config (`cluster.subnet_ids`): adopt them, never create, modify or
    /// delete network.
    pub adopt_subnet_ids: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Network {
    pub vpc_id: String,
    pub public_subnet_ids: Vec<String>,
    pub private_subnet_ids: Vec<String>,
    pub availability_zones: Vec<String>,
    pub owned: bool,
    pub nat_gateway_ids: Vec<String>,
}

fn create_unavailable() -> Error {
    Error::config(
        "this build cannot create a VPC yet: only adopted subnets are supported",
        "list at least two existing subnets in two availability zones in `cluster.subnet_ids`",
    )
}

/// The adopted subnets, checked: every one exists, all in one VPC, in at least two zones.
async fn adopted(ctx: &StepCtx, ids: &[String]) -> Result<Network, Error> {
    let ec2 = ctx.aws()?.ec2();
    let out = ec2
        .describe_subnets()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("subnet-id")
                .set_values(Some(ids.to_vec()))
                .build(),
        )
        .send()
        .await
        .map_err(|e| sdk_error("ec2", "DescribeSubnets", &e))?;
    let found = out.subnets();
    for id in ids {
        if !found.iter().any(|s| s.subnet_id() == Some(id.as_str())) {
            return Err(Error::config(
                format!(
                    "subnet {id} in `cluster.subnet_ids` does not exist in this account and region"
                ),
                "check the subnet id and the region, or remove it from `cluster.subnet_ids`",
            ));
        }
    }
    let vpcs: BTreeSet<&str> = found.iter().filter_map(|s| s.vpc_id()).collect();
    if vpcs.len() != 1 {
        return Err(Error::config(
            format!(
                "the subnets in `cluster.subnet_ids` belong to more than one VPC ({})",
                vpcs.into_iter().collect::<Vec<_>>().join(", ")
            ),
            "list subnets of a single VPC",
        ));
    }
    let zones: BTreeSet<String> = found
        .iter()
        .filter_map(|s| s.availability_zone().map(str::to_string))
        .collect();
    if zones.len() < 2 {
        return Err(Error::config(
            "the subnets in `cluster.subnet_ids` are all in one availability zone",
            "EKS needs subnets in at least two availability zones: add a subnet in another zone",
        ));
    }
    let public: Vec<String> = found
        .iter()
        .filter(|s| s.map_public_ip_on_launch() == Some(true))
        .filter_map(|s| s.subnet_id().map(str::to_string))
        .collect();
    Ok(Network {
        vpc_id: vpcs.into_iter().next().unwrap_or_default().to_string(),
        public_subnet_ids: public,
        private_subnet_ids: ids.to_vec(),
        availability_zones: zones.into_iter().collect(),
        owned: false,
        nat_gateway_ids: vec![],
    })
}

/// Observe only: actions for the plan.
pub async fn plan(ctx: &StepCtx, spec: &NetworkSpec) -> Result<Vec<Action>, Error> {
    if spec.adopt_subnet_ids.is_empty() {
        return Ok(vec![
            Action::new(Op::Create, "vpc", format!("{}-vpc", spec.stack))
                .detail(format!("{} (not available in this build)", spec.vpc_cidr)),
        ]);
    }
    if ctx.aws.is_none() {
        return Ok(spec
            .adopt_subnet_ids
            .iter()
            .map(|id| {
                Action::new(Op::Keep, "subnet", id).detail("adopted, never modified or deleted")
            })
            .collect());
    }
    let net = adopted(ctx, &spec.adopt_subnet_ids).await?;
    Ok(spec
        .adopt_subnet_ids
        .iter()
        .map(|id| {
            Action::new(Op::Keep, "subnet", id).detail(format!(
                "in {}; adopted, never modified or deleted",
                net.vpc_id
            ))
        })
        .collect())
}

/// Find or create the network; this placeholder only adopts.
pub async fn ensure(ctx: &StepCtx, spec: &NetworkSpec) -> Result<Network, Error> {
    if spec.adopt_subnet_ids.is_empty() {
        return Err(create_unavailable());
    }
    adopted(ctx, &spec.adopt_subnet_ids).await
}

/// Wait until every NAT gateway of `net` is available: none for adopted subnets.
pub async fn wait_nat(_ctx: &StepCtx, net: &Network) -> Result<(), Error> {
    if !net.owned || net.nat_gateway_ids.is_empty() {
        return Ok(());
    }
    Err(create_unavailable())
}

/// Wait until no ELBv2 load balancer in the VPC carries the cluster's tags.
pub async fn wait_load_balancers_gone(
    ctx: &StepCtx,
    vpc_id: &str,
    cluster_name: &str,
) -> Result<(), Error> {
    let elb = ctx.aws()?.elbv2();
    let what = format!("load balancers of cluster {cluster_name} in {vpc_id} to be deleted");
    ctx.wait_for(&what, Duration::from_secs(10), || {
        let elb = elb.clone();
        async move {
            let out = elb
                .describe_load_balancers()
                .send()
                .await
                .map_err(|e| sdk_error("elbv2", "DescribeLoadBalancers", &e))?;
            let arns: Vec<String> = out
                .load_balancers()
                .iter()
                .filter(|lb| lb.vpc_id() == Some(vpc_id))
                .filter_map(|lb| lb.load_balancer_arn().map(str::to_string))
                .collect();
            if arns.is_empty() {
                return Ok(Some(()));
            }
            let tags = elb
                .describe_tags()
                .set_resource_arns(Some(arns.into_iter().take(20).collect()))
                .send()
                .await
                .map_err(|e| sdk_error("elbv2", "DescribeTags", &e))?;
            let held = tags.tag_descriptions().iter().any(|d| {
                d.tags().iter().any(|t| {
                    t.key() == Some(&format!("kubernetes.io/cluster/{cluster_name}"))
                        || (t.key() == Some("elbv2.k8s.aws/cluster")
                            && t.value() == Some(cluster_name))
                })
            });
            Ok((!held).then_some(()))
        }
    })
    .await
}

/// What destroy would delete: this placeholder never creates network resources.
pub async fn destroy_plan(_ctx: &StepCtx, _stack: &str) -> Result<Vec<Action>, Error> {
    Ok(vec![])
}

/// Delete the stack's network: this placeholder never creates any.
pub async fn destroy(_ctx: &StepCtx, _stack: &str) -> Result<Vec<Action>, Error> {
    Ok(vec![])
}

/// Rollback of one ledger resource: this placeholder records none.
pub async fn undo(_ctx: &StepCtx, _resource: &Resource) -> Result<bool, Error> {
    Ok(false)
}

pub fn undo_hint(_resource: &Resource) -> Option<String> {
    None
}

/// For `status`: this placeholder owns no network.
pub async fn describe(
    _ctx: &StepCtx,
    _stack: &str,
) -> Result<Option<BTreeMap<String, String>>, Error> {
    Ok(None)
}
