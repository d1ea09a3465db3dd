//! The only place that runs the `helm` binary: it renders charts (`helm template`) and the
//! Kubernetes adapter applies what it renders. meshctl never installs helm releases.
//!
//! helm is found at `MESHCTL_HELM` (a path) or as `helm` on `PATH`, and must be at least
//! [`MIN_VERSION`]. It runs as a child process without a shell, under a timeout, and is killed
//! when the caller gives up (timeout, Ctrl-C) because its handle is dropped.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use miette::Diagnostic;
use thiserror::Error;

/// The oldest helm meshctl supports (`helm template --api-versions`, `--kube-version`,
/// `--skip-tests` and OCI charts behave as meshctl needs from here on; helm 4 works too).
pub const MIN_VERSION: (u64, u64, u64) = (3, 14, 0);
/// The environment variable naming the helm binary to use.
pub const HELM_ENV: &str = "MESHCTL_HELM";
/// How long `helm version` may take.
const VERSION_TIMEOUT: Duration = Duration::from_secs(30);
/// How long `helm template` may take unless the caller says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);

const INSTALL_HELP: &str = "install helm 3.14 or newer (https://helm.sh/docs/intro/install/, e.g. `brew install helm`), put it on PATH or set MESHCTL_HELM to its path; meshctl only uses it to render charts";

#[derive(Debug, Error, Diagnostic)]
pub enum HelmError {
    #[error("helm was not found: {message}")]
    #[diagnostic(code(meshctl::helm::missing), help("{INSTALL_HELP}"))]
    Missing { message: String },

    #[error("helm {found} at {path} is too old: meshctl needs {needed} or newer")]
    #[diagnostic(code(meshctl::helm::too_old), help("{INSTALL_HELP}"))]
    TooOld {
        path: String,
        found: String,
        needed: String,
    },

    #[error("{path} did not report a helm version: {message}")]
    #[diagnostic(code(meshctl::helm::version), help("{INSTALL_HELP}"))]
    BadVersion { path: String, message: String },

    #[error("invalid chart source `{source_text}`: {message}")]
    #[diagnostic(
        code(meshctl::helm::source),
        help(
            "use an HTTPS chart repository URL (https://...), an OCI registry (oci://host/path) or a local directory of packaged charts (<name>-<version>.tgz)"
        )
    )]
    Source {
        source_text: String,
        message: String,
    },

    #[error("chart {chart} {version} is not in {dir}: {message}")]
    #[diagnostic(
        code(meshctl::helm::local_chart),
        help(
            "put the packaged chart there (`helm pull {chart} --version {version} --repo <repository>` writes {chart}-{version}.tgz), or point the chart source elsewhere"
        )
    )]
    LocalChart {
        chart: String,
        version: String,
        dir: String,
        message: String,
    },

    #[error("helm could not render chart {chart} {version} from {source_text}: {stderr}")]
    #[diagnostic(code(meshctl::helm::template), help("{help}"))]
    Template {
        chart: String,
        version: String,
        source_text: String,
        stderr: String,
        help: String,
    },

    #[error("helm did not finish rendering chart {chart} {version} within {}", humantime::format_duration(*after))]
    #[diagnostic(
        code(meshctl::helm::timeout),
        help(
            "check that the chart source is reachable from here (proxy, VPN, air gap: use a local directory of packaged charts), or raise --timeout"
        )
    )]
    Timeout {
        chart: String,
        version: String,
        after: Duration,
    },

    #[error("cannot run helm for chart {chart}: {message}")]
    #[diagnostic(
        code(meshctl::helm::io),
        help("check that the temporary directory is writable and that the helm binary can run")
    )]
    Io { chart: String, message: String },
}

impl HelmError {
    /// Missing or unusable helm and bad chart sources stop before any change: exit 2.
    pub fn exit_code(&self) -> i32 {
        match self {
            HelmError::Missing { .. }
            | HelmError::TooOld { .. }
            | HelmError::BadVersion { .. }
            | HelmError::Source { .. }
            | HelmError::LocalChart { .. } => crate::error::exit::USAGE,
            _ => crate::error::exit::FAILED,
        }
    }
}

/// Where charts come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChartSource {
    /// An HTTPS chart repository (`--repo`).
    Repo(String),
    /// An OCI registry path: the chart is `<url>/<name>`.
    Oci(String),
    /// A local directory of packaged charts `<name>-<version>.tgz` (air-gapped installs).
    Dir(PathBuf),
}

impl ChartSource {
    /// `https://…` (a chart repository), `oci://…` (a registry), or a local directory path.
    pub fn parse(s: &str) -> Result<ChartSource, String> {
        let s = s.trim();
        if s.is_empty() {
            return Err("it is empty".into());
        }
        let lower = s.to_ascii_lowercase();
        if lower.starts_with("https://") {
            if s.len() == "https://".len() {
                return Err("the URL has no host".into());
            }
            return Ok(ChartSource::Repo(s.trim_end_matches('/').to_string()));
        }
        if lower.starts_with("oci://") {
            if s.len() == "oci://".len() {
                return Err("the reference has no registry host".into());
            }
            return Ok(ChartSource::Oci(s.trim_end_matches('/').to_string()));
        }
        if lower.starts_with("http://") {
            return Err("chart repositories must be served over https://".into());
        }
        if s.contains("://") {
            return Err("only https:// and oci:// URLs or a local directory are supported".into());
        }
        Ok(ChartSource::Dir(PathBuf::from(s)))
    }
}

impl fmt::Display for ChartSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChartSource::Repo(u) | ChartSource::Oci(u) => f.write_str(u),
            ChartSource::Dir(p) => write!(f, "{}", p.display()),
        }
    }
}

/// One `helm template` run.
#[derive(Debug, Clone)]
pub struct TemplateRequest {
    pub release: String,
    pub namespace: String,
    pub chart: String,
    pub version: String,
    pub source: ChartSource,
    /// meshctl's values, each written to its own file and passed first, in order.
    pub values: Vec<serde_json::Value>,
    /// The user's values files, passed after meshctl's (so they win).
    pub values_files: Vec<PathBuf>,
    /// `--kube-version` (the server's, e.g. `v1.34.2`).
    pub kube_version: Option<String>,
    /// `--api-versions`, each (`apps/v1`, `networking.k8s.io/v1`, …).
    pub api_versions: Vec<String>,
    /// `--skip-tests`: leave out the chart's `helm test` hooks.
    pub skip_tests: bool,
}

/// A located helm binary of a supported version.
#[derive(Debug, Clone)]
pub struct Helm {
    path: PathBuf,
    version: String,
    timeout: Duration,
}

impl Helm {
    /// `MESHCTL_HELM` when set, else `helm` on `PATH`; checks its version.
    pub async fn locate() -> Result<Helm, crate::error::Error> {
        let path = match std::env::var_os(HELM_ENV) {
            Some(p) if !p.is_empty() => PathBuf::from(p),
            _ => find_on_path("helm").ok_or_else(|| HelmError::Missing {
                message: format!("no `helm` on PATH and {HELM_ENV} is not set"),
            })?,
        };
        Ok(Helm::at(&path).await?)
    }

    /// The helm binary at `path`, after checking that it runs and is recent enough.
    pub async fn at(path: &Path) -> Result<Helm, HelmError> {
        let shown = path.display().to_string();
        if !path.is_file() {
            return Err(HelmError::Missing {
                message: format!("{shown} does not exist or is not a file"),
            });
        }
        let mut cmd = tokio::process::Command::new(path);
        cmd.args(["version", "--template", "{{.Version}}"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let out = match tokio::time::timeout(VERSION_TIMEOUT, cmd.output()).await {
            Err(_) => {
                return Err(HelmError::BadVersion {
                    path: shown,
                    message: "`helm version` did not answer within 30s".into(),
                });
            }
            Ok(Err(e)) => {
                return Err(HelmError::Missing {
                    message: format!("{shown} cannot be run: {e}"),
                });
            }
            Ok(Ok(out)) => out,
        };
        if !out.status.success() {
            return Err(HelmError::BadVersion {
                path: shown,
                message: trimmed(&out.stderr),
            });
        }
        let version = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let parsed = parse_version(&version).ok_or_else(|| HelmError::BadVersion {
            path: shown.clone(),
            message: format!("`{version}` is not a version"),
        })?;
        if parsed < MIN_VERSION {
            let (a, b, c) = MIN_VERSION;
            return Err(HelmError::TooOld {
                path: shown,
                found: version,
                needed: format!("v{a}.{b}.{c}"),
            });
        }
        Ok(Helm {
            path: path.to_path_buf(),
            version,
            timeout: DEFAULT_TIMEOUT,
        })
    }

    /// Give up on a render after `timeout` (the run's `--timeout`).
    pub fn with_timeout(mut self, timeout: Duration) -> Helm {
        self.timeout = timeout;
        self
    }

    /// helm's version, as it reports it (`v3.16.2`, `v4.1.4`).
    pub fn version(&self) -> &str {
        &self.version
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Render `req` with `helm template` and return the multi-document YAML.
    pub async fn template(&self, req: &TemplateRequest) -> Result<String, crate::error::Error> {
        Ok(self.render(req).await?)
    }

    async fn render(&self, req: &TemplateRequest) -> Result<String, HelmError> {
        let io = |message: String| HelmError::Io {
            chart: req.chart.clone(),
            message,
        };
        let (chart_ref, version_flag, repo_flag) = match &req.source {
            ChartSource::Repo(url) => (req.chart.clone(), true, Some(url.clone())),
            ChartSource::Oci(url) => (format!("{url}/{}", req.chart), true, None),
            ChartSource::Dir(dir) => (
                local_chart(&absolute(dir), &req.chart, &req.version)?,
                false,
                None,
            ),
        };
        let tmp = PrivateDir::new()
            .map_err(|e| io(format!("cannot create a temporary directory: {e}")))?;
        let mut args: Vec<String> = vec![
            "template".into(),
            req.release.clone(),
            chart_ref,
            "--namespace".into(),
            req.namespace.clone(),
            "--include-crds".into(),
        ];
        if let Some(repo) = repo_flag {
            args.push("--repo".into());
            args.push(repo);
        }
        if version_flag {
            args.push("--version".into());
            args.push(req.version.clone());
        }
        if let Some(kv) = &req.kube_version {
            args.push("--kube-version".into());
            args.push(kv.clone());
        }
        for av in &req.api_versions {
            args.push("--api-versions".into());
            args.push(av.clone());
        }
        if req.skip_tests {
            args.push("--skip-tests".into());
        }
        for (i, v) in req.values.iter().enumerate() {
            let file = tmp.path.join(format!("meshctl-values-{i}.yaml"));
            // JSON is YAML: no second serialiser needed.
            let text = serde_json::to_string_pretty(v).map_err(|e| io(e.to_string()))?;
            std::fs::write(&file, text)
                .map_err(|e| io(format!("cannot write {}: {e}", file.display())))?;
            args.push("--values".into());
            args.push(file.display().to_string());
        }
        for f in &req.values_files {
            // helm runs in the private directory: relative paths are the caller's.
            args.push("--values".into());
            args.push(absolute(f).display().to_string());
        }
        let mut cmd = tokio::process::Command::new(&self.path);
        cmd.args(&args)
            .current_dir(&tmp.path)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let out = match tokio::time::timeout(self.timeout, cmd.output()).await {
            Err(_) => {
                return Err(HelmError::Timeout {
                    chart: req.chart.clone(),
                    version: req.version.clone(),
                    after: self.timeout,
                });
            }
            Ok(Err(e)) => return Err(io(format!("{}: {e}", self.path.display()))),
            Ok(Ok(out)) => out,
        };
        if !out.status.success() {
            let stderr = trimmed(&out.stderr);
            let help = template_help(&stderr, &req.source);
            return Err(HelmError::Template {
                chart: req.chart.clone(),
                version: req.version.clone(),
                source_text: req.source.to_string(),
                stderr,
                help,
            });
        }
        String::from_utf8(out.stdout)
            .map_err(|_| io("helm printed output that is not UTF-8".into()))
    }
}

fn template_help(stderr: &str, source: &ChartSource) -> String {
    let s = stderr.to_ascii_lowercase();
    if s.contains("not found") || s.contains("no chart version") || s.contains("no such") {
        format!("check the chart name and version: is that version published in {source}?")
    } else if s.contains("values") || s.contains("yaml") || s.contains("parse") {
        "check the values file (istio.values / kiali.values): it must be a YAML mapping the chart understands".into()
    } else if matches!(source, ChartSource::Dir(_)) {
        "see helm's message above; the packaged chart may be damaged: pull it again".into()
    } else {
        "see helm's message above; check that the chart source is reachable from here (proxy, VPN), or use a local directory of packaged charts".into()
    }
}

/// `<dir>/<chart>-<version>.tgz`, or an error listing the packages that are there.
fn local_chart(dir: &Path, chart: &str, version: &str) -> Result<String, HelmError> {
    let bad = |message: String| HelmError::LocalChart {
        chart: chart.to_string(),
        version: version.to_string(),
        dir: dir.display().to_string(),
        message,
    };
    let entries =
        std::fs::read_dir(dir).map_err(|e| bad(format!("cannot read the directory: {e}")))?;
    let file = dir.join(format!("{chart}-{version}.tgz"));
    if file.is_file() {
        return Ok(file.display().to_string());
    }
    let mut there: Vec<String> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tgz"))
        .collect();
    there.sort();
    Err(bad(if there.is_empty() {
        "it holds no packaged chart (.tgz)".into()
    } else {
        format!("it holds {}", there.join(", "))
    }))
}

/// `v3.14.2`, `3.14`, `v4.1.4+g05fa379` → (major, minor, patch).
pub fn parse_version(v: &str) -> Option<(u64, u64, u64)> {
    let v = v.trim().trim_start_matches('v');
    let core = v.split(['-', '+']).next()?;
    let mut parts = core.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next().map_or(Some(0), |p| p.parse().ok())?;
    let patch = parts.next().map_or(Some(0), |p| p.parse().ok())?;
    Some((major, minor, patch))
}

/// `p` relative to the current directory made absolute (helm runs elsewhere).
fn absolute(p: &Path) -> PathBuf {
    if p.is_absolute() {
        return p.to_path_buf();
    }
    std::env::current_dir()
        .map(|d| d.join(p))
        .unwrap_or_else(|_| p.to_path_buf())
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths)
        .map(|d| d.join(name))
        .find(|p| is_executable(p))
}

#[cfg(unix)]
fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(p: &Path) -> bool {
    p.is_file()
}

fn trimmed(bytes: &[u8]) -> String {
    let s = String::from_utf8_lossy(bytes);
    let s = s.trim();
    if s.is_empty() {
        "helm printed no error message".into()
    } else {
        s.to_string()
    }
}

/// A directory only this user can read, removed when dropped (values may hold settings a
/// user wants kept private).
struct PrivateDir {
    path: PathBuf,
}

impl PrivateDir {
    fn new() -> std::io::Result<PrivateDir> {
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let path = std::env::temp_dir().join(format!(
            "meshctl-helm-{}-{nanos:x}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        let mut builder = std::fs::DirBuilder::new();
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            builder.mode(0o700);
        }
        builder.create(&path)?;
        Ok(PrivateDir { path })
    }
}

impl Drop for PrivateDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_parse_by_scheme() {
        assert_eq!(
            ChartSource::parse("https://charts.example/istio/"),
            Ok(ChartSource::Repo("https://charts.example/istio".into()))
        );
        assert_eq!(
            ChartSource::parse("oci://registry.example/charts"),
            Ok(ChartSource::Oci("oci://registry.example/charts".into()))
        );
        assert_eq!(
            ChartSource::parse("./charts"),
            Ok(ChartSource::Dir(PathBuf::from("./charts")))
        );
        assert!(ChartSource::parse("http://insecure.example").is_err());
        assert!(ChartSource::parse("s3://bucket/charts").is_err());
        assert!(ChartSource::parse("  ").is_err());
        assert!(ChartSource::parse("https://").is_err());
    }

    #[test]
    fn versions_compare_numerically() {
        assert_eq!(parse_version("v3.14.2"), Some((3, 14, 2)));
        assert_eq!(parse_version("v4.1.4+g05fa379"), Some((4, 1, 4)));
        assert_eq!(parse_version("3.9"), Some((3, 9, 0)));
        assert_eq!(parse_version("garbage"), None);
        assert!(parse_version("v3.9.4").unwrap() < MIN_VERSION);
        assert!(parse_version("v3.14.0").unwrap() >= MIN_VERSION);
        assert!(parse_version("v4.0.0").unwrap() >= MIN_VERSION);
    }
}
