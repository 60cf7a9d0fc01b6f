//! Running the tool calls of one turn: record the call, ask the policy (and
//! if it says so, the user) before a command runs or, under the pipeline's
//! write rules, before a file is written; run it in the workspace, and
//! record what came back. Every step is an event: `tool_call`,
//! `permission_asked`, `permission`, `tool_result`.

use serde_json::{Value, json};
use tokio::sync::watch;

use super::{Engine, EngineError};
use crate::policy::Verdict;
use crate::protocol::{Command, PermissionAnswer};
use crate::provider::ToolCall;
use crate::sandbox::{Jail, Plan, Sandboxing};
use crate::session::{Checklist, DecidedBy, EventKind, Permit};
use crate::tools::ruling;
use crate::tools::{self, SECRET_ENV, ToolArgs, ToolOutput, command};

/// The most tool output that goes into the log and back to the model.
const RESULT_LIMIT: usize = 64 * 1024;

/// How running a call ended.
pub(super) enum CallEnd {
    /// What goes back to the model.
    Result(String),
    /// The user cancelled the phase.
    Cancelled,
    /// The client went away.
    Stopped,
}

/// What the policy ruled on a call, to act on.
struct Question {
    /// What would happen (the command line, the path written).
    detail: String,
    verdict: Verdict,
    /// The ruling in one line.
    summary: String,
    /// The pattern an "always" answer allows.
    always: String,
}

/// How asking for permission ended.
enum Asked {
    Granted,
    Refused(String),
    Cancelled,
    Stopped,
}

/// What the card of a call shows: its target, and for `report_status` the
/// checklist it reports. Recorded on the `tool_call` event, so the fold
/// never reads tool arguments; read from the arguments as they are logged.
fn card(tool: &str, args: &Value) -> (String, Option<Checklist>) {
    match ToolArgs::parse(tool, &args.to_string()) {
        Err(_) => (args.to_string(), None),
        Ok(parsed) => {
            let checklist = if let ToolArgs::ReportStatus(report) = &parsed {
                Some(Checklist {
                    agent: report.agent.clone(),
                    status: report.status.clone(),
                    step: report.step.clone(),
                    completed: report.completed.clone(),
                    pending: report.pending.clone(),
                    blockers: report.blockers.clone(),
                })
            } else {
                None
            };
            (parsed.target(), checklist)
        }
    }
}

/// `text` with every secret in it replaced by `[key]`; secrets shorter
/// than 8 bytes are left alone (they would match ordinary text).
pub(super) fn scrub(text: &str, secrets: &[String]) -> String {
    secrets
        .iter()
        .filter(|s| s.len() >= 8)
        .fold(text.to_owned(), |text, secret| {
            text.replace(secret.as_str(), "[key]")
        })
}

pub(super) fn cap(mut text: String) -> String {
    if text.len() > RESULT_LIMIT {
        let keep = (0..=RESULT_LIMIT)
            .rev()
            .find(|i| text.is_char_boundary(*i))
            .unwrap_or(0);
        text.truncate(keep);
        text.push_str("\n[… output cut by handoff …]");
    }
    text
}

impl Engine {
    /// Runs one tool call of phase `index`'s current attempt. A reviewer
    /// (`read_only`) may use only the tools that change nothing, whatever
    /// it was offered or asks for.
    pub(super) async fn run_tool_call(
        &mut self,
        index: usize,
        attempt: u32,
        call: &ToolCall,
        read_only: bool,
    ) -> Result<CallEnd, EngineError> {
        self.run_tool_call_as(index, index, attempt, call, read_only)
            .await
    }

    /// [`Self::run_tool_call`] for a plan task that runs as the role of
    /// phase `role` (its skill's): that role's tools, permissions and
    /// sandbox, logged under phase `index`.
    pub(super) async fn run_tool_call_as(
        &mut self,
        index: usize,
        role: usize,
        attempt: u32,
        call: &ToolCall,
        read_only: bool,
    ) -> Result<CallEnd, EngineError> {
        let phase = self.spec.pipeline.phases[index].clone();
        let as_role = self.spec.pipeline.phases[role].clone();
        // The endpoint knows the key: what it asks for is run and logged
        // without it.
        let call = &ToolCall {
            arguments: scrub(&call.arguments, &self.spec.secrets),
            ..call.clone()
        };
        let args: Value = serde_json::from_str(&call.arguments)
            .unwrap_or_else(|_| json!({ "raw": call.arguments }));
        let (target, checklist) = card(&call.name, &args);
        self.emit(EventKind::ToolCall {
            phase: phase.id.clone(),
            attempt,
            call_id: call.id.clone(),
            tool: call.name.clone(),
            args,
            target: Some(target),
            checklist,
        })?;
        let output = if as_role.tools.iter().all(|t| t != &call.name) {
            ToolOutput::failed(format!("the {} may not use `{}`", as_role.role, call.name))
        } else if read_only && !tools::READ_ONLY.contains(&call.name.as_str()) {
            ToolOutput::failed(format!(
                "a reviewer only reads: `{}` changes things, so it is refused",
                call.name
            ))
        } else {
            match ToolArgs::parse(&call.name, &call.arguments) {
                Err(e) => ToolOutput::failed(e),
                Ok(ToolArgs::RunCommand { command, timeout }) => {
                    match self.ask((index, role), attempt, call, &command).await? {
                        Asked::Granted => match self.run_command(role, &command, timeout).await {
                            Ok(output) => output,
                            Err(end) => return self.cut_short(&phase.id, attempt, call, end),
                        },
                        Asked::Refused(reason) => ToolOutput::failed(format!("not run: {reason}")),
                        Asked::Cancelled => {
                            return self.cut_short(&phase.id, attempt, call, CallEnd::Cancelled);
                        }
                        Asked::Stopped => return Ok(CallEnd::Stopped),
                    }
                }
                Ok(ToolArgs::WriteFile { path, content }) => {
                    match self.ask_write(index, attempt, call, &path).await? {
                        Asked::Granted => {
                            self.file_tool(ToolArgs::WriteFile { path, content }).await
                        }
                        Asked::Refused(reason) => {
                            ToolOutput::failed(format!("not written: {reason}"))
                        }
                        Asked::Cancelled => {
                            return self.cut_short(&phase.id, attempt, call, CallEnd::Cancelled);
                        }
                        Asked::Stopped => return Ok(CallEnd::Stopped),
                    }
                }
                Ok(other) => self.file_tool(other).await,
            }
        };
        // What a tool read or a command printed may hold a key (a `.env`
        // file): neither the log nor the model gets it.
        let output = ToolOutput {
            ok: output.ok,
            summary: scrub(&output.summary, &self.spec.secrets),
            content: scrub(&output.content, &self.spec.secrets),
        };
        let content = output.content.clone();
        self.tool_result(&phase.id, attempt, call, output)?;
        Ok(CallEnd::Result(content))
    }

    /// Runs a file tool in the session's workspace ([`file_tool`]).
    fn file_tool(&self, args: ToolArgs) -> impl Future<Output = ToolOutput> + Send + use<> {
        file_tool(self.spec.workspace.clone(), args)
    }

    /// Records that `call` was cut short by a cancel, and how it ended.
    fn cut_short(
        &mut self,
        phase: &str,
        attempt: u32,
        call: &ToolCall,
        end: CallEnd,
    ) -> Result<CallEnd, EngineError> {
        let cancelled = ToolOutput::failed("cancelled by the user");
        self.tool_result(phase, attempt, call, cancelled)?;
        Ok(end)
    }

    fn tool_result(
        &mut self,
        phase: &str,
        attempt: u32,
        call: &ToolCall,
        output: ToolOutput,
    ) -> Result<(), EngineError> {
        self.emit(EventKind::ToolResult {
            phase: phase.to_owned(),
            attempt,
            call_id: call.id.clone(),
            ok: output.ok,
            summary: output.summary,
            output: cap(output.content),
        })
    }

    fn permission(
        &mut self,
        phase: &str,
        call: &ToolCall,
        decision: Permit,
        by: DecidedBy,
        pattern: Option<String>,
        reason: Option<String>,
    ) -> Result<(), EngineError> {
        self.emit(EventKind::Permission {
            phase: phase.to_owned(),
            call_id: call.id.clone(),
            decision,
            by,
            pattern,
            reason,
        })
    }

    /// The policy's ruling on a command, and the user's answer when it asks.
    async fn ask(
        &mut self,
        (index, role): (usize, usize),
        attempt: u32,
        call: &ToolCall,
        command: &str,
    ) -> Result<Asked, EngineError> {
        let phase = &self.spec.pipeline.phases[role];
        let layers = [&self.spec.pipeline.permissions, &phase.permissions];
        let ruling = ruling::check_command(command, &layers, &self.state.session_allow);
        let mut summary = ruling.summary();
        let mut verdict = ruling.verdict;
        // Fail closed: without a sandbox, what the policy allows still asks.
        if let Sandboxing::Unavailable { reason } = &self.spec.sandbox
            && verdict == Verdict::Allow
        {
            verdict = Verdict::Ask;
            summary = format!("{summary}; asked because commands have no sandbox here ({reason})");
        }
        let question = Question {
            detail: command.to_owned(),
            verdict,
            summary,
            always: crate::policy::always_pattern(command),
        };
        self.put(index, attempt, call, question).await
    }

    /// The write policy's ruling on writing `path`, and the user's answer
    /// when it asks. With no write rules every write is allowed, and
    /// nothing is recorded (as before write rules existed). A path the
    /// workspace refuses anyway (into `.git`, outside) is let through to
    /// the write, which fails with the reason.
    async fn ask_write(
        &mut self,
        index: usize,
        attempt: u32,
        call: &ToolCall,
        path: &str,
    ) -> Result<Asked, EngineError> {
        let rules = &self.spec.pipeline.write_permissions;
        if rules.is_empty() {
            return Ok(Asked::Granted);
        }
        let Some(Ok(target)) = self.spec.workspace.as_ref().map(|w| w.write_target(path)) else {
            return Ok(Asked::Granted);
        };
        // An "always" answer allows this one file for the session.
        let always = format!("write_file {target}");
        let (verdict, why) = if self.state.session_allow.contains(&always) {
            (Verdict::Allow, "always, this session".to_owned())
        } else {
            crate::policy::rule_path(&[rules], &target)
        };
        let question = Question {
            summary: format!("{verdict}: write `{target}` ({why})"),
            detail: target,
            verdict,
            always,
        };
        self.put(index, attempt, call, question).await
    }

    /// Acts on a ruling: records an allow or a deny, or asks the user and
    /// waits for the answer.
    async fn put(
        &mut self,
        index: usize,
        attempt: u32,
        call: &ToolCall,
        question: Question,
    ) -> Result<Asked, EngineError> {
        let phase = self.spec.pipeline.phases[index].clone();
        let Question {
            detail,
            verdict,
            summary,
            always: always_allows,
        } = question;
        match verdict {
            Verdict::Allow => {
                self.permission(
                    &phase.id,
                    call,
                    Permit::Allow,
                    DecidedBy::Policy,
                    None,
                    Some(summary),
                )?;
                return Ok(Asked::Granted);
            }
            Verdict::Deny => {
                self.permission(
                    &phase.id,
                    call,
                    Permit::Deny,
                    DecidedBy::Policy,
                    None,
                    Some(summary.clone()),
                )?;
                return Ok(Asked::Refused(format!("the policy denies it ({summary})")));
            }
            Verdict::Ask => {}
        }
        self.emit(EventKind::PermissionAsked {
            phase: phase.id.clone(),
            attempt,
            call_id: call.id.clone(),
            tool: call.name.clone(),
            detail,
            reason: summary,
            always: Some(always_allows.clone()),
        })?;
        loop {
            match self.commands.recv().await {
                None => return Ok(Asked::Stopped),
                Some(Command::Cancel) => {
                    self.permission(
                        &phase.id,
                        call,
                        Permit::Deny,
                        DecidedBy::User,
                        None,
                        Some("the phase was cancelled".into()),
                    )?;
                    return Ok(Asked::Cancelled);
                }
                Some(Command::Permission(PermissionAnswer {
                    call_id,
                    allow,
                    always,
                    reason,
                    by,
                })) if call_id == call.id => {
                    let pattern = (allow && always).then(|| always_allows.clone());
                    let decision = if allow { Permit::Allow } else { Permit::Deny };
                    self.permission(&phase.id, call, decision, by, pattern, reason.clone())?;
                    return Ok(if allow {
                        Asked::Granted
                    } else {
                        Asked::Refused(match reason {
                            Some(r) if !r.trim().is_empty() => format!("the user said no: {r}"),
                            _ => "the user said no".into(),
                        })
                    });
                }
                Some(Command::Permission(other)) => {
                    self.sink.notice(format!(
                        "no permission is asked for call `{}`",
                        other.call_id
                    ));
                }
                Some(Command::Decide(d)) => {
                    self.sink.refused(format!(
                        "decision on `{}` refused: a permission is being asked",
                        d.phase
                    ));
                }
                Some(Command::Summon { utility, .. }) => {
                    self.sink.refused(super::utility::summon_refused(&utility));
                }
                Some(Command::Revert { .. } | Command::UndoRevert { .. }) => {
                    self.sink
                        .refused("nothing is reverted while a permission is being asked".into());
                }
            }
        }
    }

    /// Runs a granted command; `Err` when the run was cut off by a cancel
    /// or by the client going away.
    async fn run_command(
        &mut self,
        index: usize,
        command_line: &str,
        timeout: std::time::Duration,
    ) -> Result<ToolOutput, CallEnd> {
        let Some(root) = self.spec.workspace.as_ref().map(|w| w.root().to_owned()) else {
            return Ok(ToolOutput::failed("this session has no workspace"));
        };
        let jail = match &self.spec.sandbox {
            Sandboxing::On { helper, .. } => {
                if self.command_cache.is_none() {
                    // Without it, caches go in each command's temp folder.
                    self.command_cache = tempfile::Builder::new()
                        .prefix("handoff-cache-")
                        .tempdir()
                        .ok();
                }
                let cache = self.command_cache.as_ref().map(tempfile::TempDir::path);
                let pipeline = &self.spec.pipeline;
                let reach = pipeline.phases[index]
                    .sandbox
                    .as_ref()
                    .unwrap_or(&pipeline.sandbox);
                Some(Jail {
                    helper: helper.clone(),
                    plan: Plan::new(reach, &root).with_cache(cache),
                })
            }
            Sandboxing::Unavailable { .. } | Sandboxing::OptedOut { .. } => None,
        };
        let (cancel, cancelled) = watch::channel(false);
        let run = command::run_command(
            &root,
            command_line,
            timeout,
            cancelled,
            &SECRET_ENV,
            jail.as_ref(),
        );
        tokio::pin!(run);
        let mut interrupted = None;
        let result = loop {
            tokio::select! {
                result = &mut run => break result,
                next = self.commands.recv(), if interrupted.is_none() => match next {
                    Some(Command::Cancel) => {
                        let _ = cancel.send(true);
                        interrupted = Some(CallEnd::Cancelled);
                    }
                    None => {
                        let _ = cancel.send(true);
                        interrupted = Some(CallEnd::Stopped);
                    }
                    Some(_) => self.sink.notice("a command is running; answers wait until it ends".into()),
                },
            }
        };
        if let Some(end) = interrupted {
            return Err(end);
        }
        Ok(match result {
            Err(e) => ToolOutput::failed(format!("could not start the command: {e}")),
            Ok(out) if out.timed_out => ToolOutput {
                ok: false,
                summary: format!("timed out after {}s", timeout.as_secs()),
                content: format!(
                    "killed after {}s (timeout)\n{}",
                    timeout.as_secs(),
                    out.output
                ),
            },
            Ok(out) => {
                let code = out
                    .exit_code
                    .map_or_else(|| "killed".to_owned(), |c| format!("exit {c}"));
                ToolOutput {
                    ok: out.exit_code == Some(0),
                    summary: code.clone(),
                    content: format!("{code}\n{}", out.output),
                }
            }
        })
    }
}

/// Runs a file tool in `workspace`. File tools touch the disk (`search`
/// walks the tree): on a blocking thread, not the engine's task.
pub(super) async fn file_tool(
    workspace: Option<std::sync::Arc<crate::tools::workspace::Workspace>>,
    args: ToolArgs,
) -> ToolOutput {
    match workspace {
        Some(workspace) => {
            tokio::task::spawn_blocking(move || tools::run_file_tool(&workspace, &args))
                .await
                .unwrap_or_else(|e| ToolOutput::failed(format!("the tool broke off: {e}")))
        }
        None => ToolOutput::failed("this session has no workspace"),
    }
}
