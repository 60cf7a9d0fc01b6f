//! The little git a session needs, through the `git` program: whether the
//! workspace is a work tree, where it starts from, and snapshots of it at
//! each gate on private refs (`refs/handoff/<session>/<phase>`) that touch
//! neither the index, HEAD nor the working tree.

use std::path::Path;
use std::process::Command;

/// Runs git in `root`; stdout on success, stderr otherwise. Snapshot
/// commits are handoff's own, so they carry handoff's name whatever the
/// repository's configuration says.
fn git(root: &Path, args: &[&str], index: Option<&Path>) -> Result<String, String> {
    let mut command = Command::new("git");
    command.current_dir(root).args(args);
    for (key, value) in [
        ("GIT_AUTHOR_NAME", "handoff"),
        ("GIT_AUTHOR_EMAIL", "handoff@localhost"),
        ("GIT_COMMITTER_NAME", "handoff"),
        ("GIT_COMMITTER_EMAIL", "handoff@localhost"),
    ] {
        if args.first() == Some(&"commit-tree") {
            command.env(key, value);
        }
    }
    if let Some(index) = index {
        command.env("GIT_INDEX_FILE", index);
    }
    let output = command
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).trim().to_owned())
    }
}

/// Whether `root` is inside a git work tree.
pub fn is_work_tree(root: &Path) -> bool {
    git(root, &["rev-parse", "--is-inside-work-tree"], None).is_ok_and(|out| out == "true")
}

/// The commit HEAD points at, if there is one.
pub fn head(root: &Path) -> Option<String> {
    git(root, &["rev-parse", "--verify", "-q", "HEAD"], None).ok()
}

/// The checked-out branch, if any.
pub fn branch(root: &Path) -> Option<String> {
    git(root, &["symbolic-ref", "--short", "-q", "HEAD"], None).ok()
}

/// Records the working tree (tracked and untracked files, as `git add -A`
/// sees them) as a commit on `reference`, through a temporary index so the
/// user's index is untouched. Returns the commit.
pub fn snapshot(root: &Path, reference: &str, message: &str) -> Result<String, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let index = dir.path().join("index");
    let top = git(root, &["rev-parse", "--show-toplevel"], None)?;
    let top = Path::new(&top);
    let head = head(top);
    if head.is_some() {
        git(top, &["read-tree", "HEAD"], Some(&index))?;
    }
    git(top, &["add", "-A"], Some(&index))?;
    let tree = git(top, &["write-tree"], Some(&index))?;
    let mut args = vec!["commit-tree", tree.as_str(), "-m", message];
    if let Some(parent) = head.as_deref() {
        args.extend(["-p", parent]);
    }
    let commit = git(top, &args, None)?;
    git(top, &["update-ref", reference, &commit], None)?;
    Ok(commit)
}

/// Puts the work tree on a new `branch` at a snapshot commit (for a
/// fork); refuses, leaving everything as it is, when local changes would
/// be overwritten.
pub fn restore(root: &Path, branch: &str, commit: &str) -> Result<(), String> {
    git(root, &["switch", "-C", branch, commit], None).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo() -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        let run = |args: &[&str]| git(dir.path(), args, None).expect("git");
        run(&["init", "-q", "-b", "main"]);
        run(&["config", "user.email", "t@example.com"]);
        run(&["config", "user.name", "T"]);
        std::fs::write(dir.path().join("a.txt"), "one\n").expect("write");
        run(&["add", "a.txt"]);
        run(&["commit", "-q", "-m", "first"]);
        dir
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
        let commit = snapshot(root, "refs/handoff/s1/implement", "snap").expect("snapshot");
        assert_eq!(
            git(root, &["show", &format!("{commit}:new.txt")], None).expect("show"),
            "new"
        );
        assert_eq!(
            git(root, &["show", &format!("{commit}:a.txt")], None).expect("show"),
            "two"
        );
        assert_eq!(
            head(root).as_deref(),
            Some(start.as_str()),
            "HEAD did not move"
        );
        assert_eq!(
            git(root, &["status", "--porcelain"], None).expect("status"),
            " M a.txt\n?? new.txt".trim_start()
        );
        assert_eq!(
            git(root, &["rev-parse", "refs/handoff/s1/implement"], None).expect("ref"),
            commit
        );
    }

    #[test]
    fn a_folder_that_is_not_a_repository_is_not_a_work_tree() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(!is_work_tree(dir.path()));
        assert_eq!(head(dir.path()), None);
    }
}
