//! The integration tests, one module per area.

mod bad_output;
mod bounded;
mod changes;
mod checker;
mod config_fuzz;
mod damaged;
mod engine;
mod example;
mod export_stats;
mod faults;
mod headless;
mod injection;
mod keys;
mod layers;
mod methodology;
mod openai;
mod own_git;
mod policy_table;
mod pty;
mod real_model;
mod resume;
mod sandbox;
mod secrets;
mod snapshots;
mod streaming;
mod workspace;
