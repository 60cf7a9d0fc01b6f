//! Whole lines for the event-stream reader, in linear time.
//!
//! The SSE parser under async-openai appends each network chunk to a
//! buffer and parses the buffer again from its start, and yields nothing
//! until an event is whole: a 16 MB line sent in 64 KiB pieces took 42 s
//! (quadratic), and looked like silence to the idle timeout all along.
//! [`whole_lines`] sits between the HTTP body and that parser: it passes
//! on only whole lines (looking for the newline in the new bytes alone, so
//! every byte is scanned once), counts every byte received in an
//! [`Activity`] the idle timeout reads, and ends the stream with an error
//! once one line grows past its cap.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use futures::{Stream, StreamExt};

/// The longest line of an event stream read: well past any chunk a model
/// sends (a tool call's arguments are capped far lower).
pub const MAX_LINE: usize = 64 * 1024 * 1024;

/// Bytes received so far on one answer's stream, shared with the reader
/// that times it out.
#[derive(Clone, Debug, Default)]
pub struct Activity(Arc<AtomicU64>);

impl Activity {
    pub fn record(&self, bytes: usize) {
        self.0
            .fetch_add(u64::try_from(bytes).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    pub fn bytes(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// The line being read and where it was left.
struct Pending<S> {
    body: S,
    /// Whole lines not yet passed on.
    ready: std::collections::VecDeque<Vec<u8>>,
    /// Bytes after the last newline passed on.
    partial: Vec<u8>,
    activity: Activity,
    max_line: usize,
    over: bool,
}

/// `body` re-cut at line ends: each item is one whole line (the last, at
/// the end of the stream, whatever is left). One line an item, because the
/// parser after this copies what follows each line it takes from its
/// buffer: many lines at once would be quadratic again.
pub fn whole_lines<S, B, E>(
    body: S,
    activity: Activity,
    max_line: usize,
) -> impl Stream<Item = Result<Vec<u8>, std::io::Error>> + Send + 'static
where
    S: Stream<Item = Result<B, E>> + Send + Unpin + 'static,
    B: AsRef<[u8]>,
    E: std::error::Error + Send + Sync + 'static,
{
    let state = Pending {
        body,
        ready: std::collections::VecDeque::new(),
        partial: Vec::new(),
        activity,
        max_line,
        over: false,
    };
    futures::stream::unfold(state, |mut st| async move {
        loop {
            if let Some(line) = st.ready.pop_front() {
                return Some((Ok(line), st));
            }
            if st.over {
                return None;
            }
            match st.body.next().await {
                None => {
                    st.over = true;
                    if !st.partial.is_empty() {
                        let rest = std::mem::take(&mut st.partial);
                        return Some((Ok(rest), st));
                    }
                }
                Some(Err(e)) => {
                    st.over = true;
                    return Some((Err(std::io::Error::other(e)), st));
                }
                Some(Ok(bytes)) => {
                    let bytes = bytes.as_ref();
                    st.activity.record(bytes.len());
                    let start = st.partial.len();
                    st.partial.extend_from_slice(bytes);
                    if let Some(at) = memchr::memrchr(b'\n', &st.partial[start..]) {
                        let rest = st.partial.split_off(start + at + 1);
                        let lines = std::mem::replace(&mut st.partial, rest);
                        let mut from = 0;
                        for end in memchr::memchr_iter(b'\n', &lines) {
                            st.ready.push_back(lines[from..=end].to_vec());
                            from = end + 1;
                        }
                        continue;
                    }
                    if st.partial.len() > st.max_line {
                        st.over = true;
                        let error = std::io::Error::other(format!(
                            "a line of the event stream is over {} MiB",
                            st.max_line >> 20
                        ));
                        return Some((Err(error), st));
                    }
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn cut(pieces: &[&str], max_line: usize) -> (Vec<String>, Option<String>, u64) {
        let activity = Activity::default();
        let body = futures::stream::iter(
            pieces
                .iter()
                .map(|p| Ok::<_, std::io::Error>(p.as_bytes().to_vec()))
                .collect::<Vec<_>>(),
        );
        let items: Vec<_> = whole_lines(body, activity.clone(), max_line)
            .collect::<Vec<_>>()
            .await;
        let mut lines = Vec::new();
        let mut error = None;
        for item in items {
            match item {
                Ok(b) => lines.push(String::from_utf8(b).expect("utf-8")),
                Err(e) => error = Some(e.to_string()),
            }
        }
        (lines, error, activity.bytes())
    }

    #[tokio::test]
    async fn only_whole_lines_pass_one_at_a_time_and_every_byte_counts() {
        let (lines, error, bytes) = cut(&["da", "ta: a\n\nda", "ta: b", "\n\n", "tail"], 100).await;
        assert_eq!(lines, ["data: a\n", "\n", "data: b\n", "\n", "tail"]);
        assert_eq!(error, None);
        assert_eq!(bytes, 22);
    }

    #[tokio::test]
    async fn a_line_past_the_cap_ends_the_stream() {
        let (lines, error, _) = cut(&["data: 0123", "456789", "abcdef\n"], 12).await;
        assert!(lines.is_empty());
        assert!(error.is_some_and(|e| e.contains("over")));
    }

    #[tokio::test]
    async fn a_long_line_is_read_in_linear_time() {
        let piece = "x".repeat(64 * 1024);
        let mut pieces = vec!["data: "];
        pieces.extend(std::iter::repeat_n(piece.as_str(), 256));
        pieces.push("\n\n");
        let started = std::time::Instant::now();
        let (lines, error, _) = cut(&pieces, MAX_LINE).await;
        assert_eq!(error, None);
        assert_eq!(lines.len(), 2);
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
    }
}
