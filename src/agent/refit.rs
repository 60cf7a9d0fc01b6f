//! The last check before a phase's request goes out: does all of it fit
//! the model's context with room for the answer?
//!
//! A request is sized when it is built ([`super::request`]) from what is
//! known then, but more joins it afterwards: the consulted specialists'
//! advice, the description of the workspace, and for a plan task its own
//! part (the task, its criteria, the report it checks). [`refit`] counts the
//! whole request as it will be sent (every message, the tools offered,
//! the answer's cap) and, when it is over, cuts the handed-over texts
//! (inputs and the previous attempt) again, by what is over, the way the
//! first fit cuts them; what joined after the first fit is kept whole.

use crate::provider::tokens::Tokens;
use crate::provider::{Brief, CompletionRequest, Message};

/// How a request's messages are made from its brief: a phase's
/// ([`super::build_messages`]) or a plan task's ([`super::task_messages`]).
pub type Build<'a> = &'a dyn Fn(&Brief) -> Vec<Message>;

/// Tokens a chat template spends on each message around its text (role
/// markers and separators), a generous estimate.
const PER_MESSAGE: usize = 8;

/// Tokens the mark a cut leaves in a text takes, at most.
const MARK: usize = 24;

/// How many tokens `request` takes as it will be sent, its answer's cap
/// included.
pub fn size(request: &CompletionRequest, tokens: &Tokens) -> usize {
    let count = |t: &str| usize::try_from(tokens.count(t)).unwrap_or(usize::MAX);
    let messages: usize = request
        .messages
        .iter()
        .map(|m| count(&m.content) + PER_MESSAGE)
        .sum();
    let tools: usize = request
        .tools
        .iter()
        .map(|t| count(&t.name) + count(&t.description) + count(&t.parameters.to_string()))
        .sum();
    let answer = request
        .answer
        .max_tokens
        .map_or(0, |m| usize::try_from(m).unwrap_or(usize::MAX));
    messages + tools + answer
}

/// Cuts `request`'s handed-over texts so that the whole request fits in
/// `context` tokens; returns the tokens it was over by (0 when it fit).
/// What was appended to the user message after `build` made it from the
/// brief (advice, the workspace) is kept as it is.
pub fn refit(
    request: &mut CompletionRequest,
    build: Build<'_>,
    context: usize,
    tokens: &Tokens,
) -> usize {
    let over = size(request, tokens).saturating_sub(context);
    // Characters per token vary along a text, so a cut may fall a little
    // short: cut again by what is left over, a few times at most.
    let mut left = over;
    for _ in 0..3 {
        if left == 0 || !cut(request, build, left, tokens) {
            break;
        }
        left = size(request, tokens).saturating_sub(context);
    }
    over
}

/// Cuts `request`'s handed-over texts by `over` tokens; `false` when it
/// could not (nothing to cut, or messages not as the brief makes them).
fn cut(request: &mut CompletionRequest, build: Build<'_>, over: usize, tokens: &Tokens) -> bool {
    let made = build(&request.brief);
    let Some(tail) = appended(request, &made) else {
        return false;
    };
    let count = |t: &str| usize::try_from(tokens.count(t)).unwrap_or(usize::MAX);
    let texts: Vec<&str> = request
        .brief
        .inputs
        .iter()
        .map(|i| i.content.as_str())
        .chain(request.brief.previous.as_deref())
        .collect();
    let chars: usize = texts.iter().map(|t| t.len()).sum();
    let used: usize = texts.iter().map(|t| count(t)).sum();
    if used == 0 {
        return false;
    }
    // The texts keep `(used - over) / used` of their characters, less the
    // mark each cut adds.
    let keep = used.saturating_sub(over + MARK * texts.len());
    let budget = chars / used * keep + chars % used * keep / used;
    super::fit(&mut request.brief, budget);
    let mut messages = build(&request.brief);
    if let Some(user) = messages
        .iter_mut()
        .rev()
        .find(|m| m.role == crate::provider::Role::User)
    {
        user.content.push_str(&tail);
    }
    request.messages = messages;
    true
}

/// What was appended to the request's user message after it was built as
/// `built`; `None` when the request's messages are not `built` plus an
/// ending (then it is not cut here).
fn appended(request: &CompletionRequest, built: &[Message]) -> Option<String> {
    if request.messages.len() != built.len() {
        return None;
    }
    let mut tail = None;
    for (sent, made) in request.messages.iter().zip(built) {
        if sent.content == made.content {
            continue;
        }
        let rest = sent.content.strip_prefix(made.content.as_str())?;
        if tail.is_some() || sent.role != crate::provider::Role::User {
            return None;
        }
        tail = Some(rest.to_owned());
    }
    Some(tail.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::{SkillsFile, load_pipeline};
    use crate::session::testing::{fold, started};
    use crate::session::{Action, DecidedBy, Decision, EventKind};

    /// A developer's request whose requirements and plan are long.
    fn long_request(tokens: &Tokens) -> (CompletionRequest, crate::pipeline::Pipeline) {
        let pipeline = load_pipeline(&SkillsFile::builtin(), None).expect("builtin");
        let long = "The limiter must hold under load and say why it refused. ".repeat(400);
        let mut kinds = vec![started("Add rate limiting", "offline")];
        for (phase, name) in [("summarize", "requirements"), ("plan", "plan")] {
            kinds.push(EventKind::PhaseStarted {
                phase: phase.into(),
                attempt: 1,
            });
            kinds.push(EventKind::Artifact {
                outputs: Vec::new(),
                missing: Vec::new(),
                phase: phase.into(),
                attempt: 1,
                name: name.into(),
                content: format!("# {name}\n{long}"),
            });
            kinds.push(EventKind::Decision(Decision::new(
                phase,
                Action::Approve,
                DecidedBy::User,
            )));
        }
        let state = fold(kinds);
        let request = super::super::request(&state, &pipeline, 2, "gpt-4o", None, tokens);
        (request, pipeline)
    }

    #[test]
    fn what_joined_after_the_first_fit_is_kept_and_the_inputs_cut_to_make_room() {
        let tokens = Tokens::for_model("gpt-4o");
        let (mut request, pipeline) = long_request(&tokens);
        let before = size(&request, &tokens);
        // Advice and the workspace join the user message afterwards.
        let advice = "\n## Advice from the redis specialist\n- Count atomically.\n";
        let workspace = "\n## Workspace\nYou work in the repository at `/w`.\n";
        request.messages[1].content.push_str(advice);
        request.messages[1].content.push_str(workspace);
        let context = before - 2000;
        let over = refit(
            &mut request,
            &|b| super::super::build_messages(b, &pipeline),
            context,
            &tokens,
        );
        assert!(over >= 2000, "{over}");
        let after = size(&request, &tokens);
        assert!(after <= context, "{after} tokens in a context of {context}");
        let user = &request.messages[1].content;
        assert!(
            user.ends_with(&format!("{advice}{workspace}")),
            "kept whole"
        );
        assert!(user.contains("cut here by handoff"), "the inputs were cut");
        assert!(user.contains("## Feature request\nAdd rate limiting"));
    }

    #[test]
    fn a_plan_tasks_request_is_cut_the_same_way_its_own_parts_kept() {
        let tokens = Tokens::for_model("gpt-4o");
        let (mut request, _) = long_request(&tokens);
        let task = crate::provider::TaskBrief {
            order: 1,
            name: "Implement the limiter".into(),
            description: "Count requests per client.".into(),
            criteria: crate::formats::plan::Criteria {
                critical: vec!["answers 429 past the limit".into()],
                ..crate::formats::plan::Criteria::default()
            },
            files: vec!["limiter.go".into()],
            critique_of: None,
            round: 1,
            work: None,
            feedback: None,
        };
        request.messages = super::super::task_messages(&request.brief, &task);
        let workspace = "\n## Workspace\nYou work in the repository at `/w`.\n";
        request.messages[1].content.push_str(workspace);
        let context = size(&request, &tokens) - 1500;
        let build = |b: &Brief| super::super::task_messages(b, &task);
        assert!(refit(&mut request, &build, context, &tokens) >= 1500);
        assert!(size(&request, &tokens) <= context);
        let user = &request.messages[1].content;
        assert!(
            user.contains("## Your task: 1. Implement the limiter"),
            "{user}"
        );
        assert!(user.contains("answers 429 past the limit"));
        assert!(user.ends_with(workspace));
        assert!(user.contains("cut here by handoff"));
    }

    #[test]
    fn a_request_that_fits_is_left_alone() {
        let tokens = Tokens::for_model("gpt-4o");
        let (mut request, pipeline) = long_request(&tokens);
        let sent = request.messages.clone();
        let context = size(&request, &tokens);
        assert_eq!(
            refit(
                &mut request,
                &|b| super::super::build_messages(b, &pipeline),
                context,
                &tokens
            ),
            0
        );
        assert_eq!(request.messages, sent);
    }
}
