//! The shipped templates render, and every rule in the AMP rule file is valid PromQL in a
//! valid Prometheus rule-file shape.

use meshctl::config::Config;
use serde_yaml_ng::Value;

fn rules_for(yaml: &str) -> Value {
    let config: Config = serde_yaml_ng::from_str(yaml).unwrap();
    let text = meshctl::steps::amp::render_rules(&config).unwrap();
    serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("rule file is not YAML: {e}\n{text}"))
}

fn all_rules(doc: &Value) -> Vec<&Value> {
    doc["groups"]
        .as_sequence()
        .expect("groups is a list")
        .iter()
        .flat_map(|g| g["rules"].as_sequence().expect("rules is a list"))
        .collect()
}

#[test]
fn every_expression_is_valid_promql() {
    let doc = rules_for("name: promql");
    let rules = all_rules(&doc);
    assert!(rules.len() >= 10, "{} rules", rules.len());
    for rule in rules {
        let expr = rule["expr"].as_str().expect("expr is a string");
        if let Err(e) = promql_parser::parser::parse(expr) {
            panic!("invalid PromQL in {rule:?}: {e}");
        }
        let is_record = rule.get("record").is_some();
        let is_alert = rule.get("alert").is_some();
        assert!(
            is_record ^ is_alert,
            "a rule is either record or alert: {rule:?}"
        );
        if let Some(d) = rule.get("for") {
            humantime::parse_duration(d.as_str().unwrap()).expect("for is a duration");
        }
    }
}

#[test]
fn the_required_alerts_are_present_with_configured_thresholds() {
    let doc = rules_for(
        "name: thresholds\namp:\n  alerts:\n    error_ratio: 0.05\n    p99_latency_ms: 800\n",
    );
    let rules = all_rules(&doc);
    let alert = |name: &str| -> &Value {
        rules
            .iter()
            .find(|r| r["alert"].as_str() == Some(name))
            .unwrap_or_else(|| panic!("alert {name} missing"))
    };
    let five_xx = alert("IstioHigh5xxRatio");
    assert!(five_xx["expr"].as_str().unwrap().ends_with("> 0.05"));
    assert_eq!(five_xx["for"].as_str(), Some("5m"));
    assert!(
        five_xx["annotations"]["summary"]
            .as_str()
            .unwrap()
            .contains("5%")
    );
    let latency = alert("IstioHighP99Latency");
    assert!(latency["expr"].as_str().unwrap().ends_with("> 800"));
    let down = alert("IstiodDown");
    assert!(down["expr"].as_str().unwrap().contains("istiod"));
    let pushes = alert("IstiodNoXdsPushes");
    assert!(
        pushes["expr"]
            .as_str()
            .unwrap()
            .contains("pilot_xds_pushes")
    );
    for r in rules.iter().filter(|r| r.get("alert").is_some()) {
        assert_eq!(r["labels"]["meshctl_stack"].as_str(), Some("thresholds"));
    }
}

#[test]
fn recording_rules_are_unique_and_used_by_the_alerts() {
    let doc = rules_for("name: records");
    let rules = all_rules(&doc);
    let records: Vec<&str> = rules.iter().filter_map(|r| r["record"].as_str()).collect();
    let mut unique = records.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), records.len(), "duplicate record names");
    for name in &records {
        assert!(
            name.split(':').count() == 3,
            "{name} follows level:metric:operations"
        );
    }
    let alerts: String = rules
        .iter()
        .filter(|r| r.get("alert").is_some())
        .map(|r| r["expr"].as_str().unwrap())
        .collect();
    assert!(alerts.contains("destination_service:istio_requests_5xx:ratio_rate5m"));
    assert!(alerts.contains("destination_service:istio_request_duration_milliseconds:p99_5m"));
}

#[test]
fn every_shipped_template_renders_for_the_example_configs() {
    for entry in std::fs::read_dir("examples").unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("yaml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let config: Config = serde_yaml_ng::from_str(&text)
            .unwrap_or_else(|e| panic!("{} does not parse: {e}", path.display()));
        let rules = meshctl::steps::amp::render_rules(&config).unwrap();
        assert!(rules.contains("IstioHigh5xxRatio"), "{}", path.display());
        let inputs = meshctl::steps::kiali::Inputs::default();
        let proxy = meshctl::steps::kiali::render_proxy(&config).unwrap();
        assert!(proxy.contains("aws-sigv4-proxy"), "{}", path.display());
        let values = meshctl::steps::kiali::values(&config, &inputs).unwrap();
        assert_eq!(
            values["external_services"]["prometheus"]["thanos_proxy"]["enabled"],
            true
        );
        for ambient in [false, true] {
            assert_eq!(meshctl::steps::sample::objects(ambient).unwrap().len(), 21);
        }
        use meshctl::steps::prometheus as prom;
        let yml = prom::render_config(&config, &prom::ScrapeInputs::default()).unwrap();
        assert!(yml.contains("job_name: envoy-stats"), "{}", path.display());
        let agent = prom::render_agent(&config, &yml).unwrap();
        assert!(agent.contains("kind: Deployment"), "{}", path.display());
        let rbac = prom::render_scraper_rbac(&config).unwrap();
        assert!(rbac.contains("aps-collector-user"), "{}", path.display());
    }
    let rendered = [
        "amp/istio-rules.yaml.j2",
        "prometheus/prometheus.yml.j2",
        "prometheus/agent.yaml.j2",
        "prometheus/scraper-rbac.yaml.j2",
        "kiali/sigv4-proxy.yaml.j2",
        "kiali/values.yaml.j2",
        "sample/bookinfo.yaml.j2",
        // Rendered and snapshotted by the irsa tests (tests/irsa_moto.rs).
        "iam/irsa-trust-statement.json.j2",
        "iam/pod-identity-trust-statement.json.j2",
        "iam/amp-permissions.json.j2",
        // Rendered per profile and mode and snapshotted by the istio tests (tests/istio_fakes.rs).
        "istio/base.yaml.j2",
        "istio/istiod.yaml.j2",
        "istio/gateway.yaml.j2",
        "istio/cni.yaml.j2",
        "istio/ztunnel.yaml.j2",
    ];
    for (name, _) in meshctl::templates::TEMPLATES {
        assert!(rendered.contains(name), "{name} is not rendered by a test");
    }
}
