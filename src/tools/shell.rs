//! Reading a shell command line the way bash would, for the command policy.
//!
//! This module owns turning one `run_command` string into the simple
//! commands it would run, as lists of literal words, plus the reasons it
//! cannot be reduced to plain commands (which force the policy to ask). The
//! line is parsed with tree-sitter's bash grammar — never split on strings —
//! and every simple command in the tree counts: parts of `&&`, `||`, `;`,
//! `|`, `&`, subshells, brace groups, `if`/`while`/`for`/`case` bodies,
//! function bodies and command substitutions. Each simple command is
//! normalised: leading `NAME=value` assignments dropped, quoting resolved,
//! a command named by its path in a system folder (`/usr/bin/git`) reduced
//! to its name, and wrappers (`timeout`, `nice`, `nohup`, `env`, `time`,
//! `command`, `builtin`, `exec`, `sudo`, `xargs`, `find -exec`) yield both
//! themselves and the command they run. Nothing here decides a verdict;
//! [`super::policy`] does.

use tree_sitter::{Node, Parser};

/// A command line read into simple commands.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Analysis {
    /// Every simple command, as its literal words after normalisation.
    /// Wrappers appear as themselves and again as the command they run.
    pub commands: Vec<Vec<String>>,
    /// Why the line cannot be reduced to plain commands, one entry per
    /// finding, as "reason: text". Any entry makes the policy ask at least.
    pub unresolved: Vec<String>,
}

/// Reads `command` as bash would and lists its simple commands and what
/// could not be resolved.
#[must_use]
pub fn analyse(command: &str) -> Analysis {
    let mut analysis = Analysis::default();
    for item in inspect(command) {
        match item {
            Item::Command(piece) => analysis.commands.push(piece.words),
            Item::Issue(issue) => analysis
                .unresolved
                .push(format!("{}: {}", issue.reason, issue.text)),
        }
    }
    analysis
}

/// One simple command, as the policy matches it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Piece {
    /// The literal words; an expansion keeps its source text (`$HOME`).
    pub words: Vec<String>,
    /// The words joined with every expansion, glob and placeholder as `*`,
    /// when there is any: the set of command lines this piece may become.
    pub shape: Option<String>,
    /// A wrapper around another piece, or the path-less alias of a command
    /// named by a path: only an explicit pattern decides it; with none it
    /// is neutral (the other piece decides).
    pub secondary: bool,
}

impl Piece {
    /// The words joined by spaces: the text patterns are matched against.
    pub fn text(&self) -> String {
        self.words.join(" ")
    }
}

/// Something that keeps a line from being reduced to plain commands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Issue {
    /// What it is: "command substitution", "redirection to a file", …
    pub reason: String,
    /// The piece of the line it is about.
    pub text: String,
}

/// A finding, in the order met in the line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Item {
    Command(Piece),
    Issue(Issue),
}

/// Reads `command` into its pieces and issues, in order.
pub(super) fn inspect(command: &str) -> Vec<Item> {
    let mut items = Vec::new();
    read_source(command, 0, &mut items);
    items
}

/// How deep `eval`/`sh -c` strings are read inside each other.
const MAX_NESTING: usize = 3;
/// How many wrappers may wrap each other (`sudo nice timeout 5 env …`).
const MAX_WRAPPERS: usize = 8;
/// How deep the walk goes into the syntax tree.
const MAX_DEPTH: usize = 200;
/// Longest text quoted in an issue.
const SNIPPET: usize = 60;

/// Names that run a string or a file as shell code in the current shell.
const CODE_RUNNERS: [(&str, &str); 4] = [
    ("eval", "eval runs a string as shell code"),
    ("source", "source runs a file as shell code"),
    (".", "`.` runs a file as shell code"),
    ("trap", "trap runs a string as shell code later"),
];
/// Shells whose `-c` runs a string as shell code.
const SHELLS: [&str; 12] = [
    "sh", "bash", "zsh", "dash", "ksh", "mksh", "yash", "ash", "fish", "csh", "tcsh", "pdksh",
];
/// Folders whose programs are named by their bare name after normalising.
const SYSTEM_DIRS: [&str; 8] = [
    "/bin/",
    "/usr/bin/",
    "/usr/local/bin/",
    "/sbin/",
    "/usr/sbin/",
    "/usr/local/sbin/",
    "/opt/homebrew/bin/",
    "/opt/local/bin/",
];
/// Redirection targets that write no file.
const HARMLESS_SINKS: [&str; 4] = ["/dev/null", "/dev/stdout", "/dev/stderr", "/dev/tty"];
/// Variables whose assignment can change which program runs or what it
/// runs (a best-effort list); names starting with these prefixes too.
const RISKY_VARIABLES: [&str; 34] = [
    "PATH",
    "IFS",
    "ENV",
    "BASH_ENV",
    "PROMPT_COMMAND",
    "SHELLOPTS",
    "BASHOPTS",
    "PS4",
    "EDITOR",
    "VISUAL",
    "PAGER",
    "MANPAGER",
    "BROWSER",
    "GIT_SSH",
    "GIT_SSH_COMMAND",
    "GIT_EXTERNAL_DIFF",
    "GIT_EDITOR",
    "GIT_SEQUENCE_EDITOR",
    "GIT_PAGER",
    "GIT_ASKPASS",
    "SSH_ASKPASS",
    "GIT_EXEC_PATH",
    "GIT_PROXY_COMMAND",
    "GIT_TEMPLATE_DIR",
    "RUSTC",
    "RUSTC_WRAPPER",
    "RUSTC_WORKSPACE_WRAPPER",
    "RUSTDOC",
    "GOFLAGS",
    "NODE_OPTIONS",
    "PYTHONSTARTUP",
    "PYTHONPATH",
    "PERL5OPT",
    "RUBYOPT",
];
const RISKY_PREFIXES: [&str; 5] = ["LD_", "DYLD_", "GIT_CONFIG", "BASH_FUNC_", "CARGO_TARGET_"];

/// Parses `source` and appends what it finds to `items`.
fn read_source(source: &str, depth: usize, items: &mut Vec<Item>) {
    let mut parser = Parser::new();
    if let Err(e) = parser.set_language(&tree_sitter_bash::LANGUAGE.into()) {
        items.push(issue_item("shell parser unavailable", &e.to_string()));
        return;
    }
    let Some(tree) = parser.parse(source, None) else {
        items.push(issue_item("parse error", &snippet(source)));
        return;
    };
    let root = tree.root_node();
    let mut reader = Reader {
        src: source,
        depth,
        items: Vec::new(),
        parse_error: false,
        level: 0,
        too_deep: false,
    };
    reader.visit(root);
    if root.has_error() && !reader.parse_error {
        reader.issue("parse error", source);
    }
    items.append(&mut reader.items);
}

fn issue_item(reason: &str, text: &str) -> Item {
    Item::Issue(Issue {
        reason: reason.to_owned(),
        text: snippet(text),
    })
}

/// One line of text, cut to [`SNIPPET`] characters.
fn snippet(text: &str) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() > SNIPPET {
        let cut: String = flat.chars().take(SNIPPET - 1).collect();
        format!("{cut}…")
    } else {
        flat
    }
}

/// A piece of a word: literal text, or something only known when the
/// command runs (an expansion, a glob, a placeholder), kept as its source.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Seg {
    Lit(String),
    Wild(String),
}

/// One shell word after quote removal.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Word {
    segs: Vec<Seg>,
}

impl Word {
    fn lit(text: &str) -> Self {
        let mut word = Self::default();
        word.push_lit(text);
        word
    }

    fn wild(source: &str) -> Self {
        Self {
            segs: vec![Seg::Wild(source.to_owned())],
        }
    }

    fn push_lit(&mut self, text: &str) {
        if text.is_empty() {
            return;
        }
        if let Some(Seg::Lit(last)) = self.segs.last_mut() {
            last.push_str(text);
        } else {
            self.segs.push(Seg::Lit(text.to_owned()));
        }
    }

    fn push_wild(&mut self, source: &str) {
        self.segs.push(Seg::Wild(source.to_owned()));
    }

    fn is_plain(&self) -> bool {
        self.segs.iter().all(|s| matches!(s, Seg::Lit(_)))
    }

    fn text(&self) -> String {
        self.segs
            .iter()
            .map(|s| match s {
                Seg::Lit(t) | Seg::Wild(t) => t.as_str(),
            })
            .collect()
    }

    fn shape(&self) -> String {
        self.segs
            .iter()
            .map(|s| match s {
                Seg::Lit(t) => t.as_str(),
                Seg::Wild(_) => "*",
            })
            .collect()
    }

    /// The word with every literal occurrence of `marker` made a
    /// placeholder (`{}` of `find -exec`, the `-I` string of `xargs`).
    fn with_placeholder(&self, marker: &str) -> Self {
        let mut out = Self::default();
        for seg in &self.segs {
            match seg {
                Seg::Lit(t) if !marker.is_empty() && t.contains(marker) => {
                    let mut rest = t.as_str();
                    while let Some(at) = rest.find(marker) {
                        out.push_lit(&rest[..at]);
                        out.push_wild(marker);
                        rest = &rest[at + marker.len()..];
                    }
                    out.push_lit(rest);
                }
                other @ (Seg::Lit(_) | Seg::Wild(_)) => out.segs.push(other.clone()),
            }
        }
        out
    }
}

fn texts(words: &[Word]) -> Vec<String> {
    words.iter().map(Word::text).collect()
}

fn joined(words: &[Word]) -> String {
    texts(words).join(" ")
}

/// Options a wrapper takes before the command it runs.
#[derive(Default)]
struct Options {
    /// Short options that take a value (attached or the next word).
    arg: &'static str,
    /// Short options that take no value.
    flag: &'static str,
    /// Short options whose optional value can only be attached (`-i{}`).
    attached: &'static str,
    /// Long options that take a value (`--name=v` or `--name v`).
    long_arg: &'static [&'static str],
    /// Long options that take none (or only `=value`).
    long_flag: &'static [&'static str],
    /// `-10` is an option (nice).
    numeric: bool,
    /// A lone `-` is an option (env).
    lone_dash: bool,
}

/// Options read from a wrapper's words: where its command starts, and each
/// option as written with its value.
struct Parsed {
    next: usize,
    found: Vec<(String, Option<String>)>,
}

impl Parsed {
    fn has(&self, names: &[&str]) -> bool {
        self.found.iter().any(|(o, _)| names.contains(&o.as_str()))
    }
}

fn parse_options(words: &[Word], spec: &Options) -> Result<Parsed, String> {
    let mut found = Vec::new();
    let mut i = 0;
    while let Some(word) = words.get(i) {
        let text = word.text();
        let value_at = |j: usize| words.get(j).map(Word::text);
        if text == "--" {
            return Ok(Parsed { next: i + 1, found });
        }
        if text == "-" && spec.lone_dash {
            found.push((text, None));
            i += 1;
        } else if let Some(long) = text.strip_prefix("--") {
            let (name, value) = match long.split_once('=') {
                Some((n, v)) => (format!("--{n}"), Some(v.to_owned())),
                None => (text.clone(), None),
            };
            if spec.long_arg.contains(&name.as_str()) {
                if value.is_some() {
                    found.push((name, value));
                    i += 1;
                } else {
                    let v = value_at(i + 1)
                        .ok_or_else(|| format!("option `{name}` without its value"))?;
                    found.push((name, Some(v)));
                    i += 2;
                }
            } else if spec.long_flag.contains(&name.as_str()) {
                found.push((name, value));
                i += 1;
            } else {
                return Err(format!("unrecognised option `{text}`"));
            }
        } else if let Some(short) = text.strip_prefix('-').filter(|s| !s.is_empty()) {
            if spec.numeric && short.chars().all(|c| c.is_ascii_digit()) {
                found.push((text, None));
                i += 1;
                continue;
            }
            let mut step = 1;
            for (at, c) in short.char_indices() {
                let rest = &short[at + c.len_utf8()..];
                if spec.flag.contains(c) {
                    found.push((format!("-{c}"), None));
                } else if spec.attached.contains(c) {
                    found.push((format!("-{c}"), Some(rest.to_owned())));
                    break;
                } else if spec.arg.contains(c) {
                    if rest.is_empty() {
                        let v = value_at(i + 1)
                            .ok_or_else(|| format!("option `-{c}` without its value"))?;
                        found.push((format!("-{c}"), Some(v)));
                        step = 2;
                    } else {
                        found.push((format!("-{c}"), Some(rest.to_owned())));
                    }
                    break;
                } else {
                    return Err(format!("unrecognised option `-{c}`"));
                }
            }
            i += step;
        } else {
            return Ok(Parsed { next: i, found });
        }
    }
    Ok(Parsed {
        next: words.len(),
        found,
    })
}

fn timeout_options() -> Options {
    Options {
        arg: "sk",
        flag: "v",
        long_arg: &["--signal", "--kill-after"],
        long_flag: &["--preserve-status", "--foreground", "--verbose"],
        ..Options::default()
    }
}

fn nice_options() -> Options {
    Options {
        arg: "n",
        long_arg: &["--adjustment"],
        numeric: true,
        ..Options::default()
    }
}

fn env_options() -> Options {
    Options {
        arg: "uCS",
        flag: "i0v",
        long_arg: &["--unset", "--chdir", "--split-string"],
        long_flag: &[
            "--ignore-environment",
            "--null",
            "--debug",
            "--default-signal",
            "--ignore-signal",
            "--block-signal",
            "--list-signal-handling",
        ],
        lone_dash: true,
        ..Options::default()
    }
}

fn time_options() -> Options {
    Options {
        arg: "fo",
        flag: "pvaq",
        long_arg: &["--format", "--output"],
        long_flag: &["--portability", "--verbose", "--append", "--quiet"],
        ..Options::default()
    }
}

fn sudo_options() -> Options {
    Options {
        arg: "CDghpRrtTUuc",
        flag: "AbBEeHiKklNnPSsVv",
        long_arg: &[
            "--user",
            "--group",
            "--chdir",
            "--chroot",
            "--close-from",
            "--host",
            "--prompt",
            "--role",
            "--type",
            "--command-timeout",
            "--other-user",
        ],
        long_flag: &[
            "--askpass",
            "--background",
            "--bell",
            "--preserve-env",
            "--edit",
            "--set-home",
            "--login",
            "--remove-timestamp",
            "--reset-timestamp",
            "--list",
            "--non-interactive",
            "--preserve-groups",
            "--stdin",
            "--shell",
            "--validate",
        ],
        ..Options::default()
    }
}

fn xargs_options() -> Options {
    Options {
        arg: "adEILnPs",
        flag: "0rtpxo",
        attached: "iel",
        long_arg: &[
            "--arg-file",
            "--delimiter",
            "--eof",
            "--max-args",
            "--max-procs",
            "--max-chars",
            "--process-slot-var",
        ],
        long_flag: &[
            "--null",
            "--no-run-if-empty",
            "--verbose",
            "--interactive",
            "--exit",
            "--open-tty",
            "--show-limits",
            "--replace",
            "--max-lines",
        ],
        ..Options::default()
    }
}

fn exec_options() -> Options {
    Options {
        arg: "a",
        flag: "cl",
        ..Options::default()
    }
}

fn command_options() -> Options {
    Options {
        flag: "pvV",
        ..Options::default()
    }
}

fn no_options() -> Options {
    Options::default()
}

/// `NAME=value` as `env` and `sudo` take it.
fn env_assignment(text: &str) -> Option<&str> {
    let (name, _) = text.split_once('=')?;
    let mut chars = name.chars();
    let first = chars.next()?;
    ((first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_'))
    .then_some(name)
}

fn is_risky_variable(name: &str) -> bool {
    RISKY_VARIABLES.contains(&name) || RISKY_PREFIXES.iter().any(|p| name.starts_with(p))
}

/// `-c`-like option letters given to a shell: whether a `-c` is among
/// them, and the string it runs (the first operand), if any.
fn shell_command_string(args: &[Word]) -> (bool, Option<&Word>) {
    let mut saw_c = false;
    let mut i = 0;
    while let Some(word) = args.get(i) {
        let text = word.text();
        if let Some(long) = text.strip_prefix("--") {
            i += if matches!(long, "rcfile" | "init-file") {
                2
            } else {
                1
            };
        } else if let Some(letters) = text
            .strip_prefix('-')
            .or_else(|| text.strip_prefix('+'))
            .filter(|l| !l.is_empty())
        {
            saw_c |= letters.contains('c');
            i += if letters.ends_with(['o', 'O']) { 2 } else { 1 };
        } else {
            return (saw_c, saw_c.then_some(word));
        }
    }
    (saw_c, None)
}

/// Walks one parsed source and records what it finds.
struct Reader<'s> {
    src: &'s str,
    depth: usize,
    items: Vec<Item>,
    parse_error: bool,
    /// How deep the walk is in the tree, against [`MAX_DEPTH`].
    level: usize,
    /// Whether the walk already stopped somewhere at [`MAX_DEPTH`].
    too_deep: bool,
}

impl Reader<'_> {
    fn text(&self, node: Node) -> &str {
        self.src.get(node.byte_range()).unwrap_or("")
    }

    fn issue(&mut self, reason: &str, text: &str) {
        self.items.push(issue_item(reason, text));
    }

    fn piece(&mut self, words: &[Word], secondary: bool) {
        let shape = (!words.iter().all(Word::is_plain))
            .then(|| words.iter().map(Word::shape).collect::<Vec<_>>().join(" "));
        self.items.push(Item::Command(Piece {
            words: texts(words),
            shape,
            secondary,
        }));
    }

    /// Reads the string `source` (of `eval`, `sh -c`) as more shell code.
    fn nested(&mut self, source: &str) {
        if self.depth >= MAX_NESTING {
            self.issue("shell code nested too deeply", source);
        } else {
            read_source(source, self.depth + 1, &mut self.items);
        }
    }

    /// Enters one level of the tree; false (and an issue, once) past
    /// [`MAX_DEPTH`], so a hostile line cannot exhaust the stack.
    fn descend(&mut self, node: Node) -> bool {
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

    fn visit(&mut self, node: Node) {
        if self.descend(node) {
            self.visit_node(node);
            self.level -= 1;
        }
    }

    fn visit_node(&mut self, node: Node) {
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
            "process_substitution" => {
                let text = self.text(node).to_owned();
                self.issue("process substitution", &text);
                self.children(node);
            }
            "comment" => {}
            _ => self.children(node),
        }
    }

    fn children(&mut self, node: Node) {
        let mut cursor = node.walk();
        let children: Vec<Node> = node.children(&mut cursor).collect();
        for child in children {
            if child.is_named() || child.is_error() || child.is_missing() {
                self.visit(child);
            }
        }
    }

    /// A simple command: assignments, name, arguments, redirections.
    fn command(&mut self, node: Node) {
        let mut words = Vec::new();
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
                    self.assignment(child);
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
        self.simple(words, 0, false);
    }

    /// `export`, `declare`, `local`, `readonly`, `typeset`, `unset`.
    fn declaration(&mut self, node: Node) {
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
    fn assignment(&mut self, node: Node) -> Word {
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
    fn redirect(&mut self, node: Node) {
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
    fn word(&mut self, node: Node) -> Word {
        let mut word = Word::default();
        self.word_into(node, &mut word, false);
        word
    }

    fn word_into(&mut self, node: Node, word: &mut Word, quoted: bool) {
        if self.descend(node) {
            self.word_node(node, word, quoted);
            self.level -= 1;
        } else {
            word.push_wild(self.text(node));
        }
    }

    fn word_node(&mut self, node: Node, word: &mut Word, quoted: bool) {
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
            "command_substitution" | "process_substitution" => {
                word.push_wild(&text);
                self.visit(node);
            }
            "simple_expansion" | "expansion" | "arithmetic_expansion" | "brace_expression" => {
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
    fn composite(&mut self, node: Node, start: usize, end: usize, quoted: bool, word: &mut Word) {
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

    fn literal(text: &str, quoted: bool, word: &mut Word) {
        if quoted {
            word.push_lit(&unescape_double_quoted(text));
        } else {
            unquoted(text, word);
        }
    }

    /// `{a,b}` or `{1..3}` split into words by the grammar.
    fn brace_expansion(&self, node: Node) -> bool {
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

    /// A simple command's words: normalises and records it, and whatever it
    /// runs in turn.
    fn simple(&mut self, mut words: Vec<Word>, level: usize, secondary: bool) {
        let Some(first) = words.first() else { return };
        if level > MAX_WRAPPERS {
            self.issue("too many nested wrappers", &joined(&words));
            return;
        }
        if !first.is_plain() {
            self.issue("command name is not a plain word", &joined(&words));
            return;
        }
        let name = first.text();
        if name.contains('/') {
            let base = name.rsplit('/').next().unwrap_or("").to_owned();
            let system = SYSTEM_DIRS
                .iter()
                .any(|d| name.strip_prefix(d).is_some_and(|rest| !rest.contains('/')));
            if base.is_empty() {
                self.piece(&words, secondary);
                return;
            }
            words[0] = Word::lit(&base);
            if !system {
                // `./go test` is its own program: match it as typed, and
                // also as `go test` so that a deny of `go …` still holds.
                let mut typed = words.clone();
                typed[0] = Word::lit(&name);
                self.piece(&typed, secondary);
                self.simple(words, level + 1, true);
                return;
            }
        }
        let args = &words[1..];
        if let Some((_, reason)) = CODE_RUNNERS.iter().find(|(n, _)| *n == name) {
            self.issue(reason, &joined(&words));
            self.piece(&words, secondary);
            if name == "eval" && args.iter().all(Word::is_plain) {
                self.nested(&joined(args));
            }
            return;
        }
        match name.as_str() {
            "timeout" | "nice" | "nohup" | "env" | "time" | "command" | "builtin" | "exec"
            | "sudo" | "coproc" | "busybox" => {
                self.wrapper(&name, &words, level, secondary);
            }
            "xargs" => self.xargs(&words, level, secondary),
            "find" => self.find(&words, level, secondary),
            "git" => {
                let (runs_config, subcommand) = git_global_options(args);
                if runs_config {
                    self.issue(
                        "git -c can run any program through its config",
                        &joined(&words),
                    );
                }
                self.piece(&words, secondary);
                if subcommand > 0 && subcommand < args.len() {
                    // `git -C dir push --force` is still `git push --force`.
                    let mut bare = vec![words[0].clone()];
                    bare.extend_from_slice(&args[subcommand..]);
                    self.piece(&bare, true);
                }
            }
            _ if SHELLS.contains(&name.as_str()) => {
                let (saw_c, string) = shell_command_string(args);
                if saw_c {
                    self.issue(
                        &format!("{name} -c runs a string as shell code"),
                        &joined(&words),
                    );
                    if let Some(code) = string.filter(|w| w.is_plain()) {
                        self.nested(&code.text());
                    }
                }
                self.piece(&words, secondary);
            }
            _ => self.piece(&words, secondary),
        }
    }

    /// A command that runs the command after its options: both count.
    fn wrapper(&mut self, name: &str, words: &[Word], level: usize, secondary: bool) {
        let spec = match name {
            "timeout" => timeout_options(),
            "nice" => nice_options(),
            "env" => env_options(),
            "time" => time_options(),
            "command" => command_options(),
            "exec" => exec_options(),
            "sudo" => sudo_options(),
            _ => no_options(),
        };
        match name {
            "sudo" => self.issue("sudo runs the command as another user", &joined(words)),
            "exec" => self.issue("exec replaces the shell", &joined(words)),
            _ => {}
        }
        let args = &words[1..];
        let parsed = match parse_options(args, &spec) {
            Ok(parsed) => parsed,
            Err(e) => {
                self.issue(&format!("{name}: {e}"), &joined(words));
                self.piece(words, secondary);
                return;
            }
        };
        let mut next = parsed.next;
        match name {
            "timeout" if next < args.len() => next += 1,
            "env" | "sudo" => {
                while let Some(name) = args
                    .get(next)
                    .map(Word::text)
                    .as_deref()
                    .and_then(env_assignment)
                {
                    if is_risky_variable(name) {
                        self.issue(
                            &format!("assigning {name} can change what runs"),
                            &joined(words),
                        );
                    }
                    next += 1;
                }
            }
            _ => {}
        }
        if args[..next.min(args.len())].iter().any(|w| !w.is_plain()) {
            self.issue(
                &format!("{name}'s options are not plain words"),
                &joined(words),
            );
        }
        if name == "env" && parsed.has(&["-S", "--split-string"]) {
            self.issue("env -S splits a string into a command", &joined(words));
        }
        if name == "sudo" && next < args.len() && parsed.has(&["-s", "-i", "--shell", "--login"]) {
            self.issue(
                "sudo -s/-i runs the command through a shell",
                &joined(words),
            );
        }
        if name == "time" && parsed.has(&["-o", "--output"]) {
            self.issue("time -o writes to a file", &joined(words));
        }
        let runs_nothing = name == "command" && parsed.has(&["-v", "-V"]);
        if next >= args.len() || runs_nothing {
            self.piece(words, secondary);
            return;
        }
        self.piece(words, true);
        self.simple(args[next..].to_vec(), level + 1, secondary);
    }

    /// `xargs` is a command of its own, and runs its command with words
    /// from its input added (or put in place of `-I`'s string).
    fn xargs(&mut self, words: &[Word], level: usize, secondary: bool) {
        self.piece(words, secondary);
        let args = &words[1..];
        let parsed = match parse_options(args, &xargs_options()) {
            Ok(parsed) => parsed,
            Err(e) => {
                self.issue(&format!("xargs: {e}"), &joined(words));
                return;
            }
        };
        if args[..parsed.next].iter().any(|w| !w.is_plain()) {
            self.issue("xargs's options are not plain words", &joined(words));
        }
        let replace = parsed
            .found
            .iter()
            .rev()
            .find_map(|(option, value)| match option.as_str() {
                "-I" => value.clone(),
                "-i" | "--replace" => Some(
                    value
                        .clone()
                        .filter(|v| !v.is_empty())
                        .unwrap_or_else(|| "{}".to_owned()),
                ),
                _ => None,
            });
        let mut inner: Vec<Word> = args[parsed.next..].to_vec();
        if inner.is_empty() {
            inner.push(Word::lit("echo"));
        }
        match replace {
            Some(marker) => inner = inner.iter().map(|w| w.with_placeholder(&marker)).collect(),
            None => inner.push(Word::wild("{}")),
        }
        self.simple(inner, level + 1, secondary);
    }

    /// `find` is a command of its own; each `-exec`/`-execdir`/`-ok`/
    /// `-okdir` command is checked too, with `{}` as a placeholder.
    fn find(&mut self, words: &[Word], level: usize, secondary: bool) {
        self.piece(words, secondary);
        let mut i = 1;
        while let Some(word) = words.get(i) {
            let text = word.text();
            i += 1;
            if matches!(text.as_str(), "-fprint" | "-fprint0" | "-fprintf" | "-fls") {
                self.issue(&format!("find {text} writes to a file"), &joined(words));
            }
            if !matches!(text.as_str(), "-exec" | "-execdir" | "-ok" | "-okdir") {
                continue;
            }
            let start = i;
            let mut end = None;
            while let Some(w) = words.get(i) {
                let t = w.text();
                if t == ";" || (t == "+" && i > start && words[i - 1].text() == "{}") {
                    end = Some(i);
                    break;
                }
                i += 1;
            }
            let Some(end) = end else {
                self.issue(&format!("find {text} without `;` or `+`"), &joined(words));
                return;
            };
            i = end + 1;
            let inner: Vec<Word> = words[start..end]
                .iter()
                .map(|w| w.with_placeholder("{}"))
                .collect();
            if inner.is_empty() {
                self.issue(&format!("find {text} without a command"), &joined(words));
            } else {
                self.simple(inner, level + 1, secondary);
            }
        }
    }
}

/// `git`'s options before its subcommand: whether they set config (`-c`,
/// `--config-env`) or the helper path (`--exec-path=`), which can run any
/// program, and where the subcommand starts.
fn git_global_options(args: &[Word]) -> (bool, usize) {
    let mut runs_config = false;
    let mut i = 0;
    while let Some(word) = args.get(i) {
        let text = word.text();
        if !text.starts_with('-') {
            break;
        }
        runs_config |= text == "-c"
            || (text.starts_with("-c") && !text.starts_with("--"))
            || text.starts_with("--config-env")
            || text.starts_with("--exec-path=");
        let takes_value = matches!(
            text.as_str(),
            "-C" | "-c"
                | "--git-dir"
                | "--work-tree"
                | "--namespace"
                | "--super-prefix"
                | "--config-env"
                | "--list-cmds"
        );
        i += if takes_value { 2 } else { 1 };
    }
    (runs_config, i.min(args.len()))
}

/// Unquoted text: backslash escapes removed; globs (`*`, `?`, `[…]`),
/// brace lists and a leading `~` are only known when the command runs.
fn unquoted(text: &str, word: &mut Word) {
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    let mut lit = String::new();
    let flush = |lit: &mut String, word: &mut Word| {
        word.push_lit(lit);
        lit.clear();
    };
    while let Some(&c) = chars.get(i) {
        match c {
            '\\' => {
                if let Some(&next) = chars.get(i + 1)
                    && next != '\n'
                {
                    lit.push(next);
                }
                i += 2;
            }
            '*' | '?' => {
                flush(&mut lit, word);
                word.push_wild(&c.to_string());
                i += 1;
            }
            '[' | '{' => {
                let close = if c == '[' { ']' } else { '}' };
                let end = chars[i + 1..]
                    .iter()
                    .position(|&d| d == close)
                    .map(|p| i + 1 + p);
                let inner: String = end
                    .map(|e| chars[i + 1..e].iter().collect())
                    .unwrap_or_default();
                let expands =
                    end.is_some() && (c == '[' || inner.contains(',') || inner.contains(".."));
                match end {
                    Some(e) if expands => {
                        flush(&mut lit, word);
                        word.push_wild(&chars[i..=e].iter().collect::<String>());
                        i = e + 1;
                    }
                    _ => {
                        lit.push(c);
                        i += 1;
                    }
                }
            }
            '~' if i == 0 && word.segs.is_empty() => {
                let end = chars.iter().position(|&d| d == '/').unwrap_or(chars.len());
                word.push_wild(&chars[..end].iter().collect::<String>());
                i = end;
            }
            _ => {
                lit.push(c);
                i += 1;
            }
        }
    }
    flush(&mut lit, word);
}

/// Text inside double quotes: `\` only escapes `$`, `` ` ``, `"`, `\` and
/// a newline.
fn unescape_double_quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, chars.peek()) {
            ('\\', Some('\n')) => {
                chars.next();
            }
            ('\\', Some(&next @ ('$' | '`' | '"' | '\\'))) => {
                out.push(next);
                chars.next();
            }
            _ => out.push(c),
        }
    }
    out
}

/// The value of `$'…'` when it only uses simple escapes; `None` for the
/// rest (numeric and control escapes), which stay unknown.
fn ansi_c(text: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        out.push(match chars.next()? {
            'n' => '\n',
            't' => '\t',
            'r' => '\r',
            'a' => '\u{7}',
            'b' => '\u{8}',
            'e' | 'E' => '\u{1b}',
            'f' => '\u{c}',
            'v' => '\u{b}',
            c @ ('\\' | '\'' | '"' | '?') => c,
            _ => return None,
        });
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<Vec<String>> {
        analyse(line).commands
    }

    fn strs(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    fn cmd(text: &str) -> Vec<String> {
        text.split(' ').map(str::to_owned).collect()
    }

    #[test]
    fn plain_and_chained_commands_are_split_on_the_syntax() {
        let a =
            analyse("go test ./... && git status; ls -la | wc -l || echo 'a && b' & cargo build");
        assert_eq!(
            a.commands,
            vec![
                cmd("go test ./..."),
                cmd("git status"),
                cmd("ls -la"),
                cmd("wc -l"),
                strs(&["echo", "a && b"]),
                cmd("cargo build")
            ]
        );
        assert!(a.unresolved.is_empty(), "{:?}", a.unresolved);
    }

    #[test]
    fn quoting_is_resolved() {
        assert_eq!(
            words(r#"git "push" '--force' o\rigin"#),
            vec![cmd("git push --force origin")]
        );
        assert_eq!(
            words(r#"echo "a \"b\" \$c" $'x\ty'"#),
            vec![strs(&["echo", "a \"b\" $c", "x\ty"])]
        );
        assert_eq!(words("echo a\"b\"'c'"), vec![cmd("echo abc")]);
    }

    #[test]
    fn compound_statements_are_walked() {
        let a = analyse(
            "(cd x && make) ; { ls; pwd; } ; if test -f a; then rm a; else touch b; fi; for f in 1 2; do echo $f; done; while false; do sleep 1; done; case $x in a) cat a;; esac",
        );
        let names: Vec<&str> = a.commands.iter().map(|c| c[0].as_str()).collect();
        assert_eq!(
            names,
            [
                "cd", "make", "ls", "pwd", "test", "rm", "touch", "echo", "false", "sleep", "cat"
            ]
        );
        assert!(a.unresolved.is_empty(), "{:?}", a.unresolved);
    }

    #[test]
    fn normalisation_drops_assignments_paths_and_wrappers() {
        assert_eq!(words("FOO=1 BAR=2 go test"), vec![cmd("go test")]);
        assert_eq!(words("/usr/bin/git push"), vec![cmd("git push")]);
        assert_eq!(words("./go test"), vec![cmd("./go test"), cmd("go test")]);
        assert_eq!(
            words("timeout -s KILL 5 go test"),
            vec![cmd("timeout -s KILL 5 go test"), cmd("go test")]
        );
        assert_eq!(
            words("nice -n 10 nohup go vet"),
            vec![
                cmd("nice -n 10 nohup go vet"),
                cmd("nohup go vet"),
                cmd("go vet")
            ]
        );
        assert_eq!(
            words("env -i A=1 go test"),
            vec![cmd("env -i A=1 go test"), cmd("go test")]
        );
        assert_eq!(
            words("time -p cargo build"),
            vec![cmd("time -p cargo build"), cmd("cargo build")]
        );
        assert_eq!(words("command -v git"), vec![cmd("command -v git")]);
        assert_eq!(
            words("ls | xargs -n1 wc -l"),
            vec![cmd("ls"), cmd("xargs -n1 wc -l"), cmd("wc -l {}")]
        );
        assert_eq!(
            words("ls | xargs -I% mv % /tmp"),
            vec![cmd("ls"), cmd("xargs -I% mv % /tmp"), cmd("mv % /tmp")]
        );
        assert_eq!(
            words(r"find . -name '*.o' -exec rm -f {} \; -execdir chmod 644 {} +"),
            vec![
                cmd("find . -name *.o -exec rm -f {} ; -execdir chmod 644 {} +"),
                cmd("rm -f {}"),
                cmd("chmod 644 {}")
            ]
        );
    }

    #[test]
    fn what_cannot_be_resolved_is_reported() {
        let reasons = |line: &str| analyse(line).unresolved;
        let has = |line: &str, what: &str| {
            let r = reasons(line);
            assert!(r.iter().any(|u| u.starts_with(what)), "{line}: {r:?}");
        };
        has("echo $(date)", "command substitution");
        has("echo `date`", "command substitution");
        has("diff <(ls a) <(ls b)", "process substitution");
        has("eval ls", "eval");
        has("exec ls", "exec");
        has("source env.sh", "source");
        has(". env.sh", "`.`");
        has("bash -c 'ls'", "bash -c");
        has("sh -ec ls", "sh -c");
        has("ls > out.txt", "redirection to a file");
        has("ls >> out.txt", "redirection to a file");
        has("ls &> out.txt", "redirection to a file");
        has("ls 2>err.txt", "redirection to a file");
        has("$CMD x", "command name is not a plain word");
        has("f() { ls; }", "function definition");
        has("git -c core.pager=x log", "git -c");
        has("sudo ls", "sudo");
        has("PATH=/tmp go test", "assigning PATH");
        has("go test )", "parse error");
        has("echo \"abc", "parse error");
        assert!(
            reasons("ls 2>&1 >/dev/null; cat <<EOF\nhi\nEOF\nls < in.txt; ls 2>/dev/null >&2")
                .is_empty()
        );
    }

    #[test]
    fn nested_code_is_read_too() {
        assert!(words("bash -c 'git push --force'").contains(&cmd("git push --force")));
        assert!(words("eval git push --force").contains(&cmd("git push --force")));
        assert!(words("echo $(rm -rf /)").contains(&cmd("rm -rf /")));
    }

    #[test]
    fn hostile_nesting_stops_with_a_reason_on_a_small_stack() {
        let lines = [
            format!("{}ls{}", "(".repeat(20_000), ")".repeat(20_000)),
            format!("echo {}x{}", "$(echo ".repeat(3_000), ")".repeat(3_000)),
            format!("echo \"{}x{}\"", "${a:-".repeat(5_000), "}".repeat(5_000)),
            vec!["go test"; 5_000].join(" && "),
        ];
        let worker = std::thread::Builder::new()
            .stack_size(1 << 20)
            .spawn(move || lines.iter().map(|l| analyse(l)).collect::<Vec<_>>())
            .unwrap();
        for analysis in worker.join().unwrap() {
            assert!(!analysis.unresolved.is_empty());
        }
    }

    #[test]
    fn expansions_keep_their_source_and_have_a_shape() {
        let items = inspect("git push $F ~/x");
        let Some(Item::Command(piece)) = items.first() else {
            panic!("{items:?}")
        };
        assert_eq!(piece.text(), "git push $F ~/x");
        assert_eq!(piece.shape.as_deref(), Some("git push * */x"));
    }
}
