//! The whole stack end to end through the real binary: `meshctl up --yes` of every step
//! (cluster with its VPC, nodes, amp, istio, irsa, prometheus, kiali, grafana, pagerduty)
//! against moto behind the EKS shim, the AMP scraper fake, the AMG, Grafana and
//! PagerDuty fakes, the real helm with the packaged test charts, and the Kubernetes API server
//! fake; then a second `up` that changes nothing anywhere; then `cleanup` that leaves nothing
//! carrying the stack's tag or labels. Nothing runs pods: a small controller task in the test
//! reports workloads ready, plays istiod (webhook CA bundle, ready EndpointSlice) and the load
//! balancer controller (a hostname for LoadBalancer Services).

use serde_json::Value;

use crate::support::kube_fake;
use crate::support::stack_rig::{
    REST_TOKEN, Rig, STEPS, aws_inventory, grafana_and_pagerduty_inventory, kube_inventory,
};
use crate::support::{Run, step_actions};

/// The status of `step` in a run report.
fn step_status(doc: &Value, step: &str) -> String {
    doc["steps"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["step"] == step))
        .map(|s| s["status"].as_str().unwrap_or_default().to_string())
        .unwrap_or_else(|| panic!("no {step} step in {doc:#}"))
}

/// Every file under `dir` that reads as text, as `(path, text)`.
fn text_files(dir: &std::path::Path) -> Vec<(String, String)> {
    let mut out = vec![];
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).expect("read a directory").flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
            } else if let Ok(text) = std::fs::read_to_string(&p) {
                out.push((p.display().to_string(), text));
            }
        }
    }
    out
}

#[test]
fn up_of_the_whole_stack_then_a_no_op_up_then_cleanup_leaves_nothing() {
    let rig = Rig::new("e2e-stack");
    let _controllers = rig.start_controllers();
    let mut runs: Vec<(String, Run)> = vec![];

    // --- the first `up`: every step succeeds ------------------------------------------
    let first = rig.run(&["up", "--yes", "-vv"]);
    first.expect_code(0);
    let doc = first.json();
    assert_eq!(doc["status"], "succeeded", "{doc:#}");
    for step in STEPS {
        assert_eq!(step_status(&doc, step), "succeeded", "{step}: {doc:#}");
    }
    runs.push(("up".into(), first));

    let created = rig.rt.block_on(aws_inventory(&rig));
    for kind in [
        "vpc ",
        "subnet ",
        "nat-gateway ",
        "elastic-ip ",
        "route-table ",
        "internet-gateway ",
        "security-group-rule ",
        "iam-role ",
        "iam-oidc-provider ",
        "eks-cluster ",
        "eks-nodegroup ",
        "amp-workspace ",
        "grafana-workspace ",
    ] {
        assert!(
            created.iter().any(|r| r.starts_with(kind)),
            "no {kind}after up: {created:#?}"
        );
    }
    let objects = kube_inventory(&rig);
    for what in [
        "Deployment istio-system/istiod",
        "Deployment prometheus/prometheus",
        "MutatingWebhookConfiguration /istio-sidecar-injector",
    ] {
        assert!(
            objects.iter().any(|o| o == what),
            "no {what} after up: {objects:#?}"
        );
    }
    let items = grafana_and_pagerduty_inventory(&rig);
    for kind in [
        "datasource ",
        "dashboard ",
        "contact-point ",
        "rule-group ",
        "pagerduty-service ",
    ] {
        assert!(
            items.iter().any(|i| i.starts_with(kind)),
            "no {kind}after up: {items:#?}"
        );
    }

    let workspaces = rig.amg.workspaces();
    assert_eq!(workspaces.len(), 1, "one Grafana workspace, meshctl's");
    let workspace = workspaces[0].id.clone();

    // --- a second `up` changes nothing, at any emulator --------------------------------
    // Let the controller task finish what the first run left it (e.g. the gateway's
    // hostname), so the log below holds only the second run's calls. Bounded.
    rig.settle();
    rig.shim.reset_calls();
    rig.kube.clear_log();
    let scraper_calls = rig.scrapers.requests().len();
    let amg_calls = rig.amg.state.lock().unwrap().calls.len();
    let grafana_before = format!("{:?}", rig.grafana.snapshot());
    let pd_before = format!("{:?}", rig.pd.snapshot());

    let plan = rig.run(&["up", "--dry-run"]);
    plan.expect_code(0);
    let plan_doc = plan.json();
    for op in ["create", "update", "delete", "conflict"] {
        assert_eq!(
            plan_doc["summary"][op], 0,
            "the plan on a complete stack shows a change: {plan_doc:#}"
        );
    }
    runs.push(("up --dry-run".into(), plan));

    let second = rig.run(&["up", "--yes", "-vv"]);
    second.expect_code(0);
    let doc = second.json();
    for step in STEPS {
        assert_eq!(step_status(&doc, step), "succeeded", "{step}: {doc:#}");
        for (op, kind, name) in step_actions(&doc, step) {
            assert_eq!(op, "keep", "second up, {step}: {op} {kind} {name}");
        }
    }
    let istio = doc["steps"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["step"] == "istio"))
        .expect("the istio step");
    assert_eq!(istio["outputs"]["mode"], "sidecar", "{istio:#}");
    assert!(
        istio["outputs"]["ingress_hostname"]
            .as_str()
            .is_some_and(|h| h.ends_with(".elb.us-east-1.amazonaws.com")),
        "the gateway's load balancer hostname: {istio:#}"
    );
    runs.push(("second up".into(), second));

    let aws_writes = rig.shim.mutating_calls();
    assert!(
        aws_writes.is_empty(),
        "second up wrote to AWS: {aws_writes:?}"
    );
    let scraper_writes: Vec<(String, String)> = rig.scrapers.requests()[scraper_calls..]
        .iter()
        .filter(|(method, _)| method != "GET")
        .cloned()
        .collect();
    assert!(
        scraper_writes.is_empty(),
        "second up wrote to AMP scrapers: {scraper_writes:?}"
    );
    let kube_writes: Vec<String> = rig
        .kube
        .mutating_calls()
        .into_iter()
        .map(|c| format!("{} {} ({:?})", c.method, c.path, c.field_manager))
        .collect();
    assert!(
        kube_writes.is_empty(),
        "second up wrote to Kubernetes: {kube_writes:?}"
    );
    // The Grafana API is reached with a short-lived service-account token made and deleted
    // again: that (and nothing else) is how meshctl reads Grafana at all.
    let amg_writes: Vec<String> = rig.amg.state.lock().unwrap().calls[amg_calls..]
        .iter()
        .filter(|c| !c.starts_with("GET "))
        .filter(|c| !c.contains("serviceaccounts"))
        .cloned()
        .collect();
    assert!(
        amg_writes.is_empty(),
        "second up wrote to AMG: {amg_writes:?}"
    );
    assert_eq!(
        format!("{:?}", rig.grafana.snapshot()),
        grafana_before,
        "second up changed something in Grafana"
    );
    assert_eq!(
        format!("{:?}", rig.pd.snapshot()),
        pd_before,
        "second up changed something in PagerDuty"
    );
    assert!(
        rig.amg.state.lock().unwrap().live_tokens().is_empty(),
        "a Grafana token was left alive"
    );

    // --- status: every step present ------------------------------------------------------
    let status = rig.run(&["status", "-vv"]);
    status.expect_code(0);
    let status_doc = status.json();
    for step in STEPS {
        let s = status_doc["steps"]
            .as_array()
            .and_then(|s| s.iter().find(|s| s["step"] == step))
            .unwrap_or_else(|| panic!("no {step} in {status_doc:#}"));
        assert_eq!(s["state"], "present", "{step}: {s:#}");
    }
    runs.push(("status".into(), status));

    // --- cleanup leaves nothing ----------------------------------------------------------
    let cleanup = rig.run(&["cleanup", "--yes", "-vv"]);
    cleanup.expect_code(0);
    runs.push(("cleanup".into(), cleanup));

    // AWS resources with the stack's tag, labelled Kubernetes objects, PagerDuty items in
    // Grafana and PagerDuty. The Grafana fake is the Grafana of the one workspace meshctl
    // created: deleting that workspace (AMG) deletes its data source, folder and dashboards
    // with it, as AMG does.
    let workspaces: Vec<String> = rig.amg.workspaces().into_iter().map(|w| w.id).collect();
    assert!(
        !workspaces.contains(&workspace),
        "the Grafana workspace {workspace} is still there: {workspaces:?}"
    );
    let left = rig.left_after_cleanup();
    assert!(left.is_empty(), "left after cleanup: {left:#?}");
    assert!(rig.amg.state.lock().unwrap().live_tokens().is_empty());

    // --- no secret in any output, log, state file or ledger -----------------------------
    let mut secrets = rig.amg.state.lock().unwrap().all_token_keys();
    assert!(!secrets.is_empty(), "Grafana tokens were minted");
    let keys = rig.pd.snapshot().minted;
    assert!(!keys.is_empty(), "a PagerDuty integration key was made");
    secrets.extend(keys);
    secrets.push(REST_TOKEN.to_string());
    secrets.push(kube_fake::TOKEN.to_string());
    let mut written: Vec<(String, String)> = runs
        .iter()
        .map(|(what, r)| {
            (
                format!("{what} output"),
                format!("{}\n{}", r.stdout, r.stderr),
            )
        })
        .collect();
    written.extend(text_files(rig.stack.path()));
    assert!(
        written.iter().any(|(p, _)| p.ends_with("ledger.json")),
        "the ledger was read: {:?}",
        written.iter().map(|(p, _)| p).collect::<Vec<_>>()
    );
    assert!(
        written.iter().any(|(p, _)| p.ends_with("state.json")),
        "the state was read"
    );
    for (where_, text) in &written {
        for s in &secrets {
            assert!(!text.contains(s.as_str()), "a secret appears in {where_}");
        }
    }
}

#[test]
fn cleanup_with_no_local_state_finds_the_whole_stack_by_tags_and_labels() {
    let rig = Rig::new("e2e-nostate");
    let _controllers = rig.start_controllers();
    rig.run(&["up", "--yes"]).expect_code(0);
    let created = rig.owned();
    assert!(!created.is_empty());
    rig.settle();

    // A new machine: no state, no ledger, nothing but the config file.
    std::fs::remove_dir_all(rig.stack.path().join(".meshctl")).expect("remove the state");

    // The plan lists what will go, step by step, and changes nothing.
    rig.proxies.reset_logs();
    let plan = rig.run(&["cleanup", "--dry-run"]);
    plan.expect_code(0);
    let doc = plan.json();
    for step in STEPS {
        let deletes: Vec<_> = step_actions(&doc, step)
            .into_iter()
            .filter(|(op, _, _)| op == "delete")
            .collect();
        assert!(
            !deletes.is_empty(),
            "the plan deletes {step}'s resources: {doc:#}"
        );
    }
    assert!(
        rig.proxies.mutating_calls().is_empty(),
        "a dry run changes nothing: {:?}",
        rig.proxies.mutating_calls()
    );

    // Without --yes and without a terminal, nothing is deleted.
    let refused = rig.run(&["cleanup"]);
    assert_ne!(refused.code, Some(0), "{}", refused.stderr);
    assert!(
        refused.stderr.contains("--yes") || refused.stdout.contains("--yes"),
        "the refusal says how to confirm:\n{}\n{}",
        refused.stdout,
        refused.stderr
    );
    assert_eq!(
        rig.owned(),
        created,
        "nothing was deleted without confirmation"
    );

    let cleanup = rig.run(&["cleanup", "--yes"]);
    cleanup.expect_code(0);
    assert_eq!(
        rig.left_after_cleanup(),
        Vec::<String>::new(),
        "left after a cleanup without state:\n{}",
        cleanup.stderr
    );
}
