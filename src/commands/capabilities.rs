//! The capability probe as a session and `doctor` use it: the cached
//! findings for the server and model, else a new probe (then cached), and
//! what they change: the response format structured requests start at,
//! and the context length where config.toml sets none.

use chrono::Utc;

use super::{Chosen, env_var};
use crate::config::Config;
use crate::provider::openai::OpenAiProvider;
use crate::provider::probe::{self, Cached, Capabilities};
use crate::tui::Tty;

/// Whether sessions probe: `[probe] enabled` in config.toml, unless
/// `HANDOFF_PROBE` is `off` (or `0`, `false`).
pub fn enabled(config: &Config) -> bool {
    let off = env_var("HANDOFF_PROBE")
        .is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "off" | "0" | "false"));
    config.probe.enabled && !off
}

/// The findings for `model` behind `openai`: from the cache unless
/// `refresh` or the cache is missing, stale or broken; else probed now
/// and cached (`announce`: saying so, with the findings in short). `None`
/// (with a warning) when the server could not be
/// probed: a session goes on without the findings.
pub async fn find(
    tty: &mut Tty,
    openai: &OpenAiProvider,
    model: &str,
    refresh: bool,
    announce: bool,
) -> Option<Capabilities> {
    let base_url = openai.settings().base_url.clone();
    let file = probe::cache_file(&probe::cache_dir(env_var)?, &base_url, model);
    if !refresh && let Cached::Fresh(caps) = probe::load(&file, &base_url, model, Utc::now()) {
        return Some(caps);
    }
    if announce {
        tty.waiting(format!(
            "probing what {} (model {}) can do: once, then cached",
            super::shown(&base_url),
            super::shown(model)
        ));
    }
    match openai.probe(model, Utc::now()).await {
        Ok(caps) => {
            if announce {
                tty.say(super::shown(caps.short()));
            }
            if let Err(e) = probe::save(&file, &caps) {
                tty.say(format!(
                    "cannot cache what the server can do in {}: {e}",
                    super::shown(file.display())
                ));
            }
            Some(caps)
        }
        Err(e) => {
            tty.say(format!(
                "could not probe {} (model {}): {}; going on without its findings",
                super::shown(&base_url),
                super::shown(model),
                super::shown(e)
            ));
            None
        }
    }
}

/// What the probe found for a session.
#[derive(Debug, Default)]
pub struct Probed {
    /// The session model's findings, for the status bar.
    pub caps: Option<Capabilities>,
    /// The session's models whose roles must go without tools.
    pub no_tools: Vec<String>,
}

/// Probes (or reads the cache) for a session and applies the findings to
/// the provider: for the session's model, and for each other model a
/// phase of `pipeline` names (its structured requests then start at what
/// the server takes for that model, and its roles go without tools where
/// the server drops them for it).
pub async fn for_session(
    tty: &mut Tty,
    chosen: &mut Chosen,
    config: &Config,
    pipeline: &crate::pipeline::Pipeline,
) -> Probed {
    let mut probed = Probed::default();
    let Some(openai) = chosen.openai.as_ref().filter(|_| enabled(config)) else {
        return probed;
    };
    let mut others: Vec<&str> = pipeline
        .phases
        .iter()
        .filter_map(|p| p.model.as_deref())
        .filter(|m| *m != chosen.model)
        .collect();
    others.sort_unstable();
    others.dedup();
    let session_model = chosen.model.as_str();
    for model in others.into_iter().chain([session_model]) {
        let Some(caps) = find(tty, openai, model, false, true).await else {
            continue;
        };
        openai.adopt(model, &caps);
        if no_tools(&caps, config, model) {
            probed.no_tools.push(model.to_owned());
        }
        if model == session_model {
            probed.caps = Some(caps);
        }
    }
    if config.context_tokens.is_none()
        && let Some(tokens) = probed.caps.as_ref().and_then(|c| c.context_tokens)
    {
        chosen.context_tokens = Some(tokens);
    }
    probed
}

/// Whether `model`'s roles must go without tools: the server drops them
/// (or refuses them) and the model does not write calls as text.
fn no_tools(caps: &Capabilities, config: &Config, model: &str) -> bool {
    !caps.can_call_tools() && !config.text_tool_models().iter().any(|m| m == model)
}
