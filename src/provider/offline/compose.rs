//! The offline provider's writing: role-appropriate Markdown from a [`Brief`].
//!
//! Each artifact is built from the request and from what the role was handed:
//! the plan lists the acceptance criteria it finds in the requirements, the
//! implementation ticks off the plan's tasks, the tests cover the criteria,
//! QA checks them against the test report, and delivery quotes the tasks in
//! its commit message. Change an upstream artifact and the downstream ones
//! change with it. A retry answers the reviewer's feedback; approval notes are
//! acknowledged. Everything is a pure function of the brief.

use std::fmt::Write;

use crate::formats::OutputKind;
use crate::provider::{Brief, Input};

/// Words that say nothing about what is being built.
const FILLER: &[&str] = &[
    "a",
    "an",
    "the",
    "to",
    "for",
    "of",
    "in",
    "on",
    "and",
    "or",
    "with",
    "add",
    "build",
    "create",
    "implement",
    "make",
    "new",
    "our",
    "we",
    "need",
    "that",
    "this",
    "should",
    "api",
    "apis",
    "endpoint",
    "endpoints",
    "service",
    "backend",
    "support",
    "into",
    "from",
    "by",
    "i",
    "it",
];

/// What the request is about, in the forms the templates need.
pub(super) struct Topic {
    pub(super) request: String,
    pub(super) title: String,
    pub(super) feature: String,
    pub(super) resource: String,
    pub(super) slug: String,
}

impl Topic {
    pub(super) fn of(request: &str) -> Self {
        let request: String = request
            .split_whitespace()
            .filter(|w| !w.starts_with('!'))
            .collect::<Vec<_>>()
            .join(" ");
        let words: Vec<String> = request
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .filter(|w| !FILLER.contains(&w.as_str()))
            .collect();
        let resource = words.last().cloned().unwrap_or_else(|| "items".into());
        let feature_words: Vec<&str> = words
            .iter()
            .take(words.len().saturating_sub(1).max(1))
            .take(3)
            .map(String::as_str)
            .collect();
        let feature = if feature_words.is_empty() {
            "the feature".to_owned()
        } else {
            feature_words.join(" ")
        };
        let slug = words.iter().take(4).cloned().collect::<Vec<_>>().join("-");
        let mut title = request.trim_end_matches('.').to_owned();
        if let Some(first) = title.get(..1) {
            title = first.to_uppercase() + &title[1..];
        }
        Self {
            request,
            title,
            feature,
            resource,
            slug: if slug.is_empty() {
                "feature".into()
            } else {
                slug
            },
        }
    }

    fn mentions(&self, words: &[&str]) -> bool {
        let lower = self.request.to_lowercase();
        words.iter().any(|w| lower.contains(w))
    }

    fn path(&self) -> String {
        format!("/api/v1/{}", self.resource)
    }

    pub(super) fn package(&self) -> String {
        self.resource
            .replace(|c: char| !c.is_ascii_alphanumeric(), "")
    }
}

/// Writes the artifact for the brief's phase.
pub fn compose(brief: &Brief) -> String {
    let topic = Topic::of(&brief.request);
    let mut out = String::new();
    if let Some(feedback) = &brief.feedback {
        let _ = writeln!(
            out,
            "> Attempt {} — revised after review. Feedback addressed: “{}”\n",
            brief.attempt,
            one_line(feedback)
        );
    }
    if let Some(task) = &brief.task {
        return super::structured::task(&topic, brief, task);
    }
    if let Some(garbage) = super::structured::garbage(brief) {
        return garbage;
    }
    // A phase with named outputs writes its sections (a verdict's JSON
    // inside one of them).
    if !brief.phase.sectioned() {
        match brief.phase.output {
            OutputKind::Plan => return super::structured::plan(&topic, brief),
            OutputKind::Verdict => return super::structured::verdict(brief),
            OutputKind::Markdown => {}
        }
    }
    let body = match brief.phase.artifact.as_str() {
        _ if brief.phase.sectioned() => super::discovery::sections(&topic, brief),
        "requirements" => requirements(&topic),
        "plan" => plan(&topic, brief),
        "implementation" => implementation(&topic, brief),
        "test-report" => test_report(&topic, brief),
        "verdict" => verdict(&topic, brief),
        "delivery" => delivery(&topic, brief),
        other => super::discovery::compose(other, &topic, brief)
            .or_else(|| super::collab::compose(other, &topic, brief))
            .unwrap_or_else(|| generic(&topic, brief)),
    };
    out.push_str(&body);
    if let Some(feedback) = &brief.feedback {
        out.push_str("\n## Review feedback\n");
        for line in feedback.lines().filter(|l| !l.trim().is_empty()) {
            let _ = writeln!(out, "- Addressed: {}", line.trim());
        }
    }
    out.push_str(&acknowledgements(brief));
    out
}

/// What the answer says of the specialists' guidance and the approvers'
/// notes it was given.
pub(super) fn acknowledgements(brief: &Brief) -> String {
    let mut out = String::new();
    let pasted: Vec<_> = brief
        .specialists
        .iter()
        .filter(|(s, _)| !s.consults())
        .collect();
    if !pasted.is_empty() {
        out.push_str("\n## Specialist guidance applied\n");
        for (s, keyword) in pasted {
            let first = s.guidance.split(". ").next().unwrap_or_default();
            let _ = writeln!(
                out,
                "- {} (engaged by “{keyword}”): {}",
                s.name,
                one_line(first).trim_end_matches('.')
            );
        }
    }
    let advice: Vec<_> = brief.advice.iter().filter(|a| a.given()).collect();
    if !advice.is_empty() {
        out.push_str("\n## Specialist advice applied\n");
        for a in advice {
            let first = a
                .text
                .lines()
                .map(|l| l.trim().trim_start_matches(['-', '*', '+']).trim())
                .find(|l| !l.is_empty())
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "- {} ({}, asked because of “{}”): {}",
                a.specialist,
                a.summary(),
                a.keyword,
                one_line(first)
            );
        }
    }
    out.push_str(&super::utility::acknowledged(brief));
    if !brief.notes.is_empty() {
        out.push_str("\n## Notes from earlier checkpoints\n");
        for note in &brief.notes {
            let _ = writeln!(out, "- Taken into account: {}", one_line(note));
        }
    }
    out
}

pub(super) fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn input<'a>(brief: &'a Brief, name: &str) -> Option<&'a Input> {
    brief.inputs.iter().find(|i| i.name == name)
}

/// `(id, text)` of every `- [ ] AC-n: text` line in the requirements.
pub(super) fn criteria(brief: &Brief) -> Vec<(String, String)> {
    criteria_in(brief, "requirements")
}

/// `(id, text)` of every `- [ ] AC-n: text` line in the input `name`.
pub(super) fn criteria_in(brief: &Brief, name: &str) -> Vec<(String, String)> {
    let Some(requirements) = input(brief, name) else {
        return Vec::new();
    };
    requirements
        .content
        .lines()
        .filter_map(|line| {
            let rest = line
                .trim_start()
                .strip_prefix("- [ ] ")
                .or_else(|| line.trim_start().strip_prefix("- [x] "))?;
            let (id, text) = rest.split_once(':')?;
            Some((id.trim().to_owned(), text.trim().to_owned()))
        })
        .collect()
}

/// The titles of every `### Task n: title` heading in the plan.
fn tasks(brief: &Brief) -> Vec<String> {
    let Some(plan) = input(brief, "plan") else {
        return Vec::new();
    };
    plan.content
        .lines()
        .filter_map(|line| line.strip_prefix("### "))
        .filter(|h| h.starts_with("Task"))
        .map(str::to_owned)
        .collect()
}

fn requirements(t: &Topic) -> String {
    let mut criteria = vec![
        format!(
            "Existing clients of `{}` keep working unchanged when within normal use",
            t.path()
        ),
        format!(
            "{} behaves as specified for every documented case",
            capitalise(&t.feature)
        ),
        "Invalid input is rejected with `400` and a JSON error body naming the field".to_owned(),
        "Unauthenticated calls get `401` and change nothing".to_owned(),
    ];
    if t.mentions(&["rate limit", "throttl", "quota"]) {
        criteria.push("A client over its limit gets `429` with a `Retry-After` header".into());
    }
    if t.mentions(&["auth", "login", "sso", "token"]) {
        criteria.push("Expired or revoked credentials are refused within one minute".into());
    }
    if t.mentions(&["cache"]) {
        criteria.push("Stale entries are never served after an update is acknowledged".into());
    }
    if t.mentions(&["export", "csv", "report"]) {
        criteria.push("Large exports stream without loading everything into memory".into());
    }
    criteria.push(format!(
        "Every {} decision is logged with a request id",
        t.feature
    ));
    let mut out = format!(
        "# Requirements: {}\n\n## Summary\n{}. This serves the clients of `{}` and the \
         operators who run it; the aim is {} without surprising anyone who uses the API today.\n\n",
        t.title,
        t.title,
        t.path(),
        t.feature
    );
    let _ = write!(
        out,
        "## Scope\n**In:** {} for `{}`, its configuration, and its observability.\n\
         **Out:** user interface changes and unrelated endpoints.\n\
         **Assumptions:** requests are authenticated upstream; one region.\n\n",
        t.feature,
        t.path()
    );
    out.push_str("## Functional requirements\n");
    let _ = writeln!(
        out,
        "1. FR-1: The service applies {} to `{}`.",
        t.feature,
        t.path()
    );
    out.push_str("2. FR-2: Its behaviour is configurable without a deploy.\n");
    out.push_str("3. FR-3: Failures are reported with consistent, documented errors.\n\n");
    out.push_str("## Acceptance criteria\n");
    for (i, c) in criteria.iter().enumerate() {
        let _ = writeln!(out, "- [ ] AC-{}: {c}", i + 1);
    }
    let _ = write!(
        out,
        "\n## Success metrics\n- Error rate of `{}` unchanged (±0.1%) after release\n\
         - p95 latency grows by at most 10 ms\n- Zero support tickets about {} in the first week\n\n\
         ## Open questions\n- Which clients, if any, are exempt?\n- What limits or defaults should production start with?\n",
        t.path(),
        t.feature
    );
    out
}

fn plan(t: &Topic, brief: &Brief) -> String {
    let criteria = criteria(brief);
    let ids: Vec<&str> = criteria.iter().map(|(id, _)| id.as_str()).collect();
    let pkg = t.package();
    let mut out = format!(
        "# Plan: {}\n\n## Architecture\nAdd {} as a middleware in front of the `{}` handlers, backed by a \
         small `{pkg}` service with its state in Redis so every instance agrees. Rejected: per-instance \
         memory (wrong under load balancing) and a gateway plugin (harder to test).\n\n",
        t.title,
        t.feature,
        t.path()
    );
    let _ = write!(
        out,
        "## API contract\n| Method | Path | Success | Errors |\n|---|---|---|---|\n\
         | GET | `{p}` | 200 list | 400, 401 |\n| POST | `{p}` | 201 created | 400, 401, 409 |\n\n",
        p = t.path()
    );
    let _ = write!(
        out,
        "## Data model\n- `{pkg}_settings` (id, scope, value, updated_at) — migration `0042_{pkg}_settings`\n\n## Tasks\n"
    );
    let split = ids.len().div_ceil(2);
    let (first, second) = ids.split_at(split.min(ids.len()));
    let task_list = [
        (
            format!("Data model and migration for {pkg}"),
            vec![
                format!("internal/{pkg}/model.go"),
                format!("migrations/0042_{pkg}_settings.sql"),
            ],
            Vec::new(),
        ),
        (
            format!("{} service", capitalise(&t.feature)),
            vec![format!("internal/{pkg}/service.go")],
            first.to_vec(),
        ),
        (
            format!("HTTP middleware and routes for {}", t.path()),
            vec![
                format!("internal/{pkg}/handler.go"),
                "internal/routes/routes.go".to_owned(),
            ],
            second.to_vec(),
        ),
        (
            "Metrics and structured logs".to_owned(),
            vec![format!("internal/{pkg}/metrics.go")],
            Vec::new(),
        ),
    ];
    for (i, (title, files, covers)) in task_list.iter().enumerate() {
        let _ = writeln!(out, "### Task {}: {title}", i + 1);
        let _ = writeln!(
            out,
            "- Files: {}",
            files
                .iter()
                .map(|f| format!("`{f}`"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        if !covers.is_empty() {
            let _ = writeln!(out, "- Satisfies: {}", covers.join(", "));
        }
        out.push('\n');
    }
    out.push_str("## Acceptance coverage\n");
    if criteria.is_empty() {
        out.push_str("- No acceptance criteria were handed over; the tasks follow the request.\n");
    }
    for (id, text) in &criteria {
        let _ = writeln!(out, "- {id} ({text}) — covered by the tasks above");
    }
    out.push_str("\n## Risks\n- Redis unavailable: fail open and alert.\n- Misconfiguration: validate settings at start-up.\n");
    out
}

fn implementation(t: &Topic, brief: &Brief) -> String {
    let tasks = tasks(brief);
    let pkg = t.package();
    let mut out = format!(
        "# Implementation: {}\n\n## Summary\n{} is in place for `{}`: a `{pkg}` package with its \
         model, service and middleware, wired into the router.\n\n## Changes\n",
        t.title,
        capitalise(&t.feature),
        t.path()
    );
    for file in ["model.go", "service.go", "handler.go", "metrics.go"] {
        let _ = writeln!(out, "- `internal/{pkg}/{file}` — created");
    }
    out.push_str("- `internal/routes/routes.go` — modified to mount the middleware\n\n## Tasks\n");
    if tasks.is_empty() {
        out.push_str("- [x] Built directly from the request (no plan tasks were handed over)\n");
    }
    for task in &tasks {
        let _ = writeln!(out, "- [x] {task}");
    }
    let _ = write!(
        out,
        "\n## Notes for testing\n- Exercise `{}` at the boundary: exactly at and just past each configured limit.\n\
         - Restart the service mid-test; behaviour must not reset.\n",
        t.path()
    );
    out
}

pub(super) fn test_name(id: &str, text: &str) -> String {
    let words: String = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(4)
        .map(capitalise)
        .collect();
    format!("Test{}_{words}", id.replace('-', ""))
}

fn test_report(t: &Topic, brief: &Brief) -> String {
    let criteria = criteria(brief);
    let pkg = t.package();
    let mut out = format!(
        "# Test report: {}\n\n## Test plan\n| Criterion | Test |\n|---|---|\n",
        t.title
    );
    for (id, text) in &criteria {
        let _ = writeln!(out, "| {id} | `{}` |", test_name(id, text));
    }
    let _ = write!(
        out,
        "\n## Tests written\n- `internal/{pkg}/service_test.go` — unit tests\n- `internal/{pkg}/handler_test.go` — HTTP integration tests\n\n## Results\n```\n"
    );
    for (id, text) in &criteria {
        let _ = writeln!(out, "--- PASS: {} (0.01s)", test_name(id, text));
    }
    let _ = write!(
        out,
        "ok   internal/{pkg}   0.{:02}s\n```\n{} passed, 0 failed.\n\n## Coverage gaps\n- Multi-region behaviour is not tested (out of scope).\n",
        criteria.len() * 3 + 4,
        criteria.len()
    );
    out
}

fn verdict(t: &Topic, brief: &Brief) -> String {
    let criteria = criteria(brief);
    let report = input(brief, "test-report").map_or("", |i| i.content.as_str());
    let unmet: Vec<&(String, String)> = criteria
        .iter()
        .filter(|(id, text)| !report.contains(&test_name(id, text)))
        .collect();
    let verdict = if unmet.is_empty() { "pass" } else { "fail" };
    let mut out = format!(
        "Verdict: {verdict}\n\n# QA verdict: {}\n\n## Scenarios checked\n\
         - A well-behaved client calls `{}` repeatedly — works as before\n\
         - A client sends malformed input — clear `400`\n- The service restarts mid-traffic — state is kept\n\n## Acceptance criteria\n",
        t.title,
        t.path()
    );
    for (id, text) in &criteria {
        let name = test_name(id, text);
        if report.contains(&name) {
            let _ = writeln!(out, "- {id}: met — `{name}` passes");
        } else {
            let _ = writeln!(out, "- {id}: NOT met — no test covers “{text}”");
        }
    }
    out.push_str("\n## Issues\n");
    if unmet.is_empty() {
        out.push_str("- None blocking.\n");
    }
    for (id, text) in unmet {
        let _ = writeln!(out, "- high — {id} untested: {text}");
    }
    out
}

fn delivery(t: &Topic, brief: &Brief) -> String {
    let tasks = tasks(brief);
    let implementation = input(brief, "implementation").map_or("", |i| i.content.as_str());
    let done: Vec<&str> = implementation
        .lines()
        .filter_map(|l| l.strip_prefix("- [x] "))
        .collect();
    let mut out = format!(
        "# Delivery: {}\n\n## Branch and commit\nBranch: `handoff/{}`\n\n```\nfeat({}): {}\n\n",
        t.title,
        t.slug,
        t.package(),
        t.feature
    );
    for item in if done.is_empty() {
        tasks.iter().map(String::as_str).collect()
    } else {
        done
    } {
        let _ = writeln!(out, "- {item}");
    }
    let _ = write!(
        out,
        "```\n\n## Release notes\n- `{}` now has {}. Clients within normal use see no change.\n\n\
         ## Deployment\n1. Apply the migration.\n2. Deploy with the feature flag off, then enable it for 5% of traffic.\n\
         3. Watch error rate and p95 latency for 30 minutes; roll back by turning the flag off.\n\n\
         ## Follow-ups\n- Tune defaults from a week of production data.\n",
        t.path(),
        t.feature
    );
    out
}

fn generic(t: &Topic, brief: &Brief) -> String {
    let mut out = format!(
        "# {}: {}\n\n## Request\n{}\n\n## Inputs read\n",
        capitalise(&brief.phase.artifact),
        t.title,
        t.request
    );
    if brief.inputs.is_empty() {
        out.push_str("- None\n");
    }
    for i in &brief.inputs {
        let heading = i
            .content
            .lines()
            .find(|l| l.starts_with('#'))
            .unwrap_or("(no heading)");
        let _ = writeln!(
            out,
            "- {} from {}: {}",
            i.name,
            i.role,
            heading.trim_start_matches('#').trim()
        );
    }
    let _ = write!(
        out,
        "\n## Work\nThe {} covered {} for `{}`.\n",
        brief.phase.role,
        t.feature,
        t.path()
    );
    out
}

pub(super) fn capitalise(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().collect::<String>() + chars.as_str())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::{SkillsFile, load_pipeline};

    fn brief(phase: usize, inputs: Vec<Input>) -> Brief {
        let pipeline = load_pipeline(&SkillsFile::builtin(), None).expect("builtin");
        Brief {
            inputs,
            ..Brief::new(
                "Add rate limiting to the orders API",
                pipeline.phases[phase].clone(),
            )
        }
    }

    fn requirements_input(content: String) -> Input {
        Input {
            phase: "summarize".into(),
            role: "Business Analyst".into(),
            name: "requirements".into(),
            content,
        }
    }

    #[test]
    fn topic_finds_feature_and_resource() {
        let t = Topic::of("Add rate limiting to the orders API !fail:plan");
        assert_eq!(t.feature, "rate limiting");
        assert_eq!(t.resource, "orders");
        assert_eq!(t.path(), "/api/v1/orders");
        assert_eq!(t.request, "Add rate limiting to the orders API");
    }

    #[test]
    fn requirements_fit_the_request() {
        let text = compose(&brief(0, Vec::new()));
        assert!(text.starts_with("# Requirements: Add rate limiting to the orders API"));
        assert!(
            text.contains("- [ ] AC-5: A client over its limit gets `429`"),
            "{text}"
        );
    }

    #[test]
    fn an_upstream_edit_changes_the_plan() {
        let original = compose(&brief(0, Vec::new()));
        let edited = original.replace(
            "AC-2: Rate limiting behaves",
            "AC-2: Bursts of 20 are allowed; rate limiting behaves",
        );
        let plan_a = compose(&brief(1, vec![requirements_input(original)]));
        let plan_b = compose(&brief(1, vec![requirements_input(edited)]));
        assert_ne!(plan_a, plan_b);
        assert!(
            plan_b.contains("AC-2: Bursts of 20 are allowed"),
            "{plan_b}"
        );
    }

    #[test]
    fn qa_fails_when_a_criterion_has_no_test() {
        let requirements = compose(&brief(0, Vec::new()));
        let report = compose(&brief(3, vec![requirements_input(requirements.clone())]));
        let with_report = |report: String| {
            vec![
                requirements_input(requirements.clone()),
                Input {
                    phase: "test".into(),
                    role: "Test Engineer".into(),
                    name: "test-report".into(),
                    content: report,
                },
            ]
        };
        let verdict = |report: String| {
            crate::formats::verdict::read(&compose(&brief(4, with_report(report))))
                .expect("verdict")
        };
        assert!(verdict(report.clone()).passed());
        let gutted = report.replace("TestAC1", "TestSomethingElse");
        let failed = verdict(gutted);
        assert!(!failed.passed());
        assert_eq!(failed.issues[0].criterion, "AC-1");
    }

    #[test]
    fn feedback_and_notes_are_answered() {
        let mut b = brief(0, Vec::new());
        b.attempt = 2;
        b.feedback = Some("Name the exempt clients".into());
        b.notes = vec!["Use Redis".into()];
        let text = compose(&b);
        assert!(text.starts_with(
            "> Attempt 2 — revised after review. Feedback addressed: “Name the exempt clients”"
        ));
        assert!(text.contains("- Taken into account: Use Redis"));
    }
}
