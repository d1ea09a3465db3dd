//! `meshctl token`: the ExecCredential a kubeconfig `exec` entry runs, signed locally. The
//! Kubernetes API fake authenticates it the way the EKS authenticator does (tests/support/
//! eks_auth.rs, an independent SigV4 check): a token for this cluster is accepted, one signed
//! for another cluster name gets 401.

use std::collections::HashMap;
use std::sync::Arc;

use meshctl::kube::{Kube, KubeError, TokenSource};
use serde_json::Value;

use crate::support::eks_auth::EksAuth;
use crate::support::kube_fake::{self, KubeFake, Options};

const CLUSTER: &str = "prod-mesh";
const REGION: &str = "us-east-1";

/// `meshctl token <args>` with test credentials and nothing else from the environment.
fn token(args: &[&str]) -> std::process::Output {
    let home = tempfile::tempdir().expect("a temporary HOME");
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_meshctl"));
    for (key, _) in std::env::vars_os() {
        let k = key.to_string_lossy();
        if k.starts_with("AWS_") || k.starts_with("MESHCTL_") {
            cmd.env_remove(&key);
        }
    }
    cmd.arg("token")
        .args(args)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        // Any AWS call would fail here: minting a token makes none.
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("HOME", home.path())
        .output()
        .expect("meshctl runs")
}

fn exec_credential(cluster: &str) -> Value {
    let out = token(&["--cluster", cluster, "--region", REGION]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("stdout is one JSON document")
}

/// A token source that hands out one fixed token, as kubectl does with what `exec` printed.
struct Printed(String);

impl TokenSource for Printed {
    fn token(&self) -> Result<String, KubeError> {
        Ok(self.0.clone())
    }
}

async fn fake() -> KubeFake {
    KubeFake::start(Options {
        auth: kube_fake::Auth {
            eks: Some(EksAuth {
                cluster: CLUSTER.into(),
                region: REGION.into(),
                keys: HashMap::from([("testing".to_string(), "testing".to_string())]),
            }),
            ..Default::default()
        },
        ..Options::default()
    })
    .await
}

#[test]
fn token_prints_a_client_go_exec_credential_with_its_expiry() {
    let doc = exec_credential(CLUSTER);
    assert_eq!(doc["apiVersion"], "client.authentication.k8s.io/v1beta1");
    assert_eq!(doc["kind"], "ExecCredential");
    let token = doc["status"]["token"].as_str().unwrap_or_default();
    assert!(token.starts_with("k8s-aws-v1."), "{doc:#}");
    let expiry = doc["status"]["expirationTimestamp"]
        .as_str()
        .unwrap_or_default();
    let expiry = chrono::DateTime::parse_from_rfc3339(expiry).expect("an RFC 3339 expiry");
    assert!(expiry > chrono::Utc::now(), "{doc:#}");
}

#[tokio::test]
async fn the_api_server_accepts_a_token_for_its_cluster_and_refuses_another_clusters_with_401() {
    let fake = fake().await;
    let ours = exec_credential(CLUSTER)["status"]["token"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let kube = Kube::from_eks("demo", &fake.url, None, Arc::new(Printed(ours))).expect("client");
    assert!(kube.server_version().await.is_ok(), "this cluster's token");

    let theirs = exec_credential("staging-mesh")["status"]["token"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let kube = Kube::from_eks("demo", &fake.url, None, Arc::new(Printed(theirs))).expect("client");
    let err = kube
        .server_version()
        .await
        .expect_err("another cluster's token");
    assert_eq!(err.status_code(), Some(401));
}

#[test]
fn token_without_a_region_exits_2_saying_to_pass_one() {
    let out = token(&["--cluster", CLUSTER]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no region"), "{stderr}");
    assert!(stderr.contains("--region"), "{stderr}");
    assert!(out.stdout.is_empty(), "no credential is printed");
}
