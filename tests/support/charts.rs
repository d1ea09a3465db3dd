//! The real helm and the test charts: the helm binary ./test.sh installed, the Istio and
//! kiali-server test charts (tests/fixtures/charts) packaged by `helm package`, and the
//! dashboard fixtures. Shared by the step tests, the whole-stack rig and the benchmark.

use std::path::{Path, PathBuf};

use tempfile::TempDir;

/// The helm binary ./test.sh installed. Panics (never skips) when it is not there.
pub fn test_helm() -> PathBuf {
    match std::env::var_os("MESHCTL_TEST_HELM") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => panic!(
            "MESHCTL_TEST_HELM is not set: run the tests with ./test.sh, which installs a pinned helm"
        ),
    }
}

/// `helm package <tests/fixtures/charts/<chart>> --destination <out>`, or a panic with
/// helm's error.
fn package(chart: &str, out: &Path) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/charts");
    let done = std::process::Command::new(test_helm())
        .arg("package")
        .arg(root.join(chart))
        .arg("--destination")
        .arg(out)
        .output()
        .expect("helm package runs");
    assert!(
        done.status.success(),
        "helm package {chart}: {}",
        String::from_utf8_lossy(&done.stderr)
    );
}

/// A temporary directory holding `<chart>-<version>.tgz` for every Istio test chart.
pub fn packaged_charts() -> TempDir {
    let dir = tempfile::Builder::new()
        .prefix("meshctl-charts-")
        .tempdir()
        .expect("a temporary directory");
    for chart in ["base", "istiod", "gateway", "cni", "ztunnel"] {
        package(chart, dir.path());
    }
    dir
}

/// `<dir>/charts` holding `kiali-server-<version>.tgz`, packaged from the test chart.
pub fn packaged_kiali_charts(dir: &Path) -> PathBuf {
    let out = dir.join("charts");
    std::fs::create_dir_all(&out).expect("create the charts directory");
    package("kiali-server", &out);
    out
}

/// The directory of dashboard JSON files the grafana step uploads in tests.
pub fn dashboards() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/dashboards")
}
