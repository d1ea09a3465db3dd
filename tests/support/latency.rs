//! The time-scaled latency emulator: how long each long-running AWS resource and each
//! in-cluster workload takes, in ONE table ([`PUBLISHED`]), scaled down by a factor (by default
//! one published minute becomes one second), and the pieces that make the rig's emulators honour
//! it. Off unless a bench or test turns it on with [`enable`]; the rig behaves as before otherwise.
//!
//! How each row is emulated (docs/performance.md repeats this table):
//! - resources with a status: the emulator that owns the status keeps it CREATING (`pending`
//!   for NAT gateways) for the row's duration after the create call, and DELETING (`deleting`)
//!   for the same duration after the delete call before the resource is gone: EKS clusters and
//!   node groups, NAT gateways and AMP workspaces in the EKS shim ([`Holds`], which sees every
//!   AWS call on its way to moto), AMG workspaces in the AMG fake;
//! - synchronous calls (IAM roles, the OIDC provider, Grafana's HTTP configuration): the fault
//!   proxy in front of the emulator delays the call ([`Fault::Delay`]);
//! - in-cluster readiness: the rig's controller task reports a Deployment or DaemonSet ready only
//!   once the row's duration has passed since it first saw it *and* a node group is ACTIVE (pods
//!   need nodes); workloads without a row are ready as soon as a node group is ACTIVE.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::fault_proxy::{Fault, Rule};
use super::stack_rig::{Controllers, Gate, Rig, play_controllers_gated};

/// One row of the table: a resource (or workload) and its published duration.
#[derive(Debug, Clone, Copy)]
pub struct Published {
    pub key: &'static str,
    pub what: &'static str,
    /// The published (typical) duration, in minutes.
    pub minutes: f64,
    /// How the emulator makes it take that long.
    pub how: &'static str,
}

pub const NAT: &str = "vpc-nat";
pub const IAM: &str = "iam-oidc";
pub const CONTROL_PLANE: &str = "eks-control-plane";
pub const NODEGROUP: &str = "eks-nodegroup";
pub const AMP: &str = "amp-workspace";
pub const AMG: &str = "amg-workspace";
pub const ISTIOD: &str = "istiod";
pub const PROMETHEUS: &str = "prometheus";
pub const KIALI: &str = "kiali";
pub const GRAFANA_CONFIG: &str = "grafana-config";

/// The durations the benchmark emulates (issue "Performance, measured").
pub const PUBLISHED: &[Published] = &[
    Published {
        key: NAT,
        what: "VPC with NAT gateways",
        minutes: 2.0,
        how: "EKS shim: each NAT gateway `pending` (create) / `deleting` (delete)",
    },
    Published {
        key: IAM,
        what: "IAM role / OIDC provider",
        minutes: 0.2,
        how: "aws proxy: every CreateRole and CreateOpenIDConnectProvider call delayed",
    },
    Published {
        key: CONTROL_PLANE,
        what: "EKS control plane",
        minutes: 11.0,
        how: "EKS shim: DescribeCluster CREATING / DELETING",
    },
    Published {
        key: NODEGROUP,
        what: "EKS managed node group",
        minutes: 3.0,
        how: "EKS shim: DescribeNodegroup CREATING / DELETING",
    },
    Published {
        key: AMP,
        what: "AMP workspace",
        minutes: 0.5,
        how: "EKS shim: DescribeWorkspace CREATING / DELETING",
    },
    Published {
        key: AMG,
        what: "AMG workspace",
        minutes: 8.0,
        how: "AMG fake: DescribeWorkspace CREATING / DELETING",
    },
    Published {
        key: ISTIOD,
        what: "istiod ready",
        minutes: 1.5,
        how: "controller: Deployment istiod available (after a node group is ACTIVE)",
    },
    Published {
        key: PROMETHEUS,
        what: "Prometheus ready",
        minutes: 0.5,
        how: "controller: Deployment prometheus available (after a node group is ACTIVE)",
    },
    Published {
        key: KIALI,
        what: "Kiali ready",
        minutes: 0.5,
        how: "controller: Deployment kiali available (after a node group is ACTIVE)",
    },
    Published {
        key: GRAFANA_CONFIG,
        what: "Grafana configuration",
        minutes: 0.5,
        how: "grafana proxy: the first write to the Grafana HTTP API delayed",
    },
];

/// Seconds one published minute takes unless `MESHCTL_BENCH_SECONDS_PER_MINUTE` says otherwise.
pub const DEFAULT_SECONDS_PER_MINUTE: f64 = 1.0;

/// The scale: how many real seconds one published minute takes.
#[derive(Debug, Clone, Copy)]
pub struct Latency {
    pub seconds_per_minute: f64,
}

impl Default for Latency {
    fn default() -> Self {
        Latency {
            seconds_per_minute: DEFAULT_SECONDS_PER_MINUTE,
        }
    }
}

impl Latency {
    /// The default scale, or `MESHCTL_BENCH_SECONDS_PER_MINUTE` when set to a positive number.
    pub fn from_env() -> Latency {
        let spm = std::env::var("MESHCTL_BENCH_SECONDS_PER_MINUTE")
            .ok()
            .and_then(|v| v.parse::<f64>().ok())
            .filter(|v| *v > 0.0)
            .unwrap_or(DEFAULT_SECONDS_PER_MINUTE);
        Latency {
            seconds_per_minute: spm,
        }
    }

    /// The published minutes of `key` (a row of [`PUBLISHED`]).
    pub fn minutes(key: &str) -> f64 {
        PUBLISHED
            .iter()
            .find(|p| p.key == key)
            .map(|p| p.minutes)
            .unwrap_or_else(|| panic!("no row {key} in the latency table"))
    }

    /// `minutes` published minutes, scaled.
    pub fn scale(&self, minutes: f64) -> Duration {
        Duration::from_secs_f64(minutes * self.seconds_per_minute)
    }

    /// The scaled duration of `key`.
    pub fn of(&self, key: &str) -> Duration {
        self.scale(Self::minutes(key))
    }
}

// ---------------------------------------------------------------------------------------
// Status holds in the EKS shim
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct Hold {
    created: Instant,
    deleting: Option<Instant>,
    /// The last answer describing it, to answer DELETING after moto has forgotten it.
    doc: Value,
}

impl Hold {
    fn new(doc: Value) -> Hold {
        Hold {
            created: Instant::now(),
            deleting: None,
            doc,
        }
    }

    /// A resource that existed before the holds were turned on (or that the shim first sees
    /// being deleted): already past its creation.
    fn old(doc: Value) -> Hold {
        Hold {
            created: Instant::now() - Duration::from_secs(24 * 3600),
            deleting: None,
            doc,
        }
    }

    fn creating(&self, d: Duration) -> bool {
        self.deleting.is_none() && self.created.elapsed() < d
    }

    fn still_deleting(&self, d: Duration) -> bool {
        self.deleting.is_some_and(|t| t.elapsed() < d)
    }
}

/// The statuses the EKS shim holds when latency is on: it rewrites moto's answers (moto makes
/// everything ACTIVE at once and forgets what is deleted at once).
#[derive(Debug, Default)]
pub struct Holds {
    cluster: Duration,
    nodegroup: Duration,
    nat: Duration,
    workspace: Duration,
    clusters: BTreeMap<String, Hold>,
    nodegroups: BTreeMap<String, Hold>,
    nats: BTreeMap<String, Hold>,
    workspaces: BTreeMap<String, Hold>,
}

/// A rewritten answer: status and body (the shim keeps the other headers).
pub type Rewrite = (u16, Vec<u8>);

impl Holds {
    pub fn new(latency: Latency) -> Holds {
        Holds {
            cluster: latency.of(CONTROL_PLANE),
            nodegroup: latency.of(NODEGROUP),
            nat: latency.of(NAT),
            workspace: latency.of(AMP),
            ..Default::default()
        }
    }

    /// Whether some node group is ACTIVE (created, its CREATING time over, not deleting).
    pub fn nodes_active(&self) -> bool {
        self.nodegroups
            .values()
            .any(|h| h.deleting.is_none() && h.created.elapsed() >= self.nodegroup)
    }

    /// Rewrite moto's answer to one request, when latency changes it. `segments` is the
    /// request's decoded path, `operation` the query protocol's `Action` (or `METHOD /path`).
    pub fn rewrite(
        &mut self,
        service: &str,
        method: &str,
        segments: &[String],
        operation: &str,
        status: u16,
        body: &[u8],
    ) -> Option<Rewrite> {
        let seg: Vec<&str> = segments.iter().map(String::as_str).collect();
        match (service, method, seg.as_slice()) {
            ("eks", "POST", ["clusters"]) => {
                let mut doc = ok_json(status, body)?;
                let name = doc["cluster"]["name"].as_str()?.to_string();
                doc["cluster"]["status"] = json!("CREATING");
                self.clusters
                    .insert(name, Hold::new(doc["cluster"].clone()));
                Some((status, to_vec(&doc)))
            }
            ("eks", "GET", ["clusters", name]) => {
                let hold = self.clusters.get_mut(*name)?;
                held(hold, "cluster", self.cluster, status, body, |d, s| {
                    d["status"] = json!(s)
                })
            }
            ("eks", "DELETE", ["clusters", name]) => {
                let mut doc = ok_json(status, body)?;
                doc["cluster"]["status"] = json!("DELETING");
                let hold = self
                    .clusters
                    .entry(name.to_string())
                    .or_insert_with(|| Hold::old(Value::Null));
                hold.deleting = Some(Instant::now());
                hold.doc = doc["cluster"].clone();
                Some((status, to_vec(&doc)))
            }
            ("eks", "POST", ["clusters", cluster, "node-groups"]) => {
                let mut doc = ok_json(status, body)?;
                let name = doc["nodegroup"]["nodegroupName"].as_str()?.to_string();
                doc["nodegroup"]["status"] = json!("CREATING");
                self.nodegroups.insert(
                    format!("{cluster}/{name}"),
                    Hold::new(doc["nodegroup"].clone()),
                );
                Some((status, to_vec(&doc)))
            }
            ("eks", "GET", ["clusters", cluster, "node-groups", name]) => {
                let hold = self.nodegroups.get_mut(&format!("{cluster}/{name}"))?;
                held(hold, "nodegroup", self.nodegroup, status, body, |d, s| {
                    d["status"] = json!(s)
                })
            }
            ("eks", "DELETE", ["clusters", cluster, "node-groups", name]) => {
                let mut doc = ok_json(status, body)?;
                doc["nodegroup"]["status"] = json!("DELETING");
                let hold = self
                    .nodegroups
                    .entry(format!("{cluster}/{name}"))
                    .or_insert_with(|| Hold::old(Value::Null));
                hold.deleting = Some(Instant::now());
                hold.doc = doc["nodegroup"].clone();
                Some((status, to_vec(&doc)))
            }
            ("aps", "POST", ["workspaces"]) => {
                let mut doc = ok_json(status, body)?;
                let id = doc["workspaceId"].as_str()?.to_string();
                doc["status"] = json!({"statusCode": "CREATING"});
                self.workspaces.insert(id, Hold::new(doc.clone()));
                Some((status, to_vec(&doc)))
            }
            ("aps", "GET", ["workspaces"]) => {
                let mut doc = ok_json(status, body)?;
                let list = doc["workspaces"].as_array_mut()?;
                let mut changed = false;
                for w in list {
                    let id = w["workspaceId"].as_str().unwrap_or_default().to_string();
                    if self
                        .workspaces
                        .get(&id)
                        .is_some_and(|h| h.creating(self.workspace))
                    {
                        w["status"] = json!({"statusCode": "CREATING"});
                        changed = true;
                    }
                }
                changed.then(|| (status, to_vec(&doc)))
            }
            ("aps", "GET", ["workspaces", id]) => {
                let hold = self.workspaces.get_mut(*id)?;
                held(hold, "workspace", self.workspace, status, body, |d, s| {
                    d["status"] = json!({ "statusCode": s })
                })
            }
            ("aps", "DELETE", ["workspaces", id]) => {
                if !(200..300).contains(&status) {
                    return None;
                }
                let hold = self
                    .workspaces
                    .entry(id.to_string())
                    .or_insert_with(|| Hold::old(json!({"workspaceId": id})));
                hold.deleting = Some(Instant::now());
                None
            }
            ("ec2", _, _) => self.nat_gateways(operation, status, body),
            _ => None,
        }
    }

    /// NAT gateways: `pending` after CreateNatGateway, `deleting` after DeleteNatGateway.
    fn nat_gateways(&mut self, operation: &str, status: u16, body: &[u8]) -> Option<Rewrite> {
        if status != 200 {
            return None;
        }
        let xml = String::from_utf8_lossy(body).into_owned();
        match operation {
            "CreateNatGateway" => {
                for id in xml_ids(&xml) {
                    self.nats.insert(id, Hold::new(Value::Null));
                }
            }
            "DeleteNatGateway" => {
                for id in xml_ids(&xml) {
                    let hold = self
                        .nats
                        .entry(id)
                        .or_insert_with(|| Hold::old(Value::Null));
                    hold.deleting = Some(Instant::now());
                }
                return None;
            }
            "DescribeNatGateways" => {}
            _ => return None,
        }
        let nat = self.nat;
        let out = rewrite_nat_states(&xml, |id| {
            let h = self.nats.get(id)?;
            if h.creating(nat) {
                Some("pending")
            } else if h.still_deleting(nat) {
                Some("deleting")
            } else {
                None
            }
        });
        (out != xml).then(|| (status, out.into_bytes()))
    }
}

fn ok_json(status: u16, body: &[u8]) -> Option<Value> {
    if !(200..300).contains(&status) {
        return None;
    }
    serde_json::from_slice(body).ok()
}

fn to_vec(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).unwrap_or_default()
}

/// A describe of a held resource (`{"<key>": {...}}`): CREATING while its time runs, DELETING
/// (answered by the shim, moto has forgotten it) until its deletion time is over.
fn held(
    hold: &mut Hold,
    key: &str,
    d: Duration,
    status: u16,
    body: &[u8],
    set: impl Fn(&mut Value, &str),
) -> Option<Rewrite> {
    if let Some(mut doc) = ok_json(status, body) {
        hold.doc = doc[key].clone();
        if hold.creating(d) {
            set(&mut doc[key], "CREATING");
            return Some((status, to_vec(&doc)));
        }
        return None;
    }
    if status == 404 && hold.still_deleting(d) && !hold.doc.is_null() {
        let mut doc = hold.doc.clone();
        set(&mut doc, "DELETING");
        return Some((200, to_vec(&json!({ key: doc }))));
    }
    None
}

/// The `<natGatewayId>`s of an EC2 answer.
fn xml_ids(xml: &str) -> Vec<String> {
    let (open, close) = ("<natGatewayId>", "</natGatewayId>");
    let mut out = vec![];
    let mut rest = xml;
    while let Some(i) = rest.find(open) {
        let after = &rest[i + open.len()..];
        let Some(j) = after.find(close) else { break };
        out.push(after[..j].to_string());
        rest = &after[j..];
    }
    out
}

/// Replace the `<state>` that follows each `<natGatewayId>` (before the next one) with what
/// `state_of(id)` says, when it says something.
fn rewrite_nat_states(xml: &str, state_of: impl Fn(&str) -> Option<&'static str>) -> String {
    let (open, close) = ("<natGatewayId>", "</natGatewayId>");
    let mut out = String::with_capacity(xml.len());
    let mut rest = xml;
    while let Some(i) = rest.find(open) {
        let after = &rest[i + open.len()..];
        let Some(j) = after.find(close) else { break };
        let id = &after[..j];
        // This gateway's part: up to the next gateway id (or the end).
        let part_end = after[j..]
            .find(open)
            .map(|k| i + open.len() + j + k)
            .unwrap_or(rest.len());
        let part = &rest[..part_end];
        match (state_of(id), part[i..].find("<state>").map(|s| s + i)) {
            (Some(state), Some(s)) => {
                let s_end = part[s..]
                    .find("</state>")
                    .map(|e| s + e)
                    .unwrap_or(s + "<state>".len());
                out.push_str(&part[..s]);
                out.push_str("<state>");
                out.push_str(state);
                out.push_str(&part[s_end..]);
            }
            _ => out.push_str(part),
        }
        rest = &rest[part_end..];
    }
    out.push_str(rest);
    out
}

// ---------------------------------------------------------------------------------------
// Turning it on in a rig
// ---------------------------------------------------------------------------------------

/// Make `rig`'s emulators take the table's durations: status holds in the EKS shim and the AMG
/// fake, call delays at the proxies. The controller's readiness delays come with
/// [`start_controllers`].
pub fn enable(rig: &Rig, latency: Latency) {
    rig.shim.set_latency(Holds::new(latency));
    {
        let mut amg = rig.amg.state.lock().unwrap();
        amg.ready_after = latency.of(AMG);
        amg.delete_after = latency.of(AMG);
    }
    for op in ["CreateRole", "CreateOpenIDConnectProvider"] {
        rig.proxies.aws.add(Rule::From {
            op: op.into(),
            nth: 1,
            fault: Fault::Delay(latency.of(IAM)),
        });
    }
    // Grafana's HTTP API is written under `/api/...`; the first write carries the configuration
    // time (data source, folder, dashboards and rules are seconds apart in reality too).
    rig.proxies.grafana.add(Rule::Nth {
        op: "POST /api/{}".into(),
        nth: 1,
        fault: Fault::Delay(latency.of(GRAFANA_CONFIG)),
    });
}

/// Play the cluster's controllers with the table's readiness delays: a Deployment or
/// DaemonSet becomes ready once a node group is ACTIVE and its own row's time has passed since
/// the controller first saw it.
pub fn start_controllers(rig: &Rig, latency: Latency) -> Controllers {
    let delays: Vec<(&'static str, Duration)> = [ISTIOD, PROMETHEUS, KIALI]
        .into_iter()
        .map(|k| (k, latency.of(k)))
        .collect();
    let first_seen: Arc<Mutex<BTreeMap<String, Instant>>> = Arc::default();
    let shim = rig.shim.clone();
    let gate: Gate = Arc::new(move |kind: &str, ns: &str, name: &str| {
        let seen = *first_seen
            .lock()
            .unwrap()
            .entry(format!("{kind} {ns}/{name}"))
            .or_insert_with(Instant::now);
        if !shim.latency_nodes_active() {
            return false;
        }
        let wait = delays
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, d)| *d)
            .unwrap_or_default();
        seen.elapsed() >= wait
    });
    let _guard = rig.rt.enter();
    Controllers::from(play_controllers_gated(rig.client(), Some(gate)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nat_states_are_rewritten_per_gateway() {
        let xml = "<a><natGatewaySet><item><natGatewayId>nat-1</natGatewayId><state>available</state></item>\
                   <item><natGatewayId>nat-2</natGatewayId><state>available</state></item></natGatewaySet></a>";
        let out = rewrite_nat_states(xml, |id| (id == "nat-2").then_some("pending"));
        assert!(
            out.contains("nat-1</natGatewayId><state>available"),
            "{out}"
        );
        assert!(out.contains("nat-2</natGatewayId><state>pending"), "{out}");
        assert_eq!(xml_ids(xml), ["nat-1", "nat-2"]);
    }

    #[test]
    fn the_table_scales() {
        let l = Latency {
            seconds_per_minute: 2.0,
        };
        assert_eq!(l.of(CONTROL_PLANE), Duration::from_secs(22));
        assert_eq!(PUBLISHED.len(), 10);
    }
}
