//! The command line (a contract, listed in ARCHITECTURE.md): clap
//! definitions only.
//!
//! The doc comments here are `--help`'s text, which clap prints as written:
//! they name environment variables and files without Markdown backticks.
#![expect(
    clippy::doc_markdown,
    reason = "clap prints these doc comments as --help text, backticks and all"
)]

use std::path::PathBuf;

use crate::clock::Speed;
use clap::{Args, Parser, Subcommand, ValueEnum};

/// A terminal dashboard for running a team of LLM role agents through a
/// feature request, with a human approving every handoff.
#[derive(Debug, Parser)]
#[command(name = "handoff", version, about, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub struct Global {
    /// The pipeline file (default: ./skills.toml, then
    /// $XDG_CONFIG_HOME/handoff/skills.toml, then the built-in one).
    #[arg(long, global = true, value_name = "FILE")]
    pub skills: Option<PathBuf>,
    /// The pipeline in skills.toml to run (default: the one whose triggers
    /// the request matches, else default_pipeline).
    #[arg(long, global = true, value_name = "NAME")]
    pub pipeline: Option<String>,
    /// The language every role answers in, whatever the pipeline says
    /// (default: the language in config.toml, else each pipeline's own).
    #[arg(long, global = true, value_name = "LANGUAGE")]
    pub language: Option<String>,
    /// Where session logs live (default: $HANDOFF_SESSIONS, then
    /// $XDG_DATA_HOME/handoff/sessions).
    #[arg(long, global = true, value_name = "DIR")]
    pub sessions: Option<PathBuf>,
    /// Colour theme: a built-in name or a theme file.
    #[arg(long, global = true, value_name = "NAME|FILE")]
    pub theme: Option<String>,
    /// A git work tree the agents work in through their tools (default:
    /// none, and the agents have no tools).
    #[arg(long, global = true, value_name = "DIR")]
    pub workspace: Option<PathBuf>,
    /// Where completions come from (default: openai when OPENAI_API_KEY or
    /// --base-url is set, else offline).
    #[arg(long, global = true, value_enum)]
    pub provider: Option<ProviderKind>,
    /// The model to ask.
    #[arg(long, global = true, value_name = "NAME")]
    pub model: Option<String>,
    /// An OpenAI-compatible endpoint, including /v1.
    #[arg(long, global = true, value_name = "URL")]
    pub base_url: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ProviderKind {
    /// Built in, deterministic, no network.
    Offline,
    /// Any OpenAI-compatible server.
    Openai,
}

/// How a session runs without a terminal UI.
#[derive(Debug, Args, Default)]
pub struct Headless {
    /// Run without the TUI, printing one line per event.
    #[arg(long)]
    pub headless: bool,
    /// Answer every gate with approval, or stop at the first one.
    #[arg(long, value_enum, value_name = "all|none", requires = "headless")]
    pub approve: Option<ApproveMode>,
    /// Answer gates from a TOML file of decisions: per phase, in the order
    /// its gate opens (see the README).
    #[arg(long, value_name = "FILE", requires = "headless")]
    pub decisions: Option<PathBuf>,
    /// Print events as JSON lines instead of readable lines.
    #[arg(long, requires = "headless")]
    pub json: bool,
    /// Headless, a command the policy would ask about is denied unless it
    /// matches one of these glob patterns (such as "go test*"); repeatable.
    #[arg(long = "allow", value_name = "PATTERN", requires = "headless")]
    pub allow: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ApproveMode {
    All,
    None,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start a new session ("-" reads the request from stdin).
    Run {
        /// What the team should build, in a sentence or a paragraph ("-"
        /// reads it from stdin; without it, the start screen asks).
        request: Option<String>,
        #[command(flatten)]
        headless: Headless,
    },
    /// Continue an interrupted session.
    Resume {
        session: String,
        #[command(flatten)]
        headless: Headless,
    },
    /// Play a saved session back.
    Replay {
        session: String,
        /// Playback speed: a factor such as 0.5, 4 or 64, or "max" (default:
        /// 1 in the TUI; with --headless, everything at once).
        #[arg(long)]
        speed: Option<Speed>,
        /// Print the events instead of showing the TUI.
        #[arg(long)]
        headless: bool,
        /// With --headless: print events as JSON lines.
        #[arg(long, requires = "headless")]
        json: bool,
    },
    /// Start a new session from a saved one, reopened at PHASE's gate.
    Fork {
        session: String,
        #[arg(long, value_name = "PHASE")]
        at: String,
        #[command(flatten)]
        headless: Headless,
    },
    /// List saved sessions.
    Sessions {
        #[arg(long)]
        json: bool,
    },
    /// Show a session's folded state, or one artifact's text.
    Show {
        session: String,
        #[arg(long)]
        json: bool,
        /// Print this artifact (by artifact name or phase id).
        #[arg(long, value_name = "NAME")]
        artifact: Option<String>,
        /// Print what this phase changed in the workspace, as a patch.
        #[arg(long, value_name = "PHASE", conflicts_with = "artifact")]
        diff: Option<String>,
        /// With --diff: list the changed files and their line counts.
        #[arg(long, requires = "diff")]
        stat: bool,
    },
    /// Write every artifact and a report as Markdown files.
    Export {
        session: String,
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Metrics across sessions.
    Stats {
        #[arg(long, conflicts_with = "tui")]
        json: bool,
        /// Show them as charts in the terminal.
        #[arg(long)]
        tui: bool,
    },
    /// Validate skills.toml (and themes), pointing at every mistake.
    Check {
        /// Also check a plan (seed 003's JSON) against the pipeline's rules
        /// and skill ids, as a Solution Architect's answer is checked.
        #[arg(long, value_name = "FILE")]
        plan: Option<std::path::PathBuf>,
    },
    /// Check that commands can run in the sandbox here, and the configured
    /// model endpoint with one tiny request; print what the server can do
    /// (the capability probe, cached).
    Doctor {
        /// Probe the server again rather than read the cached findings.
        #[arg(long)]
        probe: bool,
    },
}
