//! SIGTERM (what CI runners and Kubernetes send) is handled like Ctrl-C: the run stops starting
//! work, rolls back what it created, releases the lock, closes the ledger and exits 130.

use crate::support;

use std::process::Stdio;
use std::time::{Duration, Instant};

use support::fault_proxy::{Fault, FaultProxy, Rule};
use support::{Stack, block_on, live_tagged_workspaces, moto};

#[test]
fn sigterm_rolls_back_releases_the_lock_closes_the_ledger_and_exits_130() {
    // Every AWS call of the run is slow, so the signal arrives in the middle of it.
    let proxy = FaultProxy::start(&moto());
    proxy.add(Rule::Every {
        fault: Fault::Delay(Duration::from_millis(400)),
    });
    let stack = Stack::new("sigterm");
    let mut child = stack
        .std_command(&proxy.url)
        .args(["amp", "--yes"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start meshctl");

    // Wait until the run has created its workspace (hang guard only).
    let started = Instant::now();
    while block_on(live_tagged_workspaces(&stack.name)).is_empty() {
        if let Some(status) = child.try_wait().expect("poll meshctl") {
            panic!("meshctl ended ({status}) before creating the workspace");
        }
        if started.elapsed() > support::RUN_GUARD {
            let _ = child.kill();
            panic!("hang guard: no workspace appeared");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let pid = child.id().to_string();
    let kill = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("run kill");
    assert!(kill.success());

    let run = support::finish(child, support::RUN_GUARD);
    let (stdout, stderr) = (run.stdout, run.stderr);
    assert_eq!(
        run.code,
        Some(130),
        "exit code after SIGTERM\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(
        stderr.contains("interrupted (SIGTERM)"),
        "the interrupted notice:\n{stderr}"
    );
    assert!(
        block_on(live_tagged_workspaces(&stack.name)).is_empty(),
        "the workspace was rolled back\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(!stack.lock_file().exists(), "the lock was released");
    let ledger: serde_json::Value = serde_json::from_slice(
        &std::fs::read(stack.state_dir().join("ledger.json")).expect("the ledger exists"),
    )
    .expect("the ledger is JSON");
    assert_ne!(ledger["status"], "open", "the ledger is closed: {ledger:#}");
}
