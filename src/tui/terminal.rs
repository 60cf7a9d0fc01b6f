//! The one terminal lifecycle and the one UI loop every screen runs in.
//!
//! A [`Tty`] is the terminal while handoff holds it: taken over (raw mode,
//! the alternate screen, cleared) when the first view runs, kept from one
//! view to the next (the start screen, then the live session it starts, a
//! replay picked there and back), and restored once, when the command is
//! done or on any exit path (and, through ratatui's hook, on panic). What a
//! command has to say while it is held waits, and is printed after.
//!
//! `run` runs one view on it with bracketed paste and the [`Modes`] the
//! view asks for, turned off again after it. `run_view` only
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

/// The terminal, held from the first view a command shows until the
/// command is done: one take-over and one restore however many views run,
/// so going from one to the next never flickers through the shell.
#[derive(Default)]
pub struct Tty {
    terminal: Option<ratatui::DefaultTerminal>,
    /// Lines said while the terminal was held, printed once it is not.
    held: Vec<String>,
}

impl Tty {
    /// The terminal, taken over on first use.
    fn hold(&mut self) -> io::Result<&mut ratatui::DefaultTerminal> {
        let terminal = match self.terminal.take() {
            Some(terminal) => terminal,
            None => enter()?,
        };
        Ok(self.terminal.insert(terminal))
    }

    /// Says `line` (sanitized) on stderr (as `handoff: line`), now if the terminal is
    /// not held, else once it is given back: written over the alternate
    /// screen it would garble the view and then vanish with it.
    pub fn say(&mut self, line: impl Into<String>) {
        // Lines name files, models and sessions: never let them drive the
        // terminal, whoever wrote them.
        let line = crate::sanitize::sanitize(&line.into()).into_owned();
        if self.terminal.is_some() {
            self.held.push(line);
        } else {
            eprintln!("handoff: {line}");
        }
    }

    /// Says what the command is waiting for (a probe of the server, say):
    /// on the held terminal as a frame of its own, between the view before
    /// and the one after; else on stderr at once. Said again once the
    /// terminal is given back, if it was held.
    pub fn waiting(&mut self, line: impl Into<String>) {
        let line = line.into();
        if let Some(terminal) = &mut self.terminal {
            let shown = format!(" {} …", crate::sanitize::sanitize(&line));
            let drawn = terminal.draw(|frame| {
                let area = frame.area();
                let middle = ratatui::layout::Rect {
                    y: area.y + area.height / 2,
                    height: area.height.min(1),
                    ..area
                };
                frame.render_widget(ratatui::widgets::Paragraph::new(shown).centered(), middle);
            });
            // A frame that could not be drawn loses nothing: the line is
            // said again after.
            drop(drawn);
        }
        self.say(line);
    }

    /// What was said while the terminal was held and is not yet printed,
    /// for the next view to show too.
    pub fn said(&self) -> &[String] {
        &self.held
    }

    /// Gives the terminal back (if it was held), then prints what was said
    /// meanwhile. Restoring tries every step and reports the first error.
    pub fn leave(&mut self) -> io::Result<()> {
        let restored = match self.terminal.take() {
            Some(_) => ratatui::try_restore(),
            None => Ok(()),
        };
        for line in self.held.drain(..) {
            eprintln!("handoff: {line}");
        }
        restored
    }
}

impl Drop for Tty {
    fn drop(&mut self) {
        let _ = self.leave();
    }
}

/// Takes the terminal over (raw mode, the alternate screen) with the
/// screen cleared: the alternate screen may still show what the shell
/// drew, and a first frame only writes the cells it thinks changed.
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
/// The terminal stays held for the next view; the modes are turned off.
/// The screen keeps what this view drew, and the next view's first frame
/// writes only the cells that differ from it.
pub(crate) async fn run<V: View>(tty: &mut Tty, view: &mut V, modes: Modes) -> io::Result<V::Done> {
    let terminal = tty.hold()?;
    let result = match modes.enable() {
        Ok(()) => run_view(terminal, view, EventStream::new()).await,
        Err(e) => Err(e),
    };
    let modes = modes.disable();
    let done = result?;
    modes?;
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
