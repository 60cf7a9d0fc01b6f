//! The one terminal lifecycle and the one UI loop every screen runs in.
//!
//! `run` takes the terminal over (raw mode, the alternate screen, cleared,
//! bracketed paste, plus the [`Modes`] a view asks for), runs `run_view`
//! and restores the
//! terminal on every exit path (and, through ratatui's hook, on panic),
//! trying every step and reporting the first error. `run_view` only
//! selects: terminal input goes to the view, the view's own sources (engine
//! updates, timers, work done off the UI task) wake it through
//! `View::next`, and the [`FramePacer`] says when to draw. A view answers
//! each event with a [`Step`]: whether the screen changed, whether the user
//! is waiting for it, or that it is done.

use std::io;

use crossterm::event::{
    DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture,
    Event as TermEvent, EventStream,
};
use crossterm::execute;
use futures::{Stream, StreamExt};
use ratatui::backend::CrosstermBackend;
use ratatui::layout::Size;
use ratatui::{Frame, Terminal};
use tokio::time::Instant;

use super::pacing::FramePacer;

/// What an event did to a view.
#[derive(Debug, PartialEq, Eq)]
pub enum Step<T> {
    /// Nothing on screen changed.
    Quiet,
    /// Something changed: draw it at the next frame's time.
    Changed,
    /// The user did something: draw it as soon as the pace allows.
    Answered,
    /// The view is done, with this result.
    Done(T),
}

/// A full-screen view the loop runs: the session, the start screen, the stats.
pub(crate) trait View {
    /// What the view ends with.
    type Done;

    /// Takes what a frame depends on but the view's events do not bring:
    /// the screen's size, the wall clock. Called before every draw.
    fn prepare(&mut self, _size: Size) {}

    /// Draws the view on the whole frame; drawing changes nothing.
    fn draw(&self, frame: &mut Frame);

    /// Whether to ring the terminal bell now (asked once after each
    /// event; the loop rings it through the terminal it owns).
    fn take_bell(&mut self) -> bool {
        false
    }

    /// Takes one terminal event.
    fn on_input(&mut self, event: TermEvent) -> io::Result<Step<Self::Done>>;

    /// Waits for the view's own next event and takes it; never resolves
    /// while the view has nothing to wait for. `now` is when this turn of
    /// the loop began (before its frame was drawn), for timers that count
    /// from it. Must be cancel-safe: the loop drops it when input comes
    /// first.
    async fn next(&mut self, now: Instant) -> io::Result<Step<Self::Done>>;

    /// The terminal input ended.
    fn on_input_end(&mut self) -> Self::Done;
}

/// Terminal features a view turns on while it runs. Bracketed paste is
/// on for every view, so a paste arrives whole as `Event::Paste`: without
/// it a terminal types the pasted text as keys, and each letter would run
/// whatever the key is bound to.
#[derive(Clone, Copy, Debug, Default)]
pub struct Modes {
    /// Clicks and the wheel (the board).
    pub mouse: bool,
}

impl Modes {
    fn enable(self) -> io::Result<()> {
        execute!(io::stdout(), EnableBracketedPaste)?;
        if self.mouse {
            execute!(io::stdout(), EnableMouseCapture)?;
        }
        Ok(())
    }

    /// Turns the modes off again, trying each; the first error.
    fn disable(self) -> io::Result<()> {
        let mouse = if self.mouse {
            execute!(io::stdout(), DisableMouseCapture)
        } else {
            Ok(())
        };
        let paste = execute!(io::stdout(), DisableBracketedPaste);
        mouse.and(paste)
    }
}

/// Takes the terminal over (raw mode, the alternate screen) with the
/// screen cleared: the alternate screen may still show what an earlier
/// view drew, and a first frame only writes the cells it thinks changed.
fn enter() -> io::Result<ratatui::DefaultTerminal> {
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

/// Runs `view` on the real terminal until it is done or the input ends.
pub(crate) async fn run<V: View>(view: &mut V, modes: Modes) -> io::Result<V::Done> {
    let mut terminal = enter()?;
    let result = match modes.enable() {
        Ok(()) => run_view(&mut terminal, view, EventStream::new()).await,
        Err(e) => Err(e),
    };
    // Restoring tries every step and reports the first error.
    let modes = modes.disable();
    let restored = ratatui::try_restore();
    let done = result?;
    modes?;
    restored?;
    Ok(done)
}

/// The UI loop: draws `view` on `terminal` while it takes `input` (terminal
/// events) and the view's own events, until the view is done or the input
/// ends. Frames are drawn on change only, paced by a [`FramePacer`].
pub(crate) async fn run_view<W: io::Write, V: View>(
    terminal: &mut Terminal<CrosstermBackend<W>>,
    view: &mut V,
    mut input: impl Stream<Item = io::Result<TermEvent>> + Unpin,
) -> io::Result<V::Done> {
    let mut pacer = FramePacer::new(Instant::now());
    loop {
        let now = Instant::now();
        if pacer.due(now) {
            view.prepare(terminal.size()?);
            terminal.draw(|frame| view.draw(frame))?;
            pacer.drawn(now);
        }
        let step = tokio::select! {
            event = input.next() => match event {
                Some(Ok(event)) => view.on_input(event)?,
                Some(Err(e)) => return Err(e),
                None => return Ok(view.on_input_end()),
            },
            step = view.next(now) => step?,
            () = pacer.wait() => Step::Quiet,
        };
        if view.take_bell() {
            io::Write::write_all(terminal.backend_mut(), b"\x07")?;
            io::Write::flush(terminal.backend_mut())?;
        }
        match step {
            Step::Quiet => {}
            Step::Changed => pacer.request(),
            Step::Answered => pacer.request_now(),
            Step::Done(done) => return Ok(done),
        }
    }
}
