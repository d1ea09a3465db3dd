//! One module per step, each implementing [`crate::engine::Step`].

pub mod amp;
pub mod cluster;
pub mod grafana;
pub mod irsa;
pub mod istio;
pub mod kiali;
pub mod kiali_open;
pub mod network;
pub mod pagerduty;
pub mod prometheus;
pub mod sample;

use std::sync::Arc;

use crate::engine::{Step, StepId};

/// The implementation of `id`.
pub fn step(id: StepId) -> Arc<dyn Step> {
    match id {
        StepId::Amp => Arc::new(amp::AmpStep),
        StepId::Cluster => Arc::new(cluster::ClusterStep),
        StepId::Nodes => Arc::new(cluster::nodes::NodesStep),
        StepId::Grafana => Arc::new(grafana::GrafanaStep),
        StepId::Irsa => Arc::new(irsa::IrsaStep),
        StepId::Istio => Arc::new(istio::IstioStep),
        StepId::Kiali => Arc::new(kiali::KialiStep),
        StepId::Pagerduty => Arc::new(pagerduty::PagerdutyStep),
        StepId::Prometheus => Arc::new(prometheus::PrometheusStep),
    }
}

/// The error for asking to apply a step this version can only plan.
pub fn not_available(step: StepId) -> crate::error::Error {
    crate::error::Error::StepNotAvailable {
        step,
        available: available()
            .iter()
            .map(|s| s.name())
            .collect::<Vec<_>>()
            .join(","),
    }
}

/// Steps this version can apply.
pub fn available() -> Vec<StepId> {
    StepId::ALL
        .into_iter()
        .filter(|id| step(*id).available())
        .collect()
}
