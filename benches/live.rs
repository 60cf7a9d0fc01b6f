//! The UI loop under load: frames and key latency while an answer streams,
//! and replay at full speed.
//!
//! Streaming: an engine runs the first phase against a provider that emits
//! 100,000 deltas as fast as it can (and again paced over a few seconds, so
//! there is time to press keys while it streams), while the real UI loop
//! (`handoff::tui::drive`) draws a 200x50 board into a counting writer
//! behind the real crossterm backend, and a thread presses `→`/`←` every
//! 37 ms. It reports the frame rate, the key-to-frame latency (a key's send
//! to the end of the first frame written after it), and how many `output`
//! events and bytes the log got for those deltas.
//!
//! Replay: the 200,000-event session of the `session` bench played at max
//! speed through the same loop, timed to the frame that shows it ended.
//!
//! Paste: 25 KB of lines pasted into an open feedback box at a gate,
//! through the same loop (a bracketed paste arrives as one event), timed
//! from sending the paste to the end of the frame that shows it; and, with
//! criterion, `App::on_paste` alone.
//!
//! These are whole-system runs of a second or so each, timed directly
//! rather than with criterion's repetitions; criterion keeps the fold of a
//! replay step's worth of events as its measured function.

#![expect(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "Figures for display."
)]

#[allow(dead_code, reason = "Shared by several benches; each uses part of it.")]
mod support;

use std::io::{self, Write};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use crossterm::event::{Event as TermEvent, KeyCode, KeyEvent, KeyModifiers};
use futures::StreamExt;
use futures::channel::mpsc as keys;
use handoff::clock::Speed;
use handoff::engine::LogWriter;
use handoff::engine::{Engine, SessionSpec};
use handoff::protocol::{Command, Sink, Update};
use handoff::provider::{Chunk, ChunkStream, CompletionRequest, Provider};
use handoff::session::log::read_log;
use handoff::session::{Event, EventKind, SessionState};
use handoff::tui::app::Source;
use handoff::tui::overlay::Overlay;
use handoff::tui::replay::Player;
use handoff::tui::{App, Theme, drive};
use ratatui::backend::CrosstermBackend;
use ratatui::layout::Rect;
use ratatui::{Terminal, TerminalOptions, Viewport};
use tokio::sync::mpsc;

const DELTAS: usize = 100_000;

/// A provider that answers with `DELTAS` small deltas: all at once, or
/// paced, pausing `pause` after every `burst` of them.
struct Flood {
    pace: Option<(usize, Duration)>,
}

impl Provider for Flood {
    fn name(&self) -> &'static str {
        "flood"
    }

    fn stream(&self, _request: CompletionRequest) -> ChunkStream {
        let pace = self.pace;
        let text = futures::stream::iter(0..DELTAS).then(move |i| async move {
            if let Some((burst, pause)) = pace
                && i % burst == 0
            {
                tokio::time::sleep(pause).await;
            }
            Ok(Chunk::Text(if i % 12 == 11 {
                "limits\n".into()
            } else {
                " rate".into()
            }))
        });
        let end = [
            Ok(Chunk::Usage {
                prompt_tokens: 100,
                completion_tokens: DELTAS as u64,
            }),
            Ok(Chunk::Done {
                finish_reason: "stop".into(),
            }),
        ];
        Box::pin(text.chain(futures::stream::iter(end)))
    }
}

/// A key press as the terminal's event stream yields it.
type Input = io::Result<TermEvent>;

/// What the counting writer saw: bytes and, per frame, when its first
/// byte was written and when it was flushed.
#[derive(Default)]
struct Frames {
    bytes: usize,
    open: Option<Instant>,
    drawn: Vec<(Instant, Instant)>,
    /// When a frame showing the replay's end mark (`■`) was flushed.
    ended: Option<Instant>,
    saw_end: bool,
}

#[derive(Clone, Default)]
struct Screen(Arc<Mutex<Frames>>);

impl Screen {
    fn with<T>(&self, f: impl FnOnce(&mut Frames) -> T) -> T {
        f(&mut self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }

    fn terminal(&self) -> Terminal<CrosstermBackend<Self>> {
        let options = TerminalOptions {
            viewport: Viewport::Fixed(Rect::new(0, 0, 200, 50)),
        };
        Terminal::with_options(CrosstermBackend::new(self.clone()), options).expect("terminal")
    }
}

impl Write for Screen {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let end_mark = "■".as_bytes();
        self.with(|f| {
            f.bytes += buf.len();
            f.open.get_or_insert_with(Instant::now);
            f.saw_end |= buf.windows(end_mark.len()).any(|w| w == end_mark);
        });
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.with(|f| {
            if let Some(open) = f.open.take() {
                let now = Instant::now();
                f.drawn.push((open, now));
                if f.saw_end && f.ended.is_none() {
                    f.ended = Some(now);
                }
            }
        });
        Ok(())
    }
}

/// Passes events to the UI and says when the first gate opened.
struct Tap {
    ui: mpsc::UnboundedSender<Update>,
    gate: std::sync::mpsc::Sender<Instant>,
}

impl Sink for Tap {
    fn publish(&mut self, event: &Event, state: &SessionState) {
        self.ui.publish(event, state);
        if matches!(event.kind, EventKind::GateOpened { .. }) {
            let _ = self.gate.send(Instant::now());
        }
    }

    fn notice(&mut self, text: String) {
        self.ui.notice(text);
    }

    fn streaming(&mut self, phase: &str, attempt: u32, task: Option<u32>, text: &str) {
        self.ui.streaming(phase, attempt, task, text);
    }
}

fn key(code: KeyCode) -> TermEvent {
    TermEvent::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

/// The most frames flushed within any one second.
fn busiest_second(flushes: &[Instant]) -> usize {
    let mut best = 0;
    let mut from = 0;
    for (to, t) in flushes.iter().enumerate() {
        while *t - flushes[from] >= Duration::from_secs(1) {
            from += 1;
        }
        best = best.max(to + 1 - from);
    }
    best
}

fn streaming(runtime: &tokio::runtime::Runtime, pace: Option<(usize, Duration)>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = LogWriter::create(dir.path(), "flood").expect("log");
    let log_path = log.path().to_owned();
    let (ui_tx, ui_rx) = mpsc::unbounded_channel();
    let (commands_tx, commands_rx) = mpsc::unbounded_channel();
    let (gate_tx, gate_rx) = std::sync::mpsc::channel();
    let spec = SessionSpec::new(
        "flood",
        "Add rate limiting to the orders API",
        support::pipeline(),
        Arc::new(Flood { pace }),
        "flood",
    );
    let tap = Tap {
        ui: ui_tx,
        gate: gate_tx,
    };
    let engine = Engine::new(spec, log, Box::new(tap), commands_rx);
    let screen = Screen::default();
    let mut terminal = screen.terminal();
    let mut app = App::new(Source::Live(Some(commands_tx)), Theme::ansi());
    let (keys_tx, keys_rx) = keys::unbounded::<Input>();

    // As in `handoff run`: the engine is a task, the UI loop runs on the
    // thread that blocks on the runtime.
    let (app, engine_state, started, gate_at, pressed) = runtime.block_on(async move {
        let started = Instant::now();
        let engine = tokio::spawn(engine.run());
        let keyboard = std::thread::spawn(move || {
            let mut pressed = Vec::new();
            loop {
                std::thread::sleep(Duration::from_millis(37));
                if let Ok(at) = gate_rx.try_recv() {
                    return (pressed, at, keys_tx);
                }
                let code = if pressed.len() % 2 == 0 {
                    KeyCode::Right
                } else {
                    KeyCode::Left
                };
                pressed.push(Instant::now());
                keys_tx.unbounded_send(Ok(key(code))).expect("send a key");
            }
        });
        let closer = async {
            let (pressed, gate_at, keys_tx) = tokio::task::spawn_blocking(move || keyboard.join())
                .await
                .expect("join")
                .expect("keyboard");
            // Let the UI take in the last updates, then end its input.
            tokio::time::sleep(Duration::from_millis(300)).await;
            drop(keys_tx);
            (pressed, gate_at)
        };
        let ui = drive(&mut terminal, &mut app, keys_rx, Some(ui_rx), false);
        let (drawn, (pressed, gate_at)) = tokio::join!(ui, closer);
        drawn.expect("ui loop");
        // The app's channel to the engine closes: the engine stops.
        let app = app.into_state();
        let state = engine.await.expect("engine task").expect("engine");
        (app, state, started, gate_at, pressed)
    });

    let frames = screen.with(|f| std::mem::take(&mut f.drawn));
    let flushes: Vec<Instant> = frames
        .iter()
        .map(|(_, end)| *end)
        .filter(|end| *end >= started && *end <= gate_at)
        .collect();
    let mut latencies: Vec<Duration> = pressed
        .iter()
        .filter_map(|sent| {
            frames
                .iter()
                .find(|(open, _)| open >= sent)
                .map(|(_, end)| *end - *sent)
        })
        .collect();
    latencies.sort();
    let events = read_log(&log_path).expect("read the log").events;
    let outputs: Vec<&str> = events
        .iter()
        .filter_map(|e| {
            let EventKind::Output { text, .. } = &e.kind else {
                return None;
            };
            Some(text.as_str())
        })
        .collect();
    let text: usize = outputs.iter().map(|t| t.len()).sum();
    let log_bytes = std::fs::metadata(&log_path).map_or(0, |m| m.len());
    let streaming = gate_at - started;
    match pace {
        None => println!("\n== issue 8 figures: streaming {DELTAS} deltas at once =="),
        Some((burst, pause)) => println!(
            "\n== issue 8 figures: streaming {DELTAS} deltas, {burst} every {} ==",
            ms(pause)
        ),
    }
    println!(
        "streamed to the gate in {}; the UI folded {} of the engine's {} events",
        ms(streaming),
        app.next_seq,
        engine_state.next_seq
    );
    println!(
        "frames while streaming: {} in {} = {:.0}/s; busiest second {} (target <= 60)",
        flushes.len(),
        ms(streaming),
        flushes.len() as f64 / streaming.as_secs_f64(),
        busiest_second(&flushes)
    );
    if !latencies.is_empty() {
        println!(
            "key to frame ({} keys): median {} p99 {} max {} (target p99 < 16 ms)",
            latencies.len(),
            ms(percentile(&latencies, 0.5)),
            ms(percentile(&latencies, 0.99)),
            ms(latencies[latencies.len() - 1])
        );
    }
    println!(
        "log: {} output events for {DELTAS} deltas ({text} bytes of text); the whole log {log_bytes} bytes",
        outputs.len()
    );
}

fn replay(runtime: &tokio::runtime::Runtime, events: Vec<Event>) {
    let count = events.len();
    let screen = Screen::default();
    let mut terminal = screen.terminal();
    let mut app = App::new(
        Source::Replay(Player::new(events, Speed::Max)),
        Theme::ansi(),
    );
    let (keys_tx, keys_rx) = keys::unbounded::<Input>();
    let watch = screen.clone();
    let (elapsed, at_end) = runtime.block_on(async move {
        let started = Instant::now();
        let watcher = async {
            let ended = loop {
                if let Some(at) = watch.with(|f| f.ended) {
                    break at;
                }
                if started.elapsed() > Duration::from_secs(120) {
                    break Instant::now();
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            };
            keys_tx
                .unbounded_send(Ok(key(KeyCode::Char('q'))))
                .expect("quit");
            ended
        };
        let ui = drive(&mut terminal, &mut app, keys_rx, None, false);
        let (drawn, ended) = tokio::join!(ui, watcher);
        drawn.expect("ui loop");
        let at_end = match app.source() {
            Source::Replay(player) => player.at_end(),
            Source::Live(_) => false,
        };
        (ended - started, at_end)
    });
    let frames = screen.with(|f| f.drawn.len());
    println!("\n== issue 8 figures: replay at max speed ==");
    println!(
        "{count} events played to the end ({at_end}) in {} with {frames} frames (target < 1 s)",
        ms(elapsed)
    );
}

/// About 25 KB of lines, as a reviewer pastes a log or a list.
fn paste_text() -> String {
    (1..=400)
        .map(|i| format!("line {i:03}: the limit applies per client and per route, not globally"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A live app (no engine behind it) at the first phase's gate.
fn at_gate(commands: mpsc::UnboundedSender<Command>) -> App {
    let pipeline = support::pipeline();
    let phase = pipeline.phases[0].id.clone();
    let mut script = support::Script::new(7);
    script.started(&pipeline);
    script.attempt(
        &phase,
        1,
        40,
        "# Requirements\n\n- limit requests per client",
    );
    script.gate(&phase, "Approve the requirements?");
    let mut app = App::new(Source::Live(Some(commands)), Theme::ansi());
    for event in script.events {
        app.on_update(Update::Event(event));
    }
    app
}

/// The text in the open box, if one is open.
fn box_text(app: &App) -> Option<String> {
    if let Some(Overlay::Compose(compose)) = app.overlay() {
        Some(compose.text())
    } else {
        None
    }
}

/// Pastes `text` into the feedback box through the UI loop, `runs` times;
/// each run's time from sending the paste to the end of the frame after it.
fn paste(runtime: &tokio::runtime::Runtime, text: &str, runs: usize) {
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let screen = Screen::default();
        let mut terminal = screen.terminal();
        let (commands, _engine) = mpsc::unbounded_channel();
        let mut app = at_gate(commands);
        let (keys_tx, keys_rx) = keys::unbounded::<Input>();
        let watch = screen.clone();
        let frames = move || watch.with(|f| f.drawn.clone());
        let elapsed = runtime.block_on(async {
            let user = async move {
                let wait_for_frames = |n: usize| {
                    let frames = frames.clone();
                    async move {
                        while frames().len() < n {
                            tokio::time::sleep(Duration::from_millis(1)).await;
                        }
                        frames()
                    }
                };
                wait_for_frames(1).await;
                keys_tx
                    .unbounded_send(Ok(key(KeyCode::Char('r'))))
                    .expect("r");
                let before = wait_for_frames(2).await.len();
                // Past the pacer's frame time: the paste's frame is not held back.
                tokio::time::sleep(Duration::from_millis(50)).await;
                let sent = Instant::now();
                keys_tx
                    .unbounded_send(Ok(TermEvent::Paste(text.to_owned())))
                    .expect("paste");
                let shown = wait_for_frames(before + 1).await[before].1;
                // The input ends: the loop returns.
                drop(keys_tx);
                shown - sent
            };
            let ui = drive(&mut terminal, &mut app, keys_rx, None, false);
            let (drawn, elapsed) = tokio::join!(ui, user);
            drawn.expect("ui loop");
            elapsed
        });
        assert_eq!(
            box_text(&app).as_deref(),
            Some(text),
            "the box holds the paste"
        );
        times.push(elapsed);
    }
    times.sort();
    let (commands, _engine) = mpsc::unbounded_channel();
    let mut app = at_gate(commands);
    app.on_key(&KeyEvent::new(KeyCode::Char('r'), KeyModifiers::NONE));
    let start = Instant::now();
    app.on_paste(text);
    let inserted = start.elapsed();
    println!("\n== issue 15 figures: pasting into a text box ==");
    println!(
        "{} bytes in {} lines pasted into the feedback box: {} to the frame that shows it \
         (median of {runs}; worst {}), {} into the box alone (target < 100 ms)",
        text.len(),
        text.lines().count(),
        ms(percentile(&times, 0.5)),
        ms(times[times.len() - 1]),
        ms(inserted)
    );
}

fn benches(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let text = paste_text();
    paste(&runtime, &text, 20);
    c.bench_function("paste_25kb_into_feedback_box", |b| {
        b.iter_batched(
            || {
                let (commands, engine) = mpsc::unbounded_channel();
                let mut app = at_gate(commands);
                app.on_key(&KeyEvent::new(KeyCode::Char('r'), KeyModifiers::NONE));
                (app, engine)
            },
            |(mut app, engine)| {
                app.on_paste(&text);
                (app, engine)
            },
            BatchSize::LargeInput,
        );
    });

    streaming(&runtime, None);
    streaming(&runtime, Some((40, Duration::from_millis(2))));

    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("long.jsonl");
    support::write_log(&path, &support::long_session(200_000));
    let start = Instant::now();
    let events = read_log(&path).expect("read").events;
    println!(
        "\nreading the 200,000-event log for replay: {}",
        ms(start.elapsed())
    );
    let slice: Vec<Event> = events[..20_000].to_vec();
    replay(&runtime, events);

    c.bench_function("replay_step_20k_events", |b| {
        b.iter(|| {
            let mut player = Player::new(slice.clone(), Speed::Max);
            let mut state = SessionState::default();
            while !player.at_end() {
                player.advance(&mut state);
            }
            state.next_seq
        });
    });
}

criterion_group!(live, benches);
criterion_main!(live);
