//! `meshctl.yaml`: schema, defaults, environment overrides and validation.
//!
//! Everything here runs before the first API call; a config that does not validate changes
//! nothing and exits 2.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// The tag (AWS) and label (Kubernetes) key that marks what a stack owns.
pub const STACK_TAG: &str = "meshctl.io/stack";
/// The Kubernetes label that marks objects meshctl manages.
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The stack name: every owned resource is tagged `meshctl.io/stack=<name>`.
    pub name: String,
    #[serde(default = "defaults::region")]
    pub region: String,
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
    /// Service account Prometheus runs as (remote write).
    pub prometheus_service_account: String,
    /// Service account the SigV4 proxy for Kiali runs as (queries).
    pub query_service_account: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct PrometheusConfig {
    pub namespace: String,
    /// Scrape interval, e.g. `30s`.
    pub scrape_interval: String,
    /// Run Prometheus in agent mode (AMP stores the data).
    pub agent: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct KialiConfig {
    pub enabled: bool,
    pub namespace: String,
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
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct PagerdutyConfig {
    pub enabled: bool,
    pub service_name: Option<String>,
    /// Escalation policy the new PagerDuty service uses, e.g. `PABC123`.
    pub escalation_policy_id: Option<String>,
    /// Name of the environment variable holding the PagerDuty REST API key (never the key).
    pub api_key_env: String,
    /// `critical`, `error`, `warning` or `info`.
    pub severity: String,
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
            version: "1.33".into(),
            vpc_cidr: "10.0.0.0/16".into(),
            nodegroups: vec![NodegroupConfig::default()],
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
        }
    }
}

impl Default for IstioConfig {
    fn default() -> Self {
        IstioConfig {
            version: "1.27.3".into(),
            namespace: "istio-system".into(),
            ingress_gateway: true,
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
            prometheus_service_account: "amp-iamproxy-ingest-service-account".into(),
            query_service_account: "amp-iamproxy-query-service-account".into(),
        }
    }
}

impl Default for PrometheusConfig {
    fn default() -> Self {
        PrometheusConfig {
            namespace: "prometheus".into(),
            scrape_interval: "30s".into(),
            agent: true,
        }
    }
}

impl Default for KialiConfig {
    fn default() -> Self {
        KialiConfig {
            enabled: true,
            namespace: "istio-system".into(),
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
        }
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

/// Values given on the command line, which win over everything else.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub region: Option<String>,
}

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
    let _ = env;
    let mut config: Config = serde_yaml_ng::from_str(&text).map_err(|e| Error::Config {
        message: e.to_string(),
        help: "see docs/config.md for every key".into(),
    })?;
    if let Some(region) = &overrides.region {
        config.region = region.clone();
    }
    Ok(config)
}
