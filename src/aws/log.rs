//! One interceptor on every SDK client meshctl builds: it logs each AWS call and names the
//! endpoint in timeout and connection errors.
//!
//! Logging goes to the `tracing` target `meshctl::aws`:
//! - `debug` (shown at `-v`): one line per call with service, operation, target (endpoint
//!   host:port and the resource, when the request names one), duration and outcome;
//! - `trace` (shown at `-vv`): one line per attempt with the attempt number, HTTP status and
//!   the request id.
//!
//! Never logged: headers (so no `Authorization`, signatures or session tokens), bodies,
//! credentials or query strings.

use std::time::{Duration, Instant};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
    FinalizerInterceptorContextMut, FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::orchestrator::{Metadata, OrchestratorError};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::retries::RequestAttempts;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};

use super::errors::{EndpointFailure, error_chain};

/// The `tracing` target of every AWS call line.
pub const TARGET: &str = "meshctl::aws";

/// The call interceptor; `timeout` is the per-attempt timeout, quoted in "did not answer".
#[derive(Debug, Clone)]
pub struct CallLog {
    pub attempt_timeout: Duration,
}

#[derive(Debug, Clone)]
struct CallStart(Instant);
impl Storable for CallStart {
    type Storer = StoreReplace<Self>;
}

/// Where the last attempt went: `host:port` and the path (resource) without the query.
#[derive(Debug, Clone)]
struct CallTarget {
    endpoint: String,
    resource: String,
}
impl Storable for CallTarget {
    type Storer = StoreReplace<Self>;
}

fn names(cfg: &ConfigBag) -> (String, String) {
    match cfg.load::<Metadata>() {
        Some(m) => (m.service().to_string(), m.name().to_string()),
        None => ("aws".into(), "call".into()),
    }
}

/// `host:port` and path of a request URI; `None` when it does not parse.
pub fn target_of(uri: &str) -> Option<(String, String)> {
    let url = url::Url::parse(uri).ok()?;
    let host = url.host_str()?;
    let port = url.port_or_known_default()?;
    Some((format!("{host}:{port}"), url.path().to_string()))
}

fn request_id(headers: &aws_smithy_runtime_api::http::Headers) -> Option<&str> {
    ["x-amzn-requestid", "x-amz-request-id", "x-amzn-request-id"]
        .iter()
        .find_map(|h| headers.get(*h))
}

impl Intercept for CallLog {
    fn name(&self) -> &'static str {
        "meshctl::aws::CallLog"
    }

    fn read_before_execution(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        cfg.interceptor_state().store_put(CallStart(Instant::now()));
        Ok(())
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some((endpoint, resource)) = target_of(context.request().uri()) {
            cfg.interceptor_state()
                .store_put(CallTarget { endpoint, resource });
        }
        Ok(())
    }

    fn read_after_attempt(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let (service, operation) = names(cfg);
        let attempt = cfg
            .load::<RequestAttempts>()
            .map(|a| a.attempts())
            .unwrap_or(1);
        let endpoint = cfg
            .load::<CallTarget>()
            .map(|t| t.endpoint.clone())
            .unwrap_or_default();
        match context.response() {
            Some(response) => tracing::trace!(
                target: TARGET,
                service,
                operation,
                attempt,
                endpoint,
                status = response.status().as_u16(),
                request_id = request_id(response.headers()).unwrap_or("-"),
                "AWS call attempt answered"
            ),
            None => tracing::trace!(
                target: TARGET,
                service,
                operation,
                attempt,
                endpoint,
                "AWS call attempt got no answer"
            ),
        }
        Ok(())
    }

    fn modify_before_completion(
        &self,
        context: &mut FinalizerInterceptorContextMut<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(endpoint) = cfg.load::<CallTarget>().map(|t| t.endpoint.clone()) else {
            return Ok(());
        };
        let Some(Err(err)) = context.output_or_error_mut() else {
            return Ok(());
        };
        let attempts = cfg
            .load::<RequestAttempts>()
            .map(|a| a.attempts())
            .unwrap_or(1);
        let failure = |timeout: Option<Duration>, err: &dyn std::error::Error| {
            Box::new(EndpointFailure {
                endpoint: endpoint.clone(),
                timeout,
                attempts,
                detail: match err.source() {
                    Some(source) => error_chain(source),
                    None => err.to_string(),
                },
            })
        };
        if err.is_timeout_error() {
            *err = OrchestratorError::timeout(failure(Some(self.attempt_timeout), &*err));
        } else if let Some(connector) = err.as_connector_error() {
            let wrapped = failure(None, connector);
            *err = OrchestratorError::connector(if connector.is_timeout() {
                ConnectorError::timeout(wrapped)
            } else if connector.is_io() {
                ConnectorError::io(wrapped)
            } else {
                ConnectorError::other(wrapped, None)
            });
        }
        Ok(())
    }

    fn read_after_execution(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let (service, operation) = names(cfg);
        let ms = cfg
            .load::<CallStart>()
            .map(|s| s.0.elapsed().as_millis())
            .unwrap_or_default();
        let (endpoint, resource) = cfg
            .load::<CallTarget>()
            .map(|t| (t.endpoint.clone(), t.resource.clone()))
            .unwrap_or_default();
        let attempts = cfg
            .load::<RequestAttempts>()
            .map(|a| a.attempts())
            .unwrap_or(1);
        let outcome = match context.output_or_error() {
            Some(Ok(_)) => "ok".to_string(),
            Some(Err(e)) if e.is_operation_error() => context
                .response()
                .map(|r| format!("error (HTTP {})", r.status().as_u16()))
                .unwrap_or_else(|| "error".into()),
            Some(Err(e)) => format!("failed ({e})"),
            None => "unknown".into(),
        };
        tracing::debug!(
            target: TARGET,
            attempts,
            "AWS {service} {operation} {endpoint}{resource}: {outcome} in {ms} ms"
        );
        Ok(())
    }
}
