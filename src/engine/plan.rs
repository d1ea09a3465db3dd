//! Plans: what a step would create, change, delete or leave alone, and what stops it (a
//! conflict). Printable and serialisable; the JSON shape is documented in docs/output.md and
//! kept stable.

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
    /// Something exists that meshctl may not change: applying would fail. The action's
    /// details say why and how to resolve it; a plan with a conflict is never applied.
    Conflict,
}

impl Op {
    fn symbol(self) -> &'static str {
        match self {
            Op::Create => "+",
            Op::Update => "~",
            Op::Delete => "-",
            Op::Keep => "=",
            Op::Conflict => "!",
        }
    }

    /// Whether this op changes something.
    pub fn changes(self) -> bool {
        matches!(self, Op::Create | Op::Update | Op::Delete)
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
    /// All detail lines joined with `; ` (kept for consumers of the one-line form).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Each detail line: state, ownership, each tag added or removed, each changed rule line.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<String>,
}

impl Action {
    pub fn new(op: Op, kind: impl Into<String>, name: impl Into<String>) -> Action {
        Action {
            op,
            kind: kind.into(),
            name: name.into(),
            detail: None,
            details: vec![],
        }
    }

    /// Add one detail line (earlier lines are kept).
    pub fn detail(mut self, detail: impl Into<String>) -> Action {
        self.push_detail(detail);
        self
    }

    pub fn push_detail(&mut self, detail: impl Into<String>) {
        let detail = detail.into();
        if detail.is_empty() {
            return;
        }
        self.details.push(detail);
        self.detail = Some(self.details.join("; "));
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.op.symbol(), self.kind, self.name)?;
        let mut lines = self.details.iter();
        if let Some(first) = lines.next() {
            write!(f, " ({first})")?;
        }
        for line in lines {
            write!(f, "\n        {line}")?;
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
    /// The steps this one starts after (from the graph), when planned for an apply.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub after: Vec<StepId>,
}

impl StepPlan {
    pub fn new(step: StepId) -> StepPlan {
        StepPlan {
            step,
            available: true,
            actions: vec![],
            notes: vec![],
            after: vec![],
        }
    }

    pub fn push(&mut self, action: Action) {
        self.actions.push(action);
    }

    pub fn note(&mut self, note: impl Into<String>) {
        self.notes.push(note.into());
    }

    pub fn has_changes(&self) -> bool {
        self.actions.iter().any(|a| a.op.changes())
    }

    pub fn has_conflicts(&self) -> bool {
        self.actions.iter().any(|a| a.op == Op::Conflict)
    }
}

impl fmt::Display for StepPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tail = if self.available {
            ""
        } else {
            "  [plan only: not available to apply in this version]"
        };
        let tail = if self.after.is_empty() {
            tail.to_string()
        } else {
            let after: Vec<&str> = self.after.iter().map(|s| s.name()).collect();
            format!("  (starts after {}){tail}", after.join(", "))
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
    /// Where the region came from: `--region`, `MESHCTL_REGION`, the config file, `default`…
    pub region_source: String,
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

/// Counts of the actions in a plan. `create`, `update`, `delete`, `keep` and `conflict` count
/// only steps this version can apply; everything planned for plan-only steps is `plan_only`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PlanSummary {
    pub create: usize,
    pub update: usize,
    pub delete: usize,
    pub keep: usize,
    pub conflict: usize,
    /// Actions of steps that this version can plan but not apply.
    pub plan_only: usize,
}

impl PlanSummary {
    pub fn of(steps: &[StepPlan]) -> PlanSummary {
        let mut summary = PlanSummary::default();
        for s in steps {
            if !s.available {
                summary.plan_only += s.actions.iter().filter(|a| a.op != Op::Keep).count();
                continue;
            }
            for a in &s.actions {
                match a.op {
                    Op::Create => summary.create += 1,
                    Op::Update => summary.update += 1,
                    Op::Delete => summary.delete += 1,
                    Op::Keep => summary.keep += 1,
                    Op::Conflict => summary.conflict += 1,
                }
            }
        }
        summary
    }
}

impl Plan {
    pub fn new(
        command: impl Into<String>,
        stack: &str,
        region: &str,
        offline_reason: Option<String>,
        steps: Vec<StepPlan>,
    ) -> Plan {
        Plan {
            kind: "plan",
            command: command.into(),
            stack: stack.to_string(),
            region: region.to_string(),
            region_source: String::new(),
            account: None,
            offline: offline_reason.is_some(),
            offline_reason,
            summary: PlanSummary::of(&steps),
            steps,
        }
    }

    /// Whether applying the plan would change something (plan-only steps never do).
    pub fn has_changes(&self) -> bool {
        self.steps.iter().any(|s| s.available && s.has_changes())
    }

    pub fn has_conflicts(&self) -> bool {
        self.summary.conflict > 0
    }

    pub fn with_account(mut self, account: Option<String>) -> Plan {
        self.account = account.filter(|a| !a.is_empty());
        self
    }

    pub fn with_region_source(mut self, source: &str) -> Plan {
        self.region_source = source.to_string();
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
        if !self.region_source.is_empty() {
            write!(f, " (from {})", self.region_source)?;
        }
        match &self.account {
            Some(account) => writeln!(f, ", account {account}:")?,
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
        write!(
            f,
            "\n{} to create, {} to change, {} to delete, {} unchanged",
            s.create, s.update, s.delete, s.keep
        )?;
        if s.conflict > 0 {
            write!(f, ", {} conflict(s)", s.conflict)?;
        }
        writeln!(f, ".")?;
        if s.plan_only > 0 {
            writeln!(
                f,
                "{} more planned in plan-only steps, which this version cannot apply yet.",
                s.plan_only
            )?;
        }
        if s.conflict > 0 {
            writeln!(
                f,
                "Conflicts (!) must be resolved first: nothing is applied while a plan has one."
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_detail_line_does_not_replace_the_first() {
        let a = Action::new(Op::Update, "amp-workspace", "ws-1")
            .detail("add tags team")
            .detail("ACTIVE, owned");
        assert_eq!(a.details, ["add tags team", "ACTIVE, owned"]);
        assert_eq!(a.detail.as_deref(), Some("add tags team; ACTIVE, owned"));
        let text = a.to_string();
        assert!(
            text.contains("add tags team") && text.contains("ACTIVE, owned"),
            "{text}"
        );
    }

    #[test]
    fn summary_counts_plan_only_work_separately() {
        let mut real = StepPlan::new(StepId::Amp);
        real.push(Action::new(Op::Create, "amp-workspace", "demo"));
        real.push(Action::new(Op::Conflict, "amp-rule-groups-namespace", "x"));
        let mut planned = StepPlan::new(StepId::Cluster);
        planned.available = false;
        planned.push(Action::new(Op::Create, "vpc", "demo-vpc"));
        planned.push(Action::new(Op::Create, "eks-cluster", "demo"));
        let plan = Plan::new("up", "demo", "us-west-2", None, vec![planned, real]);
        assert_eq!(plan.summary.create, 1);
        assert_eq!(plan.summary.conflict, 1);
        assert_eq!(plan.summary.plan_only, 2);
        assert!(plan.has_conflicts());
        let text = plan.to_string();
        assert!(text.contains("1 to create"), "{text}");
        assert!(text.contains("2 more planned in plan-only steps"), "{text}");
    }
}
