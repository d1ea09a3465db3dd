//! Runs one command: load and validate the config, connect, lock, plan, confirm, apply or
//! destroy, report. Every error before the lock changes nothing and exits 2.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::aws::{Aws, Connection};
use crate::cli::{Cli, Command, GlobalArgs, OutputFormat};
use crate::config::{self, Config, Overrides};
use crate::engine::lock::StackLock;
use crate::engine::runner::{self, RunReport, Runner};
use crate::engine::state::{self, StateStore};
use crate::engine::{Ledger, Plan, RunOptions, StackState, StepCtx, StepId, StepStatus, graph};
use crate::error::{Error, exit};
use crate::ui::{StepProgress, Ui};

/// Parse the command line. A usage error exits 2 (clap's convention); with `--output json`
/// it also prints a JSON error document on stdout, as every other error does.
pub fn parse_args() -> Cli {
    use clap::Parser;
    match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let args: Vec<String> = std::env::args().collect();
            let json = args
                .windows(2)
                .any(|w| w[0] == "--output" && w[1] == "json")
                || args.iter().any(|a| a == "--output=json");
            if json && e.use_stderr() {
                let message = e.render().to_string();
                let message = message.lines().next().unwrap_or("");
                println!(
                    "{}",
                    error_json(
                        "meshctl::usage",
                        message.trim_start_matches("error: "),
                        Some("run `meshctl --help` for usage".into()),
                        exit::USAGE,
                    )
                );
            }
            e.exit()
        }
    }
}

/// Entry point used by `main`: returns the process exit code.
pub async fn main(cli: Cli) -> i32 {
    let g = &cli.global;
    init_tracing(g.verbose);
    let no_color = g.no_color || std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let ui = Ui::new(g.output, g.yes, no_color);
    let result = run(&cli, &ui).await;
    match result {
        Ok(code) => code,
        Err(e) => {
            report_error(&ui, &e, no_color);
            e.exit_code()
        }
    }
}

fn init_tracing(verbose: u8) {
    let filter = match verbose {
        0 => "meshctl=warn",
        1 => "meshctl=debug,warn",
        _ => "debug",
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("MESHCTL_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(filter)),
        )
        .with_writer(std::io::stderr)
        .try_init();
}

/// The JSON document every error prints on stdout with `--output json`.
fn error_json(code: &str, message: &str, help: Option<String>, exit_code: i32) -> String {
    let mut doc = serde_json::json!({
        "kind": "error",
        "code": code,
        "message": message,
        "exit_code": exit_code,
    });
    if let Some(help) = help {
        doc["help"] = help.into();
    }
    format!("{doc:#}")
}

fn report_error(ui: &Ui, e: &Error, no_color: bool) {
    use miette::Diagnostic;
    if ui.format() == OutputFormat::Json {
        let code = e.code().map(|c| c.to_string()).unwrap_or_default();
        let help = e.help().map(|h| h.to_string());
        println!("{}", error_json(&code, &e.to_string(), help, e.exit_code()));
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
        Command::Cluster => one(StepId::Cluster),
        Command::Istio => one(StepId::Istio),
        Command::Amp => one(StepId::Amp),
        Command::Irsa => one(StepId::Irsa),
        Command::Prometheus => one(StepId::Prometheus),
        Command::Kiali => one(StepId::Kiali),
        Command::Grafana => one(StepId::Grafana),
        Command::Pagerduty(_) => one(StepId::Pagerduty),
        Command::Cleanup(a) => Some(("cleanup".into(), graph::select(&a.only))),
        Command::Status => Some(("status".into(), graph::select(&[]))),
        Command::Init(_) | Command::Completions { .. } => None,
    }
}

async fn run(cli: &Cli, ui: &Ui) -> Result<i32, Error> {
    let g = &cli.global;
    match &cli.command {
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            let mut script = Vec::new();
            clap_complete::generate(*shell, &mut cmd, "meshctl", &mut script);
            // A closed pipe (`| head`) is not an error worth a panic.
            let _ = std::io::Write::write_all(&mut std::io::stdout().lock(), &script);
            return Ok(exit::OK);
        }
        Command::Init(args) => {
            let args = crate::cli::InitArgs {
                region: g.region.clone(),
                ..args.clone()
            };
            crate::init::run(&args, &g.config, ui)?;
            return Ok(exit::OK);
        }
        Command::Pagerduty(crate::cli::PagerdutyArgs {
            action: Some(crate::cli::PagerdutyAction::Test),
        }) => {
            let config = load_config(g)?;
            let aws = match Aws::connect(&config.region, g.profile.as_deref()).await? {
                Connection::Online(aws) => Some(*aws),
                Connection::Offline { .. } => None,
            };
            let report = crate::steps::pagerduty::send_test(&config, aws.as_ref()).await?;
            ui.emit(&report);
            return Ok(exit::OK);
        }
        _ => {}
    }
    let (command, selected) = selection(&cli.command).expect("handled above");
    let config = Arc::new(load_config(g)?);
    let kind = match cli.command {
        Command::Status => Kind::Status,
        Command::Cleanup(_) => Kind::Cleanup,
        _ => Kind::Apply,
    };
    if kind == Kind::Apply
        && !g.dry_run
        && let Some(step) = selected
            .iter()
            .find(|id| !crate::steps::step(**id).available())
    {
        return Err(crate::steps::not_available(*step));
    }

    // The first network call: everything above is local.
    let (aws, offline_reason) = match Aws::connect(&config.region, g.profile.as_deref()).await? {
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
    let session = Session {
        ui: ui.clone(),
        command,
        selected,
        kind,
        applied: state.applied_steps().await,
        base: StepCtx {
            config: config.clone(),
            aws,
            options: RunOptions {
                timeout: g.timeout,
                no_wait: g.no_wait,
                no_rollback: g.no_rollback,
            },
            ledger: Ledger::scratch(&config.name),
            state,
            progress: StepProgress::silent("meshctl"),
            cancel: CancellationToken::new(),
        },
    };
    match (kind, g.dry_run) {
        (Kind::Status, _) => session.status().await,
        (_, true) => session.dry_run(offline_reason).await,
        (_, false) => {
            let store = store.expect("online runs always have a store");
            session.run_locked(store, g.force_unlock).await
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Apply,
    Cleanup,
    Status,
}

/// One command against one stack, after the config is loaded and AWS is reached.
struct Session {
    ui: Ui,
    command: String,
    selected: Vec<StepId>,
    kind: Kind,
    /// Steps the state says were applied before this command.
    applied: Vec<StepId>,
    base: StepCtx,
}

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
    }

    async fn status(&self) -> Result<i32, Error> {
        if self.base.aws.is_none() {
            return Err(Error::NoCredentials);
        }
        let mut steps = vec![];
        for id in &self.selected {
            steps.push(crate::steps::step(*id).status(&self.base).await?);
        }
        self.ui.emit(&StatusReport {
            kind: "status",
            stack: self.config().name.clone(),
            region: self.config().region.clone(),
            steps,
        });
        Ok(exit::OK)
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
            plans
        };
        self.ui.emit(&self.plan(offline_reason, steps));
        Ok(exit::OK)
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
        spawn_interrupt_handler(self.base.cancel.clone(), self.ui.clone());
        let lock = StackLock::acquire(
            store.clone(),
            &self.config().name,
            &self.command,
            force_unlock,
        )
        .await?;
        let outcome = self.plan_confirm_run(store).await;
        if let Err(e) = lock.release().await {
            self.ui.warn(format!("could not release the lock: {e}"));
        }
        outcome
    }

    async fn plan_confirm_run(&mut self, store: Arc<dyn StateStore>) -> Result<i32, Error> {
        let cleanup = self.kind == Kind::Cleanup;
        let runner = self.runner();
        let steps = if cleanup {
            runner.destroy_plan(&self.selected).await?
        } else {
            runner.plan(&self.selected).await?
        };
        let plan = self.plan(None, steps);
        if self.ui.format() == OutputFormat::Text {
            self.ui.emit(&plan);
        }
        let stack = self.config().name.clone();
        if cleanup && !plan.has_changes() {
            self.ui
                .info(format!("Nothing owned by stack `{stack}` to remove."));
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
            // Ctrl-C while planning or at the prompt: nothing has changed.
            return Err(Error::Interrupted);
        }

        self.base.ledger = Ledger::begin(store, &stack, &self.command).await?;
        if let Some(previous) = self.base.ledger.resumed_from() {
            self.ui.info(format!(
                "Resuming run {previous}, which did not finish: what it created is covered by this run's rollback."
            ));
        }
        let runner = self.runner();
        let report: RunReport = if cleanup {
            runner.destroy(&self.selected).await
        } else {
            runner.apply(&self.command, &self.selected).await
        };
        self.ui.emit(&report);
        Ok(report.exit_code)
    }
}

fn load_config(g: &GlobalArgs) -> Result<Config, Error> {
    let env: BTreeMap<String, String> = std::env::vars().collect();
    let overrides = Overrides {
        region: g.region.clone(),
    };
    config::load(&g.config, &env, &overrides)
}

fn spawn_interrupt_handler(cancel: CancellationToken, ui: Ui) {
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_err() {
            return;
        }
        cancel.cancel();
        if tokio::signal::ctrl_c().await.is_ok() {
            ui.warn("interrupted again: exiting now; the ledger is saved, so `meshctl up` resumes and `meshctl cleanup` removes what exists");
            std::process::exit(exit::INTERRUPTED);
        }
    });
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
