//! Rollback with the real `amp` step against moto: when a later step fails, the workspace and
//! rule-groups namespace this run created are deleted, and a workspace with the same alias
//! that existed before the run is not touched.

use crate::support;

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use meshctl::aws::Aws;
use meshctl::config::Config;
use meshctl::engine::runner::{Registry, Runner};
use meshctl::engine::state::{LocalStore, StateStore};
use meshctl::engine::{
    Ledger, Resource, RunOptions, StackState, Step, StepCtx, StepId, StepPlan, StepReport,
    StepStatus,
};
use meshctl::error::Error;
use meshctl::ui::{StepProgress, Ui};
use tokio_util::sync::CancellationToken;

/// A `grafana` step that always fails, standing in for any later failure.
struct FailingGrafana;

#[async_trait]
impl Step for FailingGrafana {
    fn id(&self) -> StepId {
        StepId::Grafana
    }
    async fn plan(&self, _ctx: &StepCtx) -> Result<StepPlan, Error> {
        Ok(StepPlan::new(StepId::Grafana))
    }
    async fn apply(&self, _ctx: &StepCtx) -> Result<StepReport, Error> {
        Err(Error::usage("injected grafana failure", "test"))
    }
    async fn destroy_plan(&self, _ctx: &StepCtx) -> Result<StepPlan, Error> {
        Ok(StepPlan::new(StepId::Grafana))
    }
    async fn destroy(&self, _ctx: &StepCtx) -> Result<StepReport, Error> {
        Ok(StepReport::default())
    }
    async fn status(&self, _ctx: &StepCtx) -> Result<StepStatus, Error> {
        Ok(StepStatus {
            step: StepId::Grafana,
            state: "absent".into(),
            details: BTreeMap::new(),
        })
    }
    async fn undo(&self, _ctx: &StepCtx, _resource: &Resource) -> Result<(), Error> {
        Ok(())
    }
    fn undo_hint(&self, _resource: &Resource) -> String {
        String::new()
    }
}

#[tokio::test]
async fn a_later_failure_rolls_back_the_real_amp_workspace_and_spares_the_untagged_one() {
    let stack = support::unique("rollback-real-amp");
    let untagged = support::create_untagged_workspace(&stack).await;
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn StateStore> = Arc::new(LocalStore {
        dir: dir.path().join(&stack),
    });
    let config: Config =
        serde_yaml_ng::from_str(&format!("name: {stack}\nregion: {}\n", support::REGION)).unwrap();
    let aws = Aws {
        sdk: support::sdk_config().await,
        region: support::REGION.into(),
        account: "123456789012".into(),
    };
    let mut registry: Registry = meshctl::engine::runner::registry(meshctl::steps::step);
    registry.insert(StepId::Grafana, Arc::new(FailingGrafana));
    let runner = Runner {
        registry,
        base: StepCtx {
            config: Arc::new(config),
            aws: Some(aws),
            options: RunOptions::default(),
            ledger: Ledger::begin(store.clone(), &stack, "up").await.unwrap(),
            state: StackState::load(store.clone(), &stack).await.unwrap(),
            progress: StepProgress::silent("test"),
            cancel: CancellationToken::new(),
        },
        ui: Ui::quiet(),
    };

    let report = tokio::time::timeout(
        support::RUN_GUARD,
        runner.apply("up", &[StepId::Amp, StepId::Grafana]),
    )
    .await
    .expect("hang guard");

    assert_eq!(report.status, "rolled-back", "{report}");
    assert_eq!(report.exit_code, 1);
    let amp = report.steps.iter().find(|s| s.step == StepId::Amp).unwrap();
    assert_eq!(amp.status, "succeeded");
    let created = amp.outputs["workspace_id"].clone();
    // Newest first: the namespace, then the workspace.
    let undone: Vec<(&str, &str)> = report
        .rollback
        .iter()
        .map(|r| (r.kind.as_str(), r.status))
        .collect();
    assert_eq!(
        undone,
        vec![
            ("amp-rule-groups-namespace", "deleted"),
            ("amp-workspace", "deleted")
        ]
    );
    assert!(
        !support::workspace_is_live(&created).await,
        "the workspace this run created is gone"
    );
    assert!(support::live_tagged_workspaces(&stack).await.is_empty());
    assert!(
        support::workspace_is_live(&untagged).await,
        "the untagged workspace with the same alias survives"
    );
    let state = StackState::load(store.clone(), &stack).await.unwrap();
    assert!(!state.is_applied(StepId::Amp).await);
    let ledger = Ledger::read(store.as_ref()).await.unwrap().unwrap();
    assert!(ledger.resources.is_empty());
}
