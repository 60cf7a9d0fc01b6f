//! The running token count on a phase's card while it streams, before the
//! server's usage arrives.
//!
//! Counting a growing text again at every frame would cost more than the
//! frame, so [`Tally`] keeps, per stream, the tokens of its text up to the
//! last line break it counted, and counts only the lines that came since
//! and the unfinished line. The encoder is the engine's, shared
//! ([`Tokens::ready`] never builds it on the UI thread); until it is built,
//! or without one (a replay), the count is the rough four characters a
//! token.

use std::cell::RefCell;
use std::sync::Arc;

use crate::provider::tokens::{Tokens, rough};

/// Which stream: a phase (by index), its attempt, and a task of its plan.
type Key = (usize, u32, Option<u32>);

/// Token counts of the streams' finished lines, kept between frames.
#[derive(Default)]
pub struct Tally {
    tokens: Option<Arc<Tokens>>,
    /// Per stream: bytes counted (through a line break) and their tokens.
    lines: RefCell<Vec<(Key, usize, u64)>>,
}

impl std::fmt::Debug for Tally {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tally").finish_non_exhaustive()
    }
}

impl Tally {
    pub fn new(tokens: Option<Arc<Tokens>>) -> Self {
        Self {
            tokens,
            lines: RefCell::default(),
        }
    }

    /// Whether counts are the model's own tokens, not an approximation.
    pub fn exact(&self) -> bool {
        self.tokens
            .as_ref()
            .is_some_and(|t| t.exact() && t.is_built())
    }

    /// The tokens of `text`, the whole text streamed so far on `key`.
    pub fn count(&self, key: Key, text: &str) -> u64 {
        let Some(tokens) = self.tokens.as_ref().filter(|t| t.is_built()) else {
            return rough(text);
        };
        let mut lines = self.lines.borrow_mut();
        let at = if let Some(at) = lines.iter().position(|(k, _, _)| *k == key) {
            at
        } else {
            lines.push((key, 0, 0));
            lines.len() - 1
        };
        let (_, counted, so_far) = &mut lines[at];
        if *counted > text.len() || !text.is_char_boundary(*counted) {
            (*counted, *so_far) = (0, 0);
        }
        if let Some(end) = text[*counted..].rfind('\n').map(|i| *counted + i + 1) {
            *so_far += tokens.ready(&text[*counted..end]);
            *counted = end;
        }
        *so_far + tokens.ready(&text[*counted..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fmt::Write as _;

    #[test]
    fn a_growing_text_counts_as_the_whole_does() {
        let tokens = Arc::new(Tokens::for_model("gpt-4o"));
        let tally = Tally::new(Some(Arc::clone(&tokens)));
        assert_eq!(
            tally.count((0, 1, None), "hello world"),
            3,
            "rough until built"
        );
        assert!(!tally.exact());
        tokens.count("");
        assert!(tally.exact());
        let mut text = String::new();
        for i in 0..200 {
            let _ = write!(text, "line {i} of the answer, with words");
            text.push(if i % 3 == 0 { '\n' } else { ' ' });
            assert_eq!(tally.count((0, 1, None), &text), tokens.count(&text));
        }
    }
}
