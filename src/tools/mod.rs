//! The tools agents use in the workspace, with fixed names and arguments (a
//! contract: models are offered them, logs record them): `read_file{path}`,
//! `write_file{path,content}`, `list_dir{path}`, `search{pattern,path?}`,
//! `run_command{command, timeout_s?}` and
//! `report_status{agent?,status?,phase?,completed[],pending[],blockers[]?}`.
//!
//! This module owns the tool definitions offered to models ([`spec`]), the
//! parsing of the arguments a model wrote ([`ToolArgs::parse`]), and running
//! a parsed call ([`run`]). Paths stay inside the workspace ([`workspace`]),
//! commands run in their own process group with a timeout ([`command`]),
//! and whether a command may run at all is the policy's call ([`policy`],
//! which reads compound commands with a real shell parser, [`shell`]).

pub mod changes;
pub mod command;
pub mod git;
pub mod ruling;
pub mod shell;
pub mod workspace;

use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};

/// Every tool, by its fixed name.
pub const TOOL_NAMES: [&str; 6] = [
    "read_file",
    "write_file",
    "list_dir",
    "search",
    "run_command",
    "report_status",
];

/// The tools that change nothing: what a reviewer (a critique) is offered.
pub const READ_ONLY: [&str; 4] = ["read_file", "list_dir", "search", "report_status"];

/// The longest a command may run when the model does not say.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);
/// The longest a model may ask a command to run.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(1800);
/// Environment variables a command never sees.
pub const SECRET_ENV: [&str; 3] = ["OPENAI_API_KEY", "HANDOFF_API_KEY", "ANTHROPIC_API_KEY"];

/// A tool the model may call: its name, what it does, and a JSON Schema of
/// its arguments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ToolSpec {
    pub name: String,
    pub description: String,
    pub parameters: serde_json::Value,
}

/// The definition of tool `name` offered to a model.
pub fn spec(name: &str) -> Option<ToolSpec> {
    let string = |description: &str| json!({ "type": "string", "description": description });
    let (description, properties, required): (&str, Value, &[&str]) = match name {
        "read_file" => (
            "Read a UTF-8 text file of the workspace.",
            json!({ "path": string("Path relative to the workspace root") }),
            &["path"],
        ),
        "write_file" => (
            "Create or replace a text file in the workspace (parent folders are created).",
            json!({ "path": string("Path relative to the workspace root"), "content": string("The whole new content") }),
            &["path", "content"],
        ),
        "list_dir" => (
            "List a folder of the workspace.",
            json!({ "path": string("Folder relative to the workspace root; \".\" for the root") }),
            &["path"],
        ),
        "search" => (
            "Find lines containing a text in the workspace's files.",
            json!({ "pattern": string("The text to find (case-sensitive)"), "path": string("Folder to search in (default: the root)") }),
            &["pattern"],
        ),
        "run_command" => (
            "Run a shell command in the workspace root. A policy decides what may run; some commands need the user's approval.",
            json!({ "command": string("The command line"), "timeout_s": { "type": "integer", "description": "Seconds before the command is killed (default 120)" } }),
            &["command"],
        ),
        "report_status" => (
            "Report progress: what is done, what is still to do, and what blocks you. The person at the checkpoint sees it on your card.",
            json!({
                "agent": string("Who reports: your role"),
                "status": string("How the work stands: planning, developing, testing, blocked or done"),
                "phase": string("The step of the work you are at, e.g. \"Service implementation\""),
                "completed": { "type": "array", "items": { "type": "string" } },
                "pending": { "type": "array", "items": { "type": "string" } },
                "blockers": { "type": "array", "items": { "type": "string" }, "description": "What stops you, if anything" }
            }),
            &["completed", "pending"],
        ),
        _ => return None,
    };
    Some(ToolSpec {
        name: name.to_owned(),
        description: description.to_owned(),
        parameters: json!({ "type": "object", "properties": properties, "required": required }),
    })
}

/// A tool call with its arguments checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ToolArgs {
    ReadFile {
        path: String,
    },
    WriteFile {
        path: String,
        content: String,
    },
    ListDir {
        path: String,
    },
    Search {
        pattern: String,
        path: Option<String>,
    },
    RunCommand {
        command: String,
        timeout: Duration,
    },
    ReportStatus(StatusReport),
}

/// What `report_status` carries: the status protocol's fields. Only
/// `completed` and `pending` are required; the rest say who reports, how
/// the work stands, the step it is at and what blocks it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusReport {
    #[serde(default)]
    pub agent: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    /// The step of the work (the protocol's `phase`, not the pipeline's).
    #[serde(default, rename = "phase")]
    pub step: Option<String>,
    #[serde(default)]
    pub completed: Vec<String>,
    #[serde(default)]
    pub pending: Vec<String>,
    #[serde(default)]
    pub blockers: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PathArgs {
    path: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WriteArgs {
    path: String,
    content: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SearchArgs {
    pattern: String,
    path: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CommandArgs {
    command: String,
    timeout_s: Option<u64>,
}

impl ToolArgs {
    /// Reads the JSON arguments a model wrote for tool `name`.
    pub fn parse(name: &str, arguments: &str) -> Result<Self, String> {
        let arguments = if arguments.trim().is_empty() {
            "{}"
        } else {
            arguments
        };
        let bad = |e: serde_json::Error| format!("bad arguments for `{name}`: {e}");
        Ok(match name {
            "read_file" => Self::ReadFile {
                path: serde_json::from_str::<PathArgs>(arguments)
                    .map_err(bad)?
                    .path,
            },
            "write_file" => {
                let a: WriteArgs = serde_json::from_str(arguments).map_err(bad)?;
                Self::WriteFile {
                    path: a.path,
                    content: a.content,
                }
            }
            "list_dir" => Self::ListDir {
                path: serde_json::from_str::<PathArgs>(arguments)
                    .map_err(bad)?
                    .path,
            },
            "search" => {
                let a: SearchArgs = serde_json::from_str(arguments).map_err(bad)?;
                Self::Search {
                    pattern: a.pattern,
                    path: a.path,
                }
            }
            "run_command" => {
                let a: CommandArgs = serde_json::from_str(arguments).map_err(bad)?;
                let timeout = a
                    .timeout_s
                    .map_or(DEFAULT_TIMEOUT, Duration::from_secs)
                    .min(MAX_TIMEOUT);
                Self::RunCommand {
                    command: a.command,
                    timeout,
                }
            }
            "report_status" => Self::ReportStatus(serde_json::from_str(arguments).map_err(bad)?),
            other => {
                return Err(format!(
                    "there is no tool `{other}` (tools: {})",
                    TOOL_NAMES.join(", ")
                ));
            }
        })
    }

    /// What the call is about, for one line on a card.
    pub fn target(&self) -> String {
        match self {
            Self::ReadFile { path } | Self::WriteFile { path, .. } | Self::ListDir { path } => {
                path.clone()
            }
            Self::Search { pattern, path } => {
                format!("“{pattern}” in {}", path.as_deref().unwrap_or("."))
            }
            Self::RunCommand { command, .. } => command.clone(),
            Self::ReportStatus(report) => {
                let blocked = match report.blockers.len() {
                    0 => String::new(),
                    n => format!(", {n} blocked"),
                };
                format!(
                    "{} done, {} to do{blocked}",
                    report.completed.len(),
                    report.pending.len()
                )
            }
        }
    }
}

/// What a tool call produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ToolOutput {
    pub ok: bool,
    /// A few words for the card: "12 lines", "exit 1", "written 340 bytes".
    pub summary: String,
    /// What goes back to the model.
    pub content: String,
}

impl ToolOutput {
    pub fn failed(message: impl Into<String>) -> Self {
        let content = message.into();
        Self {
            ok: false,
            summary: content
                .lines()
                .next()
                .unwrap_or("failed")
                .chars()
                .take(60)
                .collect(),
            content,
        }
    }
}

/// `n` things, in the singular or the plural: "1 match", "0 matches".
fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Runs a file tool (everything but `run_command`, which needs the policy
/// and a cancel signal, and `report_status`, which only reports).
pub fn run_file_tool(workspace: &workspace::Workspace, args: &ToolArgs) -> ToolOutput {
    match args {
        ToolArgs::ReadFile { path } => match workspace.read_file(path) {
            Ok(text) => ToolOutput {
                ok: true,
                summary: count(text.lines().count(), "line", "lines"),
                content: text,
            },
            Err(e) => ToolOutput::failed(e.to_string()),
        },
        ToolArgs::WriteFile { path, content } => match workspace.write_file(path, content) {
            Ok(bytes) => ToolOutput {
                ok: true,
                summary: format!("wrote {bytes} bytes"),
                content: format!("wrote {bytes} bytes to {path}"),
            },
            Err(e) => ToolOutput::failed(e.to_string()),
        },
        ToolArgs::ListDir { path } => match workspace.list_dir(path) {
            Ok(entries) => {
                let listing: Vec<String> = entries
                    .iter()
                    .map(|e| {
                        if e.is_dir {
                            format!("{}/", e.name)
                        } else {
                            format!("{} ({} bytes)", e.name, e.size)
                        }
                    })
                    .collect();
                ToolOutput {
                    ok: true,
                    summary: count(entries.len(), "entry", "entries"),
                    content: listing.join("\n"),
                }
            }
            Err(e) => ToolOutput::failed(e.to_string()),
        },
        ToolArgs::Search { pattern, path } => match workspace.search(pattern, path.as_deref()) {
            Ok(found) => {
                let text: Vec<String> = found
                    .iter()
                    .map(|m| format!("{}:{}: {}", m.path, m.line, m.text))
                    .collect();
                ToolOutput {
                    ok: true,
                    summary: count(found.len(), "match", "matches"),
                    content: text.join("\n"),
                }
            }
            Err(e) => ToolOutput::failed(e.to_string()),
        },
        ToolArgs::ReportStatus(_) => ToolOutput {
            ok: true,
            summary: "noted".into(),
            content: "status noted".into(),
        },
        ToolArgs::RunCommand { .. } => ToolOutput::failed("run_command is run by the engine"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_read_in_the_singular_and_the_plural() {
        assert_eq!(count(0, "match", "matches"), "0 matches");
        assert_eq!(count(1, "match", "matches"), "1 match");
        assert_eq!(count(2, "entry", "entries"), "2 entries");
    }

    #[test]
    fn every_tool_has_a_spec_and_arguments_are_checked() {
        for name in TOOL_NAMES {
            assert!(spec(name).is_some(), "{name}");
        }
        assert_eq!(
            ToolArgs::parse(
                "run_command",
                r#"{"command":"go test ./...","timeout_s":99999}"#
            ),
            Ok(ToolArgs::RunCommand {
                command: "go test ./...".into(),
                timeout: MAX_TIMEOUT
            })
        );
        assert!(ToolArgs::parse("read_file", r#"{"file":"x"}"#).is_err());
        assert!(ToolArgs::parse("read_file", "not json").is_err());
        assert!(ToolArgs::parse("format_disk", "{}").is_err());
        assert_eq!(
            ToolArgs::parse("report_status", r#"{"completed":["a"],"pending":[]}"#)
                .map(|a| a.target()),
            Ok("1 done, 0 to do".into())
        );
    }
}
