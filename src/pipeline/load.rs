//! Reading `skills.toml` into a [`Pipeline`], with every mistake placed.
//!
//! The file is parsed with spans kept. Structural errors the TOML parser finds
//! (bad syntax, a wrong type above the phase level) come back as one
//! [`Diagnostic`]; inside a phase every key is checked by hand so that all the
//! mistakes of a file — a missing prompt, a wrong type, a duplicate id, an
//! input naming an unknown or later phase — are reported together, each with
//! file, line and column. A phase as read, and the checks across phases,
//! are in [`super::draft`].

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::DeserializeOwned;
use toml::{Spanned, Value};

use super::draft::{DraftPhase, check_references};
use super::{Budget, DEFAULT_MAX_ATTEMPTS, Phase, Pipeline};
pub use crate::diagnostic::Diagnostic;
use crate::formats::OutputKind;
use crate::policy::Rules;

/// The default `skills.toml`, compiled in as the fallback.
pub const BUILTIN_SKILLS: &str = include_str!("../../skills.toml");

/// The text of a skills file and where it came from.
#[derive(Clone, Debug)]
pub struct SkillsFile {
    /// `None` for the built-in file.
    pub path: Option<PathBuf>,
    pub text: String,
}

impl SkillsFile {
    /// The compiled-in default.
    pub fn builtin() -> Self {
        Self {
            path: None,
            text: BUILTIN_SKILLS.to_owned(),
        }
    }

    /// Reads a file from disk; a file that cannot be read or is not UTF-8
    /// is a positioned mistake.
    pub fn read(path: &Path) -> Result<Self, Diagnostic> {
        let file = path.display().to_string();
        let bytes = std::fs::read(path)
            .map_err(|e| Diagnostic::at(&file, "", None, format!("cannot read: {e}")))?;
        Ok(Self {
            path: Some(path.to_owned()),
            text: crate::diagnostic::decode(&file, bytes)?,
        })
    }

    /// How the file is named in messages.
    pub fn display_name(&self) -> String {
        self.path.as_ref().map_or_else(
            || "<built-in skills.toml>".to_owned(),
            |p| p.display().to_string(),
        )
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    #[expect(dead_code, reason = "Read so that a future format can be told apart.")]
    version: Option<u32>,
    default_pipeline: Option<Spanned<String>>,
    pipelines: Spanned<BTreeMap<String, Spanned<RawPipeline>>>,
    /// Shared by every pipeline of the file.
    #[serde(default)]
    specialists: Vec<Spanned<super::Specialist>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPipeline {
    title: Option<String>,
    max_attempts: Option<Spanned<u32>>,
    /// The language every role answers in, unless a phase says otherwise.
    language: Option<String>,
    budget: Option<Budget>,
    #[serde(default)]
    permissions: Rules,
    /// Path patterns for `write_file`: `"internal/*" = "allow"`.
    #[serde(default)]
    write_permissions: Rules,
    /// The same rules in the form agent definitions write them:
    /// `[….permission.bash]` for commands, `.edit` and `.write` for files.
    #[serde(default)]
    permission: PermissionTable,
    #[serde(default)]
    sandbox: crate::sandbox::Reach,
    max_tool_rounds: Option<u32>,
    max_format_retries: Option<u32>,
    max_return_rounds: Option<u32>,
    /// Glob patterns (`*` for anything) a request matches to run this one.
    #[serde(default)]
    triggers: Vec<String>,
    max_parallel_tasks: Option<u32>,
    max_task_rounds: Option<u32>,
    #[serde(default)]
    phases: Vec<Spanned<BTreeMap<String, Spanned<Value>>>>,
    /// Roles a person summons at a gate (`[[pipelines.NAME.utilities]]`).
    #[serde(default)]
    utilities: Vec<Spanned<super::utility::RawUtility>>,
}

/// `permission = { bash, edit, write }`: command rules, and file rules for
/// editing and writing (one tool, `write_file`, does both here).
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PermissionTable {
    #[serde(default)]
    bash: Rules,
    #[serde(default)]
    edit: Rules,
    #[serde(default)]
    write: Rules,
}

/// `rules` with `more` added; a pattern in both keeps the stricter verdict.
fn with_rules(mut rules: Rules, more: Rules) -> Rules {
    for (pattern, verdict) in more {
        let kept = rules.entry(pattern).or_insert(verdict);
        *kept = (*kept).max(verdict);
    }
    rules
}

const PHASE_KEYS: [&str; 18] = [
    "id",
    "role",
    "artifact",
    "outputs",
    "inputs",
    "gate",
    "prompt",
    "model",
    "temperature",
    "language",
    "tools",
    "permissions",
    "sandbox",
    "output",
    "max_output_tokens",
    "returns_to",
    "tasks_from",
    "skills",
];

/// Collects diagnostics against one file's text.
pub(super) struct Checker<'a> {
    file: &'a SkillsFile,
    name: String,
    found: Vec<Diagnostic>,
}

impl Checker<'_> {
    /// How many mistakes have been found so far.
    pub(super) fn count(&self) -> usize {
        self.found.len()
    }

    /// The file's text, to place items of a list by.
    pub(super) fn text(&self) -> &str {
        &self.file.text
    }

    pub(super) fn error(&mut self, span: Option<Range<usize>>, message: impl Into<String>) {
        self.found
            .push(Diagnostic::at(&self.name, &self.file.text, span, message));
    }

    /// Takes key `key` of a phase table as a `T`, reporting a missing key or
    /// a value of the wrong type.
    pub(super) fn take<T: DeserializeOwned>(
        &mut self,
        table: &mut BTreeMap<String, Spanned<Value>>,
        key: &str,
        table_span: &Range<usize>,
        required: bool,
    ) -> Option<Spanned<T>> {
        let Some(value) = table.remove(key) else {
            if required {
                self.error(
                    Some(table_span.clone()),
                    format!("phase is missing `{key}`"),
                );
            }
            return None;
        };
        let span = value.span();
        match T::deserialize(value.into_inner()) {
            Ok(v) => Some(Spanned::new(span, v)),
            Err(e) => {
                self.error(Some(span), format!("`{key}`: {}", e.to_string().trim()));
                None
            }
        }
    }
}

/// Places each string of an array value: the array's span is known, its
/// items' are found by looking for each quoted item in turn within it.
pub(super) fn item_spans(text: &str, list: Spanned<Vec<String>>) -> Vec<Spanned<String>> {
    let span = list.span();
    let mut from = span.start;
    list.into_inner()
        .into_iter()
        .map(|item| {
            let window = text.get(from..span.end).unwrap_or("");
            let found = [format!("\"{item}\""), format!("'{item}'")]
                .iter()
                .filter_map(|quoted| window.find(quoted.as_str()).map(|at| (at, quoted.len())))
                .min();
            let item_span = found.map_or(span.clone(), |(at, len)| {
                from += at + len;
                (from - len)..from
            });
            Spanned::new(item_span, item)
        })
        .collect()
}

pub(super) fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

/// Parses and checks a skills file and returns the pipeline named `name`
/// (or the file's default), or every mistake found.
pub fn load_pipeline(file: &SkillsFile, name: Option<&str>) -> Result<Pipeline, Vec<Diagnostic>> {
    let mut checker = Checker {
        file,
        name: file.display_name(),
        found: Vec::new(),
    };
    let raw: RawFile = match toml::from_str(&file.text) {
        Ok(raw) => raw,
        Err(e) => return Err(vec![Diagnostic::from_toml(&checker.name, &file.text, &e)]),
    };
    let pipelines_span = raw.pipelines.span();
    let mut pipelines = raw.pipelines.into_inner();
    let wanted = match (name, &raw.default_pipeline) {
        (Some(name), _) => name.to_owned(),
        (None, Some(default)) => default.get_ref().clone(),
        (None, None) if pipelines.len() == 1 => {
            pipelines.keys().next().cloned().unwrap_or_default()
        }
        (None, None) => {
            checker.error(
                Some(pipelines_span),
                "several pipelines and no `default_pipeline` to choose one",
            );
            return Err(checker.found);
        }
    };
    let Some(raw_pipeline) = pipelines.remove(&wanted) else {
        let span = match (&raw.default_pipeline, name) {
            (Some(d), None) => d.span(),
            _ => pipelines_span,
        };
        let known: Vec<_> = pipelines.keys().map(String::as_str).collect();
        checker.error(
            Some(span),
            format!(
                "no pipeline `{wanted}` (the file has: {})",
                known.join(", ")
            ),
        );
        return Err(checker.found);
    };
    let table_span = raw_pipeline.span();
    let raw_pipeline = raw_pipeline.into_inner();
    let mut pipeline = check_pipeline(&mut checker, &wanted, raw_pipeline, &table_span);
    let mut specialists = Vec::new();
    for s in raw.specialists {
        let span = s.span();
        let s = s.into_inner();
        let guided = !s.guidance.trim().is_empty();
        if s.name.trim().is_empty() || guided == s.consults() {
            checker.error(
                Some(span),
                "a specialist needs a `name` and either a `prompt` (it is consulted) or \
                 `guidance` (pasted as it is), not both",
            );
        } else if s.max_output_tokens == Some(0) {
            checker.error(
                Some(span),
                format!(
                    "specialist `{}`: `max_output_tokens` must be above 0",
                    s.name
                ),
            );
        } else if s.keywords.iter().all(|k| k.trim().is_empty()) {
            checker.error(
                Some(span),
                format!("specialist `{}` has no `keywords`", s.name),
            );
        } else {
            specialists.push(s);
        }
    }
    if let Some(p) = pipeline.as_mut() {
        p.specialists = specialists;
    }
    checker.found.sort_by_key(|d| (d.line, d.column));
    match pipeline {
        Some(p) if checker.found.is_empty() => Ok(p),
        _ => Err(checker.found),
    }
}

/// The names of the file's pipelines, the default first.
pub fn pipeline_names(file: &SkillsFile) -> Result<Vec<String>, Vec<Diagnostic>> {
    let raw: RawFile = toml::from_str(&file.text)
        .map_err(|e| vec![Diagnostic::from_toml(&file.display_name(), &file.text, &e)])?;
    let default = raw.default_pipeline.map(Spanned::into_inner);
    let mut names: Vec<String> = raw.pipelines.into_inner().into_keys().collect();
    names.sort_by_key(|n| Some(n) != default.as_ref());
    Ok(names)
}

/// Every pipeline's triggers, by name, and the default's name: what
/// [`super::pick`] chooses a pipeline for a request by. `None` when the
/// file cannot be read (loading it then says why).
pub(super) fn triggers(file: &SkillsFile) -> Option<super::pick::Triggers> {
    let raw: RawFile = toml::from_str(&file.text).ok()?;
    let default = raw.default_pipeline.map(Spanned::into_inner);
    let pipelines = raw
        .pipelines
        .into_inner()
        .into_iter()
        .map(|(name, p)| (name, p.into_inner().triggers))
        .collect();
    Some(super::pick::Triggers { default, pipelines })
}

fn check_pipeline(
    checker: &mut Checker<'_>,
    name: &str,
    raw: RawPipeline,
    span: &Range<usize>,
) -> Option<Pipeline> {
    let max_attempts = match raw.max_attempts {
        Some(m) if *m.get_ref() == 0 => {
            checker.error(Some(m.span()), "`max_attempts` must be at least 1");
            DEFAULT_MAX_ATTEMPTS
        }
        Some(m) => m.into_inner(),
        None => DEFAULT_MAX_ATTEMPTS,
    };
    if raw.phases.is_empty() {
        checker.error(
            Some(span.clone()),
            format!("pipeline `{name}` has no phases"),
        );
        return None;
    }
    let drafts: Vec<DraftPhase> = raw
        .phases
        .into_iter()
        .map(|t| check_phase(checker, t))
        .collect();
    check_references(checker, &drafts);
    let roles: Vec<Option<String>> = drafts.iter().map(|d| d.role.clone()).collect();
    let phases = drafts
        .into_iter()
        .enumerate()
        .map(|(i, d)| {
            d.complete(
                || match roles.get(i + 1) {
                    Some(Some(next)) => format!("Ready to assign {next}?"),
                    Some(None) => "Ready to hand off?".to_owned(),
                    None => "Ready to finish the session?".to_owned(),
                },
                raw.language.as_ref(),
            )
        })
        .collect::<Option<Vec<Phase>>>()?;
    let utilities = super::utility::check(checker, raw.utilities, &phases);
    Some(Pipeline {
        name: name.to_owned(),
        title: raw.title.unwrap_or_else(|| name.to_owned()),
        max_attempts,
        budget: raw.budget,
        permissions: with_rules(raw.permissions, raw.permission.bash),
        write_permissions: with_rules(
            with_rules(raw.write_permissions, raw.permission.edit),
            raw.permission.write,
        ),
        sandbox: raw.sandbox,
        max_tool_rounds: raw.max_tool_rounds.unwrap_or(super::DEFAULT_TOOL_ROUNDS),
        max_format_retries: raw
            .max_format_retries
            .unwrap_or(super::DEFAULT_FORMAT_RETRIES),
        max_return_rounds: raw
            .max_return_rounds
            .unwrap_or(super::DEFAULT_RETURN_ROUNDS),
        triggers: raw.triggers,
        max_parallel_tasks: raw
            .max_parallel_tasks
            .unwrap_or(super::DEFAULT_PARALLEL_TASKS)
            .max(1),
        max_task_rounds: raw
            .max_task_rounds
            .unwrap_or(super::DEFAULT_TASK_ROUNDS)
            .max(1),
        specialists: Vec::new(),
        utilities,
        phases,
    })
}

fn check_phase(
    checker: &mut Checker<'_>,
    table: Spanned<BTreeMap<String, Spanned<Value>>>,
) -> DraftPhase {
    let span = table.span();
    let mut table = table.into_inner();
    let id = checker.take::<String>(&mut table, "id", &span, true);
    let role = checker.take::<String>(&mut table, "role", &span, true);
    let outputs = super::draft::take_outputs(checker, &mut table, &span);
    let artifact = checker.take::<String>(&mut table, "artifact", &span, outputs.is_empty());
    let inputs = checker
        .take::<Vec<String>>(&mut table, "inputs", &span, false)
        .map(|list| item_spans(&checker.file.text, list));
    let gate = checker.take::<String>(&mut table, "gate", &span, false);
    let prompt = checker.take::<String>(&mut table, "prompt", &span, true);
    let model = checker.take::<String>(&mut table, "model", &span, false);
    let temperature = checker.take::<f64>(&mut table, "temperature", &span, false);
    let language = checker.take::<String>(&mut table, "language", &span, false);
    let tools = checker
        .take::<Vec<String>>(&mut table, "tools", &span, false)
        .map(|list| item_spans(&checker.file.text, list))
        .unwrap_or_default();
    for tool in &tools {
        if !crate::tools::TOOL_NAMES.contains(&tool.get_ref().as_str()) {
            checker.error(
                Some(tool.span()),
                format!(
                    "unknown tool `{}` (tools: {})",
                    tool.get_ref(),
                    crate::tools::TOOL_NAMES.join(", ")
                ),
            );
        }
    }
    let permissions = checker
        .take::<Rules>(&mut table, "permissions", &span, false)
        .map(Spanned::into_inner)
        .unwrap_or_default();
    let sandbox = checker
        .take::<crate::sandbox::Reach>(&mut table, "sandbox", &span, false)
        .map(Spanned::into_inner);
    let output = checker
        .take::<OutputKind>(&mut table, "output", &span, false)
        .map(Spanned::into_inner)
        .unwrap_or_default();
    let max_output_tokens = checker.take::<u32>(&mut table, "max_output_tokens", &span, false);
    if let Some(cap) = &max_output_tokens
        && *cap.get_ref() < 16
    {
        checker.error(
            Some(cap.span()),
            format!(
                "`max_output_tokens` must be at least 16, not {}",
                cap.get_ref()
            ),
        );
    }
    let returns_to = checker.take::<String>(&mut table, "returns_to", &span, false);
    let tasks_from = checker.take::<String>(&mut table, "tasks_from", &span, false);
    let skills = checker
        .take::<Vec<String>>(&mut table, "skills", &span, false)
        .map(|list| item_spans(&checker.file.text, list))
        .unwrap_or_default();
    if let Some(t) = &temperature
        && !(0.0..=2.0).contains(t.get_ref())
    {
        checker.error(
            Some(t.span()),
            format!("`temperature` must be between 0 and 2, not {}", t.get_ref()),
        );
    }
    for (key, value) in table {
        checker.error(
            Some(value.span()),
            format!(
                "unknown key `{key}` in a phase (expected one of: {})",
                PHASE_KEYS.join(", ")
            ),
        );
    }
    if let Some(id) = &id
        && !valid_id(id.get_ref())
    {
        checker.error(
            Some(id.span()),
            format!(
                "phase id `{}` must be lowercase letters, digits, `-` or `_`",
                id.get_ref()
            ),
        );
    }
    for (field, value) in [
        ("role", &role),
        ("prompt", &prompt),
        ("artifact", &artifact),
    ] {
        if let Some(v) = value
            && v.get_ref().trim().is_empty()
        {
            checker.error(Some(v.span()), format!("`{field}` is empty"));
        }
    }
    DraftPhase {
        id,
        role: role.map(Spanned::into_inner),
        artifact,
        outputs,
        inputs: inputs.unwrap_or_default(),
        gate: gate.map(Spanned::into_inner),
        prompt: prompt.map(Spanned::into_inner),
        model: model.map(Spanned::into_inner),
        temperature: temperature.map(Spanned::into_inner),
        language: language.map(Spanned::into_inner),
        tools: tools.into_iter().map(Spanned::into_inner).collect(),
        permissions,
        sandbox,
        output,
        max_output_tokens: max_output_tokens.map(Spanned::into_inner),
        returns_to,
        tasks_from,
        skills,
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::policy::Verdict;

    /// Loads `text` as `skills.toml`, its mistakes as lines.
    pub(in crate::pipeline) fn load(text: &str) -> Result<Pipeline, Vec<String>> {
        let file = SkillsFile {
            path: Some(PathBuf::from("skills.toml")),
            text: text.to_owned(),
        };
        load_pipeline(&file, None).map_err(|d| d.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn a_skill_names_one_phase_and_finds_it() {
        let text = "[pipelines.p]\n\
            [[pipelines.p.phases]]\nid = \"a\"\nrole = \"A\"\nartifact = \"x\"\nprompt = \"p\"\nskills = [\"a-make\"]\n\
            [[pipelines.p.phases]]\nid = \"b\"\nrole = \"B\"\nartifact = \"y\"\nprompt = \"p\"\nskills = [\"b-test\", \"a-make\", \"Bad\"]\n";
        let errors = load(text).expect_err("a skill twice, a bad one");
        assert_eq!(
            errors,
            [
                "skills.toml:13:21: skill `a-make` must be lowercase letters, digits, `-` or `_`, and name one phase only",
                "skills.toml:13:31: skill `Bad` must be lowercase letters, digits, `-` or `_`, and name one phase only",
            ]
        );
        let fine = load(&text.replace(", \"a-make\", \"Bad\"", "")).expect("loads");
        assert_eq!(fine.skill_ids(), ["a-make", "b-test"]);
        assert_eq!(fine.skill_phase("b-test"), Some(1));
        assert_eq!(fine.skill_phase("c"), None);
    }

    /// An agent definition's permission table, as seed 004 writes it,
    /// loads as written: `bash` rules are command rules, `edit` and
    /// `write` rules are file rules (the stricter where both name a path).
    #[test]
    fn the_seeds_permission_table_loads_as_written() {
        let text = r#"
[pipelines.p]
[pipelines.p.permission.bash]
"*" = "ask"
"kubectl*" = "ask"
"npm*" = "allow"
"go*" = "allow"
"git push --force*" = "ask"
[pipelines.p.permission.edit]
"*" = "ask"
[pipelines.p.permission.write]
"*" = "ask"
"docs/*" = "allow"

[[pipelines.p.phases]]
id = "a"
role = "A"
artifact = "x"
prompt = "do a"
"#;
        let p = load(text).expect("valid");
        assert_eq!(p.permissions.get("npm*"), Some(&Verdict::Allow));
        assert_eq!(p.permissions.get("*"), Some(&Verdict::Ask));
        assert_eq!(p.write_permissions.get("*"), Some(&Verdict::Ask));
        assert_eq!(p.write_permissions.get("docs/*"), Some(&Verdict::Allow));
        let strict = with_rules(
            [("a".to_owned(), Verdict::Allow)].into(),
            [("a".to_owned(), Verdict::Deny)].into(),
        );
        assert_eq!(strict.get("a"), Some(&Verdict::Deny));
        let mistake = load(&text.replace(
            "[pipelines.p.permission.edit]",
            "[pipelines.p.permission.read]",
        ))
        .expect_err("an unknown kind of rule");
        assert!(mistake[0].contains("unknown field `read`"), "{mistake:?}");
    }

    #[test]
    fn the_builtin_file_loads_six_phases() {
        let p = load_pipeline(&SkillsFile::builtin(), None).expect("built-in skills.toml is valid");
        let ids: Vec<_> = p.phases.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "summarize",
                "plan",
                "implement",
                "test",
                "validate",
                "commit"
            ]
        );
        assert_eq!(p.phases[0].gate, "Ready to assign Solution Architect?");
    }

    const TWO: &str = r#"
[pipelines.p]
[[pipelines.p.phases]]
id = "a"
role = "A"
artifact = "x"
prompt = "do a"

[[pipelines.p.phases]]
id = "b"
role = "B"
artifact = "y"
inputs = ["a"]
prompt = "do b"
"#;

    #[test]
    fn sandbox_reach_is_read_per_pipeline_and_phase() {
        let text = TWO
            .replace(
                "[pipelines.p]\n",
                "[pipelines.p]\nsandbox = { read = [\"~/protos\"] }\n",
            )
            .replace(
                "prompt = \"do b\"",
                "prompt = \"do b\"\nsandbox = { network = true, write = [\"/srv/out\"] }",
            );
        let p = load(&text).expect("valid");
        assert_eq!(p.sandbox.read, ["~/protos"]);
        assert!(!p.sandbox.network);
        assert_eq!(p.phases[0].sandbox, None);
        let b = p.phases[1].sandbox.as_ref().expect("b's own");
        assert!(b.network);
        assert_eq!(b.write, ["/srv/out"]);
    }

    #[test]
    fn a_bad_sandbox_table_is_reported_with_its_position() {
        let text = TWO.replace(
            "prompt = \"do b\"",
            "prompt = \"do b\"\nsandbox = { netwrok = true }",
        );
        let errors = load(&text).expect_err("invalid");
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0].starts_with("skills.toml:15:11: `sandbox`: unknown field `netwrok`"),
            "{errors:?}"
        );
        let text = TWO.replace(
            "[pipelines.p]\n",
            "[pipelines.p]\nsandbox = { read = \"/opt\" }\n",
        );
        let errors = load(&text).expect_err("invalid");
        assert!(errors[0].starts_with("skills.toml:3:"), "{errors:?}");
    }

    #[test]
    fn gate_questions_default_to_the_next_role() {
        let p = load(TWO).expect("valid");
        assert_eq!(p.phases[0].gate, "Ready to assign B?");
        assert_eq!(p.phases[1].gate, "Ready to finish the session?");
        assert_eq!(p.max_attempts, DEFAULT_MAX_ATTEMPTS);
    }

    #[test]
    fn reports_every_mistake_with_positions() {
        let text = r#"
[pipelines.p]
[[pipelines.p.phases]]
id = "a"
role = "A"
artifact = "x"
inputs = ["nope"]
prompt = "do a"

[[pipelines.p.phases]]
id = "a"
role = 7
artifact = "y"

[[pipelines.p.phases]]
id = "c"
role = "C"
artifact = "z"
inputs = ["d"]
prompt = "do c"
colour = "red"

[[pipelines.p.phases]]
id = "d"
role = "D"
artifact = "w"
prompt = "do d"
output = "verdict"
returns_to = "d"

[[pipelines.p.phases]]
id = "e"
role = "E"
artifact = "v"
prompt = "do e"
output = "poem"
tasks_from = "a"
"#;
        let errors = load(text).expect_err("invalid");
        assert_eq!(
            errors,
            [
                "skills.toml:7:11: unknown phase `nope` in `inputs` (earlier phases: none)".to_owned(),
                "skills.toml:10:1: phase is missing `prompt`".to_owned(),
                "skills.toml:11:6: duplicate phase id `a`".to_owned(),
                "skills.toml:12:8: `role`: invalid type: integer `7`, expected a string".to_owned(),
                "skills.toml:19:11: input `d` runs after `c`; a phase reads only earlier phases".to_owned(),
                "skills.toml:21:10: unknown key `colour` in a phase (expected one of: id, role, artifact, outputs, inputs, gate, prompt, model, temperature, language, tools, permissions, sandbox, output, max_output_tokens, returns_to, tasks_from, skills)".to_owned(),
                "skills.toml:29:14: `returns_to` must name an earlier phase, not `d`".to_owned(),
                "skills.toml:36:10: `output`: unknown variant `poem`, expected one of `markdown`, `plan`, `verdict`".to_owned(),
                "skills.toml:37:14: `tasks_from` must name an earlier phase whose output is \"plan\", not `a`".to_owned(),
            ],
        );
    }

    #[test]
    fn duplicate_ids_are_placed_at_the_second_one() {
        let text = TWO
            .replace("id = \"b\"", "id = \"a\"")
            .replace("inputs = [\"a\"]\n", "");
        let errors = load(&text).expect_err("duplicate");
        assert_eq!(errors, ["skills.toml:10:6: duplicate phase id `a`"]);
    }

    #[test]
    fn syntax_errors_are_placed() {
        let errors = load("[pipelines.p\nid = 1").expect_err("syntax");
        assert_eq!(errors.len(), 1);
        assert!(errors[0].starts_with("skills.toml:1:"), "{errors:?}");
    }

    #[test]
    fn a_wrong_type_above_phases_is_placed() {
        let errors =
            load("[pipelines.p]\nmax_attempts = \"three\"\nphases = []").expect_err("type");
        assert!(errors[0].starts_with("skills.toml:2:16: "), "{errors:?}");
    }

    #[test]
    fn a_pipeline_language_is_inherited_unless_a_phase_sets_its_own() {
        let text = TWO
            .replace("[pipelines.p]", "[pipelines.p]\nlanguage = \"Chinese\"")
            .replace(
                "prompt = \"do b\"",
                "prompt = \"do b\"\nlanguage = \"English\"",
            );
        let p = load(&text).expect("valid");
        assert_eq!(p.phases[0].language.as_deref(), Some("Chinese"));
        assert_eq!(p.phases[1].language.as_deref(), Some("English"));
        let brief = crate::provider::Brief::new("r", p.phases[0].clone());
        assert!(crate::agent::messages(&brief)[0].content.ends_with(
            "\n\nLanguage: write your answer in Chinese, unless the request asks for \
                     another language."
        ));
    }
}
