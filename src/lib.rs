//! `handoff`: a terminal dashboard for running a team of LLM role agents
//! through a feature request, with a human approving every handoff.
//!
//! Data flows one way. The [`engine`] runs the phases of a
//! [`pipeline::Pipeline`] through a [`provider::Provider`], appends every
//! [`session::Event`] to the session log and only then publishes it; the
//! [`tui`] and the [`headless`] printer fold those events into a
//! [`session::SessionState`] and send decisions back. Replay, `show` and
//! `sessions` fold the same log.

pub mod agent;
pub mod changes;
pub mod cli;
pub mod clock;
pub mod commands;
pub mod config;
pub mod cost;
pub mod diagnostic;
pub mod engine;
pub mod formats;
pub mod headless;
pub mod parallel;
pub mod pipeline;
pub mod policy;
pub mod protocol;
pub mod provider;
pub mod sandbox;
pub mod sanitize;
pub mod session;
pub mod stats;
pub mod tools;
pub mod tui;
