//! The capability probe against scripted servers: what `doctor` prints
//! and caches, and what a session does with the findings (the format
//! structured requests start at, a 400 that is not about the format, the
//! context length a server reports, a server that ignores tools, tool
//! calls written as text).

use serde_json::{Value, json};

use crate::common::server::{
    Capable, Recorded, SchemaSupport, TestServer, ToolSupport, answer, is_probe_tool_request,
    role_of, status, well_behaved,
};
use crate::common::{REQUEST, Sandbox, artifacts, events, of_kind, repository, stderr, stdout};

const TIMEOUTS: &str = "[retries]\nmax = 1\nbase_ms = 50\ncap_s = 1\n[timeouts]\nconnect = 2\nfirst_byte = 5\nidle = 5\n";

fn sandbox(config: &str) -> Sandbox {
    let sandbox = Sandbox::new();
    sandbox.config(&format!("{config}\n{TIMEOUTS}"));
    sandbox
}

fn start(server: Capable) -> TestServer {
    TestServer::start(move |_, request| server.reply(request))
}

/// `handoff` with the probe on (the test helpers turn it off).
fn probing(sandbox: &Sandbox, server: &TestServer, args: &[&str]) -> std::process::Output {
    sandbox
        .command()
        .env("HANDOFF_PROBE", "on")
        .args(args)
        .args(["--base-url", &server.base_url, "--model", "test-model"])
        .output()
        .expect("run handoff")
}

fn doctor(sandbox: &Sandbox, server: &TestServer, more: &[&str]) -> String {
    let mut args = vec!["doctor"];
    args.extend_from_slice(more);
    let out = probing(sandbox, server, &args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    stdout(&out)
}

fn chats(server: &TestServer) -> Vec<Recorded> {
    server
        .recorded()
        .into_iter()
        .filter(|r| r.path == "/v1/chat/completions")
        .collect()
}

fn probe_requests(server: &TestServer) -> usize {
    chats(server)
        .iter()
        .filter(|r| is_probe_tool_request(r))
        .count()
}

/// A headless session through every gate, probing first.
fn session(sandbox: &Sandbox, server: &TestServer, more: &[&str]) -> Vec<Value> {
    let mut args = vec!["run", "--headless", "--approve", "all"];
    args.extend_from_slice(more);
    args.push(REQUEST);
    let out = probing(sandbox, server, &args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    events(&sandbox.log())
}

#[test]
fn doctor_prints_what_the_probe_finds_and_caches_it_per_server_and_model() {
    let mut capable = Capable::new(SchemaSupport::Honours, ToolSupport::Calls);
    capable.models = Some(json!({"object": "list", "data": [
        {"id": "other", "max_model_len": 1024},
        {"id": "test-model", "object": "model", "max_model_len": 32768},
    ]}));
    let server = start(capable);
    let sandbox = sandbox("");
    let out = doctor(&sandbox, &server, &[]);
    for line in [
        "streaming       ✓",
        "usage           ✓",
        "tool calls      ✓ a request with one tool came back with a tool call",
        "json_schema     ✓ honoured",
        "json_object     ✓ honoured",
        "context         32768 tokens (from /v1/models max_model_len)",
        "first token     ",
    ] {
        assert!(out.contains(line), "{line}: {out}");
    }
    let cache = sandbox.dir.path().join(".cache/handoff");
    let files: Vec<_> = std::fs::read_dir(&cache)
        .expect("the cache folder")
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let cached: Value =
        serde_json::from_str(&std::fs::read_to_string(&files[0]).expect("read")).expect("json");
    assert_eq!(cached["model"], "test-model");
    assert_eq!(cached["base_url"], server.base_url.as_str());
    assert_eq!(cached["tools"], "calls");
    assert_eq!(cached["context_tokens"], 32768);
    assert!(out.contains(&files[0].display().to_string()), "{out}");
    assert_eq!(probe_requests(&server), 1);

    // Read from the cache the second time; probed again when asked.
    let again = doctor(&sandbox, &server, &[]);
    assert!(again.contains("json_schema     ✓ honoured"), "{again}");
    assert_eq!(probe_requests(&server), 1, "the cache answered");
    doctor(&sandbox, &server, &["--probe"]);
    assert_eq!(probe_requests(&server), 2, "--probe probes again");

    // A broken cache is probed again, not fatal.
    std::fs::write(&files[0], "{ half a file").expect("break it");
    let repaired = doctor(&sandbox, &server, &[]);
    assert!(repaired.contains("tool calls      ✓"), "{repaired}");
    assert_eq!(probe_requests(&server), 3);
    let cached = std::fs::read_to_string(&files[0]).expect("read");
    assert!(
        serde_json::from_str::<Value>(&cached).is_ok(),
        "rewritten whole"
    );
}

#[test]
fn a_server_that_rejects_json_schema_gets_json_object_from_the_first_request() {
    let server = start(Capable::new(
        SchemaSupport::RejectsSchema,
        ToolSupport::Calls,
    ));
    let sandbox = sandbox("");
    let out = doctor(&sandbox, &server, &[]);
    assert!(
        out.contains("json_schema     ✗ refused (the server answered it with an error)"),
        "{out}"
    );
    assert!(out.contains("json_object     ✓ honoured"), "{out}");
    let before = chats(&server).len();
    let events = session(&sandbox, &server, &[]);
    let asked: Vec<Value> = chats(&server)[before..]
        .iter()
        .map(|r| r.body["response_format"]["type"].clone())
        .filter(|t| !t.is_null())
        .collect();
    assert!(!asked.is_empty(), "plans and verdicts ask for a format");
    assert!(
        asked.iter().all(|t| t == "json_object"),
        "no json_schema was sent after the probe: {asked:?}"
    );
    assert!(
        of_kind(&events, "retry").is_empty(),
        "nothing had to step down"
    );
    assert!(of_kind(&events, "invalid").is_empty());
}

#[test]
fn a_phase_with_a_model_of_its_own_is_probed_and_asked_as_that_model_can_answer() {
    let mut capable = Capable::new(SchemaSupport::Honours, ToolSupport::Calls);
    capable.weak_model = Some("small-planner");
    let server = start(capable);
    let sandbox = sandbox("");
    let repo = repository(sandbox.dir.path());
    // The architect runs on a model of its own, which the server will
    // not constrain to a schema nor give tools; the session's model it
    // will.
    let skills = crate::common::BUILTIN_SKILLS.replacen(
        "id = \"plan\"\n",
        "id = \"plan\"\nmodel = \"small-planner\"\n",
        1,
    );
    assert_ne!(skills, crate::common::BUILTIN_SKILLS);
    let file = sandbox.dir.path().join("skills.toml");
    std::fs::write(&file, skills).expect("skills");
    let events = session(
        &sandbox,
        &server,
        &[
            "--skills",
            file.to_str().expect("path"),
            "--workspace",
            repo.to_str().expect("path"),
        ],
    );
    let asked = |model: &str| -> Vec<Value> {
        chats(&server)
            .iter()
            // The session's requests, not the probe's: a role's prompt first.
            .filter(|r| r.body["model"] == model && r.body["messages"][0]["role"] == "system")
            .filter(|r| !is_probe_tool_request(r))
            .map(|r| r.body["response_format"]["type"].clone())
            .filter(|t| !t.is_null())
            .collect()
    };
    let cache = sandbox.dir.path().join(".cache/handoff");
    assert_eq!(
        std::fs::read_dir(&cache).expect("cache").count(),
        2,
        "each model probed and cached"
    );
    let planner = asked("small-planner");
    assert!(planner.contains(&json!("json_object")), "{planner:?}");
    let session_model = asked("test-model");
    assert!(
        session_model.contains(&json!("json_schema")),
        "the session's model keeps json_schema: {session_model:?}"
    );
    assert!(
        of_kind(&events, "retry").is_empty(),
        "no request had to step down: {:?}",
        of_kind(&events, "retry")
    );
    // Tools: none offered to the architect's model, and its prompt says
    // so; the developer's (the session's model) has them.
    let role_requests = |role: &str| -> Vec<Recorded> {
        chats(&server)
            .into_iter()
            .filter(|r| role_of(r) == role)
            .collect()
    };
    let architect = role_requests("Solution Architect");
    assert!(!architect.is_empty());
    assert!(
        architect.iter().all(|r| r.body.get("tools").is_none()),
        "the architect goes without"
    );
    assert!(
        architect[0].body.to_string().contains("cannot call tools"),
        "and is told so"
    );
    assert!(
        role_requests("Senior Backend Developer")
            .iter()
            .any(|r| r.body.get("tools").is_some()),
        "the developer keeps its tools"
    );
}

#[test]
fn a_server_that_rejects_json_schema_beside_tools_gets_json_object_there_only() {
    let server = start(Capable::new(
        SchemaSupport::RejectsSchemaWithTools,
        ToolSupport::Calls,
    ));
    let sandbox = sandbox("");
    let out = doctor(&sandbox, &server, &[]);
    assert!(out.contains("json_schema     ✓ honoured"), "{out}");
    assert!(out.contains("  with tools    ✗ refused"), "{out}");
    let before = chats(&server).len();
    let repo = repository(sandbox.dir.path());
    let events = session(
        &sandbox,
        &server,
        &["--workspace", repo.to_str().expect("path")],
    );
    let asked: Vec<(bool, Value)> = chats(&server)[before..]
        .iter()
        .filter(|r| !r.body["response_format"].is_null())
        .map(|r| {
            (
                r.body.get("tools").is_some(),
                r.body["response_format"]["type"].clone(),
            )
        })
        .collect();
    assert!(asked.iter().any(|(tools, _)| *tools), "{asked:?}");
    for (tools, format) in &asked {
        let expected = if *tools { "json_object" } else { "json_schema" };
        assert_eq!(format, expected, "{asked:?}");
    }
    assert!(of_kind(&events, "retry").is_empty(), "nothing stepped down");
}

#[test]
fn once_probed_a_400_to_a_structured_request_is_its_own_error_not_a_step_down() {
    let capable = Capable::new(SchemaSupport::Honours, ToolSupport::Calls);
    let server = TestServer::start(move |_, request| {
        if role_of(request) == "Solution Architect" {
            return status(
                400,
                &[],
                r#"{"error":{"message":"temperature must be at most 1"}}"#,
            );
        }
        capable.reply(request)
    });
    let sandbox = sandbox("");
    let out = probing(
        &sandbox,
        &server,
        &["run", "--headless", "--approve", "all", REQUEST],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let events = events(&sandbox.log());
    let failed = of_kind(&events, "phase_failed");
    assert_eq!(failed[0]["phase"], "plan");
    let error = failed[0]["error"].as_str().unwrap_or_default();
    assert!(error.contains("temperature must be at most 1"), "{error}");
    assert!(of_kind(&events, "retry").is_empty(), "no step down");
    let architect: Vec<Value> = chats(&server)
        .iter()
        .filter(|r| role_of(r) == "Solution Architect")
        .map(|r| r.body["response_format"]["type"].clone())
        .collect();
    assert_eq!(architect, [json!("json_schema")]);
}

#[test]
fn a_server_that_ignores_the_schema_is_reported_and_still_read() {
    let server = start(Capable::new(SchemaSupport::Ignores, ToolSupport::Calls));
    let sandbox = sandbox("");
    let out = doctor(&sandbox, &server, &[]);
    assert!(
        out.contains("json_schema     ignored accepted but ignored"),
        "{out}"
    );
    assert!(out.contains("json_object     ignored"), "{out}");
    let events = session(&sandbox, &server, &[]);
    assert!(of_kind(&events, "invalid").is_empty());
    assert_eq!(
        of_kind(&events, "session_finished")[0]["outcome"],
        "completed"
    );
}

#[test]
fn the_context_length_a_server_reports_cuts_the_inputs() {
    let long = format!(
        "# Requirements\n\n{}\n",
        "The limiter must hold. ".repeat(200)
    );
    let mut capable = Capable::new(SchemaSupport::Honours, ToolSupport::Calls);
    capable.props = Some(json!({"default_generation_settings": {"n_ctx": 4200}, "total_slots": 1}));
    let server = TestServer::start(move |_, request| {
        if role_of(request) == "Business Analyst" {
            return answer(&long, 20, 900);
        }
        capable.reply(request)
    });
    let sandbox = sandbox("");
    let out = doctor(&sandbox, &server, &[]);
    assert!(
        out.contains("context         4200 tokens (from /props n_ctx)"),
        "{out}"
    );
    session(&sandbox, &server, &[]);
    let architect = chats(&server)
        .into_iter()
        .find(|r| role_of(r) == "Solution Architect")
        .expect("the architect was asked");
    assert!(
        architect.body.to_string().contains("cut here by handoff"),
        "4200 tokens leave 416 characters for the inputs"
    );

    // Ollama says it in /api/show: the num_ctx it runs with first.
    let mut ollama = Capable::new(SchemaSupport::Honours, ToolSupport::Calls);
    ollama.show = Some(json!({
        "parameters": "stop \"<|im_end|>\"\nnum_ctx 8192",
        "model_info": {"general.architecture": "qwen2", "qwen2.context_length": 32768},
    }));
    let out = doctor(&self::sandbox(""), &start(ollama), &[]);
    assert!(
        out.contains("context         8192 tokens (from /api/show num_ctx)"),
        "{out}"
    );

    // context_tokens in config.toml wins over what the server reports.
    let sandbox = self::sandbox("context_tokens = 100000");
    session(&sandbox, &server, &[]);
    let architect = chats(&server)
        .into_iter()
        .rfind(|r| role_of(r) == "Solution Architect")
        .expect("asked again");
    assert!(!architect.body.to_string().contains("cut here by handoff"));
}

#[test]
fn a_server_that_ignores_tools_leaves_the_roles_without_and_says_so() {
    let server = start(Capable::new(SchemaSupport::Honours, ToolSupport::Ignores));
    let sandbox = sandbox("");
    let out = doctor(&sandbox, &server, &[]);
    assert!(out.contains("tool calls      ✗ ignored"), "{out}");
    let repo = repository(sandbox.dir.path());
    let before = chats(&server).len();
    let workspace = repo.to_str().expect("path");
    let run = probing(
        &sandbox,
        &server,
        &[
            "run",
            "--headless",
            "--approve",
            "all",
            "--workspace",
            workspace,
            REQUEST,
        ],
    );
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    assert!(stderr(&run).contains("(no tools)"), "{}", stderr(&run));
    let sent = &chats(&server)[before..];
    assert!(sent.len() >= 6);
    for request in sent {
        assert!(request.body.get("tools").is_none(), "{}", role_of(request));
        // A specialist's consult is offered no tools, and told nothing of them.
        if role_of(request).ends_with(" specialist") {
            continue;
        }
        let asked = request.body["messages"].to_string();
        assert!(asked.contains("so you have none"), "{}", role_of(request));
    }
}

#[test]
fn tool_calls_written_as_text_go_through_the_policy_and_never_reach_the_artifact() {
    let capable = Capable::new(SchemaSupport::Honours, ToolSupport::Text);
    let server = TestServer::start(move |_, request| {
        let role = role_of(request);
        let answered = request.body["messages"].as_array().is_some_and(|m| {
            m.iter().any(|m| {
                m["content"]
                    .as_str()
                    .is_some_and(|c| c.starts_with("<tool_response>"))
            })
        });
        if role == "Senior Backend Developer" && !answered {
            return answer(
                "I will write it.\n<tool_call>{\"name\": \"write_file\", \"arguments\": {\"path\": \"limiter.go\", \"content\": \"package orders\\n\"}}</tool_call>\n<tool_call>{\"name\": \"run_command\", \"arguments\": {\"command\": \"rm -rf /tmp/x\"}}</tool_call>",
                50,
                40,
            );
        }
        if role == "Senior Backend Developer" {
            return answer(&well_behaved(&role), 50, 20);
        }
        capable.reply(request)
    });
    let sandbox = sandbox("[models.\"test-model\"]\ntool_calls_in_text = true\n");
    let out = doctor(&sandbox, &server, &[]);
    assert!(out.contains("wrote the call as text"), "{out}");
    let repo = repository(sandbox.dir.path());
    let events = session(
        &sandbox,
        &server,
        &["--workspace", repo.to_str().expect("path")],
    );
    let calls = of_kind(&events, "tool_call");
    let names: Vec<&str> = calls.iter().filter_map(|c| c["tool"].as_str()).collect();
    assert!(names.contains(&"write_file"), "{names:?}");
    assert!(
        std::fs::read_to_string(repo.join("limiter.go")).is_ok_and(|t| t == "package orders\n")
            || crate::common::git(&repo, &["show", "HEAD:limiter.go"]) == "package orders",
        "the file was written"
    );
    let refused = of_kind(&events, "permission");
    assert!(
        refused
            .iter()
            .any(|p| p["decision"] == "deny" && p["by"] == "policy"),
        "the command asked, and headless that is a refusal: {refused:?}"
    );
    for event in of_kind(&events, "output")
        .iter()
        .chain(of_kind(&events, "task_output").iter())
    {
        let text = event["text"].as_str().unwrap_or_default();
        assert!(!text.contains("<tool_call>"), "{text}");
    }
    for artifact in artifacts(&events, "implement") {
        assert!(!artifact.contains("tool_call"), "{artifact}");
    }
    let developer: Vec<Recorded> = chats(&server)
        .into_iter()
        .filter(|r| role_of(r) == "Senior Backend Developer")
        .collect();
    assert!(developer.iter().all(|r| r.body.get("tools").is_none()));
    assert!(developer[0].system().contains("<tool_call>"));
    assert!(
        developer.iter().any(
            |r| r.body["messages"]
                .as_array()
                .is_some_and(|m| m.iter().any(|m| m["role"] == "user"
                    && m["content"]
                        .as_str()
                        .is_some_and(|c| c.starts_with("<tool_response>"))))
        ),
        "the results went back as text"
    );
}

#[test]
fn the_status_bar_and_the_cards_show_what_the_probe_found() {
    use crate::common::pty::{self, Term};
    let server = start(Capable::new(SchemaSupport::Honours, ToolSupport::Ignores));
    let sandbox = sandbox("");
    let repo = repository(sandbox.dir.path());
    let args = [
        "run",
        "--base-url",
        &server.base_url,
        "--model",
        "test-model",
        "--workspace",
        repo.to_str().expect("path"),
        REQUEST,
    ];
    let mut cmd = pty::handoff(sandbox.dir.path(), &args);
    cmd.env("HANDOFF_PROBE", "on");
    let mut screen = Term::spawn(cmd, 200, 40);
    // The first gate; the bar under the board says the notice first.
    screen.wait_for("awaiting you");
    let board = screen.contents();
    assert!(
        board.contains("roles are offered none and answer in text"),
        "the notice:\n{board}"
    );
    assert!(
        board.contains("│ schema ✓ · no tools · 0."),
        "the status bar:\n{board}"
    );
    assert!(
        board.contains("no tools: the server ignores"),
        "the cards:\n{board}"
    );
    screen.press("q");
    screen.wait_for("Quit now?");
    screen.press("y");
    assert_eq!(screen.exit_code(), 3);
    // No view was up yet: the probe said so on stderr, before the board.
    screen.pump();
    assert!(
        screen.contents().contains("probing what"),
        "{}",
        screen.contents()
    );
}

/// From the start screen, the terminal is held when the probe runs: it
/// says what it waits for in a frame of its own, never over the screen.
#[test]
fn from_the_start_screen_the_probe_shows_a_waiting_frame() {
    use crate::common::pty::{self, Term};
    let server = start(Capable::new(SchemaSupport::Honours, ToolSupport::Calls));
    let sandbox = sandbox("");
    let args = [
        "run",
        "--base-url",
        &server.base_url,
        "--model",
        "test-model",
    ];
    let mut cmd = pty::handoff(sandbox.dir.path(), &args);
    cmd.env("HANDOFF_PROBE", "on");
    let mut screen = Term::spawn(cmd, 120, 30);
    screen.wait_for("What should the team build?");
    screen.press(REQUEST);
    screen.press("\r");
    screen.wait_for("awaiting you");
    assert!(screen.wrote("probing what"), "the waiting frame was drawn");
    assert_eq!(screen.alternate_screen(), (1, 0), "one terminal throughout");
    screen.press("q");
    screen.wait_for("Quit now?");
    screen.press("y");
    assert_eq!(screen.exit_code(), 3);
}
