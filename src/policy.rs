//! The permission policy as the user writes it: glob patterns mapped to
//! verdicts, and how a pattern matches a command.
//!
//! Two ways to match, by what is at stake. A pattern that *allows* matches
//! the parsed words of a command ([`words_match`]): `git status*` matches
//! `git status` and `git status -s`, never `git statusx`, and a `*` inside
//! a word never reaches into the next one. A pattern that asks or denies
//! matches the joined text character by character ([`glob_match`]), so it
//! catches more, never less: `git push --force*` still denies
//! `git push --force-with-lease`.
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

/// One word of a pattern as [`words_match`] reads it.
enum PatternWord<'p> {
    /// A lone `*`: one or more whole words.
    Words,
    /// A glob over one word (`*` stays inside the word).
    One(&'p str),
    /// The last word, written `name*`: exactly `name`, then any words.
    Then(&'p str),
}

/// Whether the command `words` (its parsed argv) matches the allowing
/// pattern `pattern`, word by word: a lone `*` stands for one or more
/// words, a last word ending in a letter or digit and `*` (`status*`) for
/// that word followed by any words, and any other `*` for characters
/// inside one word (`handoff/*`).
#[must_use]
pub fn words_match(pattern: &str, words: &[String]) -> bool {
    let tokens: Vec<&str> = pattern.split(' ').filter(|t| !t.is_empty()).collect();
    let last = tokens.len().saturating_sub(1);
    let parts: Vec<PatternWord> = tokens
        .iter()
        .enumerate()
        .map(|(at, token)| {
            let stem = token.strip_suffix('*').filter(|s| {
                at == last
                    && s.chars()
                        .last()
                        .is_some_and(|c| c.is_alphanumeric() || c == '_')
            });
            match stem {
                _ if token.chars().all(|c| c == '*') => PatternWord::Words,
                Some(stem) => PatternWord::Then(stem),
                None => PatternWord::One(token),
            }
        })
        .collect();
    // can[i][j]: parts[i..] match words[j..].
    let (n, m) = (parts.len(), words.len());
    let mut can = vec![vec![false; m + 1]; n + 1];
    can[n][m] = true;
    for i in (0..n).rev() {
        for j in (0..=m).rev() {
            can[i][j] = match parts[i] {
                PatternWord::Words => j < m && (can[i + 1][j + 1] || can[i][j + 1]),
                PatternWord::Then(stem) => j < m && words[j] == stem && i + 1 == n,
                PatternWord::One(glob) => j < m && glob_match(glob, &words[j]) && can[i + 1][j + 1],
            };
        }
    }
    can[0][0]
}

/// The ruling on a `write_file` to the workspace-relative `path` under the
/// path patterns `layers` (`"*" = "ask"`, `"internal/*" = "allow"`), and
/// the pattern that decided. `*` matches any characters, `/` included, so
/// `internal/*` (or `internal/**`) is everything under `internal/`. The
/// strictest matching pattern wins (deny > ask > allow); a catch-all
/// (`"*"`) applies only when no other pattern matches; with no pattern at
/// all, writes are allowed. Writes into `.git` never get here: the
/// workspace refuses them whatever the rules say.
#[must_use]
pub fn rule_path(layers: &[&Rules], path: &str) -> (Verdict, String) {
    let mut explicit: Option<(Verdict, &str)> = None;
    let mut default: Option<(Verdict, &str)> = None;
    for (pattern, &verdict) in layers.iter().flat_map(|rules| rules.iter()) {
        let slot = if pattern.chars().all(|c| c == '*') {
            &mut default
        } else if glob_match(pattern, path) {
            &mut explicit
        } else {
            continue;
        };
        if slot.is_none_or(|(kept, _)| verdict > kept) {
            *slot = Some((verdict, pattern));
        }
    }
    match (explicit, default) {
        (Some((verdict, pattern)), _) => (verdict, pattern.to_owned()),
        (None, Some((verdict, pattern))) => (verdict, format!("{pattern} (default)")),
        (None, None) => (Verdict::Allow, "no write rules".to_owned()),
    }
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
    use super::{always_pattern, glob_match, words_match};

    fn argv(line: &str) -> Vec<String> {
        line.split(' ').map(str::to_owned).collect()
    }

    #[test]
    fn allowing_patterns_match_whole_words() {
        let yes = |p: &str, l: &str| assert!(words_match(p, &argv(l)), "{p} should match {l}");
        let no = |p: &str, l: &str| assert!(!words_match(p, &argv(l)), "{p} should not match {l}");
        yes("git status*", "git status");
        yes("git status*", "git status -s");
        no("git status*", "git statusx");
        no("git status*", "git stash");
        no("git diff*", "git difftool -x sh");
        yes("ls*", "ls");
        no("ls*", "lsblk");
        yes("go *", "go test ./...");
        no("go *", "go");
        no("go *", "gofmt x");
        yes("cat *", "cat a b c");
        yes("git checkout -B handoff/*", "git checkout -B handoff/x");
        no(
            "git checkout -B handoff/*",
            "git checkout -B handoff/x main",
        );
        yes("go * ./...", "go test -v ./...");
        no("go * ./...", "go test ./... -exec x");
        yes("pwd", "pwd");
        no("pwd", "pwd -P");
        assert!(!words_match(
            "git status*",
            &["git".into(), "status -s".into()]
        ));
        assert!(words_match("echo *", &["echo".into(), "a b".into()]));
    }

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
    fn write_rules_deny_over_ask_over_allow() {
        use super::{Rules, Verdict, rule_path};
        let rules: Rules = [
            ("*", Verdict::Ask),
            ("internal/**", Verdict::Allow),
            ("internal/secrets/*", Verdict::Deny),
            ("*.lock", Verdict::Ask),
        ]
        .iter()
        .map(|(p, v)| ((*p).to_owned(), *v))
        .collect();
        let rule = |path: &str| rule_path(&[&rules], path).0;
        assert_eq!(rule("internal/a/b.go"), Verdict::Allow);
        assert_eq!(rule("internal/secrets/key"), Verdict::Deny);
        assert_eq!(rule("internal/Cargo.lock"), Verdict::Ask);
        assert_eq!(rule("main.go"), Verdict::Ask);
        assert_eq!(rule_path(&[], "anything").0, Verdict::Allow);
    }

    #[test]
    fn always_patterns_generalise_the_arguments() {
        assert_eq!(always_pattern("go test ./..."), "go test *");
        assert_eq!(always_pattern("make"), "make");
        assert_eq!(always_pattern("npm test"), "npm test");
    }
}
