//! Every integration test in one binary: each file in tests/ is a module of this crate, so the
//! suite links once instead of once per file (see docs/development.md, "Build time").
//! `suite_lists_every_test_file` fails when a file in tests/ is not listed here.

mod support;

mod amp_moto;
mod aws_errors;
mod build_lean;
mod cli;
mod cluster_moto;
mod completions;
mod config_corpus;
mod config_env;
mod config_init_comments;
mod docs_commands;
mod doctor_moto;
mod e2e_stack;
mod engine;
mod flags;
mod grafana_fakes;
mod helm;
mod init_cli;
mod irsa_moto;
mod istio_fakes;
mod kiali_fakes;
mod kube_adapter;
mod kubeconfig_cli;
mod lock;
mod migrate_appmesh;
mod network_moto;
mod no_panic;
mod ownership_moto;
mod pagerduty_fakes;
mod prometheus_fakes;
mod reliability_stack;
mod reports;
mod rollback_moto;
mod signals;
mod state_location;
mod state_s3;
mod templates;
mod token_cli;
mod traffic;
mod verify_fakes;

#[test]
fn suite_lists_every_test_file() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let listed = include_str!("it.rs");
    for entry in std::fs::read_dir(&root).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "rs") && path.file_stem().unwrap() != "it" {
            let name = path.file_stem().unwrap().to_str().unwrap().to_string();
            assert!(
                listed.lines().any(|l| l == format!("mod {name};")),
                "tests/{name}.rs is not a module of tests/it.rs, so none of its tests would run"
            );
        }
    }
}
