//! The sessions folder: where it is, what is in it, and which file a user
//! means by `SESSION`.
//!
//! A `SESSION` argument is a path to a `.jsonl` file, a session id, or a
//! unique prefix of one. Listing folds every log in the folder; a log that
//! cannot be read is listed with its error instead of hiding the others. A
//! session whose log stops mid-run and whose writer no longer holds the lock
//! is reported as interrupted.

use std::fs::{self, File};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use super::fold::{SessionState, SessionStatus};
use super::log::{LogError, check_session, for_each_event};

/// Why a `SESSION` argument could not be resolved.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("no session `{arg}` in {dir}")]
    NotFound { arg: String, dir: PathBuf },
    #[error("`{arg}` matches several sessions: {}", matches.join(", "))]
    Ambiguous { arg: String, matches: Vec<String> },
    #[error(transparent)]
    Log(#[from] LogError),
}

/// Picks the sessions folder: the flag, else `$HANDOFF_SESSIONS`, else
/// `$XDG_DATA_HOME/handoff/sessions`, else `~/.local/share/handoff/sessions`.
pub fn sessions_dir(flag: Option<&Path>, env: impl Fn(&str) -> Option<String>) -> PathBuf {
    if let Some(dir) = flag {
        return dir.to_owned();
    }
    let non_empty = |key: &str| env(key).filter(|v| !v.is_empty());
    if let Some(dir) = non_empty("HANDOFF_SESSIONS") {
        return PathBuf::from(dir);
    }
    let data = non_empty("XDG_DATA_HOME").map_or_else(
        || PathBuf::from(non_empty("HOME").unwrap_or_else(|| ".".into())).join(".local/share"),
        PathBuf::from,
    );
    data.join("handoff").join("sessions")
}

/// A new session id: the start time (sortable) and four hex digits that
/// tell apart sessions started in the same second.
pub fn new_id(now: DateTime<Utc>) -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    hasher.write_i64(now.timestamp_nanos_opt().unwrap_or_default());
    format!(
        "{}-{:04x}",
        now.format("%Y%m%d-%H%M%S"),
        hasher.finish() & 0xffff
    )
}

/// The log file a `SESSION` argument names.
pub fn resolve(dir: &Path, arg: &str) -> Result<PathBuf, StoreError> {
    let as_path = Path::new(arg);
    if as_path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("jsonl"))
        || arg.contains('/')
    {
        if as_path.is_file() {
            return Ok(as_path.to_owned());
        }
        return Err(StoreError::NotFound {
            arg: arg.to_owned(),
            dir: dir.to_owned(),
        });
    }
    let ids = session_ids(dir);
    if ids.iter().any(|id| id == arg) {
        return Ok(dir.join(format!("{arg}.jsonl")));
    }
    let matches: Vec<String> = ids.into_iter().filter(|id| id.starts_with(arg)).collect();
    match matches.as_slice() {
        [one] => Ok(dir.join(format!("{one}.jsonl"))),
        [] => Err(StoreError::NotFound {
            arg: arg.to_owned(),
            dir: dir.to_owned(),
        }),
        _ => Err(StoreError::Ambiguous {
            arg: arg.to_owned(),
            matches,
        }),
    }
}

/// Ids of the logs in `dir`, sorted.
fn session_ids(dir: &Path) -> Vec<String> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut ids: Vec<String> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| n.strip_suffix(".jsonl"))
                .map(str::to_owned)
        })
        .collect();
    ids.sort();
    ids
}

/// Whether a live `handoff` process is writing this log.
pub fn is_live(path: &Path) -> bool {
    File::open(path).is_ok_and(|f| matches!(f.try_lock_shared(), Err(fs::TryLockError::WouldBlock)))
}

/// A session as found on disk.
#[derive(Debug)]
pub struct Loaded {
    pub path: PathBuf,
    pub state: SessionState,
    /// The status with "interrupted" filled in for logs nobody writes.
    pub status: SessionStatus,
    /// The line number of a torn last line that was ignored.
    pub torn_line: Option<usize>,
}

/// Reads and folds one session's log, a line at a time: the events are
/// folded as they are read and not kept, so a long log opens in about the
/// memory of its folded state. A log that does not start a session is
/// damaged at line 1.
pub fn load(path: &Path) -> Result<Loaded, LogError> {
    let mut state = SessionState::default();
    let mut first = Vec::with_capacity(1);
    let torn_line = for_each_event(path, |event| {
        state.apply(&event);
        if first.is_empty() {
            first.push(event);
        }
    })?;
    check_session(path, &first, torn_line)?;
    let status = match state.status {
        SessionStatus::Running if !is_live(path) => SessionStatus::Interrupted,
        status @ (SessionStatus::Running
        | SessionStatus::AwaitingGate
        | SessionStatus::Finished
        | SessionStatus::Failed
        | SessionStatus::Interrupted) => status,
    };
    Ok(Loaded {
        path: path.to_owned(),
        state,
        status,
        torn_line,
    })
}

/// Every session in `dir`, newest first; unreadable logs keep their error.
/// The logs are read on every core the machine offers.
pub fn list(dir: &Path) -> Vec<Result<Loaded, LogError>> {
    let paths: Vec<PathBuf> = session_ids(dir)
        .into_iter()
        .map(|id| dir.join(format!("{id}.jsonl")))
        .collect();
    let share = paths.len().div_ceil(crate::parallel::threads()).max(1);
    let parts: Vec<&[PathBuf]> = paths.chunks(share).collect();
    let mut all: Vec<_> = crate::parallel::map(&parts, |part| {
        part.iter().map(|path| load(path)).collect::<Vec<_>>()
    })
    .into_iter()
    .flatten()
    .collect();
    all.sort_by_key(|l| std::cmp::Reverse(l.as_ref().ok().and_then(|l| l.state.started_at)));
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_dir_follows_flag_then_env_then_xdg() {
        let env = |pairs: &'static [(&str, &str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(key, _)| *key == k)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        assert_eq!(
            sessions_dir(Some(Path::new("/x")), env(&[("HANDOFF_SESSIONS", "/y")])),
            PathBuf::from("/x")
        );
        assert_eq!(
            sessions_dir(None, env(&[("HANDOFF_SESSIONS", "/y")])),
            PathBuf::from("/y")
        );
        assert_eq!(
            sessions_dir(None, env(&[("XDG_DATA_HOME", "/d"), ("HOME", "/h")])),
            PathBuf::from("/d/handoff/sessions")
        );
        assert_eq!(
            sessions_dir(None, env(&[("HOME", "/h")])),
            PathBuf::from("/h/.local/share/handoff/sessions")
        );
    }

    #[test]
    fn resolves_ids_and_unique_prefixes() {
        let dir = tempfile::tempdir().expect("tempdir");
        for id in [
            "20261120-100000-aaaa",
            "20261120-100000-aabb",
            "20261121-090000-cccc",
        ] {
            fs::write(dir.path().join(format!("{id}.jsonl")), "").expect("write");
        }
        let resolved = resolve(dir.path(), "20261121").expect("unique prefix");
        assert!(resolved.ends_with("20261121-090000-cccc.jsonl"));
        assert!(matches!(
            resolve(dir.path(), "20261120-100000-aa"),
            Err(StoreError::Ambiguous { .. })
        ));
        assert!(matches!(
            resolve(dir.path(), "nope"),
            Err(StoreError::NotFound { .. })
        ));
        assert!(resolve(dir.path(), "20261120-100000-aaaa").is_ok());
    }
}
