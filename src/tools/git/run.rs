//! Running the `git` program for handoff itself (the probes at the start,
//! the snapshots at gates, a fork's restore) so that it runs nothing but
//! git, whatever the repository or the user's configuration says, and sees
//! no secret.
//!
//! A [`Git`] starts every process from an empty environment plus an
//! allowlist ([`PASSED`]: `PATH` and the locale, never `HOME`, never an API
//! key), with system and global configuration off, no protocol allowed, no
//! lazy fetch, and settings given as `git -c` (which beats every file)
//! that switch off everything that runs a program ([`NEUTRAL`]: the
//! fsmonitor, hooks, external diffs, the pager, signing, auto-gc, submodule
//! recursion, implicit bare repositories). Clean, smudge and process
//! filters have driver names only the repository knows, so
//! [`Git::without_filters`] reads them from its configuration (reading
//! runs nothing) and blanks each. Every process runs in its own process
//! group and is killed, with its group, after [`TIMEOUT`].

use std::io::Read as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use rustix::process::{Pid, Signal, kill_process_group};

/// The longest one git process may run.
pub const TIMEOUT: Duration = Duration::from_secs(120);

/// The variables passed on from handoff's environment; everything else is
/// dropped.
pub const PASSED: [&str; 6] = [
    "PATH",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "LC_MESSAGES",
    "TMPDIR",
];

/// Configuration that would make git run a program, and the value that
/// stops it. Given as `git -c` (understood by every git, unlike
/// `GIT_CONFIG_COUNT`), which beats the repository's own files.
pub const NEUTRAL: [(&str, &str); 14] = [
    ("core.fsmonitor", "false"),
    ("core.hooksPath", "/dev/null"),
    ("core.pager", "cat"),
    ("core.editor", ":"),
    ("core.untrackedCache", "false"),
    ("diff.external", ""),
    ("protocol.allow", "never"),
    ("submodule.recurse", "false"),
    ("safe.bareRepository", "explicit"),
    ("commit.gpgSign", "false"),
    ("tag.gpgSign", "false"),
    ("gc.auto", "0"),
    ("maintenance.auto", "false"),
    ("fetch.recurseSubmodules", "false"),
];

/// Fixed variables: no system or global configuration, no prompts, no
/// network, no pager or editor, no attributes from the system.
const FIXED: [(&str, &str); 9] = [
    ("GIT_CONFIG_NOSYSTEM", "1"),
    ("GIT_CONFIG_GLOBAL", "/dev/null"),
    ("GIT_ATTR_NOSYSTEM", "1"),
    ("GIT_TERMINAL_PROMPT", "0"),
    ("GIT_ALLOW_PROTOCOL", ""),
    ("GIT_NO_LAZY_FETCH", "1"),
    ("GIT_PAGER", "cat"),
    ("GIT_EDITOR", ":"),
    ("GIT_OPTIONAL_LOCKS", "0"),
];

/// One way of running git in a folder: its extra configuration, and the
/// index it uses.
#[derive(Debug, Clone)]
pub struct Git {
    dir: PathBuf,
    config: Vec<(String, String)>,
    index: Option<PathBuf>,
}

impl Git {
    /// Git in `dir`, neutralised as the module says (filters aside).
    pub fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_owned(),
            config: NEUTRAL
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            index: None,
        }
    }

    /// The same, with every filter driver the repository defines blanked,
    /// for the commands that read or write the working tree's files.
    pub fn without_filters(mut self) -> Result<Self, String> {
        let listed = match self.output(&["config", "-z", "--get-regexp", r"^filter\."]) {
            Ok(out) => out,
            // Exit 1: no such key.
            Err(e) if e.is_empty() => String::new(),
            Err(e) => return Err(e),
        };
        let mut drivers: Vec<&str> = listed
            .split('\0')
            .filter_map(|entry| entry.split('\n').next())
            .filter_map(|key| key.strip_prefix("filter."))
            .filter_map(|rest| rest.rsplit_once('.').map(|(driver, _)| driver))
            .collect();
        drivers.sort_unstable();
        drivers.dedup();
        // `git -c name=value` splits at the first `=`: such a driver could
        // not be switched off, so git is not run at all.
        if let Some(odd) = drivers.iter().find(|d| d.contains('=')) {
            return Err(format!(
                "the repository defines a filter named `{odd}`, which handoff cannot switch off"
            ));
        }
        for driver in drivers {
            for (field, value) in [
                ("clean", ""),
                ("smudge", ""),
                ("process", ""),
                ("required", "false"),
            ] {
                self.config
                    .push((format!("filter.{driver}.{field}"), value.to_owned()));
            }
        }
        Ok(self)
    }

    /// The same, using `index` instead of the repository's index.
    #[must_use]
    pub fn with_index(mut self, index: &Path) -> Self {
        self.index = Some(index.to_owned());
        self
    }

    /// The command, ready to run: the module's environment and `args`.
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new("git");
        for (key, value) in &self.config {
            command.arg("-c").arg(format!("{key}={value}"));
        }
        command
            .current_dir(&self.dir)
            .args(args)
            .env_clear()
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        for name in PASSED {
            if let Some(value) = std::env::var_os(name) {
                command.env(name, value);
            }
        }
        command.envs(FIXED);
        if let Some(index) = &self.index {
            command.env("GIT_INDEX_FILE", index);
        }
        // Snapshot commits are handoff's own, whatever the repository says.
        if args.first() == Some(&"commit-tree") {
            command.envs([
                ("GIT_AUTHOR_NAME", "handoff"),
                ("GIT_AUTHOR_EMAIL", "handoff@localhost"),
                ("GIT_COMMITTER_NAME", "handoff"),
                ("GIT_COMMITTER_EMAIL", "handoff@localhost"),
            ]);
        }
        command
    }

    /// Runs git with `args`: its stdout, trimmed, on success; its stderr,
    /// trimmed, otherwise (empty when git failed without a word, as
    /// `git config` does for a missing key).
    pub fn output(&self, args: &[&str]) -> Result<String, String> {
        self.bytes(args)
            .map(|out| String::from_utf8_lossy(&out).trim().to_owned())
    }

    /// [`Git::output`], with stdout as git wrote it.
    pub fn bytes(&self, args: &[&str]) -> Result<Vec<u8>, String> {
        self.feeding(args, None)
    }

    /// [`Git::bytes`], with `input` on git's standard input (for the
    /// `--batch` commands).
    pub fn feeding(&self, args: &[&str], input: Option<Vec<u8>>) -> Result<Vec<u8>, String> {
        let mut command = self.command(args);
        if input.is_some() {
            command.stdin(Stdio::piped());
        }
        let output = run_feeding(command, input, TIMEOUT)
            .map_err(|e| format!("git {}: {e}", args.first().unwrap_or(&"")))?;
        if output.status.success() {
            Ok(output.stdout)
        } else {
            Err(String::from_utf8_lossy(&output.stderr).trim().to_owned())
        }
    }
}

/// Runs `command` (made with piped output, in its own process group) to
/// its end, or kills its process group after `timeout`.
pub fn run(command: Command, timeout: Duration) -> Result<Output, String> {
    run_feeding(command, None, timeout)
}

/// [`run`], writing `input` to the command's standard input (piped) from
/// a thread of its own, so a command that answers as it reads never
/// stalls on a full pipe.
fn run_feeding(
    mut command: Command,
    input: Option<Vec<u8>>,
    timeout: Duration,
) -> Result<Output, String> {
    let mut child = command.spawn().map_err(|e| format!("cannot run: {e}"))?;
    let group = Pid::from_child(&child);
    if let (Some(input), Some(mut stdin)) = (input, child.stdin.take()) {
        std::thread::spawn(move || std::io::Write::write_all(&mut stdin, &input));
    }
    let mut stdout = child.stdout.take();
    let mut stderr = child.stderr.take();
    let (done, waited) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        // Stderr on its own thread, so neither pipe fills while the other is read.
        let errors = std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(pipe) = stderr.as_mut() {
                let _ = pipe.read_to_end(&mut bytes);
            }
            bytes
        });
        let mut out = Vec::new();
        if let Some(pipe) = stdout.as_mut() {
            let _ = pipe.read_to_end(&mut out);
        }
        let err = errors.join().unwrap_or_default();
        let status = child.wait();
        drop(done.send(status.map(|status| Output {
            status,
            stdout: out,
            stderr: err,
        })));
    });
    let Ok(output) = waited.recv_timeout(timeout) else {
        let _ = kill_process_group(group, Signal::KILL);
        // The reader ends once the group is gone and the pipes close (a
        // process that left the group could hold them: not for long).
        drop(waited.recv_timeout(Duration::from_secs(5)));
        return Err(format!(
            "took longer than {} s and was stopped",
            timeout.as_secs()
        ));
    };
    output.map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_process_past_its_time_is_killed_with_its_group() {
        let mut command = Command::new("sh");
        command
            .args(["-c", "sleep 30 & sleep 30; echo done"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        let started = std::time::Instant::now();
        let result = run(command, Duration::from_millis(200));
        assert!(result.is_err_and(|e| e.contains("stopped")));
        // The background `sleep` held the pipes: it was killed too.
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn git_sees_only_the_allowlist_and_the_neutral_settings() {
        let dir = tempfile::tempdir().expect("tempdir");
        let command = Git::new(dir.path()).command(&["version"]);
        let names: Vec<String> = command
            .get_envs()
            .map(|(k, _)| k.to_string_lossy().into_owned())
            .collect();
        assert!(
            names
                .iter()
                .all(|n| PASSED.contains(&n.as_str()) || n.starts_with("GIT_")),
            "{names:?}"
        );
        assert!(!names.iter().any(|n| n == "HOME" || n.contains("KEY")));
        let args: Vec<String> = command
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            args[..4],
            [
                "-c",
                "core.fsmonitor=false",
                "-c",
                "core.hooksPath=/dev/null"
            ]
        );
        assert_eq!(args.last().map(String::as_str), Some("version"));
    }
}
