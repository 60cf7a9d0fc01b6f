//! Laid-out text kept between frames.
//!
//! Laying out a long artifact (Markdown parsed, sanitized and wrapped to a
//! width) costs time in proportion to its length, while a frame shows only
//! a screenful of it. [`RowCache`] keeps the last few layouts, keyed by
//! everything that decides them ([`RowsKey`]), so a frame copies the rows it
//! shows and lays out again only what changed. It lives in the
//! [`super::App`] beside the view state and is filled while drawing; the
//! rows it hands out are exactly what laying the text out again would give.

use std::cell::RefCell;
use std::sync::Arc;

use ratatui::text::Line;

/// Which text a layout is of, and at what width. Session texts only grow
/// (streamed output) or are set once (an artifact) or replaced by a
/// decision (an edit), and the fold is deterministic, so the attempt, which
/// of its texts, that text's length and the phase's number of decisions
/// identify it — by what the session recorded, never by where the text
/// happens to sit in memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RowsKey {
    pub phase: usize,
    pub attempt: usize,
    /// 0 the streamed output, 1 the agent's artifact, 2 a human's edit,
    /// 3 and 4 a diff against the draft or against the previous attempt.
    pub text: u8,
    pub len: usize,
    pub decisions: usize,
    /// The phase's consults (the artifact view shows their advice).
    pub advice: usize,
    /// The utility reports summoned at its gates (shown there too).
    pub utilities: usize,
    pub width: usize,
    /// Whether the rows end with the phase's decisions (the artifact view).
    pub with_decisions: bool,
}

/// The most recent layouts: one per board column (up to eight phases),
/// the open artifact or diff, and room to spare.
#[derive(Debug, Default)]
pub struct RowCache(RefCell<Vec<(RowsKey, Arc<[Line<'static>]>)>>);

impl RowCache {
    const ENTRIES: usize = 12;

    /// The rows for `key`, laid out by `lay_out` unless they are kept.
    pub fn get(
        &self,
        key: RowsKey,
        lay_out: impl FnOnce() -> Vec<Line<'static>>,
    ) -> Arc<[Line<'static>]> {
        let mut entries = self.0.borrow_mut();
        if let Some(found) = entries.iter().position(|(k, _)| *k == key) {
            let entry = entries.remove(found);
            let rows = Arc::clone(&entry.1);
            entries.insert(0, entry);
            return rows;
        }
        let rows: Arc<[Line<'static>]> = lay_out().into();
        entries.insert(0, (key, Arc::clone(&rows)));
        entries.truncate(Self::ENTRIES);
        rows
    }
}
