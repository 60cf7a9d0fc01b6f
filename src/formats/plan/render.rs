//! A plan as Markdown: the architecture as tables, the tasks as a table
//! and a dependency tree, what the plan check corrected, then each task
//! with its skill, criteria and files. People read it, and so do the roles
//! a plan is handed to.

use std::fmt::Write;

use super::{Plan, Task};
use crate::formats::cell;

impl Plan {
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
                    cell(&e.method),
                    cell(&e.path),
                    cell(&e.purpose),
                    cell(&e.auth)
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
                    cell(&m.name),
                    cell(&m.table),
                    cell(&m.key_fields.join(", ")),
                    cell(&m.purpose)
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
                cell(&t.task_name),
                if after.is_empty() { "-" } else { &after },
                self.criteria_to_check(t).critical.len(),
                t.timeout_seconds
                    .map_or_else(|| "-".to_owned(), |s| format!("{s}s"))
            );
        }
        out.push_str("\n## Dependency tree\n```\n");
        out.push_str(&self.tree());
        out.push_str("```\n");
        let corrections = self.corrections();
        if !corrections.is_empty() {
            out.push_str("\n## Plan check\n");
            for c in &corrections {
                let _ = writeln!(out, "- Corrected: {c}");
            }
        }
        for t in self.order() {
            self.task_markdown(&mut out, t);
        }
        out
    }

    /// One task's section: its skill, description, criteria and files.
    fn task_markdown(&self, out: &mut String, t: &Task) {
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
        let files = t.files();
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
}
