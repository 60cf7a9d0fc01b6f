//! Running and replaying without a terminal UI.
//!
//! [`describe`] turns one event into one readable line (the `--json` form is
//! the log line itself). [`drive`] is the headless client of a live engine:
//! it folds the events it receives, prints them, and answers each gate from
//! the decisions file, then from `--approve`, or stops there. Everything it
//! prints from the session passes through the sanitizer.

use std::collections::VecDeque;
use std::io::{self, Write};
use std::path::Path;

use serde::Deserialize;
use tokio::sync::mpsc;
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

use crate::diagnostic::Diagnostic;
use crate::pipeline::Pipeline;
use crate::policy::glob_match;
use crate::protocol::{Command, PermissionAnswer, Update};
use crate::sanitize::sanitize;
use crate::session::{
    Action, DecidedBy, Decision, Event, EventKind, PhaseStatus, SessionOutcome, SessionState,
};

/// The longest stretch of streamed text one line shows.
const OUTPUT_PREVIEW: usize = 72;

/// How gates are answered without a human.
#[derive(Debug, Default)]
pub struct GatePolicy {
    /// Decisions from `--decisions`, used first, each for its phase.
    pub queued: VecDeque<Decision>,
    /// `--approve all`: approve any gate the queue has nothing for, except
    /// a failed phase's or one that opens over budget.
    pub approve_rest: bool,
    /// `--allow`: patterns of commands to allow when the policy asks.
    pub allow: Vec<String>,
}

/// One decision as a decisions file writes it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDecision {
    action: Action,
    notes: Option<String>,
    feedback: Option<String>,
    content: Option<String>,
    /// The edited artifact, read from a file beside the decisions file.
    content_file: Option<Spanned<String>>,
    to: Option<Spanned<String>>,
}

impl GatePolicy {
    /// Reads a decisions file: for each phase id, one decision or a list of
    /// them, used in order at that phase's gates.
    ///
    /// ```toml
    /// [[summarize]]
    /// action = "reject"
    /// feedback = "Say which clients are exempt"
    ///
    /// [implement]
    /// action = "edit"
    /// content_file = "implementation.md"
    /// ```
    pub fn read_decisions(path: &Path, pipeline: &Pipeline) -> Result<VecDeque<Decision>, String> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| format!("{file}: {e}"))?;
        let doc = DeTable::parse(&text)
            .map_err(|e| Diagnostic::from_toml(&file, &text, &e).to_string())?;
        let mut found = Vec::new();
        let mut decisions = VecDeque::new();
        let here = path.parent().unwrap_or_else(|| Path::new("."));
        for (key, value) in doc.into_inner() {
            let phase = Spanned::new(key.span(), key.get_ref().to_string());
            let Some(index) = pipeline.index_of(phase.get_ref()) else {
                found.push(Diagnostic::at(
                    &file,
                    &text,
                    Some(phase.span()),
                    format!("no phase `{}` in the pipeline", phase.get_ref()),
                ));
                continue;
            };
            // One decision (a table) or several (an array of tables).
            let entries: Vec<_> = if value.get_ref().is_array() {
                let DeValue::Array(items) = value.into_inner() else {
                    continue;
                };
                items.into_iter().collect()
            } else {
                vec![value]
            };
            for entry in entries {
                let span = entry.span();
                let raw = match RawDecision::deserialize(ValueDeserializer::from(entry)) {
                    Ok(raw) => raw,
                    Err(e) => {
                        found.push(Diagnostic::at(
                            &file,
                            &text,
                            e.span().or(Some(span)),
                            e.message().trim(),
                        ));
                        continue;
                    }
                };
                let mut problem = |span, message: String| {
                    found.push(Diagnostic::at(&file, &text, Some(span), message));
                };
                let content = match (&raw.content, &raw.content_file) {
                    (_, Some(name)) => match std::fs::read_to_string(here.join(name.get_ref())) {
                        Ok(content) => Some(content),
                        Err(e) => {
                            problem(
                                name.span(),
                                format!("cannot read `{}`: {e}", name.get_ref()),
                            );
                            continue;
                        }
                    },
                    (content, None) => content.clone(),
                };
                let needs = match raw.action {
                    Action::ApproveWithNotes if raw.notes.is_none() => {
                        Some("`approve_with_notes` needs `notes`")
                    }
                    Action::Edit if content.is_none() => {
                        Some("`edit` needs `content` or `content_file`")
                    }
                    Action::Return if raw.to.is_none() => Some("`return` needs `to`"),
                    Action::Approve
                    | Action::ApproveWithNotes
                    | Action::Edit
                    | Action::Reject
                    | Action::Return
                    | Action::Abort => None,
                };
                if let Some(needs) = needs {
                    problem(span, needs.to_owned());
                    continue;
                }
                if let Some(to) = &raw.to
                    && pipeline.index_of(to.get_ref()).is_none_or(|t| t >= index)
                {
                    problem(
                        to.span(),
                        format!(
                            "`{}` is not a phase before `{}`",
                            to.get_ref(),
                            phase.get_ref()
                        ),
                    );
                    continue;
                }
                decisions.push_back(Decision {
                    phase: phase.get_ref().clone(),
                    action: raw.action,
                    notes: raw.notes,
                    feedback: raw.feedback,
                    content,
                    to: raw.to.map(Spanned::into_inner),
                    by: DecidedBy::Policy,
                });
            }
        }
        if found.is_empty() {
            Ok(decisions)
        } else {
            found.sort_by_key(|d| (d.line, d.column));
            Err(crate::diagnostic::render(&found))
        }
    }

    /// The answer for the gate on `phase`, if the policy has one. A failed
    /// phase, a gate over budget and one that needs a person (an unreadable
    /// plan, a failing verdict) are never approved by `--approve all`: only
    /// a queued decision answers them.
    fn answer(&mut self, phase: &str, held: bool) -> Option<Decision> {
        if let Some(at) = self.queued.iter().position(|d| d.phase == phase) {
            return self.queued.remove(at);
        }
        (self.approve_rest && !held).then(|| Decision::approve(phase, DecidedBy::Policy))
    }
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
        Some(decision) => {
            let _ = commands.send(Command::Decide(decision));
            None
        }
        None if failed => Some(Ending::PhaseFailed),
        None => Some(Ending::AwaitingHuman),
    }
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
                call_id, detail, ..
            } => {
                let matched = policy.allow.iter().find(|p| glob_match(p, detail));
                let _ = commands.send(Command::Permission(PermissionAnswer {
                    call_id: call_id.clone(),
                    allow: matched.is_some(),
                    always: false,
                    reason: match matched {
                        Some(_) => None,
                        None => Some("headless: a command the policy asks about is denied unless --allow matches it".into()),
                    },
                    by: DecidedBy::Policy,
                }));
            }
            EventKind::SessionFinished { outcome } => return Ok(Ending::Finished(*outcome)),
            // Nothing to answer: printed above, and that is all.
            EventKind::SessionStarted { .. }
            | EventKind::PhaseStarted { .. }
            | EventKind::Engaged { .. }
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
            | EventKind::Retry { .. }
            | EventKind::Returned { .. }
            | EventKind::Invalid { .. }
            | EventKind::Unknown => {}
        }
    }
    Ok(Ending::EngineStopped)
}

/// Prints one event, readable or as its JSON line.
pub fn print_event(
    event: &Event,
    state: &SessionState,
    json: bool,
    out: &mut impl Write,
) -> io::Result<()> {
    if json {
        let line = crate::sanitize::json(event, false)?;
        writeln!(out, "{line}")
    } else {
        match describe(event, state) {
            Some(line) => writeln!(out, "{line}"),
            None => Ok(()),
        }
    }
}

/// Cuts `text` to `max` characters on one line, marking the cut.
fn clip(text: &str, max: usize) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= max {
        one_line
    } else {
        one_line
            .chars()
            .take(max.saturating_sub(1))
            .collect::<String>()
            + "…"
    }
}

/// One readable line for an event; `state` is the fold after it.
pub fn describe(event: &Event, state: &SessionState) -> Option<String> {
    let offset = state
        .started_at
        .map(|start| (event.t - start).num_milliseconds().max(0))
        .unwrap_or_default();
    let stamp = format!(
        "{:02}:{:02}.{:03}",
        offset / 60_000,
        offset / 1000 % 60,
        offset % 1000
    );
    let role = |phase: &str| {
        state
            .phases
            .iter()
            .find(|p| p.id == phase)
            .map_or_else(|| phase.to_owned(), |p| p.role.clone())
    };
    let body = match &event.kind {
        EventKind::SessionStarted {
            id,
            request,
            provider,
            model,
            pipeline,
            ..
        } => format!(
            "session {id} started · pipeline {} ({} phases) · {provider} · {model} · “{}”",
            pipeline.name,
            pipeline.phases.len(),
            clip(request, 60)
        ),
        EventKind::PhaseStarted { phase, attempt } => {
            format!("{phase:<10} {} started, attempt {attempt}", role(phase))
        }
        EventKind::Output { phase, text, .. } => {
            let shown = clip(text, OUTPUT_PREVIEW);
            if shown.is_empty() {
                return None;
            }
            format!("{phase:<10} │ {shown}")
        }
        EventKind::Usage {
            phase,
            prompt_tokens,
            completion_tokens,
            ..
        } => format!("{phase:<10} tokens: {prompt_tokens} prompt + {completion_tokens} completion"),
        EventKind::Artifact {
            phase,
            name,
            content,
            ..
        } => format!(
            "{phase:<10} artifact `{name}` ({} lines)",
            content.lines().count()
        ),
        EventKind::GateOpened {
            phase,
            question,
            over_budget,
        } => match over_budget {
            Some(why) => format!("{phase:<10} ? over budget ({why}): {question}"),
            None => format!("{phase:<10} ? {question}"),
        },
        EventKind::Decision(d) => {
            let by = d.by.as_str();
            let detail = d
                .notes
                .as_deref()
                .or(d.feedback.as_deref())
                .map(|t| format!(": {}", clip(t, 60)))
                .unwrap_or_default();
            let mark = match d.action {
                Action::Approve | Action::ApproveWithNotes => "✓",
                Action::Edit => "✎",
                Action::Reject | Action::Return => "↺",
                Action::Abort => "■",
            };
            format!(
                "{:<10} {mark} {} by {by}{detail}",
                d.phase,
                d.action.as_str()
            )
        }
        EventKind::ToolCall {
            phase,
            call_id,
            tool,
            ..
        } => {
            let target = state
                .phases
                .iter()
                .find(|p| &p.id == phase)
                .and_then(|p| p.current())
                .and_then(|a| a.tool(call_id))
                .map_or_else(String::new, |t| clip(&t.target, 70));
            format!("{phase:<10} ⚙ {tool} {target}")
        }
        EventKind::PermissionAsked {
            phase,
            detail,
            reason,
            ..
        } => {
            format!(
                "{phase:<10} ? may it run `{}`? ({})",
                clip(detail, 70),
                clip(reason, 60)
            )
        }
        EventKind::Permission {
            phase,
            decision,
            by,
            pattern,
            reason,
            ..
        } => {
            let (mark, word) = match decision {
                crate::session::Permit::Allow => ("✓", "allowed"),
                crate::session::Permit::Deny => ("✗", "denied"),
            };
            let by = by.as_str();
            let always = pattern
                .as_ref()
                .map(|p| format!(", always `{p}`"))
                .unwrap_or_default();
            let why = reason
                .as_ref()
                .map(|r| format!(": {}", clip(r, 70)))
                .unwrap_or_default();
            format!("{phase:<10} {mark} {word} by {by}{always}{why}")
        }
        EventKind::ToolResult {
            phase,
            call_id,
            ok,
            summary,
            ..
        } => {
            let tool = state
                .phases
                .iter()
                .find(|p| &p.id == phase)
                .and_then(|p| p.current())
                .and_then(|a| a.tool(call_id))
                .map_or("tool", |t| t.tool.as_str());
            format!(
                "{phase:<10} {} {tool}: {}",
                if *ok { "✓" } else { "✗" },
                clip(summary, 70)
            )
        }
        EventKind::Forked { from, at, from_seq } => {
            format!("session forked from {from} (event {from_seq}), reopened at the {at} gate")
        }
        EventKind::Snapshot {
            phase,
            reference,
            commit,
        } => {
            format!(
                "{phase:<10} snapshot {} on {reference}",
                commit.chars().take(10).collect::<String>()
            )
        }
        EventKind::Retry { phase, .. } => {
            let retrying = state
                .phases
                .iter()
                .find(|p| &p.id == phase)
                .and_then(|p| p.current())
                .and_then(|a| a.retrying.clone())
                .unwrap_or_default();
            format!("{phase:<10} ↻ {retrying}")
        }
        EventKind::PhaseFailed { phase, error, .. } => {
            format!("{phase:<10} ✗ failed: {}", clip(error, 100))
        }
        EventKind::Returned {
            from,
            to,
            reason,
            automatic,
        } => {
            let how = if *automatic { "sent back" } else { "returned" };
            format!("{from:<10} ↺ {how} to {to}: {}", clip(reason, 60))
        }
        EventKind::TaskStarted {
            phase,
            task,
            round,
            name,
            ..
        } => {
            let again = if *round > 1 {
                format!(" (round {round})")
            } else {
                String::new()
            };
            format!("{phase:<10} ▸ task {task}: {}{again}", clip(name, 70))
        }
        EventKind::TaskFinished {
            phase,
            task,
            outcome,
            summary,
            ..
        } => {
            let detail = if summary.is_empty() {
                String::new()
            } else {
                format!(": {}", clip(summary, 70))
            };
            format!("{phase:<10} ◂ task {task} {}{detail}", outcome.as_str())
        }
        EventKind::Engaged {
            phase, specialists, ..
        } => format!("{phase:<10} ✦ specialists: {}", specialists.join(", ")),
        EventKind::Invalid {
            phase,
            errors,
            retry,
            ..
        } => format!(
            "{phase:<10} ✗ unreadable ({}){}: {}",
            errors.len(),
            if *retry { ", asked again" } else { "" },
            clip(errors.first().map_or("", String::as_str), 80)
        ),
        EventKind::SessionFinished { outcome } => format!(
            "session finished: {} · {} tokens",
            outcome.as_str(),
            state.usage.total()
        ),
        // Task text streams into the artifact's report; unknown kinds are skipped.
        EventKind::TaskOutput { .. } | EventKind::Unknown => return None,
    };
    Some(format!("{stamp}  {}", sanitize(&body)))
}
