//! A fake Grafana HTTP API: bearer tokens checked against the tokens the AMG fake minted (and
//! not deleted or expired); data sources (409 on a duplicate name) with a health endpoint;
//! folders; dashboards by UID with version conflicts (412); alerting provisioning: contact
//! points, rule groups and the notification-policy tree with its provenance header.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use super::amg_fake::AmgState;
use super::http_fake::{Request, Response, serve};

#[derive(Default, Debug, Clone)]
pub struct GrafanaState {
    pub datasources: Vec<Value>,
    pub folders: BTreeMap<String, Value>,
    /// uid -> (model, version, folder uid)
    pub dashboards: BTreeMap<String, (Value, i64, String)>,
    pub contact_points: Vec<Value>,
    /// (folder uid, group title) -> group
    pub rule_groups: BTreeMap<(String, String), Value>,
    pub policies: Value,
    /// Provenance of the policy tree: `api` unless written with `X-Disable-Provenance`.
    pub policy_provenance: String,
    pub seq: i64,
    /// Requests refused for a bad token.
    pub unauthorized: u32,
    /// When set, someone else saves every dashboard right after it is read (a race).
    pub race_on_read: bool,
    /// When set, every data source's health check fails with this message (as Grafana does
    /// when the data source cannot query, e.g. AMP refusing the workspace role: HTTP 400,
    /// `status: ERROR`).
    pub health_error: Option<String>,
}

#[derive(Clone)]
pub struct GrafanaFake {
    pub url: String,
    pub state: Arc<Mutex<GrafanaState>>,
    /// While set, dashboard saves wait (to interrupt a run in the middle of provisioning).
    pub hold: Arc<AtomicBool>,
    /// Dashboard saves that have been held so far.
    pub held: Arc<AtomicUsize>,
}

impl GrafanaFake {
    pub fn start(amg: Arc<Mutex<AmgState>>) -> GrafanaFake {
        let state = Arc::new(Mutex::new(GrafanaState {
            policies: json!({"receiver": "default-email", "group_by": ["grafana_folder", "alertname"]}),
            ..Default::default()
        }));
        let s = state.clone();
        let hold = Arc::new(AtomicBool::new(false));
        let held = Arc::new(AtomicUsize::new(0));
        let (h, n) = (hold.clone(), held.clone());
        let url = serve(Arc::new(move |req: &Request| {
            if req.path() == ["api", "dashboards", "db"] && h.load(Ordering::SeqCst) {
                n.fetch_add(1, Ordering::SeqCst);
                while h.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
            let bearer = req
                .header("authorization")
                .and_then(|a| a.strip_prefix("Bearer "))
                .unwrap_or_default()
                .to_string();
            if amg.lock().unwrap().token_workspace(&bearer).is_none() {
                s.lock().unwrap().unauthorized += 1;
                return Response::json(401, json!({"message": "invalid API key"}));
            }
            handle(&mut s.lock().unwrap(), req)
        }));
        GrafanaFake {
            url,
            state,
            hold,
            held,
        }
    }

    pub fn snapshot(&self) -> GrafanaState {
        self.state.lock().unwrap().clone()
    }
}

fn msg(status: u16, message: &str) -> Response {
    Response::json(status, json!({"message": message}))
}

fn handle(st: &mut GrafanaState, req: &Request) -> Response {
    let m = req.method.as_str();
    let path = req.path();
    match (m, path.as_slice()) {
        // --- data sources
        ("POST", ["api", "datasources"]) => {
            let mut b = req.json();
            let name = b["name"].as_str().unwrap_or_default().to_string();
            if st.datasources.iter().any(|d| d["name"] == name.as_str()) {
                return msg(409, "data source with the same name already exists");
            }
            st.seq += 1;
            b["id"] = json!(st.seq);
            if b["uid"].as_str().is_none_or(str::is_empty) {
                b["uid"] = json!(format!("ds{}", st.seq));
            }
            b["readOnly"] = json!(false);
            st.datasources.push(b.clone());
            Response::json(
                200,
                json!({"datasource": b, "id": st.seq, "message": "Datasource added", "name": name}),
            )
        }
        ("GET", ["api", "datasources", "uid", uid]) => {
            match st.datasources.iter().find(|d| d["uid"] == *uid) {
                Some(d) => Response::json(200, d.clone()),
                None => msg(404, "Data source not found"),
            }
        }
        ("GET", ["api", "datasources", "uid", uid, "health"]) => {
            match st.datasources.iter().find(|d| d["uid"] == *uid) {
                Some(_) if st.health_error.is_some() => Response::json(
                    400,
                    json!({"status": "ERROR", "message": st.health_error.clone()}),
                ),
                Some(_) => Response::json(
                    200,
                    json!({"status": "OK", "message": "Successfully queried the Prometheus API."}),
                ),
                None => msg(404, "Data source not found"),
            }
        }
        ("PUT", ["api", "datasources", "uid", uid]) => {
            let b = req.json();
            let Some(d) = st.datasources.iter_mut().find(|d| d["uid"] == *uid) else {
                return msg(404, "Data source not found");
            };
            let id = d["id"].clone();
            *d = b;
            d["id"] = id;
            d["uid"] = json!(uid);
            Response::json(200, json!({"message": "Datasource updated"}))
        }
        ("DELETE", ["api", "datasources", "uid", uid]) => {
            let before = st.datasources.len();
            st.datasources.retain(|d| d["uid"] != *uid);
            if st.datasources.len() == before {
                msg(404, "Data source not found")
            } else {
                msg(200, "Data source deleted")
            }
        }
        // --- folders
        ("GET", ["api", "folders", uid]) => match st.folders.get(*uid) {
            Some(f) => Response::json(200, f.clone()),
            None => msg(404, "folder not found"),
        },
        ("POST", ["api", "folders"]) => {
            let b = req.json();
            let uid = b["uid"].as_str().unwrap_or_default().to_string();
            if st.folders.contains_key(&uid) {
                return msg(409, "a folder with the same uid already exists");
            }
            st.seq += 1;
            let f = json!({"id": st.seq, "uid": uid, "title": b["title"]});
            st.folders.insert(uid, f.clone());
            Response::json(200, f)
        }
        ("DELETE", ["api", "folders", uid]) => {
            if st.folders.remove(*uid).is_none() {
                return msg(404, "folder not found");
            }
            st.dashboards.retain(|_, (_, _, f)| f != uid);
            st.rule_groups.retain(|(f, _), _| f != uid);
            msg(200, "Folder deleted")
        }
        // --- dashboards
        ("POST", ["api", "dashboards", "db"]) => {
            let b = req.json();
            let mut model = b["dashboard"].clone();
            let uid = model["uid"].as_str().unwrap_or_default().to_string();
            let folder = b["folderUid"].as_str().unwrap_or_default().to_string();
            if !folder.is_empty() && !st.folders.contains_key(&folder) {
                return msg(400, "folder not found");
            }
            let overwrite = b["overwrite"].as_bool().unwrap_or(false);
            let version = match st.dashboards.get(&uid) {
                Some((_, v, _)) => {
                    if !overwrite && model["version"].as_i64() != Some(*v) {
                        return Response::json(
                            412,
                            json!({"status": "version-mismatch", "message": "The dashboard has been changed by someone else"}),
                        );
                    }
                    v + 1
                }
                None => 1,
            };
            st.seq += 1;
            model["id"] = json!(st.seq);
            model["version"] = json!(version);
            st.dashboards.insert(uid.clone(), (model, version, folder));
            Response::json(
                200,
                json!({"id": st.seq, "uid": uid, "url": format!("/d/{uid}"), "status": "success", "version": version}),
            )
        }
        ("GET", ["api", "dashboards", "uid", uid]) => {
            let race = st.race_on_read;
            match st.dashboards.get_mut(*uid) {
                Some((model, version, folder)) => {
                    let reply = json!({"dashboard": model.clone(), "meta": {"folderUid": folder, "url": format!("/d/{uid}")}});
                    if race {
                        *version += 1;
                        model["version"] = json!(*version);
                        model["title"] = json!("edited by someone else");
                    }
                    Response::json(200, reply)
                }
                None => msg(404, "Dashboard not found"),
            }
        }
        ("DELETE", ["api", "dashboards", "uid", uid]) => {
            if st.dashboards.remove(*uid).is_some() {
                msg(200, "Dashboard deleted")
            } else {
                msg(404, "Dashboard not found")
            }
        }
        // --- alerting provisioning
        ("GET", ["api", "v1", "provisioning", "contact-points"]) => {
            let list: Vec<Value> = st
                .contact_points
                .iter()
                .map(|c| {
                    let mut c = c.clone();
                    if c["settings"].get("integrationKey").is_some() {
                        c["settings"]["integrationKey"] = json!("[REDACTED]");
                    }
                    c
                })
                .collect();
            Response::json(200, Value::Array(list))
        }
        ("POST", ["api", "v1", "provisioning", "contact-points"]) => {
            let mut b = req.json();
            st.seq += 1;
            if b["uid"].as_str().is_none_or(str::is_empty) {
                b["uid"] = json!(format!("cp{}", st.seq));
            }
            if st.contact_points.iter().any(|c| c["uid"] == b["uid"]) {
                return msg(409, "contact point with this uid exists");
            }
            st.contact_points.push(b.clone());
            Response::json(202, b)
        }
        ("PUT", ["api", "v1", "provisioning", "contact-points", uid]) => {
            let b = req.json();
            match st.contact_points.iter_mut().find(|c| c["uid"] == *uid) {
                Some(c) => {
                    *c = b;
                    c["uid"] = json!(uid);
                    msg(202, "contactpoint updated")
                }
                None => msg(404, "contact point not found"),
            }
        }
        ("DELETE", ["api", "v1", "provisioning", "contact-points", uid]) => {
            st.contact_points.retain(|c| c["uid"] != *uid);
            Response::empty(202)
        }
        ("GET", ["api", "v1", "provisioning", "folder", f, "rule-groups", g]) => {
            match st.rule_groups.get(&(f.to_string(), g.to_string())) {
                Some(group) => Response::json(200, group.clone()),
                None => msg(404, "rule group does not exist"),
            }
        }
        ("PUT", ["api", "v1", "provisioning", "folder", f, "rule-groups", g]) => {
            if !st.folders.contains_key(*f) {
                return msg(404, "folder does not exist");
            }
            let b = req.json();
            st.rule_groups
                .insert((f.to_string(), g.to_string()), b.clone());
            Response::json(200, b)
        }
        ("DELETE", ["api", "v1", "provisioning", "folder", f, "rule-groups", g]) => {
            if st
                .rule_groups
                .remove(&(f.to_string(), g.to_string()))
                .is_some()
            {
                Response::empty(204)
            } else {
                msg(404, "rule group does not exist")
            }
        }
        ("GET", ["api", "v1", "provisioning", "policies"]) => {
            Response::json(200, st.policies.clone())
        }
        ("PUT", ["api", "v1", "provisioning", "policies"]) => {
            st.policies = req.json();
            st.policy_provenance = if req.header("x-disable-provenance").is_some() {
                String::new()
            } else {
                "api".into()
            };
            msg(202, "policies updated")
        }
        _ => msg(404, "not found"),
    }
}
