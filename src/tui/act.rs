//! What the session's keys do: the acts the board, an artifact, a diff,
//! a search, a replay and the permission prompt take ([`SessionAct`]),
//! whether each does something now (the footer offers only those), and
//! carrying one out, on the app's own state or as a [`Command`] through
//! the gate, the replay or the permission prompt.
//!
//! [`Command`]: crate::protocol::Command

use super::app::{App, Flow, Screen};
use super::artifact::diff_base;
use super::gate::Answer;
use super::keymap::{Act, ContextActs as _, context_acts};
use super::overlay::Overlay;
use super::replay::ReplayAct;
use crate::protocol::Command;
use crate::session::{Action, PhaseState, PhaseStatus};

context_acts! {
    /// The acts a session's screens take; the editor's and the picker's
    /// are their boxes' own.
    pub enum SessionAct {
        Left,
        Right,
        Down,
        Up,
        PageDown,
        PageUp,
        Top,
        Bottom,
        Open,
        Back,
        Approve,
        ApproveWithNotes,
        Edit,
        Reject,
        Return,
        Diff,
        Cancel,
        Abort,
        Help,
        Quit,
        Search,
        NextMatch,
        PrevMatch,
        PrevAttempt,
        NextAttempt,
        PlayPause,
        StepForward,
        StepBack,
        Faster,
        Slower,
        PermitOnce,
        PermitAlways,
        Deny,
        NextGate,
        PrevGate,
        Matrix,
        Changes,
        NextFile,
        PrevFile,
        NextHunk,
        PrevHunk,
        Comment,
        Whole,
        Revert,
        RevertFile,
        UndoRevert,
        Viewed,
        Summon,
    }
}

impl App {
    /// Whether `max_attempts` lets a person reject (or retry) `phase` once
    /// more: the count the engine checks a rejection by.
    fn attempts_left(&self, phase: &PhaseState) -> bool {
        let max = self
            .state
            .pipeline
            .as_ref()
            .map_or(u32::MAX, |p| p.max_attempts);
        phase.rejections_left(max) > 0
    }

    /// Whether an act does something right now (the footer shows only
    /// these). The acts the session does not take are the open box's (the
    /// editor's, the picker's), which takes them whenever it is open.
    pub fn available(&self, act: Act) -> bool {
        SessionAct::of(act).is_none_or(|act| self.can(act))
    }

    /// Whether a session's act does something right now.
    pub(super) fn can(&self, act: SessionAct) -> bool {
        let gate = self.gate_phase().filter(|_| self.is_live());
        let gate_state = gate.map(|i| &self.state.phases[i]);
        let failed = gate_state.is_some_and(|p| p.status == PhaseStatus::Failed);
        let shown = self.state.phases.get(self.shown_phase());
        match act {
            SessionAct::Approve | SessionAct::ApproveWithNotes | SessionAct::Edit => {
                gate.is_some() && !failed
            }
            SessionAct::Reject => gate_state.is_some_and(|p| self.attempts_left(p)),
            SessionAct::Return => gate.is_some_and(|i| i > 0),
            SessionAct::Abort => gate.is_some(),
            SessionAct::Summon => {
                gate.is_some()
                    && self
                        .state
                        .pipeline
                        .as_ref()
                        .is_some_and(|p| !p.utilities.is_empty())
            }
            SessionAct::Cancel => {
                self.is_live()
                    && (!self.state.working().is_empty()
                        || self
                            .state
                            .phases
                            .iter()
                            .any(|p| p.status == PhaseStatus::Running))
            }
            SessionAct::Open => shown.is_some_and(|p| !p.attempts.is_empty()),
            SessionAct::Matrix => !self.state.phases.is_empty(),
            SessionAct::Changes => {
                matches!(self.screen, Screen::Changes { .. })
                    || shown.is_some_and(|p| self.state.snapshot_of(&p.id).is_some())
            }
            SessionAct::NextFile
            | SessionAct::PrevFile
            | SessionAct::NextHunk
            | SessionAct::PrevHunk => matches!(self.screen, Screen::Changes { .. }),
            SessionAct::Viewed
            | SessionAct::Comment
            | SessionAct::Revert
            | SessionAct::RevertFile => {
                matches!(self.screen, Screen::Changes { .. }) && gate.is_some()
            }
            SessionAct::UndoRevert => {
                matches!(self.screen, Screen::Changes { .. })
                    && gate.is_some()
                    && self.reverts_at_gate() > 0
            }
            // Only a phase that ran more than one round has two changes.
            SessionAct::Whole => match self.screen {
                Screen::Changes { phase } => self
                    .state
                    .phases
                    .get(phase)
                    .is_some_and(|p| self.state.rounds(&p.id) > 1),
                Screen::Board | Screen::Artifact { .. } | Screen::Diff { .. } => false,
            },
            SessionAct::Diff => shown.is_some_and(|p| diff_base(p, None).is_some()),
            SessionAct::PrevAttempt | SessionAct::NextAttempt => {
                shown.is_some_and(|p| p.attempts.len() > 1)
            }
            SessionAct::NextMatch | SessionAct::PrevMatch => self.search.is_some(),
            SessionAct::Left
            | SessionAct::Right
            | SessionAct::Down
            | SessionAct::Up
            | SessionAct::PageDown
            | SessionAct::PageUp
            | SessionAct::Top
            | SessionAct::Bottom
            | SessionAct::Back
            | SessionAct::Help
            | SessionAct::Quit
            | SessionAct::Search => true,
            SessionAct::PlayPause
            | SessionAct::StepForward
            | SessionAct::StepBack
            | SessionAct::Faster
            | SessionAct::Slower
            | SessionAct::NextGate
            | SessionAct::PrevGate => self.is_replay(),
            SessionAct::PermitOnce | SessionAct::PermitAlways | SessionAct::Deny => {
                self.pending_permission().is_some()
            }
        }
    }

    /// Carries out `act`: the screen on show takes it first (the board,
    /// an artifact or a diff, the Changes view), then the session: the
    /// gate, the replay, the permission prompt, the overlays, scrolling.
    pub(super) fn act(&mut self, act: SessionAct) -> Flow {
        let taken = match self.screen {
            Screen::Board => self.board_act(act),
            Screen::Artifact { .. } | Screen::Diff { .. } => self.artifact_act(act),
            Screen::Changes { .. } => self.changes_act(act),
        };
        if taken {
            return Flow::Continue;
        }
        self.session_act(act)
    }

    /// The acts every screen of a session shares.
    fn session_act(&mut self, act: SessionAct) -> Flow {
        match act {
            SessionAct::Quit => {
                if self.work_in_progress() {
                    self.overlay = Some(Overlay::ConfirmQuit);
                } else {
                    return Flow::Quit;
                }
            }
            SessionAct::Help => self.overlay = Some(Overlay::Help),
            SessionAct::Matrix => self.overlay = Some(Overlay::Matrix),
            SessionAct::Back => {
                if self.search.take().is_none() {
                    self.screen = Screen::Board;
                    self.scroll = 0;
                }
            }
            SessionAct::Down => self.scroll_by(1),
            SessionAct::Up => self.scroll = self.scroll.saturating_sub(1),
            SessionAct::PageDown => self.scroll_by(self.page()),
            SessionAct::PageUp => self.scroll = self.scroll.saturating_sub(self.page()),
            SessionAct::Top => self.scroll = 0,
            SessionAct::Bottom => self.scroll = self.max_scroll(),
            SessionAct::Search => self.overlay = Some(Overlay::SearchInput(String::new())),
            SessionAct::NextMatch | SessionAct::PrevMatch => {
                self.jump_to_match(act == SessionAct::NextMatch, false);
            }
            SessionAct::Diff => self.open_diff(),
            SessionAct::Approve => self.gate_act(Action::Approve),
            SessionAct::ApproveWithNotes => self.gate_act(Action::ApproveWithNotes),
            SessionAct::Edit => self.gate_act(Action::Edit),
            SessionAct::Reject => self.gate_act(Action::Reject),
            SessionAct::Return => self.gate_act(Action::Return),
            SessionAct::Abort => self.gate_act(Action::Abort),
            SessionAct::Summon => self.open_summon(),
            SessionAct::Cancel => {
                if self.can(SessionAct::Cancel) {
                    // At a gate, a cancel gives up the summoned utilities.
                    self.send(Command::Cancel);
                }
            }
            SessionAct::PlayPause => self.replay_act(ReplayAct::PlayPause),
            SessionAct::StepForward => self.replay_act(ReplayAct::StepForward),
            SessionAct::StepBack => self.replay_act(ReplayAct::StepBack),
            SessionAct::Faster => self.replay_act(ReplayAct::Faster),
            SessionAct::Slower => self.replay_act(ReplayAct::Slower),
            SessionAct::NextGate => self.replay_act(ReplayAct::NextGate),
            SessionAct::PrevGate => self.replay_act(ReplayAct::PrevGate),
            SessionAct::PermitOnce => self.permission_act(Answer::Once),
            SessionAct::PermitAlways => self.permission_act(Answer::Always),
            SessionAct::Deny => self.permission_act(Answer::Deny),
            // What only a screen takes (each one's own `*_act`), when
            // another screen is on show: nothing.
            SessionAct::Left
            | SessionAct::Right
            | SessionAct::Open
            | SessionAct::PrevAttempt
            | SessionAct::NextAttempt
            | SessionAct::Changes
            | SessionAct::NextFile
            | SessionAct::PrevFile
            | SessionAct::NextHunk
            | SessionAct::PrevHunk
            | SessionAct::Comment
            | SessionAct::Whole
            | SessionAct::Revert
            | SessionAct::RevertFile
            | SessionAct::UndoRevert
            | SessionAct::Viewed => {}
        }
        Flow::Continue
    }

    /// Moves the focus (and the artifact on show) one phase left or right.
    pub(super) fn step_phase(&mut self, act: SessionAct) {
        let count = self.state.phases.len();
        if count == 0 {
            return;
        }
        let target = if act == SessionAct::Left {
            self.shown_phase().saturating_sub(1)
        } else {
            (self.shown_phase() + 1).min(count - 1)
        };
        self.focus = target;
        self.follow = false;
        self.scroll = 0;
        if let Screen::Artifact { .. } = self.screen {
            self.screen = Screen::Artifact {
                phase: target,
                attempt: None,
            };
        }
    }
}
