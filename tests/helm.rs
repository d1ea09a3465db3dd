//! `src/helm.rs` with the real helm binary (`$MESHCTL_TEST_HELM`, installed by ./test.sh):
//! charts packaged from tests/fixtures/charts/ with `helm package`, rendered from a local
//! directory of packages (no network), values in order, server capabilities passed through,
//! and the errors of a missing or old helm, a missing package and a bad value.

use std::path::Path;

use meshctl::helm::{ChartSource, Helm, HelmError, TemplateRequest};
use serde_json::json;
use tempfile::TempDir;

/// The pinned version of the test charts (the step's default Istio version).
pub const CHART_VERSION: &str = "1.31.1";

pub use crate::support::charts::{packaged_charts, test_helm};

fn request(chart: &str, dir: &Path) -> TemplateRequest {
    TemplateRequest {
        release: chart.to_string(),
        namespace: "istio-system".into(),
        chart: chart.to_string(),
        version: CHART_VERSION.into(),
        source: ChartSource::Dir(dir.to_path_buf()),
        values: vec![],
        values_files: vec![],
        kube_version: Some("v1.34.2".into()),
        api_versions: vec![],
        skip_tests: false,
    }
}

async fn helm() -> Helm {
    Helm::at(&test_helm())
        .await
        .expect("the test helm is usable")
}

fn kinds(yaml: &str) -> Vec<String> {
    meshctl::kube::manifest::parse("test", yaml)
        .expect("helm output parses")
        .iter()
        .map(|o| meshctl::kube::ObjectRef::of(o).to_string())
        .collect()
}

#[tokio::test]
async fn renders_a_local_package_with_crds_and_namespace() {
    let charts = packaged_charts();
    let helm = helm().await;
    assert!(helm.version().starts_with('v'), "{}", helm.version());
    let yaml = helm
        .template(&request("base", charts.path()))
        .await
        .expect("base renders");
    let objects = kinds(&yaml);
    assert!(
        objects.contains(
            &"CustomResourceDefinition peerauthentications.security.istio.io".to_string()
        ),
        "{objects:?}"
    );
    assert!(
        objects.contains(&"ServiceAccount istio-system/istio-reader-service-account".to_string()),
        "{objects:?}"
    );
    let yaml = helm
        .template(&request("istiod", charts.path()))
        .await
        .expect("istiod renders");
    let objects = kinds(&yaml);
    for want in [
        "Deployment istio-system/istiod",
        "Service istio-system/istiod",
        "MutatingWebhookConfiguration istio-sidecar-injector",
        "ValidatingWebhookConfiguration istio-validator-istio-system",
    ] {
        assert!(
            objects.contains(&want.to_string()),
            "{want} missing from {objects:?}"
        );
    }
}

#[tokio::test]
async fn meshctl_values_come_first_and_the_users_file_wins() {
    let charts = packaged_charts();
    let helm = helm().await;
    let mut req = request("gateway", charts.path());
    req.namespace = "istio-ingress".into();
    req.release = "istio-ingressgateway".into();
    req.values = vec![
        json!({"service": {"type": "ClusterIP"}, "autoscaling": {"enabled": false}, "replicaCount": 2}),
        json!({"replicaCount": 3}),
    ];
    let yaml = helm.template(&req).await.expect("gateway renders");
    assert!(yaml.contains("type: ClusterIP"), "{yaml}");
    assert!(
        yaml.contains("replicas: 3"),
        "later meshctl values win over earlier: {yaml}"
    );
    assert!(yaml.contains("namespace: istio-ingress"), "{yaml}");

    let user = charts.path().join("user-values.yaml");
    std::fs::write(&user, "service:\n  type: NodePort\n").expect("write the user's values");
    req.values_files = vec![user];
    let yaml = helm.template(&req).await.expect("gateway renders");
    assert!(
        yaml.contains("type: NodePort"),
        "the user's file wins: {yaml}"
    );
    assert!(!yaml.contains("type: ClusterIP"), "{yaml}");
}

#[tokio::test]
async fn the_servers_version_and_api_versions_reach_the_chart() {
    let charts = packaged_charts();
    let helm = helm().await;
    let mut req = request("istiod", charts.path());
    let yaml = helm.template(&req).await.expect("istiod renders");
    assert!(yaml.contains("gatewayAPI: \"false\""), "{yaml}");
    req.api_versions = vec!["gateway.networking.k8s.io/v1".into(), "apps/v1".into()];
    let yaml = helm.template(&req).await.expect("istiod renders");
    assert!(
        yaml.contains("gatewayAPI: \"true\""),
        "--api-versions passed: {yaml}"
    );

    req.kube_version = Some("v1.27.3".into());
    let err = helm
        .template(&req)
        .await
        .expect_err("the chart needs >= 1.28");
    let text = err.to_string();
    assert!(text.contains("istiod") && text.contains("1.31.1"), "{text}");
    assert!(
        text.contains("kubeVersion"),
        "helm's own message is shown: {text}"
    );
    assert_eq!(err.exit_code(), 1);
}

#[tokio::test]
async fn a_misspelt_value_fails_with_helms_message_and_the_chart_named() {
    let charts = packaged_charts();
    let helm = helm().await;
    let mut req = request("istiod", charts.path());
    req.values = vec![json!({"pilot": {"autoscaleEnabeld": false}})];
    let err = helm
        .template(&req)
        .await
        .expect_err("the schema refuses the typo");
    let text = err.to_string();
    assert!(text.contains("autoscaleEnabeld"), "{text}");
    assert!(text.contains("chart istiod 1.31.1"), "{text}");
    assert!(
        text.contains(&charts.path().display().to_string()),
        "the source is named: {text}"
    );
    assert!(!text.contains("Error: Error"), "{text}");
}

#[tokio::test]
async fn a_package_missing_from_the_directory_lists_what_is_there() {
    let charts = packaged_charts();
    let helm = helm().await;
    let mut req = request("istiod", charts.path());
    req.version = "9.9.9".into();
    let err = helm.template(&req).await.expect_err("no such package");
    let text = err.to_string();
    assert!(text.contains("istiod 9.9.9"), "{text}");
    assert!(
        text.contains("istiod-1.31.1.tgz"),
        "lists the packages there: {text}"
    );
    assert_eq!(err.exit_code(), 2);
}

#[tokio::test]
async fn a_missing_helm_is_a_usage_error_with_install_help() {
    let dir = TempDir::new().expect("temp dir");
    let err = Helm::at(&dir.path().join("no-helm-here"))
        .await
        .expect_err("no helm there");
    assert!(matches!(err, HelmError::Missing { .. }), "{err}");
    assert_eq!(err.exit_code(), 2);
    let help = miette::Diagnostic::help(&err)
        .map(|h| h.to_string())
        .unwrap_or_default();
    assert!(help.contains("install helm 3.14 or newer"), "{help}");
    assert!(help.contains("MESHCTL_HELM"), "{help}");
}

#[cfg(unix)]
#[tokio::test]
async fn an_old_helm_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new().expect("temp dir");
    let fake = dir.path().join("helm");
    std::fs::write(&fake, "#!/bin/sh\nprintf v3.9.4\n").expect("write a stand-in helm");
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let err = Helm::at(&fake).await.expect_err("too old");
    assert!(matches!(err, HelmError::TooOld { .. }), "{err}");
    assert!(
        err.to_string().contains("v3.9.4") && err.to_string().contains("v3.14.0"),
        "{err}"
    );
    assert_eq!(err.exit_code(), 2);
}

#[test]
fn chart_sources_parse() {
    assert!(matches!(
        ChartSource::parse("https://istio-release.storage.googleapis.com/charts"),
        Ok(ChartSource::Repo(_))
    ));
    assert!(matches!(
        ChartSource::parse("oci://r.example/istio"),
        Ok(ChartSource::Oci(_))
    ));
    assert!(matches!(
        ChartSource::parse("/srv/charts"),
        Ok(ChartSource::Dir(_))
    ));
    assert!(ChartSource::parse("ftp://x").is_err());
}
