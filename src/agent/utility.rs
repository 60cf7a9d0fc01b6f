//! A utility role summoned at a gate: what it is asked, and how its answer
//! reaches the roles it is handed to.
//!
//! [`summon_request`] builds the one short call a summoned utility gets:
//! its prompt, the request, the gate's current artifact (a person's edit
//! wins) and the files the phase changed, a bounded answer with a section
//! per artifact. What it wrote is recorded on a `utility` event; every
//! later brief of a phase named in its `hands_to` carries it
//! ([`super::brief`]), rendered by [`reports_section`].

use std::fmt::Write;

use super::handed;
use crate::pipeline::{Pipeline, Utility};
use crate::provider::{Brief, CompletionRequest};
use crate::session::{SessionState, UtilityReport};

/// The call that summons `utility` at the gate of phase `index`.
pub fn summon_request(
    state: &SessionState,
    pipeline: &Pipeline,
    index: usize,
    utility: &Utility,
    model: &str,
) -> CompletionRequest {
    let phase = &pipeline.phases[index];
    let sections: Vec<String> = utility
        .artifacts
        .iter()
        .map(|a| format!("`## {a}`"))
        .collect();
    let mut system = format!(
        "You are the {name}, a utility role on a software team. A person summoned you at the \
         checkpoint after the {role} wrote the `{artifact}` artifact.\n\n{prompt}\n\nAnswer in \
         Markdown with one section per artifact you write: {sections}. Be short and concrete: \
         bullet points about this request and what you are shown, no preamble, no closing \
         words.",
        name = utility.name,
        role = phase.role,
        artifact = phase.artifact,
        prompt = utility.prompt.trim(),
        sections = sections.join(", "),
    );
    if let Some(language) = &phase.language {
        system.push_str(&super::language_sentence(language));
    }
    let hand = handed(state, pipeline, &phase.id);
    let mut user = super::consult::request_and(&state.request, hand.as_ref());
    if let Some(snapshot) = state.snapshot_of(&phase.id).filter(|s| !s.files.is_empty()) {
        user.push_str("\n## Files this phase changed in the workspace\n");
        for file in &snapshot.files {
            let _ = writeln!(user, "- {} (+{} −{})", file.path, file.added, file.removed);
        }
    }
    let brief = Brief {
        inputs: hand.into_iter().collect(),
        summoned: Some(utility.clone()),
        ..Brief::new(state.request.clone(), phase.clone())
    };
    super::consult::short_call(model, (system, user), utility.cap(), brief)
}

/// The sections of a role's user message that hand it utility reports.
pub fn reports_section(reports: &[UtilityReport]) -> String {
    let mut out = String::new();
    for r in reports.iter().filter(|r| r.given()) {
        let _ = write!(
            out,
            "\n## {} from the {} (summoned at the `{}` checkpoint)\n{}\n",
            r.artifacts.join(" and "),
            r.name,
            r.phase,
            r.text.trim()
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::{SkillsFile, load_pipeline};
    use crate::session::EventKind;
    use crate::session::testing::numbered;

    #[test]
    fn a_summoned_utility_reads_the_gate_and_its_report_reaches_the_roles_it_names() {
        let pipeline = load_pipeline(&SkillsFile::builtin(), None).expect("builtin");
        let debugger = pipeline.utility("debugger").expect("declared").clone();
        let mut kinds = vec![EventKind::SessionStarted {
            id: "s".into(),
            request: "Add rate limiting".into(),
            pipeline: Box::new(pipeline.clone()),
            provider: "offline".into(),
            model: "m".into(),
            version: "0".into(),
            workspace: None,
            detected: None,
        }];
        for (phase, name) in [
            ("summarize", "requirements"),
            ("plan", "plan"),
            ("implement", "implementation"),
        ] {
            kinds.push(EventKind::PhaseStarted {
                phase: phase.into(),
                attempt: 1,
            });
            kinds.push(EventKind::Artifact {
                outputs: Vec::new(),
                missing: Vec::new(),
                phase: phase.into(),
                attempt: 1,
                name: name.into(),
                content: format!("{name} TEXT"),
            });
        }
        let state = SessionState::from_events(&numbered(kinds.clone()));
        let call = summon_request(&state, &pipeline, 2, &debugger, "m");
        assert!(call.messages[0].content.starts_with("You are the Debugger"));
        assert!(
            call.messages[0]
                .content
                .contains("`## debug-report`, `## known-issues`")
        );
        assert!(call.messages[1].content.contains("implementation TEXT"));
        assert!(call.tools.is_empty());
        assert_eq!(
            call.brief.summoned.as_ref().map(|u| u.id.as_str()),
            Some("debugger")
        );
        kinds.push(EventKind::Utility {
            phase: "implement".into(),
            gate: 9,
            utility: "debugger".into(),
            name: "Debugger".into(),
            artifacts: debugger.artifacts.clone(),
            hands_to: debugger.hands_to.clone(),
            text: "## debug-report\n- CAUSE".into(),
            error: None,
            reads: Vec::new(),
        });
        let state = SessionState::from_events(&numbered(kinds));
        let qa = super::super::brief(&state, &pipeline, 4);
        let user = &super::super::messages(&qa)[1].content;
        assert!(
            user.contains(
                "## debug-report and known-issues from the Debugger (summoned at the `implement` checkpoint)\n## debug-report\n- CAUSE"
            ),
            "{user}"
        );
        let test = super::super::brief(&state, &pipeline, 3);
        assert!(test.reports.is_empty(), "the debugger hands to QA only");
    }
}
