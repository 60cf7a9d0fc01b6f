//! The integration tests, one module per area.

mod bad_output;
mod bounded;
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
mod pty;
mod resume;
mod secrets;
mod snapshots;
mod workspace;
