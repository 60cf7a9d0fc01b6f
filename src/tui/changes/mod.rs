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
//! screens. Once the grammars are loaded (off the UI task too: the loop
//! asks [`Changes::syntaxes_request`] and hands them to
//! [`Changes::syntaxes_loaded`]), a frame draws the rows in sight again
//! with their code highlighted ([`syntax`]), parsing only what it has not
//! drawn before. Every text passes the sanitizer.

mod keys;
mod layout;
pub mod syntax;

use std::cell::RefCell;
use std::path::PathBuf;
use std::sync::Arc;

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Widget};

use super::Theme;
use super::app::App;
use super::keymap::{Act, Context};
use super::review::line_of;
use super::text::{clip, safe};
use crate::changes::{Change, FileStat, summary};

pub use layout::{Drawn, LineAt, Rows, lay_out};
use layout::{file_title, highlighted};
use syntax::{Highlights, Syntaxes};

/// The two commits a change is between: its base (none: from nothing) and
/// its snapshot.
type Compared = (Option<String>, String);

/// How many changes sent by the engine are kept.
const KNOWN: usize = 4;

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

/// Where loading the grammars stands: not asked for until a Changes view
/// opens.
#[derive(Clone, Debug, Default)]
enum Grammars {
    #[default]
    Unwanted,
    Wanted,
    Loading,
    Ready(Arc<Syntaxes>),
}

/// The Changes view's own state: which snapshot is open, the change read
/// for it, and its layout.
#[derive(Debug, Default)]
pub struct Changes {
    /// The grammars for highlighting, shared with the task that loaded
    /// them.
    grammars: Grammars,
    /// The open change's highlighting as far as it was drawn.
    highlights: RefCell<Option<Highlights>>,
    /// The change the loop was asked to highlight whole.
    filling: Option<Arc<Change>>,
    /// The two commits the view compares, and how far reading it got.
    open: Option<(Compared, Load)>,
    /// Changes the engine read whole at its latest snapshots (newest
    /// first), so opening one needs no reading.
    known: Vec<(Compared, Arc<Change>)>,
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
        let known = self
            .known
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, change)| Arc::clone(change));
        let load = match (known, root) {
            (Some(change), _) => Load::Ready(change),
            (None, root) => match root {
                Some(root) => Load::Wanted(ChangeRequest {
                    root,
                    base: key.0.clone(),
                    commit: key.1.clone(),
                }),
                None => Load::Failed("the session has no workspace".into()),
            },
        };
        self.open = Some((key, load));
        self.layout.replace(None);
        self.highlights.replace(None);
        self.cursor = 0;
        if matches!(self.grammars, Grammars::Unwanted) {
            self.grammars = Grammars::Wanted;
        }
    }

    /// Whether the loop should load the grammars now (once, when a view
    /// first opens).
    pub fn syntaxes_request(&mut self) -> bool {
        let wanted = matches!(self.grammars, Grammars::Wanted);
        if wanted {
            self.grammars = Grammars::Loading;
        }
        wanted
    }

    /// The grammars, loaded: frames highlight from now on.
    pub fn syntaxes_loaded(&mut self, syntaxes: Arc<Syntaxes>) {
        self.grammars = Grammars::Ready(syntaxes);
        self.highlights.replace(None);
    }

    /// The open change and the grammars, once both are there, for the
    /// loop to highlight the whole change off the UI task and hand back
    /// ([`Changes::filled`]); once per change.
    pub fn fill_request(&mut self) -> Option<(Arc<Change>, Highlights)> {
        let Grammars::Ready(syntaxes) = &self.grammars else {
            return None;
        };
        let change = self.ready()?;
        if self
            .filling
            .as_ref()
            .is_some_and(|asked| Arc::ptr_eq(asked, change))
        {
            return None;
        }
        let change = Arc::clone(change);
        self.filling = Some(Arc::clone(&change));
        Some((change, Highlights::new(Arc::clone(syntaxes))))
    }

    /// The whole change highlighted: kept if the view still shows it.
    pub fn filled(&mut self, change: &Arc<Change>, highlights: Highlights) {
        if self.ready().is_some_and(|open| Arc::ptr_eq(open, change)) {
            self.highlights.replace(Some(highlights));
        }
    }

    /// The row of the layout `rows` at `row`, drawn again with its code
    /// highlighted, if the grammars and the change are there.
    fn highlighted(&self, rows: &Rows, row: usize, theme: &Theme) -> Option<Line<'static>> {
        let Grammars::Ready(syntaxes) = &self.grammars else {
            return None;
        };
        let change = self.ready()?;
        let drawn = (*rows.drawn.get(row)?)?;
        let mut highlights = self.highlights.borrow_mut();
        let highlights = highlights.get_or_insert_with(|| Highlights::new(Arc::clone(syntaxes)));
        highlighted(change, drawn, rows.width, theme, highlights)
    }

    /// A frame begins: the highlighting it does on the UI task starts a
    /// new budget.
    fn new_frame(&self) {
        if let Some(highlights) = self.highlights.borrow_mut().as_mut() {
            highlights.frame();
        }
    }

    /// The diff line under the cursor, if it is on one.
    pub fn at_cursor(&self) -> Option<LineAt> {
        self.laid_out()?.at.get(self.cursor).copied().flatten()
    }

    /// Keeps a change the engine read whole (the last few).
    pub fn known(&mut self, base: Option<String>, commit: String, change: Arc<Change>) {
        self.known.insert(0, ((base, commit), change));
        self.known.truncate(KNOWN);
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
            self.highlights.replace(None);
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
    app.changes.new_frame();
    let mut under_cursor = None;
    let shown: Vec<Line<'static>> = rows
        .lines
        .iter()
        .enumerate()
        .skip(app.scroll)
        .take(usize::from(area.height))
        .map(|(row, line)| {
            let mut line = app
                .changes
                .highlighted(rows, row, &app.theme)
                .unwrap_or_else(|| line.clone());
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
            let counts = format!(" {}", f.counts());
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
