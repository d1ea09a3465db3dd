//! Command-line definitions, which global flag applies to which subcommand, and the help text
//! computed from the code (plan-only steps).

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

    /// Longest time to wait for any one resource to become ready or deleted (e.g. 20m, 90s; at
    /// least 10s).
    #[arg(long, global = true, value_parser = parse_timeout, default_value = "30m")]
    pub timeout: Duration,

    /// Longest time one attempt of one AWS call may take (connecting: at most 10s of it);
    /// an endpoint that does not answer in time fails the call after the SDK's retries.
    #[arg(long, global = true, value_parser = parse_duration, default_value = "60s", env = "MESHCTL_CALL_TIMEOUT")]
    pub call_timeout: Duration,

    /// Create or delete resources but do not wait for them to become ready or gone.
    #[arg(long, global = true)]
    pub no_wait: bool,

    /// Keep what a failed run created instead of rolling it back (for debugging).
    #[arg(long, global = true)]
    pub no_rollback: bool,

    /// Remove a lock left behind by a run that no longer exists, then continue.
    #[arg(long, global = true)]
    pub force_unlock: bool,

    /// How long to wait for another run's lock on the stack before giving up (e.g. 5m;
    /// default 0s: fail at once).
    #[arg(long, global = true, value_parser = parse_duration, default_value = "0s")]
    pub lock_timeout: Duration,

    /// Run even though the stack's state says its resources live in another region or
    /// account than this command would use (otherwise meshctl stops, exit code 2).
    #[arg(long, global = true)]
    pub allow_region_change: bool,
    /// The global flags given explicitly on the command line (their `--long` names), filled in
    /// by [`parse_from`]: [`check_scope`] rejects those that mean nothing for the subcommand.
    #[arg(skip)]
    pub given: Vec<&'static str>,
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
    /// Kiali reading AMP through a SigV4 proxy (`kiali open` port-forwards to it).
    Kiali(KialiArgs),
    /// Amazon Managed Grafana workspace, AMP data source and Istio dashboards.
    Grafana,
    /// PagerDuty service and Grafana alerting to it (`pagerduty test` sends a test event).
    Pagerduty(PagerdutyArgs),
    /// Remove everything this stack owns, found by tags and labels.
    Cleanup(CleanupArgs),
    /// Show what exists for this stack.
    Status,
    /// Check that this machine and account are ready for `meshctl up`: config, region,
    /// credentials, helm, endpoints and the quotas that commonly block EKS. Changes nothing.
    Doctor,
    /// Prove the data path end to end (AMP query, Grafana data source and dashboards,
    /// PagerDuty contact point) and name the first broken link with its likely fix.
    Verify,
    /// Write a commented meshctl.yaml.
    Init(InitArgs),
    /// Print an EKS bearer token as a client-go ExecCredential, for kubeconfig `exec` entries
    /// (what `aws eks get-token` prints; no AWS CLI needed and no network call).
    Token(TokenArgs),
    /// Send HTTP load to the sample's product page (or --url) and summarise latency and errors.
    Traffic(TrafficArgs),
    /// Write or merge a kubeconfig context for the stack's EKS cluster whose user runs
    /// `meshctl token` (what `aws eks update-kubeconfig` does; no AWS CLI needed).
    Kubeconfig(KubeconfigArgs),
    /// Migrate another service mesh to Istio (`migrate appmesh …`, docs/migrate-appmesh.md).
    Migrate(crate::migrate::MigrateArgs),
    /// Print a shell completion script.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Clone, Args)]
pub struct TokenArgs {
    /// Name of the EKS cluster the token is for (the API server checks it).
    #[arg(long)]
    pub cluster: String,
}

#[derive(Debug, Clone, Args, Default)]
pub struct KubeconfigArgs {
    /// EKS cluster name (default: the stack's cluster, `cluster.name` or the stack name).
    #[arg(long)]
    pub cluster: Option<String>,
    /// Kubeconfig file to write or merge into (default: the first entry of $KUBECONFIG, else
    /// ~/.kube/config).
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
    /// Name of the context to write (default: the cluster's ARN, as the cluster entry).
    #[arg(long)]
    pub context: Option<String>,
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
pub struct KialiArgs {
    #[command(subcommand)]
    pub action: Option<KialiAction>,
}

#[derive(Debug, Clone, Copy, Subcommand)]
pub enum KialiAction {
    /// Port-forward to Kiali through the API server and print the local URL (until Ctrl-C).
    Open {
        /// Local port to listen on (127.0.0.1).
        #[arg(long, default_value_t = 20001)]
        port: u16,
    },
}

#[derive(Debug, Clone, Args)]
pub struct TrafficArgs {
    /// URL to load; default: the Bookinfo product page behind the ingress gateway.
    #[arg(long)]
    pub url: Option<String>,
    /// Stop after this many requests (default 100 when --duration is not given).
    #[arg(long)]
    pub requests: Option<u64>,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// Stop after this long (e.g. 30s, 5m); with --requests, whichever comes first.
    #[arg(long, value_parser = parse_duration)]
    pub duration: Option<Duration>,
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
    /// Print the file instead of writing it: the global `--dry-run` flag, copied in by the caller.
    #[arg(skip)]
    pub dry_run: bool,
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

/// The shortest `--timeout`: a wait polls every few seconds, so anything shorter could not poll
/// even once before giving up (docs/exit-codes.md).
pub const MIN_TIMEOUT: Duration = Duration::from_secs(10);

/// `--timeout`: a duration of at least [`MIN_TIMEOUT`].
pub fn parse_timeout(s: &str) -> Result<Duration, String> {
    let d = parse_duration(s)?;
    if d < MIN_TIMEOUT {
        return Err(format!(
            "`{s}` is too short: a wait needs at least {} to poll once (e.g. --timeout 90s)",
            humantime::format_duration(MIN_TIMEOUT)
        ));
    }
    Ok(d)
}

/// What a subcommand does, for flag scoping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    /// `up` and the step subcommands: plan, confirm, apply, roll back.
    Apply,
    Cleanup,
    Status,
    /// `pagerduty test`: sends one event; nothing to plan, confirm or roll back.
    Probe,
    Init,
    Completions,
    /// `token`: signs locally; needs a region and credentials, nothing else.
    Token,
    /// `doctor`: read-only checks; works even when the config does not load.
    Doctor,
    /// `kubeconfig`: reads the stack state (or DescribeCluster) and writes a local file.
    Kubeconfig,
    /// `migrate appmesh inventory` / `translate`: read-only.
    MigrateRead,
    /// `migrate appmesh apply` / `shift` / `rollback` / `remove`: plan, confirm, change.
    MigrateChange,
}

impl Command {
    /// The subcommand's name as typed.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Up(_) => "up",
            Command::Cluster => "cluster",
            Command::Istio => "istio",
            Command::Amp => "amp",
            Command::Irsa => "irsa",
            Command::Prometheus => "prometheus",
            Command::Kiali(KialiArgs {
                action: Some(KialiAction::Open { .. }),
            }) => "kiali open",
            Command::Kiali(_) => "kiali",
            Command::Traffic(_) => "traffic",
            Command::Grafana => "grafana",
            Command::Pagerduty(PagerdutyArgs {
                action: Some(PagerdutyAction::Test),
            }) => "pagerduty test",
            Command::Pagerduty(_) => "pagerduty",
            Command::Cleanup(_) => "cleanup",
            Command::Status => "status",
            Command::Verify => "verify",
            Command::Doctor => "doctor",
            Command::Init(_) => "init",
            Command::Token(_) => "token",
            Command::Kubeconfig(_) => "kubeconfig",
            Command::Completions { .. } => "completions",
            Command::Migrate(a) => {
                let crate::migrate::MigrateFrom::Appmesh(m) = &a.from;
                m.action.name()
            }
        }
    }

    fn family(&self) -> Family {
        match self {
            Command::Cleanup(_) => Family::Cleanup,
            Command::Status | Command::Verify => Family::Status,
            Command::Pagerduty(PagerdutyArgs {
                action: Some(PagerdutyAction::Test),
            }) => Family::Probe,
            Command::Init(_) => Family::Init,
            Command::Completions { .. } => Family::Completions,
            Command::Token(_) => Family::Token,
            Command::Kiali(KialiArgs {
                action: Some(KialiAction::Open { .. }),
            })
            | Command::Traffic(_) => Family::Probe,
            Command::Doctor => Family::Doctor,
            Command::Kubeconfig(_) => Family::Kubeconfig,
            Command::Migrate(a) => {
                let crate::migrate::MigrateFrom::Appmesh(m) = &a.from;
                if m.action.changes() {
                    Family::MigrateChange
                } else {
                    Family::MigrateRead
                }
            }
            _ => Family::Apply,
        }
    }
}

/// Which global flags apply to which kind of subcommand. `-v` and `--no-color` apply to all.
const SCOPES: &[(&str, &[Family])] = {
    use Family::*;
    &[
        (
            "config",
            &[
                Apply,
                Cleanup,
                Status,
                Probe,
                Init,
                Doctor,
                Kubeconfig,
                MigrateRead,
                MigrateChange,
            ],
        ),
        (
            "region",
            &[
                Apply,
                Cleanup,
                Status,
                Probe,
                Init,
                Token,
                Doctor,
                Kubeconfig,
                MigrateRead,
                MigrateChange,
            ],
        ),
        (
            "profile",
            &[
                Apply,
                Cleanup,
                Status,
                Probe,
                Token,
                Doctor,
                Kubeconfig,
                MigrateRead,
                MigrateChange,
            ],
        ),
        (
            "call-timeout",
            &[
                Apply,
                Cleanup,
                Status,
                Probe,
                Doctor,
                Kubeconfig,
                MigrateRead,
                MigrateChange,
            ],
        ),
        ("allow-region-change", &[Apply, Cleanup, Status]),
        (
            "output",
            &[
                Apply,
                Cleanup,
                Status,
                Probe,
                Init,
                Doctor,
                Kubeconfig,
                MigrateRead,
                MigrateChange,
            ],
        ),
        ("yes", &[Apply, Cleanup, MigrateChange]),
        (
            "dry-run",
            &[Apply, Cleanup, Init, Kubeconfig, MigrateChange],
        ),
        ("timeout", &[Apply, Cleanup, MigrateChange]),
        ("no-wait", &[Apply, Cleanup]),
        ("no-rollback", &[Apply]),
        ("force-unlock", &[Apply, Cleanup, MigrateChange]),
        ("lock-timeout", &[Apply, Cleanup]),
    ]
};

/// The subcommands a family stands for, as typed, for messages.
fn family_names(f: Family) -> &'static str {
    match f {
        Family::Apply => "up, cluster, istio, amp, irsa, prometheus, kiali, grafana, pagerduty",
        Family::Cleanup => "cleanup",
        Family::Status => "status, verify",
        Family::Probe => "pagerduty test, kiali open, traffic",
        Family::Init => "init",
        Family::Completions => "completions",
        Family::Token => "token",
        Family::Doctor => "doctor",
        Family::Kubeconfig => "kubeconfig",
        Family::MigrateRead => "migrate appmesh inventory, migrate appmesh translate",
        Family::MigrateChange => {
            "migrate appmesh apply, migrate appmesh shift, migrate appmesh rollback, migrate appmesh remove"
        }
    }
}

/// A global flag given on the command line that means nothing for the subcommand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutOfScope {
    pub flag: &'static str,
    pub command: &'static str,
    /// The subcommands the flag applies to, comma separated.
    pub applies_to: String,
}

/// The first global flag given explicitly (not from the environment or a default) that does not
/// apply to `cli.command`.
pub fn check_scope(cli: &Cli) -> Option<OutOfScope> {
    let family = cli.command.family();
    cli.global.given.iter().find_map(|flag| {
        let (_, families) = SCOPES.iter().find(|(f, _)| f == flag)?;
        if families.contains(&family) {
            return None;
        }
        Some(OutOfScope {
            flag,
            command: cli.command.name(),
            applies_to: families
                .iter()
                .map(|f| family_names(*f))
                .collect::<Vec<_>>()
                .join(", "),
        })
    })
}

/// The clap command with the help computed from the code: each step subcommand that this
/// version can plan but not apply says so.
pub fn command() -> clap::Command {
    let mut cmd = <Cli as clap::CommandFactory>::command();
    for id in StepId::ALL {
        if crate::steps::step(id).available() {
            continue;
        }
        cmd = cmd.mut_subcommand(id.name(), |sub| {
            let about = sub.get_about().map(|a| a.to_string()).unwrap_or_default();
            sub.about(format!("{about} [plan only: --dry-run]"))
        });
    }
    cmd
}

/// Parse `args` (the program name first) with [`command`], recording which global flags were
/// given on the command line.
pub fn parse_from<I, T>(args: I) -> Result<Cli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    use clap::FromArgMatches;
    let matches = command().try_get_matches_from(args)?;
    let mut cli = Cli::from_arg_matches(&matches)?;
    // Global flags propagate to the subcommand's matches: look there (and at the top level).
    let sub = matches.subcommand().map(|(_, m)| m);
    for (flag, _) in SCOPES {
        let id = flag.replace('-', "_");
        let explicit = |m: &clap::ArgMatches| {
            m.value_source(&id) == Some(clap::parser::ValueSource::CommandLine)
        };
        if explicit(&matches) || sub.is_some_and(explicit) {
            cli.global.given.push(flag);
        }
    }
    Ok(cli)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A new global flag must say where it applies, or it would be accepted everywhere.
    #[test]
    fn every_global_flag_has_a_scope_or_applies_everywhere() {
        let everywhere = ["verbose", "no-color", "help", "version"];
        for arg in command().get_arguments() {
            if !arg.is_global_set() {
                continue;
            }
            let Some(long) = arg.get_long() else { continue };
            assert!(
                everywhere.contains(&long) || SCOPES.iter().any(|(f, _)| *f == long),
                "--{long} is a global flag without an entry in SCOPES"
            );
        }
    }
}
