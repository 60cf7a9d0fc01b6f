//! Sessions: the event log, the fold over it, and where logs are kept.
//!
//! [`event`] defines what is stored, [`state`] folds it, [`log`] writes and
//! reads the JSONL file, and [`store`] finds, lists and resolves sessions in
//! the sessions folder.

pub mod event;
pub mod log;
pub mod state;
pub mod store;
#[cfg(test)]
pub mod testing;

pub use event::{
    Action, Checklist, DecidedBy, Decision, Event, EventKind, Permit, SessionOutcome, TaskOutcome,
    WorkspaceInfo,
};
pub use state::{
    Attempt, Decided, Gate, Inherited, PhaseState, PhaseStatus, SessionState, SessionStatus, Usage,
};
