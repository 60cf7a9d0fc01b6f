//! Utility roles a person summons at a gate (seed 000's utility skills):
//! a decisions file summons the debugger at the implement gate, its report
//! is recorded and handed to QA's request (and only QA's); the offline
//! stand-in's report reaches a Markdown role, also after a return;
//! mistakes in skills.toml and in the decisions file are placed.

use crate::common;

use common::server::{TestServer, answer, role_of, well_behaved};
use common::{Sandbox, artifacts, of_kind, stderr, stdout};

const REQUEST: &str = "Add rate limiting to the orders API";

const REPORT: &str =
    "## debug-report\n- The limiter's counter is not atomic\n## known-issues\n- high: lost updates";

fn is_debugger(request: &common::server::Recorded) -> bool {
    request
        .system()
        .starts_with("You are the Debugger, a utility role")
}

#[test]
fn the_debugger_summoned_at_the_implement_gate_is_handed_to_qa() {
    let server = TestServer::start(|_, request| {
        if is_debugger(request) {
            answer(REPORT, 40, 20)
        } else if request.system().contains(" specialist on a software team") {
            answer("- Keep it simple", 10, 5)
        } else {
            answer(&well_behaved(&role_of(request)), 100, 10)
        }
    });
    let sandbox = Sandbox::new();
    sandbox.config("[retries]\nmax = 1\nbase_ms = 20\ncap_s = 1\n");
    let decisions = sandbox.dir.path().join("decisions.toml");
    std::fs::write(
        &decisions,
        "[implement]\nsummon = [\"debugger\"]\naction = \"approve\"\n",
    )
    .expect("write");
    let output = sandbox
        .command()
        .env("OPENAI_API_KEY", "sk-test-key-for-utilities")
        .args([
            "run",
            "--headless",
            "--approve",
            "all",
            "--decisions",
            decisions.to_str().expect("path"),
            "--base-url",
            &server.base_url,
            "--model",
            "test-model",
            REQUEST,
        ])
        .output()
        .expect("run handoff");
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{out}{}", stderr(&output));
    assert!(
        out.contains("implement  ⚒ debugger: debug-report, known-issues → validate"),
        "{out}"
    );
    let requests = server.recorded();
    let debugger = requests
        .iter()
        .position(is_debugger)
        .expect("the debugger was asked");
    let asked = &requests[debugger];
    let user = asked.body["messages"][1]["content"].as_str().expect("user");
    assert!(user.contains(REQUEST), "{user}");
    assert!(
        user.contains("Senior Backend Developer artifact"),
        "the gate's artifact: {user}"
    );
    assert!(asked.body.get("tools").is_none(), "no workspace, no tools");
    // QA's request carries the report; the Test Engineer's and DevOps' do not.
    let handed = "## debug-report and known-issues from the Debugger (summoned at the `implement` checkpoint)";
    let user_of = |role: &str| {
        requests
            .iter()
            .filter(|r| role_of(r) == role)
            .map(|r| {
                r.body["messages"][1]["content"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect::<Vec<_>>()
    };
    let qa = user_of("QA Engineer");
    assert!(!qa.is_empty());
    assert!(
        qa.iter()
            .all(|u| u.contains(handed) && u.contains("lost updates")),
        "{qa:?}"
    );
    for other in ["Test Engineer", "DevOps Engineer"] {
        assert!(
            user_of(other).iter().all(|u| !u.contains(handed)),
            "{other}"
        );
    }
    // Recorded before the decision that left the gate, its tokens counted.
    let events = sandbox.events();
    let utility = of_kind(&events, "utility");
    assert_eq!(utility.len(), 1);
    assert_eq!(utility[0]["phase"], "implement");
    assert_eq!(utility[0]["hands_to"][0], "validate");
    assert!(
        utility[0]["text"]
            .as_str()
            .expect("text")
            .contains("not atomic")
    );
    let decision = of_kind(&events, "decision")
        .into_iter()
        .find(|e| e["phase"] == "implement")
        .expect("decided");
    assert!(utility[0]["seq"].as_u64() < decision["seq"].as_u64());
    assert!(
        of_kind(&events, "usage")
            .iter()
            .any(|e| e["phase"] == "implement" && e["prompt_tokens"] == 40)
    );
}

#[test]
fn offline_a_utility_report_reaches_its_roles_also_after_a_return() {
    let sandbox = Sandbox::new();
    let output = sandbox.run_deciding(
        "[implement]\nsummon = [\"refactor-architect\"]\naction = \"approve\"\n\n\
         [validate]\naction = \"return\"\nto = \"implement\"\nfeedback = \"Paginate\"\n",
        REQUEST,
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let events = sandbox.events();
    let utility = of_kind(&events, "utility");
    assert_eq!(utility.len(), 1);
    let text = utility[0]["text"].as_str().expect("text");
    assert!(text.starts_with("## refactoring-overview\n"), "{text}");
    assert!(text.contains("orders"), "about the request: {text}");
    // The developer's attempt after the return, and the delivery, read it.
    let read = "## Utility reports read\n- refactoring-overview from the Refactor architect: 1. Move the orders logic";
    let developer = artifacts(&events, "implement");
    assert_eq!(developer.len(), 2, "{developer:?}");
    assert!(developer[1].contains(read), "{}", developer[1]);
    let delivery = artifacts(&events, "commit");
    assert!(delivery[0].contains(read), "{}", delivery[0]);
    // Written out by `export`, and shown by `show`: the fold keeps it on
    // the implement phase.
    let dir = sandbox.dir.path().join("export");
    let exported = sandbox.run(&[
        "export",
        sandbox.log().to_str().expect("path"),
        "--out",
        dir.to_str().expect("path"),
    ]);
    assert_eq!(exported.status.code(), Some(0), "{}", stderr(&exported));
    let written = std::fs::read_dir(dir.join("utilities"))
        .expect("a utilities folder")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect::<Vec<_>>();
    assert_eq!(written.len(), 1);
    assert!(
        written[0].starts_with("03-implement-refactor-architect-event-"),
        "{written:?}"
    );
    let shown = sandbox.run(&["show", sandbox.log().to_str().expect("path"), "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&shown.stdout).expect("json");
    assert_eq!(
        json["phases"][2]["utilities"][0]["utility"],
        "refactor-architect"
    );
}

#[test]
fn an_unknown_utility_in_a_decisions_file_is_placed() {
    let sandbox = Sandbox::new();
    let output = sandbox.run_deciding(
        "[implement]\naction = \"approve\"\nsummon = [\"debuger\"]\n",
        REQUEST,
    );
    assert_eq!(output.status.code(), Some(2), "{}", stdout(&output));
    let said = stderr(&output);
    assert!(
        said.contains("decisions.toml:3:11: no utility `debuger` to summon (the pipeline has: debugger, doc-janitor, mcp-expert, project-bro, refactor-architect)"),
        "{said}"
    );
}

#[test]
fn check_names_the_file_and_line_of_an_unknown_phase_in_hands_to() {
    let sandbox = Sandbox::new();
    let file = sandbox.dir.path().join("skills.toml");
    std::fs::write(&file, common::BUILTIN_SKILLS).expect("write");
    let ok = sandbox.run(&["check", "--skills", file.to_str().expect("path")]);
    assert_eq!(ok.status.code(), Some(0), "{}{}", stdout(&ok), stderr(&ok));
    let wrong =
        common::BUILTIN_SKILLS.replacen("hands_to = [\"validate\"]", "hands_to = [\"qa\"]", 1);
    let line = wrong
        .lines()
        .position(|l| l == "hands_to = [\"qa\"]")
        .expect("replaced")
        + 1;
    std::fs::write(&file, &wrong).expect("write");
    let refused = sandbox.run(&["check", "--skills", file.to_str().expect("path")]);
    assert_eq!(refused.status.code(), Some(2));
    let said = stderr(&refused) + &stdout(&refused);
    assert!(
        said.contains(&format!(
            "skills.toml:{line}:13: unknown phase `qa` in utility `debugger`'s `hands_to` (phases: summarize, plan, implement, test, validate, commit)"
        )),
        "{said}"
    );
    let writer = common::BUILTIN_SKILLS.replacen(
        "tools = [\"read_file\", \"list_dir\", \"search\"]\nhands_to = [\"validate\"]",
        "tools = [\"read_file\", \"write_file\"]\nhands_to = [\"validate\"]",
        1,
    );
    std::fs::write(&file, &writer).expect("write");
    let refused = sandbox.run(&["check", "--skills", file.to_str().expect("path")]);
    assert_eq!(refused.status.code(), Some(2));
    let said = stderr(&refused) + &stdout(&refused);
    assert!(
        said.contains("utility `debugger` may only read: `write_file` is not a read-only tool"),
        "{said}"
    );
}

/// In a workspace the summoned utility may look around with its read-only
/// tools (the offline stand-in lists the folder first); its calls are on
/// the event.
#[test]
fn in_a_workspace_a_utility_reads_with_its_own_tools() {
    let sandbox = Sandbox::new();
    let repo = common::repository(sandbox.dir.path());
    let output = sandbox.run_deciding_with(
        "[implement]\nsummon = [\"debugger\"]\naction = \"approve\"\n",
        &["--workspace", repo.to_str().expect("path")],
        REQUEST,
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let events = sandbox.events();
    let utility = of_kind(&events, "utility");
    assert_eq!(utility.len(), 1);
    let reads: Vec<&str> = utility[0]["reads"]
        .as_array()
        .expect("reads")
        .iter()
        .filter_map(serde_json::Value::as_str)
        .collect();
    assert_eq!(reads.len(), 1, "{reads:?}");
    assert!(reads[0].starts_with("list_dir . ✓"), "{reads:?}");
    assert!(
        utility[0]["text"]
            .as_str()
            .expect("text")
            .contains("### Steps to reproduce")
    );
    // Its calls are its own: no tool_call event on the phase for them.
    assert!(
        of_kind(&events, "tool_call")
            .iter()
            .all(|e| e["call_id"] != "utility-look")
    );
}

/// A fork made after a utility answered carries its report: the fork's
/// later phases are handed it as the original's were.
#[test]
fn a_fork_after_the_summons_hands_the_report_on() {
    let sandbox = Sandbox::new();
    let output = sandbox.run_deciding(
        "[implement]\nsummon = [\"refactor-architect\"]\naction = \"approve\"\n",
        REQUEST,
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let original = sandbox.log();
    let fork = sandbox.run(&[
        "fork",
        original.to_str().expect("path"),
        "--at",
        "test",
        "--headless",
        "--approve",
        "all",
    ]);
    assert_eq!(fork.status.code(), Some(0), "{}", stderr(&fork));
    let forked = sandbox
        .logs()
        .into_iter()
        .find(|l| *l != original)
        .expect("the fork's log");
    let events = common::events(&forked);
    assert_eq!(
        of_kind(&events, "utility").len(),
        1,
        "copied with the history"
    );
    let delivery = artifacts(&events, "commit");
    assert!(
        delivery
            .iter()
            .all(|d| d.contains("## Utility reports read\n- refactoring-overview")),
        "{delivery:?}"
    );
}

#[test]
fn a_utility_still_working_when_handoff_stopped_is_asked_again_on_resume() {
    let sandbox = Sandbox::new();
    let output = sandbox.run_deciding(
        "[implement]\nsummon = [\"debugger\"]\naction = \"approve\"\n",
        REQUEST,
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    // Cut the log right after the summons, as a crash while the debugger
    // worked would leave it: the gate open, the summons on disk, no answer.
    let log = sandbox.log();
    let text = std::fs::read_to_string(&log).expect("log");
    let lines: Vec<&str> = text.lines().collect();
    let summoned = lines
        .iter()
        .position(|l| l.contains("\"kind\":\"summoned\""))
        .expect("the summons is recorded");
    let gate = serde_json::from_str::<serde_json::Value>(lines[summoned]).expect("json")["gate"]
        .as_u64()
        .expect("its gate");
    std::fs::write(&log, lines[..=summoned].join("\n") + "\n").expect("cut");

    let resumed = sandbox.run(&[
        "resume",
        log.to_str().expect("path"),
        "--headless",
        "--approve",
        "all",
    ]);
    assert_eq!(resumed.status.code(), Some(0), "{}", stderr(&resumed));
    let events = sandbox.events();
    // Asked again on resume: its summons was on record already.
    let summons = of_kind(&events, "summoned");
    assert_eq!(summons.len(), 1, "{summons:?}");
    let answered = of_kind(&events, "utility");
    assert_eq!(answered.len(), 1, "{answered:?}");
    assert_eq!(answered[0]["gate"], gate);
    assert!(answered[0]["error"].is_null(), "{:?}", answered[0]);
    // And it was in before the gate was left, so QA was handed it.
    let qa = artifacts(&events, "validate");
    assert!(!qa.is_empty());
    let utility_seq = answered[0]["seq"].as_u64().expect("seq");
    let approved = events
        .iter()
        .find(|e| e["kind"] == "decision" && e["phase"] == "implement")
        .and_then(|e| e["seq"].as_u64())
        .expect("the implement gate was decided");
    assert!(utility_seq < approved, "answered before the gate was left");
    assert!(
        stdout(&resumed).contains("⚒ debugger: debug-report"),
        "{}",
        stdout(&resumed)
    );
}

#[test]
fn a_utility_already_working_at_the_gate_is_not_summoned_twice() {
    // The debugger takes its time, so the second summons comes while the
    // first call still works.
    let server = TestServer::start(|_, request| {
        if is_debugger(request) {
            let common::server::Reply::Sse(mut pieces) = answer(REPORT, 40, 20) else {
                unreachable!("an answer streams")
            };
            pieces.insert(
                0,
                common::server::Piece::Pause(std::time::Duration::from_millis(600)),
            );
            common::server::Reply::Sse(pieces)
        } else {
            answer(&well_behaved(&role_of(request)), 100, 10)
        }
    });
    let sandbox = Sandbox::new();
    let decisions = sandbox.dir.path().join("decisions.toml");
    std::fs::write(
        &decisions,
        "[implement]\nsummon = [\"debugger\", \"debugger\"]\naction = \"approve\"\n",
    )
    .expect("write");
    let output = sandbox
        .command()
        .env("OPENAI_API_KEY", "sk-test-key-for-utilities")
        .args(["run", "--headless", "--approve", "all", "--decisions"])
        .arg(&decisions)
        .args([
            "--base-url",
            &server.base_url,
            "--model",
            "test-model",
            REQUEST,
        ])
        .output()
        .expect("run handoff");
    // Refused, and a headless run stops on a refused command.
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("Debugger is already working at this checkpoint"),
        "{}",
        stderr(&output)
    );
    let events = sandbox.events();
    assert_eq!(
        of_kind(&events, "summoned").len(),
        1,
        "one call, one record"
    );
    let debugger_calls = server.recorded().iter().filter(|r| is_debugger(r)).count();
    assert!(debugger_calls <= 1, "the model was asked once at most");
}
