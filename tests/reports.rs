//! What the user is told: kept resources come with their removal command in text too, and a
//! cleanup after a crashed run tells one story (the unfinished run first, then the plan).

use crate::support;

use meshctl::engine::StepId;
use meshctl::engine::runner::{Removal, RunReport};
use support::Stack;

#[test]
fn no_rollback_text_report_prints_the_removal_command_of_each_kept_resource() {
    let report = RunReport {
        kind: "result",
        command: "amp".into(),
        stack: "demo".into(),
        run_id: "r1".into(),
        status: "kept",
        exit_code: 1,
        resumed_from: None,
        steps: vec![],
        rollback: vec![Removal {
            step: StepId::Amp,
            kind: "amp-workspace".into(),
            id: "ws-1".into(),
            status: "kept",
            error: None,
            hint: Some("aws amp delete-workspace --workspace-id ws-1".into()),
        }],
    };
    let text = report.to_string();
    assert!(text.contains("kept    amp-workspace ws-1"), "{text}");
    assert!(
        text.contains("remove it with: aws amp delete-workspace --workspace-id ws-1"),
        "{text}"
    );
}

#[test]
fn cleanup_after_a_crashed_run_tells_about_it_before_the_plan() {
    let stack = Stack::new("cleanup_after_crash");
    // A run that died after opening its ledger, before creating anything.
    std::fs::create_dir_all(stack.state_dir()).unwrap();
    std::fs::write(
        stack.state_dir().join("ledger.json"),
        format!(
            r#"{{"run_id":"crashed-run","stack":"{}","command":"amp","started_at":"2026-01-01T00:00:00Z","status":"open","resources":[]}}"#,
            stack.name
        ),
    )
    .unwrap();
    let out = stack.cmd().args(["cleanup", "--yes"]).output().unwrap();
    let run = support::Run::from(out);
    run.expect_code(0);
    let stdout = &run.stdout;
    let told = stdout
        .find("Run crashed-run (`meshctl amp`")
        .unwrap_or_else(|| panic!("the unfinished run is told about:\n{stdout}"));
    let nothing = stdout
        .find("Nothing owned by stack")
        .unwrap_or_else(|| panic!("nothing to remove:\n{stdout}"));
    assert!(told < nothing, "the unfinished run comes first:\n{stdout}");
    assert!(!stdout.contains("Resuming run"), "told once:\n{stdout}");
    assert!(stdout.contains("closing run crashed-run"), "{stdout}");
}

#[test]
fn json_on_a_terminal_shows_the_plan_before_asking() {
    let stack = Stack::new("json_prompt_plan");
    // `script` gives meshctl a terminal (stdin, stdout and stderr); the typed-ahead `n`
    // answers the question.
    let inner = stack.std_command(&support::moto());
    let mut cmd = std::process::Command::new("script");
    cmd.args([
        "-qec",
        &format!("{} amp --output json", env!("CARGO_BIN_EXE_meshctl")),
        "/dev/null",
    ]);
    for (key, value) in inner.get_envs() {
        match value {
            Some(v) => cmd.env(key, v),
            None => cmd.env_remove(key),
        };
    }
    cmd.current_dir(stack.path());
    let mut cmd = assert_cmd::Command::from_std(cmd);
    cmd.timeout(support::RUN_GUARD).write_stdin("n");
    let out = cmd.output().expect("script runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let plan = text
        .find(&format!("Plan for `meshctl amp` on stack `{}`", stack.name))
        .unwrap_or_else(|| panic!("the plan is shown:\n{text}"));
    let question = text
        .find("Apply these changes")
        .unwrap_or_else(|| panic!("the question is asked:\n{text}"));
    assert!(
        plan < question,
        "the plan comes before the question:\n{text}"
    );
    assert!(text.contains("+ amp-workspace"), "{text}");
    assert!(
        support::block_on(support::live_tagged_workspaces(&stack.name)).is_empty(),
        "answered no: nothing created"
    );
}
