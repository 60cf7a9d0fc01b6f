//! The multi-line boxes a reviewer writes in: the artifact editor and the
//! notes, feedback and return-reason boxes.
//!
//! A [`Compose`] wraps a `ratatui-textarea` editor (search, soft wrap; line
//! numbers in the editor; undo and redo a word at a time through
//! [`WordUndo`]) with what the text is for. Keys go to
//! the editor except the few the keymap's `editor` context binds (submit,
//! cancel, undo, redo, search). Cancelling changed text asks first. A
//! paste ([`Compose::paste`]) goes in at once as one edit, cleaned of
//! escape sequences and control characters but its line breaks and tabs.
//! The box never sends anything itself: [`Compose::on_key`] says what happened and
//! the app turns a submission into a decision.

use crossterm::event::KeyEvent;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Widget};
use ratatui_textarea::{TextArea, WrapMode};

use super::Theme;
use super::keymap::{Act, Context, Keymap, TextKey, context_acts};
use super::overlay::Confirm;
use super::text::clip;
use super::undo::WordUndo;

/// What the text will become.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// Notes that travel with an approval.
    Notes,
    /// Feedback for a new attempt; optional when retrying a failed phase.
    Feedback { required: bool },
    /// Why work returns to phase `to`.
    Reason { to: usize },
    /// A replacement for the artifact.
    Edit,
    /// Why a command is denied (optional), for the agent to read.
    DenyReason { call_id: String },
    /// A review comment on one line of a phase's change (empty removes it).
    Comment {
        file: String,
        line: usize,
        code: String,
    },
}

context_acts! {
    /// The keys the editor context takes from the text box.
    enum Editor {
        Submit,
        Back,
        Undo,
        Redo,
        Search,
        NextMatch,
        PrevMatch,
    }
}

/// What a key did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Typed {
    Editing,
    Cancelled,
    Submitted(String),
}

/// A box being written in.
#[derive(Debug)]
pub struct Compose {
    pub purpose: Purpose,
    /// The `seq` of the gate this box answers (none for a permission's
    /// reason). Submitted, it is sent for that gate only.
    pub gate: Option<u64>,
    pub title: String,
    pub editor: TextArea<'static>,
    undo: WordUndo,
    initial: String,
    /// Asking whether to throw away changed text.
    pub confirm_discard: bool,
    /// A search being typed, after `ctrl-f`.
    pub search: Option<String>,
    /// Why the last submit was refused.
    pub problem: Option<String>,
}

/// Pasted text as it may go into a box: line breaks as `\n` (terminals
/// paste `\r\n` or a bare `\r`), tabs kept, and escape sequences and every
/// other control character removed ([`crate::sanitize`]).
pub fn pasted(text: &str) -> String {
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    crate::sanitize::sanitize_keeping(&text, &['\t']).into_owned()
}

/// Pasted text for a one-line field (a search, the request): as
/// [`pasted`], with line breaks and tabs as spaces.
pub fn pasted_line(text: &str) -> String {
    pasted(text)
        .chars()
        .map(|c| if c == '\n' || c == '\t' { ' ' } else { c })
        .collect()
}

/// Escapes regex syntax so a search finds the literal text.
fn literal(query: &str) -> String {
    let mut out = String::with_capacity(query.len());
    for c in query.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

impl Compose {
    pub fn new(purpose: Purpose, title: String, initial: &str, theme: &Theme) -> Self {
        let mut editor = TextArea::new(initial.lines().map(str::to_owned).collect());
        editor.set_wrap_mode(WrapMode::WordOrGlyph);
        editor.set_cursor_line_style(theme.editor_cursor_line);
        editor.set_search_style(theme.search_match);
        editor.set_selection_style(theme.selection);
        WordUndo::prepare(&mut editor);
        if purpose == Purpose::Edit {
            editor.set_line_number_style(theme.line_number);
        }
        Self {
            purpose,
            gate: None,
            title,
            editor,
            undo: WordUndo::default(),
            initial: initial.to_owned(),
            confirm_discard: false,
            search: None,
            problem: None,
        }
    }

    /// A box opened again on `text` written over `initial` (so it still
    /// counts as changed).
    pub fn reopened(
        purpose: Purpose,
        title: String,
        initial: &str,
        text: &str,
        theme: &Theme,
    ) -> Self {
        let mut compose = Self::new(purpose, title, text, theme);
        initial.clone_into(&mut compose.initial);
        compose
    }

    /// The text as written.
    pub fn text(&self) -> String {
        let mut text = self.editor.lines().join("\n");
        if self.purpose == Purpose::Edit && self.initial.ends_with('\n') {
            text.push('\n');
        }
        text
    }

    pub fn modified(&self) -> bool {
        self.text().trim_end() != self.initial.trim_end()
    }

    /// Handles one key.
    pub fn on_key(&mut self, key: &KeyEvent, keymap: &Keymap) -> Typed {
        self.problem = None;
        if self.confirm_discard {
            self.confirm_discard = false;
            return match keymap.act_in(Context::Confirm, key) {
                Some(Confirm::Confirm) => Typed::Cancelled,
                Some(Confirm::Quit) | None => Typed::Editing,
            };
        }
        if let Some(query) = &mut self.search {
            match TextKey::of(key) {
                TextKey::Enter => {
                    let query = literal(query);
                    self.search = None;
                    if self.editor.set_search_pattern(query).is_ok()
                        && !self.editor.search_forward(true)
                    {
                        self.problem = Some("no match".into());
                    }
                }
                TextKey::Esc => self.search = None,
                TextKey::Backspace => {
                    query.pop();
                }
                TextKey::Char(c) => query.push(c),
                TextKey::Delete
                | TextKey::Left
                | TextKey::Right
                | TextKey::Home
                | TextKey::End
                | TextKey::Other => {}
            }
            return Typed::Editing;
        }
        match keymap.act_in(Context::Editor, key) {
            Some(Editor::Submit) => return self.submit(keymap),
            Some(Editor::Back) if self.modified() => self.confirm_discard = true,
            Some(Editor::Back) => return Typed::Cancelled,
            Some(Editor::Undo) => {
                self.undo.undo(&mut self.editor);
            }
            Some(Editor::Redo) => {
                self.undo.redo(&mut self.editor);
            }
            Some(Editor::Search) => self.search = Some(String::new()),
            Some(Editor::NextMatch) => {
                self.editor.search_forward(false);
            }
            Some(Editor::PrevMatch) => {
                self.editor.search_back(false);
            }
            None => {
                self.undo.input(&mut self.editor, *key);
            }
        }
        Typed::Editing
    }

    /// Takes pasted text: into the search being typed (its line breaks
    /// as spaces), else into the text at the cursor, at once and as one
    /// edit (one undo takes it back). A pending "discard?" question is
    /// answered "keep editing", as any key but the confirming one would.
    pub fn paste(&mut self, text: &str) {
        self.problem = None;
        self.confirm_discard = false;
        match &mut self.search {
            Some(query) => query.push_str(&pasted_line(text)),
            None => {
                self.undo
                    .edit(&mut self.editor, |e| e.insert_str(pasted(text)));
            }
        }
    }

    fn submit(&mut self, keymap: &Keymap) -> Typed {
        let text = self.text();
        let empty = text.trim().is_empty();
        let problem = match self.purpose {
            Purpose::Notes if empty => Some(format!(
                "write a note, or press {} to cancel",
                keymap.label(&[Context::Editor], Act::Back)
            )),
            Purpose::Feedback { required: true } if empty => {
                Some("say what to change: the next attempt reads this".to_owned())
            }
            Purpose::Reason { .. } if empty => {
                Some("say why: the phase that runs again reads this".to_owned())
            }
            Purpose::Edit if !self.modified() => Some("nothing changed".to_owned()),
            Purpose::Edit if empty => Some("an artifact cannot be empty".to_owned()),
            Purpose::Notes
            | Purpose::Feedback { .. }
            | Purpose::Reason { .. }
            | Purpose::Edit
            | Purpose::DenyReason { .. }
            | Purpose::Comment { .. } => None,
        };
        match problem {
            Some(p) => {
                self.problem = Some(p);
                Typed::Editing
            }
            None if self.purpose == Purpose::Edit => Typed::Submitted(text),
            None => Typed::Submitted(text.trim().to_owned()),
        }
    }

    /// Where the box goes: the editor takes the whole area, the others a
    /// box in the middle.
    pub fn area(&self, screen: Rect) -> Rect {
        if self.purpose == Purpose::Edit {
            return screen;
        }
        let width = screen.width.saturating_sub(4).min(90);
        let height = screen.height.saturating_sub(2).min(14);
        Rect {
            x: screen.x + (screen.width - width) / 2,
            y: screen.y + (screen.height - height) / 2,
            width,
            height,
        }
    }

    /// Draws the box into `area` (as given by [`Compose::area`]).
    pub fn render(&self, area: Rect, buf: &mut Buffer, theme: &Theme, keymap: &Keymap) {
        Clear.render(area, buf);
        let block = Block::bordered()
            .title(Span::styled(
                clip(&format!(" {} ", self.title), usize::from(area.width)),
                theme.title,
            ))
            .border_style(theme.border_focus);
        let inner = block.inner(area);
        block.render(area, buf);
        let [text, status] =
            Layout::vertical([Constraint::Fill(1), Constraint::Length(1)]).areas(inner);
        (&self.editor).render(text, buf);
        let line = if self.confirm_discard {
            Line::from(vec![
                Span::styled(" Discard your changes? ", theme.awaiting),
                Span::styled(
                    keymap.label(&[Context::Confirm], Act::Confirm).to_owned(),
                    theme.key,
                ),
                Span::raw(" discard · any other key keeps editing"),
            ])
        } else if let Some(query) = &self.search {
            Line::from(vec![
                Span::styled(" search: ", theme.key),
                Span::raw(super::text::safe(query)),
                Span::styled("▏", theme.key),
            ])
        } else if let Some(problem) = &self.problem {
            Line::styled(format!(" {problem}"), theme.failed)
        } else {
            Line::from(
                keymap
                    .hints(Context::Editor)
                    .flat_map(|(key, hint, _)| super::chrome::hint_spans(theme, key, hint))
                    .collect::<Vec<_>>(),
            )
        };
        line.render(status, buf);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::{KeyCode, KeyModifiers};

    fn press(c: &mut Compose, code: KeyCode, modifiers: KeyModifiers) -> Typed {
        c.on_key(&KeyEvent::new(code, modifiers), &Keymap::default())
    }

    fn typed(c: &mut Compose, text: &str) {
        for ch in text.chars() {
            press(c, KeyCode::Char(ch), KeyModifiers::NONE);
        }
    }

    #[test]
    fn feedback_is_required_then_submitted_trimmed() {
        let mut c = Compose::new(
            Purpose::Feedback { required: true },
            "t".into(),
            "",
            &Theme::mono(),
        );
        assert_eq!(
            press(&mut c, KeyCode::Char('s'), KeyModifiers::CONTROL),
            Typed::Editing
        );
        assert!(c.problem.is_some());
        typed(&mut c, "more detail ");
        press(&mut c, KeyCode::Enter, KeyModifiers::NONE);
        typed(&mut c, "please");
        assert_eq!(
            press(&mut c, KeyCode::Char('s'), KeyModifiers::CONTROL),
            Typed::Submitted("more detail \nplease".into())
        );
    }

    #[test]
    fn cancelling_changed_text_asks_first_and_undo_works() {
        let mut c = Compose::new(Purpose::Edit, "t".into(), "# Plan\nline\n", &Theme::mono());
        assert_eq!(
            press(&mut c, KeyCode::Esc, KeyModifiers::NONE),
            Typed::Cancelled,
            "unchanged: no question"
        );
        let mut c = Compose::new(Purpose::Edit, "t".into(), "# Plan\nline\n", &Theme::mono());
        typed(&mut c, "X");
        assert!(c.modified());
        assert_eq!(
            press(&mut c, KeyCode::Esc, KeyModifiers::NONE),
            Typed::Editing
        );
        assert!(c.confirm_discard);
        assert_eq!(
            press(&mut c, KeyCode::Char('n'), KeyModifiers::NONE),
            Typed::Editing
        );
        press(&mut c, KeyCode::Char('z'), KeyModifiers::CONTROL);
        assert!(!c.modified(), "{:?}", c.text());
        typed(&mut c, "Y");
        assert_eq!(
            press(&mut c, KeyCode::Char('s'), KeyModifiers::CONTROL),
            Typed::Submitted("Y# Plan\nline\n".into())
        );
    }

    #[test]
    fn undo_takes_back_a_word_at_a_time() {
        let mut c = Compose::new(Purpose::Notes, "t".into(), "", &Theme::mono());
        typed(&mut c, "ship it today");
        press(&mut c, KeyCode::Char('z'), KeyModifiers::CONTROL);
        assert_eq!(c.text(), "ship it ");
        press(&mut c, KeyCode::Char('z'), KeyModifiers::CONTROL);
        assert_eq!(c.text(), "ship ");
        press(&mut c, KeyCode::Char('y'), KeyModifiers::CONTROL);
        assert_eq!(c.text(), "ship it ");
    }

    #[test]
    fn a_paste_goes_in_whole_as_one_edit_without_controls() {
        let mut c = Compose::new(Purpose::Notes, "t".into(), "", &Theme::mono());
        typed(&mut c, "ab");
        press(&mut c, KeyCode::Left, KeyModifiers::NONE);
        c.paste("1\r\n2\r3\t\x1b[31mred\x07\n4");
        assert_eq!(c.text(), "a1\n2\n3\tred\n4b");
        assert_eq!(c.editor.cursor(), (3, 1));
        press(&mut c, KeyCode::Char('z'), KeyModifiers::CONTROL);
        assert_eq!(c.text(), "ab", "one undo takes the paste back");
    }

    #[test]
    fn a_paste_while_searching_goes_into_the_search() {
        let mut c = Compose::new(Purpose::Edit, "t".into(), "x\n", &Theme::mono());
        press(&mut c, KeyCode::Char('f'), KeyModifiers::CONTROL);
        c.paste("a\nb");
        assert_eq!(c.search.as_deref(), Some("a b"));
        assert_eq!(c.text(), "x\n");
    }

    #[test]
    fn search_moves_the_cursor_to_a_literal_match() {
        let mut c = Compose::new(
            Purpose::Edit,
            "t".into(),
            "a\nb (x)\nc (x)\n",
            &Theme::mono(),
        );
        press(&mut c, KeyCode::Char('f'), KeyModifiers::CONTROL);
        typed(&mut c, "(x)");
        press(&mut c, KeyCode::Enter, KeyModifiers::NONE);
        assert_eq!(c.editor.cursor(), (1, 2));
        press(&mut c, KeyCode::Char('n'), KeyModifiers::CONTROL);
        assert_eq!(c.editor.cursor(), (2, 2));
    }
}
