//! The recorded example session the README points to still loads, folds to
//! a finished session, and replays.

use crate::common;

use std::path::Path;

use handoff::session::store;
use handoff::session::{Action, PhaseStatus, SessionOutcome, SessionStatus};

const EXAMPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/sessions/example-rate-limiting.jsonl"
);

#[test]
fn the_example_session_folds_to_finished() {
    let loaded = store::load(Path::new(EXAMPLE)).expect("the example loads");
    assert_eq!(loaded.torn_line, None);
    let state = &loaded.state;
    assert_eq!(loaded.status, SessionStatus::Finished);
    assert_eq!(state.outcome, Some(SessionOutcome::Completed));
    assert_eq!(state.provider, "offline");
    assert_eq!(state.phases.len(), 6);
    assert!(
        state
            .phases
            .iter()
            .all(|p| p.status == PhaseStatus::Approved)
    );
    // It shows a checkpoint doing its work: a rejection with feedback, then notes.
    let first = &state.phases[0];
    assert_eq!(first.attempts.len(), 2);
    assert_eq!(first.decisions[0].decision.action, Action::Reject);
    assert!(
        first.attempts[1]
            .artifact
            .as_deref()
            .is_some_and(|a| a.contains("exempt"))
    );
    assert_eq!(
        state.phases[1].decisions[0].decision.action,
        Action::ApproveWithNotes
    );
    // And the method: the plan run task by task, one task sent back by its
    // critique, and QA's failing verdict returning the work once.
    let implement = &state.phases[2];
    assert_eq!(implement.attempts.len(), 2);
    let tasks = &implement.attempts[0].tasks;
    assert_eq!(tasks.len(), 8);
    assert!(tasks.iter().any(|t| t.task == 3 && t.round == 2));
    assert_eq!(state.phases[4].automatic_returns(), 1);
    // Its plan keeps seed 003's rules as they are checked today.
    let plan = state.phases[1].effective_artifact().expect("a plan");
    assert_eq!(state.read_errors(1, plan), Vec::<String>::new());
    let read = handoff::formats::plan::read(plan).expect("the plan reads");
    assert_eq!(read.corrections(), Vec::<String>::new());
}

#[test]
fn the_example_session_replays_headless() {
    let sandbox = common::Sandbox::new();
    let output = sandbox.run(&["replay", EXAMPLE, "--headless", "--speed", "max"]);
    assert_eq!(output.status.code(), Some(0), "{}", common::stderr(&output));
    let out = common::stdout(&output);
    assert!(
        out.contains("reject by policy: Say which clients are exempt"),
        "{out}"
    );
    assert!(out.trim_end().ends_with("tokens"), "{out}");
}
