//! What makes an allowed-looking command more than it looks: expansions
//! that evaluate code (`${X@P}`, `$((X))`, `${A[Y]}`, `[[ $X -eq 0 ]]`),
//! and options that run programs or write files (`git log --output=…`,
//! `git difftool -x`, `sed -i`, `rg --pre`, `tar --to-command`, …).
//!
//! Each finding is an issue of the reader, so the policy asks however the
//! command's pattern reads. The lists are a best effort, kept short and
//! conservative (in doubt, ask): the kernel sandbox, not this module, is
//! what confines a command that gets through.

use super::toolchains::{cargo, docker, go, make, npm, pip, pytest};
use super::word::Word;

/// Why the syntax node of `kind` with source `text` can run code when bash
/// evaluates it, if it can.
pub(super) fn evaluates_code(kind: &str, text: &str) -> Option<&'static str> {
    match kind {
        "expansion" => expansion(text),
        "arithmetic_expansion" => text
            .strip_prefix('$')
            .unwrap_or(text)
            .chars()
            .any(|c| c.is_alphabetic() || matches!(c, '$' | '[' | '`' | '_'))
            .then_some("arithmetic expansion evaluates variables, which can run code"),
        "c_style_for_statement" => Some("for ((…)) evaluates arithmetic, which can run code"),
        "compound_statement" if text.starts_with("((") => {
            Some("((…)) evaluates arithmetic, which can run code")
        }
        "test_command" => test_command(text),
        "subscript" => subscript(text),
        _ => None,
    }
}

/// Operators of `[[ … ]]` that evaluate their operands as arithmetic, or
/// (`-v`) an array subscript.
const ARITHMETIC_TESTS: [&str; 7] = ["-eq", "-ne", "-lt", "-le", "-gt", "-ge", "-v"];

fn test_command(text: &str) -> Option<&'static str> {
    let words: Vec<&str> = text.split_whitespace().collect();
    if words.contains(&"-v") {
        return Some("test -v evaluates an array subscript, which can run code");
    }
    (text.starts_with("[[") && words.iter().any(|w| ARITHMETIC_TESTS.contains(w)))
        .then_some("[[ … ]] evaluates arithmetic operands, which can run code")
}

/// `A[i]`: the index is arithmetic unless it is a number, `@` or `*`.
fn subscript(text: &str) -> Option<&'static str> {
    let index = text.split_once('[')?.1.strip_suffix(']').unwrap_or("");
    let safe = matches!(index, "@" | "*")
        || (!index.is_empty() && index.chars().all(|c| c.is_ascii_digit()));
    (!safe).then_some("an array subscript is evaluated as arithmetic, which can run code")
}

/// `${…}`: the plain forms (`${X}`, `${#X}`, `${X:-word}`, `${X#pat}`,
/// `${X/a/b}`, `${X:0:3}`) are safe; indirection (`${!X}`), transforms
/// (`${X@P}`) and substring offsets that are not numbers evaluate code.
fn expansion(text: &str) -> Option<&'static str> {
    let inner = text.strip_prefix("${")?.strip_suffix('}').unwrap_or("");
    if inner.starts_with('!') {
        return Some("${!…} indirection can evaluate a subscript, which can run code");
    }
    let inner = match inner.strip_prefix('#') {
        Some(rest) if !rest.is_empty() => rest,
        _ => inner,
    };
    let name_len = match inner.find(|c: char| !(c.is_alphanumeric() || c == '_')) {
        Some(0) => usize::from(!inner.is_empty()),
        Some(at) => at,
        None => inner.len(),
    };
    let mut rest = inner.get(name_len..).unwrap_or("");
    if rest.starts_with('[') {
        // The subscript is a node of its own, judged there.
        rest = rest.find(']').map_or("", |at| &rest[at + 1..]);
    }
    let op = rest.chars().next()?;
    match op {
        '@' => Some("${…@…} transforms (@P runs command substitutions)"),
        ':' => {
            let after = &rest[1..];
            let default = after.starts_with(['-', '=', '?', '+']);
            let numeric = after
                .chars()
                .all(|c| c.is_ascii_digit() || matches!(c, ' ' | ':' | '-' | '+'));
            (!default && !numeric).then_some("${X:offset} evaluates arithmetic, which can run code")
        }
        '-' | '=' | '?' | '+' | '#' | '%' | '/' | '^' | ',' => None,
        _ => Some("an expansion the reader does not know"),
    }
}

/// Why the simple command `words` may run a program or write a file
/// through its options, whatever its pattern: one reason per finding.
pub(super) fn risky_options(words: &[Word]) -> Vec<String> {
    let Some((first, args)) = words.split_first() else {
        return Vec::new();
    };
    let name = first.text();
    let texts: Vec<String> = args.iter().map(Word::text).collect();
    let mut found: Vec<String> = match name.as_str() {
        "git" => git(&texts),
        "sed" | "gsed" => sed(&texts),
        "awk" | "gawk" | "mawk" | "nawk" => awk(&texts),
        "find" => flagged(&texts, &[("-delete", "find -delete removes files")]),
        "rg" => flagged(
            &texts,
            &[
                ("--pre", "rg --pre runs a program on each file"),
                ("--hostname-bin", "rg --hostname-bin runs a program"),
            ],
        ),
        "fd" | "fdfind" => flagged(
            &texts,
            &[
                ("-x", "fd -x runs a command on each file"),
                ("--exec", "fd --exec runs a command on each file"),
                ("-X", "fd -X runs a command on the files"),
                (
                    "--exec-batch",
                    "fd --exec-batch runs a command on the files",
                ),
            ],
        ),
        "tar" | "gtar" | "bsdtar" => tar(&texts),
        "sort" => flagged(
            &texts,
            &[
                ("-o", "sort -o writes to a file"),
                ("--output", "sort --output writes to a file"),
                (
                    "--compress-program",
                    "sort --compress-program runs a program",
                ),
            ],
        ),
        "go" => go(&texts),
        "cargo" => cargo(&texts),
        "npm" | "npx" | "pnpm" | "yarn" => npm(&texts),
        "pytest" | "py.test" => pytest(&texts),
        "pip" | "pip3" => pip(&texts),
        "docker" | "podman" => docker(&texts),
        "make" | "gmake" => make(&texts),
        "test" | "[" => texts
            .iter()
            .any(|t| t == "-v")
            .then(|| "test -v evaluates an array subscript, which can run code".to_owned())
            .into_iter()
            .collect(),
        "declare" | "typeset" | "local"
            if texts
                .iter()
                .any(|t| t.starts_with('-') && !t.starts_with("--") && t.contains('n')) =>
        {
            vec![
                "a nameref (-n) makes a plain $X evaluate what it names, which can run code"
                    .to_owned(),
            ]
        }
        "read" | "mapfile" | "readarray" | "unset" | "wait" | "declare" | "typeset" | "local"
        | "export" | "readonly" => subscripted_names(&texts),
        "printf" => texts
            .windows(2)
            .find(|w| w[0] == "-v")
            .and_then(|w| subscript(&w[1]).filter(|_| w[1].contains('[')))
            .map(str::to_owned)
            .into_iter()
            .collect(),
        _ => Vec::new(),
    };
    let has_options = [
        "git", "sed", "gsed", "awk", "gawk", "find", "fd", "rg", "tar", "sort", "go", "cargo",
        "npm", "docker", "make", "xargs", "pytest", "pip", "pip3",
    ];
    if has_options.contains(&name.as_str()) && args.iter().any(Word::starts_unknown) {
        found.push(format!(
            "{name}: an expansion or glob could become an option that runs a program"
        ));
    }
    found
}

/// Each argument that is `option` or `option=…` (or, for a short option,
/// starts with it) gives its reason.
pub(super) fn flagged(args: &[String], options: &[(&str, &str)]) -> Vec<String> {
    let mut found = Vec::new();
    for (option, reason) in options {
        let hit = args.iter().any(|a| {
            a == option
                || a.strip_prefix(option).is_some_and(|rest| {
                    rest.starts_with('=') || (!option.starts_with("--") && !rest.is_empty())
                })
        });
        if hit {
            found.push((*reason).to_owned());
        }
    }
    found
}

/// `git`'s options before its subcommand that point it elsewhere or page,
/// and the subcommand options that run programs or write files.
fn git(args: &[String]) -> Vec<String> {
    let mut found = Vec::new();
    let mut i = 0;
    while let Some(arg) = args.get(i) {
        if !arg.starts_with('-') {
            break;
        }
        let option = arg.split_once('=').map_or(arg.as_str(), |(o, _)| o);
        match option {
            "-C" | "--git-dir" | "--work-tree" => found.push(format!(
                "git {option} points git at another repository, whose config can run programs"
            )),
            "-p" | "--paginate" => found.push("git -p runs a pager".to_owned()),
            _ => {}
        }
        let takes_value = matches!(
            arg.as_str(),
            "-C" | "-c" | "--git-dir" | "--work-tree" | "--namespace" | "--config-env"
        );
        i += if takes_value { 2 } else { 1 };
    }
    let Some(sub) = args.get(i) else {
        return found;
    };
    let rest = &args[i + 1..];
    let common: &[(&str, &str)] = &[
        ("--output", "git --output writes to any file"),
        (
            "--ext-diff",
            "git --ext-diff runs the configured diff program",
        ),
        (
            "--textconv",
            "git --textconv runs the configured conversion programs",
        ),
        ("--upload-pack", "git --upload-pack runs a program"),
        ("--receive-pack", "git --receive-pack runs a program"),
        ("--exec", "git --exec runs a program"),
        ("--open-files-in-pager", "git grep -O runs a program"),
    ];
    found.extend(flagged(rest, common));
    let own: &[(&str, &str)] = match sub.as_str() {
        "difftool" | "mergetool" => &[
            ("-x", "git difftool -x runs a program"),
            ("--extcmd", "git difftool --extcmd runs a program"),
            ("-t", "git difftool -t runs a tool"),
            ("--tool", "git difftool --tool runs a tool"),
        ],
        "rebase" => &[("-x", "git rebase -x runs a command")],
        "format-patch" => &[("-o", "git format-patch -o writes to any folder")],
        "grep" => &[("-O", "git grep -O runs a program")],
        "fetch" | "clone" | "pull" | "ls-remote" => &[("-u", "git -u runs a program")],
        _ => &[],
    };
    found.extend(flagged(rest, own));
    found
}

/// `sed -i` writes files, `-f` reads a script; a script's `e` runs
/// commands and `w` writes files.
fn sed(args: &[String]) -> Vec<String> {
    let mut found = Vec::new();
    let mut scripts = Vec::new();
    let mut i = 0;
    while let Some(arg) = args.get(i) {
        i += 1;
        if arg == "--" {
            break;
        }
        if let Some(long) = arg.strip_prefix("--") {
            if long.starts_with("in-place") {
                found.push("sed --in-place writes files".to_owned());
            } else if long.starts_with("file") {
                found.push("sed --file runs a script from a file".to_owned());
            } else if let Some(script) = long.strip_prefix("expression") {
                match script.strip_prefix('=') {
                    Some(s) => scripts.push(s.to_owned()),
                    None => scripts.extend(args.get(i).cloned().inspect(|_| i += 1)),
                }
            }
        } else if let Some(letters) = arg.strip_prefix('-').filter(|l| !l.is_empty()) {
            for (at, c) in letters.char_indices() {
                match c {
                    'i' => found.push("sed -i writes files".to_owned()),
                    'f' => found.push("sed -f runs a script from a file".to_owned()),
                    'e' => {
                        let attached = &letters[at + 1..];
                        if attached.is_empty() {
                            scripts.extend(args.get(i).cloned().inspect(|_| i += 1));
                        } else {
                            scripts.push(attached.to_owned());
                        }
                        break;
                    }
                    _ => {}
                }
                if c == 'i' {
                    break;
                }
            }
        } else if scripts.is_empty() {
            scripts.push(arg.clone());
        }
    }
    if scripts.iter().any(|s| sed_script_risky(s)) {
        found.push("the sed script can run commands (e) or write files (w)".to_owned());
    }
    found
}

/// Whether a sed script has an `e`, `w` or `W` command or an `s` flag
/// `e`/`w`, or cannot be read (then it counts as risky).
fn sed_script_risky(script: &str) -> bool {
    script
        .split(['\n', ';'])
        .map(str::trim)
        .any(|command| sed_command_risky(command).unwrap_or(true))
}

fn sed_command_risky(command: &str) -> Option<bool> {
    let mut chars = command.chars().peekable();
    // The address: line numbers, `$`, `/re/`, ranges, `!`.
    while let Some(&c) = chars.peek() {
        match c {
            '0'..='9' | '$' | ',' | '!' | ' ' | '~' | '+' => {
                chars.next();
            }
            '/' => {
                chars.next();
                skip_delimited(&mut chars, '/')?;
            }
            _ => break,
        }
    }
    let Some(c) = chars.next() else {
        return Some(false);
    };
    Some(match c {
        'e' | 'w' | 'W' => true,
        's' => {
            let delimiter = chars.next()?;
            skip_delimited(&mut chars, delimiter)?;
            skip_delimited(&mut chars, delimiter)?;
            chars.any(|f| f == 'e' || f == 'w')
        }
        'y' | '{' | '}' | 'p' | 'd' | 'q' | 'Q' | 'n' | 'N' | 'g' | 'G' | 'h' | 'H' | 'x' | 'l'
        | '=' | 'P' | 'D' | 'z' | 'F' | 'a' | 'i' | 'c' | 'b' | 't' | 'T' | ':' | 'r' | 'R'
        | '#' => false,
        _ => return None,
    })
}

/// Skips to just after the next unescaped `delimiter`.
fn skip_delimited(chars: &mut impl Iterator<Item = char>, delimiter: char) -> Option<()> {
    let mut escaped = false;
    for c in chars.by_ref() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == delimiter {
            return Some(());
        }
    }
    None
}

/// An awk program is code: `system()`, pipes and `>` run commands or write
/// files, `@load` loads a library, and `-f`/`-i`/`-l`/`-E` read program
/// text from files. Every argument is looked at (the program is not always
/// the first plain one: `awk -F , '…'`).
fn awk(args: &[String]) -> Vec<String> {
    let mut found = flagged(
        args,
        &[
            ("-f", "awk -f runs a program from a file"),
            ("--file", "awk --file runs a program from a file"),
            ("-i", "awk -i includes a program file"),
            ("--include", "awk --include includes a program file"),
            ("-l", "awk -l loads a library"),
            ("--load", "awk --load loads a library"),
            ("-E", "awk -E runs a program from a file"),
            ("--exec", "awk --exec runs a program from a file"),
        ],
    );
    let code = |a: &String| {
        a.contains("system") || a.contains('|') || a.contains('>') || a.contains("@load")
    };
    if args.iter().any(code) {
        found.push("the awk program can run commands or write files".to_owned());
    }
    found
}

fn tar(args: &[String]) -> Vec<String> {
    let mut found = flagged(
        args,
        &[
            ("--to-command", "tar --to-command runs a program"),
            (
                "--use-compress-program",
                "tar --use-compress-program runs a program",
            ),
            (
                "--checkpoint-action",
                "tar --checkpoint-action can run a program",
            ),
            ("--info-script", "tar --info-script runs a program"),
            (
                "--new-volume-script",
                "tar --new-volume-script runs a program",
            ),
            ("--rsh-command", "tar --rsh-command runs a program"),
            ("--rmt-command", "tar --rmt-command runs a program"),
        ],
    );
    let short = args
        .iter()
        .filter(|a| a.starts_with('-') && !a.starts_with("--"))
        .any(|a| a.contains('I') || a.contains('F'));
    if short {
        found.push("tar -I/-F runs a program".to_owned());
    }
    found
}

/// Options (of `command`) whose value is a path written to or read from:
/// a reason for each whose value leaves the workspace (absolute, `~`,
/// `..`, or only known when the command runs).
pub(super) fn outside(command: &str, args: &[String], options: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    for (at, arg) in args.iter().enumerate() {
        let (option, value) = match arg.split_once('=') {
            Some((o, v)) => (o, Some(v)),
            None => (arg.as_str(), args.get(at + 1).map(String::as_str)),
        };
        if !options.contains(&option) {
            continue;
        }
        let value = value.unwrap_or("");
        let leaves = value.starts_with(['/', '~', '$', '`']) || value.split('/').any(|p| p == "..");
        if leaves {
            found.push(format!("{command} {option} reaches outside the workspace"));
        }
    }
    found
}

/// Names with a subscript (`a[$(x)]`) given to builtins that assign or
/// unset them: the subscript is evaluated as arithmetic.
fn subscripted_names(args: &[String]) -> Vec<String> {
    args.iter()
        .filter(|a| !a.starts_with('-') && a.contains('['))
        .filter_map(|a| {
            let name = a.split_once('=').map_or(a.as_str(), |(n, _)| n);
            subscript(name)
        })
        .map(str::to_owned)
        .take(1)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expansions_that_evaluate_code() {
        for risky in ["${X@P}", "${!X}", "${X:Y}", "${X:Y:1}", "${X:$Z}"] {
            assert!(expansion(risky).is_some(), "{risky}");
        }
        for safe in [
            "${X}", "${#X}", "${X:-a}", "${X#p}", "${X%%.*}", "${X/a/b}", "${X:0:3}", "${X: -1}",
            "${1}", "${@}", "${A[@]}",
        ] {
            assert_eq!(expansion(safe), None, "{safe}");
        }
        assert!(subscript("A[Y]").is_some());
        assert!(subscript("A[$X]").is_some());
        assert_eq!(subscript("A[0]"), None);
        assert_eq!(subscript("A[@]"), None);
    }

    #[test]
    fn sed_scripts() {
        for risky in [
            "e touch P",
            "1e id",
            "s/a/b/e",
            "s|a|b|w out",
            "w out",
            "/x/w out",
            "s/a",
        ] {
            assert!(sed_script_risky(risky), "{risky}");
        }
        for safe in [
            "s/a/b/g",
            "1,5p",
            "/^x/d",
            "s/hello/world/",
            "$!N; P; D",
            "y/abc/xyz/",
        ] {
            assert!(!sed_script_risky(safe), "{safe}");
        }
    }
}
