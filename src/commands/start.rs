//! What `handoff run` runs: the request (the argument, stdin for "-", or
//! the start screen, which may also pick a saved session) and the
//! pipeline it runs by, `--pipeline` or the triggers, or a person's choice
//! when none matches.

use std::io::Read;

use super::{Failure, pipeline, sessions_dir, store};
use crate::cli::Global;
use crate::tui::{self, Tty};

/// Reads the request: the argument, stdin for "-", or (in a terminal,
/// without one) the start screen, which may also pick a saved session.
pub(super) async fn read_request(
    tty: &mut Tty,
    request: Option<&str>,
    interactive: bool,
    pipeline: &crate::pipeline::Pipeline,
    provider: &str,
    g: &Global,
) -> Result<Start, Failure> {
    let text = match request {
        Some("-") => {
            let mut text = String::new();
            std::io::stdin().read_to_string(&mut text)?;
            text
        }
        Some(text) => text.to_owned(),
        None if interactive => {
            let dir = sessions_dir(g);
            let recent = tokio::task::spawn_blocking(move || recent_sessions(&dir));
            let recent = async { recent.await.unwrap_or_default() };
            let theme = super::theme(g)?;
            let (name, _, count) = super::stats::counter(g)?;
            let keymap = super::keymap()?;
            let request = tui::start::RequestBox::new(pipeline, provider, &theme, &keymap);
            let start = tui::start::ask(tty, request, recent, &name, count);
            return Ok(start.await?);
        }
        None => {
            return Err(Failure::usage(
                "what should the team build? Give a request: handoff run \"Add rate limiting to the orders API\"",
            ));
        }
    };
    let text = text.trim().to_owned();
    if text.is_empty() {
        return Err(Failure::usage("the request is empty"));
    }
    Ok(Start::Submit(text))
}

/// The pipeline `request` runs and how it was chosen, as the session's
/// first line says it: `--pipeline`, else the pipeline whose trigger the
/// request matches most specifically, else the default when it takes any
/// request. Else a person chooses: the TUI asks (`None`: they left), and a
/// headless run stops with exit 2 and the reason.
pub(super) async fn pick(
    tty: &mut Tty,
    g: &Global,
    request: &str,
    interactive: bool,
) -> Result<Option<(crate::pipeline::Pipeline, String)>, Failure> {
    use crate::pipeline::Pick;
    if let Some(name) = &g.pipeline {
        let pipeline = pipeline(tty, g, Some(name))?;
        return Ok(Some((pipeline, "named with --pipeline".to_owned())));
    }
    let (file, _) = super::find_skills(g)?;
    let (name, detected) = match crate::pipeline::pick_pipeline(&file, request) {
        Pick::Matched { pipeline, trigger } => (Some(pipeline), format!("matched “{trigger}”")),
        Pick::Default => (None, "the default pipeline".to_owned()),
        Pick::Unmatched => {
            let offers = offers(tty, g, &file)?;
            let names: Vec<&str> = offers.iter().map(|o| o.name.as_str()).collect();
            if !interactive {
                return Err(Failure::usage(format!(
                    "no pipeline's triggers match the request “{}”: name the pipeline to run it with, --pipeline NAME ({})",
                    crate::sanitize::sanitize(request),
                    names.join(", ")
                )));
            }
            let theme = super::theme(g)?;
            let keymap = super::keymap()?;
            let Some(name) = tui::start::choose(tty, &theme, &keymap, request, &offers).await?
            else {
                return Ok(None);
            };
            (Some(name), "chosen by you: no trigger matched".to_owned())
        }
    };
    Ok(Some((pipeline(tty, g, name.as_deref())?, detected)))
}

/// The file's pipelines, the default first, as a person may choose them.
fn offers(
    tty: &mut Tty,
    g: &Global,
    file: &crate::pipeline::SkillsFile,
) -> Result<Vec<tui::start::Offer>, Failure> {
    let names = crate::pipeline::pipeline_names(file).unwrap_or_default();
    let mut offers = Vec::with_capacity(names.len());
    for name in names {
        let p = pipeline(tty, g, Some(&name))?;
        offers.push(tui::start::Offer {
            name,
            title: p.title,
            roles: p.phases.into_iter().map(|p| p.role).collect(),
        });
    }
    Ok(offers)
}

/// The start screen's answer.
pub(super) type Start = tui::start::Choice;

/// The saved sessions the start screen lists, newest first.
fn recent_sessions(dir: &std::path::Path) -> Vec<tui::start::Recent> {
    store::list(dir)
        .into_iter()
        .filter_map(Result::ok)
        .take(50)
        .map(|l| {
            let s = &l.state;
            let phase = s
                .active_phase()
                .or_else(|| s.phases.iter().rposition(|p| !p.attempts.is_empty()))
                .map_or_else(|| "-".to_owned(), |i| s.phases[i].id.clone());
            tui::start::Recent {
                path: l.path.clone(),
                id: s.id.clone(),
                status: l.status.as_str().to_owned(),
                request: s.request.clone(),
                phase,
                provider: s.provider.clone(),
                age: super::inspect::age(s.started_at),
                at_gate: s.gate.is_some() && !s.is_over(),
            }
        })
        .collect()
}
