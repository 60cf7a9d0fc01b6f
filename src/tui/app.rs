//! The TUI's state and its answers to keys and engine updates.
//!
//! [`App`] holds the folded [`SessionState`] (changed only by applying
//! events), where the events come from ([`Source`]: a live engine or a
//! recorded log), and view-local state: focus, scroll, the open screen and
//! modal. Keys become [`Command`]s for the engine; nothing here writes the
//! log or touches the terminal. Drawing is in [`super::view`].

use std::sync::Arc;

use chrono::{DateTime, Utc};
use crossterm::event::{KeyEvent, MouseButton, MouseEvent, MouseEventKind};
use tokio::sync::mpsc;

use super::compose::{self, Compose, Purpose};
use super::keymap::{Act, Context, Keymap, key_name};
use super::markdown;
use super::replay::Player;
use super::rows::{RowCache, RowsKey};
use super::theme::Theme;
use crate::protocol::{Command, Update};
use crate::session::{
    Action, Attempt, DecidedBy, Decision, EventKind, PhaseState, PhaseStatus, SessionState,
};
use ratatui::text::Line;

/// Where events come from.
#[derive(Debug)]
pub enum Source {
    /// A running engine; `None` once the channel to it is closed.
    Live(Option<mpsc::UnboundedSender<Command>>),
    Replay(Player),
}

/// What a diff compares the current text with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DiffBase {
    /// The agent's own draft of the same attempt (when a human edited it).
    Draft,
    /// The previous attempt's text.
    PreviousAttempt,
}

/// The main screen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Screen {
    Board,
    /// One phase's artifact, full-screen; `attempt` is an index into its
    /// attempts, `None` for the latest.
    Artifact {
        phase: usize,
        attempt: Option<usize>,
    },
    Diff {
        phase: usize,
        base: DiffBase,
    },
}

/// A box over the screen that takes the keys.
#[derive(Debug)]
pub enum Modal {
    Help,
    /// The handoff matrix.
    Matrix,
    ConfirmQuit,
    ConfirmAbort,
    /// Typing a search in the artifact view.
    SearchInput(String),
    /// Choosing where work returns to; `selected` indexes earlier phases.
    ReturnPick {
        phase: usize,
        selected: usize,
    },
    Compose(Box<Compose>),
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
    /// The search in the artifact view.
    pub search: Option<String>,
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
    /// Prices per model, for costs on screen.
    pub prices: crate::cost::Prices,
    /// Artifact layouts kept between frames.
    pub rows: RowCache,
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
            search: None,
            notice: None,
            frame: 0,
            now: Utc::now(),
            size: (80, 24),
            theme,
            keymap: Keymap::default(),
            prices: crate::cost::Prices::new(),
            rows: RowCache::default(),
        }
    }

    pub fn is_replay(&self) -> bool {
        matches!(self.source, Source::Replay(_))
    }

    fn is_live(&self) -> bool {
        matches!(self.source, Source::Live(Some(_)))
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

    /// Takes one update from the engine; true when a gate opened.
    pub fn on_update(&mut self, update: Update) -> bool {
        match update {
            Update::Event(event) => {
                self.state.apply(&event);
                self.follow_active();
                matches!(event.kind, EventKind::GateOpened { .. })
            }
            Update::Recorded(event) => {
                self.state.apply(&event);
                self.follow_active();
                false
            }
            Update::Resumed => false,
            Update::Notice(text) => {
                self.notice = Some(text);
                false
            }
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
            && self.screen == Screen::Board
        {
            self.focus = active;
            self.scroll = 0;
        }
    }

    /// Whether quitting now would stop work in progress.
    fn work_in_progress(&self) -> bool {
        self.is_live() && !self.state.is_over()
    }

    fn send(&mut self, command: Command) {
        if let Source::Live(Some(tx)) = &self.source
            && tx.send(command).is_ok()
        {
            return;
        }
        self.notice = Some("the session is no longer running".into());
    }

    /// The keymap contexts in force, most specific first.
    pub fn contexts(&self) -> Vec<Context> {
        let mut contexts = Vec::with_capacity(3);
        match &self.modal {
            Some(Modal::Compose(_)) => return vec![Context::Editor],
            Some(Modal::ReturnPick { .. }) => return vec![Context::Picker],
            _ => {}
        }
        if self.pending_permission().is_some() {
            return vec![Context::Permission];
        }
        if self.is_replay() {
            contexts.push(Context::Replay);
        }
        match self.screen {
            Screen::Board => contexts.push(Context::Board),
            Screen::Artifact { .. } => {
                if self.search.is_some() {
                    contexts.push(Context::Search);
                }
                contexts.push(Context::Artifact);
            }
            Screen::Diff { .. } => contexts.push(Context::Diff),
        }
        contexts
    }

    /// The open gate's phase, if it is the one on screen (or any, on the board).
    fn gate_phase(&self) -> Option<usize> {
        let gate = self.state.gate.as_ref()?.phase;
        match self.screen {
            Screen::Board => Some(gate),
            Screen::Artifact { phase, .. } | Screen::Diff { phase, .. } => {
                (phase == gate).then_some(gate)
            }
        }
    }

    /// The phase the screen is about.
    pub fn shown_phase(&self) -> usize {
        match self.screen {
            Screen::Board => self.focus,
            Screen::Artifact { phase, .. } | Screen::Diff { phase, .. } => phase,
        }
    }

    fn attempts_left(&self, phase: &PhaseState) -> bool {
        let max = self
            .state
            .pipeline
            .as_ref()
            .map_or(u32::MAX, |p| p.max_attempts);
        phase.status == PhaseStatus::Failed || (phase.attempts.len() as u64) < u64::from(max)
    }

    /// Whether an act does something right now (the footer shows only these).
    pub fn available(&self, act: Act) -> bool {
        let gate = self.gate_phase().filter(|_| self.is_live());
        let gate_state = gate.map(|i| &self.state.phases[i]);
        let failed = gate_state.is_some_and(|p| p.status == PhaseStatus::Failed);
        let shown = self.state.phases.get(self.shown_phase());
        match act {
            Act::Approve | Act::ApproveWithNotes | Act::Edit => gate.is_some() && !failed,
            Act::Reject => gate_state.is_some_and(|p| self.attempts_left(p)),
            Act::Return => gate.is_some_and(|i| i > 0),
            Act::Abort => gate.is_some(),
            Act::Cancel => {
                self.is_live()
                    && self
                        .state
                        .phases
                        .iter()
                        .any(|p| p.status == PhaseStatus::Running)
            }
            Act::Open => shown.is_some_and(|p| !p.attempts.is_empty()),
            Act::Matrix => !self.state.phases.is_empty(),
            Act::Diff => shown.is_some_and(|p| diff_base(p, None).is_some()),
            Act::PrevAttempt | Act::NextAttempt => shown.is_some_and(|p| p.attempts.len() > 1),
            Act::NextMatch | Act::PrevMatch => self.search.is_some(),
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
            | Act::Quit
            | Act::Search
            | Act::Submit
            | Act::Undo
            | Act::Redo => true,
            Act::PlayPause
            | Act::StepForward
            | Act::StepBack
            | Act::Faster
            | Act::Slower
            | Act::NextGate
            | Act::PrevGate => self.is_replay(),
            Act::PermitOnce | Act::PermitAlways | Act::Deny => self.pending_permission().is_some(),
        }
    }

    /// Handles one key press.
    pub fn on_key(&mut self, key: &KeyEvent) -> Flow {
        self.notice = None;
        match self.modal.take() {
            Some(Modal::Compose(mut compose)) => {
                match compose.on_key(key, &self.keymap) {
                    compose::Outcome::Editing => self.modal = Some(Modal::Compose(compose)),
                    compose::Outcome::Cancelled => {}
                    compose::Outcome::Submitted(text) => self.submit(&compose, text),
                }
                return Flow::Continue;
            }
            Some(Modal::ConfirmQuit) => {
                return if matches!(key_name(key).as_deref(), Some("y" | "q" | "enter")) {
                    Flow::Quit
                } else {
                    Flow::Continue
                };
            }
            Some(Modal::ConfirmAbort) => {
                if key_name(key).as_deref() == Some("y") {
                    self.decide(Action::Abort, |d| d);
                }
                return Flow::Continue;
            }
            Some(Modal::Help | Modal::Matrix) => return Flow::Continue,
            Some(Modal::SearchInput(query)) => {
                self.search_key(key, query);
                return Flow::Continue;
            }
            Some(Modal::ReturnPick { phase, selected }) => {
                self.pick_key(key, phase, selected);
                return Flow::Continue;
            }
            None => {}
        }
        let Some(act) = self.keymap.lookup(&self.contexts(), key) else {
            return Flow::Continue;
        };
        self.act(act)
    }

    /// Handles the mouse: a click focuses a column, the wheel scrolls.
    /// Handles the mouse; whether the view changed (movement alone does not).
    pub fn on_mouse(&mut self, mouse: &MouseEvent) -> bool {
        if self.modal.is_some() {
            return false;
        }
        match mouse.kind {
            MouseEventKind::ScrollDown => self.scroll_by(3),
            MouseEventKind::ScrollUp => self.scroll = self.scroll.saturating_sub(3),
            MouseEventKind::Down(MouseButton::Left) if self.screen == Screen::Board => {
                let count = self.state.phases.len();
                let (width, _) = self.size;
                // The board starts below the status bar and the request line.
                let narrow = super::view::is_narrow(width, count);
                let on_strip = narrow && mouse.row == 2;
                if count == 0 || mouse.row < 2 || (narrow && !on_strip) {
                    return false;
                }
                let column = usize::from(mouse.column) * count / usize::from(width.max(1));
                if column >= count || column == self.focus {
                    return false;
                }
                self.focus = column;
                self.follow = false;
                self.scroll = 0;
            }
            _ => return false,
        }
        true
    }

    fn search_key(&mut self, key: &KeyEvent, mut query: String) {
        match key.code {
            crossterm::event::KeyCode::Enter => {
                if query.is_empty() {
                    self.search = None;
                } else {
                    self.search = Some(query);
                    self.jump_to_match(true, true);
                }
            }
            crossterm::event::KeyCode::Esc => {}
            crossterm::event::KeyCode::Backspace => {
                query.pop();
                self.modal = Some(Modal::SearchInput(query));
            }
            crossterm::event::KeyCode::Char(c) => {
                query.push(c);
                self.modal = Some(Modal::SearchInput(query));
            }
            _ => self.modal = Some(Modal::SearchInput(query)),
        }
    }

    fn pick_key(&mut self, key: &KeyEvent, phase: usize, selected: usize) {
        match self.keymap.lookup(&[Context::Picker], key) {
            Some(Act::Down) => {
                self.modal = Some(Modal::ReturnPick {
                    phase,
                    selected: (selected + 1).min(phase.saturating_sub(1)),
                });
            }
            Some(Act::Up) => {
                self.modal = Some(Modal::ReturnPick {
                    phase,
                    selected: selected.saturating_sub(1),
                });
            }
            Some(Act::Submit) => {
                let to = &self.state.phases[selected];
                let title = format!("Why return work to the {}?", to.role);
                self.open_compose(Purpose::Reason { to: selected }, title, "");
            }
            Some(Act::Back) => {}
            _ => self.modal = Some(Modal::ReturnPick { phase, selected }),
        }
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
            Act::Matrix => self.modal = Some(Modal::Matrix),
            Act::Back => {
                if self.search.take().is_none() {
                    if let Screen::Diff { phase, .. } = self.screen {
                        self.screen = Screen::Artifact {
                            phase,
                            attempt: None,
                        };
                    } else {
                        self.screen = Screen::Board;
                    }
                    self.scroll = 0;
                }
            }
            Act::Left | Act::Right if count > 0 => {
                let target = if act == Act::Left {
                    self.shown_phase().saturating_sub(1)
                } else {
                    (self.shown_phase() + 1).min(count - 1)
                };
                self.focus = target;
                self.follow = false;
                self.scroll = 0;
                if let Screen::Artifact { .. } = self.screen {
                    self.screen = Screen::Artifact {
                        phase: target,
                        attempt: None,
                    };
                }
            }
            Act::Left | Act::Right | Act::Submit | Act::Undo | Act::Redo => {}
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
                    self.screen = Screen::Artifact {
                        phase: self.focus,
                        attempt: None,
                    };
                    self.scroll = 0;
                }
            }
            Act::Search => self.modal = Some(Modal::SearchInput(String::new())),
            Act::NextMatch | Act::PrevMatch => self.jump_to_match(act == Act::NextMatch, false),
            Act::PrevAttempt | Act::NextAttempt => self.step_attempt(act == Act::NextAttempt),
            Act::Diff => self.open_diff(),
            Act::Approve
            | Act::ApproveWithNotes
            | Act::Edit
            | Act::Reject
            | Act::Return
            | Act::Abort => {
                self.gate_act(act);
            }
            Act::Cancel => {
                if self.available(Act::Cancel) {
                    self.send(Command::Cancel);
                }
            }
            Act::PlayPause
            | Act::StepForward
            | Act::StepBack
            | Act::Faster
            | Act::Slower
            | Act::NextGate
            | Act::PrevGate => self.replay_act(act),
            Act::PermitOnce | Act::PermitAlways | Act::Deny => self.permission_act(act),
        }
        Flow::Continue
    }

    /// The acts that answer a gate: refused with a reason when they do not apply.
    fn gate_act(&mut self, act: Act) {
        if !self.available(act) {
            self.notice = Some(self.why_not(act));
            return;
        }
        let Some(phase) = self.gate_phase() else {
            return;
        };
        let state = &self.state.phases[phase];
        let role = state.role.clone();
        match act {
            Act::Approve => self.decide(Action::Approve, |d| d),
            Act::ApproveWithNotes => {
                let title = format!("Notes for every role after the {role}");
                self.open_compose(Purpose::Notes, title, "");
            }
            Act::Edit => {
                let text = state.effective_artifact().unwrap_or_default().to_owned();
                let title = format!(
                    "Editing the {} · ctrl-s saves, esc cancels",
                    state.artifact_name
                );
                self.open_compose(Purpose::Edit, title, &text);
            }
            Act::Reject => {
                let failed = state.status == PhaseStatus::Failed;
                let next = state.attempts.len() + 1;
                let title = if failed {
                    format!("Retry the {role} as attempt {next} (a note is optional)")
                } else {
                    format!("Feedback for the {role}: attempt {next} will read it")
                };
                self.open_compose(Purpose::Feedback { required: !failed }, title, "");
            }
            Act::Return => {
                self.modal = Some(Modal::ReturnPick {
                    phase,
                    selected: phase - 1,
                });
            }
            Act::Abort => self.modal = Some(Modal::ConfirmAbort),
            _ => {}
        }
    }

    fn why_not(&self, act: Act) -> String {
        if self.is_replay() {
            return "a replay is read-only".into();
        }
        let Some(gate) = self.state.gate.as_ref() else {
            return "no checkpoint is open".into();
        };
        let phase = &self.state.phases[gate.phase];
        match act {
            Act::Reject => format!(
                "the {} has used all its attempts: approve, edit, return or abort",
                phase.role
            ),
            Act::Return => "there is no earlier phase to return to".into(),
            _ if phase.status == PhaseStatus::Failed => {
                format!("the {} failed: retry with r", phase.role)
            }
            _ => format!("the open checkpoint is the {}'s", phase.role),
        }
    }

    fn open_compose(&mut self, purpose: Purpose, title: String, initial: &str) {
        let compose = Compose::new(purpose, title, initial, &self.theme);
        self.modal = Some(Modal::Compose(Box::new(compose)));
    }

    /// Sends the decision a finished box stands for.
    fn submit(&mut self, compose: &Compose, text: String) {
        match &compose.purpose {
            Purpose::Notes => self.decide(Action::ApproveWithNotes, |d| Decision {
                notes: Some(text),
                ..d
            }),
            Purpose::Feedback { .. } => self.decide(Action::Reject, |d| Decision {
                feedback: (!text.is_empty()).then_some(text),
                ..d
            }),
            Purpose::Reason { to } => {
                let to = self.state.phases[*to].id.clone();
                self.decide(Action::Return, |d| Decision {
                    to: Some(to),
                    feedback: (!text.is_empty()).then_some(text),
                    ..d
                });
            }
            Purpose::Edit => {
                self.decide(Action::Edit, |d| Decision {
                    content: Some(text),
                    ..d
                });
                self.notice =
                    Some("edit saved: the next role reads it; d shows the diff, a approves".into());
            }
            Purpose::DenyReason { call_id } => {
                let call_id = call_id.clone();
                self.answer_permission(call_id, false, false, (!text.is_empty()).then_some(text));
            }
        }
    }

    /// Sends the answer to the pending permission request.
    fn answer_permission(
        &mut self,
        call_id: String,
        allow: bool,
        always: bool,
        reason: Option<String>,
    ) {
        self.send(Command::Permission(crate::protocol::PermissionAnswer {
            call_id,
            allow,
            always,
            reason,
            by: DecidedBy::User,
        }));
    }

    /// The permission request the user must answer now, if any.
    pub fn pending_permission(&self) -> Option<&crate::session::state::PermissionRequest> {
        self.state.permission.as_ref().filter(|_| self.is_live())
    }

    fn permission_act(&mut self, act: Act) {
        let Some(request) = self.pending_permission() else {
            return;
        };
        let call_id = request.call_id.clone();
        match act {
            Act::PermitOnce => self.answer_permission(call_id, true, false, None),
            Act::PermitAlways => self.answer_permission(call_id, true, true, None),
            Act::Deny => {
                let title = "Why not? (optional: the agent reads it) · ctrl-s denies".to_owned();
                self.open_compose(Purpose::DenyReason { call_id }, title, "");
            }
            _ => {}
        }
    }

    /// Sends a decision on the open gate, built from a plain one.
    fn decide(&mut self, action: Action, build: impl FnOnce(Decision) -> Decision) {
        let Some(gate) = &self.state.gate else {
            return;
        };
        let phase = self.state.phases[gate.phase].id.clone();
        let decision = build(Decision::new(phase, action, DecidedBy::User));
        self.send(Command::Decide(decision));
        if action != Action::Edit {
            self.screen = Screen::Board;
            self.follow = true;
            self.scroll = 0;
        }
    }

    fn open_diff(&mut self) {
        let phase = self.shown_phase();
        let Some(state) = self.state.phases.get(phase) else {
            return;
        };
        let current = if let Screen::Diff { base, .. } = self.screen {
            Some(base)
        } else {
            None
        };
        match diff_base(state, current) {
            Some(base) => {
                self.screen = Screen::Diff { phase, base };
                self.scroll = 0;
            }
            None => self.notice = Some("nothing to compare: one attempt, not edited".into()),
        }
    }

    fn step_attempt(&mut self, forward: bool) {
        let Screen::Artifact { phase, attempt } = self.screen else {
            return;
        };
        // A replay stepped back before the phase existed has none.
        let Some(count) = self.state.phases.get(phase).map(|p| p.attempts.len()) else {
            return;
        };
        let current = attempt.unwrap_or(count.saturating_sub(1));
        let next = if forward {
            (current + 1).min(count.saturating_sub(1))
        } else {
            current.saturating_sub(1)
        };
        self.screen = Screen::Artifact {
            phase,
            attempt: (next + 1 < count).then_some(next),
        };
        self.scroll = 0;
    }

    /// The rendered rows of the open artifact, as the view draws them.
    pub fn artifact_rows(&self, width: usize) -> Arc<[Line<'static>]> {
        let Screen::Artifact { phase, attempt } = self.screen else {
            return Arc::new([]);
        };
        let Some(state) = self.state.phases.get(phase) else {
            return Arc::new([]);
        };
        let attempt = attempt
            .filter(|i| *i < state.attempts.len())
            .unwrap_or(state.attempts.len().saturating_sub(1));
        self.markdown_rows(phase, attempt, width, true)
    }

    /// The Markdown layout of one attempt's text (the human's edit, else
    /// the agent's artifact, else what it has streamed) at `width`, with
    /// the phase's decisions after it when `with_decisions`; kept between
    /// frames in [`RowCache`].
    pub fn markdown_rows(
        &self,
        phase: usize,
        attempt: usize,
        width: usize,
        with_decisions: bool,
    ) -> Arc<[Line<'static>]> {
        let Some(state) = self.state.phases.get(phase) else {
            return Arc::new([]);
        };
        let chosen = state.attempts.get(attempt);
        let (kind, text) = match chosen {
            Some(Attempt {
                edited: Some(text), ..
            }) => (2, text.as_str()),
            Some(Attempt {
                artifact: Some(text),
                ..
            }) => (1, text.as_str()),
            Some(a) => (0, a.output.as_str()),
            None => (0, ""),
        };
        let key = RowsKey {
            phase,
            attempt,
            text: kind,
            address: text.as_ptr() as usize,
            len: text.len(),
            decisions: state.decisions.len(),
            width,
            with_decisions,
        };
        self.rows.get(key, || {
            let shown = chosen.map(|a| super::text::shown(&self.state, phase, a));
            let mut rows = markdown::render(shown.as_deref().unwrap_or(""), width, &self.theme);
            if with_decisions {
                rows.extend(decision_rows(state, width, &self.theme));
            }
            rows
        })
    }

    /// Scrolls to the next (or previous) row holding the search text.
    fn jump_to_match(&mut self, forward: bool, from_here: bool) {
        let Some(query) = self.search.as_ref().map(|q| q.to_lowercase()) else {
            return;
        };
        let width = super::view::Geometry::of(self, self.size).text_width;
        let rows: Vec<usize> = self
            .artifact_rows(width)
            .iter()
            .enumerate()
            .filter(|(_, l)| {
                l.spans
                    .iter()
                    .map(|s| s.content.as_ref())
                    .collect::<String>()
                    .to_lowercase()
                    .contains(&query)
            })
            .map(|(i, _)| i)
            .collect();
        let found = if forward {
            rows.iter().copied().find(|r| {
                if from_here {
                    *r >= self.scroll
                } else {
                    *r > self.scroll
                }
            })
        } else {
            rows.iter().rev().copied().find(|r| *r < self.scroll)
        };
        match found.or_else(|| {
            if forward {
                rows.first().copied()
            } else {
                rows.last().copied()
            }
        }) {
            Some(row) => self.scroll = row,
            None => {
                self.notice = Some(format!(
                    "no match for “{}”",
                    self.search.as_deref().unwrap_or("")
                ));
            }
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
            Act::NextGate | Act::PrevGate => {
                player.playing = false;
                match player.gate_position(act == Act::NextGate) {
                    Some(position) => player.seek(position, &mut self.state),
                    None => self.notice = Some("no more gates that way".into()),
                }
            }
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

    fn page(&self) -> usize {
        usize::from(self.size.1.saturating_sub(6)).max(1)
    }

    fn scroll_by(&mut self, rows: usize) {
        self.scroll = (self.scroll + rows).min(self.max_scroll());
    }

    /// How far the text on screen can scroll at the current size.
    fn max_scroll(&self) -> usize {
        let geometry = super::view::Geometry::of(self, self.size);
        let rows = match self.screen {
            Screen::Artifact { .. } => self.artifact_rows(geometry.text_width).len(),
            Screen::Diff { phase, base } => {
                super::view::diff_rows(self, phase, base, geometry.text_width).len()
            }
            Screen::Board => {
                let Some(phase) = self.state.phases.get(self.focus) else {
                    return 0;
                };
                let attempt = phase.attempts.len().saturating_sub(1);
                let rows = self
                    .markdown_rows(self.focus, attempt, geometry.text_width, false)
                    .len();
                // The column's own header may be taller than the fixed part
                // (specialists, earlier attempts, tool calls).
                let header =
                    super::view::column_header(self, self.focus, phase, geometry.text_width).len();
                let extra = header.saturating_sub(super::view::COLUMN_HEADER);
                return rows.saturating_sub(geometry.text_height.saturating_sub(extra));
            }
        };
        rows.saturating_sub(geometry.text_height)
    }
}

/// What a diff of `phase` compares with: first the agent's draft when the
/// latest attempt was edited, else the previous attempt; given the `current`
/// base, the other one when both exist.
pub fn diff_base(phase: &PhaseState, current: Option<DiffBase>) -> Option<DiffBase> {
    let edited = phase
        .current()
        .is_some_and(|a| a.edited.is_some() && a.artifact.is_some());
    let previous = phase.attempts.len() > 1;
    let candidates = match current {
        None | Some(DiffBase::PreviousAttempt) => [
            (edited, DiffBase::Draft),
            (previous, DiffBase::PreviousAttempt),
        ],
        Some(DiffBase::Draft) => [
            (previous, DiffBase::PreviousAttempt),
            (edited, DiffBase::Draft),
        ],
    };
    candidates
        .into_iter()
        .find_map(|(ok, base)| ok.then_some(base))
}

/// Who decided what at this phase's gates, and when: the end of the
/// artifact view, so a replay shows the record too.
fn decision_rows(
    phase: &PhaseState,
    width: usize,
    theme: &Theme,
) -> Vec<ratatui::text::Line<'static>> {
    use ratatui::text::Line;
    if phase.decisions.is_empty() {
        return Vec::new();
    }
    let mut rows = vec![
        Line::raw(""),
        Line::styled(super::text::clip("── decisions ──", width), theme.heading),
    ];
    for decided in &phase.decisions {
        let d = &decided.decision;
        let by = d.by.as_str();
        let detail = match d.action {
            Action::Edit => d.content.as_ref().map(|c| {
                format!(
                    " — replaced the text ({} lines); d shows the diff",
                    c.lines().count()
                )
            }),
            Action::Return => Some(format!(
                " — to {}{}",
                d.to.as_deref().unwrap_or("?"),
                d.feedback
                    .as_ref()
                    .map(|f| format!(": “{f}”"))
                    .unwrap_or_default()
            )),
            _ => d
                .notes
                .as_ref()
                .or(d.feedback.as_ref())
                .map(|t| format!(" — “{t}”")),
        }
        .unwrap_or_default();
        let line = format!(
            "{} {} by {by}{detail}",
            decided.at.format("%H:%M:%S"),
            d.action.as_str()
        );
        for row in super::text::wrap(&line, width) {
            rows.push(Line::styled(row, theme.dim));
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::KeyModifiers;

    fn click(column: u16, row: u16) -> MouseEvent {
        MouseEvent {
            kind: MouseEventKind::Down(MouseButton::Left),
            column,
            row,
            modifiers: KeyModifiers::NONE,
        }
    }

    fn app_with_phases(width: u16) -> App {
        let event =
            crate::session::testing::numbered([crate::session::testing::started("r", "offline")])
                .remove(0);
        let mut app = App::new(Source::Live(None), Theme::mono());
        app.on_update(Update::Event(event));
        app.size = (width, 30);
        app
    }

    #[test]
    fn a_click_focuses_the_column_under_it() {
        let mut app = app_with_phases(180);
        app.on_mouse(&click(95, 10));
        assert_eq!(app.focus, 3);
        assert!(!app.follow);
        app.on_mouse(&click(5, 0));
        assert_eq!(app.focus, 3, "the status bar is not a column");
    }

    #[test]
    fn on_a_narrow_board_only_the_strip_is_clickable() {
        let mut app = app_with_phases(90);
        app.on_mouse(&click(80, 10));
        assert_eq!(app.focus, 0);
        app.on_mouse(&click(80, 2));
        assert_eq!(app.focus, 5);
    }
}
