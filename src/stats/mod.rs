//! The seed's success metrics across sessions, counted from folded logs.
//!
//! [`Stats::gather`] takes what `store::list` found and counts it into one
//! [`Stats`]: sessions by status, time from request to finish, per-phase
//! completion rates and retries, human interventions per phase and per
//! role, tokens and cost, and one point per session for trends. A log that
//! cannot be read is counted and named; it never hides the others. A forked
//! session counts only what happened after the fork: the history it copied
//! is counted once, in the session it came from. `handoff stats` prints it
//! as text or JSON, and the TUI draws it as charts. The delivery metrics
//! (tests, QA first pass, returns, commits) are counted in [`delivery`].

mod delivery;

use chrono::{DateTime, Utc};
use serde::Serialize;

pub use delivery::Delivery;

use crate::cost::{self, Prices};
use crate::session::SessionOutcome;
use crate::session::log::LogError;
use crate::session::store::Loaded;
use crate::session::{Action, DecidedBy, PhaseState, PhaseStatus, SessionStatus, Usage};

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
///             "priced_sessions": n, "unpriced_sessions": n },
///   "timeline": [ {                // one per session, oldest first
///     "id", "started_at": "…"|null, "seconds_to_finish": x|null,
///     "tokens": n, "interventions": n } ],
///   "delivery": {                  // what the tools did (see `Delivery`)
///     "test_files_written", "test_runs", "test_runs_passed": n,
///     "qa_sessions", "qa_first_pass": n, "qa_first_pass_rate": x|null,
///     "returns", "returns_automatic": n, "returns_per_session": x|null,
///     "committed": n, "time_to_commit": { same keys as time_to_finish } }
/// }
/// ```
///
/// Decisions from a decisions file (`by: policy`) count as interventions: a
/// person wrote them. `by_user` tells those made live at a gate apart. A
/// forked session counts only its own part: attempts, decisions and tokens
/// copied from its origin are counted there.
#[derive(Debug, Default, Serialize)]
pub struct Stats {
    pub sessions_dir: String,
    pub sessions: u64,
    pub by_status: StatusCounts,
    pub by_outcome: OutcomeCounts,
    pub unreadable: Vec<Unreadable>,
    pub time_to_finish: Durations,
    pub decided_by: DecidedByCounts,
    pub phases: Vec<PhaseStats>,
    pub roles: Vec<RoleStats>,
    pub usage: Usage,
    pub cost: Cost,
    pub timeline: Vec<Point>,
    pub delivery: Delivery,
}

/// One session, for trends: oldest first in [`Stats::timeline`].
#[derive(Debug, Serialize)]
pub struct Point {
    pub id: String,
    /// When the session (or, for a fork, its own part) began.
    pub started_at: Option<DateTime<Utc>>,
    /// Request to finish, for completed sessions.
    pub seconds_to_finish: Option<f64>,
    pub tokens: u64,
    pub interventions: u64,
}

#[derive(Debug, Default, Serialize)]
pub struct StatusCounts {
    pub running: u64,
    pub awaiting_gate: u64,
    pub finished: u64,
    pub failed: u64,
    pub interrupted: u64,
}

#[derive(Debug, Default, Serialize)]
pub struct OutcomeCounts {
    pub completed: u64,
    pub aborted: u64,
    pub failed: u64,
}

#[derive(Debug, Serialize)]
pub struct Unreadable {
    pub path: String,
    pub error: String,
}

#[derive(Debug, Default, Serialize)]
pub struct Durations {
    pub sessions: u64,
    pub median_seconds: Option<f64>,
    pub mean_seconds: Option<f64>,
    pub max_seconds: Option<f64>,
}

#[derive(Debug, Default, Serialize)]
pub struct DecidedByCounts {
    pub user: u64,
    pub policy: u64,
}

/// How many decisions of each action.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct ActionCounts {
    pub approve: u64,
    pub approve_with_notes: u64,
    pub edit: u64,
    pub reject: u64,
    #[serde(rename = "return")]
    pub returned: u64,
    pub abort: u64,
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
    pub fn interventions(self) -> u64 {
        self.approve_with_notes + self.edit + self.reject + self.returned + self.abort
    }
}

#[derive(Debug, Default, Serialize)]
pub struct PhaseStats {
    pub id: String,
    pub role: String,
    pub sessions: u64,
    pub started: u64,
    pub approved: u64,
    pub completion_rate: Option<f64>,
    pub attempts: u64,
    pub retries: u64,
    pub decisions: ActionCounts,
    pub by_user: ActionCounts,
    pub interventions: u64,
    pub usage: Usage,
    pub cost_usd: Option<f64>,
}

#[derive(Debug, Default, Serialize)]
pub struct RoleStats {
    pub role: String,
    pub runs: u64,
    pub decisions: ActionCounts,
    pub by_user: ActionCounts,
    pub interventions: u64,
    pub interventions_per_run: Option<f64>,
}

#[derive(Debug, Default, Serialize)]
pub struct Cost {
    pub usd: Option<f64>,
    pub priced_sessions: u64,
    pub unpriced_sessions: u64,
}

fn add_usage(to: &mut Usage, more: Usage) {
    to.prompt_tokens = to.prompt_tokens.saturating_add(more.prompt_tokens);
    to.completion_tokens = to.completion_tokens.saturating_add(more.completion_tokens);
}

#[expect(clippy::cast_precision_loss, reason = "Counts stay far below 2^52.")]
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
        let mut delivery = delivery::Counter::default();
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
                    let path = e.path();
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
            delivery.add(&delivery::facts(&loaded.state));
        }
        stats.time_to_finish = durations(seconds);
        stats.delivery = delivery.finish();
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
            .timeline
            .sort_by(|a, b| (a.started_at, &a.id).cmp(&(b.started_at, &b.id)));
        stats
    }

    /// Counts one session; returns its request-to-finish time in seconds
    /// when it completed.
    #[expect(
        clippy::cast_precision_loss,
        reason = "Milliseconds stay far below 2^52."
    )]
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

        let mut session_usage = Usage::default();
        let mut session_cost = Some(0.0);
        let mut session_interventions = 0;
        for (index, p) in state.phases.iter().enumerate() {
            let own = Own::of(p);
            let mut decisions = ActionCounts::default();
            let mut by_user = ActionCounts::default();
            for d in own.decisions.iter().map(|d| &d.decision) {
                decisions.add(d.action);
                match d.by {
                    DecidedBy::User => {
                        by_user.add(d.action);
                        self.decided_by.user += 1;
                    }
                    DecidedBy::Policy => self.decided_by.policy += 1,
                }
            }
            session_interventions += decisions.interventions();
            add_usage(&mut session_usage, own.usage);
            let price = prices.get(cost::phase_model(state, index));
            let phase_cost =
                price.map(|price| price.cost(own.usage.prompt_tokens, own.usage.completion_tokens));
            if own.usage.total() > 0 {
                session_cost = session_cost.zip(phase_cost).map(|(a, b)| a + b);
            }
            // A fork's copied phases count where they ran, not again here.
            let ran = !own.attempts.is_empty();

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
            phase.approved += u64::from(ran && p.status == PhaseStatus::Approved);
            phase.attempts += own.attempts.len() as u64;
            phase.retries += own.attempts.len().saturating_sub(1) as u64;
            phase.decisions.merge(decisions);
            phase.by_user.merge(by_user);
            add_usage(&mut phase.usage, own.usage);
            if let Some(c) = phase_cost {
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
        add_usage(&mut self.usage, session_usage);
        if !prices.is_empty() {
            match session_cost {
                Some(c) => {
                    add_cost(&mut self.cost.usd, c);
                    self.cost.priced_sessions += 1;
                }
                None => self.cost.unpriced_sessions += 1,
            }
        }

        // A fork's own clock starts when it was forked.
        let start = state.forked_at.or(state.started_at);
        let completed = state.outcome == Some(SessionOutcome::Completed);
        let seconds = match (start, state.finished_at) {
            (Some(start), Some(end)) if completed => {
                Some((end - start).num_milliseconds().max(0) as f64 / 1000.0)
            }
            _ => None,
        };
        self.timeline.push(Point {
            id: state.id.clone(),
            started_at: start,
            seconds_to_finish: seconds,
            tokens: session_usage.total(),
            interventions: session_interventions,
        });
        seconds
    }
}

/// The part of a phase's history that happened in this session, not in the
/// one it was forked from.
struct Own<'a> {
    attempts: &'a [crate::session::Attempt],
    decisions: &'a [crate::session::Decided],
    usage: Usage,
}

impl<'a> Own<'a> {
    fn of(p: &'a PhaseState) -> Self {
        let inherited = p.inherited;
        Self {
            attempts: p.attempts.get(inherited.attempts..).unwrap_or_default(),
            decisions: p.decisions.get(inherited.decisions..).unwrap_or_default(),
            usage: Usage {
                prompt_tokens: p
                    .usage
                    .prompt_tokens
                    .saturating_sub(inherited.usage.prompt_tokens),
                completion_tokens: p
                    .usage
                    .completion_tokens
                    .saturating_sub(inherited.usage.completion_tokens),
            },
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

#[expect(clippy::cast_precision_loss, reason = "A handful of sessions.")]
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
}
