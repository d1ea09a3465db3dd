//! EKS Pod Identity associations and add-ons, which moto 5.2.5 does not serve: a real HTTP
//! server on 127.0.0.1 speaking the EKS REST-JSON protocol for the operations the `irsa` step
//! uses in `pod-identity` mode. It keeps state per cluster and answers as EKS documents:
//! `ResourceNotFoundException` (404) for an unknown cluster, add-on or association,
//! `ResourceInUseException` (409) for a second association of one service account or a
//! second add-on of one name, `InvalidParameterException` (400) for a missing field, and
//! `AccessDeniedException` (403) for an unsigned request. A new add-on is `CREATING` on the
//! first describe and `ACTIVE` after; a deleted one is `DELETING` once, then gone.
//! Point the binary at it with `AWS_ENDPOINT_URL_EKS`.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use super::http_fake::{Request, Response, serve};

#[derive(Debug, Clone)]
struct Addon {
    status: String,
    tags: Value,
    /// Describes left before the add-on changes state.
    describes_left: u32,
}

#[derive(Debug, Default)]
struct Cluster {
    addons: BTreeMap<String, Addon>,
    /// id → association document.
    associations: BTreeMap<String, Value>,
}

#[derive(Default)]
struct State {
    clusters: HashMap<String, Cluster>,
    seq: u64,
    /// `METHOD path` of every request that changed something.
    writes: Vec<String>,
}

pub struct EksPodIdentityFake {
    pub url: String,
    state: Arc<Mutex<State>>,
}

fn error(status: u16, kind: &str, message: &str) -> Response {
    Response::json(status, json!({"message": message})).header("x-amzn-errortype", kind)
}

impl EksPodIdentityFake {
    /// A fake knowing `clusters` in `region` and `account`.
    pub fn start(clusters: &[&str], region: &str, account: &str) -> EksPodIdentityFake {
        let mut st = State::default();
        for c in clusters {
            st.clusters.insert((*c).to_string(), Cluster::default());
        }
        let state = Arc::new(Mutex::new(st));
        let shared = state.clone();
        let (region, account) = (region.to_string(), account.to_string());
        let url = serve(Arc::new(move |req: &Request| {
            let mut st = shared.lock().unwrap_or_else(|p| p.into_inner());
            handle(&mut st, req, &region, &account)
        }));
        EksPodIdentityFake { url, state }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Install an add-on as someone else would (not tagged for any stack), already ACTIVE.
    pub fn install_addon(&self, cluster: &str, name: &str) {
        let mut st = self.lock();
        if let Some(c) = st.clusters.get_mut(cluster) {
            c.addons.insert(
                name.to_string(),
                Addon {
                    status: "ACTIVE".into(),
                    tags: json!({}),
                    describes_left: 0,
                },
            );
        }
    }

    pub fn has_addon(&self, cluster: &str, name: &str) -> bool {
        self.lock()
            .clusters
            .get(cluster)
            .is_some_and(|c| c.addons.contains_key(name))
    }

    /// `(namespace, service account, role ARN)` of every association on `cluster`.
    pub fn associations(&self, cluster: &str) -> Vec<(String, String, String)> {
        self.lock()
            .clusters
            .get(cluster)
            .map(|c| {
                c.associations
                    .values()
                    .map(|a| {
                        let f = |k: &str| a[k].as_str().unwrap_or_default().to_string();
                        (f("namespace"), f("serviceAccount"), f("roleArn"))
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Every changing request so far (`POST /clusters/x/addons`, …).
    pub fn writes(&self) -> Vec<String> {
        self.lock().writes.clone()
    }
}

fn handle(st: &mut State, req: &Request, region: &str, account: &str) -> Response {
    if !req
        .header("authorization")
        .is_some_and(|a| a.starts_with("AWS4-HMAC-SHA256 "))
    {
        return error(403, "AccessDeniedException", "the request is not signed");
    }
    let path = req.path();
    let Some(cluster_name) = (match path.as_slice() {
        ["clusters", name, ..] => Some(name.to_string()),
        _ => None,
    }) else {
        return error(404, "ResourceNotFoundException", "unknown path");
    };
    let method = req.method.clone();
    if method != "GET" {
        st.writes.push(format!("{method} /{}", path.join("/")));
    }
    st.seq += 1;
    let seq = st.seq;
    let Some(cluster) = st.clusters.get_mut(&cluster_name) else {
        return error(
            404,
            "ResourceNotFoundException",
            &format!("No cluster found for name: {cluster_name}."),
        );
    };
    let body = req.json();
    let addon_doc = |name: &str, a: &Addon| {
        json!({"addon": {
            "addonName": name,
            "clusterName": cluster_name,
            "status": a.status,
            "addonVersion": "v1.3.4-eksbuild.1",
            "addonArn": format!("arn:aws:eks:{region}:{account}:addon/{cluster_name}/{name}/fake"),
            "tags": a.tags,
            "createdAt": 1_767_225_600,
            "modifiedAt": 1_767_225_600,
        }})
    };
    match (method.as_str(), &path[2..]) {
        ("POST", ["addons"]) => {
            let Some(name) = body["addonName"].as_str() else {
                return error(400, "InvalidParameterException", "addonName is required");
            };
            if cluster.addons.contains_key(name) {
                return error(
                    409,
                    "ResourceInUseException",
                    &format!("Addon already exists: {name}"),
                );
            }
            let a = Addon {
                status: "CREATING".into(),
                tags: body.get("tags").cloned().unwrap_or(json!({})),
                describes_left: 1,
            };
            let doc = addon_doc(name, &a);
            cluster.addons.insert(name.to_string(), a);
            Response::json(200, doc)
        }
        ("GET", ["addons", name]) => match cluster.addons.get_mut(*name) {
            None => error(
                404,
                "ResourceNotFoundException",
                &format!("No addon: {name} found in cluster: {cluster_name}"),
            ),
            Some(a) => {
                let doc = addon_doc(name, a);
                if a.describes_left > 0 {
                    a.describes_left -= 1;
                } else if a.status == "CREATING" {
                    a.status = "ACTIVE".into();
                    return Response::json(200, addon_doc(name, a));
                } else if a.status == "DELETING" {
                    cluster.addons.remove(*name);
                    return error(
                        404,
                        "ResourceNotFoundException",
                        &format!("No addon: {name} found in cluster: {cluster_name}"),
                    );
                }
                Response::json(200, doc)
            }
        },
        ("DELETE", ["addons", name]) => match cluster.addons.get_mut(*name) {
            None => error(
                404,
                "ResourceNotFoundException",
                &format!("No addon: {name} found in cluster: {cluster_name}"),
            ),
            Some(a) => {
                a.status = "DELETING".into();
                a.describes_left = 0;
                Response::json(200, addon_doc(name, a))
            }
        },
        ("POST", ["pod-identity-associations"]) => {
            let f = |k: &str| body[k].as_str().map(str::to_string);
            let (Some(ns), Some(sa), Some(role)) =
                (f("namespace"), f("serviceAccount"), f("roleArn"))
            else {
                return error(
                    400,
                    "InvalidParameterException",
                    "namespace, serviceAccount and roleArn are required",
                );
            };
            if cluster
                .associations
                .values()
                .any(|a| a["namespace"] == ns.as_str() && a["serviceAccount"] == sa.as_str())
            {
                return error(
                    409,
                    "ResourceInUseException",
                    "Association already exists for this service account",
                );
            }
            let id = format!("a-{seq:017x}");
            let doc = json!({
                "clusterName": cluster_name,
                "namespace": ns,
                "serviceAccount": sa,
                "roleArn": role,
                "associationArn": format!("arn:aws:eks:{region}:{account}:podidentityassociation/{cluster_name}/{id}"),
                "associationId": id,
                "tags": body.get("tags").cloned().unwrap_or(json!({})),
                "createdAt": 1_767_225_600,
                "modifiedAt": 1_767_225_600,
            });
            cluster.associations.insert(id, doc.clone());
            Response::json(200, json!({"association": doc}))
        }
        ("GET", ["pod-identity-associations"]) => {
            let list: Vec<Value> = cluster
                .associations
                .values()
                .filter(|a| req.query("namespace").is_none_or(|n| a["namespace"] == n))
                .filter(|a| {
                    req.query("serviceAccount")
                        .is_none_or(|s| a["serviceAccount"] == s)
                })
                .map(|a| {
                    json!({
                        "clusterName": a["clusterName"],
                        "namespace": a["namespace"],
                        "serviceAccount": a["serviceAccount"],
                        "associationArn": a["associationArn"],
                        "associationId": a["associationId"],
                    })
                })
                .collect();
            Response::json(200, json!({"associations": list}))
        }
        ("GET", ["pod-identity-associations", id]) => match cluster.associations.get(*id) {
            Some(a) => Response::json(200, json!({"association": a})),
            None => error(
                404,
                "ResourceNotFoundException",
                &format!("No association found for id: {id}"),
            ),
        },
        ("POST", ["pod-identity-associations", id]) => match cluster.associations.get_mut(*id) {
            Some(a) => {
                if let Some(role) = body["roleArn"].as_str() {
                    a["roleArn"] = json!(role);
                }
                Response::json(200, json!({"association": a}))
            }
            None => error(
                404,
                "ResourceNotFoundException",
                &format!("No association found for id: {id}"),
            ),
        },
        ("DELETE", ["pod-identity-associations", id]) => match cluster.associations.remove(*id) {
            Some(a) => Response::json(200, json!({"association": a})),
            None => error(
                404,
                "ResourceNotFoundException",
                &format!("No association found for id: {id}"),
            ),
        },
        _ => error(404, "ResourceNotFoundException", "unknown operation"),
    }
}
