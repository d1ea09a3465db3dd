//! Command-line scoping: global flags that mean nothing for a subcommand are rejected,
//! `init --dry-run` writes nothing, `--timeout` has a minimum, `--help` marks plan-only steps
//! from the code, and logs carry no colour codes when stderr is not a terminal.

use crate::support;

use meshctl::engine::StepId;
use support::offline_meshctl;

/// Run offline meshctl in a fresh directory; returns (code, stdout, stderr, dir).
fn run(args: &[&str]) -> (Option<i32>, String, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let out = offline_meshctl(dir.path()).args(args).output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        dir,
    )
}

fn assert_rejected(args: &[&str], flag: &str, applies_to: &str) {
    let (code, stdout, stderr, _dir) = run(args);
    assert_eq!(
        code,
        Some(2),
        "{args:?}\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    let expected = format!("{flag} does not apply to `meshctl {}`", args[0]);
    assert!(
        stderr.contains(&expected),
        "{args:?}: expected `{expected}` in:\n{stderr}"
    );
    assert!(
        stderr.contains(applies_to),
        "{args:?}: expected `{applies_to}` in:\n{stderr}"
    );
}

#[test]
fn completions_rejects_yes_naming_the_subcommands_it_applies_to() {
    assert_rejected(&["completions", "bash", "--yes"], "--yes", "up, cluster");
}

#[test]
fn status_rejects_no_rollback() {
    assert_rejected(&["status", "--no-rollback"], "--no-rollback", "up, cluster");
}

#[test]
fn init_rejects_timeout() {
    assert_rejected(&["init", "--timeout", "5m"], "--timeout", "cleanup");
}

#[test]
fn out_of_scope_flag_is_a_json_usage_error_with_output_json() {
    let (code, stdout, _stderr, _dir) = run(&["status", "--force-unlock", "--output", "json"]);
    assert_eq!(code, Some(2));
    let doc: serde_json::Value = serde_json::from_str(&stdout).expect("one JSON document");
    assert_eq!(doc["code"], "meshctl::usage", "{doc:#}");
    assert!(
        doc["message"]
            .as_str()
            .unwrap_or_default()
            .contains("--force-unlock"),
        "{doc:#}"
    );
}

#[test]
fn flags_from_the_environment_are_not_rejected() {
    // MESHCTL_OUTPUT is a default for every command, not a flag the user typed here.
    let dir = tempfile::tempdir().unwrap();
    let out = offline_meshctl(dir.path())
        .env("MESHCTL_OUTPUT", "json")
        .args(["completions", "bash"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
}

#[test]
fn init_dry_run_prints_the_file_and_writes_nothing() {
    let (code, stdout, stderr, dir) = run(&["init", "--dry-run", "--name", "preview"]);
    assert_eq!(code, Some(0), "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stdout.contains("Would write meshctl.yaml"), "{stdout}");
    assert!(stdout.contains("name: preview"), "{stdout}");
    assert!(stdout.contains("nothing was written"), "{stdout}");
    assert!(
        !dir.path().join("meshctl.yaml").exists(),
        "--dry-run wrote the file"
    );
}

#[test]
fn init_dry_run_as_json_carries_the_content() {
    let (code, stdout, _stderr, dir) =
        run(&["init", "--dry-run", "--name", "preview", "--output", "json"]);
    assert_eq!(code, Some(0), "{stdout}");
    let doc: serde_json::Value = serde_json::from_str(&stdout).expect("one JSON document");
    assert_eq!(doc["kind"], "init-preview", "{doc:#}");
    assert_eq!(doc["path"], "meshctl.yaml", "{doc:#}");
    assert!(
        doc["content"]
            .as_str()
            .unwrap_or_default()
            .contains("name: preview"),
        "{doc:#}"
    );
    assert!(!dir.path().join("meshctl.yaml").exists());
}

#[test]
fn timeout_too_short_to_poll_once_is_rejected() {
    for short in ["0s", "9s", "500ms"] {
        let (code, _stdout, stderr, _dir) = run(&["amp", "--dry-run", "--timeout", short]);
        assert_eq!(code, Some(2), "--timeout {short}: {stderr}");
        assert!(stderr.contains("too short"), "--timeout {short}: {stderr}");
        assert!(stderr.contains("10s"), "--timeout {short}: {stderr}");
    }
    assert!(meshctl::cli::parse_timeout("10s").is_ok());
}

#[test]
fn help_marks_exactly_the_plan_only_steps() {
    let (code, stdout, stderr, _dir) = run(&["--help"]);
    assert_eq!(code, Some(0), "{stderr}");
    // `nodes` has no subcommand of its own: `meshctl cluster` runs it.
    for id in StepId::ALL.into_iter().filter(|id| *id != StepId::Nodes) {
        let line = stdout
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{} ", id.name())))
            .unwrap_or_else(|| panic!("no line for `{id}` in:\n{stdout}"));
        let marked = line.contains("plan only");
        let available = meshctl::steps::step(id).available();
        assert_eq!(
            marked, !available,
            "`{id}` (available: {available}): {line}"
        );
    }
}

#[test]
fn logs_have_no_colour_codes_when_stderr_is_not_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("meshctl.yaml"),
        "name: logs\nregion: eu-west-1\n",
    )
    .unwrap();
    // Without NO_COLOR: only the terminal check keeps escape codes out.
    let out = offline_meshctl(dir.path())
        .env_remove("NO_COLOR")
        .args(["amp", "--yes", "-v"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    // No credentials: exit 2, after a debug line saying why meshctl is offline.
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("DEBUG"),
        "-v shows meshctl's debug lines:\n{stderr}"
    );
    assert!(
        !stderr.contains('\u{1b}'),
        "escape codes in logs:\n{stderr:?}"
    );
}
