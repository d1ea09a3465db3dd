//! Istio dashboards: where they come from (grafana.com by id and pinned revision, or a local
//! directory) and how they are rewritten before import: bound to the stack's data source by
//! UID, rate windows too short for the scrape interval replaced with `$__rate_interval`, and a
//! stable UID so a re-run overwrites instead of duplicating.

use std::path::Path;
use std::time::Duration;

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::error::Error;

/// The grafana.com revision meshctl imports for each known dashboard id; others use revision 1.
/// NOTE: these numbers are placeholders that have not been checked against grafana.com yet;
/// confirm each id's current revision before a release (air-gapped users and the tests use
/// `grafana.dashboards_dir` and are not affected).
pub const PINNED_REVISIONS: &[(u32, u32)] = &[
    (7639, 259),  // Istio Mesh
    (7636, 259),  // Istio Service
    (7630, 259),  // Istio Workload
    (7645, 259),  // Istio Control Plane
    (11829, 259), // Istio Performance
];

pub fn pinned_revision(id: u32) -> u32 {
    PINNED_REVISIONS
        .iter()
        .find(|(i, _)| *i == id)
        .map(|(_, r)| *r)
        .unwrap_or(1)
}

/// The stable UID of dashboard `id` for `stack` (Grafana allows 40 characters).
pub fn uid(stack: &str, id: u32) -> String {
    format!("meshctl-{}-{id}", short_hash(stack))
}

/// Eight hex characters identifying `text`, for UIDs that must stay short.
pub fn short_hash(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))[..8].to_string()
}

/// Read `<dir>/<id>.json`.
pub fn from_dir(dir: &Path, id: u32) -> Result<Value, Error> {
    let path = dir.join(format!("{id}.json"));
    let text = std::fs::read_to_string(&path).map_err(|e| {
        Error::config(
            format!("cannot read dashboard {}: {e}", path.display()),
            format!("put the grafana.com dashboard {id} there as `{id}.json`, or remove it from grafana.dashboards"),
        )
    })?;
    serde_json::from_str(&text).map_err(|e| {
        Error::config(
            format!("{} is not a dashboard JSON document: {e}", path.display()),
            "download it again from grafana.com (Download JSON)",
        )
    })
}

/// Download dashboard `id` at its pinned revision from `base` (grafana.com's dashboard API).
pub async fn download(http: &reqwest::Client, base: &str, id: u32) -> Result<Value, Error> {
    let url = format!(
        "{}/{id}/revisions/{}/download",
        base.trim_end_matches('/'),
        pinned_revision(id)
    );
    let operation = format!("download dashboard {id}");
    let resp = crate::http::send("grafana.com", &operation, http.get(&url)).await?;
    if !resp.status().is_success() {
        return Err(Error::Http {
            service: "grafana.com",
            operation,
            message: format!("HTTP {}", resp.status().as_u16()),
            help: "check the dashboard id; without internet access set grafana.dashboards_dir to a directory of <id>.json files".into(),
        });
    }
    resp.json()
        .await
        .map_err(|e| crate::http::transport_error("grafana.com", &operation, &e))
}

/// Parse a Prometheus duration such as `1m`, `30s`, `1m30s`, `500ms`.
pub fn parse_prom_duration(text: &str) -> Option<Duration> {
    if text.is_empty() {
        return None;
    }
    let mut total = Duration::ZERO;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return None;
        }
        let n: u64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let secs = match unit {
            "ms" => {
                total += Duration::from_millis(n);
                continue;
            }
            "s" => n,
            "m" => n * 60,
            "h" => n * 3600,
            "d" => n * 86400,
            "w" => n * 7 * 86400,
            "y" => n * 365 * 86400,
            _ => return None,
        };
        total += Duration::from_secs(secs);
    }
    Some(total)
}

/// Replace every fixed range window `[d]` shorter than `4 × scrape` in a PromQL expression
/// with `[$__rate_interval]`. Subquery ranges (`[d:step]`) and variables are left alone.
pub fn rewrite_expr(expr: &str, scrape: Duration) -> String {
    let limit = scrape * 4;
    let mut out = String::with_capacity(expr.len());
    let mut rest = expr;
    while let Some(open) = rest.find('[') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find(']') {
            Some(close) => {
                let inner = &after[..close];
                match parse_prom_duration(inner) {
                    Some(d) if d < limit => out.push_str("[$__rate_interval]"),
                    _ => {
                        out.push('[');
                        out.push_str(inner);
                        out.push(']');
                    }
                }
                rest = &after[close + 1..];
            }
            None => {
                out.push('[');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Fixed windows shorter than `4 × scrape` left in `dashboard` (for checks and tests).
pub fn short_windows(dashboard: &Value, scrape: Duration) -> Vec<String> {
    let mut found = vec![];
    visit_exprs(dashboard, &mut |expr| {
        let mut rest = expr;
        while let Some(open) = rest.find('[') {
            let after = &rest[open + 1..];
            let Some(close) = after.find(']') else { break };
            if parse_prom_duration(&after[..close]).is_some_and(|d| d < scrape * 4) {
                found.push(expr.to_string());
            }
            rest = &after[close + 1..];
        }
    });
    found
}

fn visit_exprs(v: &Value, f: &mut impl FnMut(&str)) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("expr" | "query", Value::String(s)) => f(s),
                    _ => visit_exprs(v, f),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| visit_exprs(i, f)),
        _ => {}
    }
}

/// Everything the rewrite needs.
pub struct Rewrite<'a> {
    pub stack: &'a str,
    pub id: u32,
    pub datasource_uid: &'a str,
    pub scrape_interval: Duration,
}

impl Rewrite<'_> {
    /// The dashboard as meshctl imports it.
    pub fn apply(&self, mut dashboard: Value) -> Value {
        let Some(map) = dashboard.as_object_mut() else {
            return dashboard;
        };
        // grafana.com export metadata: inputs are bound below, requirements are informative.
        map.remove("__inputs");
        map.remove("__requires");
        map.remove("__elements");
        map.insert("id".into(), Value::Null);
        map.insert("uid".into(), json!(uid(self.stack, self.id)));
        map.remove("version");
        let title = map
            .get("title")
            .and_then(Value::as_str)
            .unwrap_or("Istio")
            .to_string();
        map.insert("title".into(), json!(title));
        let mut tags: Vec<Value> = map
            .get("tags")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if !tags.contains(&json!("meshctl")) {
            tags.push(json!("meshctl"));
        }
        map.insert("tags".into(), Value::Array(tags));
        self.walk(&mut dashboard);
        dashboard
    }

    fn datasource(&self) -> Value {
        json!({"type": "prometheus", "uid": self.datasource_uid})
    }

    fn walk(&self, v: &mut Value) {
        match v {
            Value::Object(map) => {
                // Data-source template variables would let a viewer switch away; pin them.
                if map.get("type").and_then(Value::as_str) == Some("datasource") {
                    pin_variable(map, self.datasource_uid);
                }
                for (k, v) in map.iter_mut() {
                    match (k.as_str(), &*v) {
                        ("datasource", d) if is_prometheus_ref(d) => *v = self.datasource(),
                        ("expr" | "query", Value::String(s)) => {
                            *v = Value::String(rewrite_expr(s, self.scrape_interval))
                        }
                        _ => self.walk(v),
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|i| self.walk(i)),
            Value::String(s) if s.starts_with("${DS_") => *v = json!(self.datasource_uid),
            _ => {}
        }
    }
}

/// Whether a panel's or target's `datasource` refers to the dashboard's Prometheus input (or
/// the default), not to a built-in one such as `-- Grafana --` annotations.
fn is_prometheus_ref(d: &Value) -> bool {
    let named = |s: &str| s.starts_with("${") || s.eq_ignore_ascii_case("prometheus");
    match d {
        Value::Null => true,
        Value::String(s) => named(s),
        Value::Object(o) => {
            o.get("type").and_then(Value::as_str) == Some("prometheus")
                || o.get("uid").and_then(Value::as_str).is_some_and(named)
        }
        _ => false,
    }
}

fn pin_variable(map: &mut Map<String, Value>, ds_uid: &str) {
    map.insert("current".into(), json!({"text": ds_uid, "value": ds_uid}));
    map.insert("hide".into(), json!(2));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse() {
        assert_eq!(parse_prom_duration("1m"), Some(Duration::from_secs(60)));
        assert_eq!(parse_prom_duration("1m30s"), Some(Duration::from_secs(90)));
        assert_eq!(
            parse_prom_duration("500ms"),
            Some(Duration::from_millis(500))
        );
        assert_eq!(parse_prom_duration("$__rate_interval"), None);
        assert_eq!(parse_prom_duration(""), None);
        assert_eq!(parse_prom_duration("5m:1m"), None);
    }

    #[test]
    fn short_windows_become_rate_interval_and_long_ones_stay() {
        let scrape = Duration::from_secs(30);
        assert_eq!(
            rewrite_expr(
                "sum(rate(istio_requests_total[1m])) / sum(rate(x[5m]))",
                scrape
            ),
            "sum(rate(istio_requests_total[$__rate_interval])) / sum(rate(x[5m]))"
        );
        assert_eq!(
            rewrite_expr("rate(x[1m30s])", scrape),
            "rate(x[$__rate_interval])"
        );
        assert_eq!(
            rewrite_expr("max_over_time(x[5m:1m])", scrape),
            "max_over_time(x[5m:1m])"
        );
        assert_eq!(rewrite_expr("x{a=~\"[a-z]\"}", scrape), "x{a=~\"[a-z]\"}");
        assert_eq!(
            rewrite_expr("rate(x[2m])", Duration::from_secs(15)),
            "rate(x[2m])"
        );
    }
}
