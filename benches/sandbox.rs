//! What the command sandbox adds to a command (issue 16: under 10 ms,
//! median).
//!
//! `run_command("true")` as the engine runs it, in a temporary workspace,
//! without a sandbox and inside one (the helper is the built `handoff`
//! binary, as `/proc/self/exe` is in a session). After criterion's figures
//! it prints both medians of its own run and the difference, the figure
//! the target is stated in.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use handoff::sandbox::{Jail, Plan, Reach};
use handoff::tools::command::run_command;
use tokio::sync::watch;

const BIN: &str = env!("CARGO_BIN_EXE_handoff");

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn run_true(runtime: &tokio::runtime::Runtime, root: &Path, jail: Option<&Jail>) -> Duration {
    let (_keep, cancel) = watch::channel(false);
    let start = Instant::now();
    let out = runtime
        .block_on(run_command(
            root,
            "true",
            Duration::from_secs(30),
            cancel,
            &[],
            jail,
        ))
        .expect("run true");
    assert_eq!(out.exit_code, Some(0), "{}", out.output);
    start.elapsed()
}

fn benches(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    if let Err(reason) = handoff::sandbox::probe(Path::new(BIN), root) {
        eprintln!("no sandbox here, nothing to measure: {reason}");
        return;
    }
    let jail = Jail {
        helper: PathBuf::from(BIN),
        plan: Plan::new(&Reach::default(), root),
    };
    let mut group = c.benchmark_group("sandbox");
    group.bench_function("true, unsandboxed", |b| {
        b.iter(|| black_box(run_true(&runtime, root, None)));
    });
    group.bench_function("true, sandboxed", |b| {
        b.iter(|| black_box(run_true(&runtime, root, Some(&jail))));
    });
    group.finish();

    let runs = 200;
    let plain = median((0..runs).map(|_| run_true(&runtime, root, None)).collect());
    let boxed = median(
        (0..runs)
            .map(|_| run_true(&runtime, root, Some(&jail)))
            .collect(),
    );
    println!(
        "sandbox set-up: `true` median {:.2} ms unsandboxed, {:.2} ms sandboxed: {:.2} ms added ({runs} runs each)",
        plain.as_secs_f64() * 1e3,
        boxed.as_secs_f64() * 1e3,
        boxed.saturating_sub(plain).as_secs_f64() * 1e3,
    );
}

criterion_group!(sandbox, benches);
criterion_main!(sandbox);
