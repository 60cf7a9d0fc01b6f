//! Agents in a real git repository: the offline roles write a file, run
//! commands under the permission policy, and the delivery role commits on
//! the session's branch; the workspace is snapshotted at every gate.

use crate::common;

use common::{REQUEST, Sandbox, events, git, of_kind, repository, stderr, stdout};

#[test]
fn the_offline_team_writes_runs_and_commits_in_a_git_workspace() {
    let sandbox = Sandbox::new();
    let repo = repository(sandbox.dir.path());
    let start = git(&repo, &["rev-parse", "HEAD"]);
    let output = sandbox
        .command()
        .args(["run", "--headless", "--approve", "all", "--workspace"])
        .arg(&repo)
        .arg(REQUEST)
        .output()
        .expect("run");
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}{}",
        stdout(&output),
        stderr(&output)
    );
    let events = events(&sandbox.log());
    assert_eq!(
        events[0]["workspace"]["head"],
        start.as_str(),
        "the starting commit is recorded"
    );
    assert_eq!(events[0]["workspace"]["branch"], "main");

    // Each of the developer's tasks wrote its file.
    for (task, name) in [
        (1, "data model"),
        (3, "rate limiting service"),
        (7, "metrics"),
    ] {
        let notes = repo.join(format!("handoff-notes/rate-limiting-orders/task-{task}.md"));
        assert!(
            std::fs::read_to_string(&notes).is_ok_and(|t| t.contains(name)),
            "{notes:?}"
        );
    }

    // Tool calls, permissions and results are all in the log.
    let calls = of_kind(&events, "tool_call");
    let tools: Vec<&str> = calls
        .iter()
        .map(|c| c["tool"].as_str().expect("tool"))
        .collect();
    assert!(
        tools.contains(&"write_file")
            && tools.contains(&"run_command")
            && tools.contains(&"read_file")
            && tools.contains(&"report_status"),
        "{tools:?}"
    );
    let permissions = of_kind(&events, "permission");
    assert!(!permissions.is_empty());
    assert!(
        permissions
            .iter()
            .all(|p| p["decision"] == "allow" && p["by"] == "policy"),
        "{permissions:?}"
    );
    let results = of_kind(&events, "tool_result");
    assert_eq!(results.len(), calls.len());
    assert!(results.iter().all(|r| r["ok"] == true), "{results:?}");

    // The delivery is a commit on the session's branch, holding the notes.
    let id = events[0]["id"].as_str().expect("id");
    let branch = format!("handoff/{id}");
    assert_eq!(git(&repo, &["rev-parse", "--abbrev-ref", "HEAD"]), branch);
    assert_eq!(
        git(&repo, &["log", "-1", "--format=%s"]),
        "feat(orders): rate limiting"
    );
    assert!(
        git(&repo, &["show", "--stat", "HEAD"])
            .contains("handoff-notes/rate-limiting-orders/task-7.md")
    );
    assert_eq!(git(&repo, &["rev-parse", "HEAD~1"]), start);

    // A snapshot of the workspace at every gate, on private refs.
    let snapshots = of_kind(&events, "snapshot");
    assert_eq!(snapshots.len(), 6);
    let implement = snapshots
        .iter()
        .find(|s| s["phase"] == "implement")
        .expect("implement snapshot");
    assert_eq!(
        implement["reference"],
        format!("refs/handoff/{id}/implement")
    );
    let commit = implement["commit"].as_str().expect("commit");
    assert!(
        git(
            &repo,
            &[
                "show",
                &format!("{commit}:handoff-notes/rate-limiting-orders/task-3.md")
            ]
        )
        .contains("rate limiting service")
    );
}

#[test]
fn headless_ask_means_deny_unless_allowed_and_deny_always_wins() {
    let sandbox = Sandbox::new();
    let repo = repository(sandbox.dir.path());
    // The same pipeline, but `ls` must be asked about and `git status` is denied.
    let skills = include_str!("../../skills.toml")
        .replace("\"ls*\" = \"allow\"", "\"ls*\" = \"ask\"")
        .replace("\"git status*\" = \"allow\"", "\"git status*\" = \"deny\"");
    std::fs::write(sandbox.dir.path().join("skills.toml"), skills).expect("skills");
    let run = |extra: &[&str]| {
        let _ = std::fs::remove_dir_all(sandbox.sessions());
        sandbox
            .command()
            .args(["run", "--headless", "--approve", "none", "--workspace"])
            .arg(&repo)
            .args(extra)
            .arg(REQUEST)
            .output()
            .expect("run")
    };
    let decisions = sandbox.dir.path().join("d.toml");
    std::fs::write(&decisions, "[summarize]\naction = \"approve\"\n[plan]\naction = \"approve\"\n[implement]\naction = \"approve\"\n").expect("d");
    let d = decisions.to_str().expect("path");

    let denied = run(&["--decisions", d]);
    assert_eq!(denied.status.code(), Some(3), "{}", stdout(&denied));
    let events_denied = events(&sandbox.log());
    let asked = of_kind(&events_denied, "permission_asked");
    assert_eq!(asked.len(), 1, "ls asks");
    assert_eq!(asked[0]["detail"], "ls handoff-notes");
    let answer = of_kind(&events_denied, "permission")
        .into_iter()
        .find(|p| p["call_id"] == asked[0]["call_id"])
        .expect("an answer")
        .clone();
    assert_eq!(answer["decision"], "deny");
    assert!(
        answer["reason"]
            .as_str()
            .is_some_and(|r| r.contains("--allow")),
        "{answer}"
    );
    let results = of_kind(&events_denied, "tool_result");
    let ls = results
        .iter()
        .find(|r| r["call_id"] == asked[0]["call_id"])
        .expect("result");
    assert_eq!(ls["ok"], false);
    // `git status` in the test phase is denied by the policy without asking.
    let status_answer = of_kind(&events_denied, "permission").into_iter().find(|p| {
        p["decision"] == "deny"
            && p["by"] == "policy"
            && p["reason"]
                .as_str()
                .is_some_and(|r| r.contains("git status"))
    });
    assert!(
        status_answer.is_some(),
        "{:?}",
        of_kind(&events_denied, "permission")
    );

    let allowed = run(&["--decisions", d, "--allow", "ls *"]);
    assert_eq!(allowed.status.code(), Some(3));
    let events_allowed = events(&sandbox.log());
    let answer = of_kind(&events_allowed, "permission")
        .into_iter()
        .find(|p| p["call_id"] == of_kind(&events_allowed, "permission_asked")[0]["call_id"])
        .expect("answer")
        .clone();
    assert_eq!(answer["decision"], "allow");
}

#[test]
fn a_workspace_that_is_not_a_git_repository_is_refused_for_writing_roles() {
    let sandbox = Sandbox::new();
    let plain = sandbox.dir.path().join("plain");
    std::fs::create_dir_all(&plain).expect("dir");
    let output = sandbox
        .command()
        .args(["run", "--headless", "--approve", "all", "--workspace"])
        .arg(&plain)
        .arg(REQUEST)
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("not a git work tree"),
        "{}",
        stderr(&output)
    );
    assert!(sandbox.logs().is_empty());
}

#[test]
fn a_skills_file_found_in_the_current_directory_cannot_allow_commands_by_itself() {
    let sandbox = Sandbox::new();
    let repo = repository(sandbox.dir.path());
    // A repository's own skills.toml that would allow every command, and
    // no longer allows `git status` by name: only `*` would let it run.
    let hostile = common::BUILTIN_SKILLS
        .replacen(r#""*" = "ask""#, r#""*" = "allow""#, 1)
        .replacen(r#""git status*" = "allow""#, "", 1);
    assert_ne!(hostile, common::BUILTIN_SKILLS);
    std::fs::write(sandbox.dir.path().join("skills.toml"), &hostile).expect("write");
    let run = |extra: &[&str]| {
        let output = sandbox
            .command()
            .args(["run", "--headless", "--approve", "all", "--workspace"])
            .arg(&repo)
            .args(extra)
            .arg(REQUEST)
            .output()
            .expect("run");
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        let log = sandbox
            .logs()
            .into_iter()
            .max_by_key(|l| std::fs::metadata(l).and_then(|m| m.modified()).ok())
            .expect("a log");
        (stderr(&output), events(&log))
    };
    // The test phase's `git status --short`.
    let status_check = |events: &[serde_json::Value]| -> String {
        let call = of_kind(events, "tool_call")
            .into_iter()
            .find(|c| c["args"]["command"] == "git status --short")
            .expect("git status was asked for")["call_id"]
            .clone();
        of_kind(events, "permission")
            .into_iter()
            .find(|p| p["call_id"] == call)
            .expect("its permission")["decision"]
            .as_str()
            .expect("decision")
            .to_owned()
    };

    let (said, events) = run(&[]);
    assert!(
        said.contains("./skills.toml would allow `*` without asking"),
        "{said}"
    );
    assert_eq!(status_check(&events), "deny", "asked, and headless denies");

    // Named with --skills, the same file is trusted as written.
    let (said, events) = run(&["--skills", "skills.toml"]);
    assert!(!said.contains("would allow"), "{said}");
    assert_eq!(status_check(&events), "allow");
}

#[test]
fn a_kept_task_keeps_its_report_not_its_tool_chatter() {
    let sandbox = Sandbox::new();
    let repo = repository(sandbox.dir.path());
    let output = sandbox.run_deciding_with(
        "[implement]\naction = \"reject\"\n",
        &["--workspace", repo.to_str().expect("path")],
        &format!("{REQUEST} !task-fails:5"),
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let events = events(&sandbox.log());
    let kept = of_kind(&events, "task_finished")
        .into_iter()
        .filter(|t| {
            t["summary"]
                .as_str()
                .is_some_and(|s| s.starts_with("kept from"))
        })
        .count();
    assert!(kept >= 2, "tasks 1 and 3 were kept: {kept}");
    // Each task looked at the workspace before it reported; the report is
    // what is kept, in the new attempt's log and in the artifact.
    let artifact = common::artifacts(&events, "implement").remove(0);
    assert!(artifact.contains("## Task 1:"), "{artifact}");
    assert!(
        !artifact.contains("Looking at the workspace first"),
        "{artifact}"
    );
}
