//! Helpers shared by the integration tests: run the real binary against a
//! private sessions folder and read what it wrote.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

pub mod hostile;
pub mod paced;
pub mod pty;
pub mod server;

pub const REQUEST: &str = "Add rate limiting to the orders API";

/// The built-in skills.toml, to derive variants from.
pub const BUILTIN_SKILLS: &str = handoff::pipeline::BUILTIN_SKILLS;

/// A private sessions folder and a way to run `handoff` against it.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
}

impl Sandbox {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    pub fn sessions(&self) -> PathBuf {
        self.dir.path().join("sessions")
    }

    /// `handoff` run from the sandbox (so no stray ./skills.toml is picked
    /// up) with a clean environment whose `HOME` is the sandbox; no
    /// sessions folder is named.
    pub fn bare_command(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_handoff"));
        self.clean(&mut cmd);
        cmd
    }

    /// `handoff` with this sandbox's sessions folder, started like
    /// [`Sandbox::bare_command`].
    pub fn command(&self) -> Command {
        let mut cmd = self.bare_command();
        cmd.arg("--sessions").arg(self.sessions());
        cmd
    }

    /// `handoff` started by `sh`, which runs `prelude` (say, a `ulimit` or
    /// a `umask`) and then execs it with the arguments given; otherwise
    /// like [`Sandbox::bare_command`].
    pub fn shell_command(&self, prelude: &str) -> Command {
        let mut cmd = Command::new("sh");
        self.clean(&mut cmd);
        cmd.args([
            "-c",
            &format!("{prelude}; exec \"$0\" \"$@\""),
            env!("CARGO_BIN_EXE_handoff"),
        ]);
        cmd
    }

    /// No capability probe (`HANDOFF_PROBE=off`): a scripted server
    /// answers the requests a test scripts, in order; the probe's own
    /// tests (`suite::probe`) turn it on.
    fn clean(&self, cmd: &mut Command) {
        cmd.current_dir(self.dir.path())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .env("HANDOFF_PROBE", "off");
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command().args(args).output().expect("run handoff")
    }

    /// [`Sandbox::run`], failing the test (not hanging it) when `handoff`
    /// has not ended within `seconds`.
    pub fn run_within(&self, seconds: u64, args: &[&str]) -> Output {
        let child = self
            .command()
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("start handoff");
        let pid = child.id();
        let (done, waited) = std::sync::mpsc::channel();
        std::thread::spawn(move || drop(done.send(child.wait_with_output())));
        let output = waited.recv_timeout(std::time::Duration::from_secs(seconds));
        if output.is_err() {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
        }
        output
            .expect("handoff to end in time (it was still running, and was killed)")
            .expect("wait for handoff")
    }

    /// A headless run of `request` that answers gates from `decisions` (a
    /// decisions file's text) first, then approves everything.
    pub fn run_deciding(&self, decisions: &str, request: &str) -> Output {
        self.run_deciding_with(decisions, &[], request)
    }

    /// [`Sandbox::run_deciding`] with more arguments before the request.
    pub fn run_deciding_with(&self, decisions: &str, more: &[&str], request: &str) -> Output {
        let file = self.dir.path().join("decisions.toml");
        std::fs::write(&file, decisions).expect("write decisions");
        let file = file.to_str().expect("path");
        let mut args = vec!["run", "--headless", "--approve", "all", "--decisions", file];
        args.extend_from_slice(more);
        args.push(request);
        self.run(&args)
    }

    /// `handoff resume <log> --headless --approve all`.
    pub fn resume_approving(&self, log: &Path) -> Output {
        let log = log.to_str().expect("path");
        self.run(&["resume", log, "--headless", "--approve", "all"])
    }

    /// `~/.config/handoff` in the sandbox, created if missing.
    pub fn config_dir(&self) -> PathBuf {
        let dir = self.dir.path().join(".config/handoff");
        std::fs::create_dir_all(&dir).expect("config dir");
        dir
    }

    /// Writes `text` as the user's `config.toml`.
    pub fn config(&self, text: &str) {
        std::fs::write(self.config_dir().join("config.toml"), text).expect("config");
    }

    /// The logs in the sessions folder.
    pub fn logs(&self) -> Vec<PathBuf> {
        logs_in(&self.sessions())
    }

    /// The only log in the sessions folder.
    pub fn log(&self) -> PathBuf {
        let mut logs = self.logs();
        assert_eq!(logs.len(), 1, "expected one session log, found {logs:?}");
        logs.remove(0)
    }

    /// Every event of the only log in the sessions folder.
    pub fn events(&self) -> Vec<Value> {
        events(&self.log())
    }
}

/// The files in `dir`, sorted; none if it does not exist.
pub fn logs_in(dir: &Path) -> Vec<PathBuf> {
    let mut logs: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| entries.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    logs.sort();
    logs
}

/// Runs git in `dir`, failing the test if it fails; its trimmed stdout.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// `<at>/repo`: a git repository on `main` with an identity and one
/// commit (a README).
pub fn repository(at: &Path) -> PathBuf {
    let repo = at.join("repo");
    std::fs::create_dir_all(&repo).expect("repo");
    git(&repo, &["init", "-q", "-b", "main"]);
    git(&repo, &["config", "user.email", "dev@example.com"]);
    git(&repo, &["config", "user.name", "Dev"]);
    std::fs::write(repo.join("README.md"), "# Orders service\n").expect("readme");
    git(&repo, &["add", "README.md"]);
    git(&repo, &["commit", "-q", "-m", "start"]);
    repo
}

/// Every line of a log as JSON.
pub fn events(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .expect("read log")
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect()
}

/// The events of one kind.
pub fn of_kind<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["kind"] == kind).collect()
}

/// The content of every artifact of `phase`, attempt by attempt.
pub fn artifacts<'a>(events: &'a [Value], phase: &str) -> Vec<&'a str> {
    of_kind(events, "artifact")
        .into_iter()
        .filter(|a| a["phase"] == phase)
        .map(|a| a["content"].as_str().expect("content"))
        .collect()
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}
