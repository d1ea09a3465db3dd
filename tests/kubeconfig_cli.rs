//! `meshctl kubeconfig`: merges a cluster, user and context into a kubeconfig without touching
//! other entries, from the stack state (no AWS call) or DescribeCluster (moto); the file parses
//! with kube-rs, is private to its owner, a re-run changes nothing, and the `exec` user really
//! authenticates against the API server fake (which checks EKS tokens as the authenticator
//! does).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use base64::Engine;
use kube::config::{KubeConfigOptions, Kubeconfig};
use serde_json::Value;

use crate::support::eks_auth::EksAuth;
use crate::support::kube_fake::{self, KubeFake, Options};
use crate::support::{REGION, Run, Stack, sdk_config};

const EXISTING: &str = "apiVersion: v1\nkind: Config\n\
clusters:\n- name: other\n  cluster: {server: \"https://other.example\", insecure-skip-tls-verify: true}\n\
users:\n- name: bob\n  user: {token: bobs-token}\n\
contexts:\n- name: bob@other\n  context: {cluster: other, user: bob, namespace: shop}\n\
current-context: bob@other\n";

fn ca_base64() -> String {
    let pem =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tls/test-ca.pem"))
            .expect("the test CA");
    base64::engine::general_purpose::STANDARD.encode(pem)
}

/// `meshctl kubeconfig <args> --output json` with every AWS call sent to `endpoint`.
fn kubeconfig(stack: &Stack, endpoint: &str, args: &[&str]) -> Run {
    let out = stack
        .std_command(endpoint)
        .arg("kubeconfig")
        .args(args)
        .args(["--output", "json"])
        .output()
        .expect("meshctl runs");
    Run::from(out)
}

fn path_in(stack: &Stack) -> PathBuf {
    stack.path().join("kube").join("config")
}

#[test]
fn merges_into_an_existing_file_keeping_other_entries_and_a_rerun_changes_nothing() {
    let stack = Stack::new("kubeconfig_merge");
    let endpoint = "https://ABCDEF.gr7.us-east-1.eks.amazonaws.com";
    stack.seed_applied(
        "cluster",
        &[
            ("cluster_name", &stack.name),
            (
                "cluster_arn",
                &format!("arn:aws:eks:{REGION}:123456789012:cluster/{}", stack.name),
            ),
            ("endpoint", endpoint),
            ("certificate_authority", &ca_base64()),
        ],
    );
    let path = path_in(&stack);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, EXISTING).unwrap();
    let p = path.display().to_string();

    // Everything comes from the state: an AWS call would fail (closed port).
    let run = kubeconfig(
        &stack,
        "http://127.0.0.1:9",
        &["--kubeconfig", &p, "--context", "mesh"],
    );
    run.expect_code(0);
    assert_eq!(run.json()["result"], "updated", "{}", run.stdout);

    let kc = Kubeconfig::read_from(&path).expect("kube-rs reads the file");
    let names = |v: Vec<String>| v;
    assert_eq!(
        names(kc.clusters.iter().map(|c| c.name.clone()).collect()),
        [
            "other".to_string(),
            format!("arn:aws:eks:{REGION}:123456789012:cluster/{}", stack.name)
        ]
    );
    assert_eq!(kc.auth_infos[0].name, "bob");
    let bob = kc.auth_infos[0].auth_info.as_ref().expect("bob's user");
    assert!(bob.token.is_some(), "bob's token is kept");
    assert_eq!(kc.contexts[0].name, "bob@other");
    assert_eq!(
        kc.contexts[0]
            .context
            .as_ref()
            .and_then(|c| c.namespace.clone()),
        Some("shop".into())
    );
    assert_eq!(kc.current_context.as_deref(), Some("mesh"));
    let ours = kc.auth_infos[1].auth_info.as_ref().expect("our user");
    let exec = ours.exec.as_ref().expect("an exec entry");
    assert_eq!(
        exec.api_version.as_deref(),
        Some("client.authentication.k8s.io/v1beta1")
    );
    assert_eq!(exec.command.as_deref(), Some("meshctl"));
    assert_eq!(
        exec.args.clone().unwrap_or_default(),
        [
            "token",
            "--cluster",
            stack.name.as_str(),
            "--region",
            REGION
        ]
    );
    let cluster = kc.clusters[1].cluster.as_ref().expect("our cluster");
    assert_eq!(cluster.server.as_deref(), Some(endpoint));
    assert_eq!(cluster.certificate_authority_data, Some(ca_base64()));

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "mode {mode:o}");
    }

    let before = std::fs::read(&path).unwrap();
    let again = kubeconfig(
        &stack,
        "http://127.0.0.1:9",
        &["--kubeconfig", &p, "--context", "mesh"],
    );
    again.expect_code(0);
    assert_eq!(again.json()["result"], "unchanged", "{}", again.stdout);
    assert_eq!(
        std::fs::read(&path).unwrap(),
        before,
        "the file is not rewritten"
    );
}

#[test]
fn dry_run_prints_the_merged_document_and_writes_nothing() {
    let stack = Stack::new("kubeconfig_dry");
    stack.seed_applied(
        "cluster",
        &[
            ("cluster_name", &stack.name),
            ("endpoint", "https://dry.example"),
            ("certificate_authority", &ca_base64()),
        ],
    );
    let path = path_in(&stack);
    let out = stack
        .std_command("http://127.0.0.1:9")
        .args(["kubeconfig", "--dry-run", "--kubeconfig"])
        .arg(&path)
        .output()
        .expect("meshctl runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).expect("YAML on stdout");
    assert_eq!(
        doc["clusters"][0]["cluster"]["server"],
        serde_yaml_ng::Value::from("https://dry.example")
    );
    assert!(!path.exists(), "nothing written");
}

#[test]
fn without_state_the_endpoint_comes_from_describe_cluster() {
    let stack = Stack::new("kubeconfig_describe");
    let created = crate::support::block_on(async {
        let eks = aws_sdk_eks::Client::new(&sdk_config().await);
        eks.create_cluster()
            .name(&stack.name)
            .role_arn("arn:aws:iam::123456789012:role/eks-cluster")
            .resources_vpc_config(
                aws_sdk_eks::types::VpcConfigRequest::builder()
                    .subnet_ids("subnet-11111111")
                    .subnet_ids("subnet-22222222")
                    .build(),
            )
            .send()
            .await
            .expect("create a cluster in moto")
            .cluster()
            .cloned()
            .expect("a cluster")
    });
    let path = path_in(&stack);
    let p = path.display().to_string();
    let run = kubeconfig(&stack, &crate::support::moto(), &["--kubeconfig", &p]);
    run.expect_code(0);
    let kc = Kubeconfig::read_from(&path).expect("kube-rs reads the file");
    let cluster = kc.clusters[0].cluster.as_ref().expect("the cluster");
    assert_eq!(cluster.server.as_deref(), created.endpoint());
    assert_eq!(
        cluster.certificate_authority_data.as_deref(),
        created.certificate_authority().and_then(|c| c.data())
    );
    assert_eq!(Some(kc.clusters[0].name.as_str()), created.arn());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_exec_user_authenticates_against_the_api_server() {
    let stack = Stack::new("kubeconfig_exec");
    let fake = KubeFake::start(Options {
        auth: kube_fake::Auth {
            eks: Some(EksAuth {
                cluster: stack.name.clone(),
                region: REGION.into(),
                keys: HashMap::from([("testing".to_string(), "testing".to_string())]),
            }),
            ..Default::default()
        },
        ..Options::default()
    })
    .await;
    stack.seed_applied(
        "cluster",
        &[
            ("cluster_name", &stack.name),
            ("endpoint", &fake.url),
            ("certificate_authority", &ca_base64()),
        ],
    );
    let path = path_in(&stack);
    let p = path.display().to_string();
    let out = kubeconfig(&stack, "http://127.0.0.1:9", &["--kubeconfig", &p]);
    out.expect_code(0);

    let mut kc = Kubeconfig::read_from(&path).expect("kube-rs reads the file");
    // kubectl would find `meshctl` on PATH; the test points at the binary under test and
    // gives it the test credentials (signing is local: no AWS call).
    let exec = kc.auth_infos[0]
        .auth_info
        .as_mut()
        .and_then(|a| a.exec.as_mut())
        .expect("an exec entry");
    exec.command = Some(env!("CARGO_BIN_EXE_meshctl").to_string());
    exec.env = Some(
        [
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
        ]
        .into_iter()
        .map(|(k, v)| {
            HashMap::from([
                ("name".to_string(), k.to_string()),
                ("value".to_string(), v.to_string()),
            ])
        })
        .collect(),
    );
    let config = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .expect("a client config from the kubeconfig");
    let client = kube::Client::try_from(config).expect("a client");
    let version = client
        .apiserver_version()
        .await
        .expect("the token is accepted");
    assert!(version.git_version.starts_with('v'));
    let authed: Vec<Value> = fake
        .requests()
        .iter()
        .map(|r| serde_json::json!({"path": r.path, "status": r.status}))
        .collect();
    assert!(authed.iter().all(|r| r["status"] != 401), "{authed:?}");
}
