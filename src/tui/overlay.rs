//! The boxes over the screen that take the keys while they are open: the
//! key help, the handoff matrix, the quit and abort confirmations, the
//! search line, the return and utility pickers and the text box (notes, feedback, an
//! edit, a reason); and the permission prompt, open while a request waits.
//!
//! An [`Overlay`] owns what its box needs (the query typed so far, the phase
//! picked, the text being written). [`Overlay::on_key`] consumes a key and
//! says what came of it ([`Closing`]); the app carries that out (sends the
//! decision, starts the search, quits), so no box sends anything itself.
//! Each box draws itself over the screen ([`Overlay::render`]) and names
//! the keymap contexts whose keys the footer offers while it is open
//! ([`Overlay::contexts`]).

use crossterm::event::KeyEvent;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Widget};

use super::app::App;
use super::compose::{self, Compose, Purpose};
use super::keymap::{Act, Context, Keymap, TextKey, context_acts};
use super::text::{clip, safe, wrap};
use crate::session::PhaseStatus;
use crate::session::fold::PermissionRequest;

/// A box over the screen that takes the keys.
#[derive(Debug)]
pub enum Overlay {
    Help,
    /// The handoff matrix.
    Matrix,
    ConfirmQuit,
    /// Whether to abort, asked at the gate opened at event `gate`.
    ConfirmAbort {
        gate: u64,
    },
    /// Typing a search in the artifact view.
    SearchInput(String),
    /// Choosing where work returns to; `selected` indexes earlier phases.
    /// `gate` is the `seq` of the gate it was opened at.
    ReturnPick {
        phase: usize,
        selected: usize,
        gate: u64,
    },
    Compose(Box<Compose>),
    /// Choosing a utility role to summon at the gate.
    UtilityPick(super::summon::Pick),
}

/// What a key did to an open box.
#[derive(Debug)]
pub enum Closing {
    /// The box stays open, as it is now.
    Open(Overlay),
    /// The box closed and nothing else happens.
    Closed,
    /// Quitting was confirmed.
    Quit,
    /// Aborting the session was confirmed at the gate opened at `seq`.
    Abort(u64),
    /// A search was typed; empty for none.
    Search(String),
    /// Work returns to this earlier phase (its reason comes next), from
    /// the gate opened at event `gate`.
    ReturnTo { to: usize, gate: u64 },
    /// The text box was submitted with this text.
    Submitted(Purpose, Option<u64>, String),
    /// Summon the pipeline's utility number `utility` at the gate opened
    /// at event `gate`.
    Summon { utility: usize, gate: u64 },
}

/// The parts of the screen a box may draw over.
#[derive(Clone, Copy, Debug)]
pub struct Areas {
    /// The whole screen.
    pub screen: Rect,
    /// The board, artifact or diff.
    pub main: Rect,
    /// The checkpoint bar.
    pub bar: Rect,
}

impl Overlay {
    /// Takes one key; the box is consumed and comes back in
    /// [`Closing::Open`] while it stays open.
    pub fn on_key(self, key: &KeyEvent, keymap: &Keymap) -> Closing {
        match self {
            Self::Compose(mut compose) => match compose.on_key(key, keymap) {
                compose::Typed::Editing => Closing::Open(Self::Compose(compose)),
                compose::Typed::Cancelled => Closing::Closed,
                compose::Typed::Submitted(text) => {
                    Closing::Submitted(compose.purpose, compose.gate, text)
                }
            },
            // The quit question also takes the keys that quit.
            Self::ConfirmQuit => match keymap.act_in(Context::Confirm, key) {
                Some(Confirm::Confirm | Confirm::Quit) => Closing::Quit,
                None => Closing::Closed,
            },
            Self::ConfirmAbort { gate } => match keymap.act_in(Context::Confirm, key) {
                Some(Confirm::Confirm) => Closing::Abort(gate),
                Some(Confirm::Quit) | None => Closing::Closed,
            },
            Self::Help | Self::Matrix => Closing::Closed,
            Self::SearchInput(query) => search_key(key, query),
            Self::ReturnPick {
                phase,
                selected,
                gate,
            } => pick_key(key, keymap, (phase, gate), selected),
            Self::UtilityPick(pick) => super::summon::pick_key(key, keymap, pick),
        }
    }

    /// The keymap contexts in force while the box is open, when it has its
    /// own; `None` leaves the screen's.
    pub fn contexts(&self) -> Option<Vec<Context>> {
        match self {
            Self::Compose(_) => Some(vec![Context::Editor]),
            Self::ReturnPick { .. } | Self::UtilityPick(_) => Some(vec![Context::Picker]),
            Self::Help
            | Self::Matrix
            | Self::ConfirmQuit
            | Self::ConfirmAbort { .. }
            | Self::SearchInput(_) => None,
        }
    }

    /// Draws the box over the screen.
    pub fn render(&self, app: &App, areas: Areas, buf: &mut Buffer) {
        let area = areas.screen;
        match self {
            Self::Help => help(app, area, buf),
            Self::Matrix => super::matrix::render(app, area, buf),
            Self::ConfirmQuit => {
                let mut text = what_quitting_stops(app);
                text.push("Quit now? The session log keeps everything so far.".to_owned());
                let text: Vec<&str> = text.iter().map(String::as_str).collect();
                confirm(app, area, " Quit? ", &text, "quit", buf);
            }
            Self::ConfirmAbort { .. } => confirm(
                app,
                area,
                " Abort? ",
                &[
                    "Abort the session here?",
                    "No later phase will run; the log keeps everything.",
                ],
                "abort",
                buf,
            ),
            Self::SearchInput(query) => {
                // The line is the search's alone: whatever the bar said goes.
                Clear.render(areas.bar, buf);
                buf.set_style(areas.bar, app.theme.gate);
                Line::styled(format!(" /{}▏", safe(query)), app.theme.gate).render(areas.bar, buf);
            }
            Self::ReturnPick {
                phase, selected, ..
            } => {
                return_pick(app, *phase, *selected, area, buf);
            }
            Self::UtilityPick(pick) => super::summon::render(app, *pick, area, buf),
            Self::Compose(compose) => {
                let rect = compose.area(areas.main);
                compose.render(rect, buf, &app.theme, &app.keymap);
            }
        }
    }
}

context_acts! {
    /// The keys of a question (quit, abort, discard): yes, or the keys
    /// that also quit when the question is whether to quit.
    pub enum Confirm {
        Confirm,
        Quit,
    }
}

/// The search line: typing edits the query, Enter searches, Esc leaves.
fn search_key(key: &KeyEvent, mut query: String) -> Closing {
    match TextKey::of(key) {
        TextKey::Enter => return Closing::Search(query),
        TextKey::Esc => return Closing::Closed,
        TextKey::Backspace => {
            query.pop();
        }
        TextKey::Char(c) => query.push(c),
        TextKey::Delete
        | TextKey::Left
        | TextKey::Right
        | TextKey::Home
        | TextKey::End
        | TextKey::Other => {}
    }
    Closing::Open(Overlay::SearchInput(query))
}

/// The return picker: up and down choose an earlier phase, submit picks it.
fn pick_key(
    key: &KeyEvent,
    keymap: &Keymap,
    (phase, gate): (usize, u64),
    selected: usize,
) -> Closing {
    // A phase's number, as the list shows it, picks it at once.
    if let crossterm::event::KeyCode::Char(digit @ '1'..='9') = key.code
        && key.modifiers.is_empty()
    {
        let to = (digit as usize) - ('1' as usize);
        if to < phase {
            return Closing::ReturnTo { to, gate };
        }
    }
    let selected = match keymap.act_in(Context::Picker, key) {
        Some(Pick::Down) => (selected + 1).min(phase.saturating_sub(1)),
        Some(Pick::Up) => selected.saturating_sub(1),
        Some(Pick::Submit) => return Closing::ReturnTo { to: selected, gate },
        Some(Pick::Back) => return Closing::Closed,
        None => selected,
    };
    Closing::Open(Overlay::ReturnPick {
        phase,
        selected,
        gate,
    })
}

context_acts! {
    /// The return picker's keys.
    enum Pick {
        Down,
        Up,
        Submit,
        Back,
    }
}

/// A box of `width` x `height` in the middle of `area`.
pub fn centered(area: Rect, width: u16, height: u16) -> Rect {
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

/// What the quit prompt says is going on: agents at work only when a
/// phase runs; at an open gate, that nothing runs and the gate waits.
fn what_quitting_stops(app: &App) -> Vec<String> {
    let state = &app.state;
    if state
        .phases
        .iter()
        .any(|p| p.status == PhaseStatus::Running)
    {
        vec!["Agents are still working.".to_owned()]
    } else if let Some(phase) = state.gate.as_ref().and_then(|g| state.phases.get(g.phase)) {
        vec![
            "Nothing is running.".to_owned(),
            format!("The {}'s checkpoint waits for you.", safe(&phase.role)),
        ]
    } else {
        vec!["The session is not finished.".to_owned()]
    }
}

fn confirm(app: &App, area: Rect, title: &str, text: &[&str], yes: &str, buf: &mut Buffer) {
    let rect = centered(area, 56, u16::try_from(text.len() + 4).unwrap_or(u16::MAX));
    Clear.render(rect, buf);
    let mut lines: Vec<Line<'static>> = text.iter().map(|t| Line::raw((*t).to_owned())).collect();
    lines.push(Line::raw(""));
    lines.push(Line::from(vec![
        Span::styled(
            app.keymap
                .label(&[Context::Confirm], Act::Confirm)
                .to_owned(),
            app.theme.key,
        ),
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

/// The permission prompt: what the agent wants to run, why it is asked,
/// and the answers.
pub fn permission(app: &App, request: &PermissionRequest, area: Rect, buf: &mut Buffer) {
    let role = app
        .state
        .phases
        .get(request.phase)
        .map_or("agent", |p| p.role.as_str());
    let width = area.width.saturating_sub(8).min(100);
    let inner = usize::from(width.saturating_sub(2));
    // A write (the write policy asks) names the file; a command is shown
    // as typed at a prompt.
    let (wants, prompt) = if request.tool == "write_file" {
        ("write", "")
    } else {
        ("run", "$ ")
    };
    let mut lines = vec![
        Line::raw(clip(&format!("The {role} wants to {wants}:"), inner)),
        Line::raw(""),
    ];
    // However long the command, the answers stay on screen: the box shows
    // as much of it as fits above them, and says what it left out.
    let room = usize::from(area.height).saturating_sub(12).max(1);
    let command = wrap(&format!("{prompt}{}", request.detail), inner);
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
    let key = |act| {
        Span::styled(
            app.keymap.label(&[Context::Permission], act).to_owned(),
            app.theme.key,
        )
    };
    lines.push(Line::from(vec![
        key(Act::PermitOnce),
        Span::raw(" once · "),
        key(Act::Deny),
        Span::raw(" deny · "),
        key(Act::PermitAlways),
        Span::raw(format!(" always `{pattern}` this session")),
    ]));
    framed(
        lines,
        (area, width),
        " Permission ",
        app.theme.awaiting,
        buf,
    );
}

/// Draws `lines` in a bordered box `width` wide and as tall as they are,
/// in the middle of `area`, over what is there.
pub fn framed(
    lines: Vec<Line<'static>>,
    (area, width): (Rect, u16),
    title: &'static str,
    border: Style,
    buf: &mut Buffer,
) {
    let height = u16::try_from(lines.len() + 2).unwrap_or(u16::MAX);
    let rect = centered(area, width, height);
    Clear.render(rect, buf);
    Paragraph::new(lines)
        .block(Block::bordered().title(title).border_style(border))
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
