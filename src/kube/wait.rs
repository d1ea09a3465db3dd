//! Waiting for objects by polling: every poll says what is awaited and why it is not ready.

use std::fmt;
use std::time::Duration;

use ::kube::api::DynamicObject;
use serde_json::Value;

use super::{Kube, KubeError, ObjectRef};

/// What to wait for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// Kind-aware readiness: Deployments/StatefulSets/DaemonSets available, CRDs Established,
    /// anything with a `Ready` condition Ready, anything else existing.
    Ready,
    /// A CustomResourceDefinition's `Established` condition is True.
    Established,
    /// `status.conditions[type=<name>]` is True.
    Status(String),
    /// The object no longer exists.
    Gone,
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Condition::Ready => f.write_str("ready"),
            Condition::Established => f.write_str("Established"),
            Condition::Status(c) => write!(f, "{c}=True"),
            Condition::Gone => f.write_str("gone"),
        }
    }
}

impl Kube {
    /// Poll `target` until `condition` holds, at most `timeout`. The timeout error names the
    /// object, the condition and the last reason it was not met.
    pub async fn wait_for(
        &self,
        target: &ObjectRef,
        condition: Condition,
        timeout: Duration,
    ) -> Result<(), KubeError> {
        let what = format!("{target} to be {condition}");
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let obj = match self.get(target).await {
                Ok(o) => o,
                // A kind can vanish with its CRD while waiting for Gone.
                Err(KubeError::UnknownKind { .. }) if condition == Condition::Gone => None,
                Err(e) => return Err(e),
            };
            let why = match (&condition, obj) {
                (Condition::Gone, None) => return Ok(()),
                (Condition::Gone, Some(o)) => still_there(&o),
                (_, None) => "it does not exist yet".to_string(),
                (c, Some(o)) => match check(c, target, &o) {
                    Ok(()) => return Ok(()),
                    Err(why) => why,
                },
            };
            if let Some(p) = &self.progress {
                p(&format!("waiting for {what}: {why}"));
            }
            tracing::debug!("waiting for {what}: {why}");
            let now = tokio::time::Instant::now();
            if now >= deadline {
                return Err(KubeError::Timeout {
                    what,
                    why,
                    timeout: humantime::format_duration(timeout).to_string(),
                });
            }
            tokio::time::sleep(self.poll.min(deadline - now)).await;
        }
    }
}

fn check(condition: &Condition, target: &ObjectRef, obj: &DynamicObject) -> Result<(), String> {
    match condition {
        Condition::Ready => readiness(&target.kind, obj),
        Condition::Established => condition_true(obj, "Established"),
        Condition::Status(c) => condition_true(obj, c),
        Condition::Gone => Err(still_there(obj)),
    }
}

fn still_there(obj: &DynamicObject) -> String {
    let finalizers = obj.metadata.finalizers.clone().unwrap_or_default();
    match (&obj.metadata.deletion_timestamp, finalizers.is_empty()) {
        (None, _) => "it still exists and is not being deleted".into(),
        (Some(_), true) => "it is being deleted".into(),
        (Some(_), false) => format!(
            "it is being deleted but still has finalizers {}",
            finalizers.join(", ")
        ),
    }
}

fn int(v: &Value) -> Option<i64> {
    v.as_i64()
}

/// Why a condition of `type` is not True (or Ok when it is).
fn condition_true(obj: &DynamicObject, kind: &str) -> Result<(), String> {
    match find_condition(obj, kind) {
        Some(c) if c["status"] == "True" => Ok(()),
        Some(c) => Err(describe_condition(c)),
        None => Err(format!("condition {kind} is not reported yet")),
    }
}

fn find_condition<'a>(obj: &'a DynamicObject, kind: &str) -> Option<&'a Value> {
    obj.data["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == kind)
}

fn describe_condition(c: &Value) -> String {
    let mut s = format!(
        "condition {}={}",
        c["type"].as_str().unwrap_or("?"),
        c["status"].as_str().unwrap_or("Unknown")
    );
    if let Some(r) = c["reason"].as_str() {
        s.push_str(&format!(" reason {r}"));
    }
    if let Some(m) = c["message"].as_str().filter(|m| !m.is_empty()) {
        s.push_str(&format!(": {m}"));
    }
    s
}

/// Kind-aware readiness of `obj`: Ok, or why it is not ready yet
/// (e.g. `1/3 replicas available; condition Available=False reason MinimumReplicasUnavailable`).
pub fn readiness(kind: &str, obj: &DynamicObject) -> Result<(), String> {
    let status = &obj.data["status"];
    let spec = &obj.data["spec"];
    let generation = obj.metadata.generation.unwrap_or(0);
    let observed = int(&status["observedGeneration"]).unwrap_or(0);
    let stale = || {
        Err(format!(
            "the controller has not observed generation {generation} yet (observed {observed})"
        ))
    };
    let with_condition = |mut why: String, cond: &str| {
        if let Some(c) = find_condition(obj, cond) {
            why.push_str("; ");
            why.push_str(&describe_condition(c));
        }
        why
    };
    match kind {
        "Deployment" | "StatefulSet" => {
            if observed < generation {
                return stale();
            }
            let want = int(&spec["replicas"]).unwrap_or(1);
            let (field, word) = if kind == "Deployment" {
                ("availableReplicas", "available")
            } else {
                ("readyReplicas", "ready")
            };
            let have = int(&status[field]).unwrap_or(0);
            let updated = int(&status["updatedReplicas"]).unwrap_or(0);
            if have < want {
                return Err(with_condition(
                    format!("{have}/{want} replicas {word}"),
                    "Available",
                ));
            }
            if updated < want {
                return Err(format!("{updated}/{want} replicas updated"));
            }
            Ok(())
        }
        "DaemonSet" => {
            if observed < generation {
                return stale();
            }
            let want = int(&status["desiredNumberScheduled"]).unwrap_or(0);
            let have = int(&status["numberAvailable"]).unwrap_or(0);
            if have < want {
                return Err(format!("{have}/{want} pods available"));
            }
            Ok(())
        }
        "CustomResourceDefinition" => condition_true(obj, "Established"),
        _ => match find_condition(obj, "Ready") {
            Some(_) => condition_true(obj, "Ready"),
            None => Ok(()),
        },
    }
}
