//! Verify an EKS bearer token the way the cluster's authenticator does, without calling STS:
//! decode the presigned `GetCallerIdentity` URL, check its shape and age, then recompute its
//! SigV4 query-string signature with the known secret key and this cluster's name as the
//! `x-k8s-aws-id` header. An independent SigV4 implementation (sha2 + hand-written HMAC), so
//! it really checks what `meshctl::aws::eks_token` signs.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use base64::Engine;
use chrono::{DateTime, NaiveDateTime, Utc};
use sha2::{Digest, Sha256};

pub const PREFIX: &str = "k8s-aws-v1.";
/// How long after signing the authenticator accepts a token.
pub const MAX_AGE: Duration = Duration::from_secs(15 * 60);
/// Clock skew tolerated for a token signed "in the future".
pub const SKEW: Duration = Duration::from_secs(5 * 60);

/// What the fake accepts: the cluster name and access key id → secret key pairs.
#[derive(Clone, Debug)]
pub struct EksAuth {
    pub cluster: String,
    pub region: String,
    pub keys: HashMap<String, String>,
}

impl EksAuth {
    /// The access key id the token was signed with, or why it is rejected.
    pub fn verify(&self, token: &str, now: SystemTime) -> Result<String, String> {
        let b64 = token
            .strip_prefix(PREFIX)
            .ok_or("the token does not start with k8s-aws-v1.")?;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(b64.trim_end_matches('='))
            .map_err(|e| format!("the token is not base64url: {e}"))?;
        let text = String::from_utf8(bytes).map_err(|_| "the token is not UTF-8")?;
        let url = url::Url::parse(&text).map_err(|e| format!("the token is not a URL: {e}"))?;
        if url.scheme() != "https" {
            return Err("the presigned URL is not https".into());
        }
        let host = format!("sts.{}.amazonaws.com", self.region);
        if url.host_str() != Some(host.as_str()) {
            return Err(format!("the presigned URL's host is not {host}"));
        }
        if url.path() != "/" {
            return Err("the presigned URL's path is not /".into());
        }
        let params: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        let get = |k: &str| {
            params
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.as_str())
                .ok_or(format!("{k} is missing"))
        };
        if get("Action")? != "GetCallerIdentity" {
            return Err("Action is not GetCallerIdentity".into());
        }
        if get("Version")? != "2011-06-15" {
            return Err("Version is not 2011-06-15".into());
        }
        if get("X-Amz-Algorithm")? != "AWS4-HMAC-SHA256" {
            return Err("X-Amz-Algorithm is not AWS4-HMAC-SHA256".into());
        }
        let expires: u64 = get("X-Amz-Expires")?
            .parse()
            .map_err(|_| "X-Amz-Expires is not a number")?;
        if expires > 60 {
            return Err("X-Amz-Expires is more than 60".into());
        }
        let amz_date = get("X-Amz-Date")?;
        let signed_at: DateTime<Utc> = NaiveDateTime::parse_from_str(amz_date, "%Y%m%dT%H%M%SZ")
            .map_err(|_| "X-Amz-Date is not a timestamp")?
            .and_utc();
        let now: DateTime<Utc> = now.into();
        if signed_at > now + SKEW {
            return Err("the token is signed in the future".into());
        }
        if now - signed_at > chrono::Duration::from_std(MAX_AGE).unwrap_or_default() {
            return Err("the token expired (signed more than 15 minutes ago)".into());
        }
        let signed_headers = get("X-Amz-SignedHeaders")?;
        if !signed_headers.split(';').any(|h| h == "x-k8s-aws-id") {
            return Err("x-k8s-aws-id is not a signed header".into());
        }
        let credential = get("X-Amz-Credential")?;
        let mut scope = credential.splitn(2, '/');
        let key_id = scope.next().unwrap_or_default();
        let scope = scope.next().ok_or("X-Amz-Credential has no scope")?;
        let secret = self
            .keys
            .get(key_id)
            .ok_or(format!("unknown access key id {key_id}"))?;
        let parts: Vec<&str> = scope.split('/').collect();
        let [date, region, service, terminator] = parts[..] else {
            return Err("X-Amz-Credential's scope is malformed".into());
        };
        if region != self.region || service != "sts" || terminator != "aws4_request" {
            return Err("X-Amz-Credential's scope is not this region's STS".into());
        }
        // Canonical request: every query parameter but the signature, sorted and encoded.
        let mut query: Vec<(String, String)> = params
            .iter()
            .filter(|(k, _)| k != "X-Amz-Signature")
            .map(|(k, v)| (encode(k), encode(v)))
            .collect();
        query.sort();
        let query: Vec<String> = query.into_iter().map(|(k, v)| format!("{k}={v}")).collect();
        let mut headers = vec![];
        for h in signed_headers.split(';') {
            let value = match h {
                "host" => host.as_str(),
                "x-k8s-aws-id" => self.cluster.as_str(),
                other => return Err(format!("unexpected signed header {other}")),
            };
            headers.push(format!("{h}:{value}\n"));
        }
        let canonical = format!(
            "GET\n/\n{}\n{}\n{signed_headers}\n{}",
            query.join("&"),
            headers.concat(),
            hex::encode(Sha256::digest(b""))
        );
        let to_sign = format!(
            "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
            hex::encode(Sha256::digest(canonical.as_bytes()))
        );
        let mut key = hmac(format!("AWS4{secret}").as_bytes(), date.as_bytes());
        for part in [region, service, terminator] {
            key = hmac(&key, part.as_bytes());
        }
        let expected = hex::encode(hmac(&key, to_sign.as_bytes()));
        if get("X-Amz-Signature")? != expected {
            return Err(
                "the signature does not match (wrong secret key or another cluster's token)".into(),
            );
        }
        Ok(key_id.to_string())
    }
}

/// SigV4 URI encoding: everything but unreserved characters as uppercase %XX.
fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// HMAC-SHA256 (RFC 2104).
fn hmac(key: &[u8], msg: &[u8]) -> Vec<u8> {
    const BLOCK: usize = 64;
    let mut k = if key.len() > BLOCK {
        Sha256::digest(key).to_vec()
    } else {
        key.to_vec()
    };
    k.resize(BLOCK, 0);
    let inner: Vec<u8> = k.iter().map(|b| b ^ 0x36).collect();
    let outer: Vec<u8> = k.iter().map(|b| b ^ 0x5c).collect();
    let mut h = Sha256::new();
    h.update(&inner);
    h.update(msg);
    let inner_hash = h.finalize();
    let mut h = Sha256::new();
    h.update(&outer);
    h.update(inner_hash);
    h.finalize().to_vec()
}

#[test]
fn hmac_matches_rfc_4231_case_2() {
    let mac = hmac(b"Jefe", b"what do ya want for nothing?");
    assert_eq!(
        hex::encode(mac),
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
}
