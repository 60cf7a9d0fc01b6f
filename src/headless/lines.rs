//! One readable line per event, for headless runs and `replay --headless`
//! (the `--json` form is the log line itself). Everything printed from the
//! session passes through the sanitizer.

use std::fmt::Write as _;
use std::io::{self, Write};

use crate::sanitize::sanitize;
use crate::session::{Action, DecidedBy, Decision, Event, EventKind, Permit, SessionState};

/// The longest stretch of streamed text one line shows.
const OUTPUT_PREVIEW: usize = 72;

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
#[expect(
    clippy::too_many_lines,
    reason = "one arm per event kind: split, the compiler would no longer check it is complete"
)]
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
    let body = match &event.kind {
        EventKind::SessionStarted { .. } => started(&event.kind, state)?,
        EventKind::PhaseStarted { phase, attempt } => {
            format!(
                "{phase:<10} {} started, attempt {attempt}",
                role(state, phase)
            )
        }
        EventKind::Output {
            phase,
            attempt,
            text,
        } => {
            // Read in context: a piece may end or begin inside an escape
            // sequence, whose payload must not show as text.
            let so_far = state
                .phases
                .iter()
                .find(|p| &p.id == phase)
                .and_then(|p| p.attempts.iter().find(|a| a.number == *attempt))
                .map_or("", |a| a.output.as_str());
            let before = so_far.strip_suffix(text.as_str()).unwrap_or_default();
            let shown = clip(&crate::sanitize::added(before, text), OUTPUT_PREVIEW);
            if shown.is_empty() {
                return None;
            }
            format!("{phase:<10} │ {shown}")
        }
        EventKind::Usage {
            phase,
            prompt_tokens: p,
            completion_tokens: c,
            ..
        } => {
            format!("{phase:<10} tokens: {p} prompt + {c} completion")
        }
        EventKind::Artifact {
            phase,
            name,
            content,
            outputs,
            missing,
            ..
        } => {
            let lines = content.lines().count();
            let mut line = format!("{phase:<10} artifact `{name}` ({lines} lines)");
            if !outputs.is_empty() {
                let names: Vec<&str> = outputs.iter().map(|o| o.name.as_str()).collect();
                let _ = write!(line, ": {}", names.join(", "));
            }
            if !missing.is_empty() {
                let _ = write!(line, " · missing {}", missing.join(", "));
            }
            line
        }
        EventKind::GateOpened {
            phase,
            question,
            over_budget: None,
        } => {
            format!("{phase:<10} ? {question}")
        }
        EventKind::GateOpened {
            phase,
            question,
            over_budget: Some(why),
        } => {
            format!("{phase:<10} ? over budget ({why}): {question}")
        }
        EventKind::Decision(d) => decision(d),
        EventKind::ToolCall {
            phase,
            call_id,
            tool,
            ..
        } => {
            let target =
                tool_run(state, phase, call_id).map_or_else(String::new, |t| clip(&t.target, 70));
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
        } => permission(phase, *decision, *by, pattern.as_deref(), reason.as_deref()),
        EventKind::ToolResult {
            phase,
            call_id,
            ok,
            summary,
            ..
        } => {
            let tool = tool_run(state, phase, call_id).map_or("tool", |t| t.tool.as_str());
            let mark = if *ok { "✓" } else { "✗" };
            format!("{phase:<10} {mark} {tool}: {}", clip(summary, 70))
        }
        EventKind::Forked { from, at, from_seq } => {
            format!("session forked from {from} (event {from_seq}), reopened at the {at} gate")
        }
        EventKind::Reverted { phase, file, patch } => {
            let lines = patch.lines().filter(|l| l.starts_with(['+', '-'])).count();
            format!("{phase:<10} ⟲ reverted a hunk of {file} ({lines} lines)")
        }
        EventKind::RevertUndone { phase, reverted } => {
            format!("{phase:<10} ⟲ put back the hunk reverted at event {reverted}")
        }
        EventKind::Snapshot {
            phase,
            reference,
            commit,
            files,
            ..
        } => {
            let short: String = commit.chars().take(10).collect();
            let changed = if files.is_empty() {
                "no change".to_owned()
            } else {
                crate::changes::summary(files)
            };
            let mut line = format!("{phase:<10} snapshot {short} on {reference}: {changed}");
            if let Some(claims) = state
                .phases
                .iter()
                .position(|p| &p.id == phase)
                .and_then(|i| state.claims(i))
            {
                let _ = write!(line, "\n{phase:<10} ⚠ {}", claims.describe());
            }
            line
        }
        EventKind::Retry { phase, .. } => {
            let retrying = state.phases.iter().find(|p| &p.id == phase);
            let retrying = retrying.and_then(|p| p.current()?.retrying.clone());
            format!("{phase:<10} ↻ {}", retrying.unwrap_or_default())
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
            role,
            ..
        } => {
            let again = if *round > 1 {
                format!(" (round {round})")
            } else {
                String::new()
            };
            let by = role
                .as_ref()
                .map_or_else(String::new, |r| format!(" [as {}]", clip(r, 40)));
            format!("{phase:<10} ▸ task {task}: {}{again}{by}", clip(name, 70))
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
        } => {
            format!("{phase:<10} ✦ specialists: {}", specialists.join(", "))
        }
        EventKind::Advice {
            phase,
            specialist,
            error,
            ..
        } => match (state.phases.iter().find(|p| p.id == *phase), error) {
            (_, Some(error)) => format!(
                "{phase:<10} ✦ {specialist}: no advice ({}), the role goes on without it",
                clip(error, 70)
            ),
            (Some(p), None) => match p.advice.last() {
                Some(a) => format!("{phase:<10} ✦ {specialist}: {}", a.summary()),
                None => format!("{phase:<10} ✦ {specialist} advised"),
            },
            (None, None) => format!("{phase:<10} ✦ {specialist} advised"),
        },
        EventKind::Summoned { phase, utility, .. } => {
            format!("{phase:<10} ⚒ {utility} summoned: working while the checkpoint stays open")
        }
        EventKind::Utility {
            phase,
            utility,
            artifacts,
            hands_to,
            error,
            ..
        } => match error {
            Some(error) => format!("{phase:<10} ⚒ {utility}: failed ({})", clip(error, 70)),
            None => format!(
                "{phase:<10} ⚒ {utility}: {} → {}",
                artifacts.join(", "),
                hands_to.join(", ")
            ),
        },
        EventKind::Invalid {
            phase,
            errors,
            retry,
            ..
        } => {
            let again = if *retry { ", asked again" } else { "" };
            let first = clip(errors.first().map_or("", String::as_str), 80);
            format!(
                "{phase:<10} ✗ unreadable ({}){again}: {first}",
                errors.len()
            )
        }
        EventKind::SessionFinished { outcome } => {
            format!(
                "session finished: {} · {} tokens",
                outcome.as_str(),
                state.usage.total()
            )
        }
        // Task text streams into the artifact's report; unknown kinds are skipped.
        EventKind::TaskOutput { .. } | EventKind::Unknown => return None,
    };
    Some(format!("{stamp}  {}", sanitize(&body)))
}

/// The line of `session_started`: the manager's acknowledgement (what it
/// detected, who it assigns the work to), then the session's particulars.
fn started(kind: &EventKind, state: &SessionState) -> Option<String> {
    let EventKind::SessionStarted {
        id,
        provider,
        model,
        ..
    } = kind
    else {
        return None;
    };
    Some(format!(
        "{} · session {id} · {provider} · {model}",
        state.acknowledgement(60)
    ))
}

/// The role of `phase`, or its id when the pipeline does not name it.
fn role(state: &SessionState, phase: &str) -> String {
    state
        .phases
        .iter()
        .find(|p| p.id == phase)
        .map_or_else(|| phase.to_owned(), |p| p.role.clone())
}

/// The run of tool call `call_id` in `phase`'s current attempt.
fn tool_run<'s>(
    state: &'s SessionState,
    phase: &str,
    call_id: &str,
) -> Option<&'s crate::session::fold::ToolRun> {
    state
        .phases
        .iter()
        .find(|p| p.id == phase)
        .and_then(|p| p.current())
        .and_then(|a| a.tool(call_id))
}

fn decision(d: &Decision) -> String {
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
        "{:<10} {mark} {} by {}{detail}",
        d.phase,
        d.action.as_str(),
        d.by.as_str()
    )
}

fn permission(
    phase: &str,
    decision: Permit,
    by: DecidedBy,
    pattern: Option<&str>,
    reason: Option<&str>,
) -> String {
    let (mark, word) = match decision {
        Permit::Allow => ("✓", "allowed"),
        Permit::Deny => ("✗", "denied"),
    };
    let always = pattern
        .map(|p| format!(", always `{p}`"))
        .unwrap_or_default();
    let why = reason
        .map(|r| format!(": {}", clip(r, 70)))
        .unwrap_or_default();
    format!("{phase:<10} {mark} {word} by {}{always}{why}", by.as_str())
}
