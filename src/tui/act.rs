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
            SessionAct::Cancel => {
                self.is_live()
                    && self
                        .state
                        .phases
                        .iter()
                        .any(|p| p.status == PhaseStatus::Running)
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
            SessionAct::Viewed => matches!(self.screen, Screen::Changes { .. }),
            SessionAct::Comment | SessionAct::Revert | SessionAct::RevertFile => {
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

    pub(super) fn act(&mut self, act: SessionAct) -> Flow {
        if matches!(self.screen, Screen::Changes { .. }) && self.move_cursor(act) {
            return Flow::Continue;
        }
        let count = self.state.phases.len();
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
                    if let Screen::Diff {
                        phase,
                        from_board: false,
                        ..
                    } = self.screen
                    {
                        self.screen = Screen::Artifact {
                            phase,
                            attempt: None,
                        };
                    } else {
                        self.screen = Screen::Board;
                    }
                    self.scroll = 0;
                }
            }
            SessionAct::Left | SessionAct::Right if count > 0 => {
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
            SessionAct::Left | SessionAct::Right => {}
            SessionAct::Down => self.scroll_by(1),
            SessionAct::Up => self.scroll = self.scroll.saturating_sub(1),
            SessionAct::PageDown => self.scroll_by(self.page()),
            SessionAct::PageUp => self.scroll = self.scroll.saturating_sub(self.page()),
            SessionAct::Top | SessionAct::Bottom
                if self.is_replay() && self.screen == Screen::Board =>
            {
                self.seek_end(act == SessionAct::Bottom);
            }
            SessionAct::Top => self.scroll = 0,
            SessionAct::Bottom => self.scroll = self.max_scroll(),
            SessionAct::Open => {
                if self.can(SessionAct::Open) {
                    self.screen = Screen::Artifact {
                        phase: self.focus,
                        attempt: None,
                    };
                    self.scroll = 0;
                }
            }
            SessionAct::Search => self.overlay = Some(Overlay::SearchInput(String::new())),
            SessionAct::NextMatch | SessionAct::PrevMatch => {
                self.jump_to_match(act == SessionAct::NextMatch, false);
            }
            SessionAct::PrevAttempt | SessionAct::NextAttempt => {
                self.step_attempt(act == SessionAct::NextAttempt);
            }
            SessionAct::Diff => self.open_diff(),
            SessionAct::Approve => self.gate_act(Action::Approve),
            SessionAct::ApproveWithNotes => self.gate_act(Action::ApproveWithNotes),
            SessionAct::Edit => self.gate_act(Action::Edit),
            SessionAct::Reject => self.gate_act(Action::Reject),
            SessionAct::Return => self.gate_act(Action::Return),
            SessionAct::Abort => self.gate_act(Action::Abort),
            SessionAct::Cancel => {
                if self.can(SessionAct::Cancel) {
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
            SessionAct::Changes => self.toggle_changes(),
            SessionAct::NextFile => self.jump_in_changes(Jump::File, true),
            SessionAct::PrevFile => self.jump_in_changes(Jump::File, false),
            SessionAct::NextHunk => self.jump_in_changes(Jump::Hunk, true),
            SessionAct::PrevHunk => self.jump_in_changes(Jump::Hunk, false),
            SessionAct::Comment => self.comment_act(),
            SessionAct::Whole => self.toggle_whole(),
            SessionAct::Revert => self.revert_act(false),
            SessionAct::RevertFile => self.revert_act(true),
            SessionAct::UndoRevert => self.undo_revert_act(),
            SessionAct::Viewed => self.viewed_act(),
            SessionAct::PermitOnce => self.permission_act(Answer::Once),
            SessionAct::PermitAlways => self.permission_act(Answer::Always),
            SessionAct::Deny => self.permission_act(Answer::Deny),
        }
        Flow::Continue
    }
}

/// What the Changes view jumps between.
#[derive(Clone, Copy, Debug)]
enum Jump {
    File,
    Hunk,
}

impl App {
    /// `Tab`: from the board or an artifact to what the phase changed in
    /// the workspace, and from there back to the artifact.
    fn toggle_changes(&mut self) {
        if let Screen::Changes { phase } = self.screen {
            self.screen = Screen::Artifact {
                phase,
                attempt: None,
            };
            self.scroll = 0;
            return;
        }
        let phase = self.shown_phase();
        let Some(state) = self.state.phases.get(phase) else {
            return;
        };
        if self.state.snapshot_of(&state.id).is_none() {
            self.notice = Some(format!(
                "no workspace change recorded for the {} yet (a snapshot is taken at each gate of a session with a git workspace)",
                state.role
            ));
            return;
        }
        self.open_changes(phase);
        self.screen = Screen::Changes { phase };
        self.scroll = 0;
    }

    /// Opens the change of `phase`: its latest round's (the snapshot
    /// against the one before), or its whole change (from before its
    /// first snapshot's round) when the view is set to that.
    pub(super) fn open_changes(&mut self, phase: usize) {
        let Some(id) = self.state.phases.get(phase).map(|p| p.id.clone()) else {
            return;
        };
        let Some(latest) = self.state.snapshot_of(&id) else {
            return;
        };
        let base = if self.changes.whole {
            self.state
                .snapshots
                .iter()
                .find(|s| s.phase == id)
                .and_then(|first| first.base.clone())
        } else {
            latest.base.clone()
        };
        let commit = latest.commit.clone();
        let root = self
            .state
            .workspace
            .as_ref()
            .map(|w| std::path::PathBuf::from(&w.path));
        self.changes.open(base.as_deref(), &commit, root);
    }

    /// `w` in the Changes view: between the latest round's change and the
    /// phase's whole change.
    fn toggle_whole(&mut self) {
        let Screen::Changes { phase } = self.screen else {
            return;
        };
        self.changes.whole = !self.changes.whole;
        self.open_changes(phase);
        self.scroll = 0;
    }

    /// Moves the Changes view to the next (or previous) file or hunk.
    fn jump_in_changes(&mut self, to: Jump, forward: bool) {
        let rows = self.changes_rows();
        let starts = match to {
            Jump::File => &rows.files,
            Jump::Hunk => &rows.hunks,
        };
        let at = self.changes.cursor;
        let target = if forward {
            starts.iter().copied().find(|&s| s > at)
        } else {
            starts.iter().copied().rev().find(|&s| s < at)
        };
        if let Some(row) = target {
            self.changes.cursor = row;
            self.scroll = row.min(self.max_scroll());
        }
    }

    /// The Changes view's movement keys move its cursor, and the view
    /// scrolls to keep it in sight. Whether `act` was one of them.
    fn move_cursor(&mut self, act: SessionAct) -> bool {
        let last = self.changes_rows().lines.len().saturating_sub(1);
        let page = self.page();
        let cursor = self.changes.cursor;
        let moves = [
            (SessionAct::Down, (cursor + 1).min(last)),
            (SessionAct::Up, cursor.saturating_sub(1)),
            (SessionAct::PageDown, (cursor + page).min(last)),
            (SessionAct::PageUp, cursor.saturating_sub(page)),
            (SessionAct::Top, 0),
            (SessionAct::Bottom, last),
        ];
        let Some(&(_, to)) = moves.iter().find(|(a, _)| *a == act) else {
            return false;
        };
        self.changes.cursor = to;
        // The row that says a report and its change disagree takes one.
        let warned = match self.screen {
            Screen::Changes { phase } => usize::from(self.state.claims(phase).is_some()),
            Screen::Board | Screen::Artifact { .. } | Screen::Diff { .. } => 0,
        };
        let height = super::view::Geometry::of(self, self.size)
            .text_height
            .saturating_sub(warned)
            .max(1);
        if self.changes.cursor < self.scroll {
            self.scroll = self.changes.cursor;
        } else if self.changes.cursor >= self.scroll + height {
            self.scroll = self.changes.cursor + 1 - height;
        }
        true
    }
}
