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
pub const EKS_MINOR_VERSIONS: RangeInclusive<u32> = 29..=34;
/// Istio minor versions (`1.NN.x`) meshctl installs.
pub const ISTIO_MINOR_VERSIONS: RangeInclusive<u32> = 24..=28;
/// User tags allowed in `tags`: AWS allows 50 per resource and meshctl keeps room for its own.
pub const MAX_USER_TAGS: usize = 45;
/// The shortest `prometheus.scrape_interval`.
pub const MIN_SCRAPE_INTERVAL: Duration = Duration::from_secs(15);
/// Node root volume sizes EBS allows, in GiB.
pub const NODE_DISK_GIB: RangeInclusive<u32> = 20..=16384;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The stack name: every owned resource is tagged `meshctl.io/stack=<name>`.
    pub name: String,
    #[serde(default = "defaults::region")]
    pub region: String,
    /// Where `region` came from, for the plan header (`--region`, `MESHCTL_REGION`, the config
    /// file, or the default). Not a config key.
    #[serde(skip)]
    pub region_source: String,
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

/// Values given on the command line, which win over everything else.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub region: Option<String>,
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
/// Order: parse the YAML, lay the environment's keys and then the flags over it, reject unknown
/// keys, check each section's types, fill defaults, then check every value. Problems found in
/// one phase are reported together.
pub fn from_yaml(
    text: &str,
    source: &str,
    env: &BTreeMap<String, String>,
    overrides: &Overrides,
) -> Result<Config, Error> {
    let mut tree: Value = if text.trim().is_empty() {
        Value::Null
    } else {
        serde_yaml_ng::from_str(text).map_err(|e| {
            Error::config(
                format!("{source} is not valid YAML: {e}"),
                "fix the YAML at the line shown: indent nested keys with spaces (not tabs), and quote \
                 values that contain `: ` or ` #`, or start with `*`, `&`, `!`, `%` or `@`",
            )
        })?
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
    };
    let defaults = serde_yaml_ng::to_value(Config::with_defaults("")).expect("defaults serialise");
    let (settings, env_problems) = env::settings(env, &defaults);
    report.lines.extend(env_problems);
    for s in settings {
        tree::set(&mut tree, &s.path, s.value);
        report.origins.push((s.path, s.var));
    }
    if let Some(region) = &overrides.region {
        let path = tree::keys(&["region"]);
        tree::set(&mut tree, &path, Value::String(region.clone()));
        report.origins.push((path, "--region".into()));
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
    }
    report.finish()?;

    let map = tree.as_mapping().expect("checked above");
    for (k, v) in map {
        let key = tree::key_text(k);
        if let Err((path, msg)) = typecheck(&key, v) {
            report.at(&path, &msg, Target::Value);
        }
    }
    report.finish()?;

    let map = tree.as_mapping_mut().expect("checked above");
    if !map.contains_key("name") {
        // Reported by validation as "required", together with any other problem.
        map.insert(Value::from("name"), Value::from(""));
    }
    let region_source = report
        .origins
        .iter()
        .rev()
        .find(|(path, _)| *path == tree::keys(&["region"]))
        .map(|(_, origin)| origin.clone())
        .or_else(|| map.contains_key("region").then(|| source.to_string()))
        .unwrap_or_else(|| "default".into());
    let mut config: Config = match deserialize_at(vec![], tree) {
        Ok(c) => c,
        Err((path, msg)) => {
            report.at(&path, &msg, Target::Value);
            return Err(report.finish().expect_err("a problem was just added"));
        }
    };
    config.region_source = region_source;
    for (path, msg) in validate::check(&config) {
        report.at(&path, &msg, Target::Value);
    }
    report.finish()?;
    Ok(config)
}

/// Deserialize one top-level key on its own, so a type problem in each section is reported.
fn typecheck(key: &str, value: &Value) -> Result<(), (Vec<Seg>, String)> {
    fn de<T: DeserializeOwned>(key: &str, value: &Value) -> Result<(), (Vec<Seg>, String)> {
        deserialize_at::<T>(tree::keys(&[key]), value.clone()).map(|_| ())
    }
    match key {
        "name" | "region" | "state" => de::<String>(key, value),
        "tags" => de::<BTreeMap<String, String>>(key, value),
        "cluster" => de::<ClusterConfig>(key, value),
        "kubernetes" => de::<KubernetesConfig>(key, value),
        "istio" => de::<IstioConfig>(key, value),
        "amp" => de::<AmpConfig>(key, value),
        "irsa" => de::<IrsaConfig>(key, value),
        "prometheus" => de::<PrometheusConfig>(key, value),
        "kiali" => de::<KialiConfig>(key, value),
        "grafana" => de::<GrafanaConfig>(key, value),
        "pagerduty" => de::<PagerdutyConfig>(key, value),
        _ => Ok(()),
    }
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
            type_message(&e.inner().to_string())
        };
        (path, message)
    })
}

/// serde's type error, in the words of a config file, with how to fix it.
fn type_message(raw: &str) -> String {
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
        Err(Error::config(
            format!(
                "{n} problem{} in {}:\n{}",
                if n == 1 { "" } else { "s" },
                self.source,
                list.join("\n")
            ),
            HELP,
        ))
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
        let e = load_str("name: demo\n", &[("MESHCTL_REGOIN", "us-east-1")], None).unwrap_err();
        assert!(
            e.contains("`MESHCTL_REGOIN`") && e.contains("did you mean `MESHCTL_REGION`?"),
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
        // istio.version is a float here: a type problem, reported before value rules.
        let e = e.unwrap_err();
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
