//! Bounded input from the model, through the real binary and the test
//! server: a streamed tool-call index of 200000000 and arguments past the
//! configured cap fail the answer with a message (nothing is allocated for
//! them); a 16 MB stream line is read in linear time; a long line still
//! arriving keeps the idle timeout quiet; usage near `u64::MAX` saturates.

use crate::common;

use std::time::{Duration, Instant};

use common::server::{Piece, Reply, TestServer, finish_chunk, text_chunk, tool_call_chunk};
use common::{REQUEST, Sandbox, events, of_kind, stderr};
use serde_json::json;

fn sandbox(more: &str) -> (Sandbox, String) {
    let sandbox = Sandbox::new();
    sandbox.config(&format!(
        "bell = false\n[retries]\nmax = 0\n[timeouts]\nconnect = 5\nfirst_byte = 30\nidle = 30\n{more}"
    ));
    let repo = common::repository(sandbox.dir.path());
    (sandbox, repo.to_str().expect("path").to_owned())
}

/// The first phase only: a headless run that stops at its gate.
fn run(sandbox: &Sandbox, repo: &str, server: &TestServer) -> std::process::Output {
    sandbox.run_within(
        120,
        &[
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
        ],
    )
}

/// The error the first phase failed with.
fn failure(sandbox: &Sandbox) -> String {
    let events = events(&sandbox.log());
    let failed = of_kind(&events, "phase_failed");
    assert_eq!(failed.len(), 1, "{failed:?}");
    failed[0]["error"].as_str().expect("error").to_owned()
}

fn done() -> Piece {
    Piece::Raw("data: [DONE]".into())
}

#[test]
fn a_tool_call_index_of_two_hundred_million_fails_the_answer() {
    let server = TestServer::start(|_, _| {
        Reply::Sse(vec![
            tool_call_chunk(200_000_000, Some("c1"), Some("read_file"), "{}"),
            finish_chunk("tool_calls"),
            done(),
        ])
    });
    let (sandbox, repo) = sandbox("");
    let out = run(&sandbox, &repo, &server);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let error = failure(&sandbox);
    assert!(
        error.contains("200000000") && error.contains("at most 64"),
        "{error}"
    );
}

#[test]
fn tool_call_arguments_past_the_configured_cap_fail_the_answer() {
    let server = TestServer::start(|_, _| {
        let path = "a".repeat(700);
        Reply::Sse(vec![
            tool_call_chunk(0, Some("c1"), Some("read_file"), "{\"path\": \""),
            tool_call_chunk(0, None, None, &path),
            tool_call_chunk(0, None, None, &path),
            tool_call_chunk(0, None, None, "\"}"),
            finish_chunk("tool_calls"),
            done(),
        ])
    });
    let (sandbox, repo) = sandbox("[limits]\ntool_arguments = 1024\n");
    let out = run(&sandbox, &repo, &server);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let error = failure(&sandbox);
    assert!(
        error.contains("over 1 KiB") && error.contains("read_file"),
        "{error}"
    );
    assert!(
        of_kind(&events(&sandbox.log()), "tool_call").is_empty(),
        "the call was not run"
    );
}

#[test]
fn a_sixteen_megabyte_line_is_read_in_linear_time() {
    let line = json!({
        "choices": [{ "index": 0, "delta": { "content": "x".repeat(16_000_000) }, "finish_reason": null }]
    });
    let server = TestServer::start(move |_, _| {
        Reply::Sse(vec![
            Piece::Data(line.clone()),
            finish_chunk("stop"),
            done(),
        ])
    });
    let (sandbox, repo) = sandbox("");
    let started = Instant::now();
    let out = run(&sandbox, &repo, &server);
    let took = started.elapsed();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    // Past the longest answer: read whole, then refused for its length.
    let error = failure(&sandbox);
    assert!(error.contains("KiB"), "{error}");
    assert!(took < Duration::from_secs(20), "took {took:?}");
}

#[test]
fn a_long_line_still_arriving_is_not_silence() {
    // One line, sent in pieces 600 ms apart for about 3 s, with a 1 s idle
    // timeout: bytes keep coming, so the answer is read whole.
    let server = TestServer::start(|_, _| {
        let mut pieces = vec![Piece::Partial(
            r##"data: {"choices":[{"index":0,"delta":{"content":"# Slow"##.to_owned(),
        )];
        for _ in 0..5 {
            pieces.push(Piece::Pause(Duration::from_millis(600)));
            pieces.push(Piece::Partial(" and steady".to_owned()));
        }
        pieces.push(Piece::Partial(
            "\\n\\nThe whole answer.\"},\"finish_reason\":null}]}\n\n".to_owned(),
        ));
        pieces.push(finish_chunk("stop"));
        pieces.push(done());
        Reply::Sse(pieces)
    });
    let (sandbox, repo) = sandbox("");
    sandbox.config(
        "bell = false\n[retries]\nmax = 0\n[timeouts]\nconnect = 5\nfirst_byte = 30\nidle = 1\n",
    );
    let out = run(&sandbox, &repo, &server);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let events = events(&sandbox.log());
    let artifacts = of_kind(&events, "artifact");
    assert_eq!(artifacts.len(), 1, "{}", stderr(&out));
    let content = artifacts[0]["content"].as_str().expect("content");
    assert!(
        content.starts_with("# Slow and steady and steady"),
        "{content}"
    );
}

#[test]
fn usage_near_the_largest_count_saturates_instead_of_wrapping() {
    // Two calls (a tool turn, then the answer), each reporting the largest
    // counts there are: the sums stay at the largest, never wrap.
    let server = TestServer::start(|_, request| {
        let usage = Piece::Data(json!({
            "choices": [],
            "usage": { "prompt_tokens": u64::MAX, "completion_tokens": u64::MAX }
        }));
        let mut pieces = if request.has_tool_result() {
            vec![text_chunk("# Big\n\nNumbers.\n"), finish_chunk("stop")]
        } else {
            vec![
                tool_call_chunk(0, Some("c1"), Some("list_dir"), r#"{"path": "."}"#),
                finish_chunk("tool_calls"),
            ]
        };
        pieces.extend([usage, done()]);
        Reply::Sse(pieces)
    });
    let (sandbox, repo) = sandbox("[prices.m]\nprompt = 1.0\ncompletion = 1.0\n");
    let out = run(&sandbox, &repo, &server);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let log = sandbox.log();
    assert_eq!(of_kind(&events(&log), "usage").len(), 2);
    let shown = sandbox.run(&["show", "--json", log.to_str().expect("path")]);
    assert_eq!(shown.status.code(), Some(0), "{}", stderr(&shown));
    let state: serde_json::Value = serde_json::from_slice(&shown.stdout).expect("json");
    let counts: Vec<u64> = state["phases"]
        .as_array()
        .expect("phases")
        .iter()
        .flat_map(|p| {
            [
                &p["usage"]["prompt_tokens"],
                &p["usage"]["completion_tokens"],
            ]
        })
        .filter_map(serde_json::Value::as_u64)
        .filter(|n| *n > 0)
        .collect();
    assert_eq!(counts, [u64::MAX, u64::MAX], "{state}");
    for args in [
        &["stats", "--json"][..],
        &["stats"],
        &["show", log.to_str().expect("path")],
    ] {
        let printed = sandbox.run(args);
        assert_eq!(printed.status.code(), Some(0), "{}", stderr(&printed));
        let text = String::from_utf8_lossy(&printed.stdout);
        assert!(!text.contains("18446744073709551614"), "{text}");
    }
}
