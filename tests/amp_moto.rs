//! The `amp` step end to end: the real binary against moto, checked by asking moto directly.

use crate::support;

use support::{
    STACK_TAG, Stack, amp_actions, block_on, create_untagged_workspace, describe_workspace,
    live_tagged_workspaces, live_workspaces_with_alias, rule_groups_namespace, unique,
    workspace_is_live,
};

const RULES_NAMESPACE: &str = "meshctl-istio";

fn ops(actions: &[(String, String, String)]) -> Vec<(&str, &str)> {
    actions
        .iter()
        .map(|(op, kind, _)| (op.as_str(), kind.as_str()))
        .collect()
}

#[test]
fn amp_creates_one_tagged_workspace_with_the_istio_rules() {
    let stack = Stack::new("amp_creates");
    let run = stack.run_json(&["amp", "--yes"]);
    run.expect_code(0);
    let report = run.json();
    assert_eq!(report["status"], "succeeded", "{report:#}");
    assert_eq!(
        ops(&amp_actions(&report)),
        [
            ("create", "amp-workspace"),
            ("create", "amp-rule-groups-namespace")
        ],
        "{report:#}"
    );

    let owned = block_on(live_tagged_workspaces(&stack.name));
    assert_eq!(
        owned.len(),
        1,
        "exactly one workspace tagged for the stack: {owned:#?}"
    );
    let ws = &owned[0];
    assert_eq!(ws.tags.get(STACK_TAG), Some(&stack.name));
    assert_eq!(
        ws.alias.as_deref(),
        Some(stack.name.as_str()),
        "alias defaults to the stack name"
    );
    assert_eq!(
        report["steps"][0]["outputs"]["workspace_id"],
        ws.id.as_str()
    );

    let (data, tags) = block_on(rule_groups_namespace(&ws.id, RULES_NAMESPACE))
        .expect("the rule-groups namespace exists in the new workspace");
    assert!(data.contains("alert: IstioHigh5xxRatio"), "{data}");
    assert!(
        data.contains("record: destination_service:istio_requests_5xx:ratio_rate5m"),
        "{data}"
    );
    assert_eq!(
        tags.get(STACK_TAG),
        Some(&stack.name),
        "the namespace carries the stack tag"
    );
}

#[test]
fn second_amp_run_creates_nothing() {
    let stack = Stack::new("amp_rerun");
    stack.run_json(&["amp", "--yes"]).expect_code(0);
    let first = block_on(live_tagged_workspaces(&stack.name));
    assert_eq!(first.len(), 1, "{first:#?}");

    let run = stack.run_json(&["amp", "--yes"]);
    run.expect_code(0);
    let report = run.json();
    assert_eq!(report["status"], "succeeded", "{report:#}");
    let actions = amp_actions(&report);
    assert_eq!(actions.len(), 2, "{report:#}");
    assert!(
        actions.iter().all(|(op, _, _)| op == "keep"),
        "a second run must only keep: {report:#}"
    );
    assert!(actions.contains(&(
        "keep".to_string(),
        "amp-workspace".to_string(),
        first[0].id.clone()
    )));

    let after = block_on(live_tagged_workspaces(&stack.name));
    assert_eq!(
        after.len(),
        1,
        "still exactly one tagged workspace: {after:#?}"
    );
    assert_eq!(after[0].id, first[0].id);
}

#[test]
fn untagged_workspace_with_the_same_alias_is_neither_adopted_nor_deleted() {
    let stack = Stack::new("amp_foreign_alias");
    // Someone else's workspace, with the alias meshctl would use (the stack name).
    let foreign = block_on(create_untagged_workspace(&stack.name));

    // Through `up`, the way the whole stack is built.
    let run = stack.run_json(&["up", "--only", "amp", "--yes"]);
    run.expect_code(0);
    let report = run.json();
    let actions = amp_actions(&report);
    assert!(
        actions
            .iter()
            .any(|(op, kind, id)| op == "create" && kind == "amp-workspace" && *id != foreign),
        "meshctl creates its own workspace rather than adopting the untagged one: {report:#}"
    );

    let owned = block_on(live_tagged_workspaces(&stack.name));
    assert_eq!(owned.len(), 1, "{owned:#?}");
    assert_ne!(owned[0].id, foreign);
    let same_alias = block_on(live_workspaces_with_alias(&stack.name));
    assert_eq!(
        same_alias.len(),
        2,
        "both workspaces share the alias: {same_alias:#?}"
    );
    let untouched = block_on(describe_workspace(&foreign)).expect("the untagged workspace exists");
    assert!(
        !untouched.tags.contains_key(STACK_TAG),
        "meshctl must not tag a workspace it did not create: {untouched:#?}"
    );
    assert!(
        block_on(rule_groups_namespace(&foreign, RULES_NAMESPACE)).is_none(),
        "the rules go to meshctl's own workspace only"
    );

    let cleanup = stack.run_json(&["cleanup", "--only", "amp", "--yes"]);
    cleanup.expect_code(0);
    let report = cleanup.json();
    assert_eq!(report["status"], "succeeded", "{report:#}");
    assert!(
        !report.to_string().contains(&foreign),
        "cleanup must not touch the untagged workspace: {report:#}"
    );

    // moto 5.2.5 removes a deleted workspace at once; AWS keeps it a while as DELETING.
    // Either way no live workspace may carry the stack tag any more.
    assert!(
        block_on(live_tagged_workspaces(&stack.name)).is_empty(),
        "no live workspace tagged for the stack after cleanup"
    );
    assert!(
        !block_on(workspace_is_live(&owned[0].id)),
        "meshctl's workspace is gone"
    );
    assert!(
        block_on(workspace_is_live(&foreign)),
        "the untagged workspace survives cleanup"
    );
}

#[test]
fn dry_run_plans_creates_and_changes_nothing() {
    let stack = Stack::new("amp_dry_run");
    let before_alias = block_on(live_workspaces_with_alias(&stack.name)).len();
    let before_tagged = block_on(live_tagged_workspaces(&stack.name)).len();
    assert_eq!(
        (before_alias, before_tagged),
        (0, 0),
        "a fresh stack has nothing yet"
    );

    let run = stack.run_json(&["amp", "--dry-run"]);
    run.expect_code(0);
    let plan = run.json();
    assert_eq!(plan["kind"], "plan", "{plan:#}");
    assert_eq!(
        plan["offline"], false,
        "credentials for moto make the plan online: {plan:#}"
    );
    assert_eq!(
        ops(&amp_actions(&plan)),
        [
            ("create", "amp-workspace"),
            ("create", "amp-rule-groups-namespace")
        ],
        "{plan:#}"
    );
    assert_eq!(plan["summary"]["create"], 2, "{plan:#}");

    assert_eq!(
        block_on(live_workspaces_with_alias(&stack.name)).len(),
        before_alias
    );
    assert_eq!(
        block_on(live_tagged_workspaces(&stack.name)).len(),
        before_tagged
    );
    assert!(
        !stack.state_dir().join("ledger.json").exists(),
        "a dry run starts no run"
    );
    assert!(!stack.lock_file().exists(), "a dry run takes no lock");
}

#[test]
fn apply_without_yes_and_without_a_terminal_exits_2_and_creates_nothing() {
    let stack = Stack::new("amp_no_yes");
    // assert_cmd gives the child no terminal: stdin is closed, stdout/stderr are pipes.
    let run = stack.run_json(&["amp"]);
    run.expect_code(2);
    let err = run.json();
    assert_eq!(err["kind"], "error", "{err:#}");
    assert_eq!(err["exit_code"], 2, "{err:#}");
    let message = err["message"].as_str().unwrap_or_default();
    let help = err["help"].as_str().unwrap_or_default();
    assert!(message.contains("without confirmation"), "{err:#}");
    assert!(
        help.contains("pass --yes"),
        "the help says how to proceed: {err:#}"
    );

    assert!(block_on(live_workspaces_with_alias(&stack.name)).is_empty());
    assert!(block_on(live_tagged_workspaces(&stack.name)).is_empty());
    assert!(
        !stack.lock_file().exists(),
        "the lock is released after refusing"
    );
}

#[test]
fn status_after_amp_shows_the_workspace_and_remote_write_url() {
    let stack = Stack::new("amp_status");
    stack.run_json(&["amp", "--yes"]).expect_code(0);
    let owned = block_on(live_tagged_workspaces(&stack.name));
    assert_eq!(owned.len(), 1, "{owned:#?}");

    let run = stack.run_json(&["status"]);
    run.expect_code(0);
    let status = run.json();
    assert_eq!(status["kind"], "status", "{status:#}");
    let amp = status["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .find(|s| s["step"] == "amp")
        .unwrap_or_else(|| panic!("no amp step: {status:#}"))
        .clone();
    assert_eq!(amp["state"], "present", "{amp:#}");
    assert_eq!(
        amp["details"]["workspace_id"],
        owned[0].id.as_str(),
        "{amp:#}"
    );
    let url = amp["details"]["remote_write_url"]
        .as_str()
        .unwrap_or_else(|| panic!("no remote_write_url: {amp:#}"));
    assert!(url.ends_with("api/v1/remote_write"), "{url}");
    assert!(
        url.contains(&format!("/workspaces/{}/", owned[0].id)),
        "{url}"
    );
}

#[test]
fn existing_workspace_id_gets_the_rules_but_is_never_tagged_or_deleted() {
    let foreign_alias = unique("amp_byo_foreign");
    let foreign = block_on(create_untagged_workspace(&foreign_alias));
    let stack = Stack::builder("amp_byo")
        .yaml(&format!("amp:\n  workspace_id: {foreign}\n"))
        .build();

    let run = stack.run_json(&["amp", "--yes"]);
    run.expect_code(0);
    let report = run.json();
    assert_eq!(report["status"], "succeeded", "{report:#}");
    let actions = amp_actions(&report);
    assert!(
        actions.contains(&("keep".into(), "amp-workspace".into(), foreign.clone())),
        "{report:#}"
    );
    assert_eq!(
        report["steps"][0]["outputs"]["owned"], "false",
        "{report:#}"
    );

    let (data, tags) = block_on(rule_groups_namespace(&foreign, RULES_NAMESPACE))
        .expect("the rules namespace is created in the given workspace");
    assert!(data.contains("IstioHigh5xxRatio"), "{data}");
    assert_eq!(
        tags.get(STACK_TAG),
        Some(&stack.name),
        "the namespace is meshctl's"
    );
    let ws = block_on(describe_workspace(&foreign)).expect("workspace exists");
    assert!(
        ws.tags.is_empty(),
        "the given workspace is not tagged: {ws:#?}"
    );
    assert!(
        block_on(live_tagged_workspaces(&stack.name)).is_empty(),
        "no workspace of its own is created"
    );

    let cleanup = stack.run_json(&["cleanup", "--only", "amp", "--yes"]);
    cleanup.expect_code(0);
    let report = cleanup.json();
    let deleted = amp_actions(&report);
    assert_eq!(
        ops(&deleted),
        [("delete", "amp-rule-groups-namespace")],
        "cleanup removes only the namespace: {report:#}"
    );
    assert!(
        block_on(rule_groups_namespace(&foreign, RULES_NAMESPACE)).is_none(),
        "the namespace is gone"
    );
    assert!(
        block_on(workspace_is_live(&foreign)),
        "the given workspace survives cleanup"
    );
}
