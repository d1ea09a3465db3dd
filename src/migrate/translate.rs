//! Phase 2 (translation): a pure function from an App Mesh inventory to Istio manifests and a
//! report of everything that has no faithful Istio equivalent. No I/O, no clock: the same
//! inventory always gives the same files.
//!
//! How App Mesh maps onto Istio (docs/migrate-appmesh.md has the full table):
//! - a virtual node's service discovery names a Kubernetes host (DNS hostname, or
//!   `<service>.<namespace>` for Cloud Map); nodes sharing a host become subsets of one
//!   DestinationRule, selected by pod labels (the controller's `podSelector`, Cloud Map
//!   attributes, or an assumed `version` label that the report asks to verify);
//! - listener outlier detection and connection pools become the DestinationRule's traffic policy;
//! - a virtual service becomes a VirtualService for its name; its router's routes, in priority
//!   order, become HTTP (or TCP) routes with the same matches, weights, retries and timeouts;
//! - a virtual gateway becomes a Gateway, its gateway routes one VirtualService bound to it;
//! - the mesh's TLS mode becomes a PeerAuthentication (STRICT only when every listener enforces TLS).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::PathBuf;

use serde::Serialize;
use serde_json::{Map, Value, json};

use super::inventory::priority_key;
use super::model::*;
use crate::config::{MANAGED_BY_LABEL, STACK_TAG};
use crate::kube::{COMPONENT_LABEL, MANAGED_BY};

/// The Kubernetes component label value of every migration object.
pub const COMPONENT: &str = "appmesh-migration";
/// The annotation naming the App Mesh resource an object was translated from.
pub const SOURCE_ANNOTATION: &str = "meshctl.io/appmesh-source";
/// The report file written next to the manifests.
pub const REPORT_FILE: &str = "MIGRATION-REPORT.md";
/// App Mesh's per-request timeout when a route sets none (HTTP, HTTP/2, gRPC).
pub const APPMESH_DEFAULT_TIMEOUT_MS: i64 = 15_000;

/// What `translate` needs besides the inventory.
#[derive(Debug, Clone)]
pub struct Options {
    /// Namespace of every generated object.
    pub namespace: String,
    /// The meshctl stack (the `meshctl.io/stack` label).
    pub stack: String,
    /// Percentage of each virtual service's traffic that follows the translated routes; the
    /// rest goes to the Kubernetes Service named by the virtual service (see `shift`).
    pub weight: u8,
    /// Labels selecting the Istio ingress gateway pods for translated virtual gateways.
    pub gateway_selector: BTreeMap<String, String>,
}

impl Options {
    pub fn new(namespace: &str, stack: &str) -> Options {
        Options {
            namespace: namespace.to_string(),
            stack: stack.to_string(),
            weight: 100,
            gateway_selector: BTreeMap::from([("istio".to_string(), "ingressgateway".to_string())]),
        }
    }
}

/// How a report item is to be handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Not translated: a person must act.
    Manual,
    /// Translated with an assumption or a difference worth checking.
    Check,
}

/// One thing the translation could not reproduce faithfully.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct ReportItem {
    pub severity: Severity,
    /// The App Mesh resource (`route web-router/canary`).
    pub resource: String,
    pub arn: String,
    /// The feature (`header range match`).
    pub feature: String,
    pub reason: String,
    /// What to do by hand.
    pub action: String,
}

/// The generated files (relative paths) and the report.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Translation {
    pub files: BTreeMap<PathBuf, String>,
    pub report: Vec<ReportItem>,
    /// Every generated object, in file order.
    #[serde(skip)]
    pub objects: Vec<Value>,
}

impl fmt::Display for Translation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} Istio objects in {} files; {} items for manual review in {REPORT_FILE}",
            self.objects.len(),
            self.files.len().saturating_sub(1),
            self.report.len()
        )?;
        for path in self.files.keys() {
            writeln!(f, "  {}", path.display())?;
        }
        Ok(())
    }
}

struct Ctx<'a> {
    inv: &'a Inventory,
    opts: &'a Options,
    report: Vec<ReportItem>,
}

impl Ctx<'_> {
    fn report(
        &mut self,
        severity: Severity,
        resource: impl Into<String>,
        arn: &str,
        feature: impl Into<String>,
        reason: impl Into<String>,
        action: impl Into<String>,
    ) {
        let item = ReportItem {
            severity,
            resource: resource.into(),
            arn: arn.to_string(),
            feature: feature.into(),
            reason: reason.into(),
            action: action.into(),
        };
        if !self.report.contains(&item) {
            self.report.push(item);
        }
    }

    fn metadata(&self, name: &str, source: &str) -> Value {
        json!({
            "name": name,
            "namespace": self.opts.namespace,
            "labels": {
                MANAGED_BY_LABEL: MANAGED_BY,
                STACK_TAG: self.opts.stack,
                COMPONENT_LABEL: COMPONENT,
            },
            "annotations": { SOURCE_ANNOTATION: source },
        })
    }

    fn node(&self, name: &str) -> Option<&VirtualNode> {
        self.inv.virtual_nodes.iter().find(|n| n.name == name)
    }
}

/// A Kubernetes object name from an App Mesh name or host: lowercase letters, digits and
/// hyphens, without the cluster suffix, at most 63 characters.
pub fn object_name(s: &str) -> String {
    let s = s
        .trim_end_matches('.')
        .trim_end_matches(".svc.cluster.local");
    let mut out: String = s
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    while out.contains("--") {
        out = out.replace("--", "-");
    }
    let mut out = out.trim_matches('-').to_string();
    out.truncate(63);
    let out = out.trim_end_matches('-').to_string();
    if out.is_empty() { "x".into() } else { out }
}

/// Escape a literal for a (RE2) regular expression.
pub fn regex_escape(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// An Istio duration (`15s`, `250ms`).
pub fn duration(ms: i64) -> String {
    if ms % 1000 == 0 {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

/// Where a virtual node's traffic goes in Istio.
#[derive(Debug, Clone, PartialEq)]
pub struct Dest {
    pub host: String,
    pub subset: Option<String>,
}

/// The Kubernetes host of a virtual node, from its service discovery.
pub fn node_host(node: &VirtualNode) -> Option<String> {
    match &node.service_discovery {
        Some(ServiceDiscovery::Dns { hostname, .. }) => Some(hostname.clone()),
        Some(ServiceDiscovery::CloudMap {
            namespace, service, ..
        }) => Some(format!("{service}.{namespace}")),
        None => None,
    }
}

/// Hosts with their virtual nodes, and which hosts need subsets.
struct Hosts {
    by_host: BTreeMap<String, Vec<String>>,
}

impl Hosts {
    fn new(inv: &Inventory) -> Hosts {
        let mut by_host: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for n in &inv.virtual_nodes {
            if let Some(h) = node_host(n) {
                by_host.entry(h).or_default().push(n.name.clone());
            }
        }
        Hosts { by_host }
    }

    fn needs_subsets(&self, host: &str, inv: &Inventory) -> bool {
        let nodes = self
            .by_host
            .get(host)
            .map(Vec::as_slice)
            .unwrap_or_default();
        nodes.len() > 1
            || nodes.iter().any(|n| {
                inv.virtual_nodes.iter().any(|v| {
                    &v.name == n
                        && matches!(&v.service_discovery,
                            Some(ServiceDiscovery::CloudMap { attributes, .. }) if !attributes.is_empty())
                })
            })
    }

    fn dest(&self, node: &VirtualNode, inv: &Inventory) -> Option<Dest> {
        let host = node_host(node)?;
        let subset = self
            .needs_subsets(&host, inv)
            .then(|| object_name(&node.name));
        Some(Dest { host, subset })
    }
}

/// The pod labels selecting a virtual node's pods, and whether they are an assumption.
fn subset_labels(
    node: &VirtualNode,
    host: &str,
    inv: &Inventory,
) -> (BTreeMap<String, String>, bool) {
    if let Some(k) = &inv.kubernetes
        && let Some(crs) = &k.controller_resources
        && let Some(cr) = crs.iter().find(|r| {
            r.kind == "VirtualNode"
                && !r.pod_selector.is_empty()
                && (r.aws_name.as_deref() == Some(node.name.as_str())
                    || node.name.starts_with(&format!("{}_", r.name)))
        })
    {
        return (cr.pod_selector.clone(), false);
    }
    if let Some(ServiceDiscovery::CloudMap { attributes, .. }) = &node.service_discovery
        && !attributes.is_empty()
    {
        return (attributes.clone(), false);
    }
    let service = host.split('.').next().unwrap_or_default();
    let version = node
        .name
        .strip_prefix(service)
        .and_then(|r| r.strip_prefix('-').or_else(|| r.strip_prefix('_')))
        .filter(|r| !r.is_empty())
        .unwrap_or(&node.name);
    (
        BTreeMap::from([("version".to_string(), object_name(version))]),
        true,
    )
}

/// Normalise relative weights to percentages summing to 100 (largest remainder), then scale
/// them to `share` percent.
pub fn percentages(weights: &[i64], share: u8) -> Vec<i64> {
    let total: i64 = weights.iter().map(|w| (*w).max(0)).sum();
    if weights.is_empty() || total == 0 {
        return vec![0; weights.len()];
    }
    let share = i64::from(share);
    let exact: Vec<(i64, i64)> = weights
        .iter()
        .map(|w| {
            let n = w.max(&0) * share;
            (n / total, n % total)
        })
        .collect();
    let mut out: Vec<i64> = exact.iter().map(|(q, _)| *q).collect();
    let mut left = share - out.iter().sum::<i64>();
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by(|a, b| exact[*b].1.cmp(&exact[*a].1).then(a.cmp(b)));
    for i in order {
        if left <= 0 {
            break;
        }
        out[i] += 1;
        left -= 1;
    }
    out
}

fn string_match(m: &StringMatch) -> Option<Value> {
    if let Some(v) = &m.exact {
        return Some(json!({"exact": v}));
    }
    if let Some(v) = &m.prefix {
        return Some(json!({"prefix": v}));
    }
    if let Some(v) = &m.suffix {
        return Some(json!({"regex": format!(".*{}", regex_escape(v))}));
    }
    if let Some(v) = &m.regex {
        return Some(json!({"regex": v}));
    }
    None
}

/// App Mesh retry events → Istio `retryOn` values. `None`: no equivalent.
pub fn retry_on(event: &str) -> Option<&'static str> {
    Some(match event {
        "server-error" => "5xx",
        "gateway-error" => "gateway-error",
        "client-error" => "retriable-4xx",
        "stream-error" => "refused-stream",
        "connection-error" => "connect-failure",
        "cancelled" => "cancelled",
        "deadline-exceeded" => "deadline-exceeded",
        "internal" => "internal",
        "resource-exhausted" => "resource-exhausted",
        "unavailable" => "unavailable",
        _ => return None,
    })
}

impl Ctx<'_> {
    /// Istio `match` entries for an App Mesh match; `None` when a part has no equivalent
    /// (reported; the route is then left out rather than matching more than it did).
    fn http_match(&mut self, m: &RouteMatch, resource: &str, arn: &str) -> Option<Value> {
        let mut out = Map::new();
        if let Some(p) = &m.prefix {
            out.insert("uri".into(), json!({"prefix": p}));
        }
        if let Some(p) = &m.path_exact {
            out.insert("uri".into(), json!({"exact": p}));
        }
        if let Some(p) = &m.path_regex {
            out.insert("uri".into(), json!({"regex": p}));
        }
        match (&m.grpc_service, &m.grpc_method) {
            (Some(s), Some(me)) => {
                out.insert("uri".into(), json!({"exact": format!("/{s}/{me}")}));
            }
            (Some(s), None) => {
                out.insert("uri".into(), json!({"prefix": format!("/{s}/")}));
            }
            _ => {}
        }
        if let Some(v) = &m.method {
            out.insert("method".into(), json!({"exact": v}));
        }
        if let Some(v) = &m.scheme {
            out.insert("scheme".into(), json!({"exact": v}));
        }
        if let Some(p) = m.port {
            out.insert("port".into(), json!(p));
        }
        let mut headers = Map::new();
        let mut without = Map::new();
        for h in m.headers.iter().chain(&m.grpc_metadata) {
            let value = match &h.matcher {
                None => Some(json!({"regex": ".*"})),
                Some(sm) if sm.range.is_some() => {
                    let (start, end) = sm.range.unwrap_or_default();
                    self.report(
                        Severity::Manual,
                        resource,
                        arn,
                        format!("header `{}` range match [{start}, {end})", h.name),
                        "Istio header matches have no numeric range",
                        "express the range as a regex header match (e.g. `^(1[0-9]|2[0-4])$`) in the generated VirtualService, then add the route",
                    );
                    None
                }
                Some(sm) => string_match(sm),
            };
            let value = value?;
            let name = h.name.to_ascii_lowercase();
            if h.invert {
                without.insert(name, value);
            } else {
                headers.insert(name, value);
            }
        }
        if !headers.is_empty() {
            out.insert("headers".into(), Value::Object(headers));
        }
        if !without.is_empty() {
            out.insert("withoutHeaders".into(), Value::Object(without));
        }
        if !m.query_parameters.is_empty() {
            let q: Map<String, Value> = m
                .query_parameters
                .iter()
                .map(|q| {
                    let v = match &q.exact {
                        Some(e) => json!({"exact": e}),
                        None => json!({"regex": ".*"}),
                    };
                    (q.name.clone(), v)
                })
                .collect();
            out.insert("queryParams".into(), Value::Object(q));
        }
        Some(Value::Object(out))
    }

    fn retries(&mut self, r: &RetryPolicy, resource: &str, arn: &str) -> Value {
        let mut on = vec![];
        for e in r
            .http_retry_events
            .iter()
            .chain(&r.tcp_retry_events)
            .chain(&r.grpc_retry_events)
        {
            match retry_on(e) {
                Some(v) => {
                    if !on.contains(&v) {
                        on.push(v)
                    }
                }
                None => self.report(
                    Severity::Manual,
                    resource,
                    arn,
                    format!("retry event `{e}`"),
                    "Istio has no retry condition for this App Mesh event",
                    "pick the closest Envoy `retryOn` condition and add it to the route's retries",
                ),
            }
        }
        if !r.grpc_retry_events.is_empty() {
            self.report(
                Severity::Check,
                resource,
                arn,
                format!("gRPC retry events {}", r.grpc_retry_events.join(", ")),
                "translated to Istio's gRPC `retryOn` status names; Envoy retries on them only when the upstream answers with that grpc-status",
                "check the route's `retries.retryOn` against the service's gRPC status codes",
            );
        }
        let mut v = json!({
            "attempts": r.max_retries,
            "perTryTimeout": duration(r.per_retry_timeout_ms),
        });
        if !on.is_empty() {
            v["retryOn"] = json!(on.join(","));
        }
        v
    }

    /// Destinations for weighted targets; `None` (reported) when a target cannot be placed.
    fn destinations(
        &mut self,
        targets: &[WeightedTarget],
        hosts: &Hosts,
        vs_host: &str,
        resource: &str,
        arn: &str,
    ) -> Option<Vec<Value>> {
        let mut dests = vec![];
        for t in targets {
            let Some(node) = self.node(&t.virtual_node).cloned() else {
                self.report(
                    Severity::Manual,
                    resource,
                    arn,
                    format!("target virtual node `{}`", t.virtual_node),
                    "the virtual node does not exist in the mesh",
                    "fix the route in App Mesh or add the destination by hand",
                );
                return None;
            };
            let Some(d) = hosts.dest(&node, self.inv) else {
                self.report(
                    Severity::Manual,
                    resource,
                    arn,
                    format!(
                        "target virtual node `{}` without service discovery",
                        node.name
                    ),
                    "a node without service discovery has no Kubernetes host to route to",
                    "add the Kubernetes Service of that workload as a destination by hand",
                );
                return None;
            };
            let mut dest = json!({"host": d.host});
            if let Some(s) = d.subset {
                dest["subset"] = json!(s);
            }
            if let Some(p) = t.port {
                dest["port"] = json!({"number": p});
            }
            dests.push((dest, i64::from(t.weight)));
        }
        let weights: Vec<i64> = dests.iter().map(|(_, w)| *w).collect();
        let share = self.opts.weight;
        let pct = percentages(&weights, share);
        let mut out: Vec<Value> = dests
            .into_iter()
            .zip(pct)
            .filter(|(_, p)| *p > 0)
            .map(|((d, _), p)| json!({"destination": d, "weight": p}))
            .collect();
        if share < 100 {
            out.push(json!({"destination": {"host": vs_host}, "weight": 100 - i64::from(share)}));
        }
        if out.len() == 1 {
            out[0].as_object_mut().map(|o| o.remove("weight"));
        }
        Some(out)
    }

    fn virtual_service(&mut self, vs: &VirtualService, hosts: &Hosts) -> Option<Value> {
        let resource = format!("virtual service {}", vs.name);
        let mut http = vec![];
        let mut tcp = vec![];
        match &vs.provider {
            None => {
                self.report(
                    Severity::Manual,
                    &resource,
                    &vs.arn,
                    "virtual service without a provider",
                    "App Mesh answers nothing for it; there is nothing to route",
                    "route it by hand or leave it out",
                );
                return None;
            }
            Some(Provider::VirtualNode(n)) => {
                let node = self.node(n).cloned();
                let tcp_only = node.as_ref().is_some_and(|n| {
                    !n.listeners.is_empty()
                        && n.listeners.iter().all(|l| l.port_mapping.protocol == "tcp")
                });
                let targets = [WeightedTarget {
                    virtual_node: n.clone(),
                    weight: 1,
                    port: None,
                }];
                let route = self.destinations(&targets, hosts, &vs.name, &resource, &vs.arn)?;
                if tcp_only {
                    tcp.push(json!({"route": route}));
                } else {
                    http.push(json!({
                        "name": object_name(n),
                        "route": route,
                        "timeout": duration(APPMESH_DEFAULT_TIMEOUT_MS),
                    }));
                }
            }
            Some(Provider::VirtualRouter(r)) => {
                let Some(router) = self
                    .inv
                    .virtual_routers
                    .iter()
                    .find(|x| &x.name == r)
                    .cloned()
                else {
                    self.report(
                        Severity::Manual,
                        &resource,
                        &vs.arn,
                        format!("virtual router `{r}`"),
                        "the provider router does not exist in the mesh",
                        "fix the virtual service in App Mesh",
                    );
                    return None;
                };
                self.router_protocols(&router);
                let mut routes = router.routes.clone();
                routes.sort_by(|a, b| {
                    priority_key(a.priority, &a.name).cmp(&priority_key(b.priority, &b.name))
                });
                for route in &routes {
                    let res = format!("route {}/{}", router.name, route.name);
                    let Some(dests) =
                        self.destinations(&route.targets, hosts, &vs.name, &res, &route.arn)
                    else {
                        continue;
                    };
                    if route.kind == RouteKind::Tcp {
                        let mut t = json!({"route": dests});
                        if let Some(p) = route.matcher.port {
                            t["match"] = json!([{"port": p}]);
                        }
                        if let Some(idle) = route.timeout.as_ref().and_then(|t| t.idle_ms) {
                            self.idle_timeout(&res, &route.arn, idle, &route.targets, hosts);
                        }
                        tcp.push(t);
                        continue;
                    }
                    let Some(m) = self.http_match(&route.matcher, &res, &route.arn) else {
                        continue;
                    };
                    let mut h = json!({"name": object_name(&route.name)});
                    if m.as_object().is_some_and(|o| !o.is_empty()) {
                        h["match"] = json!([m]);
                    }
                    h["route"] = json!(dests);
                    let per_request = route
                        .timeout
                        .as_ref()
                        .and_then(|t| t.per_request_ms)
                        .unwrap_or(APPMESH_DEFAULT_TIMEOUT_MS);
                    h["timeout"] = json!(duration(per_request));
                    if let Some(idle) = route.timeout.as_ref().and_then(|t| t.idle_ms) {
                        self.idle_timeout(&res, &route.arn, idle, &route.targets, hosts);
                    }
                    if let Some(r) = &route.retry {
                        h["retries"] = self.retries(r, &res, &route.arn);
                    }
                    http.push(h);
                }
            }
        }
        let mut spec = json!({"hosts": [vs.name]});
        if !http.is_empty() {
            spec["http"] = json!(http);
        }
        if !tcp.is_empty() {
            spec["tcp"] = json!(tcp);
        }
        Some(json!({
            "apiVersion": "networking.istio.io/v1",
            "kind": "VirtualService",
            "metadata": self.metadata(&object_name(&vs.name), &vs.arn),
            "spec": spec,
        }))
    }

    fn idle_timeout(
        &mut self,
        res: &str,
        arn: &str,
        idle: i64,
        targets: &[WeightedTarget],
        hosts: &Hosts,
    ) {
        let dests: BTreeSet<String> = targets
            .iter()
            .filter_map(|t| self.node(&t.virtual_node))
            .filter_map(|n| hosts.dest(n, self.inv).map(|d| d.host))
            .collect();
        self.report(
            Severity::Manual,
            res,
            arn,
            format!("idle timeout {}", duration(idle)),
            "Istio has no per-route idle timeout; it is a per-destination connection-pool setting",
            format!(
                "set `trafficPolicy.connectionPool.http.idleTimeout` (or `tcp.idleTimeout`) to {} on the DestinationRule of {}",
                duration(idle),
                dests.into_iter().collect::<Vec<_>>().join(", ")
            ),
        );
    }

    /// Routers whose listener protocol differs from their targets' listeners.
    fn router_protocols(&mut self, router: &VirtualRouter) {
        let router_protocols: BTreeSet<&str> = router
            .listeners
            .iter()
            .map(|l| l.protocol.as_str())
            .collect();
        for route in &router.routes {
            for t in &route.targets {
                let Some(node) = self.node(&t.virtual_node).cloned() else {
                    continue;
                };
                for l in &node.listeners {
                    if !router_protocols.is_empty()
                        && !router_protocols.contains(l.port_mapping.protocol.as_str())
                    {
                        self.report(
                            Severity::Manual,
                            format!("virtual router {}", router.name),
                            &router.arn,
                            format!(
                                "port mapping protocols differ: router {} vs node {} {}/{}",
                                router_protocols.iter().copied().collect::<Vec<_>>().join(","),
                                node.name,
                                l.port_mapping.port,
                                l.port_mapping.protocol
                            ),
                            "Istio takes a port's protocol from the Kubernetes Service port name or appProtocol, one per port",
                            format!(
                                "name the Service port of {} after the protocol the callers use (e.g. `http-{}` or appProtocol `{}`)",
                                node.name, l.port_mapping.port, l.port_mapping.protocol
                            ),
                        );
                    }
                }
            }
        }
    }

    fn traffic_policy(&mut self, node: &VirtualNode) -> Option<Value> {
        let mut per_port = vec![];
        for l in &node.listeners {
            let mut p = Map::new();
            if let Some(o) = &l.outlier_detection {
                p.insert(
                    "outlierDetection".into(),
                    json!({
                        "consecutive5xxErrors": o.max_server_errors,
                        "interval": duration(o.interval_ms),
                        "baseEjectionTime": duration(o.base_ejection_ms),
                        "maxEjectionPercent": o.max_ejection_percent,
                    }),
                );
            }
            if let Some(c) = &l.connection_pool {
                let mut tcp = Map::new();
                let mut http = Map::new();
                if let Some(v) = c.max_connections {
                    tcp.insert("maxConnections".into(), json!(v));
                }
                if let Some(v) = c.max_pending_requests {
                    http.insert("http1MaxPendingRequests".into(), json!(v));
                }
                if let Some(v) = c.max_requests {
                    http.insert("http2MaxRequests".into(), json!(v));
                }
                let mut pool = Map::new();
                if !tcp.is_empty() {
                    pool.insert("tcp".into(), Value::Object(tcp));
                }
                if !http.is_empty() {
                    pool.insert("http".into(), Value::Object(http));
                }
                p.insert("connectionPool".into(), Value::Object(pool));
                self.report(
                    Severity::Check,
                    format!("virtual node {}", node.name),
                    &node.arn,
                    format!("connection pool on listener {}", l.port_mapping.port),
                    "App Mesh enforces the pool on the node's own (inbound) Envoy; Istio enforces a DestinationRule pool in every caller's sidecar, per caller",
                    "divide the limits by the number of calling pods if the total must stay the same",
                );
            }
            if let Some(h) = &l.health_check {
                self.report(
                    Severity::Manual,
                    format!("virtual node {}", node.name),
                    &node.arn,
                    format!(
                        "health check {} {} every {}",
                        h.protocol,
                        h.path.as_deref().unwrap_or(""),
                        duration(h.interval_ms)
                    ),
                    "Istio does not health-check endpoints actively; it relies on Kubernetes readiness",
                    format!(
                        "give the workload a readiness probe ({} port {}{}, period {}, failure threshold {})",
                        h.protocol,
                        h.port.unwrap_or(l.port_mapping.port),
                        h.path.as_ref().map(|p| format!(" path {p}")).unwrap_or_default(),
                        duration(h.interval_ms),
                        h.unhealthy_threshold
                    ),
                );
            }
            if let Some(t) = &l.timeout {
                let mut parts = vec![];
                if let Some(p) = t.per_request_ms {
                    parts.push(format!("per-request {}", duration(p)));
                }
                if let Some(i) = t.idle_ms {
                    parts.push(format!("idle {}", duration(i)));
                }
                self.report(
                    Severity::Manual,
                    format!("virtual node {}", node.name),
                    &node.arn,
                    format!("listener {} timeout {}", l.port_mapping.port, parts.join(", ")),
                    "Istio sets request timeouts on the caller's routes, not on the server's listener",
                    "set `timeout` on the VirtualService routes that reach this node (and `connectionPool.http.idleTimeout` for idle)",
                );
            }
            if !p.is_empty() {
                per_port.push((l.port_mapping.port, p));
            }
        }
        match per_port.len() {
            0 => None,
            1 if node.listeners.len() == 1 => per_port.pop().map(|(_, p)| Value::Object(p)),
            _ => Some(json!({
                "portLevelSettings": per_port
                    .into_iter()
                    .map(|(port, mut p)| {
                        p.insert("port".into(), json!({"number": port}));
                        Value::Object(p)
                    })
                    .collect::<Vec<_>>()
            })),
        }
    }

    fn destination_rules(&mut self, hosts: &Hosts) -> Vec<Value> {
        let mut out = vec![];
        for (host, node_names) in &hosts.by_host {
            let nodes: Vec<VirtualNode> = node_names
                .iter()
                .filter_map(|n| self.node(n).cloned())
                .collect();
            let sources: Vec<&str> = nodes.iter().map(|n| n.arn.as_str()).collect();
            if let Some(n) = nodes
                .iter()
                .find(|n| matches!(n.service_discovery, Some(ServiceDiscovery::CloudMap { .. })))
            {
                self.report(
                    Severity::Check,
                    format!("virtual node {}", n.name),
                    &n.arn,
                    format!("Cloud Map host {host}"),
                    "Istio routes to hosts in its service registry: a Cloud Map name is not a Kubernetes Service",
                    format!("create a Kubernetes Service named after {host} (or a ServiceEntry resolving it) before shifting traffic"),
                );
            }
            let mut spec = json!({"host": host});
            if hosts.needs_subsets(host, self.inv) {
                let mut subsets = vec![];
                for n in &nodes {
                    let (labels, assumed) = subset_labels(n, host, self.inv);
                    if assumed {
                        let l: Vec<String> =
                            labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
                        self.report(
                            Severity::Check,
                            format!("virtual node {}", n.name),
                            &n.arn,
                            format!("subset labels {}", l.join(",")),
                            "several virtual nodes share the DNS host and no App Mesh controller podSelector was found: the pod label is derived from the node's name",
                            format!("check that the pods of virtual node {} carry the label {}, or edit the subset", n.name, l.join(",")),
                        );
                    }
                    if let Some(ServiceDiscovery::CloudMap { attributes, .. }) =
                        &n.service_discovery
                        && !attributes.is_empty()
                    {
                        self.report(
                            Severity::Check,
                            format!("virtual node {}", n.name),
                            &n.arn,
                            "Cloud Map attribute selection",
                            "Istio selects subsets by pod labels, not by Cloud Map instance attributes",
                            "label the pods with the same key/value pairs, or edit the subset labels",
                        );
                    }
                    let mut s = json!({"name": object_name(&n.name), "labels": labels});
                    if let Some(tp) = self.traffic_policy(n) {
                        s["trafficPolicy"] = tp;
                    }
                    subsets.push(s);
                }
                spec["subsets"] = json!(subsets);
            } else if let Some(n) = nodes.first()
                && let Some(tp) = self.traffic_policy(n)
            {
                spec["trafficPolicy"] = tp;
            }
            out.push(json!({
                "apiVersion": "networking.istio.io/v1",
                "kind": "DestinationRule",
                "metadata": self.metadata(&object_name(host), &sources.join(",")),
                "spec": spec,
            }));
        }
        for n in &self.inv.virtual_nodes.clone() {
            if n.service_discovery.is_none() {
                self.report(
                    Severity::Manual,
                    format!("virtual node {}", n.name),
                    &n.arn,
                    "no service discovery",
                    "without a DNS hostname or Cloud Map service there is no Kubernetes host for a DestinationRule",
                    "find the workload's Service and write its DestinationRule by hand",
                );
            }
        }
        out
    }

    fn tls_report(&mut self) -> &'static str {
        let mut all_strict = true;
        let mut any_listener = false;
        for n in &self.inv.virtual_nodes.clone() {
            for l in &n.listeners {
                any_listener = true;
                let mode = l
                    .tls
                    .as_ref()
                    .map(|t| t.mode.as_str())
                    .unwrap_or("DISABLED");
                if mode != "STRICT" {
                    all_strict = false;
                }
                if let Some(t) = &l.tls
                    && let Some(c) = &t.certificate
                {
                    self.report(
                        Severity::Manual,
                        format!("virtual node {}", n.name),
                        &n.arn,
                        format!("listener {} TLS certificate from {c}", l.port_mapping.port),
                        "Istio's sidecars use certificates issued by istiod; ACM, file and SDS certificates are not carried over",
                        "rely on Istio mTLS, or plug your CA into istiod (cacerts secret or an external CA such as AWS Private CA) to keep the same trust chain",
                    );
                }
            }
            for tls in n
                .backend_defaults_tls
                .iter()
                .chain(n.backends.iter().filter_map(|b| b.tls.as_ref()))
            {
                if tls.certificate.is_some() || tls.validation.is_some() {
                    self.report(
                        Severity::Manual,
                        format!("virtual node {}", n.name),
                        &n.arn,
                        format!(
                            "client TLS policy (certificate {}, trust {})",
                            tls.certificate.as_deref().unwrap_or("none"),
                            tls.validation.as_deref().unwrap_or("none")
                        ),
                        "Istio's auto mTLS validates peers with the mesh CA; App Mesh trust bundles and client certificates are not carried over",
                        "drop the policy (Istio mTLS covers it) or write a DestinationRule `tls` with mode MUTUAL and the certificates mounted in the sidecar",
                    );
                }
            }
        }
        if any_listener && all_strict {
            "STRICT"
        } else {
            "PERMISSIVE"
        }
    }

    fn gateway(&mut self, gw: &VirtualGateway) -> Vec<Value> {
        let name = object_name(&gw.name);
        let mut servers = vec![];
        for l in &gw.listeners {
            let protocol = match l.port_mapping.protocol.as_str() {
                "http2" => "HTTP2",
                "grpc" => "GRPC",
                _ => "HTTP",
            };
            let mut s = json!({
                "port": {
                    "number": l.port_mapping.port,
                    "name": format!("{}-{}", l.port_mapping.protocol, l.port_mapping.port),
                    "protocol": protocol,
                },
                "hosts": ["*"],
            });
            if let Some(t) = &l.tls
                && t.mode != "DISABLED"
            {
                let secret = format!("{name}-tls");
                s["port"]["protocol"] = json!("HTTPS");
                s["port"]["name"] = json!(format!("https-{}", l.port_mapping.port));
                s["tls"] = json!({"mode": "SIMPLE", "credentialName": secret});
                self.report(
                    Severity::Manual,
                    format!("virtual gateway {}", gw.name),
                    &gw.arn,
                    format!(
                        "listener {} TLS ({}, certificate from {})",
                        l.port_mapping.port,
                        t.mode,
                        t.certificate.as_deref().unwrap_or("unknown")
                    ),
                    "an Istio Gateway reads its certificate from a Kubernetes secret; App Mesh's ACM/file/SDS certificates cannot be referenced",
                    format!("create the TLS secret `{secret}` in the ingress gateway's namespace (for ACM: terminate TLS at the load balancer instead)"),
                );
            }
            servers.push(s);
        }
        let gateway = json!({
            "apiVersion": "networking.istio.io/v1",
            "kind": "Gateway",
            "metadata": self.metadata(&name, &gw.arn),
            "spec": {"selector": self.opts.gateway_selector, "servers": servers},
        });
        let mut http = vec![];
        let mut routes = gw.gateway_routes.clone();
        routes.sort_by(|a, b| {
            priority_key(a.priority, &a.name).cmp(&priority_key(b.priority, &b.name))
        });
        for r in &routes {
            let res = format!("gateway route {}/{}", gw.name, r.name);
            let Some(m) = self.http_match(&r.matcher, &res, &r.arn) else {
                continue;
            };
            let mut m = m;
            if let Some(h) = &r.hostname {
                if let Some(e) = &h.exact {
                    m["authority"] = json!({"exact": e});
                } else if let Some(s) = &h.suffix {
                    m["authority"] = json!({"regex": format!(".*{}(:[0-9]+)?", regex_escape(s))});
                }
            }
            let mut dest = json!({"host": r.target_virtual_service});
            if let Some(p) = r.target_port {
                dest["port"] = json!({"number": p});
            }
            let mut h = json!({"name": object_name(&r.name)});
            if m.as_object().is_some_and(|o| !o.is_empty()) {
                h["match"] = json!([m]);
            }
            h["route"] = json!([{"destination": dest}]);
            if let Some(v) = &r.rewrite_prefix {
                h["rewrite"] = json!({"uri": v});
            } else if let Some(v) = &r.rewrite_path {
                h["rewrite"] = json!({"uri": v});
            } else if r.default_prefix_rewrite.as_deref() != Some("DISABLED")
                && r.matcher.prefix.as_deref().is_some_and(|p| p != "/")
            {
                h["rewrite"] = json!({"uri": "/"});
                self.report(
                    Severity::Check,
                    &res,
                    &r.arn,
                    "default prefix rewrite",
                    "App Mesh replaces a matched prefix with `/` unless the rewrite is disabled; the route rewrites the same way",
                    "remove `rewrite` from the route if the service expects the original path",
                );
            }
            if r.rewrite_hostname.as_deref() == Some("DISABLED") {
                self.report(
                    Severity::Check,
                    &res,
                    &r.arn,
                    "hostname rewrite disabled",
                    "App Mesh rewrites the Host header to the target virtual service unless disabled; Istio keeps the original Host, as the disabled rewrite did",
                    "nothing to do",
                );
            }
            http.push(h);
        }
        let mut out = vec![gateway];
        if !http.is_empty() {
            out.push(json!({
                "apiVersion": "networking.istio.io/v1",
                "kind": "VirtualService",
                "metadata": self.metadata(&format!("{name}-routes"), &gw.arn),
                "spec": {
                    "hosts": ["*"],
                    "gateways": [format!("{}/{name}", self.opts.namespace)],
                    "http": http,
                },
            }));
        }
        out
    }
}

fn yaml_docs(objects: &[Value]) -> String {
    let mut out = String::new();
    for o in objects {
        out.push_str("---\n");
        out.push_str(&serde_yaml_ng::to_string(o).unwrap_or_default());
    }
    out
}

/// Translate `inv` into Istio manifests (one file per App Mesh resource group) and
/// `MIGRATION-REPORT.md`. Pure: no I/O.
pub fn translate(inv: &Inventory, opts: &Options) -> Translation {
    let mut ctx = Ctx {
        inv,
        opts,
        report: vec![],
    };
    let hosts = Hosts::new(inv);
    let mut files = BTreeMap::new();
    let mut objects = vec![];

    // The mesh: PeerAuthentication, egress filter, IP preference.
    let mode = ctx.tls_report();
    let peer = json!({
        "apiVersion": "security.istio.io/v1",
        "kind": "PeerAuthentication",
        "metadata": ctx.metadata("default", &inv.mesh.arn),
        "spec": {"mtls": {"mode": mode}},
    });
    if mode == "PERMISSIVE" {
        ctx.report(
            Severity::Check,
            format!("mesh {}", inv.mesh.name),
            &inv.mesh.arn,
            "mTLS mode PERMISSIVE",
            "not every virtual node listener enforces TLS (mode STRICT), so plain-text callers must keep working",
            "switch the PeerAuthentication to STRICT once every workload runs the Istio sidecar",
        );
    }
    if inv.mesh.egress_filter == "DROP_ALL" {
        ctx.report(
            Severity::Manual,
            format!("mesh {}", inv.mesh.name),
            &inv.mesh.arn,
            "egress filter DROP_ALL",
            "the equivalent, `meshConfig.outboundTrafficPolicy.mode: REGISTRY_ONLY`, is an istiod setting, not a namespaced object",
            "set `meshConfig.outboundTrafficPolicy.mode: REGISTRY_ONLY` in the istiod values (and ServiceEntries for allowed external hosts)",
        );
    } else {
        ctx.report(
            Severity::Check,
            format!("mesh {}", inv.mesh.name),
            &inv.mesh.arn,
            format!("egress filter {}", inv.mesh.egress_filter),
            "Istio's default `outboundTrafficPolicy` ALLOW_ANY lets traffic out as ALLOW_ALL did",
            "nothing to do unless istiod was installed with REGISTRY_ONLY",
        );
    }
    if let Some(p) = &inv.mesh.ip_preference {
        ctx.report(
            Severity::Manual,
            format!("mesh {}", inv.mesh.name),
            &inv.mesh.arn,
            format!("IP preference {p}"),
            "Istio picks address families from the cluster's dual-stack settings",
            "configure dual-stack on the cluster and Services if the preference matters",
        );
    }
    files.insert(
        PathBuf::from("mesh.yaml"),
        yaml_docs(std::slice::from_ref(&peer)),
    );
    objects.push(peer);

    let rules = ctx.destination_rules(&hosts);
    for n in &inv.virtual_nodes {
        if let Some(path) = &n.access_log {
            ctx.report(
                Severity::Manual,
                format!("virtual node {}", n.name),
                &n.arn,
                format!("access log to {path}"),
                "Istio configures access logs mesh-wide (meshConfig.accessLogFile) or with the Telemetry API",
                "add a Telemetry resource with an access-log provider for this workload",
            );
        }
    }
    if !rules.is_empty() {
        files.insert(PathBuf::from("virtual-nodes.yaml"), yaml_docs(&rules));
        objects.extend(rules);
    }

    let mut services = vec![];
    for vs in &inv.virtual_services {
        if let Some(o) = ctx.virtual_service(vs, &hosts) {
            services.push(o);
        }
    }
    if !services.is_empty() {
        files.insert(PathBuf::from("virtual-services.yaml"), yaml_docs(&services));
        objects.extend(services);
    }

    let mut gateways = vec![];
    for gw in &inv.virtual_gateways {
        gateways.extend(ctx.gateway(gw));
    }
    if !gateways.is_empty() {
        files.insert(PathBuf::from("virtual-gateways.yaml"), yaml_docs(&gateways));
        objects.extend(gateways);
    }

    let mut report = ctx.report;
    report.sort();
    files.insert(PathBuf::from(REPORT_FILE), report_markdown(inv, &report));
    Translation {
        files,
        report,
        objects,
    }
}

fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// `MIGRATION-REPORT.md`: every item that needs a person, with the reason and the action.
pub fn report_markdown(inv: &Inventory, report: &[ReportItem]) -> String {
    let mut out = format!(
        "# App Mesh to Istio migration report: mesh `{}`\n\nGenerated by `meshctl migrate appmesh translate` from {}.\n\n",
        inv.mesh.name, inv.mesh.arn
    );
    let manual: Vec<_> = report
        .iter()
        .filter(|r| r.severity == Severity::Manual)
        .collect();
    let check: Vec<_> = report
        .iter()
        .filter(|r| r.severity == Severity::Check)
        .collect();
    out.push_str(&format!(
        "{} items were not translated and need manual action; {} were translated with an assumption to check.\n",
        manual.len(),
        check.len()
    ));
    for (title, items) in [("Manual action", manual), ("To check", check)] {
        out.push_str(&format!("\n## {title}\n\n"));
        if items.is_empty() {
            out.push_str("Nothing.\n");
            continue;
        }
        out.push_str("| App Mesh resource | feature | why | what to do |\n|---|---|---|---|\n");
        for r in items {
            out.push_str(&format!(
                "| {} | {} | {} | {} |\n",
                md_cell(&r.resource),
                md_cell(&r.feature),
                md_cell(&r.reason),
                md_cell(&r.action)
            ));
        }
    }
    out
}
