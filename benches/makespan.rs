//! The makespan benchmark (docs/performance.md): the real `meshctl` against the whole-stack rig
//! (tests/support/stack_rig.rs) with the time-scaled latency emulator on
//! (tests/support/latency.rs: one published minute becomes one second unless
//! `MESHCTL_BENCH_SECONDS_PER_MINUTE` says otherwise). It prints, and writes as JSON to
//! `target/meshctl-bench/makespan.json`:
//!
//! 1. `up --yes` on a new stack: wall time, and each step's start and end (from the progress
//!    lines) so the critical path shows;
//! 2. the same steps forced one after another, as the blog posts do them (`cluster`, `istio`,
//!    `amp`, `irsa`, `prometheus`, `kiali`, `grafana`, `pagerduty`, each `--yes`), on a second
//!    new stack: the sum of their wall times; and the ratio, against the target;
//! 3. a no-op `up` on the complete stack: wall time and the API calls each emulator saw (all,
//!    and the mutating ones by operation);
//! 4. `cleanup --yes` against the same cleanup step by step (`cleanup --only <step>`, reverse
//!    order);
//! 5. `meshctl --help` and the offline plan (`up --dry-run --config examples/demo.yaml`, no
//!    credentials): median wall time and peak RSS (`/usr/bin/time -f %M`).
//!
//! Run it with `./test.sh --bench` (moto, helm and the environment the rig needs); nothing here
//! asserts a time.

#![allow(dead_code)]

// The support code's unit tests (and their imports) are not compiled into a harness-less bench.
#[allow(unused_imports)]
#[path = "../tests/support/mod.rs"]
mod support;

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use support::latency::{self, Latency, PUBLISHED};
use support::stack_rig::{Rig, STEPS};

/// The blog posts' order, one command each (`cluster` brings its node groups).
const SEQUENTIAL: [&str; 8] = [
    "cluster",
    "istio",
    "amp",
    "irsa",
    "prometheus",
    "kiali",
    "grafana",
    "pagerduty",
];
/// Runs of each start-up command; the median is reported.
const STARTUP_RUNS: usize = 15;
/// A run that takes longer than this is stopped (a hang, not a figure).
const RUN_LIMIT: Duration = Duration::from_secs(600);

/// One finished meshctl run.
struct Timed {
    wall: Duration,
    code: Option<i32>,
    stdout: String,
    /// Progress lines on stderr, each with when it arrived (since the start).
    lines: Vec<(Duration, String)>,
}

impl Timed {
    fn ok(&self) -> bool {
        self.code == Some(0)
    }

    /// Each step's first and last progress line, in order of start.
    fn timeline(&self) -> Vec<(String, Duration, Duration)> {
        let mut out: Vec<(String, Duration, Duration)> = vec![];
        for (t, line) in &self.lines {
            let Some(step) = line.split_whitespace().nth(1) else {
                continue;
            };
            if !STEPS.contains(&step) {
                continue;
            }
            match out.iter_mut().find(|(s, _, _)| s == step) {
                Some(entry) => entry.2 = *t,
                None => out.push((step.to_string(), *t, *t)),
            }
        }
        out
    }
}

fn run_timed(mut cmd: Command) -> Timed {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = cmd.spawn().expect("meshctl starts");
    let stderr = child.stderr.take().expect("stderr piped");
    let mut stdout = child.stdout.take().expect("stdout piped");
    let lines = std::thread::spawn(move || {
        let mut out = vec![];
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            out.push((started.elapsed(), line));
        }
        out
    });
    let text = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let code = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status.code(),
            Ok(None) if started.elapsed() > RUN_LIMIT => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(_) => break None,
        }
    };
    let wall = started.elapsed();
    Timed {
        wall,
        code,
        stdout: text.join().unwrap_or_default(),
        lines: lines.join().unwrap_or_default(),
    }
}

/// Run `meshctl <args>` against `rig`; stop the benchmark if it fails.
fn must(rig: &Rig, args: &[&str]) -> Timed {
    let t = run_timed(rig.command(args));
    if !t.ok() {
        eprintln!(
            "makespan: `meshctl {}` failed (exit {:?}) after {:.1} s",
            args.join(" "),
            t.code,
            t.wall.as_secs_f64()
        );
        for (_, l) in &t.lines {
            eprintln!("  {l}");
        }
        eprintln!("{}", t.stdout);
        std::process::exit(1);
    }
    t
}

fn secs(d: Duration) -> f64 {
    (d.as_secs_f64() * 100.0).round() / 100.0
}

fn print_timeline(title: &str, t: &Timed) -> Value {
    println!("\n{title} (seconds since start):");
    println!("  {:<11} {:>7} {:>7} {:>7}", "step", "start", "end", "took");
    let mut rows = vec![];
    for (step, start, end) in t.timeline() {
        println!(
            "  {step:<11} {:>7.2} {:>7.2} {:>7.2}",
            start.as_secs_f64(),
            end.as_secs_f64(),
            (end - start).as_secs_f64()
        );
        rows.push(json!({"step": step, "start_s": secs(start), "end_s": secs(end)}));
    }
    Value::Array(rows)
}

/// What the stack still owns after a cleanup: AWS resources with its tag, Kubernetes objects
/// with its labels, PagerDuty's items. The Grafana fake's data source, folder and dashboards
/// are left out: they live in the deleted AMG workspace and go with it (as in e2e_stack).
fn left(rig: &Rig) -> Vec<String> {
    rig.owned()
        .into_iter()
        .filter(|i| {
            !(i.starts_with("datasource ")
                || i.starts_with("folder ")
                || i.starts_with("dashboard "))
        })
        .collect()
}

/// Calls each proxy saw: total, and the mutating ones by operation.
fn calls(rig: &Rig) -> (Value, usize, usize) {
    let mut per = serde_json::Map::new();
    let (mut total, mut mutating) = (0, 0);
    for (name, proxy) in rig.proxies.all() {
        let all = proxy.calls();
        let writes = proxy.mutating_calls();
        total += all.len();
        mutating += writes.len();
        let mut ops: std::collections::BTreeMap<String, usize> = Default::default();
        for c in &all {
            *ops.entry(c.op.clone()).or_default() += 1;
        }
        per.insert(
            name.to_string(),
            json!({"calls": all.len(), "mutating": writes, "by_operation": ops}),
        );
    }
    (Value::Object(per), total, mutating)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Median wall time of `args` over [`STARTUP_RUNS`] runs, and the peak RSS (KiB, the largest
/// of three runs under `/usr/bin/time -f %M`; `None` when that tool is missing).
fn startup(args: &[&str], home: &std::path::Path) -> (Duration, Option<u64>) {
    let bin = env!("CARGO_BIN_EXE_meshctl");
    let prepare = |c: &mut Command| {
        // No credentials of any kind: the README's first command on a fresh machine.
        for (k, _) in std::env::vars() {
            if k.starts_with("AWS_") || k.starts_with("MESHCTL_") {
                c.env_remove(k);
            }
        }
        c.env("HOME", home)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
    };
    let mut walls = vec![];
    for _ in 0..STARTUP_RUNS {
        let mut c = Command::new(bin);
        c.args(args);
        prepare(&mut c);
        let t = Instant::now();
        let status = c.status().expect("meshctl runs");
        walls.push(t.elapsed());
        if !status.success() {
            eprintln!("makespan: `meshctl {}` failed: {status}", args.join(" "));
            std::process::exit(1);
        }
    }
    let mut peak = None;
    if std::path::Path::new("/usr/bin/time").exists() {
        for _ in 0..3 {
            let out_file = home.join("rss");
            let mut c = Command::new("/usr/bin/time");
            c.args(["-f", "%M", "-o"])
                .arg(&out_file)
                .arg(bin)
                .args(args);
            prepare(&mut c);
            if c.status().is_ok_and(|s| s.success())
                && let Some(kib) = std::fs::read_to_string(&out_file)
                    .ok()
                    .and_then(|s| s.lines().last().and_then(|l| l.trim().parse::<u64>().ok()))
            {
                peak = Some(peak.unwrap_or(0).max(kib));
            }
        }
    }
    (median(walls), peak)
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs this binary without it,
    // only to prove that the benchmark builds. The figures take minutes: not in the test run.
    if !std::env::args().any(|a| a == "--bench") {
        println!(
            "makespan: a benchmark, built; measure with `./test.sh --bench` (docs/performance.md)"
        );
        return;
    }
    let lat = Latency::from_env();
    let spm = lat.seconds_per_minute;
    let bin = env!("CARGO_BIN_EXE_meshctl");
    let profile = std::path::Path::new(bin)
        .parent()
        .and_then(|p| p.file_name())
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    println!(
        "meshctl makespan benchmark: one published minute = {spm} s; binary {bin} ({profile} profile)"
    );
    println!("\nlatency table (published minutes -> scaled seconds):");
    for p in PUBLISHED {
        println!(
            "  {:<26} {:>5.1} min -> {:>5.2} s   {}",
            p.what,
            p.minutes,
            lat.scale(p.minutes).as_secs_f64(),
            p.how
        );
    }
    let target = lat.scale(
        Latency::minutes(latency::CONTROL_PLANE) + Latency::minutes(latency::NODEGROUP) + 1.0,
    );

    // --- 1. up on a new stack, then 3. a no-op up, then 4a. cleanup ---------------------
    let rig = Rig::new("bench-up");
    latency::enable(&rig, lat);
    let controllers = latency::start_controllers(&rig, lat);
    eprintln!("makespan: meshctl up --yes (whole graph)");
    let up = must(&rig, &["up", "--yes"]);
    let up_timeline = print_timeline("up --yes: steps", &up);

    rig.settle();
    rig.proxies.reset_logs();
    eprintln!("makespan: meshctl up --yes again (no-op)");
    let noop = must(&rig, &["up", "--yes"]);
    let (noop_calls, noop_total, noop_mutating) = calls(&rig);
    let noop_changes: usize = serde_json::from_str::<Value>(&noop.stdout)
        .ok()
        .and_then(|d| d["steps"].as_array().cloned())
        .unwrap_or_default()
        .iter()
        .flat_map(|s| s["actions"].as_array().cloned().unwrap_or_default())
        .filter(|a| a["op"] != "keep")
        .count();

    eprintln!("makespan: meshctl cleanup --yes");
    let cleanup = must(&rig, &["cleanup", "--yes"]);
    let cleanup_timeline = print_timeline("cleanup --yes: steps", &cleanup);
    let left_a = left(&rig);
    drop(controllers);
    drop(rig);

    // --- 2. the blogs' order, one command after another; 4b. cleanup step by step --------
    let rig = Rig::new("bench-seq");
    latency::enable(&rig, lat);
    let controllers = latency::start_controllers(&rig, lat);
    let mut seq = vec![];
    for step in SEQUENTIAL {
        eprintln!("makespan: meshctl {step} --yes");
        let t = must(&rig, &[step, "--yes"]);
        seq.push((step, t.wall));
    }
    let mut seq_cleanup = vec![];
    for step in SEQUENTIAL.iter().rev() {
        eprintln!("makespan: meshctl cleanup --only {step} --yes");
        let t = must(&rig, &["cleanup", "--only", step, "--yes"]);
        seq_cleanup.push((*step, t.wall));
    }
    let left_b = left(&rig);
    drop(controllers);
    drop(rig);

    // --- 5. start-up -------------------------------------------------------------------
    let home = tempfile::tempdir().expect("an empty HOME");
    let (help_wall, help_rss) = startup(&["--help"], home.path());
    let (plan_wall, plan_rss) = startup(
        &["up", "--dry-run", "--config", "examples/demo.yaml"],
        home.path(),
    );

    // --- the figures -------------------------------------------------------------------
    let seq_sum: Duration = seq.iter().map(|(_, d)| *d).sum();
    let seq_cleanup_sum: Duration = seq_cleanup.iter().map(|(_, d)| *d).sum();
    let ratio = seq_sum.as_secs_f64() / up.wall.as_secs_f64();
    let cleanup_ratio = seq_cleanup_sum.as_secs_f64() / cleanup.wall.as_secs_f64();
    let rss = |r: Option<u64>| {
        r.map_or("n/a".to_string(), |k| {
            format!("{:.1} MiB", k as f64 / 1024.0)
        })
    };

    println!("\nsequential (the blogs' order, one command each):");
    for (step, d) in &seq {
        println!("  meshctl {step:<10} --yes  {:>7.2} s", d.as_secs_f64());
    }
    println!("\nsequential cleanup (cleanup --only <step>, reverse order):");
    for (step, d) in &seq_cleanup {
        println!("  cleanup --only {step:<10} {:>7.2} s", d.as_secs_f64());
    }
    println!("\nno-op up, calls per emulator (at its fault proxy):");
    for (name, v) in noop_calls.as_object().into_iter().flatten() {
        println!(
            "  {name:<9} {:>4} calls, mutating: {}",
            v["calls"], v["mutating"]
        );
        let mut ops: Vec<(String, u64)> = v["by_operation"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, n)| (k.clone(), n.as_u64().unwrap_or(0)))
            .collect();
        ops.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
        for (op, n) in ops.iter().take(4) {
            println!("            {n:>4}  {op}");
        }
    }

    println!("\n| figure | value |");
    println!("|---|---|");
    println!(
        "| `up` makespan (new stack) | {:.2} s |",
        up.wall.as_secs_f64()
    );
    println!(
        "| sequential, blogs' order (sum of 8 commands) | {:.2} s |",
        seq_sum.as_secs_f64()
    );
    println!("| ratio sequential / makespan | {ratio:.2}x |");
    println!(
        "| target: makespan <= control plane + node group + 1 min | {:.2} s ({}, by {:+.2} s) |",
        target.as_secs_f64(),
        if up.wall <= target { "met" } else { "missed" },
        up.wall.as_secs_f64() - target.as_secs_f64()
    );
    println!(
        "| `cleanup` makespan | {:.2} s |",
        cleanup.wall.as_secs_f64()
    );
    println!(
        "| cleanup step by step (sum of 8 commands) | {:.2} s |",
        seq_cleanup_sum.as_secs_f64()
    );
    println!("| cleanup ratio | {cleanup_ratio:.2}x |");
    println!(
        "| cleanup target (same bound) | {:.2} s ({}, by {:+.2} s) |",
        target.as_secs_f64(),
        if cleanup.wall <= target {
            "met"
        } else {
            "missed"
        },
        cleanup.wall.as_secs_f64() - target.as_secs_f64()
    );
    println!(
        "| no-op `up`: wall, API calls, mutating, changes | {:.2} s, {noop_total}, {noop_mutating}, {noop_changes} |",
        noop.wall.as_secs_f64()
    );
    println!(
        "| `meshctl --help`: median wall, peak RSS | {:.1} ms, {} |",
        help_wall.as_secs_f64() * 1000.0,
        rss(help_rss)
    );
    println!(
        "| offline plan `up --dry-run`: median wall, peak RSS | {:.1} ms, {} |",
        plan_wall.as_secs_f64() * 1000.0,
        rss(plan_rss)
    );
    println!(
        "| owned resources left after each cleanup | {}, {} |",
        left_a.len(),
        left_b.len()
    );
    for l in left_a.iter().chain(&left_b) {
        println!("  left: {l}");
    }

    let doc = json!({
        "seconds_per_published_minute": spm,
        "binary": bin,
        "profile": profile,
        "latency_table": PUBLISHED.iter().map(|p| json!({
            "key": p.key, "what": p.what, "minutes": p.minutes,
            "scaled_s": secs(lat.scale(p.minutes)), "how": p.how,
        })).collect::<Vec<_>>(),
        "up": {"makespan_s": secs(up.wall), "steps": up_timeline},
        "sequential": {
            "total_s": secs(seq_sum),
            "commands": seq.iter().map(|(s, d)| json!({"command": s, "wall_s": secs(*d)})).collect::<Vec<_>>(),
        },
        "ratio": (ratio * 100.0).round() / 100.0,
        "target_s": secs(target),
        "cleanup": {
            "makespan_s": secs(cleanup.wall),
            "steps": cleanup_timeline,
            "sequential_total_s": secs(seq_cleanup_sum),
            "sequential": seq_cleanup.iter().map(|(s, d)| json!({"only": s, "wall_s": secs(*d)})).collect::<Vec<_>>(),
            "ratio": (cleanup_ratio * 100.0).round() / 100.0,
            "left_after": [left_a, left_b],
        },
        "noop_up": {
            "wall_s": secs(noop.wall), "calls": noop_total, "mutating": noop_mutating,
            "changes": noop_changes, "per_emulator": noop_calls,
        },
        "startup": {
            "help": {"median_ms": secs(help_wall * 1000), "peak_rss_kib": help_rss, "runs": STARTUP_RUNS},
            "offline_plan": {"median_ms": secs(plan_wall * 1000), "peak_rss_kib": plan_rss, "runs": STARTUP_RUNS},
        },
    });
    let dir = std::path::PathBuf::from(
        std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into()),
    )
    .join("meshctl-bench");
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join("makespan.json");
    match std::fs::write(
        &path,
        serde_json::to_string_pretty(&doc).unwrap_or_default(),
    ) {
        Ok(()) => println!("\nwritten: {}", path.display()),
        Err(e) => eprintln!("makespan: could not write {}: {e}", path.display()),
    }
}
