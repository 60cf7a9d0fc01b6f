//! Line diffs between two versions of an artifact, ready to draw.
//!
//! [`diff_lines`] compares two texts line by line (with `similar`), keeps
//! three lines of context around each change, and wraps the result to the
//! screen width with `+`/`-` gutters. Both texts are sanitised first.

use ratatui::style::Style;
use ratatui::text::{Line, Span};
use similar::{ChangeTag, TextDiff};

use super::Theme;
use super::text::wrap;
use crate::sanitize::sanitize;

/// Lines of unchanged text kept around each change.
const CONTEXT: usize = 3;

/// How two versions differ, counted in lines.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stat {
    pub added: usize,
    pub removed: usize,
}

/// The diff from `old` to `new`, wrapped to `width`, and its size.
pub fn diff_lines(old: &str, new: &str, width: usize, theme: &Theme) -> (Vec<Line<'static>>, Stat) {
    let old = sanitize(old);
    let new = sanitize(new);
    let diff = TextDiff::from_lines(old.as_ref(), new.as_ref());
    let mut lines = Vec::new();
    let mut stat = Stat::default();
    let text_width = width.saturating_sub(2).max(1);
    for (i, group) in diff.grouped_ops(CONTEXT).iter().enumerate() {
        if i > 0 {
            lines.push(Line::styled("┄".repeat(width.min(40)), theme.dim));
        }
        for op in group {
            for change in diff.iter_changes(op) {
                let (gutter, style) = match change.tag() {
                    ChangeTag::Delete => {
                        stat.removed += 1;
                        ("- ", theme.diff_removed)
                    }
                    ChangeTag::Insert => {
                        stat.added += 1;
                        ("+ ", theme.diff_added)
                    }
                    ChangeTag::Equal => ("  ", Style::new()),
                };
                let text = change.value().trim_end_matches('\n');
                for (row, part) in wrap(text, text_width).into_iter().enumerate() {
                    let gutter = if row == 0 { gutter } else { "  " };
                    lines.push(Line::from(vec![
                        Span::styled(gutter, style),
                        Span::styled(part, style),
                    ]));
                }
            }
        }
    }
    if lines.is_empty() {
        lines.push(Line::styled("no differences", theme.dim));
    }
    (lines, stat)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(lines: &[Line<'_>]) -> Vec<String> {
        lines
            .iter()
            .map(|l| l.spans.iter().map(|s| s.content.as_ref()).collect())
            .collect()
    }

    #[test]
    fn shows_changes_with_context_and_counts_them() {
        let old = "a\nb\nc\nd\ne\nf\ng\nh\ni\n";
        let new = "a\nb\nc\nd\nE\nf\ng\nh\ni\nj\n";
        let (lines, stat) = diff_lines(old, new, 40, &Theme::mono());
        assert_eq!(
            stat,
            Stat {
                added: 2,
                removed: 1
            }
        );
        assert_eq!(
            plain(&lines),
            [
                "  b", "  c", "  d", "- e", "+ E", "  f", "  g", "  h", "  i", "+ j"
            ]
        );
    }

    #[test]
    fn identical_texts_say_so_and_escapes_are_removed() {
        let (lines, stat) = diff_lines("x\n", "x\n", 20, &Theme::mono());
        assert_eq!(stat, Stat::default());
        assert_eq!(plain(&lines), ["no differences"]);
        let (lines, _) = diff_lines("a\n", "a\u{1b}[2J\n", 20, &Theme::mono());
        assert!(plain(&lines).iter().all(|l| !l.contains('\u{1b}')));
    }
}
