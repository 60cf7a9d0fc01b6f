//! The offline provider's structured answers: maker→checker plans and QA verdicts
//! as JSON, built from the brief like its Markdown artifacts are.
//!
//! The plan turns the requirements' acceptance criteria into maker→checker
//! task pairs (two chains, so independent tasks exist); the verdict checks
//! the test report against the criteria. Markers in the request exercise the
//! engine's paths for bad answers:
//!
//! * `!invalid:<phase>`: the first attempt's JSON is readable but wrong
//!   (a dependency on a missing task, a task with no critique).
//! * `!garbage:<phase>`: every attempt answers without any JSON.
//! * `!qa-fails:N`: the verdict fails for the first N attempts.
//! * `!critique-fails:N`: the critique of plan task N fails its first round.
//!
//! When the developer runs the plan task by task, a maker reports on its
//! task against the task's criteria, and a critique answers with a verdict.

use std::fmt::Write;

use serde_json::{Value, json};

use super::compose::{Topic, capitalise, criteria, test_name};
use crate::formats;
use crate::provider::{Brief, TaskBrief};

/// Whether the request carries `marker` (such as `!invalid:plan`).
fn marked(brief: &Brief, marker: &str) -> bool {
    brief.request.split_whitespace().any(|w| w == marker)
}

/// The `N` of a `!qa-fails:N` marker.
fn qa_fails(brief: &Brief) -> u32 {
    brief
        .request
        .split_whitespace()
        .find_map(|w| w.strip_prefix("!qa-fails:")?.parse().ok())
        .unwrap_or(0)
}

/// A prose answer with no JSON in it, for `!garbage:<phase>`.
pub(super) fn garbage(brief: &Brief) -> Option<String> {
    marked(brief, &format!("!garbage:{}", brief.phase.id)).then(|| {
        format!(
            "I looked at everything carefully and, on the whole, the {} seems fine to me. \
             Let me know if you want more detail.\n",
            brief.phase.artifact
        )
    })
}

fn fenced(intro: &str, value: &Value) -> String {
    let body = serde_json::to_string_pretty(value).unwrap_or_default();
    format!("{intro}\n\n```json\n{body}\n```\n")
}

pub(super) fn plan(t: &Topic, brief: &Brief) -> String {
    let criteria = criteria(brief);
    let ids: Vec<String> = criteria
        .iter()
        .map(|(id, text)| format!("{id}: {text}"))
        .collect();
    let pkg = t.package();
    let path = format!("/api/v1/{}", t.resource);
    let half = ids.len().div_ceil(2);
    let (first, second) = ids.split_at(half.min(ids.len()));
    let or_default = |items: &[String], fallback: String| {
        if items.is_empty() {
            vec![fallback]
        } else {
            items.to_vec()
        }
    };
    // Two chains: model → service → handler, and metrics after the model.
    let makers = [
        (
            1,
            format!("Implement the {pkg} data model and migration"),
            vec![],
            vec![
                format!("internal/{pkg}/model.go"),
                format!("migrations/0042_{pkg}.sql"),
            ],
            vec!["The migration applies and rolls back cleanly".to_owned()],
        ),
        (
            3,
            format!("Implement the {} service", t.feature),
            vec![2],
            vec![format!("internal/{pkg}/service.go")],
            or_default(first, format!("{} works as requested", t.feature)),
        ),
        (
            5,
            format!("Implement the HTTP middleware for {path}"),
            vec![4],
            vec![
                format!("internal/{pkg}/handler.go"),
                "internal/routes/routes.go".into(),
            ],
            or_default(second, format!("{path} answers as documented")),
        ),
        (
            7,
            "Implement metrics and structured logs".to_owned(),
            vec![2],
            vec![format!("internal/{pkg}/metrics.go")],
            vec!["Every decision is counted and logged with a request id".to_owned()],
        ),
    ];
    let mut tasks = Vec::new();
    for (order, name, after, files, critical) in makers {
        tasks.extend(pair(t, order, &name, &after, &files, &critical));
    }
    if brief.attempt == 1 && marked(brief, &format!("!invalid:{}", brief.phase.id)) {
        // Readable JSON, wrong plan: a missing dependency and no critique.
        tasks.truncate(tasks.len() - 1);
        tasks[2]["dependencies"] = json!([9]);
    }
    let plan = json!({
        "status": "planned",
        "category": "backend",
        "architecture": {
            "summary": format!(
                "{} as middleware in front of the {path} handlers, backed by a small {pkg} service \
                 whose state lives in Redis so every instance agrees.",
                capitalise(&t.feature)
            ),
            "endpoints": [
                {"method": "GET", "path": path, "purpose": format!("List {}", t.resource), "auth": "required"},
                {"method": "POST", "path": path, "purpose": format!("Create one of {}", t.resource), "auth": "required"},
            ],
            "data_models": [
                {"name": format!("{}Setting", capitalise(&pkg)), "purpose": format!("Configuration of {}", t.feature),
                 "table": format!("{pkg}_settings"), "key_fields": ["id", "scope", "updated_at"]},
            ],
            "services": [format!("{}Service - {}", capitalise(&pkg), t.feature)],
            "external_integrations": ["Redis"],
        },
        "tasks": tasks,
    });
    fenced(
        &format!("Plan for “{}”: two chains of maker→checker tasks.", t.title),
        &plan,
    )
}

/// A maker task and the critique after it, as the seed's rules want them:
/// files named, a security requirement where it touches something
/// sensitive (rule 4), the critique handed the maker's criteria, all three
/// levels (rule 8), and told what the maker was to do (rule 7).
fn pair(
    t: &Topic,
    order: u32,
    name: &str,
    after: &[u32],
    files: &[String],
    critical: &[String],
) -> [Value; 2] {
    let description = format!("{name}, following the conventions already in the repository.");
    let mut expected = vec![
        "Errors are wrapped with context".to_owned(),
        "Unit tests cover the new code".to_owned(),
    ];
    let mut maker = json!({
        "task_name": name,
        "description": description,
        "skill_id": "backend-implement",
        "task_order": order,
        "dependencies": after,
        "inputs": {
            "requirements": t.request,
            "files_to_create": files,
            "patterns_to_follow": "the existing handlers and their tests",
        },
        "timeout_seconds": 3600,
    });
    // Rule 4: work on auth, payments or personal data says how it is kept safe.
    if let Ok(task) = serde_json::from_value::<formats::plan::Task>(maker.clone())
        && let Some((what, _)) = formats::plan::sensitive(&task)
    {
        expected.push(format!(
            "Security: {what} is authorised on every path and never logged"
        ));
    }
    // Rule 8: the critique is handed the maker's criteria, all three levels.
    let criteria = json!({
        "critical": critical,
        "expected": expected,
        "nice_to_have": ["Doc comments on exported names"],
    });
    maker["validation_criteria"] = criteria.clone();
    let critique = json!({
        "task_name": format!("Critique: {name}"),
        "description": format!("Check task {order} against its criteria and say what to fix."),
        "skill_id": "backend-critique",
        "task_order": order + 1,
        "dependencies": [order],
        "inputs": {
            "original_prompt": t.request,
            "preceding_task": {
                "task_order": order,
                "skill_id": "backend-implement",
                "task_name": name,
                "description": description,
            },
            "validation_criteria": criteria,
        },
        "validation_criteria": {"critical": ["Returns a verdict with actionable feedback"]},
        "timeout_seconds": 1800,
    });
    [maker, critique]
}

pub(super) fn verdict(brief: &Brief) -> String {
    let mut criteria = criteria(brief);
    if criteria.is_empty() {
        // The discovery preset's QA reads the criteria the service covers.
        criteria = super::compose::criteria_in(brief, "service-implementation");
    }
    let report = brief
        .inputs
        .iter()
        .find(|i| i.name == "test-report")
        .map_or("", |i| i.content.as_str());
    // Without a test report handed over, QA ran its own tests.
    let mut issues: Vec<Value> = criteria
        .iter()
        .filter(|_| !report.is_empty())
        .filter(|(id, text)| !report.contains(&test_name(id, text)))
        .map(|(id, text)| {
            json!({"severity": "high", "title": format!("{id} is untested"),
                   "detail": format!("No test covers “{text}”."), "criterion": id})
        })
        .collect();
    if brief.attempt <= qa_fails(brief) {
        let (id, text) = criteria
            .first()
            .cloned()
            .unwrap_or_else(|| ("AC-1".into(), "the main behaviour".into()));
        issues.push(json!({
            "severity": "critical",
            "title": format!("{id} fails end to end"),
            "detail": format!("Calling the endpoint as a client would does not show “{text}”; the handler skips the new check."),
            "criterion": id,
        }));
    }
    let verdict = if issues.is_empty() { "pass" } else { "fail" };
    let mut intro = if report.is_empty() {
        format!(
            "QA wrote and ran test cases for {} acceptance criteria:\n",
            criteria.len()
        )
    } else {
        format!(
            "QA checked {} acceptance criteria against the test report:\n",
            criteria.len()
        )
    };
    for (id, text) in &criteria {
        let name = test_name(id, text);
        let evidence = if report.is_empty() || report.contains(&name) {
            format!("met, `{name}` passes")
        } else {
            "not covered by any test".to_owned()
        };
        let _ = writeln!(intro, "- {id}: {evidence}");
    }
    if verdict == "fail" {
        let _ = write!(intro, " {} issue(s) block the release.", issues.len());
    }
    fenced(&intro, &json!({"verdict": verdict, "issues": issues}))
}

/// A maker's report on its task, or a critique's verdict on one.
pub(super) fn task(t: &Topic, brief: &Brief, task: &TaskBrief) -> String {
    if let Some(maker) = task.critique_of {
        if marked(brief, &format!("!critique-garbage:{maker}")) {
            return format!("Task {maker} looks fine to me on the whole.\n");
        }
        let fails = brief
            .request
            .split_whitespace()
            .any(|w| w == format!("!critique-fails:{maker}"))
            && task
                .work
                .as_deref()
                .is_some_and(|w| !w.contains("Revised after review"));
        let issues: Vec<Value> = if fails {
            let criterion = task
                .criteria
                .critical
                .first()
                .cloned()
                .unwrap_or_else(|| task.name.clone());
            vec![json!({
                "severity": "critical",
                "title": format!("Task {maker} does not show “{criterion}”"),
                "detail": "The report claims it but names no test or file that demonstrates it.",
                "criterion": criterion,
            })]
        } else {
            Vec::new()
        };
        let verdict = if issues.is_empty() { "pass" } else { "fail" };
        return fenced(
            &format!(
                "Checked task {maker} against {} critical criteria.",
                task.criteria.critical.len()
            ),
            &json!({"verdict": verdict, "issues": issues}),
        );
    }
    let mut summary = if task.description.trim().is_empty() {
        format!("Done for {}.", t.title)
    } else {
        task.description.trim().to_owned()
    };
    if let Some(feedback) = &task.feedback {
        let first = feedback
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        let _ = write!(
            summary,
            " Revised after review (round {}): {}",
            task.round,
            first.trim().trim_start_matches("- ")
        );
    }
    let criteria: Vec<Value> = task
        .criteria
        .critical
        .iter()
        .map(|c| json!({"criterion": c, "met": true, "how": format!("covered by `{}`", test_for(c))}))
        .collect();
    let report = fenced(
        &format!("Task {} of the plan: {}.", task.order, task.name.trim()),
        &json!({
            "status": "done",
            "summary": summary,
            "files": task.files,
            "criteria": criteria,
            "blockers": [],
        }),
    );
    report + &super::compose::acknowledgements(brief)
}

/// A test name for a criterion, for the offline reports.
fn test_for(criterion: &str) -> String {
    let words: String = criterion
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(4)
        .map(capitalise)
        .collect();
    format!("Test{words}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::{SkillsFile, load_pipeline};
    use crate::provider::Input;

    fn brief(phase: &str, request: &str, attempt: u32) -> Brief {
        let pipeline = load_pipeline(&SkillsFile::builtin(), None).expect("builtin");
        let requirements =
            super::super::compose::compose(&Brief::new(request, pipeline.phases[0].clone()));
        Brief {
            attempt,
            inputs: vec![Input {
                phase: "summarize".into(),
                role: "Business Analyst".into(),
                name: "requirements".into(),
                content: requirements,
            }],
            ..Brief::new(request, pipeline.phase(phase).expect("phase").clone())
        }
    }

    #[test]
    fn the_plan_is_valid_unless_asked_to_be_wrong() {
        let request = "Add rate limiting to the orders API";
        let t = Topic::of(request);
        let read = formats::plan::read(&plan(&t, &brief("plan", request, 1))).expect("valid");
        assert_eq!(read.tasks.len(), 8);
        assert_eq!(read.critique_of(3).map(|c| c.task_order), Some(4));
        let marked = "Add rate limiting to the orders API !invalid:plan";
        let errors = formats::plan::read(&plan(&Topic::of(marked), &brief("plan", marked, 1)))
            .expect_err("invalid");
        assert!(
            errors.iter().any(|e| e.contains("depends on task 9")),
            "{errors:?}"
        );
        assert!(formats::plan::read(&plan(&Topic::of(marked), &brief("plan", marked, 2))).is_ok());
    }

    #[test]
    fn qa_fails_as_many_rounds_as_asked() {
        let request = "Add rate limiting to the orders API !qa-fails:1";
        let first = formats::verdict::read(&verdict(&brief("validate", request, 1))).expect("read");
        assert!(!first.passed());
        assert!(
            first
                .issues
                .iter()
                .any(|i| i.severity == formats::verdict::Severity::Critical)
        );
        assert!(garbage(&brief("validate", request, 1)).is_none());
        let garbled = brief("validate", "Add X !garbage:validate", 3);
        assert!(formats::verdict::read(&garbage(&garbled).expect("garbage")).is_err());
    }
}
