//! The start screen: where a session starts when no request was given.
//!
//! An editor for a new request (it grows to several lines) over a short description of the
//! pipeline that will run, and the recent sessions. The keys are the
//! keymap's `start` context (by default Enter starts a new session with the
//! text, Alt-Enter or `ctrl-j` adds a line, `ctrl-z` undoes a word, Tab moves to the list, `ctrl-t` opens the stats across sessions,
//! Esc leaves) and, in the list, its `recent` context (Enter resumes a
//! session that can go on or replays one that ended, `ctrl-r` replays);
//! other keys edit the request or type the list's filter. Pasted text
//! arrives whole (bracketed paste), its escape sequences and control
//! characters removed and its line breaks kept.
//! The list is read off the UI task and appears when it is ready, so a full
//! sessions folder never holds up typing. The stats open over the start
//! screen, in the same terminal, and their way back comes back.
//!
//! [`RequestBox`] is the screen itself (its state, keys and drawing, in
//! `request`); the loop here adds what it waits for.

mod choose;
mod request;

use std::io;
use std::path::PathBuf;
use std::pin::Pin;

use crossterm::event::{Event as TermEvent, KeyEvent, KeyEventKind};
use ratatui::Frame;
use tokio::time::Instant;

use super::stats::StatsScreen;
use super::terminal::{Modes, Step, View};
use crate::stats::Stats;

pub use choose::{Offer, choose};
pub use request::RequestBox;

/// A saved session as the start screen lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recent {
    pub path: PathBuf,
    pub id: String,
    pub status: String,
    pub request: String,
    pub phase: String,
    pub provider: String,
    pub age: String,
    /// A gate is open (on a failed phase, the status says `failed`).
    pub at_gate: bool,
}

impl Recent {
    /// Whether the session can go on (else it can only be replayed).
    fn resumable(&self) -> bool {
        self.at_gate || matches!(self.status.as_str(), "awaiting_gate" | "interrupted")
    }

    fn matches(&self, filter: &str) -> bool {
        let filter = filter.to_lowercase();
        [&self.request, &self.id, &self.status, &self.phase]
            .iter()
            .any(|field| field.to_lowercase().contains(&filter))
    }
}

/// What a key did.
#[derive(Debug, PartialEq, Eq)]
pub enum Choice {
    Editing,
    Submit(String),
    Resume(PathBuf),
    Replay(PathBuf),
    /// Show the stats view, then come back.
    Stats,
    Cancel,
}

/// The start screen with what it waits for: the list of saved sessions,
/// read off the UI task, and the stats view when it is open.
struct StartScreen<'a, R, F> {
    request: RequestBox<'a>,
    /// The saved sessions, until they are listed.
    recent: Option<Pin<Box<R>>>,
    /// Where the stats view counts from, and how.
    sessions_dir: &'a str,
    count: F,
    stats: Option<StatsScreen<F>>,
}

impl<R, F> StartScreen<'_, R, F>
where
    R: Future<Output = Vec<Recent>>,
    F: Fn() -> Stats + Clone + Send + 'static,
{
    fn on_key(&mut self, key: &KeyEvent) -> Step<Choice> {
        if let Some(stats) = &mut self.stats {
            return match stats.on_key(key) {
                Step::Done(()) => {
                    self.stats = None;
                    Step::Answered
                }
                Step::Quiet => Step::Quiet,
                Step::Changed => Step::Changed,
                Step::Answered => Step::Answered,
            };
        }
        match self.request.on_key(key) {
            Choice::Editing => Step::Answered,
            Choice::Stats => {
                let theme = self.request.theme.clone();
                let keymap = self.request.keymap.clone();
                let count = self.count.clone();
                self.stats = Some(StatsScreen::new(theme, keymap, self.sessions_dir, count));
                Step::Answered
            }
            done @ (Choice::Submit(_) | Choice::Resume(_) | Choice::Replay(_) | Choice::Cancel) => {
                Step::Done(done)
            }
        }
    }
}

impl<R, F> View for StartScreen<'_, R, F>
where
    R: Future<Output = Vec<Recent>>,
    F: Fn() -> Stats + Clone + Send + 'static,
{
    type Done = Choice;

    fn draw(&self, frame: &mut Frame) {
        match &self.stats {
            Some(stats) => frame.render_widget(stats, frame.area()),
            None => frame.render_widget(&self.request, frame.area()),
        }
    }

    fn on_input(&mut self, event: TermEvent) -> io::Result<Step<Choice>> {
        Ok(match event {
            TermEvent::Key(key) if key.kind != KeyEventKind::Release => self.on_key(&key),
            TermEvent::Paste(text) => {
                match &mut self.stats {
                    Some(stats) => stats.on_paste(),
                    None => self.request.insert(&text),
                }
                Step::Answered
            }
            TermEvent::Resize(..) => Step::Answered,
            TermEvent::Key(_)
            | TermEvent::Mouse(_)
            | TermEvent::FocusGained
            | TermEvent::FocusLost => Step::Quiet,
        })
    }

    async fn next(&mut self, _now: Instant) -> io::Result<Step<Choice>> {
        let Self {
            request,
            recent,
            stats,
            ..
        } = self;
        tokio::select! {
            list = async {
                match recent {
                    Some(list) => list.await,
                    None => std::future::pending().await,
                }
            } => {
                *recent = None;
                request.set_recent(list);
            }
            counted = async {
                match stats {
                    Some(stats) => stats.counted().await,
                    None => std::future::pending().await,
                }
            } => counted?,
        }
        Ok(Step::Changed)
    }

    fn on_input_end(&mut self) -> Choice {
        Choice::Cancel
    }
}

/// Asks for a request in `request`'s box; [`Choice::Cancel`] when the
/// user leaves. `recent` gives the saved sessions, listed once it is
/// ready; the stats key shows the stats of the sessions in
/// `sessions_dir`, which `count` counts, and comes back.
pub async fn ask<F>(
    tty: &mut super::Tty,
    request: RequestBox<'_>,
    recent: impl Future<Output = Vec<Recent>>,
    sessions_dir: &str,
    count: F,
) -> io::Result<Choice>
where
    F: Fn() -> Stats + Clone + Send + 'static,
{
    let mut screen = StartScreen {
        request,
        recent: Some(Box::pin(recent)),
        sessions_dir,
        count,
        stats: None,
    };
    super::terminal::run(tty, &mut screen, Modes::default()).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::{SkillsFile, load_pipeline};
    use crate::tui::Theme;
    use crate::tui::keymap::Keymap;
    use crossterm::event::{KeyCode, KeyModifiers};

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    /// What the terminal was sent, kept for the test to read.
    #[derive(Clone, Default)]
    struct Written(std::rc::Rc<std::cell::RefCell<Vec<u8>>>);
    impl io::Write for Written {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0.borrow_mut().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// The start screen and the stats view run in one loop: type a
    /// request, open the stats, close them, submit.
    #[tokio::test(start_paused = true)]
    async fn the_stats_open_and_close_inside_the_start_screens_loop() {
        use futures::StreamExt;
        use ratatui::layout::Rect;
        use ratatui::{Terminal, TerminalOptions, Viewport};

        let pipeline = load_pipeline(&SkillsFile::builtin(), None).expect("builtin");
        let theme = Theme::mono();
        let keymap = Keymap::default();
        let mut request = RequestBox::new(&pipeline, "offline", &theme, &keymap);
        request.set_recent(vec![Recent {
            path: PathBuf::from("a.jsonl"),
            id: "a".into(),
            status: "finished".into(),
            request: "Add an audit log".into(),
            phase: "review".into(),
            provider: "offline".into(),
            age: "1m".into(),
            at_gate: false,
        }]);
        let mut screen = StartScreen {
            request,
            recent: None::<Pin<Box<std::future::Ready<Vec<Recent>>>>>,
            sessions_dir: "/tmp/sessions",
            count: Stats::default,
            stats: None,
        };
        let ctrl_t = KeyEvent::new(KeyCode::Char('t'), KeyModifiers::CONTROL);
        let keys = "Add x".chars().map(|c| key(KeyCode::Char(c))).chain([
            ctrl_t,
            key(KeyCode::Char('q')),
            key(KeyCode::Enter),
        ]);
        // A person types: a key every 50 ms, so each gets its frame.
        let input = futures::stream::iter(keys)
            .then(|k| async move {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                Ok(TermEvent::Key(k))
            })
            .boxed();
        let written = Written::default();
        let area = Rect::new(0, 0, 100, 30);
        let mut terminal = Terminal::with_options(
            ratatui::backend::CrosstermBackend::new(written.clone()),
            TerminalOptions {
                viewport: Viewport::Fixed(area),
            },
        )
        .expect("terminal");
        let outcome = super::super::terminal::run_view(&mut terminal, &mut screen, input)
            .await
            .expect("the loop");
        assert_eq!(outcome, Choice::Submit("Add x".into()));
        assert!(screen.stats.is_none(), "q closed the stats");
        let drawn = String::from_utf8_lossy(&written.0.borrow()).into_owned();
        assert!(drawn.contains("count again"), "the stats were drawn");
    }
}
