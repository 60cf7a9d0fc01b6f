//! The handoff matrix: which artifact went from which role to which, for
//! the session on screen, and where work was sent back.
//!
//! The pipeline's `inputs` are the matrix (from, to, artifact); the folded session says how far each handoff has got: handed
//! over (which attempt, whether a person edited it) or still waiting for
//! its producer. Return paths come from the `returned` events. [`rows`] is
//! pure; [`render`] draws it as a box over the board (`m`).

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Widget};

use super::overlay::centered;
use super::text::clip;
use super::{App, Theme};
use crate::session::SessionState;

/// One handoff of the matrix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Handoff {
    pub from: String,
    pub to: String,
    pub artifact: String,
    /// How far it got: "attempt 2, edited", "waiting", …
    pub status: String,
    pub delivered: bool,
}

/// Every handoff the pipeline defines, in the order the readers run, then
/// the returns the session made.
pub fn rows(state: &SessionState) -> (Vec<Handoff>, Vec<String>) {
    let Some(pipeline) = &state.pipeline else {
        return (Vec::new(), Vec::new());
    };
    let mut handoffs = Vec::new();
    for (reader, phase) in pipeline.phases.iter().zip(&state.phases) {
        for input in &reader.inputs {
            let Some(source) = state.phases.iter().find(|p| &p.id == input) else {
                continue;
            };
            let produced = source.current().filter(|a| a.effective().is_some());
            let read = !phase.attempts.is_empty();
            let (status, delivered) = match produced {
                Some(a) if read => (
                    format!(
                        "attempt {}{}",
                        a.number,
                        if a.edited.is_some() { ", edited" } else { "" }
                    ),
                    true,
                ),
                Some(_) => ("ready".to_owned(), false),
                None => ("waiting".to_owned(), false),
            };
            handoffs.push(Handoff {
                from: source.role.clone(),
                to: phase.role.clone(),
                artifact: source.artifact_name.clone(),
                status,
                delivered,
            });
        }
    }
    let mut returns = Vec::new();
    for p in &state.phases {
        for to in p.returned.iter().map(|r| &r.to) {
            let role = state
                .phases
                .iter()
                .find(|t| &t.id == to)
                .map_or(to.as_str(), |t| t.role.as_str());
            returns.push(format!("{} ↺ {role}", p.role));
        }
    }
    (handoffs, returns)
}

/// Draws the matrix over `area`.
pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let (handoffs, returns) = rows(&app.state);
    let theme: &Theme = &app.theme;
    let from_width = column(handoffs.iter().map(|h| h.from.as_str()), 24);
    let to_width = column(handoffs.iter().map(|h| h.to.as_str()), 24);
    let artifact_width = column(handoffs.iter().map(|h| h.artifact.as_str()), 22);
    let mut lines = vec![Line::styled(
        format!(
            "  {:<from_width$}  {:<to_width$}  {:<artifact_width$}  status",
            "from", "to", "artifact"
        ),
        theme.heading,
    )];
    for h in &handoffs {
        let (mark, style) = if h.delivered {
            ("✓", theme.approved)
        } else {
            ("·", theme.dim)
        };
        lines.push(Line::from(vec![
            Span::styled(format!("{mark} "), style),
            Span::raw(format!(
                "{:<from_width$}  {:<to_width$}  ",
                clip(&h.from, from_width),
                clip(&h.to, to_width)
            )),
            Span::styled(
                format!("{:<artifact_width$}  ", clip(&h.artifact, artifact_width)),
                theme.code,
            ),
            Span::styled(h.status.clone(), style),
        ]));
    }
    if !returns.is_empty() {
        lines.push(Line::raw(""));
        lines.push(Line::styled("returned", theme.heading));
        for r in &returns {
            lines.push(Line::styled(format!("  {}", clip(r, 60)), theme.awaiting));
        }
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled("any key closes", theme.dim));
    let width = u16::try_from(from_width + to_width + artifact_width + 30)
        .unwrap_or(u16::MAX)
        .min(area.width);
    let height = u16::try_from(lines.len() + 2)
        .unwrap_or(u16::MAX)
        .min(area.height);
    let rect = centered(area, width, height);
    Clear.render(rect, buf);
    let block = Block::bordered()
        .title(Span::styled(" Handoffs ", theme.title))
        .border_style(theme.border_focus);
    let inner = block.inner(rect);
    block.render(rect, buf);
    Paragraph::new(lines).render(inner, buf);
}

/// The width of a column: its longest entry, at most `max`.
fn column<'a>(items: impl Iterator<Item = &'a str>, max: usize) -> usize {
    items
        .map(|s| s.chars().count())
        .max()
        .unwrap_or(4)
        .clamp(4, max)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::EventKind;
    use crate::session::testing::{fold, started};

    #[test]
    fn handoffs_follow_the_inputs_and_say_how_far_they_got() {
        let kinds = [
            started("r", "offline"),
            EventKind::PhaseStarted {
                phase: "summarize".into(),
                attempt: 1,
            },
            EventKind::Artifact {
                phase: "summarize".into(),
                attempt: 1,
                name: "requirements".into(),
                content: "x".into(),
            },
            EventKind::PhaseStarted {
                phase: "plan".into(),
                attempt: 1,
            },
        ];
        let (handoffs, returns) = rows(&fold(kinds));
        assert_eq!(
            handoffs[0],
            Handoff {
                from: "Business Analyst".into(),
                to: "Solution Architect".into(),
                artifact: "requirements".into(),
                status: "attempt 1".into(),
                delivered: true,
            }
        );
        let waiting = handoffs
            .iter()
            .find(|h| h.artifact == "plan")
            .expect("plan handoff");
        assert_eq!(
            (waiting.status.as_str(), waiting.delivered),
            ("waiting", false)
        );
        let ready = handoffs
            .iter()
            .find(|h| h.artifact == "requirements" && h.to == "Senior Backend Developer")
            .expect("requirements to the developer");
        assert_eq!(ready.status, "ready");
        assert!(returns.is_empty());
    }
}
