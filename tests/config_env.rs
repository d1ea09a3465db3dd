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

/// Like [`plan`], for a file with no `region`, and the plan's region.
fn region_without_file_region(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> String {
    let config = dir.join("noregion.yaml");
    std::fs::write(&config, "name: envtest\n").unwrap();
    let mut cmd = offline_meshctl(dir);
    cmd.args(["amp", "--dry-run", "--output", "json", "--config"])
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
        "must not find credentials"
    );
    doc["region"].as_str().unwrap().to_string()
}

#[test]
fn aws_region_variables_apply_when_the_config_has_no_region() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert_eq!(region_without_file_region(d, &[], &[]), "us-west-2");
    assert_eq!(
        region_without_file_region(d, &[("AWS_DEFAULT_REGION", "eu-west-3")], &[]),
        "eu-west-3"
    );
    assert_eq!(
        region_without_file_region(
            d,
            &[
                ("AWS_DEFAULT_REGION", "eu-west-3"),
                ("AWS_REGION", "eu-north-1")
            ],
            &[]
        ),
        "eu-north-1"
    );
    // The config's own sources still win.
    assert_eq!(
        region_without_file_region(
            d,
            &[
                ("AWS_REGION", "eu-north-1"),
                ("MESHCTL_REGION", "sa-east-1")
            ],
            &[]
        ),
        "sa-east-1"
    );
    assert_eq!(
        region_without_file_region(
            d,
            &[("AWS_REGION", "eu-north-1")],
            &["--region", "ca-central-1"]
        ),
        "ca-central-1"
    );
}

#[test]
fn profile_region_applies_when_nothing_else_sets_one() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let aws_config = d.join("aws-config");
    std::fs::write(
        &aws_config,
        "[default]\nregion = ap-south-1\n\n[profile team]\nregion = ap-northeast-1\n",
    )
    .unwrap();
    let file = aws_config.to_str().unwrap();
    let with_file = [("AWS_CONFIG_FILE", file)];
    assert_eq!(region_without_file_region(d, &with_file, &[]), "ap-south-1");
    assert_eq!(
        region_without_file_region(d, &with_file, &["--profile", "team"]),
        "ap-northeast-1"
    );
    assert_eq!(
        region_without_file_region(d, &[with_file[0], ("AWS_PROFILE", "team")], &[]),
        "ap-northeast-1"
    );
    // The AWS variables beat the profile.
    assert_eq!(
        region_without_file_region(
            d,
            &[with_file[0], ("AWS_DEFAULT_REGION", "eu-west-3")],
            &["--profile", "team"]
        ),
        "eu-west-3"
    );
}

#[test]
fn unknown_meshctl_variable_is_a_warning_not_a_stop() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("meshctl.yaml");
    std::fs::write(&config, FILE).unwrap();
    let out = offline_meshctl(dir.path())
        .args(["amp", "--dry-run", "--config"])
        .arg(&config)
        .env("MESHCTL_REGOIN", "eu-west-1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "stderr: {stderr}");
    assert!(
        stderr.contains("warning: environment variable `MESHCTL_REGOIN` names unknown key")
            && stderr.contains("did you mean `MESHCTL_REGION`?"),
        "stderr: {stderr}"
    );
}
