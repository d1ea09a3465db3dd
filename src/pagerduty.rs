//! PagerDuty: the REST API (services and their Events API v2 integrations, with a REST API
//! token) and the Events API v2 (trigger and resolve), plus where the integration key comes
//! from: an environment variable, a file, or an AWS Secrets Manager secret, never the config.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::aws::Aws;
use crate::config::PagerdutyConfig;
use crate::error::Error;
use crate::http::{Secret, transport_error};

const SERVICE: &str = "PagerDuty";
/// What marks a PagerDuty service as created by meshctl for a stack (in its description).
pub fn service_mark(stack: &str) -> String {
    format!("Managed by meshctl for stack {stack}.")
}

/// The PagerDuty REST API with a REST API token.
pub struct Rest {
    base: String,
    token: Secret,
    http: reqwest::Client,
}

fn http_error(operation: &str, status: StatusCode, body: &Value) -> Error {
    let help = match status.as_u16() {
        401 => {
            "PagerDuty refused the REST API token: check the variable named by pagerduty.api_key_env"
        }
        403 => "the REST API token lacks this permission: use a token with write access",
        404 => {
            "PagerDuty does not have this: check pagerduty.escalation_policy_id and pagerduty.api_url"
        }
        429 => "PagerDuty is rate limiting: wait a minute and run again",
        _ => "run again with -v for details; steps are idempotent, so a re-run resumes",
    };
    let detail = body["error"]["message"]
        .as_str()
        .or_else(|| body["message"].as_str())
        .unwrap_or_default();
    Error::Http {
        service: SERVICE,
        operation: operation.to_string(),
        message: format!("HTTP {} {detail}", status.as_u16())
            .trim()
            .to_string(),
        help: help.into(),
    }
}

impl Rest {
    pub fn new(config: &PagerdutyConfig, token: Secret) -> Result<Rest, Error> {
        Ok(Rest {
            base: config.api_url.trim_end_matches('/').to_string(),
            token,
            http: crate::http::client(SERVICE, config.ca_bundle.as_deref())?,
        })
    }

    /// The REST API token from the variable `pagerduty.api_key_env` names.
    pub fn token(config: &PagerdutyConfig) -> Option<Secret> {
        std::env::var(&config.api_key_env)
            .ok()
            .filter(|v| !v.trim().is_empty())
            .map(|v| Secret::new(v.trim()))
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(StatusCode, Value), Error> {
        let operation = format!("{method} {path}");
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header(
                "Authorization",
                format!("Token token={}", self.token.expose()),
            )
            .header("Accept", "application/vnd.pagerduty+json;version=2");
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = crate::http::send(SERVICE, &operation, req).await?;
        let status = resp.status();
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| transport_error(SERVICE, &operation, &e))?;
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        if status.is_success() || status == StatusCode::NOT_FOUND {
            Ok((status, body))
        } else {
            Err(http_error(&operation, status, &body))
        }
    }

    /// The service named exactly `name`.
    pub async fn find_service(&self, name: &str) -> Result<Option<Value>, Error> {
        let query: String = url::form_urlencoded::byte_serialize(name.as_bytes()).collect();
        let (_, body) = self
            .call(
                Method::GET,
                &format!("/services?query={query}&limit=100"),
                None,
            )
            .await?;
        Ok(body["services"]
            .as_array()
            .and_then(|list| list.iter().find(|s| s["name"] == name).cloned()))
    }

    pub async fn create_service(
        &self,
        name: &str,
        escalation_policy: &str,
        description: &str,
    ) -> Result<Value, Error> {
        let body = json!({"service": {
            "type": "service",
            "name": name,
            "description": description,
            "escalation_policy": {"id": escalation_policy, "type": "escalation_policy_reference"},
            "alert_creation": "create_alerts_and_incidents",
        }});
        let (_, out) = self.call(Method::POST, "/services", Some(&body)).await?;
        Ok(out["service"].clone())
    }

    pub async fn delete_service(&self, id: &str) -> Result<bool, Error> {
        let (status, _) = self
            .call(Method::DELETE, &format!("/services/{id}"), None)
            .await?;
        Ok(status != StatusCode::NOT_FOUND)
    }

    /// The service's Events API v2 integration: its id and key.
    pub async fn events_integration(
        &self,
        service: &str,
    ) -> Result<Option<(String, Secret)>, Error> {
        let (_, body) = self
            .call(
                Method::GET,
                &format!("/services/{service}?include%5B%5D=integrations"),
                None,
            )
            .await?;
        let list = body["service"]["integrations"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for i in list {
            let Some(id) = i["id"].as_str() else { continue };
            let (_, full) = self
                .call(
                    Method::GET,
                    &format!("/services/{service}/integrations/{id}"),
                    None,
                )
                .await?;
            let integration = &full["integration"];
            if integration["type"] == "events_api_v2_inbound_integration"
                && let Some(key) = integration["integration_key"].as_str()
            {
                return Ok(Some((id.to_string(), Secret::new(key))));
            }
        }
        Ok(None)
    }

    pub async fn create_events_integration(
        &self,
        service: &str,
        name: &str,
    ) -> Result<(String, Secret), Error> {
        let body =
            json!({"integration": {"type": "events_api_v2_inbound_integration", "name": name}});
        let (_, out) = self
            .call(
                Method::POST,
                &format!("/services/{service}/integrations"),
                Some(&body),
            )
            .await?;
        let i = &out["integration"];
        match (i["id"].as_str(), i["integration_key"].as_str()) {
            (Some(id), Some(key)) => Ok((id.to_string(), Secret::new(key))),
            _ => Err(Error::Http {
                service: SERVICE,
                operation: "create integration".into(),
                message: "the response carried no integration key".into(),
                help: "run the command again; meshctl finds the integration it created".into(),
            }),
        }
    }
}

/// Read the integration key from the source the config names. `None` when none is set.
pub async fn configured_key(
    config: &PagerdutyConfig,
    aws: Option<&Aws>,
) -> Result<Option<Secret>, Error> {
    let missing = |what: String, help: &str| Error::config(what, help.to_string());
    if let Some(var) = &config.integration_key_env {
        return match std::env::var(var) {
            Ok(v) if !v.trim().is_empty() => Ok(Some(Secret::new(v.trim()))),
            _ => Err(missing(
                format!(
                    "the environment variable {var} (pagerduty.integration_key_env) is not set"
                ),
                "export the PagerDuty Events API v2 integration key in that variable",
            )),
        };
    }
    if let Some(path) = &config.integration_key_file {
        return match std::fs::read_to_string(path) {
            Ok(v) if !v.trim().is_empty() => Ok(Some(Secret::new(v.trim()))),
            Ok(_) => Err(missing(
                format!(
                    "{} (pagerduty.integration_key_file) is empty",
                    path.display()
                ),
                "write the Events API v2 integration key into that file",
            )),
            Err(e) => Err(missing(
                format!(
                    "cannot read {} (pagerduty.integration_key_file): {e}",
                    path.display()
                ),
                "check the path and its permissions",
            )),
        };
    }
    if let Some(arn) = &config.integration_key_secret_arn {
        let aws = aws.ok_or(Error::NoCredentials)?;
        let out = aws
            .secretsmanager()
            .get_secret_value()
            .secret_id(arn)
            .send()
            .await
            .map_err(|e| crate::aws::sdk_error("secretsmanager", "GetSecretValue", &e))?;
        return match out.secret_string() {
            Some(v) if !v.trim().is_empty() => Ok(Some(Secret::new(v.trim()))),
            _ => Err(missing(
                "the secret named by pagerduty.integration_key_secret_arn has no text value".into(),
                "store the integration key as the secret's plain-text value",
            )),
        };
    }
    Ok(None)
}

/// The Events API v2.
pub struct Events {
    base: String,
    http: reqwest::Client,
}

impl Events {
    pub fn new(config: &PagerdutyConfig) -> Result<Events, Error> {
        Ok(Events {
            base: config.events_url.trim_end_matches('/').to_string(),
            http: crate::http::client(SERVICE, config.ca_bundle.as_deref())?,
        })
    }

    /// Send one event; returns its dedup key.
    pub async fn enqueue(
        &self,
        key: &Secret,
        action: &str,
        dedup_key: Option<&str>,
        payload: Option<Value>,
    ) -> Result<String, Error> {
        let mut body = json!({"routing_key": key.expose(), "event_action": action});
        if let Some(d) = dedup_key {
            body["dedup_key"] = json!(d);
        }
        if let Some(p) = payload {
            body["payload"] = p;
        }
        let operation = format!("Events API {action}");
        let req = self
            .http
            .post(format!("{}/v2/enqueue", self.base))
            .json(&body);
        let resp = crate::http::send(SERVICE, &operation, req).await?;
        let status = resp.status();
        let out: Value = resp.json().await.unwrap_or(Value::Null);
        if status == StatusCode::BAD_REQUEST {
            return Err(Error::Http {
                service: SERVICE,
                operation,
                message: format!(
                    "the event was refused: {}",
                    out["message"].as_str().unwrap_or("invalid event")
                ),
                help: "the integration key is not a valid Events API v2 routing key: check the key's source (pagerduty.integration_key_*) and the service's integration".into(),
            });
        }
        if !status.is_success() {
            return Err(http_error(&operation, status, &out));
        }
        out["dedup_key"]
            .as_str()
            .map(str::to_string)
            .or_else(|| dedup_key.map(str::to_string))
            .ok_or_else(|| Error::Http {
                service: SERVICE,
                operation: "Events API".into(),
                message: "the answer carried no dedup key".into(),
                help: "check pagerduty.events_url".into(),
            })
    }
}
