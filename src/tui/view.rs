//! Drawing: `impl Widget for &App`, a pure function of the app's state.
//!
//! The screen is a status bar, the request, the board (one column per
//! phase, or on narrow terminals a strip of phases over the focused one), a
//! full-screen artifact or diff, the checkpoint bar and the key hints, with
//! any modal on top. Every string from a session goes through the sanitizer
//! (via [`super::text`], [`super::markdown`] or [`super::diff`]); nothing
//! here changes state or performs I/O (beyond keeping layouts in
//! [`super::rows::RowCache`]).

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Paragraph, Widget};

use super::app::{App, DiffBase, Modal, Screen, Source};
use super::diff::diff_lines;
use super::text::{clip, safe, tail, wrap};
use crate::session::{Attempt, PhaseState, PhaseStatus, SessionStatus};

const SPINNER: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
/// Rows above the text in a column: status, attempt and time, tokens, rule.
pub(super) const COLUMN_HEADER: usize = 4;
/// Below this width the board shows one column wide and the rest as a strip.
pub const NARROW: u16 = 120;
/// Nor is a column drawn narrower than this: more phases need more width.
const MIN_COLUMN: u16 = 18;

/// Whether a board of `phases` columns is drawn narrow at `width`.
pub fn is_narrow(width: u16, phases: usize) -> bool {
    let phases = u16::try_from(phases.max(1)).unwrap_or(u16::MAX);
    width < NARROW || width / phases < MIN_COLUMN
}

/// Sizes derived from the terminal size, shared by drawing and scrolling.
#[derive(Clone, Copy, Debug)]
pub struct Geometry {
    pub text_width: usize,
    pub text_height: usize,
}

impl Geometry {
    pub fn of(app: &App, (width, height): (u16, u16)) -> Self {
        let main_height = usize::from(height.saturating_sub(4 + u16::from(app.is_replay())));
        match app.screen {
            Screen::Board if is_narrow(width, app.state.phases.len()) => Self {
                text_width: usize::from(width).saturating_sub(2).max(1),
                text_height: main_height.saturating_sub(3 + COLUMN_HEADER).max(1),
            },
            Screen::Board => {
                let columns = app.state.phases.len().max(1);
                Self {
                    text_width: (usize::from(width) / columns).saturating_sub(2).max(1),
                    text_height: main_height.saturating_sub(2 + COLUMN_HEADER).max(1),
                }
            }
            Screen::Artifact { .. } | Screen::Diff { .. } => Self {
                text_width: usize::from(width).saturating_sub(2).max(1),
                text_height: main_height.saturating_sub(2).max(1),
            },
        }
    }
}

impl Widget for &App {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let timeline_rows = u16::from(self.is_replay());
        let [status, request, main, timeline_row, bar, footer] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Length(1),
            Constraint::Fill(1),
            Constraint::Length(timeline_rows),
            Constraint::Length(1),
            Constraint::Length(1),
        ])
        .areas(area);
        if let Source::Replay(player) = &self.source {
            timeline(self, player, timeline_row, buf);
        }
        status_bar(self, status, buf);
        Line::from(vec![
            Span::styled(" request ", self.theme.dim),
            Span::raw(safe(&self.state.request)),
        ])
        .render(request, buf);
        match self.screen {
            Screen::Board if self.state.phases.is_empty() => {
                Paragraph::new("starting…")
                    .style(self.theme.dim)
                    .render(main, buf);
            }
            Screen::Board if is_narrow(area.width, self.state.phases.len()) => {
                narrow_board(self, main, buf);
            }
            Screen::Board => board(self, main, buf),
            Screen::Artifact { phase, attempt } => artifact(self, phase, attempt, main, buf),
            Screen::Diff { phase, base } => diff(self, phase, base, main, buf),
        }
        checkpoint(self, bar, buf);
        hints(self, footer, buf);
        match &self.modal {
            Some(Modal::Help) => help(self, area, buf),
            Some(Modal::Matrix) => super::matrix::render(self, area, buf),
            Some(Modal::ConfirmQuit) => confirm(
                self,
                area,
                " Quit? ",
                &[
                    "Agents are still working.",
                    "Quit now? The session log keeps everything so far.",
                ],
                "quit",
                buf,
            ),
            Some(Modal::ConfirmAbort) => confirm(
                self,
                area,
                " Abort? ",
                &[
                    "Abort the session here?",
                    "No later phase will run; the log keeps everything.",
                ],
                "abort",
                buf,
            ),
            Some(Modal::SearchInput(query)) => {
                buf.set_style(bar, self.theme.gate);
                Line::styled(format!(" /{}▏", safe(query)), self.theme.gate).render(bar, buf);
            }
            Some(Modal::ReturnPick { phase, selected }) => {
                return_pick(self, *phase, *selected, area, buf);
            }
            Some(Modal::Compose(compose)) => {
                let rect = compose.area(main);
                compose.render(rect, buf, &self.theme, &self.keymap);
            }
            None => {
                if let Some(request) = self.pending_permission() {
                    permission(self, request, area, buf);
                }
            }
        }
    }
}

fn tokens(n: u64) -> String {
    #[allow(clippy::cast_precision_loss)] // A display figure.
    match n {
        0..1000 => n.to_string(),
        _ => format!("{:.1}k", n as f64 / 1000.0),
    }
}

fn duration(from: DateTime<Utc>, to: DateTime<Utc>) -> String {
    let secs = (to - from).num_seconds().max(0);
    format!("{}:{:02}", secs / 60, secs % 60)
}

fn status_bar(app: &App, area: Rect, buf: &mut Buffer) {
    buf.set_style(area, app.theme.status_bar);
    let s = &app.state;
    let provider = if s.provider == "offline" {
        " offline · no network ".to_owned()
    } else {
        format!(" {} ", safe(&s.provider))
    };
    // The clock only moves on screen while something runs or once it is
    // over: the UI does not redraw while it waits at a gate.
    let elapsed = match (s.started_at, s.finished_at) {
        (Some(start), Some(end)) => format!("│ {} ", duration(start, end)),
        (Some(start), None) if app.animating() => format!("│ {} ", duration(start, app.now)),
        _ => String::new(),
    };
    let cost = crate::cost::session_cost(s, &app.prices)
        .filter(|_| !app.prices.is_empty())
        .map_or(String::new(), |c| format!("│ ${c:.4} "));
    let mut spans = vec![
        Span::raw(" handoff "),
        Span::styled(provider, app.theme.badge),
        Span::raw(format!(
            " {} │ {} tokens {cost}{elapsed}│ model {} ",
            safe(&s.id),
            tokens(s.usage.total()),
            safe(&s.model),
        )),
    ];
    if let Source::Replay(player) = &app.source {
        let state = if player.playing { "▶" } else { "❚❚" };
        spans.push(Span::raw(format!(
            "│ REPLAY {state} {} · event {}/{} ",
            player.speed_label(),
            player.position(),
            player.len()
        )));
    }
    Line::from(spans).render(area, buf);
}

/// The replay's timeline: play state, time, a progress bar, the phase.
fn timeline(app: &App, player: &super::replay::Player, area: Rect, buf: &mut Buffer) {
    let (at, total, done) = player.progress();
    let clock = |d: chrono::TimeDelta| {
        let s = d.num_seconds().max(0);
        format!("{}:{:02}", s / 60, s % 60)
    };
    let phase = app
        .state
        .active_phase()
        .map_or_else(|| "-".to_owned(), |i| app.state.phases[i].id.clone());
    let mark = match (player.at_end(), player.playing) {
        (true, _) => "■",
        (false, true) => "▶",
        (false, false) => "❚❚",
    };
    let left = format!(" {mark} {} / {} ", clock(at), clock(total));
    let right = format!(" {} · {} ", safe(&phase), player.speed_label());
    let width =
        usize::from(area.width).saturating_sub(left.chars().count() + right.chars().count());
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let filled = ((width as f64) * done).round() as usize;
    Line::from(vec![
        Span::styled(left, app.theme.key),
        Span::styled("━".repeat(filled.min(width)), app.theme.running),
        Span::styled("─".repeat(width.saturating_sub(filled)), app.theme.border),
        Span::styled(right, app.theme.dim),
    ])
    .render(area, buf);
}

fn status_style(app: &App, status: PhaseStatus) -> Style {
    match status {
        PhaseStatus::Pending => app.theme.pending,
        PhaseStatus::Running => app.theme.running,
        PhaseStatus::AwaitingGate => app.theme.awaiting,
        PhaseStatus::Approved => app.theme.approved,
        PhaseStatus::Failed => app.theme.failed,
    }
}

fn status_icon(app: &App, status: PhaseStatus) -> &'static str {
    match status {
        PhaseStatus::Pending => "·",
        PhaseStatus::Running => SPINNER[app.frame % SPINNER.len()],
        PhaseStatus::AwaitingGate => "?",
        PhaseStatus::Approved => "✓",
        PhaseStatus::Failed => "✗",
    }
}

fn status_label(app: &App, status: PhaseStatus) -> String {
    let word = match status {
        PhaseStatus::Pending => "pending",
        PhaseStatus::Running => "running",
        PhaseStatus::AwaitingGate => "awaiting you",
        PhaseStatus::Approved => "approved",
        PhaseStatus::Failed => "failed",
    };
    format!("{} {word}", status_icon(app, status))
}

fn board(app: &App, area: Rect, buf: &mut Buffer) {
    let phases = &app.state.phases;
    let columns = Layout::horizontal(vec![Constraint::Fill(1); phases.len()]).split(area);
    for (index, (phase, column)) in phases.iter().zip(columns.iter()).enumerate() {
        phase_column(app, index, phase, *column, buf);
    }
}

/// Narrow terminals: a one-row strip of every phase, then the focused one.
fn narrow_board(app: &App, area: Rect, buf: &mut Buffer) {
    let phases = &app.state.phases;
    let [strip, column] =
        Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(area);
    let cells = Layout::horizontal(vec![Constraint::Fill(1); phases.len()]).split(strip);
    for (index, (phase, cell)) in phases.iter().zip(cells.iter()).enumerate() {
        let style = if index == app.focus {
            app.theme.border_focus.add_modifier(Modifier::REVERSED)
        } else {
            status_style(app, phase.status)
        };
        let label = format!(
            "{} {} {}",
            status_icon(app, phase.status),
            index + 1,
            phase.role
        );
        Line::styled(
            clip(&label, usize::from(cell.width.saturating_sub(1))),
            style,
        )
        .render(*cell, buf);
    }
    if let Some(phase) = phases.get(app.focus) {
        phase_column(app, app.focus, phase, column, buf);
    }
}

/// A plan run task by task: one line per implementation task that has
/// started — `✓ 1 name`, `⠋ 3 ↻2 name` (its second round), `? 5 name` (its
/// critique is checking it), `✗ 7 name failed` — with how far it and its
/// critique got.
fn task_lines(app: &App, attempt: &Attempt, width: usize) -> Vec<Line<'static>> {
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
        lines.push(Line::styled(
            clip(
                &format!("{mark} {}{round} {}{note}", maker.task, maker.name),
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
fn tool_lines(app: &App, attempt: &Attempt, width: usize) -> Vec<Line<'static>> {
    use crate::session::state::ToolState;
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

/// One dim line per earlier attempt: how it ended.
fn history(attempts: &[Attempt]) -> Vec<String> {
    let Some((_, earlier)) = attempts.split_last() else {
        return Vec::new();
    };
    earlier
        .iter()
        .rev()
        .take(3)
        .map(|a| match (&a.rejected_with, &a.error) {
            (Some(feedback), _) if !feedback.is_empty() => {
                format!("#{} rejected: {}", a.number, safe(feedback))
            }
            (Some(_), _) => format!("#{} retried", a.number),
            (None, Some(error)) => format!("#{} failed: {}", a.number, safe(error)),
            (None, None) => format!("#{} returned", a.number),
        })
        .collect()
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
    let max = app.state.pipeline.as_ref().map_or(0, |p| p.max_attempts);
    let edited = if attempt.is_some_and(|a| a.edited.is_some()) {
        " · edited"
    } else {
        ""
    };
    let mut lines = vec![
        Line::styled(
            clip(&status_label(app, phase.status), width),
            status_style(app, phase.status),
        ),
        Line::styled(
            clip(
                &if phase.attempts.is_empty() {
                    "not started".to_owned()
                } else {
                    format!("attempt {}/{max} · {elapsed}{edited}", phase.attempts.len())
                },
                width,
            ),
            app.theme.dim,
        ),
        Line::styled(clip(&usage_line(app, index, phase), width), app.theme.dim),
        Line::styled("─".repeat(width), app.theme.border),
    ];
    if let Some(a) = attempt.filter(|a| !a.specialists.is_empty()) {
        let names: Vec<&str> = a
            .specialists
            .iter()
            .map(|s| s.split(" (").next().unwrap_or(s))
            .collect();
        lines.push(Line::styled(
            clip(&format!("✦ {}", names.join(", ")), width),
            app.theme.badge,
        ));
    }
    for past in history(&phase.attempts) {
        lines.push(Line::styled(clip(&past, width), app.theme.dim));
    }
    if let Some(a) = attempt {
        lines.extend(tool_lines(app, a, width));
    }
    lines
}

fn phase_column(app: &App, index: usize, phase: &PhaseState, area: Rect, buf: &mut Buffer) {
    let focused = index == app.focus;
    let width = usize::from(area.width.saturating_sub(2));
    let block = Block::bordered()
        .border_type(if focused {
            BorderType::Thick
        } else {
            BorderType::Plain
        })
        .border_style(if focused {
            app.theme.border_focus
        } else {
            app.theme.border
        })
        .title(Span::styled(
            clip(&format!(" {} {} ", index + 1, phase.role), width),
            app.theme.title,
        ));
    let inner = block.inner(area);
    block.render(area, buf);
    let attempt = phase.current();
    let mut lines = column_header(app, index, phase, width);
    let rows = usize::from(inner.height).saturating_sub(lines.len());
    let body: Vec<Line<'static>> = match (phase.status, attempt) {
        (PhaseStatus::Pending, _) | (_, None) => pending_body(app, index, phase, width),
        (PhaseStatus::Running, Some(a)) => {
            let mut out = Vec::new();
            if let Some(retrying) = &a.retrying {
                out.extend(
                    wrap(&format!("↻ {retrying}"), width)
                        .into_iter()
                        .map(|l| Line::styled(l, app.theme.awaiting)),
                );
            }
            out.extend(task_lines(app, a, width));
            let room = rows.saturating_sub(out.len());
            // The latest words of the task that spoke last, else the answer.
            let latest = a
                .tasks
                .iter()
                .filter(|t| t.outcome.is_none())
                .map(|t| t.output.as_str())
                .next_back()
                .unwrap_or(&a.output);
            out.extend(tail(latest, width, room).into_iter().map(Line::from));
            out
        }
        (PhaseStatus::Failed, Some(a)) => {
            let error = a.error.as_deref().unwrap_or("failed");
            let mut out: Vec<Line<'static>> = wrap(error, width)
                .into_iter()
                .map(|l| Line::styled(l, app.theme.failed))
                .collect();
            if !a.output.is_empty() {
                out.push(Line::styled(
                    clip("── partial output ──", width),
                    app.theme.dim,
                ));
                let room = rows.saturating_sub(out.len());
                out.extend(
                    tail(&a.output, width, room)
                        .into_iter()
                        .map(|l| Line::styled(l, app.theme.dim)),
                );
            }
            out
        }
        (PhaseStatus::AwaitingGate | PhaseStatus::Approved, Some(_)) => {
            let skip = if focused { app.scroll } else { 0 };
            let attempt = phase.attempts.len() - 1;
            app.markdown_rows(index, attempt, width, false)
                .iter()
                .skip(skip)
                .take(rows)
                .cloned()
                .collect()
        }
    };
    lines.extend(body.into_iter().take(rows));
    Paragraph::new(lines).render(inner, buf);
}

/// Tokens (live while streaming: an estimate until the server reports) and
/// the phase's cost when its model has a price.
fn usage_line(app: &App, index: usize, phase: &PhaseState) -> String {
    let running = phase.status == PhaseStatus::Running;
    let mut line = match phase.current() {
        Some(a) if running && a.usage.total() == 0 => {
            // A plan run task by task streams into its tasks, not its output.
            let streamed: u64 = std::iter::once(a.output.as_str())
                .chain(a.tasks.iter().map(|t| t.output.as_str()))
                .map(crate::provider::estimate_tokens)
                .sum();
            format!("~{} tok", tokens(phase.usage.total() + streamed))
        }
        _ => format!("{} tok", tokens(phase.usage.total())),
    };
    if let Some(cost) = crate::cost::phase_cost(&app.state, index, &app.prices).filter(|c| *c > 0.0)
    {
        let _ = write!(line, " · ${cost:.4}");
    }
    line
}

fn pending_body(app: &App, index: usize, phase: &PhaseState, width: usize) -> Vec<Line<'static>> {
    let reads = app
        .state
        .pipeline
        .as_ref()
        .and_then(|p| p.phases.get(index))
        .map(|p| {
            p.inputs
                .iter()
                .filter_map(|id| app.state.phases.iter().find(|q| &q.id == id))
                .map(|q| q.artifact_name.clone())
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    let reads = if reads.is_empty() {
        "the request".to_owned()
    } else {
        reads.join(", ")
    };
    wrap(
        &format!("reads {reads}\nwrites {}", phase.artifact_name),
        width,
    )
    .into_iter()
    .map(|l| Line::styled(l, app.theme.dim))
    .collect()
}

/// Highlights every occurrence of `query` (any case) in a row.
fn highlight(line: Line<'static>, query: &str, style: Style) -> Line<'static> {
    let text: String = line.spans.iter().map(|s| s.content.as_ref()).collect();
    let lower = text.to_lowercase();
    let needle = query.to_lowercase();
    // Offsets in the lowercased text must be offsets in the text: every
    // character must keep its length (not so for `İ` or the Kelvin sign).
    let same_lengths = text
        .chars()
        .all(|c| c.to_lowercase().map(char::len_utf8).sum::<usize>() == c.len_utf8());
    if needle.is_empty() || !same_lengths || !lower.contains(&needle) {
        return line;
    }
    let mut spans = Vec::new();
    let mut offset = 0;
    for span in line.spans {
        let content = span.content.to_string();
        let end = offset + content.len();
        let mut cut = 0;
        let mut search_from = offset;
        while let Some(found) = lower[search_from..end].find(&needle) {
            let start = search_from + found - offset;
            let stop = (start + needle.len()).min(content.len());
            spans.push(Span::styled(content[cut..start].to_owned(), span.style));
            spans.push(Span::styled(content[start..stop].to_owned(), style));
            cut = stop;
            search_from = offset + stop;
            if search_from >= end {
                break;
            }
        }
        spans.push(Span::styled(content[cut..].to_owned(), span.style));
        offset = end;
    }
    Line::from(spans)
}

fn artifact(app: &App, index: usize, attempt: Option<usize>, area: Rect, buf: &mut Buffer) {
    let Some(phase) = app.state.phases.get(index) else {
        return;
    };
    let count = phase.attempts.len();
    let shown = attempt.unwrap_or(count.saturating_sub(1));
    let edited = phase
        .attempts
        .get(shown)
        .is_some_and(|a| a.edited.is_some());
    let which = if attempt.is_some() {
        format!("attempt {} of {count} (earlier)", shown + 1)
    } else {
        format!("attempt {count}")
    };
    let title = format!(
        " {} · {} · {which} · {}{} ",
        phase.artifact_name,
        phase.role,
        phase.status.as_str().replace('_', " "),
        if edited { " · edited" } else { "" }
    );
    let block = Block::bordered()
        .border_style(app.theme.border_focus)
        .title(Span::styled(safe(&title), app.theme.title));
    let inner = block.inner(area);
    block.render(area, buf);
    let rows = app.artifact_rows(usize::from(inner.width));
    let lines: Vec<Line<'static>> = rows
        .iter()
        .skip(app.scroll)
        .take(usize::from(inner.height))
        .cloned()
        .map(|l| match &app.search {
            Some(q) => highlight(l, q, app.theme.search_match),
            None => l,
        })
        .collect();
    Paragraph::new(lines).render(inner, buf);
}

/// The two texts a diff compares, with their labels.
fn diff_sides(phase: &PhaseState, base: DiffBase) -> Option<(String, &str, String, &str)> {
    let current = phase.current()?;
    let new = current.effective()?;
    match base {
        DiffBase::Draft => Some((
            format!("attempt {} as the agent wrote it", current.number),
            current.artifact.as_deref()?,
            format!("attempt {} as edited", current.number),
            new,
        )),
        DiffBase::PreviousAttempt => {
            let previous = phase.attempts.iter().rev().nth(1)?;
            Some((
                format!("attempt {}", previous.number),
                previous.effective()?,
                format!("attempt {}", current.number),
                new,
            ))
        }
    }
}

/// The rows of a diff as drawn (also used for scroll limits).
/// Kept between frames: diffing two artifacts is work in proportion to
/// their length, and they do not change while the diff is open.
pub fn diff_rows(
    app: &App,
    phase: usize,
    base: DiffBase,
    width: usize,
) -> std::sync::Arc<[Line<'static>]> {
    let Some(state) = app.state.phases.get(phase) else {
        return vec![Line::styled("nothing to compare", app.theme.dim)].into();
    };
    let Some((old_label, old, new_label, new)) = diff_sides(state, base) else {
        return vec![Line::styled("nothing to compare", app.theme.dim)].into();
    };
    let key = super::rows::RowsKey {
        phase,
        attempt: state.attempts.len(),
        text: match base {
            DiffBase::Draft => 3,
            DiffBase::PreviousAttempt => 4,
        },
        address: new.as_ptr() as usize,
        len: new.len() + old.len(),
        decisions: state.decisions.len(),
        width,
        with_decisions: false,
    };
    app.rows.get(key, || {
        lay_out_diff(app, (&old_label, old), (&new_label, new), width)
    })
}

fn lay_out_diff(
    app: &App,
    (old_label, old): (&str, &str),
    (new_label, new): (&str, &str),
    width: usize,
) -> Vec<Line<'static>> {
    let (mut lines, stat) = diff_lines(old, new, width, &app.theme);
    lines.insert(
        0,
        Line::styled(
            clip(
                &format!(
                    "{old_label} → {new_label}: +{} −{} lines",
                    stat.added, stat.removed
                ),
                width,
            ),
            app.theme.heading,
        ),
    );
    lines
}

fn diff(app: &App, phase: usize, base: DiffBase, area: Rect, buf: &mut Buffer) {
    let Some(state) = app.state.phases.get(phase) else {
        return;
    };
    let block = Block::bordered()
        .border_style(app.theme.border_focus)
        .title(Span::styled(
            safe(&format!(
                " diff · {} · {} ",
                state.artifact_name, state.role
            )),
            app.theme.title,
        ));
    let inner = block.inner(area);
    block.render(area, buf);
    let lines: Vec<Line<'static>> = diff_rows(app, phase, base, usize::from(inner.width))
        .iter()
        .skip(app.scroll)
        .take(usize::from(inner.height))
        .cloned()
        .collect();
    Paragraph::new(lines).render(inner, buf);
}

fn checkpoint(app: &App, area: Rect, buf: &mut Buffer) {
    let s = &app.state;
    let (text, style) = if let Some(notice) = &app.notice {
        (format!(" ! {}", safe(notice)), app.theme.notice)
    } else if let Some(gate) = &s.gate {
        let phase = &s.phases[gate.phase];
        let hint = if phase.status == PhaseStatus::Failed {
            String::new()
        } else {
            format!(" — {} delivered the {}", phase.role, phase.artifact_name)
        };
        match &gate.over_budget {
            Some(why) => (
                format!(" ⚠ Over budget ({why}) — {}", gate.question),
                app.theme.gate,
            ),
            None => (format!(" ▶ {}{hint} ", gate.question), app.theme.gate),
        }
    } else if let Some(outcome) = s.outcome {
        let approved = s
            .phases
            .iter()
            .filter(|p| p.status == PhaseStatus::Approved)
            .count();
        (
            format!(
                " ■ Session finished: {} · {approved}/{} phases approved · {} tokens",
                outcome.as_str(),
                s.phases.len(),
                s.usage.total()
            ),
            app.theme.approved,
        )
    } else if let Some(p) = s.phases.iter().find(|p| p.status == PhaseStatus::Running) {
        (
            format!(
                " {} {} is working on the {} (attempt {})…",
                SPINNER[app.frame % SPINNER.len()],
                p.role,
                p.artifact_name,
                p.attempts.len()
            ),
            app.theme.running,
        )
    } else if s.status == SessionStatus::Running && matches!(app.source, Source::Live(None)) {
        (
            " The session stopped; its log keeps everything so far.".into(),
            app.theme.dim,
        )
    } else {
        (String::new(), Style::new())
    };
    buf.set_style(area, style);
    Line::styled(clip(&text, usize::from(area.width)), style).render(area, buf);
}

/// The keys that do something now, as many as fit; help and quit always
/// show, at the end, so a narrow footer still says how to learn the rest.
fn hints(app: &App, area: Rect, buf: &mut Buffer) {
    let mut offered: Vec<(&str, &str, super::keymap::Act)> = Vec::new();
    for context in app.contexts() {
        for b in app.keymap.bindings.iter().filter(|b| b.context == context) {
            // A key a more specific context already claims is not offered twice.
            if let (Some(hint), Some(key)) = (&b.hint, b.keys.first())
                && app.available(b.act)
                && !offered.iter().any(|(k, ..)| k == key)
            {
                offered.push((key, hint, b.act));
            }
        }
    }
    let width = |(key, hint, _): &(&str, &str, super::keymap::Act)| {
        use unicode_width::UnicodeWidthStr;
        key.width() + hint.width() + 3
    };
    let (last, rest): (Vec<_>, Vec<_>) = offered
        .into_iter()
        .partition(|(.., act)| matches!(act, super::keymap::Act::Help | super::keymap::Act::Quit));
    let mut room = usize::from(area.width).saturating_sub(last.iter().map(width).sum());
    let fitting = rest.into_iter().take_while(|h| {
        let fits = width(h) <= room;
        room = room.saturating_sub(width(h));
        fits
    });
    let spans: Vec<Span> = fitting
        .chain(last)
        .flat_map(|(key, hint, _)| {
            [
                Span::styled(format!(" {key}"), app.theme.key),
                Span::styled(format!(" {hint} "), app.theme.dim),
            ]
        })
        .collect();
    Line::from(spans).render(area, buf);
}

/// A box of `width` x `height` in the middle of `area`.
pub(super) fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let width = width.min(area.width);
    let height = height.min(area.height);
    Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    }
}

fn help(app: &App, area: Rect, buf: &mut Buffer) {
    // The keys of the screen in front of the user; each screen's help
    // lists its own, so the box stays small enough to read.
    let mut lines = Vec::new();
    for context in app.contexts() {
        lines.push(Line::styled(context.name(), app.theme.heading));
        for b in app.keymap.bindings.iter().filter(|b| b.context == context) {
            lines.push(Line::from(vec![
                Span::styled(format!("  {:<20}", b.keys.join(" / ")), app.theme.key),
                Span::raw(b.desc.clone()),
            ]));
        }
    }
    lines.push(Line::styled(
        "other screens list their own keys · any key closes this help",
        app.theme.dim,
    ));
    // Two columns when the screen is wide enough, else as many rows as fit.
    let half = lines.len().div_ceil(2);
    let two_columns = area.width >= 140;
    let (width, height) = if two_columns {
        (
            area.width.min(150),
            u16::try_from(half + 2).unwrap_or(u16::MAX),
        )
    } else {
        (
            area.width.min(72),
            u16::try_from(lines.len() + 2).unwrap_or(u16::MAX),
        )
    };
    let rect = centered(area, width, height);
    Clear.render(rect, buf);
    let block = Block::bordered()
        .title(" Keys ")
        .border_style(app.theme.border_focus);
    let inner = block.inner(rect);
    block.render(rect, buf);
    if two_columns {
        let [left, right] = Layout::horizontal([Constraint::Fill(1); 2]).areas(inner);
        let second = lines.split_off(half);
        Paragraph::new(lines).render(left, buf);
        Paragraph::new(second).render(right, buf);
    } else {
        Paragraph::new(lines).render(inner, buf);
    }
}

fn confirm(app: &App, area: Rect, title: &str, text: &[&str], yes: &str, buf: &mut Buffer) {
    let rect = centered(area, 56, u16::try_from(text.len() + 4).unwrap_or(u16::MAX));
    Clear.render(rect, buf);
    let mut lines: Vec<Line<'static>> = text.iter().map(|t| Line::raw((*t).to_owned())).collect();
    lines.push(Line::raw(""));
    lines.push(Line::from(vec![
        Span::styled("y", app.theme.key),
        Span::raw(format!(" {yes} · any other key stays")),
    ]));
    Paragraph::new(lines)
        .block(
            Block::bordered()
                .title(title.to_owned())
                .border_style(app.theme.awaiting),
        )
        .render(rect, buf);
}

fn permission(
    app: &App,
    request: &crate::session::state::PermissionRequest,
    area: Rect,
    buf: &mut Buffer,
) {
    let role = app
        .state
        .phases
        .get(request.phase)
        .map_or("agent", |p| p.role.as_str());
    let width = area.width.saturating_sub(8).min(100);
    let inner = usize::from(width.saturating_sub(2));
    let mut lines = vec![
        Line::raw(clip(&format!("The {role} wants to run:"), inner)),
        Line::raw(""),
    ];
    // However long the command, the answers stay on screen: the box shows
    // as much of it as fits above them, and says what it left out.
    let room = usize::from(area.height).saturating_sub(12).max(1);
    let command = wrap(&format!("$ {}", request.detail), inner);
    let hidden = command.len().saturating_sub(room);
    for row in command.into_iter().take(room) {
        lines.push(Line::styled(row, app.theme.code));
    }
    if hidden > 0 {
        lines.push(Line::styled(
            format!("… {hidden} more lines"),
            app.theme.dim,
        ));
    }
    lines.push(Line::raw(""));
    for row in wrap(&format!("policy: {}", request.reason), inner)
        .into_iter()
        .take(2)
    {
        lines.push(Line::styled(row, app.theme.dim));
    }
    lines.push(Line::raw(""));
    let pattern = clip(&request.always, inner / 3);
    lines.push(Line::from(vec![
        Span::styled("y", app.theme.key),
        Span::raw(" once · "),
        Span::styled("n", app.theme.key),
        Span::raw(" deny · "),
        Span::styled("a", app.theme.key),
        Span::raw(format!(" always `{pattern}` this session")),
    ]));
    let height = u16::try_from(lines.len() + 2).unwrap_or(u16::MAX);
    let rect = centered(area, width, height);
    Clear.render(rect, buf);
    Paragraph::new(lines)
        .block(
            Block::bordered()
                .title(" Permission ")
                .border_style(app.theme.awaiting),
        )
        .render(rect, buf);
}

fn return_pick(app: &App, phase: usize, selected: usize, area: Rect, buf: &mut Buffer) {
    let from = &app.state.phases[phase];
    let height = u16::try_from(phase + 5).unwrap_or(u16::MAX);
    let rect = centered(area, 60, height);
    Clear.render(rect, buf);
    let mut lines = vec![
        Line::raw(clip(&format!("Return the {}'s work to:", from.role), 58)),
        Line::raw(""),
    ];
    for (i, p) in app.state.phases[..phase].iter().enumerate() {
        let marker = if i == selected { "▶ " } else { "  " };
        let style = if i == selected {
            app.theme.gate
        } else {
            Style::new()
        };
        lines.push(Line::styled(
            clip(
                &format!("{marker}{} {} ({})", i + 1, p.role, p.artifact_name),
                58,
            ),
            style,
        ));
    }
    lines.push(Line::styled(
        "later phases run again; their work stays in the history",
        app.theme.dim,
    ));
    Paragraph::new(lines)
        .block(
            Block::bordered()
                .title(" Return work ")
                .border_style(app.theme.border_focus),
        )
        .render(rect, buf);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_highlights_any_case_and_never_cuts_a_character() {
        let marked = Style::new().add_modifier(Modifier::REVERSED);
        let line = highlight(Line::from("Rate LIMIT and limit"), "limit", marked);
        let hits: Vec<&str> = line
            .spans
            .iter()
            .filter(|s| s.style == marked)
            .map(|s| s.content.as_ref())
            .collect();
        assert_eq!(hits, ["LIMIT", "limit"]);
        // Lowercasing `İ` and the Kelvin sign changes their length: the
        // row is left as it is rather than sliced inside a character.
        let tricky = Line::from("İİxK");
        assert_eq!(highlight(tricky.clone(), "x", marked), tricky);
    }
}
