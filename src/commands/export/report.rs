//! `report.md`: a session's story for a reviewer: its timeline, the
//! approvals, every intervention (rejections, returns, edits as diffs, with
//! the review comments and reverts), failures, the tools the agents called,
//! and tokens and cost.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::{DateTime, Utc};

use super::{Record, attempt_text, cell, edit_diff, fenced, push_quoted, role_of, span, when};
use crate::cost::{self, Prices};
use crate::session::fold::ToolState;
use crate::session::store::Loaded;
use crate::session::{Action, Decision, Event, EventKind, PhaseStatus, SessionState};

pub(super) fn report_md(
    loaded: &Loaded,
    events: &[Event],
    records: &[Record<'_>],
    prices: &Prices,
) -> String {
    let state = &loaded.state;
    let mut md = String::new();
    let _ = writeln!(md, "# {}\n", cell(&state.request));
    let outcome = state
        .outcome
        .map(|o| format!(" ({})", o.as_str()))
        .unwrap_or_default();
    let _ = writeln!(md, "| | |\n|---|---|");
    let _ = writeln!(md, "| Session | `{}` |", cell(&state.id));
    if let Some(p) = &state.pipeline {
        let _ = writeln!(md, "| Pipeline | {} |", cell(&p.name));
    }
    if let Some((from, at)) = &state.forked_from {
        let _ = writeln!(md, "| Forked from | `{}` at `{}` |", cell(from), cell(at));
    }
    let _ = writeln!(
        md,
        "| Provider | {} · {} |",
        cell(&state.provider),
        cell(&state.model)
    );
    let _ = writeln!(md, "| Status | {}{outcome} |", loaded.status.as_str());
    let _ = writeln!(md, "| Started | {} |", when(state.started_at));
    let _ = writeln!(md, "| Finished | {} |", when(state.finished_at));
    let _ = writeln!(
        md,
        "| Duration | {} |",
        span(state.started_at, state.finished_at)
    );
    let _ = writeln!(
        md,
        "| Tokens | {} prompt · {} completion · {} total |",
        state.usage.prompt_tokens,
        state.usage.completion_tokens,
        state.usage.total()
    );
    if let Some(cost) = cost::session_cost(state, prices).filter(|_| !prices.is_empty()) {
        let _ = writeln!(md, "| Cost | ${cost:.4} |");
    }
    md.push('\n');

    timeline(&mut md, state, records);
    approvals(&mut md, state, records);
    interventions(&mut md, state, records, events);
    failures(&mut md, state);
    tools(&mut md, state);
    usage(&mut md, state, prices);
    md
}

/// When the phase was last approved, if it is approved now.
fn approved_at(records: &[Record<'_>], phase: &str) -> Option<DateTime<Utc>> {
    records
        .iter()
        .rev()
        .find(|r| {
            r.decision.phase == phase
                && matches!(
                    r.decision.action,
                    Action::Approve | Action::ApproveWithNotes
                )
        })
        .map(|r| r.t)
}

fn timeline(md: &mut String, state: &SessionState, records: &[Record<'_>]) {
    md.push_str("## Timeline\n\n");
    md.push_str(
        "| # | Phase | Role | Attempts | Status | Started | Finished | Duration | Tokens |\n",
    );
    md.push_str("|--:|---|---|--:|---|---|---|--:|--:|\n");
    for (i, p) in state.phases.iter().enumerate() {
        let started = p.attempts.first().and_then(|a| a.started_at);
        let finished = if p.status == PhaseStatus::Approved {
            approved_at(records, &p.id)
        } else {
            None
        };
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            i + 1,
            cell(&p.id),
            cell(&p.role),
            p.attempts.len(),
            p.status.as_str(),
            when(started),
            when(finished),
            span(started, finished),
            p.usage.total()
        );
    }
    md.push('\n');
}

/// A `## heading` with one bullet per record `line` describes, each
/// followed by its quoted text (`note` gives the lead-in and the text);
/// "None." when there is none.
fn decisions<'r>(
    md: &mut String,
    heading: &str,
    records: impl Iterator<Item = &'r Record<'r>>,
    line: impl Fn(&Record<'_>) -> String,
    note: fn(&Decision) -> Option<(&'static str, &str)>,
) {
    let _ = write!(md, "## {heading}\n\n");
    let mut any = false;
    for r in records {
        any = true;
        let _ = writeln!(md, "- {}", line(r));
        if let Some((lead, text)) = note(r.decision) {
            md.push_str(lead);
            push_quoted(md, text);
        }
    }
    if !any {
        md.push_str("None.\n");
    }
}

/// "`phase` (attempt N) (Role): `verb` by who at when".
fn decided(state: &SessionState, r: &Record<'_>, verb: &str) -> String {
    let d = r.decision;
    format!(
        "`{}`{} ({}): {verb} by {} at {}",
        cell(&d.phase),
        attempt_text(r.attempt),
        cell(role_of(state, &d.phase)),
        d.by.as_str(),
        when(Some(r.t))
    )
}

fn approvals(md: &mut String, state: &SessionState, records: &[Record<'_>]) {
    let approved = records.iter().filter(|r| {
        matches!(
            r.decision.action,
            Action::Approve | Action::ApproveWithNotes
        )
    });
    let line = |r: &Record<'_>| decided(state, r, "approved");
    decisions(md, "Approvals", approved, line, |d| {
        d.notes.as_deref().map(|n| ("  with notes:\n\n", n))
    });
    md.push('\n');
}

/// The returns no one decided: a failing verdict sent the work back by
/// itself, with its reason.
fn sent_back(md: &mut String, events: &[Event]) {
    md.push_str("## Returned by a failing verdict\n\n");
    let mut any = false;
    for event in events {
        if let EventKind::Returned {
            from,
            to,
            reason,
            automatic: true,
        } = &event.kind
        {
            any = true;
            let _ = writeln!(
                md,
                "- `{}` → `{}`: sent back by its failing verdict at {}",
                cell(from),
                cell(to),
                when(Some(event.t))
            );
            md.push('\n');
            push_quoted(md, reason);
        }
    }
    if !any {
        md.push_str("None.\n");
    }
}

/// Rejections, returns, edits and aborts.
fn interventions(md: &mut String, state: &SessionState, records: &[Record<'_>], events: &[Event]) {
    let of = |action: Action| records.iter().filter(move |r| r.decision.action == action);
    let feedback: fn(&Decision) -> Option<(&'static str, &str)> =
        |d| d.feedback.as_deref().map(|f| ("\n", f));

    let rejected = |r: &Record<'_>| decided(state, r, "rejected");
    decisions(md, "Rejections", of(Action::Reject), rejected, feedback);

    let returned = |r: &Record<'_>| {
        let d = r.decision;
        format!(
            "`{}` → `{}`: returned by {} at {}",
            cell(&d.phase),
            cell(d.to.as_deref().unwrap_or("?")),
            d.by.as_str(),
            when(Some(r.t))
        )
    };
    md.push('\n');
    decisions(md, "Returns", of(Action::Return), returned, feedback);
    md.push('\n');
    sent_back(md, events);

    md.push_str("\n## Edits\n\n");
    let mut any = false;
    for r in of(Action::Edit) {
        let d = r.decision;
        let Some(content) = &d.content else { continue };
        any = true;
        let _ = writeln!(
            md,
            "### `{}`{}, edited by {} at {}\n\n{}",
            cell(&d.phase),
            attempt_text(r.attempt),
            d.by.as_str(),
            when(Some(r.t)),
            fenced("diff", &edit_diff(r.draft, content))
        );
    }
    if !any {
        md.push_str("None.\n\n");
    }

    for r in of(Action::Abort) {
        let _ = writeln!(
            md,
            "Aborted at `{}` by {} at {}.\n",
            cell(&r.decision.phase),
            r.decision.by.as_str(),
            when(Some(r.t))
        );
    }
}

fn failures(md: &mut String, state: &SessionState) {
    let failed: Vec<_> = state
        .phases
        .iter()
        .flat_map(|p| p.attempts.iter().map(move |a| (p, a)))
        .filter_map(|(p, a)| a.error.as_deref().map(|e| (p, a, e)))
        .collect();
    if failed.is_empty() {
        return;
    }
    md.push_str("## Failures\n\n");
    for (p, a, error) in failed {
        let _ = writeln!(
            md,
            "- `{}` attempt {} at {}: {}",
            cell(&p.id),
            a.number,
            when(a.ended_at),
            cell(error)
        );
    }
    md.push('\n');
}

/// Calls, successes, failures and denials of one tool.
#[derive(Default)]
struct ToolCount {
    calls: usize,
    ok: usize,
    failed: usize,
    denied: usize,
}

fn tools(md: &mut String, state: &SessionState) {
    let mut rows = Vec::new();
    for p in &state.phases {
        let mut by_tool: BTreeMap<&str, ToolCount> = BTreeMap::new();
        for run in p.attempts.iter().flat_map(|a| &a.tools) {
            let count = by_tool.entry(run.tool.as_str()).or_default();
            count.calls += 1;
            match &run.state {
                ToolState::Done { ok: true, .. } => count.ok += 1,
                ToolState::Done { ok: false, .. } => count.failed += 1,
                ToolState::Denied { .. } => count.denied += 1,
                ToolState::Asking | ToolState::Running => {}
            }
        }
        rows.extend(by_tool.into_iter().map(|(tool, c)| (p, tool, c)));
    }
    if rows.is_empty() {
        return;
    }
    md.push_str("## Tool calls\n\n");
    md.push_str("| Phase | Tool | Calls | OK | Failed | Denied |\n|---|---|--:|--:|--:|--:|\n");
    for (p, tool, c) in rows {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} |",
            cell(&p.id),
            cell(tool),
            c.calls,
            c.ok,
            c.failed,
            c.denied
        );
    }
    md.push('\n');
}

fn usage(md: &mut String, state: &SessionState, prices: &Prices) {
    let has_prices = !prices.is_empty();
    md.push_str("## Tokens and cost\n\n");
    md.push_str("| Phase | Model | Prompt | Completion | Total | Cost |\n");
    md.push_str("|---|---|--:|--:|--:|--:|\n");
    let money = |c: Option<f64>| c.map_or_else(|| "-".to_owned(), |c| format!("${c:.4}"));
    for (i, p) in state.phases.iter().enumerate() {
        let cost = if has_prices {
            cost::phase_cost(state, i, prices)
        } else {
            None
        };
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} |",
            cell(&p.id),
            cell(cost::phase_model(state, i)),
            p.usage.prompt_tokens,
            p.usage.completion_tokens,
            p.usage.total(),
            money(cost)
        );
    }
    let total = if has_prices {
        cost::session_cost(state, prices)
    } else {
        None
    };
    let _ = writeln!(
        md,
        "| **Total** | | {} | {} | {} | {} |",
        state.usage.prompt_tokens,
        state.usage.completion_tokens,
        state.usage.total(),
        money(total)
    );
    if !has_prices {
        md.push_str("\nNo prices in config.toml, so no cost.\n");
    } else if total.is_none() {
        md.push_str("\nSome models have no price in config.toml, so no total cost.\n");
    }
}
