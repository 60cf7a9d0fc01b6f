//! Streamed text on its way into the log, gathered and written by line and
//! by time, so that a stream at any speed makes a few `output` (or
//! `task_output`) events a second, not one per token.
//!
//! A [`Coalescer`] holds the text not written yet. It is written up to its
//! last line break once [`LINE_AFTER`] has passed since the last write;
//! a line that goes on and on is written whole after [`AT_MOST`] or at
//! [`FLUSH_BYTES`]. The engine also writes everything pending before any
//! other event of the same phase or task, at the end of an answer and on a
//! cancel (`take`). The text reaches the client live through
//! `Sink::streaming`, not through the log, at most every [`LIVE_EVERY`]
//! (a frame: no screen draws faster) and always before the event that
//! records it.

use std::time::Duration;

use tokio::time::Instant;

/// How long since the last write before a finished line is written.
pub(super) const LINE_AFTER: Duration = Duration::from_millis(250);
/// The longest text waits unwritten when no line ends.
pub(super) const AT_MOST: Duration = Duration::from_secs(2);
/// The most text gathered before it is written regardless of lines and time.
pub(super) const FLUSH_BYTES: usize = 4096;
/// How often text goes to the client live: a frame at 60 a second.
pub(super) const LIVE_EVERY: Duration = Duration::from_millis(16);

/// What to do now: text to send live, then text to write, in that order.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Flush {
    pub live: Option<String>,
    pub write: Option<String>,
}

/// The text of one stream not written yet.
#[derive(Debug)]
pub(super) struct Coalescer {
    pending: String,
    /// Where the last finished line of `pending` ends, if one does: kept
    /// as text arrives, so no call scans what is pending again.
    line_end: Option<usize>,
    last_write: Instant,
    /// Text not sent live yet, and when text was last sent.
    live: String,
    live_sent: Instant,
}

impl Coalescer {
    pub(super) fn new(now: Instant) -> Self {
        Self {
            pending: String::new(),
            line_end: None,
            last_write: now,
            live: String::new(),
            live_sent: now,
        }
    }

    /// Adds streamed text; returns what is due now.
    pub(super) fn push(&mut self, text: &str, now: Instant) -> Flush {
        if let Some(at) = text.rfind('\n') {
            self.line_end = Some(self.pending.len() + at + 1);
        }
        self.pending.push_str(text);
        self.live.push_str(text);
        self.due(now)
    }

    /// What is due at `now`: the text to send live once [`LIVE_EVERY`] has
    /// passed, and to write (see [`Self::written`]); before a write, all of
    /// the text not sent live yet.
    pub(super) fn due(&mut self, now: Instant) -> Flush {
        let write = self.written(now);
        self.flush(write, now)
    }

    /// Everything not sent and not written, to send and write now (before
    /// another event, at the end of the answer, on a cancel).
    pub(super) fn take(&mut self, now: Instant) -> Flush {
        let write = self.take_written(now);
        self.flush(write, now)
    }

    fn flush(&mut self, write: Option<String>, now: Instant) -> Flush {
        let send = !self.live.is_empty()
            && (write.is_some() || now.saturating_duration_since(self.live_sent) >= LIVE_EVERY);
        let live = send.then(|| {
            self.live_sent = now;
            std::mem::take(&mut self.live)
        });
        Flush { live, write }
    }

    /// What is due to be written at `now`, if anything: the finished lines
    /// once [`LINE_AFTER`] has passed, everything after [`AT_MOST`] or past
    /// [`FLUSH_BYTES`].
    fn written(&mut self, now: Instant) -> Option<String> {
        if self.pending.is_empty() {
            return None;
        }
        let waited = now.saturating_duration_since(self.last_write);
        if waited >= AT_MOST || self.pending.len() >= FLUSH_BYTES {
            return self.take_written(now);
        }
        if waited < LINE_AFTER {
            return None;
        }
        let end = self.line_end.take()?;
        let rest = self.pending.split_off(end);
        self.last_write = now;
        Some(std::mem::replace(&mut self.pending, rest))
    }

    /// When something falls due if nothing more arrives.
    pub(super) fn deadline(&self) -> Option<Instant> {
        let write = if self.pending.is_empty() {
            None
        } else if self.line_end.is_some() {
            Some(self.last_write + LINE_AFTER)
        } else {
            Some(self.last_write + AT_MOST)
        };
        let live = (!self.live.is_empty()).then(|| self.live_sent + LIVE_EVERY);
        match (write, live) {
            (Some(w), Some(l)) => Some(w.min(l)),
            (w, l) => w.or(l),
        }
    }

    /// Everything pending, to be written now.
    fn take_written(&mut self, now: Instant) -> Option<String> {
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

    fn ms(t0: Instant, n: u64) -> Instant {
        t0 + Duration::from_millis(n)
    }

    fn flush(live: Option<&str>, write: Option<&str>) -> Flush {
        Flush {
            live: live.map(str::to_owned),
            write: write.map(str::to_owned),
        }
    }

    #[test]
    fn lines_are_written_a_quarter_second_apart_and_the_rest_waits() {
        let t0 = Instant::now();
        let mut c = Coalescer::new(t0);
        assert_eq!(c.push("one\ntw", ms(t0, 100)), flush(Some("one\ntw"), None));
        assert_eq!(c.deadline(), Some(t0 + LINE_AFTER));
        // Live text goes at once; the line is written with it.
        assert_eq!(c.push("o", ms(t0, 260)), flush(Some("o"), Some("one\n")));
        // A line still open waits for its end, or for AT_MOST.
        assert_eq!(c.push("!", ms(t0, 600)), flush(Some("!"), None));
        let written = ms(t0, 260);
        assert_eq!(c.deadline(), Some(written + AT_MOST));
        assert_eq!(c.due(written + AT_MOST), flush(None, Some("two!")));
        assert_eq!(c.take(written + AT_MOST), flush(None, None));
    }

    #[test]
    fn live_text_waits_a_frame_but_never_for_a_write() {
        let t0 = Instant::now();
        let mut c = Coalescer::new(t0);
        assert_eq!(c.push("a", ms(t0, 1)), flush(None, None));
        assert_eq!(c.push("b", ms(t0, 2)), flush(None, None));
        assert_eq!(c.deadline(), Some(t0 + LIVE_EVERY));
        assert_eq!(c.due(t0 + LIVE_EVERY), flush(Some("ab"), None));
        assert_eq!(c.push("c", ms(t0, 17)), flush(None, None));
        assert_eq!(c.take(ms(t0, 18)), flush(Some("c"), Some("abc")));
    }

    #[test]
    fn a_long_line_and_an_end_write_everything() {
        let t0 = Instant::now();
        let mut c = Coalescer::new(t0);
        let long = "x".repeat(FLUSH_BYTES);
        let first = c.push(&long, t0);
        assert_eq!(first.write.map(|t| t.len()), Some(FLUSH_BYTES));
        assert_eq!(first.live.map(|t| t.len()), Some(FLUSH_BYTES));
        assert_eq!(c.push("partial", t0), flush(None, None));
        assert_eq!(c.take(t0), flush(Some("partial"), Some("partial")));
        assert_eq!(c.deadline(), None);
    }
}
