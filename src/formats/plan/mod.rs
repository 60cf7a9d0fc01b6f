//! Seed 003's plan: an architecture and tasks in maker→checker pairs.
//!
//! This module owns the plan's types and [`read`]: the object is parsed,
//! then checked against the seed's rules ([`check`]: task orders, values,
//! files, critiques, security requirements, skill ids), every mistake
//! listed in words a model can act on. A critique always judges its maker's
//! `validation_criteria`, all three levels (rule 8): a copy handed to it
//! that differs is not a mistake but is set aside, and
//! [`Plan::corrections`] says so where the plan is shown. [`order`] is the
//! order the tasks can run in and the dependency tree; [`render`] draws the
//! plan as Markdown.

mod check;
mod order;
mod render;
#[cfg(test)]
mod tests;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use check::{AUTH, CATEGORY, METHODS, STATUS, sensitive};

/// The longest a plan may give one task.
pub const MAX_TIMEOUT_SECONDS: u64 = 24 * 60 * 60;
/// A plan, as the Solution Architect wrote it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Plan {
    /// Always `planned`.
    #[serde(default)]
    #[schemars(with = "String", extend("enum" = ["planned"]))]
    pub status: Option<String>,
    /// Always `backend`.
    #[serde(default)]
    #[schemars(with = "String", extend("enum" = ["backend"]))]
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
    /// An HTTP method.
    #[schemars(extend("enum" = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]))]
    pub method: String,
    pub path: String,
    #[serde(default)]
    pub purpose: String,
    /// `required` or `public`.
    #[serde(default)]
    #[schemars(extend("enum" = ["required", "public"]))]
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
    /// Which role does it: one of the pipeline's skill ids.
    pub skill_id: String,
    /// Sequential, from 1.
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
    /// For a critique task: a copy of its maker's criteria, all three levels.
    validation_criteria: Option<Criteria>,
}

/// The task a critique checks.
#[derive(JsonSchema)]
#[expect(dead_code, reason = "a schema only")]
struct PrecedingTask {
    #[schemars(range(min = 1, max = 99))]
    task_order: u32,
    skill_id: String,
    task_name: String,
    /// What that task was to do.
    description: String,
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

    /// Every criterion, of every level.
    fn all(&self) -> impl Iterator<Item = &String> {
        self.critical
            .iter()
            .chain(&self.expected)
            .chain(&self.nice_to_have)
    }
}

impl Task {
    /// The task this one checks, when it is a critique.
    pub fn checks(&self) -> Option<u32> {
        let order = self.preceding("task_order")?;
        order.as_u64().and_then(|o| u32::try_from(o).ok())
    }

    /// Whether this is a critique (checker) task.
    pub fn is_critique(&self) -> bool {
        self.checks().is_some() || self.skill_id.contains("critique")
    }

    /// A field of `inputs.preceding_task`.
    fn preceding(&self, field: &str) -> Option<&Value> {
        self.inputs.get("preceding_task")?.get(field)
    }

    /// The criteria handed to a critique task in its `inputs`.
    fn handed_criteria(&self) -> Option<Criteria> {
        self.inputs
            .get("validation_criteria")
            .and_then(|v| serde_json::from_value(v.clone()).ok())
    }

    /// The files the task names: those it creates, changes or tests.
    pub fn files(&self) -> Vec<String> {
        ["files_to_create", "files_to_modify", "files_to_test"]
            .iter()
            .filter_map(|k| self.inputs.get(*k)?.as_array())
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .filter(|f| !f.trim().is_empty())
            .collect()
    }
}

/// Reads and checks a plan from a model's answer, any skill id accepted.
pub fn read(text: &str) -> Result<Plan, Vec<String>> {
    read_with(text, &[])
}

/// Reads and checks a plan from a model's answer; a task's `skill_id` must
/// be one of `skills` (the pipeline's), unless that is empty.
pub fn read_with(text: &str, skills: &[&str]) -> Result<Plan, Vec<String>> {
    let plan: Plan = super::parse(text, "plan")?;
    let errors = plan.mistakes(skills);
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

    /// What `task` is judged against: a maker's own criteria; for a
    /// critique, always those of the task it checks, all three levels
    /// (rule 8), whatever copy it was handed.
    pub fn criteria_to_check(&self, task: &Task) -> Criteria {
        if !task.is_critique() {
            return task.validation_criteria.clone();
        }
        task.checks()
            .and_then(|o| self.task(o))
            .map(|maker| maker.validation_criteria.clone())
            .unwrap_or_default()
    }

    /// The critique task that checks task `order`, if there is one.
    pub fn critique_of(&self, order: u32) -> Option<&Task> {
        self.tasks.iter().find(|t| t.checks() == Some(order))
    }

    /// What handoff set right in the plan rather than refuse it: each
    /// critique handed criteria other than its maker's, which judges the
    /// maker's instead (rule 8), in words that name both tasks.
    pub fn corrections(&self) -> Vec<String> {
        self.tasks
            .iter()
            .filter(|t| t.is_critique())
            .filter_map(|t| {
                let maker = self.task(t.checks()?)?;
                let handed = t.handed_criteria()?;
                (handed != maker.validation_criteria).then(|| {
                    format!(
                        "task {} ({}) was handed criteria that are not task {}'s; it judges task {}'s \
                         validation_criteria, all three levels, as written there (rule 8)",
                        t.task_order,
                        t.task_name.trim(),
                        maker.task_order,
                        maker.task_order
                    )
                })
            })
            .collect()
    }
}
