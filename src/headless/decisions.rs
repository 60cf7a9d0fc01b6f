//! The decisions a headless run answers gates with: a decisions file
//! (`--decisions`), `--approve all`, and `--allow` patterns for commands the
//! permission policy asks about. Mistakes in the file are reported with
//! file, line and column before anything runs.

use std::collections::VecDeque;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

use crate::diagnostic::Diagnostic;
use crate::pipeline::Pipeline;
use crate::session::{Action, DecidedBy, Decision, ReviewComment};

/// How gates are answered without a human.
#[derive(Debug, Default)]
pub struct GatePolicy {
    /// Decisions from `--decisions`, used first, each for its phase, with
    /// the hunks to revert before it.
    pub queued: VecDeque<Scripted>,
    /// `--approve all`: approve any gate the queue has nothing for, except
    /// a failed phase's or one that opens over budget.
    pub approve_rest: bool,
    /// `--allow`: patterns of commands to allow when the policy asks.
    pub allow: Vec<String>,
}

/// A decision from the decisions file, and the hunks of the phase's
/// change it reverts first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scripted {
    pub decision: Decision,
    pub reverts: Vec<HunkRef>,
    /// Utility roles summoned at the gate before the decision (`summon =
    /// ["debugger"]`); the engine records what they write first.
    pub summons: Vec<String>,
}

/// A hunk of a phase's change: its file, and its number in the file (1
/// for the first), as `show --diff` prints them.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HunkRef {
    pub file: String,
    pub hunk: usize,
}

/// One decision as a decisions file writes it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDecision {
    action: Action,
    notes: Option<String>,
    feedback: Option<String>,
    content: Option<String>,
    /// The edited artifact, read from a file beside the decisions file.
    content_file: Option<Spanned<String>>,
    to: Option<Spanned<String>>,
    /// Review comments on the phase's change (`[[implement.comments]]`).
    #[serde(default)]
    comments: Vec<ReviewComment>,
    /// Hunks of the phase's change to revert first (`[[implement.reverts]]`).
    #[serde(default)]
    reverts: Vec<HunkRef>,
    /// Utility roles to summon at the gate first (`summon = ["debugger"]`).
    #[serde(default)]
    summon: Vec<Spanned<String>>,
}

/// The first utility a decision summons that the pipeline does not have,
/// placed, with what it has.
fn unknown_utility(
    pipeline: &Pipeline,
    summon: &[Spanned<String>],
) -> Option<(std::ops::Range<usize>, String)> {
    let unknown = summon
        .iter()
        .find(|u| pipeline.utility(u.get_ref()).is_none())?;
    let known: Vec<&str> = pipeline.utilities.iter().map(|u| u.id.as_str()).collect();
    let has = if known.is_empty() {
        "none".to_owned()
    } else {
        known.join(", ")
    };
    Some((
        unknown.span(),
        format!(
            "no utility `{}` to summon (the pipeline has: {has})",
            unknown.get_ref()
        ),
    ))
}

impl GatePolicy {
    /// Reads a decisions file: for each phase id, one decision or a list of
    /// them, used in order at that phase's gates.
    ///
    /// ```toml
    /// [[summarize]]
    /// action = "reject"
    /// feedback = "Say which clients are exempt"
    ///
    /// [implement]
    /// action = "edit"
    /// content_file = "implementation.md"
    ///
    /// [validate]
    /// summon = ["debugger"]     # its report is recorded before the approval
    /// action = "approve"
    ///
    /// [[test]]
    /// action = "reject"
    /// [[test.comments]]
    /// file = "internal/orders/service_test.go"
    /// line = 12
    /// text = "Also test a second key"
    /// ```
    pub fn read_decisions(path: &Path, pipeline: &Pipeline) -> Result<VecDeque<Scripted>, String> {
        let file = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|e| format!("{file}: {e}"))?;
        let text = crate::diagnostic::decode(&file, bytes).map_err(|e| e.to_string())?;
        let doc = DeTable::parse(&text)
            .map_err(|e| Diagnostic::from_toml(&file, &text, &e).to_string())?;
        let mut found = Vec::new();
        let mut decisions = VecDeque::new();
        let here = path.parent().unwrap_or_else(|| Path::new("."));
        for (key, value) in doc.into_inner() {
            let phase = Spanned::new(key.span(), key.get_ref().to_string());
            let Some(index) = pipeline.index_of(phase.get_ref()) else {
                found.push(Diagnostic::at(
                    &file,
                    &text,
                    Some(phase.span()),
                    format!("no phase `{}` in the pipeline", phase.get_ref()),
                ));
                continue;
            };
            // One decision (a table) or several (an array of tables).
            let entries: Vec<_> = if value.get_ref().is_array() {
                let DeValue::Array(items) = value.into_inner() else {
                    continue;
                };
                items.into_iter().collect()
            } else {
                vec![value]
            };
            for entry in entries {
                let span = entry.span();
                let raw = match RawDecision::deserialize(ValueDeserializer::from(entry)) {
                    Ok(raw) => raw,
                    Err(e) => {
                        found.push(Diagnostic::at(
                            &file,
                            &text,
                            e.span().or(Some(span)),
                            e.message().trim(),
                        ));
                        continue;
                    }
                };
                let mut problem = |span, message: String| {
                    found.push(Diagnostic::at(&file, &text, Some(span), message));
                };
                let content = match (&raw.content, &raw.content_file) {
                    (_, Some(name)) => match std::fs::read_to_string(here.join(name.get_ref())) {
                        Ok(content) => Some(content),
                        Err(e) => {
                            problem(
                                name.span(),
                                format!("cannot read `{}`: {e}", name.get_ref()),
                            );
                            continue;
                        }
                    },
                    (content, None) => content.clone(),
                };
                let needs = match raw.action {
                    Action::ApproveWithNotes if raw.notes.is_none() => {
                        Some("`approve_with_notes` needs `notes`")
                    }
                    Action::Edit if content.is_none() => {
                        Some("`edit` needs `content` or `content_file`")
                    }
                    Action::Return if raw.to.is_none() => Some("`return` needs `to`"),
                    Action::Approve
                    | Action::ApproveWithNotes
                    | Action::Edit
                    | Action::Reject
                    | Action::Return
                    | Action::Abort => None,
                };
                if let Some(needs) = needs {
                    problem(span, needs.to_owned());
                    continue;
                }
                if let Some((span, message)) = unknown_utility(pipeline, &raw.summon) {
                    problem(span, message);
                    continue;
                }
                if let Some(to) = &raw.to
                    && pipeline.index_of(to.get_ref()).is_none_or(|t| t >= index)
                {
                    problem(
                        to.span(),
                        format!(
                            "`{}` is not a phase before `{}`",
                            to.get_ref(),
                            phase.get_ref()
                        ),
                    );
                    continue;
                }
                decisions.push_back(Scripted {
                    decision: Decision {
                        phase: phase.get_ref().clone(),
                        action: raw.action,
                        notes: raw.notes,
                        feedback: raw.feedback,
                        content,
                        to: raw.to.map(Spanned::into_inner),
                        by: DecidedBy::Policy,
                        // Bound when its gate opens.
                        gate: None,
                        comments: raw.comments,
                    },
                    reverts: raw.reverts,
                    summons: raw.summon.into_iter().map(Spanned::into_inner).collect(),
                });
            }
        }
        if found.is_empty() {
            Ok(decisions)
        } else {
            found.sort_by_key(|d| (d.line, d.column));
            Err(crate::diagnostic::render(&found))
        }
    }

    /// A decision the policy made is already in the log (a resumed
    /// session): if it is the next one queued for its phase (the same
    /// action and text, whatever gate it answered), that one is spent. An
    /// approval `--approve all` made spends nothing.
    pub(super) fn already_made(&mut self, made: &Decision) {
        let next = self
            .queued
            .iter()
            .position(|s| s.decision.phase == made.phase);
        if let Some(at) = next
            && (Decision {
                gate: made.gate,
                ..self.queued[at].decision.clone()
            }) == *made
        {
            self.queued.remove(at);
        }
    }

    /// The answer for the gate on `phase`, if the policy has one. A failed
    /// phase, a gate over budget and one that needs a person (an unreadable
    /// plan, a failing verdict) are never approved by `--approve all`: only
    /// a queued decision answers them.
    pub(super) fn answer(&mut self, phase: &str, held: bool) -> Option<Scripted> {
        if let Some(at) = self.queued.iter().position(|s| s.decision.phase == phase) {
            return self.queued.remove(at);
        }
        (self.approve_rest && !held).then(|| Scripted {
            decision: Decision::approve(phase, DecidedBy::Policy),
            reverts: Vec::new(),
            summons: Vec::new(),
        })
    }
}
