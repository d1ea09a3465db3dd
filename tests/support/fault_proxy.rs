//! A fault-injecting HTTP proxy on 127.0.0.1, put between meshctl and an emulator (moto or a
//! fake) with `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_<SERVICE>`.
//!
//! It reads each request, names its operation the way the AWS protocols do (`X-Amz-Target`,
//! the query protocol's `Action=`, else `METHOD /path`), counts it, and either forwards it
//! byte for byte or answers with a fault: fail the Nth request to an operation, fail a share of
//! requests transiently (throttling, 500, 503; seeded, so a run is repeatable), reset the
//! connection, delay, or hang. Mutating calls are counted apart, so a test can prove that a
//! re-run changed nothing.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One request as the proxy sees it.
#[derive(Debug, Clone)]
pub struct Call {
    /// The operation: `CreateVpc`, `GetSecretValue`, or for REST APIs the method and the path
    /// with every second segment (the ids) as `{}`: `POST /workspaces/{}/rulegroupsnamespaces`.
    pub op: String,
    pub method: String,
    pub path: String,
    /// Whether the call changes something (not a Describe/List/Get…, not a GET).
    pub mutating: bool,
    /// Answered with a fault instead of being forwarded.
    pub faulted: bool,
}

/// What to do to a request.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// An AWS error answer: status, error code and message (e.g. 400 ThrottlingException,
    /// 503 ServiceUnavailable, 500 InternalFailure, 400 ValidationException).
    Error {
        status: u16,
        code: String,
        message: String,
    },
    /// Close the connection without an answer.
    Reset,
    /// Forward after a delay.
    Delay(Duration),
    /// Never answer (until the proxy is dropped).
    Hang,
}

impl Fault {
    pub fn throttle() -> Fault {
        Fault::Error {
            status: 400,
            code: "ThrottlingException".into(),
            message: "Rate exceeded".into(),
        }
    }

    /// HTTP 429, as Grafana and PagerDuty answer when rate limited.
    pub fn too_many() -> Fault {
        Fault::Error {
            status: 429,
            code: "TooManyRequests".into(),
            message: "Too many requests".into(),
        }
    }

    pub fn unavailable() -> Fault {
        Fault::Error {
            status: 503,
            code: "ServiceUnavailable".into(),
            message: "Service is unavailable, try again later".into(),
        }
    }

    pub fn internal() -> Fault {
        Fault::Error {
            status: 500,
            code: "InternalFailure".into(),
            message: "An internal error occurred".into(),
        }
    }

    /// A failure no retry fixes (the SDK does not retry a 400 validation error).
    pub fn hard(message: &str) -> Fault {
        Fault::Error {
            status: 400,
            code: "ValidationException".into(),
            message: message.into(),
        }
    }
}

/// How the proxy names a request's operation (see [`operation`]).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Naming {
    /// AWS protocols: `X-Amz-Target`, `Action=`, else REST with every second segment an id.
    #[default]
    Aws,
    /// Kubernetes API paths: `METHOD <group/version> <resource>[/<subresource>]`.
    Kubernetes,
    /// Grafana HTTP API paths: the segment after `uid`, `folders`, `folder`, `rule-groups`
    /// and `contact-points` is an id.
    Grafana,
}

impl Naming {
    pub fn name(
        self,
        method: &str,
        path: &str,
        headers: &BTreeMap<String, String>,
        body: &[u8],
    ) -> String {
        match self {
            Naming::Aws => operation(method, path, headers, body),
            Naming::Kubernetes => kube_operation(method, path)
                .unwrap_or_else(|| operation(method, path, headers, body)),
            Naming::Grafana => grafana_operation(method, path),
        }
    }
}

/// When a fault applies.
#[derive(Debug, Clone)]
pub enum Rule {
    /// The `nth` (1-based) request whose operation is `op`.
    Nth {
        op: String,
        nth: usize,
        fault: Fault,
    },
    /// Every request to `op` from the `nth` on.
    From {
        op: String,
        nth: usize,
        fault: Fault,
    },
    /// The `nth` (1-based) `method` request whose path contains `path` (e.g. the third
    /// `PUT` of a stack's `state.json`, whatever the operation is named).
    NthPath {
        method: String,
        path: String,
        nth: usize,
        fault: Fault,
    },
    /// Every request, whatever its operation (e.g. a delay that makes a whole run slow).
    Every { fault: Fault },
    /// A share (`per_mille` out of 1000) of all requests, drawn from a seeded generator.
    Rate {
        per_mille: u32,
        seed: u64,
        faults: Vec<Fault>,
    },
}

#[derive(Default)]
struct State {
    rules: Vec<Rule>,
    calls: Vec<Call>,
    seen: BTreeMap<String, usize>,
    rng: u64,
}

pub struct FaultProxy {
    pub url: String,
    state: Arc<Mutex<State>>,
    /// While set, every request waits before it is answered (a closed gate).
    held: Arc<AtomicBool>,
    stopped: Arc<AtomicBool>,
}

impl FaultProxy {
    /// Proxy to `upstream` (`http://127.0.0.1:PORT`), naming operations as AWS does.
    pub fn start(upstream: &str) -> FaultProxy {
        FaultProxy::start_named(upstream, Naming::Aws)
    }

    /// Proxy to `upstream`, naming operations with `naming`.
    pub fn start_named(upstream: &str, naming: Naming) -> FaultProxy {
        let upstream = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the fault proxy");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let state = Arc::new(Mutex::new(State::default()));
        let stopped = Arc::new(AtomicBool::new(false));
        let held = Arc::new(AtomicBool::new(false));
        let (s, stop, gate) = (state.clone(), stopped.clone(), held.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let (s, up, stop, gate) = (s.clone(), upstream.clone(), stop.clone(), gate.clone());
                std::thread::spawn(move || {
                    let _ = handle(stream, &up, naming, &s, &stop, &gate);
                });
            }
        });
        FaultProxy {
            url,
            state,
            held,
            stopped,
        }
    }

    pub fn add(&self, rule: Rule) {
        let mut st = self.state.lock().unwrap();
        if let Rule::Rate { seed, .. } = &rule {
            st.rng = *seed | 1;
        }
        st.rules.push(rule);
    }

    /// Close the gate: from now on every request waits (and is not answered) until
    /// [`FaultProxy::release`]. A run held this way stays where it is, deterministically.
    pub fn hold(&self) {
        self.held.store(true, Ordering::SeqCst);
    }

    /// Open the gate: held requests go on.
    pub fn release(&self) {
        self.held.store(false, Ordering::SeqCst);
    }

    /// Forget every rule (calls already logged stay).
    pub fn clear_rules(&self) {
        self.state.lock().unwrap().rules.clear();
    }

    pub fn calls(&self) -> Vec<Call> {
        self.state.lock().unwrap().calls.clone()
    }

    /// Forwarded calls that change something.
    pub fn mutating_calls(&self) -> Vec<String> {
        self.calls()
            .into_iter()
            .filter(|c| c.mutating && !c.faulted)
            .map(|c| c.op)
            .collect()
    }

    pub fn faulted(&self) -> usize {
        self.calls().iter().filter(|c| c.faulted).count()
    }

    pub fn reset_log(&self) {
        let mut st = self.state.lock().unwrap();
        st.calls.clear();
        st.seen.clear();
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stopped.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.url.trim_start_matches("http://"));
    }
}

/// The operation name of a request, as the AWS protocols carry it.
pub fn operation(
    method: &str,
    path: &str,
    headers: &BTreeMap<String, String>,
    body: &[u8],
) -> String {
    if let Some(target) = headers.get("x-amz-target") {
        return target.rsplit('.').next().unwrap_or(target).to_string();
    }
    let form = headers
        .get("content-type")
        .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));
    let query = path.split_once('?').map(|(_, q)| q).unwrap_or_default();
    for source in [if form { body } else { &[][..] }, query.as_bytes()] {
        if let Some((_, v)) = url::form_urlencoded::parse(source).find(|(k, _)| k == "Action") {
            return v.into_owned();
        }
    }
    // REST: collection/id/collection/id…: every second segment is an id.
    let shape: Vec<&str> = path
        .split('?')
        .next()
        .unwrap_or_default()
        .split('/')
        .filter(|s| !s.is_empty())
        .enumerate()
        .map(|(i, s)| if i % 2 == 1 { "{}" } else { s })
        .collect();
    format!("{method} /{}", shape.join("/"))
}

/// A Kubernetes API request as `METHOD <group/version> <resource>[/<subresource>]`
/// (`PATCH apps/v1 deployments`, `GET v1 namespaces`), whatever the namespace and name; a
/// server-side dry run is `DRYRUN PATCH …` and changes nothing. `None` for other paths.
fn kube_operation(method: &str, path: &str) -> Option<String> {
    let (route, query) = path.split_once('?').unwrap_or((path, ""));
    let segs: Vec<&str> = route.split('/').filter(|s| !s.is_empty()).collect();
    let (gv, rest) = match segs.as_slice() {
        ["api", v, rest @ ..] if v.starts_with('v') => (v.to_string(), rest),
        ["apis", g, v, rest @ ..] => (format!("{g}/{v}"), rest),
        _ => return None,
    };
    // namespaces/<ns>/<resource>/… is a namespaced resource; namespaces[/<name>] itself is not.
    let rest = match rest {
        ["namespaces", _, resource, tail @ ..] => [&[*resource][..], tail].concat(),
        other => other.to_vec(),
    };
    let resource = match rest.as_slice() {
        [] => String::new(),
        [r] | [r, _] => format!(" {r}"),
        [r, _, sub, ..] => format!(" {r}/{sub}"),
    };
    let dry = url::form_urlencoded::parse(query.as_bytes()).any(|(k, _)| k == "dryRun");
    Some(format!(
        "{}{method} {gv}{resource}",
        if dry { "DRYRUN " } else { "" }
    ))
}

/// A Grafana HTTP API request as `METHOD /api/…` with its ids as `{}`:
/// `PUT /api/v1/provisioning/folder/{}/rule-groups/{}`.
fn grafana_operation(method: &str, path: &str) -> String {
    const BEFORE_ID: &[&str] = &["uid", "folders", "folder", "rule-groups", "contact-points"];
    let route = path.split('?').next().unwrap_or_default();
    let mut shape = vec![];
    let mut previous = "";
    for seg in route.split('/').filter(|s| !s.is_empty()) {
        shape.push(if BEFORE_ID.contains(&previous) {
            "{}"
        } else {
            seg
        });
        previous = seg;
    }
    format!("{method} /{}", shape.join("/"))
}

fn is_mutating(op: &str, method: &str) -> bool {
    if op.starts_with("DRYRUN ") {
        return false;
    }
    const READS: &[&str] = &[
        "Describe", "List", "Get", "Search", "Lookup", "Check", "Query", "Head", "Simulate",
    ];
    if op.contains(' ') {
        return !matches!(method, "GET" | "HEAD");
    }
    !READS.iter().any(|r| op.starts_with(r))
}

fn next_random(st: &mut State) -> u64 {
    // xorshift64: repeatable for a seed.
    let mut x = st.rng.max(1);
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    st.rng = x;
    x
}

fn decide(st: &mut State, op: &str, method: &str, path: &str) -> Option<Fault> {
    let n = {
        let seen = st.seen.entry(op.to_string()).or_insert(0);
        *seen += 1;
        *seen
    };
    let rules = st.rules.clone();
    for rule in rules {
        match rule {
            Rule::Every { fault } => return Some(fault),
            Rule::NthPath {
                method: m,
                path: p,
                nth,
                fault,
            } if m == method && path.contains(p.as_str()) => {
                let key = format!("{m} *{p}*");
                let seen = st.seen.entry(key).or_insert(0);
                *seen += 1;
                if *seen == nth {
                    return Some(fault);
                }
            }
            Rule::Nth { op: o, nth, fault } if o == op && nth == n => return Some(fault),
            Rule::From { op: o, nth, fault } if o == op && n >= nth => return Some(fault),
            Rule::Rate {
                per_mille, faults, ..
            } if !faults.is_empty() => {
                let r = next_random(st);
                if (r % 1000) < u64::from(per_mille) {
                    return Some(faults[(r / 1000) as usize % faults.len()].clone());
                }
            }
            _ => {}
        }
    }
    None
}

fn handle(
    mut client: TcpStream,
    upstream: &str,
    naming: Naming,
    state: &Mutex<State>,
    stopped: &AtomicBool,
    held: &AtomicBool,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(client.try_clone()?);
    let mut request_line = String::new();
    if reader.read_line(&mut request_line)? == 0 {
        return Ok(());
    }
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let path = parts.next().unwrap_or("/").to_string();
    let mut raw_headers = vec![];
    let mut headers = BTreeMap::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
        raw_headers.push(line);
    }
    let body = read_body(&mut reader, &headers)?;
    while held.load(Ordering::SeqCst) && !stopped.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let op = naming.name(&method, &path, &headers, &body);
    let fault = {
        let mut st = state.lock().unwrap();
        let fault = decide(&mut st, &op, &method, &path);
        st.calls.push(Call {
            op: op.clone(),
            method: method.clone(),
            path: path.clone(),
            mutating: is_mutating(&op, &method),
            faulted: matches!(
                fault,
                Some(Fault::Error { .. } | Fault::Reset | Fault::Hang)
            ),
        });
        fault
    };
    match fault {
        Some(Fault::Error {
            status,
            code,
            message,
        }) => {
            let json_body = format!(r#"{{"__type":"{code}","message":"{message}"}}"#);
            // EC2's query protocol has its own error document; IAM, STS and the other query
            // services answer with `ErrorResponse`.
            let ec2 = headers
                .get("authorization")
                .is_some_and(|a| a.contains("/ec2/aws4_request"));
            let s3 = headers
                .get("authorization")
                .is_some_and(|a| a.contains("/s3/aws4_request"));
            let xml = if ec2 {
                format!(
                    "<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors><RequestID>fault-proxy</RequestID></Response>"
                )
            } else {
                format!(
                    "<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>fault-proxy</RequestId></ErrorResponse>"
                )
            };
            let form = headers
                .get("content-type")
                .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));
            let (ctype, body) = match naming {
                _ if form => ("text/xml", xml),
                // S3's REST-XML error document.
                Naming::Aws if s3 => (
                    "application/xml",
                    format!(
                        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>{message}</Message><RequestId>fault-proxy</RequestId></Error>"
                    ),
                ),
                // The API server's error shape: a Status object.
                Naming::Kubernetes => (
                    "application/json",
                    serde_json::json!({"kind": "Status", "apiVersion": "v1", "metadata": {},
                        "status": "Failure", "message": message, "reason": code,
                        "code": status})
                    .to_string(),
                ),
                // Grafana's and PagerDuty's: a message.
                Naming::Grafana => (
                    "application/json",
                    serde_json::json!({"message": message}).to_string(),
                ),
                Naming::Aws => ("application/json", json_body),
            };
            let reason = match status {
                400 => "Bad Request",
                429 => "Too Many Requests",
                500 => "Internal Server Error",
                503 => "Service Unavailable",
                _ => "Error",
            };
            write!(
                client,
                "HTTP/1.1 {status} {reason}\r\nContent-Type: {ctype}\r\nx-amzn-errortype: {code}\r\nx-amzn-requestid: fault-proxy\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )?;
            return client.flush();
        }
        Some(Fault::Reset) => {
            let _ = client.shutdown(Shutdown::Both);
            return Ok(());
        }
        Some(Fault::Hang) => {
            while !stopped.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(50));
            }
            return Ok(());
        }
        Some(Fault::Delay(d)) => std::thread::sleep(d),
        None => {}
    }
    // Forward: the same request on a fresh connection, closed after the answer.
    let mut up = TcpStream::connect(upstream)?;
    let mut out = request_line.into_bytes();
    for h in &raw_headers {
        let lower = h.to_ascii_lowercase();
        if lower.starts_with("connection:")
            || lower.starts_with("transfer-encoding:")
            || lower.starts_with("content-length:")
        {
            continue;
        }
        out.extend_from_slice(h.as_bytes());
    }
    out.extend_from_slice(
        format!(
            "Content-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    );
    out.extend_from_slice(&body);
    up.write_all(&out)?;
    let mut answer = vec![];
    up.read_to_end(&mut answer)?;
    client.write_all(&answer)?;
    client.flush()
}

fn read_body(
    reader: &mut BufReader<TcpStream>,
    headers: &BTreeMap<String, String>,
) -> std::io::Result<Vec<u8>> {
    if headers
        .get("transfer-encoding")
        .is_some_and(|t| t.contains("chunked"))
    {
        let mut body = vec![];
        loop {
            let mut size = String::new();
            reader.read_line(&mut size)?;
            let n = usize::from_str_radix(size.trim().split(';').next().unwrap_or("0"), 16)
                .unwrap_or(0);
            if n == 0 {
                let mut end = String::new();
                reader.read_line(&mut end)?;
                return Ok(body);
            }
            let mut chunk = vec![0; n];
            reader.read_exact(&mut chunk)?;
            body.extend_from_slice(&chunk);
            let mut crlf = String::new();
            reader.read_line(&mut crlf)?;
        }
    }
    let len: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body)?;
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_are_named_as_the_protocols_carry_them() {
        let mut h = BTreeMap::new();
        h.insert(
            "content-type".to_string(),
            "application/x-www-form-urlencoded".to_string(),
        );
        assert_eq!(
            operation("POST", "/", &h, b"Action=CreateVpc&Version=2016-11-15"),
            "CreateVpc"
        );
        let mut j = BTreeMap::new();
        j.insert(
            "x-amz-target".to_string(),
            "secretsmanager.GetSecretValue".to_string(),
        );
        assert_eq!(operation("POST", "/", &j, b"{}"), "GetSecretValue");
        let none = BTreeMap::new();
        assert_eq!(
            operation(
                "POST",
                "/workspaces/ws-1/rulegroupsnamespaces?x=1",
                &none,
                b""
            ),
            "POST /workspaces/{}/rulegroupsnamespaces"
        );
        assert_eq!(
            operation("POST", "/workspaces", &none, b""),
            "POST /workspaces"
        );
        let operation = |m: &str, p: &str, h: &BTreeMap<String, String>, b: &[u8]| {
            Naming::Kubernetes.name(m, p, h, b)
        };
        assert_eq!(
            operation(
                "PATCH",
                "/apis/apps/v1/namespaces/istio-system/deployments/istiod?fieldManager=meshctl",
                &none,
                b""
            ),
            "PATCH apps/v1 deployments"
        );
        assert_eq!(
            operation("PATCH", "/api/v1/namespaces/shop", &none, b""),
            "PATCH v1 namespaces"
        );
        assert_eq!(
            operation(
                "PATCH",
                "/api/v1/namespaces/istio-system/services/gw/status",
                &none,
                b""
            ),
            "PATCH v1 services/status"
        );
        let dry = operation(
            "PATCH",
            "/api/v1/namespaces/a/configmaps/b?dryRun=All&fieldManager=meshctl",
            &none,
            b"",
        );
        assert_eq!(dry, "DRYRUN PATCH v1 configmaps");
        assert!(!is_mutating(&dry, "PATCH"));
        let grafana = |m: &str, p: &str| Naming::Grafana.name(m, p, &none, b"");
        assert_eq!(grafana("POST", "/api/datasources"), "POST /api/datasources");
        assert_eq!(
            grafana("GET", "/api/datasources/uid/amp-1/health"),
            "GET /api/datasources/uid/{}/health"
        );
        assert_eq!(
            grafana(
                "PUT",
                "/api/v1/provisioning/folder/f-1/rule-groups/meshctl-ab12"
            ),
            "PUT /api/v1/provisioning/folder/{}/rule-groups/{}"
        );
        assert_eq!(
            grafana("PUT", "/api/v1/provisioning/contact-points/cp-9"),
            "PUT /api/v1/provisioning/contact-points/{}"
        );
        assert!(is_mutating("CreateVpc", "POST"));
        assert!(!is_mutating("DescribeVpcs", "POST"));
        assert!(!is_mutating("GET /workspaces", "GET"));
        assert!(is_mutating("DELETE /workspaces", "DELETE"));
    }
}
