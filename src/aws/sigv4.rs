//! Requests signed with SigV4 outside the SDK: the Prometheus-compatible query API of an AMP
//! workspace (service name `aps`), which has no SDK operation. Signed with the credentials the
//! SDK configuration resolves, sent with the one HTTP client builder (src/http.rs).

use std::time::SystemTime;

use aws_credential_types::provider::ProvideCredentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;

use super::{Aws, error_chain};
use crate::error::Error;

/// What came back: the HTTP status and the body as text.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub body: String,
}

/// Sign `GET url` for `service` in `aws.region` and send it.
pub async fn get(aws: &Aws, service: &'static str, url: &str) -> Result<Reply, Error> {
    let failed = |message: String| Error::Aws {
        service,
        operation: "sign request",
        message,
        help: "check the AWS credentials in use (`aws sts get-caller-identity`)".into(),
    };
    let provider = aws.sdk.credentials_provider().ok_or(Error::NoCredentials)?;
    let credentials = provider
        .provide_credentials()
        .await
        .map_err(|e| failed(format!("cannot load credentials: {}", error_chain(&e))))?;
    let parsed = url::Url::parse(url).map_err(|e| failed(format!("bad URL {url}: {e}")))?;
    let host = match (parsed.host_str(), parsed.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_string(),
        _ => return Err(failed(format!("URL {url} has no host"))),
    };
    let headers = [("host", host.as_str())];
    let request = SignableRequest::new("GET", url, headers.into_iter(), SignableBody::Bytes(&[]))
        .map_err(|e| failed(format!("cannot build the request to sign: {e}")))?;
    let identity = credentials.into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(&aws.region)
        .name(service)
        .time(SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| failed(format!("cannot sign: {e}")))?
        .into();
    let (instructions, _) = sign(request, &params)
        .map_err(|e| failed(format!("cannot sign: {e}")))?
        .into_parts();
    let client = crate::http::client(service, None)?;
    let mut req = client.get(url);
    for (name, value) in instructions.headers() {
        req = req.header(name, value);
    }
    let resp = crate::http::send(service, "query", req).await?;
    let status = resp.status().as_u16();
    let body = resp.text().await.unwrap_or_default();
    Ok(Reply { status, body })
}
