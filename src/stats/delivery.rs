//! The workflow's success metrics where a session has the facts: tests
//! the agents wrote and ran, QA's first-pass rate, work sent back, and
//! deliveries committed, with the time from request to the commit.
//!
//! Read from what the tools did, not from what the reports say: a test
//! file is one a `write_file` call wrote under a test name, a test run is
//! a `run_command` of a test runner and passes when the command did, and a
//! delivery is a `git commit` an agent ran that succeeded. A fork counts
//! only what happened after it.

use serde::Serialize;

use super::{Own, durations, ratio};
use crate::formats::{self, OutputKind};
use crate::session::SessionState;
use crate::session::fold::ToolState;

/// The metrics, over every session counted. Keys of `stats --json`'s
/// `delivery` object.
#[derive(Debug, Default, Serialize)]
pub struct Delivery {
    /// Test files the agents wrote (`*_test.go`, `test_*.py`, `*.spec.ts`, …).
    pub test_files_written: u64,
    /// Test runner commands the agents ran (`go test`, `cargo test`,
    /// `pytest`, `npm test`, …), and how many of them passed.
    pub test_runs: u64,
    pub test_runs_passed: u64,
    /// Sessions whose QA (a verdict phase) gave a verdict, and how many of
    /// them passed with its first.
    pub qa_sessions: u64,
    pub qa_first_pass: u64,
    pub qa_first_pass_rate: Option<f64>,
    /// Work sent back to an earlier phase: in all, by a failing verdict on
    /// its own, and per session counted.
    pub returns: u64,
    pub returns_automatic: u64,
    pub returns_per_session: Option<f64>,
    /// Sessions where an agent's `git commit` succeeded.
    pub committed: u64,
    /// From the request to the end of the attempt that committed.
    pub time_to_commit: super::Durations,
}

/// What one session adds.
#[derive(Debug, Default)]
pub(super) struct Facts {
    test_files: u64,
    test_runs: u64,
    test_runs_passed: u64,
    /// `Some(passed)` when QA gave a verdict.
    qa_first: Option<bool>,
    returns: u64,
    returns_automatic: u64,
    /// Seconds from the request to the commit, when one succeeded.
    committed_after: Option<f64>,
}

/// Gathers [`Facts`] into [`Delivery`].
#[derive(Debug, Default)]
pub(super) struct Counter {
    delivery: Delivery,
    sessions: u64,
    to_commit: Vec<f64>,
}

impl Counter {
    pub(super) fn add(&mut self, facts: &Facts) {
        let d = &mut self.delivery;
        self.sessions += 1;
        d.test_files_written += facts.test_files;
        d.test_runs += facts.test_runs;
        d.test_runs_passed += facts.test_runs_passed;
        if let Some(passed) = facts.qa_first {
            d.qa_sessions += 1;
            d.qa_first_pass += u64::from(passed);
        }
        d.returns += facts.returns;
        d.returns_automatic += facts.returns_automatic;
        if let Some(seconds) = facts.committed_after {
            d.committed += 1;
            self.to_commit.push(seconds);
        }
    }

    pub(super) fn finish(self) -> Delivery {
        let mut d = self.delivery;
        d.qa_first_pass_rate = ratio(d.qa_first_pass, d.qa_sessions);
        d.returns_per_session = ratio(d.returns, self.sessions);
        d.time_to_commit = durations(self.to_commit);
        d
    }
}

/// Whether `path` names a test file by the usual conventions.
fn is_test_file(path: &str) -> bool {
    let path = std::path::Path::new(path);
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let stem = name.split('.').next().unwrap_or(name);
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default();
    match extension {
        "go" => stem.ends_with("_test"),
        "py" => stem.starts_with("test_") || stem.ends_with("_test"),
        "rs" => path.components().any(|c| c.as_os_str() == "tests"),
        _ => [".test.", ".spec."].iter().any(|m| name.contains(m)),
    }
}

/// Whether `command` runs a test runner.
fn runs_tests(command: &str) -> bool {
    const RUNNERS: [&[&str]; 10] = [
        &["go", "test"],
        &["cargo", "test"],
        &["cargo", "nextest"],
        &["pytest"],
        &["python", "-m", "pytest"],
        &["npm", "test"],
        &["npm", "run", "test"],
        &["yarn", "test"],
        &["pnpm", "test"],
        &["make", "test"],
    ];
    // Every simple command of a compound line.
    command
        .split(['&', '|', ';'])
        .map(|part| part.split_whitespace().collect::<Vec<_>>())
        .any(|words| RUNNERS.iter().any(|runner| words.starts_with(runner)))
}

/// Whether `command` makes a git commit.
fn commits(command: &str) -> bool {
    command
        .split(['&', '|', ';'])
        .any(|part| part.split_whitespace().take(2).eq(["git", "commit"]))
}

/// The facts of one session.
#[expect(
    clippy::cast_precision_loss,
    reason = "Milliseconds stay far below 2^52."
)]
pub(super) fn facts(state: &SessionState) -> Facts {
    let mut facts = Facts::default();
    let start = state.forked_at.or(state.started_at);
    let kinds = state.pipeline.as_ref().map(|p| &p.phases);
    for (index, phase) in state.phases.iter().enumerate() {
        let own = Own::of(phase);
        for attempt in own.attempts {
            for run in &attempt.tools {
                let ok = matches!(run.state, ToolState::Done { ok: true, .. });
                match run.tool.as_str() {
                    "write_file" if ok && is_test_file(&run.target) => facts.test_files += 1,
                    "run_command" if runs_tests(&run.target) => {
                        facts.test_runs += 1;
                        facts.test_runs_passed += u64::from(ok);
                    }
                    "run_command" if ok && commits(&run.target) => {
                        facts.committed_after = match (start, attempt.ended_at) {
                            (Some(start), Some(end)) => {
                                Some((end - start).num_milliseconds().max(0) as f64 / 1000.0)
                            }
                            _ => facts.committed_after,
                        };
                    }
                    _ => {}
                }
            }
        }
        let returned = phase
            .returned
            .get(phase.inherited.returned..)
            .unwrap_or_default();
        facts.returns += returned.len() as u64;
        facts.returns_automatic += returned.iter().filter(|r| r.automatic).count() as u64;
        // QA's first verdict: the first attempt of this session's own that
        // gave one.
        let verdicts = kinds
            .and_then(|k| k.get(index))
            .is_some_and(|p| p.output == OutputKind::Verdict);
        if verdicts && facts.qa_first.is_none() {
            facts.qa_first = own.attempts.iter().find_map(|a| {
                match formats::read(OutputKind::Verdict, a.artifact.as_deref()?) {
                    Ok(Some(formats::Read::Verdict(v))) => Some(v.passed()),
                    Ok(Some(formats::Read::Plan(_)) | None) | Err(_) => None,
                }
            });
        }
    }
    facts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_files_by_the_usual_names() {
        for path in [
            "internal/health/service_test.go",
            "tests/test_orders.py",
            "app/orders_test.py",
            "src/orders.test.ts",
            "web/orders.spec.js",
            "tests/suite/orders.rs",
        ] {
            assert!(is_test_file(path), "{path}");
        }
        for path in ["internal/health/service.go", "src/testing.rs", "latest.py"] {
            assert!(!is_test_file(path), "{path}");
        }
    }

    #[test]
    fn test_runs_and_commits_in_compound_commands() {
        assert!(runs_tests("go test ./..."));
        assert!(runs_tests("cd svc && python -m pytest -q"));
        assert!(!runs_tests("go build ./..."));
        assert!(!runs_tests("echo go test"));
        assert!(commits(
            "git checkout -B b && git add -A && git commit -m \"x\""
        ));
        assert!(!commits("git commit-tree x"));
        assert!(!commits("git status"));
    }
}
