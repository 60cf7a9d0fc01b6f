//! Utility roles a person summons at an open gate (`Command::Summon`).
//!
//! A summoned utility gets a short call of its own, started in the
//! background while the gate stays open: the engine goes on taking
//! commands, and records the answer as a `utility` event (with a `usage`
//! event for its tokens, on the gate's phase) as soon as it is in. It may
//! use the read-only tools skills.toml gives it, in the workspace: a call
//! runs only if the tool is the utility's and changes nothing, and what it
//! read is listed on the event (secrets scrubbed), not logged as the
//! phase's `tool_call` events. A call has
//! the bound an attempt has (`[timeouts] attempt`). A decision that leaves
//! the gate waits for the utilities still working, so what they write is
//! handed on before the next phase runs; a cancel gives them up.

use std::sync::Arc;

use futures::StreamExt;
use futures::future::BoxFuture;
use futures::stream::FuturesUnordered;

use super::consult::{Consulted, consult};
use super::tool_calls::{cap, scrub};
use super::{Engine, EngineError};
use crate::agent;
use crate::pipeline::Utility;
use crate::protocol::Command;
use crate::provider::tokens::Tokens;
use crate::provider::{CompletionRequest, Message, Provider, Role, ToolCall};
use crate::session::EventKind;
use crate::tools::{self, ToolArgs, ToolOutput, workspace::Workspace};

/// The rounds of tool calls a summoned utility may make before it answers.
const UTILITY_TOOL_ROUNDS: u32 = 6;

/// How a summoned utility's call ended.
pub(super) struct Summoned {
    phase: String,
    gate: u64,
    utility: Utility,
    answer: Result<String, String>,
    tokens: Option<(u64, u64)>,
    /// Its tool calls, one line each.
    reads: Vec<String>,
}

/// How a utility's conversation ended: its answer, its tokens, its calls.
type Conversed = (Result<String, String>, Option<(u64, u64)>, Vec<String>);

/// The utilities working in the background.
pub(super) type Summons = FuturesUnordered<BoxFuture<'static, Summoned>>;

/// What one summoned call needs, apart from the engine.
struct Call {
    provider: Arc<dyn Provider>,
    tokens: Arc<Tokens>,
    workspace: Option<Arc<Workspace>>,
    secrets: Vec<String>,
}

/// Runs a read-only tool call of `utility`, or says why not.
async fn read_only_tool(call: &Call, utility: &Utility, tool: &ToolCall) -> ToolOutput {
    if !utility.tools.contains(&tool.name) || !tools::READ_ONLY.contains(&tool.name.as_str()) {
        return ToolOutput::failed(format!(
            "the {} only reads, with {}: `{}` is refused",
            utility.name,
            utility.tools.join(", "),
            tool.name
        ));
    }
    match ToolArgs::parse(&tool.name, &tool.arguments) {
        Ok(args) => super::tool_calls::file_tool(call.workspace.clone(), args).await,
        Err(e) => ToolOutput::failed(format!("arguments that cannot be read: {e}")),
    }
}

/// The utility's conversation: its answer, with its read-only tool calls
/// run in between; every turn's tokens summed.
async fn converse(call: Call, utility: &Utility, mut request: CompletionRequest) -> Conversed {
    let mut spent: Option<(u64, u64)> = None;
    let mut reads = Vec::new();
    for _ in 0..=UTILITY_TOOL_ROUNDS {
        let Consulted {
            advice,
            calls,
            tokens,
        } = consult(
            Arc::clone(&call.provider),
            Arc::clone(&call.tokens),
            request.clone(),
        )
        .await;
        if let Some((p, c)) = tokens {
            let (sp, sc) = spent.unwrap_or_default();
            spent = Some((sp + p, sc + c));
        }
        let text = match advice {
            Err(error) => return (Err(error), spent, reads),
            Ok(text) if calls.is_empty() => return (Ok(text), spent, reads),
            Ok(text) => text,
        };
        request.messages.push(Message {
            role: Role::Assistant,
            content: text,
            tool_calls: calls.clone(),
            tool_call_id: None,
        });
        for tool in &calls {
            let output = read_only_tool(&call, utility, tool).await;
            let target = ToolArgs::parse(&tool.name, &tool.arguments)
                .map_or_else(|_| String::new(), |a| a.target());
            let mark = if output.ok { "✓" } else { "✗" };
            reads.push(scrub(
                &format!("{} {target} {mark} {}", tool.name, output.summary),
                &call.secrets,
            ));
            request.messages.push(Message {
                role: Role::Tool,
                content: cap(scrub(&output.content, &call.secrets)),
                tool_calls: Vec::new(),
                tool_call_id: Some(tool.id.clone()),
            });
        }
    }
    let error = format!("used all {UTILITY_TOOL_ROUNDS} rounds of tool calls without answering");
    (Err(error), spent, reads)
}

/// Why a summons is refused where no gate is open.
pub(super) fn summon_refused(utility: &str) -> String {
    format!("`{utility}` can be summoned only at an open checkpoint")
}

impl Engine {
    /// Starts `utility`, summoned at the gate opened at event `gate` on
    /// `phase`, in the background, if that gate is the one open (on phase
    /// `index`) and it is not working there already; the summons is
    /// recorded first.
    pub(super) fn summon(
        &mut self,
        index: usize,
        gate: u64,
        phase: String,
        utility: &str,
    ) -> Result<(), EngineError> {
        let pipeline = &self.spec.pipeline;
        let open = self.state.gate.as_ref().map(|g| g.seq);
        let Some(found) = pipeline.utility(utility).cloned() else {
            let known: Vec<&str> = pipeline.utilities.iter().map(|u| u.id.as_str()).collect();
            self.sink.refused(format!(
                "no utility `{utility}` (this pipeline has: {})",
                if known.is_empty() {
                    "none".to_owned()
                } else {
                    known.join(", ")
                }
            ));
            return Ok(());
        };
        if open != Some(gate) || pipeline.phases[index].id != phase {
            self.sink.refused(format!(
                "`{utility}` was summoned at a checkpoint that has closed"
            ));
            return Ok(());
        }
        if self
            .state
            .working()
            .contains(&(phase.clone(), found.id.clone()))
        {
            self.sink.refused(format!(
                "{} is already working at this checkpoint",
                found.name
            ));
            return Ok(());
        }
        self.emit(EventKind::Summoned {
            phase: phase.clone(),
            gate,
            utility: found.id.clone(),
        })?;
        self.sink.notice(format!(
            "⚒ {} summoned: working while the checkpoint stays open",
            found.name
        ));
        self.start_utility(index, gate, phase, found);
        Ok(())
    }

    /// Starts the call of `utility`, summoned at the gate opened at event
    /// `gate` on phase `index`, in the background.
    fn start_utility(&mut self, index: usize, gate: u64, phase: String, utility: Utility) {
        let mut request = agent::summon_request(
            &self.state,
            &self.spec.pipeline,
            index,
            &utility,
            &self.spec.model,
        );
        // The call goes to the gate phase's model: tools as the server
        // takes them for that model.
        if self.spec.workspace.is_some() && !self.spec.tools_ignored(index) {
            request.tools = utility
                .tools
                .iter()
                .filter_map(|t| tools::spec(t))
                .collect();
        }
        let call = Call {
            provider: Arc::clone(&self.spec.provider),
            tokens: Arc::clone(&self.spec.tokens),
            workspace: self.spec.workspace.clone(),
            secrets: self.spec.secrets.clone(),
        };
        let limit = self.spec.attempt_timeout;
        self.summons.push(Box::pin(async move {
            let (answer, tokens, reads) =
                tokio::time::timeout(limit, converse(call, &utility, request))
                    .await
                    .unwrap_or_else(|_| {
                        let why = format!(
                            "no answer within {} s ([timeouts] attempt)",
                            limit.as_secs()
                        );
                        (Err(why), None, Vec::new())
                    });
            Summoned {
                phase,
                gate,
                utility,
                answer,
                tokens,
                reads,
            }
        }));
    }

    /// Asks again, on a resume at the open gate on phase `index`, each
    /// utility summoned there that had not answered when handoff stopped
    /// (its summons is on record already). One skills.toml no longer
    /// declares is recorded as failed, so it does not work forever.
    pub(super) fn summon_again(&mut self, index: usize) -> Result<(), EngineError> {
        let Some(gate) = self.state.gate.as_ref().map(|g| g.seq) else {
            return Ok(());
        };
        for (phase, id) in self.state.working() {
            match self.spec.pipeline.utility(&id).cloned() {
                Some(utility) => self.start_utility(index, gate, phase, utility),
                None => self.record_unanswered(
                    phase,
                    gate,
                    &id,
                    "skills.toml no longer declares it, so it was not asked again",
                )?,
            }
        }
        Ok(())
    }

    /// Gives up the utilities still working at the open gate (a person's
    /// cancel), each recorded as given up, so a resume does not ask it
    /// again.
    pub(super) fn give_up_summons(&mut self) -> Result<(), EngineError> {
        self.summons.clear();
        let gate = self.state.gate.as_ref().map_or(0, |g| g.seq);
        for (phase, id) in self.state.working() {
            self.record_unanswered(phase, gate, &id, "given up: the person cancelled it")?;
        }
        self.sink
            .notice("the summoned utilities were given up".into());
        Ok(())
    }

    /// Records that utility `id`, summoned at `gate` on `phase`, will not
    /// answer, and why.
    fn record_unanswered(
        &mut self,
        phase: String,
        gate: u64,
        id: &str,
        why: &str,
    ) -> Result<(), EngineError> {
        let declared = self.spec.pipeline.utility(id).cloned();
        self.emit(EventKind::Utility {
            phase,
            gate,
            utility: id.to_owned(),
            name: declared
                .as_ref()
                .map_or_else(|| id.to_owned(), |u| u.name.clone()),
            artifacts: declared
                .as_ref()
                .map(|u| u.artifacts.clone())
                .unwrap_or_default(),
            hands_to: declared.map(|u| u.hands_to).unwrap_or_default(),
            text: String::new(),
            error: Some(why.to_owned()),
            reads: Vec::new(),
        })
    }

    /// Records what a summoned utility wrote (or why it wrote nothing).
    pub(super) fn record_summoned(&mut self, done: Summoned) -> Result<(), EngineError> {
        if let Some((prompt_tokens, completion_tokens)) = done.tokens {
            let attempt = self
                .state
                .phases
                .iter()
                .find(|p| p.id == done.phase)
                .and_then(|p| p.current())
                .map_or(1, |a| a.number);
            self.emit(EventKind::Usage {
                phase: done.phase.clone(),
                attempt,
                prompt_tokens,
                completion_tokens,
            })?;
        }
        let (text, error) = match done.answer {
            Ok(text) => (format!("{}\n", text.trim()), None),
            Err(error) => (String::new(), Some(error)),
        };
        self.emit(EventKind::Utility {
            phase: done.phase,
            gate: done.gate,
            utility: done.utility.id,
            name: done.utility.name,
            artifacts: done.utility.artifacts,
            hands_to: done.utility.hands_to,
            text,
            error,
            reads: done.reads,
        })
    }

    /// Waits for the utilities still working, recording each, before the
    /// gate is left; a cancel gives up the rest. `false` when the client
    /// went away.
    pub(super) async fn finish_summons(&mut self) -> Result<bool, EngineError> {
        if !self.summons.is_empty() {
            self.sink.notice(format!(
                "waiting for {} summoned utilit{} to finish before moving on (cancel gives up)",
                self.summons.len(),
                if self.summons.len() == 1 { "y" } else { "ies" }
            ));
        }
        while !self.summons.is_empty() {
            tokio::select! {
                Some(done) = self.summons.next() => self.record_summoned(done)?,
                command = self.commands.recv() => match command {
                    Some(Command::Cancel) => self.give_up_summons()?,
                    Some(
                        Command::Decide(_)
                        | Command::Permission(_)
                        | Command::Revert { .. }
                        | Command::UndoRevert { .. }
                        | Command::Summon { .. },
                    ) => self.sink.refused(
                        "the checkpoint is being left: wait for the summoned utilities".into(),
                    ),
                    None => return Ok(false),
                },
            }
        }
        Ok(true)
    }
}
