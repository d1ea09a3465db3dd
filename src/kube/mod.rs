//! The Kubernetes adapter: connect (kubeconfig or EKS with refreshed tokens), apply manifests
//! by server-side apply, plan by server-side dry-run, prune, delete by label, and wait.
//! It knows no step; the in-cluster steps give it a component name and rendered YAML.
//! See docs/kubernetes.md.

pub mod auth;
pub mod connect;
pub mod error;
pub mod manifest;
mod wait;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ::kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, ListParams, Patch, PatchParams,
};
use ::kube::client::ClientBuilder;
use ::kube::client::retry::RetryPolicy;
use ::kube::config::{KubeConfigOptions, Kubeconfig};
use ::kube::discovery::{self, ApiCapabilities, Scope, verbs};
use ::kube::{Client, Config, Discovery};
use base64::Engine;
use serde::Serialize;
use serde_json::Value;
use tower::buffer::BufferLayer;
use tower::retry::RetryLayer;

pub use auth::{BearerLayer, Clock, EksTokenSource, TokenSource};
pub use connect::connect;
pub use error::KubeError;
pub use manifest::{COMPONENT_LABEL, MANAGED_BY, ObjectRef};
pub use wait::{Condition, readiness};

/// The field manager of every server-side apply meshctl sends.
pub const FIELD_MANAGER: &str = "meshctl";
/// How often waits poll the API server.
pub const DEFAULT_POLL: Duration = Duration::from_secs(2);

/// Called with a progress line (what is awaited and why it is not ready yet).
pub type Progress = Arc<dyn Fn(&str) + Send + Sync>;

/// A connection to one cluster, for one stack.
#[derive(Clone)]
pub struct Kube {
    client: Client,
    stack: String,
    endpoint: String,
    poll: Duration,
    progress: Option<Progress>,
    resolved: Arc<Mutex<HashMap<GroupVersionKind, (ApiResource, ApiCapabilities)>>>,
}

/// Options of [`Kube::apply`] and [`Kube::plan`].
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// Take over fields another manager owns instead of failing with a conflict.
    pub force: bool,
    /// How long to wait for each CRD to become Established.
    pub timeout: Duration,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            force: false,
            timeout: Duration::from_secs(300),
        }
    }
}

/// What applying an object does (or did).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Op {
    Create,
    Change,
    Unchanged,
    Delete,
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            Op::Create => "create",
            Op::Change => "change",
            Op::Unchanged => "unchanged",
            Op::Delete => "delete",
        })
    }
}

/// One object of a plan or an apply report.
#[derive(Debug, Clone, Serialize)]
pub struct ObjectChange {
    pub object: ObjectRef,
    pub op: Op,
    /// Changed field paths (`spec.replicas`), for `change`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
    /// Why the plan could not ask the server (e.g. its CRD or namespace is created first).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl fmt::Display for ObjectChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:<9} {}", self.op, self.object)?;
        if !self.fields.is_empty() {
            write!(f, " ({})", self.fields.join(", "))?;
        }
        if let Some(n) = &self.note {
            write!(f, " [{n}]")?;
        }
        Ok(())
    }
}

/// A plan (dry-run) or the result of an apply, per object in apply order.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Changes {
    pub component: String,
    pub objects: Vec<ObjectChange>,
}

impl Changes {
    /// Whether anything would change (or changed).
    pub fn has_changes(&self) -> bool {
        self.objects.iter().any(|o| o.op != Op::Unchanged)
    }

    pub fn count(&self, op: Op) -> usize {
        self.objects.iter().filter(|o| o.op == op).count()
    }
}

impl fmt::Display for Changes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{}: {} to create, {} to change, {} unchanged, {} to delete",
            self.component,
            self.count(Op::Create),
            self.count(Op::Change),
            self.count(Op::Unchanged),
            self.count(Op::Delete)
        )?;
        for o in &self.objects {
            writeln!(f, "  {o}")?;
        }
        Ok(())
    }
}

impl Kube {
    /// Connect with a kubeconfig file (the default one when `path` is `None`) and context.
    pub async fn from_kubeconfig(
        stack: &str,
        path: Option<&Path>,
        context: Option<&str>,
    ) -> Result<Kube, KubeError> {
        let shown = path
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "(default: $KUBECONFIG or ~/.kube/config)".into());
        let bad = |message: String| KubeError::Kubeconfig {
            path: shown.clone(),
            message,
        };
        let kubeconfig = match path {
            Some(p) => Kubeconfig::read_from(p),
            None => Kubeconfig::read(),
        }
        .map_err(|e| bad(e.to_string()))?;
        let options = KubeConfigOptions {
            context: context.map(str::to_string),
            ..Default::default()
        };
        let config = Config::from_custom_kubeconfig(kubeconfig, &options)
            .await
            .map_err(|e| bad(e.to_string()))?;
        let endpoint = config.cluster_url.to_string();
        let builder = ClientBuilder::try_from(without_default_retry(config)).map_err(|e| {
            KubeError::Connect {
                endpoint: endpoint.clone(),
                message: e.to_string(),
                help: "check the cluster's server URL and certificate in the kubeconfig".into(),
            }
        })?;
        let client = builder
            .with_layer(&BufferLayer::new(BUFFER))
            .with_layer(&RetryLayer::new(ApiRetry::new()))
            .build();
        Ok(Kube::new(client, stack, endpoint))
    }

    /// Connect to an EKS endpoint with its base64 CA bundle (as DescribeCluster returns it),
    /// sending a fresh token from `tokens` on every request.
    pub fn from_eks(
        stack: &str,
        endpoint: &str,
        ca_base64: Option<&str>,
        tokens: Arc<dyn TokenSource>,
    ) -> Result<Kube, KubeError> {
        let bad = |message: String, help: &str| KubeError::Connect {
            endpoint: endpoint.to_string(),
            message,
            help: help.to_string(),
        };
        let uri: http::Uri = endpoint.parse().map_err(|e: http::uri::InvalidUri| {
            bad(
                e.to_string(),
                "use the cluster's endpoint URL as DescribeCluster reports it (https://...)",
            )
        })?;
        let mut config = Config::new(uri);
        if let Some(ca) = ca_base64 {
            config.root_cert = Some(ca_certificates(ca).map_err(|m| {
                bad(
                    m,
                    "use the cluster's certificateAuthority.data as DescribeCluster reports it",
                )
            })?);
        }
        let builder = ClientBuilder::try_from(without_default_retry(config)).map_err(|e| {
            bad(
                e.to_string(),
                "check the endpoint URL and the CA bundle of the cluster",
            )
        })?;
        let client = builder
            .with_layer(&BearerLayer { tokens })
            .with_layer(&BufferLayer::new(BUFFER))
            .with_layer(&RetryLayer::new(ApiRetry::new()))
            .build();
        Ok(Kube::new(client, stack, endpoint.to_string()))
    }

    /// Wrap an existing client (e.g. one built by a caller with its own layers).
    pub fn new(client: Client, stack: &str, endpoint: String) -> Kube {
        Kube {
            client,
            stack: stack.to_string(),
            endpoint,
            poll: DEFAULT_POLL,
            progress: None,
            resolved: Arc::default(),
        }
    }

    /// Poll every `poll` while waiting (tests use short intervals).
    pub fn with_poll_interval(mut self, poll: Duration) -> Kube {
        self.poll = poll;
        self
    }

    /// Report wait progress lines to `progress`.
    pub fn with_progress(mut self, progress: Progress) -> Kube {
        self.progress = Some(progress);
        self
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn stack(&self) -> &str {
        &self.stack
    }

    /// The API server's version (`gitVersion`); also a cheap check of the credentials.
    pub async fn server_version(&self) -> Result<String, KubeError> {
        self.client
            .apiserver_version()
            .await
            .map(|v| v.git_version)
            .map_err(|e| KubeError::from_kube("read the version of", &self.endpoint, e))
    }

    /// What `helm template` needs to see this server as it is: its version and every
    /// group/version it serves (`--kube-version`, `--api-versions`).
    pub async fn capabilities(&self) -> Result<Capabilities, KubeError> {
        let info = self
            .client
            .apiserver_version()
            .await
            .map_err(|e| KubeError::from_kube("read the version of", &self.endpoint, e))?;
        let mut api_versions: Vec<String> = self
            .client
            .list_core_api_versions()
            .await
            .map_err(|e| KubeError::from_kube("discover the core API of", &self.endpoint, e))?
            .versions;
        let groups =
            self.client.list_api_groups().await.map_err(|e| {
                KubeError::from_kube("discover the API groups of", &self.endpoint, e)
            })?;
        for g in groups.groups {
            for v in g.versions {
                api_versions.push(v.group_version);
            }
        }
        api_versions.sort();
        api_versions.dedup();
        Ok(Capabilities::new(info.git_version, api_versions))
    }

    /// The API resource serving `r`'s kind, found by discovery (cached once found).
    pub async fn resolve(
        &self,
        r: &ObjectRef,
    ) -> Result<(ApiResource, ApiCapabilities), KubeError> {
        let gvk = r.gvk();
        if let Some(hit) = self.resolved_cache().get(&gvk) {
            return Ok(hit.clone());
        }
        match discovery::pinned_kind(&self.client, &gvk).await {
            Ok(found) => {
                self.resolved_cache().insert(gvk, found.clone());
                Ok(found)
            }
            Err(::kube::Error::Api(s)) if s.code == 404 => Err(self.unknown_kind(r)),
            Err(::kube::Error::Discovery(_)) => Err(self.unknown_kind(r)),
            Err(e) => Err(KubeError::from_kube(
                "discover the kind of",
                &r.to_string(),
                e,
            )),
        }
    }

    fn unknown_kind(&self, r: &ObjectRef) -> KubeError {
        KubeError::UnknownKind {
            api_version: r.api_version.clone(),
            kind: r.kind.clone(),
            object: r.to_string(),
        }
    }

    fn resolved_cache(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<GroupVersionKind, (ApiResource, ApiCapabilities)>> {
        self.resolved.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn api_for(
        &self,
        ar: &ApiResource,
        caps: &ApiCapabilities,
        ns: Option<&str>,
    ) -> Api<DynamicObject> {
        match (&caps.scope, ns) {
            (Scope::Namespaced, Some(ns)) => Api::namespaced_with(self.client.clone(), ns, ar),
            (Scope::Namespaced, None) => Api::default_namespaced_with(self.client.clone(), ar),
            (Scope::Cluster, _) => Api::all_with(self.client.clone(), ar),
        }
    }

    /// Whether `r`'s namespace exists (`true` for cluster-scoped objects).
    async fn namespace_exists(&self, r: &ObjectRef) -> Result<bool, KubeError> {
        let Some(ns) = r.namespace.as_deref() else {
            return Ok(true);
        };
        let api: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(self.client.clone());
        api.get_opt(ns)
            .await
            .map(|found| found.is_some())
            .map_err(|e| KubeError::from_kube("read", &format!("namespace {ns}"), e))
    }

    /// Label, sort and plan `objects` for `component` by server-side dry-run apply.
    pub async fn plan(
        &self,
        component: &str,
        objects: &[DynamicObject],
        options: &ApplyOptions,
    ) -> Result<Changes, KubeError> {
        let objects = self.prepare(component, objects);
        let mut changes = Changes {
            component: component.to_string(),
            objects: vec![],
        };
        for obj in &objects {
            changes
                .objects
                .push(self.plan_one(obj, &objects, options).await?);
        }
        Ok(changes)
    }

    fn prepare(&self, component: &str, objects: &[DynamicObject]) -> Vec<DynamicObject> {
        let mut objects = objects.to_vec();
        for o in &mut objects {
            manifest::label(o, &self.stack, component);
            // Server-side apply bodies carry no server-owned metadata.
            o.metadata.resource_version = None;
            o.metadata.managed_fields = None;
            o.metadata.uid = None;
        }
        manifest::sort_for_apply(&mut objects);
        objects
    }

    async fn plan_one(
        &self,
        obj: &DynamicObject,
        all: &[DynamicObject],
        options: &ApplyOptions,
    ) -> Result<ObjectChange, KubeError> {
        let r = ObjectRef::of(obj);
        let change = |op, fields, note: Option<&str>| ObjectChange {
            object: r.clone(),
            op,
            fields,
            note: note.map(str::to_string),
        };
        let (ar, caps) = match self.resolve(&r).await {
            Ok(found) => found,
            Err(KubeError::UnknownKind { .. }) if defined_by_crd_in(&r, all) => {
                return Ok(change(
                    Op::Create,
                    vec![],
                    Some("its CustomResourceDefinition is created first"),
                ));
            }
            Err(e) => return Err(e),
        };
        let api = self.api_for(&ar, &caps, r.namespace.as_deref());
        let existing = api
            .get_opt(&r.name)
            .await
            .map_err(|e| KubeError::from_kube("read", &r.to_string(), e))?;
        let mut params = PatchParams::apply(FIELD_MANAGER).dry_run();
        params.force = options.force;
        let dry = match api.patch(&r.name, &params, &Patch::Apply(obj)).await {
            Ok(d) => d,
            Err(::kube::Error::Api(s))
                if s.code == 404 && existing.is_none() && namespace_in(&r, all) =>
            {
                return Ok(change(
                    Op::Create,
                    vec![],
                    Some("its namespace is created first"),
                ));
            }
            // A whole-stack plan comes before any apply: the namespace may be one an earlier
            // step of the same run creates (irsa makes the collectors' namespaces). The apply
            // itself still fails if it is missing then.
            Err(::kube::Error::Api(s))
                if s.code == 404 && existing.is_none() && !self.namespace_exists(&r).await? =>
            {
                return Ok(change(
                    Op::Create,
                    vec![],
                    Some("its namespace does not exist yet: an earlier step creates it"),
                ));
            }
            Err(e) => {
                return Err(KubeError::from_kube(
                    "plan (dry-run apply)",
                    &r.to_string(),
                    e,
                ));
            }
        };
        Ok(match existing {
            None => change(Op::Create, vec![], None),
            Some(current) => {
                let before = comparable(&current);
                let after = comparable(&dry);
                let mut fields = vec![];
                diff_paths("", &before, &after, &mut fields);
                if fields.is_empty() {
                    change(Op::Unchanged, fields, None)
                } else {
                    change(Op::Change, fields, None)
                }
            }
        })
    }

    /// Apply `objects` as `component`: CRDs first (waited until Established), namespaces
    /// next, then the rest in a stable order. Objects a dry-run finds unchanged are not sent.
    pub async fn apply(
        &self,
        component: &str,
        objects: &[DynamicObject],
        options: &ApplyOptions,
    ) -> Result<Changes, KubeError> {
        let objects = self.prepare(component, objects);
        let mut changes = Changes {
            component: component.to_string(),
            objects: vec![],
        };
        for obj in &objects {
            let mut planned = self.plan_one(obj, &objects, options).await?;
            let r = planned.object.clone();
            if planned.op != Op::Unchanged {
                let (ar, caps) = self.resolve(&r).await?;
                let api = self.api_for(&ar, &caps, r.namespace.as_deref());
                let mut params = PatchParams::apply(FIELD_MANAGER);
                params.force = options.force;
                api.patch(&r.name, &params, &Patch::Apply(obj))
                    .await
                    .map_err(|e| KubeError::from_kube("apply", &r.to_string(), e))?;
                planned.note = None;
            }
            if manifest::is_crd(&r) {
                self.wait_for(&r, Condition::Established, options.timeout)
                    .await?;
            }
            changes.objects.push(planned);
        }
        Ok(changes)
    }

    /// Every listable, deletable resource the API server serves (recommended versions).
    async fn deletable_resources(&self) -> Result<Vec<(ApiResource, ApiCapabilities)>, KubeError> {
        let discovery = Discovery::new(self.client.clone())
            .run()
            .await
            .map_err(|e| KubeError::from_kube("discover the resources of", &self.endpoint, e))?;
        let mut out = vec![];
        for group in discovery.groups() {
            for (ar, caps) in group.recommended_resources() {
                if caps.supports_operation(verbs::LIST) && caps.supports_operation(verbs::DELETE) {
                    out.push((ar, caps));
                }
            }
        }
        Ok(out)
    }

    /// Every object matching `selector`, with the resource serving it.
    async fn select(
        &self,
        selector: &str,
    ) -> Result<Vec<(ObjectRef, ApiResource, ApiCapabilities)>, KubeError> {
        let mut found = vec![];
        let mut seen = HashSet::new();
        for (ar, caps) in self.deletable_resources().await? {
            let api: Api<DynamicObject> = Api::all_with(self.client.clone(), &ar);
            let list = api
                .list(&ListParams::default().labels(selector))
                .await
                .map_err(|e| {
                    KubeError::from_kube("list", &format!("{} ({selector})", ar.plural), e)
                })?;
            for item in list.items {
                // One object served by two groups (core and events.k8s.io events) counts once.
                if let Some(uid) = &item.metadata.uid
                    && !seen.insert(uid.clone())
                {
                    continue;
                }
                let r = ObjectRef {
                    api_version: ar.api_version.clone(),
                    kind: ar.kind.clone(),
                    namespace: item.metadata.namespace.clone(),
                    name: item.metadata.name.clone().unwrap_or_default(),
                };
                found.push((r, ar.clone(), caps.clone()));
            }
        }
        found.sort_by(|a, b| {
            manifest::rank(&b.0)
                .cmp(&manifest::rank(&a.0))
                .then_with(|| a.0.cmp(&b.0))
        });
        Ok(found)
    }

    /// Every object matching the label `selector`, deletion order first (what `delete_by_label`
    /// would remove).
    pub async fn list_by_label(&self, selector: &str) -> Result<Vec<ObjectRef>, KubeError> {
        Ok(self
            .select(selector)
            .await?
            .into_iter()
            .map(|(r, _, _)| r)
            .collect())
    }

    /// Delete the objects of `component` (carrying all of meshctl's labels for this stack)
    /// that `rendered` no longer contains, and wait until they are gone.
    pub async fn prune(
        &self,
        component: &str,
        rendered: &[DynamicObject],
        timeout: Duration,
    ) -> Result<Changes, KubeError> {
        let keep: HashSet<_> = rendered
            .iter()
            .map(|o| ObjectRef::of(o).identity())
            .collect();
        let selector = manifest::component_selector(&self.stack, component);
        let doomed: Vec<_> = self
            .select(&selector)
            .await?
            .into_iter()
            .filter(|(r, _, _)| !keep.contains(&r.identity()))
            .collect();
        self.delete_all(&doomed, &DeleteParams::background())
            .await?;
        self.wait_all_gone(&doomed, timeout).await?;
        Ok(Changes {
            component: component.to_string(),
            objects: doomed
                .into_iter()
                .map(|(object, _, _)| ObjectChange {
                    object,
                    op: Op::Delete,
                    fields: vec![],
                    note: None,
                })
                .collect(),
        })
    }

    /// Delete everything matching `selector` with `propagation`, then wait until it is gone.
    pub async fn delete_by_label(
        &self,
        selector: &str,
        propagation: Propagation,
        timeout: Duration,
    ) -> Result<Vec<ObjectRef>, KubeError> {
        let doomed = self.select(selector).await?;
        let params = match propagation {
            Propagation::Foreground => DeleteParams::foreground(),
            Propagation::Background => DeleteParams::background(),
        };
        self.delete_all(&doomed, &params).await?;
        self.wait_all_gone(&doomed, timeout).await?;
        Ok(doomed.into_iter().map(|(r, _, _)| r).collect())
    }

    async fn delete_all(
        &self,
        doomed: &[(ObjectRef, ApiResource, ApiCapabilities)],
        params: &DeleteParams,
    ) -> Result<(), KubeError> {
        for (r, ar, caps) in doomed {
            let api = self.api_for(ar, caps, r.namespace.as_deref());
            match api.delete(&r.name, params).await {
                Ok(_) => {}
                Err(::kube::Error::Api(s)) if s.code == 404 => {}
                Err(e) => return Err(KubeError::from_kube("delete", &r.to_string(), e)),
            }
        }
        Ok(())
    }

    async fn wait_all_gone(
        &self,
        doomed: &[(ObjectRef, ApiResource, ApiCapabilities)],
        timeout: Duration,
    ) -> Result<(), KubeError> {
        let deadline = tokio::time::Instant::now() + timeout;
        for (r, _, _) in doomed {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            self.wait_for(r, Condition::Gone, left.max(Duration::from_millis(1)))
                .await
                .map_err(|e| match e {
                    KubeError::Timeout { what, why, .. } => KubeError::Timeout {
                        what,
                        why,
                        timeout: humantime::format_duration(timeout).to_string(),
                    },
                    other => other,
                })?;
        }
        Ok(())
    }

    /// `GET <path>` (with its query) from port `port` of Service `ns/name` through the API
    /// server's service proxy: the status and body, whatever the status (a 503 with
    /// "no endpoints available" means no pod is ready behind the Service). An error only when
    /// the API server itself cannot be reached or refuses the caller.
    pub async fn service_get(
        &self,
        ns: &str,
        name: &str,
        port: u16,
        path: &str,
    ) -> Result<(u16, String), KubeError> {
        let uri = format!(
            "/api/v1/namespaces/{ns}/services/{name}:{port}/proxy/{}",
            path.trim_start_matches('/')
        );
        let what = format!("the service proxy of {ns}/{name}");
        let request =
            http::Request::get(&uri)
                .body(Vec::new())
                .map_err(|e| KubeError::Connect {
                    endpoint: self.endpoint.clone(),
                    message: format!("{uri}: {e}"),
                    help: "this is a bug in meshctl: please report it".into(),
                })?;
        let response = self
            .client
            .send(request.map(::kube::client::Body::from))
            .await
            .map_err(|e| KubeError::from_kube("use", &what, e))?;
        let code = response.status().as_u16();
        let bytes = response
            .into_body()
            .collect_bytes()
            .await
            .map_err(|e| KubeError::from_kube("read the answer of", &what, e))?;
        let body = String::from_utf8_lossy(&bytes).into_owned();
        // The API server's own refusal of the caller is a Status object; what the pod behind
        // the Service answers (even a 403) is passed on as it is.
        if matches!(code, 401 | 403)
            && let Ok(doc) = serde_json::from_str::<serde_json::Value>(&body)
            && doc["kind"] == "Status"
            && let Ok(status) = serde_json::from_value::<::kube::core::Status>(doc)
        {
            return Err(KubeError::from_kube(
                "use",
                &what,
                ::kube::Error::Api(status.with_code(code).boxed()),
            ));
        }
        Ok((code, body))
    }

    /// Read an object, `None` when it does not exist.
    pub async fn get(&self, r: &ObjectRef) -> Result<Option<DynamicObject>, KubeError> {
        let (ar, caps) = self.resolve(r).await?;
        self.api_for(&ar, &caps, r.namespace.as_deref())
            .get_opt(&r.name)
            .await
            .map_err(|e| KubeError::from_kube("read", &r.to_string(), e))
    }
}

/// Requests queued in front of the retrying service (a retry needs a service it can clone).
const BUFFER: usize = 1024;

/// kube-rs's own retry (up to 15 attempts, backing off towards minutes) is replaced by
/// [`ApiRetry`].
fn without_default_retry(mut config: Config) -> Config {
    config.default_retry = false;
    config
}

/// How requests to the API server are retried: 429, 503 and 504 (the API server's answers
/// for "overloaded, try again", whatever the method: the request was not processed), at most
/// [`ApiRetry::ATTEMPTS`] times, backing off from 100 ms to 2 s and honouring `Retry-After`.
/// Requests through the service proxy are never retried: a 503 there means the Service has no
/// ready pod, which is an answer, not a hiccup.
#[derive(Clone)]
struct ApiRetry(RetryPolicy);

impl ApiRetry {
    const ATTEMPTS: u32 = 5;

    fn new() -> ApiRetry {
        ApiRetry(
            RetryPolicy::new(
                Duration::from_millis(100),
                Duration::from_secs(2),
                Self::ATTEMPTS,
                true,
            )
            .expect("constant backoff parameters are valid"),
        )
    }
}

impl<Res>
    tower::retry::Policy<http::Request<::kube::client::Body>, http::Response<Res>, tower::BoxError>
    for ApiRetry
{
    type Future = tokio::time::Sleep;

    fn retry(
        &mut self,
        req: &mut http::Request<::kube::client::Body>,
        result: &mut Result<http::Response<Res>, tower::BoxError>,
    ) -> Option<Self::Future> {
        if req.uri().path().contains("/proxy/") {
            return None;
        }
        self.0.retry(req, result)
    }

    fn clone_request(
        &mut self,
        req: &http::Request<::kube::client::Body>,
    ) -> Option<http::Request<::kube::client::Body>> {
        <RetryPolicy as tower::retry::Policy<
            http::Request<::kube::client::Body>,
            http::Response<Res>,
            tower::BoxError,
        >>::clone_request(&mut self.0, req)
    }
}

/// A server's version and the group/versions it serves (from discovery).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Capabilities {
    /// As the server reports it (`v1.34.2-eks-113cf36`).
    pub git_version: String,
    /// `v<major>.<minor>.<patch>` without a vendor suffix, for `helm --kube-version`.
    pub kube_version: String,
    /// `<major>.<minor>` (`1.34`), what support tables speak of.
    pub minor: String,
    /// `v1`, `apps/v1`, `networking.k8s.io/v1`, … sorted.
    pub api_versions: Vec<String>,
}

impl Capabilities {
    pub fn new(git_version: String, api_versions: Vec<String>) -> Capabilities {
        let core = git_version
            .trim()
            .trim_start_matches('v')
            .split(['-', '+'])
            .next()
            .unwrap_or_default()
            .to_string();
        let mut parts = core.split('.');
        let major = parts.next().unwrap_or("0");
        let minor = parts.next().unwrap_or("0");
        let patch = parts.next().unwrap_or("0");
        Capabilities {
            kube_version: format!("v{major}.{minor}.{patch}"),
            minor: format!("{major}.{minor}"),
            git_version,
            api_versions,
        }
    }
}

/// How a delete propagates to dependents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Propagation {
    /// Dependents first; the object goes last.
    Foreground,
    /// The object now; the garbage collector removes dependents.
    Background,
}

/// DER certificates from a base64 PEM bundle.
pub fn ca_certificates(ca_base64: &str) -> Result<Vec<Vec<u8>>, String> {
    let pem_text = base64::engine::general_purpose::STANDARD
        .decode(ca_base64.trim())
        .map_err(|e| format!("the CA bundle is not base64: {e}"))?;
    let blocks =
        pem::parse_many(&pem_text).map_err(|e| format!("the CA bundle is not PEM: {e}"))?;
    let certs: Vec<Vec<u8>> = blocks
        .into_iter()
        .filter(|b| b.tag() == "CERTIFICATE")
        .map(|b| b.contents().to_vec())
        .collect();
    if certs.is_empty() {
        return Err("the CA bundle holds no certificate".into());
    }
    Ok(certs)
}

fn defined_by_crd_in(r: &ObjectRef, all: &[DynamicObject]) -> bool {
    let gvk = r.gvk();
    all.iter().any(|o| {
        manifest::is_crd(&ObjectRef::of(o))
            && o.data["spec"]["group"] == gvk.group.as_str()
            && o.data["spec"]["names"]["kind"] == gvk.kind.as_str()
    })
}

fn namespace_in(r: &ObjectRef, all: &[DynamicObject]) -> bool {
    r.namespace.as_deref().is_some_and(|ns| {
        all.iter().any(|o| {
            let o = ObjectRef::of(o);
            o.kind == "Namespace" && o.api_version == "v1" && o.name == ns
        })
    })
}

/// An object as JSON without the fields the server changes on every write.
fn comparable(obj: &DynamicObject) -> Value {
    let mut v = serde_json::to_value(obj).unwrap_or(Value::Null);
    if let Some(meta) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        for k in [
            "managedFields",
            "resourceVersion",
            "generation",
            "creationTimestamp",
            "uid",
            "selfLink",
        ] {
            meta.remove(k);
        }
    }
    v
}

/// Dotted paths where `a` and `b` differ (maps compared key by key, lists as a whole).
fn diff_paths(prefix: &str, a: &Value, b: &Value, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                let path = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                diff_paths(
                    &path,
                    x.get(k).unwrap_or(&Value::Null),
                    y.get(k).unwrap_or(&Value::Null),
                    out,
                );
            }
        }
        _ if a != b => out.push(prefix.to_string()),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn diff_paths_names_changed_leaves_and_whole_lists() {
        let a = json!({"spec": {"replicas": 1, "ports": [1], "same": "x"}, "metadata": {"labels": {"a": "1"}}});
        let b = json!({"spec": {"replicas": 3, "ports": [1, 2], "same": "x"}, "metadata": {"labels": {"a": "1", "b": "2"}}});
        let mut out = vec![];
        diff_paths("", &a, &b, &mut out);
        assert_eq!(out, ["metadata.labels.b", "spec.ports", "spec.replicas"]);
    }

    #[test]
    fn ca_bundle_gives_the_der_of_each_certificate() {
        let pem_text = "-----BEGIN CERTIFICATE-----\nAAEC\n-----END CERTIFICATE-----\n\
                        -----BEGIN CERTIFICATE-----\nAwQF\n-----END CERTIFICATE-----\n";
        let b64 = base64::engine::general_purpose::STANDARD.encode(pem_text);
        assert_eq!(
            ca_certificates(&b64),
            Ok(vec![vec![0, 1, 2], vec![3, 4, 5]])
        );
    }

    #[test]
    fn capabilities_strip_the_vendor_suffix() {
        let c = Capabilities::new("v1.34.2-eks-113cf36".into(), vec!["v1".into()]);
        assert_eq!(c.kube_version, "v1.34.2");
        assert_eq!(c.minor, "1.34");
        let c = Capabilities::new("v1.35.0+k3s1".into(), vec![]);
        assert_eq!(c.kube_version, "v1.35.0");
    }

    #[test]
    fn ca_bundle_must_hold_a_certificate() {
        let b64 = base64::engine::general_purpose::STANDARD.encode("not pem");
        assert!(ca_certificates(&b64).is_err());
        assert!(ca_certificates("%%%").is_err());
    }
}
