//! One role's turn: what it is told, assembled from the folded session.
//!
//! [`brief`] gathers what a phase needs from the session state — the request,
//! the effective artifacts of the phases it reads (a human's edit wins over
//! the agent's draft), approvers' notes from earlier checkpoints, and on a
//! retry the rejected attempt with its feedback. [`messages`] renders that as
//! a chat conversation for a model. The engine sends both to the provider.

use std::fmt::Write;

use crate::pipeline::Pipeline;
use crate::provider::{Brief, CompletionRequest, Input, Message, Role};
use crate::session::SessionState;

/// What phase `index` of `pipeline` is given, in the state `state` is in.
pub fn brief(state: &SessionState, pipeline: &Pipeline, index: usize) -> Brief {
    let phase = pipeline.phases[index].clone();
    let inputs = phase
        .inputs
        .iter()
        .filter_map(|id| {
            let source = state.phases.iter().find(|p| &p.id == id)?;
            Some(Input {
                phase: source.id.clone(),
                role: source.role.clone(),
                name: source.artifact_name.clone(),
                content: source.effective_artifact()?.to_owned(),
            })
        })
        .collect();
    let notes = state.phases[..index]
        .iter()
        .flat_map(|p| p.notes.iter().cloned())
        .collect();
    let own = &state.phases[index];
    let rejected = own.current().filter(|a| a.rejected_with.is_some());
    Brief {
        request: state.request.clone(),
        attempt: u32::try_from(own.attempts.len())
            .unwrap_or(u32::MAX)
            .saturating_add(1),
        inputs,
        notes,
        previous: rejected.and_then(|a| a.effective().map(str::to_owned)),
        feedback: rejected.and_then(|a| a.rejected_with.clone()),
        phase,
    }
}

/// The chat a model is sent for a brief.
pub fn messages(brief: &Brief) -> Vec<Message> {
    let phase = &brief.phase;
    let system = format!(
        "You are the {role} on a software team that hands work from role to role, with a human \
         approving every handoff.\n\n{prompt}\n\nAnswer with the `{artifact}` artifact only, in \
         Markdown, ready for the next role to read.",
        role = phase.role,
        prompt = phase.prompt.trim(),
        artifact = phase.artifact,
    );
    let mut user = format!("## Feature request\n{}\n", brief.request.trim());
    for input in &brief.inputs {
        let _ = write!(
            user,
            "\n## {} (from the {})\n{}\n",
            input.name,
            input.role,
            input.content.trim()
        );
    }
    if !brief.notes.is_empty() {
        user.push_str("\n## Notes from earlier checkpoints\n");
        for note in &brief.notes {
            let _ = writeln!(user, "- {}", note.trim());
        }
    }
    if let Some(previous) = &brief.previous {
        let _ = write!(user, "\n## Your previous attempt\n{}\n", previous.trim());
    }
    if let Some(feedback) = &brief.feedback {
        let _ = write!(
            user,
            "\n## Reviewer feedback on that attempt\n{}\nRevise the artifact to answer it.\n",
            feedback.trim()
        );
    }
    vec![
        Message {
            role: Role::System,
            content: system,
        },
        Message {
            role: Role::User,
            content: user,
        },
    ]
}

/// The full request for phase `index`.
pub fn request(
    state: &SessionState,
    pipeline: &Pipeline,
    index: usize,
    model: &str,
) -> CompletionRequest {
    let brief = brief(state, pipeline, index);
    CompletionRequest {
        model: model.to_owned(),
        messages: messages(&brief),
        brief,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::{SkillsFile, load_pipeline};
    use crate::session::{Action, DecidedBy, Decision, Event, EventKind};

    fn event(seq: u64, kind: EventKind) -> Event {
        Event {
            seq,
            t: chrono::DateTime::UNIX_EPOCH,
            kind,
        }
    }

    #[test]
    fn a_human_edit_wins_and_notes_and_feedback_travel() {
        let pipeline = load_pipeline(&SkillsFile::builtin(), None).expect("builtin");
        let kinds = vec![
            EventKind::SessionStarted {
                id: "s".into(),
                request: "Add X".into(),
                pipeline: pipeline.clone(),
                provider: "offline".into(),
                model: "m".into(),
                version: "0".into(),
            },
            EventKind::PhaseStarted {
                phase: "summarize".into(),
                attempt: 1,
            },
            EventKind::Artifact {
                phase: "summarize".into(),
                attempt: 1,
                name: "requirements".into(),
                content: "agent draft".into(),
            },
            EventKind::Decision(Decision {
                content: Some("human text".into()),
                ..Decision::new("summarize", Action::Edit, DecidedBy::User)
            }),
            EventKind::Decision(Decision {
                notes: Some("mind the quota".into()),
                ..Decision::new("summarize", Action::ApproveWithNotes, DecidedBy::User)
            }),
            EventKind::PhaseStarted {
                phase: "plan".into(),
                attempt: 1,
            },
            EventKind::Artifact {
                phase: "plan".into(),
                attempt: 1,
                name: "plan".into(),
                content: "plan v1".into(),
            },
            EventKind::Decision(Decision {
                feedback: Some("add pagination".into()),
                ..Decision::new("plan", Action::Reject, DecidedBy::User)
            }),
        ];
        let events: Vec<Event> = kinds
            .into_iter()
            .zip(0..)
            .map(|(k, i)| event(i, k))
            .collect();
        let state = SessionState::from_events(&events);
        let brief = brief(&state, &pipeline, 1);
        assert_eq!(brief.attempt, 2);
        assert_eq!(brief.inputs.len(), 1);
        assert_eq!(brief.inputs[0].content, "human text");
        assert_eq!(brief.notes, ["mind the quota"]);
        assert_eq!(brief.previous.as_deref(), Some("plan v1"));
        assert_eq!(brief.feedback.as_deref(), Some("add pagination"));
        let chat = messages(&brief);
        assert!(chat[0].content.contains("Solution Architect"));
        assert!(chat[1].content.contains("human text"));
        assert!(
            chat[1]
                .content
                .contains("## Reviewer feedback on that attempt\nadd pagination")
        );
    }
}
