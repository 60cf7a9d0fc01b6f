//! What each CLI command does. [`main`] parses nothing itself: it takes the
//! parsed [`Cli`], sets up what the command needs (skills, sessions folder,
//! provider) and returns the process exit code. Errors are reported here, on
//! stderr, as one clear line each.

mod capabilities;
mod diff;
mod doctor;
mod export;
mod inspect;
mod replay;
mod run;
mod start;
mod stats;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::cli::{Cli, Command, Global, ProviderKind};
use crate::config::ProviderName;
use crate::pipeline::{Pipeline, SkillsFile, load_pipeline, pipeline_names};
use crate::provider::Provider;
use crate::provider::offline::{OFFLINE_MODEL, OfflineProvider, Pace};
use crate::provider::openai::{OpenAiProvider, Settings};
use crate::sanitize::sanitize;
use crate::session::store;
use crate::tui::Tty;

/// Exit codes (a contract: ARCHITECTURE.md).
pub mod exit {
    pub const OK: u8 = 0;
    pub const FAILED: u8 = 1;
    pub const USAGE: u8 = 2;
    pub const AWAITING_GATE: u8 = 3;
    /// The reader of our output went away (`handoff show … | head`): quiet,
    /// with the code a program killed by SIGPIPE has in a shell.
    pub const PIPE_CLOSED: u8 = 141;
}

/// A command's failure: what to print and the exit code.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub message: String,
}

impl Failure {
    pub fn usage(message: impl Into<String>) -> Self {
        Self {
            code: exit::USAGE,
            message: message.into(),
        }
    }

    pub fn failed(message: impl Into<String>) -> Self {
        Self {
            code: exit::FAILED,
            message: message.into(),
        }
    }
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            return Self {
                code: exit::PIPE_CLOSED,
                message: String::new(),
            };
        }
        Self::failed(e.to_string())
    }
}

/// What a command returns: its exit code, or why it could not run.
type Exit = Result<u8, Failure>;

/// Runs the parsed command line and returns the exit code.
pub fn main(cli: Cli) -> u8 {
    let result = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(Failure::from)
        .and_then(|rt| {
            let result = rt.block_on(dispatch(cli));
            // Everything the command waits for is done by now; a listing
            // the user left before it finished is not worth waiting for.
            rt.shutdown_background();
            result
        });
    match result {
        Ok(code) => code,
        Err(failure) => {
            // Messages can quote file contents: never let them drive the terminal.
            if !failure.message.is_empty() {
                eprintln!("handoff: {}", crate::sanitize::sanitize(&failure.message));
            }
            failure.code
        }
    }
}

/// Warns on stderr about each of `paths` (the sessions folder, a log)
/// that other users may read or write: sessions hold requests, artifacts
/// and what the agents read.
pub(crate) fn warn_if_open(tty: &mut Tty, paths: &[&Path]) {
    use std::os::unix::fs::PermissionsExt as _;
    for path in paths {
        let Ok(meta) = std::fs::metadata(path) else {
            continue;
        };
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            let private = if meta.is_dir() { "700" } else { "600" };
            tty.say(format!(
                "{} is open to other users (mode {mode:o}); to keep sessions private: chmod {private} {}",
                shown(path.display()),
                shown(path.display())
            ));
        }
    }
}

/// `text` as it may be printed: through the terminal filter
/// ([`crate::sanitize`]), like every string a command prints.
pub(crate) fn shown(text: impl std::fmt::Display) -> String {
    crate::sanitize::sanitize(&text.to_string()).into_owned()
}

/// Runs one command. The terminal, if a view takes it over, is held for
/// the whole command and given back before its failure is printed.
async fn dispatch(cli: Cli) -> Exit {
    let g = &cli.global;
    let tty = &mut Tty::default();
    match cli.command {
        None => run::run(tty, g, None, &crate::cli::Headless::default()).await,
        Some(Command::Run { request, headless }) => run::run(tty, g, request, &headless).await,
        Some(Command::Replay {
            session,
            speed,
            headless,
            json,
        }) => replay::replay(tty, g, &session, speed, headless, json).await,
        Some(Command::Show {
            session,
            diff: Some(phase),
            stat,
            ..
        }) => diff::show_diff(&inspect::load(g, &session)?, &phase, stat),
        Some(Command::Show {
            session,
            json,
            artifact,
            ..
        }) => inspect::show(g, &session, json, artifact.as_deref()),
        Some(Command::Sessions { json }) => inspect::sessions(g, json),
        Some(Command::Check { plan }) => inspect::check(g, plan.as_deref()),
        Some(Command::Doctor { probe }) => doctor::doctor(tty, g, probe).await,
        Some(Command::Resume { session, headless }) => {
            run::resume(tty, g, &session, &headless).await
        }
        Some(Command::Fork {
            session,
            at,
            headless,
        }) => run::fork(tty, g, &session, &at, &headless).await,
        Some(Command::Export { session, out }) => export::export(g, &session, &out),
        Some(Command::Stats { json, tui }) => stats::stats(tty, g, json, tui).await,
    }
}

/// A log that cannot be used, and what the user can do about it. A file
/// whose first line does not even mention a session's start is not a
/// damaged log but some other file.
fn unusable(e: &crate::session::log::LogError) -> Failure {
    if e.line() == Some(1) && !starts_a_session(e.path()) {
        return Failure::usage(format!(
            "{}: not a handoff session log (its first line is not a `session_started` event)",
            e.path().display()
        ));
    }
    match e.line() {
        Some(line) => Failure::failed(format!(
            "{e}\n  the session log is damaged at line {line}; the lines before it are intact. \
             Repair or delete that line (keep a copy), or move the file out of the sessions folder."
        )),
        None => Failure::failed(e.to_string()),
    }
}

fn env_var(key: &str) -> Option<String> {
    std::env::var(key).ok().filter(|v| !v.is_empty())
}

/// The sessions folder for these options.
fn sessions_dir(g: &Global) -> PathBuf {
    store::sessions_dir(g.sessions.as_deref(), env_var)
}

/// Finds the skills file: `--skills`, `./skills.toml`,
/// `$XDG_CONFIG_HOME/handoff/skills.toml`, else the built-in.
fn skills_file(g: &Global) -> Result<SkillsFile, Failure> {
    Ok(find_skills(g)?.0)
}

/// The skills file, and whether it was merely found in the current
/// directory (which may be a repository nobody vouched for) rather than
/// named with `--skills` or kept in the user's own config folder.
fn find_skills(g: &Global) -> Result<(SkillsFile, bool), Failure> {
    let read = |path: &Path| SkillsFile::read(path).map_err(|d| Failure::usage(d.to_string()));
    if let Some(path) = &g.skills {
        return Ok((read(path)?, false));
    }
    let local = PathBuf::from("skills.toml");
    if local.is_file() {
        return Ok((read(&local)?, true));
    }
    if let Some(path) = crate::config::config_dir(env_var).map(|c| c.join("skills.toml"))
        && path.is_file()
    {
        return Ok((read(&path)?, false));
    }
    Ok((SkillsFile::builtin(), false))
}

/// Every pattern the built-in pipelines allow without asking.
fn builtin_allowed() -> BTreeSet<String> {
    let builtin = SkillsFile::builtin();
    pipeline_names(&builtin)
        .unwrap_or_default()
        .iter()
        .filter_map(|name| load_pipeline(&builtin, Some(name)).ok())
        .flat_map(|p| p.allowed())
        .collect()
}

/// Loads and checks a pipeline, reporting every mistake: `name`, else
/// `--pipeline`, else the file's default.
///
/// A `./skills.toml` found in the current directory may come with a
/// repository nobody vouched for, so it may not allow commands the
/// built-in pipelines do not: those rules ask instead, and a warning says
/// so. Naming the file with `--skills` trusts it as written.
fn pipeline(tty: &mut Tty, g: &Global, name: Option<&str>) -> Result<Pipeline, Failure> {
    let (file, found_here) = find_skills(g)?;
    let name = name.or(g.pipeline.as_deref());
    let mut pipeline = load_pipeline(&file, name).map_err(|diagnostics| {
        let lines: Vec<String> = diagnostics.iter().map(ToString::to_string).collect();
        Failure::usage(format!(
            "{} is not valid:\n{}",
            file.display_name(),
            lines.join("\n")
        ))
    })?;
    if found_here {
        let held = pipeline.hold_allows(&builtin_allowed());
        if !held.is_empty() {
            let patterns: Vec<String> = held.iter().map(|p| format!("`{}`", sanitize(p))).collect();
            tty.say(format!(
                "./skills.toml would allow {} without asking; a skills.toml found in the \
                 current directory may not, so they ask instead (name it with --skills to \
                 trust it as written)",
                patterns.join(", ")
            ));
        }
    }
    Ok(pipeline)
}

/// The provider a session runs with.
pub struct Chosen {
    pub provider: Arc<dyn Provider>,
    /// The same provider when it is the OpenAI-compatible one: to probe.
    pub openai: Option<OpenAiProvider>,
    pub model: String,
    pub context_tokens: Option<usize>,
}

/// The provider and model a session recorded when it started.
pub struct Recorded<'a> {
    pub provider: &'a str,
    pub model: &'a str,
}

/// Which provider runs, and with which model: `--provider`, else the one
/// the session recorded (when it goes on from a log), else config.toml's,
/// else `openai` when an API key or a base URL is given, else `offline`.
/// The model likewise: `--model`, else the recorded one if the provider is
/// the recorded one, else `HANDOFF_MODEL`, else config.toml's.
fn provider(
    g: &Global,
    interactive: bool,
    recorded: Option<Recorded<'_>>,
) -> Result<Chosen, Failure> {
    let config = config()?;
    let base_url = explicit_base_url(g, &config);
    let api_key = env_var("OPENAI_API_KEY");
    let recorded_kind = recorded.as_ref().and_then(|r| match r.provider {
        "openai" => Some(ProviderKind::Openai),
        "offline" => Some(ProviderKind::Offline),
        _ => None,
    });
    let kind = g
        .provider
        .or(recorded_kind)
        .unwrap_or(match config.provider {
            Some(ProviderName::Openai) => ProviderKind::Openai,
            None if api_key.is_some() || base_url.is_some() => ProviderKind::Openai,
            Some(ProviderName::Offline) | None => ProviderKind::Offline,
        });
    // Going on with a recorded OpenAI-compatible session needs to know
    // where: its server is not recorded, and with nothing said the default
    // one would be sent the session's work.
    if g.provider.is_none()
        && recorded_kind == Some(ProviderKind::Openai)
        && base_url.is_none()
        && api_key.is_none()
    {
        return Err(Failure::usage(
            "this session ran on an OpenAI-compatible server, whose address and key are not \
             recorded: give --base-url (or OPENAI_BASE_URL) and OPENAI_API_KEY, or \
             --provider offline to go on offline",
        ));
    }
    let model = g
        .model
        .clone()
        .or_else(|| {
            recorded
                .filter(|_| recorded_kind == Some(kind))
                .map(|r| r.model.to_owned())
        })
        .or_else(|| env_var("HANDOFF_MODEL"))
        .or(config.model.clone());
    match kind {
        ProviderKind::Openai => {
            let provider =
                OpenAiProvider::new(openai_settings(g, &config)).map_err(Failure::usage)?;
            Ok(Chosen {
                provider: Arc::new(provider.clone()),
                openai: Some(provider),
                model: model.unwrap_or_else(|| DEFAULT_MODEL.to_owned()),
                context_tokens: Some(config.context_tokens.unwrap_or(DEFAULT_CONTEXT_TOKENS)),
            })
        }
        ProviderKind::Offline => {
            let pace = match env_var("HANDOFF_OFFLINE_PACE").as_deref() {
                Some("instant") => Pace::INSTANT,
                Some("readable") => Pace::READABLE,
                Some("brisk") => Pace::BRISK,
                Some(other) => {
                    return Err(Failure::usage(format!(
                        "HANDOFF_OFFLINE_PACE is `{other}`; use instant, brisk or readable"
                    )));
                }
                None if interactive => Pace::READABLE,
                None => Pace::INSTANT,
            };
            Ok(Chosen {
                provider: Arc::new(OfflineProvider::new(pace)),
                openai: None,
                model: model.unwrap_or_else(|| OFFLINE_MODEL.to_owned()),
                context_tokens: None,
            })
        }
    }
}

/// A base URL given by flag, environment or config, in that order.
fn explicit_base_url(g: &Global, config: &crate::config::Config) -> Option<String> {
    g.base_url
        .clone()
        .or_else(|| env_var("OPENAI_BASE_URL"))
        .or_else(|| config.base_url.clone())
}

/// The openai provider's settings from flags, environment and config.
fn openai_settings(g: &Global, config: &crate::config::Config) -> Settings {
    Settings {
        base_url: explicit_base_url(g, config).unwrap_or_else(|| DEFAULT_BASE_URL.to_owned()),
        api_key: env_var("OPENAI_API_KEY"),
        timeouts: config.timeouts.timeouts(),
        retry: config.retries.policy(),
        tool_arguments: config.limits.tool_arguments,
        text_tools: config.text_tool_models(),
    }
}

/// Where the openai provider goes without a base URL.
const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";
const DEFAULT_MODEL: &str = "gpt-4o-mini";
const DEFAULT_CONTEXT_TOKENS: usize = 32_768;

/// config.toml, or the defaults when there is none.
fn config() -> Result<crate::config::Config, Failure> {
    match crate::config::config_dir(env_var) {
        Some(dir) => {
            crate::config::load(&dir.join("config.toml")).map_err(|d| Failure::usage(d.to_string()))
        }
        None => Ok(crate::config::Config::default()),
    }
}

/// The colour theme: `--theme`, else config.toml's, else the default;
/// `NO_COLOR` forces monochrome.
fn theme(g: &Global) -> Result<crate::tui::Theme, Failure> {
    let name = match &g.theme {
        Some(name) => name.clone(),
        None => config()?.theme.unwrap_or_else(|| "default".to_owned()),
    };
    crate::tui::Theme::named(&name, env_var("NO_COLOR").is_some()).map_err(Failure::usage)
}

/// keymap.toml over the default keys, if the user has one.
fn keymap() -> Result<crate::tui::keymap::Keymap, Failure> {
    let Some(path) = crate::config::config_dir(env_var).map(|d| d.join("keymap.toml")) else {
        return Ok(crate::tui::keymap::Keymap::default());
    };
    match std::fs::read(&path) {
        Ok(bytes) => {
            let file = path.display().to_string();
            let text = crate::diagnostic::decode(&file, bytes)
                .map_err(|d| Failure::usage(d.to_string()))?;
            crate::tui::keymap::Keymap::patched(&file, &text)
                .map_err(|d| Failure::usage(crate::diagnostic::render(&d)))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Ok(crate::tui::keymap::Keymap::default())
        }
        Err(e) => Err(Failure::usage(format!("{}: {e}", path.display()))),
    }
}

/// Everything the TUI takes from the command line and the config folder.
fn ui_options(g: &Global) -> Result<crate::tui::Options, Failure> {
    let config = config()?;
    Ok(crate::tui::Options {
        theme: theme(g)?,
        keymap: keymap()?,
        bell: config.bell,
        prices: config.prices,
        unconfined: false,
        server: crate::tui::ServerNote::default(),
        require_viewed: config.review.require_viewed,
        tokens: None,
    })
}

/// Whether the first line of the file at `path` names a session's start.
fn starts_a_session(path: &std::path::Path) -> bool {
    use std::io::Read as _;
    let mut head = Vec::new();
    let read = std::fs::File::open(path).and_then(|f| f.take(64 * 1024).read_to_end(&mut head));
    let first = head.split(|b| *b == b'\n').next().unwrap_or_default();
    read.is_ok() && memchr::memmem::find(first, b"session_started").is_some()
}
