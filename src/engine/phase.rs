//! Running one attempt of one phase: the conversation with the provider,
//! turn by turn, with the tool calls of each turn run in between; streamed
//! text goes into the log as it comes, a cancel stops it, and the attempt
//! ends with an artifact or a failure.
//!
//! Streamed text is coalesced before it is logged (by line and by time,
//! [`super::coalesce`]) and reaches the client live as it comes. The time
//! an attempt spends waiting on the model, all its turns together, is
//! bounded by `[timeouts] attempt` in config.toml: past it the attempt
//! fails as timed out, like any failed attempt.

use futures::StreamExt;
use tokio::time::Instant;

use super::answer::{Answer, Step};
use super::coalesce::{Coalescer, Flush};
use super::tasks::PlanEnd;
use super::tool_calls::CallEnd;
use super::{Engine, EngineError};
use crate::agent;
use crate::protocol::Command;
use crate::provider::{CompletionRequest, Message, Role, ToolCall};
use crate::session::EventKind;
use crate::tools;

/// One turn of the conversation: what the model said and asked for.
struct Turn {
    text: String,
    calls: Vec<ToolCall>,
}

/// How a turn ended.
enum TurnEnd {
    Done(Turn),
    Failed(String),
    /// The client went away; nothing more is written.
    Stopped,
}

/// Completes phase `index`'s request once its advice is in: the
/// workspace and the tools its role may use there, then all of it cut
/// to the model's context if it is over.
fn finish_request(
    spec: &super::SessionSpec,
    index: usize,
    request: &mut crate::provider::CompletionRequest,
) {
    if let Some(workspace) = &spec.workspace {
        let no_tools = spec.tools_ignored(index);
        if !no_tools {
            request.tools = spec.pipeline.phases[index]
                .tools
                .iter()
                .filter_map(|t| tools::spec(t))
                .collect();
        }
        request.brief.branch.clone_from(&spec.branch);
        agent::describe_workspace(
            request,
            &workspace.root().display().to_string(),
            spec.branch.as_deref(),
            no_tools,
        );
    }
    if let Some(context) = spec.context_tokens {
        let build = |b: &crate::provider::Brief| agent::build_messages(b, &spec.pipeline);
        agent::refit::refit(request, &build, context, &spec.tokens);
    }
}

impl Engine {
    /// Runs the next attempt of phase `index`: turns of the conversation
    /// until the model answers without asking for tools (its last answer
    /// is the artifact), each round of tool calls run and fed back, at
    /// most `max_tool_rounds` rounds. Returns `false` when the client went
    /// away.
    pub(super) async fn run_phase(&mut self, index: usize) -> Result<bool, EngineError> {
        let phase = self.spec.pipeline.phases[index].clone();
        let mut request = agent::request(
            &self.state,
            &self.spec.pipeline,
            index,
            &self.spec.model,
            self.spec.context_tokens,
            &self.spec.tokens,
        );
        let attempt = request.brief.attempt;
        self.emit(EventKind::PhaseStarted {
            phase: phase.id.clone(),
            attempt,
        })?;
        if !request.brief.specialists.is_empty() {
            self.emit(EventKind::Engaged {
                phase: phase.id.clone(),
                attempt,
                specialists: request
                    .brief
                    .specialists
                    .iter()
                    .map(|(s, keyword)| format!("{} ({keyword})", s.name))
                    .collect(),
            })?;
        }
        // Consulted specialists advise first; their advice joins the
        // user message before the workspace is described under it.
        if !self.consult(index, attempt, &mut request).await? {
            return Ok(false);
        }
        finish_request(&self.spec, index, &mut request);
        if let Some(plan) = self.plan_for(index, &request.brief) {
            return match self.run_plan(index, attempt, &plan, &request).await? {
                PlanEnd::Stopped => Ok(false),
                PlanEnd::Failed(error) => self.fail(&phase.id, attempt, error),
                PlanEnd::Done(content) => {
                    self.emit(artifact_event(phase, attempt, content))?;
                    Ok(true)
                }
            };
        }
        let mut rounds = 0;
        // The attempt's time on the model ends here; tool runs and a
        // person answering a permission question are not counted.
        let mut left = self.spec.attempt_timeout;
        let answer = loop {
            let started = Instant::now();
            let turn = self
                .stream_turn(index, attempt, request.clone(), left)
                .await?;
            left = left.saturating_sub(started.elapsed());
            let turn = match turn {
                TurnEnd::Stopped => return Ok(false),
                TurnEnd::Failed(error) => return self.fail(&phase.id, attempt, error),
                TurnEnd::Done(turn) => turn,
            };
            if turn.calls.is_empty() {
                break turn.text;
            }
            rounds += 1;
            if rounds > self.spec.pipeline.max_tool_rounds {
                let error = format!(
                    "used all {} rounds of tool calls without finishing (max_tool_rounds)",
                    self.spec.pipeline.max_tool_rounds
                );
                return self.fail(&phase.id, attempt, error);
            }
            request.messages.push(Message {
                role: Role::Assistant,
                content: turn.text,
                tool_calls: turn.calls.clone(),
                tool_call_id: None,
            });
            for call in &turn.calls {
                match self.run_tool_call(index, attempt, call, false).await? {
                    CallEnd::Result(content) => request.messages.push(Message {
                        role: Role::Tool,
                        content,
                        tool_calls: Vec::new(),
                        tool_call_id: Some(call.id.clone()),
                    }),
                    CallEnd::Cancelled => {
                        return self.fail(&phase.id, attempt, "cancelled by the user".into());
                    }
                    CallEnd::Stopped => return Ok(false),
                }
            }
        };
        if answer.trim().is_empty() {
            let error = "the model's answer was empty: there is no artifact to review".to_owned();
            return self.fail(&phase.id, attempt, error);
        }
        let mut content = answer.trim().to_owned();
        content.push('\n');
        self.emit(artifact_event(phase, attempt, content))?;
        Ok(true)
    }

    /// The plan phase `index` runs task by task, if it has `tasks_from` and
    /// that phase's plan can be read. An attempt that answers a rejected or
    /// returned one runs as one conversation instead: it fixes that work
    /// rather than doing the plan again.
    fn plan_for(
        &self,
        index: usize,
        brief: &crate::provider::Brief,
    ) -> Option<crate::formats::Plan> {
        let from = self.spec.pipeline.phases[index].tasks_from.as_ref()?;
        if brief.previous.is_some() {
            return None;
        }
        let source = self.spec.pipeline.index_of(from)?;
        let text = self.state.phases.get(source)?.effective_artifact()?;
        crate::formats::plan::read_with(text, &self.spec.pipeline.skill_ids()).ok()
    }

    fn fail(&mut self, phase: &str, attempt: u32, error: String) -> Result<bool, EngineError> {
        self.emit(EventKind::PhaseFailed {
            phase: phase.to_owned(),
            attempt,
            error,
        })?;
        Ok(true)
    }

    /// Streams one turn, sending its text live as it comes and logging it
    /// coalesced; `left` is what remains of the attempt's time.
    async fn stream_turn(
        &mut self,
        index: usize,
        attempt: u32,
        request: CompletionRequest,
        left: std::time::Duration,
    ) -> Result<TurnEnd, EngineError> {
        let phase_id = self.spec.pipeline.phases[index].id.clone();
        let mut answer = Answer::new(&request, &self.spec.tokens);
        let mut stream = self.spec.provider.stream(request);
        let mut pending = Coalescer::new(Instant::now());
        // One timer for the whole turn, not one made at every delta.
        let timeout = tokio::time::sleep(left);
        tokio::pin!(timeout);
        let end = loop {
            let due = pending.deadline();
            tokio::select! {
                item = stream.next() => match answer.step(item) {
                    Step::Text(delta) => {
                        let due = pending.push(&delta, Instant::now());
                        self.pass(&phase_id, attempt, None, due)?;
                    }
                    Step::Retry(retrying) => {
                        self.pass(&phase_id, attempt, None, pending.take(Instant::now()))?;
                        self.emit(retrying.event(&phase_id, attempt))?;
                    }
                    Step::Quiet => {}
                    Step::Done => break None,
                    Step::Failed(error) => break Some(TurnEnd::Failed(error)),
                },
                () = tokio::time::sleep_until(due.unwrap_or_else(Instant::now)), if due.is_some() => {
                    self.pass(&phase_id, attempt, None, pending.due(Instant::now()))?;
                }
                () = &mut timeout => {
                    break Some(TurnEnd::Failed(self.timed_out(index)));
                }
                command = self.commands.recv() => match command {
                    Some(Command::Cancel) => break Some(TurnEnd::Failed("cancelled by the user".into())),
                    Some(Command::Decide(d)) => self.sink.refused(format!(
                        "decision on `{}` refused: no gate is open while {} works",
                        d.phase, self.spec.pipeline.phases[index].role
                    )),
                    Some(Command::Permission(answer)) => self.sink.notice(format!(
                        "no permission is asked for call `{}`",
                        answer.call_id
                    )),
                    Some(Command::Summon { utility, .. }) => self.sink.refused(super::utility::summon_refused(&utility)),
                    Some(Command::Revert { .. } | Command::UndoRevert { .. }) => self.sink.refused(
                        "nothing is reverted while a phase works: only at its gate".into(),
                    ),
                    None => break Some(TurnEnd::Stopped),
                },
            }
        };
        drop(stream);
        self.pass(&phase_id, attempt, None, pending.take(Instant::now()))?;
        // Every call's tokens count, whatever becomes of the turn.
        if let Some((prompt_tokens, completion_tokens)) = answer.tokens(&self.spec.tokens)
            && !matches!(end, Some(TurnEnd::Stopped))
        {
            self.emit(EventKind::Usage {
                phase: phase_id,
                attempt,
                prompt_tokens,
                completion_tokens,
            })?;
        }
        Ok(end.unwrap_or(TurnEnd::Done(Turn {
            text: answer.text,
            calls: answer.calls,
        })))
    }

    /// Sends streamed text that fell due live, then logs what fell due as
    /// one `output` event (`task_output` for a plan's task).
    pub(super) fn pass(
        &mut self,
        phase: &str,
        attempt: u32,
        task: Option<u32>,
        flush: Flush,
    ) -> Result<(), EngineError> {
        if let Some(live) = flush.live {
            self.sink.streaming(phase, attempt, task, &live);
        }
        let Some(text) = flush.write else {
            return Ok(());
        };
        let phase = phase.to_owned();
        self.emit(match task {
            None => EventKind::Output {
                phase,
                attempt,
                text,
            },
            Some(task) => EventKind::TaskOutput {
                phase,
                attempt,
                task,
                text,
            },
        })
    }

    /// Why an attempt of phase `index` stopped at `[timeouts] attempt`.
    pub(super) fn timed_out(&self, index: usize) -> String {
        let phase = &self.spec.pipeline.phases[index];
        format!(
            "timed out: {} ({}) spent more than {} s waiting on the model in this attempt \
             (`[timeouts] attempt` in config.toml)",
            phase.id,
            phase.role,
            self.spec.attempt_timeout.as_secs()
        )
    }
}

/// The `artifact` event of `phase`'s answer: a phase with several named
/// outputs has it split into them, and what it did not write named.
fn artifact_event(phase: crate::pipeline::Phase, attempt: u32, content: String) -> EventKind {
    let (outputs, missing) = if phase.sectioned() {
        let sections = crate::formats::sections::split(&content, &phase.output_names());
        (sections.found, sections.missing)
    } else {
        (Vec::new(), Vec::new())
    };
    EventKind::Artifact {
        phase: phase.id,
        attempt,
        name: phase.artifact,
        content,
        outputs,
        missing,
    }
}
