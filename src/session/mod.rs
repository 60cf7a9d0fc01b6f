//! Sessions: the event log, the fold over it, and where logs are kept.
//!
//! [`event`] defines what is stored, [`fold`] folds it into a
//! [`SessionState`], [`log`] writes and reads the JSONL file, and [`store`]
//! finds, lists and resolves sessions in the sessions folder.
//!
//! Gates and checkpoints are one thing under two names. On screen, and in
//! what the user reads, a phase's answer waits at a *checkpoint* for a
//! person's decision; in the code and the log that is a *gate*: the
//! `gate_opened` event, [`Gate`], [`SessionStatus::AwaitingGate`], and the
//! `decision` that closes it. Code and log keep "gate"; the word
//! "checkpoint" belongs to the screen alone.
//!
//! This module stands below the engine, the tools, the TUI and the commands
//! and imports none of them, so every one of them can read a session (a
//! test keeps it so).

pub mod event;
pub mod fold;
pub mod log;
pub mod store;
#[cfg(test)]
pub mod testing;

pub use event::{
    Action, Checklist, DecidedBy, Decision, Event, EventKind, Permit, ReviewComment,
    SessionOutcome, TaskOutcome, WorkspaceInfo,
};
pub use fold::{
    Advice, Attempt, AttemptOutcome, Decided, Gate, INTERRUPTED, Inherited, PhaseState,
    PhaseStatus, SessionState, SessionStatus, Snapshot, Usage, UtilityReport,
};
