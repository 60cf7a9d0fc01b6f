//! The Changes view on a big change: 200 files, 10,000 changed lines, in a
//! real git repository.
//!
//! Criterion measures reading the change out of git (one `diff --raw`, one
//! `cat-file --batch`, the diffs), loading the grammars for highlighting
//! (off the UI task, once), the first frame of the view at 200x50 (laying
//! out every file, then drawing, the rows in sight highlighted), the first
//! frame before the change is read (the file list and counts the log
//! recorded: what a replay or a resumed session shows at once),
//! highlighting the whole change (what the loop does off the UI task once
//! the grammars are there), and a frame after scrolling a page: with the
//! change highlighted, and before that (the new page's lines parsed in the
//! frame). The targets are under 50 ms to the first frame and under 2 ms a
//! scrolling frame.

#[allow(dead_code, reason = "Shared by several benches; each uses part of it.")]
mod support;

use std::hint::black_box;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use handoff::protocol::Update;
use handoff::session::{DecidedBy, Decision, EventKind};
use handoff::tui::app::{Screen, Source};
use handoff::tui::changes::syntax::Syntaxes;
use handoff::tui::{App, Theme};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const FILES: usize = 200;
const LINES: usize = 50;

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("git");
    assert!(out.status.success(), "git {args:?}");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// A repository with 200 Go files, then every line of each rewritten: the
/// base and head commits.
fn repository(dir: &Path) -> (String, String) {
    git(dir, &["init", "-q"]);
    let write = |version: &str| {
        for f in 0..FILES {
            let path = dir.join(format!("pkg{}/file{f}.go", f % 20));
            std::fs::create_dir_all(path.parent().expect("parent")).expect("dir");
            let body: Vec<String> = (0..LINES)
                .map(|l| format!("\tvalue{l} := compute({f}, {l}, \"{version}\") // line {l}"))
                .collect();
            std::fs::write(
                &path,
                format!("package pkg\n\nfunc F{f}() {{\n{}\n}}\n", body.join("\n")),
            )
            .expect("write");
        }
        git(dir, &["add", "-A"]);
        git(
            dir,
            &[
                "-c",
                "user.name=b",
                "-c",
                "user.email=b@b",
                "commit",
                "-q",
                "-m",
                version,
            ],
        );
        git(dir, &["rev-parse", "HEAD"])
    };
    (write("old"), write("new"))
}

/// A session at the developer's gate whose snapshot is the big change,
/// with the Changes view open, the change read (when `read`) and the
/// grammars loaded (when given).
fn app_with(
    change: &handoff::changes::Change,
    read: bool,
    syntaxes: Option<&Arc<Syntaxes>>,
) -> App {
    let pipeline = support::pipeline();
    let mut s = support::Script::new(3);
    s.started(&pipeline);
    for phase in pipeline.phases.iter().take(2) {
        s.attempt(&phase.id, 1, 20, &phase.artifact);
        s.gate(&phase.id, &phase.gate);
        s.decide(Decision::approve(&phase.id, DecidedBy::User));
    }
    let implement = &pipeline.phases[2];
    s.attempt(&implement.id, 1, 20, &implement.artifact);
    s.gate(&implement.id, &implement.gate);
    s.push(EventKind::Snapshot {
        phase: implement.id.clone(),
        reference: "refs/handoff/b/implement".into(),
        commit: "head".into(),
        base: Some("base".into()),
        files: change.stats(),
    });
    let mut app = App::new(Source::Live(None), Theme::mono());
    for event in &s.events {
        app.on_update(Update::Event(event.clone()));
    }
    app.set_size(200, 50);
    app.set_focus(2);
    app.on_key(&KeyEvent::new(KeyCode::Tab, KeyModifiers::NONE));
    assert!(matches!(app.screen(), Screen::Changes { .. }));
    assert!(app.syntaxes_request(), "the view asks for the grammars");
    if let Some(syntaxes) = syntaxes {
        app.syntaxes_loaded(Arc::clone(syntaxes));
    }
    if read {
        app.change_loaded("head", Ok(change.clone()));
    }
    app
}

fn benches(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("dir");
    let (base, head) = repository(dir.path());
    let change = handoff::tools::changes::change(dir.path(), Some(&base), &head).expect("read");
    let (added, removed, files) = handoff::changes::totals(&change.stats());
    println!("the change: {files} files, +{added} −{removed}");
    // The diffing alone, without git: the same 200 pairs of texts.
    let pairs: Vec<(String, String)> = (0..FILES)
        .map(|f| {
            let path = format!("pkg{}/file{f}.go", f % 20);
            let show = |commit: &str| git(dir.path(), &["show", &format!("{commit}:{path}")]);
            (show(&base), show(&head))
        })
        .collect();
    c.bench_function("changes_diff_200_files_no_git", |b| {
        b.iter(|| {
            for (old, new) in &pairs {
                black_box(handoff::changes::diff_text(old, new));
            }
        });
    });
    c.bench_function("changes_read_from_git_200_files", |b| {
        b.iter(|| handoff::tools::changes::change(dir.path(), Some(&base), &head).expect("read"));
    });
    c.bench_function("changes_load_grammars", |b| b.iter(Syntaxes::load));
    let syntaxes = Arc::new(Syntaxes::load());
    let mut terminal = Terminal::new(TestBackend::new(200, 50)).expect("terminal");
    c.bench_function("changes_first_frame_200x50", |b| {
        b.iter_batched(
            || app_with(&change, true, Some(&syntaxes)),
            |app| {
                terminal
                    .draw(|f| f.render_widget(black_box(&app), f.area()))
                    .expect("draw");
            },
            BatchSize::LargeInput,
        );
    });
    c.bench_function("changes_first_frame_fresh_grammars_200x50", |b| {
        b.iter_batched(
            || app_with(&change, true, Some(&Arc::new(Syntaxes::load()))),
            |app| {
                terminal
                    .draw(|f| f.render_widget(black_box(&app), f.area()))
                    .expect("draw");
            },
            BatchSize::LargeInput,
        );
    });
    c.bench_function("changes_first_frame_plain_200x50", |b| {
        b.iter_batched(
            || app_with(&change, true, None),
            |app| {
                terminal
                    .draw(|f| f.render_widget(black_box(&app), f.area()))
                    .expect("draw");
            },
            BatchSize::LargeInput,
        );
    });
    c.bench_function("changes_first_frame_from_the_log_200x50", |b| {
        b.iter_batched(
            || app_with(&change, false, Some(&syntaxes)),
            |app| {
                terminal
                    .draw(|f| f.render_widget(black_box(&app), f.area()))
                    .expect("draw");
            },
            BatchSize::LargeInput,
        );
    });
    scrolling(c, &change, &syntaxes, &mut terminal);
}

/// Highlighting the whole change, and a frame after a page down, with and
/// without it.
fn scrolling(
    c: &mut Criterion,
    change: &handoff::changes::Change,
    syntaxes: &Arc<Syntaxes>,
    terminal: &mut Terminal<TestBackend>,
) {
    let page_down = KeyEvent::new(KeyCode::PageDown, KeyModifiers::NONE);
    // Each page scrolled to is new: its lines are highlighted for the
    // first time in the frame measured.
    let mut pages = 0;
    let mut before = Terminal::new(TestBackend::new(200, 50)).expect("terminal");
    let mut slow = c.benchmark_group("slow");
    slow.sample_size(10);
    slow.bench_function("changes_highlight_whole_change", |b| {
        b.iter_batched(
            || {
                let mut app = app_with(change, true, Some(syntaxes));
                app.highlight_request().expect("asked")
            },
            |(change, highlights)| highlights.fill(&change, usize::MAX),
            BatchSize::LargeInput,
        );
    });
    slow.finish();
    let mut filled = app_with(change, true, Some(syntaxes));
    let (whole, highlights) = filled.highlight_request().expect("asked");
    filled.change_highlighted(&whole, highlights.fill(&whole, usize::MAX));
    let top = KeyEvent::new(KeyCode::Char('g'), KeyModifiers::NONE);
    c.bench_function("changes_scroll_frame_200x50", |b| {
        b.iter_custom(|iters| {
            let mut spent = Duration::ZERO;
            for i in 0..iters {
                // Back to the top before the end (about 230 pages).
                if i % 200 == 0 {
                    filled.on_key(&top);
                }
                let started = Instant::now();
                filled.on_key(&page_down);
                terminal
                    .draw(|f| f.render_widget(black_box(&filled), f.area()))
                    .expect("draw");
                spent += started.elapsed();
            }
            spent
        });
    });
    c.bench_function("changes_scroll_frame_unhighlighted_200x50", |b| {
        b.iter_batched(
            || {
                let mut app = app_with(change, true, Some(syntaxes));
                pages = (pages + 7) % 150;
                for _ in 0..pages {
                    app.on_key(&page_down);
                }
                before
                    .draw(|f| f.render_widget(&app, f.area()))
                    .expect("draw");
                app
            },
            |mut app| {
                app.on_key(&page_down);
                terminal
                    .draw(|f| f.render_widget(black_box(&app), f.area()))
                    .expect("draw");
                app
            },
            BatchSize::LargeInput,
        );
    });
}

criterion_group!(changes, benches);
criterion_main!(changes);
