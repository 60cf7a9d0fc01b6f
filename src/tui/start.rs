//! The start screen: where a session starts when no request was given.
//!
//! A one-line editor for a new request over a short description of the
//! pipeline that will run, and the recent sessions. The keys are the
//! keymap's `start` context (by default Enter starts a new session with the
//! text, Tab moves to the list, `ctrl-t` opens the stats across sessions,
//! Esc leaves) and, in the list, its `recent` context (Enter resumes a
//! session that can go on or replays one that ended, `ctrl-r` replays);
//! other keys edit the request or type the list's filter. Pasted text
//! arrives whole (bracketed paste) with its line breaks folded to spaces.
//! The list is read off the UI task and appears when it is ready, so a full
//! sessions folder never holds up typing. The stats open over the start
//! screen, in the same terminal, and their way back comes back.

use std::io;
use std::pin::Pin;

use crossterm::event::{Event as TermEvent, KeyEvent, KeyEventKind, KeyModifiers};
use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Widget, Wrap};
use tokio::time::Instant;

use super::Theme;
use super::chrome::hint_spans;
use super::keymap::{Act, Context, Keymap, TextKey, context_acts};
use super::stats::StatsScreen;
use super::terminal::{Modes, Step, View};
use super::text::safe;
use std::path::PathBuf;

use crate::pipeline::Pipeline;
use crate::stats::Stats;

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
}

impl Recent {
    /// Whether the session can go on (else it can only be replayed).
    fn resumable(&self) -> bool {
        matches!(self.status.as_str(), "awaiting_gate" | "interrupted")
    }

    fn matches(&self, filter: &str) -> bool {
        let filter = filter.to_lowercase();
        [&self.request, &self.id, &self.status, &self.phase]
            .iter()
            .any(|field| field.to_lowercase().contains(&filter))
    }
}

/// The start screen's state.
#[derive(Debug)]
pub struct RequestBox<'a> {
    pub text: Vec<char>,
    pub cursor: usize,
    pub pipeline: &'a Pipeline,
    pub provider: &'a str,
    pub theme: &'a Theme,
    pub keymap: &'a Keymap,
    pub recent: Vec<Recent>,
    /// Keys go to the list of recent sessions instead of the request.
    pub in_list: bool,
    pub selected: usize,
    pub filter: String,
}

/// What a key did.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Editing,
    Submit(String),
    Resume(PathBuf),
    Replay(PathBuf),
    /// Show the stats view, then come back.
    Stats,
    Cancel,
}

impl<'a> RequestBox<'a> {
    /// An empty request, with no sessions listed yet.
    pub fn new(
        pipeline: &'a Pipeline,
        provider: &'a str,
        theme: &'a Theme,
        keymap: &'a Keymap,
    ) -> Self {
        Self {
            text: Vec::new(),
            cursor: 0,
            pipeline,
            provider,
            theme,
            keymap,
            recent: Vec::new(),
            in_list: false,
            selected: 0,
            filter: String::new(),
        }
    }

    fn insert(&mut self, text: &str) {
        for c in text.chars() {
            let c = if c.is_control() { ' ' } else { c };
            self.text.insert(self.cursor, c);
            self.cursor += 1;
        }
    }

    /// The recent sessions the filter lets through.
    pub fn shown(&self) -> Vec<&Recent> {
        self.recent
            .iter()
            .filter(|r| r.matches(&self.filter))
            .collect()
    }

    fn list_key(&mut self, key: &KeyEvent) -> Outcome {
        let count = self.shown().len();
        match self.keymap.act_in(Context::Recent, key) {
            Some(RecentAct::Back) => self.in_list = false,
            Some(RecentAct::Quit) => return Outcome::Cancel,
            Some(RecentAct::Stats) => return Outcome::Stats,
            Some(RecentAct::Up) => self.selected = self.selected.saturating_sub(1),
            Some(RecentAct::Down) => {
                self.selected = (self.selected + 1).min(count.saturating_sub(1));
            }
            Some(act @ (RecentAct::Open | RecentAct::Replay)) => {
                if let Some(session) = self.shown().get(self.selected) {
                    let path = session.path.clone();
                    return if act == RecentAct::Open && session.resumable() {
                        Outcome::Resume(path)
                    } else {
                        Outcome::Replay(path)
                    };
                }
            }
            None => self.type_filter(key),
        }
        Outcome::Editing
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
    pub fn on_key(&mut self, key: &KeyEvent) -> Outcome {
        if self.in_list {
            return self.list_key(key);
        }
        match self.keymap.act_in(Context::Start, key) {
            Some(StartAct::Quit) => return Outcome::Cancel,
            Some(StartAct::Recent) if !self.recent.is_empty() => self.in_list = true,
            Some(StartAct::Stats) if !self.recent.is_empty() => return Outcome::Stats,
            Some(StartAct::Recent | StartAct::Stats) => {}
            Some(StartAct::Submit) => {
                let text: String = self.text.iter().collect();
                if !text.trim().is_empty() {
                    return Outcome::Submit(text.trim().to_owned());
                }
            }
            None => self.edit(key),
        }
        Outcome::Editing
    }

    /// A key the request box's bindings leave alone edits the request.
    fn edit(&mut self, key: &KeyEvent) {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match TextKey::of(key) {
            TextKey::Char('u') if ctrl => {
                self.text.drain(..self.cursor);
                self.cursor = 0;
            }
            TextKey::Char(c) if !ctrl => self.insert(&c.to_string()),
            TextKey::Backspace if self.cursor > 0 => {
                self.cursor -= 1;
                self.text.remove(self.cursor);
            }
            TextKey::Delete if self.cursor < self.text.len() => {
                self.text.remove(self.cursor);
            }
            TextKey::Left => self.cursor = self.cursor.saturating_sub(1),
            TextKey::Right => self.cursor = (self.cursor + 1).min(self.text.len()),
            TextKey::Home => self.cursor = 0,
            TextKey::End => self.cursor = self.text.len(),
            TextKey::Char(_)
            | TextKey::Backspace
            | TextKey::Delete
            | TextKey::Enter
            | TextKey::Esc
            | TextKey::Other => {}
        }
    }
}

context_acts! {
    /// The request box's keys.
    enum StartAct {
        Submit,
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
        let lines: Vec<Line<'static>> = self
            .shown()
            .iter()
            .enumerate()
            .take(usize::from(inner.height))
            .map(|(i, r)| {
                let text = format!(
                    "{:<13} {:>4} {:<10} {:<7} {}",
                    r.status,
                    r.age,
                    safe(&r.phase),
                    super::text::clip(&r.provider, 7),
                    safe(&r.request)
                );
                let style = if self.in_list && i == self.selected {
                    self.theme.gate
                } else {
                    ratatui::style::Style::new()
                };
                Line::styled(super::text::clip(&text, width), style)
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
            (Context::Start, !self.recent.is_empty())
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
            Span::styled(format!(" {} ", safe(self.provider)), self.theme.badge),
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
        let (about, list) = if self.recent.is_empty() {
            (about, None)
        } else if area.width >= 100 {
            let [left, right] =
                Layout::horizontal([Constraint::Length(50), Constraint::Fill(1)]).areas(about);
            (left, Some(right))
        } else {
            let [top, bottom] =
                Layout::vertical([Constraint::Length(8), Constraint::Fill(1)]).areas(about);
            (top, Some(bottom))
        };
        Paragraph::new(lines).render(about, buf);
        if let Some(list) = list {
            self.render_recent(list, buf);
        }
        Line::from(self.hints()).render(footer, buf);
    }
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
    fn on_key(&mut self, key: &KeyEvent) -> Step<Outcome> {
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
            Outcome::Editing => Step::Answered,
            Outcome::Stats => {
                let theme = self.request.theme.clone();
                let keymap = self.request.keymap.clone();
                let count = self.count.clone();
                self.stats = Some(StatsScreen::new(theme, keymap, self.sessions_dir, count));
                Step::Answered
            }
            done @ (Outcome::Submit(_)
            | Outcome::Resume(_)
            | Outcome::Replay(_)
            | Outcome::Cancel) => Step::Done(done),
        }
    }
}

impl<R, F> View for StartScreen<'_, R, F>
where
    R: Future<Output = Vec<Recent>>,
    F: Fn() -> Stats + Clone + Send + 'static,
{
    type Done = Outcome;

    fn draw(&mut self, frame: &mut Frame) {
        match &self.stats {
            Some(stats) => frame.render_widget(&stats.view(), frame.area()),
            None => frame.render_widget(&self.request, frame.area()),
        }
    }

    fn on_input(&mut self, event: TermEvent) -> io::Result<Step<Outcome>> {
        Ok(match event {
            TermEvent::Key(key) if key.kind != KeyEventKind::Release => self.on_key(&key),
            TermEvent::Paste(text) if self.stats.is_none() => {
                self.request.insert(&text);
                Step::Answered
            }
            TermEvent::Resize(..) => Step::Answered,
            TermEvent::Key(_)
            | TermEvent::Paste(_)
            | TermEvent::Mouse(_)
            | TermEvent::FocusGained
            | TermEvent::FocusLost => Step::Quiet,
        })
    }

    async fn next(&mut self, _now: Instant) -> io::Result<Step<Outcome>> {
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
                request.recent = list;
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

    fn on_input_end(&mut self) -> Outcome {
        Outcome::Cancel
    }
}

/// Asks for a request in the terminal; [`Outcome::Cancel`] when the user
/// leaves. `recent` gives the saved sessions, listed once it is ready;
/// the stats key shows the stats of the sessions in `sessions_dir`, which
/// `count` counts, and comes back.
pub async fn ask<F>(
    pipeline: &Pipeline,
    provider: &str,
    theme: &Theme,
    keymap: Keymap,
    recent: impl Future<Output = Vec<Recent>>,
    sessions_dir: &str,
    count: F,
) -> io::Result<Outcome>
where
    F: Fn() -> Stats + Clone + Send + 'static,
{
    let mut screen = StartScreen {
        request: RequestBox::new(pipeline, provider, theme, &keymap),
        recent: Some(Box::pin(recent)),
        sessions_dir,
        count,
        stats: None,
    };
    let modes = Modes {
        mouse: false,
        paste: true,
    };
    super::terminal::run(&mut screen, modes).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::{SkillsFile, load_pipeline};
    use crossterm::event::KeyCode;

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
        };
        let mut b = RequestBox {
            recent: vec![
                recent("a", "finished", "Add an audit log"),
                recent("b", "interrupted", "Add rate limiting"),
            ],
            ..RequestBox::new(&pipeline, "offline", &theme, &keymap)
        };
        b.on_key(&key(KeyCode::Tab));
        assert!(b.in_list);
        assert_eq!(
            b.on_key(&key(KeyCode::Enter)),
            Outcome::Replay(PathBuf::from("a.jsonl")),
            "finished: replay"
        );
        for c in "rate".chars() {
            b.on_key(&key(KeyCode::Char(c)));
        }
        assert_eq!(b.shown().len(), 1);
        assert_eq!(
            b.on_key(&key(KeyCode::Enter)),
            Outcome::Resume(PathBuf::from("b.jsonl")),
            "interrupted: resume"
        );
        let ctrl_r = KeyEvent::new(KeyCode::Char('r'), KeyModifiers::CONTROL);
        assert_eq!(b.on_key(&ctrl_r), Outcome::Replay(PathBuf::from("b.jsonl")));
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
        assert_eq!(footer, " ctrl-g start  esc quit ");
        for c in "Go".chars() {
            b.on_key(&key(KeyCode::Char(c)));
        }
        assert_eq!(b.on_key(&key(KeyCode::Enter)), Outcome::Editing);
        let ctrl_g = KeyEvent::new(KeyCode::Char('g'), KeyModifiers::CONTROL);
        assert_eq!(b.on_key(&ctrl_g), Outcome::Submit("Go".into()));
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
        request.recent = vec![Recent {
            path: PathBuf::from("a.jsonl"),
            id: "a".into(),
            status: "finished".into(),
            request: "Add an audit log".into(),
            phase: "review".into(),
            provider: "offline".into(),
            age: "1m".into(),
        }];
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
        assert_eq!(outcome, Outcome::Submit("Add x".into()));
        assert!(screen.stats.is_none(), "q closed the stats");
        let drawn = String::from_utf8_lossy(&written.0.borrow()).into_owned();
        assert!(drawn.contains("count again"), "the stats were drawn");
    }
}
