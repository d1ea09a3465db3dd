//! Runs one command: load and validate the config, connect, lock, plan, confirm, apply or
//! destroy, report. Every error before the lock changes nothing and exits 2.

use std::collections::BTreeMap;
use std::fmt;
use std::io::IsTerminal;
use std::path::Path;
use std::sync::Arc;

use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::aws::{Aws, Connection};
use crate::cli::{Cli, Command, GlobalArgs, OutputFormat};
use crate::config::{self, Config, Overrides};
use crate::engine::ledger::{LedgerDoc, RunStatus};
use crate::engine::lock::{Patience, StackLock};
use crate::engine::runner::{self, RunReport, Runner};
use crate::engine::state::{self, StateStore};
use crate::engine::{Ledger, Plan, RunOptions, StackState, StepCtx, StepId, StepStatus, graph};
use crate::error::{Error, exit};
use crate::ui::{StepProgress, Ui};

/// `MESHCTL_POLL_INTERVAL`: the longest interval any wait polls at (for emulators and tests).
pub(crate) fn poll_interval_from_env() -> Result<Option<std::time::Duration>, Error> {
    match std::env::var("MESHCTL_POLL_INTERVAL") {
        Ok(v) if !v.trim().is_empty() => {
            humantime::parse_duration(v.trim()).map(Some).map_err(|e| {
                Error::usage(
                    format!("MESHCTL_POLL_INTERVAL={v} is not a duration: {e}"),
                    "use a duration such as 200ms or 2s, or unset it",
                )
            })
        }
        _ => Ok(None),
    }
}

/// Parse the command line. A usage error exits 2 (clap's convention); with `--output json`
/// it also prints a JSON error document on stdout, as every other error does.
pub fn parse_args() -> Cli {
    match crate::cli::parse_from(std::env::args_os()) {
        Ok(cli) => cli,
        Err(e) => {
            // Arguments need not be UTF-8: compare them without converting.
            let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
            let json = args
                .windows(2)
                .any(|w| matches!(w, [flag, value] if flag == "--output" && value == "json"))
                || args.iter().any(|a| a == "--output=json");
            if json && e.use_stderr() {
                let message = e.render().to_string();
                let message = message.lines().next().unwrap_or("");
                let doc = error_json(
                    "meshctl::usage",
                    message.trim_start_matches("error: "),
                    Some("run `meshctl --help` for usage".into()),
                    exit::USAGE,
                );
                println!("{doc:#}");
            }
            e.exit()
        }
    }
}

/// Whether the user asked for no colour: `--no-color`, or `NO_COLOR` set and not empty.
fn no_color(g: &GlobalArgs) -> bool {
    g.no_color || std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

/// Entry point used by `main`: returns the process exit code.
pub async fn main(cli: Cli) -> i32 {
    let g = &cli.global;
    let no_color = no_color(g);
    init_tracing(g.verbose, !no_color && std::io::stderr().is_terminal());
    let ui = Ui::new(g.output, g.yes, no_color);
    // `init` and `completions` change no stack: the default (stop at once) suits them, and
    // a handler would leave Ctrl-C unanswered at an `init` question.
    let cancel = match cli.command {
        Command::Init(_) | Command::Completions { .. } => CancellationToken::new(),
        // They create nothing: Ctrl-C just ends them (traffic still prints its report).
        Command::Traffic(_)
        | Command::Kiali(crate::cli::KialiArgs {
            action: Some(crate::cli::KialiAction::Open { .. }),
        }) => stop_on_signal(),
        _ => install_signal_handlers(ui.clone()),
    };
    let result = run(&cli, &ui, &cancel).await;
    match result {
        Ok(code) => code,
        Err(e) => {
            report_error(&ui, &e, no_color);
            e.exit_code()
        }
    }
}

/// `-v` shows meshctl's debug lines (one per AWS call, under `meshctl::aws`); `-vv` meshctl's
/// trace lines (request ids, retries) and the AWS SDK's debug lines, but not the HTTP and TLS
/// libraries below it. `MESHCTL_LOG` (an `EnvFilter` directive) replaces these.
fn tracing_filter(verbose: u8) -> &'static str {
    match verbose {
        0 => "meshctl=warn",
        1 => "meshctl=debug,warn",
        _ => {
            "meshctl=trace,aws_config=debug,aws_sdk_amp=debug,aws_sdk_s3=debug,aws_sdk_sts=debug,\
             aws_smithy_runtime=debug,aws_smithy_http_client=debug,warn"
        }
    }
}

/// Logs go to stderr, coloured only when `ansi` (stderr is a terminal and colour is not off).
fn init_tracing(verbose: u8, ansi: bool) {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("MESHCTL_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(tracing_filter(verbose))),
        )
        .with_ansi(ansi)
        .with_writer(std::io::stderr)
        .try_init();
}

/// The JSON document every error prints on stdout with `--output json`.
fn error_json(
    code: &str,
    message: &str,
    help: Option<String>,
    exit_code: i32,
) -> serde_json::Value {
    let mut doc = serde_json::json!({
        "kind": "error",
        "code": code,
        "message": message,
        "exit_code": exit_code,
    });
    if let Some(help) = help {
        doc["help"] = help.into();
    }
    doc
}

fn report_error(ui: &Ui, e: &Error, no_color: bool) {
    use miette::Diagnostic;
    if ui.format() == OutputFormat::Json {
        let code = e.code().map(|c| c.to_string()).unwrap_or_default();
        let help = e.help().map(|h| h.to_string());
        let mut doc = error_json(&code, &e.to_string(), help, e.exit_code());
        if let Some(kind) = e.aws_kind() {
            doc["aws_kind"] = serde_json::to_value(kind).unwrap_or_default();
        }
        println!("{doc:#}");
    }
    let theme = if no_color {
        miette::GraphicalTheme::unicode_nocolor()
    } else {
        miette::GraphicalTheme::default()
    };
    let mut out = String::new();
    let handler = miette::GraphicalReportHandler::new_themed(theme);
    if handler.render_report(&mut out, e).is_err() {
        out = format!("Error: {e}");
    }
    eprintln!("{out}");
}

/// Which steps a command works on.
fn selection(command: &Command) -> Option<(String, Vec<StepId>)> {
    let one = |id: StepId| Some((id.name().to_string(), vec![id]));
    match command {
        Command::Up(a) => Some(("up".into(), graph::select(&a.only))),
        // The whole cluster: the control plane and its node groups.
        Command::Cluster => Some(("cluster".into(), graph::select(&[StepId::Cluster]))),
        Command::Istio => one(StepId::Istio),
        Command::Amp => one(StepId::Amp),
        Command::Irsa => one(StepId::Irsa),
        Command::Prometheus => one(StepId::Prometheus),
        Command::Kiali(_) => one(StepId::Kiali),
        Command::Grafana => one(StepId::Grafana),
        Command::Pagerduty(_) => one(StepId::Pagerduty),
        Command::Cleanup(a) => Some(("cleanup".into(), graph::select(&a.only))),
        Command::Status => Some(("status".into(), graph::select(&[]))),
        Command::Verify => Some(("verify".into(), graph::select(&[]))),
        Command::Init(_)
        | Command::Completions { .. }
        | Command::Token(_)
        | Command::Doctor
        | Command::Kubeconfig(_)
        | Command::Migrate(_)
        | Command::Traffic(_) => None,
    }
}

async fn run(cli: &Cli, ui: &Ui, cancel: &CancellationToken) -> Result<i32, Error> {
    let g = &cli.global;
    if let Some(o) = crate::cli::check_scope(cli) {
        return Err(Error::usage(
            format!(
                "--{} does not apply to `meshctl {}`: it applies to {}",
                o.flag, o.command, o.applies_to
            ),
            format!("run `meshctl {}` without --{}", o.command, o.flag),
        ));
    }
    match &cli.command {
        Command::Token(args) => {
            let profile = g.profile.as_deref();
            let region = token_region(g.region.as_deref(), profile).await?;
            let token = crate::aws::eks_token(&region, profile, &args.cluster).await?;
            // Exactly the document client-go reads on stdout, whatever --output says.
            let doc = serde_json::to_string_pretty(&token.exec_credential())
                .map_err(|e| Error::usage(format!("cannot print the token: {e}"), "report this"))?;
            println!("{doc}");
            return Ok(exit::OK);
        }
        Command::Doctor => {
            let config = load_config(g).await;
            // The config's own default region, for when the config itself does not load.
            let fallback_region = g
                .region
                .clone()
                .or_else(|| std::env::var("AWS_REGION").ok())
                .or_else(|| std::env::var("AWS_DEFAULT_REGION").ok())
                .unwrap_or_else(|| "us-west-2".to_string());
            let report = crate::doctor::run(crate::doctor::Inputs {
                config,
                fallback_region,
                profile: g.profile.clone(),
                call_timeout: g.call_timeout,
            })
            .await;
            ui.emit(&report);
            return Ok(report.exit_code());
        }
        Command::Kubeconfig(args) => {
            let config = load_config(g).await?;
            let report = crate::kubeconfig::run(&config, g, ui, args).await?;
            ui.emit(&report);
            return Ok(exit::OK);
        }
        Command::Completions { shell } => {
            let mut cmd = crate::cli::command();
            let mut script = Vec::new();
            clap_complete::generate(*shell, &mut cmd, "meshctl", &mut script);
            // A closed pipe (`| head`) is not an error worth a panic.
            let _ = std::io::Write::write_all(&mut std::io::stdout().lock(), &script);
            return Ok(exit::OK);
        }
        Command::Init(args) => {
            let args = crate::cli::InitArgs {
                region: g.region.clone(),
                dry_run: g.dry_run,
                ..args.clone()
            };
            crate::init::run(&args, &g.config, ui)?;
            return Ok(exit::OK);
        }
        Command::Migrate(args) => {
            return crate::migrate::run(args, g, ui, cancel).await;
        }
        Command::Pagerduty(crate::cli::PagerdutyArgs {
            action: Some(crate::cli::PagerdutyAction::Test),
        }) => {
            let config = load_config(g).await?;
            for warning in &config.warnings {
                ui.warn(warning);
            }
            let aws =
                match Aws::connect(&config.region, g.profile.as_deref(), g.call_timeout).await? {
                    Connection::Online(aws) => Some(*aws),
                    Connection::Offline { .. } => None,
                };
            let report = crate::steps::pagerduty::send_test(&config, aws.as_ref()).await?;
            ui.emit(&report);
            return Ok(exit::OK);
        }
        Command::Kiali(crate::cli::KialiArgs {
            action: Some(crate::cli::KialiAction::Open { port }),
        }) => {
            let ctx = cluster_ctx(g, ui, cancel).await?;
            let kube = crate::kube::connect(&ctx).await?;
            crate::steps::kiali_open::open(&kube, &ctx.config.kiali.namespace, *port, ui, cancel)
                .await?;
            return Ok(exit::OK);
        }
        Command::Traffic(args) => {
            let url = match &args.url {
                Some(url) => url.clone(),
                None => {
                    let ctx = cluster_ctx(g, ui, cancel).await?;
                    let kube = crate::kube::connect(&ctx).await?;
                    crate::steps::sample::product_page_url(&kube).await?.ok_or_else(|| {
                        Error::usage(
                            "the ingress gateway has no load balancer address yet, so there is no product page URL",
                            "wait for `meshctl istio` (with `istio.sample: bookinfo`) to finish, or pass --url",
                        )
                    })?
                }
            };
            let load = crate::traffic::Load {
                url,
                requests: match (args.requests, args.duration) {
                    (None, None) => Some(100),
                    (n, _) => n,
                },
                concurrency: args.concurrency,
                duration: args.duration,
            };
            crate::traffic::validate(&load)?;
            let client = crate::http::client("traffic", None)?;
            let report = crate::traffic::run(client, &load, cancel).await?;
            ui.emit(&report);
            return Ok(if report.interrupted {
                exit::INTERRUPTED
            } else {
                exit::OK
            });
        }
        _ => {}
    }
    let Some((command, selected)) = selection(&cli.command) else {
        return Ok(exit::OK);
    };
    let kind = match cli.command {
        Command::Status => Kind::Status,
        Command::Verify => Kind::Verify,
        Command::Cleanup(_) => Kind::Cleanup,
        _ => Kind::Apply,
    };
    // Until the lock is taken nothing has changed: a signal simply stops here.
    let prepared = tokio::select! {
        biased;
        _ = cancel.cancelled() => return Err(Error::Interrupted),
        prepared = prepare(g, ui, kind, &selected) => prepared?,
    };
    let Prepared {
        config,
        aws,
        offline_reason,
        store,
        state,
    } = prepared;
    let session = Session {
        ui: ui.clone(),
        command,
        selected,
        kind,
        applied: state.applied_steps().await,
        lock_timeout: g.lock_timeout,
        base: StepCtx {
            config: config.clone(),
            aws,
            options: RunOptions {
                timeout: g.timeout,
                no_wait: g.no_wait,
                no_rollback: g.no_rollback,
                poll_interval: poll_interval_from_env()?,
            },
            ledger: Ledger::scratch(&config.name),
            state,
            progress: StepProgress::silent("meshctl"),
            cancel: cancel.clone(),
        },
    };
    match (kind, g.dry_run, store) {
        // Status and dry runs change nothing: a signal stops them at once.
        (Kind::Status, _, _) => interruptible(cancel, session.status()).await,
        (Kind::Verify, _, _) => session.verify().await,
        (_, true, _) => interruptible(cancel, session.dry_run(offline_reason)).await,
        (_, false, Some(store)) => session.run_locked(store, g.force_unlock).await,
        // Online runs always have a store; without one, say what is missing.
        (_, false, None) => Err(Error::NoCredentials),
    }
}

/// A context for commands that only talk to the cluster (`kiali open`, `traffic`): the config,
/// credentials and state, no lock and no ledger.
async fn cluster_ctx(
    g: &GlobalArgs,
    ui: &Ui,
    cancel: &CancellationToken,
) -> Result<StepCtx, Error> {
    let prepared = tokio::select! {
        biased;
        _ = cancel.cancelled() => return Err(Error::Interrupted),
        prepared = prepare(g, ui, Kind::Status, &[]) => prepared?,
    };
    Ok(StepCtx {
        ledger: Ledger::scratch(&prepared.config.name),
        config: prepared.config,
        aws: prepared.aws,
        options: RunOptions {
            poll_interval: poll_interval_from_env()?,
            ..RunOptions::default()
        },
        state: prepared.state,
        progress: StepProgress::silent("meshctl"),
        cancel: cancel.clone(),
    })
}

/// What a command needs before it can plan: everything here is read-only.
struct Prepared {
    config: Arc<Config>,
    aws: Option<Aws>,
    offline_reason: Option<String>,
    store: Option<Arc<dyn StateStore>>,
    state: StackState,
}

async fn prepare(
    g: &GlobalArgs,
    ui: &Ui,
    kind: Kind,
    selected: &[StepId],
) -> Result<Prepared, Error> {
    let config = Arc::new(load_config(g).await?);
    for warning in &config.warnings {
        ui.warn(warning);
    }
    if kind == Kind::Apply
        && !g.dry_run
        && let Some(step) = selected
            .iter()
            .find(|id| !crate::steps::step(**id).available())
    {
        return Err(crate::steps::not_available(*step));
    }

    // The first network call: everything above is local.
    let connection = Aws::connect(&config.region, g.profile.as_deref(), g.call_timeout).await?;
    let (aws, offline_reason) = match connection {
        Connection::Online(aws) => (Some(*aws), None),
        Connection::Offline { reason } if g.dry_run => (None, Some(reason)),
        Connection::Offline { reason } => {
            tracing::debug!("offline: {reason}");
            return Err(Error::NoCredentials);
        }
    };
    let store = match &aws {
        Some(aws) => Some(state::open(&config.state, &config.name, Some(&aws.sdk)).await?),
        // Offline, a local state directory can still be read; S3 cannot.
        None if !config.state.starts_with("s3://") => {
            Some(state::open(&config.state, &config.name, None).await?)
        }
        None => None,
    };
    let state = match &store {
        Some(store) => StackState::load(store.clone(), &config.name).await?,
        None => StackState::in_memory(&config.name),
    };
    let account = aws.as_ref().map(|a| a.account.clone()).unwrap_or_default();
    check_placement(&config, &account, &state, g.allow_region_change).await?;
    Ok(Prepared {
        config,
        aws,
        offline_reason,
        store,
        state,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Apply,
    Cleanup,
    Status,
    /// `verify`: read-only like `status`.
    Verify,
}

/// One command against one stack, after the config is loaded and AWS is reached.
struct Session {
    ui: Ui,
    command: String,
    selected: Vec<StepId>,
    kind: Kind,
    /// Steps the state says were applied before this command.
    applied: Vec<StepId>,
    /// `--lock-timeout`: how long to wait for another run's lock.
    lock_timeout: std::time::Duration,
    base: StepCtx,
}

/// How often a run waiting for another run's lock (`--lock-timeout`) tries again.
const LOCK_POLL: std::time::Duration = std::time::Duration::from_secs(2);

impl Session {
    fn runner(&self) -> Runner {
        Runner {
            registry: runner::registry(crate::steps::step),
            base: self.base.clone(),
            ui: self.ui.clone(),
        }
    }

    fn config(&self) -> &Config {
        &self.base.config
    }

    fn plan(&self, offline_reason: Option<String>, steps: Vec<crate::engine::StepPlan>) -> Plan {
        let c = self.config();
        Plan::new(&self.command, &c.name, &c.region, offline_reason, steps)
            .with_account(self.base.aws.as_ref().map(|a| a.account.clone()))
            .with_region_source(&c.region_source)
    }

    /// Mark steps whose last apply skipped work, so the plan says they are unfinished.
    async fn note_incomplete(&self, plans: &mut [crate::engine::StepPlan]) {
        for plan in plans {
            if let Some(left) = self.base.state.incomplete(plan.step).await {
                plan.note(format!("incomplete: the last run skipped work ({left})"));
            }
        }
    }

    async fn status(&self) -> Result<i32, Error> {
        if self.base.aws.is_none() {
            return Err(Error::NoCredentials);
        }
        let mut steps = vec![];
        for id in &self.selected {
            let mut status = crate::steps::step(*id).status(&self.base).await?;
            if let Some(left) = self.base.state.incomplete(*id).await {
                // What exists may look whole; the last apply still left work undone.
                if status.state != "absent" {
                    status.state = "incomplete".into();
                }
                status.details.insert("incomplete".into(), left);
            }
            steps.push(status);
        }
        self.ui.emit(&StatusReport {
            kind: "status",
            stack: self.config().name.clone(),
            region: self.config().region.clone(),
            steps,
        });
        Ok(exit::OK)
    }

    /// Check the data path; exit 1 when a link is broken. A Ctrl-C stops it after the current
    /// check, so the Grafana token it uses is still deleted.
    async fn verify(&self) -> Result<i32, Error> {
        if self.base.aws.is_none() {
            return Err(Error::NoCredentials);
        }
        let report = crate::verify::run(&self.base).await?;
        self.ui.emit(&report);
        Ok(report.exit_code())
    }

    /// Print the plan; change nothing. Missing prerequisites become notes, not errors.
    async fn dry_run(&self, offline_reason: Option<String>) -> Result<i32, Error> {
        let runner = self.runner();
        let steps = if self.kind == Kind::Cleanup {
            runner.destroy_plan(&self.selected).await?
        } else {
            let mut plans = runner.plan(&self.selected).await?;
            for plan in &mut plans {
                for dep in graph::after(plan.step) {
                    if !self.selected.contains(dep) && !self.applied.contains(dep) {
                        plan.note(format!(
                            "needs `meshctl {dep}` first: {dep} has not been applied to this stack"
                        ));
                    }
                }
            }
            self.note_incomplete(&mut plans).await;
            plans
        };
        let plan = self.plan(offline_reason, steps);
        self.ui.emit(&plan);
        // Like `terraform plan -detailed-exitcode`'s failure: a conflict is not applicable.
        Ok(if plan.has_conflicts() {
            exit::USAGE
        } else {
            exit::OK
        })
    }

    /// Lock the stack, plan, confirm, then apply or destroy; always release the lock.
    async fn run_locked(
        mut self,
        store: Arc<dyn StateStore>,
        force_unlock: bool,
    ) -> Result<i32, Error> {
        if self.kind == Kind::Apply {
            graph::check_prerequisites(
                &self.selected,
                |id| self.applied.contains(&id),
                &self.config().name,
            )?;
        }
        // A progress line only once there is something to wait for.
        let waiting = std::cell::OnceCell::new();
        let lock = StackLock::acquire_waiting(
            store.clone(),
            &self.config().name,
            &self.command,
            force_unlock,
            &Patience {
                wait: self.lock_timeout,
                poll: self.base.poll(LOCK_POLL),
                cancel: self.base.cancel.clone(),
            },
            |what| waiting.get_or_init(|| self.ui.step("lock")).waiting(what),
        )
        .await;
        if let Some(line) = waiting.get() {
            line.finish(if lock.is_ok() { "acquired" } else { "gave up" });
        }
        let lock = lock?;
        let outcome = self.plan_confirm_run(store).await;
        if let Err(e) = lock.release().await {
            self.ui.warn(format!("could not release the lock: {e}"));
        }
        outcome
    }

    async fn plan_confirm_run(&mut self, store: Arc<dyn StateStore>) -> Result<i32, Error> {
        let cleanup = self.kind == Kind::Cleanup;
        let stack = self.config().name.clone();
        // An earlier run that never finished comes first in the story: this run continues it.
        let unfinished = Ledger::read(store.as_ref())
            .await?
            .filter(|doc| doc.status == RunStatus::Open);
        if let Some(doc) = &unfinished {
            self.ui.info(unfinished_notice(doc, cleanup));
        }
        let runner = self.runner();
        let mut steps = interruptible(&self.base.cancel, async {
            if cleanup {
                runner.destroy_plan(&self.selected).await
            } else {
                runner.plan(&self.selected).await
            }
        })
        .await?;
        if !cleanup {
            self.note_incomplete(&mut steps).await;
        }
        let plan = self.plan(None, steps);
        if self.ui.format() == OutputFormat::Text {
            self.ui.emit(&plan);
        } else if plan.has_changes() {
            // The plan is part of the question: with JSON on stdout, show it on stderr.
            self.ui.show_before_prompt(&plan);
        }
        refuse_conflicts(&plan)?;
        if cleanup && !plan.has_changes() {
            self.ui.info(match &unfinished {
                Some(doc) => format!(
                    "Nothing owned by stack `{stack}` is left to remove; closing run {}.",
                    doc.run_id
                ),
                None => format!("Nothing owned by stack `{stack}` to remove."),
            });
        } else if cleanup {
            self.ui.confirm(
                &format!(
                    "Delete the {} resource(s) above, owned by stack `{stack}`?",
                    plan.summary.delete
                ),
                "delete resources",
            )?;
        } else if plan.has_changes() {
            self.ui.confirm(
                &format!("Apply these changes to stack `{stack}`?"),
                "apply changes",
            )?;
        }
        if self.base.cancel.is_cancelled() {
            // A signal while planning or at the prompt: nothing has changed.
            return Err(Error::Interrupted);
        }

        self.base.ledger = Ledger::begin(store, &stack, &self.command).await?;
        let runner = self.runner();
        let report: RunReport = if cleanup {
            runner.destroy(&self.selected, &plan.steps).await
        } else {
            runner.apply(&self.command, &self.selected).await
        };
        self.ui.emit(&report);
        Ok(report.exit_code)
    }
}

/// Stop (exit 2) when the state places the stack in another region or account than this
/// command would use, unless `--allow-region-change` says to go on.
async fn check_placement(
    config: &Config,
    account: &str,
    state: &StackState,
    allow: bool,
) -> Result<(), Error> {
    let here = crate::engine::Placement {
        region: config.region.clone(),
        account: account.to_string(),
    };
    let misplaced = state.misplaced(&here).await;
    let Some(first) = misplaced.first() else {
        return Ok(());
    };
    if allow {
        return Ok(());
    }
    let steps: Vec<&str> = misplaced.iter().map(|m| m.step.name()).collect();
    let there = match (&first.region, &first.account) {
        (Some(r), Some(a)) => format!("{r}, account {a}"),
        (Some(r), None) => r.clone(),
        (None, Some(a)) => format!("account {a}"),
        (None, None) => "another place".into(),
    };
    let account_here = if account.is_empty() {
        String::new()
    } else {
        format!(", account {account}")
    };
    let region_fix = match &first.region {
        Some(r) if *r != config.region => format!("pass `--region {r}` (or set it in the config)"),
        _ => "use credentials for the stack's account".to_string(),
    };
    Err(Error::Placement {
        message: format!(
            "stack `{}` ({} applied) lives in {there}, but this command would run in {} (from {}){account_here}",
            config.name,
            steps.join(", "),
            config.region,
            config.region_source
        ),
        help: format!(
            "{region_fix} to work on the stack where it is; pass --allow-region-change only if you mean to work on it here"
        ),
    })
}

/// Refuse to apply a plan with conflicts, before any change.
fn refuse_conflicts(plan: &Plan) -> Result<(), Error> {
    if !plan.has_conflicts() {
        return Ok(());
    }
    let what: Vec<String> = plan
        .steps
        .iter()
        .flat_map(|s| &s.actions)
        .filter(|a| a.op == crate::engine::Op::Conflict)
        .map(|a| match &a.detail {
            Some(d) => format!("{} {}: {d}", a.kind, a.name),
            None => format!("{} {}", a.kind, a.name),
        })
        .collect();
    Err(Error::PlanConflict {
        message: format!(
            "the plan has {} conflict(s), so nothing was changed: {}",
            what.len(),
            what.join("; ")
        ),
        help: "resolve each conflict as its line in the plan says (`meshctl --dry-run` shows them), then run again".into(),
    })
}

/// The line that tells about an earlier run that did not finish, before the plan.
fn unfinished_notice(doc: &LedgerDoc, cleanup: bool) -> String {
    let recorded = doc.resources.len();
    let what = if cleanup {
        "this cleanup removes what it created and closes it"
    } else {
        "this run continues it, so a rollback covers what that run created too"
    };
    format!(
        "Run {} (`meshctl {}`, started {}) did not finish and recorded {recorded} resource(s): {what}.",
        doc.run_id,
        doc.command,
        doc.started_at.format("%Y-%m-%d %H:%M:%S UTC"),
    )
}

/// `fut`, or [`Error::Interrupted`] as soon as a signal arrives (for work that changes nothing).
async fn interruptible<T>(
    cancel: &CancellationToken,
    fut: impl std::future::Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    tokio::select! {
        biased;
        _ = cancel.cancelled() => Err(Error::Interrupted),
        r = fut => r,
    }
}

/// Load the config. A relative local `state` directory is resolved against the config file's
/// directory, so every working directory finds the same stack, state and lock.
pub(crate) async fn load_config(g: &GlobalArgs) -> Result<Config, Error> {
    // Only variables whose name and value are UTF-8: meshctl reads none of the others, and an
    // unrelated non-UTF-8 variable must not stop it.
    let env: BTreeMap<String, String> = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect();
    let overrides = Overrides {
        region: g.region.clone(),
        // The weakest source of the region, after the config and the AWS_* variables.
        profile_region: config::profile_region(g.profile.as_deref()).await,
    };
    let mut config = config::load(&g.config, &env, &overrides)?;
    config.state = resolve_state(&config.state, &g.config);
    Ok(config)
}

/// The region `meshctl token` signs for: `--region`, else `AWS_REGION`, `AWS_DEFAULT_REGION`,
/// the profile's region. No default: a token for the wrong region is refused by the cluster.
async fn token_region(flag: Option<&str>, profile: Option<&str>) -> Result<String, Error> {
    let from_env = |name: &str| {
        std::env::var_os(name)
            .and_then(|v| v.into_string().ok())
            .filter(|v| !v.trim().is_empty())
    };
    if let Some(r) = flag.map(str::to_string).or_else(|| from_env("AWS_REGION")) {
        return Ok(r);
    }
    if let Some(r) = from_env("AWS_DEFAULT_REGION") {
        return Ok(r);
    }
    match config::profile_region(profile).await {
        Some((_, region)) => Ok(region),
        None => Err(Error::usage(
            "no region to sign the token for",
            "pass --region (the cluster's region), or set AWS_REGION",
        )),
    }
}

/// `state` as written, or, for a relative directory, that directory next to `config_file`.
pub fn resolve_state(state: &str, config_file: &Path) -> String {
    if state.starts_with("s3://") || Path::new(state).is_absolute() {
        return state.to_string();
    }
    // `meshctl.yaml` has the parent ``, which `absolute` refuses: that is the current directory.
    let base = match config_file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let base = std::path::absolute(base).unwrap_or_else(|_| base.to_path_buf());
    base.join(state).display().to_string()
}

/// SIGINT (Ctrl-C) and SIGTERM (what CI runners and Kubernetes send) both cancel the returned
/// token: no new step starts, what the run created is rolled back (unless `--no-rollback`) and
/// the lock is released; the exit code is 130. A second signal exits 130 at once, leaving the
/// ledger open (resumable) and the lock in place.
fn install_signal_handlers(ui: Ui) -> CancellationToken {
    use tokio::signal::unix::{SignalKind, signal};
    let cancel = CancellationToken::new();
    let token = cancel.clone();
    let mut int = signal(SignalKind::interrupt()).ok();
    let mut term = signal(SignalKind::terminate()).ok();
    if int.is_none() || term.is_none() {
        tracing::warn!("cannot listen for signals: Ctrl-C and SIGTERM stop meshctl at once");
    }
    tokio::spawn(async move {
        let first = next_signal(&mut int, &mut term).await;
        // Printed here, before anything else happens, so it is never lost.
        ui.warn(format!(
            "interrupted ({first}): no new steps start; what this run created is rolled back \
             (a second Ctrl-C or SIGTERM stops at once)"
        ));
        token.cancel();
        let second = next_signal(&mut int, &mut term).await;
        ui.warn(format!(
            "interrupted again ({second}): exiting now; the ledger is saved, so `meshctl up` \
             resumes and `meshctl cleanup` removes what exists"
        ));
        std::process::exit(exit::INTERRUPTED);
    });
    cancel
}

/// Ctrl-C or SIGTERM cancels the returned token, quietly; a second one exits at once.
fn stop_on_signal() -> CancellationToken {
    use tokio::signal::unix::{SignalKind, signal};
    let cancel = CancellationToken::new();
    let token = cancel.clone();
    let mut int = signal(SignalKind::interrupt()).ok();
    let mut term = signal(SignalKind::terminate()).ok();
    tokio::spawn(async move {
        next_signal(&mut int, &mut term).await;
        token.cancel();
        next_signal(&mut int, &mut term).await;
        std::process::exit(exit::INTERRUPTED);
    });
    cancel
}

/// The name of the next signal delivered.
async fn next_signal(
    int: &mut Option<tokio::signal::unix::Signal>,
    term: &mut Option<tokio::signal::unix::Signal>,
) -> &'static str {
    tokio::select! {
        Some(()) = recv(int) => "Ctrl-C",
        Some(()) = recv(term) => "SIGTERM",
        else => std::future::pending().await,
    }
}

/// The next delivery of `signal`, or never when it could not be installed.
async fn recv(signal: &mut Option<tokio::signal::unix::Signal>) -> Option<()> {
    match signal {
        Some(s) => s.recv().await,
        None => std::future::pending().await,
    }
}

/// What `meshctl status` prints.
#[derive(Debug, Serialize)]
pub struct StatusReport {
    pub kind: &'static str,
    pub stack: String,
    pub region: String,
    pub steps: Vec<StepStatus>,
}

impl fmt::Display for StatusReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Stack `{}` in {}:", self.stack, self.region)?;
        for s in &self.steps {
            writeln!(f, "  {:<11} {}", s.step, s.state)?;
            for (k, v) in &s.details {
                writeln!(f, "      {k}: {v}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbose_levels_add_meshctl_detail_then_sdk_debug_without_http_libraries() {
        let quiet = tracing_filter(0);
        let v = tracing_filter(1);
        let vv = tracing_filter(2);
        assert!(quiet.contains("meshctl=warn"));
        assert!(v.contains("meshctl=debug"));
        assert!(vv.contains("meshctl=trace") && vv.contains("aws_sdk_amp=debug"));
        // Everything not named stays at warn: hyper, rustls and h2 do not flood -vv.
        assert!(vv.ends_with(",warn") && !vv.contains("hyper"));
        for f in [quiet, v, vv, tracing_filter(9)] {
            assert!(tracing_subscriber::EnvFilter::try_new(f).is_ok(), "{f}");
        }
    }

    #[test]
    fn relative_state_is_resolved_against_the_config_directory() {
        let cfg = Path::new("/srv/stacks/meshctl.yaml");
        assert_eq!(resolve_state(".meshctl", cfg), "/srv/stacks/.meshctl");
        assert_eq!(resolve_state("/var/state", cfg), "/var/state");
        assert_eq!(resolve_state("s3://b/p", cfg), "s3://b/p");
        let here = std::path::absolute(".").unwrap_or_default();
        assert_eq!(
            resolve_state(".meshctl", Path::new("meshctl.yaml")),
            here.join(".meshctl").display().to_string()
        );
    }
}
