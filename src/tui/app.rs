//! The TUI's state and its answers to keys and engine updates.
//!
//! [`App`] holds the folded [`SessionState`] (changed only by applying
//! events), where the events come from ([`Source`]: a live engine or a
//! recorded log), and view-local state: focus, scroll, the open screen and
//! modal. Keys become [`Command`]s for the engine; nothing here writes the
//! log or touches the terminal. Drawing is in [`super::view`].

use chrono::{DateTime, Utc};
use crossterm::event::KeyEvent;
use tokio::sync::mpsc;

use super::keymap::{Act, Context, Keymap};
use super::replay::Player;
use super::text;
use super::theme::Theme;
use crate::engine::{Command, Update};
use crate::session::{Action, DecidedBy, Decision, PhaseStatus, SessionState};

/// Where events come from.
#[derive(Debug)]
pub enum Source {
    /// A running engine; `None` once the channel to it is closed.
    Live(Option<mpsc::UnboundedSender<Command>>),
    Replay(Player),
}

/// The main screen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Screen {
    Board,
    /// One phase's artifact, full-screen.
    Artifact {
        phase: usize,
    },
}

/// A box over the screen that takes the keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Modal {
    Help,
    ConfirmQuit,
}

/// Whether the loop goes on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    Continue,
    Quit,
}

/// Everything the TUI shows.
#[derive(Debug)]
pub struct App {
    pub state: SessionState,
    pub source: Source,
    pub screen: Screen,
    pub modal: Option<Modal>,
    pub focus: usize,
    /// Focus follows the active phase until the user moves it.
    pub follow: bool,
    /// Rows scrolled in the focused column or the open artifact.
    pub scroll: usize,
    /// A message for the user that is not part of the record.
    pub notice: Option<String>,
    /// Animation frame of the spinner.
    pub frame: usize,
    /// The time elapsed figures are measured to.
    pub now: DateTime<Utc>,
    /// The terminal's size, for scroll limits.
    pub size: (u16, u16),
    pub theme: Theme,
    pub keymap: Keymap,
}

impl App {
    pub fn new(source: Source, theme: Theme) -> Self {
        Self {
            state: SessionState::default(),
            source,
            screen: Screen::Board,
            modal: None,
            focus: 0,
            follow: true,
            scroll: 0,
            notice: None,
            frame: 0,
            now: Utc::now(),
            size: (80, 24),
            theme,
            keymap: Keymap::default(),
        }
    }

    pub fn is_replay(&self) -> bool {
        matches!(self.source, Source::Replay(_))
    }

    /// Whether something on screen moves by itself (the spinner).
    pub fn animating(&self) -> bool {
        !self.is_replay()
            && self
                .state
                .phases
                .iter()
                .any(|p| p.status == PhaseStatus::Running)
    }

    /// Takes one update from the engine.
    pub fn on_update(&mut self, update: Update) {
        match update {
            Update::Event(event) => {
                self.state.apply(&event);
                self.follow_active();
            }
            Update::Notice(text) => self.notice = Some(text),
        }
    }

    /// The engine's channel closed: the session stopped or finished.
    pub fn on_engine_gone(&mut self) {
        if let Source::Live(commands) = &mut self.source {
            *commands = None;
        }
        if !self.state.is_over() && self.notice.is_none() {
            self.notice = Some("the session stopped; its log keeps everything so far".into());
        }
    }

    fn follow_active(&mut self) {
        if let (true, Some(active)) = (self.follow, self.state.active_phase())
            && active != self.focus
        {
            self.focus = active;
            self.scroll = 0;
        }
    }

    /// Whether quitting now would stop work in progress.
    fn work_in_progress(&self) -> bool {
        matches!(self.source, Source::Live(Some(_))) && !self.state.is_over()
    }

    fn send(&mut self, command: Command) {
        if let Source::Live(Some(tx)) = &self.source
            && tx.send(command).is_ok()
        {
            return;
        }
        self.notice = Some("the session is no longer running".into());
    }

    fn contexts(&self) -> Vec<Context> {
        let mut contexts = Vec::with_capacity(2);
        if self.is_replay() {
            contexts.push(Context::Replay);
        }
        contexts.push(match self.screen {
            Screen::Board => Context::Board,
            Screen::Artifact { .. } => Context::Artifact,
        });
        contexts
    }

    /// Whether an act does something right now (the footer shows only these).
    pub fn available(&self, act: Act) -> bool {
        let gate_phase = self.state.gate.as_ref().map(|g| g.phase);
        let gate_failed =
            gate_phase.is_some_and(|i| self.state.phases[i].status == PhaseStatus::Failed);
        let live = matches!(self.source, Source::Live(Some(_)));
        match act {
            Act::Approve => live && gate_phase.is_some() && !gate_failed,
            Act::Retry => live && gate_failed,
            Act::Cancel => {
                live && self
                    .state
                    .phases
                    .iter()
                    .any(|p| p.status == PhaseStatus::Running)
            }
            Act::Open => self
                .state
                .phases
                .get(self.focus)
                .is_some_and(|p| !p.attempts.is_empty()),
            Act::Left
            | Act::Right
            | Act::Down
            | Act::Up
            | Act::PageDown
            | Act::PageUp
            | Act::Top
            | Act::Bottom
            | Act::Back
            | Act::Help
            | Act::Quit => true,
            Act::PlayPause | Act::StepForward | Act::StepBack | Act::Faster | Act::Slower => {
                self.is_replay()
            }
        }
    }

    /// Handles one key press.
    pub fn on_key(&mut self, key: &KeyEvent) -> Flow {
        self.notice = None;
        match self.modal {
            Some(Modal::ConfirmQuit) => {
                return if let Some("y" | "q" | "enter") = super::keymap::key_name(key).as_deref() {
                    Flow::Quit
                } else {
                    self.modal = None;
                    Flow::Continue
                };
            }
            Some(Modal::Help) => {
                self.modal = None;
                return Flow::Continue;
            }
            None => {}
        }
        let Some(act) = self.keymap.lookup(&self.contexts(), key) else {
            return Flow::Continue;
        };
        self.act(act)
    }

    fn act(&mut self, act: Act) -> Flow {
        let count = self.state.phases.len();
        match act {
            Act::Quit => {
                if self.work_in_progress() {
                    self.modal = Some(Modal::ConfirmQuit);
                } else {
                    return Flow::Quit;
                }
            }
            Act::Help => self.modal = Some(Modal::Help),
            Act::Back => self.screen = Screen::Board,
            Act::Left | Act::Right if count > 0 => {
                self.focus = if act == Act::Left {
                    self.focus.saturating_sub(1)
                } else {
                    (self.focus + 1).min(count - 1)
                };
                self.follow = false;
                self.scroll = 0;
                if let Screen::Artifact { .. } = self.screen {
                    self.screen = Screen::Artifact { phase: self.focus };
                }
            }
            Act::Left | Act::Right => {}
            Act::Down => self.scroll_by(1),
            Act::Up => self.scroll = self.scroll.saturating_sub(1),
            Act::PageDown => self.scroll_by(self.page()),
            Act::PageUp => self.scroll = self.scroll.saturating_sub(self.page()),
            Act::Top | Act::Bottom if self.is_replay() && self.screen == Screen::Board => {
                self.seek_end(act == Act::Bottom);
            }
            Act::Top => self.scroll = 0,
            Act::Bottom => self.scroll = self.max_scroll(),
            Act::Open => {
                if self.available(Act::Open) {
                    self.screen = Screen::Artifact { phase: self.focus };
                    self.scroll = 0;
                }
            }
            Act::Approve => self.approve(),
            Act::Retry => {
                if let Some(gate) = &self.state.gate
                    && self.available(Act::Retry)
                {
                    let phase = self.state.phases[gate.phase].id.clone();
                    self.send(Command::Decide(Decision::new(
                        phase,
                        Action::Reject,
                        DecidedBy::User,
                    )));
                }
            }
            Act::Cancel => {
                if self.available(Act::Cancel) {
                    self.send(Command::Cancel);
                }
            }
            Act::PlayPause | Act::StepForward | Act::StepBack | Act::Faster | Act::Slower => {
                self.replay_act(act);
            }
        }
        Flow::Continue
    }

    fn approve(&mut self) {
        if !self.available(Act::Approve) {
            self.notice = Some(match self.source {
                Source::Replay(_) => "a replay is read-only".into(),
                Source::Live(_) => "no checkpoint is open".into(),
            });
            return;
        }
        if let Some(gate) = &self.state.gate {
            let phase = self.state.phases[gate.phase].id.clone();
            self.send(Command::Decide(Decision::approve(phase, DecidedBy::User)));
            self.screen = Screen::Board;
            self.follow = true;
        }
    }

    fn replay_act(&mut self, act: Act) {
        let Source::Replay(player) = &mut self.source else {
            return;
        };
        match act {
            Act::PlayPause => player.toggle(&mut self.state),
            Act::StepForward => {
                player.playing = false;
                player.step(&mut self.state);
            }
            Act::StepBack => {
                player.playing = false;
                let back = player.position().saturating_sub(1);
                player.seek(back, &mut self.state);
            }
            Act::Faster | Act::Slower => player.change_speed(act == Act::Faster),
            _ => {}
        }
        self.sync_replay_clock();
        self.follow_active();
    }

    fn seek_end(&mut self, end: bool) {
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
            player.step(&mut self.state);
        }
        self.sync_replay_clock();
        self.follow_active();
    }

    fn sync_replay_clock(&mut self) {
        if let Source::Replay(player) = &self.source {
            self.now = player.clock().unwrap_or(self.now);
        }
    }

    fn page(&self) -> usize {
        usize::from(self.size.1.saturating_sub(6)).max(1)
    }

    fn scroll_by(&mut self, rows: usize) {
        self.scroll = (self.scroll + rows).min(self.max_scroll());
    }

    /// How far the focused text can scroll at the current size.
    fn max_scroll(&self) -> usize {
        let layout = super::view::Geometry::of(self, self.size);
        let Some(phase) = self.state.phases.get(self.focus) else {
            return 0;
        };
        let body = phase
            .current()
            .map_or("", |a| a.effective().unwrap_or(&a.output));
        let rows = text::wrap(body, layout.text_width).len();
        rows.saturating_sub(layout.text_height)
    }
}
