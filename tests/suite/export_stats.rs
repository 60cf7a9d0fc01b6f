//! `export` and `stats` on real headless runs: the files an export writes
//! and what they say, and the figures `stats` counts across several
//! sessions, a corrupt log among them.

use crate::common;

use std::path::{Path, PathBuf};

use common::{REQUEST, Sandbox, artifacts, events, of_kind, stderr, stdout};
use pretty_assertions::assert_eq;
use serde_json::Value;

const EDITED: &str = "# Requirements\n\nEdited by hand.\n";

/// Reject, edit, approve with notes and return, all from a decisions file.
const DECISIONS: &str = r##"
[[summarize]]
action = "reject"
feedback = "Say which clients are exempt"

[[summarize]]
action = "edit"
content = "# Requirements\n\nEdited by hand.\n"

[plan]
action = "approve_with_notes"
notes = "Keep Redis optional"

[validate]
action = "return"
to = "implement"
feedback = "Pagination is missing"
"##;

/// Runs `handoff run --headless …` and returns the log it wrote.
fn run(sandbox: &Sandbox, args: &[&str], code: i32) -> PathBuf {
    let before = sandbox.logs();
    let mut all = vec!["run", "--headless"];
    all.extend_from_slice(args);
    let output = sandbox.run(&all);
    assert_eq!(output.status.code(), Some(code), "{}", stderr(&output));
    let mut new: Vec<PathBuf> = sandbox
        .logs()
        .into_iter()
        .filter(|l| !before.contains(l))
        .collect();
    assert_eq!(new.len(), 1, "one new log");
    new.remove(0)
}

/// A run that rejects, edits, adds notes and returns work, then finishes.
fn busy_run(sandbox: &Sandbox) -> PathBuf {
    let decisions = sandbox.dir.path().join("decisions.toml");
    std::fs::write(&decisions, DECISIONS).expect("write decisions");
    let path = decisions.to_str().expect("path");
    run(
        sandbox,
        &["--approve", "all", "--decisions", path, "Add pagination"],
        0,
    )
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name))
        .map_err(|e| format!("{name}: {e}"))
        .expect("a written file")
}

/// Prices the offline model in config.toml: $1000 and $2000 per million.
fn price_the_offline_model(sandbox: &Sandbox) {
    sandbox.config("[prices.\"offline-scripted\"]\nprompt = 1000.0\ncompletion = 2000.0\n");
}

#[expect(clippy::cast_precision_loss, reason = "token counts of a test")]
fn cost_of(prompt: u64, completion: u64) -> f64 {
    (prompt as f64 * 1000.0 + completion as f64 * 2000.0) / 1_000_000.0
}

fn sum(events: &[Value], key: &str) -> u64 {
    of_kind(events, "usage")
        .iter()
        .map(|u| u[key].as_u64().expect("tokens"))
        .sum()
}

/// The advice export writes for `busy_run`: each specialist consulted once
/// per artifact its phase read (QA's second attempt read a new one).
const ADVICE_FILES: [&str; 8] = [
    "advice/03-implement-security-attempt-1.md",
    "advice/03-implement-database-attempt-1.md",
    "advice/03-implement-redis-attempt-1.md",
    "advice/03-implement-observability-attempt-1.md",
    "advice/05-validate-security-attempt-1.md",
    "advice/05-validate-security-attempt-2.md",
    "advice/06-commit-redis-attempt-1.md",
    "advice/06-commit-observability-attempt-1.md",
];

#[test]
fn export_writes_effective_artifacts_every_attempt_decisions_and_a_report() {
    let sandbox = Sandbox::new();
    let log = busy_run(&sandbox);
    let events = events(&log);
    let id = events[0]["id"].as_str().expect("id");
    price_the_offline_model(&sandbox);

    // An existing folder is fine: our names are overwritten, others kept.
    let out = sandbox.dir.path().join("out");
    std::fs::create_dir_all(&out).expect("out");
    std::fs::write(out.join("keep.txt"), "mine").expect("write");
    std::fs::write(out.join("report.md"), "stale").expect("write");

    let output = sandbox.run(&["export", &id[..15], "--out", out.to_str().expect("out")]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let (advice, listed): (Vec<String>, Vec<String>) = stdout(&output)
        .lines()
        .map(str::to_owned)
        .partition(|l| l.starts_with("advice/"));
    assert_eq!(advice, ADVICE_FILES);
    assert_eq!(
        listed,
        [
            "01-summarize-requirements.md",
            "02-plan-plan.md",
            "03-implement-implementation.md",
            "04-test-test-report.md",
            "05-validate-verdict.md",
            "06-commit-delivery.md",
            "attempts/01-summarize-attempt-1.md",
            "attempts/01-summarize-attempt-2.md",
            "attempts/01-summarize-attempt-2-edited.md",
            "attempts/02-plan-attempt-1.md",
            "attempts/03-implement-attempt-1.md",
            "attempts/03-implement-attempt-2.md",
            "attempts/04-test-attempt-1.md",
            "attempts/04-test-attempt-2.md",
            "attempts/05-validate-attempt-1.md",
            "attempts/05-validate-attempt-2.md",
            "attempts/06-commit-attempt-1.md",
            "decisions.md",
            "report.md",
        ]
    );
    for name in &listed {
        assert!(out.join(name).is_file(), "{name} was written");
    }
    assert_eq!(read(&out, "keep.txt"), "mine");

    // The effective artifact: the human's edit wins; otherwise the last draft.
    assert_eq!(read(&out, "01-summarize-requirements.md"), EDITED);
    let summarize = artifacts(&events, "summarize");
    assert_eq!(
        read(&out, "attempts/01-summarize-attempt-1.md"),
        summarize[0]
    );
    assert_eq!(
        read(&out, "attempts/01-summarize-attempt-2.md"),
        summarize[1]
    );
    assert_eq!(
        read(&out, "attempts/01-summarize-attempt-2-edited.md"),
        EDITED
    );
    let implement = artifacts(&events, "implement");
    assert_eq!(read(&out, "03-implement-implementation.md"), implement[1]);
    assert_eq!(
        read(&out, "attempts/03-implement-attempt-1.md"),
        implement[0]
    );

    let decisions = read(&out, "decisions.md");
    for expected in [
        "## 1. summarize: reject",
        "- By: policy",
        "> Say which clients are exempt",
        "## 2. summarize: edit",
        "--- draft\n+++ edited\n",
        "+Edited by hand.",
        "## 4. plan: approve_with_notes",
        "> Keep Redis optional",
        "## 7. validate: return",
        "- Returned to: implement",
        "> Pagination is missing",
        "## 11. commit: approve",
    ] {
        assert!(decisions.contains(expected), "{expected:?} in\n{decisions}");
    }
    assert!(!decisions.contains("## 12."), "eleven decisions");
    // The diff is against the agent's draft of the edited attempt.
    let first_draft_line = summarize[1].lines().next().expect("a line");
    assert!(decisions.contains(&format!("-{first_draft_line}\n")));

    let report = read(&out, "report.md");
    let (prompt, completion) = (
        sum(&events, "prompt_tokens"),
        sum(&events, "completion_tokens"),
    );
    for expected in [
        "# Add pagination\n".to_owned(),
        format!("| Session | `{id}` |"),
        "| Provider | offline · offline-scripted |".to_owned(),
        "| Status | finished (completed) |".to_owned(),
        "| 1 | summarize | Business Analyst | 2 | approved |".to_owned(),
        "| 3 | implement | Senior Backend Developer | 2 | approved |".to_owned(),
        "| 6 | commit | DevOps Engineer | 1 | approved |".to_owned(),
        "- `plan` attempt 1 (Solution Architect): approved by policy at ".to_owned(),
        "  > Keep Redis optional".to_owned(),
        "- `summarize` attempt 1 (Business Analyst): rejected by policy at ".to_owned(),
        "  > Say which clients are exempt".to_owned(),
        "- `validate` → `implement`: returned by policy at ".to_owned(),
        "  > Pagination is missing".to_owned(),
        "### `summarize` attempt 2, edited by policy at ".to_owned(),
        "+Edited by hand.".to_owned(),
        format!(
            "| **Total** | | {prompt} | {completion} | {} | ${:.4} |",
            prompt + completion,
            cost_of(prompt, completion)
        ),
        format!("| Cost | ${:.4} |", cost_of(prompt, completion)),
    ] {
        assert!(report.contains(&expected), "{expected:?} in\n{report}");
    }
    assert!(
        !report.contains("## Tool calls"),
        "offline runs call no tools"
    );
}

#[test]
fn export_of_a_session_at_a_gate_writes_what_there_is_and_unknown_sessions_are_usage_errors() {
    let sandbox = Sandbox::new();
    let log = run(&sandbox, &["--approve", "none", REQUEST], 3);
    let out = sandbox.dir.path().join("fresh/nested");
    let output = sandbox.run(&[
        "export",
        log.to_str().expect("path"),
        "--out",
        out.to_str().expect("out"),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(
        stdout(&output).lines().collect::<Vec<_>>(),
        [
            "01-summarize-requirements.md",
            "attempts/01-summarize-attempt-1.md",
            "decisions.md",
            "report.md"
        ]
    );
    assert!(read(&out, "decisions.md").contains("No decisions were made."));
    let report = read(&out, "report.md");
    assert!(report.contains("| Status | awaiting_gate |"), "{report}");
    assert!(report.contains("| 2 | plan | Solution Architect | 0 | pending |"));
    assert!(report.contains("No prices in config.toml, so no cost."));

    let missing = sandbox.run(&["export", "nope", "--out", out.to_str().expect("out")]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        stderr(&missing).contains("no session `nope`"),
        "{}",
        stderr(&missing)
    );
}

#[test]
#[expect(
    clippy::too_many_lines,
    reason = "one scenario checked figure by figure"
)]
fn stats_counts_sessions_phases_interventions_and_tokens_and_names_a_corrupt_log() {
    let sandbox = Sandbox::new();
    let plain = run(&sandbox, &["--approve", "all", REQUEST], 0);
    let busy = busy_run(&sandbox);
    let waiting = run(&sandbox, &["--approve", "none", REQUEST], 3);
    std::fs::write(
        sandbox.sessions().join("broken.jsonl"),
        "{\"seq\":0}\nnot json\n",
    )
    .expect("write");
    let logs: Vec<Vec<Value>> = [&plain, &busy, &waiting].map(|l| events(l)).into();

    let output = sandbox.run(&["stats", "--json"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let stats: Value = serde_json::from_slice(&output.stdout).expect("stats --json is JSON");

    assert_eq!(stats["sessions"], 3);
    assert_eq!(
        stats["by_status"],
        serde_json::json!({
            "running": 0, "awaiting_gate": 1, "finished": 2, "failed": 0, "interrupted": 0
        })
    );
    assert_eq!(
        stats["by_outcome"],
        serde_json::json!({ "completed": 2, "aborted": 0, "failed": 0 })
    );
    let unreadable = stats["unreadable"].as_array().expect("unreadable");
    assert_eq!(unreadable.len(), 1);
    assert!(
        unreadable[0]["path"]
            .as_str()
            .is_some_and(|p| p.ends_with("broken.jsonl"))
    );
    assert!(
        unreadable[0]["error"]
            .as_str()
            .is_some_and(|e| e.contains("broken.jsonl:1: unreadable event"))
    );

    // Request to finish, from the logs' own times.
    let seconds = |events: &[Value]| {
        let t = |e: &Value| {
            chrono::DateTime::parse_from_rfc3339(e["t"].as_str().expect("t")).expect("time")
        };
        let start = t(&events[0]);
        let end = t(events.last().expect("events"));
        #[expect(clippy::cast_precision_loss, reason = "milliseconds of a test")]
        let s = (end - start).num_milliseconds() as f64 / 1000.0;
        s
    };
    let (a, b) = (seconds(&logs[0]), seconds(&logs[1]));
    let finish = &stats["time_to_finish"];
    assert_eq!(finish["sessions"], 2);
    let close = |v: &Value, x: f64| (v.as_f64().expect("a number") - x).abs() < 1e-9;
    assert!(
        close(&finish["median_seconds"], f64::midpoint(a, b)),
        "{finish}"
    );
    assert!(
        close(&finish["mean_seconds"], f64::midpoint(a, b)),
        "{finish}"
    );
    assert!(close(&finish["max_seconds"], a.max(b)), "{finish}");

    // Per phase: three sessions have each phase; the waiting one only ran
    // the first. The busy run retried summarize (reject) and redid
    // implement, test and validate (return).
    let phases = stats["phases"].as_array().expect("phases");
    let ids: Vec<&str> = phases
        .iter()
        .map(|p| p["id"].as_str().expect("id"))
        .collect();
    assert_eq!(
        ids,
        [
            "summarize",
            "plan",
            "implement",
            "test",
            "validate",
            "commit"
        ]
    );
    let figures: Vec<(u64, u64, u64, u64, u64)> = phases
        .iter()
        .map(|p| {
            let n = |k: &str| p[k].as_u64().expect(k);
            (
                n("sessions"),
                n("started"),
                n("approved"),
                n("attempts"),
                n("retries"),
            )
        })
        .collect();
    assert_eq!(
        figures,
        [
            (3, 3, 2, 4, 1),
            (3, 2, 2, 2, 0),
            (3, 2, 2, 3, 1),
            (3, 2, 2, 3, 1),
            (3, 2, 2, 3, 1),
            (3, 2, 2, 2, 0),
        ]
    );
    assert!(close(&phases[0]["completion_rate"], 2.0 / 3.0));
    assert!(close(&phases[1]["completion_rate"], 1.0));
    assert_eq!(
        phases[0]["decisions"],
        serde_json::json!({
            "approve": 2, "approve_with_notes": 0, "edit": 1, "reject": 1, "return": 0, "abort": 0
        })
    );
    assert_eq!(phases[0]["interventions"], 2);
    assert_eq!(phases[1]["decisions"]["approve_with_notes"], 1);
    assert_eq!(phases[4]["decisions"]["return"], 1);
    assert_eq!(phases[4]["decisions"]["approve"], 2);
    for p in phases {
        assert_eq!(
            p["by_user"]["approve"], 0,
            "every decision came from a policy"
        );
        assert_eq!(p["cost_usd"], Value::Null, "no prices");
    }
    assert_eq!(stats["decided_by"]["user"], 0);
    assert_eq!(stats["decided_by"]["policy"], 6 + 11);

    let roles = stats["roles"].as_array().expect("roles");
    assert_eq!(roles[0]["role"], "Business Analyst");
    assert_eq!(roles[0]["runs"], 3);
    assert_eq!(roles[0]["interventions"], 2);
    assert!(close(&roles[0]["interventions_per_run"], 2.0 / 3.0));
    assert_eq!(roles[4]["role"], "QA Engineer");
    assert_eq!(roles[4]["decisions"]["return"], 1);

    // Tokens: every usage event of the readable logs.
    let total = |key: &str| logs.iter().map(|l| sum(l, key)).sum::<u64>();
    let (prompt, completion) = (total("prompt_tokens"), total("completion_tokens"));
    assert_eq!(stats["usage"]["prompt_tokens"], prompt);
    assert_eq!(stats["usage"]["completion_tokens"], completion);
    let by_phase: u64 = phases
        .iter()
        .map(|p| p["usage"]["prompt_tokens"].as_u64().expect("tokens"))
        .sum();
    assert_eq!(by_phase, prompt);
    assert_eq!(
        stats["cost"],
        serde_json::json!({ "usd": null, "priced_sessions": 0, "unpriced_sessions": 0 })
    );

    // The text form: the same figures, in tables that fit 80 columns.
    let text = sandbox.run(&["stats"]);
    assert_eq!(text.status.code(), Some(0), "{}", stderr(&text));
    let text = stdout(&text);
    assert!(text.contains("sessions  3 in "), "{text}");
    assert!(
        text.contains("finished 2 · awaiting_gate 1 · failed 0"),
        "{text}"
    );
    assert!(text.contains("unreadable 1:"), "{text}");
    assert!(text.contains("broken.jsonl:1: unreadable event"), "{text}");
    assert!(
        text.contains("time from request to finish (2 completed)"),
        "{text}"
    );
    assert!(
        text.contains("\n    broken.jsonl:1: unreadable event"),
        "named relative to the folder: {text}"
    );
    // Paths and error messages are as long as they are; the tables fit.
    for line in text
        .lines()
        .filter(|l| !l.contains("broken.jsonl") && !l.starts_with("sessions"))
    {
        assert!(line.chars().count() <= 80, "{line:?} is wider than 80");
    }
    let row = |first: &str| -> Vec<&str> {
        text.lines()
            .map(|l| l.split_whitespace().collect::<Vec<_>>())
            .find(|w| w.first() == Some(&first))
            .ok_or_else(|| format!("no {first} row in\n{text}"))
            .expect("a row")
    };
    assert_eq!(
        row("summarize"),
        ["summarize", "3", "2", "67%", "1", "1", "1", "0", "0"]
    );
    assert_eq!(
        row("validate"),
        ["validate", "2", "2", "100%", "1", "0", "0", "1", "0"]
    );
    assert_eq!(
        row("total"),
        [
            "total",
            &prompt.to_string(),
            &completion.to_string(),
            &(prompt + completion).to_string(),
            "-"
        ]
    );
    assert!(
        text.contains("no prices in config.toml, so no cost"),
        "{text}"
    );

    // With prices, every session is priced and the cost is the sum.
    price_the_offline_model(&sandbox);
    let output = sandbox.run(&["stats", "--json"]);
    let stats: Value = serde_json::from_slice(&output.stdout).expect("json");
    assert_eq!(stats["cost"]["priced_sessions"], 3);
    assert_eq!(stats["cost"]["unpriced_sessions"], 0);
    assert!(
        (stats["cost"]["usd"].as_f64().expect("usd") - cost_of(prompt, completion)).abs() < 1e-6,
        "{}",
        stats["cost"]
    );
    let phase_costs: f64 = stats["phases"]
        .as_array()
        .expect("phases")
        .iter()
        .map(|p| p["cost_usd"].as_f64().expect("priced"))
        .sum();
    assert!((phase_costs - cost_of(prompt, completion)).abs() < 1e-6);
}

#[test]
fn stats_of_an_empty_folder_is_all_zeros() {
    let sandbox = Sandbox::new();
    let output = sandbox.run(&["stats", "--json"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let stats: Value = serde_json::from_slice(&output.stdout).expect("json");
    assert_eq!(stats["sessions"], 0);
    assert_eq!(stats["time_to_finish"]["median_seconds"], Value::Null);
    assert_eq!(stats["phases"], serde_json::json!([]));
    let text = sandbox.run(&["stats"]);
    assert_eq!(text.status.code(), Some(0));
    assert!(stdout(&text).contains("sessions  0 in "));
}

#[test]
fn stats_counts_a_forks_copied_history_once() {
    let sandbox = Sandbox::new();
    let original = run(&sandbox, &["--approve", "all", REQUEST], 0);
    let fork = sandbox.run(&[
        "fork",
        original.to_str().expect("path"),
        "--at",
        "plan",
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
    let (original, forked) = (events(&original), events(&forked));
    // What the fork did itself: everything after its `forked` event.
    let at = forked
        .iter()
        .position(|e| e["kind"] == "forked")
        .expect("a forked event");
    let own = &forked[at..];

    let output = sandbox.run(&["stats", "--json"]);
    let stats: Value = serde_json::from_slice(&output.stdout).expect("json");
    assert_eq!(stats["sessions"], 2);
    assert_eq!(
        stats["decided_by"]["policy"],
        of_kind(&original, "decision").len() + of_kind(own, "decision").len()
    );
    assert_eq!(of_kind(own, "decision").len(), 5, "plan's gate and on");
    assert_eq!(
        stats["usage"]["prompt_tokens"],
        sum(&original, "prompt_tokens") + sum(own, "prompt_tokens")
    );
    assert_eq!(
        stats["usage"]["completion_tokens"],
        sum(&original, "completion_tokens") + sum(own, "completion_tokens")
    );
    let phase = |id: &str| {
        stats["phases"]
            .as_array()
            .expect("phases")
            .iter()
            .find(|p| p["id"] == id)
            .expect("phase")
            .clone()
    };
    // summarize and plan ran once, in the original; implement ran in both.
    for (id, started) in [("summarize", 1), ("plan", 1), ("implement", 2)] {
        let p = phase(id);
        assert_eq!(
            (p["started"].clone(), p["approved"].clone()),
            (started.into(), started.into()),
            "{id}"
        );
        assert_eq!(p["completion_rate"], 1.0, "{id}");
    }
    let timeline = stats["timeline"].as_array().expect("timeline");
    assert_eq!(timeline.len(), 2);
    assert_eq!(
        timeline[1]["tokens"],
        sum(own, "prompt_tokens") + sum(own, "completion_tokens")
    );
}

/// Seed 001's success metrics, from what the tools did: a session in a git
/// workspace whose QA failed once (the work went back by itself) and whose
/// delivery committed, beside one with no workspace that passed QA first.
#[test]
fn stats_counts_tests_written_qa_first_pass_returns_and_deliveries_committed() {
    let sandbox = Sandbox::new();
    let repo = common::repository(sandbox.dir.path());
    let output = sandbox
        .command()
        .args(["run", "--headless", "--approve", "all", "--workspace"])
        .arg(&repo)
        .arg(format!("{REQUEST} !qa-fails:1"))
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    run(&sandbox, &["--approve", "all", REQUEST], 0);

    let output = sandbox.run(&["stats", "--json"]);
    let stats: Value = serde_json::from_slice(&output.stdout).expect("json");
    let d = &stats["delivery"];
    assert_eq!(d["committed"], 1, "{d}");
    assert!(d["time_to_commit"]["median_seconds"].is_number(), "{d}");
    assert_eq!(d["qa_sessions"], 2, "{d}");
    assert_eq!(d["qa_first_pass"], 1, "{d}");
    assert_eq!(d["qa_first_pass_rate"], 0.5, "{d}");
    assert_eq!(d["returns"], 1, "{d}");
    assert_eq!(d["returns_automatic"], 1, "{d}");
    assert_eq!(d["returns_per_session"], 0.5, "{d}");
    // The offline Test Engineer writes a Go test (once per round) and
    // runs no test runner.
    assert!(d["test_files_written"].as_u64() >= Some(1), "{d}");
    assert_eq!(d["test_runs"], 0, "{d}");

    let text = stdout(&sandbox.run(&["stats"]));
    assert!(
        text.contains("delivery  1 committed · request to commit: median "),
        "{text}"
    );
    assert!(
        text.contains(
            "QA first pass 1 of 2 (50%)\n  returns 1 (1 by a failing verdict), 0.5 per session"
        ),
        "{text}"
    );
}

/// QA's failing verdict sent the work back by itself: the report lists it
/// (it once said "Returns: None" for such a session).
#[test]
fn export_lists_the_work_a_failing_verdict_sent_back() {
    let sandbox = Sandbox::new();
    let request = format!("{REQUEST} !qa-fails:1");
    let log = run(&sandbox, &["--approve", "all", &request], 0);
    let out = sandbox.dir.path().join("export");
    let output = sandbox.run(&[
        "export",
        log.to_str().expect("path"),
        "--out",
        out.to_str().expect("out"),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let report = read(&out, "report.md");
    let section = report
        .split("## Returned by a failing verdict\n\n")
        .nth(1)
        .expect("the section");
    assert!(
        section.starts_with("- `validate` → `implement`: sent back by its failing verdict at "),
        "{section}"
    );
    assert!(!section.starts_with("None."), "{section}");
}
