//! `irsa` through the binary against moto (IAM) and the Kubernetes API server fake: roles
//! trusted by exactly one service account each, inline policies scoped to the workspace,
//! annotated service accounts, merging into a role someone else owns, idempotence, cleanup.
//! The `cluster` and `amp` outputs are seeded into the stack state, and the OIDC provider is
//! created in moto with the SDK, as the `cluster` step would have.

use serde_json::{Value, json};

use crate::support::eks_shim::EksShim;
use crate::support::kube_fake::{self, KubeFake, Options};
use crate::support::moto;
use crate::support::{MOTO_ACCOUNT, REGION, Run, STACK_TAG, Stack, sdk_config, step_actions};

const PROM_SA: &str = "amp-iamproxy-ingest-service-account";
const QUERY_SA: &str = "amp-iamproxy-query-service-account";

/// A stack with seeded `cluster` and `amp` outputs, an OIDC provider in moto and a Kubernetes
/// API server fake its kubeconfig points at.
struct Env {
    stack: Stack,
    fake: KubeFake,
    issuer_host_path: String,
    oidc_provider_arn: String,
    workspace_arn: String,
    _kubeconfig: tempfile::TempDir,
    rt: tokio::runtime::Runtime,
}

async fn iam() -> aws_sdk_iam::Client {
    aws_sdk_iam::Client::new(&sdk_config().await)
}

impl Env {
    fn new(test: &str, extra_yaml: &str) -> Env {
        Env::with_server(test, extra_yaml, None)
    }

    /// With the kubeconfig pointing at `server` instead of the fake (e.g. a closed port).
    fn with_server(test: &str, extra_yaml: &str, server: Option<&str>) -> Env {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime for the fakes");
        let fake = rt.block_on(KubeFake::start(Options::default()));
        let kdir = tempfile::tempdir().expect("a temporary directory");
        let kubeconfig = kdir.path().join("kubeconfig");
        kube_fake::write_kubeconfig(&kubeconfig, server.unwrap_or(&fake.url));
        let stack = Stack::builder(test)
            .yaml(&format!(
                "kubernetes:\n  kubeconfig: \"{}\"\n  context: fake\n{extra_yaml}",
                kubeconfig.display()
            ))
            .build();
        let id: String = format!("{:X}", md5ish(&stack.name));
        let issuer_host_path = format!("oidc.eks.{REGION}.amazonaws.com/id/{id}");
        let issuer = format!("https://{issuer_host_path}");
        let oidc_provider_arn = rt.block_on(async {
            iam()
                .await
                .create_open_id_connect_provider()
                .url(&issuer)
                .client_id_list("sts.amazonaws.com")
                .thumbprint_list("9e99a48a9960b14926bb7f3b02e22da2b0ab7280")
                .send()
                .await
                .expect("create the OIDC provider in moto")
                .open_id_connect_provider_arn()
                .expect("an OIDC provider ARN")
                .to_string()
        });
        let workspace_arn =
            format!("arn:aws:aps:{REGION}:{MOTO_ACCOUNT}:workspace/ws-{id}").to_lowercase();
        stack.seed_applied(
            "cluster",
            &[
                ("cluster_name", &stack.name),
                ("oidc_issuer", &issuer),
                ("oidc_provider_arn", &oidc_provider_arn),
                ("endpoint", &fake.url),
            ],
        );
        stack.seed_applied(
            "amp",
            &[
                ("workspace_id", &format!("ws-{id}").to_lowercase()),
                ("workspace_arn", &workspace_arn),
            ],
        );
        Env {
            stack,
            fake,
            issuer_host_path,
            oidc_provider_arn,
            workspace_arn,
            _kubeconfig: kdir,
            rt,
        }
    }

    /// `meshctl -v <args> --output json`: stderr carries one line per AWS call.
    fn run(&self, args: &[&str]) -> Run {
        let mut all = vec!["-v"];
        all.extend_from_slice(args);
        self.stack.run_json(&all)
    }

    /// As [`Env::run`], with EKS calls sent to the EKS shim `eks` (moto has no pod identity
    /// operations).
    fn run_eks(&self, eks: &EksShim, args: &[&str]) -> Run {
        let mut all = vec!["-v"];
        all.extend_from_slice(args);
        self.stack
            .run_json_env(&all, &[("AWS_ENDPOINT_URL_EKS", eks.url.as_str())])
    }

    fn role(&self, name: &str) -> Option<(Value, Vec<(String, String)>)> {
        self.rt.block_on(async {
            let iam = iam().await;
            let out = iam.get_role().role_name(name).send().await.ok()?;
            let doc = out.role()?.assume_role_policy_document()?.to_string();
            let tags = iam
                .list_role_tags()
                .role_name(name)
                .send()
                .await
                .expect("list role tags")
                .tags()
                .iter()
                .map(|t| (t.key().to_string(), t.value().to_string()))
                .collect();
            Some((decode(&doc), tags))
        })
    }

    fn inline_policy(&self, role: &str, name: &str) -> Option<Value> {
        self.rt.block_on(async {
            let out = iam()
                .await
                .get_role_policy()
                .role_name(role)
                .policy_name(name)
                .send()
                .await
                .ok()?;
            Some(decode(out.policy_document()))
        })
    }

    fn service_account(&self, ns: &str, name: &str) -> Option<Value> {
        self.fake.object("", "serviceaccounts", ns, name)
    }
}

/// A short stable hex digest of `s` (an OIDC id per test).
fn md5ish(s: &str) -> u64 {
    s.bytes().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100000001b3)
    })
}

fn decode(doc: &str) -> Value {
    meshctl::steps::irsa::decode_policy(doc).expect("a JSON policy document")
}

fn statements(doc: &Value) -> Vec<Value> {
    meshctl::steps::irsa::statements(doc)
}

/// The IAM calls in a `-v` run that change something.
fn iam_mutations(run: &Run) -> Vec<String> {
    run.stderr
        .lines()
        .filter(|l| l.contains("AWS iam ") || l.contains("AWS IAM "))
        .filter_map(|l| {
            let op = l
                .split("AWS ")
                .nth(1)?
                .split_whitespace()
                .nth(1)?
                .to_string();
            [
                "Create", "Update", "Put", "Tag", "Untag", "Delete", "Detach", "Attach",
            ]
            .iter()
            .any(|p| op.starts_with(p))
            .then_some(op)
        })
        .collect()
}

fn iam_calls(run: &Run) -> usize {
    run.stderr
        .lines()
        .filter(|l| l.contains("AWS iam ") || l.contains("AWS IAM "))
        .count()
}

#[test]
fn creates_scoped_roles_and_annotated_service_accounts_and_a_second_run_changes_nothing() {
    let env = Env::new("irsa_create", "");
    let name = env.stack.name.clone();
    let run = env.run(&["irsa", "--yes"]);
    run.expect_code(0);
    assert!(
        iam_calls(&run) > 0,
        "the call log shows IAM calls: {}",
        run.stderr
    );

    let ingest = format!("{name}-amp-ingest");
    let (trust, tags) = env.role(&ingest).expect("the ingest role exists");
    assert!(
        tags.contains(&(STACK_TAG.to_string(), name.clone())),
        "{tags:?}"
    );
    let stmts = statements(&trust);
    assert_eq!(stmts.len(), 1, "{trust:#}");
    let s = &stmts[0];
    assert_eq!(s["Principal"]["Federated"], json!(env.oidc_provider_arn));
    assert_eq!(s["Action"], "sts:AssumeRoleWithWebIdentity");
    let eq = s["Condition"]["StringEquals"]
        .as_object()
        .expect("StringEquals");
    assert_eq!(eq.len(), 2, "{s:#}");
    assert_eq!(
        eq[&format!("{}:sub", env.issuer_host_path)],
        format!("system:serviceaccount:prometheus:{PROM_SA}")
    );
    assert_eq!(
        eq[&format!("{}:aud", env.issuer_host_path)],
        "sts.amazonaws.com"
    );

    let policy = env
        .inline_policy(&ingest, "meshctl-amp-ingest")
        .expect("the inline policy");
    let p = &statements(&policy)[0];
    assert_eq!(p["Action"], json!(["aps:RemoteWrite"]));
    assert_eq!(p["Resource"], json!(env.workspace_arn));
    let query_policy = env
        .inline_policy(&format!("{name}-amp-query"), "meshctl-amp-query")
        .expect("the query policy");
    assert_eq!(
        statements(&query_policy)[0]["Action"],
        json!([
            "aps:QueryMetrics",
            "aps:GetSeries",
            "aps:GetLabels",
            "aps:GetMetricMetadata"
        ])
    );

    let sa = env
        .service_account("prometheus", PROM_SA)
        .expect("the Prometheus service account");
    let arn = sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"]
        .as_str()
        .expect("annotated");
    assert!(arn.ends_with(&format!(":role/{ingest}")), "{arn}");
    assert_eq!(sa["metadata"]["labels"][STACK_TAG], json!(name));
    assert_eq!(
        sa["metadata"]["labels"]["app.kubernetes.io/managed-by"],
        "meshctl"
    );
    let q = env
        .service_account("istio-system", QUERY_SA)
        .expect("the query service account");
    assert!(
        q["metadata"]["annotations"]["eks.amazonaws.com/role-arn"]
            .as_str()
            .is_some_and(|a| a.ends_with("-amp-query"))
    );
    assert!(
        env.fake
            .object("", "namespaces", "", "prometheus")
            .is_some()
    );

    let doc = run.json();
    let outputs = doc.to_string();
    assert!(outputs.contains("prometheus_role_arn"), "{doc:#}");

    // Second run: no IAM write, no Kubernetes write, and the plan shows no change.
    env.fake.clear_log();
    let again = env.run(&["irsa", "--yes"]);
    again.expect_code(0);
    assert_eq!(
        iam_mutations(&again),
        Vec::<String>::new(),
        "{}",
        again.stderr
    );
    assert!(iam_calls(&again) > 0, "reads are logged: {}", again.stderr);
    assert!(
        env.fake.mutating_calls().is_empty(),
        "{:?}",
        env.fake.mutating_calls()
    );
    let plan = env.run(&["irsa", "--dry-run"]);
    plan.expect_code(0);
    let actions = step_actions(&plan.json(), "irsa");
    assert!(
        actions.iter().any(|(_, kind, _)| kind == "service-account"),
        "{actions:?}"
    );
    for (op, kind, n) in &actions {
        assert_eq!(op, "keep", "{kind} {n} in {actions:?}");
    }
    assert_eq!(iam_mutations(&plan), Vec::<String>::new());

    // Cleanup deletes the roles it created and the objects it labelled.
    let clean = env.run(&["cleanup", "--only", "irsa", "--yes"]);
    clean.expect_code(0);
    assert!(env.role(&ingest).is_none(), "the owned role is deleted");
    assert!(env.role(&format!("{name}-amp-query")).is_none());
    assert!(env.service_account("prometheus", PROM_SA).is_none());
    assert!(
        env.fake
            .object("", "namespaces", "", "prometheus")
            .is_none()
    );
}

#[test]
fn an_existing_role_keeps_its_foreign_statement_through_apply_and_cleanup() {
    let env = Env::new("irsa_adopt", "");
    let name = env.stack.name.clone();
    let role = format!("{name}-amp-ingest");
    let foreign = json!({
        "Sid": "TeamEc2",
        "Effect": "Allow",
        "Principal": {"Service": "ec2.amazonaws.com"},
        "Action": "sts:AssumeRole"
    });
    env.rt.block_on(async {
        iam()
            .await
            .create_role()
            .role_name(&role)
            .assume_role_policy_document(
                json!({"Version": "2012-10-17", "Statement": [foreign.clone()]}).to_string(),
            )
            .tags(
                aws_sdk_iam::types::Tag::builder()
                    .key("team")
                    .value("data")
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .expect("create a role outside meshctl")
    });
    let plan = env.run(&["irsa", "--dry-run"]);
    plan.expect_code(0);
    assert!(
        plan.stdout.contains("adopted, never deleted"),
        "{}",
        plan.stdout
    );

    env.run(&["irsa", "--yes"]).expect_code(0);
    let (trust, tags) = env.role(&role).expect("the role is still there");
    let stmts = statements(&trust);
    assert_eq!(stmts.len(), 2, "{trust:#}");
    assert_eq!(stmts[0], foreign, "the foreign statement is kept as it was");
    assert_eq!(
        stmts[1]["Sid"].as_str().unwrap_or_default(),
        meshctl::steps::irsa::sid(&name, &meshctl::steps::irsa::IDENTITIES[0])
    );
    assert!(
        !tags.iter().any(|(k, _)| k == STACK_TAG),
        "an adopted role is not tagged: {tags:?}"
    );
    assert!(env.inline_policy(&role, "meshctl-amp-ingest").is_some());

    // A second run leaves it alone.
    let again = env.run(&["irsa", "--yes"]);
    again.expect_code(0);
    assert_eq!(
        iam_mutations(&again),
        Vec::<String>::new(),
        "{}",
        again.stderr
    );

    env.run(&["cleanup", "--only", "irsa", "--yes"])
        .expect_code(0);
    let (trust, _) = env.role(&role).expect("an adopted role is never deleted");
    assert_eq!(
        statements(&trust),
        vec![foreign],
        "only meshctl's statement went"
    );
    assert!(env.inline_policy(&role, "meshctl-amp-ingest").is_none());
    assert!(
        env.role(&format!("{name}-amp-query")).is_none(),
        "the role meshctl created is deleted"
    );
}

#[test]
fn a_namespace_meshctl_did_not_create_is_never_deleted() {
    let env = Env::new("irsa_foreign_ns", "prometheus:\n  namespace: monitoring\n");
    // Someone else's namespace, before meshctl runs.
    env.rt.block_on(async {
        let client = kube_client(&env).await;
        let api: kube::Api<k8s_openapi::api::core::v1::Namespace> = kube::Api::all(client);
        api.patch(
            "monitoring",
            &kube::api::PatchParams::apply("someone-else"),
            &kube::api::Patch::Apply(json!({
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": "monitoring", "labels": {"team": "obs"}}
            })),
        )
        .await
        .expect("create a namespace outside meshctl");
    });
    env.run(&["irsa", "--yes"]).expect_code(0);
    assert!(env.service_account("monitoring", PROM_SA).is_some());
    let ns = env
        .fake
        .object("", "namespaces", "", "monitoring")
        .expect("namespace");
    assert!(
        ns["metadata"]["labels"].get(STACK_TAG).is_none(),
        "not labelled as meshctl's: {ns:#}"
    );
    env.run(&["cleanup", "--only", "irsa", "--yes"])
        .expect_code(0);
    assert!(env.service_account("monitoring", PROM_SA).is_none());
    assert!(
        env.fake
            .object("", "namespaces", "", "monitoring")
            .is_some(),
        "the foreign namespace stays"
    );
}

async fn kube_client(env: &Env) -> kube::Client {
    let mut config = kube::Config::new(env.fake.url.parse().expect("the fake's URL"));
    config.auth_info.token = Some(kube_fake::TOKEN.to_string().into());
    kube::Client::try_from(config).expect("a client for the fake")
}

#[test]
fn a_missing_oidc_provider_stops_before_any_role_is_created() {
    let env = Env::new("irsa_no_oidc", "");
    env.rt.block_on(async {
        iam()
            .await
            .delete_open_id_connect_provider()
            .open_id_connect_provider_arn(&env.oidc_provider_arn)
            .send()
            .await
            .expect("delete the OIDC provider")
    });
    let run = env.run(&["irsa", "--yes"]);
    assert_ne!(run.code, Some(0), "{}", run.stdout);
    assert!(
        run.stdout.contains("meshctl cluster") || run.stderr.contains("meshctl cluster"),
        "the help names the command to run: {}\n{}",
        run.stdout,
        run.stderr
    );
    assert!(
        env.role(&format!("{}-amp-ingest", env.stack.name))
            .is_none()
    );
}

/// Every trust and permission document, as rendered for a fixed config (snapshots).
#[test]
fn policy_documents_match_their_snapshots() {
    use meshctl::steps::irsa::{
        identities, permission_policy, pod_identity_statement, trust_document, trust_statement,
    };
    let config: meshctl::config::Config = serde_yaml_ng::from_str("name: demo").unwrap();
    let issuer = "https://oidc.eks.us-east-1.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF";
    let provider = "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF";
    let workspace =
        "arn:aws:aps:us-east-1:123456789012:workspace/ws-12345678-abcd-1234-abcd-123456789012";
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/snapshots/irsa");
    for id in identities(&config) {
        let trust = trust_document(vec![trust_statement(&id, provider, issuer).unwrap()]);
        let perms = permission_policy(&id, workspace).unwrap();
        // No wildcard anywhere, and both conditions are exact.
        for doc in [&trust, &perms] {
            assert!(!doc.to_string().contains('*'), "{doc:#}");
        }
        let cond = &trust["Statement"][0]["Condition"]["StringEquals"];
        assert_eq!(cond.as_object().map(|o| o.len()), Some(2), "{trust:#}");
        let pod = trust_document(vec![pod_identity_statement(&id).unwrap()]);
        assert!(!pod.to_string().contains('*'), "{pod:#}");
        for (kind, doc) in [
            ("trust", trust),
            ("pod-identity-trust", pod),
            ("permissions", perms),
        ] {
            let path = dir.join(format!("{}-{kind}.json", id.spec.role_suffix));
            let text = format!("{}\n", serde_json::to_string_pretty(&doc).unwrap());
            if std::env::var_os("MESHCTL_UPDATE_SNAPSHOTS").is_some() {
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(&path, &text).unwrap();
            }
            let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
                panic!(
                    "{} is missing (MESHCTL_UPDATE_SNAPSHOTS=1 writes it)",
                    path.display()
                )
            });
            assert_eq!(
                text,
                expected,
                "{} changed: review and update",
                path.display()
            );
        }
    }
}

#[test]
fn a_failure_after_the_roles_rolls_them_back() {
    // The plan cannot reach the cluster (it says so and plans the objects as created); the
    // apply creates both roles, then fails to reach the cluster: the run rolls back.
    let env = Env::with_server("irsa_rollback", "", Some("http://127.0.0.1:9"));
    let name = env.stack.name.clone();
    let plan = env.run(&["irsa", "--dry-run"]);
    plan.expect_code(0);
    assert!(
        plan.stdout.contains("cluster not reachable"),
        "{}",
        plan.stdout
    );
    let run = env.run(&["irsa", "--yes"]);
    assert_eq!(
        run.code,
        Some(1),
        "failed and fully rolled back\n{}\n{}",
        run.stdout,
        run.stderr
    );
    let writes = iam_mutations(&run);
    assert!(writes.iter().any(|w| w == "CreateRole"), "{writes:?}");
    assert!(
        writes.iter().any(|w| w == "DeleteRole"),
        "rolled back: {writes:?}"
    );
    assert!(env.role(&format!("{name}-amp-ingest")).is_none());
    assert!(env.role(&format!("{name}-amp-query")).is_none());
}

#[test]
fn a_pinned_role_is_adopted_even_with_the_stack_tag_and_status_reports_it() {
    let env = Env::new("irsa_pinned", "");
    let name = env.stack.name.clone();
    let shared = format!("{name}-shared");
    let arn = env.rt.block_on(async {
        iam()
            .await
            .create_role()
            .role_name(&shared)
            .path("/team/")
            .assume_role_policy_document(
                json!({"Version": "2012-10-17", "Statement": [{
                    "Sid": "Team", "Effect": "Allow",
                    "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"
                }]})
                .to_string(),
            )
            // Tagged for the stack, yet pinned: pinned wins, it is never deleted.
            .tags(
                aws_sdk_iam::types::Tag::builder()
                    .key(STACK_TAG)
                    .value(&name)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .expect("create the shared role")
            .role()
            .expect("a role")
            .arn()
            .to_string()
    });
    let env = {
        // Pin it in the config.
        let path = env.stack.path().join("meshctl.yaml");
        let yaml = std::fs::read_to_string(&path).unwrap();
        std::fs::write(
            &path,
            format!("{yaml}irsa:\n  roles:\n    query: \"{arn}\"\n"),
        )
        .unwrap();
        env
    };
    env.run(&["irsa", "--yes"]).expect_code(0);
    let (trust, _) = env.role(&shared).expect("the shared role");
    assert_eq!(statements(&trust).len(), 2, "{trust:#}");
    let sa = env
        .service_account("istio-system", QUERY_SA)
        .expect("the query SA");
    assert_eq!(
        sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"],
        json!(arn)
    );

    let status = env.run(&["status"]);
    status.expect_code(0);
    let doc = status.json();
    let irsa = doc["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["step"] == "irsa")
        .expect("irsa in status")
        .clone();
    assert_eq!(irsa["state"], "present", "{irsa:#}");
    assert!(
        irsa["details"]["query_role"]
            .as_str()
            .unwrap_or_default()
            .contains("adopted"),
        "{irsa:#}"
    );

    env.run(&["cleanup", "--only", "irsa", "--yes"])
        .expect_code(0);
    let (trust, _) = env.role(&shared).expect("a pinned role is never deleted");
    assert_eq!(statements(&trust).len(), 1, "{trust:#}");
    assert_eq!(statements(&trust)[0]["Sid"], "Team");
}

const AGENT: &str = "eks-pod-identity-agent";

#[test]
fn pod_identity_mode_installs_the_agent_and_associates_each_service_account() {
    let env = Env::new("irsa_pod_identity", "irsa:\n  mode: pod-identity\n");
    let name = env.stack.name.clone();
    let eks = EksShim::start(&moto());
    eks.register_cluster(&name);
    let plan = env.run_eks(&eks, &["irsa", "--dry-run"]);
    plan.expect_code(0);
    let actions = step_actions(&plan.json(), "irsa");
    assert!(
        actions.contains(&("create".into(), "eks-addon".into(), AGENT.into())),
        "{actions:?}"
    );
    assert!(
        eks.mutating_calls().is_empty(),
        "a plan writes nothing: {:?}",
        eks.mutating_calls()
    );

    let run = env.run_eks(&eks, &["irsa", "--yes"]);
    run.expect_code(0);
    let ingest = format!("{name}-amp-ingest");
    let (trust, _) = env.role(&ingest).expect("the ingest role");
    let s = &statements(&trust)[0];
    assert_eq!(
        s["Principal"]["Service"], "pods.eks.amazonaws.com",
        "{trust:#}"
    );
    assert_eq!(s["Action"], json!(["sts:AssumeRole", "sts:TagSession"]));
    assert!(s.get("Condition").is_none(), "{s:#}");
    assert!(eks.has_addon(&name, AGENT));
    let mut assoc = eks.associations(&name);
    assoc.sort();
    assert_eq!(assoc.len(), 2, "{assoc:?}");
    assert!(
        assoc.iter().any(|(ns, sa, role)| ns == "prometheus"
            && sa == PROM_SA
            && role.ends_with(&format!(":role/{ingest}"))),
        "{assoc:?}"
    );
    let sa = env
        .service_account("prometheus", PROM_SA)
        .expect("the service account");
    assert!(
        sa["metadata"]["annotations"]
            .get("eks.amazonaws.com/role-arn")
            .is_none(),
        "no IRSA annotation in pod-identity mode: {sa:#}"
    );

    let writes = eks.mutating_calls().len();
    let again = env.run_eks(&eks, &["irsa", "--yes"]);
    again.expect_code(0);
    assert_eq!(
        eks.mutating_calls().len(),
        writes,
        "{:?}",
        eks.mutating_calls()
    );
    assert_eq!(
        iam_mutations(&again),
        Vec::<String>::new(),
        "{}",
        again.stderr
    );

    env.run_eks(&eks, &["cleanup", "--only", "irsa", "--yes"])
        .expect_code(0);
    assert!(eks.associations(&name).is_empty());
    assert!(
        !eks.has_addon(&name, AGENT),
        "meshctl installed it, so it goes"
    );
    assert!(env.role(&ingest).is_none());
}

#[test]
fn pod_identity_mode_never_deletes_an_agent_it_did_not_install() {
    let env = Env::new("irsa_pod_identity_agent", "irsa:\n  mode: pod-identity\n");
    let name = env.stack.name.clone();
    let eks = EksShim::start(&moto());
    eks.register_cluster(&name);
    eks.install_addon(&name, AGENT);
    env.run_eks(&eks, &["irsa", "--yes"]).expect_code(0);
    assert!(
        !eks.mutating_calls().iter().any(|w| w.contains("/addons")),
        "{:?}",
        eks.mutating_calls()
    );
    env.run_eks(&eks, &["cleanup", "--only", "irsa", "--yes"])
        .expect_code(0);
    assert!(eks.has_addon(&name, AGENT), "kept");
    assert!(eks.associations(&name).is_empty());
}
