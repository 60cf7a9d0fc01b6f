//! Terminal injection: hostile text from a model, a tool, a file or a
//! crafted log, fed through every way `handoff` writes to a terminal — the
//! TUI (drawn through crossterm in-process, and the real binary in a
//! pseudo-terminal), headless printing, replay, `show`, `sessions` and
//! `export` — asserting on the exact bytes written that no payload passes,
//! while the log keeps every original byte.

use crate::common;

use std::cell::RefCell;
use std::io::Write;
use std::rc::Rc;

use chrono::{DateTime, Utc};
use common::hostile::{self, Capture, assert_no_control, assert_terminal_safe};
use common::pty::{self, Term};
use common::server::{
    Piece, Reply, TestServer, answer, finish_chunk, role_of, text_chunk, tool_turn,
};
use common::{Sandbox, events, of_kind, stderr, stdout};
use handoff::pipeline::{SkillsFile, load_pipeline};
use handoff::protocol::Update;
use handoff::session::{Action, DecidedBy, Decision, Event, EventKind};
use handoff::tui::Theme;
use handoff::tui::app::{App, DiffBase, Screen, Source};
use handoff::tui::overlay::Overlay;
use ratatui::backend::CrosstermBackend;
use ratatui::layout::Rect;
use ratatui::{Terminal, TerminalOptions, Viewport};
use serde_json::json;

/// What crossterm writes, kept in memory.
#[derive(Clone, Default)]
struct Captured(Rc<RefCell<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Draws `app` once through ratatui's crossterm backend and returns the
/// bytes it wrote to the terminal.
fn draw_bytes(app: &mut App, width: u16, height: u16) -> Vec<u8> {
    let sink = Captured::default();
    let mut terminal = Terminal::with_options(
        CrosstermBackend::new(sink.clone()),
        TerminalOptions {
            viewport: Viewport::Fixed(Rect::new(0, 0, width, height)),
        },
    )
    .expect("terminal");
    app.set_size(width, height);
    terminal
        .draw(|frame| frame.render_widget(&*app, frame.area()))
        .expect("draw");
    drop(terminal);
    sink.0.take()
}

fn at(second: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_795_000_000 + second, 0).expect("time")
}

/// A session in which every field a model, tool, file or crafted log can
/// fill carries the corpus.
#[expect(clippy::too_many_lines, reason = "one event of each kind, written out")]
fn hostile_session() -> Vec<Event> {
    let corpus = hostile::text();
    let pipeline = load_pipeline(&SkillsFile::builtin(), None).expect("pipeline");
    let line = |i: usize| hostile::CORPUS[i % hostile::CORPUS.len()].to_owned();
    let kinds = vec![
        EventKind::SessionStarted {
            id: format!("20261120-100000-abcd{}", line(2)),
            request: format!("Add rate limiting {corpus}"),
            pipeline: Box::new(pipeline),
            provider: format!("openai{}", line(0)),
            model: format!("gpt{}", line(14)),
            version: "0.1.0".into(),
            workspace: None,
            detected: None,
        },
        EventKind::PhaseStarted {
            phase: "summarize".into(),
            attempt: 1,
        },
        EventKind::Retry {
            phase: "summarize".into(),
            attempt: 1,
            reason: format!("HTTP 500{}", line(4)),
            wait_ms: 500,
            next_try: 2,
            tries: 3,
        },
        EventKind::Output {
            phase: "summarize".into(),
            attempt: 1,
            text: corpus.clone(),
        },
        EventKind::ToolCall {
            phase: "summarize".into(),
            attempt: 1,
            call_id: "call_1".into(),
            tool: "read_file".into(),
            args: json!({ "path": format!("docs/{}.md", line(3)) }),
            target: Some(format!("docs/{}.md", line(3))),
            checklist: None,
        },
        EventKind::ToolResult {
            phase: "summarize".into(),
            attempt: 1,
            call_id: "call_1".into(),
            ok: true,
            summary: format!("read {}", line(10)),
            output: corpus.clone(),
        },
        EventKind::ToolCall {
            phase: "summarize".into(),
            attempt: 1,
            call_id: "call_2".into(),
            tool: format!("no_such_tool{}", line(7)),
            args: json!({ "x": line(6) }),
            target: Some(json!({ "x": line(6) }).to_string()),
            checklist: None,
        },
        EventKind::ToolResult {
            phase: "summarize".into(),
            attempt: 1,
            call_id: "call_2".into(),
            ok: false,
            summary: format!("unknown tool {}", line(12)),
            output: corpus.clone(),
        },
        EventKind::Artifact {
            outputs: Vec::new(),
            missing: Vec::new(),
            phase: "summarize".into(),
            attempt: 1,
            name: "requirements".into(),
            content: corpus.clone(),
        },
        EventKind::GateOpened {
            phase: "summarize".into(),
            question: format!("Ready?{}", line(5)),
            over_budget: None,
        },
        EventKind::Decision(Decision {
            content: Some(format!("{corpus}edited by a human {}", line(15))),
            ..Decision::new("summarize", Action::Edit, DecidedBy::User)
        }),
        EventKind::Decision(Decision {
            notes: Some(corpus.clone()),
            ..Decision::new("summarize", Action::ApproveWithNotes, DecidedBy::User)
        }),
        EventKind::PhaseStarted {
            phase: "plan".into(),
            attempt: 1,
        },
        EventKind::Output {
            phase: "plan".into(),
            attempt: 1,
            text: corpus.clone(),
        },
        EventKind::Engaged {
            phase: "plan".into(),
            attempt: 1,
            specialists: vec![corpus.clone(), line(5)],
        },
        EventKind::TaskStarted {
            phase: "plan".into(),
            attempt: 1,
            task: 1,
            round: 2,
            name: corpus.clone(),
            critique_of: None,
            role: None,
        },
        EventKind::TaskOutput {
            phase: "plan".into(),
            attempt: 1,
            task: 1,
            text: corpus.clone(),
        },
        EventKind::TaskStarted {
            phase: "plan".into(),
            attempt: 1,
            task: 2,
            round: 2,
            name: line(7),
            critique_of: Some(1),
            role: None,
        },
        EventKind::TaskFinished {
            phase: "plan".into(),
            attempt: 1,
            task: 2,
            round: 2,
            outcome: handoff::session::TaskOutcome::Failed,
            summary: corpus.clone(),
        },
        EventKind::ToolCall {
            phase: "plan".into(),
            attempt: 1,
            call_id: "call_3".into(),
            tool: "run_command".into(),
            args: json!({ "command": format!("cat {}", line(4)) }),
            target: Some(format!("cat {}", line(4))),
            checklist: None,
        },
        EventKind::PermissionAsked {
            phase: "plan".into(),
            attempt: 1,
            call_id: "call_3".into(),
            tool: "run_command".into(),
            detail: format!("cat {}", line(4)),
            reason: corpus.clone(),
            always: Some(corpus.clone()),
        },
        EventKind::Permission {
            phase: "plan".into(),
            call_id: "call_3".into(),
            decision: handoff::session::Permit::Deny,
            by: DecidedBy::User,
            pattern: Some(line(6)),
            reason: Some(corpus.clone()),
        },
        EventKind::Invalid {
            phase: "plan".into(),
            attempt: 1,
            errors: vec![corpus.clone(), line(3)],
            retry: false,
        },
        EventKind::PhaseFailed {
            phase: "plan".into(),
            attempt: 1,
            error: corpus.clone(),
        },
        EventKind::GateOpened {
            phase: "plan".into(),
            question: "Retry?".into(),
            over_budget: Some(line(13)),
        },
        EventKind::Returned {
            from: "plan".into(),
            to: "summarize".into(),
            reason: corpus.clone(),
            automatic: false,
        },
    ];
    kinds
        .into_iter()
        .enumerate()
        .map(|(i, kind)| Event {
            seq: i as u64,
            t: at(i64::try_from(i).unwrap_or_default()),
            kind,
        })
        .collect()
}

fn live_app() -> App {
    let (commands, _) = tokio::sync::mpsc::unbounded_channel();
    App::new(Source::Live(Some(commands)), Theme::default())
}

/// Draws every screen the app can show for its current state at a wide
/// and a narrow size, checking each frame's bytes.
fn draw_every_screen(app: &mut App, what: &str) {
    let phases = app.state().phases.len();
    let mut screens = vec![Screen::Board];
    for phase in 0..phases {
        screens.push(Screen::Artifact {
            phase,
            attempt: None,
        });
        screens.push(Screen::Diff {
            phase,
            base: DiffBase::Draft,
            from_board: false,
        });
    }
    for (width, height) in [(200, 50), (80, 24)] {
        for screen in &screens {
            for focus in 0..phases.max(1) {
                app.show(*screen);
                app.set_focus(focus);
                let bytes = draw_bytes(app, width, height);
                assert_terminal_safe(
                    &bytes,
                    Capture::InProcess,
                    &format!("{what}, {screen:?} focus {focus} at {width}x{height}"),
                );
            }
        }
        app.show(Screen::Board);
        for modal in [Overlay::Help, Overlay::Matrix] {
            let name = format!("{what}, {modal:?}");
            app.set_overlay(Some(modal));
            let bytes = draw_bytes(app, width, height);
            assert_terminal_safe(&bytes, Capture::InProcess, &name);
        }
        app.set_overlay(None);
    }
}

#[test]
fn the_check_catches_every_payload_written_raw() {
    for payload in hostile::CORPUS {
        let caught = std::panic::catch_unwind(|| {
            assert_terminal_safe(payload.as_bytes(), Capture::Pty, "raw");
        });
        assert!(caught.is_err(), "the check let {payload:?} through");
    }
}

#[test]
fn every_view_of_a_hostile_session_draws_only_crosstermss_own_sequences() {
    let events = hostile_session();
    let mut app = live_app();
    for event in &events {
        app.on_update(Update::Event(event.clone()));
        app.set_now(event.t);
        let bytes = draw_bytes(&mut app, 160, 40);
        assert_terminal_safe(
            &bytes,
            Capture::InProcess,
            &format!("the board after {}", event.kind.name()),
        );
    }
    app.on_update(Update::Notice(hostile::text()));
    draw_every_screen(&mut app, "live");

    // The same log replayed, played to its end.
    let mut player = handoff::tui::replay::Player::new(events.clone(), handoff::clock::Speed::Max);
    let mut state = handoff::session::SessionState::default();
    player.seek(events.len(), &mut state);
    player.playing = false;
    let mut replay = App::new(Source::Replay(player), Theme::default());
    replay.set_now(at(100));
    draw_every_screen(&mut replay, "replay");
}

#[test]
fn a_stream_split_at_every_character_never_shows_a_payload() {
    let events = hostile_session();
    let start = &events[..2]; // session_started, phase_started
    let corpus = hostile::text();
    let boundaries: Vec<usize> = (0..=corpus.len())
        .filter(|i| corpus.is_char_boundary(*i))
        .collect();
    for split in boundaries {
        let mut app = live_app();
        for event in start {
            app.on_update(Update::Event(event.clone()));
        }
        for (n, piece) in [&corpus[..split], &corpus[split..]].into_iter().enumerate() {
            app.on_update(Update::Event(Event {
                seq: 2 + n as u64,
                t: at(2),
                kind: EventKind::Output {
                    phase: "summarize".into(),
                    attempt: 1,
                    text: piece.to_owned(),
                },
            }));
            let bytes = draw_bytes(&mut app, 120, 40);
            assert_terminal_safe(
                &bytes,
                Capture::InProcess,
                &format!("stream split at byte {split}, after piece {n}"),
            );
        }
    }
}

/// The Business Analyst first calls tools — a file holding the corpus, a
/// hostile path, an unknown tool with a hostile name — then answers with
/// the corpus one character per chunk. Everyone else answers plainly.
fn hostile_server() -> TestServer {
    TestServer::start(|_, request| {
        let role = role_of(request);
        if role != "Business Analyst" {
            return answer(&format!("# {role}\n\nDone.\n"), 10, 5);
        }
        if !request.has_tool_result() {
            let hostile_path = json!({ "path": hostile::CORPUS[2] }).to_string();
            return tool_turn(&[
                ("call_a", "read_file", r#"{"path":"hostile.md"}"#),
                ("call_b", "read_file", hostile_path.as_str()),
                ("call_c", "\u{1b}]0;PWNED\u{7}evil", "{}"),
            ]);
        }
        let corpus = hostile::text();
        let mut pieces: Vec<Piece> = corpus.chars().map(|c| text_chunk(&c.to_string())).collect();
        pieces.push(finish_chunk("stop"));
        pieces.push(Piece::Raw("data: [DONE]".into()));
        Reply::Sse(pieces)
    })
}

/// A sandbox with a git workspace holding `hostile.md` (the corpus), a
/// config with the bell off (a bell is a control byte the check refuses)
/// and fast timeouts.
fn hostile_sandbox() -> (Sandbox, std::path::PathBuf) {
    let sandbox = Sandbox::new();
    sandbox.config(
        "bell = false\n[retries]\nmax = 0\n[timeouts]\nconnect = 5\nfirst_byte = 20\nidle = 20\n",
    );
    let repo = common::repository(sandbox.dir.path());
    std::fs::write(repo.join("hostile.md"), hostile::text()).expect("hostile file");
    (sandbox, repo)
}

/// The log keeps the model's and the file's bytes exactly.
fn assert_log_keeps_the_original_bytes(log: &std::path::Path) {
    let corpus = hostile::text();
    let events = events(log);
    let artifact = of_kind(&events, "artifact")[0]["content"]
        .as_str()
        .expect("content")
        .to_owned();
    assert_eq!(
        artifact, corpus,
        "the artifact is stored as the model wrote it"
    );
    let streamed: String = of_kind(&events, "output")
        .iter()
        .filter(|e| e["phase"] == "summarize")
        .filter_map(|e| e["text"].as_str())
        .collect();
    assert_eq!(streamed, corpus, "the stream is stored as it came");
    let results = of_kind(&events, "tool_result");
    assert!(
        results[0]["output"]
            .as_str()
            .is_some_and(|o| o.contains(&corpus)),
        "the file's contents are stored as read: {}",
        results[0]["output"]
    );
}

#[test]
fn headless_runs_replays_show_sessions_stats_and_export_print_no_payload() {
    let server = hostile_server();
    let (sandbox, repo) = hostile_sandbox();
    let repo = repo.to_str().expect("path");
    for json in [false, true] {
        // The hostile phase is the first: stop at its gate.
        let mut args = vec![
            "run",
            "--headless",
            "--approve",
            "none",
            "--workspace",
            repo,
        ];
        args.extend(["--base-url", &server.base_url, "--model", "m"]);
        if json {
            args.push("--json");
        }
        args.push("-");
        let mut child = sandbox
            .command()
            .args(&args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn");
        // The request, typed on stdin, is hostile too.
        let request = format!("Add rate limiting {}", hostile::text().replace('\0', ""));
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(request.as_bytes())
            .expect("request");
        let output = child.wait_with_output().expect("run");
        assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
        if json {
            assert_no_control(&output.stdout, Capture::InProcess, "run --json");
        } else {
            assert_terminal_safe(&output.stdout, Capture::InProcess, "run");
        }
        assert_terminal_safe(&output.stderr, Capture::InProcess, "run (stderr)");
    }
    let logs = sandbox.logs();
    assert_eq!(logs.len(), 2);
    let log = logs[0].to_str().expect("path");
    assert_log_keeps_the_original_bytes(&logs[0]);

    let out = sandbox.dir.path().join("export");
    let out = out.to_str().expect("path");
    let commands: [&[&str]; 10] = [
        &["show", log],
        &["show", "--json", log],
        &["sessions"],
        &["sessions", "--json"],
        &["replay", "--headless", log],
        &["replay", "--headless", "--json", log],
        &["stats"],
        &["stats", "--json"],
        &["export", log, "--out", out],
        &["show", log, "--artifact", "nope"],
    ];
    for args in commands {
        let output = sandbox.run(args);
        let what = args.join(" ");
        assert!(
            output.status.code().is_some_and(|c| c <= 2),
            "{what}: {}",
            stderr(&output)
        );
        if args.contains(&"--json") {
            assert_no_control(&output.stdout, Capture::InProcess, &what);
        } else {
            assert_terminal_safe(&output.stdout, Capture::InProcess, &what);
        }
        assert_terminal_safe(&output.stderr, Capture::InProcess, &what);
    }
    // JSON output is still exactly the recorded text once parsed.
    let shown = sandbox.run(&["show", "--json", log]);
    let state: serde_json::Value = serde_json::from_slice(&shown.stdout).expect("json");
    assert_eq!(state["phases"][0]["artifact"], hostile::text());

    // Piped, `show --artifact` prints the artifact byte for byte.
    let piped = sandbox.run(&["show", log, "--artifact", "requirements"]);
    assert_eq!(piped.status.code(), Some(0));
    assert_eq!(stdout(&piped), hostile::text());
    // Export writes the recorded text to its files unchanged.
    let exported = std::fs::read_dir(out)
        .expect("export dir")
        .filter_map(Result::ok)
        .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
        .collect::<String>();
    assert!(
        exported.contains(&hostile::text()),
        "export keeps the artifact"
    );
}

/// `handoff` on the sandbox's sessions in a 120×40 pseudo-terminal.
fn in_terminal(sandbox: &Sandbox, args: &[&str]) -> Term {
    Term::spawn(pty::handoff(sandbox.dir.path(), args), 120, 40)
}

#[test]
fn the_tui_in_a_terminal_writes_no_payload_from_the_model_a_tool_or_a_file() {
    let server = hostile_server();
    let (sandbox, repo) = hostile_sandbox();
    let repo = repo.to_str().expect("path");
    let mut tui = in_terminal(
        &sandbox,
        &[
            "run",
            "--workspace",
            repo,
            "--base-url",
            &server.base_url,
            "--model",
            "m",
            "Add rate limiting",
        ],
    );
    tui.wait_for("Ready to assign Solution Architect?");
    tui.press("\r");
    tui.wait_for("|v17");
    tui.press("\u{1b}");
    tui.wait_for("Ready to assign Solution Architect?");
    tui.press("q");
    tui.wait_for("Quit now?");
    tui.press("y");
    let bytes = tui.finish();
    assert_terminal_safe(&bytes, Capture::Pty, "the TUI");
    let log = sandbox.log();
    assert_log_keeps_the_original_bytes(&log);

    // Replayed in the TUI, and printed by `show` to a terminal: cleaned.
    let log = log.to_str().expect("path");
    let mut replay = in_terminal(&sandbox, &["replay", log, "--speed", "max"]);
    replay.wait_for("REPLAY");
    replay.press("\r");
    replay.wait_for("|v17");
    replay.press("q");
    replay.press("q");
    assert_terminal_safe(&replay.finish(), Capture::Pty, "replay");
    for args in [
        &["show", log, "--artifact", "requirements"][..],
        &["show", log],
        &["sessions"],
        &["replay", "--headless", log],
    ] {
        let shown = in_terminal(&sandbox, args).finish();
        assert_terminal_safe(&shown, Capture::Pty, &args.join(" "));
    }
    let artifact = in_terminal(&sandbox, &["show", log, "--artifact", "requirements"]).finish();
    let artifact = String::from_utf8_lossy(&artifact);
    // The last payload, never terminated, swallows its line's marker.
    for i in 0..hostile::CORPUS.len() - 1 {
        let marker = format!("|v{i}\r\n");
        assert!(
            artifact.contains(&marker),
            "the text around the payloads shows: {artifact:?}"
        );
    }
}

#[test]
fn a_crafted_session_id_and_file_name_print_no_payload() {
    let sandbox = Sandbox::new();
    let finished = sandbox.run(&["run", "--headless", "--approve", "all", common::REQUEST]);
    assert_eq!(finished.status.code(), Some(0), "{}", stderr(&finished));
    let text = std::fs::read_to_string(sandbox.log()).expect("log");
    let mut lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    lines[0]["id"] = hostile::text().replace('\n', " ").into();
    let mut crafted = lines
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n");
    crafted.push('\n');
    // A torn last line, which `show` and `replay` name the file for.
    crafted.push_str("{\"seq\":");
    let path = sandbox
        .dir
        .path()
        .join("\u{1b}]0;PWNED\u{7}\u{1b}[2J\u{9b}1337H.jsonl");
    std::fs::write(&path, crafted).expect("crafted log");
    let log = path.to_str().expect("path");
    for args in [
        &["resume", log, "--headless", "--approve", "all"][..],
        &["show", log],
        &["replay", "--headless", log],
        &["export", log, "--out", "exported"],
    ] {
        let output = sandbox.run(args);
        let what = args[0];
        assert!(
            output.status.code().is_some_and(|c| c <= 2),
            "{what}: {}",
            stderr(&output)
        );
        assert_terminal_safe(&output.stdout, Capture::InProcess, what);
        assert_terminal_safe(&output.stderr, Capture::InProcess, what);
    }
    let resumed = sandbox.run(&["resume", log, "--headless", "--approve", "all"]);
    assert!(
        stderr(&resumed).contains("already finished"),
        "{}",
        stderr(&resumed)
    );
    // A sessions folder with a crafted name, empty and then holding the log.
    let folder = sandbox.dir.path().join("\u{1b}]0;PWNED\u{7}sessions");
    for holds_the_log in [false, true] {
        if holds_the_log {
            std::fs::create_dir_all(&folder).expect("folder");
            std::fs::copy(&path, folder.join("crafted.jsonl")).expect("copy");
        }
        for args in [&["sessions"][..], &["stats"]] {
            let output = sandbox
                .bare_command()
                .arg("--sessions")
                .arg(&folder)
                .args(args)
                .output()
                .expect("run");
            assert_terminal_safe(&output.stdout, Capture::InProcess, args[0]);
            assert_terminal_safe(&output.stderr, Capture::InProcess, args[0]);
        }
    }
}
