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
        } else if out.iter().any(|o| o.id == id) {
            checker.error(Some(u.id.span()), format!("duplicate utility id `{id}`"));
        }
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
