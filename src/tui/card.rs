//! A phase's card: the rows a column shows above its text — status,
//! attempt and time, the rejections left, tokens and cost, the specialists
//! advising it, how earlier attempts ended, a plan's tasks, the latest tool
//! calls and the role's status report. The board draws them, and counts
//! them for the scroll limit, from here. Every session string goes through
//! the sanitizer ([`super::text`]).

use std::fmt::Write as _;

use ratatui::text::Line;

use super::app::App;
use super::board::{SPINNER, status_label, status_style};
use super::chrome::{duration, tokens};
use super::text::{clip, safe, wrap};
use crate::session::{Attempt, AttemptOutcome, PhaseState, PhaseStatus};

/// A plan run task by task: one line per implementation task that has
/// started — `✓ 1 name`, `⠋ 3 ↻2 name` (its second round), `? 5 name` (its
/// critique is checking it), `✗ 7 name failed` — with how far it and its
/// critique got.
pub(super) fn task_lines(app: &App, attempt: &Attempt, width: usize) -> Vec<Line<'static>> {
    use crate::session::TaskOutcome;
    let mut lines = Vec::new();
    for maker in attempt.tasks.iter().filter(|t| t.critique_of.is_none()) {
        let critique = attempt
            .tasks
            .iter()
            .find(|t| t.critique_of == Some(maker.task));
        let spinner = SPINNER[app.frame % SPINNER.len()];
        let (mark, style, note) = match (maker.outcome, critique.map(|c| (c.outcome, c.round))) {
            (None, _) => (spinner, app.theme.running, ""),
            (Some(TaskOutcome::Error), _) => ("✗", app.theme.failed, " error"),
            (Some(_), Some((None, _))) => ("?", app.theme.awaiting, ""),
            (Some(_), Some((Some(TaskOutcome::Failed), r))) if r >= maker.round => {
                ("✗", app.theme.failed, " failed")
            }
            (Some(_), Some((Some(TaskOutcome::Unchecked), _))) => {
                ("~", app.theme.dim, " unchecked")
            }
            (Some(_), _) => ("✓", app.theme.approved, ""),
        };
        let round = if maker.round > 1 {
            format!(" ↻{}", maker.round)
        } else {
            String::new()
        };
        let by = maker
            .role
            .as_ref()
            .map_or_else(String::new, |r| format!(" [{r}]"));
        lines.push(Line::styled(
            clip(
                &format!("{mark} {}{round} {}{by}{note}", maker.task, maker.name),
                width,
            ),
            style,
        ));
    }
    if !lines.is_empty() {
        lines.push(Line::styled("─".repeat(width), app.theme.border));
    }
    lines
}

/// The attempt's latest tool calls (`write_file a.go ✓`, `run_command go
/// test ./... ✗ exit 1`) and its status checklist.
pub(super) fn tool_lines(app: &App, attempt: &Attempt, width: usize) -> Vec<Line<'static>> {
    use crate::session::fold::ToolState;
    let mut lines = Vec::new();
    for run in attempt.tools.iter().rev().take(4).rev() {
        let (mark, style, detail) = match &run.state {
            ToolState::Asking => ("?", app.theme.awaiting, "asking".to_owned()),
            ToolState::Running => ("…", app.theme.running, String::new()),
            ToolState::Denied { .. } => ("✗", app.theme.failed, "denied".to_owned()),
            ToolState::Done { ok: true, summary } => ("✓", app.theme.approved, summary.clone()),
            ToolState::Done { ok: false, summary } => ("✗", app.theme.failed, summary.clone()),
        };
        // The mark first, so that narrow columns still show how it went.
        let text = format!("{mark} {} {} {detail}", run.tool, run.target);
        lines.push(Line::styled(clip(&text, width), style));
    }
    if let Some(list) = &attempt.checklist {
        // The status protocol's head: how the work stands, at which step.
        let head: Vec<&str> = [&list.status, &list.step]
            .into_iter()
            .filter_map(|s| s.as_deref().filter(|s| !s.trim().is_empty()))
            .collect();
        if !head.is_empty() {
            let style = if list.blockers.is_empty() {
                app.theme.running
            } else {
                app.theme.failed
            };
            lines.push(Line::styled(
                clip(&format!("● {}", head.join(" · ")), width),
                style,
            ));
        }
        for blocker in list.blockers.iter().take(3) {
            lines.push(Line::styled(
                clip(&format!("⚠ {blocker}"), width),
                app.theme.failed,
            ));
        }
        for done in list.completed.iter().take(4) {
            lines.push(Line::styled(
                clip(&format!("☑ {done}"), width),
                app.theme.approved,
            ));
        }
        for todo in list.pending.iter().take(4) {
            lines.push(Line::styled(
                clip(&format!("☐ {todo}"), width),
                app.theme.dim,
            ));
        }
    }
    if !lines.is_empty() {
        lines.push(Line::styled("─".repeat(width), app.theme.border));
    }
    lines
}

/// How an attempt ended, in words: a return names who sent it back, a
/// rejection or a return its words. `None` while nothing ended it but an
/// approval (or it still runs).
pub(super) fn ended(app: &App, a: &Attempt) -> Option<String> {
    let words = a
        .rejected_with
        .as_deref()
        .filter(|f| !f.trim().is_empty())
        .map(|f| format!(": {}", safe(f)))
        .unwrap_or_default();
    let error = a
        .error
        .as_deref()
        .map(|e| format!(": {}", safe(e)))
        .unwrap_or_default();
    Some(match a.outcome.as_ref()? {
        AttemptOutcome::Rejected => format!("rejected{words}"),
        AttemptOutcome::Retried => format!("failed, retried{error}"),
        AttemptOutcome::Returned { from, automatic } => {
            let role = app
                .state
                .phases
                .iter()
                .find(|p| &p.id == from)
                .map_or(from.as_str(), |p| p.role.as_str());
            let by = if *automatic { "'s verdict" } else { "" };
            format!("↺ returned by {}{by}{words}", safe(role))
        }
        AttemptOutcome::Interrupted => "interrupted".to_owned(),
        AttemptOutcome::Failed => format!("failed{error}"),
        AttemptOutcome::Unreadable => "unreadable, asked again".to_owned(),
    })
}

/// One dim line per earlier attempt: how that attempt ended.
fn history(app: &App, attempts: &[Attempt]) -> Vec<String> {
    let Some((_, earlier)) = attempts.split_last() else {
        return Vec::new();
    };
    earlier
        .iter()
        .rev()
        .take(3)
        .map(|a| match ended(app, a) {
            Some(how) => format!("#{} {how}", a.number),
            None => format!("#{}", a.number),
        })
        .collect()
}

/// The card's attempt line: the attempt's number, its time, and whether
/// it was edited.
fn attempt_line(phase: &PhaseState, elapsed: &str) -> String {
    match phase.current() {
        None => "not started".to_owned(),
        Some(a) => format!(
            "attempt {} · {elapsed}{}",
            a.number,
            if a.edited.is_some() { " · edited" } else { "" }
        ),
    }
}

/// How many more rejections (or retries of a failure) `max_attempts`
/// allows the phase: the count the engine refuses `reject` by. Shown
/// while the phase runs, waits at its gate or has failed.
fn rejections_line(app: &App, phase: &PhaseState) -> Option<String> {
    let max = app.state.pipeline.as_ref()?.max_attempts;
    match phase.status {
        PhaseStatus::Running | PhaseStatus::AwaitingGate | PhaseStatus::Failed => {}
        PhaseStatus::Pending | PhaseStatus::Approved => return None,
    }
    Some(match phase.rejections_left(max) {
        0 => "no rejections left".to_owned(),
        1 => "1 rejection left".to_owned(),
        n => format!("{n} rejections left"),
    })
}

/// The rows a column shows above its text: status, attempt and time,
/// tokens, a rule, then the specialists, earlier attempts and the latest
/// tool calls. Drawing and the scroll limit both count them from here.
pub(super) fn column_header(
    app: &App,
    index: usize,
    phase: &PhaseState,
    width: usize,
) -> Vec<Line<'static>> {
    let attempt = phase.current();
    let elapsed = attempt
        .and_then(|a| {
            a.started_at
                .map(|s| duration(s, a.ended_at.unwrap_or(app.now)))
        })
        .unwrap_or_default();
    let mut lines = vec![
        Line::styled(
            clip(&status_label(app, phase.status), width),
            status_style(app, phase.status),
        ),
        Line::styled(clip(&attempt_line(phase, &elapsed), width), app.theme.dim),
        Line::styled(clip(&usage_line(app, index, phase), width), app.theme.dim),
        Line::styled("─".repeat(width), app.theme.border),
    ];
    if let Some(left) = rejections_line(app, phase) {
        lines.insert(2, Line::styled(clip(&left, width), app.theme.dim));
    }
    // What the phase changed in the workspace, from its latest snapshot.
    if let Some(snapshot) = app.state.snapshot_of(&phase.id)
        && !snapshot.files.is_empty()
    {
        let at = lines.len() - 1;
        lines.insert(
            at,
            Line::styled(
                clip(&crate::changes::summary(&snapshot.files), width),
                app.theme.badge,
            ),
        );
    }
    // A report that says other than what the change holds is flagged.
    if app.state.claims(index).is_some() {
        let at = lines.len() - 1;
        lines.insert(
            at,
            Line::styled(
                clip(
                    &format!(
                        "⚠ report ≠ change ({})",
                        app.keymap.label(
                            &[super::keymap::Context::Board],
                            super::keymap::Act::Changes
                        )
                    ),
                    width,
                ),
                app.theme.awaiting,
            ),
        );
    }
    // A role with tools on a server that cannot call them goes without.
    let without = app
        .state
        .pipeline
        .as_ref()
        .and_then(|p| p.phases.get(index))
        .is_some_and(|p| !p.tools.is_empty() && app.server.no_tools.contains(&p.id));
    if without {
        lines.push(Line::styled(
            clip("no tools: the server ignores them", width),
            app.theme.awaiting,
        ));
    }
    for (text, failed) in app.utility_lines(phase) {
        let style = if failed {
            app.theme.awaiting
        } else {
            app.theme.badge
        };
        lines.push(Line::styled(clip(&text, width), style));
    }
    if let Some(a) = attempt {
        for (text, failed) in specialist_lines(phase, a) {
            let style = if failed {
                app.theme.awaiting
            } else {
                app.theme.badge
            };
            lines.push(Line::styled(clip(&text, width), style));
        }
    }
    // How an earlier attempt ended takes up to two rows: who sent it
    // back, or what it was rejected for, should not be cut at the name.
    for past in history(app, &phase.attempts) {
        let rows = wrap(&past, width);
        if let Some((first, rest)) = rows.split_first() {
            lines.push(Line::styled(first.clone(), app.theme.dim));
            if !rest.is_empty() {
                lines.push(Line::styled(clip(&rest.join(" "), width), app.theme.dim));
            }
        }
    }
    if let Some(a) = attempt {
        lines.extend(tool_lines(app, a, width));
    }
    lines
}

/// The card's lines for the specialists advising attempt `a`: one for
/// those pasted in (`✦ redis, database`), then one per consulted
/// specialist with what it said (`✦ graphql: 3 points`), asking still, or
/// no advice (then `true`: the role went on without it).
pub(super) fn specialist_lines(
    phase: &PhaseState,
    a: &crate::session::Attempt,
) -> Vec<(String, bool)> {
    let had = phase.advice_for(a.number);
    let mut pasted = Vec::new();
    let mut consulted = Vec::new();
    for engaged in &a.specialists {
        let name = engaged.split(" (").next().unwrap_or(engaged);
        match had.iter().find(|x| x.specialist == name) {
            Some(x) => consulted.push((format!("✦ {name}: {}", x.summary()), !x.given())),
            None => pasted.push(name),
        }
    }
    let mut out = Vec::new();
    if !pasted.is_empty() {
        out.push((format!("✦ {}", pasted.join(", ")), false));
    }
    out.extend(consulted);
    out
}

/// Tokens (live while streaming: an estimate until the server reports) and
/// the phase's cost when its model has a price.
fn usage_line(app: &App, index: usize, phase: &PhaseState) -> String {
    let running = phase.status == PhaseStatus::Running;
    let mut line = match phase.current() {
        Some(a) if running && a.usage.total() == 0 => {
            // A plan run task by task streams into its tasks, not its output.
            // Counted with the model's tokenizer (`~`), else approximated
            // (`≈`: another model's, or four characters a token).
            let streamed: u64 = std::iter::once((a.output.as_str(), None))
                .chain(a.tasks.iter().map(|t| (t.output.as_str(), Some(t.task))))
                .map(|(text, task)| {
                    let text = app.streamed.shown(text, &phase.id, a.number, task);
                    app.tally.count((index, a.number, task), &text)
                })
                .sum();
            format!(
                "{}{} tok",
                if app.tally.exact() { "~" } else { "≈" },
                tokens(phase.usage.total().saturating_add(streamed))
            )
        }
        _ => format!("{} tok", tokens(phase.usage.total())),
    };
    if let Some(cost) = crate::cost::phase_cost(&app.state, index, &app.prices).filter(|c| *c > 0.0)
    {
        let _ = write!(line, " · ${cost:.4}");
    }
    line
}
