//! The capability probe: a few tiny requests that find out what a server
//! does with what handoff sends (see [`crate::provider::probe`] for the
//! findings and their cache).
//!
//! Up to five chat requests, each capped at a few dozen tokens and bounded
//! by [`REQUEST_TIME`]: a plain streamed one (streaming, usage in the
//! stream, the time to the first token), one offering a single tool the
//! model is told to call, one with `response_format` `json_schema` (a
//! verdict), the same offering the tool too (where the first was taken),
//! and one with `json_object`. Then the context length from what the server
//! reports, each bounded by [`LOOKUP_TIME`]: `/v1/models` (vLLM's
//! `max_model_len`, `context_length` where others put it), llama.cpp's
//! `/props` (`default_generation_settings.n_ctx`), Ollama's `/api/show`
//! (`num_ctx` among its parameters, else the model's `context_length`).
//! The requests go out once, with no retries, straight over the
//! provider's HTTP client.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::OpenAiProvider;
use super::wire::{self, CapField};
use crate::provider::probe::{Capabilities, Structured, Tools};

/// The longest one probe request may take, headers to the end.
pub const REQUEST_TIME: Duration = Duration::from_secs(20);
/// The longest a context-length lookup may take.
pub const LOOKUP_TIME: Duration = Duration::from_secs(5);

/// What one streamed request brought back.
#[derive(Debug, Default)]
struct Exchange {
    status: u16,
    /// The answer came as server-sent events.
    sse: bool,
    text: String,
    tool_calls: usize,
    usage: bool,
    first_text: Option<Duration>,
    finish: Option<String>,
    /// The body when it was not an event stream (an error, say).
    body: String,
}

impl Exchange {
    /// What an answer to a request with a `response_format` says of it.
    /// The plain request just before was answered, so a request that
    /// fails now (400, 422, or the 500 llama-cpp-python's own server
    /// sends for a type it does not know) failed for its format. Any other
    /// failure (a 502 or 503 in passing, say), and an answer cut at the
    /// probe's cap, say nothing either way.
    fn structured(&self, shaped: bool) -> Structured {
        match self.status {
            200 if shaped => Structured::Honoured,
            200 if self.finish.as_deref() == Some("length") => Structured::Unknown,
            200 => Structured::Ignored,
            _ if self.refused("response_format") => Structured::Refused,
            _ => Structured::Unknown,
        }
    }

    /// What an answer to a request offering a tool says of tools: only a
    /// 400 or 422 refuses them.
    fn tools(&self) -> Tools {
        match self.status {
            200 if self.tool_calls > 0 => Tools::Calls,
            200 => Tools::Ignored,
            400 | 422 => Tools::Refused,
            _ => Tools::Unknown,
        }
    }

    /// Whether a failure answered the request for its `field`: a 400 or
    /// 422, or a 500 whose body names the field.
    fn refused(&self, field: &str) -> bool {
        match self.status {
            400 | 422 => true,
            500 => self.body.to_ascii_lowercase().contains(field),
            _ => false,
        }
    }
}

/// The events of a stream read so far, as chunks.
fn read_events(buffer: &str, exchange: &mut Exchange, started: Instant) {
    for line in buffer.lines() {
        let Some(data) = line.strip_prefix("data:").map(str::trim) else {
            continue;
        };
        let Ok(chunk) = serde_json::from_str::<wire::Chunk>(data) else {
            continue;
        };
        exchange.usage |= chunk.usage.is_some();
        for choice in chunk.choices {
            if let Some(text) = choice.delta.content.filter(|t| !t.is_empty()) {
                exchange.first_text.get_or_insert_with(|| started.elapsed());
                exchange.text.push_str(&text);
            }
            exchange.tool_calls += choice
                .delta
                .tool_calls
                .iter()
                .filter(|c| c.id.is_some())
                .count();
            if let Some(reason) = choice.finish_reason {
                exchange.finish = Some(reason);
            }
        }
    }
}

/// The one tool the probe offers.
fn ping_tool() -> Value {
    json!([{ "type": "function", "function": {
        "name": "ping",
        "description": "Answers pong to the word it is given.",
        "parameters": { "type": "object", "properties": { "word": { "type": "string" } }, "required": ["word"] },
    } }])
}

/// The server's root: the base URL without its `/v1`.
fn root(base_url: &str) -> &str {
    base_url.strip_suffix("/v1").unwrap_or(base_url)
}

impl OpenAiProvider {
    fn authorized(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.settings.api_key {
            Some(key) => request.bearer_auth(key),
            None => request,
        }
    }

    /// Sends one streamed chat request and reads its answer whole.
    async fn exchange(&self, body: &Value) -> Result<Exchange, String> {
        let started = Instant::now();
        let url = format!("{}/chat/completions", self.settings.base_url);
        let request = self
            .authorized(self.http.post(url))
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(body.to_string());
        let run = async {
            let mut response = request.send().await.map_err(|e| e.to_string())?;
            let mut exchange = Exchange {
                status: response.status().as_u16(),
                sse: response
                    .headers()
                    .get(http::header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|v| v.starts_with("text/event-stream")),
                ..Exchange::default()
            };
            let mut buffer = Vec::new();
            let mut read = 0;
            while let Some(bytes) = response.chunk().await.map_err(|e| e.to_string())? {
                buffer.extend_from_slice(&bytes);
                if exchange.sse
                    && let Some(end) = memchr::memrchr(b'\n', &buffer)
                    && end + 1 > read
                {
                    read_events(
                        &String::from_utf8_lossy(&buffer[read..=end]),
                        &mut exchange,
                        started,
                    );
                    read = end + 1;
                }
            }
            if !exchange.sse {
                exchange.body = String::from_utf8_lossy(&buffer).into_owned();
            }
            Ok(exchange)
        };
        tokio::time::timeout(REQUEST_TIME, run)
            .await
            .map_err(|_| format!("no answer within {}s", REQUEST_TIME.as_secs()))?
    }

    /// A chat request body for the probe: streamed with usage, capped at
    /// `max` tokens, at temperature 0 (but for `OpenAI`'s own API, whose
    /// reasoning models refuse any temperature but their own).
    fn probe_body(&self, model: &str, messages: &Value, max: u32) -> Value {
        let mut body = json!({
            "model": model,
            "messages": messages,
            "stream": true,
            "stream_options": { "include_usage": true },
        });
        match CapField::for_base_url(&self.settings.base_url) {
            CapField::MaxTokens => {
                body["max_tokens"] = json!(max);
                body["temperature"] = json!(0);
            }
            CapField::MaxCompletionTokens => body["max_completion_tokens"] = json!(max),
        }
        body
    }

    /// Finds out what the server does for `model`. `Err` when the first,
    /// plain request fails: there is nothing to learn (and nothing to
    /// cache) from a server that does not answer.
    pub async fn probe(
        &self,
        model: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Capabilities, String> {
        let hello = json!([{ "role": "user", "content": "Reply with the single word OK." }]);
        let plain = self.exchange(&self.probe_body(model, &hello, 8)).await?;
        if plain.status != 200 {
            let body: String = plain.body.chars().take(200).collect();
            return Err(format!(
                "HTTP {} from the server: {}",
                plain.status,
                body.trim()
            ));
        }
        let mut caps = Capabilities {
            base_url: self.settings.base_url.clone(),
            model: model.to_owned(),
            probed_at: now,
            streaming: plain.sse,
            usage: plain.usage,
            tools: Tools::Unknown,
            tool_calls_as_text: false,
            json_schema: Structured::Unknown,
            json_schema_with_tools: Structured::Unknown,
            json_object: Structured::Unknown,
            context_tokens: None,
            context_from: None,
            first_token_ms: plain
                .first_text
                .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
        };
        self.probe_tools(model, &mut caps).await;
        self.probe_structured(model, &mut caps).await;
        if let Some((tokens, from)) = self.context_length(model).await {
            caps.context_tokens = Some(tokens);
            caps.context_from = Some(from);
        }
        Ok(caps)
    }

    async fn probe_tools(&self, model: &str, caps: &mut Capabilities) {
        let messages = json!([
            { "role": "system", "content": "You can call tools. Call them; never describe a call in words." },
            { "role": "user", "content": "Call the tool `ping` with word \"hello\"." },
        ]);
        let mut body = self.probe_body(model, &messages, 64);
        body["tools"] = ping_tool();
        if let Ok(answer) = self.exchange(&body).await {
            caps.tools = answer.tools();
            caps.tool_calls_as_text = answer.text.contains("<tool_call>");
        }
    }

    async fn probe_structured(&self, model: &str, caps: &mut Capabilities) {
        let Some(schema) = crate::formats::OutputKind::Verdict.schema() else {
            return;
        };
        let messages = json!([{ "role": "user", "content":
            "The work passed every check. Answer with the verdict as JSON: pass, with no issues." }]);
        let shape = match CapField::for_base_url(&self.settings.base_url) {
            CapField::MaxTokens => &schema.schema,
            CapField::MaxCompletionTokens => &schema.portable,
        };
        let mut body = self.probe_body(model, &messages, 128);
        body["response_format"] = json!({ "type": "json_schema", "json_schema":
            { "name": schema.name, "strict": schema.strict, "schema": shape } });
        if let Ok(answer) = self.exchange(&body).await {
            caps.json_schema =
                answer.structured(crate::formats::verdict::read(&answer.text).is_ok());
        }
        if caps.json_schema.accepted() && caps.json_schema != Structured::Unknown {
            let mut with_tools = body.clone();
            with_tools["tools"] = ping_tool();
            if let Ok(answer) = self.exchange(&with_tools).await {
                let read = crate::formats::verdict::read(&answer.text).is_ok();
                caps.json_schema_with_tools = answer.structured(read || answer.tool_calls > 0);
            }
        }
        body["response_format"] = json!({ "type": "json_object" });
        if let Ok(answer) = self.exchange(&body).await {
            let object =
                serde_json::from_str::<Value>(answer.text.trim()).is_ok_and(|v| v.is_object());
            caps.json_object = answer.structured(object);
        }
    }

    async fn get_json(&self, url: String) -> Option<Value> {
        let request = self.authorized(self.http.get(url)).timeout(LOOKUP_TIME);
        let response = request.send().await.ok()?;
        if !response.status().is_success() {
            return None;
        }
        serde_json::from_slice(&response.bytes().await.ok()?).ok()
    }

    /// The context length the server reports for `model`, and where.
    async fn context_length(&self, model: &str) -> Option<(usize, String)> {
        let base = &self.settings.base_url;
        if let Some(models) = self.get_json(format!("{base}/models")).await
            && let Some(found) = from_models(&models, model)
        {
            return Some(found);
        }
        let root = root(base);
        if let Some(props) = self.get_json(format!("{root}/props")).await
            && let Some(n) = props["default_generation_settings"]["n_ctx"]
                .as_u64()
                .or_else(|| props["n_ctx"].as_u64())
        {
            return Some((usize::try_from(n).ok()?, "/props n_ctx".to_owned()));
        }
        let show = self
            .authorized(self.http.post(format!("{root}/api/show")))
            .timeout(LOOKUP_TIME)
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(json!({ "model": model }).to_string())
            .send()
            .await
            .ok()?;
        if !show.status().is_success() {
            return None;
        }
        from_ollama(&serde_json::from_slice(&show.bytes().await.ok()?).ok()?)
    }
}

/// The context length in a `/v1/models` listing, for `model` (or the only
/// model listed).
fn from_models(models: &Value, model: &str) -> Option<(usize, String)> {
    let list = models["data"].as_array()?;
    let entry = list
        .iter()
        .find(|m| m["id"] == model)
        .or_else(|| (list.len() == 1).then(|| &list[0]))?;
    ["max_model_len", "context_length", "context_window"]
        .iter()
        .find_map(|key| {
            let n = usize::try_from(entry[*key].as_u64()?).ok()?;
            Some((n, format!("/v1/models {key}")))
        })
}

/// The context length in an Ollama `/api/show` answer: the `num_ctx` it
/// runs with, else the model's own `<arch>.context_length`.
fn from_ollama(show: &Value) -> Option<(usize, String)> {
    let num_ctx = show["parameters"].as_str().and_then(|p| {
        p.lines().find_map(|line| {
            let mut words = line.split_whitespace();
            (words.next() == Some("num_ctx")).then(|| words.next()?.parse().ok())?
        })
    });
    if let Some(n) = num_ctx {
        return Some((n, "/api/show num_ctx".to_owned()));
    }
    let info = show["model_info"].as_object()?;
    info.iter().find_map(|(key, value)| {
        let n = usize::try_from(value.as_u64()?).ok()?;
        key.ends_with(".context_length")
            .then(|| (n, "/api/show context_length".to_owned()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_format_request_is_a_refusal_and_a_cut_answer_says_nothing() {
        let answered = |status: u16, finish: Option<&str>| Exchange {
            status,
            finish: finish.map(str::to_owned),
            ..Exchange::default()
        };
        for status in [400, 422] {
            assert_eq!(
                answered(status, None).structured(false),
                Structured::Refused
            );
        }
        let llama_cpp_python = Exchange {
            status: 500,
            body: r#"{"error":{"message":"response_format type must be one of \"text\" or \"json_object\", but got: json_schema"}}"#.into(),
            ..Exchange::default()
        };
        assert_eq!(llama_cpp_python.structured(false), Structured::Refused);
        // A failure in passing says nothing about the format.
        for status in [408, 429, 500, 502, 503, 504] {
            assert_eq!(
                answered(status, None).structured(false),
                Structured::Unknown,
                "{status}"
            );
        }
        for (status, tools) in [
            (400, Tools::Refused),
            (422, Tools::Refused),
            (429, Tools::Unknown),
            (500, Tools::Unknown),
            (502, Tools::Unknown),
            (503, Tools::Unknown),
            (200, Tools::Ignored),
        ] {
            assert_eq!(answered(status, None).tools(), tools, "{status}");
        }
        assert_eq!(
            answered(200, Some("stop")).structured(true),
            Structured::Honoured
        );
        assert_eq!(
            answered(200, Some("stop")).structured(false),
            Structured::Ignored
        );
        assert_eq!(
            answered(200, Some("length")).structured(false),
            Structured::Unknown
        );
    }

    #[test]
    fn context_lengths_are_read_where_each_server_puts_them() {
        let vllm = json!({"data": [{"id": "qwen", "max_model_len": 32768}, {"id": "b", "max_model_len": 1}]});
        assert_eq!(
            from_models(&vllm, "qwen"),
            Some((32768, "/v1/models max_model_len".into()))
        );
        let one = json!({"data": [{"id": "x", "context_length": 4096}]});
        assert_eq!(from_models(&one, "other").map(|f| f.0), Some(4096));
        let llama = json!({"data": [{"id": "m", "meta": {"n_ctx_train": 8192}}]});
        assert_eq!(
            from_models(&llama, "m"),
            None,
            "training length is not the server's"
        );
        let ollama = json!({"parameters": "stop \"<|im_end|>\"\nnum_ctx 8192", "model_info": {"qwen2.context_length": 32768}});
        assert_eq!(
            from_ollama(&ollama),
            Some((8192, "/api/show num_ctx".into()))
        );
        let bare = json!({"model_info": {"general.architecture": "llama", "llama.context_length": 131_072}});
        assert_eq!(from_ollama(&bare).map(|f| f.0), Some(131_072));
        assert_eq!(root("http://h:8080/v1"), "http://h:8080");
    }
}
