//! Turning a log's lines back into events, by the rules every line is held
//! to: blank lines are skipped, `seq` counts up from 0, a last line cut
//! short (no newline, not parseable) is torn and dropped, and anything else
//! that does not parse is corrupt and named by its line number.
//!
//! Parsing is most of the cost of opening a long log, and lines parse on
//! their own, so a long stretch of lines is split at newlines and parsed on
//! as many threads as the machine offers. The rules are then applied in
//! order on the caller's thread, which is the only one that sees events.

use std::ops::Range;
use std::path::Path;

use super::LogError;
use crate::parallel;
use crate::session::event::Event;

/// Below this many bytes a stretch is parsed on the caller's thread alone:
/// starting a thread costs more than the parsing it would take over.
const PARALLEL_FROM: usize = 256 << 10;

/// What one line parsed to, before the rules are applied.
#[expect(
    clippy::large_enum_variant,
    reason = "Nearly every line is an event; a box each would cost more."
)]
enum Parsed {
    Blank,
    Event(Event),
    Unreadable,
}

/// The rules, applied to one log's lines in order.
pub(super) struct Lines<'p> {
    path: &'p Path,
    /// Lines seen so far.
    number: usize,
    /// Events accepted so far: the `seq` the next one must have.
    events: u64,
    /// The line number of a torn last line that was dropped.
    pub(super) torn: Option<usize>,
    /// Threads to parse a long stretch on; found when first needed.
    threads: Option<usize>,
}

impl<'p> Lines<'p> {
    pub(super) fn new(path: &'p Path) -> Self {
        Self {
            path,
            number: 0,
            events: 0,
            torn: None,
            threads: None,
        }
    }

    /// Every line of `stretch`, which ends in a newline (or is empty),
    /// handing each event to `each` in order.
    pub(super) fn complete(
        &mut self,
        stretch: &[u8],
        each: &mut impl FnMut(Event),
    ) -> Result<(), LogError> {
        let threads = if stretch.len() < PARALLEL_FROM {
            1
        } else {
            *self.threads.get_or_insert_with(parallel::threads)
        };
        for (range, parsed) in parse_stretch(stretch, threads) {
            if let Some(event) = self.accept(parsed, &stretch[range], true)? {
                each(event);
            }
        }
        Ok(())
    }

    /// The last line of a file that does not end in a newline.
    pub(super) fn last(&mut self, line: &[u8]) -> Result<Option<Event>, LogError> {
        let parsed = parse_line(line, std::str::from_utf8(line).ok());
        self.accept(parsed, line, false)
    }

    /// Applies the rules to one line; `complete` is false only for a last
    /// line the file ends in without a newline.
    fn accept(
        &mut self,
        parsed: Parsed,
        raw: &[u8],
        complete: bool,
    ) -> Result<Option<Event>, LogError> {
        self.number += 1;
        match parsed {
            Parsed::Blank => Ok(None),
            Parsed::Event(event) if event.seq == self.events => {
                self.events += 1;
                Ok(Some(event))
            }
            Parsed::Event(event) => Err(LogError::Corrupt {
                path: self.path.to_owned(),
                line: self.number,
                message: format!("seq {} where {} was expected", event.seq, self.events),
            }),
            Parsed::Unreadable if !complete => {
                self.torn = Some(self.number);
                Ok(None)
            }
            Parsed::Unreadable => Err(LogError::Corrupt {
                path: self.path.to_owned(),
                line: self.number,
                message: explain(self.number, raw),
            }),
        }
    }
}

/// Parses the lines of `stretch` (which ends in a newline) on up to
/// `threads` threads, each taking a run of whole lines; the results come
/// back in line order, with each line's place in `stretch`.
fn parse_stretch(stretch: &[u8], threads: usize) -> Vec<(Range<usize>, Parsed)> {
    let pieces = split(stretch, threads);
    if let [whole] = pieces.as_slice() {
        return parse_piece(stretch, whole.clone());
    }
    parallel::map(&pieces, |run| parse_piece(stretch, run.clone()))
        .into_iter()
        .flatten()
        .collect()
}

/// Cuts `stretch` into up to `n` runs of whole lines of about equal size.
fn split(stretch: &[u8], n: usize) -> Vec<Range<usize>> {
    let mut pieces = Vec::with_capacity(n);
    let mut start = 0;
    for i in 1..n {
        let aim = (stretch.len() * i / n).max(start);
        let Some(newline) = memchr::memchr(b'\n', &stretch[aim..]) else {
            break;
        };
        let end = aim + newline + 1;
        if end >= stretch.len() {
            break;
        }
        pieces.push(start..end);
        start = end;
    }
    pieces.push(start..stretch.len());
    pieces
}

/// Parses the lines in `stretch[run]`, a run of whole lines.
fn parse_piece(stretch: &[u8], run: Range<usize>) -> Vec<(Range<usize>, Parsed)> {
    let bytes = &stretch[run.clone()];
    // Checked as UTF-8 in one pass (a newline always ends a character);
    // a run that is not UTF-8 is checked line by line instead.
    let text = std::str::from_utf8(bytes).ok();
    let mut parsed = Vec::with_capacity(bytes.len() / 128);
    let mut start = 0;
    while let Some(len) = memchr::memchr(b'\n', &bytes[start..]) {
        let end = start + len;
        let line = parse_line(&bytes[start..end], text.map(|t| &t[start..end]));
        parsed.push((run.start + start..run.start + end, line));
        start = end + 1;
    }
    parsed
}

/// One line without its newline, and the same line as text if it is
/// already known to be UTF-8.
fn parse_line(bytes: &[u8], text: Option<&str>) -> Parsed {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Parsed::Blank;
    }
    let event = match text {
        Some(text) => serde_json::from_str::<Event>(text),
        None => serde_json::from_slice::<Event>(bytes),
    };
    event.map_or(Parsed::Unreadable, Parsed::Event)
}

/// Why line `number` could not be read, in words a person can act on.
fn explain(number: usize, raw: &[u8]) -> String {
    if number == 1 && raw.starts_with(b"\xEF\xBB\xBF") {
        return "the file starts with a byte-order mark (U+FEFF), which handoff never writes \
                (was it saved by an editor?); remove those three bytes"
            .to_owned();
    }
    let text = match std::str::from_utf8(raw) {
        Ok(text) => text,
        Err(e) => return format!("not UTF-8 text ({e})"),
    };
    match serde_json::from_str::<serde_json::Value>(text) {
        Err(e) => format!("not JSON ({e})"),
        Ok(_) => match serde_json::from_str::<Event>(text) {
            Err(e) => format!("not an event ({e})"),
            Ok(_) => "not an event".to_owned(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` gate events, one a line, numbered from 0.
    fn log(n: usize) -> String {
        (0..n)
            .map(|seq| {
                format!(
                    r#"{{"seq":{seq},"t":"2026-11-20T10:00:00.000Z","kind":"gate_opened","phase":"p{seq}","question":"Ready?"}}"#
                ) + "\n"
            })
            .collect()
    }

    fn read(stretch: &[u8]) -> Result<Vec<Event>, LogError> {
        let mut events = Vec::new();
        Lines::new(Path::new("s.jsonl")).complete(stretch, &mut |e| events.push(e))?;
        Ok(events)
    }

    #[test]
    fn parsing_on_several_threads_gives_the_lines_in_order() {
        let mut text = log(5000);
        let third = text[text.len() / 3..].find('\n').expect("a newline") + text.len() / 3;
        text.insert_str(third, "\n  \n");
        let stretch = text.as_bytes();
        assert!(stretch.len() > PARALLEL_FROM);
        let summary = |threads| -> Vec<_> {
            parse_stretch(stretch, threads)
                .into_iter()
                .map(|(range, parsed)| match parsed {
                    Parsed::Event(e) => (range, Some(e.seq)),
                    Parsed::Blank | Parsed::Unreadable => (range, None),
                })
                .collect()
        };
        let alone = summary(1);
        assert_eq!(alone.len(), 5002);
        for threads in [2, 3, 8] {
            assert_eq!(summary(threads), alone, "{threads} threads");
        }
        let events = read(stretch).expect("read");
        let seqs: Vec<_> = events.iter().map(|e| e.seq).collect();
        assert_eq!(seqs, (0..5000).collect::<Vec<u64>>());
    }

    #[test]
    fn damage_deep_in_a_long_stretch_is_named_by_its_line() {
        let text = log(5000);
        let mut lines: Vec<&str> = text.lines().collect();
        lines[3999] = "{\"seq\":3999,\"t\":";
        let damaged = lines.join("\n") + "\n";
        let err = read(damaged.as_bytes()).expect_err("corrupt");
        assert!(
            err.to_string()
                .starts_with("s.jsonl:4000: unreadable event: not JSON"),
            "{err}"
        );

        let mut bytes = text.clone().into_bytes();
        let at = text.match_indices("p4321").next().expect("line 4322").0;
        bytes[at] = 0xff;
        let err = read(&bytes).expect_err("not UTF-8");
        assert!(
            err.to_string()
                .starts_with("s.jsonl:4322: unreadable event: not UTF-8"),
            "{err}"
        );

        let skipped = text.replace("\"seq\":2600,", "\"seq\":2601,");
        let err = read(skipped.as_bytes()).expect_err("seq");
        assert_eq!(
            err.to_string(),
            "s.jsonl:2601: unreadable event: seq 2601 where 2600 was expected"
        );
    }

    #[test]
    fn splits_at_newlines_into_runs_that_cover_everything() {
        let stretch = b"aaaa\nbb\ncccccc\nd\n\neeeee\n";
        for n in 1..=10 {
            let pieces = split(stretch, n);
            assert!(pieces.len() <= n, "{n}: {pieces:?}");
            assert_eq!(pieces[0].start, 0);
            assert_eq!(pieces.last().map(|p| p.end), Some(stretch.len()));
            for pair in pieces.windows(2) {
                assert_eq!(pair[0].end, pair[1].start, "{n}: {pieces:?}");
                assert_eq!(stretch[pair[0].end - 1], b'\n', "{n}: {pieces:?}");
            }
        }
        assert_eq!(split(b"", 4), vec![0..0]);
        assert_eq!(split(b"one line only\n", 4), vec![0..14]);
    }
}
