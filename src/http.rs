//! The one HTTP client builder for the Grafana and PagerDuty APIs: bounded timeouts, the
//! standard proxy variables (`HTTPS_PROXY`, `HTTP_PROXY`, `NO_PROXY`, read by reqwest) and an
//! optional extra CA bundle (`ca_bundle` in config, else `SSL_CERT_FILE`) on top of the
//! platform's trust store, for corporate networks that inspect TLS.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::Error;

/// Longest time to open a connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest time for one request, response body included.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// How many times one call is tried when it fails transiently (as the AWS SDK's standard mode).
pub const MAX_ATTEMPTS: u32 = 3;

/// Whether a failed attempt may be sent again. A request the server certainly did not process
/// (no connection; 429 Too Many Requests; 503 Service Unavailable) is retried whatever its
/// method. One it may have processed (a 500, 502 or 504, a timeout, a connection cut after
/// sending) is retried only when repeating it is harmless: GET, HEAD, PUT, DELETE.
pub fn retryable(method: &reqwest::Method, outcome: Result<u16, &reqwest::Error>) -> bool {
    use reqwest::Method;
    let idempotent = matches!(
        *method,
        Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS
    );
    match outcome {
        Ok(429 | 503) => true,
        Ok(500 | 502 | 504) => idempotent,
        Ok(_) => false,
        Err(e) if e.is_connect() => true,
        Err(e) => idempotent && (e.is_timeout() || e.is_request() || e.is_body()),
    }
}

/// The pause before attempt `next` (2, 3…): the server's `Retry-After` seconds when it sent
/// one (at most 20 s), else 200 ms doubling, with jitter.
fn backoff(next: u32, retry_after: Option<u64>) -> std::time::Duration {
    use std::time::Duration;
    if let Some(s) = retry_after {
        return Duration::from_secs(s.min(20));
    }
    let base = 200u64 << (next.saturating_sub(2)).min(5);
    Duration::from_millis(base + u64::from(rand::random::<u16>()) % base)
}

/// Send `req` for `service`, logging the call as the AWS calls are logged (docs/output.md):
/// at `-v` one line with the operation, the host, the status and the duration (target
/// `meshctl::http`), at `-vv` the request id the server sent. Never headers or bodies, which
/// carry tokens and keys. Transient failures are tried again (see [`retryable`]), at most
/// [`MAX_ATTEMPTS`] times in all; the last answer or error is returned.
pub async fn send(
    service: &'static str,
    operation: &str,
    req: reqwest::RequestBuilder,
) -> Result<reqwest::Response, Error> {
    let (client, request) = req.build_split();
    let request = request.map_err(|e| transport_error(service, operation, &e))?;
    let method = request.method().clone();
    let mut attempt = 1;
    loop {
        // The last attempt, or a body that cannot be copied (a stream), is sent as it is.
        let Some(copy) = request.try_clone().filter(|_| attempt < MAX_ATTEMPTS) else {
            return send_once(service, operation, &client, request)
                .await
                .map_err(|e| transport_error(service, operation, &e));
        };
        let result = send_once(service, operation, &client, copy).await;
        let outcome = match &result {
            Ok(resp) => Ok(resp.status().as_u16()),
            Err(e) => Err(e),
        };
        if !retryable(&method, outcome) {
            return result.map_err(|e| transport_error(service, operation, &e));
        }
        let retry_after = result.as_ref().ok().and_then(|r| {
            r.headers()
                .get(reqwest::header::RETRY_AFTER)?
                .to_str()
                .ok()?
                .trim()
                .parse()
                .ok()
        });
        attempt += 1;
        tracing::debug!(
            target: "meshctl::http",
            "{service} {operation}: transient failure, attempt {attempt} of {MAX_ATTEMPTS}"
        );
        tokio::time::sleep(backoff(attempt, retry_after)).await;
    }
}

/// One attempt, logged.
async fn send_once(
    service: &'static str,
    operation: &str,
    client: &reqwest::Client,
    request: reqwest::Request,
) -> Result<reqwest::Response, reqwest::Error> {
    let url = request.url();
    let host = match (url.host_str(), url.port_or_known_default()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_string(),
        _ => "(no host)".to_string(),
    };
    let started = std::time::Instant::now();
    let result = client.execute(request).await;
    let ms = started.elapsed().as_millis();
    match &result {
        Ok(resp) => {
            tracing::debug!(
                target: "meshctl::http",
                "{service} {operation} {host}: HTTP {} in {ms} ms",
                resp.status().as_u16()
            );
            let id = ["x-request-id", "x-amzn-requestid", "x-grafana-trace-id"]
                .iter()
                .find_map(|h| resp.headers().get(*h)?.to_str().ok());
            if let Some(id) = id {
                tracing::trace!(target: "meshctl::http", "{service} {operation}: request id {id}");
            }
        }
        Err(e) => tracing::debug!(
            target: "meshctl::http",
            "{service} {operation} {host}: failed after {ms} ms ({})",
            if e.is_timeout() { "timed out" } else if e.is_connect() { "cannot connect" } else { "transport error" }
        ),
    }
    result
}

/// The CA bundle to add: the config's, else `SSL_CERT_FILE` when set.
pub fn ca_bundle_path(configured: Option<&Path>) -> Option<PathBuf> {
    configured.map(Path::to_path_buf).or_else(|| {
        std::env::var_os("SSL_CERT_FILE")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    })
}

/// A client for `service` (named in errors).
pub fn client(service: &'static str, ca_bundle: Option<&Path>) -> Result<reqwest::Client, Error> {
    let mut builder = reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(REQUEST_TIMEOUT)
        .user_agent(concat!("meshctl/", env!("CARGO_PKG_VERSION")))
        .https_only(false);
    if let Some(path) = ca_bundle_path(ca_bundle) {
        let pem = std::fs::read(&path).map_err(|e| {
            Error::config(
                format!("cannot read the CA bundle {}: {e}", path.display()),
                "point `ca_bundle` (or SSL_CERT_FILE) at a readable PEM file of CA certificates",
            )
        })?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|_| {
            Error::config(
                format!("{} holds no PEM certificates", path.display()),
                "the CA bundle must contain `-----BEGIN CERTIFICATE-----` blocks; export your proxy's CA in PEM format",
            )
        })?;
        if certs.is_empty() {
            return Err(Error::config(
                format!("{} holds no PEM certificates", path.display()),
                "the CA bundle must contain `-----BEGIN CERTIFICATE-----` blocks; export your proxy's CA in PEM format",
            ));
        }
        for cert in certs {
            builder = builder.add_root_certificate(cert);
        }
    }
    builder.build().map_err(|e| Error::Http {
        service,
        operation: "client setup".into(),
        message: e.to_string(),
        help: "check the proxy variables (HTTPS_PROXY, NO_PROXY) and the CA bundle".into(),
    })
}

/// A transport error (no HTTP status) as a meshctl error with a hint.
pub fn transport_error(service: &'static str, operation: &str, err: &reqwest::Error) -> Error {
    let help = if err.is_timeout() {
        "the server did not answer in time: check the network path (proxy, VPN) and run again"
    } else if err.is_connect() {
        "could not connect: check the URL, and HTTPS_PROXY / NO_PROXY if you are behind a proxy"
    } else {
        "if a proxy inspects TLS, set `ca_bundle` (or SSL_CERT_FILE) to its CA; run again with -v for details"
    };
    let message = chain(err);
    Error::Http {
        service,
        operation: operation.to_string(),
        message,
        help: help.into(),
    }
}

fn chain(err: &reqwest::Error) -> String {
    let mut msg = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(s) = source {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        source = s.source();
    }
    msg
}

/// A secret (token, integration key): held in memory only, never printed. `Debug` and
/// `Display` show a placeholder; [`Secret::expose`] is the one way to read it.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

#[cfg(test)]
mod retry_tests {
    use super::*;
    use reqwest::Method;

    #[test]
    fn unprocessed_requests_are_retried_for_every_method_ambiguous_ones_only_when_idempotent() {
        for m in [Method::GET, Method::PUT, Method::DELETE, Method::POST] {
            assert!(retryable(&m, Ok(429)), "{m} 429");
            assert!(retryable(&m, Ok(503)), "{m} 503");
            assert!(!retryable(&m, Ok(400)), "{m} 400");
            assert!(!retryable(&m, Ok(404)), "{m} 404");
            assert!(!retryable(&m, Ok(409)), "{m} 409");
            assert!(!retryable(&m, Ok(200)), "{m} 200");
        }
        assert!(retryable(&Method::GET, Ok(500)));
        assert!(retryable(&Method::PUT, Ok(502)));
        assert!(retryable(&Method::DELETE, Ok(504)));
        assert!(
            !retryable(&Method::POST, Ok(500)),
            "a POST may have been processed"
        );
        assert!(!retryable(&Method::POST, Ok(504)));
    }

    #[test]
    fn backoff_grows_and_honours_retry_after() {
        for _ in 0..50 {
            let first = backoff(2, None);
            assert!(first >= std::time::Duration::from_millis(200));
            assert!(first < std::time::Duration::from_millis(400));
            let second = backoff(3, None);
            assert!(second >= std::time::Duration::from_millis(400));
        }
        assert_eq!(backoff(2, Some(3)), std::time::Duration::from_secs(3));
        assert_eq!(backoff(2, Some(600)), std::time::Duration::from_secs(20));
    }
}
