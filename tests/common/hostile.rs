//! Terminal-injection payloads and the check that none of them reached a
//! terminal: [`CORPUS`] is text a hostile model, tool or file could produce;
//! [`assert_terminal_safe`] reads the exact bytes a program wrote to its
//! terminal and fails on anything that did not come from the program's own
//! drawing (crossterm's styling, cursor placement and screen modes).

/// Text that must never appear on the terminal: every payload hides it
/// inside a sequence the sanitizer removes whole.
pub const HIDDEN: &str = "PWNED";

/// One payload per line, each followed by a visible marker (`|v<N>`) that
/// must survive. Parameters use 1337, which crossterm never writes, so a
/// CSI that slipped through is told apart from crossterm's own.
pub const CORPUS: &[&str] = &[
    // OSC 52: write the clipboard.
    "\u{1b}]52;c;UFdORUQ=PWNED\u{7}",
    // OSC 8: a hyperlink whose target differs from its text.
    "\u{1b}]8;;https://evil.example/PWNED\u{1b}\\click\u{1b}]8;;\u{1b}\\",
    // OSC 0 / 2: window and icon title, BEL- and ST-terminated.
    "\u{1b}]0;PWNED title\u{7}",
    "\u{1b}]2;PWNED title\u{1b}\\",
    // CSI: cursor moves, screen and line clears, scroll region.
    "\u{1b}[1337;1337H\u{1b}[1337A\u{1b}[1337D",
    "\u{1b}[2J\u{1b}[3J\u{1b}[1337K\u{1b}[1;1337r",
    // Styling that hides text or recolours the screen.
    "\u{1b}[8;31;1337m",
    // Report requests: cursor position, device attributes, window reports,
    // mode and setting queries.
    "\u{1b}[6n\u{1b}[c\u{1b}[>c\u{1b}[18t\u{1b}[21t\u{1b}[?1337$p",
    "\u{1b}P$qPWNED\u{1b}\\",
    // DCS (sixel), APC (kitty graphics), PM, SOS.
    "\u{1b}Pq#0;2;0;0;0PWNED\u{1b}\\",
    "\u{1b}_Gf=100;PWNED\u{1b}\\",
    "\u{1b}^PWNED\u{1b}\\",
    "\u{1b}XPWNED\u{1b}\\",
    // Two-byte escapes: full reset, save/restore cursor, alignment test.
    "\u{1b}c\u{1b}7\u{1b}8\u{1b}#8",
    // 8-bit C1 controls: CSI, OSC, DCS, NEL, RI, ST.
    "\u{9b}1337;1H\u{9d}0;PWNED\u{9c}\u{90}PWNED\u{9c}\u{85}\u{8d}\u{9c}",
    // Bidi embeddings, overrides and isolates.
    "admin\u{202a}\u{202b}\u{202c}\u{202d}\u{202e}gnp.exe\u{2066}\u{2067}\u{2068}\u{2069}\u{61c}",
    // Carriage return overwrite, backspaces, bell, DEL, other C0.
    "rm -rf /\rls -l\u{8}\u{8}\u{7}\u{7f}\u{0}\u{b}\u{c}\u{e}\u{f}",
    // Tabs.
    "col\tcol\tcol",
    // An OSC never terminated: swallows the rest of its line.
    "\u{1b}]0;PWNED unterminated",
];

/// The corpus as one text, one payload per line with its visible marker.
pub fn text() -> String {
    use std::fmt::Write as _;
    let mut text = String::new();
    for (i, payload) in CORPUS.iter().enumerate() {
        let _ = writeln!(text, "{payload}|v{i}");
    }
    text
}

/// How the bytes were produced: a pseudo-terminal adds `\r\n` line ends
/// outside raw mode, which an in-process capture never has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Capture {
    InProcess,
    Pty,
}

/// Private modes crossterm and ratatui set and reset: cursor visibility,
/// the alternate screen, mouse reporting, bracketed paste.
const MODES: [&str; 8] = [
    "?25", "?1049", "?1000", "?1002", "?1003", "?1015", "?1006", "?2004",
];

/// Fails unless `bytes` hold only text and the sequences crossterm writes
/// to draw: SGR styling (`m`), cursor position (`H`), the private modes
/// above (`h`/`l`) and, from a pseudo-terminal, the screen clears of
/// start-up; and unless no payload's [`HIDDEN`] text shows, which would
/// mean a sequence was cut in two and half of it printed. `what` names the
/// output in the failure.
pub fn assert_terminal_safe(bytes: &[u8], capture: Capture, what: &str) {
    let text = String::from_utf8_lossy(bytes);
    let hidden = text.find(HIDDEN);
    assert!(
        hidden.is_none(),
        "{what}: a payload's hidden text shows at byte {hidden:?}: {}",
        around(bytes, hidden.unwrap_or_default())
    );
    assert_no_control(bytes, capture, what);
}

/// The control-byte half of [`assert_terminal_safe`], for JSON output,
/// which rightly quotes payloads as inert `\uXXXX` text.
pub fn assert_no_control(bytes: &[u8], capture: Capture, what: &str) {
    let found = first_control(bytes, capture);
    assert!(
        found.is_none(),
        "{what}: {} at byte {}: {}",
        found.map_or("", |f| f.1),
        found.map_or(0, |f| f.0),
        around(bytes, found.map_or(0, |f| f.0))
    );
}

/// The bytes around `at`, for a failure message.
fn around(bytes: &[u8], at: usize) -> String {
    let from = at.saturating_sub(60);
    let to = (at + 60).min(bytes.len());
    format!("{:?}", String::from_utf8_lossy(&bytes[from.min(to)..to]))
}

/// Where the first byte or sequence crossterm would not write is, and
/// what it is.
fn first_control(bytes: &[u8], capture: Capture) -> Option<(usize, &'static str)> {
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            0x1b => {
                if bytes.get(i + 1) != Some(&b'[') {
                    return Some((i, "an escape that is not a CSI"));
                }
                let start = i + 2;
                let mut end = start;
                while end < bytes.len() && (0x20..=0x3f).contains(&bytes[end]) {
                    end += 1;
                }
                let Some(&final_byte) = bytes.get(end) else {
                    return Some((i, "an unterminated CSI"));
                };
                let params = std::str::from_utf8(&bytes[start..end]).unwrap_or("?");
                if params.contains("1337") {
                    return Some((i, "a payload's CSI"));
                }
                let allowed = match final_byte {
                    b'm' | b'H' => params.bytes().all(|c| c.is_ascii_digit() || c == b';'),
                    b'h' | b'l' => MODES.contains(&params),
                    b'J' | b'K' => capture == Capture::Pty && params.len() <= 1,
                    _ => false,
                };
                if !allowed {
                    return Some((i, "a CSI crossterm does not write to draw"));
                }
                i = end + 1;
            }
            b'\n' => i += 1,
            b'\r' if capture == Capture::Pty && bytes.get(i + 1) == Some(&b'\n') => i += 2,
            0x00..=0x1f | 0x7f => return Some((i, "a control character")),
            // C1 controls encoded in UTF-8: U+0080..U+009F.
            0xc2 if matches!(bytes.get(i + 1), Some(0x80..=0x9f)) => {
                return Some((i, "a C1 control"));
            }
            // Bidi embeddings, overrides (U+202A..E), isolates (U+2066..9).
            0xe2 if matches!(
                (bytes.get(i + 1), bytes.get(i + 2)),
                (Some(0x80), Some(0xaa..=0xae)) | (Some(0x81), Some(0xa6..=0xa9))
            ) =>
            {
                return Some((i, "a bidi control"));
            }
            // U+061C, the Arabic letter mark.
            0xd8 if bytes.get(i + 1) == Some(&0x9c) => return Some((i, "a bidi control")),
            _ => i += 1,
        }
    }
    None
}
