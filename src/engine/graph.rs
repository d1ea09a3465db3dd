//! The step graph: one table of steps and what each must wait for.

use super::StepId;
use crate::error::Error;

/// One row of the graph.
#[derive(Debug, Clone, Copy)]
pub struct StepSpec {
    pub id: StepId,
    /// Steps that must be applied before this one.
    pub after: &'static [StepId],
    pub summary: &'static str,
}

/// Every step, in a valid order; `after` lists its direct prerequisites.
pub const GRAPH: &[StepSpec] = &[
    StepSpec {
        id: StepId::Cluster,
        after: &[],
        summary: "VPC, IAM roles, EKS control plane, SG rules, OIDC provider",
    },
    // `cluster` is the control-plane milestone: `irsa` and `istio` wait for it, not for nodes.
    StepSpec {
        id: StepId::Nodes,
        after: &[StepId::Cluster],
        summary: "Managed node groups (created concurrently)",
    },
    StepSpec {
        id: StepId::Amp,
        after: &[],
        summary: "AMP workspace and Istio alerting/recording rules",
    },
    StepSpec {
        id: StepId::Istio,
        after: &[StepId::Cluster],
        summary: "Istio base, istiod and ingress gateway charts",
    },
    StepSpec {
        id: StepId::Irsa,
        after: &[StepId::Cluster, StepId::Amp],
        summary: "IAM roles for the collectors' service accounts",
    },
    StepSpec {
        id: StepId::Prometheus,
        after: &[StepId::Istio, StepId::Irsa],
        summary: "Prometheus agent remote-writing to AMP with SigV4",
    },
    StepSpec {
        id: StepId::Kiali,
        after: &[StepId::Prometheus],
        summary: "Kiali reading AMP through a SigV4 proxy",
    },
    StepSpec {
        id: StepId::Grafana,
        after: &[StepId::Amp],
        summary: "AMG workspace, AMP data source, Istio dashboards",
    },
    StepSpec {
        id: StepId::Pagerduty,
        after: &[StepId::Grafana],
        summary: "PagerDuty service and Grafana alerting to it",
    },
];

pub fn spec(id: StepId) -> &'static StepSpec {
    GRAPH
        .iter()
        .find(|s| s.id == id)
        .expect("every StepId has a row in GRAPH")
}

/// The direct prerequisites of `id`.
pub fn after(id: StepId) -> &'static [StepId] {
    spec(id).after
}

/// `steps` in graph order (a topological order), without duplicates.
pub fn ordered(steps: &[StepId]) -> Vec<StepId> {
    GRAPH
        .iter()
        .map(|s| s.id)
        .filter(|id| steps.contains(id))
        .collect()
}

/// The selection for `--only` (empty means every step), in graph order.
///
/// ```
/// use meshctl::engine::{StepId, graph};
/// assert_eq!(graph::select(&[StepId::Grafana, StepId::Amp]), [StepId::Amp, StepId::Grafana]);
/// assert_eq!(graph::select(&[]).len(), StepId::ALL.len());
/// ```
///
/// `cluster` means the whole cluster: it brings `nodes` along (`nodes` alone is allowed).
///
/// ```
/// use meshctl::engine::{StepId, graph};
/// assert_eq!(graph::select(&[StepId::Cluster]), [StepId::Cluster, StepId::Nodes]);
/// assert_eq!(graph::select(&[StepId::Nodes]), [StepId::Nodes]);
/// ```
pub fn select(only: &[StepId]) -> Vec<StepId> {
    if only.is_empty() {
        GRAPH.iter().map(|s| s.id).collect()
    } else {
        let mut wanted = only.to_vec();
        if wanted.contains(&StepId::Cluster) {
            wanted.push(StepId::Nodes);
        }
        ordered(&wanted)
    }
}

/// Check that every prerequisite of `selected` is either selected too or already applied.
pub fn check_prerequisites(
    selected: &[StepId],
    applied: impl Fn(StepId) -> bool,
    stack: &str,
) -> Result<(), Error> {
    for &step in &ordered(selected) {
        for &needs in after(step) {
            if !selected.contains(&needs) && !applied(needs) {
                return Err(Error::Prerequisite {
                    step,
                    needs,
                    stack: stack.to_string(),
                });
            }
        }
    }
    Ok(())
}

/// Render the graph as text (used by docs and `--help`-style listings).
pub fn describe() -> String {
    let mut out = String::new();
    for s in GRAPH {
        let after: Vec<&str> = s.after.iter().map(|a| a.name()).collect();
        let after = if after.is_empty() {
            "-".to_string()
        } else {
            after.join(", ")
        };
        out.push_str(&format!(
            "{:<11} after: {:<18} {}\n",
            s.id.name(),
            after,
            s.summary
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graph_order_is_topological_and_complete() {
        for (i, s) in GRAPH.iter().enumerate() {
            for dep in s.after {
                let pos = GRAPH.iter().position(|x| x.id == *dep).unwrap();
                assert!(pos < i, "{} listed before its prerequisite {}", s.id, dep);
            }
        }
        for id in StepId::ALL {
            assert_eq!(GRAPH.iter().filter(|s| s.id == id).count(), 1, "{id}");
        }
    }

    #[test]
    fn prerequisite_missing_names_the_step_to_run() {
        let err = check_prerequisites(&[StepId::Irsa], |_| false, "demo").unwrap_err();
        match err {
            Error::Prerequisite { step, needs, .. } => {
                assert_eq!(step, StepId::Irsa);
                assert_eq!(needs, StepId::Cluster);
            }
            other => panic!("unexpected {other:?}"),
        }
        check_prerequisites(
            &[StepId::Irsa],
            |s| s == StepId::Cluster || s == StepId::Amp,
            "demo",
        )
        .unwrap();
        check_prerequisites(&[StepId::Amp], |_| false, "demo").unwrap();
    }
}
