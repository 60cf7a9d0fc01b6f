//! The session log's one writer, owned by the engine.
//!
//! [`LogWriter`] creates `<id>.jsonl` 0600 in a 0700 folder, holds an
//! exclusive lock on it while the session is live (so readers can tell a
//! live session from an interrupted one), numbers events from 0, and fsyncs
//! after the events that must survive a crash (gates, decisions, artifacts,
//! the end). Anyone may create or open one and hand it to the engine, but
//! only the engine can append: [`LogWriter::append`] is visible inside the
//! `engine` module alone, so "the engine is the only writer" holds by
//! construction.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use crate::session::log::{LogError, check_session, parse_log};
use crate::session::{Event, EventKind};

/// Appends events to one session's log.
#[derive(Debug)]
pub struct LogWriter {
    file: File,
    path: PathBuf,
    next_seq: u64,
}

/// How long resuming waits for the lock of a process that is ending.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

/// Takes the exclusive lock on `file`, waiting up to [`LOCK_WAIT`]: a
/// handoff that was just killed can hold it a moment longer (a child it
/// was starting still has the file open until that child's `exec`). A
/// lock held longer is another handoff writing the session: refused.
fn lock_soon(file: &File) -> bool {
    let until = std::time::Instant::now() + LOCK_WAIT;
    loop {
        if file.try_lock().is_ok() {
            return true;
        }
        if std::time::Instant::now() >= until {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
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
        if !lock_soon(&file) {
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
    pub(super) fn append(&mut self, t: DateTime<Utc>, kind: EventKind) -> Result<Event, LogError> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::event::SessionOutcome;
    use crate::session::log::{for_each_event, read_log};
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
    fn a_session_open_in_another_process_is_refused_and_a_lock_let_go_soon_is_waited_for() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut log = LogWriter::create(dir.path(), "s").expect("create");
        log.append(t(), started()).expect("append");
        let path = log.path().to_owned();
        // Another open file description holds the lock: refused, after
        // the wait.
        let err = LogWriter::open_append(&path).expect_err("locked");
        assert!(
            err.to_string().contains("open in another handoff process"),
            "{err}"
        );
        // The lock let go a moment later (a process ending): resumed.
        let holder = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(200));
            drop(log);
        });
        let (_, events) = LogWriter::open_append(&path).expect("the lock is let go");
        assert_eq!(events.len(), 1);
        holder.join().expect("join");
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
}
