//! Opening and folding a long session (issue 8, targets 1 and 2).
//!
//! Generates a 200,000-event log (about 50 MB) into a temporary folder and
//! measures, with criterion: the floor any JSONL reader has (reading the
//! file and parsing every line into `serde::de::IgnoredAny`), opening it as
//! `show` does (read, parse, fold), and the fold alone over parsed events.
//! Then it prints the figures the targets are stated in: the ratio to the
//! floor, the ratio to Python's C json parser (`benches/python_parse.py`),
//! and the wall time and peak resident memory (from `/usr/bin/time`) of the
//! real `handoff show` and `show --json` processes against the file size.

#![expect(clippy::cast_precision_loss, reason = "Figures for display.")]

#[allow(dead_code, reason = "Shared by several benches; each uses part of it.")]
mod support;

use std::hint::black_box;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use handoff::session::log::read_log;
use handoff::session::{SessionState, store};

const EVENTS: usize = 200_000;

/// Reads the file and parses each line without building anything: the
/// least any reader of this format must do.
fn parse_floor(path: &Path) -> usize {
    let bytes = std::fs::read(path).expect("read");
    let mut lines = 0;
    for line in bytes.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        let _: serde::de::IgnoredAny = serde_json::from_slice(line).expect("parse");
        lines += 1;
    }
    lines
}

/// Opening a session as `show` and `sessions` do: read, parse, fold.
fn open(path: &Path) -> SessionState {
    store::load(path).expect("load").state
}

fn median(runs: usize, mut f: impl FnMut()) -> Duration {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    times.sort();
    times[runs / 2]
}

/// Wall time and peak resident memory (kB) of `handoff show [--json]`:
/// opening the session (and printing a summary, or its JSON).
fn show(path: &Path, json: bool) -> Option<(Duration, u64)> {
    let start = Instant::now();
    let out = Command::new("/usr/bin/time")
        .args(["-f", "%M", env!("CARGO_BIN_EXE_handoff"), "show"])
        .args(json.then_some("--json"))
        .arg(path)
        .stdout(Stdio::null())
        .output()
        .ok()?;
    let elapsed = start.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let kb = stderr.lines().last()?.trim().parse().ok()?;
    out.status.success().then_some((elapsed, kb))
}

fn python_parse(path: &Path) -> Option<Duration> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/python_parse.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(path)
        .output()
        .ok()?;
    let seconds: f64 = String::from_utf8_lossy(&out.stdout).trim().parse().ok()?;
    Some(Duration::from_secs_f64(seconds))
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

fn benches(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("long.jsonl");
    let events = support::long_session(EVENTS);
    let size = support::write_log(&path, &events);
    let mb = size as f64 / 1e6;
    println!("generated {} events, {mb:.1} MB", events.len());

    let mut group = c.benchmark_group("open_200k");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(size));
    group.bench_function("floor_ignored_any", |b| {
        b.iter(|| black_box(parse_floor(&path)));
    });
    group.bench_function("read_parse_fold", |b| b.iter(|| black_box(open(&path))));
    group.finish();

    let mut group = c.benchmark_group("fold");
    group.throughput(Throughput::Elements(events.len() as u64));
    group.bench_function("fold_200k", |b| {
        b.iter(|| black_box(SessionState::from_events(&events)));
    });
    group.finish();

    // The figures the targets are stated in.
    let fold = median(11, || drop(black_box(SessionState::from_events(&events))));
    drop(events);
    let floor = median(5, || {
        black_box(parse_floor(&path));
    });
    let opened = median(5, || drop(black_box(open(&path))));
    let rate = EVENTS as f64 / fold.as_secs_f64() / 1e6;
    println!("\n== issue 8 figures ({mb:.1} MB, {EVENTS} events) ==");
    println!(
        "fold alone:           {} = {rate:.1} M events/s (target >= 5)",
        ms(fold)
    );
    println!("floor (IgnoredAny):   {}", ms(floor));
    println!(
        "open (read+parse+fold): {} = {:.2}x the floor (target <= 2x)",
        ms(opened),
        opened.as_secs_f64() / floor.as_secs_f64()
    );
    match python_parse(&path) {
        Some(py) => println!(
            "python json.loads:    {} = {:.2}x our open (target >= 3x)",
            ms(py),
            py.as_secs_f64() / opened.as_secs_f64()
        ),
        None => println!("python json.loads:    python3 not found"),
    }
    let read_back = read_log(&path).map(|c| c.events.len()).unwrap_or_default();
    println!("events read back:     {read_back}");
    for json in [false, true] {
        let runs: Vec<_> = (0..5).filter_map(|_| show(&path, json)).collect();
        let Some(wall) = runs.iter().map(|(wall, _)| *wall).min() else {
            continue;
        };
        let kb = runs.iter().map(|(_, kb)| *kb).max().unwrap_or_default();
        println!(
            "`handoff show{}` process: best of 5 {} = {:.2}x the floor; peak RSS {:.1} MB = {:.2}x the file (target <= 2x)",
            if json { " --json" } else { "" },
            ms(wall),
            wall.as_secs_f64() / floor.as_secs_f64(),
            kb as f64 / 1024.0,
            kb as f64 * 1024.0 / size as f64
        );
    }
}

criterion_group!(session, benches);
criterion_main!(session);
