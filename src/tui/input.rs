//! What a key, a paste or the mouse does to a session's screen: the open
//! overlay takes it first (and says how it closed), else the keymap makes
//! a key an act for the screen on show; `Ctrl-C` always does something; a
//! paste is text for an open box and never keys to run.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};

use super::act::SessionAct;
use super::app::{App, Flow, Screen};
use super::compose::Purpose;
use super::keymap::{Act, ContextActs as _};
use super::overlay::{self, Overlay};
use crate::session::Action;

impl App {
    /// Handles one key press: the open overlay consumes it, else the
    /// keymap makes it an act for the screen.
    pub fn on_key(&mut self, key: &KeyEvent) -> Flow {
        self.notice = None;
        if key.code == KeyCode::Char('c') && key.modifiers == KeyModifiers::CONTROL {
            return self.interrupt();
        }
        if let Some(open) = self.overlay.take() {
            return self.on_overlay(open.on_key(key, &self.keymap));
        }
        match self
            .keymap
            .lookup(&self.contexts(), key)
            .and_then(SessionAct::of)
        {
            Some(act) => self.act(act),
            None => Flow::Continue,
        }
    }

    /// `Ctrl-C`, which always does something: it closes what is open (a
    /// box asks first when it holds changed text, as `Esc` does), clears a
    /// search or leaves a view; on the board it asks whether to quit, and a
    /// second `Ctrl-C` in a row quits.
    fn interrupt(&mut self) -> Flow {
        match self.overlay.take() {
            Some(Overlay::ConfirmQuit) => return Flow::Quit,
            Some(Overlay::Compose(mut compose))
                if compose.modified() && !compose.confirm_discard =>
            {
                compose.confirm_discard = true;
                self.overlay = Some(Overlay::Compose(compose));
            }
            Some(
                Overlay::Compose(_)
                | Overlay::Help
                | Overlay::Matrix
                | Overlay::ConfirmAbort { .. }
                | Overlay::SearchInput(_)
                | Overlay::ReturnPick { .. }
                | Overlay::UtilityPick(_),
            ) => {}
            None if self.search.is_some() || self.screen != Screen::Board => {
                return self.act(SessionAct::Back);
            }
            None => self.overlay = Some(Overlay::ConfirmQuit),
        }
        Flow::Continue
    }

    /// Takes pasted text (the terminal's bracketed paste): the open text
    /// box gets it whole, at once; anywhere else it is ignored with a
    /// notice. A paste never runs keys, so a pasted "ok, approve" on the
    /// board approves nothing.
    pub fn on_paste(&mut self, text: &str) {
        self.notice = None;
        let at_gate = self.is_live() && self.gate_phase().is_some();
        match &mut self.overlay {
            Some(Overlay::Compose(compose)) => return compose.paste(text),
            Some(Overlay::SearchInput(query)) => {
                query.push_str(&super::compose::pasted_line(text));
                return;
            }
            None if at_gate => {
                self.notice = Some(format!(
                    "pasted text is ignored here: open a box first ({} notes, {} feedback, {} edit)",
                    self.key_label(Act::ApproveWithNotes),
                    self.key_label(Act::Reject),
                    self.key_label(Act::Edit),
                ));
                return;
            }
            None
            | Some(
                Overlay::Help
                | Overlay::Matrix
                | Overlay::ConfirmQuit
                | Overlay::ConfirmAbort { .. }
                | Overlay::ReturnPick { .. }
                | Overlay::UtilityPick(_),
            ) => {}
        }
        self.notice = Some("pasted text is ignored here: no text box is open".into());
    }

    /// Carries out what a key did to the open overlay.
    fn on_overlay(&mut self, outcome: overlay::Closing) -> Flow {
        match outcome {
            overlay::Closing::Open(open) => self.overlay = Some(open),
            overlay::Closing::Closed => {}
            overlay::Closing::Quit => return Flow::Quit,
            // Only at the gate the question was asked at: one that has
            // closed since sends nothing, as every other answer.
            overlay::Closing::Abort(gate) => {
                if !self.is_open(Some(gate)) {
                    self.notice = Some("that checkpoint has closed: nothing was sent".into());
                }
                self.decide(Some(gate), Action::Abort, |d| d);
            }
            overlay::Closing::Search(query) => self.search_for(query),
            overlay::Closing::ReturnTo { to, gate } => {
                let title = format!("Why return work to the {}?", self.state.phases[to].role);
                self.open_compose(Purpose::Reason { to }, Some(gate), title, "");
            }
            overlay::Closing::Submitted(purpose, gate, text) => self.submit(purpose, gate, text),
            overlay::Closing::Summon { utility, gate } => self.summon(utility, gate),
        }
        Flow::Continue
    }

    /// Handles the mouse: a click focuses a column, the wheel scrolls;
    /// whether the view changed (movement alone does not).
    pub fn on_mouse(&mut self, mouse: &MouseEvent) -> bool {
        if self.overlay.is_some() {
            return false;
        }
        match mouse.kind {
            MouseEventKind::ScrollDown => self.scroll_by(3),
            MouseEventKind::ScrollUp => self.scroll = self.scroll.saturating_sub(3),
            MouseEventKind::Down(MouseButton::Left) if self.screen == Screen::Board => {
                return self.click(*mouse);
            }
            MouseEventKind::Down(_)
            | MouseEventKind::Up(_)
            | MouseEventKind::Drag(_)
            | MouseEventKind::Moved
            | MouseEventKind::ScrollLeft
            | MouseEventKind::ScrollRight => return false,
        }
        true
    }
}
