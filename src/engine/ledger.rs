//! The ledger: every resource a run creates, written durably right after the create call
//! returns and before the next call, with what is needed to delete it again.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use super::StepId;
use super::state::StateStore;
use crate::error::Error;

pub const LEDGER_KEY: &str = "ledger.json";

/// One created resource.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Resource {
    pub step: StepId,
    /// Kind, e.g. `amp-workspace`; the step that recorded it knows how to delete it.
    pub kind: String,
    /// The id to delete it by.
    pub id: String,
    /// Extra identifiers needed to delete it (e.g. the workspace of a rule-groups namespace).
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub data: serde_json::Map<String, serde_json::Value>,
    pub created_at: DateTime<Utc>,
}

impl Resource {
    pub fn new(step: StepId, kind: &str, id: impl Into<String>) -> Resource {
        Resource {
            step,
            kind: kind.to_string(),
            id: id.into(),
            data: serde_json::Map::new(),
            created_at: Utc::now(),
        }
    }

    pub fn with(mut self, key: &str, value: impl Into<String>) -> Resource {
        self.data
            .insert(key.to_string(), serde_json::Value::String(value.into()));
        self
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.data.get(key).and_then(|v| v.as_str())
    }

    /// The error for a ledger entry whose kind `step` does not know how to undo (a ledger
    /// written by another meshctl version, or edited by hand).
    pub fn unknown_kind(step: StepId, kind: &str) -> Error {
        Error::State {
            location: "ledger".into(),
            message: format!(
                "{step} does not know resource kind `{kind}`: remove it with `meshctl cleanup --only {step}`"
            ),
        }
    }
}

/// How the run that owns the ledger ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunStatus {
    /// Still running, or the process died: the next `up` resumes it.
    Open,
    Completed,
    RolledBack,
    /// Failed with `--no-rollback`: resources kept on purpose.
    Kept,
    RollbackIncomplete,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LedgerDoc {
    pub run_id: String,
    pub stack: String,
    pub command: String,
    pub started_at: DateTime<Utc>,
    pub status: RunStatus,
    /// In creation order.
    pub resources: Vec<Resource>,
}

/// Shared handle to the current run's ledger.
#[derive(Clone)]
pub struct Ledger {
    store: Arc<dyn StateStore>,
    doc: Arc<Mutex<LedgerDoc>>,
    /// Set when this run continues an earlier run that never finished.
    resumed_from: Option<String>,
}

impl Ledger {
    /// Start a run. If the previous run is still `open` (it crashed or was killed), continue
    /// it: its run id and its resources carry over, so a rollback covers them too, and a
    /// retried create reuses the same idempotency token.
    pub async fn begin(
        store: Arc<dyn StateStore>,
        stack: &str,
        command: &str,
    ) -> Result<Ledger, Error> {
        let previous = Self::read(store.as_ref()).await?;
        let (doc, resumed_from) = match previous {
            Some(doc) if doc.status == RunStatus::Open => {
                let id = doc.run_id.clone();
                (doc, Some(id))
            }
            _ => (
                LedgerDoc {
                    run_id: new_run_id(),
                    stack: stack.to_string(),
                    command: command.to_string(),
                    started_at: Utc::now(),
                    status: RunStatus::Open,
                    resources: vec![],
                },
                None,
            ),
        };
        let ledger = Ledger {
            store,
            doc: Arc::new(Mutex::new(doc)),
            resumed_from,
        };
        ledger.flush().await?;
        Ok(ledger)
    }

    /// A ledger that is never written (dry runs and offline plans).
    pub fn scratch(stack: &str) -> Ledger {
        Ledger {
            store: Arc::new(super::state::MemoryStore::default()),
            doc: Arc::new(Mutex::new(LedgerDoc {
                run_id: "dry-run".into(),
                stack: stack.to_string(),
                command: "plan".into(),
                started_at: Utc::now(),
                status: RunStatus::Open,
                resources: vec![],
            })),
            resumed_from: None,
        }
    }

    pub async fn read(store: &dyn StateStore) -> Result<Option<LedgerDoc>, Error> {
        match store.get(LEDGER_KEY).await? {
            None => Ok(None),
            Some(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| Error::State {
                    location: store.location(),
                    message: format!("{LEDGER_KEY} is not valid: {e}"),
                }),
        }
    }

    pub fn resumed_from(&self) -> Option<&str> {
        self.resumed_from.as_deref()
    }

    pub async fn run_id(&self) -> String {
        self.doc.lock().await.run_id.clone()
    }

    /// Record a created resource durably. Call it right after the create call returns.
    pub async fn record(&self, resource: Resource) -> Result<(), Error> {
        let mut doc = self.doc.lock().await;
        if !doc
            .resources
            .iter()
            .any(|r| r.kind == resource.kind && r.id == resource.id)
        {
            doc.resources.push(resource);
        }
        self.save(&doc).await
    }

    /// Forget a resource (it was deleted by rollback or by a destroy in this run).
    pub async fn forget(&self, kind: &str, id: &str) -> Result<(), Error> {
        let mut doc = self.doc.lock().await;
        let before = doc.resources.len();
        doc.resources.retain(|r| !(r.kind == kind && r.id == id));
        if doc.resources.len() != before {
            self.save(&doc).await?;
        }
        Ok(())
    }

    /// Resources created by this run, in creation order.
    pub async fn resources(&self) -> Vec<Resource> {
        self.doc.lock().await.resources.clone()
    }

    pub async fn finish(&self, status: RunStatus) -> Result<(), Error> {
        self.doc.lock().await.status = status;
        self.flush().await
    }

    async fn flush(&self) -> Result<(), Error> {
        let doc = self.doc.lock().await;
        self.save(&doc).await
    }

    /// The one place the ledger is written; callers hold the document's lock.
    async fn save(&self, doc: &LedgerDoc) -> Result<(), Error> {
        let body = serde_json::to_vec_pretty(doc).expect("ledger serialises");
        self.store.put(LEDGER_KEY, &body).await
    }
}

fn new_run_id() -> String {
    let now = Utc::now();
    format!(
        "{}-{:06x}",
        now.format("%Y%m%dT%H%M%SZ"),
        rand::random::<u32>() & 0xff_ffff
    )
}

impl Ledger {
    /// Forget every resource of `step` (cleanup removed them).
    pub async fn forget_step(&self, step: StepId) -> Result<(), Error> {
        let mut doc = self.doc.lock().await;
        let before = doc.resources.len();
        doc.resources.retain(|r| r.step != step);
        if doc.resources.len() != before {
            self.save(&doc).await?;
        }
        Ok(())
    }
}
