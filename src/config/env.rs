//! `MESHCTL_*` environment variables as config keys: `MESHCTL_REGION` sets `region`,
//! `MESHCTL_AMP__ALIAS` sets `amp.alias` (a double underscore steps into a section).

use std::collections::BTreeMap;

use serde_yaml_ng::Value;

use super::tree::{self, Seg, Shape};

pub const PREFIX: &str = "MESHCTL_";

/// Variables read by flags or logging, not config keys.
pub const NOT_CONFIG: &[&str] = &[
    "MESHCTL_CONFIG",
    "MESHCTL_OUTPUT",
    "MESHCTL_LOG",
    "MESHCTL_CALL_TIMEOUT",
    "MESHCTL_POLL_INTERVAL",
    // The helm binary to render charts with (src/helm.rs).
    "MESHCTL_HELM",
];

/// Variables starting with this are left to test harnesses.
pub const TEST_PREFIX: &str = "MESHCTL_TEST_";

/// One config key set by one variable.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Setting {
    pub var: String,
    pub path: Vec<Seg>,
    pub value: Value,
}

/// What the environment says: the settings, the variables that set a key wrongly (problems),
/// and the variables that name no key at all (warnings: they may be meant for another tool or
/// another version of meshctl, so they do not stop the run).
#[derive(Debug, Default)]
pub(crate) struct Found {
    pub settings: Vec<Setting>,
    pub problems: Vec<String>,
    pub warnings: Vec<String>,
}

/// Why a variable sets nothing.
enum Reject {
    /// It names no key meshctl knows: a warning.
    Unknown(String),
    /// It names a key but cannot set it this way: a problem.
    Invalid(String),
}

/// The environment's settings, and for each variable that sets nothing, why.
pub(crate) fn settings(env: &BTreeMap<String, String>, defaults: &Value) -> Found {
    let mut out = Found::default();
    for (var, raw) in env {
        let Some(rest) = var.strip_prefix(PREFIX) else {
            continue;
        };
        if NOT_CONFIG.contains(&var.as_str()) || var.starts_with(TEST_PREFIX) {
            continue;
        }
        match setting(var, rest, raw, defaults) {
            Ok(s) => out.settings.push(s),
            Err(Reject::Invalid(p)) => out.problems.push(p),
            Err(Reject::Unknown(w)) => out.warnings.push(w),
        }
    }
    out
}

/// The variable name that sets `path`, e.g. `MESHCTL_AMP__ALIAS`.
pub(crate) fn var_for(path: &[&str]) -> String {
    let parts: Vec<String> = path.iter().map(|p| p.to_ascii_uppercase()).collect();
    format!("{PREFIX}{}", parts.join("__"))
}

fn setting(var: &str, rest: &str, raw: &str, defaults: &Value) -> Result<Setting, Reject> {
    let parts: Vec<String> = rest.split("__").map(|p| p.to_ascii_lowercase()).collect();
    if parts.iter().any(|p| p.is_empty()) {
        return Err(Reject::Unknown(format!(
            "environment variable `{var}` is not of the form MESHCTL_<KEY> or MESHCTL_<SECTION>__<KEY> \
             and is ignored: rename it (for example MESHCTL_AMP__ALIAS) or unset it"
        )));
    }
    let mut path: Vec<Seg> = vec![];
    for (i, part) in parts.iter().enumerate() {
        let here: Vec<&str> = parts[..i].iter().map(String::as_str).collect();
        match tree::shape_at(&path) {
            Shape::Struct(fields) => {
                if !fields.contains(&part.as_str()) {
                    let hint = match tree::did_you_mean(part, fields) {
                        Some(s) => {
                            let mut p = here.clone();
                            p.push(s);
                            format!("did you mean `{}`?", var_for(&p))
                        }
                        None => format!(
                            "the keys here are {}; unset it if it is not meant for meshctl",
                            fields.join(", ")
                        ),
                    };
                    return Err(Reject::Unknown(format!(
                        "environment variable `{var}` names unknown key `{}` and is ignored: {hint}",
                        tree::show(&path_with(&path, part))
                    )));
                }
            }
            Shape::FreeMap => {
                return Err(Reject::Invalid(format!(
                    "environment variable `{var}`: `{}` cannot be set key by key (tag keys are case-sensitive); \
                     set the whole map instead, e.g. {}='{{Team: platform}}'",
                    tree::show(&path),
                    var_for(&here)
                )));
            }
            Shape::Leaf => {
                return Err(Reject::Invalid(format!(
                    "environment variable `{var}`: `{}` has no keys inside it; set it whole with {} \
                     (lists as YAML, e.g. '[a, b]')",
                    tree::show(&path),
                    var_for(&here)
                )));
            }
        }
        path.push(Seg::Key(part.clone()));
    }
    let value = parse_value(raw, tree::get(defaults, &path)).map_err(|e| {
        Reject::Invalid(format!(
            "environment variable `{var}` does not hold a YAML value ({e}): quote or fix it"
        ))
    })?;
    Ok(Setting {
        var: var.to_string(),
        path,
        value,
    })
}

fn path_with(path: &[Seg], key: &str) -> Vec<Seg> {
    let mut p = path.to_vec();
    p.push(Seg::Key(key.to_string()));
    p
}

/// Read a variable's text as YAML, except where the key holds a string: there the text is
/// taken as it is, so `MESHCTL_CLUSTER__VERSION=1.30` stays `1.30` rather than the number 1.3.
fn parse_value(raw: &str, default: Option<&Value>) -> Result<Value, serde_yaml_ng::Error> {
    match default {
        Some(Value::String(_)) => Ok(Value::String(raw.to_string())),
        // Optional strings and paths: empty means unset.
        Some(Value::Null) if raw.is_empty() => Ok(Value::Null),
        Some(Value::Null) => Ok(Value::String(raw.to_string())),
        _ => {
            if raw.trim().is_empty() {
                return Ok(Value::Null);
            }
            serde_yaml_ng::from_str(raw)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tree::{keys, show};

    fn defaults() -> Value {
        serde_yaml_ng::to_value(crate::config::Config::with_defaults("stack")).unwrap()
    }

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn maps_variables_to_paths_and_typed_values() {
        let Found {
            settings: found,
            problems,
            ..
        } = settings(
            &env(&[
                ("MESHCTL_REGION", "eu-west-1"),
                ("MESHCTL_AMP__ALIAS", "team-a"),
                ("MESHCTL_CLUSTER__CREATE", "false"),
                ("MESHCTL_CLUSTER__VERSION", "1.30"),
                ("MESHCTL_AMP__ALERTS__P99_LATENCY_MS", "750"),
                ("MESHCTL_GRAFANA__DASHBOARDS", "[7639, 11829]"),
                ("MESHCTL_TAGS", "{Team: platform}"),
                ("PATH", "/usr/bin"),
            ]),
            &defaults(),
        );
        assert!(problems.is_empty(), "{problems:?}");
        let get = |p: &str| {
            found
                .iter()
                .find(|s| show(&s.path) == p)
                .unwrap_or_else(|| panic!("{p} not set: {found:?}"))
                .value
                .clone()
        };
        assert_eq!(get("region"), Value::from("eu-west-1"));
        assert_eq!(get("amp.alias"), Value::from("team-a"));
        assert_eq!(get("cluster.create"), Value::Bool(false));
        assert_eq!(get("cluster.version"), Value::from("1.30"));
        assert_eq!(get("amp.alerts.p99_latency_ms"), Value::from(750));
        assert_eq!(
            get("grafana.dashboards"),
            serde_yaml_ng::from_str::<Value>("[7639, 11829]").unwrap()
        );
        assert_eq!(
            get("tags"),
            serde_yaml_ng::from_str::<Value>("{Team: platform}").unwrap()
        );
        assert_eq!(found.len(), 7);
        let alias = found
            .iter()
            .find(|s| s.var == "MESHCTL_AMP__ALIAS")
            .unwrap();
        assert_eq!(alias.path, keys(&["amp", "alias"]));
    }

    #[test]
    fn flag_logging_and_test_variables_are_not_keys() {
        let Found {
            settings: found,
            problems,
            warnings,
        } = settings(
            &env(&[
                ("MESHCTL_CONFIG", "x.yaml"),
                ("MESHCTL_OUTPUT", "json"),
                ("MESHCTL_LOG", "debug"),
                ("MESHCTL_TEST_PORT", "1"),
            ]),
            &defaults(),
        );
        assert!(
            found.is_empty() && problems.is_empty() && warnings.is_empty(),
            "{found:?} {problems:?} {warnings:?}"
        );
    }

    #[test]
    fn unknown_and_malformed_variables_are_explained() {
        let Found {
            problems, warnings, ..
        } = settings(
            &env(&[
                ("MESHCTL_REGOIN", "x"),
                ("MESHCTL_AMP__ALIASS", "x"),
                ("MESHCTL_TAGS__TEAM", "x"),
                ("MESHCTL_REGION__X", "x"),
                ("MESHCTL_AMP__", "x"),
                ("MESHCTL_CLUSTER__CREATE", "[unclosed"),
            ]),
            &defaults(),
        );
        let warned = warnings.join("\n");
        assert_eq!(warnings.len(), 3, "{warned}");
        assert!(
            warned.contains("did you mean `MESHCTL_REGION`?"),
            "{warned}"
        );
        assert!(
            warned.contains("did you mean `MESHCTL_AMP__ALIAS`?"),
            "{warned}"
        );
        assert!(
            warned.contains("`MESHCTL_AMP__` is not of the form"),
            "{warned}"
        );
        let all = problems.join("\n");
        assert_eq!(problems.len(), 3, "{all}");
        assert!(all.contains("MESHCTL_TAGS='{Team: platform}'"), "{all}");
        assert!(all.contains("`region` has no keys inside it"), "{all}");
        assert!(
            all.contains("`MESHCTL_CLUSTER__CREATE` does not hold a YAML value"),
            "{all}"
        );
    }

    #[test]
    fn empty_optional_values_unset() {
        let found = settings(&env(&[("MESHCTL_AMP__WORKSPACE_ID", "")]), &defaults()).settings;
        assert_eq!(found.first().map(|s| &s.value), Some(&Value::Null));
    }
}
