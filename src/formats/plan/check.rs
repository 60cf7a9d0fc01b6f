//! The plan's rules beyond its JSON shape (seed 003), each broken one a
//! line that names the task (or the endpoint) and the field: orders unique
//! and sequential from 1; `status`, `category`, endpoint `method` and
//! `auth` from their lists; dependencies that exist and form no cycle;
//! every implementation task with critical criteria, the files it works on,
//! security requirements when it touches auth, payments or personal data,
//! and a critique that names it (with its description) and waits for it;
//! skill ids the pipeline knows.

use std::collections::BTreeSet;

use super::{MAX_TIMEOUT_SECONDS, Plan, Task};

/// The one `status` a plan has.
pub const STATUS: &str = "planned";
/// The one `category` a plan has.
pub const CATEGORY: &str = "backend";
/// An endpoint's `method`: an HTTP method.
pub const METHODS: [&str; 7] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];
/// An endpoint's `auth`.
pub const AUTH: [&str; 2] = ["required", "public"];

/// Words that make a task sensitive, by what it touches.
const SENSITIVE: [(&str, &[&str]); 3] = [
    (
        "auth",
        &[
            "auth",
            "authn",
            "authz",
            "authentication",
            "authenticate",
            "authorization",
            "authorize",
            "login",
            "logins",
            "logout",
            "password",
            "passwords",
            "credential",
            "credentials",
            "jwt",
            "oauth",
            "sso",
            "okta",
            "saml",
        ],
    ),
    (
        "payments",
        &[
            "payment", "payments", "pay", "billing", "stripe", "invoice", "invoices", "checkout",
            "refund", "refunds", "paypal",
        ],
    ),
    (
        "personal data",
        &[
            "pii",
            "gdpr",
            "personal",
            "ssn",
            "email",
            "emails",
            "phone",
            "birthdate",
        ],
    ),
];

/// Word stems that make a criterion a security requirement.
const SECURITY: [&str; 22] = [
    "secur",
    "auth",
    "permission",
    "access",
    "encrypt",
    "hash",
    "signature",
    "signed",
    "verif",
    "secret",
    "csrf",
    "xss",
    "injection",
    "saniti",
    "redact",
    "mask",
    "privacy",
    "pii",
    "tls",
    "privilege",
    "token",
    "audit",
];

/// The lowercase words of `text`.
fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
}

/// What a maker touches that needs security requirements (`auth`,
/// `payments`, `personal data`) and the word that says so, judged by its
/// name, description, requirements and files.
pub fn sensitive(task: &Task) -> Option<(&'static str, String)> {
    let requirements = task
        .inputs
        .get("requirements")
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default();
    let files = task.files().join(" ");
    let text = [
        task.task_name.as_str(),
        &task.description,
        requirements,
        &files,
    ]
    .join(" ");
    words(&text).find_map(|w| {
        SENSITIVE
            .iter()
            .find(|(_, list)| list.contains(&w.as_str()))
            .map(|(what, _)| (*what, w.clone()))
    })
}

/// Whether the task states a security requirement: a criterion about
/// security, or `inputs.security_requirements`.
fn has_security_requirement(task: &Task) -> bool {
    let stated = task
        .inputs
        .get("security_requirements")
        .is_some_and(|v| match v {
            serde_json::Value::String(s) => !s.trim().is_empty(),
            serde_json::Value::Array(a) => !a.is_empty(),
            serde_json::Value::Null
            | serde_json::Value::Bool(_)
            | serde_json::Value::Number(_)
            | serde_json::Value::Object(_) => false,
        });
    stated
        || task
            .validation_criteria
            .all()
            .flat_map(|c| words(c).collect::<Vec<_>>())
            .any(|w| SECURITY.iter().any(|s| w.starts_with(s)))
}

impl Plan {
    /// Everything wrong with the plan beyond its JSON shape, each in words
    /// that name the task and the field. A task's `skill_id` must be one of
    /// `skills`, unless that is empty.
    pub fn mistakes(&self, skills: &[&str]) -> Vec<String> {
        let mut errors = self.header_mistakes();
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
            if !skills.is_empty() && !skills.contains(&t.skill_id.as_str()) {
                errors.push(format!(
                    "{name}: skill_id `{}` is not a skill of this pipeline (one of: {})",
                    t.skill_id,
                    skills.join(", ")
                ));
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
                } else if self.task(*d).is_none() {
                    errors.push(format!("{name} depends on task {d}, which does not exist"));
                }
            }
            if t.is_critique() {
                self.critique_mistakes(t, &name, &mut errors);
            } else {
                self.maker_mistakes(t, &name, &mut errors);
            }
        }
        errors.extend(self.sequence_mistakes());
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

    /// The plan's own fields and its architecture's endpoints.
    fn header_mistakes(&self) -> Vec<String> {
        let mut errors = Vec::new();
        for (field, value, wanted) in [
            ("status", &self.status, STATUS),
            ("category", &self.category, CATEGORY),
        ] {
            match value.as_deref() {
                Some(v) if v == wanted => {}
                Some(v) => errors.push(format!("{field} is `{v}`; it must be `{wanted}`")),
                None => errors.push(format!("{field} is missing; it must be `{wanted}`")),
            }
        }
        if self.architecture.summary.trim().is_empty() {
            errors.push("architecture.summary is empty".to_owned());
        }
        for (i, e) in self.architecture.endpoints.iter().enumerate() {
            let name = format!("architecture.endpoints[{i}] ({} {})", e.method, e.path);
            if !METHODS
                .iter()
                .any(|m| m.eq_ignore_ascii_case(e.method.trim()))
            {
                errors.push(format!(
                    "{name}: method `{}` is not an HTTP method (one of: {})",
                    e.method,
                    METHODS.join(", ")
                ));
            }
            if !AUTH.contains(&e.auth.trim()) {
                errors.push(format!(
                    "{name}: auth is `{}`; it must be `required` or `public`",
                    e.auth
                ));
            }
        }
        if self.tasks.is_empty() {
            errors.push("tasks is empty: the plan needs at least one task".to_owned());
        }
        errors
    }

    /// Orders that do not run 1, 2, 3… (a gap after the orders before).
    fn sequence_mistakes(&self) -> Vec<String> {
        let mut orders: Vec<&Task> = self.tasks.iter().filter(|t| t.task_order > 0).collect();
        orders.sort_by_key(|t| t.task_order);
        orders.dedup_by_key(|t| t.task_order);
        let mut expected = 1;
        let mut errors = Vec::new();
        for t in orders {
            if t.task_order != expected {
                errors.push(format!(
                    "task {} ({}): task_order must be sequential from 1; expected {expected}",
                    t.task_order, t.task_name
                ));
            }
            expected = t.task_order + 1;
        }
        errors
    }

    /// A critique names an existing maker it waits for, with its description.
    fn critique_mistakes(&self, t: &Task, name: &str, errors: &mut Vec<String>) {
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
        let described = t
            .preceding("description")
            .and_then(serde_json::Value::as_str)
            .is_some_and(|d| !d.trim().is_empty());
        if t.checks().is_some() && !described {
            errors.push(format!(
                "{name}: inputs.preceding_task.description is missing: say what the task it checks was to do"
            ));
        }
    }

    /// A maker has critical criteria, files, a critique, and security
    /// requirements when it touches something sensitive.
    fn maker_mistakes(&self, t: &Task, name: &str, errors: &mut Vec<String>) {
        if t.validation_criteria.critical.is_empty() {
            errors.push(format!(
                "{name} has no validation_criteria.critical: say what must pass"
            ));
        }
        if t.files().is_empty() {
            errors.push(format!(
                "{name} names no files: list what it creates or changes in inputs.files_to_create and inputs.files_to_modify"
            ));
        }
        if let Some((what, word)) = sensitive(t)
            && !has_security_requirement(t)
        {
            errors.push(format!(
                "{name} touches {what} (“{word}”) but states no security requirement: add one to validation_criteria"
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
