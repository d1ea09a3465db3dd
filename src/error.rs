//! Errors with a help line that says how to fix the problem, and their exit codes.

use std::path::PathBuf;
use std::time::Duration;

use miette::Diagnostic;
use thiserror::Error;

use crate::engine::StepId;

/// Exit codes, as documented in docs/exit-codes.md.
pub mod exit {
    pub const OK: i32 = 0;
    /// The run failed and everything it created was rolled back.
    pub const FAILED: i32 = 1;
    /// Bad usage or configuration: nothing changed.
    pub const USAGE: i32 = 2;
    /// The run failed and rollback could not remove everything.
    pub const ROLLBACK_INCOMPLETE: i32 = 3;
    /// Interrupted (Ctrl-C).
    pub const INTERRUPTED: i32 = 130;
}

#[derive(Debug, Error, Diagnostic)]
pub enum Error {
    #[error("cannot read config file {}: {source}", path.display())]
    #[diagnostic(
        code(meshctl::config::read),
        help(
            "create one with `meshctl init`, or point --config (or MESHCTL_CONFIG) at an existing file"
        )
    )]
    ConfigRead {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("invalid configuration: {message}")]
    #[diagnostic(code(meshctl::config::invalid), help("{help}"))]
    Config { message: String, help: String },

    #[error("{message}")]
    #[diagnostic(code(meshctl::usage), help("{help}"))]
    Usage { message: String, help: String },

    #[error("step `{step}` needs `{needs}`, which has not been applied to stack `{stack}`")]
    #[diagnostic(
        code(meshctl::prerequisite),
        help("run `meshctl {needs}` first (or `meshctl up` for the whole stack)")
    )]
    Prerequisite {
        step: StepId,
        needs: StepId,
        stack: String,
    },

    #[error("step `{step}` is not available yet: this version can plan it but not apply it")]
    #[diagnostic(
        code(meshctl::not_available),
        help(
            "plan it with --dry-run; apply the available steps with `meshctl up --only {available}`"
        )
    )]
    StepNotAvailable { step: StepId, available: String },

    #[error("this action needs AWS credentials, and none were found")]
    #[diagnostic(
        code(meshctl::aws::credentials),
        help(
            "set AWS_PROFILE (or --profile), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; the plan of `up`, a step or `cleanup` (`--dry-run`) works without credentials"
        )
    )]
    NoCredentials,

    #[error("stack `{stack}` is locked by {holder}")]
    #[diagnostic(
        code(meshctl::locked),
        help("wait for that run to finish; if it no longer exists, run again with --force-unlock")
    )]
    Locked { stack: String, holder: String },

    #[error("refusing to {action} without confirmation: there is no terminal to ask on")]
    #[diagnostic(
        code(meshctl::confirm),
        help("review the plan with --dry-run, then pass --yes to proceed non-interactively")
    )]
    NeedsConfirmation { action: String },

    #[error("cancelled: nothing was changed")]
    #[diagnostic(code(meshctl::declined))]
    Declined,

    #[error("timed out after {} waiting for {what}", humantime::format_duration(*after))]
    #[diagnostic(
        code(meshctl::timeout),
        help("raise --timeout, or use --no-wait and check later with `meshctl status`")
    )]
    Timeout { what: String, after: Duration },

    #[error("interrupted")]
    #[diagnostic(code(meshctl::interrupted))]
    Interrupted,

    /// An AWS call failed: `kind` says how (unreachable, no answer, credentials rejected,
    /// expired, access denied, throttled, not found…), `help` what to do about it.
    #[error("AWS {service} {operation} failed ({kind}): {message}")]
    #[diagnostic(code(meshctl::aws::call), help("{help}"))]
    AwsCall {
        service: &'static str,
        operation: &'static str,
        kind: crate::aws::AwsErrorKind,
        message: String,
        help: String,
    },

    /// AWS reported a state a step cannot continue from.
    #[error("AWS {service} {operation} failed: {message}")]
    #[diagnostic(code(meshctl::aws::call), help("{help}"))]
    Aws {
        service: &'static str,
        operation: &'static str,
        message: String,
        help: String,
    },

    /// A call to a non-AWS HTTP API (Grafana, PagerDuty) failed.
    #[error("{service} {operation} failed: {message}")]
    #[diagnostic(code(meshctl::http), help("{help}"))]
    Http {
        service: &'static str,
        operation: String,
        message: String,
        help: String,
    },

    #[error("state storage {location}: {message}")]
    #[diagnostic(
        code(meshctl::state),
        help("check that the `state` location in meshctl.yaml exists and is writable")
    )]
    State { location: String, message: String },

    #[error("bucket {bucket} does not exist; create it or change `state`")]
    #[diagnostic(
        code(meshctl::state::no_bucket),
        help(
            "create it in the stack's region (`aws s3 mb s3://{bucket}`), or point `state` in meshctl.yaml at an existing bucket or a local directory"
        )
    )]
    StateBucketMissing { bucket: String },

    /// The stack's state places it in another region or account than this command would use.
    #[error("{message}")]
    #[diagnostic(code(meshctl::placement), help("{help}"))]
    Placement { message: String, help: String },

    /// The plan has conflicts (something in the way that meshctl does not own).
    #[error("{message}")]
    #[diagnostic(code(meshctl::plan::conflict), help("{help}"))]
    PlanConflict { message: String, help: String },

    /// A Kubernetes API call (or the connection to the API server) failed.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Kube(Box<crate::kube::KubeError>),

    /// helm is missing or too old, or could not render a chart.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Helm(#[from] crate::helm::HelmError),

    #[error("template {name}: {message}")]
    #[diagnostic(code(meshctl::template))]
    Template { name: String, message: String },

    #[error("{0}")]
    #[diagnostic(code(meshctl::io))]
    Io(#[from] std::io::Error),

    /// `migrate appmesh`: a workload migration stopped (what happened is in the message).
    #[error("{message}")]
    #[diagnostic(code(meshctl::migrate), help("{help}"))]
    Migration { message: String, help: String },
}

impl From<crate::kube::KubeError> for Error {
    fn from(e: crate::kube::KubeError) -> Error {
        Error::Kube(Box::new(e))
    }
}

impl Error {
    /// The exit code for an error that stopped the command before anything changed.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::ConfigRead { .. }
            | Error::Config { .. }
            | Error::Usage { .. }
            | Error::Prerequisite { .. }
            | Error::StepNotAvailable { .. }
            | Error::NoCredentials
            | Error::Locked { .. }
            | Error::NeedsConfirmation { .. }
            | Error::StateBucketMissing { .. }
            | Error::Placement { .. }
            | Error::PlanConflict { .. }
            | Error::Declined => exit::USAGE,
            Error::Helm(e) => e.exit_code(),
            Error::Interrupted => exit::INTERRUPTED,
            _ => exit::FAILED,
        }
    }

    /// How an AWS call failed, when this error is one.
    pub fn aws_kind(&self) -> Option<crate::aws::AwsErrorKind> {
        match self {
            Error::AwsCall { kind, .. } => Some(*kind),
            _ => None,
        }
    }

    pub fn config(message: impl Into<String>, help: impl Into<String>) -> Error {
        Error::Config {
            message: message.into(),
            help: help.into(),
        }
    }

    pub fn usage(message: impl Into<String>, help: impl Into<String>) -> Error {
        Error::Usage {
            message: message.into(),
            help: help.into(),
        }
    }
}
