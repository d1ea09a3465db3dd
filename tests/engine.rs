//! Engine behaviour with test steps standing in for cloud resources: concurrency follows the
//! graph, rollback is exact and newest-first, resume after a crash, the ledger is durable.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use meshctl::config::Config;
use meshctl::engine::ledger::{LedgerDoc, RunStatus};
use meshctl::engine::runner::{Registry, Runner};
use meshctl::engine::state::{LocalStore, StateStore};
use meshctl::engine::{
    Action, Ledger, Op, Resource, RunOptions, StackState, Step, StepCtx, StepId, StepPlan,
    StepReport, StepStatus,
};
use meshctl::error::Error;
use meshctl::ui::{StepProgress, Ui};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// What exists "in the cloud", and the order things happened in.
#[derive(Default)]
struct World {
    existing: BTreeSet<String>,
    events: Vec<String>,
}

type Shared = Arc<Mutex<World>>;

#[derive(Clone, Default)]
struct Behaviour {
    /// Resources the step creates (when absent), in order.
    creates: Vec<String>,
    /// Fail after creating this many resources.
    fail_after: Option<usize>,
    /// Undo of this resource fails.
    undo_fails: Option<String>,
    /// Before finishing, wait until this step has started (proves overlap).
    await_start_of: Option<StepId>,
    /// Park forever after creating this many resources (a crash or a long wait).
    hang_after: Option<usize>,
    /// Wait on ctx.wait_for until cancelled, after creating everything.
    wait_forever: bool,
    /// Cleanup fails after deleting this many of the step's resources.
    destroy_fails_after: Option<usize>,
}

struct TestStep {
    id: StepId,
    world: Shared,
    behaviour: Behaviour,
    started: Arc<BTreeMap<StepId, Arc<Notify>>>,
    parked: Arc<Notify>,
}

impl TestStep {
    fn log(&self, e: String) {
        self.world.lock().unwrap().events.push(e);
    }
}

#[async_trait]
impl Step for TestStep {
    fn id(&self) -> StepId {
        self.id
    }

    async fn plan(&self, _ctx: &StepCtx) -> Result<StepPlan, Error> {
        let mut plan = StepPlan::new(self.id);
        for r in &self.behaviour.creates {
            let op = if self.world.lock().unwrap().existing.contains(r) {
                Op::Keep
            } else {
                Op::Create
            };
            plan.push(Action::new(op, "thing", r));
        }
        Ok(plan)
    }

    async fn apply(&self, ctx: &StepCtx) -> Result<StepReport, Error> {
        self.log(format!("start {}", self.id));
        self.started[&self.id].notify_one();
        let mut report = StepReport::default();
        for (i, r) in self.behaviour.creates.iter().enumerate() {
            if self.behaviour.fail_after == Some(i) {
                self.log(format!("fail {}", self.id));
                return Err(Error::usage(
                    format!("injected failure in {}", self.id),
                    "test",
                ));
            }
            if self.behaviour.hang_after == Some(i) {
                self.parked.notify_one();
                std::future::pending::<()>().await;
            }
            let exists = !self.world.lock().unwrap().existing.insert(r.clone());
            if exists {
                report.actions.push(Action::new(Op::Keep, "thing", r));
            } else {
                self.log(format!("create {r}"));
                ctx.ledger
                    .record(Resource::new(self.id, "thing", r))
                    .await?;
                report.actions.push(Action::new(Op::Create, "thing", r));
            }
        }
        if self.behaviour.fail_after == Some(self.behaviour.creates.len()) {
            self.log(format!("fail {}", self.id));
            return Err(Error::usage(
                format!("injected failure in {}", self.id),
                "test",
            ));
        }
        if self.behaviour.hang_after == Some(self.behaviour.creates.len()) {
            self.parked.notify_one();
            std::future::pending::<()>().await;
        }
        if self.behaviour.wait_forever {
            self.parked.notify_one();
            ctx.wait_for(
                "something that never comes",
                Duration::from_millis(20),
                || async { Ok::<Option<()>, Error>(None) },
            )
            .await?;
        }
        if let Some(other) = self.behaviour.await_start_of {
            self.started[&other].notified().await;
            // Let the other step see our start too, if it waits for it.
            self.started[&other].notify_one();
        }
        self.log(format!("end {}", self.id));
        Ok(report)
    }

    async fn destroy_plan(&self, _ctx: &StepCtx) -> Result<StepPlan, Error> {
        let mut plan = StepPlan::new(self.id);
        let world = self.world.lock().unwrap();
        for r in self
            .behaviour
            .creates
            .iter()
            .filter(|r| world.existing.contains(*r))
        {
            plan.push(Action::new(Op::Delete, "thing", r));
        }
        Ok(plan)
    }

    async fn destroy(&self, _ctx: &StepCtx) -> Result<StepReport, Error> {
        let mut report = StepReport::default();
        for (i, r) in self.behaviour.creates.iter().enumerate() {
            if self.behaviour.destroy_fails_after == Some(i) {
                return Err(Error::usage(
                    format!("injected cleanup failure in {}", self.id),
                    "test",
                ));
            }
            if self.world.lock().unwrap().existing.remove(r) {
                self.log(format!("delete {r}"));
                report.actions.push(Action::new(Op::Delete, "thing", r));
            }
        }
        Ok(report)
    }

    async fn status(&self, _ctx: &StepCtx) -> Result<StepStatus, Error> {
        Ok(StepStatus {
            step: self.id,
            state: "present".into(),
            details: BTreeMap::new(),
        })
    }

    async fn undo(&self, _ctx: &StepCtx, resource: &Resource) -> Result<(), Error> {
        if self.behaviour.undo_fails.as_deref() == Some(resource.id.as_str()) {
            self.log(format!("undo-failed {}", resource.id));
            return Err(Error::usage("injected undo failure", "test"));
        }
        let mut w = self.world.lock().unwrap();
        w.existing.remove(&resource.id);
        w.events.push(format!("undo {}", resource.id));
        Ok(())
    }

    fn undo_hint(&self, resource: &Resource) -> String {
        format!("delete-thing {}", resource.id)
    }
}

struct Harness {
    world: Shared,
    dir: tempfile::TempDir,
    behaviours: BTreeMap<StepId, Behaviour>,
    parked: Arc<Notify>,
}

impl Harness {
    fn new() -> Harness {
        let mut behaviours = BTreeMap::new();
        for id in StepId::ALL {
            behaviours.insert(
                id,
                Behaviour {
                    creates: vec![format!("{id}-a"), format!("{id}-b")],
                    ..Default::default()
                },
            );
        }
        Harness {
            world: Shared::default(),
            dir: tempfile::tempdir().unwrap(),
            behaviours,
            parked: Arc::new(Notify::new()),
        }
    }

    fn store(&self) -> Arc<dyn StateStore> {
        Arc::new(LocalStore {
            dir: self.dir.path().join("stack"),
        })
    }

    fn registry(&self) -> Registry {
        let started: Arc<BTreeMap<StepId, Arc<Notify>>> = Arc::new(
            StepId::ALL
                .into_iter()
                .map(|id| (id, Arc::new(Notify::new())))
                .collect(),
        );
        StepId::ALL
            .into_iter()
            .map(|id| {
                let step: Arc<dyn Step> = Arc::new(TestStep {
                    id,
                    world: self.world.clone(),
                    behaviour: self.behaviours[&id].clone(),
                    started: started.clone(),
                    parked: self.parked.clone(),
                });
                (id, step)
            })
            .collect()
    }

    async fn runner(&self, options: RunOptions, cancel: CancellationToken) -> Runner {
        let config: Config = serde_yaml_ng::from_str("name: enginetest").unwrap();
        let store = self.store();
        Runner {
            registry: self.registry(),
            base: StepCtx {
                config: Arc::new(config),
                aws: None,
                options,
                ledger: Ledger::begin(store.clone(), "enginetest", "up")
                    .await
                    .unwrap(),
                state: StackState::load(store, "enginetest").await.unwrap(),
                progress: StepProgress::silent("test"),
                cancel,
            },
            ui: Ui::quiet(),
        }
    }

    async fn up(&self, options: RunOptions) -> meshctl::engine::runner::RunReport {
        let runner = self.runner(options, CancellationToken::new()).await;
        tokio::time::timeout(Duration::from_secs(30), runner.apply("up", &StepId::ALL))
            .await
            .expect("hang guard: the run did not finish")
    }

    fn events(&self) -> Vec<String> {
        self.world.lock().unwrap().events.clone()
    }

    fn existing(&self) -> BTreeSet<String> {
        self.world.lock().unwrap().existing.clone()
    }

    async fn ledger_on_disk(&self) -> LedgerDoc {
        Ledger::read(self.store().as_ref())
            .await
            .unwrap()
            .expect("ledger file exists")
    }
}

fn pos(events: &[String], e: &str) -> usize {
    events
        .iter()
        .position(|x| x == e)
        .unwrap_or_else(|| panic!("event `{e}` missing from {events:?}"))
}

#[tokio::test]
async fn steps_start_when_their_prerequisites_finish_and_independent_ones_overlap() {
    let mut h = Harness::new();
    // cluster cannot finish until grafana has started. grafana needs only amp, so a runner
    // that starts each step as soon as its own prerequisites are done lets this finish; one
    // that runs steps one at a time, or level by level, never does (the hang guard fails).
    h.behaviours
        .get_mut(&StepId::Cluster)
        .unwrap()
        .await_start_of = Some(StepId::Grafana);
    let report = h.up(RunOptions::default()).await;
    assert_eq!(report.status, "succeeded", "{report}");
    assert_eq!(report.exit_code, 0);

    let ev = h.events();
    for spec in meshctl::engine::GRAPH {
        for dep in spec.after {
            assert!(
                pos(&ev, &format!("start {}", spec.id)) > pos(&ev, &format!("end {dep}")),
                "{} started before its prerequisite {dep} ended: {ev:?}",
                spec.id
            );
        }
    }
    assert!(
        pos(&ev, "start grafana") < pos(&ev, "end cluster"),
        "{ev:?}"
    );
    assert_eq!(h.existing().len(), 2 * StepId::ALL.len());
    let ledger = h.ledger_on_disk().await;
    assert_eq!(ledger.status, RunStatus::Completed);
    assert_eq!(ledger.resources.len(), 2 * StepId::ALL.len());
}

#[tokio::test]
async fn a_failure_at_any_step_rolls_back_exactly_what_this_run_created_newest_first() {
    for failing in StepId::ALL {
        let mut h = Harness::new();
        // Something that existed before the run, used by the failing step: never touched.
        h.world
            .lock()
            .unwrap()
            .existing
            .insert("preexisting".into());
        {
            let b = h.behaviours.get_mut(&failing).unwrap();
            b.creates.insert(0, "preexisting".into());
            b.fail_after = Some(2); // after keeping `preexisting` and creating `<step>-a`
        }
        let report = h.up(RunOptions::default()).await;
        assert_eq!(report.status, "rolled-back", "failing {failing}: {report}");
        assert_eq!(report.exit_code, 1);

        let ev = h.events();
        let created: Vec<String> = ev
            .iter()
            .filter_map(|e| e.strip_prefix("create ").map(str::to_string))
            .collect();
        let undone: Vec<String> = ev
            .iter()
            .filter_map(|e| e.strip_prefix("undo ").map(str::to_string))
            .collect();
        let mut expected = created.clone();
        expected.reverse();
        assert_eq!(undone, expected, "failing {failing}: rollback order {ev:?}");
        assert!(created.contains(&format!("{failing}-a")), "{ev:?}");
        assert_eq!(
            h.existing(),
            BTreeSet::from(["preexisting".to_string()]),
            "failing {failing}: only the pre-existing resource remains"
        );
        let failed: Vec<_> = report
            .steps
            .iter()
            .filter(|s| s.status == "failed")
            .collect();
        assert_eq!(failed.len(), 1);
        assert_eq!(failed[0].step, failing);
        assert!(
            report
                .steps
                .iter()
                .filter(|s| s.status == "succeeded")
                .all(|s| !meshctl::engine::graph::after(s.step).contains(&failing)),
            "a dependent of {failing} ran"
        );
        let ledger = h.ledger_on_disk().await;
        assert_eq!(ledger.status, RunStatus::RolledBack);
        assert!(ledger.resources.is_empty());
        // Rolled-back steps are no longer marked applied.
        let state = StackState::load(h.store(), "enginetest").await.unwrap();
        assert!(!state.is_applied(failing).await);
    }
}

#[tokio::test]
async fn rollback_continues_past_a_failed_undo_and_reports_the_command() {
    let mut h = Harness::new();
    h.behaviours.get_mut(&StepId::Irsa).unwrap().fail_after = Some(1);
    h.behaviours.get_mut(&StepId::Amp).unwrap().undo_fails = Some("amp-b".into());
    let report = h.up(RunOptions::default()).await;
    assert_eq!(report.status, "rollback-incomplete", "{report}");
    assert_eq!(report.exit_code, 3);
    let failed: Vec<_> = report
        .rollback
        .iter()
        .filter(|r| r.status == "failed")
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].id, "amp-b");
    assert_eq!(failed[0].hint.as_deref(), Some("delete-thing amp-b"));
    // Everything else this run created is gone, including what was created before amp-b.
    assert_eq!(h.existing(), BTreeSet::from(["amp-b".to_string()]));
    let text = report.to_string();
    assert!(
        text.contains("remove it with: delete-thing amp-b"),
        "{text}"
    );
    let ledger = h.ledger_on_disk().await;
    assert_eq!(ledger.status, RunStatus::RollbackIncomplete);
    assert_eq!(
        ledger.resources.len(),
        1,
        "only the leftover stays recorded"
    );
}

#[tokio::test]
async fn no_rollback_keeps_everything_and_a_rerun_resumes() {
    let mut h = Harness::new();
    h.behaviours
        .get_mut(&StepId::Prometheus)
        .unwrap()
        .fail_after = Some(1);
    let report = h
        .up(RunOptions {
            no_rollback: true,
            ..Default::default()
        })
        .await;
    assert_eq!(report.status, "kept", "{report}");
    assert_eq!(report.exit_code, 1);
    assert!(
        report
            .rollback
            .iter()
            .all(|r| r.status == "kept" && r.hint.is_some())
    );
    let kept = h.existing();
    assert!(
        kept.contains("prometheus-a") && kept.contains("cluster-a"),
        "{kept:?}"
    );

    // Fix the failure and run again: finished steps change nothing, the rest complete.
    h.behaviours
        .get_mut(&StepId::Prometheus)
        .unwrap()
        .fail_after = None;
    h.world.lock().unwrap().events.clear();
    let report = h.up(RunOptions::default()).await;
    assert_eq!(report.status, "succeeded", "{report}");
    let cluster = report
        .steps
        .iter()
        .find(|s| s.step == StepId::Cluster)
        .unwrap();
    assert!(cluster.actions.iter().all(|a| a.op == Op::Keep), "{report}");
    let created: Vec<_> = h
        .events()
        .into_iter()
        .filter(|e| e.starts_with("create "))
        .collect();
    assert_eq!(
        created,
        vec!["create prometheus-b", "create kiali-a", "create kiali-b"],
        "only what was missing is created"
    );
}

#[tokio::test]
async fn the_ledger_survives_a_crash_between_two_creates_and_the_next_run_resumes_it() {
    let mut h = Harness::new();
    h.behaviours.get_mut(&StepId::Amp).unwrap().hang_after = Some(1);
    h.behaviours.get_mut(&StepId::Cluster).unwrap().hang_after = Some(0);
    let runner = h
        .runner(RunOptions::default(), CancellationToken::new())
        .await;
    let first_run = runner.base.ledger.run_id().await;
    let task = tokio::spawn(async move { runner.apply("up", &StepId::ALL).await });
    // amp has created and recorded amp-a and is about to create amp-b: crash now.
    tokio::time::timeout(Duration::from_secs(30), h.parked.notified())
        .await
        .expect("hang guard");
    tokio::time::timeout(Duration::from_secs(30), h.parked.notified())
        .await
        .expect("hang guard");
    task.abort();
    let _ = task.await;

    // A fresh read from disk, as the next process would do it.
    let ledger = h.ledger_on_disk().await;
    assert_eq!(ledger.status, RunStatus::Open);
    assert_eq!(ledger.run_id, first_run);
    let ids: Vec<_> = ledger.resources.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, vec!["amp-a"]);

    // The next run resumes that run (same run id, so the same idempotency tokens), and when
    // it fails, its rollback covers what the crashed run created too.
    h.behaviours.get_mut(&StepId::Amp).unwrap().hang_after = None;
    h.behaviours.get_mut(&StepId::Cluster).unwrap().hang_after = None;
    h.behaviours.get_mut(&StepId::Grafana).unwrap().fail_after = Some(0);
    let runner = h
        .runner(RunOptions::default(), CancellationToken::new())
        .await;
    assert_eq!(runner.base.ledger.resumed_from(), Some(first_run.as_str()));
    assert_eq!(runner.base.ledger.run_id().await, first_run);
    let report = tokio::time::timeout(Duration::from_secs(30), runner.apply("up", &StepId::ALL))
        .await
        .expect("hang guard");
    assert_eq!(report.status, "rolled-back", "{report}");
    assert!(h.events().contains(&"undo amp-a".to_string()));
    assert!(h.existing().is_empty(), "{:?}", h.existing());
}

#[tokio::test]
async fn ctrl_c_stops_new_steps_rolls_back_and_exits_130() {
    let mut h = Harness::new();
    h.behaviours.get_mut(&StepId::Amp).unwrap().wait_forever = true;
    h.behaviours.get_mut(&StepId::Cluster).unwrap().wait_forever = true;
    let cancel = CancellationToken::new();
    let runner = h.runner(RunOptions::default(), cancel.clone()).await;
    let task = tokio::spawn(async move { runner.apply("up", &StepId::ALL).await });
    tokio::time::timeout(Duration::from_secs(30), h.parked.notified())
        .await
        .expect("hang guard");
    tokio::time::timeout(Duration::from_secs(30), h.parked.notified())
        .await
        .expect("hang guard");
    cancel.cancel();
    let report = tokio::time::timeout(Duration::from_secs(30), task)
        .await
        .expect("hang guard")
        .unwrap();
    assert_eq!(report.status, "interrupted", "{report}");
    assert_eq!(report.exit_code, 130);
    let started: Vec<_> = h
        .events()
        .into_iter()
        .filter(|e| e.starts_with("start "))
        .collect();
    assert_eq!(
        started.len(),
        2,
        "no step started after Ctrl-C: {started:?}"
    );
    assert!(h.existing().is_empty(), "rolled back: {:?}", h.existing());
    assert!(
        report
            .steps
            .iter()
            .filter(|s| s.status == "not-started")
            .count()
            == StepId::ALL.len() - 2
    );
}

#[tokio::test]
async fn a_second_lock_on_the_same_directory_names_the_holder() {
    let h = Harness::new();
    let lock = meshctl::engine::lock::StackLock::acquire(h.store(), "enginetest", "up", false)
        .await
        .unwrap();
    let err = meshctl::engine::lock::StackLock::acquire(h.store(), "enginetest", "cleanup", false)
        .await
        .err()
        .expect("the second acquire fails");
    assert!(matches!(err, Error::Locked { .. }));
    assert!(err.to_string().contains("`meshctl up` run by"), "{err}");
    assert_eq!(err.exit_code(), 2);
    lock.release().await.unwrap();
    assert!(h.store().get("lock.json").await.unwrap().is_none());
}

#[tokio::test]
async fn a_cleanup_that_fails_part_way_lists_what_it_removed_and_what_is_left() {
    let mut h = Harness::new();
    h.behaviours
        .get_mut(&StepId::Grafana)
        .unwrap()
        .creates
        .push("grafana-c".into());
    let report = h.up(RunOptions::default()).await;
    assert_eq!(report.status, "succeeded", "{report}");
    h.behaviours
        .get_mut(&StepId::Grafana)
        .unwrap()
        .destroy_fails_after = Some(1);
    let runner = h
        .runner(RunOptions::default(), CancellationToken::new())
        .await;
    let planned = runner.destroy_plan(&StepId::ALL).await.unwrap();
    let report = tokio::time::timeout(
        Duration::from_secs(30),
        runner.destroy(&StepId::ALL, &planned),
    )
    .await
    .expect("hang guard");
    assert_eq!(report.status, "failed", "{report}");
    assert_eq!(report.exit_code, 3, "something is left behind");
    let grafana = report
        .steps
        .iter()
        .find(|s| s.step == StepId::Grafana)
        .unwrap();
    assert_eq!(grafana.status, "failed");
    let ops: Vec<(Op, &str)> = grafana
        .actions
        .iter()
        .map(|a| (a.op, a.name.as_str()))
        .collect();
    assert_eq!(
        ops,
        [
            (Op::Delete, "grafana-a"),
            (Op::Keep, "grafana-b"),
            (Op::Keep, "grafana-c")
        ],
        "{report}"
    );
    assert!(
        grafana
            .notes
            .iter()
            .any(|n| n.contains("1 removed before the failure, 2 left")
                && n.contains("meshctl cleanup --only grafana")),
        "{:?}",
        grafana.notes
    );
    let text = report.to_string();
    assert!(
        text.contains("- thing grafana-a (removed before the failure)"),
        "{text}"
    );
    assert!(
        text.contains("= thing grafana-b (left: still owned by the stack)"),
        "{text}"
    );
    // The other steps were still cleaned up.
    let left = h.existing();
    assert_eq!(
        left,
        ["grafana-b", "grafana-c"]
            .map(String::from)
            .into_iter()
            .collect(),
        "only what the failed step could not remove is left"
    );
}
