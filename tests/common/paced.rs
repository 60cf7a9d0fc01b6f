//! A provider that streams like a real model at a steady pace: one token
//! every `every` (40 tokens a second is a small local model), a line break
//! every [`TOKENS_PER_LINE`] tokens, then usage and a finish reason. Run
//! under tokio's paused clock it takes no real time, so a minute of stream
//! costs milliseconds.
#![allow(
    dead_code,
    reason = "The stream bench includes this file and uses part of it."
)]

use std::time::Duration;

use futures::StreamExt;
use handoff::provider::{Chunk, ChunkStream, CompletionRequest, Provider, ProviderError};

/// Tokens in one line of the answer.
pub const TOKENS_PER_LINE: usize = 12;

/// A model that writes `tokens` tokens, one each `every`.
pub struct Paced {
    pub tokens: usize,
    pub every: Duration,
}

/// Token `i` of the answer: a word and its space, a line break after each
/// [`TOKENS_PER_LINE`]th.
pub fn token(i: usize) -> String {
    if (i + 1).is_multiple_of(TOKENS_PER_LINE) {
        format!("w{i}\n")
    } else {
        format!("w{i} ")
    }
}

impl Provider for Paced {
    fn name(&self) -> &'static str {
        "paced"
    }

    fn stream(&self, _request: CompletionRequest) -> ChunkStream {
        let every = self.every;
        let tokens = u64::try_from(self.tokens).unwrap_or(u64::MAX);
        let text = futures::stream::iter(0..self.tokens).then(move |i| async move {
            tokio::time::sleep(every).await;
            Ok::<_, ProviderError>(Chunk::Text(token(i)))
        });
        let end = futures::stream::iter([
            Ok(Chunk::Usage {
                prompt_tokens: 100,
                completion_tokens: tokens,
            }),
            Ok(Chunk::Done {
                finish_reason: "stop".into(),
            }),
        ]);
        text.chain(end).boxed()
    }
}
