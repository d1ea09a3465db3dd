//! EKS bearer tokens, minted locally: what `aws eks get-token` prints, without the AWS CLI.
//!
//! A token is a presigned STS `GetCallerIdentity` URL (GET, signature in the query string) that
//! also signs the header `x-k8s-aws-id: <cluster name>`. The cluster's authenticator sends the
//! URL to STS with that header set to its own cluster name, so a token signed for another
//! cluster fails there. The token is `k8s-aws-v1.` followed by the URL in unpadded base64url.
//! The API server accepts it for 15 minutes after signing; [`EksToken::expires_at`] is earlier
//! than that by a margin, so callers refresh before a long wait outlives it.

use std::fmt;
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    SignableBody, SignableRequest, SignatureLocation, SigningSettings, sign,
};
use aws_sigv4::sign::v4;
use base64::Engine;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::error::Error;

pub const TOKEN_PREFIX: &str = "k8s-aws-v1.";
/// The signed header naming the cluster a token is for.
pub const CLUSTER_ID_HEADER: &str = "x-k8s-aws-id";
/// How long the API server accepts a token after it was signed.
pub const ACCEPTED_FOR: Duration = Duration::from_secs(15 * 60);
/// Refresh this long before the API server would stop accepting a token.
pub const REFRESH_MARGIN: Duration = Duration::from_secs(60);
/// `X-Amz-Expires` of the presigned URL, as the EKS tools send it.
const PRESIGN_EXPIRES: Duration = Duration::from_secs(60);

/// A bearer token for one cluster. It is a credential: its `Debug` and `Display` never show it.
#[derive(Clone)]
pub struct EksToken {
    token: String,
    pub cluster: String,
    pub signed_at: DateTime<Utc>,
    /// When to stop using it (signing time + 15 minutes − the refresh margin).
    pub expires_at: DateTime<Utc>,
}

impl EksToken {
    /// The bearer token itself. Only for the `Authorization` header and `meshctl token`.
    pub fn secret(&self) -> &str {
        &self.token
    }

    /// Whether it should be replaced before use at `now`.
    pub fn needs_refresh(&self, now: DateTime<Utc>) -> bool {
        now >= self.expires_at
    }

    /// The `ExecCredential` a kubeconfig `exec` entry expects on stdout
    /// (`client.authentication.k8s.io/v1beta1`).
    pub fn exec_credential(&self) -> ExecCredential<'_> {
        ExecCredential {
            api_version: "client.authentication.k8s.io/v1beta1",
            kind: "ExecCredential",
            spec: serde_json::Map::new(),
            status: ExecCredentialStatus {
                expiration_timestamp: self
                    .expires_at
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                token: &self.token,
            },
        }
    }
}

impl fmt::Debug for EksToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EksToken")
            .field("cluster", &self.cluster)
            .field("expires_at", &self.expires_at)
            .field("token", &"** redacted **")
            .finish()
    }
}

/// What `meshctl token` prints: the client-go exec credential document.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecCredential<'a> {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub spec: serde_json::Map<String, serde_json::Value>,
    pub status: ExecCredentialStatus<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecCredentialStatus<'a> {
    pub expiration_timestamp: String,
    pub token: &'a str,
}

impl fmt::Debug for ExecCredentialStatus<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExecCredentialStatus")
            .field("expiration_timestamp", &self.expiration_timestamp)
            .finish_non_exhaustive()
    }
}

/// The regional STS host the token is signed for (the authenticator checks it).
pub fn sts_host(region: &str) -> String {
    if region.starts_with("cn-") {
        format!("sts.{region}.amazonaws.com.cn")
    } else {
        format!("sts.{region}.amazonaws.com")
    }
}

/// Sign a token for `cluster` with `credentials` at `now`.
pub fn mint(
    credentials: &Credentials,
    region: &str,
    cluster: &str,
    now: SystemTime,
) -> Result<EksToken, Error> {
    let failed = |message: String| Error::Aws {
        service: "sts",
        operation: "presign GetCallerIdentity",
        message,
        help: "check the region and the credentials in use; `meshctl token` needs no network"
            .into(),
    };
    let host = sts_host(region);
    let url = format!("https://{host}/?Action=GetCallerIdentity&Version=2011-06-15");
    let headers = [("host", host.as_str()), (CLUSTER_ID_HEADER, cluster)];
    let request = SignableRequest::new("GET", &url, headers.into_iter(), SignableBody::Bytes(&[]))
        .map_err(|e| failed(format!("cannot build the request to sign: {e}")))?;
    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(PRESIGN_EXPIRES);
    let identity = credentials.clone().into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("sts")
        .time(now)
        .settings(settings)
        .build()
        .map_err(|e| failed(format!("cannot sign: {e}")))?
        .into();
    let (instructions, _signature) = sign(request, &params)
        .map_err(|e| failed(format!("cannot sign: {e}")))?
        .into_parts();
    let mut presigned = url::Url::parse(&url).map_err(|e| failed(e.to_string()))?;
    {
        let mut query = presigned.query_pairs_mut();
        for (name, value) in instructions.params() {
            query.append_pair(name, value);
        }
    }
    let signed_at: DateTime<Utc> = now.into();
    let lifetime = chrono::Duration::from_std(ACCEPTED_FOR - REFRESH_MARGIN)
        .map_err(|e| failed(e.to_string()))?;
    Ok(EksToken {
        token: format!(
            "{TOKEN_PREFIX}{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(presigned.as_str())
        ),
        cluster: cluster.to_string(),
        signed_at,
        expires_at: signed_at + lifetime,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixed() -> (Credentials, SystemTime) {
        let creds = Credentials::new(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            None,
            None,
            "test",
        );
        // 2026-11-22T10:00:00Z
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_341_600);
        (creds, now)
    }

    fn decode(token: &str) -> url::Url {
        let b64 = token.strip_prefix(TOKEN_PREFIX).expect("prefix");
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(b64)
            .expect("unpadded base64url");
        url::Url::parse(std::str::from_utf8(&bytes).unwrap()).unwrap()
    }

    fn param(url: &url::Url, name: &str) -> String {
        url.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
            .unwrap_or_else(|| panic!("{name} missing from {url}"))
    }

    #[test]
    fn token_is_a_presigned_get_caller_identity_url_for_the_regional_sts_host() {
        let (creds, now) = fixed();
        let t = mint(&creds, "eu-west-1", "demo", now).unwrap();
        assert!(t.secret().starts_with(TOKEN_PREFIX));
        assert!(!t.secret().contains('='), "no padding");
        let url = decode(t.secret());
        assert_eq!(url.host_str(), Some("sts.eu-west-1.amazonaws.com"));
        assert_eq!(param(&url, "Action"), "GetCallerIdentity");
        assert_eq!(param(&url, "Version"), "2011-06-15");
        assert_eq!(param(&url, "X-Amz-Algorithm"), "AWS4-HMAC-SHA256");
        assert_eq!(
            param(&url, "X-Amz-Credential"),
            "AKIDEXAMPLE/20261122/eu-west-1/sts/aws4_request"
        );
        assert_eq!(param(&url, "X-Amz-Date"), "20261122T100000Z");
        assert_eq!(param(&url, "X-Amz-Expires"), "60");
        assert_eq!(param(&url, "X-Amz-SignedHeaders"), "host;x-k8s-aws-id");
        assert_eq!(param(&url, "X-Amz-Signature").len(), 64);
    }

    #[test]
    fn the_signature_depends_on_the_cluster_name_and_is_stable() {
        let (creds, now) = fixed();
        let a = mint(&creds, "us-east-1", "demo", now).unwrap();
        let again = mint(&creds, "us-east-1", "demo", now).unwrap();
        let other = mint(&creds, "us-east-1", "other", now).unwrap();
        assert_eq!(a.secret(), again.secret());
        let sig = |t: &EksToken| param(&decode(t.secret()), "X-Amz-Signature");
        assert_ne!(sig(&a), sig(&other), "the cluster name is signed");
    }

    #[test]
    fn china_regions_use_the_china_partition_host() {
        assert_eq!(sts_host("cn-north-1"), "sts.cn-north-1.amazonaws.com.cn");
        assert_eq!(sts_host("us-gov-west-1"), "sts.us-gov-west-1.amazonaws.com");
    }

    #[test]
    fn expiry_leaves_a_refresh_margin_inside_the_fifteen_minutes() {
        let (creds, now) = fixed();
        let t = mint(&creds, "us-east-1", "demo", now).unwrap();
        assert_eq!((t.expires_at - t.signed_at).num_seconds(), 14 * 60);
        assert!(!t.needs_refresh(t.signed_at));
        assert!(t.needs_refresh(t.expires_at));
    }

    #[test]
    fn exec_credential_has_the_client_go_shape_and_debug_hides_the_token() {
        let (creds, now) = fixed();
        let t = mint(&creds, "us-east-1", "demo", now).unwrap();
        let doc = serde_json::to_value(t.exec_credential()).unwrap();
        assert_eq!(doc["apiVersion"], "client.authentication.k8s.io/v1beta1");
        assert_eq!(doc["kind"], "ExecCredential");
        assert_eq!(doc["status"]["token"], t.secret());
        assert_eq!(doc["status"]["expirationTimestamp"], "2026-11-22T10:14:00Z");
        assert!(!format!("{t:?}").contains(t.secret()));
        assert!(!format!("{:?}", t.exec_credential()).contains(t.secret()));
    }
}
