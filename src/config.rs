//! The user's settings: `$XDG_CONFIG_HOME/handoff/config.toml` (else
//! `~/.config/handoff/config.toml`), beside `keymap.toml` and `skills.toml`.
//!
//! ```toml
//! theme = "light"          # a built-in theme or a path to a theme file
//! bell = false             # ring the terminal bell when a checkpoint opens
//! provider = "openai"      # or "offline"
//! base_url = "http://localhost:11434/v1"
//! model = "llama3.1"
//! context_tokens = 32768   # inputs are cut (visibly) to fit this
//! allow_unsandboxed_commands = false  # where the kernel cannot sandbox
//!                          # commands: true runs them unconfined as the
//!                          # policy says; false (default) asks for each
//!
//! [timeouts]               # seconds
//! connect = 10
//! first_byte = 120
//! idle = 90
//! attempt = 600            # an attempt's time waiting on the model, all
//!                          # its turns; past it the attempt fails
//!
//! [retries]
//! max = 4                  # retries after the first try
//! base_ms = 500            # first backoff; doubles, with jitter
//! cap_s = 30               # the longest wait, Retry-After included
//!
//! [limits]
//! tool_arguments = 1048576 # bytes of one tool call's arguments from the model
//!
//! [review]
//! require_viewed = false   # true: approving a change with files not marked
//!                          # viewed asks first
//!
//! [probe]
//! enabled = true           # probe an OpenAI-compatible server once per
//!                          # base URL and model, cached for a week
//!
//! [models."qwen2.5-coder"] # settings per model
//! tool_calls_in_text = true  # read <tool_call>{…}</tool_call> out of its text
//!
//! [prices."gpt-4o-mini"]   # US dollars per million tokens
//! prompt = 0.15
//! completion = 0.60
//! ```
//!
//! The environment (`OPENAI_API_KEY`, `OPENAI_BASE_URL`, `HANDOFF_MODEL`)
//! overrides the file and flags override both. A missing file means the
//! defaults; a broken one is reported with its position and nothing starts.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::diagnostic::Diagnostic;

/// Which provider config.toml asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderName {
    Offline,
    Openai,
}

/// Settings from config.toml.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub theme: Option<String>,
    pub bell: bool,
    pub provider: Option<ProviderName>,
    pub base_url: Option<String>,
    pub model: Option<String>,
    pub context_tokens: Option<usize>,
    /// The language every role answers in, whatever the pipeline says
    /// (`--language` wins over it).
    pub language: Option<String>,
    /// Run commands as the policy says even where the kernel cannot
    /// sandbox them (see `sandbox::OPT_OUT_SETTING`); else each one asks.
    pub allow_unsandboxed_commands: bool,
    pub timeouts: TimeoutSeconds,
    pub retries: Retries,
    pub limits: Limits,
    pub review: Review,
    pub probe: Probe,
    pub models: BTreeMap<String, ModelSettings>,
    pub prices: BTreeMap<String, Price>,
}

/// `[probe]`: the capability probe of an OpenAI-compatible server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Probe {
    /// Probe a server (once per base URL and model, cached) before a
    /// session; `HANDOFF_PROBE=off` in the environment turns it off too.
    pub enabled: bool,
}

impl Default for Probe {
    fn default() -> Self {
        Self { enabled: true }
    }
}

/// `[models."name"]`: what handoff should know about one model.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModelSettings {
    /// The model writes tool calls as text, Hermes/Qwen style
    /// (`<tool_call>{"name":…,"arguments":…}</tool_call>`): its tools are
    /// described in its prompt and its calls read out of its answer.
    pub tool_calls_in_text: bool,
}

impl Config {
    /// The models that write their tool calls as text.
    pub fn text_tool_models(&self) -> Vec<String> {
        self.models
            .iter()
            .filter(|(_, m)| m.tool_calls_in_text)
            .map(|(name, _)| name.clone())
            .collect()
    }
}

/// `[review]`: how a person reviews a phase's change at its gate.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Review {
    /// Approving a gate whose change has files not marked viewed asks
    /// first.
    pub require_viewed: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            theme: None,
            bell: true,
            provider: None,
            base_url: None,
            model: None,
            context_tokens: None,
            language: None,
            allow_unsandboxed_commands: false,
            timeouts: TimeoutSeconds::default(),
            retries: Retries::default(),
            limits: Limits::default(),
            review: Review::default(),
            probe: Probe::default(),
            models: BTreeMap::new(),
            prices: BTreeMap::new(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TimeoutSeconds {
    pub connect: u64,
    pub first_byte: u64,
    pub idle: u64,
    /// An attempt's time waiting on the model, all its turns together.
    pub attempt: u64,
}

/// `[timeouts] attempt` when config.toml does not say: ten minutes, far
/// more than a whole plan or report takes at a real model's speed, and a
/// model rambling without end is stopped.
pub const DEFAULT_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(600);

impl Default for TimeoutSeconds {
    fn default() -> Self {
        let t = Timeouts::default();
        Self {
            connect: t.connect.as_secs(),
            first_byte: t.first_byte.as_secs(),
            idle: t.idle.as_secs(),
            attempt: DEFAULT_ATTEMPT_TIMEOUT.as_secs(),
        }
    }
}

impl TimeoutSeconds {
    pub fn timeouts(self) -> Timeouts {
        Timeouts {
            connect: Duration::from_secs(self.connect.max(1)),
            first_byte: Duration::from_secs(self.first_byte.max(1)),
            idle: Duration::from_secs(self.idle.max(1)),
        }
    }

    /// The bound on one attempt's time waiting on the model.
    pub fn attempt(self) -> Duration {
        Duration::from_secs(self.attempt.max(1))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Retries {
    pub max: u32,
    pub base_ms: u64,
    pub cap_s: u64,
}

impl Default for Retries {
    fn default() -> Self {
        let p = RetryPolicy::default();
        Self {
            max: p.max_retries,
            base_ms: u64::try_from(p.base.as_millis()).unwrap_or(500),
            cap_s: p.cap.as_secs(),
        }
    }
}

impl Retries {
    pub fn policy(self) -> RetryPolicy {
        RetryPolicy {
            max_retries: self.max,
            base: Duration::from_millis(self.base_ms),
            cap: Duration::from_secs(self.cap_s),
        }
    }
}

/// How much the model may send that handoff reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Bytes of one tool call's arguments; past it the answer fails.
    pub tool_arguments: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            tool_arguments: 1024 * 1024,
        }
    }
}

/// US dollars per million tokens: finite and not negative (a `nan` would
/// make every budget comparison false, so a cost limit would never fire).
#[derive(Clone, Copy, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Price {
    #[serde(deserialize_with = "dollars")]
    pub prompt: f64,
    #[serde(deserialize_with = "dollars")]
    pub completion: f64,
}

/// A price: a finite number, zero or more; refused at its position.
fn dollars<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
    let value = f64::deserialize(deserializer)?;
    if value.is_finite() && value >= 0.0 {
        Ok(value)
    } else {
        Err(serde::de::Error::custom(format!(
            "a price must be a finite number of dollars, zero or more, not {value}"
        )))
    }
}

impl Price {
    /// The cost of some tokens at this price.
    #[expect(
        clippy::cast_precision_loss,
        reason = "Token counts stay far below 2^52."
    )]
    pub fn cost(self, prompt_tokens: u64, completion_tokens: u64) -> f64 {
        (prompt_tokens as f64 * self.prompt + completion_tokens as f64 * self.completion)
            / 1_000_000.0
    }
}

/// `handoff`'s folder under the user's config home.
pub fn config_dir(env: impl Fn(&str) -> Option<String>) -> Option<PathBuf> {
    env("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| env("HOME").map(|h| PathBuf::from(h).join(".config")))
        .map(|dir| dir.join("handoff"))
}

/// Parses config.toml text; `file` names it in messages.
pub fn parse(file: &str, text: &str) -> Result<Config, Diagnostic> {
    toml::from_str(text).map_err(|e| Diagnostic::from_toml(file, text, &e))
}

/// Reads the config file if there is one.
pub fn load(path: &Path) -> Result<Config, Diagnostic> {
    match std::fs::read(path) {
        Ok(bytes) => {
            let file = path.display().to_string();
            parse(&file, &crate::diagnostic::decode(&file, bytes)?)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Config::default()),
        Err(e) => Err(Diagnostic::at(
            &path.display().to_string(),
            "",
            None,
            e.to_string(),
        )),
    }
}

/// How long to wait for the model's server, for what.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    pub connect: Duration,
    /// From sending the request to the response headers.
    pub first_byte: Duration,
    /// Between two pieces of a streamed answer.
    pub idle: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(10),
            first_byte: Duration::from_secs(120),
            idle: Duration::from_secs(90),
        }
    }
}

/// How hard to try the model's server again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first try.
    pub max_retries: u32,
    /// The first backoff; it doubles each time.
    pub base: Duration,
    /// The longest wait, whatever the server asks for.
    pub cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 4,
            base: Duration::from_millis(500),
            cap: Duration::from_secs(30),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_values() {
        assert_eq!(parse("c", "").expect("empty"), Config::default());
        let c = parse(
            "c",
            "theme = \"mono\"\nbell = false\nprovider = \"openai\"\n[timeouts]\nidle = 5\n[prices.m]\nprompt = 1.0\ncompletion = 2.0\n",
        )
        .expect("valid");
        assert_eq!(c.theme.as_deref(), Some("mono"));
        assert!(!c.bell);
        assert_eq!(c.provider, Some(ProviderName::Openai));
        assert_eq!(c.timeouts.timeouts().idle, Duration::from_secs(5));
        assert_eq!(c.timeouts.connect, TimeoutSeconds::default().connect);
        assert!((c.prices["m"].cost(1_000_000, 500_000) - 2.0).abs() < 1e-9);
    }

    #[test]
    fn models_and_the_probe() {
        let c = parse(
            "c",
            "[probe]\nenabled = false\n[models.\"qwen2.5\"]\ntool_calls_in_text = true\n[models.llama]\n",
        )
        .expect("valid");
        assert!(!c.probe.enabled);
        assert!(Config::default().probe.enabled);
        assert_eq!(c.text_tool_models(), ["qwen2.5"]);
        let e = parse("config.toml", "[models.m]\ntools_in_text = true\n").expect_err("unknown");
        assert_eq!(e.line, 2, "{e}");
    }

    #[test]
    fn mistakes_are_placed() {
        let e = parse("config.toml", "bell = \"loud\"\n").expect_err("wrong type");
        assert_eq!((e.line, e.column), (1, 8), "{e}");
        let e = parse("config.toml", "theme = \"mono\"\ncolour = 1\n").expect_err("unknown key");
        assert_eq!(e.line, 2, "{e}");
        assert!(e.message.contains("colour"), "{e}");
        let e = parse("config.toml", "provider = \"claude\"\n").expect_err("unknown provider");
        assert_eq!(e.line, 1, "{e}");
    }

    #[test]
    fn prices_are_finite_and_not_negative() {
        for value in ["nan", "-0.5", "inf", "-inf"] {
            let text = format!("[prices.m]\nprompt = 1.0\ncompletion = {value}\n");
            let e = parse("config.toml", &text).expect_err(value);
            assert_eq!((e.line, e.column), (3, 14), "{value}: {e}");
            assert!(e.message.contains("finite"), "{e}");
        }
        let free = parse("c", "[prices.m]\nprompt = 0.0\ncompletion = 0.0\n").expect("free");
        assert!(free.prices["m"].cost(10, 10).abs() < f64::EPSILON);
    }
}
