//! Reading a workspace change out of git: the files that differ between
//! two commits (with renames, modes and blob ids from `git diff --raw`)
//! and their contents (one `git cat-file --batch` for all of them), diffed
//! by [`crate::changes::diff_text`]. Binary files, files that are not
//! UTF-8 and files over [`MAX_SHOWN_BYTES`] are named, never read whole.
//! Git runs as handoff's own git always does ([`Git`]): nothing the
//! repository configures (an external diff, a textconv, a filter) runs.

use std::collections::HashMap;
use std::path::Path;
#[cfg(test)]
use std::process::Command;

use super::git::run::Git;

use crate::changes::{Body, Change, FileChange, FileStat, FileStatus, MAX_SHOWN_BYTES, diff_text};

/// A blob id git uses for "no file".
fn is_null(id: &str) -> bool {
    id.bytes().all(|b| b == b'0')
}

/// Runs git in `root` (neutralised as handoff's own git always is) with
/// `input` on its standard input; its output.
fn git(root: &Path, args: &[&str], input: Option<&[u8]>) -> Result<Vec<u8>, String> {
    Git::new(root).feeding(args, input.map(<[u8]>::to_vec))
}

/// One entry of `git diff --raw -z`.
struct Raw {
    old_mode: String,
    new_mode: String,
    old_id: String,
    new_id: String,
    status: FileStatus,
    path: String,
    from: Option<String>,
}

fn parse_raw(out: &[u8]) -> Vec<Raw> {
    let text = String::from_utf8_lossy(out);
    let mut fields = text.split('\0');
    let mut entries = Vec::new();
    while let Some(head) = fields.next() {
        let Some(head) = head.strip_prefix(':') else {
            continue;
        };
        let parts: Vec<&str> = head.split(' ').collect();
        let [old_mode, new_mode, old_id, new_id, status] = parts[..] else {
            continue;
        };
        let Some(path) = fields.next() else { break };
        let (status, from, path) = match status.chars().next() {
            Some('A') => (FileStatus::Added, None, path.to_owned()),
            Some('D') => (FileStatus::Deleted, None, path.to_owned()),
            Some('R' | 'C') => {
                let Some(to) = fields.next() else { break };
                (FileStatus::Renamed, Some(path.to_owned()), to.to_owned())
            }
            _ => (FileStatus::Modified, None, path.to_owned()),
        };
        entries.push(Raw {
            old_mode: old_mode.to_owned(),
            new_mode: new_mode.to_owned(),
            old_id: old_id.to_owned(),
            new_id: new_id.to_owned(),
            status,
            path,
            from,
        });
    }
    entries
}

/// Blob contents by id (those at most [`MAX_SHOWN_BYTES`]), and every
/// blob's size.
#[derive(Default)]
struct Blobs {
    contents: HashMap<String, Vec<u8>>,
    sizes: HashMap<String, u64>,
}

/// Reads the blobs `ids`.
fn blobs(root: &Path, ids: &[&str]) -> Result<Blobs, String> {
    let mut sizes = HashMap::new();
    let mut contents = HashMap::new();
    if ids.is_empty() {
        return Ok(Blobs::default());
    }
    let list = ids.join("\n") + "\n";
    let checked = git(root, &["cat-file", "--batch-check"], Some(list.as_bytes()))?;
    let mut small = String::new();
    for line in String::from_utf8_lossy(&checked).lines() {
        let mut words = line.split(' ');
        if let (Some(id), Some(_), Some(size)) = (words.next(), words.next(), words.next()) {
            let size: u64 = size.parse().unwrap_or(u64::MAX);
            if size <= MAX_SHOWN_BYTES {
                small.push_str(id);
                small.push('\n');
            }
            sizes.insert(id.to_owned(), size);
        }
    }
    if small.is_empty() {
        return Ok(Blobs { contents, sizes });
    }
    let out = git(root, &["cat-file", "--batch"], Some(small.as_bytes()))?;
    let mut rest = out.as_slice();
    while let Some(end) = rest.iter().position(|&b| b == b'\n') {
        let header = String::from_utf8_lossy(&rest[..end]).into_owned();
        let mut words = header.split(' ');
        let (Some(id), Some(_), Some(size)) = (words.next(), words.next(), words.next()) else {
            break;
        };
        let size: usize = size
            .parse()
            .map_err(|_| format!("git: bad size in `{header}`"))?;
        let body = rest
            .get(end + 1..end + 1 + size)
            .ok_or_else(|| "git: a blob was cut short".to_owned())?;
        contents.insert(id.to_owned(), body.to_vec());
        rest = rest.get(end + 2 + size..).unwrap_or_default();
    }
    Ok(Blobs { contents, sizes })
}

/// What can be shown of one side: its text, or why not.
enum Side<'a> {
    Text(&'a str),
    Shown(Body),
}

fn side<'a>(id: &str, blobs: &'a Blobs) -> Side<'a> {
    if is_null(id) {
        return Side::Text("");
    }
    let Some(bytes) = blobs.contents.get(id) else {
        return Side::Shown(Body::TooLarge {
            bytes: blobs.sizes.get(id).copied().unwrap_or(0),
        });
    };
    // Git's own test: a NUL in the first 8000 bytes.
    if bytes.iter().take(8000).any(|&b| b == 0) {
        return Side::Shown(Body::Binary);
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => Side::Text(text),
        Err(_) => Side::Shown(Body::NotUtf8),
    }
}

/// One file's change, diffed.
fn file_change(e: &Raw, blobs: &Blobs) -> FileChange {
    let submodule = e.old_mode == "160000" || e.new_mode == "160000";
    let old = side(&e.old_id, blobs);
    let new = side(&e.new_id, blobs);
    let (body, added, removed) = match (old, new) {
        _ if submodule => (Body::Binary, 0, 0),
        (Side::Text(old), Side::Text(new)) => {
            let (hunks, added, removed) = diff_text(old, new);
            (Body::Text(hunks), added, removed)
        }
        (Side::Shown(body), _) | (_, Side::Shown(body)) => (body, 0, 0),
    };
    FileChange {
        stat: FileStat {
            path: e.path.clone(),
            from: e.from.clone(),
            status: e.status,
            added,
            removed,
            binary: body == Body::Binary,
        },
        modes: (e.old_mode.clone(), e.new_mode.clone()),
        body,
    }
}

/// The change from commit `base` (none: from nothing) to commit `head` in
/// the repository at `root`.
///
/// # Errors
/// Git cannot be run, or does not know a commit.
pub fn change(root: &Path, base: Option<&str>, head: &str) -> Result<Change, String> {
    let empty_tree;
    let base = if let Some(base) = base {
        base
    } else {
        let out = git(root, &["hash-object", "-t", "tree", "/dev/null"], None)?;
        empty_tree = String::from_utf8_lossy(&out).trim().to_owned();
        &empty_tree
    };
    let raw = git(
        root,
        &[
            "diff",
            "--raw",
            "-z",
            "-M",
            "--no-abbrev",
            "--no-ext-diff",
            "--no-textconv",
            base,
            head,
            "--",
        ],
        None,
    )?;
    let entries = parse_raw(&raw);
    let mut ids: Vec<&str> = entries
        .iter()
        .flat_map(|e| [e.old_id.as_str(), e.new_id.as_str()])
        .filter(|id| !is_null(id))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let blobs = blobs(root, &ids)?;
    // The files are diffed on every core: a big change is mostly diffing.
    let share = entries.len().div_ceil(crate::parallel::threads()).max(1);
    let parts: Vec<&[Raw]> = entries.chunks(share).collect();
    let files = crate::parallel::map(&parts, |part| {
        part.iter()
            .map(|e| file_change(e, &blobs))
            .collect::<Vec<_>>()
    })
    .into_iter()
    .flatten()
    .collect();
    Ok(Change { files })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::changes::LineKind;

    fn run(dir: &Path, args: &[&str]) -> String {
        let out = Command::new("git")
            .current_dir(dir)
            .args(args)
            .output()
            .expect("git");
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    fn commit(dir: &Path, message: &str) -> String {
        run(dir, &["add", "-A"]);
        run(
            dir,
            &[
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@t",
                "commit",
                "-q",
                "--allow-empty",
                "-m",
                message,
            ],
        );
        run(dir, &["rev-parse", "HEAD"])
    }

    #[test]
    fn reads_added_modified_deleted_renamed_binary_and_mode_changes() {
        let dir = tempfile::tempdir().expect("dir");
        let root = dir.path();
        run(root, &["init", "-q"]);
        std::fs::write(
            root.join("main.go"),
            "package main\n\nfunc main() {\n\tprintln(1)\n}\n",
        )
        .expect("write");
        std::fs::write(root.join("gone.txt"), "bye\n").expect("write");
        let body: String = (0..40)
            .map(|i| format!("line {i}"))
            .collect::<Vec<_>>()
            .join("\n")
            + "\n";
        std::fs::write(root.join("old_name.txt"), &body).expect("write");
        std::fs::write(root.join("run.sh"), "echo hi\n").expect("write");
        let base = commit(root, "base");

        std::fs::write(
            root.join("main.go"),
            "package main\n\nfunc main() {\n\tprintln(2)\n}\n",
        )
        .expect("write");
        std::fs::remove_file(root.join("gone.txt")).expect("rm");
        std::fs::rename(root.join("old_name.txt"), root.join("new_name.txt")).expect("mv");
        std::fs::write(root.join("logo.bin"), b"\x89PNG\0\0\x01").expect("write");
        std::fs::write(root.join("latin1.txt"), b"caf\xe9\n").expect("write");
        run(root, &["update-index", "--chmod=+x", "run.sh"]);
        std::fs::set_permissions(
            root.join("run.sh"),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .expect("chmod");
        let head = commit(root, "head");

        let found = change(root, Some(&base), &head).expect("change");
        let by_path = |p: &str| {
            found
                .files
                .iter()
                .find(|f| f.stat.path == p)
                .unwrap_or_else(|| panic!("{p} in {:?}", found.stats()))
        };
        let go = by_path("main.go");
        assert_eq!(
            (go.stat.status, go.stat.added, go.stat.removed),
            (FileStatus::Modified, 1, 1)
        );
        let Body::Text(hunks) = &go.body else {
            panic!("text")
        };
        assert!(
            hunks[0]
                .lines
                .iter()
                .any(|l| l.kind == LineKind::Added && l.text == "\tprintln(2)")
        );
        assert_eq!(by_path("gone.txt").stat.status, FileStatus::Deleted);
        let renamed = by_path("new_name.txt");
        assert_eq!(renamed.stat.status, FileStatus::Renamed);
        assert_eq!(renamed.stat.from.as_deref(), Some("old_name.txt"));
        assert_eq!(
            renamed.body,
            Body::Text(Vec::new()),
            "nothing inside changed"
        );
        assert_eq!(by_path("logo.bin").body, Body::Binary);
        assert!(by_path("logo.bin").stat.binary);
        assert_eq!(by_path("latin1.txt").body, Body::NotUtf8);
        assert_eq!(by_path("run.sh").mode_change(), Some(("100644", "100755")));
        assert_eq!(go.mode_change(), None);
        assert_eq!(
            by_path("logo.bin").mode_change(),
            None,
            "added: no mode change"
        );
        // From nothing: every file is added.
        let all = change(root, None, &base).expect("from nothing");
        assert!(all.files.iter().all(|f| f.stat.status == FileStatus::Added));
        assert_eq!(all.files.len(), 4);
    }

    #[test]
    fn a_file_too_large_to_show_is_named_with_its_size() {
        let dir = tempfile::tempdir().expect("dir");
        let root = dir.path();
        run(root, &["init", "-q"]);
        let base = commit(root, "base");
        let big = "x".repeat(usize::try_from(MAX_SHOWN_BYTES).expect("fits") + 10);
        std::fs::write(root.join("big.txt"), &big).expect("write");
        let head = commit(root, "head");
        let found = change(root, Some(&base), &head).expect("change");
        assert_eq!(
            found.files[0].body,
            Body::TooLarge {
                bytes: MAX_SHOWN_BYTES + 10
            }
        );
    }

    #[test]
    fn one_hunk_of_a_file_comes_back_out_of_the_work_tree_and_goes_back_in() {
        let dir = tempfile::tempdir().expect("dir");
        let root = dir.path();
        run(root, &["init", "-q"]);
        let old: String = (1..=30)
            .map(|i| format!("line {i}"))
            .collect::<Vec<_>>()
            .join("\n")
            + "\n";
        std::fs::write(root.join("f.txt"), &old).expect("write");
        let base = commit(root, "base");
        let new = old
            .replacen("line 2\n", "LINE 2\n", 1)
            .replacen("line 28\n", "LINE 28\n", 1);
        std::fs::write(root.join("f.txt"), &new).expect("write");
        let head = commit(root, "head");
        let found = change(root, Some(&base), &head).expect("change");
        let patch = found.files[0].hunk_patch(Some(1)).expect("the second hunk");
        super::super::git::apply(root, &patch, true).expect("reverted");
        let now = std::fs::read_to_string(root.join("f.txt")).expect("read");
        assert!(
            now.contains("LINE 2\n") && now.contains("line 28\n"),
            "{now}"
        );
        // Taking it out again finds nothing to take: refused, unchanged.
        assert!(super::super::git::apply(root, &patch, true).is_err());
        assert_eq!(
            std::fs::read_to_string(root.join("f.txt")).expect("read"),
            now
        );
        super::super::git::apply(root, &patch, false).expect("put back");
        assert_eq!(
            std::fs::read_to_string(root.join("f.txt")).expect("read"),
            new
        );
        // The whole file's patch takes every hunk out at once.
        let whole = found.files[0].hunk_patch(None).expect("the file");
        super::super::git::apply(root, &whole, true).expect("reverted");
        assert_eq!(
            std::fs::read_to_string(root.join("f.txt")).expect("read"),
            old
        );
    }
}
