//! The board: one column per phase, or on narrow terminals a strip of every
//! phase over the focused one.
//!
//! A column shows the phase's status, attempt and time, the rejections
//! `max_attempts` still allows, tokens and cost, then what fits of its
//! work: what it reads and writes while pending, how earlier attempts
//! ended, the task list and the latest streamed lines while running, the
//! error when it failed, the artifact once delivered (the focused column
//! scrolls). The [`BoardView`] draws from the app's state and view state
//! (focus, scroll, spinner frame); a click on a column focuses it
//! (`App::click`). Every session string goes through the sanitizer
//! ([`super::text`]).

use std::fmt::Write as _;

use crossterm::event::MouseEvent;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Paragraph, Widget};

use super::act::SessionAct;
use super::app::{App, Screen};
use super::chrome::{duration, tokens};
use super::text::{clip, safe, tail, wrap};
use crate::session::{Attempt, AttemptOutcome, PhaseState, PhaseStatus};

pub(super) const SPINNER: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
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

pub(super) fn status_style(app: &App, status: PhaseStatus) -> Style {
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
fn tool_lines(app: &App, attempt: &Attempt, width: usize) -> Vec<Line<'static>> {
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
    let has_tools = app
        .state
        .pipeline
        .as_ref()
        .and_then(|p| p.phases.get(index))
        .is_some_and(|p| !p.tools.is_empty());
    if app.server.no_tools && has_tools {
        lines.push(Line::styled(
            clip("no tools: the server ignores them", width),
            app.theme.awaiting,
        ));
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
fn specialist_lines(phase: &PhaseState, a: &crate::session::Attempt) -> Vec<(String, bool)> {
    let mut pasted = Vec::new();
    let mut consulted = Vec::new();
    for engaged in &a.specialists {
        let name = engaged.split(" (").next().unwrap_or(engaged);
        // The advice this attempt was given: asked for it, or standing
        // from an earlier attempt.
        let advice = phase
            .advice
            .iter()
            .rev()
            .find(|x| x.specialist == name && x.attempt <= a.number);
        match advice {
            Some(x) if x.attempt == a.number || x.given() => {
                consulted.push((format!("✦ {name}: {}", x.summary()), !x.given()));
            }
            Some(_) | None => pasted.push(name),
        }
    }
    let mut out = Vec::new();
    if !pasted.is_empty() {
        out.push((format!("✦ {}", pasted.join(", ")), false));
    }
    out.extend(consulted);
    out
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
            // The latest words of the task that spoke last, else the
            // answer: as logged, and what streamed since.
            let latest = a
                .tasks
                .iter()
                .filter(|t| t.outcome.is_none())
                .map(|t| (t.output.as_str(), Some(t.task)))
                .next_back()
                .unwrap_or((&a.output, None));
            let latest = app.streamed.shown(latest.0, &phase.id, a.number, latest.1);
            out.extend(tail(&latest, width, room).into_iter().map(Line::from));
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

/// Draws the board of the app's session.
#[derive(Clone, Copy, Debug)]
pub struct BoardView<'a> {
    pub app: &'a App,
}

impl Widget for BoardView<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let app = self.app;
        if app.state.phases.is_empty() {
            Paragraph::new("starting…")
                .style(app.theme.dim)
                .render(area, buf);
        } else if is_narrow(area.width, app.state.phases.len()) {
            narrow_board(app, area, buf);
        } else {
            board(app, area, buf);
        }
    }
}

impl App {
    /// The acts the board takes while it is on show: left and right move
    /// the focus, `Enter` opens the focused phase's artifact, `Tab` its
    /// change, and in a replay top and bottom seek to either end. Whether
    /// `act` was one of them.
    pub(super) fn board_act(&mut self, act: SessionAct) -> bool {
        if act == SessionAct::Left || act == SessionAct::Right {
            self.step_phase(act);
        } else if act == SessionAct::Open {
            if self.can(SessionAct::Open) {
                self.screen = Screen::Artifact {
                    phase: self.focus,
                    attempt: None,
                };
                self.scroll = 0;
            }
        } else if act == SessionAct::Changes {
            self.show_changes();
        } else if (act == SessionAct::Top || act == SessionAct::Bottom) && self.is_replay() {
            self.seek_end(act == SessionAct::Bottom);
        } else {
            return false;
        }
        true
    }

    /// A click on the board: focuses the column under it; whether the
    /// view changed.
    pub(super) fn click(&mut self, mouse: MouseEvent) -> bool {
        let count = self.state.phases.len();
        let (width, _) = self.size;
        // The board starts below the status bar and the request line.
        let narrow = is_narrow(width, count);
        let on_strip = narrow && mouse.row == 2;
        if count == 0 || mouse.row < 2 || (narrow && !on_strip) {
            return false;
        }
        let column = usize::from(mouse.column) * count / usize::from(width.max(1));
        if column >= count || column == self.focus {
            return false;
        }
        self.focus = column;
        self.follow = false;
        self.scroll = 0;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Update;
    use crate::tui::Theme;
    use crate::tui::app::Source;
    use crossterm::event::{KeyModifiers, MouseButton, MouseEventKind};

    fn click(column: u16, row: u16) -> MouseEvent {
        MouseEvent {
            kind: MouseEventKind::Down(MouseButton::Left),
            column,
            row,
            modifiers: KeyModifiers::NONE,
        }
    }

    fn app_with_phases(width: u16) -> App {
        let event =
            crate::session::testing::numbered([crate::session::testing::started("r", "offline")])
                .remove(0);
        let mut app = App::new(Source::Live(None), Theme::mono());
        app.on_update(Update::Event(event));
        app.size = (width, 30);
        app
    }

    #[test]
    fn a_click_focuses_the_column_under_it() {
        let mut app = app_with_phases(180);
        app.on_mouse(&click(95, 10));
        assert_eq!(app.focus, 3);
        assert!(!app.follow);
        app.on_mouse(&click(5, 0));
        assert_eq!(app.focus, 3, "the status bar is not a column");
    }

    /// Consulted specialists get a line each with what they said; one
    /// that failed says the role went on without it; pasted ones share a
    /// line; advice standing from an earlier attempt still counts.
    #[test]
    fn the_card_counts_each_consulted_specialists_points() {
        let advice =
            |attempt, name: &str, text: &str, error: Option<&str>| crate::session::Advice {
                attempt,
                specialist: name.into(),
                keyword: name.into(),
                text: text.into(),
                error: error.map(Into::into),
                ..crate::session::Advice::default()
            };
        let phase = PhaseState {
            advice: vec![
                advice(1, "graphql", "- a\n- b\n- c\n", None),
                advice(2, "security", "", Some("HTTP 500")),
            ],
            ..PhaseState::default()
        };
        let attempt = Attempt {
            number: 2,
            specialists: vec![
                "billing (invoice)".into(),
                "graphql (graphql)".into(),
                "security (auth)".into(),
                "redis (cache)".into(),
            ],
            ..Attempt::default()
        };
        assert_eq!(
            specialist_lines(&phase, &attempt),
            [
                ("✦ billing, redis".to_owned(), false),
                ("✦ graphql: 3 points".to_owned(), false),
                ("✦ security: no advice, went on without".to_owned(), true),
            ]
        );
    }

    /// The status protocol on the card: how the work stands and at which
    /// step, what blocks it (in the failure style), then the checklist.
    #[test]
    fn a_status_report_shows_its_state_step_and_blockers() {
        let app = app_with_phases(180);
        let attempt = Attempt {
            checklist: Some(crate::session::Checklist {
                agent: Some("backend-developer".into()),
                status: Some("blocked".into()),
                step: Some("Cache integration".into()),
                completed: vec!["Data models".into()],
                pending: vec!["Queue setup".into()],
                blockers: vec!["No Redis in the \u{1b}[31mworkspace".into()],
            }),
            ..Attempt::default()
        };
        let lines = tool_lines(&app, &attempt, 40);
        let text: Vec<String> = lines.iter().map(ToString::to_string).collect();
        assert_eq!(
            text[..4],
            [
                "● blocked · Cache integration",
                "⚠ No Redis in the workspace",
                "☑ Data models",
                "☐ Queue setup",
            ]
        );
        assert_eq!(lines[1].style, app.theme.failed);
    }

    #[test]
    fn cards_of_roles_with_tools_say_when_the_server_cannot_call_them() {
        let mut app = app_with_phases(180);
        let header = |app: &App, index: usize| {
            column_header(app, index, &app.state.phases[index], 40)
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        };
        let implement = app
            .state
            .phases
            .iter()
            .position(|p| p.id == "implement")
            .expect("implement");
        assert!(!header(&app, implement).contains("no tools"));
        app.server.no_tools = true;
        assert!(
            header(&app, implement).contains("no tools: the server ignores them"),
            "{}",
            header(&app, implement)
        );
    }

    #[test]
    fn on_a_narrow_board_only_the_strip_is_clickable() {
        let mut app = app_with_phases(90);
        app.on_mouse(&click(80, 10));
        assert_eq!(app.focus, 0);
        app.on_mouse(&click(80, 2));
        assert_eq!(app.focus, 5);
    }
}
