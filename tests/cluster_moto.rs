//! The `cluster` and `nodes` steps through the real binary against moto, with the EKS shim
//! (tests/support/eks_shim.rs) in front of it for what moto's EKS lacks.

use crate::support;

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
