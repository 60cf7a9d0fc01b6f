//! The engine's guards around a model's answers, over real HTTP: a
//! reviewer (a plan task's critique) cannot change the workspace whatever
//! it asks for, and an answer cut at the model's output limit is not
//! taken as an artifact.

use crate::common;

use common::server::{
    Piece, Reply, TestServer, answer, role_of, text_chunk, tool_call_chunk, usage_chunk,
    well_behaved,
};
use common::{REQUEST, Sandbox, events, of_kind, repository, stderr};

/// A headless run against `server`, approving every gate.
fn run(sandbox: &Sandbox, server: &TestServer, workspace: Option<&str>) -> std::process::Output {
    let mut cmd = sandbox.command();
    cmd.env("OPENAI_API_KEY", "sk-test")
        .args(["run", "--headless", "--approve", "all"])
        .args(["--base-url", &server.base_url, "--model", "m"]);
    if let Some(dir) = workspace {
        cmd.args(["--workspace", dir]);
    }
    cmd.arg(REQUEST).output().expect("run handoff")
}

/// A streamed answer that ends for `reason`.
fn ending(text: &str, reason: &str) -> Reply {
    Reply::Sse(vec![
        text_chunk(text),
        common::server::finish_chunk(reason),
        usage_chunk(10, 5),
        Piece::Raw("data: [DONE]".into()),
    ])
}

#[test]
fn a_reviewer_that_asks_to_write_is_refused_and_writes_nothing() {
    let server = TestServer::start(|_, request| {
        let role = role_of(request);
        if role == "reviewer" && !request.has_tool_result() {
            // The critique tries to change the work it judges.
            let args = r#"{"path": "verdict.txt", "content": "looks fine"}"#;
            return Reply::Sse(vec![
                tool_call_chunk(0, Some("w1"), Some("write_file"), args),
                common::server::finish_chunk("tool_calls"),
                usage_chunk(10, 5),
                Piece::Raw("data: [DONE]".into()),
            ]);
        }
        answer(&well_behaved(&role), 10, 5)
    });
    let sandbox = Sandbox::new();
    let repo = repository(sandbox.dir.path());
    let output = run(&sandbox, &server, repo.to_str());
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let events = events(&sandbox.log());
    let refused = of_kind(&events, "tool_result")
        .into_iter()
        .find(|r| r["call_id"].as_str().is_some_and(|id| id.ends_with("-w1")))
        .expect("the reviewer's call has a result");
    assert_eq!(refused["ok"], false);
    assert!(
        refused["output"]
            .as_str()
            .is_some_and(|o| o.contains("a reviewer only reads")),
        "{refused}"
    );
    assert!(!repo.join("verdict.txt").exists(), "nothing was written");
}

#[test]
fn an_answer_cut_at_the_output_limit_fails_its_attempt() {
    let server = TestServer::start(|_, request| match role_of(request).as_str() {
        "Business Analyst" => ending("# Requirements\n\n- [ ] AC-1: The limit is enf", "length"),
        role => answer(&well_behaved(role), 10, 5),
    });
    let sandbox = Sandbox::new();
    let output = run(&sandbox, &server, None);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let events = events(&sandbox.log());
    assert!(
        of_kind(&events, "artifact").is_empty(),
        "no artifact from a cut answer"
    );
    let failed = of_kind(&events, "phase_failed");
    assert_eq!(failed.len(), 1);
    assert!(
        failed[0]["error"]
            .as_str()
            .is_some_and(|e| e.contains("cut at the model's output limit")),
        "{}",
        failed[0]
    );
    // The call's tokens still count.
    assert_eq!(of_kind(&events, "usage").len(), 1);
}
