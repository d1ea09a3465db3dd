//! Every `meshctl` command the docs show is run through the real binary, so the docs cannot
//! drift from it.
//!
//! Where commands are found:
//! - README.md and docs/**/*.md: in ```sh, ```bash, ```shell and ```console blocks, each line
//!   that starts with `meshctl `, `$ meshctl ` or `cargo run -- ` once leading `NAME=value`
//!   assignments (which become the command's environment) are set aside; a trailing `\`
//!   continues a line and `# …` ends it. In a ```console block, the lines after a `$ ` line
//!   up to the next one are its documented output.
//! - examples/*.yaml: comment lines indented after the `#` (`#   meshctl …`), read the same way.
//!
//! How each is run, in a scratch directory holding a copy of examples/ and, as `meshctl.yaml`,
//! examples/demo.yaml (except for `init`, which writes that file):
//! 1. **As written, offline**: no credentials, nothing from the developer's AWS files, every AWS
//!    endpoint on a closed local port. It must succeed, or stop at the first AWS call for want
//!    of credentials (`meshctl::aws::credentials`): everything the command itself can get
//!    wrong (flags, config, steps that cannot be applied) is checked before that point.
//! 2. **With `--dry-run`** (added when missing), offline, or against moto when the line before
//!    the block is `<!-- needs-aws -->`. It must exit 0 and print every documented output line;
//!    `…` in a documented line stands for any text.
//!
//! Neither run may be a usage error from the command-line parser or a panic.

use std::path::{Path, PathBuf};

use crate::support;

/// One command found in the docs.
#[derive(Debug, Clone, Default, PartialEq)]
struct DocCommand {
    /// `docs/getting-started.md:29`
    place: String,
    /// The command as the docs write it.
    text: String,
    env: Vec<(String, String)>,
    args: Vec<String>,
    needs_aws: bool,
    /// Output lines quoted after it in a ```console block.
    outputs: Vec<String>,
}

const NEEDS_AWS: &str = "<!-- needs-aws -->";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A command's environment assignments and its `meshctl` arguments.
type Parsed = (Vec<(String, String)>, Vec<String>);

/// `meshctl` arguments and environment of one logical command line, if it is a meshctl command.
fn parse_command(line: &str) -> Option<Result<Parsed, String>> {
    let words = match shell_words::split(line) {
        Ok(w) => w,
        Err(e) => return Some(Err(format!("cannot be split into words: {e}"))),
    };
    let mut env = vec![];
    let mut rest = words.as_slice();
    while let Some((first, tail)) = rest.split_first() {
        let Some((name, value)) = first.split_once('=') else {
            break;
        };
        let is_name = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !is_name {
            break;
        }
        env.push((name.to_string(), value.to_string()));
        rest = tail;
    }
    let args = match rest {
        [first, args @ ..] if first == "meshctl" => args,
        [cargo, run, dashes, args @ ..] if cargo == "cargo" && run == "run" && dashes == "--" => {
            args
        }
        _ => return None,
    };
    Some(Ok((env, args.to_vec())))
}

/// Join `\`-continued lines: (line number of the first, joined text).
fn logical_lines<'a>(lines: impl Iterator<Item = (usize, &'a str)>) -> Vec<(usize, String)> {
    let mut out: Vec<(usize, String)> = vec![];
    let mut pending: Option<(usize, String)> = None;
    for (n, line) in lines {
        let (start, mut text) = pending.take().unwrap_or((n, String::new()));
        let trimmed = line.trim_end();
        if let Some(head) = trimmed.strip_suffix('\\') {
            text.push_str(head);
            text.push(' ');
            pending = Some((start, text));
        } else {
            text.push_str(trimmed);
            out.push((start, text));
        }
    }
    out.extend(pending);
    out
}

fn push(
    out: &mut Vec<DocCommand>,
    problems: &mut Vec<String>,
    place: String,
    text: &str,
    needs_aws: bool,
) {
    match parse_command(text.trim()) {
        None => {}
        Some(Ok((env, args))) => out.push(DocCommand {
            place,
            text: text.trim().to_string(),
            env,
            args,
            needs_aws,
            outputs: vec![],
        }),
        Some(Err(e)) => problems.push(format!("{place}: `{}` {e}", text.trim())),
    }
}

/// Commands in one Markdown file; `name` is how messages name it.
fn from_markdown(name: &str, text: &str, problems: &mut Vec<String>) -> Vec<DocCommand> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = vec![];
    let mut i = 0;
    while i < lines.len() {
        let Some(info) = lines[i].trim_start().strip_prefix("```") else {
            i += 1;
            continue;
        };
        let lang = info.split_whitespace().next().unwrap_or("");
        let needs_aws = lines[..i]
            .iter()
            .rev()
            .find(|l| !l.trim().is_empty())
            .is_some_and(|l| l.trim() == NEEDS_AWS);
        let start = i + 1;
        let mut end = start;
        while end < lines.len() && !lines[end].trim_start().starts_with("```") {
            end += 1;
        }
        let body = (start..end).map(|n| (n + 1, lines[n]));
        match lang {
            "sh" | "bash" | "shell" => {
                for (n, line) in logical_lines(body) {
                    push(&mut out, problems, format!("{name}:{n}"), &line, needs_aws);
                }
            }
            "console" => {
                let mut current: Option<usize> = None;
                for (n, line) in logical_lines(body) {
                    if let Some(cmd) = line.trim_start().strip_prefix("$ ") {
                        let before = out.len();
                        push(&mut out, problems, format!("{name}:{n}"), cmd, needs_aws);
                        current = (out.len() > before).then(|| out.len() - 1);
                    } else if let Some(c) = current
                        && !line.trim().is_empty()
                    {
                        out[c].outputs.push(line.trim().to_string());
                    }
                }
            }
            _ => {}
        }
        i = end + 1;
    }
    out
}

/// Commands in the comments of one example config: comment lines indented after the `#`.
fn from_example(name: &str, text: &str, problems: &mut Vec<String>) -> Vec<DocCommand> {
    let comments = text.lines().enumerate().filter_map(|(n, l)| {
        let rest = l.trim_start().strip_prefix('#')?;
        rest.starts_with("  ").then_some((n + 1, rest))
    });
    let mut out = vec![];
    for (n, line) in logical_lines(comments) {
        push(&mut out, problems, format!("{name}:{n}"), &line, false);
    }
    out
}

fn markdown_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            markdown_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "md") {
            out.push(p);
        }
    }
}

/// Every command in README.md, docs/ and examples/, and what could not be read.
fn all_commands() -> (Vec<DocCommand>, Vec<String>) {
    let root = root();
    let mut problems = vec![];
    let mut files = vec![root.join("README.md")];
    markdown_files(&root.join("docs"), &mut files);
    let rel = |p: &Path| p.strip_prefix(&root).unwrap_or(p).display().to_string();
    let mut out = vec![];
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        out.extend(from_markdown(&rel(f), &text, &mut problems));
    }
    let mut examples: Vec<PathBuf> = std::fs::read_dir(root.join("examples"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    examples.sort();
    for f in &examples {
        let text = std::fs::read_to_string(f).unwrap();
        out.extend(from_example(&rel(f), &text, &mut problems));
    }
    (out, problems)
}

/// A scratch directory for one run: examples/ and (unless the command is `init`) meshctl.yaml.
fn scratch(cmd: &DocCommand) -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("meshctl-docs-")
        .tempdir()
        .unwrap();
    let examples = root().join("examples");
    std::fs::create_dir(dir.path().join("examples")).unwrap();
    for e in std::fs::read_dir(&examples).unwrap() {
        let p = e.unwrap().path();
        if p.is_file() {
            std::fs::copy(&p, dir.path().join("examples").join(p.file_name().unwrap())).unwrap();
        }
    }
    if !cmd.args.iter().any(|a| a == "init") {
        std::fs::copy(examples.join("demo.yaml"), dir.path().join("meshctl.yaml")).unwrap();
    }
    dir
}

struct Outcome {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Outcome {
    /// Why this run is wrong whatever the command: a usage error or a panic.
    fn broken(&self) -> Option<String> {
        if self.code == Some(101) || self.stderr.contains("panicked at") {
            return Some("meshctl panicked".into());
        }
        let usage = self.code == Some(2) && self.stderr.trim_start().starts_with("error:");
        usage.then(|| "the command line was refused (a usage error)".into())
    }

    fn describe(&self) -> String {
        format!(
            "exit code {:?}\n    stderr: {}\n    stdout: {}",
            self.code,
            self.stderr.trim().replace('\n', "\n            "),
            self.stdout.trim().replace('\n', "\n            ")
        )
    }
}

fn run(cmd: &DocCommand, args: &[String], moto: Option<&str>) -> Outcome {
    let dir = scratch(cmd);
    let mut c = support::offline_meshctl(dir.path());
    if let Some(path) = std::env::var_os("PATH") {
        c.env("PATH", path);
    }
    if let Some(endpoint) = moto {
        c.env("AWS_ENDPOINT_URL", endpoint)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing");
    }
    for (k, v) in &cmd.env {
        c.env(k, v);
    }
    c.args(args).timeout(support::RUN_GUARD);
    let out = c.output().expect("run meshctl");
    Outcome {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// What is wrong with one documented command, if anything.
fn check(cmd: &DocCommand) -> Vec<String> {
    let mut wrong = vec![];
    let as_written = run(cmd, &cmd.args, None);
    if let Some(why) = as_written.broken() {
        wrong.push(format!(
            "as written, offline: {why}: {}",
            as_written.describe()
        ));
    } else if as_written.code != Some(0) && !as_written.stderr.contains("meshctl::aws::credentials")
    {
        wrong.push(format!(
            "as written, offline: fails before it needs AWS credentials: {}",
            as_written.describe()
        ));
    }

    let mut args = cmd.args.clone();
    // Only commands that change something take --dry-run (meshctl rejects it elsewhere).
    let read_only = matches!(
        args.first().map(String::as_str),
        Some("status" | "completions")
    );
    if !read_only && !args.iter().any(|a| a == "--dry-run") {
        args.push("--dry-run".into());
    }
    let moto = cmd.needs_aws.then(support::moto);
    let how = if cmd.needs_aws {
        "with --dry-run, against moto"
    } else {
        "with --dry-run, offline"
    };
    let planned = run(cmd, &args, moto.as_deref());
    if let Some(why) = planned.broken() {
        wrong.push(format!("{how}: {why}: {}", planned.describe()));
    } else if planned.code != Some(0) {
        let hint = if cmd.needs_aws {
            ""
        } else {
            " (if it truly needs AWS, put `<!-- needs-aws -->` on the line before its block)"
        };
        wrong.push(format!(
            "{how}: did not succeed{hint}: {}",
            planned.describe()
        ));
    }
    let printed = squash(&format!("{}\n{}", planned.stdout, planned.stderr));
    for line in &cmd.outputs {
        let missing: Vec<&str> = line
            .split('…')
            .map(str::trim)
            .filter(|f| !f.is_empty())
            .filter(|f| !printed.contains(&squash(f)))
            .collect();
        if !missing.is_empty() {
            wrong.push(format!(
                "{how}: the documented output line `{line}` is not printed (missing: `{}`); printed:\n{}",
                missing.join("`, `"),
                planned.stdout
            ));
        }
    }
    wrong
}

#[test]
fn documented_commands_run_as_documented() {
    let (commands, problems) = all_commands();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(
        commands.len() >= 10,
        "too few documented commands found ({}): {commands:#?}",
        commands.len()
    );
    assert!(
        commands.iter().any(|c| c.place.starts_with("examples/")),
        "no command found in the examples' comments"
    );
    let mut failures = vec![];
    for cmd in &commands {
        let wrong = check(cmd);
        if !wrong.is_empty() {
            failures.push(format!(
                "{}: `{}`\n  - {}",
                cmd.place,
                cmd.text,
                wrong.join("\n  - ")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} documented commands do not work as the docs say:\n\n{}",
        failures.len(),
        commands.len(),
        failures.join("\n\n")
    );
}

#[test]
fn extraction_reads_blocks_continuations_outputs_and_example_comments() {
    let md = "text `meshctl nope` inline\n\n```sh\n# a comment\nMESHCTL_AMP__ALIAS=x \\\n  meshctl up --dry-run   # trailing\ncargo install --path .\ncargo run -- status\n```\n\n<!-- needs-aws -->\n```console\n$ meshctl status\nStack `demo` in …:\n  amp … present\n$ echo hi\nhi\n```\n\n```yaml\nmeshctl: no\n```\n";
    let mut problems = vec![];
    let found = from_markdown("x.md", md, &mut problems);
    assert!(problems.is_empty(), "{problems:?}");
    let summary: Vec<(&str, Vec<String>, bool, usize)> = found
        .iter()
        .map(|c| {
            (
                c.place.as_str(),
                c.args.clone(),
                c.needs_aws,
                c.outputs.len(),
            )
        })
        .collect();
    let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        summary,
        vec![
            ("x.md:5", strings(&["up", "--dry-run"]), false, 0),
            ("x.md:8", strings(&["status"]), false, 0),
            ("x.md:13", strings(&["status"]), true, 2),
        ]
    );
    assert_eq!(
        found[0].env,
        vec![("MESHCTL_AMP__ALIAS".to_string(), "x".to_string())]
    );
    let yaml = "# meshctl never changes an adopted cluster\n# Run it with:\n#   MESHCTL_NAME=a meshctl up --only amp --yes\nname: a\n";
    let found = from_example("e.yaml", yaml, &mut problems);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].place, "e.yaml:3");
    assert_eq!(found[0].args, strings(&["up", "--only", "amp", "--yes"]));
}

#[test]
fn harness_rejects_commands_that_do_not_work() {
    let cmd = |text: &str| {
        let mut problems = vec![];
        let found = from_markdown("t.md", &format!("```sh\n{text}\n```\n"), &mut problems);
        found.into_iter().next().expect("one command")
    };
    // A step this version cannot apply (while there is one): fine with --dry-run, refused as
    // written.
    if meshctl::engine::StepId::ALL
        .into_iter()
        .any(|id| !meshctl::steps::step(id).available())
    {
        let wrong = check(&cmd("meshctl up --yes --config examples/ci-s3-state.yaml"));
        assert!(
            wrong
                .iter()
                .any(|w| w.contains("as written") && w.contains("not available")),
            "{wrong:?}"
        );
    }
    let wrong = check(&cmd("meshctl up --frobnicate"));
    assert!(wrong.iter().any(|w| w.contains("usage error")), "{wrong:?}");
    let mut quoted = cmd("meshctl up --dry-run --only amp");
    quoted.outputs = vec!["amp … text meshctl never prints".into()];
    let wrong = check(&quoted);
    assert!(
        wrong
            .iter()
            .any(|w| w.contains("text meshctl never prints")),
        "{wrong:?}"
    );
    assert!(check(&cmd("meshctl amp --yes")).is_empty());
}

#[test]
fn getting_started_names_the_rust_version_cargo_toml_requires() {
    let manifest = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
    let required = manifest
        .lines()
        .find_map(|l| l.trim().strip_prefix("rust-version"))
        .and_then(|v| v.split('"').nth(1))
        .expect("Cargo.toml declares rust-version");
    let guide = std::fs::read_to_string(root().join("docs/getting-started.md")).unwrap();
    let named: Vec<&str> = guide
        .split("Rust ")
        .skip(1)
        .filter_map(|rest| {
            rest.split(|c: char| !(c.is_ascii_digit() || c == '.'))
                .next()
        })
        .map(|v| v.trim_end_matches('.'))
        .filter(|v| !v.is_empty())
        .collect();
    assert!(
        !named.is_empty(),
        "docs/getting-started.md names no Rust version"
    );
    for v in named {
        assert_eq!(
            v, required,
            "docs/getting-started.md says Rust {v}, Cargo.toml's rust-version is {required}"
        );
    }
}

/// The top-level keys of a pretty-printed JSON document, in the order written.
fn top_level_keys(json: &str) -> Vec<String> {
    json.lines()
        .filter_map(|l| l.strip_prefix("  \""))
        .filter(|l| !l.starts_with(' '))
        .filter_map(|l| l.split_once("\":").map(|(k, _)| k.to_string()))
        .collect()
}

/// docs/output.md introduces its JSON examples with ``Example (`meshctl …`, …):``. Where the
/// command, run offline as written, prints a document of the same `kind`, the keys both have
/// must come in the same order (readers and `jq` users copy that order).
#[test]
fn json_examples_in_output_md_have_the_binarys_key_order() {
    let text = std::fs::read_to_string(root().join("docs/output.md")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let mut compared = 0;
    let mut wrong = vec![];
    for (i, line) in lines.iter().enumerate() {
        if line.trim() != "```json" {
            continue;
        }
        let Some(intro) = lines[..i].iter().rev().find(|l| !l.trim().is_empty()) else {
            continue;
        };
        let Some(command) = intro
            .split("Example (`")
            .nth(1)
            .and_then(|r| r.split('`').next())
        else {
            continue;
        };
        let end = (i + 1..lines.len())
            .find(|&n| lines[n].trim_start().starts_with("```"))
            .unwrap_or(lines.len());
        let doc = lines[i + 1..end].join("\n");
        let Some(Ok((env, args))) = parse_command(command) else {
            wrong.push(format!(
                "docs/output.md:{}: `{command}` is not a meshctl command",
                i + 1
            ));
            continue;
        };
        let cmd = DocCommand {
            place: format!("docs/output.md:{}", i + 1),
            text: command.to_string(),
            env,
            args: args.clone(),
            ..Default::default()
        };
        let out = run(&cmd, &args, None);
        let kind = |s: &str| {
            serde_json::from_str::<serde_json::Value>(s)
                .ok()
                .and_then(|v| v["kind"].as_str().map(str::to_string))
        };
        if kind(&doc).is_none() || kind(&doc) != kind(&out.stdout) {
            continue;
        }
        compared += 1;
        let (documented, printed) = (top_level_keys(&doc), top_level_keys(&out.stdout));
        let shared = |a: &[String], b: &[String]| -> Vec<String> {
            a.iter().filter(|k| b.contains(k)).cloned().collect()
        };
        let (d, p) = (shared(&documented, &printed), shared(&printed, &documented));
        if d != p {
            wrong.push(format!(
                "{}: the example of `{command}` lists keys as {d:?}, meshctl prints {p:?}",
                cmd.place
            ));
        }
    }
    assert!(
        compared >= 1,
        "no JSON example of docs/output.md could be compared"
    );
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
