//! The `openai` provider over real HTTP against the scriptable test server:
//! a whole session, and every fault with what the user sees (message, exit
//! code, log contents).

use crate::common;

use std::time::{Duration, Instant};

use common::server::{
    PLAN, Piece, Reply, TestServer, answer, finish_chunk, role_of, status, text_chunk,
    tool_call_chunk, well_behaved,
};
use common::{REQUEST, Sandbox, events, of_kind, stderr, stdout};
use serde_json::Value;

const KEY: &str = "sk-test-SECRET-key-0123456789";

/// A sandbox whose config makes timeouts and retries fast, after `config`.
fn fast_sandbox(config: &str) -> Sandbox {
    let sandbox = Sandbox::new();
    let base = "[retries]\nmax = 2\nbase_ms = 50\ncap_s = 5\n[timeouts]\nconnect = 2\nfirst_byte = 2\nidle = 2\n";
    sandbox.config(&format!("{config}\n{base}"));
    sandbox
}

/// Runs one headless session against `server` and returns the output.
fn run(sandbox: &Sandbox, server: &TestServer, approve: &str) -> std::process::Output {
    sandbox
        .command()
        .env("OPENAI_API_KEY", KEY)
        .args([
            "run",
            "--headless",
            "--approve",
            approve,
            "--base-url",
            &server.base_url,
            "--model",
            "test-model",
            REQUEST,
        ])
        .output()
        .expect("run handoff")
}

fn log_text(sandbox: &Sandbox) -> String {
    std::fs::read_to_string(sandbox.log()).expect("log")
}

fn failure(events: &[Value]) -> String {
    let failed = of_kind(events, "phase_failed");
    assert_eq!(failed.len(), 1, "one failed phase");
    failed[0]["error"].as_str().expect("error").to_owned()
}

#[test]
fn a_whole_session_against_an_openai_compatible_server() {
    let server = TestServer::start(|_, request| answer(&well_behaved(&role_of(request)), 120, 30));
    let sandbox = fast_sandbox("");
    let output = run(&sandbox, &server, "all");
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}{}",
        stdout(&output),
        stderr(&output)
    );
    let events = events(&sandbox.log());
    assert_eq!(events[0]["provider"], "openai");
    assert_eq!(events[0]["model"], "test-model");
    let artifacts = of_kind(&events, "artifact");
    assert_eq!(artifacts.len(), 6);
    assert_eq!(
        artifacts[1]["content"].as_str().map(str::trim),
        Some(PLAN.trim())
    );
    assert!(
        of_kind(&events, "invalid").is_empty(),
        "the plan and verdict read"
    );
    // One `usage` per call, as the server reported it; the developer ran
    // the plan's task and its critique, two calls; each engaged specialist
    // was consulted in a call of its own (the roles' calls are below).
    let consults = of_kind(&events, "advice").len();
    let usage = of_kind(&events, "usage");
    assert_eq!(usage.len(), 7 + consults);
    for usage in usage {
        assert_eq!(usage["prompt_tokens"], 120, "usage comes from the server");
        assert_eq!(usage["completion_tokens"], 30);
    }
    let requests: Vec<_> = server
        .recorded()
        .into_iter()
        .filter(|r| !r.system().contains(" specialist on a software team"))
        .collect();
    assert_eq!(requests.len(), 7);
    let task = requests[2].body["messages"][0]["content"]
        .as_str()
        .expect("system");
    assert!(task.contains("This call is one task of the plan"), "{task}");
    let critique = requests[3].body["messages"][1]["content"]
        .as_str()
        .expect("user");
    assert!(
        critique
            .contains("## The work as its maker reported it\n# Senior Backend Developer artifact"),
        "{critique}"
    );
    let finished: Vec<&str> = of_kind(&events, "task_finished")
        .iter()
        .filter_map(|t| t["outcome"].as_str())
        .collect();
    assert_eq!(finished, ["done", "passed"]);
    let first = &requests[0];
    assert_eq!(first.path, "/v1/chat/completions");
    assert_eq!(
        first.header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
    assert_eq!(first.body["model"], "test-model");
    assert_eq!(first.body["stream"], true);
    assert_eq!(first.body["stream_options"]["include_usage"], true);
    assert_eq!(first.body["messages"][0]["role"], "system");
    assert!(
        first.body["messages"][1]["content"]
            .as_str()
            .is_some_and(|c| c.contains(REQUEST))
    );
    // The architect was handed the analyst's artifact.
    let second = requests[1].body["messages"][1]["content"]
        .as_str()
        .expect("user message");
    assert!(second.contains("# Business Analyst artifact"), "{second}");
    // The architect was told the plan's shape; the developer was handed
    // the plan rendered as Markdown, not the raw JSON.
    let system = requests[1].body["messages"][0]["content"]
        .as_str()
        .expect("system");
    assert!(system.contains("\"task_order\""), "{system}");
    assert!(
        second.contains(
            "## Advice from the redis specialist (consulted because the work mentions “rate limiting”)"
        ),
        "{second}"
    );
    let third = requests[2].body["messages"][1]["content"]
        .as_str()
        .expect("user message");
    assert!(
        third.contains("### Task 1: Implement the limiter"),
        "{third}"
    );
    assert!(
        third.contains("1 Implement the limiter\n└─ 2 Critique the limiter"),
        "{third}"
    );
    assert!(
        !log_text(&sandbox).contains(KEY),
        "the key is never written"
    );
}

#[test]
fn an_unreadable_verdict_is_asked_for_again_with_the_error_then_stops_at_the_gate() {
    let server = TestServer::start(|_, request| match role_of(request).as_str() {
        "QA Engineer" => answer("Looks good to me, ship it!", 100, 10),
        role => answer(&well_behaved(role), 100, 10),
    });
    let sandbox = fast_sandbox("");
    let output = run(&sandbox, &server, "all");
    assert_eq!(
        output.status.code(),
        Some(3),
        "stops at the gate for a person: {}{}",
        stdout(&output),
        stderr(&output)
    );
    let events = events(&sandbox.log());
    let invalid = of_kind(&events, "invalid");
    let retries: Vec<&Value> = invalid.iter().map(|e| &e["retry"]).collect();
    assert_eq!(retries, [true, true, false], "max_format_retries = 2");
    assert!(invalid.iter().all(|e| e["phase"] == "validate"));
    assert!(
        invalid[0]["errors"][0]
            .as_str()
            .is_some_and(|e| e.contains("no JSON object found")),
        "{:?}",
        invalid[0]
    );
    let gate = of_kind(&events, "gate_opened").pop().expect("a gate");
    assert_eq!(gate["phase"], "validate");
    assert!(
        gate["question"]
            .as_str()
            .is_some_and(|q| q.contains("could not be read")),
        "{gate}"
    );
    // The second and third asks carried the error back to the model.
    let asks: Vec<_> = server
        .recorded()
        .into_iter()
        .filter(|r| role_of(r) == "QA Engineer")
        .collect();
    assert_eq!(asks.len(), 3);
    let retry = asks[1].body["messages"][1]["content"]
        .as_str()
        .expect("user");
    assert!(retry.contains("Your answer could not be read"), "{retry}");
    assert!(retry.contains("no JSON object found"), "{retry}");
    assert!(
        retry.contains("Looks good to me, ship it!"),
        "the previous answer: {retry}"
    );
}

#[test]
fn a_429_with_retry_after_is_waited_for_and_retried() {
    let server = TestServer::start(|n, _| match n {
        0 => status(
            429,
            &[("Retry-After", "1")],
            r#"{"error":{"message":"slow down","type":"rate_limit_error"}}"#,
        ),
        _ => answer("# Done\n", 10, 2),
    });
    let sandbox = fast_sandbox("");
    let start = Instant::now();
    let output = run(&sandbox, &server, "none");
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    assert!(
        start.elapsed() >= Duration::from_secs(1),
        "Retry-After was honoured"
    );
    let events = events(&sandbox.log());
    let retries = of_kind(&events, "retry");
    assert_eq!(retries.len(), 1);
    assert_eq!(retries[0]["wait_ms"], 1000);
    assert!(
        retries[0]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("429"))
    );
    assert!(stdout(&output).contains("↻ 429"), "{}", stdout(&output));
    assert_eq!(server.recorded().len(), 2);
}

#[test]
fn server_errors_are_retried_with_backoff_then_reported() {
    let server = TestServer::start(|_, _| status(500, &[], "upstream exploded"));
    let sandbox = fast_sandbox("");
    let output = run(&sandbox, &server, "all");
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(server.recorded().len(), 3, "one try and two retries");
    let events = events(&sandbox.log());
    assert_eq!(of_kind(&events, "retry").len(), 2);
    let error = failure(&events);
    assert!(
        error.contains("500") && error.contains("upstream exploded"),
        "{error}"
    );
    assert!(
        error.contains(&server.base_url) && error.contains("test-model"),
        "{error}"
    );
    assert_eq!(
        events.last().expect("events")["kind"],
        "gate_opened",
        "a retry gate opens"
    );
}

#[test]
fn quota_errors_and_auth_failures_are_not_retried_and_never_show_the_key() {
    let server = TestServer::start(|_, _| {
        status(
            429,
            &[("Retry-After", "1")],
            r#"{"error":{"message":"You exceeded your current quota","type":"insufficient_quota","code":"insufficient_quota"}}"#,
        )
    });
    let sandbox = fast_sandbox("");
    let output = run(&sandbox, &server, "all");
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(server.recorded().len(), 1, "quota is not retried");
    assert!(failure(&events(&sandbox.log())).contains("quota"));

    let server = TestServer::start(|_, _| {
        status(
            401,
            &[],
            &format!(
                r#"{{"error":{{"message":"Incorrect API key provided: {KEY}","type":"invalid_request_error"}}}}"#
            ),
        )
    });
    let sandbox = fast_sandbox("");
    let output = run(&sandbox, &server, "all");
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(server.recorded().len(), 1, "401 is not retried");
    let error = failure(&events(&sandbox.log()));
    assert!(
        error.contains("401") && error.contains(&server.base_url) && error.contains("test-model"),
        "{error}"
    );
    assert!(error.contains("API key"), "{error}");
    assert!(
        !log_text(&sandbox).contains(KEY),
        "the key is never written"
    );
    assert!(!stdout(&output).contains(KEY) && !stderr(&output).contains(KEY));
}

#[test]
fn a_server_that_never_answers_times_out_before_the_first_byte() {
    let server = TestServer::start(|_, _| Reply::Stall);
    let sandbox_fast = Sandbox::new();
    sandbox_fast.config("[retries]\nmax = 0\n[timeouts]\nfirst_byte = 1\n");
    let start = Instant::now();
    let output = run(&sandbox_fast, &server, "all");
    assert_eq!(output.status.code(), Some(1));
    assert!(start.elapsed() < Duration::from_secs(20));
    let error = failure(&events(&sandbox_fast.log()));
    assert!(error.contains("no response within 1s"), "{error}");
}

#[test]
fn a_stream_that_stalls_cuts_or_breaks_fails_the_phase_with_the_reason() {
    // Stalls mid-stream: the idle timeout ends it.
    let server = TestServer::start(|_, _| {
        Reply::Sse(vec![
            text_chunk("# Half "),
            Piece::Pause(Duration::from_secs(30)),
        ])
    });
    let sandbox = fast_sandbox("");
    let output = run(&sandbox, &server, "all");
    assert_eq!(output.status.code(), Some(1));
    let events_ = events(&sandbox.log());
    assert!(failure(&events_).contains("stalled: nothing for 2s"));
    assert!(
        of_kind(&events_, "output")
            .iter()
            .any(|o| o["text"] == "# Half "),
        "what arrived is kept"
    );

    // Cut: the connection closes with no finish reason.
    let server = TestServer::start(|_, _| Reply::Sse(vec![text_chunk("# Half "), Piece::Cut]));
    let sandbox = fast_sandbox("");
    run(&sandbox, &server, "all");
    let error = failure(&events(&sandbox.log()));
    assert!(error.contains("cut short"), "{error}");

    // Mid-stream error object.
    let server = TestServer::start(|_, _| {
        Reply::Sse(vec![
            text_chunk("# Half "),
            Piece::Data(
                serde_json::json!({"error": {"message": "model overloaded", "type": "server_error"}}),
            ),
        ])
    });
    let sandbox = fast_sandbox("");
    run(&sandbox, &server, "all");
    let error = failure(&events(&sandbox.log()));
    assert!(
        error.contains("mid-stream") && error.contains("model overloaded"),
        "{error}"
    );

    // Garbage instead of a chunk.
    let server =
        TestServer::start(|_, _| Reply::Sse(vec![Piece::Raw("data: <html>oops</html>".into())]));
    let sandbox = fast_sandbox("");
    run(&sandbox, &server, "all");
    let error = failure(&events(&sandbox.log()));
    assert!(error.contains("not a chat completion chunk"), "{error}");

    // A finish reason without [DONE] still finishes once the stream ends.
    let server =
        TestServer::start(|_, _| Reply::Sse(vec![text_chunk("# Whole\n"), finish_chunk("stop")]));
    let sandbox = fast_sandbox("");
    let output = run(&sandbox, &server, "none");
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
}

#[test]
fn an_unreachable_server_is_retried_then_reported() {
    // Port 1: nothing listens there, and no test server can be given it.
    let port = 1;
    let sandbox = fast_sandbox("");
    let output = sandbox
        .command()
        .args([
            "run",
            "--headless",
            "--approve",
            "all",
            "--base-url",
            &format!("http://127.0.0.1:{port}/v1"),
            REQUEST,
        ])
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(1));
    let events = events(&sandbox.log());
    assert_eq!(of_kind(&events, "retry").len(), 2);
    let error = failure(&events);
    assert!(error.contains("cannot connect"), "{error}");
    assert_eq!(events[0]["model"], "gpt-4o-mini", "the default model");
}

#[test]
fn doctor_says_what_works_and_exactly_what_does_not() {
    let doctor = |base_url: &str| {
        let sandbox = fast_sandbox("");
        sandbox
            .command()
            .env("OPENAI_API_KEY", KEY)
            .args(["doctor", "--base-url", base_url, "--model", "test-model"])
            .output()
            .expect("doctor")
    };
    let server = TestServer::start(|_, _| answer("OK", 5, 1));
    let ok = doctor(&server.base_url);
    assert_eq!(ok.status.code(), Some(0), "{}", stdout(&ok));
    assert!(
        stdout(&ok).contains("✓ test-model answered"),
        "{}",
        stdout(&ok)
    );
    assert!(stdout(&ok).contains("API key   set"), "{}", stdout(&ok));
    assert!(
        stdout(&ok).contains("json_schema was accepted but the answer was not a verdict"),
        "a server that ignores the schema: {}",
        stdout(&ok)
    );
    let honours = TestServer::start(|_, request| {
        if request.body.get("response_format").is_some() {
            answer(r#"{"verdict":"pass","issues":[]}"#, 5, 5)
        } else {
            answer("OK", 5, 1)
        }
    });
    let out = doctor(&honours.base_url);
    assert!(
        stdout(&out).contains("✓ structured answers: json_schema is honoured"),
        "{}",
        stdout(&out)
    );
    let refuses = TestServer::start(|_, request| {
        if request.body["response_format"]["type"] == "json_schema" {
            status(
                400,
                &[],
                r#"{"error":{"message":"json_schema unsupported"}}"#,
            )
        } else {
            answer("OK", 5, 1)
        }
    });
    let out = doctor(&refuses.base_url);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("refused json_schema; handoff asks with json_object"),
        "{}",
        stdout(&out)
    );
    assert!(!stdout(&ok).contains(KEY));

    let unknown = TestServer::start(|_, _| {
        status(
            404,
            &[],
            r#"{"error":{"message":"model 'test-model' not found"}}"#,
        )
    });
    let out = doctor(&unknown.base_url);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("does not know model `test-model`"),
        "{}",
        stdout(&out)
    );

    let without_v1 = doctor(unknown.base_url.trim_end_matches("/v1"));
    assert!(
        stdout(&without_v1).contains("does not end in /v1"),
        "{}",
        stdout(&without_v1)
    );

    // Port 1: nothing listens there, and unlike a port freed a moment ago,
    // no test server running alongside can be handed it.
    let nothing = doctor("http://127.0.0.1:1/v1");
    assert_eq!(nothing.status.code(), Some(1));
    assert!(
        stdout(&nothing).contains("nothing answers at"),
        "{}",
        stdout(&nothing)
    );

    let offline = Sandbox::new().run(&["doctor"]);
    assert_eq!(offline.status.code(), Some(0));
    assert!(stdout(&offline).contains("provider  offline"));
}

#[tokio::test]
async fn tool_calls_are_assembled_from_fragments_and_results_go_back_as_a_second_turn() {
    use futures::StreamExt;
    use handoff::config::{RetryPolicy, Timeouts};
    use handoff::provider::openai::{OpenAiProvider, Settings};
    use handoff::provider::{Brief, Chunk, CompletionRequest, Message, Provider, Role, ToolCall};
    use handoff::tools::ToolSpec;

    let server = TestServer::start(|n, _| match n {
        0 => Reply::Sse(vec![
            tool_call_chunk(0, Some("call_a"), Some("read_file"), ""),
            tool_call_chunk(1, Some("call_b"), Some("list_dir"), "{\"pa"),
            tool_call_chunk(0, None, None, "{\"path\": \"src/"),
            tool_call_chunk(0, None, None, "main.go\"}"),
            tool_call_chunk(1, None, None, "th\": \".\"}"),
            finish_chunk("tool_calls"),
            Piece::Raw("data: [DONE]".into()),
        ]),
        _ => answer("Read them both.", 50, 4),
    });
    let provider = OpenAiProvider::new(Settings {
        base_url: server.base_url.clone(),
        api_key: None,
        timeouts: Timeouts::default(),
        retry: RetryPolicy::default(),
        tool_arguments: 1024 * 1024,
        text_tools: Vec::new(),
    })
    .expect("provider");
    let pipeline =
        handoff::pipeline::load_pipeline(&handoff::pipeline::SkillsFile::builtin(), None)
            .expect("pipeline");
    let brief = Brief::new("", pipeline.phases[2].clone());
    let tools = vec![ToolSpec {
        name: "read_file".into(),
        description: "Read a file".into(),
        parameters: serde_json::json!({"type": "object", "properties": {"path": {"type": "string"}}}),
    }];
    let mut messages = vec![Message::new(Role::User, "Read main.go")];
    let request = |messages: Vec<Message>| CompletionRequest {
        model: "m".into(),
        temperature: None,
        messages,
        tools: tools.clone(),
        answer: handoff::provider::AnswerSpec::default(),
        brief: brief.clone(),
    };
    let first: Vec<Chunk> = provider
        .stream(request(messages.clone()))
        .map(|c| c.expect("chunk"))
        .collect()
        .await;
    let calls: Vec<ToolCall> = first
        .iter()
        .filter_map(|c| {
            let Chunk::ToolCall(call) = c else {
                return None;
            };
            Some(call.clone())
        })
        .collect();
    assert_eq!(
        calls,
        [
            ToolCall {
                id: "call_a".into(),
                name: "read_file".into(),
                arguments: r#"{"path": "src/main.go"}"#.into()
            },
            ToolCall {
                id: "call_b".into(),
                name: "list_dir".into(),
                arguments: r#"{"path": "."}"#.into()
            },
        ]
    );
    assert_eq!(
        first.last(),
        Some(&Chunk::Done {
            finish_reason: "tool_calls".into()
        })
    );

    messages.push(Message {
        role: Role::Assistant,
        tool_calls: calls.clone(),
        ..Message::default()
    });
    for call in &calls {
        messages.push(Message {
            role: Role::Tool,
            content: format!("result of {}", call.name),
            tool_call_id: Some(call.id.clone()),
            ..Message::default()
        });
    }
    let second: Vec<Chunk> = provider
        .stream(request(messages))
        .map(|c| c.expect("chunk"))
        .collect()
        .await;
    assert!(second.contains(&Chunk::Text("Read ".into())));
    let sent = &server.recorded()[1].body;
    assert_eq!(sent["tools"][0]["function"]["name"], "read_file");
    assert_eq!(sent["messages"][1]["tool_calls"][1]["id"], "call_b");
    assert_eq!(sent["messages"][2]["role"], "tool");
    assert_eq!(sent["messages"][3]["tool_call_id"], "call_b");
    assert_eq!(sent["messages"][3]["content"], "result of list_dir");
}

#[test]
fn a_plan_task_that_runs_past_its_timeout_fails_the_attempt() {
    let plan = PLAN.replace(
        r#""task_order": 1,"#,
        r#""task_order": 1, "timeout_seconds": 1,"#,
    );
    assert_ne!(plan, PLAN);
    let server = TestServer::start(move |_, request| match role_of(request).as_str() {
        "Solution Architect" => answer(&plan, 10, 10),
        // The maker streams slowly enough that no read times out, for far
        // longer than its task may take.
        "Senior Backend Developer" => {
            let mut pieces = Vec::new();
            for _ in 0..30 {
                pieces.push(text_chunk("still working "));
                pieces.push(Piece::Pause(Duration::from_millis(200)));
            }
            pieces.push(finish_chunk("stop"));
            Reply::Sse(pieces)
        }
        role => answer(&well_behaved(role), 10, 10),
    });
    let sandbox = fast_sandbox("");
    let started = Instant::now();
    let output = run(&sandbox, &server, "all");
    let took = started.elapsed();
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        took < Duration::from_secs(5),
        "stopped at the timeout: {took:?}"
    );
    let events = events(&sandbox.log());
    let error = failure(&events);
    assert!(
        error.contains("task 1 failed: the task ran past its timeout_seconds (1 s)"),
        "{error}"
    );
    let task = of_kind(&events, "task_finished")
        .pop()
        .expect("task_finished");
    assert_eq!(task["outcome"], "error");
    // What streamed before the timeout is kept, and its tokens counted.
    assert!(
        of_kind(&events, "task_output").iter().any(|o| o["text"]
            .as_str()
            .is_some_and(|t| t.contains("still working"))),
        "the streamed text is in the log"
    );
    assert!(
        of_kind(&events, "usage")
            .iter()
            .any(|u| u["phase"] == "implement")
    );
}

#[test]
fn resume_and_fork_go_on_with_the_provider_and_model_the_session_started_with() {
    let server = TestServer::start(|_, request| answer(&well_behaved(&role_of(request)), 10, 10));
    let sandbox = fast_sandbox("");
    let started = run(&sandbox, &server, "none");
    assert_eq!(started.status.code(), Some(3), "{}", stderr(&started));
    let log = sandbox.log();
    let asked = server.recorded().len();
    // Without the server's address or a key, resume does not guess one.
    let lost = sandbox.run(&["resume", log.to_str().expect("path"), "--headless"]);
    assert_eq!(lost.status.code(), Some(2), "{}", stderr(&lost));
    assert!(
        stderr(&lost).contains("give --base-url"),
        "{}",
        stderr(&lost)
    );
    assert_eq!(server.recorded().len(), asked);
    // Resumed with the server's address but no model: the recorded model
    // is asked, not the default one.
    let resumed = sandbox
        .command()
        .env("OPENAI_API_KEY", KEY)
        .args(["resume", log.to_str().expect("path"), "--headless"])
        .args(["--approve", "all", "--base-url", &server.base_url])
        .output()
        .expect("resume");
    assert_eq!(resumed.status.code(), Some(0), "{}", stderr(&resumed));
    assert!(
        !stderr(&resumed).contains("resuming with"),
        "{}",
        stderr(&resumed)
    );
    let models: Vec<String> = server.recorded()[asked..]
        .iter()
        .map(|r| r.body["model"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(!models.is_empty());
    assert!(models.iter().all(|m| m == "test-model"), "{models:?}");

    // An offline session stays offline on resume, even with a key and an
    // unreachable server in the environment.
    let offline = Sandbox::new();
    let first = offline.run(&["run", "--headless", "--approve", "none", REQUEST]);
    assert_eq!(first.status.code(), Some(3), "{}", stderr(&first));
    let log = offline.log();
    let resumed = offline
        .command()
        .env("OPENAI_API_KEY", KEY)
        .env("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
        .args([
            "resume",
            log.to_str().expect("path"),
            "--headless",
            "--approve",
            "all",
        ])
        .output()
        .expect("resume");
    assert_eq!(resumed.status.code(), Some(0), "{}", stderr(&resumed));
    // A fork may choose another model; its log says which.
    let gate = "summarize";
    let forked = offline
        .command()
        .args([
            "fork",
            log.to_str().expect("path"),
            "--at",
            gate,
            "--model",
            "other-model",
        ])
        .args(["--headless", "--approve", "all"])
        .output()
        .expect("fork");
    assert_eq!(forked.status.code(), Some(0), "{}", stderr(&forked));
    let fork_log = offline
        .logs()
        .into_iter()
        .find(|l| *l != log)
        .expect("the fork's log");
    let started = events(&fork_log).remove(0);
    assert_eq!(started["provider"], "offline");
    assert_eq!(started["model"], "other-model");
}

/// The `response_format` type a request asked for, if any.
fn format_of(request: &common::server::Recorded) -> Option<String> {
    request.body["response_format"]["type"]
        .as_str()
        .map(str::to_owned)
}

#[test]
fn a_server_that_rejects_json_schema_is_asked_with_json_object_from_then_on() {
    let server = TestServer::start(|_, request| {
        if format_of(request).as_deref() == Some("json_schema") {
            return status(
                400,
                &[("content-type", "application/json")],
                r#"{"error":{"message":"response_format type json_schema is not supported","type":"invalid_request_error"}}"#,
            );
        }
        answer(&well_behaved(&role_of(request)), 120, 30)
    });
    let sandbox = fast_sandbox("");
    let output = run(&sandbox, &server, "all");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let requests = server.recorded();
    let structured: Vec<Option<String>> = requests
        .iter()
        .filter(|r| r.body.get("response_format").is_some())
        .map(format_of)
        .collect();
    let refused = structured
        .iter()
        .filter(|f| f.as_deref() == Some("json_schema"))
        .count();
    // Once per kind of request (with tools, without), never again.
    assert!((1..=2).contains(&refused), "{structured:?}");
    let last_refused = structured
        .iter()
        .rposition(|f| f.as_deref() == Some("json_schema"))
        .expect("one refused");
    assert!(
        structured[last_refused + 1..]
            .iter()
            .all(|f| f.as_deref() == Some("json_object")),
        "{structured:?}"
    );
    assert!(
        structured.len() >= refused + 3,
        "plan, critique, verdict: {structured:?}"
    );
    let events = events(&sandbox.log());
    assert!(of_kind(&events, "invalid").is_empty());
    let notices = of_kind(&events, "retry");
    assert!(
        notices.iter().any(|n| n["reason"]
            .as_str()
            .is_some_and(|r| r.contains("json_schema") && r.contains("json_object"))),
        "the step down is in the log: {notices:?}"
    );
}

#[test]
fn a_server_that_ignores_json_schema_still_has_its_answers_read() {
    // The server honours nothing: the architect writes Go among prose
    // before its JSON, the reviewer prose around a bare object.
    let server = TestServer::start(|_, request| {
        let role = role_of(request);
        let text = match role.as_str() {
            "Solution Architect" => format!(
                "A sketch first:\n```go\nfunc limit(w http.ResponseWriter) {{ if over {{ w.WriteHeader(429) }} }}\n```\n{}",
                common::server::PLAN
            ),
            "QA Engineer" | "reviewer" => {
                "All checked. {\"verdict\": \"pass\", \"issues\": []} That is all.".to_owned()
            }
            _ => well_behaved(&role),
        };
        answer(&text, 120, 30)
    });
    let sandbox = fast_sandbox("");
    let output = run(&sandbox, &server, "all");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let events = events(&sandbox.log());
    assert!(of_kind(&events, "invalid").is_empty(), "{events:?}");
    let requests = server.recorded();
    let plan = requests
        .iter()
        .find(|r| role_of(r) == "Solution Architect")
        .expect("plan request");
    let format = &plan.body["response_format"];
    assert_eq!(format["type"], "json_schema");
    assert_eq!(format["json_schema"]["name"], "plan");
    assert_eq!(format["json_schema"]["strict"], true);
    assert!(format["json_schema"]["schema"]["properties"]["tasks"].is_object());
    assert_eq!(plan.body["max_tokens"], 4096, "a plan gets room");
    let verdict = requests
        .iter()
        .find(|r| role_of(r) == "QA Engineer")
        .expect("verdict request");
    assert_eq!(
        verdict.body["response_format"]["json_schema"]["name"],
        "verdict"
    );
    assert_eq!(verdict.body["max_tokens"], 1024, "a verdict needs little");
    assert!(
        requests
            .iter()
            .filter(|r| !matches!(
                role_of(r).as_str(),
                "Solution Architect" | "QA Engineer" | "reviewer"
            ))
            .all(|r| {
                let format = r.body.get("response_format");
                // A plan task's maker reports in its own small shape.
                format.is_none_or(|f| f["json_schema"]["name"] == "task_report")
                    && r.body["max_tokens"].is_u64()
            }),
        "Markdown roles ask for no format but a task's report, every request has a cap"
    );
    assert!(
        of_kind(&events, "task_finished")
            .iter()
            .all(|t| t["outcome"] != "unchecked"),
        "the critique read"
    );
}
