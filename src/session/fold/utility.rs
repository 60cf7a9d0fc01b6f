//! Folding `utility`: what a utility role a person summoned at a gate
//! wrote, kept on the phase whose gate it was summoned at (the card and
//! the artifact view show it there), and found again for every phase it
//! is handed to ([`SessionState::reports_for`]) when that phase's role runs.

use serde::Serialize;

use super::SessionState;

/// One summoned utility's answer, as its `utility` event says.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct UtilityReport {
    /// The utility's id (`debugger`) and name.
    pub utility: String,
    pub name: String,
    /// The phase whose gate it was summoned at.
    pub phase: String,
    /// The `seq` of that gate's `gate_opened`.
    pub gate: u64,
    /// The artifacts its text holds (`debug-report`).
    pub artifacts: Vec<String>,
    /// The phases whose roles are handed it.
    pub hands_to: Vec<String>,
    /// Its answer; empty when the call failed.
    pub text: String,
    /// Why there is no answer.
    pub error: Option<String>,
    /// The read-only tool calls it made, one line each.
    pub reads: Vec<String>,
    /// The `seq` of its `utility` event.
    #[serde(skip)]
    pub seq: u64,
}

impl UtilityReport {
    /// Whether it answered (the call did not fail).
    pub fn given(&self) -> bool {
        self.error.is_none() && !self.text.trim().is_empty()
    }

    /// The card's words for it: `debugger: debug-report, known-issues`, or
    /// why there is none.
    pub fn summary(&self) -> String {
        match &self.error {
            None => format!("{}: {}", self.utility, self.artifacts.join(", ")),
            Some(error) => format!("{}: failed ({error})", self.utility),
        }
    }
}

impl SessionState {
    /// `summoned`: working at the phase's gate until its answer is in.
    pub(super) fn on_summoned(&mut self, phase: &str, gate: u64, utility: &str) {
        if let Some(p) = self.phase_mut(phase)
            && !p.summoned.iter().any(|(g, u)| *g == gate && u == utility)
        {
            p.summoned.push((gate, utility.to_owned()));
        }
    }

    /// `utility`: kept on the phase it was summoned at, and no longer
    /// working there.
    pub(super) fn on_utility(&mut self, report: UtilityReport) {
        if let Some(p) = self.phase_mut(&report.phase) {
            p.summoned
                .retain(|(g, u)| !(*g == report.gate && *u == report.utility));
            p.utilities.push(report);
        }
    }

    /// The utilities summoned at the open gate that have not answered:
    /// its phase and each one's id.
    pub fn working(&self) -> Vec<(String, String)> {
        let Some(gate) = &self.gate else {
            return Vec::new();
        };
        self.phases
            .get(gate.phase)
            .map(|p| {
                p.summoned
                    .iter()
                    .filter(|(g, _)| *g == gate.seq)
                    .map(|(_, u)| (p.id.clone(), u.clone()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The utility reports handed to phase `id`'s role: of every utility
    /// that answered with `id` in its `hands_to`, its latest answer.
    pub fn reports_for(&self, id: &str) -> Vec<&UtilityReport> {
        let mut all: Vec<&UtilityReport> = self
            .phases
            .iter()
            .flat_map(|p| &p.utilities)
            .filter(|r| r.given() && r.hands_to.iter().any(|h| h == id))
            .collect();
        all.sort_by_key(|r| r.seq);
        latest_of_each(all)
    }
}

impl super::PhaseState {
    /// The latest answer of each utility summoned at this phase's gates.
    pub fn latest_utilities(&self) -> Vec<&UtilityReport> {
        latest_of_each(&self.utilities)
    }
}

/// Of `reports`, in the order they came, the last of each utility.
fn latest_of_each<'a>(
    reports: impl IntoIterator<Item = &'a UtilityReport>,
) -> Vec<&'a UtilityReport> {
    let mut kept: Vec<&UtilityReport> = Vec::new();
    for report in reports {
        kept.retain(|k| k.utility != report.utility);
        kept.push(report);
    }
    kept
}

#[cfg(test)]
mod tests {
    use crate::session::testing::numbered;
    use crate::session::{EventKind, SessionState};

    fn utility(phase: &str, name: &str, text: &str, error: Option<&str>) -> EventKind {
        EventKind::Utility {
            phase: phase.into(),
            gate: 7,
            utility: name.into(),
            name: name.to_uppercase(),
            artifacts: vec!["debug-report".into(), "known-issues".into()],
            hands_to: vec!["validate".into()],
            text: text.into(),
            error: error.map(Into::into),
            reads: Vec::new(),
        }
    }

    fn state(extra: Vec<EventKind>) -> SessionState {
        let pipeline =
            crate::pipeline::load_pipeline(&crate::pipeline::SkillsFile::builtin(), None)
                .expect("builtin");
        let mut kinds = vec![EventKind::SessionStarted {
            id: "s".into(),
            request: "Add rate limiting".into(),
            pipeline: Box::new(pipeline),
            provider: "offline".into(),
            model: "m".into(),
            version: "0".into(),
            workspace: None,
            detected: None,
        }];
        kinds.extend(extra);
        SessionState::from_events(&numbered(kinds))
    }

    #[test]
    fn a_utility_is_kept_on_its_gate_and_handed_to_the_phases_it_names() {
        let folded = state(vec![
            utility("implement", "debugger", "first", None),
            utility("implement", "mcp", "", Some("HTTP 500")),
            utility("test", "debugger", "second", None),
        ]);
        let implement = &folded.phases[2];
        assert_eq!(implement.utilities.len(), 2);
        assert_eq!(
            implement.utilities[0].summary(),
            "debugger: debug-report, known-issues"
        );
        assert_eq!(implement.utilities[1].summary(), "mcp: failed (HTTP 500)");
        assert!(!implement.utilities[1].given());
        assert_eq!(folded.phases[3].utilities.len(), 1);
        // The latest answer of each utility, failed ones left out, goes to
        // the phases it names only.
        let handed: Vec<&str> = folded
            .reports_for("validate")
            .iter()
            .map(|r| r.text.as_str())
            .collect();
        assert_eq!(handed, ["second"]);
        assert!(folded.reports_for("commit").is_empty());
        // The gate stays open: a utility answering is not a decision.
        assert_eq!(folded.gate, None);
    }

    #[test]
    fn a_summoned_utility_works_at_its_open_gate_until_it_answers() {
        let summoned = |utility: &str| EventKind::Summoned {
            phase: "implement".into(),
            gate: 1,
            utility: utility.into(),
        };
        // seq 0 starts the session; seq 1 opens the gate the summonses name.
        let gate = EventKind::GateOpened {
            phase: "implement".into(),
            question: "Ready?".into(),
            over_budget: None,
        };
        let open = state(vec![
            gate.clone(),
            summoned("debugger"),
            summoned("mcp"),
            summoned("debugger"),
        ]);
        assert_eq!(
            open.working(),
            [
                ("implement".to_owned(), "debugger".to_owned()),
                ("implement".to_owned(), "mcp".to_owned())
            ],
            "each once, in the order summoned"
        );
        let mut answered = utility("implement", "debugger", "found it", None);
        if let EventKind::Utility { gate, .. } = &mut answered {
            *gate = 1;
        }
        let folded = state(vec![gate, summoned("debugger"), summoned("mcp"), answered]);
        assert_eq!(
            folded.working(),
            [("implement".to_owned(), "mcp".to_owned())]
        );
        // No gate open: nothing works at one.
        assert!(state(vec![summoned("debugger")]).working().is_empty());
    }

    #[test]
    fn a_utility_at_an_unknown_phase_changes_nothing() {
        let folded = state(vec![utility("nowhere", "debugger", "x", None)]);
        assert!(folded.phases.iter().all(|p| p.utilities.is_empty()));
        assert!(folded.reports_for("validate").is_empty());
    }
}
