//! Reading keymap files: the defaults compiled in from
//! `keymap-default.toml`, patched by a user's `keymap.toml` with the same
//! loader, one binding at a time; every mistake is reported with its
//! file, line and column.

use std::collections::BTreeMap;

use serde::Deserialize;
use strum::IntoEnumIterator as _;
use toml::Spanned;

use super::{Act, Binding, Context, Keymap};
use crate::diagnostic::Diagnostic;

/// The default bindings, read by the same loader as a user's file.
const DEFAULTS: &str = include_str!("../../../keymap-default.toml");

impl Default for Keymap {
    fn default() -> Self {
        Self {
            bindings: Vec::new(),
        }
        .patch("keymap-default.toml", DEFAULTS)
        .expect("keymap-default.toml is valid: a unit test reads it")
    }
}

/// Named keys a binding may use (each also with `ctrl-`, `alt-` and
/// `shift-` prefixes, in that order).
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
    let name = name.strip_prefix("ctrl-").unwrap_or(name);
    let name = name.strip_prefix("alt-").unwrap_or(name);
    if let Some(base) = name.strip_prefix("shift-") {
        return NAMED_KEYS.contains(&base);
    }
    name.chars().count() == 1 && name != " " || NAMED_KEYS.contains(&name)
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

impl Keymap {
    /// A keymap with only what `text` binds.
    #[cfg(test)]
    fn empty_patched(text: &str) -> Result<Self, Vec<Diagnostic>> {
        Self {
            bindings: Vec::new(),
        }
        .patch("keymap-default.toml", text)
    }
}

#[cfg(test)]
mod tests {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

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
