//! `stats`: the success metrics across every session in the sessions
//! folder, as a few tables that fit in 80 columns, as one JSON object
//! (`--json`, keys documented on [`Stats`]) or as charts in the terminal
//! (`--tui`). The counting is [`crate::stats`]; this is only the printing.

use std::io::Write as _;

use chrono::TimeDelta;

use super::{Exit, Failure, exit, sessions_dir};
use crate::cli::Global;
use crate::sanitize::sanitize;
use crate::session::store;
use crate::stats::Stats;

/// Where the sessions are (as shown), whether any model has a price, and
/// how to count them.
pub(super) fn counter(
    g: &Global,
) -> Result<(String, bool, impl Fn() -> Stats + Clone + Send + 'static), Failure> {
    let dir = sessions_dir(g);
    let prices = super::config()?.prices;
    let name = dir.display().to_string();
    let count = {
        let name = name.clone();
        let prices = prices.clone();
        move || Stats::gather(&name, &store::list(&dir), &prices)
    };
    Ok((name, !prices.is_empty(), count))
}

pub async fn stats(tty: &mut crate::tui::Tty, g: &Global, as_json: bool, tui: bool) -> Exit {
    let (name, priced, count) = counter(g)?;
    if tui {
        if !std::io::IsTerminal::is_terminal(&std::io::stdout()) {
            return Err(Failure::usage(
                "stdout is not a terminal: use `stats` or `stats --json`",
            ));
        }
        crate::tui::stats::show(tty, &super::theme(g)?, super::keymap()?, &name, count).await?;
        return Ok(exit::OK);
    }
    let stats = count();
    let mut out = std::io::stdout().lock();
    if as_json {
        let text =
            crate::sanitize::json(&stats, true).map_err(|e| Failure::failed(e.to_string()))?;
        writeln!(out, "{text}")?;
    } else {
        out.write_all(text(&stats, !priced).as_bytes())?;
    }
    Ok(exit::OK)
}

/// `text` cut to fit a column of `width`, with room for one space after.
fn fit(text: &str, width: usize) -> String {
    let clean = sanitize(text);
    if clean.chars().count() < width {
        return clean.into_owned();
    }
    let mut cut: String = clean.chars().take(width.saturating_sub(2)).collect();
    cut.push('…');
    cut
}

fn seconds(s: Option<f64>) -> String {
    #[expect(clippy::cast_possible_truncation, reason = "Durations of sessions.")]
    s.map_or_else(
        || "-".to_owned(),
        |s| super::export::duration(TimeDelta::milliseconds((s * 1000.0).round() as i64)),
    )
}

fn percent(rate: Option<f64>) -> String {
    rate.map_or_else(|| "-".to_owned(), |r| format!("{:.0}%", r * 100.0))
}

fn money(usd: Option<f64>) -> String {
    usd.map_or_else(|| "-".to_owned(), |c| format!("${c:.4}"))
}

/// The tables `stats` prints.
fn text(stats: &Stats, no_prices: bool) -> String {
    use std::fmt::Write as _;
    let mut t = String::new();
    let s = &stats.by_status;
    let _ = writeln!(
        t,
        "sessions  {} in {}",
        stats.sessions,
        sanitize(&stats.sessions_dir)
    );
    let _ = writeln!(
        t,
        "  finished {} · awaiting_gate {} · failed {} · interrupted {} · running {}",
        s.finished, s.awaiting_gate, s.failed, s.interrupted, s.running
    );
    if !stats.unreadable.is_empty() {
        let _ = writeln!(t, "  unreadable {}:", stats.unreadable.len());
        // Named relative to the sessions folder, which is printed above.
        let folder = format!("{}/", stats.sessions_dir);
        for u in &stats.unreadable {
            let error = u.error.strip_prefix(&folder).unwrap_or(&u.error);
            let _ = writeln!(t, "    {}", sanitize(error));
        }
    }
    let d = &stats.time_to_finish;
    let _ = writeln!(
        t,
        "\ntime from request to finish ({} completed)",
        d.sessions
    );
    let _ = writeln!(
        t,
        "  median {} · mean {} · max {}",
        seconds(d.median_seconds),
        seconds(d.mean_seconds),
        seconds(d.max_seconds)
    );
    let delivery = &stats.delivery;
    let to_commit = &delivery.time_to_commit;
    let _ = writeln!(
        t,
        "\ndelivery  {} committed · request to commit: median {} · mean {} · max {}",
        delivery.committed,
        seconds(to_commit.median_seconds),
        seconds(to_commit.mean_seconds),
        seconds(to_commit.max_seconds)
    );
    let _ = writeln!(
        t,
        "  tests {} files written · {} runs, {} passed",
        delivery.test_files_written, delivery.test_runs, delivery.test_runs_passed
    );
    let _ = writeln!(
        t,
        "  QA first pass {} of {} ({})",
        delivery.qa_first_pass,
        delivery.qa_sessions,
        percent(delivery.qa_first_pass_rate),
    );
    let _ = writeln!(
        t,
        "  returns {} ({} by a failing verdict), {} per session",
        delivery.returns,
        delivery.returns_automatic,
        delivery
            .returns_per_session
            .map_or_else(|| "-".to_owned(), |r| format!("{r:.1}"))
    );
    if stats.phases.is_empty() {
        return t;
    }

    let _ = writeln!(
        t,
        "\n  {:<12}{:>8}{:>9}{:>7}{:>8}{:>7}{:>8}{:>8}{:>7}",
        "phase", "started", "approved", "rate", "retries", "edits", "rejects", "returns", "notes"
    );
    for p in &stats.phases {
        let c = p.decisions;
        let _ = writeln!(
            t,
            "  {:<12}{:>8}{:>9}{:>7}{:>8}{:>7}{:>8}{:>8}{:>7}",
            fit(&p.id, 12),
            p.started,
            p.approved,
            percent(p.completion_rate),
            p.retries,
            c.edit,
            c.reject,
            c.returned,
            c.approve_with_notes
        );
    }

    let _ = writeln!(
        t,
        "\n  {:<26}{:>5}{:>7}{:>8}{:>8}{:>7}{:>7}{:>8}",
        "role", "runs", "edits", "rejects", "returns", "notes", "aborts", "per run"
    );
    for r in &stats.roles {
        let c = r.decisions;
        let _ = writeln!(
            t,
            "  {:<26}{:>5}{:>7}{:>8}{:>8}{:>7}{:>7}{:>8}",
            fit(&r.role, 26),
            r.runs,
            c.edit,
            c.reject,
            c.returned,
            c.approve_with_notes,
            c.abort,
            r.interventions_per_run
                .map_or_else(|| "-".to_owned(), |x| format!("{x:.2}"))
        );
    }
    let _ = writeln!(
        t,
        "  decisions by a person at a gate: {} · by policy or file: {}",
        stats.decided_by.user, stats.decided_by.policy
    );

    tokens(&mut t, stats, no_prices);
    t
}

/// The tokens and cost table, per phase and in all.
fn tokens(t: &mut String, stats: &Stats, no_prices: bool) {
    use std::fmt::Write as _;
    let _ = writeln!(
        t,
        "\n  {:<12}{:>14}{:>14}{:>14}{:>12}",
        "tokens", "prompt", "completion", "total", "cost"
    );
    for p in &stats.phases {
        let _ = writeln!(
            t,
            "  {:<12}{:>14}{:>14}{:>14}{:>12}",
            fit(&p.id, 12),
            p.usage.prompt_tokens,
            p.usage.completion_tokens,
            p.usage.total(),
            money(p.cost_usd)
        );
    }
    let _ = writeln!(
        t,
        "  {:<12}{:>14}{:>14}{:>14}{:>12}",
        "total",
        stats.usage.prompt_tokens,
        stats.usage.completion_tokens,
        stats.usage.total(),
        money(stats.cost.usd)
    );
    let c = &stats.cost;
    if no_prices {
        let _ = writeln!(t, "  no prices in config.toml, so no cost");
    } else if c.unpriced_sessions > 0 {
        let _ = writeln!(
            t,
            "  cost covers {} of {} sessions: some models have no price",
            c.priced_sessions,
            c.priced_sessions + c.unpriced_sessions
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_names_are_cut_to_their_column() {
        assert_eq!(fit("summarize", 12), "summarize");
        assert_eq!(fit("a-very-long-phase-id", 12), "a-very-lon…");
        assert_eq!(fit("x\u{1b}[31my", 12), "xy");
    }
}
