//! Tool calls written as text, Hermes/Qwen style, for a model that
//! `tool_calls_in_text = true` names in config.toml:
//!
//! ```text
//! <tool_call>{"name": "read_file", "arguments": {"path": "go.mod"}}</tool_call>
//! ```
//!
//! Going out, the tools are described in the system prompt (the server
//! is not sent `tools`, which it ignores), earlier calls are written back
//! in the same form and their results as `<tool_response>` in a user
//! message. Coming back, [`extract`] takes each `<tool_call>…</tool_call>`
//! out of the streamed text and turns it into a [`Chunk::ToolCall`], so
//! it goes through the engine's one policy-gated path like a real call;
//! the tags never reach the output or the artifact. Text that might be
//! the start of a tag is held back until it is known not to be.

use std::collections::VecDeque;
use std::fmt::Write as _;

use futures::{Stream, StreamExt};
use serde_json::{Value, json};

use crate::provider::{Chunk, CompletionRequest, Message, ProviderError, Role, ToolCall};

const OPEN: &str = "<tool_call>";
const CLOSE: &str = "</tool_call>";

/// Takes tool calls out of streamed text.
#[derive(Debug, Default)]
pub struct Extractor {
    /// Text not yet passed on: a tag begun, or what may begin one.
    pending: String,
    calls: Vec<ToolCall>,
    /// What every call id of this answer starts with: answers' calls never
    /// share an id, so a permission answer binds to one call only.
    prefix: String,
    /// The most a call written as text may hold (the same bound as a
    /// call's arguments on the wire).
    limit: usize,
}

impl Extractor {
    /// An extractor for one answer: call ids start with `prefix`, a call
    /// may hold at most `limit` bytes.
    pub fn new(prefix: String, limit: usize) -> Self {
        Self {
            prefix,
            limit,
            ..Self::default()
        }
    }

    /// Takes a piece of streamed text; returns what may be shown now, or
    /// an error when a call left open grows past the limit.
    pub fn push(&mut self, text: &str) -> Result<String, String> {
        self.pending.push_str(text);
        let mut out = String::new();
        loop {
            if let Some(open) = self.pending.find(OPEN) {
                out.push_str(&self.pending[..open]);
                let after = open + OPEN.len();
                if let Some(close) = self.pending[after..].find(CLOSE) {
                    let inner = self.pending[after..after + close].to_owned();
                    self.call(&inner);
                    self.pending.drain(..after + close + CLOSE.len());
                    continue;
                }
                self.pending.drain(..open);
                break;
            }
            let keep = (1..OPEN.len())
                .rev()
                .find(|k| self.pending.ends_with(&OPEN[..*k]))
                .unwrap_or(0);
            let cut = self.pending.len() - keep;
            out.extend(self.pending.drain(..cut));
            break;
        }
        // Only what is still held back counts: complete calls are out.
        if self.pending.len() > self.limit.saturating_add(OPEN.len() + CLOSE.len()) {
            return Err(format!(
                "wrote a <tool_call> over {} KiB that never closed (limits.tool_arguments in config.toml)",
                self.limit >> 10
            ));
        }
        Ok(out)
    }

    /// At the end of the answer: the text left over (a call never closed
    /// is read if what follows its tag is one, else given back as text).
    pub fn finish(&mut self) -> String {
        let rest = std::mem::take(&mut self.pending);
        if let Some(inner) = rest.strip_prefix(OPEN)
            && let Ok(value) = serde_json::from_str::<Value>(inner.trim())
            && value["name"].is_string()
        {
            self.call(inner);
            return String::new();
        }
        rest
    }

    /// The calls read so far, taken.
    pub fn take_calls(&mut self) -> Vec<ToolCall> {
        std::mem::take(&mut self.calls)
    }

    fn call(&mut self, inner: &str) {
        let id = format!("{}{}", self.prefix, self.calls.len() + 1);
        let call = match serde_json::from_str::<Value>(inner.trim()) {
            Ok(value) if value["name"].is_string() => ToolCall {
                id,
                name: value["name"].as_str().unwrap_or_default().to_owned(),
                arguments: match &value["arguments"] {
                    Value::String(s) => s.clone(),
                    Value::Null => "{}".to_owned(),
                    other @ (Value::Bool(_)
                    | Value::Number(_)
                    | Value::Array(_)
                    | Value::Object(_)) => other.to_string(),
                },
            },
            // The engine answers a name no role has with a refusal the
            // model reads; the text it wrote goes back as the arguments.
            Ok(_) | Err(_) => ToolCall {
                id,
                name: "unreadable <tool_call>".to_owned(),
                arguments: inner.trim().to_owned(),
            },
        };
        self.calls.push(call);
    }
}

/// `stream` with the tool calls written in its text taken out of it and
/// sent as [`Chunk::ToolCall`]s before its `Done` (whose finish reason is
/// then `tool_calls`).
pub fn extract<S>(
    stream: S,
    extractor: Extractor,
) -> impl Stream<Item = Result<Chunk, ProviderError>>
where
    S: Stream<Item = Result<Chunk, ProviderError>> + Unpin,
{
    let state = (stream, extractor, VecDeque::new());
    futures::stream::unfold(state, |(mut stream, mut extractor, mut ready)| async move {
        loop {
            if let Some(next) = ready.pop_front() {
                return Some((next, (stream, extractor, ready)));
            }
            match stream.next().await? {
                Ok(Chunk::Text(text)) => match extractor.push(&text) {
                    Ok(shown) if shown.is_empty() => {}
                    Ok(shown) => ready.push_back(Ok(Chunk::Text(shown))),
                    Err(why) => return Some((Err(ProviderError(why)), (stream, extractor, ready))),
                },
                Ok(Chunk::Done { finish_reason }) => {
                    let rest = extractor.finish();
                    if !rest.is_empty() {
                        ready.push_back(Ok(Chunk::Text(rest)));
                    }
                    let calls = extractor.take_calls();
                    let finish_reason = if calls.is_empty() {
                        finish_reason
                    } else {
                        "tool_calls".to_owned()
                    };
                    ready.extend(calls.into_iter().map(|c| Ok(Chunk::ToolCall(c))));
                    ready.push_back(Ok(Chunk::Done { finish_reason }));
                }
                other => ready.push_back(other),
            }
        }
    })
}

/// The request as a model that writes its calls as text reads it: no
/// `tools` (the server ignores them), the tools described in the system
/// prompt instead, earlier calls in the text form and their results as
/// `<tool_response>` in user messages.
pub fn as_text(request: &CompletionRequest) -> CompletionRequest {
    let mut out = request.clone();
    out.tools = Vec::new();
    out.messages = request.messages.iter().map(written).collect();
    let mut guide = String::from(
        "\n\n## Tools\nYou can call these tools. To call one, write exactly \
         <tool_call>{\"name\": \"<tool>\", \"arguments\": {…}}</tool_call> and stop; \
         the result comes back in <tool_response>. Answer without a call when you are done.\n",
    );
    for tool in &request.tools {
        guide.push_str(
            &json!({ "name": tool.name, "description": tool.description, "parameters": tool.parameters })
                .to_string(),
        );
        guide.push('\n');
    }
    match out.messages.iter_mut().find(|m| m.role == Role::System) {
        Some(system) => system.content.push_str(&guide),
        None => out
            .messages
            .insert(0, Message::new(Role::System, guide.trim_start())),
    }
    out
}

fn written(message: &Message) -> Message {
    match message.role {
        Role::Assistant if !message.tool_calls.is_empty() => {
            let mut content = message.content.clone();
            for call in &message.tool_calls {
                let arguments = serde_json::from_str::<Value>(&call.arguments)
                    .unwrap_or_else(|_| Value::String(call.arguments.clone()));
                let _ = write!(
                    content,
                    "{OPEN}{}{CLOSE}",
                    json!({ "name": call.name, "arguments": arguments })
                );
            }
            Message::new(Role::Assistant, content)
        }
        Role::Tool => Message::new(
            Role::User,
            format!("<tool_response>\n{}\n</tool_response>", message.content),
        ),
        Role::System | Role::User | Role::Assistant => message.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_are_taken_out_of_text_cut_anywhere() {
        let answer = "Let me look.\n<tool_call>{\"name\": \"read_file\", \"arguments\": {\"path\": \"go.mod\"}}</tool_call>\nand <b>more</b> <tool";
        for size in [1, 2, 5, 11, 400] {
            let mut x = Extractor::new("text_call_0_".into(), 1 << 20);
            let mut shown = String::new();
            let chars: Vec<char> = answer.chars().collect();
            for piece in chars.chunks(size) {
                shown.push_str(
                    &x.push(&piece.iter().collect::<String>())
                        .expect("within the limit"),
                );
            }
            shown.push_str(&x.finish());
            assert_eq!(
                shown, "Let me look.\n\nand <b>more</b> <tool",
                "size {size}"
            );
            let calls = x.take_calls();
            assert_eq!(calls.len(), 1, "size {size}");
            assert_eq!(calls[0].name, "read_file");
            assert_eq!(calls[0].arguments, r#"{"path":"go.mod"}"#);
        }
    }

    #[test]
    fn an_unclosed_call_at_the_end_is_read_and_garbage_is_refused_by_name() {
        let mut x = Extractor::new("text_call_0_".into(), 1 << 20);
        assert_eq!(
            x.push("<tool_call>{\"name\": \"list_dir\", \"arguments\": \"{}\"}"),
            Ok(String::new())
        );
        assert_eq!(x.finish(), "");
        assert_eq!(x.take_calls()[0].name, "list_dir");
        let mut x = Extractor::new("text_call_0_".into(), 1 << 20);
        assert_eq!(x.push("<tool_call>not json</tool_call>ok"), Ok("ok".into()));
        let calls = x.take_calls();
        assert_eq!(calls[0].name, "unreadable <tool_call>");
        assert_eq!(calls[0].arguments, "not json");
    }

    /// A call left open cannot grow without bound, and each answer's calls
    /// have ids of their own.
    #[test]
    fn an_open_call_is_bounded_and_ids_name_their_answer() {
        let mut x = Extractor::new("text_call_7_".into(), 64);
        assert!(x.push("<tool_call>{\"name\": \"write_file\", ").is_ok());
        let grown = x.push(&"x".repeat(100));
        assert!(grown.is_err_and(|e| e.contains("never closed")));
        let mut x = Extractor::new("text_call_7_".into(), 1 << 20);
        let text = "<tool_call>{\"name\": \"list_dir\"}</tool_call>";
        x.push(text).expect("within the limit");
        assert_eq!(x.take_calls()[0].id, "text_call_7_1");
    }

    /// The limit is on what is held back: one piece of text longer than it
    /// whose calls are all closed is read, not refused.
    #[test]
    fn a_large_piece_with_closed_calls_is_within_the_limit() {
        let mut x = Extractor::new("text_call_0_".into(), 64);
        let call = "<tool_call>{\"name\": \"list_dir\", \"arguments\": {}}</tool_call>";
        let piece = format!("{}{call}{call}done", "words ".repeat(20));
        assert!(piece.len() > 64 + OPEN.len() + CLOSE.len());
        let shown = x.push(&piece).expect("every call closed");
        assert_eq!(shown, format!("{}done", "words ".repeat(20)));
        assert_eq!(x.take_calls().len(), 2);
    }
}
