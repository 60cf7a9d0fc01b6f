//! Seed 001 (the workflow): which pipeline a request runs, by the most
//! specific trigger; a request no trigger matches is not run until someone
//! names a pipeline; and the manager's first line says what it detected and
//! who gets the work.

use crate::common;

use common::pty::{self, Term};
use common::{REQUEST, Sandbox, stderr, stdout};

/// The first line a headless run prints, and the run's exit code.
fn first_line(sandbox: &Sandbox, args: &[&str]) -> (String, Option<i32>) {
    let output = sandbox.run(args);
    let out = stdout(&output);
    let first = out.lines().next().unwrap_or_default().to_owned();
    (first, output.status.code())
}

#[test]
fn the_manager_says_what_it_detected_and_who_gets_the_work_first() {
    let sandbox = Sandbox::new();
    let (first, code) = first_line(
        &sandbox,
        &["run", "--headless", "--approve", "all", REQUEST],
    );
    assert_eq!(code, Some(0));
    assert!(
        first.contains(
            "Backend feature detected: “Add rate limiting to the orders API” (matched “add *”) \
             · assigning to Business Analyst, then Solution Architect → Senior Backend Developer \
             → Test Engineer → QA Engineer → DevOps Engineer"
        ),
        "{first}"
    );
    // The log keeps how the pipeline was chosen, for replay and show.
    let events = sandbox.events();
    assert_eq!(events[0]["detected"], "matched “add *”");
}

#[test]
fn the_most_specific_trigger_wins_over_a_word_another_pipeline_watches_for() {
    let sandbox = Sandbox::new();
    // "*idea*" is the discovery pipeline's; "build a backend for *" says more.
    let (first, _) = first_line(
        &sandbox,
        &[
            "run",
            "--headless",
            "--approve",
            "all",
            "Build a backend for idea voting",
        ],
    );
    assert!(
        first.starts_with(
            "00:00.000  Backend feature detected: “Build a backend for idea voting” \
             (matched “build a backend for *”)"
        ),
        "{first}"
    );
    let (first, _) = first_line(
        &sandbox,
        &[
            "run",
            "--headless",
            "--approve",
            "all",
            "I have an idea for a referral programme",
        ],
    );
    assert!(first.contains("” (matched “*idea*”)"), "{first}");
    assert!(first.contains("Discovery"), "{first}");
}

#[test]
fn a_request_no_trigger_matches_is_not_run_without_a_pipeline_named() {
    let sandbox = Sandbox::new();
    let output = sandbox.run(&["run", "--headless", "Write me a poem about cats"]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output).contains(
            "no pipeline's triggers match the request “Write me a poem about cats”: name the \
             pipeline to run it with, --pipeline NAME (backend, discovery, go-collab)"
        ),
        "{}",
        stderr(&output)
    );
    assert!(sandbox.logs().is_empty(), "no session was started");

    // Named, it runs, and its first line says so.
    let (first, code) = first_line(
        &sandbox,
        &[
            "run",
            "--headless",
            "--approve",
            "all",
            "--pipeline",
            "backend",
            "Write me a poem about cats",
        ],
    );
    assert_eq!(code, Some(0));
    assert!(
        first.contains(
            "Backend feature detected: “Write me a poem about cats” (named with --pipeline)"
        ),
        "{first}"
    );
}

#[test]
fn in_the_tui_a_request_no_trigger_matches_asks_which_pipeline() {
    let sandbox = Sandbox::new();
    let mut cmd = pty::handoff(sandbox.dir.path(), &["run", "Write me a poem about cats"]);
    cmd.env("HANDOFF_OFFLINE_PACE", "instant");
    let mut screen = Term::spawn(cmd, 120, 30);
    screen.wait_for("No pipeline's triggers match this request");
    screen.wait_for("Discovery to delivery (discovery)");
    // Down to the second offer, and choose it.
    screen.press("j");
    screen.press("\r");
    screen.wait_for("“Write me a poem about cats” (chosen by you: no trigger matched)");
    assert_eq!(screen.alternate_screen(), (1, 0), "one terminal throughout");
    screen.wait_for("Ready to assign Idea Interviewer?");
    screen.press("q");
    screen.wait_for("Quit now?");
    screen.press("y");
    assert_eq!(screen.exit_code(), 3);
    let events = common::events(&sandbox.log());
    assert_eq!(events[0]["pipeline"]["name"], "discovery");

    // Esc leaves without a session.
    let mut cmd = pty::handoff(sandbox.dir.path(), &["run", "Write me a poem about dogs"]);
    cmd.env("HANDOFF_OFFLINE_PACE", "instant");
    let mut screen = Term::spawn(cmd, 120, 30);
    screen.wait_for("No pipeline's triggers match this request");
    screen.press("\u{1b}");
    assert_eq!(screen.exit_code(), 0);
    assert_eq!(sandbox.logs().len(), 1);
}
