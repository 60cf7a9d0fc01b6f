//! Streamed text at a real model's pace, and an attempt that never ends.
//!
//! At 40 tokens a second the log gets the text by line, a few `output`
//! events a second, while the screen shows every token as it comes (sent
//! live, not written); what was written is exactly what was streamed. A
//! model that goes on and on is stopped at `[timeouts] attempt`: the
//! attempt fails, named, and a retry goes on.

use crate::common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::paced::{Paced, TOKENS_PER_LINE, token};
use common::server::{Piece, Reply, TestServer, answer, role_of, text_chunk, well_behaved};
use common::{REQUEST, Sandbox, events, of_kind, stderr, stdout};
use handoff::engine::{Engine, LogWriter, SessionSpec};
use handoff::pipeline::{SkillsFile, load_pipeline};
use handoff::protocol::{Command, Sink, Update};
use handoff::session::{Event, EventKind, SessionState};
use handoff::tui::Theme;
use handoff::tui::app::{App, Source};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tokio::sync::mpsc;

/// Passes everything to the client's channel as `handoff run` does, and
/// lets the engine stop at the first gate (its commands close).
struct Tap {
    updates: mpsc::UnboundedSender<Update>,
    commands: Option<mpsc::UnboundedSender<Command>>,
}

impl Sink for Tap {
    fn publish(&mut self, event: &Event, state: &SessionState) {
        self.updates.publish(event, state);
        if matches!(event.kind, EventKind::GateOpened { .. }) {
            self.commands = None;
        }
    }

    fn notice(&mut self, text: String) {
        self.updates.notice(text);
    }

    fn streaming(&mut self, phase: &str, attempt: u32, task: Option<u32>, text: &str) {
        self.updates.streaming(phase, attempt, task, text);
    }
}

/// The first phase of a session against `provider`, up to its gate: every
/// update the client got, in order.
async fn first_phase(provider: Paced) -> Vec<Update> {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = LogWriter::create(dir.path(), "paced").expect("log");
    let (updates, mut received) = mpsc::unbounded_channel();
    let (commands, commands_rx) = mpsc::unbounded_channel();
    let spec = SessionSpec::new(
        "paced",
        REQUEST,
        load_pipeline(&SkillsFile::builtin(), None).expect("pipeline"),
        Arc::new(provider),
        "paced",
    );
    let tap = Tap {
        updates,
        commands: Some(commands),
    };
    Engine::new(spec, log, Box::new(tap), commands_rx)
        .run()
        .await
        .expect("engine");
    let mut all = Vec::new();
    while let Ok(update) = received.try_recv() {
        all.push(update);
    }
    all
}

fn draw(app: &mut App) -> String {
    app.set_size(200, 40);
    let mut terminal = Terminal::new(TestBackend::new(200, 40)).expect("terminal");
    terminal
        .draw(|f| f.render_widget(&*app, f.area()))
        .expect("draw");
    terminal.backend().to_string()
}

#[tokio::test(start_paused = true)]
async fn at_forty_tokens_a_second_the_log_gets_lines_and_the_screen_every_token() {
    // Thirty seconds of a small local model's stream, in tokio's paused
    // time.
    let tokens = 1200;
    let every = Duration::from_millis(25);
    let updates = first_phase(Paced { tokens, every }).await;
    let outputs: Vec<&str> = updates
        .iter()
        .filter_map(|u| {
            if let Update::Event(Event {
                kind: EventKind::Output { text, .. },
                ..
            }) = u
            {
                Some(text.as_str())
            } else {
                None
            }
        })
        .collect();
    let whole: String = (0..tokens).map(token).collect();
    assert_eq!(outputs.concat(), whole, "the log has every token, in order");
    // A line is 300 ms of stream: one event per line at most, and never
    // one per token.
    let seconds = (every * u32::try_from(tokens).expect("few")).as_secs_f64();
    let per_second = f64::from(u32::try_from(outputs.len()).expect("few")) / seconds;
    assert!(
        (2.0..=4.0).contains(&per_second),
        "{} output events in {seconds} s",
        outputs.len()
    );
    assert!(
        outputs[..outputs.len() - 1]
            .iter()
            .all(|t| t.ends_with('\n')),
        "written by whole lines: {outputs:?}"
    );

    // The screen: before the first line is written, the tokens streamed so
    // far are on it, from the live route alone.
    let mut app = App::new(Source::Live(None), Theme::mono());
    let first_written = updates
        .iter()
        .position(|u| matches!(u, Update::Event(e) if matches!(e.kind, EventKind::Output { .. })))
        .expect("an output event");
    let mut streamed = 0;
    for update in updates[..first_written].iter().cloned() {
        streamed += usize::from(matches!(update, Update::Streaming { .. }));
        app.on_update(update);
    }
    assert_eq!(streamed, TOKENS_PER_LINE, "the first line, token by token");
    let screen = draw(&mut app);
    let last = token(TOKENS_PER_LINE - 2);
    assert!(screen.contains(last.trim()), "{screen}");
    // Once it is all written, nothing is shown twice.
    for update in updates[first_written..].iter().cloned() {
        app.on_update(update);
    }
    let screen = draw(&mut app);
    assert_eq!(screen.matches("w7 ").count(), 1, "{screen}");
}

#[test]
fn an_attempt_past_its_time_fails_named_and_the_retry_goes_on() {
    // The first answer rambles for a minute, a little every 100 ms (never
    // idle long enough for the idle timeout); the retry answers.
    let server = TestServer::start(|n, request| {
        if n == 0 {
            let mut pieces = Vec::new();
            for _ in 0..600 {
                pieces.push(text_chunk("and so on, "));
                pieces.push(Piece::Pause(Duration::from_millis(100)));
            }
            Reply::Sse(pieces)
        } else {
            answer(&well_behaved(&role_of(request)), 100, 20)
        }
    });
    let sandbox = Sandbox::new();
    sandbox.config("[timeouts]\nidle = 5\nfirst_byte = 5\nattempt = 1\n");
    let decisions = sandbox.dir.path().join("decisions.toml");
    std::fs::write(&decisions, "[summarize]\naction = \"reject\"\n").expect("decisions");
    let started = Instant::now();
    let output = sandbox
        .command()
        .env("OPENAI_API_KEY", "sk-test")
        .args(["run", "--headless", "--approve", "all", "--decisions"])
        .arg(&decisions)
        .args([
            "--base-url",
            &server.base_url,
            "--model",
            "test-model",
            REQUEST,
        ])
        .output()
        .expect("run handoff");
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}{}",
        stdout(&output),
        stderr(&output)
    );
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "stopped at the bound, not at the end of the ramble"
    );
    let events = events(&sandbox.log());
    let failed = of_kind(&events, "phase_failed");
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0]["phase"], "summarize");
    let error = failed[0]["error"].as_str().expect("error");
    assert!(
        error.starts_with("timed out: summarize") && error.contains("1 s"),
        "{error}"
    );
    assert!(
        of_kind(&events, "output")
            .iter()
            .any(|o| o["attempt"] == 1 && o["text"].as_str().is_some_and(|t| t.contains("so on"))),
        "what arrived before the bound is kept"
    );
    let summarize: Vec<_> = of_kind(&events, "artifact")
        .into_iter()
        .filter(|a| a["phase"] == "summarize")
        .collect();
    assert_eq!(summarize.len(), 1);
    assert_eq!(summarize[0]["attempt"], 2, "the retry answered");
}
