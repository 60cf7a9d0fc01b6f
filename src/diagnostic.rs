//! Positioned mistakes in the files a user writes (skills.toml, themes,
//! keymap.toml, config.toml, decisions files): `file:line:col: message`.

use std::fmt;
use std::ops::Range;

/// One mistake in a file, with its position (1-based line and column).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.column, self.message
        )
    }
}

impl Diagnostic {
    /// A mistake at byte range `span` of `text` (1:1 without one).
    pub fn at(
        file: &str,
        text: &str,
        span: Option<Range<usize>>,
        message: impl Into<String>,
    ) -> Self {
        let (line, column) = span.map_or((1, 1), |s| line_col(text, s.start));
        Self {
            file: file.to_owned(),
            line,
            column,
            message: message.into(),
        }
    }

    /// A TOML parse or type error, placed where the parser says.
    pub fn from_toml(file: &str, text: &str, error: &toml::de::Error) -> Self {
        Self::at(file, text, error.span(), error.message().trim())
    }
}

/// A file's bytes as text, or a mistake at the first byte that is not
/// UTF-8 (counting the characters before it on its line).
pub fn decode(file: &str, bytes: Vec<u8>) -> Result<String, Diagnostic> {
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let bytes = e.as_bytes();
        let before = String::from_utf8_lossy(&bytes[..at]);
        let (line, column) = line_col(&before, before.len());
        Diagnostic {
            file: file.to_owned(),
            line,
            column,
            message: format!("not UTF-8 text (byte 0x{:02x})", bytes[at]),
        }
    })
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// All diagnostics as lines, for an error message.
pub fn render(diagnostics: &[Diagnostic]) -> String {
    diagnostics
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_that_are_not_utf8_are_placed() {
        let d = decode("f.toml", b"a = 1\nb = \"\xc3\xa9\xff\"\n".to_vec()).expect_err("not UTF-8");
        assert_eq!(d.to_string(), "f.toml:2:7: not UTF-8 text (byte 0xff)");
        assert_eq!(decode("f", b"ok".to_vec()).as_deref(), Ok("ok"));
    }

    #[test]
    fn line_col_counts_characters() {
        assert_eq!(line_col("ab\ncdé f", 8), (2, 5));
        assert_eq!(line_col("", 0), (1, 1));
        assert_eq!(line_col("é", 1), (1, 1), "inside a character: its start");
    }
}
