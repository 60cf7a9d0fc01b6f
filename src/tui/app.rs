//! The TUI's state and how a key, a click or an engine update reaches the
//! part of the screen it is for.
//!
//! [`App`] holds the folded [`SessionState`] (changed only by applying
//! events), where the events come from ([`Source`]: a live engine or a
//! recorded log), and view-local state: focus, scroll, the open [`Screen`]
//! and [`Overlay`]. Input is taken in [`super::input`]: a key goes to the
//! open overlay first, which consumes it ([`super::overlay`]); else the
//! keymap turns it into an act ([`super::act`]) that the screen in front
//! takes first (the board, an artifact or a diff, the Changes view), then
//! the session (the gate, the replay, the permission prompt). Acts that
//! answer the engine become [`Command`]s; nothing here writes the log or
//! touches the terminal. Drawing is in [`super::view`].

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;

use super::changes::{ChangeRequest, Changes};
use super::keymap::{Act, Context, Keymap};
use super::overlay::Overlay;
use super::replay::Player;
use super::rows::RowCache;
use super::theme::Theme;
use crate::protocol::{Command, Update};
use crate::session::{EventKind, PhaseStatus, SessionState};

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
    /// `from_board` when it was opened from the board, which `Esc` goes
    /// back to (else to the artifact).
    Diff {
        phase: usize,
        base: DiffBase,
        from_board: bool,
    },
    /// What one phase changed in the workspace.
    Changes {
        phase: usize,
    },
}

impl Screen {
    /// The keymap contexts whose keys the screen takes (and the footer
    /// offers), most specific first; `searching` while a search is marked.
    pub fn contexts(self, searching: bool) -> &'static [Context] {
        match self {
            Self::Board => &[Context::Board],
            Self::Artifact { .. } if searching => &[Context::Search, Context::Artifact],
            Self::Artifact { .. } => &[Context::Artifact],
            Self::Diff { .. } => &[Context::Diff],
            Self::Changes { .. } if searching => &[Context::Search, Context::Changes],
            Self::Changes { .. } => &[Context::Changes],
        }
    }
}

/// Whether the loop goes on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    Continue,
    Quit,
}

/// Everything the TUI shows. The fields are the parts' to read and
/// change (`pub(super)`); from outside, the methods below. The focus and
/// the scroll are kept here rather than in one part because the board and
/// the artifact share them: the artifact opens on the focused phase, and
/// moving between phases there moves the board's focus too.
#[derive(Debug)]
pub struct App {
    pub(super) state: SessionState,
    pub(super) source: Source,
    pub(super) screen: Screen,
    pub(super) overlay: Option<Overlay>,
    pub(super) focus: usize,
    /// Focus follows the active phase until the user moves it.
    pub(super) follow: bool,
    /// Rows scrolled in the focused column or the open artifact.
    pub(super) scroll: usize,
    /// The search in the artifact view.
    pub(super) search: Option<String>,
    /// A message for the user that is not part of the record.
    pub(super) notice: Option<String>,
    /// Animation frame of the spinner.
    pub(super) frame: usize,
    /// The time elapsed figures are measured to.
    pub(super) now: DateTime<Utc>,
    /// The terminal's size, for scroll limits.
    pub(super) size: (u16, u16),
    pub(super) theme: Theme,
    pub(super) keymap: Keymap,
    /// Prices per model, for costs on screen.
    pub(super) prices: crate::cost::Prices,
    /// Artifact layouts kept between frames.
    pub(super) rows: RowCache,
    /// Text the engine streamed that the log has not recorded yet.
    pub(super) streamed: super::streamed::Streamed,
    /// Token counts of streamed text, for the cards.
    pub(super) tally: super::tally::Tally,
    /// The Changes view's change and its layout.
    pub(super) changes: Changes,
    /// Line comments written in the Changes view at the open gate.
    pub(super) review: Option<super::review::Review>,
    /// An edit, or the gate of an approval, already warned about as an
    /// unreadable plan or verdict: doing it again goes ahead.
    pub(super) warned: Option<Warned>,
    /// Commands run without the kernel sandbox (the status bar says so).
    pub(super) unconfined: bool,
    /// What the capability probe found about the model's server.
    pub(super) server: super::ServerNote,
    /// Approving a change with files not marked viewed asks first.
    pub(super) require_viewed: bool,
    /// The files marked viewed in the Changes view, and the gate (`seq`)
    /// they were marked at.
    pub(super) viewed: Option<(u64, Vec<String>)>,
}

/// What the user was warned about once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Warned {
    /// Saving this text at the gate opened at `gate`.
    Edit { gate: Option<u64>, text: String },
    /// Approving at the gate opened at this `seq`.
    Approve(u64),
    /// Approving at the gate opened at this `seq` with files not viewed.
    Unviewed(u64),
}

impl App {
    /// An app over `source`; a replay starts from where its player is.
    pub fn new(source: Source, theme: Theme) -> Self {
        let state = match &source {
            Source::Replay(player) => SessionState::from_events(player.played()),
            Source::Live(_) => SessionState::default(),
        };
        Self {
            state,
            source,
            screen: Screen::Board,
            overlay: None,
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
            streamed: super::streamed::Streamed::default(),
            tally: super::tally::Tally::default(),
            changes: Changes::default(),
            review: None,
            warned: None,
            unconfined: false,
            server: super::ServerNote::default(),
            require_viewed: false,
            viewed: None,
        }
    }

    /// The session as folded so far.
    pub fn state(&self) -> &SessionState {
        &self.state
    }

    /// Where the events come from.
    pub fn source(&self) -> &Source {
        &self.source
    }

    /// Ends the app with the state it reached; a live app's channel to the
    /// engine closes.
    pub fn into_state(self) -> SessionState {
        self.state
    }

    /// The screen in front.
    pub fn screen(&self) -> Screen {
        self.screen
    }

    /// Puts `screen` in front (the scroll stays).
    pub fn show(&mut self, screen: Screen) {
        self.screen = screen;
    }

    /// The focused phase.
    pub fn focus(&self) -> usize {
        self.focus
    }

    /// Focuses `phase`'s column.
    pub fn set_focus(&mut self, phase: usize) {
        self.focus = phase;
    }

    /// Rows scrolled in the focused column or the open artifact.
    pub fn scroll(&self) -> usize {
        self.scroll
    }

    pub fn set_scroll(&mut self, rows: usize) {
        self.scroll = rows;
    }

    /// The box over the screen, if one is open.
    pub fn overlay(&self) -> Option<&Overlay> {
        self.overlay.as_ref()
    }

    /// Opens a box over the screen, or (`None`) closes the open one.
    pub fn set_overlay(&mut self, overlay: Option<Overlay>) {
        self.overlay = overlay;
    }

    /// The key bindings in force.
    pub fn keymap(&self) -> &Keymap {
        &self.keymap
    }

    /// The message shown in the checkpoint bar, if any.
    pub fn notice(&self) -> Option<&str> {
        self.notice.as_deref()
    }

    /// Whether approving a change with files not marked viewed asks first
    /// (config.toml's `review.require_viewed`).
    pub fn set_require_viewed(&mut self, on: bool) {
        self.require_viewed = on;
    }

    /// Takes these key bindings (a user's keymap.toml over the defaults).
    pub fn set_keymap(&mut self, keymap: Keymap) {
        self.keymap = keymap;
    }

    /// The key a message names for `act`: its first key in the contexts
    /// in force, else on the board.
    pub(super) fn key_label(&self, act: Act) -> String {
        let mut contexts = self.contexts();
        contexts.push(Context::Board);
        self.keymap.label(&contexts, act).to_owned()
    }

    /// The time elapsed figures are measured to.
    pub fn now(&self) -> DateTime<Utc> {
        self.now
    }

    /// Measures elapsed time to `now` (the live loop sets the clock's time
    /// before each frame; tests and replays set their own).
    pub fn set_now(&mut self, now: DateTime<Utc>) {
        self.now = now;
    }

    /// The terminal's size, for scroll limits (the loop sets it each frame).
    pub fn set_size(&mut self, width: u16, height: u16) {
        self.size = (width, height);
    }

    /// Forgets the layouts kept between frames, so the next frame lays
    /// every text out afresh.
    pub fn forget_layouts(&mut self) {
        self.rows = RowCache::default();
    }

    pub fn is_replay(&self) -> bool {
        matches!(self.source, Source::Replay(_))
    }

    pub(super) fn is_live(&self) -> bool {
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
                self.streamed.recorded(&event);
                self.follow_active();
                self.mark_a_stale_box();
                if let EventKind::Utility { gate, utility, .. } = &event.kind {
                    self.summon_done(*gate, utility);
                }
                // A snapshot taken again (after a revert) reopens the
                // Changes view on it, where the cursor was.
                if let (EventKind::Snapshot { phase, .. }, Screen::Changes { phase: shown }) =
                    (&event.kind, self.screen)
                    && self.state.phases.get(shown).is_some_and(|p| &p.id == phase)
                {
                    let cursor = self.changes.cursor;
                    self.open_changes(shown);
                    self.changes.cursor = cursor;
                }
                matches!(event.kind, EventKind::GateOpened { .. })
            }
            Update::Recorded(event) => {
                self.state.apply(&event);
                self.follow_active();
                false
            }
            Update::Resumed => false,
            Update::Streaming {
                phase,
                attempt,
                task,
                text,
            } => {
                self.streamed.add(phase, attempt, task, &text);
                false
            }
            Update::Change {
                base,
                commit,
                change,
            } => {
                self.changes.known(base, commit, change);
                false
            }
            Update::Notice(text) | Update::Refused(text) => {
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
    }

    pub(super) fn follow_active(&mut self) {
        if let (true, Some(active)) = (self.follow, self.state.active_phase())
            && active != self.focus
            && self.screen == Screen::Board
        {
            self.focus = active;
            self.scroll = 0;
        }
    }

    /// Whether quitting now would stop work in progress.
    pub(super) fn work_in_progress(&self) -> bool {
        self.is_live() && !self.state.is_over()
    }

    pub(super) fn send(&mut self, command: Command) {
        if let Source::Live(Some(tx)) = &self.source
            && tx.send(command).is_ok()
        {
            return;
        }
        self.notice = Some("the session is no longer running".into());
    }

    /// The keymap contexts in force, most specific first: the open
    /// overlay's, else the permission prompt's, else the replay's and the
    /// screen's. The footer offers their keys.
    pub fn contexts(&self) -> Vec<Context> {
        if let Some(contexts) = self.overlay.as_ref().and_then(Overlay::contexts) {
            return contexts;
        }
        let mut contexts = Vec::with_capacity(3);
        if self.pending_permission().is_some() {
            return vec![Context::Permission];
        }
        if self.is_replay() {
            contexts.push(Context::Replay);
        }
        contexts.extend_from_slice(self.screen.contexts(self.search.is_some()));
        contexts
    }

    /// The open gate's phase, if it is the one on screen (or any, on the board).
    pub(super) fn gate_phase(&self) -> Option<usize> {
        let gate = self.state.gate.as_ref()?.phase;
        match self.screen {
            Screen::Board => Some(gate),
            Screen::Artifact { phase, .. }
            | Screen::Diff { phase, .. }
            | Screen::Changes { phase } => (phase == gate).then_some(gate),
        }
    }

    /// The phase the screen is about.
    pub fn shown_phase(&self) -> usize {
        match self.screen {
            Screen::Board => self.focus,
            Screen::Artifact { phase, .. }
            | Screen::Diff { phase, .. }
            | Screen::Changes { phase } => phase,
        }
    }

    /// The workspace change the Changes view wants read, once: the UI
    /// loop reads it off the UI task and hands it to
    /// [`App::change_loaded`].
    pub fn change_request(&mut self) -> Option<ChangeRequest> {
        self.changes.request()
    }

    /// The Changes view's rows: as last drawn, else laid out now as the
    /// next frame will (their count and where files and hunks start depend
    /// on the shape, side by side or not, not on the width).
    pub(super) fn changes_rows(&self) -> std::sync::Arc<super::changes::Rows> {
        self.changes.laid_out().unwrap_or_else(|| {
            let width = super::view::Geometry::of(self, self.size).text_width;
            let split = super::changes::is_split(self.size.0);
            self.changes.rows(width, split, &self.theme)
        })
    }

    /// Whether the loop should load the grammars for highlighting now,
    /// off the UI task, and hand them to [`App::syntaxes_loaded`] (once,
    /// when a Changes view first opens).
    pub fn syntaxes_request(&mut self) -> bool {
        self.changes.syntaxes_request()
    }

    /// The grammars, loaded: the Changes view highlights code from now on.
    pub fn syntaxes_loaded(&mut self, syntaxes: std::sync::Arc<super::changes::syntax::Syntaxes>) {
        self.changes.syntaxes_loaded(syntaxes);
    }

    /// The open change and the grammars, once both are there, for the
    /// loop to highlight the whole change off the UI task
    /// ([`super::changes::syntax::Highlights::fill`]) and hand back to
    /// [`App::change_highlighted`]; once per change.
    pub fn highlight_request(
        &mut self,
    ) -> Option<(
        std::sync::Arc<crate::changes::Change>,
        super::changes::syntax::Highlights,
    )> {
        self.changes.fill_request()
    }

    /// The whole change highlighted (kept if the view still shows it).
    pub fn change_highlighted(
        &mut self,
        change: &std::sync::Arc<crate::changes::Change>,
        highlights: super::changes::syntax::Highlights,
    ) {
        self.changes.filled(change, highlights);
    }

    /// Reading a change broke down (the task panicked): the open view
    /// says so.
    pub fn change_failed(&mut self, why: &str) {
        self.changes.failed(why);
    }

    /// What reading the change at `commit` gave.
    pub fn change_loaded(&mut self, commit: &str, result: Result<crate::changes::Change, String>) {
        self.changes.loaded(commit, result);
        self.scroll = self.scroll.min(self.max_scroll());
    }

    pub(super) fn page(&self) -> usize {
        usize::from(self.size.1.saturating_sub(6)).max(1)
    }

    pub(super) fn scroll_by(&mut self, rows: usize) {
        self.scroll = (self.scroll + rows).min(self.max_scroll());
    }

    /// How far the text on screen can scroll at the current size.
    pub(super) fn max_scroll(&self) -> usize {
        let geometry = super::view::Geometry::of(self, self.size);
        let rows = match self.screen {
            Screen::Artifact { .. } => self.artifact_rows(geometry.text_width).len(),
            Screen::Diff { phase, base, .. } => {
                super::artifact::diff_rows(self, phase, base, geometry.text_width).len()
            }
            // One row per diff line at any width (long lines are cut).
            Screen::Changes { .. } => self.changes_rows().lines.len(),
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
                    super::card::column_header(self, self.focus, phase, geometry.text_width).len();
                let extra = header.saturating_sub(super::board::COLUMN_HEADER);
                return rows.saturating_sub(geometry.text_height.saturating_sub(extra));
            }
        };
        rows.saturating_sub(geometry.text_height)
    }
}
