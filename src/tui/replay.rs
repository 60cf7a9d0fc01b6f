//! Playing a recorded log back on a clock.
//!
//! The [`Player`] owns the recorded events and how many of them have been
//! shown. The app asks it when the next event is due, applies what it hands
//! out to the same [`SessionState`] fold a live session uses, and refolds
//! from the start to step backwards. Long idle gaps (a human thinking at a
//! gate) are compressed to [`MAX_GAP`]. The replay's keys (play, step,
//! speed, jump to a gate) act on the app's player (`App::replay_act`).

use std::time::Duration;

use tokio::time::Instant;

use super::app::{App, Source};
use crate::clock::Speed;
use crate::session::{Event, SessionState};

/// The longest pause between two events in a replay, before speed-up.
pub const MAX_GAP: Duration = Duration::from_millis(1500);

/// At max speed, how long one tick may spend applying events before the
/// screen is drawn again.
pub const MAX_SPEED_SLICE: Duration = Duration::from_millis(8);

/// Speeds `+` and `-` step through.
pub const SPEEDS: [f64; 8] = [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0];

/// The recorded pause between two events, compressed.
pub fn gap(previous: &Event, next: &Event) -> Duration {
    (next.t - previous.t)
        .to_std()
        .unwrap_or_default()
        .min(MAX_GAP)
}

/// A recorded session and a position in it.
#[derive(Debug)]
pub struct Player {
    events: Vec<Event>,
    /// How many events have been applied.
    position: usize,
    pub playing: bool,
    /// `None` plays as fast as the screen can follow.
    speed: Option<f64>,
    due: Option<Instant>,
}

impl Player {
    pub fn new(events: Vec<Event>, speed: Speed) -> Self {
        Self {
            events,
            position: 0,
            playing: true,
            speed: match speed {
                Speed::Factor(f) => Some(f),
                Speed::Max => None,
            },
            due: None,
        }
    }

    pub fn position(&self) -> usize {
        self.position
    }

    pub fn len(&self) -> usize {
        self.events.len()
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    pub fn at_end(&self) -> bool {
        self.position >= self.events.len()
    }

    /// The speed as the status bar shows it.
    pub fn speed_label(&self) -> String {
        self.speed
            .map_or_else(|| "max".to_owned(), |s| format!("{s}x"))
    }

    /// When the next event is due, if playing.
    pub fn due(&mut self, now: Instant) -> Option<Instant> {
        if !self.playing || self.at_end() {
            return None;
        }
        let wait = match (self.speed, self.position.checked_sub(1)) {
            (Some(speed), Some(prev)) => {
                gap(&self.events[prev], &self.events[self.position]).div_f64(speed)
            }
            _ => Duration::ZERO,
        };
        Some(*self.due.get_or_insert(now + wait))
    }

    /// Applies the next event to `state`.
    pub fn step(&mut self, state: &mut SessionState) -> bool {
        self.due = None;
        let Some(event) = self.events.get(self.position) else {
            self.playing = false;
            return false;
        };
        state.apply(event);
        self.position += 1;
        true
    }

    /// Applies what is due: the next event at a set speed; at max speed as
    /// many as fit in [`MAX_SPEED_SLICE`], so a long log plays at the speed
    /// of the fold rather than one event per turn of the UI loop.
    pub fn advance(&mut self, state: &mut SessionState) {
        if self.speed.is_some() {
            self.step(state);
            return;
        }
        let until = std::time::Instant::now() + MAX_SPEED_SLICE;
        self.step(state);
        while !self.at_end() && std::time::Instant::now() < until {
            self.step(state);
        }
    }

    /// The events shown so far.
    pub fn played(&self) -> &[Event] {
        &self.events[..self.position]
    }

    /// Rebuilds `state` at `position` by folding from the start.
    pub fn seek(&mut self, position: usize, state: &mut SessionState) {
        self.position = position.min(self.events.len());
        self.due = None;
        *state = SessionState::from_events(&self.events[..self.position]);
    }

    /// Plays or pauses; playing from the end starts over.
    pub fn toggle(&mut self, state: &mut SessionState) {
        if !self.playing && self.at_end() {
            self.seek(0, state);
        }
        self.playing = !self.playing;
        self.due = None;
    }

    /// Moves one step along [`SPEEDS`]; from `max`, slower goes to the top.
    pub fn change_speed(&mut self, faster: bool) {
        let index = self.speed.map(|s| {
            SPEEDS
                .iter()
                .position(|x| *x >= s)
                .unwrap_or(SPEEDS.len() - 1)
        });
        self.speed = match (index, faster) {
            (None, true) => None,
            (None, false) => Some(SPEEDS[SPEEDS.len() - 1]),
            (Some(i), true) if i + 1 >= SPEEDS.len() => None,
            (Some(i), true) => Some(SPEEDS[i + 1]),
            (Some(i), false) => Some(SPEEDS[i.saturating_sub(1)]),
        };
        self.due = None;
    }

    /// The position just after the next (or previous) gate, if there is one.
    pub fn gate_position(&self, forward: bool) -> Option<usize> {
        let is_gate = |e: &Event| matches!(e.kind, crate::session::EventKind::GateOpened { .. });
        if forward {
            self.events[self.position..]
                .iter()
                .position(is_gate)
                .map(|i| self.position + i + 1)
        } else {
            let before = self.position.saturating_sub(1);
            self.events[..before]
                .iter()
                .rposition(is_gate)
                .map(|i| i + 1)
        }
    }

    /// Where the replay is, for the timeline: time since the start, the
    /// whole length, and the fraction done.
    pub fn progress(&self) -> (chrono::TimeDelta, chrono::TimeDelta, f64) {
        let start = self.events.first().map(|e| e.t);
        let end = self.events.last().map(|e| e.t);
        let now = self.clock();
        let span = |a: Option<chrono::DateTime<chrono::Utc>>| match (start, a) {
            (Some(s), Some(t)) => t - s,
            _ => chrono::TimeDelta::zero(),
        };
        #[expect(clippy::cast_precision_loss, reason = "a fraction for display")]
        let done = if self.events.is_empty() {
            0.0
        } else {
            self.position as f64 / self.events.len() as f64
        };
        (span(now), span(end), done)
    }

    /// The time of the last applied event.
    pub fn clock(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        self.position.checked_sub(1).map(|i| self.events[i].t)
    }
}
/// What the replay's keys do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplayAct {
    PlayPause,
    StepForward,
    StepBack,
    Faster,
    Slower,
    NextGate,
    PrevGate,
}

impl App {
    /// Plays, pauses, steps, changes speed or jumps to a gate.
    pub(super) fn replay_act(&mut self, act: ReplayAct) {
        let Source::Replay(player) = &mut self.source else {
            return;
        };
        match act {
            ReplayAct::PlayPause => player.toggle(&mut self.state),
            ReplayAct::StepForward => {
                player.playing = false;
                player.step(&mut self.state);
            }
            ReplayAct::StepBack => {
                player.playing = false;
                let back = player.position().saturating_sub(1);
                player.seek(back, &mut self.state);
            }
            ReplayAct::Faster | ReplayAct::Slower => {
                player.change_speed(act == ReplayAct::Faster);
            }
            ReplayAct::NextGate | ReplayAct::PrevGate => {
                player.playing = false;
                match player.gate_position(act == ReplayAct::NextGate) {
                    Some(position) => player.seek(position, &mut self.state),
                    None => self.notice = Some("no more gates that way".into()),
                }
            }
        }
        self.sync_replay_clock();
        self.follow_active();
    }

    pub(super) fn seek_end(&mut self, end: bool) {
        if let Source::Replay(player) = &mut self.source {
            let target = if end { player.len() } else { 0 };
            player.seek(target, &mut self.state);
            player.playing = false;
        }
        self.sync_replay_clock();
        self.follow_active();
    }

    /// Applies the replay's next event (the loop calls this when it is due).
    pub fn replay_tick(&mut self) {
        if let Source::Replay(player) = &mut self.source {
            player.advance(&mut self.state);
        }
        self.sync_replay_clock();
        self.follow_active();
    }

    fn sync_replay_clock(&mut self) {
        if let Source::Replay(player) = &self.source {
            self.now = player.clock().unwrap_or(self.now);
        }
    }
}
