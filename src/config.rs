//! The user's settings: `$XDG_CONFIG_HOME/handoff/config.toml` (else
//! `~/.config/handoff/config.toml`), beside `keymap.toml` and `skills.toml`.
//!
//! ```toml
//! theme = "light"     # a built-in theme or a path to a theme file
//! bell = false        # ring the terminal bell when a checkpoint opens
//! ```
//!
//! A missing file means the defaults; a broken one is reported with its
//! position and nothing starts.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::diagnostic::Diagnostic;

/// Settings from config.toml.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub theme: Option<String>,
    pub bell: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            theme: None,
            bell: true,
        }
    }
}

/// `handoff`'s folder under the user's config home.
pub fn config_dir(env: impl Fn(&str) -> Option<String>) -> Option<PathBuf> {
    env("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| env("HOME").map(|h| PathBuf::from(h).join(".config")))
        .map(|dir| dir.join("handoff"))
}

/// Parses config.toml text; `file` names it in messages.
pub fn parse(file: &str, text: &str) -> Result<Config, Diagnostic> {
    toml::from_str(text).map_err(|e| Diagnostic::from_toml(file, text, &e))
}

/// Reads the config file if there is one.
pub fn load(path: &Path) -> Result<Config, Diagnostic> {
    match std::fs::read_to_string(path) {
        Ok(text) => parse(&path.display().to_string(), &text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Config::default()),
        Err(e) => Err(Diagnostic::at(
            &path.display().to_string(),
            "",
            None,
            e.to_string(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_values() {
        assert_eq!(parse("c", "").expect("empty"), Config::default());
        let c = parse("c", "theme = \"mono\"\nbell = false\n").expect("valid");
        assert_eq!(
            c,
            Config {
                theme: Some("mono".into()),
                bell: false
            }
        );
    }

    #[test]
    fn mistakes_are_placed() {
        let e = parse("config.toml", "bell = \"loud\"\n").expect_err("wrong type");
        assert_eq!((e.line, e.column), (1, 8), "{e}");
        let e = parse("config.toml", "theme = \"mono\"\ncolour = 1\n").expect_err("unknown key");
        assert_eq!(e.line, 2, "{e}");
        assert!(e.message.contains("colour"), "{e}");
    }
}
