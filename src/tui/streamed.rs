//! Text the engine has streamed but not logged yet.
//!
//! The engine writes streamed text to the log coalesced (a few events a
//! second) and sends each piece live as `Update::Streaming`. [`Streamed`]
//! keeps those pieces until the `output` or `task_output` event that
//! records them is folded: that event's text is the start of what was
//! streamed, so it is taken off the front. The screen shows the folded
//! text followed by what is kept here; nothing here is part of the record.

use std::borrow::Cow;

use crate::session::{Event, EventKind};

/// Which stream: a phase's attempt, or one of its plan's tasks.
type Key = (String, u32, Option<u32>);

/// The streamed text not recorded yet, per stream.
#[derive(Debug, Default)]
pub struct Streamed {
    texts: Vec<(Key, String)>,
}

impl Streamed {
    /// A piece just streamed.
    pub fn add(&mut self, phase: String, attempt: u32, task: Option<u32>, text: &str) {
        let key = (phase, attempt, task);
        match self.texts.iter_mut().find(|(k, _)| *k == key) {
            Some((_, kept)) => kept.push_str(text),
            None => self.texts.push((key, text.to_owned())),
        }
    }

    /// An event was folded: what it recorded is no longer pending.
    pub fn recorded(&mut self, event: &Event) {
        // A new attempt or the end of one: nothing of the phase is pending.
        if let EventKind::PhaseStarted { phase, .. } | EventKind::PhaseFailed { phase, .. } =
            &event.kind
        {
            self.texts.retain(|((p, _, _), _)| p != phase);
            return;
        }
        let (phase, attempt, task, text) = if let EventKind::Output {
            phase,
            attempt,
            text,
        } = &event.kind
        {
            (phase, *attempt, None, text)
        } else if let EventKind::TaskOutput {
            phase,
            attempt,
            task,
            text,
        } = &event.kind
        {
            (phase, *attempt, Some(*task), text)
        } else {
            return;
        };
        let Some(at) = self
            .texts
            .iter()
            .position(|((p, a, t), _)| p == phase && *a == attempt && *t == task)
        else {
            return;
        };
        let kept = &mut self.texts[at].1;
        match kept.strip_prefix(text.as_str()) {
            Some(rest) if !rest.is_empty() => *kept = rest.to_owned(),
            // All of it recorded (or, out of step, recorded otherwise).
            Some(_) | None => {
                self.texts.swap_remove(at);
            }
        }
    }

    /// What is pending for a stream.
    pub fn pending(&self, phase: &str, attempt: u32, task: Option<u32>) -> &str {
        self.texts
            .iter()
            .find(|((p, a, t), _)| p == phase && *a == attempt && *t == task)
            .map_or("", |(_, text)| text.as_str())
    }

    /// `recorded` followed by what is pending for the stream.
    pub fn shown<'a>(
        &self,
        recorded: &'a str,
        phase: &str,
        attempt: u32,
        task: Option<u32>,
    ) -> Cow<'a, str> {
        match self.pending(phase, attempt, task) {
            "" => Cow::Borrowed(recorded),
            pending => Cow::Owned(format!("{recorded}{pending}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::testing::numbered;

    fn output(text: &str) -> Event {
        numbered([EventKind::Output {
            phase: "plan".into(),
            attempt: 1,
            text: text.into(),
        }])
        .remove(0)
    }

    #[test]
    fn what_is_recorded_leaves_the_pending_text() {
        let mut s = Streamed::default();
        s.add("plan".into(), 1, None, "one\n");
        s.add("plan".into(), 1, None, "tw");
        assert_eq!(s.shown("", "plan", 1, None), "one\ntw");
        s.recorded(&output("one\n"));
        assert_eq!(s.shown("one\n", "plan", 1, None), "one\ntw");
        assert_eq!(
            s.pending("plan", 1, Some(1)),
            "",
            "a task is another stream"
        );
        s.recorded(&output("tw"));
        assert_eq!(s.pending("plan", 1, None), "");
    }
}
