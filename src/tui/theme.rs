//! Named styles for every part of the screen.
//!
//! The default theme uses only the 16 ANSI colours, so it follows the user's
//! terminal palette; `mono` uses no colour at all (and is what `NO_COLOR`
//! selects), marking state with bold, dim and reverse instead.

use ratatui::style::{Color, Modifier, Style};

/// Every style the UI uses, by what it is for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Theme {
    pub border: Style,
    pub border_focus: Style,
    pub title: Style,
    pub dim: Style,
    pub pending: Style,
    pub running: Style,
    pub awaiting: Style,
    pub approved: Style,
    pub failed: Style,
    /// The checkpoint bar while a gate is open.
    pub gate: Style,
    pub status_bar: Style,
    /// The label that says which provider runs.
    pub badge: Style,
    pub key: Style,
    pub heading: Style,
    pub code: Style,
}

impl Theme {
    /// The 16-colour default.
    pub fn ansi() -> Self {
        let fg = |c| Style::new().fg(c);
        Self {
            border: fg(Color::DarkGray),
            border_focus: fg(Color::Cyan).add_modifier(Modifier::BOLD),
            title: Style::new().add_modifier(Modifier::BOLD),
            dim: fg(Color::DarkGray),
            pending: fg(Color::DarkGray),
            running: fg(Color::Cyan),
            awaiting: fg(Color::Yellow).add_modifier(Modifier::BOLD),
            approved: fg(Color::Green),
            failed: fg(Color::Red).add_modifier(Modifier::BOLD),
            gate: Style::new()
                .fg(Color::Black)
                .bg(Color::Yellow)
                .add_modifier(Modifier::BOLD),
            status_bar: Style::new().fg(Color::White).bg(Color::Blue),
            badge: Style::new().fg(Color::Black).bg(Color::Magenta),
            key: fg(Color::Cyan).add_modifier(Modifier::BOLD),
            heading: fg(Color::Blue).add_modifier(Modifier::BOLD),
            code: fg(Color::Green),
        }
    }

    /// No colour: state shown by weight and reverse video.
    pub fn mono() -> Self {
        let m = |modifier| Style::new().add_modifier(modifier);
        Self {
            border: Style::new(),
            border_focus: m(Modifier::BOLD),
            title: m(Modifier::BOLD),
            dim: m(Modifier::DIM),
            pending: m(Modifier::DIM),
            running: m(Modifier::BOLD),
            awaiting: m(Modifier::BOLD | Modifier::UNDERLINED),
            approved: Style::new(),
            failed: m(Modifier::BOLD | Modifier::REVERSED),
            gate: m(Modifier::REVERSED | Modifier::BOLD),
            status_bar: m(Modifier::REVERSED),
            badge: m(Modifier::BOLD),
            key: m(Modifier::BOLD),
            heading: m(Modifier::BOLD),
            code: m(Modifier::DIM),
        }
    }

    /// A built-in theme by name; `no_color` forces `mono`.
    pub fn named(name: &str, no_color: bool) -> Result<Self, String> {
        let theme = match name {
            "default" => Self::ansi(),
            "mono" => Self::mono(),
            other => return Err(format!("unknown theme `{other}` (built in: default, mono)")),
        };
        Ok(if no_color { Self::mono() } else { theme })
    }
}
