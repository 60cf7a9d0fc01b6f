//! One streamed answer, read by the rules every answer is held to, whether
//! it is a turn of a phase's conversation or a run of a plan task: text past
//! [`ANSWER_LIMIT`] fails it, an answer cut at the model's output limit or
//! by its content filter fails it, a stream that ends without a finish
//! reason fails it, and every call's tokens count whatever becomes of it.
//!
//! [`Answer::step`] takes the stream's next item and says what the caller
//! should do with it; the caller owns the stream, its timing and where the
//! text goes (the log, or the engine over a channel).

use std::time::Duration;

use crate::provider::tokens::Tokens;
use crate::provider::{Chunk, CompletionRequest, ProviderError, ToolCall};
use crate::session::EventKind;

/// The longest answer one call may stream (far past any model's output
/// limit); a longer one fails, so memory, the log and the screen stay
/// bounded.
pub(super) const ANSWER_LIMIT: usize = 512 * 1024;

/// An answer as far as it has streamed.
pub(super) struct Answer {
    pub text: String,
    pub calls: Vec<ToolCall>,
    /// As the server reported it.
    usage: Option<(u64, u64)>,
    /// The server finished the call (with a finish reason, whole or cut).
    finished: bool,
    /// The prompt's size, for a server that reports no usage.
    estimated_prompt: u64,
}

/// The tokens of a request's messages, counted as its model counts them.
pub(super) fn prompt_tokens(request: &CompletionRequest, tokens: &Tokens) -> u64 {
    request
        .messages
        .iter()
        .map(|m| tokens.count(&m.content))
        .sum()
}

/// A call the provider is trying again, and why.
pub(super) struct Retrying {
    reason: String,
    wait: Duration,
    next_try: u32,
    tries: u32,
}

impl Retrying {
    /// The `retry` event that records it for `phase`'s `attempt`.
    pub(super) fn event(self, phase: &str, attempt: u32) -> EventKind {
        EventKind::Retry {
            phase: phase.to_owned(),
            attempt,
            reason: self.reason,
            wait_ms: u64::try_from(self.wait.as_millis()).unwrap_or(u64::MAX),
            next_try: self.next_try,
            tries: self.tries,
        }
    }
}

/// What the caller does with one item of the stream.
pub(super) enum Step {
    /// Text to pass on (it is already part of [`Answer::text`]).
    Text(String),
    /// The provider is trying the call again.
    Retry(Retrying),
    /// Nothing to pass on (usage, a tool call).
    Quiet,
    /// The answer is whole.
    Done,
    /// The answer failed, for this reason.
    Failed(String),
}

impl Answer {
    /// An answer to `request`, whose prompt `tokens` counts in case the
    /// server reports no usage.
    pub(super) fn new(request: &CompletionRequest, tokens: &Tokens) -> Self {
        Self {
            text: String::new(),
            calls: Vec::new(),
            usage: None,
            finished: false,
            estimated_prompt: prompt_tokens(request, tokens),
        }
    }

    /// Takes the stream's next item (`None` when it ended).
    pub(super) fn step(&mut self, item: Option<Result<Chunk, ProviderError>>) -> Step {
        match item {
            Some(Ok(Chunk::Text(delta))) => {
                if self.text.len() + delta.len() > ANSWER_LIMIT {
                    return Step::Failed(format!(
                        "the answer passed {} KiB, more than any artifact or report needs, \
                         so handoff stopped reading it (a model repeating itself?)",
                        ANSWER_LIMIT / 1024
                    ));
                }
                self.text.push_str(&delta);
                Step::Text(delta)
            }
            Some(Ok(Chunk::Usage {
                prompt_tokens,
                completion_tokens,
            })) => {
                self.usage = Some((prompt_tokens, completion_tokens));
                Step::Quiet
            }
            Some(Ok(Chunk::ToolCall(call))) => {
                self.calls.push(call);
                Step::Quiet
            }
            Some(Ok(Chunk::Done { finish_reason })) => {
                self.finished = true;
                cut_off(&finish_reason).map_or(Step::Done, Step::Failed)
            }
            Some(Ok(Chunk::Retry {
                reason,
                wait,
                next_try,
                tries,
            })) => Step::Retry(Retrying {
                reason,
                wait,
                next_try,
                tries,
            }),
            Some(Err(e)) => Step::Failed(e.to_string()),
            None => Step::Failed(
                "the answer was cut short: the stream ended without a finish reason".into(),
            ),
        }
    }

    /// The tokens the call cost, `(prompt, completion)`: as the server
    /// reported them, else estimated for a call the server finished (even
    /// cut short) or that streamed text. A call that failed before either
    /// is not counted. The estimate counts with the model's tokenizer.
    pub(super) fn tokens(&self, tokens: &Tokens) -> Option<(u64, u64)> {
        self.usage.or_else(|| {
            (self.finished || !self.text.is_empty())
                .then(|| (self.estimated_prompt, tokens.count(&self.text)))
        })
    }
}

/// Why an answer that finished for `finish_reason` is not whole: cut at the
/// model's output limit or by its content filter.
fn cut_off(finish_reason: &str) -> Option<String> {
    match finish_reason {
        "length" => {
            Some("the answer was cut at the model's output limit (finish_reason: length)".into())
        }
        "content_filter" => {
            Some("the model's content filter cut the answer (finish_reason: content_filter)".into())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::{SkillsFile, load_pipeline};
    use crate::provider::{Brief, Message, Role};

    fn counter() -> Tokens {
        Tokens::for_model("gpt-4o")
    }

    fn answer() -> Answer {
        let pipeline = load_pipeline(&SkillsFile::builtin(), None).expect("builtin");
        Answer::new(
            &CompletionRequest {
                model: "m".into(),
                temperature: None,
                messages: vec![Message {
                    role: Role::User,
                    content: "word ".repeat(400),
                    tool_calls: Vec::new(),
                    tool_call_id: None,
                }],
                tools: Vec::new(),
                answer: crate::provider::AnswerSpec::default(),
                brief: Brief::new("r", pipeline.phases[0].clone()),
            },
            &counter(),
        )
    }

    fn text(t: &str) -> Chunk {
        Chunk::Text(t.into())
    }

    fn done(reason: &str) -> Chunk {
        Chunk::Done {
            finish_reason: reason.into(),
        }
    }

    fn failed(step: &Step, why: &str) -> bool {
        matches!(step, Step::Failed(error) if error.contains(why))
    }

    #[test]
    fn a_whole_answer_counts_reported_usage_else_an_estimate() {
        let mut a = answer();
        assert!(matches!(a.step(Some(Ok(text("Hello ")))), Step::Text(t) if t == "Hello "));
        assert!(matches!(a.step(Some(Ok(done("stop")))), Step::Done));
        let (prompt, completion) = a.tokens(&counter()).expect("counted");
        assert!(prompt > 0 && completion > 0);
        let reported = Chunk::Usage {
            prompt_tokens: 7,
            completion_tokens: 3,
        };
        assert!(matches!(a.step(Some(Ok(reported))), Step::Quiet));
        assert_eq!(a.tokens(&counter()), Some((7, 3)));
    }

    #[test]
    fn cut_answers_and_broken_streams_fail_and_count_what_streamed() {
        for (end, why) in [
            (Some(Ok(done("length"))), "output limit"),
            (Some(Ok(done("content_filter"))), "content filter"),
            (None, "without a finish reason"),
            (Some(Err(ProviderError("HTTP 500".into()))), "HTTP 500"),
        ] {
            let mut a = answer();
            assert!(matches!(a.step(Some(Ok(text("partial")))), Step::Text(_)));
            assert!(failed(&a.step(end), why), "{why}");
            assert!(
                a.tokens(&counter()).is_some(),
                "{why}: what streamed was paid for"
            );
        }
        let mut silent = answer();
        assert!(failed(&silent.step(None), "cut short"));
        assert_eq!(
            silent.tokens(&counter()),
            None,
            "nothing streamed, nothing reported"
        );
        // Cut at the output limit before any text (a model that spent it
        // all reasoning): the server billed it, so it counts.
        let mut thought = answer();
        assert!(failed(
            &thought.step(Some(Ok(done("length")))),
            "output limit"
        ));
        assert!(thought.tokens(&counter()).is_some());
    }

    #[test]
    fn an_answer_past_the_limit_fails_without_keeping_the_excess() {
        let mut a = answer();
        let block = "x".repeat(64 * 1024);
        let mut passed = 0;
        let mut step = a.step(Some(Ok(text(&block))));
        while matches!(step, Step::Text(_)) {
            passed += 1;
            step = a.step(Some(Ok(text(&block))));
        }
        assert!(failed(&step, "512 KiB"));
        assert_eq!(passed, ANSWER_LIMIT / block.len());
        assert!(a.text.len() <= ANSWER_LIMIT);
    }
}
