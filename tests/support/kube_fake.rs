//! A Kubernetes API server fake: a real HTTP/1.1 server on 127.0.0.1 that keeps state and
//! answers like the API server for what meshctl's adapter uses: discovery, server-side apply
//! (managed fields per manager, conflicts, dry-run), get, list with label selectors, delete
//! with finalizers and terminating namespaces, the status subresource, `Status` error bodies,
//! and bearer authentication (EKS tokens via [`super::eks_auth`], or static tokens).
//! No watches: the adapter polls. docs/kubernetes.md describes what it models and what not.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response};
use serde_json::{Map, Value, json};

use super::eks_auth::EksAuth;

/// One served resource type.
#[derive(Clone, Debug)]
struct Resource {
    group: String,
    version: String,
    kind: String,
    plural: String,
    namespaced: bool,
    status: bool,
}

impl Resource {
    fn new(gv: &str, kind: &str, plural: &str, namespaced: bool) -> Resource {
        let (group, version) = gv.split_once('/').unwrap_or(("", gv));
        Resource {
            group: group.into(),
            version: version.into(),
            kind: kind.into(),
            plural: plural.into(),
            namespaced,
            status: !matches!(
                kind,
                "ServiceAccount"
                    | "ConfigMap"
                    | "Secret"
                    | "ClusterRole"
                    | "ClusterRoleBinding"
                    | "Role"
                    | "RoleBinding"
                    | "MutatingWebhookConfiguration"
                    | "ValidatingWebhookConfiguration"
            ),
        }
    }
    fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }
    /// `deployments.apps`, `namespaces`: how the API server names it in messages.
    fn qualified(&self) -> String {
        if self.group.is_empty() {
            self.plural.clone()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }
}

fn builtins() -> Vec<Resource> {
    [
        ("v1", "Namespace", "namespaces", false),
        ("v1", "ServiceAccount", "serviceaccounts", true),
        ("v1", "ConfigMap", "configmaps", true),
        ("v1", "Secret", "secrets", true),
        ("v1", "Service", "services", true),
        ("v1", "Pod", "pods", true),
        ("apps/v1", "Deployment", "deployments", true),
        ("apps/v1", "DaemonSet", "daemonsets", true),
        ("apps/v1", "StatefulSet", "statefulsets", true),
        (
            "discovery.k8s.io/v1",
            "EndpointSlice",
            "endpointslices",
            true,
        ),
        (
            "rbac.authorization.k8s.io/v1",
            "ClusterRole",
            "clusterroles",
            false,
        ),
        (
            "rbac.authorization.k8s.io/v1",
            "ClusterRoleBinding",
            "clusterrolebindings",
            false,
        ),
        ("rbac.authorization.k8s.io/v1", "Role", "roles", true),
        (
            "rbac.authorization.k8s.io/v1",
            "RoleBinding",
            "rolebindings",
            true,
        ),
        (
            "admissionregistration.k8s.io/v1",
            "MutatingWebhookConfiguration",
            "mutatingwebhookconfigurations",
            false,
        ),
        (
            "admissionregistration.k8s.io/v1",
            "ValidatingWebhookConfiguration",
            "validatingwebhookconfigurations",
            false,
        ),
        (
            "apiextensions.k8s.io/v1",
            "CustomResourceDefinition",
            "customresourcedefinitions",
            false,
        ),
        (
            "policy/v1",
            "PodDisruptionBudget",
            "poddisruptionbudgets",
            true,
        ),
        (
            "autoscaling/v2",
            "HorizontalPodAutoscaler",
            "horizontalpodautoscalers",
            true,
        ),
    ]
    .into_iter()
    .map(|(gv, k, p, n)| Resource::new(gv, k, p, n))
    .collect()
}

/// How the fake authenticates.
#[derive(Clone, Debug, Default)]
pub struct Auth {
    /// Static bearer tokens (kubeconfig mode) → user name.
    pub tokens: HashMap<String, String>,
    /// Static tokens that may read but not write (403 on writes).
    pub read_only: BTreeSet<String>,
    /// EKS tokens for this cluster.
    pub eks: Option<EksAuth>,
}

#[derive(Clone, Debug)]
pub struct Options {
    pub git_version: String,
    /// How long after a CRD is created it becomes Established (and its kind discoverable).
    pub crd_established_after: Duration,
    pub auth: Auth,
}

/// The static token the default options accept.
pub const TOKEN: &str = "fake-admin-token";

impl Default for Options {
    fn default() -> Self {
        Options {
            git_version: "v1.34.2-eks-fake".into(),
            crd_established_after: Duration::ZERO,
            auth: Auth {
                tokens: HashMap::from([(TOKEN.to_string(), "admin".to_string())]),
                ..Auth::default()
            },
        }
    }
}

/// One request as the fake saw it.
#[derive(Clone, Debug)]
pub struct Logged {
    pub method: String,
    pub path: String,
    pub query: String,
    pub field_manager: Option<String>,
    pub dry_run: bool,
    /// DELETE: the propagation policy (query or DeleteOptions body).
    pub propagation: Option<String>,
    pub status: u16,
    /// Why authentication failed, when it did.
    pub auth_error: Option<String>,
}

impl Logged {
    /// A write that changed (or could have changed) state.
    pub fn is_mutating(&self) -> bool {
        !matches!(self.method.as_str(), "GET" | "HEAD") && !self.dry_run
    }
}

type Key = (String, String, String, String); // group, plural, namespace ("" = cluster), name
type Owned = BTreeMap<String, BTreeSet<Vec<String>>>; // manager → leaf paths

#[derive(Clone)]
struct Stored {
    obj: Value,
    owned: Owned,
}

struct State {
    opts: Options,
    objects: BTreeMap<Key, Stored>,
    rv: u64,
    log: Vec<Logged>,
    /// What answers behind a Service, for the API server's service proxy: (namespace,
    /// service) -> `http://127.0.0.1:PORT` (the test's stand-in for the Service's ready pods).
    backends: HashMap<(String, String), String>,
}

/// The running fake. Dropping it stops the server.
pub struct KubeFake {
    pub url: String,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for KubeFake {
    fn drop(&mut self) {
        self.task.abort();
    }
}

type Reply = (u16, Value);

impl KubeFake {
    pub async fn start(opts: Options) -> KubeFake {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the fake API server");
        let url = format!("http://{}", listener.local_addr().expect("local address"));
        let state = Arc::new(Mutex::new(State {
            opts,
            objects: BTreeMap::new(),
            rv: 100,
            log: vec![],
            backends: HashMap::new(),
        }));
        let shared = state.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let state = shared.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let state = state.clone();
                        async move { Ok::<_, Infallible>(handle(state, req).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        KubeFake { url, state, task }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Let the service proxy (`/api/v1/namespaces/<ns>/services/<name>[:<port>]/proxy/…`)
    /// reach `url` for Service `ns/name`, as if it had a ready pod there; `None`: no ready
    /// endpoints (the API server answers 503).
    pub fn set_service_backend(&self, ns: &str, name: &str, url: Option<&str>) {
        let key = (ns.to_string(), name.to_string());
        let mut st = self.lock();
        match url {
            Some(u) => st.backends.insert(key, u.to_string()),
            None => st.backends.remove(&key),
        };
    }

    pub fn requests(&self) -> Vec<Logged> {
        self.lock().log.clone()
    }

    pub fn clear_log(&self) {
        self.lock().log.clear();
    }

    /// Mutating, non-dry-run requests so far.
    pub fn mutating_calls(&self) -> Vec<Logged> {
        self.requests()
            .into_iter()
            .filter(Logged::is_mutating)
            .collect()
    }

    /// A stored object (`group` "" for the core group), as the API server would return it.
    pub fn object(&self, group: &str, plural: &str, namespace: &str, name: &str) -> Option<Value> {
        let key = (group.into(), plural.into(), namespace.into(), name.into());
        self.lock().objects.get(&key).map(|s| s.obj.clone())
    }

    /// Every stored object, as the API server would return it (for whole-cluster checks
    /// such as "nothing carries the stack's label").
    pub fn all_objects(&self) -> Vec<Value> {
        self.lock()
            .objects
            .values()
            .map(|s| s.obj.clone())
            .collect()
    }

    /// A function reading one stored object, for a task that plays a controller.
    pub fn probe(
        &self,
        group: &str,
        plural: &str,
        namespace: &str,
        name: &str,
    ) -> impl Fn() -> Option<Value> + Send + Sync + Clone + 'static {
        let state = self.state.clone();
        let key: Key = (group.into(), plural.into(), namespace.into(), name.into());
        move || {
            let st = state.lock().unwrap_or_else(|p| p.into_inner());
            st.objects.get(&key).map(|s| s.obj.clone())
        }
    }

    /// The order in which objects were first created (`Kind/name`).
    pub fn created_order(&self) -> Vec<String> {
        let state = self.lock();
        let mut v: Vec<(u64, String)> = state
            .objects
            .values()
            .map(|s| {
                let uid_rv = s.obj["metadata"]["annotations"]["fake/created-rv"]
                    .as_str()
                    .and_then(|r| r.parse().ok())
                    .unwrap_or(0);
                (
                    uid_rv,
                    format!(
                        "{}/{}",
                        s.obj["kind"].as_str().unwrap_or(""),
                        s.obj["metadata"]["name"].as_str().unwrap_or("")
                    ),
                )
            })
            .collect();
        v.sort();
        v.into_iter().map(|(_, k)| k).collect()
    }
}

fn status_body(code: u16, reason: &str, message: &str, details: Value) -> Reply {
    let mut body = json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {},
        "status": "Failure", "message": message, "reason": reason, "code": code,
    });
    if !details.is_null() {
        body["details"] = details;
    }
    (code, body)
}

fn not_found(r: &Resource, name: &str) -> Reply {
    status_body(
        404,
        "NotFound",
        &format!("{} \"{name}\" not found", r.qualified()),
        json!({"name": name, "group": r.group, "kind": r.plural}),
    )
}

fn no_such_path() -> Reply {
    status_body(
        404,
        "NotFound",
        "the server could not find the requested resource",
        json!({}),
    )
}

async fn handle(state: Arc<Mutex<State>>, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let query_text = req.uri().query().unwrap_or("").to_string();
    let query: HashMap<String, String> = url::form_urlencoded::parse(query_text.as_bytes())
        .into_owned()
        .collect();
    let header = |n: &str| {
        req.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    let authorization = header("authorization");
    let content_type = header("content-type");
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();

    let (code, body, forward_to) = {
        let mut guard = state.lock().unwrap_or_else(|p| p.into_inner());
        let st = &mut *guard;
        let mut log = Logged {
            method: method.to_string(),
            path: path.clone(),
            query: query_text,
            field_manager: query.get("fieldManager").cloned(),
            dry_run: query.get("dryRun").is_some_and(|d| d == "All")
                || delete_options(&body)["dryRun"][0] == "All",
            propagation: query
                .get("propagationPolicy")
                .cloned()
                .or_else(|| {
                    delete_options(&body)["propagationPolicy"]
                        .as_str()
                        .map(str::to_string)
                })
                .filter(|_| method == Method::DELETE),
            status: 0,
            auth_error: None,
        };
        let mut forward_to: Option<String> = None;
        let (code, body) = match authenticate(&st.opts.auth, &authorization) {
            Err(why) => {
                log.auth_error = Some(why);
                status_body(401, "Unauthorized", "Unauthorized", Value::Null)
            }
            Ok((user, read_only)) if read_only && method != Method::GET => status_body(
                403,
                "Forbidden",
                &format!(
                    "{path} is forbidden: User \"{user}\" cannot {} this resource",
                    method.as_str().to_lowercase()
                ),
                json!({}),
            ),
            Ok(_) => match service_proxy(st, &method, &path) {
                Some(Ok((url, rest))) => {
                    forward_to = Some(if log.query.is_empty() {
                        format!("{url}/{rest}")
                    } else {
                        format!("{url}/{rest}?{}", log.query)
                    });
                    (200, Value::Null)
                }
                Some(Err(reply)) => reply,
                None => route(st, &state, &method, &path, &query, &content_type, &body),
            },
        };
        log.status = code;
        st.log.push(log);
        (code, body, forward_to)
    };
    if let Some(target) = forward_to {
        // Forwarded outside the lock: the answer is the backend's, whatever it is.
        let (code, ctype, bytes) = tokio::task::spawn_blocking(move || forward(&target))
            .await
            .unwrap_or((502, "text/plain".into(), b"proxy task failed".to_vec()));
        return Response::builder()
            .status(code)
            .header("content-type", ctype)
            .body(Full::new(Bytes::from(bytes)))
            .unwrap_or_default();
    }
    Response::builder()
        .status(code)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap_or_default()
}

/// The API server's service proxy: `GET /api/v1/namespaces/<ns>/services/<svc>/proxy/<rest>`
/// where `<svc>` is `name`, `name:port` or `scheme:name:port`. `Some(Ok((backend, rest)))` to
/// forward, `Some(Err(reply))` for the API server's own refusal, `None` for other paths.
fn service_proxy(
    st: &State,
    method: &Method,
    path: &str,
) -> Option<Result<(String, String), Reply>> {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let [
        "api",
        "v1",
        "namespaces",
        ns,
        "services",
        spec,
        "proxy",
        rest @ ..,
    ] = segs.as_slice()
    else {
        return None;
    };
    if method != Method::GET {
        return Some(Err(status_body(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
            json!({}),
        )));
    }
    let parts: Vec<&str> = spec.split(':').collect();
    let (name, port) = match parts.as_slice() {
        [name] => (*name, None),
        [name, port] => (*name, Some(*port)),
        [_scheme, name, port] => (*name, Some(*port)),
        _ => return Some(Err(no_such_path())),
    };
    let key: Key = (
        String::new(),
        "services".into(),
        ns.to_string(),
        name.to_string(),
    );
    let Some(service) = st.objects.get(&key) else {
        return Some(Err(status_body(
            404,
            "NotFound",
            &format!("services \"{name}\" not found"),
            json!({"name": name, "kind": "services"}),
        )));
    };
    let ports = service.obj["spec"]["ports"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let port_known = port.is_none_or(|p| {
        ports
            .iter()
            .any(|sp| sp["port"].as_u64().is_some_and(|n| n.to_string() == p) || sp["name"] == p)
    });
    let no_endpoints = || {
        status_body(
            503,
            "ServiceUnavailable",
            &format!("no endpoints available for service \"{spec}\""),
            json!({}),
        )
    };
    if !port_known {
        return Some(Err(no_endpoints()));
    }
    match st.backends.get(&(ns.to_string(), name.to_string())) {
        Some(url) => Some(Ok((url.clone(), rest.join("/")))),
        None => Some(Err(no_endpoints())),
    }
}

/// `GET target` (`http://host:port/path?query`): the status, content type and body, or 502
/// as the API server answers when it cannot reach the pod.
fn forward(target: &str) -> (u16, String, Vec<u8>) {
    let rest = target.trim_start_matches("http://");
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let headers = [("Host".to_string(), host.to_string())];
    match super::http_fake::call(host, "GET", &format!("/{path}"), &headers, b"") {
        Ok(a) => {
            let ctype = a
                .headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
                .map(|(_, v)| v.clone())
                .unwrap_or_else(|| "text/plain".into());
            (a.status, ctype, a.body)
        }
        Err(e) => (
            502,
            "text/plain".into(),
            format!("error trying to reach service: {e}").into_bytes(),
        ),
    }
}

/// A DELETE's options: kube clients send them as a JSON body.
fn delete_options(body: &[u8]) -> Value {
    serde_json::from_slice(body).unwrap_or(Value::Null)
}

fn authenticate(auth: &Auth, header: &str) -> Result<(String, bool), String> {
    let token = header
        .strip_prefix("Bearer ")
        .ok_or("no bearer token")?
        .trim();
    if let Some(user) = auth.tokens.get(token) {
        return Ok((user.clone(), auth.read_only.contains(token)));
    }
    match &auth.eks {
        Some(eks) if token.starts_with(super::eks_auth::PREFIX) => eks
            .verify(token, SystemTime::now())
            .map(|key| (format!("arn:aws:iam::123456789012:user/{key}"), false)),
        _ => Err("unknown token".into()),
    }
}

fn resources(st: &State) -> Vec<Resource> {
    let mut all = builtins();
    for s in st.objects.values() {
        let crd = &s.obj;
        if crd["kind"] != "CustomResourceDefinition" || !is_established(crd) {
            continue;
        }
        let spec = &crd["spec"];
        for v in spec["versions"].as_array().into_iter().flatten() {
            if v["served"] == false {
                continue;
            }
            all.push(Resource {
                group: spec["group"].as_str().unwrap_or("").into(),
                version: v["name"].as_str().unwrap_or("").into(),
                kind: spec["names"]["kind"].as_str().unwrap_or("").into(),
                plural: spec["names"]["plural"].as_str().unwrap_or("").into(),
                namespaced: spec["scope"] != "Cluster",
                status: !v["subresources"]["status"].is_null(),
            });
        }
    }
    all
}

fn is_established(crd: &Value) -> bool {
    crd["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["type"] == "Established" && c["status"] == "True")
}

fn route(
    st: &mut State,
    shared: &Arc<Mutex<State>>,
    method: &Method,
    path: &str,
    query: &HashMap<String, String>,
    content_type: &str,
    body: &[u8],
) -> Reply {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let all = resources(st);
    match (method, segs.as_slice()) {
        (&Method::GET, ["version"]) => (
            200,
            json!({"major": "1", "minor": "34", "gitVersion": st.opts.git_version, "platform": "linux/amd64"}),
        ),
        (&Method::GET, ["api"]) => (200, json!({"kind": "APIVersions", "versions": ["v1"]})),
        (&Method::GET, ["apis"]) => {
            let mut groups: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
            for r in all.iter().filter(|r| !r.group.is_empty()) {
                groups
                    .entry(r.group.clone())
                    .or_default()
                    .insert(r.version.clone());
            }
            let groups: Vec<Value> = groups
                .into_iter()
                .map(|(g, vs)| {
                    let versions: Vec<Value> = vs
                        .iter()
                        .map(|v| json!({"groupVersion": format!("{g}/{v}"), "version": v}))
                        .collect();
                    let preferred = versions.last().cloned().unwrap_or(Value::Null);
                    json!({"name": g, "versions": versions, "preferredVersion": preferred})
                })
                .collect();
            (
                200,
                json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}),
            )
        }
        (&Method::GET, ["api", "v1"]) => resource_list(&all, "", "v1"),
        (&Method::GET, ["apis", g, v]) => resource_list(&all, g, v),
        (_, ["api", "v1", rest @ ..]) => object_op(
            st,
            shared,
            &all,
            "",
            "v1",
            rest,
            method,
            query,
            content_type,
            body,
        ),
        (_, ["apis", g, v, rest @ ..]) if !rest.is_empty() => object_op(
            st,
            shared,
            &all,
            g,
            v,
            rest,
            method,
            query,
            content_type,
            body,
        ),
        _ => no_such_path(),
    }
}

fn resource_list(all: &[Resource], group: &str, version: &str) -> Reply {
    let mut resources = vec![];
    for r in all
        .iter()
        .filter(|r| r.group == group && r.version == version)
    {
        resources.push(json!({
            "name": r.plural, "singularName": r.kind.to_lowercase(), "namespaced": r.namespaced,
            "kind": r.kind,
            "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update"],
        }));
        if r.status {
            resources.push(json!({
                "name": format!("{}/status", r.plural), "singularName": "", "namespaced": r.namespaced,
                "kind": r.kind, "verbs": ["get", "patch", "update"],
            }));
        }
    }
    if resources.is_empty() {
        return no_such_path();
    }
    let gv = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    (
        200,
        json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}),
    )
}

#[allow(clippy::too_many_arguments)]
fn object_op(
    st: &mut State,
    shared: &Arc<Mutex<State>>,
    all: &[Resource],
    group: &str,
    version: &str,
    rest: &[&str],
    method: &Method,
    query: &HashMap<String, String>,
    content_type: &str,
    body: &[u8],
) -> Reply {
    let find = |plural: &str| {
        all.iter()
            .find(|r| r.group == group && r.version == version && r.plural == plural)
            .cloned()
    };
    let (ns, tail) = match rest {
        ["namespaces", ns, plural, tail @ ..] if find(plural).is_some_and(|r| r.namespaced) => {
            (Some(ns.to_string()), [&[*plural], tail].concat())
        }
        _ => (None, rest.to_vec()),
    };
    let Some(r) = tail.first().and_then(|p| find(p)) else {
        return no_such_path();
    };
    if ns.is_some() != r.namespaced && tail.len() > 1 {
        return no_such_path();
    }
    let dry_run = query.get("dryRun").is_some_and(|d| d == "All");
    match (method, &tail[1..]) {
        (&Method::GET, []) => list(st, &r, ns.as_deref(), query.get("labelSelector")),
        (&Method::GET, [name]) | (&Method::GET, [name, "status"]) => {
            match st.objects.get(&key(&r, ns.as_deref(), name)) {
                Some(s) => (200, s.obj.clone()),
                None => not_found(&r, name),
            }
        }
        (&Method::PATCH, [name]) if content_type.starts_with("application/apply-patch") => {
            let Some(manager) = query.get("fieldManager").filter(|m| !m.is_empty()) else {
                return status_body(
                    400,
                    "BadRequest",
                    "PATCH /: fieldManager is required for apply requests",
                    Value::Null,
                );
            };
            let force = query.get("force").is_some_and(|f| f == "true");
            let reply = apply(st, &r, ns.as_deref(), name, body, manager, force, dry_run);
            if reply.0 < 300 && !dry_run && r.kind == "CustomResourceDefinition" {
                establish_later(st, shared, name);
            }
            reply
        }
        (&Method::PATCH, [name]) => merge_patch(
            st,
            &r,
            ns.as_deref(),
            name,
            body,
            false,
            dry_run,
            content_type,
        ),
        (&Method::PATCH, [name, "status"]) => merge_patch(
            st,
            &r,
            ns.as_deref(),
            name,
            body,
            true,
            dry_run,
            content_type,
        ),
        (&Method::PUT, [name, "status"]) => put_status(st, &r, ns.as_deref(), name, body),
        (&Method::DELETE, [name]) => {
            let options = delete_options(body);
            let policy = query
                .get("propagationPolicy")
                .cloned()
                .or_else(|| options["propagationPolicy"].as_str().map(str::to_string));
            let dry_run = dry_run || options["dryRun"][0] == "All";
            delete(st, &r, ns.as_deref(), name, policy, dry_run)
        }
        _ => status_body(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
            Value::Null,
        ),
    }
}

fn key(r: &Resource, ns: Option<&str>, name: &str) -> Key {
    (
        r.group.clone(),
        r.plural.clone(),
        ns.unwrap_or("").into(),
        name.into(),
    )
}

fn list(st: &State, r: &Resource, ns: Option<&str>, selector: Option<&String>) -> Reply {
    let selector = match selector.map(|s| parse_selector(s)).transpose() {
        Ok(s) => s.unwrap_or_default(),
        Err(e) => {
            return status_body(
                400,
                "BadRequest",
                &format!("unable to parse requirement: {e}"),
                Value::Null,
            );
        }
    };
    let items: Vec<Value> = st
        .objects
        .iter()
        .filter(|((g, p, n, _), _)| *g == r.group && *p == r.plural && ns.is_none_or(|ns| ns == n))
        .filter(|(_, s)| {
            selector
                .iter()
                .all(|req| req.matches(&s.obj["metadata"]["labels"]))
        })
        .map(|(_, s)| s.obj.clone())
        .collect();
    (
        200,
        json!({
            "apiVersion": r.api_version(), "kind": format!("{}List", r.kind),
            "metadata": {"resourceVersion": st.rv.to_string()}, "items": items,
        }),
    )
}

/// One requirement of a label selector.
#[derive(Debug, Default)]
struct Requirement {
    key: String,
    op: String,
    values: Vec<String>,
}

impl Requirement {
    fn matches(&self, labels: &Value) -> bool {
        let v = labels.get(&self.key).and_then(Value::as_str);
        match self.op.as_str() {
            "exists" => v.is_some(),
            "!exists" => v.is_none(),
            "=" | "==" | "in" => v.is_some_and(|v| self.values.iter().any(|x| x == v)),
            "!=" | "notin" => v.is_none_or(|v| !self.values.iter().any(|x| x == v)),
            _ => false,
        }
    }
}

fn parse_selector(s: &str) -> Result<Vec<Requirement>, String> {
    // Split on commas outside parentheses.
    let mut terms = vec![];
    let (mut depth, mut start) = (0, 0);
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                terms.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    terms.push(&s[start..]);
    let mut out = vec![];
    for t in terms.into_iter().map(str::trim).filter(|t| !t.is_empty()) {
        let req = if let Some(k) = t.strip_prefix('!') {
            Requirement {
                key: k.trim().into(),
                op: "!exists".into(),
                values: vec![],
            }
        } else if let Some((k, v)) = t.split_once("!=") {
            Requirement {
                key: k.trim().into(),
                op: "!=".into(),
                values: vec![v.trim().into()],
            }
        } else if let Some((k, v)) = t.split_once("==").or_else(|| t.split_once('=')) {
            Requirement {
                key: k.trim().into(),
                op: "=".into(),
                values: vec![v.trim().into()],
            }
        } else if let Some((k, rest)) = t.split_once(" notin ").or_else(|| t.split_once(" in ")) {
            let op = if t.contains(" notin ") { "notin" } else { "in" };
            let inner = rest
                .trim()
                .strip_prefix('(')
                .and_then(|r| r.strip_suffix(')'))
                .ok_or(format!("{t}: expected a parenthesised set"))?;
            Requirement {
                key: k.trim().into(),
                op: op.into(),
                values: inner.split(',').map(|v| v.trim().to_string()).collect(),
            }
        } else if t
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
        {
            Requirement {
                key: t.into(),
                op: "exists".into(),
                values: vec![],
            }
        } else {
            return Err(format!("{t}: not a valid requirement"));
        };
        out.push(req);
    }
    Ok(out)
}

/// Leaf paths of an applied configuration (lists are leaves, as atomic lists are).
fn leaves(v: &Value, prefix: &mut Vec<String>, out: &mut BTreeSet<Vec<String>>) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, child) in m {
                prefix.push(k.clone());
                leaves(child, prefix, out);
                prefix.pop();
            }
        }
        _ => {
            out.insert(prefix.clone());
        }
    }
}

fn at<'a>(v: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(v, |v, k| v.get(k))
}

fn remove_path(v: &mut Value, path: &[String]) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut cur = v;
    for k in parents {
        match cur.get_mut(k) {
            Some(next) => cur = next,
            None => return,
        }
    }
    if let Some(m) = cur.as_object_mut() {
        m.remove(last);
    }
}

fn deep_merge(into: &mut Value, from: &Value) {
    match (into, from) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                match a.get_mut(k) {
                    Some(existing) if existing.is_object() && v.is_object() => {
                        deep_merge(existing, v)
                    }
                    _ => {
                        a.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (slot, v) => *slot = v.clone(),
    }
}

/// RFC 7386 JSON merge patch.
fn merge_patch_value(target: &mut Value, patch: &Value) {
    if let Value::Object(p) = patch {
        if !target.is_object() {
            *target = Value::Object(Map::new());
        }
        if let Value::Object(t) = target {
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge_patch_value(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
    } else {
        *target = patch.clone();
    }
}

fn fields_v1(paths: &BTreeSet<Vec<String>>) -> Value {
    let mut root = json!({});
    for p in paths {
        let mut cur = &mut root;
        for k in p {
            cur = cur
                .as_object_mut()
                .map(|m| m.entry(format!("f:{k}")).or_insert(json!({})))
                .expect("fieldsV1 nodes are objects");
        }
    }
    root
}

fn without_volatile(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(m) = v["metadata"].as_object_mut() {
        for k in ["managedFields", "resourceVersion", "generation"] {
            m.remove(k);
        }
    }
    v
}

fn spec_part(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(m) = v.as_object_mut() {
        m.remove("metadata");
        m.remove("status");
    }
    v
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
}

#[allow(clippy::too_many_arguments)]
fn apply(
    st: &mut State,
    r: &Resource,
    ns: Option<&str>,
    name: &str,
    body: &[u8],
    manager: &str,
    force: bool,
    dry_run: bool,
) -> Reply {
    let config: Value = match serde_json::from_slice(body)
        .or_else(|_| serde_yaml_ng::from_slice::<Value>(body).map_err(|e| e.to_string()))
    {
        Ok(v) if v.is_object() => v,
        _ => {
            return status_body(
                400,
                "BadRequest",
                "the body of the apply request is not a YAML or JSON object",
                Value::Null,
            );
        }
    };
    if config["kind"] != r.kind.as_str() || config["apiVersion"] != r.api_version().as_str() {
        return status_body(
            400,
            "BadRequest",
            &format!(
                "the body's apiVersion/kind is not {} {}",
                r.api_version(),
                r.kind
            ),
            Value::Null,
        );
    }
    if config["metadata"]["name"] != name {
        return status_body(
            400,
            "BadRequest",
            "the name of the object does not match the name on the URL",
            Value::Null,
        );
    }
    if let Some(body_ns) = config["metadata"]["namespace"].as_str()
        && Some(body_ns) != ns
    {
        return status_body(
            400,
            "BadRequest",
            "the namespace of the object does not match the namespace on the URL",
            Value::Null,
        );
    }
    if !valid_name(name) {
        return status_body(
            422,
            "Invalid",
            &format!(
                "{} \"{name}\" is invalid: metadata.name: Invalid value: \"{name}\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'",
                r.kind
            ),
            json!({"name": name, "group": r.group, "kind": r.kind, "causes": [{"reason": "FieldValueInvalid", "message": "Invalid value", "field": "metadata.name"}]}),
        );
    }
    let k = key(r, ns, name);
    let existing = st.objects.get(&k).cloned();
    let existing = existing.as_ref();
    if existing.is_none()
        && let Some(ns) = ns
    {
        let ns_key = (
            String::new(),
            "namespaces".to_string(),
            String::new(),
            ns.to_string(),
        );
        match st.objects.get(&ns_key) {
            None => {
                return status_body(
                    404,
                    "NotFound",
                    &format!("namespaces \"{ns}\" not found"),
                    json!({"name": ns, "kind": "namespaces"}),
                );
            }
            Some(n) if !n.obj["metadata"]["deletionTimestamp"].is_null() => {
                return status_body(
                    403,
                    "Forbidden",
                    &format!(
                        "{} \"{name}\" is forbidden: unable to create new content in namespace {ns} because it is being terminated",
                        r.qualified()
                    ),
                    json!({"name": name, "group": r.group, "kind": r.plural}),
                );
            }
            _ => {}
        }
    }
    // The API server ignores status on the main resource.
    let mut config = config;
    if let Some(m) = config.as_object_mut() {
        m.remove("status");
    }
    let mut fields = BTreeSet::new();
    let mut applied = config.clone();
    for id in ["apiVersion", "kind"] {
        applied.as_object_mut().map(|m| m.remove(id));
    }
    if let Some(m) = applied["metadata"].as_object_mut() {
        m.remove("name");
        m.remove("namespace");
    }
    leaves(&applied, &mut vec![], &mut fields);
    fields.retain(|p| !p.is_empty());

    let (mut obj, mut owned) = match existing {
        Some(s) => (s.obj.clone(), s.owned.clone()),
        None => (
            json!({"apiVersion": r.api_version(), "kind": r.kind, "metadata": {"name": name}}),
            Owned::new(),
        ),
    };
    if let (Some(ns), None) = (ns, existing) {
        obj["metadata"]["namespace"] = json!(ns);
    }
    // Conflicts: a field another manager owns, set here to a different value.
    let mut conflicts: Vec<(String, Vec<String>)> = vec![];
    for (other, paths) in owned.iter().filter(|(m, _)| *m != manager) {
        for p in paths.iter().filter(|p| fields.contains(*p)) {
            if at(&obj, p) != at(&config, p) {
                conflicts.push((other.clone(), p.clone()));
            }
        }
    }
    if !conflicts.is_empty() {
        if !force {
            let listed: Vec<String> = conflicts
                .iter()
                .map(|(m, p)| format!("conflict with \"{m}\": .{}", p.join(".")))
                .collect();
            let causes: Vec<Value> = conflicts
                .iter()
                .map(|(m, p)| json!({"reason": "FieldManagerConflict", "message": format!("conflict with \"{m}\""), "field": format!(".{}", p.join("."))}))
                .collect();
            return status_body(
                409,
                "Conflict",
                &format!(
                    "Apply failed with {} conflict{}: {}",
                    conflicts.len(),
                    if conflicts.len() == 1 { "" } else { "s" },
                    listed.join("; ")
                ),
                json!({"name": name, "group": r.group, "kind": r.plural, "causes": causes}),
            );
        }
        for (m, p) in &conflicts {
            if let Some(set) = owned.get_mut(m) {
                set.remove(p);
            }
        }
    }
    // Fields this manager set before and no longer sets, that nobody else owns, go away.
    let previous = owned.get(manager).cloned().unwrap_or_default();
    for p in previous.difference(&fields) {
        if !owned.iter().any(|(m, s)| m != manager && s.contains(p)) {
            remove_path(&mut obj, p);
        }
    }
    deep_merge(&mut obj, &config);
    owned.insert(manager.to_string(), fields);
    owned.retain(|_, s| !s.is_empty());

    let before = existing.map(|s| (without_volatile(&s.obj), s.owned.clone()));
    if let Some((old, old_owned)) = &before
        && *old == without_volatile(&obj)
        && *old_owned == owned
    {
        return (200, existing.map(|s| s.obj.clone()).unwrap_or_default());
    }
    let rv = st.rv + 1;
    let generation = match existing {
        None => 1,
        Some(s) => {
            let g = s.obj["metadata"]["generation"].as_i64().unwrap_or(1);
            if spec_part(&s.obj) != spec_part(&obj) {
                g + 1
            } else {
                g
            }
        }
    };
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let meta = &mut obj["metadata"];
    meta["resourceVersion"] = json!(rv.to_string());
    meta["generation"] = json!(generation);
    if existing.is_none() {
        meta["uid"] = json!(format!("00000000-0000-4000-8000-{rv:012}"));
        meta["creationTimestamp"] = json!(now);
        meta["annotations"]["fake/created-rv"] = json!(rv.to_string());
        if r.kind == "Namespace" {
            obj["status"] = json!({"phase": "Active"});
        }
        if r.kind == "CustomResourceDefinition" {
            obj["status"] = json!({"conditions": [
                {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts"},
                {"type": "Established", "status": "False", "reason": "Installing", "message": "the initial names have not been accepted yet"},
            ]});
        }
    }
    obj["metadata"]["managedFields"] = Value::Array(
        owned
            .iter()
            .map(|(m, paths)| json!({"manager": m, "operation": "Apply", "apiVersion": r.api_version(), "time": now, "fieldsType": "FieldsV1", "fieldsV1": fields_v1(paths)}))
            .collect(),
    );
    if !dry_run {
        st.rv = rv;
        st.objects.insert(
            k,
            Stored {
                obj: obj.clone(),
                owned,
            },
        );
    }
    (if existing.is_none() { 201 } else { 200 }, obj)
}

fn establish_later(st: &mut State, shared: &Arc<Mutex<State>>, name: &str) {
    let delay = st.opts.crd_established_after;
    if delay.is_zero() {
        establish(st, name);
    } else {
        let shared = shared.clone();
        let name = name.to_string();
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let mut st = shared.lock().unwrap_or_else(|p| p.into_inner());
            establish(&mut st, &name);
        });
    }
}

fn establish(st: &mut State, name: &str) {
    let k = (
        "apiextensions.k8s.io".to_string(),
        "customresourcedefinitions".to_string(),
        String::new(),
        name.to_string(),
    );
    let rv = st.rv + 1;
    if let Some(s) = st.objects.get_mut(&k)
        && !is_established(&s.obj)
    {
        s.obj["status"]["conditions"] = json!([
            {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts"},
            {"type": "Established", "status": "True", "reason": "InitialNamesAccepted"},
        ]);
        s.obj["metadata"]["resourceVersion"] = json!(rv.to_string());
        st.rv = rv;
    }
}

#[allow(clippy::too_many_arguments)]
fn merge_patch(
    st: &mut State,
    r: &Resource,
    ns: Option<&str>,
    name: &str,
    body: &[u8],
    status_only: bool,
    dry_run: bool,
    content_type: &str,
) -> Reply {
    if !content_type.starts_with("application/merge-patch+json") {
        return status_body(
            415,
            "UnsupportedMediaType",
            &format!("the fake supports apply and merge patches, not {content_type}"),
            Value::Null,
        );
    }
    let Ok(patch) = serde_json::from_slice::<Value>(body) else {
        return status_body(400, "BadRequest", "the patch is not JSON", Value::Null);
    };
    let k = key(r, ns, name);
    let Some(s) = st.objects.get(&k) else {
        return not_found(r, name);
    };
    let mut obj = s.obj.clone();
    merge_patch_value(&mut obj, &patch);
    if status_only {
        let status = obj["status"].clone();
        obj = s.obj.clone();
        obj["status"] = status;
    } else {
        obj["status"] = s.obj["status"].clone();
    }
    store_write(st, k, obj, dry_run)
}

fn put_status(st: &mut State, r: &Resource, ns: Option<&str>, name: &str, body: &[u8]) -> Reply {
    let Ok(new) = serde_json::from_slice::<Value>(body) else {
        return status_body(400, "BadRequest", "the body is not JSON", Value::Null);
    };
    let k = key(r, ns, name);
    let Some(s) = st.objects.get(&k) else {
        return not_found(r, name);
    };
    let mut obj = s.obj.clone();
    obj["status"] = new["status"].clone();
    store_write(st, k, obj, false)
}

/// Store a changed object (new resourceVersion), then let deletions with no finalizers finish.
fn store_write(st: &mut State, k: Key, mut obj: Value, dry_run: bool) -> Reply {
    let Some(s) = st.objects.get(&k) else {
        return no_such_path();
    };
    if without_volatile(&s.obj) == without_volatile(&obj) || dry_run {
        return (200, if dry_run { obj } else { s.obj.clone() });
    }
    let rv = st.rv + 1;
    st.rv = rv;
    obj["metadata"]["resourceVersion"] = json!(rv.to_string());
    if spec_part(&s.obj) != spec_part(&obj) {
        let g = s.obj["metadata"]["generation"].as_i64().unwrap_or(1);
        obj["metadata"]["generation"] = json!(g + 1);
    }
    if let Some(s) = st.objects.get_mut(&k) {
        s.obj = obj.clone();
    }
    settle(st);
    (200, obj)
}

fn delete(
    st: &mut State,
    r: &Resource,
    ns: Option<&str>,
    name: &str,
    policy: Option<String>,
    dry_run: bool,
) -> Reply {
    if let Some(p) = &policy
        && !["Foreground", "Background", "Orphan"].contains(&p.as_str())
    {
        return status_body(
            400,
            "BadRequest",
            &format!("invalid propagationPolicy {p}"),
            Value::Null,
        );
    }
    let k = key(r, ns, name);
    let Some(s) = st.objects.get(&k) else {
        return not_found(r, name);
    };
    if dry_run {
        return (200, s.obj.clone());
    }
    mark_deleted(st, &k);
    if r.kind == "Namespace" {
        let inside: Vec<Key> = st
            .objects
            .keys()
            .filter(|(_, _, n, _)| n == name)
            .cloned()
            .collect();
        for k in &inside {
            mark_deleted(st, k);
        }
        if let Some(s) = st.objects.get_mut(&k) {
            s.obj["status"]["phase"] = json!("Terminating");
        }
    }
    settle(st);
    match st.objects.get(&k) {
        Some(s) => (200, s.obj.clone()),
        None => (
            200,
            json!({
                "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                "details": {"name": name, "group": r.group, "kind": r.plural},
            }),
        ),
    }
}

fn mark_deleted(st: &mut State, k: &Key) {
    let rv = st.rv + 1;
    if let Some(s) = st.objects.get_mut(k)
        && s.obj["metadata"]["deletionTimestamp"].is_null()
    {
        s.obj["metadata"]["deletionTimestamp"] =
            json!(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
        s.obj["metadata"]["resourceVersion"] = json!(rv.to_string());
        st.rv = rv;
    }
}

/// Remove deleted objects without finalizers, and terminating namespaces once empty.
fn settle(st: &mut State) {
    loop {
        let gone: Vec<Key> = st
            .objects
            .iter()
            .filter(|(k, s)| {
                let meta = &s.obj["metadata"];
                let finalizers = meta["finalizers"].as_array().is_some_and(|f| !f.is_empty());
                let is_ns = k.1 == "namespaces" && k.0.is_empty();
                let has_content = is_ns && st.objects.keys().any(|(_, _, n, _)| *n == k.3);
                !meta["deletionTimestamp"].is_null() && !finalizers && !has_content
            })
            .map(|(k, _)| k.clone())
            .collect();
        if gone.is_empty() {
            return;
        }
        for k in gone {
            st.objects.remove(&k);
        }
    }
}

/// Write a kubeconfig at `path` whose one context (`fake`, the current one) reaches the API
/// server fake at `server` with its static admin token ([`TOKEN`]).
pub fn write_kubeconfig(path: &std::path::Path, server: &str) {
    std::fs::write(
        path,
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: fake\n\
             clusters:\n- name: fake\n  cluster: {{server: \"{server}\"}}\n\
             users:\n- name: admin\n  user: {{token: {TOKEN}}}\n\
             contexts:\n- name: fake\n  context: {{cluster: fake, user: admin}}\n"
        ),
    )
    .expect("write the kubeconfig");
}
