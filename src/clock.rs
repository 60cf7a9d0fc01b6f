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

/// A replay speed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Speed {
    Factor(f64),
    Max,
}

impl std::str::FromStr for Speed {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.eq_ignore_ascii_case("max") {
            return Ok(Self::Max);
        }
        let factor: f64 = s
            .trim_end_matches('x')
            .parse()
            .map_err(|_| format!("`{s}` is not a speed: use a number such as 2 or 0.5, or max"))?;
        if factor > 0.0 && factor.is_finite() {
            Ok(Self::Factor(factor))
        } else {
            Err(format!("speed must be above 0, not {s}"))
        }
    }
}
