//! Shared by the benchmarks: a generator of large, realistic session logs.
//!
//! [`Script`] writes the events a long session would have — mostly
//! coalesced `output` chunks of Markdown, tool calls with their permissions
//! and results, usage, artifacts, gates and decisions (approvals, rejections
//! with feedback, edits, returns) — deterministically, from a seed, with the
//! event shapes of `handoff::session::EventKind`. The benches generate what
//! they need into a temporary folder; no generated data is committed.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use chrono::{DateTime, Duration, Utc};
use handoff::pipeline::{Pipeline, SkillsFile, load_pipeline};
use handoff::session::{
    Action, Checklist, DecidedBy, Decision, Event, EventKind, Permit, SessionOutcome,
};

/// A small deterministic random source (xorshift), so every run of a bench
/// reads the same bytes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const WORDS: &[&str] = &[
    "request",
    "limit",
    "orders",
    "API",
    "token",
    "bucket",
    "Redis",
    "client",
    "window",
    "returns",
    "`429`",
    "header",
    "`Retry-After`",
    "per",
    "minute",
    "the",
    "a",
    "and",
    "with",
    "middleware",
    "handler",
    "config",
    "test",
    "latency",
    "p99",
    "burst",
    "quota",
    "key",
    "tenant",
    "exempt",
    "—",
    "“quoted”",
    "état",
    "速率",
    "metrics",
    "counter",
    "store",
];

/// The built-in pipeline, as `session_started` stores it.
pub fn pipeline() -> Pipeline {
    load_pipeline(&SkillsFile::builtin(), None).expect("the built-in pipeline loads")
}

/// Builds events in order: numbered, stamped 40 ms apart.
pub struct Script {
    rng: Rng,
    seq: u64,
    t: DateTime<Utc>,
    pub events: Vec<Event>,
}

impl Script {
    pub fn new(seed: u64) -> Self {
        Self {
            rng: Rng(seed | 1),
            seq: 0,
            t: DateTime::parse_from_rfc3339("2026-11-20T10:00:00.000Z")
                .expect("time")
                .with_timezone(&Utc),
            events: Vec::new(),
        }
    }

    pub fn push(&mut self, kind: EventKind) {
        self.t += Duration::milliseconds(40);
        self.events.push(Event {
            seq: self.seq,
            t: self.t,
            kind,
        });
        self.seq += 1;
    }

    /// A line or two of Markdown-ish prose, about `bytes` long.
    pub fn prose(&mut self, bytes: usize) -> String {
        let mut text = String::with_capacity(bytes + 16);
        match self.rng.below(8) {
            0 => text.push_str("\n## "),
            1 => text.push_str("\n- "),
            2 => text.push_str("\n```rust\nlet limit = "),
            _ => {}
        }
        while text.len() < bytes {
            text.push_str(WORDS[usize::try_from(self.rng.below(WORDS.len() as u64)).unwrap_or(0)]);
            text.push(if self.rng.below(12) == 0 { '\n' } else { ' ' });
        }
        text
    }

    pub fn started(&mut self, pipeline: &Pipeline) {
        self.push(EventKind::SessionStarted {
            id: "20261120-100000-bench".into(),
            request: "Add rate limiting to the orders API".into(),
            pipeline: Box::new(pipeline.clone()),
            provider: "offline".into(),
            model: "gpt-4o-mini".into(),
            version: "0.1.0".into(),
            workspace: None,
            detected: None,
        });
    }

    /// One attempt of `phase`: `chunks` outputs of about 100 bytes with a
    /// tool call every 40 of them, then usage and the artifact (the text).
    pub fn attempt(&mut self, phase: &str, attempt: u32, chunks: usize, artifact: &str) {
        self.push(EventKind::PhaseStarted {
            phase: phase.into(),
            attempt,
        });
        let mut written = String::new();
        for i in 0..chunks {
            let size = 40 + usize::try_from(self.rng.below(80)).unwrap_or(0);
            let text = self.prose(size);
            written.push_str(&text);
            self.push(EventKind::Output {
                phase: phase.into(),
                attempt,
                text,
            });
            if i % 40 == 39 {
                self.tool_call(phase, attempt, i);
            }
        }
        let prompt_tokens = 1200 + self.rng.below(800);
        self.push(EventKind::Usage {
            phase: phase.into(),
            attempt,
            prompt_tokens,
            completion_tokens: (written.len() / 4) as u64,
        });
        self.push(EventKind::Artifact {
            outputs: Vec::new(),
            missing: Vec::new(),
            phase: phase.into(),
            attempt,
            name: artifact.into(),
            content: written,
        });
    }

    fn tool_call(&mut self, phase: &str, attempt: u32, i: usize) {
        let call_id = format!("call_{phase}_{attempt}_{i}");
        // What the engine records: the arguments, and the card read from them.
        let (tool, args, target, checklist) = match self.rng.below(3) {
            0 => (
                "read_file",
                serde_json::json!({ "path": format!("src/orders/handler_{i}.rs") }),
                format!("src/orders/handler_{i}.rs"),
                None,
            ),
            1 => (
                "run_command",
                serde_json::json!({ "command": "cargo test --quiet" }),
                "cargo test --quiet".to_owned(),
                None,
            ),
            _ => (
                "report_status",
                serde_json::json!({ "completed": ["spec", "limits"], "pending": ["docs"] }),
                "2 done, 1 to do".to_owned(),
                Some(Checklist {
                    completed: vec!["spec".into(), "limits".into()],
                    pending: vec!["docs".into()],
                    ..Checklist::default()
                }),
            ),
        };
        self.push(EventKind::ToolCall {
            phase: phase.into(),
            attempt,
            call_id: call_id.clone(),
            tool: tool.into(),
            args,
            target: Some(target),
            checklist,
        });
        self.push(EventKind::Permission {
            phase: phase.into(),
            call_id: call_id.clone(),
            decision: Permit::Allow,
            by: DecidedBy::Policy,
            pattern: None,
            reason: None,
        });
        let output = self.prose(160);
        self.push(EventKind::ToolResult {
            phase: phase.into(),
            attempt,
            call_id,
            ok: true,
            summary: "exit 0".into(),
            output,
        });
    }

    pub fn gate(&mut self, phase: &str, question: &str) {
        self.push(EventKind::GateOpened {
            phase: phase.into(),
            question: question.into(),
            over_budget: None,
        });
    }

    pub fn decide(&mut self, decision: Decision) {
        self.push(EventKind::Decision(decision));
    }
}

/// A long session of about `events` events: the six phases run again and
/// again (rejections, edits, QA returning work to implementation), each
/// attempt streaming a few hundred chunks.
pub fn long_session(events: usize) -> Vec<Event> {
    let pipeline = pipeline();
    let mut s = Script::new(0x5eed);
    s.started(&pipeline);
    let mut attempts = vec![0_u32; pipeline.phases.len()];
    let mut round = 0_usize;
    'outer: loop {
        for (index, phase) in pipeline.phases.iter().enumerate() {
            if s.events.len() >= events {
                break 'outer;
            }
            attempts[index] += 1;
            let chunks = 150 + usize::try_from(s.rng.below(300)).unwrap_or(0);
            s.attempt(&phase.id, attempts[index], chunks, &phase.artifact);
            s.gate(&phase.id, &phase.gate);
            let mut decision = match (round + index) % 7 {
                0 => Decision {
                    feedback: Some("Say which clients are exempt".into()),
                    ..Decision::new(&phase.id, Action::Reject, DecidedBy::User)
                },
                3 => Decision {
                    content: Some(s.prose(2000)),
                    ..Decision::new(&phase.id, Action::Edit, DecidedBy::User)
                },
                5 => Decision {
                    notes: Some("Keep Redis optional".into()),
                    ..Decision::new(&phase.id, Action::ApproveWithNotes, DecidedBy::User)
                },
                _ => Decision::approve(&phase.id, DecidedBy::User),
            };
            if decision.action == Action::Edit {
                s.decide(decision);
                decision = Decision::approve(&phase.id, DecidedBy::User);
            }
            s.decide(decision);
        }
        round += 1;
    }
    s.push(EventKind::SessionFinished {
        outcome: SessionOutcome::Completed,
    });
    s.events
}

/// Writes `events` as a session log at `path`; returns its size in bytes.
pub fn write_log(path: &Path, events: &[Event]) -> u64 {
    let mut out = BufWriter::new(File::create(path).expect("create the log"));
    for event in events {
        serde_json::to_writer(&mut out, event).expect("serialize");
        out.write_all(b"\n").expect("write");
    }
    out.flush().expect("flush");
    std::fs::metadata(path).expect("metadata").len()
}
