//! Utility roles: helpers a person summons at any gate (a debugger, a doc
//! janitor, …), declared per pipeline as `[[pipelines.NAME.utilities]]`.
//!
//! A [`Utility`] is plain data the engine reads when a person summons one:
//! its prompt, the artifacts its one answer holds, the read-only tools it
//! is allowed, and the phases whose roles are handed its output
//! (`hands_to`). Reading the table, with every mistake placed at its line
//! and column (an unknown phase in `hands_to`, a tool that changes things),
//! is [`check`]; the pipeline's phases must be read first.

use std::ops::Range;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use super::load::{Checker, item_spans, valid_id};
use super::{CONSULT_TOKENS, Phase};

/// A role a person summons at a gate for a short call of its own.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Utility {
    /// `debugger`: what the picker, the log and a decisions file name it by.
    pub id: String,
    pub name: String,
    /// One line of what it does, for the picker.
    pub summary: String,
    /// Its instructions.
    pub prompt: String,
    /// The artifacts its answer holds, a section each (`debug-report`).
    pub artifacts: Vec<String>,
    /// The tools it may use: read-only ones only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<String>,
    /// The phases whose roles are handed its output when they run.
    pub hands_to: Vec<String>,
    /// The most tokens its answer may take (else [`UTILITY_TOKENS`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_output_tokens: Option<u32>,
}

/// The most tokens a utility's answer takes unless it says.
pub const UTILITY_TOKENS: u32 = 2 * CONSULT_TOKENS;

impl Utility {
    /// The most tokens its answer may take.
    pub fn cap(&self) -> u32 {
        self.max_output_tokens.unwrap_or(UTILITY_TOKENS)
    }
}

/// One `[[pipelines.NAME.utilities]]` table as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawUtility {
    id: Spanned<String>,
    name: String,
    summary: String,
    prompt: String,
    artifacts: Spanned<Vec<String>>,
    #[serde(default)]
    tools: Option<Spanned<Vec<String>>>,
    hands_to: Spanned<Vec<String>>,
    max_output_tokens: Option<u32>,
}

/// Checks the pipeline's utilities against its `phases`; the ones without
/// a mistake.
pub(super) fn check(
    checker: &mut Checker<'_>,
    raw: Vec<Spanned<RawUtility>>,
    phases: &[Phase],
) -> Vec<Utility> {
    let mut out: Vec<Utility> = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    for table in raw {
        let span: Range<usize> = table.span();
        let u = table.into_inner();
        let before = checker.count();
        let tools = u
            .tools
            .map(|t| item_spans(checker.text(), t))
            .unwrap_or_default();
        let hands_to = item_spans(checker.text(), u.hands_to);
        let id = u.id.get_ref().clone();
        if !valid_id(&id) {
            checker.error(
                Some(u.id.span()),
                format!("utility id `{id}` must be lowercase letters, digits, `-` or `_`"),
            );
        } else if seen.contains(&id) {
            checker.error(Some(u.id.span()), format!("duplicate utility id `{id}`"));
        }
        seen.push(id.clone());
        for (field, value) in [
            ("name", &u.name),
            ("summary", &u.summary),
            ("prompt", &u.prompt),
        ] {
            if value.trim().is_empty() {
                checker.error(
                    Some(span.clone()),
                    format!("utility `{id}`: `{field}` is empty"),
                );
            }
        }
        if u.artifacts.get_ref().iter().all(|a| a.trim().is_empty()) {
            checker.error(
                Some(u.artifacts.span()),
                format!("utility `{id}` names no `artifacts`"),
            );
        }
        if u.max_output_tokens.is_some_and(|c| c < 16) {
            checker.error(
                Some(span.clone()),
                format!("utility `{id}`: `max_output_tokens` must be at least 16"),
            );
        }
        for tool in &tools {
            if !crate::tools::READ_ONLY.contains(&tool.get_ref().as_str()) {
                checker.error(
                    Some(tool.span()),
                    format!(
                        "utility `{id}` may only read: `{}` is not a read-only tool ({})",
                        tool.get_ref(),
                        crate::tools::READ_ONLY.join(", ")
                    ),
                );
            }
        }
        if hands_to.is_empty() {
            checker.error(
                Some(span.clone()),
                format!("utility `{id}` hands its output to nobody: `hands_to` is empty"),
            );
        }
        for to in &hands_to {
            if !phases.iter().any(|p| &p.id == to.get_ref()) {
                let known: Vec<&str> = phases.iter().map(|p| p.id.as_str()).collect();
                checker.error(
                    Some(to.span()),
                    format!(
                        "unknown phase `{}` in utility `{id}`'s `hands_to` (phases: {})",
                        to.get_ref(),
                        known.join(", ")
                    ),
                );
            }
        }
        if checker.count() == before {
            out.push(Utility {
                id,
                name: u.name,
                summary: u.summary,
                prompt: u.prompt,
                artifacts: u.artifacts.into_inner(),
                tools: tools.into_iter().map(Spanned::into_inner).collect(),
                hands_to: hands_to.into_iter().map(Spanned::into_inner).collect(),
                max_output_tokens: u.max_output_tokens,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::pipeline::load::tests::load;
    use crate::pipeline::{SkillsFile, load_pipeline};

    const PIPELINE: &str = r#"
[pipelines.p]
[[pipelines.p.phases]]
id = "build"
role = "Builder"
artifact = "code"
prompt = "build"

[[pipelines.p.phases]]
id = "check"
role = "Checker"
artifact = "verdict"
inputs = ["build"]
prompt = "check"

[[pipelines.p.utilities]]
id = "debugger"
name = "Debugger"
summary = "finds causes"
artifacts = ["debug-report"]
tools = ["read_file"]
hands_to = ["check"]
prompt = "Debug."
"#;

    #[test]
    fn utilities_load_with_the_phases_they_hand_to() {
        let p = load(PIPELINE).expect("valid");
        let debugger = p.utility("debugger").expect("loaded");
        assert_eq!(debugger.hands_to, ["check"]);
        assert_eq!(debugger.tools, ["read_file"]);
        assert_eq!(debugger.cap(), super::UTILITY_TOKENS);
        // Each built-in utility and the phases it hands to.
        let matrix = |name: Option<&str>| -> Vec<String> {
            load_pipeline(&SkillsFile::builtin(), name)
                .expect("builtin")
                .utilities
                .iter()
                .map(|u| format!("{} → {}", u.id, u.hands_to.join(", ")))
                .collect()
        };
        assert_eq!(
            matrix(None),
            [
                "debugger → validate",
                "doc-janitor → commit",
                "mcp-expert → implement, commit",
                "project-bro → summarize, plan",
                "refactor-architect → implement, commit",
            ]
        );
        // Discovery declares the seed's utilities that hand work on in its
        // matrix; go-collab all five, onto its own roles.
        assert_eq!(
            matrix(Some("discovery")),
            [
                "debugger → qa",
                "mcp-expert → implementation, release",
                "refactor-architect → implementation, release",
            ]
        );
        assert_eq!(
            matrix(Some("go-collab")),
            [
                "debugger → release",
                "doc-janitor → release",
                "mcp-expert → build, release",
                "project-bro → clarify, design",
                "refactor-architect → build, release",
            ]
        );
    }

    #[test]
    fn every_mistake_in_a_utility_is_placed() {
        let text = PIPELINE
            .replace("hands_to = [\"check\"]", "hands_to = [\"build\", \"qa\"]")
            .replace(
                "tools = [\"read_file\"]",
                "tools = [\"read_file\", \"run_command\"]",
            )
            + "\n[[pipelines.p.utilities]]\nid = \"debugger\"\nname = \"Again\"\nsummary = \"s\"\nartifacts = []\nhands_to = [\"build\"]\nprompt = \"p\"\n";
        let errors = load(&text).expect_err("invalid");
        assert_eq!(
            errors,
            [
                "skills.toml:21:23: utility `debugger` may only read: `run_command` is not a read-only tool (read_file, list_dir, search, report_status)",
                "skills.toml:22:22: unknown phase `qa` in utility `debugger`'s `hands_to` (phases: build, check)",
                "skills.toml:26:6: duplicate utility id `debugger`",
                "skills.toml:29:13: utility `debugger` names no `artifacts`",
            ]
        );
        let unknown_key =
            load(&PIPELINE.replace("prompt = \"Debug.\"", "prompt = \"Debug.\"\ncolour = 1"))
                .expect_err("unknown key");
        assert!(
            unknown_key[0].contains("unknown field `colour`"),
            "{unknown_key:?}"
        );
    }
}
