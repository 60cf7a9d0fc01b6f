//! Starting a plan's tasks: a maker (or its critique) as a worker of its
//! own, with the request its role gets, once every task it depends on is
//! through and a slot is free.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;

use super::units::{Stage, Unit};
use super::worker::worker;
use super::{Ctx, Engine, EngineError};
use crate::agent;
use crate::formats::plan::Task;
use crate::provider::{CompletionRequest, TaskBrief};
use crate::session::EventKind;
use crate::tools;

impl Engine {
    /// Starts (or restarts) the maker of `unit`; returns its worker.
    pub(super) fn start_maker(
        &mut self,
        ctx: &Ctx<'_>,
        unit: &mut Unit,
    ) -> Result<(u32, JoinHandle<()>), EngineError> {
        unit.round += 1;
        unit.stage = Stage::Making;
        unit.unreadable = None;
        let task = &unit.maker;
        let brief = TaskBrief {
            order: task.task_order,
            name: task.task_name.clone(),
            description: task.description.clone(),
            criteria: task.validation_criteria.clone(),
            files: task.files(),
            critique_of: None,
            round: unit.round,
            work: unit.feedback.as_ref().and(unit.work.clone()),
            feedback: unit.feedback.clone(),
        };
        let maker = unit.maker.clone();
        self.start_task(ctx, &brief, &maker, unit.role)
    }

    /// Starts the critique of `unit`'s latest work; returns its worker.
    pub(super) fn start_critique(
        &mut self,
        ctx: &Ctx<'_>,
        unit: &mut Unit,
        critique: &Task,
    ) -> Result<(u32, JoinHandle<()>), EngineError> {
        unit.stage = Stage::Checking;
        let brief = TaskBrief {
            order: critique.task_order,
            name: unit.maker.task_name.clone(),
            description: unit.maker.description.clone(),
            criteria: unit.checks.clone(),
            files: unit.maker.files(),
            critique_of: Some(unit.maker.task_order),
            round: unit.round,
            work: unit.work.clone(),
            // Set when its last answer this round could not be read.
            feedback: unit.unreadable.clone(),
        };
        self.start_task(ctx, &brief, critique, ctx.index)
    }

    /// Starts one run of `planned` as `task` briefs it, as the role of
    /// phase `role`; a critique is offered only the tools that change
    /// nothing.
    pub(super) fn start_task(
        &mut self,
        ctx: &Ctx<'_>,
        task: &TaskBrief,
        planned: &Task,
        role: usize,
    ) -> Result<(u32, JoinHandle<()>), EngineError> {
        let phase = &self.spec.pipeline.phases[ctx.index];
        let other = (role != ctx.index).then(|| self.spec.pipeline.phases[role].role.clone());
        self.emit(EventKind::TaskStarted {
            phase: phase.id.clone(),
            attempt: ctx.attempt,
            task: task.order,
            round: task.round,
            name: planned.task_name.clone(),
            critique_of: task.critique_of,
            role: other,
        })?;
        let mut request = ctx.base.clone();
        if role != ctx.index {
            self.as_role(&mut request, role);
        }
        request.brief.task = Some(task.clone());
        request.messages = agent::task_messages(&request.brief, task);
        if let Some(workspace) = &self.spec.workspace {
            agent::describe_workspace(
                &mut request,
                &workspace.root().display().to_string(),
                self.spec.branch.as_deref(),
                self.spec.tools_ignored(role),
            );
        }
        if task.critique_of.is_none() {
            // A maker reports in a shape held to its schema where the
            // server can: what it did, where, and how each criterion is met.
            request.answer.schema = Some(crate::formats::schema::report());
        } else {
            request
                .tools
                .retain(|t| tools::READ_ONLY.contains(&t.name.as_str()));
            // A critique answers with a verdict, held to its schema.
            let verdict = crate::formats::OutputKind::Verdict;
            request.answer.schema = verdict.schema();
            request.answer.max_tokens = Some(verdict.default_cap());
            if task.feedback.is_some() {
                // Asked again after an unreadable verdict: not the same
                // request, and not the same sampling either.
                request.answer.seed = Some(u64::from(task.round) * 1000 + u64::from(task.order));
            }
        }
        // All of it within the context (the answer's own cap counted), the
        // task's own parts kept whole.
        if let Some(context) = self.spec.context_tokens {
            let build = |b: &crate::provider::Brief| agent::task_messages(b, task);
            agent::refit::refit(&mut request, &build, context, &self.spec.tokens);
        }
        let handle = tokio::spawn(worker(
            Arc::clone(&self.spec.provider),
            Arc::clone(&self.spec.tokens),
            request,
            self.spec.pipeline.max_tool_rounds,
            planned.timeout_seconds.map(Duration::from_secs),
            task.order,
            ctx.tx.clone(),
        ));
        Ok((task.order, handle))
    }

    /// Makes a task's request the one the role of phase `role` gets: its
    /// prompt (with its language and specialists), model, temperature and
    /// tools. The task answers with a Markdown report whatever the role's
    /// own `output`.
    pub(super) fn as_role(&self, request: &mut CompletionRequest, role: usize) {
        let mut phase = self.spec.pipeline.phases[role].clone();
        phase.output = crate::formats::OutputKind::Markdown;
        request.model = phase
            .model
            .clone()
            .unwrap_or_else(|| self.spec.model.clone());
        request.temperature = phase.temperature;
        request.answer.max_tokens = Some(phase.output_cap());
        // A server that drops tools for this role's model gets none, as in
        // a phase's own run (not the tools of the phase the plan runs in).
        request.tools = if self.spec.workspace.is_some() && !self.spec.tools_ignored(role) {
            phase.tools.iter().filter_map(|t| tools::spec(t)).collect()
        } else {
            Vec::new()
        };
        request.brief.specialists = agent::engaged(&self.state, &self.spec.pipeline, role);
        request.brief.advice =
            agent::advice_for_role(&request.brief.advice, &self.spec.pipeline, &phase.role);
        request.brief.phase = phase;
    }

    /// Starts the tasks that are ready, lowest first, up to `limit` running.
    pub(super) fn start_ready(
        &mut self,
        ctx: &Ctx<'_>,
        units: &mut [Unit],
        workers: &mut BTreeMap<u32, JoinHandle<()>>,
        limit: usize,
    ) -> Result<(), EngineError> {
        // Start what is ready, lowest task first, up to the limit.
        let done: BTreeSet<u32> = units
            .iter()
            .filter(|u| matches!(u.stage, Stage::Finished(..)))
            .flat_map(|u| {
                std::iter::once(u.maker.task_order).chain(u.critique.as_ref().map(|c| c.task_order))
            })
            .collect();
        while workers.len() < limit {
            let Some(u) = units.iter().position(|u| {
                u.stage == Stage::Waiting && u.maker.dependencies.iter().all(|d| done.contains(d))
            }) else {
                break;
            };
            let key = self.start_maker(ctx, &mut units[u])?;
            workers.insert(key.0, key.1);
        }
        Ok(())
    }
}
