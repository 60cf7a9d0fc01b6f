//! What goes over the wire: the request body we send and a lenient reading
//! of the chunks OpenAI-compatible servers stream back.
//!
//! Servers differ (some omit `created` or `object`, some send an error
//! object in the middle of a stream), so chunks are read into small types
//! where every field is optional rather than the strict `OpenAI` ones.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::provider::{Message, Role};

/// The streaming chat request.
pub fn request_body(model: &str, messages: &[Message], temperature: Option<f64>) -> Value {
    let messages: Vec<Value> = messages
        .iter()
        .map(|m| {
            let role = match m.role {
                Role::System => "system",
                Role::User => "user",
                Role::Assistant => "assistant",
            };
            json!({ "role": role, "content": m.content })
        })
        .collect();
    let mut body = json!({
        "model": model,
        "messages": messages,
        "stream": true,
        "stream_options": { "include_usage": true },
    });
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
        let body = request_body(
            "m",
            &[Message {
                role: Role::User,
                content: "hi".into(),
            }],
            Some(0.2),
        );
        assert_eq!(body["stream"], true);
        assert_eq!(body["stream_options"]["include_usage"], true);
        assert_eq!(body["messages"][0]["role"], "user");
        assert_eq!(body["temperature"], 0.2);
    }
}
