//! `meshctl doctor` through the binary against moto (EC2, EKS, IAM, AMP, Service Quotas) and
//! the real helm: a ready account, a VPC quota that a new stack would exceed, a missing helm,
//! no credentials, and a config that does not load. Each scenario uses a region of its own, so
//! VPCs other tests create in the shared moto do not count.

use serde_json::Value;

use crate::helm::test_helm;
use crate::support;
use support::{Run, Stack, block_on};

fn finding<'a>(report: &'a Value, check: &str) -> &'a Value {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"] == check)
        .unwrap_or_else(|| panic!("no finding `{check}` in {report:#}"))
}

fn doctor(stack: &Stack, region: &str, helm: &str) -> Run {
    let out = stack
        .cmd()
        .env("MESHCTL_HELM", helm)
        .env("AWS_REGION", region)
        .args(["doctor", "--region", region, "--output", "json"])
        .output()
        .expect("meshctl runs");
    Run::from(out)
}

async fn ec2(region: &str) -> aws_sdk_ec2::Client {
    let conf = aws_sdk_ec2::config::Builder::from(&support::sdk_config().await)
        .region(aws_types::region::Region::new(region.to_string()))
        .build();
    aws_sdk_ec2::Client::from_conf(conf)
}

#[test]
fn doctor_reports_a_ready_account_with_every_check_ok() {
    let stack = Stack::new("doctor_ready");
    let helm = test_helm();
    let run = doctor(&stack, "ap-southeast-2", helm.to_str().unwrap());
    let report = run.json();
    assert_eq!(run.code, Some(0), "{report:#}\n{}", run.stderr);
    assert_eq!(report["kind"], "doctor");
    assert_eq!(report["status"], "ready", "{report:#}");
    assert_eq!(finding(&report, "config")["outcome"], "ok");
    assert!(
        finding(&report, "region")["detail"]
            .as_str()
            .unwrap()
            .contains("ap-southeast-2 (from --region)"),
        "{report:#}"
    );
    assert!(
        finding(&report, "credentials")["detail"]
            .as_str()
            .unwrap()
            .contains(support::MOTO_ACCOUNT),
        "{report:#}"
    );
    assert_eq!(finding(&report, "helm")["outcome"], "ok", "{report:#}");
    for endpoint in ["ec2", "eks", "iam", "aps", "grafana"] {
        assert_eq!(
            finding(&report, &format!("endpoint {endpoint}"))["outcome"],
            "ok",
            "{report:#}"
        );
    }
    for quota in ["quota VPCs", "quota NAT gateways", "quota Elastic IPs"] {
        assert_eq!(finding(&report, quota)["outcome"], "ok", "{report:#}");
    }
}

#[test]
fn doctor_fails_when_a_new_stack_would_exceed_the_vpc_quota() {
    let region = "ap-northeast-3";
    let stack = Stack::new("doctor_quota");
    // Fill the region up to moto's quota of 5 VPCs (the default VPC is one of them).
    block_on(async {
        let ec2 = ec2(region).await;
        let used = ec2.describe_vpcs().send().await.unwrap().vpcs().len();
        for i in used..5 {
            ec2.create_vpc()
                .cidr_block(format!("10.{}.0.0/16", 100 + i))
                .send()
                .await
                .unwrap();
        }
    });
    let helm = test_helm();
    let run = doctor(&stack, region, helm.to_str().unwrap());
    let report = run.json();
    assert_eq!(run.code, Some(1), "{report:#}");
    assert_eq!(report["status"], "problems");
    let vpcs = finding(&report, "quota VPCs");
    assert_eq!(vpcs["outcome"], "fail", "{report:#}");
    assert!(
        vpcs["detail"].as_str().unwrap().contains("5 used of 5"),
        "{report:#}"
    );
    assert!(
        vpcs["fix"].as_str().unwrap().contains("quota increase"),
        "{report:#}"
    );
}

#[test]
fn doctor_names_a_missing_helm_and_missing_credentials_with_their_fixes() {
    let stack = Stack::new("doctor_missing");
    let run = doctor(&stack, "ap-southeast-2", "/nonexistent/helm");
    let report = run.json();
    assert_eq!(run.code, Some(1), "{report:#}");
    let helm = finding(&report, "helm");
    assert_eq!(helm["outcome"], "fail");
    assert!(helm["fix"].as_str().unwrap().contains("helm"), "{report:#}");

    // Without credentials: the credentials check fails with its fix; the config still loads.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("meshctl.yaml"), "name: offline\n").unwrap();
    let out = support::offline_meshctl(dir.path())
        .env("MESHCTL_HELM", test_helm())
        .args(["doctor", "--output", "json"])
        .output()
        .unwrap();
    let run = Run::from(out);
    let report = run.json();
    assert_eq!(run.code, Some(1), "{report:#}");
    assert_eq!(finding(&report, "config")["outcome"], "ok");
    let creds = finding(&report, "credentials");
    assert_eq!(creds["outcome"], "fail", "{report:#}");
    assert!(
        creds["fix"].as_str().unwrap().contains("AWS_PROFILE"),
        "{report:#}"
    );
}

#[test]
fn doctor_reports_a_broken_config_and_still_checks_the_rest() {
    let stack = Stack::builder("doctor_bad_config")
        .yaml("amp:\n  aliass: typo\n")
        .build();
    let helm = test_helm();
    let run = doctor(&stack, "ap-southeast-2", helm.to_str().unwrap());
    let report = run.json();
    assert_eq!(run.code, Some(1), "{report:#}");
    let config = finding(&report, "config");
    assert_eq!(config["outcome"], "fail", "{report:#}");
    assert!(
        config["detail"].as_str().unwrap().contains("aliass"),
        "{report:#}"
    );
    assert_eq!(
        finding(&report, "credentials")["outcome"],
        "ok",
        "{report:#}"
    );
    assert_eq!(
        finding(&report, "endpoint ec2")["outcome"],
        "ok",
        "{report:#}"
    );
}
