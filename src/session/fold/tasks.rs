//! The tasks of a plan run task by task, and folding what happens to them:
//! a task (a maker, or the critique of one) starts, streams text, finishes.

use serde::Serialize;

use super::{Attempt, SessionState};
use crate::session::event::TaskOutcome;

/// One task of a plan, as far as its runs have got.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TaskRun {
    pub task: u32,
    pub name: String,
    /// For a critique: the task it checks.
    pub critique_of: Option<u32>,
    /// The role it ran as, when its skill names another role than the
    /// phase's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    pub round: u32,
    /// `None` while it runs.
    pub outcome: Option<TaskOutcome>,
    pub summary: String,
    /// The text of its latest run.
    pub output: String,
    /// Where in `output` its last turn began (after its last tool call):
    /// the report it ended with.
    #[serde(skip)]
    pub report_from: usize,
}

impl TaskRun {
    /// What the task's latest run answered in the end (its last turn).
    pub fn report(&self) -> &str {
        self.output.get(self.report_from..).unwrap_or_default()
    }
}

/// The id a plan task's tool call is logged under: a provider's ids are
/// unique in one conversation at best, so the task and round are in it.
pub fn task_call_id(task: u32, round: u32, n: usize, id: &str) -> String {
    format!("t{task}.{round}.{n}-{id}")
}

/// The task a call id made by [`task_call_id`] belongs to.
pub(super) fn task_of_call(call_id: &str) -> Option<u32> {
    call_id.strip_prefix('t')?.split_once('.')?.0.parse().ok()
}

impl Attempt {
    /// The plan tasks whose critique still finds them failing (no run
    /// came after the failing critique).
    pub fn failing_tasks(&self) -> Vec<&TaskRun> {
        self.checked_as(TaskOutcome::Failed)
    }

    /// The implementation tasks whose latest critique could not be read:
    /// nobody knows whether they pass, so no blanket approval covers them.
    pub fn unchecked_tasks(&self) -> Vec<&TaskRun> {
        self.checked_as(TaskOutcome::Unchecked)
    }

    /// The makers whose latest critique ended with `outcome`.
    fn checked_as(&self, outcome: TaskOutcome) -> Vec<&TaskRun> {
        self.tasks
            .iter()
            .filter(|c| c.outcome == Some(outcome))
            .filter_map(|c| {
                let maker = self.tasks.iter().find(|m| Some(m.task) == c.critique_of)?;
                (maker.round <= c.round && maker.outcome.is_some()).then_some(maker)
            })
            .collect()
    }

    pub(super) fn task_mut(&mut self, task: u32) -> Option<&mut TaskRun> {
        self.tasks.iter_mut().find(|t| t.task == task)
    }
}

impl SessionState {
    /// `task_started`: a task's new run replaces its last one.
    pub(super) fn on_task_started(
        &mut self,
        phase: &str,
        attempt: u32,
        task: u32,
        round: u32,
        (name, critique_of, role): (&str, Option<u32>, Option<&String>),
    ) {
        if let Some(a) = self.attempt_mut(phase, attempt) {
            let run = TaskRun {
                task,
                name: name.to_owned(),
                critique_of,
                role: role.cloned(),
                round,
                outcome: None,
                summary: String::new(),
                output: String::new(),
                report_from: 0,
            };
            match a.task_mut(task) {
                Some(t) => *t = run,
                None => a.tasks.push(run),
            }
        }
    }

    /// `task_output`: streamed text of one task.
    pub(super) fn on_task_output(&mut self, phase: &str, attempt: u32, task: u32, text: &str) {
        if let Some(a) = self.attempt_mut(phase, attempt) {
            // Text is through again: whatever was being retried worked.
            a.retrying = None;
            if let Some(t) = a.task_mut(task) {
                t.output.push_str(text);
            }
        }
    }

    /// `task_finished`: how the task's run ended.
    pub(super) fn on_task_finished(
        &mut self,
        phase: &str,
        attempt: u32,
        task: u32,
        outcome: TaskOutcome,
        summary: &str,
    ) {
        if let Some(t) = self
            .attempt_mut(phase, attempt)
            .and_then(|a| a.task_mut(task))
        {
            t.outcome = Some(outcome);
            summary.clone_into(&mut t.summary);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{task_call_id, task_of_call};
    use crate::session::event::{EventKind, TaskOutcome};
    use crate::session::fold::Attempt;
    use crate::session::testing::{fold, started};

    fn in_plan(kinds: impl IntoIterator<Item = EventKind>) -> Attempt {
        let mut all = vec![
            started("r", "offline"),
            EventKind::PhaseStarted {
                phase: "implement".into(),
                attempt: 1,
            },
        ];
        all.extend(kinds);
        let state = fold(all);
        state.phases[2].attempts[0].clone()
    }

    fn run(task: u32, round: u32, critique_of: Option<u32>) -> EventKind {
        EventKind::TaskStarted {
            phase: "implement".into(),
            attempt: 1,
            task,
            round,
            name: format!("task {task}"),
            critique_of,
            role: None,
        }
    }

    fn end(task: u32, round: u32, outcome: TaskOutcome) -> EventKind {
        EventKind::TaskFinished {
            phase: "implement".into(),
            attempt: 1,
            task,
            round,
            outcome,
            summary: outcome.as_str().into(),
        }
    }

    fn text(task: u32, text: &str) -> EventKind {
        EventKind::TaskOutput {
            phase: "implement".into(),
            attempt: 1,
            task,
            text: text.into(),
        }
    }

    #[test]
    fn call_ids_name_their_task() {
        let id = task_call_id(3, 2, 1, "call_9");
        assert_eq!(id, "t3.2.1-call_9");
        assert_eq!(task_of_call(&id), Some(3));
        assert_eq!(task_of_call("call_9"), None);
    }

    #[test]
    fn a_task_s_text_and_end_are_kept_and_a_new_run_starts_afresh() {
        let a = in_plan([
            run(1, 1, None),
            text(1, "first"),
            end(1, 1, TaskOutcome::Done),
        ]);
        assert_eq!(a.tasks.len(), 1);
        assert_eq!(a.tasks[0].output, "first");
        assert_eq!(a.tasks[0].report(), "first");
        assert_eq!(a.tasks[0].outcome, Some(TaskOutcome::Done));
        assert_eq!(a.tasks[0].summary, "done");
        let again = in_plan([
            run(1, 1, None),
            text(1, "first"),
            end(1, 1, TaskOutcome::Done),
            run(1, 2, None),
        ]);
        assert_eq!(again.tasks.len(), 1);
        assert_eq!(
            (again.tasks[0].round, again.tasks[0].output.as_str()),
            (2, "")
        );
        assert_eq!(again.tasks[0].outcome, None);
    }

    #[test]
    fn a_task_fails_until_a_later_run_comes_after_its_critique() {
        let failing = in_plan([
            run(1, 1, None),
            end(1, 1, TaskOutcome::Done),
            run(2, 1, Some(1)),
            end(2, 1, TaskOutcome::Failed),
        ]);
        let names: Vec<_> = failing.failing_tasks().iter().map(|t| t.task).collect();
        assert_eq!(names, [1]);
        let mended = in_plan([
            run(1, 1, None),
            end(1, 1, TaskOutcome::Done),
            run(2, 1, Some(1)),
            end(2, 1, TaskOutcome::Failed),
            run(1, 2, None),
        ]);
        assert!(mended.failing_tasks().is_empty());
    }

    #[test]
    fn task_text_clears_a_retry() {
        let a = in_plan([
            run(1, 1, None),
            EventKind::Retry {
                phase: "implement".into(),
                attempt: 1,
                reason: "busy".into(),
                wait_ms: 10,
                next_try: 2,
                tries: 3,
            },
            text(1, "back"),
        ]);
        assert_eq!(a.retrying, None);
    }
}
