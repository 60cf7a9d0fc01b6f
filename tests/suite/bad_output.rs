//! Bad model output against the real binary: an empty answer, a 10 MB
//! answer, tool calls with malformed arguments or unknown names, and a
//! model that never stops calling tools. Each ends in a clear message and a
//! bounded number of requests, never a panic, and the TUI keeps answering
//! keys while a huge artifact is on screen.

use crate::common;

use std::time::{Duration, Instant};

use common::pty::{self, Term};
use common::server::{
    Piece, Reply, TestServer, answer, finish_chunk, role_of, text_chunk, tool_turn,
};
use common::{REQUEST, Sandbox, events, of_kind, stderr, stdout};

fn sandbox() -> (Sandbox, String) {
    let sandbox = Sandbox::new();
    sandbox.config(
        "bell = false\n[retries]\nmax = 0\n[timeouts]\nconnect = 5\nfirst_byte = 30\nidle = 30\n",
    );
    let repo = common::repository(sandbox.dir.path());
    (sandbox, repo.to_str().expect("path").to_owned())
}

fn run(sandbox: &Sandbox, repo: &str, server: &TestServer) -> std::process::Output {
    // The first phase is all these tests need: stop at its gate.
    sandbox.run(&[
        "run",
        "--headless",
        "--approve",
        "none",
        "--workspace",
        repo,
        "--base-url",
        &server.base_url,
        "--model",
        "m",
        REQUEST,
    ])
}

#[test]
fn an_empty_answer_fails_the_phase_with_a_clear_message() {
    let server = TestServer::start(|_, _| answer("", 10, 0));
    let (sandbox, repo) = sandbox();
    let out = run(&sandbox, &repo, &server);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let events = events(&sandbox.log());
    assert!(
        of_kind(&events, "artifact").is_empty(),
        "no empty artifact to approve"
    );
    let failed = of_kind(&events, "phase_failed");
    assert_eq!(failed.len(), 1);
    let error = failed[0]["error"].as_str().expect("error");
    assert!(error.contains("empty"), "{error}");
    assert!(stdout(&out).contains("empty"), "{}", stdout(&out));
}

#[test]
fn malformed_arguments_and_unknown_tools_go_back_to_the_model_as_errors() {
    let server = TestServer::start(|_, request| {
        if role_of(request) == "Business Analyst" && !request.has_tool_result() {
            return tool_turn(&[
                ("c1", "read_file", r#"{"path": "README.md""#),
                ("c2", "read_file", r#"{"file": "README.md"}"#),
                ("c3", "format_disk", r#"{"device": "/dev/sda"}"#),
                ("c4", "read_file", "[1, 2, 3]"),
            ]);
        }
        answer("# Done\n\nDone despite the errors.\n", 10, 5)
    });
    let (sandbox, repo) = sandbox();
    let out = run(&sandbox, &repo, &server);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let events = events(&sandbox.log());
    assert_eq!(of_kind(&events, "artifact").len(), 1, "the phase finished");
    let results = of_kind(&events, "tool_result");
    assert_eq!(results.len(), 4);
    for r in &results {
        assert_eq!(r["ok"], false, "{r}");
        assert!(!r["summary"].as_str().unwrap_or_default().is_empty(), "{r}");
    }
    assert!(
        results[2]["output"]
            .as_str()
            .is_some_and(|o| o.contains("format_disk")),
        "{}",
        results[2]
    );
    // The model was told, call by call.
    let second = &server.recorded()[1].body["messages"];
    let told: Vec<&str> = second
        .as_array()
        .expect("messages")
        .iter()
        .filter(|m| m["role"] == "tool")
        .filter_map(|m| m["content"].as_str())
        .collect();
    assert_eq!(told.len(), 4, "{second}");
}

#[test]
fn a_model_that_never_stops_calling_tools_is_stopped_after_max_tool_rounds() {
    let server = TestServer::start(|n, _| {
        let id = format!("loop{n}");
        tool_turn(&[(&id, "list_dir", r#"{"path": "."}"#)])
    });
    let (sandbox, repo) = sandbox();
    let started = Instant::now();
    let out = run(&sandbox, &repo, &server);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(started.elapsed() < Duration::from_secs(60));
    let events = events(&sandbox.log());
    let error = of_kind(&events, "phase_failed")[0]["error"]
        .as_str()
        .expect("error")
        .to_owned();
    assert!(error.contains("max_tool_rounds"), "{error}");
    // The default pipeline allows 24 rounds: 25 requests, then no more.
    assert_eq!(server.recorded().len(), 25);
}

/// `chunks` chunks of 4 KiB of Markdown-ish text, then a last line.
fn long_answer(chunks: usize) -> Reply {
    let line = "- a line of a very long answer, with **bold** and `code` in it\n";
    let chunk = line.repeat(4096 / line.len());
    let mut pieces: Vec<Piece> = (0..chunks).map(|_| text_chunk(&chunk)).collect();
    pieces.push(text_chunk("THE LAST LINE\n"));
    pieces.push(finish_chunk("stop"));
    pieces.push(Piece::Raw("data: [DONE]".into()));
    Reply::Sse(pieces)
}

#[test]
fn a_ten_megabyte_answer_is_stopped_with_a_clear_message() {
    let server = TestServer::start(|_, _| long_answer(2560));
    let (sandbox, repo) = sandbox();
    let out = run(&sandbox, &repo, &server);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let events = events(&sandbox.log());
    let error = of_kind(&events, "phase_failed")[0]["error"]
        .as_str()
        .expect("error")
        .to_owned();
    assert!(
        error.contains("KiB") && error.contains("stopped reading"),
        "{error}"
    );
    let size = std::fs::metadata(sandbox.log()).expect("log").len();
    assert!(size < 1024 * 1024, "the log stays bounded: {size} bytes");
}

#[test]
fn the_tui_keeps_answering_keys_with_the_longest_answer_on_screen() {
    // Just under the limit: about 480 KiB.
    let server = TestServer::start(|_, request| {
        if role_of(request) == "Business Analyst" {
            long_answer(120)
        } else {
            answer("# Fine\n", 10, 5)
        }
    });
    let (sandbox, _) = sandbox();
    let cmd = pty::handoff(
        sandbox.dir.path(),
        &[
            "run",
            "--base-url",
            &server.base_url,
            "--model",
            "m",
            REQUEST,
        ],
    );
    let mut tui = Term::spawn(cmd, 120, 30);
    tui.wait_for("Ready to assign Solution Architect?");
    // Open the artifact, jump to its end, open help and close it: each
    // shows within three seconds.
    let quick = Duration::from_secs(3);
    tui.press("\r");
    tui.wait_for_within("requirements · Business Analyst", quick);
    tui.press("G");
    tui.wait_for_within("THE LAST LINE", quick);
    tui.press("?");
    tui.wait_for_within("approve and hand off to the next role", quick);
    // Apart, so the terminal does not read them as one Alt sequence.
    for key in ["\u{1b}", "\u{1b}", "q"] {
        tui.press(key);
        std::thread::sleep(Duration::from_millis(150));
    }
    tui.confirm_quit_within(Duration::from_secs(5));
}
