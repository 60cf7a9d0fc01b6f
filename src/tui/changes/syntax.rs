//! Syntax highlighting for the Changes view, by syntect's grammars: which
//! words of a diff line are a keyword, a string, a comment, a constant, a
//! function or a type. The colours are not syntect's: each kind takes a
//! style of handoff's theme ([`kind_style`]), so highlighting follows the
//! theme, light or dark or without colour.
//!
//! Loading the grammars costs tens of milliseconds, so [`Syntaxes::load`]
//! runs off the UI task (the loop asks for it when a Changes view first
//! opens) and the app shares the result by `Arc`. Until then lines are
//! drawn plain. Only what is drawn is highlighted: a hunk's two sides
//! (the old text, context and removed lines; the new one, context and
//! added lines) are each parsed from the hunk's start, in order, as far as
//! the lowest line drawn so far, and the words found are kept
//! ([`Highlights`]), so a frame parses only the lines that came into
//! sight. Meanwhile the loop highlights the whole change off the UI task
//! ([`Highlights::fill`]) and hands it back, so scrolling further needs no
//! parsing at all. A hunk starts from the grammar's first state (what comes before
//! it in the file is not read), as other diff viewers do.

use std::collections::HashMap;
use std::sync::Arc;

use ratatui::style::{Modifier, Style};
use syntect::parsing::{ParseState, Scope, ScopeStack, SyntaxReference, SyntaxSet};

use super::layout::LineAt;
use crate::changes::{Body, Change, LineKind};
use crate::tui::Theme;

/// Lines past the parsed part of a hunk side beyond which parsing starts
/// again nearer the line asked for (a jump to the end of a huge new file
/// costs a few lines of parsing, not the whole file).
const RESTART_AFTER: usize = 400;

/// How many lines before the asked-for one such a restart begins.
const RESTART_BEFORE: usize = 40;

/// What a highlighted piece of code is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Keyword,
    Str,
    Comment,
    Constant,
    Function,
    Type,
}

/// A highlighted piece of a line: its byte range and kind.
pub type Mark = (usize, usize, Kind);

/// The grammars, loaded once and shared.
pub struct Syntaxes {
    set: SyntaxSet,
    /// Scope prefixes and the kind each means, most specific first.
    kinds: Vec<(Scope, Kind)>,
}

impl std::fmt::Debug for Syntaxes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Syntaxes")
            .field("syntaxes", &self.set.syntaxes().len())
            .finish_non_exhaustive()
    }
}

/// Scope name prefixes and their kinds, in the order they are tried on
/// each scope of the stack (innermost scope first).
/// `storage` (Go's `func` and `int` alike) reads as a keyword, as most
/// editors' themes draw it; in Markdown a heading reads as a type (the
/// theme's `heading`) and code as a string (its `code`).
const KINDS: [(&str, Kind); 13] = [
    ("comment", Kind::Comment),
    ("string", Kind::Str),
    ("constant", Kind::Constant),
    ("keyword", Kind::Keyword),
    ("storage", Kind::Keyword),
    ("entity.name.function", Kind::Function),
    ("support.function", Kind::Function),
    ("variable.function", Kind::Function),
    ("entity.name.type", Kind::Type),
    ("entity.name.class", Kind::Type),
    ("support.type", Kind::Type),
    ("markup.heading", Kind::Type),
    ("markup.raw", Kind::Str),
];

impl Syntaxes {
    /// syntect's bundled grammars (tens of milliseconds: call it off the
    /// UI task).
    pub fn load() -> Self {
        let kinds = KINDS
            .iter()
            .filter_map(|&(name, kind)| Some((Scope::new(name).ok()?, kind)))
            .collect();
        // syntect compiles a pattern when it first needs it, and panics if
        // it cannot: a test checks that every pattern of these bundled
        // grammars compiles with the pure-Rust regex engine.
        Self {
            set: SyntaxSet::load_defaults_newlines(),
            kinds,
        }
    }

    /// The grammar for a path, by its extension (or its whole name, as
    /// `Makefile`); none for plain text or an unknown kind of file.
    fn for_path(&self, path: &str) -> Option<&SyntaxReference> {
        let name = path.rsplit('/').next().unwrap_or(path);
        let extension = name.rsplit_once('.').map_or(name, |(_, e)| e);
        let syntax = self
            .set
            .find_syntax_by_extension(extension)
            .or_else(|| self.set.find_syntax_by_extension(name))?;
        (syntax.name != "Plain Text").then_some(syntax)
    }

    /// The kind a stack of scopes shows: its innermost scope that names
    /// one.
    fn kind_of(&self, stack: &ScopeStack) -> Option<Kind> {
        stack.as_slice().iter().rev().find_map(|&scope| {
            self.kinds
                .iter()
                .find(|(prefix, _)| prefix.is_prefix_of(scope))
                .map(|&(_, kind)| kind)
        })
    }
}

/// One side of a hunk being parsed, in order.
struct Side {
    state: ParseState,
    stack: ScopeStack,
    /// The index (into the hunk's lines) parsing has got to.
    next: usize,
}

/// A hunk's highlighting as far as it has been drawn.
struct HunkMarks {
    old: Option<Side>,
    new: Option<Side>,
    /// Per line of the hunk, its marks once parsed.
    lines: Vec<Option<Vec<Mark>>>,
}

/// The highlighting of one change, hunk by hunk, as far as it was drawn.
pub struct Highlights {
    syntaxes: Arc<Syntaxes>,
    hunks: HashMap<(usize, usize), HunkMarks>,
    /// Lines this frame may still parse (`None`: no limit, off the UI
    /// task). A row that would need more is drawn plain for now, and
    /// coloured once the whole change is highlighted in the background.
    budget: Option<usize>,
}

/// Lines a frame may parse: a few tenths of a millisecond each, so a
/// frame stays well under its 2 ms however far it jumps.
const FRAME_LINES: usize = 8;

impl std::fmt::Debug for Highlights {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Highlights")
            .field("hunks", &self.hunks.len())
            .finish_non_exhaustive()
    }
}

impl Highlights {
    pub fn new(syntaxes: Arc<Syntaxes>) -> Self {
        Self {
            syntaxes,
            hunks: HashMap::new(),
            budget: Some(FRAME_LINES),
        }
    }

    /// A new frame: it may parse [`FRAME_LINES`] lines again.
    pub fn frame(&mut self) {
        self.budget = Some(FRAME_LINES);
    }

    /// Highlights every line of `change` (off the UI task: about a
    /// second for ten thousand lines), up to `limit` lines; the rest stay
    /// to be parsed as drawn.
    #[must_use]
    pub fn fill(mut self, change: &Change, limit: usize) -> Self {
        self.budget = None;
        let mut done = 0;
        for (f, file) in change.files.iter().enumerate() {
            let Body::Text(hunks) = &file.body else {
                continue;
            };
            for (h, hunk) in hunks.iter().enumerate() {
                if done >= limit {
                    return self;
                }
                done += hunk.lines.len();
                for line in 0..hunk.lines.len() {
                    self.marks(
                        change,
                        LineAt {
                            file: f,
                            hunk: h,
                            line,
                        },
                    );
                }
            }
        }
        self
    }

    /// The marks of the diff line `at` of `change`, parsing its hunk's
    /// side up to it if that was not done yet. Empty for a file of no
    /// known language.
    pub fn marks(&mut self, change: &Change, at: LineAt) -> &[Mark] {
        let Some(file) = change.files.get(at.file) else {
            return &[];
        };
        let Body::Text(hunks) = &file.body else {
            return &[];
        };
        let Some(hunk) = hunks.get(at.hunk) else {
            return &[];
        };
        let syntaxes = Arc::clone(&self.syntaxes);
        let entry = self.hunks.entry((at.file, at.hunk)).or_insert_with(|| {
            let side = || {
                syntaxes.for_path(&file.stat.path).map(|syntax| Side {
                    state: ParseState::new(syntax),
                    stack: ScopeStack::new(),
                    next: 0,
                })
            };
            HunkMarks {
                old: side(),
                new: side(),
                lines: vec![None; hunk.lines.len()],
            }
        });
        let Some(line) = hunk.lines.get(at.line) else {
            return &[];
        };
        if entry.lines[at.line].is_none() {
            // The old side parses context and removed lines, the new side
            // context and added ones; a context line keeps the new side's
            // marks.
            let (side, own, keeps_context) = match line.kind {
                LineKind::Removed => (&mut entry.old, LineKind::Removed, false),
                LineKind::Added | LineKind::Context => (&mut entry.new, LineKind::Added, true),
            };
            if let Some(side) = side {
                let far = at.line < side.next || at.line > side.next + RESTART_AFTER;
                let from = if far {
                    at.line.saturating_sub(RESTART_BEFORE)
                } else {
                    side.next
                };
                let needed = at.line + 1 - from;
                match &mut self.budget {
                    Some(left) if needed > *left => return &[],
                    Some(left) => *left -= needed,
                    None => {}
                }
                if far && let Some(syntax) = syntaxes.for_path(&file.stat.path) {
                    side.state = ParseState::new(syntax);
                    side.stack = ScopeStack::new();
                    side.next = at.line.saturating_sub(RESTART_BEFORE);
                }
                while side.next <= at.line {
                    let i = side.next;
                    side.next += 1;
                    let shown = &hunk.lines[i];
                    if shown.kind != own && shown.kind != LineKind::Context {
                        continue;
                    }
                    let marks = parse(&syntaxes, side, &shown.text);
                    if keeps_context || shown.kind == own {
                        entry.lines[i] = Some(marks);
                    }
                }
            }
        }
        entry.lines[at.line].as_deref().unwrap_or_default()
    }
}

/// Parses one line on `side`, returning its marks (none when the grammar
/// fails on it: the line is then plain, and so is the rest of the side).
fn parse(syntaxes: &Syntaxes, side: &mut Side, text: &str) -> Vec<Mark> {
    let with_break = format!("{text}\n");
    let Ok(ops) = side.state.parse_line(&with_break, &syntaxes.set) else {
        return Vec::new();
    };
    let mut marks: Vec<Mark> = Vec::new();
    let mut at = 0;
    let mut kind = syntaxes.kind_of(&side.stack);
    let mut push = |from: usize, to: usize, kind: Option<Kind>| {
        let to = to.min(text.len());
        if let Some(kind) = kind
            && from < to
        {
            match marks.last_mut() {
                Some(last) if last.1 == from && last.2 == kind => last.1 = to,
                Some(_) | None => marks.push((from, to, kind)),
            }
        }
    };
    for (offset, op) in ops {
        push(at, offset, kind);
        at = offset;
        if side.stack.apply(&op).is_err() {
            break;
        }
        kind = syntaxes.kind_of(&side.stack);
    }
    push(at, text.len(), kind);
    marks
}

/// The style a kind of code takes from `theme`: the colour and weight of
/// a style meant for text on the plain background (a theme style with a
/// background of its own, as a high-contrast theme's, gives none).
pub fn kind_style(kind: Kind, theme: &Theme) -> Style {
    let from = match kind {
        Kind::Keyword => theme.key,
        Kind::Str => theme.code,
        Kind::Comment => theme.dim,
        Kind::Constant => theme.awaiting,
        Kind::Function => theme.running,
        Kind::Type => theme.heading,
    };
    if from.bg.is_some() {
        return Style::new();
    }
    let weight = Modifier::BOLD | Modifier::DIM | Modifier::ITALIC;
    Style {
        fg: from.fg,
        add_modifier: from.add_modifier & weight,
        ..Style::new()
    }
}

#[cfg(test)]
mod tests {
    use syntect::parsing::Regex;
    use syntect::parsing::syntax_definition::{Pattern, SyntaxDefinition};

    use super::*;
    use crate::changes::{FileChange, FileStat, FileStatus, REGULAR, diff_text};

    fn change(path: &str, old: &str, new: &str) -> Change {
        let (hunks, added, removed) = diff_text(old, new);
        Change {
            files: vec![FileChange {
                stat: FileStat {
                    path: path.into(),
                    from: None,
                    status: FileStatus::Modified,
                    added,
                    removed,
                    binary: false,
                },
                modes: (REGULAR.into(), REGULAR.into()),
                body: Body::Text(hunks),
            }],
        }
    }

    fn kinds_of(h: &mut Highlights, change: &Change, line: usize) -> Vec<(String, Kind)> {
        let Body::Text(hunks) = &change.files[0].body else {
            panic!("text");
        };
        let text = hunks[0].lines[line].text.clone();
        h.marks(
            change,
            LineAt {
                file: 0,
                hunk: 0,
                line,
            },
        )
        .iter()
        .map(|&(a, b, k)| (text[a..b].to_owned(), k))
        .collect()
    }

    #[test]
    fn go_keywords_strings_and_comments_are_found_on_both_sides() {
        let syntaxes = Arc::new(Syntaxes::load());
        let change = change(
            "svc/main.go",
            "package main\n\nfunc old() int { return 1 }\n",
            "package main\n\nfunc new() string { return \"x\" } // done\n",
        );
        let mut h = Highlights::new(syntaxes);
        // Lines: context, context, removed, added.
        let removed = kinds_of(&mut h, &change, 2);
        assert!(
            removed.contains(&("func".into(), Kind::Keyword)),
            "{removed:?}"
        );
        assert!(
            removed.contains(&("return".into(), Kind::Keyword)),
            "{removed:?}"
        );
        let added = kinds_of(&mut h, &change, 3);
        assert!(added.contains(&("\"x\"".into(), Kind::Str)), "{added:?}");
        assert!(
            added
                .iter()
                .any(|(t, k)| t.contains("// done") && *k == Kind::Comment),
            "{added:?}"
        );
        let context = kinds_of(&mut h, &change, 0);
        assert!(
            context.contains(&("package".into(), Kind::Keyword)),
            "{context:?}"
        );
    }

    /// Every grammar the README names parses with the pure-Rust regex
    /// engine (a pattern it could not compile would panic inside syntect).
    #[test]
    fn the_grammars_named_parse_with_the_pure_rust_regex_engine() {
        let syntaxes = Arc::new(Syntaxes::load());
        let samples = [
            ("a.go", "func f() { return \"s\" } // c"),
            ("a.py", "def f(x):\n    return 'x'  # c"),
            ("a.rs", "fn f() -> u8 { let s = \"x\"; 1 } // c"),
            ("a.js", "function f() { return `x${1}`; } // c"),
            ("a.sh", "if [ -e x ]; then echo \"$HOME\"; fi # c"),
            ("a.sql", "SELECT 'x' FROM t WHERE id = 1; -- c"),
            ("a.yaml", "key: 'value' # c"),
            ("README.md", "# Title with `code` and **bold**"),
            ("a.json", "{\"k\": [1, true, null]}"),
            ("a.c", "int main(void) { return 0; } /* c */"),
            ("a.java", "public class A { String s = \"x\"; }"),
            ("a.rb", "def f; puts 'x'; end # c"),
            ("a.html", "<p class=\"x\">hi</p>"),
            ("a.css", "p { color: #fff; }"),
            ("Makefile", "all:\n\techo hi"),
        ];
        for (path, text) in samples {
            assert!(syntaxes.for_path(path).is_some(), "{path}: a grammar");
            let change = change(path, "", &format!("{text}\n"));
            let mut h = Highlights::new(Arc::clone(&syntaxes));
            let found = kinds_of(&mut h, &change, 0);
            assert!(!found.is_empty(), "{path}: {found:?}");
        }
    }

    /// syntect compiles a grammar's pattern when it first needs it and
    /// panics if it cannot: every pattern of every bundled grammar must
    /// compile with the pure-Rust regex engine, or some file could crash
    /// the view.
    #[test]
    fn every_pattern_of_every_bundled_grammar_compiles() {
        let set = Syntaxes::load().set;
        let grammars = set.into_builder();
        assert!(grammars.syntaxes().len() > 50);
        let failing: Vec<&str> = grammars
            .syntaxes()
            .iter()
            .filter(|grammar| !compiles(grammar))
            .map(|grammar| grammar.name.as_str())
            .collect();
        assert!(failing.is_empty(), "{failing:?}");
    }

    /// Whether every pattern of `grammar` compiles. A context whose patterns
    /// refer back to what an earlier match captured (`\1`) has them filled in
    /// before they are compiled, so those are not tried here.
    fn compiles(grammar: &SyntaxDefinition) -> bool {
        grammar.contexts.values().all(|context| {
            context.uses_backrefs
                || context.patterns.iter().all(|pattern| match pattern {
                    Pattern::Match(m) => Regex::try_compile(m.regex.regex_str()).is_none(),
                    Pattern::Include(_) => true,
                })
        })
    }

    #[test]
    fn a_file_of_no_known_language_is_plain() {
        let syntaxes = Arc::new(Syntaxes::load());
        let change = change("notes.txt", "func a\n", "func b\n");
        let mut h = Highlights::new(syntaxes);
        assert!(kinds_of(&mut h, &change, 0).is_empty());
        assert!(kinds_of(&mut h, &change, 1).is_empty());
    }

    #[test]
    fn a_far_line_of_a_huge_hunk_parses_from_near_it() {
        let syntaxes = Arc::new(Syntaxes::load());
        let body = (0..2000).fold(String::new(), |mut body, i| {
            use std::fmt::Write as _;
            let _ = writeln!(body, "x{i} = {i}");
            body
        });
        let change = change("big.py", "", &body);
        let mut h = Highlights::new(syntaxes);
        // Off the UI task, with no limit per frame.
        h.budget = None;
        let last = kinds_of(&mut h, &change, 1999);
        assert!(last.contains(&("1999".into(), Kind::Constant)), "{last:?}");
        let hunk = &h.hunks[&(0, 0)];
        let parsed = hunk.lines.iter().filter(|l| l.is_some()).count();
        assert!(parsed <= RESTART_BEFORE + 1, "{parsed} lines parsed");
    }

    /// On the UI task a frame parses a few lines at most: a row that
    /// needs more is plain until a later frame (or the background pass)
    /// has parsed it, so scrolling never waits on the grammar.
    #[test]
    fn a_frame_parses_no_more_than_its_budget() {
        let syntaxes = Arc::new(Syntaxes::load());
        let body = (0..2000).fold(String::new(), |mut body, i| {
            use std::fmt::Write as _;
            let _ = writeln!(body, "x{i} = {i}");
            body
        });
        let change = change("big.py", "", &body);
        let mut h = Highlights::new(syntaxes);
        assert!(
            kinds_of(&mut h, &change, 1999).is_empty(),
            "too far for one frame"
        );
        for line in 0..FRAME_LINES {
            assert!(!kinds_of(&mut h, &change, line).is_empty(), "line {line}");
        }
        assert!(
            kinds_of(&mut h, &change, FRAME_LINES).is_empty(),
            "the budget is spent"
        );
        h.frame();
        assert!(
            !kinds_of(&mut h, &change, FRAME_LINES).is_empty(),
            "a new frame"
        );
        // What was parsed stays: it costs nothing to draw again.
        h.frame();
        h.budget = Some(0);
        assert!(!kinds_of(&mut h, &change, 0).is_empty());
    }

    #[test]
    fn theme_styles_with_a_background_give_no_colour() {
        let theme = Theme::named("high-contrast", false).expect("theme");
        assert_eq!(kind_style(Kind::Function, &theme), Style::new());
        assert!(kind_style(Kind::Keyword, &theme).fg.is_some());
        let light = Theme::named("light", false).expect("theme");
        assert_eq!(kind_style(Kind::Keyword, &light).fg, light.key.fg);
    }
}
