//! The inventory of one App Mesh mesh, as plain data: what `inventory` prints and what the
//! pure `translate` function reads. Durations are milliseconds; App Mesh's `{value, unit}`
//! pairs are normalised when read.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Everything meshctl found about one mesh: the AWS side and, when a cluster was reachable,
/// the Kubernetes side.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Inventory {
    pub mesh: Mesh,
    pub virtual_services: Vec<VirtualService>,
    pub virtual_routers: Vec<VirtualRouter>,
    pub virtual_nodes: Vec<VirtualNode>,
    pub virtual_gateways: Vec<VirtualGateway>,
    /// `None` when no cluster was reachable (see `kubernetes_note`).
    pub kubernetes: Option<KubeSide>,
    /// Why the Kubernetes side is missing, when it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kubernetes_note: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Mesh {
    pub name: String,
    pub arn: String,
    /// `DROP_ALL` (App Mesh's default) or `ALLOW_ALL`.
    pub egress_filter: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip_preference: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "name", rename_all = "snake_case")]
pub enum Provider {
    VirtualNode(String),
    VirtualRouter(String),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VirtualService {
    pub name: String,
    pub arn: String,
    pub provider: Option<Provider>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PortMapping {
    pub port: i32,
    /// `http`, `http2`, `grpc` or `tcp`.
    pub protocol: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VirtualRouter {
    pub name: String,
    pub arn: String,
    pub listeners: Vec<PortMapping>,
    pub routes: Vec<Route>,
}

/// `http`, `http2`, `grpc` or `tcp`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RouteKind {
    Http,
    Http2,
    Grpc,
    Tcp,
}

impl RouteKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RouteKind::Http => "http",
            RouteKind::Http2 => "http2",
            RouteKind::Grpc => "grpc",
            RouteKind::Tcp => "tcp",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Route {
    pub name: String,
    pub arn: String,
    /// Lower values are matched first; routes without one come last.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<i32>,
    pub kind: RouteKind,
    #[serde(rename = "match")]
    pub matcher: RouteMatch,
    pub targets: Vec<WeightedTarget>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry: Option<RetryPolicy>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Timeout>,
}

/// A string matcher: exactly one of the fields is set (App Mesh's union).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StringMatch {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exact: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suffix: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub regex: Option<String>,
    /// Integer range `[start, end)`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub range: Option<(i64, i64)>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeaderMatch {
    pub name: String,
    #[serde(default)]
    pub invert: bool,
    /// `None`: the header is present.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matcher: Option<StringMatch>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueryMatch {
    pub name: String,
    /// `None`: the parameter is present.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exact: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RouteMatch {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path_exact: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path_regex: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scheme: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<i32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<HeaderMatch>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub query_parameters: Vec<QueryMatch>,
    /// gRPC: the service (`package.Service`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grpc_service: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grpc_method: Option<String>,
    /// gRPC metadata (headers).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub grpc_metadata: Vec<HeaderMatch>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WeightedTarget {
    pub virtual_node: String,
    pub weight: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<i32>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RetryPolicy {
    pub max_retries: i64,
    pub per_retry_timeout_ms: i64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub http_retry_events: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tcp_retry_events: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub grpc_retry_events: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Timeout {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub per_request_ms: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idle_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServiceDiscovery {
    Dns {
        hostname: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        response_type: Option<String>,
    },
    CloudMap {
        namespace: String,
        service: String,
        #[serde(default)]
        attributes: BTreeMap<String, String>,
    },
}

/// Where a certificate or trust bundle comes from: `acm`, `file` or `sds`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListenerTls {
    /// `STRICT`, `PERMISSIVE` or `DISABLED`.
    pub mode: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validation: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthCheck {
    pub protocol: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    pub interval_ms: i64,
    pub timeout_ms: i64,
    pub healthy_threshold: i32,
    pub unhealthy_threshold: i32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutlierDetection {
    pub max_server_errors: i64,
    pub interval_ms: i64,
    pub base_ejection_ms: i64,
    pub max_ejection_percent: i32,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ConnectionPool {
    /// `http`, `http2`, `grpc` or `tcp`.
    pub protocol: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_connections: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_pending_requests: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_requests: Option<i32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Listener {
    pub port_mapping: PortMapping,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<ListenerTls>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health_check: Option<HealthCheck>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Timeout>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outlier_detection: Option<OutlierDetection>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connection_pool: Option<ConnectionPool>,
}

/// A client TLS policy (backend defaults or one backend's).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientTls {
    pub enforce: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<i32>,
    /// Client certificate source (`file`, `sds`), when one is presented.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate: Option<String>,
    /// Trust source (`acm`, `file`, `sds`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validation: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Backend {
    pub virtual_service: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<ClientTls>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VirtualNode {
    pub name: String,
    pub arn: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_discovery: Option<ServiceDiscovery>,
    pub listeners: Vec<Listener>,
    pub backends: Vec<Backend>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backend_defaults_tls: Option<ClientTls>,
    /// Envoy access log path, when logging is configured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_log: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GatewayListener {
    pub port_mapping: PortMapping,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<ListenerTls>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VirtualGateway {
    pub name: String,
    pub arn: String,
    pub listeners: Vec<GatewayListener>,
    pub gateway_routes: Vec<GatewayRoute>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GatewayRoute {
    pub name: String,
    pub arn: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<i32>,
    pub kind: RouteKind,
    #[serde(rename = "match")]
    pub matcher: RouteMatch,
    /// Host match: `exact` or `suffix`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<StringMatch>,
    pub target_virtual_service: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_port: Option<i32>,
    /// Prefix rewrite: `Some(value)` to rewrite to `value`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rewrite_prefix: Option<String>,
    /// `DISABLED` when App Mesh's default prefix rewrite is turned off.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_prefix_rewrite: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rewrite_path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rewrite_hostname: Option<String>,
}

/// The Kubernetes side of the mesh.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KubeSide {
    /// App Mesh controller custom resources (`appmesh.k8s.aws`), or `None` when the API server
    /// does not serve that group (controller CRDs not installed).
    pub controller_resources: Option<Vec<ControllerResource>>,
    /// Pods that run the App Mesh Envoy sidecar.
    pub sidecar_pods: Vec<SidecarPod>,
    /// Namespaces labelled `appmesh.k8s.aws/sidecarInjectorWebhook=enabled`.
    pub injected_namespaces: Vec<String>,
    /// Whether the API server serves `networking.istio.io` (Istio installed).
    pub istio_installed: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ControllerResource {
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
    /// The App Mesh name (`spec.awsName`) when set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aws_name: Option<String>,
    /// `spec.podSelector.matchLabels` of a VirtualNode.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub pod_selector: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SidecarPod {
    pub namespace: String,
    pub name: String,
    /// The owning workload (`Deployment/web`, `ReplicaSet/web-5d9…`), when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    pub image: String,
}
