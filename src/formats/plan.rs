//! Seed 003's plan: an architecture and tasks in maker→checker pairs.
//!
//! [`read`] parses the object and checks what a schema alone cannot: task
//! orders unique, dependencies that exist and form no cycle, every
//! implementation task with critical criteria and a critique task that
//! checks it and waits for it. [`Plan::to_markdown`] renders it as tables and
//! a dependency tree; [`Plan::order`] is the order the tasks can run in.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The longest a plan may give one task.
pub const MAX_TIMEOUT_SECONDS: u64 = 24 * 60 * 60;
/// A plan, as the Solution Architect wrote it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Plan {
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub category: Option<String>,
    pub architecture: Architecture,
    /// Implementation tasks, each followed by its critique.
    #[schemars(length(min = 2, max = 10))]
    pub tasks: Vec<Task>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Architecture {
    pub summary: String,
    #[serde(default)]
    pub endpoints: Vec<Endpoint>,
    #[serde(default)]
    pub data_models: Vec<DataModel>,
    #[serde(default)]
    pub services: Vec<String>,
    #[serde(default)]
    pub external_integrations: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Endpoint {
    pub method: String,
    pub path: String,
    #[serde(default)]
    pub purpose: String,
    #[serde(default)]
    pub auth: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DataModel {
    pub name: String,
    #[serde(default)]
    pub purpose: String,
    #[serde(default)]
    pub table: String,
    #[serde(default)]
    pub key_fields: Vec<String>,
}

/// One unit of work: an implementation (maker) or a critique (checker).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Task {
    pub task_name: String,
    #[serde(default)]
    pub description: String,
    pub skill_id: String,
    /// Unique, from 1.
    #[schemars(range(min = 1, max = 99))]
    pub task_order: u32,
    /// The `task_order` of each earlier task this one waits for.
    #[serde(default)]
    #[schemars(inner(range(min = 1, max = 99)))]
    pub dependencies: Vec<u32>,
    /// What the task works on; a critique names the task it checks.
    // The parser reads any object (a plan may carry more); a model is held
    // to `TaskInputs`, which names what handoff reads.
    #[serde(default)]
    #[schemars(with = "TaskInputs")]
    pub inputs: serde_json::Map<String, Value>,
    #[serde(default)]
    pub validation_criteria: Criteria,
    #[serde(default)]
    pub timeout_seconds: Option<u64>,
}

/// What the task works on; a critique names the task it checks.
#[derive(JsonSchema)]
#[expect(
    dead_code,
    reason = "a schema only: never built, read through Task::inputs"
)]
struct TaskInputs {
    /// Files the task creates.
    files_to_create: Vec<String>,
    /// Files the task changes.
    files_to_modify: Vec<String>,
    /// For a critique task: the implementation task it checks (null for an
    /// implementation task).
    preceding_task: Option<PrecedingTask>,
    /// For a critique task: the criteria it checks against.
    validation_criteria: Option<Criteria>,
}

/// The task a critique checks.
#[derive(JsonSchema)]
#[expect(dead_code, reason = "a schema only")]
struct PrecedingTask {
    #[schemars(range(min = 1, max = 99))]
    task_order: u32,
    task_name: String,
}

/// What a task is judged against.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Criteria {
    #[serde(default)]
    pub critical: Vec<String>,
    #[serde(default)]
    pub expected: Vec<String>,
    #[serde(default)]
    pub nice_to_have: Vec<String>,
}

impl Criteria {
    fn is_empty(&self) -> bool {
        self.critical.is_empty() && self.expected.is_empty() && self.nice_to_have.is_empty()
    }
}

impl Task {
    /// The task this one checks, when it is a critique.
    pub fn checks(&self) -> Option<u32> {
        let order = self.inputs.get("preceding_task")?.get("task_order")?;
        order.as_u64().and_then(|o| u32::try_from(o).ok())
    }

    /// Whether this is a critique (checker) task.
    pub fn is_critique(&self) -> bool {
        self.checks().is_some() || self.skill_id.contains("critique")
    }

    /// The criteria handed to a critique task in its `inputs`.
    fn handed_criteria(&self) -> Option<Criteria> {
        self.inputs
            .get("validation_criteria")
            .and_then(|v| serde_json::from_value(v.clone()).ok())
    }
}

/// Reads and checks a plan from a model's answer.
pub fn read(text: &str) -> Result<Plan, Vec<String>> {
    let plan: Plan = super::parse(text, "plan")?;
    let errors = plan.mistakes();
    if errors.is_empty() {
        Ok(plan)
    } else {
        Err(errors)
    }
}

impl Plan {
    pub fn task(&self, order: u32) -> Option<&Task> {
        self.tasks.iter().find(|t| t.task_order == order)
    }

    /// What `task` is judged against: for a critique, the criteria handed
    /// to it, else those of the task it checks; for a maker, its own.
    pub fn criteria_to_check(&self, task: &Task) -> Criteria {
        if !task.is_critique() {
            return task.validation_criteria.clone();
        }
        task.handed_criteria()
            .filter(|c| !c.is_empty())
            .or_else(|| Some(self.task(task.checks()?)?.validation_criteria.clone()))
            .unwrap_or_default()
    }

    /// The critique task that checks task `order`, if there is one.
    pub fn critique_of(&self, order: u32) -> Option<&Task> {
        self.tasks.iter().find(|t| t.checks() == Some(order))
    }

    /// Everything wrong with the plan beyond its JSON shape, each in words
    /// that name the task.
    pub fn mistakes(&self) -> Vec<String> {
        let mut errors = Vec::new();
        if self.architecture.summary.trim().is_empty() {
            errors.push("architecture.summary is empty".to_owned());
        }
        if self.tasks.is_empty() {
            errors.push("tasks is empty: the plan needs at least one task".to_owned());
        }
        let mut seen = BTreeSet::new();
        for t in &self.tasks {
            let name = format!("task {} ({})", t.task_order, t.task_name);
            if t.task_order == 0 {
                errors.push(format!("{name}: task_order starts at 1"));
            }
            if !seen.insert(t.task_order) {
                errors.push(format!("task_order {} is used twice", t.task_order));
            }
            if t.task_name.trim().is_empty() {
                errors.push(format!("task {}: task_name is empty", t.task_order));
            }
            match t.timeout_seconds {
                Some(0) => errors.push(format!("{name}: timeout_seconds must be above 0")),
                Some(s) if s > MAX_TIMEOUT_SECONDS => errors.push(format!(
                    "{name}: timeout_seconds is {s}; at most {MAX_TIMEOUT_SECONDS} (a day)"
                )),
                _ => {}
            }
            for d in &t.dependencies {
                if *d == t.task_order {
                    errors.push(format!("{name} depends on itself"));
                } else if !self.tasks.iter().any(|o| o.task_order == *d) {
                    errors.push(format!("{name} depends on task {d}, which does not exist"));
                }
            }
            if t.is_critique() {
                match t.checks().map(|o| (o, self.task(o))) {
                    None => errors.push(format!(
                        "{name} is a critique but names no inputs.preceding_task.task_order"
                    )),
                    Some((o, None)) => {
                        errors.push(format!("{name} checks task {o}, which does not exist"));
                    }
                    Some((o, Some(maker))) if maker.is_critique() => {
                        errors.push(format!(
                            "{name} checks task {o}, which is itself a critique"
                        ));
                    }
                    Some((o, Some(_))) if !t.dependencies.contains(&o) => errors.push(format!(
                        "{name} checks task {o} but does not list it in dependencies"
                    )),
                    Some(_) => {}
                }
            } else {
                if t.validation_criteria.critical.is_empty() {
                    errors.push(format!(
                        "{name} has no validation_criteria.critical: say what must pass"
                    ));
                }
                if self.critique_of(t.task_order).is_none() {
                    errors.push(format!(
                        "{name} has no critique task after it (maker→checker: add a critique whose inputs.preceding_task.task_order is {})",
                        t.task_order
                    ));
                }
            }
        }
        if let Some(cycle) = self.cycle() {
            errors.push(format!(
                "dependencies form a cycle: {}",
                cycle
                    .iter()
                    .map(u32::to_string)
                    .collect::<Vec<_>>()
                    .join(" → ")
            ));
        }
        errors
    }

    /// A dependency cycle, if there is one, as the task orders around it.
    fn cycle(&self) -> Option<Vec<u32>> {
        fn visit(
            plan: &Plan,
            order: u32,
            path: &mut Vec<u32>,
            done: &mut BTreeSet<u32>,
        ) -> Option<Vec<u32>> {
            if let Some(at) = path.iter().position(|o| *o == order) {
                let mut cycle = path[at..].to_vec();
                cycle.push(order);
                return Some(cycle);
            }
            if done.contains(&order) {
                return None;
            }
            path.push(order);
            for d in plan
                .task(order)
                .map(|t| t.dependencies.as_slice())
                .unwrap_or_default()
            {
                if *d != order
                    && let Some(cycle) = visit(plan, *d, path, done)
                {
                    return Some(cycle);
                }
            }
            path.pop();
            done.insert(order);
            None
        }
        let mut done = BTreeSet::new();
        self.tasks
            .iter()
            .find_map(|t| visit(self, t.task_order, &mut Vec::new(), &mut done))
    }

    /// The tasks in an order that respects their dependencies: of the tasks
    /// that are ready, the lowest `task_order` first. A valid plan has them
    /// all.
    pub fn order(&self) -> Vec<&Task> {
        let mut done = BTreeSet::new();
        let mut out = Vec::new();
        let mut left: Vec<&Task> = self.tasks.iter().collect();
        left.sort_by_key(|t| t.task_order);
        while let Some(i) = left
            .iter()
            .position(|t| t.dependencies.iter().all(|d| done.contains(d)))
        {
            let task = left.remove(i);
            done.insert(task.task_order);
            out.push(task);
        }
        out
    }

    /// The plan for people and for the roles that read it.
    pub fn to_markdown(&self) -> String {
        let a = &self.architecture;
        let mut out = String::from("# Plan\n\n## Architecture\n");
        let _ = writeln!(out, "{}\n", a.summary.trim());
        if !a.endpoints.is_empty() {
            out.push_str("### Endpoints\n| Method | Path | Purpose | Auth |\n|---|---|---|---|\n");
            for e in &a.endpoints {
                let _ = writeln!(
                    out,
                    "| {} | `{}` | {} | {} |",
                    super::cell(&e.method),
                    super::cell(&e.path),
                    super::cell(&e.purpose),
                    super::cell(&e.auth)
                );
            }
            out.push('\n');
        }
        if !a.data_models.is_empty() {
            out.push_str(
                "### Data models\n| Name | Table | Key fields | Purpose |\n|---|---|---|---|\n",
            );
            for m in &a.data_models {
                let _ = writeln!(
                    out,
                    "| {} | `{}` | {} | {} |",
                    super::cell(&m.name),
                    super::cell(&m.table),
                    super::cell(&m.key_fields.join(", ")),
                    super::cell(&m.purpose)
                );
            }
            out.push('\n');
        }
        for (title, items) in [
            ("Services", &a.services),
            ("External integrations", &a.external_integrations),
        ] {
            if !items.is_empty() {
                let _ = writeln!(out, "### {title}");
                for item in items {
                    let _ = writeln!(out, "- {}", item.trim());
                }
                out.push('\n');
            }
        }
        out.push_str(
            "## Tasks\n| # | Task | Kind | After | Critical criteria | Timeout |\n|---|---|---|---|---|---|\n",
        );
        for t in self.order() {
            let after = t
                .dependencies
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(", ");
            let kind = match t.checks() {
                Some(o) => format!("checks {o}"),
                None => "implement".to_owned(),
            };
            let _ = writeln!(
                out,
                "| {} | {} | {kind} | {} | {} | {} |",
                t.task_order,
                super::cell(&t.task_name),
                if after.is_empty() { "-" } else { &after },
                self.criteria_to_check(t).critical.len(),
                t.timeout_seconds
                    .map_or_else(|| "-".to_owned(), |s| format!("{s}s"))
            );
        }
        out.push_str("\n## Dependency tree\n```\n");
        out.push_str(&self.tree());
        out.push_str("```\n");
        for t in self.order() {
            let _ = writeln!(out, "\n### Task {}: {}", t.task_order, t.task_name.trim());
            let _ = writeln!(out, "Skill: `{}`", t.skill_id);
            if !t.description.trim().is_empty() {
                let _ = writeln!(out, "\n{}", t.description.trim());
            }
            let c = self.criteria_to_check(t);
            if !c.is_empty() {
                out.push('\n');
            }
            for (level, items) in [
                ("Critical", &c.critical),
                ("Expected", &c.expected),
                ("Nice to have", &c.nice_to_have),
            ] {
                for item in items {
                    let _ = writeln!(out, "- {level}: {}", item.trim());
                }
            }
            let files: Vec<&str> = ["files_to_create", "files_to_modify"]
                .iter()
                .filter_map(|k| t.inputs.get(*k)?.as_array())
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            if !files.is_empty() {
                let _ = writeln!(
                    out,
                    "- Files: {}",
                    files
                        .iter()
                        .map(|f| format!("`{f}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
        }
        out
    }

    /// The tasks as a tree: each under the first task it waits for.
    fn tree(&self) -> String {
        let mut children: BTreeMap<Option<u32>, Vec<&Task>> = BTreeMap::new();
        for t in self.order() {
            children
                .entry(t.dependencies.first().copied())
                .or_default()
                .push(t);
        }
        let mut out = String::new();
        tree_walk(&mut out, &children, None, "", 0);
        out
    }
}

/// Writes the tasks under `parent`, then theirs, as tree branches.
fn tree_walk(
    out: &mut String,
    children: &BTreeMap<Option<u32>, Vec<&Task>>,
    parent: Option<u32>,
    prefix: &str,
    depth: usize,
) {
    let Some(list) = children.get(&parent) else {
        return;
    };
    for (i, t) in list.iter().enumerate() {
        let is_last = i + 1 == list.len();
        let (branch, next) = match (depth, is_last) {
            (0, _) => ("", String::new()),
            (_, true) => ("└─ ", format!("{prefix}   ")),
            (_, false) => ("├─ ", format!("{prefix}│  ")),
        };
        let also: Vec<String> = t.dependencies.iter().skip(1).map(u32::to_string).collect();
        let _ = write!(
            out,
            "{prefix}{branch}{} {}",
            t.task_order,
            t.task_name.trim()
        );
        if !also.is_empty() {
            let _ = write!(out, " (also after {})", also.join(", "));
        }
        out.push('\n');
        tree_walk(out, children, Some(t.task_order), &next, depth + 1);
    }
}

#[cfg(test)]
mod tests {
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
     "inputs": {"preceding_task": {"task_order": 1}, "validation_criteria": {"critical": ["429 past the limit"]}},
     "validation_criteria": {"critical": ["Returns a verdict"]}, "timeout_seconds": 1800},
    {"task_name": "Implement metrics", "skill_id": "backend-go", "task_order": 3, "dependencies": [2],
     "validation_criteria": {"critical": ["Counter per client"]}},
    {"task_name": "QA: validate metrics", "skill_id": "backend-critique", "task_order": 4, "dependencies": [3],
     "inputs": {"preceding_task": {"task_order": 3}}}
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
                "\"inputs\": {\"preceding_task\": {\"task_order\": 3}}",
                "\"inputs\": {\"preceding_task\": {\"task_order\": 7}}",
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
}
