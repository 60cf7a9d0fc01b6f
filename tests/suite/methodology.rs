//! The method (maker→checker plans, verdicts, specialists, presets)
//! through the offline provider and the real binary: plans checked and
//! asked for again, QA verdicts that send work back by themselves
//! (bounded), and unreadable answers that stop for a person.

use crate::common;

use common::{REQUEST, Sandbox, artifacts, events, of_kind, stderr, stdout};
use pretty_assertions::assert_eq;
use serde_json::Value;

/// Runs headless with `--approve all` and returns the exit code and events.
fn run(request: &str) -> (Option<i32>, Vec<Value>, String) {
    let sandbox = Sandbox::new();
    let output = sandbox.run(&["run", "--headless", "--approve", "all", request]);
    let out = format!("{}{}", stdout(&output), stderr(&output));
    (output.status.code(), events(&sandbox.log()), out)
}

#[test]
fn an_invalid_plan_is_asked_for_again_with_its_mistakes_and_then_passes() {
    let (code, events, out) = run(&format!("{REQUEST} !invalid:plan"));
    assert_eq!(code, Some(0), "{out}");
    let invalid = of_kind(&events, "invalid");
    assert_eq!(invalid.len(), 1);
    assert_eq!(invalid[0]["phase"], "plan");
    assert_eq!(invalid[0]["retry"], true);
    let errors: Vec<&str> = invalid[0]["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        errors
            .iter()
            .any(|e| e.contains("depends on task 9, which does not exist")),
        "{errors:?}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e.contains("has no critique task after it")),
        "{errors:?}"
    );
    // No gate opened on the bad plan: the second attempt came by itself.
    let plan_gates = of_kind(&events, "gate_opened")
        .into_iter()
        .filter(|g| g["phase"] == "plan")
        .count();
    assert_eq!(plan_gates, 1);
    assert_eq!(artifacts(&events, "plan").len(), 2);
    assert!(out.contains("plan       ✗ unreadable"), "{out}");
}

#[test]
fn a_failing_verdict_sends_the_work_back_with_its_issues_and_the_next_round_passes() {
    let (code, events, out) = run(&format!("{REQUEST} !qa-fails:1"));
    assert_eq!(code, Some(0), "{out}");
    let returned = of_kind(&events, "returned");
    assert_eq!(returned.len(), 1);
    assert_eq!(returned[0]["from"], "validate");
    assert_eq!(returned[0]["to"], "implement");
    assert_eq!(returned[0]["automatic"], true);
    let reason = returned[0]["reason"].as_str().expect("reason");
    assert!(reason.contains("(round 1 of 2)"), "{reason}");
    assert!(
        reason.contains("- [critical] AC-1 fails end to end (AC-1)"),
        "{reason}"
    );
    // No decision sent it back: the verdict did.
    let validate_decisions = of_kind(&events, "decision")
        .into_iter()
        .filter(|d| d["phase"] == "validate")
        .count();
    assert_eq!(validate_decisions, 1, "only the final approval");
    // The developer's second attempt answered QA's issues.
    let implementations = artifacts(&events, "implement");
    assert_eq!(implementations.len(), 2);
    assert!(
        implementations[1].contains("AC-1 fails end to end"),
        "{}",
        implementations[1]
    );
    // Test and QA ran again after it, and QA passed.
    assert_eq!(artifacts(&events, "test").len(), 2);
    let verdicts = artifacts(&events, "validate");
    assert_eq!(verdicts.len(), 2);
    assert!(
        verdicts[1].contains("\"verdict\": \"pass\""),
        "{}",
        verdicts[1]
    );
}

#[test]
fn verdicts_that_keep_failing_stop_at_the_gate_after_max_return_rounds() {
    let (code, events, out) = run(&format!("{REQUEST} !qa-fails:9"));
    assert_eq!(code, Some(3), "a failing verdict waits for a person: {out}");
    let returned = of_kind(&events, "returned");
    assert_eq!(returned.len(), 2, "max_return_rounds = 2");
    assert!(returned.iter().all(|r| r["automatic"] == true));
    assert_eq!(artifacts(&events, "validate").len(), 3);
    let gate = of_kind(&events, "gate_opened").pop().expect("gate");
    assert_eq!(gate["phase"], "validate");
    assert_eq!(
        gate["question"],
        "QA Engineer failed the work with 1 issue after 2 rounds back to implement. Approve anyway, return it, or abort?"
    );
}

#[test]
fn a_person_can_override_a_failing_verdict_at_the_gate() {
    let sandbox = Sandbox::new();
    let output = sandbox.run_deciding(
        "[validate]\naction = \"approve\"\n",
        &format!("{REQUEST} !qa-fails:9"),
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let events = events(&sandbox.log());
    assert_eq!(of_kind(&events, "returned").len(), 2);
    assert_eq!(events.last().expect("events")["outcome"], "completed");
}

#[test]
fn a_garbage_verdict_is_retried_a_bounded_number_of_times_then_stops_at_a_gate() {
    let (code, events, out) = run(&format!("{REQUEST} !garbage:validate"));
    assert_eq!(code, Some(3), "{out}");
    let invalid = of_kind(&events, "invalid");
    assert_eq!(
        invalid
            .iter()
            .map(|e| e["retry"].clone())
            .collect::<Vec<_>>(),
        [true, true, false]
    );
    assert_eq!(artifacts(&events, "validate").len(), 3);
    let gate = of_kind(&events, "gate_opened").pop().expect("gate");
    assert!(
        gate["question"]
            .as_str()
            .is_some_and(|q| q.starts_with("The verdict could not be read (1 problem).")),
        "{gate}"
    );
    assert!(of_kind(&events, "returned").is_empty());
}

const DISCOVERY: [&str; 8] = [
    "fit",
    "discovery",
    "definition",
    "architecture",
    "tech-spec",
    "implementation",
    "qa",
    "release",
];

fn phases_run(events: &[Value]) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    for started in of_kind(events, "phase_started") {
        let id = started["phase"].as_str().expect("phase").to_owned();
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    ids
}

#[test]
fn the_discovery_pipeline_runs_end_to_end_by_name_and_qa_can_send_work_back() {
    let sandbox = Sandbox::new();
    let output = sandbox.run(&[
        "run",
        "--headless",
        "--approve",
        "all",
        "--pipeline",
        "discovery",
        &format!("{REQUEST} !qa-fails:1"),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let events = events(&sandbox.log());
    assert_eq!(events[0]["pipeline"]["name"], "discovery");
    assert_eq!(phases_run(&events), DISCOVERY);
    // The handoff matrix: the spec writer read the analyst's and the
    // architect's artifacts; QA's fail went back to the Go expert.
    let returned = of_kind(&events, "returned");
    assert_eq!(returned.len(), 1);
    assert_eq!(
        (returned[0]["from"].as_str(), returned[0]["to"].as_str()),
        (Some("qa"), Some("implementation"))
    );
    assert_eq!(artifacts(&events, "implementation").len(), 2);
    assert_eq!(events.last().expect("events")["outcome"], "completed");

    let show = sandbox.run(&["show", sandbox.log().to_str().expect("path"), "--json"]);
    let state: Value = serde_json::from_slice(&show.stdout).expect("show --json");
    assert_eq!(state["phases"].as_array().map(Vec::len), Some(8));
}

#[test]
fn a_trigger_picks_the_pipeline_and_the_default_runs_otherwise() {
    let (code, events, out) = run("Explore an idea: saved searches for orders");
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(events[0]["pipeline"]["name"], "discovery");
    assert_eq!(phases_run(&events), DISCOVERY);

    let (code, events, out) = run(REQUEST);
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(events[0]["pipeline"]["name"], "backend");

    // --pipeline wins over a trigger; an unknown name is a usage error.
    let sandbox = Sandbox::new();
    let output = sandbox.run(&[
        "run",
        "--headless",
        "--approve",
        "none",
        "--pipeline",
        "backend",
        "Explore an idea: saved searches",
    ]);
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    assert_eq!(sandbox.events()[0]["pipeline"]["name"], "backend");
    let output = sandbox.run(&["run", "--headless", "--pipeline", "nope", REQUEST]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output)
            .contains("no pipeline `nope` (the file has: backend, discovery, go-collab)"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn check_validates_every_pipeline() {
    let sandbox = Sandbox::new();
    let output = sandbox.run(&["check"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let out = stdout(&output);
    assert!(
        out.contains("pipeline `backend` (default), 6 phases"),
        "{out}"
    );
    assert!(
        out.contains("pipeline `discovery`, 8 phases: fit → discovery → definition → architecture → tech-spec → implementation → qa → release"),
        "{out}"
    );
    assert!(
        out.contains("pipeline `go-collab`, 6 phases: clarify → design → contract → breakdown → build → release"),
        "{out}"
    );
}

#[test]
fn specialists_are_engaged_by_the_request_and_by_the_plan_and_advise_their_roles() {
    let (code, events, out) = run(REQUEST);
    assert_eq!(code, Some(0), "{out}");
    let engaged = |phase: &str| -> Vec<String> {
        of_kind(&events, "engaged")
            .into_iter()
            .filter(|e| e["phase"] == phase)
            .flat_map(|e| e["specialists"].as_array().cloned().unwrap_or_default())
            .filter_map(|s| s.as_str().map(str::to_owned))
            .collect()
    };
    // The request says "rate limiting": the architect hears from redis.
    assert_eq!(engaged("plan"), ["redis (rate limiting)"]);
    // The analyst is advised by none of them (roles), and nothing in the
    // request engages the others.
    assert!(engaged("summarize").is_empty());
    // The plan mentions migrations: the developer also hears from the
    // database specialist, which the request alone would not engage.
    let implement = engaged("implement");
    assert!(
        implement.iter().any(|s| s.starts_with("database (")),
        "{implement:?}"
    );
    assert!(implement.contains(&"redis (rate limiting)".to_owned()));
    let implementation = artifacts(&events, "implement").remove(0);
    assert!(
        implementation.contains("## Specialist advice applied\n")
            && implementation.contains("\n- database (4 points, asked because of"),
        "{implementation}"
    );
    assert!(out.contains("implement  ✦ database: 4 points"), "{out}");
}

/// `(kind, task, round, outcome)` of every task event of the implement phase.
fn task_events(events: &[Value]) -> Vec<(String, u64, u64, String)> {
    events
        .iter()
        .filter(|e| e["phase"] == "implement")
        .filter(|e| e["kind"] == "task_started" || e["kind"] == "task_finished")
        .map(|e| {
            (
                e["kind"].as_str().expect("kind").to_owned(),
                e["task"].as_u64().expect("task"),
                e["round"].as_u64().expect("round"),
                e["outcome"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

/// The most task runs in flight at once.
fn most_at_once(tasks: &[(String, u64, u64, String)]) -> usize {
    let mut running = 0usize;
    let mut most = 0;
    for (kind, ..) in tasks {
        if kind == "task_started" {
            running += 1;
            most = most.max(running);
        } else {
            running -= 1;
        }
    }
    most
}

#[test]
fn the_developer_runs_the_plan_task_by_task_in_dependency_order_each_checked() {
    let (code, events, out) = run(REQUEST);
    assert_eq!(code, Some(0), "{out}");
    let tasks = task_events(&events);
    let started: Vec<u64> = tasks
        .iter()
        .filter(|t| t.0 == "task_started")
        .map(|t| t.1)
        .collect();
    assert_eq!(
        started.len(),
        8,
        "four makers and four critiques: {tasks:?}"
    );
    let position = |kind: &str, task: u64| {
        tasks
            .iter()
            .position(|t| t.0 == kind && t.1 == task)
            .expect("the task event")
    };
    // Every critique starts after its maker finished, and every task after
    // the critique it depends on passed.
    for (maker, critique) in [(1, 2), (3, 4), (5, 6), (7, 8)] {
        assert!(position("task_finished", maker) < position("task_started", critique));
    }
    for (task, after) in [(3, 2), (7, 2), (5, 4)] {
        assert!(position("task_finished", after) < position("task_started", task));
    }
    // 3 and 7 both wait only for 2: they run side by side.
    assert!(position("task_started", 7) < position("task_finished", 3));
    assert_eq!(most_at_once(&tasks), 2, "max_parallel_tasks = 2");
    let artifact = artifacts(&events, "implement").remove(0);
    assert!(
        artifact.contains("| 3 | Implement the rate limiting service | passed | 1 |"),
        "{artifact}"
    );
    assert!(
        artifact.contains("> Critique (task 4): passed"),
        "{artifact}"
    );
}

/// A run of the built-in skills.toml with one setting changed, in which the
/// critique of task 3 fails its first round.
fn run_with((from, to): (&str, &str)) -> (Option<i32>, Vec<Value>, String) {
    let sandbox = Sandbox::new();
    let file = sandbox.dir.path().join("skills.toml");
    std::fs::write(&file, common::BUILTIN_SKILLS.replace(from, to)).expect("write skills");
    let output = sandbox.run(&[
        "run",
        "--headless",
        "--approve",
        "all",
        "--skills",
        file.to_str().expect("path"),
        &format!("{REQUEST} !critique-fails:3"),
    ]);
    let out = format!("{}{}", stdout(&output), stderr(&output));
    (output.status.code(), events(&sandbox.log()), out)
}

#[test]
fn a_failing_critique_sends_its_task_back_and_the_parallel_bound_holds() {
    let (code, events, out) = run_with(("max_parallel_tasks = 2", "max_parallel_tasks = 1"));
    assert_eq!(code, Some(0), "{out}");
    let tasks = task_events(&events);
    assert_eq!(most_at_once(&tasks), 1, "max_parallel_tasks = 1: {tasks:?}");
    let of = |task: u64| -> Vec<(u64, String)> {
        tasks
            .iter()
            .filter(|t| t.0 == "task_finished" && t.1 == task)
            .map(|t| (t.2, t.3.clone()))
            .collect()
    };
    assert_eq!(of(4), [(1, "failed".into()), (2, "passed".into())]);
    assert_eq!(of(3), [(1, "done".into()), (2, "done".into())]);
    // The maker's second round answered what the critique found.
    let artifact = artifacts(&events, "implement").remove(0);
    assert!(
        artifact.contains("Revised after review (round 2)"),
        "{artifact}"
    );
    assert!(artifact.contains("| 3 | Implement the rate limiting service | passed | 2 |"));
}

#[test]
fn a_task_still_failing_after_max_task_rounds_stops_at_the_gate() {
    let (code, events, out) = run_with(("max_task_rounds = 2", "max_task_rounds = 1"));
    assert_eq!(code, Some(3), "{out}");
    let gate = of_kind(&events, "gate_opened").pop().expect("gate");
    assert_eq!(gate["phase"], "implement");
    assert_eq!(
        gate["question"],
        "Task 3 still fails its critique after 1 round. Approve anyway, edit, reject or return?"
    );
    // Later tasks still ran: the failure is reported, not hidden.
    assert!(
        task_events(&events)
            .iter()
            .any(|t| t.0 == "task_finished" && t.1 == 6)
    );
}

#[test]
fn a_retry_after_a_task_broke_off_keeps_the_tasks_that_passed_and_runs_the_rest() {
    let sandbox = Sandbox::new();
    let output = sandbox.run_deciding(
        "[implement]\naction = \"reject\"\n",
        &format!("{REQUEST} !task-fails:5"),
    );
    let out = format!("{}{}", stdout(&output), stderr(&output));
    assert_eq!(output.status.code(), Some(0), "{out}");
    let events = events(&sandbox.log());
    // `(task, outcome, summary)` of each task that finished in `attempt`.
    let finished = |attempt: u64| -> Vec<(u64, String, String)> {
        events
            .iter()
            .filter(|e| e["phase"] == "implement" && e["attempt"] == attempt)
            .filter(|e| e["kind"] == "task_finished")
            .map(|e| {
                let text = |k: &str| e[k].as_str().expect(k).to_owned();
                (
                    e["task"].as_u64().expect("task"),
                    text("outcome"),
                    text("summary"),
                )
            })
            .collect()
    };
    let first = finished(1);
    assert!(
        first
            .iter()
            .any(|(t, o, s)| *t == 5 && o == "error" && s.contains("simulated failure")),
        "{first:?}"
    );
    let second = finished(2);
    let of = |task: u64| {
        second
            .iter()
            .find(|(t, ..)| *t == task)
            .map(|(_, o, s)| (o.as_str(), s.as_str()))
    };
    // Tasks 1-4 passed their critiques before task 5 broke off: kept, not
    // run again.
    for maker in [1, 3] {
        assert_eq!(
            of(maker),
            Some(("done", "kept from attempt 1")),
            "{second:?}"
        );
    }
    for critique in [2, 4] {
        assert_eq!(of(critique).map(|(o, _)| o), Some("passed"), "{second:?}");
    }
    // Task 5 and its critique ran again, this time through.
    assert_eq!(of(5), Some(("done", "")), "{second:?}");
    assert_eq!(of(6).map(|(o, _)| o), Some("passed"), "{second:?}");
    let artifact = artifacts(&events, "implement").remove(0);
    for row in [
        "| 1 | Implement the orders data model and migration | passed | 1 |",
        "| 5 | Implement the HTTP middleware for /api/v1/orders | passed | 1 |",
    ] {
        assert!(artifact.contains(row), "{row} in {artifact}");
    }
    for task in [1, 3, 5, 7] {
        let heading = format!("## Task {task}:");
        assert!(artifact.contains(&heading), "{heading} in {artifact}");
    }
    assert!(!artifact.contains("(not run)"), "{artifact}");
}

#[test]
fn a_retry_with_words_or_after_a_new_plan_runs_every_task_again() {
    let kept = |decisions: &str| -> usize {
        let sandbox = Sandbox::new();
        let output = sandbox.run_deciding(decisions, &format!("{REQUEST} !task-fails:5"));
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        of_kind(&sandbox.events(), "task_finished")
            .iter()
            .filter(|t| {
                t["summary"]
                    .as_str()
                    .is_some_and(|s| s.starts_with("kept from"))
            })
            .count()
    };
    // What to change was said: the plan runs afresh with it.
    assert_eq!(
        kept("[implement]\naction = \"reject\"\nfeedback = \"Use a sliding window\"\n"),
        0
    );
    // The work went back to the architect, whose new plan runs afresh.
    assert_eq!(
        kept("[implement]\naction = \"return\"\nto = \"plan\"\nfeedback = \"Split task 5\"\n"),
        0
    );
}

#[test]
fn approve_all_never_approves_work_whose_critique_could_not_be_read() {
    let (code, events, out) = run(&format!("{REQUEST} !critique-garbage:3"));
    assert_eq!(code, Some(3), "stops at the gate: {out}");
    let unchecked: Vec<&Value> = of_kind(&events, "task_finished")
        .into_iter()
        .filter(|t| t["outcome"] == "unchecked")
        .collect();
    // Asked again once with what was wrong, then left unchecked.
    assert_eq!(unchecked.len(), 2, "{unchecked:?}");
    assert!(unchecked.iter().all(|t| t["task"] == 4), "{unchecked:?}");
    let gate = of_kind(&events, "gate_opened").pop().expect("gate");
    assert_eq!(gate["phase"], "implement");
    assert_eq!(
        gate["question"],
        "The critique of task 3 could not be read, so it is unchecked. Approve anyway, edit, reject or return?"
    );
    assert!(
        of_kind(&events, "decision")
            .iter()
            .all(|d| d["phase"] != "implement"),
        "nobody approved it"
    );
}
