//! Markdown artifacts as wrapped, styled lines.
//!
//! Agents write their artifacts (requirements, plans, test reports) in
//! Markdown. [`render`] parses that text with `pulldown_cmark` and lays it out
//! for one width: headings, paragraphs, emphasis, code, lists, task lists,
//! quotes, rules, links and tables, every row at most `width` display columns.
//! The text is untrusted, so it passes the sanitizer before parsing, and every
//! piece the parser hands back passes it again: character references such as
//! `&#27;` would otherwise bring control characters back.
//!
//! The renderer here walks the parser's events and lays out blocks and
//! inline text; `table` lays out tables and `wrap` fits styled text to
//! a width.

mod table;
mod wrap;

use std::mem;

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use unicode_width::UnicodeWidthStr;

use super::Theme;
use crate::sanitize::sanitize;
use table::Table;
use wrap::{Rows, atoms_width, fit, wrap};

/// A run of text in one style.
type Atom = (String, Style);

/// Renders Markdown `text` as rows of at most `width` display columns.
pub fn render(text: &str, width: usize, theme: &Theme) -> Vec<Line<'static>> {
    let text = sanitize(text);
    let options =
        Options::ENABLE_TABLES | Options::ENABLE_TASKLISTS | Options::ENABLE_STRIKETHROUGH;
    let mut renderer = Renderer::new(width, theme);
    for event in Parser::new_ext(&text, options) {
        renderer.event(event);
    }
    renderer.finish()
}

/// What starts every row inside a quote or a list item.
struct Container {
    /// The marker for the first row (a bullet or number), until it is used.
    first: Option<Atom>,
    /// What every other row starts with.
    rest: Atom,
}

struct Renderer<'t> {
    width: usize,
    theme: &'t Theme,
    out: Vec<Line<'static>>,
    containers: Vec<Container>,
    /// The next number of each open list; `None` for bullet lists.
    lists: Vec<Option<u64>>,
    styles: Vec<Style>,
    /// Inline text of the block being read, not yet wrapped.
    inline: Vec<Atom>,
    /// Where each open link's text starts in `inline`, and its URL.
    links: Vec<(usize, String)>,
    /// The text of an open code or HTML block.
    raw: Option<String>,
    table: Option<Table>,
    /// A blank row is due before the next block.
    gap: bool,
}

impl<'t> Renderer<'t> {
    fn new(width: usize, theme: &'t Theme) -> Self {
        Self {
            width,
            theme,
            out: Vec::new(),
            containers: Vec::new(),
            lists: Vec::new(),
            styles: Vec::new(),
            inline: Vec::new(),
            links: Vec::new(),
            raw: None,
            table: None,
            gap: false,
        }
    }

    fn finish(mut self) -> Vec<Line<'static>> {
        self.flush_inline();
        while self.out.last().is_some_and(|line| line.width() == 0) {
            self.out.pop();
        }
        self.out
    }

    fn event(&mut self, event: Event<'_>) {
        match event {
            Event::Start(tag) => self.start(tag),
            Event::End(tag) => self.end(tag),
            Event::Text(text)
            | Event::Html(text)
            | Event::InlineHtml(text)
            | Event::InlineMath(text)
            | Event::DisplayMath(text)
            | Event::FootnoteReference(text) => self.text(&text),
            Event::Code(code) => self.push(&code, self.style().patch(self.theme.code)),
            Event::SoftBreak => self.push(" ", self.style()),
            Event::HardBreak => self.inline.push(("\n".to_owned(), self.style())),
            Event::Rule => self.rule(),
            Event::TaskListMarker(done) => self.task(done),
        }
    }

    fn start(&mut self, tag: Tag<'_>) {
        match tag {
            Tag::Paragraph => self.open_block(),
            Tag::Heading { level, .. } => {
                self.open_block();
                self.styles.push(self.theme.heading);
                let marker = format!("{} ", "#".repeat(level as usize));
                self.push(&marker, self.theme.heading);
            }
            Tag::BlockQuote(_) => {
                self.open_block();
                let rest = ("│ ".to_owned(), self.theme.dim);
                self.containers.push(Container { first: None, rest });
            }
            Tag::CodeBlock(_) | Tag::HtmlBlock => {
                self.open_block();
                self.raw = Some(String::new());
            }
            Tag::List(start) => {
                self.open_block();
                self.lists.push(start);
            }
            Tag::Item => self.open_item(),
            Tag::Table(aligns) => {
                self.open_block();
                self.table.insert(Table::default()).aligns = aligns;
            }
            Tag::Emphasis => self.emphasize(Modifier::ITALIC),
            Tag::Strong | Tag::TableHead => self.emphasize(Modifier::BOLD),
            Tag::Strikethrough => self.emphasize(Modifier::CROSSED_OUT),
            Tag::Link { dest_url, .. } | Tag::Image { dest_url, .. } => {
                self.links.push((self.inline.len(), clean(&dest_url)));
            }
            // Rows and cells are laid out when they end; the rest is not
            // enabled or is shown as plain text.
            Tag::TableRow
            | Tag::TableCell
            | Tag::FootnoteDefinition(_)
            | Tag::DefinitionList
            | Tag::DefinitionListTitle
            | Tag::DefinitionListDefinition
            | Tag::Superscript
            | Tag::Subscript
            | Tag::MetadataBlock(_) => {}
        }
    }

    fn end(&mut self, tag: TagEnd) {
        match tag {
            TagEnd::Paragraph => self.close_block(),
            TagEnd::Heading(_) => {
                self.close_block();
                self.styles.pop();
            }
            TagEnd::BlockQuote(_) => {
                self.close_block();
                self.containers.pop();
            }
            TagEnd::CodeBlock => self.close_raw(self.theme.code, 2),
            TagEnd::HtmlBlock => self.close_raw(Style::new(), 0),
            TagEnd::List(_) => {
                self.lists.pop();
                self.gap |= self.lists.is_empty();
            }
            TagEnd::Item => self.close_item(),
            TagEnd::TableCell => {
                let cell = mem::take(&mut self.inline);
                self.table.get_or_insert_default().row.push(cell);
            }
            TagEnd::TableHead | TagEnd::TableRow => {
                if tag == TagEnd::TableHead {
                    self.styles.pop();
                }
                let table = self.table.get_or_insert_default();
                table.rows.push(mem::take(&mut table.row));
            }
            TagEnd::Table => self.close_table(),
            TagEnd::Emphasis | TagEnd::Strong | TagEnd::Strikethrough => {
                self.styles.pop();
            }
            TagEnd::Link | TagEnd::Image => self.close_link(),
            TagEnd::FootnoteDefinition
            | TagEnd::DefinitionList
            | TagEnd::DefinitionListTitle
            | TagEnd::DefinitionListDefinition
            | TagEnd::Superscript
            | TagEnd::Subscript
            | TagEnd::MetadataBlock(_) => {}
        }
    }

    fn style(&self) -> Style {
        self.styles.last().copied().unwrap_or_default()
    }

    fn emphasize(&mut self, modifier: Modifier) {
        self.styles.push(self.style().add_modifier(modifier));
    }

    /// Adds inline text, sanitised, as one line.
    fn push(&mut self, text: &str, style: Style) {
        self.inline.push((clean(text).replace('\n', " "), style));
    }

    fn text(&mut self, text: &str) {
        match &mut self.raw {
            Some(raw) => raw.push_str(text),
            None => self.push(text, self.style()),
        }
    }

    /// Ends the text before a block and leaves the blank row between blocks.
    fn open_block(&mut self) {
        self.flush_inline();
        if mem::take(&mut self.gap) {
            let prefix = self.containers.iter().map(|c| c.rest.clone()).collect();
            self.push_line(prefix, Vec::new());
        }
    }

    fn close_block(&mut self) {
        self.flush_inline();
        self.gap = true;
    }

    fn open_item(&mut self) {
        self.flush_inline();
        let marker = match self.lists.last_mut() {
            Some(Some(number)) => {
                *number += 1;
                format!("{}. ", *number - 1)
            }
            _ => "• ".to_owned(),
        };
        self.set_marker(marker);
    }

    fn close_item(&mut self) {
        self.flush_inline();
        if self.containers.last().is_some_and(|c| c.first.is_some()) {
            self.emit(Vec::new());
        }
        self.containers.pop();
    }

    fn task(&mut self, done: bool) {
        self.containers.pop();
        self.set_marker(if done { "☑ " } else { "☐ " }.to_owned());
    }

    /// Opens a list item whose first row starts with `marker` and whose other
    /// rows hang under its text.
    fn set_marker(&mut self, marker: String) {
        let rest = (" ".repeat(marker.width()), Style::new());
        let first = Some((marker, self.theme.key));
        self.containers.push(Container { first, rest });
    }

    fn close_link(&mut self) {
        let Some((start, url)) = self.links.pop() else {
            return;
        };
        let text = self.inline.get(start..).unwrap_or_default().iter();
        if !url.is_empty() && url != text.map(|a| a.0.as_str()).collect::<String>() {
            self.push(&format!(" ({url})"), self.theme.dim);
        }
    }

    fn rule(&mut self) {
        self.open_block();
        self.emit(vec![("─".repeat(self.avail()), self.theme.border)]);
        self.gap = true;
    }

    /// Columns left for content inside the open quotes and list items.
    fn avail(&self) -> usize {
        let prefix: usize = self.containers.iter().map(|c| c.rest.0.width()).sum();
        self.width.saturating_sub(prefix).max(2)
    }

    fn flush_inline(&mut self) {
        if self.inline.is_empty() {
            return;
        }
        let atoms = mem::take(&mut self.inline);
        for row in wrap(&atoms, self.avail()) {
            self.emit(row);
        }
    }

    /// Emits a code or HTML block line by line, breaking lines too long.
    fn close_raw(&mut self, style: Style, indent: usize) {
        let raw = clean(&self.raw.take().unwrap_or_default());
        let avail = self.avail();
        let indent = if avail > indent + 8 { indent } else { 0 };
        for line in raw.strip_suffix('\n').unwrap_or(&raw).split('\n') {
            let mut rows = Rows::new(avail - indent);
            for c in line.chars() {
                rows.push(c, style);
            }
            for mut row in rows.finish() {
                row.insert(0, (" ".repeat(indent), Style::new()));
                self.emit(row);
            }
        }
        self.gap = true;
    }

    /// Emits a row of content under the prefixes of the open containers.
    fn emit(&mut self, row: Vec<Atom>) {
        let mut prefix = Vec::new();
        for c in &mut self.containers {
            prefix.push(c.first.take().unwrap_or_else(|| c.rest.clone()));
        }
        self.push_line(prefix, row);
    }

    /// Adds a screen row, cutting the prefix (then the row) to the width.
    fn push_line(&mut self, prefix: Vec<Atom>, row: Vec<Atom>) {
        let mut atoms = fit(prefix, self.width.saturating_sub(atoms_width(&row)));
        atoms.extend(row);
        let mut atoms = fit(atoms, self.width);
        while let Some((text, _)) = atoms.last_mut() {
            text.truncate(text.trim_end_matches(' ').len());
            if !text.is_empty() {
                break;
            }
            atoms.pop();
        }
        let spans: Vec<Span<'static>> =
            atoms.into_iter().map(|(t, s)| Span::styled(t, s)).collect();
        self.out.push(Line::from(spans));
    }
}

/// Sanitised text from the parser (entities may decode to control characters).
fn clean(text: &str) -> String {
    sanitize(text).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str, width: usize) -> Vec<Line<'static>> {
        render(text, width, &Theme::ansi())
    }

    fn rows(text: &str, width: usize) -> Vec<String> {
        lines(text, width).iter().map(ToString::to_string).collect()
    }

    /// The style of the first span whose text contains `needle`.
    fn style_of(text: &str, needle: &str) -> Style {
        let lines = lines(text, 40);
        let mut spans = lines.iter().flat_map(|l| &l.spans);
        spans
            .find(|s| s.content.contains(needle))
            .expect("span")
            .style
    }

    const SAMPLE: &str = "# Plan\n\nSome *emphasis*, **strong**, ~~gone~~ and `code` with a \
        [link](https://example.com/a/very/long/path) and <https://x.y>.\n\n## Steps\n\n\
        1. First step that is fairly long and wraps\n2. Second\n   \
        - nested bullet with a long text that wraps too\n   - [ ] open task\n   - [x] done\n\n\
        > A quote that is long enough to wrap onto more rows.\n>\n> Second para 速率限制.\n\n\
        ```rust\nfn main() {\n    println!(\"a very long line of code that goes beyond\");\n}\n\
        ```\n\n---\n\n| Name | Role | Notes |\n|:-----|:----:|------:|\n| Ana | BA | writes \
        requirements |\n| Bo | QA | 速率限制 tests |\n\nA line  \nbreak and <b>html</b>.\n\n\
        <div>\nblock html\n</div>\n";

    const TABLE: &str = "| Name | Role | Notes |\n|---|---|---:|\n\
        | Ana | BA | writes specs |\n| Bo | QA | tests |\n";

    #[test]
    fn headings_keep_their_marker_and_a_blank_row() {
        let text = "# Title\n## Sub *part*\nText";
        assert_eq!(rows(text, 40), ["# Title", "", "## Sub part", "", "Text"]);
        let heading = Theme::ansi().heading;
        assert_eq!(style_of(text, "Title"), heading);
        assert_eq!(
            style_of(text, "part"),
            heading.add_modifier(Modifier::ITALIC)
        );
    }

    #[test]
    fn empty_input_gives_no_rows_and_no_trailing_blank() {
        assert!(lines("", 20).is_empty());
        assert!(lines("\n\n  \n", 20).is_empty());
        assert_eq!(rows("a\nb  \nc\n\n***\n\n", 5), ["a b", "c", "", "─────"]);
        assert_eq!(style_of("***", "─"), Theme::ansi().border);
    }

    #[test]
    fn inline_styles_and_html() {
        let text = "*i* **b** ~~s~~ `c` <u>h</u>";
        assert_eq!(rows(text, 40), ["i b s c <u>h</u>"]);
        let modified = |m| Style::new().add_modifier(m);
        assert_eq!(style_of(text, "i"), modified(Modifier::ITALIC));
        assert_eq!(style_of(text, "b"), modified(Modifier::BOLD));
        assert_eq!(style_of(text, "s"), modified(Modifier::CROSSED_OUT));
        assert_eq!(style_of(text, "c"), Theme::ansi().code);
    }

    #[test]
    fn nested_lists_hang_under_their_text() {
        let text = "- one two three four\n  - five six seven\n- eight\n\n3. a b c d\n4. e";
        let expected =
            "• one two\n  three four\n  • five six\n    seven\n• eight\n\n3. a b c d\n4. e";
        assert_eq!(rows(text, 12).join("\n"), expected);
    }

    #[test]
    fn task_lists_show_boxes() {
        let text = "- [ ] todo item here\n- [x] done";
        assert_eq!(rows(text, 12), ["☐ todo item", "  here", "☑ done"]);
    }

    #[test]
    fn code_blocks_keep_lines_and_break_long_ones() {
        let text = "```\nfn a() {\n    x\n}\n0123456789abcdef\n```\nafter";
        let expected = "  fn a() {\n      x\n  }\n  0123456789ab\n  cdef\n\nafter";
        assert_eq!(rows(text, 14).join("\n"), expected);
        assert_eq!(style_of(text, "fn a"), Theme::ansi().code);
        assert_eq!(rows("    indented\n", 20), ["  indented"]);
    }

    #[test]
    fn table_at_a_comfortable_width() {
        let expected = "Name │ Role │        Notes\n─────┼──────┼─────────────\n\
            Ana  │ BA   │ writes specs\nBo   │ QA   │        tests";
        assert_eq!(rows(TABLE, 40).join("\n"), expected);
        assert!(
            style_of(TABLE, "Name")
                .add_modifier
                .contains(Modifier::BOLD)
        );
        assert_eq!(style_of(TABLE, "Ana"), Style::new());
    }

    #[test]
    fn narrow_table_wraps_inside_cells_without_breaking_a_word() {
        let out = rows(TABLE, 20);
        let bars = |row: &String| {
            let chars = row.chars().enumerate();
            chars
                .filter(|c| "│┼".contains(c.1))
                .map(|c| c.0)
                .collect::<Vec<_>>()
        };
        assert!(
            out.len() > 4 && out.iter().any(|r| r.contains('┼')),
            "{out:#?}"
        );
        for row in &out {
            assert!(row.width() <= 20, "{row:?}");
            assert_eq!(bars(row), bars(&out[0]), "columns misaligned in {out:#?}");
        }
        let words: Vec<&str> = out.iter().flat_map(|r| r.split_whitespace()).collect();
        for word in ["writes", "specs", "Notes", "tests"] {
            assert!(words.contains(&word), "`{word}` was broken: {out:#?}");
        }
    }

    #[test]
    fn a_table_too_narrow_for_its_words_shows_its_rows_as_records() {
        assert_eq!(
            rows(TABLE, 12),
            [
                "Name: Ana",
                "Role: BA",
                "Notes:",
                "writes specs",
                "",
                "Name: Bo",
                "Role: QA",
                "Notes: tests"
            ]
        );
    }

    #[test]
    fn quotes_mark_every_row() {
        let text = "> one two three\n>\n> four\n\nafter";
        assert_eq!(
            rows(text, 10),
            ["│ one two", "│ three", "│", "│ four", "", "after"]
        );
        assert_eq!(style_of(text, "│"), Theme::ansi().dim);
    }

    #[test]
    fn links_show_their_url_unless_it_is_the_text() {
        let text = "[docs](https://d.io) and <https://x.y>";
        assert_eq!(rows(text, 60), ["docs (https://d.io) and https://x.y"]);
        assert_eq!(style_of(text, "(https://d.io)"), Theme::ansi().dim);
    }

    #[test]
    fn no_row_is_wider_than_the_width() {
        for width in 0..60 {
            for line in lines(SAMPLE, width) {
                assert!(line.width() <= width, "{line} wider than {width}");
            }
        }
    }

    #[test]
    fn control_characters_never_reach_a_span() {
        let text = "# T\u{1b}[31mred\n\nA \u{1b}]0;pwned\u{7} \u{202E}evil\u{2066} &#27;[2J \
            &#x202E; &#155;x\n\n`c\u{1b}[0m` [t](http://x&#27;y)\n\n```\nx\u{1b}[1my\u{9b}2J\n\
            ```\n\n| a\u{8} | b |\n|---|---|\n| &#27;c | d&#7; |\n\n<p>\u{1b}P1$r\u{1b}\\</p>\n";
        let bidi = |c| matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}');
        for width in [4, 80] {
            for line in lines(text, width) {
                for span in &line.spans {
                    let bad = span.content.chars().any(|c| c.is_control() || bidi(c));
                    assert!(!bad, "{:?}", span.content);
                }
            }
        }
        assert!(rows(text, 80).concat().contains("Tred"));
    }
}
