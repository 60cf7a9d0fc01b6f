//! `handoff doctor`: is the configured model endpoint usable? It prints the
//! settings in force (never the key), sends one tiny streamed request with
//! no retries, and says exactly what is wrong when it fails. Then it asks
//! for a tiny verdict held to its JSON Schema and says whether the server
//! honours `response_format` (or which weaker form handoff will use). It
//! also says whether agents' commands can run in the sandbox here
//! (`sandbox`), and what happens to them if not. Last it prints what the
//! capability probe found (`provider::probe`): from the cache, or probed
//! now when there is none or `--probe` asks.

use std::time::Instant;

use futures::StreamExt;

use super::{Exit, Failure, exit, pipeline, provider};
use crate::cli::Global;
use crate::provider::openai::OpenAiProvider;
use crate::provider::{Brief, Chunk, CompletionRequest, Message, Role};
use crate::sandbox::Sandboxing;

/// What a failure most likely means, for the messages the provider gives.
fn diagnose(error: &str, base_url: &str, model: &str) -> String {
    let hint = if error.contains("404") {
        format!(
            "the server does not know model `{model}`, or the base URL is wrong (does it end in /v1?)"
        )
    } else if error.contains("401") || error.contains("403") {
        "the server refused the API key: check OPENAI_API_KEY".to_owned()
    } else if error.contains("cannot connect") {
        format!("nothing answers at {base_url}: is the server running, and is the address right?")
    } else if error.contains("no response within") || error.contains("stalled") {
        "the server accepted the connection but did not answer in time".to_owned()
    } else if error.contains("not a chat completion chunk") {
        "the server answered, but not in the OpenAI chat completions format".to_owned()
    } else {
        "see the message above".to_owned()
    };
    format!("✗ {error}\n  → {hint}")
}

/// Says whether commands can be sandboxed here (checked in the workspace,
/// else the current folder) and what happens to them if not.
fn sandbox_line(g: &Global, config: &crate::config::Config) {
    let workspace = g
        .workspace
        .clone()
        .or_else(|| std::env::current_dir().ok())
        .unwrap_or_else(|| std::path::PathBuf::from("."));
    let setting = crate::sandbox::OPT_OUT_SETTING;
    match Sandboxing::detect(&workspace, config.allow_unsandboxed_commands) {
        Sandboxing::On { enforced, .. } => println!(
            "sandbox   ✓ commands run confined: user, PID, mount and network namespaces; {}",
            crate::sanitize::sanitize(&enforced)
        ),
        Sandboxing::Unavailable { reason } => println!(
            "sandbox   ✗ {}
  → every command asks first; `{setting} = true` in config.toml runs them unconfined",
            crate::sanitize::sanitize(&reason)
        ),
        Sandboxing::OptedOut { reason } => println!(
            "sandbox   ✗ {}
  → commands run unconfined, as the policy says (`{setting} = true` in config.toml)",
            crate::sanitize::sanitize(&reason)
        ),
    }
}

pub async fn doctor(tty: &mut crate::tui::Tty, g: &Global, refresh: bool) -> Exit {
    let chosen = provider(g, false, None)?;
    let pipeline = pipeline(tty, g, None)?;
    sandbox_line(g, &super::config()?);
    println!("provider  {}", chosen.provider.name());
    println!("model     {}", super::shown(&chosen.model));
    if chosen.provider.name() == "offline" {
        println!(
            "✓ the built-in offline provider needs no network; set OPENAI_API_KEY or --base-url to use a server"
        );
        return Ok(exit::OK);
    }
    let key = std::env::var("OPENAI_API_KEY")
        .ok()
        .filter(|k| !k.is_empty());
    let mut settings = super::openai_settings(g, &super::config()?);
    settings.base_url = settings.base_url.trim_end_matches('/').to_owned();
    println!("base URL  {}", super::shown(&settings.base_url));
    println!(
        "API key   {}",
        if key.is_some() {
            "set (OPENAI_API_KEY)"
        } else {
            "not set"
        }
    );
    let mut problems = 0;
    if !settings.base_url.ends_with("/v1") {
        println!("! the base URL does not end in /v1; most OpenAI-compatible servers expect it");
    }
    if key.is_none() && settings.base_url.contains("api.openai.com") {
        println!("✗ no API key: OpenAI needs OPENAI_API_KEY");
        problems += 1;
    }
    let provider = OpenAiProvider::new(crate::provider::openai::Settings {
        retry: crate::config::RetryPolicy {
            max_retries: 0,
            ..settings.retry
        },
        ..settings.clone()
    })
    .map_err(Failure::usage)?;
    let phase = pipeline.phases[0].clone();
    let request = CompletionRequest {
        model: chosen.model.clone(),
        temperature: None,
        messages: vec![Message::new(Role::User, "Reply with the single word OK.")],
        tools: Vec::new(),
        answer: crate::provider::AnswerSpec::default(),
        brief: Brief::new(String::new(), phase.clone()),
    };
    let start = Instant::now();
    let mut stream = crate::provider::Provider::stream(&provider, request);
    let mut text = String::new();
    let mut finished = false;
    let mut usage = None;
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(Chunk::Text(t)) => text.push_str(&t),
            Ok(Chunk::Usage {
                prompt_tokens,
                completion_tokens,
            }) => usage = Some(prompt_tokens.saturating_add(completion_tokens)),
            Ok(Chunk::Done { .. }) => finished = true,
            Ok(Chunk::Retry { .. } | Chunk::ToolCall(_)) => {}
            Err(e) => {
                println!(
                    "{}",
                    crate::sanitize::sanitize(&diagnose(&e.0, &settings.base_url, &chosen.model))
                );
                return Ok(exit::FAILED);
            }
        }
    }
    if !finished {
        println!("✗ the answer ended without a finish reason: the stream was cut short");
        return Ok(exit::FAILED);
    }
    let answer: String = crate::sanitize::sanitize(text.trim())
        .chars()
        .take(40)
        .collect();
    println!(
        "✓ {} answered in {:.1}s: “{answer}”{}",
        super::shown(&chosen.model),
        start.elapsed().as_secs_f64(),
        usage.map_or(String::new(), |u| format!(
            " ({u} tokens; usage is reported)"
        ))
    );
    if usage.is_none() {
        println!("! the server reported no token usage; handoff will estimate it");
    }
    println!("{}", structured(&provider, &chosen.model, phase).await);
    capabilities(tty, &provider, &chosen.model, refresh).await;
    Ok(if problems == 0 {
        exit::OK
    } else {
        exit::FAILED
    })
}

/// What the capability probe found: cached, or probed now.
async fn capabilities(
    tty: &mut crate::tui::Tty,
    provider: &OpenAiProvider,
    model: &str,
    refresh: bool,
) {
    let base_url = &provider.settings().base_url;
    let cached = crate::provider::probe::cache_dir(super::env_var)
        .map(|dir| crate::provider::probe::cache_file(&dir, base_url, model));
    let Some(caps) = super::capabilities::find(tty, provider, model, refresh, false).await else {
        println!("! capabilities: the probe did not get through (see above)");
        return;
    };
    let at = caps.probed_at.format("%Y-%m-%d %H:%M UTC");
    match cached {
        Some(file) => println!(
            "capabilities (probed {at}; cached in {}; `doctor --probe` probes again)",
            super::shown(file.display())
        ),
        None => println!("capabilities (probed {at}; not cached: no HOME or XDG_CACHE_HOME)"),
    }
    for line in caps.report() {
        println!("  {}", super::shown(line));
    }
}

/// Whether the server holds an answer to a JSON Schema: one small request
/// for a verdict, with `response_format`, read as handoff reads verdicts.
async fn structured(
    provider: &OpenAiProvider,
    model: &str,
    phase: crate::pipeline::Phase,
) -> String {
    let kind = crate::formats::OutputKind::Verdict;
    let request = CompletionRequest {
        model: model.to_owned(),
        temperature: Some(0.0),
        messages: vec![Message::new(
            Role::User,
            "The work passed every check. Answer with the verdict: pass, with no issues.",
        )],
        tools: Vec::new(),
        answer: crate::provider::AnswerSpec {
            schema: kind.schema(),
            max_tokens: Some(256),
            seed: None,
        },
        brief: Brief::new(String::new(), phase),
    };
    let mut stream = crate::provider::Provider::stream(provider, request);
    let mut text = String::new();
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(Chunk::Text(t)) => text.push_str(&t),
            Ok(
                Chunk::Usage { .. } | Chunk::Done { .. } | Chunk::Retry { .. } | Chunk::ToolCall(_),
            ) => {}
            Err(e) => {
                return crate::sanitize::sanitize(&format!(
                    "! structured answers: the request with a JSON Schema failed ({e}); \
                     handoff will rely on the prompt's instructions"
                ))
                .into_owned();
            }
        }
    }
    let format = provider.format(model, false);
    let read = crate::formats::verdict::read(&text).is_ok();
    match (format, read) {
        (crate::provider::openai::wire::Format::JsonSchema, true) => {
            "✓ structured answers: json_schema is honoured (a verdict came back readable)"
                .to_owned()
        }
        (crate::provider::openai::wire::Format::JsonSchema, false) => {
            "! structured answers: json_schema was accepted but the answer was not a verdict: \
             the server may ignore response_format; handoff reads what JSON it can find"
                .to_owned()
        }
        (weaker, _) => format!(
            "! structured answers: the server refused json_schema; handoff asks with {} instead",
            weaker.name()
        ),
    }
}
