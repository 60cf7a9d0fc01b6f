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
