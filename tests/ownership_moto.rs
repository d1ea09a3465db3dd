//! What a stack owns, where it lives, and honest plans: the real binary against moto.
//! Pinned workspaces, region tracking, renames, conflicts, tag drift and `--no-wait`.

use std::io::Write;

use crate::support;

use aws_sdk_amp::primitives::Blob;
use aws_types::region::Region;
use support::{
    STACK_TAG, Stack, amp, amp_actions, block_on, create_untagged_workspace, describe_workspace,
    live_tagged_workspaces, rule_groups_namespace, sdk_config, unique, workspace_is_live,
};

const RULES_NAMESPACE: &str = "meshctl-istio";
const OTHER_REGION: &str = "us-west-2";

/// Append YAML to the stack's meshctl.yaml (a config change between two runs).
fn append_config(stack: &Stack, yaml: &str) {
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(stack.path().join("meshctl.yaml"))
        .expect("open meshctl.yaml");
    writeln!(f, "{yaml}").expect("write meshctl.yaml");
}

fn amp_step(doc: &serde_json::Value) -> serde_json::Value {
    doc["steps"]
        .as_array()
        .expect("a `steps` array")
        .iter()
        .find(|s| s["step"] == "amp")
        .unwrap_or_else(|| panic!("no amp step in {doc:#}"))
        .clone()
}

fn action<'a>(step: &'a serde_json::Value, kind: &str) -> &'a serde_json::Value {
    step["actions"]
        .as_array()
        .expect("actions")
        .iter()
        .find(|a| a["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} action in {step:#}"))
}

fn details(action: &serde_json::Value) -> Vec<String> {
    action["details"]
        .as_array()
        .map(|d| {
            d.iter()
                .filter_map(|l| l.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

async fn amp_in(region: &str) -> aws_sdk_amp::Client {
    let conf = aws_sdk_amp::config::Builder::from(&sdk_config().await)
        .region(Region::new(region.to_string()))
        .build();
    aws_sdk_amp::Client::from_conf(conf)
}

#[test]
fn a_workspace_pinned_by_workspace_id_is_never_deleted_by_cleanup() {
    let stack = Stack::new("own_pinned");
    let run = stack.run_json(&["amp", "--yes"]);
    run.expect_code(0);
    let id = run.json()["steps"][0]["outputs"]["workspace_id"]
        .as_str()
        .expect("workspace_id output")
        .to_string();
    // The workspace meshctl created (and tagged) is now adopted by id.
    append_config(&stack, &format!("amp:\n  workspace_id: {id}"));

    let plan = stack.run_json(&["cleanup", "--dry-run"]);
    plan.expect_code(0);
    let plan = plan.json();
    let actions = amp_actions(&plan);
    assert!(
        !actions
            .iter()
            .any(|(op, kind, name)| op == "delete" && kind == "amp-workspace" && *name == id),
        "the plan must not delete the pinned workspace: {plan:#}"
    );
    assert!(
        actions.contains(&("keep".into(), "amp-workspace".into(), id.clone())),
        "the plan says the pinned workspace is kept: {plan:#}"
    );
    assert!(
        actions.contains(&(
            "delete".into(),
            "amp-rule-groups-namespace".into(),
            RULES_NAMESPACE.into()
        )),
        "{plan:#}"
    );

    stack.run_json(&["cleanup", "--yes"]).expect_code(0);
    assert!(
        block_on(workspace_is_live(&id)),
        "cleanup must not delete the pinned workspace"
    );
    assert!(block_on(rule_groups_namespace(&id, RULES_NAMESPACE)).is_none());
}

#[test]
fn commands_in_another_region_than_the_stack_stop_with_exit_2() {
    let stack = Stack::new("own_region");
    let run = stack.run_json(&["amp", "--yes", "--region", OTHER_REGION]);
    run.expect_code(0);
    let id = run.json()["steps"][0]["outputs"]["workspace_id"]
        .as_str()
        .expect("workspace_id output")
        .to_string();

    // Without --region the config's region applies: not where the stack lives.
    for args in [
        &["status"][..],
        &["cleanup", "--yes"],
        &["cleanup", "--dry-run"],
    ] {
        let run = stack.run_json(args);
        run.expect_code(2);
        let err = run.json();
        assert_eq!(err["code"], "meshctl::placement", "{args:?}: {err:#}");
        let message = err["message"].as_str().unwrap_or_default();
        assert!(message.contains(OTHER_REGION), "{args:?}: {err:#}");
        assert!(
            err["help"]
                .as_str()
                .unwrap_or_default()
                .contains(&format!("--region {OTHER_REGION}")),
            "{err:#}"
        );
    }
    let client = block_on(amp_in(OTHER_REGION));
    let still_there = block_on(async {
        client
            .describe_workspace()
            .workspace_id(&id)
            .send()
            .await
            .is_ok()
    });
    assert!(still_there, "the workspace in {OTHER_REGION} survives");
    let state = std::fs::read_to_string(stack.state_dir().join("state.json")).expect("state");
    assert!(
        state.contains(OTHER_REGION),
        "the state records the region: {state}"
    );
    assert!(
        state.contains(&id),
        "the state still knows the workspace: {state}"
    );

    // Told otherwise, it goes on.
    stack
        .run_json(&["status", "--allow-region-change"])
        .expect_code(0);

    // The plan header says where the region came from.
    let plan = stack.run_json(&["amp", "--dry-run", "--region", OTHER_REGION]);
    plan.expect_code(0);
    let plan = plan.json();
    assert_eq!(plan["region"], OTHER_REGION, "{plan:#}");
    assert_eq!(plan["region_source"], "--region", "{plan:#}");

    stack
        .run_json(&["cleanup", "--yes", "--region", OTHER_REGION])
        .expect_code(0);
    let gone = block_on(async {
        client
            .describe_workspace()
            .workspace_id(&id)
            .send()
            .await
            .is_err()
    });
    assert!(gone, "cleanup in the stack's region removes it");
}

#[test]
fn changing_the_alias_renames_the_workspace_in_place() {
    let stack = Stack::new("own_rename");
    stack.run_json(&["amp", "--yes"]).expect_code(0);
    let before = block_on(live_tagged_workspaces(&stack.name));
    assert_eq!(before.len(), 1, "{before:#?}");
    let new_alias = unique("own-renamed");
    append_config(&stack, &format!("amp:\n  alias: {new_alias}"));

    let plan = stack.run_json(&["amp", "--dry-run"]);
    plan.expect_code(0);
    let plan = plan.json();
    let step = amp_step(&plan);
    let ws = action(&step, "amp-workspace");
    assert_eq!(ws["op"], "update", "{plan:#}");
    assert_eq!(ws["name"], before[0].id.as_str(), "{plan:#}");
    assert!(
        details(ws).iter().any(|d| d.contains(&new_alias)),
        "{plan:#}"
    );
    assert_eq!(plan["summary"]["create"], 0, "{plan:#}");

    stack.run_json(&["amp", "--yes"]).expect_code(0);
    let after = block_on(live_tagged_workspaces(&stack.name));
    assert_eq!(after.len(), 1, "still one workspace: {after:#?}");
    assert_eq!(after[0].id, before[0].id);
    assert_eq!(after[0].alias.as_deref(), Some(new_alias.as_str()));

    let status = stack.run_json(&["status"]);
    status.expect_code(0);
    let amp = amp_step(&status.json());
    assert_eq!(amp["state"], "present", "{amp:#}");
    assert_eq!(amp["details"]["workspace_id"], before[0].id.as_str());

    stack.run_json(&["cleanup", "--yes"]).expect_code(0);
    assert!(block_on(live_tagged_workspaces(&stack.name)).is_empty());
}

#[test]
fn an_untagged_namespace_with_other_rules_is_a_conflict_in_the_plan() {
    let foreign = block_on(create_untagged_workspace(&unique("own_conflict_ws")));
    let theirs = "groups:\n  - name: theirs\n    rules: []\n";
    block_on(async {
        amp()
            .await
            .create_rule_groups_namespace()
            .workspace_id(&foreign)
            .name(RULES_NAMESPACE)
            .data(Blob::new(theirs.as_bytes()))
            .send()
            .await
            .expect("CreateRuleGroupsNamespace on moto");
    });
    let stack = Stack::builder("own_conflict")
        .yaml(&format!("amp:\n  workspace_id: {foreign}\n"))
        .build();

    let plan = stack.run_json(&["amp", "--dry-run"]);
    plan.expect_code(2);
    let plan = plan.json();
    let step = amp_step(&plan);
    let ns = action(&step, "amp-rule-groups-namespace");
    assert_eq!(ns["op"], "conflict", "{plan:#}");
    assert!(
        details(ns).iter().any(|d| d.starts_with("fix:")),
        "the conflict says how to fix it: {plan:#}"
    );
    assert_eq!(plan["summary"]["conflict"], 1, "{plan:#}");

    let run = stack.run_json(&["amp", "--yes"]);
    run.expect_code(2);
    let err = run.json();
    assert_eq!(err["code"], "meshctl::plan::conflict", "{err:#}");
    assert!(
        err["message"]
            .as_str()
            .unwrap_or_default()
            .contains("conflict"),
        "{err:#}"
    );
    assert!(
        !stack.state_dir().join("ledger.json").exists(),
        "refused before any run started"
    );
    let (data, tags) = block_on(rule_groups_namespace(&foreign, RULES_NAMESPACE))
        .expect("their namespace is still there");
    assert_eq!(data, theirs, "their rules are untouched");
    assert!(!tags.contains_key(STACK_TAG));
}

#[test]
fn tags_and_thresholds_changed_later_converge_and_show_in_the_plan() {
    let stack = Stack::new("own_tags");
    let run = stack.run_json(&["amp", "--yes"]);
    run.expect_code(0);
    let id = run.json()["steps"][0]["outputs"]["workspace_id"]
        .as_str()
        .expect("workspace_id")
        .to_string();
    let ns_arn = |id: &str| {
        block_on(async {
            amp()
                .await
                .describe_rule_groups_namespace()
                .workspace_id(id)
                .name(RULES_NAMESPACE)
                .send()
                .await
                .expect("namespace")
                .rule_groups_namespace
                .expect("namespace")
                .arn()
                .to_string()
        })
    };
    // Someone else tags the namespace: meshctl must never remove that tag.
    let arn = ns_arn(&id);
    block_on(async {
        amp()
            .await
            .tag_resource()
            .resource_arn(&arn)
            .tags("someone-else", "keep-me")
            .send()
            .await
            .expect("TagResource on moto")
    });

    std::fs::write(
        stack.path().join("meshctl.yaml"),
        std::fs::read_to_string(stack.path().join("meshctl.yaml")).unwrap()
            + "tags:\n  team: mesh\namp:\n  alerts:\n    error_ratio: 0.02\n",
    )
    .unwrap();
    let plan = stack.run_json(&["amp", "--dry-run"]);
    plan.expect_code(0);
    let plan = plan.json();
    let step = amp_step(&plan);
    let ws = action(&step, "amp-workspace");
    assert_eq!(ws["op"], "update", "{plan:#}");
    assert!(
        details(ws).contains(&"tag added: team=mesh".to_string()),
        "{plan:#}"
    );
    assert!(
        details(ws).iter().any(|d| d.contains("owned")),
        "the state detail is kept beside the tag detail: {plan:#}"
    );
    let ns = action(&step, "amp-rule-groups-namespace");
    assert_eq!(ns["op"], "update", "{plan:#}");
    let ns_details = details(ns);
    assert!(
        ns_details.contains(&"tag added: team=mesh".to_string()),
        "{plan:#}"
    );
    assert!(
        ns_details
            .iter()
            .any(|d| d.starts_with('-') && d.contains("0.01"))
            && ns_details
                .iter()
                .any(|d| d.starts_with('+') && d.contains("0.02")),
        "the changed threshold shows as a diff: {plan:#}"
    );

    stack.run_json(&["amp", "--yes"]).expect_code(0);
    let (data, tags) = block_on(rule_groups_namespace(&id, RULES_NAMESPACE)).expect("namespace");
    assert!(data.contains("> 0.02"), "{data}");
    assert_eq!(
        tags.get("team").map(String::as_str),
        Some("mesh"),
        "{tags:?}"
    );
    let ws_tags = block_on(describe_workspace(&id)).expect("workspace").tags;
    assert_eq!(ws_tags.get("team").map(String::as_str), Some("mesh"));

    // Remove the tag from the config: it goes from both, the foreign tag stays.
    let yaml = std::fs::read_to_string(stack.path().join("meshctl.yaml")).unwrap();
    std::fs::write(
        stack.path().join("meshctl.yaml"),
        yaml.replace("tags:\n  team: mesh\n", ""),
    )
    .unwrap();
    let plan = stack.run_json(&["amp", "--dry-run"]);
    plan.expect_code(0);
    let plan = plan.json();
    let step = amp_step(&plan);
    assert!(
        details(action(&step, "amp-rule-groups-namespace"))
            .contains(&"tag removed: team".to_string()),
        "{plan:#}"
    );
    stack.run_json(&["amp", "--yes"]).expect_code(0);
    let (_, tags) = block_on(rule_groups_namespace(&id, RULES_NAMESPACE)).expect("namespace");
    assert!(!tags.contains_key("team"), "{tags:?}");
    assert_eq!(
        tags.get("someone-else").map(String::as_str),
        Some("keep-me"),
        "a tag meshctl did not set is never removed: {tags:?}"
    );
    assert!(
        !block_on(describe_workspace(&id))
            .expect("workspace")
            .tags
            .contains_key("team")
    );

    stack.run_json(&["cleanup", "--yes"]).expect_code(0);
}

#[test]
fn no_wait_leaves_the_step_incomplete_in_the_result_status_and_next_plan() {
    let stack = Stack::new("own_no_wait");
    let run = stack.run_json(&["amp", "--yes", "--no-wait"]);
    run.expect_code(0);
    let report = run.json();
    assert_eq!(report["status"], "incomplete", "{report:#}");
    let step = amp_step(&report);
    assert_eq!(step["status"], "incomplete", "{report:#}");
    assert!(
        step["incomplete"]
            .as_str()
            .unwrap_or_default()
            .contains("--no-wait"),
        "{report:#}"
    );

    let status = stack.run_json(&["status"]);
    status.expect_code(0);
    let amp_status = amp_step(&status.json());
    assert_eq!(amp_status["state"], "incomplete", "{amp_status:#}");

    let plan = stack.run_json(&["amp", "--dry-run"]);
    plan.expect_code(0);
    let plan = plan.json();
    let notes = amp_step(&plan)["notes"].to_string();
    assert!(notes.contains("incomplete"), "{plan:#}");

    // A run that finishes the work clears it.
    let run = stack.run_json(&["amp", "--yes"]);
    run.expect_code(0);
    assert_eq!(run.json()["status"], "succeeded", "{:#}", run.json());
    let status = stack.run_json(&["status"]);
    assert_eq!(amp_step(&status.json())["state"], "present");

    stack.run_json(&["cleanup", "--yes"]).expect_code(0);
}
