//! Running one attempt of one phase: stream the provider's answer into the
//! log, watch for a cancel, and end with an artifact or a failure.
//!
//! Streamed text is coalesced before it is logged: a chunk is flushed as an
//! `output` event once [`FLUSH_AFTER`] has passed since the last flush or
//! [`FLUSH_BYTES`] have gathered, so a fast stream makes a few events, not
//! thousands, and a slow one still shows up promptly.

use std::time::Duration;

use futures::StreamExt;
use tokio::time::Instant;

use super::{Command, Engine, EngineError};
use crate::agent;
use crate::provider::{Chunk, estimate_tokens};
use crate::session::EventKind;

/// The longest text waits before it is logged.
const FLUSH_AFTER: Duration = Duration::from_millis(80);
/// The most text gathered before it is logged regardless of time.
const FLUSH_BYTES: usize = 2048;

/// How the stream ended.
enum StreamEnd {
    Done,
    Failed(String),
    /// The client went away; nothing more is written.
    Stopped,
}

impl Engine {
    /// Runs the next attempt of phase `index`. Returns `false` when the
    /// client went away mid-stream.
    pub(super) async fn run_phase(&mut self, index: usize) -> Result<bool, EngineError> {
        let phase_id = self.spec.pipeline.phases[index].id.clone();
        let artifact = self.spec.pipeline.phases[index].artifact.clone();
        let request = agent::request(
            &self.state,
            &self.spec.pipeline,
            index,
            &self.spec.model,
            self.spec.context_tokens,
        );
        let attempt = request.brief.attempt;
        let estimated_prompt: u64 = request
            .messages
            .iter()
            .map(|m| estimate_tokens(&m.content))
            .sum();
        self.emit(EventKind::PhaseStarted {
            phase: phase_id.clone(),
            attempt,
        })?;
        let mut stream = self.spec.provider.stream(request);
        let mut text = String::new();
        let mut pending = String::new();
        let mut usage = None;
        let mut last_flush = Instant::now();
        let end = loop {
            let deadline = last_flush + FLUSH_AFTER;
            tokio::select! {
                chunk = stream.next() => match chunk {
                    Some(Ok(Chunk::Text(delta))) => {
                        text.push_str(&delta);
                        pending.push_str(&delta);
                        if pending.len() >= FLUSH_BYTES || Instant::now() >= deadline {
                            self.flush(&phase_id, attempt, &mut pending)?;
                            last_flush = Instant::now();
                        }
                    }
                    Some(Ok(Chunk::Usage { prompt_tokens, completion_tokens })) => {
                        usage = Some((prompt_tokens, completion_tokens));
                    }
                    Some(Ok(Chunk::Done { .. })) => break StreamEnd::Done,
                    // No role is offered tools yet, so a call is not an answer.
                    Some(Ok(Chunk::ToolCall(call))) => break StreamEnd::Failed(format!(
                        "the model asked to run `{}`, but no tools are offered to this role",
                        call.name
                    )),
                    Some(Ok(Chunk::Retry { reason, wait, next_try, tries })) => {
                        self.emit(EventKind::Retry {
                            phase: phase_id.clone(),
                            attempt,
                            reason,
                            wait_ms: u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                            next_try,
                            tries,
                        })?;
                    }
                    Some(Err(e)) => break StreamEnd::Failed(e.to_string()),
                    None => break StreamEnd::Failed(
                        "the answer was cut short: the stream ended without a finish reason".into(),
                    ),
                },
                () = tokio::time::sleep_until(deadline), if !pending.is_empty() => {
                    self.flush(&phase_id, attempt, &mut pending)?;
                    last_flush = Instant::now();
                }
                command = self.commands.recv() => match command {
                    Some(Command::Cancel) => break StreamEnd::Failed("cancelled by the user".into()),
                    Some(Command::Decide(d)) => self.sink.notice(format!(
                        "decision on `{}` refused: no gate is open while {} works",
                        d.phase, self.spec.pipeline.phases[index].role
                    )),
                    None => break StreamEnd::Stopped,
                },
            }
        };
        drop(stream);
        self.flush(&phase_id, attempt, &mut pending)?;
        match end {
            StreamEnd::Stopped => Ok(false),
            StreamEnd::Failed(error) => {
                self.emit(EventKind::PhaseFailed {
                    phase: phase_id,
                    attempt,
                    error,
                })?;
                Ok(true)
            }
            StreamEnd::Done => {
                let (prompt_tokens, completion_tokens) =
                    usage.unwrap_or_else(|| (estimated_prompt, estimate_tokens(&text)));
                self.emit(EventKind::Usage {
                    phase: phase_id.clone(),
                    attempt,
                    prompt_tokens,
                    completion_tokens,
                })?;
                let mut content = text.trim().to_owned();
                content.push('\n');
                self.emit(EventKind::Artifact {
                    phase: phase_id,
                    attempt,
                    name: artifact,
                    content,
                })?;
                Ok(true)
            }
        }
    }

    /// Logs the gathered text, if any, as one `output` event.
    fn flush(
        &mut self,
        phase: &str,
        attempt: u32,
        pending: &mut String,
    ) -> Result<(), EngineError> {
        if pending.is_empty() {
            return Ok(());
        }
        self.emit(EventKind::Output {
            phase: phase.to_owned(),
            attempt,
            text: std::mem::take(pending),
        })
    }
}
