//! The plan's reading, checks and rendering, on plans written by hand.

use super::*;

const GOOD: &str = r#"Here is the plan.
```json
{
  "status": "planned",
  "category": "backend",
  "architecture": {
"summary": "Token bucket in Redis",
"endpoints": [{"method": "GET", "path": "/api/v1/orders", "purpose": "List", "auth": "required"}],
"data_models": [{"name": "Limit", "purpose": "Per-client limit", "table": "limits", "key_fields": ["id"]}],
"services": ["LimitService - counts requests"],
"external_integrations": []
  },
  "tasks": [
{"task_name": "Implement limiter", "description": "Middleware", "skill_id": "backend-go",
 "task_order": 1, "dependencies": [],
 "inputs": {"files_to_create": ["internal/limit/limit.go"]},
 "validation_criteria": {"critical": ["429 past the limit"], "expected": ["Retry-After"], "nice_to_have": []},
 "timeout_seconds": 3600},
{"task_name": "QA: validate limiter", "skill_id": "backend-critique", "task_order": 2, "dependencies": [1],
 "inputs": {"preceding_task": {"task_order": 1, "description": "Middleware"},
            "validation_criteria": {"critical": ["429 past the limit"], "expected": ["Retry-After"], "nice_to_have": []}},
 "validation_criteria": {"critical": ["Returns a verdict"]}, "timeout_seconds": 1800},
{"task_name": "Implement metrics", "skill_id": "backend-go", "task_order": 3, "dependencies": [2],
 "inputs": {"files_to_modify": ["internal/limit/limit.go"]},
 "validation_criteria": {"critical": ["Counter per client"]}},
{"task_name": "QA: validate metrics", "skill_id": "backend-critique", "task_order": 4, "dependencies": [3],
 "inputs": {"preceding_task": {"task_order": 3, "description": "Counters"}}}
  ]
}
```"#;

#[test]
fn a_good_plan_reads_and_renders_as_tables_and_a_tree() {
    let plan = read(GOOD).expect("valid");
    assert_eq!(plan.tasks.len(), 4);
    assert_eq!(plan.critique_of(1).map(|t| t.task_order), Some(2));
    assert_eq!(
        plan.task(4).map(|t| plan.criteria_to_check(t)),
        Some(Criteria {
            critical: vec!["Counter per client".into()],
            ..Criteria::default()
        }),
        "a critique without criteria of its own checks its maker's"
    );
    let md = plan.to_markdown();
    for expected in [
        "| GET | `/api/v1/orders` | List | required |",
        "| Limit | `limits` | id | Per-client limit |",
        "| 2 | QA: validate limiter | checks 1 | 1 | 1 | 1800s |",
        "1 Implement limiter\n└─ 2 QA: validate limiter\n   └─ 3 Implement metrics\n      └─ 4 QA: validate metrics\n",
        "### Task 1: Implement limiter",
        "- Critical: 429 past the limit",
        "- Files: `internal/limit/limit.go`",
    ] {
        assert!(md.contains(expected), "{expected:?} in\n{md}");
    }
}

#[test]
fn every_mistake_is_named() {
    let bad = GOOD
        .replace("\"dependencies\": [2]", "\"dependencies\": [2, 9]")
        .replace(
            "\"preceding_task\": {\"task_order\": 3,",
            "\"preceding_task\": {\"task_order\": 7,",
        )
        .replace("\"critical\": [\"Counter per client\"]", "\"critical\": []")
        .replace("Token bucket in Redis", " ");
    let errors = read(&bad).expect_err("invalid");
    assert_eq!(
        errors,
        [
            "architecture.summary is empty",
            "task 3 (Implement metrics) depends on task 9, which does not exist",
            "task 3 (Implement metrics) has no validation_criteria.critical: say what must pass",
            "task 3 (Implement metrics) has no critique task after it (maker→checker: add a critique whose inputs.preceding_task.task_order is 3)",
            "task 4 (QA: validate metrics) checks task 7, which does not exist",
        ]
    );
}

#[test]
fn cycles_and_duplicates_are_found() {
    let cyclic = GOOD.replace("\"dependencies\": [],", "\"dependencies\": [4],");
    let errors = read(&cyclic).expect_err("cycle");
    assert!(
        errors
            .iter()
            .any(|e| e.contains("cycle: 1 → 4 → 3 → 2 → 1")),
        "{errors:?}"
    );
    let twice = GOOD.replace("\"task_order\": 3", "\"task_order\": 1");
    let errors = read(&twice).expect_err("duplicate");
    assert!(
        errors.contains(&"task_order 1 is used twice".to_owned()),
        "{errors:?}"
    );
    let forever = GOOD.replace("3600", "18446744073709551615");
    let errors = read(&forever).expect_err("too long");
    assert!(
        errors
            .iter()
            .any(|e| e.contains("timeout_seconds is 18446744073709551615; at most 86400")),
        "{errors:?}"
    );
    let wrong_type = GOOD.replace("\"task_order\": 1,", "\"task_order\": \"one\",");
    let errors = read(&wrong_type).expect_err("type");
    assert!(errors[0].contains("invalid type"), "{errors:?}");
}

#[test]
fn the_seed_rules_are_each_named_with_task_and_field() {
    let bad = GOOD
        .replace("\"status\": \"planned\"", "\"status\": \"done\"")
        .replace("\"category\": \"backend\",", "")
        .replace("\"method\": \"GET\"", "\"method\": \"FETCH\"")
        .replace("\"auth\": \"required\"", "\"auth\": \"yes\"")
        .replace("\"task_order\": 4", "\"task_order\": 5")
        .replace(
            "\"inputs\": {\"files_to_modify\": [\"internal/limit/limit.go\"]},",
            "\"inputs\": {\"requirements\": \"Count logins per user\"},",
        )
        .replace(", \"description\": \"Counters\"", "");
    let errors = read(&bad).expect_err("invalid");
    assert_eq!(
        errors,
        [
            "status is `done`; it must be `planned`",
            "category is missing; it must be `backend`",
            "architecture.endpoints[0] (FETCH /api/v1/orders): method `FETCH` is not an HTTP method (one of: GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS)",
            "architecture.endpoints[0] (FETCH /api/v1/orders): auth is `yes`; it must be `required` or `public`",
            "task 3 (Implement metrics) names no files: list what it creates or changes in inputs.files_to_create and inputs.files_to_modify",
            "task 3 (Implement metrics) touches auth (“logins”) but states no security requirement: add one to validation_criteria",
            "task 5 (QA: validate metrics): inputs.preceding_task.description is missing: say what the task it checks was to do",
            "task 5 (QA: validate metrics): task_order must be sequential from 1; expected 4",
        ]
    );
}

#[test]
fn skill_ids_must_be_the_pipelines_when_it_names_them() {
    assert!(read_with(GOOD, &["backend-go", "backend-critique"]).is_ok());
    let errors = read_with(GOOD, &["backend-implement", "backend-critique"]).expect_err("unknown");
    assert_eq!(
        errors,
        [
            "task 1 (Implement limiter): skill_id `backend-go` is not a skill of this pipeline (one of: backend-implement, backend-critique)",
            "task 3 (Implement metrics): skill_id `backend-go` is not a skill of this pipeline (one of: backend-implement, backend-critique)",
        ]
    );
}

#[test]
fn a_critique_judges_its_makers_criteria_whatever_it_was_handed() {
    let plan = read(GOOD).expect("valid");
    assert!(plan.corrections().is_empty(), "an exact copy needs nothing");
    let other = GOOD.replace(
        "\"validation_criteria\": {\"critical\": [\"429 past the limit\"], \"expected\": [\"Retry-After\"], \"nice_to_have\": []}},",
        "\"validation_criteria\": {\"critical\": [\"Looks tidy\"]}},",
    );
    assert_ne!(other, GOOD);
    let plan = read(&other).expect("a differing copy is corrected, not refused");
    let critique = plan.task(2).expect("task 2");
    assert_eq!(
        plan.criteria_to_check(critique),
        Criteria {
            critical: vec!["429 past the limit".into()],
            expected: vec!["Retry-After".into()],
            nice_to_have: vec![],
        }
    );
    assert_eq!(
        plan.corrections(),
        [
            "task 2 (QA: validate limiter) was handed criteria that are not task 1's; it judges task 1's validation_criteria, all three levels, as written there (rule 8)"
        ]
    );
    let md = plan.to_markdown();
    assert!(md.contains("## Plan check\n- Corrected: task 2"), "{md}");
    assert!(!md.contains("Looks tidy"), "{md}");
}

#[test]
fn security_requirements_are_read_from_criteria_or_inputs() {
    let payments = GOOD.replace(
        "\"inputs\": {\"files_to_modify\": [\"internal/limit/limit.go\"]},",
        "\"inputs\": {\"files_to_modify\": [\"internal/billing/stripe.go\"]},",
    );
    let errors = read(&payments).expect_err("no security requirement");
    assert!(
        errors[0].contains("touches payments (“billing”)"),
        "{errors:?}"
    );
    let stated = payments.replace(
        "\"critical\": [\"Counter per client\"]",
        "\"critical\": [\"Counter per client\", \"Webhook signature verification\"]",
    );
    assert!(read(&stated).is_ok());
    let in_inputs = payments.replace(
        "\"files_to_modify\": [\"internal/billing/stripe.go\"]",
        "\"files_to_modify\": [\"internal/billing/stripe.go\"], \"security_requirements\": [\"Never log card numbers\"]",
    );
    assert!(read(&in_inputs).is_ok());
}
