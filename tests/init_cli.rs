//! `meshctl init` without a terminal: flags and defaults, a file `up` accepts, no clobbering.

use crate::support;

use std::path::Path;

use support::offline_meshctl;

fn load(path: &Path) -> meshctl::config::Config {
    meshctl::config::load(
        path,
        &Default::default(),
        &meshctl::config::Overrides::default(),
    )
    .unwrap_or_else(|e| panic!("{e:?}"))
}

#[test]
fn writes_a_file_that_loads_and_says_what_next() {
    let dir = tempfile::tempdir().unwrap();
    let out = offline_meshctl(dir.path())
        .args(["init", "--name", "team-a", "--region", "eu-west-1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("Wrote meshctl.yaml"), "{stdout}");
    assert!(stdout.contains("meshctl up --dry-run"), "{stdout}");
    let path = dir.path().join("meshctl.yaml");
    let config = load(&path);
    assert_eq!(config.name, "team-a");
    assert_eq!(config.region, "eu-west-1");
    assert!(config.cluster.create);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("# Stack name"), "the file is commented");

    let out = offline_meshctl(dir.path())
        .args(["up", "--dry-run"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn refuses_to_overwrite_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mine.yaml");
    std::fs::write(&path, "name: keep-me\n").unwrap();
    let out = offline_meshctl(dir.path())
        .args(["init", "--config", "mine.yaml", "--name", "other"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--force"));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "name: keep-me\n");

    let out = offline_meshctl(dir.path())
        .args([
            "init",
            "--config",
            "mine.yaml",
            "--name",
            "other",
            "--force",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("--config mine.yaml"));
    assert_eq!(load(&path).name, "other");
}

#[test]
fn adopting_needs_and_writes_a_cluster_name() {
    let dir = tempfile::tempdir().unwrap();
    let out = offline_meshctl(dir.path())
        .args(["init", "--adopt-cluster"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--cluster-name"));
    assert!(!dir.path().join("meshctl.yaml").exists());

    let out = offline_meshctl(dir.path())
        .args(["init", "--adopt-cluster", "--cluster-name", "prod-eks"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let config = load(&dir.path().join("meshctl.yaml"));
    assert!(!config.cluster.create);
    assert_eq!(config.cluster_name(), "prod-eks");
}

#[test]
fn bad_flag_values_are_rejected_before_writing() {
    let dir = tempfile::tempdir().unwrap();
    let out = offline_meshctl(dir.path())
        .args(["init", "--name", "Not_Valid"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--name"));
    assert!(!dir.path().join("meshctl.yaml").exists());
}
