//! The pipeline a session runs: its phases, roles, artifacts and gates.
//!
//! A [`Pipeline`] is what `skills.toml` means once it has been checked. It is
//! plain data: the engine walks it, the session log stores a copy of it in
//! `session_started` (so a replay shows the pipeline as it was, whatever the
//! file says today), and the UI lays out one column per [`Phase`]. Reading and
//! checking the file lives in [`load`]; choosing a pipeline for a request by
//! its triggers in [`pick`].

mod draft;
mod load;
mod pick;
mod utility;

pub use load::{BUILTIN_SKILLS, Diagnostic, SkillsFile, load_pipeline, pipeline_names};
pub use pick::{Pick, pick_pipeline};
pub use utility::{UTILITY_TOKENS, Utility};

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::formats::OutputKind;
use crate::policy::{Rules, Verdict};
use crate::sandbox::Reach;

/// Attempts a phase may take before its gate stops offering "reject".
pub const DEFAULT_MAX_ATTEMPTS: u32 = 3;

/// A validated pipeline: phases in the order they run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Pipeline {
    pub name: String,
    pub title: String,
    pub max_attempts: u32,
    /// Limits that pause the session at the next gate when passed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<Budget>,
    /// Command patterns for every role: `"go *" = "allow"`.
    #[serde(default, skip_serializing_if = "Rules::is_empty")]
    pub permissions: Rules,
    /// Path patterns for `write_file` (`"*" = "ask"`, `"internal/*" =
    /// "allow"`); none means every write in the workspace is allowed.
    #[serde(default, skip_serializing_if = "Rules::is_empty")]
    pub write_permissions: Rules,
    /// What every role's commands may reach in the sandbox, unless a
    /// phase sets its own.
    #[serde(default, skip_serializing_if = "Reach::is_default")]
    pub sandbox: Reach,
    /// How many rounds of tool calls one attempt may make.
    #[serde(default = "default_tool_rounds")]
    pub max_tool_rounds: u32,
    /// How often an unreadable plan or verdict is asked for again, with
    /// what was wrong, before its gate opens.
    #[serde(default = "default_format_retries")]
    pub max_format_retries: u32,
    /// How often a failing verdict sends work back by itself before its
    /// gate opens for a person to decide.
    #[serde(default = "default_return_rounds")]
    pub max_return_rounds: u32,
    /// How many plan tasks run at once.
    #[serde(default = "default_parallel_tasks")]
    pub max_parallel_tasks: u32,
    /// How often a critique may send a task back before it counts as failed.
    #[serde(default = "default_task_rounds")]
    pub max_task_rounds: u32,
    /// Request patterns that pick this pipeline.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub triggers: Vec<String>,
    /// Domain experts whose guidance joins a role's prompt when their
    /// keywords appear in the request or the plan.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub specialists: Vec<Specialist>,
    /// Roles a person may summon at any gate.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub utilities: Vec<Utility>,
    pub phases: Vec<Phase>,
}

/// Rounds of tool calls per attempt unless skills.toml says otherwise.
pub const DEFAULT_TOOL_ROUNDS: u32 = 24;

fn default_tool_rounds() -> u32 {
    DEFAULT_TOOL_ROUNDS
}

/// Re-asks for an unreadable structured answer unless skills.toml says otherwise.
pub const DEFAULT_FORMAT_RETRIES: u32 = 2;

fn default_format_retries() -> u32 {
    DEFAULT_FORMAT_RETRIES
}

/// Plan tasks at once unless skills.toml says otherwise.
pub const DEFAULT_PARALLEL_TASKS: u32 = 2;

fn default_parallel_tasks() -> u32 {
    DEFAULT_PARALLEL_TASKS
}

/// Runs of a task (the first and those its critique asked for).
pub const DEFAULT_TASK_ROUNDS: u32 = 2;

fn default_task_rounds() -> u32 {
    DEFAULT_TASK_ROUNDS
}

/// Automatic returns on a failing verdict unless skills.toml says otherwise.
pub const DEFAULT_RETURN_ROUNDS: u32 = 2;

fn default_return_rounds() -> u32 {
    DEFAULT_RETURN_ROUNDS
}

/// A domain specialist (routing by domain): keywords that engage it, the
/// roles it advises, and either a `prompt` (it is consulted: a short model
/// call of its own whose advice the roles are handed) or fixed `guidance`
/// (pasted into the roles' prompts as it is).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Specialist {
    pub name: String,
    pub keywords: Vec<String>,
    /// Fixed text pasted into the advised role's prompt (no `prompt`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub guidance: String,
    /// The specialist's own instructions: set, it is consulted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
    /// The most tokens its advice may take (else [`CONSULT_TOKENS`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_output_tokens: Option<u32>,
    /// The roles it advises (role names); empty for every role.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
}

/// The most tokens a consult's advice takes unless its specialist says.
pub const CONSULT_TOKENS: u32 = 600;

impl Specialist {
    /// The first keyword that occurs in `text` as a whole word or phrase,
    /// ignoring case.
    pub fn matches(&self, text: &str) -> Option<&str> {
        let text = text.to_lowercase();
        self.keywords
            .iter()
            .find(|k| contains_word(&text, &k.to_lowercase()))
            .map(String::as_str)
    }

    /// Whether it is consulted (it has a `prompt`) rather than pasted.
    pub fn consults(&self) -> bool {
        self.prompt.as_deref().is_some_and(|p| !p.trim().is_empty())
    }

    /// The most tokens its advice may take.
    pub fn advice_cap(&self) -> u32 {
        self.max_output_tokens.unwrap_or(CONSULT_TOKENS)
    }

    pub fn advises(&self, role: &str) -> bool {
        self.roles.is_empty() || self.roles.iter().any(|r| r.eq_ignore_ascii_case(role))
    }
}

/// Whether `word` occurs in `text` with no letter or digit on either side.
fn contains_word(text: &str, word: &str) -> bool {
    if word.is_empty() {
        return false;
    }
    text.match_indices(word).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + word.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

/// What a session may spend before a human must say to go on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Budget {
    pub max_tokens: Option<u64>,
    pub max_cost_usd: Option<f64>,
}

/// One phase: a role that reads earlier artifacts and produces one of its own.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Phase {
    pub id: String,
    pub role: String,
    pub artifact: String,
    /// The named outputs its answer holds, one section each (none: the
    /// artifact is its one output).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outputs: Vec<String>,
    /// What this role reads: an earlier phase's id (all its outputs) or
    /// `phase:output` (that one), see [`input_parts`].
    pub inputs: Vec<String>,
    /// The question the checkpoint after this phase asks the human.
    pub gate: String,
    /// The role's instructions.
    pub prompt: String,
    /// A model for this role only (else the session's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// The language this role answers in (the pipeline's, if it sets one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// The workspace tools this role may use.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<String>,
    /// Command patterns for this role, on top of the pipeline's.
    #[serde(default, skip_serializing_if = "Rules::is_empty")]
    pub permissions: Rules,
    /// What this role's commands may reach in the sandbox, instead of the
    /// pipeline's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sandbox: Option<Reach>,
    /// How the answer is read: Markdown, a plan or a verdict.
    #[serde(default, skip_serializing_if = "OutputKind::is_markdown")]
    pub output: OutputKind,
    /// The most tokens one answer of this role may take (else a default
    /// for its `output`: [`OutputKind::default_cap`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_output_tokens: Option<u32>,
    /// Where a failing verdict sends the work (an earlier phase).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub returns_to: Option<String>,
    /// Run the plan of this (earlier, `output = "plan"`) phase task by
    /// task, each followed by its critique, instead of one conversation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tasks_from: Option<String>,
    /// The skill ids a plan's task may name to run as this role (its
    /// prompt, tools and permissions): `backend-testing`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skills: Vec<String>,
}

/// An input as written: the phase it names and, after a `:`, the one
/// output of it (none: all of them).
pub fn input_parts(input: &str) -> (&str, Option<&str>) {
    match input.split_once(':') {
        Some((phase, output)) => (phase.trim(), Some(output.trim())),
        None => (input.trim(), None),
    }
}

impl Phase {
    /// The names of its outputs: those it declares, else its artifact.
    pub fn output_names(&self) -> Vec<&str> {
        if self.outputs.is_empty() {
            vec![self.artifact.as_str()]
        } else {
            self.outputs.iter().map(String::as_str).collect()
        }
    }

    /// Whether its answer is split into named sections.
    pub fn sectioned(&self) -> bool {
        !self.outputs.is_empty()
    }

    /// The named sections its answer is split into: its outputs when it is
    /// [`sectioned`](Self::sectioned) (even just one), else none.
    pub fn section_names(&self) -> Vec<&str> {
        if self.sectioned() {
            self.output_names()
        } else {
            Vec::new()
        }
    }

    /// The most tokens one answer of this role may take.
    pub fn output_cap(&self) -> u32 {
        self.max_output_tokens
            .unwrap_or_else(|| self.output.default_cap())
    }
}

impl Pipeline {
    /// Every rule set: the pipeline's, then each phase's.
    fn rules_mut(&mut self) -> impl Iterator<Item = &mut Rules> {
        std::iter::once(&mut self.permissions)
            .chain(self.phases.iter_mut().map(|p| &mut p.permissions))
    }

    /// Turns every `allow` rule whose pattern is not in `trusted` into
    /// `ask`, for a pipeline from a file nobody vouched for; returns the
    /// patterns it held, sorted.
    pub fn hold_allows(&mut self, trusted: &BTreeSet<String>) -> Vec<String> {
        let mut held = BTreeSet::new();
        for rules in self.rules_mut() {
            for (pattern, verdict) in rules.iter_mut() {
                if *verdict == Verdict::Allow && !trusted.contains(pattern) {
                    *verdict = Verdict::Ask;
                    held.insert(pattern.clone());
                }
            }
        }
        held.into_iter().collect()
    }

    /// The patterns it allows without asking, at any level.
    pub fn allowed(&self) -> BTreeSet<String> {
        std::iter::once(&self.permissions)
            .chain(self.phases.iter().map(|p| &p.permissions))
            .flat_map(|rules| rules.iter())
            .filter(|(_, verdict)| **verdict == Verdict::Allow)
            .map(|(pattern, _)| pattern.clone())
            .collect()
    }

    /// The index of the phase with this id.
    pub fn index_of(&self, id: &str) -> Option<usize> {
        self.phases.iter().position(|p| p.id == id)
    }

    /// The utility role with this id.
    pub fn utility(&self, id: &str) -> Option<&Utility> {
        self.utilities.iter().find(|u| u.id == id)
    }

    /// What phase `index` reads, input by input: the index of the phase
    /// it reads from and the names of that phase's outputs it is handed,
    /// each output once (an input naming it again adds nothing).
    pub fn reads(&self, index: usize) -> Vec<(usize, Vec<&str>)> {
        let Some(reader) = self.phases.get(index) else {
            return Vec::new();
        };
        let mut reads: Vec<(usize, Vec<&str>)> = Vec::new();
        for input in &reader.inputs {
            let (id, output) = input_parts(input);
            let Some(source) = self.index_of(id) else {
                continue;
            };
            let names = match output {
                Some(name) => vec![name],
                None => self.phases[source].output_names(),
            };
            // An output named twice (`fit:x` and all of `fit`) is handed
            // once, where it is first named.
            let names: Vec<&str> = names
                .into_iter()
                .filter(|n| !reads.iter().any(|(s, ns)| *s == source && ns.contains(n)))
                .collect();
            if !names.is_empty() {
                reads.push((source, names));
            }
        }
        reads
    }

    /// The phase with this id.
    pub fn phase(&self, id: &str) -> Option<&Phase> {
        self.phases.iter().find(|p| p.id == id)
    }

    /// Every skill id the phases name, in phase order: what a plan's
    /// `skill_id` may be (anything, when there are none).
    pub fn skill_ids(&self) -> Vec<&str> {
        self.phases
            .iter()
            .flat_map(|p| p.skills.iter().map(String::as_str))
            .collect()
    }

    /// The index of the phase whose role a plan task with `skill` runs as.
    pub fn skill_phase(&self, skill: &str) -> Option<usize> {
        self.phases
            .iter()
            .position(|p| p.skills.iter().any(|s| s == skill))
    }

    /// Reads phase `index`'s answer as its `output` says, a plan's skill
    /// ids held to this pipeline's.
    pub fn read_answer(
        &self,
        index: usize,
        text: &str,
    ) -> Result<Option<crate::formats::Read>, Vec<String>> {
        let kind = self.phases.get(index).map(|p| p.output).unwrap_or_default();
        crate::formats::read_with(kind, text, &self.skill_ids())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specialists_match_whole_words_ignoring_case() {
        let redis = Specialist {
            name: "redis".into(),
            keywords: vec!["redis".into(), "rate limit".into()],
            guidance: "Use Lua for atomic counters.".into(),
            prompt: None,
            max_output_tokens: None,
            roles: vec!["Senior Backend Developer".into()],
        };
        assert_eq!(
            redis.matches("Add a Rate Limit to orders"),
            Some("rate limit")
        );
        assert_eq!(redis.matches("Keep state in Redis."), Some("redis"));
        assert_eq!(redis.matches("rediscover the rate limiter"), None);
        assert!(redis.advises("senior backend developer"));
        assert!(!redis.advises("QA Engineer"));
    }
}
