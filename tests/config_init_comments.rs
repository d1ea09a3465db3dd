//! The commented-out keys `meshctl init` writes are examples meant to be uncommented: each,
//! uncommented on its own and all of them together, must still give a file that loads.

use std::collections::BTreeSet;
use std::path::Path;

use crate::support::offline_meshctl;

/// Every key name the schema has, at any depth (optional keys included: they serialise as null).
fn schema_keys() -> BTreeSet<String> {
    fn walk(v: &serde_yaml_ng::Value, out: &mut BTreeSet<String>) {
        match v {
            serde_yaml_ng::Value::Mapping(m) => {
                for (k, v) in m {
                    if let Some(k) = k.as_str() {
                        out.insert(k.to_string());
                    }
                    walk(v, out);
                }
            }
            serde_yaml_ng::Value::Sequence(items) => items.iter().for_each(|i| walk(i, out)),
            _ => {}
        }
    }
    let defaults = serde_yaml_ng::to_value(meshctl::config::Config::with_defaults("x"))
        .expect("defaults serialise");
    let mut out = BTreeSet::new();
    walk(&defaults, &mut out);
    out
}

/// Lines that are a commented-out `key: value`: a schema key, or any key right under a map
/// of free keys (`tags:`). Returns (line index, the line uncommented).
fn commented_keys(text: &str) -> Vec<(usize, String)> {
    let keys = schema_keys();
    let lines: Vec<&str> = text.lines().collect();
    let mut out = vec![];
    let mut last_key_line = "";
    for (i, line) in lines.iter().enumerate() {
        let trimmed = line.trim_start();
        let Some(rest) = trimmed.strip_prefix("# ") else {
            if !trimmed.is_empty() && !trimmed.starts_with('#') {
                last_key_line = line;
            }
            continue;
        };
        let Some((key, value)) = rest.split_once(": ") else {
            continue;
        };
        let is_key = !key.is_empty()
            && key
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            && !value.trim().is_empty();
        let under_free_map = last_key_line.trim_end() == "tags:";
        if is_key && (keys.contains(key) || under_free_map) {
            let indent = &line[..line.len() - trimmed.len()];
            out.push((i, format!("{indent}{rest}")));
        }
    }
    out
}

fn loads(dir: &Path, text: &str, what: &str) {
    let path = dir.join("uncommented.yaml");
    std::fs::write(&path, text).unwrap();
    let out = offline_meshctl(dir)
        .args([
            "up",
            "--dry-run",
            "--only",
            "amp",
            "--output",
            "json",
            "--config",
        ])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{what}: the file no longer loads:\n{text}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn init_tags_example_is_valid_yaml_when_uncommented() {
    let dir = tempfile::tempdir().unwrap();
    let written = dir.path().join("meshctl.yaml");
    let out = offline_meshctl(dir.path())
        .args(["init", "--name", "demo", "--config"])
        .arg(&written)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "init failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&written).unwrap();
    let found = commented_keys(&text);
    assert!(
        found
            .iter()
            .any(|(_, l)| l.trim_start().starts_with("team:")),
        "the tag example under `tags` was not found among {found:?} in:\n{text}"
    );
    assert!(
        found.len() >= 5,
        "too few commented-out keys found: {found:?}"
    );
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    for (i, uncommented) in &found {
        let mut one = lines.clone();
        one[*i] = uncommented.clone();
        loads(
            dir.path(),
            &one.join("\n"),
            &format!("uncommenting `{uncommented}`"),
        );
    }
    for (i, uncommented) in &found {
        lines[*i] = uncommented.clone();
    }
    loads(dir.path(), &lines.join("\n"), "uncommenting every example");
}
