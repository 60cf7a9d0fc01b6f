//! Drawing: `impl Widget for &App`, a pure function of the app's state.
//!
//! The screen is a status bar, the request, the board (one column per
//! phase) or a full-screen artifact, the checkpoint bar and the key hints.
//! Every string from a session goes through [`super::text`]; nothing here
//! changes state or performs I/O.

use chrono::{DateTime, Utc};
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Paragraph, Widget};

use super::app::{App, Modal, Screen, Source};
use super::keymap::Context;
use super::text::{clip, markdown, safe, tail, wrap};
use crate::session::{PhaseState, PhaseStatus, SessionStatus};

const SPINNER: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
/// Rows above the text in a column: status, attempt and time, tokens, rule.
const COLUMN_HEADER: usize = 4;

/// Sizes derived from the terminal size, shared by drawing and scrolling.
#[derive(Clone, Copy, Debug)]
pub struct Geometry {
    pub text_width: usize,
    pub text_height: usize,
}

impl Geometry {
    pub fn of(app: &App, (width, height): (u16, u16)) -> Self {
        let main_height = usize::from(height.saturating_sub(4));
        match app.screen {
            Screen::Board => {
                let columns = app.state.phases.len().max(1);
                Self {
                    text_width: (usize::from(width) / columns).saturating_sub(2).max(1),
                    text_height: main_height.saturating_sub(2 + COLUMN_HEADER).max(1),
                }
            }
            Screen::Artifact { .. } => Self {
                text_width: usize::from(width).saturating_sub(2).max(1),
                text_height: main_height.saturating_sub(2).max(1),
            },
        }
    }
}

impl Widget for &App {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let [status, request, main, bar, footer] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Length(1),
            Constraint::Fill(1),
            Constraint::Length(1),
            Constraint::Length(1),
        ])
        .areas(area);
        status_bar(self, status, buf);
        Line::from(vec![
            Span::styled(" request ", self.theme.dim),
            Span::raw(safe(&self.state.request)),
        ])
        .render(request, buf);
        match self.screen {
            Screen::Board => board(self, main, buf),
            Screen::Artifact { phase } => artifact(self, phase, main, buf),
        }
        checkpoint(self, bar, buf);
        hints(self, footer, buf);
        match self.modal {
            Some(Modal::Help) => help(self, area, buf),
            Some(Modal::ConfirmQuit) => confirm_quit(self, area, buf),
            None => {}
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
    let mut spans = vec![
        Span::raw(" handoff "),
        Span::styled(provider, app.theme.badge),
        Span::raw(format!(
            " {} │ {} tokens {elapsed}│ model {} ",
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

fn status_style(app: &App, status: PhaseStatus) -> Style {
    match status {
        PhaseStatus::Pending => app.theme.pending,
        PhaseStatus::Running => app.theme.running,
        PhaseStatus::AwaitingGate => app.theme.awaiting,
        PhaseStatus::Approved => app.theme.approved,
        PhaseStatus::Failed => app.theme.failed,
    }
}

fn status_label(app: &App, status: PhaseStatus) -> String {
    match status {
        PhaseStatus::Pending => "· pending".into(),
        PhaseStatus::Running => format!("{} running", SPINNER[app.frame % SPINNER.len()]),
        PhaseStatus::AwaitingGate => "? awaiting you".into(),
        PhaseStatus::Approved => "✓ approved".into(),
        PhaseStatus::Failed => "✗ failed".into(),
    }
}

fn board(app: &App, area: Rect, buf: &mut Buffer) {
    let phases = &app.state.phases;
    if phases.is_empty() {
        Paragraph::new("starting…")
            .style(app.theme.dim)
            .render(area, buf);
        return;
    }
    let columns = Layout::horizontal(vec![Constraint::Fill(1); phases.len()]).split(area);
    for (index, (phase, column)) in phases.iter().zip(columns.iter()).enumerate() {
        phase_column(app, index, phase, *column, buf);
    }
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
        Line::styled(
            clip(
                &if phase.attempts.is_empty() {
                    "not started".to_owned()
                } else {
                    format!("attempt {} · {elapsed}", phase.attempts.len())
                },
                width,
            ),
            app.theme.dim,
        ),
        Line::styled(
            clip(&format!("{} tok", tokens(phase.usage.total())), width),
            app.theme.dim,
        ),
        Line::styled("─".repeat(width), app.theme.border),
    ];
    let rows = usize::from(inner.height).saturating_sub(COLUMN_HEADER);
    let body: Vec<Line<'static>> = match (phase.status, attempt) {
        (PhaseStatus::Pending, _) | (_, None) => {
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
        (PhaseStatus::Running, Some(a)) => tail(&a.output, width, rows)
            .into_iter()
            .map(Line::from)
            .collect(),
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
        (PhaseStatus::AwaitingGate | PhaseStatus::Approved, Some(a)) => {
            let text = a.effective().unwrap_or(&a.output);
            let skip = if focused { app.scroll } else { 0 };
            markdown(text, width, &app.theme)
                .into_iter()
                .skip(skip)
                .collect()
        }
    };
    lines.extend(body.into_iter().take(rows));
    Paragraph::new(lines).render(inner, buf);
}

fn artifact(app: &App, index: usize, area: Rect, buf: &mut Buffer) {
    let Some(phase) = app.state.phases.get(index) else {
        return;
    };
    let attempt = phase.current();
    let edited = attempt.is_some_and(|a| a.edited.is_some());
    let title = format!(
        " {} · {} · attempt {} · {}{} ",
        phase.artifact_name,
        phase.role,
        phase.attempts.len(),
        phase.status.as_str().replace('_', " "),
        if edited { " · edited" } else { "" }
    );
    let block = Block::bordered()
        .border_style(app.theme.border_focus)
        .title(Span::styled(safe(&title), app.theme.title));
    let inner = block.inner(area);
    block.render(area, buf);
    let text = attempt.map_or("", |a| a.effective().unwrap_or(&a.output));
    let lines: Vec<Line<'static>> = markdown(text, usize::from(inner.width), &app.theme)
        .into_iter()
        .skip(app.scroll)
        .take(usize::from(inner.height))
        .collect();
    Paragraph::new(lines).render(inner, buf);
}

fn checkpoint(app: &App, area: Rect, buf: &mut Buffer) {
    let s = &app.state;
    let (text, style) = if let Some(notice) = &app.notice {
        (format!(" ! {}", safe(notice)), app.theme.awaiting)
    } else if let Some(gate) = &s.gate {
        let phase = &s.phases[gate.phase];
        let hint = if phase.status == PhaseStatus::Failed {
            String::new()
        } else {
            format!(" — {} delivered the {}", phase.role, phase.artifact_name)
        };
        (format!(" ▶ {}{hint} ", gate.question), app.theme.gate)
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

fn hints(app: &App, area: Rect, buf: &mut Buffer) {
    let contexts: &[Context] = match (app.screen, app.is_replay()) {
        (Screen::Board, false) => &[Context::Board],
        (Screen::Board, true) => &[Context::Replay, Context::Board],
        (Screen::Artifact { .. }, _) => &[Context::Artifact],
    };
    let mut spans = Vec::new();
    for context in contexts {
        for b in app.keymap.bindings.iter().filter(|b| b.context == *context) {
            if let (Some(hint), Some(key)) = (b.hint, b.keys.first())
                && app.available(b.act)
            {
                spans.push(Span::styled(format!(" {key}"), app.theme.key));
                spans.push(Span::styled(format!(" {hint} "), app.theme.dim));
            }
        }
    }
    Line::from(spans).render(area, buf);
}

/// A box of `width` x `height` in the middle of `area`.
fn centered(area: Rect, width: u16, height: u16) -> Rect {
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
    let mut lines = Vec::new();
    for context in [Context::Board, Context::Artifact, Context::Replay] {
        lines.push(Line::styled(context.title(), app.theme.heading));
        for b in app.keymap.bindings.iter().filter(|b| b.context == context) {
            lines.push(Line::from(vec![
                Span::styled(format!("  {:<20}", b.keys.join(" / ")), app.theme.key),
                Span::raw(b.desc),
            ]));
        }
        lines.push(Line::raw(""));
    }
    lines.push(Line::styled("any key closes this help", app.theme.dim));
    let height = u16::try_from(lines.len() + 2).unwrap_or(u16::MAX);
    let rect = centered(area, 68, height);
    Clear.render(rect, buf);
    Paragraph::new(lines)
        .block(
            Block::bordered()
                .title(" Keys ")
                .border_style(app.theme.border_focus),
        )
        .render(rect, buf);
}

fn confirm_quit(app: &App, area: Rect, buf: &mut Buffer) {
    let rect = centered(area, 52, 6);
    Clear.render(rect, buf);
    Paragraph::new(vec![
        Line::raw("Agents are still working."),
        Line::raw("Quit now? The session log keeps everything so far."),
        Line::raw(""),
        Line::from(vec![
            Span::styled("y", app.theme.key),
            Span::raw(" quit · any other key stays"),
        ]),
    ])
    .block(
        Block::bordered()
            .title(" Quit? ")
            .border_style(app.theme.awaiting),
    )
    .render(rect, buf);
}
