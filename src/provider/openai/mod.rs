//! The `openai` provider: any chat completions server that speaks the
//! `OpenAI` wire format (`OpenAI` itself, `OpenRouter`, `Ollama`, `vLLM`,
//! `LM Studio`, `LiteLLM`), streamed.
//!
//! Requests go out through async-openai (bring-your-own-types, so any
//! server's chunks are read leniently) over our own reqwest client and
//! [`retry::RetryingClient`], which owns timeouts and retries before the
//! first byte. The answer streams back as [`Chunk`]s: text, usage, retry
//! notices, and `Done` only once the server has sent a finish reason and
//! closed the stream — a stream that ends without one was cut short. A
//! stream that goes quiet for longer than the idle timeout fails. Error
//! messages name the base URL and model and never contain the API key.
//!
//! A plan or a verdict is asked for with the strongest `response_format` the
//! server takes ([`wire::Format`]): its JSON Schema, else any JSON object,
//! else the prompt's instructions alone. A server that refuses a format
//! with 400 (or 422) is asked again at once with the next weaker one, which
//! the provider then keeps for the rest of the session (separately for
//! requests with and without tools, which some servers treat apart); the
//! step down is reported as a `retry` notice so the log says why. Once a
//! capability probe ([`probe`]) has found which formats the server takes,
//! requests start at the strongest it took (with tools and without), and a
//! 400 or 422 is then the error it says, not a reason to step down.
//!
//! A model named with `tool_calls_in_text` ([`text_calls`]) is sent its
//! tools in the prompt and its calls are read out of its text.

pub mod lines;
pub mod probe;
pub mod retry;
pub mod text_calls;
pub mod wire;

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;
use futures::{Stream, StreamExt};
use serde_json::Value;
use tokio::sync::mpsc;

use super::{Chunk, ChunkStream, CompletionRequest, Provider, ProviderError, ToolCall};
use crate::config::{RetryPolicy, Timeouts};
use retry::{RetryNotice, RetryingClient};

/// Where and how to reach the server. Its `Debug` never shows the key,
/// so neither can a panic message or a debug print.
#[derive(Clone)]
pub struct Settings {
    /// Including `/v1`, without a trailing slash.
    pub base_url: String,
    pub api_key: Option<String>,
    pub timeouts: Timeouts,
    pub retry: RetryPolicy,
    /// The most bytes of one tool call's arguments read from the model.
    pub tool_arguments: usize,
    /// Models that write tool calls as text (`tool_calls_in_text`).
    pub text_tools: Vec<String>,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "[set]"))
            .field("timeouts", &self.timeouts)
            .field("retry", &self.retry)
            .field("tool_arguments", &self.tool_arguments)
            .field("text_tools", &self.text_tools)
            .finish()
    }
}

/// The OpenAI-compatible provider.
#[derive(Clone, Debug)]
pub struct OpenAiProvider {
    settings: Settings,
    http: reqwest::Client,
    /// What each model behind the server has taken, by model name.
    formats: Arc<Mutex<HashMap<String, Formats>>>,
    /// Answers read for calls written as text so far: each one's calls get
    /// ids of their own (`text_call_<answer>_<n>`).
    text_answers: Arc<std::sync::atomic::AtomicU64>,
}

/// The strongest response format the server has not refused, for requests
/// without tools and with them.
#[derive(Clone, Copy, Debug)]
struct Formats {
    plain: wire::Format,
    with_tools: wire::Format,
    /// A probe found `plain` (and `with_tools`): a refusal of it is not
    /// about the format.
    probed: bool,
    probed_with_tools: bool,
}

impl Formats {
    /// Before anything is known: the strongest format, unprobed.
    const FRESH: Self = Self {
        plain: wire::Format::JsonSchema,
        with_tools: wire::Format::JsonSchema,
        probed: false,
        probed_with_tools: false,
    };

    /// Runs `f` on what `model` has taken, from `memory`.
    fn of<R>(
        memory: &Mutex<HashMap<String, Self>>,
        model: &str,
        f: impl FnOnce(&mut Self) -> R,
    ) -> Option<R> {
        let mut map = memory.lock().ok()?;
        Some(f(map.entry(model.to_owned()).or_insert(Self::FRESH)))
    }

    fn slot(&mut self, with_tools: bool) -> &mut wire::Format {
        if with_tools {
            &mut self.with_tools
        } else {
            &mut self.plain
        }
    }

    /// Steps down to `weaker` after `refused` was refused, unless another
    /// request has moved the slot on since (a slow request that started at
    /// a stronger format must not undo a deeper step-down).
    fn step_down(&mut self, with_tools: bool, refused: wire::Format, weaker: wire::Format) {
        let slot = self.slot(with_tools);
        if *slot == refused {
            *slot = weaker;
        }
    }
}

/// Whether an error answering a request with a response format says the
/// server will not take that format: a 400 or 422 that is not about the
/// context being too long.
fn refuses_format(error: &OpenAIError) -> bool {
    let OpenAIError::ApiError(e) = error else {
        return false;
    };
    let message = e.api_error.message.to_ascii_lowercase();
    matches!(e.status_code.as_u16(), 400 | 422) && !message.contains("context")
}

impl OpenAiProvider {
    pub fn new(mut settings: Settings) -> Result<Self, String> {
        let trimmed = settings.base_url.trim_end_matches('/').len();
        settings.base_url.truncate(trimmed);
        if !(settings.base_url.starts_with("http://") || settings.base_url.starts_with("https://"))
        {
            return Err(format!(
                "base URL `{}` must start with http:// or https:// (for example http://localhost:11434/v1)",
                settings.base_url
            ));
        }
        let http = reqwest::Client::builder()
            .connect_timeout(settings.timeouts.connect)
            .tls_backend_preconfigured(tls_config()?)
            .build()
            .map_err(|e| format!("cannot set up HTTP: {e}"))?;
        Ok(Self {
            settings,
            http,
            formats: Arc::default(),
            text_answers: Arc::default(),
        })
    }

    /// Starts `model`'s structured requests at the strongest format `caps`
    /// found the server takes for it (with tools and without); where the
    /// probe had an answer about that format, a refusal no longer steps
    /// down.
    pub fn adopt(&self, model: &str, caps: &crate::provider::probe::Capabilities) {
        use crate::provider::probe::Structured;
        // The format to start at, and whether the probe had an answer
        // about it.
        let start = |schema: Structured| {
            if schema.accepted() {
                (wire::Format::JsonSchema, schema != Structured::Unknown)
            } else if caps.json_object.accepted() {
                (
                    wire::Format::JsonObject,
                    caps.json_object != Structured::Unknown,
                )
            } else {
                (wire::Format::PromptOnly, true)
            }
        };
        let (plain, probed) = start(caps.json_schema);
        let with_tools_schema = if caps.json_schema.accepted() {
            caps.json_schema_with_tools
        } else {
            caps.json_schema
        };
        let (with_tools, probed_with_tools) = match start(with_tools_schema) {
            // json_object was probed without tools only.
            (wire::Format::JsonObject, _) => (wire::Format::JsonObject, false),
            found => found,
        };
        Formats::of(&self.formats, model, |f| {
            *f = Formats {
                plain,
                with_tools,
                probed,
                probed_with_tools,
            };
        });
    }

    /// Whether `model` writes its tool calls as text.
    pub fn text_tools(&self, model: &str) -> bool {
        self.settings.text_tools.iter().any(|m| m == model)
    }

    /// The response format `model`'s next structured request goes out
    /// with.
    pub fn format(&self, model: &str, with_tools: bool) -> wire::Format {
        Formats::of(&self.formats, model, |f| *f.slot(with_tools))
            .unwrap_or(wire::Format::PromptOnly)
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    fn client(
        &self,
        notices: mpsc::UnboundedSender<RetryNotice>,
        activity: lines::Activity,
    ) -> Client<OpenAIConfig> {
        let config = OpenAIConfig::new()
            .with_api_base(self.settings.base_url.clone())
            .with_api_key(self.settings.api_key.clone().unwrap_or_default());
        // `Client::with_config` would build a reqwest client of its own on
        // every call, reading every system root certificate (~4 ms each
        // time), and without a process-wide crypto provider it could not
        // set up TLS at all; `build` reuses ours.
        Client::build(self.http.clone(), config).with_http_service(RetryingClient {
            http: self.http.clone(),
            policy: self.settings.retry,
            first_byte: self.settings.timeouts.first_byte,
            notices: Some(notices),
            activity: Some(activity),
        })
    }
}

/// TLS for the HTTP client: rustls with the `ring` crypto provider, passed
/// here rather than installed as the process default (no global state), and
/// the platform's verifier, which trusts the system's root certificates —
/// what reqwest's own rustls set-up does. Only HTTP/1.1 is offered, as
/// reqwest does without its `http2` feature.
fn tls_config() -> Result<rustls::ClientConfig, String> {
    use rustls_platform_verifier::BuilderVerifierExt;
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(BuilderVerifierExt::with_platform_verifier)
        .map_err(|e| format!("cannot set up TLS: {e}"))?
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// What error messages say about the target: base URL and model, no key.
#[derive(Clone)]
struct Target {
    base_url: String,
    model: String,
    key: Option<String>,
}

impl Target {
    /// Removes the key, and anything shaped like one, from a message.
    fn redact(&self, message: &str) -> String {
        let mut out = match &self.key {
            Some(key) if key.len() >= 4 => message.replace(key.as_str(), "[key]"),
            _ => message.to_owned(),
        };
        while let Some(start) = out.find("sk-") {
            let end = out[start..]
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '*'))
                .map_or(out.len(), |i| start + i);
            out.replace_range(start..end, "[key]");
        }
        out
    }

    #[expect(
        clippy::wildcard_enum_match_arm,
        reason = "async-openai's error enum: the kinds not named read well as they are"
    )]
    fn error(&self, error: OpenAIError) -> ProviderError {
        let at = format!("{} (model {})", self.base_url, self.model);
        let message = match error {
            OpenAIError::ApiError(e) => {
                let status = e.status_code.as_u16();
                let hint = match status {
                    401 => " — check the API key (OPENAI_API_KEY)",
                    403 => " — the key may not have access to this model",
                    404 => " — is the model name right, and does the base URL end in /v1?",
                    429 => " — rate limited or out of quota; try again later",
                    _ => "",
                };
                format!(
                    "{} from {at}: {}{hint}",
                    e.status_code,
                    e.api_error.message.trim()
                )
            }
            OpenAIError::JSONDeserialize(_, raw) => match wire::error_in(&raw) {
                Some(e) => format!(
                    "the server reported an error mid-stream from {at}: {}",
                    e.describe()
                ),
                None => format!(
                    "the server at {at} sent something that is not a chat completion chunk: {}",
                    raw.chars().take(200).collect::<String>()
                ),
            },
            OpenAIError::Reqwest(e) => format!("request to {at} failed: {e}"),
            OpenAIError::StreamError(e) => format!("the stream from {at} broke: {e}"),
            OpenAIError::Boxed(e) => format!("{at}: {e}"),
            other => format!("{at}: {other}"),
        };
        ProviderError(self.redact(&message))
    }
}

/// The most tool calls one turn may make: an `index` past it is refused
/// before anything is allocated for it.
pub const MAX_TOOL_CALLS: usize = 64;

/// The longest tool name read (the real ones are a dozen bytes).
const MAX_TOOL_NAME: usize = 256;

/// How much of a stream is read, and how long it may be quiet.
#[derive(Clone, Debug)]
struct Limits {
    idle: Duration,
    /// The most bytes of one tool call's arguments.
    tool_arguments: usize,
    /// Bytes received, counted below the event parser: a long line still
    /// arriving is not silence.
    activity: lines::Activity,
}

/// The stream state: what the server sent, turned into chunks one by one.
struct Reading<S> {
    stream: S,
    pending: VecDeque<Result<Chunk, ProviderError>>,
    /// Tool calls being assembled, by their index in the turn.
    calls: Vec<ToolCall>,
    finish: Option<String>,
    over: bool,
}

fn read_chunks<S>(
    stream: S,
    limits: Limits,
    target: Target,
) -> impl Stream<Item = Result<Chunk, ProviderError>>
where
    S: Stream<Item = Result<wire::Chunk, OpenAIError>> + Unpin,
{
    let state = Reading {
        stream,
        pending: VecDeque::new(),
        calls: Vec::new(),
        finish: None,
        over: false,
    };
    futures::stream::unfold(state, move |mut st| {
        let target = target.clone();
        let limits = limits.clone();
        async move {
            let idle = limits.idle;
            let mut heard = limits.activity.bytes();
            loop {
                if let Some(next) = st.pending.pop_front() {
                    return Some((next, st));
                }
                if st.over {
                    return None;
                }
                match tokio::time::timeout(idle, st.stream.next()).await {
                    Err(_) if limits.activity.bytes() != heard => {
                        // Bytes came, but no whole event yet: a long line.
                        heard = limits.activity.bytes();
                    }
                    Err(_) => {
                        st.over = true;
                        st.pending.push_back(Err(ProviderError(format!(
                            "the stream from {} (model {}) stalled: nothing for {}s",
                            target.base_url,
                            target.model,
                            idle.as_secs()
                        ))));
                    }
                    Ok(None) => {
                        st.over = true;
                        if let Some(reason) = st.finish.take() {
                            // Whole calls first, then the end of the turn.
                            st.pending
                                .extend(st.calls.drain(..).map(|c| Ok(Chunk::ToolCall(c))));
                            st.pending.push_back(Ok(Chunk::Done {
                                finish_reason: reason,
                            }));
                        }
                    }
                    Ok(Some(Err(e))) => {
                        st.over = true;
                        st.pending.push_back(Err(target.error(e)));
                    }
                    Ok(Some(Ok(chunk))) => {
                        if let Some(error) = chunk.error {
                            st.over = true;
                            st.pending
                                .push_back(Err(ProviderError(target.redact(&format!(
                                "the server reported an error mid-stream from {} (model {}): {}",
                                target.base_url,
                                target.model,
                                error.describe()
                            )))));
                            continue;
                        }
                        for choice in chunk.choices {
                            if let Some(text) = choice.delta.content.filter(|t| !t.is_empty()) {
                                st.pending.push_back(Ok(Chunk::Text(text)));
                            }
                            for fragment in choice.delta.tool_calls {
                                if let Err(e) =
                                    assemble(&mut st.calls, fragment, limits.tool_arguments)
                                {
                                    st.over = true;
                                    st.pending.push_back(Err(ProviderError(format!(
                                        "{} (model {}) {e}",
                                        target.base_url, target.model
                                    ))));
                                    break;
                                }
                            }
                            if let Some(reason) = choice.finish_reason {
                                st.finish = Some(reason);
                            }
                        }
                        if let Some(u) = chunk.usage {
                            st.pending.push_back(Ok(Chunk::Usage {
                                prompt_tokens: u.prompt_tokens,
                                completion_tokens: u.completion_tokens,
                            }));
                        }
                    }
                }
            }
        }
    })
}

/// Adds one streamed fragment to the call it belongs to; refuses an index
/// past [`MAX_TOOL_CALLS`], a name past [`MAX_TOOL_NAME`] and arguments
/// past `max_arguments` bytes.
fn assemble(
    calls: &mut Vec<ToolCall>,
    fragment: wire::ToolCallDelta,
    max_arguments: usize,
) -> Result<(), String> {
    if fragment.index >= MAX_TOOL_CALLS {
        return Err(format!(
            "sent tool call number {}; at most {MAX_TOOL_CALLS} calls a turn are read",
            fragment.index
        ));
    }
    while calls.len() <= fragment.index {
        calls.push(ToolCall {
            id: String::new(),
            name: String::new(),
            arguments: String::new(),
        });
    }
    let call = &mut calls[fragment.index];
    if let Some(id) = fragment.id {
        call.id = id;
    }
    if let Some(name) = fragment.function.name {
        if call.name.len().saturating_add(name.len()) > MAX_TOOL_NAME {
            return Err(format!(
                "sent a tool name over {MAX_TOOL_NAME} bytes for tool call number {}",
                fragment.index
            ));
        }
        call.name.push_str(&name);
    }
    if let Some(arguments) = fragment.function.arguments {
        if call.arguments.len().saturating_add(arguments.len()) > max_arguments {
            return Err(format!(
                "sent arguments over {} KiB for the tool call `{}` (limits.tool_arguments in config.toml)",
                max_arguments >> 10,
                call.name
            ));
        }
        call.arguments.push_str(&arguments);
    }
    Ok(())
}

impl Provider for OpenAiProvider {
    fn name(&self) -> &'static str {
        "openai"
    }

    fn stream(&self, request: CompletionRequest) -> ChunkStream {
        let (notices_tx, notices) = mpsc::unbounded_channel();
        let format_notices = notices_tx.clone();
        let activity = lines::Activity::default();
        let client = self.client(notices_tx, activity.clone());
        let target = Target {
            base_url: self.settings.base_url.clone(),
            model: request.model.clone(),
            key: self.settings.api_key.clone(),
        };
        let read = Limits {
            idle: self.settings.timeouts.idle,
            tool_arguments: self.settings.tool_arguments,
            activity,
        };
        let connect_target = target.clone();
        let memory = Arc::clone(&self.formats);
        let format_target = target.clone();
        let text_tools = self.text_tools(&request.model) && !request.tools.is_empty();
        let request = if text_tools {
            text_calls::as_text(&request)
        } else {
            request
        };
        let with_tools = !request.tools.is_empty();
        let structured = request.answer.schema.is_some();
        let cap = wire::CapField::for_base_url(&self.settings.base_url);
        let answer = futures::stream::once(async move {
            let model = request.model.clone();
            let (mut format, probed) = if structured {
                Formats::of(&memory, &model, |f| {
                    let probed = if with_tools {
                        f.probed_with_tools
                    } else {
                        f.probed
                    };
                    (*f.slot(with_tools), probed)
                })
                .unwrap_or((wire::Format::PromptOnly, false))
            } else {
                (wire::Format::PromptOnly, false)
            };
            let mut tried = 1;
            loop {
                let body = wire::request_body(&request, format, cap);
                let opened = client
                    .chat()
                    .create_stream_byot::<Value, wire::Chunk>(body)
                    .await;
                match (opened, format.weaker()) {
                    (Err(e), Some(weaker)) if structured && !probed && refuses_format(&e) => {
                        Formats::of(&memory, &model, |f| f.step_down(with_tools, format, weaker));
                        tried += 1;
                        let _ = format_notices.send(RetryNotice {
                            next_try: tried,
                            tries: 3,
                            wait: Duration::ZERO,
                            reason: format!(
                                "the server refused response_format {} ({}); asking with {} from now on",
                                format.name(),
                                format_target.error(e),
                                weaker.name()
                            ),
                        });
                        format = weaker;
                    }
                    (opened, _) => return opened,
                }
            }
        })
        .flat_map(move |opened| match opened {
            Ok(stream) => read_chunks(stream, read.clone(), target.clone()).boxed(),
            Err(e) => futures::stream::iter([Err(connect_target.error(e))]).boxed(),
        });
        let answer = if text_tools {
            let answer_no = self
                .text_answers
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let extractor = text_calls::Extractor::new(
                format!("text_call_{answer_no}_"),
                self.settings.tool_arguments,
            );
            text_calls::extract(answer.boxed(), extractor).boxed()
        } else {
            answer.boxed()
        };
        let retries = futures::stream::unfold(notices, |mut rx| async move {
            let n = rx.recv().await?;
            let chunk = Chunk::Retry {
                reason: n.reason,
                wait: n.wait,
                next_try: n.next_try,
                tries: n.tries,
            };
            Some((Ok(chunk), rx))
        });
        futures::stream::select(retries, answer).boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fragment(index: usize, name: Option<&str>, arguments: &str) -> wire::ToolCallDelta {
        wire::ToolCallDelta {
            index,
            id: name.map(|_| format!("c{index}")),
            function: wire::FunctionDelta {
                name: name.map(str::to_owned),
                arguments: Some(arguments.to_owned()),
            },
        }
    }

    #[test]
    fn tool_calls_are_assembled_within_their_bounds() {
        let mut calls = Vec::new();
        assemble(&mut calls, fragment(1, Some("read_file"), "{\"pa"), 16).expect("in bounds");
        assemble(&mut calls, fragment(1, None, "th\": 1}"), 16).expect("in bounds");
        assert_eq!(calls.len(), 2);
        assert_eq!(calls[1].arguments, "{\"path\": 1}");
        assert_eq!(calls[1].name, "read_file");

        let far = assemble(&mut calls, fragment(200_000_000, Some("x"), ""), 16);
        assert!(far.is_err_and(|e| e.contains("200000000")));
        assert_eq!(calls.len(), 2, "nothing allocated for it");
        let long = assemble(&mut calls, fragment(1, None, "0123456789"), 16);
        assert!(long.is_err_and(|e| e.contains("read_file")));
        let name = "n".repeat(MAX_TOOL_NAME + 1);
        assert!(assemble(&mut calls, fragment(0, Some(&name), ""), 16).is_err());
    }

    #[test]
    fn a_step_down_never_undoes_a_deeper_one() {
        let mut f = Formats::FRESH;
        f.step_down(true, wire::Format::JsonSchema, wire::Format::JsonObject);
        f.step_down(true, wire::Format::JsonObject, wire::Format::PromptOnly);
        // A slow request that went out with json_schema is refused last.
        f.step_down(true, wire::Format::JsonSchema, wire::Format::JsonObject);
        assert_eq!(f.with_tools, wire::Format::PromptOnly);
        assert_eq!(
            f.plain,
            wire::Format::JsonSchema,
            "the other slot is its own"
        );
    }

    #[test]
    fn json_object_with_tools_is_not_taken_as_probed() {
        use crate::provider::probe::{Capabilities, Structured, Tools};
        let provider = OpenAiProvider::new(Settings {
            base_url: "http://localhost:1/v1".into(),
            api_key: None,
            timeouts: Timeouts::default(),
            retry: RetryPolicy::default(),
            tool_arguments: crate::config::Limits::default().tool_arguments,
            text_tools: Vec::new(),
        })
        .expect("provider");
        let caps = Capabilities {
            base_url: "http://localhost:1/v1".into(),
            model: "m".into(),
            probed_at: chrono::Utc::now(),
            streaming: true,
            usage: true,
            tools: Tools::Calls,
            tool_calls_as_text: false,
            json_schema: Structured::Honoured,
            json_schema_with_tools: Structured::Refused,
            json_object: Structured::Honoured,
            context_tokens: None,
            context_from: None,
            first_token_ms: None,
        };
        provider.adopt("m", &caps);
        let f = Formats::of(&provider.formats, "m", |f| *f).expect("formats");
        assert_eq!(f.plain, wire::Format::JsonSchema);
        assert!(f.probed);
        assert_eq!(f.with_tools, wire::Format::JsonObject);
        assert!(!f.probed_with_tools, "json_object was probed without tools");
    }

    #[test]
    fn keys_never_reach_messages() {
        let target = Target {
            base_url: "https://api.example/v1".into(),
            model: "m".into(),
            key: Some("secret-token-1234".into()),
        };
        assert_eq!(
            target.redact("bad key secret-token-1234 and sk-proj-AbC_12**** here"),
            "bad key [key] and [key] here"
        );
    }

    #[test]
    fn tls_is_ring_without_a_process_default() {
        let config = tls_config().expect("TLS config");
        let suites = |p: &rustls::crypto::CryptoProvider| {
            p.cipher_suites
                .iter()
                .map(rustls::SupportedCipherSuite::suite)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            suites(config.crypto_provider()),
            suites(&rustls::crypto::ring::default_provider())
        );
        assert_eq!(config.alpn_protocols, [b"http/1.1".to_vec()]);
        OpenAiProvider::new(Settings {
            base_url: "https://api.example/v1".into(),
            api_key: None,
            timeouts: Timeouts::default(),
            retry: RetryPolicy::default(),
            tool_arguments: crate::config::Limits::default().tool_arguments,
            text_tools: Vec::new(),
        })
        .expect("an https provider builds");
        assert!(
            rustls::crypto::CryptoProvider::get_default().is_none(),
            "nothing installs a process-wide crypto provider"
        );
    }

    #[test]
    fn debug_output_never_shows_the_key() {
        let provider = OpenAiProvider::new(Settings {
            base_url: "http://localhost:1/v1".into(),
            api_key: Some("sk-SENTINEL-debug-0123".into()),
            timeouts: Timeouts::default(),
            retry: RetryPolicy::default(),
            tool_arguments: crate::config::Limits::default().tool_arguments,
            text_tools: Vec::new(),
        })
        .expect("provider");
        let shown = format!("{provider:?} {:#?}", provider.settings());
        assert!(!shown.contains("SENTINEL"), "{shown}");
        assert!(shown.contains("[set]"), "{shown}");
    }

    #[test]
    fn base_urls_must_be_http() {
        let settings = |url: &str| Settings {
            base_url: url.into(),
            api_key: None,
            timeouts: Timeouts::default(),
            retry: RetryPolicy::default(),
            tool_arguments: crate::config::Limits::default().tool_arguments,
            text_tools: Vec::new(),
        };
        assert!(OpenAiProvider::new(settings("localhost:11434/v1")).is_err());
        let p = OpenAiProvider::new(settings("http://localhost:11434/v1/")).expect("valid");
        assert_eq!(p.settings().base_url, "http://localhost:11434/v1");
    }
}
