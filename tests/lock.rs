//! One mutating run per stack: a second run fails naming the holder, and a lock left by a
//! dead process is reported as stale and can be taken over with `--force-unlock`.

use crate::support;

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use support::fault_proxy::{Fault, FaultProxy, Rule};
use support::{Run, Stack, TEST_USER, amp_actions, block_on, live_tagged_workspaces, moto};

/// Same source of the host name as meshctl uses on Linux.
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .expect("/proc/sys/kernel/hostname (these tests run on Linux)")
}

/// Kills the child if the test panics before it finished.
struct Reaper(Option<Child>);

impl Reaper {
    fn child(&mut self) -> &mut Child {
        self.0.as_mut().expect("child still held")
    }

    /// Wait for the child (hang guard only) and collect what it printed.
    fn finish(mut self, guard: Duration) -> Run {
        support::finish(self.0.take().expect("child still held"), guard)
    }
}

impl Drop for Reaper {
    fn drop(&mut self) {
        if let Some(child) = self.0.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A proxy in front of moto whose gate is closed (a run blocks on its first call through it
/// until `release`), each call slowed down a little after that.
fn gated_proxy() -> FaultProxy {
    let proxy = FaultProxy::start(&moto());
    proxy.hold();
    proxy.add(Rule::Every {
        fault: Fault::Delay(Duration::from_millis(300)),
    });
    proxy
}

#[test]
fn a_second_run_fails_naming_the_holder_while_the_first_succeeds() {
    // Run A talks to AMP through a proxy whose gate is closed: A asks STS who it is (straight
    // to moto, via the SDK's per-service endpoint variable), takes the lock, and then blocks
    // on its first AMP call until the gate opens.
    let proxy = gated_proxy();
    let stack = Stack::new("lock_concurrent");

    let mut a = Reaper(Some(
        stack
            .std_command(&proxy.url)
            .env("AWS_ENDPOINT_URL_STS", moto())
            .args(["amp", "--yes", "--output", "json"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start run A"),
    ));
    let a_pid = a.child().id();

    // Wait until A holds the lock (hang guard only).
    let started = Instant::now();
    while !stack.lock_file().exists() {
        if let Some(status) = a.child().try_wait().expect("poll run A") {
            let run = a.finish(Duration::from_secs(1));
            panic!("run A ended ({status}) before taking the lock: {run:#?}");
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "hang guard: run A never took the lock"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let lock: serde_json::Value =
        serde_json::from_slice(&std::fs::read(stack.lock_file()).expect("read lock.json"))
            .expect("lock.json is complete JSON as soon as it exists");
    assert_eq!(lock["pid"], a_pid, "{lock:#}");
    assert_eq!(lock["command"], "amp", "{lock:#}");

    // Run B goes straight to moto while A holds the lock.
    let b = stack.run_json(&["amp", "--yes"]);
    b.expect_code(2);
    let err = b.json();
    let message = err["message"].as_str().unwrap_or_default();
    let expected = format!(
        "stack `{}` is locked by `meshctl amp` run by {TEST_USER}@{} (pid {a_pid})",
        stack.name,
        hostname()
    );
    assert!(
        message.contains(&expected),
        "expected `{expected}` in: {err:#}"
    );
    assert!(
        !message.contains("no longer running"),
        "A is alive: {err:#}"
    );
    assert!(
        err["help"]
            .as_str()
            .unwrap_or_default()
            .contains("wait for that run to finish"),
        "{err:#}"
    );
    assert!(
        block_on(live_tagged_workspaces(&stack.name)).is_empty(),
        "B created nothing, and A has not reached AWS yet"
    );

    proxy.release();
    let a = a.finish(support::RUN_GUARD);
    a.expect_code(0);
    let report = a.json();
    assert_eq!(report["status"], "succeeded", "{report:#}");
    assert!(
        amp_actions(&report)
            .iter()
            .any(|(op, kind, _)| op == "create" && kind == "amp-workspace"),
        "{report:#}"
    );
    assert!(!proxy.calls().is_empty(), "run A went through the proxy");
    assert_eq!(block_on(live_tagged_workspaces(&stack.name)).len(), 1);
    assert!(!stack.lock_file().exists(), "A released the lock");
}

/// The pid of a process that has exited and been reaped.
fn dead_pid() -> u32 {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_meshctl"))
        .arg("--version")
        .stdout(Stdio::null())
        .spawn()
        .expect("run meshctl --version");
    let pid = child.id();
    child.wait().expect("reap it");
    pid
}

#[test]
fn a_stale_lock_is_reported_and_force_unlock_takes_it_over() {
    let stack = Stack::new("lock_stale");
    let pid = dead_pid();
    let host = hostname();
    std::fs::create_dir_all(stack.state_dir()).expect("state dir");
    let stale = serde_json::json!({
        "user": "someone",
        "host": host,
        "pid": pid,
        "command": "up",
        "acquired_at": "2025-01-02T03:04:05Z",
    });
    std::fs::write(
        stack.lock_file(),
        serde_json::to_vec_pretty(&stale).unwrap(),
    )
    .unwrap();

    let run = stack.run_json(&["amp", "--yes"]);
    run.expect_code(2);
    let err = run.json();
    let message = err["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(&format!("`meshctl up` run by someone@{host} (pid {pid})")),
        "{err:#}"
    );
    assert!(
        message.contains("whose process is no longer running"),
        "the holder is known to be dead: {err:#}"
    );
    assert!(
        err["help"]
            .as_str()
            .unwrap_or_default()
            .contains("--force-unlock"),
        "{err:#}"
    );
    assert!(
        stack.lock_file().exists(),
        "without --force-unlock the lock stays"
    );
    assert!(
        block_on(live_tagged_workspaces(&stack.name)).is_empty(),
        "nothing was created"
    );

    let run = stack.run_json(&["amp", "--yes", "--force-unlock"]);
    run.expect_code(0);
    assert_eq!(run.json()["status"], "succeeded");
    assert_eq!(block_on(live_tagged_workspaces(&stack.name)).len(), 1);
    assert!(
        !stack.lock_file().exists(),
        "the taken-over lock is released at the end"
    );
}

#[test]
fn lock_timeout_waits_for_the_first_run_and_then_proceeds() {
    // A holds the lock while its AMP calls are held at a closed proxy gate; B starts with
    // --lock-timeout, waits instead of failing, and runs once A has released the lock.
    let proxy = gated_proxy();
    let stack = Stack::new("lock_timeout_waits");
    let spawn = |endpoint: &str, extra: &[&str]| {
        let mut cmd = stack.std_command(endpoint);
        cmd.env("AWS_ENDPOINT_URL_STS", moto())
            .env("MESHCTL_POLL_INTERVAL", "100ms")
            .args(["amp", "--yes", "--output", "json"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        Reaper(Some(cmd.spawn().expect("start a run")))
    };
    let mut a = spawn(&proxy.url, &[]);
    let started = Instant::now();
    while !stack.lock_file().exists() {
        assert!(
            a.child().try_wait().expect("poll run A").is_none(),
            "run A ended before taking the lock"
        );
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "hang guard: run A never took the lock"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut b = spawn(&moto(), &["--lock-timeout", "120s"]);
    // B is still waiting while A holds the lock (it would have exited 2 at once without the flag).
    std::thread::sleep(Duration::from_millis(800));
    assert!(
        b.child().try_wait().expect("poll run B").is_none(),
        "run B must wait for the lock, not give up"
    );

    proxy.release();
    a.finish(support::RUN_GUARD).expect_code(0);
    let b = b.finish(support::RUN_GUARD);
    b.expect_code(0);
    let report = b.json();
    assert_eq!(report["status"], "succeeded", "{report:#}");
    assert!(
        !amp_actions(&report).iter().any(|(op, _, _)| op == "create"),
        "B found what A created and created nothing: {report:#}"
    );
    assert!(
        b.stderr.contains("lock of stack"),
        "B said what it waited for: {}",
        b.stderr
    );
    assert_eq!(block_on(live_tagged_workspaces(&stack.name)).len(), 1);
    assert!(!stack.lock_file().exists(), "B released the lock");
}
