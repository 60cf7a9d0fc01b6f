//! The offline provider: a deterministic stand-in for a model, built in.
//!
//! It needs no key and no network, and it goes through the same engine paths
//! as a real model: its answer arrives as a stream of text chunks followed by
//! usage and a finish reason, it can be cancelled mid-stream, and it can fail.
//! The text itself is composed by [`compose`] from the request and the
//! artifacts the role was handed, so an edit upstream visibly changes what
//! comes downstream. In the TUI it streams at a readable pace; headless it
//! streams at once.
//!
//! A request containing `!fail:<phase>` makes the first attempt of that phase
//! break off mid-stream, to show (and test) how a failed phase is handled;
//! `!task-fails:N` does the same to the maker of plan task N in the first
//! attempt that runs the plan.
//! A consult of a specialist (`brief.consult`) gets that specialist's
//! advice ([`advice`]); `!consult-fails:<specialist>` in the request makes
//! every consult of that specialist fail, as a server error would.
//! A utility summoned at a gate (`brief.summoned`) gets that utility's
//! sections ([`utility`]), after one look at the workspace when it is
//! offered `list_dir`.
//! When the role is offered tools (the session has a workspace) it first
//! makes a few harmless tool calls ([`workspace`]), then answers.

mod advice;
mod code;
mod collab;
mod compose;
mod discovery;
mod structured;
mod utility;
mod workspace;

use std::time::Duration;

use futures::StreamExt;

use super::tokens::rough as estimate_tokens;
use super::{Chunk, ChunkStream, CompletionRequest, Provider, ProviderError};

pub use compose::compose;

/// How fast the offline provider "types".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pace {
    /// Before the first chunk, as a model thinks.
    pub first: Duration,
    /// Between chunks.
    pub between: Duration,
}

impl Pace {
    /// Readable in the TUI: a phase takes a few seconds.
    pub const READABLE: Self = Self {
        first: Duration::from_millis(400),
        between: Duration::from_millis(12),
    };

    /// Quick but not instant: a phase takes a fraction of a second, so a
    /// run can be interrupted anywhere (the crash tests use it).
    pub const BRISK: Self = Self {
        first: Duration::from_millis(20),
        between: Duration::from_millis(1),
    };

    /// No waiting at all.
    pub const INSTANT: Self = Self {
        first: Duration::ZERO,
        between: Duration::ZERO,
    };
}

/// The built-in deterministic provider.
#[derive(Clone, Debug)]
pub struct OfflineProvider {
    pace: Pace,
}

impl OfflineProvider {
    pub fn new(pace: Pace) -> Self {
        Self { pace }
    }
}

/// The model name the offline provider reports.
pub const OFFLINE_MODEL: &str = "offline-scripted";

/// Splits text into small chunks of a few words, keeping every character.
fn chunks(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut words = 0;
    for c in text.chars() {
        current.push(c);
        if c == ' ' || c == '\n' {
            words += 1;
            if words == 3 || c == '\n' {
                out.push(std::mem::take(&mut current));
                words = 0;
            }
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

impl OfflineProvider {
    /// A specialist's advice, streamed like any answer, or the failure
    /// the request asks for.
    fn consult(
        &self,
        request: &CompletionRequest,
        specialist: &crate::pipeline::Specialist,
    ) -> ChunkStream {
        let marker = format!("!consult-fails:{}", specialist.name);
        let pieces: Vec<Result<Chunk, ProviderError>> = if request
            .brief
            .request
            .split_whitespace()
            .any(|w| w == marker)
        {
            vec![Err(ProviderError(format!(
                "offline provider: simulated server error consulting `{}` (the request asks for it with {marker})",
                specialist.name
            )))]
        } else {
            let text = advice::compose(&request.brief, specialist);
            whole(request, &text, Vec::new())
        };
        paced(self.pace, pieces)
    }

    /// A summoned utility's answer: a look at the workspace first when it
    /// may list it, then its sections.
    fn summoned(
        &self,
        request: &CompletionRequest,
        utility: &crate::pipeline::Utility,
    ) -> ChunkStream {
        let looks = request.tools.iter().any(|t| t.name == "list_dir")
            && !workspace::has_results(&request.messages);
        let pieces = if looks {
            let call = super::ToolCall {
                id: "utility-look".into(),
                name: "list_dir".into(),
                arguments: r#"{"path":"."}"#.into(),
            };
            whole(request, "Looking at the workspace first.\n", vec![call])
        } else {
            whole(
                request,
                &utility::compose(&request.brief, utility),
                Vec::new(),
            )
        };
        paced(self.pace, pieces)
    }
}

/// `text` as an answer's chunks, then `calls`, usage and a finish reason.
fn whole(
    request: &CompletionRequest,
    text: &str,
    calls: Vec<super::ToolCall>,
) -> Vec<Result<Chunk, ProviderError>> {
    let prompt_tokens = request
        .messages
        .iter()
        .map(|m| estimate_tokens(&m.content))
        .sum();
    let completion_tokens = estimate_tokens(text);
    let finish_reason = if calls.is_empty() {
        "stop"
    } else {
        "tool_calls"
    };
    chunks(text)
        .into_iter()
        .map(|c| Ok(Chunk::Text(c)))
        .chain(calls.into_iter().map(|c| Ok(Chunk::ToolCall(c))))
        .chain([
            Ok(Chunk::Usage {
                prompt_tokens,
                completion_tokens,
            }),
            Ok(Chunk::Done {
                finish_reason: finish_reason.into(),
            }),
        ])
        .collect()
}

/// Streams `pieces` at `pace`.
fn paced(pace: Pace, pieces: Vec<Result<Chunk, ProviderError>>) -> ChunkStream {
    futures::stream::iter(pieces.into_iter().enumerate())
        .then(move |(i, piece)| async move {
            let wait = if i == 0 { pace.first } else { pace.between };
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
            piece
        })
        .boxed()
}

impl Provider for OfflineProvider {
    fn name(&self) -> &'static str {
        "offline"
    }

    fn stream(&self, request: CompletionRequest) -> ChunkStream {
        let brief = &request.brief;
        if let Some((specialist, _)) = &brief.consult {
            return self.consult(&request, specialist);
        }
        if let Some(utility) = &brief.summoned {
            return self.summoned(&request, utility);
        }
        let offered: Vec<String> = request.tools.iter().map(|t| t.name.clone()).collect();
        // In a workspace: ask for the role's tools first, answer once their
        // results are in.
        let calls = if workspace::has_results(&request.messages) {
            Vec::new()
        } else {
            workspace::plan(brief, &offered)
        };
        let text = if calls.is_empty() {
            let mut text = compose(brief);
            if workspace::has_results(&request.messages) {
                text.push_str(&workspace::report(&request.messages));
            }
            text
        } else {
            format!(
                "Looking at the workspace first ({} tool calls).\n",
                calls.len()
            )
        };
        let prompt_tokens = request
            .messages
            .iter()
            .map(|m| estimate_tokens(&m.content))
            .sum();
        let completion_tokens = estimate_tokens(&text);
        let marker = match &brief.task {
            Some(task) if task.critique_of.is_none() => format!("!task-fails:{}", task.order),
            Some(_) => String::new(),
            None => format!("!fail:{}", brief.phase.id),
        };
        let fail = brief.attempt == 1
            && !marker.is_empty()
            && brief.request.split_whitespace().any(|w| w == marker);
        let mut pieces: Vec<Result<Chunk, ProviderError>> = chunks(&text)
            .into_iter()
            .map(|c| Ok(Chunk::Text(c)))
            .collect();
        if fail {
            pieces.truncate(pieces.len() / 2);
            pieces.push(Err(ProviderError(format!(
                "offline provider: simulated failure of `{}` (the request asks for it with {marker})",
                brief.phase.id
            ))));
        } else {
            let finish_reason = if calls.is_empty() {
                "stop"
            } else {
                "tool_calls"
            };
            pieces.extend(calls.into_iter().map(|c| Ok(Chunk::ToolCall(c))));
            pieces.push(Ok(Chunk::Usage {
                prompt_tokens,
                completion_tokens,
            }));
            pieces.push(Ok(Chunk::Done {
                finish_reason: finish_reason.into(),
            }));
        }
        paced(self.pace, pieces)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::{SkillsFile, load_pipeline};
    use crate::provider::Brief;

    fn request(text: &str, phase: usize) -> CompletionRequest {
        let pipeline = load_pipeline(&SkillsFile::builtin(), None).expect("builtin");
        CompletionRequest {
            model: OFFLINE_MODEL.into(),
            temperature: None,
            tools: Vec::new(),
            messages: Vec::new(),
            answer: crate::provider::AnswerSpec::default(),
            brief: Brief::new(text, pipeline.phases[phase].clone()),
        }
    }

    async fn collect(stream: ChunkStream) -> Vec<Result<Chunk, ProviderError>> {
        stream.collect().await
    }

    #[test]
    fn chunks_keep_every_character() {
        let text = "one two three four\nfive  six\n\nseven";
        assert_eq!(chunks(text).concat(), text);
    }

    #[tokio::test]
    async fn streams_text_then_usage_then_done() {
        let provider = OfflineProvider::new(Pace::INSTANT);
        let items =
            collect(provider.stream(request("Add rate limiting to the orders API", 0))).await;
        let text: String = items
            .iter()
            .filter_map(|c| match c {
                Ok(Chunk::Text(t)) => Some(t.as_str()),
                _ => None,
            })
            .collect();
        assert!(text.contains("rate limiting"), "{text}");
        assert!(
            matches!(items[items.len() - 2], Ok(Chunk::Usage { completion_tokens, .. }) if completion_tokens > 50)
        );
        assert_eq!(
            items.last(),
            Some(&Ok(Chunk::Done {
                finish_reason: "stop".into()
            }))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn readable_pace_takes_time() {
        let provider = OfflineProvider::new(Pace::READABLE);
        let start = tokio::time::Instant::now();
        let items = collect(provider.stream(request("Add an audit log", 0))).await;
        let expected = Pace::READABLE.first
            + Pace::READABLE.between * (u32::try_from(items.len()).expect("few chunks") - 1);
        assert_eq!(start.elapsed(), expected);
    }

    #[tokio::test]
    async fn fail_marker_breaks_the_first_attempt() {
        let provider = OfflineProvider::new(Pace::INSTANT);
        let items = collect(provider.stream(request("Add X !fail:summarize", 0))).await;
        assert!(
            matches!(items.last(), Some(Err(ProviderError(m))) if m.contains("simulated failure"))
        );
        let mut retry = request("Add X !fail:summarize", 0);
        retry.brief.attempt = 2;
        let items = collect(provider.stream(retry)).await;
        assert!(matches!(items.last(), Some(Ok(Chunk::Done { .. }))));
    }
}
