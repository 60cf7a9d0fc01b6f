//! Structured artifacts: answers the engine must read, not only show.
//!
//! Most phases answer in Markdown. A phase whose `output` in skills.toml is
//! `plan` answers with a maker→checker plan object, and one whose `output` is
//! `verdict` with a QA verdict. [`schema`] makes the JSON Schema a server
//! can constrain the answer to, from the same types. [`json_object`] finds
//! the object in a model's answer (a `json` fence first, then an object that
//! parses among prose; code in other fences never counts); [`plan`] and
//! [`verdict`] check it, listing every mistake with the part of the answer
//! it is about, so the model can be asked again with them, and render it as
//! Markdown for people and for the roles downstream.

pub mod plan;
pub mod report;
pub mod schema;
pub mod sections;
pub mod verdict;

use serde::{Deserialize, Serialize};

pub use plan::Plan;
pub use verdict::Verdict;

/// How a phase's answer is read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputKind {
    /// Free Markdown, read only by people and later roles.
    #[default]
    Markdown,
    /// Seed 003's plan: architecture and maker→checker tasks.
    Plan,
    /// A QA verdict: pass or fail, with issues.
    Verdict,
}

impl OutputKind {
    /// Takes a reference, as serde's `skip_serializing_if` passes one.
    pub fn is_markdown(&self) -> bool {
        *self == Self::Markdown
    }

    /// How a role is told to answer, for a structured kind.
    pub fn instructions(self) -> Option<&'static str> {
        match self {
            Self::Markdown => None,
            Self::Plan => Some(PLAN_SHAPE),
            Self::Verdict => Some(VERDICT_SHAPE),
        }
    }

    /// The output cap a role answering in this kind gets unless skills.toml
    /// sets `max_output_tokens`: a plan needs room, a verdict little.
    pub fn default_cap(self) -> u32 {
        match self {
            Self::Markdown | Self::Plan => 4096,
            Self::Verdict => 1024,
        }
    }

    /// The schema a structured kind's answer is held to.
    pub fn schema(self) -> Option<schema::Schema> {
        match self {
            Self::Markdown => None,
            Self::Plan => Some(schema::plan()),
            Self::Verdict => Some(schema::verdict()),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Markdown => "markdown",
            Self::Plan => "plan",
            Self::Verdict => "verdict",
        }
    }
}

const PLAN_SHAPE: &str = r#"Answer with one JSON object in a ```json fence, shaped like this:
{"status": "planned", "category": "backend",
 "architecture": {"summary": "…", "endpoints": [{"method": "POST", "path": "/api/v1/…", "purpose": "…", "auth": "required|public"}],
                  "data_models": [{"name": "…", "purpose": "…", "table": "…", "key_fields": ["id"]}],
                  "services": ["Name - purpose"], "external_integrations": ["…"]},
 "tasks": [
  {"task_name": "Implement …", "description": "…", "skill_id": "backend-implement", "task_order": 1, "dependencies": [],
   "inputs": {"requirements": "…", "files_to_create": ["…"], "files_to_modify": ["…"]},
   "validation_criteria": {"critical": ["must pass"], "expected": ["should pass"], "nice_to_have": ["optional"]},
   "timeout_seconds": 3600},
  {"task_name": "Critique: …", "description": "Check task 1 against its criteria", "skill_id": "backend-critique",
   "task_order": 2, "dependencies": [1],
   "inputs": {"preceding_task": {"task_order": 1, "skill_id": "backend-implement", "task_name": "Implement …", "description": "…"},
              "validation_criteria": {"critical": ["must pass"], "expected": ["should pass"], "nice_to_have": ["optional"]}},
   "validation_criteria": {"critical": ["returns a verdict with actionable feedback"]}, "timeout_seconds": 1800}]}
Rules: status is "planned" and category "backend"; an endpoint's method is an HTTP method and its auth "required" or "public". task_order runs 1, 2, 3… with no gaps; dependencies name earlier tasks. Every implementation task names the files it creates or modifies, has critical criteria, states a security requirement in its criteria when it touches authentication, payments or personal data, and is followed by a critique task that depends on it, names it in inputs.preceding_task (with its description) and carries a copy of its validation_criteria, all three levels."#;

const VERDICT_SHAPE: &str = r#"Answer with one JSON object in a ```json fence:
{"verdict": "pass" | "fail",
 "issues": [{"severity": "critical|high|medium|low", "title": "…", "detail": "…", "criterion": "AC-n"}]}
A fail must list at least one issue; each issue says what is wrong and which acceptance criterion it breaks."#;

/// A structured answer as far as it could be read.
#[derive(Clone, Debug, PartialEq)]
pub enum Read {
    Plan(Plan),
    Verdict(Verdict),
}

impl Read {
    /// The answer as Markdown: what people see and later roles are handed.
    pub fn to_markdown(&self) -> String {
        match self {
            Self::Plan(p) => p.to_markdown(),
            Self::Verdict(v) => v.to_markdown(),
        }
    }
}

/// What an answer says around its JSON object (an introduction, evidence),
/// without the object and its fence.
pub fn prose(text: &str) -> String {
    let without = match json_object(text) {
        Some(object) => text.replacen(object, "", 1),
        None => return text.trim().to_owned(),
    };
    without
        .lines()
        .filter(|l| {
            let l = l.trim();
            l != "```" && !l.eq_ignore_ascii_case("```json")
        })
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_owned()
}

/// Reads `text` as `kind` requires: `Ok(None)` for Markdown, the checked
/// structure, or every mistake found. A plan may name any skill id.
pub fn read(kind: OutputKind, text: &str) -> Result<Option<Read>, Vec<String>> {
    read_with(kind, text, &[])
}

/// [`read`], a plan's tasks held to the pipeline's `skills` (when it names
/// any).
pub fn read_with(
    kind: OutputKind,
    text: &str,
    skills: &[&str],
) -> Result<Option<Read>, Vec<String>> {
    match kind {
        OutputKind::Markdown => Ok(None),
        OutputKind::Plan => plan::read_with(text, skills).map(|p| Some(Read::Plan(p))),
        OutputKind::Verdict => verdict::read(text).map(|v| Some(Read::Verdict(v))),
    }
}

/// The text of the JSON object in a model's answer, found in this order:
/// the whole answer, when it is an object that parses; the first `json`
/// fence that holds an object (returned even if it does not parse, so the
/// error can say why); the first balanced `{…}` that parses, in prose or in a
/// fence with no language. Fences in any other language (Go, Rust, a shell)
/// are never looked into. When nothing parses: the first candidate, so the
/// error names what is wrong with it.
pub fn json_object(text: &str) -> Option<&str> {
    let trimmed = text.trim();
    let whole = trimmed.starts_with('{') && trimmed.ends_with('}');
    // A whole answer that parses is the answer, whatever its strings hold
    // (a model held to a schema may write a fence inside one).
    if whole && parses(trimmed) {
        return Some(trimmed);
    }
    let blocks = blocks(text);
    for block in &blocks {
        if let Block::Fence { info, body } = block
            && info.eq_ignore_ascii_case("json")
            && body.trim_start().starts_with('{')
        {
            return Some(body.trim());
        }
    }
    let searched = || {
        blocks.iter().filter_map(|b| match b {
            Block::Prose(t) => Some(*t),
            Block::Fence { info, body } => info.is_empty().then_some(*body),
        })
    };
    if let Some(found) = searched().find_map(|t| objects(t).find(|o| parses(o))) {
        return Some(found);
    }
    if whole {
        return Some(trimmed);
    }
    searched().find_map(|t| {
        let start = t.find('{')?;
        balanced(&t[start..]).or_else(|| t.rfind('}').filter(|e| *e > start).map(|e| &t[start..=e]))
    })
}

fn parses(text: &str) -> bool {
    serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&escape_controls(text))
        .is_ok()
}

/// `text` with the raw line breaks, tabs and other control characters inside
/// its strings escaped, as JSON requires: models (and some grammar-held
/// servers) write multi-line strings raw, which is otherwise all they got
/// wrong.
fn escape_controls(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    let mut in_string = false;
    let mut escaped = false;
    for c in text.chars() {
        if in_string && !escaped && c.is_control() {
            match c {
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                other => {
                    let _ = std::fmt::Write::write_fmt(
                        &mut out,
                        format_args!("\\u{:04x}", u32::from(other)),
                    );
                }
            }
            continue;
        }
        match (in_string, escaped, c) {
            (true, true, _) => escaped = false,
            (true, false, '\\') => escaped = true,
            (_, false, '"') => in_string = !in_string,
            _ => {}
        }
        out.push(c);
    }
    std::borrow::Cow::Owned(out)
}

/// A stretch of an answer: prose, or the body of a fenced code block with
/// its info string's first word.
enum Block<'a> {
    Prose(&'a str),
    Fence { info: &'a str, body: &'a str },
}

/// A line that starts (after indentation) with three backticks.
pub(crate) struct FenceLine<'a> {
    /// What follows the backticks, up to the first space: the language
    /// a fence it opens is in.
    pub info: &'a str,
    /// Whether it could close an open fence: nothing after the backticks
    /// but more backticks and whitespace.
    pub closes: bool,
}

/// `line` as a code fence line, if it is one. A fence opens on any such
/// line and closes only on one that [`FenceLine::closes`].
pub(crate) fn fence_line(line: &str) -> Option<FenceLine<'_>> {
    let rest = line.trim_start().strip_prefix("```")?;
    let info = rest.split_whitespace().next().unwrap_or("");
    Some(FenceLine {
        info: info.trim_start_matches('`'),
        closes: rest.trim().trim_start_matches('`').is_empty(),
    })
}

/// Splits `text` at its code fences (lines starting with three backticks);
/// an unclosed fence runs to the end.
fn blocks(text: &str) -> Vec<Block<'_>> {
    let mut out = Vec::new();
    let mut at = 0;
    let mut open: Option<(&str, usize)> = None;
    let mut prose_from = 0;
    for line in text.split_inclusive('\n') {
        let start = at;
        at += line.len();
        let Some(fence) = fence_line(line) else {
            continue;
        };
        match open {
            None => {
                out.push(Block::Prose(&text[prose_from..start]));
                open = Some((fence.info, at));
            }
            Some((info, from)) if fence.closes => {
                out.push(Block::Fence {
                    info,
                    body: &text[from..start],
                });
                open = None;
                prose_from = at;
            }
            Some(_) => {}
        }
    }
    match open {
        Some((info, from)) => out.push(Block::Fence {
            info,
            body: &text[from..],
        }),
        None => out.push(Block::Prose(&text[prose_from..])),
    }
    out
}

/// Every balanced `{…}` in `text`, outermost first, strings respected.
fn objects(text: &str) -> impl Iterator<Item = &str> {
    let mut from = 0;
    std::iter::from_fn(move || {
        loop {
            let start = from + text.get(from..)?.find('{')?;
            from = start + 1;
            if let Some(object) = balanced(&text[start..]) {
                from = start + object.len();
                return Some(object);
            }
        }
    })
}

/// The balanced object `text` starts with (at a `{`), if it closes.
fn balanced(text: &str) -> Option<&str> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                (false, _) => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '{' => depth += 1,
            '}' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(&text[..=i]);
                }
            }
            _ => {}
        }
    }
    None
}

/// Text for one Markdown table cell: one line, no pipes.
fn cell(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "/")
}

/// Parses the object in `text` as `T`, or says why not in words a model can
/// act on.
fn parse<T: serde::de::DeserializeOwned>(text: &str, what: &str) -> Result<T, Vec<String>> {
    let Some(object) = json_object(text) else {
        return Err(vec![format!(
            "no JSON object found: answer with the {what} as one JSON object, bare or in a ```json fence"
        )]);
    };
    let fixed = escape_controls(object);
    serde_json::from_str(&fixed).map_err(|e| {
        vec![format!(
            "the {what} is not valid: {e}{}",
            offending(&fixed, &e)
        )]
    })
}

/// The part of `object` a parse error points at, quoted: `near «…»`, the
/// 60 characters up to and around the line and column the error names.
fn offending(object: &str, error: &serde_json::Error) -> String {
    let Some(line) = object.lines().nth(error.line().saturating_sub(1)) else {
        return String::new();
    };
    let chars: Vec<char> = line.chars().collect();
    let at = error.column().saturating_sub(1).min(chars.len());
    let from = at.saturating_sub(40);
    let to = (at + 20).min(chars.len());
    let part: String = chars[from..to].iter().collect();
    if part.trim().is_empty() {
        return String::new();
    }
    format!(" near «{}»", part.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_object_bare_fenced_or_among_prose() {
        assert_eq!(json_object(" {\"a\":1}\n"), Some("{\"a\":1}"));
        assert_eq!(
            json_object("Here it is:\n```json\n{\"a\": 1}\n```\nDone."),
            Some("{\"a\": 1}")
        );
        assert_eq!(
            json_object("```text\nnot this\n```\n```\n{\"b\":2}\n```"),
            Some("{\"b\":2}")
        );
        assert_eq!(json_object("The verdict: {\"v\":0} ok"), Some("{\"v\":0}"));
        assert_eq!(json_object("no object here"), None);
        assert_eq!(json_object("} backwards {"), None);
        assert_eq!(
            prose("Checked 3 criteria.\n```json\n{\"a\": 1}\n```\nAll met."),
            "Checked 3 criteria.\n\nAll met."
        );
    }

    #[test]
    fn code_in_other_fences_is_never_the_object() {
        let go = "Here is the handler:\n```go\nfunc h() { if x { return } }\nvar m = map[string]int{\"a\": 1}\n```\n";
        assert_eq!(json_object(go), None);
        let answer = format!("{go}And the verdict:\n```json\n{{\"verdict\": \"pass\"}}\n```\n");
        assert_eq!(json_object(&answer), Some("{\"verdict\": \"pass\"}"));
        // A Go struct literal that is valid JSON-looking is still skipped.
        let tricky = "```go\nx := T{}\n{\"a\": 1}\n```\nThen {\"b\": 2} in prose.";
        assert_eq!(json_object(tricky), Some("{\"b\": 2}"));
        // The json fence wins over an object in prose before it.
        let both = "Example {\"x\": 0}.\n```json\n{\"y\": 1}\n```";
        assert_eq!(json_object(both), Some("{\"y\": 1}"));
        // A broken json fence is still the answer, so its error is named.
        let broken = "```json\n{\"verdict\": pass}\n```";
        assert_eq!(json_object(broken), Some("{\"verdict\": pass}"));
        // Prose braces before the object do not swallow it; strings may hold braces.
        let prose = "Use {placeholders} sparingly. {\"title\": \"a } b {\", \"n\": 1} done";
        assert_eq!(
            json_object(prose),
            Some("{\"title\": \"a } b {\", \"n\": 1}")
        );
        // Two objects: the first that parses.
        assert_eq!(
            json_object("{bad} then {\"ok\": true}"),
            Some("{\"ok\": true}")
        );
        // An unclosed json fence still counts.
        assert_eq!(json_object("```json\n{\"a\": 1}"), Some("{\"a\": 1}"));
    }

    #[test]
    fn a_whole_object_wins_over_a_fence_inside_one_of_its_strings() {
        let answer = "{\"title\": \"x\n```json\n{\\\"no\\\": 1}\n```\n\", \"n\": 2}";
        assert_eq!(json_object(answer), Some(answer));
    }

    #[test]
    fn raw_line_breaks_inside_strings_are_read() {
        let raw = "{\"verdict\": \"pass\", \"issues\": [{\"severity\": \"low\", \"title\": \"two\nlines\ttab\"}]}";
        let read = verdict::read(raw).expect("read");
        assert_eq!(read.issues[0].title, "two\nlines\ttab");
        // Outside strings a line break stays; an escaped quote does not end one.
        assert_eq!(
            escape_controls("{\"a\":\n \"b\\\"\n\"}"),
            "{\"a\":\n \"b\\\"\\n\"}"
        );
    }

    #[test]
    fn an_unreadable_answer_quotes_the_offending_part() {
        let errors = read(
            OutputKind::Verdict,
            "```json\n{\n  verdict: \"pass\",\n  \"issues\": []\n}\n```",
        )
        .expect_err("unquoted key");
        assert!(
            errors[0].contains("key must be a string at line 2 column 3"),
            "{errors:?}"
        );
        assert!(
            errors[0].contains("near «verdict: \"pass\",»"),
            "{errors:?}"
        );
    }

    #[test]
    fn markdown_needs_no_reading_and_garbage_says_what_is_wrong() {
        assert_eq!(read(OutputKind::Markdown, "anything"), Ok(None));
        let errors = read(OutputKind::Verdict, "I think it is fine").expect_err("garbage");
        assert!(errors[0].contains("no JSON object found"), "{errors:?}");
        let errors = read(OutputKind::Plan, "{\"tasks\": [}").expect_err("broken");
        assert!(errors[0].contains("line 1 column"), "{errors:?}");
    }
}
