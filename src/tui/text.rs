//! Untrusted text on its way to widgets: sanitised, wrapped, styled.
//!
//! Every string that came from a model, an artifact or a file reaches the
//! screen through [`wrap`] (or [`safe`] for one-line labels), and both pass
//! it through the one sanitizer first. Wrapping is done here, by display
//! width, so that scroll limits and the live tail of a stream know exactly
//! how many rows the text takes.

use std::borrow::Cow;

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use crate::sanitize::sanitize;

/// One line of safe text with no newline in it.
pub fn safe(text: &str) -> String {
    sanitize(text).replace('\n', " ")
}

/// What an attempt shows: its effective artifact (or the partial output),
/// with a plan or verdict rendered as Markdown tables, or, when it could not
/// be read, what was wrong above the text as the model wrote it. A phase
/// with named outputs has a line above it saying which are there and which
/// are missing (each is a section of the text under its own heading).
pub fn shown<'a>(
    state: &crate::session::SessionState,
    phase: usize,
    attempt: &'a crate::session::Attempt,
) -> Cow<'a, str> {
    let text = answer(state, phase, attempt);
    let names = state.section_names(phase);
    if names.is_empty() || attempt.effective().is_none() {
        return text;
    }
    let sections = attempt.sections(&names);
    let marks: Vec<String> = names
        .iter()
        .map(|n| {
            if sections.missing.iter().any(|m| m == n) {
                format!("`{n}` missing")
            } else {
                format!("`{n}` ✓")
            }
        })
        .collect();
    Cow::Owned(format!("> Outputs: {}\n\n{text}", marks.join(" · ")))
}

/// The attempt's text as [`shown`] draws it below the outputs line.
fn answer<'a>(
    state: &crate::session::SessionState,
    phase: usize,
    attempt: &'a crate::session::Attempt,
) -> Cow<'a, str> {
    let Some(text) = attempt.effective() else {
        return Cow::Borrowed(&attempt.output);
    };
    let kind = state
        .pipeline
        .as_ref()
        .and_then(|p| p.phases.get(phase))
        .map(|p| p.output)
        .unwrap_or_default();
    let read = state
        .pipeline
        .as_ref()
        .map_or(Ok(None), |p| p.read_answer(phase, text));
    match read {
        Ok(None) => Cow::Borrowed(text),
        Ok(Some(read)) => {
            let mut out = read.to_markdown();
            let prose = crate::formats::prose(text);
            if !prose.is_empty() {
                out.push_str("\n## Notes from the answer\n\n");
                out.push_str(&prose);
                out.push('\n');
            }
            Cow::Owned(out)
        }
        Err(errors) => {
            let mut out = format!("> **This {} could not be read:**\n", kind.name());
            for e in errors {
                out.push_str("> - ");
                out.push_str(&e);
                out.push('\n');
            }
            out.push_str("\n---\n\n");
            out.push_str(text);
            Cow::Owned(out)
        }
    }
}

/// Cuts a label to `width` columns, ending with `…` when cut.
pub fn clip(text: &str, width: usize) -> String {
    let text = safe(text);
    if text.width() <= width {
        return text;
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = c.width().unwrap_or(0);
        if used + w + 1 > width {
            break;
        }
        used += w;
        out.push(c);
    }
    out.push('…');
    out
}

/// Wraps sanitized `text` to `width` columns at word boundaries (breaking
/// words longer than a line). Every source line gives at least one row.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let text: Cow<'_, str> = sanitize(text);
    let mut rows = Vec::new();
    for line in text.split('\n') {
        let mut row = String::new();
        let mut row_width = 0;
        for word in line.split_inclusive(' ') {
            let word_width = word.width();
            if row_width + word.trim_end().width() > width && row_width > 0 {
                rows.push(std::mem::take(&mut row).trim_end().to_owned());
                row_width = 0;
            }
            if word_width > width {
                for c in word.chars() {
                    let w = c.width().unwrap_or(0);
                    if row_width + w > width {
                        rows.push(std::mem::take(&mut row));
                        row_width = 0;
                    }
                    row.push(c);
                    row_width += w;
                }
            } else {
                row.push_str(word);
                row_width += word_width;
            }
        }
        rows.push(row.trim_end().to_owned());
    }
    rows
}

/// The end of a growing text in `rows` rows of `width`, for a live stream.
///
/// The view turns like pages rather than scrolling: text fills the rows
/// downwards, and when it reaches the bottom the window moves up by three
/// quarters of its height at once. A token that starts a new row then changes one row,
/// not every row of the column, so streaming writes little to the terminal
/// and the text holds still long enough to read.
pub fn tail(text: &str, width: usize, rows: usize) -> Vec<String> {
    let rows = rows.max(1);
    // Wrapping the last few kilobytes is enough for any screen. The cut
    // moves in whole steps of that size, and starts a line, so the rows
    // after it stay numbered alike from one frame to the next.
    let budget = width.max(1) * rows * 4 + 256;
    let step = text.len().saturating_sub(budget) / budget * budget;
    let step = (step..=text.len())
        .find(|i| text.is_char_boundary(*i))
        .unwrap_or(text.len());
    // From the first line that starts after the cut (or the cut itself,
    // inside one long line).
    let start = text[step..]
        .find('\n')
        .filter(|_| step > 0)
        .map_or(step, |at| step + at + 1);
    let mut wrapped = wrap(&text[start..], width);
    // Three quarters of the rows: a quarter stays on screen for context.
    let page = (rows - rows / 4).max(1);
    let first = match wrapped.len().checked_sub(rows) {
        None | Some(0) => 0,
        Some(over) => over.div_ceil(page) * page,
    };
    wrapped.drain(..first.min(wrapped.len()));
    wrapped.truncate(rows);
    wrapped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_by_words_and_breaks_long_words() {
        assert_eq!(wrap("one two three", 7), ["one two", "three"]);
        assert_eq!(wrap("abcdefghij", 4), ["abcd", "efgh", "ij"]);
        assert_eq!(wrap("a\n\nb", 10), ["a", "", "b"]);
    }

    #[test]
    fn wrap_never_exceeds_the_width() {
        let text = "Añadir límite de tasa — 速率限制 to the orders API, with a very-long-hyphenated-identifier";
        // From 2 columns on: a double-width character cannot fit in one.
        for width in 2..30 {
            for row in wrap(text, width) {
                assert!(row.width() <= width, "{row:?} wider than {width}");
            }
        }
    }

    #[test]
    fn tail_keeps_the_last_rows_and_strips_escapes() {
        let text = "l1\nl2\nl3 \u{1b}[2Jcleared\nl4";
        assert_eq!(tail(text, 20, 2), ["l3 cleared", "l4"]);
    }

    #[test]
    fn the_tail_turns_by_pages_so_most_new_rows_change_one_row() {
        let lines: Vec<String> = (1..=30).map(|i| format!("line {i}")).collect();
        let upto = |n: usize| lines[..n].join("\n");
        // Four rows: it fills, then moves three rows at a time.
        assert_eq!(tail(&upto(3), 20, 4), ["line 1", "line 2", "line 3"]);
        assert_eq!(
            tail(&upto(4), 20, 4),
            ["line 1", "line 2", "line 3", "line 4"]
        );
        assert_eq!(tail(&upto(5), 20, 4), ["line 4", "line 5"]);
        assert_eq!(
            tail(&upto(7), 20, 4),
            ["line 4", "line 5", "line 6", "line 7"]
        );
        assert_eq!(tail(&upto(8), 20, 4), ["line 7", "line 8"]);
        // Always the last line, however long the text, and a cut inside a
        // character or a line is harmless.
        let one_line = "é".repeat(5000);
        assert!(!tail(&one_line, 20, 4).is_empty());
        let long = upto(30).repeat(40);
        assert_eq!(
            tail(&long, 20, 4).last().map(String::as_str),
            Some("line 30")
        );
        assert!(tail(&long, 20, 4).len() <= 4);
    }

    #[test]
    fn clip_marks_the_cut() {
        assert_eq!(clip("Business Analyst", 8), "Busines…");
        assert_eq!(clip("QA", 8), "QA");
    }
}
