//! A plan task's report: `{status: done|blocked, summary, files, criteria:
//! [{criterion, met, how}], blockers}`. A maker is asked for it, held to its
//! schema where the server can, so that a model writes what the reviewer
//! needs (what was done, where, and how each criterion is met) and stops;
//! an unbounded Markdown report let a small model ramble to its output cap.
//!
//! A report is read leniently: it is for people and the reviewer, not for
//! the engine to act on, so an answer that is not such an object is the
//! report as written.

use std::fmt::Write;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Whether the maker finished its task.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    Done,
    Blocked,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TaskReport {
    pub status: TaskStatus,
    /// What was done, in a sentence or two.
    #[schemars(length(min = 1, max = 300))]
    pub summary: String,
    /// The files created or changed.
    #[serde(default)]
    #[schemars(length(max = 4), inner(length(max = 80)))]
    pub files: Vec<String>,
    /// How each critical criterion is met.
    #[serde(default)]
    #[schemars(length(max = 3))]
    pub criteria: Vec<Met>,
    /// What stops the task, if anything.
    #[serde(default)]
    #[schemars(length(max = 2), inner(length(max = 120)))]
    pub blockers: Vec<String>,
}

/// One criterion and how the work meets it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Met {
    #[schemars(length(max = 120))]
    pub criterion: String,
    pub met: bool,
    /// The evidence: a file, a test, a behaviour.
    #[serde(default)]
    #[schemars(length(max = 120))]
    pub how: String,
}

/// How a maker is told to answer.
pub const INSTRUCTIONS: &str = r#"Answer with a report as one JSON object in a ```json fence:
{"status": "done" | "blocked", "summary": "what you did, in a sentence or two",
 "files": ["the files you created or changed"],
 "criteria": [{"criterion": "a critical criterion", "met": true, "how": "the file, test or behaviour that shows it"}],
 "blockers": ["what stops the task, if it is blocked"]}"#;

/// The report in `text` as Markdown for people and the reviewer: the
/// object rendered in its place among any prose around it; or `text`
/// itself when it holds no such object.
pub fn as_markdown(text: &str) -> String {
    let Some((object, report)) = super::json_object(text).and_then(|o| {
        serde_json::from_str::<TaskReport>(&super::escape_controls(o))
            .ok()
            .map(|r| (o, r))
    }) else {
        return text.trim().to_owned();
    };
    let (before, after) = text.split_once(object).unwrap_or((text, ""));
    // The object's own fence, if it had one, goes with it.
    let before = before.trim_end();
    let before = before
        .strip_suffix("```json")
        .or_else(|| before.strip_suffix("```"))
        .unwrap_or(before);
    let after = after.trim_start();
    let after = after.strip_prefix("```").unwrap_or(after);
    [before, &report.to_markdown(), after]
        .iter()
        .map(|part| part.trim())
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join("\n\n")
        + "\n"
}

impl TaskReport {
    pub fn to_markdown(&self) -> String {
        let status = match self.status {
            TaskStatus::Done => "Done",
            TaskStatus::Blocked => "Blocked",
        };
        let mut out = format!("**{status}.** {}\n", self.summary.trim());
        let files: Vec<String> = self
            .files
            .iter()
            .map(|f| f.trim())
            .filter(|f| !f.is_empty())
            .map(|f| format!("`{}`", f.replace('`', "'")))
            .collect();
        if !files.is_empty() {
            let _ = write!(out, "\nFiles: {}\n", files.join(", "));
        }
        if !self.criteria.is_empty() {
            out.push_str("\nCriteria:\n");
            for c in &self.criteria {
                let mark = if c.met { 'x' } else { ' ' };
                let _ = write!(out, "- [{mark}] {}", c.criterion.trim());
                if !c.how.trim().is_empty() {
                    let _ = write!(out, " — {}", c.how.trim());
                }
                out.push('\n');
            }
        }
        let blockers: Vec<&str> = self
            .blockers
            .iter()
            .map(|b| b.trim())
            .filter(|b| !b.is_empty())
            .collect();
        if !blockers.is_empty() {
            out.push_str("\nBlockers:\n");
            for b in blockers {
                let _ = writeln!(out, "- {b}");
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_reads_from_a_fence_and_renders_for_the_reviewer() {
        let text = "Implemented it.\n```json\n{\"status\":\"done\",\"summary\":\"Added the handler.\",\
            \"files\":[\"health.go\",\" \"],\"criteria\":[{\"criterion\":\"returns 200\",\"met\":true,\
            \"how\":\"TestHealth\"},{\"criterion\":\"logs\",\"met\":false,\"how\":\"\"}],\"blockers\":[]}\n```";
        assert_eq!(
            as_markdown(text),
            "Implemented it.\n\n**Done.** Added the handler.\n\nFiles: `health.go`\n\nCriteria:\n\
             - [x] returns 200 — TestHealth\n- [ ] logs\n"
        );
    }

    #[test]
    fn a_blocked_report_says_what_blocks_it() {
        let text = r#"{"status":"blocked","summary":"Could not build.","files":[],"criteria":[],"blockers":["go is missing"]}"#;
        assert_eq!(
            as_markdown(text),
            "**Blocked.** Could not build.\n\nBlockers:\n- go is missing\n"
        );
    }

    #[test]
    fn anything_else_is_the_report_as_written() {
        for text in [
            "### Task 1\nDid it.",
            "{\"status\": \"finished\"}",
            "```go\nfunc main() {}\n```",
        ] {
            assert_eq!(as_markdown(text), text.trim());
        }
    }

    #[test]
    fn the_schema_bounds_every_string_and_list() {
        let schema = super::super::schema::of::<TaskReport>("task_report");
        assert!(schema.strict);
        let p = &schema.schema["properties"];
        assert_eq!(p["summary"]["maxLength"], 300);
        assert_eq!(p["summary"]["minLength"], 1);
        assert_eq!(p["files"]["maxItems"], 4);
        assert_eq!(p["files"]["items"]["maxLength"], 80);
        assert_eq!(p["status"]["enum"], serde_json::json!(["done", "blocked"]));
    }
}
