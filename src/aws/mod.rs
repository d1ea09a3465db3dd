//! AWS adapters: client construction, credentials, ownership tags, idempotency tokens and
//! error messages that say what to do.

mod credentials;
pub mod eks_token;
pub mod errors;
pub mod iam;
pub mod log;
pub mod retry;
pub mod sigv4;

use std::collections::HashMap;
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use sha2::{Digest, Sha256};

use crate::config::Config;
use crate::error::Error;

pub use errors::{AwsErrorKind, error_chain, sdk_error};

/// The default per-attempt timeout of one AWS call (`--call-timeout`).
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(60);
/// The longest wait for a TCP/TLS connection to an endpoint.
pub const MAX_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Shared SDK configuration and the clients built from it.
#[derive(Clone, Debug)]
pub struct Aws {
    pub sdk: aws_types::SdkConfig,
    pub region: String,
    /// The account the credentials belong to (from STS `GetCallerIdentity`).
    pub account: String,
}

/// How AWS was reached, or why it was not.
pub enum Connection {
    Online(Box<Aws>),
    /// No usable credentials: plans are offline.
    Offline {
        reason: String,
    },
}

impl Aws {
    /// Build the SDK configuration, check that credentials resolve, and ask STS whose they
    /// are. No credentials at all is `Offline`; a profile that does not exist is a usage
    /// error; a call that fails (endpoint unreachable, credentials rejected…) is an error of
    /// its kind. Endpoints come from the SDK's standard variables (`AWS_ENDPOINT_URL`,
    /// `AWS_ENDPOINT_URL_<SERVICE>`). `call_timeout` bounds each attempt of each AWS call.
    pub async fn connect(
        region: &str,
        profile: Option<&str>,
        call_timeout: Duration,
    ) -> Result<Connection, Error> {
        if let Some(name) = profile {
            credentials::check_profile_exists(name).await?;
        }
        let connection = Self::resolve(region, profile, call_timeout).await;
        let Connection::Online(mut aws) = connection else {
            return Ok(connection);
        };
        let identity = aws
            .sts()
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| sdk_error("sts", "GetCallerIdentity", &e))?;
        aws.account = identity.account().unwrap_or_default().to_string();
        Ok(Connection::Online(aws))
    }

    async fn resolve(region: &str, profile: Option<&str>, call_timeout: Duration) -> Connection {
        let region = aws_config::Region::new(region.to_string());
        let provider = match credentials::find(region.clone(), profile).await {
            Ok(provider) => provider,
            Err(reason) => return Connection::Offline { reason },
        };
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .http_client(https_client())
            .region(region.clone())
            .timeout_config(timeouts(call_timeout))
            .retry_config(RetryConfig::standard())
            .credentials_provider(provider);
        if let Some(p) = profile {
            loader = loader.profile_name(p);
        }
        let sdk = loader.load().await;
        Connection::Online(Box::new(Aws {
            sdk,
            region: region.to_string(),
            account: String::new(),
        }))
    }

    pub fn amp(&self) -> aws_sdk_amp::Client {
        amp_client(&self.sdk)
    }

    pub fn grafana(&self) -> aws_sdk_grafana::Client {
        let conf = aws_sdk_grafana::config::Builder::from(&self.sdk)
            .interceptor(call_log(&self.sdk))
            .build();
        aws_sdk_grafana::Client::from_conf(conf)
    }

    pub fn secretsmanager(&self) -> aws_sdk_secretsmanager::Client {
        let conf = aws_sdk_secretsmanager::config::Builder::from(&self.sdk)
            .interceptor(call_log(&self.sdk))
            .build();
        aws_sdk_secretsmanager::Client::from_conf(conf)
    }

    pub fn ec2(&self) -> aws_sdk_ec2::Client {
        let conf = aws_sdk_ec2::config::Builder::from(&self.sdk)
            .interceptor(call_log(&self.sdk))
            .build();
        aws_sdk_ec2::Client::from_conf(conf)
    }

    pub fn eks(&self) -> aws_sdk_eks::Client {
        let conf = aws_sdk_eks::config::Builder::from(&self.sdk)
            .interceptor(call_log(&self.sdk))
            .build();
        aws_sdk_eks::Client::from_conf(conf)
    }

    pub fn iam(&self) -> aws_sdk_iam::Client {
        let conf = aws_sdk_iam::config::Builder::from(&self.sdk)
            .interceptor(call_log(&self.sdk))
            .build();
        aws_sdk_iam::Client::from_conf(conf)
    }

    pub fn elbv2(&self) -> aws_sdk_elasticloadbalancingv2::Client {
        let conf = aws_sdk_elasticloadbalancingv2::config::Builder::from(&self.sdk)
            .interceptor(call_log(&self.sdk))
            .build();
        aws_sdk_elasticloadbalancingv2::Client::from_conf(conf)
    }

    pub fn appmesh(&self) -> aws_sdk_appmesh::Client {
        let conf = aws_sdk_appmesh::config::Builder::from(&self.sdk)
            .interceptor(call_log(&self.sdk))
            .build();
        aws_sdk_appmesh::Client::from_conf(conf)
    }

    pub fn servicequotas(&self) -> aws_sdk_servicequotas::Client {
        let conf = aws_sdk_servicequotas::config::Builder::from(&self.sdk)
            .interceptor(call_log(&self.sdk))
            .build();
        aws_sdk_servicequotas::Client::from_conf(conf)
    }

    pub fn sts(&self) -> aws_sdk_sts::Client {
        let conf = aws_sdk_sts::config::Builder::from(&self.sdk)
            .interceptor(call_log(&self.sdk))
            .build();
        aws_sdk_sts::Client::from_conf(conf)
    }
}

/// An EKS bearer token for `cluster`, signed locally with the credentials the default chain
/// finds (or `profile`'s). No network call: `meshctl token` runs on every kubectl request.
pub async fn eks_token(
    region: &str,
    profile: Option<&str>,
    cluster: &str,
) -> Result<eks_token::EksToken, Error> {
    use aws_credential_types::provider::ProvideCredentials;
    if let Some(name) = profile {
        credentials::check_profile_exists(name).await?;
    }
    let provider = credentials::find(aws_config::Region::new(region.to_string()), profile)
        .await
        .map_err(|reason| {
            Error::usage(
                format!("no AWS credentials to sign the token with: {reason}"),
                "set AWS_PROFILE (or --profile), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
            )
        })?;
    let credentials = provider.provide_credentials().await.map_err(|e| {
        Error::usage(
            format!(
                "the AWS credentials could not be loaded: {}",
                error_chain(&e)
            ),
            "refresh them (for SSO: `aws sso login`), or pick another --profile",
        )
    })?;
    eks_token::mint(&credentials, region, cluster, std::time::SystemTime::now())
}

/// Connect and per-attempt timeouts: each attempt of a call gets `call_timeout`, a connection
/// at most [`MAX_CONNECT_TIMEOUT`] (less when the call timeout is shorter). Every HTTP client
/// meshctl builds, AWS or not (Grafana, PagerDuty), takes its connect and per-request timeouts
/// from here (`connect_timeout()`, `operation_attempt_timeout()`).
pub fn timeouts(call_timeout: Duration) -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(call_timeout.min(MAX_CONNECT_TIMEOUT))
        .operation_attempt_timeout(call_timeout)
        .build()
}

fn call_log(sdk: &aws_types::SdkConfig) -> log::CallLog {
    log::CallLog {
        attempt_timeout: sdk
            .timeout_config()
            .and_then(|t| t.operation_attempt_timeout())
            .unwrap_or(DEFAULT_CALL_TIMEOUT),
    }
}

/// An AMP client with meshctl's call logging.
pub fn amp_client(sdk: &aws_types::SdkConfig) -> aws_sdk_amp::Client {
    let conf = aws_sdk_amp::config::Builder::from(sdk)
        .interceptor(call_log(sdk))
        .build();
    aws_sdk_amp::Client::from_conf(conf)
}

/// An S3 client with meshctl's call logging (the S3 state store uses this one).
pub fn s3_client(sdk: &aws_types::SdkConfig) -> aws_sdk_s3::Client {
    let conf = aws_sdk_s3::config::Builder::from(sdk)
        .interceptor(call_log(sdk))
        .build();
    aws_sdk_s3::Client::from_conf(conf)
}

/// The one HTTPS client every AWS service client (and the credential providers) uses: hyper 1
/// with rustls on `ring`, trusting the platform's certificate store. The SDK's default client
/// would pull in a second TLS stack; see `Cargo.toml`.
pub fn https_client() -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

/// Tags for a new resource, as the SDKs' `HashMap<String, String>`.
pub fn tags(config: &Config) -> HashMap<String, String> {
    config.aws_tags().into_iter().collect()
}

/// Whether `tags` carry this stack's ownership tag.
pub fn owned_by(tags: Option<&HashMap<String, String>>, stack: &str) -> bool {
    tags.and_then(|t| t.get(crate::config::STACK_TAG))
        .is_some_and(|v| v == stack)
}

/// An idempotency token for a create call, derived from the stack, the run and the resource,
/// so a retried create in the same run cannot make a duplicate. At most 64 printable chars.
///
/// ```
/// use meshctl::aws::client_token;
/// let first = client_token("demo", "20261121T101500Z-00aa11", "amp-workspace");
/// // The same run retrying the same create sends the same token…
/// assert_eq!(first, client_token("demo", "20261121T101500Z-00aa11", "amp-workspace"));
/// // …and another run, or another resource, a different one.
/// assert_ne!(first, client_token("demo", "20261122T090000Z-00bb22", "amp-workspace"));
/// assert!(first.len() <= 64);
/// ```
pub fn client_token(stack: &str, run_id: &str, resource: &str) -> String {
    let digest = Sha256::digest(format!("{stack}\0{run_id}\0{resource}").as_bytes());
    format!("meshctl-{}", &hex::encode(digest)[..48])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_token_is_stable_short_and_distinct() {
        let a = client_token("demo", "run1", "amp-workspace");
        assert_eq!(a, client_token("demo", "run1", "amp-workspace"));
        assert_ne!(a, client_token("demo", "run2", "amp-workspace"));
        assert_ne!(a, client_token("other", "run1", "amp-workspace"));
        assert!(a.len() <= 64);
        assert!(a.chars().all(|c| c.is_ascii_graphic()));
    }
}
