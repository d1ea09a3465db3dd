//! `meshctl init`: write a commented meshctl.yaml.
//!
//! On a terminal it asks for the stack name, region, whether to create or adopt a cluster and
//! the cluster's name; otherwise it takes them from flags and defaults. The file it writes
//! holds every section with comments, and is checked with the same loader `up` uses before
//! it is written.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use crate::cli::InitArgs;
use crate::config::{self, Config, Overrides, validate};
use crate::error::Error;
use crate::ui::Ui;

/// The stack name used when neither `--name` nor an answer gives one.
pub const DEFAULT_NAME: &str = "demo";

/// What the file is written from.
#[derive(Debug, Clone, PartialEq)]
pub struct Answers {
    pub name: String,
    pub region: String,
    /// `true` to adopt an existing cluster (`cluster.create: false`).
    pub adopt: bool,
    /// Set when the cluster is not named after the stack (always set when adopting).
    pub cluster_name: Option<String>,
}

pub fn run(args: &InitArgs, path: &Path, ui: &Ui) -> Result<(), Error> {
    if path.exists() && !args.force {
        return Err(Error::usage(
            format!("{} already exists; not overwriting it", path.display()),
            "pass --force to replace it, or write a new file elsewhere with --config <path>",
        ));
    }
    let answers = if ui.is_interactive() {
        ask(args)?
    } else {
        from_flags(args)?
    };
    let text = render(&answers);
    // What we write must load: a failure here is a bug in this module, but never write it.
    config::from_yaml(
        &text,
        &path.display().to_string(),
        &BTreeMap::new(),
        &Overrides::default(),
    )?;
    if args.dry_run {
        ui.emit(&InitPreview {
            kind: "init-preview",
            path: path.display().to_string(),
            content: text,
        });
        return Ok(());
    }
    write(path, &text, args.force)?;
    ui.info(format!("Wrote {}.", path.display()));
    let config_flag = if path == Path::new("meshctl.yaml") {
        String::new()
    } else {
        format!(" --config {}", path.display())
    };
    ui.info(format!(
        "Next: review it, then run `meshctl up --dry-run{config_flag}` to see what would be created."
    ));
    Ok(())
}

/// What `meshctl init --dry-run` prints instead of writing the file.
#[derive(Debug, serde::Serialize)]
pub struct InitPreview {
    /// Always `init-preview`.
    pub kind: &'static str,
    /// The file that would be written.
    pub path: String,
    /// Its content.
    pub content: String,
}

impl std::fmt::Display for InitPreview {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "Would write {}:\n", self.path)?;
        write!(f, "{}", self.content)?;
        if !self.content.ends_with('\n') {
            writeln!(f)?;
        }
        writeln!(f, "\n--dry-run: nothing was written.")
    }
}

fn write(path: &Path, text: &str, force: bool) -> Result<(), Error> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    if force {
        options.create(true).truncate(true);
    } else {
        // Refuse to clobber a file that appeared since the check above.
        options.create_new(true);
    }
    let mut file = options.open(path).map_err(|e| {
        Error::usage(
            format!("cannot write {}: {e}", path.display()),
            "check that its directory exists and is writable, or choose another path with --config",
        )
    })?;
    file.write_all(text.as_bytes())?;
    Ok(())
}

/// Answers from flags and defaults, for scripts and CI.
pub fn from_flags(args: &InitArgs) -> Result<Answers, Error> {
    let name = args
        .name
        .clone()
        .unwrap_or_else(|| DEFAULT_NAME.to_string());
    check_flag("--name", validate::stack_name(&name))?;
    let region = args
        .region
        .clone()
        .unwrap_or_else(|| Config::with_defaults("").region);
    check_flag("--region", validate::region(&region))?;
    if let Some(c) = &args.cluster_name {
        check_flag("--cluster-name", validate::cluster_name(c))?;
    }
    if args.adopt_cluster && args.cluster_name.is_none() {
        return Err(Error::usage(
            "--adopt-cluster needs the name of the cluster to adopt",
            "add --cluster-name <existing EKS cluster>",
        ));
    }
    Ok(Answers {
        name,
        region,
        adopt: args.adopt_cluster,
        cluster_name: args.cluster_name.clone(),
    })
}

fn check_flag(flag: &str, result: Result<(), String>) -> Result<(), Error> {
    result.map_err(|m| {
        Error::usage(
            format!("{flag}: {m}"),
            "correct the flag's value and run `meshctl init` again",
        )
    })
}

/// Ask on the terminal, offering the flags' values (or defaults) as defaults.
fn ask(args: &InitArgs) -> Result<Answers, Error> {
    let name = args
        .name
        .clone()
        .unwrap_or_else(|| DEFAULT_NAME.to_string());
    let name: String = dialoguer::Input::<String>::new()
        .with_prompt("Stack name (tags everything the stack owns)")
        .default(name)
        .validate_with(|s: &String| validate::stack_name(s))
        .interact_text()
        .map_err(prompt_error)?;
    let region = args
        .region
        .clone()
        .unwrap_or_else(|| Config::with_defaults("").region);
    let region: String = dialoguer::Input::<String>::new()
        .with_prompt("AWS region")
        .default(region)
        .validate_with(|s: &String| validate::region(s))
        .interact_text()
        .map_err(prompt_error)?;
    let choice = dialoguer::Select::new()
        .with_prompt("EKS cluster")
        .items([
            "Create a new cluster (deleted by `meshctl cleanup`)",
            "Adopt an existing cluster (never deleted)",
        ])
        .default(usize::from(args.adopt_cluster))
        .interact()
        .map_err(prompt_error)?;
    let adopt = choice == 1;
    let mut input = dialoguer::Input::<String>::new();
    if adopt {
        input = input.with_prompt("Name of the existing EKS cluster");
        if let Some(c) = &args.cluster_name {
            input = input.default(c.clone());
        }
    } else {
        input = input
            .with_prompt("Name for the new EKS cluster")
            .default(args.cluster_name.clone().unwrap_or_else(|| name.clone()));
    }
    let cluster: String = input
        .validate_with(|s: &String| validate::cluster_name(s))
        .interact_text()
        .map_err(prompt_error)?;
    let cluster_name = (adopt || cluster != name).then_some(cluster);
    Ok(Answers {
        name,
        region,
        adopt,
        cluster_name,
    })
}

fn prompt_error(e: dialoguer::Error) -> Error {
    match e {
        dialoguer::Error::IO(e) if e.kind() == std::io::ErrorKind::Interrupted => {
            Error::Interrupted
        }
        e => Error::usage(
            format!("could not read the answer: {e}"),
            "run `meshctl init` without a terminal and pass --name, --region and --cluster-name instead",
        ),
    }
}

/// A YAML string scalar, quoted when YAML would otherwise read it as something else.
fn scalar(s: &str) -> String {
    serde_yaml_ng::to_string(s)
        .map(|t| t.trim_end().to_string())
        .unwrap_or_else(|_| format!("{s:?}"))
}

/// The commented file. Values not chosen by the user come from the schema's defaults, so the
/// file and `docs/config.md` describe the same defaults.
pub fn render(a: &Answers) -> String {
    let d = Config::with_defaults(&a.name);
    let ng = d.cluster.nodegroups.first().cloned().unwrap_or_default();
    let (lo, hi) = (
        config::EKS_MINOR_VERSIONS.start(),
        config::EKS_MINOR_VERSIONS.end(),
    );
    let (ilo, ihi) = (
        config::ISTIO_MINOR_VERSIONS.start(),
        config::ISTIO_MINOR_VERSIONS.end(),
    );
    let mut f = String::new();
    let w = &mut f;
    let _ = writeln!(
        w,
        "# meshctl stack configuration, written by `meshctl init`.\n\
         # Every key is described in docs/config.md. Any key can also be set from the environment:\n\
         # MESHCTL_<KEY> for top-level keys, MESHCTL_<SECTION>__<KEY> for the rest\n\
         # (e.g. MESHCTL_REGION, MESHCTL_AMP__ALIAS). Flags beat the environment, which beats this file.\n"
    );
    let _ = writeln!(
        w,
        "# Stack name: 1-32 lowercase letters, digits and hyphens. Everything the stack creates is\n\
         # tagged {tag}=<name>, and cleanup removes exactly what carries that tag.\n\
         name: {name}\n\n\
         # AWS region for every resource.\n\
         region: {region}\n\n\
         # Where the ledger, state and lock live: a directory, or s3://<bucket>/<prefix> to share\n\
         # the stack between machines (CI).\n\
         state: {state}\n\n\
         # Extra tags on every AWS resource (at most {max_tags}; keys starting `aws:` are reserved).\n\
         # Uncomment and edit the example line; a section holding only comments means no tags.\n\
         tags:\n\
         \x20 # team: platform\n",
        tag = config::STACK_TAG,
        name = scalar(&a.name),
        region = scalar(&a.region),
        state = scalar(&d.state),
        max_tags = config::MAX_USER_TAGS,
    );
    let cluster_name = match &a.cluster_name {
        Some(c) => format!("  name: {}", scalar(c)),
        None => "  # name: my-cluster".to_string(),
    };
    let instance_types: Vec<String> = ng.instance_types.iter().map(|t| scalar(t)).collect();
    let _ = writeln!(
        w,
        "cluster:\n\
         \x20 # EKS cluster name; defaults to the stack name. Required when adopting.\n\
         {cluster_name}\n\
         \x20 # true: create the cluster (and its VPC and node groups); false: adopt an existing\n\
         \x20 # cluster, which meshctl never modifies or deletes.\n\
         \x20 create: {create}\n\
         \x20 # Kubernetes version for a new cluster, \"1.{lo}\" to \"1.{hi}\" (quoted).\n\
         \x20 version: {version}\n\
         \x20 # IPv4 range of the new VPC, /16 to /24.\n\
         \x20 vpc_cidr: {cidr}\n\
         \x20 # Managed node groups of a new cluster (ignored when adopting).\n\
         \x20 nodegroups:\n\
         \x20   - name: {ng_name}\n\
         \x20     instance_types: [{types}]\n\
         \x20     # min_size <= desired_size <= max_size\n\
         \x20     min_size: {min}\n\
         \x20     max_size: {max}\n\
         \x20     desired_size: {desired}\n\
         \x20     # Root volume, {dlo} to {dhi} GiB.\n\
         \x20     disk_size_gib: {disk}\n",
        create = !a.adopt,
        version = scalar(&d.cluster.version),
        cidr = scalar(&d.cluster.vpc_cidr),
        ng_name = scalar(&ng.name),
        types = instance_types.join(", "),
        min = ng.min_size,
        max = ng.max_size,
        desired = ng.desired_size,
        dlo = config::NODE_DISK_GIB.start(),
        dhi = config::NODE_DISK_GIB.end(),
        disk = ng.disk_size_gib,
    );
    let _ = writeln!(
        w,
        "# How to reach the Kubernetes API. Leave both unset to use the EKS cluster above.\n\
         kubernetes:\n\
         \x20 # Path of a kubeconfig file (not read until a step needs it).\n\
         \x20 # kubeconfig: ~/.kube/config\n\
         \x20 # Context within that kubeconfig.\n\
         \x20 # context: my-context\n"
    );
    let _ = writeln!(
        w,
        "istio:\n\
         \x20 # Istio release, 1.{ilo}.x to 1.{ihi}.x.\n\
         \x20 version: {version}\n\
         \x20 namespace: {ns}\n\
         \x20 # Install an ingress gateway.\n\
         \x20 ingress_gateway: {gw}\n\
         \x20 # Data plane: sidecar or ambient.\n\
         \x20 mode: {mode}\n\
         \x20 # Chart values: demo (small) or production (replicas, HPA, PDBs, NLB gateway).\n\
         \x20 profile: {profile}\n\
         \x20 # Mesh-wide mTLS: permissive or strict.\n\
         \x20 mtls: {mtls}\n\
         \x20 # Application namespaces that join the mesh.\n\
         \x20 # namespaces: [shop]\n\
         \x20 # A values file with one section per chart (istiod:, gateway:, ...).\n\
         \x20 # values: istio-values.yaml\n",
        version = scalar(&d.istio.version),
        ns = scalar(&d.istio.namespace),
        gw = d.istio.ingress_gateway,
        mode = d.istio.mode.as_str(),
        profile = d.istio.profile.as_str(),
        mtls = match d.istio.mtls {
            crate::config::MtlsMode::Permissive => "permissive",
            crate::config::MtlsMode::Strict => "strict",
        },
    );
    let _ = writeln!(
        w,
        "# Amazon Managed Service for Prometheus.\n\
         amp:\n\
         \x20 # Workspace alias; defaults to the stack name.\n\
         \x20 # alias: my-workspace\n\
         \x20 # Use an existing workspace (never tagged or deleted) instead of creating one.\n\
         \x20 # workspace_id: ws-12345678-abcd-1234-abcd-123456789012\n\
         \x20 # Rule-groups namespace holding the Istio alerting rules.\n\
         \x20 rules_namespace: {rules}\n\
         \x20 alerts:\n\
         \x20   # Alert when more than this share of a service's requests fail (0 < ratio < 1).\n\
         \x20   error_ratio: {ratio}\n\
         \x20   # Alert when a service's p99 latency exceeds this many milliseconds.\n\
         \x20   p99_latency_ms: {p99}\n",
        rules = scalar(&d.amp.rules_namespace),
        ratio = d.amp.alerts.error_ratio,
        p99 = d.amp.alerts.p99_latency_ms,
    );
    let _ = writeln!(
        w,
        "# Kubernetes service accounts given IAM roles (IRSA).\n\
         irsa:\n\
         \x20 # Prometheus writes to AMP as this account.\n\
         \x20 prometheus_service_account: {p}\n\
         \x20 # The SigV4 proxy Kiali queries AMP through runs as this account.\n\
         \x20 query_service_account: {q}\n",
        p = scalar(&d.irsa.prometheus_service_account),
        q = scalar(&d.irsa.query_service_account),
    );
    let _ = writeln!(
        w,
        "prometheus:\n\
         \x20 namespace: {ns}\n\
         \x20 # How often to scrape, e.g. 30s or 1m (at least {min}; 30s with managed-collector).\n\
         \x20 scrape_interval: {interval}\n\
         \x20 # agent: Prometheus in agent mode in the cluster, remote-writing to AMP;\n\
         \x20 # managed-collector: an AMP managed scraper, nothing runs in the cluster.\n\
         \x20 mode: {mode}\n\
         \x20 # Drop Envoy/Istio series and labels Kiali and the dashboards do not use.\n\
         \x20 thinning: {thinning}\n\
         \x20 # image: {image}\n",
        ns = scalar(&d.prometheus.namespace),
        min = humantime::format_duration(config::MIN_SCRAPE_INTERVAL),
        interval = scalar(&d.prometheus.scrape_interval),
        mode = scalar(&d.prometheus.mode),
        thinning = d.prometheus.thinning,
        image = scalar(&d.prometheus.image),
    );
    let _ = writeln!(
        w,
        "kiali:\n\
         \x20 enabled: {enabled}\n\
         \x20 namespace: {ns}\n",
        enabled = d.kiali.enabled,
        ns = scalar(&d.kiali.namespace),
    );
    let dashboards: Vec<String> = d.grafana.dashboards.iter().map(u32::to_string).collect();
    let _ = writeln!(
        w,
        "# Amazon Managed Grafana.\n\
         grafana:\n\
         \x20 enabled: {enabled}\n\
         \x20 # Workspace name; defaults to the stack name.\n\
         \x20 # workspace_name: my-grafana\n\
         \x20 # AWS_SSO (IAM Identity Center) or SAML.\n\
         \x20 authentication: {auth}\n\
         \x20 # IAM Identity Center user and group ids made Grafana admins.\n\
         \x20 admin_users: []\n\
         \x20 admin_groups: []\n\
         \x20 # grafana.com dashboard ids to import (the Istio dashboards).\n\
         \x20 dashboards: [{dashboards}]\n",
        enabled = d.grafana.enabled,
        auth = scalar(&d.grafana.authentication),
        dashboards = dashboards.join(", "),
    );
    let _ = write!(
        w,
        "# PagerDuty service receiving Grafana alerts.\n\
         pagerduty:\n\
         \x20 enabled: {enabled}\n\
         \x20 # Service name; defaults to `<stack>-istio`.\n\
         \x20 # service_name: my-service\n\
         \x20 # Escalation policy of the new service (like PABC123); required when enabled.\n\
         \x20 # escalation_policy_id: PABC123\n\
         \x20 # NAME of the environment variable holding the PagerDuty REST API key.\n\
         \x20 # Never put the key itself in this file.\n\
         \x20 api_key_env: {key_env}\n\
         \x20 # critical, error, warning or info.\n\
         \x20 severity: {severity}\n",
        enabled = d.pagerduty.enabled,
        key_env = scalar(&d.pagerduty.api_key_env),
        severity = scalar(&d.pagerduty.severity),
    );
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{KubernetesConfig, from_yaml};

    fn load(text: &str) -> Config {
        from_yaml(text, "init.yaml", &BTreeMap::new(), &Overrides::default())
            .unwrap_or_else(|e| panic!("{e:?}\n{text}"))
    }

    #[test]
    fn written_file_loads_and_matches_defaults() {
        let a = Answers {
            name: "demo".into(),
            region: "us-west-2".into(),
            adopt: false,
            cluster_name: None,
        };
        let text = render(&a);
        // The region is written to the file, so its source is the file, not the default.
        let expected = Config {
            region_source: "init.yaml".into(),
            ..Config::with_defaults("demo")
        };
        assert_eq!(load(&text), expected);
        for section in [
            "\ncluster:",
            "\nkubernetes:",
            "\nistio:",
            "\namp:",
            "\nirsa:",
            "\nprometheus:",
            "\nkiali:",
            "\ngrafana:",
            "\npagerduty:",
            "\ntags:",
            "\nstate:",
        ] {
            assert!(text.contains(section), "{section} missing");
        }
    }

    #[test]
    fn adopting_writes_the_cluster_name() {
        let a = Answers {
            name: "team-a".into(),
            region: "eu-central-1".into(),
            adopt: true,
            cluster_name: Some("prod_eks-1".into()),
        };
        let c = load(&render(&a));
        assert!(!c.cluster.create);
        assert_eq!(c.cluster_name(), "prod_eks-1");
        assert_eq!(c.region, "eu-central-1");
        assert_eq!(c.kubernetes, KubernetesConfig::default());
    }

    #[test]
    fn flags_are_checked() {
        let mut args = InitArgs {
            name: Some("Bad Name".into()),
            ..Default::default()
        };
        assert!(
            matches!(from_flags(&args), Err(Error::Usage { message, .. }) if message.starts_with("--name:"))
        );
        args.name = None;
        assert_eq!(from_flags(&args).unwrap().name, DEFAULT_NAME);
        args.adopt_cluster = true;
        assert!(
            matches!(from_flags(&args), Err(Error::Usage { message, .. }) if message.contains("--adopt-cluster"))
        );
        args.cluster_name = Some("existing".into());
        args.region = Some("us-west".into());
        assert!(
            matches!(from_flags(&args), Err(Error::Usage { message, .. }) if message.starts_with("--region:"))
        );
    }
}
