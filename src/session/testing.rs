//! Sessions for unit tests: a session of the built-in pipeline started, and
//! events numbered as a log numbers them.

use super::{Event, EventKind, SessionState};
use crate::pipeline::{SkillsFile, load_pipeline};

/// `session_started` for `request`, the built-in pipeline, `provider`.
pub fn started(request: &str, provider: &str) -> EventKind {
    let pipeline = load_pipeline(&SkillsFile::builtin(), None).expect("the built-in pipeline");
    started_with(request, provider, pipeline)
}

/// `session_started` for `request`, running `pipeline` on `provider`.
pub fn started_with(
    request: &str,
    provider: &str,
    pipeline: crate::pipeline::Pipeline,
) -> EventKind {
    EventKind::SessionStarted {
        id: "s".into(),
        request: request.into(),
        pipeline: Box::new(pipeline),
        provider: provider.into(),
        model: "m".into(),
        version: "0".into(),
        workspace: None,
        detected: None,
    }
}

/// `kinds` as events numbered from 0, at the epoch.
pub fn numbered(kinds: impl IntoIterator<Item = EventKind>) -> Vec<Event> {
    kinds
        .into_iter()
        .zip(0..)
        .map(|(kind, seq)| Event {
            seq,
            t: chrono::DateTime::UNIX_EPOCH,
            kind,
        })
        .collect()
}

/// The fold of `kinds`.
pub fn fold(kinds: impl IntoIterator<Item = EventKind>) -> SessionState {
    SessionState::from_events(&numbered(kinds))
}
