//! The stack's network for the `cluster` step: a VPC tagged for the stack with public and
//! private subnets in two or three availability zones, an internet gateway, NAT gateway(s)
//! with Elastic IPs, and route tables; or subnets given in the config, adopted and never
//! touched. The `cluster` step calls these functions; this module knows no EKS.
//!
//! Every resource carries the stack's tags, a `Name`, and [`PART_TAG`] saying which part of
//! the network it is (per-zone parts also [`ZONE_TAG`]), so a re-run finds each part again
//! by its tags and creates only what is missing. Cleanup deletes only what carries the stack
//! tag, in dependency order, retrying `DependencyViolation` and naming what holds it.
//!
//! Polling: NAT gateways every 15 s, load balancers every 10 s, `DependencyViolation`
//! retries from 2 s doubling to 30 s; all capped by `MESHCTL_POLL_INTERVAL`
//! ([`StepCtx::poll`]) and bounded by `--timeout`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use aws_sdk_ec2::Client;
use aws_sdk_ec2::types::{
    AttributeBooleanValue, DomainType, Filter, NatGatewayState, ResourceType, Tag,
    TagSpecification, VpcAttributeName,
};
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use serde::{Deserialize, Serialize};

use crate::aws::retry::error_code as code;
use crate::aws::sdk_error;
use crate::config::STACK_TAG;
use crate::engine::owned::{MANAGED_TAGS, TagChanges, managed_tag_keys};
use crate::engine::{Action, Op, Resource, StepCtx, StepId};
use crate::error::Error;

/// Tag naming the part of the network a resource is (`vpc`, `public-subnet`, …).
pub const PART_TAG: &str = "meshctl.io/network";
/// Tag naming the availability zone of a per-zone part (NAT gateway, Elastic IP, private
/// route table, subnets).
pub const ZONE_TAG: &str = "meshctl.io/zone";

/// Ledger kinds (distinct from every other step's).
pub const VPC: &str = "vpc";
pub const SUBNET: &str = "subnet";
pub const INTERNET_GATEWAY: &str = "internet-gateway";
pub const NAT_GATEWAY: &str = "nat-gateway";
pub const ELASTIC_IP: &str = "elastic-ip";
pub const ROUTE_TABLE: &str = "route-table";

const PUBLIC_SUBNET: &str = "public-subnet";
const PRIVATE_SUBNET: &str = "private-subnet";
const PUBLIC_RT: &str = "public-route-table";
const PRIVATE_RT: &str = "private-route-table";
const DEFAULT_ROUTE: &str = "0.0.0.0/0";

const NAT_POLL: Duration = Duration::from_secs(15);
const LB_POLL: Duration = Duration::from_secs(10);
const RETRY_FIRST: Duration = Duration::from_secs(2);
const RETRY_MAX: Duration = Duration::from_secs(30);

/// Availability zones used when the region offers them (at least two are required).
const MAX_ZONES: usize = 3;
const MIN_ZONES: usize = 2;

/// One NAT gateway for the whole VPC, or one per availability zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NatMode {
    #[default]
    Single,
    PerAz,
}

impl std::fmt::Display for NatMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            NatMode::Single => "single",
            NatMode::PerAz => "per-az",
        })
    }
}

/// What the stack's network must be.
#[derive(Debug, Clone)]
pub struct NetworkSpec {
    pub stack: String,
    pub cluster_name: String,
    pub vpc_cidr: String,
    pub nat: NatMode,
    /// `crate::aws::tags(config)`: includes `meshctl.io/stack`.
    pub tags: HashMap<String, String>,
    /// Subnets given in the config (`cluster.subnet_ids`): adopt them, never create, modify
    /// or delete network.
    pub adopt_subnet_ids: Vec<String>,
}

/// The network the cluster goes into.
#[derive(Debug, Clone, Serialize)]
pub struct Network {
    pub vpc_id: String,
    pub public_subnet_ids: Vec<String>,
    /// For adopted subnets: all given subnets.
    pub private_subnet_ids: Vec<String>,
    pub availability_zones: Vec<String>,
    /// `false` when adopted.
    pub owned: bool,
    pub nat_gateway_ids: Vec<String>,
}

impl std::fmt::Display for Network {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({}) in {}: public {}, private {}",
            self.vpc_id,
            if self.owned { "owned" } else { "adopted" },
            self.availability_zones.join(", "),
            if self.public_subnet_ids.is_empty() {
                "-".to_string()
            } else {
                self.public_subnet_ids.join(", ")
            },
            self.private_subnet_ids.join(", ")
        )
    }
}

// ---------------------------------------------------------------------------------------
// Observation
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct VpcInfo {
    id: String,
    cidr: String,
    tags: HashMap<String, String>,
}

#[derive(Debug, Clone)]
struct SubnetInfo {
    id: String,
    vpc_id: String,
    az: String,
    cidr: String,
    tags: HashMap<String, String>,
}

#[derive(Debug, Clone)]
struct NatInfo {
    id: String,
    subnet_id: String,
    state: NatGatewayState,
    allocation_ids: Vec<String>,
    tags: HashMap<String, String>,
}

#[derive(Debug, Clone)]
struct EipInfo {
    allocation_id: String,
    association_id: Option<String>,
    tags: HashMap<String, String>,
}

#[derive(Debug, Clone)]
struct RouteTableInfo {
    id: String,
    /// Target of the `0.0.0.0/0` route: an internet or NAT gateway id.
    default_target: Option<String>,
    /// `(subnet id, association id)` of each subnet association.
    associations: Vec<(String, String)>,
    main: bool,
    tags: HashMap<String, String>,
}

#[derive(Debug, Clone)]
struct IgwInfo {
    id: String,
    attached_to: Vec<String>,
    tags: HashMap<String, String>,
}

fn tag_map(tags: &[Tag]) -> HashMap<String, String> {
    tags.iter()
        .filter_map(|t| {
            Some((
                t.key()?.to_string(),
                t.value().unwrap_or_default().to_string(),
            ))
        })
        .collect()
}

fn filter<S: AsRef<str>>(name: &str, values: &[S]) -> Filter {
    Filter::builder()
        .name(name)
        .set_values(Some(
            values.iter().map(|v| v.as_ref().to_string()).collect(),
        ))
        .build()
}

fn stack_filter(stack: &str) -> Filter {
    filter(&format!("tag:{STACK_TAG}"), &[stack])
}

fn part(tags: &HashMap<String, String>) -> Option<&str> {
    tags.get(PART_TAG).map(String::as_str)
}

fn zone(tags: &HashMap<String, String>) -> Option<&str> {
    tags.get(ZONE_TAG).map(String::as_str)
}

/// EC2's not-found codes: `InvalidVpcID.NotFound`, `InvalidAllocationID.NotFound`,
/// `NatGatewayNotFound`, …
fn is_not_found(code: Option<&str>) -> bool {
    code.is_some_and(|c| c.ends_with("NotFound"))
}

async fn tagged_vpcs(client: &Client, stack: &str) -> Result<Vec<VpcInfo>, Error> {
    let vpcs = client
        .describe_vpcs()
        .filters(stack_filter(stack))
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| sdk_error("ec2", "DescribeVpcs", &e))?;
    Ok(vpcs
        .into_iter()
        .filter_map(|v| {
            Some(VpcInfo {
                id: v.vpc_id()?.to_string(),
                cidr: v.cidr_block().unwrap_or_default().to_string(),
                tags: tag_map(v.tags()),
            })
        })
        .collect())
}

async fn subnets(client: &Client, filters: Vec<Filter>) -> Result<Vec<SubnetInfo>, Error> {
    let found = client
        .describe_subnets()
        .set_filters(Some(filters))
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| sdk_error("ec2", "DescribeSubnets", &e))?;
    Ok(found
        .into_iter()
        .filter_map(|s| {
            Some(SubnetInfo {
                id: s.subnet_id()?.to_string(),
                vpc_id: s.vpc_id().unwrap_or_default().to_string(),
                az: s.availability_zone().unwrap_or_default().to_string(),
                cidr: s.cidr_block().unwrap_or_default().to_string(),
                tags: tag_map(s.tags()),
            })
        })
        .collect())
}

/// NAT gateways matching `filters`; with `stack`, only those tagged for it (checked here as
/// well: not every EC2 implementation applies tag filters to NAT gateways).
async fn nat_gateways(
    client: &Client,
    filters: Vec<Filter>,
    stack: Option<&str>,
) -> Result<Vec<NatInfo>, Error> {
    let mut req = client.describe_nat_gateways();
    if let Some(stack) = stack {
        req = req.filter(stack_filter(stack));
    }
    for f in filters {
        req = req.filter(f);
    }
    let found = req
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| sdk_error("ec2", "DescribeNatGateways", &e))?;
    Ok(found
        .into_iter()
        .filter_map(|n| {
            Some(NatInfo {
                id: n.nat_gateway_id()?.to_string(),
                subnet_id: n.subnet_id().unwrap_or_default().to_string(),
                state: n.state().cloned().unwrap_or(NatGatewayState::Pending),
                allocation_ids: n
                    .nat_gateway_addresses()
                    .iter()
                    .filter_map(|a| a.allocation_id().map(str::to_string))
                    .collect(),
                tags: tag_map(n.tags()),
            })
        })
        .filter(|n| stack.is_none_or(|st| crate::engine::owned::is_owned(&n.tags, st)))
        .collect())
}

/// NAT gateways that exist or are coming (not deleting, deleted or failed).
fn live(n: &NatInfo) -> bool {
    matches!(
        n.state,
        NatGatewayState::Pending | NatGatewayState::Available
    )
}

async fn elastic_ips(client: &Client, filters: Vec<Filter>) -> Result<Vec<EipInfo>, Error> {
    let out = client
        .describe_addresses()
        .set_filters(Some(filters))
        .send()
        .await
        .map_err(|e| sdk_error("ec2", "DescribeAddresses", &e))?;
    Ok(out
        .addresses()
        .iter()
        .filter_map(|a| {
            Some(EipInfo {
                allocation_id: a.allocation_id()?.to_string(),
                association_id: a.association_id().map(str::to_string),
                tags: tag_map(a.tags()),
            })
        })
        .collect())
}

async fn route_tables(client: &Client, filters: Vec<Filter>) -> Result<Vec<RouteTableInfo>, Error> {
    let found = client
        .describe_route_tables()
        .set_filters(Some(filters))
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| sdk_error("ec2", "DescribeRouteTables", &e))?;
    Ok(found
        .into_iter()
        .filter_map(|rt| {
            let default_target = rt
                .routes()
                .iter()
                .find(|r| r.destination_cidr_block() == Some(DEFAULT_ROUTE))
                .and_then(|r| r.nat_gateway_id().or(r.gateway_id()).map(str::to_string));
            Some(RouteTableInfo {
                id: rt.route_table_id()?.to_string(),
                default_target,
                associations: rt
                    .associations()
                    .iter()
                    .filter_map(|a| {
                        Some((
                            a.subnet_id()?.to_string(),
                            a.route_table_association_id()?.to_string(),
                        ))
                    })
                    .collect(),
                main: rt.associations().iter().any(|a| a.main() == Some(true)),
                tags: tag_map(rt.tags()),
            })
        })
        .collect())
}

async fn internet_gateways(client: &Client, filters: Vec<Filter>) -> Result<Vec<IgwInfo>, Error> {
    let found = client
        .describe_internet_gateways()
        .set_filters(Some(filters))
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| sdk_error("ec2", "DescribeInternetGateways", &e))?;
    Ok(found
        .into_iter()
        .filter_map(|g| {
            Some(IgwInfo {
                id: g.internet_gateway_id()?.to_string(),
                attached_to: g
                    .attachments()
                    .iter()
                    .filter_map(|a| a.vpc_id().map(str::to_string))
                    .collect(),
                tags: tag_map(g.tags()),
            })
        })
        .collect())
}

/// Available zones of the region (no local or wavelength zones), sorted by name.
async fn available_zones(client: &Client) -> Result<Vec<String>, Error> {
    let out = client
        .describe_availability_zones()
        .filters(filter("state", &["available"]))
        .send()
        .await
        .map_err(|e| sdk_error("ec2", "DescribeAvailabilityZones", &e))?;
    let mut zones: Vec<String> = out
        .availability_zones()
        .iter()
        .filter(|z| z.zone_type().is_none_or(|t| t == "availability-zone"))
        .filter_map(|z| z.zone_name().map(str::to_string))
        .collect();
    zones.sort();
    zones.dedup();
    Ok(zones)
}

// ---------------------------------------------------------------------------------------
// Layout: zones and CIDR blocks
// ---------------------------------------------------------------------------------------

fn parse_cidr(cidr: &str) -> Option<(u32, u8)> {
    let (ip, prefix) = cidr.split_once('/')?;
    let ip: Ipv4Addr = ip.parse().ok()?;
    let prefix: u8 = prefix.parse().ok()?;
    (prefix <= 32).then_some((u32::from(ip), prefix))
}

fn format_cidr(base: u32, prefix: u8) -> String {
    format!("{}/{prefix}", Ipv4Addr::from(base))
}

fn overlaps(a: &str, b: &str) -> bool {
    let (Some((a, ap)), Some((b, bp))) = (parse_cidr(a), parse_cidr(b)) else {
        return false;
    };
    let p = ap.min(bp);
    let mask = if p == 0 { 0 } else { u32::MAX << (32 - p) };
    a & mask == b & mask
}

/// What is wrong with `cluster.vpc_cidr`, if anything (for config validation, which reports
/// it before any API call).
pub fn vpc_cidr_problem(vpc_cidr: &str) -> Option<String> {
    match parse_cidr(vpc_cidr) {
        Some((_, p)) if (16..=24).contains(&p) => None,
        Some((_, p)) => Some(format!(
            "`{vpc_cidr}` is a /{p}: the VPC needs a block from /16 to /24 (each zone gets a quarter for its private subnet and a sixteenth for its public one)"
        )),
        None => Some(format!(
            "`{vpc_cidr}` is not an IPv4 CIDR block such as 10.0.0.0/16"
        )),
    }
}

/// The candidate blocks of a VPC CIDR `/p`: private subnets take the first three quarters
/// (`/p+2` each), public subnets the last quarter split in four (`/p+4` each). `None` for a
/// CIDR that is not IPv4 from /16 to /24 ([`vpc_cidr_problem`] says why).
fn blocks(vpc_cidr: &str) -> Option<(Vec<String>, Vec<String>)> {
    let (ip, p) = parse_cidr(vpc_cidr)?;
    if !(16..=24).contains(&p) {
        return None;
    }
    let base = ip & (u32::MAX << (32 - p));
    let quarter = 1u32 << (32 - (p + 2));
    let sixteenth = 1u32 << (32 - (p + 4));
    let private = (0..3)
        .map(|i| format_cidr(base + i * quarter, p + 2))
        .collect();
    let public = (0..4)
        .map(|i| format_cidr(base + 3 * quarter + i * sixteenth, p + 4))
        .collect();
    Some((private, public))
}

/// The configuration error for a `cluster.vpc_cidr` that [`blocks`] refuses (exit code 2,
/// before any call).
fn bad_cidr(spec: &NetworkSpec) -> Error {
    Error::config(
        format!(
            "cluster.vpc_cidr {}",
            vpc_cidr_problem(&spec.vpc_cidr).unwrap_or_default()
        ),
        "use a private range such as 10.0.0.0/16",
    )
}

/// The zones the network spans: zones of existing subnets first, then the region's
/// available zones in name order, up to three.
fn choose_zones(existing: &[&SubnetInfo], available: &[String]) -> Vec<String> {
    let mut zones: Vec<String> = existing
        .iter()
        .map(|s| s.az.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    for z in available {
        if zones.len() >= MAX_ZONES {
            break;
        }
        if !zones.contains(z) {
            zones.push(z.clone());
        }
    }
    zones
}

fn too_few_zones(found: &[String], region: &str) -> Error {
    Error::Aws {
        service: "ec2",
        operation: "DescribeAvailabilityZones",
        message: format!(
            "{region} offers {} available zone(s) ({}); an EKS cluster needs subnets in at least {MIN_ZONES}",
            found.len(),
            found.join(", ")
        ),
        help: "choose another region, or give `cluster.subnet_ids` in at least two zones".into(),
    }
}

// ---------------------------------------------------------------------------------------
// The survey: what exists, shared by plan and ensure
// ---------------------------------------------------------------------------------------

struct Survey {
    vpc: Option<VpcInfo>,
    leftover_vpcs: Vec<String>,
    dns_support: bool,
    dns_hostnames: bool,
    zones: Vec<String>,
    subnets: Vec<SubnetInfo>,
    /// CIDR blocks of every subnet in the VPC, the stack's or not.
    used_cidrs: Vec<String>,
    igw: Option<IgwInfo>,
    nats: Vec<NatInfo>,
    eips: Vec<EipInfo>,
    route_tables: Vec<RouteTableInfo>,
    /// Tag keys meshctl set earlier (the cluster step's `managed_tags` output).
    set_before: BTreeSet<String>,
}

impl Survey {
    fn subnet(&self, tier: &str, az: &str) -> Option<&SubnetInfo> {
        self.subnets
            .iter()
            .find(|s| part(&s.tags) == Some(tier) && s.az == az)
    }

    fn nat_in(&self, az: &str) -> Option<&NatInfo> {
        let subnet_ids: Vec<&str> = self
            .subnets
            .iter()
            .filter(|s| s.az == az)
            .map(|s| s.id.as_str())
            .collect();
        self.nats
            .iter()
            .find(|n| subnet_ids.contains(&n.subnet_id.as_str()))
    }

    fn route_table(&self, rt_part: &str, az: Option<&str>) -> Option<&RouteTableInfo> {
        self.route_tables
            .iter()
            .find(|r| part(&r.tags) == Some(rt_part) && (az.is_none() || zone(&r.tags) == az))
    }

    /// The stack's Elastic IPs a NAT gateway uses.
    fn eips_of<'a>(&'a self, nat: &'a NatInfo) -> impl Iterator<Item = &'a EipInfo> + 'a {
        self.eips
            .iter()
            .filter(move |e| nat.allocation_ids.contains(&e.allocation_id))
    }

    /// The zones that get a NAT gateway.
    fn nat_zones(&self, mode: NatMode) -> Vec<String> {
        match mode {
            NatMode::PerAz => self.zones.clone(),
            NatMode::Single => {
                // Keep using a NAT gateway that exists, in whatever zone.
                match self
                    .zones
                    .iter()
                    .find(|z| self.nat_in(z).is_some())
                    .or(self.zones.first())
                {
                    Some(z) => vec![z.clone()],
                    None => vec![],
                }
            }
        }
    }

    /// The network as this survey found it: its subnets in the chosen zones, its NAT gateways.
    fn network(&self, vpc_id: String) -> Network {
        let in_zones = |tier: &str| -> Vec<String> {
            self.zones
                .iter()
                .filter_map(|az| self.subnet(tier, az).map(|x| x.id.clone()))
                .collect()
        };
        Network {
            vpc_id,
            public_subnet_ids: in_zones(PUBLIC_SUBNET),
            private_subnet_ids: in_zones(PRIVATE_SUBNET),
            availability_zones: self.zones.clone(),
            owned: true,
            nat_gateway_ids: self.nats.iter().map(|n| n.id.clone()).collect(),
        }
    }

    /// The NAT gateway a zone's private route goes to: the zone's own, else the first one.
    fn nat_for(&self, az: &str) -> Option<&NatInfo> {
        self.nat_in(az)
            .or_else(|| self.zones.iter().find_map(|z| self.nat_in(z)))
    }
}

async fn survey(ctx: &StepCtx, client: &Client, spec: &NetworkSpec) -> Result<Survey, Error> {
    let mut vpcs = tagged_vpcs(client, &spec.stack).await?;
    let wanted = format!("{}-vpc", spec.stack);
    // The configured name first, then one marked as meshctl's VPC, then the order found.
    vpcs.sort_by_key(|v| {
        (
            v.tags.get("Name") != Some(&wanted),
            part(&v.tags) != Some(VPC),
        )
    });
    let mut vpcs = vpcs.into_iter();
    let vpc = vpcs.next();
    let leftover_vpcs = vpcs.map(|v| v.id).collect();
    let set_before = managed_tag_keys(
        ctx.state
            .output(StepId::Cluster, MANAGED_TAGS)
            .await
            .as_deref(),
    );
    let available = available_zones(client).await?;
    let mut s = Survey {
        vpc,
        leftover_vpcs,
        dns_support: false,
        dns_hostnames: false,
        zones: vec![],
        subnets: vec![],
        used_cidrs: vec![],
        igw: None,
        nats: vec![],
        eips: vec![],
        route_tables: vec![],
        set_before,
    };
    if let Some(vpc) = &s.vpc {
        let vpc_id = vpc.id.clone();
        let vf = || filter("vpc-id", &[&vpc_id]);
        s.dns_support = vpc_attribute(client, &vpc_id, VpcAttributeName::EnableDnsSupport).await?;
        s.dns_hostnames =
            vpc_attribute(client, &vpc_id, VpcAttributeName::EnableDnsHostnames).await?;
        let in_vpc = subnets(client, vec![vf()]).await?;
        s.used_cidrs = in_vpc.iter().map(|x| x.cidr.clone()).collect();
        s.subnets = in_vpc
            .into_iter()
            .filter(|x| crate::engine::owned::is_owned(&x.tags, &spec.stack))
            .collect();
        s.igw = internet_gateways(client, vec![stack_filter(&spec.stack)])
            .await?
            .into_iter()
            // Attached to this VPC, else a free one (an IGW attaches to one VPC only).
            .filter(|g| {
                part(&g.tags) == Some(INTERNET_GATEWAY)
                    && (g.attached_to.is_empty() || g.attached_to.contains(&vpc_id))
            })
            .min_by_key(|g| !g.attached_to.contains(&vpc_id));
        s.nats = nat_gateways(client, vec![vf()], Some(&spec.stack))
            .await?
            .into_iter()
            .filter(live)
            .collect();
        s.route_tables = route_tables(client, vec![vf(), stack_filter(&spec.stack)]).await?;
    } else {
        s.igw = internet_gateways(client, vec![stack_filter(&spec.stack)])
            .await?
            .into_iter()
            .find(|g| part(&g.tags) == Some(INTERNET_GATEWAY) && g.attached_to.is_empty());
    }
    s.eips = elastic_ips(client, vec![stack_filter(&spec.stack)])
        .await?
        .into_iter()
        .filter(|e| part(&e.tags) == Some(ELASTIC_IP))
        .collect();
    let existing: Vec<&SubnetInfo> = s
        .subnets
        .iter()
        .filter(|x| matches!(part(&x.tags), Some(PUBLIC_SUBNET | PRIVATE_SUBNET)))
        .collect();
    s.zones = choose_zones(&existing, &available);
    if s.zones.len() < MIN_ZONES {
        return Err(too_few_zones(&available, &ctx.config.region));
    }
    Ok(s)
}

async fn vpc_attribute(
    client: &Client,
    vpc_id: &str,
    attribute: VpcAttributeName,
) -> Result<bool, Error> {
    let out = client
        .describe_vpc_attribute()
        .vpc_id(vpc_id)
        .attribute(attribute.clone())
        .send()
        .await
        .map_err(|e| sdk_error("ec2", "DescribeVpcAttribute", &e))?;
    let value = match attribute {
        VpcAttributeName::EnableDnsHostnames => out.enable_dns_hostnames(),
        _ => out.enable_dns_support(),
    };
    Ok(value.and_then(|v| v.value()).unwrap_or(false))
}

// ---------------------------------------------------------------------------------------
// Desired tags and names
// ---------------------------------------------------------------------------------------

fn desired_tags(
    spec: &NetworkSpec,
    name: &str,
    part_name: &str,
    az: Option<&str>,
) -> HashMap<String, String> {
    let mut t = spec.tags.clone();
    t.insert(STACK_TAG.into(), spec.stack.clone());
    t.insert("Name".into(), name.to_string());
    t.insert(PART_TAG.into(), part_name.to_string());
    if let Some(az) = az {
        t.insert(ZONE_TAG.into(), az.to_string());
    }
    match part_name {
        PUBLIC_SUBNET => {
            t.insert("kubernetes.io/role/elb".into(), "1".into());
        }
        PRIVATE_SUBNET => {
            t.insert("kubernetes.io/role/internal-elb".into(), "1".into());
        }
        _ => {}
    }
    if matches!(part_name, PUBLIC_SUBNET | PRIVATE_SUBNET) {
        t.insert(
            format!("kubernetes.io/cluster/{}", spec.cluster_name),
            "shared".into(),
        );
    }
    t
}

fn tier_word(tier: &str) -> &'static str {
    if tier == PUBLIC_SUBNET {
        "public"
    } else {
        "private"
    }
}

fn subnet_name(spec: &NetworkSpec, tier: &str, az: &str) -> String {
    format!("{}-{}-{az}", spec.stack, tier_word(tier))
}

fn tag_spec(kind: ResourceType, tags: &HashMap<String, String>) -> TagSpecification {
    let sorted: BTreeMap<&String, &String> = tags.iter().collect();
    TagSpecification::builder()
        .resource_type(kind)
        .set_tags(Some(
            sorted
                .into_iter()
                .map(|(k, v)| Tag::builder().key(k).value(v).build())
                .collect(),
        ))
        .build()
}

fn tag_changes(
    survey: &Survey,
    desired: &HashMap<String, String>,
    current: &HashMap<String, String>,
) -> TagChanges {
    TagChanges::between(desired, current, &survey.set_before)
}

async fn retag(client: &Client, id: &str, changes: &TagChanges) -> Result<(), Error> {
    if !changes.set.is_empty() {
        client
            .create_tags()
            .resources(id)
            .set_tags(Some(
                changes
                    .set
                    .iter()
                    .map(|(k, v)| Tag::builder().key(k).value(v).build())
                    .collect(),
            ))
            .send()
            .await
            .map_err(|e| sdk_error("ec2", "CreateTags", &e))?;
    }
    if !changes.remove.is_empty() {
        client
            .delete_tags()
            .resources(id)
            .set_tags(Some(
                changes
                    .remove
                    .iter()
                    .map(|k| Tag::builder().key(k).build())
                    .collect(),
            ))
            .send()
            .await
            .map_err(|e| sdk_error("ec2", "DeleteTags", &e))?;
    }
    Ok(())
}

fn keep_or_update(kind: &str, name: &str, first: String, changes: &[String]) -> Action {
    let mut a = Action::new(
        if changes.is_empty() {
            Op::Keep
        } else {
            Op::Update
        },
        kind,
        name,
    )
    .detail(first);
    for line in changes {
        a.push_detail(line.clone());
    }
    a
}

// ---------------------------------------------------------------------------------------
// plan
// ---------------------------------------------------------------------------------------

/// Observe only: the actions for the plan. Offline (`ctx.aws` is `None`): everything to
/// create, counting zones as "2-3 availability zones".
pub async fn plan(ctx: &StepCtx, spec: &NetworkSpec) -> Result<Vec<Action>, Error> {
    if !spec.adopt_subnet_ids.is_empty() {
        let Some(aws) = &ctx.aws else {
            return Ok(spec
                .adopt_subnet_ids
                .iter()
                .map(|id| {
                    Action::new(Op::Keep, SUBNET, id).detail("adopted, never modified or deleted")
                })
                .collect());
        };
        let found = adopted_subnets(&aws.ec2(), &spec.adopt_subnet_ids).await?;
        return Ok(found
            .iter()
            .map(|s| {
                Action::new(Op::Keep, SUBNET, &s.id)
                    .detail(format!("{} in {}, {}", s.cidr, s.az, s.vpc_id))
                    .detail("adopted, never modified or deleted")
            })
            .collect());
    }
    let Some((private_blocks, public_blocks)) = blocks(&spec.vpc_cidr) else {
        return Err(bad_cidr(spec));
    };
    let Some(aws) = &ctx.aws else {
        return Ok(offline_plan(spec));
    };
    let client = aws.ec2();
    let s = survey(ctx, &client, spec).await?;
    let mut actions = vec![];
    let vpc_name = format!("{}-vpc", spec.stack);
    match &s.vpc {
        None => actions.push(
            Action::new(Op::Create, VPC, &vpc_name)
                .detail(format!("{}, DNS support and hostnames on", spec.vpc_cidr)),
        ),
        Some(v) => {
            let mut lines =
                tag_changes(&s, &desired_tags(spec, &vpc_name, VPC, None), &v.tags).lines;
            if !s.dns_support {
                lines.push("enable DNS support".into());
            }
            if !s.dns_hostnames {
                lines.push("enable DNS hostnames".into());
            }
            let mut first = format!("{}, owned", v.cidr);
            if v.cidr != spec.vpc_cidr {
                first.push_str(&format!(
                    " (cluster.vpc_cidr says {}; a VPC's CIDR cannot change: kept)",
                    spec.vpc_cidr
                ));
            }
            actions.push(keep_or_update(VPC, &v.id, first, &lines));
        }
    }
    let igw_name = format!("{}-igw", spec.stack);
    match &s.igw {
        None => actions.push(
            Action::new(Op::Create, INTERNET_GATEWAY, &igw_name).detail("attached to the VPC"),
        ),
        Some(g) => {
            let mut lines = tag_changes(
                &s,
                &desired_tags(spec, &igw_name, INTERNET_GATEWAY, None),
                &g.tags,
            )
            .lines;
            let attached = s
                .vpc
                .as_ref()
                .is_some_and(|v| g.attached_to.contains(&v.id));
            if !attached {
                lines.push("attach to the VPC".into());
            }
            actions.push(keep_or_update(
                INTERNET_GATEWAY,
                &g.id,
                "owned".into(),
                &lines,
            ));
        }
    }
    let mut used = s.used_cidrs.clone();
    for tier in [PUBLIC_SUBNET, PRIVATE_SUBNET] {
        let pool = if tier == PUBLIC_SUBNET {
            &public_blocks
        } else {
            &private_blocks
        };
        for az in &s.zones {
            let name = subnet_name(spec, tier, az);
            match s.subnet(tier, az) {
                None => {
                    let cidr = free_block(pool, &used).unwrap_or_else(|| "no free block".into());
                    used.push(cidr.clone());
                    actions.push(
                        Action::new(Op::Create, SUBNET, &name)
                            .detail(format!("{} {cidr} in {az}", tier_word(tier))),
                    );
                }
                Some(sub) => {
                    let lines =
                        tag_changes(&s, &desired_tags(spec, &name, tier, Some(az)), &sub.tags)
                            .lines;
                    actions.push(keep_or_update(
                        SUBNET,
                        &sub.id,
                        format!("{} {} in {az}", tier_word(tier), sub.cidr),
                        &lines,
                    ));
                }
            }
        }
    }
    let pub_rt_name = format!("{}-public", spec.stack);
    match s.route_table(PUBLIC_RT, None) {
        None => actions.push(
            Action::new(Op::Create, ROUTE_TABLE, &pub_rt_name)
                .detail("0.0.0.0/0 -> internet gateway; the public subnets"),
        ),
        Some(rt) => {
            let mut lines = tag_changes(
                &s,
                &desired_tags(spec, &pub_rt_name, PUBLIC_RT, None),
                &rt.tags,
            )
            .lines;
            let igw = s.igw.as_ref().map(|g| g.id.as_str());
            if igw.is_none() || rt.default_target.as_deref() != igw {
                lines.push("route 0.0.0.0/0 -> internet gateway".into());
            }
            for az in &s.zones {
                if let Some(sub) = s.subnet(PUBLIC_SUBNET, az)
                    && !rt.associations.iter().any(|(id, _)| *id == sub.id)
                {
                    lines.push(format!("associate {}", sub.id));
                }
            }
            actions.push(keep_or_update(ROUTE_TABLE, &rt.id, "public".into(), &lines));
        }
    }
    for az in s.nat_zones(spec.nat) {
        let nat_name = format!("{}-nat-{az}", spec.stack);
        match s.nat_in(&az) {
            None => {
                if !s.eips.iter().any(|e| e.association_id.is_none()) {
                    actions.push(
                        Action::new(Op::Create, ELASTIC_IP, &nat_name)
                            .detail(format!("for the NAT gateway in {az}")),
                    );
                }
                actions.push(
                    Action::new(Op::Create, NAT_GATEWAY, &nat_name)
                        .detail(format!("in the public subnet of {az} ({} mode)", spec.nat)),
                );
            }
            Some(n) => {
                for eip in s.eips_of(n) {
                    let lines = tag_changes(
                        &s,
                        &desired_tags(spec, &nat_name, ELASTIC_IP, Some(&az)),
                        &eip.tags,
                    )
                    .lines;
                    actions.push(keep_or_update(
                        ELASTIC_IP,
                        &eip.allocation_id,
                        format!("used by {}", n.id),
                        &lines,
                    ));
                }
                let lines = tag_changes(
                    &s,
                    &desired_tags(spec, &nat_name, NAT_GATEWAY, Some(&az)),
                    &n.tags,
                )
                .lines;
                actions.push(keep_or_update(
                    NAT_GATEWAY,
                    &n.id,
                    format!("{} in {az}", n.state.as_str()),
                    &lines,
                ));
            }
        }
    }
    for az in &s.zones {
        let name = format!("{}-private-{az}", spec.stack);
        match s.route_table(PRIVATE_RT, Some(az)) {
            None => actions.push(Action::new(Op::Create, ROUTE_TABLE, &name).detail(format!(
                "0.0.0.0/0 -> NAT gateway; the private subnet in {az}"
            ))),
            Some(rt) => {
                let mut lines = tag_changes(
                    &s,
                    &desired_tags(spec, &name, PRIVATE_RT, Some(az)),
                    &rt.tags,
                )
                .lines;
                let nat = s.nat_for(az).map(|n| n.id.as_str());
                if nat.is_none() || rt.default_target.as_deref() != nat {
                    lines.push("route 0.0.0.0/0 -> NAT gateway".into());
                }
                if let Some(sub) = s.subnet(PRIVATE_SUBNET, az)
                    && !rt.associations.iter().any(|(id, _)| *id == sub.id)
                {
                    lines.push(format!("associate {}", sub.id));
                }
                actions.push(keep_or_update(
                    ROUTE_TABLE,
                    &rt.id,
                    format!("private, {az}"),
                    &lines,
                ));
            }
        }
    }
    if let Some(first) = actions.first_mut()
        && !s.leftover_vpcs.is_empty()
    {
        first.push_detail(format!(
            "other VPCs tagged for this stack ({}) are left over; `meshctl cleanup` removes them",
            s.leftover_vpcs.join(", ")
        ));
    }
    Ok(actions)
}

fn offline_plan(spec: &NetworkSpec) -> Vec<Action> {
    let zones = "2-3 availability zones";
    let nat = match spec.nat {
        NatMode::Single => "one, in the first zone".to_string(),
        NatMode::PerAz => format!("one per zone ({zones})"),
    };
    vec![
        Action::new(Op::Create, VPC, format!("{}-vpc", spec.stack))
            .detail(format!("{}, DNS support and hostnames on", spec.vpc_cidr)),
        Action::new(Op::Create, INTERNET_GATEWAY, format!("{}-igw", spec.stack))
            .detail("attached to the VPC"),
        Action::new(Op::Create, SUBNET, format!("{}-public-*", spec.stack))
            .detail(format!("one public subnet per zone ({zones})"))
            .detail("tagged kubernetes.io/role/elb=1"),
        Action::new(Op::Create, SUBNET, format!("{}-private-*", spec.stack))
            .detail(format!("one private subnet per zone ({zones})"))
            .detail("tagged kubernetes.io/role/internal-elb=1"),
        Action::new(Op::Create, ROUTE_TABLE, format!("{}-public", spec.stack))
            .detail("0.0.0.0/0 -> internet gateway; the public subnets"),
        Action::new(Op::Create, ELASTIC_IP, format!("{}-nat-*", spec.stack))
            .detail(format!("one per NAT gateway: {nat}")),
        Action::new(Op::Create, NAT_GATEWAY, format!("{}-nat-*", spec.stack))
            .detail(format!("{} mode: {nat}", spec.nat)),
        Action::new(Op::Create, ROUTE_TABLE, format!("{}-private-*", spec.stack))
            .detail(format!("one per zone ({zones}): 0.0.0.0/0 -> NAT gateway")),
    ]
}

fn free_block(pool: &[String], used: &[String]) -> Option<String> {
    pool.iter()
        .find(|b| !used.iter().any(|u| overlaps(b, u)))
        .cloned()
}

/// The adopted subnets, checked: all exist, one VPC, at least two zones.
async fn adopted_subnets(client: &Client, ids: &[String]) -> Result<Vec<SubnetInfo>, Error> {
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let found = subnets(client, vec![filter("subnet-id", &refs[..])]).await?;
    let missing: Vec<&str> = refs
        .iter()
        .copied()
        .filter(|id| !found.iter().any(|s| s.id == *id))
        .collect();
    if !missing.is_empty() {
        return Err(Error::config(
            format!(
                "cluster.subnet_ids: subnet {} does not exist in this account and region",
                missing.join(", ")
            ),
            "check the ids (`aws ec2 describe-subnets`) and the region, or remove cluster.subnet_ids to let meshctl create a VPC",
        ));
    }
    let vpcs: BTreeSet<&str> = found.iter().map(|s| s.vpc_id.as_str()).collect();
    if vpcs.len() > 1 {
        return Err(Error::config(
            format!(
                "cluster.subnet_ids: the subnets are in more than one VPC ({})",
                vpcs.into_iter().collect::<Vec<_>>().join(", ")
            ),
            "give subnets of one VPC only",
        ));
    }
    let zones: BTreeSet<&str> = found.iter().map(|s| s.az.as_str()).collect();
    if zones.len() < MIN_ZONES {
        return Err(Error::config(
            format!(
                "cluster.subnet_ids: the subnets are all in {}; EKS needs subnets in at least {MIN_ZONES} availability zones",
                zones.into_iter().collect::<Vec<_>>().join(", ")
            ),
            "add a subnet of the same VPC in another availability zone",
        ));
    }
    // In the order the config gives them.
    let mut ordered = vec![];
    for id in ids {
        if let Some(s) = found.iter().find(|s| s.id == *id)
            && !ordered.iter().any(|o: &SubnetInfo| o.id == s.id)
        {
            ordered.push(s.clone());
        }
    }
    Ok(ordered)
}

// ---------------------------------------------------------------------------------------
// ensure
// ---------------------------------------------------------------------------------------

/// Find (by the stack tag first) or create the stack's network; or check and adopt the
/// configured subnets. Records each created resource in the ledger before the next call.
/// Does not wait for NAT gateways: call [`wait_nat`] and [`route_private_subnets`] before
/// creating nodes.
pub async fn ensure(ctx: &StepCtx, spec: &NetworkSpec) -> Result<Network, Error> {
    let client = ctx.aws()?.ec2();
    if !spec.adopt_subnet_ids.is_empty() {
        return adopted_network(&client, &spec.adopt_subnet_ids).await;
    }
    let Some((private_blocks, public_blocks)) = blocks(&spec.vpc_cidr) else {
        return Err(bad_cidr(spec));
    };
    let region = ctx.placement().region;
    let run_id = ctx.ledger.run_id().await;
    ctx.progress.message("looking for the stack's VPC");
    let mut s = survey(ctx, &client, spec).await?;
    let record =
        |kind: &str, id: &str| Resource::new(StepId::Cluster, kind, id).with("region", &region);

    // VPC
    let vpc_name = format!("{}-vpc", spec.stack);
    let vpc_tags = desired_tags(spec, &vpc_name, VPC, None);
    let vpc_id = match &s.vpc {
        Some(v) => {
            retag(&client, &v.id, &tag_changes(&s, &vpc_tags, &v.tags)).await?;
            v.id.clone()
        }
        None => {
            ctx.progress
                .message(&format!("creating VPC {vpc_name} ({})", spec.vpc_cidr));
            let out = client
                .create_vpc()
                .cidr_block(&spec.vpc_cidr)
                .tag_specifications(tag_spec(ResourceType::Vpc, &vpc_tags))
                .send()
                .await
                .map_err(|e| sdk_error("ec2", "CreateVpc", &e))?;
            let id = out
                .vpc()
                .and_then(|v| v.vpc_id())
                .ok_or_else(|| missing_id("CreateVpc", "VPC"))?
                .to_string();
            ctx.ledger.record(record(VPC, &id)).await?;
            s.dns_support = true; // the default for a new VPC
            id
        }
    };
    if !s.dns_support {
        modify_dns(&client, &vpc_id, VpcAttributeName::EnableDnsSupport).await?;
    }
    if !s.dns_hostnames {
        modify_dns(&client, &vpc_id, VpcAttributeName::EnableDnsHostnames).await?;
    }

    // Internet gateway
    let igw_name = format!("{}-igw", spec.stack);
    let igw_tags = desired_tags(spec, &igw_name, INTERNET_GATEWAY, None);
    let igw_id = match &s.igw {
        Some(g) => {
            retag(&client, &g.id, &tag_changes(&s, &igw_tags, &g.tags)).await?;
            if !g.attached_to.contains(&vpc_id) {
                attach_igw(&client, &g.id, &vpc_id).await?;
            }
            g.id.clone()
        }
        None => {
            ctx.progress.message("creating the internet gateway");
            let out = client
                .create_internet_gateway()
                .tag_specifications(tag_spec(ResourceType::InternetGateway, &igw_tags))
                .send()
                .await
                .map_err(|e| sdk_error("ec2", "CreateInternetGateway", &e))?;
            let id = out
                .internet_gateway()
                .and_then(|g| g.internet_gateway_id())
                .ok_or_else(|| missing_id("CreateInternetGateway", "internet gateway"))?
                .to_string();
            ctx.ledger
                .record(record(INTERNET_GATEWAY, &id).with("vpc_id", &vpc_id))
                .await?;
            attach_igw(&client, &id, &vpc_id).await?;
            id
        }
    };

    // Subnets
    let mut used = s.used_cidrs.clone();
    let zones = s.zones.clone();
    for tier in [PUBLIC_SUBNET, PRIVATE_SUBNET] {
        let pool = if tier == PUBLIC_SUBNET {
            &public_blocks
        } else {
            &private_blocks
        };
        for az in &zones {
            let name = subnet_name(spec, tier, az);
            let want = desired_tags(spec, &name, tier, Some(az));
            if let Some(sub) = s.subnet(tier, az) {
                retag(&client, &sub.id, &tag_changes(&s, &want, &sub.tags)).await?;
                continue;
            }
            let cidr = free_block(pool, &used).ok_or_else(|| {
                Error::config(
                    format!(
                        "no free {} block left in {} for a subnet in {az}",
                        tier_word(tier),
                        spec.vpc_cidr
                    ),
                    "remove subnets that are not meshctl's from the VPC, or run `meshctl cleanup --only cluster` and use a larger cluster.vpc_cidr",
                )
            })?;
            ctx.progress
                .message(&format!("creating subnet {name} ({cidr})"));
            let out = client
                .create_subnet()
                .vpc_id(&vpc_id)
                .cidr_block(&cidr)
                .availability_zone(az)
                .tag_specifications(tag_spec(ResourceType::Subnet, &want))
                .send()
                .await
                .map_err(|e| sdk_error("ec2", "CreateSubnet", &e))?;
            let id = out
                .subnet()
                .and_then(|x| x.subnet_id())
                .ok_or_else(|| missing_id("CreateSubnet", "subnet"))?
                .to_string();
            ctx.ledger
                .record(record(SUBNET, &id).with("vpc_id", &vpc_id))
                .await?;
            used.push(cidr.clone());
            s.subnets.push(SubnetInfo {
                id,
                vpc_id: vpc_id.clone(),
                az: az.clone(),
                cidr,
                tags: want,
            });
        }
    }

    // Public route table
    let pub_rt_name = format!("{}-public", spec.stack);
    let pub_rt_tags = desired_tags(spec, &pub_rt_name, PUBLIC_RT, None);
    let pub_rt = ensure_route_table(
        ctx,
        &client,
        &s,
        &vpc_id,
        PUBLIC_RT,
        None,
        &pub_rt_tags,
        &record,
        &run_id,
    )
    .await?;
    set_default_route(&client, &pub_rt, Target::Gateway(&igw_id)).await?;
    let public_ids = s.network(vpc_id.clone()).public_subnet_ids;
    associate(&client, &vpc_id, &pub_rt, &public_ids).await?;

    // Elastic IPs and NAT gateways
    for az in s.nat_zones(spec.nat) {
        if let Some(n) = s.nat_in(&az).cloned() {
            let name = format!("{}-nat-{az}", spec.stack);
            for eip in s.eips_of(&n) {
                let want = desired_tags(spec, &name, ELASTIC_IP, Some(&az));
                retag(
                    &client,
                    &eip.allocation_id,
                    &tag_changes(&s, &want, &eip.tags),
                )
                .await?;
            }
            let want = desired_tags(spec, &name, NAT_GATEWAY, Some(&az));
            retag(&client, &n.id, &tag_changes(&s, &want, &n.tags)).await?;
            continue;
        }
        let Some(subnet_id) = s.subnet(PUBLIC_SUBNET, &az).map(|x| x.id.clone()) else {
            continue;
        };
        let name = format!("{}-nat-{az}", spec.stack);
        // An Elastic IP of the stack not in use (left by an interrupted run), else a new one.
        let free = s
            .eips
            .iter()
            .position(|e| e.association_id.is_none() && zone(&e.tags).is_none_or(|z| z == az));
        let allocation_id = match free {
            Some(i) => s.eips.remove(i).allocation_id,
            None => {
                ctx.progress.message(&format!(
                    "allocating an Elastic IP for the NAT gateway in {az}"
                ));
                let out = client
                    .allocate_address()
                    .domain(DomainType::Vpc)
                    .tag_specifications(tag_spec(
                        ResourceType::ElasticIp,
                        &desired_tags(spec, &name, ELASTIC_IP, Some(&az)),
                    ))
                    .send()
                    .await
                    .map_err(|e| sdk_error("ec2", "AllocateAddress", &e))?;
                let id = out
                    .allocation_id()
                    .ok_or_else(|| missing_id("AllocateAddress", "Elastic IP"))?
                    .to_string();
                ctx.ledger.record(record(ELASTIC_IP, &id)).await?;
                id
            }
        };
        ctx.progress
            .message(&format!("creating NAT gateway {name}"));
        let want = desired_tags(spec, &name, NAT_GATEWAY, Some(&az));
        let out = client
            .create_nat_gateway()
            .subnet_id(&subnet_id)
            .allocation_id(&allocation_id)
            .client_token(crate::aws::client_token(
                &spec.stack,
                &run_id,
                &format!("nat-gateway-{az}"),
            ))
            .tag_specifications(tag_spec(ResourceType::Natgateway, &want))
            .send()
            .await
            .map_err(|e| sdk_error("ec2", "CreateNatGateway", &e))?;
        let nat = out
            .nat_gateway()
            .ok_or_else(|| missing_id("CreateNatGateway", "NAT gateway"))?;
        let id = nat
            .nat_gateway_id()
            .ok_or_else(|| missing_id("CreateNatGateway", "NAT gateway"))?
            .to_string();
        ctx.ledger
            .record(
                record(NAT_GATEWAY, &id)
                    .with("vpc_id", &vpc_id)
                    .with("allocation_id", &allocation_id),
            )
            .await?;
        s.nats.push(NatInfo {
            id,
            subnet_id,
            state: nat.state().cloned().unwrap_or(NatGatewayState::Pending),
            allocation_ids: vec![allocation_id],
            tags: want,
        });
    }

    // Private route tables, one per zone
    for az in &zones {
        let name = format!("{}-private-{az}", spec.stack);
        let want = desired_tags(spec, &name, PRIVATE_RT, Some(az));
        let rt = ensure_route_table(
            ctx,
            &client,
            &s,
            &vpc_id,
            PRIVATE_RT,
            Some(az),
            &want,
            &record,
            &run_id,
        )
        .await?;
        // The route is set once the NAT gateway is available (now, or in `route_private_subnets`).
        if let Some(nat) = s.nat_for(az)
            && nat.state == NatGatewayState::Available
        {
            set_default_route(&client, &rt, Target::Nat(&nat.id)).await?;
        }
        if let Some(sub) = s.subnet(PRIVATE_SUBNET, az) {
            associate(&client, &vpc_id, &rt, std::slice::from_ref(&sub.id)).await?;
        }
    }

    Ok(s.network(vpc_id))
}

/// The network [`ensure`] made or adopted, found without changing anything: `None` when the
/// stack has no VPC of its own yet.
pub async fn find(ctx: &StepCtx, spec: &NetworkSpec) -> Result<Option<Network>, Error> {
    let client = ctx.aws()?.ec2();
    if !spec.adopt_subnet_ids.is_empty() {
        return adopted_network(&client, &spec.adopt_subnet_ids)
            .await
            .map(Some);
    }
    let s = survey(ctx, &client, spec).await?;
    Ok(s.vpc.as_ref().map(|v| s.network(v.id.clone())))
}

/// The adopted subnets as a network meshctl does not own.
async fn adopted_network(client: &Client, ids: &[String]) -> Result<Network, Error> {
    let found = adopted_subnets(client, ids).await?;
    let zones: BTreeSet<String> = found.iter().map(|s| s.az.clone()).collect();
    Ok(Network {
        vpc_id: found.first().map(|s| s.vpc_id.clone()).unwrap_or_default(),
        public_subnet_ids: vec![],
        private_subnet_ids: found.iter().map(|s| s.id.clone()).collect(),
        availability_zones: zones.into_iter().collect(),
        owned: false,
        nat_gateway_ids: vec![],
    })
}

fn missing_id(operation: &'static str, what: &str) -> Error {
    Error::Aws {
        service: "ec2",
        operation,
        message: format!("the answer carries no {what} id"),
        help: "run the command again; it finds what was created by its tags".into(),
    }
}

async fn modify_dns(client: &Client, vpc_id: &str, attr: VpcAttributeName) -> Result<(), Error> {
    let on = AttributeBooleanValue::builder().value(true).build();
    let req = client.modify_vpc_attribute().vpc_id(vpc_id);
    let req = match attr {
        VpcAttributeName::EnableDnsHostnames => req.enable_dns_hostnames(on),
        _ => req.enable_dns_support(on),
    };
    req.send()
        .await
        .map_err(|e| sdk_error("ec2", "ModifyVpcAttribute", &e))?;
    Ok(())
}

async fn attach_igw(client: &Client, igw: &str, vpc_id: &str) -> Result<(), Error> {
    client
        .attach_internet_gateway()
        .internet_gateway_id(igw)
        .vpc_id(vpc_id)
        .send()
        .await
        .map_err(|e| sdk_error("ec2", "AttachInternetGateway", &e))?;
    Ok(())
}

/// A route table as far as ensure needs it: its id, current default target and associations.
struct RtState {
    id: String,
    default_target: Option<String>,
    associations: Vec<(String, String)>,
}

#[allow(clippy::too_many_arguments)]
async fn ensure_route_table(
    ctx: &StepCtx,
    client: &Client,
    s: &Survey,
    vpc_id: &str,
    rt_part: &str,
    az: Option<&str>,
    want: &HashMap<String, String>,
    record: &impl Fn(&str, &str) -> Resource,
    run_id: &str,
) -> Result<RtState, Error> {
    if let Some(rt) = s.route_table(rt_part, az) {
        retag(client, &rt.id, &tag_changes(s, want, &rt.tags)).await?;
        return Ok(RtState {
            id: rt.id.clone(),
            default_target: rt.default_target.clone(),
            associations: rt.associations.clone(),
        });
    }
    let name = want.get("Name").cloned().unwrap_or_default();
    ctx.progress
        .message(&format!("creating route table {name}"));
    let out = client
        .create_route_table()
        .vpc_id(vpc_id)
        .client_token(crate::aws::client_token(vpc_id, run_id, &name))
        .tag_specifications(tag_spec(ResourceType::RouteTable, want))
        .send()
        .await
        .map_err(|e| sdk_error("ec2", "CreateRouteTable", &e))?;
    let id = out
        .route_table()
        .and_then(|r| r.route_table_id())
        .ok_or_else(|| missing_id("CreateRouteTable", "route table"))?
        .to_string();
    ctx.ledger
        .record(record(ROUTE_TABLE, &id).with("vpc_id", vpc_id))
        .await?;
    Ok(RtState {
        id,
        default_target: None,
        associations: vec![],
    })
}

#[derive(Clone, Copy)]
enum Target<'a> {
    Gateway(&'a str),
    Nat(&'a str),
}

async fn set_default_route(client: &Client, rt: &RtState, target: Target<'_>) -> Result<(), Error> {
    let id = match target {
        Target::Gateway(id) | Target::Nat(id) => id,
    };
    if rt.default_target.as_deref() == Some(id) {
        return Ok(());
    }
    if rt.default_target.is_none() {
        let req = client
            .create_route()
            .route_table_id(&rt.id)
            .destination_cidr_block(DEFAULT_ROUTE);
        let req = match target {
            Target::Gateway(g) => req.gateway_id(g),
            Target::Nat(n) => req.nat_gateway_id(n),
        };
        req.send()
            .await
            .map_err(|e| sdk_error("ec2", "CreateRoute", &e))?;
    } else {
        let req = client
            .replace_route()
            .route_table_id(&rt.id)
            .destination_cidr_block(DEFAULT_ROUTE);
        let req = match target {
            Target::Gateway(g) => req.gateway_id(g),
            Target::Nat(n) => req.nat_gateway_id(n),
        };
        req.send()
            .await
            .map_err(|e| sdk_error("ec2", "ReplaceRoute", &e))?;
    }
    Ok(())
}

/// Associate `subnet_ids` with `rt`; a subnet associated with another route table of the VPC
/// is moved.
async fn associate(
    client: &Client,
    vpc_id: &str,
    rt: &RtState,
    subnet_ids: &[String],
) -> Result<(), Error> {
    let missing: Vec<&String> = subnet_ids
        .iter()
        .filter(|id| !rt.associations.iter().any(|(s, _)| s == *id))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let tables = route_tables(client, vec![filter("vpc-id", &[vpc_id])]).await?;
    for subnet in missing {
        let elsewhere = tables.iter().find_map(|t| {
            t.associations
                .iter()
                .find(|(s, _)| s == subnet)
                .map(|(_, a)| a.clone())
        });
        match elsewhere {
            Some(assoc) => {
                client
                    .replace_route_table_association()
                    .association_id(assoc)
                    .route_table_id(&rt.id)
                    .send()
                    .await
                    .map_err(|e| sdk_error("ec2", "ReplaceRouteTableAssociation", &e))?;
            }
            None => {
                client
                    .associate_route_table()
                    .route_table_id(&rt.id)
                    .subnet_id(subnet)
                    .send()
                    .await
                    .map_err(|e| sdk_error("ec2", "AssociateRouteTable", &e))?;
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// wait_nat
// ---------------------------------------------------------------------------------------

/// Wait until every NAT gateway of `net` is available (a failed one is an error). No-op for
/// adopted subnets.
pub async fn wait_nat(ctx: &StepCtx, net: &Network) -> Result<(), Error> {
    if !net.owned || net.nat_gateway_ids.is_empty() {
        return Ok(());
    }
    let client = ctx.aws()?.ec2();
    let ids = net.nat_gateway_ids.join(", ");
    let what = format!("NAT gateway(s) {ids} to become available");
    ctx.wait_for(&what, NAT_POLL, || async {
        let out = client
            .describe_nat_gateways()
            .set_nat_gateway_ids(Some(net.nat_gateway_ids.clone()))
            .send()
            .await
            .map_err(|e| sdk_error("ec2", "DescribeNatGateways", &e))?;
        let mut all = true;
        for n in out.nat_gateways() {
            let id = n.nat_gateway_id().unwrap_or_default();
            match n.state() {
                Some(NatGatewayState::Available) => {}
                Some(NatGatewayState::Failed | NatGatewayState::Deleted | NatGatewayState::Deleting) => {
                    return Err(Error::Aws {
                        service: "ec2",
                        operation: "CreateNatGateway",
                        message: format!(
                            "NAT gateway {id} is {}: {}",
                            n.state().map(|s| s.as_str()).unwrap_or("gone"),
                            n.failure_message().unwrap_or("no reason given")
                        ),
                        help: "run `meshctl cleanup --only cluster`, then try again (a failed NAT gateway is often an Elastic IP quota)".into(),
                    });
                }
                _ => all = false,
            }
        }
        Ok(all.then_some(()))
    })
    .await?;
    Ok(())
}

/// Point each private route table at its zone's NAT gateway (else the first one), once the NAT
/// gateways are available: the routes `ensure` could not set while they were pending. Makes
/// no call for a route that is already right.
pub async fn route_private_subnets(ctx: &StepCtx, net: &Network) -> Result<(), Error> {
    if !net.owned || net.nat_gateway_ids.is_empty() {
        return Ok(());
    }
    let client = ctx.aws()?.ec2();
    let stack = ctx.config.name.clone();
    let vf = || filter("vpc-id", &[&net.vpc_id]);
    let subs = subnets(&client, vec![vf(), stack_filter(&stack)]).await?;
    let nats: Vec<NatInfo> = nat_gateways(&client, vec![vf()], Some(&stack))
        .await?
        .into_iter()
        .filter(|n| n.state == NatGatewayState::Available)
        .collect();
    let nat_in = |az: &str| {
        let ids: Vec<&str> = subs
            .iter()
            .filter(|x| x.az == az)
            .map(|x| x.id.as_str())
            .collect();
        nats.iter().find(|n| ids.contains(&n.subnet_id.as_str()))
    };
    for rt in route_tables(&client, vec![vf(), stack_filter(&stack)]).await? {
        if part(&rt.tags) != Some(PRIVATE_RT) {
            continue;
        }
        let Some(az) = zone(&rt.tags) else { continue };
        let Some(nat) = nat_in(az).or_else(|| nats.first()) else {
            continue;
        };
        let state = RtState {
            id: rt.id.clone(),
            default_target: rt.default_target.clone(),
            associations: rt.associations.clone(),
        };
        set_default_route(&client, &state, Target::Nat(&nat.id)).await?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// wait_load_balancers_gone
// ---------------------------------------------------------------------------------------

/// Before nodegroups are deleted: wait until no ELBv2 load balancer in the VPC belongs to the
/// cluster (tag `kubernetes.io/cluster/<name>`, `elbv2.k8s.aws/cluster=<name>`, or a `k8s-…`
/// name) and no load balancer network interface ("ELB …") is left in the VPC.
pub async fn wait_load_balancers_gone(
    ctx: &StepCtx,
    vpc_id: &str,
    cluster_name: &str,
) -> Result<(), Error> {
    let aws = ctx.aws()?;
    let elb = aws.elbv2();
    let ec2 = aws.ec2();
    let last = std::sync::Mutex::new(String::new());
    let result = ctx
        .wait_for(
            &format!("the cluster's load balancers in {vpc_id} to be deleted"),
            LB_POLL,
            || async {
                let mut holders = cluster_load_balancers(&elb, vpc_id, cluster_name).await?;
                let enis = ec2
                    .describe_network_interfaces()
                    .filters(filter("vpc-id", &[vpc_id]))
                    .filters(filter("description", &["ELB *"]))
                    .into_paginator()
                    .items()
                    .send()
                    .try_collect()
                    .await
                    .map_err(|e| sdk_error("ec2", "DescribeNetworkInterfaces", &e))?;
                for eni in enis {
                    holders.push(format!(
                        "network interface {} ({})",
                        eni.network_interface_id().unwrap_or_default(),
                        eni.description().unwrap_or_default()
                    ));
                }
                if holders.is_empty() {
                    return Ok(Some(()));
                }
                let text = holders.join(", ");
                ctx.progress
                    .waiting(&format!("load balancers to be deleted: {text}"));
                *last
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = text;
                Ok(None)
            },
        )
        .await;
    match result {
        Err(Error::Timeout { after, .. }) => {
            let left = last
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clone();
            Err(Error::Timeout {
                what: format!(
                    "the cluster's load balancers in {vpc_id} to be deleted; still there: {left}"
                ),
                after,
            })
        }
        other => other,
    }
}

async fn cluster_load_balancers(
    elb: &aws_sdk_elasticloadbalancingv2::Client,
    vpc_id: &str,
    cluster: &str,
) -> Result<Vec<String>, Error> {
    let lbs = elb
        .describe_load_balancers()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| sdk_error("elbv2", "DescribeLoadBalancers", &e))?;
    let in_vpc: Vec<(String, String)> = lbs
        .iter()
        .filter(|lb| lb.vpc_id() == Some(vpc_id))
        .filter_map(|lb| {
            Some((
                lb.load_balancer_arn()?.to_string(),
                lb.load_balancer_name().unwrap_or_default().to_string(),
            ))
        })
        .collect();
    let mut found = vec![];
    let cluster_key = format!("kubernetes.io/cluster/{cluster}");
    for chunk in in_vpc.chunks(20) {
        let out = elb
            .describe_tags()
            .set_resource_arns(Some(chunk.iter().map(|(a, _)| a.clone()).collect()))
            .send()
            .await
            .map_err(|e| sdk_error("elbv2", "DescribeTags", &e))?;
        for (arn, name) in chunk {
            let tags: HashMap<&str, &str> = out
                .tag_descriptions()
                .iter()
                .filter(|d| d.resource_arn() == Some(arn.as_str()))
                .flat_map(|d| d.tags())
                .filter_map(|t| Some((t.key()?, t.value().unwrap_or_default())))
                .collect();
            let ours = tags.contains_key(cluster_key.as_str())
                || tags.get("elbv2.k8s.aws/cluster") == Some(&cluster)
                || name.starts_with("k8s-");
            if ours {
                found.push(format!("load balancer {name} ({arn})"));
            }
        }
    }
    Ok(found)
}

// ---------------------------------------------------------------------------------------
// destroy
// ---------------------------------------------------------------------------------------

/// What holds a resource that cannot be deleted yet: network interfaces in it.
enum Holder<'a> {
    /// Nothing to look up (a route table is held by routes and associations, not interfaces).
    Nothing,
    Subnet(&'a str),
    Vpc(&'a str),
    Group(&'a str),
}

async fn holders(client: &Client, holder: &Holder<'_>) -> Result<Vec<String>, Error> {
    let f = match holder {
        Holder::Nothing => return Ok(vec![]),
        Holder::Subnet(id) => filter("subnet-id", &[id]),
        Holder::Vpc(id) => filter("vpc-id", &[id]),
        Holder::Group(id) => filter("group-id", &[id]),
    };
    let enis = client
        .describe_network_interfaces()
        .filters(f)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| sdk_error("ec2", "DescribeNetworkInterfaces", &e))?;
    Ok(enis
        .iter()
        .map(|e| {
            let mut who = vec![];
            if let Some(r) = e.requester_id() {
                who.push(format!("requester {r}"));
            } else if e.requester_managed() == Some(true) {
                who.push("requester-managed".to_string());
            }
            if let Some(o) = e.owner_id() {
                who.push(format!("owner {o}"));
            }
            if let Some(i) = e.attachment().and_then(|a| a.instance_id()) {
                who.push(format!("attached to {i}"));
            }
            format!(
                "{} \"{}\" ({})",
                e.network_interface_id().unwrap_or_default(),
                e.description().unwrap_or_default(),
                who.join(", ")
            )
        })
        .collect())
}

/// Run a delete call; `Ok(false)` when the resource was already gone. On
/// `DependencyViolation`, retry with backoff until `--timeout`, then fail naming the network
/// interfaces that still hold it.
async fn delete_retrying<T, E, R, F, Fut>(
    ctx: &StepCtx,
    client: &Client,
    operation: &'static str,
    what: &str,
    holder: Holder<'_>,
    mut call: F,
) -> Result<bool, Error>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, SdkError<E, R>>>,
    E: std::error::Error + ProvideErrorMetadata + 'static,
    R: std::fmt::Debug,
{
    let started = Instant::now();
    let mut backoff = RETRY_FIRST;
    loop {
        let err = match call().await {
            Ok(_) => return Ok(true),
            Err(e) => e,
        };
        let c = code(&err);
        if is_not_found(c) {
            return Ok(false);
        }
        if c != Some("DependencyViolation") {
            return Err(sdk_error("ec2", operation, &err));
        }
        if started.elapsed() >= ctx.options.timeout {
            let held = holders(client, &holder).await?;
            let by = if held.is_empty() {
                "no network interface is left in it; another dependency (a route, gateway or security group rule) holds it".to_string()
            } else {
                format!("held by {}", held.join("; "))
            };
            return Err(Error::Aws {
                service: "ec2",
                operation,
                message: format!(
                    "{what} still has dependencies after {} of retries (DependencyViolation): {by}",
                    humantime::format_duration(Duration::from_secs(started.elapsed().as_secs()))
                ),
                help: "delete what holds it (a load balancer's interface goes with its Kubernetes Service of type LoadBalancer or Ingress; an instance's with the instance), then run `meshctl cleanup` again".into(),
            });
        }
        let wait = ctx.poll(backoff);
        ctx.progress.message(&format!(
            "{what} still has dependencies (DependencyViolation); retrying in {}",
            humantime::format_duration(wait)
        ));
        tokio::select! {
            _ = ctx.cancel.cancelled() => return Err(Error::Interrupted),
            _ = tokio::time::sleep(wait) => {}
        }
        backoff = (backoff * 2).min(RETRY_MAX);
    }
}

/// Everything of the stack's network, as found for cleanup.
struct Doomed {
    vpcs: Vec<VpcInfo>,
    nats: Vec<NatInfo>,
    eips: Vec<EipInfo>,
    route_tables: Vec<RouteTableInfo>,
    igws: Vec<IgwInfo>,
    subnets: Vec<SubnetInfo>,
    groups: Vec<(String, String)>,
}

async fn doomed(client: &Client, stack: &str) -> Result<Doomed, Error> {
    let vpcs = tagged_vpcs(client, stack).await?;
    let ids: Vec<&str> = vpcs.iter().map(|v| v.id.as_str()).collect();
    let mut d = Doomed {
        vpcs: vpcs.clone(),
        nats: vec![],
        eips: elastic_ips(client, vec![stack_filter(stack)]).await?,
        route_tables: vec![],
        igws: internet_gateways(client, vec![stack_filter(stack)]).await?,
        subnets: vec![],
        groups: vec![],
    };
    if ids.is_empty() {
        return Ok(d);
    }
    let vf = || filter("vpc-id", &ids[..]);
    d.nats = nat_gateways(client, vec![vf()], Some(stack))
        .await?
        .into_iter()
        .filter(live)
        .collect();
    d.route_tables = route_tables(client, vec![vf(), stack_filter(stack)])
        .await?
        .into_iter()
        .filter(|r| !r.main)
        .collect();
    d.subnets = subnets(client, vec![vf(), stack_filter(stack)]).await?;
    let groups = client
        .describe_security_groups()
        .filters(vf())
        .filters(stack_filter(stack))
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| sdk_error("ec2", "DescribeSecurityGroups", &e))?;
    d.groups = groups
        .iter()
        .filter(|g| g.group_name() != Some("default"))
        .filter_map(|g| {
            Some((
                g.group_id()?.to_string(),
                g.group_name().unwrap_or_default().to_string(),
            ))
        })
        .collect();
    Ok(d)
}

/// What destroy would delete (only resources carrying `meshctl.io/stack=<stack>`).
pub async fn destroy_plan(ctx: &StepCtx, stack: &str) -> Result<Vec<Action>, Error> {
    let Some(aws) = &ctx.aws else {
        return Ok(vec![]);
    };
    let d = doomed(&aws.ec2(), stack).await?;
    let mut actions = vec![];
    let name = |tags: &HashMap<String, String>| {
        tags.get("Name")
            .map(|n| format!("{n}, tagged {STACK_TAG}={stack}"))
            .unwrap_or_else(|| format!("tagged {STACK_TAG}={stack}"))
    };
    for n in &d.nats {
        actions.push(Action::new(Op::Delete, NAT_GATEWAY, &n.id).detail(name(&n.tags)));
    }
    for e in &d.eips {
        actions.push(Action::new(Op::Delete, ELASTIC_IP, &e.allocation_id).detail(name(&e.tags)));
    }
    for r in &d.route_tables {
        actions.push(Action::new(Op::Delete, ROUTE_TABLE, &r.id).detail(name(&r.tags)));
    }
    for g in &d.igws {
        actions.push(Action::new(Op::Delete, INTERNET_GATEWAY, &g.id).detail(name(&g.tags)));
    }
    for s in &d.subnets {
        actions.push(Action::new(Op::Delete, SUBNET, &s.id).detail(name(&s.tags)));
    }
    for (id, group) in &d.groups {
        actions.push(
            Action::new(Op::Delete, "security-group", id)
                .detail(format!("{group}, tagged {STACK_TAG}={stack}")),
        );
    }
    for v in &d.vpcs {
        actions.push(Action::new(Op::Delete, VPC, &v.id).detail(name(&v.tags)));
    }
    Ok(actions)
}

/// Delete every network resource tagged for the stack, in dependency order, waiting for each.
pub async fn destroy(ctx: &StepCtx, stack: &str) -> Result<Vec<Action>, Error> {
    let client = ctx.aws()?.ec2();
    let d = doomed(&client, stack).await?;
    let mut done = vec![];
    // NAT gateways first (they hold Elastic IPs and an interface in a public subnet).
    for n in &d.nats {
        ctx.progress
            .message(&format!("deleting NAT gateway {}", n.id));
        if delete_nat(&client, &n.id).await? {
            done.push(Action::new(Op::Delete, NAT_GATEWAY, &n.id));
        }
    }
    for n in &d.nats {
        wait_nat_deleted(ctx, &client, &n.id).await?;
    }
    for e in &d.eips {
        ctx.progress
            .message(&format!("releasing Elastic IP {}", e.allocation_id));
        if release_eip(&client, &e.allocation_id).await? {
            done.push(Action::new(Op::Delete, ELASTIC_IP, &e.allocation_id));
        }
    }
    for r in &d.route_tables {
        ctx.progress
            .message(&format!("deleting route table {}", r.id));
        if delete_route_table(ctx, &client, &r.id).await? {
            done.push(Action::new(Op::Delete, ROUTE_TABLE, &r.id));
        }
    }
    for g in &d.igws {
        ctx.progress
            .message(&format!("deleting internet gateway {}", g.id));
        if delete_igw(ctx, &client, &g.id).await? {
            done.push(Action::new(Op::Delete, INTERNET_GATEWAY, &g.id));
        }
    }
    for s in &d.subnets {
        ctx.progress.message(&format!("deleting subnet {}", s.id));
        if delete_subnet(ctx, &client, &s.id).await? {
            done.push(Action::new(Op::Delete, SUBNET, &s.id));
        }
    }
    for (id, name) in &d.groups {
        ctx.progress
            .message(&format!("deleting security group {id} ({name})"));
        if delete_group(ctx, &client, id).await? {
            done.push(Action::new(Op::Delete, "security-group", id));
        }
    }
    for v in &d.vpcs {
        ctx.progress.message(&format!("deleting VPC {}", v.id));
        if delete_vpc(ctx, &client, &v.id).await? {
            done.push(Action::new(Op::Delete, VPC, &v.id));
        }
    }
    Ok(done)
}

async fn delete_nat(client: &Client, id: &str) -> Result<bool, Error> {
    match client.delete_nat_gateway().nat_gateway_id(id).send().await {
        Ok(_) => Ok(true),
        Err(e) if is_not_found(code(&e)) => Ok(false),
        Err(e) => Err(sdk_error("ec2", "DeleteNatGateway", &e)),
    }
}

async fn wait_nat_deleted(ctx: &StepCtx, client: &Client, id: &str) -> Result<(), Error> {
    ctx.wait_for(
        &format!("NAT gateway {id} to be deleted"),
        NAT_POLL,
        || async {
            match client
                .describe_nat_gateways()
                .nat_gateway_ids(id)
                .send()
                .await
            {
                Ok(out) => Ok(out
                    .nat_gateways()
                    .iter()
                    .all(|n| {
                        matches!(
                            n.state(),
                            Some(NatGatewayState::Deleted) | Some(NatGatewayState::Failed)
                        )
                    })
                    .then_some(())),
                Err(e) if is_not_found(code(&e)) => Ok(Some(())),
                Err(e) => Err(sdk_error("ec2", "DescribeNatGateways", &e)),
            }
        },
    )
    .await
}

async fn release_eip(client: &Client, allocation_id: &str) -> Result<bool, Error> {
    match client
        .release_address()
        .allocation_id(allocation_id)
        .send()
        .await
    {
        Ok(_) => Ok(true),
        Err(e) if is_not_found(code(&e)) => Ok(false),
        Err(e) => Err(sdk_error("ec2", "ReleaseAddress", &e)),
    }
}

async fn delete_route_table(ctx: &StepCtx, client: &Client, id: &str) -> Result<bool, Error> {
    let found = route_tables(client, vec![filter("route-table-id", &[id])]).await?;
    let Some(rt) = found.first() else {
        return Ok(false);
    };
    for (_, assoc) in &rt.associations {
        match client
            .disassociate_route_table()
            .association_id(assoc)
            .send()
            .await
        {
            Ok(_) => {}
            Err(e) if is_not_found(code(&e)) => {}
            Err(e) => return Err(sdk_error("ec2", "DisassociateRouteTable", &e)),
        }
    }
    delete_retrying(
        ctx,
        client,
        "DeleteRouteTable",
        &format!("route table {id}"),
        Holder::Nothing,
        || client.delete_route_table().route_table_id(id).send(),
    )
    .await
}

async fn delete_igw(ctx: &StepCtx, client: &Client, id: &str) -> Result<bool, Error> {
    let found = internet_gateways(client, vec![filter("internet-gateway-id", &[id])]).await?;
    let Some(g) = found.first() else {
        return Ok(false);
    };
    for vpc in &g.attached_to {
        delete_retrying(
            ctx,
            client,
            "DetachInternetGateway",
            &format!("internet gateway {id}"),
            Holder::Vpc(vpc),
            || {
                client
                    .detach_internet_gateway()
                    .internet_gateway_id(id)
                    .vpc_id(vpc)
                    .send()
            },
        )
        .await?;
    }
    delete_retrying(
        ctx,
        client,
        "DeleteInternetGateway",
        &format!("internet gateway {id}"),
        Holder::Vpc(g.attached_to.first().map(String::as_str).unwrap_or("")),
        || {
            client
                .delete_internet_gateway()
                .internet_gateway_id(id)
                .send()
        },
    )
    .await
}

async fn delete_subnet(ctx: &StepCtx, client: &Client, id: &str) -> Result<bool, Error> {
    delete_retrying(
        ctx,
        client,
        "DeleteSubnet",
        &format!("subnet {id}"),
        Holder::Subnet(id),
        || client.delete_subnet().subnet_id(id).send(),
    )
    .await
}

async fn delete_group(ctx: &StepCtx, client: &Client, id: &str) -> Result<bool, Error> {
    // Rules that name other groups would hold those groups: revoke them first.
    let out = match client.describe_security_groups().group_ids(id).send().await {
        Ok(out) => out,
        Err(e) if is_not_found(code(&e)) => return Ok(false),
        Err(e) => return Err(sdk_error("ec2", "DescribeSecurityGroups", &e)),
    };
    for g in out.security_groups() {
        let referencing: Vec<_> = g
            .ip_permissions()
            .iter()
            .filter(|p| !p.user_id_group_pairs().is_empty())
            .cloned()
            .collect();
        if !referencing.is_empty() {
            client
                .revoke_security_group_ingress()
                .group_id(id)
                .set_ip_permissions(Some(referencing))
                .send()
                .await
                .map_err(|e| sdk_error("ec2", "RevokeSecurityGroupIngress", &e))?;
        }
    }
    delete_retrying(
        ctx,
        client,
        "DeleteSecurityGroup",
        &format!("security group {id}"),
        Holder::Group(id),
        || client.delete_security_group().group_id(id).send(),
    )
    .await
}

async fn delete_vpc(ctx: &StepCtx, client: &Client, id: &str) -> Result<bool, Error> {
    delete_retrying(
        ctx,
        client,
        "DeleteVpc",
        &format!("VPC {id}"),
        Holder::Vpc(id),
        || client.delete_vpc().vpc_id(id).send(),
    )
    .await
}

// ---------------------------------------------------------------------------------------
// undo, undo_hint, describe
// ---------------------------------------------------------------------------------------

/// Rollback of one ledger resource: `Ok(true)` when it was a network kind and is now gone
/// (already gone counts), `Ok(false)` when `resource.kind` is not one of this module's.
pub async fn undo(ctx: &StepCtx, resource: &Resource) -> Result<bool, Error> {
    if !matches!(
        resource.kind.as_str(),
        VPC | SUBNET | INTERNET_GATEWAY | NAT_GATEWAY | ELASTIC_IP | ROUTE_TABLE
    ) {
        return Ok(false);
    }
    let client = ctx.aws()?.ec2();
    let id = resource.id.as_str();
    match resource.kind.as_str() {
        VPC => {
            delete_vpc(ctx, &client, id).await?;
        }
        SUBNET => {
            delete_subnet(ctx, &client, id).await?;
        }
        INTERNET_GATEWAY => {
            delete_igw(ctx, &client, id).await?;
        }
        NAT_GATEWAY => {
            if delete_nat(&client, id).await? {
                wait_nat_deleted(ctx, &client, id).await?;
            }
        }
        ELASTIC_IP => {
            // A NAT gateway still using the address goes first (deleted, then waited for).
            let users = nat_gateways(&client, vec![], None)
                .await?
                .into_iter()
                .filter(|n| live(n) && n.allocation_ids.iter().any(|a| a == id));
            for n in users {
                delete_nat(&client, &n.id).await?;
                wait_nat_deleted(ctx, &client, &n.id).await?;
            }
            release_eip(&client, id).await?;
        }
        _ => {
            delete_route_table(ctx, &client, id).await?;
        }
    }
    Ok(true)
}

/// The manual removal command for one of this module's ledger kinds, `None` otherwise.
pub fn undo_hint(resource: &Resource) -> Option<String> {
    let region = resource.get("region").unwrap_or("<region>");
    let id = &resource.id;
    Some(match resource.kind.as_str() {
        VPC => format!("aws ec2 delete-vpc --region {region} --vpc-id {id}"),
        SUBNET => format!("aws ec2 delete-subnet --region {region} --subnet-id {id}"),
        INTERNET_GATEWAY => format!(
            "aws ec2 detach-internet-gateway --region {region} --internet-gateway-id {id} --vpc-id {} && aws ec2 delete-internet-gateway --region {region} --internet-gateway-id {id}",
            resource.get("vpc_id").unwrap_or("<vpc-id>")
        ),
        NAT_GATEWAY => {
            format!("aws ec2 delete-nat-gateway --region {region} --nat-gateway-id {id}")
        }
        ELASTIC_IP => format!("aws ec2 release-address --region {region} --allocation-id {id}"),
        ROUTE_TABLE => format!(
            "aws ec2 delete-route-table --region {region} --route-table-id {id} (disassociate its subnets first: aws ec2 disassociate-route-table)"
        ),
        _ => return None,
    })
}

/// For `status`: the stack's network (VPC, subnets per zone, NAT gateway states), or `None`
/// when there is none.
pub async fn describe(
    ctx: &StepCtx,
    stack: &str,
) -> Result<Option<BTreeMap<String, String>>, Error> {
    let client = ctx.aws()?.ec2();
    let mut vpcs = tagged_vpcs(&client, stack).await?;
    vpcs.sort_by_key(|v| part(&v.tags) != Some(VPC));
    let Some(vpc) = vpcs.first() else {
        return Ok(None);
    };
    let mut out = BTreeMap::new();
    out.insert("vpc_id".into(), vpc.id.clone());
    out.insert("vpc_cidr".into(), vpc.cidr.clone());
    let vf = || filter("vpc-id", &[&vpc.id]);
    let subs = subnets(&client, vec![vf(), stack_filter(stack)]).await?;
    let mut per_zone: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for s in &subs {
        let tier = match part(&s.tags) {
            Some(PUBLIC_SUBNET) => "public",
            Some(PRIVATE_SUBNET) => "private",
            _ => "other",
        };
        per_zone
            .entry(s.az.clone())
            .or_default()
            .push(format!("{tier} {}", s.id));
    }
    for (az, list) in per_zone {
        out.insert(format!("subnets.{az}"), list.join(", "));
    }
    let nats = nat_gateways(&client, vec![vf()], Some(stack)).await?;
    let nat_text: Vec<String> = nats
        .iter()
        .filter(|n| n.state != NatGatewayState::Deleted)
        .map(|n| format!("{} ({})", n.id, n.state.as_str()))
        .collect();
    out.insert(
        "nat_gateways".into(),
        if nat_text.is_empty() {
            "none".into()
        } else {
            nat_text.join(", ")
        },
    );
    if vpcs.len() > 1 {
        out.insert(
            "leftover_vpcs".into(),
            vpcs[1..]
                .iter()
                .map(|v| v.id.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        );
    }
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slash_16_splits_into_three_private_and_four_public_blocks() {
        let (private, public) = blocks("10.0.0.0/16").unwrap();
        assert_eq!(private, ["10.0.0.0/18", "10.0.64.0/18", "10.0.128.0/18"]);
        assert_eq!(
            public,
            [
                "10.0.192.0/20",
                "10.0.208.0/20",
                "10.0.224.0/20",
                "10.0.240.0/20"
            ]
        );
    }

    #[test]
    fn cidrs_outside_16_to_24_are_refused() {
        for bad in ["10.0.0.0/8", "10.0.0.0/25", "nonsense", "10.0.0/16"] {
            assert!(blocks(bad).is_none(), "{bad}");
        }
        assert!(blocks("192.168.1.0/24").is_some());
    }

    #[test]
    fn cidr_problems_are_worded_for_the_config() {
        assert_eq!(vpc_cidr_problem("10.0.0.0/16"), None);
        assert!(vpc_cidr_problem("10.0.0.0/26").is_some_and(|p| p.contains("/16 to /24")));
        assert!(vpc_cidr_problem("ten").is_some_and(|p| p.contains("not an IPv4 CIDR")));
    }

    #[test]
    fn a_used_block_is_skipped() {
        let (private, _) = blocks("10.0.0.0/16").unwrap();
        let used = vec!["10.0.1.0/24".to_string()];
        assert_eq!(free_block(&private, &used).as_deref(), Some("10.0.64.0/18"));
    }

    #[test]
    fn zones_of_existing_subnets_come_first() {
        let s = SubnetInfo {
            id: "subnet-1".into(),
            vpc_id: "vpc-1".into(),
            az: "r-1c".into(),
            cidr: "10.0.0.0/18".into(),
            tags: HashMap::new(),
        };
        let zones = choose_zones(
            &[&s],
            &["r-1a".into(), "r-1b".into(), "r-1c".into(), "r-1d".into()],
        );
        assert_eq!(zones, ["r-1c", "r-1a", "r-1b"]);
    }

    #[test]
    fn hints_name_the_aws_command() {
        let r = Resource::new(StepId::Cluster, ELASTIC_IP, "eipalloc-1").with("region", "r");
        assert_eq!(
            undo_hint(&r).as_deref(),
            Some("aws ec2 release-address --region r --allocation-id eipalloc-1")
        );
        let other = Resource::new(StepId::Cluster, "eks-cluster", "x");
        assert!(undo_hint(&other).is_none());
    }
}
