//! The kernel sandbox every agent command runs in (Linux).
//!
//! This module owns what a sandboxed command may reach ([`Reach`], from
//! skills.toml), how that becomes concrete paths for one run ([`Plan`]),
//! the helper process that builds the sandbox ([`helper_main`], in
//! `helper.rs`) and the check that the kernel can build it ([`probe`]).
//!
//! Why a helper process and not `pre_exec`: the crate forbids `unsafe`, and
//! `pre_exec` is unsafe for good reason (only async-signal-safe work after
//! `fork` in a multi-threaded tokio process; `unshare(CLONE_NEWUSER)` even
//! refuses a threaded caller). So `tools::command` starts handoff's own
//! binary (`/proc/self/exe`, which survives a rebuild) as
//! `handoff __sandbox <plan as JSON> <shell> -c <command>`, and `main`
//! hands that to [`helper_main`] before anything else runs: a fresh,
//! single-threaded process where every step is an ordinary safe call.
//!
//! The helper works in two stages (bubblewrap and Codex's linux-sandbox do
//! the same dance):
//! 1. *outer*: `unshare` a new user, mount, PID and (unless the plan allows
//!    the network) network namespace; map itself to root of the new user
//!    namespace; start stage 2 and pass on its exit status. It stays in the
//!    command's process group, so `tools::command`'s group kill still
//!    reaches everything.
//! 2. *inner*, PID 1 of the new PID namespace: asks for `SIGKILL` if stage 1
//!    dies (the kernel then kills everything in the namespace), makes every
//!    mount private and mounts a fresh `/proc` that shows only the
//!    sandbox's own processes (so `/proc/$PPID/environ` is this helper's,
//!    not handoff's, and holds no key); brings up the loopback interface of
//!    its own network namespace (tests that serve on `127.0.0.1` work;
//!    nothing outside is reachable); covers the places of sockets that act
//!    outside (`/run`, tmux's and X11's folders) with empty tmpfs mounts and
//!    gives itself a private `/dev/shm`; enters a second user namespace that
//!    maps the real user back (tools see their own uid, not root); restricts
//!    itself with Landlock (write: the workspace, a private temp folder and
//!    the session's build cache; read: those, toolchains and system
//!    folders; no signals or abstract sockets out of the sandbox); then runs
//!    the shell. A Landlock ruleset the kernel does not enforce at all is an
//!    error, never a silent run without it. The shell is its child, whose
//!    status it exits with (`128 + n` if signal `n` killed it); not `exec`:
//!    PID 1 ignores every signal it has no handler for, which a shell and
//!    the programs it `exec`s do not expect.
//!
//! Failing closed when the kernel cannot do this is the engine's job: it
//! asks [`probe`] once and raises every command to `ask`.

mod helper;
mod loopback;
mod reach;

pub use helper::helper_main;
pub use reach::{Plan, Reach};

use std::path::Path;
use std::process::Stdio;

/// The first argument that makes `handoff` a sandbox helper (not part of
/// the command-line contract).
pub const HELPER_ARG: &str = "__sandbox";

/// Set for [`probe`]'s run: the helper then says on stderr how well
/// Landlock is enforced.
const PROBE_ENV: &str = "HANDOFF_SANDBOX_PROBE";

/// Variables that name sockets or displays outside the sandbox (agents,
/// buses, terminals, multiplexers); removed from a sandboxed command's
/// environment.
pub const HIDDEN_ENV: &[&str] = &[
    "SSH_AUTH_SOCK",
    "SSH_AGENT_PID",
    "GPG_AGENT_INFO",
    "DBUS_SESSION_BUS_ADDRESS",
    "DBUS_SYSTEM_BUS_ADDRESS",
    "DISPLAY",
    "WAYLAND_DISPLAY",
    "XAUTHORITY",
    "XDG_RUNTIME_DIR",
    "TMUX",
    "TMUX_PANE",
    "STY",
    "SWAYSOCK",
    "I3SOCK",
    "KITTY_LISTEN_ON",
    "DOCKER_HOST",
];

/// The name of the setting in config.toml that lets commands run without a
/// sandbox where the kernel cannot build one.
pub const OPT_OUT_SETTING: &str = "allow_unsandboxed_commands";

/// Where and how to start the helper: the binary that answers
/// [`HELPER_ARG`] (normally `/proc/self/exe`) and the plan for this run.
#[derive(Clone, Debug)]
pub struct Jail {
    pub helper: std::path::PathBuf,
    pub plan: Plan,
}

impl Jail {
    /// The program and arguments that run `shell -c command` in the sandbox.
    ///
    /// # Errors
    /// Fails only if the plan cannot be written as JSON (it always can).
    pub fn command_line(&self, shell: &str, command: &str) -> serde_json::Result<Vec<String>> {
        Ok(vec![
            HELPER_ARG.to_string(),
            serde_json::to_string(&self.plan)?,
            shell.to_string(),
            "-c".to_string(),
            command.to_string(),
        ])
    }
}

/// Whether the sandbox works here: runs a check in it with a default plan
/// for `workspace` (its PID namespace shows only itself). `Ok` says how
/// well Landlock is enforced, `Err` why there is no sandbox, in words for
/// `doctor` and the status bar.
pub fn probe(helper: &Path, workspace: &Path) -> Result<String, String> {
    let tmp = tempfile::Builder::new()
        .prefix("handoff-probe-")
        .tempdir()
        .map_err(|e| format!("cannot make a temp folder: {e}"))?;
    let plan = Plan::new(&Reach::default(), workspace).with_tmp(tmp.path());
    let jail = Jail {
        helper: helper.to_path_buf(),
        plan,
    };
    let args = jail
        // The shell is PID 2, its parent the helper, and nothing else is
        // there (`test` is built in: no process of its own).
        .command_line(
            "sh",
            "test \"$PPID\" = 1 && test -d /proc/2 && ! test -d /proc/3",
        )
        .map_err(|e| e.to_string())?;
    let out = std::process::Command::new(helper)
        .args(&args)
        .current_dir(workspace)
        .env(PROBE_ENV, "1")
        .env("TMPDIR", tmp.path())
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot start the sandbox helper: {e}"))?;
    let said = String::from_utf8_lossy(&out.stderr);
    if out.status.success() {
        return Ok(said.trim().to_string());
    }
    let said = said.trim().trim_start_matches("handoff sandbox: ");
    Err(if said.is_empty() {
        format!("the sandbox check failed ({})", out.status)
    } else {
        said.to_string()
    })
}

/// How a session's commands run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Sandboxing {
    /// In the sandbox, through `helper` (normally `/proc/self/exe`);
    /// `enforced` says how well the kernel enforces Landlock.
    On {
        helper: std::path::PathBuf,
        enforced: String,
    },
    /// The kernel cannot build the sandbox (`reason`): every command asks
    /// a person first, whatever the policy says.
    Unavailable { reason: String },
    /// The kernel cannot build the sandbox (`reason`) and config.toml's
    /// [`OPT_OUT_SETTING`] lets commands run without it, as the policy says.
    OptedOut { reason: String },
}

impl Sandboxing {
    /// Checks the kernel with [`probe`] (handoff's own binary as the
    /// helper) and decides; `allow_unsandboxed` is config.toml's
    /// [`OPT_OUT_SETTING`].
    pub fn detect(workspace: &Path, allow_unsandboxed: bool) -> Self {
        let helper = std::path::PathBuf::from("/proc/self/exe");
        match probe(&helper, workspace) {
            Ok(enforced) => Self::On { helper, enforced },
            Err(reason) if allow_unsandboxed => Self::OptedOut { reason },
            Err(reason) => Self::Unavailable { reason },
        }
    }

    /// A line for the status bar and notices when commands are not
    /// sandboxed; `None` when they are.
    pub fn warning(&self) -> Option<String> {
        match self {
            Self::On { .. } => None,
            Self::Unavailable { reason } => Some(format!(
                "no sandbox for commands ({reason}): every command asks first"
            )),
            Self::OptedOut { reason } => Some(format!(
                "no sandbox for commands ({reason}): running them unconfined ({OPT_OUT_SETTING} = true)"
            )),
        }
    }
}
