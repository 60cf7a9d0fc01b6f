//! One simple command read: its words normalised, and the commands that
//! wrappers (`timeout`, `env`, `sudo`, `xargs`, `find -exec`, …) and shells
//! given a command string would run.

use super::options::{
    command_options, env_assignment, env_options, exec_options, git_global_options,
    is_risky_variable, nice_options, no_options, parse_options, shell_command_string, sudo_options,
    time_options, timeout_options, xargs_options,
};
use super::reader::Reader;
use super::word::{Word, joined};
use super::{CODE_RUNNERS, MAX_WRAPPERS, SHELLS, SYSTEM_DIRS};

impl Reader<'_> {
    /// A simple command's words: normalises and records it, and whatever it
    /// runs in turn.
    pub(super) fn simple(&mut self, mut words: Vec<Word>, level: usize, secondary: bool) {
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
    pub(super) fn wrapper(&mut self, name: &str, words: &[Word], level: usize, secondary: bool) {
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
        let mut assigned = Vec::new();
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
                    assigned.push(name.to_owned());
                    next += 1;
                }
            }
            _ => {}
        }
        if name == "env" && parsed.has(&["-C", "--chdir"]) {
            self.issue("env -C runs the command in another folder", &joined(words));
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
        if assigned.is_empty() {
            self.piece(words, true);
        } else {
            // `env HOME=x git status`: allowed only by a pattern naming HOME.
            self.piece_assigning(words, false, assigned);
        }
        self.simple(args[next..].to_vec(), level + 1, secondary);
    }

    /// `xargs` is a command of its own, and runs its command with words
    /// from its input added (or put in place of `-I`'s string).
    pub(super) fn xargs(&mut self, words: &[Word], level: usize, secondary: bool) {
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
    pub(super) fn find(&mut self, words: &[Word], level: usize, secondary: bool) {
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
