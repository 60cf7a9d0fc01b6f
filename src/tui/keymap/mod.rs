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
//!
//! Here are the names ([`Context`], [`Act`]), the table ([`Keymap`]) and
//! its questions: which act a key stands for, which keys the footer offers,
//! which key a label names. `load` reads the defaults and a user's file;
//! `keys` names key events.

mod keys;
mod load;

use crossterm::event::KeyEvent;
use strum::{EnumIter, EnumString, IntoStaticStr};

pub use keys::{TextKey, key_name};

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
    /// What a phase changed in the workspace.
    Changes,
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
    /// A new line in the request.
    Newline,
    /// Between an artifact and what its phase changed in the workspace.
    Changes,
    NextFile,
    PrevFile,
    NextHunk,
    PrevHunk,
    /// A review comment on the line under the cursor.
    Comment,
    /// Between a phase's latest round of changes and its whole change.
    Whole,
    /// Take the hunk under the cursor out of the workspace.
    Revert,
    /// Take the whole file under the cursor out of the workspace.
    RevertFile,
    /// Put back the last hunk reverted at this gate.
    UndoRevert,
    /// Mark the file under the cursor viewed (or not).
    Viewed,
    /// Summon a utility role at the open gate.
    Summon,
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

/// What a label says for an act no key is bound to.
pub const UNBOUND: &str = "(unbound)";

/// The acts one context's handler takes: a subset of [`Act`] as an enum of
/// its own, so the handler's `match` names every one of them and the
/// compiler checks it. Made with `context_acts!`.
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
    use crossterm::event::{KeyCode, KeyModifiers};

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
}
