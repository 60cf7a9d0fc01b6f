//! Styled text in rows: how wide a run of atoms is, cutting it to a
//! width, and wrapping it at spaces (breaking words longer than a row).

use std::mem;

use ratatui::style::Style;
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use super::Atom;

pub(super) fn atoms_width(atoms: &[Atom]) -> usize {
    atoms.iter().map(|a| a.0.width()).sum()
}

/// The atoms cut to at most `width` columns.
pub(super) fn fit(atoms: Vec<Atom>, width: usize) -> Vec<Atom> {
    let mut used = 0;
    let mut out = Vec::new();
    for (text, style) in atoms {
        let mut kept = String::new();
        for c in text.chars() {
            used += c.width().unwrap_or(0);
            if used > width {
                out.push((kept, style));
                return out;
            }
            kept.push(c);
        }
        out.push((kept, style));
    }
    out
}

/// Wraps styled text at spaces, breaking words longer than `width`; `\n`
/// starts a new row.
pub(super) fn wrap(atoms: &[Atom], width: usize) -> Vec<Vec<Atom>> {
    let mut rows = Rows::new(width);
    let mut word = Vec::new();
    for (text, style) in atoms {
        for c in text.chars() {
            match c {
                '\n' => {
                    rows.word(&mut word);
                    rows.newline();
                }
                ' ' => {
                    rows.word(&mut word);
                    rows.space(*style);
                }
                _ => word.push((c, *style)),
            }
        }
    }
    rows.word(&mut word);
    rows.finish()
}

/// Rows being filled up to a width.
#[derive(Default)]
pub(super) struct Rows {
    width: usize,
    done: Vec<Vec<Atom>>,
    row: Vec<Atom>,
    used: usize,
    /// A space is due before the next word on this row.
    space: Option<Style>,
}

impl Rows {
    pub(super) fn new(width: usize) -> Self {
        let width = width.max(1);
        Self {
            width,
            ..Self::default()
        }
    }

    /// Adds a character, starting a new row when it does not fit.
    pub(super) fn push(&mut self, c: char, style: Style) {
        let width = c.width().unwrap_or(0);
        if self.used > 0 && self.used + width > self.width {
            self.newline();
        }
        match self.row.last_mut() {
            Some((text, last)) if *last == style => text.push(c),
            _ => self.row.push((c.to_string(), style)),
        }
        self.used += width;
    }

    fn newline(&mut self) {
        self.done.push(mem::take(&mut self.row));
        self.used = 0;
        self.space = None;
    }

    fn space(&mut self, style: Style) {
        if self.used > 0 {
            self.space = Some(style);
        }
    }

    /// Adds a word, on the next row when it does not fit on this one.
    fn word(&mut self, word: &mut Vec<(char, Style)>) {
        if word.is_empty() {
            return;
        }
        let width: usize = word.iter().map(|(c, _)| c.width().unwrap_or(0)).sum();
        let gap = usize::from(self.space.is_some());
        if self.used > 0 && self.used + gap + width > self.width {
            self.newline();
        }
        if let Some(style) = self.space.take() {
            self.push(' ', style);
        }
        for (c, style) in word.drain(..) {
            self.push(c, style);
        }
    }

    pub(super) fn finish(mut self) -> Vec<Vec<Atom>> {
        self.done.push(self.row);
        self.done
    }
}
