//! Value rules for a deserialized [`Config`]. Every rule runs and every problem is returned,
//! each with the key path it concerns and a sentence that says how to fix it.

use std::collections::BTreeSet;
use std::time::Duration;

use super::tree::{Seg, keys};
use super::{
    Config, EKS_MINOR_VERSIONS, ISTIO_MINOR_VERSIONS, MAX_USER_TAGS, MIN_SCRAPE_INTERVAL,
    NODE_DISK_GIB, STACK_TAG,
};

/// A problem with one key: its path and what to do about it.
pub(crate) type Finding = (Vec<Seg>, String);

pub(crate) fn check(c: &Config) -> Vec<Finding> {
    let mut out: Vec<Finding> = vec![];
    let mut add = |path: Vec<Seg>, r: Result<(), String>| {
        if let Err(m) = r {
            out.push((path, m));
        }
    };

    if c.name.is_empty() {
        add(
            keys(&["name"]),
            Err("is required: add `name: <stack>` to the file (or set MESHCTL_NAME); it tags everything \
                 the stack owns, so use 1 to 32 lowercase letters, digits and hyphens, e.g. `demo`"
                .into()),
        );
    } else {
        add(keys(&["name"]), stack_name(&c.name));
    }
    add(keys(&["region"]), region(&c.region));
    add(keys(&["state"]), state(&c.state));
    for (path, m) in tags(c) {
        add(path, Err(m));
    }

    // cluster
    if let Some(name) = &c.cluster.name {
        add(keys(&["cluster", "name"]), cluster_name(name));
    } else if !c.cluster.create {
        add(
            keys(&["cluster", "name"]),
            Err(
                "required when `cluster.create` is false: name the existing EKS cluster to adopt \
                 (`cluster.name: <name>`), so the stack name is never taken for it by accident"
                    .into(),
            ),
        );
    }
    add(
        keys(&["cluster", "version"]),
        kubernetes_version(&c.cluster.version),
    );
    add(
        keys(&["cluster", "vpc_cidr"]),
        vpc_cidr(&c.cluster.vpc_cidr),
    );
    if c.cluster.create && c.cluster.nodegroups.is_empty() {
        add(
            keys(&["cluster", "nodegroups"]),
            Err(
                "a new cluster needs at least one node group: add an entry such as \
                 `- {name: default, instance_types: [m5.large]}`"
                    .into(),
            ),
        );
    }
    for (path, m) in cluster_settings(c) {
        add(path, Err(m));
    }
    let mut seen = BTreeSet::new();
    for (i, ng) in c.cluster.nodegroups.iter().enumerate() {
        let at = |k: &str| {
            vec![
                Seg::Key("cluster".into()),
                Seg::Key("nodegroups".into()),
                Seg::Index(i),
                Seg::Key(k.into()),
            ]
        };
        add(at("name"), nodegroup_name(&ng.name));
        if !seen.insert(ng.name.as_str()) {
            add(
                at("name"),
                Err(format!(
                    "node group `{}` is listed twice: give each node group its own name",
                    ng.name
                )),
            );
        }
        if ng.instance_types.is_empty() {
            add(
                at("instance_types"),
                Err("list at least one EC2 instance type, e.g. `[m5.large]`".into()),
            );
        }
        for (j, t) in ng.instance_types.iter().enumerate() {
            let mut p = at("instance_types");
            p.push(Seg::Index(j));
            add(p, instance_type(t));
        }
        add(
            at("capacity_type"),
            one_of(&ng.capacity_type, CAPACITY_TYPES),
        );
        add(at("ami_type"), one_of(&ng.ami_type, AMI_TYPES));
        for (j, t) in ng.taints.iter().enumerate() {
            let mut p = at("taints");
            p.push(Seg::Index(j));
            p.push(Seg::Key("effect".into()));
            add(p, one_of(&t.effect, TAINT_EFFECTS));
            if t.key.is_empty() || t.key.len() > 63 {
                let mut p = at("taints");
                p.push(Seg::Index(j));
                p.push(Seg::Key("key".into()));
                add(p, Err("a taint key needs 1 to 63 characters".into()));
            }
        }
        for k in ng.labels.keys() {
            if k.is_empty() || k.len() > 317 || k.starts_with("kubernetes.io/") {
                add(
                    at("labels"),
                    Err(format!(
                        "`{k}` cannot be a node label key here: use a non-empty key outside the reserved `kubernetes.io/` prefix"
                    )),
                );
            }
        }
        if ng.max_size < 1 {
            add(
                at("max_size"),
                Err(
                    "must be at least 1: a node group that can hold no node cannot run anything"
                        .into(),
                ),
            );
        }
        if ng.min_size > ng.desired_size || ng.desired_size > ng.max_size {
            add(
                at("desired_size"),
                Err(format!(
                    "sizes must satisfy min_size <= desired_size <= max_size, but they are {} <= {} <= {}: \
                     adjust them",
                    ng.min_size, ng.desired_size, ng.max_size
                )),
            );
        }
        if !NODE_DISK_GIB.contains(&ng.disk_size_gib) {
            add(
                at("disk_size_gib"),
                Err(format!(
                    "{} GiB is outside the {} to {} GiB EBS volume sizes: choose a size in that range",
                    ng.disk_size_gib,
                    NODE_DISK_GIB.start(),
                    NODE_DISK_GIB.end()
                )),
            );
        }
    }

    // kubernetes
    if let Some(path) = &c.kubernetes.kubeconfig {
        add(
            keys(&["kubernetes", "kubeconfig"]),
            kubeconfig(&path.to_string_lossy()),
        );
    }
    if let Some(ctx) = &c.kubernetes.context
        && ctx.trim().is_empty()
    {
        add(
            keys(&["kubernetes", "context"]),
            Err("is empty: name a context from the kubeconfig, or remove the key".into()),
        );
    }

    // istio
    add(keys(&["istio", "version"]), istio_version(&c.istio.version));
    add(keys(&["istio", "namespace"]), namespace(&c.istio.namespace));
    add(
        keys(&["istio", "charts"]),
        crate::helm::ChartSource::parse(&c.istio.charts).map(|_| ()),
    );
    if let Some(values) = &c.istio.values
        && values.as_os_str().is_empty()
    {
        add(
            keys(&["istio", "values"]),
            Err("is empty: name a YAML values file, or remove the key".into()),
        );
    }
    for ns in &c.istio.namespaces {
        let problem = namespace(ns).err().or_else(|| {
            (ns == &c.istio.namespace
                || ns == crate::steps::istio::GATEWAY_NAMESPACE
                || ns.starts_with("kube-"))
            .then(|| {
                format!("`{ns}` is a system or Istio namespace: list only application namespaces")
            })
        });
        if let Some(p) = problem {
            add(keys(&["istio", "namespaces"]), Err(p));
        }
    }

    // amp
    if let Some(alias) = &c.amp.alias {
        add(keys(&["amp", "alias"]), amp_alias(alias));
    }
    if let Some(id) = &c.amp.workspace_id {
        add(keys(&["amp", "workspace_id"]), workspace_id(id));
    }
    add(
        keys(&["amp", "rules_namespace"]),
        rules_namespace(&c.amp.rules_namespace),
    );
    let ratio = c.amp.alerts.error_ratio;
    if !(ratio > 0.0 && ratio < 1.0) {
        add(
            keys(&["amp", "alerts", "error_ratio"]),
            Err(format!(
                "{ratio} is not a ratio strictly between 0 and 1: use e.g. 0.01 for 1% of requests failing"
            )),
        );
    }
    if c.amp.alerts.p99_latency_ms < 1 {
        add(
            keys(&["amp", "alerts", "p99_latency_ms"]),
            Err("must be at least 1 millisecond: use e.g. 500".into()),
        );
    }

    // irsa
    add(
        keys(&["irsa", "prometheus_service_account"]),
        service_account(&c.irsa.prometheus_service_account),
    );
    add(
        keys(&["irsa", "query_service_account"]),
        service_account(&c.irsa.query_service_account),
    );
    add(keys(&["irsa", "mode"]), one_of(&c.irsa.mode, IRSA_MODES));
    for (key, name) in [
        ("prometheus_role_name", &c.irsa.prometheus_role_name),
        ("query_role_name", &c.irsa.query_role_name),
    ] {
        if let Some(name) = name {
            add(keys(&["irsa", key]), iam_role_name(name));
        }
    }
    for (key, arn) in [
        ("prometheus", &c.irsa.roles.prometheus),
        ("query", &c.irsa.roles.query),
    ] {
        if let Some(arn) = arn {
            add(keys(&["irsa", "roles", key]), iam_role_arn(arn));
        }
    }

    // prometheus and kiali
    add(
        keys(&["prometheus", "namespace"]),
        namespace(&c.prometheus.namespace),
    );
    add(
        keys(&["prometheus", "scrape_interval"]),
        scrape_interval(&c.prometheus.scrape_interval),
    );
    for (path, r) in prometheus(&c.prometheus) {
        add(path, r);
    }
    add(keys(&["kiali", "namespace"]), namespace(&c.kiali.namespace));
    kiali_rules(c, &mut add);
    if let Some(sample) = &c.istio.sample {
        add(keys(&["istio", "sample"]), one_of(sample, super::SAMPLES));
    }

    // grafana
    if let Some(ws) = &c.grafana.workspace_name {
        add(
            keys(&["grafana", "workspace_name"]),
            grafana_workspace_name(ws),
        );
    }
    add(
        keys(&["grafana", "authentication"]),
        one_of(&c.grafana.authentication, GRAFANA_AUTH),
    );
    for (field, ids) in [
        ("admin_users", &c.grafana.admin_users),
        ("admin_groups", &c.grafana.admin_groups),
    ] {
        for (i, id) in ids.iter().enumerate() {
            if id.is_empty() || id.len() > 47 || id.chars().any(|ch| ch.is_whitespace()) {
                add(
                    vec![Seg::Key("grafana".into()), Seg::Key(field.into()), Seg::Index(i)],
                    Err("is not an IAM Identity Center id (1-47 characters, no spaces): copy the user or \
                         group id from the Identity Center console"
                        .into()),
                );
            }
        }
    }
    let mut dashboards = BTreeSet::new();
    for (i, id) in c.grafana.dashboards.iter().enumerate() {
        let at = vec![
            Seg::Key("grafana".into()),
            Seg::Key("dashboards".into()),
            Seg::Index(i),
        ];
        if *id == 0 {
            add(
                at.clone(),
                Err("0 is not a grafana.com dashboard id: use the positive number from the dashboard's URL".into()),
            );
        }
        if !dashboards.insert(*id) {
            add(
                at,
                Err(format!("dashboard {id} is listed twice: remove the repeat")),
            );
        }
    }

    // pagerduty
    let pd = &c.pagerduty;
    if let Some(s) = &pd.service_name
        && (s.trim().is_empty() || s.chars().count() > 255)
    {
        add(
            keys(&["pagerduty", "service_name"]),
            Err("must be 1 to 255 characters: choose a shorter name, or remove the key to use the stack name".into()),
        );
    }
    match &pd.escalation_policy_id {
        Some(id) => add(keys(&["pagerduty", "escalation_policy_id"]), escalation_policy(id)),
        None if pd.enabled && !pd.has_integration_key_source() => add(
            keys(&["pagerduty", "escalation_policy_id"]),
            Err("required when `pagerduty.enabled` is true: copy the escalation policy id (like PABC123) \
                 from its page in PagerDuty"
                .into()),
        ),
        None => {}
    }
    add(
        keys(&["pagerduty", "api_key_env"]),
        api_key_env(&pd.api_key_env),
    );
    add(
        keys(&["pagerduty", "severity"]),
        one_of(&pd.severity, SEVERITIES),
    );
    if let Some(name) = &pd.integration_key_env {
        add(
            keys(&["pagerduty", "integration_key_env"]),
            api_key_env(name).map_err(|m| {
                m.replace(
                    "api_key_env: PAGERDUTY_API_KEY",
                    "integration_key_env: PAGERDUTY_INTEGRATION_KEY",
                )
                .replace("PAGERDUTY_API_KEY", "PAGERDUTY_INTEGRATION_KEY")
            }),
        );
    }
    if let Some(arn) = &pd.integration_key_secret_arn
        && !(arn.starts_with("arn:") && arn.contains(":secretsmanager:"))
    {
        add(
            keys(&["pagerduty", "integration_key_secret_arn"]),
            Err("is not a Secrets Manager secret ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>): \
                 copy the ARN from the secret's page"
                .into()),
        );
    }
    for (key, url) in [("api_url", &pd.api_url), ("events_url", &pd.events_url)] {
        add(keys(&["pagerduty", key]), http_url(url));
    }
    add(
        keys(&["grafana", "dashboards_url"]),
        http_url(&c.grafana.dashboards_url),
    );
    if let Some(url) = &c.grafana.url {
        add(keys(&["grafana", "url"]), http_url(url));
    }

    out
}

pub(crate) const GRAFANA_AUTH: &[&str] = &["AWS_SSO", "SAML"];
/// `irsa.mode` values.
pub(crate) const IRSA_MODES: &[&str] = &["irsa", "pod-identity"];
pub(crate) const SEVERITIES: &[&str] = &["critical", "error", "warning", "info"];

fn is_lower_alnum(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

/// The stack name: it goes into IAM role names, AWS tags and Kubernetes labels.
pub(crate) fn stack_name(name: &str) -> Result<(), String> {
    const FIX: &str = "use 1 to 32 lowercase letters, digits and hyphens, starting with a letter, e.g. `demo` or `team-a-prod`";
    if name.is_empty() {
        return Err(format!(
            "is required (it tags everything the stack owns): {FIX}"
        ));
    }
    let ok = name.len() <= 32
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && !name.ends_with('-')
        && name.chars().all(|c| is_lower_alnum(c) || c == '-');
    if ok {
        Ok(())
    } else {
        Err(format!("`{name}` is not a valid stack name: {FIX}"))
    }
}

/// The regions of the `aws`, `aws-cn` and `aws-us-gov` partitions that meshctl knows.
pub const KNOWN_REGIONS: &[&str] = &[
    // aws
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-6",
    "ap-southeast-7",
    "ca-central-1",
    "ca-west-1",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "mx-central-1",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    // aws-cn
    "cn-north-1",
    "cn-northwest-1",
    // aws-us-gov
    "us-gov-east-1",
    "us-gov-west-1",
];

/// Whether `region` has the shape of a region code, `^[a-z]{2}(-[a-z]+)+-\d+$`:
/// `us-west-2`, `us-gov-west-1`, `cn-northwest-1`.
fn region_shape(region: &str) -> bool {
    let parts: Vec<&str> = region.split('-').collect();
    let lower = |p: &&str| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase());
    match parts.as_slice() {
        [first, middle @ .., last] if !middle.is_empty() => {
            first.len() == 2
                && lower(first)
                && middle.iter().all(lower)
                && !last.is_empty()
                && last.chars().all(|c| c.is_ascii_digit())
        }
        _ => false,
    }
}

/// AWS region codes: `us-west-2`, `eu-central-1`, `us-gov-west-1`, `cn-north-1`. A code of the
/// right shape that meshctl does not know passes here and is warned about by
/// [`region_warning`], so a region AWS opens after this release still works.
pub(crate) fn region(region: &str) -> Result<(), String> {
    if region_shape(region) {
        return Ok(());
    }
    let lower = region.trim().to_ascii_lowercase();
    let hint = if lower != region && region_shape(&lower) {
        format!("region codes are lowercase: use `{lower}`")
    } else {
        match super::tree::did_you_mean(region, KNOWN_REGIONS) {
            Some(s) => format!("did you mean `{s}`?"),
            None => "use a region code such as `us-west-2` or `eu-central-1`".into(),
        }
    };
    Err(format!("`{region}` is not an AWS region code: {hint}"))
}

/// A warning for a well-shaped region code that is not in [`KNOWN_REGIONS`].
pub(crate) fn region_warning(region: &str) -> Option<String> {
    if !region_shape(region) || KNOWN_REGIONS.contains(&region) {
        return None;
    }
    let guess = super::tree::did_you_mean(region, KNOWN_REGIONS)
        .map(|s| format!("did you mean `{s}`? "))
        .unwrap_or_default();
    Some(format!(
        "`{region}` is not a region meshctl knows: {guess}If it is a region AWS opened recently, \
         carry on (AWS will refuse it if it does not exist); otherwise correct it"
    ))
}

/// A directory, or `s3://bucket[/prefix]`.
pub(crate) fn state(state: &str) -> Result<(), String> {
    if state.trim().is_empty() {
        return Err(
            "is empty: use a directory such as `.meshctl`, or `s3://<bucket>/<prefix>`".into(),
        );
    }
    if let Some(rest) = state.strip_prefix("s3://") {
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        s3_bucket(bucket)?;
        if prefix.split('/').any(|p| p == "." || p == "..")
            || prefix.chars().any(|c| c.is_control())
        {
            return Err(format!(
                "the prefix `{prefix}` has `.`/`..` parts or control characters: use plain path parts such as `meshctl/prod`"
            ));
        }
        return Ok(());
    }
    if state.contains("://") {
        return Err(format!(
            "`{state}` is neither a directory nor an s3:// location: state can live in a local directory or in S3 (`s3://<bucket>/<prefix>`)"
        ));
    }
    if state.chars().any(|c| c.is_control()) {
        return Err("contains control characters: use a plain directory path".into());
    }
    Ok(())
}

/// S3 general-purpose bucket naming rules.
pub(crate) fn s3_bucket(bucket: &str) -> Result<(), String> {
    const FIX: &str = "bucket names are 3 to 63 lowercase letters, digits, dots and hyphens, start and end with a letter or digit, and are not IP addresses";
    let bad = |why: &str| {
        Err(format!(
            "`{bucket}` is not a valid S3 bucket name ({why}): {FIX}"
        ))
    };
    if bucket.is_empty() {
        return Err(format!(
            "the S3 bucket is missing: write `s3://<bucket>[/<prefix>]`; {FIX}"
        ));
    }
    if !(3..=63).contains(&bucket.len()) {
        return bad("length");
    }
    if !bucket
        .chars()
        .all(|c| is_lower_alnum(c) || c == '.' || c == '-')
    {
        return bad("characters");
    }
    if !bucket.starts_with(is_lower_alnum) || !bucket.ends_with(is_lower_alnum) {
        return bad("first or last character");
    }
    if bucket.contains("..") {
        return bad("two adjacent dots");
    }
    let parts: Vec<&str> = bucket.split('.').collect();
    if parts.len() == 4 && parts.iter().all(|p| p.parse::<u8>().is_ok()) {
        return bad("IP address");
    }
    if bucket.starts_with("xn--") || bucket.ends_with("-s3alias") || bucket.ends_with("--ol-s3") {
        return bad("reserved prefix or suffix");
    }
    Ok(())
}

fn tag_chars_ok(s: &str) -> bool {
    s.chars()
        .all(|c| c.is_alphanumeric() || c.is_whitespace() || "_.:/=+-@".contains(c))
}

fn tags(c: &Config) -> Vec<Finding> {
    let mut out = vec![];
    if c.tags.len() > MAX_USER_TAGS {
        out.push((
            keys(&["tags"]),
            format!(
                "has {} tags; at most {MAX_USER_TAGS} are allowed (AWS allows 50 per resource and meshctl adds its own): remove some",
                c.tags.len()
            ),
        ));
    }
    for (k, v) in &c.tags {
        let path = keys(&["tags", k]);
        if k.is_empty() || k.chars().count() > 128 {
            out.push((
                path.clone(),
                "tag keys must be 1 to 128 characters: shorten the key".into(),
            ));
        } else if k.to_ascii_lowercase().starts_with("aws:") {
            out.push((
                path.clone(),
                format!("`{k}`: the `aws:` prefix is reserved for AWS: choose another key"),
            ));
        } else if k == STACK_TAG {
            out.push((
                path.clone(),
                format!("`{STACK_TAG}` is set by meshctl to the stack name: remove it from `tags`"),
            ));
        } else if !tag_chars_ok(k) {
            out.push((
                path.clone(),
                format!("`{k}` has characters AWS tags do not allow: use letters, digits, spaces and _ . : / = + - @"),
            ));
        }
        if v.chars().count() > 256 {
            out.push((
                path,
                "tag values must be at most 256 characters: shorten the value".into(),
            ));
        } else if !tag_chars_ok(v) {
            out.push((
                path,
                "the value has characters AWS tags do not allow: use letters, digits, spaces and _ . : / = + - @".into(),
            ));
        }
    }
    out
}

/// Control-plane log types EKS can send to CloudWatch Logs.
pub(crate) const LOG_TYPES: &[&str] = &[
    "api",
    "audit",
    "authenticator",
    "controllerManager",
    "scheduler",
];
pub(crate) const NAT_MODES: &[&str] = &["single", "per-az"];
pub(crate) const CAPACITY_TYPES: &[&str] = &["ON_DEMAND", "SPOT"];
pub(crate) const TAINT_EFFECTS: &[&str] = &["NO_SCHEDULE", "NO_EXECUTE", "PREFER_NO_SCHEDULE"];
/// Managed node group AMI types (EKS `amiType`).
pub(crate) const AMI_TYPES: &[&str] = &[
    "AL2023_x86_64_STANDARD",
    "AL2023_ARM_64_STANDARD",
    "AL2023_x86_64_NVIDIA",
    "AL2023_x86_64_NEURON",
    "BOTTLEROCKET_x86_64",
    "BOTTLEROCKET_ARM_64",
    "BOTTLEROCKET_x86_64_NVIDIA",
    "BOTTLEROCKET_ARM_64_NVIDIA",
    "AL2_x86_64",
    "AL2_ARM_64",
    "AL2_x86_64_GPU",
    "CUSTOM",
];

/// The `cluster` keys beyond name, version, CIDR and node groups.
fn cluster_settings(c: &Config) -> Vec<(Vec<Seg>, String)> {
    let cl = &c.cluster;
    let key = |k: &str| vec![Seg::Key("cluster".into()), Seg::Key(k.into())];
    let item = |k: &str, i: usize| {
        vec![
            Seg::Key("cluster".into()),
            Seg::Key(k.into()),
            Seg::Index(i),
        ]
    };
    let mut out = vec![];
    if let Err(m) = one_of(&cl.nat, NAT_MODES) {
        out.push((key("nat"), m));
    }
    for (i, id) in cl.subnet_ids.iter().enumerate() {
        if !(id.starts_with("subnet-")
            && id.len() > 7
            && id[7..].chars().all(|c| c.is_ascii_hexdigit()))
        {
            out.push((
                item("subnet_ids", i),
                format!("`{id}` is not a subnet id: write it like `subnet-0abc1234def567890`"),
            ));
        }
    }
    if cl.subnet_ids.len() == 1 {
        out.push((
            key("subnet_ids"),
            "EKS needs subnets in at least two availability zones: list at least two subnets"
                .into(),
        ));
    }
    if !cl.endpoint_public_access && !cl.endpoint_private_access {
        out.push((
            key("endpoint_private_access"),
            "the API server needs an endpoint: enable `endpoint_public_access`, `endpoint_private_access` or both".into(),
        ));
    }
    for (i, cidr) in cl.public_access_cidrs.iter().enumerate() {
        if let Err(m) = access_cidr(cidr) {
            out.push((item("public_access_cidrs", i), m));
        }
    }
    let mut seen = BTreeSet::new();
    for (i, t) in cl.logging.iter().enumerate() {
        if let Err(m) = one_of(t, LOG_TYPES) {
            out.push((item("logging", i), m));
        } else if !seen.insert(t.as_str()) {
            out.push((
                item("logging", i),
                format!("`{t}` is listed twice: list each log type once"),
            ));
        }
    }
    for (i, arn) in cl.admins.iter().enumerate() {
        if let Err(m) = principal_arn(arn) {
            out.push((item("admins", i), m));
        }
    }
    for k in ["cluster_role_arn", "node_role_arn"] {
        let v = if k == "cluster_role_arn" {
            &cl.cluster_role_arn
        } else {
            &cl.node_role_arn
        };
        if let Some(arn) = v
            && !(arn.starts_with("arn:aws") && arn.contains(":iam::") && arn.contains(":role/"))
        {
            out.push((
                key(k),
                format!("`{arn}` is not an IAM role ARN: write it like `arn:aws:iam::123456789012:role/my-role`"),
            ));
        }
    }
    out
}

/// An IPv4 CIDR for the public endpoint (any prefix length).
fn access_cidr(cidr: &str) -> Result<(), String> {
    let fix = "write an IPv4 network such as `203.0.113.0/24` or `0.0.0.0/0`";
    let Some((addr, prefix)) = cidr.split_once('/') else {
        return Err(format!("`{cidr}` is not in CIDR notation: {fix}"));
    };
    let octets_ok =
        addr.split('.').count() == 4 && addr.split('.').all(|o| o.parse::<u8>().is_ok());
    let prefix_ok = prefix.parse::<u8>().is_ok_and(|p| p <= 32);
    if octets_ok && prefix_ok {
        Ok(())
    } else {
        Err(format!("`{cidr}` is not an IPv4 CIDR: {fix}"))
    }
}

/// An IAM user or role ARN (an access entry's principal).
fn principal_arn(arn: &str) -> Result<(), String> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let ok = parts.len() == 6
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
        && parts[2] == "iam"
        && parts[4].len() == 12
        && parts[4].chars().all(|c| c.is_ascii_digit())
        && (parts[5].starts_with("role/") || parts[5].starts_with("user/"));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{arn}` is not an IAM user or role ARN: write it like `arn:aws:iam::123456789012:role/platform-admins`"
        ))
    }
}

/// EKS cluster names.
pub(crate) fn cluster_name(name: &str) -> Result<(), String> {
    let ok = (1..=100).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{name}` is not a valid EKS cluster name: use 1 to 100 letters, digits, hyphens and underscores, starting with a letter or digit"
        ))
    }
}

/// `1.NN` within the EKS-supported range.
pub(crate) fn kubernetes_version(v: &str) -> Result<(), String> {
    let (lo, hi) = (EKS_MINOR_VERSIONS.start(), EKS_MINOR_VERSIONS.end());
    let minor = v
        .strip_prefix("1.")
        .filter(|m| !m.is_empty() && m.len() <= 3 && m.chars().all(|c| c.is_ascii_digit()))
        .and_then(|m| m.parse::<u32>().ok());
    match minor {
        None => Err(format!(
            "`{v}` is not a Kubernetes version of the form 1.NN: write e.g. \"1.{hi}\" (in quotes, so YAML keeps it a string)"
        )),
        Some(m) if !EKS_MINOR_VERSIONS.contains(&m) => Err(format!(
            "Kubernetes {v} is not supported by meshctl on EKS: choose a version from 1.{lo} to 1.{hi}"
        )),
        Some(_) => Ok(()),
    }
}

/// An IPv4 network in CIDR notation with a prefix from /16 to /24.
pub(crate) fn vpc_cidr(cidr: &str) -> Result<(), String> {
    const FIX: &str = "write an IPv4 network such as `10.0.0.0/16` (prefix /16 to /24)";
    let Some((addr, prefix)) = cidr.split_once('/') else {
        return Err(format!("`{cidr}` is not in CIDR notation: {FIX}"));
    };
    let octets: Vec<&str> = addr.split('.').collect();
    let parsed: Option<Vec<u8>> = if octets.len() == 4 {
        octets
            .iter()
            .map(|o| {
                let canonical = !o.is_empty() && (o.len() == 1 || !o.starts_with('0'));
                if canonical && o.chars().all(|c| c.is_ascii_digit()) {
                    o.parse::<u8>().ok()
                } else {
                    None
                }
            })
            .collect()
    } else {
        None
    };
    let Some(bytes) = parsed else {
        return Err(format!("`{addr}` is not an IPv4 address: {FIX}"));
    };
    let bits: Option<u32> = prefix
        .parse()
        .ok()
        .filter(|_| prefix.chars().all(|c| c.is_ascii_digit()));
    let Some(bits) = bits.filter(|b| (16..=24).contains(b)) else {
        return Err(format!(
            "prefix /{prefix} is outside /16 to /24: EKS needs room for subnets in 2 zones; {FIX}"
        ));
    };
    let ip = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    let mask = u32::MAX << (32 - bits);
    if ip & !mask != 0 {
        let net = (ip & mask).to_be_bytes();
        return Err(format!(
            "`{cidr}` has host bits set: use the network address `{}.{}.{}.{}/{bits}`",
            net[0], net[1], net[2], net[3]
        ));
    }
    Ok(())
}

/// EKS node group names.
pub(crate) fn nodegroup_name(name: &str) -> Result<(), String> {
    let ok = (1..=63).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{name}` is not a valid node group name: use 1 to 63 letters, digits, hyphens and underscores, starting with a letter or digit"
        ))
    }
}

/// EC2 instance types: `m5.large`, `c7g.2xlarge`, `m7i-flex.large`, `u-6tb1.metal`.
pub(crate) fn instance_type(t: &str) -> Result<(), String> {
    let ok = match t.split_once('.') {
        Some((family, size)) => {
            family.starts_with(|c: char| c.is_ascii_lowercase())
                && family.chars().any(|c| c.is_ascii_digit())
                && family.chars().all(|c| is_lower_alnum(c) || c == '-')
                && size.starts_with(is_lower_alnum)
                && size.chars().all(|c| is_lower_alnum(c) || c == '-')
        }
        None => false,
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{t}` is not an EC2 instance type: write it like `m5.large` or `c7g.2xlarge` (lowercase family, a dot, the size)"
        ))
    }
}

/// A Kubernetes namespace (DNS-1123 label).
pub(crate) fn namespace(ns: &str) -> Result<(), String> {
    if dns_label(ns) {
        Ok(())
    } else {
        Err(format!(
            "`{ns}` is not a Kubernetes namespace name: use 1 to 63 lowercase letters, digits and hyphens, starting and ending with a letter or digit"
        ))
    }
}

fn dns_label(s: &str) -> bool {
    (1..=63).contains(&s.len())
        && s.starts_with(is_lower_alnum)
        && s.ends_with(is_lower_alnum)
        && s.chars().all(|c| is_lower_alnum(c) || c == '-')
}

/// A Kubernetes object name (DNS-1123 subdomain), as service accounts use.
pub(crate) fn service_account(name: &str) -> Result<(), String> {
    let ok = (1..=253).contains(&name.len())
        && name.split('.').all(|part| {
            !part.is_empty()
                && part.starts_with(is_lower_alnum)
                && part.ends_with(is_lower_alnum)
                && part.chars().all(|c| is_lower_alnum(c) || c == '-')
        });
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{name}` is not a Kubernetes service account name: use lowercase letters, digits, `-` and `.` (at most 253), starting and ending with a letter or digit"
        ))
    }
}

/// An IAM role name: 1-64 of letters, digits and `+=,.@_-`.
pub(crate) fn iam_role_name(name: &str) -> Result<(), String> {
    let ok = (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{name}` is not an IAM role name: use 1 to 64 letters, digits and `+=,.@_-`"
        ))
    }
}

/// An IAM role ARN: `arn:<partition>:iam::<12 digits>:role/<path/>name`.
pub(crate) fn iam_role_arn(arn: &str) -> Result<(), String> {
    let bad = || {
        Err(format!(
            "`{arn}` is not an IAM role ARN (like `arn:aws:iam::123456789012:role/my-role`): copy it from the IAM console or `aws iam get-role`"
        ))
    };
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [prefix, partition, service, region, account, resource] = parts[..] else {
        return bad();
    };
    let name = resource
        .strip_prefix("role/")
        .map(|r| r.rsplit('/').next().unwrap_or(r));
    let ok = prefix == "arn"
        && partition.starts_with("aws")
        && service == "iam"
        && region.is_empty()
        && account.len() == 12
        && account.chars().all(|c| c.is_ascii_digit())
        && name.is_some_and(|n| iam_role_name(n).is_ok());
    if ok { Ok(()) } else { bad() }
}

/// Istio `1.N.P` with a supported minor.
pub(crate) fn istio_version(v: &str) -> Result<(), String> {
    let (lo, hi) = (ISTIO_MINOR_VERSIONS.start(), ISTIO_MINOR_VERSIONS.end());
    let nums: Vec<Option<u32>> = v
        .split('.')
        .map(|p| {
            let canonical = !p.is_empty() && (p.len() == 1 || !p.starts_with('0'));
            if canonical && p.chars().all(|c| c.is_ascii_digit()) {
                p.parse().ok()
            } else {
                None
            }
        })
        .collect();
    match nums.as_slice() {
        [Some(1), Some(minor), Some(_)] if ISTIO_MINOR_VERSIONS.contains(minor) => Ok(()),
        [Some(1), Some(_), Some(_)] => Err(format!(
            "Istio {v} is not supported: choose a release from 1.{lo}.0 to 1.{hi}.x"
        )),
        _ => Err(format!(
            "`{v}` is not an Istio release of the form 1.MINOR.PATCH: write e.g. \"1.{hi}.0\""
        )),
    }
}

pub(crate) fn amp_alias(alias: &str) -> Result<(), String> {
    if (1..=100).contains(&alias.chars().count()) {
        Ok(())
    } else {
        Err(
            "must be 1 to 100 characters: shorten it, or remove the key to use the stack name"
                .into(),
        )
    }
}

/// `ws-` and a UUID-like run of hex digits and hyphens.
pub(crate) fn workspace_id(id: &str) -> Result<(), String> {
    let ok = id.strip_prefix("ws-").is_some_and(|rest| {
        (8..=64).contains(&rest.len())
            && rest.starts_with(|c: char| c.is_ascii_hexdigit())
            && rest.chars().all(|c| c.is_ascii_hexdigit() || c == '-')
    });
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{id}` is not an AMP workspace id (like `ws-12345678-abcd-1234-abcd-123456789012`): copy it from `aws amp list-workspaces`, or remove the key to create a workspace"
        ))
    }
}

pub(crate) fn rules_namespace(name: &str) -> Result<(), String> {
    let ok = (1..=64).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._".contains(c));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{name}` is not a valid rule-groups namespace name: use 1 to 64 letters, digits, `-`, `.` and `_`, starting with a letter or digit"
        ))
    }
}

/// The `prometheus` keys beyond namespace and scrape interval: mode, the managed collector's
/// minimum interval, image, resources and the remote-write queue.
fn prometheus(p: &super::PrometheusConfig) -> Vec<(Vec<Seg>, Result<(), String>)> {
    let mut out = vec![(
        keys(&["prometheus", "mode"]),
        one_of(&p.mode, super::PROMETHEUS_MODES),
    )];
    if p.managed_collector()
        && let Some(d) = prometheus_duration(&p.scrape_interval)
        && d >= MIN_SCRAPE_INTERVAL
        && d < super::MIN_MANAGED_SCRAPE_INTERVAL
    {
        let min = humantime::format_duration(super::MIN_MANAGED_SCRAPE_INTERVAL);
        out.push((
            keys(&["prometheus", "scrape_interval"]),
            Err(format!(
                "{} is shorter than {min}, the shortest interval an AMP managed collector accepts: \
                 use {min} or more, or `mode: agent`",
                p.scrape_interval
            )),
        ));
    }
    // A tag or digest after the last `/` (a registry port is not a tag), and not `latest`.
    let last = p.image.rsplit('/').next().unwrap_or_default();
    let image_ok = !p.image.is_empty()
        && !p.image.chars().any(char::is_whitespace)
        && (last.contains('@')
            || last
                .split_once(':')
                .is_some_and(|(_, t)| !t.is_empty() && t != "latest"));
    out.push((
        keys(&["prometheus", "image"]),
        if image_ok {
            Ok(())
        } else {
            Err(format!(
                "`{}` is not a pinned image reference: name a release tag or digest, e.g. `{}`",
                p.image,
                super::PROMETHEUS_IMAGE
            ))
        },
    ));
    for (which, amounts) in [
        ("requests", &p.resources.requests),
        ("limits", &p.resources.limits),
    ] {
        out.push((
            keys(&["prometheus", "resources", which, "cpu"]),
            quantity(&amounts.cpu, &["m"], "`250m` or `1`"),
        ));
        out.push((
            keys(&["prometheus", "resources", which, "memory"]),
            quantity(
                &amounts.memory,
                &["Ki", "Mi", "Gi", "Ti", "k", "M", "G", "T"],
                "`512Mi` or `1Gi`",
            ),
        ));
    }
    let q = &p.remote_write;
    for (key, value) in [
        ("capacity", q.capacity),
        ("max_shards", q.max_shards),
        ("max_samples_per_send", q.max_samples_per_send),
    ] {
        out.push((
            keys(&["prometheus", "remote_write", key]),
            if value >= 1 {
                Ok(())
            } else {
                Err("must be at least 1: the defaults are capacity 2500, max_shards 200, max_samples_per_send 1000".into())
            },
        ));
    }
    out
}

/// A Kubernetes quantity: a decimal number with one of `suffixes` or none.
fn quantity(s: &str, suffixes: &[&str], example: &str) -> Result<(), String> {
    let number = suffixes
        .iter()
        .find_map(|suf| s.strip_suffix(suf))
        .unwrap_or(s);
    let mut parts = number.splitn(2, '.');
    let whole = parts.next().unwrap_or_default();
    let frac = parts.next();
    let digits = |t: &str| !t.is_empty() && t.chars().all(|c| c.is_ascii_digit());
    if digits(whole) && frac.is_none_or(digits) {
        Ok(())
    } else {
        Err(format!(
            "`{s}` is not a Kubernetes quantity: write a number with an optional unit ({}), e.g. {example}",
            suffixes.join(" ")
        ))
    }
}

/// A Prometheus duration (`30s`, `1m`, `1m30s`) of at least the minimum.
pub(crate) fn scrape_interval(s: &str) -> Result<(), String> {
    let min = humantime::format_duration(MIN_SCRAPE_INTERVAL);
    let Some(d) = prometheus_duration(s) else {
        return Err(format!(
            "`{s}` is not a duration Prometheus understands: write a number and a unit with no spaces, e.g. `30s`, `1m` or `1m30s`"
        ));
    };
    if d < MIN_SCRAPE_INTERVAL {
        return Err(format!(
            "{s} is shorter than {min}: scraping more often multiplies AMP ingestion cost; use {min} or more"
        ));
    }
    Ok(())
}

/// The `kiali` keys beyond `enabled` and `namespace`.
fn kiali_rules(c: &Config, add: &mut impl FnMut(Vec<Seg>, Result<(), String>)) {
    let k = &c.kiali;
    let version_ok = {
        let parts: Vec<&str> = k.version.split('.').collect();
        parts.len() == 3
            && parts
                .iter()
                .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
    };
    if !version_ok {
        add(
            keys(&["kiali", "version"]),
            Err(format!(
                "`{}` is not a kiali-server chart version: write MAJOR.MINOR.PATCH, e.g. `{}`",
                k.version,
                super::KIALI_CHART_VERSION
            )),
        );
    }
    add(keys(&["kiali", "charts"]), chart_source(&k.charts));
    if let Some(path) = &k.values
        && !path.is_file()
    {
        add(
            keys(&["kiali", "values"]),
            Err(format!(
                "`{}` is not a readable file: point it at a YAML values file, or remove the key",
                path.display()
            )),
        );
    }
    add(
        keys(&["kiali", "auth_strategy"]),
        one_of(&k.auth_strategy, super::KIALI_AUTH_STRATEGIES),
    );
    if prometheus_duration(&k.retention_period).is_none_or(|d| d.is_zero()) {
        add(
            keys(&["kiali", "retention_period"]),
            Err(format!(
                "`{}` is not a positive duration in Prometheus' form: use e.g. `150d` (AMP's default retention) or `7d`",
                k.retention_period
            )),
        );
    }
    if k.proxy_image.trim().is_empty() || k.proxy_image.chars().any(char::is_whitespace) {
        add(
            keys(&["kiali", "proxy_image"]),
            Err(format!(
                "`{}` is not an image reference: use e.g. `{}`",
                k.proxy_image,
                super::SIGV4_PROXY_IMAGE
            )),
        );
    }
}

/// A chart source: `https://…`, `oci://…`, or a local directory.
pub(crate) fn chart_source(s: &str) -> Result<(), String> {
    let fix = "use an HTTPS chart repository URL, an `oci://` reference, or a local directory of packaged charts";
    if let Some(rest) = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("oci://"))
    {
        if rest.is_empty() || rest.starts_with('/') || rest.chars().any(char::is_whitespace) {
            return Err(format!("`{s}` has no host: {fix}"));
        }
        return Ok(());
    }
    if s.contains("://") {
        return Err(format!(
            "`{s}` uses a scheme meshctl does not read charts from: {fix}"
        ));
    }
    if s.trim().is_empty() {
        return Err(format!("is empty: {fix}"));
    }
    if !std::path::Path::new(s).is_dir() {
        return Err(format!("`{s}` is not a directory: {fix}"));
    }
    Ok(())
}

/// Parse Prometheus' duration syntax: units in descending order (`y w d h m s ms`), each once.
pub(crate) fn prometheus_duration(s: &str) -> Option<Duration> {
    const UNITS: [(&str, u64); 7] = [
        ("y", 365 * 24 * 3600 * 1000),
        ("w", 7 * 24 * 3600 * 1000),
        ("d", 24 * 3600 * 1000),
        ("h", 3600 * 1000),
        ("m", 60 * 1000),
        ("s", 1000),
        ("ms", 1),
    ];
    if s == "0" {
        return Some(Duration::ZERO);
    }
    let mut rest = s;
    let mut next_unit = 0;
    let mut total: u64 = 0;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest.chars().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            return None;
        }
        let n: u64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest.chars().take_while(|c| c.is_ascii_alphabetic()).count();
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let pos = UNITS.iter().position(|(u, _)| *u == unit)?;
        if pos < next_unit {
            return None;
        }
        next_unit = pos + 1;
        total = total.checked_add(n.checked_mul(UNITS[pos].1)?)?;
    }
    Some(Duration::from_millis(total))
}

pub(crate) fn grafana_workspace_name(name: &str) -> Result<(), String> {
    let ok = (1..=255).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._~".contains(c));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{name}` is not a valid Grafana workspace name: use 1 to 255 letters, digits, `-`, `.`, `_` and `~`"
        ))
    }
}

fn one_of(value: &str, allowed: &[&'static str]) -> Result<(), String> {
    if allowed.contains(&value) {
        return Ok(());
    }
    let hint = allowed
        .iter()
        .find(|a| a.eq_ignore_ascii_case(value))
        .copied()
        .or_else(|| super::tree::did_you_mean(value, allowed))
        .map(|s| format!("did you mean `{s}`? "))
        .unwrap_or_default();
    Err(format!(
        "`{value}` is not one of {}: {hint}use one of those values",
        allowed
            .iter()
            .map(|a| format!("`{a}`"))
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

/// PagerDuty escalation policy ids: `P` and six upper-case letters or digits.
pub(crate) fn escalation_policy(id: &str) -> Result<(), String> {
    let ok = id.len() == 7
        && id.starts_with('P')
        && id[1..]
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{id}` is not a PagerDuty escalation policy id (P followed by 6 capital letters or digits, like PABC123): copy it from the policy's URL in PagerDuty"
        ))
    }
}

/// A base URL for an HTTP API: `https://` (or `http://` for a local test server).
pub(crate) fn http_url(text: &str) -> Result<(), String> {
    match url::Url::parse(text) {
        Ok(u) if matches!(u.scheme(), "https" | "http") && u.host_str().is_some() => Ok(()),
        _ => Err(format!(
            "`{text}` is not an http(s) URL: write it like https://host or https://host/path"
        )),
    }
}

/// The NAME of the variable holding the PagerDuty key. The value is never echoed: when it is
/// not a variable name it may well be the key itself.
pub(crate) fn api_key_env(name: &str) -> Result<(), String> {
    let is_name = name.starts_with(|c: char| c.is_ascii_uppercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    if is_name {
        return Ok(());
    }
    let looks_like_key = name.len() >= 16 && !name.contains(' ');
    if looks_like_key {
        Err("looks like an API key rather than the name of an environment variable: never put the key \
             in the config; export it in an environment variable (e.g. PAGERDUTY_API_KEY) and set \
             `api_key_env: PAGERDUTY_API_KEY`. If this file was shared, revoke that key in PagerDuty"
            .into())
    } else {
        Err("is not an environment variable name (capital letters, digits and `_`, not starting with a digit): \
             set it to the name of the variable holding the key, e.g. `api_key_env: PAGERDUTY_API_KEY`"
            .into())
    }
}

/// A kubeconfig path: any text that can name a file (the file is not read here).
pub(crate) fn kubeconfig(path: &str) -> Result<(), String> {
    if path.trim().is_empty() {
        return Err("is empty: give the path of a kubeconfig file, or remove the key".into());
    }
    if path.contains("://") || path.contains('\n') || path.chars().any(|c| c.is_control()) {
        return Err(
            "must be the path of a kubeconfig file (not a URL or the file's contents): e.g. `~/.kube/config`"
                .into(),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stack_names() {
        for ok in ["demo", "a", "team-a-prod", "a1-b2", &"a".repeat(32)] {
            assert!(stack_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "Demo",
            "1demo",
            "demo-",
            "de_mo",
            "de mo",
            &"a".repeat(33),
        ] {
            assert!(stack_name(bad).is_err(), "{bad}");
        }
        assert!(stack_name("").unwrap_err().contains("required"));
    }

    #[test]
    fn regions() {
        for ok in [
            "us-west-2",
            "eu-central-1",
            "us-gov-west-1",
            "cn-north-1",
            "ap-southeast-4",
        ] {
            assert!(region(ok).is_ok(), "{ok}");
        }
        for bad in [
            "us-west",
            "US-WEST-2",
            "uswest2",
            "us-west-",
            "usa-west-2",
            "us-west-2a",
            "",
        ] {
            assert!(region(bad).is_err(), "{bad}");
        }
        assert!(region("US-WEST-2").unwrap_err().contains("use `us-west-2`"));
    }

    #[test]
    fn region_codes_are_checked_against_the_known_partitions() {
        for known in [
            "us-west-2",
            "cn-northwest-1",
            "us-gov-east-1",
            "il-central-1",
        ] {
            assert_eq!(region_warning(known), None, "{known}");
        }
        // Well shaped but unknown: a warning, not an error.
        assert!(region("xx-middle-9").is_ok());
        let w = region_warning("xx-middle-9").unwrap();
        assert!(
            w.contains("`xx-middle-9` is not a region meshctl knows"),
            "{w}"
        );
        let w = region_warning("us-wets-2").unwrap();
        assert!(w.contains("did you mean `us-west-2`?"), "{w}");
        // Badly shaped: an error, and no warning on top.
        assert!(region("us-west-two").is_err());
        assert_eq!(region_warning("us-west-two"), None);
        for r in KNOWN_REGIONS {
            assert!(region(r).is_ok(), "{r}");
        }
    }

    #[test]
    fn state_locations() {
        for ok in [
            ".meshctl",
            "/var/lib/meshctl",
            "s3://my-bucket",
            "s3://my.bucket-1/meshctl/prod",
        ] {
            assert!(state(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "s3://",
            "s3://ab",
            "s3://My-Bucket",
            "s3://my..bucket",
            "s3://192.168.1.1",
            "s3://-bucket",
            "s3://bucket-",
            "s3://xn--bucket",
            "gs://bucket",
            "s3://bucket/../x",
        ] {
            assert!(state(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn cluster_settings_are_checked_all_at_once() {
        let c: Config = serde_yaml_ng::from_str(
            "name: demo\ncluster:\n  nat: per_az\n  subnet_ids: [subnet-12ab, vpc-1]\n  \
             endpoint_public_access: false\n  endpoint_private_access: false\n  \
             public_access_cidrs: [10.0.0.0/33]\n  logging: [api, Audit, api]\n  \
             admins: [\"arn:aws:iam::123456789012:group/x\"]\n  node_role_arn: nodes\n  \
             nodegroups:\n    - name: a\n      capacity_type: spot\n      ami_type: AL2023_x86_64\n      \
             taints: [{key: k, effect: NoSchedule}]\n",
        )
        .unwrap();
        let found: Vec<String> = check(&c).into_iter().map(|(_, m)| m).collect();
        let all = found.join("\n");
        for needle in [
            "did you mean `per-az`?",
            "`vpc-1` is not a subnet id",
            "the API server needs an endpoint",
            "`10.0.0.0/33` is not an IPv4 CIDR",
            "did you mean `audit`?",
            "`api` is listed twice",
            "is not an IAM user or role ARN",
            "`nodes` is not an IAM role ARN",
            "did you mean `SPOT`?",
            "`AL2023_x86_64` is not one of",
            "did you mean `NO_SCHEDULE`?",
        ] {
            assert!(all.contains(needle), "missing `{needle}` in:\n{all}");
        }
        let fine: Config = serde_yaml_ng::from_str("name: demo\n").unwrap();
        assert!(check(&fine).is_empty(), "{:?}", check(&fine).len());
    }

    #[test]
    fn versions() {
        assert!(kubernetes_version("1.29").is_ok());
        assert!(kubernetes_version("1.36").is_ok());
        assert!(
            kubernetes_version("1.28")
                .unwrap_err()
                .contains("1.29 to 1.36")
        );
        assert!(kubernetes_version("1.3").is_err());
        assert!(kubernetes_version("2.30").is_err());
        assert!(kubernetes_version("1.30.1").is_err());
        assert!(istio_version("1.27.3").is_ok());
        assert!(istio_version("1.24.0").is_ok());
        assert!(
            istio_version("1.23.4")
                .unwrap_err()
                .contains("not supported")
        );
        assert!(istio_version("1.27").unwrap_err().contains("1.MINOR.PATCH"));
        assert!(istio_version("1.27.03").is_err());
        assert!(istio_version("v1.27.3").is_err());
    }

    #[test]
    fn cidrs() {
        for ok in ["10.0.0.0/16", "192.168.0.0/24", "172.16.8.0/21"] {
            assert!(vpc_cidr(ok).is_ok(), "{ok}");
        }
        for bad in [
            "10.0.0.0",
            "10.0.0/16",
            "10.0.0.0/8",
            "10.0.0.0/28",
            "256.0.0.0/16",
            "10.0.0.00/16",
            "10.0.0.0/x",
        ] {
            assert!(vpc_cidr(bad).is_err(), "{bad}");
        }
        assert!(
            vpc_cidr("10.0.1.0/16")
                .unwrap_err()
                .contains("`10.0.0.0/16`")
        );
    }

    #[test]
    fn instance_types() {
        for ok in [
            "m5.large",
            "c7g.2xlarge",
            "m7i-flex.large",
            "u-6tb1.metal",
            "m7i.metal-48xl",
            "inf2.xlarge",
        ] {
            assert!(instance_type(ok).is_ok(), "{ok}");
        }
        for bad in [
            "m5",
            "M5.large",
            "m5.Large",
            "large.m5x",
            "m5..large",
            "m5.large.x",
            ".large",
            "m.large",
        ] {
            assert!(instance_type(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn names() {
        assert!(namespace("istio-system").is_ok());
        assert!(namespace("Istio").is_err());
        assert!(namespace("-a").is_err());
        assert!(service_account("amp-iamproxy-ingest-service-account").is_ok());
        assert!(service_account("a.b-c").is_ok());
        assert!(service_account("a..b").is_err());
        assert!(service_account("A").is_err());
        assert!(cluster_name("My_Cluster-1").is_ok());
        assert!(cluster_name("_x").is_err());
        assert!(nodegroup_name("ng_1").is_ok());
        assert!(nodegroup_name(&"n".repeat(64)).is_err());
        assert!(rules_namespace("meshctl.istio_rules-1").is_ok());
        assert!(rules_namespace(".x").is_err());
        assert!(grafana_workspace_name("team~a.b_c-d").is_ok());
        assert!(grafana_workspace_name("team a").is_err());
        assert!(workspace_id("ws-12345678-abcd-1234-abcd-123456789012").is_ok());
        assert!(workspace_id("ws-xyz").is_err());
        assert!(workspace_id("12345678-abcd").is_err());
        assert!(escalation_policy("PABC123").is_ok());
        assert!(escalation_policy("pabc123").is_err());
        assert!(escalation_policy("PABC1234").is_err());
    }

    #[test]
    fn scrape_intervals() {
        for ok in ["15s", "30s", "1m", "1m30s", "2h"] {
            assert!(scrape_interval(ok).is_ok(), "{ok}");
        }
        assert!(
            scrape_interval("10s")
                .unwrap_err()
                .contains("shorter than 15s")
        );
        for bad in ["30", "30 s", "s30", "1s1m", "thirty", "", "1m 30s"] {
            assert!(scrape_interval(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn api_key_env_never_echoes_the_value() {
        assert!(api_key_env("PAGERDUTY_API_KEY").is_ok());
        assert!(api_key_env("_PD_KEY2").is_ok());
        let key = "u+AbCdEfGhIjKlMnOpQr";
        let e = api_key_env(key).unwrap_err();
        assert!(e.contains("looks like an API key"), "{e}");
        assert!(!e.contains(key) && !e.contains("AbCd"), "{e}");
        let e = api_key_env("pd_key").unwrap_err();
        assert!(
            e.contains("not an environment variable name") && !e.contains("pd_key"),
            "{e}"
        );
    }

    #[test]
    fn choices_suggest_the_right_spelling() {
        assert!(one_of("AWS_SSO", GRAFANA_AUTH).is_ok());
        assert!(
            one_of("aws_sso", GRAFANA_AUTH)
                .unwrap_err()
                .contains("did you mean `AWS_SSO`?")
        );
        assert!(
            one_of("critcal", SEVERITIES)
                .unwrap_err()
                .contains("did you mean `critical`?")
        );
    }
}
