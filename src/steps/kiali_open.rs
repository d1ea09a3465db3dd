//! `meshctl kiali open`: forward a local port to Kiali through the API server (the
//! `pods/portforward` subresource over a WebSocket, with kube-rs; no kubectl), print the URL and
//! keep forwarding until Ctrl-C.

use std::fmt;

use k8s_openapi::api::core::v1::{Pod, Service};
use kube::api::{Api, ListParams};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::error::Error;
use crate::kube::{Kube, KubeError};
use crate::ui::Ui;

/// What `kiali open` prints once forwarding works.
#[derive(Debug, Clone, Serialize)]
pub struct OpenReport {
    /// Always `"kiali-open"`.
    pub kind: &'static str,
    pub url: String,
    pub namespace: String,
    pub pod: String,
    pub pod_port: u16,
}

impl fmt::Display for OpenReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "Kiali: {} (forwarding to pod {}/{} port {}; Ctrl-C stops)",
            self.url, self.namespace, self.pod, self.pod_port
        )
    }
}

/// The Service's label selector as a list selector (`a=b,c=d`), `None` without one.
pub fn service_selector(svc: &Service) -> Option<String> {
    let sel = svc.spec.as_ref()?.selector.as_ref()?;
    if sel.is_empty() {
        return None;
    }
    Some(
        sel.iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(","),
    )
}

fn is_ready(pod: &Pod) -> bool {
    if pod.metadata.deletion_timestamp.is_some() {
        return false;
    }
    let Some(status) = &pod.status else {
        return false;
    };
    status.phase.as_deref() == Some("Running")
        && status
            .conditions
            .iter()
            .flatten()
            .any(|c| c.type_ == "Ready" && c.status == "True")
}

/// The pod to forward to: the first ready pod by name (stable across runs).
pub fn pick_pod(pods: &[Pod]) -> Option<&Pod> {
    let mut ready: Vec<&Pod> = pods.iter().filter(|p| is_ready(p)).collect();
    ready.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    ready.into_iter().next()
}

/// The pod port behind the Service port `service_port`: a numeric `targetPort`, a named one
/// resolved in the pod's containers, or the Service port itself.
pub fn target_port(svc: &Service, pod: &Pod, service_port: u16) -> Option<u16> {
    use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
    let ports = svc.spec.as_ref()?.ports.as_ref()?;
    let port = ports
        .iter()
        .find(|p| p.port == i32::from(service_port))
        .or_else(|| ports.first())?;
    match &port.target_port {
        None => u16::try_from(port.port).ok(),
        Some(IntOrString::Int(n)) => u16::try_from(*n).ok(),
        Some(IntOrString::String(name)) => pod
            .spec
            .as_ref()?
            .containers
            .iter()
            .flat_map(|c| c.ports.iter().flatten())
            .find(|p| p.name.as_deref() == Some(name.as_str()))
            .and_then(|p| u16::try_from(p.container_port).ok()),
    }
}

/// Find Kiali's Service and a ready pod behind it.
pub async fn find_pod(kube: &Kube, ns: &str) -> Result<(Pod, u16), Error> {
    let services: Api<Service> = Api::namespaced(kube.client().clone(), ns);
    let what = format!("Service {ns}/{}", super::kiali::KIALI_NAME);
    let svc = services
        .get_opt(super::kiali::KIALI_NAME)
        .await
        .map_err(|e| KubeError::from_kube("read", &what, e))?
        .ok_or_else(|| {
            Error::usage(
                format!("Kiali is not installed: there is no {what}"),
                "run `meshctl kiali` first (and check `kiali.namespace`)",
            )
        })?;
    let selector = service_selector(&svc).ok_or_else(|| {
        Error::usage(
            format!("{what} has no pod selector"),
            "reinstall Kiali with `meshctl kiali`",
        )
    })?;
    let pods: Api<Pod> = Api::namespaced(kube.client().clone(), ns);
    let list = pods
        .list(&ListParams::default().labels(&selector))
        .await
        .map_err(|e| KubeError::from_kube("list", &format!("pods in {ns} ({selector})"), e))?;
    let pod = pick_pod(&list.items).cloned().ok_or_else(|| {
        Error::usage(
            format!(
                "no ready Kiali pod behind {what} ({} pod(s) match {selector})",
                list.items.len()
            ),
            "wait until `meshctl status` shows kiali present, or run `meshctl kiali` again",
        )
    })?;
    let port =
        target_port(&svc, &pod, super::kiali::KIALI_PORT).unwrap_or(super::kiali::KIALI_PORT);
    Ok((pod, port))
}

/// Forward `127.0.0.1:<local>` to Kiali until `cancel` fires.
pub async fn open(
    kube: &Kube,
    ns: &str,
    local: u16,
    ui: &Ui,
    cancel: &CancellationToken,
) -> Result<(), Error> {
    let (pod, port) = find_pod(kube, ns).await?;
    let name = pod.metadata.name.clone().unwrap_or_default();
    let pods: Api<Pod> = Api::namespaced(kube.client().clone(), ns);
    let failed = |e: kube::Error| KubeError::PortForward {
        pod: format!("{ns}/{name}"),
        message: e.to_string(),
    };
    // One forward up front: a server that cannot forward fails here, before a URL is printed.
    let first = pods.portforward(&name, &[port]).await.map_err(failed)?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", local))
        .await
        .map_err(|e| {
            Error::usage(
                format!("cannot listen on 127.0.0.1:{local}: {e}"),
                "pick a free port with --port",
            )
        })?;
    let local = listener.local_addr().map(|a| a.port()).unwrap_or(local);
    ui.emit(&OpenReport {
        kind: "kiali-open",
        url: format!("http://127.0.0.1:{local}/kiali"),
        namespace: ns.to_string(),
        pod: name.clone(),
        pod_port: port,
    });
    let mut spare = Some(first);
    loop {
        let (mut conn, _) = tokio::select! {
            _ = cancel.cancelled() => return Ok(()),
            accepted = listener.accept() => accepted?,
        };
        let forwarder = match spare.take() {
            Some(f) => f,
            None => match pods.portforward(&name, &[port]).await {
                Ok(f) => f,
                Err(e) => {
                    ui.warn(format!("port-forward to pod {ns}/{name} failed: {e}"));
                    continue;
                }
            },
        };
        tokio::spawn(async move {
            let mut forwarder = forwarder;
            if let Some(mut upstream) = forwarder.take_stream(port) {
                let _ = tokio::io::copy_bidirectional(&mut conn, &mut upstream).await;
            }
            drop(forwarder);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(name: &str, phase: &str, ready: bool) -> Pod {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": name},
            "spec": {"containers": [{"name": "kiali", "ports": [{"name": "api-port", "containerPort": 20001}]}]},
            "status": {"phase": phase, "conditions": [{"type": "Ready", "status": if ready {"True"} else {"False"}}]}
        }))
        .unwrap()
    }

    #[test]
    fn picks_the_first_ready_running_pod_by_name() {
        let pods = [
            pod("kiali-c", "Running", true),
            pod("kiali-a", "Pending", false),
            pod("kiali-b", "Running", true),
            pod("kiali-0", "Running", false),
        ];
        assert_eq!(
            pick_pod(&pods).unwrap().metadata.name.as_deref(),
            Some("kiali-b")
        );
        assert!(pick_pod(&pods[1..2]).is_none());
    }

    #[test]
    fn resolves_named_and_numeric_target_ports() {
        let svc = |target: serde_json::Value| -> Service {
            serde_json::from_value(serde_json::json!({
                "metadata": {"name": "kiali"},
                "spec": {"selector": {"app.kubernetes.io/name": "kiali"},
                         "ports": [{"name": "http", "port": 20001, "targetPort": target}]}
            }))
            .unwrap()
        };
        let p = pod("kiali-1", "Running", true);
        assert_eq!(
            target_port(&svc(serde_json::json!("api-port")), &p, 20001),
            Some(20001)
        );
        assert_eq!(
            target_port(&svc(serde_json::json!(9090)), &p, 20001),
            Some(9090)
        );
        assert_eq!(
            target_port(&svc(serde_json::json!("nope")), &p, 20001),
            None
        );
        assert_eq!(
            service_selector(&svc(serde_json::json!(1))).as_deref(),
            Some("app.kubernetes.io/name=kiali")
        );
    }
}
