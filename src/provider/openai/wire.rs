//! What goes over the wire: the request body we send and a lenient reading
//! of the chunks OpenAI-compatible servers stream back.
//!
//! Servers differ (some omit `created` or `object`, some send an error
//! object in the middle of a stream), so chunks are read into small types
//! where every field is optional rather than the strict `OpenAI` ones.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::provider::{CompletionRequest, Message, Role};

/// One message in the wire format, tool calls and results included.
fn message(m: &Message) -> Value {
    match m.role {
        Role::System => json!({ "role": "system", "content": m.content }),
        Role::User => json!({ "role": "user", "content": m.content }),
        Role::Assistant if m.tool_calls.is_empty() => {
            json!({ "role": "assistant", "content": m.content })
        }
        Role::Assistant => {
            let calls: Vec<Value> = m
                .tool_calls
                .iter()
                .map(|c| json!({ "id": c.id, "type": "function", "function": { "name": c.name, "arguments": c.arguments } }))
                .collect();
            let content = if m.content.is_empty() {
                Value::Null
            } else {
                json!(m.content)
            };
            json!({ "role": "assistant", "content": content, "tool_calls": calls })
        }
        Role::Tool => {
            json!({ "role": "tool", "tool_call_id": m.tool_call_id, "content": m.content })
        }
    }
}

/// How a request asks for a structured answer, strongest first: the schema
/// itself (`json_schema`), any JSON object (`json_object`), or nothing but
/// the instructions in the prompt (which every request carries anyway).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Format {
    JsonSchema,
    JsonObject,
    PromptOnly,
}

impl Format {
    /// The next weaker way, if there is one.
    pub fn weaker(self) -> Option<Self> {
        match self {
            Self::JsonSchema => Some(Self::JsonObject),
            Self::JsonObject => Some(Self::PromptOnly),
            Self::PromptOnly => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::JsonSchema => "json_schema",
            Self::JsonObject => "json_object",
            Self::PromptOnly => "prompt only",
        }
    }
}

/// Which field carries the output cap: `max_tokens`, which every
/// compatible server reads, or `max_completion_tokens`, which `OpenAI`'s
/// own API wants (its reasoning models refuse `max_tokens`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CapField {
    MaxTokens,
    MaxCompletionTokens,
}

impl CapField {
    /// The field for a server at `base_url`.
    pub fn for_base_url(base_url: &str) -> Self {
        if base_url.contains("://api.openai.com") {
            Self::MaxCompletionTokens
        } else {
            Self::MaxTokens
        }
    }
}

/// The streaming chat request, its answer asked for as `format` says where
/// it has a schema.
pub fn request_body(request: &CompletionRequest, format: Format, cap: CapField) -> Value {
    let mut body = json!({
        "model": request.model,
        "messages": request.messages.iter().map(message).collect::<Vec<_>>(),
        "stream": true,
        "stream_options": { "include_usage": true },
    });
    if !request.tools.is_empty() {
        body["tools"] = request
            .tools
            .iter()
            .map(|t| json!({ "type": "function", "function": { "name": t.name, "description": t.description, "parameters": t.parameters } }))
            .collect();
    }
    if let Some(t) = request.temperature {
        body["temperature"] = json!(t);
    }
    let answer = &request.answer;
    if let Some(max) = answer.max_tokens {
        let field = match cap {
            CapField::MaxTokens => "max_tokens",
            CapField::MaxCompletionTokens => "max_completion_tokens",
        };
        body[field] = json!(max);
    }
    if let Some(seed) = answer.seed {
        body["seed"] = json!(seed);
    }
    match (&answer.schema, format) {
        (Some(schema), Format::JsonSchema) => {
            // OpenAI's strict mode refuses length keywords and tuples.
            let shape = match cap {
                CapField::MaxCompletionTokens => &schema.portable,
                CapField::MaxTokens => &schema.schema,
            };
            body["response_format"] = json!({
                "type": "json_schema",
                "json_schema": { "name": schema.name, "strict": schema.strict, "schema": shape },
            });
        }
        (Some(_), Format::JsonObject) => {
            body["response_format"] = json!({ "type": "json_object" });
        }
        (Some(_), Format::PromptOnly) | (None, _) => {}
    }
    body
}

/// One streamed chunk, as far as it matters here.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Chunk {
    pub choices: Vec<Choice>,
    pub usage: Option<Usage>,
    /// A mid-stream error: `data: {"error": {...}}`.
    pub error: Option<ErrorBody>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Choice {
    pub delta: Delta,
    pub finish_reason: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Delta {
    pub content: Option<String>,
    pub tool_calls: Vec<ToolCallDelta>,
}

/// A fragment of a tool call: the first names it, later ones add to its
/// arguments; `index` says which call a fragment belongs to.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ToolCallDelta {
    pub index: usize,
    pub id: Option<String>,
    pub function: FunctionDelta,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct FunctionDelta {
    pub name: Option<String>,
    pub arguments: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ErrorBody {
    pub message: String,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub code: Option<Value>,
}

impl ErrorBody {
    pub fn describe(&self) -> String {
        match &self.kind {
            Some(kind) => format!("{} ({kind})", self.message),
            None => self.message.clone(),
        }
    }
}

/// The error object inside a raw body that failed to parse as a chunk, if
/// it is one: `{"error": {...}}`.
pub fn error_in(raw: &str) -> Option<ErrorBody> {
    #[derive(Deserialize)]
    struct Wrapped {
        error: ErrorBody,
    }
    serde_json::from_str::<Wrapped>(raw).ok().map(|w| w.error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::ToolSpec;

    #[test]
    fn reads_text_finish_usage_and_errors() {
        let c: Chunk = serde_json::from_str(
            r#"{"choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}]}"#,
        )
        .expect("chunk");
        assert_eq!(c.choices[0].delta.content.as_deref(), Some("Hi"));
        let c: Chunk = serde_json::from_str(r#"{"id":"x","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":5,"total_tokens":8}}"#).expect("usage");
        assert_eq!(c.usage.map(|u| u.completion_tokens), Some(5));
        let c: Chunk =
            serde_json::from_str(r#"{"error":{"message":"overloaded","type":"server_error"}}"#)
                .expect("error");
        assert_eq!(
            c.error.map(|e| e.describe()).as_deref(),
            Some("overloaded (server_error)")
        );
        assert_eq!(
            error_in(r#"{"error":{"message":"bad"}}"#)
                .map(|e| e.message)
                .as_deref(),
            Some("bad")
        );
    }

    fn request(messages: Vec<Message>, tools: Vec<ToolSpec>) -> CompletionRequest {
        let pipeline =
            crate::pipeline::load_pipeline(&crate::pipeline::SkillsFile::builtin(), None)
                .expect("builtin");
        CompletionRequest {
            model: "m".into(),
            temperature: None,
            messages,
            tools,
            answer: crate::provider::AnswerSpec::default(),
            brief: crate::provider::Brief::new("r", pipeline.phases[0].clone()),
        }
    }

    #[test]
    fn structured_answers_ask_for_the_schema_then_weaker_formats() {
        let mut r = request(vec![Message::new(Role::User, "hi")], Vec::new());
        r.answer = crate::provider::AnswerSpec {
            schema: crate::formats::OutputKind::Verdict.schema(),
            max_tokens: Some(1024),
            seed: Some(7),
        };
        let body = request_body(&r, Format::JsonSchema, CapField::MaxTokens);
        assert_eq!(body["response_format"]["type"], "json_schema");
        assert_eq!(body["response_format"]["json_schema"]["name"], "verdict");
        assert_eq!(body["response_format"]["json_schema"]["strict"], true);
        assert_eq!(
            body["response_format"]["json_schema"]["schema"]["anyOf"][1]["properties"]["verdict"]["enum"],
            json!(["fail"])
        );
        assert_eq!(body["max_tokens"], 1024);
        assert_eq!(body["seed"], 7);
        let openai = request_body(&r, Format::JsonSchema, CapField::MaxCompletionTokens);
        let shape = openai["response_format"]["json_schema"]["schema"].to_string();
        assert!(
            !shape.contains("maxLength") && !shape.contains("maxItems"),
            "{shape}"
        );
        let local = body["response_format"]["json_schema"]["schema"].to_string();
        assert!(local.contains("maxLength"), "{local}");
        let body = request_body(&r, Format::JsonObject, CapField::MaxCompletionTokens);
        assert_eq!(body["response_format"], json!({"type": "json_object"}));
        assert_eq!(body["max_completion_tokens"], 1024);
        assert!(body.get("max_tokens").is_none());
        let body = request_body(&r, Format::PromptOnly, CapField::MaxTokens);
        assert!(body.get("response_format").is_none());
        r.answer.schema = None;
        let body = request_body(&r, Format::JsonSchema, CapField::MaxTokens);
        assert!(
            body.get("response_format").is_none(),
            "Markdown asks for no format"
        );
        assert_eq!(
            CapField::for_base_url("https://api.openai.com/v1"),
            CapField::MaxCompletionTokens
        );
        assert_eq!(
            CapField::for_base_url("http://localhost:11434/v1"),
            CapField::MaxTokens
        );
    }

    #[test]
    fn the_request_streams_with_usage() {
        let mut r = request(vec![Message::new(Role::User, "hi")], Vec::new());
        r.temperature = Some(0.2);
        let body = request_body(&r, Format::JsonSchema, CapField::MaxTokens);
        assert_eq!(body["stream"], true);
        assert_eq!(body["stream_options"]["include_usage"], true);
        assert_eq!(body["messages"][0]["role"], "user");
        assert_eq!(body["temperature"], 0.2);
        assert!(body.get("tools").is_none());
    }

    #[test]
    fn tool_calls_and_results_go_out_in_the_wire_format() {
        use crate::provider::ToolCall;
        let call = ToolCall {
            id: "c1".into(),
            name: "read_file".into(),
            arguments: r#"{"path":"a"}"#.into(),
        };
        let messages = [
            Message {
                role: Role::Assistant,
                tool_calls: vec![call],
                ..Message::default()
            },
            Message {
                role: Role::Tool,
                content: "file text".into(),
                tool_call_id: Some("c1".into()),
                ..Message::default()
            },
        ];
        let tools = [ToolSpec {
            name: "read_file".into(),
            description: "read".into(),
            parameters: json!({"type": "object"}),
        }];
        let body = request_body(
            &request(messages.to_vec(), tools.to_vec()),
            Format::JsonSchema,
            CapField::MaxTokens,
        );
        assert_eq!(body["messages"][0]["content"], Value::Null);
        assert_eq!(
            body["messages"][0]["tool_calls"][0]["function"]["arguments"],
            r#"{"path":"a"}"#
        );
        assert_eq!(body["messages"][1]["role"], "tool");
        assert_eq!(body["messages"][1]["tool_call_id"], "c1");
        assert_eq!(body["tools"][0]["function"]["name"], "read_file");
    }
}
