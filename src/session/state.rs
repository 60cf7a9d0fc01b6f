//! The fold: what a session is after a sequence of events.
//!
//! [`SessionState::apply`] is the only way session state changes. The engine
//! applies each event it writes, the TUI applies each event it receives (live
//! or replayed), and `show`, `sessions` and resume fold a log from disk — all
//! arrive at the same state for the same events. `apply` is pure: no clock,
//! no I/O; times come from the events themselves.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::event::{
    Action, Checklist, Decision, Event, EventKind, Permit, SessionOutcome, WorkspaceInfo,
};
use crate::pipeline::Pipeline;

/// Where a session stands, as `show --json` reports it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionStatus {
    /// Not started, or a phase is running.
    #[default]
    Running,
    AwaitingGate,
    Finished,
    Failed,
    /// The log stops mid-run and nothing is writing it any more. The fold
    /// never produces this; the store does, knowing the writer is gone.
    Interrupted,
}

impl SessionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::AwaitingGate => "awaiting_gate",
            Self::Finished => "finished",
            Self::Failed => "failed",
            Self::Interrupted => "interrupted",
        }
    }
}

/// Where a phase stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PhaseStatus {
    #[default]
    Pending,
    Running,
    AwaitingGate,
    Approved,
    Failed,
}

impl PhaseStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::AwaitingGate => "awaiting_gate",
            Self::Approved => "approved",
            Self::Failed => "failed",
        }
    }
}

/// Token counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
}

impl Usage {
    pub fn total(self) -> u64 {
        self.prompt_tokens + self.completion_tokens
    }

    fn add(&mut self, prompt: u64, completion: u64) {
        self.prompt_tokens += prompt;
        self.completion_tokens += completion;
    }
}

/// One run of a phase.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Attempt {
    pub number: u32,
    pub started_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    /// Everything the agent streamed.
    pub output: String,
    /// The artifact as the agent wrote it.
    pub artifact: Option<String>,
    /// A human's replacement text, which wins over `artifact`.
    pub edited: Option<String>,
    pub error: Option<String>,
    /// The feedback this attempt was rejected with.
    pub rejected_with: Option<String>,
    /// Why the provider is trying again, until text arrives.
    pub retrying: Option<String>,
    /// Tool calls, in order.
    pub tools: Vec<ToolRun>,
    /// The latest `report_status`: what is done, what is still to do.
    pub checklist: Option<Checklist>,
    pub usage: Usage,
    /// Why a structured answer (a plan, a verdict) could not be read.
    pub invalid: Option<Vec<String>>,
    /// Specialists advising it: `name (keyword)`.
    pub specialists: Vec<String>,
    /// The plan's tasks, when the attempt runs a plan task by task.
    pub tasks: Vec<TaskRun>,
    /// The `seq` of its `phase_started`.
    #[serde(skip)]
    pub started_seq: u64,
    /// The `seq` of the last event that changed its text (its artifact,
    /// an edit).
    #[serde(skip)]
    pub changed_seq: u64,
}

/// One task of a plan, as far as its runs have got.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TaskRun {
    pub task: u32,
    pub name: String,
    /// For a critique: the task it checks.
    pub critique_of: Option<u32>,
    pub round: u32,
    /// `None` while it runs.
    pub outcome: Option<crate::session::TaskOutcome>,
    pub summary: String,
    /// The text of its latest run.
    pub output: String,
    /// Where in `output` its last turn began (after its last tool call):
    /// the report it ended with.
    #[serde(skip)]
    pub report_from: usize,
}

impl TaskRun {
    /// What the task's latest run answered in the end (its last turn).
    pub fn report(&self) -> &str {
        self.output.get(self.report_from..).unwrap_or_default()
    }
}

/// The id a plan task's tool call is logged under: a provider's ids are
/// unique in one conversation at best, so the task and round are in it.
pub fn task_call_id(task: u32, round: u32, n: usize, id: &str) -> String {
    format!("t{task}.{round}.{n}-{id}")
}

/// The task a call id made by [`task_call_id`] belongs to.
fn task_of_call(call_id: &str) -> Option<u32> {
    call_id.strip_prefix('t')?.split_once('.')?.0.parse().ok()
}

/// The card of a call logged before the engine recorded it (its target,
/// a `report_status`'s checklist), read the simple way from the arguments'
/// usual fields: the path, the command, the search, the checklist's counts;
/// else the arguments themselves.
fn card_from_arguments(tool: &str, args: &serde_json::Value) -> (String, Option<Checklist>) {
    let text = |field: &str| args.get(field).and_then(serde_json::Value::as_str);
    let checklist = (tool == "report_status")
        .then(|| serde_json::from_value::<Checklist>(args.clone()).ok())
        .flatten();
    let target = match tool {
        "search" => {
            text("pattern").map(|pattern| format!("“{pattern}” in {}", text("path").unwrap_or(".")))
        }
        "run_command" => text("command").map(str::to_owned),
        "report_status" => checklist
            .as_ref()
            .map(|c| format!("{} done, {} to do", c.completed.len(), c.pending.len())),
        "read_file" | "write_file" | "list_dir" => text("path").map(str::to_owned),
        _ => None,
    };
    (target.unwrap_or_else(|| args.to_string()), checklist)
}

/// The feedback an unreadable structured answer is asked again with.
pub fn invalid_feedback(errors: &[String]) -> String {
    let mut text =
        String::from("Your answer could not be read. Answer again with one JSON object; fix:\n");
    for e in errors {
        text.push_str("- ");
        text.push_str(e);
        text.push('\n');
    }
    text
}

impl Attempt {
    /// The plan tasks whose critique still finds them failing (no run
    /// came after the failing critique).
    pub fn failing_tasks(&self) -> Vec<&TaskRun> {
        self.tasks
            .iter()
            .filter(|c| c.outcome == Some(crate::session::TaskOutcome::Failed))
            .filter_map(|c| {
                let maker = self.tasks.iter().find(|m| Some(m.task) == c.critique_of)?;
                (maker.round <= c.round && maker.outcome.is_some()).then_some(maker)
            })
            .collect()
    }

    /// The latest call with this id (the fold and every reader agree).
    pub fn tool(&self, call_id: &str) -> Option<&ToolRun> {
        self.tools.iter().rev().find(|t| t.call_id == call_id)
    }

    fn tool_mut(&mut self, call_id: &str) -> Option<&mut ToolRun> {
        self.tools.iter_mut().rev().find(|t| t.call_id == call_id)
    }
    /// The text later phases read: the human's edit, else the agent's draft.
    pub fn effective(&self) -> Option<&str> {
        self.edited.as_deref().or(self.artifact.as_deref())
    }
}

/// One tool call and how far it got.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ToolRun {
    pub call_id: String,
    pub tool: String,
    /// The path or command it is about.
    pub target: String,
    pub state: ToolState,
}

/// Where a tool call stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ToolState {
    /// Waiting for a person's permission.
    Asking,
    Running,
    Denied {
        reason: String,
    },
    Done {
        ok: bool,
        summary: String,
    },
}

/// A decision and when it was made.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Decided {
    pub at: DateTime<Utc>,
    pub decision: Decision,
}

/// A tool call waiting for a person.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PermissionRequest {
    pub phase: usize,
    pub call_id: String,
    pub tool: String,
    pub detail: String,
    pub reason: String,
    /// What an "always" answer allows.
    pub always: String,
}

/// One phase of the pipeline, with its history.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct PhaseState {
    pub id: String,
    pub role: String,
    pub artifact_name: String,
    pub status: PhaseStatus,
    pub attempts: Vec<Attempt>,
    /// Notes from approvals, for every later role.
    pub notes: Vec<String>,
    pub decisions: Vec<Decided>,
    pub usage: Usage,
    /// What a forked session copied from its origin: counted there, not here.
    pub inherited: Inherited,
    /// Where work was returned to from this phase, in order, and whether
    /// it went by itself (a failing verdict) rather than by a decision.
    pub returned: Vec<Returned>,
}

/// One return of work from a phase to an earlier one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Returned {
    pub to: String,
    pub automatic: bool,
}

/// How much of a phase's history a fork copied from the session it came
/// from. Metrics skip it, so a fork does not count its origin's work twice.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Inherited {
    pub attempts: usize,
    pub decisions: usize,
    pub usage: Usage,
}

impl PhaseState {
    /// How often work was sent back from this phase by itself.
    pub fn automatic_returns(&self) -> u32 {
        let count = self.returned.iter().filter(|r| r.automatic).count();
        u32::try_from(count).unwrap_or(u32::MAX)
    }

    pub fn current(&self) -> Option<&Attempt> {
        self.attempts.last()
    }

    fn current_mut(&mut self) -> Option<&mut Attempt> {
        self.attempts.last_mut()
    }

    fn attempt_mut(&mut self, number: u32) -> Option<&mut Attempt> {
        self.attempts.iter_mut().rev().find(|a| a.number == number)
    }

    /// The artifact later phases read, if this phase has produced one.
    pub fn effective_artifact(&self) -> Option<&str> {
        self.current().and_then(Attempt::effective)
    }
}

/// An open checkpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Gate {
    pub phase: usize,
    pub question: String,
    pub over_budget: Option<String>,
}

/// A whole session, folded from its events.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct SessionState {
    pub id: String,
    pub request: String,
    pub pipeline: Option<Pipeline>,
    pub provider: String,
    pub model: String,
    pub status: SessionStatus,
    pub outcome: Option<SessionOutcome>,
    pub phases: Vec<PhaseState>,
    pub gate: Option<Gate>,
    pub usage: Usage,
    pub started_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// The `seq` the next event gets: how many events have been applied.
    pub next_seq: u64,
    pub workspace: Option<WorkspaceInfo>,
    /// A tool call waiting for a person's yes or no.
    pub permission: Option<PermissionRequest>,
    /// Command patterns a person allowed for the rest of the session.
    pub session_allow: Vec<String>,
    /// Workspace snapshots by phase id: the git commit kept at its gate.
    pub snapshots: Vec<(String, String)>,
    /// The session this one was forked from, and at which phase.
    pub forked_from: Option<(String, String)>,
    /// When this session was forked: where its own history begins.
    pub forked_at: Option<DateTime<Utc>>,
}

impl SessionState {
    /// Folds a sequence of events from the empty state.
    pub fn from_events<'a>(events: impl IntoIterator<Item = &'a Event>) -> Self {
        let mut state = Self::default();
        for event in events {
            state.apply(event);
        }
        state
    }

    fn phase_mut(&mut self, id: &str) -> Option<&mut PhaseState> {
        self.phases.iter_mut().find(|p| p.id == id)
    }

    /// The index of the phase with this id.
    pub fn phase_index(&self, id: &str) -> Option<usize> {
        self.phases.iter().position(|p| p.id == id)
    }

    /// The phase that is running or waiting at a gate, if any.
    /// The verdict phase `index` gave, if its output is a verdict and its
    /// current answer reads as one.
    pub fn verdict(&self, index: usize) -> Option<crate::formats::Verdict> {
        let kind = self.pipeline.as_ref()?.phases.get(index)?.output;
        let text = self.phases.get(index)?.effective_artifact()?;
        match crate::formats::read(kind, text) {
            Ok(Some(crate::formats::Read::Verdict(v))) => Some(v),
            _ => None,
        }
    }

    /// Whether the gate on phase `index` needs a person, not a blanket
    /// approval: its answer could not be read, its verdict failed, or a plan
    /// task still fails its critique.
    pub fn needs_a_person(&self, index: usize) -> bool {
        let current = self.phases.get(index).and_then(PhaseState::current);
        // Read again, not remembered: a person's edit may have mended it.
        let kind = self
            .pipeline
            .as_ref()
            .and_then(|p| p.phases.get(index))
            .map(|p| p.output)
            .unwrap_or_default();
        let unreadable = current
            .and_then(Attempt::effective)
            .is_some_and(|text| crate::formats::read(kind, text).is_err());
        let failing = current.is_some_and(|a| !a.failing_tasks().is_empty());
        unreadable || failing || self.verdict(index).is_some_and(|v| !v.passed())
    }

    pub fn active_phase(&self) -> Option<usize> {
        self.gate.as_ref().map(|g| g.phase).or_else(|| {
            self.phases
                .iter()
                .position(|p| p.status == PhaseStatus::Running)
        })
    }

    /// Whether the session has ended.
    pub fn is_over(&self) -> bool {
        self.outcome.is_some()
    }

    /// Applies one event. Events that do not fit the state (a phase id the
    /// pipeline does not have) change nothing.
    pub fn apply(&mut self, event: &Event) {
        self.next_seq = event.seq + 1;
        self.updated_at = Some(event.t);
        match &event.kind {
            EventKind::SessionStarted {
                id,
                request,
                pipeline,
                provider,
                model,
                version: _,
                workspace,
            } => {
                self.id.clone_from(id);
                self.request.clone_from(request);
                self.provider.clone_from(provider);
                self.model.clone_from(model);
                self.phases = pipeline
                    .phases
                    .iter()
                    .map(|p| PhaseState {
                        id: p.id.clone(),
                        role: p.role.clone(),
                        artifact_name: p.artifact.clone(),
                        ..PhaseState::default()
                    })
                    .collect();
                self.pipeline = Some(pipeline.as_ref().clone());
                self.started_at = Some(event.t);
                self.status = SessionStatus::Running;
                self.workspace.clone_from(workspace);
            }
            EventKind::PhaseStarted { phase, attempt } => {
                self.gate = None;
                self.status = SessionStatus::Running;
                if let Some(p) = self.phase_mut(phase) {
                    p.status = PhaseStatus::Running;
                    p.attempts.push(Attempt {
                        number: *attempt,
                        started_at: Some(event.t),
                        started_seq: event.seq,
                        ..Attempt::default()
                    });
                }
            }
            EventKind::Output {
                phase,
                attempt,
                text,
            } => {
                if let Some(a) = self.phase_mut(phase).and_then(|p| p.attempt_mut(*attempt)) {
                    a.output.push_str(text);
                    a.retrying = None;
                }
            }
            EventKind::Usage {
                phase,
                attempt,
                prompt_tokens,
                completion_tokens,
            } => {
                self.usage.add(*prompt_tokens, *completion_tokens);
                if let Some(p) = self.phase_mut(phase) {
                    p.usage.add(*prompt_tokens, *completion_tokens);
                    if let Some(a) = p.attempt_mut(*attempt) {
                        a.usage.add(*prompt_tokens, *completion_tokens);
                    }
                }
            }
            EventKind::Artifact {
                phase,
                attempt,
                content,
                name: _,
            } => {
                if let Some(a) = self.phase_mut(phase).and_then(|p| p.attempt_mut(*attempt)) {
                    a.artifact = Some(content.clone());
                    a.ended_at = Some(event.t);
                    a.changed_seq = event.seq;
                }
            }
            EventKind::GateOpened {
                phase,
                question,
                over_budget,
            } => {
                if let Some(index) = self.phase_index(phase) {
                    let p = &mut self.phases[index];
                    if p.status != PhaseStatus::Failed {
                        p.status = PhaseStatus::AwaitingGate;
                    }
                    self.gate = Some(Gate {
                        phase: index,
                        question: question.clone(),
                        over_budget: over_budget.clone(),
                    });
                    self.status = SessionStatus::AwaitingGate;
                }
            }
            EventKind::Decision(decision) => self.apply_decision(decision, event.t, event.seq),
            EventKind::PhaseFailed {
                phase,
                attempt,
                error,
            } => {
                self.permission = None;
                if let Some(p) = self.phase_mut(phase) {
                    p.status = PhaseStatus::Failed;
                    if let Some(a) = p.attempt_mut(*attempt) {
                        a.error = Some(error.clone());
                        a.ended_at = Some(event.t);
                    }
                }
            }
            EventKind::ToolCall {
                phase,
                attempt,
                call_id,
                tool,
                args,
                target,
                checklist,
            } => {
                let (target, checklist) = match target {
                    Some(target) => (target.clone(), checklist.clone()),
                    None => card_from_arguments(tool, args),
                };
                if let Some(a) = self.phase_mut(phase).and_then(|p| p.attempt_mut(*attempt)) {
                    a.retrying = None;
                    if checklist.is_some() {
                        a.checklist = checklist;
                    }
                    a.tools.push(ToolRun {
                        call_id: call_id.clone(),
                        tool: tool.clone(),
                        target,
                        state: ToolState::Running,
                    });
                    // A task's turn ended in this call: its report comes after.
                    if let Some(t) = task_of_call(call_id)
                        .and_then(|task| a.tasks.iter_mut().find(|t| t.task == task))
                    {
                        t.report_from = t.output.len();
                    }
                }
            }
            EventKind::PermissionAsked {
                phase,
                attempt,
                call_id,
                tool,
                detail,
                reason,
                always,
            } => {
                if let Some(index) = self.phase_index(phase) {
                    if let Some(run) = self.phases[index]
                        .attempt_mut(*attempt)
                        .and_then(|a| a.tool_mut(call_id))
                    {
                        run.state = ToolState::Asking;
                    }
                    self.permission = Some(PermissionRequest {
                        phase: index,
                        call_id: call_id.clone(),
                        tool: tool.clone(),
                        detail: detail.clone(),
                        reason: reason.clone(),
                        always: always
                            .clone()
                            .unwrap_or_else(|| crate::policy::always_pattern(detail)),
                    });
                }
            }
            EventKind::Permission {
                phase,
                call_id,
                decision,
                pattern,
                reason,
                by: _,
            } => {
                if self
                    .permission
                    .as_ref()
                    .is_some_and(|p| &p.call_id == call_id)
                {
                    self.permission = None;
                }
                self.session_allow.extend(pattern.clone());
                if let Some(run) = self
                    .phase_mut(phase)
                    .and_then(|p| p.current_mut())
                    .and_then(|a| a.tool_mut(call_id))
                {
                    run.state = match decision {
                        Permit::Allow => ToolState::Running,
                        Permit::Deny => ToolState::Denied {
                            reason: reason.clone().unwrap_or_default(),
                        },
                    };
                }
            }
            EventKind::ToolResult {
                phase,
                attempt,
                call_id,
                ok,
                summary,
                output: _,
            } => {
                if let Some(run) = self
                    .phase_mut(phase)
                    .and_then(|p| p.attempt_mut(*attempt))
                    .and_then(|a| a.tool_mut(call_id))
                    && !matches!(run.state, ToolState::Denied { .. })
                {
                    run.state = ToolState::Done {
                        ok: *ok,
                        summary: summary.clone(),
                    };
                }
            }
            EventKind::Forked {
                from,
                at,
                from_seq: _,
            } => {
                self.forked_from = Some((from.clone(), at.clone()));
                self.forked_at = Some(event.t);
                for p in &mut self.phases {
                    p.inherited = Inherited {
                        attempts: p.attempts.len(),
                        decisions: p.decisions.len(),
                        usage: p.usage,
                    };
                }
            }
            EventKind::Snapshot { phase, commit, .. } => {
                self.snapshots.retain(|(p, _)| p != phase);
                self.snapshots.push((phase.clone(), commit.clone()));
            }
            EventKind::Retry {
                phase,
                attempt,
                reason,
                wait_ms,
                next_try,
                tries,
            } => {
                if let Some(a) = self.phase_mut(phase).and_then(|p| p.attempt_mut(*attempt)) {
                    a.retrying = Some(format!(
                        "{reason}: try {next_try} of {tries} in {:.1}s",
                        Duration::from_millis(*wait_ms).as_secs_f64()
                    ));
                }
            }
            EventKind::Returned {
                from,
                to,
                reason,
                automatic,
            } => {
                if let Some(p) = self.phase_mut(from) {
                    p.returned.push(Returned {
                        to: to.clone(),
                        automatic: *automatic,
                    });
                }
                if let Some(index) = self.phase_index(to) {
                    // The reason is what the phase runs again with.
                    if let Some(a) = self.phases[index].current_mut()
                        && !reason.trim().is_empty()
                    {
                        a.rejected_with = Some(reason.clone());
                    }
                    for p in &mut self.phases[index..] {
                        p.status = PhaseStatus::Pending;
                    }
                }
            }
            EventKind::TaskStarted {
                phase,
                attempt,
                task,
                round,
                name,
                critique_of,
            } => {
                if let Some(a) = self.phase_mut(phase).and_then(|p| p.attempt_mut(*attempt)) {
                    let run = TaskRun {
                        task: *task,
                        name: name.clone(),
                        critique_of: *critique_of,
                        round: *round,
                        outcome: None,
                        summary: String::new(),
                        output: String::new(),
                        report_from: 0,
                    };
                    match a.tasks.iter_mut().find(|t| t.task == *task) {
                        Some(t) => *t = run,
                        None => a.tasks.push(run),
                    }
                }
            }
            EventKind::TaskOutput {
                phase,
                attempt,
                task,
                text,
            } => {
                if let Some(a) = self.phase_mut(phase).and_then(|p| p.attempt_mut(*attempt)) {
                    // Text is through again: whatever was being retried worked.
                    a.retrying = None;
                    if let Some(t) = a.tasks.iter_mut().find(|t| t.task == *task) {
                        t.output.push_str(text);
                    }
                }
            }
            EventKind::TaskFinished {
                phase,
                attempt,
                task,
                outcome,
                summary,
                ..
            } => {
                if let Some(t) = self
                    .phase_mut(phase)
                    .and_then(|p| p.attempt_mut(*attempt))
                    .and_then(|a| a.tasks.iter_mut().find(|t| t.task == *task))
                {
                    t.outcome = Some(*outcome);
                    t.summary.clone_from(summary);
                }
            }
            EventKind::Engaged {
                phase,
                attempt,
                specialists,
            } => {
                if let Some(a) = self.phase_mut(phase).and_then(|p| p.attempt_mut(*attempt)) {
                    a.specialists.clone_from(specialists);
                }
            }
            EventKind::Invalid {
                phase,
                attempt,
                errors,
                retry,
            } => {
                if let Some(p) = self.phase_mut(phase) {
                    if let Some(a) = p.attempt_mut(*attempt) {
                        a.invalid = Some(errors.clone());
                        if *retry {
                            a.rejected_with = Some(invalid_feedback(errors));
                        }
                    }
                    if *retry {
                        p.status = PhaseStatus::Pending;
                    }
                }
            }
            EventKind::SessionFinished { outcome } => {
                self.outcome = Some(*outcome);
                self.gate = None;
                self.finished_at = Some(event.t);
                self.status = match outcome {
                    SessionOutcome::Completed | SessionOutcome::Aborted => SessionStatus::Finished,
                    SessionOutcome::Failed => SessionStatus::Failed,
                };
            }
            EventKind::Unknown => {}
        }
    }

    fn apply_decision(&mut self, decision: &Decision, at: DateTime<Utc>, seq: u64) {
        let Some(p) = self.phase_mut(&decision.phase) else {
            return;
        };
        p.decisions.push(Decided {
            at,
            decision: decision.clone(),
        });
        let keep_gate_open = match decision.action {
            Action::Approve => {
                p.status = PhaseStatus::Approved;
                false
            }
            Action::ApproveWithNotes => {
                p.status = PhaseStatus::Approved;
                p.notes.extend(decision.notes.clone());
                false
            }
            Action::Edit => {
                if let Some(a) = p.current_mut() {
                    a.edited.clone_from(&decision.content);
                    a.changed_seq = seq;
                }
                true
            }
            Action::Reject => {
                // A retry with no words (of a failed attempt) leaves nothing
                // for the next attempt to answer but what came before.
                if let Some(a) = p.current_mut()
                    && let Some(feedback) =
                        decision.feedback.as_ref().filter(|f| !f.trim().is_empty())
                {
                    a.rejected_with = Some(feedback.clone());
                }
                p.status = PhaseStatus::Pending;
                false
            }
            Action::Return | Action::Abort => false,
        };
        if !keep_gate_open {
            self.gate = None;
            self.status = SessionStatus::Running;
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::card_from_arguments;

    #[test]
    fn an_old_log_s_card_is_read_from_the_arguments() {
        let target = |tool: &str, args| card_from_arguments(tool, &args).0;
        assert_eq!(target("read_file", json!({"path": "a.rs"})), "a.rs");
        assert_eq!(target("run_command", json!({"command": "ls -l"})), "ls -l");
        assert_eq!(target("search", json!({"pattern": "x"})), "“x” in .");
        let raw = json!({"raw": "{not json"});
        assert_eq!(target("write_file", raw.clone()), raw.to_string());
        let (target, checklist) = card_from_arguments(
            "report_status",
            &json!({"completed": ["a"], "pending": ["b", "c"]}),
        );
        assert_eq!(target, "1 done, 2 to do");
        assert_eq!(checklist.map(|c| c.pending.len()), Some(2));
    }
}
