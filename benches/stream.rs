//! Streamed text at a real model's pace, and counting its tokens.
//!
//! * `paced_phase_40_tokens_per_s`: one phase answering 2,400 tokens at 40
//!   a second (a minute of a small local model), through the engine and
//!   its log, in tokio's paused time (so criterion measures the engine's
//!   work, not the minute). After criterion's figure it prints how many
//!   `output` events the minute wrote: the log's events per second of
//!   stream.
//! * `tokenizer_o200k_build`, `tokenizer_cl100k_build`: building an
//!   encoder (once per session, off the async threads).
//! * `tokenizer_o200k_count_10kb`: counting 10 KB of Markdown.

#[path = "../tests/common/paced.rs"]
mod paced;

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use handoff::engine::{Engine, LogWriter, SessionSpec};
use handoff::pipeline::{SkillsFile, load_pipeline};
use handoff::protocol::{Command, Sink};
use handoff::provider::tokens::Tokens;
use handoff::session::{Event, EventKind, SessionState};
use tokio::sync::mpsc;

use paced::Paced;

const TOKENS: usize = 2400;
const EVERY: Duration = Duration::from_millis(25);

/// Counts the `output` events and stops the engine at the first gate.
struct Counter {
    outputs: usize,
    streamed: usize,
    commands: Option<mpsc::UnboundedSender<Command>>,
    done: Option<std::sync::mpsc::Sender<(usize, usize)>>,
}

impl Sink for Counter {
    fn publish(&mut self, event: &Event, _state: &SessionState) {
        if matches!(event.kind, EventKind::Output { .. }) {
            self.outputs += 1;
        }
        if matches!(event.kind, EventKind::GateOpened { .. }) {
            self.commands = None;
            if let Some(done) = self.done.take() {
                let _ = done.send((self.outputs, self.streamed));
            }
        }
    }

    fn notice(&mut self, _text: String) {}

    fn streaming(&mut self, _phase: &str, _attempt: u32, _task: Option<u32>, _text: &str) {
        self.streamed += 1;
    }
}

/// One paced phase to its gate: (output events, pieces sent live).
fn paced_phase() -> (usize, usize) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let log = LogWriter::create(dir.path(), "paced").expect("log");
    let (commands, commands_rx) = mpsc::unbounded_channel();
    let (done, result) = std::sync::mpsc::channel();
    let spec = SessionSpec::new(
        "paced",
        "Add rate limiting to the orders API",
        load_pipeline(&SkillsFile::builtin(), None).expect("pipeline"),
        Arc::new(Paced {
            tokens: TOKENS,
            every: EVERY,
        }),
        "paced",
    );
    let sink = Counter {
        outputs: 0,
        streamed: 0,
        commands: Some(commands),
        done: Some(done),
    };
    runtime
        .block_on(Engine::new(spec, log, Box::new(sink), commands_rx).run())
        .expect("engine");
    result.recv().expect("a gate opened")
}

#[expect(clippy::cast_precision_loss, reason = "counts of a few thousand")]
fn benches(c: &mut Criterion) {
    c.bench_function("paced_phase_40_tokens_per_s", |b| {
        b.iter(|| black_box(paced_phase()));
    });
    c.bench_function("tokenizer_o200k_build", |b| {
        b.iter(|| {
            let tokens = Tokens::for_model("gpt-4o");
            black_box(tokens.count(""))
        });
    });
    c.bench_function("tokenizer_cl100k_build", |b| {
        b.iter(|| {
            let tokens = Tokens::for_model("gpt-4");
            black_box(tokens.count(""))
        });
    });
    let text = "## Plan\n\nThe orders API gets a token bucket per client, 100 requests a minute; \
                `GET /api/v1/orders` answers 429 with `Retry-After` past it.\n"
        .repeat(70);
    let tokens = Tokens::for_model("gpt-4o");
    tokens.count("");
    c.bench_function("tokenizer_o200k_count_10kb", |b| {
        b.iter(|| black_box(tokens.count(&text)));
    });

    let (outputs, pieces) = paced_phase();
    let seconds = EVERY.as_secs_f64() * TOKENS as f64;
    println!(
        "paced stream: {TOKENS} tokens at {:.0}/s ({seconds:.0} s, {pieces} pieces sent live) \
         wrote {outputs} output events = {:.2} events per second of stream ({} bytes of text)",
        1.0 / EVERY.as_secs_f64(),
        outputs as f64 / seconds,
        (0..TOKENS).map(|i| paced::token(i).len()).sum::<usize>(),
    );
    let t = std::time::Instant::now();
    let fresh = Tokens::for_model("gpt-4o");
    fresh.count("");
    println!("o200k_base encoder built in {:?} (one build)", t.elapsed());
}

criterion_group! {
    name = stream;
    config = Criterion::default().sample_size(10).warm_up_time(Duration::from_secs(1));
    targets = benches
}
criterion_main!(stream);
