//! A fake of the AMP managed-collector (scraper) REST operations, which moto 5.2.5 lacks:
//! `POST /scrapers`, `GET /scrapers`, `GET|PUT|DELETE /scrapers/{id}`. Every other request is
//! forwarded to moto unchanged, so a run reaches it with `AWS_ENDPOINT_URL_AMP` and still finds
//! its workspaces.
//!
//! It answers as AMP documents: requests must carry a SigV4 `Authorization` header for the
//! `aps` service (else 403 `MissingAuthenticationTokenException`); a new scraper is `CREATING`
//! and becomes `ACTIVE` after the delay the test sets; updates go through `UPDATING`;
//! deletes through `DELETING` and then 404. The scrape configuration is validated as the
//! managed collector does (base64 YAML, `kubernetes_sd_configs` only, interval at least 30 s,
//! no `remote_write`). Errors are JSON bodies with `x-amzn-errortype`: 400
//! `ValidationException`, 404 `ResourceNotFoundException`, 409 `ConflictException`. A repeated
//! `clientToken` returns the scraper it created.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};

use super::http_fake::{Request, Response, serve};

const ACCOUNT: &str = "123456789012";

#[derive(Clone, Debug)]
struct Stored {
    id: String,
    alias: Option<String>,
    blob: Vec<u8>,
    source: Value,
    destination: Value,
    tags: BTreeMap<String, String>,
    region: String,
    created_at: f64,
    /// When the current transition (create, update, delete) started.
    since: Instant,
    phase: Phase,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Phase {
    Creating,
    Updating,
    Deleting,
}

#[derive(Default)]
struct State {
    ready_after: Duration,
    scrapers: BTreeMap<String, Stored>,
    tokens: HashMap<String, String>,
    log: Vec<(String, String)>,
    seq: u64,
}

/// The running fake (it lives as long as the test process).
pub struct ScraperFake {
    pub url: String,
    state: Arc<Mutex<State>>,
}

fn error(status: u16, kind: &str, message: &str) -> Response {
    Response::json(status, json!({"message": message})).header("x-amzn-errortype", kind)
}

fn now_secs() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// `30s`, `1m`, `1m30s` in seconds (the forms meshctl writes).
fn seconds(d: &str) -> Option<u64> {
    let mut total = 0;
    let mut num = String::new();
    for c in d.chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let n: u64 = num.parse().ok()?;
        num.clear();
        total += match c {
            's' => n,
            'm' => n * 60,
            'h' => n * 3600,
            _ => return None,
        };
    }
    num.is_empty().then_some(total)
}

/// What the managed collector refuses in a scrape configuration, if anything.
fn check_configuration(blob: &[u8]) -> Result<(), String> {
    let doc: serde_yaml_ng::Value = serde_yaml_ng::from_slice(blob)
        .map_err(|e| format!("scrape configuration is not YAML: {e}"))?;
    if doc.get("remote_write").is_some() {
        return Err("remote_write is not allowed: the destination is set by the scraper".into());
    }
    let interval = doc["global"]["scrape_interval"].as_str().unwrap_or("1m");
    match seconds(interval) {
        Some(s) if s >= 30 => {}
        _ => {
            return Err(format!(
                "scrape_interval {interval} is below the minimum of 30s"
            ));
        }
    }
    let jobs = doc["scrape_configs"]
        .as_sequence()
        .ok_or("scrape_configs must be a list")?;
    for job in jobs {
        let Some(map) = job.as_mapping() else {
            return Err("a scrape config is not a mapping".into());
        };
        for (k, _) in map {
            let k = k.as_str().unwrap_or_default();
            if (k.ends_with("_sd_configs") && k != "kubernetes_sd_configs") || k == "static_configs"
            {
                return Err(format!("{k} is not supported: use kubernetes_sd_configs"));
            }
        }
        if job.get("kubernetes_sd_configs").is_none() {
            return Err("every scrape config needs kubernetes_sd_configs".into());
        }
        if let Some(i) = job.get("scrape_interval").and_then(|v| v.as_str())
            && seconds(i).is_none_or(|s| s < 30)
        {
            return Err(format!("scrape_interval {i} is below the minimum of 30s"));
        }
    }
    Ok(())
}

impl ScraperFake {
    /// Start the fake; a new or updated scraper becomes ACTIVE, and a deleted one disappears,
    /// `ready_after` later. Other requests go to `moto`.
    pub fn start(ready_after: Duration, moto: &str) -> ScraperFake {
        let state = Arc::new(Mutex::new(State {
            ready_after,
            ..State::default()
        }));
        let shared = state.clone();
        let moto = moto.to_string();
        let url = serve(Arc::new(move |req: &Request| {
            let mut st = shared.lock().unwrap_or_else(|p| p.into_inner());
            st.log
                .push((req.method.clone(), format!("/{}", req.segments.join("/"))));
            if req.segments.first().map(String::as_str) != Some("scrapers") {
                drop(st);
                return forward(&moto, req);
            }
            handle(&mut st, req, ready_after)
        }));
        ScraperFake { url, state }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `(method, path)` of every request so far.
    pub fn requests(&self) -> Vec<(String, String)> {
        self.lock().log.clone()
    }

    /// How many `POST /scrapers` were answered so far.
    pub fn creates(&self) -> usize {
        self.requests()
            .iter()
            .filter(|(m, p)| m == "POST" && p == "/scrapers")
            .count()
    }

    /// The ids of the scrapers that exist (any state but gone).
    pub fn scraper_ids(&self) -> Vec<String> {
        let mut st = self.lock();
        settle(&mut st);
        st.scrapers.keys().cloned().collect()
    }

    /// The decoded scrape configuration of scraper `id`.
    pub fn configuration(&self, id: &str) -> Option<String> {
        self.lock()
            .scrapers
            .get(id)
            .map(|s| String::from_utf8_lossy(&s.blob).into_owned())
    }

    /// The tags of scraper `id`.
    pub fn tags(&self, id: &str) -> BTreeMap<String, String> {
        self.lock()
            .scrapers
            .get(id)
            .map(|s| s.tags.clone())
            .unwrap_or_default()
    }

    /// The `source` and `destination` of scraper `id` as the API took them.
    pub fn source_and_destination(&self, id: &str) -> Option<(Value, Value)> {
        self.lock()
            .scrapers
            .get(id)
            .map(|s| (s.source.clone(), s.destination.clone()))
    }
}

/// Remove the scrapers whose deletion has lasted `ready_after`.
fn settle(st: &mut State) {
    let ready_after = st.ready_after;
    let done: Vec<String> = st
        .scrapers
        .values()
        .filter(|s| s.phase == Phase::Deleting && s.since.elapsed() >= ready_after)
        .map(|s| s.id.clone())
        .collect();
    for id in done {
        st.scrapers.remove(&id);
    }
}

fn status_code(s: &Stored, ready_after: Duration) -> &'static str {
    let done = s.since.elapsed() >= ready_after;
    match (s.phase, done) {
        (Phase::Creating, false) => "CREATING",
        (Phase::Updating, false) => "UPDATING",
        (Phase::Deleting, _) => "DELETING",
        (_, true) => "ACTIVE",
    }
}

fn arn(s: &Stored) -> String {
    format!("arn:aws:aps:{}:{ACCOUNT}:scraper/{}", s.region, s.id)
}

fn role_arn(s: &Stored) -> String {
    format!(
        "arn:aws:iam::{ACCOUNT}:role/aws-service-role/scraper.aps.amazonaws.com/AWSServiceRoleForAmazonPrometheusScraper_{}",
        &s.id[2..9]
    )
}

fn summary(s: &Stored, ready_after: Duration) -> Value {
    json!({
        "alias": s.alias,
        "scraperId": s.id,
        "arn": arn(s),
        "roleArn": role_arn(s),
        "status": {"statusCode": status_code(s, ready_after)},
        "createdAt": s.created_at,
        "lastModifiedAt": s.created_at,
        "tags": s.tags,
        "source": s.source,
        "destination": s.destination,
    })
}

fn description(s: &Stored, ready_after: Duration) -> Value {
    let mut v = summary(s, ready_after);
    v["scrapeConfiguration"] = json!({
        "configurationBlob": base64::engine::general_purpose::STANDARD.encode(&s.blob)
    });
    v
}

/// The region a SigV4 Authorization header was signed for (for `aps`), or why it is refused.
fn signed_region(req: &Request) -> Result<String, Response> {
    let auth = req.header("authorization").unwrap_or_default();
    let scope = auth
        .strip_prefix("AWS4-HMAC-SHA256 Credential=")
        .and_then(|rest| rest.split(',').next())
        .map(|c| c.split('/').collect::<Vec<_>>());
    match scope {
        Some(parts)
            if parts.len() == 5
                && parts[3] == "aps"
                && parts[4] == "aws4_request"
                && auth.contains("Signature=") =>
        {
            Ok(parts[2].to_string())
        }
        _ => Err(error(
            403,
            "MissingAuthenticationTokenException",
            "Missing Authentication Token: requests must be signed with SigV4 for service aps",
        )),
    }
}

fn handle(st: &mut State, req: &Request, ready_after: Duration) -> Response {
    let region = match signed_region(req) {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    settle(st);
    let path = req.path();
    match (req.method.as_str(), path.as_slice()) {
        ("POST", ["scrapers"]) => create(st, req, &region, ready_after),
        ("GET", ["scrapers"]) => {
            let alias = req.query("alias");
            let status = req.query("status");
            let list: Vec<Value> = st
                .scrapers
                .values()
                .filter(|s| alias.is_none_or(|a| s.alias.as_deref() == Some(a)))
                .filter(|s| status.is_none_or(|x| status_code(s, ready_after) == x))
                .map(|s| summary(s, ready_after))
                .collect();
            Response::json(200, json!({"scrapers": list}))
        }
        (method, ["scrapers", id]) => {
            let Some(s) = st.scrapers.get_mut(*id) else {
                return error(
                    404,
                    "ResourceNotFoundException",
                    &format!("Scraper {id} not found"),
                );
            };
            match method {
                "GET" => Response::json(200, json!({"scraper": description(s, ready_after)})),
                "DELETE" => {
                    if s.phase == Phase::Deleting {
                        return error(
                            409,
                            "ConflictException",
                            &format!("Scraper {id} is already being deleted"),
                        );
                    }
                    s.phase = Phase::Deleting;
                    s.since = Instant::now();
                    Response::json(
                        202,
                        json!({"scraperId": s.id, "status": {"statusCode": "DELETING"}}),
                    )
                }
                "PUT" => {
                    if status_code(s, ready_after) != "ACTIVE" {
                        return error(
                            409,
                            "ConflictException",
                            &format!(
                                "Scraper {id} is {}, not ACTIVE",
                                status_code(s, ready_after)
                            ),
                        );
                    }
                    let body = req.json();
                    if let Some(b) = body["scrapeConfiguration"]["configurationBlob"].as_str() {
                        let Ok(blob) = base64::engine::general_purpose::STANDARD.decode(b) else {
                            return error(
                                400,
                                "ValidationException",
                                "configurationBlob is not base64",
                            );
                        };
                        if let Err(m) = check_configuration(&blob) {
                            return error(400, "ValidationException", &m);
                        }
                        s.blob = blob;
                    }
                    if body.get("destination").is_some() {
                        s.destination = body["destination"].clone();
                    }
                    s.phase = Phase::Updating;
                    s.since = Instant::now();
                    Response::json(
                        202,
                        json!({"scraperId": s.id, "arn": arn(s), "status": {"statusCode": "UPDATING"}, "tags": s.tags}),
                    )
                }
                _ => error(405, "ValidationException", "method not allowed"),
            }
        }
        _ => error(404, "ResourceNotFoundException", "no such operation"),
    }
}

fn create(st: &mut State, req: &Request, region: &str, ready_after: Duration) -> Response {
    let body = req.json();
    if let Some(token) = body["clientToken"].as_str()
        && let Some(id) = st.tokens.get(token)
        && let Some(s) = st.scrapers.get(id)
    {
        return Response::json(
            202,
            json!({"scraperId": s.id, "arn": arn(s), "status": {"statusCode": status_code(s, ready_after)}, "tags": s.tags}),
        );
    }
    let bad = |m: &str| error(400, "ValidationException", m);
    let alias = body["alias"].as_str().map(str::to_string);
    if let Some(a) = &alias {
        let ok = (1..=100).contains(&a.len())
            && a.starts_with(|c: char| c.is_ascii_alphanumeric())
            && a.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-._".contains(c));
        if !ok {
            return bad(&format!(
                "alias {a} does not match [0-9A-Za-z][-.0-9A-Z_a-z]*"
            ));
        }
    }
    let Some(b64) = body["scrapeConfiguration"]["configurationBlob"].as_str() else {
        return bad("scrapeConfiguration.configurationBlob is required");
    };
    let Ok(blob) = base64::engine::general_purpose::STANDARD.decode(b64) else {
        return bad("scrapeConfiguration.configurationBlob is not base64");
    };
    if let Err(m) = check_configuration(&blob) {
        return bad(&m);
    }
    let eks = &body["source"]["eksConfiguration"];
    let cluster_ok = eks["clusterArn"]
        .as_str()
        .is_some_and(|a| a.starts_with("arn:aws:eks:") && a.contains(":cluster/"));
    if !cluster_ok {
        return bad("source.eksConfiguration.clusterArn must be an EKS cluster ARN");
    }
    let subnets = eks["subnetIds"].as_array().map(Vec::len).unwrap_or(0);
    if !(2..=5).contains(&subnets) {
        return bad(
            "source.eksConfiguration.subnetIds must list 2 to 5 subnets, in at least two Availability Zones",
        );
    }
    let ws_ok = body["destination"]["ampConfiguration"]["workspaceArn"]
        .as_str()
        .is_some_and(|a| a.starts_with("arn:aws:aps:") && a.contains(":workspace/"));
    if !ws_ok {
        return bad("destination.ampConfiguration.workspaceArn must be an AMP workspace ARN");
    }
    st.seq += 1;
    let id = format!(
        "s-{:08x}-{:04x}-4000-8000-{:012x}",
        std::process::id(),
        st.seq,
        st.seq
    );
    let tags: BTreeMap<String, String> =
        serde_json::from_value(body["tags"].clone()).unwrap_or_default();
    let stored = Stored {
        id: id.clone(),
        alias,
        blob,
        source: body["source"].clone(),
        destination: body["destination"].clone(),
        tags,
        region: region.to_string(),
        created_at: now_secs(),
        since: Instant::now(),
        phase: Phase::Creating,
    };
    let resp = json!({"scraperId": id, "arn": arn(&stored), "status": {"statusCode": "CREATING"}, "tags": stored.tags});
    if let Some(token) = body["clientToken"].as_str() {
        st.tokens.insert(token.to_string(), id.clone());
    }
    st.scrapers.insert(id, stored);
    Response::json(202, resp)
}

/// Send `req` to moto as is and hand back its answer (JSON bodies, as AMP's are).
fn forward(moto: &str, req: &Request) -> Response {
    let fail = |m: String| error(502, "InternalServerException", &m);
    let host = moto.trim_start_matches("http://").trim_end_matches('/');
    let Ok(mut stream) = TcpStream::connect(host) else {
        return fail(format!("moto at {moto} is not reachable"));
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    // Segments were split on `/` before decoding: encode each again (an ARN in a path
    // carries `:` and `/`), keeping only unreserved characters as they are.
    let encode = |seg: &String| -> String {
        seg.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect()
    };
    let encoded: Vec<String> = req.segments.iter().map(encode).collect();
    let mut target = format!("/{}", encoded.join("/"));
    if !req.query.is_empty() {
        let q: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(req.query.iter())
            .finish();
        target.push('?');
        target.push_str(&q);
    }
    let mut head = format!(
        "{} {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n",
        req.method
    );
    for (k, v) in &req.headers {
        if !matches!(k.as_str(), "host" | "connection" | "content-length") {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", req.body.len()));
    if stream.write_all(head.as_bytes()).is_err() || stream.write_all(&req.body).is_err() {
        return fail("could not send the request to moto".into());
    }
    let mut reader = BufReader::new(stream);
    let mut status_line = String::new();
    if reader.read_line(&mut status_line).is_err() {
        return fail("moto did not answer".into());
    }
    let status: u16 = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(502);
    let mut headers = vec![];
    let mut length = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            let (k, v) = (k.trim().to_ascii_lowercase(), v.trim().to_string());
            if k == "content-length" {
                length = v.parse::<usize>().ok();
            } else if !matches!(
                k.as_str(),
                "connection" | "content-type" | "transfer-encoding"
            ) {
                headers.push((k, v));
            }
        }
    }
    let mut body = vec![];
    match length {
        Some(n) => {
            body.resize(n, 0);
            let _ = reader.read_exact(&mut body);
        }
        None => {
            let _ = reader.read_to_end(&mut body);
        }
    }
    let mut resp = if body.is_empty() {
        Response::empty(status)
    } else {
        match serde_json::from_slice::<Value>(&body) {
            Ok(v) => Response::json(status, v),
            Err(_) => Response::json(status, json!({"message": String::from_utf8_lossy(&body)})),
        }
    };
    for (k, v) in headers {
        resp = resp.header(&k, &v);
    }
    resp
}
