//! Drawing a session: `impl Widget for &App`, a pure function of the app's
//! state that lays the screen out and has each part draw itself.
//!
//! From the top: the status bar and the request ([`super::chrome`]), the
//! screen in front (the [`super::board`], or an artifact or diff from
//! [`super::artifact`]), the replay's timeline, the checkpoint bar and the
//! key hints; then the open overlay, or the permission prompt while a
//! request waits ([`super::overlay`]). Nothing here changes state or
//! performs I/O (beyond keeping layouts in [`super::rows::RowCache`]).

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use super::app::{App, Screen, Source};
use super::artifact::{ArtifactView, DiffView};
use super::board::{BoardView, COLUMN_HEADER, is_narrow};
use super::changes::ChangesView;
use super::chrome::{checkpoint, hints, status_bar, timeline};
use super::overlay::{self, Areas};
use super::text::safe;

/// Sizes derived from the terminal size, shared by drawing and scrolling.
#[derive(Clone, Copy, Debug)]
pub struct Geometry {
    pub text_width: usize,
    pub text_height: usize,
}

impl Geometry {
    pub fn of(app: &App, (width, height): (u16, u16)) -> Self {
        let main_height = usize::from(height.saturating_sub(4 + u16::from(app.is_replay())));
        match app.screen {
            Screen::Board if is_narrow(width, app.state.phases.len()) => Self {
                text_width: usize::from(width).saturating_sub(2).max(1),
                text_height: main_height.saturating_sub(3 + COLUMN_HEADER).max(1),
            },
            Screen::Board => {
                let columns = app.state.phases.len().max(1);
                Self {
                    text_width: (usize::from(width) / columns).saturating_sub(2).max(1),
                    text_height: main_height.saturating_sub(2 + COLUMN_HEADER).max(1),
                }
            }
            Screen::Artifact { .. } | Screen::Diff { .. } | Screen::Changes { .. } => Self {
                text_width: usize::from(width).saturating_sub(2).max(1),
                text_height: main_height.saturating_sub(2).max(1),
            },
        }
    }
}

impl Widget for &App {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let timeline_rows = u16::from(self.is_replay());
        let [status, request, main, timeline_row, bar, footer] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Length(1),
            Constraint::Fill(1),
            Constraint::Length(timeline_rows),
            Constraint::Length(1),
            Constraint::Length(1),
        ])
        .areas(area);
        if let Source::Replay(player) = &self.source {
            timeline(self, player, timeline_row, buf);
        }
        status_bar(self, status, buf);
        // The manager's first words: what it detected the request as and
        // who it assigns the work to (a log older than that: the request).
        let first = if self.state.detected.is_some() {
            Line::from(vec![
                Span::raw(" "),
                Span::raw(safe(&self.state.acknowledgement(usize::MAX))),
            ])
        } else {
            Line::from(vec![
                Span::styled(" request ", self.theme.dim),
                Span::raw(safe(&self.state.request)),
            ])
        };
        first.render(request, buf);
        match self.screen {
            Screen::Board => BoardView { app: self }.render(main, buf),
            Screen::Artifact { phase, attempt } => ArtifactView {
                app: self,
                phase,
                attempt,
            }
            .render(main, buf),
            Screen::Diff { phase, base, .. } => DiffView {
                app: self,
                phase,
                base,
            }
            .render(main, buf),
            Screen::Changes { phase } => ChangesView { app: self, phase }.render(main, buf),
        }
        checkpoint(self, bar, buf);
        hints(self, footer, buf);
        match &self.overlay {
            Some(open) => open.render(
                self,
                Areas {
                    screen: area,
                    main,
                    bar,
                },
                buf,
            ),
            None => {
                if let Some(request) = self.pending_permission() {
                    overlay::permission(self, request, area, buf);
                }
            }
        }
    }
}
