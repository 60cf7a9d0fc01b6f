//! `handoff run`: start a session and drive it from the TUI or headless.

use std::io::IsTerminal;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;

use super::{Exit, Failure, exit, pipeline, provider, sessions_dir};
use crate::cli::{ApproveMode, Global, Headless};
use crate::clock::{Clock, SystemClock};
use crate::engine::{Engine, LogWriter, SessionSpec};
use crate::headless::{self, GatePolicy};
use crate::protocol::Update;
use crate::provider::probe::Capabilities;
use crate::sandbox::Sandboxing;
use crate::session::{Event, EventKind, SessionStatus, store};
use crate::tools::git;
use crate::tools::workspace::Workspace;
use crate::tui::{self, Tty};

use super::start::{Start, pick, read_request};

/// The workspace tools work in, if `--workspace` names one: roles that
/// write or run commands need a git work tree (so their work is reviewable
/// and is delivered on its own branch, `handoff/<session>`).
fn open_workspace(
    g: &Global,
    pipeline: &crate::pipeline::Pipeline,
    id: &str,
) -> Result<(Option<Workspace>, Option<String>), Failure> {
    let Some(dir) = &g.workspace else {
        return Ok((None, None));
    };
    let workspace = Workspace::open(dir)
        .map_err(|e| Failure::usage(format!("workspace {}: {e}", dir.display())))?;
    let work_tree = git::work_tree(workspace.root())
        .map_err(|e| Failure::usage(format!("workspace {}: {e}", dir.display())))?;
    if !work_tree {
        let writers: Vec<&str> = pipeline
            .phases
            .iter()
            .filter(|p| {
                p.tools
                    .iter()
                    .any(|t| t == "write_file" || t == "run_command")
            })
            .map(|p| p.role.as_str())
            .collect();
        if !writers.is_empty() {
            return Err(Failure::usage(format!(
                "the workspace {} is not a git work tree, and these roles change files or run commands there: {} (run `git init` first)",
                dir.display(),
                writers.join(", ")
            )));
        }
        return Ok((Some(workspace), None));
    }
    Ok((Some(workspace), Some(format!("handoff/{id}"))))
}

pub async fn run(tty: &mut Tty, g: &Global, request: Option<String>, h: &Headless) -> Exit {
    // The default (or named) pipeline, for the start screen; the request
    // may pick another by its triggers once it is known.
    let pipeline = pipeline(tty, g, None)?;
    let interactive = !h.headless && std::io::stdout().is_terminal();
    if !h.headless && !interactive {
        return Err(Failure::usage(
            "stdout is not a terminal: use --headless to run without the TUI",
        ));
    }
    let chosen = provider(g, !h.headless, None)?;
    let request = loop {
        match read_request(
            tty,
            request.as_deref(),
            interactive,
            &pipeline,
            chosen.provider.name(),
            g,
        )
        .await?
        {
            Start::Submit(request) => break request,
            Start::Resume(path) => return resume(tty, g, &path.display().to_string(), h).await,
            // A replay picked on the start screen comes back to it.
            Start::Replay(path) => {
                let path = path.display().to_string();
                super::replay::replay(tty, g, &path, None, false, false).await?;
            }
            Start::Editing | Start::Stats | Start::Cancel => return Ok(exit::OK),
        }
    };
    let Some((mut pipeline, detected)) = pick(tty, g, &request, interactive).await? else {
        return Ok(exit::OK);
    };
    // `--language`, else config.toml's, over what the pipeline says.
    if let Some(language) = g.language.clone().or(super::config()?.language) {
        for phase in &mut pipeline.phases {
            phase.language = Some(language.clone());
        }
    }
    let policy = gate_policy(h, &pipeline)?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let id = store::new_id(clock.now());
    let (workspace, branch) = open_workspace(g, &pipeline, &id)?;
    let dir = sessions_dir(g);
    let ui = ui(g, h)?;
    // The probe (if any) first: no session log waits empty on it.
    let (spec, caps) = session_spec(
        tty,
        id.clone(),
        request,
        pipeline,
        chosen,
        (workspace, branch),
        clock,
    )
    .await?;
    let log = LogWriter::create(&dir, &id).map_err(|e| Failure::failed(e.to_string()))?;
    super::warn_if_open(tty, &[&dir]);
    let mut spec = spec;
    spec.detected = Some(detected);
    let ui = with_caps(ui, caps.as_ref());
    attend(tty, h, policy, spec, log, Begin::New, ui).await
}

/// `handoff resume`: continue an interrupted session from its log.
pub async fn resume(tty: &mut Tty, g: &Global, session: &str, h: &Headless) -> Exit {
    let path =
        store::resolve(&sessions_dir(g), session).map_err(|e| Failure::usage(e.to_string()))?;
    let ui = ui(g, h)?;
    let (log, events) = LogWriter::open_append(&path).map_err(|e| super::unusable(&e))?;
    crate::session::log::check_session(&path, &events, None).map_err(|e| super::unusable(&e))?;
    let folder = path.parent().unwrap_or(std::path::Path::new("."));
    super::warn_if_open(tty, &[folder, &path]);
    let state = crate::session::SessionState::from_events(&events);
    let Some(pipeline) = state.pipeline.clone() else {
        return Err(Failure::failed(format!(
            "{}: not a session log",
            path.display()
        )));
    };
    if state.is_over() {
        tty.say(format!(
            "{} already finished ({})",
            crate::sanitize::sanitize(&state.id),
            state.status.as_str()
        ));
        return Ok(exit::OK);
    }
    let policy = gate_policy(h, &pipeline)?;
    let interactive = !h.headless && std::io::stdout().is_terminal();
    if !h.headless && !interactive {
        return Err(Failure::usage(
            "stdout is not a terminal: use --headless to resume without the TUI",
        ));
    }
    let recorded = super::Recorded {
        provider: &state.provider,
        model: &state.model,
    };
    let chosen = provider(g, !h.headless, Some(recorded))?;
    if (chosen.provider.name(), chosen.model.as_str()) != (&state.provider, &state.model) {
        tty.say(format!(
            "resuming with {} · {}; the session started with {} · {}",
            chosen.provider.name(),
            crate::sanitize::sanitize(&chosen.model),
            crate::sanitize::sanitize(&state.provider),
            crate::sanitize::sanitize(&state.model),
        ));
    }
    let (workspace, branch) = reopen_workspace(state.workspace.as_ref(), &state.id)?;
    let (spec, caps) = session_spec(
        tty,
        state.id.clone(),
        state.request.clone(),
        pipeline,
        chosen,
        (workspace, branch),
        Arc::new(SystemClock),
    )
    .await?;
    let ui = with_caps(ui, caps.as_ref());
    attend(tty, h, policy, spec, log, Begin::Resume(events), ui).await
}

/// How the engine begins a session.
enum Begin {
    New,
    /// Go on from the events the log holds.
    Resume(Vec<Event>),
    /// Write these (another session's events, then `forked`) and go on.
    Fork(Vec<(DateTime<Utc>, EventKind)>),
}

/// What the engine needs for a session.
/// With an OpenAI-compatible server, its capabilities are probed (or read
/// from the cache) here, and returned for the status bar.
async fn session_spec(
    tty: &mut Tty,
    id: String,
    request: String,
    pipeline: crate::pipeline::Pipeline,
    mut chosen: super::Chosen,
    (workspace, branch): (Option<Workspace>, Option<String>),
    clock: Arc<dyn Clock>,
) -> Result<(SessionSpec, Option<Capabilities>), Failure> {
    let config = super::config()?;
    let super::capabilities::Probed { caps, no_tools } =
        super::capabilities::for_session(tty, &mut chosen, &config, &pipeline).await;
    let sandbox = match &workspace {
        Some(w) => Sandboxing::detect(w.root(), config.allow_unsandboxed_commands),
        None => Sandboxing::Unavailable {
            reason: "no workspace".into(),
        },
    };
    let tokens = Arc::new(crate::provider::tokens::Tokens::for_model(&chosen.model));
    Ok((
        SessionSpec {
            id,
            request,
            pipeline,
            provider: chosen.provider,
            model: chosen.model,
            context_tokens: chosen.context_tokens,
            attempt_timeout: config.timeouts.attempt(),
            tokens,
            prices: config.prices,
            workspace: workspace.map(Arc::new),
            branch,
            clock,
            secrets: crate::tools::SECRET_ENV
                .iter()
                .filter_map(|name| std::env::var(name).ok())
                .filter(|value| !value.trim().is_empty())
                .collect(),
            sandbox,
            no_tools,
            detected: None,
        },
        caps,
    ))
}

/// A recorded session's workspace opened again, with the session's
/// branch when it is a git work tree.
fn reopen_workspace(
    info: Option<&crate::session::WorkspaceInfo>,
    id: &str,
) -> Result<(Option<Workspace>, Option<String>), Failure> {
    let Some(info) = info else {
        return Ok((None, None));
    };
    let workspace = Workspace::open(std::path::Path::new(&info.path))
        .map_err(|e| Failure::usage(format!("the session's workspace {}: {e}", info.path)))?;
    let branch = git::work_tree(workspace.root())
        .map_err(|e| Failure::usage(format!("the session's workspace {}: {e}", info.path)))?
        .then(|| format!("handoff/{id}"));
    Ok((Some(workspace), branch))
}

/// How gates are answered headless: the decisions file, then `--approve`.
fn gate_policy(h: &Headless, pipeline: &crate::pipeline::Pipeline) -> Result<GatePolicy, Failure> {
    Ok(GatePolicy {
        queued: match &h.decisions {
            Some(path) => GatePolicy::read_decisions(path, pipeline).map_err(Failure::usage)?,
            None => std::collections::VecDeque::new(),
        },
        approve_rest: h.approve == Some(ApproveMode::All),
        allow: h.allow.clone(),
    })
}

/// The TUI's options with what the probe found about the server: its
/// short form for the status bar, and whether roles go without tools.
fn with_caps(ui: Option<tui::Options>, caps: Option<&Capabilities>) -> Option<tui::Options> {
    ui.map(|mut ui| {
        ui.server.capabilities = caps.map(Capabilities::short);
        ui
    })
}

/// The TUI's options (theme, keys, …) unless the run is headless: read,
/// and their mistakes reported, before a session is created or opened.
fn ui(g: &Global, h: &Headless) -> Result<Option<tui::Options>, Failure> {
    (!h.headless).then(|| super::ui_options(g)).transpose()
}

/// Runs the engine (a new session, a resumed one or a fork) and attends to it from the TUI or headless; the exit code says how it
/// ended.
async fn attend(
    tty: &mut Tty,
    h: &Headless,
    policy: GatePolicy,
    spec: SessionSpec,
    log: LogWriter,
    begin: Begin,
    ui: Option<tui::Options>,
) -> Exit {
    let path = log.path().to_owned();
    let unconfined = spec.workspace.is_some() && spec.sandbox.warning().is_some();
    // The phases whose roles go without tools, for their cards.
    let no_tools: Vec<String> = spec
        .pipeline
        .phases
        .iter()
        .enumerate()
        .filter(|(i, _)| spec.workspace.is_some() && spec.tools_ignored(*i))
        .map(|(_, p)| p.id.clone())
        .collect();
    let tokens = Some(Arc::clone(&spec.tokens));
    let ui = ui.map(|mut ui| {
        ui.unconfined = unconfined;
        ui.server.no_tools = no_tools;
        ui.tokens = tokens;
        ui
    });
    let (updates_tx, updates) = mpsc::unbounded_channel();
    let (commands, commands_rx) = mpsc::unbounded_channel();
    let engine = Engine::new(spec, log, Box::new(updates_tx.clone()), commands_rx);
    let task = tokio::spawn(async move {
        let result = match begin {
            Begin::New => engine.run().await,
            Begin::Resume(events) => engine.resume(events).await,
            Begin::Fork(copied) => engine.fork(copied).await,
        };
        if let Err(e) = &result {
            let _ = updates_tx.send(Update::Notice(format!("the session stopped: {e}")));
        }
        result
    });
    let code = if let Some(ui) = ui {
        let state = tui::run_live(tty, updates, commands, ui).await?;
        tty.say(format!("session log {}", super::shown(path.display())));
        if !state.is_over() {
            tty.say(format!(
                "to go on where you left off: handoff resume {}",
                crate::sanitize::sanitize(&state.id)
            ));
        }
        tty.leave()?;
        match state.status {
            SessionStatus::Finished
                if state.outcome == Some(crate::session::SessionOutcome::Completed) =>
            {
                exit::OK
            }
            SessionStatus::AwaitingGate => exit::AWAITING_GATE,
            SessionStatus::Finished
            | SessionStatus::Running
            | SessionStatus::Failed
            | SessionStatus::Interrupted => exit::FAILED,
        }
    } else {
        let mut out = std::io::stdout().lock();
        let ending = headless::drive(updates, commands, policy, h.json, &mut out).await?;
        drop(out);
        if !h.json {
            tty.say(format!("session log {}", super::shown(path.display())));
        }
        ending.exit_code()
    };
    // The engine stops once its client is gone; wait so the log is closed.
    // An engine that stopped because it could not record is a failure,
    // whatever the state it had reached.
    match task.await {
        Ok(Err(_)) => Ok(exit::FAILED),
        _ => Ok(code),
    }
}

/// `handoff fork SESSION --at PHASE`: a new session whose log copies the
/// saved one up to PHASE's (latest) gate, which reopens there. The new log
/// says where it came from; a git workspace is put on the new session's
/// branch at the snapshot taken at that gate, when there is one.
pub async fn fork(tty: &mut Tty, g: &Global, session: &str, at: &str, h: &Headless) -> Exit {
    let source =
        store::resolve(&sessions_dir(g), session).map_err(|e| Failure::usage(e.to_string()))?;
    let recorded = crate::session::log::read_session(&source)
        .map_err(|e| super::unusable(&e))?
        .events;
    let gate = recorded
        .iter()
        .rposition(|e| matches!(&e.kind, EventKind::GateOpened { phase, .. } if phase == at))
        .ok_or_else(|| Failure::usage(cannot_fork_at(&recorded, at)))?;
    let old = crate::session::SessionState::from_events(&recorded);
    let Some(pipeline) = old.pipeline.clone() else {
        return Err(Failure::failed(format!(
            "{}: not a session log",
            source.display()
        )));
    };
    let policy = gate_policy(h, &pipeline)?;
    if !h.headless && !std::io::stdout().is_terminal() {
        return Err(Failure::usage(
            "stdout is not a terminal: use --headless to fork without the TUI",
        ));
    }
    let origin = super::Recorded {
        provider: &old.provider,
        model: &old.model,
    };
    let chosen = provider(g, !h.headless, Some(origin))?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let id = store::new_id(clock.now());
    let ui = ui(g, h)?;
    let log =
        LogWriter::create(&sessions_dir(g), &id).map_err(|e| Failure::failed(e.to_string()))?;
    super::warn_if_open(tty, &[&sessions_dir(g)]);
    let mut copied = Vec::with_capacity(gate + 2);
    for event in &recorded[..=gate] {
        let mut kind = event.kind.clone();
        // The fork records what it runs with: the origin's provider and
        // model unless the flags chose others.
        if let EventKind::SessionStarted {
            id: started,
            provider: by,
            model,
            ..
        } = &mut kind
        {
            started.clone_from(&id);
            chosen.provider.name().clone_into(by);
            model.clone_from(&chosen.model);
        }
        copied.push((event.t, kind));
    }
    copied.push((
        clock.now(),
        EventKind::Forked {
            from: old.id.clone(),
            at: at.to_owned(),
            from_seq: recorded[gate].seq,
        },
    ));
    // What the new log will hold, folded before the engine writes it: the
    // workspace and the snapshot to restore.
    let written: Vec<Event> = copied
        .iter()
        .zip(0..)
        .map(|((t, kind), seq)| Event {
            seq,
            t: *t,
            kind: kind.clone(),
        })
        .collect();
    let prefix = crate::session::SessionState::from_events(&written);
    let (workspace, branch) = reopen_workspace(prefix.workspace.as_ref(), &id)?;
    if let (Some(workspace), Some(branch)) = (&workspace, &branch)
        && let Some(snapshot) = prefix.snapshot_of(at)
    {
        match git::restore(workspace.root(), branch, &snapshot.commit) {
            Ok(()) => tty.say(format!(
                "the workspace is on {}, as it was at the {} gate",
                super::shown(branch),
                super::shown(at)
            )),
            Err(e) => tty.say(format!(
                "the workspace could not be restored to the {} gate ({}); it stays as it is",
                super::shown(at),
                crate::sanitize::sanitize(&e)
            )),
        }
    }
    let (spec, caps) = session_spec(
        tty,
        id,
        prefix.request.clone(),
        pipeline,
        chosen,
        (workspace, branch),
        clock,
    )
    .await?;
    let ui = with_caps(ui, caps.as_ref());
    attend(tty, h, policy, spec, log, Begin::Fork(copied), ui).await
}

/// Why a session cannot fork at `at`, naming the phases it can fork at.
fn cannot_fork_at(recorded: &[Event], at: &str) -> String {
    let mut gates: Vec<&str> = Vec::new();
    for event in recorded {
        if let EventKind::GateOpened { phase, .. } = &event.kind
            && !gates.contains(&phase.as_str())
        {
            gates.push(phase);
        }
    }
    let at = crate::sanitize::sanitize(at);
    if gates.is_empty() {
        return format!("the session never reached a gate, so it cannot fork at `{at}`");
    }
    let gates = crate::sanitize::sanitize(&gates.join(", ")).into_owned();
    format!("the session never reached the gate of `{at}`; it can fork at: {gates}")
}
