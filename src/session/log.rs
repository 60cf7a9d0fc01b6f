//! Writing and reading a session log: `<id>.jsonl`, one event per line.
//!
//! [`LogWriter`] is owned by the engine, the only writer. It creates the file
//! 0600 in a 0700 folder, holds an exclusive lock on it while the session is
//! live (so readers can tell a live session from an interrupted one), numbers
//! events from 0, and fsyncs after the events that must survive a crash
//! (gates, decisions, artifacts, the end). [`read_log`] parses a file back,
//! skipping kinds it does not know, dropping a torn last line and naming the
//! line of anything else it cannot read; [`for_each_event`] does the same
//! a line at a time, for folding a long log without holding its events.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

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

    fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Self + '_ {
        move |source| Self::Io {
            path: path.to_owned(),
            source,
        }
    }
}

/// Appends events to one session's log.
#[derive(Debug)]
pub struct LogWriter {
    file: File,
    path: PathBuf,
    next_seq: u64,
}

impl LogWriter {
    /// Creates `<dir>/<id>.jsonl`; the folder is created 0700 if missing.
    pub fn create(dir: &Path, id: &str) -> Result<Self, LogError> {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(LogError::io(dir))?;
        let path = dir.join(format!("{id}.jsonl"));
        // Readable too, so that a log deleted under the session can be
        // saved again from the open file.
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .map_err(LogError::io(&path))?;
        if file.try_lock().is_err() {
            return Err(LogError::Locked { path });
        }
        // Make the new directory entry itself durable.
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(LogError::io(dir))?;
        Ok(Self {
            file,
            path,
            next_seq: 0,
        })
    }

    /// Opens an existing log to continue it: takes the exclusive lock (so
    /// two processes never write one session), cuts a torn last line off
    /// the file, and returns the events already recorded. A file that is
    /// not a session is refused before anything is cut from it.
    pub fn open_append(path: &Path) -> Result<(Self, Vec<Event>), LogError> {
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .open(path)
            .map_err(LogError::io(path))?;
        if file.try_lock().is_err() {
            return Err(LogError::Locked {
                path: path.to_owned(),
            });
        }
        let bytes = fs::read(path).map_err(LogError::io(path))?;
        let contents = parse_log(path, &bytes)?;
        check_session(path, &contents.events, contents.torn_line)?;
        let mut file = file;
        if contents.torn_line.is_some() {
            let keep = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
            file.set_len(keep as u64).map_err(LogError::io(path))?;
            file.sync_data().map_err(LogError::io(path))?;
        } else if bytes.last().is_some_and(|b| *b != b'\n') {
            // A whole event whose newline never reached the disk: end its
            // line, or the next event would be written onto it.
            file.write_all(b"\n").map_err(LogError::io(path))?;
            file.sync_data().map_err(LogError::io(path))?;
        }
        let writer = Self {
            file,
            path: path.to_owned(),
            next_seq: contents.events.len() as u64,
        };
        Ok((writer, contents.events))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one event stamped `t` and returns it as written. The stamp
    /// is cut to the milliseconds the log keeps, so the event handed back is
    /// exactly the one a reader will parse.
    pub fn append(&mut self, t: DateTime<Utc>, kind: EventKind) -> Result<Event, LogError> {
        let event = Event {
            seq: self.next_seq,
            t: DateTime::from_timestamp_millis(t.timestamp_millis()).unwrap_or(t),
            kind,
        };
        self.check_still_there()?;
        let mut line = serde_json::to_vec(&event).map_err(|e| LogError::Io {
            path: self.path.clone(),
            source: e.into(),
        })?;
        line.push(b'\n');
        self.file
            .write_all(&line)
            .map_err(LogError::io(&self.path))?;
        if event.kind.is_durable() {
            self.file.sync_data().map_err(LogError::io(&self.path))?;
        }
        self.next_seq += 1;
        Ok(event)
    }
}

impl LogWriter {
    /// Fails when the path no longer names the file this writer holds (it
    /// was deleted or replaced while the session ran): writing on would
    /// record into a file nobody can open. What was recorded is saved
    /// again first — at the path when it is free, else beside it — and the
    /// error says where.
    fn check_still_there(&self) -> Result<(), LogError> {
        use std::os::unix::fs::MetadataExt;
        let held = self.file.metadata().map_err(LogError::io(&self.path))?;
        let named = fs::metadata(&self.path);
        if named
            .as_ref()
            .is_ok_and(|m| m.dev() == held.dev() && m.ino() == held.ino())
        {
            return Ok(());
        }
        let saved = self.save_copy(named.is_err());
        let message = match saved {
            Ok(to) => format!(
                "the log file was deleted or replaced while the session ran, so nothing more \
                 is recorded; everything recorded so far was saved again to {}",
                to.display()
            ),
            Err(e) => format!(
                "the log file was deleted or replaced while the session ran, so nothing more \
                 is recorded, and saving what was recorded failed: {e}"
            ),
        };
        Err(LogError::Gone {
            path: self.path.clone(),
            message,
        })
    }

    /// Writes everything in the held file to a new private file: the
    /// original path if `path_free`, else `<id>.recovered.jsonl` beside it.
    fn save_copy(&self, path_free: bool) -> std::io::Result<PathBuf> {
        use std::os::unix::fs::FileExt;
        let len = self.file.metadata()?.len();
        let mut bytes = vec![0; usize::try_from(len).unwrap_or(usize::MAX)];
        self.file.read_exact_at(&mut bytes, 0)?;
        let to = if path_free {
            self.path.clone()
        } else {
            self.path.with_extension("recovered.jsonl")
        };
        let mut copy = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&to)?;
        copy.write_all(&bytes)?;
        copy.sync_all()?;
        Ok(to)
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
    use crate::session::event::SessionOutcome;
    use std::os::unix::fs::PermissionsExt;

    fn t() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-20T10:00:00Z")
            .expect("time")
            .with_timezone(&Utc)
    }

    fn gate(phase: &str) -> EventKind {
        EventKind::GateOpened {
            phase: phase.into(),
            question: "Ready?".into(),
            over_budget: None,
        }
    }

    fn started() -> EventKind {
        crate::session::testing::started("r", "offline")
    }

    #[test]
    fn a_file_that_is_not_a_session_is_refused_and_left_as_it_was() {
        let dir = tempfile::tempdir().expect("tempdir");
        for (bytes, why) in [
            (&b""[..], "empty"),
            (br#"{"seq":0,"t":"2026-11-20T10:0"#, "cut short"),
        ] {
            let path = dir.path().join("s.jsonl");
            fs::write(&path, bytes).expect("write");
            let err = LogWriter::open_append(&path).expect_err("not a session");
            assert!(err.to_string().contains(why), "{err}");
            assert_eq!(err.line(), Some(1));
            assert_eq!(fs::read(&path).expect("read"), bytes, "nothing was cut");
        }
    }

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
    fn writes_numbered_lines_with_private_permissions() {
        let dir = tempfile::tempdir().expect("tempdir");
        let sessions = dir.path().join("sessions");
        let mut log = LogWriter::create(&sessions, "s1").expect("create");
        log.append(t(), gate("a")).expect("append");
        log.append(
            t(),
            EventKind::SessionFinished {
                outcome: SessionOutcome::Completed,
            },
        )
        .expect("append");
        let mode = |p: &Path| fs::metadata(p).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode(&sessions), 0o700);
        assert_eq!(mode(log.path()), 0o600);
        let text = fs::read_to_string(log.path()).expect("read");
        assert!(
            text.starts_with(r#"{"seq":0,"t":"2026-11-20T10:00:00.000Z","kind":"gate_opened""#)
        );
        let read = read_log(log.path()).expect("parse");
        assert_eq!(read.events.len(), 2);
        assert_eq!(read.events[1].seq, 1);
    }

    #[test]
    fn reopening_cuts_a_torn_tail_and_continues_the_numbering() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = {
            let mut log = LogWriter::create(dir.path(), "s1").expect("create");
            log.append(t(), started()).expect("append");
            log.path().to_owned()
        };
        let mut file = OpenOptions::new().append(true).open(&path).expect("open");
        file.write_all(br#"{"seq":1,"t":"2026-11-20T10:00"#)
            .expect("torn write");
        drop(file);
        let (mut log, events) = LogWriter::open_append(&path).expect("reopen");
        assert_eq!(events.len(), 1);
        log.append(t(), gate("b")).expect("append");
        let read = read_log(&path).expect("read");
        assert_eq!(read.torn_line, None);
        assert_eq!(read.events.len(), 2);
        assert_eq!(read.events[1].seq, 1);
        assert!(
            LogWriter::open_append(&path).is_err(),
            "the first writer still holds the lock"
        );
    }

    #[test]
    fn reopening_ends_a_whole_last_event_whose_newline_was_lost() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = {
            let mut log = LogWriter::create(dir.path(), "s1").expect("create");
            log.append(t(), started()).expect("append");
            log.append(t(), gate("a")).expect("append");
            log.path().to_owned()
        };
        let bytes = fs::read(&path).expect("read");
        fs::write(&path, &bytes[..bytes.len() - 1]).expect("lose the newline");
        let (mut log, events) = LogWriter::open_append(&path).expect("reopen");
        assert_eq!(events.len(), 2, "the last event is whole and kept");
        log.append(t(), gate("b")).expect("append");
        drop(log);
        let read = read_log(&path).expect("every line reads");
        assert_eq!(read.events.len(), 3);
        assert_eq!(read.torn_line, None);
    }

    #[test]
    fn a_log_deleted_under_the_writer_is_saved_again_and_refuses_more() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut log = LogWriter::create(dir.path(), "s1").expect("create");
        log.append(t(), gate("a")).expect("append");
        let recorded = fs::read(log.path()).expect("read");
        fs::remove_file(log.path()).expect("delete");
        let err = log.append(t(), gate("b")).expect_err("gone");
        assert!(matches!(err, LogError::Gone { .. }), "{err}");
        assert!(err.to_string().contains("deleted or replaced"), "{err}");
        assert_eq!(fs::read(log.path()).expect("saved again"), recorded);
        let mode = fs::metadata(log.path()).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);

        // Replaced by another file: that file is left alone, the copy goes beside it.
        let mut log = LogWriter::create(dir.path(), "s2").expect("create");
        log.append(t(), gate("a")).expect("append");
        fs::remove_file(log.path()).expect("delete");
        fs::write(log.path(), "someone else's\n").expect("replace");
        let err = log.append(t(), gate("b")).expect_err("replaced");
        let beside = dir.path().join("s2.recovered.jsonl");
        assert!(
            err.to_string().contains(&beside.display().to_string()),
            "{err}"
        );
        assert_eq!(fs::read(&beside).expect("copy"), recorded);
        assert_eq!(fs::read(log.path()).expect("other"), b"someone else's\n");
    }

    #[test]
    fn a_full_disk_fails_the_append_and_numbers_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        // /dev/full answers every write with ENOSPC; the path check is
        // satisfied by linking the name to the device.
        let path = dir.path().join("full.jsonl");
        std::os::unix::fs::symlink("/dev/full", &path).expect("link");
        let file = OpenOptions::new().append(true).open(&path).expect("open");
        let mut log = LogWriter {
            file,
            path,
            next_seq: 7,
        };
        let err = log.append(t(), gate("a")).expect_err("disk full");
        assert!(
            matches!(&err, LogError::Io { source, .. } if source.raw_os_error() == Some(28)),
            "ENOSPC: {err}"
        );
        assert_eq!(log.next_seq, 7, "a failed append takes no number");
    }

    #[test]
    fn a_second_writer_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let _first = LogWriter::create(dir.path(), "s1").expect("create");
        assert!(LogWriter::create(dir.path(), "s1").is_err());
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
    fn reading_a_line_at_a_time_agrees_with_reading_it_whole() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = {
            let mut log = LogWriter::create(dir.path(), "s1").expect("create");
            for i in 0..2000 {
                let text = if i == 700 {
                    "long line \n".repeat(300_000)
                } else {
                    format!("chunk {i}\n")
                };
                let kind = EventKind::Output {
                    phase: "a".into(),
                    attempt: 1,
                    text,
                };
                log.append(t(), kind).expect("append");
            }
            log.path().to_owned()
        };
        let mut file = OpenOptions::new().append(true).open(&path).expect("open");
        file.write_all(b"\n   \n{\"seq\":2000,\"t\":\"2026")
            .expect("torn write");
        drop(file);
        let whole = read_log(&path).expect("whole");
        let mut events = Vec::new();
        let torn = for_each_event(&path, |e| events.push(e)).expect("a line at a time");
        assert_eq!(events, whole.events);
        assert_eq!(events.len(), 2000);
        assert_eq!((torn, whole.torn_line), (Some(2003), Some(2003)));
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
