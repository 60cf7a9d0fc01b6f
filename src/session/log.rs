//! Reading a session log: `<id>.jsonl`, one event per line.
//!
//! The writer is the engine's (`engine::LogWriter`): only the engine can
//! append. This module reads: [`read_log`] parses a file back,
//! skipping kinds it does not know, dropping a torn last line and naming the
//! line of anything else it cannot read; [`for_each_event`] does the same
//! a line at a time, for folding a long log without holding its events.

use std::fs::{self, File};
use std::io::Read;
use std::path::{Path, PathBuf};

use super::event::{Event, EventKind};

mod lines;
use lines::Lines;

/// What can go wrong with a log file.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}:{line}: unreadable event: {message}")]
    Corrupt {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{path}: the session is open in another handoff process")]
    Locked { path: PathBuf },
    /// The file was deleted or replaced under a running session.
    #[error("{path}: {message}")]
    Gone { path: PathBuf, message: String },
}

impl LogError {
    /// The log file the error is about.
    pub fn path(&self) -> &Path {
        match self {
            Self::Io { path, .. }
            | Self::Corrupt { path, .. }
            | Self::Locked { path }
            | Self::Gone { path, .. } => path,
        }
    }

    /// The 1-based line of the damage, for a damaged log.
    pub fn line(&self) -> Option<usize> {
        match self {
            Self::Corrupt { line, .. } => Some(*line),
            Self::Io { .. } | Self::Locked { .. } | Self::Gone { .. } => None,
        }
    }

    pub(crate) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Self + '_ {
        move |source| Self::Io {
            path: path.to_owned(),
            source,
        }
    }
}

/// A log as read from disk.
#[derive(Debug, Default)]
pub struct LogContents {
    pub events: Vec<Event>,
    /// The 1-based number of a last line that was cut short and dropped.
    pub torn_line: Option<usize>,
}

/// Reads and parses a whole log.
pub fn read_log(path: &Path) -> Result<LogContents, LogError> {
    let bytes = fs::read(path).map_err(LogError::io(path))?;
    parse_log(path, &bytes)
}

/// Reads a log that must be a session: one that starts with
/// `session_started`. An empty file, one cut short in its first line, or
/// one that starts with anything else is damaged at line 1.
pub fn read_session(path: &Path) -> Result<LogContents, LogError> {
    let contents = read_log(path)?;
    check_session(path, &contents.events, contents.torn_line)?;
    Ok(contents)
}

/// Whether `events` (read from `path`) begin a session.
pub fn check_session(
    path: &Path,
    events: &[Event],
    torn_line: Option<usize>,
) -> Result<(), LogError> {
    let message = match (events.first().map(|e| &e.kind), torn_line) {
        (Some(EventKind::SessionStarted { .. }), _) => return Ok(()),
        (Some(kind), _) => format!(
            "the first event is `{}`, not `session_started`: not the start of a session",
            kind.name()
        ),
        (None, Some(_)) => {
            "the first line was cut short (a crash as the session started?); nothing can be read"
                .to_owned()
        }
        (None, None) => "the file is empty: no session_started event".to_owned(),
    };
    Err(LogError::Corrupt {
        path: path.to_owned(),
        line: 1,
        message,
    })
}

/// Parses log bytes; `path` is only used in messages.
pub fn parse_log(path: &Path, bytes: &[u8]) -> Result<LogContents, LogError> {
    let mut events = Vec::new();
    let mut lines = Lines::new(path);
    let complete = memchr::memrchr(b'\n', bytes).map_or(0, |i| i + 1);
    lines.complete(&bytes[..complete], &mut |event| events.push(event))?;
    if complete < bytes.len() {
        events.extend(lines.last(&bytes[complete..])?);
    }
    Ok(LogContents {
        events,
        torn_line: lines.torn,
    })
}

/// Reads a log a block at a time, handing each event to `each` without
/// keeping it: what folding a long log needs, in the memory of one block
/// of the file. Lines are parsed where they lie in the block, not copied
/// out. Returns the number of a torn last line that was dropped.
pub fn for_each_event(path: &Path, mut each: impl FnMut(Event)) -> Result<Option<usize>, LogError> {
    const BLOCK: usize = 1 << 20;
    let mut file = File::open(path).map_err(LogError::io(path))?;
    let mut lines = Lines::new(path);
    let mut buf = vec![0; BLOCK];
    // `buf[..filled]` has been read; lines before `start` are done.
    let (mut start, mut filled) = (0, 0);
    loop {
        if filled - start < buf.len() / 2 {
            // Move the partial line to the front to make room.
            buf.copy_within(start..filled, 0);
            filled -= start;
            start = 0;
        } else {
            // One line longer than half the block: make the block bigger.
            buf.resize(buf.len() * 2, 0);
        }
        let read = file.read(&mut buf[filled..]).map_err(LogError::io(path))?;
        if read == 0 {
            if start < filled
                && let Some(event) = lines.last(&buf[start..filled])?
            {
                each(event);
            }
            return Ok(lines.torn);
        }
        filled += read;
        let complete = memchr::memrchr(b'\n', &buf[start..filled]).map_or(start, |i| start + i + 1);
        lines.complete(&buf[start..complete], &mut each)?;
        start = complete;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_a_byte_order_mark_and_text_that_is_not_json() {
        let event = r#"{"seq":0,"t":"2026-11-20T10:00:00.000Z","kind":"gate_opened","phase":"a","question":"Ready?"}"#;
        let bom = [b"\xEF\xBB\xBF".as_slice(), event.as_bytes(), b"\n"].concat();
        let err = parse_log(Path::new("s.jsonl"), &bom).expect_err("bom");
        assert!(
            err.to_string()
                .contains("s.jsonl:1: unreadable event: the file starts with a byte-order mark"),
            "{err}"
        );
        let err = parse_log(Path::new("s.jsonl"), b"hello\nworld\n").expect_err("text");
        assert!(
            err.to_string()
                .contains("s.jsonl:1: unreadable event: not JSON"),
            "{err}"
        );
        let err = parse_log(Path::new("s.jsonl"), b"[1,2]\n").expect_err("json");
        assert!(err.to_string().contains("not an event"), "{err}");
    }

    #[test]
    fn survives_a_torn_last_line_and_unknown_kinds() {
        let bytes = concat!(
            r#"{"seq":0,"t":"2026-11-20T10:00:00.000Z","kind":"gate_opened","phase":"a","question":"Ready?"}"#,
            "\n",
            r#"{"seq":1,"t":"2026-11-20T10:00:00.000Z","kind":"hologram","x":[1,2]}"#,
            "\n",
            r#"{"seq":2,"t":"2026-11-20T10:00:00.000Z","kind":"decis"#,
        );
        let read = parse_log(Path::new("s.jsonl"), bytes.as_bytes()).expect("parse");
        assert_eq!(read.events.len(), 2);
        assert_eq!(read.events[1].kind, EventKind::Unknown);
        assert_eq!(read.torn_line, Some(3));
    }

    #[test]
    fn names_the_line_that_is_not_utf8() {
        let mut bytes = br#"{"seq":0,"t":"2026-11-20T10:00:00.000Z","kind":"gate_opened","phase":"a","question":"Ready?"}"#.to_vec();
        bytes.extend_from_slice(b"\n{\"seq\":1,\"x\":\"\xff\"}\n");
        let err = parse_log(Path::new("s.jsonl"), &bytes).expect_err("not UTF-8");
        assert!(
            err.to_string()
                .starts_with("s.jsonl:2: unreadable event: not UTF-8 text"),
            "{err}"
        );
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s.jsonl");
        fs::write(&path, &bytes).expect("write");
        let err = for_each_event(&path, drop).expect_err("not UTF-8");
        assert!(
            err.to_string()
                .ends_with("s.jsonl:2: unreadable event: not UTF-8 text (invalid utf-8 sequence of 1 bytes from index 14)"),
            "{err}"
        );
    }

    #[test]
    fn names_the_line_of_a_corrupt_event() {
        let bytes = concat!(
            r#"{"seq":0,"t":"2026-11-20T10:00:00.000Z","kind":"gate_opened","phase":"a","question":"Ready?"}"#,
            "\nnot json\n",
            r#"{"seq":2,"t":"2026-11-20T10:00:00.000Z","kind":"gate_opened","phase":"a","question":"Ready?"}"#,
            "\n"
        );
        let err = parse_log(Path::new("s.jsonl"), bytes.as_bytes()).expect_err("corrupt");
        assert!(
            err.to_string().starts_with("s.jsonl:2: unreadable event"),
            "{err}"
        );
    }
}
