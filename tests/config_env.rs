//! Precedence seen from outside: `MESHCTL_*` variables override the file and `--region`
//! overrides `MESHCTL_REGION`, observed in the JSON plan of an offline `up --dry-run`.

use crate::support;

use std::path::Path;

use serde_json::Value;

const FILE: &str = "name: envtest\nregion: us-west-2\namp:\n  alias: file-alias\n";

use support::offline_meshctl;

/// Run `up --dry-run --output json` and return the plan's region and the AMP workspace name.
fn plan(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> (String, String) {
    let config = dir.join("meshctl.yaml");
    std::fs::write(&config, FILE).unwrap();
    let mut cmd = offline_meshctl(dir);
    cmd.args([
        "up",
        "--dry-run",
        "--output",
        "json",
        "--only",
        "amp",
        "--config",
    ])
    .arg(&config)
    .args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).expect("stdout is one JSON document");
    assert_eq!(
        doc["offline"],
        Value::Bool(true),
        "the run must not find credentials"
    );
    let region = doc["region"].as_str().unwrap().to_string();
    let amp = doc["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["step"] == "amp")
        .expect("an amp step");
    let workspace = amp["actions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["kind"] == "amp-workspace")
        .expect("a workspace action");
    (region, workspace["name"].as_str().unwrap().to_string())
}

#[test]
fn the_file_applies_without_overrides() {
    let dir = tempfile::tempdir().unwrap();
    let (region, alias) = plan(dir.path(), &[], &[]);
    assert_eq!(region, "us-west-2");
    assert_eq!(alias, "file-alias");
}

#[test]
fn environment_overrides_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let (region, alias) = plan(
        dir.path(),
        &[
            ("MESHCTL_REGION", "eu-central-1"),
            ("MESHCTL_AMP__ALIAS", "env-alias"),
        ],
        &[],
    );
    assert_eq!(region, "eu-central-1");
    assert_eq!(alias, "env-alias");
}

#[test]
fn region_flag_overrides_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let (region, alias) = plan(
        dir.path(),
        &[
            ("MESHCTL_REGION", "eu-central-1"),
            ("MESHCTL_AMP__ALIAS", "env-alias"),
        ],
        &["--region", "ap-southeast-2"],
    );
    assert_eq!(region, "ap-southeast-2");
    assert_eq!(alias, "env-alias");
}

#[test]
fn variables_for_flags_logging_and_tests_are_not_config_keys() {
    let dir = tempfile::tempdir().unwrap();
    let (region, _) = plan(
        dir.path(),
        &[
            ("MESHCTL_LOG", "warn"),
            ("MESHCTL_TEST_SOMETHING", "1"),
            ("MESHCTL_OUTPUT", "json"),
        ],
        &[],
    );
    assert_eq!(region, "us-west-2");
}
