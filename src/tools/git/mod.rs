//! The little git a session needs, through the `git` program: whether the
//! workspace is a work tree, where it starts from, snapshots of it at each
//! gate on private refs (`refs/handoff/<session>/<phase>`) that touch
//! neither the index, HEAD nor the working tree, and a fork's restore.
//!
//! Every git process is started by [`run::Git`], which runs nothing the
//! repository or the user configured and passes no secret. A workspace
//! whose `.git` is a symlink (to another repository's) is refused before
//! any git runs, and so is a repository whose work tree is not the folder
//! holding its `.git` (`core.worktree` pointing elsewhere). Snapshots leave
//! out files over [`FILE_CAP`], so a huge file cannot stall a gate.

pub mod run;

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt as _;
use std::path::{Path, PathBuf};

use run::Git;

/// The largest file a snapshot records; a bigger one is left out (a new
/// file) or kept as it was at HEAD (a tracked one).
pub const FILE_CAP: u64 = 64 * 1024 * 1024;

/// A snapshot made: the commit, and the files left out for their size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub commit: String,
    /// Paths (relative to the top of the work tree) and their sizes.
    pub left_out: Vec<(String, u64)>,
}

/// The folder holding the `.git` that git would find from `root`, if any;
/// refused when that `.git` is a symlink.
fn repository_top(root: &Path) -> Result<Option<PathBuf>, String> {
    let root = root
        .canonicalize()
        .map_err(|e| format!("{}: {e}", root.display()))?;
    for dir in root.ancestors() {
        let dot_git = dir.join(".git");
        match std::fs::symlink_metadata(&dot_git) {
            Ok(meta) if meta.file_type().is_symlink() => {
                return Err(format!(
                    "{} is a symlink (to another repository?); handoff runs no git through it",
                    dot_git.display()
                ));
            }
            Ok(_) => return Ok(Some(dir.to_owned())),
            Err(_) => {}
        }
    }
    Ok(None)
}

/// Git in `root`, once the `.git` it would use has passed
/// [`repository_top`].
fn open(root: &Path) -> Result<Git, String> {
    repository_top(root)?;
    Ok(Git::new(root))
}

/// Whether `root` is inside a git work tree; an error for a workspace
/// handoff will not run git in (a symlinked `.git`).
pub fn work_tree(root: &Path) -> Result<bool, String> {
    let git = open(root)?;
    Ok(git
        .output(&["rev-parse", "--is-inside-work-tree"])
        .is_ok_and(|out| out == "true"))
}

/// Whether `root` is inside a git work tree handoff may use.
pub fn is_work_tree(root: &Path) -> bool {
    work_tree(root).unwrap_or(false)
}

/// The commit HEAD points at, if there is one.
pub fn head(root: &Path) -> Option<String> {
    open(root)
        .ok()?
        .output(&["rev-parse", "--verify", "-q", "HEAD"])
        .ok()
}

/// The checked-out branch, if any.
pub fn branch(root: &Path) -> Option<String> {
    open(root)
        .ok()?
        .output(&["symbolic-ref", "--short", "-q", "HEAD"])
        .ok()
}

/// The top of the work tree `root` is in, checked to be the folder that
/// holds the repository's `.git`.
fn work_tree_top(root: &Path) -> Result<PathBuf, String> {
    let expected = repository_top(root)?.ok_or("not a git repository")?;
    let top = Git::new(root).output(&["rev-parse", "--show-toplevel"])?;
    let top = Path::new(&top)
        .canonicalize()
        .map_err(|e| format!("{top}: {e}"))?;
    if top == expected {
        Ok(top)
    } else {
        Err(format!(
            "the repository at {} says its work tree is {}; handoff snapshots only the folder that holds .git",
            expected.display(),
            top.display()
        ))
    }
}

/// Files under `top` (NUL-separated paths, as `git ls-files -z` writes
/// them) bigger than [`FILE_CAP`], with their sizes. Symlinks are not
/// followed: git records the link, not its target.
fn too_big(top: &Path, listed: &[u8]) -> Vec<(Vec<u8>, u64)> {
    let mut big: Vec<(Vec<u8>, u64)> = listed
        .split(|b| *b == 0)
        .filter(|p| !p.is_empty())
        .filter_map(|p| {
            let meta = std::fs::symlink_metadata(top.join(OsStr::from_bytes(p))).ok()?;
            (meta.is_file() && meta.len() > FILE_CAP).then(|| (p.to_vec(), meta.len()))
        })
        .collect();
    big.sort();
    big.dedup();
    big
}

/// Records the working tree (tracked and untracked files, as `git add -A`
/// sees them, each at most [`FILE_CAP`]) as a commit on `reference`,
/// through a temporary index so the user's index is untouched.
pub fn snapshot(root: &Path, reference: &str, message: &str) -> Result<Snapshot, String> {
    let top = work_tree_top(root)?;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let index = dir.path().join("index");
    let git = Git::new(&top).without_filters()?.with_index(&index);
    let head = git.output(&["rev-parse", "--verify", "-q", "HEAD"]).ok();
    if head.is_some() {
        git.output(&["read-tree", "HEAD"])?;
    }
    let listed = git.bytes(&[
        "ls-files",
        "-z",
        "--cached",
        "--others",
        "--exclude-standard",
    ])?;
    let big = too_big(&top, &listed);
    let pathspecs = dir.path().join("pathspecs");
    let mut excluded = Vec::new();
    for (path, _) in &big {
        excluded.extend_from_slice(b":(exclude,literal,top)");
        excluded.extend_from_slice(path);
        excluded.push(0);
    }
    std::fs::write(&pathspecs, &excluded).map_err(|e| e.to_string())?;
    let from_file = format!("--pathspec-from-file={}", pathspecs.display());
    if big.is_empty() {
        git.output(&["add", "-A"])?;
    } else {
        git.output(&["add", "-A", &from_file, "--pathspec-file-nul"])?;
    }
    let tree = git.output(&["write-tree"])?;
    let mut args = vec!["commit-tree", "--no-gpg-sign", tree.as_str(), "-m", message];
    if let Some(parent) = head.as_deref() {
        args.extend(["-p", parent]);
    }
    let commit = git.output(&args)?;
    git.output(&["update-ref", reference, &commit])?;
    Ok(Snapshot {
        commit,
        left_out: big
            .into_iter()
            .map(|(p, size)| (String::from_utf8_lossy(&p).into_owned(), size))
            .collect(),
    })
}

/// Puts the work tree on a new `branch` at a snapshot commit (for a
/// fork); refuses, leaving everything as it is, when local changes would
/// be overwritten.
pub fn restore(root: &Path, branch: &str, commit: &str) -> Result<(), String> {
    open(root)?
        .without_filters()?
        .output(&["switch", "-C", branch, commit])
        .map(drop)
}

/// Applies `patch` to the work tree (in reverse, to take it out), whole or
/// not at all: a patch that does not apply cleanly changes nothing.
pub fn apply(root: &Path, patch: &str, reverse: bool) -> Result<(), String> {
    let top = work_tree_top(root)?;
    let git = Git::new(&top).without_filters()?;
    let mut args = vec!["apply", "--whitespace=nowarn"];
    if reverse {
        args.push("--reverse");
    }
    args.push("-");
    git.feeding(&args, Some(patch.as_bytes().to_vec()))
        .map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;
    use std::time::{Duration, Instant};

    fn git(root: &Path, args: &[&str]) -> Result<String, String> {
        Git::new(root).output(args)
    }

    fn repo() -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        let run = |args: &[&str]| git(dir.path(), args).expect("git");
        run(&["init", "-q", "-b", "main"]);
        run(&["config", "user.email", "t@example.com"]);
        run(&["config", "user.name", "T"]);
        std::fs::write(dir.path().join("a.txt"), "one\n").expect("write");
        run(&["add", "a.txt"]);
        run(&["commit", "-q", "-m", "first"]);
        dir
    }

    /// Plants, in `root`'s repository, every piece of configuration that
    /// makes git run a program; each would create `marker`.
    fn plant(root: &Path, marker: &Path) {
        let touch = format!("touch '{}'", marker.display());
        let config = |key: &str, value: &str| {
            git(root, &["config", key, value]).expect("config");
        };
        config("core.fsmonitor", &format!("{touch}; false #"));
        config("filter.evil.clean", &format!("{touch}; cat"));
        config("filter.evil.smudge", &format!("{touch}; cat"));
        config("filter.evil.required", "true");
        config("filter.with.dots.process", &touch);
        config("diff.external", &touch);
        config("core.pager", &touch);
        config("commit.gpgSign", "true");
        config("gpg.program", &touch);
        config("gc.auto", "1");
        std::fs::write(
            root.join(".gitattributes"),
            "* filter=evil\n*.txt filter=with.dots\n",
        )
        .expect("attributes");
        let hooks = root.join(".git/hooks");
        std::fs::create_dir_all(&hooks).expect("hooks");
        for hook in [
            "reference-transaction",
            "post-checkout",
            "pre-commit",
            "post-commit",
            "post-index-change",
            "pre-auto-gc",
            "fsmonitor-watchman",
        ] {
            let path = hooks.join(hook);
            std::fs::write(&path, format!("#!/bin/sh\n{touch}\n")).expect("hook");
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        }
    }

    #[test]
    fn snapshots_keep_the_working_tree_without_touching_the_index() {
        let dir = repo();
        let root = dir.path();
        assert!(is_work_tree(root));
        assert_eq!(branch(root).as_deref(), Some("main"));
        let start = head(root).expect("head");
        std::fs::write(root.join("a.txt"), "two\n").expect("write");
        std::fs::write(root.join("new.txt"), "new\n").expect("write");
        let made = snapshot(root, "refs/handoff/s1/implement", "snap").expect("snapshot");
        let commit = made.commit;
        assert!(made.left_out.is_empty());
        assert_eq!(
            git(root, &["show", &format!("{commit}:new.txt")]).expect("show"),
            "new"
        );
        assert_eq!(
            git(root, &["show", &format!("{commit}:a.txt")]).expect("show"),
            "two"
        );
        assert_eq!(
            head(root).as_deref(),
            Some(start.as_str()),
            "HEAD did not move"
        );
        assert_eq!(
            git(root, &["status", "--porcelain"]).expect("status"),
            " M a.txt\n?? new.txt".trim_start()
        );
        assert_eq!(
            git(root, &["rev-parse", "refs/handoff/s1/implement"]).expect("ref"),
            commit
        );
    }

    #[test]
    fn a_folder_that_is_not_a_repository_is_not_a_work_tree() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(!is_work_tree(dir.path()));
        assert_eq!(head(dir.path()), None);
    }

    #[test]
    fn configuration_planted_in_the_repository_never_runs() {
        let dir = repo();
        let root = dir.path();
        let outside = tempfile::tempdir().expect("tempdir");
        let marker = outside.path().join("ran");
        plant(root, &marker);
        std::fs::write(root.join("a.txt"), "two\n").expect("write");
        std::fs::write(root.join("new.txt"), "new\n").expect("write");

        assert_eq!(work_tree(root), Ok(true));
        let start = head(root).expect("head");
        assert_eq!(branch(root).as_deref(), Some("main"));
        let made = snapshot(root, "refs/handoff/s1/implement", "snap").expect("snapshot");
        assert_eq!(
            git(
                root,
                &["cat-file", "-p", &format!("{}:new.txt", made.commit)]
            )
            .expect("show"),
            "new",
            "the file is recorded as it is, unfiltered"
        );
        std::fs::write(root.join("a.txt"), "one\n").expect("write");
        std::fs::remove_file(root.join("new.txt")).expect("remove");
        std::fs::remove_file(root.join(".gitattributes")).expect("remove");
        restore(root, "handoff/s1", &made.commit).expect("restore");
        assert_eq!(
            std::fs::read_to_string(root.join("new.txt")).expect("restored"),
            "new\n"
        );
        assert_eq!(head(root).as_deref(), Some(made.commit.as_str()));
        assert_ne!(start, made.commit);
        assert!(!marker.exists(), "planted configuration ran");
    }

    #[test]
    fn a_filter_whose_name_cannot_be_switched_off_stops_the_snapshot() {
        let dir = repo();
        let root = dir.path();
        let outside = tempfile::tempdir().expect("tempdir");
        let marker = outside.path().join("ran");
        let touch = format!("touch '{}'", marker.display());
        // `git -c filter.a=b.clean=` would set `filter.a`, not this driver.
        git(root, &["config", "filter.a=b.clean", &touch]).expect("config");
        std::fs::write(root.join(".gitattributes"), "* filter=a=b\n").expect("attributes");
        std::fs::write(root.join("new.txt"), "new\n").expect("write");
        let refused = snapshot(root, "refs/handoff/s/p", "m").expect_err("refused");
        assert!(refused.contains("a=b"), "{refused}");
        assert!(!marker.exists(), "planted configuration ran");
    }

    #[test]
    fn a_git_folder_that_is_a_symlink_is_refused() {
        let other = repo();
        let outside = tempfile::tempdir().expect("tempdir");
        let marker = outside.path().join("ran");
        plant(other.path(), &marker);
        let workspace = tempfile::tempdir().expect("tempdir");
        std::os::unix::fs::symlink(other.path().join(".git"), workspace.path().join(".git"))
            .expect("symlink");
        std::fs::write(workspace.path().join("b.txt"), "b\n").expect("write");
        let refused = work_tree(workspace.path()).expect_err("refused");
        assert!(refused.contains("symlink"), "{refused}");
        assert!(!is_work_tree(workspace.path()));
        assert_eq!(head(workspace.path()), None);
        assert_eq!(branch(workspace.path()), None);
        assert!(snapshot(workspace.path(), "refs/handoff/s/p", "m").is_err());
        assert!(restore(workspace.path(), "b", "HEAD").is_err());
        assert!(
            git(other.path(), &["for-each-ref", "refs/handoff"])
                .expect("refs")
                .is_empty(),
            "nothing was written in the other repository"
        );
        assert!(!marker.exists(), "planted configuration ran");
    }

    #[test]
    fn a_work_tree_configured_elsewhere_is_not_snapshotted() {
        let dir = repo();
        let elsewhere = tempfile::tempdir().expect("tempdir");
        std::fs::write(elsewhere.path().join("secret"), "s\n").expect("write");
        let target = elsewhere.path().to_str().expect("path");
        git(dir.path(), &["config", "core.worktree", target]).expect("config");
        let refused = snapshot(dir.path(), "refs/handoff/s/p", "m").expect_err("refused");
        assert!(refused.contains("work tree"), "{refused}");
    }

    #[test]
    fn a_huge_file_is_left_out_of_the_snapshot_without_being_read() {
        let dir = repo();
        let root = dir.path();
        // A sparse 10 GB file, as `truncate -s 10G` makes.
        let huge = std::fs::File::create(root.join("huge.bin")).expect("create");
        huge.set_len(10 << 30).expect("truncate");
        // A tracked file grown past the cap keeps its committed content.
        std::fs::File::options()
            .write(true)
            .open(root.join("a.txt"))
            .expect("open")
            .set_len(FILE_CAP + 1)
            .expect("grow");
        std::fs::write(root.join("small.txt"), "small\n").expect("write");
        let started = Instant::now();
        let made = snapshot(root, "refs/handoff/s/p", "m").expect("snapshot");
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(
            made.left_out,
            vec![
                ("a.txt".to_owned(), FILE_CAP + 1),
                ("huge.bin".to_owned(), 10 << 30)
            ]
        );
        let tree = git(root, &["ls-tree", "--name-only", &made.commit]).expect("tree");
        assert_eq!(tree, "a.txt\nsmall.txt");
        assert_eq!(
            git(root, &["show", &format!("{}:a.txt", made.commit)]).expect("show"),
            "one"
        );
    }
}
