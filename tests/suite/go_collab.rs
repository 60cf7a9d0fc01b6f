//! Seed 002 (the Go collaboration expert): its own pipeline, `go-collab`,
//! producing the seed's outputs, in Chinese unless told otherwise; and the
//! language as a flag for any pipeline, said in the prompt as a sentence of
//! its own.

use crate::common;

use common::server::{TestServer, answer, role_of, well_behaved};
use common::{Sandbox, artifacts, events, stderr, stdout};

const REQUEST: &str = "Build a Go backend for order refunds";

/// The go-collab artifacts of a headless offline run.
fn run_go_collab(extra: &[&str]) -> Vec<(String, String)> {
    let sandbox = Sandbox::new();
    let mut args = vec!["run", "--headless", "--approve", "all"];
    args.extend_from_slice(extra);
    args.push(REQUEST);
    let output = sandbox.run(&args);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let events = events(&sandbox.log());
    assert_eq!(events[0]["pipeline"]["name"], "go-collab");
    [
        "clarify",
        "design",
        "contract",
        "breakdown",
        "build",
        "release",
    ]
    .iter()
    .map(|phase| {
        let all = artifacts(&events, phase);
        assert!(!all.is_empty(), "no {phase} artifact:\n{}", stdout(&output));
        ((*phase).to_owned(), all[all.len() - 1].to_owned())
    })
    .collect()
}

fn of<'a>(artifacts: &'a [(String, String)], phase: &str) -> &'a str {
    &artifacts.iter().find(|(p, _)| p == phase).expect("phase").1
}

#[test]
fn a_go_backend_request_runs_the_collaboration_pipeline_in_chinese() {
    let a = run_go_collab(&[]);
    // 1. Requirement clarification and assumptions.
    assert!(
        of(&a, "clarify").contains("# 需求澄清"),
        "{}",
        of(&a, "clarify")
    );
    assert!(of(&a, "clarify").contains("## 假设"));
    assert!(of(&a, "clarify").contains("- [ ] AC-1:"));
    // 2. Architecture and data-model decisions.
    assert!(of(&a, "design").contains("架构与数据模型决策"));
    assert!(of(&a, "design").contains("## 数据模型"));
    // 3. An API contract with success and failure examples.
    let contract = of(&a, "contract");
    assert!(
        contract.contains("成功示例") && contract.contains("失败示例"),
        "{contract}"
    );
    assert!(contract.contains("```json"));
    // 4. Tasks with priorities and owners; risks with owner, impact, date.
    let breakdown = of(&a, "breakdown");
    for heading in ["优先级", "负责人", "风险与阻塞", "影响", "决策日期"] {
        assert!(breakdown.contains(heading), "{heading} in {breakdown}");
    }
    // 5. A release checklist gated three ways, on the clarified criteria.
    let release = of(&a, "release");
    for gate in ["功能验收", "性能验收", "可观测性验收", "回滚条件"] {
        assert!(release.contains(gate), "{gate} in {release}");
    }
    assert!(release.contains("- [ ] AC-1:"), "{release}");
}

#[test]
fn the_language_flag_overrides_the_pipelines_language() {
    let a = run_go_collab(&["--language", "English"]);
    assert!(
        of(&a, "clarify").starts_with("# Requirement clarification"),
        "{}",
        of(&a, "clarify")
    );
    assert!(!a.iter().any(|(_, text)| text.contains("需求")));
}

#[test]
fn the_language_is_a_sentence_of_its_own_in_every_roles_prompt() {
    let server = TestServer::start(|_, request| answer(&well_behaved(&role_of(request)), 10, 5));
    let sandbox = Sandbox::new();
    let output = sandbox.run(&[
        "run",
        "--headless",
        "--approve",
        "all",
        "--language",
        "Spanish",
        "--base-url",
        &server.base_url,
        "--model",
        "m",
        "Add rate limiting to the orders API",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let recorded = server.recorded();
    assert!(!recorded.is_empty());
    for request in &recorded {
        assert!(
            request.system().contains(
                "\n\nLanguage: write your answer in Spanish, unless the request asks for another \
                 language."
            ),
            "{}",
            request.system()
        );
    }
}

#[test]
fn the_debugger_summoned_at_the_build_gate_answers_in_chinese_and_reaches_the_release_gate() {
    let sandbox = Sandbox::new();
    let output = sandbox.run_deciding(
        "[build]\nsummon = [\"debugger\"]\naction = \"approve\"\n",
        REQUEST,
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let events = events(&sandbox.log());
    assert_eq!(events[0]["pipeline"]["name"], "go-collab");
    let utility = common::of_kind(&events, "utility");
    assert_eq!(utility.len(), 1, "{utility:?}");
    assert_eq!(utility[0]["phase"], "build");
    assert_eq!(utility[0]["hands_to"], serde_json::json!(["release"]));
    let text = utility[0]["text"].as_str().expect("text");
    assert!(
        text.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
        "in the pipeline's language: {text}"
    );
    // The release gatekeeper, and only it, was handed the report.
    let release = artifacts(&events, "release");
    assert!(
        release[0].contains("debug-report"),
        "the gatekeeper read it: {}",
        release[0]
    );
    let build = artifacts(&events, "build");
    assert!(!build[0].contains("debug-report"), "{}", build[0]);
}
