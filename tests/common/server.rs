//! A scriptable OpenAI-compatible server on loopback: real HTTP/1.1 with
//! server-sent events, for wire tests of the `openai` provider.
//!
//! Each request is recorded and answered by a responder that picks a
//! [`Reply`]: a stream of SSE pieces (with pauses, a cut connection or raw
//! lines), a plain status with headers and a body, or a stall that never
//! answers. The server runs on its own thread and lives as long as the test.
#![allow(
    dead_code,
    reason = "The startup bench includes this file and uses part of it."
)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One piece of a streamed answer.
#[derive(Clone, Debug)]
pub enum Piece {
    /// `data: <json>`.
    Data(Value),
    /// A raw line, sent as is (then a blank line).
    Raw(String),
    /// Bytes sent as they are, with no line end: part of a line.
    Partial(String),
    Pause(Duration),
    /// Close the connection here.
    Cut,
}

/// How to answer one request.
#[derive(Clone, Debug)]
pub enum Reply {
    Sse(Vec<Piece>),
    Status {
        code: u16,
        headers: Vec<(String, String)>,
        body: String,
    },
    /// Read the request and never answer.
    Stall,
}

/// A request as the server saw it.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Value,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The system prompt, which names the role.
    pub fn system(&self) -> &str {
        self.body["messages"][0]["content"]
            .as_str()
            .unwrap_or_default()
    }

    /// Whether the conversation sent already holds a tool's result: the
    /// model's tool calls were answered.
    pub fn has_tool_result(&self) -> bool {
        self.body["messages"]
            .as_array()
            .is_some_and(|m| m.iter().any(|m| m["role"] == "tool"))
    }
}

type Responder = dyn Fn(usize, &Recorded) -> Reply + Send + Sync;

pub struct TestServer {
    pub base_url: String,
    pub requests: Arc<Mutex<Vec<Recorded>>>,
}

impl TestServer {
    /// Starts a server whose answers `responder` picks (given the request's
    /// number from 0 and the request).
    pub fn start(responder: impl Fn(usize, &Recorded) -> Reply + Send + Sync + 'static) -> Self {
        let requests = Arc::new(Mutex::new(Vec::new()));
        let responder: Arc<Responder> = Arc::new(responder);
        let (tx, rx) = std::sync::mpsc::channel();
        let recorded = requests.clone();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
                tx.send(listener.local_addr().expect("addr"))
                    .expect("report address");
                loop {
                    let Ok((socket, _)) = listener.accept().await else {
                        continue;
                    };
                    let responder = responder.clone();
                    let recorded = recorded.clone();
                    tokio::spawn(async move { serve(socket, responder, recorded).await });
                }
            });
        });
        let addr = rx.recv().expect("server address");
        Self {
            base_url: format!("http://{addr}/v1"),
            requests,
        }
    }

    pub fn recorded(&self) -> Vec<Recorded> {
        self.requests.lock().expect("lock").clone()
    }
}

async fn read_request(socket: &mut TcpStream) -> Option<Recorded> {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    let header_end = loop {
        let n = socket.read(&mut buf).await.ok()?;
        if n == 0 {
            return None;
        }
        data.extend_from_slice(&buf[..n]);
        if let Some(at) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
    };
    let head = String::from_utf8_lossy(&data[..header_end]).into_owned();
    let mut lines = head.lines();
    let path = lines.next()?.split_whitespace().nth(1)?.to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    while data.len() < header_end + length {
        let n = socket.read(&mut buf).await.ok()?;
        if n == 0 {
            break;
        }
        data.extend_from_slice(&buf[..n]);
    }
    let body = serde_json::from_slice(&data[header_end..]).unwrap_or(Value::Null);
    Some(Recorded {
        path,
        headers,
        body,
    })
}

async fn serve(
    mut socket: TcpStream,
    responder: Arc<Responder>,
    recorded: Arc<Mutex<Vec<Recorded>>>,
) {
    let Some(request) = read_request(&mut socket).await else {
        return;
    };
    let index = {
        let mut all = recorded.lock().expect("lock");
        all.push(request.clone());
        all.len() - 1
    };
    match responder(index, &request) {
        Reply::Stall => tokio::time::sleep(Duration::from_secs(3600)).await,
        Reply::Status {
            code,
            headers,
            body,
        } => {
            let mut head = format!(
                "HTTP/1.1 {code} Test\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
                body.len()
            );
            for (k, v) in headers {
                head.push_str(&k);
                head.push_str(": ");
                head.push_str(&v);
                head.push_str("\r\n");
            }
            head.push_str("\r\n");
            let _ = socket.write_all(head.as_bytes()).await;
            let _ = socket.write_all(body.as_bytes()).await;
        }
        Reply::Sse(pieces) => {
            let head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\nConnection: close\r\n\r\n";
            if socket.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            for piece in pieces {
                let line = match piece {
                    Piece::Data(value) => format!("data: {value}\n\n"),
                    Piece::Raw(raw) => format!("{raw}\n\n"),
                    Piece::Partial(part) => part,
                    Piece::Pause(d) => {
                        tokio::time::sleep(d).await;
                        continue;
                    }
                    Piece::Cut => return,
                };
                if socket.write_all(line.as_bytes()).await.is_err() || socket.flush().await.is_err()
                {
                    return;
                }
            }
        }
    }
    let _ = socket.shutdown().await;
}

/// A chunk carrying `text`.
pub fn text_chunk(text: &str) -> Piece {
    Piece::Data(json!({
        "id": "chatcmpl-test", "object": "chat.completion.chunk", "created": 0, "model": "test-model",
        "choices": [{ "index": 0, "delta": { "content": text }, "finish_reason": null }]
    }))
}

/// The chunk that ends an answer.
pub fn finish_chunk(reason: &str) -> Piece {
    Piece::Data(json!({
        "id": "chatcmpl-test", "object": "chat.completion.chunk", "created": 0, "model": "test-model",
        "choices": [{ "index": 0, "delta": {}, "finish_reason": reason }]
    }))
}

/// The usage chunk `include_usage` asks for.
pub fn usage_chunk(prompt: u64, completion: u64) -> Piece {
    Piece::Data(json!({
        "id": "chatcmpl-test", "object": "chat.completion.chunk", "created": 0, "model": "test-model",
        "choices": [], "usage": { "prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion }
    }))
}

/// A complete, well-formed streamed answer: text in word-sized chunks,
/// a finish reason, usage, `[DONE]`.
pub fn answer(text: &str, prompt: u64, completion: u64) -> Reply {
    let mut pieces: Vec<Piece> = text.split_inclusive(' ').map(text_chunk).collect();
    pieces.push(finish_chunk("stop"));
    pieces.push(usage_chunk(prompt, completion));
    pieces.push(Piece::Raw("data: [DONE]".into()));
    Reply::Sse(pieces)
}

/// The role named in a request's system prompt ("You are the X on a ...").
pub fn role_of(request: &Recorded) -> String {
    let system = request.system();
    system
        .strip_prefix("You are the ")
        .and_then(|rest| rest.split(" on a ").next())
        .unwrap_or("unknown role")
        .to_owned()
}

/// A plain status reply.
pub fn status(code: u16, headers: &[(&str, &str)], body: &str) -> Reply {
    Reply::Status {
        code,
        headers: headers
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        body: body.to_owned(),
    }
}

/// One streamed fragment of a tool call: the first for a call carries its
/// id and name, later ones more of its arguments.
pub fn tool_call_chunk(
    index: usize,
    id: Option<&str>,
    name: Option<&str>,
    arguments: &str,
) -> Piece {
    let mut call = json!({ "index": index, "function": { "arguments": arguments } });
    if let Some(id) = id {
        call["id"] = id.into();
        call["type"] = "function".into();
    }
    if let Some(name) = name {
        call["function"]["name"] = name.into();
    }
    Piece::Data(json!({
        "id": "chatcmpl-test", "object": "chat.completion.chunk", "created": 0, "model": "test-model",
        "choices": [{ "index": 0, "delta": { "tool_calls": [call] }, "finish_reason": null }]
    }))
}

/// A whole turn of tool calls, each `(id, name, arguments)` in one
/// fragment, ending with `finish_reason: tool_calls`.
pub fn tool_turn(calls: &[(&str, &str, &str)]) -> Reply {
    let mut pieces: Vec<Piece> = calls
        .iter()
        .enumerate()
        .map(|(i, (id, name, args))| tool_call_chunk(i, Some(id), Some(name), args))
        .collect();
    pieces.push(finish_chunk("tool_calls"));
    pieces.push(Piece::Raw("data: [DONE]".into()));
    Reply::Sse(pieces)
}

/// A small valid plan for the Solution Architect: one maker task and its
/// critique (the pipeline reads the plan as JSON).
pub const PLAN: &str = r#"The plan:
```json
{"status": "planned", "category": "backend",
 "architecture": {"summary": "A token bucket per client in Redis"},
 "tasks": [
  {"task_name": "Implement the limiter", "skill_id": "backend-implement", "task_order": 1,
   "inputs": {"files_to_create": ["internal/limit/limit.go"]},
   "validation_criteria": {"critical": ["429 past the limit"]}},
  {"task_name": "Critique the limiter", "skill_id": "backend-critique", "task_order": 2,
   "dependencies": [1], "inputs": {"preceding_task": {"task_order": 1, "description": "A limiter"}}}]}
```
"#;

/// What each role of a well-behaved model answers: Markdown, or the plan
/// and a passing verdict where the pipeline wants JSON (from the QA
/// Engineer, or a plan's reviewer).
pub fn well_behaved(role: &str) -> String {
    match role {
        "Solution Architect" => PLAN.to_owned(),
        "QA Engineer" | "reviewer" => "{\"verdict\": \"pass\", \"issues\": []}".to_owned(),
        _ => format!("# {role} artifact\n\nWork by the {role} for the request.\n"),
    }
}

/// A JSON answer to a plain request (`GET /v1/models`, `/props`).
pub fn json_reply(value: &Value) -> Reply {
    status(200, &[], &value.to_string())
}

/// What a scripted server does with a `response_format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SchemaSupport {
    /// Answers JSON of the shape asked for.
    Honours,
    /// Takes the field and answers as it would without it (prose for the
    /// probe; the roles' usual answers).
    Ignores,
    /// `json_schema` refused with 400; `json_object` honoured.
    RejectsSchema,
    /// `json_schema` refused with 400 in a request that offers tools, and
    /// honoured without them; `json_object` honoured.
    RejectsSchemaWithTools,
}

/// What a scripted server does with `tools`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ToolSupport {
    /// The probe's `ping` comes back as a real tool call.
    Calls,
    /// Answers in prose, as if no tools were offered.
    Ignores,
    /// Writes the call as text, Hermes/Qwen style.
    Text,
}

/// A scripted model server with the capabilities a probe looks for: how
/// it treats `response_format` and `tools`, and what it reports of its
/// context length (`/v1/models` as vLLM does, `/props` as llama.cpp does,
/// `/api/show` as Ollama does).
/// Session requests get [`well_behaved`] answers, as JSON where a honoured
/// format asks for it.
#[derive(Clone, Debug)]
pub struct Capable {
    pub schema: SchemaSupport,
    pub tools: ToolSupport,
    pub models: Option<Value>,
    pub props: Option<Value>,
    /// Ollama's `/api/show`.
    pub show: Option<Value>,
    /// A model for which the server refuses `json_schema` and drops tools,
    /// whatever `schema` and `tools` say for the others.
    pub weak_model: Option<&'static str>,
}

impl Capable {
    pub fn new(schema: SchemaSupport, tools: ToolSupport) -> Self {
        Self {
            schema,
            tools,
            models: None,
            props: None,
            show: None,
            weak_model: None,
        }
    }

    pub fn reply(&self, request: &Recorded) -> Reply {
        let not_found = || status(404, &[], r#"{"error":{"message":"not found"}}"#);
        match request.path.as_str() {
            "/v1/models" => return self.models.as_ref().map_or_else(not_found, json_reply),
            "/props" => return self.props.as_ref().map_or_else(not_found, json_reply),
            "/api/show" => return self.show.as_ref().map_or_else(not_found, json_reply),
            "/v1/chat/completions" => {}
            _ => return not_found(),
        }
        let format = request.body["response_format"]["type"].as_str();
        let with_tools = request.body.get("tools").is_some();
        let weak = self.weak_model.is_some_and(|m| request.body["model"] == m);
        let rejects = match self.schema {
            SchemaSupport::RejectsSchema => true,
            SchemaSupport::RejectsSchemaWithTools => with_tools,
            SchemaSupport::Honours | SchemaSupport::Ignores => false,
        } || weak;
        if format == Some("json_schema") && rejects {
            return status(
                400,
                &[],
                r#"{"error":{"message":"response_format json_schema is not supported"}}"#,
            );
        }
        if is_probe_tool_request(request) {
            let tools = if weak {
                ToolSupport::Ignores
            } else {
                self.tools
            };
            return match tools {
                ToolSupport::Calls => tool_turn(&[("call_1", "ping", r#"{"word":"hello"}"#)]),
                ToolSupport::Ignores => answer("I would ping hello.", 20, 5),
                ToolSupport::Text => answer(
                    r#"<tool_call>{"name": "ping", "arguments": {"word": "hello"}}</tool_call>"#,
                    20,
                    12,
                ),
            };
        }
        let role = role_of(request);
        let structured = format.is_some() && self.schema != SchemaSupport::Ignores;
        let text = match (role.as_str(), structured) {
            ("unknown role", true) => r#"{"verdict": "pass", "issues": []}"#.to_owned(),
            ("unknown role", false) if format.is_some() => "Sure: it passed.".to_owned(),
            ("unknown role", false) => "OK".to_owned(),
            (role, _) => well_behaved(role),
        };
        answer(&text, 20, 10)
    }
}

/// Whether `request` is the capability probe's tool request (it offers one
/// tool, `ping`, and asks for no format).
pub fn is_probe_tool_request(request: &Recorded) -> bool {
    request.body["tools"][0]["function"]["name"] == "ping"
        && request.body.get("response_format").is_none()
}
