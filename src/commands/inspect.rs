//! `show`, `sessions` and `check`: reading what is on disk.

use std::io::{IsTerminal, Write};
use std::path::Path;

use chrono::Utc;
use serde_json::json;

use super::{Exit, Failure, exit, sessions_dir, skills_file};
use crate::cli::Global;
use crate::config;
use crate::diagnostic::Diagnostic;
use crate::pipeline::load_pipeline;
use crate::sanitize::sanitize;
use crate::session::store::{self, Loaded};
use crate::session::{SessionOutcome, SessionStatus};
use crate::tui::keymap::Keymap;
use crate::tui::theme::{BUILTIN_THEMES, check_theme_file};

/// Loads a session as `show` and `export` need it: an unknown session is
/// a usage error, an unreadable log a failure, a torn tail a warning.
pub(super) fn load(g: &Global, session: &str) -> Result<Loaded, Failure> {
    let dir = sessions_dir(g);
    let path = store::resolve(&dir, session).map_err(|e| Failure::usage(e.to_string()))?;
    let loaded = store::load(&path).map_err(|e| super::unusable(&e))?;
    if loaded.state.pipeline.is_none() {
        return Err(Failure::failed(format!(
            "{}: no session_started event; not a session log",
            path.display()
        )));
    }
    if let Some(line) = loaded.torn_line {
        eprintln!(
            "handoff: {}:{line}: the last line was cut short (a crash mid-write?) and is ignored",
            super::shown(path.display())
        );
    }
    Ok(loaded)
}

/// The folded state as `show --json` prints it: a contract other tools
/// read, kept apart from the fold's own types so neither binds the other.
pub fn state_json(loaded: &Loaded) -> serde_json::Value {
    let s = &loaded.state;
    json!({
        "id": s.id,
        "request": s.request,
        "status": loaded.status.as_str(),
        "outcome": s.outcome.map(SessionOutcome::as_str),
        "provider": s.provider,
        "model": s.model,
        "pipeline": s.pipeline.as_ref().map(|p| p.name.as_str()),
        "started_at": s.started_at,
        "finished_at": s.finished_at,
        "path": loaded.path,
        "phases": s.phases.iter().map(|p| json!({
            "id": p.id,
            "role": p.role,
            "status": p.status.as_str(),
            "attempts": p.attempts.len(),
            "artifact_name": p.artifact_name,
            "artifact": p.effective_artifact(),
            "edited": p.current().is_some_and(|a| a.edited.is_some()),
            "usage": p.usage,
            "utilities": p.utilities,
        })).collect::<Vec<_>>(),
        "usage": s.usage,
    })
}

/// The text `show --artifact NAME` prints: a phase's whole artifact (by
/// its name or the phase's id), or one of its named outputs (`roadmap`,
/// or `definition:roadmap` where two phases write one of that name).
fn artifact_text(state: &crate::session::SessionState, name: &str) -> Result<String, Failure> {
    let whole = state
        .phases
        .iter()
        .find(|p| p.artifact_name == name || p.id == name);
    if let Some(phase) = whole {
        return phase
            .effective_artifact()
            .map(str::to_owned)
            .ok_or_else(|| {
                Failure::failed(format!(
                    "`{name}` has no artifact yet ({})",
                    phase.status.as_str()
                ))
            });
    }
    let (wanted_phase, output) = name
        .split_once(':')
        .map_or((None, name), |(p, o)| (Some(p), o));
    let declared: Vec<(usize, String)> = state
        .pipeline
        .iter()
        .flat_map(|p| p.phases.iter().enumerate())
        .filter(|(_, p)| p.sectioned() && wanted_phase.is_none_or(|w| w == p.id))
        .filter(|(_, p)| p.output_names().contains(&output))
        .map(|(i, p)| (i, format!("{}:{output}", p.id)))
        .collect();
    let index = match declared.as_slice() {
        [(index, _)] => *index,
        [] => {
            let names: Vec<&str> = state
                .phases
                .iter()
                .map(|p| p.artifact_name.as_str())
                .collect();
            return Err(Failure::usage(format!(
                "no artifact or output `{name}` (this session has: {})",
                names.join(", ")
            )));
        }
        several => {
            let names: Vec<&str> = several.iter().map(|(_, n)| n.as_str()).collect();
            return Err(Failure::usage(format!(
                "`{name}` is written by more than one phase: name one of {}",
                names.join(", ")
            )));
        }
    };
    let names = state.section_names(index);
    state.phases[index]
        .current()
        .map(|a| a.sections(&names))
        .and_then(|s| s.found.into_iter().find(|s| s.name == output))
        .map(|s| s.content)
        .ok_or_else(|| Failure::failed(format!("`{name}` has not been written")))
}

pub fn show(g: &Global, session: &str, as_json: bool, artifact: Option<&str>) -> Exit {
    let loaded = load(g, session)?;
    let state = &loaded.state;
    let mut out = std::io::stdout().lock();
    if let Some(name) = artifact {
        let text = artifact_text(state, name)?;
        // Exact bytes for pipes; never raw control sequences on a terminal.
        if out.is_terminal() {
            write!(out, "{}", sanitize(&text))?;
        } else {
            write!(out, "{text}")?;
        }
        return Ok(exit::OK);
    }
    if as_json {
        let text = crate::sanitize::json(&state_json(&loaded), true)
            .map_err(|e| Failure::failed(e.to_string()))?;
        writeln!(out, "{text}")?;
        return Ok(exit::OK);
    }
    let outcome = state
        .outcome
        .map(|o| format!(" ({})", o.as_str()))
        .unwrap_or_default();
    writeln!(out, "session   {}", sanitize(&state.id))?;
    writeln!(out, "request   {}", sanitize(&state.request))?;
    writeln!(out, "status    {}{outcome}", loaded.status.as_str())?;
    writeln!(
        out,
        "provider  {} · {}",
        sanitize(&state.provider),
        sanitize(&state.model)
    )?;
    writeln!(
        out,
        "tokens    {} prompt · {} completion",
        state.usage.prompt_tokens, state.usage.completion_tokens
    )?;
    writeln!(out, "log       {}\n", super::shown(loaded.path.display()))?;
    writeln!(
        out,
        "  #  {:<11} {:<26} {:<14} {:>8}  artifact",
        "phase", "role", "status", "attempts"
    )?;
    for (i, p) in state.phases.iter().enumerate() {
        let artifact = p.effective_artifact().map_or_else(
            || "-".to_owned(),
            |a| {
                format!(
                    "{} ({} lines)",
                    sanitize(&p.artifact_name),
                    a.lines().count()
                )
            },
        );
        writeln!(
            out,
            "  {}  {:<11} {:<26} {:<14} {:>8}  {artifact}",
            i + 1,
            sanitize(&p.id),
            sanitize(&p.role),
            p.status.as_str(),
            p.attempts.len()
        )?;
    }
    Ok(exit::OK)
}

/// "3m", "2h", "5d": how long ago.
pub(super) fn age(then: Option<chrono::DateTime<Utc>>) -> String {
    let Some(then) = then else { return "-".into() };
    let secs = (Utc::now() - then).num_seconds().max(0);
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m", s / 60),
        s if s < 86_400 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}

/// The id a damaged log would have: its file name without `.jsonl`.
fn damaged_id(e: &crate::session::log::LogError) -> String {
    e.path()
        .file_stem()
        .map_or_else(String::new, |s| s.to_string_lossy().into_owned())
}

/// The phase a session is at: its open gate or running phase, else the
/// last one that ran.
fn current_phase(s: &crate::session::SessionState) -> Option<&str> {
    s.active_phase()
        .or_else(|| s.phases.iter().rposition(|p| !p.attempts.is_empty()))
        .map(|i| s.phases[i].id.as_str())
}

/// The status `sessions` lists: a finished session that was aborted says so.
fn listed_status(loaded: &Loaded) -> &'static str {
    match (loaded.status, loaded.state.outcome) {
        (SessionStatus::Finished, Some(SessionOutcome::Aborted)) => "aborted",
        (
            SessionStatus::Running
            | SessionStatus::AwaitingGate
            | SessionStatus::Finished
            | SessionStatus::Failed
            | SessionStatus::Interrupted,
            _,
        ) => loaded.status.as_str(),
    }
}

/// One session in `sessions --json`: what it is and where it stands, not
/// its artifacts (`show --json` has those).
fn summary_json(loaded: &Loaded) -> serde_json::Value {
    let s = &loaded.state;
    json!({
        "id": s.id,
        "request": s.request,
        "status": listed_status(loaded),
        "outcome": s.outcome.map(SessionOutcome::as_str),
        "provider": s.provider,
        "model": s.model,
        "pipeline": s.pipeline.as_ref().map(|p| p.name.as_str()),
        "phase": current_phase(s),
        "started_at": s.started_at,
        "finished_at": s.finished_at,
        "path": loaded.path,
        "phases": s.phases.iter().map(|p| json!({
            "id": p.id,
            "status": p.status.as_str(),
            "attempts": p.attempts.len(),
        })).collect::<Vec<_>>(),
        "usage": s.usage,
        "torn_line": loaded.torn_line,
    })
}

pub fn sessions(g: &Global, as_json: bool) -> Exit {
    let dir = sessions_dir(g);
    let all = store::list(&dir);
    let mut out = std::io::stdout().lock();
    if as_json {
        let items: Vec<_> = all
            .iter()
            .map(|l| match l {
                Ok(loaded) => summary_json(loaded),
                Err(e) => json!({
                    "id": damaged_id(e),
                    "path": e.path(),
                    "status": "damaged",
                    "line": e.line(),
                    "error": e.to_string(),
                }),
            })
            .collect();
        let text =
            crate::sanitize::json(&items, true).map_err(|e| Failure::failed(e.to_string()))?;
        writeln!(out, "{text}")?;
        return Ok(exit::OK);
    }
    if all.is_empty() {
        writeln!(out, "no sessions in {}", super::shown(dir.display()))?;
        return Ok(exit::OK);
    }
    writeln!(
        out,
        "{:<22} {:<14} {:<10} {:>4}  request",
        "id", "status", "phase", "age"
    )?;
    for item in &all {
        match item {
            Ok(l) => {
                let s = &l.state;
                let phase = current_phase(s).unwrap_or("-");
                let torn = l
                    .torn_line
                    .map(|n| format!("[line {n} cut short] "))
                    .unwrap_or_default();
                let request: String = format!("{torn}{}", sanitize(&s.request))
                    .chars()
                    .take(60)
                    .collect();
                writeln!(
                    out,
                    "{:<22} {:<14} {:<10} {:>4}  {request}",
                    sanitize(&s.id),
                    listed_status(l),
                    sanitize(phase),
                    age(s.started_at)
                )?;
            }
            Err(e) => writeln!(
                out,
                "{:<22} {:<14} {:<10} {:>4}  {}",
                sanitize(&damaged_id(e)),
                "damaged",
                e.line()
                    .map_or_else(|| "-".to_owned(), |n| format!("line {n}")),
                "-",
                sanitize(&e.to_string())
            )?,
        }
    }
    Ok(exit::OK)
}

/// Validates skills.toml, the theme, keymap.toml and config.toml, printing
/// every mistake with its position. Exit 2 if there was any.
pub fn check(g: &Global, plan: Option<&Path>) -> Exit {
    let mut mistakes: Vec<Diagnostic> = Vec::new();
    let file = skills_file(g)?;
    // Every pipeline in the file, the default first.
    let names = crate::pipeline::pipeline_names(&file)
        .map_err(|found| mistakes.extend(found))
        .unwrap_or_default();
    for (i, name) in names.iter().enumerate() {
        match load_pipeline(&file, Some(name)) {
            Ok(p) => println!(
                "{}: ok — pipeline `{}`{}, {} phases: {}",
                super::shown(file.display_name()),
                super::shown(&p.name),
                if i == 0 { " (default)" } else { "" },
                p.phases.len(),
                super::shown(
                    p.phases
                        .iter()
                        .map(|p| p.id.as_str())
                        .collect::<Vec<_>>()
                        .join(" → ")
                )
            ),
            Err(found) => {
                for d in found {
                    if !mistakes.contains(&d) {
                        mistakes.push(d);
                    }
                }
            }
        }
    }
    let dir = config::config_dir(super::env_var);
    let config = match dir.as_ref().map(|d| config::load(&d.join("config.toml"))) {
        Some(Err(found)) => {
            mistakes.push(found);
            config::Config::default()
        }
        Some(Ok(c)) => c,
        None => config::Config::default(),
    };
    let theme = g
        .theme
        .clone()
        .or(config.theme)
        .unwrap_or_else(|| "default".to_owned());
    if BUILTIN_THEMES.contains(&theme.as_str()) {
        println!("theme `{}`: ok (built in)", super::shown(&theme));
    } else {
        match check_theme_file(Path::new(&theme)) {
            Ok(_) => println!("{}: ok", super::shown(&theme)),
            Err(found) => mistakes.extend(found),
        }
    }
    if let Some(path) = dir.map(|d| d.join("keymap.toml"))
        && let Ok(bytes) = std::fs::read(&path)
    {
        let file = path.display().to_string();
        match crate::diagnostic::decode(&file, bytes).map_err(|d| vec![d]) {
            Ok(text) => match Keymap::patched(&file, &text) {
                Ok(_) => println!("{}: ok", super::shown(&file)),
                Err(found) => mistakes.extend(found),
            },
            Err(found) => mistakes.extend(found),
        }
    }
    for d in &mistakes {
        println!("{}", sanitize(&d.to_string()));
    }
    let plan_mistakes = match plan {
        Some(path) => check_plan(g, &file, path),
        None => 0,
    };
    let count = mistakes.len() + plan_mistakes;
    if count == 0 {
        Ok(exit::OK)
    } else {
        eprintln!(
            "handoff: {count} mistake{} found",
            if count == 1 { "" } else { "s" }
        );
        Ok(exit::USAGE)
    }
}

/// Checks the plan in `path` as the pipeline `--pipeline` names (else the
/// default) would check its Solution Architect's answer: prints it as ok,
/// or each mistake, and what was corrected; returns how many mistakes.
fn check_plan(g: &Global, file: &crate::pipeline::SkillsFile, path: &Path) -> usize {
    let shown = super::shown(path.display().to_string());
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) => {
            println!("{shown}: cannot read it: {e}");
            return 1;
        }
    };
    // A pipeline that does not load was reported above: any skill passes.
    let skills: Vec<String> = load_pipeline(file, g.pipeline.as_deref()).map_or_else(
        |_| Vec::new(),
        |p| p.skill_ids().into_iter().map(str::to_owned).collect(),
    );
    let skills: Vec<&str> = skills.iter().map(String::as_str).collect();
    match crate::formats::plan::read_with(&text, &skills) {
        Ok(plan) => {
            println!("{shown}: ok — plan, {} tasks", plan.tasks.len());
            for c in plan.corrections() {
                println!("{shown}: corrected: {}", sanitize(&c));
            }
            0
        }
        Err(errors) => {
            for e in &errors {
                println!("{shown}: {}", sanitize(e));
            }
            errors.len()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::{SkillsFile, load_pipeline};
    use crate::session::EventKind;
    use crate::session::testing::{fold, started_with};

    #[test]
    fn a_phase_declaring_one_output_shows_it_by_its_name() {
        let mut pipeline = load_pipeline(&SkillsFile::builtin(), None).expect("built-in");
        pipeline.phases[0].outputs = vec!["brief".into()];
        let phase = pipeline.phases[0].id.clone();
        let state = fold([
            started_with("r", "offline", pipeline),
            EventKind::PhaseStarted {
                phase: phase.clone(),
                attempt: 1,
            },
            EventKind::Artifact {
                outputs: Vec::new(),
                missing: Vec::new(),
                phase,
                attempt: 1,
                name: "requirements".into(),
                content: "Intro.\n\n## brief\nThe brief.\n".into(),
            },
        ]);
        assert_eq!(artifact_text(&state, "brief").expect("shown"), "The brief.");
    }
}
