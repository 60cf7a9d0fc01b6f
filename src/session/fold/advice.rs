//! Folding `advice`: what a consulted specialist told a phase's role, kept
//! on the phase over all its attempts, so that a later attempt reading the
//! same artifact finds it (and is not asked again) and the card can count
//! its points.

use serde::Serialize;

use super::SessionState;

/// One consult of a specialist for a phase, as its `advice` event says.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Advice {
    /// The attempt it was asked for.
    pub attempt: u32,
    pub specialist: String,
    pub keyword: String,
    /// The advice; empty when the consult failed.
    pub text: String,
    /// Why there is no advice: the role ran without it.
    pub error: Option<String>,
    /// The `seq` of the event that last changed the artifact it read.
    pub read: Option<u64>,
    /// The `seq` of its `advice` event.
    #[serde(skip)]
    pub seq: u64,
}

impl Advice {
    /// Whether the consult gave advice (it did not fail).
    pub fn given(&self) -> bool {
        self.error.is_none() && !self.text.trim().is_empty()
    }

    /// How many points the advice makes: its bullet and numbered lines, or
    /// one for advice written as prose.
    pub fn points(&self) -> usize {
        let bullets = self
            .text
            .lines()
            .map(str::trim_start)
            .filter(|l| {
                l.starts_with("- ")
                    || l.starts_with("* ")
                    || l.starts_with("+ ")
                    || l.split_once(". ").is_some_and(|(n, _)| {
                        !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())
                    })
            })
            .count();
        if bullets == 0 && self.given() {
            1
        } else {
            bullets
        }
    }

    /// The card's words for it: `3 points`, or why there is none.
    pub fn summary(&self) -> String {
        if self.given() {
            match self.points() {
                1 => "1 point".to_owned(),
                n => format!("{n} points"),
            }
        } else {
            "no advice, went on without".to_owned()
        }
    }
}

impl super::PhaseState {
    /// The advice attempt `number` had, one per specialist: the consult
    /// asked for it, else advice given to an earlier attempt that still
    /// stands (a failed earlier consult does not). The card counts it and
    /// the artifact view shows it.
    pub fn advice_for(&self, number: u32) -> Vec<&Advice> {
        let mut had: Vec<&Advice> = Vec::new();
        for advice in self.advice.iter().filter(|a| a.attempt <= number) {
            had.retain(|kept| kept.specialist != advice.specialist);
            if advice.attempt == number || advice.given() {
                had.push(advice);
            }
        }
        had
    }
}

impl SessionState {
    /// `advice`: kept on the phase.
    pub(super) fn on_advice(&mut self, phase: &str, advice: Advice) {
        if let Some(p) = self.phase_mut(phase) {
            p.advice.push(advice);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn advice(text: &str, error: Option<&str>) -> Advice {
        Advice {
            text: text.into(),
            error: error.map(Into::into),
            ..Advice::default()
        }
    }

    #[test]
    fn points_count_bullets_and_numbered_lines() {
        let a = advice("Intro\n- one\n  * two\n3. three\n2026 was\n", None);
        assert_eq!(a.points(), 3);
        assert_eq!(a.summary(), "3 points");
        assert_eq!(advice("Just prose.", None).summary(), "1 point");
        let failed = advice("", Some("HTTP 500"));
        assert!(!failed.given());
        assert_eq!(failed.summary(), "no advice, went on without");
    }

    #[test]
    fn an_attempt_has_this_attempts_consults_and_earlier_advice_that_stands() {
        let at = |attempt, specialist: &str, error: Option<&str>| Advice {
            attempt,
            specialist: specialist.into(),
            error: error.map(Into::into),
            text: if error.is_some() {
                String::new()
            } else {
                "- a".into()
            },
            ..Advice::default()
        };
        let phase = super::super::PhaseState {
            advice: vec![
                at(1, "graphql", None),
                at(1, "redis", Some("500")),
                at(2, "redis", None),
                at(2, "security", Some("500")),
            ],
            ..super::super::PhaseState::default()
        };
        let had = |n| -> Vec<(String, bool)> {
            phase
                .advice_for(n)
                .iter()
                .map(|a| (a.specialist.clone(), a.given()))
                .collect()
        };
        assert_eq!(had(1), [("graphql".into(), true), ("redis".into(), false)]);
        assert_eq!(
            had(2),
            [
                ("graphql".into(), true),
                ("redis".into(), true),
                ("security".into(), false)
            ]
        );
        assert_eq!(had(3), [("graphql".into(), true), ("redis".into(), true)]);
    }
}
