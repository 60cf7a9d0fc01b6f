//! Tables: the cells a table's rows collect, laid out in columns that
//! share the width, widest first to give way, each cell wrapped inside its
//! column and aligned as the table says. A column never gets narrower than
//! its longest word, so no word is broken; when the columns cannot all be
//! that wide (a narrow card), each row is shown as `header: value` lines
//! instead, and the wide view still shows the table.

use pulldown_cmark::Alignment;
use ratatui::style::Style;

use super::wrap::{atoms_width, wrap};
use super::{Atom, Renderer};

/// A table being collected: rows of cells of styled text, the header first.
#[derive(Default)]
pub(super) struct Table {
    pub(super) aligns: Vec<Alignment>,
    pub(super) rows: Vec<Vec<Vec<Atom>>>,
    pub(super) row: Vec<Vec<Atom>>,
}

impl Renderer<'_> {
    /// Lays out the table just closed: column widths, then its rows with a
    /// rule under the header.
    pub(super) fn close_table(&mut self) {
        let table = self.table.take().unwrap_or_default();
        let cols = table.rows.iter().map(Vec::len).max().unwrap_or(0);
        let mut widths = vec![1; cols];
        for row in &table.rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(atoms_width(cell));
            }
        }
        let budget = self.avail().saturating_sub(3 * (cols.max(1) - 1));
        let mut words = vec![1; cols];
        for row in &table.rows {
            for (word, cell) in words.iter_mut().zip(row) {
                *word = (*word).max(longest_word(cell));
            }
        }
        if words.iter().sum::<usize>() > budget {
            self.table_as_records(&table.rows);
            self.gap = true;
            return;
        }
        let widths = shrink(widths, &words, budget);
        for (i, row) in table.rows.iter().enumerate() {
            if i == 1 {
                let rule: Vec<String> = widths.iter().map(|w| "─".repeat(*w)).collect();
                self.emit(vec![(rule.join("─┼─"), self.theme.border)]);
            }
            self.table_row(row, &widths, &table.aligns);
        }
        self.gap = true;
    }

    /// Each row after the header as `header: value` lines, a blank row
    /// between rows: what a table becomes where its columns do not fit.
    fn table_as_records(&mut self, rows: &[Vec<Vec<Atom>>]) {
        let Some((header, body)) = rows.split_first() else {
            return;
        };
        let width = self.avail().max(1);
        for (n, row) in body.iter().enumerate() {
            if n > 0 {
                self.emit(Vec::new());
            }
            for (i, cell) in row.iter().enumerate() {
                let mut line: Vec<Atom> = header
                    .get(i)
                    .map(|h| {
                        h.iter()
                            .map(|(text, _)| (text.clone(), self.theme.heading))
                            .collect()
                    })
                    .unwrap_or_default();
                line.push((": ".to_owned(), self.theme.heading));
                line.extend(cell.iter().cloned());
                for row in wrap(&line, width) {
                    self.emit(row);
                }
            }
        }
    }

    /// Emits one table row, as many screen rows as its tallest cell needs.
    fn table_row(&mut self, row: &[Vec<Atom>], widths: &[usize], aligns: &[Alignment]) {
        let cell = |i: usize| row.get(i).map_or(&[][..], Vec::as_slice);
        let cells: Vec<_> = widths
            .iter()
            .enumerate()
            .map(|(i, w)| wrap(cell(i), *w))
            .collect();
        for r in 0..cells.iter().map(Vec::len).max().unwrap_or(0) {
            let mut line = Vec::new();
            for (i, (cell, width)) in cells.iter().zip(widths).enumerate() {
                if i > 0 {
                    line.push((" │ ".to_owned(), self.theme.border));
                }
                let content = cell.get(r).cloned().unwrap_or_default();
                let free = width.saturating_sub(atoms_width(&content));
                let left = match aligns.get(i) {
                    Some(Alignment::Right) => free,
                    Some(Alignment::Center) => free / 2,
                    _ => 0,
                };
                line.push((" ".repeat(left), Style::new()));
                line.extend(content);
                line.push((" ".repeat(free - left), Style::new()));
            }
            self.emit(line);
        }
    }
}

/// The width of the longest word in a cell.
fn longest_word(cell: &[Atom]) -> usize {
    use unicode_width::UnicodeWidthStr as _;
    let text: String = cell.iter().map(|(t, _)| t.as_str()).collect();
    text.split_whitespace().map(str::width).max().unwrap_or(0)
}

/// Column widths that fit in `budget`, taken from the columns with the
/// most to spare first, none narrower than its longest word (`floor`).
fn shrink(mut widths: Vec<usize>, floor: &[usize], budget: usize) -> Vec<usize> {
    let mut total: usize = widths.iter().sum();
    while total > budget {
        let spare = widths
            .iter_mut()
            .zip(floor)
            .filter(|(w, f)| **w > **f)
            .max_by_key(|(w, _)| **w);
        match spare {
            Some((widest, _)) => *widest -= 1,
            None => break,
        }
        total -= 1;
    }
    widths
}
