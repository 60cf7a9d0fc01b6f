//! What a model's server can do, found out once: the [`Capabilities`] a
//! probe measured (streaming, usage in the stream, tool calls, structured
//! output, the context length, the time to the first token) and their
//! cache, a JSON file per base URL and model under
//! `$XDG_CACHE_HOME/handoff/` (else `~/.cache/handoff/`).
//!
//! A cache that is missing, stale, for another server or unreadable is
//! never an error: the caller probes again. The probing itself is the
//! provider's (`openai::probe`); this module only holds the findings and
//! reads and writes them.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// How long a probe's findings are trusted before the server is probed
/// again.
pub const MAX_AGE: chrono::TimeDelta = chrono::TimeDelta::days(7);

/// What a request offering one tool brought back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tools {
    /// A real tool call.
    Calls,
    /// An answer without a tool call: the server (or its chat template)
    /// dropped the tools.
    Ignored,
    /// The server refused a request with `tools` (400 or 422).
    Refused,
    /// The probe could not tell (a timeout, an error).
    Unknown,
}

/// What a request with a `response_format` brought back.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Structured {
    /// Accepted, and the answer had the shape asked for.
    Honoured,
    /// Accepted, but the answer did not have the shape: the server ignores
    /// the field.
    Ignored,
    /// An error answered the request (400, 422, a 500 naming the field).
    Refused,
    #[default]
    Unknown,
}

impl Structured {
    /// Whether the server takes requests with this format.
    pub fn accepted(self) -> bool {
        match self {
            Self::Honoured | Self::Ignored | Self::Unknown => true,
            Self::Refused => false,
        }
    }

    fn mark(self) -> &'static str {
        match self {
            Self::Honoured => "✓",
            Self::Ignored => "ignored",
            Self::Refused => "✗",
            Self::Unknown => "?",
        }
    }
}

/// What a probe found about one model behind one base URL.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Capabilities {
    pub base_url: String,
    pub model: String,
    pub probed_at: DateTime<Utc>,
    /// A streamed answer came back as server-sent events.
    pub streaming: bool,
    /// The stream carried a usage report (`stream_options.include_usage`).
    pub usage: bool,
    pub tools: Tools,
    /// The answer to the tool request held a `<tool_call>` written as text
    /// (Hermes/Qwen style): `tool_calls_in_text = true` would read it.
    #[serde(default)]
    pub tool_calls_as_text: bool,
    pub json_schema: Structured,
    /// `json_schema` in a request that also offers tools, which some
    /// servers treat apart.
    #[serde(default)]
    pub json_schema_with_tools: Structured,
    pub json_object: Structured,
    /// The context length the server reports, and where it said so.
    pub context_tokens: Option<usize>,
    pub context_from: Option<String>,
    /// From sending the first request to its first text.
    pub first_token_ms: Option<u64>,
}

impl Capabilities {
    /// Whether roles can be offered tools: a server that drops them or
    /// refuses them cannot run any.
    pub fn can_call_tools(&self) -> bool {
        match self.tools {
            Tools::Calls | Tools::Unknown => true,
            Tools::Ignored | Tools::Refused => false,
        }
    }

    /// The status bar's short form: `schema ✓ · tools ✗ · ctx 8.2k · 0.4s`.
    pub fn short(&self) -> String {
        let structured = match (self.json_schema, self.json_object) {
            (Structured::Honoured, _) => "schema ✓",
            (Structured::Ignored, _) => "schema ignored",
            (_, Structured::Honoured | Structured::Ignored) => "json_object",
            (Structured::Refused | Structured::Unknown, _) => "prompt only",
        };
        let tools = match self.tools {
            Tools::Calls => "tools ✓",
            Tools::Ignored | Tools::Refused => "no tools",
            Tools::Unknown => "tools ?",
        };
        let mut out = format!("{structured} · {tools}");
        if let Some(n) = self.context_tokens {
            let _ = write!(out, " · ctx {}", thousands(n));
        }
        if let Some(ms) = self.first_token_ms {
            #[expect(clippy::cast_precision_loss, reason = "a display figure")]
            let _ = write!(out, " · {:.1}s", ms as f64 / 1000.0);
        }
        out
    }

    /// `doctor`'s lines, one finding each.
    pub fn report(&self) -> Vec<String> {
        let yes = |b: bool| if b { "✓" } else { "✗" };
        let tools = match self.tools {
            Tools::Calls => "✓ a request with one tool came back with a tool call".to_owned(),
            Tools::Ignored if self.tool_calls_as_text => "✗ ignored: the model wrote the call as text (<tool_call>…); \
                 `tool_calls_in_text = true` under [models.\"<name>\"] in config.toml reads it"
                .to_owned(),
            Tools::Ignored => {
                "✗ ignored: the answer came back without a tool call; roles are told they have no tools"
                    .to_owned()
            }
            Tools::Refused => {
                "✗ refused: the server does not take `tools`; roles are told they have no tools"
                    .to_owned()
            }
            Tools::Unknown => "? the probe could not tell".to_owned(),
        };
        let context = match (self.context_tokens, &self.context_from) {
            (Some(n), Some(from)) => format!("{n} tokens (from {from})"),
            (Some(n), None) => format!("{n} tokens"),
            (None, _) => "not reported: context_tokens in config.toml, else 32768".to_owned(),
        };
        vec![
            format!("streaming       {}", yes(self.streaming)),
            format!("usage           {}", yes(self.usage)),
            format!("tool calls      {tools}"),
            format!(
                "json_schema     {} {}",
                self.json_schema.mark(),
                structured_note(self.json_schema)
            ),
            format!(
                "  with tools    {} {}",
                self.json_schema_with_tools.mark(),
                structured_note(self.json_schema_with_tools)
            ),
            format!(
                "json_object     {} {}",
                self.json_object.mark(),
                structured_note(self.json_object)
            ),
            format!("context         {context}"),
            format!(
                "first token     {}",
                self.first_token_ms
                    .map_or_else(|| "?".to_owned(), |ms| format!("{ms} ms"))
            ),
        ]
    }
}

fn structured_note(s: Structured) -> &'static str {
    match s {
        Structured::Honoured => "honoured (the answer had the shape asked for)",
        Structured::Ignored => "accepted but ignored (the answer did not have the shape)",
        Structured::Refused => "refused (the server answered it with an error)",
        Structured::Unknown => "the probe could not tell",
    }
}

/// `8192` as `8.2k`.
fn thousands(n: usize) -> String {
    #[expect(clippy::cast_precision_loss, reason = "a display figure")]
    match n {
        0..1000 => n.to_string(),
        _ => format!("{:.1}k", n as f64 / 1000.0),
    }
}

/// handoff's folder under the user's cache home.
pub fn cache_dir(env: impl Fn(&str) -> Option<String>) -> Option<PathBuf> {
    env("XDG_CACHE_HOME")
        .filter(|d| Path::new(d).is_absolute())
        .map(PathBuf::from)
        .or_else(|| env("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .map(|dir| dir.join("handoff"))
}

/// The cache file for `model` behind `base_url`: both in the name, every
/// character but letters, digits, `.` and `-` as `_`. Two servers whose
/// names fold to the same file take turns: the file says whose it is.
pub fn cache_file(dir: &Path, base_url: &str, model: &str) -> PathBuf {
    let key = format!("{}@{model}", base_url.trim_end_matches('/'));
    let slug: String = key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(200)
        .collect();
    dir.join(format!("probe-{slug}.json"))
}

/// What the cache held.
#[derive(Debug, PartialEq)]
pub enum Cached {
    Fresh(Capabilities),
    /// Older than [`MAX_AGE`] (or from the future).
    Stale,
    Missing,
    /// Unreadable, or another server's: the reason.
    Broken(String),
}

/// Reads the findings for `model` behind `base_url` from `file`.
pub fn load(file: &Path, base_url: &str, model: &str, now: DateTime<Utc>) -> Cached {
    let bytes = match std::fs::read(file) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Cached::Missing,
        Err(e) => return Cached::Broken(e.to_string()),
    };
    let caps: Capabilities = match serde_json::from_slice(&bytes) {
        Ok(caps) => caps,
        Err(e) => return Cached::Broken(e.to_string()),
    };
    if caps.base_url != base_url.trim_end_matches('/') || caps.model != model {
        return Cached::Broken(format!(
            "it holds {} · {}",
            caps.base_url.trim_end_matches('/'),
            caps.model
        ));
    }
    let age = now - caps.probed_at;
    if age > MAX_AGE || age < chrono::TimeDelta::zero() {
        return Cached::Stale;
    }
    Cached::Fresh(caps)
}

/// Writes the findings to `file` whole (a temporary file renamed over
/// it), making its folder private if it is new.
pub fn save(file: &Path, caps: &Capabilities) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt as _;
    let dir = file.parent().unwrap_or_else(|| Path::new("."));
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let mut temp = tempfile::NamedTempFile::new_in(dir)?;
    serde_json::to_writer_pretty(&mut temp, caps).map_err(std::io::Error::other)?;
    std::io::Write::write_all(&mut temp, b"\n")?;
    temp.persist(file).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample(now: DateTime<Utc>) -> Capabilities {
        Capabilities {
            base_url: "http://127.0.0.1:8765/v1".into(),
            model: "smollm2".into(),
            probed_at: now,
            streaming: true,
            usage: true,
            tools: Tools::Ignored,
            tool_calls_as_text: false,
            json_schema: Structured::Honoured,
            json_schema_with_tools: Structured::Honoured,
            json_object: Structured::Honoured,
            context_tokens: Some(8192),
            context_from: Some("/props".into()),
            first_token_ms: Some(420),
        }
    }

    #[test]
    fn the_cache_round_trips_and_goes_stale() {
        let dir = tempfile::tempdir().expect("tempdir");
        let now = Utc::now();
        let caps = sample(now);
        let file = cache_file(dir.path(), &caps.base_url, &caps.model);
        assert_eq!(
            file.file_name().and_then(|f| f.to_str()),
            Some("probe-http___127.0.0.1_8765_v1_smollm2.json")
        );
        assert_eq!(load(&file, &caps.base_url, "smollm2", now), Cached::Missing);
        save(&file, &caps).expect("save");
        assert_eq!(
            load(&file, "http://127.0.0.1:8765/v1/", "smollm2", now),
            Cached::Fresh(caps.clone())
        );
        let later = now + MAX_AGE + chrono::TimeDelta::seconds(1);
        assert_eq!(load(&file, &caps.base_url, "smollm2", later), Cached::Stale);
        assert!(matches!(
            load(&file, &caps.base_url, "other", now),
            Cached::Broken(_)
        ));
        std::fs::write(&file, "{ not json").expect("write");
        assert!(matches!(
            load(&file, &caps.base_url, "smollm2", now),
            Cached::Broken(_)
        ));
    }

    #[test]
    fn the_short_form_says_what_matters() {
        let caps = sample(Utc::now());
        assert_eq!(caps.short(), "schema ✓ · no tools · ctx 8.2k · 0.4s");
        assert!(!caps.can_call_tools());
        let refused = Capabilities {
            json_schema: Structured::Refused,
            json_object: Structured::Refused,
            tools: Tools::Calls,
            context_tokens: None,
            first_token_ms: None,
            ..caps
        };
        assert_eq!(refused.short(), "prompt only · tools ✓");
        assert!(refused.can_call_tools());
    }

    #[test]
    fn the_cache_lives_under_the_cache_home() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                vars.iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        assert_eq!(
            cache_dir(env(&[("XDG_CACHE_HOME", "/c"), ("HOME", "/h")])),
            Some(PathBuf::from("/c/handoff"))
        );
        assert_eq!(
            cache_dir(env(&[("XDG_CACHE_HOME", "rel"), ("HOME", "/h")])),
            Some(PathBuf::from("/h/.cache/handoff"))
        );
        assert_eq!(cache_dir(env(&[])), None);
    }
}
