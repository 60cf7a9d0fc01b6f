//! Key bindings: one table that drives key handling, the footer hints and the
//! help screen, so the three can never disagree.
//!
//! The defaults are `keymap-default.toml` at the root of the repository,
//! compiled in and read by the same loader as a user's file. A binding maps
//! a key name (`"a"`, `"enter"`, `"left"`, `"ctrl-c"`) in a
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
use strum::{EnumIter, EnumString, IntoEnumIterator as _, IntoStaticStr};
use toml::Spanned;

use crate::diagnostic::Diagnostic;

/// Where a binding applies; the names are keymap.toml's tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq, EnumIter, IntoStaticStr, EnumString)]
#[strum(serialize_all = "snake_case")]
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
    /// A question before quitting, aborting or discarding changes: its
    /// keys say yes, any other key no.
    Confirm,
    /// The start screen's request box (other keys edit the request).
    Start,
    /// The start screen's list of recent sessions (other keys type a
    /// filter).
    Recent,
    /// The stats view.
    Stats,
}

impl Context {
    /// The name used in headings and in keymap.toml.
    pub fn name(self) -> &'static str {
        self.into()
    }
}

/// What a key does. The names are those of keymap.toml.
#[derive(Clone, Copy, Debug, PartialEq, Eq, EnumIter, IntoStaticStr, EnumString)]
#[strum(serialize_all = "snake_case")]
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
    /// Yes, to a question.
    Confirm,
    /// From the request to the recent sessions.
    Recent,
    /// Replay a saved session.
    Replay,
    /// Show the stats across sessions.
    Stats,
    /// Count the sessions again.
    Refresh,
}

impl Act {
    /// The `snake_case` name keymap.toml uses.
    pub fn name(self) -> &'static str {
        self.into()
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

/// The default bindings, read by the same loader as a user's file.
const DEFAULTS: &str = include_str!("../../keymap-default.toml");

impl Default for Keymap {
    fn default() -> Self {
        Self {
            bindings: Vec::new(),
        }
        .patch("keymap-default.toml", DEFAULTS)
        .expect("keymap-default.toml is valid: a unit test reads it")
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
    /// The footer's word for it.
    hint: Option<String>,
}

impl Keymap {
    /// The defaults patched by a keymap.toml's text; `file` names it in
    /// messages. Every mistake is reported with its position.
    pub fn patched(file: &str, text: &str) -> Result<Self, Vec<Diagnostic>> {
        Self::default().patch(file, text)
    }

    /// This keymap patched by a keymap file's text.
    fn patch(mut self, file: &str, text: &str) -> Result<Self, Vec<Diagnostic>> {
        let raw: BTreeMap<Spanned<String>, Vec<Spanned<RawBinding>>> =
            toml::from_str(text).map_err(|e| vec![Diagnostic::from_toml(file, text, &e)])?;
        let mut found = Vec::new();
        let mut error =
            |span, message: String| found.push(Diagnostic::at(file, text, Some(span), message));
        for (context_name, entries) in raw {
            let Ok(context) = context_name.get_ref().parse::<Context>() else {
                let names: Vec<_> = Context::iter().map(Context::name).collect();
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
                let Ok(act) = entry.action.get_ref().parse::<Act>() else {
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
                self.rebind(context, act, keys, entry.desc, entry.hint);
            }
        }
        if found.is_empty() {
            Ok(self)
        } else {
            Err(found)
        }
    }

    /// Gives `act` in `context` these keys (taking them from any other
    /// binding of the context), adding the binding if the defaults lack it.
    fn rebind(
        &mut self,
        context: Context,
        act: Act,
        keys: Vec<String>,
        desc: Option<String>,
        hint: Option<String>,
    ) {
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
                if hint.is_some() {
                    b.hint = hint;
                }
            }
            None => self.bindings.push(Binding {
                context,
                keys,
                act,
                desc: desc.unwrap_or_else(|| act.name().replace('_', " ")),
                hint,
            }),
        }
    }
}

/// What a label says for an act no key is bound to.
pub const UNBOUND: &str = "(unbound)";

/// The acts one context's handler takes: a subset of [`Act`] as an enum of
/// its own, so the handler's `match` names every one of them and the
/// compiler checks it. Made with [`context_acts!`].
pub trait ContextActs: Sized {
    /// The context's act for `act`, if the context takes it.
    fn of(act: Act) -> Option<Self>;
}

/// Declares an enum of some of the [`Act`]s, by the same names, and its
/// [`ContextActs`] conversion.
macro_rules! context_acts {
    ($(#[$meta:meta])* $vis:vis enum $name:ident { $($(#[$vmeta:meta])* $variant:ident),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        $vis enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $crate::tui::keymap::ContextActs for $name {
            // The one catch-all over the acts: a context takes a few of
            // them, and the rest are not its to handle.
            fn of(act: $crate::tui::keymap::Act) -> Option<Self> {
                match act {
                    $($crate::tui::keymap::Act::$variant => Some(Self::$variant),)+
                    _ => None,
                }
            }
        }
    };
}
pub(crate) use context_acts;

/// The name a key event is bound by.
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
    Some(if key.modifiers.contains(KeyModifiers::CONTROL) {
        format!("ctrl-{base}")
    } else {
        base
    })
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

    /// The act `key` stands for in `context`, as one of the acts the
    /// context's handler takes (`A`); `None` when the key is bound to
    /// nothing there, or to an act the handler does not take.
    pub fn act_in<A: ContextActs>(&self, context: Context, key: &KeyEvent) -> Option<A> {
        self.lookup(&[context], key).and_then(A::of)
    }

    /// The bindings of `context` the footer offers, in the file's order:
    /// the first key, the hint and the act.
    pub fn hints(&self, context: Context) -> impl Iterator<Item = (&str, &str, Act)> {
        self.bindings
            .iter()
            .filter(move |b| b.context == context)
            .filter_map(|b| Some((b.keys.first()?.as_str(), b.hint.as_deref()?, b.act)))
    }

    /// The key a label names for `act`: the first key bound to it in the
    /// first of `contexts` that binds it, or [`UNBOUND`].
    pub fn label(&self, contexts: &[Context], act: Act) -> &str {
        contexts
            .iter()
            .find_map(|context| self.key_for(*context, act))
            .unwrap_or(UNBOUND)
    }

    /// A keymap with only what `text` binds.
    #[cfg(test)]
    fn empty_patched(text: &str) -> Result<Self, Vec<Diagnostic>> {
        Self {
            bindings: Vec::new(),
        }
        .patch("keymap-default.toml", text)
    }

    /// The first key bound to `act` in `context`.
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
    fn the_default_file_reads_and_binds_every_context() {
        let keymap = Keymap::empty_patched(DEFAULTS).expect("keymap-default.toml is valid");
        for context in Context::iter() {
            assert!(
                keymap.bindings.iter().any(|b| b.context == context),
                "{} has no binding",
                context.name()
            );
        }
        assert_eq!(keymap, Keymap::default());
    }

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
