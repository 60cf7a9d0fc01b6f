//! Tables: the cells a table's rows collect, laid out in columns that
//! share the width, widest first to give way, each cell wrapped inside its
//! column and aligned as the table says.

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
        let widths = shrink(widths, self.avail().saturating_sub(3 * (cols.max(1) - 1)));
        for (i, row) in table.rows.iter().enumerate() {
            if i == 1 {
                let rule: Vec<String> = widths.iter().map(|w| "─".repeat(*w)).collect();
                self.emit(vec![(rule.join("─┼─"), self.theme.border)]);
            }
            self.table_row(row, &widths, &table.aligns);
        }
        self.gap = true;
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

/// Column widths that fit in `budget`, taken from the widest columns first.
fn shrink(mut widths: Vec<usize>, budget: usize) -> Vec<usize> {
    let mut total: usize = widths.iter().sum();
    while total > budget {
        match widths.iter_mut().max() {
            Some(widest) if *widest > 1 => *widest -= 1,
            _ => break,
        }
        total -= 1;
    }
    widths
}
