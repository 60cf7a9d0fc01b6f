//! Crashes and resumes: a headless run killed with SIGKILL at 20 moments,
//! resumed each time, finishes with a log that was always a valid prefix,
//! exactly one approval per gate and no tool call run twice.

use crate::common;

use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{REQUEST, Sandbox, events, of_kind, repository, stderr, stdout};
use handoff::session::log::read_log;

/// A small deterministic sequence of delays (a linear congruential
/// generator), so a failure can be replayed.
struct Delays(u64);

impl Iterator for Delays {
    type Item = Duration;
    fn next(&mut self) -> Option<Duration> {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        Some(Duration::from_millis(15 + (self.0 >> 33) % 160))
    }
}

/// How far `log` has got: its lines, and its decisions.
fn progress(log: Option<&std::path::PathBuf>) -> (usize, usize) {
    let text = log
        .and_then(|log| std::fs::read_to_string(log).ok())
        .unwrap_or_default();
    (
        text.lines().count(),
        text.matches(r#""kind":"decision""#).count(),
    )
}

#[test]
fn killed_twenty_times_and_resumed_it_finishes_with_one_approval_per_gate() {
    let sandbox = Sandbox::new();
    let repo = repository(sandbox.dir.path());
    let start = |sandbox: &Sandbox| {
        let mut cmd = sandbox.command();
        cmd.env("HANDOFF_OFFLINE_PACE", "brisk")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(sandbox.dir.path().join("stderr")).expect("stderr"));
        match sandbox.logs().first() {
            Some(log) => cmd
                .args(["resume"])
                .arg(log)
                .args(["--headless", "--approve", "all"]),
            None => cmd
                .args(["run", "--headless", "--approve", "all", "--workspace"])
                .arg(&repo)
                .arg(REQUEST),
        };
        cmd.spawn().expect("spawn")
    };
    // The moments are picked by progress, not time, so any machine gets
    // the same spread: most runs are killed 1 to 6 events after they
    // start writing, mid-phase; every fourth goes on until a gate is
    // approved, so the kills reach every phase while the session (about
    // 160 events with its streamed text coalesced, six approvals) still
    // has work left for the last resume.
    // A few milliseconds more after the moment let some kills land
    // mid-write.
    let (mut kills, mut ended) = (0, None);
    let mut reached = std::collections::BTreeSet::new();
    for (round, pick) in Delays(7).take(20).map(|d| d.as_millis()).enumerate() {
        let (lines, decisions) = progress(sandbox.logs().first());
        let extra = usize::try_from(pick % 6).expect("small");
        let mut child = start(&sandbox);
        let give_up = std::time::Instant::now() + Duration::from_secs(30);
        while child.try_wait().expect("wait").is_none() && std::time::Instant::now() < give_up {
            let (now_lines, now_decisions) = progress(sandbox.logs().first());
            let there = if round % 4 == 3 {
                now_decisions > decisions
            } else {
                now_lines > lines + extra
            };
            if there {
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        std::thread::sleep(Duration::from_millis(
            u64::try_from(pick % 7).expect("small"),
        ));
        if let Some(status) = child.try_wait().expect("wait") {
            let said = std::fs::read_to_string(sandbox.dir.path().join("stderr"));
            ended = Some(format!("run {round} ended by itself ({status}): {said:?}"));
            break;
        }
        child.kill().expect("SIGKILL");
        child.wait().expect("reap");
        kills += 1;
        // Whatever the moment, the log is a valid prefix (a torn last line
        // at most) and folds.
        if let Some(log) = sandbox.logs().first() {
            let contents = read_log(log).expect("the log stays readable after SIGKILL");
            if contents.events.is_empty() {
                // Killed between creating the file and its first line:
                // there is no session yet, so start again.
                std::fs::remove_file(log).expect("remove");
            } else {
                let state = handoff::session::SessionState::from_events(&contents.events);
                reached.insert(
                    state
                        .phases
                        .iter()
                        .filter(|p| !p.attempts.is_empty())
                        .count(),
                );
            }
        }
    }
    assert_eq!(
        kills, 20,
        "the run was interrupted at 20 moments: {ended:?}"
    );
    assert!(
        reached.len() >= 4,
        "the kills reached only {reached:?} phases"
    );
    // The last resume runs to the end.
    let log = sandbox.logs().first().cloned().expect("a log");
    let output = sandbox
        .command()
        .env("HANDOFF_OFFLINE_PACE", "brisk")
        .args(["resume"])
        .arg(&log)
        .args(["--headless", "--approve", "all"])
        .output()
        .expect("resume");
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}{}",
        stdout(&output),
        stderr(&output)
    );

    let events = events(&log);
    assert_eq!(events.last().expect("events")["outcome"], "completed");
    assert_eq!(of_kind(&events, "session_started").len(), 1);
    // Exactly one approval per gate, and every approval's gate was opened.
    let mut approvals: HashMap<String, usize> = HashMap::new();
    for d in of_kind(&events, "decision") {
        assert_eq!(d["action"], "approve");
        *approvals
            .entry(d["phase"].as_str().expect("phase").to_owned())
            .or_default() += 1;
    }
    assert_eq!(approvals.len(), 6, "{approvals:?}");
    assert!(approvals.values().all(|n| *n == 1), "{approvals:?}");
    // No tool call ran twice: one result at most per call of an attempt.
    let mut results: HashMap<(String, u64, String), usize> = HashMap::new();
    for r in of_kind(&events, "tool_result") {
        let key = (
            r["phase"].as_str().expect("phase").to_owned(),
            r["attempt"].as_u64().expect("attempt"),
            r["call_id"].as_str().expect("call").to_owned(),
        );
        *results.entry(key).or_default() += 1;
    }
    assert!(results.values().all(|n| *n == 1), "{results:?}");
    // Every approved phase ran to its artifact once per attempt, and an
    // interrupted attempt is recorded as such, never silently reused.
    for failed in of_kind(&events, "phase_failed") {
        assert!(
            failed["error"]
                .as_str()
                .is_some_and(|e| e.starts_with("interrupted")),
            "{failed}"
        );
    }
}

#[test]
fn resume_reopens_a_pending_gate_without_asking_a_recorded_decision_again() {
    let sandbox = Sandbox::new();
    let decisions = sandbox.dir.path().join("d.toml");
    std::fs::write(&decisions, "[summarize]\naction = \"approve\"\n").expect("decisions");
    let first = sandbox.run(&[
        "run",
        "--headless",
        "--decisions",
        decisions.to_str().expect("path"),
        REQUEST,
    ]);
    assert_eq!(first.status.code(), Some(3), "stopped at the plan's gate");
    let log = sandbox.logs()[0].clone();
    let before = events(&log).len();
    let resumed = sandbox.resume_approving(&log);
    assert_eq!(resumed.status.code(), Some(0), "{}", stderr(&resumed));
    let events = events(&log);
    let decisions = of_kind(&events, "decision");
    assert_eq!(
        decisions.len(),
        6,
        "one per gate, the recorded one not repeated"
    );
    assert_eq!(
        of_kind(&events, "phase_started").len(),
        6,
        "no approved phase ran again"
    );
    assert_eq!(
        events[before]["kind"], "decision",
        "the open gate was answered first"
    );
    assert_eq!(events[before]["phase"], "plan");
    let again = sandbox.resume_approving(&log);
    assert_eq!(again.status.code(), Some(0));
    assert!(stderr(&again).contains("already finished"));
}

#[test]
fn a_fork_copies_the_log_to_a_gate_restores_the_workspace_and_goes_on() {
    let sandbox = Sandbox::new();
    let repo = repository(sandbox.dir.path());
    let first = sandbox
        .command()
        .args(["run", "--headless", "--approve", "all", "--workspace"])
        .arg(&repo)
        .arg(REQUEST)
        .output()
        .expect("run");
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    let original = sandbox.logs()[0].clone();
    let original_text = std::fs::read_to_string(&original).expect("log");
    let old = events(&original);
    let old_id = old[0]["id"].as_str().expect("id").to_owned();

    let decisions = sandbox.dir.path().join("d.toml");
    std::fs::write(
        &decisions,
        "[implement]\naction = \"reject\"\nfeedback = \"Split the notes by endpoint\"\n",
    )
    .expect("d");
    let fork = sandbox
        .command()
        .args([
            "fork",
            &old_id[..15],
            "--at",
            "implement",
            "--headless",
            "--approve",
            "all",
            "--decisions",
        ])
        .arg(&decisions)
        .output()
        .expect("fork");
    assert_eq!(
        fork.status.code(),
        Some(0),
        "{}{}",
        stdout(&fork),
        stderr(&fork)
    );
    assert!(
        stderr(&fork).contains("as it was at the implement gate"),
        "{}",
        stderr(&fork)
    );
    assert_eq!(
        std::fs::read_to_string(&original).expect("log"),
        original_text,
        "the original is untouched"
    );

    let logs = sandbox.logs();
    let forked = logs.iter().find(|l| **l != original).expect("a new log");
    let new = events(forked);
    let new_id = new[0]["id"].as_str().expect("id");
    assert_ne!(new_id, old_id);
    let gate = old
        .iter()
        .rposition(|e| e["kind"] == "gate_opened" && e["phase"] == "implement")
        .expect("the implement gate");
    for (copy, source) in new[1..=gate].iter().zip(&old[1..=gate]) {
        assert_eq!(copy, source, "the prefix is copied as it was");
    }
    assert_eq!(new[gate + 1]["kind"], "forked");
    assert_eq!(new[gate + 1]["from"], old_id.as_str());
    assert_eq!(new[gate + 1]["at"], "implement");
    assert_eq!(new[gate + 1]["from_seq"], old[gate]["seq"]);
    assert_eq!(new[gate + 1]["seq"], gate + 1, "the envelope's own seq");
    // The fork's log reads back through the real reader, not only as JSON.
    let show = sandbox.run(&["show", new_id, "--json"]);
    assert_eq!(show.status.code(), Some(0), "{}", stderr(&show));
    let decisions = of_kind(&new, "decision");
    assert_eq!(
        decisions.len(),
        7,
        "two copied, then reject and five approvals"
    );
    assert_eq!(
        decisions[2]["action"], "reject",
        "the reopened gate was answered in the fork"
    );
    assert_eq!(new.last().expect("events")["outcome"], "completed");
    let head = Command::new("git")
        .current_dir(&repo)
        .args(["rev-parse", "--abbrev-ref", "HEAD"])
        .output()
        .expect("git");
    assert_eq!(
        String::from_utf8_lossy(&head.stdout).trim(),
        format!("handoff/{new_id}")
    );
}

#[test]
fn a_session_cut_off_mid_plan_resumes_without_redoing_the_tasks_that_passed() {
    let sandbox = Sandbox::new();
    let run = sandbox.run(&["run", "--headless", "--approve", "all", REQUEST]);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    // Cut the log where a crash would have left it: after task 5 (the
    // third maker) started, its earlier tasks through their critiques.
    let log = sandbox.logs()[0].clone();
    let text = std::fs::read_to_string(&log).expect("log");
    let cut = text
        .lines()
        .position(|l| l.contains(r#""kind":"task_started""#) && l.contains(r#""task":5,"#))
        .expect("task 5 started");
    let kept = text.lines().take(cut + 1).collect::<Vec<_>>().join("\n") + "\n";
    std::fs::write(&log, kept).expect("cut the log");

    let resumed = sandbox.resume_approving(&log);
    assert_eq!(resumed.status.code(), Some(0), "{}", stderr(&resumed));
    let events = events(&log);
    let failed = of_kind(&events, "phase_failed");
    assert_eq!(failed.len(), 1);
    assert!(
        failed[0]["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("interrupted"))
    );
    // The second attempt kept tasks 1 to 4 and ran 5 and 6 (7 and 8 were
    // kept or run, depending on how far they had got).
    let second: Vec<(u64, String)> = events
        .iter()
        .filter(|e| e["kind"] == "task_finished" && e["attempt"] == 2)
        .map(|e| {
            let summary = e["summary"].as_str().expect("summary").to_owned();
            (e["task"].as_u64().expect("task"), summary)
        })
        .collect();
    for maker in [1, 3] {
        assert!(
            second.contains(&(maker, "kept from attempt 1".to_owned())),
            "{second:?}"
        );
    }
    assert!(
        second.contains(&(5, String::new())),
        "task 5 ran: {second:?}"
    );
    let usage_in_second = of_kind(&events, "usage")
        .iter()
        .filter(|u| u["phase"] == "implement" && u["attempt"] == 2)
        .count();
    assert!(
        (2..=4).contains(&usage_in_second),
        "only task 5, its critique and perhaps 7 and 8 called the model: {usage_in_second}"
    );
    assert_eq!(events.last().expect("events")["outcome"], "completed");
}

#[test]
fn a_crash_right_after_an_interruption_was_recorded_still_runs_the_attempt_again() {
    let sandbox = Sandbox::new();
    let run = sandbox.run(&["run", "--headless", "--approve", "all", REQUEST]);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    // The log as a resume leaves it when it is killed just after writing
    // that the plan's attempt was interrupted, before the next attempt.
    let log = sandbox.log();
    let text = std::fs::read_to_string(&log).expect("log");
    let mut lines: Vec<&str> = text.lines().collect();
    let started = lines
        .iter()
        .position(|l| l.contains(r#""kind":"phase_started","phase":"plan""#))
        .expect("the plan started");
    lines.truncate(started + 2);
    let failed = format!(
        r#"{{"seq":{},"t":"2026-11-20T10:00:00.000Z","kind":"phase_failed","phase":"plan","attempt":1,"error":"interrupted: handoff stopped while this attempt ran; it runs again as a new attempt"}}"#,
        started + 2
    );
    lines.push(&failed);
    std::fs::write(&log, lines.join("\n") + "\n").expect("write");

    let resumed = sandbox.resume_approving(&log);
    assert_eq!(resumed.status.code(), Some(0), "{}", stderr(&resumed));
    let events = events(&log);
    assert!(
        of_kind(&events, "gate_opened")
            .iter()
            .all(|g| !g["question"].as_str().unwrap_or_default().contains("Retry")),
        "no retry question for an interruption"
    );
    let plan_starts = of_kind(&events, "phase_started")
        .iter()
        .filter(|p| p["phase"] == "plan")
        .map(|p| p["attempt"].as_u64().expect("attempt"))
        .collect::<Vec<_>>();
    assert_eq!(plan_starts, [1, 2]);
    assert_eq!(events.last().expect("events")["outcome"], "completed");
}
