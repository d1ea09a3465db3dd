//! Finding credentials the way the SDK's default chain does (environment, shared profile
//! files, web identity, container, instance metadata), one source at a time, so that when none
//! works the offline reason can say what each source lacked. Each source is bounded in time.

use std::time::Duration;

use aws_config::Region;
use aws_config::provider_config::ProviderConfig;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_types::os_shim_internal::{Env, Fs};

use super::errors::error_chain;
use crate::error::Error;

/// The longest time one credential source may take (SSO, process, web identity, container).
const SOURCE_TIMEOUT: Duration = Duration::from_secs(10);
/// Instance metadata: one attempt, short connect and read timeouts.
const IMDS_TIMEOUT: Duration = Duration::from_secs(1);

/// Fail with a usage error naming the existing profiles when `name` is not in the shared
/// config or credentials files. `default` is exempt: the SDK treats a missing `default`
/// profile as "no profile", and other sources (environment variables) still apply.
pub async fn check_profile_exists(name: &str) -> Result<(), Error> {
    if name == "default" {
        return Ok(());
    }
    let set = match aws_config::profile::load(&Fs::real(), &Env::real(), &Default::default(), None)
        .await
    {
        Ok(set) => set,
        Err(e) => {
            return Err(Error::usage(
                format!(
                    "cannot read the AWS shared config files for profile `{name}`: {}",
                    error_chain(&e)
                ),
                "fix the file, or drop --profile / AWS_PROFILE",
            ));
        }
    };
    if set.get_profile(name).is_some() {
        return Ok(());
    }
    let mut names: Vec<&str> = set.profiles().collect();
    names.sort_unstable();
    let existing = if names.is_empty() {
        format!("there are no profiles in {}", files())
    } else {
        format!(
            "profiles in {}: {}",
            files(),
            names
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    Err(Error::usage(
        format!("AWS profile `{name}` does not exist ({existing})"),
        "pass one of those to --profile (or AWS_PROFILE), or add the profile with `aws configure --profile NAME` / `aws configure sso`",
    ))
}

/// Why a source gave no credentials, without the generic "not enabled" preamble.
fn reason(e: &aws_credential_types::provider::error::CredentialsError) -> String {
    const PREAMBLE: &str = "the credential provider was not enabled";
    let chain = error_chain(e);
    match chain.strip_prefix(PREAMBLE) {
        Some("") => "not configured".to_string(),
        Some(rest) => rest.trim_start_matches(": ").to_string(),
        None => chain,
    }
}

/// The shared files the SDK reads, for messages.
fn files() -> String {
    let config = std::env::var("AWS_CONFIG_FILE").unwrap_or_else(|_| "~/.aws/config".into());
    let creds = std::env::var("AWS_SHARED_CREDENTIALS_FILE")
        .unwrap_or_else(|_| "~/.aws/credentials".into());
    format!("{config} and {creds}")
}

/// Try each source in the default chain's order; return the first that yields credentials,
/// or the offline reason listing why each failed. A profile named on the command line (not
/// only by `AWS_PROFILE`) comes before the environment variables, as with the AWS CLI.
pub async fn find(
    region: Region,
    profile: Option<&str>,
) -> Result<SharedCredentialsProvider, String> {
    let conf = ProviderConfig::default()
        .with_http_client(super::https_client())
        .with_region(Some(region));
    let profile_name = profile
        .map(str::to_string)
        .unwrap_or_else(|| "default".to_string());

    let env = aws_config::environment::credentials::EnvironmentVariableCredentialsProvider::new();
    let mut profile_builder =
        aws_config::profile::ProfileFileCredentialsProvider::builder().configure(&conf);
    if let Some(p) = profile {
        profile_builder = profile_builder.profile_name(p);
    }
    let web_identity =
        aws_config::web_identity_token::WebIdentityTokenCredentialsProvider::builder()
            .configure(&conf)
            .build();
    let container = aws_config::ecs::EcsCredentialsProvider::builder()
        .configure(&conf)
        .build();
    let imds_client = aws_config::imds::Client::builder()
        .configure(&conf)
        .connect_timeout(IMDS_TIMEOUT)
        .read_timeout(IMDS_TIMEOUT)
        .max_attempts(1)
        .build();
    let imds = aws_config::imds::credentials::ImdsCredentialsProvider::builder()
        .configure(&conf)
        .imds_client(imds_client)
        .build();

    let sources: Vec<(String, SharedCredentialsProvider, Duration)> = vec![
        (
            "environment variables (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)".into(),
            SharedCredentialsProvider::new(env),
            SOURCE_TIMEOUT,
        ),
        (
            format!(
                "profile `{profile_name}` in {} (static keys, SSO, process, assume role)",
                files()
            ),
            SharedCredentialsProvider::new(profile_builder.build()),
            SOURCE_TIMEOUT,
        ),
        (
            "web identity (AWS_WEB_IDENTITY_TOKEN_FILE, AWS_ROLE_ARN)".into(),
            SharedCredentialsProvider::new(web_identity),
            SOURCE_TIMEOUT,
        ),
        (
            "container credentials (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI / _FULL_URI)".into(),
            SharedCredentialsProvider::new(container),
            SOURCE_TIMEOUT,
        ),
        (
            "EC2 instance metadata".into(),
            SharedCredentialsProvider::new(imds),
            IMDS_TIMEOUT * 3,
        ),
    ];
    let from_flag =
        profile.is_some_and(|p| std::env::var("AWS_PROFILE").ok().as_deref() != Some(p));
    let mut sources = sources;
    if from_flag {
        sources.swap(0, 1);
    }
    let mut failures = vec![];
    for (name, provider, limit) in sources {
        match tokio::time::timeout(limit, provider.provide_credentials()).await {
            Ok(Ok(_)) => {
                tracing::debug!(target: super::log::TARGET, "AWS credentials from {name}");
                return Ok(provider);
            }
            Ok(Err(e)) => {
                let why = reason(&e);
                tracing::debug!(target: super::log::TARGET, "no AWS credentials from {name}: {why}");
                failures.push(format!("{name}: {why}"));
            }
            Err(_) => {
                let why = format!("no answer within {}", humantime::format_duration(limit));
                tracing::debug!(target: super::log::TARGET, "no AWS credentials from {name}: {why}");
                failures.push(format!("{name}: {why}"));
            }
        }
    }
    Err(format!(
        "no AWS credentials found; tried {}",
        failures.join("; ")
    ))
}
