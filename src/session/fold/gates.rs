//! Gates, and folding what happens at them: a gate opens, a person (or a
//! policy) decides, and work may go back to an earlier phase.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{AttemptOutcome, PhaseStatus, SessionState, SessionStatus};
use crate::session::event::{Action, Decision};

/// An open gate: a phase's answer waiting for a decision.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Gate {
    /// The `seq` of the `gate_opened` event: what a decision names to
    /// answer this gate.
    pub seq: u64,
    pub phase: usize,
    pub question: String,
    pub over_budget: Option<String>,
}

/// A decision and when it was made.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Decided {
    pub at: DateTime<Utc>,
    pub decision: Decision,
}

/// One return of work from a phase to an earlier one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Returned {
    pub to: String,
    pub automatic: bool,
}

impl SessionState {
    /// `gate_opened`: the session waits for a decision on `phase` (which
    /// stays failed if it failed, and so does the session).
    pub(super) fn on_gate_opened(
        &mut self,
        seq: u64,
        phase: &str,
        question: &str,
        over_budget: Option<&str>,
    ) {
        if let Some(index) = self.phase_index(phase) {
            let p = &mut self.phases[index];
            let failed = p.status == PhaseStatus::Failed;
            if !failed {
                p.status = PhaseStatus::AwaitingGate;
            }
            self.gate = Some(Gate {
                seq,
                phase: index,
                question: question.to_owned(),
                over_budget: over_budget.map(str::to_owned),
            });
            // A failed phase waits for a retry or an abort, but what the
            // session is, for `sessions` and `stats`, is failed.
            self.status = if failed {
                SessionStatus::Failed
            } else {
                SessionStatus::AwaitingGate
            };
        }
    }

    /// `decision`: recorded on its phase; every action but `edit` closes
    /// the gate.
    pub(super) fn on_decision(&mut self, at: DateTime<Utc>, seq: u64, decision: &Decision) {
        let Some(p) = self.phase_mut(&decision.phase) else {
            return;
        };
        p.decisions.push(Decided {
            at,
            decision: decision.clone(),
        });
        let keep_gate_open = match decision.action {
            Action::Approve => {
                p.status = PhaseStatus::Approved;
                false
            }
            Action::ApproveWithNotes => {
                p.status = PhaseStatus::Approved;
                p.notes.extend(decision.notes.clone());
                false
            }
            Action::Edit => {
                if let Some(a) = p.current_mut() {
                    a.edited.clone_from(&decision.content);
                    a.changed_seq = seq;
                }
                true
            }
            Action::Reject => {
                // A retry with no words (of a failed attempt) leaves nothing
                // for the next attempt to answer but what came before.
                if let Some(a) = p.current_mut() {
                    if let Some(feedback) = decision.feedback_text() {
                        a.rejected_with = Some(feedback);
                    }
                    a.outcome = Some(if a.error.is_some() {
                        AttemptOutcome::Retried
                    } else {
                        AttemptOutcome::Rejected
                    });
                }
                p.status = PhaseStatus::Pending;
                false
            }
            Action::Return | Action::Abort => false,
        };
        if !keep_gate_open {
            self.gate = None;
            self.status = SessionStatus::Running;
        }
    }

    /// `returned`: work goes back from `from` to `to`; `to` and every phase
    /// after it are pending again, and `reason` is what `to` runs again with.
    pub(super) fn on_returned(&mut self, from: &str, to: &str, reason: &str, automatic: bool) {
        if let Some(p) = self.phase_mut(from) {
            p.returned.push(Returned {
                to: to.to_owned(),
                automatic,
            });
        }
        if let Some(index) = self.phase_index(to) {
            if let Some(a) = self.phases[index].current_mut() {
                if !reason.trim().is_empty() {
                    a.rejected_with = Some(reason.to_owned());
                }
                a.outcome = Some(AttemptOutcome::Returned {
                    from: from.to_owned(),
                    automatic,
                });
            }
            for p in &mut self.phases[index..] {
                p.status = PhaseStatus::Pending;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::session::event::{Action, DecidedBy, Decision, EventKind};
    use crate::session::fold::{AttemptOutcome, PhaseStatus, SessionStatus};
    use crate::session::testing::{fold, started};

    fn answered(phase: &str) -> Vec<EventKind> {
        vec![
            EventKind::PhaseStarted {
                phase: phase.into(),
                attempt: 1,
            },
            EventKind::Artifact {
                outputs: Vec::new(),
                missing: Vec::new(),
                phase: phase.into(),
                attempt: 1,
                name: phase.into(),
                content: format!("{phase} v1"),
            },
            EventKind::GateOpened {
                phase: phase.into(),
                question: "ok?".into(),
                over_budget: Some("over".into()),
            },
        ]
    }

    fn after(phase: &str, decision: Decision) -> crate::session::SessionState {
        let mut kinds = vec![started("r", "offline")];
        kinds.extend(answered(phase));
        kinds.push(EventKind::Decision(decision));
        fold(kinds)
    }

    #[test]
    fn an_open_gate_waits_on_its_phase() {
        let mut kinds = vec![started("r", "offline")];
        kinds.extend(answered("plan"));
        let state = fold(kinds);
        assert_eq!(state.status, SessionStatus::AwaitingGate);
        assert_eq!(state.phases[1].status, PhaseStatus::AwaitingGate);
        let gate = state.gate.expect("a gate");
        assert_eq!((gate.phase, gate.question.as_str()), (1, "ok?"));
        assert_eq!(gate.over_budget.as_deref(), Some("over"));
    }

    #[test]
    fn a_failed_phase_stays_failed_at_its_gate() {
        let state = fold([
            started("r", "offline"),
            EventKind::PhaseStarted {
                phase: "plan".into(),
                attempt: 1,
            },
            EventKind::PhaseFailed {
                phase: "plan".into(),
                attempt: 1,
                error: "broke".into(),
            },
            EventKind::GateOpened {
                phase: "plan".into(),
                question: "retry?".into(),
                over_budget: None,
            },
        ]);
        assert_eq!(state.phases[1].status, PhaseStatus::Failed);
        // `sessions` lists it, and `stats` counts it, as failed.
        assert_eq!(state.status, SessionStatus::Failed);
        assert!(
            state.gate.is_some() && !state.is_over(),
            "it can still be retried"
        );
    }

    #[test]
    fn approving_with_notes_closes_the_gate_and_keeps_the_notes() {
        let state = after(
            "plan",
            Decision {
                notes: Some("mind the cache".into()),
                ..Decision::new("plan", Action::ApproveWithNotes, DecidedBy::User)
            },
        );
        let plan = &state.phases[1];
        assert_eq!(plan.status, PhaseStatus::Approved);
        assert_eq!(plan.notes, ["mind the cache"]);
        assert_eq!(plan.decisions.len(), 1);
        assert!(state.gate.is_none());
        assert_eq!(state.status, SessionStatus::Running);
    }

    #[test]
    fn an_edit_replaces_the_text_and_keeps_the_gate_open() {
        let state = after(
            "plan",
            Decision {
                content: Some("human plan".into()),
                ..Decision::new("plan", Action::Edit, DecidedBy::User)
            },
        );
        let plan = &state.phases[1];
        assert_eq!(plan.effective_artifact(), Some("human plan"));
        assert_eq!(plan.attempts[0].changed_seq, 4);
        assert!(state.gate.is_some());
        assert_eq!(state.status, SessionStatus::AwaitingGate);
    }

    #[test]
    fn a_rejection_with_words_is_the_next_attempt_s_feedback() {
        let worded = after(
            "plan",
            Decision {
                feedback: Some("add pagination".into()),
                ..Decision::new("plan", Action::Reject, DecidedBy::User)
            },
        );
        let plan = &worded.phases[1];
        assert_eq!(plan.status, PhaseStatus::Pending);
        assert_eq!(
            plan.attempts[0].rejected_with.as_deref(),
            Some("add pagination")
        );
        let wordless = after(
            "plan",
            Decision {
                feedback: Some("  ".into()),
                ..Decision::new("plan", Action::Reject, DecidedBy::User)
            },
        );
        assert_eq!(wordless.phases[1].attempts[0].rejected_with, None);
        // Review comments travel with the words, each with its place.
        let reviewed = after(
            "plan",
            Decision {
                feedback: Some("close".into()),
                comments: vec![crate::session::ReviewComment {
                    file: "internal/orders/service.go".into(),
                    line: 6,
                    code: "const DefaultLimit = 100".into(),
                    text: "Lower it to 60".into(),
                }],
                ..Decision::new("plan", Action::Reject, DecidedBy::User)
            },
        );
        assert_eq!(
            reviewed.phases[1].attempts[0].rejected_with.as_deref(),
            Some(
                "close\n\nReview comments on your change:\n- internal/orders/service.go:6: `const DefaultLimit = 100`\n  Lower it to 60"
            )
        );
    }

    #[test]
    fn a_decision_on_an_unknown_phase_changes_nothing() {
        let mut kinds = vec![started("r", "offline")];
        kinds.extend(answered("plan"));
        let before = fold(kinds.clone());
        kinds.push(EventKind::Decision(Decision::approve(
            "nowhere",
            DecidedBy::Policy,
        )));
        let state = fold(kinds);
        assert_eq!(state.gate, before.gate);
        assert_eq!(state.phases, before.phases);
    }

    #[test]
    fn a_return_reopens_the_phase_and_every_later_one() {
        let mut kinds = vec![started("r", "offline")];
        kinds.extend(answered("summarize"));
        kinds.push(EventKind::Decision(Decision::approve(
            "summarize",
            DecidedBy::User,
        )));
        kinds.extend(answered("plan"));
        kinds.push(EventKind::Returned {
            from: "plan".into(),
            to: "summarize".into(),
            reason: "the scope is wrong".into(),
            automatic: true,
        });
        let state = fold(kinds);
        assert!(
            state.phases[..2]
                .iter()
                .all(|p| p.status == PhaseStatus::Pending)
        );
        assert_eq!(
            state.phases[0].attempts[0].rejected_with.as_deref(),
            Some("the scope is wrong")
        );
        assert_eq!(state.phases[1].automatic_returns(), 1);
        assert_eq!(state.phases[1].returned[0].to, "summarize");
    }

    /// `max_attempts` counts what a person decided at this phase's gate:
    /// a return from a later phase and an attempt cut off by a crash run
    /// the phase again without using up a rejection, and each earlier
    /// attempt keeps how it ended.
    #[test]
    fn only_a_person_s_rejections_use_up_attempts_and_each_attempt_keeps_its_outcome() {
        let mut kinds = vec![started("r", "offline")];
        kinds.extend(answered("summarize"));
        kinds.push(EventKind::Decision(Decision::approve(
            "summarize",
            DecidedBy::User,
        )));
        kinds.extend(answered("plan"));
        kinds.push(EventKind::Returned {
            from: "plan".into(),
            to: "summarize".into(),
            reason: "the scope is wrong".into(),
            automatic: false,
        });
        kinds.push(EventKind::PhaseStarted {
            phase: "summarize".into(),
            attempt: 2,
        });
        kinds.push(EventKind::PhaseFailed {
            phase: "summarize".into(),
            attempt: 2,
            error: "interrupted: handoff stopped while this attempt ran".into(),
        });
        kinds.push(EventKind::PhaseStarted {
            phase: "summarize".into(),
            attempt: 3,
        });
        let before = fold(kinds.clone());
        let summarize = &before.phases[0];
        assert_eq!(summarize.attempts.len(), 3);
        assert_eq!(summarize.rejections(), 0);
        assert_eq!(summarize.rejections_left(3), 2);
        kinds.push(EventKind::GateOpened {
            phase: "summarize".into(),
            question: "ok?".into(),
            over_budget: None,
        });
        kinds.push(EventKind::Decision(Decision {
            feedback: Some("shorter".into()),
            ..Decision::new("summarize", Action::Reject, DecidedBy::User)
        }));
        let state = fold(kinds);
        let summarize = &state.phases[0];
        assert_eq!(summarize.rejections(), 1);
        assert_eq!(summarize.rejections_left(3), 1);
        assert_eq!(summarize.rejections_left(2), 0);
        // The engine and the board refuse in the same words.
        let refused = summarize.refusal(Action::Reject, true, 2).expect("refused");
        assert!(refused.contains("has used all 2 attempts"), "{refused}");
        assert!(
            refused.ends_with("approve, edit, return or abort"),
            "{refused}"
        );
        assert_eq!(summarize.refusal(Action::Reject, true, 3), None);
        assert_eq!(
            summarize.refusal(Action::Return, true, 3).as_deref(),
            Some("there is no earlier phase to return to")
        );
        assert_eq!(summarize.refusal(Action::Approve, true, 3), None);
        let outcomes: Vec<_> = summarize
            .attempts
            .iter()
            .map(|a| a.outcome.clone())
            .collect();
        assert_eq!(
            outcomes,
            [
                Some(AttemptOutcome::Returned {
                    from: "plan".into(),
                    automatic: false
                }),
                Some(AttemptOutcome::Interrupted),
                Some(AttemptOutcome::Rejected),
            ]
        );
    }

    #[test]
    fn a_retried_failure_counts_as_a_rejection_and_says_it_was_retried() {
        let state = fold([
            started("r", "offline"),
            EventKind::PhaseStarted {
                phase: "plan".into(),
                attempt: 1,
            },
            EventKind::PhaseFailed {
                phase: "plan".into(),
                attempt: 1,
                error: "the provider went away".into(),
            },
            EventKind::GateOpened {
                phase: "plan".into(),
                question: "retry?".into(),
                over_budget: None,
            },
            EventKind::Decision(Decision::new("plan", Action::Reject, DecidedBy::User)),
        ]);
        let plan = &state.phases[1];
        assert_eq!(plan.attempts[0].outcome, Some(AttemptOutcome::Retried));
        assert_eq!(plan.rejections_left(3), 1);
    }
}
