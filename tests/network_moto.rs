//! The stack's network (src/steps/network.rs) against moto's EC2 and ELBv2, through the
//! library: a StepCtx whose AWS clients reach moto through an [`Ec2Shim`] that records every
//! call (to prove a second `ensure` makes no mutating one) and can answer deletes with
//! `DependencyViolation`, which moto does not model.

use crate::support::{self, ec2_shim::Ec2Shim};

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_credential_types::Credentials;
use aws_sdk_ec2::types::{Filter, NatGatewayState, Tag as Ec2Tag};
use aws_types::region::Region;
use meshctl::aws::Aws;
use meshctl::config::Config;
use meshctl::engine::state::{LocalStore, StateStore};
use meshctl::engine::{Ledger, Op, Resource, RunOptions, StackState, StepCtx, StepId};
use meshctl::steps::network::{self, NatMode, NetworkSpec};
use meshctl::ui::StepProgress;
use tokio_util::sync::CancellationToken;

const GUARD: Duration = Duration::from_secs(120);

struct Harness {
    ctx: StepCtx,
    shim: Ec2Shim,
    stack: String,
    _dir: tempfile::TempDir,
}

async fn sdk_at(endpoint: &str) -> aws_types::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(meshctl::aws::https_client())
        .endpoint_url(endpoint)
        .region(Region::new(support::REGION))
        .credentials_provider(Credentials::new(
            "testing",
            "testing",
            None,
            None,
            "meshctl-tests",
        ))
        .load()
        .await
}

/// A context for a unique stack whose AWS calls go through a fresh shim in front of moto.
/// Waits poll every 20 ms; `timeout` bounds every wait and retry.
async fn harness(test: &str, timeout: Duration) -> Harness {
    let stack = support::unique(test);
    let shim = Ec2Shim::start(&support::moto());
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn StateStore> = Arc::new(LocalStore {
        dir: dir.path().join(&stack),
    });
    let config: Config =
        serde_yaml_ng::from_str(&format!("name: {stack}\nregion: {}\n", support::REGION)).unwrap();
    let ctx = StepCtx {
        config: Arc::new(config),
        aws: Some(Aws {
            sdk: sdk_at(&shim.url).await,
            region: support::REGION.into(),
            account: support::MOTO_ACCOUNT.into(),
        }),
        options: RunOptions {
            timeout,
            poll_interval: Some(Duration::from_millis(20)),
            ..RunOptions::default()
        },
        ledger: Ledger::begin(store.clone(), &stack, "cluster")
            .await
            .unwrap(),
        state: StackState::load(store, &stack).await.unwrap(),
        progress: StepProgress::silent("cluster"),
        cancel: CancellationToken::new(),
    };
    Harness {
        ctx,
        shim,
        stack,
        _dir: dir,
    }
}

impl Harness {
    fn spec(&self, nat: NatMode) -> NetworkSpec {
        NetworkSpec {
            stack: self.stack.clone(),
            cluster_name: format!("{}-eks", self.stack),
            vpc_cidr: "10.20.0.0/16".into(),
            nat,
            tags: meshctl::aws::tags(&self.ctx.config),
            adopt_subnet_ids: vec![],
        }
    }
}

/// An EC2 client straight to moto (not through the shim).
async fn ec2() -> aws_sdk_ec2::Client {
    aws_sdk_ec2::Client::new(&support::sdk_config().await)
}

fn f(name: &str, value: &str) -> Filter {
    Filter::builder().name(name).values(value).build()
}

fn tags(list: &[Ec2Tag]) -> HashMap<String, String> {
    list.iter()
        .map(|t| {
            (
                t.key().unwrap_or_default().to_string(),
                t.value().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// Ids of everything in moto carrying the stack tag (live NAT gateways only), by kind.
async fn tagged(stack: &str) -> Vec<(String, String)> {
    let c = ec2().await;
    let tf = || f(&format!("tag:{}", support::STACK_TAG), stack);
    let mut out = vec![];
    for v in c.describe_vpcs().filters(tf()).send().await.unwrap().vpcs() {
        out.push(("vpc".into(), v.vpc_id().unwrap().to_string()));
    }
    for s in c
        .describe_subnets()
        .filters(tf())
        .send()
        .await
        .unwrap()
        .subnets()
    {
        out.push(("subnet".into(), s.subnet_id().unwrap().to_string()));
    }
    for g in c
        .describe_internet_gateways()
        .filters(tf())
        .send()
        .await
        .unwrap()
        .internet_gateways()
    {
        out.push((
            "internet-gateway".into(),
            g.internet_gateway_id().unwrap().to_string(),
        ));
    }
    for n in c
        .describe_nat_gateways()
        .filter(tf())
        .send()
        .await
        .unwrap()
        .nat_gateways()
    {
        // moto applies no tag filter to NAT gateways: check the tag here.
        if matches!(
            n.state(),
            Some(NatGatewayState::Available | NatGatewayState::Pending)
        ) && tags(n.tags()).get(support::STACK_TAG).map(String::as_str) == Some(stack)
        {
            out.push((
                "nat-gateway".into(),
                n.nat_gateway_id().unwrap().to_string(),
            ));
        }
    }
    for a in c
        .describe_addresses()
        .filters(tf())
        .send()
        .await
        .unwrap()
        .addresses()
    {
        out.push(("elastic-ip".into(), a.allocation_id().unwrap().to_string()));
    }
    for r in c
        .describe_route_tables()
        .filters(tf())
        .send()
        .await
        .unwrap()
        .route_tables()
    {
        out.push((
            "route-table".into(),
            r.route_table_id().unwrap().to_string(),
        ));
    }
    out.sort();
    out
}

async fn run<T>(fut: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(GUARD, fut).await.expect("hang guard")
}

#[tokio::test]
async fn ensure_builds_a_tagged_network_and_a_second_ensure_changes_nothing() {
    let h = harness("net-ensure", Duration::from_secs(60)).await;
    let spec = h.spec(NatMode::Single);

    let planned = run(network::plan(&h.ctx, &spec)).await.unwrap();
    assert!(planned.iter().all(|a| a.op == Op::Create), "{planned:#?}");

    let net = run(network::ensure(&h.ctx, &spec)).await.unwrap();
    assert!(net.owned);
    // moto's us-east-1 offers six zones: three are used.
    assert_eq!(net.availability_zones.len(), 3, "{net:?}");
    assert_eq!(net.public_subnet_ids.len(), 3);
    assert_eq!(net.private_subnet_ids.len(), 3);
    assert_eq!(net.nat_gateway_ids.len(), 1);

    let c = ec2().await;
    let vpc = c
        .describe_vpcs()
        .vpc_ids(&net.vpc_id)
        .send()
        .await
        .unwrap()
        .vpcs()[0]
        .clone();
    let vt = tags(vpc.tags());
    assert_eq!(vt[support::STACK_TAG], h.stack);
    assert_eq!(vt["Name"], format!("{}-vpc", h.stack));
    assert_eq!(vpc.cidr_block(), Some("10.20.0.0/16"));
    let hostnames = c
        .describe_vpc_attribute()
        .vpc_id(&net.vpc_id)
        .attribute(aws_sdk_ec2::types::VpcAttributeName::EnableDnsHostnames)
        .send()
        .await
        .unwrap();
    assert_eq!(
        hostnames.enable_dns_hostnames().and_then(|v| v.value()),
        Some(true)
    );

    let subnets = c
        .describe_subnets()
        .filters(f("vpc-id", &net.vpc_id))
        .send()
        .await
        .unwrap();
    let cluster_tag = format!("kubernetes.io/cluster/{}-eks", h.stack);
    let mut zones = HashSet::new();
    for s in subnets.subnets() {
        let t = tags(s.tags());
        let id = s.subnet_id().unwrap().to_string();
        assert_eq!(t[support::STACK_TAG], h.stack);
        assert_eq!(t[&cluster_tag], "shared", "{id}: {t:?}");
        assert!(t.contains_key("Name"));
        if net.public_subnet_ids.contains(&id) {
            assert_eq!(t["kubernetes.io/role/elb"], "1");
        } else {
            assert!(net.private_subnet_ids.contains(&id));
            assert_eq!(t["kubernetes.io/role/internal-elb"], "1");
        }
        zones.insert(s.availability_zone().unwrap().to_string());
    }
    assert_eq!(subnets.subnets().len(), 6);
    assert_eq!(zones.len(), 3);

    let igws = c
        .describe_internet_gateways()
        .filters(f("attachment.vpc-id", &net.vpc_id))
        .send()
        .await
        .unwrap();
    assert_eq!(igws.internet_gateways().len(), 1);
    let igw = igws.internet_gateways()[0].internet_gateway_id().unwrap();
    assert_eq!(
        tags(igws.internet_gateways()[0].tags())[support::STACK_TAG],
        h.stack
    );

    let nat = c
        .describe_nat_gateways()
        .nat_gateway_ids(&net.nat_gateway_ids[0])
        .send()
        .await
        .unwrap()
        .nat_gateways()[0]
        .clone();
    assert!(
        net.public_subnet_ids
            .contains(&nat.subnet_id().unwrap().to_string())
    );
    let allocation = nat.nat_gateway_addresses()[0].allocation_id().unwrap();
    let eip = c
        .describe_addresses()
        .allocation_ids(allocation)
        .send()
        .await
        .unwrap();
    assert_eq!(tags(eip.addresses()[0].tags())[support::STACK_TAG], h.stack);

    // Routes: public subnets -> IGW, each private subnet -> the NAT gateway.
    let rts = c
        .describe_route_tables()
        .filters(f("vpc-id", &net.vpc_id))
        .send()
        .await
        .unwrap();
    let route_of = |subnet: &str| -> String {
        let rt = rts
            .route_tables()
            .iter()
            .find(|rt| {
                rt.associations()
                    .iter()
                    .any(|a| a.subnet_id() == Some(subnet))
            })
            .unwrap_or_else(|| panic!("{subnet} has no route table"));
        let r = rt
            .routes()
            .iter()
            .find(|r| r.destination_cidr_block() == Some("0.0.0.0/0"))
            .unwrap_or_else(|| panic!("{subnet}'s route table has no default route"));
        r.nat_gateway_id()
            .or(r.gateway_id())
            .unwrap_or_default()
            .to_string()
    };
    for s in &net.public_subnet_ids {
        assert_eq!(route_of(s), igw);
    }
    for s in &net.private_subnet_ids {
        assert_eq!(route_of(s), net.nat_gateway_ids[0]);
    }
    let ledger = h.ctx.ledger.resources().await;
    let kinds: Vec<&str> = ledger.iter().map(|r| r.kind.as_str()).collect();
    for kind in [
        "vpc",
        "internet-gateway",
        "subnet",
        "route-table",
        "elastic-ip",
        "nat-gateway",
    ] {
        assert!(kinds.contains(&kind), "{kind} not in the ledger: {kinds:?}");
    }
    assert_eq!(kinds.iter().filter(|k| **k == "subnet").count(), 6);
    assert_eq!(kinds.iter().filter(|k| **k == "route-table").count(), 4);

    // Second run: the same network, and not one mutating call.
    let before = tagged(&h.stack).await;
    let mark = h.shim.mark();
    let again = run(network::ensure(&h.ctx, &spec)).await.unwrap();
    let mutating: Vec<String> = h
        .shim
        .actions_since(mark)
        .into_iter()
        .filter(|a| support::ec2_shim::is_mutating(a))
        .collect();
    assert!(mutating.is_empty(), "second ensure mutated: {mutating:?}");
    assert!(!h.shim.actions_since(mark).is_empty(), "it did observe");
    assert_eq!(again.vpc_id, net.vpc_id);
    assert_eq!(again.private_subnet_ids, net.private_subnet_ids);
    assert_eq!(again.nat_gateway_ids, net.nat_gateway_ids);
    assert_eq!(tagged(&h.stack).await, before);
    let replanned = run(network::plan(&h.ctx, &spec)).await.unwrap();
    assert!(replanned.iter().all(|a| a.op == Op::Keep), "{replanned:#?}");

    let details = run(network::describe(&h.ctx, &h.stack))
        .await
        .unwrap()
        .expect("the network is described");
    assert_eq!(details["vpc_id"], net.vpc_id);
    assert!(details["nat_gateways"].contains("available"), "{details:?}");

    run(network::destroy(&h.ctx, &h.stack)).await.unwrap();
    assert!(tagged(&h.stack).await.is_empty());
    assert!(
        run(network::describe(&h.ctx, &h.stack))
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn per_az_nat_gives_each_zone_its_own_gateway() {
    let h = harness("net-per-az", Duration::from_secs(60)).await;
    let spec = h.spec(NatMode::PerAz);
    let net = run(network::ensure(&h.ctx, &spec)).await.unwrap();
    assert_eq!(net.nat_gateway_ids.len(), net.availability_zones.len());
    run(network::wait_nat(&h.ctx, &net)).await.unwrap();
    run(network::route_private_subnets(&h.ctx, &net))
        .await
        .unwrap();

    let c = ec2().await;
    let subnets = c
        .describe_subnets()
        .filters(f("vpc-id", &net.vpc_id))
        .send()
        .await
        .unwrap();
    let az_of = |id: &str| {
        subnets
            .subnets()
            .iter()
            .find(|s| s.subnet_id() == Some(id))
            .and_then(|s| s.availability_zone())
            .unwrap()
            .to_string()
    };
    let nats = c
        .describe_nat_gateways()
        .set_nat_gateway_ids(Some(net.nat_gateway_ids.clone()))
        .send()
        .await
        .unwrap();
    let nat_zones: HashSet<String> = nats
        .nat_gateways()
        .iter()
        .map(|n| az_of(n.subnet_id().unwrap()))
        .collect();
    assert_eq!(nat_zones.len(), 3, "one NAT gateway in each zone");
    // Each private subnet routes to the NAT gateway of its own zone.
    let rts = c
        .describe_route_tables()
        .filters(f("vpc-id", &net.vpc_id))
        .send()
        .await
        .unwrap();
    for subnet in &net.private_subnet_ids {
        let rt = rts
            .route_tables()
            .iter()
            .find(|rt| {
                rt.associations()
                    .iter()
                    .any(|a| a.subnet_id() == Some(subnet.as_str()))
            })
            .unwrap();
        let nat_id = rt.routes().iter().find_map(|r| r.nat_gateway_id()).unwrap();
        let nat = nats
            .nat_gateways()
            .iter()
            .find(|n| n.nat_gateway_id() == Some(nat_id))
            .unwrap();
        assert_eq!(az_of(nat.subnet_id().unwrap()), az_of(subnet));
    }
    let mark = h.shim.mark();
    run(network::ensure(&h.ctx, &spec)).await.unwrap();
    let mutating: Vec<String> = h
        .shim
        .actions_since(mark)
        .into_iter()
        .filter(|a| support::ec2_shim::is_mutating(a))
        .collect();
    assert!(mutating.is_empty(), "{mutating:?}");
    run(network::destroy(&h.ctx, &h.stack)).await.unwrap();
    assert!(tagged(&h.stack).await.is_empty());
}

/// A VPC with one subnet per zone in `zones`, untagged, made as someone else would.
async fn foreign_vpc(cidr_second_octet: u8, zones: &[&str]) -> (String, Vec<String>) {
    let c = ec2().await;
    let vpc = c
        .create_vpc()
        .cidr_block(format!("10.{cidr_second_octet}.0.0/16"))
        .send()
        .await
        .unwrap()
        .vpc()
        .unwrap()
        .vpc_id()
        .unwrap()
        .to_string();
    let mut ids = vec![];
    for (i, z) in zones.iter().enumerate() {
        ids.push(
            c.create_subnet()
                .vpc_id(&vpc)
                .cidr_block(format!("10.{cidr_second_octet}.{i}.0/24"))
                .availability_zone(*z)
                .send()
                .await
                .unwrap()
                .subnet()
                .unwrap()
                .subnet_id()
                .unwrap()
                .to_string(),
        );
    }
    (vpc, ids)
}

#[tokio::test]
async fn adopted_subnets_are_checked_and_never_changed() {
    let h = harness("net-adopt", Duration::from_secs(30)).await;
    let (vpc, ids) = foreign_vpc(61, &["us-east-1a", "us-east-1b"]).await;
    let mut spec = h.spec(NatMode::Single);
    spec.adopt_subnet_ids = ids.clone();

    let planned = run(network::plan(&h.ctx, &spec)).await.unwrap();
    assert_eq!(planned.len(), 2);
    for a in &planned {
        assert_eq!(a.op, Op::Keep);
        assert!(
            a.details
                .iter()
                .any(|d| d.contains("adopted, never modified or deleted")),
            "{a}"
        );
    }
    let mark = h.shim.mark();
    let net = run(network::ensure(&h.ctx, &spec)).await.unwrap();
    assert!(!net.owned);
    assert_eq!(net.vpc_id, vpc);
    assert_eq!(net.private_subnet_ids, ids);
    assert_eq!(net.availability_zones, ["us-east-1a", "us-east-1b"]);
    assert!(net.nat_gateway_ids.is_empty());
    let mutating: Vec<String> = h
        .shim
        .actions_since(mark)
        .into_iter()
        .filter(|a| support::ec2_shim::is_mutating(a))
        .collect();
    assert!(mutating.is_empty(), "{mutating:?}");
    assert!(h.ctx.ledger.resources().await.is_empty());
    run(network::wait_nat(&h.ctx, &net)).await.unwrap();
    run(network::route_private_subnets(&h.ctx, &net))
        .await
        .unwrap();
    // Nothing of them is the stack's, so destroy leaves them.
    assert!(
        run(network::destroy_plan(&h.ctx, &h.stack))
            .await
            .unwrap()
            .is_empty()
    );

    // A subnet that does not exist is named.
    spec.adopt_subnet_ids = vec![ids[0].clone(), "subnet-0000000000deadbee".into()];
    let err = run(network::ensure(&h.ctx, &spec)).await.unwrap_err();
    assert!(
        err.to_string().contains("subnet-0000000000deadbee"),
        "{err}"
    );
    assert!(!err.to_string().contains(&ids[0]), "{err}");

    // Subnets in one zone only are refused.
    let (_, one_zone) = foreign_vpc(62, &["us-east-1c", "us-east-1c"]).await;
    spec.adopt_subnet_ids = one_zone;
    let err = run(network::plan(&h.ctx, &spec)).await.unwrap_err();
    assert!(
        err.to_string().contains("at least 2 availability zones"),
        "{err}"
    );
    assert_eq!(err.exit_code(), 2);
}

#[tokio::test]
async fn destroy_removes_what_is_tagged_and_spares_an_untagged_vpc() {
    let h = harness("net-destroy", Duration::from_secs(60)).await;
    let spec = h.spec(NatMode::Single);
    let net = run(network::ensure(&h.ctx, &spec)).await.unwrap();
    let (untagged, untagged_subnets) = foreign_vpc(63, &["us-east-1a", "us-east-1b"]).await;
    // Two security groups the cluster step would make in the VPC, tagged for the stack, one
    // letting the other in (so the other can only go once that rule is revoked).
    let c = ec2().await;
    let mut groups = vec![];
    for name in ["nodes", "control-plane"] {
        let spec = aws_sdk_ec2::types::TagSpecification::builder()
            .resource_type(aws_sdk_ec2::types::ResourceType::SecurityGroup)
            .tags(
                Ec2Tag::builder()
                    .key(support::STACK_TAG)
                    .value(&h.stack)
                    .build(),
            )
            .build();
        groups.push(
            c.create_security_group()
                .group_name(format!("{}-{name}", h.stack))
                .description("meshctl test")
                .vpc_id(&net.vpc_id)
                .tag_specifications(spec)
                .send()
                .await
                .unwrap()
                .group_id()
                .unwrap()
                .to_string(),
        );
    }
    c.authorize_security_group_ingress()
        .group_id(&groups[0])
        .ip_permissions(
            aws_sdk_ec2::types::IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(15017)
                .to_port(15017)
                .user_id_group_pairs(
                    aws_sdk_ec2::types::UserIdGroupPair::builder()
                        .group_id(&groups[1])
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();

    let planned = run(network::destroy_plan(&h.ctx, &h.stack)).await.unwrap();
    assert!(planned.iter().all(|a| a.op == Op::Delete));
    let planned_ids: HashSet<String> = planned.iter().map(|a| a.name.clone()).collect();
    let mut existing: HashSet<String> = tagged(&h.stack)
        .await
        .into_iter()
        .map(|(_, id)| id)
        .collect();
    existing.extend(groups.iter().cloned());
    assert_eq!(planned_ids, existing, "destroy_plan lists what is tagged");
    assert!(planned_ids.contains(&net.vpc_id));
    assert!(!planned_ids.contains(&untagged));

    let done = run(network::destroy(&h.ctx, &h.stack)).await.unwrap();
    let done_ids: HashSet<String> = done.iter().map(|a| a.name.clone()).collect();
    assert_eq!(done_ids, planned_ids, "destroy did what it planned");
    // The VPC goes last.
    assert_eq!(done.last().map(|a| a.kind.as_str()), Some("vpc"));
    assert!(tagged(&h.stack).await.is_empty());
    for g in &groups {
        let left = c
            .describe_security_groups()
            .filters(f("group-id", g))
            .send()
            .await
            .unwrap();
        assert!(left.security_groups().is_empty(), "{g} is gone");
    }

    let still = c.describe_vpcs().vpc_ids(&untagged).send().await.unwrap();
    assert_eq!(still.vpcs().len(), 1, "the untagged VPC is untouched");
    let subs = c
        .describe_subnets()
        .filters(f("vpc-id", &untagged))
        .send()
        .await
        .unwrap();
    assert_eq!(subs.subnets().len(), untagged_subnets.len());

    // Nothing left: a second destroy deletes nothing.
    assert!(
        run(network::destroy(&h.ctx, &h.stack))
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn rollback_undoes_every_recorded_resource_newest_first() {
    let h = harness("net-undo", Duration::from_secs(60)).await;
    let spec = h.spec(NatMode::PerAz);
    run(network::ensure(&h.ctx, &spec)).await.unwrap();
    let recorded = h.ctx.ledger.resources().await;
    assert!(recorded.iter().all(|r| r.step == StepId::Cluster));
    for r in &recorded {
        assert!(
            network::undo_hint(r).is_some_and(|hint| hint.contains(&r.id)),
            "{r:?}"
        );
    }
    let ids: HashSet<String> = recorded.iter().map(|r| r.id.clone()).collect();
    let existing: HashSet<String> = tagged(&h.stack)
        .await
        .into_iter()
        .map(|(_, id)| id)
        .collect();
    assert_eq!(ids, existing, "every created resource is in the ledger");

    for r in recorded.iter().rev() {
        assert!(run(network::undo(&h.ctx, r)).await.unwrap(), "{r:?}");
    }
    assert!(tagged(&h.stack).await.is_empty());
    // Already gone counts as gone.
    assert!(run(network::undo(&h.ctx, &recorded[0])).await.unwrap());
    // Another step's kind is not this module's.
    let other = Resource::new(StepId::Cluster, "eks-cluster", "x");
    assert!(!run(network::undo(&h.ctx, &other)).await.unwrap());
}

#[tokio::test]
async fn an_elastic_ip_undone_first_takes_its_nat_gateway_with_it() {
    let h = harness("net-undo-eip", Duration::from_secs(60)).await;
    let spec = h.spec(NatMode::Single);
    let net = run(network::ensure(&h.ctx, &spec)).await.unwrap();
    let eip = h
        .ctx
        .ledger
        .resources()
        .await
        .into_iter()
        .find(|r| r.kind == "elastic-ip")
        .unwrap();
    assert!(run(network::undo(&h.ctx, &eip)).await.unwrap());
    let c = ec2().await;
    let nat = c
        .describe_nat_gateways()
        .nat_gateway_ids(&net.nat_gateway_ids[0])
        .send()
        .await
        .unwrap();
    assert_eq!(
        nat.nat_gateways()[0].state(),
        Some(&NatGatewayState::Deleted)
    );
    let left = c
        .describe_addresses()
        .filters(f("allocation-id", &eip.id))
        .send()
        .await
        .unwrap();
    assert!(left.addresses().is_empty());
    run(network::destroy(&h.ctx, &h.stack)).await.unwrap();
}

#[tokio::test]
async fn a_dependency_violation_is_retried_until_it_clears() {
    let h = harness("net-depviol", Duration::from_secs(60)).await;
    let net = run(network::ensure(&h.ctx, &h.spec(NatMode::Single)))
        .await
        .unwrap();
    let subnet = net.private_subnet_ids[0].clone();
    h.shim.refuse("DeleteSubnet", "SubnetId", &subnet, Some(2));
    h.shim.refuse("DeleteVpc", "VpcId", &net.vpc_id, Some(1));

    run(network::destroy(&h.ctx, &h.stack)).await.unwrap();
    assert_eq!(h.shim.count("DeleteSubnet", "SubnetId", &subnet), 3);
    assert_eq!(h.shim.count("DeleteVpc", "VpcId", &net.vpc_id), 2);
    assert!(tagged(&h.stack).await.is_empty());
}

#[tokio::test]
async fn a_persistent_dependency_violation_names_the_interface_that_holds_it() {
    let h = harness("net-depviol-eni", Duration::from_millis(600)).await;
    let net = run(network::ensure(&h.ctx, &h.spec(NatMode::Single)))
        .await
        .unwrap();
    let subnet = net.public_subnet_ids[1].clone();
    let c = ec2().await;
    let eni = c
        .create_network_interface()
        .subnet_id(&subnet)
        .description("ELB app/k8s-shop-web-0a1b2c3d/4e5f")
        .send()
        .await
        .unwrap()
        .network_interface()
        .unwrap()
        .network_interface_id()
        .unwrap()
        .to_string();
    h.shim.refuse("DeleteSubnet", "SubnetId", &subnet, None);

    let err = run(network::destroy(&h.ctx, &h.stack)).await.unwrap_err();
    let text = err.to_string();
    assert!(text.contains(&subnet), "{text}");
    assert!(text.contains("DependencyViolation"), "{text}");
    assert!(text.contains(&eni), "{text}");
    assert!(
        text.contains("ELB app/k8s-shop-web-0a1b2c3d/4e5f"),
        "{text}"
    );
    assert!(
        h.shim.count("DeleteSubnet", "SubnetId", &subnet) >= 2,
        "it retried"
    );

    // Once the interface is gone, cleanup finishes.
    h.shim.clear_faults();
    c.delete_network_interface()
        .network_interface_id(&eni)
        .send()
        .await
        .unwrap();
    run(network::destroy(&h.ctx, &h.stack)).await.unwrap();
    assert!(tagged(&h.stack).await.is_empty());
}

#[tokio::test]
async fn waiting_for_load_balancers_names_the_one_left() {
    let h = harness("net-lb", Duration::from_millis(500)).await;
    let (vpc, subnets) = foreign_vpc(64, &["us-east-1a", "us-east-1b"]).await;
    let cluster = format!("{}-eks", h.stack);
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&support::sdk_config().await);
    let lb_tag = |k: &str, v: &str| {
        aws_sdk_elasticloadbalancingv2::types::Tag::builder()
            .key(k)
            .value(v)
            .build()
    };
    // Someone else's load balancer in the same VPC never holds the wait up.
    elb.create_load_balancer()
        .name(format!("other-{}", &h.stack[h.stack.len() - 6..]))
        .set_subnets(Some(subnets.clone()))
        .tags(lb_tag("team", "payments"))
        .send()
        .await
        .unwrap();
    run(network::wait_load_balancers_gone(&h.ctx, &vpc, &cluster))
        .await
        .unwrap();

    let name = format!("web-{}", &h.stack[h.stack.len() - 6..]);
    let arn = elb
        .create_load_balancer()
        .name(&name)
        .set_subnets(Some(subnets))
        .tags(lb_tag(&format!("kubernetes.io/cluster/{cluster}"), "owned"))
        .send()
        .await
        .unwrap()
        .load_balancers()[0]
        .load_balancer_arn()
        .unwrap()
        .to_string();
    let err = run(network::wait_load_balancers_gone(&h.ctx, &vpc, &cluster))
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("timed out"), "{text}");
    assert!(text.contains(&name), "{text}");

    elb.delete_load_balancer()
        .load_balancer_arn(&arn)
        .send()
        .await
        .unwrap();
    run(network::wait_load_balancers_gone(&h.ctx, &vpc, &cluster))
        .await
        .unwrap();
}

#[tokio::test]
async fn offline_plan_creates_everything_across_two_to_three_zones() {
    let mut h = harness("net-offline", Duration::from_secs(5)).await;
    h.ctx.aws = None;
    let actions = network::plan(&h.ctx, &h.spec(NatMode::PerAz))
        .await
        .unwrap();
    assert!(actions.iter().all(|a| a.op == Op::Create));
    let text: Vec<String> = actions.iter().map(|a| a.to_string()).collect();
    assert!(
        text.iter().any(|t| t.contains("2-3 availability zones")),
        "{text:#?}"
    );
    for kind in [
        "vpc",
        "subnet",
        "internet-gateway",
        "nat-gateway",
        "elastic-ip",
        "route-table",
    ] {
        assert!(actions.iter().any(|a| a.kind == kind), "{kind}");
    }
    let mut bad = h.spec(NatMode::Single);
    bad.vpc_cidr = "10.0.0.0/8".into();
    let err = network::plan(&h.ctx, &bad).await.unwrap_err();
    assert_eq!(err.exit_code(), 2);
    assert!(err.to_string().contains("/16 to /24"), "{err}");
    assert!(h.shim.actions_since(0).is_empty(), "offline makes no call");
}

#[tokio::test]
async fn a_new_tag_and_a_lost_route_converge_on_the_next_ensure() {
    let h = harness("net-converge", Duration::from_secs(60)).await;
    let mut spec = h.spec(NatMode::Single);
    let net = run(network::ensure(&h.ctx, &spec)).await.unwrap();

    // Someone removes a private subnet's default route; the config gains a tag.
    let c = ec2().await;
    let rts = c
        .describe_route_tables()
        .filters(f("association.subnet-id", &net.private_subnet_ids[0]))
        .send()
        .await
        .unwrap();
    let rt = rts.route_tables()[0].route_table_id().unwrap().to_string();
    c.delete_route()
        .route_table_id(&rt)
        .destination_cidr_block("0.0.0.0/0")
        .send()
        .await
        .unwrap();
    spec.tags.insert("team".into(), "mesh".into());

    let planned = run(network::plan(&h.ctx, &spec)).await.unwrap();
    let rt_action = planned.iter().find(|a| a.name == rt).unwrap();
    assert_eq!(rt_action.op, Op::Update, "{rt_action}");
    assert!(
        rt_action
            .details
            .iter()
            .any(|d| d == "route 0.0.0.0/0 -> NAT gateway"),
        "{rt_action}"
    );
    let vpc_action = planned.iter().find(|a| a.name == net.vpc_id).unwrap();
    assert_eq!(vpc_action.op, Op::Update);
    assert!(
        vpc_action
            .details
            .iter()
            .any(|d| d == "tag added: team=mesh"),
        "{vpc_action}"
    );
    assert!(planned.iter().all(|a| a.op == Op::Update), "{planned:#?}");

    let mark = h.shim.mark();
    run(network::ensure(&h.ctx, &spec)).await.unwrap();
    let mut mutating: Vec<String> = h
        .shim
        .actions_since(mark)
        .into_iter()
        .filter(|a| support::ec2_shim::is_mutating(a))
        .collect();
    mutating.sort();
    mutating.dedup();
    assert_eq!(mutating, ["CreateRoute", "CreateTags"]);
    for (kind, id) in tagged(&h.stack).await {
        let t = c
            .describe_tags()
            .filters(f("resource-id", &id))
            .filters(f("key", "team"))
            .send()
            .await
            .unwrap();
        assert_eq!(t.tags().len(), 1, "{kind} {id} has no team tag");
    }
    let replanned = run(network::plan(&h.ctx, &spec)).await.unwrap();
    assert!(replanned.iter().all(|a| a.op == Op::Keep), "{replanned:#?}");
    run(network::destroy(&h.ctx, &h.stack)).await.unwrap();
}

/// The default route of the route table associated with `subnet`, if it has one.
async fn default_route(subnet: &str) -> Option<String> {
    let rts = ec2()
        .await
        .describe_route_tables()
        .filters(f("association.subnet-id", subnet))
        .send()
        .await
        .unwrap();
    rts.route_tables()
        .first()?
        .routes()
        .iter()
        .find(|r| r.destination_cidr_block() == Some("0.0.0.0/0"))
        .and_then(|r| r.nat_gateway_id().or(r.gateway_id()))
        .map(str::to_string)
}

#[tokio::test]
async fn private_routes_wait_for_a_pending_nat_gateway() {
    let h = harness("net-nat-pending", Duration::from_millis(500)).await;
    h.shim.hold_nat_gateways_pending(true);
    let net = run(network::ensure(&h.ctx, &h.spec(NatMode::Single)))
        .await
        .unwrap();
    // ensure returned with the subnets; the NAT gateway is not ready, so no private route yet.
    assert_eq!(net.nat_gateway_ids.len(), 1);
    for s in &net.private_subnet_ids {
        assert_eq!(default_route(s).await, None, "{s}");
    }
    let err = run(network::wait_nat(&h.ctx, &net)).await.unwrap_err();
    let text = err.to_string();
    assert!(text.contains("timed out"), "{text}");
    assert!(text.contains(&net.nat_gateway_ids[0]), "{text}");

    h.shim.hold_nat_gateways_pending(false);
    run(network::wait_nat(&h.ctx, &net)).await.unwrap();
    run(network::route_private_subnets(&h.ctx, &net))
        .await
        .unwrap();
    for s in &net.private_subnet_ids {
        assert_eq!(
            default_route(s).await.as_ref(),
            Some(&net.nat_gateway_ids[0]),
            "{s}"
        );
    }
    run(network::destroy(&h.ctx, &h.stack)).await.unwrap();
    assert!(tagged(&h.stack).await.is_empty());
}
