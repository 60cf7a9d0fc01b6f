//! Line comments on a phase's change: the review a person writes in the
//! Changes view before rejecting or returning the work.
//!
//! `c` on a diff line opens a box for a comment on it (on a line already
//! commented, the box holds that comment; sent empty, it is removed). The
//! comments belong to the gate they were written at: a rejection or a
//! return at that gate carries them in its decision (so the role that runs
//! next reads each with its file, line and the quoted code, and the log
//! keeps them), and they are dropped when that gate closes any other way.
//!
//! `v` marks the file under the cursor viewed (`4/7 viewed` in the title);
//! with `review.require_viewed` in config.toml, approving a gate whose
//! change has files not viewed asks first.
//!
//! `D` takes the hunk under the cursor back out of the workspace and `u`
//! puts the last one back, while the gate is open: the engine applies and
//! records it, and takes the gate's snapshot again, which reopens the view.

use super::app::{App, Screen};
use super::changes::LineAt;
use super::compose::Purpose;
use crate::changes::{Body, Change, LineKind};
use crate::protocol::Command;
use crate::session::ReviewComment;

/// The comments written at one gate.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Review {
    /// The `seq` of the gate they were written at.
    pub gate: u64,
    pub comments: Vec<ReviewComment>,
}

/// The file, line number and text a diff line stands for.
pub fn line_of(change: &Change, at: LineAt) -> Option<(String, usize, String)> {
    let file = change.files.get(at.file)?;
    let Body::Text(hunks) = &file.body else {
        return None;
    };
    let line = hunks.get(at.hunk)?.lines.get(at.line)?;
    let number = match line.kind {
        LineKind::Removed => line.old,
        LineKind::Added | LineKind::Context => line.new,
    }?;
    Some((file.stat.path.clone(), number, line.text.clone()))
}

impl App {
    /// The comments written at the open gate.
    pub fn review(&self) -> &[ReviewComment] {
        match (&self.review, &self.state.gate) {
            (Some(review), Some(gate)) if review.gate == gate.seq => &review.comments,
            _ => &[],
        }
    }

    /// The comments of the open gate, taken to go with its decision.
    pub(super) fn take_review(&mut self, gate: Option<u64>) -> Vec<ReviewComment> {
        match self.review.take() {
            Some(review) if Some(review.gate) == gate => review.comments,
            _ => Vec::new(),
        }
    }

    /// The comment on `file` at `line`, if there is one.
    pub fn comment_on(&self, file: &str, line: usize) -> Option<&ReviewComment> {
        self.review()
            .iter()
            .find(|c| c.file == file && c.line == line)
    }

    /// `c` in the Changes view: a box for a comment on the line under the
    /// cursor, at the open gate of the phase shown.
    pub(super) fn comment_act(&mut self) {
        let Some((gate, _)) = self.changes_gate() else {
            self.notice = Some("comments are written at the phase's open checkpoint".into());
            return;
        };
        let target = self.changes.ready().and_then(|change| {
            let at = self.changes.at_cursor()?;
            line_of(change, at)
        });
        let Some((file, line, code)) = target else {
            self.notice = Some("move to a line of the diff to comment on it".into());
            return;
        };
        let existing = self
            .comment_on(&file, line)
            .map(|c| c.text.clone())
            .unwrap_or_default();
        let title = format!(
            "Comment on {}:{line} (sent with a rejection or a return; empty removes it)",
            super::text::safe(&file)
        );
        self.open_compose(
            Purpose::Comment { file, line, code },
            Some(gate),
            title,
            &existing,
        );
    }

    /// Keeps (or, when `text` is empty, removes) the comment on a line.
    pub(super) fn put_comment(
        &mut self,
        gate: u64,
        file: String,
        line: usize,
        code: String,
        text: String,
    ) {
        let review = match &mut self.review {
            Some(review) if review.gate == gate => review,
            _ => self.review.insert(Review {
                gate,
                comments: Vec::new(),
            }),
        };
        review
            .comments
            .retain(|c| !(c.file == file && c.line == line));
        if !text.trim().is_empty() {
            review.comments.push(ReviewComment {
                file,
                line,
                code,
                text,
            });
        }
        let count = review.comments.len();
        self.notice = Some(format!(
            "{count} review comment{} at this checkpoint: {} rejects with them, {} returns with them",
            if count == 1 { "" } else { "s" },
            self.key_label(super::keymap::Act::Reject),
            self.key_label(super::keymap::Act::Return),
        ));
    }

    /// How many hunks reverted at the open gate are still out.
    pub fn reverts_at_gate(&self) -> usize {
        let Some(gate) = &self.state.gate else {
            return 0;
        };
        self.state.phases[gate.phase]
            .reverts
            .iter()
            .filter(|r| r.seq > gate.seq && !r.undone)
            .count()
    }

    /// The open gate of the phase the Changes view shows, if it is live.
    fn changes_gate(&self) -> Option<(u64, String)> {
        let Screen::Changes { phase } = self.screen else {
            return None;
        };
        let gate = self.state.gate.as_ref().filter(|g| g.phase == phase)?;
        self.is_live()
            .then(|| (gate.seq, self.state.phases[phase].id.clone()))
    }

    /// `D` (or `X`, `whole`): asks the engine to take the hunk under the
    /// cursor (or its whole file) back out of the workspace.
    pub(super) fn revert_act(&mut self, whole: bool) {
        let Some((gate, phase)) = self.changes_gate() else {
            self.notice = Some("hunks are reverted at the phase's open checkpoint".into());
            return;
        };
        let target = self.changes.ready().and_then(|change| {
            let at = self.changes.at_cursor()?;
            let file = change.files.get(at.file)?;
            let hunk = (!whole).then_some(at.hunk);
            Some((file.stat.path.clone(), file.hunk_patch(hunk)))
        });
        match target {
            Some((file, Some(patch))) => {
                self.send(Command::Revert {
                    gate,
                    phase,
                    file,
                    patch,
                });
            }
            Some((file, None)) => {
                self.notice = Some(format!(
                    "{} cannot be reverted a hunk at a time (renamed, or not text)",
                    super::text::safe(&file)
                ));
            }
            None => self.notice = Some("move to a line of a hunk to revert it".into()),
        }
    }

    /// `u`: asks the engine to put back the last hunk reverted at this gate.
    pub(super) fn undo_revert_act(&mut self) {
        if let Some((gate, phase)) = self.changes_gate() {
            self.send(Command::UndoRevert { gate, phase });
        }
    }

    /// The files marked viewed at the open gate.
    pub fn viewed(&self) -> &[String] {
        match (&self.viewed, &self.state.gate) {
            (Some((seq, files)), Some(gate)) if *seq == gate.seq => files,
            _ => &[],
        }
    }

    /// `v`: marks the file under the cursor viewed, or not any more.
    pub(super) fn viewed_act(&mut self) {
        let rows = self.changes_rows();
        let file = self.changes.ready().and_then(|change| {
            let index = rows.files.iter().rposition(|&s| s <= self.changes.cursor)?;
            Some(change.files.get(index)?.stat.path.clone())
        });
        // Viewed marks count toward approving a gate: none is open, none
        // is kept.
        let (Some(file), Some(gate)) = (file, self.state.gate.as_ref().map(|g| g.seq)) else {
            return;
        };
        let files = match &mut self.viewed {
            Some((seq, files)) if *seq == gate => files,
            _ => &mut self.viewed.insert((gate, Vec::new())).1,
        };
        if let Some(at) = files.iter().position(|f| *f == file) {
            files.remove(at);
        } else {
            files.push(file);
        }
    }

    /// The files of the open gate's change not marked viewed, when the
    /// config asks for every file to be viewed before approving.
    pub(super) fn unviewed(&self, phase: usize) -> Vec<String> {
        if !self.require_viewed {
            return Vec::new();
        }
        let Some(snapshot) = self
            .state
            .phases
            .get(phase)
            .and_then(|p| self.state.snapshot_of(&p.id))
        else {
            return Vec::new();
        };
        let viewed = self.viewed();
        snapshot
            .files
            .iter()
            .filter(|f| !viewed.contains(&f.path))
            .map(|f| f.path.clone())
            .collect()
    }
}
