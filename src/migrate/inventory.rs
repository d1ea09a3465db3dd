//! Phase 1 (discovery): read one mesh through the App Mesh API and, when a cluster is
//! reachable, the App Mesh footprint in Kubernetes. Read-only; every list is paginated.

use std::collections::BTreeMap;
use std::fmt;

use aws_sdk_appmesh::Client;
use aws_sdk_appmesh::types as am;
use kube::api::{Api, ApiResource, DynamicObject, ListParams};
use kube::discovery::Discovery;

use super::model::*;
use crate::aws::sdk_error;
use crate::error::Error;
use crate::kube::{Kube, KubeError};

/// The App Mesh controller's API group.
pub const APPMESH_GROUP: &str = "appmesh.k8s.aws";
/// Istio's traffic-management API group.
pub const ISTIO_GROUP: &str = "networking.istio.io";
/// The App Mesh injection label (namespaces) and annotation (pod templates).
pub const APPMESH_INJECT: &str = "appmesh.k8s.aws/sidecarInjectorWebhook";
/// The repository name of App Mesh's Envoy image (ECR, public and regional).
pub const APPMESH_ENVOY_IMAGE: &str = "aws-appmesh-envoy";

fn ms(d: Option<&am::Duration>) -> i64 {
    let Some(d) = d else { return 0 };
    let v = d.value().unwrap_or(0);
    match d.unit() {
        Some(am::DurationUnit::S) => v.saturating_mul(1000),
        _ => v,
    }
}

fn ms_opt(d: Option<&am::Duration>) -> Option<i64> {
    d.map(|d| ms(Some(d)))
}

fn string_match(m: &am::HeaderMatchMethod) -> StringMatch {
    let mut s = StringMatch::default();
    match m {
        am::HeaderMatchMethod::Exact(v) => s.exact = Some(v.clone()),
        am::HeaderMatchMethod::Prefix(v) => s.prefix = Some(v.clone()),
        am::HeaderMatchMethod::Suffix(v) => s.suffix = Some(v.clone()),
        am::HeaderMatchMethod::Regex(v) => s.regex = Some(v.clone()),
        am::HeaderMatchMethod::Range(r) => s.range = Some((r.start(), r.end())),
        _ => {}
    }
    s
}

fn grpc_string_match(m: &am::GrpcRouteMetadataMatchMethod) -> StringMatch {
    let mut s = StringMatch::default();
    match m {
        am::GrpcRouteMetadataMatchMethod::Exact(v) => s.exact = Some(v.clone()),
        am::GrpcRouteMetadataMatchMethod::Prefix(v) => s.prefix = Some(v.clone()),
        am::GrpcRouteMetadataMatchMethod::Suffix(v) => s.suffix = Some(v.clone()),
        am::GrpcRouteMetadataMatchMethod::Regex(v) => s.regex = Some(v.clone()),
        am::GrpcRouteMetadataMatchMethod::Range(r) => s.range = Some((r.start(), r.end())),
        _ => {}
    }
    s
}

fn query(q: &[am::HttpQueryParameter]) -> Vec<QueryMatch> {
    q.iter()
        .map(|q| QueryMatch {
            name: q.name().to_string(),
            exact: q.r#match().and_then(|m| m.exact()).map(str::to_string),
        })
        .collect()
}

fn http_match(m: &am::HttpRouteMatch) -> RouteMatch {
    RouteMatch {
        prefix: m.prefix().map(str::to_string),
        path_exact: m.path().and_then(|p| p.exact()).map(str::to_string),
        path_regex: m.path().and_then(|p| p.regex()).map(str::to_string),
        method: m.method().map(|v| v.as_str().to_string()),
        scheme: m.scheme().map(|v| v.as_str().to_string()),
        port: m.port(),
        headers: m
            .headers()
            .iter()
            .map(|h| HeaderMatch {
                name: h.name().to_string(),
                invert: h.invert().unwrap_or(false),
                matcher: h.r#match().map(string_match),
            })
            .collect(),
        query_parameters: query(m.query_parameters()),
        ..RouteMatch::default()
    }
}

fn targets(t: &[am::WeightedTarget]) -> Vec<WeightedTarget> {
    t.iter()
        .map(|t| WeightedTarget {
            virtual_node: t.virtual_node().to_string(),
            weight: t.weight(),
            port: t.port(),
        })
        .collect()
}

fn http_timeout(t: Option<&am::HttpTimeout>) -> Option<Timeout> {
    t.map(|t| Timeout {
        per_request_ms: ms_opt(t.per_request()),
        idle_ms: ms_opt(t.idle()),
    })
    .filter(|t| t.per_request_ms.is_some() || t.idle_ms.is_some())
}

/// A route as App Mesh describes it.
pub fn route_from(name: &str, arn: &str, spec: &am::RouteSpec) -> Option<Route> {
    let base = |kind, matcher, targets, retry, timeout| Route {
        name: name.to_string(),
        arn: arn.to_string(),
        priority: spec.priority(),
        kind,
        matcher,
        targets,
        retry,
        timeout,
    };
    let http = |kind, r: &am::HttpRoute| {
        let retry = r.retry_policy().map(|p| RetryPolicy {
            max_retries: p.max_retries(),
            per_retry_timeout_ms: ms(p.per_retry_timeout()),
            http_retry_events: p.http_retry_events().to_vec(),
            tcp_retry_events: p
                .tcp_retry_events()
                .iter()
                .map(|e| e.as_str().to_string())
                .collect(),
            grpc_retry_events: vec![],
        });
        base(
            kind,
            r.r#match().map(http_match).unwrap_or_default(),
            r.action()
                .map(|a| targets(a.weighted_targets()))
                .unwrap_or_default(),
            retry,
            http_timeout(r.timeout()),
        )
    };
    if let Some(r) = spec.http_route() {
        return Some(http(RouteKind::Http, r));
    }
    if let Some(r) = spec.http2_route() {
        return Some(http(RouteKind::Http2, r));
    }
    if let Some(r) = spec.grpc_route() {
        let m = r.r#match();
        let matcher = RouteMatch {
            grpc_service: m.and_then(|m| m.service_name()).map(str::to_string),
            grpc_method: m.and_then(|m| m.method_name()).map(str::to_string),
            port: m.and_then(|m| m.port()),
            grpc_metadata: m
                .map(|m| m.metadata())
                .unwrap_or_default()
                .iter()
                .map(|h| HeaderMatch {
                    name: h.name().to_string(),
                    invert: h.invert().unwrap_or(false),
                    matcher: h.r#match().map(grpc_string_match),
                })
                .collect(),
            ..RouteMatch::default()
        };
        let retry = r.retry_policy().map(|p| RetryPolicy {
            max_retries: p.max_retries(),
            per_retry_timeout_ms: ms(p.per_retry_timeout()),
            http_retry_events: p.http_retry_events().to_vec(),
            tcp_retry_events: p
                .tcp_retry_events()
                .iter()
                .map(|e| e.as_str().to_string())
                .collect(),
            grpc_retry_events: p
                .grpc_retry_events()
                .iter()
                .map(|e| e.as_str().to_string())
                .collect(),
        });
        let timeout = r
            .timeout()
            .map(|t| Timeout {
                per_request_ms: ms_opt(t.per_request()),
                idle_ms: ms_opt(t.idle()),
            })
            .filter(|t| t.per_request_ms.is_some() || t.idle_ms.is_some());
        return Some(base(
            RouteKind::Grpc,
            matcher,
            r.action()
                .map(|a| targets(a.weighted_targets()))
                .unwrap_or_default(),
            retry,
            timeout,
        ));
    }
    if let Some(r) = spec.tcp_route() {
        let matcher = RouteMatch {
            port: r.r#match().and_then(|m| m.port()),
            ..RouteMatch::default()
        };
        let timeout = r
            .timeout()
            .and_then(|t| ms_opt(t.idle()))
            .map(|idle| Timeout {
                per_request_ms: None,
                idle_ms: Some(idle),
            });
        return Some(base(
            RouteKind::Tcp,
            matcher,
            r.action()
                .map(|a| targets(a.weighted_targets()))
                .unwrap_or_default(),
            None,
            timeout,
        ));
    }
    None
}

fn tls_source_listener(c: &am::ListenerTlsCertificate) -> String {
    match c {
        am::ListenerTlsCertificate::Acm(_) => "acm",
        am::ListenerTlsCertificate::File(_) => "file",
        am::ListenerTlsCertificate::Sds(_) => "sds",
        _ => "unknown",
    }
    .to_string()
}

fn trust_source(t: &am::TlsValidationContextTrust) -> String {
    match t {
        am::TlsValidationContextTrust::Acm(_) => "acm",
        am::TlsValidationContextTrust::File(_) => "file",
        am::TlsValidationContextTrust::Sds(_) => "sds",
        _ => "unknown",
    }
    .to_string()
}

fn client_tls(p: Option<&am::ClientPolicy>) -> Option<ClientTls> {
    let tls = p?.tls()?;
    Some(ClientTls {
        enforce: tls.enforce().unwrap_or(true),
        ports: tls.ports().to_vec(),
        certificate: tls.certificate().map(|c| match c {
            am::ClientTlsCertificate::File(_) => "file".to_string(),
            am::ClientTlsCertificate::Sds(_) => "sds".to_string(),
            _ => "unknown".to_string(),
        }),
        validation: tls.validation().and_then(|v| v.trust()).map(trust_source),
    })
}

fn listener_from(l: &am::Listener) -> Option<Listener> {
    let pm = l.port_mapping()?;
    let protocol = pm.protocol().as_str().to_string();
    Some(Listener {
        port_mapping: PortMapping {
            port: pm.port(),
            protocol: protocol.clone(),
        },
        tls: l.tls().map(|t| ListenerTls {
            mode: t.mode().as_str().to_string(),
            certificate: t.certificate().map(tls_source_listener),
            validation: t.validation().and_then(|v| v.trust()).map(|t| match t {
                am::ListenerTlsValidationContextTrust::File(_) => "file".to_string(),
                am::ListenerTlsValidationContextTrust::Sds(_) => "sds".to_string(),
                _ => "unknown".to_string(),
            }),
        }),
        health_check: l.health_check().map(|h| HealthCheck {
            protocol: h.protocol().as_str().to_string(),
            port: h.port(),
            path: h.path().map(str::to_string),
            interval_ms: h.interval_millis(),
            timeout_ms: h.timeout_millis(),
            healthy_threshold: h.healthy_threshold(),
            unhealthy_threshold: h.unhealthy_threshold(),
        }),
        timeout: l
            .timeout()
            .and_then(|t| match t {
                am::ListenerTimeout::Http(t) | am::ListenerTimeout::Http2(t) => {
                    http_timeout(Some(t))
                }
                am::ListenerTimeout::Grpc(t) => Some(Timeout {
                    per_request_ms: ms_opt(t.per_request()),
                    idle_ms: ms_opt(t.idle()),
                }),
                am::ListenerTimeout::Tcp(t) => Some(Timeout {
                    per_request_ms: None,
                    idle_ms: ms_opt(t.idle()),
                }),
                _ => None,
            })
            .filter(|t| t.per_request_ms.is_some() || t.idle_ms.is_some()),
        outlier_detection: l.outlier_detection().map(|o| OutlierDetection {
            max_server_errors: o.max_server_errors(),
            interval_ms: ms(o.interval()),
            base_ejection_ms: ms(o.base_ejection_duration()),
            max_ejection_percent: o.max_ejection_percent(),
        }),
        connection_pool: l.connection_pool().and_then(|p| match p {
            am::VirtualNodeConnectionPool::Http(h) => Some(ConnectionPool {
                protocol: "http".into(),
                max_connections: Some(h.max_connections()),
                max_pending_requests: h.max_pending_requests(),
                max_requests: None,
            }),
            am::VirtualNodeConnectionPool::Http2(h) => Some(ConnectionPool {
                protocol: "http2".into(),
                max_requests: Some(h.max_requests()),
                ..ConnectionPool::default()
            }),
            am::VirtualNodeConnectionPool::Grpc(h) => Some(ConnectionPool {
                protocol: "grpc".into(),
                max_requests: Some(h.max_requests()),
                ..ConnectionPool::default()
            }),
            am::VirtualNodeConnectionPool::Tcp(h) => Some(ConnectionPool {
                protocol: "tcp".into(),
                max_connections: Some(h.max_connections()),
                ..ConnectionPool::default()
            }),
            _ => None,
        }),
    })
}

/// A virtual node as App Mesh describes it.
pub fn node_from(name: &str, arn: &str, spec: &am::VirtualNodeSpec) -> VirtualNode {
    let service_discovery = spec.service_discovery().and_then(|sd| match sd {
        am::ServiceDiscovery::Dns(d) => Some(ServiceDiscovery::Dns {
            hostname: d.hostname().to_string(),
            response_type: d.response_type().map(|r| r.as_str().to_string()),
        }),
        am::ServiceDiscovery::AwsCloudMap(c) => Some(ServiceDiscovery::CloudMap {
            namespace: c.namespace_name().to_string(),
            service: c.service_name().to_string(),
            attributes: c
                .attributes()
                .iter()
                .map(|a| (a.key().to_string(), a.value().to_string()))
                .collect(),
        }),
        _ => None,
    });
    VirtualNode {
        name: name.to_string(),
        arn: arn.to_string(),
        service_discovery,
        listeners: spec.listeners().iter().filter_map(listener_from).collect(),
        backends: spec
            .backends()
            .iter()
            .filter_map(|b| match b {
                am::Backend::VirtualService(v) => Some(Backend {
                    virtual_service: v.virtual_service_name().to_string(),
                    tls: client_tls(v.client_policy()),
                }),
                _ => None,
            })
            .collect(),
        backend_defaults_tls: client_tls(spec.backend_defaults().and_then(|d| d.client_policy())),
        access_log: spec
            .logging()
            .and_then(|l| l.access_log())
            .and_then(|a| a.as_file().ok())
            .map(|f| f.path().to_string()),
    }
}

/// A gateway route as App Mesh describes it.
pub fn gateway_route_from(
    name: &str,
    arn: &str,
    spec: &am::GatewayRouteSpec,
) -> Option<GatewayRoute> {
    let host = |h: Option<&am::GatewayRouteHostnameMatch>| {
        h.map(|h| StringMatch {
            exact: h.exact().map(str::to_string),
            suffix: h.suffix().map(str::to_string),
            ..StringMatch::default()
        })
    };
    let target = |t: Option<&am::GatewayRouteTarget>| {
        (
            t.and_then(|t| t.virtual_service())
                .map(|v| v.virtual_service_name().to_string())
                .unwrap_or_default(),
            t.and_then(|t| t.port()),
        )
    };
    let http = |kind, r: &am::HttpGatewayRoute| {
        let m = r.r#match();
        let matcher = m
            .map(|m| RouteMatch {
                prefix: m.prefix().map(str::to_string),
                path_exact: m.path().and_then(|p| p.exact()).map(str::to_string),
                path_regex: m.path().and_then(|p| p.regex()).map(str::to_string),
                method: m.method().map(|v| v.as_str().to_string()),
                port: m.port(),
                headers: m
                    .headers()
                    .iter()
                    .map(|h| HeaderMatch {
                        name: h.name().to_string(),
                        invert: h.invert().unwrap_or(false),
                        matcher: h.r#match().map(string_match),
                    })
                    .collect(),
                query_parameters: query(m.query_parameters()),
                ..RouteMatch::default()
            })
            .unwrap_or_default();
        let (vs, port) = target(r.action().and_then(|a| a.target()));
        let rewrite = r.action().and_then(|a| a.rewrite());
        GatewayRoute {
            name: name.to_string(),
            arn: arn.to_string(),
            priority: spec.priority(),
            kind,
            matcher,
            hostname: host(m.and_then(|m| m.hostname())),
            target_virtual_service: vs,
            target_port: port,
            rewrite_prefix: rewrite
                .and_then(|w| w.prefix())
                .and_then(|p| p.value())
                .map(str::to_string),
            default_prefix_rewrite: rewrite
                .and_then(|w| w.prefix())
                .and_then(|p| p.default_prefix())
                .map(|d| d.as_str().to_string()),
            rewrite_path: rewrite
                .and_then(|w| w.path())
                .and_then(|p| p.exact())
                .map(str::to_string),
            rewrite_hostname: rewrite
                .and_then(|w| w.hostname())
                .and_then(|h| h.default_target_hostname())
                .map(|d| d.as_str().to_string()),
        }
    };
    if let Some(r) = spec.http_route() {
        return Some(http(RouteKind::Http, r));
    }
    if let Some(r) = spec.http2_route() {
        return Some(http(RouteKind::Http2, r));
    }
    if let Some(r) = spec.grpc_route() {
        let m = r.r#match();
        let (vs, port) = target(r.action().and_then(|a| a.target()));
        return Some(GatewayRoute {
            name: name.to_string(),
            arn: arn.to_string(),
            priority: spec.priority(),
            kind: RouteKind::Grpc,
            matcher: RouteMatch {
                grpc_service: m.and_then(|m| m.service_name()).map(str::to_string),
                port: m.and_then(|m| m.port()),
                ..RouteMatch::default()
            },
            hostname: host(m.and_then(|m| m.hostname())),
            target_virtual_service: vs,
            target_port: port,
            rewrite_prefix: None,
            default_prefix_rewrite: None,
            rewrite_path: None,
            rewrite_hostname: r
                .action()
                .and_then(|a| a.rewrite())
                .and_then(|w| w.hostname())
                .and_then(|h| h.default_target_hostname())
                .map(|d| d.as_str().to_string()),
        });
    }
    None
}

/// Read mesh `name` and everything in it through the App Mesh API.
pub async fn read_aws(client: &Client, name: &str) -> Result<Inventory, Error> {
    let mesh = client
        .describe_mesh()
        .mesh_name(name)
        .send()
        .await
        .map_err(|e| {
            let err = sdk_error("appmesh", "DescribeMesh", &e);
            if err.aws_kind() == Some(crate::aws::AwsErrorKind::NotFound) {
                Error::usage(
                    format!("App Mesh mesh `{name}` does not exist in this account and region"),
                    "check --mesh, --region and --profile; `aws appmesh list-meshes` lists the meshes",
                )
            } else {
                err
            }
        })?;
    let mesh = mesh.mesh().ok_or_else(|| bad_answer("DescribeMesh"))?;
    let spec = mesh.spec();
    let mut inv = Inventory {
        mesh: Mesh {
            name: mesh.mesh_name().to_string(),
            arn: mesh
                .metadata()
                .map(|m| m.arn().to_string())
                .unwrap_or_default(),
            egress_filter: spec
                .and_then(|s| s.egress_filter())
                .map(|e| e.r#type().as_str())
                .filter(|t| matches!(*t, "ALLOW_ALL" | "DROP_ALL"))
                // App Mesh's default when the mesh sets none.
                .unwrap_or("DROP_ALL")
                .to_string(),
            ip_preference: spec
                .and_then(|s| s.service_discovery())
                .and_then(|d| d.ip_preference())
                .map(|p| p.as_str().to_string()),
        },
        ..Inventory::default()
    };

    // Virtual services.
    let mut pages = client
        .list_virtual_services()
        .mesh_name(name)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| sdk_error("appmesh", "ListVirtualServices", &e))?;
        for r in page.virtual_services() {
            let out = client
                .describe_virtual_service()
                .mesh_name(name)
                .virtual_service_name(r.virtual_service_name())
                .send()
                .await
                .map_err(|e| sdk_error("appmesh", "DescribeVirtualService", &e))?;
            let d = out
                .virtual_service()
                .ok_or_else(|| bad_answer("DescribeVirtualService"))?;
            let provider = d.spec().and_then(|s| s.provider()).and_then(|p| match p {
                am::VirtualServiceProvider::VirtualNode(n) => {
                    Some(Provider::VirtualNode(n.virtual_node_name().to_string()))
                }
                am::VirtualServiceProvider::VirtualRouter(n) => {
                    Some(Provider::VirtualRouter(n.virtual_router_name().to_string()))
                }
                _ => None,
            });
            inv.virtual_services.push(VirtualService {
                name: d.virtual_service_name().to_string(),
                arn: d
                    .metadata()
                    .map(|m| m.arn().to_string())
                    .unwrap_or_default(),
                provider,
            });
        }
    }

    // Virtual routers and their routes.
    let mut pages = client
        .list_virtual_routers()
        .mesh_name(name)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| sdk_error("appmesh", "ListVirtualRouters", &e))?;
        for r in page.virtual_routers() {
            let router_name = r.virtual_router_name();
            let out = client
                .describe_virtual_router()
                .mesh_name(name)
                .virtual_router_name(router_name)
                .send()
                .await
                .map_err(|e| sdk_error("appmesh", "DescribeVirtualRouter", &e))?;
            let d = out
                .virtual_router()
                .ok_or_else(|| bad_answer("DescribeVirtualRouter"))?;
            let mut router = VirtualRouter {
                name: router_name.to_string(),
                arn: d
                    .metadata()
                    .map(|m| m.arn().to_string())
                    .unwrap_or_default(),
                listeners: d
                    .spec()
                    .map(|s| s.listeners())
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|l| l.port_mapping())
                    .map(|p| PortMapping {
                        port: p.port(),
                        protocol: p.protocol().as_str().to_string(),
                    })
                    .collect(),
                routes: vec![],
            };
            let mut routes = client
                .list_routes()
                .mesh_name(name)
                .virtual_router_name(router_name)
                .into_paginator()
                .send();
            while let Some(page) = routes.next().await {
                let page = page.map_err(|e| sdk_error("appmesh", "ListRoutes", &e))?;
                for rr in page.routes() {
                    let out = client
                        .describe_route()
                        .mesh_name(name)
                        .virtual_router_name(router_name)
                        .route_name(rr.route_name())
                        .send()
                        .await
                        .map_err(|e| sdk_error("appmesh", "DescribeRoute", &e))?;
                    let d = out.route().ok_or_else(|| bad_answer("DescribeRoute"))?;
                    let arn = d.metadata().map(|m| m.arn()).unwrap_or_default();
                    if let Some(route) = d.spec().and_then(|s| route_from(d.route_name(), arn, s)) {
                        router.routes.push(route);
                    }
                }
            }
            inv.virtual_routers.push(router);
        }
    }

    // Virtual nodes.
    let mut pages = client
        .list_virtual_nodes()
        .mesh_name(name)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| sdk_error("appmesh", "ListVirtualNodes", &e))?;
        for r in page.virtual_nodes() {
            let out = client
                .describe_virtual_node()
                .mesh_name(name)
                .virtual_node_name(r.virtual_node_name())
                .send()
                .await
                .map_err(|e| sdk_error("appmesh", "DescribeVirtualNode", &e))?;
            let d = out
                .virtual_node()
                .ok_or_else(|| bad_answer("DescribeVirtualNode"))?;
            let arn = d.metadata().map(|m| m.arn()).unwrap_or_default();
            if let Some(spec) = d.spec() {
                inv.virtual_nodes
                    .push(node_from(d.virtual_node_name(), arn, spec));
            }
        }
    }

    // Virtual gateways and their gateway routes.
    let mut pages = client
        .list_virtual_gateways()
        .mesh_name(name)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| sdk_error("appmesh", "ListVirtualGateways", &e))?;
        for r in page.virtual_gateways() {
            let gw_name = r.virtual_gateway_name();
            let out = client
                .describe_virtual_gateway()
                .mesh_name(name)
                .virtual_gateway_name(gw_name)
                .send()
                .await
                .map_err(|e| sdk_error("appmesh", "DescribeVirtualGateway", &e))?;
            let d = out
                .virtual_gateway()
                .ok_or_else(|| bad_answer("DescribeVirtualGateway"))?;
            let mut gw = VirtualGateway {
                name: gw_name.to_string(),
                arn: d
                    .metadata()
                    .map(|m| m.arn().to_string())
                    .unwrap_or_default(),
                listeners: d
                    .spec()
                    .map(|s| s.listeners())
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|l| {
                        let pm = l.port_mapping()?;
                        Some(GatewayListener {
                            port_mapping: PortMapping {
                                port: pm.port(),
                                protocol: pm.protocol().as_str().to_string(),
                            },
                            tls: l.tls().map(|t| ListenerTls {
                                mode: t.mode().as_str().to_string(),
                                certificate: t.certificate().map(|c| {
                                    match c {
                                        am::VirtualGatewayListenerTlsCertificate::Acm(_) => "acm",
                                        am::VirtualGatewayListenerTlsCertificate::File(_) => "file",
                                        am::VirtualGatewayListenerTlsCertificate::Sds(_) => "sds",
                                        _ => "unknown",
                                    }
                                    .to_string()
                                }),
                                validation: None,
                            }),
                        })
                    })
                    .collect(),
                gateway_routes: vec![],
            };
            let mut routes = client
                .list_gateway_routes()
                .mesh_name(name)
                .virtual_gateway_name(gw_name)
                .into_paginator()
                .send();
            while let Some(page) = routes.next().await {
                let page = page.map_err(|e| sdk_error("appmesh", "ListGatewayRoutes", &e))?;
                for rr in page.gateway_routes() {
                    let out = client
                        .describe_gateway_route()
                        .mesh_name(name)
                        .virtual_gateway_name(gw_name)
                        .gateway_route_name(rr.gateway_route_name())
                        .send()
                        .await
                        .map_err(|e| sdk_error("appmesh", "DescribeGatewayRoute", &e))?;
                    let d = out
                        .gateway_route()
                        .ok_or_else(|| bad_answer("DescribeGatewayRoute"))?;
                    let arn = d.metadata().map(|m| m.arn()).unwrap_or_default();
                    if let Some(route) = d
                        .spec()
                        .and_then(|s| gateway_route_from(d.gateway_route_name(), arn, s))
                    {
                        gw.gateway_routes.push(route);
                    }
                }
            }
            inv.virtual_gateways.push(gw);
        }
    }
    inv.sort();
    Ok(inv)
}

fn bad_answer(op: &'static str) -> Error {
    Error::Aws {
        service: "appmesh",
        operation: op,
        message: "the answer carried no resource".into(),
        help: "check that the App Mesh endpoint is the real service (AWS_ENDPOINT_URL_APP_MESH)"
            .into(),
    }
}

impl Inventory {
    /// Stable order: by name everywhere (routes by priority, then name).
    pub fn sort(&mut self) {
        self.virtual_services.sort_by(|a, b| a.name.cmp(&b.name));
        self.virtual_nodes.sort_by(|a, b| a.name.cmp(&b.name));
        self.virtual_routers.sort_by(|a, b| a.name.cmp(&b.name));
        for r in &mut self.virtual_routers {
            r.routes.sort_by(|a, b| {
                priority_key(a.priority, &a.name).cmp(&priority_key(b.priority, &b.name))
            });
        }
        self.virtual_gateways.sort_by(|a, b| a.name.cmp(&b.name));
        for g in &mut self.virtual_gateways {
            g.gateway_routes.sort_by(|a, b| {
                priority_key(a.priority, &a.name).cmp(&priority_key(b.priority, &b.name))
            });
        }
    }

    /// Resources App Mesh would delete, in dependency order (what `remove` deletes).
    pub fn deletion_order(&self) -> Vec<AppMeshResource> {
        let mut out = vec![];
        for g in &self.virtual_gateways {
            for r in &g.gateway_routes {
                out.push(AppMeshResource::GatewayRoute {
                    gateway: g.name.clone(),
                    name: r.name.clone(),
                });
            }
        }
        for g in &self.virtual_gateways {
            out.push(AppMeshResource::VirtualGateway {
                name: g.name.clone(),
            });
        }
        for v in &self.virtual_routers {
            for r in &v.routes {
                out.push(AppMeshResource::Route {
                    router: v.name.clone(),
                    name: r.name.clone(),
                });
            }
        }
        // Virtual services refer to routers and nodes: they go before them.
        for s in &self.virtual_services {
            out.push(AppMeshResource::VirtualService {
                name: s.name.clone(),
            });
        }
        for v in &self.virtual_routers {
            out.push(AppMeshResource::VirtualRouter {
                name: v.name.clone(),
            });
        }
        for n in &self.virtual_nodes {
            out.push(AppMeshResource::VirtualNode {
                name: n.name.clone(),
            });
        }
        out.push(AppMeshResource::Mesh {
            name: self.mesh.name.clone(),
        });
        out
    }
}

/// Sort key of App Mesh's route priority: lower first, unset last.
pub fn priority_key(p: Option<i32>, name: &str) -> (i64, String) {
    (p.map(i64::from).unwrap_or(i64::MAX), name.to_string())
}

/// One App Mesh resource, as `remove` names it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AppMeshResource {
    GatewayRoute { gateway: String, name: String },
    VirtualGateway { name: String },
    Route { router: String, name: String },
    VirtualService { name: String },
    VirtualRouter { name: String },
    VirtualNode { name: String },
    Mesh { name: String },
}

impl fmt::Display for AppMeshResource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AppMeshResource::GatewayRoute { gateway, name } => {
                write!(f, "gateway route {gateway}/{name}")
            }
            AppMeshResource::VirtualGateway { name: n } => write!(f, "virtual gateway {n}"),
            AppMeshResource::Route { router, name } => write!(f, "route {router}/{name}"),
            AppMeshResource::VirtualService { name: n } => write!(f, "virtual service {n}"),
            AppMeshResource::VirtualRouter { name: n } => write!(f, "virtual router {n}"),
            AppMeshResource::VirtualNode { name: n } => write!(f, "virtual node {n}"),
            AppMeshResource::Mesh { name: n } => write!(f, "mesh {n}"),
        }
    }
}

/// Whether `group` is served by the API server.
pub async fn group_served(kube: &Kube, group: &str) -> Result<bool, KubeError> {
    let groups = kube
        .client()
        .list_api_groups()
        .await
        .map_err(|e| KubeError::from_kube("list the API groups of", "the cluster", e))?;
    Ok(groups.groups.iter().any(|g| g.name == group))
}

/// Whether a pod spec (or pod template spec) runs App Mesh's Envoy: a container whose image
/// comes from App Mesh's Envoy repository, or a container named `envoy` in a pod App Mesh
/// annotated.
pub fn appmesh_envoy_image(pod: &serde_json::Value) -> Option<String> {
    let spec = &pod["spec"];
    let annotated = pod["metadata"]["annotations"].as_object().is_some_and(|a| {
        a.keys()
            .any(|k| k.starts_with("appmesh.k8s.aws/") && k != APPMESH_INJECT)
    });
    spec["containers"].as_array()?.iter().find_map(|c| {
        let image = c["image"].as_str().unwrap_or_default();
        let name = c["name"].as_str().unwrap_or_default();
        (image.contains(APPMESH_ENVOY_IMAGE) || (name == "envoy" && annotated))
            .then(|| image.to_string())
    })
}

/// The Kubernetes side: controller CRs, pods with the App Mesh sidecar, injected namespaces.
pub async fn read_kube(kube: &Kube) -> Result<KubeSide, Error> {
    let client = kube.client().clone();
    let mut side = KubeSide {
        istio_installed: group_served(kube, ISTIO_GROUP).await?,
        ..KubeSide::default()
    };
    if group_served(kube, APPMESH_GROUP).await? {
        let discovery = Discovery::new(client.clone())
            .filter(&[APPMESH_GROUP])
            .run()
            .await
            .map_err(|e| KubeError::from_kube("discover", APPMESH_GROUP, e))?;
        let mut found = vec![];
        for group in discovery.groups() {
            for (ar, _caps) in group.recommended_resources() {
                let api: Api<DynamicObject> = Api::all_with(client.clone(), &ar);
                let list = api
                    .list(&ListParams::default())
                    .await
                    .map_err(|e| KubeError::from_kube("list", &ar.plural, e))?;
                for item in list.items {
                    let v = serde_json::to_value(&item).unwrap_or_default();
                    let pod_selector = v["spec"]["podSelector"]["matchLabels"]
                        .as_object()
                        .map(|m| {
                            m.iter()
                                .map(|(k, v)| {
                                    (k.clone(), v.as_str().unwrap_or_default().to_string())
                                })
                                .collect::<BTreeMap<_, _>>()
                        })
                        .unwrap_or_default();
                    found.push(ControllerResource {
                        kind: ar.kind.clone(),
                        namespace: item.metadata.namespace.clone(),
                        name: item.metadata.name.clone().unwrap_or_default(),
                        aws_name: v["spec"]["awsName"].as_str().map(str::to_string),
                        pod_selector,
                    });
                }
            }
        }
        found.sort_by(|a, b| {
            (&a.kind, &a.namespace, &a.name).cmp(&(&b.kind, &b.namespace, &b.name))
        });
        side.controller_resources = Some(found);
    }
    let pods_ar = ApiResource::erase::<k8s_openapi::api::core::v1::Pod>(&());
    let pods: Api<DynamicObject> = Api::all_with(client.clone(), &pods_ar);
    let list = pods
        .list(&ListParams::default())
        .await
        .map_err(|e| KubeError::from_kube("list", "pods", e))?;
    for p in list.items {
        let v = serde_json::to_value(&p).unwrap_or_default();
        if let Some(image) = appmesh_envoy_image(&v) {
            side.sidecar_pods.push(SidecarPod {
                namespace: p.metadata.namespace.clone().unwrap_or_default(),
                name: p.metadata.name.clone().unwrap_or_default(),
                owner: p
                    .metadata
                    .owner_references
                    .as_ref()
                    .and_then(|o| o.first())
                    .map(|o| format!("{}/{}", o.kind, o.name)),
                image,
            });
        }
    }
    side.sidecar_pods
        .sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    let ns_ar = ApiResource::erase::<k8s_openapi::api::core::v1::Namespace>(&());
    let namespaces: Api<DynamicObject> = Api::all_with(client, &ns_ar);
    let list = namespaces
        .list(&ListParams::default().labels(&format!("{APPMESH_INJECT}=enabled")))
        .await
        .map_err(|e| KubeError::from_kube("list", "namespaces", e))?;
    side.injected_namespaces = list
        .items
        .into_iter()
        .filter_map(|n| n.metadata.name)
        .collect();
    side.injected_namespaces.sort();
    Ok(side)
}

fn ms_text(ms: i64) -> String {
    if ms % 1000 == 0 {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

impl fmt::Display for RouteMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = vec![];
        if let Some(p) = &self.prefix {
            parts.push(format!("prefix {p}"));
        }
        if let Some(p) = &self.path_exact {
            parts.push(format!("path {p}"));
        }
        if let Some(p) = &self.path_regex {
            parts.push(format!("path ~ {p}"));
        }
        if let Some(m) = &self.method {
            parts.push(format!("method {m}"));
        }
        if let Some(s) = &self.scheme {
            parts.push(format!("scheme {s}"));
        }
        if let Some(p) = self.port {
            parts.push(format!("port {p}"));
        }
        for h in self.headers.iter().chain(&self.grpc_metadata) {
            parts.push(format!(
                "header {}{}",
                if h.invert { "!" } else { "" },
                h.name
            ));
        }
        for q in &self.query_parameters {
            match &q.exact {
                Some(v) => parts.push(format!("query {}={v}", q.name)),
                None => parts.push(format!("query {}", q.name)),
            }
        }
        if let Some(s) = &self.grpc_service {
            parts.push(format!("service {s}"));
        }
        if let Some(m) = &self.grpc_method {
            parts.push(format!("method {m}"));
        }
        if parts.is_empty() {
            f.write_str("any")
        } else {
            f.write_str(&parts.join(", "))
        }
    }
}

impl fmt::Display for Inventory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "App Mesh mesh {} ({})", self.mesh.name, self.mesh.arn)?;
        writeln!(f, "  egress filter: {}", self.mesh.egress_filter)?;
        writeln!(f, "virtual services: {}", self.virtual_services.len())?;
        for s in &self.virtual_services {
            let p = match &s.provider {
                Some(Provider::VirtualNode(n)) => format!("virtual node {n}"),
                Some(Provider::VirtualRouter(n)) => format!("virtual router {n}"),
                None => "no provider".into(),
            };
            writeln!(f, "  {} -> {p}", s.name)?;
        }
        writeln!(f, "virtual routers: {}", self.virtual_routers.len())?;
        for r in &self.virtual_routers {
            let ports: Vec<_> = r
                .listeners
                .iter()
                .map(|l| format!("{}/{}", l.port, l.protocol))
                .collect();
            writeln!(f, "  {} [{}]", r.name, ports.join(", "))?;
            for route in &r.routes {
                let targets: Vec<_> = route
                    .targets
                    .iter()
                    .map(|t| format!("{}:{}", t.virtual_node, t.weight))
                    .collect();
                write!(
                    f,
                    "    route {} ({}{}): {} -> {}",
                    route.name,
                    route.kind.as_str(),
                    route
                        .priority
                        .map(|p| format!(", priority {p}"))
                        .unwrap_or_default(),
                    route.matcher,
                    targets.join(" ")
                )?;
                if let Some(r) = &route.retry {
                    let events: Vec<_> = r
                        .http_retry_events
                        .iter()
                        .chain(&r.tcp_retry_events)
                        .chain(&r.grpc_retry_events)
                        .cloned()
                        .collect();
                    write!(
                        f,
                        "; retries {} x {} on {}",
                        r.max_retries,
                        ms_text(r.per_retry_timeout_ms),
                        events.join(",")
                    )?;
                }
                if let Some(t) = &route.timeout {
                    if let Some(p) = t.per_request_ms {
                        write!(f, "; timeout {}", ms_text(p))?;
                    }
                    if let Some(i) = t.idle_ms {
                        write!(f, "; idle {}", ms_text(i))?;
                    }
                }
                writeln!(f)?;
            }
        }
        writeln!(f, "virtual nodes: {}", self.virtual_nodes.len())?;
        for n in &self.virtual_nodes {
            let sd = match &n.service_discovery {
                Some(ServiceDiscovery::Dns { hostname, .. }) => format!("dns {hostname}"),
                Some(ServiceDiscovery::CloudMap {
                    namespace,
                    service,
                    attributes,
                }) => {
                    let attrs: Vec<_> =
                        attributes.iter().map(|(k, v)| format!("{k}={v}")).collect();
                    format!("cloud map {service}.{namespace} {}", attrs.join(","))
                }
                None => "no service discovery".into(),
            };
            writeln!(f, "  {} ({})", n.name, sd.trim_end())?;
            for l in &n.listeners {
                let mut extra = vec![];
                if let Some(t) = &l.tls {
                    extra.push(format!(
                        "tls {}{}",
                        t.mode,
                        t.certificate
                            .as_ref()
                            .map(|c| format!(" ({c})"))
                            .unwrap_or_default()
                    ));
                }
                if let Some(h) = &l.health_check {
                    extra.push(format!(
                        "health {} {} every {}",
                        h.protocol,
                        h.path.as_deref().unwrap_or(""),
                        ms_text(h.interval_ms)
                    ));
                }
                if let Some(t) = &l.timeout {
                    if let Some(p) = t.per_request_ms {
                        extra.push(format!("timeout {}", ms_text(p)));
                    }
                    if let Some(i) = t.idle_ms {
                        extra.push(format!("idle {}", ms_text(i)));
                    }
                }
                if let Some(o) = &l.outlier_detection {
                    extra.push(format!(
                        "outlier {} errors/{} eject {} max {}%",
                        o.max_server_errors,
                        ms_text(o.interval_ms),
                        ms_text(o.base_ejection_ms),
                        o.max_ejection_percent
                    ));
                }
                if let Some(p) = &l.connection_pool {
                    let mut v = vec![];
                    if let Some(c) = p.max_connections {
                        v.push(format!("connections {c}"));
                    }
                    if let Some(c) = p.max_pending_requests {
                        v.push(format!("pending {c}"));
                    }
                    if let Some(c) = p.max_requests {
                        v.push(format!("requests {c}"));
                    }
                    extra.push(format!("pool {}", v.join(" ")));
                }
                writeln!(
                    f,
                    "    listener {}/{}{}{}",
                    l.port_mapping.port,
                    l.port_mapping.protocol,
                    if extra.is_empty() { "" } else { ": " },
                    extra.join("; ")
                )?;
            }
            if !n.backends.is_empty() {
                let b: Vec<_> = n
                    .backends
                    .iter()
                    .map(|b| b.virtual_service.as_str())
                    .collect();
                writeln!(f, "    backends: {}", b.join(", "))?;
            }
            if let Some(t) = &n.backend_defaults_tls {
                writeln!(
                    f,
                    "    backend defaults: tls enforce={}{}",
                    t.enforce,
                    t.validation
                        .as_ref()
                        .map(|v| format!(" trust {v}"))
                        .unwrap_or_default()
                )?;
            }
        }
        writeln!(f, "virtual gateways: {}", self.virtual_gateways.len())?;
        for g in &self.virtual_gateways {
            let ports: Vec<_> = g
                .listeners
                .iter()
                .map(|l| {
                    format!(
                        "{}/{}{}",
                        l.port_mapping.port,
                        l.port_mapping.protocol,
                        l.tls
                            .as_ref()
                            .map(|t| format!(" tls {}", t.mode))
                            .unwrap_or_default()
                    )
                })
                .collect();
            writeln!(f, "  {} [{}]", g.name, ports.join(", "))?;
            for r in &g.gateway_routes {
                writeln!(
                    f,
                    "    gateway route {} ({}): {} -> {}",
                    r.name,
                    r.kind.as_str(),
                    r.matcher,
                    r.target_virtual_service
                )?;
            }
        }
        match (&self.kubernetes, &self.kubernetes_note) {
            (Some(k), _) => {
                writeln!(f, "kubernetes:")?;
                match &k.controller_resources {
                    None => writeln!(
                        f,
                        "  App Mesh controller resources: none (the {APPMESH_GROUP} API group is not served)"
                    )?,
                    Some(list) => {
                        writeln!(f, "  App Mesh controller resources: {}", list.len())?;
                        for r in list {
                            writeln!(
                                f,
                                "    {} {}{}",
                                r.kind,
                                r.namespace
                                    .as_ref()
                                    .map(|n| format!("{n}/"))
                                    .unwrap_or_default(),
                                r.name
                            )?;
                        }
                    }
                }
                writeln!(
                    f,
                    "  pods with the App Mesh sidecar: {}",
                    k.sidecar_pods.len()
                )?;
                for p in &k.sidecar_pods {
                    writeln!(f, "    {}/{} ({})", p.namespace, p.name, p.image)?;
                }
                writeln!(
                    f,
                    "  namespaces with App Mesh injection: {}",
                    if k.injected_namespaces.is_empty() {
                        "none".to_string()
                    } else {
                        k.injected_namespaces.join(", ")
                    }
                )?;
                writeln!(
                    f,
                    "  Istio (networking.istio.io): {}",
                    if k.istio_installed {
                        "installed"
                    } else {
                        "not installed"
                    }
                )?;
            }
            (None, Some(note)) => writeln!(f, "kubernetes: not inspected ({note})")?,
            (None, None) => writeln!(f, "kubernetes: not inspected")?,
        }
        Ok(())
    }
}
