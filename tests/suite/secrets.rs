//! Secrets and file modes: a sentinel API key goes through whole sessions
//! against the test server — tool commands, a 401, 500s and a mid-stream
//! error that all echo the key back — then `export`, `stats`, `show`,
//! `sessions`, `replay` and `doctor`; it must appear in no file written and
//! no byte printed. And under `umask 000` every session file is still 0600
//! in 0700 folders.

use crate::common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::server::{Piece, Reply, TestServer, answer, role_of, status, tool_turn, well_behaved};
use common::{REQUEST, Sandbox, events, of_kind, stderr};
use serde_json::json;

const SENTINEL: &str = "sk-SENTINEL-7f3a9c2e41d8b6a0";

fn sandbox() -> Sandbox {
    let sandbox = Sandbox::new();
    sandbox.config(
        "[retries]\nmax = 1\nbase_ms = 20\ncap_s = 1\n[timeouts]\nconnect = 2\nfirst_byte = 5\nidle = 5\n",
    );
    sandbox
}

/// `handoff` with the sentinel key in its environment.
fn handoff(sandbox: &Sandbox, args: &[&str]) -> Output {
    sandbox
        .command()
        .env("OPENAI_API_KEY", SENTINEL)
        .args(args)
        .output()
        .expect("run handoff")
}

/// Every file under `dir`, recursively.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d)
            .expect("read dir")
            .filter_map(Result::ok)
        {
            let path = entry.path();
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(path);
            } else {
                found.push(path);
            }
        }
    }
    found
}

fn error_answer(message: &str) -> Reply {
    Reply::Sse(vec![Piece::Data(
        json!({ "error": { "message": message, "type": "server_error" } }),
    )])
}

#[test]
#[expect(
    clippy::too_many_lines,
    reason = "one scenario: every place a key could leak"
)]
fn the_api_key_is_in_no_file_no_output_and_no_message() {
    let echo = format!("Incorrect API key provided: {SENTINEL}");
    // A whole session whose developer runs `env` in the workspace.
    let good = TestServer::start(|_, request| {
        let role = role_of(request);
        if role == "Senior Backend Developer" && !request.has_tool_result() {
            return tool_turn(&[("call_env", "run_command", r#"{"command":"env"}"#)]);
        }
        answer(&well_behaved(&role), 10, 5)
    });
    let unauthorized = {
        let echo = echo.clone();
        TestServer::start(move |_, _| {
            status(
                401,
                &[],
                &json!({ "error": { "message": echo } }).to_string(),
            )
        })
    };
    let failing = {
        let echo = echo.clone();
        TestServer::start(move |_, _| status(500, &[], &format!("upstream said: {echo}")))
    };
    let mid_stream = TestServer::start(move |_, _| error_answer(&echo));

    let sandbox = sandbox();
    let repo = common::repository(sandbox.dir.path());
    let repo = repo.to_str().expect("path");
    let mut outputs = Vec::new();
    let run = |server: &TestServer| {
        handoff(
            &sandbox,
            &[
                "run",
                "--headless",
                "--approve",
                "all",
                "--allow",
                "env",
                "--workspace",
                repo,
                "--base-url",
                &server.base_url,
                "--model",
                "m",
                REQUEST,
            ],
        )
    };
    let finished = run(&good);
    assert_eq!(finished.status.code(), Some(0), "{}", stderr(&finished));
    outputs.push(finished);
    for server in [&unauthorized, &failing, &mid_stream] {
        let failed = run(server);
        assert_eq!(failed.status.code(), Some(1), "{}", stderr(&failed));
        outputs.push(failed);
    }
    // The key was really in use: every server was sent it.
    for server in [&good, &unauthorized, &failing, &mid_stream] {
        let sent = server.recorded();
        assert!(
            sent.iter()
                .all(|r| r.header("authorization") == Some(&format!("Bearer {SENTINEL}"))),
            "the key is sent to the server"
        );
    }
    // The command ran, without the key in its environment.
    let logs = sandbox.logs();
    let env_result = logs
        .iter()
        .flat_map(|l| events(l))
        // A plan task's calls are logged as `t<task>-<id>`.
        .find(|e| {
            e["kind"] == "tool_result"
                && e["call_id"]
                    .as_str()
                    .is_some_and(|id| id == "call_env" || id.ends_with("-call_env"))
        })
        .expect("env ran");
    assert!(env_result["ok"] == true, "{env_result}");
    let env_output = env_result["output"].as_str().expect("output");
    assert!(env_output.contains("PATH="), "{env_output}");
    assert!(!env_output.contains("OPENAI_API_KEY"), "{env_output}");
    // The failures were recorded, in words, without the key.
    let errors: Vec<String> = logs
        .iter()
        .flat_map(|l| events(l))
        .filter(|e| e["kind"] == "phase_failed")
        .map(|e| e["error"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(errors.len(), 3, "{errors:?}");
    assert!(errors.iter().any(|e| e.contains("401")), "{errors:?}");

    let out = sandbox.dir.path().join("exported");
    for log in &logs {
        let log = log.to_str().expect("path");
        let out = out.join(Path::new(log).file_stem().expect("stem"));
        for args in [
            &["export", log, "--out", out.to_str().expect("path")][..],
            &["show", "--json", log],
            &["show", log],
            &["replay", "--headless", "--json", log],
        ] {
            outputs.push(handoff(&sandbox, args));
        }
    }
    for args in [
        &["stats"][..],
        &["stats", "--json"],
        &["sessions", "--json"],
        &["check"],
    ] {
        outputs.push(handoff(&sandbox, args));
    }
    for server in [&good, &unauthorized, &failing, &mid_stream] {
        let args = ["doctor", "--base-url", &server.base_url, "--model", "m"];
        outputs.push(handoff(&sandbox, &args));
    }

    for output in &outputs {
        for (stream, bytes) in [("stdout", &output.stdout), ("stderr", &output.stderr)] {
            let text = String::from_utf8_lossy(bytes);
            let at = text.find(SENTINEL);
            assert!(
                at.is_none(),
                "the key was printed on {stream}: …{}…",
                text.get(at.unwrap_or_default().saturating_sub(120)..)
                    .unwrap_or_default()
                    .chars()
                    .take(200)
                    .collect::<String>()
            );
        }
    }
    let written = files(sandbox.dir.path());
    assert!(
        written.len() > 20,
        "sessions, exports and the repository were written"
    );
    for file in written {
        let bytes = std::fs::read(&file).expect("read");
        assert!(
            !String::from_utf8_lossy(&bytes).contains(SENTINEL),
            "the key is in {}",
            file.display()
        );
    }
    let events: Vec<_> = logs.iter().flat_map(|l| events(l)).collect();
    assert!(
        !of_kind(&events, "retry").is_empty(),
        "the 500s were retried"
    );
}

/// `handoff` started by a shell that first sets `umask 000`, with sessions
/// in the default place under `$XDG_DATA_HOME`.
fn with_open_umask(sandbox: &Sandbox, args: &[&str]) -> Output {
    sandbox
        .shell_command("umask 000")
        .env("XDG_DATA_HOME", sandbox.dir.path().join("data"))
        .args(args)
        .output()
        .expect("run handoff")
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).expect("meta").permissions().mode() & 0o777
}

#[test]
fn session_files_are_0600_in_0700_folders_even_under_umask_000() {
    let sandbox = Sandbox::new();
    let stopped = with_open_umask(
        &sandbox,
        &["run", "--headless", "--approve", "none", REQUEST],
    );
    assert_eq!(stopped.status.code(), Some(3), "{}", stderr(&stopped));
    let data = sandbox.dir.path().join("data");
    let sessions = data.join("handoff/sessions");
    let logs: Vec<PathBuf> = files(&sessions);
    assert_eq!(logs.len(), 1);
    let log = logs[0].to_str().expect("path");
    // Reopened to continue, and copied into a fork.
    let resumed = with_open_umask(&sandbox, &["resume", log, "--headless", "--approve", "all"]);
    assert_eq!(resumed.status.code(), Some(0), "{}", stderr(&resumed));
    let forked = with_open_umask(
        &sandbox,
        &[
            "fork",
            log,
            "--at",
            "plan",
            "--headless",
            "--approve",
            "none",
        ],
    );
    assert_eq!(forked.status.code(), Some(3), "{}", stderr(&forked));

    // A file the shell creates here is world-writable: the umask is open.
    Command::new("sh")
        .current_dir(&data)
        .args(["-c", "umask 000; : > probe"])
        .status()
        .expect("probe");
    assert_eq!(mode(&data.join("probe")), 0o666, "the umask really is open");

    assert_eq!(mode(&data.join("handoff")), 0o700);
    assert_eq!(mode(&sessions), 0o700);
    let logs = files(&sessions);
    assert_eq!(logs.len(), 2, "the session and its fork");
    for log in &logs {
        assert_eq!(mode(log), 0o600, "{}", log.display());
    }

    // An export is as private as the log it comes from.
    let out = data.join("exports/first");
    let exported = with_open_umask(
        &sandbox,
        &["export", log, "--out", out.to_str().expect("path")],
    );
    assert_eq!(exported.status.code(), Some(0), "{}", stderr(&exported));
    assert_eq!(mode(&data.join("exports")), 0o700);
    assert_eq!(mode(&out), 0o700);
    assert_eq!(mode(&out.join("attempts")), 0o700);
    let written = files(&out);
    assert!(written.len() > 5, "{written:?}");
    for file in written {
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }
}

#[test]
fn a_sessions_folder_or_log_open_to_others_is_warned_about() {
    let sandbox = Sandbox::new();
    let stopped = sandbox.run(&["run", "--headless", "--approve", "none", REQUEST]);
    assert_eq!(stopped.status.code(), Some(3), "{}", stderr(&stopped));
    assert!(!stderr(&stopped).contains("open to other users"));
    let log = sandbox.log();
    let set = |path: &Path, mode: u32| {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
    };
    set(&sandbox.sessions(), 0o755);
    set(&log, 0o644);
    let resumed = sandbox.resume_approving(&log);
    assert_eq!(resumed.status.code(), Some(0), "{}", stderr(&resumed));
    let warned = stderr(&resumed);
    for (path, advice) in [(sandbox.sessions(), "chmod 700"), (log, "chmod 600")] {
        let line = format!(
            "{} is open to other users (mode {}); to keep sessions private: {advice}",
            path.display(),
            if advice.ends_with("700") {
                "755"
            } else {
                "644"
            }
        );
        assert!(warned.contains(&line), "{line}\n{warned}");
    }
    let another = sandbox.run(&["run", "--headless", "--approve", "none", REQUEST]);
    assert!(
        stderr(&another).contains("is open to other users (mode 755)"),
        "{}",
        stderr(&another)
    );
}

#[test]
fn a_key_a_tool_reads_is_scrubbed_before_the_log_and_the_model() {
    // The repository keeps the key in a `.env`; the developer reads it,
    // prints it and searches for it.
    let echo = json!({ "command": format!("echo {SENTINEL}") }).to_string();
    let server = TestServer::start(move |_, request| {
        let role = role_of(request);
        if role == "Senior Backend Developer" && !request.has_tool_result() {
            return tool_turn(&[
                ("call_read", "read_file", r#"{"path":".env"}"#),
                ("call_cat", "run_command", r#"{"command":"cat .env"}"#),
                ("call_search", "search", r#"{"pattern":"SENTINEL"}"#),
                // The endpoint knows the key, and may put it in a call.
                ("call_echo", "run_command", &echo),
            ]);
        }
        answer(&well_behaved(&role), 10, 5)
    });
    let sandbox = sandbox();
    let repo = common::repository(sandbox.dir.path());
    std::fs::write(repo.join(".env"), format!("OPENAI_API_KEY={SENTINEL}\n")).expect("env");
    let run = handoff(
        &sandbox,
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
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    let log = sandbox.log();
    let results: Vec<String> = of_kind(&events(&log), "tool_result")
        .into_iter()
        .map(|r| r["output"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(
        results.len() >= 4
            && results
                .iter()
                .filter(|r| r.contains("OPENAI_API_KEY=[key]"))
                .count()
                >= 3,
        "the results kept their text, without the key: {results:?}"
    );
    assert!(
        results.iter().any(|r| r == "exit 0\n[key]\n"),
        "the command ran without the key: {results:?}"
    );
    let text = std::fs::read_to_string(&log).expect("log");
    assert!(!text.contains(SENTINEL), "the key is in the log");
    // What the tools gave back. (The conversation also repeats the calls
    // the endpoint made, key included: it is the endpoint's own.)
    let sent: Vec<String> = server
        .recorded()
        .iter()
        .flat_map(|r| r.body["messages"].as_array().cloned().unwrap_or_default())
        .filter(|m| m["role"] == "tool")
        .map(|m| m.to_string())
        .collect();
    assert!(sent.len() >= 4, "the results went back to the model");
    assert!(
        sent.iter().all(|result| !result.contains(SENTINEL)),
        "the key went back to the model: {sent:?}"
    );
    for output in [&run.stdout, &run.stderr] {
        assert!(!String::from_utf8_lossy(output).contains(SENTINEL));
    }
}
