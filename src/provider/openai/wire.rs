//! What goes over the wire: the request body we send and a lenient reading
//! of the chunks OpenAI-compatible servers stream back.
//!
//! Servers differ (some omit `created` or `object`, some send an error
//! object in the middle of a stream), so chunks are read into small types
//! where every field is optional rather than the strict `OpenAI` ones.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::provider::{Message, Role};
use crate::tools::ToolSpec;

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

/// The streaming chat request.
pub fn request_body(
    model: &str,
    messages: &[Message],
    tools: &[ToolSpec],
    temperature: Option<f64>,
) -> Value {
    let mut body = json!({
        "model": model,
        "messages": messages.iter().map(message).collect::<Vec<_>>(),
        "stream": true,
        "stream_options": { "include_usage": true },
    });
    if !tools.is_empty() {
        body["tools"] = tools
            .iter()
            .map(|t| json!({ "type": "function", "function": { "name": t.name, "description": t.description, "parameters": t.parameters } }))
            .collect();
    }
    if let Some(t) = temperature {
        body["temperature"] = json!(t);
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

    #[test]
    fn the_request_streams_with_usage() {
        let body = request_body("m", &[Message::new(Role::User, "hi")], &[], Some(0.2));
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
        let body = request_body("m", &messages, &tools, None);
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
