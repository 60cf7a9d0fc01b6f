//! The order a plan's tasks can run in, a dependency cycle if there is one,
//! and the tasks drawn as a dependency tree.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use super::{Plan, Task};

impl Plan {
    /// A dependency cycle, if there is one, as the task orders around it.
    pub(super) fn cycle(&self) -> Option<Vec<u32>> {
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

    /// The tasks as a tree: each under the first task it waits for.
    pub(super) fn tree(&self) -> String {
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
