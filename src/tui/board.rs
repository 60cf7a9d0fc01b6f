//! The board: one column per phase, or on narrow terminals a strip of every
//! phase over the focused one.
//!
//! A column shows the phase's status, attempt and time, the rejections
//! `max_attempts` still allows, tokens and cost, then what fits of its
//! work: what it reads and writes while pending, how earlier attempts
//! ended, the task list and the latest streamed lines while running, the
//! error when it failed, the artifact once delivered (the focused column
//! scrolls). The rows above a column's text are its card
//! ([`super::card`]). The [`BoardView`] draws from the app's state and view state
//! (focus, scroll, spinner frame); a click on a column focuses it
//! (`App::click`). Every session string goes through the sanitizer
//! ([`super::text`]).

use crossterm::event::MouseEvent;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Paragraph, Widget};

use super::act::SessionAct;
use super::app::{App, Screen};
use super::card::{column_header, task_lines};
use super::text::{clip, tail, wrap};
use crate::session::{PhaseState, PhaseStatus};

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

pub(super) fn status_label(app: &App, status: PhaseStatus) -> String {
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

fn pending_body(app: &App, index: usize, phase: &PhaseState, width: usize) -> Vec<Line<'static>> {
    let declared = app.state.pipeline.as_ref();
    let mut reads: Vec<&str> = Vec::new();
    for (_, names) in declared.map(|p| p.reads(index)).unwrap_or_default() {
        for name in names {
            if !reads.contains(&name) {
                reads.push(name);
            }
        }
    }
    let reads = if reads.is_empty() {
        "the request".to_owned()
    } else {
        reads.join(", ")
    };
    let writes = declared.and_then(|p| p.phases.get(index)).map_or_else(
        || phase.artifact_name.clone(),
        |p| p.output_names().join(", "),
    );
    wrap(&format!("reads {reads}\nwrites {writes}"), width)
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
    use crate::session::Attempt;
    use crate::tui::Theme;
    use crate::tui::app::Source;
    use crate::tui::card::{specialist_lines, tool_lines};
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
        app.server.no_tools = vec!["implement".to_owned()];
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
