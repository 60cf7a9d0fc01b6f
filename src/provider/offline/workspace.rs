//! What the offline provider does in a workspace: a small, harmless tool
//! plan per role, so the whole flow — tool calls, the permission policy,
//! results fed back, code to review at the gates, a commit on the
//! session's branch — demos offline. The developer writes the Go files its
//! plan task names (and notes), the test engineer a test file
//! ([`super::code`]).
//!
//! The first turn of a phase asks for its tools; the second, holding the
//! results, answers with the artifact and a note of what the tools said.

use std::fmt::Write;

use serde_json::json;

use super::code;
use super::compose::Topic;
use crate::provider::{Brief, Message, Role, ToolCall};

/// The folder the offline developer writes its notes in.
pub const NOTES_DIR: &str = "handoff-notes";

/// The tool calls the role makes on its first turn (only tools it is offered).
pub fn plan(brief: &Brief, offered: &[String]) -> Vec<ToolCall> {
    let topic = Topic::of(&brief.request);
    let notes = format!("{NOTES_DIR}/{}.md", topic.slug);
    let task_notes = |order: u32| format!("{NOTES_DIR}/{}/task-{order}.md", topic.slug);
    // A `write_file` call with the code for `path` (a later attempt or
    // round writes it a little differently).
    let write_code_at = |path: &str, attempt: u32| {
        let content = code::source(path, &topic, attempt);
        ("write_file", json!({ "path": path, "content": content }))
    };
    let write_code = |path: &str| write_code_at(path, brief.attempt);
    let calls: Vec<(&str, serde_json::Value)> = match (&brief.task, brief.phase.artifact.as_str()) {
        // One task of a plan: the maker writes its note, the critique reads it.
        (Some(task), _) => {
            if let Some(maker) = task.critique_of {
                vec![("read_file", json!({ "path": task_notes(maker) }))]
            } else {
                let attempt = brief.attempt.max(task.round);
                let mut calls: Vec<(&str, serde_json::Value)> = task
                    .files
                    .iter()
                    .map(|path| write_code_at(path, attempt))
                    .collect();
                calls.push((
                    "write_file",
                    json!({
                        "path": task_notes(task.order),
                        "content": format!("# Task {}: {}\n\nRound {}.\n", task.order, task.name, task.round),
                    }),
                ));
                // The first task looks at what is there, through the policy.
                if task.order == 1 {
                    calls.push((
                        "run_command",
                        json!({ "command": format!("ls {NOTES_DIR}") }),
                    ));
                }
                calls
            }
        }
        (None, artifact) => match artifact {
            "implementation" | "code-decisions" => vec![
                write_code(&format!("internal/{}/service.go", topic.package())),
                (
                    "write_file",
                    json!({
                        "path": notes,
                        "content": format!(
                            "# {}\n\nNotes from the offline Senior Backend Developer: {} for `/api/v1/{}`.\n",
                            topic.title, topic.feature, topic.resource
                        ),
                    }),
                ),
                (
                    "run_command",
                    json!({ "command": format!("ls {NOTES_DIR}") }),
                ),
                (
                    "report_status",
                    json!({
                        "agent": "backend-developer",
                        "status": "developing",
                        "phase": "Service implementation",
                        "completed": ["Notes written"],
                        "pending": ["Tests", "Review"],
                    }),
                ),
            ],
            "test-report" => vec![
                write_code(&format!("internal/{}/service_test.go", topic.package())),
                ("run_command", json!({ "command": "git status --short" })),
                (
                    "report_status",
                    json!({
                        "agent": "backend-tester",
                        "status": "testing",
                        "phase": "Unit tests",
                        "completed": ["Workspace checked"],
                        "pending": [],
                    }),
                ),
            ],
            // The developer's notes: one file, or one per plan task.
            "verdict" => vec![("list_dir", json!({ "path": NOTES_DIR }))],
            "delivery" => match &brief.branch {
                Some(branch) => vec![(
                    "run_command",
                    json!({ "command": format!(
                    "git checkout -B {branch} && git add -A && git commit -m \"feat({}): {}\"",
                    topic.package(),
                    topic.feature
                ) }),
                )],
                None => vec![("list_dir", json!({ "path": "." }))],
            },
            _ => vec![("list_dir", json!({ "path": "." }))],
        },
    };
    calls
        .into_iter()
        .filter(|(name, _)| offered.iter().any(|o| o == name))
        .enumerate()
        .map(|(i, (name, args))| ToolCall {
            id: format!("offline-{}-{}", brief.phase.id, i + 1),
            name: name.to_owned(),
            arguments: args.to_string(),
        })
        .collect()
}

/// Whether the conversation already holds tool results.
pub fn has_results(messages: &[Message]) -> bool {
    messages.iter().any(|m| m.role == Role::Tool)
}

/// A note of what the tools said, for the end of the artifact.
pub fn report(messages: &[Message]) -> String {
    let mut out = String::from("\n## Workspace\n");
    for m in messages {
        if m.role == Role::Tool {
            let first = m.content.lines().next().unwrap_or("").trim();
            let _ = writeln!(out, "- {}", first.chars().take(100).collect::<String>());
        }
    }
    out
}
