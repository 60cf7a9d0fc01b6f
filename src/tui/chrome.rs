//! The rows around every screen of a session: the status bar (provider,
//! session, tokens, cost, time, commands running without a sandbox, what
//! the capability probe found about the server, the replay's state), the replay's timeline,
//! the checkpoint bar (a notice, the open gate's question, the outcome, who
//! is working) and the footer of key hints.
//!
//! The hints come from the keymap: the bindings of the contexts in force
//! ([`App::contexts`]: the open overlay's, else the screen's) whose act does
//! something now ([`App::available`]), so the footer never offers a key
//! that does nothing and never drifts from the bindings.

use chrono::{DateTime, Utc};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use super::Theme;
use super::app::{App, Source};
use super::board::SPINNER;
use super::keymap::Act;
use super::text::{clip, safe};
use crate::session::PhaseStatus;

pub(super) fn tokens(n: u64) -> String {
    #[expect(clippy::cast_precision_loss, reason = "a display figure")]
    match n {
        0..1000 => n.to_string(),
        _ => format!("{:.1}k", n as f64 / 1000.0),
    }
}

pub(super) fn duration(from: DateTime<Utc>, to: DateTime<Utc>) -> String {
    let secs = (to - from).num_seconds().max(0);
    format!("{}:{:02}", secs / 60, secs % 60)
}

pub(super) fn status_bar(app: &App, area: Rect, buf: &mut Buffer) {
    buf.set_style(area, app.theme.status_bar);
    let s = &app.state;
    let provider = if s.provider == "offline" {
        " offline · no network ".to_owned()
    } else {
        format!(" {} ", safe(&s.provider))
    };
    // The clock only moves on screen while something runs or once it is
    // over: the UI does not redraw while it waits at a gate.
    let elapsed = match (s.started_at, s.finished_at) {
        (Some(start), Some(end)) => format!("│ {} ", duration(start, end)),
        (Some(start), None) if app.animating() => format!("│ {} ", duration(start, app.now)),
        _ => String::new(),
    };
    let cost = crate::cost::session_cost(s, &app.prices)
        .filter(|_| !app.prices.is_empty())
        .map_or(String::new(), |c| format!("│ ${c:.4} "));
    let mut spans = vec![
        Span::raw(" handoff "),
        Span::styled(provider, app.theme.badge),
        Span::raw(format!(
            " {} │ {} tokens {cost}{elapsed}│ model {} ",
            safe(&s.id),
            tokens(s.usage.total()),
            safe(&s.model),
        )),
    ];
    if app.unconfined {
        spans.push(Span::styled(" NO SANDBOX ", app.theme.failed));
        spans.push(Span::raw(" "));
    }
    if let Some(caps) = &app.server.capabilities {
        spans.push(Span::styled(format!("│ {} ", safe(caps)), app.theme.dim));
    }
    if let Source::Replay(player) = &app.source {
        let state = if player.playing { "▶" } else { "❚❚" };
        spans.push(Span::raw(format!(
            "│ REPLAY {state} {} · event {}/{} ",
            player.speed_label(),
            player.position(),
            player.len()
        )));
    }
    Line::from(spans).render(area, buf);
}

/// The replay's timeline: play state, time, a progress bar, the phase.
pub(super) fn timeline(app: &App, player: &super::replay::Player, area: Rect, buf: &mut Buffer) {
    let (at, total, done) = player.progress();
    let clock = |d: chrono::TimeDelta| {
        let s = d.num_seconds().max(0);
        format!("{}:{:02}", s / 60, s % 60)
    };
    let phase = app
        .state
        .active_phase()
        .map_or_else(|| "-".to_owned(), |i| app.state.phases[i].id.clone());
    let mark = match (player.at_end(), player.playing) {
        (true, _) => "■",
        (false, true) => "▶",
        (false, false) => "❚❚",
    };
    let left = format!(" {mark} {} / {} ", clock(at), clock(total));
    let right = format!(" {} · {} ", safe(&phase), player.speed_label());
    let width =
        usize::from(area.width).saturating_sub(left.chars().count() + right.chars().count());
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss,
        reason = "a share of the width, between 0 and the width"
    )]
    let filled = ((width as f64) * done).round() as usize;
    Line::from(vec![
        Span::styled(left, app.theme.key),
        Span::styled("━".repeat(filled.min(width)), app.theme.running),
        Span::styled("─".repeat(width.saturating_sub(filled)), app.theme.border),
        Span::styled(right, app.theme.dim),
    ])
    .render(area, buf);
}

pub(super) fn checkpoint(app: &App, area: Rect, buf: &mut Buffer) {
    let s = &app.state;
    let (text, style) = if let Some(notice) = &app.notice {
        (format!(" ! {}", safe(notice)), app.theme.notice)
    } else if !s.is_over() && matches!(app.source, Source::Live(None)) {
        // No engine: an open gate can no longer be answered here.
        (
            " The session stopped; its log keeps everything so far.".into(),
            app.theme.dim,
        )
    } else if let Some(gate) = &s.gate {
        let phase = &s.phases[gate.phase];
        let outputs = s.section_names(gate.phase);
        let hint = match (phase.status == PhaseStatus::Failed, outputs.as_slice()) {
            (true, _) => String::new(),
            // Named outputs: name them, not the phase's id.
            (false, [only]) => format!(" — {} delivered {only}", phase.role),
            (false, [earlier @ .., last]) => format!(
                " — {} delivered {} and {last}",
                phase.role,
                earlier.join(", ")
            ),
            (false, _) => format!(" — {} delivered the {}", phase.role, phase.artifact_name),
        };
        match &gate.over_budget {
            Some(why) => (
                format!(" ⚠ Over budget ({why}) — {}", gate.question),
                app.theme.gate,
            ),
            None => (format!(" ▶ {}{hint} ", gate.question), app.theme.gate),
        }
    } else if let Some(outcome) = s.outcome {
        let approved = s
            .phases
            .iter()
            .filter(|p| p.status == PhaseStatus::Approved)
            .count();
        (
            format!(
                " ■ Session finished: {} · {approved}/{} phases approved · {} tokens",
                outcome.as_str(),
                s.phases.len(),
                s.usage.total()
            ),
            app.theme.approved,
        )
    } else if let Some(p) = s.phases.iter().find(|p| p.status == PhaseStatus::Running) {
        (
            format!(
                " {} {} is working on the {} (attempt {})…",
                SPINNER[app.frame % SPINNER.len()],
                p.role,
                p.artifact_name,
                p.current().map_or(0, |a| a.number)
            ),
            app.theme.running,
        )
    } else {
        (String::new(), Style::new())
    };
    buf.set_style(area, style);
    Line::styled(clip(&text, usize::from(area.width)), style).render(area, buf);
}

/// The keys that do something now, as many as fit; help and quit always
/// show, at the end, so a narrow footer still says how to learn the rest.
pub(super) fn hints(app: &App, area: Rect, buf: &mut Buffer) {
    let mut offered: Vec<(&str, &str, Act)> = Vec::new();
    for context in app.contexts() {
        for (key, hint, act) in app.keymap.hints(context) {
            // A key a more specific context already claims is not offered twice.
            if app.available(act) && !offered.iter().any(|(k, ..)| *k == key) {
                offered.push((key, hint_now(app, act, hint), act));
            }
        }
    }
    let width = |(key, hint, _): &(&str, &str, Act)| {
        use unicode_width::UnicodeWidthStr;
        key.width() + hint.width() + 3
    };
    let (last, rest): (Vec<_>, Vec<_>) = offered
        .into_iter()
        .partition(|(.., act)| matches!(act, Act::Help | Act::Quit));
    let mut room = usize::from(area.width).saturating_sub(last.iter().map(width).sum());
    let fitting = rest.into_iter().take_while(|h| {
        let fits = width(h) <= room;
        room = room.saturating_sub(width(h));
        fits
    });
    let spans: Vec<Span> = fitting
        .chain(last)
        .flat_map(|(key, hint, _)| hint_spans(&app.theme, key, hint))
        .collect();
    Line::from(spans).render(area, buf);
}

/// What a key's hint says now: `reject` at a failed phase's gate asks for
/// the attempt again, so it reads `retry`, as the checkpoint bar does.
fn hint_now<'a>(app: &App, act: Act, hint: &'a str) -> &'a str {
    let failed = app
        .state
        .gate
        .as_ref()
        .and_then(|g| app.state.phases.get(g.phase))
        .is_some_and(|p| p.status == PhaseStatus::Failed);
    if act == Act::Reject && failed {
        "retry"
    } else {
        hint
    }
}

/// A key and what it does, as every footer shows them.
pub(super) fn hint_spans(theme: &Theme, key: &str, what: &str) -> [Span<'static>; 2] {
    [
        Span::styled(format!(" {key}"), theme.key),
        Span::styled(format!(" {what} "), theme.dim),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::Theme;

    fn bar(app: &App) -> String {
        let area = Rect::new(0, 0, 160, 1);
        let mut buf = Buffer::empty(area);
        status_bar(app, area, &mut buf);
        (0..area.width)
            .map(|x| buf[(x, 0)].symbol().to_owned())
            .collect()
    }

    #[test]
    fn the_status_bar_says_when_commands_have_no_sandbox() {
        let mut app = App::new(Source::Live(None), Theme::mono());
        assert!(!bar(&app).contains("NO SANDBOX"), "{}", bar(&app));
        app.unconfined = true;
        assert!(bar(&app).contains("NO SANDBOX"), "{}", bar(&app));
    }

    #[test]
    fn the_status_bar_shows_what_the_probe_found() {
        let mut app = App::new(Source::Live(None), Theme::mono());
        app.server.capabilities = Some("schema ✓ · no tools · ctx 8.2k · 0.4s".into());
        assert!(
            bar(&app).contains("│ schema ✓ · no tools · ctx 8.2k · 0.4s"),
            "{}",
            bar(&app)
        );
    }
}
