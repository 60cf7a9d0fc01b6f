//! The Changes view's diff laid out as rows, once per width and shape: a
//! header per file and per hunk, then numbered lines with the words that
//! changed marked; old and new side by side when the screen is wide (a
//! file added or deleted stays one column). Every text is sanitized and
//! cut to its column; rows remember which diff line they draw, for
//! comments and reverts, and so a frame can draw the rows in sight again
//! with their syntax highlighted ([`highlighted`]).

use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};

use super::syntax::{Highlights, Kind, Mark, kind_style};
use crate::changes::{Body, Change, DiffLine, FileChange, FileStat, FileStatus, LineKind};
use crate::tui::Theme;
use crate::tui::text::{clip, safe};

/// The diff laid out at one width.
#[derive(Debug, Default)]
pub struct Rows {
    pub lines: Vec<Line<'static>>,
    /// The row each file starts at.
    pub files: Vec<usize>,
    /// The row each hunk starts at.
    pub hunks: Vec<usize>,
    /// For each row, the diff line it draws (file, hunk and line
    /// indexes), if it draws one.
    pub at: Vec<Option<LineAt>>,
    /// For each row, the diff lines it draws, to draw it again
    /// highlighted.
    pub drawn: Vec<Option<Drawn>>,
    /// The width and shape laid out.
    pub width: usize,
}

/// What a row of diff lines draws: one line, or a pair side by side
/// (indexes into the hunk's lines).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Drawn {
    One(LineAt),
    Pair {
        file: usize,
        hunk: usize,
        left: Option<usize>,
        right: Option<usize>,
    },
}

/// Where a diff line is in a [`Change`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LineAt {
    pub file: usize,
    pub hunk: usize,
    pub line: usize,
}

impl Rows {
    fn push(&mut self, line: Line<'static>, at: Option<LineAt>) {
        self.push_drawn(line, at, None);
    }

    fn push_drawn(&mut self, line: Line<'static>, at: Option<LineAt>, drawn: Option<Drawn>) {
        self.lines.push(line);
        self.at.push(at);
        self.drawn.push(drawn);
    }
}

/// Lays out every file of `change` at `width`, old and new side by side
/// when `split`.
pub fn lay_out(change: &Change, width: usize, split: bool, theme: &Theme) -> Rows {
    let mut rows = Rows {
        width,
        ..Rows::default()
    };
    for (i, file) in change.files.iter().enumerate() {
        if i > 0 {
            rows.push(Line::default(), None);
        }
        rows.files.push(rows.lines.len());
        file_rows(i, file, (width, split), theme, &mut rows);
    }
    rows
}

/// `M internal/orders/service.go  +3 −1`, safe for the terminal.
pub(super) fn file_title(stat: &FileStat) -> String {
    safe(&stat.line())
}

fn file_rows(
    index: usize,
    file: &FileChange,
    (width, split): (usize, bool),
    theme: &Theme,
    rows: &mut Rows,
) {
    rows.push(
        Line::styled(
            clip(&format!("▌{}", file_title(&file.stat)), width),
            theme.title,
        ),
        None,
    );
    if let Some((from, to)) = file.mode_change() {
        rows.push(
            Line::styled(format!("  mode {from} → {to}"), theme.dim),
            None,
        );
    }
    let note = match &file.body {
        Body::Text(hunks) => {
            for (h, hunk) in hunks.iter().enumerate() {
                rows.hunks.push(rows.lines.len());
                rows.push(Line::styled(hunk.header(), theme.dim), None);
                let at = |line| LineAt {
                    file: index,
                    hunk: h,
                    line,
                };
                // A file added or deleted has one side only: not split.
                if split
                    && file.stat.status != FileStatus::Added
                    && file.stat.status != FileStatus::Deleted
                {
                    for (left, right) in pairs(&hunk.lines) {
                        let row = split_line(
                            left.map(|l| (&hunk.lines[l], &[][..])),
                            right.map(|r| (&hunk.lines[r], &[][..])),
                            width,
                            theme,
                        );
                        let drawn = Drawn::Pair {
                            file: index,
                            hunk: h,
                            left,
                            right,
                        };
                        rows.push_drawn(row, right.or(left).map(at), Some(drawn));
                    }
                } else {
                    for (l, line) in hunk.lines.iter().enumerate() {
                        let row = diff_line(line, &[], width, theme);
                        rows.push_drawn(row, Some(at(l)), Some(Drawn::One(at(l))));
                    }
                }
            }
            (hunks.is_empty() && file.mode_change().is_none())
                .then(|| "  (renamed, nothing inside changed)".to_owned())
        }
        Body::Binary => Some("  binary file: not shown".to_owned()),
        Body::NotUtf8 => Some("  not UTF-8 text: not shown".to_owned()),
        Body::TooLarge { bytes } => Some(format!(
            "  {bytes} bytes: too large to show here (handoff show --diff prints it)"
        )),
    };
    if let Some(note) = note {
        rows.push(Line::styled(note, theme.dim), None);
    }
}

/// A hunk's lines as rows of a side-by-side diff: a context line on both
/// sides; a run of removed lines beside the run of added lines after it.
/// Indexes into `lines`.
fn pairs(lines: &[DiffLine]) -> Vec<(Option<usize>, Option<usize>)> {
    let mut out = Vec::new();
    let (mut removed, mut added) = (Vec::new(), Vec::new());
    let flush = |out: &mut Vec<_>, removed: &mut Vec<usize>, added: &mut Vec<usize>| {
        for i in 0..removed.len().max(added.len()) {
            out.push((removed.get(i).copied(), added.get(i).copied()));
        }
        removed.clear();
        added.clear();
    };
    for (i, line) in lines.iter().enumerate() {
        match line.kind {
            LineKind::Removed if added.is_empty() => removed.push(i),
            LineKind::Removed => {
                flush(&mut out, &mut removed, &mut added);
                removed.push(i);
            }
            LineKind::Added => added.push(i),
            LineKind::Context => {
                flush(&mut out, &mut removed, &mut added);
                out.push((Some(i), Some(i)));
            }
        }
    }
    flush(&mut out, &mut removed, &mut added);
    out
}

fn number(n: Option<usize>) -> String {
    n.map_or_else(|| "    ".to_owned(), |n| format!("{n:>4}"))
}

fn sign_and_style(line: &DiffLine, theme: &Theme) -> (char, Style) {
    match line.kind {
        LineKind::Context => (' ', Style::new()),
        LineKind::Added => ('+', theme.diff_added),
        LineKind::Removed => ('-', theme.diff_removed),
    }
}

/// A row of diff lines drawn again with the syntax of its code marked
/// (the words found for it, parsed now if they were not yet).
pub fn highlighted(
    change: &Change,
    drawn: Drawn,
    width: usize,
    theme: &Theme,
    highlights: &mut Highlights,
) -> Option<Line<'static>> {
    let mut side = |file: usize, hunk: usize, line: usize| {
        let Body::Text(hunks) = &change.files.get(file)?.body else {
            return None;
        };
        let shown = hunks.get(hunk)?.lines.get(line)?;
        let marks = highlights
            .marks(change, LineAt { file, hunk, line })
            .to_vec();
        Some((shown, marks))
    };
    Some(match drawn {
        Drawn::One(at) => {
            let (line, marks) = side(at.file, at.hunk, at.line)?;
            diff_line(line, &marks, width, theme)
        }
        Drawn::Pair {
            file,
            hunk,
            left,
            right,
        } => {
            let left = left.and_then(|l| side(file, hunk, l));
            let right = right.and_then(|r| side(file, hunk, r));
            split_line(
                left.as_ref().map(|(l, m)| (*l, &m[..])),
                right.as_ref().map(|(r, m)| (*r, &m[..])),
                width,
                theme,
            )
        }
    })
}

/// `  12 - old text │   13 + new text`: each half numbered on its side and
/// cut to its width.
fn split_line(
    left: Option<(&DiffLine, &[Mark])>,
    right: Option<(&DiffLine, &[Mark])>,
    width: usize,
    theme: &Theme,
) -> Line<'static> {
    let half = width.saturating_sub(1) / 2;
    let mut spans = Vec::new();
    for (side, line) in [(0, left), (1, right)] {
        let start = spans.len();
        match line {
            Some((line, marks)) => {
                let (sign, style) = sign_and_style(line, theme);
                let n = if side == 0 { line.old } else { line.new };
                let gutter = format!("{} {sign} ", number(n));
                let room = half.saturating_sub(gutter.chars().count());
                spans.push(Span::styled(gutter, theme.dim));
                spans.extend(text_spans(line, marks, room, (style, theme)));
            }
            None => spans.push(Span::raw("")),
        }
        if side == 0 {
            let used: usize = spans[start..]
                .iter()
                .map(|s| s.content.chars().count())
                .sum();
            spans.push(Span::raw(" ".repeat(half.saturating_sub(used))));
            spans.push(Span::styled("│", theme.border));
        }
    }
    Line::from(spans)
}

/// `  12   13 + text`, with the words that changed and the syntax marked.
fn diff_line(line: &DiffLine, marks: &[Mark], width: usize, theme: &Theme) -> Line<'static> {
    let (sign, style) = sign_and_style(line, theme);
    let gutter = format!("{} {} {sign} ", number(line.old), number(line.new));
    let room = width.saturating_sub(gutter.chars().count());
    let mut spans = vec![Span::styled(gutter, theme.dim)];
    spans.extend(text_spans(line, marks, room, (style, theme)));
    Line::from(spans)
}

/// How code of `kind` looks on a line drawn in `line` (the diff's style
/// for an added or removed line). On a context line the kind's style is
/// the text's. On a changed line the kind's colour goes over the line's
/// background only when the theme fixed both colours (256-colour or RGB,
/// as the `light` theme's dark text on pale backgrounds); where either
/// follows the terminal's palette (an ANSI name, as `high-contrast`'s light
/// text colours over its bright backgrounds) or the line's colour is its
/// text's (`default`), the line's colours stay, so an added line still
/// reads as added, and the kind adds its weight only.
fn code_style(line: Style, kind: Option<Kind>, theme: &Theme) -> Style {
    let Some(kind) = kind else {
        return line;
    };
    let code = kind_style(kind, theme);
    let fixed = |c: Option<Color>| matches!(c, Some(Color::Indexed(_) | Color::Rgb(..)));
    let plain = line.fg.is_none() && line.bg.is_none();
    let over = fixed(line.bg) && (code.fg.is_none() || fixed(code.fg)) && code.fg != line.bg;
    if plain || over {
        line.patch(code)
    } else {
        line.add_modifier(code.add_modifier)
    }
}

/// A line's text cut to `room`: the words that changed marked (reversed),
/// the code coloured by its kind (`marks`).
fn text_spans(
    line: &DiffLine,
    marks: &[Mark],
    room: usize,
    (style, theme): (Style, &Theme),
) -> Vec<Span<'static>> {
    let text = line.text.as_str();
    let mut cuts: Vec<usize> = line
        .emphasis
        .iter()
        .flat_map(|&(a, b)| [a, b])
        .chain(marks.iter().flat_map(|&(a, b, _)| [a, b]))
        .chain([0, text.len()])
        .filter(|&at| text.is_char_boundary(at))
        .collect();
    cuts.sort_unstable();
    cuts.dedup();
    let marked = |a: usize, b: usize| line.emphasis.iter().any(|&(s, e)| s <= a && b <= e);
    let mut spans: Vec<Span<'static>> = Vec::new();
    let mut left = room;
    for pair in cuts.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        if left == 0 {
            break;
        }
        let kind = marks
            .iter()
            .find(|&&(s, e, _)| s <= a && b <= e)
            .map(|&(.., kind)| kind);
        let mut piece_style = code_style(style, kind, theme);
        if marked(a, b) {
            piece_style = piece_style.add_modifier(Modifier::REVERSED);
        }
        let piece = clip(&safe(&text[a..b]), left);
        left = left.saturating_sub(piece.chars().count());
        match spans.last_mut() {
            Some(last) if last.style == piece_style => last.content.to_mut().push_str(&piece),
            Some(_) | None => spans.push(Span::styled(piece, piece_style)),
        }
    }
    if spans.is_empty() {
        spans.push(Span::styled(String::new(), style));
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::changes::{REGULAR, diff_text};

    fn file(path: &str, old: &str, new: &str) -> FileChange {
        let (hunks, added, removed) = diff_text(old, new);
        FileChange {
            stat: FileStat {
                path: path.into(),
                from: None,
                status: FileStatus::Modified,
                added,
                removed,
                binary: false,
            },
            modes: (REGULAR.into(), REGULAR.into()),
            body: Body::Text(hunks),
        }
    }

    fn text(line: &Line<'_>) -> String {
        line.spans.iter().map(|s| s.content.as_ref()).collect()
    }

    #[test]
    fn rows_have_a_header_per_file_and_hunk_and_mark_changed_words() {
        let far: String = (1..=20)
            .map(|i| format!("line {i}"))
            .collect::<Vec<_>>()
            .join("\n")
            + "\n";
        let change = Change {
            files: vec![
                file("a.go", "x := 1\n", "x := 2\n"),
                file(
                    "b.txt",
                    &far,
                    &far.replace("line 2\n", "LINE 2\n")
                        .replace("line 19\n", "LINE 19\n"),
                ),
                FileChange {
                    body: Body::Binary,
                    ..file("logo.png", "", "")
                },
            ],
        };
        let theme = Theme::mono();
        let rows = lay_out(&change, 60, false, &theme);
        assert_eq!(rows.files.len(), 3);
        assert_eq!(rows.hunks.len(), 3, "one in a.go, two far apart in b.txt");
        assert!(text(&rows.lines[rows.files[1]]).starts_with("▌M b.txt  +2 −2"));
        let removed = &rows.lines[rows.files[0] + 2];
        assert_eq!(text(removed), "   1      - x := 1");
        let marked: Vec<String> = removed
            .spans
            .iter()
            .filter(|s| s.style.add_modifier.contains(Modifier::REVERSED))
            .map(|s| s.content.to_string())
            .collect();
        assert_eq!(marked, ["1"], "only the changed word is marked");
        assert_eq!(
            text(&rows.lines[rows.files[2] + 1]),
            "  binary file: not shown"
        );
    }

    #[test]
    fn text_from_the_workspace_is_sanitized_and_cut_to_the_width() {
        let change = Change {
            files: vec![file(
                "evil.sh",
                "",
                "echo \u{1b}]52;c;aGk=\u{7}hi\u{202e} and a long tail\n",
            )],
        };
        let rows = lay_out(&change, 30, false, &Theme::mono());
        for line in &rows.lines {
            let shown = text(line);
            assert!(
                !shown.chars().any(|c| c.is_control() || c == '\u{202e}'),
                "{shown:?}"
            );
            assert!(shown.chars().count() <= 30, "{shown:?}");
        }
    }

    #[test]
    fn code_colours_go_over_a_changed_line_only_where_the_theme_fixed_both() {
        let light = Theme::named("light", false).expect("light");
        let added = code_style(light.diff_added, Some(Kind::Str), &light);
        assert_eq!((added.fg, added.bg), (light.code.fg, light.diff_added.bg));
        // High contrast: light green text on a light green line would
        // vanish; the line's black stays.
        let high = Theme::named("high-contrast", false).expect("high-contrast");
        let added = code_style(high.diff_added, Some(Kind::Str), &high);
        assert_eq!(
            (added.fg, added.bg),
            (high.diff_added.fg, high.diff_added.bg)
        );
        // The default theme: an added line stays green, a keyword bold.
        let ansi = Theme::ansi();
        let added = code_style(ansi.diff_added, Some(Kind::Keyword), &ansi);
        assert_eq!(added.fg, ansi.diff_added.fg);
        assert!(added.add_modifier.contains(Modifier::BOLD));
        let context = code_style(Style::new(), Some(Kind::Keyword), &ansi);
        assert_eq!(context.fg, ansi.key.fg);
    }

    #[test]
    fn side_by_side_pairs_removed_lines_with_the_added_ones_after_them() {
        let (hunks, ..) = diff_text("a\nold 1\nold 2\nz\n", "a\nnew 1\nz\n");
        let lines = &hunks[0].lines;
        let shown: Vec<(Option<&str>, Option<&str>)> = pairs(lines)
            .into_iter()
            .map(|(l, r)| {
                (
                    l.map(|l| lines[l].text.as_str()),
                    r.map(|r| lines[r].text.as_str()),
                )
            })
            .collect();
        assert_eq!(
            shown,
            [
                (Some("a"), Some("a")),
                (Some("old 1"), Some("new 1")),
                (Some("old 2"), None),
                (Some("z"), Some("z")),
            ]
        );
        let change = Change {
            files: vec![file("x.txt", "a\nold 1\nold 2\nz\n", "a\nnew 1\nz\n")],
        };
        let rows = lay_out(&change, 41, true, &Theme::mono());
        assert_eq!(text(&rows.lines[3]), "   2 - old 1        │   2 + new 1");
        assert_eq!(text(&rows.lines[4]), "   3 - old 2        │");
    }
}
