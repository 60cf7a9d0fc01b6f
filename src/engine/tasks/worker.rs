//! One run of a task: a worker on its own tokio task that talks to the
//! provider and reports to the engine over a channel (streamed text,
//! retries, tokens, tool calls for the engine to run, and how it ended).

use std::sync::Arc;
use std::time::Duration;

use futures::{FutureExt, StreamExt};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use crate::engine::answer::{Answer, Retrying, Step};
use crate::provider::tokens::Tokens;
use crate::provider::{CompletionRequest, Message, Provider, Role, ToolCall};

/// What a worker tells the engine.
pub(super) enum Report {
    Text(String),
    Retry(Retrying),
    /// Tool calls to run; the results (tool messages) go back on `reply`.
    Calls(Vec<ToolCall>, oneshot::Sender<Vec<Message>>),
    /// The tokens of one finished turn.
    Usage(u64, u64),
    Done(String),
    Failed(String),
}

/// Runs one conversation of a task and reports how it ended exactly once,
/// whatever happens to it (a panic included), so the engine never waits
/// on a task that is gone. Nothing is reported when the engine stopped it.
pub(super) async fn worker(
    provider: Arc<dyn Provider>,
    tokens: Arc<Tokens>,
    request: CompletionRequest,
    max_rounds: u32,
    budget: Option<Duration>,
    key: u32,
    tx: mpsc::UnboundedSender<(u32, Report)>,
) {
    let talk = converse(
        (provider, tokens),
        request,
        max_rounds,
        budget,
        key,
        tx.clone(),
    );
    let report = match std::panic::AssertUnwindSafe(talk).catch_unwind().await {
        Ok(None) => return,
        Ok(Some(Ok(text))) => Report::Done(text),
        Ok(Some(Err(error))) => Report::Failed(error),
        Err(_) => Report::Failed("the task broke off: an internal error in handoff".into()),
    };
    let _ = tx.send((key, report));
}

/// The conversation of one task, reporting text, retries, tokens and tool
/// calls as it goes: its last answer, why it failed, or `None` when the
/// engine stopped it. `budget` (the plan's `timeout_seconds`) bounds the
/// time spent waiting on the model; tool runs have their own limits, and a
/// person answering a permission question is not the task's time.
pub(super) async fn converse(
    (provider, tokens): (Arc<dyn Provider>, Arc<Tokens>),
    mut request: CompletionRequest,
    max_rounds: u32,
    budget: Option<Duration>,
    key: u32,
    tx: mpsc::UnboundedSender<(u32, Report)>,
) -> Option<Result<String, String>> {
    let send = |report| drop(tx.send((key, report)));
    let mut rounds = 0;
    let mut spent = Duration::ZERO;
    loop {
        let mut answer = Answer::new(&request, &tokens);
        let mut stream = provider.stream(request.clone());
        let turn_started = Instant::now();
        let deadline = budget.and_then(|b| turn_started.checked_add(b.saturating_sub(spent)));
        let failed = loop {
            let item = match deadline {
                None => Ok(stream.next().await),
                Some(deadline) => tokio::time::timeout_at(deadline, stream.next()).await,
            };
            let Ok(item) = item else {
                let seconds = budget.unwrap_or_default().as_secs();
                break Some(format!(
                    "the task ran past its timeout_seconds ({seconds} s) waiting on the model"
                ));
            };
            match answer.step(item) {
                Step::Text(delta) => send(Report::Text(delta)),
                Step::Retry(retrying) => send(Report::Retry(retrying)),
                Step::Quiet => {}
                Step::Done => break None,
                Step::Failed(error) => break Some(error),
            }
        };
        spent += turn_started.elapsed();
        // Every call's tokens count, whatever becomes of the task.
        if let Some((prompt, completion)) = answer.tokens(&tokens) {
            send(Report::Usage(prompt, completion));
        }
        if let Some(error) = failed {
            return Some(Err(error));
        }
        let Answer { text, calls, .. } = answer;
        if calls.is_empty() {
            return Some(Ok(text));
        }
        rounds += 1;
        if rounds > max_rounds {
            return Some(Err(format!(
                "used all {max_rounds} rounds of tool calls without finishing (max_tool_rounds)"
            )));
        }
        request.messages.push(Message {
            role: Role::Assistant,
            content: text,
            tool_calls: calls.clone(),
            tool_call_id: None,
        });
        let (reply, results) = oneshot::channel();
        send(Report::Calls(calls, reply));
        // An error: the engine stopped the task.
        request.messages.extend(results.await.ok()?);
    }
}
