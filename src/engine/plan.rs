//! Plans: what a step would create, change, delete or leave alone. Printable and serialisable;
//! the JSON shape is documented in docs/output.md and kept stable.

use std::fmt;

use serde::Serialize;

use super::StepId;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Op {
    Create,
    Update,
    Delete,
    Keep,
}

impl Op {
    fn symbol(self) -> &'static str {
        match self {
            Op::Create => "+",
            Op::Update => "~",
            Op::Delete => "-",
            Op::Keep => "=",
        }
    }
}

/// One resource and what happens to it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Action {
    pub op: Op,
    /// Resource kind, e.g. `amp-workspace`.
    pub kind: String,
    /// Name or id as the user would recognise it.
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl Action {
    pub fn new(op: Op, kind: impl Into<String>, name: impl Into<String>) -> Action {
        Action {
            op,
            kind: kind.into(),
            name: name.into(),
            detail: None,
        }
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Action {
        self.detail = Some(detail.into());
        self
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.op.symbol(), self.kind, self.name)?;
        if let Some(d) = &self.detail {
            write!(f, " ({d})")?;
        }
        Ok(())
    }
}

/// The plan of one step.
#[derive(Debug, Clone, Serialize)]
pub struct StepPlan {
    pub step: StepId,
    /// `false` when this version can plan the step but not apply it.
    pub available: bool,
    pub actions: Vec<Action>,
    pub notes: Vec<String>,
}

impl StepPlan {
    pub fn new(step: StepId) -> StepPlan {
        StepPlan {
            step,
            available: true,
            actions: vec![],
            notes: vec![],
        }
    }

    pub fn push(&mut self, action: Action) {
        self.actions.push(action);
    }

    pub fn note(&mut self, note: impl Into<String>) {
        self.notes.push(note.into());
    }

    pub fn has_changes(&self) -> bool {
        self.actions.iter().any(|a| a.op != Op::Keep)
    }
}

impl fmt::Display for StepPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tail = if self.available {
            ""
        } else {
            "  [plan only: not available to apply in this version]"
        };
        if self.actions.is_empty() {
            writeln!(f, "{:<11} (nothing){}", self.step, tail)?;
        } else {
            writeln!(f, "{}{}", self.step, tail)?;
        }
        for a in &self.actions {
            writeln!(f, "    {a}")?;
        }
        for n in &self.notes {
            writeln!(f, "    note: {n}")?;
        }
        Ok(())
    }
}

/// The plan of a whole command.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// Always `"plan"`, so JSON consumers can tell documents apart.
    pub kind: &'static str,
    /// `up`, a step name, or `cleanup`.
    pub command: String,
    pub stack: String,
    pub region: String,
    /// The AWS account the plan was made against; absent offline.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// `true` when no credentials were found and the plan assumes nothing exists.
    pub offline: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offline_reason: Option<String>,
    pub steps: Vec<StepPlan>,
    pub summary: PlanSummary,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PlanSummary {
    pub create: usize,
    pub update: usize,
    pub delete: usize,
    pub keep: usize,
}

impl Plan {
    pub fn new(
        command: impl Into<String>,
        stack: &str,
        region: &str,
        offline_reason: Option<String>,
        steps: Vec<StepPlan>,
    ) -> Plan {
        let mut summary = PlanSummary::default();
        for a in steps.iter().flat_map(|s| &s.actions) {
            match a.op {
                Op::Create => summary.create += 1,
                Op::Update => summary.update += 1,
                Op::Delete => summary.delete += 1,
                Op::Keep => summary.keep += 1,
            }
        }
        Plan {
            kind: "plan",
            command: command.into(),
            stack: stack.to_string(),
            region: region.to_string(),
            account: None,
            offline: offline_reason.is_some(),
            offline_reason,
            steps,
            summary,
        }
    }

    pub fn has_changes(&self) -> bool {
        self.steps.iter().any(|s| s.has_changes())
    }

    pub fn with_account(mut self, account: Option<String>) -> Plan {
        self.account = account.filter(|a| !a.is_empty());
        self
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Plan for `meshctl {}` on stack `{}` in {}",
            self.command, self.stack, self.region
        )?;
        match &self.account {
            Some(account) => writeln!(f, " (account {account}):")?,
            None => writeln!(f, ":")?,
        }
        if let Some(reason) = &self.offline_reason {
            writeln!(f, "  OFFLINE: {reason}; assuming nothing exists yet.")?;
        }
        writeln!(f)?;
        for s in &self.steps {
            write!(f, "  {s}")?;
        }
        let s = self.summary;
        writeln!(
            f,
            "\n{} to create, {} to change, {} to delete, {} unchanged.",
            s.create, s.update, s.delete, s.keep
        )
    }
}
