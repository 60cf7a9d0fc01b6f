//! Disk faults under a running session, caused for real: write errors (the
//! file-size limit of `ulimit -f` makes the kernel refuse a write part-way,
//! like a full disk), the log deleted while the TUI waits at a gate, and a
//! sessions folder that cannot be written. The user is told, no decision is
//! taken that was not recorded, and everything shown as done is on disk.

use crate::common;

use std::os::unix::fs::PermissionsExt;
use std::process::Output;
use std::time::Duration;

use common::pty::{self, Term};
use common::{REQUEST, Sandbox, events, of_kind, stderr, stdout};
use portable_pty::CommandBuilder;

/// The file-size limit, in 512-byte blocks: past the first event (which
/// carries the whole pipeline), well short of a finished session.
const BLOCKS: &str = "64";

/// `handoff` with a file-size limit: a write that would pass it fails with
/// `EFBIG` (the signal that would kill the process is ignored).
fn limited(sandbox: &Sandbox, args: &[&str]) -> Output {
    sandbox
        .shell_command(&format!("trap '' XFSZ; ulimit -f {BLOCKS}"))
        .arg("--sessions")
        .arg(sandbox.sessions())
        .args(args)
        .output()
        .expect("run handoff")
}

#[test]
fn a_write_error_stops_the_session_and_everything_printed_is_on_disk() {
    let sandbox = Sandbox::new();
    let run = limited(
        &sandbox,
        &["run", "--headless", "--approve", "all", "--json", REQUEST],
    );
    assert_eq!(run.status.code(), Some(1), "{}", stderr(&run));
    let err = stderr(&run);
    assert!(err.contains("cannot write the session log"), "{err}");
    assert!(err.contains("File too large"), "{err}");
    let log = sandbox.log();
    let on_disk = std::fs::read_to_string(&log).expect("log");
    let printed = stdout(&run);
    assert!(
        printed.lines().count() > 2,
        "the session got going: {printed}"
    );
    for line in printed.lines() {
        assert!(
            on_disk.lines().any(|l| l == line),
            "printed as done but not on disk: {line}"
        );
    }
    assert!(
        of_kind(&events_lenient(&on_disk), "session_finished").is_empty(),
        "the session did not finish"
    );

    // Without the limit it resumes, cuts the torn line and finishes.
    let resumed = sandbox.resume_approving(&log);
    assert_eq!(resumed.status.code(), Some(0), "{}", stderr(&resumed));
    let events = events(&log);
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e["seq"], i, "no gap and no duplicate");
    }
    assert_eq!(of_kind(&events, "session_finished").len(), 1);
}

/// The complete lines of a log (a torn last line left out).
fn events_lenient(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// `cmd` in a 160×40 pseudo-terminal, the offline model answering at once.
fn in_terminal(mut cmd: CommandBuilder) -> Term {
    cmd.env("HANDOFF_OFFLINE_PACE", "instant");
    Term::spawn(cmd, 160, 40)
}

#[test]
fn a_log_deleted_at_a_gate_is_saved_again_and_the_decision_is_refused() {
    let sandbox = Sandbox::new();
    let mut tui = in_terminal(pty::handoff(sandbox.dir.path(), &["run", REQUEST]));
    tui.wait_for("Ready to assign Solution Architect?");
    let log = sandbox.log();
    let before = std::fs::read(&log).expect("log");
    std::fs::remove_file(&log).expect("delete the log");
    tui.press("a");
    tui.wait_for("the session stopped");
    tui.wait_for("deleted or replaced");
    // Nothing moved on: the next role never started.
    assert!(
        !tui.contents().contains("Solution Architect is working"),
        "{}",
        tui.contents()
    );
    tui.press("a");
    assert_eq!(tui.quit(), 1);

    let after = std::fs::read(&log).expect("the log was saved again");
    assert_eq!(
        after, before,
        "everything recorded is back, and no decision"
    );
    let resumed = sandbox.resume_approving(&log);
    assert_eq!(resumed.status.code(), Some(0), "{}", stderr(&resumed));
}

#[test]
fn a_write_error_in_the_tui_is_shown_and_nothing_more_is_taken() {
    let sandbox = Sandbox::new();
    let sessions = sandbox.sessions();
    let script = format!(
        "trap '' XFSZ; ulimit -f {BLOCKS}; exec '{}' --sessions '{}' run '{REQUEST}'",
        env!("CARGO_BIN_EXE_handoff"),
        sessions.display()
    );
    let mut tui = in_terminal(pty::command(sandbox.dir.path(), "sh", &["-c", &script]));
    tui.wait_for("Ready to assign Solution Architect?");
    tui.press("a");
    tui.wait_for("cannot write the session log");
    tui.wait_for("File too large");
    let stopped = std::fs::read(sandbox.log()).expect("log");
    // Decisions now go nowhere, and nothing more is written.
    tui.press("a");
    tui.press("r");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(tui.quit(), 1);
    assert_eq!(std::fs::read(sandbox.log()).expect("log"), stopped);
    let on_disk = String::from_utf8_lossy(&stopped).into_owned();
    assert!(of_kind(&events_lenient(&on_disk), "decision").len() <= 1);
}

#[test]
fn a_sessions_folder_that_cannot_be_written_is_reported_before_anything_runs() {
    let sandbox = Sandbox::new();
    // Permission bits do not bind root, but sysfs refuses new files to
    // everyone: as root, that is the folder nobody can write.
    let root = rustix::process::geteuid().is_root();
    let folder = if root {
        std::path::PathBuf::from("/sys")
    } else {
        std::fs::create_dir(sandbox.sessions()).expect("sessions");
        std::fs::set_permissions(sandbox.sessions(), std::fs::Permissions::from_mode(0o500))
            .expect("read-only");
        sandbox.sessions()
    };
    let before = std::fs::read_dir(&folder).map(Iterator::count).ok();
    let run = sandbox
        .bare_command()
        .args(["--sessions", folder.to_str().expect("path")])
        .args(["run", "--headless", "--approve", "all", REQUEST])
        .output()
        .expect("run handoff");
    if !root {
        std::fs::set_permissions(sandbox.sessions(), std::fs::Permissions::from_mode(0o700))
            .expect("writable again");
    }
    assert_eq!(run.status.code(), Some(1), "{}", stderr(&run));
    assert!(
        stderr(&run).contains("Permission denied"),
        "{}",
        stderr(&run)
    );
    assert!(stderr(&run).contains(&folder.display().to_string()));
    assert!(stdout(&run).is_empty(), "nothing ran: {}", stdout(&run));
    assert_eq!(
        std::fs::read_dir(&folder).map(Iterator::count).ok(),
        before,
        "nothing was written"
    );
}
