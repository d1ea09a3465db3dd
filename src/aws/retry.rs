//! Bounded retries with exponential backoff for failures that pass by themselves: IAM's
//! eventual consistency (a role created a moment ago is not yet visible to the next call) and
//! `ConcurrentModification` when two writers touch one IAM entity. The SDK's own retries cover
//! throttling and transport errors; these cover service answers that mean "not yet".

use std::future::Future;
use std::time::Duration;

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// How often and how long to retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Attempts in all, the first included (at least 1).
    pub attempts: u32,
    /// The wait before the second attempt; each later wait doubles, up to `max`.
    pub first: Duration,
    pub max: Duration,
}

impl Backoff {
    /// For IAM: 8 attempts over about 40 seconds, enough for a new role to propagate.
    pub const IAM: Backoff = Backoff {
        attempts: 8,
        first: Duration::from_millis(500),
        max: Duration::from_secs(10),
    };

    /// The wait after failed attempt `n` (1-based).
    pub fn delay(&self, n: u32) -> Duration {
        let factor = 2u32.saturating_pow(n.saturating_sub(1));
        self.first.saturating_mul(factor).min(self.max)
    }

    /// Caps every wait at `cap` (`MESHCTL_POLL_INTERVAL` in tests and emulators).
    pub fn capped(self, cap: Option<Duration>) -> Backoff {
        match cap {
            Some(c) => Backoff {
                first: self.first.min(c),
                max: self.max.min(c),
                ..self
            },
            None => self,
        }
    }
}

/// One retry about to happen, for the progress line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retrying {
    /// The attempt that failed (1-based).
    pub attempt: u32,
    pub attempts: u32,
    pub wait: Duration,
    /// Why: the error code (e.g. `ConcurrentModification`).
    pub reason: String,
}

impl std::fmt::Display for Retrying {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}; retrying in {} (attempt {} of {})",
            self.reason,
            humantime::format_duration(self.wait),
            self.attempt + 1,
            self.attempts
        )
    }
}

/// Run `op` until it succeeds, fails with an error `retryable` does not accept (its reason
/// as `Some`), or `backoff.attempts` are used up; the last error is returned. `on_retry`
/// hears of each retry before its wait.
pub async fn retry<T, E, F, Fut>(
    backoff: Backoff,
    retryable: impl Fn(&E) -> Option<String>,
    mut on_retry: impl FnMut(&Retrying),
    mut op: F,
) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let attempts = backoff.attempts.max(1);
    let mut attempt = 1;
    loop {
        match op().await {
            Ok(v) => return Ok(v),
            Err(e) if attempt < attempts => {
                let Some(reason) = retryable(&e) else {
                    return Err(e);
                };
                let wait = backoff.delay(attempt);
                on_retry(&Retrying {
                    attempt,
                    attempts,
                    wait,
                    reason,
                });
                tokio::time::sleep(wait).await;
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

/// The service error code of an SDK error, if the service answered one.
pub fn error_code<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> Option<&str> {
    err.as_service_error().and_then(|e| e.code())
}

/// IAM errors worth retrying: concurrent writers, and (when `fresh`, right after meshctl
/// created the role) the role not yet visible.
pub fn iam_transient<E: ProvideErrorMetadata, R>(
    err: &SdkError<E, R>,
    fresh: bool,
) -> Option<String> {
    match error_code(err)? {
        "ConcurrentModification" | "ConcurrentModificationException" => {
            Some("IAM reports a concurrent modification".into())
        }
        "NoSuchEntity" | "NoSuchEntityException" if fresh => {
            Some("the new IAM role is not visible yet (IAM is eventually consistent)".into())
        }
        "MalformedPolicyDocument" | "MalformedPolicyDocumentException" if fresh => {
            Some("IAM does not accept the policy yet (a new principal is still propagating)".into())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    const QUICK: Backoff = Backoff {
        attempts: 4,
        first: Duration::from_millis(1),
        max: Duration::from_millis(2),
    };

    #[test]
    fn delays_double_up_to_the_cap() {
        let b = Backoff {
            attempts: 6,
            first: Duration::from_millis(500),
            max: Duration::from_secs(2),
        };
        let d: Vec<_> = (1..=5).map(|n| b.delay(n).as_millis()).collect();
        assert_eq!(d, [500, 1000, 2000, 2000, 2000]);
        let c = b.capped(Some(Duration::from_millis(100)));
        assert_eq!(c.delay(3), Duration::from_millis(100));
    }

    #[tokio::test]
    async fn retries_a_transient_error_until_it_passes() {
        let calls = Cell::new(0);
        let mut heard = vec![];
        let out: Result<u32, &str> = retry(
            QUICK,
            |e: &&str| (*e == "busy").then(|| "busy".to_string()),
            |r| heard.push(r.to_string()),
            || {
                calls.set(calls.get() + 1);
                let n = calls.get();
                async move { if n < 3 { Err("busy") } else { Ok(n) } }
            },
        )
        .await;
        assert_eq!(out, Ok(3));
        assert_eq!(heard.len(), 2);
        assert!(heard[0].contains("attempt 2 of 4"), "{heard:?}");
    }

    #[tokio::test]
    async fn stops_at_once_on_other_errors_and_after_the_last_attempt() {
        let calls = Cell::new(0);
        let out: Result<(), &str> = retry(
            QUICK,
            |e: &&str| (*e == "busy").then(|| "busy".to_string()),
            |_| {},
            || {
                calls.set(calls.get() + 1);
                async { Err("denied") }
            },
        )
        .await;
        assert_eq!(out, Err("denied"));
        assert_eq!(calls.get(), 1);

        calls.set(0);
        let out: Result<(), &str> = retry(
            QUICK,
            |_: &&str| Some("busy".to_string()),
            |_| {},
            || {
                calls.set(calls.get() + 1);
                async { Err("busy") }
            },
        )
        .await;
        assert_eq!(out, Err("busy"));
        assert_eq!(calls.get(), 4, "bounded by `attempts`");
    }
}
