//! `meshctl doctor`: is this machine and account ready for `meshctl up`? It checks the config,
//! the region, the credentials (whose they are), the `helm` binary, that every endpoint the
//! stack needs answers, and the quotas that most often stop an EKS stack (VPCs per region,
//! Elastic IPs, NAT gateways per zone). It changes nothing: only read calls.

use std::fmt;

use serde::Serialize;

use crate::aws::{Aws, Connection, error_chain, sdk_error};
use crate::config::Config;
use crate::error::{Error, exit};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Ok,
    /// Works now, but worth a look (e.g. a quota nearly used up).
    Warn,
    /// Would stop `meshctl up`.
    Fail,
}

#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub check: String,
    pub outcome: Outcome,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Finding {
    fn ok(check: impl Into<String>, detail: impl Into<String>) -> Finding {
        Finding {
            check: check.into(),
            outcome: Outcome::Ok,
            detail: detail.into(),
            fix: None,
        }
    }

    fn warn(
        check: impl Into<String>,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Finding {
        Finding {
            check: check.into(),
            outcome: Outcome::Warn,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }

    fn fail(
        check: impl Into<String>,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Finding {
        Finding {
            check: check.into(),
            outcome: Outcome::Fail,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct DoctorReport {
    /// Always `"doctor"`.
    pub kind: &'static str,
    /// `ready`, or `problems` when a check failed.
    pub status: &'static str,
    pub findings: Vec<Finding>,
}

impl DoctorReport {
    pub fn exit_code(&self) -> i32 {
        if self.findings.iter().any(|f| f.outcome == Outcome::Fail) {
            exit::FAILED
        } else {
            exit::OK
        }
    }
}

impl fmt::Display for DoctorReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for x in &self.findings {
            let mark = match x.outcome {
                Outcome::Ok => "✓",
                Outcome::Warn => "!",
                Outcome::Fail => "✗",
            };
            writeln!(f, "{mark} {:<22} {}", x.check, x.detail)?;
            if let Some(fix) = &x.fix {
                writeln!(f, "    fix: {fix}")?;
            }
        }
        let failed = self
            .findings
            .iter()
            .filter(|x| x.outcome == Outcome::Fail)
            .count();
        if failed == 0 {
            write!(f, "Ready: nothing here stops `meshctl up`.")
        } else {
            write!(
                f,
                "{failed} problem(s) would stop `meshctl up`; each has its fix above."
            )
        }
    }
}

/// What `doctor` starts from: the config (or why it did not load) and how to reach AWS.
pub struct Inputs {
    pub config: Result<Config, Error>,
    /// The region to check when the config did not load.
    pub fallback_region: String,
    pub profile: Option<String>,
    pub call_timeout: std::time::Duration,
}

pub async fn run(inputs: Inputs) -> DoctorReport {
    let mut findings = vec![];
    let region = match &inputs.config {
        Ok(c) => {
            findings.push(Finding::ok(
                "config",
                format!("stack `{}` is valid", c.name),
            ));
            for w in &c.warnings {
                findings.push(Finding::warn("config", w.clone(), "see docs/config.md"));
            }
            findings.push(Finding::ok(
                "region",
                format!("{} (from {})", c.region, c.region_source),
            ));
            c.region.clone()
        }
        Err(e) => {
            findings.push(Finding::fail(
                "config",
                e.to_string(),
                miette::Diagnostic::help(e)
                    .map(|h| h.to_string())
                    .unwrap_or_else(|| "fix meshctl.yaml (see docs/config.md)".into()),
            ));
            inputs.fallback_region.clone()
        }
    };
    findings.push(helm().await);
    let aws = match Aws::connect(&region, inputs.profile.as_deref(), inputs.call_timeout).await {
        Ok(Connection::Online(aws)) => {
            findings.push(Finding::ok(
                "credentials",
                format!("account {}", aws.account),
            ));
            Some(*aws)
        }
        Ok(Connection::Offline { reason }) => {
            findings.push(Finding::fail(
                "credentials",
                format!("no AWS credentials: {reason}"),
                "set AWS_PROFILE (or --profile), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
            ));
            None
        }
        Err(e) => {
            findings.push(Finding::fail(
                "credentials",
                e.to_string(),
                miette::Diagnostic::help(&e)
                    .map(|h| h.to_string())
                    .unwrap_or_default(),
            ));
            None
        }
    };
    if let Some(aws) = &aws {
        findings.extend(endpoints(aws, inputs.config.as_ref().ok()).await);
        findings.extend(quotas(aws).await);
    }
    let status = if findings.iter().any(|f| f.outcome == Outcome::Fail) {
        "problems"
    } else {
        "ready"
    };
    DoctorReport {
        kind: "doctor",
        status,
        findings,
    }
}

async fn helm() -> Finding {
    match crate::helm::Helm::locate().await {
        Ok(h) => Finding::ok("helm", format!("{} at {}", h.version(), h.path().display())),
        Err(e) => Finding::fail(
            "helm",
            e.to_string(),
            miette::Diagnostic::help(&e)
                .map(|h| h.to_string())
                .unwrap_or_else(|| "install helm 3.14 or newer".into()),
        ),
    }
}

/// One cheap read call per AWS service the stack uses: it answers, or says how it failed.
async fn endpoints(aws: &Aws, config: Option<&Config>) -> Vec<Finding> {
    let mut out = vec![];
    let mut record = |service: &str, result: Result<(), Error>| {
        out.push(match result {
            Ok(()) => Finding::ok(format!("endpoint {service}"), "answers"),
            Err(e) => Finding::fail(
                format!("endpoint {service}"),
                e.to_string(),
                miette::Diagnostic::help(&e)
                    .map(|h| h.to_string())
                    .unwrap_or_default(),
            ),
        });
    };
    record(
        "ec2",
        aws.ec2()
            .describe_availability_zones()
            .send()
            .await
            .map(|_| ())
            .map_err(|e| sdk_error("ec2", "DescribeAvailabilityZones", &e)),
    );
    record(
        "eks",
        aws.eks()
            .list_clusters()
            .max_results(1)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| sdk_error("eks", "ListClusters", &e)),
    );
    record(
        "iam",
        aws.iam()
            .list_roles()
            .max_items(1)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| sdk_error("iam", "ListRoles", &e)),
    );
    record(
        "aps",
        aws.amp()
            .list_workspaces()
            .max_results(1)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| sdk_error("amp", "ListWorkspaces", &e)),
    );
    if config.is_none_or(|c| c.grafana.enabled) {
        record(
            "grafana",
            aws.grafana()
                .list_workspaces()
                .max_results(1)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| sdk_error("grafana", "ListWorkspaces", &e)),
        );
    }
    if let Some(bucket) = config.and_then(|c| c.state.strip_prefix("s3://")) {
        let bucket = bucket.split('/').next().unwrap_or_default().to_string();
        record(
            "s3 (state)",
            crate::aws::s3_client(&aws.sdk)
                .head_bucket()
                .bucket(&bucket)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| sdk_error("s3", "HeadBucket", &e)),
        );
    }
    if let Some(c) = config.filter(|c| c.pagerduty.enabled) {
        out.push(http_reachable("PagerDuty API", &c.pagerduty.api_url).await);
    }
    out
}

/// Any HTTP answer means the host is reachable (the API itself then checks the key).
async fn http_reachable(name: &str, url: &str) -> Finding {
    let check = format!("endpoint {name}");
    let client = match crate::http::client("doctor", None) {
        Ok(c) => c,
        Err(e) => {
            return Finding::fail(check, e.to_string(), "check HTTPS_PROXY and the CA bundle");
        }
    };
    match client.get(url).send().await {
        Ok(resp) => Finding::ok(
            check,
            format!("{url} answers (HTTP {})", resp.status().as_u16()),
        ),
        Err(e) => Finding::fail(
            check,
            format!("{url} does not answer: {}", error_chain(&e)),
            "check the network path (HTTPS_PROXY, NO_PROXY, firewall) to that host",
        ),
    }
}

/// Service Quotas codes (service `vpc`) of the quotas a new stack uses.
const VPCS_PER_REGION: &str = "L-F678F1CE";
const NAT_GATEWAYS_PER_ZONE: &str = "L-FE5A380F";

/// Compare what the account uses with its quotas, counting what a new stack needs: one VPC,
/// one NAT gateway per zone (with `nat: per-az`; one in all otherwise) and one Elastic IP each.
async fn quotas(aws: &Aws) -> Vec<Finding> {
    let mut out = vec![];
    let ec2 = aws.ec2();
    let sq = aws.servicequotas();
    let quota = |code: &'static str| {
        let sq = sq.clone();
        async move {
            sq.get_service_quota()
                .service_code("vpc")
                .quota_code(code)
                .send()
                .await
                .map_err(|e| sdk_error("servicequotas", "GetServiceQuota", &e))
                .map(|o| o.quota.and_then(|q| q.value).unwrap_or_default() as i64)
        }
    };
    // VPCs.
    let used = ec2
        .describe_vpcs()
        .send()
        .await
        .map(|o| o.vpcs().len() as i64)
        .map_err(|e| sdk_error("ec2", "DescribeVpcs", &e));
    out.push(judge("quota VPCs", used, quota(VPCS_PER_REGION).await, 1));
    // NAT gateways, in the busiest zone.
    let nat = ec2
        .describe_nat_gateways()
        .send()
        .await
        .map_err(|e| sdk_error("ec2", "DescribeNatGateways", &e));
    let subnets = ec2
        .describe_subnets()
        .send()
        .await
        .map_err(|e| sdk_error("ec2", "DescribeSubnets", &e));
    let busiest = match (nat, subnets) {
        (Ok(nat), Ok(subnets)) => {
            let mut per_zone = std::collections::BTreeMap::<String, i64>::new();
            for g in nat.nat_gateways().iter().filter(|g| {
                !matches!(
                    g.state(),
                    Some(aws_sdk_ec2::types::NatGatewayState::Deleted)
                        | Some(aws_sdk_ec2::types::NatGatewayState::Deleting)
                )
            }) {
                let zone = subnets
                    .subnets()
                    .iter()
                    .find(|s| s.subnet_id() == g.subnet_id())
                    .and_then(|s| s.availability_zone())
                    .unwrap_or("?")
                    .to_string();
                *per_zone.entry(zone).or_default() += 1;
            }
            Ok(per_zone.values().copied().max().unwrap_or(0))
        }
        (Err(e), _) | (_, Err(e)) => Err(e),
    };
    out.push(judge(
        "quota NAT gateways",
        busiest,
        quota(NAT_GATEWAYS_PER_ZONE).await,
        1,
    ));
    // Elastic IPs: the account attribute is the quota.
    let used = ec2
        .describe_addresses()
        .send()
        .await
        .map(|o| o.addresses().len() as i64)
        .map_err(|e| sdk_error("ec2", "DescribeAddresses", &e));
    let limit = elastic_ip_limit(&ec2).await;
    out.push(judge("quota Elastic IPs", used, limit, 1));
    out
}

/// The account attribute `vpc-max-elastic-ips` (EC2 reports the Elastic IP quota there).
async fn elastic_ip_limit(ec2: &aws_sdk_ec2::Client) -> Result<i64, Error> {
    let out = ec2
        .describe_account_attributes()
        .send()
        .await
        .map_err(|e| sdk_error("ec2", "DescribeAccountAttributes", &e))?;
    out.account_attributes()
        .iter()
        .find(|a| a.attribute_name() == Some("vpc-max-elastic-ips"))
        .and_then(|a| a.attribute_values().first())
        .and_then(|v| v.attribute_value())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| Error::Aws {
            service: "ec2",
            operation: "DescribeAccountAttributes",
            message: "no vpc-max-elastic-ips attribute in the answer".into(),
            help: "check the quota in the Service Quotas console".into(),
        })
}

/// `used + needed` against `limit`: fail when a new stack would not fit, warn when it fits
/// with nothing to spare.
fn judge(check: &str, used: Result<i64, Error>, limit: Result<i64, Error>, needed: i64) -> Finding {
    let (used, limit) = match (used, limit) {
        (Ok(u), Ok(l)) => (u, l),
        (Err(e), _) | (_, Err(e)) => {
            return Finding::warn(
                check,
                format!("could not be read: {e}"),
                "allow ec2:Describe* and servicequotas:GetServiceQuota to check quotas before `up`",
            );
        }
    };
    let detail = format!("{used} used of {limit}; a new stack needs {needed} more");
    if used + needed > limit {
        Finding::fail(
            check,
            detail,
            "free some (delete unused ones) or request a quota increase in the Service Quotas console before `meshctl up`",
        )
    } else if used + needed == limit {
        Finding::warn(
            check,
            detail,
            "the new stack uses the last one: request an increase if you run more stacks",
        )
    } else {
        Finding::ok(check, detail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotas_fail_when_a_new_stack_would_not_fit_and_warn_at_the_last_one() {
        assert_eq!(judge("q", Ok(5), Ok(5), 1).outcome, Outcome::Fail);
        assert_eq!(judge("q", Ok(4), Ok(5), 1).outcome, Outcome::Warn);
        assert_eq!(judge("q", Ok(1), Ok(5), 1).outcome, Outcome::Ok);
        let f = judge("q", Ok(5), Ok(5), 1);
        assert!(f.detail.contains("5 used of 5"), "{}", f.detail);
        assert!(f.fix.unwrap().contains("quota increase"));
        let unreadable = judge("q", Err(Error::usage("denied", "")), Ok(5), 1);
        assert_eq!(unreadable.outcome, Outcome::Warn);
    }
}
