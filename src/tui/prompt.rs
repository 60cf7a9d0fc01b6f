//! The request box: where a session starts when no request was given.
//!
//! A one-line editor over a short description of the pipeline that will
//! run. Enter starts the session with the text; Esc leaves. Pasted text
//! arrives whole (bracketed paste) with its line breaks folded to spaces.

use std::io;

use crossterm::event::{
    DisableBracketedPaste, EnableBracketedPaste, Event as TermEvent, EventStream, KeyCode,
    KeyEvent, KeyEventKind, KeyModifiers,
};
use crossterm::execute;
use futures::StreamExt;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Widget, Wrap};

use super::Theme;
use super::text::safe;
use crate::pipeline::Pipeline;

/// The request being typed.
#[derive(Debug)]
pub struct RequestBox<'a> {
    pub text: Vec<char>,
    pub cursor: usize,
    pub pipeline: &'a Pipeline,
    pub provider: &'a str,
    pub theme: &'a Theme,
}

/// What a key did to the box.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Editing,
    Submit(String),
    Cancel,
}

impl RequestBox<'_> {
    fn insert(&mut self, text: &str) {
        for c in text.chars() {
            let c = if c.is_control() { ' ' } else { c };
            self.text.insert(self.cursor, c);
            self.cursor += 1;
        }
    }

    /// Handles one key.
    pub fn on_key(&mut self, key: &KeyEvent) -> Outcome {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Esc => return Outcome::Cancel,
            KeyCode::Char('c') if ctrl => return Outcome::Cancel,
            KeyCode::Char('u') if ctrl => {
                self.text.drain(..self.cursor);
                self.cursor = 0;
            }
            KeyCode::Enter => {
                let text: String = self.text.iter().collect();
                if !text.trim().is_empty() {
                    return Outcome::Submit(text.trim().to_owned());
                }
            }
            KeyCode::Char(c) if !ctrl => self.insert(&c.to_string()),
            KeyCode::Backspace if self.cursor > 0 => {
                self.cursor -= 1;
                self.text.remove(self.cursor);
            }
            KeyCode::Delete if self.cursor < self.text.len() => {
                self.text.remove(self.cursor);
            }
            KeyCode::Left => self.cursor = self.cursor.saturating_sub(1),
            KeyCode::Right => self.cursor = (self.cursor + 1).min(self.text.len()),
            KeyCode::Home => self.cursor = 0,
            KeyCode::End => self.cursor = self.text.len(),
            _ => {}
        }
        Outcome::Editing
    }
}

impl Widget for &RequestBox<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let [title, _, input, _, about, footer] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Length(1),
            Constraint::Length(5),
            Constraint::Length(1),
            Constraint::Fill(1),
            Constraint::Length(1),
        ])
        .areas(area);
        Line::from(vec![
            Span::styled(" handoff ", self.theme.title),
            Span::styled(format!(" {} ", self.provider), self.theme.badge),
            Span::raw(" What should the team build?"),
        ])
        .render(title, buf);
        let before: String = self.text[..self.cursor].iter().collect();
        let at = self
            .text
            .get(self.cursor)
            .map_or(" ".to_owned(), char::to_string);
        let after: String = self
            .text
            .get(self.cursor + 1..)
            .map(|r| r.iter().collect())
            .unwrap_or_default();
        Paragraph::new(Line::from(vec![
            Span::raw(before),
            Span::styled(at, self.theme.gate),
            Span::raw(after),
        ]))
        .wrap(Wrap { trim: false })
        .block(
            Block::bordered()
                .title(" Feature request ")
                .border_style(self.theme.border_focus),
        )
        .render(input, buf);
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
        Paragraph::new(lines).render(about, buf);
        Line::from(vec![
            Span::styled(" enter", self.theme.key),
            Span::styled(" start  ", self.theme.dim),
            Span::styled("esc", self.theme.key),
            Span::styled(" quit", self.theme.dim),
        ])
        .render(footer, buf);
    }
}

/// Asks for a request in the terminal; `None` when the user leaves.
pub async fn ask(pipeline: &Pipeline, provider: &str, theme: &Theme) -> io::Result<Option<String>> {
    let mut terminal = ratatui::try_init()?;
    execute!(io::stdout(), EnableBracketedPaste)?;
    let mut request = RequestBox {
        text: Vec::new(),
        cursor: 0,
        pipeline,
        provider,
        theme,
    };
    let mut input = EventStream::new();
    let result = loop {
        if let Err(e) = terminal.draw(|f| f.render_widget(&request, f.area())) {
            break Err(e);
        }
        match input.next().await {
            Some(Ok(TermEvent::Key(key))) if key.kind != KeyEventKind::Release => {
                match request.on_key(&key) {
                    Outcome::Editing => {}
                    Outcome::Submit(text) => break Ok(Some(text)),
                    Outcome::Cancel => break Ok(None),
                }
            }
            Some(Ok(TermEvent::Paste(text))) => request.insert(&text),
            Some(Ok(_)) => {}
            Some(Err(e)) => break Err(e),
            None => break Ok(None),
        }
    };
    let pasted = execute!(io::stdout(), DisableBracketedPaste);
    let restored = ratatui::try_restore();
    let text = result?;
    pasted?;
    restored?;
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::{SkillsFile, load_pipeline};

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn editing_and_submitting() {
        let pipeline = load_pipeline(&SkillsFile::builtin(), None).expect("builtin");
        let theme = Theme::mono();
        let mut b = RequestBox {
            text: Vec::new(),
            cursor: 0,
            pipeline: &pipeline,
            provider: "offline",
            theme: &theme,
        };
        assert_eq!(
            b.on_key(&key(KeyCode::Enter)),
            Outcome::Editing,
            "an empty request is not submitted"
        );
        for c in "Add a lmit".chars() {
            b.on_key(&key(KeyCode::Char(c)));
        }
        for _ in 0..3 {
            b.on_key(&key(KeyCode::Left));
        }
        b.on_key(&key(KeyCode::Char('i')));
        b.insert("\u{1b}[31m!");
        assert_eq!(
            b.on_key(&key(KeyCode::Enter)),
            Outcome::Submit("Add a li [31m!mit".into())
        );
        assert_eq!(b.on_key(&key(KeyCode::Esc)), Outcome::Cancel);
    }
}
