//! The completion scripts in `completions/` must be exactly what `meshctl completions <shell>`
//! prints. When the CLI changes, regenerate them with:
//!
//! ```text
//! MESHCTL_UPDATE_COMPLETIONS=1 cargo test --test it completions::
//! ```

use crate::support;

use std::path::PathBuf;

use assert_cmd::Command;

/// Set to `1` to rewrite stale completion files instead of failing.
const UPDATE_VAR: &str = "MESHCTL_UPDATE_COMPLETIONS";
const REGENERATE: &str = "MESHCTL_UPDATE_COMPLETIONS=1 cargo test --test it completions::";

fn completions_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("completions")
}

fn update_requested() -> bool {
    std::env::var(UPDATE_VAR).is_ok_and(|v| v == "1")
}

/// What the real binary prints for `shell`. Variables that clap reads as argument defaults
/// are removed so the script cannot depend on the caller's environment.
fn generated(shell: &str) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_meshctl"))
        .args(["completions", shell])
        .env_remove("MESHCTL_CONFIG")
        .env_remove("MESHCTL_OUTPUT")
        .env_remove("AWS_PROFILE")
        .output()
        .expect("meshctl runs");
    assert!(
        output.status.success(),
        "`meshctl completions {shell}` failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("completion scripts are UTF-8")
}

/// Whether `word` occurs in `text` with no letter or digit directly before or after it.
fn mentions_word(text: &str, word: &str) -> bool {
    text.match_indices(word).any(|(start, _)| {
        let before = text[..start].chars().next_back();
        let after = text[start + word.len()..].chars().next();
        !before.is_some_and(|c| c.is_ascii_alphanumeric())
            && !after.is_some_and(|c| c.is_ascii_alphanumeric())
    })
}

/// Compare `completions/<file>` with the binary's output for `shell` (rewriting it when
/// asked to), then check that the script offers every subcommand.
fn check(shell: &str, file: &str) {
    let path = completions_dir().join(file);
    let fresh = generated(shell);
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    if current != fresh {
        if update_requested() {
            std::fs::create_dir_all(completions_dir()).expect("create completions/");
            std::fs::write(&path, &fresh).expect("write completion script");
            eprintln!("rewrote completions/{file}");
        } else {
            panic!(
                "completions/{file} is stale: it differs from `meshctl completions {shell}`.\n\
                 Regenerate the scripts with:\n    {REGENERATE}"
            );
        }
    }
    let missing: Vec<&str> = support::SUBCOMMANDS
        .iter()
        .copied()
        .filter(|c| !mentions_word(&fresh, c))
        .collect();
    assert!(
        missing.is_empty(),
        "completions/{file} (`meshctl completions {shell}`) does not mention the subcommands {missing:?}"
    );
}

#[test]
fn bash_script_is_current() {
    check("bash", "meshctl.bash");
}

#[test]
fn zsh_script_is_current() {
    check("zsh", "_meshctl");
}

#[test]
fn fish_script_is_current() {
    check("fish", "meshctl.fish");
}

#[test]
fn powershell_script_is_current() {
    check("powershell", "_meshctl.ps1");
}

#[test]
fn word_match_ignores_longer_words() {
    assert!(mentions_word("'up:Create'", "up"));
    assert!(mentions_word("meshctl__up)", "up"));
    assert!(!mentions_word("cleanup", "up"));
    assert!(!mentions_word("update", "up"));
}
