//! The whole stack's test rig: every emulator meshctl talks to, each behind its own fault
//! proxy (tests/support/fault_proxy.rs), and a stack configured to use them all.
//!
//! ```text
//! meshctl ─ aws proxy ──── EKS shim ─────────────── moto (EC2, IAM, STS, EKS, AMP, S3)
//!         ─ amp proxy ──── AMP scraper fake ─ EKS shim
//!         ─ amg proxy ──── AMG fake
//!         ─ grafana proxy ─ Grafana HTTP API fake (the AMG workspace's Grafana)
//!         ─ pd proxy ───── PagerDuty fake
//!         ─ kube proxy ─── Kubernetes API server fake
//! ```
//!
//! Helm is the real binary with the packaged test charts. Nothing runs pods: the test plays
//! the cluster's controllers with [`play_controllers`] (workloads ready, istiod's CA bundle
//! and endpoints, load balancer hostnames). The inventories look up, independently of
//! meshctl, everything that carries the stack's tag or labels.

use std::process::Stdio;
use std::time::{Duration, Instant};

use kube::api::{
    Api, ApiResource, DynamicObject, GroupVersionKind, ListParams, Patch, PatchParams,
};
use serde_json::json;

use super::amg_fake::AmgFake;
use super::amp_scraper_fake::ScraperFake;
use super::charts::{dashboards, packaged_charts, packaged_kiali_charts, test_helm};
use super::eks_shim::EksShim;
use super::fault_proxy::{FaultProxy, Naming};
use super::grafana_fake::GrafanaFake;
use super::kube_fake::{self, KubeFake, Options};
use super::pagerduty_fake::PagerdutyFake;
use super::{RUN_GUARD, Run, STACK_TAG, Stack, moto, sdk_config};

/// The PagerDuty REST API token the rig's PagerDuty fake accepts.
pub const REST_TOKEN: &str = "u+E2EstackRESTtoken0123456789";

/// Every step of the graph, in the order `meshctl up` reports them.
pub const STEPS: [&str; 9] = [
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

/// How the rig's emulators behave.
pub struct RigOptions {
    /// How long a new AMG workspace stays CREATING.
    pub amg_ready_after: Duration,
    /// How long a new AMP scraper stays CREATING.
    pub scraper_ready_after: Duration,
    /// Where the stack keeps its state (default: a local directory of its own).
    pub state: Option<String>,
}

impl Default for RigOptions {
    fn default() -> Self {
        RigOptions {
            amg_ready_after: Duration::from_secs(1),
            scraper_ready_after: Duration::from_millis(300),
            state: None,
        }
    }
}

/// The fault proxies in front of each emulator.
pub struct Proxies {
    pub aws: FaultProxy,
    pub amp: FaultProxy,
    pub amg: FaultProxy,
    pub grafana: FaultProxy,
    pub pd: FaultProxy,
    pub kube: FaultProxy,
}

impl Proxies {
    /// Every proxy with its name, in a fixed order.
    pub fn all(&self) -> [(&'static str, &FaultProxy); 6] {
        [
            ("aws", &self.aws),
            ("amp", &self.amp),
            ("amg", &self.amg),
            ("grafana", &self.grafana),
            ("pagerduty", &self.pd),
            ("kube", &self.kube),
        ]
    }

    /// The proxy called `name` (see [`Proxies::all`]).
    pub fn by_name(&self, name: &str) -> &FaultProxy {
        self.all()
            .into_iter()
            .find(|(n, _)| *n == name)
            .map(|(_, p)| p)
            .unwrap_or_else(|| panic!("no proxy called {name}"))
    }

    /// Forwarded calls that change something, as `proxy op`.
    pub fn mutating_calls(&self) -> Vec<String> {
        self.all()
            .iter()
            .flat_map(|(n, p)| {
                p.mutating_calls()
                    .into_iter()
                    .map(move |op| format!("{n} {op}"))
            })
            .collect()
    }

    pub fn reset_logs(&self) {
        for (_, p) in self.all() {
            p.reset_log();
        }
    }

    pub fn clear_rules(&self) {
        for (_, p) in self.all() {
            p.clear_rules();
        }
    }

    pub fn faulted(&self) -> usize {
        self.all().iter().map(|(_, p)| p.faulted()).sum()
    }
}

/// Every emulator of one test, and a stack configured to use them all.
pub struct Rig {
    pub stack: Stack,
    pub shim: EksShim,
    pub scrapers: ScraperFake,
    pub amg: AmgFake,
    pub grafana: GrafanaFake,
    pub pd: PagerdutyFake,
    pub kube: KubeFake,
    pub proxies: Proxies,
    pub rt: tokio::runtime::Runtime,
    _charts: tempfile::TempDir,
    _kubeconfig: tempfile::TempDir,
}

impl Rig {
    pub fn new(test: &str) -> Rig {
        Rig::with(test, RigOptions::default())
    }

    pub fn with(test: &str, options: RigOptions) -> Rig {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime for the API server fake and the controller");
        let kube = rt.block_on(KubeFake::start(Options::default()));
        let shim = EksShim::start(&moto());
        // AMP requests reach the scraper fake, which forwards all but scrapers to the shim,
        // so the shim's call log holds every AWS call of a run.
        let scrapers = ScraperFake::start(options.scraper_ready_after, &shim.url);
        let amg = AmgFake::start(options.amg_ready_after);
        let grafana = GrafanaFake::start(amg.state.clone());
        let pd = PagerdutyFake::start(REST_TOKEN);
        let proxies = Proxies {
            aws: FaultProxy::start(&shim.url),
            amp: FaultProxy::start(&scrapers.url),
            amg: FaultProxy::start(&amg.url),
            grafana: FaultProxy::start_named(&grafana.url, Naming::Grafana),
            pd: FaultProxy::start(&pd.url),
            kube: FaultProxy::start_named(&kube.url, Naming::Kubernetes),
        };
        let charts = packaged_charts();
        // The kiali-server test chart, packaged into a directory of its own beside them.
        let kiali_charts = packaged_kiali_charts(charts.path());
        // The kubeconfig lives outside the stack's directory: the secrets check reads every
        // file there, and the fake's static token is in this file by design.
        let kdir = tempfile::tempdir().expect("a directory for the kubeconfig");
        let kubeconfig = kdir.path().join("kubeconfig");
        kube_fake::write_kubeconfig(&kubeconfig, &proxies.kube.url);
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
            grafana = proxies.grafana.url,
            dashboards = dashboards().display(),
            pd = proxies.pd.url,
        );
        let mut builder = Stack::builder(test).yaml(&yaml);
        if let Some(state) = options.state {
            builder = builder.state(state);
        }
        let stack = builder.build();
        Rig {
            stack,
            shim,
            scrapers,
            amg,
            grafana,
            pd,
            kube,
            proxies,
            rt,
            _charts: charts,
            _kubeconfig: kdir,
        }
    }

    /// `meshctl <args> --output json` as a std command, every endpoint pointed at this rig's
    /// proxies.
    pub fn command(&self, args: &[&str]) -> std::process::Command {
        let mut cmd = self.stack.std_command(&self.proxies.aws.url);
        cmd.env("AWS_ENDPOINT_URL_AMP", &self.proxies.amp.url)
            .env("AWS_ENDPOINT_URL_GRAFANA", &self.proxies.amg.url)
            .env("MESHCTL_HELM", test_helm())
            .env("MESHCTL_POLL_INTERVAL", "100ms")
            .env("PAGERDUTY_API_KEY", REST_TOKEN)
            .args(args)
            .args(["--output", "json"]);
        cmd
    }

    /// Run `meshctl <args> --output json` to the end (with the suite's hang guard).
    pub fn run(&self, args: &[&str]) -> Run {
        let mut cmd = assert_cmd::Command::from_std(self.command(args));
        cmd.timeout(RUN_GUARD);
        Run::from(cmd.output().expect("meshctl runs"))
    }

    /// Start `meshctl <args> --output json` and return at once.
    pub fn spawn(&self, args: &[&str]) -> std::process::Child {
        self.command(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("meshctl starts")
    }

    /// A client of the API server fake itself (not through the proxy).
    pub fn client(&self) -> kube::Client {
        // The client spawns its buffer task on the rig's runtime.
        let _guard = self.rt.enter();
        let mut config = kube::Config::new(self.kube.url.parse().expect("the fake's URL"));
        config.auth_info.token = Some(kube_fake::TOKEN.to_string().into());
        kube::Client::try_from(config).expect("a client for the fake")
    }

    /// Start playing the cluster's controllers (see [`play_controllers`]) on the rig's runtime.
    pub fn start_controllers(&self) -> Controllers {
        let client = self.client();
        let _guard = self.rt.enter();
        Controllers(Some(play_controllers(client)))
    }

    /// Wait (bounded) until the controllers have finished what the last run left them, so
    /// a later call log holds only the next run's calls.
    pub fn settle(&self) {
        let mut writes = self.kube.mutating_calls().len();
        for _ in 0..40 {
            std::thread::sleep(Duration::from_millis(250));
            let now = self.kube.mutating_calls().len();
            if now == writes {
                break;
            }
            writes = now;
        }
    }

    /// Everything meshctl owns in this rig, by kind: AWS resources with the stack's tag,
    /// Kubernetes objects with its labels (and webhook configurations), and what is in the
    /// Grafana and PagerDuty fakes.
    pub fn owned(&self) -> Vec<String> {
        let mut out = self.rt.block_on(aws_inventory(self));
        out.extend(kube_inventory(self));
        out.extend(grafana_and_pagerduty_inventory(self));
        out
    }
}

impl Rig {
    /// What is left after `cleanup`: [`Rig::owned`], except the data source, folders and
    /// dashboards inside a Grafana workspace that is gone (deleting an AMG workspace deletes
    /// its Grafana with it; the Grafana fake outlives it).
    pub fn left_after_cleanup(&self) -> Vec<String> {
        let workspace_gone = !self
            .amg
            .workspaces()
            .iter()
            .any(|w| w.tags.get(STACK_TAG).is_some_and(|v| *v == self.stack.name));
        self.owned()
            .into_iter()
            .filter(|i| {
                !(workspace_gone
                    && (i.starts_with("datasource ")
                        || i.starts_with("folder ")
                        || i.starts_with("dashboard ")))
            })
            .collect()
    }
}

/// The controller task of [`Rig::start_controllers`]; stopped when dropped.
pub struct Controllers(Option<tokio::task::JoinHandle<()>>);

impl Drop for Controllers {
    fn drop(&mut self) {
        if let Some(task) = self.0.take() {
            task.abort();
        }
    }
}

// ---------------------------------------------------------------------------------------
// The controllers.
// ---------------------------------------------------------------------------------------

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
pub fn play_controllers(client: kube::Client) -> tokio::task::JoinHandle<()> {
    play_controllers_gated(client, None)
}

/// Whether the controllers may report a workload (`kind`, namespace, name) ready yet; the
/// latency emulator (tests/support/latency.rs) holds workloads back with one.
pub type Gate = std::sync::Arc<dyn Fn(&str, &str, &str) -> bool + Send + Sync>;

/// [`play_controllers`], reporting a Deployment or DaemonSet ready only once `gate` allows it
/// (and istiod's endpoints only once istiod is ready). `None` is [`play_controllers`].
pub fn play_controllers_gated(
    client: kube::Client,
    gate: Option<Gate>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let started = Instant::now();
        while started.elapsed() < CONTROLLER_LIFETIME {
            reconcile(&client, gate.as_ref()).await;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
}

impl From<tokio::task::JoinHandle<()>> for Controllers {
    fn from(task: tokio::task::JoinHandle<()>) -> Controllers {
        Controllers(Some(task))
    }
}

async fn reconcile(client: &kube::Client, gate: Option<&Gate>) {
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
            if gate.is_some_and(|g| !g(kind, &ns, &name)) {
                continue;
            }
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
            // With a gate, istiod's endpoints are ready when istiod is.
            if name == "istiod" && gate.is_none_or(|g| g("Deployment", &ns, &name)) {
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

/// Every AWS resource of the rig's stack carrying `meshctl.io/stack=<stack>`, as `kind id`:
/// [`tagged_aws`], live AMP workspaces, AMG workspaces and AMP scrapers.
pub async fn aws_inventory(rig: &Rig) -> Vec<String> {
    let stack = rig.stack.name.as_str();
    let mut out = tagged_aws(stack, &rig.shim.url).await;
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

/// Every EC2, IAM and EKS resource carrying `meshctl.io/stack=<stack>` (live ones: NAT gateways
/// being deleted do not count), as `kind id`; EKS is asked at `eks_endpoint` (the EKS shim,
/// which holds what moto's EKS lacks). Security-group rules count by their own tag (meshctl
/// adds tagged rules to the cluster security group EKS made).
pub async fn tagged_aws(stack: &str, eks_endpoint: &str) -> Vec<String> {
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
            // moto does not filter NAT gateways by tag: check the tag here.
            .filter(|n| {
                n.tags()
                    .iter()
                    .any(|t| t.key() == Some(STACK_TAG) && t.value() == Some(stack))
            })
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

    // Security-group rules meshctl added (Istio's ports on the cluster security group), found
    // by their tag wherever they are.
    {
        let rules = ec2
            .describe_security_group_rules()
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
    // Other tests' roles come and go meanwhile: one that vanishes is skipped.
    for name in names {
        let Ok(tags) = iam.list_role_tags().role_name(&name).send().await else {
            continue;
        };
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
        let Ok(tags) = iam
            .list_open_id_connect_provider_tags()
            .open_id_connect_provider_arn(arn)
            .send()
            .await
        else {
            continue;
        };
        if tags
            .tags()
            .iter()
            .any(|t| t.key() == STACK_TAG && t.value() == stack)
        {
            out.push(format!("iam-oidc-provider {arn}"));
        }
    }

    // EKS through the shim (it holds what moto's EKS lacks).
    let eks_conf = conf.into_builder().endpoint_url(eks_endpoint).build();
    let eks = aws_sdk_eks::Client::new(&eks_conf);
    let mut pages = eks.list_clusters().into_paginator().send();
    let mut names = vec![];
    while let Some(page) = pages.next().await {
        names.extend(page.expect("ListClusters").clusters().to_vec());
    }
    // Other tests' clusters come and go meanwhile: one that vanishes is skipped.
    for name in &names {
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
                let Ok(d) = eks
                    .describe_nodegroup()
                    .cluster_name(name)
                    .nodegroup_name(ng)
                    .send()
                    .await
                else {
                    continue;
                };
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
    out.sort();
    out
}

/// Every Kubernetes object carrying the stack's label, and every webhook configuration.
pub fn kube_inventory(rig: &Rig) -> Vec<String> {
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
pub fn grafana_and_pagerduty_inventory(rig: &Rig) -> Vec<String> {
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
