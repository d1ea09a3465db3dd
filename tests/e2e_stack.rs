//! The whole stack end to end through the real binary: `meshctl up --yes` of every step
//! (cluster with its VPC, nodes, amp, istio, irsa, prometheus, kiali, grafana, pagerduty)
//! against moto behind the EKS shim, the AMP scraper fake, the AMG, Grafana and
//! PagerDuty fakes, the real helm with the packaged test charts, and the Kubernetes API server
//! fake; then a second `up` that changes nothing anywhere; then `cleanup` that leaves nothing
//! carrying the stack's tag or labels. Nothing runs pods: a small controller task in the test
//! reports workloads ready, plays istiod (webhook CA bundle, ready EndpointSlice) and the load
//! balancer controller (a hostname for LoadBalancer Services).

use std::time::{Duration, Instant};

use kube::api::{
    Api, ApiResource, DynamicObject, GroupVersionKind, ListParams, Patch, PatchParams,
};
use serde_json::{Value, json};

use crate::grafana_fakes::fixtures;
use crate::helm::{packaged_charts, test_helm};
use crate::support::amg_fake::AmgFake;
use crate::support::amp_scraper_fake::ScraperFake;
use crate::support::eks_shim::EksShim;
use crate::support::grafana_fake::GrafanaFake;
use crate::support::kube_fake::{self, KubeFake, Options};
use crate::support::pagerduty_fake::PagerdutyFake;
use crate::support::{Run, STACK_TAG, Stack, moto, sdk_config, step_actions};

const REST_TOKEN: &str = "u+E2EstackRESTtoken0123456789";
/// Every step of the graph: `up` applies them all here.
const STEPS: [&str; 9] = [
    "cluster",
    "nodes",
    "amp",
    "istio",
    "irsa",
    "prometheus",
    "kiali",
    "grafana",
    "pagerduty",
];
/// The controller task never outlives this, even if the test forgets to stop it.
const CONTROLLER_LIFETIME: Duration = Duration::from_secs(600);

/// Every emulator of one test, and a stack configured to use them all.
struct Rig {
    stack: Stack,
    shim: EksShim,
    scrapers: ScraperFake,
    amg: AmgFake,
    grafana: GrafanaFake,
    pd: PagerdutyFake,
    kube: KubeFake,
    rt: tokio::runtime::Runtime,
    _charts: tempfile::TempDir,
    _kubeconfig: tempfile::TempDir,
}

impl Rig {
    fn new(test: &str) -> Rig {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime for the API server fake and the controller");
        let kube = rt.block_on(KubeFake::start(Options::default()));
        let shim = EksShim::start(&moto());
        // AMP requests reach the scraper fake, which forwards all but scrapers to the shim,
        // so the shim's call log holds every AWS call of a run.
        let scrapers = ScraperFake::start(Duration::from_millis(300), &shim.url);
        let amg = AmgFake::start(Duration::from_secs(1));
        let grafana = GrafanaFake::start(amg.state.clone());
        let pd = PagerdutyFake::start(REST_TOKEN);
        let charts = packaged_charts();
        // The kiali-server test chart, packaged into a directory of its own beside them.
        let kiali_charts = crate::kiali_fakes::packaged_charts(charts.path());
        // The kubeconfig lives outside the stack's directory: the secrets check reads every
        // file there, and the fake's static token is in this file by design.
        let kdir = tempfile::tempdir().expect("a directory for the kubeconfig");
        let kubeconfig = kdir.path().join("kubeconfig");
        kube_fake::write_kubeconfig(&kubeconfig, &kube.url);
        let yaml = format!(
            "cluster:\n  nodegroups:\n    - name: general\n      instance_types: [m5.large]\n      \
             min_size: 1\n      max_size: 2\n      desired_size: 1\n\
             kubernetes:\n  kubeconfig: \"{kubeconfig}\"\n  context: fake\n\
             istio:\n  charts: \"{charts}\"\n  namespaces: [shop]\n\
             kiali:\n  charts: \"{kiali_charts}\"\n\
             grafana:\n  url: \"{grafana}\"\n  dashboards_dir: \"{dashboards}\"\n  admin_users: [user-1]\n\
             pagerduty:\n  enabled: true\n  escalation_policy_id: PABC123\n  api_url: \"{pd}\"\n  events_url: \"{pd}\"\n",
            kubeconfig = kubeconfig.display(),
            charts = charts.path().display(),
            kiali_charts = kiali_charts.display(),
            grafana = grafana.url,
            dashboards = fixtures().display(),
            pd = pd.url,
        );
        let stack = Stack::builder(test).yaml(&yaml).build();
        Rig {
            stack,
            shim,
            scrapers,
            amg,
            grafana,
            pd,
            kube,
            rt,
            _charts: charts,
            _kubeconfig: kdir,
        }
    }

    /// `meshctl <args> --output json` with every endpoint pointed at this rig's emulators.
    fn run(&self, args: &[&str]) -> Run {
        let mut cmd = self.stack.cmd_via(&self.shim.url);
        cmd.env("AWS_ENDPOINT_URL_AMP", &self.scrapers.url)
            .env("AWS_ENDPOINT_URL_GRAFANA", &self.amg.url)
            .env("MESHCTL_HELM", test_helm())
            .env("MESHCTL_POLL_INTERVAL", "100ms")
            .env("PAGERDUTY_API_KEY", REST_TOKEN)
            .args(args)
            .args(["--output", "json"]);
        Run::from(cmd.output().expect("meshctl runs"))
    }

    fn client(&self) -> kube::Client {
        let mut config = kube::Config::new(self.kube.url.parse().expect("the fake's URL"));
        config.auth_info.token = Some(kube_fake::TOKEN.to_string().into());
        kube::Client::try_from(config).expect("a client for the fake")
    }
}

fn api(client: &kube::Client, group: &str, version: &str, kind: &str) -> Api<DynamicObject> {
    Api::all_with(
        client.clone(),
        &ApiResource::from_gvk(&GroupVersionKind::gvk(group, version, kind)),
    )
}

fn namespaced(
    client: &kube::Client,
    ns: &str,
    group: &str,
    version: &str,
    kind: &str,
) -> Api<DynamicObject> {
    Api::namespaced_with(
        client.clone(),
        ns,
        &ApiResource::from_gvk(&GroupVersionKind::gvk(group, version, kind)),
    )
}

/// Play the cluster's controllers until aborted (or [`CONTROLLER_LIFETIME`] has passed):
/// Deployments and DaemonSets report their current generation rolled out and available,
/// LoadBalancer Services get a hostname, istiod's Service a ready EndpointSlice, and webhook
/// configurations the CA bundle istiod writes. It writes only what is missing, so on a
/// complete stack it makes no call but reads.
fn play_controllers(client: kube::Client) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let started = Instant::now();
        while started.elapsed() < CONTROLLER_LIFETIME {
            reconcile(&client).await;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
}

async fn reconcile(client: &kube::Client) {
    let params = PatchParams::default();
    for kind in ["Deployment", "DaemonSet"] {
        let Ok(list) = api(client, "apps", "v1", kind)
            .list(&ListParams::default())
            .await
        else {
            continue;
        };
        for o in list.items {
            let generation = o.metadata.generation.unwrap_or(1);
            if o.data["status"]["observedGeneration"].as_i64() == Some(generation) {
                continue;
            }
            let (ns, name) = (
                o.metadata.namespace.clone().unwrap_or_default(),
                o.metadata.name.clone().unwrap_or_default(),
            );
            let want = o.data["spec"]["replicas"].as_i64().unwrap_or(1);
            let status = if kind == "Deployment" {
                json!({"status": {"observedGeneration": generation, "replicas": want,
                    "updatedReplicas": want, "readyReplicas": want, "availableReplicas": want,
                    "conditions": [{"type": "Available", "status": "True",
                                    "reason": "MinimumReplicasAvailable"}]}})
            } else {
                json!({"status": {"observedGeneration": generation,
                    "desiredNumberScheduled": 1, "currentNumberScheduled": 1,
                    "updatedNumberScheduled": 1, "numberReady": 1, "numberAvailable": 1}})
            };
            let _ = namespaced(client, &ns, "apps", "v1", kind)
                .patch_status(&name, &params, &Patch::Merge(&status))
                .await;
        }
    }
    if let Ok(list) = api(client, "", "v1", "Service")
        .list(&ListParams::default())
        .await
    {
        for s in list.items {
            let (ns, name) = (
                s.metadata.namespace.clone().unwrap_or_default(),
                s.metadata.name.clone().unwrap_or_default(),
            );
            let services = namespaced(client, &ns, "", "v1", "Service");
            if s.data["spec"]["type"] == "LoadBalancer"
                && s.data["status"]["loadBalancer"]["ingress"].is_null()
            {
                let hostname = format!("k8s-{ns}-{name}-0a1b2c.elb.us-east-1.amazonaws.com");
                let status =
                    json!({"status": {"loadBalancer": {"ingress": [{"hostname": hostname}]}}});
                let _ = services
                    .patch_status(&name, &params, &Patch::Merge(&status))
                    .await;
            }
            if name == "istiod" {
                let slices = namespaced(client, &ns, "discovery.k8s.io", "v1", "EndpointSlice");
                if let Ok(None) = slices.get_opt("istiod-e2e01").await {
                    let slice = json!({
                        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                        "metadata": {"name": "istiod-e2e01", "namespace": ns,
                                     "labels": {"kubernetes.io/service-name": "istiod"}},
                        "addressType": "IPv4",
                        "endpoints": [{"addresses": ["10.0.1.17"], "conditions": {"ready": true}}],
                        "ports": [{"name": "https-webhook", "port": 15017, "protocol": "TCP"}],
                    });
                    let _ = slices
                        .patch(
                            "istiod-e2e01",
                            &PatchParams::apply("endpointslice-controller"),
                            &Patch::Apply(&slice),
                        )
                        .await;
                }
            }
        }
    }
    for kind in [
        "MutatingWebhookConfiguration",
        "ValidatingWebhookConfiguration",
    ] {
        let hooks = api(client, "admissionregistration.k8s.io", "v1", kind);
        let Ok(list) = hooks.list(&ListParams::default()).await else {
            continue;
        };
        for h in list.items {
            let mut webhooks = h.data["webhooks"].clone();
            let mut changed = false;
            if let Some(list) = webhooks.as_array_mut() {
                for w in list {
                    if w["clientConfig"]["caBundle"]
                        .as_str()
                        .unwrap_or("")
                        .is_empty()
                    {
                        w["clientConfig"]["caBundle"] = json!("ZTJlLXRlc3QtY2E=");
                        changed = true;
                    }
                }
            }
            if changed {
                let name = h.metadata.name.clone().unwrap_or_default();
                let _ = hooks
                    .patch(
                        &name,
                        &params,
                        &Patch::Merge(&json!({"webhooks": webhooks})),
                    )
                    .await;
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// What exists, looked up independently of meshctl.
// ---------------------------------------------------------------------------------------

fn tag_filter(stack: &str) -> aws_sdk_ec2::types::Filter {
    aws_sdk_ec2::types::Filter::builder()
        .name(format!("tag:{STACK_TAG}"))
        .values(stack)
        .build()
}

/// Every AWS resource carrying `meshctl.io/stack=<stack>` (live ones: NAT gateways being
/// deleted and workspaces in DELETING do not count), as `kind id`. `cluster_sg` is the cluster
/// security group EKS made, where meshctl adds (tagged) rules.
async fn aws_inventory(rig: &Rig, cluster_sg: &str) -> Vec<String> {
    let stack = rig.stack.name.as_str();
    let conf = sdk_config().await;
    let ec2 = aws_sdk_ec2::Client::new(&conf);
    let mut out = vec![];
    let vpcs = ec2
        .describe_vpcs()
        .filters(tag_filter(stack))
        .send()
        .await
        .expect("DescribeVpcs");
    out.extend(
        vpcs.vpcs()
            .iter()
            .map(|v| format!("vpc {}", v.vpc_id().unwrap_or_default())),
    );
    let subnets = ec2
        .describe_subnets()
        .filters(tag_filter(stack))
        .send()
        .await
        .expect("DescribeSubnets");
    out.extend(
        subnets
            .subnets()
            .iter()
            .map(|s| format!("subnet {}", s.subnet_id().unwrap_or_default())),
    );
    let nats = ec2
        .describe_nat_gateways()
        .filter(tag_filter(stack))
        .send()
        .await
        .expect("DescribeNatGateways");
    out.extend(
        nats.nat_gateways()
            .iter()
            .filter(|n| {
                !matches!(
                    n.state().map(|s| s.as_str()),
                    Some("deleted") | Some("deleting")
                )
            })
            .map(|n| format!("nat-gateway {}", n.nat_gateway_id().unwrap_or_default())),
    );
    let eips = ec2
        .describe_addresses()
        .filters(tag_filter(stack))
        .send()
        .await
        .expect("DescribeAddresses");
    out.extend(
        eips.addresses()
            .iter()
            .map(|a| format!("elastic-ip {}", a.allocation_id().unwrap_or_default())),
    );
    let rts = ec2
        .describe_route_tables()
        .filters(tag_filter(stack))
        .send()
        .await
        .expect("DescribeRouteTables");
    out.extend(
        rts.route_tables()
            .iter()
            .map(|r| format!("route-table {}", r.route_table_id().unwrap_or_default())),
    );
    let igws = ec2
        .describe_internet_gateways()
        .filters(tag_filter(stack))
        .send()
        .await
        .expect("DescribeInternetGateways");
    out.extend(igws.internet_gateways().iter().map(|g| {
        format!(
            "internet-gateway {}",
            g.internet_gateway_id().unwrap_or_default()
        )
    }));
    let sgs = ec2
        .describe_security_groups()
        .filters(tag_filter(stack))
        .send()
        .await
        .expect("DescribeSecurityGroups");
    out.extend(
        sgs.security_groups()
            .iter()
            .map(|g| format!("security-group {}", g.group_id().unwrap_or_default())),
    );

    // Security-group rules meshctl added (Istio's ports on the cluster security group).
    {
        let rules = ec2
            .describe_security_group_rules()
            .filters(
                aws_sdk_ec2::types::Filter::builder()
                    .name("group-id")
                    .values(cluster_sg)
                    .build(),
            )
            .send()
            .await
            .expect("DescribeSecurityGroupRules");
        out.extend(
            rules
                .security_group_rules()
                .iter()
                .filter(|r| {
                    r.tags()
                        .iter()
                        .any(|t| t.key() == Some(STACK_TAG) && t.value() == Some(stack))
                })
                .map(|r| {
                    format!(
                        "security-group-rule {}",
                        r.security_group_rule_id().unwrap_or_default()
                    )
                }),
        );
    }

    let iam = aws_sdk_iam::Client::new(&conf);
    let mut roles = iam.list_roles().into_paginator().items().send();
    let mut names = vec![];
    while let Some(r) = roles.next().await {
        names.push(r.expect("ListRoles").role_name().to_string());
    }
    for name in names {
        let tags = iam
            .list_role_tags()
            .role_name(&name)
            .send()
            .await
            .expect("ListRoleTags");
        if tags
            .tags()
            .iter()
            .any(|t| t.key() == STACK_TAG && t.value() == stack)
        {
            out.push(format!("iam-role {name}"));
        }
    }
    let providers = iam
        .list_open_id_connect_providers()
        .send()
        .await
        .expect("ListOpenIDConnectProviders");
    for p in providers.open_id_connect_provider_list() {
        let arn = p.arn().unwrap_or_default();
        let tags = iam
            .list_open_id_connect_provider_tags()
            .open_id_connect_provider_arn(arn)
            .send()
            .await
            .expect("ListOpenIDConnectProviderTags");
        if tags
            .tags()
            .iter()
            .any(|t| t.key() == STACK_TAG && t.value() == stack)
        {
            out.push(format!("iam-oidc-provider {arn}"));
        }
    }

    // EKS through the shim (it holds what moto's EKS lacks).
    let eks_conf = conf.into_builder().endpoint_url(&rig.shim.url).build();
    let eks = aws_sdk_eks::Client::new(&eks_conf);
    let clusters = eks.list_clusters().send().await.expect("ListClusters");
    for name in clusters.clusters() {
        let Ok(c) = eks.describe_cluster().name(name).send().await else {
            continue;
        };
        let tagged = c
            .cluster()
            .and_then(|c| c.tags())
            .and_then(|t| t.get(STACK_TAG))
            .is_some_and(|v| v == stack);
        if tagged {
            out.push(format!("eks-cluster {name}"));
        }
        if let Ok(ngs) = eks.list_nodegroups().cluster_name(name).send().await {
            for ng in ngs.nodegroups() {
                let d = eks
                    .describe_nodegroup()
                    .cluster_name(name)
                    .nodegroup_name(ng)
                    .send()
                    .await
                    .expect("DescribeNodegroup");
                if d.nodegroup()
                    .and_then(|n| n.tags())
                    .and_then(|t| t.get(STACK_TAG))
                    .is_some_and(|v| v == stack)
                {
                    out.push(format!("eks-nodegroup {name}/{ng}"));
                }
            }
        }
    }

    for w in crate::support::live_tagged_workspaces(stack).await {
        out.push(format!("amp-workspace {}", w.id));
    }
    for w in rig.amg.workspaces() {
        if w.tags.get(STACK_TAG).is_some_and(|v| v == stack) {
            out.push(format!("grafana-workspace {}", w.id));
        }
    }
    for id in rig.scrapers.scraper_ids() {
        if rig
            .scrapers
            .tags(&id)
            .get(STACK_TAG)
            .is_some_and(|v| v == stack)
        {
            out.push(format!("amp-scraper {id}"));
        }
    }
    out.sort();
    out
}

/// Every Kubernetes object carrying the stack's label, and every webhook configuration.
fn kube_inventory(rig: &Rig) -> Vec<String> {
    let mut out: Vec<String> = rig
        .kube
        .all_objects()
        .into_iter()
        .filter(|o| {
            o["metadata"]["labels"][STACK_TAG] == rig.stack.name.as_str()
                || o["kind"]
                    .as_str()
                    .is_some_and(|k| k.ends_with("WebhookConfiguration"))
        })
        .map(|o| {
            format!(
                "{} {}/{}",
                o["kind"].as_str().unwrap_or_default(),
                o["metadata"]["namespace"].as_str().unwrap_or_default(),
                o["metadata"]["name"].as_str().unwrap_or_default()
            )
        })
        .collect();
    out.sort();
    out
}

/// Everything in the Grafana fake and the PagerDuty fake (the test's own, so all of it is
/// meshctl's), plus the policy-tree routes meshctl added.
fn grafana_and_pagerduty_inventory(rig: &Rig) -> Vec<String> {
    let g = rig.grafana.snapshot();
    let mut out = vec![];
    out.extend(
        g.datasources
            .iter()
            .map(|d| format!("datasource {}", d["uid"])),
    );
    out.extend(g.folders.keys().map(|k| format!("folder {k}")));
    out.extend(g.dashboards.keys().map(|k| format!("dashboard {k}")));
    out.extend(
        g.contact_points
            .iter()
            .map(|c| format!("contact-point {}", c["name"])),
    );
    out.extend(
        g.rule_groups
            .keys()
            .map(|(f, n)| format!("rule-group {f}/{n}")),
    );
    if let Some(routes) = g.policies["routes"].as_array() {
        out.extend(routes.iter().map(|r| format!("route {}", r["receiver"])));
    }
    out.extend(
        rig.pd
            .snapshot()
            .services
            .iter()
            .map(|s| format!("pagerduty-service {}", s["id"])),
    );
    out
}

/// The status of `step` in a run report.
fn step_status(doc: &Value, step: &str) -> String {
    doc["steps"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["step"] == step))
        .map(|s| s["status"].as_str().unwrap_or_default().to_string())
        .unwrap_or_else(|| panic!("no {step} step in {doc:#}"))
}

/// Every file under `dir` that reads as text, as `(path, text)`.
fn text_files(dir: &std::path::Path) -> Vec<(String, String)> {
    let mut out = vec![];
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).expect("read a directory").flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
            } else if let Ok(text) = std::fs::read_to_string(&p) {
                out.push((p.display().to_string(), text));
            }
        }
    }
    out
}

#[test]
fn up_of_the_whole_stack_then_a_no_op_up_then_cleanup_leaves_nothing() {
    let rig = Rig::new("e2e-stack");
    let controller = {
        let _guard = rig.rt.enter();
        play_controllers(rig.client())
    };
    let mut runs: Vec<(String, Run)> = vec![];

    // --- the first `up`: every step succeeds ------------------------------------------
    let first = rig.run(&["up", "--yes", "-vv"]);
    first.expect_code(0);
    let doc = first.json();
    assert_eq!(doc["status"], "succeeded", "{doc:#}");
    for step in STEPS {
        assert_eq!(step_status(&doc, step), "succeeded", "{step}: {doc:#}");
    }
    runs.push(("up".into(), first));

    let cluster_sg = doc["steps"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["step"] == "cluster"))
        .and_then(|s| s["outputs"]["cluster_security_group_id"].as_str())
        .unwrap_or_else(|| panic!("no cluster security group in {doc:#}"))
        .to_string();
    let created = rig.rt.block_on(aws_inventory(&rig, &cluster_sg));
    for kind in [
        "vpc ",
        "subnet ",
        "nat-gateway ",
        "elastic-ip ",
        "route-table ",
        "internet-gateway ",
        "security-group-rule ",
        "iam-role ",
        "iam-oidc-provider ",
        "eks-cluster ",
        "eks-nodegroup ",
        "amp-workspace ",
        "grafana-workspace ",
    ] {
        assert!(
            created.iter().any(|r| r.starts_with(kind)),
            "no {kind}after up: {created:#?}"
        );
    }
    let objects = kube_inventory(&rig);
    for what in [
        "Deployment istio-system/istiod",
        "Deployment prometheus/prometheus",
        "MutatingWebhookConfiguration /istio-sidecar-injector",
    ] {
        assert!(
            objects.iter().any(|o| o == what),
            "no {what} after up: {objects:#?}"
        );
    }
    let items = grafana_and_pagerduty_inventory(&rig);
    for kind in [
        "datasource ",
        "dashboard ",
        "contact-point ",
        "rule-group ",
        "pagerduty-service ",
    ] {
        assert!(
            items.iter().any(|i| i.starts_with(kind)),
            "no {kind}after up: {items:#?}"
        );
    }

    let workspaces = rig.amg.workspaces();
    assert_eq!(workspaces.len(), 1, "one Grafana workspace, meshctl's");
    let workspace = workspaces[0].id.clone();

    // --- a second `up` changes nothing, at any emulator --------------------------------
    // Let the controller task finish what the first run left it (e.g. the gateway's
    // hostname), so the log below holds only the second run's calls. Bounded.
    let mut writes = rig.kube.mutating_calls().len();
    for _ in 0..40 {
        std::thread::sleep(Duration::from_millis(250));
        let now = rig.kube.mutating_calls().len();
        if now == writes {
            break;
        }
        writes = now;
    }
    rig.shim.reset_calls();
    rig.kube.clear_log();
    let scraper_calls = rig.scrapers.requests().len();
    let amg_calls = rig.amg.state.lock().unwrap().calls.len();
    let grafana_before = format!("{:?}", rig.grafana.snapshot());
    let pd_before = format!("{:?}", rig.pd.snapshot());

    let plan = rig.run(&["up", "--dry-run"]);
    plan.expect_code(0);
    let plan_doc = plan.json();
    for op in ["create", "update", "delete", "conflict"] {
        assert_eq!(
            plan_doc["summary"][op], 0,
            "the plan on a complete stack shows a change: {plan_doc:#}"
        );
    }
    runs.push(("up --dry-run".into(), plan));

    let second = rig.run(&["up", "--yes", "-vv"]);
    second.expect_code(0);
    let doc = second.json();
    for step in STEPS {
        assert_eq!(step_status(&doc, step), "succeeded", "{step}: {doc:#}");
        for (op, kind, name) in step_actions(&doc, step) {
            assert_eq!(op, "keep", "second up, {step}: {op} {kind} {name}");
        }
    }
    let istio = doc["steps"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["step"] == "istio"))
        .expect("the istio step");
    assert_eq!(istio["outputs"]["mode"], "sidecar", "{istio:#}");
    assert!(
        istio["outputs"]["ingress_hostname"]
            .as_str()
            .is_some_and(|h| h.ends_with(".elb.us-east-1.amazonaws.com")),
        "the gateway's load balancer hostname: {istio:#}"
    );
    runs.push(("second up".into(), second));

    let aws_writes = rig.shim.mutating_calls();
    assert!(
        aws_writes.is_empty(),
        "second up wrote to AWS: {aws_writes:?}"
    );
    let scraper_writes: Vec<(String, String)> = rig.scrapers.requests()[scraper_calls..]
        .iter()
        .filter(|(method, _)| method != "GET")
        .cloned()
        .collect();
    assert!(
        scraper_writes.is_empty(),
        "second up wrote to AMP scrapers: {scraper_writes:?}"
    );
    let kube_writes: Vec<String> = rig
        .kube
        .mutating_calls()
        .into_iter()
        .map(|c| format!("{} {} ({:?})", c.method, c.path, c.field_manager))
        .collect();
    assert!(
        kube_writes.is_empty(),
        "second up wrote to Kubernetes: {kube_writes:?}"
    );
    // The Grafana API is reached with a short-lived service-account token made and deleted
    // again: that (and nothing else) is how meshctl reads Grafana at all.
    let amg_writes: Vec<String> = rig.amg.state.lock().unwrap().calls[amg_calls..]
        .iter()
        .filter(|c| !c.starts_with("GET "))
        .filter(|c| !c.contains("serviceaccounts"))
        .cloned()
        .collect();
    assert!(
        amg_writes.is_empty(),
        "second up wrote to AMG: {amg_writes:?}"
    );
    assert_eq!(
        format!("{:?}", rig.grafana.snapshot()),
        grafana_before,
        "second up changed something in Grafana"
    );
    assert_eq!(
        format!("{:?}", rig.pd.snapshot()),
        pd_before,
        "second up changed something in PagerDuty"
    );
    assert!(
        rig.amg.state.lock().unwrap().live_tokens().is_empty(),
        "a Grafana token was left alive"
    );

    // --- status: every step present ------------------------------------------------------
    let status = rig.run(&["status", "-vv"]);
    status.expect_code(0);
    let status_doc = status.json();
    for step in STEPS {
        let s = status_doc["steps"]
            .as_array()
            .and_then(|s| s.iter().find(|s| s["step"] == step))
            .unwrap_or_else(|| panic!("no {step} in {status_doc:#}"));
        assert_eq!(s["state"], "present", "{step}: {s:#}");
    }
    runs.push(("status".into(), status));

    // --- cleanup leaves nothing ----------------------------------------------------------
    let cleanup = rig.run(&["cleanup", "--yes", "-vv"]);
    cleanup.expect_code(0);
    runs.push(("cleanup".into(), cleanup));

    let left = rig.rt.block_on(aws_inventory(&rig, &cluster_sg));
    assert!(
        left.is_empty(),
        "AWS resources left after cleanup: {left:#?}"
    );
    let left = kube_inventory(&rig);
    assert!(
        left.is_empty(),
        "Kubernetes objects left after cleanup: {left:#?}"
    );
    // The Grafana fake is the Grafana of the one workspace meshctl created: deleting that
    // workspace (AMG) deletes its data source, folder and dashboards with it, as AMG does.
    // What pagerduty put in it is removed explicitly first, and checked here by itself.
    let workspaces: Vec<String> = rig.amg.workspaces().into_iter().map(|w| w.id).collect();
    assert!(
        !workspaces.contains(&workspace),
        "the Grafana workspace {workspace} is still there: {workspaces:?}"
    );
    let left: Vec<String> = grafana_and_pagerduty_inventory(&rig)
        .into_iter()
        .filter(|i| {
            !(i.starts_with("datasource ")
                || i.starts_with("folder ")
                || i.starts_with("dashboard "))
        })
        .collect();
    assert!(
        left.is_empty(),
        "PagerDuty items left in Grafana or PagerDuty after cleanup: {left:#?}"
    );
    assert!(rig.amg.state.lock().unwrap().live_tokens().is_empty());

    // --- no secret in any output, log, state file or ledger -----------------------------
    let mut secrets = rig.amg.state.lock().unwrap().all_token_keys();
    assert!(!secrets.is_empty(), "Grafana tokens were minted");
    let keys = rig.pd.snapshot().minted;
    assert!(!keys.is_empty(), "a PagerDuty integration key was made");
    secrets.extend(keys);
    secrets.push(REST_TOKEN.to_string());
    secrets.push(kube_fake::TOKEN.to_string());
    let mut written: Vec<(String, String)> = runs
        .iter()
        .map(|(what, r)| {
            (
                format!("{what} output"),
                format!("{}\n{}", r.stdout, r.stderr),
            )
        })
        .collect();
    written.extend(text_files(rig.stack.path()));
    assert!(
        written.iter().any(|(p, _)| p.ends_with("ledger.json")),
        "the ledger was read: {:?}",
        written.iter().map(|(p, _)| p).collect::<Vec<_>>()
    );
    assert!(
        written.iter().any(|(p, _)| p.ends_with("state.json")),
        "the state was read"
    );
    for (where_, text) in &written {
        for s in &secrets {
            assert!(!text.contains(s.as_str()), "a secret appears in {where_}");
        }
    }
    controller.abort();
    let _ = rig.rt.block_on(controller);
}
