//! Running and replaying without a terminal UI.
//!
//! [`drive`] is the headless client of a live engine: it folds the events
//! it receives, prints them ([`lines`]), and answers each gate from the
//! decisions file, then from `--approve`, or stops there ([`decisions`]).

mod decisions;
mod lines;

pub use decisions::GatePolicy;
pub use lines::{describe, print_event};

use std::io::{self, Write};

use tokio::sync::mpsc;

use crate::policy::{Rules, Verdict};
use crate::protocol::{Command, PermissionAnswer, Update};
use crate::sanitize::sanitize;
use crate::session::{Action, DecidedBy, EventKind, PhaseStatus, SessionOutcome, SessionState};
use crate::tools::ruling::check_command;

/// Whether the `--allow` patterns allow the command line `command`. They
/// are rules of their own, ruled on exactly like the policy's: the line is
/// parsed, every simple command in it must be allowed by a pattern (word by
/// word), and what the parser cannot resolve (`$(…)`, `bash -c`,
/// redirection to a file, an assignment prefix no pattern names, an option
/// that runs a program) is never allowed.
fn allowed_headless(allow: &[String], command: &str) -> bool {
    let rules: Rules = allow.iter().map(|p| (p.clone(), Verdict::Allow)).collect();
    check_command(command, &[&rules], &[]).verdict == Verdict::Allow
}

/// How a headless run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ending {
    Finished(SessionOutcome),
    /// A gate opened that the policy had no answer for.
    AwaitingHuman,
    /// A phase failed and the policy had no decision for its gate.
    PhaseFailed,
    /// The engine stopped without finishing (it reported why).
    EngineStopped,
    /// The engine refused a decision of this run (it said why).
    Refused,
}

impl Ending {
    /// The process exit code (ARCHITECTURE.md lists them).
    pub fn exit_code(self) -> u8 {
        match self {
            Self::Finished(SessionOutcome::Completed) => 0,
            Self::Finished(SessionOutcome::Aborted | SessionOutcome::Failed)
            | Self::EngineStopped
            | Self::PhaseFailed => 1,
            Self::AwaitingHuman => 3,
            Self::Refused => 2,
        }
    }
}

/// Answers the gate open on `phase` from the policy; the ending when the
/// policy has no answer (the caller then stops, and the engine with it).
fn answer_gate(
    state: &SessionState,
    policy: &mut GatePolicy,
    commands: &mpsc::UnboundedSender<Command>,
    phase: &str,
) -> Option<Ending> {
    let failed = state
        .phases
        .iter()
        .any(|p| p.id == phase && p.status == PhaseStatus::Failed);
    let over_budget = state.gate.as_ref().is_some_and(|g| g.over_budget.is_some());
    let needs_a_person = state
        .phases
        .iter()
        .position(|p| p.id == phase)
        .is_some_and(|i| state.needs_a_person(i));
    match policy.answer(phase, failed || over_budget || needs_a_person) {
        Some(scripted) => {
            // Bound to the gate this run saw open, as a person's would be.
            let gate = state.gate.as_ref().map_or(0, |g| g.seq);
            for revert in &scripted.reverts {
                match hunk_to_revert(state, phase, revert) {
                    Ok((file, patch)) => {
                        let _ = commands.send(Command::Revert {
                            gate,
                            phase: phase.to_owned(),
                            file,
                            patch,
                        });
                    }
                    Err(why) => {
                        eprintln!(
                            "handoff: the decisions file's revert is refused: {}",
                            crate::sanitize::sanitize(&why)
                        );
                        return Some(Ending::Refused);
                    }
                }
            }
            // Summoned once the reverts are in: a utility reads the change
            // the decision is about.
            for utility in &scripted.summons {
                let _ = commands.send(Command::Summon {
                    gate,
                    phase: phase.to_owned(),
                    utility: utility.clone(),
                });
            }
            let _ = commands.send(Command::Decide(scripted.decision.at_gate(gate)));
            None
        }
        None if failed => Some(Ending::PhaseFailed),
        None => Some(Ending::AwaitingHuman),
    }
}

/// The patch of the hunk a decisions file names, read from the phase's
/// latest snapshot in the workspace.
fn hunk_to_revert(
    state: &SessionState,
    phase: &str,
    revert: &decisions::HunkRef,
) -> Result<(String, String), String> {
    let snapshot = state
        .snapshot_of(phase)
        .ok_or_else(|| format!("`{phase}` has no workspace change to revert a hunk of"))?;
    let root = state
        .workspace
        .as_ref()
        .map(|w| std::path::PathBuf::from(&w.path))
        .ok_or_else(|| "the session has no workspace".to_owned())?;
    let change = crate::tools::changes::change(&root, snapshot.base.as_deref(), &snapshot.commit)?;
    let file = change
        .files
        .iter()
        .find(|f| f.stat.path == revert.file)
        .ok_or_else(|| format!("`{phase}` did not change {}", revert.file))?;
    let patch = revert
        .hunk
        .checked_sub(1)
        .and_then(|i| file.hunk_patch(Some(i)))
        .ok_or_else(|| format!("{} has no hunk {} to revert", revert.file, revert.hunk))?;
    Ok((revert.file.clone(), patch))
}

/// Prints a live session and answers its gates until it ends. Recorded
/// events (a resumed session's history) are printed but never answered;
/// once they are through, a gate still open is answered.
pub async fn drive(
    mut updates: mpsc::UnboundedReceiver<Update>,
    commands: mpsc::UnboundedSender<Command>,
    mut policy: GatePolicy,
    json: bool,
    out: &mut impl Write,
) -> io::Result<Ending> {
    let mut state = SessionState::default();
    while let Some(update) = updates.recv().await {
        let event = match update {
            Update::Event(event) => event,
            Update::Recorded(event) => {
                // A decision this run's file made before the session
                // stopped is not made again.
                if let EventKind::Decision(d) = &event.kind
                    && d.by == DecidedBy::Policy
                {
                    policy.already_made(d);
                }
                state.apply(&event);
                print_event(&event, &state, json, out)?;
                continue;
            }
            Update::Resumed => {
                let open = state
                    .gate
                    .as_ref()
                    .map(|g| state.phases[g.phase].id.clone());
                if let Some(phase) = open
                    && let Some(ending) = answer_gate(&state, &mut policy, &commands, &phase)
                {
                    return Ok(ending);
                }
                continue;
            }
            Update::Notice(text) => {
                eprintln!("handoff: {}", sanitize(&text));
                continue;
            }
            // What a snapshot changed is in its event's file list; streamed
            // text is printed as the log records it.
            Update::Change { .. } | Update::Streaming { .. } => continue,
            // Its decisions are all this run has: one refused would leave
            // the gate waiting for ever.
            Update::Refused(why) => {
                eprintln!("handoff: {}", sanitize(&why));
                return Ok(Ending::Refused);
            }
        };
        state.apply(&event);
        print_event(&event, &state, json, out)?;
        match &event.kind {
            // A gate opened, or an edit was recorded and the same gate waits on.
            EventKind::GateOpened { phase, .. } => {
                if let Some(ending) = answer_gate(&state, &mut policy, &commands, phase) {
                    return Ok(ending);
                }
            }
            EventKind::Decision(d) if d.action == Action::Edit => {
                if let Some(ending) = answer_gate(&state, &mut policy, &commands, &d.phase) {
                    return Ok(ending);
                }
            }
            EventKind::PermissionAsked {
                call_id,
                detail,
                tool,
                ..
            } => {
                // `--allow` speaks of commands; a file write it cannot allow.
                let allow = tool == "run_command" && allowed_headless(&policy.allow, detail);
                let _ = commands.send(Command::Permission(PermissionAnswer {
                    call_id: call_id.clone(),
                    allow,
                    always: false,
                    reason: if allow {
                        None
                    } else {
                        Some("headless: what the policy asks about is denied unless --allow allows every command in it".into())
                    },
                    by: DecidedBy::Policy,
                }));
            }
            EventKind::SessionFinished { outcome } => return Ok(Ending::Finished(*outcome)),
            // Nothing to answer: printed above, and that is all.
            EventKind::SessionStarted { .. }
            | EventKind::PhaseStarted { .. }
            | EventKind::Engaged { .. }
            | EventKind::Advice { .. }
            | EventKind::Summoned { .. }
            | EventKind::Utility { .. }
            | EventKind::TaskStarted { .. }
            | EventKind::TaskOutput { .. }
            | EventKind::TaskFinished { .. }
            | EventKind::Output { .. }
            | EventKind::Usage { .. }
            | EventKind::Artifact { .. }
            | EventKind::Decision(_)
            | EventKind::PhaseFailed { .. }
            | EventKind::ToolCall { .. }
            | EventKind::Permission { .. }
            | EventKind::ToolResult { .. }
            | EventKind::Forked { .. }
            | EventKind::Snapshot { .. }
            | EventKind::Reverted { .. }
            | EventKind::RevertUndone { .. }
            | EventKind::Retry { .. }
            | EventKind::Returned { .. }
            | EventKind::Invalid { .. }
            | EventKind::Unknown => {}
        }
    }
    Ok(Ending::EngineStopped)
}
