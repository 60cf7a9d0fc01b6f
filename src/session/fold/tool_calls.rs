//! Tool calls, and folding what happens to them: a call is made, it asks
//! for permission, the permission is answered, the call's result arrives.
//!
//! The fold does not read a call's arguments the way the tools do: the
//! engine records what the card shows (its target, a `report_status`'s
//! checklist) on the `tool_call` event. Only for logs written before it did
//! is that read here, the simple way, from the arguments' usual fields.

use serde::Serialize;
use serde_json::Value;

use super::{Attempt, SessionState, tasks::task_of_call};
use crate::session::event::{Checklist, Permit};

/// One tool call and how far it got.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ToolRun {
    pub call_id: String,
    pub tool: String,
    /// The path or command it is about.
    pub target: String,
    pub state: ToolState,
}

/// Where a tool call stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ToolState {
    /// Waiting for a person's permission.
    Asking,
    Running,
    Denied {
        reason: String,
    },
    Done {
        ok: bool,
        summary: String,
    },
}

/// A tool call waiting for a person.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PermissionRequest {
    pub phase: usize,
    pub call_id: String,
    pub tool: String,
    pub detail: String,
    pub reason: String,
    /// What an "always" answer allows.
    pub always: String,
}

impl Attempt {
    /// The latest call with this id (the fold and every reader agree).
    pub fn tool(&self, call_id: &str) -> Option<&ToolRun> {
        self.tools.iter().rev().find(|t| t.call_id == call_id)
    }

    fn tool_mut(&mut self, call_id: &str) -> Option<&mut ToolRun> {
        self.tools.iter_mut().rev().find(|t| t.call_id == call_id)
    }
}

/// What a call's card shows, from its `tool_call` event.
pub(super) struct Card {
    target: String,
    checklist: Option<Checklist>,
}

impl Card {
    /// The card as the engine recorded it, or for an older log (no
    /// `target`) as read from the arguments.
    pub(super) fn of(
        tool: &str,
        args: &Value,
        target: Option<&str>,
        checklist: Option<&Checklist>,
    ) -> Self {
        match target {
            Some(target) => Self {
                target: target.to_owned(),
                checklist: checklist.cloned(),
            },
            None => Self::from_arguments(tool, args),
        }
    }

    /// The card of a call logged with its arguments only: the path, the
    /// command, the search, the checklist's counts; else the arguments
    /// themselves.
    fn from_arguments(tool: &str, args: &Value) -> Self {
        let text = |field: &str| args.get(field).and_then(Value::as_str);
        let checklist = (tool == "report_status")
            .then(|| serde_json::from_value::<Checklist>(args.clone()).ok())
            .flatten();
        let target = match tool {
            "search" => text("pattern")
                .map(|pattern| format!("“{pattern}” in {}", text("path").unwrap_or("."))),
            "run_command" => text("command").map(str::to_owned),
            "report_status" => checklist
                .as_ref()
                .map(|c| format!("{} done, {} to do", c.completed.len(), c.pending.len())),
            "read_file" | "write_file" | "list_dir" => text("path").map(str::to_owned),
            _ => None,
        };
        Self {
            target: target.unwrap_or_else(|| args.to_string()),
            checklist,
        }
    }
}

/// What a `permission_asked` event asks.
#[derive(Clone, Copy)]
pub(super) struct Asked<'a> {
    pub(super) tool: &'a str,
    pub(super) detail: &'a str,
    pub(super) reason: &'a str,
    pub(super) always: Option<&'a str>,
}

impl SessionState {
    /// `tool_call`: the call runs (until it asks); a `report_status`'s
    /// checklist becomes the attempt's; a plan task's turn ends in it.
    pub(super) fn on_tool_call(
        &mut self,
        phase: &str,
        attempt: u32,
        call_id: &str,
        tool: &str,
        card: Card,
    ) {
        if let Some(a) = self.attempt_mut(phase, attempt) {
            a.retrying = None;
            if card.checklist.is_some() {
                a.checklist = card.checklist;
            }
            a.tools.push(ToolRun {
                call_id: call_id.to_owned(),
                tool: tool.to_owned(),
                target: card.target,
                state: ToolState::Running,
            });
            // A task's turn ended in this call: its report comes after.
            if let Some(t) = task_of_call(call_id).and_then(|task| a.task_mut(task)) {
                t.report_from = t.output.len();
            }
        }
    }

    /// `permission_asked`: the call waits for a person's answer.
    pub(super) fn on_permission_asked(
        &mut self,
        phase: &str,
        attempt: u32,
        call_id: &str,
        asked: Asked<'_>,
    ) {
        if let Some(index) = self.phase_index(phase) {
            if let Some(run) = self.phases[index]
                .attempt_mut(attempt)
                .and_then(|a| a.tool_mut(call_id))
            {
                run.state = ToolState::Asking;
            }
            self.permission = Some(PermissionRequest {
                phase: index,
                call_id: call_id.to_owned(),
                tool: asked.tool.to_owned(),
                detail: asked.detail.to_owned(),
                reason: asked.reason.to_owned(),
                always: asked.always.map_or_else(
                    || crate::policy::always_pattern(asked.detail),
                    str::to_owned,
                ),
            });
        }
    }

    /// `permission`: the answer; an "always" adds its pattern for the rest
    /// of the session.
    pub(super) fn on_permission(
        &mut self,
        phase: &str,
        call_id: &str,
        decision: Permit,
        pattern: Option<&str>,
        reason: Option<&str>,
    ) {
        if self
            .permission
            .as_ref()
            .is_some_and(|p| p.call_id == call_id)
        {
            self.permission = None;
        }
        self.session_allow.extend(pattern.map(str::to_owned));
        if let Some(run) = self
            .phase_mut(phase)
            .and_then(|p| p.current_mut())
            .and_then(|a| a.tool_mut(call_id))
        {
            run.state = match decision {
                Permit::Allow => ToolState::Running,
                Permit::Deny => ToolState::Denied {
                    reason: reason.unwrap_or_default().to_owned(),
                },
            };
        }
    }

    /// `tool_result`: how the call ended, unless it was denied.
    pub(super) fn on_tool_result(
        &mut self,
        phase: &str,
        attempt: u32,
        call_id: &str,
        ok: bool,
        summary: &str,
    ) {
        if let Some(run) = self
            .attempt_mut(phase, attempt)
            .and_then(|a| a.tool_mut(call_id))
            && !matches!(run.state, ToolState::Denied { .. })
        {
            run.state = ToolState::Done {
                ok,
                summary: summary.to_owned(),
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{Card, ToolState};
    use crate::session::event::{Checklist, DecidedBy, EventKind, Permit};
    use crate::session::fold::{SessionState, task_call_id};
    use crate::session::testing::{fold, started};

    fn call(call_id: &str, tool: &str, target: &str) -> EventKind {
        EventKind::ToolCall {
            phase: "implement".into(),
            attempt: 1,
            call_id: call_id.into(),
            tool: tool.into(),
            args: json!({}),
            target: Some(target.into()),
            checklist: None,
        }
    }

    fn asked(call_id: &str, always: Option<&str>) -> EventKind {
        EventKind::PermissionAsked {
            phase: "implement".into(),
            attempt: 1,
            call_id: call_id.into(),
            tool: "run_command".into(),
            detail: "go test ./...".into(),
            reason: "ask: go".into(),
            always: always.map(str::to_owned),
        }
    }

    fn answered(call_id: &str, decision: Permit, pattern: Option<&str>) -> EventKind {
        EventKind::Permission {
            phase: "implement".into(),
            call_id: call_id.into(),
            decision,
            by: DecidedBy::User,
            pattern: pattern.map(str::to_owned),
            reason: Some("not now".into()),
        }
    }

    fn result(call_id: &str) -> EventKind {
        EventKind::ToolResult {
            phase: "implement".into(),
            attempt: 1,
            call_id: call_id.into(),
            ok: true,
            summary: "exit 0".into(),
            output: "ok".into(),
        }
    }

    fn in_implement(kinds: impl IntoIterator<Item = EventKind>) -> SessionState {
        let mut all = vec![
            started("r", "offline"),
            EventKind::PhaseStarted {
                phase: "implement".into(),
                attempt: 1,
            },
        ];
        all.extend(kinds);
        fold(all)
    }

    #[test]
    fn a_call_shows_the_target_the_engine_recorded_and_its_result() {
        let state = in_implement([call("c1", "read_file", "src/lib.rs"), result("c1")]);
        let run = state.phases[2].attempts[0].tool("c1").expect("the call");
        assert_eq!(run.target, "src/lib.rs");
        assert_eq!(
            run.state,
            ToolState::Done {
                ok: true,
                summary: "exit 0".into()
            }
        );
    }

    #[test]
    fn a_reported_checklist_becomes_the_attempt_s() {
        let checklist = Checklist {
            completed: vec!["read".into()],
            pending: vec!["write".into(), "test".into()],
            ..Checklist::default()
        };
        let state = in_implement([
            EventKind::ToolCall {
                phase: "implement".into(),
                attempt: 1,
                call_id: "c1".into(),
                tool: "report_status".into(),
                args: json!({}),
                target: Some("1 done, 2 to do".into()),
                checklist: Some(checklist.clone()),
            },
            call("c2", "read_file", "x"),
        ]);
        assert_eq!(state.phases[2].attempts[0].checklist, Some(checklist));
    }

    #[test]
    fn an_old_log_s_card_is_read_from_the_arguments() {
        let card = |tool: &str, args| Card::of(tool, &args, None, None);
        assert_eq!(card("read_file", json!({"path": "a.rs"})).target, "a.rs");
        assert_eq!(
            card("run_command", json!({"command": "ls -l"})).target,
            "ls -l"
        );
        assert_eq!(
            card("search", json!({"pattern": "fn main"})).target,
            "“fn main” in ."
        );
        assert_eq!(
            card("search", json!({"pattern": "x", "path": "src"})).target,
            "“x” in src"
        );
        let raw = json!({"raw": "{not json"});
        assert_eq!(card("write_file", raw.clone()).target, raw.to_string());
        let status = card(
            "report_status",
            json!({"completed": ["a"], "pending": ["b", "c"]}),
        );
        assert_eq!(status.target, "1 done, 2 to do");
        assert_eq!(
            status
                .checklist
                .map(|c| (c.completed.len(), c.pending.len())),
            Some((1, 2))
        );
        assert!(card("read_file", json!({"path": "a"})).checklist.is_none());
    }

    #[test]
    fn a_question_waits_until_it_is_answered() {
        let asking = in_implement([
            call("c1", "run_command", "go test ./..."),
            asked("c1", None),
        ]);
        let request = asking.permission.clone().expect("a question");
        assert_eq!((request.phase, request.call_id.as_str()), (2, "c1"));
        // An older log has no "always" pattern: the fold works it out.
        assert_eq!(request.always, "go test *");
        assert_eq!(
            asking.phases[2].attempts[0].tool("c1").map(|t| &t.state),
            Some(&ToolState::Asking)
        );
        let allowed = in_implement([
            call("c1", "run_command", "go test ./..."),
            asked("c1", Some("go *")),
            answered("c1", Permit::Allow, Some("go *")),
        ]);
        assert!(allowed.permission.is_none());
        assert_eq!(allowed.session_allow, ["go *"]);
        assert_eq!(
            allowed.phases[2].attempts[0].tool("c1").map(|t| &t.state),
            Some(&ToolState::Running)
        );
    }

    #[test]
    fn a_denied_call_stays_denied_whatever_its_result() {
        let state = in_implement([
            call("c1", "run_command", "rm -rf /"),
            asked("c1", None),
            answered("c1", Permit::Deny, None),
            result("c1"),
        ]);
        assert_eq!(
            state.phases[2].attempts[0].tool("c1").map(|t| &t.state),
            Some(&ToolState::Denied {
                reason: "not now".into()
            })
        );
        assert!(state.session_allow.is_empty());
    }

    #[test]
    fn a_task_s_report_begins_after_its_last_call() {
        let id = task_call_id(1, 1, 1, "c");
        let state = in_implement([
            EventKind::TaskStarted {
                phase: "implement".into(),
                attempt: 1,
                task: 1,
                round: 1,
                name: "one".into(),
                critique_of: None,
                role: None,
            },
            EventKind::TaskOutput {
                phase: "implement".into(),
                attempt: 1,
                task: 1,
                text: "looking. ".into(),
            },
            call(&id, "read_file", "a"),
            EventKind::TaskOutput {
                phase: "implement".into(),
                attempt: 1,
                task: 1,
                text: "all done".into(),
            },
        ]);
        assert_eq!(state.phases[2].attempts[0].tasks[0].report(), "all done");
    }
}
