//! A plan's units: each maker with the critique that checks it, where each
//! stands, and the report of them all that becomes the attempt's artifact.

use crate::formats::plan::{Criteria, Plan, Task};
use crate::pipeline::Pipeline;
use crate::session::TaskOutcome;

/// One maker and the critique that checks it.
pub(super) struct Unit {
    pub(super) maker: Task,
    pub(super) critique: Option<Task>,
    /// What the critique judges the maker's work against: the maker's
    /// criteria, all three levels (rule 8).
    pub(super) checks: Criteria,
    /// The phase whose role the maker runs as: its skill's, else the
    /// phase running the plan.
    pub(super) role: usize,
    pub(super) round: u32,
    pub(super) stage: Stage,
    /// The maker's latest report.
    pub(super) work: Option<String>,
    /// What the critique found when it sent the task back.
    pub(super) feedback: Option<String>,
    /// This round's critique could not be read: what was wrong with it, for
    /// the one time it is asked again.
    pub(super) unreadable: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Stage {
    Waiting,
    Making,
    Checking,
    Finished(TaskOutcome, String),
}

/// The units of a plan run by phase `index` of `pipeline`: every maker,
/// with the critique that checks it and the role it runs as.
pub(super) fn units(plan: &Plan, pipeline: &Pipeline, index: usize) -> Vec<Unit> {
    plan.order()
        .into_iter()
        .filter(|t| !t.is_critique())
        .map(|maker| Unit {
            critique: plan.critique_of(maker.task_order).cloned(),
            checks: plan.criteria_to_check(maker),
            role: pipeline.skill_phase(&maker.skill_id).unwrap_or(index),
            maker: maker.clone(),
            round: 0,
            stage: Stage::Waiting,
            work: None,
            feedback: None,
            unreadable: None,
        })
        .collect()
}

impl Unit {
    /// Whether the worker under `key` (a task order) is this unit's.
    pub(super) fn owns(&self, key: u32) -> bool {
        self.maker.task_order == key || self.critique.as_ref().is_some_and(|c| c.task_order == key)
    }
}

/// The attempt's artifact: a table of the tasks, then each maker's report
/// with its critique's finding.
pub(super) fn report(units: &[Unit]) -> String {
    use std::fmt::Write;
    let mut out = String::from(
        "# Implementation: the plan, task by task\n\n| # | Task | Result | Rounds |\n|---|---|---|---|\n",
    );
    for u in units {
        let result = match &u.stage {
            Stage::Finished(outcome, _) => outcome.as_str(),
            Stage::Waiting | Stage::Making | Stage::Checking => "not run",
        };
        let _ = writeln!(
            out,
            "| {} | {} | {result} | {} |",
            u.maker.task_order,
            u.maker.task_name.replace('|', "/"),
            u.round
        );
    }
    for u in units {
        let _ = write!(
            out,
            "\n## Task {}: {}\n\n{}\n",
            u.maker.task_order,
            u.maker.task_name.trim(),
            u.work.as_deref().unwrap_or("(not run)").trim()
        );
        if let (Some(c), Stage::Finished(outcome, summary)) = (&u.critique, &u.stage) {
            let _ = writeln!(
                out,
                "\n> Critique (task {}): {}{}",
                c.task_order,
                outcome.as_str(),
                if summary.is_empty() {
                    String::new()
                } else {
                    format!(" — {summary}")
                }
            );
        }
    }
    out
}
