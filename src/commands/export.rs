//! `export`: one session written out as Markdown files a person can read,
//! review or attach to a pull request.
//!
//! The session log is folded as `show` folds it; the events are walked once
//! more for what the fold does not keep (when each decision was made, which
//! draft an edit replaced). Into the output folder go the effective artifact
//! of every phase (`NN-<phase>-<artifact>.md`), every attempt's draft and
//! human edit (`attempts/`), what each phase changed in the workspace
//! (`changes/<phase>.patch`), `decisions.md` (every decision in order) and
//! `report.md` (timeline, approvals, rejections, returns, edits as diffs,
//! tool calls, tokens and cost). Session text goes into the files as it is;
//! only the list of written files reaches the terminal, sanitized. Like the
//! log they come from, the files are 0600 and the folders handoff makes
//! 0700, whatever the umask.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use chrono::{DateTime, TimeDelta, Utc};

use super::{Exit, Failure, exit};
use crate::cli::Global;
use crate::cost::{self, Prices};
use crate::sanitize::sanitize;
use crate::session::fold::ToolState;
use crate::session::log::read_log;
use crate::session::store::Loaded;
use crate::session::{Action, Decision, Event, EventKind, PhaseStatus, SessionState};

/// Loads a session as `show` does, and its events.
fn load(g: &Global, session: &str) -> Result<(Loaded, Vec<Event>), Failure> {
    let loaded = super::inspect::load(g, session)?;
    let events = read_log(&loaded.path)
        .map_err(|e| Failure::failed(e.to_string()))?
        .events;
    Ok((loaded, events))
}

/// One decision with what the fold forgets: when, and on which draft.
struct Record<'a> {
    t: DateTime<Utc>,
    decision: &'a Decision,
    /// The attempt that was current when the decision was made.
    attempt: Option<u32>,
    /// That attempt's text as the agent wrote it.
    draft: Option<&'a str>,
}

/// Every decision in the log, in order.
fn records(events: &[Event]) -> Vec<Record<'_>> {
    let mut current: BTreeMap<&str, (u32, Option<&str>)> = BTreeMap::new();
    let mut out = Vec::new();
    for event in events {
        match &event.kind {
            EventKind::PhaseStarted { phase, attempt } => {
                current.insert(phase, (*attempt, None));
            }
            EventKind::Artifact {
                phase,
                attempt,
                content,
                ..
            } => {
                if let Some(entry) = current.get_mut(phase.as_str())
                    && entry.0 == *attempt
                {
                    entry.1 = Some(content);
                }
            }
            EventKind::Decision(decision) => {
                let now = current.get(decision.phase.as_str());
                out.push(Record {
                    t: event.t,
                    decision,
                    attempt: now.map(|c| c.0),
                    draft: now.and_then(|c| c.1),
                });
            }
            EventKind::SessionStarted { .. }
            | EventKind::Output { .. }
            | EventKind::Usage { .. }
            | EventKind::GateOpened { .. }
            | EventKind::PhaseFailed { .. }
            | EventKind::ToolCall { .. }
            | EventKind::PermissionAsked { .. }
            | EventKind::Permission { .. }
            | EventKind::ToolResult { .. }
            | EventKind::Snapshot { .. }
            | EventKind::Reverted { .. }
            | EventKind::RevertUndone { .. }
            | EventKind::Forked { .. }
            | EventKind::Retry { .. }
            | EventKind::Returned { .. }
            | EventKind::Invalid { .. }
            | EventKind::Engaged { .. }
            | EventKind::TaskStarted { .. }
            | EventKind::TaskOutput { .. }
            | EventKind::TaskFinished { .. }
            | EventKind::SessionFinished { .. }
            | EventKind::Unknown => {}
        }
    }
    out
}

/// The files written so far, relative to the output folder.
struct Output {
    dir: PathBuf,
    written: Vec<String>,
}

impl Output {
    fn put(&mut self, relative: &str, text: &str) -> Result<(), Failure> {
        use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
        let path = self.dir.join(relative);
        if let Some(parent) = path.parent() {
            private_dir(parent)?;
        }
        let failed = |e: std::io::Error| Failure::failed(format!("{}: {e}", path.display()));
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&path)
            .map_err(failed)?;
        // A file that was there already keeps its mode unless told.
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(failed)?;
        file.write_all(text.as_bytes()).map_err(failed)?;
        self.written.push(relative.to_owned());
        Ok(())
    }
}

/// Creates `dir` and its missing parents 0700 (an existing folder is left
/// as it is).
fn private_dir(dir: &Path) -> Result<(), Failure> {
    use std::os::unix::fs::DirBuilderExt as _;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| Failure::failed(format!("{}: {e}", dir.display())))
}

pub fn export(g: &Global, session: &str, out: &Path) -> Exit {
    let (loaded, events) = load(g, session)?;
    let prices = super::config()?.prices;
    let state = &loaded.state;
    let records = records(&events);
    let mut output = Output {
        dir: out.to_owned(),
        written: Vec::new(),
    };
    private_dir(out)?;

    let stem = |index: usize| format!("{:02}-{}", index + 1, slug(&state.phases[index].id));
    for (index, phase) in state.phases.iter().enumerate() {
        if let Some(text) = phase.effective_artifact() {
            let name = format!("{}-{}.md", stem(index), slug(&phase.artifact_name));
            output.put(&name, text)?;
        }
    }
    for (index, phase) in state.phases.iter().enumerate() {
        let stem = stem(index);
        for attempt in &phase.attempts {
            let name = format!("attempts/{stem}-attempt-{}", attempt.number);
            if let Some(draft) = &attempt.artifact {
                output.put(&format!("{name}.md"), draft)?;
            }
            if let Some(edited) = &attempt.edited {
                output.put(&format!("{name}-edited.md"), edited)?;
            }
        }
    }
    changes(state, &mut output)?;
    output.put("decisions.md", &decisions_md(state, &records))?;
    output.put("report.md", &report_md(&loaded, &records, &prices))?;

    let mut stdout = std::io::stdout().lock();
    for file in &output.written {
        writeln!(stdout, "{}", sanitize(file))?;
    }
    Ok(exit::OK)
}

/// What each phase changed in the workspace, from its latest snapshot:
/// `changes/<phase>.patch` when the repository can be read, else the
/// file list the log recorded (`changes/<phase>.txt`), with a warning.
fn changes(state: &SessionState, output: &mut Output) -> Result<(), Failure> {
    let root = state.workspace.as_ref().map(|w| PathBuf::from(&w.path));
    for phase in &state.phases {
        let Some(snapshot) = state.snapshot_of(&phase.id) else {
            continue;
        };
        if snapshot.files.is_empty() {
            continue;
        }
        let name = format!("changes/{}", slug(&phase.id));
        let read = root.as_deref().map(|root| {
            crate::tools::changes::change(root, snapshot.base.as_deref(), &snapshot.commit)
        });
        if let Some(Ok(change)) = read {
            output.put(&format!("{name}.patch"), &change.patch())?;
            continue;
        }
        eprintln!(
            "handoff: the workspace change of `{}` cannot be read here; {name}.txt lists its files",
            sanitize(&phase.id)
        );
        let mut list = String::new();
        for f in &snapshot.files {
            let _ = writeln!(list, "{}", f.line());
        }
        output.put(&format!("{name}.txt"), &list)?;
    }
    Ok(())
}

/// A file-name-safe form of a phase id or artifact name.
fn slug(name: &str) -> String {
    let slug: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    if slug.is_empty() {
        "-".to_owned()
    } else {
        slug
    }
}

/// A point in time as the files show it.
fn when(t: Option<DateTime<Utc>>) -> String {
    t.map_or_else(
        || "-".to_owned(),
        |t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
    )
}

/// "0.4s", "42s", "3m 05s", "2h 10m", "1d 4h".
pub(super) fn duration(d: TimeDelta) -> String {
    let ms = d.num_milliseconds().max(0);
    let secs = ms / 1000;
    match secs {
        s if s < 10 => format!("{}.{}s", s, (ms % 1000) / 100),
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m {:02}s", s / 60, s % 60),
        s if s < 86_400 => format!("{}h {:02}m", s / 3600, (s % 3600) / 60),
        s => format!("{}d {}h", s / 86_400, (s % 86_400) / 3600),
    }
}

fn span(from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>) -> String {
    match (from, to) {
        (Some(a), Some(b)) => duration(b - a),
        _ => "-".to_owned(),
    }
}

/// Text on one line, safe inside a Markdown table cell.
fn cell(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

/// `text` as a Markdown block quote.
/// Appends `text` as a block quote indented under a list item.
fn push_quoted(md: &mut String, text: &str) {
    for line in quote(text).lines() {
        let _ = writeln!(md, "  {line}");
    }
}

fn quote(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        out.push_str(if line.is_empty() { ">" } else { "> " });
        out.push_str(line);
        out.push('\n');
    }
    if out.is_empty() {
        out.push_str("> (empty)\n");
    }
    out
}

/// `text` in a fenced block of `lang` that its own backticks cannot close.
fn fenced(lang: &str, text: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat((longest + 1).max(3));
    let newline = if text.ends_with('\n') { "" } else { "\n" };
    format!("{fence}{lang}\n{text}{newline}{fence}\n")
}

/// The unified diff from the agent's draft to a human's edit.
fn edit_diff(draft: Option<&str>, edited: &str) -> String {
    similar::TextDiff::from_lines(draft.unwrap_or_default(), edited)
        .unified_diff()
        .header("draft", "edited")
        .to_string()
}

fn role_of<'a>(state: &'a SessionState, phase: &str) -> &'a str {
    state
        .phases
        .iter()
        .find(|p| p.id == phase)
        .map_or("", |p| p.role.as_str())
}

fn attempt_text(attempt: Option<u32>) -> String {
    attempt.map_or_else(String::new, |n| format!(" attempt {n}"))
}

fn decisions_md(state: &SessionState, records: &[Record<'_>]) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "# Decisions: {}\n", cell(&state.request));
    let _ = writeln!(md, "Session `{}`.\n", cell(&state.id));
    if records.is_empty() {
        md.push_str("No decisions were made.\n");
    }
    for (i, r) in records.iter().enumerate() {
        let d = r.decision;
        let _ = writeln!(
            md,
            "## {}. {}: {}\n",
            i + 1,
            cell(&d.phase),
            d.action.as_str()
        );
        let _ = writeln!(md, "- Role: {}", cell(role_of(state, &d.phase)));
        let _ = writeln!(md, "- By: {}", d.by.as_str());
        let _ = writeln!(md, "- When: {}", when(Some(r.t)));
        if let Some(n) = r.attempt {
            let _ = writeln!(md, "- Attempt: {n}");
        }
        if let Some(to) = &d.to {
            let _ = writeln!(md, "- Returned to: {}", cell(to));
        }
        md.push('\n');
        if let Some(notes) = &d.notes {
            let _ = writeln!(md, "Notes:\n\n{}", quote(notes));
        }
        if let Some(feedback) = &d.feedback {
            let _ = writeln!(md, "Feedback:\n\n{}", quote(feedback));
        }
        if !d.comments.is_empty() {
            md.push_str("Review comments:\n\n");
            for c in &d.comments {
                let _ = writeln!(md, "- `{}:{}`: {}", cell(&c.file), c.line, cell(&c.text));
                if !c.code.is_empty() {
                    let _ = writeln!(
                        md,
                        "\n  {}",
                        fenced("", &c.code).replace('\n', "\n  ").trim_end()
                    );
                }
            }
            md.push('\n');
        }
        if d.action == Action::Edit
            && let Some(content) = &d.content
        {
            let _ = writeln!(
                md,
                "Edit, against the agent's draft:\n\n{}",
                fenced("diff", &edit_diff(r.draft, content))
            );
        }
    }
    md
}

fn report_md(loaded: &Loaded, records: &[Record<'_>], prices: &Prices) -> String {
    let state = &loaded.state;
    let mut md = String::new();
    let _ = writeln!(md, "# {}\n", cell(&state.request));
    let outcome = state
        .outcome
        .map(|o| format!(" ({})", o.as_str()))
        .unwrap_or_default();
    let _ = writeln!(md, "| | |\n|---|---|");
    let _ = writeln!(md, "| Session | `{}` |", cell(&state.id));
    if let Some(p) = &state.pipeline {
        let _ = writeln!(md, "| Pipeline | {} |", cell(&p.name));
    }
    if let Some((from, at)) = &state.forked_from {
        let _ = writeln!(md, "| Forked from | `{}` at `{}` |", cell(from), cell(at));
    }
    let _ = writeln!(
        md,
        "| Provider | {} · {} |",
        cell(&state.provider),
        cell(&state.model)
    );
    let _ = writeln!(md, "| Status | {}{outcome} |", loaded.status.as_str());
    let _ = writeln!(md, "| Started | {} |", when(state.started_at));
    let _ = writeln!(md, "| Finished | {} |", when(state.finished_at));
    let _ = writeln!(
        md,
        "| Duration | {} |",
        span(state.started_at, state.finished_at)
    );
    let _ = writeln!(
        md,
        "| Tokens | {} prompt · {} completion · {} total |",
        state.usage.prompt_tokens,
        state.usage.completion_tokens,
        state.usage.total()
    );
    if let Some(cost) = cost::session_cost(state, prices).filter(|_| !prices.is_empty()) {
        let _ = writeln!(md, "| Cost | ${cost:.4} |");
    }
    md.push('\n');

    timeline(&mut md, state, records);
    approvals(&mut md, state, records);
    interventions(&mut md, state, records);
    failures(&mut md, state);
    tools(&mut md, state);
    usage(&mut md, state, prices);
    md
}

/// When the phase was last approved, if it is approved now.
fn approved_at(records: &[Record<'_>], phase: &str) -> Option<DateTime<Utc>> {
    records
        .iter()
        .rev()
        .find(|r| {
            r.decision.phase == phase
                && matches!(
                    r.decision.action,
                    Action::Approve | Action::ApproveWithNotes
                )
        })
        .map(|r| r.t)
}

fn timeline(md: &mut String, state: &SessionState, records: &[Record<'_>]) {
    md.push_str("## Timeline\n\n");
    md.push_str(
        "| # | Phase | Role | Attempts | Status | Started | Finished | Duration | Tokens |\n",
    );
    md.push_str("|--:|---|---|--:|---|---|---|--:|--:|\n");
    for (i, p) in state.phases.iter().enumerate() {
        let started = p.attempts.first().and_then(|a| a.started_at);
        let finished = if p.status == PhaseStatus::Approved {
            approved_at(records, &p.id)
        } else {
            None
        };
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            i + 1,
            cell(&p.id),
            cell(&p.role),
            p.attempts.len(),
            p.status.as_str(),
            when(started),
            when(finished),
            span(started, finished),
            p.usage.total()
        );
    }
    md.push('\n');
}

/// A `## heading` with one bullet per record `line` describes, each
/// followed by its quoted text (`note` gives the lead-in and the text);
/// "None." when there is none.
fn decisions<'r>(
    md: &mut String,
    heading: &str,
    records: impl Iterator<Item = &'r Record<'r>>,
    line: impl Fn(&Record<'_>) -> String,
    note: fn(&Decision) -> Option<(&'static str, &str)>,
) {
    let _ = write!(md, "## {heading}\n\n");
    let mut any = false;
    for r in records {
        any = true;
        let _ = writeln!(md, "- {}", line(r));
        if let Some((lead, text)) = note(r.decision) {
            md.push_str(lead);
            push_quoted(md, text);
        }
    }
    if !any {
        md.push_str("None.\n");
    }
}

/// "`phase` (attempt N) (Role): `verb` by who at when".
fn decided(state: &SessionState, r: &Record<'_>, verb: &str) -> String {
    let d = r.decision;
    format!(
        "`{}`{} ({}): {verb} by {} at {}",
        cell(&d.phase),
        attempt_text(r.attempt),
        cell(role_of(state, &d.phase)),
        d.by.as_str(),
        when(Some(r.t))
    )
}

fn approvals(md: &mut String, state: &SessionState, records: &[Record<'_>]) {
    let approved = records.iter().filter(|r| {
        matches!(
            r.decision.action,
            Action::Approve | Action::ApproveWithNotes
        )
    });
    let line = |r: &Record<'_>| decided(state, r, "approved");
    decisions(md, "Approvals", approved, line, |d| {
        d.notes.as_deref().map(|n| ("  with notes:\n\n", n))
    });
    md.push('\n');
}

/// Rejections, returns, edits and aborts.
fn interventions(md: &mut String, state: &SessionState, records: &[Record<'_>]) {
    let of = |action: Action| records.iter().filter(move |r| r.decision.action == action);
    let feedback: fn(&Decision) -> Option<(&'static str, &str)> =
        |d| d.feedback.as_deref().map(|f| ("\n", f));

    let rejected = |r: &Record<'_>| decided(state, r, "rejected");
    decisions(md, "Rejections", of(Action::Reject), rejected, feedback);

    let returned = |r: &Record<'_>| {
        let d = r.decision;
        format!(
            "`{}` → `{}`: returned by {} at {}",
            cell(&d.phase),
            cell(d.to.as_deref().unwrap_or("?")),
            d.by.as_str(),
            when(Some(r.t))
        )
    };
    md.push('\n');
    decisions(md, "Returns", of(Action::Return), returned, feedback);

    md.push_str("\n## Edits\n\n");
    let mut any = false;
    for r in of(Action::Edit) {
        let d = r.decision;
        let Some(content) = &d.content else { continue };
        any = true;
        let _ = writeln!(
            md,
            "### `{}`{}, edited by {} at {}\n\n{}",
            cell(&d.phase),
            attempt_text(r.attempt),
            d.by.as_str(),
            when(Some(r.t)),
            fenced("diff", &edit_diff(r.draft, content))
        );
    }
    if !any {
        md.push_str("None.\n\n");
    }

    for r in of(Action::Abort) {
        let _ = writeln!(
            md,
            "Aborted at `{}` by {} at {}.\n",
            cell(&r.decision.phase),
            r.decision.by.as_str(),
            when(Some(r.t))
        );
    }
}

fn failures(md: &mut String, state: &SessionState) {
    let failed: Vec<_> = state
        .phases
        .iter()
        .flat_map(|p| p.attempts.iter().map(move |a| (p, a)))
        .filter_map(|(p, a)| a.error.as_deref().map(|e| (p, a, e)))
        .collect();
    if failed.is_empty() {
        return;
    }
    md.push_str("## Failures\n\n");
    for (p, a, error) in failed {
        let _ = writeln!(
            md,
            "- `{}` attempt {} at {}: {}",
            cell(&p.id),
            a.number,
            when(a.ended_at),
            cell(error)
        );
    }
    md.push('\n');
}

/// Calls, successes, failures and denials of one tool.
#[derive(Default)]
struct ToolCount {
    calls: usize,
    ok: usize,
    failed: usize,
    denied: usize,
}

fn tools(md: &mut String, state: &SessionState) {
    let mut rows = Vec::new();
    for p in &state.phases {
        let mut by_tool: BTreeMap<&str, ToolCount> = BTreeMap::new();
        for run in p.attempts.iter().flat_map(|a| &a.tools) {
            let count = by_tool.entry(run.tool.as_str()).or_default();
            count.calls += 1;
            match &run.state {
                ToolState::Done { ok: true, .. } => count.ok += 1,
                ToolState::Done { ok: false, .. } => count.failed += 1,
                ToolState::Denied { .. } => count.denied += 1,
                ToolState::Asking | ToolState::Running => {}
            }
        }
        rows.extend(by_tool.into_iter().map(|(tool, c)| (p, tool, c)));
    }
    if rows.is_empty() {
        return;
    }
    md.push_str("## Tool calls\n\n");
    md.push_str("| Phase | Tool | Calls | OK | Failed | Denied |\n|---|---|--:|--:|--:|--:|\n");
    for (p, tool, c) in rows {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} |",
            cell(&p.id),
            cell(tool),
            c.calls,
            c.ok,
            c.failed,
            c.denied
        );
    }
    md.push('\n');
}

fn usage(md: &mut String, state: &SessionState, prices: &Prices) {
    let has_prices = !prices.is_empty();
    md.push_str("## Tokens and cost\n\n");
    md.push_str("| Phase | Model | Prompt | Completion | Total | Cost |\n");
    md.push_str("|---|---|--:|--:|--:|--:|\n");
    let money = |c: Option<f64>| c.map_or_else(|| "-".to_owned(), |c| format!("${c:.4}"));
    for (i, p) in state.phases.iter().enumerate() {
        let cost = if has_prices {
            cost::phase_cost(state, i, prices)
        } else {
            None
        };
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} |",
            cell(&p.id),
            cell(cost::phase_model(state, i)),
            p.usage.prompt_tokens,
            p.usage.completion_tokens,
            p.usage.total(),
            money(cost)
        );
    }
    let total = if has_prices {
        cost::session_cost(state, prices)
    } else {
        None
    };
    let _ = writeln!(
        md,
        "| **Total** | | {} | {} | {} | {} |",
        state.usage.prompt_tokens,
        state.usage.completion_tokens,
        state.usage.total(),
        money(total)
    );
    if !has_prices {
        md.push_str("\nNo prices in config.toml, so no cost.\n");
    } else if total.is_none() {
        md.push_str("\nSome models have no price in config.toml, so no total cost.\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_keep_names_inside_the_folder() {
        assert_eq!(slug("test-report"), "test-report");
        assert_eq!(slug("../etc/passwd"), "---etc-passwd");
        assert_eq!(slug(""), "-");
    }

    #[test]
    fn fences_outlast_the_backticks_inside() {
        assert_eq!(fenced("diff", "a\n"), "```diff\na\n```\n");
        assert_eq!(fenced("", "````x"), "`````\n````x\n`````\n");
    }

    #[test]
    fn durations_read_at_a_glance() {
        assert_eq!(duration(TimeDelta::milliseconds(420)), "0.4s");
        assert_eq!(duration(TimeDelta::seconds(42)), "42s");
        assert_eq!(duration(TimeDelta::seconds(185)), "3m 05s");
        assert_eq!(duration(TimeDelta::seconds(7800)), "2h 10m");
        assert_eq!(duration(TimeDelta::seconds(100_800)), "1d 4h");
    }
}
