//! Every file in tests/fixtures/invalid/ is a config with a known problem. Each is run through
//! the real binary as `meshctl up --yes` with credentials and an AWS endpoint pointing at a TCP
//! listener of our own: the run must exit 2, say what the fixture expects on stderr, and make
//! no connection at all, which shows the config is checked before any API call.
//!
//! Fixture headers (YAML comments at the top):
//!   `# expect: <text>`   stderr must contain the text (whitespace-normalised)
//!   `# forbid: <text>`   neither stdout nor stderr may contain it (secrets)
//!   `# env: NAME=VALUE`  extra environment for the run
//!   `# args: <flags>`    extra command-line flags, split on spaces
//!   `# problems: N`      the number of problems reported (default 1; `none` for whole-file errors)

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use assert_cmd::Command;

/// A TCP listener that counts the connections made to it and closes each at once.
struct CountingListener {
    listener: Arc<TcpListener>,
    count: Arc<AtomicUsize>,
}

impl CountingListener {
    fn start() -> CountingListener {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a local port");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let listener = Arc::new(listener);
        let count = Arc::new(AtomicUsize::new(0));
        let (l, c) = (listener.clone(), count.clone());
        // Keep accepting while a run is going, so a client is answered (by a closed connection)
        // rather than left waiting.
        std::thread::spawn(move || {
            loop {
                Self::drain_into(&l, &c);
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
        });
        CountingListener { listener, count }
    }

    fn drain_into(listener: &TcpListener, count: &AtomicUsize) {
        while let Ok((stream, _)) = listener.accept() {
            count.fetch_add(1, Ordering::SeqCst);
            drop(stream);
        }
    }

    fn port(&self) -> u16 {
        self.listener.local_addr().unwrap().port()
    }

    /// Connections so far, including any still queued after the client exited.
    fn connections(&self) -> usize {
        Self::drain_into(&self.listener, &self.count);
        self.count.load(Ordering::SeqCst)
    }
}

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/invalid")
}

/// `meshctl` with credentials that resolve, every AWS endpoint at `port`, and nothing read
/// from the developer's own AWS files.
fn meshctl(port: u16, home: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_meshctl"));
    cmd.env_clear()
        .current_dir(home)
        .env("HOME", home)
        .env("AWS_CONFIG_FILE", home.join("no-aws-config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            home.join("no-aws-credentials"),
        )
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{port}"))
        .env("NO_COLOR", "1");
    cmd
}

/// Join miette's wrapped, bordered lines and collapse whitespace.
fn normalise(s: &str) -> String {
    s.lines()
        .map(|l| l.trim_start().trim_start_matches(['|', '│']).trim())
        .collect::<Vec<_>>()
        .join(" ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[derive(Debug, Default)]
struct Fixture {
    path: PathBuf,
    expect: Vec<String>,
    forbid: Vec<String>,
    env: Vec<(String, String)>,
    args: Vec<String>,
    problems: Option<usize>,
}

fn read_fixture(path: &Path) -> Fixture {
    let text = std::fs::read_to_string(path).unwrap();
    let mut f = Fixture {
        path: path.to_path_buf(),
        problems: Some(1),
        ..Default::default()
    };
    for line in text.lines().take_while(|l| l.starts_with('#')) {
        let (key, value) = line[1..].trim().split_once(':').unwrap_or(("", ""));
        let value = value.trim().to_string();
        match key {
            "expect" => f.expect.push(normalise(&value)),
            "forbid" => f.forbid.push(value),
            "env" => {
                let (k, v) = value.split_once('=').expect("env: NAME=VALUE");
                f.env.push((k.to_string(), v.to_string()));
            }
            "args" => f.args.extend(value.split(' ').map(str::to_string)),
            "problems" => f.problems = value.parse().ok(),
            _ => {}
        }
    }
    f
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("run meshctl")
}

/// What is wrong with one fixture's run, if anything.
fn check(f: &Fixture, listener: &CountingListener, home: &Path) -> Vec<String> {
    let mut wrong = vec![];
    if f.expect.is_empty() {
        wrong.push("has no `# expect:` line".into());
    }
    let before = listener.connections();
    let mut cmd = meshctl(listener.port(), home);
    cmd.args(["up", "--yes", "--config"])
        .arg(&f.path)
        .args(&f.args);
    for (k, v) in &f.env {
        cmd.env(k, v);
    }
    let out = run(&mut cmd);
    let made = listener.connections() - before;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let norm = normalise(&stderr);
    if out.status.code() != Some(2) {
        wrong.push(format!("exit code {:?}, expected 2", out.status.code()));
    }
    if made != 0 {
        wrong.push(format!("made {made} connection(s) to the AWS endpoint"));
    }
    if !norm.contains("invalid configuration") {
        wrong.push("stderr does not say `invalid configuration`".into());
    }
    for e in &f.expect {
        if !norm.contains(e.as_str()) {
            wrong.push(format!("stderr lacks `{e}`"));
        }
    }
    if let Some(n) = f.problems {
        let count = format!("{n} problem{} in", if n == 1 { "" } else { "s" });
        if !norm.contains(&count) {
            wrong.push(format!("stderr does not report `{count}`"));
        }
    }
    for secret in &f.forbid {
        if stdout.contains(secret.as_str()) || stderr.contains(secret.as_str()) {
            wrong.push(format!("output shows `{secret}`"));
        }
    }
    if !wrong.is_empty() {
        wrong.push(format!("stderr was:\n{stderr}"));
    }
    wrong
}

#[test]
fn invalid_configs_exit_2_with_their_message_and_no_api_call() {
    let listener = CountingListener::start();
    let home = tempfile::tempdir().unwrap();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(fixtures_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    paths.sort();
    assert!(
        paths.len() >= 30,
        "the corpus should hold at least 30 invalid configs, found {}",
        paths.len()
    );
    let several = paths
        .iter()
        .map(|p| read_fixture(p))
        .filter(|f| f.problems.is_some_and(|n| n > 1))
        .count();
    assert!(several >= 1, "one fixture should have several problems");

    let mut failures = vec![];
    for path in &paths {
        let f = read_fixture(path);
        let wrong = check(&f, &listener, home.path());
        if !wrong.is_empty() {
            failures.push(format!(
                "{}:\n  {}",
                path.file_name().unwrap().to_string_lossy(),
                wrong.join("\n  ")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} fixtures failed:\n{}",
        failures.len(),
        paths.len(),
        failures.join("\n\n")
    );
}

/// The control: with the same harness a valid config does reach the endpoint, so a count of
/// zero above means something.
#[test]
fn valid_config_does_reach_the_endpoint() {
    let listener = CountingListener::start();
    let home = tempfile::tempdir().unwrap();
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/demo.yaml");
    let mut cmd = meshctl(listener.port(), home.path());
    cmd.args(["up", "--dry-run", "--timeout", "10s", "--config"])
        .arg(&demo);
    let out = run(&mut cmd);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("invalid configuration"),
        "the control config must be valid: {stderr}"
    );
    assert!(
        listener.connections() > 0,
        "a dry run with credentials should call AMP at the endpoint; stderr:\n{stderr}"
    );
}

/// The harness itself: a case whose expectation is not met is reported.
#[test]
fn harness_reports_a_missing_expectation() {
    let listener = CountingListener::start();
    let home = tempfile::tempdir().unwrap();
    let mut f = read_fixture(&fixtures_dir().join("region-uppercase.yaml"));
    assert!(check(&f, &listener, home.path()).is_empty());
    f.expect.push("text that meshctl never prints".into());
    let wrong = check(&f, &listener, home.path());
    assert!(
        wrong.iter().any(|w| w.contains("stderr lacks")),
        "{wrong:?}"
    );
}
