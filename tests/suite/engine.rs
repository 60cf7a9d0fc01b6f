//! The engine against its log: after every event it publishes, folding the
//! log on disk gives exactly the state the engine holds. Exercised through
//! rejections, notes, edits, a failure and retry, a return and refusals.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use handoff::engine::LogWriter;
use handoff::engine::{Engine, SessionSpec};
use handoff::pipeline::{SkillsFile, load_pipeline};
use handoff::protocol::{Command, Sink};
use handoff::provider::offline::{OfflineProvider, Pace};
use handoff::session::log::read_log;
use handoff::session::{
    Action, DecidedBy, Decision, Event, EventKind, PhaseStatus, SessionOutcome, SessionState,
};
use pretty_assertions::assert_eq;
use tokio::sync::mpsc;

#[derive(Default)]
struct Seen {
    checked: usize,
    notices: Vec<String>,
    last_state: Option<SessionState>,
}

/// One scripted command, and whether the engine is expected to take it.
/// A decision that names no gate is bound to the gate open when it is
/// sent, as the TUI binds a person's.
enum Step {
    Take(Command),
    Refuse(Command),
    /// A decision made at the gate before, arriving when the next gate
    /// has opened (a box left open while the session moved on).
    Stale(Command),
}

/// Checks the fold after each event and answers gates from a script.
struct Checker {
    log: PathBuf,
    commands: mpsc::UnboundedSender<Command>,
    script: VecDeque<Step>,
    seen: Arc<Mutex<Seen>>,
    /// The gate that opened before the open one.
    earlier_gate: Option<u64>,
}

impl Sink for Checker {
    fn publish(&mut self, event: &Event, state: &SessionState) {
        let on_disk = read_log(&self.log).expect("the log reads back");
        assert_eq!(
            on_disk.events.last(),
            Some(event),
            "published before it was written"
        );
        let folded = SessionState::from_events(&on_disk.events);
        assert_eq!(
            &folded, state,
            "fold of the log differs from the engine after seq {}",
            event.seq
        );
        let mut seen = self.seen.lock().expect("lock");
        seen.checked += 1;
        seen.last_state = Some(state.clone());
        // A gate opened, or an edit was recorded and the gate is still open.
        let gate_waits = matches!(event.kind, EventKind::GateOpened { .. })
            || matches!(&event.kind, EventKind::Decision(d) if d.action == Action::Edit);
        if gate_waits {
            // Send scripted commands up to and including the next one the
            // engine should take; the refusals before it are expected.
            let open = state.gate.as_ref().map(|g| g.seq);
            let bind = |command: Command, gate: Option<u64>| match command {
                Command::Decide(d) if d.gate.is_none() => {
                    Command::Decide(d.at_gate(gate.expect("a gate to bind to")))
                }
                Command::Summon {
                    gate: 0,
                    phase,
                    utility,
                } => Command::Summon {
                    gate: gate.expect("a gate to bind to"),
                    phase,
                    utility,
                },
                other @ (Command::Decide(_)
                | Command::Cancel
                | Command::Permission(_)
                | Command::Revert { .. }
                | Command::UndoRevert { .. }
                | Command::Summon { .. }) => other,
            };
            while let Some(step) = self.script.pop_front() {
                let (command, taken) = match step {
                    Step::Take(c) => (bind(c, open), true),
                    Step::Refuse(c) => (bind(c, open), false),
                    Step::Stale(c) => (bind(c, self.earlier_gate), false),
                };
                self.commands.send(command).expect("engine listens");
                if taken {
                    break;
                }
            }
            if matches!(event.kind, EventKind::GateOpened { .. }) {
                self.earlier_gate = open;
            }
        }
    }

    fn notice(&mut self, text: String) {
        self.seen.lock().expect("lock").notices.push(text);
    }
}

fn decide(phase: &str, action: Action) -> Decision {
    Decision::new(phase, action, DecidedBy::User)
}

async fn run_session(
    request: &str,
    pace: Pace,
    script: Vec<Step>,
) -> (SessionState, Seen, Vec<Event>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = LogWriter::create(dir.path(), "s").expect("log");
    let path = log.path().to_owned();
    let (commands, commands_rx) = mpsc::unbounded_channel();
    let seen = Arc::new(Mutex::new(Seen::default()));
    let checker = Checker {
        log: path.clone(),
        commands,
        script: script.into(),
        seen: seen.clone(),
        earlier_gate: None,
    };
    let spec = SessionSpec::new(
        "s",
        request,
        load_pipeline(&SkillsFile::builtin(), None).expect("pipeline"),
        Arc::new(OfflineProvider::new(pace)),
        "offline-scripted",
    );
    let engine = Engine::new(spec, log, Box::new(checker), commands_rx);
    let state = engine.run().await.expect("engine runs");
    let events = read_log(&path).expect("read").events;
    let seen = std::mem::take(&mut *seen.lock().expect("lock"));
    (state, seen, events)
}

fn approve(phase: &str) -> Step {
    Step::Take(Command::Decide(decide(phase, Action::Approve)))
}

fn take(decision: Decision) -> Step {
    Step::Take(Command::Decide(decision))
}

#[tokio::test]
async fn the_fold_of_the_log_equals_the_engine_state_after_every_event() {
    let edited = "# Implementation\n\nHand-written by the reviewer.\n";
    let script = vec![
        // Refused: wrong gate, and notes that are empty.
        Step::Refuse(Command::Decide(decide("plan", Action::Approve))),
        Step::Refuse(Command::Decide(Decision {
            notes: Some("  ".into()),
            ..decide("summarize", Action::ApproveWithNotes)
        })),
        take(Decision {
            feedback: Some("Name the exempt clients".into()),
            ..decide("summarize", Action::Reject)
        }),
        approve("summarize"),
        take(Decision {
            notes: Some("Keep Redis optional".into()),
            ..decide("plan", Action::ApproveWithNotes)
        }),
        // An edit keeps the gate open; the approval after it hands on the edit.
        take(Decision {
            content: Some(edited.into()),
            ..decide("implement", Action::Edit)
        }),
        approve("implement"),
        // The test phase fails (see the request): approving it is refused, a retry is taken.
        Step::Refuse(Command::Decide(decide("test", Action::Approve))),
        take(decide("test", Action::Reject)),
        approve("test"),
        // QA returns the work to the plan; plan..validate run again.
        take(Decision {
            to: Some("plan".into()),
            feedback: Some("Missing pagination".into()),
            ..decide("validate", Action::Return)
        }),
        approve("plan"),
        approve("implement"),
        approve("test"),
        approve("validate"),
        approve("commit"),
    ];
    let (state, seen, events) = run_session(
        "Add rate limiting to the orders API !fail:test",
        Pace::INSTANT,
        script,
    )
    .await;
    assert_eq!(seen.checked, events.len());
    assert_eq!(seen.last_state.as_ref(), Some(&state));
    assert_eq!(state.outcome, Some(SessionOutcome::Completed));
    assert_eq!(seen.notices.len(), 3, "{:?}", seen.notices);
    assert!(seen.notices[0].contains("the open gate is `summarize`"));
    assert!(seen.notices[1].contains("notes are empty"));
    assert!(seen.notices[2].contains("has nothing to approve"));

    let attempts: Vec<usize> = state.phases.iter().map(|p| p.attempts.len()).collect();
    assert_eq!(attempts, [2, 2, 2, 3, 2, 1]);
    assert!(
        state
            .phases
            .iter()
            .all(|p| p.status == PhaseStatus::Approved)
    );
    // The human's edit is the implementation's effective text for that attempt.
    assert_eq!(state.phases[2].attempts[0].effective(), Some(edited));
    let returned = events
        .iter()
        .find_map(|e| {
            let EventKind::Returned {
                from,
                to,
                reason,
                automatic: false,
            } = &e.kind
            else {
                return None;
            };
            Some((from.clone(), to.clone(), reason.clone()))
        })
        .expect("a returned event");
    assert_eq!(
        returned,
        (
            "validate".into(),
            "plan".into(),
            "Missing pagination".into()
        )
    );
    // Notes reached a later role.
    let implementation = state.phases[2].attempts[0]
        .artifact
        .as_deref()
        .expect("artifact");
    assert!(implementation.contains("Keep Redis optional"));
    // The retry of summarize answered the feedback.
    let retry = state.phases[0].attempts[1]
        .artifact
        .as_deref()
        .expect("artifact");
    assert!(retry.contains("Name the exempt clients"));
}

#[tokio::test(start_paused = true)]
async fn streaming_at_a_readable_pace_is_coalesced_and_still_folds_the_same() {
    let script = [
        "summarize",
        "plan",
        "implement",
        "test",
        "validate",
        "commit",
    ]
    .map(approve)
    .into();
    let (state, seen, events) =
        run_session("Add an audit log to payments", Pace::READABLE, script).await;
    assert_eq!(state.outcome, Some(SessionOutcome::Completed));
    assert_eq!(seen.checked, events.len());
    let outputs = events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::Output { .. }))
        .count();
    // About a thousand chunks (the plan and the verdict are pretty-printed
    // JSON), coalesced into a few hundred events at most.
    let words: usize = state
        .phases
        .iter()
        .map(|p| p.attempts[0].output.split_whitespace().count())
        .sum();
    assert!(words > 1000, "{words} words");
    assert!(
        (12..words / 4).contains(&outputs),
        "{outputs} output events"
    );
    for p in &state.phases {
        let a = &p.attempts[0];
        let artifact = a.artifact.as_deref().expect("artifact").trim();
        if a.tasks.is_empty() {
            assert_eq!(a.output.trim(), artifact);
        } else {
            // Run task by task: each maker's streamed report is in the
            // artifact, rendered from its JSON for people.
            for t in a.tasks.iter().filter(|t| t.critique_of.is_none()) {
                assert!(!t.output.is_empty(), "task {} streamed", t.task);
                let report = handoff::formats::report::as_markdown(&t.output);
                assert!(report.contains("**Done.**"), "task {}: {report}", t.task);
                assert!(artifact.contains(report.trim()), "task {}", t.task);
            }
        }
    }
}

#[tokio::test]
async fn abort_finishes_the_session_and_reject_is_refused_after_max_attempts() {
    let feedback = |n: usize| Decision {
        feedback: Some(format!("again {n}")),
        ..decide("summarize", Action::Reject)
    };
    let script = vec![
        take(feedback(1)),
        take(feedback(2)),
        // The third attempt is the last one allowed (max_attempts = 3).
        Step::Refuse(Command::Decide(feedback(3))),
        take(decide("summarize", Action::Abort)),
    ];
    let (state, seen, events) = run_session("Add X", Pace::INSTANT, script).await;
    assert_eq!(state.outcome, Some(SessionOutcome::Aborted));
    assert_eq!(state.phases[0].attempts.len(), 3);
    assert!(
        seen.notices
            .iter()
            .any(|n| n.contains("has used all 3 attempts")),
        "{:?}",
        seen.notices
    );
    let last = events.last().expect("events");
    assert_eq!(
        last.kind,
        EventKind::SessionFinished {
            outcome: SessionOutcome::Aborted
        }
    );
}

/// `max_attempts` bounds what a person decided at a phase's own gate:
/// two returns from the plan bring the summary to its third attempt, and
/// still two rejections are taken there; only a third is refused.
#[tokio::test]
async fn returns_do_not_use_up_the_rejections_max_attempts_allows() {
    let back = || Decision {
        to: Some("summarize".into()),
        feedback: Some("the scope is wrong".into()),
        ..decide("plan", Action::Return)
    };
    let feedback = |n: usize| Decision {
        feedback: Some(format!("again {n}")),
        ..decide("summarize", Action::Reject)
    };
    let script = vec![
        approve("summarize"),
        take(back()),
        approve("summarize"),
        take(back()),
        // Attempt 3 of max_attempts = 3, and no rejection used yet.
        take(feedback(1)),
        take(feedback(2)),
        Step::Refuse(Command::Decide(feedback(3))),
        take(decide("summarize", Action::Abort)),
    ];
    // A rejection refused too early leaves the script waiting for a gate
    // that never opens again: fail instead of hanging.
    let (state, seen, _) = tokio::time::timeout(
        std::time::Duration::from_secs(30),
        run_session("Add X", Pace::INSTANT, script),
    )
    .await
    .expect("a rejection the script expected taken was refused");
    assert_eq!(state.outcome, Some(SessionOutcome::Aborted));
    let summarize = &state.phases[0];
    assert_eq!(summarize.attempts.len(), 5);
    assert_eq!(summarize.rejections(), 2);
    assert_eq!(summarize.rejections_left(3), 0);
    assert_eq!(seen.notices.len(), 1, "{:?}", seen.notices);
    assert!(
        seen.notices[0].contains("has used all 3 attempts"),
        "{:?}",
        seen.notices
    );
}

/// A person approves Test, and feedback typed at Test's gate arrives once
/// QA's gate is open (the box was still open as the session moved on). It
/// answers a gate that is closed, so it is refused and nothing is recorded:
/// QA is not rejected by a decision made for Test.
#[tokio::test]
async fn a_decision_for_a_gate_that_has_closed_is_refused_not_applied_to_the_next() {
    let script = vec![
        approve("summarize"),
        approve("plan"),
        approve("implement"),
        approve("test"),
        Step::Stale(Command::Decide(Decision {
            feedback: Some("meant for the Test Engineer".into()),
            ..decide("validate", Action::Reject)
        })),
        approve("validate"),
        approve("commit"),
    ];
    let (state, seen, events) =
        run_session("Add rate limiting to the orders API", Pace::INSTANT, script).await;
    assert_eq!(state.outcome, Some(SessionOutcome::Completed));
    assert_eq!(seen.notices.len(), 1, "{:?}", seen.notices);
    assert!(
        seen.notices[0].contains("which is closed"),
        "{:?}",
        seen.notices
    );
    let rejections = events
        .iter()
        .filter(|e| matches!(&e.kind, EventKind::Decision(d) if d.action == Action::Reject))
        .count();
    assert_eq!(rejections, 0, "nothing was rejected");
    assert_eq!(state.phases[4].attempts.len(), 1, "QA ran once");
    // Every recorded decision names the gate it answered.
    for event in &events {
        if let EventKind::Decision(d) = &event.kind {
            let gate = d.gate.expect("bound to a gate");
            assert!(
                matches!(&events[usize::try_from(gate).expect("seq")].kind,
                    EventKind::GateOpened { phase, .. } if *phase == d.phase),
                "{d:?}"
            );
        }
    }
}

fn summon(phase: &str, utility: &str) -> Command {
    Command::Summon {
        gate: 0,
        phase: phase.into(),
        utility: utility.into(),
    }
}

/// A utility summoned at a gate is recorded (the fold of the log still
/// equals the engine's state) before the decision that leaves the gate,
/// which waits for it; an unknown utility, or a summons for a gate that
/// has closed, is refused and records nothing.
#[tokio::test]
async fn a_summoned_utility_is_recorded_before_the_gate_is_left() {
    let script = vec![
        approve("summarize"),
        Step::Refuse(summon("plan", "nosuch")),
        approve("plan"),
        Step::Stale(summon("plan", "debugger")),
        Step::Refuse(summon("implement", "debugger")),
        approve("implement"),
        approve("test"),
        approve("validate"),
        approve("commit"),
    ];
    let (state, seen, events) = run_session("Add an audit log", Pace::BRISK, script).await;
    assert_eq!(state.outcome, Some(SessionOutcome::Completed));
    let utilities: Vec<&Event> = events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::Utility { .. }))
        .collect();
    assert_eq!(utilities.len(), 1, "{:?}", seen.notices);
    let decided = events
        .iter()
        .find(|e| matches!(&e.kind, EventKind::Decision(d) if d.phase == "implement"))
        .expect("decided");
    assert!(utilities[0].seq < decided.seq);
    assert!(
        seen.notices
            .iter()
            .any(|n| n.starts_with("no utility `nosuch` (this pipeline has: debugger, ")),
        "{:?}",
        seen.notices
    );
    assert!(
        seen.notices
            .iter()
            .any(|n| n == "`debugger` was summoned at a checkpoint that has closed"),
        "{:?}",
        seen.notices
    );
    assert_eq!(state.reports_for("validate").len(), 1);
    assert_eq!(state.phases[2].utilities[0].utility, "debugger");
}
