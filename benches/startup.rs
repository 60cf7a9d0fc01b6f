//! Start-up and engine overhead (issue 8, targets 5 and 6).
//!
//! Start-up: `handoff --version` as a process, and the time from spawning
//! `handoff run` in a pseudo-terminal to the first frame on its screen (the
//! board's role names drawn). Engine: six phases run headless in-process
//! against a provider that answers at once, with every gate approved as it
//! opens, the log on disk (with its fsyncs) and on tmpfs (where an fsync
//! costs next to nothing); and the real binary headless against a local
//! OpenAI-compatible server that takes 100 ms to answer each call.

#[allow(dead_code, reason = "Shared by several benches; each uses part of it.")]
mod support;

#[path = "../tests/common/server.rs"]
mod server;

use std::hint::black_box;
use std::io::Read;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use handoff::engine::LogWriter;
use handoff::engine::{Engine, SessionSpec};
use handoff::protocol::{Command as EngineCommand, Sink};
use handoff::provider::{Chunk, ChunkStream, CompletionRequest, Provider};
use handoff::session::{DecidedBy, Decision, Event, EventKind, SessionState};
use portable_pty::{CommandBuilder, PtySize, native_pty_system};
use tokio::sync::mpsc;

const BIN: &str = env!("CARGO_BIN_EXE_handoff");
const REQUEST: &str = "Add rate limiting to the orders API";

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn version() {
    let out = Command::new(BIN).arg("--version").output().expect("run");
    assert!(out.status.success());
}

/// From spawning `handoff run` in a 200x50 pseudo-terminal to a screen
/// that shows the board (the first and the last role's column).
fn first_frame(dir: &Path) -> Duration {
    let pair = native_pty_system()
        .openpty(PtySize {
            rows: 50,
            cols: 200,
            pixel_width: 0,
            pixel_height: 0,
        })
        .expect("openpty");
    let mut cmd = CommandBuilder::new(BIN);
    cmd.cwd(dir);
    cmd.env_clear();
    cmd.env("TERM", "xterm-256color");
    cmd.env("HOME", dir);
    cmd.env("HANDOFF_OFFLINE_PACE", "readable");
    cmd.args(["--sessions", "sessions", "run", REQUEST]);
    let start = Instant::now();
    let mut child = pair.slave.spawn_command(cmd).expect("spawn");
    drop(pair.slave);
    let mut reader = pair.master.try_clone_reader().expect("reader");
    let (tx, output) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = [0_u8; 8192];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut parser = vt100::Parser::new(50, 200, 0);
    let elapsed = loop {
        let bytes = output.recv_timeout(Duration::from_secs(10));
        if bytes.is_err() {
            let _ = child.kill();
        }
        assert!(
            bytes.is_ok(),
            "no board within 10 s:\n{}",
            parser.screen().contents()
        );
        parser.process(&bytes.unwrap_or_default());
        let screen = parser.screen().contents();
        if screen.contains("Business Analyst") && screen.contains("DevOps Engineer") {
            break start.elapsed();
        }
    };
    child.kill().expect("kill");
    child.wait().expect("wait");
    elapsed
}

/// Answers every call at once.
struct Instantly;

impl Provider for Instantly {
    fn name(&self) -> &'static str {
        "instant"
    }

    fn stream(&self, request: CompletionRequest) -> ChunkStream {
        // What a well-behaved model answers (the plan and the verdict as
        // the JSON the pipeline reads), in one delta.
        let answer = server::well_behaved(&request.brief.phase.role);
        Box::pin(futures::stream::iter([
            Ok(Chunk::Text(answer)),
            Ok(Chunk::Usage {
                prompt_tokens: 500,
                completion_tokens: 400,
            }),
            Ok(Chunk::Done {
                finish_reason: "stop".into(),
            }),
        ]))
    }
}

/// Approves every gate as it opens; counts what must be fsynced.
struct Approver {
    commands: mpsc::UnboundedSender<EngineCommand>,
    durable: Arc<std::sync::atomic::AtomicUsize>,
}

impl Sink for Approver {
    fn publish(&mut self, event: &Event, _state: &SessionState) {
        if event.kind.is_durable() {
            self.durable
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        if let EventKind::GateOpened { phase, .. } = &event.kind {
            let decision = Decision::approve(phase, DecidedBy::Policy).at_gate(event.seq);
            let _ = self.commands.send(EngineCommand::Decide(decision));
        }
    }

    fn notice(&mut self, _text: String) {}
}

/// Six phases headless in-process; the log in `dir`. Returns the time and
/// how many events were fsynced.
fn six_phases(runtime: &tokio::runtime::Runtime, dir: &Path, id: &str) -> (Duration, usize) {
    let durable = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let start = Instant::now();
    let log = LogWriter::create(dir, id).expect("log");
    let (commands, commands_rx) = mpsc::unbounded_channel();
    let spec = SessionSpec::new(
        id,
        REQUEST,
        support::pipeline(),
        Arc::new(Instantly),
        "instant",
    );
    let sink = Approver {
        commands,
        durable: Arc::clone(&durable),
    };
    let state = runtime
        .block_on(Engine::new(spec, log, Box::new(sink), commands_rx).run())
        .expect("engine");
    let elapsed = start.elapsed();
    assert!(state.is_over(), "the session finished");
    (elapsed, durable.load(std::sync::atomic::Ordering::Relaxed))
}

/// One fsync of a small append on `dir`'s file system.
fn fsync_cost(dir: &Path) -> Duration {
    use std::io::Write;
    let mut file = std::fs::File::create(dir.join("fsync-probe")).expect("probe");
    let times = (0..20)
        .map(|_| {
            file.write_all(b"{\"seq\":0}\n").expect("write");
            let start = Instant::now();
            file.sync_data().expect("sync");
            start.elapsed()
        })
        .collect();
    median(times)
}

/// The real binary, headless, against a server that answers each call
/// after 100 ms. Returns the wall time, the number of calls, and the time
/// in calls and between them as the log records it.
fn against_slow_server() -> (Duration, usize, (Duration, Duration)) {
    let server = server::TestServer::start(|_, request| {
        let role = server::role_of(request);
        server::Reply::Sse(vec![
            server::Piece::Pause(Duration::from_millis(100)),
            server::text_chunk(&server::well_behaved(&role)),
            server::usage_chunk(500, 40),
            server::finish_chunk("stop"),
        ])
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let start = Instant::now();
    let out = Command::new(BIN)
        .current_dir(dir.path())
        .env_clear()
        .env("HOME", dir.path())
        // The probe runs once per server and model and is cached; each run
        // here has a fresh HOME, so it would probe every time.
        .env("HANDOFF_PROBE", "off")
        .args(["--sessions", "sessions", "--base-url", &server.base_url])
        .args([
            "--model",
            "m",
            "run",
            "--headless",
            "--approve",
            "all",
            REQUEST,
        ])
        .output()
        .expect("run");
    let elapsed = start.elapsed();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let log = std::fs::read_dir(dir.path().join("sessions"))
        .expect("sessions")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .expect("a log");
    let events = handoff::session::log::read_log(&log).expect("log").events;
    (elapsed, server.recorded().len(), where_time_went(&events))
}

/// How long the calls took as the log saw them (`phase_started` to
/// `artifact`), and everything else from the first event to the last.
fn where_time_went(events: &[Event]) -> (Duration, Duration) {
    let mut calls = chrono::TimeDelta::zero();
    let mut started = None;
    for event in events {
        if matches!(event.kind, EventKind::PhaseStarted { .. }) {
            started = Some(event.t);
        } else if matches!(event.kind, EventKind::Artifact { .. })
            && let Some(s) = started.take()
        {
            calls += event.t - s;
        }
    }
    let whole = match (events.first(), events.last()) {
        (Some(a), Some(b)) => b.t - a.t,
        _ => chrono::TimeDelta::zero(),
    };
    let calls = calls.to_std().unwrap_or_default();
    (
        calls,
        whole.to_std().unwrap_or_default().saturating_sub(calls),
    )
}

fn benches(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    c.bench_function("version_process", |b| b.iter(version));
    let disk = tempfile::tempdir().expect("tempdir");
    let shm = tempfile::tempdir_in("/dev/shm").ok();
    let mut n = 0;
    c.bench_function("six_phases_in_process_disk", |b| {
        b.iter(|| {
            n += 1;
            black_box(six_phases(&runtime, disk.path(), &format!("d{n}")))
        });
    });

    let versions = (0..30)
        .map(|_| {
            let start = Instant::now();
            version();
            start.elapsed()
        })
        .collect();
    let dir = tempfile::tempdir().expect("tempdir");
    let frames = (0..10).map(|_| first_frame(dir.path())).collect();
    println!("\n== issue 8 figures: start-up ==");
    println!(
        "handoff --version: median {} (target < 5 ms)",
        ms(median(versions))
    );
    println!(
        "first frame of `handoff run` in a pty: median {} (target < 50 ms)",
        ms(median(frames))
    );

    println!("\n== issue 8 figures: engine ==");
    let mut runs: Vec<(Duration, usize)> = (0..9)
        .map(|i| six_phases(&runtime, disk.path(), &format!("m{i}")))
        .collect();
    runs.sort();
    let (on_disk, fsyncs) = runs[runs.len() / 2];
    let fsync = fsync_cost(disk.path());
    println!(
        "six phases, zero-latency provider, log on disk: median {} with {fsyncs} fsyncs (one costs {} here: {} in all)",
        ms(on_disk),
        ms(fsync),
        ms(fsync * u32::try_from(fsyncs).unwrap_or(u32::MAX))
    );
    if let Some(shm) = &shm {
        let times = (0..9)
            .map(|i| six_phases(&runtime, shm.path(), &format!("s{i}")).0)
            .collect();
        println!(
            "six phases, zero-latency provider, log on tmpfs: median {} (target < 20 ms plus the fsyncs)",
            ms(median(times))
        );
    }
    let mut slow: Vec<_> = (0..3).map(|_| against_slow_server()).collect();
    slow.sort_by_key(|(wall, _, _)| *wall);
    let (wall, calls, (in_calls, between)) = slow[1];
    let critical = Duration::from_millis(100) * u32::try_from(calls).unwrap_or(0);
    println!(
        "headless binary, server answering in 100 ms: {} for {calls} calls ({} on the critical path) = {:+.1}% (target within 5%)",
        ms(wall),
        ms(critical),
        (wall.as_secs_f64() / critical.as_secs_f64() - 1.0) * 100.0
    );
    println!(
        "  as the log saw it: {} from phase start to artifact, {} between (gates, fsyncs); the rest is the process starting and ending",
        ms(in_calls),
        ms(between)
    );
}

criterion_group!(startup, benches);
criterion_main!(startup);
