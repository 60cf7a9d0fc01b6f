//! handoff's own git — the first probes, the snapshot at every gate, a
//! fork's restore — in a hostile repository: configuration and hooks
//! planted in `.git` that would each leave a marker never run through a
//! whole headless session and a fork, git sees no API key and no `HOME`,
//! a 10 GB sparse file does not stall a gate, and a workspace whose `.git`
//! is a symlink to another repository is refused before any git runs.

use crate::common;

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Output;

use common::server::{TestServer, answer, role_of, well_behaved};
use common::{REQUEST, Sandbox, events, git, of_kind, stderr};

const SENTINEL: &str = "sk-SENTINEL-own-git-5c1d";

/// Plants in `repo` every piece of configuration that makes git run a
/// program; each would create `marker`.
fn plant(repo: &Path, marker: &Path) {
    let touch = format!("touch '{}'", marker.display());
    for (key, value) in [
        ("core.fsmonitor", format!("{touch}; false #")),
        ("filter.evil.clean", format!("{touch}; cat")),
        ("filter.evil.smudge", format!("{touch}; cat")),
        ("filter.evil.required", "true".to_owned()),
        ("diff.external", touch.clone()),
        ("core.pager", touch.clone()),
        ("commit.gpgSign", "true".to_owned()),
        ("gpg.program", touch.clone()),
    ] {
        git(repo, &["config", key, &value]);
    }
    let hooks = repo.join(".git/hooks");
    std::fs::create_dir_all(&hooks).expect("hooks");
    for hook in [
        "reference-transaction",
        "post-checkout",
        "pre-commit",
        "post-commit",
        "post-index-change",
        "pre-auto-gc",
    ] {
        let path = hooks.join(hook);
        std::fs::write(&path, format!("#!/bin/sh\n{touch}\n")).expect("hook");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
}

/// A folder holding a `git` that appends its environment to `log` and
/// runs the real git; a `PATH` that finds it first.
fn git_spy(dir: &Path, log: &Path) -> String {
    let real = std::process::Command::new("sh")
        .args(["-c", "command -v git"])
        .output()
        .expect("find git");
    let real = String::from_utf8_lossy(&real.stdout).trim().to_owned();
    let bin = dir.join("spy");
    std::fs::create_dir_all(&bin).expect("spy dir");
    let script = bin.join("git");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nenv >> '{}'\necho '--- git' \"$@\" >> '{}'\nexec '{real}' \"$@\"\n",
            log.display(),
            log.display()
        ),
    )
    .expect("spy");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

fn handoff(sandbox: &Sandbox, path: &str, args: &[&str]) -> Output {
    sandbox
        .command()
        .env("PATH", path)
        .env("OPENAI_API_KEY", SENTINEL)
        .env("HANDOFF_API_KEY", SENTINEL)
        .args(args)
        .output()
        .expect("run handoff")
}

#[test]
fn planted_git_configuration_never_runs_through_a_session_and_a_fork() {
    let sandbox = Sandbox::new();
    let repo = common::repository(sandbox.dir.path());
    // Committed before the filter exists, so setting up runs nothing.
    std::fs::write(repo.join(".gitattributes"), "* filter=evil\n").expect("attributes");
    git(&repo, &["add", ".gitattributes"]);
    git(&repo, &["commit", "-q", "-m", "attributes"]);
    let marker = sandbox.dir.path().join("planted-config-ran");
    plant(&repo, &marker);
    std::fs::write(repo.join("notes.txt"), "work in progress\n").expect("notes");
    // A 10 GB sparse file, as `truncate -s 10G` makes it.
    std::fs::File::create(repo.join("huge.bin"))
        .expect("create")
        .set_len(10 << 30)
        .expect("truncate");
    let spied = sandbox.dir.path().join("git-environments");
    let path = git_spy(sandbox.dir.path(), &spied);

    let server = TestServer::start(|_, request| answer(&well_behaved(&role_of(request)), 10, 5));
    let repo_arg = repo.to_str().expect("path");
    let started = std::time::Instant::now();
    let run = handoff(
        &sandbox,
        &path,
        &[
            "run",
            "--headless",
            "--approve",
            "all",
            "--workspace",
            repo_arg,
            "--base-url",
            &server.base_url,
            "--model",
            "m",
            REQUEST,
        ],
    );
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    assert!(
        started.elapsed() < std::time::Duration::from_secs(60),
        "the huge file stalled the gates: {:?}",
        started.elapsed()
    );
    let log = sandbox.log();
    let recorded = events(&log);
    let snapshots = of_kind(&recorded, "snapshot");
    assert!(
        snapshots.len() >= 6,
        "a snapshot at every gate: {snapshots:?}"
    );
    assert!(
        stderr(&run).contains("huge.bin"),
        "the left-out file is named: {}",
        stderr(&run)
    );

    // A fork restores the first gate's snapshot with `git switch`, which
    // checks `notes.txt` out again (smudge filter, post-checkout hook).
    std::fs::remove_file(repo.join("notes.txt")).expect("remove");
    let phase = snapshots[0]["phase"].as_str().expect("phase");
    let fork = handoff(
        &sandbox,
        &path,
        &[
            "fork",
            log.to_str().expect("path"),
            "--at",
            phase,
            "--headless",
            "--approve",
            "all",
            "--base-url",
            &server.base_url,
            "--model",
            "m",
        ],
    );
    assert_eq!(fork.status.code(), Some(0), "{}", stderr(&fork));
    assert!(
        stderr(&fork).contains("as it was at the"),
        "the workspace was restored: {}",
        stderr(&fork)
    );
    assert_eq!(
        std::fs::read_to_string(repo.join("notes.txt")).expect("restored"),
        "work in progress\n"
    );

    assert!(!marker.exists(), "configuration planted in .git ran");
    let commit = snapshots[0]["commit"].as_str().expect("commit");
    let tree = git(&repo, &["ls-tree", "--name-only", commit]);
    assert!(
        tree.contains("notes.txt") && !tree.contains("huge.bin"),
        "{tree}"
    );

    let environments = std::fs::read_to_string(&spied).expect("git ran through the spy");
    for call in [" rev-parse ", " add -A", " update-ref ", " switch "] {
        assert!(
            environments
                .lines()
                .any(|l| l.starts_with("--- git -c core.fsmonitor=false") && l.contains(call)),
            "{call} ran, neutralised: {environments}"
        );
    }
    assert!(!environments.contains(SENTINEL), "git saw the API key");
    for line in environments.lines().filter(|l| !l.starts_with("--- ")) {
        let name = line.split('=').next().unwrap_or_default();
        assert!(
            [
                "PATH",
                "LANG",
                "LC_ALL",
                "LC_CTYPE",
                "LC_MESSAGES",
                "TMPDIR",
                "PWD",
                "SHLVL",
                "_"
            ]
            .contains(&name)
                || name.starts_with("GIT_"),
            "git was given {name}"
        );
    }
    assert!(environments.contains("GIT_CONFIG_NOSYSTEM=1"));
}

#[test]
fn a_workspace_whose_git_is_a_symlink_to_another_repository_is_refused() {
    let sandbox = Sandbox::new();
    let other = common::repository(sandbox.dir.path());
    let marker = sandbox.dir.path().join("planted-config-ran");
    plant(&other, &marker);
    let workspace: PathBuf = sandbox.dir.path().join("workspace");
    std::fs::create_dir_all(&workspace).expect("workspace");
    std::os::unix::fs::symlink(other.join(".git"), workspace.join(".git")).expect("symlink");
    std::fs::write(workspace.join("a.txt"), "a\n").expect("write");

    let output = sandbox.run(&[
        "run",
        "--headless",
        "--approve",
        "all",
        "--workspace",
        workspace.to_str().expect("path"),
        REQUEST,
    ]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(stderr(&output).contains("symlink"), "{}", stderr(&output));
    assert!(sandbox.logs().is_empty(), "no session started");
    assert!(!marker.exists(), "configuration planted in .git ran");
    assert_eq!(git(&other, &["for-each-ref", "refs/handoff"]), "");
}
