//! The command line as a user meets it: help, offline plans, and the errors that stop a run
//! before anything changes. Every test that runs the binary does so through [`Offline`], so
//! none of them can find AWS credentials or reach AWS.

use crate::support;

use std::path::PathBuf;

use assert_cmd::Command;
use meshctl::engine::StepId;
use meshctl::engine::graph::{self, GRAPH};
use serde_json::Value;
use tempfile::TempDir;

const GLOBAL_FLAGS: &[&str] = &[
    "--config",
    "--region",
    "--profile",
    "--output",
    "--yes",
    "--dry-run",
    "-v",
    "--no-color",
    "--timeout",
    "--no-wait",
    "--no-rollback",
    "--force-unlock",
];

/// A run of meshctl with no credentials at all (see `support::offline_meshctl`), in a fresh
/// temporary directory.
struct Offline {
    home: TempDir,
}

impl Offline {
    fn new() -> Offline {
        Offline {
            home: tempfile::tempdir().expect("temporary HOME"),
        }
    }

    fn cmd(&self) -> Command {
        support::offline_meshctl(self.home.path())
    }
}

/// `examples/demo.yaml` as an absolute path (the tests run meshctl in a temporary directory).
fn demo_config() -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("examples/demo.yaml")
        .display()
        .to_string()
}

struct Outcome {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(mut cmd: Command, args: &[&str]) -> Outcome {
    let output = cmd.args(args).output().expect("meshctl runs");
    Outcome {
        code: output.status.code().expect("meshctl exited normally"),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn offline(args: &[&str]) -> Outcome {
    run(Offline::new().cmd(), args)
}

/// Whether `flag` occurs in `text` and is not just the start of a longer flag.
fn mentions_flag(text: &str, flag: &str) -> bool {
    text.match_indices(flag).any(|(start, _)| {
        let after = text[start + flag.len()..].chars().next();
        !after.is_some_and(|c| c.is_ascii_alphanumeric() || c == '-')
    })
}

fn json(stdout: &str) -> Value {
    serde_json::from_str(stdout)
        .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}):\n{stdout}"))
}

#[test]
fn help_lists_every_subcommand_and_global_flag() {
    let out = offline(&["--help"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let commands: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("  ") && !l.trim_start().starts_with('-'))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    for sub in support::SUBCOMMANDS {
        assert!(
            commands.contains(sub),
            "`meshctl --help` does not list `{sub}`:\n{}",
            out.stdout
        );
    }
    for flag in GLOBAL_FLAGS {
        assert!(
            mentions_flag(&out.stdout, flag),
            "`meshctl --help` does not list {flag}:\n{}",
            out.stdout
        );
    }
}

#[test]
fn offline_dry_run_plans_every_step() {
    let config = demo_config();
    let out = offline(&["up", "--dry-run", "--config", &config]);
    assert_eq!(
        out.code, 0,
        "stdout:\n{}\nstderr:\n{}",
        out.stdout, out.stderr
    );
    assert!(out.stdout.contains("OFFLINE"), "{}", out.stdout);
    for spec in GRAPH {
        let name = spec.id.name();
        assert!(
            out.stdout
                .lines()
                .any(|l| l.split_whitespace().next() == Some(name)),
            "the plan has no section for `{name}`:\n{}",
            out.stdout
        );
    }
}

#[test]
fn offline_dry_run_as_json_is_a_plan_in_graph_order() {
    let config = demo_config();
    let out = offline(&["up", "--dry-run", "--output", "json", "--config", &config]);
    assert_eq!(
        out.code, 0,
        "stdout:\n{}\nstderr:\n{}",
        out.stdout, out.stderr
    );
    let doc = json(&out.stdout);
    assert_eq!(doc["kind"], "plan");
    assert_eq!(doc["command"], "up");
    assert_eq!(doc["stack"], "demo");
    assert_eq!(doc["offline"], true);
    assert!(doc["offline_reason"].is_string(), "{doc:#}");

    let steps = doc["steps"].as_array().expect("steps is an array");
    let names: Vec<&str> = steps.iter().filter_map(|s| s["step"].as_str()).collect();
    let expected: Vec<&str> = GRAPH.iter().map(|s| s.id.name()).collect();
    assert_eq!(steps.len(), GRAPH.len());
    assert_eq!(names, expected, "steps are not in graph order");
    for (step, spec) in steps.iter().zip(GRAPH) {
        let available = meshctl::steps::step(spec.id).available();
        assert_eq!(step["available"], available, "{step:#}");
        assert!(
            step["actions"].is_array() && step["notes"].is_array(),
            "{step:#}"
        );
    }

    let summary = &doc["summary"];
    let creates = |available: bool| {
        steps
            .iter()
            .filter(|s| s["available"] == available)
            .flat_map(|s| s["actions"].as_array().unwrap())
            .filter(|a| a["op"] == "create")
            .count()
    };
    // Only work this version can apply is counted as such; plan-only work separately.
    assert_eq!(summary["create"], creates(true), "{summary:#}");
    assert_eq!(summary["plan_only"], creates(false), "{summary:#}");
    assert_eq!(
        creates(false) > 0,
        plan_only_step().is_some(),
        "{summary:#}"
    );
    for key in ["update", "delete", "keep"] {
        assert_eq!(
            summary[key], 0,
            "an offline plan assumes nothing exists: {summary:#}"
        );
    }
}

#[test]
fn offline_cleanup_dry_run_lists_steps_newest_first() {
    let config = demo_config();
    let out = offline(&[
        "cleanup",
        "--dry-run",
        "--output",
        "json",
        "--config",
        &config,
    ]);
    assert_eq!(
        out.code, 0,
        "stdout:\n{}\nstderr:\n{}",
        out.stdout, out.stderr
    );
    let doc = json(&out.stdout);
    assert_eq!(doc["kind"], "plan");
    assert_eq!(doc["command"], "cleanup");
    let names: Vec<&str> = doc["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["step"].as_str())
        .collect();
    let expected: Vec<&str> = GRAPH.iter().rev().map(|s| s.id.name()).collect();
    assert_eq!(names, expected);
}

#[test]
fn step_that_cannot_apply_yet_stops_with_exit_2() {
    let config = demo_config();
    let Some(step) = plan_only_step() else {
        return no_step_is_refused(&config);
    };
    let out = offline(&[step, "--yes", "--config", &config]);
    assert_eq!(out.code, 2, "stderr:\n{}", out.stderr);
    assert!(
        out.stderr.contains("meshctl::not_available"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains(&format!("step `{step}` is not available yet")),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("meshctl up --only "), "{}", out.stderr);
    assert!(out.stderr.contains("amp,"), "{}", out.stderr);
}

/// `irsa` can be applied: offline, applying it stops at the first AWS call for want of
/// credentials (exit 2, nothing changed); its missing prerequisites are checked through the
/// library below, and a dry run plans with a note instead of failing.
#[test]
fn irsa_apply_offline_stops_for_want_of_credentials() {
    let config = demo_config();
    let out = offline(&["irsa", "--yes", "--config", &config]);
    assert_eq!(out.code, 2, "stderr:\n{}", out.stderr);
    assert!(
        out.stderr.contains("meshctl::aws::credentials"),
        "{}",
        out.stderr
    );
}

#[test]
fn irsa_without_cluster_names_the_command_to_run_first() {
    use miette::Diagnostic;

    let err = graph::check_prerequisites(&[StepId::Irsa], |_| false, "demo")
        .expect_err("irsa needs cluster and amp");
    assert_eq!(err.exit_code(), 2);
    let help = err
        .help()
        .expect("a prerequisite error says what to do")
        .to_string();
    assert!(help.contains("`meshctl cluster`"), "{help}");

    let err = graph::check_prerequisites(&[StepId::Irsa], |s| s == StepId::Cluster, "demo")
        .expect_err("irsa still needs amp");
    let help = err.help().unwrap().to_string();
    assert!(help.contains("`meshctl amp`"), "{help}");

    graph::check_prerequisites(
        &[StepId::Irsa],
        |s| s == StepId::Cluster || s == StepId::Amp,
        "demo",
    )
    .expect("both prerequisites applied");
    graph::check_prerequisites(
        &[StepId::Cluster, StepId::Amp, StepId::Irsa],
        |_| false,
        "demo",
    )
    .expect("prerequisites selected in the same run");
}

#[test]
fn irsa_dry_run_without_cluster_plans_and_names_the_command_to_run_first() {
    let config = demo_config();
    let out = offline(&["irsa", "--dry-run", "--config", &config]);
    assert_eq!(
        out.code, 0,
        "stdout:\n{}\nstderr:\n{}",
        out.stdout, out.stderr
    );
    assert!(
        out.stdout.contains("+ iam-role demo-amp-ingest"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("needs `meshctl cluster` first: cluster has not been applied"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("needs `meshctl amp` first"),
        "{}",
        out.stdout
    );
}

#[test]
fn apply_without_credentials_stops_with_exit_2() {
    let config = demo_config();
    let out = offline(&["amp", "--yes", "--config", &config]);
    assert_eq!(
        out.code, 2,
        "stdout:\n{}\nstderr:\n{}",
        out.stdout, out.stderr
    );
    assert!(
        out.stderr.contains("meshctl::aws::credentials"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("--dry-run"), "{}", out.stderr);
}

#[test]
fn bad_timeout_is_a_usage_error() {
    let config = demo_config();
    let out = offline(&[
        "--timeout",
        "banana",
        "up",
        "--dry-run",
        "--config",
        &config,
    ]);
    assert_eq!(out.code, 2, "stderr:\n{}", out.stderr);
    assert!(out.stderr.contains("--timeout"), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("`banana` is not a duration such as 90s, 20m or 1h"),
        "{}",
        out.stderr
    );
}

#[test]
fn errors_with_json_output_are_json_documents() {
    let config = demo_config();
    if let Some(step) = plan_only_step() {
        let out = offline(&[step, "--yes", "--output", "json", "--config", &config]);
        assert_eq!(out.code, 2, "stderr:\n{}", out.stderr);
        let doc = json(&out.stdout);
        assert_eq!(doc["kind"], "error");
        assert_eq!(doc["exit_code"], 2);
        assert_eq!(doc["code"], "meshctl::not_available");
        assert!(doc["message"].as_str().unwrap().contains(step), "{doc:#}");
        assert!(doc["help"].is_string(), "{doc:#}");
    }

    let out = offline(&["amp", "--yes", "--output", "json", "--config", &config]);
    assert_eq!(out.code, 2, "stderr:\n{}", out.stderr);
    let doc = json(&out.stdout);
    assert_eq!(doc["kind"], "error");
    assert_eq!(doc["exit_code"], 2);
    assert_eq!(doc["code"], "meshctl::aws::credentials");
}

#[test]
fn missing_config_file_is_a_usage_error() {
    let out = offline(&[
        "up",
        "--dry-run",
        "--output",
        "json",
        "--config",
        "absent.yaml",
    ]);
    assert_eq!(out.code, 2, "stderr:\n{}", out.stderr);
    let doc = json(&out.stdout);
    assert_eq!(doc["kind"], "error");
    assert_eq!(doc["code"], "meshctl::config::read");
    assert!(
        doc["help"].as_str().unwrap().contains("--config"),
        "{doc:#}"
    );
}

/// A step this version can plan but not apply (the examples of `not_available` use it), or
/// `None` once every step applies.
fn plan_only_step() -> Option<&'static str> {
    meshctl::engine::StepId::ALL
        .into_iter()
        .find(|id| !meshctl::steps::step(*id).available())
        .map(|id| id.name())
}

/// Once every step applies, no step subcommand is refused as not available: offline, each
/// stops at the first AWS call for want of credentials instead.
fn no_step_is_refused(config: &str) {
    for id in meshctl::engine::StepId::ALL {
        let out = offline(&[id.name(), "--yes", "--output", "json", "--config", config]);
        assert_eq!(out.code, 2, "{}: {}", id.name(), out.stderr);
        assert!(
            !out.stdout.contains("meshctl::not_available"),
            "{}: {}",
            id.name(),
            out.stdout
        );
    }
}
