//! The permission policy as the user writes it: glob patterns mapped to
//! verdicts, and how a pattern matches a command.
//!
//! A leaf: it imports nothing of the crate, so the pipeline (which reads the
//! rules from skills.toml), the tools (which rule on a command line), the
//! engine and the session fold can all use it. The ruling on a whole command
//! line, which needs the shell reader, is `tools::ruling`.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// What may happen to a command. Ordered by strictness: `Allow < Ask <
/// Deny`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Allow,
    Ask,
    Deny,
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Allow => "allow",
            Self::Ask => "ask",
            Self::Deny => "deny",
        })
    }
}

/// One layer of patterns, as read from TOML (`"git status*" = "allow"`).
pub type Rules = BTreeMap<String, Verdict>;

/// Whether `text` matches the glob `pattern`: `*` matches any run of
/// characters (spaces too, or none), every other character only itself,
/// and the whole text must match.
#[must_use]
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    let (mut p, mut t) = (0, 0);
    // The last `*` seen, and where in the text it started matching.
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if pattern.get(p) == Some(&'*') {
            star = Some((p, t));
            p += 1;
        } else if pattern.get(p) == Some(&text[t]) {
            p += 1;
            t += 1;
        } else if let Some((sp, st)) = star {
            // Let that `*` take one more character and retry.
            p = sp + 1;
            t = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
}

/// The pattern an "always" answer allows: the program and its first
/// argument, then anything (`go test ./...` → `go test *`).
pub fn always_pattern(command: &str) -> String {
    let words: Vec<&str> = command.split_whitespace().collect();
    match words.as_slice() {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [first, second] => format!("{first} {second}"),
        [first, second, ..] => format!("{first} {second} *"),
    }
}

#[cfg(test)]
mod tests {
    use super::{always_pattern, glob_match};

    #[test]
    fn glob_matching() {
        assert!(glob_match("go *", "go test ./..."));
        assert!(!glob_match("go *", "gofmt x"));
        assert!(!glob_match("go *", "go"));
        assert!(glob_match("git status*", "git status"));
        assert!(glob_match("git status*", "git status -s"));
        assert!(!glob_match("git status*", "git stash"));
        assert!(glob_match("*", ""));
        assert!(glob_match("*", "anything at all"));
        assert!(glob_match("", ""));
        assert!(!glob_match("", "x"));
        assert!(glob_match("exact", "exact"));
        assert!(!glob_match("exact", "exact "));
        assert!(!glob_match("exact", "inexact"));
        assert!(glob_match("*--force*", "git push origin --force"));
        assert!(glob_match("a*b*c", "aXbYc"));
        assert!(glob_match("a*b*c", "abc"));
        assert!(!glob_match("a*b*c", "acb"));
        assert!(glob_match("a**b", "ab"));
        assert!(glob_match("*.rs", "main.rs"));
        assert!(!glob_match("*.rs", "main.rs.bak"));
        assert!(glob_match("a*a*a", "aaaa"));
        assert!(glob_match("é*", "école"));
        assert!(!glob_match("?", "x"), "? is literal");
        assert!(glob_match("?", "?"));
    }

    #[test]
    fn always_patterns_generalise_the_arguments() {
        assert_eq!(always_pattern("go test ./..."), "go test *");
        assert_eq!(always_pattern("make"), "make");
        assert_eq!(always_pattern("npm test"), "npm test");
    }
}
