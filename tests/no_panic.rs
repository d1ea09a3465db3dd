//! meshctl never panics on input: not on the environment, arguments, config bytes, state,
//! ledger or lock files. Fuzz-style cases use a fixed seed, so a failure reproduces.

use crate::support;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::sync::Arc;

use meshctl::config::{self, Overrides};
use meshctl::engine::Ledger;
use meshctl::engine::lock::StackLock;
use meshctl::engine::state::{MemoryStore, StackState, StateStore};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use support::offline_meshctl;

const CASES: usize = 300;

#[test]
fn a_non_utf8_environment_variable_does_not_panic() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("meshctl.yaml"),
        "name: env-bytes\nregion: eu-west-1\n",
    )
    .unwrap();
    let out = offline_meshctl(dir.path())
        .env(
            "UNRELATED_BYTES",
            OsString::from_vec(vec![0x66, 0xff, 0xfe, 0x6f]),
        )
        .args(["up", "--dry-run"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn a_non_utf8_argument_is_a_usage_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let out = offline_meshctl(dir.path())
        .arg("up")
        .arg(OsString::from_vec(vec![b'-', b'-', 0xff]))
        .args(["--output", "json"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// `seed` with a few bytes changed, inserted or removed, or cut short.
fn mutate(rng: &mut StdRng, seed: &[u8]) -> Vec<u8> {
    let mut bytes = seed.to_vec();
    for _ in 0..rng.random_range(1..8) {
        let len = bytes.len();
        match rng.random_range(0..5) {
            0 if len > 0 => {
                let i = rng.random_range(0..len);
                bytes[i] = rng.random();
            }
            1 => {
                let i = rng.random_range(0..=len);
                let b = *[
                    b':', b'-', b'\n', b' ', b'"', b'{', b'[', b'&', b'*', b'9', 0xff,
                ]
                .get(rng.random_range(0..11))
                .unwrap_or(&b'x');
                bytes.insert(i, b);
            }
            2 if len > 0 => {
                let i = rng.random_range(0..len);
                bytes.remove(i);
            }
            3 if len > 0 => bytes.truncate(rng.random_range(0..len)),
            _ => {
                let n = rng.random_range(0..16);
                bytes.extend((0..n).map(|_| rng.random::<u8>()));
            }
        }
    }
    bytes
}

const CONFIG_SEEDS: &[&str] = &[
    "name: demo\nregion: eu-west-1\n",
    "name: demo\nregion: us-east-1\nstate: s3://bucket/ci\namp:\n  alias: a\n  workspace_id: ws-1\n",
    "name: demo\ncluster:\n  create: false\n  name: prod\ntags:\n  Team: platform\n",
    "name: demo\ngrafana:\n  ports: [7639, 11829]\npagerduty: ~\n",
];

#[test]
fn config_bytes_never_panic() {
    let mut rng = StdRng::seed_from_u64(0x6d65_7368);
    let mut env = BTreeMap::new();
    env.insert("MESHCTL_AMP__ALIAS".to_string(), "x".to_string());
    for case in 0..CASES {
        let seed = CONFIG_SEEDS[case % CONFIG_SEEDS.len()].as_bytes();
        let bytes = mutate(&mut rng, seed);
        let text = String::from_utf8_lossy(&bytes);
        let env = if case % 2 == 0 {
            &env
        } else {
            &BTreeMap::new()
        };
        // Ok or Err are both fine: the test is that it returns.
        let _ = config::from_yaml(&text, "fuzz.yaml", env, &Overrides::default());
    }
}

const STATE_SEED: &str = r#"{"stack":"demo","steps":{"amp":{"applied_at":"2026-01-01T00:00:00Z","outputs":{"workspace_id":"ws-1"}}}}"#;
const LEDGER_SEED: &str = r#"{"run_id":"r1","stack":"demo","command":"amp","started_at":"2026-01-01T00:00:00Z","status":"open","resources":[{"step":"amp","kind":"amp-workspace","id":"ws-1","data":{"arn":"a"},"created_at":"2026-01-01T00:00:00Z"}]}"#;
const LOCK_SEED: &str = r#"{"user":"u","host":"h","pid":4294967295,"command":"amp","acquired_at":"2026-01-01T00:00:00Z"}"#;

#[test]
fn state_ledger_and_lock_bytes_never_panic() {
    let mut rng = StdRng::seed_from_u64(0x0073_7461_7465);
    // The seeds are valid documents, so mutations explore near what meshctl really reads.
    serde_json::from_str::<meshctl::engine::state::StackStateDoc>(STATE_SEED).expect("state seed");
    serde_json::from_str::<meshctl::engine::ledger::LedgerDoc>(LEDGER_SEED).expect("ledger seed");
    serde_json::from_str::<meshctl::engine::lock::LockInfo>(LOCK_SEED).expect("lock seed");
    support::block_on(async {
        for _ in 0..CASES {
            let store = Arc::new(MemoryStore::default());
            for (key, seed) in [
                ("state.json", STATE_SEED),
                ("ledger.json", LEDGER_SEED),
                ("lock.json", LOCK_SEED),
            ] {
                let bytes = mutate(&mut rng, seed.as_bytes());
                store.put(key, &bytes).await.expect("memory store");
            }
            let store: Arc<dyn StateStore> = store;
            let _ = StackState::load(store.clone(), "demo").await;
            let _ = Ledger::read(store.as_ref()).await;
            let _ = StackLock::acquire(store.clone(), "demo", "amp", false).await;
            let _ = Ledger::begin(store.clone(), "demo", "amp").await;
        }
    });
}

const WORDS: &[&str] = &[
    "up",
    "amp",
    "cluster",
    "cleanup",
    "status",
    "init",
    "completions",
    "bash",
    "zsh",
    "help",
    "--only",
    "amp,grafana",
    "amp,,",
    "--yes",
    "-y",
    "--dry-run",
    "--no-rollback",
    "--no-wait",
    "--force-unlock",
    "--timeout",
    "0s",
    "10s",
    "99999999999999999999h",
    "-v",
    "-vvvvvvvv",
    "--output",
    "json",
    "text",
    "--output=json",
    "--config",
    "",
    "--region",
    "--profile",
    "--name",
    "--force",
    "--adopt-cluster",
    "--cluster-name",
    "--",
    "-",
    "--no-color",
    "=",
    "--version",
    "--help",
    "-h",
    "ünïcödé",
];

#[test]
fn argument_vectors_never_panic() {
    let mut rng = StdRng::seed_from_u64(0x6172_6773);
    for _ in 0..CASES {
        let mut args: Vec<OsString> = vec!["meshctl".into()];
        for _ in 0..rng.random_range(0..8) {
            if rng.random_range(0..10) == 0 {
                args.push(OsString::from_vec(mutate(&mut rng, b"--timeout")));
            } else {
                args.push(WORDS[rng.random_range(0..WORDS.len())].into());
            }
        }
        if let Ok(cli) = meshctl::cli::parse_from(args.clone()) {
            let _ = meshctl::cli::check_scope(&cli);
        }
    }
}
