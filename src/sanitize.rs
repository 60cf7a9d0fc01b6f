//! The one gate untrusted text passes before it reaches a terminal.
//!
//! Model output, artifacts, tool output and file contents may carry escape
//! sequences that would move the cursor, recolour the screen, set the window
//! title or hide text behind bidi overrides. [`sanitize`] removes whole escape
//! sequences (CSI, OSC, DCS and two-byte forms, in 7-bit and 8-bit form), every
//! other C0/C1 control except newline, and the bidi embedding, override and
//! isolate characters. Tabs become spaces so widths stay predictable. Every
//! widget and the headless printer take text through here.
//!
//! JSON output cannot drop characters, so [`json`] keeps the text and
//! writes those same characters as `\uXXXX` escapes instead: a parser reads
//! the original string, a terminal sees only ASCII letters.

use std::borrow::Cow;
use std::fmt::Write as _;

const TAB: &str = "    ";

/// True for characters that must never reach a terminal as they are.
fn is_unsafe(c: char) -> bool {
    (c.is_control() && c != '\n') || is_bidi_control(c)
}

fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{061C}')
}

/// How much of the text before a piece [`added`] reads it in.
const CONTEXT: usize = 4096;

/// The visible text `piece` adds to a stream that so far held `before`:
/// sanitized in context, so an escape sequence that one piece began and
/// the next ends is removed whole, and its payload never shows as text.
/// (Sanitizing each piece alone would print the end of such a sequence.)
pub fn added(before: &str, piece: &str) -> String {
    let mut from = before.len().saturating_sub(CONTEXT);
    while !before.is_char_boundary(from) {
        from += 1;
    }
    let before = &before[from..];
    let seen = sanitize(before);
    let whole = format!("{before}{piece}");
    let all = sanitize(&whole);
    match all.strip_prefix(seen.as_ref()) {
        Some(new) => new.to_owned(),
        // Not a prefix (a sequence the piece completed changed how the
        // text before it reads): the piece alone, which may show less.
        None => sanitize(piece).into_owned(),
    }
}

/// Returns `text` with escape sequences and control characters removed.
///
/// Borrowed when there was nothing to remove, which is the common case.
pub fn sanitize(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\t' => out.push_str(TAB),
            '\u{1b}' => match chars.peek().copied() {
                Some('[') => {
                    chars.next();
                    skip_csi(&mut chars);
                }
                Some(']' | 'P' | 'X' | '^' | '_') => {
                    chars.next();
                    skip_string(&mut chars);
                }
                Some(next) if !next.is_control() => {
                    chars.next();
                }
                _ => {}
            },
            '\u{9b}' => skip_csi(&mut chars),
            '\u{9d}' | '\u{90}' | '\u{98}' | '\u{9e}' | '\u{9f}' => skip_string(&mut chars),
            c if is_unsafe(c) => {}
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// As [`sanitize`], but the characters in `keep` (a tab, a carriage
/// return: harmless bytes a file or a patch needs as they are) stay.
pub fn sanitize_keeping<'a>(text: &'a str, keep: &[char]) -> Cow<'a, str> {
    if !text.chars().any(|c| is_unsafe(c) && !keep.contains(&c)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(|c| keep.contains(&c)) {
        out.push_str(&sanitize(&rest[..at]));
        let kept = rest[at..].chars().next().unwrap_or_default();
        out.push(kept);
        rest = &rest[at + kept.len_utf8()..];
    }
    out.push_str(&sanitize(rest));
    Cow::Owned(out)
}

/// `value` as JSON (pretty or one line) in which every character
/// [`sanitize`] would remove is a `\uXXXX` escape. `serde_json` escapes only
/// C0 controls, leaving DEL, C1 controls and bidi overrides raw.
pub fn json(value: &impl serde::Serialize, pretty: bool) -> serde_json::Result<String> {
    let text = if pretty {
        serde_json::to_string_pretty(value)?
    } else {
        serde_json::to_string(value)?
    };
    if !text.chars().any(is_unsafe) {
        return Ok(text);
    }
    // JSON's own syntax is printable ASCII, so these are all inside strings,
    // where an escape means the same character.
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if is_unsafe(c) {
            let _ = write!(out, "\\u{:04x}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    Ok(out)
}

/// Skips the parameters and final byte of a control sequence.
fn skip_csi(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    for c in chars.by_ref() {
        if ('\u{40}'..='\u{7e}').contains(&c) || c == '\n' {
            return;
        }
    }
}

/// Skips an OSC/DCS/APC/PM/SOS string up to BEL, ST or the end of the line.
fn skip_string(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    while let Some(c) = chars.next() {
        match c {
            '\u{7}' | '\u{9c}' | '\n' => return,
            '\u{1b}' => {
                if chars.peek() == Some(&'\\') {
                    chars.next();
                }
                return;
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{added, json, sanitize, sanitize_keeping};

    #[test]
    fn a_sequence_split_across_pieces_is_removed_whole() {
        let link = "see \u{1b}]8;;https://evil.example/PWNED\u{1b}\\click\u{1b}]8;;\u{1b}\\ here";
        for cut in 1..link.len() {
            if !link.is_char_boundary(cut) {
                continue;
            }
            let (before, piece) = link.split_at(cut);
            let shown = format!("{}{}", added("", before), added(before, piece));
            assert_eq!(shown, "see click here", "cut at {cut}");
        }
    }

    #[test]
    fn kept_characters_stay_and_the_rest_is_cleaned_around_them() {
        assert_eq!(
            sanitize_keeping("a\tb\u{1b}[31mc\r\u{7}", &['\t', '\r']),
            "a\tbc\r"
        );
        assert_eq!(sanitize_keeping("a\tb", &['\t']), "a\tb");
        assert_eq!(sanitize_keeping("\u{1b}]52;c;eA==\u{7}\t", &['\t']), "\t");
    }

    #[test]
    fn plain_text_is_borrowed_unchanged() {
        let text = "## Requirements\n- rate limit: 100 req/min — ok ✓";
        assert!(matches!(sanitize(text), std::borrow::Cow::Borrowed(_)));
    }

    #[test]
    fn removes_whole_escape_sequences() {
        assert_eq!(sanitize("a\u{1b}[31mred\u{1b}[0m b"), "ared b");
        assert_eq!(sanitize("x\u{1b}]0;pwned title\u{7}y"), "xy");
        assert_eq!(
            sanitize("x\u{1b}]8;;http://e\u{1b}\\link\u{1b}]8;;\u{1b}\\y"),
            "xlinky"
        );
        assert_eq!(sanitize("x\u{9b}2Jy"), "xy");
        assert_eq!(sanitize("x\u{1b}cy"), "xy");
    }

    #[test]
    fn removes_controls_but_keeps_newlines_and_expands_tabs() {
        assert_eq!(sanitize("a\r\nb\u{7}\u{8}c\td\u{0}"), "a\nbc    d");
        assert_eq!(sanitize("a\u{85}b"), "ab");
    }

    #[test]
    fn removes_bidi_overrides() {
        assert_eq!(
            sanitize("admin\u{202E}txt.exe\u{2066}x\u{2069}"),
            "admintxt.exex"
        );
    }

    #[test]
    fn json_escapes_what_a_terminal_would_obey_and_parses_back_the_same() {
        let text = "a\u{1b}]0;t\u{7}\u{9b}2J\u{7f}\u{202e}b\n";
        let value = serde_json::json!({ "text": text });
        for pretty in [false, true] {
            let out = json(&value, pretty).expect("json");
            assert!(
                out.is_ascii() && !out.chars().any(|c| c.is_control() && c != '\n'),
                "{out}"
            );
            let back: serde_json::Value = serde_json::from_str(&out).expect("parses");
            assert_eq!(back["text"], text);
        }
        assert_eq!(json(&"plain ✓", false).expect("json"), "\"plain ✓\"");
    }

    #[test]
    fn an_escape_at_the_end_does_not_panic() {
        assert_eq!(sanitize("abc\u{1b}"), "abc");
        assert_eq!(sanitize("abc\u{1b}["), "abc");
        assert_eq!(sanitize("abc\u{1b}]unterminated"), "abc");
    }
}
