//! The gate and the permission prompt: what the user's answers become.
//!
//! At an open gate the acts approve, add notes, edit, reject, return work or
//! abort; those that need text open a box ([`Overlay::Compose`]) and are
//! sent when it is submitted (`App::submit`). An act that does not apply
//! is refused with a reason in the checkpoint bar. A permission request is
//! answered once, always or with a denial (and an optional reason). Every
//! answer is a [`Command`] sent to the engine; the decision itself is
//! recorded by the engine and comes back as an event.

use super::act::SessionAct;
use super::app::{App, Screen, Warned};
use super::compose::{Compose, Purpose};
use super::keymap::{Act, Context};
use super::overlay::Overlay;
use crate::protocol::{Command, PermissionAnswer};
use crate::session::fold::PermissionRequest;
use crate::session::{Action, DecidedBy, Decision, PhaseStatus};

/// How a box whose checkpoint closed under it is titled.
const STALE: &str = "The checkpoint this was written for has closed";

/// How the user answers a permission request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    /// Run this call.
    Once,
    /// Run this call and the ones like it for the rest of the session.
    Always,
    /// Refuse it, with a reason to write first.
    Deny,
}

/// The session's act for a gate's decision.
fn act_of(action: Action) -> SessionAct {
    match action {
        Action::Approve => SessionAct::Approve,
        Action::ApproveWithNotes => SessionAct::ApproveWithNotes,
        Action::Edit => SessionAct::Edit,
        Action::Reject => SessionAct::Reject,
        Action::Return => SessionAct::Return,
        Action::Abort => SessionAct::Abort,
    }
}

impl App {
    /// Answers the open gate with `action`: at once (approve), after a
    /// box (notes, an edit, feedback, the return's reason) or after asking
    /// (abort); refused with a reason when it does not apply.
    pub(super) fn gate_act(&mut self, action: Action) {
        if !self.can(act_of(action)) {
            self.notice = Some(self.why_not(action));
            return;
        }
        let Some(phase) = self.gate_phase() else {
            return;
        };
        let gate = self.state.gate.as_ref().map(|g| g.seq);
        let state = &self.state.phases[phase];
        let role = state.role.clone();
        match action {
            Action::Approve => {
                if self.warn_unreadable_approval(phase, gate) || self.warn_unviewed(phase, gate) {
                    return;
                }
                self.decide(gate, Action::Approve, |d| d);
            }
            Action::ApproveWithNotes => {
                let title = format!("Notes for every role after the {role}");
                self.open_compose(Purpose::Notes, gate, title, "");
            }
            Action::Edit => {
                let text = state.effective_artifact().unwrap_or_default().to_owned();
                let title = format!(
                    "Editing the {} · {} saves, {} cancels",
                    state.artifact_name,
                    self.keymap.label(&[Context::Editor], Act::Submit),
                    self.keymap.label(&[Context::Editor], Act::Back),
                );
                self.open_compose(Purpose::Edit, gate, title, &text);
            }
            Action::Reject => {
                let failed = state.status == PhaseStatus::Failed;
                let next = state.attempts.len() + 1;
                let comments = self.review().len();
                let title = if failed {
                    format!("Retry the {role} as attempt {next} (a note is optional)")
                } else if comments > 0 {
                    format!(
                        "Attempt {next} of the {role} reads this and your {comments} review comment{}",
                        if comments == 1 { "" } else { "s" }
                    )
                } else {
                    format!("Feedback for the {role}: attempt {next} will read it")
                };
                let required = !failed && comments == 0;
                self.open_compose(Purpose::Feedback { required }, gate, title, "");
            }
            Action::Return => {
                self.overlay = gate.map(|gate| Overlay::ReturnPick {
                    phase,
                    selected: phase - 1,
                    gate,
                });
            }
            Action::Abort => {
                self.overlay = gate.map(|gate| Overlay::ConfirmAbort { gate });
            }
        }
    }

    fn why_not(&self, action: Action) -> String {
        if self.is_replay() {
            return "a replay is read-only".into();
        }
        let Some(gate) = self.state.gate.as_ref() else {
            return "no checkpoint is open".into();
        };
        let phase = &self.state.phases[gate.phase];
        let max = self
            .state
            .pipeline
            .as_ref()
            .map_or(u32::MAX, |p| p.max_attempts);
        phase
            .refusal(action, gate.phase == 0, max)
            .unwrap_or_else(|| format!("the open checkpoint is the {}'s", phase.role))
    }

    /// Opens a text box for `purpose`, answering the gate opened at event
    /// `gate` (none for a permission's reason).
    pub(super) fn open_compose(
        &mut self,
        purpose: Purpose,
        gate: Option<u64>,
        title: String,
        initial: &str,
    ) {
        let mut compose = Compose::new(purpose, title, initial, &self.theme);
        compose.gate = gate;
        self.overlay = Some(Overlay::Compose(Box::new(compose)));
    }

    /// Saving an edit that leaves a plan (or verdict) unreadable asks once:
    /// the box opens again with the text and says what will happen; saving
    /// the same text again goes ahead. Whether it asked.
    fn warn_unreadable_edit(&mut self, gate: Option<u64>, text: &str) -> bool {
        let Some(phase) = self.gate_phase() else {
            return false;
        };
        let errors = self.state.read_errors(phase, text);
        if errors.is_empty()
            || self.warned
                == Some(Warned::Edit {
                    gate,
                    text: text.to_owned(),
                })
        {
            return false;
        }
        self.warned = Some(Warned::Edit {
            gate,
            text: text.to_owned(),
        });
        let initial = self.state.phases[phase]
            .effective_artifact()
            .unwrap_or_default()
            .to_owned();
        let mut compose =
            Compose::reopened(Purpose::Edit, String::new(), &initial, text, &self.theme);
        compose.gate = gate;
        compose.title = format!(
            "This can no longer be read as a {} ({}): the next role will work from it as plain \
             text (a plan: one conversation, not task by task). {} again saves anyway",
            self.state.phases[phase].artifact_name,
            errors.first().map_or("", String::as_str),
            self.keymap.label(&[Context::Editor], Act::Submit),
        );
        self.overlay = Some(Overlay::Compose(Box::new(compose)));
        true
    }

    /// With `review.require_viewed`, approving a change with files not
    /// marked viewed asks once; approving again at the same gate goes ahead.
    fn warn_unviewed(&mut self, phase: usize, gate: Option<u64>) -> bool {
        let Some(seq) = gate else {
            return false;
        };
        let unviewed = self.unviewed(phase);
        if unviewed.is_empty() || self.warned == Some(Warned::Unviewed(seq)) {
            return false;
        }
        self.warned = Some(Warned::Unviewed(seq));
        self.notice = Some(format!(
            "{} file{} of this change not viewed ({}): {} again approves anyway; {} shows the change",
            unviewed.len(),
            if unviewed.len() == 1 { "" } else { "s" },
            super::text::safe(&unviewed[0]),
            self.key_label(Act::Approve),
            self.key_label(Act::Changes),
        ));
        true
    }

    /// Approving an answer that cannot be read (a person's edit broke the
    /// plan) asks once; approving again at the same gate goes ahead.
    fn warn_unreadable_approval(&mut self, phase: usize, gate: Option<u64>) -> bool {
        let Some(seq) = gate else {
            return false;
        };
        let Some(text) = self.state.phases[phase].effective_artifact() else {
            return false;
        };
        let errors = self.state.read_errors(phase, text);
        if errors.is_empty() || self.warned == Some(Warned::Approve(seq)) {
            return false;
        }
        self.warned = Some(Warned::Approve(seq));
        self.notice = Some(format!(
            "the {} cannot be read ({}): the next role works from it as plain text. {} again \
             approves anyway; {} edits it",
            self.state.phases[phase].artifact_name,
            errors.first().map_or("", String::as_str),
            self.key_label(Act::Approve),
            self.key_label(Act::Edit),
        ));
        true
    }

    /// Whether the gate opened at event `gate` is still the open one.
    pub(super) fn is_open(&self, gate: Option<u64>) -> bool {
        gate.is_none() || self.state.gate.as_ref().map(|g| g.seq) == gate
    }

    /// A box whose gate closed under it says so, and keeps its text.
    pub(super) fn mark_a_stale_box(&mut self) {
        let stale = match &self.overlay {
            Some(Overlay::Compose(compose)) => !self.is_open(compose.gate),
            Some(_) | None => false,
        };
        if let Some(Overlay::Compose(compose)) = &mut self.overlay
            && stale
            && !compose.title.starts_with(STALE)
        {
            compose.title = format!(
                "{STALE}: nothing will be sent. Your text stays here to copy; {} closes",
                self.keymap.label(&[Context::Editor], Act::Back)
            );
        }
    }

    /// Sends the decision a finished box stands for, for the gate the box
    /// was opened at. If that gate has closed meanwhile, nothing is sent:
    /// the box opens again with the text, so no word typed is lost and
    /// none lands on a gate it was not written for.
    pub(super) fn submit(&mut self, purpose: Purpose, gate: Option<u64>, text: String) {
        if !self.is_open(gate) {
            let mut compose = Compose::new(purpose, String::new(), &text, &self.theme);
            compose.gate = gate;
            self.overlay = Some(Overlay::Compose(Box::new(compose)));
            self.mark_a_stale_box();
            self.notice = Some("that checkpoint has closed: nothing was sent".into());
            return;
        }
        match &purpose {
            Purpose::Notes => self.decide(gate, Action::ApproveWithNotes, |d| Decision {
                notes: Some(text),
                ..d
            }),
            Purpose::Feedback { .. } => {
                let comments = self.take_review(gate);
                self.decide(gate, Action::Reject, |d| Decision {
                    feedback: (!text.is_empty()).then_some(text),
                    comments,
                    ..d
                });
            }
            Purpose::Reason { to } => {
                let to = self.state.phases[*to].id.clone();
                let comments = self.take_review(gate);
                self.decide(gate, Action::Return, |d| Decision {
                    to: Some(to),
                    feedback: (!text.is_empty()).then_some(text),
                    comments,
                    ..d
                });
            }
            Purpose::Comment { file, line, code } => {
                if let Some(seq) = gate {
                    self.put_comment(seq, file.clone(), *line, code.clone(), text);
                }
            }
            Purpose::Edit => {
                if self.warn_unreadable_edit(gate, &text) {
                    return;
                }
                self.decide(gate, Action::Edit, |d| Decision {
                    content: Some(text),
                    ..d
                });
                self.notice = Some(format!(
                    "edit saved: the next role reads it; {} shows the diff, {} approves",
                    self.key_label(Act::Diff),
                    self.key_label(Act::Approve)
                ));
            }
            Purpose::DenyReason { call_id } => {
                let call_id = call_id.clone();
                self.answer_permission(call_id, false, false, (!text.is_empty()).then_some(text));
            }
        }
    }

    /// Sends the answer to the pending permission request.
    fn answer_permission(
        &mut self,
        call_id: String,
        allow: bool,
        always: bool,
        reason: Option<String>,
    ) {
        self.send(Command::Permission(PermissionAnswer {
            call_id,
            allow,
            always,
            reason,
            by: DecidedBy::User,
        }));
    }

    /// The permission request the user must answer now, if any.
    pub fn pending_permission(&self) -> Option<&PermissionRequest> {
        self.state.permission.as_ref().filter(|_| self.is_live())
    }

    /// Answers the pending permission request, if there is one.
    pub(super) fn permission_act(&mut self, answer: Answer) {
        let Some(request) = self.pending_permission() else {
            return;
        };
        let call_id = request.call_id.clone();
        match answer {
            Answer::Once => self.answer_permission(call_id, true, false, None),
            Answer::Always => self.answer_permission(call_id, true, true, None),
            Answer::Deny => {
                let title = format!(
                    "Why not? (optional: the agent reads it) · {} denies",
                    self.keymap.label(&[Context::Editor], Act::Submit)
                );
                self.open_compose(Purpose::DenyReason { call_id }, None, title, "");
            }
        }
    }

    /// Sends a decision on the gate opened at event `gate`, built from a
    /// plain one; nothing when that gate is no longer open.
    pub(super) fn decide(
        &mut self,
        gate: Option<u64>,
        action: Action,
        build: impl FnOnce(Decision) -> Decision,
    ) {
        let Some(open) = self.state.gate.as_ref().filter(|g| Some(g.seq) == gate) else {
            return;
        };
        let phase = self.state.phases[open.phase].id.clone();
        let decision = build(Decision::new(phase, action, DecidedBy::User)).at_gate(open.seq);
        self.send(Command::Decide(decision));
        if action != Action::Edit {
            self.screen = Screen::Board;
            self.follow = true;
            self.scroll = 0;
        }
    }
}
