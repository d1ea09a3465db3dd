//! The step engine: the [`Step`] trait, the step graph, plans, the ledger of created
//! resources, state storage with its lock, and the runner that applies and rolls back.

pub mod graph;
pub mod ledger;
pub mod lock;
pub mod owned;
pub mod plan;
pub mod runner;
pub mod state;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::aws::Aws;
use crate::config::Config;
use crate::error::Error;
use crate::ui::StepProgress;

pub use graph::GRAPH;
pub use ledger::{Ledger, Resource};
pub use plan::{Action, Op, Plan, StepPlan};
pub use state::{Placement, StackState, StateStore};

/// One step of the stack, in the order the graph allows.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum StepId {
    Cluster,
    /// The cluster's managed node groups: a step of their own so that work needing only the
    /// control plane (`irsa`, `istio`) starts while nodes are still being created.
    Nodes,
    Istio,
    Amp,
    Irsa,
    Prometheus,
    Kiali,
    Grafana,
    Pagerduty,
}

impl StepId {
    pub const ALL: [StepId; 9] = [
        StepId::Cluster,
        StepId::Nodes,
        StepId::Istio,
        StepId::Amp,
        StepId::Irsa,
        StepId::Prometheus,
        StepId::Kiali,
        StepId::Grafana,
        StepId::Pagerduty,
    ];

    pub fn name(self) -> &'static str {
        match self {
            StepId::Cluster => "cluster",
            StepId::Nodes => "nodes",
            StepId::Istio => "istio",
            StepId::Amp => "amp",
            StepId::Irsa => "irsa",
            StepId::Prometheus => "prometheus",
            StepId::Kiali => "kiali",
            StepId::Grafana => "grafana",
            StepId::Pagerduty => "pagerduty",
        }
    }
}

impl std::fmt::Display for StepId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.name())
    }
}

/// Options that shape how a run behaves, from the global flags.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub timeout: Duration,
    pub no_wait: bool,
    pub no_rollback: bool,
    /// Upper bound on every polling interval (`MESHCTL_POLL_INTERVAL`, e.g. `200ms`): emulators
    /// and tests use it so waits that poll real AWS every 30 s poll quickly there.
    pub poll_interval: Option<Duration>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            timeout: Duration::from_secs(30 * 60),
            no_wait: false,
            no_rollback: false,
            poll_interval: None,
        }
    }
}

/// Everything a step may use while it runs.
#[derive(Clone)]
pub struct StepCtx {
    pub config: Arc<Config>,
    /// `None` when planning offline (no credentials): steps then assume nothing exists.
    pub aws: Option<Aws>,
    pub options: RunOptions,
    pub ledger: Ledger,
    /// Outputs of steps applied earlier (by this run or a previous one).
    pub state: StackState,
    pub progress: StepProgress,
    pub cancel: CancellationToken,
}

impl StepCtx {
    /// Where this command's resources live: the config's region and the caller's account.
    pub fn placement(&self) -> Placement {
        Placement {
            region: self.config.region.clone(),
            account: self
                .aws
                .as_ref()
                .map(|a| a.account.clone())
                .unwrap_or_default(),
        }
    }

    /// The AWS clients, or an error saying that this action needs credentials.
    pub fn aws(&self) -> Result<&Aws, Error> {
        self.aws.as_ref().ok_or(Error::NoCredentials)
    }

    /// The interval to poll at: `default`, or less when `MESHCTL_POLL_INTERVAL` caps it.
    pub fn poll(&self, default: Duration) -> Duration {
        self.options
            .poll_interval
            .map_or(default, |cap| cap.min(default))
    }

    /// Poll `check` until it returns `Some`, telling the user what is awaited.
    /// `interval` is capped by [`StepCtx::poll`].
    ///
    /// Stops with [`Error::Interrupted`] on Ctrl-C and [`Error::Timeout`] after `--timeout`.
    pub async fn wait_for<T, F, Fut>(
        &self,
        what: &str,
        interval: Duration,
        mut check: F,
    ) -> Result<T, Error>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<Option<T>, Error>>,
    {
        let started = Instant::now();
        loop {
            if let Some(value) = check().await? {
                return Ok(value);
            }
            if started.elapsed() >= self.options.timeout {
                return Err(Error::Timeout {
                    what: what.to_string(),
                    after: self.options.timeout,
                });
            }
            self.progress.waiting(what);
            tokio::select! {
                _ = self.cancel.cancelled() => return Err(Error::Interrupted),
                _ = tokio::time::sleep(self.poll(interval)) => {}
            }
        }
    }
}

/// What a step reports after apply or destroy.
#[derive(Debug, Clone, Default, Serialize)]
pub struct StepReport {
    pub step: Option<StepId>,
    /// Each resource the step created, changed, deleted or left alone.
    pub actions: Vec<Action>,
    /// Values later steps or the user need (ids, URLs). Never secrets.
    pub outputs: BTreeMap<String, String>,
    pub notes: Vec<String>,
    /// Set when the step skipped part of its work (e.g. `--no-wait`): what is left to do.
    /// The run reports the step as `incomplete`, and so do `status` and the next plan.
    pub incomplete: Option<String>,
}

impl StepReport {
    pub fn changed(&self) -> bool {
        self.actions.iter().any(|a| a.op.changes())
    }
}

/// What `status` shows for one step.
#[derive(Debug, Clone, Serialize)]
pub struct StepStatus {
    pub step: StepId,
    /// `present`, `partial`, `absent` or `unknown`.
    pub state: String,
    pub details: BTreeMap<String, String>,
}

/// One step of the stack. Every method observes before it acts, so each is idempotent.
#[async_trait]
pub trait Step: Send + Sync {
    fn id(&self) -> StepId;

    /// `false` while a step can plan but not yet apply.
    fn available(&self) -> bool {
        true
    }

    /// What `apply` would do. Makes no mutating call.
    async fn plan(&self, ctx: &StepCtx) -> Result<StepPlan, Error>;

    /// Create or update what the plan describes, recording each created resource in the
    /// ledger before the next call.
    async fn apply(&self, ctx: &StepCtx) -> Result<StepReport, Error>;

    /// What `destroy` would remove: only resources carrying this stack's marks.
    async fn destroy_plan(&self, ctx: &StepCtx) -> Result<StepPlan, Error>;

    /// Remove every resource of this step that carries this stack's marks.
    async fn destroy(&self, ctx: &StepCtx) -> Result<StepReport, Error>;

    /// What exists now.
    async fn status(&self, ctx: &StepCtx) -> Result<StepStatus, Error>;

    /// Delete one resource this step recorded in the ledger (rollback).
    async fn undo(&self, ctx: &StepCtx, resource: &Resource) -> Result<(), Error>;

    /// A command a person can run to delete `resource` by hand when rollback could not.
    fn undo_hint(&self, resource: &Resource) -> String;
}
