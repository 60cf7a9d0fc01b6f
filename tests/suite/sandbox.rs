//! The command sandbox, through the real binary: a scripted model (the
//! test server) has the developer run allowed commands that try to write
//! outside the workspace, read a planted `~/.ssh/id_rsa` and handoff's
//! environment (`/proc/$PPID/environ`, which holds the API key), reach a
//! loopback listener the test opens, and kill handoff. All of it fails,
//! handoff finishes the session, and a small Rust project's `cargo test`
//! (one of its tests serves on loopback) still passes in the same sandbox. Without a sandbox (handoff run inside
//! the helper, where the kernel refuses a second one) an allowed command
//! asks, unless config.toml opts out. And `run_command`'s promises hold in
//! the sandbox: a timeout, a cancel or the shell's exit ends everything it
//! started, jobs that left the process group with `setsid` included.
//!
//! Where the kernel cannot build the sandbox these tests fail, saying why
//! (`doctor`'s reason): they never pass by not running. On a machine known
//! to lack the support, `HANDOFF_TEST_SKIP_WITHOUT_SANDBOX=1` makes them
//! print that they were skipped, and why, instead.

use crate::common;

use std::net::TcpListener;
use std::path::Path;
use std::process::Output;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use common::server::{TestServer, answer, role_of, tool_turn, well_behaved};
use common::{REQUEST, Sandbox, events, stderr, stdout};
use serde_json::Value;

const KEY: &str = "sk-SANDBOX-5e1b7d90c3a2f468";
const PRIVATE_KEY: &str = "-----BEGIN OPENSSH PRIVATE KEY----- planted-7c41";

/// Set on a machine known to lack the kernel support: the tests that need
/// a sandbox then say they are skipped, and why, instead of failing.
const SKIP_WITHOUT_SANDBOX: &str = "HANDOFF_TEST_SKIP_WITHOUT_SANDBOX";

/// Whether the sandbox works here. If not, fails the test with `doctor`'s
/// reason, or (with [`SKIP_WITHOUT_SANDBOX`] set) says the test is
/// skipped and returns `false`.
fn require_sandbox(sandbox: &Sandbox) -> bool {
    let out = sandbox.run(&["doctor", "--provider", "offline"]);
    let said = stdout(&out);
    if said.contains("sandbox   ✓") {
        return true;
    }
    let why = format!(
        "the kernel here cannot build the command sandbox, so this test cannot show it works:\n{said}{}",
        stderr(&out)
    );
    assert!(std::env::var_os(SKIP_WITHOUT_SANDBOX).is_some(), "{why}");
    eprintln!("SKIPPED ({SKIP_WITHOUT_SANDBOX} is set): {why}");
    false
}

/// Runs a session whose developer makes one tool call per `(id, command)`
/// (all allowed with `--allow 'sh *'`), with the key in handoff's
/// environment and `extra_env` besides. `HANDOFF_PID` in a command becomes
/// handoff's process id.
fn session(
    sandbox: &Sandbox,
    repo: &Path,
    calls: &[(&str, String)],
    extra_env: &[(&str, String)],
) -> Output {
    let handoff_pid = Arc::new(AtomicU32::new(0));
    let args: Vec<(String, String)> = calls
        .iter()
        .map(|(id, command)| {
            let args = serde_json::json!({ "command": command, "timeout_s": 300 });
            ((*id).to_owned(), args.to_string())
        })
        .collect();
    let pid = handoff_pid.clone();
    let server = TestServer::start(move |_, request| {
        let role = role_of(request);
        if role == "Senior Backend Developer" && !request.has_tool_result() {
            let pid = pid.load(Ordering::SeqCst).to_string();
            let args: Vec<(&str, String)> = args
                .iter()
                .map(|(id, a)| (id.as_str(), a.replace("HANDOFF_PID", &pid)))
                .collect();
            let calls: Vec<(&str, &str, &str)> = args
                .iter()
                .map(|(id, a)| (*id, "run_command", a.as_str()))
                .collect();
            return tool_turn(&calls);
        }
        answer(&well_behaved(&role), 10, 5)
    });
    let mut cmd = sandbox.command();
    cmd.env("OPENAI_API_KEY", KEY)
        .args(["run", "--headless", "--approve", "all", "--allow", "sh *"])
        .args(["--workspace", repo.to_str().expect("path")])
        .args(["--base-url", &server.base_url, "--model", "m", REQUEST])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    for (name, value) in extra_env {
        cmd.env(name, value);
    }
    let child = cmd.spawn().expect("start handoff");
    handoff_pid.store(child.id(), Ordering::SeqCst);
    child.wait_with_output().expect("wait for handoff")
}

/// The output of the first result of call `id` (a plan task's calls are
/// logged as `t<task>-<id>`).
fn result_of(log: &[Value], id: &str) -> String {
    let suffix = format!("-{id}");
    let found = log
        .iter()
        .find(|e| {
            e["kind"] == "tool_result"
                && e["call_id"]
                    .as_str()
                    .is_some_and(|c| c == id || c.ends_with(&suffix))
        })
        .expect("every call has a result");
    found["output"].as_str().expect("output").to_owned()
}

/// Writes `script` to `<repo>/checks/<name>.sh`, committed, and returns
/// the command that runs it.
fn script(repo: &Path, name: &str, script: &str) -> String {
    let dir = repo.join("checks");
    std::fs::create_dir_all(&dir).expect("checks folder");
    std::fs::write(dir.join(format!("{name}.sh")), script).expect("script");
    format!("sh checks/{name}.sh")
}

/// The escape attempts, one script each in `<repo>/checks/`: write outside
/// the workspace, read `~/.ssh/id_rsa`, read handoff's environment, reach
/// the test's listener on `port`, find the agent socket and the host's
/// `/run`, kill handoff (`HANDOFF_PID`).
fn escapes(repo: &Path, home: &Path, outside: &Path, port: u16) -> Vec<(&'static str, String)> {
    let o = outside.display();
    let h = home.display();
    let calls = [
        (
            "write",
            script(
                repo,
                "write",
                &format!(
                    "echo planted > {o}/planted; echo planted > {h}/planted; echo planted > /tmp/handoff-sandbox-planted-{port}; echo RAN\n"
                ),
            ),
        ),
        (
            "ssh",
            script(
                repo,
                "ssh",
                "cat \"$HOME/.ssh/id_rsa\"; cp \"$HOME/.ssh/id_rsa\" stolen; echo RAN\n",
            ),
        ),
        (
            "environ",
            script(
                repo,
                "environ",
                "echo parent=$PPID; cat /proc/$PPID/environ; for p in /proc/[0-9]*; do cat $p/environ; done; \
                 echo processes=$(ls -d /proc/[0-9]* | wc -l); echo RAN\n",
            ),
        ),
        (
            "network",
            script(
                repo,
                "network",
                &format!(
                    "if (exec 3<>/dev/tcp/127.0.0.1/{port}) 2>/dev/null; then echo CONNECTED; fi; echo RAN\n"
                ),
            ),
        ),
        (
            "sockets",
            script(
                repo,
                "sockets",
                &format!(
                    "echo agent=[$SSH_AUTH_SOCK]; grep ' /run tmpfs' /proc/self/mounts; \
                     touch /dev/shm/handoff-sandbox-{port} && echo SHM; echo RAN\n"
                ),
            ),
        ),
        // The pid is read when the call is made, so it is handoff's.
        (
            "kill",
            script(
                repo,
                "kill",
                "kill -9 \"$1\"; kill -9 $PPID; kill -KILL -1; echo RAN\n",
            ),
        ),
    ];
    calls
        .into_iter()
        .map(|(id, cmd)| match id {
            "kill" => (id, format!("{cmd} HANDOFF_PID")),
            _ => (id, cmd),
        })
        .collect()
}

#[test]
fn an_allowed_command_cannot_escape_the_sandbox() {
    let sandbox = Sandbox::new();
    if !require_sandbox(&sandbox) {
        return;
    }
    let repo = common::repository(sandbox.dir.path());
    let home = sandbox.dir.path();
    std::fs::create_dir_all(home.join(".ssh")).expect(".ssh");
    std::fs::write(home.join(".ssh/id_rsa"), PRIVATE_KEY).expect("id_rsa");
    let outside = home.join("outside");
    std::fs::create_dir_all(&outside).expect("outside");
    let listener = TcpListener::bind("127.0.0.1:0").expect("listen");
    listener.set_nonblocking(true).expect("nonblocking");
    let port = listener.local_addr().expect("address").port();

    let calls = escapes(&repo, home, &outside, port);
    common::git(&repo, &["add", "checks"]);
    common::git(&repo, &["commit", "-q", "-m", "checks"]);
    let agent = home.join("agent.sock");
    let _agent = std::os::unix::net::UnixListener::bind(&agent).expect("an agent socket");
    let env = [("SSH_AUTH_SOCK", agent.display().to_string())];
    let out = session(&sandbox, &repo, &calls, &env);

    assert_eq!(
        out.status.code(),
        Some(0),
        "handoff survived and finished: {}",
        stderr(&out)
    );
    let log = events(&sandbox.log());
    let ran = |id: &str| {
        let output = result_of(&log, id);
        assert!(
            output.contains("RAN"),
            "call {id} ran in the sandbox: {output}"
        );
        output
    };
    let write = ran("write");
    assert!(
        !outside.join("planted").exists(),
        "wrote outside the workspace: {write}"
    );
    assert!(!home.join("planted").exists(), "wrote into home: {write}");
    assert!(
        !Path::new(&format!("/tmp/handoff-sandbox-planted-{port}")).exists(),
        "{write}"
    );
    let ssh = ran("ssh");
    assert!(!ssh.contains("planted-7c41"), "read ~/.ssh/id_rsa: {ssh}");
    assert!(!repo.join("stolen").exists(), "copied ~/.ssh/id_rsa");
    let environ = ran("environ");
    assert!(
        !environ.contains(KEY),
        "read handoff's environment: {environ}"
    );
    // Its parent is the sandbox's first process, and it sees a handful of
    // processes (that one, the shell, `ls`, `wc`), not the machine's.
    assert!(environ.contains("parent=1"), "{environ}");
    let seen: usize = environ
        .split("processes=")
        .nth(1)
        .and_then(|rest| rest.lines().next())
        .and_then(|n| n.trim().parse().ok())
        .expect("a process count");
    assert!(seen <= 6, "it sees {seen} processes: {environ}");
    let network = ran("network");
    assert!(
        !network.contains("CONNECTED"),
        "reached the network: {network}"
    );
    assert!(
        listener.accept().is_err(),
        "a connection reached the listener"
    );
    // Sockets that act outside: not named, and /run is covered.
    let sockets = ran("sockets");
    assert!(sockets.contains("agent=[]"), "{sockets}");
    assert!(sockets.contains(" /run tmpfs"), "{sockets}");
    // Its /dev/shm is writable and its own.
    assert!(sockets.contains("SHM"), "{sockets}");
    let shm = format!("/dev/shm/handoff-sandbox-{port}");
    assert!(!Path::new(&shm).exists(), "wrote the host's /dev/shm");
    // handoff finished (above); the kills did not reach it.
    let killed = ran("kill");
    assert!(!killed.contains("Killed"), "{killed}");
}

#[test]
fn cargo_test_of_a_small_project_passes_in_the_sandbox() {
    let sandbox = Sandbox::new();
    if !require_sandbox(&sandbox) {
        return;
    }
    let repo = common::repository(sandbox.dir.path());
    let tiny = repo.join("tiny");
    std::fs::create_dir_all(tiny.join("src")).expect("tiny");
    std::fs::write(
        tiny.join("Cargo.toml"),
        "[package]\nname = \"tiny\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    )
    .expect("Cargo.toml");
    std::fs::write(
        tiny.join("src/lib.rs"),
        "pub fn add(a: u32, b: u32) -> u32 { a + b }\n\n#[test]\nfn adds() { assert_eq!(add(2, 2), 4); }\n\n\
         // A test that serves on loopback, as Go's httptest does.\n\
         #[test]\nfn serves_on_loopback() {\n\
         let server = std::net::TcpListener::bind(\"127.0.0.1:0\").unwrap();\n\
         std::net::TcpStream::connect(server.local_addr().unwrap()).unwrap();\n}\n",
    )
    .expect("lib.rs");
    let cargo = script(
        &repo,
        "cargo",
        "cd tiny && cargo test --offline 2>&1; echo EXIT=$?\n",
    );
    let go = script(
        &repo,
        "go",
        "if ! command -v go >/dev/null; then echo 'NO GO'; exit 0; fi\n\
         mkdir -p gomod && cd gomod && printf 'module tiny\\n\\ngo 1.21\\n' > go.mod && \\\n\
         printf 'package tiny\\nimport \"testing\"\\nfunc TestAdd(t *testing.T) { if 2+2 != 4 { t.Fatal() } }\\n' > tiny_test.go && \\\n\
         go test ./... 2>&1; echo EXIT=$?\n",
    );
    common::git(&repo, &["add", "."]);
    common::git(&repo, &["commit", "-q", "-m", "a tiny project"]);
    // The real toolchain: the test's home is a temp folder.
    let real_home = std::env::var("HOME").unwrap_or_default();
    let toolchain = |var: &str, under: &str| {
        std::env::var(var).unwrap_or_else(|_| format!("{real_home}/{under}"))
    };
    let env = [
        ("CARGO_HOME", toolchain("CARGO_HOME", ".cargo")),
        ("RUSTUP_HOME", toolchain("RUSTUP_HOME", ".rustup")),
    ];
    // Build caches outlive a command (not the session): one writes, the
    // next reads.
    let cache_write = script(
        &repo,
        "cache_write",
        "mkdir -p \"$XDG_CACHE_HOME\" && echo kept > \"$XDG_CACHE_HOME/mark\"; echo RAN\n",
    );
    let cache_read = script(
        &repo,
        "cache_read",
        "echo cache=$(cat \"$XDG_CACHE_HOME/mark\") at=$GOCACHE\n",
    );
    common::git(&repo, &["add", "."]);
    common::git(&repo, &["commit", "-q", "-m", "cache checks"]);
    let calls = [
        ("cargo", cargo),
        ("go", go),
        ("cache_write", cache_write),
        ("cache_read", cache_read),
    ];
    let out = session(&sandbox, &repo, &calls, &env);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let log = events(&sandbox.log());
    let cargo = result_of(&log, "cargo");
    assert!(
        cargo.contains("test result: ok. 2 passed") && cargo.contains("EXIT=0"),
        "{cargo}"
    );
    let go = result_of(&log, "go");
    if go.contains("NO GO") {
        eprintln!("go is not installed here: the Go half of this test did not run");
    } else {
        assert!(go.contains("EXIT=0"), "{go}");
    }
    let cache = result_of(&log, "cache_read");
    assert!(cache.contains("cache=kept"), "{cache}");
    let at = cache.split("at=").nth(1).expect("GOCACHE").trim();
    assert!(
        !at.starts_with(&*sandbox.dir.path().to_string_lossy()),
        "not in home: {at}"
    );
    assert!(!Path::new(at).exists(), "removed with the session: {at}");
}

/// `handoff <args>` run *inside* the sandbox helper, with `repo` as the
/// helper's workspace: there the kernel refuses what a second sandbox
/// needs (Landlock forbids writing `/proc` and mounting), exactly as a
/// kernel without support would.
fn inside_a_sandbox(sandbox: &Sandbox, repo: &Path, args: &[&str]) -> Output {
    let tmp = sandbox.dir.path().join("tmp");
    std::fs::create_dir_all(&tmp).expect("tmp");
    let bin = Path::new(env!("CARGO_BIN_EXE_handoff"));
    let reach = handoff::sandbox::Reach {
        network: true,
        read: vec![bin.parent().expect("bin dir").display().to_string()],
        write: vec![sandbox.dir.path().display().to_string()],
    };
    let plan = handoff::sandbox::Plan::new(&reach, repo).with_tmp(&tmp);
    sandbox
        .bare_command()
        .current_dir(repo)
        .env("TMPDIR", &tmp)
        .arg(handoff::sandbox::HELPER_ARG)
        .arg(serde_json::to_string(&plan).expect("plan"))
        .arg(bin)
        .arg("--sessions")
        .arg(sandbox.sessions())
        .args(args)
        .output()
        .expect("run handoff")
}

/// A session run where the sandbox cannot be built ([`inside_a_sandbox`]):
/// the developer runs `echo sandbox-marker`, which the default policy
/// allows.
fn session_without_sandbox(sandbox: &Sandbox, config: &str) -> Vec<Value> {
    sandbox.config(config);
    let repo = common::repository(sandbox.dir.path());
    let server = TestServer::start(|_, request| {
        let role = role_of(request);
        if role == "Senior Backend Developer" && !request.has_tool_result() {
            return tool_turn(&[(
                "echo",
                "run_command",
                r#"{"command":"echo sandbox-marker"}"#,
            )]);
        }
        answer(&well_behaved(&role), 10, 5)
    });
    let out = inside_a_sandbox(
        sandbox,
        &repo,
        &[
            "run",
            "--headless",
            "--approve",
            "all",
            "--workspace",
            repo.to_str().expect("path"),
            "--base-url",
            &server.base_url,
            "--model",
            "m",
            REQUEST,
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no sandbox for commands"),
        "the missing sandbox is said: {}",
        stderr(&out)
    );
    events(&sandbox.log())
}

#[test]
fn doctor_says_when_there_is_no_sandbox() {
    let sandbox = Sandbox::new();
    let repo = common::repository(sandbox.dir.path());
    let out = inside_a_sandbox(&sandbox, &repo, &["doctor", "--provider", "offline"]);
    let said = stdout(&out);
    assert!(said.contains("sandbox   ✗"), "{said}");
    assert!(said.contains("every command asks first"), "{said}");
    sandbox.config("allow_unsandboxed_commands = true\n");
    let said = stdout(&inside_a_sandbox(
        &sandbox,
        &repo,
        &["doctor", "--provider", "offline"],
    ));
    assert!(said.contains("commands run unconfined"), "{said}");
}

#[test]
fn without_a_sandbox_every_command_asks() {
    let sandbox = Sandbox::new();
    let log = session_without_sandbox(&sandbox, "");
    let asked = log
        .iter()
        .find(|e| e["kind"] == "permission_asked")
        .expect("the allowed command was asked about");
    let reason = asked["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("no sandbox"), "{asked}");
    let output = result_of(&log, "echo");
    assert!(!output.contains("sandbox-marker"), "it ran: {output}");
}

#[test]
fn the_opt_out_runs_commands_unconfined() {
    let sandbox = Sandbox::new();
    let log = session_without_sandbox(&sandbox, "allow_unsandboxed_commands = true\n");
    assert!(
        log.iter().all(|e| e["kind"] != "permission_asked"),
        "nothing was asked"
    );
    let output = result_of(&log, "echo");
    assert!(output.contains("sandbox-marker"), "it ran: {output}");
}

/// Runs `command` in the sandbox the way the engine does, in `root`.
async fn run_jailed(
    root: &Path,
    command: &str,
    timeout: std::time::Duration,
    cancel: tokio::sync::watch::Receiver<bool>,
) -> handoff::tools::command::CommandOutput {
    let jail = handoff::sandbox::Jail {
        helper: env!("CARGO_BIN_EXE_handoff").into(),
        plan: handoff::sandbox::Plan::new(&handoff::sandbox::Reach::default(), root),
    };
    handoff::tools::command::run_command(root, command, timeout, cancel, &[], Some(&jail))
        .await
        .expect("run the command")
}

/// Whether `file` still grows: something left behind is still writing.
async fn still_growing(file: &Path) -> bool {
    let size = || std::fs::metadata(file).map_or(0, |m| m.len());
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let before = size();
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    size() != before
}

/// Two writers left behind: a background job and one in its own session.
const WRITERS: &str = "(while :; do echo x >> beat; sleep 0.05; done) & \
     setsid sh -c 'while :; do echo y >> beat2; sleep 0.05; done' >/dev/null 2>&1 &";

#[tokio::test]
async fn a_timeout_or_cancel_kills_everything_in_the_sandbox() {
    if !require_sandbox(&Sandbox::new()) {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let (_keep, cancel) = tokio::sync::watch::channel(false);
    let timed = run_jailed(
        root,
        &format!("{WRITERS} sleep 60"),
        std::time::Duration::from_secs(1),
        cancel,
    )
    .await;
    assert!(timed.timed_out, "{timed:?}");
    assert!(
        root.join("beat").exists() && root.join("beat2").exists(),
        "the writers ran"
    );
    assert!(
        !still_growing(&root.join("beat")).await,
        "a background job survived"
    );
    assert!(
        !still_growing(&root.join("beat2")).await,
        "a setsid job survived"
    );

    let (cancel_tx, cancel) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_millis(700)).await;
        let _ = cancel_tx.send(true);
        tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    });
    std::fs::remove_file(root.join("beat2")).expect("reset");
    let cancelled = run_jailed(
        root,
        &format!("{WRITERS} sleep 60"),
        std::time::Duration::from_secs(60),
        cancel,
    )
    .await;
    assert!(cancelled.cancelled, "{cancelled:?}");
    assert!(
        !still_growing(&root.join("beat2")).await,
        "a setsid job survived"
    );
}

#[tokio::test]
async fn a_command_that_exits_leaves_nothing_running_in_the_sandbox() {
    if !require_sandbox(&Sandbox::new()) {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let (_keep, cancel) = tokio::sync::watch::channel(false);
    let out = run_jailed(
        root,
        &format!("{WRITERS} until [ -s beat ] && [ -s beat2 ]; do sleep 0.02; done; echo started"),
        std::time::Duration::from_secs(30),
        cancel,
    )
    .await;
    assert_eq!(out.exit_code, Some(0), "{out:?}");
    assert!(out.output.contains("started"), "{out:?}");
    assert!(
        out.duration < std::time::Duration::from_secs(5),
        "waited for what it left behind: {out:?}"
    );
    assert!(root.join("beat2").exists(), "the writers ran");
    assert!(
        !still_growing(&root.join("beat")).await,
        "a background job survived"
    );
    assert!(
        !still_growing(&root.join("beat2")).await,
        "a setsid job survived"
    );
}
