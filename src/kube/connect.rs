//! The connection an in-cluster step uses: the kubeconfig named in the config when there is
//! one (private clusters, tunnels, tests), else the EKS endpoint and CA the `cluster` step
//! recorded in the stack state, with EKS tokens minted locally and refreshed before expiry.

use std::sync::Arc;

use aws_credential_types::provider::ProvideCredentials;

use super::{EksTokenSource, Kube};
use crate::engine::{StepCtx, StepId};
use crate::error::Error;

/// State outputs of the `cluster` step that a connection reads.
pub mod outputs {
    /// The EKS cluster's name.
    pub const CLUSTER_NAME: &str = "cluster_name";
    /// The API server URL (`https://…`), as DescribeCluster reports it.
    pub const ENDPOINT: &str = "endpoint";
    /// The cluster CA bundle, base64 (DescribeCluster `certificateAuthority.data`).
    pub const CERTIFICATE_AUTHORITY: &str = "certificate_authority";
}

/// Connect to the stack's cluster for `ctx`'s step.
pub async fn connect(ctx: &StepCtx) -> Result<Kube, Error> {
    let config = &ctx.config;
    let stack = config.name.as_str();
    let progress = ctx.progress.clone();
    let kube = if config.kubernetes.kubeconfig.is_some() || config.kubernetes.context.is_some() {
        Kube::from_kubeconfig(
            stack,
            config.kubernetes.kubeconfig.as_deref(),
            config.kubernetes.context.as_deref(),
        )
        .await?
    } else {
        let endpoint = ctx
            .state
            .output(StepId::Cluster, outputs::ENDPOINT)
            .await
            .ok_or_else(|| {
                Error::usage(
                    format!(
                        "stack `{stack}` has no cluster endpoint recorded: the `cluster` step has not been applied"
                    ),
                    "run `meshctl cluster` first, or set `kubernetes.kubeconfig` (and `kubernetes.context`) to use an existing cluster",
                )
            })?;
        let ca = ctx
            .state
            .output(StepId::Cluster, outputs::CERTIFICATE_AUTHORITY)
            .await;
        let cluster = ctx
            .state
            .output(StepId::Cluster, outputs::CLUSTER_NAME)
            .await
            .unwrap_or_else(|| config.cluster_name().to_string());
        let aws = ctx.aws()?;
        let provider = aws.sdk.credentials_provider().ok_or(Error::NoCredentials)?;
        let credentials = provider.provide_credentials().await.map_err(|e| {
            Error::usage(
                format!(
                    "the AWS credentials could not be loaded to sign an EKS token: {}",
                    crate::aws::error_chain(&e)
                ),
                "refresh them (for SSO: `aws sso login`), or pick another --profile",
            )
        })?;
        let tokens = Arc::new(EksTokenSource::new(credentials, &aws.region, &cluster));
        Kube::from_eks(stack, &endpoint, ca.as_deref(), tokens)?
    };
    Ok(kube.with_progress(Arc::new(move |line: &str| progress.waiting(line))))
}
