//! `meshctl traffic`: send a bounded load of GET requests to a URL (by default the Bookinfo
//! product page behind the ingress gateway) and summarise throughput, latency percentiles and
//! errors by status. Replaces the `watch curl` loop of the blog posts. See docs/sample.md.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::error::Error;

/// How much load to send. At least one of `requests` and `duration` bounds it.
#[derive(Debug, Clone)]
pub struct Load {
    pub url: String,
    /// Stop after this many requests.
    pub requests: Option<u64>,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Stop starting requests after this long.
    pub duration: Option<Duration>,
}

/// Latency percentiles in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Latency {
    pub min: f64,
    pub mean: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
}

/// What one run of `meshctl traffic` measured.
#[derive(Debug, Clone, Serialize)]
pub struct TrafficReport {
    /// Always `"traffic"`, so JSON consumers can tell documents apart.
    pub kind: &'static str,
    pub url: String,
    pub concurrency: usize,
    /// Requests that got an answer or failed (sent, whatever the outcome).
    pub requests: u64,
    /// Answers with a status below 400.
    pub succeeded: u64,
    /// Answers of 400 or more plus requests that got no answer.
    pub errors: u64,
    /// Error counts by HTTP status (`"500"`) or by failure (`"timeout"`, `"connect"`, `"transport"`).
    pub errors_by_status: BTreeMap<String, u64>,
    /// Wall-clock time of the run, in seconds.
    pub elapsed_seconds: f64,
    /// Requests per second over the run.
    pub throughput_rps: f64,
    /// Latency of every request that got an answer (errors with a status included).
    pub latency_ms: Option<Latency>,
    /// `true` when Ctrl-C stopped the run before its bound.
    pub interrupted: bool,
}

impl fmt::Display for TrafficReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "traffic to {}", self.url)?;
        writeln!(
            f,
            "  requests    {} in {:.2}s with concurrency {} ({:.1} req/s){}",
            self.requests,
            self.elapsed_seconds,
            self.concurrency,
            self.throughput_rps,
            if self.interrupted {
                ", interrupted"
            } else {
                ""
            }
        )?;
        writeln!(f, "  succeeded   {}", self.succeeded)?;
        write!(f, "  errors      {}", self.errors)?;
        if !self.errors_by_status.is_empty() {
            let parts: Vec<String> = self
                .errors_by_status
                .iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect();
            write!(f, " ({})", parts.join(", "))?;
        }
        writeln!(f)?;
        match &self.latency_ms {
            Some(l) => writeln!(
                f,
                "  latency ms  p50 {:.1}  p90 {:.1}  p99 {:.1}  (min {:.1}, mean {:.1}, max {:.1})",
                l.p50, l.p90, l.p99, l.min, l.mean, l.max
            ),
            None => writeln!(f, "  latency ms  (no answers)"),
        }
    }
}

/// The `p`-th percentile (0 < p <= 100) of `sorted` (ascending) by the nearest-rank method:
/// the smallest value such that at least `p` percent of the values are at or below it.
pub fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() || !(p > 0.0 && p <= 100.0) {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len()) - 1).copied()
}

/// Summary of `samples` (milliseconds, any order); `None` when empty.
pub fn summarize(samples: &[f64]) -> Option<Latency> {
    let mut sorted: Vec<f64> = samples.iter().copied().filter(|v| v.is_finite()).collect();
    if sorted.is_empty() {
        return None;
    }
    sorted.sort_by(f64::total_cmp);
    let mean = sorted.iter().sum::<f64>() / sorted.len() as f64;
    Some(Latency {
        min: sorted[0],
        mean,
        p50: percentile(&sorted, 50.0)?,
        p90: percentile(&sorted, 90.0)?,
        p99: percentile(&sorted, 99.0)?,
        max: sorted[sorted.len() - 1],
    })
}

/// One request's outcome.
enum Outcome {
    Status(u16, f64),
    Failed(&'static str),
}

/// Check the load's bounds and URL before sending anything (exit 2 on a bad value).
pub fn validate(load: &Load) -> Result<(), Error> {
    let url = url::Url::parse(&load.url).map_err(|e| {
        Error::usage(
            format!("`{}` is not a URL: {e}", load.url),
            "pass --url http://<host>/<path>",
        )
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Error::usage(
            format!("`{}` is not an http or https URL", load.url),
            "pass --url http://<host>/<path>",
        ));
    }
    if load.concurrency == 0 {
        return Err(Error::usage(
            "--concurrency must be at least 1",
            "pass e.g. --concurrency 4",
        ));
    }
    if load.requests == Some(0) {
        return Err(Error::usage(
            "--requests must be at least 1",
            "pass e.g. --requests 100, or bound the run with --duration alone",
        ));
    }
    if load.duration.is_some_and(|d| d.is_zero()) {
        return Err(Error::usage(
            "--duration must be longer than zero",
            "pass e.g. --duration 30s",
        ));
    }
    if load.requests.is_none() && load.duration.is_none() {
        return Err(Error::usage(
            "the load has no bound",
            "pass --requests N, --duration D, or both",
        ));
    }
    Ok(())
}

/// Send the load with `client`, stopping at the bounds or when `cancel` fires (the report then
/// covers what was sent).
pub async fn run(
    client: reqwest::Client,
    load: &Load,
    cancel: &CancellationToken,
) -> Result<TrafficReport, Error> {
    validate(load)?;
    let started = Instant::now();
    let deadline = load.duration.map(|d| started + d);
    let next = Arc::new(AtomicU64::new(0));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..load.concurrency {
        let client = client.clone();
        let next = next.clone();
        let cancel = cancel.clone();
        let url = load.url.clone();
        let limit = load.requests;
        workers.spawn(async move {
            let mut outcomes = vec![];
            loop {
                if cancel.is_cancelled() || deadline.is_some_and(|d| Instant::now() >= d) {
                    break;
                }
                let n = next.fetch_add(1, Ordering::SeqCst);
                if limit.is_some_and(|l| n >= l) {
                    break;
                }
                let sent = Instant::now();
                // The client directly, not `crate::http::send`: a load test counts every answer
                // as it comes, so nothing is retried.
                let request = async {
                    match client.get(&url).send().await {
                        Ok(resp) => {
                            let status = resp.status().as_u16();
                            // Read the body: the latency covers the whole answer.
                            let _ = resp.bytes().await;
                            Outcome::Status(status, sent.elapsed().as_secs_f64() * 1000.0)
                        }
                        Err(e) if e.is_timeout() => Outcome::Failed("timeout"),
                        Err(e) if e.is_connect() => Outcome::Failed("connect"),
                        Err(_) => Outcome::Failed("transport"),
                    }
                };
                tokio::select! {
                    _ = cancel.cancelled() => break,
                    o = request => outcomes.push(o),
                }
            }
            outcomes
        });
    }
    let mut outcomes = vec![];
    while let Some(done) = workers.join_next().await {
        outcomes.extend(done.unwrap_or_default());
    }
    let elapsed = started.elapsed().as_secs_f64();
    Ok(report(load, outcomes, elapsed, cancel.is_cancelled()))
}

fn report(load: &Load, outcomes: Vec<Outcome>, elapsed: f64, interrupted: bool) -> TrafficReport {
    let mut errors_by_status = BTreeMap::new();
    let mut latencies = vec![];
    let mut succeeded = 0;
    for o in &outcomes {
        match o {
            Outcome::Status(s, ms) => {
                latencies.push(*ms);
                if *s < 400 {
                    succeeded += 1;
                } else {
                    *errors_by_status.entry(s.to_string()).or_insert(0) += 1;
                }
            }
            Outcome::Failed(why) => *errors_by_status.entry(why.to_string()).or_insert(0) += 1,
        }
    }
    let requests = outcomes.len() as u64;
    TrafficReport {
        kind: "traffic",
        url: load.url.clone(),
        concurrency: load.concurrency,
        requests,
        succeeded,
        errors: requests - succeeded,
        errors_by_status,
        elapsed_seconds: elapsed,
        throughput_rps: if elapsed > 0.0 {
            requests as f64 / elapsed
        } else {
            0.0
        },
        latency_ms: summarize(&latencies),
        interrupted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), Some(50.0));
        assert_eq!(percentile(&v, 90.0), Some(90.0));
        assert_eq!(percentile(&v, 99.0), Some(99.0));
        assert_eq!(percentile(&v, 100.0), Some(100.0));
        let few = [10.0, 20.0, 30.0];
        assert_eq!(percentile(&few, 50.0), Some(20.0));
        assert_eq!(percentile(&few, 99.0), Some(30.0));
        assert_eq!(percentile(&[7.0], 1.0), Some(7.0));
        assert_eq!(percentile(&[], 50.0), None);
        assert_eq!(percentile(&few, 0.0), None);
        assert_eq!(percentile(&few, 101.0), None);
    }

    #[test]
    fn summary_sorts_and_ignores_non_finite() {
        let l = summarize(&[30.0, 10.0, f64::NAN, 20.0, 40.0]).unwrap();
        assert_eq!((l.min, l.max, l.mean), (10.0, 40.0, 25.0));
        assert_eq!((l.p50, l.p90, l.p99), (20.0, 40.0, 40.0));
        assert!(summarize(&[]).is_none());
    }

    #[test]
    fn report_counts_errors_by_status_and_failure() {
        let load = Load {
            url: "http://127.0.0.1/".into(),
            requests: Some(4),
            concurrency: 1,
            duration: None,
        };
        let r = report(
            &load,
            vec![
                Outcome::Status(200, 1.0),
                Outcome::Status(500, 2.0),
                Outcome::Status(503, 3.0),
                Outcome::Failed("connect"),
            ],
            2.0,
            false,
        );
        assert_eq!((r.requests, r.succeeded, r.errors), (4, 1, 3));
        assert_eq!(r.errors_by_status["500"], 1);
        assert_eq!(r.errors_by_status["connect"], 1);
        assert_eq!(r.throughput_rps, 2.0);
        assert_eq!(r.latency_ms.unwrap().max, 3.0);
    }

    #[test]
    fn a_load_needs_a_bound_and_a_url() {
        let ok = Load {
            url: "http://example.test/productpage".into(),
            requests: Some(1),
            concurrency: 1,
            duration: None,
        };
        assert!(validate(&ok).is_ok());
        for bad in [
            Load {
                requests: None,
                ..ok.clone()
            },
            Load {
                concurrency: 0,
                ..ok.clone()
            },
            Load {
                requests: Some(0),
                ..ok.clone()
            },
            Load {
                url: "ftp://x/".into(),
                ..ok.clone()
            },
            Load {
                url: "not a url".into(),
                ..ok.clone()
            },
        ] {
            assert!(validate(&bad).is_err(), "{bad:?}");
        }
    }
}
