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

/// Probes (or reads the cache) for a session and applies the findings to
/// the provider: for the session's model, and for each other model a
/// phase of `pipeline` names (its structured requests then start at what
/// the server takes for that model). Returns the session model's.
pub async fn for_session(
    tty: &mut Tty,
    chosen: &mut Chosen,
    config: &Config,
    pipeline: &crate::pipeline::Pipeline,
) -> Option<Capabilities> {
    let openai = chosen.openai.as_ref().filter(|_| enabled(config))?;
    let mut others: Vec<&str> = pipeline
        .phases
        .iter()
        .filter_map(|p| p.model.as_deref())
        .filter(|m| *m != chosen.model)
        .collect();
    others.sort_unstable();
    others.dedup();
    for model in others {
        if let Some(caps) = find(tty, openai, model, false, true).await {
            openai.adopt(model, &caps);
        }
    }
    let caps = find(tty, openai, &chosen.model, false, true).await?;
    openai.adopt(&chosen.model, &caps);
    if config.context_tokens.is_none()
        && let Some(tokens) = caps.context_tokens
    {
        chosen.context_tokens = Some(tokens);
    }
    Some(caps)
}

/// Whether a session's roles must go without tools: the server drops
/// them (or refuses them) and the model does not write calls as text.
pub fn no_tools(caps: Option<&Capabilities>, config: &Config, model: &str) -> bool {
    caps.is_some_and(|c| !c.can_call_tools())
        && !config.text_tool_models().iter().any(|m| m == model)
}
