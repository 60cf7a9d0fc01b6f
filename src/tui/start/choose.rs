//! Choosing a pipeline for a request no pipeline's triggers match: the
//! request is not run until the person picks one (or leaves).
//!
//! It runs on the terminal the start screen held, as a view of its own,
//! with the picker's keys (up, down, choose, cancel) from the keymap.

use std::io;

use crossterm::event::{Event as TermEvent, KeyEventKind};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use tokio::time::Instant;

use super::super::Theme;
use super::super::chrome::hint_spans;
use super::super::keymap::{Context, Keymap, context_acts};
use super::super::terminal::{Modes, Step, Tty, View};
use super::super::text::safe;

/// A pipeline the person may run the request as.
#[derive(Clone, Debug)]
pub struct Offer {
    pub name: String,
    pub title: String,
    /// Its roles, in order.
    pub roles: Vec<String>,
}

context_acts! {
    /// The keys of the choice.
    enum Choose {
        Down,
        Up,
        Submit,
        Back,
    }
}

/// The choice on screen.
struct Chooser<'a> {
    request: &'a str,
    offers: &'a [Offer],
    selected: usize,
    theme: &'a Theme,
    keymap: &'a Keymap,
}

impl View for Chooser<'_> {
    /// The name of the pipeline chosen; `None` when the person left.
    type Done = Option<String>;

    fn draw(&self, frame: &mut Frame) {
        let [title, body, footer] = Layout::vertical([
            Constraint::Length(2),
            Constraint::Fill(1),
            Constraint::Length(1),
        ])
        .areas(frame.area());
        frame.render_widget(
            Line::from(vec![
                Span::styled(" handoff ", self.theme.title),
                Span::raw(" No pipeline's triggers match this request. Run it as:"),
            ]),
            title,
        );
        let mut lines = vec![
            Line::styled(format!(" “{}”", safe(self.request)), self.theme.dim),
            Line::raw(""),
        ];
        for (i, offer) in self.offers.iter().enumerate() {
            let style = if i == self.selected {
                self.theme.selection
            } else {
                self.theme.title
            };
            lines.push(Line::styled(
                format!(" {} {} ({})", i + 1, safe(&offer.title), safe(&offer.name)),
                style,
            ));
            lines.push(Line::styled(
                format!("     {}", safe(&offer.roles.join(" → "))),
                self.theme.dim,
            ));
        }
        frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), body);
        let hints: Vec<Span> = self
            .keymap
            .hints(Context::Picker)
            .flat_map(|(key, hint, _)| hint_spans(self.theme, key, hint))
            .collect();
        frame.render_widget(Line::from(hints), footer);
    }

    fn on_input(&mut self, event: TermEvent) -> io::Result<Step<Option<String>>> {
        let TermEvent::Key(key) = event else {
            return Ok(match event {
                TermEvent::Resize(..) => Step::Answered,
                TermEvent::Key(_)
                | TermEvent::Mouse(_)
                | TermEvent::Paste(_)
                | TermEvent::FocusGained
                | TermEvent::FocusLost => Step::Quiet,
            });
        };
        if key.kind == KeyEventKind::Release {
            return Ok(Step::Quiet);
        }
        let last = self.offers.len().saturating_sub(1);
        match self.keymap.act_in(Context::Picker, &key) {
            Some(Choose::Down) => self.selected = (self.selected + 1).min(last),
            Some(Choose::Up) => self.selected = self.selected.saturating_sub(1),
            Some(Choose::Submit) => {
                return Ok(Step::Done(
                    self.offers.get(self.selected).map(|o| o.name.clone()),
                ));
            }
            Some(Choose::Back) => return Ok(Step::Done(None)),
            None => return Ok(Step::Quiet),
        }
        Ok(Step::Answered)
    }

    async fn next(&mut self, _now: Instant) -> io::Result<Step<Option<String>>> {
        std::future::pending().await
    }

    fn on_input_end(&mut self) -> Option<String> {
        None
    }
}

/// Asks which of `offers` runs `request`; the name chosen, `None` when
/// the person leaves.
pub async fn choose(
    tty: &mut Tty,
    theme: &Theme,
    keymap: &Keymap,
    request: &str,
    offers: &[Offer],
) -> io::Result<Option<String>> {
    let mut view = Chooser {
        request,
        offers,
        selected: 0,
        theme,
        keymap,
    };
    super::super::terminal::run(tty, &mut view, Modes::default()).await
}
