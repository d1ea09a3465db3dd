//! The one template engine. Every file under `templates/` is compiled into the binary and
//! rendered with minijinja, failing on undefined variables.

use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;

use crate::error::Error;

/// `(name, source)` of every template shipped in the binary.
pub const TEMPLATES: &[(&str, &str)] = &[
    (
        "amp/istio-rules.yaml.j2",
        include_str!("../templates/amp/istio-rules.yaml.j2"),
    ),
    (
        "kiali/sigv4-proxy.yaml.j2",
        include_str!("../templates/kiali/sigv4-proxy.yaml.j2"),
    ),
    (
        "kiali/values.yaml.j2",
        include_str!("../templates/kiali/values.yaml.j2"),
    ),
    (
        "sample/bookinfo.yaml.j2",
        include_str!("../templates/sample/bookinfo.yaml.j2"),
    ),
    (
        "iam/irsa-trust-statement.json.j2",
        include_str!("../templates/iam/irsa-trust-statement.json.j2"),
    ),
    (
        "iam/pod-identity-trust-statement.json.j2",
        include_str!("../templates/iam/pod-identity-trust-statement.json.j2"),
    ),
    (
        "iam/amp-permissions.json.j2",
        include_str!("../templates/iam/amp-permissions.json.j2"),
    ),
    (
        "prometheus/prometheus.yml.j2",
        include_str!("../templates/prometheus/prometheus.yml.j2"),
    ),
    (
        "prometheus/agent.yaml.j2",
        include_str!("../templates/prometheus/agent.yaml.j2"),
    ),
    (
        "prometheus/scraper-rbac.yaml.j2",
        include_str!("../templates/prometheus/scraper-rbac.yaml.j2"),
    ),
    // Values for the Istio charts (src/steps/istio.rs).
    (
        "istio/base.yaml.j2",
        include_str!("../templates/istio/base.yaml.j2"),
    ),
    (
        "istio/istiod.yaml.j2",
        include_str!("../templates/istio/istiod.yaml.j2"),
    ),
    (
        "istio/gateway.yaml.j2",
        include_str!("../templates/istio/gateway.yaml.j2"),
    ),
    (
        "istio/cni.yaml.j2",
        include_str!("../templates/istio/cni.yaml.j2"),
    ),
    (
        "istio/ztunnel.yaml.j2",
        include_str!("../templates/istio/ztunnel.yaml.j2"),
    ),
];

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    // `tojson`: a value as JSON, which is also valid YAML (a quoted string for strings), so a
    // rendered value can never break the YAML around it.
    env.add_filter("tojson", |v: minijinja::Value| {
        serde_json::to_string(&v).map_err(|e| {
            minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, e.to_string())
        })
    });
    for (name, source) in TEMPLATES {
        env.add_template(name, source)
            .expect("shipped templates are valid (checked by tests)");
    }
    env
}

/// Render template `name` with `context`.
pub fn render<S: Serialize>(name: &str, context: S) -> Result<String, Error> {
    let env = environment();
    let tmpl = env.get_template(name).map_err(|e| Error::Template {
        name: name.to_string(),
        message: e.to_string(),
    })?;
    tmpl.render(minijinja::Value::from(minijinja::value::Serde(context)))
        .map_err(|e| Error::Template {
            name: name.to_string(),
            message: e.to_string(),
        })
}
