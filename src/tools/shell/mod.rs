//! Reading a shell command line the way bash would, for the command policy.
//!
//! This module owns turning one `run_command` string into the simple
//! commands it would run, as lists of literal words, plus the reasons it
//! cannot be reduced to plain commands (which force the policy to ask). The
//! line is parsed with tree-sitter's bash grammar — never split on strings —
//! and every simple command in the tree counts: parts of `&&`, `||`, `;`,
//! `|`, `&`, subshells, brace groups, `if`/`while`/`for`/`case` bodies,
//! function bodies and command substitutions. Each simple command is
//! normalised: quoting resolved, a command named by its path in a system
//! folder (`/usr/bin/git`) reduced to its name, and wrappers (`timeout`,
//! `nice`, `nohup`, `env`, `time`, `command`, `builtin`, `exec`, `sudo`,
//! `xargs`, `find -exec`) yield both themselves and the command they run.
//! Leading `NAME=value` assignments stay on the command as typed (a pattern
//! must name them), and the bare command is yielded too. The `risky` module adds
//! what no pattern may lower: expansions that evaluate code and options
//! that run programs or write files. Nothing here decides a verdict;
//! [`super::ruling`] does.
//!
//! Why tree-sitter-bash, and not a hand-written reader or another crate:
//! it is the grammar Codex (`codex-rs`) rules on commands with, maintained
//! and fuzzed with the tree-sitter project; it parses every construct bash
//! has, so an unknown one is a node we see (and ask about), not a silent
//! split; and it keeps errors in the tree with byte spans instead of
//! guessing. `brush-parser` (the brush shell's, maintained too) would also
//! do; moving to it would trade a tested reader for an untested one with no
//! construct gained. The hand-written part here is only the normalisation
//! of words and the lists of what is risky.

use tree_sitter::Parser;

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
    /// The variables its `NAME=value` prefixes (or `env NAME=value`) set
    /// for it: such a command is allowed only by a pattern naming them.
    pub assigned: Vec<String>,
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
const CODE_RUNNERS: [(&str, &str); 5] = [
    ("let", "let evaluates arithmetic, which can run code"),
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

mod commands;
mod options;
mod reader;
mod risky;
mod toolchains;
mod word;

use reader::Reader;

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
        assert_eq!(
            words("FOO=1 BAR=2 go test"),
            vec![cmd("FOO=1 BAR=2 go test"), cmd("go test")]
        );
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
        has("git status ${X@P}", "${…@…}");
        has("echo $((X))", "arithmetic expansion");
        has("((X))", "((…))");
        has("[[ $X -eq 0 ]]", "[[ … ]]");
        has("echo ${A[Y]}", "an array subscript");
        has("echo ${X:Y}", "${X:offset}");
        has("for ((i=0; i<X; i++)); do ls; done", "for ((…))");
        has("A[$X]=1", "an array subscript");
        has("let X", "let");
        has("git log --output=/tmp/x", "git --output");
        has("git difftool -x sh", "git difftool -x");
        has("git -C /elsewhere status", "git -C");
        has("sed -i s/a/b/ f", "sed -i");
        has("rg --pre ./x y", "rg --pre");
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
            vec!["git log --output=x $((X)) ${Y@P}"; 5_000].join(" && "),
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
