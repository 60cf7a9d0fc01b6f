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
use crate::sanitize::sanitize;
use crate::session::log::read_log;
use crate::session::store::Loaded;
use crate::session::{Action, Decision, Event, EventKind, SessionState};

mod report;

use report::report_md;

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
            | EventKind::Advice { .. }
            | EventKind::Summoned { .. }
            | EventKind::Utility { .. }
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
        // A phase with named outputs: each as a file of its own,
        // as later roles read it (a person's edit split again).
        let declared = state.section_names(index);
        if let (false, Some(attempt)) = (declared.is_empty(), phase.current()) {
            for section in attempt.sections(&declared).found {
                let name = format!("outputs/{}-{}.md", stem(index), slug(&section.name));
                output.put(&name, &section.content)?;
            }
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
    // What consulted specialists advised each phase's role.
    for (index, phase) in state.phases.iter().enumerate() {
        for advice in phase.advice.iter().filter(|a| a.given()) {
            let name = format!(
                "advice/{}-{}-attempt-{}.md",
                stem(index),
                slug(&advice.specialist),
                advice.attempt
            );
            output.put(&name, &advice.text)?;
        }
        // What utility roles summoned at its gates wrote.
        for report in phase.utilities.iter().filter(|r| r.given()) {
            let name = format!(
                "utilities/{}-{}-event-{}.md",
                stem(index),
                slug(&report.utility),
                report.seq
            );
            output.put(&name, &report.text)?;
        }
    }
    changes(state, &mut output)?;
    output.put("decisions.md", &decisions_md(state, &records))?;
    output.put("report.md", &report_md(&loaded, &events, &records, &prices))?;

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
