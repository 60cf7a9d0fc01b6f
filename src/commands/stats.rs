//! `stats`: the seed's success metrics across every session in the sessions
//! folder.
//!
//! Every log is folded (as `sessions` does) and the folded states are
//! counted into one [`Stats`]: sessions by status, time from request to
//! finish, per-phase completion rates and retries, human interventions per
//! phase and per role, and tokens and cost. A log that cannot be read is
//! counted and named; it never hides the others. The text form is a few
//! tables that fit in 80 columns; `--json` prints the same figures as one
//! object whose keys are documented on [`Stats`].

use std::io::Write as _;

use chrono::TimeDelta;
use serde::Serialize;

use super::{Failure, Outcome, exit, sessions_dir};
use crate::cli::Global;
use crate::cost::{self, Prices};
use crate::sanitize::sanitize;
use crate::session::event::Outcome as SessionOutcome;
use crate::session::log::LogError;
use crate::session::store::{self, Loaded};
use crate::session::{Action, DecidedBy, PhaseStatus, SessionStatus, Usage};

/// The figures `stats --json` prints, as one object. Keys are stable:
///
/// ```text
/// {
///   "sessions_dir": "/…/sessions",
///   "sessions": 3,                 // readable session logs
///   "by_status": { "running", "awaiting_gate", "finished", "failed",
///                  "interrupted": n },
///   "by_outcome": { "completed", "aborted", "failed": n },
///   "unreadable": [ { "path": "…", "error": "…" } ],
///   "time_to_finish": {            // started → finished, completed sessions
///     "sessions": n, "median_seconds", "mean_seconds", "max_seconds": x|null },
///   "decided_by": { "user": n, "policy": n },   // every gate decision
///   "phases": [ {                  // by phase id, in pipeline order
///     "id", "role",
///     "sessions": n,               // sessions whose pipeline has the phase
///     "started": n,                // … where it ran at least once
///     "approved": n,               // … where it ends approved
///     "completion_rate": approved / started | null,
///     "attempts": n, "retries": n, // retries: attempts beyond the first
///     "decisions": { "approve", "approve_with_notes", "edit", "reject",
///                    "return", "abort": n },    // by anyone
///     "by_user": { same keys },    // only those a person made at a gate
///     "interventions": n,          // every decision but a plain approve
///     "usage": { "prompt_tokens", "completion_tokens": n },
///     "cost_usd": x|null } ],      // priced runs only; null if none
///   "roles": [ {                   // the same counts, by role name
///     "role", "runs": n,           // phases of this role that ran
///     "decisions": {…}, "by_user": {…}, "interventions": n,
///     "interventions_per_run": x|null } ],
///   "usage": { "prompt_tokens", "completion_tokens": n },
///   "cost": { "usd": x|null,       // sum over priced sessions; null if none
///             "priced_sessions": n, "unpriced_sessions": n }
/// }
/// ```
///
/// Decisions from a decisions file (`by: policy`) count as interventions: a
/// person wrote them. `by_user` tells those made live at a gate apart.
#[derive(Debug, Default, Serialize)]
pub struct Stats {
    sessions_dir: String,
    sessions: u64,
    by_status: StatusCounts,
    by_outcome: OutcomeCounts,
    unreadable: Vec<Unreadable>,
    time_to_finish: Durations,
    decided_by: DecidedByCounts,
    phases: Vec<PhaseStats>,
    roles: Vec<RoleStats>,
    usage: Usage,
    cost: Cost,
}

#[derive(Debug, Default, Serialize)]
struct StatusCounts {
    running: u64,
    awaiting_gate: u64,
    finished: u64,
    failed: u64,
    interrupted: u64,
}

#[derive(Debug, Default, Serialize)]
struct OutcomeCounts {
    completed: u64,
    aborted: u64,
    failed: u64,
}

#[derive(Debug, Serialize)]
struct Unreadable {
    path: String,
    error: String,
}

#[derive(Debug, Default, Serialize)]
struct Durations {
    sessions: u64,
    median_seconds: Option<f64>,
    mean_seconds: Option<f64>,
    max_seconds: Option<f64>,
}

#[derive(Debug, Default, Serialize)]
struct DecidedByCounts {
    user: u64,
    policy: u64,
}

/// How many decisions of each action.
#[derive(Clone, Copy, Debug, Default, Serialize)]
struct ActionCounts {
    approve: u64,
    approve_with_notes: u64,
    edit: u64,
    reject: u64,
    #[serde(rename = "return")]
    returned: u64,
    abort: u64,
}

impl ActionCounts {
    fn add(&mut self, action: Action) {
        let slot = match action {
            Action::Approve => &mut self.approve,
            Action::ApproveWithNotes => &mut self.approve_with_notes,
            Action::Edit => &mut self.edit,
            Action::Reject => &mut self.reject,
            Action::Return => &mut self.returned,
            Action::Abort => &mut self.abort,
        };
        *slot += 1;
    }

    fn merge(&mut self, other: Self) {
        self.approve += other.approve;
        self.approve_with_notes += other.approve_with_notes;
        self.edit += other.edit;
        self.reject += other.reject;
        self.returned += other.returned;
        self.abort += other.abort;
    }

    /// Every decision but a plain approval.
    fn interventions(self) -> u64 {
        self.approve_with_notes + self.edit + self.reject + self.returned + self.abort
    }
}

#[derive(Debug, Default, Serialize)]
struct PhaseStats {
    id: String,
    role: String,
    sessions: u64,
    started: u64,
    approved: u64,
    completion_rate: Option<f64>,
    attempts: u64,
    retries: u64,
    decisions: ActionCounts,
    by_user: ActionCounts,
    interventions: u64,
    usage: Usage,
    cost_usd: Option<f64>,
}

#[derive(Debug, Default, Serialize)]
struct RoleStats {
    role: String,
    runs: u64,
    decisions: ActionCounts,
    by_user: ActionCounts,
    interventions: u64,
    interventions_per_run: Option<f64>,
}

#[derive(Debug, Default, Serialize)]
struct Cost {
    usd: Option<f64>,
    priced_sessions: u64,
    unpriced_sessions: u64,
}

fn add_usage(to: &mut Usage, more: Usage) {
    to.prompt_tokens += more.prompt_tokens;
    to.completion_tokens += more.completion_tokens;
}

#[allow(clippy::cast_precision_loss)] // Counts stay far below 2^52.
fn ratio(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

fn add_cost(to: &mut Option<f64>, cost: f64) {
    *to = Some(to.unwrap_or_default() + cost);
}

impl Stats {
    /// Counts every session `store::list` found.
    pub fn gather(dir: &str, all: &[Result<Loaded, LogError>], prices: &Prices) -> Self {
        let mut stats = Self {
            sessions_dir: dir.to_owned(),
            ..Self::default()
        };
        let mut seconds = Vec::new();
        // Oldest first, so phases and roles appear in the order they were met.
        for item in all.iter().rev() {
            let loaded = match item {
                Ok(loaded) if loaded.state.pipeline.is_some() => loaded,
                Ok(loaded) => {
                    stats.unreadable.push(Unreadable {
                        path: loaded.path.display().to_string(),
                        error: format!(
                            "{}: no session_started event; not a session log",
                            loaded.path.display()
                        ),
                    });
                    continue;
                }
                Err(e) => {
                    let path = match e {
                        LogError::Io { path, .. }
                        | LogError::Corrupt { path, .. }
                        | LogError::Locked { path } => path,
                    };
                    stats.unreadable.push(Unreadable {
                        path: path.display().to_string(),
                        error: e.to_string(),
                    });
                    continue;
                }
            };
            if let Some(s) = stats.session(loaded, prices) {
                seconds.push(s);
            }
        }
        stats.time_to_finish = durations(seconds);
        for phase in &mut stats.phases {
            phase.completion_rate = ratio(phase.approved, phase.started);
            phase.interventions = phase.decisions.interventions();
        }
        for role in &mut stats.roles {
            role.interventions = role.decisions.interventions();
            role.interventions_per_run = ratio(role.interventions, role.runs);
        }
        stats.unreadable.sort_by(|a, b| a.path.cmp(&b.path));
        stats
    }

    /// Counts one session; returns its request-to-finish time in seconds
    /// when it completed.
    #[allow(clippy::cast_precision_loss)] // Milliseconds stay far below 2^52.
    fn session(&mut self, loaded: &Loaded, prices: &Prices) -> Option<f64> {
        let state = &loaded.state;
        self.sessions += 1;
        let status = &mut self.by_status;
        *match loaded.status {
            SessionStatus::Running => &mut status.running,
            SessionStatus::AwaitingGate => &mut status.awaiting_gate,
            SessionStatus::Finished => &mut status.finished,
            SessionStatus::Failed => &mut status.failed,
            SessionStatus::Interrupted => &mut status.interrupted,
        } += 1;
        if let Some(outcome) = state.outcome {
            *match outcome {
                SessionOutcome::Completed => &mut self.by_outcome.completed,
                SessionOutcome::Aborted => &mut self.by_outcome.aborted,
                SessionOutcome::Failed => &mut self.by_outcome.failed,
            } += 1;
        }
        add_usage(&mut self.usage, state.usage);
        if !prices.is_empty() {
            match cost::session_cost(state, prices) {
                Some(c) => {
                    add_cost(&mut self.cost.usd, c);
                    self.cost.priced_sessions += 1;
                }
                None => self.cost.unpriced_sessions += 1,
            }
        }

        for (index, p) in state.phases.iter().enumerate() {
            let mut decisions = ActionCounts::default();
            let mut by_user = ActionCounts::default();
            for d in p.decisions.iter().map(|d| &d.decision) {
                decisions.add(d.action);
                match d.by {
                    DecidedBy::User => {
                        by_user.add(d.action);
                        self.decided_by.user += 1;
                    }
                    DecidedBy::Policy => self.decided_by.policy += 1,
                }
            }
            let ran = !p.attempts.is_empty();

            let phase = entry(
                &mut self.phases,
                |s| s.id == p.id,
                || PhaseStats {
                    id: p.id.clone(),
                    role: p.role.clone(),
                    ..PhaseStats::default()
                },
            );
            phase.sessions += 1;
            phase.started += u64::from(ran);
            phase.approved += u64::from(p.status == PhaseStatus::Approved);
            phase.attempts += p.attempts.len() as u64;
            phase.retries += p.attempts.len().saturating_sub(1) as u64;
            phase.decisions.merge(decisions);
            phase.by_user.merge(by_user);
            add_usage(&mut phase.usage, p.usage);
            if let Some(c) = cost::phase_cost(state, index, prices) {
                add_cost(&mut phase.cost_usd, c);
            }

            let role = entry(
                &mut self.roles,
                |r| r.role == p.role,
                || RoleStats {
                    role: p.role.clone(),
                    ..RoleStats::default()
                },
            );
            role.runs += u64::from(ran);
            role.decisions.merge(decisions);
            role.by_user.merge(by_user);
        }

        match (state.outcome, state.started_at, state.finished_at) {
            (Some(SessionOutcome::Completed), Some(start), Some(end)) => {
                Some((end - start).num_milliseconds().max(0) as f64 / 1000.0)
            }
            _ => None,
        }
    }
}

/// The item `is` picks, added with `make` at the end when there is none.
fn entry<T>(items: &mut Vec<T>, is: impl Fn(&T) -> bool, make: impl FnOnce() -> T) -> &mut T {
    let index = items.iter().position(is).unwrap_or_else(|| {
        items.push(make());
        items.len() - 1
    });
    &mut items[index]
}

#[allow(clippy::cast_precision_loss)] // A handful of sessions.
fn durations(mut seconds: Vec<f64>) -> Durations {
    seconds.sort_by(f64::total_cmp);
    let n = seconds.len();
    let median = match n {
        0 => None,
        n if n % 2 == 1 => Some(seconds[n / 2]),
        n => Some(f64::midpoint(seconds[n / 2 - 1], seconds[n / 2])),
    };
    Durations {
        sessions: n as u64,
        median_seconds: median,
        mean_seconds: (n > 0).then(|| seconds.iter().sum::<f64>() / n as f64),
        max_seconds: seconds.last().copied(),
    }
}

pub fn stats(g: &Global, as_json: bool) -> Outcome {
    let dir = sessions_dir(g);
    let prices = super::config()?.prices;
    let all = store::list(&dir);
    let stats = Stats::gather(&dir.display().to_string(), &all, &prices);
    let mut out = std::io::stdout().lock();
    if as_json {
        serde_json::to_writer_pretty(&mut out, &stats)
            .map_err(|e| Failure::failed(e.to_string()))?;
        writeln!(out)?;
    } else {
        out.write_all(text(&stats, prices.is_empty()).as_bytes())?;
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
    #[allow(clippy::cast_possible_truncation)] // Durations of sessions.
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
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_of_odd_and_even_counts() {
        let d = durations(vec![3.0, 1.0, 2.0]);
        assert_eq!(d.median_seconds, Some(2.0));
        assert_eq!(d.max_seconds, Some(3.0));
        let d = durations(vec![4.0, 1.0]);
        assert_eq!(d.median_seconds, Some(2.5));
        assert_eq!(d.mean_seconds, Some(2.5));
        let d = durations(Vec::new());
        assert_eq!((d.sessions, d.median_seconds), (0, None));
    }

    #[test]
    fn long_names_are_cut_to_their_column() {
        assert_eq!(fit("summarize", 12), "summarize");
        assert_eq!(fit("a-very-long-phase-id", 12), "a-very-lon…");
        assert_eq!(fit("x\u{1b}[31my", 12), "xy");
    }
}
