//! What a phase changed in the workspace, as data: the files (added,
//! modified, deleted, renamed) with their line counts, and for each text
//! file its hunks, with the words that changed inside a changed line.
//!
//! This module is pure: it diffs two texts it is given ([`diff_text`]) and
//! prints a change as a unified patch ([`Change::patch`]). Reading the two
//! sides out of git is [`crate::tools::changes::change`]'s job; the log keeps
//! only the [`FileStat`]s, so a replay without the repository still shows
//! the file list and counts.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use similar::{ChangeTag, TextDiff};

/// Lines of context around each hunk.
pub const CONTEXT: usize = 3;

/// A file's text is shown up to this size; a larger one is named, not shown.
pub const MAX_SHOWN_BYTES: u64 = 1024 * 1024;

/// How long one file's diff may take before it settles for a coarser one.
const DIFF_DEADLINE: Duration = Duration::from_millis(200);

/// How a file changed.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum FileStatus {
    Added,
    Modified,
    Deleted,
    Renamed,
}

impl FileStatus {
    /// One letter, as `git status --short` writes it.
    pub fn letter(self) -> char {
        match self {
            Self::Added => 'A',
            Self::Modified => 'M',
            Self::Deleted => 'D',
            Self::Renamed => 'R',
        }
    }
}

/// One changed file, as the log records it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct FileStat {
    pub path: String,
    /// The path before a rename.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    pub status: FileStatus,
    pub added: u32,
    pub removed: u32,
    /// Not text: no lines counted.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub binary: bool,
}

impl FileStat {
    /// `internal/x.go`, or `old.go → new.go` for a rename (as recorded:
    /// a caller bound for a terminal sanitizes it).
    pub fn shown_path(&self) -> String {
        match &self.from {
            Some(from) => format!("{from} → {}", self.path),
            None => self.path.clone(),
        }
    }

    /// `+3 −1`, or `binary`.
    pub fn counts(&self) -> String {
        if self.binary {
            "binary".to_owned()
        } else {
            format!("+{} −{}", self.added, self.removed)
        }
    }

    /// `M internal/x.go  +3 −1`: a line of a file list.
    pub fn line(&self) -> String {
        format!(
            "{} {}  {}",
            self.status.letter(),
            self.shown_path(),
            self.counts()
        )
    }
}

/// The totals of a list of files: lines added, lines removed, files.
pub fn totals(files: &[FileStat]) -> (u64, u64, usize) {
    files.iter().fold((0, 0, 0), |(a, r, n), f| {
        (a + u64::from(f.added), r + u64::from(f.removed), n + 1)
    })
}

/// `+120 −8 in 5 files`.
pub fn summary(files: &[FileStat]) -> String {
    let (added, removed, count) = totals(files);
    format!(
        "+{added} −{removed} in {count} file{}",
        if count == 1 { "" } else { "s" }
    )
}

/// Where a phase's report and its change disagree: files the report names
/// that the change does not touch, and files the change touches that the
/// report never mentions.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Claims {
    pub named_unchanged: Vec<String>,
    pub unmentioned: Vec<String>,
}

impl Claims {
    /// Whether report and change agree.
    pub fn agree(&self) -> bool {
        self.named_unchanged.is_empty() && self.unmentioned.is_empty()
    }

    /// One line for the person at the gate.
    pub fn describe(&self) -> String {
        let list = |files: &[String]| {
            let shown: Vec<&str> = files.iter().take(3).map(String::as_str).collect();
            let more = files.len().saturating_sub(3);
            if more == 0 {
                shown.join(", ")
            } else {
                format!("{} and {more} more", shown.join(", "))
            }
        };
        let mut parts = Vec::new();
        if !self.named_unchanged.is_empty() {
            parts.push(format!(
                "the report names {} but the change does not touch it",
                list(&self.named_unchanged)
            ));
        }
        if !self.unmentioned.is_empty() {
            parts.push(format!(
                "the change touches {} but the report never mentions it",
                list(&self.unmentioned)
            ));
        }
        parts.join("; ")
    }
}

/// The extensions a word must end in to be taken for a file's path.
const SOURCE_EXTENSIONS: [&str; 24] = [
    "go", "rs", "py", "ts", "tsx", "js", "jsx", "sql", "md", "yaml", "yml", "json", "toml", "sh",
    "java", "kt", "rb", "c", "h", "cpp", "proto", "tf", "html", "css",
];

/// The workspace paths a report names: words like `internal/x/y.go` or
/// `main.go` (a known extension; not absolute, not a URL).
fn named_paths(report: &str) -> Vec<String> {
    let mut paths: Vec<String> = report
        .split(|c: char| c.is_whitespace() || ",;()[]{}<>\"'`|*".contains(c))
        .map(|w| w.trim_end_matches(['.', ':', '!', '?']))
        .filter(|w| !w.starts_with('/') && !w.contains("://") && !w.starts_with('.'))
        .filter(|w| {
            let name = w.rsplit('/').next().unwrap_or(w);
            name.rsplit_once('.')
                .is_some_and(|(stem, ext)| !stem.is_empty() && SOURCE_EXTENSIONS.contains(&ext))
        })
        .map(str::to_owned)
        .collect();
    paths.sort();
    paths.dedup();
    paths
}

/// Compares what a report says it changed with what the change holds.
pub fn claims(report: &str, files: &[FileStat]) -> Claims {
    let changed = |path: &str| {
        files
            .iter()
            .any(|f| f.path == path || f.path.ends_with(&format!("/{path}")))
    };
    let named_unchanged = named_paths(report)
        .into_iter()
        .filter(|p| !changed(p))
        .collect();
    let unmentioned = files
        .iter()
        .filter(|f| {
            let name = f.path.rsplit('/').next().unwrap_or(&f.path);
            !report.contains(f.path.as_str()) && !report.contains(name)
        })
        .map(|f| f.path.clone())
        .collect();
    Claims {
        named_unchanged,
        unmentioned,
    }
}

/// What a diff line is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineKind {
    Context,
    Added,
    Removed,
}

/// One line of a hunk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiffLine {
    pub kind: LineKind,
    /// The line's number on the old side (1-based), unless added.
    pub old: Option<usize>,
    /// The line's number on the new side (1-based), unless removed.
    pub new: Option<usize>,
    /// The text, without its line break.
    pub text: String,
    /// Byte ranges of `text` that changed within a changed line.
    pub emphasis: Vec<(usize, usize)>,
    /// The file's last line, with no line break after it.
    pub unterminated: bool,
}

/// A run of changed lines with context around it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hunk {
    pub old_start: usize,
    pub old_len: usize,
    pub new_start: usize,
    pub new_len: usize,
    pub lines: Vec<DiffLine>,
}

impl Hunk {
    /// `@@ -12,7 +12,9 @@`.
    pub fn header(&self) -> String {
        format!(
            "@@ -{},{} +{},{} @@",
            self.old_start, self.old_len, self.new_start, self.new_len
        )
    }
}

/// What can be shown of a file's content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Body {
    /// The hunks (none when only the mode or the name changed).
    Text(Vec<Hunk>),
    /// Not text.
    Binary,
    /// Bytes that are not UTF-8.
    NotUtf8,
    /// Over [`MAX_SHOWN_BYTES`] on either side.
    TooLarge { bytes: u64 },
}

/// One changed file with what can be shown of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileChange {
    pub stat: FileStat,
    /// The file's old and new modes (`100644`, `100755`; `000000` for no
    /// file).
    pub modes: (String, String),
    pub body: Body,
}

/// The mode of a regular file: what a change made by hand has.
pub const REGULAR: &str = "100644";

/// The mode git writes for "no file".
const NO_FILE: &str = "000000";

/// What changed between two states of the workspace.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Change {
    pub files: Vec<FileChange>,
}

impl Change {
    /// The files as the log records them.
    pub fn stats(&self) -> Vec<FileStat> {
        self.files.iter().map(|f| f.stat.clone()).collect()
    }

    /// The change as a unified patch (`git apply` reads it for text
    /// files; others are named in a line of their own).
    pub fn patch(&self) -> String {
        let mut out = String::new();
        for file in &self.files {
            file.write_patch(&mut out, None);
        }
        out
    }
}

impl FileChange {
    /// The old and new modes when a file that stayed changed its mode.
    pub fn mode_change(&self) -> Option<(&str, &str)> {
        let (old, new) = (&self.modes.0, &self.modes.1);
        (old != new && old != NO_FILE && new != NO_FILE).then_some((old.as_str(), new.as_str()))
    }

    /// One hunk of this file as a patch of its own (the file's headers,
    /// then the hunk), or every hunk when `hunk` is `None`: what a revert
    /// applies in reverse. None for a file that is not text, was renamed or
    /// changed only its mode, or a hunk it does not have.
    pub fn hunk_patch(&self, hunk: Option<usize>) -> Option<String> {
        let Body::Text(hunks) = &self.body else {
            return None;
        };
        if self.stat.status == FileStatus::Renamed
            || hunks.is_empty()
            || hunk.is_some_and(|h| h >= hunks.len())
        {
            return None;
        }
        let mut out = String::new();
        self.write_patch(&mut out, hunk);
        Some(out)
    }

    fn write_patch(&self, out: &mut String, only: Option<usize>) {
        let stat = &self.stat;
        let old = stat.from.as_deref().unwrap_or(&stat.path);
        let _ = writeln!(out, "diff --git a/{old} b/{}", stat.path);
        if let Some((from, to)) = self.mode_change() {
            let _ = writeln!(out, "old mode {from}\nnew mode {to}");
        }
        match stat.status {
            FileStatus::Added => {
                let _ = writeln!(out, "new file mode {}", self.modes.1);
            }
            FileStatus::Deleted => {
                let _ = writeln!(out, "deleted file mode {}", self.modes.0);
            }
            FileStatus::Renamed => {
                let _ = writeln!(out, "rename from {old}\nrename to {}", stat.path);
            }
            FileStatus::Modified => {}
        }
        let hunks = match &self.body {
            Body::Text(hunks) => hunks,
            Body::Binary => return out.push_str("Binary files differ\n"),
            Body::NotUtf8 => return out.push_str("(not UTF-8 text: not shown)\n"),
            Body::TooLarge { bytes } => {
                let _ = writeln!(out, "(too large to show: {bytes} bytes)");
                return;
            }
        };
        if hunks.is_empty() {
            return;
        }
        let (a, b) = match stat.status {
            FileStatus::Added => ("/dev/null".to_owned(), format!("b/{}", stat.path)),
            FileStatus::Deleted => (format!("a/{old}"), "/dev/null".to_owned()),
            FileStatus::Modified | FileStatus::Renamed => {
                (format!("a/{old}"), format!("b/{}", stat.path))
            }
        };
        let _ = writeln!(out, "--- {a}\n+++ {b}");
        for (i, hunk) in hunks.iter().enumerate() {
            if only.is_some_and(|only| only != i) {
                continue;
            }
            let _ = writeln!(out, "{}", hunk.header());
            for line in &hunk.lines {
                let sign = match line.kind {
                    LineKind::Context => ' ',
                    LineKind::Added => '+',
                    LineKind::Removed => '-',
                };
                let _ = writeln!(out, "{sign}{}", line.text);
                if line.unterminated {
                    out.push_str("\\ No newline at end of file\n");
                }
            }
        }
    }
}

/// Diffs two texts line by line: the hunks with [`CONTEXT`] lines around
/// each, the words that changed within changed lines, and the counts of
/// lines added and removed.
pub fn diff_text(old: &str, new: &str) -> (Vec<Hunk>, u32, u32) {
    let diff = TextDiff::configure()
        .deadline(Instant::now() + DIFF_DEADLINE)
        .diff_lines(old, new);
    let (mut added, mut removed) = (0_u32, 0_u32);
    let mut hunks = Vec::new();
    for group in diff.grouped_ops(CONTEXT) {
        let (Some(first), Some(last)) = (group.first(), group.last()) else {
            continue;
        };
        let old_range = first.old_range().start..last.old_range().end;
        let new_range = first.new_range().start..last.new_range().end;
        let mut lines = Vec::new();
        for op in &group {
            for change in diff.iter_inline_changes(op) {
                let kind = match change.tag() {
                    ChangeTag::Equal => LineKind::Context,
                    ChangeTag::Insert => {
                        added = added.saturating_add(1);
                        LineKind::Added
                    }
                    ChangeTag::Delete => {
                        removed = removed.saturating_add(1);
                        LineKind::Removed
                    }
                };
                let mut text = String::new();
                let mut emphasis = Vec::new();
                for (emphasized, value) in change.iter_strings_lossy() {
                    let start = text.len();
                    text.push_str(&value);
                    if emphasized && kind != LineKind::Context {
                        emphasis.push((start, text.len()));
                    }
                }
                let unterminated = !text.ends_with('\n');
                let trimmed = text.strip_suffix('\n').map_or(text.len(), str::len);
                text.truncate(trimmed);
                for range in &mut emphasis {
                    range.1 = range.1.min(trimmed);
                }
                emphasis.retain(|(a, b)| a < b);
                // A line changed as a whole is not marked word by word.
                if emphasis.len() == 1 && emphasis[0] == (0, trimmed) {
                    emphasis.clear();
                }
                lines.push(DiffLine {
                    kind,
                    old: change.old_index().map(|i| i + 1),
                    new: change.new_index().map(|i| i + 1),
                    text,
                    emphasis,
                    unterminated,
                });
            }
        }
        hunks.push(Hunk {
            old_start: old_range.start + usize::from(!old_range.is_empty()),
            old_len: old_range.len(),
            new_start: new_range.start + usize::from(!new_range.is_empty()),
            new_len: new_range.len(),
            lines,
        });
    }
    (hunks, added, removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_line_is_a_hunk_with_context_and_marked_words() {
        let old = "a\nb\nc\nlet x = 1;\nd\ne\nf\ng\n";
        let new = "a\nb\nc\nlet x = 2;\nd\ne\nf\ng\nh\n";
        let (hunks, added, removed) = diff_text(old, new);
        assert_eq!((added, removed), (2, 1));
        assert_eq!(hunks.len(), 1, "close changes share a hunk");
        let hunk = &hunks[0];
        assert_eq!(hunk.header(), "@@ -1,8 +1,9 @@");
        let removed_line = hunk
            .lines
            .iter()
            .find(|l| l.kind == LineKind::Removed)
            .expect("the old line");
        assert_eq!(removed_line.text, "let x = 1;");
        assert_eq!(removed_line.old, Some(4));
        let (a, b) = removed_line.emphasis[0];
        assert_eq!(&removed_line.text[a..b], "1;", "only the word that changed");
        let last = hunk.lines.last().expect("a line");
        assert_eq!(
            (last.kind, last.new, last.text.as_str()),
            (LineKind::Added, Some(9), "h")
        );
    }

    #[test]
    fn far_apart_changes_are_separate_hunks_and_a_new_file_is_all_added() {
        let old: String = (1..=30).map(|i| i.to_string() + "\n").collect();
        let new = old
            .replacen("\n2\n", "\ntwo\n", 1)
            .replacen("\n28\n", "\ntwenty-eight\n", 1);
        let (hunks, ..) = diff_text(&old, &new);
        assert_eq!(hunks.len(), 2, "{hunks:#?}");
        assert_eq!(
            hunks[1].header(),
            "@@ -25,6 +25,6 @@",
            "three lines before, two to the end"
        );
        let (hunks, added, removed) = diff_text("", "x\ny\n");
        assert_eq!((added, removed), (2, 0));
        assert_eq!(hunks[0].header(), "@@ -0,0 +1,2 @@");
    }

    #[test]
    fn a_patch_names_what_it_cannot_show() {
        let (hunks, added, removed) = diff_text("", "fn main() {}\n");
        let stat = |path: &str, status, binary| FileStat {
            path: path.into(),
            from: None,
            status,
            added,
            removed,
            binary,
        };
        let change = Change {
            files: vec![
                FileChange {
                    stat: stat("src/main.rs", FileStatus::Added, false),
                    modes: (NO_FILE.into(), REGULAR.into()),
                    body: Body::Text(hunks),
                },
                FileChange {
                    stat: stat("logo.png", FileStatus::Modified, true),
                    modes: (REGULAR.into(), "100755".into()),
                    body: Body::Binary,
                },
            ],
        };
        let patch = change.patch();
        assert!(
            patch.contains("new file mode 100644\n--- /dev/null\n+++ b/src/main.rs\n@@ -0,0 +1,1 @@\n+fn main() {}\n"),
            "{patch}"
        );
        assert!(
            patch.contains("old mode 100644\nnew mode 100755\nBinary files differ\n"),
            "{patch}"
        );
        assert_eq!(summary(&change.stats()), "+2 −0 in 2 files");
    }

    #[test]
    fn a_last_line_without_a_line_break_says_so_in_the_patch() {
        let (hunks, ..) = diff_text("a\nb", "a\nc");
        let change = Change {
            files: vec![FileChange {
                stat: FileStat {
                    path: "v".into(),
                    from: None,
                    status: FileStatus::Modified,
                    added: 1,
                    removed: 1,
                    binary: false,
                },
                modes: (REGULAR.into(), REGULAR.into()),
                body: Body::Text(hunks),
            }],
        };
        assert!(
            change
                .patch()
                .ends_with("-b\n\\ No newline at end of file\n+c\n\\ No newline at end of file\n"),
            "{}",
            change.patch()
        );
    }

    #[test]
    fn a_report_and_its_change_are_compared_file_by_file() {
        let stat = |path: &str| FileStat {
            path: path.into(),
            from: None,
            status: FileStatus::Added,
            added: 1,
            removed: 0,
            binary: false,
        };
        let files = [
            stat("internal/orders/service.go"),
            stat("internal/orders/model.go"),
        ];
        let report = "Wrote `internal/orders/service.go` and model.go; see https://x.io/a.go and /api/v1/orders. \
                      Also changed internal/routes/routes.go.";
        let found = claims(report, &files);
        assert_eq!(found.named_unchanged, ["internal/routes/routes.go"]);
        assert!(
            found.unmentioned.is_empty(),
            "a file named by its name counts"
        );
        let silent = claims("All done.", &files);
        assert_eq!(silent.unmentioned.len(), 2);
        assert_eq!(
            silent.describe(),
            "the change touches internal/orders/service.go, internal/orders/model.go but the report never mentions it"
        );
        assert!(claims("Wrote service.go and model.go", &files).agree());
    }
}
