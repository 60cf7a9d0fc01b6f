//! Snapshots of the workspace at gates, and taking a hunk of a phase's
//! change back out of it (and putting it back) while its gate is open.
//!
//! A snapshot keeps the working tree on a private ref and records what
//! changed since the one before. A revert applies a hunk's patch in
//! reverse through handoff's neutral git, records it (`reverted`, with the
//! patch, so a replay shows it and an undo can put it back), then takes
//! the gate's snapshot again, so the Changes view, the next role and the
//! next gate's base all see the workspace without it. The working tree
//! changes before the event is written: a crash between the two leaves a
//! reverted tree and no record, and the same revert again finds nothing to
//! take out and says so; nothing is ever applied twice.

use super::{Engine, EngineError};
use crate::session::EventKind;

impl Engine {
    /// Keeps the workspace as it is at phase `index`'s gate on a private
    /// ref, so that a return or a fork can restore it. Only git work trees
    /// (sessions with a branch) are snapshotted; git runs off the async
    /// threads; a failure is a notice, not the end of the session.
    pub(super) async fn snapshot(&mut self, index: usize, again: bool) -> Result<(), EngineError> {
        let (Some(root), Some(_)) = (
            self.spec.workspace.as_ref().map(|w| w.root().to_owned()),
            &self.spec.branch,
        ) else {
            return Ok(());
        };
        let phase = self.spec.pipeline.phases[index].id.clone();
        let reference = format!("refs/handoff/{}/{phase}", self.spec.id);
        let message = format!("handoff {} at the {phase} gate", self.spec.id);
        let target = reference.clone();
        // What changed is counted from the snapshot before (the gate
        // before this phase ran), or from where the session started. The
        // last phase (the delivery) shows the whole session's change.
        // Taken again at the same gate (after a revert), it keeps the
        // base of the gate's first snapshot.
        let start = self.state.workspace.as_ref().and_then(|w| w.head.clone());
        let last = index + 1 == self.spec.pipeline.phases.len();
        let base = match self.state.snapshots.last() {
            Some(before) if again => before.base.clone(),
            Some(before) if !last => Some(before.commit.clone()),
            Some(_) | None => start,
        };
        let from = base.clone();
        let made = tokio::task::spawn_blocking(move || {
            let made = crate::tools::git::snapshot(&root, &target, &message)?;
            // A change that cannot be read still leaves the snapshot.
            let files = crate::tools::changes::change(&root, from.as_deref(), &made.commit);
            Ok::<_, String>((made, files))
        })
        .await
        .unwrap_or_else(|e| Err(e.to_string()));
        match made {
            Ok((made, files)) => {
                if !made.left_out.is_empty() {
                    let files: Vec<String> = made
                        .left_out
                        .iter()
                        .map(|(path, size)| format!("{path} ({} MiB)", size >> 20))
                        .collect();
                    self.sink.notice(format!(
                        "left out of the {phase} snapshot, over {} MiB: {}",
                        crate::tools::git::FILE_CAP >> 20,
                        files.join(", ")
                    ));
                }
                let files = match files {
                    Ok(change) => {
                        // The client gets the change whole before the event
                        // that names it, and need not read it again.
                        let change = std::sync::Arc::new(change);
                        self.sink.change(base.as_deref(), &made.commit, &change);
                        change.stats()
                    }
                    Err(e) => {
                        self.sink.notice(format!(
                            "could not read what the {phase} phase changed: {e}"
                        ));
                        Vec::new()
                    }
                };
                self.emit(EventKind::Snapshot {
                    phase,
                    reference,
                    commit: made.commit,
                    base,
                    files,
                })
            }
            Err(e) => {
                self.sink
                    .notice(format!("could not snapshot the workspace: {e}"));
                Ok(())
            }
        }
    }

    /// Checks that a revert (or its undo) is for the open gate of phase
    /// `index`, and the workspace it acts on.
    fn revert_target(
        &self,
        index: usize,
        gate: u64,
        phase: &str,
    ) -> Result<std::path::PathBuf, String> {
        let open = self.state.gate.as_ref().map(|g| g.seq);
        if open != Some(gate) {
            return Err("that checkpoint has closed: nothing was changed".into());
        }
        if self.spec.pipeline.phases[index].id != phase {
            return Err(format!("the open checkpoint is not `{phase}`'s"));
        }
        if self.spec.branch.is_none() {
            return Err("the session has no git workspace".into());
        }
        self.spec
            .workspace
            .as_ref()
            .map(|w| w.root().to_owned())
            .ok_or_else(|| "the session has no workspace".into())
    }

    /// Takes `patch` (a hunk of `file`) back out of the workspace at the
    /// gate opened at `gate`.
    pub(super) async fn revert(
        &mut self,
        index: usize,
        gate: u64,
        phase: &str,
        file: &str,
        patch: &str,
    ) -> Result<(), EngineError> {
        let root = match self.revert_target(index, gate, phase) {
            Ok(root) => root,
            Err(why) => {
                self.sink.refused(format!("revert refused: {why}"));
                return Ok(());
            }
        };
        let text = patch.to_owned();
        let applied =
            tokio::task::spawn_blocking(move || crate::tools::git::apply(&root, &text, true))
                .await
                .unwrap_or_else(|e| Err(e.to_string()));
        if let Err(why) = applied {
            self.sink
                .refused(format!("could not revert that hunk of {file}: {why}"));
            return Ok(());
        }
        self.emit(EventKind::Reverted {
            phase: phase.to_owned(),
            file: file.to_owned(),
            patch: patch.to_owned(),
        })?;
        self.snapshot(index, true).await
    }

    /// Puts back the last hunk reverted at the gate opened at `gate`.
    pub(super) async fn undo_revert(
        &mut self,
        index: usize,
        gate: u64,
        phase: &str,
    ) -> Result<(), EngineError> {
        let root = match self.revert_target(index, gate, phase) {
            Ok(root) => root,
            Err(why) => {
                self.sink.refused(format!("undo refused: {why}"));
                return Ok(());
            }
        };
        let Some(last) = self.state.phases[index]
            .reverts
            .iter()
            .rev()
            .find(|r| !r.undone && r.seq > gate)
            .cloned()
        else {
            self.sink
                .refused("nothing reverted at this checkpoint to undo".into());
            return Ok(());
        };
        let text = last.patch.clone();
        let applied =
            tokio::task::spawn_blocking(move || crate::tools::git::apply(&root, &text, false))
                .await
                .unwrap_or_else(|e| Err(e.to_string()));
        if let Err(why) = applied {
            self.sink.refused(format!(
                "could not put back that hunk of {}: {why}",
                last.file
            ));
            return Ok(());
        }
        self.emit(EventKind::RevertUndone {
            phase: phase.to_owned(),
            reverted: last.seq,
        })?;
        self.snapshot(index, true).await
    }
}
