//! `meshctl verify` through the binary: moto (AMP workspace), the AMG and Grafana fakes, and a
//! fake AMP query endpoint that checks SigV4 signatures and can be healthy, empty or refusing.

use serde_json::Value;

use crate::grafana_fakes::Env;
use crate::support;
use support::REGION;
use support::amp_query_fake::{AmpQueryFake, Mode};

/// Point the stack's recorded AMP query endpoint at `fake` (the workspace itself is moto's).
fn use_query_endpoint(env: &Env, fake: &AmpQueryFake) {
    let path = env.stack.state_dir().join("state.json");
    let mut doc: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    doc["steps"]["amp"]["outputs"]["prometheus_endpoint"] = Value::from(fake.endpoint());
    std::fs::write(&path, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();
}

fn workspace_id(env: &Env) -> String {
    let doc: Value =
        serde_json::from_slice(&std::fs::read(env.stack.state_dir().join("state.json")).unwrap())
            .unwrap();
    doc["steps"]["amp"]["outputs"]["workspace_id"]
        .as_str()
        .expect("amp recorded its workspace id")
        .to_string()
}

fn check<'a>(report: &'a Value, link: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["link"] == link)
        .unwrap_or_else(|| panic!("no check `{link}` in {report:#}"))
}

#[test]
fn verify_passes_on_a_healthy_stack_and_names_the_first_broken_link_otherwise() {
    let env = Env::new("verify_data_path", "", "");
    env.amp();
    env.run(&["grafana", "--yes"]).expect_code(0);
    let fake = AmpQueryFake::start(&workspace_id(&env), REGION, Mode::Healthy);
    use_query_endpoint(&env, &fake);

    // Healthy: every link passes, the query was signed correctly and asked for Istio's metric.
    let run = env.run(&["verify"]);
    run.expect_code(0);
    let report = run.json();
    assert_eq!(report["kind"], "verify", "{report:#}");
    assert_eq!(report["status"], "passed", "{report:#}");
    assert!(report.get("first_broken").is_none(), "{report:#}");
    let amp = check(&report, "amp-query");
    assert_eq!(amp["outcome"], "pass", "{report:#}");
    assert!(
        amp["detail"]
            .as_str()
            .unwrap()
            .contains("bookinfo/productpage-v1, bookinfo/reviews-v2"),
        "{report:#}"
    );
    assert_eq!(check(&report, "grafana-datasource")["outcome"], "pass");
    assert_eq!(check(&report, "grafana-dashboards")["outcome"], "pass");
    assert_eq!(*fake.bad_signatures.lock().unwrap(), 0);
    assert!(
        fake.queries
            .lock()
            .unwrap()
            .iter()
            .any(|q| q.contains("istio_requests_total")),
        "verify queried Istio's request metric"
    );

    // Empty: AMP answers but holds no Istio data.
    fake.set_mode(Mode::Empty);
    let run = env.run(&["verify"]);
    run.expect_code(1);
    let report = run.json();
    assert_eq!(report["first_broken"], "amp-query", "{report:#}");
    assert!(
        check(&report, "amp-query")["fix"]
            .as_str()
            .unwrap()
            .contains("meshctl traffic"),
        "{report:#}"
    );

    // Refused: the credentials may not query.
    fake.set_mode(Mode::Refuse);
    let report = env.run(&["verify"]).json();
    assert_eq!(report["first_broken"], "amp-query", "{report:#}");
    assert!(
        check(&report, "amp-query")["detail"]
            .as_str()
            .unwrap()
            .contains("HTTP 403"),
        "{report:#}"
    );

    // A signature made with another secret is refused by the endpoint, as AMP does.
    fake.set_mode(Mode::Healthy);
    let run = env.stack.run_json_env(
        &["verify"],
        &[
            ("AWS_ENDPOINT_URL_GRAFANA", env.amg.url.as_str()),
            ("AWS_SECRET_ACCESS_KEY", "not-the-secret"),
        ],
    );
    let report = run.json();
    assert_eq!(report["first_broken"], "amp-query", "{report:#}");
    assert!(
        check(&report, "amp-query")["detail"]
            .as_str()
            .unwrap()
            .contains("signature we calculated"),
        "{report:#}"
    );
    assert!(*fake.bad_signatures.lock().unwrap() >= 1);

    // A broken data source: AMP is fine, Grafana's health check fails.
    env.grafana.state.lock().unwrap().health_error =
        Some("Post \"…/api/v1/query\": 403 Forbidden".into());
    let run = env.run(&["verify"]);
    run.expect_code(1);
    let report = run.json();
    assert_eq!(check(&report, "amp-query")["outcome"], "pass", "{report:#}");
    assert_eq!(report["first_broken"], "grafana-datasource", "{report:#}");
    assert!(
        check(&report, "grafana-datasource")["fix"]
            .as_str()
            .unwrap()
            .contains("aps:QueryMetrics"),
        "{report:#}"
    );

    // A missing dashboard is named.
    env.grafana.state.lock().unwrap().health_error = None;
    let gone = env
        .grafana
        .state
        .lock()
        .unwrap()
        .dashboards
        .keys()
        .next()
        .cloned()
        .expect("a dashboard");
    env.grafana.state.lock().unwrap().dashboards.remove(&gone);
    let report = env.run(&["verify"]).json();
    assert_eq!(report["first_broken"], "grafana-dashboards", "{report:#}");
    assert!(
        check(&report, "grafana-dashboards")["detail"]
            .as_str()
            .unwrap()
            .contains(&gone),
        "{report:#}"
    );

    // Every short-lived Grafana token verify made was deleted again.
    assert!(
        env.amg.state.lock().unwrap().live_tokens().is_empty(),
        "no service-account token is left alive"
    );
}

#[test]
fn verify_text_output_marks_each_link_and_skips_what_is_not_applied() {
    let env = Env::new("verify_text", "", "");
    env.amp();
    let fake = AmpQueryFake::start(&workspace_id(&env), REGION, Mode::Empty);
    use_query_endpoint(&env, &fake);
    let out = env
        .stack
        .cmd()
        .env("AWS_ENDPOINT_URL_GRAFANA", &env.amg.url)
        .arg("verify")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("✗ amp-query"), "{text}");
    assert!(
        text.contains("fix: send traffic through the mesh"),
        "{text}"
    );
    assert!(
        text.contains("- grafana-datasource") && text.contains("has not been applied"),
        "{text}"
    );
    assert!(
        text.contains("The data path is broken at `amp-query`"),
        "{text}"
    );
}
