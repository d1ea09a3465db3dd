//! App Mesh in front of moto: moto 5.2.5 serves meshes, virtual nodes, routers, routes, virtual
//! gateways and gateway routes, but answers 404 to every virtual-service call. This shim, a
//! real HTTP server on 127.0.0.1 reached with `AWS_ENDPOINT_URL_APP_MESH`, keeps virtual
//! services itself in the App Mesh REST/JSON shape (create, describe, list with pagination,
//! delete; `NotFoundException`, `ConflictException`, `ResourceInUseException` as the service
//! answers them) and forwards everything else to moto unchanged, except that it refuses, as
//! App Mesh does, to delete a mesh, router or node a virtual service still refers to.
//!
//! moto's answers are also brought to the service's wire format before they are returned:
//! timestamps as epoch seconds (moto writes `dd/mm/yyyy, HH:MM:SS` strings the SDK cannot
//! read), mesh ARNs with their `mesh/` resource type, and `…NotFound` errors as 404
//! `NotFoundException` (moto answers 400 with its own error names).
//!
//! Lists are paged `page_size` at a time (App Mesh's `limit`, when the caller sends one, wins),
//! so a client that ignores `nextToken` misses resources.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use super::http_fake::{self, Request, Response};

#[derive(Default)]
struct State {
    /// (mesh, name) → VirtualServiceData.
    services: BTreeMap<(String, String), Value>,
    /// Every request: (method, path).
    log: Vec<(String, String)>,
}

pub struct AppMeshShim {
    pub url: String,
    state: Arc<Mutex<State>>,
}

impl AppMeshShim {
    /// Start a shim forwarding to `moto` (its base URL), paging lists `page_size` at a time.
    pub fn start(moto: &str, page_size: usize) -> AppMeshShim {
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        let moto = moto.trim_end_matches('/').to_string();
        let url = http_fake::serve(Arc::new(move |req: &Request| {
            handle(&shared, &moto, page_size.max(1), req)
        }));
        AppMeshShim { url, state }
    }

    /// Requests seen so far, as `(method, path)`.
    pub fn requests(&self) -> Vec<(String, String)> {
        self.state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .log
            .clone()
    }

    /// Mutating requests (anything but GET).
    pub fn mutating(&self) -> Vec<(String, String)> {
        self.requests()
            .into_iter()
            .filter(|(m, _)| m != "GET")
            .collect()
    }
}

fn error(status: u16, kind: &str, message: &str) -> Response {
    Response::json(status, json!({"message": message})).header("x-amzn-ErrorType", kind)
}

fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64().floor())
        .unwrap_or(0.0)
}

fn encode(segment: &str) -> String {
    segment
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Send `req` to moto as it came and return moto's answer.
fn forward(moto: &str, req: &Request) -> Response {
    let addr = moto.trim_start_matches("http://");
    let Ok(mut stream) = TcpStream::connect(addr) else {
        return error(502, "ServiceUnavailableException", "moto is not reachable");
    };
    let mut path: String = req
        .segments
        .iter()
        .map(|s| format!("/{}", encode(s)))
        .collect();
    if !req.query.is_empty() {
        let q: Vec<String> = req
            .query
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect();
        path.push('?');
        path.push_str(&q.join("&"));
    }
    let mut head = format!("{} {path} HTTP/1.1\r\nConnection: close\r\n", req.method);
    for (k, v) in &req.headers {
        if matches!(
            k.as_str(),
            "connection" | "content-length" | "transfer-encoding"
        ) {
            continue;
        }
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!("content-length: {}\r\n\r\n", req.body.len()));
    if stream.write_all(head.as_bytes()).is_err() || stream.write_all(&req.body).is_err() {
        return error(
            502,
            "ServiceUnavailableException",
            "moto did not take the request",
        );
    }
    let mut reader = BufReader::new(stream);
    let mut status_line = String::new();
    let _ = reader.read_line(&mut status_line);
    let status: u16 = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(502);
    let mut headers = vec![];
    let mut length = None;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            let (k, v) = (k.trim().to_ascii_lowercase(), v.trim().to_string());
            if k == "content-length" {
                length = v.parse::<usize>().ok();
            } else if k.starts_with("x-amz") {
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
    let mut json_body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let error_type = headers
        .iter()
        .find(|(k, _)| k == "x-amzn-errortype")
        .map(|(_, v)| v.split(':').next().unwrap_or_default().to_string())
        .or_else(|| json_body["__type"].as_str().map(str::to_string))
        .unwrap_or_default();
    if status >= 400 && error_type.ends_with("NotFound") {
        let message = json_body["message"]
            .as_str()
            .or(json_body["Message"].as_str())
            .unwrap_or("not found")
            .to_string();
        return error(404, "NotFoundException", &message);
    }
    normalise(&mut json_body);
    let mut resp = if body.is_empty() {
        Response::empty(status)
    } else {
        Response::json(status, json_body)
    };
    for (k, v) in headers {
        resp = resp.header(&k, &v);
    }
    resp
}

/// moto's App Mesh answers in the service's shape: epoch-second timestamps, `mesh/` ARNs.
fn normalise(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for (k, val) in map.iter_mut() {
                match (k.as_str(), &*val) {
                    ("createdAt" | "lastUpdatedAt", Value::String(s)) => {
                        if let Ok(t) =
                            chrono::NaiveDateTime::parse_from_str(s, "%d/%m/%Y, %H:%M:%S")
                        {
                            *val = json!(t.and_utc().timestamp());
                        }
                    }
                    // App Mesh always answers a mesh's egress filter type (DROP_ALL by default).
                    ("egressFilter", Value::Object(f))
                        if f.get("type").is_none_or(Value::is_null) =>
                    {
                        *val = json!({"type": "DROP_ALL"});
                    }
                    ("arn", Value::String(s)) => {
                        if let Some(resource) = s.splitn(6, ':').nth(5)
                            && s.starts_with("arn:aws:appmesh:")
                            && !resource.contains('/')
                        {
                            let prefix = &s[..s.len() - resource.len()];
                            *val = json!(format!("{prefix}mesh/{resource}"));
                        }
                    }
                    _ => normalise(val),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(normalise),
        _ => {}
    }
}

fn mesh_exists(moto: &str, req: &Request, mesh: &str) -> Option<Value> {
    let probe = Request {
        method: "GET".into(),
        target: format!("/v20190125/meshes/{mesh}"),
        segments: vec!["v20190125".into(), "meshes".into(), mesh.into()],
        query: vec![],
        headers: req
            .headers
            .iter()
            .filter(|(k, _)| k.as_str() == "host" || k.as_str() == "authorization")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        body: vec![],
        proxied_for: None,
    };
    let r = forward(moto, &probe);
    (r.status == 200).then_some(r.body).flatten()
}

fn handle(state: &Arc<Mutex<State>>, moto: &str, page_size: usize, req: &Request) -> Response {
    let path = req.path();
    state
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .log
        .push((req.method.clone(), format!("/{}", path.join("/"))));
    match (req.method.as_str(), path.as_slice()) {
        ("PUT", ["v20190125", "meshes", mesh, "virtualServices"]) => create(state, moto, req, mesh),
        ("GET", ["v20190125", "meshes", mesh, "virtualServices"]) => {
            list(state, moto, req, mesh, page_size)
        }
        ("GET", ["v20190125", "meshes", mesh, "virtualServices", name]) => {
            let st = state.lock().unwrap_or_else(|p| p.into_inner());
            match st.services.get(&(mesh.to_string(), name.to_string())) {
                Some(v) => Response::json(200, v.clone()),
                None => error(
                    404,
                    "NotFoundException",
                    &format!("virtual service {name} not found in mesh {mesh}"),
                ),
            }
        }
        ("DELETE", ["v20190125", "meshes", mesh, "virtualServices", name]) => {
            let mut st = state.lock().unwrap_or_else(|p| p.into_inner());
            match st.services.remove(&(mesh.to_string(), name.to_string())) {
                Some(mut v) => {
                    v["status"] = json!({"status": "DELETED"});
                    Response::json(200, v)
                }
                None => error(
                    404,
                    "NotFoundException",
                    &format!("virtual service {name} not found in mesh {mesh}"),
                ),
            }
        }
        // App Mesh refuses to delete what a virtual service still refers to.
        ("DELETE", ["v20190125", "meshes", mesh]) => {
            if in_use(state, mesh, |_| true) {
                return error(
                    409,
                    "ResourceInUseException",
                    &format!("mesh {mesh} still has virtual services"),
                );
            }
            forward(moto, req)
        }
        ("DELETE", ["v20190125", "meshes", mesh, "virtualRouters", name]) => {
            if in_use(state, mesh, |p| {
                p["virtualRouter"]["virtualRouterName"] == json!(name)
            }) {
                return error(
                    409,
                    "ResourceInUseException",
                    &format!("virtual router {name} is the provider of a virtual service"),
                );
            }
            forward(moto, req)
        }
        ("DELETE", ["v20190125", "meshes", mesh, "virtualNodes", name]) => {
            if in_use(state, mesh, |p| {
                p["virtualNode"]["virtualNodeName"] == json!(name)
            }) {
                return error(
                    409,
                    "ResourceInUseException",
                    &format!("virtual node {name} is the provider of a virtual service"),
                );
            }
            forward(moto, req)
        }
        _ => forward(moto, req),
    }
}

fn in_use(state: &Arc<Mutex<State>>, mesh: &str, provider: impl Fn(&Value) -> bool) -> bool {
    let st = state.lock().unwrap_or_else(|p| p.into_inner());
    st.services
        .iter()
        .any(|((m, _), v)| m == mesh && provider(&v["spec"]["provider"]))
}

fn create(state: &Arc<Mutex<State>>, moto: &str, req: &Request, mesh: &str) -> Response {
    let body = req.json();
    let Some(name) = body["virtualServiceName"].as_str().map(str::to_string) else {
        return error(400, "BadRequestException", "virtualServiceName is required");
    };
    let Some(spec) = body.get("spec").cloned() else {
        return error(400, "BadRequestException", "spec is required");
    };
    let Some(mesh_data) = mesh_exists(moto, req, mesh) else {
        return error(404, "NotFoundException", &format!("mesh {mesh} not found"));
    };
    let mut st = state.lock().unwrap_or_else(|p| p.into_inner());
    let key = (mesh.to_string(), name.clone());
    if st.services.contains_key(&key) {
        return error(
            409,
            "ConflictException",
            &format!("virtual service {name} already exists in mesh {mesh}"),
        );
    }
    let mesh_arn = mesh_data["metadata"]["arn"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let owner = mesh_data["metadata"]["meshOwner"]
        .as_str()
        .unwrap_or("123456789012")
        .to_string();
    let t = now();
    let data = json!({
        "meshName": mesh,
        "virtualServiceName": name,
        "spec": spec,
        "metadata": {
            "arn": format!("{mesh_arn}/virtualService/{name}"),
            "createdAt": t,
            "lastUpdatedAt": t,
            "meshOwner": owner,
            "resourceOwner": owner,
            "uid": format!("vs-{}", st.services.len() + 1),
            "version": 1,
        },
        "status": {"status": "ACTIVE"},
    });
    st.services.insert(key, data.clone());
    Response::json(200, data)
}

fn list(
    state: &Arc<Mutex<State>>,
    moto: &str,
    req: &Request,
    mesh: &str,
    page_size: usize,
) -> Response {
    if mesh_exists(moto, req, mesh).is_none() {
        return error(404, "NotFoundException", &format!("mesh {mesh} not found"));
    }
    let st = state.lock().unwrap_or_else(|p| p.into_inner());
    let all: Vec<&Value> = st
        .services
        .iter()
        .filter(|((m, _), _)| m == mesh)
        .map(|(_, v)| v)
        .collect();
    let limit = req
        .query("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(page_size)
        .max(1);
    let start = match req.query("nextToken") {
        Some(t) => match t.parse::<usize>() {
            Ok(n) if n <= all.len() => n,
            _ => return error(400, "BadRequestException", "invalid nextToken"),
        },
        None => 0,
    };
    let page: Vec<Value> = all
        .iter()
        .skip(start)
        .take(limit)
        .map(|v| {
            json!({
                "meshName": v["meshName"],
                "virtualServiceName": v["virtualServiceName"],
                "arn": v["metadata"]["arn"],
                "meshOwner": v["metadata"]["meshOwner"],
                "resourceOwner": v["metadata"]["resourceOwner"],
                "version": v["metadata"]["version"],
                "createdAt": v["metadata"]["createdAt"],
                "lastUpdatedAt": v["metadata"]["lastUpdatedAt"],
            })
        })
        .collect();
    let mut body = json!({"virtualServices": page});
    if start + limit < all.len() {
        body["nextToken"] = json!((start + limit).to_string());
    }
    Response::json(200, body)
}
