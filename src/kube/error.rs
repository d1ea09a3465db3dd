//! Errors of the Kubernetes adapter: what failed, on which object, and how to fix it.
//! Never built from a kube error's `Debug` text: API errors are described from their `Status`.

use miette::Diagnostic;
use thiserror::Error;

#[derive(Debug, Error, Diagnostic)]
pub enum KubeError {
    #[error("cannot use kubeconfig {path}: {message}")]
    #[diagnostic(
        code(meshctl::kube::kubeconfig),
        help(
            "point `kubernetes.kubeconfig` at a readable kubeconfig file and `kubernetes.context` at one of its contexts (`kubectl config get-contexts --kubeconfig <file>` lists them)"
        )
    )]
    Kubeconfig { path: String, message: String },

    #[error("cannot connect to the Kubernetes API server {endpoint}: {message}")]
    #[diagnostic(code(meshctl::kube::connect), help("{help}"))]
    Connect {
        endpoint: String,
        message: String,
        help: String,
    },

    #[error("cannot get a bearer token for cluster `{cluster}`: {message}")]
    #[diagnostic(
        code(meshctl::kube::token),
        help("check the AWS credentials in use (`aws sts get-caller-identity`) and the region")
    )]
    Token { cluster: String, message: String },

    #[error("invalid manifest `{source_name}`, document {index}: {message}")]
    #[diagnostic(
        code(meshctl::kube::manifest),
        help(
            "every YAML document needs apiVersion, kind and metadata.name (namespaced kinds may set metadata.namespace)"
        )
    )]
    Manifest {
        source_name: String,
        index: usize,
        message: String,
    },

    #[error("the API server does not serve {api_version} {kind} (needed for {object})")]
    #[diagnostic(
        code(meshctl::kube::unknown_kind),
        help(
            "install the CustomResourceDefinition that defines this kind first (or include it in the same manifest), or check the apiVersion against `kubectl api-resources`"
        )
    )]
    UnknownKind {
        api_version: String,
        kind: String,
        object: String,
    },

    #[error("{action} {object}: {message} (HTTP {code} {reason})")]
    #[diagnostic(code(meshctl::kube::api), help("{help}"))]
    Api {
        action: String,
        object: String,
        code: u16,
        reason: String,
        message: String,
        help: String,
    },

    #[error("{action} {object}: {message}")]
    #[diagnostic(
        code(meshctl::kube::transport),
        help(
            "check that the API server endpoint is reachable from here (VPN, security groups, endpoint public access) and try again"
        )
    )]
    Transport {
        action: String,
        object: String,
        message: String,
    },

    #[error("cannot port-forward to pod {pod}: {message}")]
    #[diagnostic(
        code(meshctl::kube::port_forward),
        help(
            "the API server must upgrade `pods/portforward` to a WebSocket: check that your identity may create pods/portforward in that namespace (RBAC) and that no proxy between you and the API server drops WebSocket upgrades"
        )
    )]
    PortForward { pod: String, message: String },

    #[error("timed out after {timeout} waiting for {what}: {why}")]
    #[diagnostic(
        code(meshctl::kube::timeout),
        help(
            "look at the object with `kubectl describe` and its events; raise --timeout if it is only slow"
        )
    )]
    Timeout {
        what: String,
        why: String,
        timeout: String,
    },
}

impl KubeError {
    /// Describe a kube client error for `action` on `object`, without its `Debug` text.
    pub fn from_kube(action: &str, object: &str, err: ::kube::Error) -> KubeError {
        match err {
            ::kube::Error::Api(status) => {
                let code = status.code;
                let reason = status.reason.clone();
                let message = if status.message.is_empty() {
                    "the API server gave no message".to_string()
                } else {
                    status.message.clone()
                };
                KubeError::Api {
                    action: action.to_string(),
                    object: object.to_string(),
                    code,
                    reason,
                    message,
                    help: help_for(code).to_string(),
                }
            }
            // The bearer layer's own failure (e.g. a token could not be minted) comes back as
            // a service error: keep it as it was raised, with its own help.
            ::kube::Error::Service(e) => match e.downcast::<KubeError>() {
                Ok(own) => *own,
                Err(e) => KubeError::Transport {
                    action: action.to_string(),
                    object: object.to_string(),
                    message: source_chain(e.as_ref()),
                },
            },
            ::kube::Error::HyperError(e) => KubeError::Transport {
                action: action.to_string(),
                object: object.to_string(),
                message: source_chain(&e),
            },
            other => KubeError::Transport {
                action: action.to_string(),
                object: object.to_string(),
                message: source_chain(&other),
            },
        }
    }

    /// The HTTP status of an API error, if this is one.
    pub fn status_code(&self) -> Option<u16> {
        match self {
            KubeError::Api { code, .. } => Some(*code),
            _ => None,
        }
    }
}

/// What to do about an API status code: who is refused, and how to fix it.
pub fn help_for(code: u16) -> &'static str {
    match code {
        401 => {
            "the API server did not accept meshctl's credentials: for EKS, check that the AWS identity in use is the one with an access entry and that the token is minted for this cluster name and region; for a kubeconfig, refresh its user's credentials (try `kubectl get --raw /version` with the same context)"
        }
        403 => {
            "the identity is authenticated but not allowed to do this: grant it RBAC permission for this resource (on EKS an access entry with AmazonEKSClusterAdminPolicy, or a ClusterRoleBinding), or if the namespace is terminating, wait until it is gone"
        }
        404 => {
            "the object, its namespace or its kind does not exist: create the namespace first, install the CRD that defines the kind, or check the name"
        }
        409 => {
            "another field manager owns these fields: apply again with force to take them over, or remove them from the other manager's configuration"
        }
        422 => {
            "the API server rejected the object as invalid: fix the field named in the message in the manifest"
        }
        429 | 500..=599 => "the API server is overloaded or failing: wait a moment and try again",
        _ => "see the API server's message above",
    }
}

/// An error's message followed by its sources', each once (Display only).
fn source_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut next = err.source();
    while let Some(e) = next {
        let s = e.to_string();
        if !out.contains(&s) {
            out.push_str(": ");
            out.push_str(&s);
        }
        next = e.source();
    }
    out
}
