//! The `cluster` and `nodes` steps through the real binary against moto, with the EKS shim
//! (tests/support/eks_shim.rs) in front of it for what moto's EKS lacks.

use crate::support;
use crate::support::stack_rig::tagged_aws;

use aws_types::region::Region;
use support::eks_shim::EksShim;
use support::{REGION, block_on, moto, sdk_config, unique};

/// SDK configuration pointing at `endpoint` (the shim) instead of moto.
async fn config_via(endpoint: &str) -> aws_types::SdkConfig {
    sdk_config()
        .await
        .into_builder()
        .endpoint_url(endpoint)
        .region(Region::new(REGION))
        .build()
}

/// A VPC with two subnets in two zones, made straight in moto (someone else's network).
pub(crate) async fn vpc_with_subnets(cidr_prefix: &str) -> (String, Vec<String>) {
    let ec2 = aws_sdk_ec2::Client::new(&sdk_config().await);
    let vpc = ec2
        .create_vpc()
        .cidr_block(format!("{cidr_prefix}.0.0/16"))
        .send()
        .await
        .expect("CreateVpc on moto")
        .vpc
        .and_then(|v| v.vpc_id)
        .expect("a VPC id");
    let mut subnets = vec![];
    for (i, az) in ["us-east-1a", "us-east-1b"].iter().enumerate() {
        let s = ec2
            .create_subnet()
            .vpc_id(&vpc)
            .cidr_block(format!("{cidr_prefix}.{i}.0/24"))
            .availability_zone(*az)
            .send()
            .await
            .expect("CreateSubnet on moto")
            .subnet
            .and_then(|s| s.subnet_id)
            .expect("a subnet id");
        subnets.push(s);
    }
    (vpc, subnets)
}

#[test]
fn the_eks_shim_serves_what_moto_lacks_with_the_services_status_codes() {
    let shim = EksShim::start(&moto());
    block_on(async {
        let eks = aws_sdk_eks::Client::new(&config_via(&shim.url).await);
        let versions = eks
            .describe_cluster_versions()
            .send()
            .await
            .expect("DescribeClusterVersions");
        let listed: Vec<&str> = versions
            .cluster_versions()
            .iter()
            .filter_map(|v| v.cluster_version())
            .collect();
        assert!(listed.contains(&"1.36"), "{listed:?}");
        assert!(
            versions
                .cluster_versions()
                .iter()
                .any(|v| v.default_version())
        );

        let (vpc, subnets) = vpc_with_subnets("10.61").await;
        let name = unique("shim");
        let bad = eks
            .create_cluster()
            .name(&name)
            .version("1.20")
            .role_arn("arn:aws:iam::123456789012:role/x")
            .resources_vpc_config(
                aws_sdk_eks::types::VpcConfigRequest::builder()
                    .set_subnet_ids(Some(subnets.clone()))
                    .build(),
            )
            .send()
            .await
            .expect_err("an unsupported version is refused");
        assert!(
            bad.as_service_error()
                .is_some_and(|e| e.is_invalid_parameter_exception()),
            "{bad:?}"
        );

        let created = eks
            .create_cluster()
            .name(&name)
            .version("1.35")
            .role_arn("arn:aws:iam::123456789012:role/x")
            .resources_vpc_config(
                aws_sdk_eks::types::VpcConfigRequest::builder()
                    .set_subnet_ids(Some(subnets.clone()))
                    .build(),
            )
            .access_config(
                aws_sdk_eks::types::CreateAccessConfigRequest::builder()
                    .authentication_mode(aws_sdk_eks::types::AuthenticationMode::Api)
                    .bootstrap_cluster_creator_admin_permissions(true)
                    .build(),
            )
            .send()
            .await
            .expect("CreateCluster through the shim");
        assert_eq!(
            created.cluster().and_then(|c| c.name()),
            Some(name.as_str())
        );

        let c = eks
            .describe_cluster()
            .name(&name)
            .send()
            .await
            .expect("DescribeCluster")
            .cluster
            .expect("a cluster");
        assert_eq!(
            c.access_config()
                .and_then(|a| a.authentication_mode())
                .map(|m| m.as_str()),
            Some("API")
        );
        let vpc_config = c.resources_vpc_config().expect("resourcesVpcConfig");
        assert_eq!(vpc_config.vpc_id(), Some(vpc.as_str()));
        let sg = vpc_config
            .cluster_security_group_id()
            .expect("a cluster security group")
            .to_string();
        let issuer = c.identity().and_then(|i| i.oidc()).and_then(|o| o.issuer());
        assert!(issuer.is_some_and(|i| i.starts_with("https://oidc.eks.")));

        // The creator is admin; a second entry for the same principal conflicts.
        let entries = eks
            .list_access_entries()
            .cluster_name(&name)
            .send()
            .await
            .expect("ListAccessEntries");
        assert_eq!(entries.access_entries().len(), 1, "{entries:?}");
        let admin = "arn:aws:iam::123456789012:role/platform-admins";
        eks.create_access_entry()
            .cluster_name(&name)
            .principal_arn(admin)
            .send()
            .await
            .expect("CreateAccessEntry");
        let dup = eks
            .create_access_entry()
            .cluster_name(&name)
            .principal_arn(admin)
            .send()
            .await
            .expect_err("a second entry for one principal");
        assert!(
            dup.as_service_error()
                .is_some_and(|e| e.is_resource_in_use_exception())
        );
        eks.associate_access_policy()
            .cluster_name(&name)
            .principal_arn(admin)
            .policy_arn("arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy")
            .access_scope(
                aws_sdk_eks::types::AccessScope::builder()
                    .r#type(aws_sdk_eks::types::AccessScopeType::Cluster)
                    .build(),
            )
            .send()
            .await
            .expect("AssociateAccessPolicy");
        let policies = eks
            .list_associated_access_policies()
            .cluster_name(&name)
            .principal_arn(admin)
            .send()
            .await
            .expect("ListAssociatedAccessPolicies");
        assert_eq!(policies.associated_access_policies().len(), 1);
        let missing = eks
            .describe_access_entry()
            .cluster_name(&name)
            .principal_arn("arn:aws:iam::123456789012:role/nobody")
            .send()
            .await
            .expect_err("no such entry");
        assert!(
            missing
                .as_service_error()
                .is_some_and(|e| e.is_resource_not_found_exception())
        );

        // Pod identity associations and the agent add-on.
        let assoc = eks
            .create_pod_identity_association()
            .cluster_name(&name)
            .namespace("monitoring")
            .service_account("prometheus")
            .role_arn("arn:aws:iam::123456789012:role/prom")
            .send()
            .await
            .expect("CreatePodIdentityAssociation")
            .association
            .and_then(|a| a.association_id)
            .expect("an association id");
        let listed = eks
            .list_pod_identity_associations()
            .cluster_name(&name)
            .namespace("monitoring")
            .send()
            .await
            .expect("ListPodIdentityAssociations");
        assert_eq!(listed.associations().len(), 1);
        eks.create_addon()
            .cluster_name(&name)
            .addon_name("eks-pod-identity-agent")
            .send()
            .await
            .expect("CreateAddon");
        let addon = eks
            .describe_addon()
            .cluster_name(&name)
            .addon_name("eks-pod-identity-agent")
            .send()
            .await
            .expect("DescribeAddon");
        assert_eq!(
            addon.addon().and_then(|a| a.status()).map(|s| s.as_str()),
            Some("ACTIVE")
        );
        eks.delete_pod_identity_association()
            .cluster_name(&name)
            .association_id(&assoc)
            .send()
            .await
            .expect("DeletePodIdentityAssociation");

        // Deleting the cluster deletes its security group and everything the shim kept.
        eks.delete_cluster()
            .name(&name)
            .send()
            .await
            .expect("DeleteCluster");
        let gone = eks
            .list_access_entries()
            .cluster_name(&name)
            .send()
            .await
            .expect_err("the cluster is gone");
        assert!(
            gone.as_service_error()
                .is_some_and(|e| e.is_resource_not_found_exception())
        );
        let ec2 = aws_sdk_ec2::Client::new(&sdk_config().await);
        let sgs = ec2
            .describe_security_groups()
            .filters(
                aws_sdk_ec2::types::Filter::builder()
                    .name("group-id")
                    .values(&sg)
                    .build(),
            )
            .send()
            .await
            .expect("DescribeSecurityGroups");
        assert!(sgs.security_groups().is_empty(), "{sg} left behind");
    });
    assert!(
        shim.mutating_calls()
            .iter()
            .any(|c| c.starts_with("eks POST /clusters/")),
        "{:?}",
        shim.calls()
    );
}

// ---------------------------------------------------------------------------------------
// The `cluster` and `nodes` steps through the binary.
// ---------------------------------------------------------------------------------------

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU32, Ordering};

use support::kube_fake::{self, KubeFake};
use support::{Run, STACK_TAG, Stack};

/// A distinct /16 for each VPC this process makes (moto is shared by every test).
fn next_prefix() -> String {
    static SEQ: AtomicU32 = AtomicU32::new(0);
    format!("10.{}", 100 + SEQ.fetch_add(1, Ordering::Relaxed) % 150)
}

/// A stack whose meshctl runs go through the shim (every service: the shim forwards what is
/// not EKS to moto and counts every call), with a Kubernetes API server fake as its cluster.
struct Env {
    stack: Stack,
    shim: EksShim,
    vpc: String,
    subnets: Vec<String>,
    kube: KubeFake,
    _rt: tokio::runtime::Runtime,
    _kubeconfig_dir: tempfile::TempDir,
}

const NODEGROUPS: &str = "  nodegroups:
    - name: general
      instance_types: [m5.large]
      min_size: 1
      max_size: 3
      desired_size: 2
      labels: {tier: general}
      taints: [{key: dedicated, value: mesh, effect: NO_SCHEDULE}]
    - name: spot
      instance_types: [m5.large, m5a.large]
      capacity_type: SPOT
      min_size: 0
      max_size: 2
      desired_size: 1
";

impl Env {
    fn new(test: &str, cluster_yaml: impl Fn(&[String]) -> String) -> Env {
        Env::via(test, &moto(), cluster_yaml)
    }

    /// As [`Env::new`], with the EKS shim forwarding to `upstream` (moto, or another shim in
    /// front of it).
    fn via(test: &str, upstream: &str, cluster_yaml: impl Fn(&[String]) -> String) -> Env {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a runtime for the API server fake");
        let kube = rt.block_on(KubeFake::start(kube_fake::Options::default()));
        let (vpc, subnets) = block_on(vpc_with_subnets(&next_prefix()));
        let dir = tempfile::tempdir().expect("a temporary directory");
        let kubeconfig = dir.path().join("kubeconfig");
        kube_fake::write_kubeconfig(&kubeconfig, &kube.url);
        let yaml = format!(
            "{}kubernetes:\n  kubeconfig: \"{}\"\n",
            cluster_yaml(&subnets),
            kubeconfig.display()
        );
        let stack = Stack::builder(test).yaml(&yaml).build();
        Env {
            stack,
            shim: EksShim::start(upstream),
            vpc,
            subnets,
            kube,
            _rt: rt,
            _kubeconfig_dir: dir,
        }
    }

    fn run(&self, args: &[&str]) -> Run {
        let mut cmd = self.stack.cmd_via(&self.shim.url);
        cmd.env("MESHCTL_POLL_INTERVAL", "50ms")
            .args(args)
            .args(["--output", "json"]);
        Run::from(cmd.output().expect("meshctl runs"))
    }
}

fn subnets_yaml(subnets: &[String]) -> String {
    format!("  subnet_ids: [{}]\n", subnets.join(", "))
}

async fn iam() -> aws_sdk_iam::Client {
    aws_sdk_iam::Client::new(&sdk_config().await)
}

/// A role's tags, `None` when the role does not exist.
async fn role_tags(name: &str) -> Option<Vec<(String, String)>> {
    match iam().await.list_role_tags().role_name(name).send().await {
        Ok(t) => Some(
            t.tags()
                .iter()
                .map(|t| (t.key().to_string(), t.value().to_string()))
                .collect(),
        ),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_no_such_entity_exception()) =>
        {
            None
        }
        Err(e) => panic!("ListRoleTags {name}: {e:?}"),
    }
}

/// OIDC providers whose URL is `issuer`: `(arn, tagged for stack)`.
async fn oidc_providers(issuer: &str, stack: &str) -> Vec<(String, bool)> {
    let iam = iam().await;
    let list = iam
        .list_open_id_connect_providers()
        .send()
        .await
        .expect("ListOpenIDConnectProviders");
    let mut out = vec![];
    for p in list.open_id_connect_provider_list() {
        let arn = p.arn().unwrap_or_default().to_string();
        if !arn.ends_with(issuer.trim_start_matches("https://")) {
            continue;
        }
        let tags = iam
            .list_open_id_connect_provider_tags()
            .open_id_connect_provider_arn(&arn)
            .send()
            .await
            .expect("ListOpenIDConnectProviderTags");
        let mine = tags
            .tags()
            .iter()
            .any(|t| t.key() == STACK_TAG && t.value() == stack);
        out.push((arn, mine));
    }
    out
}

/// Ingress rules of `group` as `(port, source group, tagged for stack)`.
async fn ingress_rules(group: &str, stack: &str) -> Vec<(i32, String, bool)> {
    let ec2 = aws_sdk_ec2::Client::new(&sdk_config().await);
    let out = ec2
        .describe_security_group_rules()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("group-id")
                .values(group)
                .build(),
        )
        .send()
        .await
        .expect("DescribeSecurityGroupRules");
    out.security_group_rules()
        .iter()
        .filter(|r| r.is_egress() != Some(true))
        .filter_map(|r| {
            Some((
                r.from_port()?,
                r.referenced_group_info()?.group_id()?.to_string(),
                r.tags()
                    .iter()
                    .any(|t| t.key() == Some(STACK_TAG) && t.value() == Some(stack)),
            ))
        })
        .collect()
}

async fn vpc_exists(vpc: &str) -> bool {
    let ec2 = aws_sdk_ec2::Client::new(&sdk_config().await);
    ec2.describe_vpcs()
        .vpc_ids(vpc)
        .send()
        .await
        .map(|o| !o.vpcs().is_empty())
        .unwrap_or(false)
}

fn step_ops(doc: &serde_json::Value, step: &str) -> Vec<(String, String, String)> {
    support::step_actions(doc, step)
}

#[test]
fn cluster_creates_everything_a_second_run_changes_nothing_and_cleanup_removes_it() {
    let env = Env::new("cluster-full", |subnets| {
        format!(
            "cluster:\n{}  admins: [\"arn:aws:iam::123456789012:role/platform-admins\"]\n{NODEGROUPS}",
            subnets_yaml(subnets)
        )
    });
    let stack = env.stack.name.clone();
    let run = env.run(&["cluster", "--yes"]);
    run.expect_code(0);
    let doc = run.json();
    let cluster_step = doc["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .find(|s| s["step"] == "cluster")
        .expect("the cluster step")
        .clone();
    let outputs = &cluster_step["outputs"];
    for key in [
        "cluster_name",
        "cluster_arn",
        "endpoint",
        "certificate_authority",
        "kubernetes_version",
        "oidc_issuer",
        "oidc_provider_arn",
        "vpc_id",
        "private_subnet_ids",
        "public_subnet_ids",
        "cluster_security_group_id",
        "node_role_arn",
        "cluster_role_arn",
        "managed_tags",
    ] {
        assert!(
            outputs.get(key).is_some(),
            "output {key} missing: {outputs:#}"
        );
    }
    assert_eq!(outputs["kubernetes_version"], "1.36");
    assert_eq!(outputs["vpc_id"], env.vpc.as_str());
    let issuer = outputs["oidc_issuer"].as_str().unwrap().to_string();
    let sg = outputs["cluster_security_group_id"]
        .as_str()
        .unwrap()
        .to_string();

    block_on(async {
        // Both roles, tagged.
        for role in [format!("{stack}-cluster"), format!("{stack}-nodes")] {
            let tags = role_tags(&role)
                .await
                .unwrap_or_else(|| panic!("role {role}"));
            assert!(
                tags.contains(&(STACK_TAG.to_string(), stack.clone())),
                "{role}: {tags:?}"
            );
        }
        // The cluster, in API authentication mode, tagged.
        let eks = aws_sdk_eks::Client::new(&config_via(&env.shim.url).await);
        let c = eks
            .describe_cluster()
            .name(&stack)
            .send()
            .await
            .expect("DescribeCluster")
            .cluster
            .expect("the cluster");
        assert_eq!(
            c.access_config()
                .and_then(|a| a.authentication_mode())
                .map(|m| m.as_str()),
            Some("API")
        );
        assert_eq!(c.version(), Some("1.36"));
        assert_eq!(
            c.tags().and_then(|t| t.get(STACK_TAG)).map(String::as_str),
            Some(stack.as_str())
        );
        // Node groups with their labels, taints and capacity types.
        let ngs = eks
            .list_nodegroups()
            .cluster_name(&stack)
            .send()
            .await
            .expect("ListNodegroups");
        let mut names: Vec<&str> = ngs.nodegroups().iter().map(String::as_str).collect();
        names.sort();
        assert_eq!(names, ["general", "spot"]);
        let general = eks
            .describe_nodegroup()
            .cluster_name(&stack)
            .nodegroup_name("general")
            .send()
            .await
            .expect("DescribeNodegroup")
            .nodegroup
            .expect("general");
        assert_eq!(
            general
                .labels()
                .and_then(|l| l.get("tier"))
                .map(String::as_str),
            Some("general")
        );
        assert_eq!(general.taints().len(), 1);
        assert_eq!(
            general.ami_type().map(|a| a.as_str()),
            Some("AL2023_x86_64_STANDARD")
        );
        let spot = eks
            .describe_nodegroup()
            .cluster_name(&stack)
            .nodegroup_name("spot")
            .send()
            .await
            .expect("DescribeNodegroup")
            .nodegroup
            .expect("spot");
        assert_eq!(spot.capacity_type().map(|c| c.as_str()), Some("SPOT"));
        // Istio's rules on the cluster security group, tagged.
        let rules = ingress_rules(&sg, &stack).await;
        for port in [15017, 15012] {
            assert!(
                rules.contains(&(port, sg.clone(), true)),
                "tcp/{port} from {sg}: {rules:?}"
            );
        }
        // The OIDC provider, once, tagged.
        let providers = oidc_providers(&issuer, &stack).await;
        assert_eq!(providers.len(), 1, "{providers:?}");
        assert!(providers[0].1);
        // The admin's access entry with the cluster-admin policy.
        let policies = eks
            .list_associated_access_policies()
            .cluster_name(&stack)
            .principal_arn("arn:aws:iam::123456789012:role/platform-admins")
            .send()
            .await
            .expect("ListAssociatedAccessPolicies");
        assert!(policies.associated_access_policies().iter().any(|p| {
            p.policy_arn()
                .is_some_and(|a| a.ends_with("AmazonEKSClusterAdminPolicy"))
        }));
    });

    // A second run observes and changes nothing.
    env.shim.reset_calls();
    let again = env.run(&["cluster", "--yes"]);
    again.expect_code(0);
    let mutating = env.shim.mutating_calls();
    assert!(mutating.is_empty(), "second run mutated: {mutating:?}");
    let doc = again.json();
    for step in ["cluster", "nodes"] {
        for (op, kind, name) in step_ops(&doc, step) {
            assert_eq!(op, "keep", "{step}: {kind} {name}");
        }
    }
    let plan = env.run(&["cluster", "--dry-run"]);
    plan.expect_code(0);
    assert_eq!(plan.json()["summary"]["create"], 0, "{}", plan.stdout);

    // `status` reports the cluster and its node groups.
    let status = env.run(&["status"]);
    status.expect_code(0);
    let status = status.json();
    let state_of = |step: &str| {
        status["steps"]
            .as_array()
            .expect("steps")
            .iter()
            .find(|s| s["step"] == step)
            .unwrap_or_else(|| panic!("no {step} in {status:#}"))
            .clone()
    };
    let cluster_status = state_of("cluster");
    assert_eq!(cluster_status["state"], "present", "{cluster_status:#}");
    assert_eq!(cluster_status["details"]["version"], "1.36");
    let ngs = cluster_status["details"]["nodegroups"]
        .as_str()
        .unwrap_or_default();
    assert!(
        ngs.contains("general (ACTIVE)") && ngs.contains("spot (ACTIVE)"),
        "{ngs}"
    );
    assert_eq!(state_of("nodes")["state"], "present");

    // A LoadBalancer Service in a namespace labelled for the stack goes first on cleanup.
    seed_load_balancer(&env, &stack);

    let cleanup = env.run(&["cleanup", "--only", "cluster", "--yes"]);
    cleanup.expect_code(0);
    assert!(
        env.kube
            .object("", "services", "shop", "storefront")
            .is_none(),
        "the LoadBalancer Service was not deleted"
    );
    block_on(async {
        for role in [format!("{stack}-cluster"), format!("{stack}-nodes")] {
            assert!(role_tags(&role).await.is_none(), "role {role} left behind");
        }
        let eks = aws_sdk_eks::Client::new(&config_via(&env.shim.url).await);
        assert!(eks.describe_cluster().name(&stack).send().await.is_err());
        assert!(oidc_providers(&issuer, &stack).await.is_empty());
        // The adopted network stays.
        assert!(vpc_exists(&env.vpc).await, "the adopted VPC was deleted");
    });
    let _ = &env.subnets;
}

/// A namespace labelled for the stack holding a Service of type LoadBalancer, in the fake.
fn seed_load_balancer(env: &Env, stack: &str) {
    use meshctl::kube::{ApplyOptions, Kube, manifest};
    let path = env.stack.path().join("lb-kubeconfig");
    std::fs::write(
        &path,
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: fake\n\
             clusters:\n- name: fake\n  cluster: {{server: \"{}\"}}\n\
             users:\n- name: admin\n  user: {{token: {}}}\n\
             contexts:\n- name: fake\n  context: {{cluster: fake, user: admin}}\n",
            env.kube.url,
            kube_fake::TOKEN
        ),
    )
    .expect("write a kubeconfig");
    let yaml = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n---\n\
                apiVersion: v1\nkind: Service\nmetadata:\n  name: storefront\n  namespace: shop\n\
                spec:\n  type: LoadBalancer\n  ports:\n  - port: 80\n";
    env._rt.block_on(async {
        let kube = Kube::from_kubeconfig(stack, Some(&path), Some("fake"))
            .await
            .expect("connect to the fake");
        let objects = manifest::parse("lb.yaml", yaml).expect("a manifest");
        kube.apply(
            "app",
            &objects,
            &ApplyOptions {
                force: false,
                timeout: std::time::Duration::from_secs(20),
            },
        )
        .await
        .expect("apply the Service");
    });
    assert!(
        env.kube
            .object("", "services", "shop", "storefront")
            .is_some()
    );
}

#[test]
fn an_unsupported_version_stops_with_exit_2_listing_the_supported_ones_before_any_change() {
    let env = Env::new("cluster-version", |subnets| {
        format!("cluster:\n  version: \"1.29\"\n{}", subnets_yaml(subnets))
    });
    let run = env.run(&["cluster", "--yes"]);
    run.expect_code(2);
    assert!(run.stderr.contains("1.36"), "{}", run.stderr);
    assert!(run.stderr.contains("1.29"), "{}", run.stderr);
    let mutating = env.shim.mutating_calls();
    assert!(mutating.is_empty(), "{mutating:?}");
    block_on(async {
        assert!(
            role_tags(&format!("{}-cluster", env.stack.name))
                .await
                .is_none()
        );
    });
}

#[test]
fn an_adopted_cluster_and_its_vpc_survive_cleanup_which_removes_only_what_meshctl_added() {
    let name = unique("adopted-eks");
    let n = name.clone();
    let env = Env::new("cluster-adopt", move |_| {
        format!("cluster:\n  create: false\n  name: {n}\n  nodegroups: []\n")
    });
    let stack = env.stack.name.clone();
    // Someone else's cluster: API authentication mode, without the creator's admin entry.
    block_on(async {
        let eks = aws_sdk_eks::Client::new(&config_via(&env.shim.url).await);
        eks.create_cluster()
            .name(&name)
            .version("1.35")
            .role_arn("arn:aws:iam::123456789012:role/someone-elses-cluster-role")
            .resources_vpc_config(
                aws_sdk_eks::types::VpcConfigRequest::builder()
                    .set_subnet_ids(Some(env.subnets.clone()))
                    .build(),
            )
            .access_config(
                aws_sdk_eks::types::CreateAccessConfigRequest::builder()
                    .authentication_mode(aws_sdk_eks::types::AuthenticationMode::Api)
                    .bootstrap_cluster_creator_admin_permissions(false)
                    .build(),
            )
            .send()
            .await
            .expect("CreateCluster outside meshctl");
    });
    let extra = env.shim.cluster(&name).expect("the shim knows the cluster");
    // Its OIDC provider exists already, made by someone else (untagged): adopted, kept.
    let foreign_oidc = block_on(async {
        iam()
            .await
            .create_open_id_connect_provider()
            .url(&extra.issuer)
            .client_id_list("sts.amazonaws.com")
            .send()
            .await
            .expect("CreateOpenIDConnectProvider outside meshctl")
            .open_id_connect_provider_arn()
            .unwrap_or_default()
            .to_string()
    });

    let run = env.run(&["cluster", "--yes"]);
    run.expect_code(0);
    let doc = run.json();
    let actions = step_ops(&doc, "cluster");
    assert!(
        actions.contains(&("keep".into(), "eks-cluster".into(), name.clone())),
        "{actions:?}"
    );
    let created: Vec<&str> = actions
        .iter()
        .filter(|(op, _, _)| op == "create")
        .map(|(_, kind, _)| kind.as_str())
        .collect();
    assert!(!created.contains(&"iam-oidc-provider"), "{created:?}");
    assert!(
        actions.contains(&(
            "keep".into(),
            "iam-oidc-provider".into(),
            foreign_oidc.clone()
        )),
        "{actions:?}"
    );
    assert!(created.contains(&"eks-access-entry"), "{created:?}");
    assert_eq!(
        created
            .iter()
            .filter(|k| **k == "security-group-rule")
            .count(),
        2,
        "{created:?}"
    );
    let shim_state = env.shim.cluster(&name).expect("cluster");
    assert_eq!(shim_state.access_entries.len(), 1, "the caller's entry");

    let cleanup = env.run(&["cleanup", "--only", "cluster", "--yes"]);
    cleanup.expect_code(0);
    block_on(async {
        let eks = aws_sdk_eks::Client::new(&config_via(&env.shim.url).await);
        let c = eks
            .describe_cluster()
            .name(&name)
            .send()
            .await
            .expect("the adopted cluster is still there");
        assert_eq!(
            c.cluster().and_then(|c| c.status()).map(|s| s.as_str()),
            Some("ACTIVE")
        );
        assert!(vpc_exists(&env.vpc).await, "the adopted VPC was deleted");
        let providers = oidc_providers(&extra.issuer, &stack).await;
        assert_eq!(
            providers,
            [(foreign_oidc.clone(), false)],
            "the adopted OIDC provider stays"
        );
        let rules = ingress_rules(&extra.cluster_security_group_id, &stack).await;
        assert!(
            !rules.iter().any(|(_, _, mine)| *mine),
            "meshctl's rules left behind: {rules:?}"
        );
    });
    assert!(
        env.shim
            .cluster(&name)
            .expect("cluster")
            .access_entries
            .is_empty(),
        "the caller's access entry meshctl added was not removed"
    );
}

#[test]
fn a_node_group_failure_rolls_back_what_the_run_created_newest_first() {
    let env = Env::new("cluster-rollback", |subnets| {
        format!("cluster:\n{}{NODEGROUPS}", subnets_yaml(subnets))
    });
    let stack = env.stack.name.clone();
    env.shim.fail_next(
        &format!("POST /clusters/{stack}/node-groups"),
        400,
        "InvalidParameterException",
        "injected: the requested instance type is not offered in this zone",
        1,
    );
    let run = env.run(&["cluster", "--yes"]);
    run.expect_code(1);
    let deletes: Vec<String> = env
        .shim
        .calls()
        .into_iter()
        .map(|c| c.operation)
        .filter(|op| {
            op.starts_with("Delete")
                || op.starts_with("DELETE /clusters/")
                || op == "RevokeSecurityGroupIngress"
        })
        .collect();
    let pos = |needle: &str| {
        deletes
            .iter()
            .position(|d| d.contains(needle))
            .unwrap_or_else(|| panic!("{needle} not deleted: {deletes:?}"))
    };
    let cluster_deleted = deletes
        .iter()
        .position(|d| *d == format!("DELETE /clusters/{stack}"))
        .unwrap_or_else(|| panic!("the cluster was not deleted: {deletes:?}"));
    // Newest first: the node group the other (concurrent) create made, the OIDC provider and
    // SG rules, then the cluster, then the roles.
    assert!(pos(&format!("DELETE /clusters/{stack}/node-groups/")) < cluster_deleted);
    assert!(pos("DeleteOpenIDConnectProvider") < cluster_deleted);
    assert!(pos("RevokeSecurityGroupIngress") < cluster_deleted);
    assert!(cluster_deleted < pos("DeleteRole"));
    block_on(async {
        for role in [format!("{stack}-cluster"), format!("{stack}-nodes")] {
            assert!(role_tags(&role).await.is_none(), "role {role} left behind");
        }
        let eks = aws_sdk_eks::Client::new(&config_via(&env.shim.url).await);
        assert!(eks.describe_cluster().name(&stack).send().await.is_err());
        let ngs = eks.list_nodegroups().cluster_name(&stack).send().await;
        assert!(ngs.map(|n| n.nodegroups().is_empty()).unwrap_or(true));
    });
}

#[test]
fn up_dry_run_shows_nodes_apart_and_irsa_and_istio_starting_at_the_control_plane() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    std::fs::write(
        dir.path().join("meshctl.yaml"),
        "name: milestone\nregion: us-east-1\n",
    )
    .expect("write meshctl.yaml");
    let out = support::offline_meshctl(dir.path())
        .args(["up", "--dry-run", "--output", "json"])
        .output()
        .expect("meshctl runs");
    let run = Run::from(out);
    run.expect_code(0);
    let doc = run.json();
    let steps = doc["steps"].as_array().expect("steps");
    let after = |step: &str| -> Vec<String> {
        let s = steps
            .iter()
            .find(|s| s["step"] == step)
            .unwrap_or_else(|| panic!("no {step} step in {doc:#}"));
        s["after"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(after("nodes"), ["cluster"]);
    assert!(after("irsa").contains(&"cluster".to_string()));
    assert!(!after("irsa").contains(&"nodes".to_string()));
    assert_eq!(after("istio"), ["cluster"]);
    // Node groups are planned by `nodes`, not by `cluster`.
    assert!(
        support::step_actions(&doc, "nodes")
            .iter()
            .any(|(op, kind, _)| op == "create" && kind == "eks-nodegroup")
    );
    assert!(
        !support::step_actions(&doc, "cluster")
            .iter()
            .any(|(_, kind, _)| kind == "eks-nodegroup")
    );

    // The text plan says it too.
    let text = support::offline_meshctl(dir.path())
        .args(["up", "--dry-run"])
        .output()
        .expect("meshctl runs");
    let text = String::from_utf8_lossy(&text.stdout).into_owned();
    assert!(text.contains("nodes  (starts after cluster)"), "{text}");
}

#[test]
fn cluster_and_only_cluster_mean_the_control_plane_and_its_nodes() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    std::fs::write(
        dir.path().join("meshctl.yaml"),
        "name: sel\nregion: us-east-1\n",
    )
    .expect("write meshctl.yaml");
    for args in [
        vec!["cluster", "--dry-run", "--output", "json"],
        vec!["up", "--only", "cluster", "--dry-run", "--output", "json"],
    ] {
        let run = Run::from(
            support::offline_meshctl(dir.path())
                .args(&args)
                .output()
                .expect("meshctl runs"),
        );
        run.expect_code(0);
        let names: Vec<String> = run.json()["steps"]
            .as_array()
            .expect("steps")
            .iter()
            .map(|s| s["step"].as_str().unwrap_or_default().to_string())
            .collect();
        assert_eq!(names, ["cluster", "nodes"], "{args:?}");
    }
    let run = Run::from(
        support::offline_meshctl(dir.path())
            .args(["up", "--only", "nodes", "--dry-run", "--output", "json"])
            .output()
            .expect("meshctl runs"),
    );
    run.expect_code(0);
    let names: Vec<String> = run.json()["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| s["step"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(names, ["nodes"]);
}

#[test]
fn a_new_role_eks_cannot_assume_yet_is_retried_until_eks_accepts_it() {
    let env = Env::new("cluster-propagation", |subnets| {
        format!("cluster:\n{}", subnets_yaml(subnets))
    });
    // EKS answers this way while a role created seconds ago has not propagated.
    env.shim.fail_next(
        "POST /clusters",
        400,
        "InvalidParameterException",
        "Role with arn: arn:aws:iam::123456789012:role/x, could not be assumed because it does not exist or the trusted entity is not correct",
        2,
    );
    let run = env.run(&["cluster", "--yes"]);
    run.expect_code(0);
    let creates = env
        .shim
        .calls()
        .into_iter()
        .filter(|c| c.service == "eks" && c.operation == "POST /clusters")
        .count();
    assert_eq!(creates, 3, "two refused attempts, then the create");
    assert!(
        run.stderr.contains("to become usable by EKS"),
        "{}",
        run.stderr
    );
    let cleanup = env.run(&["cleanup", "--only", "cluster", "--yes"]);
    cleanup.expect_code(0);
}

// ---------------------------------------------------------------------------------------
// The cluster in a network of its own (no `cluster.subnet_ids`): src/steps/network.rs.
// ---------------------------------------------------------------------------------------

fn ec2_filter(name: &str, value: &str) -> aws_sdk_ec2::types::Filter {
    aws_sdk_ec2::types::Filter::builder()
        .name(name)
        .values(value)
        .build()
}

/// The stack's own VPC: `(vpc id, [(subnet id, zone, tier tag)])`, found by the stack tag.
async fn own_network(stack: &str) -> (String, Vec<(String, String, String)>) {
    let ec2 = aws_sdk_ec2::Client::new(&sdk_config().await);
    let vpcs = ec2
        .describe_vpcs()
        .filters(ec2_filter(&format!("tag:{STACK_TAG}"), stack))
        .send()
        .await
        .expect("DescribeVpcs");
    assert_eq!(vpcs.vpcs().len(), 1, "one VPC for the stack: {vpcs:?}");
    let vpc = vpcs.vpcs()[0].vpc_id().unwrap_or_default().to_string();
    let subnets = ec2
        .describe_subnets()
        .filters(ec2_filter("vpc-id", &vpc))
        .send()
        .await
        .expect("DescribeSubnets");
    let list = subnets
        .subnets()
        .iter()
        .map(|s| {
            let tier = if s
                .tags()
                .iter()
                .any(|t| t.key() == Some("kubernetes.io/role/elb"))
            {
                "public"
            } else if s
                .tags()
                .iter()
                .any(|t| t.key() == Some("kubernetes.io/role/internal-elb"))
            {
                "private"
            } else {
                "other"
            };
            (
                s.subnet_id().unwrap_or_default().to_string(),
                s.availability_zone().unwrap_or_default().to_string(),
                tier.to_string(),
            )
        })
        .collect();
    (vpc, list)
}

fn own_network_yaml(_: &[String]) -> String {
    format!(
        "cluster:\n  admins: [\"arn:aws:iam::123456789012:role/platform-admins\"]\n{NODEGROUPS}"
    )
}

#[test]
fn cluster_in_its_own_vpc_is_created_once_and_cleanup_leaves_nothing_tagged() {
    let env = Env::new("cluster-own-vpc", own_network_yaml);
    let stack = env.stack.name.clone();
    let run = env.run(&["cluster", "--yes"]);
    run.expect_code(0);
    let doc = run.json();
    let outputs = doc["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .find(|s| s["step"] == "cluster")
        .expect("the cluster step")["outputs"]
        .clone();
    let issuer = outputs["oidc_issuer"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let sg = outputs["cluster_security_group_id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    // The report lists the network parts it created.
    let created: Vec<String> = step_ops(&doc, "cluster")
        .into_iter()
        .filter(|(op, _, _)| op == "create")
        .map(|(_, kind, _)| kind)
        .collect();
    for kind in [
        "vpc",
        "subnet",
        "internet-gateway",
        "nat-gateway",
        "route-table",
        "iam-role",
        "eks-cluster",
    ] {
        assert!(created.iter().any(|k| k == kind), "{kind}: {created:?}");
    }
    let ids = |key: &str| -> Vec<String> {
        let mut v: Vec<String> = outputs[key]
            .as_str()
            .unwrap_or_default()
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        v.sort();
        v
    };

    block_on(async {
        // One VPC for the stack, with DNS hostnames, public and private subnets in >= 2 zones.
        let (vpc, subnets) = own_network(&stack).await;
        assert_ne!(vpc, env.vpc, "the stack made its own VPC");
        assert_eq!(outputs["vpc_id"], vpc.as_str(), "{outputs:#}");
        let tier = |t: &str| -> (Vec<String>, BTreeSet<String>) {
            let mut ids: Vec<String> = subnets
                .iter()
                .filter(|s| s.2 == t)
                .map(|s| s.0.clone())
                .collect();
            ids.sort();
            let zones = subnets
                .iter()
                .filter(|s| s.2 == t)
                .map(|s| s.1.clone())
                .collect();
            (ids, zones)
        };
        let (public, public_zones) = tier("public");
        let (private, private_zones) = tier("private");
        assert!(public_zones.len() >= 2, "{subnets:?}");
        assert_eq!(public_zones, private_zones, "{subnets:?}");
        assert_eq!(ids("public_subnet_ids"), public);
        assert_eq!(ids("private_subnet_ids"), private);
        let ec2 = aws_sdk_ec2::Client::new(&sdk_config().await);
        let dns = ec2
            .describe_vpc_attribute()
            .vpc_id(&vpc)
            .attribute(aws_sdk_ec2::types::VpcAttributeName::EnableDnsHostnames)
            .send()
            .await
            .expect("DescribeVpcAttribute");
        assert_eq!(
            dns.enable_dns_hostnames().and_then(|a| a.value()),
            Some(true)
        );
        // Internet gateway, NAT gateway with its address, route tables: all tagged.
        let tagged = tagged_aws(&stack, &env.shim.url).await;
        for kind in [
            "internet-gateway",
            "nat-gateway",
            "elastic-ip",
            "route-table",
        ] {
            assert!(
                tagged.iter().any(|t| t.starts_with(&format!("{kind} "))),
                "no {kind} tagged for the stack: {tagged:?}"
            );
        }
        // The cluster runs in the stack's private and public subnets, in API mode.
        let eks = aws_sdk_eks::Client::new(&config_via(&env.shim.url).await);
        let c = eks
            .describe_cluster()
            .name(&stack)
            .send()
            .await
            .expect("DescribeCluster")
            .cluster
            .expect("the cluster");
        assert_eq!(
            c.access_config()
                .and_then(|a| a.authentication_mode())
                .map(|m| m.as_str()),
            Some("API")
        );
        let vpc_config = c.resources_vpc_config().expect("resourcesVpcConfig");
        assert_eq!(vpc_config.vpc_id(), Some(vpc.as_str()));
        let mut cluster_subnets = vpc_config.subnet_ids().to_vec();
        cluster_subnets.sort();
        let mut all: Vec<String> = public.iter().chain(&private).cloned().collect();
        all.sort();
        assert_eq!(cluster_subnets, all);
        // Both roles; node groups in the private subnets; Istio's rules; the OIDC provider.
        for role in [format!("{stack}-cluster"), format!("{stack}-nodes")] {
            assert!(
                tagged.contains(&format!("iam-role {role}")),
                "{role}: {tagged:?}"
            );
        }
        for ng in ["general", "spot"] {
            let n = eks
                .describe_nodegroup()
                .cluster_name(&stack)
                .nodegroup_name(ng)
                .send()
                .await
                .expect("DescribeNodegroup")
                .nodegroup
                .expect("a node group");
            let mut in_subnets = n.subnets().to_vec();
            in_subnets.sort();
            assert_eq!(in_subnets, private, "{ng}");
        }
        let rules = ingress_rules(&sg, &stack).await;
        for port in [15017, 15012] {
            assert!(rules.contains(&(port, sg.clone(), true)), "{rules:?}");
        }
        let providers = oidc_providers(&issuer, &stack).await;
        assert_eq!(providers.len(), 1, "{providers:?}");
        assert!(providers[0].1);
    });

    // A second run observes and changes nothing, network included.
    env.shim.reset_calls();
    let again = env.run(&["cluster", "--yes"]);
    again.expect_code(0);
    let mutating = env.shim.mutating_calls();
    assert!(mutating.is_empty(), "second run mutated: {mutating:?}");
    assert!(
        env.shim
            .calls()
            .iter()
            .any(|c| c.operation == "DescribeVpcs"),
        "the second run did not look at the network through the shim"
    );
    let doc = again.json();
    for step in ["cluster", "nodes"] {
        for (op, kind, name) in step_ops(&doc, step) {
            assert_eq!(op, "keep", "{step}: {kind} {name}");
        }
    }
    let plan = env.run(&["cluster", "--dry-run"]);
    plan.expect_code(0);
    assert_eq!(plan.json()["summary"]["create"], 0, "{}", plan.stdout);

    let cleanup = env.run(&["cleanup", "--only", "cluster", "--yes"]);
    cleanup.expect_code(0);
    block_on(async {
        let left = tagged_aws(&stack, &env.shim.url).await;
        assert!(left.is_empty(), "left behind: {left:?}");
        let eks = aws_sdk_eks::Client::new(&config_via(&env.shim.url).await);
        assert!(eks.describe_cluster().name(&stack).send().await.is_err());
        assert!(vpc_exists(&env.vpc).await, "an untagged VPC was deleted");
    });
    // Load balancers first, node groups before the cluster, the VPC last.
    let ops: Vec<String> = env.shim.calls().into_iter().map(|c| c.operation).collect();
    let at = |needle: &str| {
        ops.iter()
            .rposition(|o| o.contains(needle))
            .unwrap_or_else(|| panic!("no {needle}: {ops:?}"))
    };
    assert!(
        at(&format!("DELETE /clusters/{stack}/node-groups/"))
            < at(&format!("DELETE /clusters/{stack}"))
    );
    assert!(at(&format!("DELETE /clusters/{stack}")) < at("DeleteNatGateway"));
    assert!(at("DeleteNatGateway") < at("DeleteVpc"));
}

#[test]
fn a_failure_after_the_network_and_control_plane_rolls_back_the_vpc_too() {
    let env = Env::new("own-vpc-rollback", own_network_yaml);
    let stack = env.stack.name.clone();
    env.shim.fail_next(
        &format!("POST /clusters/{stack}/node-groups"),
        400,
        "InvalidParameterException",
        "injected: the requested instance type is not offered in this zone",
        1,
    );
    let run = env.run(&["cluster", "--yes"]);
    run.expect_code(1);
    let ops: Vec<String> = env.shim.calls().into_iter().map(|c| c.operation).collect();
    assert!(ops.iter().any(|o| o == "CreateVpc"), "{ops:?}");
    assert!(ops.iter().any(|o| o == "CreateNatGateway"), "{ops:?}");
    let at = |needle: &str| {
        ops.iter()
            .position(|o| o == needle)
            .unwrap_or_else(|| panic!("no {needle}: {ops:?}"))
    };
    // Newest first: the cluster goes before the network it ran in.
    assert!(at(&format!("DELETE /clusters/{stack}")) < at("DeleteNatGateway"));
    assert!(at("DeleteNatGateway") < at("DeleteVpc"));
    block_on(async {
        let left = tagged_aws(&stack, &env.shim.url).await;
        assert!(left.is_empty(), "left behind after rollback: {left:?}");
        assert!(vpc_exists(&env.vpc).await, "an untagged VPC was deleted");
    });
}

#[test]
fn the_control_plane_does_not_wait_for_nat_but_node_groups_do() {
    // meshctl -> EKS shim -> EC2 shim (reports every NAT gateway as still pending) -> moto.
    let ec2_shim = support::ec2_shim::Ec2Shim::start(&moto());
    ec2_shim.hold_nat_gateways_pending(true);
    let env = Env::via("own-vpc-nat", &ec2_shim.url, own_network_yaml);
    let stack = env.stack.name.clone();
    let run = env.run(&["cluster", "--yes", "--timeout", "10s"]);
    run.expect_code(1);
    assert!(
        run.stderr.contains("timed out") && run.stderr.contains("NAT gateway"),
        "the timeout names what it waited for: {}",
        run.stderr
    );
    let ops: Vec<String> = env.shim.calls().into_iter().map(|c| c.operation).collect();
    let nat = ops
        .iter()
        .position(|o| o == "CreateNatGateway")
        .unwrap_or_else(|| panic!("no NAT gateway: {ops:?}"));
    let create = ops
        .iter()
        .position(|o| o == "POST /clusters")
        .unwrap_or_else(|| panic!("no CreateCluster: {ops:?}"));
    // The cluster was created while its NAT gateway was pending; no node group was.
    assert!(nat < create, "{ops:?}");
    assert!(
        !ops.iter()
            .any(|o| o.starts_with(&format!("POST /clusters/{stack}/node-groups"))),
        "a node group was created before its NAT gateway was available: {ops:?}"
    );
    // The timed-out run is rolled back, network included.
    block_on(async {
        let left = tagged_aws(&stack, &env.shim.url).await;
        assert!(left.is_empty(), "left behind: {left:?}");
    });
}
