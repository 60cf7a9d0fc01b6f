//! The integration tests, one module per area.

mod bad_output;
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
mod pty;
mod resume;
mod sandbox;
mod secrets;
mod snapshots;
mod workspace;
