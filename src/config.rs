//! `meshctl.yaml`: schema, defaults, environment overrides and validation.
//!
//! Everything here runs before the first API call; a config that does not validate changes
//! nothing and exits 2.

use std::collections::BTreeMap;
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_yaml_ng::Value;

use crate::error::Error;

mod env;
mod tree;
pub(crate) mod validate;

pub use env::{NOT_CONFIG as ENV_NOT_CONFIG, TEST_PREFIX as ENV_TEST_PREFIX};

use tree::{Seg, Target};

/// The tag (AWS) and label (Kubernetes) key that marks what a stack owns.
pub const STACK_TAG: &str = "meshctl.io/stack";
/// The Kubernetes label that marks objects meshctl manages.
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";

/// Kubernetes minor versions (`1.NN`) meshctl creates EKS clusters with.
pub const EKS_MINOR_VERSIONS: RangeInclusive<u32> = 29..=36;
/// Istio minor versions (`1.NN.x`) meshctl installs.
pub const ISTIO_MINOR_VERSIONS: RangeInclusive<u32> = 24..=31;
/// The Istio release `istio.version` defaults to: the newest stable release when pinned
/// (1.31.1, published 2026-09-21; istio.io news/releases/1.31.x).
pub const DEFAULT_ISTIO_VERSION: &str = "1.31.1";
/// Where the official Istio charts are published.
pub const ISTIO_CHART_REPOSITORY: &str = "https://istio-release.storage.googleapis.com/charts";
/// User tags allowed in `tags`: AWS allows 50 per resource and meshctl keeps room for its own.
pub const MAX_USER_TAGS: usize = 45;
/// The shortest `prometheus.scrape_interval`.
pub const MIN_SCRAPE_INTERVAL: Duration = Duration::from_secs(15);
/// The `kiali-server` chart version meshctl installs by default (the chart version is the Kiali
/// version).
pub const KIALI_CHART_VERSION: &str = "2.24.0";
/// The Kiali chart repository.
pub const KIALI_CHARTS: &str = "https://kiali.org/helm-charts";
/// The SigV4 proxy image: 1.10 is built with an AWS SDK that reads EKS Pod Identity credentials
/// as well as IRSA web-identity tokens (awslabs/aws-sigv4-proxy#190, SDK bump in #231).
pub const SIGV4_PROXY_IMAGE: &str = "public.ecr.aws/aws-observability/aws-sigv4-proxy:1.10";
/// Kiali login strategies meshctl offers.
pub const KIALI_AUTH_STRATEGIES: &[&str] = &["token", "anonymous"];
/// Sample applications `istio.sample` can install.
pub const SAMPLES: &[&str] = &["bookinfo"];
/// The shortest scrape interval an AMP managed collector accepts (`prometheus.mode:
/// managed-collector`).
pub const MIN_MANAGED_SCRAPE_INTERVAL: Duration = Duration::from_secs(30);
/// `prometheus.mode` values: Prometheus in agent mode in the cluster, or an AMP managed
/// collector (scraper) outside it.
pub const PROMETHEUS_MODES: &[&str] = &["agent", "managed-collector"];
/// The Prometheus image meshctl runs in agent mode by default (the newest stable 3.x release
/// when this version was made; `prometheus.image` overrides it).
pub const PROMETHEUS_IMAGE: &str = "quay.io/prometheus/prometheus:v3.16.0";
/// Node root volume sizes EBS allows, in GiB.
pub const NODE_DISK_GIB: RangeInclusive<u32> = 20..=16384;

/// Equality compares the configuration only, not where it came from (`region_source`) or
/// what was warned about while loading it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The stack name: every owned resource is tagged `meshctl.io/stack=<name>`.
    pub name: String,
    #[serde(default = "defaults::region")]
    pub region: String,
    /// Where `region` came from, for the plan header: `--region`, `MESHCTL_REGION`, the config
    /// file's path, `AWS_REGION`, `AWS_DEFAULT_REGION`, `profile <name>`, or `default`.
    /// Not a config key.
    #[serde(skip)]
    pub region_source: String,
    /// Things worth telling the user that do not stop the run (an unknown `MESHCTL_*`
    /// variable, a region code meshctl does not know). Print each with `Ui::warn`.
    /// Not a config key.
    #[serde(skip)]
    pub warnings: Vec<String>,
    /// Where the ledger, state and lock live: a directory, or `s3://bucket/prefix`.
    #[serde(default = "defaults::state")]
    pub state: String,
    /// Extra tags put on every AWS resource (the stack tag is always added).
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    #[serde(default)]
    pub cluster: ClusterConfig,
    #[serde(default)]
    pub kubernetes: KubernetesConfig,
    #[serde(default)]
    pub istio: IstioConfig,
    #[serde(default)]
    pub amp: AmpConfig,
    #[serde(default)]
    pub irsa: IrsaConfig,
    #[serde(default)]
    pub prometheus: PrometheusConfig,
    #[serde(default)]
    pub kiali: KialiConfig,
    #[serde(default)]
    pub grafana: GrafanaConfig,
    #[serde(default)]
    pub pagerduty: PagerdutyConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ClusterConfig {
    /// EKS cluster name; defaults to the stack name.
    pub name: Option<String>,
    /// `false` adopts an existing cluster and never deletes it.
    pub create: bool,
    /// Kubernetes version, `major.minor`.
    pub version: String,
    pub vpc_cidr: String,
    pub nodegroups: Vec<NodegroupConfig>,
    /// NAT gateways of a new VPC: `single` (one, cheaper) or `per-az` (one per zone).
    pub nat: String,
    /// Subnets to adopt instead of creating a VPC: never modified or deleted.
    pub subnet_ids: Vec<String>,
    pub endpoint_public_access: bool,
    pub endpoint_private_access: bool,
    /// CIDRs that may reach the public endpoint.
    pub public_access_cidrs: Vec<String>,
    /// Control-plane log types sent to CloudWatch Logs.
    pub logging: Vec<String>,
    /// IAM principal ARNs given cluster-admin access entries.
    pub admins: Vec<String>,
    /// An existing cluster IAM role to use (never modified or deleted).
    pub cluster_role_arn: Option<String>,
    /// An existing node IAM role to use (never modified or deleted).
    pub node_role_arn: Option<String>,
}

/// A Kubernetes taint on a node group's nodes.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TaintConfig {
    pub key: String,
    #[serde(default)]
    pub value: Option<String>,
    /// `NO_SCHEDULE`, `NO_EXECUTE` or `PREFER_NO_SCHEDULE`.
    pub effect: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct NodegroupConfig {
    pub name: String,
    pub instance_types: Vec<String>,
    pub min_size: u32,
    pub max_size: u32,
    pub desired_size: u32,
    pub disk_size_gib: u32,
    /// Kubernetes labels on the nodes.
    pub labels: BTreeMap<String, String>,
    pub taints: Vec<TaintConfig>,
    /// `ON_DEMAND` or `SPOT`.
    pub capacity_type: String,
    /// EKS AMI type, e.g. `AL2023_x86_64_STANDARD`.
    pub ami_type: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct KubernetesConfig {
    /// Kubeconfig file to reach the API server when not derived from EKS.
    pub kubeconfig: Option<PathBuf>,
    /// Context within that kubeconfig.
    pub context: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct IstioConfig {
    /// Istio release, `major.minor.patch`.
    pub version: String,
    pub namespace: String,
    /// Install the `gateway` chart as an ingress gateway.
    pub ingress_gateway: bool,
    /// `sidecar` (default) or `ambient` data plane.
    pub mode: IstioMode,
    /// `demo` (the blogs' install) or `production` (the production guide's settings).
    pub profile: IstioProfile,
    /// Use the Istio CNI plugin in sidecar mode too (ambient always uses it).
    pub cni: bool,
    /// Chart source: an https chart repository, `oci://…`, or a local directory of packaged
    /// charts `<name>-<version>.tgz`.
    pub charts: String,
    /// A values file merged over meshctl's values for every Istio chart.
    pub values: Option<std::path::PathBuf>,
    /// Mesh-wide mTLS mode (PeerAuthentication `default` in the root namespace).
    pub mtls: MtlsMode,
    /// Add an allow-nothing AuthorizationPolicy in the root namespace.
    pub default_deny: bool,
    /// Namespaces that join the mesh (created when missing).
    pub namespaces: Vec<String>,
    /// Sample application installed at the end of the `istio` step: `bookinfo`, or unset.
    pub sample: Option<String>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum IstioMode {
    #[default]
    Sidecar,
    Ambient,
}

impl IstioMode {
    pub fn as_str(self) -> &'static str {
        match self {
            IstioMode::Sidecar => "sidecar",
            IstioMode::Ambient => "ambient",
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum IstioProfile {
    #[default]
    Demo,
    Production,
}

impl IstioProfile {
    pub fn as_str(self) -> &'static str {
        match self {
            IstioProfile::Demo => "demo",
            IstioProfile::Production => "production",
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum MtlsMode {
    #[default]
    Permissive,
    Strict,
}

impl MtlsMode {
    /// As PeerAuthentication spells it.
    pub fn as_peer_authentication(self) -> &'static str {
        match self {
            MtlsMode::Permissive => "PERMISSIVE",
            MtlsMode::Strict => "STRICT",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AmpConfig {
    /// Workspace alias; defaults to the stack name.
    pub alias: Option<String>,
    /// Use this existing workspace instead of creating one. It is never tagged or deleted.
    pub workspace_id: Option<String>,
    /// Name of the rule-groups namespace holding the Istio rules.
    pub rules_namespace: String,
    pub alerts: AlertThresholds,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AlertThresholds {
    /// Fire when the 5xx share of requests to a service exceeds this ratio over 5 minutes.
    pub error_ratio: f64,
    /// Fire when a service's p99 request latency exceeds this many milliseconds.
    pub p99_latency_ms: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct IrsaConfig {
    /// `irsa` (OIDC web identity, service-account annotations) or `pod-identity` (EKS Pod
    /// Identity associations and the `eks-pod-identity-agent` add-on).
    pub mode: String,
    /// Service account Prometheus runs as (remote write).
    pub prometheus_service_account: String,
    /// Service account the SigV4 proxy for Kiali runs as (queries).
    pub query_service_account: String,
    /// IAM role for remote write; defaults to `<stack>-amp-ingest`.
    pub prometheus_role_name: Option<String>,
    /// IAM role for queries; defaults to `<stack>-amp-query`.
    pub query_role_name: Option<String>,
    /// Existing roles to adopt by ARN: meshctl adds its trust statement and inline policy to
    /// them and removes only those on cleanup, never the role.
    pub roles: IrsaRoles,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct IrsaRoles {
    /// ARN of an existing role for Prometheus remote write.
    pub prometheus: Option<String>,
    /// ARN of an existing role for the query proxy.
    pub query: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct PrometheusConfig {
    pub namespace: String,
    /// Scrape interval, e.g. `30s`.
    pub scrape_interval: String,
    /// `agent` (Prometheus in agent mode in the cluster, remote-writing to AMP) or
    /// `managed-collector` (an AMP managed scraper; nothing runs in the cluster).
    pub mode: String,
    /// The Prometheus image in agent mode (a pinned 3.x release).
    pub image: String,
    /// Requests and limits of the Prometheus container in agent mode.
    pub resources: PrometheusResources,
    /// Remote-write queue settings in agent mode.
    pub remote_write: RemoteWriteQueue,
    /// Drop the Envoy and Istio series and labels Kiali and the dashboards do not use.
    pub thinning: bool,
}

impl PrometheusConfig {
    /// Whether an AMP managed collector scrapes instead of an in-cluster Prometheus.
    pub fn managed_collector(&self) -> bool {
        self.mode == "managed-collector"
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct PrometheusResources {
    pub requests: ResourceAmounts,
    pub limits: ResourceAmounts,
}

/// Kubernetes quantities, e.g. `cpu: 250m`, `memory: 512Mi`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ResourceAmounts {
    pub cpu: String,
    pub memory: String,
}

/// Prometheus `remote_write[].queue_config`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RemoteWriteQueue {
    /// Samples buffered per shard.
    pub capacity: u32,
    pub max_shards: u32,
    pub max_samples_per_send: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct KialiConfig {
    pub enabled: bool,
    pub namespace: String,
    /// Version of the `kiali-server` chart (and of Kiali), `MAJOR.MINOR.PATCH`.
    pub version: String,
    /// Where the chart comes from: an HTTPS chart repository, `oci://…`, or a local directory
    /// of packaged charts (`kiali-server-<version>.tgz`).
    pub charts: String,
    /// A values file merged over the values meshctl renders.
    pub values: Option<PathBuf>,
    /// How people log in to Kiali: `token` (a Kubernetes token) or `anonymous`.
    pub auth_strategy: String,
    /// How far back Kiali may query AMP (`thanos_proxy.retention_period`), e.g. `150d`.
    pub retention_period: String,
    /// The SigV4 proxy image Kiali queries AMP through.
    pub proxy_image: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct GrafanaConfig {
    pub enabled: bool,
    /// Workspace name; defaults to the stack name.
    pub workspace_name: Option<String>,
    /// `AWS_SSO` or `SAML`.
    pub authentication: String,
    /// IAM Identity Center user ids given the Grafana Admin role.
    pub admin_users: Vec<String>,
    pub admin_groups: Vec<String>,
    /// grafana.com dashboard ids to import.
    pub dashboards: Vec<u32>,
    /// Use this existing workspace instead of creating one: meshctl adds its own objects to it
    /// and removes only those, never the workspace.
    pub workspace_id: Option<String>,
    /// Grafana version for a new workspace, e.g. `10.4`; default: the newest AMG offers.
    pub version: Option<String>,
    /// Base URL of the Grafana HTTP API, instead of `https://<workspace endpoint>` (for
    /// workspaces behind a private endpoint).
    pub url: Option<String>,
    /// Read dashboards from `<id>.json` files here instead of downloading them.
    pub dashboards_dir: Option<PathBuf>,
    /// Where dashboards are downloaded from: `<dashboards_url>/<id>/revisions/<rev>/download`.
    pub dashboards_url: String,
    /// PEM file of extra CA certificates for the Grafana HTTP API (TLS-inspecting proxies).
    pub ca_bundle: Option<PathBuf>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct PagerdutyConfig {
    pub enabled: bool,
    pub service_name: Option<String>,
    /// Escalation policy the new PagerDuty service uses, e.g. `PABC123`.
    pub escalation_policy_id: Option<String>,
    /// Name of the environment variable holding the PagerDuty REST API key (never the key).
    /// Used only when no integration key source below is set: meshctl then creates the service.
    pub api_key_env: String,
    /// `critical`, `error`, `warning` or `info`.
    pub severity: String,
    /// Name of the environment variable holding an Events API v2 integration key.
    pub integration_key_env: Option<String>,
    /// File holding an Events API v2 integration key.
    pub integration_key_file: Option<PathBuf>,
    /// AWS Secrets Manager secret (ARN) holding an Events API v2 integration key.
    pub integration_key_secret_arn: Option<String>,
    /// PagerDuty REST API base URL.
    pub api_url: String,
    /// PagerDuty Events API base URL.
    pub events_url: String,
    /// PEM file of extra CA certificates for PagerDuty (TLS-inspecting proxies).
    pub ca_bundle: Option<PathBuf>,
}

impl PagerdutyConfig {
    /// Whether the integration key comes from config indirection (no REST API use).
    pub fn has_integration_key_source(&self) -> bool {
        self.integration_key_env.is_some()
            || self.integration_key_file.is_some()
            || self.integration_key_secret_arn.is_some()
    }
}

mod defaults {
    pub fn region() -> String {
        "us-west-2".into()
    }
    pub fn state() -> String {
        ".meshctl".into()
    }
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig {
            name: None,
            create: true,
            // The newest EKS version in standard support as of late 2026 (docs/steps/cluster.md).
            version: "1.36".into(),
            vpc_cidr: "10.0.0.0/16".into(),
            nodegroups: vec![NodegroupConfig::default()],
            nat: "single".into(),
            subnet_ids: vec![],
            endpoint_public_access: true,
            endpoint_private_access: true,
            public_access_cidrs: vec!["0.0.0.0/0".into()],
            logging: vec!["api".into(), "audit".into(), "authenticator".into()],
            admins: vec![],
            cluster_role_arn: None,
            node_role_arn: None,
        }
    }
}

impl Default for NodegroupConfig {
    fn default() -> Self {
        NodegroupConfig {
            name: "default".into(),
            instance_types: vec!["m5.large".into()],
            min_size: 2,
            max_size: 4,
            desired_size: 3,
            disk_size_gib: 40,
            labels: BTreeMap::new(),
            taints: vec![],
            capacity_type: "ON_DEMAND".into(),
            ami_type: "AL2023_x86_64_STANDARD".into(),
        }
    }
}

impl Default for IstioConfig {
    fn default() -> Self {
        IstioConfig {
            version: DEFAULT_ISTIO_VERSION.into(),
            namespace: "istio-system".into(),
            ingress_gateway: true,
            mode: IstioMode::default(),
            profile: IstioProfile::default(),
            cni: false,
            charts: ISTIO_CHART_REPOSITORY.into(),
            values: None,
            mtls: MtlsMode::default(),
            default_deny: false,
            namespaces: vec![],
            sample: None,
        }
    }
}

impl Default for AmpConfig {
    fn default() -> Self {
        AmpConfig {
            alias: None,
            workspace_id: None,
            rules_namespace: "meshctl-istio".into(),
            alerts: AlertThresholds::default(),
        }
    }
}

impl Default for AlertThresholds {
    fn default() -> Self {
        AlertThresholds {
            error_ratio: 0.01,
            p99_latency_ms: 500,
        }
    }
}

impl Default for IrsaConfig {
    fn default() -> Self {
        IrsaConfig {
            mode: "irsa".into(),
            prometheus_service_account: "amp-iamproxy-ingest-service-account".into(),
            query_service_account: "amp-iamproxy-query-service-account".into(),
            prometheus_role_name: None,
            query_role_name: None,
            roles: IrsaRoles::default(),
        }
    }
}

impl Default for PrometheusConfig {
    fn default() -> Self {
        PrometheusConfig {
            namespace: "prometheus".into(),
            scrape_interval: "30s".into(),
            mode: "agent".into(),
            image: PROMETHEUS_IMAGE.into(),
            resources: PrometheusResources::default(),
            remote_write: RemoteWriteQueue::default(),
            thinning: true,
        }
    }
}

impl Default for PrometheusResources {
    fn default() -> Self {
        PrometheusResources {
            requests: ResourceAmounts {
                cpu: "250m".into(),
                memory: "512Mi".into(),
            },
            limits: ResourceAmounts {
                cpu: "1".into(),
                memory: "1Gi".into(),
            },
        }
    }
}

impl Default for RemoteWriteQueue {
    fn default() -> Self {
        // The queue settings of the AMP ingestion walkthrough meshctl replaces.
        RemoteWriteQueue {
            capacity: 2500,
            max_shards: 200,
            max_samples_per_send: 1000,
        }
    }
}

impl Default for KialiConfig {
    fn default() -> Self {
        KialiConfig {
            enabled: true,
            namespace: "istio-system".into(),
            version: KIALI_CHART_VERSION.into(),
            charts: KIALI_CHARTS.into(),
            values: None,
            auth_strategy: "token".into(),
            retention_period: "150d".into(),
            proxy_image: SIGV4_PROXY_IMAGE.into(),
        }
    }
}

impl Default for GrafanaConfig {
    fn default() -> Self {
        GrafanaConfig {
            enabled: true,
            workspace_name: None,
            authentication: "AWS_SSO".into(),
            admin_users: vec![],
            admin_groups: vec![],
            dashboards: vec![7639, 7636, 7630, 7645, 11829],
            workspace_id: None,
            version: None,
            url: None,
            dashboards_dir: None,
            dashboards_url: "https://grafana.com/api/dashboards".into(),
            ca_bundle: None,
        }
    }
}

impl Default for PagerdutyConfig {
    fn default() -> Self {
        PagerdutyConfig {
            enabled: false,
            service_name: None,
            escalation_policy_id: None,
            api_key_env: "PAGERDUTY_API_KEY".into(),
            severity: "critical".into(),
            integration_key_env: None,
            integration_key_file: None,
            integration_key_secret_arn: None,
            api_url: "https://api.pagerduty.com".into(),
            events_url: "https://events.pagerduty.com".into(),
            ca_bundle: None,
        }
    }
}

impl PartialEq for Config {
    fn eq(&self, other: &Config) -> bool {
        // Destructured, so a new field cannot be forgotten here.
        let Config {
            name,
            region,
            region_source: _,
            warnings: _,
            state,
            tags,
            cluster,
            kubernetes,
            istio,
            amp,
            irsa,
            prometheus,
            kiali,
            grafana,
            pagerduty,
        } = self;
        *name == other.name
            && *region == other.region
            && *state == other.state
            && *tags == other.tags
            && *cluster == other.cluster
            && *kubernetes == other.kubernetes
            && *istio == other.istio
            && *amp == other.amp
            && *irsa == other.irsa
            && *prometheus == other.prometheus
            && *kiali == other.kiali
            && *grafana == other.grafana
            && *pagerduty == other.pagerduty
    }
}

impl Config {
    pub fn cluster_name(&self) -> &str {
        self.cluster.name.as_deref().unwrap_or(&self.name)
    }

    pub fn amp_alias(&self) -> &str {
        self.amp.alias.as_deref().unwrap_or(&self.name)
    }

    pub fn grafana_workspace_name(&self) -> &str {
        self.grafana.workspace_name.as_deref().unwrap_or(&self.name)
    }

    /// Tags for every AWS resource this stack creates: the user's plus the stack tag.
    pub fn aws_tags(&self) -> BTreeMap<String, String> {
        let mut tags = self.tags.clone();
        tags.insert(STACK_TAG.to_string(), self.name.clone());
        tags
    }
}

impl Config {
    /// A config with every default and the given stack name, as an empty file would give.
    pub fn with_defaults(name: &str) -> Config {
        Config {
            name: name.to_string(),
            region: defaults::region(),
            region_source: "default".into(),
            warnings: vec![],
            state: defaults::state(),
            tags: BTreeMap::new(),
            cluster: ClusterConfig::default(),
            kubernetes: KubernetesConfig::default(),
            istio: IstioConfig::default(),
            amp: AmpConfig::default(),
            irsa: IrsaConfig::default(),
            prometheus: PrometheusConfig::default(),
            kiali: KialiConfig::default(),
            grafana: GrafanaConfig::default(),
            pagerduty: PagerdutyConfig::default(),
        }
    }
}

/// Values given on the command line, which win over everything else, and what the AWS
/// profile says, which loses to everything but the default.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--region`.
    pub region: Option<String>,
    /// The selected AWS profile's name and its `region`, from [`profile_region`]. Used only
    /// when neither `--region`, `MESHCTL_REGION`, the file, `AWS_REGION` nor
    /// `AWS_DEFAULT_REGION` gives a region.
    pub profile_region: Option<(String, String)>,
}

/// Environment variables the AWS CLI and SDKs take the region from, strongest first.
pub const AWS_REGION_VARS: &[&str] = &["AWS_REGION", "AWS_DEFAULT_REGION"];

/// The region set for `profile` (`default` when `None`) in the shared AWS config file
/// (`AWS_CONFIG_FILE`, or `~/.aws/config`), read by aws-config's own profile loader, with the
/// profile's name: `(name, region)`. `None` when the file, the profile or its region is missing.
pub async fn profile_region(profile: Option<&str>) -> Option<(String, String)> {
    use aws_config::meta::region::ProvideRegion;
    let name = profile
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .unwrap_or("default")
        .to_string();
    let region = aws_config::profile::ProfileFileRegionProvider::builder()
        .profile_name(&name)
        .build()
        .region()
        .await?;
    Some((name, region.to_string()))
}

const HELP: &str = "fix each key listed above (the line, variable or flag that set it is shown in \
                    parentheses); docs/config.md lists every key with its type, default and limits";

/// Load `path`, apply `MESHCTL_*` environment overrides from `env`, then `overrides`,
/// and validate the result.
pub fn load(
    path: &Path,
    env: &BTreeMap<String, String>,
    overrides: &Overrides,
) -> Result<Config, Error> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::ConfigRead {
        path: path.to_path_buf(),
        source,
    })?;
    from_yaml(&text, &path.display().to_string(), env, overrides)
}

/// [`load`] for text already read; `source` names it in messages.
///
/// Order: parse the YAML, lay the environment's keys and then the flags over it, take the
/// region from the AWS environment or profile when nothing else set it, then find every
/// problem in one pass: unknown keys (set aside), values of the wrong type (set aside, so the
/// section's other keys are still read), and every value rule. All problems are reported
/// together; warnings come back in [`Config::warnings`].
pub fn from_yaml(
    text: &str,
    source: &str,
    env: &BTreeMap<String, String>,
    overrides: &Overrides,
) -> Result<Config, Error> {
    let mut tree: Value = if text.trim().is_empty() {
        Value::Null
    } else {
        serde_yaml_ng::from_str(text).map_err(|e| yaml_error(text, source, &e))?
    };
    if tree.is_null() {
        tree = Value::Mapping(Default::default());
    }
    // `<<: *anchor` merge keys, so shared node group settings can be written once.
    if let Err(e) = tree.apply_merge() {
        return Err(Error::config(
            format!("{source}: a `<<` merge key cannot be applied: {e}"),
            "`<<` must refer to a mapping (or a list of mappings) defined with `&anchor`",
        ));
    }
    if !tree.is_mapping() {
        return Err(Error::config(
            format!("{source} must be a mapping of keys, not a single value or a list"),
            "start from `meshctl init`, or write keys one per line, e.g. `name: demo` and `region: us-west-2`",
        ));
    }
    tree::drop_empty_sections(&mut tree);

    let mut report = Report {
        source,
        text,
        origins: vec![],
        lines: vec![],
        warnings: vec![],
    };
    let defaults = serde_yaml_ng::to_value(Config::with_defaults("")).expect("defaults serialise");
    let found = env::settings(env, &defaults);
    report.lines.extend(found.problems);
    report.warnings.extend(found.warnings);
    for s in found.settings {
        tree::set(&mut tree, &s.path, s.value);
        report.origins.push((s.path, s.var));
    }
    let region_path = tree::keys(&["region"]);
    if let Some(region) = &overrides.region {
        tree::set(&mut tree, &region_path, Value::String(region.clone()));
        report
            .origins
            .push((region_path.clone(), "--region".into()));
    }
    if tree::get(&tree, &region_path).is_none() {
        let from_env = AWS_REGION_VARS.iter().find_map(|var| {
            env.get(*var)
                .filter(|v| !v.trim().is_empty())
                .map(|v| (var.to_string(), v.clone()))
        });
        let from_profile = || {
            overrides
                .profile_region
                .as_ref()
                .map(|(profile, region)| (format!("profile {profile}"), region.clone()))
        };
        if let Some((origin, region)) = from_env.or_else(from_profile) {
            tree::set(&mut tree, &region_path, Value::String(region));
            report.origins.push((region_path.clone(), origin));
        }
    }
    tree::drop_empty_sections(&mut tree);

    for u in tree::unknown_keys(&tree) {
        let hint = match u.suggestion {
            Some(s) => format!("did you mean `{s}`?"),
            None => match tree::shape_at(&u.path[..u.path.len() - 1]) {
                tree::Shape::Struct(fields) => {
                    format!("remove it; the keys allowed here are {}", fields.join(", "))
                }
                _ => "remove it".into(),
            },
        };
        report.at(
            &u.path,
            &format!("unknown key `{}`; {hint}", u.key),
            Target::Key,
        );
        // Set aside, so the rest of the file is still checked.
        tree::remove(&mut tree, &u.path);
    }

    let region_source = report
        .origins
        .iter()
        .rev()
        .find(|(path, _)| *path == region_path)
        .map(|(_, origin)| origin.clone())
        .or_else(|| tree::get(&tree, &region_path).map(|_| source.to_string()))
        .unwrap_or_else(|| "default".into());

    // Read the whole config; each value of the wrong type is reported, set aside (its default
    // takes its place) and the config read again, so every type problem is found.
    let mut mistyped: Vec<Vec<Seg>> = vec![];
    let config = loop {
        if let Some(map) = tree.as_mapping_mut()
            && !map.contains_key("name")
        {
            // Reported by validation as "required", together with any other problem.
            map.insert(Value::from("name"), Value::from(""));
        }
        match deserialize_at::<Config>(vec![], tree.clone()) {
            Ok(c) => break Some(c),
            Err((path, msg)) => {
                report.at(&path, &msg, Target::Value);
                // A bad list item sets the whole list aside, so later items keep their indices.
                let aside: Vec<Seg> = match path.last() {
                    Some(Seg::Index(_)) => path[..path.len() - 1].to_vec(),
                    _ => path.clone(),
                };
                let removed = tree::remove(&mut tree, &aside);
                mistyped.push(aside);
                if !removed || mistyped.len() > 200 {
                    break None;
                }
            }
        }
    };
    let Some(mut config) = config else {
        return Err(report.finish().expect_err("a problem was just added"));
    };
    config.region_source = region_source;

    // A value rule about a key next to a mistyped one would judge a default the user did not
    // write (e.g. sizes when `min_size` was text): leave those to the next run.
    let hidden = |path: &[Seg]| {
        mistyped.iter().any(|m| {
            let scope = if m.len() >= 2 {
                &m[..m.len() - 1]
            } else {
                &m[..]
            };
            path.starts_with(scope)
        })
    };
    for (path, msg) in validate::check(&config) {
        if !hidden(&path) {
            report.at(&path, &msg, Target::Value);
        }
    }
    if !hidden(&region_path)
        && let Some(w) = validate::region_warning(&config.region)
    {
        let whence = report.whence(&region_path, Target::Value);
        report.warnings.push(format!("region{whence}: {w}"));
    }
    report.finish()?;
    config.warnings = std::mem::take(&mut report.warnings);
    Ok(config)
}

/// The YAML parser's error, with the line of a repeated key (which the parser does not give).
fn yaml_error(text: &str, source: &str, e: &serde_yaml_ng::Error) -> Error {
    if let Some((key, line)) = tree::duplicate_key(text) {
        return Error::config(
            format!("{source}: key `{key}` is written twice in the same section (line {line})"),
            "keep one of the two: YAML allows each key once per section, and meshctl will not guess which one you meant",
        );
    }
    Error::config(
        format!("{source} is not valid YAML: {e}"),
        "fix the YAML at the line shown: indent nested keys with spaces (not tabs), and quote \
         values that contain `: ` or ` #`, or start with `*`, `&`, `!`, `%` or `@`",
    )
}

/// Keys whose values may be secrets when mistyped: their values never appear in messages.
const SECRET_KEYS: &[&str] = &["pagerduty.api_key_env", "pagerduty.integration_key_env"];

/// Deserialize `value`, which sits at `prefix`; on failure, the full path and a readable message.
fn deserialize_at<T: DeserializeOwned>(
    prefix: Vec<Seg>,
    value: Value,
) -> Result<T, (Vec<Seg>, String)> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let mut path = prefix;
        for seg in e.path().iter() {
            match seg {
                serde_path_to_error::Segment::Seq { index } => path.push(Seg::Index(*index)),
                serde_path_to_error::Segment::Map { key } => path.push(Seg::Key(key.clone())),
                serde_path_to_error::Segment::Enum { variant } => {
                    path.push(Seg::Key(variant.clone()))
                }
                serde_path_to_error::Segment::Unknown => {}
            }
        }
        let message = if SECRET_KEYS.contains(&tree::show(&path).as_str()) {
            "must be a string: the name of the environment variable that holds the key, e.g. \
             `PAGERDUTY_API_KEY`"
                .to_string()
        } else {
            type_message(&e.inner().to_string(), &tree::pattern(&path))
        };
        (path, message)
    })
}

/// The whole numbers a key takes, for keys with a minimum above what their type allows.
fn number_range(key: &str) -> Option<String> {
    let (lo, hi) = (NODE_DISK_GIB.start(), NODE_DISK_GIB.end());
    Some(match key {
        "amp.alerts.p99_latency_ms" => {
            "a whole number of milliseconds, at least 1 (e.g. 500)".into()
        }
        "cluster.nodegroups[].max_size" => "a whole number, at least 1".into(),
        "cluster.nodegroups[].min_size" | "cluster.nodegroups[].desired_size" => {
            "a whole number, at least 0".into()
        }
        "cluster.nodegroups[].disk_size_gib" => format!("a whole number of GiB from {lo} to {hi}"),
        "grafana.dashboards[]" => {
            "a whole number of at least 1 (a grafana.com dashboard id)".into()
        }
        _ => return None,
    })
}

/// What YAML 1.1 spellings of a boolean mean, for a string found where a boolean belongs.
fn boolean_for(word: &str) -> Option<bool> {
    match word.to_ascii_lowercase().as_str() {
        "yes" | "y" | "on" | "true" | "enable" | "enabled" => Some(true),
        "no" | "n" | "off" | "false" | "disable" | "disabled" => Some(false),
        _ => None,
    }
}

/// serde's type error for the key at `key` (a [`tree::pattern`]), in the words of a config
/// file, with how to fix it.
fn type_message(raw: &str, key: &str) -> String {
    if raw.contains("expected u32")
        && let Some(range) = number_range(key)
    {
        let got = raw.split(", expected").next().unwrap_or(raw);
        return format!("{got}, expected {range}: write a value in that range");
    }
    if raw.contains("expected a boolean")
        && let Some(word) = raw
            .strip_prefix("invalid type: string \"")
            .and_then(|r| r.split('"').next())
        && let Some(b) = boolean_for(word)
    {
        return format!(
            "{raw}: did you mean `{b}`? Write `true` or `false` without quotes (`yes`, `no`, \
             `on` and `off` are text in YAML 1.2)"
        );
    }
    let mut msg = raw.to_string();
    if let Some(i) = msg.find("expected struct ") {
        msg.truncate(i);
        msg.push_str("expected a section of keys");
    }
    for (from, to) in [
        (
            "expected u32",
            "expected a whole number from 0 to 4294967295",
        ),
        ("expected f64", "expected a number"),
        ("expected a borrowed string", "expected a string"),
        ("expected a sequence", "expected a list such as `[a, b]`"),
        ("expected a map", "expected a mapping of keys to values"),
        ("unit value", "empty value"),
    ] {
        msg = msg.replace(from, to);
    }
    if msg.starts_with("missing field") {
        return format!("{msg}: add it");
    }
    let number_for_string = msg.contains("expected a string")
        && (msg.contains("integer") || msg.contains("floating point") || msg.contains("boolean"));
    if number_for_string {
        format!("{msg}: put the value in quotes (e.g. \"1.30\") so YAML keeps it as written")
    } else {
        format!("{msg}: write a value of that type")
    }
}

/// Problems found so far, each on its own line with where it came from.
struct Report<'a> {
    source: &'a str,
    text: &'a str,
    /// Paths set by environment variables or flags, and which one.
    origins: Vec<(Vec<Seg>, String)>,
    lines: Vec<String>,
    /// Shown with the problems when there are any, otherwise returned with the config.
    warnings: Vec<String>,
}

impl Report<'_> {
    fn at(&mut self, path: &[Seg], message: &str, target: Target) {
        let whence = self.whence(path, target);
        self.lines
            .push(format!("{}{whence}: {message}", tree::show(path)));
    }

    /// ` (from MESHCTL_X)`, ` (line N)` of the key or its nearest ancestor in the file, or nothing.
    fn whence(&self, path: &[Seg], target: Target) -> String {
        let origin = self
            .origins
            .iter()
            .filter(|(p, _)| path.starts_with(p))
            .max_by_key(|(p, _)| p.len());
        if let Some((_, label)) = origin {
            return format!(" (from {label})");
        }
        let mut target = target;
        for end in (1..=path.len()).rev() {
            if let Some(line) = tree::line_of(self.text, &path[..end], target) {
                return format!(" (line {line})");
            }
            target = Target::Key;
        }
        String::new()
    }

    fn finish(&mut self) -> Result<(), Error> {
        if self.lines.is_empty() {
            return Ok(());
        }
        let n = self.lines.len();
        let list: Vec<String> = self.lines.drain(..).map(|l| format!("  - {l}")).collect();
        let mut message = format!(
            "{n} problem{} in {}:\n{}",
            if n == 1 { "" } else { "s" },
            self.source,
            list.join("\n")
        );
        if !self.warnings.is_empty() {
            message.push_str("\nand warnings:");
            for w in self.warnings.drain(..) {
                message.push_str(&format!("\n  - {w}"));
            }
        }
        Err(Error::config(message, HELP))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn load_str(
        text: &str,
        pairs: &[(&str, &str)],
        region_flag: Option<&str>,
    ) -> Result<Config, String> {
        let overrides = Overrides {
            region: region_flag.map(str::to_string),
            ..Overrides::default()
        };
        from_yaml(text, "test.yaml", &env(pairs), &overrides).map_err(|e| match e {
            Error::Config { message, .. } => message,
            other => panic!("not a config error: {other}"),
        })
    }

    const FILE: &str = "name: demo\nregion: eu-west-1\namp:\n  alias: from-file\n";

    #[test]
    fn defaults_fill_what_the_file_leaves_out() {
        let c = load_str("name: demo\n", &[], None).unwrap();
        assert_eq!(c, Config::with_defaults("demo"));
        assert_eq!(c.region, "us-west-2");
        assert_eq!(c.cluster_name(), "demo");
        assert_eq!(c.amp_alias(), "demo");
        assert_eq!(c.cluster.nodegroups.len(), 1);
    }

    #[test]
    fn file_beats_default() {
        let c = load_str(FILE, &[], None).unwrap();
        assert_eq!(c.region, "eu-west-1");
        assert_eq!(c.amp_alias(), "from-file");
    }

    #[test]
    fn env_beats_file() {
        let c = load_str(
            FILE,
            &[
                ("MESHCTL_REGION", "ap-south-1"),
                ("MESHCTL_AMP__ALIAS", "from-env"),
            ],
            None,
        )
        .unwrap();
        assert_eq!(c.region, "ap-south-1");
        assert_eq!(c.amp_alias(), "from-env");
    }

    #[test]
    fn flag_beats_env() {
        let c = load_str(
            FILE,
            &[("MESHCTL_REGION", "ap-south-1")],
            Some("ca-central-1"),
        )
        .unwrap();
        assert_eq!(c.region, "ca-central-1");
        let c = load_str(FILE, &[], Some("ca-central-1")).unwrap();
        assert_eq!(c.region, "ca-central-1");
    }

    #[test]
    fn env_supplies_keys_the_file_lacks() {
        let c = load_str(
            "region: us-east-1\n",
            &[
                ("MESHCTL_NAME", "from-env"),
                ("MESHCTL_CLUSTER__CREATE", "false"),
                ("MESHCTL_CLUSTER__NAME", "existing"),
                ("MESHCTL_AMP__ALERTS__ERROR_RATIO", "0.05"),
                ("MESHCTL_STATE", "s3://my-bucket/meshctl"),
                ("MESHCTL_LOG", "debug"),
                ("MESHCTL_TEST_ANYTHING", "x"),
            ],
            None,
        )
        .unwrap();
        assert_eq!(c.name, "from-env");
        assert!(!c.cluster.create);
        assert_eq!(c.cluster_name(), "existing");
        assert_eq!(c.amp.alerts.error_ratio, 0.05);
        assert_eq!(c.state, "s3://my-bucket/meshctl");
    }

    #[test]
    fn problems_name_their_source() {
        let e = load_str(
            "name: demo\nregion: eu-west-1\n",
            &[
                ("MESHCTL_AMP__ALIAS", ""),
                ("MESHCTL_CLUSTER__CREATE", "maybe"),
            ],
            None,
        )
        .unwrap_err();
        assert!(
            e.contains("cluster.create (from MESHCTL_CLUSTER__CREATE)"),
            "{e}"
        );
        assert!(e.contains("expected a boolean"), "{e}");
        let e = load_str(FILE, &[], Some("US-EAST-1")).unwrap_err();
        assert!(e.contains("region (from --region): `US-EAST-1`"), "{e}");
        let e = load_str("name: demo\nregion: nowhere\n", &[], None).unwrap_err();
        assert!(e.contains("region (line 2): `nowhere`"), "{e}");
    }

    #[test]
    fn unknown_meshctl_variable_is_a_warning_not_a_problem() {
        let c = load_str("name: demo\n", &[("MESHCTL_REGOIN", "us-east-1")], None).unwrap();
        let w = c.warnings.join("\n");
        assert!(
            w.contains("`MESHCTL_REGOIN`") && w.contains("did you mean `MESHCTL_REGION`?"),
            "{w}"
        );
        assert_eq!(c.region, "us-west-2");
        // With a real problem, the warning is shown with it.
        let e = load_str("name: Demo\n", &[("MESHCTL_REGOIN", "us-east-1")], None).unwrap_err();
        assert!(
            e.contains("1 problem in") && e.contains("`MESHCTL_REGOIN`"),
            "{e}"
        );
    }

    fn load_with(text: &str, pairs: &[(&str, &str)], profile: Option<(&str, &str)>) -> Config {
        let overrides = Overrides {
            region: None,
            profile_region: profile.map(|(p, r)| (p.to_string(), r.to_string())),
        };
        from_yaml(text, "test.yaml", &env(pairs), &overrides).unwrap()
    }

    #[test]
    fn aws_region_variables_and_profile_apply_when_nothing_else_sets_the_region() {
        let bare = "name: demo\n";
        let profile = Some(("team", "ap-northeast-1"));
        let c = load_with(bare, &[], None);
        assert_eq!(
            (c.region.as_str(), c.region_source.as_str()),
            ("us-west-2", "default")
        );
        let c = load_with(bare, &[], profile);
        assert_eq!(
            (c.region.as_str(), c.region_source.as_str()),
            ("ap-northeast-1", "profile team")
        );
        let c = load_with(bare, &[("AWS_DEFAULT_REGION", "eu-west-3")], profile);
        assert_eq!(
            (c.region.as_str(), c.region_source.as_str()),
            ("eu-west-3", "AWS_DEFAULT_REGION")
        );
        let both = [
            ("AWS_DEFAULT_REGION", "eu-west-3"),
            ("AWS_REGION", "eu-north-1"),
        ];
        let c = load_with(bare, &both, profile);
        assert_eq!(
            (c.region.as_str(), c.region_source.as_str()),
            ("eu-north-1", "AWS_REGION")
        );
        // An empty variable is unset, as for the AWS CLI.
        let c = load_with(
            bare,
            &[("AWS_REGION", ""), ("AWS_DEFAULT_REGION", "eu-west-3")],
            None,
        );
        assert_eq!(c.region, "eu-west-3");
        // The file beats the AWS variables; MESHCTL_REGION and --region beat the file.
        let c = load_with("name: demo\nregion: sa-east-1\n", &both, profile);
        assert_eq!(
            (c.region.as_str(), c.region_source.as_str()),
            ("sa-east-1", "test.yaml")
        );
        let c = load_with(
            bare,
            &[("MESHCTL_REGION", "ca-central-1"), both[1]],
            profile,
        );
        assert_eq!(
            (c.region.as_str(), c.region_source.as_str()),
            ("ca-central-1", "MESHCTL_REGION")
        );
        // A bad region from the AWS environment names its source.
        let e = from_yaml(
            bare,
            "test.yaml",
            &env(&[("AWS_REGION", "Mars")]),
            &Overrides::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("region (from AWS_REGION): `Mars`"), "{e}");
    }

    #[test]
    fn unknown_keys_types_and_values_are_reported_in_one_run() {
        let e = load_str(
            "name: Demo\nregoin: x\ncluster:\n  create: maybe\n  version: \"1.20\"\n  nodegroups:\n    - name: a\n      min_size: lots\n      desired_size: 1\namp:\n  alerts:\n    error_ratio: 2\n",
            &[],
            None,
        )
        .unwrap_err();
        assert!(e.starts_with("5 problems in test.yaml:"), "{e}");
        for want in [
            "regoin (line 2): unknown key",
            "cluster.create (line 4): invalid type: string \"maybe\", expected a boolean",
            "cluster.nodegroups[0].min_size (line 8): invalid type",
            "name (line 1): `Demo`",
            "amp.alerts.error_ratio (line 12)",
        ] {
            assert!(e.contains(want), "{want}\n{e}");
        }
        // No rule judged the default that stood in for the mistyped `min_size`.
        assert!(!e.contains("desired_size"), "{e}");
    }

    #[test]
    fn duplicate_key_names_its_line() {
        let e = load_str("name: demo\nregion: us-east-1\nname: other\n", &[], None).unwrap_err();
        assert!(
            e.contains("key `name` is written twice in the same section (line 3)"),
            "{e}"
        );
    }

    #[test]
    fn negative_p99_latency_states_the_real_minimum() {
        let e = load_str(
            "name: demo\namp:\n  alerts:\n    p99_latency_ms: -5\n",
            &[],
            None,
        )
        .unwrap_err();
        assert!(
            e.contains("amp.alerts.p99_latency_ms (line 4): invalid value: integer `-5`, expected a whole number of milliseconds, at least 1"),
            "{e}"
        );
        assert!(!e.contains("from 0"), "{e}");
    }

    #[test]
    fn create_yes_suggests_true() {
        let e = load_str("name: demo\ncluster:\n  create: yes\n", &[], None).unwrap_err();
        assert!(
            e.contains("cluster.create (line 3)") && e.contains("did you mean `true`?"),
            "{e}"
        );
        let e = load_str("name: demo\nkiali:\n  enabled: off\n", &[], None).unwrap_err();
        assert!(e.contains("did you mean `false`?"), "{e}");
    }

    #[test]
    fn unknown_region_is_a_warning_and_a_bad_shape_an_error() {
        let c = load_str("name: demo\nregion: xx-middle-9\n", &[], None).unwrap();
        let w = c.warnings.join("\n");
        assert!(
            w.contains("region (line 2): `xx-middle-9` is not a region meshctl knows"),
            "{w}"
        );
        assert!(
            load_str("name: demo\nregion: eu-central-1\n", &[], None)
                .unwrap()
                .warnings
                .is_empty()
        );
        let e = load_str("name: demo\nregion: eu_central_1\n", &[], None).unwrap_err();
        assert!(
            e.contains("region (line 2): `eu_central_1` is not an AWS region code"),
            "{e}"
        );
    }

    #[test]
    fn unknown_keys_anywhere_are_rejected_with_line_and_suggestion() {
        let e = load_str(
            "name: demo\ncluster:\n  nodegroups:\n    - name: a\n      instnce_types: [m5.large]\nregoin: x\n",
            &[],
            None,
        )
        .unwrap_err();
        assert!(e.starts_with("2 problems in test.yaml:"), "{e}");
        assert!(
            e.contains("cluster.nodegroups[0].instnce_types (line 5): unknown key `instnce_types`; did you mean `instance_types`?"),
            "{e}"
        );
        assert!(
            e.contains("regoin (line 6): unknown key `regoin`; did you mean `region`?"),
            "{e}"
        );
        let e = load_str(
            "name: demo\namp: {workspace: x}\n",
            &[("MESHCTL_CLUSTER", "{creat: false}")],
            None,
        )
        .unwrap_err();
        assert!(e.contains("cluster.creat (from MESHCTL_CLUSTER)"), "{e}");
        assert!(e.contains("amp.workspace (line 2)"), "{e}");
    }

    #[test]
    fn all_value_problems_are_reported_together() {
        let e = load_str(
            "name: Demo\nregion: us-west\ncluster:\n  version: \"1.20\"\nistio:\n  version: 1.27\n",
            &[],
            None,
        );
        // istio.version is a float here: a type problem, reported with the value rules.
        let e = e.unwrap_err();
        assert!(e.starts_with("4 problems"), "{e}");
        assert!(
            e.contains("istio.version (line 6)") && e.contains("put the value in quotes"),
            "{e}"
        );
        let e = load_str(
            "name: Demo\nregion: us-west\ncluster:\n  version: \"1.20\"\n",
            &[],
            None,
        )
        .unwrap_err();
        assert!(e.starts_with("3 problems"), "{e}");
        assert!(e.contains("\n  - name (line 1)"), "{e}");
        assert!(e.contains("\n  - region (line 2)"), "{e}");
        assert!(e.contains("\n  - cluster.version (line 4)"), "{e}");
    }

    #[test]
    fn missing_name_and_empty_files() {
        let e = load_str("", &[], None).unwrap_err();
        assert!(e.contains("name: is required"), "{e}");
        let e = load_str("# only a comment\n", &[], None).unwrap_err();
        assert!(e.contains("name: is required"), "{e}");
        let e = load_str("- a\n- b\n", &[], None).unwrap_err();
        assert!(e.contains("must be a mapping"), "{e}");
        let e = load_str("name: [unclosed\n", &[], None).unwrap_err();
        assert!(e.contains("not valid YAML") && e.contains("line"), "{e}");
    }

    #[test]
    fn adopting_needs_an_explicit_cluster_name() {
        let e = load_str("name: demo\ncluster:\n  create: false\n", &[], None).unwrap_err();
        assert!(
            e.contains("cluster.name (line 2): required when `cluster.create` is false"),
            "{e}"
        );
        let c = load_str(
            "name: demo\ncluster:\n  create: false\n  name: prod-eks\n  nodegroups: []\n",
            &[],
            None,
        )
        .unwrap();
        assert_eq!(c.cluster_name(), "prod-eks");
    }

    #[test]
    fn merge_keys_and_empty_values() {
        let c = load_str(
            "name: demo\nx-ng: &ng {instance_types: [c7g.large], disk_size_gib: 80}\n",
            &[],
            None,
        );
        // Unknown top-level keys are still rejected, anchors or not.
        assert!(c.unwrap_err().contains("unknown key `x-ng`"));
        let c = load_str(
            "name: demo\ncluster:\n  nodegroups:\n    - &ng {name: a, instance_types: [c7g.large], disk_size_gib: 80}\n    - <<: *ng\n      name: b\n",
            &[],
            None,
        )
        .unwrap();
        assert_eq!(c.cluster.nodegroups[1].name, "b");
        assert_eq!(c.cluster.nodegroups[1].disk_size_gib, 80);
        let e = load_str("name:\n", &[], None).unwrap_err();
        assert!(
            e.contains("name (line 1): invalid type: empty value"),
            "{e}"
        );
    }

    #[test]
    fn empty_sections_take_defaults() {
        let c = load_str(
            "name: demo\ngrafana:\n# comment only\nkubernetes:\n",
            &[],
            None,
        )
        .unwrap();
        assert_eq!(c.grafana, GrafanaConfig::default());
    }

    #[test]
    fn shipped_examples_load() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
        let mut n = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "yaml") {
                load(&path, &BTreeMap::new(), &Overrides::default())
                    .unwrap_or_else(|e| panic!("{}: {e:?}", path.display()));
                n += 1;
            }
        }
        assert!(n >= 1);
    }
}
