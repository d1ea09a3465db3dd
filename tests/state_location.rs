//! Local state lives next to the config file, not in the working directory: a run from another
//! directory with `--config <absolute path>` finds the same stack, state and lock.

use crate::support;

use support::{Stack, block_on, live_tagged_workspaces};

#[test]
fn relative_state_is_found_next_to_the_config_from_another_directory() {
    let stack = Stack::new("state_next_to_config");
    // A relative `state:` (the default) instead of the absolute one the builder writes.
    let config = stack.path().join("meshctl.yaml");
    std::fs::write(
        &config,
        format!("name: {}\nregion: {}\n", stack.name, support::REGION),
    )
    .unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let config_arg = config.display().to_string();

    let run = |args: &[&str]| {
        let out = stack
            .cmd()
            .current_dir(elsewhere.path())
            .args(args)
            .args(["--config", &config_arg, "--output", "json"])
            .output()
            .expect("meshctl runs");
        support::Run::from(out)
    };

    run(&["amp", "--yes"]).expect_code(0);
    assert!(
        stack.state_dir().join("state.json").exists(),
        "state is next to the config file"
    );
    assert!(
        !elsewhere.path().join(".meshctl").exists(),
        "nothing was written in the working directory"
    );

    // The lock taken from elsewhere was the one next to the config, and it was released.
    assert!(!stack.lock_file().exists(), "the lock was released");
    run(&["cleanup", "--yes"]).expect_code(0);
    assert!(block_on(live_tagged_workspaces(&stack.name)).is_empty());
}
