//! The handoff matrix: which output goes from which role to which, for
//! the session on screen, and where work is sent back.
//!
//! The rows are what the pipeline declares, nothing more: each named input
//! of a phase (from, to, output; an input naming a whole phase is a row per
//! output of it), each utility's artifacts to the phases it hands them to,
//! and each `returns_to` path. The folded session says how far each has
//! got: handed over (which attempt, whether a person edited it), missing
//! from the answer, or still waiting; a utility summoned or not; a return
//! path taken how often. A return a person made elsewhere is listed under
//! the declared ones. [`rows`] is pure; [`render`] draws it as a box over
//! the board (`m`).

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Widget};

use super::overlay::centered;
use super::text::clip;
use super::{App, Theme};
use crate::pipeline::Pipeline;
use crate::session::{PhaseState, SessionState};

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

/// Every handoff the pipeline declares, in the order the readers run,
/// then the utilities' (in the order they are declared), then the return
/// paths: declared ones with how often they were taken, and returns a
/// person made elsewhere.
pub fn rows(state: &SessionState) -> (Vec<Handoff>, Vec<String>) {
    let Some(pipeline) = &state.pipeline else {
        return (Vec::new(), Vec::new());
    };
    let mut handoffs = Vec::new();
    for (index, reader) in state.phases.iter().enumerate() {
        for (source, names) in pipeline.reads(index) {
            let Some(from) = state.phases.get(source) else {
                continue;
            };
            let sections = state.section_names(source);
            for name in names {
                let (status, delivered) = progress(from, &sections, reader, name);
                handoffs.push(Handoff {
                    from: from.role.clone(),
                    to: reader.role.clone(),
                    artifact: name.to_owned(),
                    status,
                    delivered,
                });
            }
        }
    }
    handoffs.extend(utility_rows(state, pipeline));
    (handoffs, returns(state, pipeline))
}

/// How far output `name` of `from` (whose answer is split into
/// `sections`) has got to `reader`; missing as a person's edit left it.
fn progress(
    from: &PhaseState,
    sections: &[&str],
    reader: &PhaseState,
    name: &str,
) -> (String, bool) {
    let produced = from.current().filter(|a| a.effective().is_some());
    let read = !reader.attempts.is_empty();
    let missing = |a: &crate::session::Attempt| {
        sections.contains(&name) && a.sections(sections).missing.iter().any(|m| m == name)
    };
    match produced {
        Some(a) if missing(a) => ("missing".to_owned(), false),
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
    }
}

/// Each utility's artifacts to each phase it hands them to: summoned
/// (at which phase's gate, the latest) or not yet.
fn utility_rows(state: &SessionState, pipeline: &Pipeline) -> Vec<Handoff> {
    let mut rows = Vec::new();
    for utility in &pipeline.utilities {
        let summoned = state
            .phases
            .iter()
            .flat_map(|p| &p.utilities)
            .filter(|r| r.utility == utility.id && r.given())
            .max_by_key(|r| r.seq);
        for to in &utility.hands_to {
            let Some(reader) = state.phases.iter().find(|p| &p.id == to) else {
                continue;
            };
            for artifact in &utility.artifacts {
                rows.push(Handoff {
                    from: utility.name.clone(),
                    to: reader.role.clone(),
                    artifact: artifact.clone(),
                    status: summoned.map_or_else(
                        || "not summoned".to_owned(),
                        |r| format!("summoned at {}", r.phase),
                    ),
                    delivered: summoned.is_some(),
                });
            }
        }
    }
    rows
}

/// The declared return paths, each with how often work went back along
/// it, then the returns a person made to a phase no path declares.
fn returns(state: &SessionState, pipeline: &Pipeline) -> Vec<String> {
    let role = |id: &str| {
        state
            .phases
            .iter()
            .find(|t| t.id == id)
            .map_or(id.to_owned(), |t| t.role.clone())
    };
    let mut lines = Vec::new();
    for (declared, from) in pipeline.phases.iter().zip(&state.phases) {
        let Some(to) = &declared.returns_to else {
            continue;
        };
        let taken = from.returned.iter().filter(|r| &r.to == to).count();
        lines.push(format!(
            "{} ↺ {}  {}",
            from.role,
            role(to),
            match taken {
                0 => "when its verdict fails".to_owned(),
                n => format!("returned {n}×"),
            }
        ));
    }
    for (declared, from) in pipeline.phases.iter().zip(&state.phases) {
        for r in from
            .returned
            .iter()
            .filter(|r| declared.returns_to.as_ref() != Some(&r.to))
        {
            lines.push(format!(
                "{} ↺ {}  returned by a person",
                from.role,
                role(&r.to)
            ));
        }
    }
    lines
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
        lines.push(Line::styled("return paths", theme.heading));
        for r in &returns {
            lines.push(Line::styled(format!("  {}", clip(r, 60)), theme.awaiting));
        }
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled("any key closes", theme.dim));
    let status_width = column(handoffs.iter().map(|h| h.status.as_str()), 32).max(20);
    let width = u16::try_from(from_width + to_width + artifact_width + status_width + 12)
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
                outputs: Vec::new(),
                missing: Vec::new(),
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
        // The declared return path, not taken yet.
        assert_eq!(
            returns,
            ["QA Engineer ↺ Senior Backend Developer  when its verdict fails"]
        );
    }
    #[test]
    fn an_edit_still_missing_a_section_shows_it_missing() {
        use crate::formats::sections::Section;
        use crate::session::Attempt;
        let phase = |edited: &str| PhaseState {
            attempts: vec![Attempt {
                number: 1,
                artifact: Some("## a\nA.\n".into()),
                edited: Some(edited.into()),
                outputs: vec![Section {
                    name: "a".into(),
                    content: "A.".into(),
                }],
                missing: vec!["b".into()],
                ..Attempt::default()
            }],
            ..PhaseState::default()
        };
        let reader = PhaseState::default();
        let status = |from: &PhaseState, name| progress(from, &["a", "b"], &reader, name).0;
        let still = phase("## a\nA, edited.\n");
        assert_eq!(status(&still, "b"), "missing");
        assert_eq!(status(&still, "a"), "ready");
        let written = phase("## a\nA.\n## b\nB.\n");
        assert_eq!(status(&written, "b"), "ready");
    }
}
