//! Folding what happens to the session as a whole: its start, a fork,
//! workspace snapshots, its end.

use chrono::{DateTime, Utc};

use super::{Inherited, PhaseState, SessionState, SessionStatus, Snapshot};
use crate::pipeline::Pipeline;
use crate::session::event::{SessionOutcome, WorkspaceInfo};

impl SessionState {
    /// Phase `index` as the pipeline declares it (none in a log without
    /// one).
    pub fn declared(&self, index: usize) -> Option<&crate::pipeline::Phase> {
        self.pipeline.as_ref()?.phases.get(index)
    }

    /// The named outputs phase `index`'s answer is split into: none for a
    /// phase that is not [`sectioned`](crate::pipeline::Phase::sectioned).
    pub fn section_names(&self, index: usize) -> Vec<&str> {
        self.declared(index)
            .map(crate::pipeline::Phase::section_names)
            .unwrap_or_default()
    }

    /// `session_started`: what the session is, and one pending phase for
    /// each of its pipeline's.
    pub(super) fn on_session_started(
        &mut self,
        t: DateTime<Utc>,
        id: &str,
        (request, detected): (&str, Option<&str>),
        pipeline: &Pipeline,
        (provider, model): (&str, &str),
        workspace: Option<&WorkspaceInfo>,
    ) {
        id.clone_into(&mut self.id);
        request.clone_into(&mut self.request);
        self.detected = detected.map(str::to_owned);
        provider.clone_into(&mut self.provider);
        model.clone_into(&mut self.model);
        self.phases = pipeline
            .phases
            .iter()
            .map(|p| PhaseState {
                id: p.id.clone(),
                role: p.role.clone(),
                artifact_name: p.artifact.clone(),
                ..PhaseState::default()
            })
            .collect();
        self.pipeline = Some(pipeline.clone());
        self.started_at = Some(t);
        self.status = SessionStatus::Running;
        self.workspace = workspace.cloned();
    }

    /// What the manager says when the session starts: the pipeline the
    /// request was detected as (and how, when the log says), the request
    /// (cut to `width` characters), and the roles the work goes to in turn.
    #[must_use]
    pub fn acknowledgement(&self, width: usize) -> String {
        let title = self
            .pipeline
            .as_ref()
            .map_or("Session", |p| p.title.as_str());
        let how = self
            .detected
            .as_ref()
            .map_or_else(String::new, |d| format!(" ({d})"));
        // One line: a request of several lines reads as one.
        let request = self.request.trim().replace(['\n', '\r'], " ");
        let request: String = if request.chars().count() > width {
            let cut: String = request.chars().take(width.saturating_sub(1)).collect();
            cut + "…"
        } else {
            request
        };
        let mut roles = self.phases.iter().map(|p| p.role.as_str());
        let first = roles.next().unwrap_or("nobody");
        let rest: Vec<&str> = roles.collect();
        let then = if rest.is_empty() {
            String::new()
        } else {
            format!(", then {}", rest.join(" → "))
        };
        format!("{title} detected: “{request}”{how} · assigning to {first}{then}")
    }

    /// `forked`: everything so far was copied from the session `from`;
    /// each phase remembers how much of its history is inherited.
    pub(super) fn on_forked(&mut self, t: DateTime<Utc>, from: &str, at: &str) {
        self.forked_from = Some((from.to_owned(), at.to_owned()));
        self.forked_at = Some(t);
        for p in &mut self.phases {
            p.inherited = Inherited {
                attempts: p.attempts.len(),
                decisions: p.decisions.len(),
                usage: p.usage,
                returned: p.returned.len(),
            };
        }
    }

    /// `snapshot`: the workspace commit kept at a phase's gate.
    pub(super) fn on_snapshot(&mut self, snapshot: Snapshot) {
        self.snapshots.push(snapshot);
    }

    /// Where a writing phase's report and its recorded change (all its
    /// rounds) disagree: none for a phase whose role writes no files, with
    /// no snapshot or no report yet, or when they agree.
    pub fn claims(&self, index: usize) -> Option<crate::changes::Claims> {
        let phase = self.phases.get(index)?;
        let writes = self
            .pipeline
            .as_ref()
            .and_then(|p| p.phases.get(index))
            .is_some_and(|p| p.tools.iter().any(|t| t == "write_file"));
        if !writes {
            return None;
        }
        self.snapshot_of(&phase.id)?;
        let report = phase.effective_artifact()?;
        // The report speaks for the whole phase: every round's files.
        let mut files: Vec<crate::changes::FileStat> = Vec::new();
        for snapshot in self.snapshots.iter().filter(|s| s.phase == phase.id) {
            for file in &snapshot.files {
                files.retain(|f| f.path != file.path);
                files.push(file.clone());
            }
        }
        Some(crate::changes::claims(report, &files)).filter(|c| !c.agree())
    }

    /// How many rounds of work `phase`'s snapshots record: one per gate it
    /// reached (a snapshot taken again at the same gate, after a revert,
    /// keeps that gate's base and is the same round).
    pub fn rounds(&self, phase: &str) -> usize {
        let mut bases: Vec<Option<&str>> = Vec::new();
        for s in self.snapshots.iter().filter(|s| s.phase == phase) {
            if !bases.contains(&s.base.as_deref()) {
                bases.push(s.base.as_deref());
            }
        }
        bases.len()
    }

    /// The latest snapshot taken at `phase`'s gate.
    pub fn snapshot_of(&self, phase: &str) -> Option<&Snapshot> {
        self.snapshots.iter().rev().find(|s| s.phase == phase)
    }

    /// `session_finished`: how it ended; no gate stays open.
    pub(super) fn on_session_finished(&mut self, t: DateTime<Utc>, outcome: SessionOutcome) {
        self.outcome = Some(outcome);
        self.gate = None;
        self.finished_at = Some(t);
        self.status = match outcome {
            SessionOutcome::Completed | SessionOutcome::Aborted => SessionStatus::Finished,
            SessionOutcome::Failed => SessionStatus::Failed,
        };
    }
}

#[cfg(test)]
mod tests {
    use crate::session::event::{EventKind, SessionOutcome};
    use crate::session::fold::{PhaseStatus, SessionStatus};
    use crate::session::testing::{fold, started};

    fn begun(phase: &str) -> EventKind {
        EventKind::PhaseStarted {
            phase: phase.into(),
            attempt: 1,
        }
    }

    #[test]
    fn a_start_lays_out_the_pipeline_s_phases() {
        let state = fold([started("Add X", "offline")]);
        assert_eq!(state.id, "s");
        assert_eq!(state.request, "Add X");
        assert_eq!(state.provider, "offline");
        assert_eq!(state.model, "m");
        assert_eq!(state.status, SessionStatus::Running);
        assert!(state.started_at.is_some());
        let ids: Vec<_> = state.phases.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids[..2], ["summarize", "plan"]);
        assert!(
            state
                .phases
                .iter()
                .all(|p| p.status == PhaseStatus::Pending)
        );
        assert!(state.phases.iter().all(|p| !p.role.is_empty()));
    }

    #[test]
    fn a_fork_marks_what_each_phase_inherited() {
        let state = fold([
            started("r", "offline"),
            begun("summarize"),
            EventKind::Usage {
                phase: "summarize".into(),
                attempt: 1,
                prompt_tokens: 10,
                completion_tokens: 5,
            },
            EventKind::Forked {
                from: "old".into(),
                at: "summarize".into(),
                from_seq: 2,
            },
        ]);
        assert_eq!(
            state.forked_from,
            Some(("old".to_owned(), "summarize".to_owned()))
        );
        assert!(state.forked_at.is_some());
        let inherited = state.phases[0].inherited;
        assert_eq!(inherited.attempts, 1);
        assert_eq!(inherited.usage.total(), 15);
        assert_eq!(state.phases[1].inherited.attempts, 0);
    }

    #[test]
    fn the_latest_snapshot_of_a_phase_is_the_one_that_counts() {
        let snap = |phase: &str, commit: &str| EventKind::Snapshot {
            phase: phase.into(),
            reference: "refs/handoff/x".into(),
            commit: commit.into(),
            base: None,
            files: Vec::new(),
        };
        let state = fold([
            started("r", "offline"),
            snap("summarize", "a1"),
            snap("plan", "b1"),
            snap("summarize", "a2"),
        ]);
        assert_eq!(state.snapshots.len(), 3, "every one is kept");
        let commit = |phase| state.snapshot_of(phase).map(|s| s.commit.as_str());
        assert_eq!(commit("summarize"), Some("a2"));
        assert_eq!(commit("plan"), Some("b1"));
        assert_eq!(commit("implement"), None);
    }

    #[test]
    fn the_end_says_how_it_ended() {
        for (outcome, status) in [
            (SessionOutcome::Completed, SessionStatus::Finished),
            (SessionOutcome::Aborted, SessionStatus::Finished),
            (SessionOutcome::Failed, SessionStatus::Failed),
        ] {
            let state = fold([
                started("r", "offline"),
                EventKind::GateOpened {
                    phase: "summarize".into(),
                    question: "ok?".into(),
                    over_budget: None,
                },
                EventKind::SessionFinished { outcome },
            ]);
            assert_eq!(state.outcome, Some(outcome));
            assert_eq!(state.status, status);
            assert!(state.gate.is_none());
            assert!(state.is_over());
            assert!(state.finished_at.is_some());
        }
    }
}
