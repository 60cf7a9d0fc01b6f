//! All integration tests, in one binary: one link instead of one per file.
//! Each file under `suite/` is a module; `common/` holds what they share.

mod common;
mod suite;
