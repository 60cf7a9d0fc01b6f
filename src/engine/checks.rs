//! Reading a phase's structured answer before its gate opens.
//!
//! A phase whose `output` is a plan or a verdict must answer with one that
//! can be read. One that cannot is recorded as `invalid` and asked for again
//! with the mistakes as feedback, at most `max_format_retries` times in a
//! row; after that its gate opens and a person decides (edit it, reject,
//! approve it as it is). A readable verdict of `fail` sends the work back to
//! the phase named by `returns_to` by itself, with the issues as the
//! developer's feedback, at most `max_return_rounds` times; after that the
//! gate opens on the failing verdict. The gate's question says which case
//! it is.

use super::{Engine, EngineError, Next};
use crate::formats::Read;
use crate::session::{EventKind, PhaseStatus};

impl Engine {
    /// After phase `index` answered: where the session goes by itself (the
    /// phase again, or back to an earlier one), or `None` to open its gate.
    pub(super) fn check_answer(&mut self, index: usize) -> Result<Option<Next>, EngineError> {
        let phase = &self.spec.pipeline.phases[index];
        let state = &self.state.phases[index];
        if phase.output.is_markdown() || state.status == PhaseStatus::Failed {
            return Ok(None);
        }
        let Some(attempt) = state.current() else {
            return Ok(None);
        };
        // Judged already (a resumed session): only the gate is missing.
        if attempt.invalid.is_some() {
            return Ok(None);
        }
        let Some(text) = attempt.effective() else {
            return Ok(None);
        };
        match self.spec.pipeline.read_answer(index, text) {
            Err(errors) => {
                // Unreadable answers in a row since a person last decided.
                let since = state.decisions.last().map(|d| d.at);
                let tries = state
                    .attempts
                    .iter()
                    .rev()
                    .skip(1)
                    .take_while(|a| {
                        a.invalid.is_some()
                            && since.is_none_or(|t| a.started_at.is_some_and(|s| s >= t))
                    })
                    .count();
                let retry = tries < self.spec.pipeline.max_format_retries as usize;
                self.emit(EventKind::Invalid {
                    phase: phase.id.clone(),
                    attempt: attempt.number,
                    errors,
                    retry,
                })?;
                Ok(retry.then_some(Next::Run(index)))
            }
            Ok(Some(Read::Verdict(verdict))) if !verdict.passed() => {
                let Some(to) = phase.returns_to.clone() else {
                    return Ok(None);
                };
                let round = state.automatic_returns();
                let Some(target) = self.spec.pipeline.index_of(&to) else {
                    return Ok(None);
                };
                if round >= self.spec.pipeline.max_return_rounds {
                    return Ok(None);
                }
                let reason = format!(
                    "{} failed the work (round {} of {}). Fix these issues:\n{}",
                    phase.role,
                    round + 1,
                    self.spec.pipeline.max_return_rounds,
                    verdict.issues_text()
                );
                self.emit(EventKind::Returned {
                    from: phase.id.clone(),
                    to,
                    reason,
                    automatic: true,
                })?;
                Ok(Some(Next::Run(target)))
            }
            Ok(_) => Ok(None),
        }
    }

    /// The question the gate after phase `index` asks: the phase's own,
    /// unless its answer could not be read or its verdict failed.
    pub(super) fn question(&self, index: usize) -> String {
        let phase = &self.spec.pipeline.phases[index];
        let state = &self.state.phases[index];
        let current = state.current();
        if let Some(errors) = current.and_then(|a| a.invalid.as_ref()) {
            let can_reject = state.rejections_left(self.spec.pipeline.max_attempts) > 0;
            return format!(
                "The {} could not be read ({} problem{}). Edit it{}, or approve it as it is?",
                phase.artifact,
                errors.len(),
                if errors.len() == 1 { "" } else { "s" },
                if can_reject {
                    ", reject to ask again"
                } else {
                    ""
                }
            );
        }
        // As a person's edit left it, not as the agent's draft had it.
        let missing = current
            .map(|a| a.sections(&phase.section_names()).missing)
            .unwrap_or_default();
        if !missing.is_empty() {
            let can_reject = state.rejections_left(self.spec.pipeline.max_attempts) > 0;
            return format!(
                "Missing output{s}: {}. Edit {them} in{reject}, or approve without {them}?",
                missing
                    .iter()
                    .map(|m| format!("`{m}`"))
                    .collect::<Vec<_>>()
                    .join(", "),
                s = if missing.len() == 1 { "" } else { "s" },
                them = if missing.len() == 1 { "it" } else { "them" },
                reject = if can_reject {
                    ", reject to ask again"
                } else {
                    ""
                },
            );
        }
        let failing: Vec<String> = current
            .map(|a| {
                a.failing_tasks()
                    .iter()
                    .map(|t| t.task.to_string())
                    .collect()
            })
            .unwrap_or_default();
        if !failing.is_empty() {
            return format!(
                "Task{} {} still fail{} {} critique after {} round{}. Approve anyway, edit, reject or return?",
                if failing.len() == 1 { "" } else { "s" },
                failing.join(", "),
                if failing.len() == 1 { "s" } else { "" },
                if failing.len() == 1 { "its" } else { "their" },
                self.spec.pipeline.max_task_rounds,
                if self.spec.pipeline.max_task_rounds == 1 {
                    ""
                } else {
                    "s"
                },
            );
        }
        let unchecked: Vec<String> = current
            .map(|a| {
                a.unchecked_tasks()
                    .iter()
                    .map(|t| t.task.to_string())
                    .collect()
            })
            .unwrap_or_default();
        if !unchecked.is_empty() {
            return format!(
                "The critique of task{} {} could not be read, so {} unchecked. Approve anyway, edit, reject or return?",
                if unchecked.len() == 1 { "" } else { "s" },
                unchecked.join(", "),
                if unchecked.len() == 1 {
                    "it is"
                } else {
                    "they are"
                },
            );
        }
        if let Some(v) = self.state.verdict(index)
            && !v.passed()
        {
            let rounds = match (&phase.returns_to, state.automatic_returns()) {
                (Some(to), n) if n > 0 => {
                    format!(
                        " after {n} round{} back to {to}",
                        if n == 1 { "" } else { "s" }
                    )
                }
                _ => String::new(),
            };
            return format!(
                "{} failed the work with {} issue{}{rounds}. Approve anyway, return it, or abort?",
                phase.role,
                v.issues.len(),
                if v.issues.len() == 1 { "" } else { "s" }
            );
        }
        phase.gate.clone()
    }
}
