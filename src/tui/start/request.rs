//! The start screen's request box and list of recent sessions: what is
//! typed, which session is picked, the keys (the keymap's `start` and
//! `recent` contexts; other keys edit the request or the filter) and the
//! drawing, footer included.

use crossterm::event::{KeyEvent, KeyModifiers};
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Widget, Wrap};
use ratatui_textarea::{TextArea, WrapMode};

use super::{Choice, Recent};
use crate::pipeline::Pipeline;
use crate::tui::Theme;
use crate::tui::chrome::hint_spans;
use crate::tui::keymap::{Act, Context, Keymap, TextKey, context_acts};
use crate::tui::overlay::Confirm;
use crate::tui::text::safe;
use crate::tui::undo::WordUndo;

/// The most lines the request box grows to before it scrolls.
const MAX_REQUEST_LINES: u16 = 8;

/// The start screen's state.
#[derive(Debug)]
pub struct RequestBox<'a> {
    /// The request being written (several lines if need be).
    editor: TextArea<'static>,
    undo: WordUndo,
    pub pipeline: &'a Pipeline,
    pub provider: &'a str,
    pub theme: &'a Theme,
    pub keymap: &'a Keymap,
    recent: Vec<Recent>,
    /// Each recent session's short id, worked out once per list.
    short_ids: Vec<String>,
    /// Keys go to the list of recent sessions instead of the request.
    pub in_list: bool,
    pub selected: usize,
    pub filter: String,
    /// Why the last key did nothing (an empty request sent), until the next.
    pub problem: Option<String>,
    /// Asking whether to leave and drop the typed request.
    pub confirm_leave: bool,
}

impl<'a> RequestBox<'a> {
    /// An empty request, with no sessions listed yet.
    pub fn new(
        pipeline: &'a Pipeline,
        provider: &'a str,
        theme: &'a Theme,
        keymap: &'a Keymap,
    ) -> Self {
        let mut editor = TextArea::default();
        editor.set_wrap_mode(WrapMode::WordOrGlyph);
        editor.set_cursor_line_style(ratatui::style::Style::new());
        editor.set_cursor_style(theme.gate);
        WordUndo::prepare(&mut editor);
        Self {
            editor,
            undo: WordUndo::default(),
            pipeline,
            provider,
            theme,
            keymap,
            recent: Vec::new(),
            short_ids: Vec::new(),
            in_list: false,
            selected: 0,
            filter: String::new(),
            problem: None,
            confirm_leave: false,
        }
    }

    /// Inserts pasted text at the cursor, at once and as one edit (one undo
    /// takes it back): escape sequences and control characters removed but
    /// line breaks and tabs.
    pub fn insert(&mut self, text: &str) {
        let text = super::super::compose::pasted(text);
        self.undo.edit(&mut self.editor, |e| e.insert_str(text));
    }

    /// The request as written.
    pub fn text(&self) -> String {
        self.editor.lines().join("\n")
    }

    /// Lists `recent` and works out their short ids.
    pub fn set_recent(&mut self, recent: Vec<Recent>) {
        let ids: Vec<&str> = recent.iter().map(|r| r.id.as_str()).collect();
        self.short_ids = ids.iter().map(|id| short_id(id, &ids).to_owned()).collect();
        self.recent = recent;
        self.selected = 0;
    }

    /// Whether there are recent sessions to list.
    pub fn has_recent(&self) -> bool {
        !self.recent.is_empty()
    }

    /// The recent sessions the filter lets through.
    pub fn shown(&self) -> Vec<&Recent> {
        self.recent
            .iter()
            .filter(|r| r.matches(&self.filter))
            .collect()
    }

    fn list_key(&mut self, key: &KeyEvent) -> Choice {
        let count = self.shown().len();
        match self.keymap.act_in(Context::Recent, key) {
            Some(RecentAct::Back) => self.in_list = false,
            Some(RecentAct::Quit) => return Choice::Cancel,
            Some(RecentAct::Stats) => return Choice::Stats,
            Some(RecentAct::Up) => self.selected = self.selected.saturating_sub(1),
            Some(RecentAct::Down) => {
                self.selected = (self.selected + 1).min(count.saturating_sub(1));
            }
            Some(act @ (RecentAct::Open | RecentAct::Replay)) => {
                if let Some(session) = self.shown().get(self.selected) {
                    let path = session.path.clone();
                    return if act == RecentAct::Open && session.resumable() {
                        Choice::Resume(path)
                    } else {
                        Choice::Replay(path)
                    };
                }
            }
            None => self.type_filter(key),
        }
        Choice::Editing
    }

    /// A key the list's bindings leave alone edits its filter.
    fn type_filter(&mut self, key: &KeyEvent) {
        match TextKey::of(key) {
            TextKey::Backspace => {
                self.filter.pop();
                self.selected = 0;
            }
            TextKey::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
                self.filter.push(c);
                self.selected = 0;
            }
            TextKey::Char(_)
            | TextKey::Delete
            | TextKey::Left
            | TextKey::Right
            | TextKey::Home
            | TextKey::End
            | TextKey::Enter
            | TextKey::Esc
            | TextKey::Other => {}
        }
    }

    /// Handles one key: the keymap's `start` context (or `recent`, in the
    /// list), else the key edits the request.
    pub fn on_key(&mut self, key: &KeyEvent) -> Choice {
        self.problem = None;
        if self.confirm_leave {
            self.confirm_leave = false;
            return match self.keymap.act_in(Context::Confirm, key) {
                Some(Confirm::Confirm) => Choice::Cancel,
                Some(Confirm::Quit) | None => Choice::Editing,
            };
        }
        if self.in_list {
            return self.list_key(key);
        }
        match self.keymap.act_in(Context::Start, key) {
            // Typed text is not thrown away on one key.
            Some(StartAct::Quit) if !self.text().trim().is_empty() => {
                self.confirm_leave = true;
            }
            Some(StartAct::Quit) => return Choice::Cancel,
            Some(StartAct::Recent) if self.has_recent() => self.in_list = true,
            Some(StartAct::Stats) if self.has_recent() => return Choice::Stats,
            Some(StartAct::Recent | StartAct::Stats) => {}
            Some(StartAct::Submit) => {
                let text = self.text();
                if !text.trim().is_empty() {
                    return Choice::Submit(text.trim().to_owned());
                }
                self.problem = Some("type what the team should build first".to_owned());
            }
            Some(StartAct::Newline) => {
                self.undo.edit(&mut self.editor, |e| {
                    e.insert_newline();
                    true
                });
            }
            Some(StartAct::Undo) => {
                self.undo.undo(&mut self.editor);
            }
            Some(StartAct::Redo) => {
                self.undo.redo(&mut self.editor);
            }
            None => {
                self.undo.input(&mut self.editor, *key);
            }
        }
        Choice::Editing
    }
}

context_acts! {
    /// The request box's keys.
    enum StartAct {
        Submit,
        Newline,
        Undo,
        Redo,
        Recent,
        Stats,
        Quit,
    }
}

context_acts! {
    /// The list of recent sessions' keys.
    enum RecentAct {
        Open,
        Replay,
        Back,
        Stats,
        Down,
        Up,
        Quit,
    }
}

/// The shortest prefix of `id` that no other of `ids` starts with (at
/// least six characters): what `handoff resume` accepts for it.
fn short_id<'i>(id: &'i str, ids: &[&str]) -> &'i str {
    let ends = id.char_indices().map(|(i, c)| i + c.len_utf8());
    for end in ends.skip(5) {
        let prefix = &id[..end];
        if ids.iter().filter(|other| other.starts_with(prefix)).count() <= 1 {
            return prefix;
        }
    }
    id
}

impl RequestBox<'_> {
    fn render_recent(&self, area: Rect, buf: &mut Buffer) {
        let title = if self.filter.is_empty() {
            " Recent sessions ".to_owned()
        } else {
            format!(" Recent sessions · filter “{}” ", safe(&self.filter))
        };
        let border = if self.in_list {
            self.theme.border_focus
        } else {
            self.theme.border
        };
        let block = Block::bordered().title(title).border_style(border);
        let inner = block.inner(area);
        block.render(area, buf);
        let width = usize::from(inner.width);
        let height = usize::from(inner.height);
        // The list scrolls so that the selection is always on screen.
        let first = self.selected.saturating_sub(height.saturating_sub(1));
        let id_width = self.short_ids.iter().map(String::len).max().unwrap_or(0);
        let lines: Vec<Line<'static>> = self
            .recent
            .iter()
            .zip(&self.short_ids)
            .filter(|(r, _)| r.matches(&self.filter))
            .enumerate()
            .skip(first)
            .take(height)
            .map(|(i, (r, short))| {
                let text = format!(
                    "{:<id_width$} {:<13} {:>4} {:<10} {:<7} {}",
                    safe(short),
                    r.status,
                    r.age,
                    safe(&r.phase),
                    crate::tui::text::clip(&r.provider, 7),
                    safe(&r.request)
                );
                let style = if self.in_list && i == self.selected {
                    self.theme.gate
                } else {
                    ratatui::style::Style::new()
                };
                Line::styled(crate::tui::text::clip(&text, width), style)
            })
            .collect();
        Paragraph::new(lines).render(inner, buf);
    }
}

impl RequestBox<'_> {
    /// The footer: the bindings of the context in force that do something
    /// now; in the list, typing filters (said before the way back).
    fn hints(&self) -> Vec<Span<'static>> {
        let (context, recent) = if self.in_list {
            (Context::Recent, true)
        } else {
            (Context::Start, self.has_recent())
        };
        let mut spans = Vec::new();
        for (key, hint, act) in self.keymap.hints(context) {
            if self.in_list && act == Act::Back {
                spans.extend(hint_spans(self.theme, "type", "filter"));
            }
            if recent || !matches!(act, Act::Recent | Act::Stats) {
                spans.extend(hint_spans(self.theme, key, hint));
            }
        }
        spans
    }
}

impl RequestBox<'_> {
    /// How many rows the request takes wrapped at `width`.
    fn request_rows(&self, width: u16) -> u16 {
        let width = usize::from(width.max(1));
        let rows: usize = self
            .editor
            .lines()
            .iter()
            .map(|l| Line::raw(l.as_str()).width().div_ceil(width).max(1))
            .sum();
        u16::try_from(rows).unwrap_or(u16::MAX)
    }
}

impl Widget for &RequestBox<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        // The request box grows with what is written, then scrolls.
        let rows = self.request_rows(area.width.saturating_sub(2));
        let [title, _, input, _, about, footer] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Length(1),
            Constraint::Length(rows.clamp(3, MAX_REQUEST_LINES) + 2),
            Constraint::Length(1),
            Constraint::Fill(1),
            Constraint::Length(1),
        ])
        .areas(area);
        Line::from(vec![
            Span::styled(" handoff ", self.theme.title),
            Span::styled(format!(" {} ", safe(self.provider)), self.theme.badge),
            Span::raw(" What should the team build?"),
        ])
        .render(title, buf);
        let block = Block::bordered()
            .title(" Feature request ")
            .border_style(self.theme.border_focus);
        let inner = block.inner(input);
        block.render(input, buf);
        (&self.editor).render(inner, buf);
        let mut lines = vec![Line::styled(
            format!(
                " Pipeline `{}`: a checkpoint after every phase",
                safe(&self.pipeline.name)
            ),
            self.theme.dim,
        )];
        for (i, p) in self.pipeline.phases.iter().enumerate() {
            lines.push(Line::from(vec![
                Span::styled(
                    format!("  {}. {:<26}", i + 1, safe(&p.role)),
                    self.theme.title,
                ),
                Span::styled(format!("writes {}", safe(&p.artifact)), self.theme.dim),
            ]));
        }
        // The pipeline takes the width its lines need, up to half the
        // screen beside the list; what still does not fit wraps.
        let needed = lines.iter().map(Line::width).max().unwrap_or(0);
        let needed = u16::try_from(needed + 1).unwrap_or(u16::MAX);
        let (about, list) = if !self.has_recent() {
            (about, None)
        } else if area.width >= 100 {
            let [left, right] = Layout::horizontal([
                Constraint::Length(needed.min(area.width / 2)),
                Constraint::Fill(1),
            ])
            .areas(about);
            (left, Some(right))
        } else {
            let tall = u16::try_from(lines.len()).unwrap_or(u16::MAX);
            let [top, bottom] =
                Layout::vertical([Constraint::Length(tall), Constraint::Fill(1)]).areas(about);
            (top, Some(bottom))
        };
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .render(about, buf);
        if let Some(list) = list {
            self.render_recent(list, buf);
        }
        let footer_line = if self.confirm_leave {
            Line::styled(
                format!(
                    " Leave and drop the request? {} leaves · any other key stays",
                    self.keymap.label(&[Context::Confirm], Act::Confirm)
                ),
                self.theme.gate,
            )
        } else if let Some(problem) = &self.problem {
            Line::styled(format!(" {problem}"), self.theme.gate)
        } else {
            Line::from(self.hints())
        };
        footer_line.render(footer, buf);
    }
}

#[cfg(test)]
mod tests {
    use crossterm::event::KeyCode;
    use std::path::PathBuf;

    use super::*;
    use crate::pipeline::{SkillsFile, load_pipeline};

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn editing_and_submitting() {
        let pipeline = load_pipeline(&SkillsFile::builtin(), None).expect("builtin");
        let theme = Theme::mono();
        let keymap = Keymap::default();
        let mut b = RequestBox::new(&pipeline, "offline", &theme, &keymap);
        assert_eq!(
            b.on_key(&key(KeyCode::Enter)),
            Choice::Editing,
            "an empty request is not submitted"
        );
        assert!(b.problem.is_some(), "and the box says why");
        for c in "Add a lmit".chars() {
            b.on_key(&key(KeyCode::Char(c)));
        }
        for _ in 0..3 {
            b.on_key(&key(KeyCode::Left));
        }
        b.on_key(&key(KeyCode::Char('i')));
        b.insert("\u{1b}[31m!\r\n?");
        let alt_enter = KeyEvent::new(KeyCode::Enter, KeyModifiers::ALT);
        assert_eq!(
            b.on_key(&alt_enter),
            Choice::Editing,
            "alt-enter adds a line"
        );
        let ctrl_j = KeyEvent::new(KeyCode::Char('j'), KeyModifiers::CONTROL);
        assert_eq!(b.on_key(&ctrl_j), Choice::Editing, "so does ctrl-j");
        assert_eq!(
            b.on_key(&key(KeyCode::Enter)),
            Choice::Submit("Add a li!\n?\n\nmit".into()),
            "a pasted escape sequence is dropped whole, its line breaks kept"
        );
        // Undo goes back a step at a time: the two new lines, the paste.
        let ctrl_z = KeyEvent::new(KeyCode::Char('z'), KeyModifiers::CONTROL);
        for _ in 0..3 {
            b.on_key(&ctrl_z);
        }
        assert_eq!(b.text(), "Add a limit");
        b.on_key(&ctrl_z);
        assert_eq!(b.text(), "Add a lmit", "the letter typed after moving");
        // Leaving with text in the box asks first; any key but yes stays.
        assert_eq!(b.on_key(&key(KeyCode::Esc)), Choice::Editing);
        assert!(b.confirm_leave);
        assert_eq!(b.on_key(&key(KeyCode::Char('n'))), Choice::Editing);
        assert_eq!(b.on_key(&key(KeyCode::Esc)), Choice::Editing);
        assert_eq!(b.on_key(&key(KeyCode::Char('y'))), Choice::Cancel);
        let mut b = RequestBox::new(&pipeline, "offline", &theme, &keymap);
        assert_eq!(
            b.on_key(&key(KeyCode::Esc)),
            Choice::Cancel,
            "an empty box leaves at once"
        );
    }

    #[test]
    fn the_list_filters_and_opens_sessions() {
        let pipeline = load_pipeline(&SkillsFile::builtin(), None).expect("builtin");
        let theme = Theme::mono();
        let keymap = Keymap::default();
        let recent = |id: &str, status: &str, request: &str| Recent {
            path: PathBuf::from(format!("{id}.jsonl")),
            id: id.into(),
            status: status.into(),
            request: request.into(),
            phase: "plan".into(),
            provider: "offline".into(),
            age: "1m".into(),
            at_gate: false,
        };
        let mut b = RequestBox::new(&pipeline, "offline", &theme, &keymap);
        b.set_recent(vec![
            recent("a", "finished", "Add an audit log"),
            recent("b", "interrupted", "Add rate limiting"),
        ]);
        b.on_key(&key(KeyCode::Tab));
        assert!(b.in_list);
        assert_eq!(
            b.on_key(&key(KeyCode::Enter)),
            Choice::Replay(PathBuf::from("a.jsonl")),
            "finished: replay"
        );
        for c in "rate".chars() {
            b.on_key(&key(KeyCode::Char(c)));
        }
        assert_eq!(b.shown().len(), 1);
        assert_eq!(
            b.on_key(&key(KeyCode::Enter)),
            Choice::Resume(PathBuf::from("b.jsonl")),
            "interrupted: resume"
        );
        let ctrl_r = KeyEvent::new(KeyCode::Char('r'), KeyModifiers::CONTROL);
        assert_eq!(b.on_key(&ctrl_r), Choice::Replay(PathBuf::from("b.jsonl")));
        b.on_key(&key(KeyCode::Tab));
        assert!(!b.in_list);
    }

    #[test]
    fn the_keys_and_the_footer_follow_the_keymap() {
        let pipeline = load_pipeline(&SkillsFile::builtin(), None).expect("builtin");
        let theme = Theme::mono();
        let text = "[[start]]\non = \"ctrl-g\"\naction = \"submit\"\n";
        let keymap = Keymap::patched("keymap.toml", text).expect("valid");
        let mut b = RequestBox::new(&pipeline, "offline", &theme, &keymap);
        let footer: String = b.hints().iter().map(|s| s.content.as_ref()).collect();
        assert_eq!(footer, " ctrl-g start  alt-enter new line  esc quit ");
        for c in "Go".chars() {
            b.on_key(&key(KeyCode::Char(c)));
        }
        assert_eq!(b.on_key(&key(KeyCode::Enter)), Choice::Editing);
        let ctrl_g = KeyEvent::new(KeyCode::Char('g'), KeyModifiers::CONTROL);
        assert_eq!(b.on_key(&ctrl_g), Choice::Submit("Go".into()));
    }

    #[test]
    fn the_list_scrolls_with_the_selection() {
        use ratatui::buffer::Buffer;
        let pipeline = load_pipeline(&SkillsFile::builtin(), None).expect("builtin");
        let theme = Theme::mono();
        let keymap = Keymap::default();
        let recent = (0..30)
            .map(|i| Recent {
                path: PathBuf::from(format!("s{i}.jsonl")),
                id: format!("s{i}"),
                status: "finished".into(),
                request: format!("request number {i}"),
                phase: "commit".into(),
                provider: "offline".into(),
                age: "1m".into(),
                at_gate: false,
            })
            .collect();
        let mut b = RequestBox::new(&pipeline, "offline", &theme, &keymap);
        b.set_recent(recent);
        b.on_key(&key(KeyCode::Tab));
        for _ in 0..25 {
            b.on_key(&key(KeyCode::Down));
        }
        let area = Rect::new(0, 0, 120, 24);
        let mut buf = Buffer::empty(area);
        (&b).render(area, &mut buf);
        let shown: String = buf
            .content()
            .iter()
            .map(ratatui::buffer::Cell::symbol)
            .collect();
        assert!(
            shown.contains("request number 25"),
            "the selection is on screen"
        );
        assert!(
            !shown.contains("request number 0 "),
            "the top scrolled away"
        );
    }

    #[test]
    fn short_ids_are_the_shortest_unique_prefixes() {
        let ids = [
            "20261120-100000-aaaa",
            "20261120-100000-aabb",
            "20261121-090000-cccc",
        ];
        assert_eq!(short_id(ids[0], &ids), "20261120-100000-aaa");
        assert_eq!(short_id(ids[2], &ids), "20261121");
        assert_eq!(short_id("20261121", &["20261121"]), "202611");
    }
}
