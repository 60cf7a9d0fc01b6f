//! The stats view: the metrics `handoff stats` counts, as charts.
//!
//! One screen, pure rendering over a [`Stats`]: a header with the sessions
//! by status, bar charts of each phase's completion rate and retries and of
//! each role's interventions, and sparklines of time to finish, tokens and
//! interventions per session, oldest on the left. Its keys are the
//! keymap's `stats` context: `q` or `Esc` leaves, `r` counts again from the
//! sessions folder. Counting reads every log, so it
//! runs off the UI task; the screen says so meanwhile and keeps answering.
//! [`StatsScreen`] is the view as a component (the count, the one under
//! way, its keys), on its own ([`show`]) or opened from the start screen.
//! Nothing here takes text: a paste is ignored, and the footer says so.

use std::io;

use crossterm::event::{Event as TermEvent, KeyEvent, KeyEventKind};
use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Bar, BarChart, Block, Paragraph, Sparkline, Widget};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::Theme;
use super::chrome::hint_spans;
use super::keymap::{Context, Keymap, context_acts};
use super::terminal::{Modes, Step, View};
use super::text::{clip, safe};
use crate::stats::Stats;

/// The stats screen over one count of the sessions.
#[derive(Debug)]
pub struct StatsView<'a> {
    pub stats: &'a Stats,
    /// A count is under way (the first, or one asked for again).
    pub counting: bool,
    pub theme: &'a Theme,
    /// Whose `stats` keys the footer names.
    pub keymap: &'a Keymap,
}

#[expect(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "small, non-negative figures"
)]
fn whole(x: f64) -> u64 {
    x.round().max(0.0) as u64
}

impl StatsView<'_> {
    fn block<'b>(&self, title: &'b str) -> Block<'b> {
        Block::bordered()
            .border_style(self.theme.border)
            .title(Span::styled(title, self.theme.title))
    }

    fn header(&self) -> Vec<Line<'static>> {
        let s = self.stats;
        let b = &s.by_status;
        let t = &s.time_to_finish;
        let seconds = |x: Option<f64>| x.map_or_else(|| "-".to_owned(), |x| format!("{x:.0}s"));
        let cost = s
            .cost
            .usd
            .map_or_else(String::new, |usd| format!(" · ${usd:.4}"));
        let count = if self.counting {
            "counting sessions…".to_owned()
        } else {
            format!(
                "{} session{}",
                s.sessions,
                if s.sessions == 1 { "" } else { "s" }
            )
        };
        let mut lines = vec![
            Line::from(vec![
                Span::styled(count, self.theme.heading),
                Span::styled(format!("  in {}", safe(&s.sessions_dir)), self.theme.dim),
            ]),
            Line::from(vec![
                Span::styled(format!("finished {}", b.finished), self.theme.approved),
                Span::raw(" · "),
                Span::styled(format!("awaiting {}", b.awaiting_gate), self.theme.awaiting),
                Span::raw(" · "),
                Span::styled(format!("failed {}", b.failed), self.theme.failed),
                Span::raw(" · "),
                Span::styled(format!("interrupted {}", b.interrupted), self.theme.dim),
                Span::raw(" · "),
                Span::styled(format!("running {}", b.running), self.theme.running),
            ]),
            Line::from(format!(
                "request to finish: median {} · mean {} · max {} ({} completed) · {} tokens{cost}",
                seconds(t.median_seconds),
                seconds(t.mean_seconds),
                seconds(t.max_seconds),
                t.sessions,
                s.usage.total(),
            )),
        ];
        let d = &s.delivery;
        let percent =
            |r: Option<f64>| r.map_or_else(|| "-".to_owned(), |r| format!("{:.0}%", r * 100.0));
        lines.push(Line::from(format!(
            "delivered {} (to commit {}) · QA 1st pass {}/{} ({}) · returns {} · tests {} written, {}/{} runs ok",
            d.committed,
            seconds(d.time_to_commit.median_seconds),
            d.qa_first_pass,
            d.qa_sessions,
            percent(d.qa_first_pass_rate),
            d.returns,
            d.test_files_written,
            d.test_runs_passed,
            d.test_runs,
        )));
        if !s.unreadable.is_empty() {
            lines.push(Line::styled(
                format!(
                    "{} unreadable: `handoff stats` names them",
                    s.unreadable.len()
                ),
                self.theme.failed,
            ));
        }
        lines
    }

    fn phases(&self, area: Rect, buf: &mut Buffer) {
        let width = bar_width(area.width, self.stats.phases.len());
        let bars: Vec<Bar> = self
            .stats
            .phases
            .iter()
            .map(|p| {
                let rate = p.completion_rate.map_or(0, |r| whole(r * 100.0));
                Bar::new(rate)
                    .label(Line::from(clip(&p.id, usize::from(width))))
                    .text_value(format!("{rate}%"))
                    .style(self.theme.approved)
            })
            .collect();
        BarChart::vertical(bars)
            .block(self.block(" completion by phase "))
            .max(100)
            .bar_width(width)
            .bar_gap(1)
            .value_style(self.theme.selection)
            .label_style(self.theme.dim)
            .render(area, buf);
    }

    /// One line per role: a bar scaled to the busiest role, the count, and
    /// what the interventions were.
    fn roles(&self, area: Rect, buf: &mut Buffer) {
        let roles = &self.stats.roles;
        let block = self.block(" interventions by role ");
        let inner = block.inner(area);
        block.render(area, buf);
        let name = roles
            .iter()
            .map(|r| r.role.chars().count())
            .max()
            .unwrap_or(0)
            .min(usize::from(inner.width) / 3)
            .max(4);
        let most = roles
            .iter()
            .map(|r| r.interventions)
            .max()
            .unwrap_or(0)
            .max(1);
        // name, space, bar, space, count and what (about 18 columns).
        let room = usize::from(inner.width).saturating_sub(name + 20).max(1);
        let lines: Vec<Line> = roles
            .iter()
            .map(|r| {
                let c = r.decisions;
                let length = usize::try_from(r.interventions * room as u64 / most).unwrap_or(room);
                Line::from(vec![
                    Span::styled(format!("{:<name$} ", clip(&r.role, name)), self.theme.dim),
                    Span::styled(
                        format!("{:<room$}", "█".repeat(length)),
                        self.theme.awaiting,
                    ),
                    Span::styled(format!(" {:>3}", r.interventions), self.theme.heading),
                    Span::styled(
                        format!(
                            " e{} r{} b{} n{}",
                            c.edit, c.reject, c.returned, c.approve_with_notes
                        ),
                        self.theme.dim,
                    ),
                ])
            })
            .collect();
        Paragraph::new(lines).render(inner, buf);
    }

    fn trend(&self, area: Rect, buf: &mut Buffer, title: &str, values: &[Option<u64>]) {
        let last = values.iter().rev().flatten().next();
        let title = match last {
            Some(v) => format!(" {title} · last {v} "),
            None => format!(" {title} "),
        };
        // The newest sessions when there are more than columns.
        let inner = usize::from(area.width.saturating_sub(2));
        let shown = &values[values.len().saturating_sub(inner)..];
        Sparkline::default()
            .block(self.block(&title))
            .data(shown.iter().copied())
            .style(self.theme.running)
            .absent_value_symbol("·")
            .absent_value_style(self.theme.dim)
            .render(area, buf);
    }
}

/// How wide each of `count` bars can be across `width` columns.
fn bar_width(width: u16, count: usize) -> u16 {
    let count = u16::try_from(count.max(1)).unwrap_or(u16::MAX);
    (width.saturating_sub(2) / count)
        .saturating_sub(1)
        .clamp(3, 12)
}

impl Widget for &StatsView<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let header = self.header();
        let [top, charts, trends, footer] = Layout::vertical([
            Constraint::Length(u16::try_from(header.len()).unwrap_or(4)),
            Constraint::Min(8),
            Constraint::Length(5),
            Constraint::Length(1),
        ])
        .areas(area);
        Paragraph::new(header).render(top, buf);

        if self.stats.phases.is_empty() {
            let empty = if self.counting {
                "Reading every session log…"
            } else {
                "No sessions yet: `handoff run \"…\"` starts one."
            };
            Paragraph::new(empty)
                .style(self.theme.dim)
                .block(self.block(" phases "))
                .render(charts, buf);
        } else {
            let [left, right] =
                Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)])
                    .areas(charts);
            self.phases(left, buf);
            self.roles(right, buf);
        }

        let timeline = &self.stats.timeline;
        let finish: Vec<Option<u64>> = timeline
            .iter()
            .map(|p| p.seconds_to_finish.map(whole))
            .collect();
        let tokens: Vec<Option<u64>> = timeline.iter().map(|p| Some(p.tokens)).collect();
        let interventions: Vec<Option<u64>> =
            timeline.iter().map(|p| Some(p.interventions)).collect();
        let [a, b, c] = Layout::horizontal([Constraint::Ratio(1, 3); 3]).areas(trends);
        self.trend(a, buf, "seconds to finish", &finish);
        self.trend(b, buf, "tokens", &tokens);
        self.trend(c, buf, "interventions", &interventions);

        // The legend is of the letters in the interventions chart.
        let mut footer_spans: Vec<Span> = self
            .keymap
            .hints(Context::Stats)
            .flat_map(|(key, hint, _)| hint_spans(self.theme, key, hint))
            .collect();
        footer_spans.push(Span::styled(
            " · e edits, r rejects, b returns, n notes",
            self.theme.dim,
        ));
        Paragraph::new(Line::from(footer_spans))
            .style(self.theme.status_bar)
            .render(footer, buf);
    }
}

/// The stats view with its state: the count on screen, the one under way
/// and how to count again.
#[derive(Debug)]
pub struct StatsScreen<F> {
    stats: Stats,
    counting: Option<JoinHandle<Stats>>,
    count: F,
    theme: Theme,
    keymap: Keymap,
    /// A paste came in: the footer says it was ignored until the next key.
    pasted: bool,
}

/// What the footer says after a paste.
const PASTE_IGNORED: &str = " ! pasted text is ignored here: no text box is open";

impl<F> Widget for &StatsScreen<F> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        StatsView {
            stats: &self.stats,
            counting: self.counting.is_some(),
            theme: &self.theme,
            keymap: &self.keymap,
        }
        .render(area, buf);
        if self.pasted && area.height > 0 {
            let footer = Rect {
                y: area.bottom() - 1,
                height: 1,
                ..area
            };
            Paragraph::new(PASTE_IGNORED)
                .style(self.theme.notice)
                .render(footer, buf);
        }
    }
}

impl<F> StatsScreen<F>
where
    F: Fn() -> Stats + Clone + Send + 'static,
{
    /// The stats of the sessions in `dir`, counted at once by `count`, on a
    /// thread of its own.
    pub fn new(theme: Theme, keymap: Keymap, dir: &str, count: F) -> Self {
        let counting = Some(tokio::task::spawn_blocking(count.clone()));
        Self {
            stats: Stats {
                sessions_dir: dir.to_owned(),
                ..Stats::default()
            },
            counting,
            count,
            theme,
            keymap,
            pasted: false,
        }
    }

    /// Takes a paste: nothing here takes text, so it runs nothing and the
    /// footer says so.
    pub fn on_paste(&mut self) {
        self.pasted = true;
    }

    /// The widget that draws the screen.
    pub fn view(&self) -> StatsView<'_> {
        StatsView {
            stats: &self.stats,
            counting: self.counting.is_some(),
            theme: &self.theme,
            keymap: &self.keymap,
        }
    }

    /// Takes one key (the keymap's `stats` context): back closes the
    /// view, refresh counts again unless a count is under way.
    pub fn on_key(&mut self, key: &KeyEvent) -> Step<()> {
        // A key clears the paste's notice: the screen changes then.
        let pasted = std::mem::take(&mut self.pasted);
        match self.keymap.act_in(Context::Stats, key) {
            Some(StatsAct::Back) => Step::Done(()),
            Some(StatsAct::Refresh) if self.counting.is_none() => {
                self.counting = Some(tokio::task::spawn_blocking(self.count.clone()));
                Step::Answered
            }
            Some(StatsAct::Refresh) | None if pasted => Step::Answered,
            Some(StatsAct::Refresh) | None => Step::Quiet,
        }
    }

    /// Waits for the count under way and shows it; never resolves while
    /// none is.
    pub async fn counted(&mut self) -> io::Result<()> {
        let Some(counting) = &mut self.counting else {
            return std::future::pending().await;
        };
        let counted = counting.await;
        self.counting = None;
        match counted {
            Ok(counted) => {
                self.stats = counted;
                Ok(())
            }
            Err(e) => Err(io::Error::other(format!(
                "counting the sessions failed: {e}"
            ))),
        }
    }
}

impl<F> View for StatsScreen<F>
where
    F: Fn() -> Stats + Clone + Send + 'static,
{
    type Done = ();

    fn draw(&self, frame: &mut Frame) {
        frame.render_widget(self, frame.area());
    }

    fn on_input(&mut self, event: TermEvent) -> io::Result<Step<()>> {
        Ok(match event {
            TermEvent::Key(key) if key.kind != KeyEventKind::Release => self.on_key(&key),
            TermEvent::Paste(_) => {
                self.on_paste();
                Step::Answered
            }
            TermEvent::Resize(..) => Step::Answered,
            TermEvent::Key(_)
            | TermEvent::Mouse(_)
            | TermEvent::FocusGained
            | TermEvent::FocusLost => Step::Quiet,
        })
    }

    async fn next(&mut self, _now: Instant) -> io::Result<Step<()>> {
        self.counted().await?;
        Ok(Step::Changed)
    }

    fn on_input_end(&mut self) {}
}

context_acts! {
    /// The stats view's keys.
    enum StatsAct {
        Back,
        Refresh,
    }
}

/// Shows the stats of the sessions in `dir` until the user leaves; `count`
/// counts them afresh, on a thread of its own.
pub async fn show<F>(
    tty: &mut super::Tty,
    theme: &Theme,
    keymap: Keymap,
    dir: &str,
    count: F,
) -> io::Result<()>
where
    F: Fn() -> Stats + Clone + Send + 'static,
{
    let mut screen = StatsScreen::new(theme.clone(), keymap, dir, count);
    super::terminal::run(tty, &mut screen, Modes::default()).await
}

#[cfg(test)]
mod tests {
    use crossterm::event::{KeyCode, KeyModifiers};
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    use super::*;

    fn screen(stats: &Stats, counting: bool) -> String {
        let theme = Theme::mono();
        let keymap = Keymap::default();
        let view = StatsView {
            stats,
            counting,
            theme: &theme,
            keymap: &keymap,
        };
        let mut terminal = Terminal::new(TestBackend::new(90, 24)).expect("terminal");
        terminal
            .draw(|f| f.render_widget(&view, f.area()))
            .expect("draw");
        terminal.backend().to_string()
    }

    #[test]
    fn while_counting_the_screen_says_so_instead_of_claiming_no_sessions() {
        let empty = Stats {
            sessions_dir: "/tmp/sessions".into(),
            ..Stats::default()
        };
        let counting = screen(&empty, true);
        assert!(counting.contains("counting sessions…"), "{counting}");
        assert!(
            counting.contains("Reading every session log…"),
            "{counting}"
        );
        assert!(!counting.contains("No sessions yet"), "{counting}");
        let counted = screen(&empty, false);
        assert!(counted.contains("0 sessions"), "{counted}");
        assert!(counted.contains("No sessions yet"), "{counted}");
    }

    #[tokio::test]
    async fn the_keys_and_the_footer_follow_the_keymap() {
        let text = "[[stats]]\non = \"x\"\naction = \"back\"\n";
        let keymap = Keymap::patched("keymap.toml", text).expect("valid");
        let mut screen = StatsScreen::new(Theme::mono(), keymap, "/tmp/sessions", Stats::default);
        screen.counted().await.expect("counted");
        let mut terminal = Terminal::new(TestBackend::new(90, 24)).expect("terminal");
        terminal
            .draw(|f| f.render_widget(&screen.view(), f.area()))
            .expect("draw");
        let drawn = terminal.backend().to_string();
        let footer = drawn.lines().last().expect("a footer");
        assert!(footer.contains(" x close  r count again "), "{footer}");
        let key = |c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
        assert_eq!(screen.on_key(&key('q')), Step::Quiet, "q no longer closes");
        assert_eq!(screen.on_key(&key('x')), Step::Done(()));
    }

    /// A paste runs no key ("xr" would close the view) and the footer says
    /// it was ignored until the next key.
    #[tokio::test]
    async fn a_paste_runs_nothing_and_the_footer_says_so() {
        let text = "[[stats]]\non = \"x\"\naction = \"back\"\n";
        let keymap = Keymap::patched("keymap.toml", text).expect("valid");
        let mut screen = StatsScreen::new(Theme::mono(), keymap, "/tmp/sessions", Stats::default);
        screen.counted().await.expect("counted");
        let footer = |screen: &StatsScreen<_>| {
            let mut terminal = Terminal::new(TestBackend::new(90, 24)).expect("terminal");
            terminal
                .draw(|f| f.render_widget(screen, f.area()))
                .expect("draw");
            let drawn = terminal.backend().to_string();
            drawn.lines().last().expect("a footer").to_owned()
        };
        assert_eq!(
            screen
                .on_input(TermEvent::Paste("xr".into()))
                .expect("input"),
            Step::Answered
        );
        assert!(
            footer(&screen).contains("pasted text is ignored here"),
            "{}",
            footer(&screen)
        );
        let key = |c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
        assert_eq!(screen.on_key(&key('q')), Step::Answered, "the notice goes");
        assert!(footer(&screen).contains(" x close "), "{}", footer(&screen));
    }
}
