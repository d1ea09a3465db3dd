//! AWS adapters: client construction, credentials, ownership tags, idempotency tokens and
//! error messages that say what to do.

use std::collections::HashMap;
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_credential_types::provider::ProvideCredentials;
use aws_smithy_types::error::display::DisplayErrorContext;
use sha2::{Digest, Sha256};

use crate::config::Config;
use crate::error::Error;

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
    /// are. No credentials at all is `Offline`; credentials that AWS rejects are an error.
    /// Endpoints come from the SDK's standard variables (`AWS_ENDPOINT_URL`,
    /// `AWS_ENDPOINT_URL_<SERVICE>`).
    pub async fn connect(region: &str, profile: Option<&str>) -> Result<Connection, Error> {
        let connection = Self::resolve(region, profile).await;
        let Connection::Online(mut aws) = connection else {
            return Ok(connection);
        };
        let identity = aws
            .sts()
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| {
                let mut err = sdk_error("sts", "GetCallerIdentity", &e);
                if let Error::Aws { help, .. } = &mut err {
                    *help = "AWS did not accept the credentials in use: check AWS_PROFILE / --profile, or refresh them (e.g. `aws sso login`)".into();
                }
                err
            })?;
        aws.account = identity.account().unwrap_or_default().to_string();
        Ok(Connection::Online(aws))
    }

    async fn resolve(region: &str, profile: Option<&str>) -> Connection {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .http_client(https_client())
            .region(aws_config::Region::new(region.to_string()));
        if let Some(p) = profile {
            loader = loader.profile_name(p);
        }
        let sdk = loader.load().await;
        let Some(provider) = sdk.credentials_provider() else {
            return Connection::Offline {
                reason: "no AWS credentials provider is configured".into(),
            };
        };
        match tokio::time::timeout(Duration::from_secs(10), provider.provide_credentials()).await {
            Ok(Ok(_)) => Connection::Online(Box::new(Aws {
                sdk,
                region: region.to_string(),
                account: String::new(),
            })),
            Ok(Err(e)) => Connection::Offline {
                reason: format!("no AWS credentials found ({})", first_line(&e.to_string())),
            },
            Err(_) => Connection::Offline {
                reason: "timed out looking for AWS credentials".into(),
            },
        }
    }

    pub fn amp(&self) -> aws_sdk_amp::Client {
        aws_sdk_amp::Client::new(&self.sdk)
    }

    pub fn grafana(&self) -> aws_sdk_grafana::Client {
        aws_sdk_grafana::Client::new(&self.sdk)
    }

    pub fn secretsmanager(&self) -> aws_sdk_secretsmanager::Client {
        aws_sdk_secretsmanager::Client::new(&self.sdk)
    }

    pub fn sts(&self) -> aws_sdk_sts::Client {
        aws_sdk_sts::Client::new(&self.sdk)
    }
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

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s)
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

/// Turn an SDK error into a meshctl error with a hint.
pub fn sdk_error<E, R>(
    service: &'static str,
    operation: &'static str,
    err: &aws_sdk_amp::error::SdkError<E, R>,
) -> Error
where
    E: std::error::Error + aws_smithy_types::error::metadata::ProvideErrorMetadata + 'static,
    R: std::fmt::Debug,
{
    use aws_smithy_types::error::metadata::ProvideErrorMetadata;
    let code = err.code().unwrap_or("");
    let help = match code {
        "AccessDeniedException" | "AccessDenied" | "UnauthorizedOperation" => {
            "the credentials in use lack this permission: check the IAM policy of the caller (`aws sts get-caller-identity` shows who that is)".to_string()
        }
        "ThrottlingException" | "Throttling" => {
            "AWS is throttling requests: wait a minute and run the same command again; it resumes".to_string()
        }
        "ServiceQuotaExceededException" => {
            "a service quota is reached: delete unused resources or request a quota increase".to_string()
        }
        "ExpiredTokenException" | "ExpiredToken" => {
            "the session credentials expired: refresh them (e.g. `aws sso login`) and run again".to_string()
        }
        _ => "run again with -v for details; steps are idempotent, so a re-run resumes".to_string(),
    };
    let message = match err.message() {
        Some(m) if !code.is_empty() => format!("{code}: {m}"),
        _ => DisplayErrorContext(err).to_string(),
    };
    Error::Aws {
        service,
        operation,
        message,
        help,
    }
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
