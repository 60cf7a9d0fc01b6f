//! End to end: the real binary in a pseudo-terminal, its screen read back
//! with a VT100 parser, driven with key presses as a user would.

use crate::common;

use common::pty::{self, Term};
use common::{REQUEST, Sandbox, of_kind};

const QUESTIONS: [&str; 6] = [
    "Ready to assign Solution Architect?",
    "Ready to assign Senior Backend Developer?",
    "Ready to assign Test Engineer?",
    "Ready to assign QA Engineer?",
    "Ready to assign DevOps Engineer?",
    "Ready to finish the session?",
];

const ROLES: [&str; 6] = [
    "Business Analyst",
    "Solution Architect",
    "Senior Backend Developer",
    "Test Engineer",
    "QA Engineer",
    "DevOps Engineer",
];

/// `handoff` on the sandbox's sessions in a pseudo-terminal of a given
/// size, the offline model at `pace`.
fn spawn(sandbox: &Sandbox, cols: u16, rows: u16, args: &[&str], pace: &str) -> Term {
    let mut cmd = pty::handoff(sandbox.dir.path(), args);
    cmd.env("HANDOFF_OFFLINE_PACE", pace);
    Term::spawn(cmd, cols, rows)
}

/// Runs a whole session at one terminal size, approving each gate by key.
fn approve_every_gate(cols: u16, rows: u16, pace: &str) -> Sandbox {
    let sandbox = Sandbox::new();
    let mut screen = spawn(&sandbox, cols, rows, &["run", REQUEST], pace);
    screen.wait_for(QUESTIONS[0]);
    let board = screen.contents();
    for (i, role) in ROLES.iter().enumerate() {
        // Titles are clipped in narrow columns; the start must show.
        let title = format!("{} {}", i + 1, &role[..4]);
        assert!(board.contains(&title), "column `{title}` missing:\n{board}");
    }
    assert!(
        board.contains("offline"),
        "the offline provider is labelled:\n{board}"
    );
    for (i, question) in QUESTIONS.iter().enumerate() {
        screen.wait_for(question);
        screen.press("a");
        if i + 1 < QUESTIONS.len() {
            screen.wait_until("the gate to close", |s| !s.contains(question));
        }
    }
    screen.wait_for("Session finished: completed");
    screen.press("q");
    assert_eq!(screen.exit_code(), 0);
    sandbox
}

fn approvals(sandbox: &Sandbox) -> Vec<serde_json::Value> {
    let events = sandbox.events();
    of_kind(&events, "decision").into_iter().cloned().collect()
}

#[test]
fn a_whole_session_by_keyboard_at_80x24() {
    let sandbox = approve_every_gate(80, 24, "instant");
    let decisions = approvals(&sandbox);
    assert_eq!(decisions.len(), 6);
    for d in &decisions {
        assert_eq!(d["action"], "approve");
        assert_eq!(d["by"], "user");
    }
}

#[test]
fn a_whole_session_by_keyboard_at_200x50_then_replayed() {
    let sandbox = approve_every_gate(200, 50, "instant");
    assert_eq!(approvals(&sandbox).len(), 6);
    let log = sandbox.log();
    let mut replay = spawn(
        &sandbox,
        200,
        50,
        &["replay", log.to_str().expect("path"), "--speed", "max"],
        "instant",
    );
    replay.wait_for("REPLAY");
    replay.wait_for("Session finished: completed");
    replay.press("q");
    assert_eq!(replay.exit_code(), 0);
}

#[test]
fn streaming_shows_progress_and_quitting_mid_run_asks_first() {
    let sandbox = Sandbox::new();
    let mut screen = spawn(&sandbox, 120, 40, &["run", REQUEST], "readable");
    screen.wait_for("Business Analyst is working on the requirements");
    screen.press("q");
    screen.wait_for("Quit now?");
    screen.press("n");
    screen.wait_until("the prompt to close", |s| !s.contains("Quit now?"));
    screen.wait_for(QUESTIONS[0]);
    screen.press("a");
    screen.wait_for("Solution Architect is working on the plan");
    screen.press("q");
    screen.wait_for("Quit now?");
    screen.press("y");
    // Quitting mid-run is not a finished session; how to go on is printed.
    assert_eq!(screen.exit_code(), 1);
    let log = sandbox.log();
    let id = log
        .file_stem()
        .expect("stem")
        .to_string_lossy()
        .into_owned();
    let printed = String::from_utf8_lossy(&screen.finish()).into_owned();
    assert!(
        printed.contains(&format!("handoff resume {id}")),
        "{printed}"
    );
    let events = common::events(&log);
    assert_eq!(of_kind(&events, "decision").len(), 1);
    assert!(of_kind(&events, "session_finished").is_empty());
    // Nobody writes the log any more: it reads as interrupted.
    let show = sandbox
        .bare_command()
        .args(["show", "--json"])
        .arg(&log)
        .output()
        .expect("show");
    let state: serde_json::Value = serde_json::from_slice(&show.stdout).expect("json");
    assert_eq!(state["status"], "interrupted");
    assert_eq!(state["phases"][1]["status"], "running");
}

#[test]
fn with_no_arguments_the_request_is_typed_in_a_box() {
    let sandbox = Sandbox::new();
    let mut screen = spawn(&sandbox, 100, 30, &[], "instant");
    screen.wait_for("What should the team build?");
    screen.press("Add an audit log");
    screen.wait_for("Add an audit log");
    // Alt-Enter (Esc, then Enter) adds a line; ctrl-z takes back a word.
    screen.press("\u{1b}\rKeep it small today");
    screen.wait_for("Keep it small today");
    screen.press("\u{1a}");
    screen.wait_until("the last word undone", |s| !s.contains("today"));
    screen.press("\r");
    screen.wait_for(QUESTIONS[0]);
    // From the start screen into the session on one held terminal: it
    // was taken over once and never given back in between (no flicker
    // through the shell).
    assert_eq!(screen.alternate_screen(), (1, 0));
    screen.press("q");
    screen.wait_for("Quit now?");
    screen.press("y");
    assert_eq!(screen.exit_code(), 3, "quit at a gate: awaiting a human");
    screen.pump();
    assert_eq!(
        screen.alternate_screen(),
        (1, 1),
        "given back once, at the end"
    );
    let log = sandbox.log();
    let events = common::events(&log);
    assert_eq!(events[0]["request"], "Add an audit log\nKeep it small");

    // The start screen lists the session; Enter on it resumes at its gate.
    let mut screen = spawn(&sandbox, 120, 30, &[], "instant");
    screen.wait_for("Recent sessions");
    screen.wait_for("Add an audit log");
    screen.press("\t");
    screen.press("audit");
    screen.wait_for("filter “audit”");
    screen.press("\r");
    screen.wait_for(QUESTIONS[0]);
    screen.press("a");
    screen.wait_for(QUESTIONS[1]);
    screen.press("q");
    screen.wait_for("Quit now?");
    screen.press("y");
    assert_eq!(screen.exit_code(), 3);
    let events = common::events(&log);
    assert_eq!(
        of_kind(&events, "decision").len(),
        1,
        "resumed in the same log"
    );

    // ctrl-r replays a session from the list; q comes back to the list.
    let mut screen = spawn(&sandbox, 120, 30, &[], "instant");
    screen.wait_for("Add an audit log");
    screen.press("\t");
    screen.press("\u{12}");
    screen.wait_for("REPLAY");
    screen.press("q");
    screen.wait_for("What should the team build?");
    assert_eq!(
        screen.alternate_screen(),
        (1, 0),
        "one terminal for both views"
    );
    screen.press("\u{1b}");
    assert_eq!(screen.exit_code(), 0);

    // ctrl-t shows the stats across sessions; q comes back to the box.
    let mut screen = spawn(&sandbox, 100, 30, &["run"], "instant");
    screen.wait_for("What should the team build?");
    screen.press("\u{14}");
    screen.wait_for("completion by phase");
    screen.wait_for("1 session ");
    screen.wait_for("awaiting 1");
    screen.press("q");
    screen.wait_for("What should the team build?");
    // Esc in the box leaves without a session.
    screen.press("\u{1b}");
    assert_eq!(screen.exit_code(), 0);
    assert_eq!(sandbox.logs().len(), 1);
}

#[test]
fn the_stats_view_runs_on_its_own_and_q_leaves() {
    let sandbox = Sandbox::new();
    let mut screen = spawn(&sandbox, 100, 30, &["stats", "--tui"], "instant");
    screen.wait_for("No sessions yet");
    // Counting again is offered and keeps the screen.
    screen.press("r");
    screen.wait_for("count again");
    screen.press("q");
    assert_eq!(screen.exit_code(), 0);
}

const CTRL_S: &str = "\u{13}";

#[test]
fn reject_edit_notes_and_return_by_keyboard() {
    let sandbox = Sandbox::new();
    let mut screen = spawn(&sandbox, 120, 40, &["run", REQUEST], "instant");
    screen.wait_for(QUESTIONS[0]);

    // Reject with feedback: attempt 2 runs and the same gate asks again.
    screen.press("r");
    screen.wait_for("Feedback for the Business Analyst");
    screen.press("Name the exempt clients");
    screen.press(CTRL_S);
    screen.wait_for("attempt 2 · ");
    screen.wait_for(QUESTIONS[0]);

    // Edit: a new acceptance criterion the architect must pick up.
    screen.press("e");
    screen.wait_for("Editing the requirements");
    screen.press("- [ ] AC-9: Bursts of 20 are allowed\r");
    screen.press(CTRL_S);
    screen.wait_for("edit saved");
    screen.press("a");

    // Approve the plan with notes.
    screen.wait_for(QUESTIONS[1]);
    screen.press("n");
    screen.wait_for("Notes for every role after the Solution Architect");
    screen.press("Keep Redis optional");
    screen.press(CTRL_S);

    // Return the implementation to the plan.
    screen.wait_for(QUESTIONS[2]);
    screen.press("b");
    screen.wait_for("Return the Senior Backend Developer's work to:");
    screen.press("\r");
    screen.wait_for("Why return work to the Solution Architect?");
    screen.press("The plan forgot pagination");
    screen.press(CTRL_S);
    screen.wait_for(QUESTIONS[1]);
    screen.press("q");
    screen.wait_for("Quit now?");
    screen.press("y");
    assert_eq!(screen.exit_code(), 3);

    let events = sandbox.events();
    let decisions = of_kind(&events, "decision");
    let actions: Vec<_> = decisions
        .iter()
        .map(|d| d["action"].as_str().expect("action"))
        .collect();
    assert_eq!(
        actions,
        ["reject", "edit", "approve", "approve_with_notes", "return"]
    );
    assert_eq!(decisions[0]["feedback"], "Name the exempt clients");
    assert_eq!(decisions[3]["notes"], "Keep Redis optional");
    assert_eq!(decisions[4]["to"], "plan");
    assert_eq!(decisions[4]["feedback"], "The plan forgot pagination");
    let edited = decisions[1]["content"].as_str().expect("content");
    assert!(
        edited.starts_with("- [ ] AC-9: Bursts of 20 are allowed\n"),
        "{edited}"
    );
    // The architect read the edited requirements.
    let plan = of_kind(&events, "artifact")
        .into_iter()
        .find(|a| a["phase"] == "plan")
        .expect("plan");
    assert!(
        plan["content"]
            .as_str()
            .is_some_and(|c| c.contains("AC-9: Bursts of 20 are allowed"))
    );
    let returned = of_kind(&events, "returned");
    assert_eq!(returned[0]["from"], "implement");
    assert_eq!(returned[0]["to"], "plan");
    let plan_runs = of_kind(&events, "phase_started")
        .into_iter()
        .filter(|e| e["phase"] == "plan")
        .count();
    assert_eq!(plan_runs, 2);
}

#[test]
fn cancel_a_running_phase_retry_it_and_survive_a_resize_to_80x24() {
    let sandbox = Sandbox::new();
    let mut screen = spawn(&sandbox, 160, 40, &["run", REQUEST], "readable");
    screen.wait_for("Business Analyst is working on the requirements");
    screen.press("c");
    screen.wait_for("Business Analyst failed. Retry?");
    screen.wait_for("cancelled by the user");
    screen.press("r");
    screen.wait_for("Retry the Business Analyst as attempt 2");
    screen.press(CTRL_S);
    screen.wait_for("attempt 2 · ");

    // Shrink the terminal mid-run: the narrow layout takes over.
    screen.resize(80, 24);
    screen.wait_for(QUESTIONS[0]);
    screen.wait_until("the phase strip", |s| {
        s.contains("1 Business") && s.contains("6 DevOps")
    });
    screen.press("a");
    screen.wait_for("Solution Architect is working on the plan");
    screen.press("q");
    screen.wait_for("Quit now?");
    screen.press("y");
    assert_eq!(screen.exit_code(), 1);

    let events = sandbox.events();
    let failed = of_kind(&events, "phase_failed");
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["error"], "cancelled by the user");
    let decisions = of_kind(&events, "decision");
    assert_eq!(decisions[0]["action"], "reject");
    assert!(
        decisions[0].get("feedback").is_none(),
        "a retry without a note"
    );
    assert_eq!(decisions[1]["action"], "approve");
}

#[test]
fn a_user_keymap_rebinds_keys_and_the_footer_follows_and_the_bell_can_be_turned_off() {
    let sandbox = Sandbox::new();
    let mut screen = spawn(&sandbox, 120, 30, &["run", REQUEST], "instant");
    screen.wait_for(QUESTIONS[0]);
    assert!(screen.bells >= 1, "a bell rings when a gate opens");
    screen.press("q");
    screen.wait_for("Quit now?");
    screen.press("y");
    screen.exit_code();

    std::fs::write(
        sandbox.config_dir().join("keymap.toml"),
        "[[board]]\non = \"y\"\naction = \"approve\"\n",
    )
    .expect("keymap");
    sandbox.config("bell = false\n");
    let mut screen = spawn(&sandbox, 120, 30, &["run", REQUEST], "instant");
    screen.wait_for(QUESTIONS[0]);
    screen.wait_for(" y approve");
    assert_eq!(screen.bells, 0, "bell = false");
    screen.press("a");
    screen.press("y");
    screen.wait_for(QUESTIONS[1]);
    screen.press("q");
    screen.wait_for("Quit now?");
    screen.press("y");
    assert_eq!(screen.exit_code(), 3);
}

#[test]
fn the_tui_names_the_model_shows_a_failure_and_offers_a_retry() {
    use common::server::{TestServer, answer, status};
    let server = TestServer::start(|n, request| match n {
        0 => status(503, &[], "busy"),
        _ => answer(
            &format!("# {} artifact\n", common::server::role_of(request)),
            40,
            8,
        ),
    });
    let sandbox = Sandbox::new();
    sandbox.config("[retries]\nmax = 0\n");
    let mut screen = spawn(
        &sandbox,
        140,
        30,
        &[
            "run",
            "--base-url",
            &server.base_url,
            "--model",
            "test-model",
            REQUEST,
        ],
        "instant",
    );
    screen.wait_for("Business Analyst failed. Retry?");
    let board = screen.contents();
    assert!(
        board.contains(" openai ") && board.contains("model test-model"),
        "{board}"
    );
    assert!(board.contains("503"), "the card shows the reason:\n{board}");
    screen.press("r");
    screen.wait_for("Retry the Business Analyst as attempt 2");
    screen.press(CTRL_S);
    screen.wait_for(QUESTIONS[0]);
    screen.wait_for("48 tok");
    screen.press("q");
    screen.wait_for("Quit now?");
    screen.press("y");
    assert_eq!(screen.exit_code(), 3);
}

#[test]
fn a_permission_prompt_is_answered_by_keyboard() {
    let sandbox = Sandbox::new();
    let repo = common::repository(sandbox.dir.path());
    // `ls` must be asked about in this pipeline.
    let skills =
        include_str!("../../skills.toml").replace("\"ls*\" = \"allow\"", "\"ls*\" = \"ask\"");
    std::fs::write(sandbox.dir.path().join("skills.toml"), skills).expect("skills");
    let decisions_free = ["run", "--workspace", repo.to_str().expect("path"), REQUEST];
    let mut screen = spawn(&sandbox, 140, 36, &decisions_free, "instant");
    for question in &QUESTIONS[..2] {
        screen.wait_for(question);
        screen.press("a");
    }
    screen.wait_for("wants to run:");
    screen.wait_for("$ ls handoff-notes");
    screen.wait_for("always `ls handoff-notes`");
    screen.press("y");
    // The command ran in the first task; its result is checked in the log.
    screen.wait_for(QUESTIONS[2]);
    screen.press("q");
    screen.wait_for("Quit now?");
    screen.press("y");
    assert_eq!(screen.exit_code(), 3);
    let events = sandbox.events();
    let asked = of_kind(&events, "permission_asked");
    assert_eq!(asked.len(), 1);
    let answer = of_kind(&events, "permission")
        .into_iter()
        .find(|p| p["call_id"] == asked[0]["call_id"])
        .expect("answer")
        .clone();
    assert_eq!(answer["decision"], "allow");
    assert_eq!(answer["by"], "user");
    let result = of_kind(&events, "tool_result")
        .into_iter()
        .find(|r| r["call_id"] == asked[0]["call_id"])
        .expect("result")
        .clone();
    assert_eq!(result["ok"], true);
    assert_eq!(result["summary"], "exit 0");
}

#[test]
fn a_write_the_write_policy_asks_about_is_answered_by_keyboard() {
    let sandbox = Sandbox::new();
    let repo = common::repository(sandbox.dir.path());
    // Writes are allowed but the first task's note must be asked about.
    let skills = include_str!("../../skills.toml").replace(
        "[pipelines.backend.permissions]",
        "[pipelines.backend.write_permissions]\n\"*\" = \"allow\"\n\"*/task-1.md\" = \"ask\"\n\n[pipelines.backend.permissions]",
    );
    std::fs::write(sandbox.dir.path().join("skills.toml"), skills).expect("skills");
    let decisions_free = ["run", "--workspace", repo.to_str().expect("path"), REQUEST];
    let mut screen = spawn(&sandbox, 140, 36, &decisions_free, "instant");
    for question in &QUESTIONS[..2] {
        screen.wait_for(question);
        screen.press("a");
    }
    screen.wait_for("wants to write:");
    screen.wait_for("handoff-notes/rate-limiting-orders/task-1.md");
    screen.wait_for("a always `write_file handoff-notes/");
    screen.press("a");
    screen.wait_for(QUESTIONS[2]);
    screen.press("q");
    screen.wait_for("Quit now?");
    screen.press("y");
    assert_eq!(screen.exit_code(), 3);
    let events = sandbox.events();
    let asked = of_kind(&events, "permission_asked");
    assert_eq!(asked.len(), 1, "{asked:?}");
    assert_eq!(asked[0]["tool"], "write_file");
    let answer = of_kind(&events, "permission")
        .into_iter()
        .find(|p| p["call_id"] == asked[0]["call_id"])
        .expect("answer")
        .clone();
    assert_eq!(answer["decision"], "allow");
    assert_eq!(answer["by"], "user");
    assert_eq!(
        answer["pattern"],
        "write_file handoff-notes/rate-limiting-orders/task-1.md"
    );
    assert!(
        repo.join("handoff-notes/rate-limiting-orders/task-1.md")
            .exists()
    );
}

#[test]
fn a_bad_theme_is_reported_before_any_session_starts() {
    let sandbox = Sandbox::new();
    let mut term = spawn(
        &sandbox,
        80,
        24,
        &["--theme", "nosuch", "run", REQUEST],
        "instant",
    );
    assert_eq!(term.exit_code(), 2);
    term.wait_for("nosuch");
    assert!(sandbox.logs().is_empty(), "no session was created");
}

/// Text as a terminal sends a paste with bracketed paste on.
fn bracketed(text: &str) -> String {
    format!("\x1b[200~{text}\x1b[201~")
}

/// A paste is text, never keys: "ok, approve" pasted on the board at the
/// first gate approves nothing and says so; pasted into the feedback box,
/// 25 KB of lines go in whole at once and are the feedback recorded.
#[test]
fn a_paste_on_the_board_runs_nothing_and_a_paste_in_a_box_goes_in_whole() {
    let sandbox = Sandbox::new();
    let mut screen = spawn(&sandbox, 160, 40, &["run", REQUEST], "instant");
    screen.wait_for(QUESTIONS[0]);
    screen.press(&bracketed("ok, approve"));
    screen.wait_for("pasted text is ignored here: open a box first (n notes, r feedback, e edit)");

    // The gate is still the analyst's: `r` opens its feedback box.
    screen.press("r");
    screen.wait_for("Feedback for the Business Analyst");
    let feedback: String = (1..=400)
        .map(|i| format!("line {i:03}: the limit applies per client and per route, not globally"))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(feedback.len() >= 25_000, "{}", feedback.len());
    screen.press(&bracketed(&feedback));
    // Typed as keys this took minutes; pasted it shows at once.
    screen.wait_for_within("line 400: the limit", std::time::Duration::from_secs(10));
    screen.press(CTRL_S);
    screen.wait_for("attempt 2 · ");
    screen.wait_for(QUESTIONS[0]);
    screen.press("q");
    screen.wait_for("Quit now?");
    screen.press("y");
    let written = screen.finish();
    assert!(
        written.windows(8).any(|w| w == b"\x1b[?2004h"),
        "bracketed paste is turned on"
    );

    let events = sandbox.events();
    let decisions = of_kind(&events, "decision");
    assert_eq!(decisions.len(), 1, "{decisions:?}");
    assert_eq!(decisions[0]["action"], "reject");
    let recorded = decisions[0]["feedback"].as_str().expect("feedback");
    assert_eq!(recorded.len(), feedback.len());
    assert!(
        recorded == feedback,
        "the feedback recorded is the text pasted"
    );
}

/// At the developer's gate the person reads the code itself: `Tab` opens
/// what the phase changed in the real git workspace, `]` walks the files,
/// `Tab` goes back to the report; `c` comments on a line and a rejection
/// carries the comment. After it, the next gate's change is the new
/// round's only: the few lines the second attempt rewrote.
#[test]
fn the_developers_change_is_reviewed_at_its_gate_in_a_real_workspace() {
    let sandbox = Sandbox::new();
    let repo = common::repository(sandbox.dir.path());
    let args = ["run", "--workspace", repo.to_str().expect("path"), REQUEST];
    let mut screen = spawn(&sandbox, 160, 45, &args, "instant");
    for question in &QUESTIONS[..2] {
        screen.wait_for(question);
        screen.press("a");
    }
    screen.wait_for(QUESTIONS[2]);
    screen.wait_for("in 10 files");
    screen.press("\t");
    screen.wait_for("Changes · implement · Senior Backend Developer");
    screen.wait_for("internal/orders/service.go");
    // The diff is read off the UI task: keys move it once it is there.
    screen.wait_for("@@ -0,0 +1,3 @@");
    screen.press("]");
    screen.wait_until("the second file at the top", |s| {
        s.lines()
            .nth(3)
            .is_some_and(|l| l.contains("▌A handoff-notes/rate-limiting-orders/task-3.md"))
    });
    // Six files on: the service, its code on screen.
    screen.press("]]]]]]");
    screen.wait_for("▌A internal/orders/service.go");
    screen.wait_for("const DefaultLimit = 100");
    // A comment on that line: the cursor is on the file's header; the
    // hunk's header, then ten lines down.
    screen.press("jjjjjjjjjjj");
    screen.press("c");
    screen.wait_for("Comment on internal/orders/service.go:10");
    screen.press("Lower it to 60");
    screen.press("\u{13}");
    screen.wait_for("1 review comment at this checkpoint");
    screen.wait_for("· 1 comment");
    screen.wait_for("✎ Lower it to 60");
    screen.press("\t");
    screen.wait_for("implementation · Senior Backend Developer · attempt 1");
    // Reject with the comment and no other words: the second attempt
    // rewrites a few lines; its gate shows those.
    screen.press("r");
    screen.wait_for("reads this and your 1 review comment");
    screen.press("\u{13}");
    screen.wait_for("attempt 2");
    screen.wait_for(QUESTIONS[2]);
    screen.press("\t");
    screen.wait_for("Changes · implement");
    screen.wait_for("const DefaultLimit = 60");
    let shown = screen.contents();
    assert!(
        !shown.contains("internal/orders/handler.go"),
        "an unchanged file is not in the second round's change:\n{shown}"
    );
    // `w`: the phase's whole change, both rounds, every file it wrote.
    screen.wait_for("round 2 (w: all)");
    screen.press("w");
    screen.wait_for("all 2 rounds (w: the latest)");
    screen.wait_for("internal/orders/handler.go");
    screen.press("q");
    screen.press("q");
    screen.wait_for("Quit now?");
    screen.press("y");
    assert_eq!(screen.exit_code(), 3);
    let events = sandbox.events();
    let snapshots = of_kind(&events, "snapshot");
    let implement: Vec<_> = snapshots
        .iter()
        .filter(|s| s["phase"] == "implement")
        .collect();
    assert_eq!(implement.len(), 2, "a snapshot at each of the two gates");
    let rejected = of_kind(&events, "decision")
        .into_iter()
        .find(|d| d["phase"] == "implement" && d["action"] == "reject")
        .expect("the rejection")
        .clone();
    assert_eq!(
        rejected["comments"],
        serde_json::json!([{
            "file": "internal/orders/service.go",
            "line": 10,
            "code": "const DefaultLimit = 100",
            "text": "Lower it to 60",
        }]),
        "{rejected}"
    );
    assert_eq!(implement[1]["base"], implement[0]["commit"]);
    assert!(
        implement[0]["files"]
            .as_array()
            .is_some_and(|f| f.iter().any(|f| f["path"] == "internal/orders/service.go")),
        "{}",
        implement[0]
    );
}

/// `D` takes a hunk of the change back out of the workspace at the gate,
/// `u` puts it back; the log records both, a resume applies nothing
/// again, and what the next roles (and the delivery commit) get is the
/// workspace without it.
#[test]
fn a_hunk_reverted_at_the_gate_leaves_the_workspace_and_stays_out_after_a_resume() {
    let sandbox = Sandbox::new();
    let repo = common::repository(sandbox.dir.path());
    let service = repo.join("internal/orders/service.go");
    let args = ["run", "--workspace", repo.to_str().expect("path"), REQUEST];
    let mut screen = spawn(&sandbox, 160, 45, &args, "instant");
    for question in &QUESTIONS[..2] {
        screen.wait_for(question);
        screen.press("a");
    }
    screen.wait_for(QUESTIONS[2]);
    screen.press("\t");
    screen.wait_for("@@ -0,0 +1,3 @@");
    screen.press("]]]]]]]");
    screen.wait_for("▌A internal/orders/service.go");
    // Into the file's one hunk (a new file: reverting it removes it).
    screen.press("jj");
    assert!(service.exists());
    screen.press("D");
    screen.wait_for("1 hunk reverted (u puts back)");
    screen.wait_until("the file is gone from the list", |s| {
        !s.contains("internal/orders/service.go")
    });
    assert!(!service.exists(), "the revert took the file out");
    screen.press("u");
    screen.wait_until("the file is back in the list", |s| {
        s.contains("internal/orders/service.go") && !s.contains("hunk reverted")
    });
    assert!(service.exists(), "undone: the file is back");
    // The change is read again (the view stays where it was): keys move
    // it once it is there.
    screen.wait_for("▌A internal/orders/service.go");
    screen.press("g]]]]]]]");
    screen.wait_for("▌A internal/orders/service.go");
    screen.press("jjD");
    screen.wait_for("1 hunk reverted");
    assert!(!service.exists());
    // Quit at the gate, then resume headless: nothing is applied again.
    screen.press("q");
    screen.press("q");
    screen.wait_for("Quit now?");
    screen.press("y");
    assert_eq!(screen.exit_code(), 3);
    let log = sandbox.log();
    let out = sandbox.resume_approving(&log);
    assert!(out.status.success(), "{}", common::stderr(&out));
    assert!(!service.exists(), "the resume did not put it back");
    let events = sandbox.events();
    assert_eq!(of_kind(&events, "reverted").len(), 2);
    assert_eq!(of_kind(&events, "revert_undone").len(), 1);
    let delivered = common::git(&repo, &["show", "--stat", "--format=", "HEAD"]);
    assert!(
        delivered.contains("internal/orders/handler.go")
            && !delivered.contains("internal/orders/service.go"),
        "the delivery commits the workspace without the reverted file:\n{delivered}"
    );
}

/// At 80x24 a developer's gate offers the Changes view in the footer: the
/// code is one key away on the smallest screen.
#[test]
fn the_smallest_screen_offers_the_change_at_a_code_writing_gate() {
    let sandbox = Sandbox::new();
    let repo = common::repository(sandbox.dir.path());
    let args = ["run", "--workspace", repo.to_str().expect("path"), REQUEST];
    let mut screen = spawn(&sandbox, 80, 24, &args, "instant");
    for question in &QUESTIONS[..2] {
        screen.wait_for(question);
        screen.press("a");
    }
    screen.wait_for("in 10 files");
    screen.wait_for("tab changes");
    screen.press("\t");
    screen.wait_for("Changes · implement");
    screen.press("q");
    screen.press("q");
    screen.wait_for("Quit now?");
    screen.press("y");
    assert_eq!(screen.exit_code(), 3);
}
