//! Key events by name: the name a binding uses for a key (`"a"`,
//! `"enter"`, `"ctrl-c"`), and a key as a line of text takes it.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// The name a key event is bound by: `ctrl-`, `alt-` and `shift-` (in
/// that order; shift only on keys that are not letters) before the key.
#[expect(
    clippy::wildcard_enum_match_arm,
    reason = "crossterm's other keys (function keys, media keys, …) have no name a binding can use"
)]
pub fn key_name(key: &KeyEvent) -> Option<String> {
    let base = match key.code {
        KeyCode::Char(' ') => "space".to_owned(),
        KeyCode::Char(c) => c.to_string(),
        KeyCode::Enter => "enter".into(),
        KeyCode::Esc => "esc".into(),
        KeyCode::Left => "left".into(),
        KeyCode::Right => "right".into(),
        KeyCode::Up => "up".into(),
        KeyCode::Down => "down".into(),
        KeyCode::PageUp => "pageup".into(),
        KeyCode::PageDown => "pagedown".into(),
        KeyCode::Home => "home".into(),
        KeyCode::End => "end".into(),
        KeyCode::Tab => "tab".into(),
        KeyCode::Delete => "delete".into(),
        KeyCode::Backspace => "backspace".into(),
        _ => return None,
    };
    let mut name = String::new();
    if key.modifiers.contains(KeyModifiers::CONTROL) {
        name.push_str("ctrl-");
    }
    if key.modifiers.contains(KeyModifiers::ALT) {
        name.push_str("alt-");
    }
    // A shifted letter is its capital; shift is named on the other keys.
    if key.modifiers.contains(KeyModifiers::SHIFT) && !matches!(key.code, KeyCode::Char(_)) {
        name.push_str("shift-");
    }
    name.push_str(&base);
    Some(name)
}

/// A key as a line of text takes it, for the boxes that are typed in
/// (the request, the list's filter, a search): the keys that edit text,
/// and the rest as [`TextKey::Other`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextKey {
    /// A character, with or without modifiers (the box decides).
    Char(char),
    Backspace,
    Delete,
    Left,
    Right,
    Home,
    End,
    Enter,
    Esc,
    /// Any other key.
    Other,
}

impl TextKey {
    #[expect(
        clippy::wildcard_enum_match_arm,
        reason = "crossterm's other keys (arrows up and down, function keys, …) edit no text"
    )]
    pub fn of(key: &KeyEvent) -> Self {
        match key.code {
            KeyCode::Char(c) => Self::Char(c),
            KeyCode::Backspace => Self::Backspace,
            KeyCode::Delete => Self::Delete,
            KeyCode::Left => Self::Left,
            KeyCode::Right => Self::Right,
            KeyCode::Home => Self::Home,
            KeyCode::End => Self::End,
            KeyCode::Enter => Self::Enter,
            KeyCode::Esc => Self::Esc,
            _ => Self::Other,
        }
    }
}
