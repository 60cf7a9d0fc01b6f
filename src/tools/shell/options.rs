//! The options of the wrappers the reader sees through (`timeout`, `env`,
//! `sudo`, `xargs`, …) and of `git` before its subcommand: which take a
//! value, so that the wrapped command is found where bash would find it.

use super::word::Word;
use super::{RISKY_PREFIXES, RISKY_VARIABLES};

/// Options a wrapper takes before the command it runs.
#[derive(Default)]
pub(super) struct Options {
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
pub(super) struct Parsed {
    pub(super) next: usize,
    pub(super) found: Vec<(String, Option<String>)>,
}

impl Parsed {
    pub(super) fn has(&self, names: &[&str]) -> bool {
        self.found.iter().any(|(o, _)| names.contains(&o.as_str()))
    }
}

pub(super) fn parse_options(words: &[Word], spec: &Options) -> Result<Parsed, String> {
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

pub(super) fn timeout_options() -> Options {
    Options {
        arg: "sk",
        flag: "v",
        long_arg: &["--signal", "--kill-after"],
        long_flag: &["--preserve-status", "--foreground", "--verbose"],
        ..Options::default()
    }
}

pub(super) fn nice_options() -> Options {
    Options {
        arg: "n",
        long_arg: &["--adjustment"],
        numeric: true,
        ..Options::default()
    }
}

pub(super) fn env_options() -> Options {
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

pub(super) fn time_options() -> Options {
    Options {
        arg: "fo",
        flag: "pvaq",
        long_arg: &["--format", "--output"],
        long_flag: &["--portability", "--verbose", "--append", "--quiet"],
        ..Options::default()
    }
}

pub(super) fn sudo_options() -> Options {
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

pub(super) fn xargs_options() -> Options {
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

pub(super) fn exec_options() -> Options {
    Options {
        arg: "a",
        flag: "cl",
        ..Options::default()
    }
}

pub(super) fn command_options() -> Options {
    Options {
        flag: "pvV",
        ..Options::default()
    }
}

pub(super) fn no_options() -> Options {
    Options::default()
}

/// `NAME=value` as `env` and `sudo` take it.
pub(super) fn env_assignment(text: &str) -> Option<&str> {
    let (name, _) = text.split_once('=')?;
    let mut chars = name.chars();
    let first = chars.next()?;
    ((first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_'))
    .then_some(name)
}

pub(super) fn is_risky_variable(name: &str) -> bool {
    RISKY_VARIABLES.contains(&name) || RISKY_PREFIXES.iter().any(|p| name.starts_with(p))
}

/// `-c`-like option letters given to a shell: whether a `-c` is among
/// them, and the string it runs (the first operand), if any.
pub(super) fn shell_command_string(args: &[Word]) -> (bool, Option<&Word>) {
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

/// `git`'s options before its subcommand: whether they set config (`-c`,
/// `--config-env`) or the helper path (`--exec-path=`), which can run any
/// program, and where the subcommand starts.
pub(super) fn git_global_options(args: &[Word]) -> (bool, usize) {
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
