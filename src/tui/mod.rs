//! The terminal UI: six columns, a checkpoint bar, artifacts full-screen.
//!
//! [`run_live`] shows a running session and sends the user's decisions to
//! its engine; [`run_replay`] plays a recorded log through the same views,
//! read-only. Both use one loop that only selects: terminal input, engine
//! updates (drained in batches), the replay clock, and a spinner tick that
//! runs only while something is animating ([`drive`]). The screen is redrawn
//! when something changed, at most once a frame, and at once for a key. The terminal is restored on
//! every exit path and, through ratatui's hook, on panic.

pub mod app;
mod artifact;
mod board;
mod chrome;
pub mod compose;
pub mod diff;
mod gate;
pub mod keymap;
pub mod markdown;
pub mod matrix;
pub mod overlay;
pub mod pacing;
pub mod prompt;
pub mod replay;
pub mod rows;
pub mod stats;
pub mod text;
pub mod theme;
pub mod view;

use std::io;
use std::time::Duration;

use crossterm::event::{
    DisableMouseCapture, EnableMouseCapture, Event as TermEvent, EventStream, KeyEventKind,
};
use crossterm::execute;
use futures::{Stream, StreamExt};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use tokio::sync::mpsc;
use tokio::time::Instant;

pub use app::App;
pub use theme::Theme;

use crate::clock::Speed;
use crate::protocol::{Command, Update};
use crate::session::{Event, SessionState};
use app::{Flow, Source};
use pacing::FramePacer;

pub use pacing::FRAME;
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
}

/// Shows a live session until the user quits; returns the state it ended in.
pub async fn run_live(
    updates: mpsc::UnboundedReceiver<Update>,
    commands: mpsc::UnboundedSender<Command>,
    options: Options,
) -> io::Result<SessionState> {
    let app = App::new(Source::Live(Some(commands)), options.theme.clone());
    with_terminal(app, options, Some(updates)).await
}

/// Plays recorded events until the user quits.
pub async fn run_replay(events: Vec<Event>, speed: Speed, options: Options) -> io::Result<()> {
    let app = App::new(
        Source::Replay(replay::Player::new(events, speed)),
        options.theme.clone(),
    );
    with_terminal(
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

/// Takes the terminal over (raw mode, the alternate screen) with the
/// screen cleared: the alternate screen may still show what an earlier
/// view drew (the start screen before the stats, say), and a first frame
/// only writes the cells it thinks changed.
pub fn enter() -> io::Result<ratatui::DefaultTerminal> {
    let terminal = ratatui::try_init()?;
    // The first frame's buffer is blank, so is the screen now.
    if let Err(e) = execute!(
        io::stdout(),
        crossterm::terminal::Clear(crossterm::terminal::ClearType::All)
    ) {
        let _ = ratatui::try_restore();
        return Err(e);
    }
    Ok(terminal)
}

async fn with_terminal(
    mut app: App,
    options: Options,
    updates: Option<mpsc::UnboundedReceiver<Update>>,
) -> io::Result<SessionState> {
    app.keymap = options.keymap;
    app.prices = options.prices;
    let mut terminal = enter()?;
    let result = match execute!(io::stdout(), EnableMouseCapture) {
        Ok(()) => {
            let input = EventStream::new();
            drive(&mut terminal, &mut app, input, updates, options.bell).await
        }
        Err(e) => Err(e),
    };
    // Restoring tries every step and reports the first error.
    let mouse = execute!(io::stdout(), DisableMouseCapture);
    let restored = ratatui::try_restore();
    result.and(mouse).and(restored)?;
    Ok(app.state)
}

/// The UI loop: draws `app` on `terminal` while it takes `input` (terminal
/// events), engine `updates` and the replay clock, until the user quits or
/// the input ends. `run_live` and `run_replay` run it on the real terminal;
/// the benches drive it with a counting writer and scripted keys.
///
/// Frames are drawn on change only, paced to one per [`FRAME`] on average:
/// changes from the engine or the replay clock wait for the next frame's
/// time, while a key, a click or a resize may take a frame one [`FRAME`]
/// early (the frame after it waits the longer), so a stream of text never
/// delays the answer to the user and never pushes the rate past the pace.
pub async fn drive<W: io::Write>(
    terminal: &mut Terminal<CrosstermBackend<W>>,
    app: &mut App,
    mut input: impl Stream<Item = io::Result<TermEvent>> + Unpin,
    mut updates: Option<mpsc::UnboundedReceiver<Update>>,
    bell: bool,
) -> io::Result<()> {
    let mut batch = Vec::with_capacity(256);
    let mut pacer = FramePacer::new(Instant::now());
    let mut spin = tokio::time::interval(SPIN);
    // After a long wait at a gate, turn on from now rather than catch up.
    spin.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let now = Instant::now();
        if pacer.due(now) {
            if !app.is_replay() {
                app.now = chrono::Utc::now();
            }
            terminal.draw(|frame| {
                let area = frame.area();
                app.size = (area.width, area.height);
                frame.render_widget(&*app, area);
            })?;
            pacer.drawn(now);
        }
        let replay_due = match &mut app.source {
            Source::Replay(player) => player.due(now),
            Source::Live(_) => None,
        };
        tokio::select! {
            event = input.next() => match event {
                Some(Ok(TermEvent::Key(key))) if key.kind != KeyEventKind::Release => {
                    if app.on_key(&key) == Flow::Quit {
                        return Ok(());
                    }
                    pacer.request_now();
                }
                // Pointer movement is reported too: only what changed the
                // view is drawn.
                Some(Ok(TermEvent::Mouse(mouse))) => {
                    if app.on_mouse(&mouse) {
                        pacer.request_now();
                    }
                }
                Some(Ok(TermEvent::Resize(..))) => pacer.request_now(),
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e),
                None => return Ok(()),
            },
            received = recv_batch(&mut updates, &mut batch) => {
                if received == 0 {
                    updates = None;
                    app.on_engine_gone();
                }
                let mut gate_opened = false;
                for update in batch.drain(..) {
                    gate_opened |= app.on_update(update);
                }
                if gate_opened && bell {
                    io::Write::write_all(&mut io::stdout(), b"\x07")?;
                }
                pacer.request();
            }
            () = sleep_until(replay_due) => {
                app.replay_tick();
                pacer.request();
            }
            _ = spin.tick(), if app.animating() => {
                app.frame = app.frame.wrapping_add(1);
                pacer.request();
            }
            () = pacer.wait() => {}
        }
    }
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
