//! Summoning a utility role at the open gate (`u`): the picker that lists
//! the pipeline's utilities (name and one line of what each does), the
//! [`Command::Summon`] Enter sends, which utilities are still working
//! (view state: the engine says when one is done with a `utility` event),
//! and how what they wrote shows on the card and after the artifact.
//!
//! Everything a utility wrote is model text: it is drawn through the same
//! sanitizing Markdown renderer and `clip` as every artifact.

use crossterm::event::KeyEvent;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::Line;

use super::app::App;
use super::keymap::{Context, Keymap, context_acts};
use super::markdown;
use super::overlay::{Closing, Overlay, framed};
use super::text::clip;
use super::theme::Theme;
use crate::protocol::Command;
use crate::session::PhaseState;

/// The picker, open at the gate opened at event `gate` on phase `phase`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pick {
    pub phase: usize,
    pub gate: u64,
    /// The utility under the cursor, an index into the pipeline's list.
    pub selected: usize,
    /// How many utilities the list holds.
    pub count: usize,
}

context_acts! {
    /// The utility picker's keys (the picker context's).
    enum PickAct {
        Down,
        Up,
        Submit,
        Back,
    }
}

/// Up and down move, submit summons the one under the cursor, back closes.
pub fn pick_key(key: &KeyEvent, keymap: &Keymap, mut pick: Pick) -> Closing {
    match keymap.act_in(Context::Picker, key) {
        Some(PickAct::Down) => {
            pick.selected = (pick.selected + 1).min(pick.count.saturating_sub(1));
        }
        Some(PickAct::Up) => pick.selected = pick.selected.saturating_sub(1),
        Some(PickAct::Submit) => {
            return Closing::Summon {
                utility: pick.selected,
                gate: pick.gate,
            };
        }
        Some(PickAct::Back) => return Closing::Closed,
        None => {}
    }
    Closing::Open(Overlay::UtilityPick(pick))
}

/// Draws the picker: each utility's name and what it does, and whom its
/// output goes to.
pub fn render(app: &App, pick: Pick, area: Rect, buf: &mut Buffer) {
    let Some(pipeline) = app.state.pipeline.as_ref() else {
        return;
    };
    let role = app
        .state
        .phases
        .get(pick.phase)
        .map_or("", |p| p.role.as_str());
    let width = area.width.saturating_sub(4).min(84);
    let inner = usize::from(width.saturating_sub(2));
    let mut lines = vec![
        Line::raw(clip(
            &format!("Summon a utility at the {role}'s checkpoint:"),
            inner,
        )),
        Line::raw(""),
    ];
    for (i, u) in pipeline.utilities.iter().enumerate() {
        let (marker, style) = if i == pick.selected {
            ("▶ ", app.theme.gate)
        } else {
            ("  ", Style::new())
        };
        lines.push(Line::styled(
            clip(&format!("{marker}{}: {}", u.name, u.summary), inner),
            style,
        ));
        lines.push(Line::styled(
            clip(
                &format!(
                    "    writes {} · for {}",
                    u.artifacts.join(", "),
                    u.hands_to.join(", ")
                ),
                inner,
            ),
            app.theme.dim,
        ));
    }
    lines.push(Line::styled(
        clip(
            "it works in the background; the checkpoint stays open",
            inner,
        ),
        app.theme.dim,
    ));
    framed(
        lines,
        (area, width),
        " Summon a utility ",
        app.theme.border_focus,
        buf,
    );
}

impl App {
    /// Opens the picker at the open gate, or says why not.
    pub(super) fn open_summon(&mut self) {
        let count = self
            .state
            .pipeline
            .as_ref()
            .map_or(0, |p| p.utilities.len());
        match (self.gate_phase(), self.state.gate.as_ref()) {
            _ if !self.is_live() => self.notice = Some("a replay is read-only".into()),
            _ if count == 0 => {
                self.notice = Some("this pipeline declares no utility roles".into());
            }
            (Some(phase), Some(gate)) => {
                self.overlay = Some(Overlay::UtilityPick(Pick {
                    phase,
                    gate: gate.seq,
                    selected: 0,
                    count,
                }));
            }
            _ => self.notice = Some("no checkpoint is open".into()),
        }
    }

    /// Summons utility number `index` at the gate opened at `gate`, if
    /// it is still open.
    pub(super) fn summon(&mut self, index: usize, gate: u64) {
        let Some(open) = self.state.gate.as_ref().filter(|g| g.seq == gate) else {
            self.notice = Some("that checkpoint has closed: nothing was sent".into());
            return;
        };
        let phase = open.phase;
        let Some(utility) = self
            .state
            .pipeline
            .as_ref()
            .and_then(|p| p.utilities.get(index))
            .map(|u| u.id.clone())
        else {
            return;
        };
        let Some(id) = self.state.phases.get(phase).map(|p| p.id.clone()) else {
            return;
        };
        self.send(Command::Summon {
            gate,
            phase: id,
            utility,
        });
    }

    /// A utility answered: it no longer works, and the bar says so.
    pub(super) fn summon_done(&mut self, gate: u64, utility: &str) {
        if let Some(report) = self
            .state
            .phases
            .iter()
            .flat_map(|p| &p.utilities)
            .rfind(|r| r.gate == gate && r.utility == utility)
        {
            self.notice = Some(format!("⚒ {}", report.summary()));
        }
    }

    /// The card's lines for phase `index`: the utilities working at its
    /// gate, then the latest answer of each summoned there (`true` when
    /// it failed).
    pub(super) fn utility_lines(&self, phase: &PhaseState) -> Vec<(String, bool)> {
        let mut out: Vec<(String, bool)> = self
            .state
            .working()
            .into_iter()
            .filter(|(at, _)| *at == phase.id)
            .map(|(_, u)| (format!("⚒ {u}: working…"), false))
            .collect();
        out.extend(
            phase
                .latest_utilities()
                .into_iter()
                .map(|r| (format!("⚒ {}", r.summary()), !r.given())),
        );
        out
    }
}

/// What the utilities summoned at the phase's gates wrote: the artifact
/// view shows it after the text, as it shows the specialists' advice.
pub fn report_rows(phase: &PhaseState, width: usize, theme: &Theme) -> Vec<Line<'static>> {
    let reports = phase.latest_utilities();
    if reports.is_empty() {
        return Vec::new();
    }
    let mut rows = vec![
        Line::raw(""),
        Line::styled(clip("── utility reports ──", width), theme.heading),
    ];
    for report in reports {
        let head = format!(
            "⚒ {} ({}) → {}",
            report.name,
            report.summary(),
            report.hands_to.join(", ")
        );
        let style = if report.given() {
            theme.badge
        } else {
            theme.awaiting
        };
        rows.push(Line::styled(clip(&head, width), style));
        for read in &report.reads {
            rows.push(Line::styled(
                clip(&format!("  read: {read}"), width),
                theme.dim,
            ));
        }
        if report.given() {
            rows.extend(markdown::render(&report.text, width, theme).iter().cloned());
        }
    }
    rows
}
