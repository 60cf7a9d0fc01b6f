//! The Changes view's keys: its cursor, file and hunk jumps, the round
//! or whole change, and the review acts on the line under the cursor
//! (comment, revert, viewed); `Tab` opens it from the board or an
//! artifact and goes back to the artifact.

use super::super::act::SessionAct;
use super::super::app::{App, Screen};

/// What the Changes view jumps between.
#[derive(Clone, Copy, Debug)]
enum Jump {
    File,
    Hunk,
}

impl App {
    /// The acts the Changes view takes while it is on show; whether `act`
    /// was one of them.
    pub(in crate::tui) fn changes_act(&mut self, act: SessionAct) -> bool {
        let Screen::Changes { phase } = self.screen else {
            return false;
        };
        if self.move_cursor(act) {
            return true;
        }
        match act {
            SessionAct::Changes => {
                self.screen = Screen::Artifact {
                    phase,
                    attempt: None,
                };
                self.scroll = 0;
            }
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
            SessionAct::Left
            | SessionAct::Right
            | SessionAct::Down
            | SessionAct::Up
            | SessionAct::PageDown
            | SessionAct::PageUp
            | SessionAct::Top
            | SessionAct::Bottom
            | SessionAct::Open
            | SessionAct::Back
            | SessionAct::Approve
            | SessionAct::ApproveWithNotes
            | SessionAct::Edit
            | SessionAct::Reject
            | SessionAct::Return
            | SessionAct::Diff
            | SessionAct::Cancel
            | SessionAct::Abort
            | SessionAct::Help
            | SessionAct::Quit
            | SessionAct::Search
            | SessionAct::NextMatch
            | SessionAct::PrevMatch
            | SessionAct::PrevAttempt
            | SessionAct::NextAttempt
            | SessionAct::PlayPause
            | SessionAct::StepForward
            | SessionAct::StepBack
            | SessionAct::Faster
            | SessionAct::Slower
            | SessionAct::PermitOnce
            | SessionAct::PermitAlways
            | SessionAct::Deny
            | SessionAct::NextGate
            | SessionAct::PrevGate
            | SessionAct::Matrix
            | SessionAct::Summon => return false,
        }
        true
    }

    /// `Tab` on the board or an artifact: what the phase on show changed
    /// in the workspace.
    pub(in crate::tui) fn show_changes(&mut self) {
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
    pub(in crate::tui) fn open_changes(&mut self, phase: usize) {
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
        let height = super::super::view::Geometry::of(self, self.size)
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
