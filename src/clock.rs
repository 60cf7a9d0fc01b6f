//! Time as the engine sees it, passed in rather than read globally so that
//! tests and recorded examples can fix it.

use chrono::{DateTime, Utc};

/// A source of wall-clock time for event stamps.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// The real clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}
