//! Command-line definitions only: no behaviour lives here.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::engine::StepId;

/// Provision, verify and tear down a monitored Istio service mesh on AWS.
#[derive(Debug, Parser)]
#[command(name = "meshctl", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Stack configuration file.
    #[arg(
        long,
        global = true,
        env = "MESHCTL_CONFIG",
        default_value = "meshctl.yaml"
    )]
    pub config: PathBuf,

    /// AWS region (overrides `region` in the config file).
    #[arg(long, global = true)]
    pub region: Option<String>,

    /// AWS shared-config profile to use for credentials.
    #[arg(long, global = true, env = "AWS_PROFILE")]
    pub profile: Option<String>,

    /// Output format. With `json`, progress goes to stderr and stdout holds one JSON document.
    #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Text, env = "MESHCTL_OUTPUT")]
    pub output: OutputFormat,

    /// Do not ask for confirmation (required for changes when there is no terminal).
    #[arg(long, short = 'y', global = true)]
    pub yes: bool,

    /// Print the plan and make no change.
    #[arg(long, global = true)]
    pub dry_run: bool,

    /// More detail in logs (-v, -vv).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Plain output without colour (NO_COLOR is honoured too).
    #[arg(long, global = true)]
    pub no_color: bool,

    /// Longest time to wait for any one resource to become ready or deleted (e.g. 20m, 90s).
    #[arg(long, global = true, value_parser = parse_duration, default_value = "30m")]
    pub timeout: Duration,

    /// Create or delete resources but do not wait for them to become ready or gone.
    #[arg(long, global = true)]
    pub no_wait: bool,

    /// Keep what a failed run created instead of rolling it back (for debugging).
    #[arg(long, global = true)]
    pub no_rollback: bool,

    /// Remove a lock left behind by a run that no longer exists, then continue.
    #[arg(long, global = true)]
    pub force_unlock: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create or update the whole stack, running independent steps concurrently.
    Up(UpArgs),
    /// EKS cluster, VPC, node groups and OIDC provider.
    Cluster,
    /// Istio control plane and ingress gateway (Helm charts).
    Istio,
    /// Amazon Managed Service for Prometheus workspace and Istio rules.
    Amp,
    /// IAM roles for service accounts used by the collectors.
    Irsa,
    /// Prometheus remote-writing Istio metrics to AMP with SigV4.
    Prometheus,
    /// Kiali reading AMP through a SigV4 proxy.
    Kiali,
    /// Amazon Managed Grafana workspace, AMP data source and Istio dashboards.
    Grafana,
    /// PagerDuty service and Grafana alerting to it (`pagerduty test` sends a test event).
    Pagerduty(PagerdutyArgs),
    /// Remove everything this stack owns, found by tags and labels.
    Cleanup(CleanupArgs),
    /// Show what exists for this stack.
    Status,
    /// Write a commented meshctl.yaml.
    Init(InitArgs),
    /// Print a shell completion script.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Clone, Args, Default)]
pub struct UpArgs {
    /// Run only these steps (comma separated), e.g. `--only amp,grafana`.
    #[arg(long, value_delimiter = ',', value_enum)]
    pub only: Vec<StepId>,
}

#[derive(Debug, Clone, Args, Default)]
pub struct PagerdutyArgs {
    #[command(subcommand)]
    pub action: Option<PagerdutyAction>,
}

#[derive(Debug, Clone, Copy, Subcommand)]
pub enum PagerdutyAction {
    /// Send a test event through the Events API v2, report its dedup key, then resolve it.
    Test,
}

#[derive(Debug, Clone, Args, Default)]
pub struct CleanupArgs {
    /// Clean up only these steps (comma separated), e.g. `--only amp`.
    #[arg(long, value_delimiter = ',', value_enum)]
    pub only: Vec<StepId>,
}

#[derive(Debug, Clone, Args, Default)]
pub struct InitArgs {
    /// Stack name (asked on a terminal when omitted).
    #[arg(long)]
    pub name: Option<String>,
    /// Region to write: the global `--region` flag, which the caller copies in (clap cannot give
    /// a subcommand its own `--region` beside the global one).
    #[arg(skip)]
    pub region: Option<String>,
    /// EKS cluster name, when it differs from the stack name (required with --adopt-cluster).
    #[arg(long)]
    pub cluster_name: Option<String>,
    /// Adopt an existing EKS cluster instead of creating one (`cluster.create: false`).
    #[arg(long)]
    pub adopt_cluster: bool,
    /// Overwrite an existing file.
    #[arg(long)]
    pub force: bool,
}

pub fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s)
        .map_err(|e| format!("`{s}` is not a duration such as 90s, 20m or 1h: {e}"))
}
