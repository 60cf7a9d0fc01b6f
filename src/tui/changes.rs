//! The Changes view: what a phase changed in the workspace, beside its
//! artifact (`Tab` switches), so a person judges the code and not only a
//! report about it.
//!
//! The phase's latest snapshot names two commits (its base and itself).
//! Opening the view asks for that change ([`Changes::request`]); the UI
//! loop reads it out of git off the UI task
//! ([`crate::tools::changes::change`]) and hands it back
//! ([`Changes::loaded`]). Until then, and when the repository is not there
//! (a replay elsewhere), the view shows the file list and counts the log
//! recorded. The diff is laid out once per width into rows (a header per
//! file, a header per hunk, numbered lines with changed words marked) and
//! a frame copies the rows it shows; a file list runs beside it on wide
//! screens. Every text passes the sanitizer.

use std::cell::RefCell;
use std::path::PathBuf;
use std::sync::Arc;

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Widget};

use super::Theme;
use super::app::App;
use super::keymap::{Act, Context};
use super::review::line_of;
use super::text::{clip, safe};
use crate::changes::{Body, Change, DiffLine, FileChange, FileStat, FileStatus, LineKind, summary};

/// The file list runs beside the diff from this width on.
const LIST_FROM_WIDTH: u16 = 100;

/// From this screen width on, a diff shows old and new side by side.
const SPLIT_FROM_WIDTH: u16 = 160;

/// What a view needs read out of git: the change from `base` to `commit`
/// in the repository at `root`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangeRequest {
    pub root: PathBuf,
    pub base: Option<String>,
    pub commit: String,
}

/// Where reading the open change stands.
#[derive(Clone, Debug)]
pub enum Load {
    /// Asked for; the loop has not picked it up yet.
    Wanted(ChangeRequest),
    Reading,
    Ready(Arc<Change>),
    /// Git could not give it (no repository here, an unknown commit).
    Failed(String),
}

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
        self.lines.push(line);
        self.at.push(at);
    }
}

/// The Changes view's own state: which snapshot is open, the change read
/// for it, and its layout.
#[derive(Debug, Default)]
pub struct Changes {
    /// The two commits the view compares, and how far reading it got.
    open: Option<((Option<String>, String), Load)>,
    /// The phase's whole change (from before its first round) rather
    /// than the latest round's.
    pub whole: bool,
    /// The layout drawn last: its width, whether side by side, its rows.
    layout: RefCell<Option<(usize, bool, Arc<Rows>)>>,
    /// The row the cursor is on (what `c` comments on).
    pub cursor: usize,
}

impl Changes {
    /// Opens the change a snapshot recorded, in the repository at `root`
    /// (none: no workspace, so only the log's list).
    pub fn open(&mut self, base: Option<&str>, commit: &str, root: Option<PathBuf>) {
        let key = (base.map(str::to_owned), commit.to_owned());
        if self.open.as_ref().is_some_and(|(k, _)| *k == key) {
            return;
        }
        let load = match root {
            Some(root) => Load::Wanted(ChangeRequest {
                root,
                base: key.0.clone(),
                commit: key.1.clone(),
            }),
            None => Load::Failed("the session has no workspace".into()),
        };
        self.open = Some((key, load));
        self.layout.replace(None);
        self.cursor = 0;
    }

    /// The diff line under the cursor, if it is on one.
    pub fn at_cursor(&self) -> Option<LineAt> {
        self.laid_out()?.at.get(self.cursor).copied().flatten()
    }

    /// The read the loop should start, once.
    pub fn request(&mut self) -> Option<ChangeRequest> {
        let (_, load) = self.open.as_mut()?;
        let Load::Wanted(request) = load else {
            return None;
        };
        let request = request.clone();
        *load = Load::Reading;
        Some(request)
    }

    /// Takes what reading `commit` gave; a read for a view since closed
    /// or moved on is dropped.
    pub fn loaded(&mut self, commit: &str, result: Result<Change, String>) {
        if let Some(((_, open), load)) = &mut self.open
            && open == commit
        {
            *load = match result {
                Ok(change) => Load::Ready(Arc::new(change)),
                Err(e) => Load::Failed(e),
            };
            self.layout.replace(None);
        }
    }

    /// Reading broke down: the open view, if still reading, says why.
    pub fn failed(&mut self, why: &str) {
        if let Some((_, load @ Load::Reading)) = &mut self.open {
            *load = Load::Failed(why.to_owned());
        }
    }

    /// The change read for the open snapshot, if it is ready.
    pub fn ready(&self) -> Option<&Arc<Change>> {
        match &self.open {
            Some((_, Load::Ready(change))) => Some(change),
            _ => None,
        }
    }

    /// Why the diff is not shown, while it is not.
    fn waiting(&self) -> Option<String> {
        match &self.open {
            Some((_, Load::Wanted(_) | Load::Reading)) => Some("reading the change…".into()),
            Some((_, Load::Failed(why))) => Some(format!(
                "the diff cannot be read here ({}): the files below are as the log recorded them",
                safe(why)
            )),
            Some((_, Load::Ready(_))) | None => None,
        }
    }

    /// The layout drawn last, at whatever width: how many rows there are
    /// and where files and hunks start do not depend on the width.
    pub fn laid_out(&self) -> Option<Arc<Rows>> {
        self.layout
            .borrow()
            .as_ref()
            .map(|(_, _, rows)| Arc::clone(rows))
    }

    /// The diff laid out at `width`, side by side when `split` (kept until
    /// the shape or the change moves on).
    pub fn rows(&self, width: usize, split: bool, theme: &Theme) -> Arc<Rows> {
        if let Some((w, s, rows)) = self.layout.borrow().as_ref()
            && *w == width
            && *s == split
        {
            return Arc::clone(rows);
        }
        let rows = Arc::new(
            self.ready()
                .map(|change| lay_out(change, width, split, theme))
                .unwrap_or_default(),
        );
        self.layout.replace(Some((width, split, Arc::clone(&rows))));
        rows
    }
}

/// Whether a screen `width` wide shows a diff side by side.
pub fn is_split(width: u16) -> bool {
    width >= SPLIT_FROM_WIDTH
}

/// Lays out every file of `change` at `width`, old and new side by side
/// when `split`.
pub fn lay_out(change: &Change, width: usize, split: bool, theme: &Theme) -> Rows {
    let mut rows = Rows::default();
    for (i, file) in change.files.iter().enumerate() {
        if i > 0 {
            rows.push(Line::default(), None);
        }
        rows.files.push(rows.lines.len());
        file_rows(i, file, (width, split), theme, &mut rows);
    }
    rows
}

/// `M internal/orders/service.go +3 −1`, or `R old → new`.
fn file_title(stat: &FileStat) -> String {
    let path = match &stat.from {
        Some(from) => format!("{} → {}", safe(from), safe(&stat.path)),
        None => safe(&stat.path),
    };
    format!("{} {path}  {}", stat.status.letter(), counts(stat))
}

/// `+3 −1`, or `binary`.
fn counts(stat: &FileStat) -> String {
    if stat.binary {
        "binary".to_owned()
    } else {
        format!("+{} −{}", stat.added, stat.removed)
    }
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
                            left.map(|l| &hunk.lines[l]),
                            right.map(|r| &hunk.lines[r]),
                            width,
                            theme,
                        );
                        rows.push(row, right.or(left).map(at));
                    }
                } else {
                    for (l, line) in hunk.lines.iter().enumerate() {
                        rows.push(diff_line(line, width, theme), Some(at(l)));
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

/// `  12 - old text │   13 + new text`: each half numbered on its side and
/// cut to its width.
fn split_line(
    left: Option<&DiffLine>,
    right: Option<&DiffLine>,
    width: usize,
    theme: &Theme,
) -> Line<'static> {
    let half = width.saturating_sub(1) / 2;
    let mut spans = Vec::new();
    for (side, line) in [(0, left), (1, right)] {
        let start = spans.len();
        match line {
            Some(line) => {
                let (sign, style) = sign_and_style(line, theme);
                let n = if side == 0 { line.old } else { line.new };
                let gutter = format!("{} {sign} ", number(n));
                let room = half.saturating_sub(gutter.chars().count());
                spans.push(Span::styled(gutter, theme.dim));
                spans.extend(text_spans(line, room, style));
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

/// `  12   13 + text`, with the words that changed marked.
fn diff_line(line: &DiffLine, width: usize, theme: &Theme) -> Line<'static> {
    let (sign, style) = sign_and_style(line, theme);
    let gutter = format!("{} {} {sign} ", number(line.old), number(line.new));
    let room = width.saturating_sub(gutter.chars().count());
    let mut spans = vec![Span::styled(gutter, theme.dim)];
    spans.extend(text_spans(line, room, style));
    Line::from(spans)
}

/// A line's text cut to `room`, the words that changed marked.
fn text_spans(line: &DiffLine, room: usize, style: Style) -> Vec<Span<'static>> {
    let mut spans = Vec::new();
    let marked = style.add_modifier(Modifier::REVERSED);
    let mut at = 0;
    let mut pieces = Vec::new();
    for &(start, end) in &line.emphasis {
        if let (Some(before), Some(inside)) = (line.text.get(at..start), line.text.get(start..end))
        {
            pieces.push((before, style));
            pieces.push((inside, marked));
            at = end;
        }
    }
    pieces.push((line.text.get(at..).unwrap_or_default(), style));
    let mut left = room;
    for (text, style) in pieces {
        if left == 0 {
            break;
        }
        let text = clip(&safe(text), left);
        left = left.saturating_sub(text.chars().count());
        spans.push(Span::styled(text, style));
    }
    spans
}

/// Draws the Changes view of one phase.
#[derive(Clone, Copy, Debug)]
pub struct ChangesView<'a> {
    pub app: &'a App,
    pub phase: usize,
}

impl Widget for ChangesView<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let app = self.app;
        let Some(phase) = app.state.phases.get(self.phase) else {
            return;
        };
        let snapshot = app.state.snapshot_of(&phase.id);
        let files: Vec<FileStat> = match app.changes.ready() {
            Some(change) => change.stats(),
            None => snapshot.map(|s| s.files.clone()).unwrap_or_default(),
        };
        let comments = app.review().len();
        let reverted = match app.reverts_at_gate() {
            0 => String::new(),
            n => format!(
                " · {n} hunk{} reverted ({} puts back)",
                if n == 1 { "" } else { "s" },
                app.keymap.label(&[Context::Changes], Act::UndoRevert)
            ),
        };
        let rounds = app.state.rounds(&phase.id);
        let key = app.keymap.label(&[Context::Changes], Act::Whole);
        let round = match rounds {
            0 | 1 => String::new(),
            _ if app.changes.whole => format!(" · all {rounds} rounds ({key}: the latest)"),
            _ => format!(" · round {rounds} ({key}: all)"),
        };
        let title = format!(
            " Changes · {} · {}{round} · {}{} ",
            phase.id,
            phase.role,
            summary(&files),
            match comments {
                0 => String::new(),
                1 => " · 1 comment".to_owned(),
                n => format!(" · {n} comments"),
            } + &reverted
                + &match app.viewed().len() {
                    0 => String::new(),
                    n => format!(" · {n}/{} viewed", files.len()),
                }
        );
        let block = Block::bordered()
            .border_style(app.theme.border_focus)
            .title(Span::styled(safe(&title), app.theme.title));
        let inner = block.inner(area);
        block.render(area, buf);
        let split = is_split(area.width);
        let (list, diff) = if inner.width >= LIST_FROM_WIDTH && !files.is_empty() {
            // Side by side, the diff needs the room more than the list.
            let list_width = if split {
                (inner.width / 4).min(40)
            } else {
                (inner.width / 3).min(48)
            };
            let [list, rule, diff] = Layout::horizontal([
                Constraint::Length(list_width),
                Constraint::Length(2),
                Constraint::Fill(1),
            ])
            .areas(inner);
            for y in rule.top()..rule.bottom() {
                buf[(rule.x, y)].set_symbol("│").set_style(app.theme.border);
            }
            (Some(list), diff)
        } else {
            (None, inner)
        };
        // Where the report and the change disagree, the first row says so.
        let diff = match app.state.claims(self.phase) {
            Some(found) if diff.height > 2 => {
                let [warning, rest] =
                    Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(diff);
                Line::styled(
                    clip(
                        &format!("⚠ {}", safe(&found.describe())),
                        usize::from(warning.width),
                    ),
                    app.theme.awaiting,
                )
                .render(warning, buf);
                rest
            }
            Some(_) | None => diff,
        };
        let rows = app.changes.rows(usize::from(diff.width), split, &app.theme);
        let current = rows.files.iter().rposition(|&start| start <= app.scroll);
        if let Some(list) = list {
            file_list(app, &files, current, list, buf);
        }
        if let Some(waiting) = app.changes.waiting() {
            let mut lines = vec![Line::styled(waiting, app.theme.dim), Line::default()];
            lines.extend(
                files
                    .iter()
                    .map(|f| Line::raw(clip(&file_title(f), usize::from(diff.width)))),
            );
            if files.is_empty() {
                lines.push(Line::raw("no files changed in this phase"));
            }
            Paragraph::new(lines).render(diff, buf);
            return;
        }
        if rows.lines.is_empty() {
            Line::styled("no files changed in this phase", app.theme.dim).render(diff, buf);
            return;
        }
        diff_rows(app, &rows, diff, buf);
    }
}

/// The rows of the diff in sight: the cursor's row marked, commented
/// lines flagged in the gutter, and the comment on the cursor's line at
/// the foot.
fn diff_rows(app: &App, rows: &Rows, area: Rect, buf: &mut Buffer) {
    let mut under_cursor = None;
    let shown: Vec<Line<'static>> = rows
        .lines
        .iter()
        .enumerate()
        .skip(app.scroll)
        .take(usize::from(area.height))
        .map(|(row, line)| {
            let mut line = line.clone();
            let comment = app.changes.ready().and_then(|change| {
                let (file, number, _) = line_of(change, rows.at.get(row).copied().flatten()?)?;
                app.comment_on(&file, number)
            });
            if let (Some(_), Some(gutter)) = (comment, line.spans.first_mut()) {
                let rest: String = gutter.content.chars().skip(1).collect();
                gutter.content = format!("✎{rest}").into();
                gutter.style = app.theme.gate;
            }
            if let Some(query) = &app.search {
                line = super::artifact::highlight(line, query, app.theme.search_match);
            }
            if row == app.changes.cursor {
                line = line.patch_style(app.theme.selection);
                under_cursor = comment;
            }
            line
        })
        .collect();
    Paragraph::new(shown).render(area, buf);
    if let Some(comment) = under_cursor
        && area.height > 1
    {
        // At the foot, or at the top when the cursor is on the last row.
        let last = app.scroll + usize::from(area.height) - 1;
        let y = if app.changes.cursor >= last {
            area.top()
        } else {
            area.bottom() - 1
        };
        let foot = Rect {
            y,
            height: 1,
            ..area
        };
        buf.set_style(foot, app.theme.gate);
        Line::styled(
            clip(
                &format!("✎ {}", safe(&comment.text)),
                usize::from(foot.width),
            ),
            app.theme.gate,
        )
        .render(foot, buf);
    }
}

/// The files, the one at the top of the diff marked; the list scrolls to
/// keep it in sight.
fn file_list(app: &App, files: &[FileStat], current: Option<usize>, area: Rect, buf: &mut Buffer) {
    let height = usize::from(area.height);
    let width = usize::from(area.width);
    let first = current
        .unwrap_or(0)
        .saturating_sub(height.saturating_sub(1));
    let lines: Vec<Line<'static>> = files
        .iter()
        .enumerate()
        .skip(first)
        .take(height)
        .map(|(i, f)| {
            let counts = format!(" {}", counts(f));
            let room = width.saturating_sub(counts.chars().count() + 2);
            let path = safe(&f.path);
            // The end of a long path says more than its start.
            let shown = if path.chars().count() > room {
                let tail: String = path
                    .chars()
                    .rev()
                    .take(room.saturating_sub(1))
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect();
                format!("…{tail}")
            } else {
                path
            };
            let style = if Some(i) == current {
                app.theme.gate
            } else {
                Style::new()
            };
            let mark = if app.viewed().contains(&f.path) {
                '✓'
            } else {
                ' '
            };
            Line::from(vec![
                Span::styled(format!("{}{mark}", f.status.letter()), style),
                Span::styled(format!("{shown:<room$}"), style),
                Span::styled(counts, app.theme.dim),
            ])
        })
        .collect();
    Paragraph::new(lines).render(area, buf);
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
