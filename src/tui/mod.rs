//! The terminal UI: six columns, a checkpoint bar, artifacts full-screen;
//! the start screen and the stats view.
//!
//! [`run_live`] shows a running session and sends the user's decisions to
//! its engine; [`run_replay`] plays a recorded log through the same views,
//! read-only; [`start::ask`] asks for a request (or a saved session), and
//! [`stats::show`] charts every session. Each is a view run by one loop on
//! one terminal lifecycle ([`terminal`]): the loop only selects over
//! terminal input and the view's own sources (for a session: engine
//! updates drained in batches, the replay clock, and a spinner tick that
//! runs only while something is animating). The screen is redrawn when
//! something changed, at most once a frame, and at once for a key
//! ([`pacing`]). The terminal is restored on every exit path and, through
//! ratatui's hook, on panic.
//!
//! A session's screen is made of parts that each keep to themselves: the
//! [`board`], the [`artifact`] and its diff, the [`gate`]'s answers, the
//! [`overlay`]s and the [`chrome`] around them; [`App`] routes keys and
//! updates to them and [`view`] lays them out.

pub mod act;
pub mod app;
pub mod artifact;
pub mod board;
pub mod card;
pub mod changes;
pub mod chrome;
pub mod compose;
pub mod diff;
pub mod gate;
pub mod input;
pub mod keymap;
pub mod markdown;
pub mod matrix;
pub mod overlay;
pub mod pacing;
pub mod replay;
pub mod review;
pub mod rows;
pub mod start;
pub mod stats;
pub mod streamed;
pub mod summon;
pub mod tally;
pub mod terminal;
pub mod text;
pub mod theme;
pub mod undo;
pub mod view;

use std::io;
use std::sync::Arc;
use std::time::Duration;

use crossterm::event::{Event as TermEvent, KeyEventKind};
use futures::Stream;
use ratatui::backend::CrosstermBackend;
use ratatui::layout::Size;
use ratatui::{Frame, Terminal};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::{Instant, Interval};

pub use app::App;
pub use pacing::FRAME;
pub use terminal::Tty;
pub use theme::Theme;

use crate::clock::Speed;
use crate::protocol::{Command, Update};
use crate::session::{Event, SessionState};
use app::{Flow, Source};
use terminal::{Modes, Step, View};

/// How often the spinner turns while a phase runs.
const SPIN: Duration = Duration::from_millis(100);

/// How the UI behaves, from the command line and config.
#[derive(Clone, Debug)]
pub struct Options {
    pub theme: Theme,
    pub keymap: keymap::Keymap,
    /// Ring the terminal bell when a gate opens.
    pub bell: bool,
    /// To show what the session costs.
    pub prices: crate::cost::Prices,
    /// Commands run without the kernel sandbox: the status bar says so
    /// for the whole session.
    pub unconfined: bool,
    /// What the capability probe found about the model's server.
    pub server: ServerNote,
    /// Approving a change with files not marked viewed asks first.
    pub require_viewed: bool,
    /// The engine's token counter, for the cards' counts while a phase
    /// streams (none: four characters a token, marked `≈`).
    pub tokens: Option<std::sync::Arc<crate::provider::tokens::Tokens>>,
}

/// What the capability probe found about the model's server, as the
/// screen shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServerNote {
    /// The findings in short, for the status bar.
    pub capabilities: Option<String>,
    /// The phases (ids) whose roles go without tools because the server
    /// drops them for their model: their cards say so.
    pub no_tools: Vec<String>,
}

/// Shows a live session until the user quits; returns the state it ended in.
pub async fn run_live(
    tty: &mut Tty,
    updates: mpsc::UnboundedReceiver<Update>,
    commands: mpsc::UnboundedSender<Command>,
    options: Options,
) -> io::Result<SessionState> {
    let app = App::new(Source::Live(Some(commands)), options.theme.clone());
    on_terminal(tty, app, options, Some(updates)).await
}

/// Plays recorded events until the user quits.
pub async fn run_replay(
    tty: &mut Tty,
    events: Vec<Event>,
    speed: Speed,
    options: Options,
) -> io::Result<()> {
    let app = App::new(
        Source::Replay(replay::Player::new(events, speed)),
        options.theme.clone(),
    );
    on_terminal(
        tty,
        app,
        Options {
            bell: false,
            ..options
        },
        None,
    )
    .await
    .map(drop)
}

/// Runs a session's view on `tty`. What the command said while the
/// terminal was held (a warning, the model it resumes with) is the first
/// notice on screen, and is printed again once the terminal is given back.
async fn on_terminal(
    tty: &mut Tty,
    mut app: App,
    options: Options,
    updates: Option<mpsc::UnboundedReceiver<Update>>,
) -> io::Result<SessionState> {
    if !tty.said().is_empty() {
        app.notice = Some(tty.said().join("; "));
    }
    app.keymap = options.keymap;
    app.prices = options.prices;
    app.tally = tally::Tally::new(options.tokens);
    app.unconfined = options.unconfined;
    app.server = options.server;
    app.require_viewed = options.require_viewed;
    let mut view = SessionView::new(&mut app, updates, options.bell);
    terminal::run(tty, &mut view, Modes { mouse: true }).await?;
    Ok(app.state)
}

/// Runs a session's view on `terminal`: draws `app` while it takes `input`
/// (terminal events), engine `updates` and the replay clock, until the user
/// quits or the input ends. `run_live` and `run_replay` run it on the real
/// terminal; the benches drive it with a counting writer and scripted keys.
///
/// Frames are drawn on change only, paced to one per [`FRAME`] on average:
/// changes from the engine or the replay clock wait for the next frame's
/// time, while a key, a click or a resize may take a frame one [`FRAME`]
/// early (the frame after it waits the longer), so a stream of text never
/// delays the answer to the user and never pushes the rate past the pace.
pub async fn drive<W: io::Write>(
    terminal: &mut Terminal<CrosstermBackend<W>>,
    app: &mut App,
    input: impl Stream<Item = io::Result<TermEvent>> + Unpin,
    updates: Option<mpsc::UnboundedReceiver<Update>>,
    bell: bool,
) -> io::Result<()> {
    let mut view = SessionView::new(app, updates, bell);
    terminal::run_view(terminal, &mut view, input).await
}

/// How many lines of a change are highlighted ahead, off the UI task;
/// past them lines are parsed as they are drawn.
const FILL_LINES: usize = 50_000;

/// A session on screen: the app, the engine's channel, the spinner's clock.
struct SessionView<'a> {
    app: &'a mut App,
    /// `None` for a replay, or once the engine is gone.
    updates: Option<mpsc::UnboundedReceiver<Update>>,
    batch: Vec<Update>,
    spin: Interval,
    /// Ring the bell when a gate opens.
    bell: bool,
    /// A gate opened since the bell was last asked about.
    ring: bool,
    /// The workspace change being read for the Changes view, off the UI
    /// task: its commit and what git gave.
    reading: Option<JoinHandle<(String, Result<crate::changes::Change, String>)>>,
    /// The grammars for the Changes view's highlighting, being loaded off
    /// the UI task.
    grammars: Option<JoinHandle<changes::syntax::Syntaxes>>,
    /// The open change being highlighted whole, off the UI task.
    filling: Option<JoinHandle<(Arc<crate::changes::Change>, changes::syntax::Highlights)>>,
}

impl<'a> SessionView<'a> {
    fn new(app: &'a mut App, updates: Option<mpsc::UnboundedReceiver<Update>>, bell: bool) -> Self {
        let mut spin = tokio::time::interval(SPIN);
        // After a long wait at a gate, turn on from now rather than catch up.
        spin.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        Self {
            app,
            updates,
            batch: Vec::with_capacity(256),
            spin,
            bell,
            ring: false,
            reading: None,
            grammars: None,
            filling: None,
        }
    }

    /// Takes a batch of updates from the engine (none: it is gone).
    fn on_updates(&mut self, received: usize) {
        if received == 0 {
            self.updates = None;
            self.app.on_engine_gone();
        }
        for update in self.batch.drain(..) {
            self.ring |= self.app.on_update(update) && self.bell;
        }
    }
}

impl View for SessionView<'_> {
    type Done = ();

    fn prepare(&mut self, size: Size) {
        if !self.app.is_replay() {
            self.app.now = chrono::Utc::now();
        }
        self.app.size = (size.width, size.height);
    }

    fn draw(&self, frame: &mut Frame) {
        frame.render_widget(&*self.app, frame.area());
    }

    fn take_bell(&mut self) -> bool {
        std::mem::take(&mut self.ring)
    }

    fn on_input(&mut self, event: TermEvent) -> io::Result<Step<()>> {
        Ok(match event {
            TermEvent::Key(key) if key.kind != KeyEventKind::Release => {
                match self.app.on_key(&key) {
                    Flow::Quit => Step::Done(()),
                    Flow::Continue => Step::Answered,
                }
            }
            // Pointer movement is reported too: only what changed the view
            // is drawn.
            TermEvent::Mouse(mouse) => {
                if self.app.on_mouse(&mouse) {
                    Step::Answered
                } else {
                    Step::Quiet
                }
            }
            // A paste is text for the open box, never keys to run.
            TermEvent::Paste(text) => {
                self.app.on_paste(&text);
                Step::Answered
            }
            TermEvent::Resize(..) => Step::Answered,
            TermEvent::Key(_) | TermEvent::FocusGained | TermEvent::FocusLost => Step::Quiet,
        })
    }

    async fn next(&mut self, now: Instant) -> io::Result<Step<()>> {
        let replay_due = match &mut self.app.source {
            Source::Replay(player) => player.due(now),
            Source::Live(_) => None,
        };
        let animating = self.app.animating();
        if self.reading.is_none()
            && let Some(request) = self.app.change_request()
        {
            self.reading = Some(tokio::task::spawn_blocking(move || {
                let change = crate::tools::changes::change(
                    &request.root,
                    request.base.as_deref(),
                    &request.commit,
                );
                (request.commit, change)
            }));
        }
        if self.grammars.is_none() && self.app.syntaxes_request() {
            self.grammars = Some(tokio::task::spawn_blocking(changes::syntax::Syntaxes::load));
        }
        if self.filling.is_none()
            && let Some((change, highlights)) = self.app.highlight_request()
        {
            self.filling = Some(tokio::task::spawn_blocking(move || {
                let highlights = highlights.fill(&change, FILL_LINES);
                (change, highlights)
            }));
        }
        tokio::select! {
            filled = async {
                match &mut self.filling {
                    Some(handle) => handle.await,
                    None => std::future::pending().await,
                }
            } => {
                self.filling = None;
                if let Ok((change, highlights)) = filled {
                    self.app.change_highlighted(&change, highlights);
                }
            }
            loaded = async {
                match &mut self.grammars {
                    Some(handle) => handle.await,
                    None => std::future::pending().await,
                }
            } => {
                // Loaded once; should it fail, the view stays plain.
                self.grammars = None;
                if let Ok(syntaxes) = loaded {
                    self.app.syntaxes_loaded(std::sync::Arc::new(syntaxes));
                }
            }
            read = async {
                match &mut self.reading {
                    Some(handle) => handle.await,
                    None => std::future::pending().await,
                }
            } => {
                self.reading = None;
                match read {
                    Ok((commit, change)) => self.app.change_loaded(&commit, change),
                    Err(e) => self.app.change_failed(&e.to_string()),
                }
            }
            received = recv_batch(&mut self.updates, &mut self.batch) => {
                self.on_updates(received);
            }
            () = sleep_until(replay_due) => self.app.replay_tick(),
            _ = self.spin.tick(), if animating => {
                self.app.frame = self.app.frame.wrapping_add(1);
            }
        }
        Ok(Step::Changed)
    }

    fn on_input_end(&mut self) {}
}

/// Receives a batch of updates; 0 when the channel closed. Never resolves
/// when there is no channel.
async fn recv_batch(
    updates: &mut Option<mpsc::UnboundedReceiver<Update>>,
    batch: &mut Vec<Update>,
) -> usize {
    match updates {
        Some(rx) => rx.recv_many(batch, 256).await,
        None => std::future::pending().await,
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use futures::StreamExt;
    use pretty_assertions::assert_eq;
    use ratatui::layout::Rect;
    use ratatui::{TerminalOptions, Viewport};

    use super::*;
    use crate::session::testing::{numbered, started};
    use crate::session::{Action, DecidedBy, Decision, EventKind};

    /// The whole loop: the engine's updates open a gate, a key answers it,
    /// and the decision comes out of the command channel; the loop ends
    /// with its input.
    #[tokio::test(start_paused = true)]
    async fn updates_in_a_key_in_a_decision_out() {
        let (commands, mut sent) = mpsc::unbounded_channel();
        let (updates_tx, updates) = mpsc::unbounded_channel();
        let mut app = App::new(Source::Live(Some(commands)), Theme::mono());
        let events = numbered([
            started("r", "offline"),
            EventKind::PhaseStarted {
                phase: "summarize".into(),
                attempt: 1,
            },
            EventKind::Artifact {
                outputs: Vec::new(),
                missing: Vec::new(),
                phase: "summarize".into(),
                attempt: 1,
                name: "requirements".into(),
                content: "x".into(),
            },
            EventKind::GateOpened {
                phase: "summarize".into(),
                question: "Approve?".into(),
                over_budget: None,
            },
        ]);
        for event in events {
            updates_tx.send(Update::Event(event)).expect("send");
        }
        // The key comes after the updates had time to arrive.
        let input = futures::stream::once(async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            Ok(TermEvent::Key(KeyEvent::new(
                KeyCode::Char('a'),
                KeyModifiers::NONE,
            )))
        })
        .boxed();
        let mut terminal = Terminal::with_options(
            CrosstermBackend::new(io::sink()),
            TerminalOptions {
                viewport: Viewport::Fixed(Rect::new(0, 0, 120, 30)),
            },
        )
        .expect("terminal");
        drive(&mut terminal, &mut app, input, Some(updates), false)
            .await
            .expect("the loop");
        assert_eq!(
            sent.try_recv().ok(),
            Some(Command::Decide(
                Decision::new("summarize", Action::Approve, DecidedBy::User).at_gate(3)
            ))
        );
        assert_eq!(app.state().gate.as_ref().map(|g| g.phase), Some(0));
    }
}
