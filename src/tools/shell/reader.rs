//! Walking tree-sitter-bash's tree: every simple command, redirection,
//! assignment and substitution, with the words each is made of.

use tree_sitter::Node;

use super::options::is_risky_variable;
use super::risky::{evaluates_code, risky_options};
use super::word::{Word, ansi_c, joined, texts, unescape_double_quoted, unquoted};
use super::{HARMLESS_SINKS, Item, MAX_DEPTH, MAX_NESTING, Piece, issue_item, read_source};

/// How many recent items [`Reader::issue`] compares a new one with.
const RECENT: usize = 8;

/// Walks one parsed source and records what it finds.
pub(super) struct Reader<'s> {
    pub(super) src: &'s str,
    pub(super) depth: usize,
    pub(super) items: Vec<Item>,
    pub(super) parse_error: bool,
    /// How deep the walk is in the tree, against [`MAX_DEPTH`].
    pub(super) level: usize,
    /// Whether the walk already stopped somewhere at [`MAX_DEPTH`].
    pub(super) too_deep: bool,
}

impl Reader<'_> {
    pub(super) fn text(&self, node: Node) -> &str {
        self.src.get(node.byte_range()).unwrap_or("")
    }

    /// Records an issue, once: the same finding met again just after (a
    /// wrapped command and its wrapper, a path and its bare alias) adds
    /// nothing. Only the last few items are compared, so a hostile line
    /// with many findings stays linear.
    pub(super) fn issue(&mut self, reason: &str, text: &str) {
        let item = issue_item(reason, text);
        if !self.items.iter().rev().take(RECENT).any(|i| *i == item) {
            self.items.push(item);
        }
    }

    pub(super) fn piece(&mut self, words: &[Word], secondary: bool) {
        self.piece_assigning(words, secondary, Vec::new());
    }

    /// A piece that sets the variables `assigned` for its command; its
    /// options that run programs or write files are issues of their own.
    pub(super) fn piece_assigning(
        &mut self,
        words: &[Word],
        secondary: bool,
        assigned: Vec<String>,
    ) {
        let shape = (!words.iter().all(Word::is_plain))
            .then(|| words.iter().map(Word::shape).collect::<Vec<_>>().join(" "));
        self.items.push(Item::Command(Piece {
            words: texts(words),
            shape,
            secondary,
            assigned,
        }));
        for reason in risky_options(words) {
            self.issue(&reason, &joined(words));
        }
    }

    /// Reads the string `source` (of `eval`, `sh -c`) as more shell code.
    pub(super) fn nested(&mut self, source: &str) {
        if self.depth >= MAX_NESTING {
            self.issue("shell code nested too deeply", source);
        } else {
            read_source(source, self.depth + 1, &mut self.items);
        }
    }

    /// Enters one level of the tree; false (and an issue, once) past
    /// [`MAX_DEPTH`], so a hostile line cannot exhaust the stack.
    pub(super) fn descend(&mut self, node: Node) -> bool {
        if self.level >= MAX_DEPTH {
            if !self.too_deep {
                self.too_deep = true;
                let text = self.text(node).to_owned();
                self.issue("nested too deeply to check", &text);
            }
            return false;
        }
        self.level += 1;
        true
    }

    pub(super) fn visit(&mut self, node: Node) {
        if self.descend(node) {
            self.visit_node(node);
            self.level -= 1;
        }
    }

    pub(super) fn visit_node(&mut self, node: Node) {
        if node.is_error() || node.is_missing() {
            self.parse_error = true;
            let reason = if node.is_missing() {
                format!("parse error: missing `{}`", node.kind())
            } else {
                "parse error".to_owned()
            };
            let at = self.text(node).to_owned();
            let at = if at.trim().is_empty() {
                format!("at byte {}", node.start_byte())
            } else {
                at
            };
            self.issue(&reason, &at);
            return;
        }
        match node.kind() {
            "command" => self.command(node),
            "declaration_command" | "unset_command" => self.declaration(node),
            "variable_assignment" => {
                self.assignment(node);
            }
            "function_definition" => {
                let text = self.text(node).to_owned();
                self.issue("function definition", &text);
                self.children(node);
            }
            "file_redirect" => self.redirect(node),
            "command_substitution" => {
                let text = self.text(node).to_owned();
                self.issue("command substitution", &text);
                self.children(node);
            }
            "expansion"
            | "arithmetic_expansion"
            | "c_style_for_statement"
            | "test_command"
            | "compound_statement"
            | "subscript" => {
                let text = self.text(node).to_owned();
                if let Some(reason) = evaluates_code(node.kind(), &text) {
                    self.issue(reason, &text);
                }
                self.children(node);
            }
            "process_substitution" => {
                let text = self.text(node).to_owned();
                self.issue("process substitution", &text);
                self.children(node);
            }
            "comment" => {}
            _ => self.children(node),
        }
    }

    pub(super) fn children(&mut self, node: Node) {
        let mut cursor = node.walk();
        let children: Vec<Node> = node.children(&mut cursor).collect();
        for child in children {
            if child.is_named() || child.is_error() || child.is_missing() {
                self.visit(child);
            }
        }
    }

    /// A simple command: assignments, name, arguments, redirections.
    pub(super) fn command(&mut self, node: Node) {
        let mut words = Vec::new();
        let mut assigns: Vec<(String, Word)> = Vec::new();
        let mut spans: Vec<(usize, usize)> = Vec::new();
        let mut cursor = node.walk();
        let mut children = Vec::new();
        if cursor.goto_first_child() {
            loop {
                children.push((cursor.node(), cursor.field_name()));
                if !cursor.goto_next_sibling() {
                    break;
                }
            }
        }
        for (child, field) in children {
            match (field, child.kind()) {
                (Some("name"), _) => {
                    let mut word = Word::default();
                    self.composite(
                        child,
                        child.start_byte(),
                        child.end_byte(),
                        false,
                        &mut word,
                    );
                    words.push(word);
                    spans.push((child.start_byte(), child.end_byte()));
                }
                (Some("argument"), _) => {
                    words.push(self.word(child));
                    spans.push((child.start_byte(), child.end_byte()));
                }
                (_, "variable_assignment") => {
                    let word = self.assignment(child);
                    let name = child
                        .child_by_field_name("name")
                        .map(|n| self.text(n).to_owned())
                        .unwrap_or_default();
                    assigns.push((name, word));
                }
                _ if child.is_named() || child.is_error() || child.is_missing() => {
                    self.visit(child);
                }
                _ => {}
            }
        }
        for pair in spans.windows(2) {
            let gap = self.src.get(pair[0].1..pair[1].0).unwrap_or("");
            if !gap.is_empty() && gap.replace("\\\n", "").is_empty() {
                let text = self.text(node).to_owned();
                self.issue("backslash-newline inside a word", &text);
                break;
            }
        }
        if assigns.is_empty() || words.is_empty() {
            self.simple(words, 0, false);
            return;
        }
        // `HOME=x git status` is not `git status`: it counts as typed (a
        // pattern must name HOME), and as the bare command, so that a
        // deny of the command still holds.
        let (names, mut typed): (Vec<String>, Vec<Word>) = assigns.into_iter().unzip();
        typed.extend(words.iter().cloned());
        self.piece_assigning(&typed, false, names);
        self.simple(words, 0, true);
    }

    /// `export`, `declare`, `local`, `readonly`, `typeset`, `unset`.
    pub(super) fn declaration(&mut self, node: Node) {
        let mut words = Vec::new();
        let mut cursor = node.walk();
        let children: Vec<Node> = node.children(&mut cursor).collect();
        for child in children {
            if child.kind() == "variable_assignment" {
                words.push(self.assignment(child));
            } else if child.is_named() {
                words.push(self.word(child));
            } else if child.is_error() || child.is_missing() {
                self.visit(child);
            } else if words.is_empty() {
                words.push(Word::lit(self.text(child)));
            }
        }
        self.piece(&words, false);
    }

    /// `NAME=value`: flags risky names and reads the value. Returns the
    /// assignment as a word.
    pub(super) fn assignment(&mut self, node: Node) -> Word {
        let mut word = Word::default();
        if let Some(name) = node.child_by_field_name("name") {
            let name_text = self.text(name).to_owned();
            if name.kind() == "variable_name" {
                if is_risky_variable(&name_text) {
                    let text = self.text(node).to_owned();
                    self.issue(
                        &format!("assigning {name_text} can change what runs"),
                        &text,
                    );
                }
            } else {
                self.visit(name);
            }
            word.push_lit(&name_text);
        }
        let mut cursor = node.walk();
        let operator = node
            .children(&mut cursor)
            .find(|c| !c.is_named())
            .map(|c| self.text(c).to_owned());
        word.push_lit(operator.as_deref().unwrap_or("="));
        if let Some(value) = node.child_by_field_name("value") {
            let value = self.word(value);
            word.segs.extend(value.segs);
        }
        word
    }

    /// `>`, `>>`, `&>`, `2>`… to a file asks; to a descriptor or
    /// `/dev/null` does not; reading (`<`) does not.
    pub(super) fn redirect(&mut self, node: Node) {
        let text = self.text(node).to_owned();
        let mut cursor = node.walk();
        let operator = node
            .children(&mut cursor)
            .find(|c| !c.is_named())
            .map(|c| c.kind().to_owned())
            .unwrap_or_default();
        let destination = node
            .child_by_field_name("destination")
            .map(|d| (d, self.word(d)));
        let dest_text = destination
            .as_ref()
            .map(|(_, w)| w.text())
            .unwrap_or_default();
        let plain = destination.as_ref().is_none_or(|(_, w)| w.is_plain());
        let to_descriptor = plain
            && (dest_text == "-"
                || (!dest_text.is_empty() && dest_text.chars().all(|c| c.is_ascii_digit())));
        let harmless = match operator.as_str() {
            "<" | "<&" | "<&-" | ">&-" => true,
            ">&" => to_descriptor || (plain && HARMLESS_SINKS.contains(&dest_text.as_str())),
            ">" | ">>" | ">|" | "&>" | "&>>" => {
                plain && HARMLESS_SINKS.contains(&dest_text.as_str())
            }
            _ => false,
        };
        if !harmless {
            self.issue("redirection to a file", &text);
        }
        let mut cursor = node.walk();
        let rest: Vec<Node> = node
            .named_children(&mut cursor)
            .filter(|c| Some(*c) != destination.as_ref().map(|(d, _)| *d))
            .collect();
        for child in rest {
            if child.kind() != "file_descriptor" {
                self.visit(child);
            }
        }
    }

    /// One word after quote removal; expansions inside stay as source text
    /// (and command substitutions inside are recorded and read).
    pub(super) fn word(&mut self, node: Node) -> Word {
        let mut word = Word::default();
        self.word_into(node, &mut word, false);
        word
    }

    pub(super) fn word_into(&mut self, node: Node, word: &mut Word, quoted: bool) {
        if self.descend(node) {
            self.word_node(node, word, quoted);
            self.level -= 1;
        } else {
            word.push_wild(self.text(node));
        }
    }

    pub(super) fn word_node(&mut self, node: Node, word: &mut Word, quoted: bool) {
        let text = self.text(node).to_owned();
        match node.kind() {
            "raw_string" => {
                word.push_lit(
                    text.strip_prefix('\'')
                        .and_then(|t| t.strip_suffix('\''))
                        .unwrap_or(&text),
                );
            }
            "ansi_c_string" => match text
                .strip_prefix("$'")
                .and_then(|t| t.strip_suffix('\''))
                .and_then(ansi_c)
            {
                Some(value) => word.push_lit(&value),
                None => word.push_wild(&text),
            },
            "string" => {
                let (start, end) = (node.start_byte(), node.end_byte());
                let inner = if text.len() >= 2 && text.starts_with('"') && text.ends_with('"') {
                    (start + 1, end - 1)
                } else {
                    (start, end)
                };
                self.composite(node, inner.0, inner.1, true, word);
            }
            "concatenation" => {
                if self.brace_expansion(node) {
                    word.push_wild(&text);
                    self.children(node);
                } else {
                    self.composite(node, node.start_byte(), node.end_byte(), quoted, word);
                }
            }
            "command_substitution"
            | "process_substitution"
            | "expansion"
            | "arithmetic_expansion" => {
                word.push_wild(&text);
                self.visit(node);
            }
            "simple_expansion" | "brace_expression" => {
                word.push_wild(&text);
                self.children(node);
            }
            "word" | "number" | "string_content" | "translated_string" | "command_name"
            | "heredoc_content" => {
                self.composite(node, node.start_byte(), node.end_byte(), quoted, word);
            }
            _ if node.is_error() || node.is_missing() => {
                word.push_wild(&text);
                self.visit(node);
            }
            _ => {
                word.push_wild(&text);
                self.children(node);
            }
        }
    }

    /// Text between `start` and `end` of `node`: named children as words,
    /// everything between them as literal text.
    pub(super) fn composite(
        &mut self,
        node: Node,
        start: usize,
        end: usize,
        quoted: bool,
        word: &mut Word,
    ) {
        let mut at = start;
        let mut cursor = node.walk();
        let children: Vec<Node> = node
            .children(&mut cursor)
            .filter(|c| c.is_named() || c.is_error() || c.is_missing())
            .collect();
        for child in children {
            if child.start_byte() < at || child.end_byte() > end {
                continue;
            }
            Self::literal(
                self.src.get(at..child.start_byte()).unwrap_or(""),
                quoted,
                word,
            );
            self.word_into(child, word, quoted);
            at = child.end_byte();
        }
        Self::literal(self.src.get(at..end).unwrap_or(""), quoted, word);
    }

    pub(super) fn literal(text: &str, quoted: bool, word: &mut Word) {
        if quoted {
            word.push_lit(&unescape_double_quoted(text));
        } else {
            unquoted(text, word);
        }
    }

    /// `{a,b}` or `{1..3}` split into words by the grammar.
    pub(super) fn brace_expansion(&self, node: Node) -> bool {
        let mut cursor = node.walk();
        let parts: Vec<&str> = node
            .children(&mut cursor)
            .map(|c| {
                if c.kind() == "word" {
                    self.text(c)
                } else {
                    "\""
                }
            })
            .collect();
        let Some(open) = parts.iter().position(|p| *p == "{") else {
            return false;
        };
        let Some(close) = parts.iter().skip(open).position(|p| *p == "}") else {
            return false;
        };
        parts[open + 1..open + close]
            .iter()
            .any(|p| p.contains(',') || p.contains(".."))
    }
}
