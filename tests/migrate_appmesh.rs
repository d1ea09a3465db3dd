//! `meshctl migrate appmesh` against moto's App Mesh (virtual services from the shim in
//! tests/support/appmesh_shim.rs) and the Kubernetes API server fake; the translation table on
//! the pure function.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use aws_sdk_appmesh::types as am;
use kube::api::{Api, ApiResource, DynamicObject, ListParams, Patch, PatchParams};
use meshctl::migrate::model::*;
use meshctl::migrate::translate::{self, Options, Severity};
use serde_json::{Value, json};

use crate::support::appmesh_shim::AppMeshShim;
use crate::support::kube_fake::{self, KubeFake};
use crate::support::{Run, Stack, block_on, sdk_config, unique};

fn d(ms: i64) -> am::Duration {
    am::Duration::builder()
        .value(ms)
        .unit(am::DurationUnit::Ms)
        .build()
}

fn secs(s: i64) -> am::Duration {
    am::Duration::builder()
        .value(s)
        .unit(am::DurationUnit::S)
        .build()
}

fn client(shim: &AppMeshShim) -> aws_sdk_appmesh::Client {
    let sdk = block_on(sdk_config());
    let conf = aws_sdk_appmesh::config::Builder::from(&sdk)
        .endpoint_url(&shim.url)
        .build();
    aws_sdk_appmesh::Client::from_conf(conf)
}

fn listener(port: i32, tls: Option<am::ListenerTlsMode>, extras: bool) -> am::Listener {
    let mut l = am::Listener::builder().port_mapping(
        am::PortMapping::builder()
            .port(port)
            .protocol(am::PortProtocol::Http)
            .build()
            .unwrap(),
    );
    if let Some(mode) = tls {
        l = l.tls(
            am::ListenerTls::builder()
                .mode(mode)
                .certificate(am::ListenerTlsCertificate::File(
                    am::ListenerTlsFileCertificate::builder()
                        .certificate_chain("/certs/chain.pem")
                        .private_key("/certs/key.pem")
                        .build()
                        .unwrap(),
                ))
                .build()
                .unwrap(),
        );
    }
    if extras {
        l = l
            .outlier_detection(
                am::OutlierDetection::builder()
                    .max_server_errors(5)
                    .interval(secs(10))
                    .base_ejection_duration(secs(30))
                    .max_ejection_percent(50)
                    .build()
                    .unwrap(),
            )
            .connection_pool(am::VirtualNodeConnectionPool::Http(
                am::VirtualNodeHttpConnectionPool::builder()
                    .max_connections(100)
                    .max_pending_requests(10)
                    .build()
                    .unwrap(),
            ))
            .health_check(
                am::HealthCheckPolicy::builder()
                    .protocol(am::PortProtocol::Http)
                    .path("/healthz")
                    .interval_millis(5000)
                    .timeout_millis(2000)
                    .healthy_threshold(2)
                    .unhealthy_threshold(3)
                    .build()
                    .unwrap(),
            );
    }
    l.build()
}

fn dns(host: &str) -> am::ServiceDiscovery {
    am::ServiceDiscovery::Dns(
        am::DnsServiceDiscovery::builder()
            .hostname(host)
            .build()
            .unwrap(),
    )
}

fn target(node: &str, weight: i32) -> am::WeightedTarget {
    am::WeightedTarget::builder()
        .virtual_node(node)
        .weight(weight)
        .build()
        .unwrap()
}

/// The mesh of the issue's "must show": a 90/10 weighted route with a retry policy and a
/// timeout, a header-match route, a path+method+query route, Cloud Map and DNS nodes, TLS,
/// outlier detection, and a virtual gateway with two gateway routes.
fn build_mesh(c: &aws_sdk_appmesh::Client, mesh: &str) {
    block_on(async {
        c.create_mesh()
            .mesh_name(mesh)
            .send()
            .await
            .expect("create mesh");
        let node = |name: &str, sd: am::ServiceDiscovery, l: Vec<am::Listener>| {
            let mut spec = am::VirtualNodeSpec::builder().service_discovery(sd);
            for x in l {
                spec = spec.listeners(x);
            }
            (name.to_string(), spec)
        };
        let nodes = vec![
            node(
                "web-v1",
                dns("web.shop.svc.cluster.local"),
                vec![listener(8080, Some(am::ListenerTlsMode::Strict), true)],
            ),
            node(
                "web-v2",
                dns("web.shop.svc.cluster.local"),
                vec![listener(8080, Some(am::ListenerTlsMode::Permissive), false)],
            ),
            node(
                "api",
                am::ServiceDiscovery::AwsCloudMap(
                    am::AwsCloudMapServiceDiscovery::builder()
                        .namespace_name("shop.local")
                        .service_name("api")
                        .attributes(
                            am::AwsCloudMapInstanceAttribute::builder()
                                .key("stage")
                                .value("stable")
                                .build()
                                .unwrap(),
                        )
                        .build()
                        .unwrap(),
                ),
                vec![listener(9090, None, false)],
            ),
        ];
        for (name, spec) in nodes {
            c.create_virtual_node()
                .mesh_name(mesh)
                .virtual_node_name(name)
                .spec(spec.build())
                .send()
                .await
                .expect("create virtual node");
        }
        c.create_virtual_router()
            .mesh_name(mesh)
            .virtual_router_name("web-router")
            .spec(
                am::VirtualRouterSpec::builder()
                    .listeners(
                        am::VirtualRouterListener::builder()
                            .port_mapping(
                                am::PortMapping::builder()
                                    .port(8080)
                                    .protocol(am::PortProtocol::Http)
                                    .build()
                                    .unwrap(),
                            )
                            .build(),
                    )
                    .build(),
            )
            .send()
            .await
            .expect("create router");
        let http = |m: am::HttpRouteMatch, targets: Vec<am::WeightedTarget>| {
            am::HttpRoute::builder().r#match(m).action(
                am::HttpRouteAction::builder()
                    .set_weighted_targets(Some(targets))
                    .build()
                    .unwrap(),
            )
        };
        let routes = vec![
            (
                "weighted",
                20,
                http(
                    am::HttpRouteMatch::builder().prefix("/").build(),
                    vec![target("web-v1", 90), target("web-v2", 10)],
                )
                .retry_policy(
                    am::HttpRetryPolicy::builder()
                        .max_retries(3)
                        .per_retry_timeout(secs(2))
                        .http_retry_events("server-error")
                        .http_retry_events("gateway-error")
                        .tcp_retry_events(am::TcpRetryPolicyEvent::ConnectionError)
                        .build()
                        .unwrap(),
                )
                .timeout(
                    am::HttpTimeout::builder()
                        .per_request(secs(5))
                        .idle(secs(30))
                        .build(),
                )
                .build(),
            ),
            (
                "canary-header",
                10,
                http(
                    am::HttpRouteMatch::builder()
                        .prefix("/")
                        .headers(
                            am::HttpRouteHeader::builder()
                                .name("X-Canary")
                                .r#match(am::HeaderMatchMethod::Exact("true".into()))
                                .build()
                                .unwrap(),
                        )
                        .build(),
                    vec![target("web-v2", 1)],
                )
                .timeout(am::HttpTimeout::builder().per_request(d(1500)).build())
                .build(),
            ),
            (
                "admin",
                5,
                http(
                    am::HttpRouteMatch::builder()
                        .path(am::HttpPathMatch::builder().exact("/admin").build())
                        .method(am::HttpMethod::Post)
                        .query_parameters(
                            am::HttpQueryParameter::builder()
                                .name("debug")
                                .r#match(am::QueryParameterMatch::builder().exact("1").build())
                                .build()
                                .unwrap(),
                        )
                        .build(),
                    vec![target("web-v1", 1)],
                )
                .build(),
            ),
        ];
        for (name, priority, route) in routes {
            c.create_route()
                .mesh_name(mesh)
                .virtual_router_name("web-router")
                .route_name(name)
                .spec(
                    am::RouteSpec::builder()
                        .priority(priority)
                        .http_route(route)
                        .build(),
                )
                .send()
                .await
                .expect("create route");
        }
        let vs = |name: &str, provider: am::VirtualServiceProvider| {
            c.create_virtual_service()
                .mesh_name(mesh)
                .virtual_service_name(name)
                .spec(am::VirtualServiceSpec::builder().provider(provider).build())
                .send()
        };
        vs(
            "web.shop.svc.cluster.local",
            am::VirtualServiceProvider::VirtualRouter(
                am::VirtualRouterServiceProvider::builder()
                    .virtual_router_name("web-router")
                    .build()
                    .unwrap(),
            ),
        )
        .await
        .expect("create virtual service web");
        vs(
            "api.shop.local",
            am::VirtualServiceProvider::VirtualNode(
                am::VirtualNodeServiceProvider::builder()
                    .virtual_node_name("api")
                    .build()
                    .unwrap(),
            ),
        )
        .await
        .expect("create virtual service api");
        vs(
            "legacy.shop.local",
            am::VirtualServiceProvider::VirtualNode(
                am::VirtualNodeServiceProvider::builder()
                    .virtual_node_name("web-v1")
                    .build()
                    .unwrap(),
            ),
        )
        .await
        .expect("create virtual service legacy");
        c.create_virtual_gateway()
            .mesh_name(mesh)
            .virtual_gateway_name("ingress")
            .spec(
                am::VirtualGatewaySpec::builder()
                    .listeners(
                        am::VirtualGatewayListener::builder()
                            .port_mapping(
                                am::VirtualGatewayPortMapping::builder()
                                    .port(8080)
                                    .protocol(am::VirtualGatewayPortProtocol::Http)
                                    .build()
                                    .unwrap(),
                            )
                            .build(),
                    )
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .expect("create virtual gateway");
        let gr = |name: &str, priority: i32, m: am::HttpGatewayRouteMatch, vs: &str| {
            c.create_gateway_route()
                .mesh_name(mesh)
                .virtual_gateway_name("ingress")
                .gateway_route_name(name)
                .spec(
                    am::GatewayRouteSpec::builder()
                        .priority(priority)
                        .http_route(
                            am::HttpGatewayRoute::builder()
                                .r#match(m)
                                .action(
                                    am::HttpGatewayRouteAction::builder()
                                        .target(
                                            am::GatewayRouteTarget::builder()
                                                .virtual_service(
                                                    am::GatewayRouteVirtualService::builder()
                                                        .virtual_service_name(vs)
                                                        .build()
                                                        .unwrap(),
                                                )
                                                .build(),
                                        )
                                        .build(),
                                )
                                .build(),
                        )
                        .build(),
                )
                .send()
        };
        gr(
            "to-web",
            20,
            am::HttpGatewayRouteMatch::builder().prefix("/web").build(),
            "web.shop.svc.cluster.local",
        )
        .await
        .expect("create gateway route to-web");
        gr(
            "to-api",
            10,
            am::HttpGatewayRouteMatch::builder()
                .prefix("/")
                .hostname(
                    am::GatewayRouteHostnameMatch::builder()
                        .exact("api.example.com")
                        .build(),
                )
                .build(),
            "api.shop.local",
        )
        .await
        .expect("create gateway route to-api");
    });
}

/// A mesh built through the shim (virtual services paged 2 at a time).
fn mesh_fixture(test: &str) -> (AppMeshShim, String) {
    let shim = AppMeshShim::start(&crate::support::moto(), 2);
    let mesh = unique(test);
    build_mesh(&client(&shim), &mesh);
    (shim, mesh)
}

fn run(stack: &Stack, shim: &AppMeshShim, args: &[&str]) -> Run {
    stack.run_json_env(
        args,
        &[
            ("AWS_ENDPOINT_URL_APP_MESH", &shim.url),
            ("MESHCTL_POLL_INTERVAL", "100ms"),
        ],
    )
}

fn run_text(stack: &Stack, shim: &AppMeshShim, args: &[&str]) -> Run {
    let out = stack
        .cmd()
        .env("AWS_ENDPOINT_URL_APP_MESH", &shim.url)
        .env("MESHCTL_POLL_INTERVAL", "100ms")
        .args(args)
        .output()
        .expect("meshctl runs");
    Run::from(out)
}

#[test]
fn inventory_lists_the_aws_side_in_text_and_json_and_says_the_cluster_was_not_inspected() {
    let (shim, mesh) = mesh_fixture("inv");
    let stack = Stack::new("inv");
    let doc = run(
        &stack,
        &shim,
        &["migrate", "appmesh", "inventory", "--mesh", &mesh],
    )
    .expect_code(0)
    .json();
    // Three virtual services, served two per page: pagination was followed.
    let services: Vec<&str> = doc["virtual_services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        services,
        [
            "api.shop.local",
            "legacy.shop.local",
            "web.shop.svc.cluster.local"
        ]
    );
    assert!(
        shim.requests()
            .iter()
            .any(|(m, p)| m == "GET" && p.ends_with("/virtualServices")),
        "listed through the shim"
    );
    let routes = &doc["virtual_routers"][0]["routes"];
    let names: Vec<&str> = routes
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["admin", "canary-header", "weighted"],
        "priority order"
    );
    let weighted = &routes[2];
    assert_eq!(weighted["targets"][0]["weight"], 90);
    assert_eq!(weighted["targets"][1]["weight"], 10);
    assert_eq!(weighted["retry"]["max_retries"], 3);
    assert_eq!(weighted["retry"]["per_retry_timeout_ms"], 2000);
    assert_eq!(weighted["timeout"]["per_request_ms"], 5000);
    assert_eq!(weighted["timeout"]["idle_ms"], 30000);
    assert_eq!(routes[1]["match"]["headers"][0]["name"], "X-Canary");
    assert_eq!(routes[0]["match"]["method"], "POST");
    let web_v1 = doc["virtual_nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["name"] == "web-v1")
        .unwrap();
    assert_eq!(web_v1["listeners"][0]["tls"]["mode"], "STRICT");
    assert_eq!(
        web_v1["listeners"][0]["outlier_detection"]["max_server_errors"],
        5
    );
    assert_eq!(
        doc["virtual_gateways"][0]["gateway_routes"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert!(doc["kubernetes"].is_null());
    assert!(
        doc["kubernetes_note"]
            .as_str()
            .unwrap()
            .contains("no cluster configured")
    );
    // Read-only: no write reached App Mesh.
    assert!(
        shim.mutating().iter().all(|(m, _)| m == "PUT"),
        "only the fixture's creates: {:?}",
        shim.mutating()
    );
    let writes_before = shim.mutating().len();

    let text = run_text(
        &stack,
        &shim,
        &["migrate", "appmesh", "inventory", "--mesh", &mesh],
    );
    text.expect_code(0);
    for needle in [
        "virtual services: 3",
        "route weighted (http, priority 20): prefix / -> web-v1:90 web-v2:10; retries 3 x 2s on server-error,gateway-error,connection-error; timeout 5s; idle 30s",
        "route canary-header (http, priority 10): prefix /, header X-Canary -> web-v2:1",
        "web-v1 (dns web.shop.svc.cluster.local)",
        "listener 8080/http: tls STRICT (file)",
        "gateway route to-web (http): prefix /web -> web.shop.svc.cluster.local",
        "kubernetes: not inspected (no cluster configured",
    ] {
        assert!(
            text.stdout.contains(needle),
            "missing `{needle}` in:\n{}",
            text.stdout
        );
    }
    assert_eq!(shim.mutating().len(), writes_before);
}

#[test]
fn inventory_of_a_missing_mesh_says_so_and_bad_names_are_usage_errors() {
    let shim = AppMeshShim::start(&crate::support::moto(), 2);
    let stack = Stack::new("inv-missing");
    let r = run(
        &stack,
        &shim,
        &[
            "migrate",
            "appmesh",
            "inventory",
            "--mesh",
            "no-such-mesh-x",
        ],
    );
    r.expect_code(2);
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap()
            .contains("does not exist"),
        "{}",
        r.stdout
    );
    let r = run(
        &stack,
        &shim,
        &["migrate", "appmesh", "inventory", "--mesh", "bad name!"],
    );
    r.expect_code(2);
    assert!(shim.requests().iter().all(|(_, p)| !p.contains("bad")));
}

#[test]
fn global_flags_are_scoped_to_the_migrate_subcommands_that_use_them() {
    let shim = AppMeshShim::start(&crate::support::moto(), 2);
    let stack = Stack::new("scope");
    let r = run(
        &stack,
        &shim,
        &["migrate", "appmesh", "inventory", "--mesh", "m", "--yes"],
    );
    r.expect_code(2);
    let message = r.json()["message"].as_str().unwrap().to_string();
    assert!(
        message.contains("--yes does not apply to `meshctl migrate appmesh inventory`"),
        "{message}"
    );
    assert!(message.contains("migrate appmesh apply"), "{message}");
    let r = run(
        &stack,
        &shim,
        &[
            "migrate",
            "appmesh",
            "apply",
            "--mesh",
            "m",
            "--namespace",
            "shop",
            "--no-wait",
        ],
    );
    r.expect_code(2);
    assert!(
        shim.requests().is_empty(),
        "no call before the usage checks"
    );
}

fn snapshot_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/migrate/snapshots")
}

/// Compare `text` with the stored snapshot `name` (refresh with MESHCTL_UPDATE_SNAPSHOTS=1).
fn snapshot(name: &str, text: &str) {
    let path = snapshot_dir().join(name);
    if std::env::var_os("MESHCTL_UPDATE_SNAPSHOTS").is_some() {
        std::fs::create_dir_all(snapshot_dir()).unwrap();
        std::fs::write(&path, text).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "no snapshot {}: run with MESHCTL_UPDATE_SNAPSHOTS=1",
            path.display()
        )
    });
    assert_eq!(
        text, expected,
        "snapshot {name} differs (MESHCTL_UPDATE_SNAPSHOTS=1 refreshes it)"
    );
}

fn docs(text: &str) -> Vec<Value> {
    meshctl::kube::manifest::parse("t.yaml", text)
        .unwrap()
        .into_iter()
        .map(|o| serde_json::to_value(o).unwrap())
        .collect()
}

#[test]
fn translate_writes_manifests_that_reproduce_weights_matches_retries_and_timeouts() {
    let (shim, mesh) = mesh_fixture("tr");
    let stack = Stack::new("tr");
    let out = stack.path().join("istio");
    let out_s = out.display().to_string();
    let r = run(
        &stack,
        &shim,
        &[
            "migrate",
            "appmesh",
            "translate",
            "--mesh",
            &mesh,
            "--out",
            &out_s,
            "--namespace",
            "shop",
        ],
    );
    let doc = r.expect_code(0).json();
    assert_eq!(doc["kind"], "translate");
    let mut files: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            "MIGRATION-REPORT.md",
            "mesh.yaml",
            "virtual-gateways.yaml",
            "virtual-nodes.yaml",
            "virtual-services.yaml"
        ]
    );
    let read = |f: &str| {
        std::fs::read_to_string(out.join(f))
            .unwrap()
            .replace(&mesh, "demo")
            .replace(&stack.name, "demo-stack")
    };
    for f in &files {
        snapshot(f, &read(f));
    }

    // The must-show, asserted on the objects themselves.
    let vs = docs(&read("virtual-services.yaml"));
    let web = vs
        .iter()
        .find(|o| o["spec"]["hosts"][0] == "web.shop.svc.cluster.local")
        .unwrap();
    assert_eq!(web["metadata"]["namespace"], "shop");
    assert_eq!(
        web["metadata"]["annotations"]["meshctl.io/appmesh-source"],
        "arn:aws:appmesh:us-east-1:123456789012:mesh/demo/virtualService/web.shop.svc.cluster.local"
    );
    assert_eq!(
        web["metadata"]["labels"]["meshctl.io/component"],
        "appmesh-migration"
    );
    assert_eq!(
        web["metadata"]["labels"]["app.kubernetes.io/managed-by"],
        "meshctl"
    );
    let http = web["spec"]["http"].as_array().unwrap();
    let names: Vec<&str> = http.iter().map(|h| h["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        ["admin", "canary-header", "weighted"],
        "App Mesh priority order"
    );
    assert_eq!(
        http[0]["match"][0],
        json!({"uri": {"exact": "/admin"}, "method": {"exact": "POST"}, "queryParams": {"debug": {"exact": "1"}}})
    );
    assert_eq!(
        http[1]["match"][0],
        json!({"uri": {"prefix": "/"}, "headers": {"x-canary": {"exact": "true"}}})
    );
    assert_eq!(http[1]["timeout"], "1500ms");
    assert_eq!(
        http[2]["route"],
        json!([
            {"destination": {"host": "web.shop.svc.cluster.local", "subset": "web-v1"}, "weight": 90},
            {"destination": {"host": "web.shop.svc.cluster.local", "subset": "web-v2"}, "weight": 10},
        ])
    );
    assert_eq!(
        http[2]["retries"],
        json!({"attempts": 3, "perTryTimeout": "2s", "retryOn": "5xx,gateway-error,connect-failure"})
    );
    assert_eq!(http[2]["timeout"], "5s");

    let dr = docs(&read("virtual-nodes.yaml"));
    let web_dr = dr
        .iter()
        .find(|o| o["spec"]["host"] == "web.shop.svc.cluster.local")
        .unwrap();
    assert_eq!(
        web_dr["spec"]["subsets"][0]["labels"],
        json!({"version": "v1"})
    );
    assert_eq!(
        web_dr["spec"]["subsets"][0]["trafficPolicy"]["outlierDetection"],
        json!({"consecutive5xxErrors": 5, "interval": "10s", "baseEjectionTime": "30s", "maxEjectionPercent": 50})
    );
    assert_eq!(
        web_dr["spec"]["subsets"][0]["trafficPolicy"]["connectionPool"],
        json!({"tcp": {"maxConnections": 100}, "http": {"http1MaxPendingRequests": 10}})
    );
    let api_dr = dr
        .iter()
        .find(|o| o["spec"]["host"] == "api.shop.local")
        .unwrap();
    assert_eq!(
        api_dr["spec"]["subsets"][0]["labels"],
        json!({"stage": "stable"})
    );

    let mesh_doc = docs(&read("mesh.yaml"));
    assert_eq!(mesh_doc[0]["kind"], "PeerAuthentication");
    assert_eq!(
        mesh_doc[0]["spec"]["mtls"]["mode"], "PERMISSIVE",
        "web-v2 is PERMISSIVE, api plain"
    );

    let gw = docs(&read("virtual-gateways.yaml"));
    assert_eq!(gw[0]["kind"], "Gateway");
    assert_eq!(gw[1]["spec"]["gateways"], json!(["shop/ingress"]));
    let gw_http = gw[1]["spec"]["http"].as_array().unwrap();
    assert_eq!(gw_http[0]["name"], "to-api");
    assert_eq!(
        gw_http[0]["match"][0]["authority"],
        json!({"exact": "api.example.com"})
    );
    assert_eq!(gw_http[1]["match"][0]["uri"], json!({"prefix": "/web"}));
    assert_eq!(gw_http[1]["rewrite"], json!({"uri": "/"}));

    let report = read("MIGRATION-REPORT.md");
    for needle in [
        "idle timeout 30s",
        "egress filter DROP_ALL",
        "health check http /healthz every 5s",
        "listener 8080 TLS certificate from file",
        "mTLS mode PERMISSIVE",
        "Cloud Map attribute selection",
    ] {
        assert!(
            report.contains(needle),
            "report lacks `{needle}`:\n{report}"
        );
    }
    assert!(doc["report"].as_array().unwrap().len() >= 6);

    // A non-empty --out is refused (exit 2, nothing written) unless --force.
    let marker = out.join("mesh.yaml");
    std::fs::write(&marker, "keep").unwrap();
    let r = run(
        &stack,
        &shim,
        &[
            "migrate",
            "appmesh",
            "translate",
            "--mesh",
            &mesh,
            "--out",
            &out_s,
        ],
    );
    r.expect_code(2);
    assert!(r.json()["help"].as_str().unwrap().contains("--force"));
    assert_eq!(std::fs::read_to_string(&marker).unwrap(), "keep");
    run(
        &stack,
        &shim,
        &[
            "migrate",
            "appmesh",
            "translate",
            "--mesh",
            &mesh,
            "--out",
            &out_s,
            "--force",
            "--namespace",
            "shop",
        ],
    )
    .expect_code(0);
    assert_ne!(std::fs::read_to_string(&marker).unwrap(), "keep");
}

// ---------------------------------------------------------------------------------------
// The translation table, on the pure function.
// ---------------------------------------------------------------------------------------

fn node(name: &str, host: &str, listener: Listener) -> VirtualNode {
    VirtualNode {
        name: name.into(),
        arn: format!("arn:node/{name}"),
        service_discovery: Some(ServiceDiscovery::Dns {
            hostname: host.into(),
            response_type: None,
        }),
        listeners: vec![listener],
        backends: vec![],
        backend_defaults_tls: None,
        access_log: None,
    }
}

fn http_listener() -> Listener {
    Listener {
        port_mapping: PortMapping {
            port: 8080,
            protocol: "http".into(),
        },
        tls: None,
        health_check: None,
        timeout: None,
        outlier_detection: None,
        connection_pool: None,
    }
}

fn route(kind: RouteKind, matcher: RouteMatch) -> Route {
    Route {
        name: "r".into(),
        arn: "arn:route/r".into(),
        priority: None,
        kind,
        matcher,
        targets: vec![WeightedTarget {
            virtual_node: "a".into(),
            weight: 1,
            port: None,
        }],
        retry: None,
        timeout: None,
    }
}

/// A mesh with one virtual service `svc.ns.svc.cluster.local` routed by `route`.
fn inv_with(route: Route, listener: Listener) -> Inventory {
    Inventory {
        mesh: Mesh {
            name: "m".into(),
            arn: "arn:mesh/m".into(),
            egress_filter: "ALLOW_ALL".into(),
            ip_preference: None,
        },
        virtual_services: vec![VirtualService {
            name: "svc.ns.svc.cluster.local".into(),
            arn: "arn:vs".into(),
            provider: Some(Provider::VirtualRouter("router".into())),
        }],
        virtual_routers: vec![VirtualRouter {
            name: "router".into(),
            arn: "arn:router".into(),
            listeners: vec![PortMapping {
                port: 8080,
                protocol: "http".into(),
            }],
            routes: vec![route],
        }],
        virtual_nodes: vec![node("a", "a.ns.svc.cluster.local", listener)],
        ..Inventory::default()
    }
}

enum Expect {
    /// A JSON pointer into the first generated VirtualService's first route and its value.
    Route(&'static str, Value),
    /// A JSON pointer into the DestinationRule of `a` and its value.
    Rule(&'static str, Value),
    /// A report item whose feature contains this text (and the route left out when
    /// `dropped`).
    Reported(Severity, &'static str),
}

fn hm(name: &str, invert: bool, m: Option<StringMatch>) -> HeaderMatch {
    HeaderMatch {
        name: name.into(),
        invert,
        matcher: m,
    }
}

#[test]
fn every_app_mesh_route_and_node_feature_becomes_istio_or_is_reported() {
    let sm = |f: fn(&mut StringMatch)| {
        let mut m = StringMatch::default();
        f(&mut m);
        Some(m)
    };
    let retry = |http: &[&str], tcp: &[&str], grpc: &[&str]| RetryPolicy {
        max_retries: 2,
        per_retry_timeout_ms: 250,
        http_retry_events: http.iter().map(|s| s.to_string()).collect(),
        tcp_retry_events: tcp.iter().map(|s| s.to_string()).collect(),
        grpc_retry_events: grpc.iter().map(|s| s.to_string()).collect(),
    };
    let base = RouteMatch::default();
    let with = |f: fn(&mut RouteMatch)| {
        let mut m = RouteMatch::default();
        f(&mut m);
        m
    };
    let l = http_listener;
    #[allow(clippy::type_complexity)]
    let rows: Vec<(&str, Route, Listener, Expect)> = vec![
        (
            "prefix",
            route(RouteKind::Http, with(|m| m.prefix = Some("/p".into()))),
            l(),
            Expect::Route("/match/0/uri", json!({"prefix": "/p"})),
        ),
        (
            "exact path",
            route(RouteKind::Http, with(|m| m.path_exact = Some("/x".into()))),
            l(),
            Expect::Route("/match/0/uri", json!({"exact": "/x"})),
        ),
        (
            "regex path",
            route(
                RouteKind::Http,
                with(|m| m.path_regex = Some("/v[0-9]+".into())),
            ),
            l(),
            Expect::Route("/match/0/uri", json!({"regex": "/v[0-9]+"})),
        ),
        (
            "method",
            route(RouteKind::Http2, with(|m| m.method = Some("PUT".into()))),
            l(),
            Expect::Route("/match/0/method", json!({"exact": "PUT"})),
        ),
        (
            "scheme",
            route(RouteKind::Http, with(|m| m.scheme = Some("https".into()))),
            l(),
            Expect::Route("/match/0/scheme", json!({"exact": "https"})),
        ),
        (
            "port",
            route(RouteKind::Http, with(|m| m.port = Some(8080))),
            l(),
            Expect::Route("/match/0/port", json!(8080)),
        ),
        (
            "header exact",
            route(
                RouteKind::Http,
                with(|m| {
                    m.headers = vec![hm(
                        "X-A",
                        false,
                        Some(StringMatch {
                            exact: Some("1".into()),
                            ..Default::default()
                        }),
                    )]
                }),
            ),
            l(),
            Expect::Route("/match/0/headers/x-a", json!({"exact": "1"})),
        ),
        (
            "header prefix",
            route(
                RouteKind::Http,
                RouteMatch {
                    headers: vec![hm("x-b", false, sm(|m| m.prefix = Some("ab".into())))],
                    ..base.clone()
                },
            ),
            l(),
            Expect::Route("/match/0/headers/x-b", json!({"prefix": "ab"})),
        ),
        (
            "header suffix",
            route(
                RouteKind::Http,
                RouteMatch {
                    headers: vec![hm("x-c", false, sm(|m| m.suffix = Some(".io".into())))],
                    ..base.clone()
                },
            ),
            l(),
            Expect::Route("/match/0/headers/x-c", json!({"regex": ".*\\.io"})),
        ),
        (
            "header regex",
            route(
                RouteKind::Http,
                RouteMatch {
                    headers: vec![hm("x-d", false, sm(|m| m.regex = Some("a+".into())))],
                    ..base.clone()
                },
            ),
            l(),
            Expect::Route("/match/0/headers/x-d", json!({"regex": "a+"})),
        ),
        (
            "header present",
            route(
                RouteKind::Http,
                RouteMatch {
                    headers: vec![hm("x-e", false, None)],
                    ..base.clone()
                },
            ),
            l(),
            Expect::Route("/match/0/headers/x-e", json!({"regex": ".*"})),
        ),
        (
            "header inverted",
            route(
                RouteKind::Http,
                RouteMatch {
                    headers: vec![hm("x-f", true, sm(|m| m.exact = Some("no".into())))],
                    ..base.clone()
                },
            ),
            l(),
            Expect::Route("/match/0/withoutHeaders/x-f", json!({"exact": "no"})),
        ),
        (
            "header range",
            route(
                RouteKind::Http,
                RouteMatch {
                    headers: vec![hm("x-g", false, sm(|m| m.range = Some((1, 5))))],
                    ..base.clone()
                },
            ),
            l(),
            Expect::Reported(Severity::Manual, "header `x-g` range match [1, 5)"),
        ),
        (
            "query exact",
            route(
                RouteKind::Http,
                RouteMatch {
                    query_parameters: vec![QueryMatch {
                        name: "q".into(),
                        exact: Some("v".into()),
                    }],
                    ..base.clone()
                },
            ),
            l(),
            Expect::Route("/match/0/queryParams/q", json!({"exact": "v"})),
        ),
        (
            "query present",
            route(
                RouteKind::Http,
                RouteMatch {
                    query_parameters: vec![QueryMatch {
                        name: "q".into(),
                        exact: None,
                    }],
                    ..base.clone()
                },
            ),
            l(),
            Expect::Route("/match/0/queryParams/q", json!({"regex": ".*"})),
        ),
        (
            "grpc service and method",
            route(
                RouteKind::Grpc,
                with(|m| {
                    m.grpc_service = Some("pkg.Svc".into());
                    m.grpc_method = Some("Get".into());
                }),
            ),
            l(),
            Expect::Route("/match/0/uri", json!({"exact": "/pkg.Svc/Get"})),
        ),
        (
            "grpc service",
            route(
                RouteKind::Grpc,
                with(|m| m.grpc_service = Some("pkg.Svc".into())),
            ),
            l(),
            Expect::Route("/match/0/uri", json!({"prefix": "/pkg.Svc/"})),
        ),
        (
            "grpc metadata",
            route(
                RouteKind::Grpc,
                RouteMatch {
                    grpc_metadata: vec![hm("tenant", false, sm(|m| m.exact = Some("t1".into())))],
                    ..base.clone()
                },
            ),
            l(),
            Expect::Route("/match/0/headers/tenant", json!({"exact": "t1"})),
        ),
        (
            "http retry events",
            Route {
                retry: Some(retry(
                    &[
                        "server-error",
                        "gateway-error",
                        "client-error",
                        "stream-error",
                    ],
                    &[],
                    &[],
                )),
                ..route(RouteKind::Http, base.clone())
            },
            l(),
            Expect::Route(
                "/retries",
                json!({"attempts": 2, "perTryTimeout": "250ms", "retryOn": "5xx,gateway-error,retriable-4xx,refused-stream"}),
            ),
        ),
        (
            "tcp retry events",
            Route {
                retry: Some(retry(&[], &["connection-error"], &[])),
                ..route(RouteKind::Http, base.clone())
            },
            l(),
            Expect::Route("/retries/retryOn", json!("connect-failure")),
        ),
        (
            "grpc retry events",
            Route {
                retry: Some(retry(&[], &[], &["unavailable", "cancelled"])),
                ..route(RouteKind::Grpc, base.clone())
            },
            l(),
            Expect::Reported(Severity::Check, "gRPC retry events unavailable, cancelled"),
        ),
        (
            "unknown retry event",
            Route {
                retry: Some(retry(&["teapot"], &[], &[])),
                ..route(RouteKind::Http, base.clone())
            },
            l(),
            Expect::Reported(Severity::Manual, "retry event `teapot`"),
        ),
        (
            "per-request timeout",
            Route {
                timeout: Some(Timeout {
                    per_request_ms: Some(3000),
                    idle_ms: None,
                }),
                ..route(RouteKind::Http, base.clone())
            },
            l(),
            Expect::Route("/timeout", json!("3s")),
        ),
        (
            "default timeout",
            route(RouteKind::Http, base.clone()),
            l(),
            Expect::Route("/timeout", json!("15s")),
        ),
        (
            "idle timeout",
            Route {
                timeout: Some(Timeout {
                    per_request_ms: None,
                    idle_ms: Some(60000),
                }),
                ..route(RouteKind::Http, base.clone())
            },
            l(),
            Expect::Reported(Severity::Manual, "idle timeout 60s"),
        ),
        (
            "tcp route",
            Route {
                matcher: with(|m| m.port = Some(9000)),
                ..route(RouteKind::Tcp, base.clone())
            },
            l(),
            Expect::Reported(Severity::Check, "egress filter ALLOW_ALL"),
        ),
        (
            "outlier detection",
            route(RouteKind::Http, base.clone()),
            Listener {
                outlier_detection: Some(OutlierDetection {
                    max_server_errors: 3,
                    interval_ms: 1000,
                    base_ejection_ms: 500,
                    max_ejection_percent: 20,
                }),
                ..l()
            },
            Expect::Rule(
                "/spec/trafficPolicy/outlierDetection",
                json!({"consecutive5xxErrors": 3, "interval": "1s", "baseEjectionTime": "500ms", "maxEjectionPercent": 20}),
            ),
        ),
        (
            "http2 pool",
            route(RouteKind::Http, base.clone()),
            Listener {
                connection_pool: Some(ConnectionPool {
                    protocol: "http2".into(),
                    max_requests: Some(7),
                    ..Default::default()
                }),
                ..l()
            },
            Expect::Rule(
                "/spec/trafficPolicy/connectionPool",
                json!({"http": {"http2MaxRequests": 7}}),
            ),
        ),
        (
            "tcp pool",
            route(RouteKind::Http, base.clone()),
            Listener {
                connection_pool: Some(ConnectionPool {
                    protocol: "tcp".into(),
                    max_connections: Some(9),
                    ..Default::default()
                }),
                ..l()
            },
            Expect::Reported(Severity::Check, "connection pool on listener 8080"),
        ),
        (
            "health check",
            route(RouteKind::Http, base.clone()),
            Listener {
                health_check: Some(HealthCheck {
                    protocol: "http".into(),
                    port: None,
                    path: Some("/h".into()),
                    interval_ms: 5000,
                    timeout_ms: 1000,
                    healthy_threshold: 2,
                    unhealthy_threshold: 2,
                }),
                ..l()
            },
            Expect::Reported(Severity::Manual, "health check http /h every 5s"),
        ),
        (
            "listener timeout",
            route(RouteKind::Http, base.clone()),
            Listener {
                timeout: Some(Timeout {
                    per_request_ms: Some(1000),
                    idle_ms: None,
                }),
                ..l()
            },
            Expect::Reported(Severity::Manual, "listener 8080 timeout per-request 1s"),
        ),
        (
            "listener TLS from SDS",
            route(RouteKind::Http, base.clone()),
            Listener {
                tls: Some(ListenerTls {
                    mode: "STRICT".into(),
                    certificate: Some("sds".into()),
                    validation: None,
                }),
                ..l()
            },
            Expect::Reported(Severity::Manual, "listener 8080 TLS certificate from sds"),
        ),
        (
            "protocol mismatch",
            route(RouteKind::Http, base.clone()),
            Listener {
                port_mapping: PortMapping {
                    port: 8080,
                    protocol: "grpc".into(),
                },
                ..l()
            },
            Expect::Reported(Severity::Manual, "port mapping protocols differ"),
        ),
    ];
    for (feature, route, listener, expect) in rows {
        let inv = inv_with(route, listener);
        let t = translate::translate(&inv, &Options::new("ns", "st"));
        let vs = t.objects.iter().find(|o| o["kind"] == "VirtualService");
        let first_route = vs.map(|v| {
            if v["spec"]["http"].is_array() {
                v["spec"]["http"][0].clone()
            } else {
                v["spec"]["tcp"][0].clone()
            }
        });
        match expect {
            Expect::Route(ptr, want) => {
                let got = first_route.as_ref().and_then(|r| r.pointer(ptr)).cloned();
                assert_eq!(got, Some(want), "{feature}: route {first_route:#?}");
            }
            Expect::Rule(ptr, want) => {
                let rule = t
                    .objects
                    .iter()
                    .find(|o| o["kind"] == "DestinationRule")
                    .unwrap();
                assert_eq!(rule.pointer(ptr), Some(&want), "{feature}: rule {rule:#}");
            }
            Expect::Reported(sev, text) => {
                assert!(
                    t.report
                        .iter()
                        .any(|r| r.severity == sev && r.feature.contains(text)),
                    "{feature}: no {sev:?} report item `{text}` in {:#?}",
                    t.report
                );
                assert!(t.files[&PathBuf::from("MIGRATION-REPORT.md")].contains(text));
            }
        }
    }

    // A route with an untranslatable match is left out (never matching more than before).
    let inv = inv_with(
        route(
            RouteKind::Http,
            RouteMatch {
                headers: vec![hm("x", false, sm(|m| m.range = Some((0, 2))))],
                ..base.clone()
            },
        ),
        l(),
    );
    let t = translate::translate(&inv, &Options::new("ns", "st"));
    let vs = t
        .objects
        .iter()
        .find(|o| o["kind"] == "VirtualService")
        .unwrap();
    assert!(vs["spec"]["http"].is_null(), "{vs:#}");

    // TCP routes become tcp routes with their port match.
    let inv = inv_with(
        Route {
            matcher: with(|m| m.port = Some(9000)),
            ..route(RouteKind::Tcp, base.clone())
        },
        l(),
    );
    let t = translate::translate(&inv, &Options::new("ns", "st"));
    let vs = t
        .objects
        .iter()
        .find(|o| o["kind"] == "VirtualService")
        .unwrap();
    assert_eq!(vs["spec"]["tcp"][0]["match"], json!([{"port": 9000}]));

    // Weights are relative in App Mesh: normalised to percentages summing to 100.
    assert_eq!(translate::percentages(&[1, 2], 100), vec![33, 67]);
    assert_eq!(translate::percentages(&[90, 10], 100), vec![90, 10]);
    assert_eq!(translate::percentages(&[90, 10], 50), vec![45, 5]);
    assert_eq!(translate::percentages(&[1, 1, 1], 100), vec![34, 33, 33]);

    // Every listener STRICT: the PeerAuthentication is STRICT.
    let strict = Listener {
        tls: Some(ListenerTls {
            mode: "STRICT".into(),
            certificate: None,
            validation: None,
        }),
        ..l()
    };
    let t = translate::translate(
        &inv_with(route(RouteKind::Http, base.clone()), strict),
        &Options::new("ns", "st"),
    );
    let pa = t
        .objects
        .iter()
        .find(|o| o["kind"] == "PeerAuthentication")
        .unwrap();
    assert_eq!(pa["spec"]["mtls"]["mode"], "STRICT");

    // Nodes sharing a host: subset labels from the App Mesh controller's podSelector when
    // the cluster has it (no assumption reported), else an assumed `version` label.
    let mut inv = inv_with(route(RouteKind::Http, base.clone()), l());
    inv.virtual_nodes = vec![
        node("web-v1", "web.ns.svc.cluster.local", l()),
        node("web-v2", "web.ns.svc.cluster.local", l()),
    ];
    inv.virtual_routers[0].routes[0].targets = vec![
        WeightedTarget {
            virtual_node: "web-v1".into(),
            weight: 1,
            port: None,
        },
        WeightedTarget {
            virtual_node: "web-v2".into(),
            weight: 3,
            port: None,
        },
    ];
    inv.kubernetes = Some(KubeSide {
        controller_resources: Some(vec![ControllerResource {
            kind: "VirtualNode".into(),
            namespace: Some("ns".into()),
            name: "web-v1".into(),
            aws_name: Some("web-v1".into()),
            pod_selector: BTreeMap::from([
                ("app".into(), "web".into()),
                ("track".into(), "stable".into()),
            ]),
        }]),
        ..KubeSide::default()
    });
    let t = translate::translate(&inv, &Options::new("ns", "st"));
    let rule = t
        .objects
        .iter()
        .find(|o| o["kind"] == "DestinationRule")
        .unwrap();
    assert_eq!(
        rule["spec"]["subsets"][0]["labels"],
        json!({"app": "web", "track": "stable"})
    );
    assert_eq!(
        rule["spec"]["subsets"][1]["labels"],
        json!({"version": "v2"})
    );
    assert!(
        t.report
            .iter()
            .any(|r| r.feature == "subset labels version=v2")
    );
    assert!(
        !t.report
            .iter()
            .any(|r| r.resource == "virtual node web-v1" && r.feature.starts_with("subset labels"))
    );
    let vs = t
        .objects
        .iter()
        .find(|o| o["kind"] == "VirtualService")
        .unwrap();
    assert_eq!(vs["spec"]["http"][0]["route"][0]["weight"], 25);
    assert_eq!(vs["spec"]["http"][0]["route"][1]["weight"], 75);

    // Pure: the same inventory gives the same files.
    let inv = inv_with(route(RouteKind::Http, base), l());
    assert_eq!(
        translate::translate(&inv, &Options::new("ns", "st")).files,
        translate::translate(&inv, &Options::new("ns", "st")).files
    );
}

// ---------------------------------------------------------------------------------------
// apply / shift / rollback / remove against the Kubernetes API server fake.
// ---------------------------------------------------------------------------------------

const ISTIO_CRDS: &[(&str, &str, &str)] = &[
    ("networking.istio.io", "VirtualService", "virtualservices"),
    ("networking.istio.io", "DestinationRule", "destinationrules"),
    ("networking.istio.io", "Gateway", "gateways"),
    (
        "security.istio.io",
        "PeerAuthentication",
        "peerauthentications",
    ),
];

async fn kube_client(fake: &KubeFake, dir: &Path) -> (kube::Client, PathBuf) {
    let path = dir.join("kubeconfig");
    let kubeconfig = format!(
        "apiVersion: v1\nkind: Config\ncurrent-context: fake\n\
         clusters:\n- name: fake\n  cluster: {{server: \"{}\"}}\n\
         users:\n- name: admin\n  user: {{token: {}}}\n\
         contexts:\n- name: fake\n  context: {{cluster: fake, user: admin}}\n",
        fake.url,
        kube_fake::TOKEN
    );
    std::fs::write(&path, kubeconfig).unwrap();
    let kube = meshctl::kube::Kube::from_kubeconfig("setup", Some(&path), Some("fake"))
        .await
        .unwrap();
    (kube.client().clone(), path)
}

async fn ssa(client: &kube::Client, obj: Value) {
    let o: DynamicObject = serde_json::from_value(obj.clone()).unwrap();
    let r = meshctl::kube::ObjectRef::of(&o);
    let gvk = r.gvk();
    let (ar, caps) = kube::discovery::pinned_kind(client, &gvk).await.unwrap();
    let api: Api<DynamicObject> = match (caps.scope, &r.namespace) {
        (kube::discovery::Scope::Namespaced, Some(ns)) => {
            Api::namespaced_with(client.clone(), ns, &ar)
        }
        _ => Api::all_with(client.clone(), &ar),
    };
    api.patch(
        &r.name,
        &PatchParams::apply("test-setup").force(),
        &Patch::Apply(&obj),
    )
    .await
    .unwrap();
}

fn deployment(name: &str) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": "shop"},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": name, "image": "nginx:1.27"}]},
            },
        },
    })
}

/// The cluster: Istio CRDs, namespace `shop` with App Mesh injection, Deployments `api` and
/// `web`, and an App Mesh sidecar pod of `web`.
async fn cluster(fake: &KubeFake, dir: &Path) -> (kube::Client, PathBuf) {
    let (client, path) = kube_client(fake, dir).await;
    for (group, kind, plural) in ISTIO_CRDS {
        ssa(&client, json!({
            "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": format!("{plural}.{group}")},
            "spec": {
                "group": group, "scope": "Namespaced",
                "names": {"kind": kind, "plural": plural, "singular": kind.to_ascii_lowercase(), "listKind": format!("{kind}List")},
                "versions": [{"name": "v1", "served": true, "storage": true,
                    "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}],
            },
        })).await;
    }
    ssa(&client, json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "virtualnodes.appmesh.k8s.aws"},
        "spec": {
            "group": "appmesh.k8s.aws", "scope": "Namespaced",
            "names": {"kind": "VirtualNode", "plural": "virtualnodes", "singular": "virtualnode", "listKind": "VirtualNodeList"},
            "versions": [{"name": "v1beta2", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}],
        },
    })).await;
    ssa(&client, json!({"apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": "shop", "labels": {"appmesh.k8s.aws/sidecarInjectorWebhook": "enabled"}}})).await;
    ssa(&client, json!({"apiVersion": "appmesh.k8s.aws/v1beta2", "kind": "VirtualNode",
        "metadata": {"name": "web-v1", "namespace": "shop"},
        "spec": {"awsName": "web-v1", "podSelector": {"matchLabels": {"app": "web", "version": "v1"}}}})).await;
    ssa(&client, deployment("api")).await;
    ssa(&client, deployment("web")).await;
    ssa(&client, json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web-5d9f-abcde", "namespace": "shop"},
        "spec": {"containers": [
            {"name": "web", "image": "nginx:1.27"},
            {"name": "envoy", "image": "840364872350.dkr.ecr.us-east-1.amazonaws.com/aws-appmesh-envoy:v1.29.12.1-prod"},
        ]}})).await;
    (client, path)
}

/// Play the Deployment controller: every Deployment's status follows its spec, except those
/// for which `hold` says the new pods never become available.
fn controller(
    fake: &KubeFake,
    hold: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
) -> tokio::task::JoinHandle<()> {
    let url = fake.url.clone();
    tokio::spawn(async move {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kc");
        std::fs::write(
            &path,
            format!(
                "apiVersion: v1\nkind: Config\ncurrent-context: fake\nclusters:\n- name: fake\n  cluster: {{server: \"{url}\"}}\nusers:\n- name: admin\n  user: {{token: {}}}\ncontexts:\n- name: fake\n  context: {{cluster: fake, user: admin}}\n",
                kube_fake::TOKEN
            ),
        )
        .unwrap();
        let kube = meshctl::kube::Kube::from_kubeconfig("ctl", Some(&path), Some("fake"))
            .await
            .unwrap();
        let ar = ApiResource::erase::<k8s_openapi::api::apps::v1::Deployment>(&());
        let api: Api<DynamicObject> = Api::namespaced_with(kube.client().clone(), "shop", &ar);
        loop {
            if let Ok(list) = api.list(&ListParams::default()).await {
                for d in list.items {
                    let name = d.metadata.name.clone().unwrap_or_default();
                    let generation = d.metadata.generation.unwrap_or(1);
                    let held = hold.lock().unwrap().contains(&name)
                        && d.data["spec"]["template"]["metadata"]["labels"]["sidecar.istio.io/inject"]
                            == "true";
                    let available = if held { 1 } else { 2 };
                    let status = json!({"status": {
                        "observedGeneration": generation, "replicas": 2,
                        "updatedReplicas": 2, "availableReplicas": available,
                        "conditions": [{"type": "Available", "status": if held {"False"} else {"True"},
                            "reason": if held {"MinimumReplicasUnavailable"} else {"MinimumReplicasAvailable"}}],
                    }});
                    if d.data["status"] != status["status"] {
                        let _ = api
                            .patch_status(&name, &PatchParams::default(), &Patch::Merge(&status))
                            .await;
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
}

fn template(fake: &KubeFake, name: &str) -> Value {
    fake.object("apps", "deployments", "shop", name).unwrap()["spec"]["template"]["metadata"]
        .clone()
}

fn kube_stack(test: &str, kubeconfig: &Path) -> Stack {
    Stack::builder(test)
        .yaml(&format!(
            "kubernetes:\n  kubeconfig: \"{}\"\n  context: fake\n",
            kubeconfig.display()
        ))
        .build()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_switches_workloads_one_by_one_switches_back_a_failed_one_and_resumes() {
    let (shim, mesh) = tokio::task::spawn_blocking(|| mesh_fixture("apply"))
        .await
        .unwrap();
    let fake = KubeFake::start(kube_fake::Options::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let (_client, kubeconfig) = cluster(&fake, dir.path()).await;
    let hold = std::sync::Arc::new(std::sync::Mutex::new(vec!["web".to_string()]));
    let ctl = controller(&fake, hold.clone());
    let stack = kube_stack("apply", &kubeconfig);
    let run_b = |args: Vec<String>| {
        let stack_path = stack.path().to_path_buf();
        let _ = stack_path;
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run(&stack, &shim, &args)
    };
    let base = |extra: &[&str]| {
        let mut v: Vec<String> = [
            "migrate",
            "appmesh",
            "apply",
            "--mesh",
            &mesh,
            "--namespace",
            "shop",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };

    // Inventory sees the Kubernetes side.
    let inv = tokio::task::block_in_place(|| {
        run(
            &stack,
            &shim,
            &["migrate", "appmesh", "inventory", "--mesh", &mesh],
        )
        .expect_code(0)
        .json()
    });
    assert_eq!(inv["kubernetes"]["injected_namespaces"], json!(["shop"]));
    assert_eq!(
        inv["kubernetes"]["sidecar_pods"][0]["name"],
        "web-5d9f-abcde"
    );
    assert_eq!(inv["kubernetes"]["istio_installed"], true);
    assert_eq!(
        inv["kubernetes"]["controller_resources"],
        json!([{"kind": "VirtualNode", "namespace": "shop", "name": "web-v1", "aws_name": "web-v1",
            "pod_selector": {"app": "web", "version": "v1"}}])
    );

    // --dry-run: every change shown, none made.
    fake.clear_log();
    let plan = tokio::task::block_in_place(|| run_b(base(&["--dry-run"])))
        .expect_code(0)
        .json();
    assert!(
        fake.mutating_calls().is_empty(),
        "{:?}",
        fake.mutating_calls()
    );
    assert_eq!(plan["dry_run"], true);
    let actions: Vec<(String, String)> = plan["workloads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            (
                w["workload"].as_str().unwrap().into(),
                w["action"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        actions,
        [
            ("api".into(), "switch to istio".into()),
            ("web".into(), "switch to istio".into())
        ]
    );
    assert_eq!(
        plan["workloads"][0]["sets"],
        json!([
            "annotation appmesh.k8s.aws/sidecarInjectorWebhook=disabled",
            "label sidecar.istio.io/inject=true",
            "annotation kubectl.kubernetes.io/restartedAt=<now>"
        ])
    );
    assert!(
        plan["resources"]["objects"]
            .as_array()
            .unwrap()
            .iter()
            .all(|o| o["op"] == "create")
    );

    // Without --yes and without a terminal: refused, nothing changed.
    let r = tokio::task::block_in_place(|| run_b(base(&[])));
    r.expect_code(2);
    assert!(fake.mutating_calls().is_empty());

    // `web` never becomes ready on Istio: api migrates, web is switched back, the run stops.
    let r = tokio::task::block_in_place(|| run_b(base(&["--yes", "--timeout", "10s"])));
    r.expect_code(1);
    let err = r.json();
    assert_eq!(err["code"], "meshctl::migrate");
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("Deployment shop/web failed its rollout"),
        "{err}"
    );
    assert!(
        r.stderr.contains("[1/2] Deployment shop/api: migrated"),
        "{}",
        r.stderr
    );
    assert!(
        !stack.lock_file().exists(),
        "the stack lock is released after a failed run"
    );
    let api = template(&fake, "api");
    assert_eq!(api["labels"]["sidecar.istio.io/inject"], "true");
    assert_eq!(
        api["annotations"]["appmesh.k8s.aws/sidecarInjectorWebhook"],
        "disabled"
    );
    assert!(api["annotations"]["kubectl.kubernetes.io/restartedAt"].is_string());
    let web = template(&fake, "web");
    assert_eq!(web["labels"]["sidecar.istio.io/inject"], "false");
    assert_eq!(
        web["annotations"]["appmesh.k8s.aws/sidecarInjectorWebhook"],
        "enabled"
    );
    // The Istio resources exist, labelled and annotated.
    let vs = fake
        .object("networking.istio.io", "virtualservices", "shop", "web-shop")
        .expect("VirtualService shop/web-shop");
    assert_eq!(
        vs["metadata"]["labels"]["meshctl.io/component"],
        "appmesh-migration"
    );
    assert_eq!(
        vs["metadata"]["labels"]["meshctl.io/stack"],
        stack.name.as_str()
    );
    assert!(
        fake.object(
            "networking.istio.io",
            "destinationrules",
            "shop",
            "web-shop"
        )
        .is_some()
    );
    assert!(
        fake.object("networking.istio.io", "gateways", "shop", "ingress")
            .is_some()
    );
    assert!(
        fake.object(
            "security.istio.io",
            "peerauthentications",
            "shop",
            "default"
        )
        .is_some()
    );
    // Before any shift, the VirtualService sends everything to the Kubernetes Service.
    assert_eq!(
        vs["spec"]["http"][2]["route"],
        json!([{"destination": {"host": "web.shop.svc.cluster.local"}}])
    );
    let progress: Value = serde_json::from_slice(
        &std::fs::read(stack.state_dir().join(format!("migrate-{mesh}.json"))).unwrap(),
    )
    .unwrap();
    assert_eq!(progress["workloads"]["api"]["status"], "migrated");
    assert_eq!(progress["workloads"]["web"]["status"], "switched-back");

    // Fixed: the re-run resumes with web and leaves api alone.
    hold.lock().unwrap().clear();
    fake.clear_log();
    let r = tokio::task::block_in_place(|| run_b(base(&["--yes"])));
    let doc = r.expect_code(0).json();
    let writes: Vec<String> = fake
        .mutating_calls()
        .iter()
        .map(|c| c.path.clone())
        .collect();
    assert!(
        writes.iter().any(|p| p.ends_with("/deployments/web")),
        "{writes:?}"
    );
    assert!(
        !writes.iter().any(|p| p.ends_with("/deployments/api")),
        "{writes:?}"
    );
    assert!(
        !writes.iter().any(|p| p.contains("istio.io")),
        "resources unchanged: {writes:?}"
    );
    let outcomes: Vec<(&str, &str)> = doc["workloads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            (
                w["workload"].as_str().unwrap(),
                w["action"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        outcomes,
        [("api", "skip (migrated)"), ("web", "switch to istio")]
    );
    assert_eq!(
        template(&fake, "web")["labels"]["sidecar.istio.io/inject"],
        "true"
    );

    // shift 50: half of each route follows the translated routes, half the Kubernetes Service.
    let shift = |w: &str| {
        tokio::task::block_in_place(|| {
            run(
                &stack,
                &shim,
                &[
                    "migrate",
                    "appmesh",
                    "shift",
                    "--mesh",
                    &mesh,
                    "--namespace",
                    "shop",
                    "--weight",
                    w,
                    "--yes",
                ],
            )
        })
    };
    shift("50").expect_code(0);
    let vs = fake
        .object("networking.istio.io", "virtualservices", "shop", "web-shop")
        .unwrap();
    assert_eq!(
        vs["spec"]["http"][2]["route"],
        json!([
            {"destination": {"host": "web.shop.svc.cluster.local", "subset": "web-v1"}, "weight": 45},
            {"destination": {"host": "web.shop.svc.cluster.local", "subset": "web-v2"}, "weight": 5},
            {"destination": {"host": "web.shop.svc.cluster.local"}, "weight": 50},
        ])
    );
    shift("100").expect_code(0);
    let vs = fake
        .object("networking.istio.io", "virtualservices", "shop", "web-shop")
        .unwrap();
    assert_eq!(vs["spec"]["http"][2]["route"][0]["weight"], 90);
    assert_eq!(vs["spec"]["http"][2]["route"].as_array().unwrap().len(), 2);
    let r = shift("101");
    r.expect_code(2);

    // rollback: weight 0 and App Mesh injection back on both workloads.
    let r = tokio::task::block_in_place(|| {
        run(
            &stack,
            &shim,
            &[
                "migrate",
                "appmesh",
                "rollback",
                "--mesh",
                &mesh,
                "--namespace",
                "shop",
                "--yes",
            ],
        )
    });
    r.expect_code(0);
    for name in ["api", "web"] {
        let t = template(&fake, name);
        assert_eq!(t["labels"]["sidecar.istio.io/inject"], "false", "{name}");
        assert_eq!(
            t["annotations"]["appmesh.k8s.aws/sidecarInjectorWebhook"], "enabled",
            "{name}"
        );
    }
    let vs = fake
        .object("networking.istio.io", "virtualservices", "shop", "web-shop")
        .unwrap();
    assert_eq!(
        vs["spec"]["http"][2]["route"],
        json!([{"destination": {"host": "web.shop.svc.cluster.local"}}])
    );
    ctl.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_says_clearly_when_istio_is_missing() {
    let (shim, mesh) = tokio::task::spawn_blocking(|| mesh_fixture("no-istio"))
        .await
        .unwrap();
    let fake = KubeFake::start(kube_fake::Options::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let (_client, kubeconfig) = kube_client(&fake, dir.path()).await;
    let stack = kube_stack("no-istio", &kubeconfig);
    let r = tokio::task::block_in_place(|| {
        run(
            &stack,
            &shim,
            &[
                "migrate",
                "appmesh",
                "apply",
                "--mesh",
                &mesh,
                "--namespace",
                "shop",
                "--yes",
            ],
        )
    });
    r.expect_code(2);
    let doc = r.json();
    assert!(
        doc["message"]
            .as_str()
            .unwrap()
            .contains("Istio is not installed"),
        "{doc}"
    );
    assert!(fake.mutating_calls().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remove_refuses_while_a_sidecar_runs_then_deletes_in_dependency_order() {
    let (shim, mesh) = tokio::task::spawn_blocking(|| mesh_fixture("remove"))
        .await
        .unwrap();
    let fake = KubeFake::start(kube_fake::Options::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let (client, kubeconfig) = cluster(&fake, dir.path()).await;
    let stack = kube_stack("remove", &kubeconfig);
    let remove = |extra: &[&str]| {
        let mut args = vec!["migrate", "appmesh", "remove", "--mesh", mesh.as_str()];
        args.extend_from_slice(extra);
        tokio::task::block_in_place(|| run(&stack, &shim, &args))
    };
    let writes = shim.mutating().len();
    let r = remove(&["--yes"]);
    r.expect_code(2);
    let doc = r.json();
    assert!(
        doc["message"]
            .as_str()
            .unwrap()
            .contains("shop/web-5d9f-abcde"),
        "{doc}"
    );
    assert_eq!(shim.mutating().len(), writes, "nothing deleted");

    // The last App Mesh pod is gone.
    let pods: Api<k8s_openapi::api::core::v1::Pod> = Api::namespaced(client.clone(), "shop");
    pods.delete("web-5d9f-abcde", &Default::default())
        .await
        .unwrap();

    let plan = remove(&["--dry-run"]).expect_code(0).json();
    assert_eq!(
        plan["resources"].as_array().unwrap().len(),
        2 + 1 + 3 + 3 + 1 + 3 + 1
    );
    assert_eq!(shim.mutating().len(), writes, "a dry run deletes nothing");

    let doc = remove(&["--yes"]).expect_code(0).json();
    assert!(
        doc["resources"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["op"] == "deleted")
    );
    let deletes: Vec<String> = shim
        .mutating()
        .into_iter()
        .filter(|(m, _)| m == "DELETE")
        .map(|(_, p)| p)
        .collect();
    let first = |needle: &str| {
        deletes
            .iter()
            .position(|p| p.contains(needle))
            .unwrap_or_else(|| panic!("no delete of {needle}: {deletes:?}"))
    };
    let last = |needle: &str| deletes.iter().rposition(|p| p.contains(needle)).unwrap();
    assert!(last("/gatewayRoutes/") < first("/virtualGateways/"));
    assert!(last("/virtualGateways/") < first("/routes/"));
    assert!(last("/routes/") < first("/virtualServices/"));
    assert!(last("/virtualServices/") < first("/virtualRouters/"));
    assert!(last("/virtualRouters/") < first("/virtualNodes/"));
    assert_eq!(
        deletes.last().unwrap(),
        &format!("/v20190125/meshes/{mesh}")
    );
    let c = tokio::task::spawn_blocking({
        let url = shim.url.clone();
        move || {
            let sdk = block_on(sdk_config());
            let conf = aws_sdk_appmesh::config::Builder::from(&sdk)
                .endpoint_url(url)
                .build();
            aws_sdk_appmesh::Client::from_conf(conf)
        }
    })
    .await
    .unwrap();
    let gone = c.describe_mesh().mesh_name(&mesh).send().await;
    match gone {
        Err(e) => assert_eq!(
            aws_sdk_appmesh::error::ProvideErrorMetadata::code(&e),
            Some("NotFoundException")
        ),
        Ok(out) => assert_eq!(
            out.mesh()
                .and_then(|m| m.status())
                .and_then(|s| s.status())
                .map(|s| s.as_str()),
            Some("DELETED")
        ),
    }

    // A second remove finds nothing to delete but the (gone) mesh: exit 2 with a clear message.
    let r = remove(&["--yes"]);
    r.expect_code(2);
    let _ = BTreeMap::<String, String>::new();
}
