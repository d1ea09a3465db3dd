//! The Grafana HTTP API, as far as meshctl uses it: data sources, folders, dashboards and the
//! alerting provisioning API. Authenticated with a short-lived service-account token that
//! lives in memory only.

pub mod dashboard;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::error::Error;
use crate::http::{Secret, transport_error};

const SERVICE: &str = "Grafana";

/// A Grafana instance reached with a bearer token.
#[derive(Clone)]
pub struct GrafanaApi {
    base: String,
    token: Secret,
    http: reqwest::Client,
}

/// What came back from one call: the status and the JSON body (`Null` when empty).
pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
}

impl GrafanaApi {
    pub fn new(base: &str, token: Secret, http: reqwest::Client) -> GrafanaApi {
        GrafanaApi {
            base: base.trim_end_matches('/').to_string(),
            token,
            http,
        }
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// One call; any status comes back, transport failures are errors.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Result<Reply, Error> {
        let operation = format!("{method} {path}");
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(self.token.expose());
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = crate::http::send(SERVICE, &operation, req).await?;
        let status = resp.status();
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| transport_error(SERVICE, &operation, &e))?;
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or(Value::Null)
        };
        Ok(Reply { status, body })
    }

    /// A call that must succeed (2xx); 404 is `None` when `allow_404`.
    async fn ok(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
        allow_404: bool,
    ) -> Result<Option<Value>, Error> {
        let operation = format!("{method} {path}");
        let reply = self.call(method, path, body, headers).await?;
        if reply.status == StatusCode::NOT_FOUND && allow_404 {
            return Ok(None);
        }
        if reply.status.is_success() {
            return Ok(Some(reply.body));
        }
        Err(status_error(&operation, &reply))
    }

    pub async fn get(&self, path: &str) -> Result<Option<Value>, Error> {
        self.ok(Method::GET, path, None, &[], true).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Result<Value, Error> {
        Ok(self
            .ok(Method::POST, path, Some(body), &[], false)
            .await?
            .unwrap_or(Value::Null))
    }

    pub async fn put(
        &self,
        path: &str,
        body: &Value,
        headers: &[(&str, &str)],
    ) -> Result<Value, Error> {
        Ok(self
            .ok(Method::PUT, path, Some(body), headers, false)
            .await?
            .unwrap_or(Value::Null))
    }

    /// Delete; `false` when it was already gone.
    pub async fn delete(&self, path: &str) -> Result<bool, Error> {
        Ok(self
            .ok(Method::DELETE, path, None, &[], true)
            .await?
            .is_some())
    }

    // --- data sources -------------------------------------------------------------------

    pub async fn datasource(&self, uid: &str) -> Result<Option<Value>, Error> {
        self.get(&format!("/api/datasources/uid/{uid}")).await
    }

    pub async fn create_datasource(&self, ds: &Value) -> Result<(), Error> {
        let reply = self
            .call(Method::POST, "/api/datasources", Some(ds), &[])
            .await?;
        if reply.status == StatusCode::CONFLICT {
            return Err(Error::Http {
                service: SERVICE,
                operation: "create data source".into(),
                message: format!(
                    "a data source named `{}` already exists and was not made by meshctl",
                    ds["name"].as_str().unwrap_or_default()
                ),
                help: "rename or remove that data source in Grafana; meshctl never takes over what it did not create".into(),
            });
        }
        if !reply.status.is_success() {
            return Err(status_error("POST /api/datasources", &reply));
        }
        Ok(())
    }

    pub async fn update_datasource(&self, uid: &str, ds: &Value) -> Result<(), Error> {
        self.put(&format!("/api/datasources/uid/{uid}"), ds, &[])
            .await?;
        Ok(())
    }

    /// The data source's health check: `Ok(message)` when it can query, `Err(message)` when not.
    pub async fn datasource_health(&self, uid: &str) -> Result<Result<String, String>, Error> {
        let reply = self
            .call(
                Method::GET,
                &format!("/api/datasources/uid/{uid}/health"),
                None,
                &[],
            )
            .await?;
        let message = reply.body["message"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if reply.status.is_success() && reply.body["status"] == "OK" {
            Ok(Ok(message))
        } else if reply.status.is_success() || reply.status == StatusCode::BAD_REQUEST {
            Ok(Err(message))
        } else {
            Err(status_error("data source health", &reply))
        }
    }

    // --- folders and dashboards ----------------------------------------------------------

    pub async fn folder(&self, uid: &str) -> Result<Option<Value>, Error> {
        self.get(&format!("/api/folders/{uid}")).await
    }

    pub async fn create_folder(&self, uid: &str, title: &str) -> Result<(), Error> {
        self.post("/api/folders", &json!({"uid": uid, "title": title}))
            .await?;
        Ok(())
    }

    /// The dashboard model and its version.
    pub async fn dashboard(&self, uid: &str) -> Result<Option<Value>, Error> {
        self.get(&format!("/api/dashboards/uid/{uid}")).await
    }

    /// Save a dashboard. With `version` set, Grafana refuses (412) if someone saved another
    /// version meanwhile, instead of silently overwriting their change.
    pub async fn save_dashboard(
        &self,
        mut model: Value,
        folder_uid: &str,
        version: Option<i64>,
    ) -> Result<Value, Error> {
        model["id"] = Value::Null;
        if let Some(v) = version {
            model["version"] = json!(v);
        }
        let body = json!({
            "dashboard": model,
            "folderUid": folder_uid,
            "overwrite": false,
            "message": "meshctl",
        });
        let reply = self
            .call(Method::POST, "/api/dashboards/db", Some(&body), &[])
            .await?;
        if reply.status == StatusCode::PRECONDITION_FAILED {
            return Err(Error::Http {
                service: SERVICE,
                operation: "save dashboard".into(),
                message: format!(
                    "dashboard `{}` was changed in Grafana while meshctl updated it ({})",
                    model["uid"].as_str().unwrap_or_default(),
                    reply.body["status"].as_str().unwrap_or("version-mismatch")
                ),
                help: "run the command again: meshctl reads the newest version and replaces it"
                    .into(),
            });
        }
        if !reply.status.is_success() {
            return Err(status_error("POST /api/dashboards/db", &reply));
        }
        Ok(reply.body)
    }

    // --- alerting provisioning -----------------------------------------------------------

    pub async fn contact_points(&self) -> Result<Vec<Value>, Error> {
        Ok(self
            .get("/api/v1/provisioning/contact-points")
            .await?
            .and_then(|v| v.as_array().cloned())
            .unwrap_or_default())
    }

    pub async fn policy_tree(&self) -> Result<Value, Error> {
        Ok(self
            .get("/api/v1/provisioning/policies")
            .await?
            .unwrap_or(Value::Null))
    }

    pub async fn put_policy_tree(&self, tree: &Value) -> Result<(), Error> {
        // Provenance `api` would lock the whole tree against edits in the UI.
        self.put(
            "/api/v1/provisioning/policies",
            tree,
            &[("X-Disable-Provenance", "true")],
        )
        .await?;
        Ok(())
    }
}

/// An unexpected HTTP status as an error, with a hint for the common ones.
pub fn status_error(operation: &str, reply: &Reply) -> Error {
    let help = match reply.status.as_u16() {
        401 => {
            "Grafana refused the token: it may have expired during a long run; run the command again"
        }
        403 => "the service account lacks this permission: meshctl's account needs the Admin role",
        404 => "Grafana does not have this: check `grafana.url` and the workspace",
        409 | 412 => "someone changed this in Grafana meanwhile: run the command again",
        429 => "Grafana is rate limiting: wait a minute and run again",
        _ => "run again with -v for details; steps are idempotent, so a re-run resumes",
    };
    let detail = reply.body["message"].as_str().unwrap_or_default();
    Error::Http {
        service: SERVICE,
        operation: operation.to_string(),
        message: if detail.is_empty() {
            format!("HTTP {}", reply.status.as_u16())
        } else {
            format!("HTTP {}: {detail}", reply.status.as_u16())
        },
        help: help.into(),
    }
}
