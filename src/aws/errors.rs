//! What went wrong with an AWS call, in words a user can act on: the endpoint could not be
//! reached, did not answer, rejected the credentials, and so on. Never a `Debug` dump.

use std::fmt;
use std::time::Duration;

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use serde::Serialize;

use crate::error::Error;

/// The kind of an AWS call failure; each has its own help line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AwsErrorKind {
    /// No connection could be made (refused, DNS, TLS, connect timeout).
    Unreachable,
    /// A connection was made but no answer came within the call timeout.
    NoAnswer,
    /// AWS does not recognise the credentials (unknown key, bad signature).
    CredentialsRejected,
    /// The credentials were valid once and have expired.
    CredentialsExpired,
    /// The credentials could not be loaded or refreshed (an SSO session ended, a
    /// `credential_process` failed): the call never left meshctl.
    CredentialsUnavailable,
    /// The credentials are valid but lack a permission.
    AccessDenied,
    /// AWS is rate-limiting requests.
    Throttled,
    /// The resource does not exist.
    NotFound,
    /// A service quota is reached.
    QuotaExceeded,
    /// The endpoint answered something that is not a valid AWS response.
    BadResponse,
    /// Anything else the service reported.
    Other,
}

impl AwsErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AwsErrorKind::Unreachable => "unreachable",
            AwsErrorKind::NoAnswer => "no-answer",
            AwsErrorKind::CredentialsRejected => "credentials-rejected",
            AwsErrorKind::CredentialsExpired => "credentials-expired",
            AwsErrorKind::CredentialsUnavailable => "credentials-unavailable",
            AwsErrorKind::AccessDenied => "access-denied",
            AwsErrorKind::Throttled => "throttled",
            AwsErrorKind::NotFound => "not-found",
            AwsErrorKind::QuotaExceeded => "quota-exceeded",
            AwsErrorKind::BadResponse => "bad-response",
            AwsErrorKind::Other => "other",
        }
    }

    /// Classify a service error code (`AccessDeniedException`, `ExpiredToken`, …).
    pub fn from_code(code: &str) -> AwsErrorKind {
        match code {
            "InvalidClientTokenId"
            | "UnrecognizedClientException"
            | "UnrecognizedClient"
            | "SignatureDoesNotMatch"
            | "InvalidAccessKeyId"
            | "InvalidSignatureException"
            | "IncompleteSignature"
            | "AuthFailure" => AwsErrorKind::CredentialsRejected,
            c if c.starts_with("ExpiredToken") || c == "RequestExpired" => {
                AwsErrorKind::CredentialsExpired
            }
            c if c.starts_with("AccessDenied") || c == "UnauthorizedOperation" => {
                AwsErrorKind::AccessDenied
            }
            c if c.starts_with("Throttling")
                || c.starts_with("TooManyRequests")
                || c == "RequestLimitExceeded"
                || c == "SlowDown" =>
            {
                AwsErrorKind::Throttled
            }
            "ResourceNotFoundException"
            | "ResourceNotFound"
            | "NoSuchBucket"
            | "NoSuchKey"
            | "NotFound"
            | "NotFoundException" => AwsErrorKind::NotFound,
            "ServiceQuotaExceededException" | "LimitExceededException" => {
                AwsErrorKind::QuotaExceeded
            }
            _ => AwsErrorKind::Other,
        }
    }

    /// What the user should do about it.
    pub fn help(self) -> &'static str {
        match self {
            AwsErrorKind::Unreachable => {
                "check the network, any proxy, and AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_<SERVICE> if set: nothing accepted the connection"
            }
            AwsErrorKind::NoAnswer => {
                "the endpoint accepted the connection but sent no answer: check AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_<SERVICE>, proxies and the network, or raise --call-timeout"
            }
            AwsErrorKind::CredentialsRejected => {
                "AWS does not recognise these credentials: check AWS_PROFILE / --profile and AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (`aws sts get-caller-identity` tests them)"
            }
            AwsErrorKind::CredentialsExpired => {
                "the credentials expired: refresh them (e.g. `aws sso login`, or new session credentials) and run again"
            }
            AwsErrorKind::CredentialsUnavailable => {
                "the credentials could not be loaded or refreshed: log in again (e.g. `aws sso login`) or check the profile's `credential_process`, then run again"
            }
            AwsErrorKind::AccessDenied => {
                "the credentials in use lack this permission: check the IAM policy of the caller (`aws sts get-caller-identity` shows who that is)"
            }
            AwsErrorKind::Throttled => {
                "AWS is throttling requests: wait a minute and run the same command again; it resumes"
            }
            AwsErrorKind::NotFound => {
                "the resource does not exist (any more): check the names and the region in meshctl.yaml"
            }
            AwsErrorKind::QuotaExceeded => {
                "a service quota is reached: delete unused resources or request a quota increase"
            }
            AwsErrorKind::BadResponse => {
                "the endpoint's answer is not an AWS response: check AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_<SERVICE> and any proxy"
            }
            AwsErrorKind::Other => {
                "run again with -v for details; steps are idempotent, so a re-run resumes"
            }
        }
    }
}

impl fmt::Display for AwsErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Put into a timeout or connection error by the call interceptor (see `log.rs`), so the
/// message can name the endpoint that did not answer.
#[derive(Debug)]
pub struct EndpointFailure {
    /// `host:port` of the endpoint.
    pub endpoint: String,
    /// The attempt timeout, when that is what ran out.
    pub timeout: Option<Duration>,
    /// How many attempts were made.
    pub attempts: u32,
    /// The original error, as text.
    pub detail: String,
}

impl fmt::Display for EndpointFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.endpoint, self.detail)
    }
}

impl std::error::Error for EndpointFailure {}

/// The `Display` of an error and of each of its sources, joined by ": ", skipping a source
/// whose text its parent already contains. Never `Debug`.
pub fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut next = err.source();
    while let Some(e) = next {
        let text = e.to_string();
        if !text.is_empty() && !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        next = e.source();
    }
    out
}

/// Whether the error chain holds a credentials-provider error (the call was never sent).
fn credentials_failed(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(err);
    while let Some(e) = next {
        if e.downcast_ref::<aws_credential_types::provider::error::CredentialsError>()
            .is_some()
        {
            return true;
        }
        next = e.source();
    }
    false
}

fn find_endpoint_failure<'a>(
    err: &'a (dyn std::error::Error + 'static),
) -> Option<&'a EndpointFailure> {
    let mut next = Some(err);
    while let Some(e) = next {
        if let Some(found) = e.downcast_ref::<EndpointFailure>() {
            return Some(found);
        }
        next = e.source();
    }
    None
}

/// A classified SDK error: its kind and a one-line message without `Debug` output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classified {
    pub kind: AwsErrorKind,
    pub code: Option<String>,
    pub message: String,
}

/// Classify any SDK error (every service's `SdkError` is the same type).
pub fn classify<E, R>(err: &SdkError<E, R>) -> Classified
where
    E: std::error::Error + ProvideErrorMetadata + 'static,
    R: fmt::Debug,
{
    let endpoint = std::error::Error::source(err)
        .and_then(find_endpoint_failure)
        .map(|f| (f.endpoint.clone(), f.timeout, f.detail.clone(), f.attempts));
    let at = |what: &str| match &endpoint {
        Some((ep, _, _, _)) => format!("{what} {ep}"),
        None => format!("{what} the AWS endpoint"),
    };
    let endpoint_name = endpoint
        .as_ref()
        .map(|(ep, _, _, _)| format!("the endpoint {ep}"))
        .unwrap_or_else(|| "the AWS endpoint".into());
    let detail = || match &endpoint {
        Some((_, _, d, _)) => d.clone(),
        None => std::error::Error::source(err)
            .map(error_chain)
            .unwrap_or_else(|| err.to_string()),
    };
    match err {
        SdkError::TimeoutError(_) => {
            let within = endpoint
                .as_ref()
                .and_then(|(_, t, _, n)| t.map(|t| (t, *n)))
                .map(|(t, n)| match n {
                    1 => format!(" within {}", humantime::format_duration(t)),
                    n => format!(
                        " within {} in any of {n} attempts",
                        humantime::format_duration(t)
                    ),
                })
                .unwrap_or_default();
            Classified {
                kind: AwsErrorKind::NoAnswer,
                code: None,
                message: format!("{endpoint_name} did not answer{within}"),
            }
        }
        SdkError::DispatchFailure(d) if d.is_timeout() => {
            // A connect timeout is "could not connect"; a read timeout is "no answer".
            let text = detail();
            if text.contains("connect") {
                Classified {
                    kind: AwsErrorKind::Unreachable,
                    code: None,
                    message: format!("{}: {text}", at("cannot connect to")),
                }
            } else {
                Classified {
                    kind: AwsErrorKind::NoAnswer,
                    code: None,
                    message: format!("{endpoint_name} did not answer: {text}"),
                }
            }
        }
        SdkError::DispatchFailure(d)
            if endpoint.is_none()
                && d.as_connector_error()
                    .is_some_and(|c| credentials_failed(c)) =>
        {
            Classified {
                kind: AwsErrorKind::CredentialsUnavailable,
                code: None,
                message: format!("could not load credentials: {}", detail()),
            }
        }
        SdkError::DispatchFailure(_) => Classified {
            kind: AwsErrorKind::Unreachable,
            code: None,
            message: format!("{}: {}", at("cannot reach"), detail()),
        },
        SdkError::ResponseError(_) => Classified {
            kind: AwsErrorKind::BadResponse,
            code: None,
            message: format!("{}: {}", at("unexpected answer from"), detail()),
        },
        // Every error AWS itself sends carries a code; an error answer without one came from
        // something else at that address (a proxy's or another server's page).
        SdkError::ServiceError(_) if err.code().is_none() => Classified {
            kind: AwsErrorKind::BadResponse,
            code: None,
            message: format!(
                "{}: the answer is not an AWS error document ({})",
                at("unexpected answer from"),
                detail()
            ),
        },
        _ => {
            let code = err.code().map(str::to_string);
            let kind = code
                .as_deref()
                .map(AwsErrorKind::from_code)
                .unwrap_or(AwsErrorKind::Other);
            let message = match (code.as_deref(), err.message()) {
                (Some(c), Some(m)) => format!("{c}: {m}"),
                (Some(c), None) => c.to_string(),
                (None, _) => std::error::Error::source(err)
                    .map(error_chain)
                    .unwrap_or_else(|| err.to_string()),
            };
            Classified {
                kind,
                code,
                message,
            }
        }
    }
}

/// Turn an SDK error into a meshctl error with a help line for its kind.
pub fn sdk_error<E, R>(
    service: &'static str,
    operation: &'static str,
    err: &SdkError<E, R>,
) -> Error
where
    E: std::error::Error + ProvideErrorMetadata + 'static,
    R: fmt::Debug,
{
    let c = classify(err);
    Error::AwsCall {
        service,
        operation,
        kind: c.kind,
        message: c.message,
        help: c.kind.help().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityError;
    use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
    use aws_smithy_runtime_api::client::result::ConnectorError;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::error::ErrorMetadata;

    type Err = SdkError<GetCallerIdentityError, HttpResponse>;

    fn service(status: u16, code: &str) -> Err {
        let meta = ErrorMetadata::builder()
            .code(code)
            .message("from the service")
            .build();
        let status = StatusCode::try_from(status).expect("a valid status");
        SdkError::service_error(
            GetCallerIdentityError::generic(meta),
            HttpResponse::new(status, SdkBody::empty()),
        )
    }

    fn failure(timeout: Option<Duration>) -> Box<dyn std::error::Error + Send + Sync> {
        Box::new(EndpointFailure {
            endpoint: "127.0.0.1:4566".into(),
            timeout,
            attempts: 1,
            detail: "connection refused".into(),
        })
    }

    #[test]
    fn service_error_codes_map_to_their_kinds() {
        for (code, kind) in [
            ("InvalidClientTokenId", AwsErrorKind::CredentialsRejected),
            (
                "UnrecognizedClientException",
                AwsErrorKind::CredentialsRejected,
            ),
            ("SignatureDoesNotMatch", AwsErrorKind::CredentialsRejected),
            ("ExpiredToken", AwsErrorKind::CredentialsExpired),
            ("ExpiredTokenException", AwsErrorKind::CredentialsExpired),
            ("AccessDenied", AwsErrorKind::AccessDenied),
            ("AccessDeniedException", AwsErrorKind::AccessDenied),
            ("UnauthorizedOperation", AwsErrorKind::AccessDenied),
            ("Throttling", AwsErrorKind::Throttled),
            ("ThrottlingException", AwsErrorKind::Throttled),
            ("TooManyRequestsException", AwsErrorKind::Throttled),
            ("ResourceNotFoundException", AwsErrorKind::NotFound),
            ("NoSuchBucket", AwsErrorKind::NotFound),
            ("NotFound", AwsErrorKind::NotFound),
            ("ServiceQuotaExceededException", AwsErrorKind::QuotaExceeded),
            ("ValidationException", AwsErrorKind::Other),
        ] {
            let c = classify(&service(400, code));
            assert_eq!(c.kind, kind, "{code}");
            assert_eq!(c.message, format!("{code}: from the service"));
        }
    }

    #[test]
    fn an_error_answer_without_an_aws_error_code_is_a_bad_response() {
        let meta = ErrorMetadata::builder()
            .message("Error at offset 0: unexpected token '<'")
            .build();
        let err: Err = SdkError::service_error(
            GetCallerIdentityError::generic(meta),
            HttpResponse::new(StatusCode::try_from(404).expect("404"), SdkBody::empty()),
        );
        let c = classify(&err);
        assert_eq!(c.kind, AwsErrorKind::BadResponse);
        assert!(
            c.message.contains("not an AWS error document"),
            "{}",
            c.message
        );
    }

    #[test]
    fn attempt_timeout_is_no_answer_naming_the_endpoint() {
        let err: Err = SdkError::timeout_error(failure(Some(Duration::from_secs(2))));
        let c = classify(&err);
        assert_eq!(c.kind, AwsErrorKind::NoAnswer);
        assert_eq!(
            c.message,
            "the endpoint 127.0.0.1:4566 did not answer within 2s"
        );
    }

    #[test]
    fn connection_failure_is_unreachable_not_rejected_credentials() {
        let err: Err = SdkError::dispatch_failure(ConnectorError::io(failure(None)));
        let c = classify(&err);
        assert_eq!(c.kind, AwsErrorKind::Unreachable);
        assert_eq!(c.message, "cannot reach 127.0.0.1:4566: connection refused");
        let e = sdk_error("sts", "GetCallerIdentity", &err);
        assert_eq!(e.aws_kind(), Some(AwsErrorKind::Unreachable));
        assert!(!e.to_string().contains("credentials"));
    }

    #[test]
    fn credentials_that_cannot_be_loaded_are_not_an_unreachable_endpoint() {
        let cause = aws_credential_types::provider::error::CredentialsError::provider_error(
            "the SSO session has expired",
        );
        let err: Err = SdkError::dispatch_failure(ConnectorError::other(Box::new(cause), None));
        let c = classify(&err);
        assert_eq!(c.kind, AwsErrorKind::CredentialsUnavailable);
        assert!(
            c.message.contains("SSO session has expired"),
            "{}",
            c.message
        );
    }

    #[test]
    fn messages_never_carry_debug_output() {
        let err: Err =
            SdkError::dispatch_failure(ConnectorError::other("plain words".into(), None));
        let c = classify(&err);
        assert!(!c.message.contains("ConnectorError"), "{}", c.message);
        assert!(!c.message.contains('{'), "{}", c.message);
    }

    #[test]
    fn kinds_serialize_as_their_display() {
        for kind in [
            AwsErrorKind::Unreachable,
            AwsErrorKind::NoAnswer,
            AwsErrorKind::CredentialsRejected,
            AwsErrorKind::Throttled,
        ] {
            let json = serde_json::to_value(kind).expect("serializes");
            assert_eq!(json, serde_json::Value::String(kind.to_string()));
        }
    }
}
