//! The runner: starts each step as soon as its prerequisites are done (so independent steps
//! run concurrently), stops starting new work on the first failure or on Ctrl-C, then rolls
//! back what this run created, newest first.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;

use serde::Serialize;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::ledger::RunStatus;
use super::{Action, Op, Resource, Step, StepCtx, StepId, StepPlan, graph};
use crate::error::{Error, exit};
use crate::ui::Ui;

/// The step implementations a run uses (real ones, or test doubles).
pub type Registry = BTreeMap<StepId, Arc<dyn Step>>;

pub fn registry(make: impl Fn(StepId) -> Arc<dyn Step>) -> Registry {
    StepId::ALL.into_iter().map(|id| (id, make(id))).collect()
}

/// How one step ended in a run.
#[derive(Debug, Clone, Serialize)]
pub struct StepResult {
    pub step: StepId,
    /// `succeeded`, `incomplete` (it skipped work, e.g. with `--no-wait`: `incomplete` says
    /// what), `failed`, or `not-started` (a failure or Ctrl-C came first). For cleanup,
    /// `actions` lists what was deleted.
    pub status: &'static str,
    pub actions: Vec<Action>,
    pub outputs: BTreeMap<String, String>,
    pub notes: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// What the step left undone, when `status` is `incomplete`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incomplete: Option<String>,
}

/// One resource rollback or cleanup tried to remove.
#[derive(Debug, Clone, Serialize)]
pub struct Removal {
    pub step: StepId,
    pub kind: String,
    pub id: String,
    /// `deleted`, `failed` or `kept`.
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The command that finishes the job by hand, when it was not done.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

/// The result of `up`, a step command, or `cleanup`. Its JSON shape is documented in
/// docs/output.md.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    /// Always `"result"`.
    pub kind: &'static str,
    pub command: String,
    pub stack: String,
    pub run_id: String,
    /// `succeeded`, `incomplete` (every step ran, some skipped work), `rolled-back`,
    /// `rollback-incomplete`, `kept`, `interrupted`, `failed`.
    pub status: &'static str,
    pub exit_code: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resumed_from: Option<String>,
    pub steps: Vec<StepResult>,
    /// What rollback removed, failed to remove, or kept (`--no-rollback`); newest first.
    /// Empty for cleanup and for runs that succeeded.
    pub rollback: Vec<Removal>,
}

impl fmt::Display for RunReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for s in &self.steps {
            match s.status {
                "succeeded" | "incomplete" => {
                    let changed = s.actions.iter().filter(|a| a.op.changes()).count();
                    writeln!(
                        f,
                        "{} {:<11} {}",
                        if s.status == "incomplete" { "~" } else { "✓" },
                        s.step,
                        if changed == 0 && self.command == "cleanup" {
                            "nothing to remove".to_string()
                        } else if changed == 0 {
                            "no changes".to_string()
                        } else if self.command == "cleanup" {
                            format!("{changed} removed")
                        } else {
                            format!("{changed} change(s)")
                        }
                    )?;
                    for a in s.actions.iter().filter(|a| a.op.changes()) {
                        writeln!(f, "    {a}")?;
                    }
                    if let Some(left) = &s.incomplete {
                        writeln!(f, "    INCOMPLETE: {left}")?;
                    }
                    for (k, v) in &s.outputs {
                        writeln!(f, "    {k}: {v}")?;
                    }
                }
                "failed" => {
                    writeln!(
                        f,
                        "✗ {:<11} {}",
                        s.step,
                        s.error.as_deref().unwrap_or("failed")
                    )?;
                    // A cleanup that failed part-way: what it removed, and what is left.
                    for a in &s.actions {
                        writeln!(f, "    {a}")?;
                    }
                }
                other => writeln!(f, "- {:<11} {other}", s.step)?,
            }
            for n in &s.notes {
                writeln!(f, "    note: {n}")?;
            }
        }
        if !self.rollback.is_empty() {
            writeln!(f, "\nRollback (newest first):")?;
            for r in &self.rollback {
                match r.status {
                    "deleted" => writeln!(f, "  deleted {} {}", r.kind, r.id)?,
                    "kept" => {
                        writeln!(f, "  kept    {} {}", r.kind, r.id)?;
                        if let Some(h) = r.hint.as_deref().filter(|h| !h.is_empty()) {
                            writeln!(f, "          remove it with: {h}")?;
                        }
                    }
                    _ => {
                        writeln!(
                            f,
                            "  FAILED  {} {}: {}",
                            r.kind,
                            r.id,
                            r.error.as_deref().unwrap_or("")
                        )?;
                        if let Some(h) = &r.hint {
                            writeln!(f, "          remove it with: {h}")?;
                        }
                    }
                }
            }
        }
        let summary = match self.status {
            "succeeded" => "done.".to_string(),
            "incomplete" => format!(
                "done, but some steps are incomplete (see above): run `meshctl {}` again without --no-wait to finish them.",
                self.command
            ),
            "rolled-back" => "failed; everything this run created was rolled back.".to_string(),
            "rollback-incomplete" => {
                "failed; rollback could not remove everything: see the commands above.".to_string()
            }
            "kept" => format!(
                "failed; --no-rollback kept what this run created. Run `meshctl {}` again to resume, or `meshctl cleanup` to remove it.",
                self.command
            ),
            "interrupted" => "interrupted.".to_string(),
            other => other.to_string(),
        };
        writeln!(f, "\n{summary}")
    }
}

/// Runs steps against one stack.
pub struct Runner {
    pub registry: Registry,
    /// The context every step starts from; each step gets its own progress line.
    pub base: StepCtx,
    pub ui: Ui,
}

impl Runner {
    /// The base context with `step`'s own progress line (silent when planning).
    fn ctx(&self, step: StepId, visible: bool) -> StepCtx {
        let mut ctx = self.base.clone();
        ctx.progress = if visible {
            self.ui.step(step.name())
        } else {
            crate::ui::StepProgress::silent(step.name())
        };
        ctx
    }

    /// Plan `selected` (already in graph order).
    pub async fn plan(&self, selected: &[StepId]) -> Result<Vec<StepPlan>, Error> {
        let mut plans = vec![];
        for &id in selected {
            let mut plan = self.registry[&id].plan(&self.ctx(id, false)).await?;
            plan.after = graph::after(id).to_vec();
            plans.push(plan);
        }
        Ok(plans)
    }

    /// What cleanup of `selected` would remove, newest step first.
    pub async fn destroy_plan(&self, selected: &[StepId]) -> Result<Vec<StepPlan>, Error> {
        let mut plans = vec![];
        for &id in selected.iter().rev() {
            plans.push(
                self.registry[&id]
                    .destroy_plan(&self.ctx(id, false))
                    .await?,
            );
        }
        Ok(plans)
    }

    /// Apply `selected`, concurrently where the graph allows; roll back on failure.
    pub async fn apply(&self, command: &str, selected: &[StepId]) -> RunReport {
        let selected = graph::ordered(selected);
        let cancel = self.base.cancel.clone();
        let mut pending: Vec<StepId> = selected.clone();
        let mut done: BTreeSet<StepId> = BTreeSet::new();
        let mut results: BTreeMap<StepId, StepResult> = BTreeMap::new();
        let mut running: JoinSet<(StepId, Result<super::StepReport, Error>)> = JoinSet::new();
        let mut tasks: BTreeMap<tokio::task::Id, StepId> = BTreeMap::new();
        let mut failed = false;
        let mut interrupted = false;

        loop {
            if !failed && !cancel.is_cancelled() {
                let ready: Vec<StepId> = pending
                    .iter()
                    .copied()
                    .filter(|id| {
                        graph::after(*id)
                            .iter()
                            .all(|dep| !selected.contains(dep) || done.contains(dep))
                    })
                    .collect();
                for id in ready {
                    pending.retain(|p| *p != id);
                    let step = self.registry[&id].clone();
                    let ctx = self.ctx(id, true);
                    let handle = running.spawn(async move {
                        ctx.progress.message("starting");
                        let result = step.apply(&ctx).await;
                        match &result {
                            Ok(r) if r.changed() => ctx.progress.finish("done"),
                            Ok(_) => ctx.progress.finish("up to date"),
                            Err(e) => ctx.progress.finish(&format!("failed: {e}")),
                        }
                        (id, result)
                    });
                    tasks.insert(handle.id(), id);
                }
            }
            if running.is_empty() {
                break;
            }
            tokio::select! {
                joined = running.join_next() => {
                    let Some(joined) = joined else { continue };
                    let (id, result) = match joined {
                        Ok(pair) => pair,
                        Err(join_err) => {
                            // A step that panicked failed; what it recorded is rolled back.
                            failed = true;
                            if let Some(id) = tasks.get(&join_err.id()).copied() {
                                results.insert(id, failed_result(id, &Error::State {
                                    location: "step".into(),
                                    message: format!("step {id} crashed: {join_err}"),
                                }));
                            }
                            continue;
                        }
                    };
                    match result {
                        Ok(report) => {
                            if let Err(e) = self
                                .base
                                .state
                                .set_applied(id, report.outputs.clone(), &self.base.placement(), report.incomplete.clone())
                                .await
                            {
                                failed = true;
                                results.insert(id, failed_result(id, &e));
                                continue;
                            }
                            done.insert(id);
                            results.insert(id, StepResult {
                                step: id,
                                status: if report.incomplete.is_some() { "incomplete" } else { "succeeded" },
                                actions: report.actions,
                                outputs: report.outputs,
                                notes: report.notes,
                                error: None,
                                incomplete: report.incomplete,
                            });
                        }
                        Err(Error::Interrupted) => {
                            interrupted = true;
                            failed = true;
                            results.insert(id, failed_result(id, &Error::Interrupted));
                        }
                        Err(e) => {
                            failed = true;
                            results.insert(id, failed_result(id, &e));
                        }
                    }
                }
                // The signal handler has already said so (src/app.rs): one notice, not two.
                _ = cancel.cancelled(), if !interrupted => {
                    interrupted = true;
                    failed = true;
                }
            }
        }
        if cancel.is_cancelled() && !interrupted {
            // Ctrl-C came before any step started (or between two of them).
            interrupted = true;
            failed = true;
        }
        for id in pending {
            results.insert(
                id,
                StepResult {
                    step: id,
                    status: "not-started",
                    actions: vec![],
                    outputs: BTreeMap::new(),
                    notes: vec![],
                    error: None,
                    incomplete: None,
                },
            );
        }

        let mut rollback = vec![];
        let any_incomplete = results.values().any(|r| r.status == "incomplete");
        let (status, exit_code, ledger_status) = if !failed && any_incomplete {
            ("incomplete", exit::OK, RunStatus::Completed)
        } else if !failed {
            ("succeeded", exit::OK, RunStatus::Completed)
        } else if self.base.options.no_rollback {
            for r in self.base.ledger.resources().await {
                rollback.push(Removal {
                    step: r.step,
                    kind: r.kind.clone(),
                    id: r.id.clone(),
                    status: "kept",
                    error: None,
                    hint: Some(self.registry[&r.step].undo_hint(&r)),
                });
            }
            rollback.reverse();
            let code = if interrupted {
                exit::INTERRUPTED
            } else {
                exit::FAILED
            };
            (
                if interrupted { "interrupted" } else { "kept" },
                code,
                RunStatus::Kept,
            )
        } else {
            rollback = self.rollback().await;
            let complete = rollback.iter().all(|r| r.status == "deleted");
            match (interrupted, complete) {
                (true, true) => ("interrupted", exit::INTERRUPTED, RunStatus::RolledBack),
                (true, false) => (
                    "interrupted",
                    exit::INTERRUPTED,
                    RunStatus::RollbackIncomplete,
                ),
                (false, true) => ("rolled-back", exit::FAILED, RunStatus::RolledBack),
                (false, false) => (
                    "rollback-incomplete",
                    exit::ROLLBACK_INCOMPLETE,
                    RunStatus::RollbackIncomplete,
                ),
            }
        };
        if let Err(e) = self.base.ledger.finish(ledger_status).await {
            self.ui.warn(format!("could not close the ledger: {e}"));
        }
        RunReport {
            kind: "result",
            command: command.to_string(),
            stack: self.base.config.name.clone(),
            run_id: self.base.ledger.run_id().await,
            status,
            exit_code,
            resumed_from: self.base.ledger.resumed_from().map(str::to_string),
            steps: selected
                .iter()
                .filter_map(|id| results.remove(id))
                .collect(),
            rollback,
        }
    }

    /// Undo every resource this run recorded, newest first, continuing past failures.
    pub async fn rollback(&self) -> Vec<Removal> {
        let resources: Vec<Resource> = self.base.ledger.resources().await;
        let cancel = CancellationToken::new();
        let mut out = vec![];
        let mut touched: BTreeSet<StepId> = BTreeSet::new();
        for r in resources.iter().rev() {
            let step = &self.registry[&r.step];
            let mut ctx = self.ctx(r.step, true);
            ctx.cancel = cancel.clone();
            ctx.progress
                .message(&format!("rolling back {} {}", r.kind, r.id));
            match step.undo(&ctx, r).await {
                Ok(()) => {
                    ctx.progress
                        .finish(&format!("rolled back {} {}", r.kind, r.id));
                    touched.insert(r.step);
                    if let Err(e) = self.base.ledger.forget(&r.kind, &r.id).await {
                        self.ui.warn(format!("could not update the ledger: {e}"));
                    }
                    out.push(Removal {
                        step: r.step,
                        kind: r.kind.clone(),
                        id: r.id.clone(),
                        status: "deleted",
                        error: None,
                        hint: None,
                    });
                }
                Err(e) => {
                    ctx.progress
                        .finish(&format!("could not roll back {} {}", r.kind, r.id));
                    out.push(Removal {
                        step: r.step,
                        kind: r.kind.clone(),
                        id: r.id.clone(),
                        status: "failed",
                        error: Some(e.to_string()),
                        hint: Some(step.undo_hint(r)),
                    });
                }
            }
        }
        for step in touched {
            if let Err(e) = self.base.state.clear(step).await {
                self.ui.warn(format!("could not update the state: {e}"));
            }
        }
        out
    }

    /// Remove everything `selected` steps own, dependents first.
    /// Clean up `selected`, dependents first. `planned` holds the destroy plans shown before
    /// asking (when there were any): a step that fails part-way is reported with what it had
    /// removed (`-`) and what is left (`=`), found by planning its cleanup again.
    pub async fn destroy(&self, selected: &[StepId], planned: &[StepPlan]) -> RunReport {
        let selected = graph::ordered(selected);
        let mut steps = vec![];
        let mut any_failed = false;
        let mut interrupted = false;
        for &id in selected.iter().rev() {
            if self.base.cancel.is_cancelled() {
                interrupted = true;
                steps.push(StepResult {
                    step: id,
                    status: "not-started",
                    actions: vec![],
                    outputs: BTreeMap::new(),
                    notes: vec![],
                    error: None,
                    incomplete: None,
                });
                continue;
            }
            let ctx = self.ctx(id, true);
            ctx.progress.message("looking for owned resources");
            let before = match planned.iter().find(|p| p.step == id) {
                Some(p) => Some(p.clone()),
                None => self.registry[&id].destroy_plan(&ctx).await.ok(),
            };
            match self.registry[&id].destroy(&ctx).await {
                Ok(report) => {
                    ctx.progress.finish(if report.changed() {
                        "removed"
                    } else {
                        "nothing to remove"
                    });
                    if let Err(e) = self.base.state.clear(id).await {
                        self.ui.warn(format!("could not update the state: {e}"));
                    }
                    if let Err(e) = self.base.ledger.forget_step(id).await {
                        self.ui.warn(format!("could not update the ledger: {e}"));
                    }
                    steps.push(StepResult {
                        step: id,
                        status: "succeeded",
                        actions: report.actions,
                        outputs: BTreeMap::new(),
                        notes: report.notes,
                        error: None,
                        incomplete: None,
                    });
                }
                Err(e) => {
                    ctx.progress.finish(&format!("failed: {e}"));
                    if matches!(e, Error::Interrupted) {
                        interrupted = true;
                    }
                    any_failed = true;
                    let mut result = failed_result(id, &e);
                    let after = self.registry[&id].destroy_plan(&self.ctx(id, false)).await;
                    let (actions, note) = partial_cleanup(before.as_ref(), after);
                    result.actions = actions;
                    result.notes.push(note);
                    steps.push(result);
                }
            }
        }
        // A failed cleanup leaves resources behind: the same situation as an incomplete rollback.
        let (status, exit_code) = match (interrupted, any_failed) {
            (true, _) => ("interrupted", exit::INTERRUPTED),
            (false, true) => ("failed", exit::ROLLBACK_INCOMPLETE),
            (false, false) => ("succeeded", exit::OK),
        };
        let ledger_status = if self.base.ledger.resources().await.is_empty() {
            RunStatus::Completed
        } else {
            RunStatus::Open
        };
        if let Err(e) = self.base.ledger.finish(ledger_status).await {
            self.ui.warn(format!("could not close the ledger: {e}"));
        }
        RunReport {
            kind: "result",
            command: "cleanup".into(),
            stack: self.base.config.name.clone(),
            run_id: self.base.ledger.run_id().await,
            status,
            exit_code,
            resumed_from: None,
            steps,
            rollback: vec![],
        }
    }
}

/// What a cleanup that failed part-way had removed and what is left: the resources planned for
/// deletion before it started, against those a fresh destroy plan still finds.
fn partial_cleanup(
    before: Option<&StepPlan>,
    after: Result<StepPlan, Error>,
) -> (Vec<Action>, String) {
    let doomed = |p: &StepPlan| -> Vec<Action> {
        p.actions
            .iter()
            .filter(|a| a.op == Op::Delete)
            .cloned()
            .collect()
    };
    let after = match after {
        Ok(plan) => plan,
        Err(e) => {
            return (
                vec![],
                format!("could not tell what is left ({e}); `meshctl cleanup --dry-run` lists it"),
            );
        }
    };
    let left = doomed(&after);
    let same = |a: &Action, b: &Action| a.kind == b.kind && a.name == b.name;
    let mut actions: Vec<Action> = before
        .map(doomed)
        .unwrap_or_default()
        .into_iter()
        .filter(|a| !left.iter().any(|l| same(a, l)))
        .map(|a| Action::new(Op::Delete, a.kind, a.name).detail("removed before the failure"))
        .collect();
    let removed = actions.len();
    actions.extend(left.iter().map(|a| {
        Action::new(Op::Keep, a.kind.clone(), a.name.clone())
            .detail("left: still owned by the stack")
    }));
    let note = format!(
        "{removed} removed before the failure, {} left; run `meshctl cleanup --only {}` again once the cause is fixed",
        left.len(),
        after.step
    );
    (actions, note)
}

fn failed_result(step: StepId, e: &Error) -> StepResult {
    let mut msg = e.to_string();
    if let Some(help) = miette::Diagnostic::help(e) {
        msg.push_str(&format!(" (hint: {help})"));
    }
    StepResult {
        step,
        status: "failed",
        actions: vec![],
        outputs: BTreeMap::new(),
        notes: vec![],
        error: Some(msg),
        incomplete: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_rollback_text_prints_the_removal_command_of_each_kept_resource() {
        let report = RunReport {
            kind: "result",
            command: "amp".into(),
            stack: "demo".into(),
            run_id: "run".into(),
            status: "kept",
            exit_code: exit::FAILED,
            resumed_from: None,
            steps: vec![],
            rollback: vec![Removal {
                step: StepId::Amp,
                kind: "amp-workspace".into(),
                id: "ws-1".into(),
                status: "kept",
                error: None,
                hint: Some("aws amp delete-workspace --workspace-id ws-1".into()),
            }],
        };
        let text = report.to_string();
        assert!(
            text.contains("remove it with: aws amp delete-workspace --workspace-id ws-1"),
            "{text}"
        );
    }
}
