//! Running an agent's shell command in the workspace.
//!
//! This module owns the `run_command` tool: it runs `bash -c <command>`
//! (or `sh -c` where bash is missing) with the workspace as the working
//! directory, stdin from `/dev/null`, the inherited environment minus the
//! names the caller asks to remove (API keys), and in its own process group.
//! Stdout and stderr share one pipe, so the captured output keeps the order
//! in which the command wrote it; the first [`OUTPUT_LIMIT`] bytes are kept
//! (the rest is read and dropped so the command never blocks on a full pipe)
//! and decoded as lossy UTF-8.
//!
//! On timeout or cancellation the whole process group is killed with
//! `SIGKILL` and the shell is reaped. When the shell exits by itself,
//! anything it left running in its process group (background jobs) is
//! killed as well, so a tool call never leaves stray processes behind. If
//! the future is dropped mid-run, the process group is killed too.
//!
//! Given a [`Jail`], the shell runs inside the kernel sandbox of
//! [`crate::sandbox`]: the helper it starts stays in the process group and
//! takes the whole sandbox down with it, so the above holds unchanged. Each
//! sandboxed run gets a private temp folder (`TMPDIR`), removed afterwards.

use std::fmt::Write as _;
use std::io;
use std::os::fd::OwnedFd;
use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal, kill_process_group};
use tokio::io::AsyncReadExt as _;
use tokio::net::unix::pipe;
use tokio::process::{Child, Command};
use tokio::sync::watch;

use crate::sandbox::Jail;

/// Most bytes of output kept in [`CommandOutput::output`] (before the note
/// saying that the rest was cut).
pub const OUTPUT_LIMIT: usize = 64 * 1024;

/// How long to keep reading output after the shell has exited and its
/// process group was killed, in case a process that left the group (with
/// `setsid`) still holds the pipe open.
const DRAIN_GRACE: Duration = Duration::from_millis(500);

/// What a command did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandOutput {
    /// The shell's exit code; `None` if it was killed by a signal (always so
    /// after a timeout or cancellation) or never started (cancelled before).
    pub exit_code: Option<i32>,
    /// Stdout and stderr interleaved as they came, at most [`OUTPUT_LIMIT`]
    /// bytes plus a note when the rest was cut.
    pub output: String,
    /// Whether output was cut at [`OUTPUT_LIMIT`].
    pub truncated: bool,
    /// Whether the command ran out of time and was killed.
    pub timed_out: bool,
    /// Whether the command was cancelled through the watch channel and killed.
    pub cancelled: bool,
    /// Wall-clock time from start to finish.
    pub duration: Duration,
}

/// Runs `command` through the shell in `root`; see the module docs.
///
/// `cancel` becoming `true` kills the command (a dropped sender just stops
/// the watching). If it is already `true`, nothing is started. The names in
/// `env_remove` are removed from the inherited environment. With `jail`,
/// the command runs in the sandbox (`jail.plan`'s workspace should be
/// `root`; its temp folder is replaced by a fresh one for this run).
///
/// # Errors
/// Fails if the pipe cannot be made, neither `bash` nor `sh` can be started
/// (for instance because `root` is not a directory), or waiting for the
/// shell or reading its output fails. A command that fails, times out or is
/// cancelled is not an error: see the fields of [`CommandOutput`].
pub async fn run_command(
    root: &Path,
    command: &str,
    timeout: Duration,
    mut cancel: watch::Receiver<bool>,
    env_remove: &[&str],
    jail: Option<&Jail>,
) -> io::Result<CommandOutput> {
    let started = Instant::now();
    if *cancel.borrow_and_update() {
        return Ok(CommandOutput {
            exit_code: None,
            output: String::new(),
            truncated: false,
            timed_out: false,
            cancelled: true,
            duration: started.elapsed(),
        });
    }

    let tmp = match jail {
        Some(_) => Some(tempfile::Builder::new().prefix("handoff-cmd-").tempdir()?),
        None => None,
    };
    let jail = jail.zip(tmp.as_ref()).map(|(jail, tmp)| Jail {
        helper: jail.helper.clone(),
        plan: jail.plan.with_tmp(tmp.path()),
    });
    let (reader, mut child) = spawn(root, command, env_remove, jail.as_ref())?;
    let mut group = GroupGuard::new(&child)?;
    let mut reader = pipe::Receiver::from_owned_fd(OwnedFd::from(reader))?;

    // `None` (no deadline) only for timeouts too long to represent.
    let deadline = tokio::time::Instant::from_std(started).checked_add(timeout);
    let mut capture = Capture::default();
    let mut buf = vec![0_u8; 16 * 1024];
    let mut status: Option<ExitStatus> = None;
    let mut eof = false;
    let mut timed_out = false;
    let mut cancelled = false;
    let mut watching_cancel = true;
    let mut drain_deadline = None;

    loop {
        if status.is_some() && eof {
            break;
        }
        let killing = timed_out || cancelled;
        tokio::select! {
            read = reader.read(&mut buf), if !eof => match read {
                Ok(0) => eof = true,
                Ok(n) => capture.push(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            },
            waited = child.wait(), if status.is_none() => {
                status = Some(waited?);
                // Kill whatever the shell left running in its group.
                group.kill();
                drain_deadline = Some(tokio::time::Instant::now() + DRAIN_GRACE);
            }
            () = sleep_until_opt(deadline), if status.is_none() && !killing => {
                timed_out = true;
                group.kill();
            }
            changed = cancel.changed(), if watching_cancel && status.is_none() && !killing => {
                match changed {
                    Ok(()) => {
                        if *cancel.borrow_and_update() {
                            cancelled = true;
                            group.kill();
                        }
                    }
                    Err(_) => watching_cancel = false,
                }
            }
            () = sleep_until_opt(drain_deadline), if drain_deadline.is_some() && !eof => break,
        }
    }
    group.disarm();

    let exit_code = status.and_then(|s| s.code());
    let (output, truncated) = capture.finish();
    Ok(CommandOutput {
        exit_code,
        output,
        truncated,
        timed_out,
        cancelled,
        duration: started.elapsed(),
    })
}

/// Starts the shell with both output streams on one pipe; returns the read
/// end and the child. The write ends are closed here once the child has them.
fn spawn(
    root: &Path,
    command: &str,
    env_remove: &[&str],
    jail: Option<&Jail>,
) -> io::Result<(io::PipeReader, Child)> {
    let mut last_error = None;
    for shell in ["bash", "sh"] {
        let (reader, writer) = io::pipe()?;
        let writer_err = writer.try_clone()?;
        // In a jail, the helper falls back to `sh` by itself.
        let mut cmd = if let Some(jail) = jail {
            let mut cmd = Command::new(&jail.helper);
            cmd.args(
                jail.command_line(shell, command)
                    .map_err(io::Error::other)?,
            );
            cmd.envs(jail.plan.env());
            for name in crate::sandbox::HIDDEN_ENV {
                cmd.env_remove(name);
            }
            cmd
        } else {
            let mut cmd = Command::new(shell);
            cmd.arg("-c").arg(command);
            cmd
        };
        cmd.current_dir(root)
            .stdin(Stdio::null())
            .stdout(Stdio::from(writer))
            .stderr(Stdio::from(writer_err))
            .process_group(0)
            .kill_on_drop(true);
        for name in env_remove {
            cmd.env_remove(name);
        }
        match cmd.spawn() {
            // `cmd` is dropped at the end of this arm, closing our copies of
            // the write ends so that the reader sees end-of-file.
            Ok(child) => return Ok((reader, child)),
            Err(e) if e.kind() == io::ErrorKind::NotFound && shell == "bash" && root.is_dir() => {
                last_error = Some(e);
            }
            Err(e) => return Err(e),
        }
    }
    Err(last_error.unwrap_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no shell found")))
}

async fn sleep_until_opt(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// Kills the child's process group with `SIGKILL` on demand, and on drop
/// unless disarmed (so a dropped `run_command` future leaves nothing
/// running).
struct GroupGuard {
    pgid: Pid,
    armed: bool,
}

impl GroupGuard {
    fn new(child: &Child) -> io::Result<Self> {
        let pgid = child
            .id()
            .and_then(|id| i32::try_from(id).ok())
            .and_then(Pid::from_raw)
            .ok_or_else(|| io::Error::other("the spawned shell has no process id"))?;
        Ok(Self { pgid, armed: true })
    }

    fn kill(&self) {
        // `ESRCH` (the group is already gone) is fine.
        let _ = kill_process_group(self.pgid, Signal::KILL);
    }

    fn disarm(&mut self) {
        self.armed = false;
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if self.armed {
            self.kill();
        }
    }
}

/// Output collected so far: the first [`OUTPUT_LIMIT`] bytes and a count of
/// the rest.
#[derive(Default)]
struct Capture {
    kept: Vec<u8>,
    dropped: u64,
}

impl Capture {
    fn push(&mut self, bytes: &[u8]) {
        let room = OUTPUT_LIMIT.saturating_sub(self.kept.len());
        let take = room.min(bytes.len());
        self.kept.extend_from_slice(&bytes[..take]);
        self.dropped += (bytes.len() - take) as u64;
    }

    fn finish(mut self) -> (String, bool) {
        let truncated = self.dropped > 0;
        if truncated {
            // Do not end on half a UTF-8 character.
            if let Err(e) = std::str::from_utf8(&self.kept)
                && e.error_len().is_none()
            {
                let cut = self.kept.len() - e.valid_up_to();
                self.kept.truncate(e.valid_up_to());
                self.dropped += cut as u64;
            }
        }
        let mut output = String::from_utf8_lossy(&self.kept).into_owned();
        if truncated {
            if !output.ends_with('\n') {
                output.push('\n');
            }
            let _ = writeln!(
                output,
                "[output truncated: {} more bytes not shown; only the first {OUTPUT_LIMIT} bytes are kept]",
                self.dropped
            );
        }
        (output, truncated)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_cancel() -> watch::Receiver<bool> {
        // A receiver whose sender is gone: never cancels.
        watch::channel(false).1
    }

    async fn run(root: &Path, command: &str) -> CommandOutput {
        run_command(
            root,
            command,
            Duration::from_secs(20),
            no_cancel(),
            &[],
            None,
        )
        .await
        .unwrap()
    }

    /// True once `pid` has exited (gone, or a zombie awaiting its reaper).
    fn is_dead(pid: u32) -> bool {
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Err(_) => true,
            // The state follows the parenthesised command name.
            Ok(stat) => stat
                .rsplit_once(')')
                .is_some_and(|(_, rest)| rest.trim_start().starts_with(['Z', 'X'])),
        }
    }

    async fn wait_until_dead(pids: &[u32]) {
        let until = Instant::now() + Duration::from_secs(1);
        while Instant::now() < until && !pids.iter().all(|&p| is_dead(p)) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        for &pid in pids {
            assert!(is_dead(pid), "process {pid} is still running");
        }
    }

    fn read_pids(path: &Path) -> Vec<u32> {
        std::fs::read_to_string(path)
            .unwrap()
            .split_whitespace()
            .map(|p| p.parse().unwrap())
            .collect()
    }

    /// A command that starts two background sleeps (a child and a
    /// grandchild), records their PIDs, and waits.
    fn sleepers(pid_file: &Path) -> String {
        format!(
            "sleep 30 & echo $! >> {f}; ( sleep 30 & echo $! >> {f}; wait ) & echo started; wait",
            f = pid_file.display()
        )
    }

    #[tokio::test]
    async fn reports_exit_codes_and_output_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let ok = run(dir.path(), "echo out; echo err >&2; echo out2").await;
        assert_eq!(ok.exit_code, Some(0));
        assert_eq!(ok.output, "out\nerr\nout2\n");
        assert!(!ok.truncated && !ok.timed_out && !ok.cancelled);

        let failed = run(dir.path(), "echo nope >&2; exit 3").await;
        assert_eq!(failed.exit_code, Some(3));
        assert_eq!(failed.output, "nope\n");

        let signalled = run(dir.path(), "kill -9 $$").await;
        assert_eq!(signalled.exit_code, None);
        assert!(!signalled.timed_out);
    }

    #[tokio::test]
    async fn runs_in_the_workspace_with_stdin_closed() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("marker.txt"), "here").unwrap();
        let out = run(dir.path(), "cat marker.txt; cat; echo done").await;
        assert_eq!(out.output, "heredone\n");
        let forever = run_command(dir.path(), "echo hi", Duration::MAX, no_cancel(), &[], None)
            .await
            .unwrap();
        assert_eq!(forever.output, "hi\n");
    }

    #[tokio::test]
    async fn caps_output_and_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let out = run(
            dir.path(),
            "head -c 1048576 /dev/zero | tr '\\0' 'a'; echo; echo tail",
        )
        .await;
        assert_eq!(out.exit_code, Some(0));
        assert!(out.truncated);
        assert!(out.output.starts_with(&"a".repeat(OUTPUT_LIMIT)));
        assert!(!out.output.contains("tail"));
        let note = &out.output[OUTPUT_LIMIT..];
        assert!(note.contains("output truncated"), "{note}");
        assert!(
            note.contains(&format!("{} more bytes", 1_048_576 + 6 - OUTPUT_LIMIT)),
            "{note}"
        );
        assert!(out.output.len() < OUTPUT_LIMIT + 200);

        let small = run(dir.path(), "printf 'é%.0s' $(seq 40000)").await;
        assert!(small.truncated);
        assert!(
            !small.output.contains('\u{fffd}'),
            "a character was cut in half"
        );
    }

    #[tokio::test]
    async fn removes_the_named_environment_variables() {
        // `set_var` needs `unsafe`, so use a variable this process already has.
        let name = ["CARGO_MANIFEST_DIR", "HOME", "PATH"]
            .into_iter()
            .find(|n| std::env::var_os(n).is_some())
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let probe = format!("printenv {name} >/dev/null && echo visible || echo hidden");
        let kept = run_command(
            dir.path(),
            &probe,
            Duration::from_secs(20),
            no_cancel(),
            &["UNRELATED"],
            None,
        )
        .await
        .unwrap();
        assert_eq!(kept.output, "visible\n");
        let removed = run_command(
            dir.path(),
            &probe,
            Duration::from_secs(20),
            no_cancel(),
            &["UNRELATED", name],
            None,
        )
        .await
        .unwrap();
        assert_eq!(removed.output, "hidden\n", "{name} leaked");
    }

    #[tokio::test]
    async fn timeout_kills_the_whole_process_group() {
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("pids");
        let out = run_command(
            dir.path(),
            &sleepers(&pid_file),
            Duration::from_millis(300),
            no_cancel(),
            &[],
            None,
        )
        .await
        .unwrap();
        assert!(out.timed_out && !out.cancelled);
        assert!(out.duration >= Duration::from_millis(300));
        assert_eq!(out.exit_code, None);
        assert_eq!(out.output, "started\n");
        assert!(
            out.duration < Duration::from_secs(3),
            "took {:?}",
            out.duration
        );
        let pids = read_pids(&pid_file);
        assert_eq!(pids.len(), 2);
        wait_until_dead(&pids).await;
    }

    #[tokio::test]
    async fn cancellation_kills_the_whole_process_group() {
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("pids");
        let (tx, rx) = watch::channel(false);
        let canceller = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            tx.send(true).unwrap();
            tx
        });
        let out = run_command(
            dir.path(),
            &sleepers(&pid_file),
            Duration::from_secs(30),
            rx,
            &[],
            None,
        )
        .await
        .unwrap();
        drop(canceller.await.unwrap());
        assert!(out.cancelled && !out.timed_out);
        assert_eq!(out.exit_code, None);
        assert!(
            out.duration < Duration::from_secs(3),
            "took {:?}",
            out.duration
        );
        let pids = read_pids(&pid_file);
        assert_eq!(pids.len(), 2);
        wait_until_dead(&pids).await;
    }

    #[tokio::test]
    async fn already_cancelled_starts_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let (_tx, rx) = watch::channel(true);
        let out = run_command(
            dir.path(),
            "touch ran",
            Duration::from_secs(5),
            rx,
            &[],
            None,
        )
        .await
        .unwrap();
        assert!(out.cancelled);
        assert!(!dir.path().join("ran").exists());
    }

    #[tokio::test]
    async fn background_jobs_left_behind_are_killed() {
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("pids");
        let command = format!(
            "sleep 30 > /dev/null 2>&1 & echo $! > {}; echo bye",
            pid_file.display()
        );
        let out = run(dir.path(), &command).await;
        assert_eq!(out.exit_code, Some(0));
        assert_eq!(out.output, "bye\n");
        assert!(
            out.duration < Duration::from_secs(3),
            "took {:?}",
            out.duration
        );
        wait_until_dead(&read_pids(&pid_file)).await;

        // Even one still holding the output pipe does not hold up the call.
        let out = run(dir.path(), "sleep 30 & echo bye").await;
        assert_eq!(out.output, "bye\n");
        assert!(
            out.duration < Duration::from_secs(3),
            "took {:?}",
            out.duration
        );
    }

    #[tokio::test]
    async fn dropping_the_future_kills_the_process_group() {
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("pids");
        let command = sleepers(&pid_file);
        let run = run_command(
            dir.path(),
            &command,
            Duration::from_secs(30),
            no_cancel(),
            &[],
            None,
        );
        assert!(
            tokio::time::timeout(Duration::from_millis(300), run)
                .await
                .is_err()
        );
        let pids = read_pids(&pid_file);
        assert_eq!(pids.len(), 2);
        wait_until_dead(&pids).await;
    }
}
