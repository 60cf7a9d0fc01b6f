//! The one gate untrusted text passes before it reaches a terminal.
//!
//! Model output, artifacts, tool output and file contents may carry escape
//! sequences that would move the cursor, recolour the screen, set the window
//! title or hide text behind bidi overrides. [`sanitize`] removes whole escape
//! sequences (CSI, OSC, DCS and two-byte forms, in 7-bit and 8-bit form), every
//! other C0/C1 control except newline, and the bidi embedding, override and
//! isolate characters. Tabs become spaces so widths stay predictable. Every
//! widget and the headless printer take text through here.

use std::borrow::Cow;

const TAB: &str = "    ";

/// True for characters that must never reach a terminal as they are.
fn is_unsafe(c: char) -> bool {
    (c.is_control() && c != '\n') || is_bidi_control(c)
}

fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{061C}')
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
    use super::sanitize;

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
    fn an_escape_at_the_end_does_not_panic() {
        assert_eq!(sanitize("abc\u{1b}"), "abc");
        assert_eq!(sanitize("abc\u{1b}["), "abc");
        assert_eq!(sanitize("abc\u{1b}]unterminated"), "abc");
    }
}
