//! A specialist consulted for a phase: what it is asked, which of its
//! recorded advice still stands, and how its advice reaches the role.
//!
//! A specialist with a `prompt` is not pasted into the role's prompt: before
//! the role runs, it gets a short call of its own ([`consult_request`]): its
//! prompt, the request and the artifact at hand (the latest one the phase is
//! handed), no tools, a small answer. Its advice is recorded on an `advice`
//! event with the `seq` of the artifact it read, so a later attempt that
//! would read the same artifact takes the recorded advice
//! ([`standing_advice`]) instead of asking again. The role is handed the
//! advice as a section of its user message ([`advice_section`]).

use std::fmt::Write;

use super::handed;
use crate::pipeline::{Pipeline, Specialist};
use crate::provider::{AnswerSpec, Brief, CompletionRequest, Input, Message, Role};
use crate::session::{Advice, SessionState};

/// The artifact at hand for phase `index`: the latest-made of the artifacts
/// it is handed, with the `seq` of the event that last changed it.
fn at_hand(state: &SessionState, pipeline: &Pipeline, index: usize) -> Option<(Input, u64)> {
    let phase = &pipeline.phases[index];
    phase
        .inputs
        .iter()
        .map(|input| crate::pipeline::input_parts(input).0)
        .filter_map(|id| {
            let position = pipeline.index_of(id)?;
            let seq = state.phases.get(position)?.current()?.changed_seq;
            Some((position, id, seq))
        })
        .max_by_key(|(position, _, _)| *position)
        .and_then(|(_, id, seq)| Some((handed(state, pipeline, id)?, seq)))
}

/// The `seq` a consult for phase `index` reads now (see [`at_hand`]).
pub fn reads(state: &SessionState, pipeline: &Pipeline, index: usize) -> Option<u64> {
    at_hand(state, pipeline, index).map(|(_, seq)| seq)
}

/// Of the specialists `engaged` for phase `index`, the advice already
/// recorded that still stands (given, for the artifact the phase reads
/// now), and the consulted ones still to ask. Pasted specialists are in
/// neither.
pub fn standing_advice(
    state: &SessionState,
    pipeline: &Pipeline,
    index: usize,
    engaged: &[(Specialist, String)],
) -> (Vec<Advice>, Vec<(Specialist, String)>) {
    let read = reads(state, pipeline, index);
    let recorded = &state.phases[index].advice;
    let mut standing = Vec::new();
    let mut ask = Vec::new();
    for (specialist, keyword) in engaged.iter().filter(|(s, _)| s.consults()) {
        let found = recorded
            .iter()
            .rev()
            .find(|a| a.specialist == specialist.name && a.read == read && a.given());
        match found {
            Some(advice) => standing.push(advice.clone()),
            None => ask.push((specialist.clone(), keyword.clone())),
        }
    }
    (standing, ask)
}

/// The call that consults `specialist` (engaged by `keyword`) for attempt
/// `attempt` of phase `index`.
pub fn consult_request(
    state: &SessionState,
    pipeline: &Pipeline,
    (index, attempt): (usize, u32),
    (specialist, keyword): (&Specialist, &str),
    model: &str,
) -> CompletionRequest {
    let phase = &pipeline.phases[index];
    let hand = at_hand(state, pipeline, index).map(|(input, _)| input);
    let mut system = format!(
        "You are the {name} specialist on a software team. The {role} is about to write the \
         `{artifact}` artifact for the feature below and asks your advice first, because the \
         work mentions “{keyword}”.\n\n{prompt}\n\nAnswer with advice only: at most five short \
         Markdown bullet points (`- `), the most important first, each concrete, specific to \
         this request and to what you are shown, and something the {role} can act on now. No \
         preamble, no closing words, no code blocks.",
        name = specialist.name,
        role = phase.role,
        artifact = phase.artifact,
        prompt = specialist.prompt.as_deref().unwrap_or_default().trim(),
    );
    // Advice to a role is written in the language the role answers in.
    if let Some(language) = &phase.language {
        system.push_str(&super::language_sentence(language));
    }
    let user = request_and(&state.request, hand.as_ref());
    let brief = Brief {
        attempt,
        inputs: hand.into_iter().collect(),
        consult: Some((specialist.clone(), keyword.to_owned())),
        ..Brief::new(state.request.clone(), phase.clone())
    };
    short_call(model, (system, user), specialist.advice_cap(), brief)
}

/// The user message of a short call: the request and the artifact at hand.
pub(super) fn request_and(request: &str, hand: Option<&Input>) -> String {
    let mut user = format!("## Feature request\n{}\n", request.trim());
    if let Some(input) = hand {
        let _ = write!(
            user,
            "\n## {} (from the {})\n{}\n",
            input.name,
            input.role,
            input.content.trim()
        );
    }
    user
}

/// A short call of its own for `brief`'s phase (a consult, a summoned
/// utility): a system and a user message, no tools, at most `cap` tokens.
pub(super) fn short_call(
    model: &str,
    (system, user): (String, String),
    cap: u32,
    brief: Brief,
) -> CompletionRequest {
    CompletionRequest {
        model: brief
            .phase
            .model
            .clone()
            .unwrap_or_else(|| model.to_owned()),
        temperature: None,
        messages: vec![
            Message::new(Role::System, system),
            Message::new(Role::User, user),
        ],
        tools: Vec::new(),
        answer: AnswerSpec {
            schema: None,
            max_tokens: Some(cap),
            seed: None,
        },
        brief,
    }
}

/// The section of a role's user message that hands it the advice.
pub fn advice_section(advice: &[Advice]) -> String {
    let mut out = String::new();
    for a in advice.iter().filter(|a| a.given()) {
        let _ = write!(
            out,
            "\n## Advice from the {} specialist (consulted because the work mentions “{}”)\n{}\n",
            a.specialist,
            a.keyword,
            a.text.trim()
        );
    }
    out
}

/// Hands `advice` to the role `request` is for: on its brief, and as a
/// section at the end of its (first) user message, where [`super::messages`]
/// puts it too. Call it before anything else is added to that message.
pub fn hand_advice(request: &mut CompletionRequest, advice: Vec<Advice>) {
    let section = advice_section(&advice);
    if let Some(user) = request.messages.iter_mut().find(|m| m.role == Role::User) {
        user.content.push_str(&section);
    }
    request.brief.advice = advice;
}

/// The part of `advice` for `role`: a plan task run as another phase's
/// role keeps only what its specialists advise that role.
pub fn advice_for_role(advice: &[Advice], pipeline: &Pipeline, role: &str) -> Vec<Advice> {
    advice
        .iter()
        .filter(|a| {
            pipeline
                .specialists
                .iter()
                .any(|s| s.name == a.specialist && s.advises(role))
        })
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::{SkillsFile, load_pipeline};
    use crate::session::testing::numbered;
    use crate::session::{Event, EventKind};

    fn graphql() -> Specialist {
        Specialist {
            name: "graphql".into(),
            keywords: vec!["graphql".into()],
            guidance: String::new(),
            prompt: Some("Think in schemas and resolvers.".into()),
            max_output_tokens: Some(300),
            roles: Vec::new(),
        }
    }

    fn session(extra: Vec<EventKind>) -> (Pipeline, SessionState) {
        let mut pipeline = load_pipeline(&SkillsFile::builtin(), None).expect("builtin");
        pipeline.specialists = vec![graphql()];
        let mut kinds = vec![
            EventKind::SessionStarted {
                id: "s".into(),
                request: "Add a GraphQL orders query".into(),
                pipeline: Box::new(pipeline.clone()),
                provider: "offline".into(),
                model: "m".into(),
                version: "0".into(),
                workspace: None,
                detected: None,
            },
            EventKind::PhaseStarted {
                phase: "summarize".into(),
                attempt: 1,
            },
            EventKind::Artifact {
                outputs: Vec::new(),
                missing: Vec::new(),
                phase: "summarize".into(),
                attempt: 1,
                name: "requirements".into(),
                content: "REQS".into(),
            },
        ];
        kinds.extend(extra);
        let events: Vec<Event> = numbered(kinds);
        (pipeline, SessionState::from_events(&events))
    }

    fn advice(read: Option<u64>, error: Option<&str>) -> EventKind {
        EventKind::Advice {
            phase: "plan".into(),
            attempt: 1,
            specialist: "graphql".into(),
            keyword: "graphql".into(),
            text: if error.is_some() {
                String::new()
            } else {
                "- one\n- two".into()
            },
            error: error.map(Into::into),
            read,
        }
    }

    #[test]
    fn a_consult_reads_the_request_and_the_artifact_at_hand() {
        let (pipeline, state) = session(Vec::new());
        let s = graphql();
        let request = consult_request(&state, &pipeline, (1, 1), (&s, "graphql"), "m");
        assert!(request.messages[0].content.contains("Think in schemas"));
        assert!(request.messages[0].content.contains("Solution Architect"));
        assert!(
            request.messages[1]
                .content
                .contains("Add a GraphQL orders query")
        );
        assert!(request.messages[1].content.contains("REQS"));
        assert_eq!(request.answer.max_tokens, Some(300));
        assert!(request.tools.is_empty());
        assert_eq!(reads(&state, &pipeline, 1), Some(2), "the artifact's seq");
    }

    #[test]
    fn recorded_advice_stands_while_it_reads_the_same_artifact() {
        let engaged = vec![(graphql(), "graphql".to_owned())];
        let (pipeline, state) = session(vec![advice(Some(2), None)]);
        let (standing, ask) = standing_advice(&state, &pipeline, 1, &engaged);
        assert_eq!(standing.len(), 1);
        assert!(ask.is_empty());
        // Advice on another version of the artifact, or a failed consult,
        // does not stand: ask again.
        for other in [advice(Some(1), None), advice(Some(2), Some("HTTP 500"))] {
            let (pipeline, state) = session(vec![other]);
            let (standing, ask) = standing_advice(&state, &pipeline, 1, &engaged);
            assert!(standing.is_empty());
            assert_eq!(ask.len(), 1);
        }
    }

    #[test]
    fn advice_reaches_the_role_as_a_section() {
        let (pipeline, state) = session(vec![advice(Some(2), None)]);
        let tokens = crate::provider::tokens::Tokens::for_model("m");
        let mut request = super::super::request(&state, &pipeline, 1, "m", None, &tokens);
        let before = request.messages[1].content.clone();
        hand_advice(&mut request, state.phases[1].advice.clone());
        let user = &request.messages[1].content;
        assert!(user.starts_with(&before));
        assert!(user.contains(
            "## Advice from the graphql specialist (consulted because the work mentions “graphql”)\n- one\n- two"
        ));
        // Rendered again from the brief (a plan task does), it is the same.
        assert_eq!(super::super::messages(&request.brief)[1].content, *user);
        assert!(!request.messages[0].content.contains("Think in schemas"));
    }
}
