//! The offline provider's writing for the `discovery` preset: the named
//! outputs of its sectioned phases (the feature brief and work-unit
//! registry, the discovery brief, the definition's roadmap, stories,
//! requirements and backlog, the architecture's context map, contracts and
//! decision log, QA's test cases and report), and the one-output artifacts
//! (the tech spec, the service implementation, the deployment guide). Like
//! the backend ones they are built from the request and what the role was
//! handed, so an edit upstream shows downstream (the spec, the service and
//! QA list the acceptance criteria they were given). A request with
//! `!missing:<output>` leaves that section out, to show a gate naming it.

use std::fmt::Write;

use super::compose::{Topic, capitalise, criteria, criteria_in};
use crate::provider::Brief;

/// The artifact for `name`, if it is one of the preset's one-output ones,
/// after the line saying what it read.
pub(super) fn compose(name: &str, t: &Topic, brief: &Brief) -> Option<String> {
    let body = match name {
        "tech-spec" => tech_spec(t, brief),
        "service-implementation" => service(t, brief),
        "deployment-guide" => deployment(t),
        _ => return None,
    };
    Some(read_line(brief) + &body)
}

/// A line above the answer naming each output the role was handed,
/// `phase:output`, so a reader (and the tests) can see the matrix at work.
fn read_line(brief: &Brief) -> String {
    if brief.inputs.is_empty() {
        return "> Read: the request alone.\n\n".to_owned();
    }
    let read: Vec<String> = brief
        .inputs
        .iter()
        .map(|i| format!("`{}:{}`", i.phase, i.name))
        .collect();
    format!("> Read: {}.\n\n", read.join(", "))
}

/// The answer of a phase with named outputs: each under its heading, in
/// the declared order (one the preset does not know gets a line of its
/// own), less any the request marks `!missing:`.
pub(super) fn sections(t: &Topic, brief: &Brief) -> String {
    let mut out = read_line(brief);
    for name in &brief.phase.outputs {
        let marker = format!("!missing:{name}");
        if brief.request.split_whitespace().any(|w| w == marker) {
            continue;
        }
        let body = section(name, t, brief).unwrap_or_else(|| {
            format!(
                "The {} of {} for {}.\n",
                name.replace('-', " "),
                t.feature,
                t.title
            )
        });
        let _ = write!(out, "## {name}\n{}\n", body.trim_end());
    }
    out
}

/// One named output's text.
fn section(name: &str, t: &Topic, brief: &Brief) -> Option<String> {
    let path = format!("/api/v1/{}", t.resource);
    Some(match name {
        "feature-brief" => feature_brief(t, &path),
        "work-unit-registry" if brief.phase.id == "discovery" => format!(
            "- WU-1: kept: {feature} for a single client, behind a flag.\n- WU-2: kept: limits and \
             defaults configurable without a deploy.\n- WU-3: split into metrics (WU-3a) and a \
             runbook (WU-3b), which ship apart.\n",
            feature = t.feature
        ),
        "work-unit-registry" => format!(
            "- WU-1: {feature} for a single client, behind a flag.\n- WU-2: limits and defaults \
             configurable without a deploy.\n- WU-3: metrics and an operator runbook.\n",
            feature = t.feature
        ),
        "discovery-brief" => discovery_brief(t, &path),
        "roadmap" => format!(
            "1. WU-1 first: {} for one client proves the idea.\n2. WU-2: settings without a deploy.\n\
             3. WU-3a and WU-3b: metrics, then the runbook.\n",
            t.feature
        ),
        "user-stories" => format!(
            "- As a client of `{path}`, I want {}, so that I stop working around it by hand.\n\
             - As an operator, I want to change its limits without a deploy, so that I can react \
             to load.\n",
            t.feature
        ),
        "requirements" => format!(
            "1. `{path}` offers {feature} per client.\n2. Settings change without a deploy.\n\n\
             Acceptance criteria:\n- [ ] AC-1: A client with {feature} on sees it on `{path}`\n\
             - [ ] AC-2: A client with it off sees no change\n- [ ] AC-3: A settings change applies \
             within a minute\n",
            feature = t.feature
        ),
        "backlog" => "- Per-user settings (after per-client ones prove out).\n- A self-service \
                      settings page.\n"
            .to_owned(),
        "context-map" | "api-contracts" | "decision-log" => architecture(name, t),
        "test-cases" => test_cases(brief),
        "test-report" => super::structured::verdict(brief),
        _ => return None,
    })
}

fn test_cases(brief: &Brief) -> String {
    let given = criteria_in(brief, "service-implementation");
    if given.is_empty() {
        return "- (no acceptance criteria were handed over)\n".to_owned();
    }
    given.iter().fold(String::new(), |mut out, (id, text)| {
        let _ = writeln!(
            out,
            "- {id}: call the endpoint as a client would and check “{text}”"
        );
        out
    })
}

fn feature_brief(t: &Topic, path: &str) -> String {
    format!(
        "{Feature} for the clients of `{path}`. It serves the teams who call `{path}` every day; \
         around it the service already has authentication, pagination and per-client settings.\n\n\
         ### Fit\nIt extends `{path}` rather than adding a new product area, displaces nothing, \
         and adds state the service must keep and operate. Verdict: **fits, with changes** (the \
         settings need an owner).\n",
        Feature = capitalise(&t.feature),
    )
}

fn discovery_brief(t: &Topic, path: &str) -> String {
    format!(
        "### Problem and people\nClients of `{path}` ask for {feature}. Today they work around its \
         absence by hand, several times a week, and support answers the same questions about it.\n\n\
         ### Answers\n- How do they cope today? By hand, and by asking support.\n- What would \
         change? The workaround goes, and so do the tickets.\n- Who decides? The client's admin, \
         per client.\n\n### Open questions\n- Which clients need it first?\n- What does success \
         look like after a month?\n",
        feature = t.feature,
    )
}

fn architecture(name: &str, t: &Topic) -> String {
    match name {
        "context-map" => format!(
            "- **{Pkg} context** owns {feature} and its settings.\n- **Orders context** calls it \
             through an interface; it never reads its tables.\n- **Identity** supplies the client \
             id on every request.\n",
            Pkg = capitalise(&t.package()),
            feature = t.feature,
        ),
        "api-contracts" => format!(
            "| Method | Path | Success | Errors |\n|---|---|---|---|\n| GET | `/api/v1/{res}` | 200 | \
             400, 401 |\n| PUT | `/api/v1/{res}/settings` | 204 | 400, 401, 403 |\n",
            res = t.resource,
        ),
        _ => "- **State in Postgres, hot path cached in Redis** — chosen over Redis only \
              (durability) and Postgres only (latency).\n- **Go service inside the existing \
              binary** — chosen over a new deployable (one release train).\n"
            .to_owned(),
    }
}

fn tech_spec(t: &Topic, brief: &Brief) -> String {
    let pkg = t.package();
    let mut out = format!(
        "# Tech spec: {}\n\n## Overview\nPackage `internal/{pkg}` implements {} behind the interface the \
         architecture names; handlers stay thin.\n\n## Components\n- `internal/{pkg}/store.go` — \
         Postgres access, one query per use case, context deadlines.\n- `internal/{pkg}/service.go` — \
         the rules; returns typed errors.\n- `internal/{pkg}/handler.go` — HTTP mapping of those errors \
         to 400/401/403.\n\n## Migrations and configuration\n- `migrations/0043_{pkg}.sql`, reversible.\n\
         - `{}_ENABLED` and limits read at start-up and on SIGHUP.\n\n## Test strategy\n",
        t.title,
        t.feature,
        pkg.to_uppercase()
    );
    let given = criteria(brief);
    if given.is_empty() {
        out.push_str("- Table-driven unit tests for the service; one HTTP test per endpoint.\n");
    }
    for (id, text) in &given {
        let _ = writeln!(
            out,
            "- {id}: {text} — a table-driven test in `service_test.go`"
        );
    }
    if !given.is_empty() {
        out.push_str("\n## Acceptance criteria\n");
        for (id, text) in &given {
            let _ = writeln!(out, "- [ ] {id}: {text}");
        }
    }
    out
}

fn service(t: &Topic, brief: &Brief) -> String {
    let pkg = t.package();
    let mut out = format!(
        "# Service implementation: {}\n\n## Summary\n`internal/{pkg}` is in place: store, service and \
         handler, wired into the router behind `{}_ENABLED`.\n\n## Changes\n\
         - `internal/{pkg}/store.go`, `service.go`, `handler.go` — created\n\
         - `internal/routes/routes.go` — mounts the handler\n- `migrations/0043_{pkg}.sql` — created\n\n\
         ## Criteria covered\n",
        t.title,
        pkg.to_uppercase()
    );
    let mut given = criteria_in(brief, "tech-spec");
    if given.is_empty() {
        given = criteria(brief);
    }
    if given.is_empty() {
        out.push_str("- (no acceptance criteria were handed over)\n");
    }
    for (id, text) in given {
        let _ = writeln!(out, "- [x] {id}: {text}");
    }
    out.push_str(
        "\n## How to run\n`go test ./internal/...` then `go run ./cmd/server` with the flag on.\n",
    );
    out
}

fn deployment(t: &Topic) -> String {
    let pkg = t.package();
    format!(
        "# Deployment guide: {title}\n\n## Deployment\n1. Apply `migrations/0043_{pkg}.sql`.\n\
         2. Deploy with `{flag}_ENABLED=false`; turn it on for 5% of clients, then all.\n\
         3. Roll back by turning the flag off; the migration is backwards compatible.\n\n## Monitoring\n\
         - Rate, errors and p95 duration of `/api/v1/{res}`.\n- Alert: error rate above 1% for 5 minutes.\n\n\
         ## Runbook\n- **Error rate alert**: check the last deploy, turn the flag off, then look at the \
         service logs by request id.\n",
        title = t.title,
        flag = pkg.to_uppercase(),
        res = t.resource,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::{SkillsFile, load_pipeline};
    use crate::provider::Input;

    #[test]
    fn the_spec_and_the_service_carry_the_criteria_they_were_handed() {
        let pipeline = load_pipeline(&SkillsFile::builtin(), Some("discovery")).expect("preset");
        let t = Topic::of("Saved searches for the orders API");
        for phase in ["tech-spec", "implementation"] {
            let brief = Brief {
                inputs: vec![Input {
                    phase: "definition".into(),
                    role: "Product Analyst".into(),
                    name: "requirements".into(),
                    content: "- [ ] AC-9: Searches are private to their owner\n".into(),
                }],
                ..Brief::new(
                    t.request.clone(),
                    pipeline.phase(phase).expect("phase").clone(),
                )
            };
            let text = compose(&brief.phase.artifact, &t, &brief).expect("a preset artifact");
            assert!(
                text.contains("AC-9: Searches are private to their owner"),
                "{text}"
            );
        }
        assert!(
            compose(
                "something-else",
                &t,
                &Brief::new("r", pipeline.phases[0].clone())
            )
            .is_none()
        );
    }
}
