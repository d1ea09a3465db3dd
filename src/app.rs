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
                let doc = serde_json::json!({
                    "kind": "error",
                    "code": "meshctl::usage",
                    "message": message.lines().next().unwrap_or("").trim_start_matches("error: "),
                    "help": "run `meshctl --help` for usage",
                    "exit_code": exit::USAGE,
                });
                println!("{doc:#}");
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

#[derive(Serialize)]
struct ErrorDoc<'a> {
    kind: &'static str,
    code: String,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    help: Option<String>,
    exit_code: i32,
    #[serde(skip)]
    _e: std::marker::PhantomData<&'a ()>,
}

fn report_error(ui: &Ui, e: &Error, no_color: bool) {
    use miette::Diagnostic;
    if ui.format() == OutputFormat::Json {
        let doc = ErrorDoc {
            kind: "error",
            code: e.code().map(|c| c.to_string()).unwrap_or_default(),
            message: e.to_string(),
            help: e.help().map(|h| h.to_string()),
            exit_code: e.exit_code(),
            _e: std::marker::PhantomData,
        };
        println!(
            "{}",
            serde_json::to_string_pretty(&doc).expect("error serialises")
        );
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
        Command::Pagerduty => one(StepId::Pagerduty),
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
        _ => {}
    }
    let (command, selected) = selection(&cli.command).expect("handled above");
    let config = Arc::new(load_config(g)?);

    let applying = !g.dry_run && !matches!(cli.command, Command::Cleanup(_) | Command::Status);
    if applying {
        let unavailable: Vec<StepId> = selected
            .iter()
            .copied()
            .filter(|id| !crate::steps::step(*id).available())
            .collect();
        if let Some(&step) = unavailable.first() {
            return Err(Error::StepNotAvailable {
                step,
                available: crate::steps::available()
                    .iter()
                    .map(|s| s.name())
                    .collect::<Vec<_>>()
                    .join(","),
            });
        }
    }

    let connection = Aws::connect(&config.region, g.profile.as_deref()).await?;
    let (aws, offline_reason) = match connection {
        Connection::Online(aws) => (Some(*aws), None),
        Connection::Offline { reason } => {
            if !g.dry_run {
                tracing::debug!("offline: {reason}");
                return Err(Error::NoCredentials);
            }
            (None, Some(reason))
        }
    };
    // Ctrl-C is handled only once a run can change something (below); until then the
    // default applies and it stops the process at once.
    let cancel = CancellationToken::new();

    let store: Option<Arc<dyn StateStore>> = match &aws {
        Some(aws) => Some(state::open(&config.state, &config.name, Some(&aws.sdk)).await?),
        None if !config.state.starts_with("s3://") => {
            Some(state::open(&config.state, &config.name, None).await?)
        }
        None => None,
    };
    let stack_state = match &store {
        Some(store) => StackState::load(store.clone(), &config.name).await?,
        None => StackState::in_memory(&config.name),
    };

    let options = RunOptions {
        timeout: g.timeout,
        no_wait: g.no_wait,
        no_rollback: g.no_rollback,
    };
    let mut base = StepCtx {
        config: config.clone(),
        aws: aws.clone(),
        options,
        ledger: Ledger::scratch(&config.name),
        state: stack_state.clone(),
        progress: StepProgress::silent("meshctl"),
        cancel: cancel.clone(),
    };

    if let Command::Status = cli.command {
        if aws.is_none() {
            return Err(Error::NoCredentials);
        }
        let mut steps = vec![];
        for id in selected {
            steps.push(crate::steps::step(id).status(&base).await?);
        }
        ui.emit(&StatusReport {
            kind: "status",
            stack: config.name.clone(),
            region: config.region.clone(),
            steps,
        });
        return Ok(exit::OK);
    }

    let is_cleanup = matches!(cli.command, Command::Cleanup(_));
    let applied = stack_state.applied_steps().await;
    if !is_cleanup && !g.dry_run {
        graph::check_prerequisites(&selected, |id| applied.contains(&id), &config.name)?;
    }

    let registry = runner::registry(crate::steps::step);

    if g.dry_run {
        let runner = Runner {
            registry,
            base,
            ui: ui.clone(),
        };
        let steps = if is_cleanup {
            runner.destroy_plan(&selected).await?
        } else {
            let mut plans = runner.plan(&selected).await?;
            for plan in &mut plans {
                for dep in graph::after(plan.step) {
                    if !selected.contains(dep) && !applied.contains(dep) {
                        plan.note(format!(
                            "needs `meshctl {dep}` first: {dep} has not been applied to this stack"
                        ));
                    }
                }
            }
            plans
        };
        let plan = Plan::new(
            &command,
            &config.name,
            &config.region,
            offline_reason,
            steps,
        )
        .with_account(runner.base.aws.as_ref().map(|a| a.account.clone()));
        ui.emit(&plan);
        return Ok(exit::OK);
    }

    spawn_interrupt_handler(cancel.clone(), ui.clone());
    let store = store.expect("online runs always have a store");
    let lock = StackLock::acquire(store.clone(), &config.name, &command, g.force_unlock).await?;
    let outcome = locked(LockedRun {
        ui,
        store: store.clone(),
        config: &config,
        command: &command,
        selected: &selected,
        is_cleanup,
        registry,
        base: &mut base,
    })
    .await;
    if let Err(e) = lock.release().await {
        ui.warn(format!("could not release the lock: {e}"));
    }
    outcome
}

struct LockedRun<'a> {
    ui: &'a Ui,
    store: Arc<dyn StateStore>,
    config: &'a Config,
    command: &'a str,
    selected: &'a [StepId],
    is_cleanup: bool,
    registry: runner::Registry,
    base: &'a mut StepCtx,
}

async fn locked(run: LockedRun<'_>) -> Result<i32, Error> {
    let LockedRun {
        ui,
        store,
        config,
        command,
        selected,
        is_cleanup,
        registry,
        base,
    } = run;
    let planner = Runner {
        registry: registry.clone(),
        base: base.clone(),
        ui: ui.clone(),
    };
    let steps = if is_cleanup {
        planner.destroy_plan(selected).await?
    } else {
        planner.plan(selected).await?
    };
    let plan = Plan::new(command, &config.name, &config.region, None, steps)
        .with_account(base.aws.as_ref().map(|a| a.account.clone()));
    if ui.format() == OutputFormat::Text {
        ui.emit(&plan);
    }
    if is_cleanup {
        if !plan.has_changes() {
            ui.info(format!(
                "Nothing owned by stack `{}` to remove.",
                config.name
            ));
        } else {
            ui.confirm(
                &format!(
                    "Delete the {} resource(s) above, owned by stack `{}`?",
                    plan.summary.delete, config.name
                ),
                "delete resources",
            )?;
        }
    } else if plan.has_changes() {
        ui.confirm(
            &format!("Apply these changes to stack `{}`?", config.name),
            "apply changes",
        )?;
    }

    if base.cancel.is_cancelled() {
        // Ctrl-C while planning or at the prompt: nothing has changed.
        return Err(Error::Interrupted);
    }
    base.ledger = Ledger::begin(store, &config.name, command).await?;
    if let Some(previous) = base.ledger.resumed_from() {
        ui.info(format!(
            "Resuming run {previous}, which did not finish: what it created is covered by this run's rollback."
        ));
    }
    let runner = Runner {
        registry,
        base: base.clone(),
        ui: ui.clone(),
    };
    let report: RunReport = if is_cleanup {
        runner.destroy(selected).await
    } else {
        runner.apply(command, selected).await
    };
    ui.emit(&report);
    Ok(report.exit_code)
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
