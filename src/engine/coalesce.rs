//! Streamed text on its way into the log, gathered and written by line and
//! by time, so that a stream at any speed makes a few `output` (or
//! `task_output`) events a second, not one per token.
//!
//! A [`Coalescer`] holds the text not written yet. It is written up to its
//! last line break once [`LINE_AFTER`] has passed since the last write;
//! a line that goes on and on is written whole after [`AT_MOST`] or at
//! [`FLUSH_BYTES`]. The engine also writes everything pending before any
//! other event of the same phase or task, at the end of an answer and on a
//! cancel (`take`). What is pending reaches the client live through
//! `Sink::streaming`, not through the log.

use std::time::Duration;

use tokio::time::Instant;

/// How long since the last write before a finished line is written.
pub(super) const LINE_AFTER: Duration = Duration::from_millis(250);
/// The longest text waits unwritten when no line ends.
pub(super) const AT_MOST: Duration = Duration::from_secs(2);
/// The most text gathered before it is written regardless of lines and time.
pub(super) const FLUSH_BYTES: usize = 4096;

/// The text of one stream not written yet.
#[derive(Debug)]
pub(super) struct Coalescer {
    pending: String,
    /// Where the last finished line of `pending` ends, if one does: kept
    /// as text arrives, so no call scans what is pending again.
    line_end: Option<usize>,
    last_write: Instant,
}

impl Coalescer {
    pub(super) fn new(now: Instant) -> Self {
        Self {
            pending: String::new(),
            line_end: None,
            last_write: now,
        }
    }

    /// Adds streamed text; returns what is due to be written now.
    pub(super) fn push(&mut self, text: &str, now: Instant) -> Option<String> {
        if let Some(at) = text.rfind('\n') {
            self.line_end = Some(self.pending.len() + at + 1);
        }
        self.pending.push_str(text);
        self.due(now)
    }

    /// What is due to be written at `now`, if anything: the finished lines
    /// once [`LINE_AFTER`] has passed, everything after [`AT_MOST`] or past
    /// [`FLUSH_BYTES`].
    pub(super) fn due(&mut self, now: Instant) -> Option<String> {
        if self.pending.is_empty() {
            return None;
        }
        let waited = now.saturating_duration_since(self.last_write);
        if waited >= AT_MOST || self.pending.len() >= FLUSH_BYTES {
            return self.take(now);
        }
        if waited < LINE_AFTER {
            return None;
        }
        let end = self.line_end.take()?;
        let rest = self.pending.split_off(end);
        self.last_write = now;
        Some(std::mem::replace(&mut self.pending, rest))
    }

    /// When the pending text falls due if nothing more arrives.
    pub(super) fn deadline(&self) -> Option<Instant> {
        if self.pending.is_empty() {
            None
        } else if self.line_end.is_some() {
            Some(self.last_write + LINE_AFTER)
        } else {
            Some(self.last_write + AT_MOST)
        }
    }

    /// Everything pending, to be written now (before another event, at the
    /// end of the answer, on a cancel).
    pub(super) fn take(&mut self, now: Instant) -> Option<String> {
        if self.pending.is_empty() {
            return None;
        }
        self.last_write = now;
        self.line_end = None;
        Some(std::mem::take(&mut self.pending))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_written_a_quarter_second_apart_and_the_rest_waits() {
        let t0 = Instant::now();
        let mut c = Coalescer::new(t0);
        assert_eq!(c.push("one\ntw", t0 + Duration::from_millis(100)), None);
        assert_eq!(c.deadline(), Some(t0 + LINE_AFTER));
        assert_eq!(
            c.push("o", t0 + Duration::from_millis(260)).as_deref(),
            Some("one\n")
        );
        // A line still open waits for its end, or for AT_MOST.
        assert_eq!(
            c.push("!", t0 + Duration::from_millis(600)),
            None,
            "no line ended"
        );
        let written = t0 + Duration::from_millis(260);
        assert_eq!(c.deadline(), Some(written + AT_MOST));
        assert_eq!(c.due(written + AT_MOST).as_deref(), Some("two!"));
        assert_eq!(c.take(written + AT_MOST), None);
    }

    #[test]
    fn a_long_line_and_an_end_write_everything() {
        let t0 = Instant::now();
        let mut c = Coalescer::new(t0);
        let long = "x".repeat(FLUSH_BYTES);
        assert_eq!(c.push(&long, t0).map(|t| t.len()), Some(FLUSH_BYTES));
        assert_eq!(c.push("partial", t0), None);
        assert_eq!(c.take(t0).as_deref(), Some("partial"));
        assert_eq!(c.deadline(), None);
    }
}
