//! A phase of skills.toml as far as it could be read ([`DraftPhase`]), and
//! the checks that need every phase at once: duplicate ids and artifacts,
//! inputs, returns and plans that name unknown or later phases, skill ids.

use toml::Spanned;

use super::Phase;
use super::load::{Checker, valid_id};
use crate::formats::OutputKind;
use crate::policy::Rules;

/// A phase as far as it could be read: every field that was present and of
/// the right type. Phases with gaps still take part in the reference checks.
pub(super) struct DraftPhase {
    pub(super) id: Option<Spanned<String>>,
    pub(super) role: Option<String>,
    pub(super) artifact: Option<Spanned<String>>,
    pub(super) inputs: Vec<Spanned<String>>,
    pub(super) gate: Option<String>,
    pub(super) prompt: Option<String>,
    pub(super) model: Option<String>,
    pub(super) temperature: Option<f64>,
    pub(super) language: Option<String>,
    pub(super) tools: Vec<String>,
    pub(super) permissions: Rules,
    pub(super) sandbox: Option<crate::sandbox::Reach>,
    pub(super) output: OutputKind,
    pub(super) max_output_tokens: Option<u32>,
    pub(super) returns_to: Option<Spanned<String>>,
    pub(super) tasks_from: Option<Spanned<String>>,
    pub(super) skills: Vec<Spanned<String>>,
}

impl DraftPhase {
    pub(super) fn id(&self) -> Option<&str> {
        self.id.as_ref().map(|s| s.get_ref().as_str())
    }

    pub(super) fn complete(
        self,
        gate: impl FnOnce() -> String,
        pipeline_language: Option<&String>,
    ) -> Option<Phase> {
        Some(Phase {
            id: self.id?.into_inner(),
            role: self.role?,
            artifact: self.artifact?.into_inner(),
            inputs: self.inputs.into_iter().map(Spanned::into_inner).collect(),
            gate: self.gate.unwrap_or_else(gate),
            prompt: self.prompt?,
            model: self.model,
            temperature: self.temperature,
            language: self.language.or_else(|| pipeline_language.cloned()),
            tools: self.tools,
            permissions: self.permissions,
            sandbox: self.sandbox,
            output: self.output,
            max_output_tokens: self.max_output_tokens,
            returns_to: self.returns_to.map(Spanned::into_inner),
            tasks_from: self.tasks_from.map(Spanned::into_inner),
            skills: self.skills.into_iter().map(Spanned::into_inner).collect(),
        })
    }
}

/// Duplicate ids and artifacts, and inputs that name unknown or later phases.
pub(super) fn check_references(checker: &mut Checker<'_>, drafts: &[DraftPhase]) {
    for (i, d) in drafts.iter().enumerate() {
        let earlier = &drafts[..i];
        if let Some(id) = &d.id
            && earlier.iter().any(|e| e.id() == Some(id.get_ref()))
        {
            checker.error(
                Some(id.span()),
                format!("duplicate phase id `{}`", id.get_ref()),
            );
        }
        if let Some(artifact) = &d.artifact
            && earlier
                .iter()
                .any(|e| e.artifact.as_ref().map(Spanned::get_ref) == Some(artifact.get_ref()))
        {
            checker.error(
                Some(artifact.span()),
                format!("duplicate artifact name `{}`", artifact.get_ref()),
            );
        }
        for input in &d.inputs {
            let name = input.get_ref().as_str();
            if earlier.iter().any(|e| e.id() == Some(name)) {
                continue;
            }
            let message = if d.id() == Some(name) {
                format!("phase `{name}` cannot read its own artifact")
            } else if drafts.iter().any(|e| e.id() == Some(name)) {
                format!(
                    "input `{name}` runs after `{}`; a phase reads only earlier phases",
                    d.id().unwrap_or("this phase")
                )
            } else {
                let known: Vec<_> = earlier.iter().filter_map(DraftPhase::id).collect();
                format!(
                    "unknown phase `{name}` in `inputs` (earlier phases: {})",
                    if known.is_empty() {
                        "none".to_owned()
                    } else {
                        known.join(", ")
                    }
                )
            };
            checker.error(Some(input.span()), message);
        }
        if let Some(to) = &d.returns_to
            && !earlier.iter().any(|e| e.id() == Some(to.get_ref()))
        {
            checker.error(
                Some(to.span()),
                format!(
                    "`returns_to` must name an earlier phase, not `{}`",
                    to.get_ref()
                ),
            );
        }
        for (j, skill) in d.skills.iter().enumerate() {
            let taken = earlier
                .iter()
                .flat_map(|e| &e.skills)
                .chain(&d.skills[..j])
                .any(|e| e.get_ref() == skill.get_ref());
            if !valid_id(skill.get_ref()) || taken {
                checker.error(
                    Some(skill.span()),
                    format!(
                        "skill `{}` must be lowercase letters, digits, `-` or `_`, and name one phase only",
                        skill.get_ref()
                    ),
                );
            }
        }
        if let Some(from) = &d.tasks_from
            && !earlier
                .iter()
                .any(|e| e.id() == Some(from.get_ref()) && e.output == OutputKind::Plan)
        {
            checker.error(
                Some(from.span()),
                format!(
                    "`tasks_from` must name an earlier phase whose output is \"plan\", not `{}`",
                    from.get_ref()
                ),
            );
        }
    }
}
