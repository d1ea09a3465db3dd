//! Reliability of `up` under faults, through the binary, with the fault-injecting proxy
//! (tests/support/fault_proxy.rs) between meshctl and every emulator it talks to: moto (AWS),
//! the AMG fake and the Grafana HTTP API fake.
//!
//! - Rollback completeness: a hard failure injected at each resource-creating call leaves
//!   nothing the run created, and what existed before is unchanged, field by field.
//! - Transient faults: with 10 % of requests failing transiently, `up` succeeds and creates no
//!   duplicates.
//! - Idempotency: a second `up` on a complete stack makes zero mutating calls.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;

use crate::support;
use support::amg_fake::AmgFake;
use support::fault_proxy::{Fault, FaultProxy, Rule};
use support::grafana_fake::GrafanaFake;
use support::{Run, Stack, block_on, moto};

/// One stack with its own AMG and Grafana fakes, each behind a fault proxy, and a proxy in
/// front of moto.
struct Rig {
    stack: Stack,
    aws: FaultProxy,
    amg_proxy: FaultProxy,
    grafana_proxy: FaultProxy,
    amg: AmgFake,
    grafana: GrafanaFake,
}

const STEPS: &str = "amp,grafana";

impl Rig {
    fn new(test: &str) -> Rig {
        let amg = AmgFake::start(Duration::from_millis(300));
        let grafana = GrafanaFake::start(amg.state.clone());
        let aws = FaultProxy::start(&moto());
        let amg_proxy = FaultProxy::start(&amg.url);
        let grafana_proxy = FaultProxy::start(&grafana.url);
        let stack = Stack::builder(test)
            .yaml(&format!(
                "grafana:\n  url: \"{}\"\n  dashboards_dir: \"{}\"\n  dashboards: [7639, 7636]\n",
                grafana_proxy.url,
                crate::grafana_fakes::fixtures().display()
            ))
            .build();
        Rig {
            stack,
            aws,
            amg_proxy,
            grafana_proxy,
            amg,
            grafana,
        }
    }

    fn up(&self) -> Run {
        let mut cmd = self.stack.cmd_via(&self.aws.url);
        cmd.env("AWS_ENDPOINT_URL_GRAFANA", &self.amg_proxy.url)
            .env("MESHCTL_POLL_INTERVAL", "100ms")
            .args(["up", "--only", STEPS, "--yes", "--output", "json"]);
        Run::from(cmd.output().expect("meshctl runs"))
    }

    fn proxies(&self) -> [&FaultProxy; 3] {
        [&self.aws, &self.amg_proxy, &self.grafana_proxy]
    }

    fn mutating_calls(&self) -> Vec<String> {
        self.proxies()
            .iter()
            .flat_map(|p| p.mutating_calls())
            .collect()
    }

    /// Everything that exists for any stack in this rig's emulators, as comparable text:
    /// AMP workspaces (with tags and rule namespaces), AMG workspaces, Grafana objects.
    fn world(&self) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for ws in block_on(support::all_workspaces()) {
            if ws.is_live()
                && (ws.owned_by(&self.stack.name)
                    || ws.alias.as_deref() == Some(self.preexisting_alias().as_str()))
            {
                let rules = block_on(support::rule_groups_namespace(&ws.id, "meshctl-istio"));
                out.insert(
                    format!("amp-workspace {}", ws.id),
                    format!(
                        "{:?} {:?} {:?}",
                        ws.alias,
                        sorted(&ws.tags),
                        rules.is_some()
                    ),
                );
            }
        }
        for ws in self.amg.workspaces() {
            out.insert(
                format!("amg-workspace {}", ws.id),
                format!("{} {:?}", ws.name, ws.tags),
            );
        }
        let g = self.grafana.snapshot();
        for d in &g.datasources {
            out.insert(
                format!("grafana-datasource {}", d["uid"]),
                d["name"].to_string(),
            );
        }
        for (uid, f) in &g.folders {
            out.insert(format!("grafana-folder {uid}"), f["title"].to_string());
        }
        for uid in g.dashboards.keys() {
            out.insert(format!("grafana-dashboard {uid}"), String::new());
        }
        out
    }

    fn preexisting_alias(&self) -> String {
        format!("{}-before", self.stack.name)
    }

    /// Things that existed before the run: an untagged AMP workspace and a Grafana folder of
    /// someone else's. Rollback must leave them exactly as they were.
    fn seed_preexisting(&self) {
        block_on(support::create_untagged_workspace(
            &self.preexisting_alias(),
        ));
        self.grafana.state.lock().unwrap().folders.insert(
            "team-folder".into(),
            serde_json::json!({"uid": "team-folder", "title": "Team dashboards"}),
        );
    }
}

fn sorted(tags: &std::collections::HashMap<String, String>) -> BTreeMap<String, String> {
    tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

/// The resource-creating calls `up --only amp,grafana` makes on a new stack, by proxy.
fn creating_calls() -> Vec<(usize, String)> {
    let rig = Rig::new("reliability_discover");
    let run = rig.up();
    run.expect_code(0);
    let mut calls = vec![];
    for (i, p) in rig.proxies().iter().enumerate() {
        for op in p.mutating_calls() {
            if !calls.contains(&(i, op.clone())) {
                calls.push((i, op));
            }
        }
    }
    calls
}

/// Inject a hard failure at the first call of `op` on proxy `which`; everything the run
/// created is rolled back and what existed before is unchanged.
fn rollback_is_complete_when(which: usize, op: &str) {
    let rig = Rig::new(&format!("rb-{which}-{}", op.len()));
    rig.seed_preexisting();
    let before = rig.world();
    rig.proxies()[which].add(Rule::Nth {
        op: op.to_string(),
        nth: 1,
        fault: Fault::hard(&format!("injected failure at {op}")),
    });
    let run = rig.up();
    let report = run.json();
    assert_eq!(
        run.code,
        Some(1),
        "a failure at {op} is rolled back completely (exit 1): {report:#}\n{}",
        run.stderr
    );
    assert_eq!(report["status"], "rolled-back", "{report:#}");
    let after = rig.world();
    assert_eq!(
        after, before,
        "after the failure at {op}, only what existed before remains, unchanged"
    );
    assert!(
        rig.amg.state.lock().unwrap().live_tokens().is_empty(),
        "no Grafana token left alive after a failure at {op}"
    );
}

#[test]
fn rollback_is_complete_at_every_resource_creating_call() {
    let calls = creating_calls();
    assert!(
        calls.len() >= 5,
        "amp and grafana make several creating calls: {calls:?}"
    );
    for (which, op) in &calls {
        rollback_is_complete_when(*which, op);
    }
}

#[test]
fn ten_percent_transient_faults_neither_fail_up_nor_duplicate_anything() {
    let rig = Rig::new("reliability_transient");
    // AWS APIs (moto, AMG): throttling, 500, 503 and cut connections, which the SDK retries.
    // The Grafana HTTP API: rate limiting and 503, which say the request was not processed
    // and so may be sent again whatever its method.
    let aws_faults = vec![
        Fault::throttle(),
        Fault::unavailable(),
        Fault::internal(),
        Fault::Reset,
    ];
    let http_faults = vec![Fault::too_many(), Fault::unavailable()];
    for (i, p) in rig.proxies().iter().enumerate() {
        p.add(Rule::Rate {
            per_mille: 100,
            seed: 0x5eed + i as u64,
            faults: if i == 2 {
                http_faults.clone()
            } else {
                aws_faults.clone()
            },
        });
    }
    let run = rig.up();
    let report = run.json();
    assert_eq!(run.code, Some(0), "{report:#}\n{}", run.stderr);
    let faulted: usize = rig.proxies().iter().map(|p| p.faulted()).sum();
    assert!(faulted >= 1, "the proxies injected faults");
    let owned = block_on(support::live_tagged_workspaces(&rig.stack.name));
    assert_eq!(owned.len(), 1, "one AMP workspace, no duplicate: {owned:?}");
    let amg: Vec<_> = rig
        .amg
        .workspaces()
        .into_iter()
        .filter(|w| w.tags.get(support::STACK_TAG) == Some(&rig.stack.name))
        .collect();
    assert_eq!(amg.len(), 1, "one Grafana workspace, no duplicate");
    assert_eq!(
        rig.grafana.snapshot().datasources.len(),
        1,
        "one data source"
    );
}

#[test]
fn a_second_up_on_a_complete_stack_makes_no_mutating_call() {
    let rig = Rig::new("reliability_idempotent");
    rig.up().expect_code(0);
    for p in rig.proxies() {
        p.reset_log();
    }
    let run = rig.up();
    run.expect_code(0);
    let report: Value = run.json();
    let mutating = rig.mutating_calls();
    // The Grafana API is reached with a short-lived token that is made and deleted again:
    // those two calls (and nothing else) are how meshctl reads Grafana at all.
    let unexpected: Vec<&String> = mutating
        .iter()
        .filter(|op| !op.contains("serviceaccounts"))
        .collect();
    assert!(
        unexpected.is_empty(),
        "a re-run changed nothing but its own short-lived token: {unexpected:?}\n{report:#}"
    );
    assert!(
        rig.amg.state.lock().unwrap().live_tokens().is_empty(),
        "the token was deleted again"
    );
}
