//! Where text comes from: the [`Provider`] trait and its implementations.
//!
//! A provider turns a [`CompletionRequest`] into a stream of [`Chunk`]s: text
//! deltas, token usage, and a final `Done` carrying the finish reason. The
//! engine consumes the stream and cancels a phase by dropping it. A stream
//! that ends without `Done` was cut short and is treated as a failure.
//! [`offline`] is the built-in deterministic provider; [`openai`] talks to
//! any OpenAI-compatible server.

pub mod offline;
pub mod openai;
pub mod probe;
pub mod tokens;

use std::pin::Pin;

use futures::Stream;

use crate::pipeline::Phase;
use crate::tools::ToolSpec;

/// Who said a message.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Role {
    System,
    #[default]
    User,
    Assistant,
    /// The result of a tool call, answering `tool_call_id`.
    Tool,
}

/// One chat message.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Message {
    pub role: Role,
    pub content: String,
    /// Tools an assistant message asked to run.
    pub tool_calls: Vec<ToolCall>,
    /// For a tool result: the call it answers.
    pub tool_call_id: Option<String>,
}

impl Message {
    pub fn new(role: Role, content: impl Into<String>) -> Self {
        Self {
            role,
            content: content.into(),
            ..Self::default()
        }
    }
}

/// A call the model made, assembled from its streamed fragments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ToolCall {
    pub id: String,
    pub name: String,
    /// The arguments as the model wrote them (JSON text, not yet checked).
    pub arguments: String,
}

/// An earlier phase's artifact handed to a role.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Input {
    pub phase: String,
    pub role: String,
    pub name: String,
    pub content: String,
}

/// What a phase is asked to do, in structured form. A chat model reads the
/// rendered `messages`; the offline provider reads this.
#[derive(Clone, Debug, PartialEq)]
pub struct Brief {
    pub request: String,
    pub phase: Phase,
    pub attempt: u32,
    pub inputs: Vec<Input>,
    /// Notes approvers left on earlier phases.
    pub notes: Vec<String>,
    /// On a retry: the previous attempt's artifact and the feedback on it.
    pub previous: Option<String>,
    pub feedback: Option<String>,
    /// The branch deliveries are committed on, when the workspace is a git
    /// work tree.
    pub branch: Option<String>,
    /// Specialists engaged for this role, with the keyword that engaged each.
    pub specialists: Vec<(crate::pipeline::Specialist, String)>,
    /// When the phase runs a plan task by task: the one this call is for.
    pub task: Option<TaskBrief>,
    /// What consulted specialists advised this role (handed over as an
    /// input section).
    pub advice: Vec<crate::session::Advice>,
    /// When this call consults a specialist for the phase, not the role's
    /// own turn: the specialist and the keyword that engaged it.
    pub consult: Option<(crate::pipeline::Specialist, String)>,
    /// What utility roles summoned at gates wrote for this role (handed
    /// over as sections after the inputs).
    pub reports: Vec<crate::session::UtilityReport>,
    /// When this call is a utility summoned at a gate: the utility.
    pub summoned: Option<crate::pipeline::Utility>,
}

/// One task of a plan, as a maker or a critique is asked to do it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskBrief {
    pub order: u32,
    pub name: String,
    pub description: String,
    /// What the work is judged against.
    pub criteria: crate::formats::plan::Criteria,
    pub files: Vec<String>,
    /// For a critique: the task it checks.
    pub critique_of: Option<u32>,
    /// 1 for the first run; more when a critique sent the task back.
    pub round: u32,
    /// For a critique, the maker's report it checks; for a maker sent back,
    /// its previous report.
    pub work: Option<String>,
    /// For a maker sent back: what its critique found.
    pub feedback: Option<String>,
}

impl Brief {
    /// The first attempt at `phase` for `request`, with nothing handed over.
    pub fn new(request: impl Into<String>, phase: Phase) -> Self {
        Self {
            request: request.into(),
            phase,
            attempt: 1,
            inputs: Vec::new(),
            notes: Vec::new(),
            previous: None,
            feedback: None,
            branch: None,
            specialists: Vec::new(),
            task: None,
            advice: Vec::new(),
            consult: None,
            reports: Vec::new(),
            summoned: None,
        }
    }
}

/// One call to a model.
#[derive(Clone, Debug)]
pub struct CompletionRequest {
    pub model: String,
    pub temperature: Option<f64>,
    pub messages: Vec<Message>,
    /// Tools offered to the model (none: a plain answer).
    pub tools: Vec<ToolSpec>,
    /// How the answer is shaped and bounded.
    pub answer: AnswerSpec,
    pub brief: Brief,
}

/// What is asked of the answer beyond its words: a schema to meet, a cap on
/// its length, a sampling seed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AnswerSpec {
    /// For a plan or a verdict: the schema a server that can is asked to
    /// hold the answer to (`response_format`).
    pub schema: Option<crate::formats::schema::Schema>,
    /// The most tokens the answer may take (`max_tokens`).
    pub max_tokens: Option<u32>,
    /// A sampling seed: a retry of an answer that came back the same asks
    /// for a different one.
    pub seed: Option<u64>,
}

/// A piece of a streamed answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Chunk {
    Text(String),
    Usage {
        prompt_tokens: u64,
        completion_tokens: u64,
    },
    /// A tool call, whole, before the `Done` of the turn that made it.
    ToolCall(ToolCall),
    /// The answer is complete.
    Done {
        finish_reason: String,
    },
    /// The request is being tried again after a failure.
    Retry {
        reason: String,
        wait: std::time::Duration,
        next_try: u32,
        tries: u32,
    },
}

/// Why a completion failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ProviderError(pub String);

/// A streamed answer.
pub type ChunkStream = Pin<Box<dyn Stream<Item = Result<Chunk, ProviderError>> + Send>>;

/// A source of completions.
pub trait Provider: Send + Sync {
    /// The provider's name as the UI and the log show it (`offline`, `openai`).
    fn name(&self) -> &str;
    /// Starts one completion.
    fn stream(&self, request: CompletionRequest) -> ChunkStream;
}
