//! Keys in, commands out: events put the app at a gate or a permission
//! request, keys are pressed through its public API, and the command it
//! sends to the engine is read off the channel and compared whole.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use handoff::pipeline::{SkillsFile, load_pipeline};
use handoff::protocol::{Command, PermissionAnswer, Update};
use handoff::session::{Action, DecidedBy, Decision, Event, EventKind};
use handoff::tui::Theme;
use handoff::tui::app::{App, Flow, Screen, Source};
use handoff::tui::keymap::{Act, Keymap};
use pretty_assertions::assert_eq;
use tokio::sync::mpsc;

/// A live app whose session went through `kinds`, and the engine's end of
/// the command channel.
fn live(kinds: Vec<EventKind>) -> (App, mpsc::UnboundedReceiver<Command>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let mut app = App::new(Source::Live(Some(tx)), Theme::mono());
    let pipeline = load_pipeline(&SkillsFile::builtin(), None).expect("the built-in pipeline");
    let started = EventKind::SessionStarted {
        id: "s".into(),
        request: "Add a rate limit".into(),
        pipeline: Box::new(pipeline),
        provider: "offline".into(),
        model: "m".into(),
        version: "0".into(),
        workspace: None,
        detected: None,
    };
    for (seq, kind) in (0..).zip(std::iter::once(started).chain(kinds)) {
        app.on_update(Update::Event(Event {
            seq,
            t: chrono::DateTime::UNIX_EPOCH,
            kind,
        }));
    }
    (app, rx)
}

/// The first phase delivered its artifact and waits at its gate.
/// The `seq` of the gate `at_first_gate` opens: a decision names it.
const FIRST_GATE: u64 = 3;

fn at_first_gate() -> (App, mpsc::UnboundedReceiver<Command>) {
    live(vec![
        EventKind::PhaseStarted {
            phase: "summarize".into(),
            attempt: 1,
        },
        EventKind::Artifact {
            outputs: Vec::new(),
            missing: Vec::new(),
            phase: "summarize".into(),
            attempt: 1,
            name: "requirements".into(),
            content: "# Requirements\n\n- limit requests".into(),
        },
        EventKind::GateOpened {
            phase: "summarize".into(),
            question: "Approve the requirements?".into(),
            over_budget: None,
        },
    ])
}

/// The `seq` of the gate `at_plan_gate` opens.
const PLAN_GATE: u64 = 7;

/// The first phase approved, the plan delivered and waiting at its gate.
fn at_plan_gate() -> (App, mpsc::UnboundedReceiver<Command>) {
    live(vec![
        EventKind::PhaseStarted {
            phase: "summarize".into(),
            attempt: 1,
        },
        EventKind::Artifact {
            outputs: Vec::new(),
            missing: Vec::new(),
            phase: "summarize".into(),
            attempt: 1,
            name: "requirements".into(),
            content: "x".into(),
        },
        EventKind::GateOpened {
            phase: "summarize".into(),
            question: "Approve?".into(),
            over_budget: None,
        },
        EventKind::Decision(Decision::approve("summarize", DecidedBy::User).at_gate(FIRST_GATE)),
        EventKind::PhaseStarted {
            phase: "plan".into(),
            attempt: 1,
        },
        EventKind::Artifact {
            outputs: Vec::new(),
            missing: Vec::new(),
            phase: "plan".into(),
            attempt: 1,
            name: "plan".into(),
            content: "y".into(),
        },
        EventKind::GateOpened {
            phase: "plan".into(),
            question: "Approve the plan?".into(),
            over_budget: None,
        },
    ])
}

fn press(app: &mut App, code: KeyCode) {
    app.on_key(&KeyEvent::new(code, KeyModifiers::NONE));
}

fn type_text(app: &mut App, text: &str) {
    for c in text.chars() {
        press(app, KeyCode::Char(c));
    }
}

fn submit(app: &mut App) {
    app.on_key(&KeyEvent::new(KeyCode::Char('s'), KeyModifiers::CONTROL));
}

/// Everything the app sent so far.
fn sent(rx: &mut mpsc::UnboundedReceiver<Command>) -> Vec<Command> {
    let mut commands = Vec::new();
    while let Ok(command) = rx.try_recv() {
        commands.push(command);
    }
    commands
}

#[test]
fn a_approves_the_open_gate() {
    let (mut app, mut rx) = at_first_gate();
    press(&mut app, KeyCode::Char('a'));
    assert_eq!(
        sent(&mut rx),
        [Command::Decide(
            Decision::new("summarize", Action::Approve, DecidedBy::User).at_gate(FIRST_GATE)
        )]
    );
}

#[test]
fn r_with_feedback_rejects_with_that_feedback() {
    let (mut app, mut rx) = at_first_gate();
    press(&mut app, KeyCode::Char('r'));
    type_text(&mut app, "name the limits");
    assert_eq!(sent(&mut rx), [], "nothing is sent while typing");
    submit(&mut app);
    assert_eq!(
        sent(&mut rx),
        [Command::Decide(Decision {
            feedback: Some("name the limits".into()),
            gate: Some(FIRST_GATE),
            ..Decision::new("summarize", Action::Reject, DecidedBy::User)
        })]
    );
}

#[test]
fn n_with_notes_approves_with_those_notes() {
    let (mut app, mut rx) = at_first_gate();
    press(&mut app, KeyCode::Char('n'));
    type_text(&mut app, "keep it small");
    submit(&mut app);
    assert_eq!(
        sent(&mut rx),
        [Command::Decide(Decision {
            notes: Some("keep it small".into()),
            gate: Some(FIRST_GATE),
            ..Decision::new("summarize", Action::ApproveWithNotes, DecidedBy::User)
        })]
    );
}

#[test]
fn keys_that_do_not_apply_send_nothing() {
    let (mut app, mut rx) = at_first_gate();
    // Esc leaves the feedback box without a decision.
    press(&mut app, KeyCode::Char('r'));
    type_text(&mut app, "never mind");
    press(&mut app, KeyCode::Esc);
    // There is no earlier phase to return to.
    press(&mut app, KeyCode::Char('b'));
    assert_eq!(sent(&mut rx), []);
}

#[test]
fn b_returns_work_to_the_phase_picked_with_the_reason_typed() {
    let (mut app, mut rx) = at_plan_gate();
    press(&mut app, KeyCode::Char('b'));
    press(&mut app, KeyCode::Enter);
    type_text(&mut app, "the limits are missing");
    submit(&mut app);
    assert_eq!(
        sent(&mut rx),
        [Command::Decide(Decision {
            to: Some("summarize".into()),
            feedback: Some("the limits are missing".into()),
            gate: Some(PLAN_GATE),
            ..Decision::new("plan", Action::Return, DecidedBy::User)
        })]
    );
}

/// The analyst asks to run a command.
fn asking() -> (App, mpsc::UnboundedReceiver<Command>) {
    live(vec![
        EventKind::PhaseStarted {
            phase: "summarize".into(),
            attempt: 1,
        },
        EventKind::ToolCall {
            phase: "summarize".into(),
            attempt: 1,
            call_id: "call-1".into(),
            tool: "run_command".into(),
            args: serde_json::json!({ "command": "cargo test" }),
            target: Some("cargo test".into()),
            checklist: None,
        },
        EventKind::PermissionAsked {
            phase: "summarize".into(),
            attempt: 1,
            call_id: "call-1".into(),
            tool: "run_command".into(),
            detail: "cargo test".into(),
            reason: "not in the allow list".into(),
            always: Some("cargo test*".into()),
        },
    ])
}

fn answer(allow: bool, always: bool, reason: Option<&str>) -> Command {
    Command::Permission(PermissionAnswer {
        call_id: "call-1".into(),
        allow,
        always,
        reason: reason.map(str::to_owned),
        by: DecidedBy::User,
    })
}

#[test]
fn y_permits_once() {
    let (mut app, mut rx) = asking();
    press(&mut app, KeyCode::Char('y'));
    assert_eq!(sent(&mut rx), [answer(true, false, None)]);
}

#[test]
fn a_permits_always() {
    let (mut app, mut rx) = asking();
    press(&mut app, KeyCode::Char('a'));
    assert_eq!(sent(&mut rx), [answer(true, true, None)]);
}

#[test]
fn n_denies_with_the_reason_typed() {
    let (mut app, mut rx) = asking();
    press(&mut app, KeyCode::Char('n'));
    assert_eq!(sent(&mut rx), [], "the reason comes first");
    type_text(&mut app, "not now");
    submit(&mut app);
    assert_eq!(sent(&mut rx), [answer(false, false, Some("not now"))]);
}

#[test]
fn n_then_submit_denies_without_a_reason() {
    let (mut app, mut rx) = asking();
    press(&mut app, KeyCode::Char('n'));
    submit(&mut app);
    assert_eq!(sent(&mut rx), [answer(false, false, None)]);
}

/// The screen as the user sees it, as text.
fn screen(app: &mut App, width: u16, height: u16) -> String {
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;
    app.set_size(width, height);
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("terminal");
    terminal
        .draw(|f| f.render_widget(&*app, f.area()))
        .expect("draw");
    terminal.backend().to_string()
}

/// A user's keymap.toml moves approve to `y`, confirm to `j` and the
/// permission's "once" to `o`: the keys work, and every label that names
/// them says so (footer, help, the abort question, the permission box).
#[test]
fn a_rebound_key_works_and_every_label_names_it() {
    let text = "[[board]]\non = \"y\"\naction = \"approve\"\n\n\
                [[confirm]]\non = \"j\"\naction = \"confirm\"\n\n\
                [[permission]]\non = \"o\"\naction = \"permit_once\"\n";
    let keymap = Keymap::patched("keymap.toml", text).expect("a valid keymap");

    let (mut app, mut rx) = at_first_gate();
    app.set_keymap(keymap.clone());
    let board = screen(&mut app, 120, 30);
    let footer = board.lines().last().expect("a footer");
    assert!(footer.contains(" y approve "), "{footer}");
    assert!(!footer.contains(" a approve "), "{footer}");

    press(&mut app, KeyCode::Char('?'));
    let help = screen(&mut app, 120, 40);
    let approve = help
        .lines()
        .find(|l| l.contains("approve and hand off"))
        .expect("approve in the help");
    assert!(approve.contains("│  y   "), "{approve}");
    press(&mut app, KeyCode::Esc);

    // The abort question names its new key; the old one no longer says yes.
    press(&mut app, KeyCode::Char('x'));
    let asked = screen(&mut app, 120, 30);
    assert!(asked.contains("j abort · any other key stays"), "{asked}");
    press(&mut app, KeyCode::Char('y'));
    assert_eq!(sent(&mut rx), [], "y is no longer yes");
    press(&mut app, KeyCode::Char('a'));
    assert_eq!(sent(&mut rx), [], "a no longer approves");
    press(&mut app, KeyCode::Char('x'));
    press(&mut app, KeyCode::Char('j'));
    assert_eq!(
        sent(&mut rx),
        [Command::Decide(
            Decision::new("summarize", Action::Abort, DecidedBy::User).at_gate(FIRST_GATE)
        )]
    );

    let (mut app, mut rx) = at_first_gate();
    app.set_keymap(keymap.clone());
    press(&mut app, KeyCode::Char('y'));
    assert_eq!(
        sent(&mut rx),
        [Command::Decide(
            Decision::new("summarize", Action::Approve, DecidedBy::User).at_gate(FIRST_GATE)
        )]
    );

    let (mut app, mut rx) = asking();
    app.set_keymap(keymap);
    let asked = screen(&mut app, 120, 30);
    assert!(asked.contains("o once · n deny · a always"), "{asked}");
    press(&mut app, KeyCode::Char('o'));
    assert_eq!(sent(&mut rx), [answer(true, false, None)]);
}

/// The session moves on while a feedback box is open (an approval sent
/// just before it went through): the box says its checkpoint has closed,
/// submitting it sends nothing, and the text stays in it.
#[test]
fn a_box_whose_gate_closed_sends_nothing_and_keeps_its_text() {
    let (mut app, mut rx) = at_first_gate();
    press(&mut app, KeyCode::Char('r'));
    type_text(&mut app, "name the exempt clients");
    for (seq, kind) in (4..).zip([
        EventKind::Decision(Decision::approve("summarize", DecidedBy::User).at_gate(FIRST_GATE)),
        EventKind::PhaseStarted {
            phase: "plan".into(),
            attempt: 1,
        },
        EventKind::Artifact {
            outputs: Vec::new(),
            missing: Vec::new(),
            phase: "plan".into(),
            attempt: 1,
            name: "plan".into(),
            content: "the plan".into(),
        },
        EventKind::GateOpened {
            phase: "plan".into(),
            question: "Approve the plan?".into(),
            over_budget: None,
        },
    ]) {
        app.on_update(Update::Event(Event {
            seq,
            t: chrono::DateTime::UNIX_EPOCH,
            kind,
        }));
    }
    let shown = screen(&mut app, 120, 30);
    assert!(
        shown.contains("The checkpoint this was written for has closed"),
        "{shown}"
    );
    submit(&mut app);
    assert_eq!(sent(&mut rx), [], "nothing lands on the plan's gate");
    let shown = screen(&mut app, 120, 30);
    assert!(shown.contains("name the exempt clients"), "{shown}");
    assert!(shown.contains("nothing was sent"), "{shown}");
    // The plan's own gate is answered as usual once the box is closed
    // (its text does not read as a plan, so approving asks once more).
    press(&mut app, KeyCode::Esc);
    press(&mut app, KeyCode::Esc);
    press(&mut app, KeyCode::Char('a'));
    press(&mut app, KeyCode::Char('a'));
    assert_eq!(
        sent(&mut rx),
        [Command::Decide(
            Decision::new("plan", Action::Approve, DecidedBy::User).at_gate(7)
        )]
    );
}

/// A paste on the board is text, not keys: "ok, approve" at an open gate
/// sends nothing and says where pasted text can go.
#[test]
fn a_paste_on_the_board_runs_nothing_and_says_so() {
    let (mut app, mut rx) = at_first_gate();
    app.on_paste("ok, approve");
    assert_eq!(sent(&mut rx), [], "a paste answers no gate");
    assert!(app.overlay().is_none(), "and opens no box");
    let shown = screen(&mut app, 120, 30);
    assert!(
        shown.contains(
            "pasted text is ignored here: open a box first (n notes, r feedback, e edit)"
        ),
        "{shown}"
    );
    press(&mut app, KeyCode::Char('a'));
    assert_eq!(
        sent(&mut rx),
        [Command::Decide(
            Decision::new("summarize", Action::Approve, DecidedBy::User).at_gate(FIRST_GATE)
        )],
        "the gate is still open for a key"
    );
}

/// A paste into the feedback box goes in whole (line breaks kept, control
/// characters dropped), and submitting rejects with exactly that text.
#[test]
fn a_paste_into_the_feedback_box_is_the_feedback_sent() {
    let (mut app, mut rx) = at_first_gate();
    press(&mut app, KeyCode::Char('r'));
    app.on_paste("ok, approve\r\nname the limits\x1b[2J\tper user\x07");
    assert_eq!(sent(&mut rx), [], "nothing is sent while the box is open");
    submit(&mut app);
    assert_eq!(
        sent(&mut rx),
        [Command::Decide(Decision {
            feedback: Some("ok, approve\nname the limits\tper user".into()),
            gate: Some(FIRST_GATE),
            ..Decision::new("summarize", Action::Reject, DecidedBy::User)
        })]
    );
}

/// The summary came back by a return from the plan, then its next attempt
/// was cut off by a crash: it waits at its third gate with none of the
/// rejections `max_attempts = 3` allows used. `r` is offered and sends a
/// rejection, as the engine takes it; after two rejections it is not.
#[test]
fn r_counts_rejections_not_returns_or_interruptions() {
    let answered = |attempt: u32| {
        vec![
            EventKind::PhaseStarted {
                phase: "summarize".into(),
                attempt,
            },
            EventKind::Artifact {
                outputs: Vec::new(),
                missing: Vec::new(),
                phase: "summarize".into(),
                attempt,
                name: "requirements".into(),
                content: format!("# Requirements v{attempt}"),
            },
            EventKind::GateOpened {
                phase: "summarize".into(),
                question: "Approve the requirements?".into(),
                over_budget: None,
            },
        ]
    };
    let mut kinds = answered(1);
    kinds.push(EventKind::Decision(Decision::approve(
        "summarize",
        DecidedBy::User,
    )));
    kinds.extend([
        EventKind::PhaseStarted {
            phase: "plan".into(),
            attempt: 1,
        },
        EventKind::Returned {
            from: "plan".into(),
            to: "summarize".into(),
            reason: "the scope is wrong".into(),
            automatic: false,
        },
        EventKind::PhaseStarted {
            phase: "summarize".into(),
            attempt: 2,
        },
        EventKind::PhaseFailed {
            phase: "summarize".into(),
            attempt: 2,
            error: "interrupted: handoff stopped while this attempt ran".into(),
        },
    ]);
    kinds.extend(answered(3));
    let gate = u64::try_from(kinds.len()).expect("seq");
    let (mut app, mut rx) = live(kinds.clone());
    assert!(app.available(Act::Reject));
    press(&mut app, KeyCode::Char('r'));
    type_text(&mut app, "shorter");
    submit(&mut app);
    assert_eq!(
        sent(&mut rx),
        [Command::Decide(
            Decision {
                feedback: Some("shorter".into()),
                ..Decision::new("summarize", Action::Reject, DecidedBy::User)
            }
            .at_gate(gate)
        )]
    );

    for attempt in [4, 5] {
        kinds.push(EventKind::Decision(Decision::new(
            "summarize",
            Action::Reject,
            DecidedBy::User,
        )));
        kinds.extend(answered(attempt));
    }
    let (mut app, mut rx) = live(kinds);
    assert!(!app.available(Act::Reject));
    press(&mut app, KeyCode::Char('r'));
    assert_eq!(sent(&mut rx), []);
}

/// The return picker takes a phase's number, and a return needs a reason:
/// an empty one is refused in the box, which stays open.
#[test]
fn the_return_picker_takes_digits_and_an_empty_reason_is_refused() {
    let (mut app, mut rx) = at_plan_gate();
    press(&mut app, KeyCode::Char('b'));
    press(&mut app, KeyCode::Char('1'));
    submit(&mut app);
    assert_eq!(sent(&mut rx), [], "no reason, nothing sent");
    let shown = screen(&mut app, 120, 30);
    assert!(shown.contains("say why"), "{shown}");
    type_text(&mut app, "the scope is wrong");
    submit(&mut app);
    assert_eq!(
        sent(&mut rx),
        [Command::Decide(Decision {
            to: Some("summarize".into()),
            feedback: Some("the scope is wrong".into()),
            gate: Some(PLAN_GATE),
            ..Decision::new("plan", Action::Return, DecidedBy::User)
        })]
    );
}

/// The search line is the search's alone: typing `/re` in the artifact
/// view leaves nothing of the checkpoint's question on that line.
#[test]
fn the_search_line_shows_only_the_search() {
    let (mut app, _rx) = at_first_gate();
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Char('/'));
    type_text(&mut app, "re");
    let shown = screen(&mut app, 100, 30);
    let line = shown
        .lines()
        .find(|l| l.contains("/re▏"))
        .unwrap_or_default()
        .to_owned();
    assert_eq!(line.trim_matches('"').trim(), "/re▏", "{shown}");
}

fn ctrl_c(app: &mut App) -> Flow {
    app.on_key(&KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL))
}

/// `Ctrl-C` first cancels what is open: a box with text asks, a second
/// one closes it without sending anything; on the board it asks whether to
/// quit, and a second `Ctrl-C` in a row quits.
#[test]
fn ctrl_c_cancels_what_is_open_then_asks_then_quits() {
    let (mut app, mut rx) = at_first_gate();
    press(&mut app, KeyCode::Char('r'));
    type_text(&mut app, "half a thought");
    assert_eq!(ctrl_c(&mut app), Flow::Continue);
    assert!(app.overlay().is_some(), "a box with text asks first");
    assert_eq!(ctrl_c(&mut app), Flow::Continue);
    assert!(app.overlay().is_none(), "the second one closes it");
    assert_eq!(sent(&mut rx), [], "nothing was sent");

    press(&mut app, KeyCode::Enter);
    assert_ne!(app.screen(), Screen::Board, "the artifact is open");
    assert_eq!(ctrl_c(&mut app), Flow::Continue);
    assert_eq!(app.screen(), Screen::Board, "the artifact view closed");
    assert_eq!(ctrl_c(&mut app), Flow::Continue);
    assert!(screen(&mut app, 100, 30).contains("Quit now?"));
    assert_eq!(ctrl_c(&mut app), Flow::Quit);
    assert_eq!(sent(&mut rx), []);
}

/// `Esc` from a diff goes back to where the diff was opened: the board,
/// or the artifact view.
#[test]
fn esc_from_a_diff_returns_to_where_it_was_opened() {
    let (mut app, _rx) = at_first_gate();
    press(&mut app, KeyCode::Char('e'));
    type_text(&mut app, " and more");
    submit(&mut app);
    // The edit is recorded by the engine; here it comes back as its event.
    app.on_update(Update::Event(Event {
        seq: 4,
        t: chrono::DateTime::UNIX_EPOCH,
        kind: EventKind::Decision(Decision {
            content: Some("# Requirements\n\n- limit requests and more".into()),
            ..Decision::new("summarize", Action::Edit, DecidedBy::User).at_gate(FIRST_GATE)
        }),
    }));
    press(&mut app, KeyCode::Char('d'));
    assert!(
        matches!(app.screen(), Screen::Diff { .. }),
        "{:?}",
        app.screen()
    );
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.screen(), Screen::Board, "opened from the board");

    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Char('d'));
    assert!(matches!(app.screen(), Screen::Diff { .. }));
    press(&mut app, KeyCode::Esc);
    assert!(
        matches!(app.screen(), Screen::Artifact { .. }),
        "opened from the artifact: {:?}",
        app.screen()
    );
}

/// An edit that leaves the plan unreadable is saved only on a second
/// `Ctrl-S`, and approving an unreadable plan only on a second `a`: each
/// time the screen says what will happen first.
#[test]
fn an_unreadable_plan_warns_on_save_and_again_on_approve() {
    let (mut app, mut rx) = at_plan_gate();
    press(&mut app, KeyCode::Char('e'));
    type_text(&mut app, "z");
    submit(&mut app);
    assert_eq!(sent(&mut rx), [], "warned first");
    let shown = screen(&mut app, 160, 40);
    assert!(shown.contains("can no longer be read"), "{shown}");
    submit(&mut app);
    let commands: [Command; 1] = sent(&mut rx).try_into().expect("one command");
    let [Command::Decide(edit)] = commands else {
        unreachable!("a decision")
    };
    assert_eq!(edit.action, Action::Edit);
    app.on_update(Update::Event(Event {
        seq: PLAN_GATE + 1,
        t: chrono::DateTime::UNIX_EPOCH,
        kind: EventKind::Decision(edit),
    }));
    press(&mut app, KeyCode::Char('a'));
    assert_eq!(sent(&mut rx), [], "warned first");
    assert!(
        screen(&mut app, 160, 40).contains("cannot be read"),
        "the bar says why"
    );
    press(&mut app, KeyCode::Char('a'));
    assert_eq!(
        sent(&mut rx),
        [Command::Decide(
            Decision::new("plan", Action::Approve, DecidedBy::User).at_gate(PLAN_GATE)
        )]
    );
}

/// "Abort the session here?" belongs to the gate it was asked at: when the
/// session has moved on before the answer, the yes sends nothing.
#[test]
fn an_abort_confirmed_after_its_gate_closed_sends_nothing() {
    let (mut app, mut rx) = at_first_gate();
    press(&mut app, KeyCode::Char('x'));
    for (seq, kind) in (4..).zip([
        EventKind::Decision(Decision::approve("summarize", DecidedBy::User).at_gate(FIRST_GATE)),
        EventKind::PhaseStarted {
            phase: "plan".into(),
            attempt: 1,
        },
        EventKind::Artifact {
            outputs: Vec::new(),
            missing: Vec::new(),
            phase: "plan".into(),
            attempt: 1,
            name: "plan".into(),
            content: "the plan".into(),
        },
        EventKind::GateOpened {
            phase: "plan".into(),
            question: "Approve the plan?".into(),
            over_budget: None,
        },
    ]) {
        app.on_update(Update::Event(Event {
            seq,
            t: chrono::DateTime::UNIX_EPOCH,
            kind,
        }));
    }
    press(&mut app, KeyCode::Char('y'));
    assert_eq!(sent(&mut rx), [], "not an abort of the plan's gate");
    press(&mut app, KeyCode::Char('x'));
    press(&mut app, KeyCode::Char('y'));
    assert_eq!(
        sent(&mut rx),
        [Command::Decide(
            Decision::new("plan", Action::Abort, DecidedBy::User).at_gate(PLAN_GATE)
        )]
    );
}

/// A change that adds `paths`, each holding `package x`.
fn added_files(paths: &[&str]) -> handoff::changes::Change {
    use handoff::changes::{Body, Change, FileChange, FileStat, FileStatus, diff_text};
    let file = |path: &str| {
        let (hunks, added, removed) = diff_text("", "package x\n");
        FileChange {
            stat: FileStat {
                path: path.into(),
                from: None,
                status: FileStatus::Added,
                added,
                removed,
                binary: false,
            },
            modes: ("000000".into(), "100644".into()),
            body: Body::Text(hunks),
        }
    };
    Change {
        files: paths.iter().map(|p| file(p)).collect(),
    }
}

/// The first phase ran and delivered its requirements (no gate yet).
fn delivered_requirements() -> Vec<EventKind> {
    vec![
        EventKind::PhaseStarted {
            phase: "summarize".into(),
            attempt: 1,
        },
        EventKind::Artifact {
            outputs: Vec::new(),
            missing: Vec::new(),
            phase: "summarize".into(),
            attempt: 1,
            name: "requirements".into(),
            content: "# Requirements".into(),
        },
    ]
}

/// With `review.require_viewed`, `a` on a change with files not marked
/// viewed asks first (nothing is sent); `v` in the Changes view marks
/// them, and then `a` approves.
#[test]
fn approving_a_change_not_viewed_asks_first_when_the_config_says_so() {
    let change = added_files(&["a.go", "b.go"]);
    let mut kinds = delivered_requirements();
    kinds.extend([
        EventKind::Snapshot {
            phase: "summarize".into(),
            reference: "refs/handoff/s/summarize".into(),
            commit: "c1".into(),
            base: None,
            files: change.stats(),
        },
        EventKind::GateOpened {
            phase: "summarize".into(),
            question: "Approve the requirements?".into(),
            over_budget: None,
        },
    ]);
    let (mut app, mut rx) = live(kinds);
    app.set_require_viewed(true);
    press(&mut app, KeyCode::Char('a'));
    assert!(rx.try_recv().is_err(), "nothing sent");
    let notice = app.notice().unwrap_or_default().to_owned();
    assert!(
        notice.contains("2 files of this change not viewed"),
        "{notice}"
    );
    // Mark both files viewed in the Changes view, then approve.
    press(&mut app, KeyCode::Tab);
    assert!(matches!(app.screen(), Screen::Changes { phase: 0 }));
    app.change_loaded("c1", Ok(change));
    press(&mut app, KeyCode::Char('v'));
    press(&mut app, KeyCode::Char(']'));
    press(&mut app, KeyCode::Char('v'));
    assert_eq!(app.viewed(), ["a.go", "b.go"]);
    // `/` searches the diff; `n` goes to the next match.
    press(&mut app, KeyCode::Char('/'));
    type_text(&mut app, "package");
    press(&mut app, KeyCode::Enter);
    assert_eq!(
        app.notice(),
        Some("“package”: 2/2 rows"),
        "from the cursor on"
    );
    press(&mut app, KeyCode::Char('n'));
    assert_eq!(
        app.notice(),
        Some("“package”: 1/2 rows"),
        "round to the first"
    );
    press(&mut app, KeyCode::Esc);
    press(&mut app, KeyCode::Esc);
    press(&mut app, KeyCode::Char('a'));
    assert_eq!(
        rx.try_recv().expect("the approval"),
        Command::Decide(Decision::approve("summarize", DecidedBy::User).at_gate(4))
    );
}

/// Viewed marks count toward approving a gate: with none open, `v` keeps
/// nothing (it once kept marks under a gate of its own that nothing read).
#[test]
fn with_no_gate_open_viewed_marks_are_not_kept() {
    let change = added_files(&["a.go"]);
    let mut kinds = delivered_requirements();
    kinds.push(EventKind::Snapshot {
        phase: "summarize".into(),
        reference: "refs/handoff/s/summarize".into(),
        commit: "c1".into(),
        base: None,
        files: change.stats(),
    });
    let (mut app, _rx) = live(kinds);
    press(&mut app, KeyCode::Tab);
    assert!(matches!(app.screen(), Screen::Changes { phase: 0 }));
    app.change_loaded("c1", Ok(change));
    assert!(!app.available(handoff::tui::keymap::Act::Viewed));
    press(&mut app, KeyCode::Char('v'));
    assert!(app.viewed().is_empty());
}

/// The engine sends the change it read at a snapshot before the event that
/// names it: the Changes view opens on it with nothing left to read.
#[test]
fn a_change_the_engine_sent_opens_without_reading_it_again() {
    let change = added_files(&["x.go"]);
    let (mut app, _rx) = live(delivered_requirements());
    app.on_update(Update::Change {
        base: Some("b0".into()),
        commit: "c1".into(),
        change: std::sync::Arc::new(change),
    });
    for (seq, kind) in (3..).zip([
        EventKind::Snapshot {
            phase: "summarize".into(),
            reference: "refs/handoff/s/summarize".into(),
            commit: "c1".into(),
            base: Some("b0".into()),
            files: Vec::new(),
        },
        EventKind::GateOpened {
            phase: "summarize".into(),
            question: "Approve the requirements?".into(),
            over_budget: None,
        },
    ]) {
        app.on_update(Update::Event(Event {
            seq,
            t: chrono::DateTime::UNIX_EPOCH,
            kind,
        }));
    }
    press(&mut app, KeyCode::Tab);
    assert!(matches!(app.screen(), Screen::Changes { phase: 0 }));
    assert_eq!(app.change_request(), None, "nothing to read");
    app.set_size(120, 30);
    let mut terminal =
        ratatui::Terminal::new(ratatui::backend::TestBackend::new(120, 30)).expect("terminal");
    terminal
        .draw(|f| f.render_widget(&app, f.area()))
        .expect("draw");
    let screen = terminal.backend().to_string();
    assert!(
        screen.contains("1 + package x"),
        "the diff is shown: {screen}"
    );
}
