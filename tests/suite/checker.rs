//! The engine's guards around a model's answers, over real HTTP: a
//! reviewer (a plan task's critique) cannot change the workspace whatever
//! it asks for, an answer cut at the model's output limit is not taken as
//! an artifact, and a plan keeps seed 003's rules: each broken one is
//! listed back to the model, a critique judges its maker's criteria, and a
//! task's skill picks the role that runs it. `check --plan` reads the
//! seed's own example as written.

use crate::common;

use common::server::{
    Piece, Reply, TestServer, answer, role_of, text_chunk, tool_call_chunk, usage_chunk,
    well_behaved,
};
use common::{REQUEST, Sandbox, events, of_kind, repository, stderr};

/// A headless run against `server`, approving every gate.
fn run(sandbox: &Sandbox, server: &TestServer, workspace: Option<&str>) -> std::process::Output {
    let mut cmd = sandbox.command();
    cmd.env("OPENAI_API_KEY", "sk-test")
        .args(["run", "--headless", "--approve", "all"])
        .args(["--base-url", &server.base_url, "--model", "m"]);
    if let Some(dir) = workspace {
        cmd.args(["--workspace", dir]);
    }
    cmd.arg(REQUEST).output().expect("run handoff")
}

/// A streamed answer that ends for `reason`.
fn ending(text: &str, reason: &str) -> Reply {
    Reply::Sse(vec![
        text_chunk(text),
        common::server::finish_chunk(reason),
        usage_chunk(10, 5),
        Piece::Raw("data: [DONE]".into()),
    ])
}

#[test]
fn a_reviewer_that_asks_to_write_is_refused_and_writes_nothing() {
    let server = TestServer::start(|_, request| {
        let role = role_of(request);
        if role == "reviewer" && !request.has_tool_result() {
            // The critique tries to change the work it judges.
            let args = r#"{"path": "verdict.txt", "content": "looks fine"}"#;
            return Reply::Sse(vec![
                tool_call_chunk(0, Some("w1"), Some("write_file"), args),
                common::server::finish_chunk("tool_calls"),
                usage_chunk(10, 5),
                Piece::Raw("data: [DONE]".into()),
            ]);
        }
        answer(&well_behaved(&role), 10, 5)
    });
    let sandbox = Sandbox::new();
    let repo = repository(sandbox.dir.path());
    let output = run(&sandbox, &server, repo.to_str());
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let events = events(&sandbox.log());
    let refused = of_kind(&events, "tool_result")
        .into_iter()
        .find(|r| r["call_id"].as_str().is_some_and(|id| id.ends_with("-w1")))
        .expect("the reviewer's call has a result");
    assert_eq!(refused["ok"], false);
    assert!(
        refused["output"]
            .as_str()
            .is_some_and(|o| o.contains("a reviewer only reads")),
        "{refused}"
    );
    assert!(!repo.join("verdict.txt").exists(), "nothing was written");
}

#[test]
fn an_answer_cut_at_the_output_limit_fails_its_attempt() {
    let server = TestServer::start(|_, request| match role_of(request).as_str() {
        "Business Analyst" => ending("# Requirements\n\n- [ ] AC-1: The limit is enf", "length"),
        role => answer(&well_behaved(role), 10, 5),
    });
    let sandbox = Sandbox::new();
    let output = run(&sandbox, &server, None);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let events = events(&sandbox.log());
    assert!(
        of_kind(&events, "artifact").is_empty(),
        "no artifact from a cut answer"
    );
    let failed = of_kind(&events, "phase_failed");
    assert_eq!(failed.len(), 1);
    assert!(
        failed[0]["error"]
            .as_str()
            .is_some_and(|e| e.contains("cut at the model's output limit")),
        "{}",
        failed[0]
    );
    // The call's tokens still count.
    assert_eq!(of_kind(&events, "usage").len(), 1);
}

/// The text of every user message of a request.
fn user_text(request: &common::server::Recorded) -> String {
    request.body["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| m["role"] == "user")
        .filter_map(|m| m["content"].as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

/// A server whose Solution Architect answers `plan` (and, asked again after
/// an unreadable one, the well-behaved plan); every other role behaves.
fn planning(plan: &'static str) -> TestServer {
    TestServer::start(move |_, request| match role_of(request).as_str() {
        "Solution Architect" if !user_text(request).contains("could not be read") => {
            answer(plan, 10, 5)
        }
        role => answer(&well_behaved(role), 10, 5),
    })
}

/// A plan that breaks seed 003's rules, one of each.
const BROKEN: &str = r#"```json
{"status": "draft",
 "architecture": {"summary": "Charges through Stripe",
                  "endpoints": [{"method": "FETCH", "path": "/orders", "purpose": "x", "auth": "maybe"}]},
 "tasks": [
  {"task_name": "Charge the order", "skill_id": "backend-magic", "task_order": 1,
   "inputs": {"requirements": "Take payments with Stripe"},
   "validation_criteria": {"critical": ["A charge succeeds"]}},
  {"task_name": "Critique the charge", "skill_id": "backend-critique", "task_order": 3,
   "dependencies": [1], "inputs": {"preceding_task": {"task_order": 1}}}]}
```"#;

#[test]
fn every_broken_plan_rule_is_listed_back_to_the_model_one_line_each() {
    let server = planning(BROKEN);
    let sandbox = Sandbox::new();
    let output = run(&sandbox, &server, None);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let events = events(&sandbox.log());
    let invalid = of_kind(&events, "invalid");
    assert_eq!(invalid.len(), 1, "the plan is refused once, then read");
    let skills = "backend-summarize, backend-plan, backend-planner, backend-implement, \
                  backend-development, backend-test, backend-testing, backend-validate, \
                  backend-critique, backend-commit";
    let expected = [
        "status is `draft`; it must be `planned`".to_owned(),
        "category is missing; it must be `backend`".to_owned(),
        "architecture.endpoints[0] (FETCH /orders): method `FETCH` is not an HTTP method (one of: GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS)".to_owned(),
        "architecture.endpoints[0] (FETCH /orders): auth is `maybe`; it must be `required` or `public`".to_owned(),
        format!("task 1 (Charge the order): skill_id `backend-magic` is not a skill of this pipeline (one of: {skills})"),
        "task 1 (Charge the order) names no files: list what it creates or changes in inputs.files_to_create and inputs.files_to_modify".to_owned(),
        "task 1 (Charge the order) touches payments (“payments”) but states no security requirement: add one to validation_criteria".to_owned(),
        "task 3 (Critique the charge): inputs.preceding_task.description is missing: say what the task it checks was to do".to_owned(),
        "task 3 (Critique the charge): task_order must be sequential from 1; expected 2".to_owned(),
    ];
    let errors: Vec<String> = invalid[0]["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e.as_str().map(str::to_owned))
        .collect();
    assert_eq!(errors, expected);
    let retry = server
        .recorded()
        .into_iter()
        .filter(|r| role_of(r) == "Solution Architect")
        .nth(1)
        .expect("the architect is asked again");
    let told = user_text(&retry);
    for mistake in &expected {
        assert!(
            told.contains(&format!("- {mistake}\n")),
            "{mistake} in\n{told}"
        );
    }
}

/// A plan whose critique was handed criteria other than its maker's.
const OTHER_CRITERIA: &str = r#"```json
{"status": "planned", "category": "backend",
 "architecture": {"summary": "A token bucket per client"},
 "tasks": [
  {"task_name": "Implement the limiter", "skill_id": "backend-implement", "task_order": 1,
   "inputs": {"files_to_create": ["internal/limit/limit.go"]},
   "validation_criteria": {"critical": ["429 past the limit"], "expected": ["A Retry-After header"],
                           "nice_to_have": ["A metric per client"]}},
  {"task_name": "Critique the limiter", "skill_id": "backend-critique", "task_order": 2,
   "dependencies": [1],
   "inputs": {"preceding_task": {"task_order": 1, "description": "A limiter"},
              "validation_criteria": {"critical": ["The code looks tidy"]}}}]}
```"#;

#[test]
fn a_critique_handed_other_criteria_judges_its_makers_and_the_plan_says_so() {
    let server = planning(OTHER_CRITERIA);
    let sandbox = Sandbox::new();
    let output = run(&sandbox, &server, None);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(of_kind(&events(&sandbox.log()), "invalid").is_empty());
    let recorded = server.recorded();
    let review = recorded
        .iter()
        .find(|r| role_of(r) == "reviewer")
        .expect("the critique ran");
    let told = user_text(review);
    for criterion in [
        "- critical: 429 past the limit",
        "- expected: A Retry-After header",
        "- nice to have: A metric per client",
    ] {
        assert!(told.contains(criterion), "{criterion} in\n{told}");
    }
    assert!(!told.contains("looks tidy"), "{told}");
    // The correction is part of the plan every later role reads.
    let maker = recorded
        .iter()
        .find(|r| r.system().contains("This call is one task of the plan"))
        .expect("the maker ran");
    assert!(
        user_text(maker).contains(
            "- Corrected: task 2 (Critique the limiter) was handed criteria that are not task 1's; \
             it judges task 1's validation_criteria, all three levels, as written there (rule 8)"
        ),
        "{}",
        user_text(maker)
    );
}

/// A plan whose third task is the Test Engineer's (`backend-testing`).
const WITH_TESTS: &str = r#"```json
{"status": "planned", "category": "backend",
 "architecture": {"summary": "A token bucket per client"},
 "tasks": [
  {"task_name": "Implement the limiter", "skill_id": "backend-development", "task_order": 1,
   "inputs": {"files_to_create": ["internal/limit/limit.go"]},
   "validation_criteria": {"critical": ["429 past the limit"]}},
  {"task_name": "Critique the limiter", "skill_id": "backend-critique", "task_order": 2,
   "dependencies": [1], "inputs": {"preceding_task": {"task_order": 1, "description": "A limiter"}}},
  {"task_name": "Write the limiter tests", "skill_id": "backend-testing", "task_order": 3,
   "dependencies": [2], "inputs": {"files_to_test": ["internal/limit/limit.go"]},
   "validation_criteria": {"critical": ["Tests pass"]}},
  {"task_name": "Critique the tests", "skill_id": "backend-critique", "task_order": 4,
   "dependencies": [3], "inputs": {"preceding_task": {"task_order": 3, "description": "Tests"}}}]}
```"#;

/// On a server the probe found ignores tools, a task run as another role
/// is offered none either, as every phase is.
#[test]
fn a_task_run_as_another_role_gets_no_tools_from_a_server_that_ignores_them() {
    let server = planning(WITH_TESTS);
    let sandbox = Sandbox::new();
    let repo = common::repository(sandbox.dir.path());
    let mut cmd = sandbox.command();
    cmd.env("OPENAI_API_KEY", "sk-test")
        .env("HANDOFF_PROBE", "on")
        .args(["run", "--headless", "--approve", "all"])
        .args(["--base-url", &server.base_url, "--model", "m"])
        .args(["--workspace", repo.to_str().expect("path")]);
    let output = cmd.arg(REQUEST).output().expect("run handoff");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let tester: Vec<_> = server
        .recorded()
        .into_iter()
        .filter(|r| r.system().contains("task 3, “Write the limiter tests”"))
        .collect();
    assert!(!tester.is_empty(), "the Test Engineer's task ran");
    for request in tester {
        assert!(request.body.get("tools").is_none(), "{}", request.body);
    }
}

#[test]
fn a_task_with_a_testing_skill_runs_as_the_test_engineer() {
    let server = planning(WITH_TESTS);
    let sandbox = Sandbox::new();
    let output = run(&sandbox, &server, None);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let tasks: Vec<(String, String)> = server
        .recorded()
        .iter()
        .filter(|r| r.system().contains("This call is one task of the plan"))
        .map(|r| (role_of(r), r.system().to_owned()))
        .collect();
    assert_eq!(tasks.len(), 2, "{tasks:?}");
    assert_eq!(tasks[0].0, "Senior Backend Developer");
    assert_eq!(tasks[1].0, "Test Engineer");
    assert!(
        tasks[1]
            .1
            .contains("You are the Test Engineer. Write unit and integration tests")
            && tasks[1].1.contains("task 3, “Write the limiter tests”"),
        "{}",
        tasks[1].1
    );
    let events = events(&sandbox.log());
    let started: Vec<_> = of_kind(&events, "task_started")
        .into_iter()
        .map(|e| (e["task"].as_u64(), e["role"].as_str()))
        .collect();
    assert_eq!(
        started,
        [
            (Some(1), None),
            (Some(2), None),
            (Some(3), Some("Test Engineer")),
            (Some(4), None)
        ]
    );
    assert!(
        common::stdout(&output).contains("▸ task 3: Write the limiter tests [as Test Engineer]"),
        "{}",
        common::stdout(&output)
    );
}

/// The plan in seed 003's example ("Build subscription API with Stripe"),
/// exactly as the seed writes it.
const SEED_EXAMPLE: &str = r#"{
  "status": "planned",
  "category": "backend",
  "architecture": {
    "summary": "Subscription API with Stripe integration and webhook handling",
    "endpoints": [
      {"method": "POST", "path": "/api/v1/subscriptions", "purpose": "Create subscription", "auth": "required"},
      {"method": "GET", "path": "/api/v1/subscriptions", "purpose": "Get status", "auth": "required"},
      {"method": "POST", "path": "/api/v1/webhooks/stripe", "purpose": "Handle Stripe events", "auth": "public"}
    ],
    "data_models": [
      {"name": "Subscription", "purpose": "Track subscription state", "table": "subscriptions", "key_fields": ["id", "user_id", "stripe_subscription_id", "status"]}
    ],
    "services": ["SubscriptionService - lifecycle management", "StripeService - API wrapper"],
    "external_integrations": ["Stripe API"]
  },
  "tasks": [
    {
      "task_name": "Build subscription service",
      "description": "Create migrations, models, services, and handlers",
      "skill_id": "backend-development",
      "task_order": 1,
      "dependencies": [],
      "inputs": {
        "requirements": "Subscription API with Stripe integration, migrations, handlers",
        "files_to_create": [
          "migrations/00X_create_subscriptions.sql",
          "internal/services/stripe_service.go",
          "internal/handlers/subscription_handlers.go"
        ],
        "files_to_modify": ["internal/routes/routes.go"]
      },
      "validation_criteria": {
        "critical": ["Migration runs", "Endpoints work", "Webhook signature verification"],
        "expected": ["Auth enforced", "Input validation", "Error handling"],
        "nice_to_have": ["Logging"]
      },
      "timeout_seconds": 3600
    },
    {
      "task_name": "QA: Validate subscription API",
      "description": "Review subscription implementation for correctness and security",
      "skill_id": "backend-critique",
      "task_order": 2,
      "dependencies": [1],
      "inputs": {
        "original_prompt": "Build subscription API with Stripe",
        "preceding_task": {
          "task_order": 1,
          "skill_id": "backend-development",
          "task_name": "Build subscription service",
          "description": "Create migrations, models, services, and handlers"
        },
        "validation_criteria": {
          "critical": ["Migration runs", "Endpoints work", "Webhook signature verification"],
          "expected": ["Auth enforced", "Input validation", "Error handling"],
          "nice_to_have": ["Logging"]
        }
      },
      "validation_criteria": {
        "critical": ["Returns structured verdict", "Security issues identified"],
        "expected": [],
        "nice_to_have": []
      },
      "timeout_seconds": 1800
    },
    {
      "task_name": "Write subscription tests",
      "description": "Integration tests with mocked Stripe",
      "skill_id": "backend-testing",
      "task_order": 3,
      "dependencies": [2],
      "inputs": {
        "requirements": "Test happy paths, errors, and webhook handling",
        "files_to_test": ["internal/handlers/subscription_handlers.go", "internal/services/stripe_service.go"],
        "test_types": ["unit", "integration"]
      },
      "validation_criteria": {
        "critical": ["Tests pass", "Core flows covered"],
        "expected": ["Error cases tested", "Webhook signature tested"],
        "nice_to_have": []
      },
      "timeout_seconds": 3600
    },
    {
      "task_name": "QA: Validate subscription tests",
      "description": "Review test quality and coverage",
      "skill_id": "backend-critique",
      "task_order": 4,
      "dependencies": [3],
      "inputs": {
        "original_prompt": "Build subscription API with Stripe",
        "preceding_task": {
          "task_order": 3,
          "skill_id": "backend-testing",
          "task_name": "Write subscription tests",
          "description": "Integration tests with mocked Stripe"
        },
        "validation_criteria": {
          "critical": ["Tests pass", "Core flows covered"],
          "expected": ["Error cases tested", "Webhook signature tested"],
          "nice_to_have": []
        }
      },
      "validation_criteria": {
        "critical": ["Returns structured verdict"],
        "expected": [],
        "nice_to_have": []
      },
      "timeout_seconds": 1800
    }
  ]
}
"#;

#[test]
fn check_accepts_the_seeds_own_plan_and_names_what_is_wrong_with_a_broken_one() {
    let sandbox = Sandbox::new();
    let good = sandbox.dir.path().join("seed-plan.json");
    std::fs::write(&good, SEED_EXAMPLE).expect("write plan");
    let output = sandbox.run(&["check", "--plan", good.to_str().expect("path")]);
    assert_eq!(output.status.code(), Some(0), "{}", common::stdout(&output));
    assert!(
        common::stdout(&output).contains("seed-plan.json: ok — plan, 4 tasks"),
        "{}",
        common::stdout(&output)
    );
    let bad = sandbox.dir.path().join("broken.json");
    std::fs::write(&bad, BROKEN).expect("write plan");
    let output = sandbox.run(&["check", "--plan", bad.to_str().expect("path")]);
    assert_eq!(output.status.code(), Some(2), "{}", common::stdout(&output));
    let printed = common::stdout(&output);
    assert!(
        printed.contains("broken.json: task 3 (Critique the charge): task_order must be sequential from 1; expected 2"),
        "{printed}"
    );
    assert!(
        stderr(&output).contains("9 mistakes found"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_task_run_as_a_role_on_a_model_without_tools_gets_none_though_the_phase_has_them() {
    // The session's model calls tools; the Test Engineer's own model does
    // not: its task goes without, the developer's keeps them.
    let mut capable = common::server::Capable::new(
        common::server::SchemaSupport::Honours,
        common::server::ToolSupport::Calls,
    );
    capable.weak_model = Some("weak-tester");
    let server = TestServer::start(move |_, request| {
        if role_of(request) == "Solution Architect" && request.body["model"] == "m" {
            answer(WITH_TESTS, 10, 5)
        } else {
            capable.reply(request)
        }
    });
    let sandbox = Sandbox::new();
    let repo = common::repository(sandbox.dir.path());
    let skills = common::BUILTIN_SKILLS.replacen(
        "id = \"test\"\n",
        "id = \"test\"\nmodel = \"weak-tester\"\n",
        1,
    );
    let file = sandbox.dir.path().join("skills.toml");
    std::fs::write(&file, skills).expect("skills");
    let mut cmd = sandbox.command();
    cmd.env("OPENAI_API_KEY", "sk-test")
        .env("HANDOFF_PROBE", "on")
        .args(["--skills", file.to_str().expect("path")])
        .args(["run", "--headless", "--approve", "all"])
        .args(["--base-url", &server.base_url, "--model", "m"])
        .args(["--workspace", repo.to_str().expect("path")]);
    let output = cmd.arg(REQUEST).output().expect("run handoff");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let task = |name: &str| -> Vec<common::server::Recorded> {
        server
            .recorded()
            .into_iter()
            .filter(|r| r.system().contains(name))
            .collect()
    };
    let tester = task("“Write the limiter tests”");
    assert!(!tester.is_empty(), "the Test Engineer's task ran");
    for request in &tester {
        assert_eq!(request.body["model"], "weak-tester");
        assert!(request.body.get("tools").is_none(), "{}", request.body);
    }
    let maker = task("task 1, “");
    assert!(
        maker.iter().any(|r| r.body.get("tools").is_some()),
        "the developer's task keeps its tools"
    );
}
