//! A fake PagerDuty: the REST API (`Authorization: Token token=<token>`, 401 on a bad one)
//! for services and their integrations, and the Events API v2 (`/v2/enqueue`: 202 with a
//! dedup key, 400 for an unknown routing key).

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use super::http_fake::{Request, Response, serve};

#[derive(Default, Debug, Clone)]
pub struct PdState {
    pub token: String,
    pub services: Vec<Value>,
    /// (service id, integration with its key)
    pub integrations: Vec<(String, Value)>,
    /// Extra routing keys the Events API accepts (keys made outside the REST API).
    pub routing_keys: Vec<String>,
    /// Every accepted event.
    pub events: Vec<Value>,
    pub seq: u64,
    pub unauthorized: u32,
    /// Every integration key ever made, also of deleted services.
    pub minted: Vec<String>,
}

impl PdState {
    fn next(&mut self, prefix: &str) -> String {
        self.seq += 1;
        format!("{prefix}{:06X}", self.seq * 104729)
    }

    pub fn integration_keys(&self) -> Vec<String> {
        self.integrations
            .iter()
            .filter_map(|(_, i)| i["integration_key"].as_str().map(str::to_string))
            .collect()
    }
}

#[derive(Clone)]
pub struct PagerdutyFake {
    pub url: String,
    pub state: Arc<Mutex<PdState>>,
}

impl PagerdutyFake {
    /// Start the fake; `token` is the one REST API token it accepts.
    pub fn start(token: &str) -> PagerdutyFake {
        let state = Arc::new(Mutex::new(PdState {
            token: token.into(),
            ..Default::default()
        }));
        let s = state.clone();
        let url = serve(Arc::new(move |req: &Request| {
            handle(&mut s.lock().unwrap(), req)
        }));
        PagerdutyFake { url, state }
    }

    pub fn snapshot(&self) -> PdState {
        self.state.lock().unwrap().clone()
    }
}

fn handle(st: &mut PdState, req: &Request) -> Response {
    let path = req.path();
    if path.as_slice() == ["v2", "enqueue"] && req.method == "POST" {
        let b = req.json();
        let key = b["routing_key"].as_str().unwrap_or_default().to_string();
        let known = st.routing_keys.contains(&key) || st.integration_keys().contains(&key);
        let action_ok = matches!(
            b["event_action"].as_str(),
            Some("trigger" | "acknowledge" | "resolve")
        );
        if !known || key.len() != 32 || !action_ok {
            return Response::json(
                400,
                json!({
                    "status": "invalid event",
                    "message": "Event object is invalid",
                    "errors": ["Length of 'routing_key' is incorrect (should be 32 characters)"]
                }),
            );
        }
        let dedup = match b["dedup_key"].as_str() {
            Some(d) => d.to_string(),
            None => st.next("dedup-"),
        };
        let mut b = b;
        if let Some(host) = &req.proxied_for {
            b["proxied_for"] = json!(host);
        }
        st.events.push(b);
        return Response::json(
            202,
            json!({"status": "success", "message": "Event processed", "dedup_key": dedup}),
        );
    }
    let expected = format!("Token token={}", st.token);
    if req.header("authorization") != Some(expected.as_str()) {
        st.unauthorized += 1;
        return Response::json(
            401,
            json!({"error": {"message": "Unauthorized", "code": 2006}}),
        );
    }
    match (req.method.as_str(), path.as_slice()) {
        ("GET", ["services"]) => {
            let q = req.query("query").unwrap_or_default().to_lowercase();
            let list: Vec<Value> = st
                .services
                .iter()
                .filter(|s| {
                    s["name"]
                        .as_str()
                        .unwrap_or_default()
                        .to_lowercase()
                        .contains(&q)
                })
                .cloned()
                .collect();
            Response::json(
                200,
                json!({"services": list, "limit": 100, "offset": 0, "more": false}),
            )
        }
        ("POST", ["services"]) => {
            let b = req.json();
            let svc = &b["service"];
            let ep = svc["escalation_policy"]["id"].as_str().unwrap_or_default();
            if ep.is_empty() {
                return Response::json(
                    400,
                    json!({"error": {"message": "Invalid Input Provided", "errors": ["Escalation policy is required"]}}),
                );
            }
            let name = svc["name"].as_str().unwrap_or_default();
            if st.services.iter().any(|s| s["name"] == name) {
                return Response::json(
                    400,
                    json!({"error": {"message": "Invalid Input Provided", "errors": ["Name has already been taken"]}}),
                );
            }
            let id = st.next("P");
            let s = json!({"id": id, "type": "service", "name": name, "description": svc["description"],
                           "escalation_policy": {"id": ep, "type": "escalation_policy_reference"}, "integrations": []});
            st.services.push(s.clone());
            Response::json(201, json!({"service": s}))
        }
        ("GET", ["services", id]) => match st.services.iter().find(|s| s["id"] == *id) {
            Some(s) => {
                let mut s = s.clone();
                let list: Vec<Value> = st
                    .integrations
                    .iter()
                    .filter(|(sid, _)| sid == id)
                    .map(|(_, i)| json!({"id": i["id"], "type": "events_api_v2_inbound_integration_reference"}))
                    .collect();
                s["integrations"] = Value::Array(list);
                Response::json(200, json!({"service": s}))
            }
            None => Response::json(
                404,
                json!({"error": {"message": "Not Found", "code": 2100}}),
            ),
        },
        ("DELETE", ["services", id]) => {
            let before = st.services.len();
            st.services.retain(|s| s["id"] != *id);
            st.integrations.retain(|(sid, _)| sid != id);
            if st.services.len() == before {
                Response::json(
                    404,
                    json!({"error": {"message": "Not Found", "code": 2100}}),
                )
            } else {
                Response::empty(204)
            }
        }
        ("POST", ["services", id, "integrations"]) => {
            if !st.services.iter().any(|s| s["id"] == *id) {
                return Response::json(
                    404,
                    json!({"error": {"message": "Not Found", "code": 2100}}),
                );
            }
            let b = req.json();
            let iid = st.next("PI");
            let key = format!("{:0>32}", st.next("pdkeySECRET"));
            st.minted.push(key.clone());
            let i = json!({"id": iid, "type": b["integration"]["type"], "name": b["integration"]["name"], "integration_key": key});
            st.integrations.push((id.to_string(), i.clone()));
            Response::json(201, json!({"integration": i}))
        }
        ("GET", ["services", id, "integrations", iid]) => {
            match st
                .integrations
                .iter()
                .find(|(sid, i)| sid == id && i["id"] == *iid)
            {
                Some((_, i)) => Response::json(200, json!({"integration": i})),
                None => Response::json(
                    404,
                    json!({"error": {"message": "Not Found", "code": 2100}}),
                ),
            }
        }
        _ => Response::json(
            404,
            json!({"error": {"message": "Not Found", "code": 2100}}),
        ),
    }
}
