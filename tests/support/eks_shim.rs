//! An EKS shim in front of moto: a real HTTP server on 127.0.0.1 that serves the EKS operations
//! moto 5.2.5 lacks and forwards every other request to moto unchanged.
//!
//! Served here (REST-JSON, paths and field names as in the aws-sdk-eks serializers):
//! - `DescribeClusterVersions` (`GET /cluster-versions`), from a list the test can change;
//! - access entries (`/clusters/<name>/access-entries[/<principal>[/access-policies[/<policy>]]]`);
//! - pod identity associations (`/clusters/<name>/pod-identity-associations[/<id>]`);
//! - add-ons (`/clusters/<name>/addons[/<addon>]`).
//!
//! Rewritten on the way through:
//! - `CreateCluster`: the version is checked against the supported list (400
//!   `InvalidParameterException` as EKS answers), `accessConfig` is kept (moto drops it), and,
//!   as EKS does, a cluster security group `eks-cluster-sg-<name>-<n>` is created in moto's
//!   EC2 in the cluster's VPC; with `bootstrapClusterCreatorAdminPermissions` (the default) the
//!   caller gets an access entry with `AmazonEKSClusterAdminPolicy`;
//! - `DescribeCluster`/`CreateCluster`/`DeleteCluster` answers gain `accessConfig`,
//!   `resourcesVpcConfig.vpcId` and `clusterSecurityGroupId`, and an OIDC issuer unique to the
//!   cluster (moto gives every cluster of a region the same one);
//! - `DeleteCluster` drops the cluster's access entries, associations and add-ons, and deletes
//!   the cluster security group (as EKS does).
//!
//! Errors use AWS's JSON error shape (`{"message": ...}`) and the `x-amzn-errortype` header:
//! `ResourceNotFoundException` 404, `ResourceInUseException` 409, `InvalidParameterException`
//! 400. The shim records every request it sees (EKS or not) so tests can count mutating calls;
//! point `AWS_ENDPOINT_URL` at it too to see EC2/IAM calls, which it forwards untouched.
//! A test can make one operation fail (`fail_next`) to exercise rollback.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

/// One request as seen by the shim.
#[derive(Debug, Clone)]
pub struct Call {
    /// The SigV4 service (`eks`, `ec2`, `iam`, `sts`, ...), from the credential scope.
    pub service: String,
    /// `METHOD /path` for REST services, the `Action` for query services (`CreateVpc`).
    pub operation: String,
}

impl Call {
    /// Whether this call may change something: everything but reads.
    pub fn mutating(&self) -> bool {
        let op = self.operation.as_str();
        if let Some(method) = op
            .split_whitespace()
            .next()
            .filter(|m| matches!(*m, "GET" | "POST" | "PUT" | "DELETE" | "PATCH" | "HEAD"))
        {
            return method != "GET" && method != "HEAD";
        }
        !(op.starts_with("Describe")
            || op.starts_with("List")
            || op.starts_with("Get")
            || op == "GetCallerIdentity")
    }
}

#[derive(Debug, Clone)]
pub struct AccessEntry {
    pub principal_arn: String,
    pub kind: String,
    pub username: String,
    pub groups: Vec<String>,
    pub tags: BTreeMap<String, String>,
    /// `(policy ARN, access scope)`.
    pub policies: Vec<(String, Value)>,
}

#[derive(Debug, Clone)]
pub struct PodIdentity {
    pub id: String,
    pub namespace: String,
    pub service_account: String,
    pub role_arn: String,
    pub tags: BTreeMap<String, String>,
}

#[derive(Debug, Clone)]
pub struct Addon {
    pub name: String,
    pub version: String,
    pub tags: BTreeMap<String, String>,
}

/// What the shim keeps per cluster (moto keeps the rest).
#[derive(Debug, Clone, Default)]
pub struct ClusterExtra {
    pub access_config: Value,
    pub vpc_id: String,
    pub cluster_security_group_id: String,
    pub issuer: String,
    pub access_entries: Vec<AccessEntry>,
    pub pod_identities: Vec<PodIdentity>,
    pub addons: Vec<Addon>,
}

/// An injected failure: the next `times` requests whose `METHOD /path` starts with `prefix`
/// get this error.
#[derive(Debug, Clone)]
pub struct Fault {
    pub prefix: String,
    pub status: u16,
    pub kind: String,
    pub message: String,
    pub times: u32,
}

#[derive(Default)]
pub struct ShimState {
    pub clusters: BTreeMap<String, ClusterExtra>,
    /// `(version, status)`; the first `STANDARD_SUPPORT` one is the default.
    pub versions: Vec<(String, String)>,
    pub calls: Vec<Call>,
    pub faults: Vec<Fault>,
    seq: u64,
    /// Status holds of the latency emulator (tests/support/latency.rs); `None`: off.
    pub latency: Option<super::latency::Holds>,
    /// Clusters a test registered without creating them in moto.
    registered: std::collections::BTreeSet<String>,
}

/// The running shim.
#[derive(Clone)]
pub struct EksShim {
    pub url: String,
    pub upstream: String,
    pub state: Arc<Mutex<ShimState>>,
}

/// Versions EKS offers in late 2026 (newest first): standard support, then extended.
pub const VERSIONS: &[(&str, &str)] = &[
    ("1.36", "STANDARD_SUPPORT"),
    ("1.35", "STANDARD_SUPPORT"),
    ("1.34", "STANDARD_SUPPORT"),
    ("1.33", "EXTENDED_SUPPORT"),
    ("1.32", "EXTENDED_SUPPORT"),
];

impl EksShim {
    /// Start the shim in front of `upstream` (moto's `http://127.0.0.1:PORT`).
    pub fn start(upstream: &str) -> EksShim {
        let state = Arc::new(Mutex::new(ShimState {
            versions: VERSIONS
                .iter()
                .map(|(v, s)| (v.to_string(), s.to_string()))
                .collect(),
            ..Default::default()
        }));
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let addr = listener.local_addr().expect("local address");
        let upstream = upstream.trim_end_matches('/').to_string();
        let (st, up) = (state.clone(), upstream.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (st, up) = (st.clone(), up.clone());
                std::thread::spawn(move || {
                    let _ = serve_one(stream, &st, &up);
                });
            }
        });
        EksShim {
            url: format!("http://{addr}"),
            upstream,
            state,
        }
    }

    /// Every call seen so far.
    pub fn calls(&self) -> Vec<Call> {
        self.state.lock().unwrap().calls.clone()
    }

    /// Calls that may change something, as `service operation`.
    pub fn mutating_calls(&self) -> Vec<String> {
        self.calls()
            .into_iter()
            .filter(Call::mutating)
            .map(|c| format!("{} {}", c.service, c.operation))
            .collect()
    }

    /// Forget the calls seen so far.
    pub fn reset_calls(&self) {
        self.state.lock().unwrap().calls.clear();
    }

    /// Make the next `times` requests whose `METHOD /path` starts with `prefix` fail.
    pub fn fail_next(&self, prefix: &str, status: u16, kind: &str, message: &str, times: u32) {
        self.state.lock().unwrap().faults.push(Fault {
            prefix: prefix.into(),
            status,
            kind: kind.into(),
            message: message.into(),
            times,
        });
    }

    /// Hold statuses for the latency table from now on (tests/support/latency.rs).
    pub fn set_latency(&self, holds: super::latency::Holds) {
        self.state.lock().unwrap().latency = Some(holds);
    }

    /// With latency on, whether some node group is ACTIVE; without, always true.
    pub fn latency_nodes_active(&self) -> bool {
        self.state
            .lock()
            .unwrap()
            .latency
            .as_ref()
            .is_none_or(|h| h.nodes_active())
    }

    /// What the shim keeps about `cluster`, `None` when it does not know it.
    pub fn cluster(&self, cluster: &str) -> Option<ClusterExtra> {
        self.state.lock().unwrap().clusters.get(cluster).cloned()
    }

    /// Serve access entries, pod identity associations and add-ons for `cluster` without
    /// creating it in moto (a test that seeds the cluster step's outputs).
    pub fn register_cluster(&self, cluster: &str) {
        let mut st = self.state.lock().unwrap();
        st.clusters.entry(cluster.to_string()).or_default();
        st.registered.insert(cluster.to_string());
    }

    /// Install add-on `name` on `cluster` as someone else would (untagged).
    pub fn install_addon(&self, cluster: &str, name: &str) {
        let version = ADDONS
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.to_string())
            .unwrap_or_default();
        if let Some(c) = self.state.lock().unwrap().clusters.get_mut(cluster) {
            c.addons.push(Addon {
                name: name.into(),
                version,
                tags: BTreeMap::new(),
            });
        }
    }

    pub fn has_addon(&self, cluster: &str, name: &str) -> bool {
        self.cluster(cluster)
            .is_some_and(|c| c.addons.iter().any(|a| a.name == name))
    }

    /// `(namespace, service account, role ARN)` of every pod identity association.
    pub fn associations(&self, cluster: &str) -> Vec<(String, String, String)> {
        self.cluster(cluster)
            .map(|c| {
                c.pod_identities
                    .iter()
                    .map(|a| {
                        (
                            a.namespace.clone(),
                            a.service_account.clone(),
                            a.role_arn.clone(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

// ---------------------------------------------------------------------------------------
// HTTP plumbing
// ---------------------------------------------------------------------------------------

struct Incoming {
    method: String,
    /// The raw request target (path and query), as sent.
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Incoming {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn service(&self) -> String {
        // Credential=AKID/20260101/us-east-1/eks/aws4_request
        self.header("authorization")
            .and_then(|a| a.split("Credential=").nth(1))
            .and_then(|c| c.split('/').nth(3))
            .unwrap_or_default()
            .to_string()
    }

    fn path_and_query(&self) -> (Vec<String>, Vec<(String, String)>) {
        let url = url::Url::parse(&format!("http://shim{}", self.target))
            .unwrap_or_else(|_| url::Url::parse("http://shim/").expect("a URL"));
        let segments = self
            .target
            .split('?')
            .next()
            .unwrap_or_default()
            .split('/')
            .filter(|s| !s.is_empty())
            .map(percent_decode)
            .collect();
        let query = url
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        (segments, query)
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

struct Outgoing {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Outgoing {
    fn json(status: u16, body: Value) -> Outgoing {
        Outgoing {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: serde_json::to_vec(&body).expect("JSON"),
        }
    }
}

fn error(status: u16, kind: &str, message: &str) -> Outgoing {
    let mut o = Outgoing::json(status, json!({"message": message}));
    o.headers.push(("x-amzn-errortype".into(), kind.into()));
    o
}

fn not_found(message: &str) -> Outgoing {
    error(404, "ResourceNotFoundException", message)
}

fn in_use(message: &str) -> Outgoing {
    error(409, "ResourceInUseException", message)
}

fn invalid(message: &str) -> Outgoing {
    error(400, "InvalidParameterException", message)
}

fn read_request(stream: &TcpStream) -> std::io::Result<Incoming> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let target = parts.next().unwrap_or("/").to_string();
    let mut headers = vec![];
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let len: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body)?;
    Ok(Incoming {
        method,
        target,
        headers,
        body,
    })
}

fn write_response(mut stream: &TcpStream, out: Outgoing) -> std::io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {} {}\r\nContent-Length: {}\r\nConnection: close\r\n",
        out.status,
        reason(out.status),
        out.body.len()
    );
    for (k, v) in &out.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(&out.body)?;
    stream.flush()
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        409 => "Conflict",
        500 => "Internal Server Error",
        _ => "Status",
    }
}

/// Send one request to moto and read its whole answer.
fn upstream_call(
    upstream: &str,
    method: &str,
    target: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> std::io::Result<Outgoing> {
    super::http_fake::call(upstream, method, target, headers, body).map(|a| Outgoing {
        status: a.status,
        headers: a.headers,
        body: a.body,
    })
}

fn forward(req: &Incoming, upstream: &str) -> Outgoing {
    upstream_call(upstream, &req.method, &req.target, &req.headers, &req.body)
        .unwrap_or_else(|e| error(502, "ServiceUnavailableException", &format!("moto: {e}")))
}

/// An EC2 query call to moto, signed only in form (moto does not check signatures).
fn ec2_call(upstream: &str, params: &[(&str, String)]) -> Option<String> {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params.iter().map(|(k, v)| (*k, v.as_str())))
        .finish();
    let headers = vec![
        (
            "Content-Type".to_string(),
            "application/x-www-form-urlencoded; charset=utf-8".to_string(),
        ),
        (
            "Authorization".to_string(),
            "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/ec2/aws4_request, \
             SignedHeaders=host, Signature=0"
                .to_string(),
        ),
        (
            "Host".to_string(),
            upstream.trim_start_matches("http://").to_string(),
        ),
    ];
    let out = upstream_call(upstream, "POST", "/", &headers, body.as_bytes()).ok()?;
    (out.status == 200).then(|| String::from_utf8_lossy(&out.body).into_owned())
}

/// The caller as moto's STS reports it, as the IAM principal EKS records for the creator
/// (an assumed role's session becomes its role).
fn caller_arn(upstream: &str) -> String {
    let headers = vec![
        (
            "Content-Type".to_string(),
            "application/x-www-form-urlencoded; charset=utf-8".to_string(),
        ),
        (
            "Authorization".to_string(),
            "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/sts/aws4_request, \
             SignedHeaders=host, Signature=0"
                .to_string(),
        ),
        (
            "Host".to_string(),
            upstream.trim_start_matches("http://").to_string(),
        ),
    ];
    let arn = upstream_call(
        upstream,
        "POST",
        "/",
        &headers,
        b"Action=GetCallerIdentity&Version=2011-06-15",
    )
    .ok()
    .and_then(|o| xml_value(&String::from_utf8_lossy(&o.body), "Arn"))
    .unwrap_or_else(|| "arn:aws:iam::123456789012:root".into());
    principal_of(&arn)
}

/// `arn:aws:sts::A:assumed-role/R/S` -> `arn:aws:iam::A:role/R`; IAM ARNs unchanged.
pub fn principal_of(arn: &str) -> String {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    if parts.len() == 6 && parts[2] == "sts" {
        if let Some(rest) = parts[5].strip_prefix("assumed-role/") {
            let role = rest.split('/').next().unwrap_or_default();
            return format!("arn:{}:iam::{}:role/{role}", parts[1], parts[4]);
        }
        return format!("arn:{}:iam::{}:{}", parts[1], parts[4], parts[5]);
    }
    arn.to_string()
}

fn xml_value(xml: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&format!("</{tag}>"))? + start;
    Some(xml[start..end].to_string())
}

fn epoch() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

fn account_of(principal: &str) -> String {
    principal
        .split(':')
        .nth(4)
        .unwrap_or("123456789012")
        .to_string()
}

// ---------------------------------------------------------------------------------------
// Dispatch
// ---------------------------------------------------------------------------------------

fn serve_one(
    stream: TcpStream,
    state: &Arc<Mutex<ShimState>>,
    upstream: &str,
) -> std::io::Result<()> {
    let req = read_request(&stream)?;
    let service = req.service();
    let (segments, query) = req.path_and_query();
    let path = format!("/{}", segments.join("/"));
    // Query services (EC2, IAM, STS) post an `Action` to `/`; REST services name the
    // resource in the path.
    let action = (service != "eks" && segments.is_empty())
        .then(|| {
            url::form_urlencoded::parse(&req.body)
                .find(|(k, _)| k == "Action")
                .map(|(_, v)| v.into_owned())
        })
        .flatten();
    let operation = action.unwrap_or_else(|| format!("{} {}", req.method, path));
    let fault = {
        let mut st = state.lock().unwrap();
        st.calls.push(Call {
            service: service.clone(),
            operation: operation.clone(),
        });
        let key = format!("{} {}", req.method, path);
        let mut hit = None;
        for f in st.faults.iter_mut() {
            if f.times > 0 && (key.starts_with(&f.prefix) || operation.starts_with(&f.prefix)) {
                f.times -= 1;
                hit = Some(error(f.status, &f.kind, &f.message));
                break;
            }
        }
        hit
    };
    if let Some(out) = fault {
        return write_response(&stream, out);
    }
    let out = if service == "eks" {
        eks(&req, &segments, &query, state, upstream)
    } else {
        forward(&req, upstream)
    };
    let out = held_by_latency(out, &req.method, &service, &segments, &operation, state);
    write_response(&stream, out)
}

/// The answer as the latency emulator holds it (CREATING, DELETING, pending), when it is on.
fn held_by_latency(
    mut out: Outgoing,
    method: &str,
    service: &str,
    segments: &[String],
    operation: &str,
    state: &Arc<Mutex<ShimState>>,
) -> Outgoing {
    let mut st = state.lock().unwrap();
    let Some(holds) = st.latency.as_mut() else {
        return out;
    };
    if let Some((status, body)) =
        holds.rewrite(service, method, segments, operation, out.status, &out.body)
    {
        if status != out.status {
            out.headers
                .retain(|(k, _)| !k.eq_ignore_ascii_case("x-amzn-errortype"));
        }
        out.status = status;
        out.body = body;
    }
    out
}

fn eks(
    req: &Incoming,
    segments: &[String],
    query: &[(String, String)],
    state: &Arc<Mutex<ShimState>>,
    upstream: &str,
) -> Outgoing {
    let seg: Vec<&str> = segments.iter().map(String::as_str).collect();
    let m = req.method.as_str();
    match (m, seg.as_slice()) {
        ("GET", ["cluster-versions"]) => describe_versions(state, query),
        ("POST", ["clusters"]) => create_cluster(req, state, upstream),
        ("GET", ["clusters", name]) => {
            let out = forward(req, upstream);
            decorate(out, name, state)
        }
        ("DELETE", ["clusters", name]) => {
            let out = forward(req, upstream);
            if out.status != 200 {
                return out;
            }
            let out = decorate(out, name, state);
            let extra = state.lock().unwrap().clusters.remove(*name);
            if let Some(extra) = extra
                && !extra.cluster_security_group_id.is_empty()
            {
                ec2_call(
                    upstream,
                    &[
                        ("Action", "DeleteSecurityGroup".into()),
                        ("Version", "2016-11-15".into()),
                        ("GroupId", extra.cluster_security_group_id.clone()),
                    ],
                );
            }
            out
        }
        (_, ["clusters", name, "access-entries", rest @ ..]) => {
            let Some(cluster) = cluster_known(req, name, state, upstream) else {
                return not_found(&format!("No cluster found for name: {name}."));
            };
            access_entries(m, &cluster, rest, req, query, state)
        }
        (_, ["clusters", name, "pod-identity-associations", rest @ ..]) => {
            let Some(cluster) = cluster_known(req, name, state, upstream) else {
                return not_found(&format!("No cluster found for name: {name}."));
            };
            pod_identities(m, &cluster, rest, req, query, state)
        }
        (_, ["clusters", name, "addons", rest @ ..]) => {
            let Some(cluster) = cluster_known(req, name, state, upstream) else {
                return not_found(&format!("No cluster found for name: {name}."));
            };
            addons(m, &cluster, rest, req, state)
        }
        _ => forward(req, upstream),
    }
}

fn describe_versions(state: &Arc<Mutex<ShimState>>, query: &[(String, String)]) -> Outgoing {
    let st = state.lock().unwrap();
    let wanted: Vec<&str> = query
        .iter()
        .filter(|(k, _)| k == "clusterVersions")
        .map(|(_, v)| v.as_str())
        .collect();
    let default_only = query.iter().any(|(k, v)| k == "defaultOnly" && v == "true");
    let default = st
        .versions
        .iter()
        .find(|(_, s)| s == "STANDARD_SUPPORT")
        .map(|(v, _)| v.clone());
    let list: Vec<Value> = st
        .versions
        .iter()
        .filter(|(v, _)| wanted.is_empty() || wanted.contains(&v.as_str()))
        .filter(|(v, _)| !default_only || Some(v) == default.as_ref())
        .map(|(v, s)| {
            json!({
                "clusterVersion": v,
                "clusterType": "eks",
                "defaultPlatformVersion": "eks.1",
                "defaultVersion": Some(v) == default.as_ref(),
                "status": s,
                "versionStatus": s,
                "kubernetesPatchVersion": format!("{v}.0"),
            })
        })
        .collect();
    Outgoing::json(200, json!({"clusterVersions": list}))
}

fn create_cluster(req: &Incoming, state: &Arc<Mutex<ShimState>>, upstream: &str) -> Outgoing {
    let body = req.json();
    let name = body["name"].as_str().unwrap_or_default().to_string();
    if let Some(v) = body["version"].as_str() {
        let supported: Vec<String> = state
            .lock()
            .unwrap()
            .versions
            .iter()
            .map(|(v, _)| v.clone())
            .collect();
        if !supported.iter().any(|s| s == v) {
            return invalid(&format!(
                "unsupported Kubernetes version {v}; supported versions: {}",
                supported.join(", ")
            ));
        }
    }
    let mut access = body["accessConfig"].clone();
    if access.is_null() {
        access = json!({});
    }
    let mode = access["authenticationMode"]
        .as_str()
        .unwrap_or("CONFIG_MAP")
        .to_string();
    if !matches!(mode.as_str(), "API" | "API_AND_CONFIG_MAP" | "CONFIG_MAP") {
        return invalid(&format!("invalid authenticationMode {mode}"));
    }
    let bootstrap = access["bootstrapClusterCreatorAdminPermissions"]
        .as_bool()
        .unwrap_or(true);
    let out = forward(req, upstream);
    if out.status != 200 {
        return out;
    }
    let subnet = body["resourcesVpcConfig"]["subnetIds"][0]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let vpc_id = ec2_call(
        upstream,
        &[
            ("Action", "DescribeSubnets".into()),
            ("Version", "2016-11-15".into()),
            ("SubnetId.1", subnet),
        ],
    )
    .and_then(|x| xml_value(&x, "vpcId"))
    .unwrap_or_default();
    let seq = {
        let mut st = state.lock().unwrap();
        st.seq += 1;
        st.seq
    };
    let sg = if vpc_id.is_empty() {
        String::new()
    } else {
        ec2_call(
            upstream,
            &[
                ("Action", "CreateSecurityGroup".into()),
                ("Version", "2016-11-15".into()),
                ("GroupName", format!("eks-cluster-sg-{name}-{seq}")),
                (
                    "GroupDescription",
                    "EKS created security group applied to ENI that is attached to EKS Control Plane master nodes, as well as any managed workloads.".into(),
                ),
                ("VpcId", vpc_id.clone()),
                ("TagSpecification.1.ResourceType", "security-group".into()),
                ("TagSpecification.1.Tag.1.Key", format!("kubernetes.io/cluster/{name}")),
                ("TagSpecification.1.Tag.1.Value", "owned".into()),
            ],
        )
        .and_then(|x| xml_value(&x, "groupId"))
        .unwrap_or_default()
    };
    let issuer = {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(format!("{name}/{seq}/{}", epoch()).as_bytes());
        format!(
            "https://oidc.eks.us-east-1.amazonaws.com/id/{}",
            hex::encode_upper(&digest[..16])
        )
    };
    let caller = caller_arn(upstream);
    let mut extra = ClusterExtra {
        access_config: json!({
            "authenticationMode": mode,
            "bootstrapClusterCreatorAdminPermissions": bootstrap,
        }),
        vpc_id,
        cluster_security_group_id: sg,
        issuer,
        ..Default::default()
    };
    if bootstrap && mode != "CONFIG_MAP" {
        extra.access_entries.push(AccessEntry {
            principal_arn: caller,
            kind: "STANDARD".into(),
            username: "kubernetes-admin".into(),
            groups: vec![],
            tags: BTreeMap::new(),
            policies: vec![(
                "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy".into(),
                json!({"type": "cluster"}),
            )],
        });
    }
    state.lock().unwrap().clusters.insert(name.clone(), extra);
    decorate(out, &name, state)
}

/// Add what the shim keeps to moto's `{"cluster": ...}` answer.
fn decorate(out: Outgoing, name: &str, state: &Arc<Mutex<ShimState>>) -> Outgoing {
    if out.status != 200 {
        return out;
    }
    let Ok(mut doc) = serde_json::from_slice::<Value>(&out.body) else {
        return out;
    };
    let st = state.lock().unwrap();
    if let Some(extra) = st.clusters.get(name) {
        let c = &mut doc["cluster"];
        c["accessConfig"] = extra.access_config.clone();
        if !extra.vpc_id.is_empty() {
            c["resourcesVpcConfig"]["vpcId"] = json!(extra.vpc_id);
        }
        if !extra.cluster_security_group_id.is_empty() {
            c["resourcesVpcConfig"]["clusterSecurityGroupId"] =
                json!(extra.cluster_security_group_id);
        }
        c["identity"]["oidc"]["issuer"] = json!(extra.issuer);
    } else if doc["cluster"]["accessConfig"].is_null() {
        doc["cluster"]["accessConfig"] = json!({"authenticationMode": "CONFIG_MAP"});
    }
    let mut headers: Vec<(String, String)> = out
        .headers
        .into_iter()
        .filter(|(k, _)| !k.eq_ignore_ascii_case("content-type"))
        .collect();
    headers.push(("Content-Type".into(), "application/json".into()));
    Outgoing {
        status: 200,
        headers,
        body: serde_json::to_vec(&doc).expect("JSON"),
    }
}

/// The shim's record of `name`, after checking with moto that the cluster exists. A cluster
/// created straight in moto (not through the shim) gets a record on first use.
fn cluster_known(
    req: &Incoming,
    name: &str,
    state: &Arc<Mutex<ShimState>>,
    upstream: &str,
) -> Option<String> {
    if state.lock().unwrap().registered.contains(name) {
        return Some(name.to_string());
    }
    let mut headers = req.headers.clone();
    headers.retain(|(k, _)| !k.eq_ignore_ascii_case("content-type"));
    let out = upstream_call(upstream, "GET", &format!("/clusters/{name}"), &headers, b"").ok()?;
    if out.status != 200 {
        return None;
    }
    state
        .lock()
        .unwrap()
        .clusters
        .entry(name.to_string())
        .or_insert_with(|| ClusterExtra {
            access_config: json!({"authenticationMode": "CONFIG_MAP"}),
            issuer: format!(
                "https://oidc.eks.us-east-1.amazonaws.com/id/{}",
                name.to_uppercase()
            ),
            ..Default::default()
        });
    Some(name.to_string())
}

fn entry_json(cluster: &str, e: &AccessEntry) -> Value {
    let account = account_of(&e.principal_arn);
    let now = epoch();
    json!({
        "clusterName": cluster,
        "principalArn": e.principal_arn,
        "kubernetesGroups": e.groups,
        "accessEntryArn": format!(
            "arn:aws:eks:us-east-1:{account}:access-entry/{cluster}/{}",
            e.principal_arn.replace(':', "/")
        ),
        "createdAt": now,
        "modifiedAt": now,
        "tags": e.tags,
        "username": e.username,
        "type": e.kind,
    })
}

fn access_entries(
    m: &str,
    cluster: &str,
    rest: &[&str],
    req: &Incoming,
    query: &[(String, String)],
    state: &Arc<Mutex<ShimState>>,
) -> Outgoing {
    let mut st = state.lock().unwrap();
    let Some(extra) = st.clusters.get_mut(cluster) else {
        return not_found(&format!("No cluster found for name: {cluster}."));
    };
    if extra.access_config["authenticationMode"] == "CONFIG_MAP" {
        return error(
            400,
            "InvalidRequestException",
            "The cluster's authentication mode must be set to one of [API, API_AND_CONFIG_MAP] to perform this operation.",
        );
    }
    let entries = &mut extra.access_entries;
    match (m, rest) {
        ("POST", []) => {
            let b = req.json();
            let Some(principal) = b["principalArn"].as_str() else {
                return invalid("principalArn is required");
            };
            if !principal.starts_with("arn:") {
                return invalid(&format!(
                    "The principalArn parameter format is not valid: {principal}"
                ));
            }
            if entries.iter().any(|e| e.principal_arn == principal) {
                return in_use(&format!(
                    "The specified access entry resource is already in use on this cluster: {principal}"
                ));
            }
            let e = AccessEntry {
                principal_arn: principal.into(),
                kind: b["type"].as_str().unwrap_or("STANDARD").into(),
                username: b["username"].as_str().unwrap_or(principal).into(),
                groups: b["kubernetesGroups"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|g| g.as_str().map(String::from))
                            .collect()
                    })
                    .unwrap_or_default(),
                tags: tags_of(&b["tags"]),
                policies: vec![],
            };
            let out = entry_json(cluster, &e);
            entries.push(e);
            Outgoing::json(200, json!({"accessEntry": out}))
        }
        ("GET", []) => {
            let arns: Vec<&str> = entries.iter().map(|e| e.principal_arn.as_str()).collect();
            let _ = query;
            Outgoing::json(200, json!({"accessEntries": arns}))
        }
        ("GET", [principal]) => match entries.iter().find(|e| e.principal_arn == *principal) {
            Some(e) => Outgoing::json(200, json!({"accessEntry": entry_json(cluster, e)})),
            None => not_found(&format!(
                "The specified principalArn could not be found: {principal}"
            )),
        },
        ("DELETE", [principal]) => match entries.iter().position(|e| e.principal_arn == *principal)
        {
            Some(i) => {
                entries.remove(i);
                Outgoing::json(200, json!({}))
            }
            None => not_found(&format!(
                "The specified principalArn could not be found: {principal}"
            )),
        },
        ("POST", [principal, "access-policies"]) => {
            let b = req.json();
            let Some(policy) = b["policyArn"].as_str() else {
                return invalid("policyArn is required");
            };
            if !policy.starts_with("arn:aws:eks::aws:cluster-access-policy/") {
                return invalid(&format!(
                    "The policyArn is not a valid access policy: {policy}"
                ));
            }
            let scope = b["accessScope"].clone();
            if !matches!(scope["type"].as_str(), Some("cluster") | Some("namespace")) {
                return invalid("accessScope.type must be cluster or namespace");
            }
            let Some(e) = entries.iter_mut().find(|e| e.principal_arn == *principal) else {
                return not_found(&format!(
                    "The specified principalArn could not be found: {principal}"
                ));
            };
            e.policies.retain(|(p, _)| p != policy);
            e.policies.push((policy.to_string(), scope.clone()));
            let now = epoch();
            Outgoing::json(
                200,
                json!({
                    "clusterName": cluster,
                    "principalArn": principal,
                    "associatedAccessPolicy": {
                        "policyArn": policy, "accessScope": scope,
                        "associatedAt": now, "modifiedAt": now,
                    }
                }),
            )
        }
        ("GET", [principal, "access-policies"]) => {
            let Some(e) = entries.iter().find(|e| e.principal_arn == *principal) else {
                return not_found(&format!(
                    "The specified principalArn could not be found: {principal}"
                ));
            };
            let now = epoch();
            let list: Vec<Value> = e
                .policies
                .iter()
                .map(|(p, s)| json!({"policyArn": p, "accessScope": s, "associatedAt": now, "modifiedAt": now}))
                .collect();
            Outgoing::json(
                200,
                json!({"clusterName": cluster, "principalArn": principal, "associatedAccessPolicies": list}),
            )
        }
        ("DELETE", [principal, "access-policies", policy]) => {
            let Some(e) = entries.iter_mut().find(|e| e.principal_arn == *principal) else {
                return not_found(&format!(
                    "The specified principalArn could not be found: {principal}"
                ));
            };
            let before = e.policies.len();
            e.policies.retain(|(p, _)| p != policy);
            if e.policies.len() == before {
                return not_found(&format!("The access policy {policy} is not associated"));
            }
            Outgoing::json(200, json!({}))
        }
        _ => error(
            400,
            "InvalidRequestException",
            "unknown access entry operation",
        ),
    }
}

fn tags_of(v: &Value) -> BTreeMap<String, String> {
    v.as_object()
        .map(|o| {
            o.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default()
}

fn association_json(cluster: &str, a: &PodIdentity, full: bool) -> Value {
    let arn = format!(
        "arn:aws:eks:us-east-1:{}:podidentityassociation/{cluster}/{}",
        account_of(&a.role_arn),
        a.id
    );
    let mut v = json!({
        "clusterName": cluster,
        "namespace": a.namespace,
        "serviceAccount": a.service_account,
        "associationArn": arn,
        "associationId": a.id,
    });
    if full {
        let now = epoch();
        v["roleArn"] = json!(a.role_arn);
        v["tags"] = json!(a.tags);
        v["createdAt"] = json!(now);
        v["modifiedAt"] = json!(now);
    }
    v
}

fn pod_identities(
    m: &str,
    cluster: &str,
    rest: &[&str],
    req: &Incoming,
    query: &[(String, String)],
    state: &Arc<Mutex<ShimState>>,
) -> Outgoing {
    let mut st = state.lock().unwrap();
    st.seq += 1;
    let seq = st.seq;
    let Some(extra) = st.clusters.get_mut(cluster) else {
        return not_found(&format!("No cluster found for name: {cluster}."));
    };
    let list = &mut extra.pod_identities;
    match (m, rest) {
        ("POST", []) => {
            let b = req.json();
            let (Some(ns), Some(sa), Some(role)) = (
                b["namespace"].as_str(),
                b["serviceAccount"].as_str(),
                b["roleArn"].as_str(),
            ) else {
                return invalid("namespace, serviceAccount and roleArn are required");
            };
            if !role.starts_with("arn:aws:iam::") || !role.contains(":role/") {
                return invalid(&format!("roleArn is not a valid IAM role ARN: {role}"));
            }
            if list
                .iter()
                .any(|a| a.namespace == ns && a.service_account == sa)
            {
                return in_use(&format!(
                    "Association already exists for service account {sa} in namespace {ns}"
                ));
            }
            let a = PodIdentity {
                id: format!("a-{:017x}", seq * 104_729),
                namespace: ns.into(),
                service_account: sa.into(),
                role_arn: role.into(),
                tags: tags_of(&b["tags"]),
            };
            let out = association_json(cluster, &a, true);
            list.push(a);
            Outgoing::json(200, json!({"association": out}))
        }
        ("GET", []) => {
            let q = |k: &str| {
                query
                    .iter()
                    .find(|(key, _)| key == k)
                    .map(|(_, v)| v.as_str())
            };
            let items: Vec<Value> = list
                .iter()
                .filter(|a| q("namespace").is_none_or(|n| n == a.namespace))
                .filter(|a| q("serviceAccount").is_none_or(|s| s == a.service_account))
                .map(|a| association_json(cluster, a, false))
                .collect();
            Outgoing::json(200, json!({"associations": items}))
        }
        ("GET", [id]) => match list.iter().find(|a| a.id == *id) {
            Some(a) => Outgoing::json(
                200,
                json!({"association": association_json(cluster, a, true)}),
            ),
            None => not_found(&format!("No Pod Identity Association found for id: {id}.")),
        },
        ("DELETE", [id]) => match list.iter().position(|a| a.id == *id) {
            Some(i) => {
                let a = list.remove(i);
                Outgoing::json(
                    200,
                    json!({"association": association_json(cluster, &a, true)}),
                )
            }
            None => not_found(&format!("No Pod Identity Association found for id: {id}.")),
        },
        _ => error(
            400,
            "InvalidRequestException",
            "unknown pod identity operation",
        ),
    }
}

fn addon_json(cluster: &str, a: &Addon, status: &str) -> Value {
    let now = epoch();
    json!({
        "addonName": a.name,
        "clusterName": cluster,
        "status": status,
        "addonVersion": a.version,
        "health": {"issues": []},
        "addonArn": format!("arn:aws:eks:us-east-1:123456789012:addon/{cluster}/{}/0", a.name),
        "createdAt": now,
        "modifiedAt": now,
        "tags": a.tags,
    })
}

/// Add-ons EKS offers in this shim.
const ADDONS: &[(&str, &str)] = &[
    ("eks-pod-identity-agent", "v1.3.10-eksbuild.1"),
    ("vpc-cni", "v1.20.4-eksbuild.1"),
    ("coredns", "v1.12.4-eksbuild.1"),
    ("kube-proxy", "v1.34.1-eksbuild.1"),
];

fn addons(
    m: &str,
    cluster: &str,
    rest: &[&str],
    req: &Incoming,
    state: &Arc<Mutex<ShimState>>,
) -> Outgoing {
    let mut st = state.lock().unwrap();
    let Some(extra) = st.clusters.get_mut(cluster) else {
        return not_found(&format!("No cluster found for name: {cluster}."));
    };
    let list = &mut extra.addons;
    match (m, rest) {
        ("POST", []) => {
            let b = req.json();
            let Some(name) = b["addonName"].as_str() else {
                return invalid("addonName is required");
            };
            let Some((_, default_version)) = ADDONS.iter().find(|(n, _)| *n == name) else {
                return invalid(&format!("Addon {name} specified is not supported"));
            };
            if list.iter().any(|a| a.name == name) {
                return in_use(&format!("Addon already exists: {name}"));
            }
            let a = Addon {
                name: name.into(),
                version: b["addonVersion"].as_str().unwrap_or(default_version).into(),
                tags: tags_of(&b["tags"]),
            };
            let out = addon_json(cluster, &a, "CREATING");
            list.push(a);
            Outgoing::json(200, json!({"addon": out}))
        }
        ("GET", []) => {
            let names: Vec<&str> = list.iter().map(|a| a.name.as_str()).collect();
            Outgoing::json(200, json!({"addons": names}))
        }
        ("GET", [name]) => match list.iter().find(|a| a.name == *name) {
            Some(a) => Outgoing::json(200, json!({"addon": addon_json(cluster, a, "ACTIVE")})),
            None => not_found(&format!("No addon: {name} found in cluster: {cluster}")),
        },
        ("DELETE", [name]) => match list.iter().position(|a| a.name == *name) {
            Some(i) => {
                let a = list.remove(i);
                Outgoing::json(200, json!({"addon": addon_json(cluster, &a, "DELETING")}))
            }
            None => not_found(&format!("No addon: {name} found in cluster: {cluster}")),
        },
        _ => error(400, "InvalidRequestException", "unknown add-on operation"),
    }
}
