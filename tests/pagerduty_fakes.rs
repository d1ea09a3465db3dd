//! `grafana` then `pagerduty` end to end against moto and the AMG, Grafana and PagerDuty fakes:
//! everything configured, re-runs change nothing, cleanup removes exactly what meshctl made,
//! no token left alive, and no secret anywhere the runs wrote.

use serde_json::{Value, json};

use crate::grafana_fakes::Env;
use crate::support;
use support::pagerduty_fake::PagerdutyFake;
use support::{Run, step_actions};

const REST_TOKEN: &str = "u+RESTtokenSECRET0123456789";

struct PdEnv {
    g: Env,
    pd: PagerdutyFake,
}

impl PdEnv {
    fn new(test: &str, grafana_yaml: &str, pagerduty_yaml: &str) -> PdEnv {
        let pd = PagerdutyFake::start(REST_TOKEN);
        let g = Env::new(
            test,
            grafana_yaml,
            &format!(
                "pagerduty:\n  enabled: true\n  escalation_policy_id: PABC123\n  api_url: \"{0}\"\n  events_url: \"{0}\"\n{pagerduty_yaml}",
                pd.url
            ),
        );
        PdEnv { g, pd }
    }

    fn run(&self, args: &[&str]) -> Run {
        self.run_with(args, REST_TOKEN)
    }

    fn run_with(&self, args: &[&str], token: &str) -> Run {
        let mut env: Vec<(&str, String)> = self.g.env();
        env.push(("PAGERDUTY_API_KEY", token.to_string()));
        let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        self.g.stack.run_json_env(args, &pairs)
    }

    fn no_live_tokens(&self) {
        let live = self.g.amg.state.lock().unwrap().live_tokens();
        assert!(
            live.is_empty(),
            "service-account tokens left alive: {live:#?}"
        );
    }
}

fn changes(doc: &Value, step: &str) -> Vec<(String, String, String)> {
    step_actions(doc, step)
        .into_iter()
        .filter(|(op, _, _)| op != "keep")
        .collect()
}

/// A workspace someone else made (Grafana 10.4, no simplified routing), with their own data
/// source, folder, contact point and notification route in it.
fn shared_workspace(env: &PdEnv) -> String {
    let id = env.g.amg.add_workspace("shared-grafana", "10.4");
    let mut g = env.g.grafana.state.lock().unwrap();
    g.datasources.push(
        json!({"uid": "their-ds", "name": "Their Prometheus", "type": "prometheus", "id": 900}),
    );
    g.folders.insert(
        "their-folder".into(),
        json!({"uid": "their-folder", "title": "Team dashboards", "id": 901}),
    );
    g.contact_points.push(json!({"uid": "their-cp", "name": "team-email", "type": "email", "settings": {"addresses": "team@example.org"}}));
    g.policies = json!({
        "receiver": "team-email",
        "group_by": ["alertname"],
        "routes": [{"receiver": "team-email", "object_matchers": [["team", "=", "payments"]]}]
    });
    id
}

#[test]
fn grafana_then_pagerduty_configure_everything_rerun_changes_nothing_and_cleanup_removes_only_meshctls()
 {
    let env = PdEnv::new("pd_full", "", "");
    let ws = shared_workspace(&env);
    let yaml_path = env.g.stack.path().join("meshctl.yaml");
    let mut yaml = std::fs::read_to_string(&yaml_path).unwrap();
    yaml = yaml.replace("grafana:\n", &format!("grafana:\n  workspace_id: {ws}\n"));
    std::fs::write(&yaml_path, yaml).unwrap();

    env.g.amp();
    env.run(&["grafana", "--yes"]).expect_code(0);
    let run = env.run(&["pagerduty", "--yes"]);
    run.expect_code(0);
    let doc = run.json();
    let kinds: Vec<String> = changes(&doc, "pagerduty")
        .into_iter()
        .map(|(_, k, _)| k)
        .collect();
    assert_eq!(
        kinds,
        [
            "pagerduty-service",
            "pagerduty-integration",
            "grafana-contact-point",
            "grafana-rule-group",
            "grafana-notification-route"
        ],
        "{doc:#}"
    );
    env.no_live_tokens();

    // PagerDuty: the service with the escalation policy, and its Events v2 integration.
    let pd = env.pd.snapshot();
    assert_eq!(pd.services.len(), 1);
    assert_eq!(pd.services[0]["escalation_policy"]["id"], "PABC123");
    let key = pd.integration_keys().pop().expect("an integration key");
    // Grafana: contact point with that key, rules in the stack's folder, one route added.
    let g = env.g.grafana.snapshot();
    let cp = g
        .contact_points
        .iter()
        .find(|c| c["type"] == "pagerduty")
        .expect("a PagerDuty contact point");
    assert_eq!(cp["settings"]["integrationKey"], key.as_str());
    let (folder, group) = g
        .rule_groups
        .iter()
        .find(|((_, name), _)| name.starts_with("meshctl-"))
        .map(|((f, _), v)| (f.clone(), v.clone()))
        .expect("the rule group");
    assert!(g.folders.contains_key(&folder));
    let titles: Vec<&str> = group["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["title"].as_str().unwrap())
        .collect();
    assert_eq!(
        titles,
        [
            "IstioHigh5xxRatio",
            "IstioHighP99Latency",
            "IstiodUnavailable",
            "IstioIngressGatewayUnavailable"
        ]
    );
    let routes = g.policies["routes"].as_array().unwrap();
    assert_eq!(routes.len(), 2, "{:#}", g.policies);
    assert!(routes.iter().any(|r| r["receiver"] == "team-email"));
    assert_eq!(g.policies["receiver"], "team-email");
    assert_eq!(g.policy_provenance, "", "written without locking the tree");

    // Second runs change nothing.
    let again = env.run(&["grafana", "--yes"]);
    again.expect_code(0);
    assert!(
        changes(&again.json(), "grafana").is_empty(),
        "{}",
        again.stdout
    );
    let plan = env.run(&["pagerduty", "--dry-run"]);
    plan.expect_code(0);
    assert!(
        changes(&plan.json(), "pagerduty").is_empty(),
        "the plan of a second run shows no change: {}",
        plan.stdout
    );
    let again = env.run(&["pagerduty", "--yes"]);
    again.expect_code(0);
    assert!(
        changes(&again.json(), "pagerduty").is_empty(),
        "{}",
        again.stdout
    );
    assert_eq!(env.pd.snapshot().services.len(), 1);
    assert_eq!(
        env.g.grafana.snapshot().policies["routes"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    env.no_live_tokens();

    // Cleanup removes exactly what meshctl created.
    let clean = env.run(&["cleanup", "--only", "pagerduty,grafana", "--yes"]);
    clean.expect_code(0);
    let g = env.g.grafana.snapshot();
    let ds: Vec<&Value> = g.datasources.iter().map(|d| &d["uid"]).collect();
    assert_eq!(ds, [&json!("their-ds")]);
    assert_eq!(g.folders.keys().collect::<Vec<_>>(), ["their-folder"]);
    let cps: Vec<&Value> = g.contact_points.iter().map(|c| &c["uid"]).collect();
    assert_eq!(cps, [&json!("their-cp")]);
    assert_eq!(
        g.policies["routes"],
        json!([{"receiver": "team-email", "object_matchers": [["team", "=", "payments"]]}])
    );
    assert!(g.dashboards.is_empty());
    assert!(g.rule_groups.is_empty());
    assert!(
        env.pd.snapshot().services.is_empty(),
        "the service meshctl created is gone"
    );
    let workspaces = env.g.amg.workspaces();
    assert_eq!(workspaces.len(), 1, "the shared workspace is kept");
    assert!(workspaces[0].service_accounts.is_empty());
    env.no_live_tokens();
}

#[test]
fn rules_select_the_contact_point_directly_and_leave_the_policy_tree_alone_on_grafana_12() {
    let env = PdEnv::new("pd_direct", "", "");
    env.g.amp();
    env.run(&["grafana", "--yes"]).expect_code(0);
    let before = env.g.grafana.snapshot().policies;
    env.run(&["pagerduty", "--yes"]).expect_code(0);
    let g = env.g.grafana.snapshot();
    assert_eq!(
        g.policies, before,
        "the shared policy tree is not rewritten"
    );
    let group = g.rule_groups.values().next().expect("the rule group");
    for rule in group["rules"].as_array().unwrap() {
        assert_eq!(
            rule["notification_settings"]["receiver"],
            format!("meshctl-{}-pagerduty", env.g.stack.name)
        );
    }
    env.no_live_tokens();
}

#[test]
fn secrets_never_appear_in_output_logs_state_ledger_or_plans() {
    let env = PdEnv::new("pd_secrets", "", "");
    env.g.amp();
    let runs = [
        env.run(&["grafana", "--dry-run", "-vv"]),
        env.run(&["grafana", "--yes", "-vv"]),
        env.run(&["pagerduty", "--dry-run", "-vv"]),
        env.run(&["pagerduty", "--yes", "-vv"]),
        env.run(&["pagerduty", "test", "-vv"]),
        env.run(&["status", "-vv"]),
        env.run(&["cleanup", "--only", "pagerduty,grafana", "--yes", "-vv"]),
    ];
    for r in &runs[1..5] {
        if !r.stdout.contains("\"kind\": \"plan\"") {
            r.expect_code(0);
        }
    }
    // -v and -vv log each HTTP call (operation, host, status, duration), like each AWS call.
    assert!(
        runs[1].stderr.contains("meshctl::http")
            && runs[1].stderr.contains("POST /api/datasources"),
        "{}",
        runs[1].stderr
    );
    assert!(
        runs[3].stderr.contains("PagerDuty POST /services"),
        "{}",
        runs[3].stderr
    );
    let mut secrets = env.g.amg.state.lock().unwrap().all_token_keys();
    assert!(!secrets.is_empty(), "tokens were minted");
    let keys = env.pd.snapshot().minted;
    assert!(!keys.is_empty(), "an integration key was made");
    secrets.extend(keys);
    secrets.push(REST_TOKEN.to_string());

    let mut written = vec![];
    for r in &runs {
        written.push((
            "run output".to_string(),
            format!("{}\n{}", r.stdout, r.stderr),
        ));
    }
    let mut dirs = vec![env.g.stack.path().to_path_buf()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else if let Ok(text) = std::fs::read_to_string(&p) {
                written.push((p.display().to_string(), text));
            }
        }
    }
    assert!(
        written.iter().any(|(p, _)| p.ends_with("ledger.json")),
        "the ledger was read"
    );
    for (where_, text) in &written {
        for s in &secrets {
            assert!(!text.contains(s.as_str()), "a secret appears in {where_}");
        }
    }
    env.no_live_tokens();
}

#[test]
fn pagerduty_test_sends_an_event_reports_its_dedup_key_and_resolves_it() {
    let env = PdEnv::new(
        "pd_test_event",
        "",
        "  integration_key_env: PD_ROUTING_KEY\n",
    );
    let key = "0123456789abcdef0123456789abcdef";
    env.pd.state.lock().unwrap().routing_keys.push(key.into());
    let mut cmd = env.g.stack.cmd();
    let out = cmd
        .env("PD_ROUTING_KEY", key)
        .args(["pagerduty", "test", "--output", "json"])
        .output()
        .unwrap();
    let run = Run::from(out);
    run.expect_code(0);
    let doc = run.json();
    let dedup = doc["dedup_key"].as_str().expect("a dedup key");
    let events = env.pd.snapshot().events;
    assert_eq!(events.len(), 2);
    assert_eq!(events[0]["event_action"], "trigger");
    assert_eq!(events[1]["event_action"], "resolve");
    assert_eq!(events[1]["dedup_key"], dedup);
    assert!(!run.stdout.contains(key) && !run.stderr.contains(key));
}

#[test]
fn pagerduty_test_with_an_unknown_routing_key_fails_with_help() {
    let env = PdEnv::new("pd_bad_key", "", "  integration_key_env: PD_ROUTING_KEY\n");
    let mut cmd = env.g.stack.cmd();
    let out = cmd
        .env("PD_ROUTING_KEY", "not-a-routing-key")
        .args(["pagerduty", "test", "--output", "json"])
        .output()
        .unwrap();
    let run = Run::from(out);
    run.expect_code(1);
    let doc = run.json();
    assert!(
        doc["message"].as_str().unwrap().contains("refused"),
        "{doc:#}"
    );
    assert!(
        doc["help"].as_str().unwrap().contains("integration_key"),
        "{doc:#}"
    );
    assert!(!run.stdout.contains("not-a-routing-key"));
}

#[test]
fn pagerduty_with_a_rejected_rest_token_fails_and_leaves_no_token_alive() {
    let env = PdEnv::new("pd_bad_token", "", "");
    env.g.amp();
    env.run(&["grafana", "--yes"]).expect_code(0);
    let run = env.run_with(&["pagerduty", "--yes"], "wrong-token");
    assert_ne!(run.code, Some(0));
    assert!(run.stdout.contains("HTTP 401"), "{}", run.stdout);
    assert!(env.pd.snapshot().unauthorized > 0);
    assert!(env.pd.snapshot().services.is_empty());
    env.no_live_tokens();
}

/// `pagerduty test` with the Events API on a host only the proxy can reach.
fn test_event_via(env: &PdEnv, extra: &[(&str, &str)]) -> Run {
    let key = "0123456789abcdef0123456789abcdef";
    env.pd.state.lock().unwrap().routing_keys.push(key.into());
    let mut cmd = env.g.stack.cmd();
    cmd.env("PD_ROUTING_KEY", key)
        .env_remove("HTTPS_PROXY")
        .env_remove("https_proxy")
        .env_remove("NO_PROXY")
        .env_remove("no_proxy");
    for (k, v) in extra {
        cmd.env(k, v);
    }
    Run::from(
        cmd.args(["pagerduty", "test", "--output", "json"])
            .output()
            .unwrap(),
    )
}

#[test]
fn pagerduty_calls_go_through_the_proxy_from_the_environment_unless_no_proxy_says_otherwise() {
    let yaml = "  integration_key_env: PD_ROUTING_KEY\n";
    let env = PdEnv::new("pd_proxy", "", yaml);
    // Only the proxy (the fake itself) can reach this host.
    let yaml_path = env.g.stack.path().join("meshctl.yaml");
    let text = std::fs::read_to_string(&yaml_path).unwrap().replace(
        &format!("events_url: \"{}\"", env.pd.url),
        "events_url: \"http://events.pagerduty.invalid\"",
    );
    std::fs::write(&yaml_path, text).unwrap();

    let run = test_event_via(&env, &[("HTTP_PROXY", &env.pd.url)]);
    run.expect_code(0);
    let events = env.pd.snapshot().events;
    assert_eq!(events.len(), 2);
    assert!(
        events
            .iter()
            .all(|e| e["proxied_for"] == "events.pagerduty.invalid"),
        "{events:#?}"
    );

    let run = test_event_via(
        &env,
        &[
            ("HTTP_PROXY", &env.pd.url),
            ("NO_PROXY", "events.pagerduty.invalid"),
        ],
    );
    run.expect_code(1);
    assert_eq!(
        env.pd.snapshot().events.len(),
        2,
        "NO_PROXY bypassed the proxy"
    );
}

#[test]
fn a_pem_ca_bundle_loads_and_one_without_certificates_is_a_config_error() {
    let ca =
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tls/test-ca.pem");
    let env = PdEnv::new(
        "pd_ca_bundle",
        "",
        &format!(
            "  integration_key_env: PD_ROUTING_KEY\n  ca_bundle: \"{}\"\n",
            ca.display()
        ),
    );
    test_event_via(&env, &[]).expect_code(0);

    let not_pem = env.g.stack.path().join("not-a-bundle.pem");
    std::fs::write(&not_pem, "this is not a certificate\n").unwrap();
    let run = test_event_via(&env, &[("SSL_CERT_FILE", not_pem.to_str().unwrap())]);
    run.expect_code(0); // the configured bundle wins over SSL_CERT_FILE
    let yaml_path = env.g.stack.path().join("meshctl.yaml");
    let text = std::fs::read_to_string(&yaml_path)
        .unwrap()
        .replace(&ca.display().to_string(), &not_pem.display().to_string());
    std::fs::write(&yaml_path, text).unwrap();
    let run = test_event_via(&env, &[]);
    run.expect_code(2);
    let doc = run.json();
    assert!(
        doc["message"]
            .as_str()
            .unwrap()
            .contains("no PEM certificates"),
        "{doc:#}"
    );
    assert!(doc["help"].as_str().unwrap().contains("PEM"), "{doc:#}");
}

#[test]
fn the_integration_key_comes_from_a_file_or_a_secrets_manager_secret() {
    let key = "fedcba9876543210fedcba9876543210";
    // From a file.
    let env = PdEnv::new("pd_key_file", "", "");
    let file = env.g.stack.path().join("pd.key");
    std::fs::write(&file, format!("{key}\n")).unwrap();
    let yaml_path = env.g.stack.path().join("meshctl.yaml");
    let with_file = std::fs::read_to_string(&yaml_path).unwrap().replace(
        "pagerduty:\n",
        &format!(
            "pagerduty:\n  integration_key_file: \"{}\"\n",
            file.display()
        ),
    );
    std::fs::write(&yaml_path, with_file).unwrap();
    env.pd.state.lock().unwrap().routing_keys.push(key.into());
    let run = test_event_via(&env, &[]);
    run.expect_code(0);
    assert!(!run.stdout.contains(key) && !run.stderr.contains(key));

    // From an AWS Secrets Manager secret (moto).
    let env = PdEnv::new("pd_key_secret", "", "");
    let arn = support::block_on(async {
        let sm = aws_sdk_secretsmanager::Client::new(&support::sdk_config().await);
        sm.create_secret()
            .name(support::unique("pd-key"))
            .secret_string(key)
            .send()
            .await
            .expect("CreateSecret on moto")
            .arn()
            .expect("an ARN")
            .to_string()
    });
    let yaml_path = env.g.stack.path().join("meshctl.yaml");
    let with_secret = std::fs::read_to_string(&yaml_path).unwrap().replace(
        "pagerduty:\n",
        &format!("pagerduty:\n  integration_key_secret_arn: \"{arn}\"\n"),
    );
    std::fs::write(&yaml_path, with_secret).unwrap();
    env.pd.state.lock().unwrap().routing_keys.push(key.into());
    let run = test_event_via(&env, &[]);
    run.expect_code(0);
    let events = env.pd.snapshot().events;
    assert_eq!(events[0]["routing_key"], key);
    assert!(!run.stdout.contains(key) && !run.stderr.contains(key));
    // No PagerDuty service is made when the key comes from config.
    assert!(env.pd.snapshot().services.is_empty());
}
