//! One phase's text full-screen: the artifact (any attempt, with search)
//! and the diff against the agent's draft or the previous attempt.
//!
//! The artifact is laid out as Markdown with the phase's decisions after it
//! ([`App::artifact_rows`]); layouts and diffs are kept between frames in
//! [`super::rows::RowCache`], since both cost time in proportion to the
//! text. A search typed in the search line (`App::search_for`) scrolls to
//! the first row that holds it and marks every match; `n` and `N` move
//! between them. Every session string goes through the sanitizer.

use std::borrow::Cow;
use std::sync::Arc;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Widget};

use super::act::SessionAct;
use super::app::{App, DiffBase, Screen};
use super::diff::diff_lines;
use super::markdown;
use super::rows::RowsKey;
use super::text::{self, clip, safe, wrap};
use super::theme::Theme;
use super::view::Geometry;
use crate::session::{Action, Attempt, PhaseState};

/// Highlights every occurrence of `query` (any case) in a row.
pub(super) fn highlight(line: Line<'static>, query: &str, style: Style) -> Line<'static> {
    let text: String = line.spans.iter().map(|s| s.content.as_ref()).collect();
    let lower = text.to_lowercase();
    let needle = query.to_lowercase();
    // Offsets in the lowercased text must be offsets in the text: every
    // character must keep its length (not so for `İ` or the Kelvin sign).
    let same_lengths = text
        .chars()
        .all(|c| c.to_lowercase().map(char::len_utf8).sum::<usize>() == c.len_utf8());
    if needle.is_empty() || !same_lengths || !lower.contains(&needle) {
        return line;
    }
    let mut spans = Vec::new();
    let mut offset = 0;
    for span in line.spans {
        let content = span.content.to_string();
        let end = offset + content.len();
        let mut cut = 0;
        let mut search_from = offset;
        while let Some(found) = lower[search_from..end].find(&needle) {
            let start = search_from + found - offset;
            let stop = (start + needle.len()).min(content.len());
            spans.push(Span::styled(content[cut..start].to_owned(), span.style));
            spans.push(Span::styled(content[start..stop].to_owned(), style));
            cut = stop;
            search_from = offset + stop;
            if search_from >= end {
                break;
            }
        }
        spans.push(Span::styled(content[cut..].to_owned(), span.style));
        offset = end;
    }
    Line::from(spans)
}

/// Draws one phase's artifact full-screen: `attempt` indexes its attempts,
/// `None` for the latest; the search's matches are marked.
#[derive(Clone, Copy, Debug)]
pub struct ArtifactView<'a> {
    pub app: &'a App,
    pub phase: usize,
    pub attempt: Option<usize>,
}

impl Widget for ArtifactView<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        artifact(self.app, self.phase, self.attempt, area, buf);
    }
}

/// Draws the diff of one phase's text against `base`.
#[derive(Clone, Copy, Debug)]
pub struct DiffView<'a> {
    pub app: &'a App,
    pub phase: usize,
    pub base: DiffBase,
}

impl Widget for DiffView<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        diff(self.app, self.phase, self.base, area, buf);
    }
}

fn artifact(app: &App, index: usize, attempt: Option<usize>, area: Rect, buf: &mut Buffer) {
    let Some(phase) = app.state.phases.get(index) else {
        return;
    };
    let count = phase.attempts.len();
    let shown = attempt.unwrap_or(count.saturating_sub(1));
    let edited = phase
        .attempts
        .get(shown)
        .is_some_and(|a| a.edited.is_some());
    let number = phase.attempts.get(shown).map_or(0, |a| a.number);
    // An earlier attempt is titled with how it ended, not with where the
    // phase stands now.
    let (which, status) = if attempt.is_some() {
        (
            format!("attempt {number} of {count} (earlier)"),
            phase
                .attempts
                .get(shown)
                .and_then(|a| super::card::ended(app, a))
                .unwrap_or_else(|| "ended".to_owned()),
        )
    } else {
        (
            format!("attempt {number}"),
            phase.status.as_str().replace('_', " "),
        )
    };
    let title = format!(
        " {} · {} · {which} · {status}{} ",
        phase.artifact_name,
        phase.role,
        if edited { " · edited" } else { "" }
    );
    let block = Block::bordered()
        .border_style(app.theme.border_focus)
        .title(Span::styled(safe(&title), app.theme.title));
    let inner = block.inner(area);
    block.render(area, buf);
    let rows = app.artifact_rows(usize::from(inner.width));
    let lines: Vec<Line<'static>> = rows
        .iter()
        .skip(app.scroll)
        .take(usize::from(inner.height))
        .cloned()
        .map(|l| match &app.search {
            Some(q) => highlight(l, q, app.theme.search_match),
            None => l,
        })
        .collect();
    Paragraph::new(lines).render(inner, buf);
}

/// The two texts a diff compares, with their labels.
fn diff_sides(phase: &PhaseState, base: DiffBase) -> Option<(String, &str, String, &str)> {
    let current = phase.current()?;
    let new = current.effective()?;
    match base {
        DiffBase::Draft => Some((
            format!("attempt {} as the agent wrote it", current.number),
            current.artifact.as_deref()?,
            format!("attempt {} as edited", current.number),
            new,
        )),
        DiffBase::PreviousAttempt => {
            let previous = phase.attempts.iter().rev().nth(1)?;
            Some((
                format!("attempt {}", previous.number),
                previous.effective()?,
                format!("attempt {}", current.number),
                new,
            ))
        }
    }
}

/// The rows of a diff as drawn (also used for scroll limits).
/// Kept between frames: diffing two artifacts is work in proportion to
/// their length, and they do not change while the diff is open.
pub fn diff_rows(
    app: &App,
    phase: usize,
    base: DiffBase,
    width: usize,
) -> std::sync::Arc<[Line<'static>]> {
    let Some(state) = app.state.phases.get(phase) else {
        return vec![Line::styled("nothing to compare", app.theme.dim)].into();
    };
    let Some((old_label, old, new_label, new)) = diff_sides(state, base) else {
        return vec![Line::styled("nothing to compare", app.theme.dim)].into();
    };
    let key = RowsKey {
        phase,
        attempt: state.attempts.len(),
        text: match base {
            DiffBase::Draft => 3,
            DiffBase::PreviousAttempt => 4,
        },
        len: new.len() + old.len(),
        decisions: state.decisions.len(),
        advice: 0,
        utilities: 0,
        width,
        with_decisions: false,
    };
    app.rows.get(key, || {
        lay_out_diff(app, (&old_label, old), (&new_label, new), width)
    })
}

fn lay_out_diff(
    app: &App,
    (old_label, old): (&str, &str),
    (new_label, new): (&str, &str),
    width: usize,
) -> Vec<Line<'static>> {
    let (mut lines, stat) = diff_lines(old, new, width, &app.theme);
    lines.insert(
        0,
        Line::styled(
            clip(
                &format!(
                    "{old_label} → {new_label}: +{} −{} lines",
                    stat.added, stat.removed
                ),
                width,
            ),
            app.theme.heading,
        ),
    );
    lines
}

fn diff(app: &App, phase: usize, base: DiffBase, area: Rect, buf: &mut Buffer) {
    let Some(state) = app.state.phases.get(phase) else {
        return;
    };
    let block = Block::bordered()
        .border_style(app.theme.border_focus)
        .title(Span::styled(
            safe(&format!(
                " diff · {} · {} ",
                state.artifact_name, state.role
            )),
            app.theme.title,
        ));
    let inner = block.inner(area);
    block.render(area, buf);
    let lines: Vec<Line<'static>> = diff_rows(app, phase, base, usize::from(inner.width))
        .iter()
        .skip(app.scroll)
        .take(usize::from(inner.height))
        .cloned()
        .collect();
    Paragraph::new(lines).render(inner, buf);
}

impl App {
    /// The acts an artifact or a diff takes while it is on show: left and
    /// right show the next phase's, `[` and `]` step through its attempts,
    /// `Tab` opens its change, and `Esc` goes from a diff opened here back
    /// to the artifact. Whether `act` was one of them.
    pub(super) fn artifact_act(&mut self, act: SessionAct) -> bool {
        if act == SessionAct::Left || act == SessionAct::Right {
            self.step_phase(act);
        } else if act == SessionAct::PrevAttempt || act == SessionAct::NextAttempt {
            self.step_attempt(act == SessionAct::NextAttempt);
        } else if act == SessionAct::Changes {
            self.show_changes();
        } else if let (
            SessionAct::Back,
            None,
            Screen::Diff {
                phase,
                from_board: false,
                ..
            },
        ) = (act, &self.search, self.screen)
        {
            self.screen = Screen::Artifact {
                phase,
                attempt: None,
            };
            self.scroll = 0;
        } else {
            return false;
        }
        true
    }

    pub(super) fn open_diff(&mut self) {
        let phase = self.shown_phase();
        let Some(state) = self.state.phases.get(phase) else {
            return;
        };
        let (current, from_board) = match self.screen {
            Screen::Diff {
                base, from_board, ..
            } => (Some(base), from_board),
            Screen::Board => (None, true),
            Screen::Artifact { .. } | Screen::Changes { .. } => (None, false),
        };
        match diff_base(state, current) {
            Some(base) => {
                self.screen = Screen::Diff {
                    phase,
                    base,
                    from_board,
                };
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
    /// frames in [`super::rows::RowCache`].
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
            }) => (2, Cow::Borrowed(text.as_str())),
            Some(Attempt {
                artifact: Some(text),
                ..
            }) => (1, Cow::Borrowed(text.as_str())),
            // Still streaming: what the log has and what came since.
            Some(a) => (0, self.streamed.shown(&a.output, &state.id, a.number, None)),
            None => (0, Cow::Borrowed("")),
        };
        let key = RowsKey {
            phase,
            attempt,
            text: kind,
            len: text.len(),
            decisions: state.decisions.len(),
            advice: state.advice.len(),
            utilities: state.utilities.len(),
            width,
            with_decisions,
        };
        self.rows.get(key, || {
            let shown = chosen.map(|a| match a.effective() {
                Some(_) => text::shown(&self.state, phase, a),
                None => Cow::Borrowed(text.as_ref()),
            });
            let mut rows = markdown::render(shown.as_deref().unwrap_or(""), width, &self.theme);
            if with_decisions {
                if let Some(a) = chosen {
                    rows.extend(advice_rows(state, a.number, width, &self.theme));
                }
                rows.extend(super::summon::report_rows(state, width, &self.theme));
                rows.extend(decision_rows(state, width, &self.theme));
            }
            rows
        })
    }

    /// Scrolls to the next (or previous) row holding the search text.
    pub(super) fn jump_to_match(&mut self, forward: bool, from_here: bool) {
        let Some(query) = self.search.as_ref().map(|q| q.to_lowercase()) else {
            return;
        };
        let width = Geometry::of(self, self.size).text_width;
        let holds = |(i, l): (usize, &Line<'static>)| {
            l.spans
                .iter()
                .map(|s| s.content.as_ref())
                .collect::<String>()
                .to_lowercase()
                .contains(&query)
                .then_some(i)
        };
        // The Changes view searches its diff, and its cursor goes along.
        let in_changes = matches!(self.screen, Screen::Changes { .. });
        let rows: Vec<usize> = if in_changes {
            self.changes_rows()
                .lines
                .iter()
                .enumerate()
                .filter_map(holds)
                .collect()
        } else {
            self.artifact_rows(width)
                .iter()
                .enumerate()
                .filter_map(holds)
                .collect()
        };
        let here = if in_changes {
            self.changes.cursor
        } else {
            self.scroll
        };
        let found = if forward {
            rows.iter()
                .copied()
                .find(|r| if from_here { *r >= here } else { *r > here })
        } else {
            rows.iter().rev().copied().find(|r| *r < here)
        };
        match found.or_else(|| {
            if forward {
                rows.first().copied()
            } else {
                rows.last().copied()
            }
        }) {
            Some(row) => {
                self.scroll = row;
                if in_changes {
                    self.changes.cursor = row;
                }
                let at = rows.iter().position(|r| *r == row).unwrap_or(0) + 1;
                self.notice = Some(format!(
                    "“{}”: {at}/{} rows",
                    self.search.as_deref().unwrap_or(""),
                    rows.len()
                ));
            }
            None => {
                self.notice = Some(format!(
                    "no match for “{}”",
                    self.search.as_deref().unwrap_or("")
                ));
            }
        }
    }

    /// Searches the open artifact for `query` (none when it is empty) and
    /// scrolls to the first match from here.
    pub(super) fn search_for(&mut self, query: String) {
        if query.is_empty() {
            self.search = None;
        } else {
            self.search = Some(query);
            self.jump_to_match(true, true);
        }
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

/// What the specialists told attempt `number`'s role
/// ([`PhaseState::advice_for`]): each one's points, or why it gave none.
/// The artifact view shows them after the text.
fn advice_rows(
    phase: &PhaseState,
    number: u32,
    width: usize,
    theme: &Theme,
) -> Vec<ratatui::text::Line<'static>> {
    use ratatui::text::Line;
    let latest = phase.advice_for(number);
    if latest.is_empty() {
        return Vec::new();
    }
    let mut rows = vec![
        Line::raw(""),
        Line::styled(clip("── specialist advice ──", width), theme.heading),
    ];
    for advice in latest {
        let head = format!(
            "✦ {} (“{}”): {}",
            advice.specialist,
            advice.keyword,
            advice.summary()
        );
        let style = if advice.given() {
            theme.badge
        } else {
            theme.awaiting
        };
        rows.push(Line::styled(clip(&head, width), style));
        if advice.given() {
            rows.extend(markdown::render(&advice.text, width, theme).iter().cloned());
        }
    }
    rows
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
        Line::styled(clip("── decisions ──", width), theme.heading),
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
            Action::Approve | Action::ApproveWithNotes | Action::Reject | Action::Abort => d
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
        for row in wrap(&line, width) {
            rows.push(Line::styled(row, theme.dim));
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::style::Modifier;

    /// The artifact view shows, after the text, what each consulted
    /// specialist told the role, and a consult that gave nothing.
    #[test]
    fn the_artifact_view_shows_the_advice_the_role_was_given() {
        use crate::session::EventKind;
        use crate::session::testing::{numbered, started};
        let kinds = [
            started("Add a GraphQL API for orders", "offline"),
            EventKind::PhaseStarted {
                phase: "summarize".into(),
                attempt: 1,
            },
            EventKind::Advice {
                phase: "summarize".into(),
                attempt: 1,
                specialist: "graphql".into(),
                keyword: "graphql".into(),
                text: "- Batch lookups with a DataLoader\n- Limit query depth\n".into(),
                error: None,
                read: None,
            },
            EventKind::Advice {
                phase: "summarize".into(),
                attempt: 1,
                specialist: "security".into(),
                keyword: "auth".into(),
                text: String::new(),
                error: Some("the server answered 500".into()),
                read: None,
            },
            EventKind::Artifact {
                outputs: Vec::new(),
                missing: Vec::new(),
                phase: "summarize".into(),
                attempt: 1,
                name: "requirements".into(),
                content: "# Requirements\n".into(),
            },
        ];
        let mut app = App::new(super::super::app::Source::Live(None), Theme::mono());
        for event in numbered(kinds) {
            app.on_update(crate::protocol::Update::Event(event));
        }
        app.show(Screen::Artifact {
            phase: 0,
            attempt: None,
        });
        let text: Vec<String> = app
            .artifact_rows(80)
            .iter()
            .map(ToString::to_string)
            .collect();
        let at = text
            .iter()
            .position(|l| l == "── specialist advice ──")
            .unwrap_or_else(|| panic!("{text:?}"));
        assert!(
            text[at + 1].starts_with("✦ graphql (“graphql”): 2 points"),
            "{text:?}"
        );
        assert!(
            text[at + 2..]
                .iter()
                .any(|l| l.contains("Batch lookups with a DataLoader"))
        );
        assert!(
            text.iter().any(|l| l.starts_with("✦ security (“auth”): ")),
            "{text:?}"
        );
    }

    #[test]
    fn search_highlights_any_case_and_never_cuts_a_character() {
        let marked = Style::new().add_modifier(Modifier::REVERSED);
        let line = highlight(Line::from("Rate LIMIT and limit"), "limit", marked);
        let hits: Vec<&str> = line
            .spans
            .iter()
            .filter(|s| s.style == marked)
            .map(|s| s.content.as_ref())
            .collect();
        assert_eq!(hits, ["LIMIT", "limit"]);
        // Lowercasing `İ` and the Kelvin sign changes their length: the
        // row is left as it is rather than sliced inside a character.
        let tricky = Line::from("İİxK");
        assert_eq!(highlight(tricky.clone(), "x", marked), tricky);
    }
}
