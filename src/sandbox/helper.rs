//! The sandbox helper: handoff's own binary started as
//! `handoff __sandbox <plan> <shell> -c <command>`, which builds the
//! sandbox in two stages and runs the shell in it; see the parent module for
//! why and in what order.
//!
//! Everything here runs in a fresh single-threaded process before tokio or
//! clap start, so it uses plain blocking calls. An error is printed on
//! stderr as `handoff sandbox: …` (the command's output, so the agent and
//! the person see it) with exit code [`FAILED`]; the shell never starts
//! outside the sandbox.

use std::ffi::OsString;
use std::os::unix::process::ExitStatusExt as _;
use std::path::Path;
use std::process::{Command, ExitCode, ExitStatus};

use landlock::{
    ABI, Access as _, AccessFs, LandlockStatus, PathBeneath, PathFd, Ruleset, RulesetAttr as _,
    RulesetCreatedAttr as _, RulesetStatus, Scope,
};
use nix::mount::{MsFlags, mount};
use nix::sched::{CloneFlags, unshare};
use nix::sys::signal::Signal;

use super::HELPER_ARG;
use super::reach::{DEVICES, Plan};

/// The first argument of stage 2.
const INNER_ARG: &str = "__sandbox-inner";

/// Shared memory: private to the sandbox, and writable.
const SHM: &str = "/dev/shm";

/// The exit code when the sandbox could not be built (like `env`'s 125).
pub const FAILED: u8 = 125;

/// The Landlock ABI whose rights handoff asks for: filesystem rights with
/// truncate and device ioctl (ABI 3, 5), signal and abstract-socket
/// scoping (6), connecting to Unix sockets by path (9). Older kernels
/// enforce what they can (best effort) and `doctor` says so; none at all
/// is an error. ABI 7 and 8 add audit-log and thread controls, which a
/// single-threaded helper leaves at the kernel's defaults.
const LANDLOCK_ABI: ABI = ABI::V9;

/// Runs the helper if this process was started as one; `None` otherwise
/// (then `main` goes on as usual).
pub fn helper_main() -> Option<ExitCode> {
    let mut args = std::env::args_os().skip(1);
    let first = args.next()?;
    let rest: Vec<OsString> = args.collect();
    let result = if first == HELPER_ARG {
        outer(&rest)
    } else if first == INNER_ARG {
        inner(&rest)
    } else {
        return None;
    };
    Some(result.unwrap_or_else(|e| {
        eprintln!("handoff sandbox: {e}");
        ExitCode::from(FAILED)
    }))
}

/// The plan (first argument) and the shell's argv (the rest).
fn parse(rest: &[OsString]) -> Result<(Plan, &[OsString]), String> {
    let (plan, argv) = rest.split_first().ok_or("no plan given")?;
    if argv.is_empty() {
        return Err("no command given".into());
    }
    let plan = plan.to_str().ok_or("the plan is not UTF-8")?;
    let plan: Plan = serde_json::from_str(plan).map_err(|e| format!("a bad plan: {e}"))?;
    Ok((plan, argv))
}

/// Stage 1: new namespaces, then stage 2 as PID 1 of the new PID namespace.
fn outer(rest: &[OsString]) -> Result<ExitCode, String> {
    let (plan, _) = parse(rest)?;
    let uid = nix::unistd::getuid().as_raw();
    let gid = nix::unistd::getgid().as_raw();
    let mut flags = CloneFlags::CLONE_NEWUSER | CloneFlags::CLONE_NEWNS | CloneFlags::CLONE_NEWPID;
    if !plan.network {
        flags |= CloneFlags::CLONE_NEWNET;
    }
    unshare(flags).map_err(|e| {
        format!("cannot create user, mount and PID namespaces ({e}); are unprivileged user namespaces off?")
    })?;
    map_ids((0, uid), (0, gid))?;
    let status = Command::new("/proc/self/exe")
        .arg(INNER_ARG)
        .args(rest)
        .status()
        .map_err(|e| format!("cannot start the sandbox's first process: {e}"))?;
    Ok(pass_on(status))
}

/// Exits like `status`: the same code, or dies by the same signal.
fn pass_on(status: ExitStatus) -> ExitCode {
    if let Some(code) = status.code() {
        return ExitCode::from(u8::try_from(code).unwrap_or(FAILED));
    }
    if let Some(signal) = status.signal().and_then(|s| Signal::try_from(s).ok()) {
        let _ = nix::sys::signal::kill(nix::unistd::getpid(), signal);
        let _ = nix::sys::signal::kill(nix::unistd::getpid(), Signal::SIGKILL);
    }
    ExitCode::from(FAILED)
}

/// Maps user `users.0` inside to `users.1` outside (and the same for
/// groups) in the user namespace this process just entered.
fn map_ids(users: (u32, u32), groups: (u32, u32)) -> Result<(), String> {
    let write = |file: &str, text: String| {
        std::fs::write(file, text).map_err(|e| format!("cannot write {file}: {e}"))
    };
    // Only an unprivileged mapping of our own ids is wanted; `deny` is what
    // the kernel requires before writing gid_map without CAP_SETGID (and
    // already set, unchangeable, in a nested namespace).
    match std::fs::write("/proc/self/setgroups", "deny") {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {}
        Err(e) => return Err(format!("cannot write /proc/self/setgroups: {e}")),
    }
    write("/proc/self/uid_map", format!("{} {} 1", users.0, users.1))?;
    write("/proc/self/gid_map", format!("{} {} 1", groups.0, groups.1))
}

/// The id that `inside` (0 here) maps to in the parent user namespace, read
/// from `/proc/self/uid_map` or `gid_map`.
fn outside_id(file: &str) -> Result<u32, String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("cannot read {file}: {e}"))?;
    text.split_whitespace()
        .nth(1)
        .and_then(|id| id.parse().ok())
        .ok_or_else(|| format!("cannot read {file}: {text:?}"))
}

/// Stage 2, PID 1 of the sandbox: its own `/proc`, the real user back,
/// Landlock, then the shell as its child (not `exec`ed: PID 1 ignores
/// signals it has no handler for, and a shell should not), whose status
/// it passes on.
fn inner(rest: &[OsString]) -> Result<ExitCode, String> {
    // Never on the host's mounts: this stage runs only as PID 1 of the
    // namespace stage 1 made.
    if nix::unistd::getpid().as_raw() != 1 {
        return Err("the inner stage runs only inside a new PID namespace".into());
    }
    // If stage 1 is killed (a timeout or cancel kills the process group),
    // this process dies, and with PID 1 the kernel kills the namespace.
    nix::sys::prctl::set_pdeathsig(Signal::SIGKILL)
        .map_err(|e| format!("cannot ask for the parent-death signal: {e}"))?;
    let (plan, shell) = parse(rest)?;
    let none = None::<&str>;
    mount(none, "/", none, MsFlags::MS_REC | MsFlags::MS_PRIVATE, none)
        .map_err(|e| format!("cannot make mounts private: {e}"))?;
    mount(
        Some("proc"),
        "/proc",
        Some("proc"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        none,
    )
    .map_err(|e| format!("cannot mount the sandbox's own /proc: {e}"))?;
    if !plan.network {
        super::loopback::up()?;
    }
    let uid = outside_id("/proc/self/uid_map")?;
    let gid = outside_id("/proc/self/gid_map")?;
    hide_sockets(plan.network, uid)?;
    unshare(CloneFlags::CLONE_NEWUSER)
        .map_err(|e| format!("cannot create the inner user namespace: {e}"))?;
    map_ids((uid, 0), (gid, 0))?;
    let enforced = confine(&plan)?;
    if std::env::var_os(super::PROBE_ENV).is_some() {
        eprintln!("{enforced}");
    }
    let (program, args) = shell.split_first().ok_or("no command given")?;
    let status = match Command::new(program).args(args).status() {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && program == "bash" => {
            Command::new("sh").args(args).status()
        }
        other => other,
    }
    .map_err(|e| format!("cannot run {}: {e}", program.to_string_lossy()))?;
    // PID 1 cannot die by its own signal: say it as a shell would.
    Ok(match (status.code(), status.signal()) {
        (Some(code), _) => ExitCode::from(u8::try_from(code).unwrap_or(FAILED)),
        (None, Some(signal)) => ExitCode::from(u8::try_from(128 + signal).unwrap_or(FAILED)),
        (None, None) => ExitCode::from(FAILED),
    })
}

/// Covers the usual places of Unix sockets that would let a command act
/// outside the sandbox: the user's runtime folder (the session bus, agents,
/// Wayland), the system bus, container engines, X11 and tmux. Landlock only
/// governs connecting to a socket by path from ABI 9 on, so on older
/// kernels a socket is reachable where it is not covered and its path is
/// known; the variables that name such paths are removed from the
/// command's environment (`HIDDEN_ENV`) besides.
fn hide_sockets(network: bool, uid: u32) -> Result<(), String> {
    let none = None::<&str>;
    let cover = |dir: &str| {
        // A symlink (`/var/run` → `/run`) is covered where it points.
        if !std::fs::symlink_metadata(dir).is_ok_and(|m| m.is_dir()) {
            return Ok(());
        }
        mount(
            Some("tmpfs"),
            dir,
            Some("tmpfs"),
            MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
            Some("size=64k,mode=755"),
        )
        .map_err(|e| format!("cannot cover {dir}: {e}"))
    };
    // With the network, /run keeps what name resolution may need.
    let folders: &[&str] = if network {
        &[
            "/run/user",
            "/run/dbus",
            "/run/docker",
            "/run/podman",
            "/run/containerd",
        ]
    } else {
        &["/run", "/var/run"]
    };
    for dir in folders {
        cover(dir)?;
    }
    for dir in [
        "/tmp/.X11-unix",
        "/tmp/.ICE-unix",
        &format!("/tmp/tmux-{uid}"),
    ] {
        cover(dir)?;
    }
    // A private, writable /dev/shm (Python's multiprocessing locks live
    // there), not the host's with other programs' shared memory.
    if Path::new(SHM).is_dir() {
        mount(
            Some("tmpfs"),
            SHM,
            Some("tmpfs"),
            MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
            Some("mode=1777"),
        )
        .map_err(|e| format!("cannot make a private {SHM}: {e}"))?;
    }
    for socket in ["/run/docker.sock", "/var/run/docker.sock"] {
        let is_socket = std::fs::symlink_metadata(socket).is_ok_and(|m| !m.is_dir());
        if network && is_socket {
            mount(Some("/dev/null"), socket, none, MsFlags::MS_BIND, none)
                .map_err(|e| format!("cannot cover {socket}: {e}"))?;
        }
    }
    Ok(())
}

/// Restricts this process and what it runs with Landlock; see [`Plan`].
/// Says how well the kernel enforces it.
fn confine(plan: &Plan) -> Result<String, String> {
    let abi = LANDLOCK_ABI;
    let fail = |e: landlock::RulesetError| format!("cannot build the Landlock rules: {e}");
    let mut ruleset = Ruleset::default()
        .handle_access(AccessFs::from_all(abi))
        .and_then(|r| r.scope(Scope::from_all(abi)))
        .and_then(Ruleset::create)
        .map_err(fail)?;
    let rules = plan
        .read
        .iter()
        .map(|p| (p.as_path(), AccessFs::from_read(abi)))
        .chain(
            plan.write
                .iter()
                .map(|p| (p.as_path(), AccessFs::from_all(abi))),
        )
        .chain(
            [plan.tmp.as_path(), Path::new(SHM)]
                .into_iter()
                .chain(plan.cache.as_deref())
                .map(|p| (p, AccessFs::from_all(abi))),
        )
        .chain(
            DEVICES
                .iter()
                .map(|p| (Path::new(p), AccessFs::from_file(abi))),
        );
    for (path, access) in rules {
        // A folder that does not exist here is simply not granted.
        let Ok(fd) = PathFd::new(path) else { continue };
        let access = if path.is_dir() {
            access
        } else {
            access & AccessFs::from_file(abi)
        };
        ruleset = ruleset
            .add_rule(PathBeneath::new(fd, access))
            .map_err(fail)?;
    }
    let status = ruleset.restrict_self().map_err(fail)?;
    let abi = match status.landlock {
        LandlockStatus::Available {
            effective_abi,
            kernel_abi,
        } => kernel_abi.map_or_else(|| format!("{effective_abi:?}"), |v| format!("V{v}")),
        LandlockStatus::NotEnabled | LandlockStatus::NotImplemented => "none".into(),
    };
    match status.ruleset {
        RulesetStatus::FullyEnforced => Ok(format!("Landlock ABI {abi}, fully enforced")),
        RulesetStatus::PartiallyEnforced => Ok(format!(
            "Landlock ABI {abi}, without the newer rights (before ABI 9 a Unix socket outside the covered places is reachable if its path is known)"
        )),
        RulesetStatus::NotEnforced => Err("this kernel does not enforce Landlock".into()),
    }
}
