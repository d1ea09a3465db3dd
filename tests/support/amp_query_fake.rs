//! The Prometheus-compatible query API of an AMP workspace
//! (`GET /workspaces/<id>/api/v1/query?query=…`), as a real HTTP server on 127.0.0.1.
//!
//! Like AMP it checks the SigV4 signature: the `Authorization` header must name service `aps`
//! and the region, and its signature must be the one the known test secret gives for the
//! request as received (recomputed here with the same signing library); anything else is
//! refused with 403 and AMP's message. Modes say what a correctly signed query finds: series
//! for the mesh's workloads, nothing, or a refusal (as for a role without query access).

use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use serde_json::json;

use super::http_fake::{Request, Response, serve};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `istio_requests_total` has series for two Bookinfo workloads.
    Healthy,
    /// The workspace answers, but holds no Istio metrics.
    Empty,
    /// Every query is refused (403), as for credentials without aps:QueryMetrics.
    Refuse,
}

pub struct AmpQueryFake {
    pub url: String,
    pub workspace_id: String,
    mode: Arc<Mutex<Mode>>,
    /// Queries refused for a bad or missing signature.
    pub bad_signatures: Arc<Mutex<u32>>,
    /// Correctly signed queries received.
    pub queries: Arc<Mutex<Vec<String>>>,
}

const SIGNATURE_MISMATCH: &str = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.";

impl AmpQueryFake {
    /// Serve workspace `workspace_id` in `region`, accepting signatures made with the access
    /// key and secret that ./test.sh exports (`testing` / `testing`).
    pub fn start(workspace_id: &str, region: &str, mode: Mode) -> AmpQueryFake {
        let mode = Arc::new(Mutex::new(mode));
        let bad = Arc::new(Mutex::new(0));
        let queries = Arc::new(Mutex::new(vec![]));
        let (m, b, q) = (mode.clone(), bad.clone(), queries.clone());
        let ws = workspace_id.to_string();
        let region = region.to_string();
        let base = Arc::new(Mutex::new(String::new()));
        let b2 = base.clone();
        let url = serve(Arc::new(move |req: &Request| {
            let path = req.path();
            if path.len() < 5 || path[0] != "workspaces" || path[2..] != ["api", "v1", "query"] {
                return Response::json(404, json!({"message": "Not Found"}));
            }
            if path[1] != ws {
                return Response::json(
                    404,
                    json!({"message": format!("Workspace not found: {}", path[1])}),
                );
            }
            let full = format!("{}{}", b2.lock().unwrap(), req.target);
            if !signature_ok(req, &full, &region) {
                *b.lock().unwrap() += 1;
                return Response::json(403, json!({"message": SIGNATURE_MISMATCH}))
                    .header("x-amzn-errortype", "InvalidSignatureException");
            }
            let query = req.query("query").unwrap_or_default().to_string();
            q.lock().unwrap().push(query.clone());
            match *m.lock().unwrap() {
                Mode::Refuse => Response::json(
                    403,
                    json!({"message": "User: arn:aws:iam::123456789012:user/test is not authorized to perform: aps:QueryMetrics"}),
                )
                .header("x-amzn-errortype", "AccessDeniedException"),
                Mode::Empty => vector(vec![]),
                Mode::Healthy if query.contains("istio_requests_total") => vector(vec![
                    json!({"metric": {"destination_workload": "productpage-v1", "destination_workload_namespace": "bookinfo"}, "value": [1.0, "2.5"]}),
                    json!({"metric": {"destination_workload": "reviews-v2", "destination_workload_namespace": "bookinfo"}, "value": [1.0, "0.8"]}),
                ]),
                Mode::Healthy => vector(vec![]),
            }
        }));
        *base.lock().unwrap() = url.clone();
        AmpQueryFake {
            url,
            workspace_id: workspace_id.to_string(),
            mode,
            bad_signatures: bad,
            queries,
        }
    }

    /// The workspace's `prometheusEndpoint`, as AMP reports it (ends with `/`).
    pub fn endpoint(&self) -> String {
        format!("{}/workspaces/{}/", self.url, self.workspace_id)
    }

    pub fn set_mode(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }
}

fn vector(result: Vec<serde_json::Value>) -> Response {
    Response::json(
        200,
        json!({"status": "success", "data": {"resultType": "vector", "result": result}}),
    )
}

/// Recompute the SigV4 signature of the request as received and compare.
fn signature_ok(req: &Request, full_url: &str, region: &str) -> bool {
    let Some(auth) = req.header("authorization") else {
        return false;
    };
    let Some(rest) = auth.strip_prefix("AWS4-HMAC-SHA256 ") else {
        return false;
    };
    let field = |name: &str| {
        rest.split(", ")
            .find_map(|p| p.strip_prefix(&format!("{name}=")))
            .map(str::to_string)
    };
    let (Some(credential), Some(signed), Some(signature)) = (
        field("Credential"),
        field("SignedHeaders"),
        field("Signature"),
    ) else {
        return false;
    };
    // Credential = <key>/<date>/<region>/aps/aws4_request
    let scope: Vec<&str> = credential.split('/').collect();
    if scope.len() != 5 || scope[0] != "testing" || scope[2] != region || scope[3] != "aps" {
        return false;
    }
    let Some(amz_date) = req.header("x-amz-date") else {
        return false;
    };
    let Ok(when) = chrono::NaiveDateTime::parse_from_str(amz_date, "%Y%m%dT%H%M%SZ") else {
        return false;
    };
    let time: SystemTime = when.and_utc().into();
    let headers: Vec<(String, String)> = signed
        .split(';')
        .filter_map(|h| req.header(h).map(|v| (h.to_string(), v.to_string())))
        .collect();
    if headers.len() != signed.split(';').count() {
        return false;
    }
    let Ok(request) = SignableRequest::new(
        &req.method,
        full_url,
        headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        SignableBody::Bytes(&[]),
    ) else {
        return false;
    };
    let identity = Credentials::new("testing", "testing", None, None, "amp-query-fake").into();
    let Ok(params) = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("aps")
        .time(time)
        .settings(SigningSettings::default())
        .build()
    else {
        return false;
    };
    let Ok(out) = sign(request, &params.into()) else {
        return false;
    };
    let (_, expected) = out.into_parts();
    expected == signature
}
