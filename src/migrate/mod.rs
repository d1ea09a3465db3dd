//! `meshctl migrate appmesh …`: move an AWS App Mesh mesh to Istio in the five phases of
//! docs/migrate-appmesh.md — inventory (discovery), translate, apply (parallel install and
//! workload migration), shift / rollback (traffic cutover), remove (App Mesh removal).

pub mod apply;
pub mod inventory;
pub mod model;
pub mod remove;
pub mod translate;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::{Args, Subcommand};
use tokio_util::sync::CancellationToken;

use crate::aws::{Aws, Connection};
use crate::cli::GlobalArgs;
use crate::config::Config;
use crate::engine::lock::StackLock;
use crate::engine::state::{self, StateStore};
use crate::engine::{Ledger, RunOptions, StackState, StepCtx, StepId};
use crate::error::{Error, exit};
use crate::kube::Kube;
use crate::ui::{StepProgress, Ui};

pub use model::Inventory;

#[derive(Debug, Clone, Args)]
pub struct MigrateArgs {
    #[command(subcommand)]
    pub from: MigrateFrom,
}

#[derive(Debug, Clone, Subcommand)]
pub enum MigrateFrom {
    /// From AWS App Mesh: inventory, translate, apply, shift, rollback, remove.
    Appmesh(AppmeshArgs),
}

#[derive(Debug, Clone, Args)]
pub struct AppmeshArgs {
    #[command(subcommand)]
    pub action: AppmeshAction,
}

#[derive(Debug, Clone, Subcommand)]
pub enum AppmeshAction {
    /// Phase 1: list the mesh's App Mesh resources and its Kubernetes footprint (read-only).
    Inventory(MeshArg),
    /// Phase 2: write Istio manifests and MIGRATION-REPORT.md for the mesh into a directory.
    Translate(TranslateArgs),
    /// Phases 2-3: apply the Istio resources, then move workloads one at a time to Istio.
    Apply(NamespaceArgs),
    /// Phase 4: send N% of each virtual service's traffic through the translated routes.
    Shift(ShiftArgs),
    /// Undo phases 3-4: weight 0 and App Mesh injection back on migrated workloads.
    Rollback(NamespaceArgs),
    /// Phase 5: delete the mesh's App Mesh resources once no pod runs the App Mesh sidecar.
    Remove(MeshArg),
}

#[derive(Debug, Clone, Args)]
pub struct MeshArg {
    /// The App Mesh mesh name.
    #[arg(long)]
    pub mesh: String,
}

#[derive(Debug, Clone, Args)]
pub struct TranslateArgs {
    /// The App Mesh mesh name.
    #[arg(long)]
    pub mesh: String,
    /// Directory to write the manifests and the report into.
    #[arg(long)]
    pub out: PathBuf,
    /// Namespace of the generated Istio objects.
    #[arg(long, default_value = "default")]
    pub namespace: String,
    /// Write into a directory that is not empty (files of the same name are replaced).
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Clone, Args)]
pub struct NamespaceArgs {
    /// The App Mesh mesh name.
    #[arg(long)]
    pub mesh: String,
    /// Namespace of the workloads (Deployments) to migrate and of the Istio objects.
    #[arg(long)]
    pub namespace: String,
}

#[derive(Debug, Clone, Args)]
pub struct ShiftArgs {
    /// The App Mesh mesh name.
    #[arg(long)]
    pub mesh: String,
    /// Namespace given to `apply`.
    #[arg(long)]
    pub namespace: String,
    /// Percentage (0-100) of traffic that follows the translated routes.
    #[arg(long, value_parser = clap::value_parser!(u8).range(0..=100))]
    pub weight: u8,
}

impl AppmeshAction {
    /// The subcommand as typed, for messages.
    pub fn name(&self) -> &'static str {
        match self {
            AppmeshAction::Inventory(_) => "migrate appmesh inventory",
            AppmeshAction::Translate(_) => "migrate appmesh translate",
            AppmeshAction::Apply(_) => "migrate appmesh apply",
            AppmeshAction::Shift(_) => "migrate appmesh shift",
            AppmeshAction::Rollback(_) => "migrate appmesh rollback",
            AppmeshAction::Remove(_) => "migrate appmesh remove",
        }
    }

    /// Whether the subcommand changes anything (so `--yes`, `--dry-run`, `--timeout` apply).
    pub fn changes(&self) -> bool {
        !matches!(
            self,
            AppmeshAction::Inventory(_) | AppmeshAction::Translate(_)
        )
    }

    fn mesh(&self) -> &str {
        match self {
            AppmeshAction::Inventory(a) | AppmeshAction::Remove(a) => &a.mesh,
            AppmeshAction::Translate(a) => &a.mesh,
            AppmeshAction::Apply(a) | AppmeshAction::Rollback(a) => &a.mesh,
            AppmeshAction::Shift(a) => &a.mesh,
        }
    }
}

/// App Mesh names: 1-255 letters, digits, hyphens and underscores.
fn check_mesh_name(mesh: &str) -> Result<(), Error> {
    if mesh.is_empty()
        || mesh.len() > 255
        || !mesh
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(Error::usage(
            format!("`{mesh}` is not an App Mesh mesh name"),
            "a mesh name has 1 to 255 letters, digits, hyphens or underscores (`aws appmesh list-meshes` lists them)",
        ));
    }
    Ok(())
}

/// A Kubernetes namespace name (RFC 1123 label).
fn check_namespace(ns: &str) -> Result<(), Error> {
    let ok = !ns.is_empty()
        && ns.len() <= 63
        && ns
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !ns.starts_with('-')
        && !ns.ends_with('-');
    if !ok {
        return Err(Error::usage(
            format!("`{ns}` is not a Kubernetes namespace name"),
            "use lowercase letters, digits and hyphens (at most 63), starting and ending with a letter or digit",
        ));
    }
    Ok(())
}

/// The error of a command that needs the cluster when none is configured.
pub fn no_cluster(why: &str, reason: Option<&str>) -> Error {
    Error::usage(
        format!(
            "{why} needs the cluster: {}",
            reason.unwrap_or("no cluster configured")
        ),
        "set `kubernetes.kubeconfig` (and `kubernetes.context`) in meshctl.yaml, or run `meshctl cluster` first",
    )
}

/// What every migrate subcommand works with.
pub struct Session {
    pub config: Arc<Config>,
    pub aws: Aws,
    pub store: Arc<dyn StateStore>,
    pub ctx: StepCtx,
    pub ui: Ui,
    pub global: GlobalArgs,
}

impl Session {
    /// The cluster connection, or why there is none (no kubeconfig configured and no
    /// `cluster` step applied).
    pub async fn kube(&self) -> Result<Result<Kube, String>, Error> {
        let configured = self.config.kubernetes.kubeconfig.is_some()
            || self.config.kubernetes.context.is_some()
            || self
                .ctx
                .state
                .output(StepId::Cluster, crate::kube::connect::outputs::ENDPOINT)
                .await
                .is_some();
        if !configured {
            return Ok(Err(
                "no cluster configured: set `kubernetes.kubeconfig` (and `kubernetes.context`) or apply the `cluster` step".into(),
            ));
        }
        let kube = crate::kube::connect(&self.ctx).await?;
        Ok(Ok(kube.with_poll_interval(
            self.ctx.poll(crate::kube::DEFAULT_POLL),
        )))
    }

    /// Like [`Session::kube`], but a cluster is required.
    pub async fn require_kube(&self, why: &str) -> Result<Kube, Error> {
        self.kube()
            .await?
            .map_err(|reason| no_cluster(why, Some(&reason)))
    }

    /// The AWS side and, when a cluster is reachable, the Kubernetes side of `mesh`.
    pub async fn inventory(&self, mesh: &str) -> Result<(Inventory, Option<Kube>), Error> {
        let mut inv = inventory::read_aws(&self.aws.appmesh(), mesh).await?;
        let kube = match self.kube().await? {
            Ok(kube) => {
                inv.kubernetes = Some(inventory::read_kube(&kube).await?);
                Some(kube)
            }
            Err(reason) => {
                inv.kubernetes_note = Some(reason);
                None
            }
        };
        Ok((inv, kube))
    }
}

async fn session(g: &GlobalArgs, ui: &Ui, cancel: &CancellationToken) -> Result<Session, Error> {
    let config = Arc::new(crate::app::load_config(g).await?);
    for warning in &config.warnings {
        ui.warn(warning);
    }
    let aws = match Aws::connect(&config.region, g.profile.as_deref(), g.call_timeout).await? {
        Connection::Online(aws) => *aws,
        Connection::Offline { .. } => return Err(Error::NoCredentials),
    };
    let store = state::open(&config.state, &config.name, Some(&aws.sdk)).await?;
    let stack_state = StackState::load(store.clone(), &config.name).await?;
    let ctx = StepCtx {
        config: config.clone(),
        aws: Some(aws.clone()),
        options: RunOptions {
            timeout: g.timeout,
            no_wait: g.no_wait,
            no_rollback: true,
            poll_interval: crate::app::poll_interval_from_env()?,
        },
        ledger: Ledger::scratch(&config.name),
        state: stack_state,
        progress: StepProgress::silent("migrate"),
        cancel: cancel.clone(),
    };
    Ok(Session {
        config,
        aws,
        store,
        ctx,
        ui: ui.clone(),
        global: g.clone(),
    })
}

/// Run `meshctl migrate …`.
pub async fn run(
    args: &MigrateArgs,
    g: &GlobalArgs,
    ui: &Ui,
    cancel: &CancellationToken,
) -> Result<i32, Error> {
    let MigrateFrom::Appmesh(AppmeshArgs { action }) = &args.from;
    // Usage checks first: nothing is read before they pass.
    check_mesh_name(action.mesh())?;
    match action {
        AppmeshAction::Translate(a) => {
            check_namespace(&a.namespace)?;
            check_out_dir(&a.out, a.force)?;
        }
        AppmeshAction::Apply(a) | AppmeshAction::Rollback(a) => check_namespace(&a.namespace)?,
        AppmeshAction::Shift(a) => check_namespace(&a.namespace)?,
        _ => {}
    }
    let s = session(g, ui, cancel).await?;
    // Changes take the stack's lock (as `up` and `cleanup` do); Ctrl-C stops at once and
    // releases it: the progress file keeps what was done.
    let lock = if action.changes() && !g.dry_run {
        Some(
            StackLock::acquire(
                s.store.clone(),
                &s.config.name,
                action.name(),
                g.force_unlock,
            )
            .await?,
        )
    } else {
        None
    };
    let result = tokio::select! {
        biased;
        _ = cancel.cancelled() => Err(Error::Interrupted),
        r = dispatch(&s, action, ui) => r,
    };
    if let Some(lock) = lock
        && let Err(e) = lock.release().await
    {
        ui.warn(format!("could not release the lock: {e}"));
    }
    result.map(|()| exit::OK)
}

async fn dispatch(s: &Session, action: &AppmeshAction, ui: &Ui) -> Result<(), Error> {
    match action {
        AppmeshAction::Inventory(a) => {
            let (inv, _) = s.inventory(&a.mesh).await?;
            ui.emit(&inv);
        }
        AppmeshAction::Translate(a) => {
            let (inv, _) = s.inventory(&a.mesh).await?;
            let opts = translate::Options::new(&a.namespace, &s.config.name);
            let t = translate::translate(&inv, &opts);
            write_translation(&a.out, &t)?;
            ui.emit(&TranslateReport {
                kind: "translate",
                mesh: inv.mesh.name.clone(),
                out: a.out.clone(),
                files: t.files.keys().cloned().collect(),
                objects: t.objects.len(),
                report: t.report.clone(),
            });
        }
        AppmeshAction::Apply(a) => apply::apply(s, a).await?,
        AppmeshAction::Shift(a) => apply::shift(s, a).await?,
        AppmeshAction::Rollback(a) => apply::rollback(s, a).await?,
        AppmeshAction::Remove(a) => remove::remove(s, &a.mesh).await?,
    }
    Ok(())
}

/// `--out` must be a directory that is missing or empty, unless `--force`.
fn check_out_dir(out: &Path, force: bool) -> Result<(), Error> {
    match std::fs::read_dir(out) {
        Ok(mut entries) => {
            if entries.next().is_some() && !force {
                return Err(Error::usage(
                    format!("{} is not empty", out.display()),
                    "choose an empty or new directory, or pass --force to write into it (files of the same name are replaced)",
                ));
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => Err(Error::usage(
            format!("{} is a file, not a directory", out.display()),
            "pass a directory to --out",
        )),
        Err(e) => Err(Error::usage(
            format!("cannot read {}: {e}", out.display()),
            "pass a directory you can write to",
        )),
    }
}

fn write_translation(out: &Path, t: &translate::Translation) -> Result<(), Error> {
    std::fs::create_dir_all(out)?;
    for (path, text) in &t.files {
        std::fs::write(out.join(path), text)?;
    }
    Ok(())
}

/// What `translate` wrote.
#[derive(Debug, serde::Serialize)]
struct TranslateReport {
    kind: &'static str,
    mesh: String,
    out: PathBuf,
    files: Vec<PathBuf>,
    objects: usize,
    report: Vec<translate::ReportItem>,
}

impl std::fmt::Display for TranslateReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "translated mesh {} into {} Istio objects in {}:",
            self.mesh,
            self.objects,
            self.out.display()
        )?;
        for p in &self.files {
            writeln!(f, "  {}", p.display())?;
        }
        let manual = self
            .report
            .iter()
            .filter(|r| r.severity == translate::Severity::Manual)
            .count();
        writeln!(
            f,
            "{manual} items need manual action and {} need checking: see {}",
            self.report.len() - manual,
            self.out.join(translate::REPORT_FILE).display()
        )
    }
}
