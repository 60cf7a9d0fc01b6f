//! A plan's units: each maker with the critique that checks it, where each
//! stands, and the report of them all that becomes the attempt's artifact.

use crate::formats::plan::{Criteria, Plan, Task};
use crate::session::TaskOutcome;

/// One maker and the critique that checks it.
pub(super) struct Unit {
    pub(super) maker: Task,
    pub(super) critique: Option<Task>,
    /// What the critique judges the maker's work against (as the plan
    /// shows it: the criteria handed to the critique, else the maker's).
    pub(super) checks: Criteria,
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

/// The units of a plan: every maker, with the critique that checks it.
pub(super) fn units(plan: &Plan) -> Vec<Unit> {
    plan.order()
        .into_iter()
        .filter(|t| !t.is_critique())
        .map(|maker| Unit {
            critique: plan.critique_of(maker.task_order).cloned(),
            checks: plan.critique_of(maker.task_order).map_or_else(
                || maker.validation_criteria.clone(),
                |c| plan.criteria_to_check(c),
            ),
            maker: maker.clone(),
            round: 0,
            stage: Stage::Waiting,
            work: None,
            feedback: None,
            unreadable: None,
        })
        .collect()
}

pub(super) fn files(task: &Task) -> Vec<String> {
    ["files_to_create", "files_to_modify"]
        .iter()
        .filter_map(|k| task.inputs.get(*k)?.as_array())
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_owned))
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
