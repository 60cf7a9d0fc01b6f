//! Several named outputs per phase (issue 19, seed 000), through the real
//! binary and the offline provider: the discovery pipeline records every
//! named output of every phase, each role is handed exactly the outputs
//! the seed's Handoff Matrix gives it, a section left out stops at its
//! gate by name, and `check` places an input naming an output that phase
//! does not declare.

use crate::common;

use common::{Sandbox, events, of_kind, stderr, stdout};
use pretty_assertions::assert_eq;
use serde_json::Value;

const REQUEST: &str = "Explore an idea: saved searches for orders";

/// Each phase of the discovery pipeline and the named outputs it declares.
const OUTPUTS: [(&str, &[&str]); 8] = [
    ("fit", &["feature-brief", "work-unit-registry"]),
    ("discovery", &["discovery-brief", "work-unit-registry"]),
    (
        "definition",
        &["roadmap", "user-stories", "requirements", "backlog"],
    ),
    (
        "architecture",
        &["context-map", "api-contracts", "decision-log"],
    ),
    ("tech-spec", &["tech-spec"]),
    ("implementation", &["service-implementation"]),
    ("qa", &["test-cases", "test-report"]),
    ("release", &["deployment-guide"]),
];

/// The seed's Handoff Matrix between phases, as `phase:output` each
/// reader is handed (the seed's skills mapped to handoff's phases).
const READS: [(&str, &[&str]); 8] = [
    ("fit", &[]),
    ("discovery", &[]),
    (
        "definition",
        &[
            "fit:feature-brief",
            "fit:work-unit-registry",
            "discovery:discovery-brief",
            "discovery:work-unit-registry",
        ],
    ),
    (
        "architecture",
        &[
            "definition:roadmap",
            "definition:user-stories",
            "definition:requirements",
            "definition:backlog",
        ],
    ),
    (
        "tech-spec",
        &[
            "definition:roadmap",
            "definition:user-stories",
            "definition:requirements",
            "definition:backlog",
            "architecture:context-map",
            "architecture:api-contracts",
            "architecture:decision-log",
        ],
    ),
    ("implementation", &["tech-spec:tech-spec"]),
    ("qa", &["implementation:service-implementation"]),
    ("release", &["qa:test-cases", "qa:test-report"]),
];

fn run(request: &str, approve: &str) -> (Option<i32>, Vec<Value>, String) {
    let sandbox = Sandbox::new();
    let output = sandbox.run(&[
        "run",
        "--headless",
        "--approve",
        approve,
        "--pipeline",
        "discovery",
        request,
    ]);
    let out = format!("{}{}", stdout(&output), stderr(&output));
    (output.status.code(), events(&sandbox.log()), out)
}

fn last_artifact<'a>(events: &'a [Value], phase: &str) -> &'a Value {
    of_kind(events, "artifact")
        .into_iter()
        .rev()
        .find(|a| a["phase"] == phase)
        .expect("an artifact of the phase")
}

/// What the offline role says it was handed: the `phase:output`s of its
/// `> Read:` line.
fn handed(content: &str) -> Vec<String> {
    let line = content
        .lines()
        .find_map(|l| l.strip_prefix("> Read: "))
        .expect("a Read line");
    line.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_phase_records_its_named_outputs_and_reads_exactly_its_matrix_rows() {
    let (code, events, out) = run(&format!("{REQUEST} !qa-fails:1"), "all");
    assert_eq!(code, Some(0), "{out}");
    for (phase, names) in OUTPUTS {
        let artifact = last_artifact(&events, phase);
        let recorded: Vec<&str> = artifact["outputs"]
            .as_array()
            .map(|o| o.iter().filter_map(|s| s["name"].as_str()).collect())
            .unwrap_or_default();
        if names.len() == 1 {
            // One output: the artifact is it, as before.
            assert_eq!(artifact["name"], names[0]);
            assert!(recorded.is_empty(), "{phase}: {artifact}");
        } else {
            assert_eq!(recorded, names, "{phase}");
            for section in artifact["outputs"].as_array().expect("outputs") {
                assert!(
                    !section["content"].as_str().unwrap_or("").trim().is_empty(),
                    "{phase}: {section}"
                );
            }
        }
        assert!(artifact.get("missing").is_none(), "{phase}: {artifact}");
    }
    for (phase, reads) in READS {
        for artifact in of_kind(&events, "artifact")
            .into_iter()
            .filter(|a| a["phase"] == phase)
        {
            let content = artifact["content"].as_str().expect("content");
            assert_eq!(handed(content), reads, "{phase} was handed");
        }
    }
    // The return path: QA's failing verdict went back to the Go expert.
    let returned = of_kind(&events, "returned");
    assert_eq!(
        (returned[0]["from"].as_str(), returned[0]["to"].as_str()),
        (Some("qa"), Some("implementation"))
    );
    // The release role reads QA's sections under their own names.
    let release = last_artifact(&events, "release");
    assert_eq!(handed(release["content"].as_str().expect("text")).len(), 2);
}

#[test]
fn a_section_left_out_is_named_at_its_gate_and_handed_on_as_missing() {
    let (code, events_all, out_all) = run(&format!("{REQUEST} !missing:backlog"), "all");
    assert_eq!(code, Some(0), "{out_all}");
    let artifact = last_artifact(&events_all, "definition");
    assert_eq!(artifact["missing"], serde_json::json!(["backlog"]));
    assert!(
        out_all.contains(
            "artifact `definition` (17 lines): roadmap, user-stories, requirements · missing backlog"
        ),
        "{out_all}"
    );
    let gate = of_kind(&events_all, "gate_opened")
        .into_iter()
        .find(|g| g["phase"] == "definition")
        .expect("the definition's gate");
    assert_eq!(
        gate["question"],
        "Missing output: `backlog`. Edit it in, reject to ask again, or approve without it?"
    );
    // Approved without it, the architect is told so rather than given nothing.
    let architecture = last_artifact(&events_all, "architecture");
    assert!(
        handed(architecture["content"].as_str().expect("text"))
            .contains(&"definition:backlog".to_owned())
    );
}

#[test]
fn check_accepts_the_discovery_pipeline_and_places_a_wrong_named_input() {
    let sandbox = Sandbox::new();
    let output = sandbox.run(&["check", "--pipeline", "discovery"]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    let text = include_str!("../../skills.toml").replacen(
        "\"implementation:service-implementation\"",
        "\"implementation:service-code\"",
        1,
    );
    let line = text
        .lines()
        .position(|l| l.contains("implementation:service-code"))
        .expect("the changed line")
        + 1;
    let path = sandbox.dir.path().join("skills.toml");
    std::fs::write(&path, &text).expect("write");
    let output = sandbox.run(&["check", "--skills", path.to_str().expect("path")]);
    assert_eq!(output.status.code(), Some(2), "{}", stdout(&output));
    let expected = format!(
        "{}:{line}:11: phase `implementation` has no output `service-code` (its outputs: \
         service-implementation)",
        path.display()
    );
    assert!(
        stdout(&output).contains(&expected),
        "{expected}\nin\n{}",
        stdout(&output)
    );
}

#[test]
fn export_writes_each_named_output_as_a_file_of_its_own() {
    let sandbox = Sandbox::new();
    let output = sandbox.run(&[
        "run",
        "--headless",
        "--approve",
        "all",
        "--pipeline",
        "discovery",
        REQUEST,
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let dir = sandbox.dir.path().join("export");
    let exported = sandbox.run(&[
        "export",
        sandbox.log().to_str().expect("path"),
        "--out",
        dir.to_str().expect("path"),
    ]);
    assert_eq!(exported.status.code(), Some(0), "{}", stderr(&exported));
    let mut written: Vec<String> = std::fs::read_dir(dir.join("outputs"))
        .expect("an outputs folder")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    written.sort();
    // Every output of every phase that declares several, and no others.
    let mut expected: Vec<String> = OUTPUTS
        .iter()
        .enumerate()
        .filter(|(_, (_, names))| names.len() > 1)
        .flat_map(|(i, (phase, names))| {
            names
                .iter()
                .map(move |n| format!("{:02}-{phase}-{n}.md", i + 1))
        })
        .collect();
    expected.sort();
    assert_eq!(written, expected);
    let roadmap =
        std::fs::read_to_string(dir.join("outputs/03-definition-roadmap.md")).expect("the roadmap");
    assert!(!roadmap.trim().is_empty());
    assert!(
        !roadmap.contains("## backlog"),
        "one output, not the whole answer: {roadmap}"
    );

    // `show --artifact` prints one output too: by its name where one phase
    // writes it, as phase:output where two do.
    let log = sandbox.log();
    let log = log.to_str().expect("path");
    let shown = sandbox.run(&["show", log, "--artifact", "roadmap"]);
    assert_eq!(shown.status.code(), Some(0), "{}", stderr(&shown));
    assert_eq!(stdout(&shown), roadmap);
    let ambiguous = sandbox.run(&["show", log, "--artifact", "work-unit-registry"]);
    assert_eq!(ambiguous.status.code(), Some(2));
    assert!(
        stderr(&ambiguous)
            .contains("name one of fit:work-unit-registry, discovery:work-unit-registry"),
        "{}",
        stderr(&ambiguous)
    );
    let named = sandbox.run(&["show", log, "--artifact", "discovery:work-unit-registry"]);
    assert_eq!(named.status.code(), Some(0), "{}", stderr(&named));
    assert!(stdout(&named).contains("WU-"), "{}", stdout(&named));
}
