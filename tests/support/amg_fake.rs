//! A fake Amazon Managed Grafana control plane: the REST-JSON API the SDK speaks (paths and
//! field names as in the aws-sdk-grafana serializers), SigV4 `Authorization` required, state
//! kept in memory, workspaces CREATING until a delay the test sets has passed, then ACTIVE;
//! 404 `ResourceNotFoundException` and 409 `ConflictException` as the service answers.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use super::http_fake::{Request, Response, serve};

#[derive(Debug, Clone)]
pub struct Token {
    pub id: String,
    pub name: String,
    pub key: String,
    pub expires: SystemTime,
    pub deleted: bool,
}

#[derive(Debug, Clone)]
pub struct ServiceAccount {
    pub id: String,
    pub name: String,
    pub role: String,
    pub tokens: Vec<Token>,
}

#[derive(Debug, Clone)]
pub struct Workspace {
    pub id: String,
    pub name: String,
    pub version: String,
    pub tags: BTreeMap<String, String>,
    pub created: Instant,
    pub ready_after: Duration,
    pub client_token: Option<String>,
    pub auth: Vec<String>,
    pub data_sources: Vec<String>,
    pub configuration: Option<String>,
    pub permissions: Vec<(String, String, String)>,
    pub service_accounts: Vec<ServiceAccount>,
}

impl Workspace {
    fn status(&self) -> &'static str {
        if self.created.elapsed() >= self.ready_after {
            "ACTIVE"
        } else {
            "CREATING"
        }
    }

    fn describe(&self) -> Value {
        let now = epoch();
        json!({
            "id": self.id,
            "name": self.name,
            "status": self.status(),
            "endpoint": format!("{}.grafana-workspace.us-east-1.amazonaws.com", self.id),
            "grafanaVersion": self.version,
            "created": now,
            "modified": now,
            "dataSources": self.data_sources,
            "accountAccessType": "CURRENT_ACCOUNT",
            "permissionType": "SERVICE_MANAGED",
            "authentication": {"providers": self.auth},
            "notificationDestinations": [],
            "tags": self.tags,
        })
    }
}

#[derive(Default)]
pub struct AmgState {
    pub workspaces: Vec<Workspace>,
    pub ready_after: Duration,
    pub seq: u64,
    /// Every request's operation (`METHOD /path`), in order.
    pub calls: Vec<String>,
    /// Every token key ever minted, also of deleted workspaces.
    pub minted: Vec<String>,
    /// How long a deleted workspace stays DELETING (DescribeWorkspace answers it, the list no
    /// longer shows it); zero (the default): gone at once. Set by the latency emulator.
    pub delete_after: Duration,
    /// Workspaces being deleted, with when their deletion started.
    pub deleting: Vec<(Workspace, Instant)>,
}

impl AmgState {
    fn next(&mut self, prefix: &str) -> String {
        self.seq += 1;
        format!("{prefix}{:08x}", self.seq * 7919)
    }

    /// Whether `key` is a live (not deleted, not expired) token, and of which workspace.
    pub fn token_workspace(&self, key: &str) -> Option<String> {
        self.workspaces.iter().find_map(|w| {
            w.service_accounts
                .iter()
                .flat_map(|s| &s.tokens)
                .any(|t| t.key == key && !t.deleted && t.expires > SystemTime::now())
                .then(|| w.id.clone())
        })
    }

    /// Tokens that are neither deleted nor expired, in any workspace.
    pub fn live_tokens(&self) -> Vec<Token> {
        self.workspaces
            .iter()
            .flat_map(|w| &w.service_accounts)
            .flat_map(|s| &s.tokens)
            .filter(|t| !t.deleted && t.expires > SystemTime::now())
            .cloned()
            .collect()
    }

    /// Every token key ever minted (to prove none leaked into output).
    pub fn all_token_keys(&self) -> Vec<String> {
        self.minted.clone()
    }
}

fn epoch() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as f64)
        .unwrap_or(0.0)
}

fn error(status: u16, kind: &str, message: &str) -> Response {
    Response::json(status, json!({"message": message})).header("x-amzn-errortype", kind)
}

fn not_found(what: &str) -> Response {
    error(
        404,
        "ResourceNotFoundException",
        &format!("{what} not found"),
    )
}

/// The running fake.
#[derive(Clone)]
pub struct AmgFake {
    pub url: String,
    pub state: Arc<Mutex<AmgState>>,
}

impl AmgFake {
    /// Start the fake; new workspaces turn ACTIVE `ready_after` after creation.
    pub fn start(ready_after: Duration) -> AmgFake {
        let state = Arc::new(Mutex::new(AmgState {
            ready_after,
            ..Default::default()
        }));
        let s = state.clone();
        let url = serve(Arc::new(move |req: &Request| {
            let mut st = s.lock().unwrap();
            st.calls
                .push(format!("{} /{}", req.method, req.segments.join("/")));
            handle(&mut st, req)
        }));
        AmgFake { url, state }
    }

    /// A workspace someone else made: no stack tag, already ACTIVE.
    pub fn add_workspace(&self, name: &str, version: &str) -> String {
        let mut st = self.state.lock().unwrap();
        let id = st.next("g-");
        st.workspaces.push(Workspace {
            id: id.clone(),
            name: name.into(),
            version: version.into(),
            tags: BTreeMap::new(),
            created: Instant::now() - Duration::from_secs(3600),
            ready_after: Duration::ZERO,
            client_token: None,
            auth: vec!["AWS_SSO".into()],
            data_sources: vec!["PROMETHEUS".into()],
            configuration: None,
            permissions: vec![],
            service_accounts: vec![],
        });
        id
    }

    pub fn workspaces(&self) -> Vec<Workspace> {
        self.state.lock().unwrap().workspaces.clone()
    }
}

fn handle(st: &mut AmgState, req: &Request) -> Response {
    let auth = req.header("authorization").unwrap_or_default();
    if !(auth.starts_with("AWS4-HMAC-SHA256 ") && auth.contains("/grafana/aws4_request")) {
        return error(
            403,
            "AccessDeniedException",
            "missing or invalid SigV4 signature",
        );
    }
    let path = req.path();
    let m = req.method.as_str();
    match (m, path.as_slice()) {
        ("GET", ["versions"]) => {
            Response::json(200, json!({"grafanaVersions": ["9.4", "10.4", "12.4"]}))
        }
        ("GET", ["workspaces"]) => {
            let list: Vec<Value> = st.workspaces.iter().map(|w| w.describe()).collect();
            Response::json(200, json!({"workspaces": list}))
        }
        ("POST", ["workspaces"]) => {
            let b = req.json();
            let token = b["clientToken"].as_str().map(str::to_string);
            if let Some(t) = &token
                && let Some(w) = st
                    .workspaces
                    .iter()
                    .find(|w| w.client_token.as_ref() == Some(t))
            {
                return Response::json(202, json!({"workspace": w.describe()}));
            }
            let id = st.next("g-");
            let strings = |v: &Value| -> Vec<String> {
                v.as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|x| x.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default()
            };
            let ws = Workspace {
                id,
                name: b["workspaceName"].as_str().unwrap_or_default().into(),
                version: b["grafanaVersion"].as_str().unwrap_or("9.4").into(),
                tags: serde_json::from_value(b["tags"].clone()).unwrap_or_default(),
                created: Instant::now(),
                ready_after: st.ready_after,
                client_token: token,
                auth: strings(&b["authenticationProviders"]),
                data_sources: strings(&b["workspaceDataSources"]),
                configuration: b["configuration"].as_str().map(str::to_string),
                permissions: vec![],
                service_accounts: vec![],
            };
            let d = ws.describe();
            st.workspaces.push(ws);
            Response::json(202, json!({"workspace": d}))
        }
        (_, ["workspaces", id, rest @ ..]) => {
            let Some(i) = st.workspaces.iter().position(|w| w.id == *id) else {
                let delete_after = st.delete_after;
                st.deleting.retain(|(_, t)| t.elapsed() < delete_after);
                if let ("GET", []) = (m, rest)
                    && let Some((w, _)) = st.deleting.iter().find(|(w, _)| w.id == *id)
                {
                    let mut d = w.describe();
                    d["status"] = json!("DELETING");
                    return Response::json(200, json!({"workspace": d}));
                }
                return not_found("workspace");
            };
            workspace_op(st, i, m, rest, req)
        }
        ("GET", ["tags", arn]) => {
            match st
                .workspaces
                .iter()
                .find(|w| arn.ends_with(&format!("/workspaces/{}", w.id)))
            {
                Some(w) => Response::json(200, json!({"tags": w.tags})),
                None => not_found("resource"),
            }
        }
        _ => error(400, "ValidationException", "unknown operation"),
    }
}

fn workspace_op(st: &mut AmgState, i: usize, m: &str, rest: &[&str], req: &Request) -> Response {
    let active = st.workspaces[i].status() == "ACTIVE";
    match (m, rest) {
        ("GET", []) => Response::json(200, json!({"workspace": st.workspaces[i].describe()})),
        ("PUT", []) => {
            let b = req.json();
            if let Some(list) = b["workspaceDataSources"].as_array() {
                st.workspaces[i].data_sources = list
                    .iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect();
            }
            Response::json(202, json!({"workspace": st.workspaces[i].describe()}))
        }
        ("DELETE", []) => {
            let w = st.workspaces.remove(i);
            let mut d = w.describe();
            d["status"] = json!("DELETING");
            if !st.delete_after.is_zero() {
                st.deleting.push((w, Instant::now()));
            }
            Response::json(202, json!({"workspace": d}))
        }
        ("GET", ["permissions"]) => {
            let list: Vec<Value> = st.workspaces[i]
                .permissions
                .iter()
                .map(|(t, id, role)| json!({"user": {"type": t, "id": id}, "role": role}))
                .collect();
            Response::json(200, json!({"permissions": list}))
        }
        ("PATCH", ["permissions"]) => {
            let b = req.json();
            for ins in b["updateInstructionBatch"]
                .as_array()
                .cloned()
                .unwrap_or_default()
            {
                let role = ins["role"].as_str().unwrap_or_default().to_string();
                for u in ins["users"].as_array().cloned().unwrap_or_default() {
                    let entry = (
                        u["type"].as_str().unwrap_or_default().to_string(),
                        u["id"].as_str().unwrap_or_default().to_string(),
                        role.clone(),
                    );
                    let perms = &mut st.workspaces[i].permissions;
                    match ins["action"].as_str() {
                        Some("ADD") => {
                            perms.retain(|p| !(p.0 == entry.0 && p.1 == entry.1));
                            perms.push(entry);
                        }
                        _ => perms.retain(|p| !(p.0 == entry.0 && p.1 == entry.1)),
                    }
                }
            }
            Response::json(200, json!({"errors": []}))
        }
        (_, ["serviceaccounts", ..]) if !active => {
            error(409, "ConflictException", "workspace is not ACTIVE")
        }
        ("GET", ["serviceaccounts"]) => {
            let list: Vec<Value> = st.workspaces[i]
                .service_accounts
                .iter()
                .map(|s| json!({"id": s.id, "name": s.name, "grafanaRole": s.role, "isDisabled": "false"}))
                .collect();
            Response::json(
                200,
                json!({"serviceAccounts": list, "workspaceId": st.workspaces[i].id}),
            )
        }
        ("POST", ["serviceaccounts"]) => {
            let b = req.json();
            let name = b["name"].as_str().unwrap_or_default().to_string();
            if st.workspaces[i]
                .service_accounts
                .iter()
                .any(|s| s.name == name)
            {
                return error(409, "ConflictException", "service account name taken");
            }
            let id = st.next("");
            let role = b["grafanaRole"].as_str().unwrap_or("VIEWER").to_string();
            st.workspaces[i].service_accounts.push(ServiceAccount {
                id: id.clone(),
                name: name.clone(),
                role: role.clone(),
                tokens: vec![],
            });
            Response::json(
                200,
                json!({"id": id, "name": name, "grafanaRole": role, "workspaceId": st.workspaces[i].id}),
            )
        }
        (_, ["serviceaccounts", sa, rest @ ..]) => {
            let ws_id = st.workspaces[i].id.clone();
            let Some(j) = st.workspaces[i]
                .service_accounts
                .iter()
                .position(|s| s.id == *sa)
            else {
                return not_found("service account");
            };
            match (m, rest) {
                ("PUT", []) => {
                    let b = req.json();
                    if let Some(list) = b["workspaceDataSources"].as_array() {
                        st.workspaces[i].data_sources = list
                            .iter()
                            .filter_map(|x| x.as_str().map(str::to_string))
                            .collect();
                    }
                    Response::json(202, json!({"workspace": st.workspaces[i].describe()}))
                }
                ("DELETE", []) => {
                    st.workspaces[i].service_accounts.remove(j);
                    Response::json(200, json!({"serviceAccountId": sa, "workspaceId": ws_id}))
                }
                ("POST", ["tokens"]) => {
                    let b = req.json();
                    let ttl = b["secondsToLive"].as_u64().unwrap_or(0);
                    if ttl == 0 || ttl > 30 * 86400 {
                        return error(400, "ValidationException", "secondsToLive out of range");
                    }
                    let id = st.next("");
                    let key = format!("glsa_{}", st.next("SECRETtoken"));
                    let name = b["name"].as_str().unwrap_or_default().to_string();
                    st.minted.push(key.clone());
                    st.workspaces[i].service_accounts[j].tokens.push(Token {
                        id: id.clone(),
                        name: name.clone(),
                        key: key.clone(),
                        expires: SystemTime::now() + Duration::from_secs(ttl),
                        deleted: false,
                    });
                    Response::json(
                        200,
                        json!({
                            "serviceAccountId": sa, "workspaceId": ws_id,
                            "serviceAccountToken": {"id": id, "name": name, "key": key}
                        }),
                    )
                }
                ("GET", ["tokens"]) => {
                    let list: Vec<Value> = st.workspaces[i].service_accounts[j]
                        .tokens
                        .iter()
                        .filter(|t| !t.deleted)
                        .map(|t| json!({"id": t.id, "name": t.name, "createdAt": epoch(), "expiresAt": epoch() + 60.0}))
                        .collect();
                    Response::json(
                        200,
                        json!({"serviceAccountId": sa, "workspaceId": ws_id, "serviceAccountTokens": list}),
                    )
                }
                ("DELETE", ["tokens", tok]) => {
                    match st.workspaces[i].service_accounts[j]
                        .tokens
                        .iter_mut()
                        .find(|t| t.id == *tok && !t.deleted)
                    {
                        Some(t) => {
                            t.deleted = true;
                            Response::json(
                                200,
                                json!({"serviceAccountId": sa, "workspaceId": ws_id, "tokenId": tok}),
                            )
                        }
                        None => not_found("token"),
                    }
                }
                _ => error(400, "ValidationException", "unknown operation"),
            }
        }
        _ => error(400, "ValidationException", "unknown operation"),
    }
}
