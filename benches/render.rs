//! Drawing a busy board: the cost of a frame, and the bytes one streamed
//! token sends to the terminal.
//!
//! The board is 200x50 with six columns: three phases approved (one of them
//! with a 1 MB implementation artifact), one approved, one streaming its
//! answer, one pending. Criterion measures a frame of the board and of the
//! 1 MB artifact open full-screen through ratatui's `TestBackend`, and a
//! frame after one more streamed token. Then the real crossterm backend
//! draws into a counting writer to measure the bytes one appended token
//! sends to the terminal.

#![expect(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "Figures for display."
)]

#[allow(dead_code, reason = "Shared by several benches; each uses part of it.")]
mod support;

use std::cell::Cell;
use std::hint::black_box;
use std::io::{self, Write};
use std::rc::Rc;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use handoff::protocol::Update;
use handoff::session::{DecidedBy, Decision, Event, EventKind};
use handoff::tui::app::{Screen, Source};
use handoff::tui::{App, Theme};
use ratatui::backend::{CrosstermBackend, TestBackend};
use ratatui::layout::Rect;
use ratatui::{Terminal, TerminalOptions, Viewport};

const WIDTH: u16 = 200;
const HEIGHT: u16 = 50;
/// The phase whose artifact is about 1 MB (implementation).
const BIG: usize = 2;
/// The phase that streams.
const STREAMING: usize = 4;

/// The events of the busy board.
fn busy_session() -> Vec<Event> {
    let pipeline = support::pipeline();
    let mut s = support::Script::new(8);
    s.started(&pipeline);
    for (index, phase) in pipeline.phases.iter().enumerate().take(STREAMING) {
        let chunks = if index == BIG { 12_500 } else { 300 };
        s.attempt(&phase.id, 1, chunks, &phase.artifact);
        s.gate(&phase.id, &phase.gate);
        s.decide(Decision::approve(&phase.id, DecidedBy::User));
    }
    let phase = &pipeline.phases[STREAMING].id;
    s.push(EventKind::PhaseStarted {
        phase: phase.clone(),
        attempt: 1,
    });
    for _ in 0..400 {
        let text = s.prose(100);
        s.push(EventKind::Output {
            phase: phase.clone(),
            attempt: 1,
            text,
        });
    }
    s.events
}

fn busy_app(events: &[Event]) -> App {
    let mut app = App::new(Source::Live(None), Theme::ansi());
    for event in events {
        app.on_update(Update::Event(event.clone()));
    }
    app.set_now(events.last().map_or(app.now(), |e| e.t));
    app.set_size(WIDTH, HEIGHT);
    app
}

/// One more streamed token for the running phase.
fn token(app: &App) -> Update {
    Update::Event(Event {
        seq: app.state().next_seq,
        t: app.now(),
        kind: EventKind::Output {
            phase: app.state().phases[STREAMING].id.clone(),
            attempt: 1,
            text: " limit".into(),
        },
    })
}

/// Counts the bytes written to the "terminal".
struct Counter(Rc<Cell<usize>>);

impl Write for Counter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.set(self.0.get() + buf.len());
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn percentile(sorted: &[usize], p: f64) -> usize {
    let index = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[index]
}

/// Bytes sent to a real crossterm backend per appended token.
fn bytes_per_token(events: &[Event]) -> Vec<usize> {
    let mut app = busy_app(events);
    let count = Rc::new(Cell::new(0));
    let backend = CrosstermBackend::new(Counter(Rc::clone(&count)));
    let options = TerminalOptions {
        viewport: Viewport::Fixed(Rect::new(0, 0, WIDTH, HEIGHT)),
    };
    let mut terminal = Terminal::with_options(backend, options).expect("terminal");
    terminal
        .draw(|f| f.render_widget(&app, f.area()))
        .expect("draw");
    let mut sizes = Vec::new();
    for _ in 0..1000 {
        app.on_update(token(&app));
        let before = count.get();
        terminal
            .draw(|f| f.render_widget(&app, f.area()))
            .expect("draw");
        sizes.push(count.get() - before);
    }
    sizes.sort_unstable();
    sizes
}

fn benches(c: &mut Criterion) {
    let events = busy_session();
    let mut app = busy_app(&events);
    let big = app.state().phases[BIG]
        .effective_artifact()
        .map_or(0, str::len);
    println!("busy board: {} events, artifact {big} bytes", events.len());
    let mut terminal = Terminal::new(TestBackend::new(WIDTH, HEIGHT)).expect("terminal");
    let mut draw = |app: &App| {
        terminal
            .draw(|f| f.render_widget(app, f.area()))
            .expect("draw");
    };

    let cold = |app: &mut App, draw: &mut dyn FnMut(&App)| {
        app.forget_layouts();
        let start = Instant::now();
        draw(app);
        start.elapsed()
    };
    let cold_board = cold(&mut app, &mut draw);
    c.bench_function("frame_board_200x50", |b| b.iter(|| draw(black_box(&app))));
    c.bench_function("frame_board_after_a_token", |b| {
        b.iter(|| {
            app.on_update(token(&app));
            draw(black_box(&app));
        });
    });
    app.show(Screen::Artifact {
        phase: BIG,
        attempt: None,
    });
    let cold_artifact = cold(&mut app, &mut draw);
    c.bench_function("frame_artifact_1mb_200x50", |b| {
        b.iter(|| draw(black_box(&app)));
    });
    app.set_scroll(10_000);
    c.bench_function("frame_artifact_1mb_scrolled", |b| {
        b.iter(|| draw(black_box(&app)));
    });

    let sizes = bytes_per_token(&events);
    let mean = sizes.iter().sum::<usize>() / sizes.len();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!("\n== issue 8 figures (200x50, 1 MB artifact) ==");
    println!(
        "first frame, nothing laid out yet: board {:.2} ms, artifact view {:.2} ms",
        ms(cold_board),
        ms(cold_artifact)
    );
    println!(
        "bytes per appended token (crossterm backend, {} tokens): median {} p99 {} max {} mean {mean} (target < 300)",
        sizes.len(),
        percentile(&sizes, 0.5),
        percentile(&sizes, 0.99),
        sizes[sizes.len() - 1],
    );
}

criterion_group!(render, benches);
criterion_main!(render);
