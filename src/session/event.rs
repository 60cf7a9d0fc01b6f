//! The events a session log is made of, exactly as they are stored.
//!
//! One [`Event`] is one JSON line: `{"seq":N,"t":"…","kind":"…",…}`. The kind
//! and its fields are [`EventKind`]; kinds this build does not know parse as
//! [`EventKind::Unknown`] and are ignored by the fold, so newer logs still
//! open. Field names here are a contract other tools read: rename none, and
//! give a new field a default so that older logs, which lack it, still open.
//!
//! Reading is the hot path of opening a long log, so an [`Event`] is read by
//! hand (see [`read`]): `seq` and `t` directly, then the kind's fields
//! straight from the line, instead of serde's flattening, which buffers
//! every field twice.

mod read;

use std::fmt::Write as _;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize, Serializer};

use crate::changes::FileStat;

use crate::pipeline::Pipeline;

/// One entry of the session log. Deserialized by hand in [`read`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Event {
    pub seq: u64,
    #[serde(serialize_with = "write_time")]
    pub t: DateTime<Utc>,
    #[serde(flatten)]
    pub kind: EventKind,
}

fn write_time<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&t.to_rfc3339_opts(SecondsFormat::Millis, true))
}

/// What happened.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventKind {
    /// Always the first event: what this session is.
    SessionStarted {
        id: String,
        request: String,
        pipeline: Box<Pipeline>,
        provider: String,
        model: String,
        /// The `handoff` version that wrote the log.
        version: String,
        /// Where tools work, when the session has a workspace.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        workspace: Option<WorkspaceInfo>,
        /// How the pipeline was chosen for the request: `matched “add *”`
        /// (a trigger), `named with --pipeline`, `the default pipeline`,
        /// `chosen by you: no trigger matched`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        detected: Option<String>,
    },
    PhaseStarted {
        phase: String,
        attempt: u32,
    },
    /// Specialists advising this attempt: `name (keyword)` each.
    Engaged {
        phase: String,
        attempt: u32,
        specialists: Vec<String>,
    },
    /// What a consulted specialist advised the phase's role before this
    /// attempt ran, or why it could not (`error`; the role ran without it).
    Advice {
        phase: String,
        attempt: u32,
        specialist: String,
        /// The word in the request or a plan that engaged it.
        keyword: String,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        text: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
        /// The `seq` of the event that last changed the artifact it read
        /// (none: it read the request alone). A later attempt that would
        /// read the same reuses the advice instead of asking again.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        read: Option<u64>,
    },
    /// A person summoned utility role `utility` at the gate on `phase`
    /// (opened at event `gate`); its `utility` event follows when it
    /// answers. One with no answer when the session stopped is asked
    /// again when it resumes at that gate.
    Summoned {
        phase: String,
        gate: u64,
        utility: String,
    },
    /// A utility role a person summoned at the gate on `phase` (opened at
    /// event `gate`) answered, or could not (`error`). Its text holds its
    /// `artifacts`; the roles of the phases in `hands_to` are handed it.
    Utility {
        phase: String,
        gate: u64,
        utility: String,
        name: String,
        artifacts: Vec<String>,
        hands_to: Vec<String>,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        text: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
        /// The read-only tool calls it made, one line each
        /// (`list_dir . ✓ 12 entries`).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        reads: Vec<String>,
    },
    /// One task of a plan starts (a maker, or the critique of one), in an
    /// attempt that runs the plan task by task.
    TaskStarted {
        phase: String,
        attempt: u32,
        task: u32,
        round: u32,
        name: String,
        /// For a critique: the task it checks.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        critique_of: Option<u32>,
        /// The role it runs as, when its `skill_id` names another phase's
        /// role than the one running the plan.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        role: Option<String>,
    },
    /// Streamed text of one task, coalesced like `output`.
    TaskOutput {
        phase: String,
        attempt: u32,
        task: u32,
        text: String,
    },
    /// How one run of a task ended.
    TaskFinished {
        phase: String,
        attempt: u32,
        task: u32,
        round: u32,
        outcome: TaskOutcome,
        /// One line: a critique's failing criteria, an error.
        summary: String,
    },
    /// Streamed text of the running attempt, coalesced into chunks.
    Output {
        phase: String,
        attempt: u32,
        text: String,
    },
    Usage {
        phase: String,
        attempt: u32,
        prompt_tokens: u64,
        completion_tokens: u64,
    },
    Artifact {
        phase: String,
        attempt: u32,
        name: String,
        content: String,
        /// A phase with several named outputs: each section of `content`
        /// it found, in the declared order (older logs and one-output
        /// phases have none).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        outputs: Vec<crate::formats::sections::Section>,
        /// The declared outputs the answer did not write.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        missing: Vec<String>,
    },
    GateOpened {
        phase: String,
        question: String,
        /// Why the session is over its budget, when it is: such a gate is
        /// never answered by `--approve all`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        over_budget: Option<String>,
    },
    Decision(Decision),
    PhaseFailed {
        phase: String,
        attempt: u32,
        error: String,
    },
    /// An agent asked to run a tool.
    ToolCall {
        phase: String,
        attempt: u32,
        call_id: String,
        tool: String,
        args: serde_json::Value,
        /// What the call is about (a path, a command), as its card shows
        /// it: the engine reads the arguments, so the fold need not. Logs
        /// written before it was recorded lack it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        target: Option<String>,
        /// What a `report_status` call reports. Logs written before it was
        /// recorded lack it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        checklist: Option<Checklist>,
    },
    /// A call needs a human's yes or no before it runs.
    PermissionAsked {
        phase: String,
        attempt: u32,
        call_id: String,
        tool: String,
        /// What would run (the command line).
        detail: String,
        /// Why it is asked (the policy's ruling).
        reason: String,
        /// The pattern an "always" answer would allow for the rest of the
        /// session. Logs written before it was recorded lack it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        always: Option<String>,
    },
    /// The answer to a call's permission, from the policy or a person.
    Permission {
        phase: String,
        call_id: String,
        decision: Permit,
        by: DecidedBy,
        /// A pattern now allowed for the rest of the session ("always").
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pattern: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// What a tool call produced.
    ToolResult {
        phase: String,
        attempt: u32,
        call_id: String,
        ok: bool,
        summary: String,
        output: String,
    },
    /// This session was forked from another, reopened at `at`'s gate; the
    /// events before this one are a copy of that session's up to `from_seq`.
    /// (Not `seq`: that name belongs to the envelope every event has.)
    Forked {
        from: String,
        at: String,
        from_seq: u64,
    },
    /// The workspace as it was at a gate, kept on a private git ref, and
    /// what changed since the snapshot before it (`base`; the session's
    /// starting commit for the first).
    Snapshot {
        phase: String,
        reference: String,
        commit: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        base: Option<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        files: Vec<FileStat>,
    },
    /// A person took a hunk of a phase's change back out of the workspace
    /// at its gate: `patch` is what was removed (applied in reverse).
    Reverted {
        phase: String,
        file: String,
        patch: String,
    },
    /// A revert at the open gate was undone: the patch of the `reverted`
    /// event at `seq` is back in the workspace.
    RevertUndone {
        phase: String,
        reverted: u64,
    },
    /// The provider is trying the request again after a failure.
    Retry {
        phase: String,
        attempt: u32,
        reason: String,
        wait_ms: u64,
        next_try: u32,
        tries: u32,
    },
    /// Work went back to an earlier phase: after a person's `return`
    /// decision, or by itself (`automatic`) when a verdict failed. The
    /// reason (a verdict's issues) is the feedback the phase runs again with.
    Returned {
        from: String,
        to: String,
        reason: String,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        automatic: bool,
    },
    /// A phase's structured answer (a plan, a verdict) could not be read.
    /// With `retry` the phase runs again with `errors` as its feedback;
    /// without, its gate opens for a person to decide.
    Invalid {
        phase: String,
        attempt: u32,
        errors: Vec<String>,
        retry: bool,
    },
    SessionFinished {
        outcome: SessionOutcome,
    },
    /// A kind this build does not know; skipped.
    #[serde(other)]
    Unknown,
}

/// A human's (or a policy's) answer at a gate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub phase: String,
    pub action: Action,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feedback: Option<String>,
    /// The edited artifact, for `edit`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// The phase work returns to, for `return`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    #[serde(default)]
    pub by: DecidedBy,
    /// The gate this decision answers: the `seq` of its `gate_opened`. The
    /// engine refuses a decision whose gate is no longer the open one, so a
    /// decision can never land on a gate its maker did not see. Logs
    /// written before it was recorded lack it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gate: Option<u64>,
    /// Review comments on the phase's workspace change, sent with a
    /// rejection or a return to the role that runs next.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub comments: Vec<ReviewComment>,
}

/// A reviewer's comment on one line of a phase's change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewComment {
    pub file: String,
    /// The line's number in the new file (the old one for a removed line).
    pub line: usize,
    /// The line as it reads, quoted so the model sees what is meant (empty
    /// when a decisions file gives only the number).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub code: String,
    pub text: String,
}

impl Decision {
    /// What the role that runs next reads: the feedback, then each review
    /// comment with its file, line and the quoted code. `None` when there
    /// are no words at all.
    pub fn feedback_text(&self) -> Option<String> {
        let mut text = self
            .feedback
            .as_deref()
            .map(str::trim)
            .filter(|f| !f.is_empty())
            .map(str::to_owned)
            .unwrap_or_default();
        if !self.comments.is_empty() {
            if !text.is_empty() {
                text.push_str("\n\n");
            }
            text.push_str("Review comments on your change:");
            for c in &self.comments {
                let _ = write!(text, "\n- {}:{}", c.file, c.line);
                if !c.code.trim().is_empty() {
                    let _ = write!(text, ": `{}`", c.code.trim());
                }
                let _ = write!(text, "\n  {}", c.text.trim());
            }
        }
        (!text.is_empty()).then_some(text)
    }

    /// A plain approval of `phase`.
    pub fn approve(phase: impl Into<String>, by: DecidedBy) -> Self {
        Self::new(phase, Action::Approve, by)
    }

    /// A decision with no text attached.
    pub fn new(phase: impl Into<String>, action: Action, by: DecidedBy) -> Self {
        Self {
            phase: phase.into(),
            action,
            notes: None,
            feedback: None,
            content: None,
            to: None,
            by,
            gate: None,
            comments: Vec::new(),
        }
    }

    /// This decision, bound to the gate opened at event `seq`.
    #[must_use]
    pub fn at_gate(self, seq: u64) -> Self {
        Self {
            gate: Some(seq),
            ..self
        }
    }
}

/// What a gate decision does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Hand the artifact on as it is.
    Approve,
    /// Hand it on with notes for every later role.
    ApproveWithNotes,
    /// Replace the artifact with a human's text; the gate stays open.
    Edit,
    /// Run the phase again with feedback.
    Reject,
    /// Send work back to an earlier phase.
    Return,
    /// Stop the session.
    Abort,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Approve => "approve",
            Self::ApproveWithNotes => "approve_with_notes",
            Self::Edit => "edit",
            Self::Reject => "reject",
            Self::Return => "return",
            Self::Abort => "abort",
        }
    }
}

/// A permission answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Permit {
    Allow,
    Deny,
}

/// Where the agents work: a folder, and for a git work tree the commit
/// the session started from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkspaceInfo {
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
}

/// What an agent reports with `report_status` (the status protocol): who
/// reports, how the work stands, the step it is at, what is done, what is
/// still to do and what blocks it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checklist {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// The step of the work (the protocol's `phase`).
    #[serde(default, rename = "phase", skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    #[serde(default)]
    pub completed: Vec<String>,
    #[serde(default)]
    pub pending: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blockers: Vec<String>,
}

/// Who made a decision.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecidedBy {
    /// A person at the keyboard.
    #[default]
    User,
    /// A flag or file given to a headless run.
    Policy,
}

impl DecidedBy {
    /// The word the log and every view use.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Policy => "policy",
        }
    }
}

/// How a session ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionOutcome {
    /// Every phase was approved.
    Completed,
    /// A human stopped it at a gate.
    Aborted,
    /// It could not go on.
    Failed,
}

impl SessionOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Completed => "completed",
            Self::Aborted => "aborted",
            Self::Failed => "failed",
        }
    }
}

/// How one run of a plan task ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskOutcome {
    /// A maker answered.
    Done,
    /// A critique found every critical criterion met.
    Passed,
    /// A critique found a critical criterion unmet: the maker goes again.
    Failed,
    /// A critique's verdict could not be read; the work goes on unchecked.
    Unchecked,
    /// The run broke off (the provider failed).
    Error,
}

impl TaskOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Done => "done",
            Self::Passed => "passed",
            Self::Failed => "failed",
            Self::Unchecked => "unchecked",
            Self::Error => "error",
        }
    }
}

impl EventKind {
    /// Whether the log must be on disk (fsynced) once this event is written.
    pub fn is_durable(&self) -> bool {
        match self {
            Self::SessionStarted { .. }
            | Self::Artifact { .. }
            | Self::GateOpened { .. }
            | Self::Decision(_)
            | Self::PhaseFailed { .. }
            | Self::Returned { .. }
            | Self::Invalid { .. }
            | Self::TaskFinished { .. }
            | Self::SessionFinished { .. }
            // A call is on disk before it runs, its result as soon as it has.
            | Self::ToolCall { .. }
            | Self::PermissionAsked { .. }
            | Self::Permission { .. }
            | Self::ToolResult { .. }
            | Self::Snapshot { .. }
            | Self::Reverted { .. }
            | Self::RevertUndone { .. }
            // A consult is paid for: on disk, so a resume does not ask again.
            | Self::Advice { .. }
            // A summoned utility is paid for too, and a summons is the
            // person's: on disk, so a resume asks it again.
            | Self::Summoned { .. }
            | Self::Utility { .. }
            | Self::Forked { .. } => true,
            Self::PhaseStarted { .. }
            | Self::Engaged { .. }
            | Self::TaskStarted { .. }
            | Self::TaskOutput { .. }
            | Self::Output { .. }
            | Self::Usage { .. }
            | Self::Retry { .. }
            | Self::Unknown => false,
        }
    }

    /// The `snake_case` name stored in `kind`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::SessionStarted { .. } => "session_started",
            Self::PhaseStarted { .. } => "phase_started",
            Self::Engaged { .. } => "engaged",
            Self::Advice { .. } => "advice",
            Self::Summoned { .. } => "summoned",
            Self::Utility { .. } => "utility",
            Self::TaskStarted { .. } => "task_started",
            Self::TaskOutput { .. } => "task_output",
            Self::TaskFinished { .. } => "task_finished",
            Self::Output { .. } => "output",
            Self::Usage { .. } => "usage",
            Self::Artifact { .. } => "artifact",
            Self::GateOpened { .. } => "gate_opened",
            Self::Decision(_) => "decision",
            Self::PhaseFailed { .. } => "phase_failed",
            Self::Retry { .. } => "retry",
            Self::ToolCall { .. } => "tool_call",
            Self::PermissionAsked { .. } => "permission_asked",
            Self::Permission { .. } => "permission",
            Self::ToolResult { .. } => "tool_result",
            Self::Snapshot { .. } => "snapshot",
            Self::Reverted { .. } => "reverted",
            Self::RevertUndone { .. } => "revert_undone",
            Self::Forked { .. } => "forked",
            Self::Returned { .. } => "returned",
            Self::Invalid { .. } => "invalid",
            Self::SessionFinished { .. } => "session_finished",
            Self::Unknown => "unknown",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_round_trip_in_the_contract_shape() {
        let t = DateTime::parse_from_rfc3339("2026-11-20T10:00:00.123Z")
            .expect("time")
            .with_timezone(&Utc);
        let event = Event {
            seq: 7,
            t,
            kind: EventKind::Decision(Decision {
                notes: Some("mind the cache".into()),
                ..Decision::new("plan", Action::ApproveWithNotes, DecidedBy::User)
            }),
        };
        let line = serde_json::to_string(&event).expect("serialize");
        assert_eq!(
            line,
            r#"{"seq":7,"t":"2026-11-20T10:00:00.123Z","kind":"decision","phase":"plan","action":"approve_with_notes","notes":"mind the cache","by":"user"}"#
        );
        let back: Event = serde_json::from_str(&line).expect("parse");
        assert_eq!(back, event);
    }

    #[test]
    fn no_kind_reuses_an_envelope_field() {
        // A field named `seq`, `t` or `kind` would be written twice on the
        // line, and the reader would refuse it.
        let event = Event {
            seq: 13,
            t: Utc::now(),
            kind: EventKind::Forked {
                from: "a".into(),
                at: "plan".into(),
                from_seq: 12,
            },
        };
        let line = serde_json::to_string(&event).expect("serialize");
        let back: Event = serde_json::from_str(&line).expect("parse");
        assert_eq!(back.seq, 13);
        assert_eq!(back.kind, event.kind);
    }

    #[test]
    fn unknown_kinds_parse_as_unknown() {
        let line = r#"{"seq":3,"t":"2026-11-20T10:00:00.000Z","kind":"from_the_future","x":1}"#;
        let event: Event = serde_json::from_str(line).expect("parse");
        assert_eq!(event.kind, EventKind::Unknown);
    }
}
