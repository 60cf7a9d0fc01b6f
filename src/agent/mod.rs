//! One role's turn: what it is told, assembled from the folded session.
//!
//! [`brief`] gathers what a phase needs from the session state — the request,
//! the effective artifacts of the phases it reads (a human's edit wins over
//! the agent's draft), approvers' notes from earlier checkpoints, and on a
//! retry the rejected attempt with its feedback. [`messages`] renders that as
//! a chat conversation for a model. The engine sends both to the provider.

mod consult;
pub mod refit;
mod utility;

pub use consult::{
    advice_for_role, advice_section, consult_request, hand_advice, reads, standing_advice,
};
pub use utility::{reports_section, summon_request};

use std::fmt::Write;

use crate::formats::OutputKind;
use crate::pipeline::{Phase, Pipeline};
use crate::provider::tokens::Tokens;
use crate::provider::{Brief, CompletionRequest, Input, Message, Role};

use crate::session::SessionState;

/// What phase `index` of `pipeline` is given, in the state `state` is in.
pub fn brief(state: &SessionState, pipeline: &Pipeline, index: usize) -> Brief {
    let phase = pipeline.phases[index].clone();
    let inputs = pipeline
        .reads(index)
        .into_iter()
        .flat_map(|(source, names)| handed_outputs(state, pipeline, source, &names))
        .collect();
    let notes = state.phases[..index]
        .iter()
        .flat_map(|p| p.notes.iter().cloned())
        .collect();
    let own = &state.phases[index];
    // The attempt this one answers: the latest that was rejected or sent
    // back, looking past any that broke off with nothing (an interrupted
    // or failed attempt did not answer it).
    let rejected = own
        .attempts
        .iter()
        .rev()
        .find(|a| a.rejected_with.is_some() || a.artifact.is_some())
        .filter(|a| a.rejected_with.is_some());
    let specialists = engaged(state, pipeline, index);
    Brief {
        specialists,
        task: None,
        advice: Vec::new(),
        consult: None,
        reports: state.reports_for(&phase.id).into_iter().cloned().collect(),
        summoned: None,
        request: state.request.clone(),
        attempt: u32::try_from(own.attempts.len())
            .unwrap_or(u32::MAX)
            .saturating_add(1),
        inputs,
        notes,
        previous: rejected.and_then(|a| a.effective().map(str::to_owned)),
        feedback: rejected
            .and_then(|a| a.rejected_with.clone())
            .filter(|f| !f.trim().is_empty()),
        branch: None,
        phase,
    }
}

/// Phase `id`'s artifact as it is handed to a later role: a human's edit
/// wins over the draft, and a readable plan or verdict is Markdown.
fn handed(state: &SessionState, pipeline: &Pipeline, id: &str) -> Option<Input> {
    let source = state.phases.iter().find(|p| p.id == id)?;
    let text = source.effective_artifact()?;
    Some(Input {
        phase: source.id.clone(),
        role: source.role.clone(),
        name: source.artifact_name.clone(),
        content: as_handed(pipeline, pipeline.index_of(id), text),
    })
}

/// `text`, written by phase `index`, as a later role reads it: a plan or
/// a verdict it holds, readable, as Markdown; anything else as written.
fn as_handed(pipeline: &Pipeline, index: Option<usize>, text: &str) -> String {
    match index.map_or(Ok(None), |i| pipeline.read_answer(i, text)) {
        Ok(Some(read)) => read.to_markdown(),
        Ok(None) | Err(_) => text.to_owned(),
    }
}

/// The outputs `names` of phase `source` as they are handed to a later
/// role, each under its name: a phase with one output hands its artifact
/// (see [`handed`]), one with several the sections its answer has, and an
/// output it did not write says so rather than arriving empty.
fn handed_outputs(
    state: &SessionState,
    pipeline: &Pipeline,
    source: usize,
    names: &[&str],
) -> Vec<Input> {
    let (Some(phase), Some(produced)) = (pipeline.phases.get(source), state.phases.get(source))
    else {
        return Vec::new();
    };
    if !phase.sectioned() {
        return handed(state, pipeline, &phase.id).into_iter().collect();
    }
    let Some(attempt) = produced.current().filter(|a| a.effective().is_some()) else {
        return Vec::new();
    };
    let sections = attempt.sections(&phase.output_names());
    names
        .iter()
        .map(|name| Input {
            phase: phase.id.clone(),
            role: phase.role.clone(),
            name: (*name).to_owned(),
            content: sections.found.iter().find(|s| s.name == *name).map_or_else(
                || format!("[The {} did not write `{name}`.]", phase.role),
                |s| as_handed(pipeline, Some(source), &s.content),
            ),
        })
        .collect()
}

/// The specialists that advise phase `index`'s role: those whose keywords
/// occur in the request or in a plan handed over so far, each with the
/// keyword that engaged it.
pub fn engaged(
    state: &SessionState,
    pipeline: &Pipeline,
    index: usize,
) -> Vec<(crate::pipeline::Specialist, String)> {
    let role = &pipeline.phases[index].role;
    let plans: Vec<&str> = pipeline.phases[..index]
        .iter()
        .zip(&state.phases)
        .filter(|(p, _)| p.output == crate::formats::OutputKind::Plan)
        .filter_map(|(_, s)| s.effective_artifact())
        .collect();
    pipeline
        .specialists
        .iter()
        .filter(|s| s.advises(role))
        .filter_map(|s| {
            let keyword = std::iter::once(state.request.as_str())
                .chain(plans.iter().copied())
                .find_map(|text| s.matches(text))?;
            Some((s.clone(), keyword.to_owned()))
        })
        .collect()
}

/// The chat a model is sent for a brief.
pub fn messages(brief: &Brief) -> Vec<Message> {
    let phase = &brief.phase;
    let mut system = format!(
        "You are the {role} on a software team that hands work from role to role, with a human \
         approving every handoff.\n\n{prompt}\n\nAnswer with the `{artifact}` {what} only, {form}, \
         ready for the next role to read.",
        what = if phase.sectioned() {
            "outputs"
        } else {
            "artifact"
        },
        form = if phase.output.is_markdown() || phase.sectioned() {
            "in Markdown"
        } else {
            "as JSON"
        },
        role = phase.role,
        prompt = phase.prompt.trim(),
        artifact = phase.output_names().join("`, `"),
    );
    // A consulted specialist's words come as advice, below.
    for (specialist, keyword) in brief.specialists.iter().filter(|(s, _)| !s.consults()) {
        let _ = write!(
            system,
            "\n\nGuidance from the {} specialist (the work mentions “{keyword}”):\n{}",
            specialist.name,
            specialist.guidance.trim()
        );
    }
    if phase.sectioned() {
        let _ = write!(
            system,
            "\n\nWrite one section per output, each under its own heading, in this order: {}. \
             Begin each with exactly that heading line; the next role reads each by its name. \
             JSON asked for below goes in a ```json fence inside the last section.",
            phase
                .outputs
                .iter()
                .map(|o| format!("`## {o}`"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if let Some(shape) = phase.output.instructions() {
        let _ = write!(system, "\n\n{shape}");
    }
    if let Some(language) = &phase.language {
        system.push_str(&language_sentence(language));
    }
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
    user.push_str(&reports_section(&brief.reports));
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
    user.push_str(&advice_section(&brief.advice));
    vec![
        Message::new(Role::System, system),
        Message::new(Role::User, user),
    ]
}

/// The language instruction, a paragraph of its own at the end of a
/// system prompt.
fn language_sentence(language: &str) -> String {
    format!(
        "\n\nLanguage: write your answer in {language}, unless the request asks for another \
         language."
    )
}

/// The chat for one task of a plan: the maker does that task only, and
/// reports; the critique checks the report (and the workspace, read-only)
/// against the task's criteria and answers with a verdict.
pub fn task_messages(brief: &Brief, task: &crate::provider::TaskBrief) -> Vec<Message> {
    let mut chat = messages(brief);
    let criteria = criteria_text(&task.criteria);
    if let Some(maker) = task.critique_of {
        chat[0].content = format!(
            "You are the reviewer on a software team, checking one piece of work strictly \
             against its criteria before anyone builds on it. The work is task {maker} of the \
             plan. Fail it only when a critical criterion is not met; shortfalls against expected \
             or nice-to-have criteria are issues of lower severity under a pass. Each issue names \
             the criterion it is about and says exactly what to change.\n\n{}",
            crate::formats::OutputKind::Verdict
                .instructions()
                .unwrap_or_default()
        );
        if let Some(language) = &brief.phase.language {
            chat[0].content.push_str(&language_sentence(language));
        }
        let _ = write!(
            chat[1].content,
            "\n## The task you check: {maker}. {}\n{}\n\n## Its criteria\n{criteria}\n## The work as its maker reported it\n{}\n",
            task.name.trim(),
            task.description.trim(),
            task.work.as_deref().unwrap_or("(no report)").trim()
        );
        if let Some(feedback) = &task.feedback {
            let _ = write!(
                chat[1].content,
                "\n## Your previous verdict\n{}\n",
                feedback.trim()
            );
        }
    } else {
        let _ = write!(
            chat[0].content,
            "\n\nThis call is one task of the plan, not the whole plan: task {}, “{}”. Do that task \
             only, then report what you did, the files you changed and how each critical criterion \
             is met. A reviewer checks it against the criteria before later tasks build on it.\n\n{}",
            task.order,
            task.name.trim(),
            crate::formats::report::INSTRUCTIONS
        );
        let _ = write!(
            chat[1].content,
            "\n## Your task: {}. {}\n{}\n\n## Its criteria\n{criteria}",
            task.order,
            task.name.trim(),
            task.description.trim()
        );
        if !task.files.is_empty() {
            let _ = writeln!(chat[1].content, "\n## Files\n{}", task.files.join(", "));
        }
        if let (Some(work), Some(feedback)) = (&task.work, &task.feedback) {
            let _ = write!(
                chat[1].content,
                "\n## Your previous report on this task\n{}\n\n## The reviewer sent it back\n{}\nFix what the reviewer found, then report again.\n",
                work.trim(),
                feedback.trim()
            );
        }
    }
    chat
}

fn criteria_text(c: &crate::formats::plan::Criteria) -> String {
    let mut out = String::new();
    for (level, items) in [
        ("critical", &c.critical),
        ("expected", &c.expected),
        ("nice to have", &c.nice_to_have),
    ] {
        for item in items {
            let _ = writeln!(out, "- {level}: {}", item.trim());
        }
    }
    if out.is_empty() {
        out.push_str("- (none given: judge against the task's description)\n");
    }
    out
}

/// A phase's messages as `brief` makes them: [`messages`], and for a
/// planning role the pipeline's skills.
pub(crate) fn build_messages(brief: &Brief, pipeline: &Pipeline) -> Vec<Message> {
    with_skills(messages(brief), pipeline, &brief.phase)
}

/// A planning role is told the pipeline's skill ids and whose each is, so
/// its tasks name roles that exist.
fn with_skills(mut chat: Vec<Message>, pipeline: &Pipeline, phase: &Phase) -> Vec<Message> {
    if phase.output != OutputKind::Plan {
        return chat;
    }
    let known: Vec<String> = pipeline
        .phases
        .iter()
        .flat_map(|p| p.skills.iter().map(move |s| format!("`{s}` ({})", p.role)))
        .collect();
    if let (Some(system), false) = (chat.first_mut(), known.is_empty()) {
        let _ = write!(
            system.content,
            "\n\nEach task's skill_id is one of this team's skills: {}. A task runs as the role its \
             skill names; a critique names a critique skill.",
            known.join(", ")
        );
    }
    chat
}

/// Tells the role where it works: appended to the request's last user
/// message when the session has a workspace. With `no_tools` (the
/// model's server cannot call tools) it says the role has none and must
/// answer in text.
pub fn describe_workspace(
    request: &mut CompletionRequest,
    root: &str,
    branch: Option<&str>,
    no_tools: bool,
) {
    let mut text = if no_tools {
        format!(
            "\n## Workspace\nThe work is for the repository at `{root}`, but the model's server cannot call tools, \
             so you have none: do not try to call any. Answer in text only, with any code, files or commands \
             written out in full in your answer."
        )
    } else {
        format!(
            "\n## Workspace\nYou work in the repository at `{root}` through your tools; paths are relative to it. \
             Commands run there under a permission policy: a refused command comes back with the reason."
        )
    };
    if let Some(branch) = branch {
        let _ = write!(
            text,
            " Deliveries are committed on branch `{branch}`; never push."
        );
    }
    text.push('\n');
    if let Some(user) = request
        .messages
        .iter_mut()
        .rev()
        .find(|m| m.role == Role::User)
    {
        user.content.push_str(&text);
    }
}

/// Tokens kept free for the role's instructions and its answer.
const RESERVED_TOKENS: usize = 4096;

/// The characters the handed-over texts (inputs and the previous attempt)
/// may keep so that, with the fixed parts, they fit in `context` tokens as
/// `tokens` counts them; `None` when they fit whole. The texts' own
/// characters per token turn the token budget into characters.
fn text_budget(brief: &Brief, context: usize, tokens: &Tokens) -> Option<usize> {
    let count = |t: &str| usize::try_from(tokens.count(t)).unwrap_or(usize::MAX);
    let fixed = count(&brief.phase.prompt)
        + count(&brief.request)
        + brief.notes.iter().map(|n| count(n)).sum::<usize>();
    let texts = brief
        .inputs
        .iter()
        .map(|i| i.content.as_str())
        .chain(brief.previous.as_deref());
    let (chars, used) = texts.fold((0usize, 0usize), |(c, u), t| (c + t.len(), u + count(t)));
    let room = context
        .saturating_sub(RESERVED_TOKENS)
        .saturating_sub(fixed);
    if used <= room {
        return None;
    }
    // `room / used` of the texts' characters, in integers.
    Some(chars / used.max(1) * room + chars % used.max(1) * room / used.max(1))
}

/// Cuts the handed-over texts (inputs and the previous attempt) so that
/// together they fit in `budget` characters: the smallest are kept whole,
/// the rest cut to an equal share, each cut marked in the text itself.
pub fn fit(brief: &mut Brief, budget: usize) {
    let mut texts: Vec<&mut String> = brief.inputs.iter_mut().map(|i| &mut i.content).collect();
    if let Some(previous) = brief.previous.as_mut() {
        texts.push(previous);
    }
    texts.sort_by_key(|t| t.len());
    let mut left = budget;
    let count = texts.len();
    for (i, text) in texts.into_iter().enumerate() {
        let share = left / (count - i);
        if text.len() > share {
            let keep = (0..=share)
                .rev()
                .find(|k| text.is_char_boundary(*k))
                .unwrap_or(0);
            let cut = text.len() - keep;
            text.truncate(keep);
            let _ = write!(
                text,
                "\n\n[… {cut} characters cut here by handoff to fit the model's context …]\n"
            );
        }
        left = left.saturating_sub(text.len().min(share));
    }
}

/// The temperature and seed for the next attempt of `phase`, whose role
/// sets `temperature` (or not). After an answer that could not be read the
/// request already differs (it carries the mistakes and the answer), and
/// it asks for a new seed; where that answer repeated the one before it
/// word for word, a higher temperature too, 0.3 more for each repeat.
fn resampled(
    phase: &crate::session::PhaseState,
    temperature: Option<f64>,
) -> (Option<f64>, Option<u64>) {
    let unreadable = phase.attempts.last().is_some_and(|a| a.invalid.is_some());
    if !unreadable {
        return (temperature, None);
    }
    let seed = u64::try_from(phase.attempts.len())
        .unwrap_or(u64::MAX)
        .saturating_add(1);
    let repeats = phase
        .attempts
        .windows(2)
        .rev()
        .take_while(|w| {
            w[1].invalid.is_some() && w[0].artifact.is_some() && w[0].artifact == w[1].artifact
        })
        .count();
    if repeats == 0 {
        return (temperature, Some(seed));
    }
    #[expect(clippy::cast_precision_loss, reason = "a handful of repeats")]
    let raised = temperature.unwrap_or(0.5) + 0.3 * repeats as f64;
    (Some(raised.min(1.5)), Some(seed))
}

/// The full request for phase `index`: the phase's own model and
/// temperature if it sets them, inputs cut to `context_tokens` (as
/// `tokens` counts them) if given.
pub fn request(
    state: &SessionState,
    pipeline: &Pipeline,
    index: usize,
    model: &str,
    context_tokens: Option<usize>,
    tokens: &Tokens,
) -> CompletionRequest {
    let mut brief = brief(state, pipeline, index);
    if let Some(budget) = context_tokens.and_then(|c| text_budget(&brief, c, tokens)) {
        fit(&mut brief, budget);
    }
    let (temperature, seed) = resampled(&state.phases[index], brief.phase.temperature);
    CompletionRequest {
        model: brief
            .phase
            .model
            .clone()
            .unwrap_or_else(|| model.to_owned()),
        temperature,
        messages: build_messages(&brief, pipeline),
        tools: Vec::new(),
        answer: crate::provider::AnswerSpec {
            // A server held to a schema answers with JSON alone: a phase
            // with named outputs writes its sections around the JSON.
            schema: match brief.phase.output {
                OutputKind::Plan if !brief.phase.sectioned() => {
                    Some(crate::formats::schema::plan_with(&pipeline.skill_ids()))
                }
                OutputKind::Markdown | OutputKind::Verdict if !brief.phase.sectioned() => {
                    brief.phase.output.schema()
                }
                OutputKind::Markdown | OutputKind::Plan | OutputKind::Verdict => None,
            },
            max_tokens: Some(brief.phase.output_cap()),
            seed,
        },
        brief,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::{SkillsFile, load_pipeline};
    use crate::session::testing::{fold, numbered, started, started_with};
    use crate::session::{Action, DecidedBy, Decision, Event, EventKind};

    #[test]
    fn a_retry_after_an_unreadable_answer_differs_and_resamples_a_repeat() {
        let pipeline = load_pipeline(&SkillsFile::builtin(), None).expect("builtin");
        let plan = pipeline.index_of("plan").expect("plan phase");
        let answered = |attempt| {
            [
                EventKind::PhaseStarted {
                    phase: "plan".into(),
                    attempt,
                },
                EventKind::Artifact {
                    outputs: Vec::new(),
                    missing: Vec::new(),
                    phase: "plan".into(),
                    attempt,
                    name: "plan".into(),
                    content: "{ verdict: oops }".into(),
                },
                EventKind::Invalid {
                    phase: "plan".into(),
                    attempt,
                    errors: vec!["key must be a string at line 1 column 3 near «{ verdict»".into()],
                    retry: true,
                },
            ]
        };
        let mut kinds = vec![started("Add X", "offline")];
        let first = request(
            &fold(kinds.clone()),
            &pipeline,
            plan,
            "m",
            None,
            &Tokens::for_model("m"),
        );
        assert_eq!((first.temperature, first.answer.seed), (None, None));
        assert_eq!(first.answer.schema.as_ref().map(|s| s.name), Some("plan"));
        assert_eq!(first.answer.max_tokens, Some(4096));
        kinds.extend(answered(1));
        let second = request(
            &fold(kinds.clone()),
            &pipeline,
            plan,
            "m",
            None,
            &Tokens::for_model("m"),
        );
        assert_eq!(second.answer.seed, Some(2), "a new seed");
        assert_eq!(second.temperature, None, "nothing repeated yet");
        let user = &second.messages[1].content;
        assert!(
            user.contains("{ verdict: oops }"),
            "the offending answer: {user}"
        );
        assert!(user.contains("near «{ verdict»"), "what was wrong: {user}");
        kinds.extend(answered(2));
        let third = request(
            &fold(kinds),
            &pipeline,
            plan,
            "m",
            None,
            &Tokens::for_model("m"),
        );
        assert_eq!(third.answer.seed, Some(3));
        assert_eq!(third.temperature, Some(0.8), "the answer repeated: hotter");
        // The same words as the second (the answer repeated), so the
        // sampling is what differs.
        assert_eq!(second.messages, third.messages);
    }

    #[test]
    fn a_human_edit_wins_and_notes_and_feedback_travel() {
        let pipeline = load_pipeline(&SkillsFile::builtin(), None).expect("builtin");
        let kinds = vec![
            started("Add X", "offline"),
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
                outputs: Vec::new(),
                missing: Vec::new(),
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
        let brief = brief(&fold(kinds), &pipeline, 1);
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

    #[test]
    fn a_retry_after_an_interrupted_attempt_still_answers_what_was_sent_back() {
        let pipeline = load_pipeline(&SkillsFile::builtin(), None).expect("builtin");
        let begun = |attempt| EventKind::PhaseStarted {
            phase: "summarize".into(),
            attempt,
        };
        let kinds = vec![
            started("Add X", "offline"),
            begun(1),
            EventKind::Artifact {
                outputs: Vec::new(),
                missing: Vec::new(),
                phase: "summarize".into(),
                attempt: 1,
                name: "requirements".into(),
                content: "draft one".into(),
            },
            EventKind::Decision(Decision {
                feedback: Some("name the exempt clients".into()),
                ..Decision::new("summarize", Action::Reject, DecidedBy::User)
            }),
            // The retry broke off (a crash, resumed) with nothing written.
            begun(2),
            EventKind::PhaseFailed {
                phase: "summarize".into(),
                attempt: 2,
                error: "interrupted".into(),
            },
        ];
        let mut events = numbered(kinds);
        let brief = brief(&SessionState::from_events(&events), &pipeline, 0);
        assert_eq!(brief.attempt, 3);
        assert_eq!(brief.previous.as_deref(), Some("draft one"));
        assert_eq!(brief.feedback.as_deref(), Some("name the exempt clients"));

        // A retry of a failed attempt with no words sends no empty section.
        let retry = Decision::new("summarize", Action::Reject, DecidedBy::User);
        events.push(Event {
            seq: 6,
            ..numbered([EventKind::Decision(retry)]).remove(0)
        });
        let brief = brief_of(&events, &pipeline);
        assert_eq!(brief.feedback.as_deref(), Some("name the exempt clients"));
    }

    fn brief_of(events: &[Event], pipeline: &crate::pipeline::Pipeline) -> Brief {
        brief(&SessionState::from_events(events), pipeline, 0)
    }

    #[test]
    fn the_context_budget_counts_tokens_as_the_model_does() {
        let pipeline = load_pipeline(&SkillsFile::builtin(), None).expect("builtin");
        let tokens = Tokens::for_model("gpt-4o");
        let words = "a ".repeat(3000).trim_end().to_owned();
        let brief = Brief {
            inputs: vec![Input {
                phase: "summarize".into(),
                role: "R".into(),
                name: "short words".into(),
                content: words.clone(),
            }],
            ..Brief::new("r", pipeline.phases[3].clone())
        };
        let fixed =
            usize::try_from(tokens.count(&brief.phase.prompt) + tokens.count(&brief.request))
                .expect("small");
        // Four characters a token calls these 5,999 characters 1,500
        // tokens, which would fit in 2,000; they are 3,000 tokens.
        assert_eq!(crate::provider::tokens::rough(&words), 1500);
        let context = RESERVED_TOKENS + fixed + 2000;
        let budget = text_budget(&brief, context, &tokens).expect("cut to fit");
        assert!((3990..=4000).contains(&budget), "{budget} characters kept");
        assert_eq!(
            text_budget(&brief, context + 1000, &tokens),
            None,
            "fits whole"
        );
    }

    #[test]
    fn oversized_inputs_are_cut_with_a_visible_marker() {
        let pipeline = load_pipeline(&SkillsFile::builtin(), None).expect("builtin");
        let input = |name: &str, size: usize| Input {
            phase: name.into(),
            role: "R".into(),
            name: name.into(),
            content: "x".repeat(size),
        };
        let mut brief = Brief {
            inputs: vec![
                input("small", 100),
                input("big", 50_000),
                input("bigger", 90_000),
            ],
            ..Brief::new("r", pipeline.phases[3].clone())
        };
        fit(&mut brief, 10_100);
        assert_eq!(
            brief.inputs[0].content.len(),
            100,
            "small inputs stay whole"
        );
        for cut in &brief.inputs[1..] {
            assert!(cut.content.starts_with(&"x".repeat(5000)));
            assert!(
                cut.content.contains("characters cut here by handoff"),
                "{}",
                &cut.content[4990..]
            );
            assert!(cut.content.len() < 5200);
        }
        let mut whole = brief.clone();
        whole.inputs = vec![input("a", 10)];
        fit(&mut whole, 100);
        assert_eq!(whole.inputs[0].content, "x".repeat(10));
    }

    /// The discovery pipeline after `fit` and `discovery` answered, the
    /// interviewer without its work-unit registry.
    fn discovery_answered() -> (Pipeline, SessionState) {
        let pipeline = load_pipeline(&SkillsFile::builtin(), Some("discovery")).expect("preset");
        let answered = |phase: &str, content: &str| {
            let names = pipeline.phase(phase).expect("phase").output_names();
            let split = crate::formats::sections::split(content, &names);
            [
                EventKind::PhaseStarted {
                    phase: phase.into(),
                    attempt: 1,
                },
                EventKind::Artifact {
                    phase: phase.into(),
                    attempt: 1,
                    name: phase.into(),
                    content: content.into(),
                    outputs: split.found,
                    missing: split.missing,
                },
            ]
        };
        let mut kinds = vec![started_with("r", "offline", pipeline.clone())];
        kinds.extend(answered(
            "fit",
            "## feature-brief\nBrief.\n## work-unit-registry\n- WU-1\n",
        ));
        kinds.extend(answered("discovery", "## discovery-brief\nInterviewed.\n"));
        (pipeline, fold(kinds))
    }

    #[test]
    fn a_role_is_handed_exactly_the_named_outputs_it_reads_each_under_its_name() {
        let (pipeline, state) = discovery_answered();
        let definition = pipeline.index_of("definition").expect("definition");
        let brief = brief(&state, &pipeline, definition);
        let handed: Vec<(&str, &str, &str)> = brief
            .inputs
            .iter()
            .map(|i| (i.phase.as_str(), i.name.as_str(), i.content.as_str()))
            .collect();
        assert_eq!(
            handed,
            [
                ("fit", "feature-brief", "Brief."),
                ("fit", "work-unit-registry", "- WU-1"),
                ("discovery", "discovery-brief", "Interviewed."),
                (
                    "discovery",
                    "work-unit-registry",
                    "[The Idea Interviewer did not write `work-unit-registry`.]"
                ),
            ]
        );
        let chat = messages(&brief);
        assert!(
            chat[1]
                .content
                .contains("## feature-brief (from the Feature Fit Analyst)\nBrief.")
        );
        let system = &chat[0].content;
        assert!(
            system.contains("`## roadmap`, `## user-stories`, `## requirements`, `## backlog`"),
            "{system}"
        );
        // QA writes sections around its verdict, so no schema holds it to JSON.
        let qa = pipeline.index_of("qa").expect("qa");
        let request = request(&state, &pipeline, qa, "m", None, &Tokens::for_model("m"));
        assert!(request.answer.schema.is_none());
    }

    #[test]
    fn a_verdict_in_a_named_output_is_handed_on_readable_not_as_json() {
        let (pipeline, mut state) = discovery_answered();
        let content = "## test-cases\n- TC-1\n## test-report\n```json\n{\"verdict\": \"fail\", \"issues\": [{\"severity\": \"high\", \"title\": \"No 429\"}]}\n```\n";
        for kind in [
            EventKind::PhaseStarted {
                phase: "qa".into(),
                attempt: 1,
            },
            EventKind::Artifact {
                phase: "qa".into(),
                attempt: 1,
                name: "qa".into(),
                content: content.into(),
                outputs: crate::formats::sections::split(content, &["test-cases", "test-report"])
                    .found,
                missing: Vec::new(),
            },
        ] {
            state.apply(&crate::session::Event {
                seq: state.next_seq,
                t: chrono::DateTime::UNIX_EPOCH,
                kind,
            });
        }
        let release = pipeline.index_of("release").expect("release");
        let brief = brief(&state, &pipeline, release);
        let report = brief
            .inputs
            .iter()
            .find(|i| i.name == "test-report")
            .expect("DevOps reads the test report");
        assert!(
            report.content.contains("# QA verdict: fail"),
            "{}",
            report.content
        );
        assert!(
            !report.content.contains("\"verdict\""),
            "{}",
            report.content
        );
        let cases = brief
            .inputs
            .iter()
            .find(|i| i.name == "test-cases")
            .expect("cases");
        assert_eq!(cases.content, "- TC-1");
    }
}
