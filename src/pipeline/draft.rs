//! A phase of skills.toml as far as it could be read ([`DraftPhase`]), and
//! the checks that need every phase at once: duplicate ids and artifacts,
//! inputs, returns and plans that name unknown or later phases or outputs,
//! skill ids.

use std::collections::BTreeMap;
use std::ops::Range;

use toml::{Spanned, Value};

use super::load::{Checker, item_spans, valid_id};
use super::{Phase, input_parts};
use crate::formats::OutputKind;
use crate::policy::Rules;

/// A phase as far as it could be read: every field that was present and of
/// the right type. Phases with gaps still take part in the reference checks.
pub(super) struct DraftPhase {
    pub(super) id: Option<Spanned<String>>,
    pub(super) role: Option<String>,
    pub(super) artifact: Option<Spanned<String>>,
    pub(super) outputs: Vec<Spanned<String>>,
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

    /// The names of its outputs: those it declares, else its artifact.
    fn output_names(&self) -> Vec<&str> {
        if self.outputs.is_empty() {
            self.artifact.iter().map(|a| a.get_ref().as_str()).collect()
        } else {
            self.outputs.iter().map(|o| o.get_ref().as_str()).collect()
        }
    }

    pub(super) fn complete(
        self,
        gate: impl FnOnce() -> String,
        pipeline_language: Option<&String>,
    ) -> Option<Phase> {
        let id = self.id?.into_inner();
        Some(Phase {
            role: self.role?,
            artifact: match self.artifact {
                Some(artifact) => artifact.into_inner(),
                None if !self.outputs.is_empty() => id.clone(),
                None => return None,
            },
            outputs: self.outputs.into_iter().map(Spanned::into_inner).collect(),
            id,
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
            let (name, output) = input_parts(input.get_ref());
            if let Some(source) = earlier.iter().find(|e| e.id() == Some(name)) {
                let declared = source.output_names();
                if let Some(output) = output
                    && !declared.contains(&output)
                {
                    checker.error(
                        Some(input.span()),
                        format!(
                            "phase `{name}` has no output `{output}` (its outputs: {})",
                            declared.join(", ")
                        ),
                    );
                }
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

/// A phase's `outputs`: each a valid name, none twice.
pub(super) fn take_outputs(
    checker: &mut Checker<'_>,
    table: &mut BTreeMap<String, Spanned<Value>>,
    span: &Range<usize>,
) -> Vec<Spanned<String>> {
    let Some(list) = checker.take::<Vec<String>>(table, "outputs", span, false) else {
        return Vec::new();
    };
    let list_span = list.span();
    let outputs = item_spans(checker.text(), list);
    if outputs.is_empty() {
        checker.error(Some(list_span), "`outputs` is empty: name at least one");
    }
    for (i, output) in outputs.iter().enumerate() {
        let name = output.get_ref();
        if !valid_id(name) || outputs[..i].iter().any(|o| o.get_ref() == name) {
            checker.error(
                Some(output.span()),
                format!(
                    "output `{name}` must be lowercase letters, digits, `-` or `_`, and named once"
                ),
            );
        }
    }
    outputs
}

#[cfg(test)]
mod tests {
    use super::super::load::tests::load;

    const TWO: &str = "[pipelines.p]\n\
        [[pipelines.p.phases]]\nid = \"fit\"\nrole = \"Fit\"\nprompt = \"p\"\n\
        outputs = [\"feature-brief\", \"work-unit-registry\"]\n\
        [[pipelines.p.phases]]\nid = \"def\"\nrole = \"Def\"\nartifact = \"req\"\nprompt = \"p\"\n";

    #[test]
    fn named_outputs_load_and_inputs_pick_them() {
        let text = format!("{TWO}inputs = [\"fit:work-unit-registry\", \"fit\"]\n");
        let pipeline = load(&text).expect("loads");
        let fit = &pipeline.phases[0];
        assert_eq!(fit.artifact, "fit", "the artifact defaults to the phase id");
        assert_eq!(
            fit.output_names(),
            vec!["feature-brief", "work-unit-registry"]
        );
        assert_eq!(pipeline.phases[1].output_names(), vec!["req"]);
        assert_eq!(
            pipeline.reads(1),
            vec![(0, vec!["work-unit-registry"]), (0, vec!["feature-brief"])],
            "each output is handed once, where it is first named"
        );
    }

    #[test]
    fn an_input_naming_an_undeclared_output_is_placed() {
        let text = format!("{TWO}inputs = [\"fit:feature-brief\", \"fit:roadmap\"]\n");
        let errors = load(&text).expect_err("wrong output");
        assert_eq!(
            errors,
            vec![
                "skills.toml:12:32: phase `fit` has no output `roadmap` (its outputs: \
                 feature-brief, work-unit-registry)"
                    .to_owned()
            ]
        );
    }

    #[test]
    fn a_single_artifact_is_its_phase_s_one_output() {
        let text = TWO.replace("id = \"def\"", "id = \"x\"\nartifact = \"b\"\nrole = \"X\"\nprompt = \"p\"\n[[pipelines.p.phases]]\nid = \"def\"")
            + "inputs = [\"x:b\", \"x:c\"]\n";
        let errors = load(&text).expect_err("x has one output");
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].contains("phase `x` has no output `c` (its outputs: b)"));
    }

    #[test]
    fn outputs_must_be_names_given_once() {
        let text = TWO.replace("\"work-unit-registry\"]", "\"feature-brief\", \"Bad\"]");
        let errors = load(&text).expect_err("bad outputs");
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors.iter().all(|e| e.contains("named once")));
        let errors = load(&TWO.replace(
            "outputs = [\"feature-brief\", \"work-unit-registry\"]",
            "outputs = []",
        ))
        .expect_err("no outputs");
        assert!(
            errors.iter().any(|e| e.contains("`outputs` is empty")),
            "{errors:?}"
        );
    }
}
