//! Structured artifacts: answers the engine must read, not only show.
//!
//! Most phases answer in Markdown. A phase whose `output` in skills.toml is
//! `plan` answers with a maker→checker plan object, and one whose `output` is
//! `verdict` with a QA verdict. [`json_object`] finds the object in a
//! model's answer (bare, or in a `json` code fence among prose); [`plan`] and
//! [`verdict`] check it against its schema, listing every mistake so the
//! model can be asked again with them, and render it as Markdown for people
//! and for the roles downstream.

pub mod plan;
pub mod verdict;

use serde::{Deserialize, Serialize};

pub use plan::Plan;
pub use verdict::Verdict;

/// How a phase's answer is read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputKind {
    /// Free Markdown, read only by people and later roles.
    #[default]
    Markdown,
    /// Seed 003's plan: architecture and maker→checker tasks.
    Plan,
    /// A QA verdict: pass or fail, with issues.
    Verdict,
}

impl OutputKind {
    /// Takes a reference, as serde's `skip_serializing_if` passes one.
    pub fn is_markdown(&self) -> bool {
        *self == Self::Markdown
    }

    /// How a role is told to answer, for a structured kind.
    pub fn instructions(self) -> Option<&'static str> {
        match self {
            Self::Markdown => None,
            Self::Plan => Some(PLAN_SHAPE),
            Self::Verdict => Some(VERDICT_SHAPE),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Markdown => "markdown",
            Self::Plan => "plan",
            Self::Verdict => "verdict",
        }
    }
}

const PLAN_SHAPE: &str = r#"Answer with one JSON object in a ```json fence, shaped like this:
{"status": "planned", "category": "backend",
 "architecture": {"summary": "…", "endpoints": [{"method": "POST", "path": "/api/v1/…", "purpose": "…", "auth": "required|public"}],
                  "data_models": [{"name": "…", "purpose": "…", "table": "…", "key_fields": ["id"]}],
                  "services": ["Name - purpose"], "external_integrations": ["…"]},
 "tasks": [
  {"task_name": "Implement …", "description": "…", "skill_id": "backend-implement", "task_order": 1, "dependencies": [],
   "inputs": {"files_to_create": ["…"], "files_to_modify": ["…"]},
   "validation_criteria": {"critical": ["must pass"], "expected": ["should pass"], "nice_to_have": []},
   "timeout_seconds": 3600},
  {"task_name": "Critique: …", "description": "Check task 1 against its criteria", "skill_id": "backend-critique",
   "task_order": 2, "dependencies": [1],
   "inputs": {"preceding_task": {"task_order": 1, "task_name": "Implement …"}, "validation_criteria": {"critical": ["must pass"]}},
   "validation_criteria": {"critical": ["returns a verdict with actionable feedback"]}, "timeout_seconds": 1800}]}
Every implementation task has critical criteria and is followed by a critique task that names it in inputs.preceding_task and depends on it. task_order values are unique; dependencies name earlier tasks."#;

const VERDICT_SHAPE: &str = r#"Answer with one JSON object in a ```json fence:
{"verdict": "pass" | "fail",
 "issues": [{"severity": "critical|high|medium|low", "title": "…", "detail": "…", "criterion": "AC-n"}]}
A fail must list at least one issue; each issue says what is wrong and which acceptance criterion it breaks."#;

/// A structured answer as far as it could be read.
#[derive(Clone, Debug, PartialEq)]
pub enum Read {
    Plan(Plan),
    Verdict(Verdict),
}

impl Read {
    /// The answer as Markdown: what people see and later roles are handed.
    pub fn to_markdown(&self) -> String {
        match self {
            Self::Plan(p) => p.to_markdown(),
            Self::Verdict(v) => v.to_markdown(),
        }
    }
}

/// What an answer says around its JSON object (an introduction, evidence),
/// without the object and its fence.
pub fn prose(text: &str) -> String {
    let without = match json_object(text) {
        Some(object) => text.replacen(object, "", 1),
        None => return text.trim().to_owned(),
    };
    without
        .lines()
        .filter(|l| {
            let l = l.trim();
            l != "```" && !l.eq_ignore_ascii_case("```json")
        })
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_owned()
}

/// Reads `text` as `kind` requires: `Ok(None)` for Markdown, the checked
/// structure, or every mistake found.
pub fn read(kind: OutputKind, text: &str) -> Result<Option<Read>, Vec<String>> {
    match kind {
        OutputKind::Markdown => Ok(None),
        OutputKind::Plan => plan::read(text).map(|p| Some(Read::Plan(p))),
        OutputKind::Verdict => verdict::read(text).map(|v| Some(Read::Verdict(v))),
    }
}

/// The text of the JSON object in a model's answer: the whole answer when
/// it is a bare object, else the first ```json (or bare ```) fence that
/// holds one, else the span from the first `{` to the last `}`.
pub fn json_object(text: &str) -> Option<&str> {
    let trimmed = text.trim();
    if trimmed.starts_with('{') && trimmed.ends_with('}') {
        return Some(trimmed);
    }
    let mut rest = text;
    while let Some(open) = rest.find("```") {
        let after = &rest[open + 3..];
        let Some(newline) = after.find('\n') else {
            break;
        };
        let info = after[..newline].trim();
        let body = &after[newline + 1..];
        let Some(close) = body.find("```") else {
            break;
        };
        let inner = body[..close].trim();
        if (info.is_empty() || info.eq_ignore_ascii_case("json")) && inner.starts_with('{') {
            return Some(inner);
        }
        rest = &body[close + 3..];
    }
    let start = trimmed.find('{')?;
    let end = trimmed.rfind('}')?;
    (start < end).then(|| &trimmed[start..=end])
}

/// Text for one Markdown table cell: one line, no pipes.
fn cell(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "/")
}

/// Parses the object in `text` as `T`, or says why not in words a model can
/// act on.
fn parse<T: serde::de::DeserializeOwned>(text: &str, what: &str) -> Result<T, Vec<String>> {
    let Some(object) = json_object(text) else {
        return Err(vec![format!(
            "no JSON object found: answer with the {what} as one JSON object, bare or in a ```json fence"
        )]);
    };
    serde_json::from_str(object).map_err(|e| vec![format!("the {what} is not valid: {e}")])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_object_bare_fenced_or_among_prose() {
        assert_eq!(json_object(" {\"a\":1}\n"), Some("{\"a\":1}"));
        assert_eq!(
            json_object("Here it is:\n```json\n{\"a\": 1}\n```\nDone."),
            Some("{\"a\": 1}")
        );
        assert_eq!(
            json_object("```text\nnot this\n```\n```\n{\"b\":2}\n```"),
            Some("{\"b\":2}")
        );
        assert_eq!(json_object("The verdict: {\"v\":0} ok"), Some("{\"v\":0}"));
        assert_eq!(json_object("no object here"), None);
        assert_eq!(json_object("} backwards {"), None);
        assert_eq!(
            prose("Checked 3 criteria.\n```json\n{\"a\": 1}\n```\nAll met."),
            "Checked 3 criteria.\n\nAll met."
        );
    }

    #[test]
    fn markdown_needs_no_reading_and_garbage_says_what_is_wrong() {
        assert_eq!(read(OutputKind::Markdown, "anything"), Ok(None));
        let errors = read(OutputKind::Verdict, "I think it is fine").expect_err("garbage");
        assert!(errors[0].contains("no JSON object found"), "{errors:?}");
        let errors = read(OutputKind::Plan, "{\"tasks\": [}").expect_err("broken");
        assert!(errors[0].contains("line 1 column"), "{errors:?}");
    }
}
