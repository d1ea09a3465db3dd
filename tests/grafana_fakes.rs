//! The `grafana` step end to end: the real binary against moto (AMP) and the AMG and Grafana
//! fakes, checked by looking at the fakes' state.

use std::time::Duration;

use serde_json::Value;

use crate::support;
use support::amg_fake::AmgFake;
use support::grafana_fake::GrafanaFake;
use support::{Run, STACK_TAG, Stack, step_actions};

pub const SCRAPE: Duration = Duration::from_secs(30);

pub use crate::support::charts::dashboards as fixtures;

/// The AMG and Grafana fakes of one test, and a stack configured to use them.
pub struct Env {
    pub amg: AmgFake,
    pub grafana: GrafanaFake,
    pub stack: Stack,
}

impl Env {
    pub fn new(test: &str, extra_grafana_yaml: &str, extra_yaml: &str) -> Env {
        let amg = AmgFake::start(Duration::from_secs(2));
        let grafana = GrafanaFake::start(amg.state.clone());
        let stack = Stack::builder(test)
            .yaml(&format!(
                "grafana:\n  url: \"{}\"\n  dashboards_dir: \"{}\"\n  admin_users: [user-1]\n  admin_groups: [group-1]\n{extra_grafana_yaml}{extra_yaml}",
                grafana.url,
                fixtures().display()
            ))
            .build();
        Env {
            amg,
            grafana,
            stack,
        }
    }

    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![("AWS_ENDPOINT_URL_GRAFANA", self.amg.url.clone())]
    }

    pub fn run(&self, args: &[&str]) -> Run {
        let env = self.env();
        let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        self.stack.run_json_env(args, &pairs)
    }

    /// `meshctl amp --yes`, which `grafana` needs first.
    pub fn amp(&self) {
        self.run(&["amp", "--yes"]).expect_code(0);
    }
}

fn ops(actions: &[(String, String, String)]) -> Vec<(String, String)> {
    actions
        .iter()
        .map(|(o, k, _)| (o.clone(), k.clone()))
        .collect()
}

#[test]
fn grafana_provisions_workspace_datasource_folder_and_dashboards_then_reruns_without_change() {
    let env = Env::new("grafana_provisions", "", "");
    env.amp();
    let run = env.run(&["grafana", "--yes"]);
    run.expect_code(0);
    let report = run.json();
    let actions = step_actions(&report, "grafana");
    let created: Vec<_> = ops(&actions)
        .into_iter()
        .filter(|(o, _)| o == "create")
        .map(|(_, k)| k)
        .collect();
    assert_eq!(
        created,
        [
            "grafana-workspace",
            "grafana-datasource",
            "grafana-folder",
            "grafana-dashboard",
            "grafana-dashboard",
            "grafana-dashboard",
            "grafana-dashboard",
            "grafana-dashboard"
        ],
        "{report:#}"
    );

    // The workspace: tagged, the settings the issue asks for, newest version by default.
    let ws = env.amg.workspaces();
    assert_eq!(ws.len(), 1);
    let w = &ws[0];
    assert_eq!(w.tags.get(STACK_TAG), Some(&env.stack.name));
    assert_eq!(w.name, env.stack.name);
    assert_eq!(w.version, "12.4", "the newest ListVersions offers");
    assert_eq!(w.auth, ["AWS_SSO"]);
    assert_eq!(w.data_sources, ["PROMETHEUS"]);
    assert!(w.client_token.is_some());
    assert!(
        w.configuration
            .as_deref()
            .is_some_and(|c| c.contains("\"unifiedAlerting\":{\"enabled\":true}")),
        "{:?}",
        w.configuration
    );
    let mut perms = w.permissions.clone();
    perms.sort();
    assert_eq!(
        perms,
        [
            (
                "SSO_GROUP".to_string(),
                "group-1".to_string(),
                "ADMIN".to_string()
            ),
            (
                "SSO_USER".to_string(),
                "user-1".to_string(),
                "ADMIN".to_string()
            )
        ]
    );
    // The token lived only while the step ran.
    assert!(env.amg.state.lock().unwrap().live_tokens().is_empty());

    // Grafana: SigV4 Prometheus data source on AMP, folder, dashboards bound by UID.
    let g = env.grafana.snapshot();
    assert_eq!(g.datasources.len(), 1, "{:#?}", g.datasources);
    let ds = &g.datasources[0];
    assert_eq!(ds["type"], "prometheus");
    assert_eq!(ds["jsonData"]["sigV4Auth"], true);
    assert_eq!(ds["jsonData"]["sigV4Region"], support::REGION);
    assert_eq!(ds["jsonData"]["sigV4AuthType"], "ec2_iam_role");
    assert_eq!(ds["jsonData"]["httpMethod"], "POST");
    assert_eq!(ds["jsonData"]["timeInterval"], "30s");
    assert!(
        ds["url"].as_str().unwrap().contains("/workspaces/"),
        "{ds:#}"
    );
    assert_eq!(g.folders.len(), 1);
    assert_eq!(g.dashboards.len(), 5);
    let ds_uid = ds["uid"].as_str().unwrap();
    for (uid, (model, _, folder)) in &g.dashboards {
        assert!(uid.starts_with("meshctl-"), "{uid}");
        assert!(g.folders.contains_key(folder));
        let text = model.to_string();
        assert!(!text.contains("${DS_"), "unbound input in {uid}");
        assert!(text.contains(ds_uid));
        assert!(
            meshctl::grafana::dashboard::short_windows(model, SCRAPE).is_empty(),
            "short windows left in {uid}"
        );
        assert!(text.contains("$__rate_interval"));
    }
    let outputs = &report["steps"][0]["outputs"];
    assert!(
        outputs["dashboard_7639"]
            .as_str()
            .is_some_and(|u| u.starts_with(&env.grafana.url) && u.contains("/d/meshctl-")),
        "{outputs:#}"
    );

    // A second run changes nothing.
    let again = env.run(&["grafana", "--yes"]);
    again.expect_code(0);
    let doc = again.json();
    let changed: Vec<_> = step_actions(&doc, "grafana")
        .into_iter()
        .filter(|(o, _, _)| o != "keep")
        .collect();
    assert!(changed.is_empty(), "{doc:#}");
    let g2 = env.grafana.snapshot();
    assert_eq!(g2.datasources.len(), 1);
    assert_eq!(g2.dashboards.len(), 5);
    assert!(
        g2.dashboards.values().all(|(_, v, _)| *v == 1),
        "no dashboard was saved again"
    );
    assert_eq!(env.amg.workspaces().len(), 1);
    assert!(env.amg.state.lock().unwrap().live_tokens().is_empty());
}

#[test]
fn grafana_refuses_to_take_over_a_datasource_name_it_did_not_create() {
    let env = Env::new("grafana_ds_taken", "", "");
    env.amp();
    // Someone made a data source with meshctl's name before meshctl ran.
    env.grafana
        .state
        .lock()
        .unwrap()
        .datasources
        .push(serde_json::json!({
            "uid": "theirs", "name": format!("meshctl {} AMP", env.stack.name), "type": "prometheus"
        }));
    let run = env.run(&["grafana", "--yes"]);
    assert_ne!(run.code, Some(0), "{}", run.stdout);
    assert!(run.stdout.contains("already exists"), "{}", run.stdout);
    let g = env.grafana.snapshot();
    assert_eq!(g.datasources.len(), 1);
    assert_eq!(g.datasources[0]["uid"], "theirs");
    // Rolled back: the workspace this run created and the token are gone.
    assert!(env.amg.workspaces().is_empty(), "{}", run.stdout);
    assert!(env.amg.state.lock().unwrap().live_tokens().is_empty());
}

#[test]
fn dashboard_rewrite_matches_snapshot() {
    let raw: Value =
        serde_json::from_str(&std::fs::read_to_string(fixtures().join("7639.json")).unwrap())
            .unwrap();
    let out = meshctl::grafana::dashboard::Rewrite {
        stack: "demo",
        id: 7639,
        datasource_uid: "meshctl-ds",
        scrape_interval: SCRAPE,
    }
    .apply(raw);
    let snapshot = fixtures().join("snapshots/7639.rewritten.json");
    let text = format!("{}\n", serde_json::to_string_pretty(&out).unwrap());
    if std::env::var_os("MESHCTL_UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&snapshot, &text).unwrap();
    }
    let expected = std::fs::read_to_string(&snapshot)
        .expect("the snapshot exists (MESHCTL_UPDATE_SNAPSHOTS=1 writes it)");
    assert_eq!(
        text, expected,
        "the rewrite changed; review and update the snapshot"
    );
    assert!(meshctl::grafana::dashboard::short_windows(&out, SCRAPE).is_empty());
}

#[test]
fn status_shows_workspace_url_datasource_health_and_dashboard_urls() {
    let env = Env::new("grafana_status", "", "");
    env.amp();
    env.run(&["grafana", "--yes"]).expect_code(0);
    let run = env.run(&["status"]);
    run.expect_code(0);
    let doc = run.json();
    let g = doc["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["step"] == "grafana")
        .expect("grafana in status")
        .clone();
    assert_eq!(g["state"], "present", "{doc:#}");
    let d = &g["details"];
    assert!(
        d["workspace_url"].as_str().unwrap().starts_with("https://"),
        "{d:#}"
    );
    assert_eq!(d["datasource_health"], "OK", "{d:#}");
    assert!(
        d["dashboard_7645"]
            .as_str()
            .unwrap()
            .contains("/d/meshctl-"),
        "{d:#}"
    );
    // Status minted a token to ask about health, and deleted it again.
    assert!(env.amg.state.lock().unwrap().live_tokens().is_empty());
}

#[test]
fn ctrl_c_while_provisioning_deletes_the_service_account_token() {
    use std::sync::atomic::Ordering;
    let env = Env::new("grafana_ctrl_c", "", "");
    env.amp();
    env.grafana.hold.store(true, Ordering::SeqCst);
    let mut cmd = env.stack.std_command(&support::moto());
    for (k, v) in env.env() {
        cmd.env(k, v);
    }
    let child = cmd
        .args(["grafana", "--yes", "--output", "json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("meshctl starts");
    let started = std::time::Instant::now();
    while env.grafana.held.load(Ordering::SeqCst) == 0 {
        assert!(
            started.elapsed() < support::RUN_GUARD,
            "the run never reached the dashboards"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        env.amg.state.lock().unwrap().live_tokens().len(),
        1,
        "a token is alive while the step provisions"
    );
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    // Hang guard: a run that ignores Ctrl-C is let go after a while (and then fails below).
    let hold = env.grafana.hold.clone();
    std::thread::spawn(move || {
        std::thread::sleep(support::RUN_GUARD);
        hold.store(false, Ordering::SeqCst);
    });
    let out = child.wait_with_output().expect("meshctl ends");
    env.grafana.hold.store(false, Ordering::SeqCst);
    let run = Run::from(out);
    run.expect_code(130);
    assert!(
        env.amg.state.lock().unwrap().live_tokens().is_empty(),
        "the token was deleted on Ctrl-C\n{}",
        run.stderr
    );
}

#[test]
fn dashboards_are_downloaded_by_id_and_pinned_revision_from_dashboards_url() {
    use std::sync::{Arc, Mutex};
    use support::http_fake::{Request, Response, serve};
    let asked = Arc::new(Mutex::new(vec![]));
    let a = asked.clone();
    let site = serve(Arc::new(move |req: &Request| {
        a.lock().unwrap().push(req.segments.join("/"));
        match req.path().as_slice() {
            ["api", "dashboards", id, "revisions", _, "download"] => {
                match std::fs::read_to_string(fixtures().join(format!("{id}.json"))) {
                    Ok(text) => Response::json(200, serde_json::from_str(&text).unwrap()),
                    Err(_) => Response::empty(404),
                }
            }
            _ => Response::empty(404),
        }
    }));
    let env = Env::new(
        "grafana_download",
        &format!("  dashboards: [7639, 7645]\n  dashboards_url: \"{site}/api/dashboards\"\n"),
        "",
    );
    let yaml_path = env.stack.path().join("meshctl.yaml");
    let text = std::fs::read_to_string(&yaml_path).unwrap();
    let text: String = text
        .lines()
        .filter(|l| !l.contains("dashboards_dir"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&yaml_path, text).unwrap();
    env.amp();
    env.run(&["grafana", "--yes"]).expect_code(0);
    let asked = asked.lock().unwrap().clone();
    let rev = |id| meshctl::grafana::dashboard::pinned_revision(id);
    assert_eq!(
        asked,
        [
            format!("api/dashboards/7639/revisions/{}/download", rev(7639)),
            format!("api/dashboards/7645/revisions/{}/download", rev(7645)),
        ]
    );
    let g = env.grafana.snapshot();
    assert_eq!(g.dashboards.len(), 2);
    for (model, _, _) in g.dashboards.values() {
        assert!(meshctl::grafana::dashboard::short_windows(model, SCRAPE).is_empty());
    }
}

#[test]
fn a_dashboard_saved_by_someone_else_during_the_update_is_not_overwritten() {
    let env = Env::new("grafana_dash_race", "  dashboards: [7639]\n", "");
    env.amp();
    env.run(&["grafana", "--yes"]).expect_code(0);
    {
        let mut g = env.grafana.state.lock().unwrap();
        for (model, _, _) in g.dashboards.values_mut() {
            model["title"] = serde_json::json!("changed in the UI");
        }
        g.race_on_read = true;
    }
    let run = env.run(&["grafana", "--yes"]);
    run.expect_code(1);
    assert!(
        run.stdout
            .contains("was changed in Grafana while meshctl updated it"),
        "{}",
        run.stdout
    );
    let g = env.grafana.snapshot();
    let (model, version, _) = g.dashboards.values().next().unwrap();
    assert_eq!(
        model["title"], "edited by someone else",
        "their save was kept"
    );
    assert_eq!(*version, 2);
    assert!(env.amg.state.lock().unwrap().live_tokens().is_empty());
}

#[test]
fn an_owned_workspace_without_prometheus_permissions_gets_them_so_its_role_may_query_amp() {
    let env = Env::new("grafana_ds_perm", "", "");
    env.amp();
    env.run(&["grafana", "--yes"]).expect_code(0);
    // Someone removed Prometheus from the workspace's data sources.
    env.amg.state.lock().unwrap().workspaces[0]
        .data_sources
        .clear();
    let run = env.run(&["grafana", "--yes"]);
    run.expect_code(0);
    assert_eq!(env.amg.workspaces()[0].data_sources, ["PROMETHEUS"]);
    let changed: Vec<_> = step_actions(&run.json(), "grafana")
        .into_iter()
        .filter(|(op, kind, _)| op == "update" && kind == "grafana-workspace")
        .collect();
    assert_eq!(changed.len(), 1, "{}", run.stdout);
}
