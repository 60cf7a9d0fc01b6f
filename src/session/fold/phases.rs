//! Phases and their attempts, and folding what happens in an attempt: it
//! starts, specialists are engaged, text streams in, tokens are counted,
//! the provider retries, an artifact arrives, the answer cannot be read,
//! or the attempt fails.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{Decided, Returned, SessionState, SessionStatus, TaskRun, ToolRun};
use crate::formats::sections::{Section, Sections, split};
use crate::session::event::{Action, Checklist};

/// How the error of an attempt cut off by a crash, a quit or a full disk
/// begins (the engine writes it on resume). Such an attempt runs again by
/// itself and uses up none of a person's rejections.
pub const INTERRUPTED: &str = "interrupted";

/// Where a phase stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PhaseStatus {
    #[default]
    Pending,
    Running,
    AwaitingGate,
    Approved,
    Failed,
}

impl PhaseStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::AwaitingGate => "awaiting_gate",
            Self::Approved => "approved",
            Self::Failed => "failed",
        }
    }
}

/// Token counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
}

impl Usage {
    /// Both counts; a server's absurd numbers saturate, never wrap.
    pub fn total(self) -> u64 {
        self.prompt_tokens.saturating_add(self.completion_tokens)
    }

    fn add(&mut self, prompt: u64, completion: u64) {
        self.prompt_tokens = self.prompt_tokens.saturating_add(prompt);
        self.completion_tokens = self.completion_tokens.saturating_add(completion);
    }
}

/// How one attempt ended, as the log tells it: what the title of an
/// earlier attempt says, whatever the phase's status is now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum AttemptOutcome {
    /// A person rejected its answer.
    Rejected,
    /// It failed, and a person asked for it again.
    Retried,
    /// A later phase sent the work back: by a person's decision, or by
    /// itself (a failing verdict).
    Returned { from: String, automatic: bool },
    /// A crash, a quit or a full disk cut it off; it ran again by itself.
    Interrupted,
    /// It failed, and nobody has retried it.
    Failed,
    /// Its structured answer could not be read, and it was asked again.
    Unreadable,
}

/// One run of a phase.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Attempt {
    pub number: u32,
    pub started_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    /// Everything the agent streamed.
    pub output: String,
    /// The artifact as the agent wrote it.
    pub artifact: Option<String>,
    /// A human's replacement text, which wins over `artifact`.
    pub edited: Option<String>,
    pub error: Option<String>,
    /// The feedback the next attempt answers: a rejection's, a return's
    /// reason, or why the answer could not be read.
    pub rejected_with: Option<String>,
    /// How it ended, once something ended it other than an approval.
    pub outcome: Option<AttemptOutcome>,
    /// Why the provider is trying again, until text arrives.
    pub retrying: Option<String>,
    /// Tool calls, in order.
    pub tools: Vec<ToolRun>,
    /// The latest `report_status`: what is done, what is still to do.
    pub checklist: Option<Checklist>,
    pub usage: Usage,
    /// Why a structured answer (a plan, a verdict) could not be read.
    pub invalid: Option<Vec<String>>,
    /// Specialists advising it: `name (keyword)`.
    pub specialists: Vec<String>,
    /// Its named outputs as the engine split its answer (none for a
    /// phase with one output).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub outputs: Vec<Section>,
    /// Named outputs its answer did not write.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<String>,
    /// The plan's tasks, when the attempt runs a plan task by task.
    pub tasks: Vec<TaskRun>,
    /// The `seq` of its `phase_started`.
    #[serde(skip)]
    pub started_seq: u64,
    /// The `seq` of the last event that changed its text (its artifact,
    /// an edit).
    #[serde(skip)]
    pub changed_seq: u64,
}

impl Attempt {
    /// The text later phases read: the human's edit, else the agent's draft.
    pub fn effective(&self) -> Option<&str> {
        self.edited.as_deref().or(self.artifact.as_deref())
    }

    /// Its outputs `names` as later phases read them: a person's edit
    /// split again, else the sections the engine recorded (a log from
    /// before named outputs: the draft split now).
    pub fn sections(&self, names: &[&str]) -> Sections {
        if self.edited.is_none() && (!self.outputs.is_empty() || !self.missing.is_empty()) {
            return Sections {
                found: self.outputs.clone(),
                missing: self.missing.clone(),
                duplicated: Vec::new(),
            };
        }
        self.effective()
            .map(|text| split(text, names))
            .unwrap_or_default()
    }
}

/// One phase of the pipeline, with its history.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct PhaseState {
    pub id: String,
    pub role: String,
    pub artifact_name: String,
    pub status: PhaseStatus,
    pub attempts: Vec<Attempt>,
    /// Notes from approvals, for every later role.
    pub notes: Vec<String>,
    pub decisions: Vec<Decided>,
    pub usage: Usage,
    /// What a forked session copied from its origin: counted there, not here.
    pub inherited: Inherited,
    /// Where work was returned to from this phase, in order, and whether
    /// it went by itself (a failing verdict) rather than by a decision.
    pub returned: Vec<Returned>,
    /// Hunks a person took back out of the workspace at this phase's gates.
    pub reverts: Vec<Revert>,
    /// What consulted specialists advised it, over all its attempts.
    pub advice: Vec<super::Advice>,
    /// What utility roles summoned at its gates wrote.
    pub utilities: Vec<super::UtilityReport>,
    /// The utilities summoned at its gates that have not answered yet:
    /// the gate's `seq` and the utility's id.
    pub summoned: Vec<(u64, String)>,
}

/// A hunk taken out of the workspace at a gate (`reverted`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Revert {
    /// The `seq` of its `reverted` event.
    pub seq: u64,
    pub file: String,
    pub patch: String,
    /// Put back since (`revert_undone`).
    pub undone: bool,
}

/// How much of a phase's history a fork copied from the session it came
/// from. Metrics skip it, so a fork does not count its origin's work twice.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Inherited {
    pub attempts: usize,
    pub decisions: usize,
    pub usage: Usage,
    /// Returns from this phase.
    pub returned: usize,
}

impl PhaseState {
    /// How many times a person sent this phase back to work: its recorded
    /// `reject` decisions over the whole session (a fork's copied ones
    /// too), whether they rejected an answer or retried a failure. Returns
    /// from a later phase and attempts cut off by an interruption are not
    /// decisions on this phase's gate, so they do not count.
    pub fn rejections(&self) -> u32 {
        let count = self
            .decisions
            .iter()
            .filter(|d| d.decision.action == Action::Reject)
            .count();
        u32::try_from(count).unwrap_or(u32::MAX)
    }

    /// How many more rejections (or retries) `max_attempts` allows: the
    /// first attempt plus `max_attempts - 1` sent back by a person. The
    /// engine refuses a `reject` when this is 0, and the board offers
    /// the key only while it is not.
    pub fn rejections_left(&self, max_attempts: u32) -> u32 {
        max_attempts
            .saturating_sub(1)
            .saturating_sub(self.rejections())
    }

    /// Why a person cannot take `action` at this phase's gate, in the
    /// words the engine refuses it with and the board says when the key is
    /// pressed; `None` when it applies. `first` is whether this is the
    /// pipeline's first phase (nothing earlier to return to).
    pub fn refusal(&self, action: Action, first: bool, max_attempts: u32) -> Option<String> {
        let failed = self.status == PhaseStatus::Failed;
        match action {
            Action::Approve | Action::ApproveWithNotes | Action::Edit if failed => Some(format!(
                "the {} failed and has nothing to approve: retry, return or abort",
                self.role
            )),
            // A person's rejections and retries count, not returns nor
            // interruptions.
            Action::Reject if self.rejections_left(max_attempts) == 0 => Some(format!(
                "the {} has used all {max_attempts} attempts (rejections and retries; returns and interruptions do not count): {}",
                self.role,
                if failed {
                    "return or abort"
                } else {
                    "approve, edit, return or abort"
                }
            )),
            Action::Return if first => Some("there is no earlier phase to return to".into()),
            Action::Approve
            | Action::ApproveWithNotes
            | Action::Edit
            | Action::Reject
            | Action::Return
            | Action::Abort => None,
        }
    }

    /// How often work was sent back from this phase by itself.
    pub fn automatic_returns(&self) -> u32 {
        let count = self.returned.iter().filter(|r| r.automatic).count();
        u32::try_from(count).unwrap_or(u32::MAX)
    }

    pub fn current(&self) -> Option<&Attempt> {
        self.attempts.last()
    }

    pub(super) fn current_mut(&mut self) -> Option<&mut Attempt> {
        self.attempts.last_mut()
    }

    pub(super) fn attempt_mut(&mut self, number: u32) -> Option<&mut Attempt> {
        self.attempts.iter_mut().rev().find(|a| a.number == number)
    }

    /// The artifact later phases read, if this phase has produced one.
    pub fn effective_artifact(&self) -> Option<&str> {
        self.current().and_then(Attempt::effective)
    }
}

/// The feedback an unreadable structured answer is asked again with.
pub fn invalid_feedback(errors: &[String]) -> String {
    let mut text =
        String::from("Your answer could not be read. Answer again with one JSON object; fix:\n");
    for e in errors {
        text.push_str("- ");
        text.push_str(e);
        text.push('\n');
    }
    text
}

impl SessionState {
    /// `phase_started`: a new attempt runs, and no gate is open.
    pub(super) fn on_phase_started(
        &mut self,
        t: DateTime<Utc>,
        seq: u64,
        phase: &str,
        attempt: u32,
    ) {
        self.gate = None;
        self.status = SessionStatus::Running;
        if let Some(p) = self.phase_mut(phase) {
            p.status = PhaseStatus::Running;
            p.attempts.push(Attempt {
                number: attempt,
                started_at: Some(t),
                started_seq: seq,
                ..Attempt::default()
            });
        }
    }

    /// `engaged`: the specialists advising the attempt.
    pub(super) fn on_engaged(&mut self, phase: &str, attempt: u32, specialists: &[String]) {
        if let Some(a) = self.attempt_mut(phase, attempt) {
            specialists.clone_into(&mut a.specialists);
        }
    }

    /// `output`: streamed text; whatever was being retried worked.
    pub(super) fn on_output(&mut self, phase: &str, attempt: u32, text: &str) {
        if let Some(a) = self.attempt_mut(phase, attempt) {
            a.output.push_str(text);
            a.retrying = None;
        }
    }

    /// `usage`: tokens, counted for the session, the phase and the attempt.
    pub(super) fn on_usage(&mut self, phase: &str, attempt: u32, prompt: u64, completion: u64) {
        self.usage.add(prompt, completion);
        if let Some(p) = self.phase_mut(phase) {
            p.usage.add(prompt, completion);
            if let Some(a) = p.attempt_mut(attempt) {
                a.usage.add(prompt, completion);
            }
        }
    }

    /// `retry`: why the provider is trying again, until text arrives.
    pub(super) fn on_retry(
        &mut self,
        phase: &str,
        attempt: u32,
        reason: &str,
        wait_ms: u64,
        (next_try, tries): (u32, u32),
    ) {
        if let Some(a) = self.attempt_mut(phase, attempt) {
            a.retrying = Some(format!(
                "{reason}: try {next_try} of {tries} in {:.1}s",
                Duration::from_millis(wait_ms).as_secs_f64()
            ));
        }
    }

    /// `artifact`: the attempt's answer; the attempt is over.
    pub(super) fn on_artifact(
        &mut self,
        t: DateTime<Utc>,
        seq: u64,
        phase: &str,
        attempt: u32,
        content: &str,
    ) {
        if let Some(a) = self.attempt_mut(phase, attempt) {
            a.artifact = Some(content.to_owned());
            a.ended_at = Some(t);
            a.changed_seq = seq;
        }
    }

    /// `invalid`: the structured answer could not be read. With `retry` the
    /// phase runs again, the errors its feedback.
    pub(super) fn on_invalid(&mut self, phase: &str, attempt: u32, errors: &[String], retry: bool) {
        if let Some(p) = self.phase_mut(phase) {
            if let Some(a) = p.attempt_mut(attempt) {
                a.invalid = Some(errors.to_vec());
                if retry {
                    a.rejected_with = Some(invalid_feedback(errors));
                    a.outcome = Some(AttemptOutcome::Unreadable);
                }
            }
            if retry {
                p.status = PhaseStatus::Pending;
            }
        }
    }

    /// `phase_failed`: the attempt broke off; no permission stays asked.
    pub(super) fn on_phase_failed(
        &mut self,
        t: DateTime<Utc>,
        phase: &str,
        attempt: u32,
        error: &str,
    ) {
        self.permission = None;
        if let Some(p) = self.phase_mut(phase) {
            p.status = PhaseStatus::Failed;
            if let Some(a) = p.attempt_mut(attempt) {
                a.error = Some(error.to_owned());
                a.ended_at = Some(t);
                a.outcome = Some(if error.starts_with(INTERRUPTED) {
                    AttemptOutcome::Interrupted
                } else {
                    AttemptOutcome::Failed
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::invalid_feedback;
    use crate::session::event::EventKind;
    use crate::session::fold::{PhaseStatus, SessionStatus};
    use crate::session::testing::{fold, started};

    fn begun(attempt: u32) -> EventKind {
        EventKind::PhaseStarted {
            phase: "plan".into(),
            attempt,
        }
    }

    #[test]
    fn a_started_phase_runs_a_new_attempt_and_closes_the_gate() {
        let state = fold([
            started("r", "offline"),
            EventKind::GateOpened {
                phase: "summarize".into(),
                question: "ok?".into(),
                over_budget: None,
            },
            begun(1),
            begun(2),
        ]);
        let plan = &state.phases[1];
        assert_eq!(plan.status, PhaseStatus::Running);
        assert_eq!(plan.attempts.len(), 2);
        assert_eq!(
            plan.current().map(|a| (a.number, a.started_seq)),
            Some((2, 3))
        );
        assert!(state.gate.is_none());
        assert_eq!(state.status, SessionStatus::Running);
    }

    #[test]
    fn text_and_usage_go_to_the_attempt_named() {
        let output = |attempt, text: &str| EventKind::Output {
            phase: "plan".into(),
            attempt,
            text: text.into(),
        };
        let usage = |attempt| EventKind::Usage {
            phase: "plan".into(),
            attempt,
            prompt_tokens: 3,
            completion_tokens: 4,
        };
        let state = fold([
            started("r", "offline"),
            begun(1),
            output(1, "one "),
            begun(2),
            output(1, "late"),
            output(2, "two"),
            usage(1),
            usage(2),
        ]);
        let plan = &state.phases[1];
        assert_eq!(plan.attempts[0].output, "one late");
        assert_eq!(plan.attempts[1].output, "two");
        assert_eq!(plan.attempts[1].usage.total(), 7);
        assert_eq!(plan.usage.total(), 14);
        assert_eq!(state.usage.prompt_tokens, 6);
    }

    #[test]
    fn a_retry_shows_until_text_arrives() {
        let retry = EventKind::Retry {
            phase: "plan".into(),
            attempt: 1,
            reason: "rate limited".into(),
            wait_ms: 1500,
            next_try: 2,
            tries: 3,
        };
        let waiting = fold([started("r", "offline"), begun(1), retry.clone()]);
        assert_eq!(
            waiting.phases[1].attempts[0].retrying.as_deref(),
            Some("rate limited: try 2 of 3 in 1.5s")
        );
        let through = fold([
            started("r", "offline"),
            begun(1),
            retry,
            EventKind::Output {
                phase: "plan".into(),
                attempt: 1,
                text: "x".into(),
            },
        ]);
        assert_eq!(through.phases[1].attempts[0].retrying, None);
    }

    #[test]
    fn an_artifact_ends_the_attempt_and_is_what_later_phases_read() {
        let state = fold([
            started("r", "offline"),
            begun(1),
            EventKind::Engaged {
                phase: "plan".into(),
                attempt: 1,
                specialists: vec!["db (sql)".into()],
            },
            EventKind::Artifact {
                outputs: Vec::new(),
                missing: Vec::new(),
                phase: "plan".into(),
                attempt: 1,
                name: "plan".into(),
                content: "the plan".into(),
            },
        ]);
        let a = &state.phases[1].attempts[0];
        assert_eq!(a.specialists, ["db (sql)"]);
        assert!(a.ended_at.is_some());
        assert_eq!(a.changed_seq, 3);
        assert_eq!(state.phases[1].effective_artifact(), Some("the plan"));
    }

    #[test]
    fn an_unreadable_answer_runs_again_only_with_retry() {
        let invalid = |retry| EventKind::Invalid {
            phase: "plan".into(),
            attempt: 1,
            errors: vec!["tasks is empty".into()],
            retry,
        };
        let again = fold([started("r", "offline"), begun(1), invalid(true)]);
        let plan = &again.phases[1];
        assert_eq!(plan.status, PhaseStatus::Pending);
        let errors = ["tasks is empty".to_owned()];
        assert_eq!(
            plan.attempts[0].rejected_with.as_deref(),
            Some(invalid_feedback(&errors).as_str())
        );
        let kept = fold([started("r", "offline"), begun(1), invalid(false)]);
        let plan = &kept.phases[1];
        assert_eq!(plan.status, PhaseStatus::Running);
        assert_eq!(plan.attempts[0].invalid.as_deref(), Some(&errors[..]));
        assert_eq!(plan.attempts[0].rejected_with, None);
    }

    #[test]
    fn a_failure_records_the_error_and_withdraws_a_question() {
        let state = fold([
            started("r", "offline"),
            begun(1),
            EventKind::PermissionAsked {
                phase: "plan".into(),
                attempt: 1,
                call_id: "c1".into(),
                tool: "run_command".into(),
                detail: "ls".into(),
                reason: "ask".into(),
                always: None,
            },
            EventKind::PhaseFailed {
                phase: "plan".into(),
                attempt: 1,
                error: "the provider went away".into(),
            },
        ]);
        assert!(state.permission.is_none());
        let plan = &state.phases[1];
        assert_eq!(plan.status, PhaseStatus::Failed);
        assert_eq!(
            plan.attempts[0].error.as_deref(),
            Some("the provider went away")
        );
    }
}

#[cfg(test)]
mod named_outputs {
    use crate::session::event::EventKind;
    use crate::session::testing::{fold, started};

    const NAMES: [&str; 2] = ["a", "b"];

    fn answered(outputs: Vec<crate::formats::sections::Section>, missing: &[&str]) -> EventKind {
        EventKind::Artifact {
            phase: "summarize".into(),
            attempt: 1,
            name: "requirements".into(),
            content: "## a\none\n## b\ntwo\n".into(),
            outputs,
            missing: missing.iter().map(|m| (*m).to_owned()).collect(),
        }
    }

    fn phase_started() -> EventKind {
        EventKind::PhaseStarted {
            phase: "summarize".into(),
            attempt: 1,
        }
    }

    #[test]
    fn recorded_sections_are_kept_and_an_old_artifact_is_split_when_read() {
        let recorded = crate::formats::sections::Section {
            name: "a".into(),
            content: "one".into(),
        };
        let state = fold([
            started("r", "offline"),
            phase_started(),
            answered(vec![recorded.clone()], &["b"]),
        ]);
        let attempt = &state.phases[0].attempts[0];
        let sections = attempt.sections(&NAMES);
        assert_eq!(
            (sections.found, sections.missing),
            (vec![recorded], vec!["b".to_owned()])
        );
        // A log from before named outputs: the draft is split now.
        let state = fold([
            started("r", "offline"),
            phase_started(),
            answered(Vec::new(), &[]),
        ]);
        let sections = state.phases[0].attempts[0].sections(&NAMES);
        assert_eq!(sections.found.len(), 2);
        assert!(sections.missing.is_empty());
    }

    #[test]
    fn an_old_artifact_line_reads_without_the_new_fields() {
        let line = r#"{"seq":3,"t":"2026-11-20T10:00:00.000Z","kind":"artifact","phase":"p","attempt":1,"name":"x","content":"c"}"#;
        let kind: EventKind = serde_json::from_str(line).expect("an old line");
        let EventKind::Artifact {
            outputs, missing, ..
        } = kind
        else {
            panic!("an artifact");
        };
        assert!(outputs.is_empty() && missing.is_empty());
    }
}
