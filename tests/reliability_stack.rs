//! Reliability of `up` across the whole stack (all nine steps), through the binary, with a
//! fault proxy in front of every emulator (tests/support/stack_rig.rs): AWS (moto behind the
//! EKS shim), AMP, AMG, the Grafana HTTP API, PagerDuty and the Kubernetes API server.
//!
//! - Rollback completeness: one generated test per changing call a whole-stack `up` makes
//!   (`rollback_at::*`). A hard failure is injected at the first call of that operation; the run
//!   ends `rolled-back`, nothing it created remains anywhere, and what existed before (an IAM
//!   role, a VPC, an AMP and an AMG workspace, a namespace and a ConfigMap, a Grafana folder and
//!   the notification policy tree, a PagerDuty service) is unchanged, field by field.
//!   The same at every step boundary (`rollback_at_boundary::*`): with the state in S3, the
//!   write that records the nth finished step fails.
//!   `the_rollback_tests_cover_every_changing_call_and_step_boundary_of_up` fails when `up`
//!   gains a changing call without a test here.
//! - Transient faults: 10 % of all requests fail transiently; `up` succeeds, nothing is
//!   created twice, and a later plan shows no change.
//! - Interrupts: SIGINT and SIGTERM at several points; the run exits 130 after rolling back,
//!   the next `up` completes and `cleanup` leaves nothing.
//! - Concurrency: two `up` of one stack from two processes, with local and with S3 state:
//!   exactly one proceeds, the other stops at the lock having changed nothing.
//! - A cleanup failing part-way lists what it removed and what is left; the next one finishes.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Child;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{Api, ApiResource, DynamicObject, Patch, PatchParams};
use serde_json::json;

use crate::support::fault_proxy::{Fault, FaultProxy, Rule};
use crate::support::stack_rig::{Rig, RigOptions, STEPS};
use crate::support::{RUN_GUARD, Run, STACK_TAG, block_on, finish, sdk_config};

/// Whether a proxied operation changes something and is not a deletion (deletions happen only
/// in rollback and cleanup, or are a step's own short-lived token being revoked).
fn is_changing(op: &str) -> bool {
    let verb = op.split_whitespace().next().unwrap_or_default();
    !(verb == "DELETE"
        || ["Delete", "Detach", "Disassociate", "Revoke", "Release"]
            .iter()
            .any(|p| op.starts_with(p)))
}

/// The changing calls a whole-stack `up` makes on a new stack, as `(proxy, op)`, each once.
fn changing_calls(rig: &Rig) -> BTreeSet<(String, String)> {
    rig.proxies
        .all()
        .iter()
        .flat_map(|(name, p)| {
            p.mutating_calls()
                .into_iter()
                .filter(|op| is_changing(op))
                .map(|op| (name.to_string(), op))
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// What existed before: seeded, then compared field by field.
// ---------------------------------------------------------------------------------------

/// Things of someone else's in every emulator, made before the run.
struct Preexisting {
    role: String,
    vpc: String,
    amp_workspace: String,
    amg_workspace: String,
}

const TEAM_NS: &str = "team-a";

fn seed_preexisting(rig: &Rig) -> Preexisting {
    let stack = &rig.stack.name;
    let (role, vpc) = rig.rt.block_on(async {
        let conf = sdk_config().await;
        let iam = aws_sdk_iam::Client::new(&conf);
        let role = format!("{stack}-team");
        iam.create_role()
            .role_name(&role)
            .assume_role_policy_document(
                json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                    "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
                .to_string(),
            )
            .tags(
                aws_sdk_iam::types::Tag::builder()
                    .key("team")
                    .value("a")
                    .build()
                    .expect("a tag"),
            )
            .send()
            .await
            .expect("CreateRole (pre-existing)");
        let ec2 = aws_sdk_ec2::Client::new(&conf);
        let vpc = ec2
            .create_vpc()
            .cidr_block("10.99.0.0/16")
            .send()
            .await
            .expect("CreateVpc (pre-existing)");
        (
            role,
            vpc.vpc()
                .and_then(|v| v.vpc_id())
                .unwrap_or_default()
                .to_string(),
        )
    });
    let amp_workspace = block_on(crate::support::create_untagged_workspace(&format!(
        "{stack}-before"
    )));
    let amg_workspace = rig.amg.add_workspace("team-grafana", "10.4");

    // The API server fake takes server-side apply (as meshctl writes); another tool's
    // field manager makes them someone else's.
    let client = rig.client();
    rig.rt.block_on(async {
        let params = PatchParams::apply("team-a-tool");
        let ns = json!({"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": TEAM_NS, "labels": {"team": "a"}}});
        Api::<DynamicObject>::all_with(client.clone(), &ApiResource::erase::<Namespace>(&()))
            .patch(TEAM_NS, &params, &Patch::Apply(&ns))
            .await
            .expect("apply the team's namespace");
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "settings", "namespace": TEAM_NS},
            "data": {"owner": "team-a"}});
        Api::<DynamicObject>::namespaced_with(
            client,
            TEAM_NS,
            &ApiResource::erase::<ConfigMap>(&()),
        )
        .patch("settings", &params, &Patch::Apply(&cm))
        .await
        .expect("apply the team's ConfigMap");
    });
    rig.grafana.state.lock().unwrap().folders.insert(
        "team-folder".into(),
        json!({"uid": "team-folder", "title": "Team dashboards", "id": 900}),
    );
    rig.pd.state.lock().unwrap().services.push(json!({
        "id": "PTEAM01", "type": "service", "name": "Team service",
        "escalation_policy": {"id": "PTEAMEP", "type": "escalation_policy_reference"},
    }));
    Preexisting {
        role,
        vpc,
        amp_workspace,
        amg_workspace,
    }
}

/// Remove what [`seed_preexisting`] made in the shared moto (the fakes go with the rig), so
/// later tests list fewer foreign resources.
fn remove_preexisting(rig: &Rig, pre: &Preexisting) {
    rig.rt.block_on(async {
        let conf = sdk_config().await;
        let _ = aws_sdk_iam::Client::new(&conf)
            .delete_role()
            .role_name(&pre.role)
            .send()
            .await;
        let _ = aws_sdk_ec2::Client::new(&conf)
            .delete_vpc()
            .vpc_id(&pre.vpc)
            .send()
            .await;
        let _ = crate::support::amp()
            .await
            .delete_workspace()
            .workspace_id(&pre.amp_workspace)
            .send()
            .await;
    });
}

/// Everything meshctl owns in the rig, plus every field of everything that existed before.
fn world(rig: &Rig, pre: &Preexisting) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = rig
        .owned()
        .into_iter()
        .map(|what| (what, String::new()))
        .collect();
    rig.rt.block_on(async {
        let conf = sdk_config().await;
        let iam = aws_sdk_iam::Client::new(&conf);
        let role = iam
            .get_role()
            .role_name(&pre.role)
            .send()
            .await
            .ok()
            .and_then(|r| r.role);
        let policies = iam
            .list_attached_role_policies()
            .role_name(&pre.role)
            .send()
            .await
            .map(|p| format!("{:?}", p.attached_policies()))
            .unwrap_or_default();
        out.insert(
            format!("iam-role {}", pre.role),
            format!("{role:?} {policies}"),
        );
        let ec2 = aws_sdk_ec2::Client::new(&conf);
        let vpc = ec2
            .describe_vpcs()
            .vpc_ids(&pre.vpc)
            .send()
            .await
            .map(|v| format!("{:?}", v.vpcs()))
            .unwrap_or_default();
        out.insert(format!("vpc {}", pre.vpc), vpc);
    });
    let amp = block_on(crate::support::describe_workspace(&pre.amp_workspace));
    out.insert(
        format!("amp-workspace {}", pre.amp_workspace),
        format!("{:?}", amp.map(|w| (w.alias, w.status, sorted(&w.tags)))),
    );
    let amg = rig
        .amg
        .workspaces()
        .into_iter()
        .find(|w| w.id == pre.amg_workspace)
        .map(|w| format!("{} {:?}", w.name, w.tags));
    out.insert(
        format!("amg-workspace {}", pre.amg_workspace),
        format!("{amg:?}"),
    );
    for o in rig.kube.all_objects() {
        let in_team_ns = o["metadata"]["namespace"] == TEAM_NS
            || (o["kind"] == "Namespace" && o["metadata"]["name"] == TEAM_NS);
        if in_team_ns {
            out.insert(
                format!(
                    "k8s {} {}",
                    o["kind"].as_str().unwrap_or_default(),
                    o["metadata"]["name"].as_str().unwrap_or_default()
                ),
                o.to_string(),
            );
        }
    }
    let g = rig.grafana.snapshot();
    for (uid, f) in &g.folders {
        out.insert(format!("grafana-folder {uid}"), f.to_string());
    }
    out.insert("grafana-policy-tree".into(), g.policies.to_string());
    for s in rig.pd.snapshot().services {
        out.insert(format!("pagerduty-service {}", s["id"]), s.to_string());
    }
    out
}

fn sorted<K: Ord + Clone, V: Clone>(map: &std::collections::HashMap<K, V>) -> BTreeMap<K, V> {
    map.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

// ---------------------------------------------------------------------------------------
// Rollback completeness, one generated test per changing call.
// ---------------------------------------------------------------------------------------

/// Inject a hard failure at the first `op` on `proxy` during a whole-stack `up` of a new
/// stack: the run is rolled back completely and what existed before is unchanged.
fn rollback_is_complete_when(proxy: &str, op: &str) {
    let rig = Rig::new(&format!("rbs-{}", op.len()));
    rollback_is_complete(&format!("{proxy} {op}"), &rig, || {
        rig.proxies.by_name(proxy).add(Rule::Nth {
            op: op.to_string(),
            nth: 1,
            fault: Fault::hard(&format!("injected failure at {op}")),
        })
    });
}

/// Run a whole-stack `up` of `rig`'s new stack with the failure `inject` sets up: the run
/// ends rolled back, nothing it created remains and what existed before is unchanged.
fn rollback_is_complete(what: &str, rig: &Rig, inject: impl FnOnce()) {
    let _controllers = rig.start_controllers();
    let pre = seed_preexisting(rig);
    let before = world(rig, &pre);
    inject();
    let run = rig.run(&["up", "--yes"]);
    let report = run.json();
    assert_eq!(
        run.code,
        Some(1),
        "a failure at {what} is rolled back completely (exit 1): {report:#}\n{}",
        run.stderr
    );
    assert_eq!(
        report["status"], "rolled-back",
        "{report:#}\n{}",
        run.stderr
    );
    assert!(
        rig.proxies.faulted() >= 1,
        "the failure was injected at {what}"
    );
    let after = world(rig, &pre);
    let gone: Vec<_> = before.keys().filter(|k| !after.contains_key(*k)).collect();
    let left: Vec<_> = after.keys().filter(|k| !before.contains_key(*k)).collect();
    let changed: Vec<_> = before
        .iter()
        .filter(|(k, v)| after.get(*k).is_some_and(|a| a != *v))
        .map(|(k, v)| format!("{k}\n  before: {v}\n  after:  {}", after[k]))
        .collect();
    assert!(
        left.is_empty() && gone.is_empty() && changed.is_empty(),
        "after a failure at {what}:\nleft behind: {left:#?}\nremoved: {gone:#?}\n\
         changed: {changed:#?}\n{}",
        run.stderr
    );
    assert!(
        rig.amg.state.lock().unwrap().live_tokens().is_empty(),
        "no Grafana token left alive after a failure at {what}"
    );
    remove_preexisting(rig, &pre);
}

/// A failure at a step boundary: the stack's state lives in S3 and the `nth` write of its
/// `state.json` (the record that the `nth` step to finish has been applied) fails, so the run
/// stops between that step and the next.
fn rollback_is_complete_at_boundary(nth: usize) {
    let bucket = crate::support::unique("rbs-bound");
    block_on(crate::support::create_bucket(&bucket));
    let rig = Rig::with(
        "rbs-bound",
        RigOptions {
            state: Some(format!("s3://{bucket}/stacks")),
            ..RigOptions::default()
        },
    );
    rollback_is_complete(&format!("state write {nth}"), &rig, || {
        rig.proxies.aws.add(Rule::NthPath {
            method: "PUT".into(),
            path: "/state.json".into(),
            nth,
            fault: Fault::hard("injected failure recording a finished step"),
        })
    });
}

/// One test per step boundary of a whole-stack `up`: nine steps, nine recorded completions.
mod rollback_at_boundary {
    #[test]
    fn after_the_1st_step() {
        super::rollback_is_complete_at_boundary(1);
    }
    #[test]
    fn after_the_2nd_step() {
        super::rollback_is_complete_at_boundary(2);
    }
    #[test]
    fn after_the_3rd_step() {
        super::rollback_is_complete_at_boundary(3);
    }
    #[test]
    fn after_the_4th_step() {
        super::rollback_is_complete_at_boundary(4);
    }
    #[test]
    fn after_the_5th_step() {
        super::rollback_is_complete_at_boundary(5);
    }
    #[test]
    fn after_the_6th_step() {
        super::rollback_is_complete_at_boundary(6);
    }
    #[test]
    fn after_the_7th_step() {
        super::rollback_is_complete_at_boundary(7);
    }
    #[test]
    fn after_the_8th_step() {
        super::rollback_is_complete_at_boundary(8);
    }
    #[test]
    fn after_the_9th_step() {
        super::rollback_is_complete_at_boundary(9);
    }
}

macro_rules! rollback_points {
    ($($test:ident: $proxy:literal $op:literal;)*) => {
        /// Every changing call of a whole-stack `up`, as `(proxy, operation)`.
        const POINTS: &[(&str, &str)] = &[$(($proxy, $op)),*];

        /// One test per changing call of `up`: a hard failure there is rolled back completely.
        mod rollback_at {
            $(
                #[test]
                fn $test() {
                    super::rollback_is_complete_when($proxy, $op);
                }
            )*
        }
    };
}

rollback_points! {
    // cluster: the network
    create_vpc: "aws" "CreateVpc";
    modify_vpc_attribute: "aws" "ModifyVpcAttribute";
    create_internet_gateway: "aws" "CreateInternetGateway";
    attach_internet_gateway: "aws" "AttachInternetGateway";
    create_subnet: "aws" "CreateSubnet";
    create_route_table: "aws" "CreateRouteTable";
    create_route: "aws" "CreateRoute";
    associate_route_table: "aws" "AssociateRouteTable";
    allocate_address: "aws" "AllocateAddress";
    create_nat_gateway: "aws" "CreateNatGateway";
    // cluster: IAM, the control plane, its security group rules and the OIDC provider
    create_role: "aws" "CreateRole";
    attach_role_policy: "aws" "AttachRolePolicy";
    create_cluster: "aws" "POST /clusters";
    authorize_security_group_ingress: "aws" "AuthorizeSecurityGroupIngress";
    create_open_id_connect_provider: "aws" "CreateOpenIDConnectProvider";
    // irsa
    put_role_policy: "aws" "PutRolePolicy";
    // nodes
    create_nodegroup: "aws" "POST /clusters/{}/node-groups";
    // amp
    create_amp_workspace: "amp" "POST /workspaces";
    create_rule_groups_namespace: "amp" "POST /workspaces/{}/rulegroupsnamespaces";
    // grafana: the workspace, its permissions, the short-lived API token
    create_grafana_workspace: "amg" "POST /workspaces";
    update_grafana_permissions: "amg" "PATCH /workspaces/{}/permissions";
    create_grafana_service_account: "amg" "POST /workspaces/{}/serviceaccounts";
    create_grafana_token: "amg" "POST /workspaces/{}/serviceaccounts/{}/tokens";
    // grafana: the data source, folder and dashboards
    create_grafana_datasource: "grafana" "POST /api/datasources";
    create_grafana_folder: "grafana" "POST /api/folders";
    save_grafana_dashboard: "grafana" "POST /api/dashboards/db";
    // pagerduty: the service, its integration, the contact point and the alert rules (Grafana 11+
    // keeps its policy tree; a route is added only on older versions)
    create_pagerduty_service: "pagerduty" "POST /services";
    create_pagerduty_integration: "pagerduty" "POST /services/{}/integrations";
    create_contact_point: "grafana" "POST /api/v1/provisioning/contact-points";
    put_alert_rule_group: "grafana" "PUT /api/v1/provisioning/folder/{}/rule-groups/{}";
    // istio, irsa, prometheus, kiali: server-side apply of every kind of object
    apply_namespace: "kube" "PATCH v1 namespaces";
    apply_service_account: "kube" "PATCH v1 serviceaccounts";
    apply_crd: "kube" "PATCH apiextensions.k8s.io/v1 customresourcedefinitions";
    apply_cluster_role: "kube" "PATCH rbac.authorization.k8s.io/v1 clusterroles";
    apply_cluster_role_binding: "kube" "PATCH rbac.authorization.k8s.io/v1 clusterrolebindings";
    apply_config_map: "kube" "PATCH v1 configmaps";
    apply_service: "kube" "PATCH v1 services";
    apply_deployment: "kube" "PATCH apps/v1 deployments";
    apply_mutating_webhook: "kube" "PATCH admissionregistration.k8s.io/v1 mutatingwebhookconfigurations";
    apply_validating_webhook: "kube" "PATCH admissionregistration.k8s.io/v1 validatingwebhookconfigurations";
    apply_peer_authentication: "kube" "PATCH security.istio.io/v1 peerauthentications";
}

#[test]
fn the_rollback_tests_cover_every_changing_call_and_step_boundary_of_up() {
    let bucket = crate::support::unique("rbs-discover");
    block_on(crate::support::create_bucket(&bucket));
    let rig = Rig::with(
        "rbs-discover",
        RigOptions {
            state: Some(format!("s3://{bucket}/stacks")),
            ..RigOptions::default()
        },
    );
    let _controllers = rig.start_controllers();
    let run = rig.run(&["up", "--yes"]);
    run.expect_code(0);
    // One write of state.json per finished step: the boundaries `rollback_at_boundary` fails.
    let state_writes = rig
        .proxies
        .aws
        .calls()
        .iter()
        .filter(|c| c.method == "PUT" && c.path.contains("/state.json"))
        .count();
    assert_eq!(state_writes, STEPS.len(), "one state write per step");
    // The state store's own objects are not the stack's resources.
    let seen: BTreeSet<(String, String)> = changing_calls(&rig)
        .into_iter()
        .filter(|(proxy, op)| !(proxy == "aws" && op.starts_with(&format!("PUT /{bucket}"))))
        .collect();
    let listed: BTreeSet<(String, String)> = POINTS
        .iter()
        .map(|(p, o)| (p.to_string(), o.to_string()))
        .collect();
    let untested: Vec<_> = seen.difference(&listed).collect();
    let stale: Vec<_> = listed.difference(&seen).collect();
    assert!(
        untested.is_empty() && stale.is_empty(),
        "add a rollback_points! entry for each changing call `up` now makes: {untested:#?}\n\
         and remove the entries it no longer makes: {stale:#?}"
    );
    rig.run(&["cleanup", "--yes"]).expect_code(0);
    assert_eq!(rig.left_after_cleanup(), Vec::<String>::new());
}

// ---------------------------------------------------------------------------------------
// Transient faults.
// ---------------------------------------------------------------------------------------

/// The tag sets of every resource of `kind` meshctl made more than once (a duplicate has the
/// same tags as the original).
fn duplicated_tag_sets(rig: &Rig) -> Vec<String> {
    let stack = rig.stack.name.clone();
    rig.rt.block_on(async move {
        let ec2 = aws_sdk_ec2::Client::new(&sdk_config().await);
        let filter = aws_sdk_ec2::types::Filter::builder()
            .name(format!("tag:{STACK_TAG}"))
            .values(&stack)
            .build();
        let tags = |t: &[aws_sdk_ec2::types::Tag]| -> String {
            let mut v: Vec<String> = t
                .iter()
                .map(|t| {
                    format!(
                        "{}={}",
                        t.key().unwrap_or_default(),
                        t.value().unwrap_or_default()
                    )
                })
                .collect();
            v.sort();
            v.join(",")
        };
        let mut all = vec![];
        let s = ec2
            .describe_subnets()
            .filters(filter.clone())
            .send()
            .await
            .expect("subnets");
        all.extend(
            s.subnets()
                .iter()
                .map(|x| format!("subnet {}", tags(x.tags()))),
        );
        let r = ec2
            .describe_route_tables()
            .filters(filter.clone())
            .send()
            .await
            .expect("route tables");
        all.extend(
            r.route_tables()
                .iter()
                .map(|x| format!("route-table {}", tags(x.tags()))),
        );
        let a = ec2
            .describe_addresses()
            .filters(filter.clone())
            .send()
            .await
            .expect("eips");
        all.extend(
            a.addresses()
                .iter()
                .map(|x| format!("eip {}", tags(x.tags()))),
        );
        let n = ec2
            .describe_nat_gateways()
            .filter(filter)
            .send()
            .await
            .expect("nats");
        all.extend(
            n.nat_gateways()
                .iter()
                .filter(|x| x.state().map(|s| s.as_str()) != Some("deleted"))
                .map(|x| format!("nat-gateway {}", tags(x.tags()))),
        );
        let mut seen = BTreeSet::new();
        all.into_iter()
            .filter(|x| !seen.insert(x.clone()))
            .collect()
    })
}

#[test]
fn ten_percent_transient_faults_everywhere_neither_fail_up_nor_duplicate_anything() {
    let rig = Rig::new("rbs-transient");
    let _controllers = rig.start_controllers();
    // AWS APIs: throttling, 500, 503 and cut connections, which the SDK retries. Grafana,
    // PagerDuty and the API server: 429 and 503, which say the request was not processed
    // (meshctl's HTTP client and kube-rs retry them whatever the method).
    let aws = vec![
        Fault::throttle(),
        Fault::unavailable(),
        Fault::internal(),
        Fault::Reset,
    ];
    let http = vec![Fault::too_many(), Fault::unavailable()];
    for (i, (name, p)) in rig.proxies.all().into_iter().enumerate() {
        p.add(Rule::Rate {
            per_mille: 100,
            seed: 0x5eed_0000 + i as u64,
            faults: if matches!(name, "aws" | "amp" | "amg") {
                aws.clone()
            } else {
                http.clone()
            },
        });
    }
    let run = rig.run(&["up", "--yes"]);
    let report = run.json();
    assert_eq!(run.code, Some(0), "{report:#}\n{}", run.stderr);
    // Every emulator that saw a fair number of requests answered some with a fault.
    let faults: Vec<(&str, usize, usize)> = rig
        .proxies
        .all()
        .iter()
        .map(|(name, p)| (*name, p.calls().len(), p.faulted()))
        .collect();
    for (name, calls, faulted) in &faults {
        assert!(
            *calls < 30 || *faulted >= 1,
            "the {name} proxy injected faults: {faults:?}"
        );
    }
    assert!(
        faults.iter().map(|f| f.2).sum::<usize>() >= 10,
        "faults were injected: {faults:?}"
    );

    let owned = rig.owned();
    let count = |prefix: &str| owned.iter().filter(|o| o.starts_with(prefix)).count();
    for (kind, n) in [
        ("vpc ", 1),
        ("internet-gateway ", 1),
        ("eks-cluster ", 1),
        ("eks-nodegroup ", 1),
        ("iam-oidc-provider ", 1),
        ("amp-workspace ", 1),
        ("grafana-workspace ", 1),
        ("datasource ", 1),
        ("contact-point ", 1),
        ("pagerduty-service ", 1),
    ] {
        assert_eq!(count(kind), n, "{kind}: {owned:#?}");
    }
    assert_eq!(
        duplicated_tag_sets(&rig),
        Vec::<String>::new(),
        "network parts made twice"
    );

    // Nothing is left to do: a plan without faults shows no change.
    rig.proxies.clear_rules();
    let plan = rig.run(&["up", "--dry-run"]);
    plan.expect_code(0);
    let plan = plan.json();
    for op in ["create", "update", "delete", "conflict"] {
        assert_eq!(plan["summary"][op], 0, "{op} after a faulty up: {plan:#}");
    }
    rig.run(&["cleanup", "--yes"]).expect_code(0);
    assert_eq!(rig.left_after_cleanup(), Vec::<String>::new());
}

// ---------------------------------------------------------------------------------------
// Interrupts.
// ---------------------------------------------------------------------------------------

/// Wait (bounded) until `proxy` has seen a call to `op`; panic if the child ends first.
fn wait_for_call(rig: &Rig, child: &mut Child, proxy: &str, op: &str) {
    let started = Instant::now();
    while !rig
        .proxies
        .by_name(proxy)
        .calls()
        .iter()
        .any(|c| c.op == op)
    {
        if let Some(status) = child.try_wait().expect("poll meshctl") {
            panic!("meshctl ended ({status}) before calling {proxy} {op}");
        }
        assert!(
            started.elapsed() < RUN_GUARD,
            "hang guard: no call to {proxy} {op}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Interrupt a whole-stack `up` with `signal` while its call to `op` on `proxy` is in flight
/// (held there for a while): the run rolls back and exits 130, the next `up` completes, and
/// `cleanup` leaves nothing.
fn interrupted_then_resumed(signal: &str, proxy: &str, op: &str) {
    let rig = Rig::new(&format!("rbs-{}", signal.to_lowercase()));
    let _controllers = rig.start_controllers();
    rig.proxies.by_name(proxy).add(Rule::Nth {
        op: op.to_string(),
        nth: 1,
        fault: Fault::Delay(Duration::from_millis(1500)),
    });
    let mut child = rig.spawn(&["up", "--yes"]);
    wait_for_call(&rig, &mut child, proxy, op);
    let pid = child.id().to_string();
    let kill = std::process::Command::new("kill")
        .args([format!("-{signal}"), pid])
        .status()
        .expect("run kill");
    assert!(kill.success());
    let run = finish(child, RUN_GUARD);
    assert_eq!(
        run.code,
        Some(130),
        "{signal} during {proxy} {op}: exit 130\nstdout:\n{}\nstderr:\n{}",
        run.stdout,
        run.stderr
    );
    let notice = if signal == "INT" {
        "interrupted (Ctrl-C)"
    } else {
        "interrupted (SIGTERM)"
    };
    assert!(
        run.stderr.contains(notice),
        "the interrupted notice:\n{}",
        run.stderr
    );
    assert!(!rig.stack.lock_file().exists(), "the lock was released");

    rig.proxies.clear_rules();
    let again = rig.run(&["up", "--yes"]);
    again.expect_code(0);
    let doc = again.json();
    for step in STEPS {
        let status = doc["steps"]
            .as_array()
            .and_then(|s| s.iter().find(|s| s["step"] == step))
            .map(|s| s["status"].clone());
        assert_eq!(status, Some(json!("succeeded")), "{step}: {doc:#}");
    }
    rig.run(&["cleanup", "--yes"]).expect_code(0);
    assert_eq!(
        rig.left_after_cleanup(),
        Vec::<String>::new(),
        "left after {signal} during {proxy} {op}, up and cleanup"
    );
}

#[test]
fn sigint_while_the_control_plane_is_being_created_then_up_and_cleanup() {
    interrupted_then_resumed("INT", "aws", "POST /clusters");
}

#[test]
fn sigterm_while_istio_is_being_applied_then_up_and_cleanup() {
    interrupted_then_resumed("TERM", "kube", "PATCH apps/v1 deployments");
}

#[test]
fn sigint_while_the_grafana_workspace_is_being_created_then_up_and_cleanup() {
    interrupted_then_resumed("INT", "amg", "POST /workspaces");
}

#[test]
fn sigterm_while_pagerduty_is_being_set_up_then_up_and_cleanup() {
    interrupted_then_resumed("TERM", "pagerduty", "POST /services");
}

// ---------------------------------------------------------------------------------------
// Concurrency.
// ---------------------------------------------------------------------------------------

/// Two whole-stack `up` of one stack from two processes: the first holds the lock (its first
/// VPC call is slowed down), the second stops at the lock with exit 2 having made no changing
/// call, and the first completes with one of everything.
fn exactly_one_of_two_runs_proceeds(rig: Rig, s3_state: bool) {
    let _controllers = rig.start_controllers();
    rig.proxies.aws.add(Rule::Nth {
        op: "CreateVpc".into(),
        nth: 1,
        fault: Fault::Delay(Duration::from_secs(2)),
    });
    let mut first = rig.spawn(&["up", "--yes"]);
    wait_for_call(&rig, &mut first, "aws", "CreateVpc");
    // The second run reaches AWS through a proxy of its own, so its calls are told apart
    // from the first run's (which go on meanwhile). Taking the lock is its only write: an
    // object in the state store when the state is in S3.
    let second_proxy = FaultProxy::start(&rig.shim.url);
    let mut cmd = rig.command(&["up", "--yes"]);
    cmd.env("AWS_ENDPOINT_URL", &second_proxy.url);
    let second = Run::from(cmd.output().expect("meshctl runs"));
    second.expect_code(2);
    let err = second.json();
    let message = err["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(&format!(
            "stack `{}` is locked by `meshctl up`",
            rig.stack.name
        )),
        "{err:#}"
    );
    let writes: Vec<String> = second_proxy
        .calls()
        .into_iter()
        .filter(|c| c.mutating && !c.path.contains("lock.json"))
        .map(|c| format!("{} {}", c.op, c.path))
        .collect();
    assert!(
        writes.is_empty(),
        "the second run changed nothing: {writes:?}"
    );
    if s3_state {
        assert!(
            second_proxy
                .calls()
                .iter()
                .any(|c| c.method == "PUT" && c.path.contains("lock.json")),
            "the second run tried to take the lock in S3"
        );
    }

    let first = finish(first, RUN_GUARD);
    first.expect_code(0);
    assert_eq!(first.json()["status"], "succeeded");
    let owned = rig.owned();
    for kind in [
        "vpc ",
        "eks-cluster ",
        "amp-workspace ",
        "grafana-workspace ",
    ] {
        assert_eq!(
            owned.iter().filter(|o| o.starts_with(kind)).count(),
            1,
            "{kind}: {owned:#?}"
        );
    }
    rig.run(&["cleanup", "--yes"]).expect_code(0);
    assert_eq!(rig.left_after_cleanup(), Vec::<String>::new());
}

#[test]
fn two_ups_of_one_stack_with_local_state_exactly_one_proceeds() {
    exactly_one_of_two_runs_proceeds(Rig::new("rbs-two-local"), false);
}

#[test]
fn two_ups_of_one_stack_with_s3_state_exactly_one_proceeds() {
    let bucket = crate::support::unique("rbs-state");
    block_on(crate::support::create_bucket(&bucket));
    let rig = Rig::with(
        "rbs-two-s3",
        RigOptions {
            state: Some(format!("s3://{bucket}/stacks")),
            ..RigOptions::default()
        },
    );
    exactly_one_of_two_runs_proceeds(rig, true);
}

#[test]
fn rollback_tests_name_only_changing_calls() {
    for (proxy, op) in POINTS {
        assert!(is_changing(op), "{proxy} {op} is not a changing call");
    }
    assert!(!is_changing(
        "DELETE /workspaces/{}/serviceaccounts/{}/tokens/{}"
    ));
    assert!(!is_changing("DeleteNatGateway"));
    assert!(is_changing("PATCH v1 namespaces"));
}

// ---------------------------------------------------------------------------------------
// A cleanup that fails part-way.
// ---------------------------------------------------------------------------------------

#[test]
fn a_cleanup_failing_part_way_lists_what_it_removed_and_what_is_left_then_finishes() {
    let rig = Rig::new("rbs-partial");
    let _controllers = rig.start_controllers();
    rig.run(&["up", "--yes"]).expect_code(0);
    // The VPC is the cluster step's last deletion: everything else of the step goes first.
    rig.proxies.aws.add(Rule::From {
        op: "DeleteVpc".into(),
        nth: 1,
        fault: Fault::hard("injected failure deleting the VPC"),
    });
    let failed = rig.run(&["cleanup", "--yes"]);
    let doc = failed.json();
    assert_ne!(failed.code, Some(0), "{doc:#}");
    let cluster = doc["steps"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["step"] == "cluster"))
        .unwrap_or_else(|| panic!("the cluster step in {doc:#}"))
        .clone();
    let details = |detail: &str| -> Vec<String> {
        cluster["actions"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|a| a["detail"] == detail)
            .map(|a| format!("{} {}", a["kind"], a["name"]))
            .collect()
    };
    let removed = details("removed before the failure");
    let left = details("left: still owned by the stack");
    assert!(
        removed.iter().any(|r| r.contains("eks-cluster")),
        "the control plane was removed before the failure: {cluster:#}"
    );
    assert!(
        left.iter().any(|l| l.contains("vpc")),
        "the VPC is listed as left: {cluster:#}"
    );
    assert!(
        cluster
            .to_string()
            .contains("meshctl cleanup --only cluster"),
        "the report says how to finish: {cluster:#}"
    );
    // The other steps were cleaned up; what is left is the cluster step's network.
    let left_now = rig.left_after_cleanup();
    assert!(
        left_now.iter().any(|l| l.starts_with("vpc ")),
        "{left_now:#?}"
    );
    assert!(
        !left_now
            .iter()
            .any(|l| l.starts_with("eks-cluster ") || l.starts_with("amp-workspace ")),
        "{left_now:#?}"
    );

    rig.proxies.clear_rules();
    rig.run(&["cleanup", "--yes"]).expect_code(0);
    assert_eq!(rig.left_after_cleanup(), Vec::<String>::new());
}
