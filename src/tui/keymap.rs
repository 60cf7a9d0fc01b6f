//! Key bindings: one table that drives key handling, the footer hints and the
//! help screen, so the three can never disagree.
//!
//! A binding maps a key name (`"a"`, `"enter"`, `"left"`, `"ctrl-c"`) in a
//! [`Context`] to an [`Act`], with the words the footer and help show. A
//! user's `keymap.toml` patches the defaults, one entry per binding:
//!
//! ```toml
//! [[board]]
//! on = ["y", "a"]        # replaces the keys of board/approve
//! action = "approve"
//!
//! [[artifact]]
//! on = "ctrl-d"          # a binding the defaults lack is added
//! action = "page_down"
//! desc = "half a page down"
//! ```

use std::collections::BTreeMap;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde::Deserialize;
use toml::Spanned;

use crate::diagnostic::Diagnostic;

/// Where a binding applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Context {
    /// The six columns, live or replayed.
    Board,
    /// An artifact open full-screen.
    Artifact,
    /// A diff between two versions of an artifact.
    Diff,
    /// While a search is active in the artifact view.
    Search,
    /// The multi-line boxes: editor, notes, feedback, return reason.
    Editor,
    /// Choosing the phase work returns to.
    Picker,
    /// A tool call waiting for permission.
    Permission,
    /// Extra keys while replaying.
    Replay,
}

impl Context {
    pub const ALL: [Self; 8] = [
        Self::Board,
        Self::Artifact,
        Self::Diff,
        Self::Search,
        Self::Editor,
        Self::Picker,
        Self::Permission,
        Self::Replay,
    ];

    /// The name used in headings and in keymap.toml.
    pub fn name(self) -> &'static str {
        match self {
            Self::Board => "board",
            Self::Artifact => "artifact",
            Self::Diff => "diff",
            Self::Search => "search",
            Self::Editor => "editor",
            Self::Picker => "picker",
            Self::Permission => "permission",
            Self::Replay => "replay",
        }
    }
}

/// What a key does. The names are those of keymap.toml.
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
    ApproveWithNotes,
    Edit,
    Reject,
    Return,
    Diff,
    Cancel,
    Abort,
    Help,
    Quit,
    Search,
    NextMatch,
    PrevMatch,
    PrevAttempt,
    NextAttempt,
    Submit,
    Undo,
    Redo,
    PlayPause,
    StepForward,
    StepBack,
    Faster,
    Slower,
    PermitOnce,
    PermitAlways,
    Deny,
    NextGate,
    PrevGate,
    Matrix,
}

impl Act {
    pub const ALL: [Self; 39] = [
        Self::Left,
        Self::Right,
        Self::Down,
        Self::Up,
        Self::PageDown,
        Self::PageUp,
        Self::Top,
        Self::Bottom,
        Self::Open,
        Self::Back,
        Self::Approve,
        Self::ApproveWithNotes,
        Self::Edit,
        Self::Reject,
        Self::Return,
        Self::Diff,
        Self::Cancel,
        Self::Abort,
        Self::Help,
        Self::Quit,
        Self::Search,
        Self::NextMatch,
        Self::PrevMatch,
        Self::PrevAttempt,
        Self::NextAttempt,
        Self::Submit,
        Self::Undo,
        Self::Redo,
        Self::PlayPause,
        Self::StepForward,
        Self::StepBack,
        Self::Faster,
        Self::Slower,
        Self::PermitOnce,
        Self::PermitAlways,
        Self::Deny,
        Self::NextGate,
        Self::PrevGate,
        Self::Matrix,
    ];

    /// The `snake_case` name keymap.toml uses.
    pub fn name(self) -> &'static str {
        match self {
            Self::Left => "left",
            Self::Right => "right",
            Self::Down => "down",
            Self::Up => "up",
            Self::PageDown => "page_down",
            Self::PageUp => "page_up",
            Self::Top => "top",
            Self::Bottom => "bottom",
            Self::Open => "open",
            Self::Back => "back",
            Self::Approve => "approve",
            Self::ApproveWithNotes => "approve_with_notes",
            Self::Edit => "edit",
            Self::Reject => "reject",
            Self::Return => "return",
            Self::Diff => "diff",
            Self::Cancel => "cancel",
            Self::Abort => "abort",
            Self::Help => "help",
            Self::Quit => "quit",
            Self::Search => "search",
            Self::NextMatch => "next_match",
            Self::PrevMatch => "prev_match",
            Self::PrevAttempt => "prev_attempt",
            Self::NextAttempt => "next_attempt",
            Self::Submit => "submit",
            Self::Undo => "undo",
            Self::Redo => "redo",
            Self::PlayPause => "play_pause",
            Self::StepForward => "step_forward",
            Self::StepBack => "step_back",
            Self::Faster => "faster",
            Self::Slower => "slower",
            Self::PermitOnce => "permit_once",
            Self::PermitAlways => "permit_always",
            Self::Deny => "deny",
            Self::NextGate => "next_gate",
            Self::PrevGate => "prev_gate",
            Self::Matrix => "matrix",
        }
    }
}

/// One binding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Binding {
    pub context: Context,
    pub keys: Vec<String>,
    pub act: Act,
    /// What the help screen says.
    pub desc: String,
    /// The footer's short word, if it is shown there.
    pub hint: Option<String>,
}

/// All bindings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Keymap {
    pub bindings: Vec<Binding>,
}

/// The defaults: (context, keys, act, help text, footer word).
const DEFAULTS: &[(Context, &[&str], Act, &str, &str)] = {
    use Act as A;
    use Context::{Artifact, Board, Diff, Editor, Permission, Picker, Replay, Search};
    &[
        (
            Board,
            &["a"],
            A::Approve,
            "approve and hand off to the next role",
            "approve",
        ),
        (
            Board,
            &["n"],
            A::ApproveWithNotes,
            "approve with notes for every later role",
            "notes",
        ),
        (
            Board,
            &["e"],
            A::Edit,
            "edit the artifact before handing it on",
            "edit",
        ),
        (
            Board,
            &["r"],
            A::Reject,
            "reject with feedback: the phase runs again",
            "reject",
        ),
        (
            Board,
            &["b"],
            A::Return,
            "return work to an earlier phase",
            "return",
        ),
        (
            Board,
            &["d"],
            A::Diff,
            "diff against the draft or the previous attempt",
            "diff",
        ),
        (
            Board,
            &["c"],
            A::Cancel,
            "cancel the running phase",
            "cancel",
        ),
        (
            Board,
            &["x"],
            A::Abort,
            "abort the session (asks first)",
            "",
        ),
        (
            Board,
            &["enter"],
            A::Open,
            "open the focused artifact",
            "read",
        ),
        (
            Board,
            &["h", "left"],
            A::Left,
            "focus the column to the left",
            "column",
        ),
        (
            Board,
            &["l", "right"],
            A::Right,
            "focus the column to the right",
            "",
        ),
        (
            Board,
            &["j", "down"],
            A::Down,
            "scroll the focused column down",
            "scroll",
        ),
        (
            Board,
            &["k", "up"],
            A::Up,
            "scroll the focused column up",
            "",
        ),
        (
            Board,
            &["m"],
            A::Matrix,
            "show which artifact went to which role",
            "handoffs",
        ),
        (Board, &["?"], A::Help, "show or hide this help", "help"),
        (
            Board,
            &["q", "ctrl-c"],
            A::Quit,
            "quit (asks first while work runs)",
            "quit",
        ),
        (Artifact, &["j", "down"], A::Down, "scroll down", "scroll"),
        (Artifact, &["k", "up"], A::Up, "scroll up", ""),
        (
            Artifact,
            &["pagedown", "space"],
            A::PageDown,
            "page down",
            "page",
        ),
        (Artifact, &["pageup"], A::PageUp, "page up", ""),
        (Artifact, &["g", "home"], A::Top, "go to the top", ""),
        (Artifact, &["G", "end"], A::Bottom, "go to the end", ""),
        (Artifact, &["/"], A::Search, "search", "search"),
        (
            Artifact,
            &["["],
            A::PrevAttempt,
            "the previous attempt",
            "attempt",
        ),
        (Artifact, &["]"], A::NextAttempt, "the next attempt", ""),
        (
            Artifact,
            &["h", "left"],
            A::Left,
            "the previous phase's artifact",
            "phase",
        ),
        (
            Artifact,
            &["l", "right"],
            A::Right,
            "the next phase's artifact",
            "",
        ),
        (
            Artifact,
            &["a"],
            A::Approve,
            "approve and hand off to the next role",
            "approve",
        ),
        (
            Artifact,
            &["n"],
            A::ApproveWithNotes,
            "approve with notes",
            "notes",
        ),
        (Artifact, &["e"], A::Edit, "edit this artifact", "edit"),
        (
            Artifact,
            &["r"],
            A::Reject,
            "reject with feedback",
            "reject",
        ),
        (
            Artifact,
            &["b"],
            A::Return,
            "return work to an earlier phase",
            "",
        ),
        (
            Artifact,
            &["d"],
            A::Diff,
            "diff against the draft or the previous attempt",
            "diff",
        ),
        (
            Artifact,
            &["esc", "q"],
            A::Back,
            "back to the board",
            "back",
        ),
        (Artifact, &["?"], A::Help, "show or hide this help", "help"),
        (Search, &["n"], A::NextMatch, "next match", "next"),
        (Search, &["N"], A::PrevMatch, "previous match", "prev"),
        (Search, &["esc"], A::Back, "clear the search", "clear"),
        (Diff, &["j", "down"], A::Down, "scroll down", "scroll"),
        (Diff, &["k", "up"], A::Up, "scroll up", ""),
        (
            Diff,
            &["pagedown", "space"],
            A::PageDown,
            "page down",
            "page",
        ),
        (Diff, &["pageup"], A::PageUp, "page up", ""),
        (Diff, &["g", "home"], A::Top, "go to the top", ""),
        (Diff, &["G", "end"], A::Bottom, "go to the end", ""),
        (
            Diff,
            &["d"],
            A::Diff,
            "switch between draft and previous attempt",
            "switch",
        ),
        (
            Diff,
            &["a"],
            A::Approve,
            "approve and hand off to the next role",
            "approve",
        ),
        (Diff, &["esc", "q"], A::Back, "back", "back"),
        (Diff, &["?"], A::Help, "show or hide this help", "help"),
        (Editor, &["ctrl-s"], A::Submit, "save / submit", "submit"),
        (
            Editor,
            &["esc"],
            A::Back,
            "cancel (asks when changed)",
            "cancel",
        ),
        (Editor, &["ctrl-z"], A::Undo, "undo", "undo"),
        (Editor, &["ctrl-y"], A::Redo, "redo", "redo"),
        (
            Editor,
            &["ctrl-f"],
            A::Search,
            "search in the text",
            "search",
        ),
        (Editor, &["ctrl-n"], A::NextMatch, "next match", ""),
        (Editor, &["ctrl-p"], A::PrevMatch, "previous match", ""),
        (Picker, &["j", "down"], A::Down, "next phase", "move"),
        (Picker, &["k", "up"], A::Up, "previous phase", ""),
        (
            Picker,
            &["enter"],
            A::Submit,
            "return work to this phase",
            "choose",
        ),
        (Picker, &["esc", "q"], A::Back, "cancel", "cancel"),
        (
            Permission,
            &["y"],
            A::PermitOnce,
            "allow this command once",
            "once",
        ),
        (
            Permission,
            &["a"],
            A::PermitAlways,
            "allow commands like it for this session",
            "always",
        ),
        (
            Permission,
            &["n"],
            A::Deny,
            "deny it, with an optional reason for the agent",
            "deny",
        ),
        (
            Permission,
            &["?"],
            A::Help,
            "show or hide this help",
            "help",
        ),
        (Permission, &["ctrl-c"], A::Quit, "quit (asks first)", ""),
        (
            Replay,
            &["space"],
            A::PlayPause,
            "play or pause",
            "play/pause",
        ),
        (
            Replay,
            &["."],
            A::StepForward,
            "step one event forward",
            "step",
        ),
        (Replay, &[","], A::StepBack, "step one event back", ""),
        (Replay, &["+", "="], A::Faster, "play faster", "speed"),
        (Replay, &["-"], A::Slower, "play slower", ""),
        (Replay, &["g", "home"], A::Top, "go to the start", ""),
        (Replay, &["G", "end"], A::Bottom, "go to the end", ""),
        (Replay, &[">"], A::NextGate, "jump to the next gate", "gate"),
        (Replay, &["<"], A::PrevGate, "jump to the previous gate", ""),
    ]
};

impl Default for Keymap {
    fn default() -> Self {
        Self {
            bindings: DEFAULTS
                .iter()
                .map(|(context, keys, act, desc, hint)| Binding {
                    context: *context,
                    keys: keys.iter().map(|k| (*k).to_owned()).collect(),
                    act: *act,
                    desc: (*desc).to_owned(),
                    hint: (!hint.is_empty()).then(|| (*hint).to_owned()),
                })
                .collect(),
        }
    }
}

/// Named keys a binding may use (each also with a `ctrl-` prefix).
const NAMED_KEYS: [&str; 14] = [
    "space",
    "enter",
    "esc",
    "left",
    "right",
    "up",
    "down",
    "pageup",
    "pagedown",
    "home",
    "end",
    "tab",
    "backspace",
    "delete",
];

fn valid_key(name: &str) -> bool {
    let base = name.strip_prefix("ctrl-").unwrap_or(name);
    base.chars().count() == 1 && base != " " || NAMED_KEYS.contains(&base)
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Keys {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBinding {
    on: Spanned<Keys>,
    action: Spanned<String>,
    desc: Option<String>,
}

impl Keymap {
    /// The defaults patched by a keymap.toml's text; `file` names it in
    /// messages. Every mistake is reported with its position.
    pub fn patched(file: &str, text: &str) -> Result<Self, Vec<Diagnostic>> {
        let raw: BTreeMap<Spanned<String>, Vec<Spanned<RawBinding>>> =
            toml::from_str(text).map_err(|e| vec![Diagnostic::from_toml(file, text, &e)])?;
        let mut keymap = Self::default();
        let mut found = Vec::new();
        let mut error =
            |span, message: String| found.push(Diagnostic::at(file, text, Some(span), message));
        for (context_name, entries) in raw {
            let Some(context) = Context::ALL
                .iter()
                .copied()
                .find(|c| c.name() == context_name.get_ref())
            else {
                let names: Vec<_> = Context::ALL.iter().map(|c| c.name()).collect();
                error(
                    context_name.span(),
                    format!(
                        "unknown context `{}` (one of: {})",
                        context_name.get_ref(),
                        names.join(", ")
                    ),
                );
                continue;
            };
            for entry in entries {
                let entry = entry.into_inner();
                let Some(act) = Act::ALL
                    .iter()
                    .copied()
                    .find(|a| a.name() == entry.action.get_ref())
                else {
                    error(
                        entry.action.span(),
                        format!("unknown action `{}`", entry.action.get_ref()),
                    );
                    continue;
                };
                let span = entry.on.span();
                let keys = match entry.on.into_inner() {
                    Keys::One(k) => vec![k],
                    Keys::Many(ks) => ks,
                };
                if let Some(bad) = keys.iter().find(|k| !valid_key(k)) {
                    error(
                        span,
                        format!(
                            "`{bad}` is not a key (a character, or one of: {})",
                            NAMED_KEYS.join(", ")
                        ),
                    );
                    continue;
                }
                keymap.rebind(context, act, keys, entry.desc);
            }
        }
        if found.is_empty() {
            Ok(keymap)
        } else {
            Err(found)
        }
    }

    /// Gives `act` in `context` these keys (taking them from any other
    /// binding of the context), adding the binding if the defaults lack it.
    fn rebind(&mut self, context: Context, act: Act, keys: Vec<String>, desc: Option<String>) {
        for b in self
            .bindings
            .iter_mut()
            .filter(|b| b.context == context && b.act != act)
        {
            b.keys.retain(|k| !keys.contains(k));
        }
        match self
            .bindings
            .iter_mut()
            .find(|b| b.context == context && b.act == act)
        {
            Some(b) => {
                b.keys = keys;
                if let Some(desc) = desc {
                    b.desc = desc;
                }
            }
            None => self.bindings.push(Binding {
                context,
                keys,
                act,
                desc: desc.unwrap_or_else(|| act.name().replace('_', " ")),
                hint: None,
            }),
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
        KeyCode::Delete => "delete".into(),
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

    /// The first key bound to `act` in `context` (what the tests check a
    /// patch against).
    #[cfg(test)]
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
    fn a_user_keymap_patches_the_defaults() {
        let text = "[[board]]\non = [\"y\", \"a\"]\naction = \"approve\"\n\n[[board]]\non = \"n\"\naction = \"edit\"\n";
        let keymap = Keymap::patched("keymap.toml", text).expect("valid");
        let key = |c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
        assert_eq!(
            keymap.lookup(&[Context::Board], &key('y')),
            Some(Act::Approve)
        );
        assert_eq!(keymap.lookup(&[Context::Board], &key('n')), Some(Act::Edit));
        assert_eq!(
            keymap.lookup(&[Context::Board], &key('e')),
            None,
            "edit moved to n"
        );
        assert_eq!(
            keymap.key_for(Context::Board, Act::ApproveWithNotes),
            None,
            "n was taken from notes"
        );
    }

    #[test]
    fn keymap_mistakes_are_placed() {
        let text = "[[bored]]\non = \"a\"\naction = \"approve\"\n\n[[board]]\non = \"f13\"\naction = \"approve\"\n\n[[board]]\non = \"a\"\naction = \"dance\"\n";
        let errors: Vec<String> = Keymap::patched("keymap.toml", text)
            .expect_err("invalid")
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert!(
            errors
                .iter()
                .any(|e| e.starts_with("keymap.toml:1:3: unknown context `bored`")),
            "{errors:?}"
        );
        assert!(
            errors
                .iter()
                .any(|e| e.starts_with("keymap.toml:6:6: `f13` is not a key")),
            "{errors:?}"
        );
        assert!(
            errors
                .iter()
                .any(|e| e.starts_with("keymap.toml:11:10: unknown action `dance`")),
            "{errors:?}"
        );
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
