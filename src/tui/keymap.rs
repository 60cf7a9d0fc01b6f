//! Key bindings: one table that drives key handling, the footer hints and the
//! help screen, so the three can never disagree.
//!
//! A binding maps a key name (`"a"`, `"enter"`, `"left"`, `"ctrl-c"`) in a
//! [`Context`] to an [`Act`], with the words the footer and help show.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Where a binding applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Context {
    /// The six columns, live or replayed.
    Board,
    /// An artifact open full-screen.
    Artifact,
    /// Extra keys while replaying.
    Replay,
}

impl Context {
    pub fn title(self) -> &'static str {
        match self {
            Self::Board => "Board",
            Self::Artifact => "Artifact",
            Self::Replay => "Replay",
        }
    }
}

/// What a key does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Act {
    Left,
    Right,
    Down,
    Up,
    PageDown,
    PageUp,
    Top,
    Bottom,
    Open,
    Back,
    Approve,
    Retry,
    Cancel,
    Help,
    Quit,
    PlayPause,
    StepForward,
    StepBack,
    Faster,
    Slower,
}

/// One binding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Binding {
    pub context: Context,
    pub keys: Vec<String>,
    pub act: Act,
    /// What the help screen says.
    pub desc: &'static str,
    /// The footer's short word, if it is shown there.
    pub hint: Option<&'static str>,
}

/// All bindings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Keymap {
    pub bindings: Vec<Binding>,
}

impl Default for Keymap {
    fn default() -> Self {
        use Act::{
            Approve, Back, Bottom, Cancel, Down, Faster, Help, Left, Open, PageDown, PageUp,
            PlayPause, Quit, Retry, Right, Slower, StepBack, StepForward, Top, Up,
        };
        use Context::{Artifact, Board, Replay};
        let b = |context, keys: &[&str], act, desc, hint| Binding {
            context,
            keys: keys.iter().map(|k| (*k).to_owned()).collect(),
            act,
            desc,
            hint,
        };
        Self {
            bindings: vec![
                b(
                    Board,
                    &["a"],
                    Approve,
                    "approve and hand off to the next role",
                    Some("approve"),
                ),
                b(
                    Board,
                    &["enter"],
                    Open,
                    "open the focused artifact",
                    Some("read"),
                ),
                b(Board, &["r"], Retry, "retry a failed phase", Some("retry")),
                b(
                    Board,
                    &["c"],
                    Cancel,
                    "cancel the running phase",
                    Some("cancel"),
                ),
                b(
                    Board,
                    &["h", "left"],
                    Left,
                    "focus the column to the left",
                    Some("column"),
                ),
                b(
                    Board,
                    &["l", "right"],
                    Right,
                    "focus the column to the right",
                    None,
                ),
                b(
                    Board,
                    &["j", "down"],
                    Down,
                    "scroll the focused column down",
                    Some("scroll"),
                ),
                b(
                    Board,
                    &["k", "up"],
                    Up,
                    "scroll the focused column up",
                    None,
                ),
                b(Board, &["?"], Help, "show or hide this help", Some("help")),
                b(
                    Board,
                    &["q", "ctrl-c"],
                    Quit,
                    "quit (asks first while work runs)",
                    Some("quit"),
                ),
                b(
                    Artifact,
                    &["j", "down"],
                    Down,
                    "scroll down",
                    Some("scroll"),
                ),
                b(Artifact, &["k", "up"], Up, "scroll up", None),
                b(
                    Artifact,
                    &["pagedown", "space"],
                    PageDown,
                    "page down",
                    Some("page"),
                ),
                b(Artifact, &["pageup"], PageUp, "page up", None),
                b(Artifact, &["g", "home"], Top, "go to the top", None),
                b(Artifact, &["G", "end"], Bottom, "go to the end", None),
                b(
                    Artifact,
                    &["h", "left"],
                    Left,
                    "the previous phase's artifact",
                    Some("phase"),
                ),
                b(
                    Artifact,
                    &["l", "right"],
                    Right,
                    "the next phase's artifact",
                    None,
                ),
                b(
                    Artifact,
                    &["a"],
                    Approve,
                    "approve and hand off to the next role",
                    Some("approve"),
                ),
                b(
                    Artifact,
                    &["esc", "q"],
                    Back,
                    "back to the board",
                    Some("back"),
                ),
                b(
                    Artifact,
                    &["?"],
                    Help,
                    "show or hide this help",
                    Some("help"),
                ),
                b(
                    Replay,
                    &["space"],
                    PlayPause,
                    "play or pause",
                    Some("play/pause"),
                ),
                b(
                    Replay,
                    &["."],
                    StepForward,
                    "step one event forward",
                    Some("step"),
                ),
                b(Replay, &[","], StepBack, "step one event back", None),
                b(Replay, &["+", "="], Faster, "play faster", Some("speed")),
                b(Replay, &["-"], Slower, "play slower", None),
                b(Replay, &["g", "home"], Top, "go to the start", None),
                b(Replay, &["G", "end"], Bottom, "go to the end", None),
            ],
        }
    }
}

/// The name a key event is bound by.
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
        KeyCode::Backspace => "backspace".into(),
        _ => return None,
    };
    Some(if key.modifiers.contains(KeyModifiers::CONTROL) {
        format!("ctrl-{base}")
    } else {
        base
    })
}

impl Keymap {
    /// The act bound to `key` in the first of `contexts` that binds it.
    pub fn lookup(&self, contexts: &[Context], key: &KeyEvent) -> Option<Act> {
        let name = key_name(key)?;
        contexts.iter().find_map(|context| {
            self.bindings
                .iter()
                .find(|b| b.context == *context && b.keys.contains(&name))
                .map(|b| b.act)
        })
    }

    /// The first key bound to `act` in `context`, for hints.
    pub fn key_for(&self, context: Context, act: Act) -> Option<&str> {
        self.bindings
            .iter()
            .find(|b| b.context == context && b.act == act)
            .and_then(|b| b.keys.first())
            .map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_resolve_by_context_order() {
        let keymap = Keymap::default();
        let key = |c| KeyEvent::new(c, KeyModifiers::NONE);
        let g = key(KeyCode::Char('g'));
        assert_eq!(
            keymap.lookup(&[Context::Replay, Context::Board], &g),
            Some(Act::Top)
        );
        assert_eq!(keymap.lookup(&[Context::Board], &g), None);
        assert_eq!(
            keymap.lookup(&[Context::Board], &key(KeyCode::Left)),
            Some(Act::Left)
        );
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(keymap.lookup(&[Context::Board], &ctrl_c), Some(Act::Quit));
    }

    #[test]
    fn every_binding_has_a_key_and_no_key_is_bound_twice_in_a_context() {
        let keymap = Keymap::default();
        for b in &keymap.bindings {
            assert!(!b.keys.is_empty(), "{b:?}");
            for other in &keymap.bindings {
                if std::ptr::eq(b, other) || b.context != other.context {
                    continue;
                }
                assert!(
                    b.keys.iter().all(|k| !other.keys.contains(k)),
                    "{b:?} and {other:?}"
                );
            }
        }
    }
}
