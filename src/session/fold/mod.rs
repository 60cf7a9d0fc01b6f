//! The fold: what a session is after a sequence of events.
//!
//! [`SessionState::apply`] is the only way session state changes. The engine
//! applies each event it writes, the TUI applies each event it receives (live
//! or replayed), and `show`, `sessions` and resume fold a log from disk — all
//! arrive at the same state for the same events. `apply` is pure: no clock,
//! no I/O; times come from the events themselves.
//!
//! `apply` is one match over the event kinds that hands each kind to its own
//! handler (`on_<kind>`). The handlers live beside the state they change:
//! - `session`: the session as a whole — its start, a fork, workspace
//!   snapshots, its end;
//! - `phases`: phases and their attempts — streamed text, usage,
//!   artifacts, failures, retries, unreadable answers;
//! - `gates`: gates, the decisions made at them, and work returned to an
//!   earlier phase;
//! - `tool_calls`: tool calls and the permissions they ask for;
//! - `tasks`: the tasks of a plan run task by task;
//! - `advice`: what consulted specialists advised a phase;
//! - `utility`: what a utility role summoned at a gate wrote, and whom it
//!   is handed to.
//!
//! The fold reads no tool arguments: what a call's card shows is recorded
//! on its `tool_call` event by the engine.

mod advice;
mod gates;
mod phases;
mod session;
mod tasks;
mod tool_calls;
mod utility;

use chrono::{DateTime, Utc};
use serde::Serialize;

pub use super::event::Checklist;
use super::event::{Event, EventKind, SessionOutcome, WorkspaceInfo};
use crate::changes::FileStat;
use crate::formats::{self, Verdict};
use crate::pipeline::Pipeline;
pub use advice::Advice;
pub use gates::{Decided, Gate, Returned};
pub use phases::{
    Attempt, AttemptOutcome, INTERRUPTED, Inherited, PhaseState, PhaseStatus, Usage,
    invalid_feedback,
};
pub use tasks::{TaskRun, task_call_id};
pub use tool_calls::{PermissionRequest, ToolRun, ToolState};
pub use utility::UtilityReport;

/// Where a session stands, as `show --json` reports it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionStatus {
    /// Not started, or a phase is running.
    #[default]
    Running,
    AwaitingGate,
    Finished,
    Failed,
    /// The log stops mid-run and nothing is writing it any more. The fold
    /// never produces this; the store does, knowing the writer is gone.
    Interrupted,
}

impl SessionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::AwaitingGate => "awaiting_gate",
            Self::Finished => "finished",
            Self::Failed => "failed",
            Self::Interrupted => "interrupted",
        }
    }
}

/// The workspace as a snapshot at a phase's gate kept it, and what changed
/// since the snapshot before it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Snapshot {
    pub phase: String,
    pub commit: String,
    /// The commit the change is counted from (none: from an empty tree).
    pub base: Option<String>,
    pub files: Vec<FileStat>,
}

/// A whole session, folded from its events.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct SessionState {
    pub id: String,
    pub request: String,
    /// How the pipeline was chosen for the request, when the log says.
    pub detected: Option<String>,
    pub pipeline: Option<Pipeline>,
    pub provider: String,
    pub model: String,
    pub status: SessionStatus,
    pub outcome: Option<SessionOutcome>,
    pub phases: Vec<PhaseState>,
    pub gate: Option<Gate>,
    pub usage: Usage,
    pub started_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// The `seq` the next event gets: how many events have been applied.
    pub next_seq: u64,
    pub workspace: Option<WorkspaceInfo>,
    /// A tool call waiting for a person's yes or no.
    pub permission: Option<PermissionRequest>,
    /// Command patterns a person allowed for the rest of the session.
    pub session_allow: Vec<String>,
    /// Workspace snapshots in the order taken (a phase that ran again
    /// has one per gate).
    pub snapshots: Vec<Snapshot>,
    /// The session this one was forked from, and at which phase.
    pub forked_from: Option<(String, String)>,
    /// When this session was forked: where its own history begins.
    pub forked_at: Option<DateTime<Utc>>,
}

impl SessionState {
    /// Folds a sequence of events from the empty state.
    pub fn from_events<'a>(events: impl IntoIterator<Item = &'a Event>) -> Self {
        let mut state = Self::default();
        for event in events {
            state.apply(event);
        }
        state
    }

    /// Applies one event. Events that do not fit the state (a phase id the
    /// pipeline does not have) change nothing.
    #[expect(
        clippy::too_many_lines,
        reason = "one arm per event kind: split, the compiler would no longer check it is complete"
    )]
    pub fn apply(&mut self, event: &Event) {
        self.next_seq = event.seq + 1;
        self.updated_at = Some(event.t);
        let (t, seq) = (event.t, event.seq);
        match &event.kind {
            EventKind::SessionStarted {
                id,
                request,
                pipeline,
                provider,
                model,
                workspace,
                detected,
                ..
            } => self.on_session_started(
                t,
                id,
                (request, detected.as_deref()),
                pipeline,
                (provider, model),
                workspace.as_ref(),
            ),
            EventKind::PhaseStarted { phase, attempt } => {
                self.on_phase_started(t, seq, phase, *attempt);
            }
            EventKind::Engaged {
                phase,
                attempt,
                specialists,
            } => self.on_engaged(phase, *attempt, specialists),
            EventKind::Advice {
                phase,
                attempt,
                specialist,
                keyword,
                text,
                error,
                read,
            } => self.on_advice(
                phase,
                Advice {
                    attempt: *attempt,
                    specialist: specialist.clone(),
                    keyword: keyword.clone(),
                    text: text.clone(),
                    error: error.clone(),
                    read: *read,
                    seq,
                },
            ),
            EventKind::Summoned {
                phase,
                gate,
                utility,
            } => self.on_summoned(phase, *gate, utility),
            EventKind::Utility {
                phase,
                gate,
                utility,
                name,
                artifacts,
                hands_to,
                text,
                error,
                reads,
            } => self.on_utility(UtilityReport {
                utility: utility.clone(),
                name: name.clone(),
                phase: phase.clone(),
                gate: *gate,
                artifacts: artifacts.clone(),
                hands_to: hands_to.clone(),
                text: text.clone(),
                error: error.clone(),
                reads: reads.clone(),
                seq,
            }),
            EventKind::TaskStarted {
                phase,
                attempt,
                task,
                round,
                name,
                critique_of,
                role,
            } => self.on_task_started(
                phase,
                *attempt,
                *task,
                *round,
                (name, *critique_of, role.as_ref()),
            ),
            EventKind::TaskOutput {
                phase,
                attempt,
                task,
                text,
            } => self.on_task_output(phase, *attempt, *task, text),
            EventKind::TaskFinished {
                phase,
                attempt,
                task,
                outcome,
                summary,
                ..
            } => self.on_task_finished(phase, *attempt, *task, *outcome, summary),
            EventKind::Output {
                phase,
                attempt,
                text,
            } => self.on_output(phase, *attempt, text),
            EventKind::Usage {
                phase,
                attempt,
                prompt_tokens,
                completion_tokens,
            } => self.on_usage(phase, *attempt, *prompt_tokens, *completion_tokens),
            EventKind::Artifact {
                phase,
                attempt,
                content,
                outputs,
                missing,
                ..
            } => {
                self.on_artifact(t, seq, phase, *attempt, content);
                if let Some(a) = self.attempt_mut(phase, *attempt) {
                    a.outputs.clone_from(outputs);
                    a.missing.clone_from(missing);
                }
            }
            EventKind::GateOpened {
                phase,
                question,
                over_budget,
            } => self.on_gate_opened(seq, phase, question, over_budget.as_deref()),
            EventKind::Decision(decision) => self.on_decision(t, seq, decision),
            EventKind::PhaseFailed {
                phase,
                attempt,
                error,
            } => self.on_phase_failed(t, phase, *attempt, error),
            EventKind::ToolCall {
                phase,
                attempt,
                call_id,
                tool,
                args,
                target,
                checklist,
            } => {
                let card = tool_calls::Card::of(tool, args, target.as_deref(), checklist.as_ref());
                self.on_tool_call(phase, *attempt, call_id, tool, card);
            }
            EventKind::PermissionAsked {
                phase,
                attempt,
                call_id,
                tool,
                detail,
                reason,
                always,
            } => {
                let request = tool_calls::Asked {
                    tool,
                    detail,
                    reason,
                    always: always.as_deref(),
                };
                self.on_permission_asked(phase, *attempt, call_id, request);
            }
            EventKind::Permission {
                phase,
                call_id,
                decision,
                pattern,
                reason,
                ..
            } => self.on_permission(
                phase,
                call_id,
                *decision,
                pattern.as_deref(),
                reason.as_deref(),
            ),
            EventKind::ToolResult {
                phase,
                attempt,
                call_id,
                ok,
                summary,
                ..
            } => self.on_tool_result(phase, *attempt, call_id, *ok, summary),
            EventKind::Forked { from, at, .. } => self.on_forked(t, from, at),
            EventKind::Reverted { phase, file, patch } => {
                if let Some(p) = self.phase_mut(phase) {
                    p.reverts.push(phases::Revert {
                        seq,
                        file: file.clone(),
                        patch: patch.clone(),
                        undone: false,
                    });
                }
            }
            EventKind::RevertUndone { phase, reverted } => {
                if let Some(r) = self
                    .phase_mut(phase)
                    .and_then(|p| p.reverts.iter_mut().find(|r| r.seq == *reverted))
                {
                    r.undone = true;
                }
            }
            EventKind::Snapshot {
                phase,
                commit,
                base,
                files,
                ..
            } => self.on_snapshot(Snapshot {
                phase: phase.clone(),
                commit: commit.clone(),
                base: base.clone(),
                files: files.clone(),
            }),
            EventKind::Retry {
                phase,
                attempt,
                reason,
                wait_ms,
                next_try,
                tries,
            } => self.on_retry(phase, *attempt, reason, *wait_ms, (*next_try, *tries)),
            EventKind::Returned {
                from,
                to,
                reason,
                automatic,
            } => self.on_returned(from, to, reason, *automatic),
            EventKind::Invalid {
                phase,
                attempt,
                errors,
                retry,
            } => self.on_invalid(phase, *attempt, errors, *retry),
            EventKind::SessionFinished { outcome } => self.on_session_finished(t, *outcome),
            EventKind::Unknown => {}
        }
    }

    fn phase_mut(&mut self, id: &str) -> Option<&mut PhaseState> {
        self.phases.iter_mut().find(|p| p.id == id)
    }

    /// Attempt `number` of phase `id`.
    fn attempt_mut(&mut self, id: &str, number: u32) -> Option<&mut Attempt> {
        self.phase_mut(id).and_then(|p| p.attempt_mut(number))
    }

    /// The index of the phase with this id.
    pub fn phase_index(&self, id: &str) -> Option<usize> {
        self.phases.iter().position(|p| p.id == id)
    }

    /// The verdict phase `index` gave, if its output is a verdict and its
    /// current answer reads as one.
    pub fn verdict(&self, index: usize) -> Option<Verdict> {
        let kind = self.pipeline.as_ref()?.phases.get(index)?.output;
        let text = self.phases.get(index)?.effective_artifact()?;
        match formats::read(kind, text) {
            Ok(Some(formats::Read::Verdict(v))) => Some(v),
            Ok(Some(formats::Read::Plan(_)) | None) | Err(_) => None,
        }
    }

    /// What is wrong with `text` as phase `index`'s structured answer (a
    /// plan, a verdict); nothing for Markdown or a text that reads.
    pub fn read_errors(&self, index: usize, text: &str) -> Vec<String> {
        self.pipeline
            .as_ref()
            .and_then(|p| p.read_answer(index, text).err())
            .unwrap_or_default()
    }

    /// Whether the gate on phase `index` needs a person, not a blanket
    /// approval: its answer could not be read, its verdict failed, or a plan
    /// task still fails its critique or its critique could not be read.
    pub fn needs_a_person(&self, index: usize) -> bool {
        let current = self.phases.get(index).and_then(PhaseState::current);
        // Read again, not remembered: a person's edit may have mended it.
        let unreadable = current.and_then(Attempt::effective).is_some_and(|text| {
            self.pipeline
                .as_ref()
                .is_some_and(|p| p.read_answer(index, text).is_err())
        });
        let failing = current
            .is_some_and(|a| !a.failing_tasks().is_empty() || !a.unchecked_tasks().is_empty());
        unreadable || failing || self.verdict(index).is_some_and(|v| !v.passed())
    }

    /// The phase that is running or waiting at a gate, if any.
    pub fn active_phase(&self) -> Option<usize> {
        self.gate.as_ref().map(|g| g.phase).or_else(|| {
            self.phases
                .iter()
                .position(|p| p.status == PhaseStatus::Running)
        })
    }

    /// Whether the session has ended.
    pub fn is_over(&self) -> bool {
        self.outcome.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::testing::{fold, numbered, started};

    #[test]
    fn every_event_moves_next_seq_and_the_time_on() {
        let events = numbered([
            started("r", "offline"),
            EventKind::PhaseStarted {
                phase: "summarize".into(),
                attempt: 1,
            },
            EventKind::Unknown,
        ]);
        let state = SessionState::from_events(&events);
        assert_eq!(state.next_seq, 3);
        assert_eq!(state.updated_at, Some(events[2].t));
    }

    #[test]
    fn events_for_a_phase_the_pipeline_lacks_change_nothing_but_the_count() {
        let before = fold([started("r", "offline")]);
        let after = fold([
            started("r", "offline"),
            EventKind::PhaseStarted {
                phase: "nowhere".into(),
                attempt: 1,
            },
            EventKind::Output {
                phase: "nowhere".into(),
                attempt: 1,
                text: "lost".into(),
            },
        ]);
        assert_eq!(
            SessionState {
                next_seq: before.next_seq,
                ..after
            },
            before
        );
    }

    #[test]
    fn the_active_phase_is_the_one_at_a_gate_or_running() {
        let running = fold([
            started("r", "offline"),
            EventKind::PhaseStarted {
                phase: "plan".into(),
                attempt: 1,
            },
        ]);
        assert_eq!(running.active_phase(), Some(1));
        assert!(!running.is_over());
        let mut at_gate = running.clone();
        at_gate.apply(
            &numbered([EventKind::GateOpened {
                phase: "summarize".into(),
                question: "ok?".into(),
                over_budget: None,
            }])[0],
        );
        assert_eq!(at_gate.active_phase(), Some(0));
    }
}
