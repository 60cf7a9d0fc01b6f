//! The orchestrator: runs the phases, opens the gates, applies decisions.
//!
//! [`Engine::run`] is one tokio task per session. For each phase it asks the
//! provider for the role's artifact, streaming the answer into `output`
//! events, then opens a gate and waits for a [`Command`]. Every event goes
//! through [`Engine::emit`]: appended to the log (the engine is its only
//! writer), applied to the engine's own [`SessionState`], and only then
//! published to the [`Sink`] — so what any subscriber sees is on disk. A
//! decision that does not fit the open gate is refused with a notice, never
//! recorded. When the command channel closes (the user quit) the engine
//! stops where it is; the log then reads as interrupted or awaiting a gate.

mod answer;
mod checks;
mod coalesce;
mod consult;
mod phase;
mod snapshots;
mod tasks;
mod tool_calls;
mod utility;
mod writer;

pub use writer::LogWriter;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;

use crate::clock::Clock;
use crate::cost::{Prices, over_budget};
use crate::pipeline::Pipeline;
use crate::protocol::{Command, Sink};
use crate::provider::Provider;
use crate::session::log::LogError;
use crate::session::{
    Action, Decision, Event, EventKind, INTERRUPTED, PhaseStatus, SessionOutcome, SessionState,
};

/// Why the engine stopped early.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("cannot write the session log: {0}")]
    Log(#[from] LogError),
}

/// What a new session needs.
pub struct SessionSpec {
    pub id: String,
    pub request: String,
    pub pipeline: Pipeline,
    pub provider: Arc<dyn Provider>,
    pub model: String,
    /// The model's context window, if inputs must be cut to fit it.
    pub context_tokens: Option<usize>,
    /// The longest an attempt may wait on the model, all its turns
    /// together (`[timeouts] attempt`); past it the attempt fails.
    pub attempt_timeout: std::time::Duration,
    /// Counts the model's tokens (for context cutting, and usage the
    /// server does not report); its encoder is built at the first count,
    /// on the engine's task.
    pub tokens: Arc<crate::provider::tokens::Tokens>,
    /// Prices for the budget's cost limit.
    pub prices: Prices,
    /// Where tools work; `None` offers no tools.
    pub workspace: Option<Arc<crate::tools::workspace::Workspace>>,
    /// The branch the delivery role commits on (for a git workspace).
    pub branch: Option<String>,
    pub clock: Arc<dyn Clock>,
    /// Values (the API keys in handoff's environment) replaced by `[key]`
    /// in every tool result before it is logged or sent back to the model.
    pub secrets: Vec<String>,
    /// How commands run: sandboxed, or not (and then whether they ask).
    pub sandbox: crate::sandbox::Sandboxing,
    /// How the pipeline was chosen for the request (a new session's
    /// first line says it): `matched “add *”`, `named with --pipeline`, ….
    pub detected: Option<String>,
    /// The models whose server cannot call tools for them (a capability
    /// probe found it drops them): roles on them are offered none and
    /// told to answer in text.
    pub no_tools: Vec<String>,
}

impl SessionSpec {
    /// A session of `request` through `pipeline` with `provider`'s
    /// `model`, and nothing more: no workspace (so no tools and no
    /// commands), no context limit, the default bound on an attempt, the
    /// model's tokenizer, no prices, the system clock.
    pub fn new(
        id: impl Into<String>,
        request: impl Into<String>,
        pipeline: Pipeline,
        provider: Arc<dyn Provider>,
        model: impl Into<String>,
    ) -> Self {
        let model = model.into();
        Self {
            id: id.into(),
            request: request.into(),
            pipeline,
            provider,
            tokens: Arc::new(crate::provider::tokens::Tokens::for_model(&model)),
            model,
            context_tokens: None,
            attempt_timeout: crate::config::DEFAULT_ATTEMPT_TIMEOUT,
            prices: Prices::new(),
            workspace: None,
            branch: None,
            clock: Arc::new(crate::clock::SystemClock),
            secrets: Vec::new(),
            sandbox: crate::sandbox::Sandboxing::Unavailable {
                reason: "no workspace".into(),
            },
            detected: None,
            no_tools: Vec::new(),
        }
    }

    /// The model phase `index` runs on: its own, else the session's.
    pub fn model_of(&self, index: usize) -> &str {
        self.pipeline
            .phases
            .get(index)
            .and_then(|p| p.model.as_deref())
            .unwrap_or(&self.model)
    }

    /// Whether phase `index`'s role goes without tools: the server drops
    /// them for its model.
    pub fn tools_ignored(&self, index: usize) -> bool {
        self.ignores_tools(self.model_of(index))
    }

    /// Whether the server drops tools for `model`.
    pub fn ignores_tools(&self, model: &str) -> bool {
        self.no_tools.iter().any(|m| m == model)
    }
}

/// One session's orchestrator.
pub struct Engine {
    spec: SessionSpec,
    log: LogWriter,
    state: SessionState,
    sink: Box<dyn Sink>,
    commands: mpsc::UnboundedReceiver<Command>,
    /// The build caches the session's sandboxed commands share, made at
    /// the first one and removed with the engine.
    command_cache: Option<tempfile::TempDir>,
    /// Utility roles summoned at the open gate, still working.
    summons: utility::Summons,
}

/// Where the session goes next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Next {
    /// Run phase `index` (a new attempt), then open its gate.
    Run(usize),
    /// Phase `index` has answered: read a structured answer (which may run
    /// it again or send work back), else open its gate.
    Check(usize),
    /// The phase has its result; open its gate.
    OpenGate(usize),
    /// The gate is open already: wait for a decision.
    Waiting(usize),
    Finish(SessionOutcome),
    /// Nothing to do: the session ended.
    Over,
}

/// How waiting at a gate ended.
enum GateOutcome {
    /// Run this phase index next (the same one on a retry).
    Continue(usize),
    Finished(SessionOutcome),
    /// The client went away.
    Stopped,
}

impl Engine {
    pub fn new(
        spec: SessionSpec,
        log: LogWriter,
        mut sink: Box<dyn Sink>,
        commands: mpsc::UnboundedReceiver<Command>,
    ) -> Self {
        // Said once, where the person sees it: commands are not confined.
        if spec.workspace.is_some()
            && let Some(warning) = spec.sandbox.warning()
        {
            sink.notice(warning);
        }
        if spec.workspace.is_some() && !spec.no_tools.is_empty() {
            sink.notice(
                "the model's server ignores tools: roles are offered none and answer in text (no tools)"
                    .to_owned(),
            );
        }
        Self {
            spec,
            log,
            state: SessionState::default(),
            sink,
            commands,
            command_cache: None,
            summons: utility::Summons::new(),
        }
    }

    /// Writes, folds and publishes one event.
    fn emit(&mut self, kind: EventKind) -> Result<(), EngineError> {
        let event = self.log.append(self.spec.clock.now(), kind)?;
        self.state.apply(&event);
        self.sink.publish(&event, &self.state);
        Ok(())
    }

    /// Runs the session until it finishes or its client goes away, and
    /// returns the final state.
    pub async fn run(mut self) -> Result<SessionState, EngineError> {
        // Asking git runs a process: not on the engine's task.
        let root = self.spec.workspace.as_ref().map(|w| w.root().to_owned());
        let workspace = match root {
            None => None,
            Some(root) => tokio::task::spawn_blocking(move || crate::session::WorkspaceInfo {
                path: root.display().to_string(),
                head: crate::tools::git::head(&root),
                branch: crate::tools::git::branch(&root),
            })
            .await
            .ok(),
        };
        self.emit(EventKind::SessionStarted {
            id: self.spec.id.clone(),
            request: self.spec.request.clone(),
            pipeline: Box::new(self.spec.pipeline.clone()),
            provider: self.spec.provider.name().to_owned(),
            model: self.spec.model.clone(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            workspace,
            detected: self.spec.detected.clone(),
        })?;
        self.drive(Next::Run(0)).await
    }

    /// Begins a forked session: writes `copied` (another session's events
    /// up to a gate, as the fork records them, then its `forked` event)
    /// to this engine's new log, then goes on from there as a resumed
    /// session would: the gate the fork was made at waits again.
    pub async fn fork(
        mut self,
        copied: Vec<(DateTime<Utc>, EventKind)>,
    ) -> Result<SessionState, EngineError> {
        let mut events = Vec::with_capacity(copied.len());
        for (t, kind) in copied {
            events.push(self.log.append(t, kind)?);
        }
        self.resume(events).await
    }

    /// Continues a session from `events`, its log as read (the writer was
    /// opened on the same file, any torn tail cut). The recorded events are
    /// folded and published, not written again; then the session goes on
    /// from where the log stops: an open gate waits again, an attempt cut
    /// off mid-stream fails and runs again as a new attempt, a decision
    /// whose consequence was not written yet has it written. Nothing
    /// approved runs again and no recorded decision is asked again.
    pub async fn resume(mut self, events: Vec<Event>) -> Result<SessionState, EngineError> {
        for event in &events {
            self.state.apply(event);
            self.sink.publish_recorded(event, &self.state);
        }
        self.sink.resumed();
        let next = self.resume_point(events.last())?;
        if let Next::Waiting(index) = next {
            self.summon_again(index)?;
        }
        self.drive(next).await
    }

    /// Where a resumed session goes on from, writing what the log lacks.
    fn resume_point(&mut self, last: Option<&Event>) -> Result<Next, EngineError> {
        if self.state.is_over() {
            return Ok(Next::Over);
        }
        if let Some(gate) = &self.state.gate {
            return Ok(Next::Waiting(gate.phase));
        }
        if let Some(EventKind::Decision(d)) = last.map(|e| &e.kind) {
            match d.action {
                Action::Abort => return Ok(Next::Finish(SessionOutcome::Aborted)),
                Action::Return => {
                    let index = self.spec.pipeline.index_of(&d.phase).unwrap_or(0);
                    let to = d.to.clone().unwrap_or_default();
                    let target = self.spec.pipeline.index_of(&to).unwrap_or(index);
                    let reason = d.feedback_text().unwrap_or_default();
                    self.emit(EventKind::Returned {
                        from: d.phase.clone(),
                        to,
                        reason,
                        automatic: false,
                    })?;
                    return Ok(Next::Run(target));
                }
                Action::Approve | Action::ApproveWithNotes | Action::Edit | Action::Reject => {}
            }
        }
        let unfinished = self
            .state
            .phases
            .iter()
            .position(|p| p.status != PhaseStatus::Approved);
        let Some(index) = unfinished else {
            return Ok(Next::Finish(SessionOutcome::Completed));
        };
        let phase = &self.state.phases[index];
        match phase.status {
            // Cut off after its artifact or its failure was written: only
            // the gate is missing.
            PhaseStatus::Running if phase.current().is_some_and(|a| a.artifact.is_some()) => {
                Ok(Next::Check(index))
            }
            // Stopped again between recording an interruption and the new
            // attempt: that attempt is still owed.
            PhaseStatus::Failed
                if phase
                    .current()
                    .and_then(|a| a.error.as_deref())
                    .is_some_and(|e| e.starts_with(INTERRUPTED)) =>
            {
                Ok(Next::Run(index))
            }
            PhaseStatus::Failed => Ok(Next::OpenGate(index)),
            PhaseStatus::Running => {
                let attempt = phase.current().map_or(1, |a| a.number);
                self.emit(EventKind::PhaseFailed {
                    phase: phase.id.clone(),
                    attempt,
                    error: format!(
                        "{INTERRUPTED}: handoff stopped while this attempt ran; it runs again as a new attempt"
                    ),
                })?;
                Ok(Next::Run(index))
            }
            PhaseStatus::Pending | PhaseStatus::AwaitingGate | PhaseStatus::Approved => {
                Ok(Next::Run(index))
            }
        }
    }

    /// Opens the gate after phase `index`: a snapshot of the workspace,
    /// then the question (marked when the session is over budget).
    async fn open_gate(&mut self, index: usize) -> Result<(), EngineError> {
        self.snapshot(index, false).await?;
        let phase = &self.spec.pipeline.phases[index];
        let state = &self.state.phases[index];
        let question = if state.status == PhaseStatus::Failed {
            if state.rejections_left(self.spec.pipeline.max_attempts) == 0 {
                format!(
                    "{} failed and has used all its attempts. Return work or abort?",
                    phase.role
                )
            } else {
                format!("{} failed. Retry?", phase.role)
            }
        } else {
            self.question(index)
        };
        let over_budget = self
            .spec
            .pipeline
            .budget
            .and_then(|budget| over_budget(&self.state, &budget, &self.spec.prices));
        self.emit(EventKind::GateOpened {
            phase: phase.id.clone(),
            question,
            over_budget,
        })
    }

    /// Runs phases and gates from `next` until the session ends or its
    /// client goes away.
    async fn drive(mut self, mut next: Next) -> Result<SessionState, EngineError> {
        // The tokenizer's encoder takes a moment to build: built off the
        // async threads while the first phase starts (a count before it is
        // ready waits for it).
        let tokens = Arc::clone(&self.spec.tokens);
        drop(tokio::task::spawn_blocking(move || tokens.count("")));
        loop {
            let index = match next {
                Next::Over => return Ok(self.state),
                Next::Finish(outcome) => {
                    self.emit(EventKind::SessionFinished { outcome })?;
                    return Ok(self.state);
                }
                Next::Run(index) if index >= self.spec.pipeline.phases.len() => {
                    next = Next::Finish(SessionOutcome::Completed);
                    continue;
                }
                Next::Run(index) => {
                    if !self.run_phase(index).await? {
                        return Ok(self.state);
                    }
                    next = Next::Check(index);
                    continue;
                }
                Next::Check(index) => {
                    if let Some(then) = self.check_answer(index)? {
                        next = then;
                        continue;
                    }
                    self.open_gate(index).await?;
                    index
                }
                Next::OpenGate(index) => {
                    self.open_gate(index).await?;
                    index
                }
                Next::Waiting(index) => index,
            };
            next = match self.await_decision(index).await? {
                GateOutcome::Continue(next) => Next::Run(next),
                GateOutcome::Finished(outcome) => Next::Finish(outcome),
                GateOutcome::Stopped => return Ok(self.state),
            };
        }
    }

    /// Waits at the gate of phase `index` until a decision moves on.
    async fn await_decision(&mut self, index: usize) -> Result<GateOutcome, EngineError> {
        loop {
            let command = if self.summons.is_empty() {
                self.commands.recv().await
            } else {
                tokio::select! {
                    Some(done) = futures::StreamExt::next(&mut self.summons) => {
                        self.record_summoned(done)?;
                        continue;
                    }
                    command = self.commands.recv() => command,
                }
            };
            let Some(command) = command else {
                return Ok(GateOutcome::Stopped);
            };
            let decision = match command {
                Command::Summon {
                    gate,
                    phase,
                    utility,
                } => {
                    self.summon(index, gate, phase, &utility)?;
                    continue;
                }
                Command::Cancel if !self.summons.is_empty() => {
                    self.give_up_summons()?;
                    continue;
                }
                Command::Cancel => {
                    self.sink.notice("nothing is running".into());
                    continue;
                }
                Command::Permission(answer) => {
                    self.sink.notice(format!(
                        "no permission is asked for call `{}`",
                        answer.call_id
                    ));
                    continue;
                }
                Command::Revert {
                    gate,
                    phase,
                    file,
                    patch,
                } => {
                    self.revert(index, gate, &phase, &file, &patch).await?;
                    continue;
                }
                Command::UndoRevert { gate, phase } => {
                    self.undo_revert(index, gate, &phase).await?;
                    continue;
                }
                Command::Decide(d) => d,
            };
            if let Err(why) = self.check(&decision, index) {
                self.sink.refused(format!("decision refused: {why}"));
                continue;
            }
            // What the utilities summoned here write is handed on before
            // the gate is left.
            if decision.action != Action::Edit && !self.finish_summons().await? {
                return Ok(GateOutcome::Stopped);
            }
            let action = decision.action;
            let to = decision.to.clone();
            let reason = decision.feedback_text().unwrap_or_default();
            self.emit(EventKind::Decision(decision))?;
            return Ok(match action {
                Action::Approve | Action::ApproveWithNotes => GateOutcome::Continue(index + 1),
                Action::Edit => continue,
                Action::Reject => GateOutcome::Continue(index),
                Action::Return => {
                    let to = to.unwrap_or_default();
                    let target = self.spec.pipeline.index_of(&to).unwrap_or(index);
                    self.emit(EventKind::Returned {
                        from: self.spec.pipeline.phases[index].id.clone(),
                        to,
                        reason,
                        automatic: false,
                    })?;
                    GateOutcome::Continue(target)
                }
                Action::Abort => GateOutcome::Finished(SessionOutcome::Aborted),
            });
        }
    }

    /// Whether `decision` fits the gate open on phase `index`.
    fn check(&self, decision: &Decision, index: usize) -> Result<(), String> {
        let pipeline = &self.spec.pipeline;
        let phase = &pipeline.phases[index];
        let open = self.state.gate.as_ref().map(|g| g.seq);
        if decision.gate.is_none() || decision.gate != open {
            let meant = decision.gate.map_or_else(
                || "names no gate".to_owned(),
                |seq| format!("answers the gate opened at event {seq}, which is closed"),
            );
            return Err(format!(
                "this decision on `{}` {meant}; the open gate is {}'s (event {})",
                decision.phase,
                phase.id,
                open.map_or_else(|| "?".to_owned(), |s| s.to_string())
            ));
        }
        if decision.phase != phase.id {
            return Err(format!(
                "the open gate is `{}`, not `{}`",
                phase.id, decision.phase
            ));
        }
        let state = &self.state.phases[index];
        if let Some(why) = state.refusal(decision.action, index == 0, pipeline.max_attempts) {
            return Err(why);
        }
        let filled = |t: &Option<String>| t.as_deref().is_some_and(|t| !t.trim().is_empty());
        match decision.action {
            Action::ApproveWithNotes if !filled(&decision.notes) => Err("notes are empty".into()),
            Action::Edit if decision.content.is_none() => Err("an edit needs the new text".into()),
            Action::Return => match decision.to.as_deref().and_then(|to| pipeline.index_of(to)) {
                Some(target) if target < index => Ok(()),
                _ => Err("work can only return to an earlier phase".into()),
            },
            Action::Approve
            | Action::ApproveWithNotes
            | Action::Edit
            | Action::Reject
            | Action::Abort => Ok(()),
        }
    }
}
