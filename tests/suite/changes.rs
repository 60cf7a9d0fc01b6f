//! What a phase changed in the workspace, through the binary: the log's
//! file list, `show --diff` (a patch that git applies to the phase's base
//! to give exactly its snapshot) and `--stat`.

use crate::common::{self, Sandbox, of_kind};

const REQUEST: &str = "Add rate limiting to the orders API";

#[test]
fn show_diff_prints_a_patch_that_rebuilds_the_snapshot_and_stat_lists_the_files() {
    let sandbox = Sandbox::new();
    let repo = common::repository(sandbox.dir.path());
    let out = sandbox.run(&[
        "run",
        "--headless",
        "--approve",
        "all",
        "--workspace",
        repo.to_str().expect("path"),
        REQUEST,
    ]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let log = sandbox.log();
    let events = common::events(&log);
    let implement = of_kind(&events, "snapshot")
        .into_iter()
        .find(|s| s["phase"] == "implement")
        .expect("a snapshot at the developer's gate")
        .clone();
    let files = implement["files"].as_array().expect("files");
    assert!(
        files
            .iter()
            .any(|f| f["path"] == "internal/orders/service.go" && f["status"] == "added"),
        "{implement}"
    );

    // The delivery's gate shows the whole session's change: every file
    // the team wrote, from where the session started.
    let delivery = of_kind(&events, "snapshot")
        .into_iter()
        .find(|s| s["phase"] == "commit")
        .expect("a snapshot at the last gate")
        .clone();
    assert_eq!(
        delivery["base"], events[0]["workspace"]["head"],
        "{delivery}"
    );
    let delivered = delivery["files"].as_array().expect("files").len();
    assert_eq!(
        delivered, 11,
        "the developer's ten and the test file: {delivery}"
    );

    let log = log.to_str().expect("path");
    let stat = sandbox.run(&["show", log, "--diff", "implement", "--stat"]);
    assert!(stat.status.success(), "{}", common::stderr(&stat));
    let stat = common::stdout(&stat);
    assert!(stat.contains(" A internal/orders/service.go"), "{stat}");
    assert!(stat.trim_end().ends_with("in 10 files"), "{stat}");

    let patch = sandbox.run(&["show", log, "--diff", "implement"]);
    assert!(patch.status.success(), "{}", common::stderr(&patch));
    let patch = common::stdout(&patch);
    assert!(!patch.contains('\u{1b}'), "plain into a pipe");
    // Applied to the base in a fresh work tree, the patch gives the
    // snapshot's tree exactly.
    let base = implement["base"].as_str().expect("base");
    let commit = implement["commit"].as_str().expect("commit");
    let check = sandbox.dir.path().join("check");
    common::git(
        &repo,
        &[
            "worktree",
            "add",
            "-q",
            "--detach",
            check.to_str().expect("path"),
            base,
        ],
    );
    let patch_file = sandbox.dir.path().join("implement.patch");
    std::fs::write(&patch_file, &patch).expect("write the patch");
    common::git(&check, &["apply", patch_file.to_str().expect("path")]);
    common::git(&check, &["add", "-A"]);
    let rebuilt = common::git(&check, &["write-tree"]);
    assert_eq!(
        rebuilt,
        common::git(&repo, &["rev-parse", &format!("{commit}^{{tree}}")]),
        "the trees differ: {}",
        common::git(&repo, &["diff", "--stat", &rebuilt, commit])
    );

    let unknown = sandbox.run(&["show", log, "--diff", "nosuch"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(
        common::stderr(&unknown).contains("this session has: summarize, plan, implement"),
        "{}",
        common::stderr(&unknown)
    );

    // `export` writes the same patch for every phase that changed files.
    let out_dir = sandbox.dir.path().join("export");
    let exported = sandbox.run(&["export", log, "--out", out_dir.to_str().expect("path")]);
    assert!(exported.status.success(), "{}", common::stderr(&exported));
    assert_eq!(
        std::fs::read_to_string(out_dir.join("changes/implement.patch")).expect("patch"),
        patch
    );
    assert!(out_dir.join("changes/test.patch").exists());
    assert!(
        !out_dir.join("changes/plan.patch").exists(),
        "no change, no file"
    );
}

/// A decisions file can carry review comments: CI scripts a review. The
/// rejection records them, the next attempt reads them (its feedback), and
/// `export` lists them in decisions.md.
#[test]
fn a_decisions_file_reviews_the_change_with_line_comments() {
    let sandbox = Sandbox::new();
    let repo = common::repository(sandbox.dir.path());
    let decisions = r#"
[[implement]]
action = "reject"

[[implement.comments]]
file = "internal/orders/service.go"
line = 10
text = "Lower the default limit to 60"
"#;
    let out = sandbox.run_deciding_with(
        decisions,
        &["--workspace", repo.to_str().expect("path")],
        REQUEST,
    );
    assert!(out.status.success(), "{}", common::stderr(&out));
    let log = sandbox.log();
    let events = common::events(&log);
    let rejected = of_kind(&events, "decision")
        .into_iter()
        .find(|d| d["phase"] == "implement" && d["action"] == "reject")
        .expect("the scripted rejection")
        .clone();
    assert_eq!(rejected["comments"][0]["line"], 10, "{rejected}");
    // The second attempt ran and its round changed the limit.
    let snapshots: Vec<_> = of_kind(&events, "snapshot")
        .into_iter()
        .filter(|s| s["phase"] == "implement")
        .collect();
    assert_eq!(snapshots.len(), 2);
    let log = log.to_str().expect("path");
    let second = common::stdout(&sandbox.run(&["show", log, "--diff", "implement"]));
    assert!(second.contains("+const DefaultLimit = 60"), "{second}");

    let out_dir = sandbox.dir.path().join("export");
    let exported = sandbox.run(&["export", log, "--out", out_dir.to_str().expect("path")]);
    assert!(exported.status.success(), "{}", common::stderr(&exported));
    let md = std::fs::read_to_string(out_dir.join("decisions.md")).expect("decisions.md");
    assert!(
        md.contains("- `internal/orders/service.go:10`: Lower the default limit to 60"),
        "{md}"
    );
}

/// A decisions file can revert hunks before it decides: the workspace,
/// the log and the delivery commit go without them; a hunk the change
/// does not have ends the run with exit 2 and says which.
#[test]
fn a_decisions_file_reverts_a_hunk_before_it_approves() {
    let sandbox = Sandbox::new();
    let repo = common::repository(sandbox.dir.path());
    let decisions = r#"
[[implement]]
action = "approve"

[[implement.reverts]]
file = "internal/orders/metrics.go"
hunk = 1
"#;
    let out = sandbox.run_deciding_with(
        decisions,
        &["--workspace", repo.to_str().expect("path")],
        REQUEST,
    );
    assert!(out.status.success(), "{}", common::stderr(&out));
    assert!(common::stdout(&out).contains("⟲ reverted a hunk of internal/orders/metrics.go"));
    let events = common::events(&sandbox.log());
    assert_eq!(of_kind(&events, "reverted").len(), 1);
    assert!(!repo.join("internal/orders/metrics.go").exists());
    let delivered = common::git(&repo, &["show", "--stat", "--format=", "HEAD"]);
    assert!(
        delivered.contains("internal/orders/service.go")
            && !delivered.contains("internal/orders/metrics.go"),
        "{delivered}"
    );

    let sandbox = Sandbox::new();
    let repo = common::repository(sandbox.dir.path());
    let out = sandbox.run_deciding_with(
        &decisions.replace("hunk = 1", "hunk = 7"),
        &["--workspace", repo.to_str().expect("path")],
        REQUEST,
    );
    assert_eq!(out.status.code(), Some(2), "{}", common::stderr(&out));
    assert!(
        common::stderr(&out).contains("internal/orders/metrics.go has no hunk 7 to revert"),
        "{}",
        common::stderr(&out)
    );
}

/// A replay reads the phase's change out of git off the UI task, so the
/// Changes view's first frame does not wait for git: with a git that
/// holds every call until the test lets it go, `Tab` at once shows the
/// files and counts the log recorded; the diff comes in when git answers,
/// its code highlighted by the grammars the loop loaded meanwhile.
#[test]
fn a_replay_opens_the_change_at_once_and_fills_in_the_diff_when_git_answers() {
    use crate::common::pty::{self, Term};
    use std::os::unix::fs::PermissionsExt;
    use std::time::{Duration, Instant};

    let sandbox = Sandbox::new();
    let repo = common::repository(sandbox.dir.path());
    let out = sandbox.run(&[
        "run",
        "--headless",
        "--approve",
        "all",
        "--workspace",
        repo.to_str().expect("path"),
        REQUEST,
    ]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let log = sandbox.log();

    // `git` first on PATH: it says it was called, then waits for `go`.
    let hold = sandbox.dir.path().join("hold");
    let bin = sandbox.dir.path().join("bin");
    std::fs::create_dir_all(&hold).expect("hold");
    std::fs::create_dir_all(&bin).expect("bin");
    let real = std::process::Command::new("sh")
        .args(["-c", "command -v git"])
        .output()
        .expect("sh");
    let real = String::from_utf8_lossy(&real.stdout).trim().to_owned();
    assert!(!real.is_empty(), "git on PATH");
    let script = format!(
        "#!/bin/sh\ntouch '{h}/called'\nwhile [ ! -e '{h}/go' ]; do sleep 0.05; done\nexec '{real}' \"$@\"\n",
        h = hold.display()
    );
    let git = bin.join("git");
    std::fs::write(&git, script).expect("script");
    std::fs::set_permissions(&git, std::fs::Permissions::from_mode(0o755)).expect("chmod");

    let mut cmd = pty::handoff(
        sandbox.dir.path(),
        &["replay", log.to_str().expect("path"), "--speed", "max"],
    );
    cmd.env(
        "PATH",
        format!(
            "{}:{}",
            bin.display(),
            std::env::var("PATH").unwrap_or_default()
        ),
    );
    let mut screen = Term::spawn(cmd, 160, 45);
    screen.wait_for("Session finished: completed");
    // To the first phase's column, then two on: the developer's.
    screen.press("hhhhhhll");
    screen.press("\t");
    screen.wait_for("Changes · implement");
    screen.wait_for("reading the change…");
    screen.wait_for("internal/orders/service.go");
    // The read has started and is held: the view is drawn all the same.
    let asked = Instant::now();
    while !hold.join("called").exists() {
        assert!(
            asked.elapsed() < pty::WAIT,
            "the view never asked git for the change"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    screen.pump();
    let shown = screen.contents();
    assert!(
        shown.contains("in 10 files") && !shown.contains("@@ -0,0 +1,3 @@"),
        "the files from the log, no diff yet:\n{shown}"
    );
    std::fs::write(hold.join("go"), "").expect("go");
    screen.wait_for("@@ -0,0 +1,3 @@");
    assert!(!screen.contents().contains("reading the change…"));

    // The grammars loaded meanwhile: Go code is highlighted. On the
    // default theme an added line stays green, and a keyword is bold.
    screen.press("]]]]]]]");
    screen.wait_for("▌A internal/orders/service.go");
    let line = "const DefaultLimit = 100";
    let started = Instant::now();
    loop {
        screen.pump();
        let shown = screen.contents();
        let place = shown.lines().enumerate().find_map(|(row, text)| {
            let at = text.find(line)?;
            Some((row, text[..at].chars().count()))
        });
        if let Some((row, col)) = place {
            let cell = |c: usize| {
                let (row, col) = (
                    u16::try_from(row).expect("row"),
                    u16::try_from(col + c).expect("col"),
                );
                screen.screen().cell(row, col).expect("cell").clone()
            };
            let (keyword, space) = (cell(0), cell(5));
            if keyword.bold() {
                assert!(!space.bold(), "only the keyword is bold");
                assert_eq!(keyword.fgcolor(), vt100::Color::Idx(2), "green: added");
                assert_eq!(space.fgcolor(), vt100::Color::Idx(2), "green: added");
                break;
            }
        }
        assert!(
            started.elapsed() < pty::WAIT,
            "`const` never highlighted:\n{shown}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    screen.press("q");
    screen.press("q");
    assert_eq!(screen.exit_code(), 0);
}
