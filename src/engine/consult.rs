//! Consulting the specialists engaged for an attempt, before its role runs.
//!
//! Each consulted specialist without standing advice (`agent::standing_advice`)
//! gets its own short call, all of them at once. Each call's tokens are
//! counted on the attempt, and each ends in an `advice` event: the advice,
//! or why there is none. A consult that fails never stops the phase: the
//! role runs without that advice. A cancel stops the consults (each is
//! recorded as cancelled) and the role runs; a client that goes away stops
//! the engine as anywhere else. The role is then handed every piece of
//! advice that stands.

use std::sync::Arc;

use futures::StreamExt;

use super::answer::{Answer, Step};
use super::{Engine, EngineError};
use crate::agent;
use crate::protocol::Command;
use crate::provider::tokens::Tokens;
use crate::provider::{CompletionRequest, Provider};
use crate::session::EventKind;

/// How one short call ended: its answer or why there is none, the tool
/// calls it asked for (a summoned utility may ask), and what it cost.
pub(super) struct Consulted {
    pub(super) advice: Result<String, String>,
    pub(super) calls: Vec<crate::provider::ToolCall>,
    pub(super) tokens: Option<(u64, u64)>,
}

/// Reads one short call's answer whole: a consult, or a turn of a
/// summoned utility.
pub(super) async fn consult(
    provider: Arc<dyn Provider>,
    tokens: Arc<Tokens>,
    request: CompletionRequest,
) -> Consulted {
    let mut answer = Answer::new(&request, &tokens);
    let mut stream = provider.stream(request);
    let end = loop {
        match answer.step(stream.next().await) {
            Step::Text(_) | Step::Retry(_) | Step::Quiet => {}
            Step::Done => break None,
            Step::Failed(error) => break Some(error),
        }
    };
    let advice = match end {
        Some(error) => Err(error),
        None if answer.calls.is_empty() && answer.text.trim().is_empty() => {
            Err("the answer was empty".into())
        }
        None => Ok(format!("{}\n", answer.text.trim())),
    };
    let tokens = answer.tokens(&tokens);
    Consulted {
        advice,
        calls: answer.calls,
        tokens,
    }
}

impl Engine {
    /// Consults the specialists engaged for `attempt` of phase `index`
    /// that have no standing advice, records what each said, and hands
    /// `request`'s role all the advice that stands. Returns `false` when
    /// the client went away.
    pub(super) async fn consult(
        &mut self,
        index: usize,
        attempt: u32,
        request: &mut CompletionRequest,
    ) -> Result<bool, EngineError> {
        let pipeline = &self.spec.pipeline;
        let engaged = request.brief.specialists.clone();
        let (_, ask) = agent::standing_advice(&self.state, pipeline, index, &engaged);
        if !ask.is_empty() {
            let read = agent::reads(&self.state, pipeline, index);
            let calls = ask.iter().map(|(specialist, keyword)| {
                let call = agent::consult_request(
                    &self.state,
                    pipeline,
                    (index, attempt),
                    (specialist, keyword),
                    &self.spec.model,
                );
                let asked = consult(
                    Arc::clone(&self.spec.provider),
                    Arc::clone(&self.spec.tokens),
                    call,
                );
                // A server that trickles forever does not hold the phase:
                // a consult has the bound an attempt has.
                let limit = self.spec.attempt_timeout;
                async move {
                    tokio::time::timeout(limit, asked)
                        .await
                        .unwrap_or_else(|_| Consulted {
                            advice: Err(format!(
                                "no advice within {} s ([timeouts] attempt)",
                                limit.as_secs()
                            )),
                            calls: Vec::new(),
                            tokens: None,
                        })
                }
            });
            let all = futures::future::join_all(calls);
            tokio::pin!(all);
            let phase = &pipeline.phases[index];
            let results = loop {
                tokio::select! {
                    results = &mut all => break results,
                    command = self.commands.recv() => match command {
                        Some(Command::Cancel) => break ask.iter().map(|_| Consulted {
                            advice: Err("cancelled by the user".into()),
                            calls: Vec::new(),
                            tokens: None,
                        }).collect(),
                        Some(Command::Decide(d)) => self.sink.refused(format!(
                            "decision on `{}` refused: no gate is open while specialists advise the {}",
                            d.phase, phase.role
                        )),
                        Some(Command::Permission(answer)) => self.sink.notice(format!(
                            "no permission is asked for call `{}`",
                            answer.call_id
                        )),
                        Some(Command::Summon { utility, .. }) => self.sink.refused(super::utility::summon_refused(&utility)),
                        Some(Command::Revert { .. } | Command::UndoRevert { .. }) => self.sink.refused(
                            "nothing is reverted while a phase works: only at its gate".into(),
                        ),
                        None => return Ok(false),
                    },
                }
            };
            let phase = phase.id.clone();
            for ((specialist, keyword), done) in ask.into_iter().zip(results) {
                if let Some((prompt_tokens, completion_tokens)) = done.tokens {
                    self.emit(EventKind::Usage {
                        phase: phase.clone(),
                        attempt,
                        prompt_tokens,
                        completion_tokens,
                    })?;
                }
                let (text, error) = match done.advice {
                    Ok(text) => (text, None),
                    Err(error) => (String::new(), Some(error)),
                };
                self.emit(EventKind::Advice {
                    phase: phase.clone(),
                    attempt,
                    specialist: specialist.name,
                    keyword,
                    text,
                    error,
                    read,
                })?;
            }
        }
        let (standing, _) =
            agent::standing_advice(&self.state, &self.spec.pipeline, index, &engaged);
        if !standing.is_empty() {
            agent::hand_advice(request, standing);
        }
        Ok(true)
    }
}
