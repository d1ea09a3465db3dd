//! `meshctl verify`: prove the data path end to end, link by link, in the order data flows
//! (mesh -> Prometheus -> AMP -> Kiali's SigV4 proxy, Grafana -> alerting), and name the first
//! broken link with its likely fix. Read-only: it changes nothing but a short-lived Grafana
//! token it deletes again.

use std::fmt;

use serde::Serialize;
use serde_json::Value;

use crate::aws::sigv4;
use crate::engine::{StepCtx, StepId};
use crate::error::{Error, exit};
use crate::steps::grafana::{ApiSession, GrafanaStep, datasource_uid};
use crate::steps::kiali;

/// The PromQL `verify` asks AMP: request rates per workload over the last five minutes.
pub const MESH_QUERY: &str = "sum by (destination_workload, destination_workload_namespace) (rate(istio_requests_total[5m]))";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Pass,
    Fail,
    /// Not checked: the step it belongs to is not applied or not enabled.
    Skip,
}

/// One link of the data path.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub link: &'static str,
    pub outcome: Outcome,
    /// What was found.
    pub detail: String,
    /// The likely fix, for a failed link.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Check {
    fn pass(link: &'static str, detail: impl Into<String>) -> Check {
        Check {
            link,
            outcome: Outcome::Pass,
            detail: detail.into(),
            fix: None,
        }
    }

    fn fail(link: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Check {
        Check {
            link,
            outcome: Outcome::Fail,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }

    fn skip(link: &'static str, detail: impl Into<String>) -> Check {
        Check {
            link,
            outcome: Outcome::Skip,
            detail: detail.into(),
            fix: None,
        }
    }
}

/// Every link checked, and the first that is broken.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    /// Always `"verify"`.
    pub kind: &'static str,
    pub stack: String,
    /// `passed` or `failed`.
    pub status: &'static str,
    /// The first link that failed, in data-path order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_broken: Option<&'static str>,
    pub checks: Vec<Check>,
}

impl VerifyReport {
    pub fn exit_code(&self) -> i32 {
        if self.first_broken.is_some() {
            exit::FAILED
        } else {
            exit::OK
        }
    }
}

impl fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Verify stack `{}`:", self.stack)?;
        for c in &self.checks {
            let mark = match c.outcome {
                Outcome::Pass => "✓",
                Outcome::Fail => "✗",
                Outcome::Skip => "-",
            };
            writeln!(f, "  {mark} {:<24} {}", c.link, c.detail)?;
            if let Some(fix) = &c.fix {
                writeln!(f, "      fix: {fix}")?;
            }
        }
        match self.first_broken {
            Some(link) => write!(
                f,
                "The data path is broken at `{link}` (first failed link)."
            ),
            None => write!(f, "The data path works end to end."),
        }
    }
}

/// Check every link that the stack's applied steps make checkable.
pub async fn run(ctx: &StepCtx) -> Result<VerifyReport, Error> {
    let mut checks = vec![amp_query(ctx).await?];
    checks.extend(kiali(ctx).await);
    checks.extend(grafana(ctx).await?);
    let first_broken = checks
        .iter()
        .find(|c| c.outcome == Outcome::Fail)
        .map(|c| c.link);
    Ok(VerifyReport {
        kind: "verify",
        stack: ctx.config.name.clone(),
        status: if first_broken.is_some() {
            "failed"
        } else {
            "passed"
        },
        first_broken,
        checks,
    })
}

/// AMP answers a SigV4-signed query for Istio's request metric with data for workloads.
async fn amp_query(ctx: &StepCtx) -> Result<Check, Error> {
    const LINK: &str = "amp-query";
    let Some(endpoint) = ctx.state.output(StepId::Amp, "prometheus_endpoint").await else {
        return Ok(Check::skip(
            LINK,
            "the amp step has not been applied to this stack",
        ));
    };
    let aws = ctx.aws()?;
    let url = format!(
        "{}/api/v1/query?query={}",
        endpoint.trim_end_matches('/'),
        url::form_urlencoded::byte_serialize(MESH_QUERY.as_bytes()).collect::<String>()
    );
    let reply = match sigv4::get(aws, "aps", &url).await {
        Ok(r) => r,
        Err(e) => {
            return Ok(Check::fail(
                LINK,
                format!("the AMP query endpoint did not answer: {e}"),
                "check the network path to the workspace endpoint (proxy, VPN, VPC endpoint)",
            ));
        }
    };
    Ok(judge_amp(reply.status, &reply.body))
}

/// Kiali reads AMP through the SigV4 proxy: its configuration points at the proxy, and the
/// proxy answers a query (reached through the API server's service proxy, so this works from
/// outside the cluster).
async fn kiali(ctx: &StepCtx) -> Vec<Check> {
    const CONFIG: &str = "kiali-config";
    const PROXY: &str = "kiali-proxy";
    let Some(expected) = ctx.state.output(StepId::Kiali, "prometheus_url").await else {
        let why = "the kiali step has not been applied to this stack";
        return vec![Check::skip(CONFIG, why), Check::skip(PROXY, why)];
    };
    let ns = ctx
        .state
        .output(StepId::Kiali, "namespace")
        .await
        .unwrap_or_else(|| ctx.config.kiali.namespace.clone());
    let kube = match crate::kube::connect(ctx).await {
        Ok(k) => k,
        Err(e) => {
            return vec![
                Check::fail(
                    CONFIG,
                    format!("cannot reach the cluster: {e}"),
                    "check the cluster's endpoint and your access (`meshctl kubeconfig`, `meshctl doctor`)",
                ),
                Check::skip(PROXY, "not checked: the cluster cannot be reached"),
            ];
        }
    };
    let config = kiali_config(&kube, &ns, &expected).await;
    let proxy = kiali_proxy(&kube, &ns, &expected).await;
    vec![config, proxy]
}

/// Kiali's ConfigMap sends Prometheus queries to the proxy, with the workspace path.
async fn kiali_config(kube: &crate::kube::Kube, ns: &str, expected: &str) -> Check {
    const LINK: &str = "kiali-config";
    let reapply = "run `meshctl kiali` to restore Kiali's configuration";
    let r = crate::kube::ObjectRef {
        api_version: "v1".into(),
        kind: "ConfigMap".into(),
        namespace: Some(ns.to_string()),
        name: kiali::KIALI_NAME.into(),
    };
    let cm = match kube.get(&r).await {
        Ok(Some(cm)) => cm,
        Ok(None) => {
            return Check::fail(
                LINK,
                format!("ConfigMap {ns}/{} does not exist", kiali::KIALI_NAME),
                reapply,
            );
        }
        Err(e) => {
            return Check::fail(
                LINK,
                format!("cannot read ConfigMap {ns}/{}: {e}", kiali::KIALI_NAME),
                "check your access to the cluster (`meshctl doctor`)",
            );
        }
    };
    let text = cm.data["data"]["config.yaml"].as_str().unwrap_or_default();
    let parsed: Option<Value> = serde_yaml_ng::from_str(text).ok();
    let url = parsed
        .as_ref()
        .and_then(|c| c["external_services"]["prometheus"]["url"].as_str())
        .unwrap_or_default();
    if url.trim_end_matches('/') == expected.trim_end_matches('/') {
        Check::pass(LINK, format!("Kiali queries {url}"))
    } else if url.is_empty() {
        Check::fail(
            LINK,
            "Kiali's config.yaml has no external_services.prometheus.url",
            reapply,
        )
    } else {
        Check::fail(
            LINK,
            format!("Kiali queries {url}, not the SigV4 proxy {expected}"),
            reapply,
        )
    }
}

/// The proxy answers a query for the workspace (it signs for AMP with the query role).
async fn kiali_proxy(kube: &crate::kube::Kube, ns: &str, expected: &str) -> Check {
    const LINK: &str = "kiali-proxy";
    // The path after the proxy's address: `workspaces/<id>/api/v1/query?query=...`.
    let workspace_path = expected
        .split_once("://")
        .and_then(|(_, rest)| rest.split_once('/'))
        .map(|(_, path)| path.trim_end_matches('/'))
        .unwrap_or_default();
    let path = format!("{workspace_path}/api/v1/query?query=vector(1)");
    let answer = kube
        .service_get(ns, kiali::PROXY_NAME, kiali::PROXY_PORT, &path)
        .await;
    let deployment = format!("Deployment {ns}/{}", kiali::PROXY_NAME);
    match answer {
        Err(e) => Check::fail(
            LINK,
            format!("cannot reach the proxy through the API server: {e}"),
            "check your access to the cluster (`meshctl doctor`)",
        ),
        Ok((200, body))
            if serde_json::from_str::<Value>(&body).is_ok_and(|v| v["status"] == "success") =>
        {
            Check::pass(
                LINK,
                format!("{} answers queries for the workspace", kiali::PROXY_NAME),
            )
        }
        Ok((503, body)) if body.contains("no endpoints available") => Check::fail(
            LINK,
            format!("the proxy has no ready pod ({deployment})"),
            format!(
                "look at the proxy's pods in namespace {ns}; `meshctl kiali` waits for them and says why they are not ready"
            ),
        ),
        Ok((404, body)) if body.contains("not found") && body.contains("services") => Check::fail(
            LINK,
            format!("Service {ns}/{} does not exist", kiali::PROXY_NAME),
            "run `meshctl kiali` to restore the proxy",
        ),
        Ok((401 | 403, body)) => Check::fail(
            LINK,
            format!("AMP refused the proxy's request: {}", message(&body)),
            "the proxy signs as the irsa query role: run `meshctl irsa` to restore the role, its policy and its trust in the proxy's service account",
        ),
        Ok((code, body)) => Check::fail(
            LINK,
            format!("the proxy answered HTTP {code}: {}", message(&body)),
            format!("look at the logs of {deployment}"),
        ),
    }
}

/// Turn AMP's answer to [`MESH_QUERY`] into a check.
pub fn judge_amp(status: u16, body: &str) -> Check {
    const LINK: &str = "amp-query";
    match status {
        200 => {}
        401 | 403 => {
            return Check::fail(
                LINK,
                format!(
                    "AMP refused the signed query (HTTP {status}): {}",
                    message(body)
                ),
                "the credentials in use need aps:QueryMetrics on the workspace (AmazonPrometheusQueryAccess), and the request must be signed for the workspace's region",
            );
        }
        404 => {
            return Check::fail(
                LINK,
                "AMP does not know this workspace (HTTP 404)",
                "the workspace may have been deleted: run `meshctl amp` to recreate it",
            );
        }
        other => {
            return Check::fail(
                LINK,
                format!("AMP answered HTTP {other}: {}", message(body)),
                "run `meshctl verify` again; if it persists, check the AMP service health in the region",
            );
        }
    }
    let doc: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let results = doc["data"]["result"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut workloads: Vec<String> = results
        .iter()
        .filter_map(|r| {
            let m = &r["metric"];
            let w = m["destination_workload"].as_str()?;
            Some(match m["destination_workload_namespace"].as_str() {
                Some(ns) => format!("{ns}/{w}"),
                None => w.to_string(),
            })
        })
        .collect();
    workloads.sort();
    workloads.dedup();
    if workloads.is_empty() {
        return Check::fail(
            LINK,
            "AMP answered, but holds no istio_requests_total for any workload in the last 5 minutes",
            "send traffic through the mesh (`meshctl traffic`), then check that Prometheus runs (`meshctl status`) and may remote-write (the irsa role)",
        );
    }
    Check::pass(
        LINK,
        format!(
            "istio_requests_total for {} workload(s): {}",
            workloads.len(),
            workloads.join(", ")
        ),
    )
}

fn message(body: &str) -> String {
    serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| {
            v["message"]
                .as_str()
                .or(v["error"].as_str())
                .map(str::to_string)
        })
        .unwrap_or_else(|| body.chars().take(200).collect())
}

/// The Grafana data source is healthy, each dashboard exists, and the PagerDuty contact point
/// is there: one short-lived token for all of it, deleted again.
async fn grafana(ctx: &StepCtx) -> Result<Vec<Check>, Error> {
    let config = &ctx.config;
    let pagerduty_wanted = config.pagerduty.enabled;
    if !config.grafana.enabled || !ctx.state.is_applied(StepId::Grafana).await {
        let why = if config.grafana.enabled {
            "the grafana step has not been applied to this stack"
        } else {
            "disabled by grafana.enabled: false"
        };
        let mut skipped = vec![
            Check::skip("grafana-datasource", why),
            Check::skip("grafana-dashboards", why),
        ];
        if pagerduty_wanted {
            skipped.push(Check::skip("pagerduty-contact-point", why));
        }
        return Ok(skipped);
    }
    let client = ctx.aws()?.grafana();
    let Some(ws) = GrafanaStep::find(&client, config).await? else {
        return Ok(vec![Check::fail(
            "grafana-datasource",
            "the stack's Grafana workspace does not exist",
            "run `meshctl grafana` to create it",
        )]);
    };
    let session = ApiSession::open(ctx, StepId::Grafana, &client, &ws).await?;
    let api = session.api.clone();
    let stack = config.name.clone();
    let dashboards = config.grafana.dashboards.clone();
    let pagerduty_applied = ctx.state.is_applied(StepId::Pagerduty).await;
    session
        .run(ctx, &client, async move {
            let mut checks = vec![];
            checks.push(match api.datasource_health(&datasource_uid(&stack)).await? {
                Ok(m) => Check::pass("grafana-datasource", format!("healthy: {m}")),
                Err(m) => Check::fail(
                    "grafana-datasource",
                    format!("the AMP data source is not healthy: {m}"),
                    "the workspace's IAM role needs aps:QueryMetrics on the AMP workspace: run `meshctl grafana` to restore its permissions, and check the data source's SigV4 region",
                ),
            });
            let mut missing = vec![];
            for id in &dashboards {
                let uid = crate::grafana::dashboard::uid(&stack, *id);
                if api.dashboard(&uid).await?.is_none() {
                    missing.push(format!("{id} (uid {uid})"));
                }
            }
            checks.push(if missing.is_empty() {
                Check::pass(
                    "grafana-dashboards",
                    format!("all {} dashboard(s) present", dashboards.len()),
                )
            } else {
                Check::fail(
                    "grafana-dashboards",
                    format!("missing: {}", missing.join(", ")),
                    "run `meshctl grafana` to import them again",
                )
            });
            if pagerduty_wanted {
                let uid = crate::steps::pagerduty::contact_point_uid(&stack);
                checks.push(if !pagerduty_applied {
                    Check::skip(
                        "pagerduty-contact-point",
                        "the pagerduty step has not been applied to this stack",
                    )
                } else if api
                    .contact_points()
                    .await?
                    .iter()
                    .any(|c| c["uid"].as_str() == Some(uid.as_str()))
                {
                    Check::pass("pagerduty-contact-point", format!("contact point {uid} present"))
                } else {
                    Check::fail(
                        "pagerduty-contact-point",
                        format!("contact point {uid} is missing"),
                        "run `meshctl pagerduty` to create it again",
                    )
                });
            }
            Ok(checks)
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amp_answers_are_judged_by_status_and_data() {
        let healthy = r#"{"status":"success","data":{"resultType":"vector","result":[
            {"metric":{"destination_workload":"reviews-v2","destination_workload_namespace":"bookinfo"},"value":[1,"3.5"]},
            {"metric":{"destination_workload":"productpage-v1","destination_workload_namespace":"bookinfo"},"value":[1,"1"]}]}}"#;
        let c = judge_amp(200, healthy);
        assert_eq!(c.outcome, Outcome::Pass);
        assert!(
            c.detail
                .contains("2 workload(s): bookinfo/productpage-v1, bookinfo/reviews-v2"),
            "{}",
            c.detail
        );
        let empty = r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#;
        let c = judge_amp(200, empty);
        assert_eq!(c.outcome, Outcome::Fail);
        assert!(c.fix.unwrap().contains("meshctl traffic"));
        let c = judge_amp(
            403,
            r#"{"message":"The request signature we calculated does not match the signature you provided."}"#,
        );
        assert_eq!(c.outcome, Outcome::Fail);
        assert!(c.detail.contains("signature we calculated"), "{}", c.detail);
        assert!(c.fix.unwrap().contains("aps:QueryMetrics"));
        assert_eq!(judge_amp(404, "").outcome, Outcome::Fail);
    }
}
