//! What passes between the engine and its clients (the TUI, the headless
//! printer): [`Command`]s in, [`Update`]s out through a [`Sink`].
//!
//! The engine, the TUI and headless all import this module; the clients never
//! import the engine. A client holds an `UnboundedSender<Command>` to decide
//! and the receiving end of the engine's updates; the engine publishes each
//! event only after it is written to the log.

use std::sync::Arc;

use tokio::sync::mpsc;

use crate::changes::Change;
use crate::session::{DecidedBy, Decision, Event, SessionState};

/// What a client asks of the engine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// Answer the open gate.
    Decide(Decision),
    /// Stop the running phase; it fails with a gate that offers a retry.
    Cancel,
    /// Answer a tool call's permission request.
    Permission(PermissionAnswer),
    /// Take a hunk of the phase's change out of the workspace, at the gate
    /// opened at event `gate` (the phase's open gate only).
    Revert {
        gate: u64,
        phase: String,
        file: String,
        /// The hunk as a patch, applied in reverse.
        patch: String,
    },
    /// Put back the last hunk reverted at the gate opened at `gate`.
    UndoRevert { gate: u64, phase: String },
    /// Summon the utility role `utility` at the gate opened at event `gate`
    /// on `phase`: it works in the background while the gate stays open.
    Summon {
        gate: u64,
        phase: String,
        utility: String,
    },
}

/// A person's (or a headless policy's) answer to a permission request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PermissionAnswer {
    pub call_id: String,
    pub allow: bool,
    /// Allow commands like this one for the rest of the session.
    pub always: bool,
    /// Why not, for the agent to read.
    pub reason: Option<String>,
    pub by: DecidedBy,
}

/// What the engine tells its subscriber.
#[derive(Clone, Debug, PartialEq)]
pub enum Update {
    /// An event, just written.
    Event(Event),
    /// An event a resumed session had recorded before: to fold and show,
    /// not to answer.
    Recorded(Event),
    /// The recorded events are through; the session goes on live.
    Resumed,
    /// Something to show that is not part of the record.
    Notice(String),
    /// A decision the engine refused, and why: nothing was recorded.
    Refused(String),
    /// Text the model just streamed for `phase`'s `attempt` (or one of its
    /// plan's tasks), sent at once while the log gathers it: the
    /// `output` or `task_output` event that records it follows, its text
    /// the start of what was streamed and not yet recorded. Not part of the
    /// record.
    Streaming {
        phase: String,
        attempt: u32,
        task: Option<u32>,
        text: String,
    },
    /// The workspace change a snapshot recorded, read whole: sent before
    /// its `snapshot` event, so a client can show it without reading it
    /// again. Not part of the record.
    Change {
        base: Option<String>,
        commit: String,
        change: Arc<Change>,
    },
}

/// Receives every event after it is written, with the engine's state after it.
pub trait Sink: Send {
    fn publish(&mut self, event: &Event, state: &SessionState);
    /// An event of a resumed session's history, folded again.
    fn publish_recorded(&mut self, event: &Event, state: &SessionState) {
        self.publish(event, state);
    }
    /// The history of a resumed session has been published.
    fn resumed(&mut self) {}
    fn notice(&mut self, text: String);
    /// A decision was refused: nothing was recorded.
    fn refused(&mut self, why: String) {
        self.notice(why);
    }
    /// The change a snapshot is about to record, read whole.
    fn change(&mut self, _base: Option<&str>, _commit: &str, _change: &Arc<Change>) {}
    /// Text just streamed, before the event that records it is written.
    fn streaming(&mut self, _phase: &str, _attempt: u32, _task: Option<u32>, _text: &str) {}
}

impl Sink for mpsc::UnboundedSender<Update> {
    fn publish(&mut self, event: &Event, _state: &SessionState) {
        // A subscriber that has gone away does not stop the session.
        let _ = self.send(Update::Event(event.clone()));
    }

    fn publish_recorded(&mut self, event: &Event, _state: &SessionState) {
        let _ = self.send(Update::Recorded(event.clone()));
    }

    fn resumed(&mut self) {
        let _ = self.send(Update::Resumed);
    }

    fn notice(&mut self, text: String) {
        let _ = self.send(Update::Notice(text));
    }

    fn refused(&mut self, why: String) {
        let _ = self.send(Update::Refused(why));
    }

    fn change(&mut self, base: Option<&str>, commit: &str, change: &Arc<Change>) {
        let _ = self.send(Update::Change {
            base: base.map(str::to_owned),
            commit: commit.to_owned(),
            change: Arc::clone(change),
        });
    }

    fn streaming(&mut self, phase: &str, attempt: u32, task: Option<u32>, text: &str) {
        let _ = self.send(Update::Streaming {
            phase: phase.to_owned(),
            attempt,
            task,
            text: text.to_owned(),
        });
    }
}
