//! One mutating run per stack at a time. The lock is a `lock.json` created only if absent
//! (exclusive create on disk, `If-None-Match: *` on S3) and naming its holder.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use super::state::StateStore;
use crate::error::Error;

pub const LOCK_KEY: &str = "lock.json";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LockInfo {
    pub user: String,
    pub host: String,
    pub pid: u32,
    pub command: String,
    pub acquired_at: DateTime<Utc>,
}

impl LockInfo {
    pub fn current(command: &str) -> LockInfo {
        LockInfo {
            user: std::env::var("USER")
                .or_else(|_| std::env::var("USERNAME"))
                .unwrap_or_else(|_| "unknown".into()),
            host: hostname(),
            pid: std::process::id(),
            command: command.to_string(),
            acquired_at: Utc::now(),
        }
    }

    pub fn describe(&self) -> String {
        format!(
            "`meshctl {}` run by {}@{} (pid {}) since {}",
            self.command,
            self.user,
            self.host,
            self.pid,
            self.acquired_at.format("%Y-%m-%d %H:%M:%S UTC")
        )
    }

    /// `Some(false)` when the holder is on this host and its process is gone.
    fn holder_alive(&self) -> Option<bool> {
        if self.host != hostname() {
            return None;
        }
        if cfg!(target_os = "linux") {
            Some(std::path::Path::new(&format!("/proc/{}", self.pid)).exists())
        } else {
            None
        }
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown-host".into())
}

/// How long to wait for a held lock (`--lock-timeout`), how often to try again, and what
/// stops the wait early (Ctrl-C).
pub struct Patience {
    pub wait: Duration,
    pub poll: Duration,
    pub cancel: CancellationToken,
}

/// A held lock. Release it with [`StackLock::release`].
pub struct StackLock {
    store: Arc<dyn StateStore>,
    released: bool,
}

impl StackLock {
    pub async fn acquire(
        store: Arc<dyn StateStore>,
        stack: &str,
        command: &str,
        force_unlock: bool,
    ) -> Result<StackLock, Error> {
        let info = LockInfo::current(command);
        let body = serde_json::to_vec_pretty(&info).expect("lock serialises");
        if force_unlock {
            store.delete(LOCK_KEY).await?;
        }
        if store.put_if_absent(LOCK_KEY, &body).await? {
            return Ok(StackLock {
                store,
                released: false,
            });
        }
        let holder = match store.get(LOCK_KEY).await? {
            Some(bytes) => match serde_json::from_slice::<LockInfo>(&bytes) {
                Ok(h) => {
                    let mut d = h.describe();
                    if h.holder_alive() == Some(false) {
                        d.push_str(", whose process is no longer running (stale lock)");
                    }
                    d
                }
                Err(_) => format!("an unreadable lock at {}/{LOCK_KEY}", store.location()),
            },
            // Released between our two calls: report rather than race again.
            None => "a run that has just finished; try again".to_string(),
        };
        Err(Error::Locked {
            stack: stack.to_string(),
            holder,
        })
    }

    /// [`StackLock::acquire`], retried while another run holds the lock, for at most `wait`
    /// (`--lock-timeout`; zero fails at once). `on_wait` hears who holds it each time meshctl
    /// keeps waiting. Ctrl-C stops the wait with [`Error::Interrupted`].
    pub async fn acquire_waiting(
        store: Arc<dyn StateStore>,
        stack: &str,
        command: &str,
        force_unlock: bool,
        patience: &Patience,
        on_wait: impl Fn(&str),
    ) -> Result<StackLock, Error> {
        let Patience { wait, poll, cancel } = patience;
        let (wait, poll) = (*wait, *poll);
        let started = Instant::now();
        let mut force = force_unlock;
        loop {
            match StackLock::acquire(store.clone(), stack, command, force).await {
                Err(Error::Locked { holder, .. }) if started.elapsed() < wait => {
                    on_wait(&format!(
                        "the lock of stack `{stack}`, held by {holder} (--lock-timeout {})",
                        humantime::format_duration(wait)
                    ));
                }
                other => return other,
            }
            force = false;
            tokio::select! {
                _ = cancel.cancelled() => return Err(Error::Interrupted),
                _ = tokio::time::sleep(poll.min(wait.saturating_sub(started.elapsed()))) => {}
            }
        }
    }

    pub async fn release(mut self) -> Result<(), Error> {
        self.released = true;
        self.store.delete(LOCK_KEY).await
    }
}

impl Drop for StackLock {
    fn drop(&mut self) {
        if !self.released {
            tracing::warn!(
                "lock at {}/{LOCK_KEY} was not released; the next run may need --force-unlock",
                self.store.location()
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::state::MemoryStore;

    #[tokio::test]
    async fn second_acquire_names_the_holder() {
        let store: Arc<dyn StateStore> = Arc::new(MemoryStore::default());
        let lock = StackLock::acquire(store.clone(), "demo", "up", false)
            .await
            .unwrap();
        let err = StackLock::acquire(store.clone(), "demo", "amp", false)
            .await
            .err()
            .expect("second acquire fails");
        let msg = err.to_string();
        assert!(msg.contains("locked by `meshctl up`"), "{msg}");
        assert!(
            msg.contains(&format!("pid {}", std::process::id())),
            "{msg}"
        );
        lock.release().await.unwrap();
        StackLock::acquire(store.clone(), "demo", "amp", false)
            .await
            .unwrap()
            .release()
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn lock_timeout_waits_for_the_holder_to_release() {
        let store: Arc<dyn StateStore> = Arc::new(MemoryStore::default());
        let held = StackLock::acquire(store.clone(), "demo", "up", false)
            .await
            .unwrap();
        let releaser = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(150)).await;
            held.release().await.unwrap();
        });
        let heard = std::sync::Mutex::new(Vec::<String>::new());
        let lock = StackLock::acquire_waiting(
            store.clone(),
            "demo",
            "amp",
            false,
            &Patience {
                wait: Duration::from_secs(60),
                poll: Duration::from_millis(20),
                cancel: CancellationToken::new(),
            },
            |line| heard.lock().unwrap().push(line.to_string()),
        )
        .await
        .expect("the lock is taken once the holder releases it");
        releaser.await.unwrap();
        let heard = heard.into_inner().unwrap();
        assert!(!heard.is_empty(), "it said what it waited for");
        assert!(heard[0].contains("held by `meshctl up`"), "{heard:?}");
        lock.release().await.unwrap();
    }

    #[tokio::test]
    async fn lock_timeout_gives_up_naming_the_holder_and_zero_fails_at_once() {
        let store: Arc<dyn StateStore> = Arc::new(MemoryStore::default());
        let held = StackLock::acquire(store.clone(), "demo", "up", false)
            .await
            .unwrap();
        for wait in [Duration::ZERO, Duration::from_millis(100)] {
            let err = StackLock::acquire_waiting(
                store.clone(),
                "demo",
                "amp",
                false,
                &Patience {
                    wait,
                    poll: Duration::from_millis(20),
                    cancel: CancellationToken::new(),
                },
                |_| {},
            )
            .await
            .err()
            .expect("still held");
            assert!(matches!(err, Error::Locked { .. }), "{err}");
        }
        let cancel = CancellationToken::new();
        cancel.cancel();
        let err = StackLock::acquire_waiting(
            store.clone(),
            "demo",
            "amp",
            false,
            &Patience {
                wait: Duration::from_secs(60),
                poll: Duration::from_millis(20),
                cancel,
            },
            |_| {},
        )
        .await
        .err()
        .expect("interrupted");
        assert!(matches!(err, Error::Interrupted), "{err}");
        held.release().await.unwrap();
    }

    #[tokio::test]
    async fn force_unlock_takes_over() {
        let store: Arc<dyn StateStore> = Arc::new(MemoryStore::default());
        let stale = StackLock::acquire(store.clone(), "demo", "up", false)
            .await
            .unwrap();
        std::mem::forget(stale);
        StackLock::acquire(store.clone(), "demo", "up", true)
            .await
            .unwrap()
            .release()
            .await
            .unwrap();
    }
}
