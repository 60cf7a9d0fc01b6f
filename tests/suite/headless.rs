//! Headless runs of the real binary: the log contract, `show`, exit codes,
//! decisions files, failures, `check` and replay.

use crate::common;

use std::fmt::Write as _;
use std::os::unix::fs::PermissionsExt;

use common::{REQUEST, Sandbox, events, of_kind, stderr, stdout};
use pretty_assertions::assert_eq;
use serde_json::Value;

const PHASES: [&str; 6] = [
    "summarize",
    "plan",
    "implement",
    "test",
    "validate",
    "commit",
];

fn is_rfc3339_millis_utc(t: &str) -> bool {
    // 2026-11-20T10:00:00.123Z
    t.len() == 24
        && t.ends_with('Z')
        && t.as_bytes()[10] == b'T'
        && t.as_bytes()[19] == b'.'
        && chrono::DateTime::parse_from_rfc3339(t).is_ok()
}

#[test]
fn a_headless_run_finishes_six_approved_phases_and_the_log_meets_the_contract() {
    let sandbox = Sandbox::new();
    let output = sandbox.run(&["run", "--headless", "--approve", "all", REQUEST]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(stdout(&output).contains("session finished: completed"));

    let log = sandbox.log();
    let mode =
        |p: &std::path::Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
    assert_eq!(mode(&log), 0o600);
    assert_eq!(mode(&sandbox.sessions()), 0o700);

    let events = events(&log);
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e["seq"], i, "seq grows by one from 0");
        assert!(
            is_rfc3339_millis_utc(e["t"].as_str().expect("t")),
            "{}",
            e["t"]
        );
    }
    let first = &events[0];
    assert_eq!(first["kind"], "session_started");
    assert_eq!(first["request"], REQUEST);
    assert_eq!(first["provider"], "offline");
    assert!(first["model"].is_string());
    assert_eq!(
        first["pipeline"]["phases"].as_array().map(Vec::len),
        Some(6)
    );

    let started: Vec<_> = of_kind(&events, "phase_started")
        .iter()
        .map(|e| e["phase"].clone())
        .collect();
    assert_eq!(started, PHASES.map(Value::from));
    for e in of_kind(&events, "phase_started") {
        assert_eq!(e["attempt"], 1);
    }
    let artifacts = of_kind(&events, "artifact");
    let names: Vec<_> = artifacts
        .iter()
        .map(|e| e["name"].as_str().expect("name"))
        .collect();
    assert_eq!(
        names,
        [
            "requirements",
            "plan",
            "implementation",
            "test-report",
            "verdict",
            "delivery"
        ]
    );
    assert!(
        artifacts
            .iter()
            .all(|a| a["content"].as_str().is_some_and(|c| c.len() > 200))
    );
    let gates = of_kind(&events, "gate_opened");
    assert_eq!(gates[0]["question"], "Ready to assign Solution Architect?");
    assert_eq!(gates[5]["question"], "Ready to finish the session?");
    let decisions = of_kind(&events, "decision");
    assert_eq!(decisions.len(), 6);
    for (d, phase) in decisions.iter().zip(PHASES) {
        assert_eq!(d["phase"], phase);
        assert_eq!(d["action"], "approve");
        assert_eq!(d["by"], "policy");
    }
    assert!(of_kind(&events, "output").len() >= 6);
    // One `usage` per call to the model: five phases, the developer's
    // four tasks with their four critiques, and each specialist consulted.
    let consults = of_kind(&events, "advice").len();
    assert!(consults > 0, "the request engages specialists");
    assert_eq!(of_kind(&events, "usage").len(), 5 + 8 + consults);
    let last = events.last().expect("events");
    assert_eq!(last["kind"], "session_finished");
    assert_eq!(last["outcome"], "completed");

    // `show --json` gives the folded state in the contract's shape.
    let id = first["id"].as_str().expect("id");
    let show = sandbox.run(&["show", &id[..15], "--json"]);
    assert_eq!(show.status.code(), Some(0), "{}", stderr(&show));
    let state: Value = serde_json::from_slice(&show.stdout).expect("show --json is JSON");
    assert_eq!(state["id"], id);
    assert_eq!(state["request"], REQUEST);
    assert_eq!(state["status"], "finished");
    let phases = state["phases"].as_array().expect("phases");
    assert_eq!(phases.len(), 6);
    for (p, artifact) in phases.iter().zip(&artifacts) {
        assert_eq!(p["status"], "approved");
        assert_eq!(p["attempts"], 1);
        assert_eq!(p["id"], artifact["phase"]);
        assert_eq!(p["artifact"], artifact["content"]);
        assert!(p["role"].is_string());
    }
    let usage: Vec<&Value> = of_kind(&events, "usage");
    let sum = |key: &str| {
        usage
            .iter()
            .map(|u| u[key].as_u64().expect("tokens"))
            .sum::<u64>()
    };
    assert_eq!(state["usage"]["prompt_tokens"], sum("prompt_tokens"));
    assert_eq!(
        state["usage"]["completion_tokens"],
        sum("completion_tokens")
    );

    // `show --artifact` prints the effective text exactly.
    let plan = sandbox.run(&["show", id, "--artifact", "plan"]);
    assert_eq!(
        stdout(&plan),
        artifacts[1]["content"].as_str().expect("content")
    );
}

#[test]
fn json_output_is_the_log_itself() {
    let sandbox = Sandbox::new();
    let output = sandbox.run(&["run", "--headless", "--approve", "all", "--json", REQUEST]);
    assert_eq!(output.status.code(), Some(0));
    let log = std::fs::read_to_string(sandbox.log()).expect("log");
    assert_eq!(stdout(&output), log);
}

#[test]
fn approve_none_stops_at_the_first_gate_with_exit_3() {
    let sandbox = Sandbox::new();
    let output = sandbox.run(&["run", "--headless", "--approve", "none", REQUEST]);
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    let events = events(&sandbox.log());
    assert_eq!(events.last().expect("events")["kind"], "gate_opened");
    assert!(of_kind(&events, "decision").is_empty());
    let show = sandbox.run(&["show", sandbox.log().to_str().expect("path"), "--json"]);
    let state: Value = serde_json::from_slice(&show.stdout).expect("json");
    assert_eq!(state["status"], "awaiting_gate");
    assert_eq!(state["phases"][0]["status"], "awaiting_gate");
    assert_eq!(state["phases"][1]["status"], "pending");
}

#[test]
fn a_decisions_file_rejects_with_feedback_and_the_retry_sees_it() {
    let sandbox = Sandbox::new();
    let decisions = sandbox.dir.path().join("decisions.toml");
    std::fs::write(
        &decisions,
        r#"
[[summarize]]
action = "reject"
feedback = "Say which clients are exempt"

[plan]
action = "approve_with_notes"
notes = "Keep Redis optional"
"#,
    )
    .expect("write decisions");
    let output = sandbox.run(&[
        "run",
        "--headless",
        "--approve",
        "all",
        "--decisions",
        decisions.to_str().expect("path"),
        REQUEST,
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let events = events(&sandbox.log());
    let summarize: Vec<_> = of_kind(&events, "artifact")
        .into_iter()
        .filter(|a| a["phase"] == "summarize")
        .collect();
    assert_eq!(summarize.len(), 2);
    assert_eq!(summarize[1]["attempt"], 2);
    let retry = summarize[1]["content"].as_str().expect("content");
    assert!(retry.contains("Say which clients are exempt"), "{retry}");
    let decisions = of_kind(&events, "decision");
    assert_eq!(decisions[0]["action"], "reject");
    assert_eq!(decisions[0]["feedback"], "Say which clients are exempt");
    assert_eq!(decisions[2]["action"], "approve_with_notes");
    // Notes travel to later roles.
    let implementation = of_kind(&events, "artifact")
        .into_iter()
        .find(|a| a["phase"] == "implement")
        .expect("implementation");
    assert!(
        implementation["content"]
            .as_str()
            .is_some_and(|c| c.contains("Keep Redis optional"))
    );
}

#[test]
fn a_failed_phase_opens_a_retry_gate_and_headless_exits_1() {
    let sandbox = Sandbox::new();
    let output = sandbox.run(&[
        "run",
        "--headless",
        "--approve",
        "all",
        "Add an audit log !fail:plan",
    ]);
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    let events = events(&sandbox.log());
    let failed = of_kind(&events, "phase_failed");
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["phase"], "plan");
    assert!(
        failed[0]["error"]
            .as_str()
            .is_some_and(|e| e.contains("simulated failure"))
    );
    let last = events.last().expect("events");
    assert_eq!(last["kind"], "gate_opened");
    assert_eq!(last["question"], "Solution Architect failed. Retry?");
    // Everything before the failure is kept.
    assert_eq!(of_kind(&events, "artifact").len(), 1);

    // A retry from a decisions file carries on to the end.
    let sandbox = Sandbox::new();
    let output = sandbox.run_deciding(
        "[plan]\naction = \"reject\"\n",
        "Add an audit log !fail:plan",
    );
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
}

#[test]
fn replay_headless_prints_what_the_run_printed() {
    let sandbox = Sandbox::new();
    let run = sandbox.run(&["run", "--headless", "--approve", "all", REQUEST]);
    let log = sandbox.log();
    let replay = sandbox.run(&[
        "replay",
        log.to_str().expect("path"),
        "--headless",
        "--speed",
        "max",
    ]);
    assert_eq!(replay.status.code(), Some(0), "{}", stderr(&replay));
    assert_eq!(stdout(&replay), stdout(&run));
}

#[test]
fn sessions_lists_runs_and_show_survives_a_torn_tail_and_unknown_kinds() {
    let sandbox = Sandbox::new();
    sandbox.run(&["run", "--headless", "--approve", "none", REQUEST]);
    let log = sandbox.log();
    let mut text = std::fs::read_to_string(&log).expect("log");
    let next = text.lines().count();
    write!(
        text,
        "{{\"seq\":{next},\"t\":\"2026-11-20T10:00:00.000Z\",\"kind\":\"telepathy\",\"x\":1}}\n{{\"seq\":{},\"t\":\"2026-11-20T10:00",
        next + 1
    )
    .expect("write to a string");
    std::fs::write(&log, text).expect("write");
    let show = sandbox.run(&["show", log.to_str().expect("path"), "--json"]);
    assert_eq!(show.status.code(), Some(0), "{}", stderr(&show));
    assert!(stderr(&show).contains(&format!(":{}: the last line was cut short", next + 2)));
    let state: Value = serde_json::from_slice(&show.stdout).expect("json");
    assert_eq!(state["status"], "awaiting_gate");

    let list = sandbox.run(&["sessions"]);
    assert!(stdout(&list).contains("awaiting_gate"), "{}", stdout(&list));
    assert!(stdout(&list).contains(REQUEST));
}

#[test]
fn a_corrupt_log_is_named_by_line_without_hiding_other_sessions() {
    let sandbox = Sandbox::new();
    sandbox.run(&["run", "--headless", "--approve", "all", REQUEST]);
    std::fs::write(
        sandbox.sessions().join("broken.jsonl"),
        "{\"seq\":0}\nnot json\n",
    )
    .expect("write");
    let list = sandbox.run(&["sessions"]);
    let out = stdout(&list);
    assert!(out.contains("broken.jsonl:1: unreadable event"), "{out}");
    assert!(out.contains("finished"), "{out}");
    // Its first line does not start a session: `show` says what it is.
    let show = sandbox.run(&["show", "broken"]);
    assert_eq!(show.status.code(), Some(2));
    assert!(
        stderr(&show).contains("broken.jsonl: not a handoff session log"),
        "{}",
        stderr(&show)
    );
}

#[test]
fn check_places_every_mistake_and_exits_2() {
    let sandbox = Sandbox::new();
    let skills = sandbox.dir.path().join("skills.toml");
    std::fs::write(
        &skills,
        r#"[pipelines.p]
[[pipelines.p.phases]]
id = "a"
role = "A"
artifact = "x"
prompt = "p"

[[pipelines.p.phases]]
id = "a"
role = "B"
artifact = "y"
inputs = ["ghost"]

[[pipelines.p.phases]]
id = "c"
role = ["C"]
artifact = "z"
prompt = "p"
"#,
    )
    .expect("write");
    let output = sandbox.run(&["check"]);
    assert_eq!(output.status.code(), Some(2));
    let out = stdout(&output);
    let path = skills.display().to_string();
    let lines: Vec<&str> = out.lines().filter(|l| !l.contains(": ok")).collect();
    let expected = [
        format!("{path}:8:1: phase is missing `prompt`"),
        format!("{path}:9:6: duplicate phase id `a`"),
        format!("{path}:12:11: unknown phase `ghost` in `inputs` (earlier phases: a)"),
        format!("{path}:16:8: `role`: invalid type: sequence, expected a string"),
    ];
    // The relative path the binary was given is used as written.
    let lines: Vec<String> = lines
        .iter()
        .map(|l| l.replace("skills.toml:", &format!("{path}:")))
        .collect();
    assert_eq!(lines, expected);

    // A run with the broken file refuses to start and writes no session.
    let run = sandbox.run(&["run", "--headless", "--approve", "all", REQUEST]);
    assert_eq!(run.status.code(), Some(2));
    assert!(stderr(&run).contains("duplicate phase id"));
    assert!(sandbox.logs().is_empty());

    let fine = Sandbox::new();
    let output = fine.run(&["check"]);
    assert_eq!(output.status.code(), Some(0));
    assert!(
        stdout(&output).contains("<built-in skills.toml>: ok"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn run_without_a_terminal_or_request_is_a_usage_error() {
    let sandbox = Sandbox::new();
    let output = sandbox.run(&["run", REQUEST]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("--headless"));
    let output = sandbox.run(&["run", "--headless", "--approve", "all"]);
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn a_decisions_file_edits_from_a_file_and_returns_work_and_the_edit_flows_downstream() {
    let sandbox = Sandbox::new();
    // The edit adds an acceptance criterion; the architect's plan must list it.
    let first = sandbox.run(&["run", "--headless", "--approve", "none", REQUEST]);
    assert_eq!(first.status.code(), Some(3));
    let requirements = of_kind(&events(&sandbox.log()), "artifact")[0]["content"]
        .as_str()
        .expect("content")
        .replace(
            "## Success metrics",
            "- [ ] AC-9: Bursts of 20 requests are allowed\n\n## Success metrics",
        );
    std::fs::write(sandbox.dir.path().join("requirements.md"), &requirements).expect("write");
    std::fs::write(
        sandbox.dir.path().join("decisions.toml"),
        r#"
[summarize]
action = "edit"
content_file = "requirements.md"

[[validate]]
action = "return"
to = "implement"
feedback = "Pagination is missing"
"#,
    )
    .expect("write");
    std::fs::remove_dir_all(sandbox.sessions()).expect("clean");
    let output = sandbox.run(&[
        "run",
        "--headless",
        "--approve",
        "all",
        "--decisions",
        "decisions.toml",
        REQUEST,
    ]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}{}",
        stdout(&output),
        stderr(&output)
    );
    let events = events(&sandbox.log());
    let decisions = of_kind(&events, "decision");
    assert_eq!(decisions[0]["action"], "edit");
    assert_eq!(
        decisions[1]["action"], "approve",
        "the gate stays open after an edit"
    );
    let plan = of_kind(&events, "artifact")
        .into_iter()
        .find(|a| a["phase"] == "plan")
        .expect("plan");
    assert!(
        plan["content"]
            .as_str()
            .is_some_and(|c| c.contains("AC-9: Bursts of 20 requests are allowed")),
        "the plan read the edited requirements"
    );
    let returned = of_kind(&events, "returned");
    assert_eq!(returned.len(), 1);
    assert_eq!(returned[0]["from"], "validate");
    assert_eq!(returned[0]["to"], "implement");
    assert_eq!(returned[0]["reason"], "Pagination is missing");
    let implement: Vec<_> = of_kind(&events, "phase_started")
        .into_iter()
        .filter(|e| e["phase"] == "implement")
        .collect();
    assert_eq!(implement.len(), 2);

    let show = sandbox.run(&[
        "show",
        sandbox.log().to_str().expect("path"),
        "--artifact",
        "requirements",
    ]);
    assert_eq!(stdout(&show), requirements, "show prints the edited text");
}

#[test]
fn a_broken_decisions_file_is_placed_and_nothing_runs() {
    let sandbox = Sandbox::new();
    std::fs::write(
        sandbox.dir.path().join("d.toml"),
        "[summarise]\naction = \"approve\"\n\n[plan]\naction = \"return\"\nto = \"commit\"\n",
    )
    .expect("write");
    let output = sandbox.run(&[
        "run",
        "--headless",
        "--approve",
        "all",
        "--decisions",
        "d.toml",
        REQUEST,
    ]);
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert!(
        err.contains("d.toml:1:2: no phase `summarise` in the pipeline"),
        "{err}"
    );
    assert!(
        err.contains("d.toml:6:6: `commit` is not a phase before `plan`"),
        "{err}"
    );
    assert!(sandbox.logs().is_empty());

    // Bytes that are not UTF-8 are placed like any other mistake.
    std::fs::write(
        sandbox.dir.path().join("d.toml"),
        b"[plan]\naction = \"appr\xffove\"\n",
    )
    .expect("write");
    let output = sandbox.run(&[
        "run",
        "--headless",
        "--approve",
        "all",
        "--decisions",
        "d.toml",
        REQUEST,
    ]);
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert!(
        err.contains("d.toml:2:15: not UTF-8 text (byte 0xff)"),
        "{err}"
    );
    assert!(sandbox.logs().is_empty());
}

#[test]
fn check_validates_themes_keymaps_and_config_with_positions() {
    let sandbox = Sandbox::new();
    std::fs::write(
        sandbox.dir.path().join("bad.toml"),
        "[styles]\ngate = { fg = \"chartreuse\" }\nborder = { modifiers = [\"blinking\"] }\n",
    )
    .expect("write theme");
    let config = sandbox.config_dir();
    std::fs::write(
        config.join("keymap.toml"),
        "[[board]]\non = \"a\"\naction = \"dance\"\n",
    )
    .expect("keymap");
    sandbox.config("bell = \"loud\"\n");
    let output = sandbox.run(&["check", "--theme", "bad.toml"]);
    assert_eq!(output.status.code(), Some(2));
    let out = stdout(&output);
    assert!(out.contains("<built-in skills.toml>: ok"), "{out}");
    assert!(out.contains("bad.toml:2:15: "), "{out}");
    assert!(out.contains("bad.toml:3:25: "), "{out}");
    assert!(
        out.contains("keymap.toml:3:10: unknown action `dance`"),
        "{out}"
    );
    assert!(out.contains("config.toml:1:8: "), "{out}");

    // The same broken config stops a run before it starts.
    let run = sandbox.run(&["run", "--headless", "--approve", "all", REQUEST]);
    assert_eq!(
        run.status.code(),
        Some(2),
        "config.toml also holds the provider settings"
    );
    assert!(
        stderr(&run).contains("config.toml:1:8: "),
        "{}",
        stderr(&run)
    );
    assert!(sandbox.logs().is_empty());

    // A price that would make budgets never fire is refused where it is.
    sandbox.config("[prices.m]\nprompt = 1.0\ncompletion = nan\n");
    std::fs::remove_file(config.join("keymap.toml")).ok();
    let check = sandbox.run(&["check"]);
    assert_eq!(check.status.code(), Some(2));
    assert!(
        stdout(&check).contains("config.toml:3:14: a price must be a finite number"),
        "{}",
        stdout(&check)
    );
    let run = sandbox.run(&["run", "--headless", "--approve", "all", REQUEST]);
    assert_eq!(run.status.code(), Some(2), "{}", stderr(&run));
    assert!(sandbox.logs().is_empty());
    for theme in ["default", "light", "high-contrast", "mono"] {
        std::fs::remove_file(config.join("config.toml")).ok();
        std::fs::remove_file(config.join("keymap.toml")).ok();
        let ok = sandbox.run(&["check", "--theme", theme]);
        assert_eq!(ok.status.code(), Some(0), "{theme}: {}", stdout(&ok));
    }
}

#[test]
fn a_session_over_budget_pauses_at_the_next_gate_even_with_approve_all() {
    let sandbox = Sandbox::new();
    let builtin = include_str!("../../skills.toml");
    std::fs::write(
        sandbox.dir.path().join("skills.toml"),
        format!("{builtin}\n[pipelines.backend.budget]\nmax_tokens = 1500\n"),
    )
    .expect("skills");
    let output = sandbox.run(&["run", "--headless", "--approve", "all", REQUEST]);
    assert_eq!(output.status.code(), Some(3), "{}", stdout(&output));
    assert!(
        stdout(&output).contains("? over budget ("),
        "{}",
        stdout(&output)
    );
    let events = events(&sandbox.log());
    let gates = of_kind(&events, "gate_opened");
    let last = gates.last().expect("a gate");
    assert!(
        last["over_budget"]
            .as_str()
            .is_some_and(|w| w.contains("budget 1500")),
        "{last}"
    );
    assert!(
        gates[..gates.len() - 1]
            .iter()
            .all(|g| g.get("over_budget").is_none())
    );
    // Nothing was lost: the run stopped at the gate, resumable by a human.
    let show = sandbox.run(&["show", sandbox.log().to_str().expect("path"), "--json"]);
    let state: Value = serde_json::from_slice(&show.stdout).expect("json");
    assert_eq!(state["status"], "awaiting_gate");
}

#[test]
fn replaying_a_finished_session_reaches_the_state_show_prints() {
    let sandbox = Sandbox::new();
    sandbox.run(&["run", "--headless", "--approve", "all", REQUEST]);
    let log = sandbox.log();
    let path = log.to_str().expect("path");
    let replay = sandbox.run(&["replay", path, "--headless", "--speed", "max", "--json"]);
    let replayed: Vec<handoff::session::Event> = stdout(&replay)
        .lines()
        .map(|l| serde_json::from_str(l).expect("an event per line"))
        .collect();
    let state = handoff::session::SessionState::from_events(&replayed);
    let show: Value =
        serde_json::from_slice(&sandbox.run(&["show", path, "--json"]).stdout).expect("json");
    assert_eq!(show["status"], state.status.as_str());
    assert_eq!(show["usage"]["prompt_tokens"], state.usage.prompt_tokens);
    assert_eq!(
        show["usage"]["completion_tokens"],
        state.usage.completion_tokens
    );
    for (shown, phase) in show["phases"]
        .as_array()
        .expect("phases")
        .iter()
        .zip(&state.phases)
    {
        assert_eq!(shown["status"], phase.status.as_str());
        assert_eq!(shown["attempts"], phase.attempts.len());
        assert_eq!(shown["artifact"].as_str(), phase.effective_artifact());
    }
}

/// A decision the engine refuses (a fourth rejection, past `max_attempts`)
/// ends the run with exit 2 and the reason, instead of leaving the gate
/// waiting for an answer that never comes.
#[test]
fn a_refused_decision_ends_a_headless_run_with_exit_2() {
    let sandbox = Sandbox::new();
    let file = sandbox.dir.path().join("decisions.toml");
    let reject = "[[summarize]]\naction = \"reject\"\nfeedback = \"again\"\n";
    std::fs::write(&file, reject.repeat(3)).expect("write decisions");
    let file = file.to_str().expect("path");
    let out = sandbox.run_within(
        60,
        &[
            "run",
            "--headless",
            "--approve",
            "all",
            "--decisions",
            file,
            REQUEST,
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("has used all 3 attempts"),
        "{}",
        stderr(&out)
    );
    let rejections = of_kind(&sandbox.events(), "decision").len();
    assert_eq!(rejections, 2, "the refused one is not recorded");
}

/// A run stopped at a gate and resumed with the same decisions file does
/// not make again the decisions it already recorded: the rejection from
/// the file is applied once.
#[test]
fn resuming_with_the_same_decisions_file_applies_only_what_is_not_recorded() {
    let sandbox = Sandbox::new();
    let file = sandbox.dir.path().join("decisions.toml");
    std::fs::write(
        &file,
        "[[summarize]]\naction = \"reject\"\nfeedback = \"Say which clients are exempt\"\n",
    )
    .expect("write decisions");
    let file = file.to_str().expect("path");
    // No --approve: after the file's one rejection the run stops at the
    // next gate, waiting for a person.
    let out = sandbox.run_within(60, &["run", "--headless", "--decisions", file, REQUEST]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let log = sandbox.log();
    let log = log.to_str().expect("path");
    let out = sandbox.run_within(
        60,
        &[
            "resume",
            log,
            "--headless",
            "--approve",
            "all",
            "--decisions",
            file,
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let events = sandbox.events();
    let rejections: Vec<_> = of_kind(&events, "decision")
        .into_iter()
        .filter(|d| d["action"] == "reject")
        .collect();
    assert_eq!(rejections.len(), 1, "{rejections:?}");
    let started = of_kind(&events, "phase_started")
        .into_iter()
        .filter(|p| p["phase"] == "summarize")
        .count();
    assert_eq!(started, 2, "the requirements ran twice, not three times");
}

/// `sessions` calls an aborted session aborted, and `sessions --json`
/// lists what each session is, not every artifact's text.
#[test]
fn sessions_lists_an_aborted_session_as_aborted_and_json_as_summaries() {
    let sandbox = Sandbox::new();
    let out = sandbox.run_deciding("[summarize]\naction = \"abort\"\n", REQUEST);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let list = sandbox.run(&["sessions"]);
    let row = stdout(&list)
        .lines()
        .find(|l| l.contains(REQUEST))
        .map(str::to_owned)
        .unwrap_or_default();
    assert!(row.contains("aborted"), "{}", stdout(&list));
    let json = sandbox.run(&["sessions", "--json"]);
    let items: Vec<Value> = serde_json::from_slice(&json.stdout).expect("json");
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["status"], "aborted");
    assert_eq!(items[0]["phase"], "summarize");
    assert_eq!(items[0]["phases"][0]["attempts"], 1);
    assert!(
        !String::from_utf8_lossy(&json.stdout).contains("\"artifact\""),
        "no artifact text in the list: {}",
        stdout(&json)
    );
}

/// `fork --at` a phase the session never reached names the ones it did.
#[test]
fn fork_at_an_unknown_phase_lists_the_phases_it_could_fork_at() {
    let sandbox = Sandbox::new();
    let out = sandbox.run_deciding("[plan]\naction = \"abort\"\n", REQUEST);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let log = sandbox.log();
    let log = log.to_str().expect("path");
    let out = sandbox.run(&["fork", log, "--at", "nosuch", "--headless"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("it can fork at: summarize, plan"),
        "{}",
        stderr(&out)
    );
}

/// Output into a pipe nobody reads any more (`handoff show … | head`)
/// ends quietly: no "Broken pipe" message, the code of a program stopped
/// by SIGPIPE.
#[test]
fn output_into_a_closed_pipe_ends_quietly() {
    let sandbox = Sandbox::new();
    sandbox.run(&["run", "--headless", "--approve", "all", REQUEST]);
    let log = sandbox.log();
    for args in [
        vec!["show", log.to_str().expect("path")],
        vec!["sessions"],
        vec!["replay", "--headless", log.to_str().expect("path")],
    ] {
        let (reader, writer) = std::io::pipe().expect("pipe");
        drop(reader);
        let out = sandbox
            .command()
            .args(&args)
            .stdout(writer)
            .output()
            .expect("run handoff");
        assert_eq!(out.status.code(), Some(141), "{args:?}: {}", stderr(&out));
        assert_eq!(stderr(&out), "", "{args:?}");
    }
}

/// `replay --headless` prints everything at once unless `--speed` asks
/// for a pace: a log with an hour between two events replays in moments.
#[test]
fn replay_headless_prints_at_once_unless_a_speed_is_given() {
    let sandbox = Sandbox::new();
    sandbox.run(&["run", "--headless", "--approve", "all", REQUEST]);
    let log = sandbox.log();
    let text = std::fs::read_to_string(&log).expect("log");
    let mut lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("event"))
        .collect();
    let last = lines.last_mut().expect("events");
    last["t"] = "2099-01-01T00:00:00.000Z".into();
    let text = lines.iter().fold(String::new(), |mut text, e| {
        let _ = writeln!(text, "{e}");
        text
    });
    std::fs::write(&log, text).expect("write");
    let out = sandbox.run_within(30, &["replay", log.to_str().expect("path"), "--headless"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("session finished"),
        "{}",
        stdout(&out)
    );
}

/// `--help` says what the flags do: no Markdown backticks, the decisions
/// file is TOML, the request is described, and --workspace has no default.
#[test]
fn help_matches_behaviour() {
    let sandbox = Sandbox::new();
    let help = sandbox.run(&["run", "--help"]);
    let text = stdout(&help);
    assert!(!text.contains('`'), "{text}");
    assert!(text.contains("TOML file of decisions"), "{text}");
    assert!(text.contains("What the team should build"), "{text}");
    assert!(!text.contains("default: the current directory"), "{text}");
}

/// A phase that fails with no attempts left does not ask "Retry?": a retry
/// would be refused, so its gate says what is left to do.
#[test]
fn a_failed_phase_with_no_attempts_left_does_not_offer_a_retry() {
    let sandbox = Sandbox::new();
    let skills = sandbox.dir.path().join("one-attempt.toml");
    std::fs::write(
        &skills,
        common::BUILTIN_SKILLS.replace("max_attempts = 3", "max_attempts = 1"),
    )
    .expect("write skills");
    let skills = skills.to_str().expect("path");
    let request = format!("{REQUEST} !fail:summarize");
    let out = sandbox.run(&[
        "--skills",
        skills,
        "run",
        "--headless",
        "--approve",
        "all",
        &request,
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let events = sandbox.events();
    let gates = of_kind(&events, "gate_opened");
    let question = gates[0]["question"].as_str().unwrap_or_default();
    assert!(
        question.contains("has used all its attempts") && !question.contains("Retry?"),
        "{question}"
    );
}

/// Through the binary: after a return from QA and a crash mid-attempt, the
/// Test Engineer's gate still takes the two rejections `max_attempts = 3`
/// allows, however many attempts it has run.
#[test]
fn a_return_and_a_crash_leave_the_rejections_max_attempts_allows() {
    let sandbox = Sandbox::new();
    let out = sandbox.run_deciding(
        "[validate]\naction = \"return\"\nto = \"test\"\nfeedback = \"more cases\"\n",
        REQUEST,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // Cut the log just after the Test Engineer's second attempt started:
    // what a kill -9 at that moment leaves.
    let log = sandbox.log();
    let text = std::fs::read_to_string(&log).expect("log");
    let mut kept = String::new();
    let mut test_starts = 0;
    for line in text.lines() {
        kept.push_str(line);
        kept.push('\n');
        let event: Value = serde_json::from_str(line).expect("event");
        if event["kind"] == "phase_started" && event["phase"] == "test" {
            test_starts += 1;
            if test_starts == 2 {
                break;
            }
        }
    }
    assert_eq!(test_starts, 2, "the return ran the tests again");
    std::fs::write(&log, kept).expect("cut the log");
    let file = sandbox.dir.path().join("resume.toml");
    let reject = "[[test]]\naction = \"reject\"\nfeedback = \"again\"\n";
    std::fs::write(&file, reject.repeat(2)).expect("write decisions");
    let log = log.to_str().expect("path");
    let file = file.to_str().expect("path");
    let out = sandbox.run_within(
        60,
        &[
            "resume",
            log,
            "--headless",
            "--approve",
            "all",
            "--decisions",
            file,
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let events = sandbox.events();
    let rejections = of_kind(&events, "decision")
        .into_iter()
        .filter(|d| d["phase"] == "test" && d["action"] == "reject")
        .count();
    assert_eq!(rejections, 2);
    let attempts = of_kind(&events, "phase_started")
        .into_iter()
        .filter(|p| p["phase"] == "test")
        .count();
    assert_eq!(attempts, 5, "1, returned to 2, cut off, then 3, 4 and 5");
}
