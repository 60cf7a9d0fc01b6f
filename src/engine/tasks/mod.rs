//! Maker→checker: running a plan task by task.
//!
//! A phase with `tasks_from` runs the plan of that earlier phase instead of
//! one conversation. Each implementation task (maker) is followed by its
//! critique, which answers with a verdict against the task's criteria; a
//! failing verdict sends the task back with the issues, at most
//! `max_task_rounds` runs in all. A task starts once every task it depends
//! on is through; up to `max_parallel_tasks` run at once.
//!
//! Each run is a worker on its own tokio task that talks to the provider
//! and reports to the engine over a channel: streamed text, tool calls
//! (which the engine runs, permission policy and all, and answers), and how
//! it ended. The engine stays the only writer of the log: every step is a
//! `task_started`, `task_output` or `task_finished` event, and the attempt's
//! artifact is the report of every task with its critique. Starting a
//! task's worker is in [`start`].

mod start;
mod units;
mod worker;

use std::collections::BTreeMap;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::coalesce::Coalescer;
use super::tool_calls::CallEnd;
use super::{Engine, EngineError};
use crate::formats::plan::Plan;
use crate::protocol::Command;
use crate::provider::{CompletionRequest, Message, Role, ToolCall};
use crate::session::fold::task_call_id;
use crate::session::{EventKind, TaskOutcome};
use units::{Stage, Unit, report, units};
use worker::Report;

/// What a critique asked again is told about its unreadable verdict: the
/// mistakes, and the start of what it wrote.
fn unreadable_feedback(errors: &[String], answer: &str) -> String {
    let mut text = crate::session::fold::invalid_feedback(errors);
    let start: String = answer.trim().chars().take(400).collect();
    if !start.is_empty() {
        text.push_str("Your answer began:\n");
        text.push_str(&start);
        text.push('\n');
    }
    text
}

/// What every task run of one attempt shares.
struct Ctx<'a> {
    index: usize,
    attempt: u32,
    /// The phase's request, which each task's is made from.
    base: &'a CompletionRequest,
    max_rounds: u32,
    tx: mpsc::UnboundedSender<(u32, Report)>,
}

/// Why a plan's run stops while a task waits for its tool calls.
enum Cut {
    /// The user cancelled the phase.
    Cancelled,
    /// The client went away.
    Stopped,
}

/// How running the plan ended.
pub(super) enum PlanEnd {
    /// The attempt's artifact.
    Done(String),
    Failed(String),
    Stopped,
}

impl Engine {
    /// Runs the plan's tasks for attempt `attempt` of phase `index`.
    pub(super) async fn run_plan(
        &mut self,
        index: usize,
        attempt: u32,
        plan: &Plan,
        base: &CompletionRequest,
    ) -> Result<PlanEnd, EngineError> {
        let phase = self.spec.pipeline.phases[index].clone();
        let limit = self.spec.pipeline.max_parallel_tasks.max(1) as usize;
        let max_rounds = self.spec.pipeline.max_task_rounds.max(1);
        let mut units = units(plan, &self.spec.pipeline, index);
        let (tx, mut rx) = mpsc::unbounded_channel::<(u32, Report)>();
        let ctx = Ctx {
            index,
            attempt,
            base,
            max_rounds,
            tx,
        };
        self.keep_passed(&ctx, &mut units)?;
        let mut workers: BTreeMap<u32, JoinHandle<()>> = BTreeMap::new();
        let mut pending: BTreeMap<u32, Coalescer> = BTreeMap::new();
        let stop = |workers: &mut BTreeMap<u32, JoinHandle<()>>| {
            for (_, w) in std::mem::take(workers) {
                w.abort();
            }
        };
        loop {
            self.start_ready(&ctx, &mut units, &mut workers, limit)?;
            if workers.is_empty() {
                break;
            }
            let due = pending.values().filter_map(Coalescer::deadline).min();
            tokio::select! {
                received = rx.recv() => {
                    let Some((key, report)) = received else { break };
                    match report {
                        Report::Text(delta) => {
                            let now = Instant::now();
                            let due = pending
                                .entry(key)
                                .or_insert_with(|| Coalescer::new(now))
                                .push(&delta, now);
                            self.pass(&phase.id, attempt, Some(key), due)?;
                        }
                        Report::Retry(retrying) => {
                            self.flush_tasks(&phase.id, attempt, &mut pending)?;
                            self.emit(retrying.event(&phase.id, attempt))?;
                        }
                        Report::Calls(calls, reply) => {
                            self.flush_tasks(&phase.id, attempt, &mut pending)?;
                            let Some(unit) = units.iter().find(|u| u.owns(key)) else { continue };
                            // A provider's ids are unique in one conversation at
                            // best: the log names them by task and round too.
                            let (round, read_only) = (unit.round, unit.maker.task_order != key);
                            let role = if read_only { index } else { unit.role };
                            match self.task_calls(&ctx, (key, round, role), read_only, &calls).await? {
                                Ok(results) => drop(reply.send(results)),
                                Err(Cut::Cancelled) => {
                                    self.abandon(&ctx, &mut workers, &units, "cancelled by the user")?;
                                    return Ok(PlanEnd::Failed("cancelled by the user".into()));
                                }
                                Err(Cut::Stopped) => {
                                    stop(&mut workers);
                                    return Ok(PlanEnd::Stopped);
                                }
                            }
                        }
                        Report::Failed(error) => {
                            self.flush_tasks(&phase.id, attempt, &mut pending)?;
                            return self.task_failed(&ctx, &mut workers, &units, key, &error);
                        }
                        Report::Usage(prompt_tokens, completion_tokens) => {
                            self.flush_tasks(&phase.id, attempt, &mut pending)?;
                            self.emit(EventKind::Usage {
                                phase: phase.id.clone(),
                                attempt,
                                prompt_tokens,
                                completion_tokens,
                            })?;
                        }
                        Report::Done(text) => {
                            self.flush_tasks(&phase.id, attempt, &mut pending)?;
                            workers.remove(&key);
                            let Some(u) = units.iter().position(|u| u.owns(key)) else { continue };
                            if let Some(worker) = self.finished(&ctx, &mut units[u], key, &text)? {
                                workers.insert(worker.0, worker.1);
                            }
                        }
                    }
                }
                () = tokio::time::sleep_until(due.unwrap_or_else(Instant::now)), if due.is_some() => {
                    let now = Instant::now();
                    for (key, coalescer) in &mut pending {
                        let due = coalescer.due(now);
                        self.pass(&phase.id, attempt, Some(*key), due)?;
                    }
                }
                command = self.commands.recv() => match command {
                    Some(Command::Cancel) => {
                        self.flush_tasks(&phase.id, attempt, &mut pending)?;
                        self.abandon(&ctx, &mut workers, &units, "cancelled by the user")?;
                        return Ok(PlanEnd::Failed("cancelled by the user".into()));
                    }
                    Some(Command::Decide(d)) => self.sink.refused(format!(
                        "decision on `{}` refused: no gate is open while {} works",
                        d.phase, phase.role
                    )),
                    Some(Command::Permission(answer)) => self.sink.notice(format!(
                        "no permission is asked for call `{}`",
                        answer.call_id
                    )),
                    Some(Command::Summon { utility, .. }) => self.sink.refused(crate::engine::utility::summon_refused(&utility)),
                    Some(Command::Revert { .. } | Command::UndoRevert { .. }) => self.sink.refused(format!(
                        "nothing is reverted while {} works: only at its gate",
                        phase.role
                    )),
                    None => {
                        stop(&mut workers);
                        return Ok(PlanEnd::Stopped);
                    }
                },
            }
        }
        Ok(PlanEnd::Done(report(&units)))
    }

    /// Keeps the tasks the attempt before this one got through, when that
    /// attempt broke off (handoff stopped, a task failed, a cancel): a
    /// retry goes on from where the plan stopped instead of redoing work
    /// that passed its critique. Nothing is kept when the person retrying
    /// said what to change, or when the plan changed since (a new attempt
    /// at it, an edit); a task is kept only while the plan still names it
    /// and its critique as it did. Kept tasks are written into this
    /// attempt again (their reports), so it reads whole on its own.
    fn keep_passed(&mut self, ctx: &Ctx<'_>, units: &mut [Unit]) -> Result<(), EngineError> {
        let pipeline = &self.spec.pipeline;
        let plan_changed = pipeline.phases[ctx.index]
            .tasks_from
            .as_deref()
            .and_then(|from| pipeline.index_of(from))
            .and_then(|source| self.state.phases[source].current())
            .map_or(u64::MAX, |plan| plan.changed_seq);
        let phase = &self.state.phases[ctx.index];
        let Some(before) = phase
            .attempts
            .iter()
            .find(|a| a.number + 1 == ctx.attempt)
            .filter(|a| a.error.is_some() && a.artifact.is_none())
            .filter(|a| a.rejected_with.is_none() && plan_changed < a.started_seq)
        else {
            return Ok(());
        };
        let run = |order: u32, name: &str, of: Option<u32>| {
            before
                .tasks
                .iter()
                .find(|t| t.task == order && t.name == name && t.critique_of == of)
        };
        let mut kept = Vec::new();
        for (i, unit) in units.iter().enumerate() {
            let Some(maker) = run(unit.maker.task_order, &unit.maker.task_name, None)
                .filter(|m| m.outcome == Some(TaskOutcome::Done))
            else {
                continue;
            };
            let check = match &unit.critique {
                None => None,
                Some(c) => match run(c.task_order, &c.task_name, Some(unit.maker.task_order)) {
                    Some(check)
                        if check.outcome == Some(TaskOutcome::Passed)
                            && check.round == maker.round =>
                    {
                        Some(check.clone())
                    }
                    _ => continue,
                },
            };
            kept.push((i, maker.clone(), check, before.number));
        }
        let phase = phase.id.clone();
        for (i, maker, check, number) in kept {
            let unit = &mut units[i];
            for (run, summary) in [
                Some((maker.clone(), format!("kept from attempt {number}"))),
                check.clone().map(|c| (c.clone(), c.summary)),
            ]
            .into_iter()
            .flatten()
            {
                self.emit(EventKind::TaskStarted {
                    phase: phase.clone(),
                    attempt: ctx.attempt,
                    task: run.task,
                    round: run.round,
                    name: run.name.clone(),
                    critique_of: run.critique_of,
                    role: run.role.clone(),
                })?;
                if !run.report().is_empty() {
                    self.emit(EventKind::TaskOutput {
                        phase: phase.clone(),
                        attempt: ctx.attempt,
                        task: run.task,
                        text: run.report().to_owned(),
                    })?;
                }
                self.emit(EventKind::TaskFinished {
                    phase: phase.clone(),
                    attempt: ctx.attempt,
                    task: run.task,
                    round: run.round,
                    outcome: run.outcome.unwrap_or(TaskOutcome::Done),
                    summary,
                })?;
            }
            unit.round = maker.round;
            unit.work = Some(crate::formats::report::as_markdown(maker.report()));
            unit.stage = match check {
                Some(c) => Stage::Finished(TaskOutcome::Passed, c.summary),
                None => Stage::Finished(TaskOutcome::Done, String::new()),
            };
        }
        Ok(())
    }

    /// A worker of `unit` answered: record it, and start what comes next
    /// for the unit (its critique, or its maker again).
    fn finished(
        &mut self,
        ctx: &Ctx<'_>,
        unit: &mut Unit,
        key: u32,
        text: &str,
    ) -> Result<Option<(u32, JoinHandle<()>)>, EngineError> {
        let phase = self.spec.pipeline.phases[ctx.index].id.clone();
        let finish = |outcome, summary: String| EventKind::TaskFinished {
            phase: phase.clone(),
            attempt: ctx.attempt,
            task: key,
            round: unit.round,
            outcome,
            summary,
        };
        if unit.stage == Stage::Making {
            self.emit(finish(TaskOutcome::Done, String::new()))?;
            unit.work = Some(crate::formats::report::as_markdown(text));
            let Some(critique) = unit.critique.clone() else {
                unit.stage = Stage::Finished(TaskOutcome::Done, String::new());
                return Ok(None);
            };
            return self.start_critique(ctx, unit, &critique).map(Some);
        }
        match crate::formats::verdict::read(text) {
            Ok(v) if v.passed() => {
                let summary = match v.issues.len() {
                    0 => String::new(),
                    n => format!("{n} minor issue(s)"),
                };
                self.emit(finish(TaskOutcome::Passed, summary.clone()))?;
                unit.stage = Stage::Finished(TaskOutcome::Passed, summary);
                Ok(None)
            }
            Ok(v) => {
                let issues = v.issues_text();
                let summary = v
                    .issues
                    .first()
                    .map_or_else(String::new, |i| i.title.clone());
                self.emit(finish(TaskOutcome::Failed, summary.clone()))?;
                if unit.round >= ctx.max_rounds {
                    unit.stage = Stage::Finished(TaskOutcome::Failed, summary);
                    return Ok(None);
                }
                unit.feedback = Some(issues);
                self.start_maker(ctx, unit).map(Some)
            }
            Err(errors) => {
                let summary = format!("the critique could not be read: {}", errors.join("; "));
                self.emit(finish(TaskOutcome::Unchecked, summary.clone()))?;
                if unit.unreadable.is_none()
                    && let Some(critique) = unit.critique.clone()
                {
                    // Once a round, the critique is asked again with what
                    // was wrong and the start of what it wrote.
                    unit.unreadable = Some(unreadable_feedback(&errors, text));
                    return self.start_critique(ctx, unit, &critique).map(Some);
                }
                unit.stage = Stage::Finished(TaskOutcome::Unchecked, summary);
                Ok(None)
            }
        }
    }

    /// Runs the tool calls task `key` made in round `round`; what goes back
    /// to its model, or why the plan cannot go on.
    async fn task_calls(
        &mut self,
        ctx: &Ctx<'_>,
        (key, round, role): (u32, u32, usize),
        read_only: bool,
        calls: &[ToolCall],
    ) -> Result<Result<Vec<Message>, Cut>, EngineError> {
        let mut results = Vec::new();
        for (n, call) in calls.iter().enumerate() {
            // A provider's ids are unique in one conversation at best: the
            // log names them by task and round too.
            let logged = ToolCall {
                id: task_call_id(key, round, n + 1, &call.id),
                ..call.clone()
            };
            match self
                .run_tool_call_as(ctx.index, role, ctx.attempt, &logged, read_only)
                .await?
            {
                CallEnd::Result(content) => results.push(Message {
                    role: Role::Tool,
                    content,
                    tool_calls: Vec::new(),
                    tool_call_id: Some(call.id.clone()),
                }),
                CallEnd::Cancelled => return Ok(Err(Cut::Cancelled)),
                CallEnd::Stopped => return Ok(Err(Cut::Stopped)),
            }
        }
        Ok(Ok(results))
    }

    /// Task `key` failed: it is recorded, the others are stopped, and the
    /// attempt fails.
    fn task_failed(
        &mut self,
        ctx: &Ctx<'_>,
        workers: &mut BTreeMap<u32, JoinHandle<()>>,
        units: &[Unit],
        key: u32,
        error: &str,
    ) -> Result<PlanEnd, EngineError> {
        workers.remove(&key);
        self.emit(EventKind::TaskFinished {
            phase: self.spec.pipeline.phases[ctx.index].id.clone(),
            attempt: ctx.attempt,
            task: key,
            round: units.iter().find(|u| u.owns(key)).map_or(1, |u| u.round),
            outcome: TaskOutcome::Error,
            summary: error.to_owned(),
        })?;
        self.abandon(ctx, workers, units, &format!("stopped: task {key} failed"))?;
        Ok(PlanEnd::Failed(format!("task {key} failed: {error}")))
    }

    /// Stops every running task and records why, so none is left running
    /// in the log.
    fn abandon(
        &mut self,
        ctx: &Ctx<'_>,
        workers: &mut BTreeMap<u32, JoinHandle<()>>,
        units: &[Unit],
        why: &str,
    ) -> Result<(), EngineError> {
        for (key, worker) in std::mem::take(workers) {
            worker.abort();
            self.emit(EventKind::TaskFinished {
                phase: self.spec.pipeline.phases[ctx.index].id.clone(),
                attempt: ctx.attempt,
                task: key,
                round: units.iter().find(|u| u.owns(key)).map_or(1, |u| u.round),
                outcome: TaskOutcome::Error,
                summary: why.to_owned(),
            })?;
        }
        Ok(())
    }

    /// Logs the text every task has gathered, one `task_output` each.
    fn flush_tasks(
        &mut self,
        phase: &str,
        attempt: u32,
        pending: &mut BTreeMap<u32, Coalescer>,
    ) -> Result<(), EngineError> {
        let now = Instant::now();
        for (task, mut coalescer) in std::mem::take(pending) {
            self.pass(phase, attempt, Some(task), coalescer.take(now))?;
        }
        Ok(())
    }
}
