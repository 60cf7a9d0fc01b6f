//! The JSON Schema a structured answer is held to, generated from the very
//! types the parser reads ([`Plan`](super::Plan), [`Verdict`](super::Verdict))
//! with `schemars`, so what a server constrains a model to and what
//! handoff reads cannot drift apart.
//!
//! Subschemas are inlined (some servers' grammar builders do not follow
//! `$ref`), and the schema is made *strict* where it can be — every object
//! closed, every property required, as `OpenAI`'s strict mode demands. A
//! property the parser lets default may then be written as an empty value
//! or `null`, which it reads the same. A nullable property is written as
//! `anyOf: [T, null]`, never `type: [T, "null"]`, which some grammar builders
//! read as "any object". Strings and lists carry bounds ([`MAX_STRING`],
//! [`MAX_ITEMS`], unless a field sets its own with `#[schemars(length)]`), so a small model held to the schema cannot ramble inside
//! one string until its output cap; the wire layer drops them for `OpenAI`'s
//! own API, whose strict mode refuses length keywords.

use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use serde_json::{Value, json};

/// The longest string a constrained answer may write, in characters.
pub const MAX_STRING: u64 = 200;
/// The most items of a list a constrained answer may write.
pub const MAX_ITEMS: u64 = 4;

/// The keywords that bound lengths, which not every strict mode takes.
pub const BOUNDS: [&str; 3] = ["maxLength", "minLength", "maxItems"];

/// A schema to request an answer in.
#[derive(Clone, Debug, PartialEq)]
pub struct Schema {
    /// The name a `json_schema` response format carries (`[a-z_]+`).
    pub name: &'static str,
    /// For servers that build a grammar from the schema (llama.cpp, vLLM,
    /// Ollama): bounded, and for a plan shaped position by position.
    pub schema: Value,
    /// The same without bounds or shape: what `OpenAI`'s strict mode takes.
    pub portable: Value,
    /// Whether the schema meets strict mode's rules.
    pub strict: bool,
}

/// The schema for `T`, named `name`.
pub fn of<T: JsonSchema>(name: &'static str) -> Schema {
    let mut schema = SchemaSettings::draft2020_12()
        .with(|s| s.inline_subschemas = true)
        .into_generator()
        .into_root_schema_for::<T>()
        .to_value();
    if let Some(root) = schema.as_object_mut() {
        root.remove("$schema");
        root.remove("title");
    }
    let strict = strictify(&mut schema);
    let mut portable = schema.clone();
    drop_bounds(&mut portable);
    Schema {
        name,
        schema,
        portable,
        strict,
    }
}

/// The plan's schema, its tasks shaped as maker→critique pairs for servers
/// that hold a model to it: position `n` has `task_order` `n`; a maker (odd
/// position) names no preceding task, depends only on earlier tasks and has
/// a critical criterion; the critique after it names it and depends on it.
/// What a plan's checks ask beyond its JSON shape then holds by
/// construction, which a small model cannot manage otherwise.
pub fn plan() -> Schema {
    plan_with(&[])
}

/// [`plan`], its `skill_id`s held to a pipeline's `skills` when it names
/// any: a maker's one of those without `critique` in them, a critique's one
/// of those with.
pub fn plan_with(skills: &[&str]) -> Schema {
    let mut plan = of::<super::Plan>("plan");
    let item = plan.schema["properties"]["tasks"]["items"].clone();
    let (critiques, makers): (Vec<&str>, Vec<&str>) =
        skills.iter().partition(|s| s.contains("critique"));
    let pick = |ids: &[&str], pattern: &str| {
        if ids.is_empty() {
            json!({"type": "string", "pattern": pattern})
        } else {
            json!({"type": "string", "enum": ids})
        }
    };
    let skill_ids = (
        pick(&makers, "^[a-z]{1,30}-implement$"),
        pick(&critiques, "^[a-z]{1,30}-critique$"),
    );
    if !skills.is_empty() {
        plan.portable["properties"]["tasks"]["items"]["properties"]["skill_id"]["enum"] =
            json!(skills);
    }
    let positions: Vec<Value> = (1..=2 * MAX_PAIRS)
        .map(|n| position(&item, n, &skill_ids))
        .collect();
    let lengths: Vec<Value> = (1..=MAX_PAIRS)
        .map(|pairs| {
            let len = 2 * pairs as usize;
            json!({"type": "array", "prefixItems": positions[..len], "minItems": len, "maxItems": len})
        })
        .collect();
    let description = plan.schema["properties"]["tasks"]["description"].clone();
    plan.schema["properties"]["tasks"] = json!({"description": description, "anyOf": lengths});
    let architecture = &mut plan.schema["properties"]["architecture"];
    shorten(architecture, NAME);
    let parts = &mut architecture["properties"];
    parts["summary"]["minLength"] = json!(1);
    parts["summary"]["maxLength"] = json!(300);
    for (list, most) in [
        ("endpoints", 3),
        ("data_models", 2),
        ("services", 3),
        ("external_integrations", 2),
    ] {
        parts[list]["maxItems"] = json!(most);
    }
    for list in ["endpoints", "data_models"] {
        parts[list]["items"]["properties"]["purpose"]["maxLength"] = json!(TEXT);
    }
    parts["data_models"]["items"]["properties"]["key_fields"]["maxItems"] = json!(3);
    plan
}

/// Holds every string under `node` to `len` characters at most.
fn shorten(node: &mut Value, len: u64) {
    match node {
        Value::Object(map) => {
            if map.get("type").and_then(Value::as_str) == Some("string")
                && !map.contains_key("enum")
            {
                map.insert("maxLength".into(), json!(len));
            }
            map.values_mut().for_each(|v| shorten(v, len));
        }
        Value::Array(items) => items.iter_mut().for_each(|v| shorten(v, len)),
        Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_) => {}
    }
}

/// The longest name (a task's, a file's, a service's) and the longest
/// description or criterion a shaped plan holds, in characters: with at
/// most [`MAX_PAIRS`] pairs, the longest plan a model can write to the
/// schema stays within a plan's default output cap, where the general
/// bounds let a small model that fills every string run past it.
const NAME: u64 = 60;
const TEXT: u64 = 120;

/// Holds a list of strings to `items` items of `len` characters.
fn strings(list: &mut Value, items: u64, len: u64) {
    list["maxItems"] = json!(items);
    list["items"]["maxLength"] = json!(len);
}

/// The verdict's schema, shaped for servers that hold a model to it: a
/// `pass` with any issues (minor ones), or a `fail` with at least one. A
/// fail that names nothing cannot be acted on, and a small model writes one
/// readily when only the field's type holds it.
pub fn verdict() -> Schema {
    let mut verdict = of::<super::Verdict>("verdict");
    let branch = |word: &str, least: u64| {
        let mut b = verdict.schema.clone();
        b["properties"]["verdict"] = json!({"type": "string", "enum": [word]});
        b["properties"]["issues"]["minItems"] = json!(least);
        b
    };
    let (pass, fail) = (branch("pass", 0), branch("fail", 1));
    verdict.schema = json!({"anyOf": [pass, fail]});
    verdict
}

/// A plan task's report (its maker's answer).
pub fn report() -> Schema {
    of::<super::report::TaskReport>("task_report")
}

/// The `timeout_seconds` a shaped plan's task may give: five minutes to
/// two hours.
const TIMEOUTS: [u32; 6] = [300, 600, 900, 1800, 3600, 7200];

/// The most maker→critique pairs a shaped plan holds.
const MAX_PAIRS: u32 = 3;

/// The task at position `order` (from 1) of a shaped plan, with the
/// schemas of a maker's and a critique's `skill_id`.
fn position(item: &Value, order: u32, (maker, critique): &(Value, Value)) -> Value {
    let mut task = item.clone();
    let p = &mut task["properties"];
    p["task_order"] = json!({"type": "integer", "const": order});
    p["task_name"]["minLength"] = json!(1);
    p["task_name"]["maxLength"] = json!(NAME);
    p["description"]["maxLength"] = json!(TEXT);
    // A critique judges its maker's criteria whatever it is handed (rule
    // 8), so no task spends its answer copying them.
    p["inputs"]["properties"]["validation_criteria"] = json!({"type": "null"});
    // A few whole durations, not a range: not every grammar builder holds
    // an integer to `minimum` and `maximum` (llama-cpp-python's let a
    // model write 1048576).
    p["timeout_seconds"] = json!({"anyOf": [
        {"type": "integer", "enum": TIMEOUTS},
        {"type": "null"},
    ]});
    if order % 2 == 1 {
        p["skill_id"] = maker.clone();
        p["dependencies"] = if order == 1 {
            json!({"type": "array", "items": {"type": "integer"}, "maxItems": 0})
        } else {
            json!({"type": "array", "items": {"enum": (1..order).collect::<Vec<u32>>()}, "maxItems": 2})
        };
        p["inputs"]["properties"]["preceding_task"] = json!({"type": "null"});
        let criteria = &mut p["validation_criteria"]["properties"];
        criteria["critical"]["minItems"] = json!(1);
        for (level, most) in [("critical", 2), ("expected", 1), ("nice_to_have", 1)] {
            strings(&mut criteria[level], most, TEXT);
        }
        let inputs = &mut p["inputs"]["properties"];
        inputs["files_to_create"]["minItems"] = json!(1);
        strings(&mut inputs["files_to_create"], 2, NAME);
        strings(&mut inputs["files_to_modify"], 2, NAME);
    } else {
        p["skill_id"] = critique.clone();
        p["dependencies"] =
            json!({"type": "array", "items": {"const": order - 1}, "minItems": 1, "maxItems": 1});
        for level in ["critical", "expected", "nice_to_have"] {
            strings(&mut p["validation_criteria"]["properties"][level], 1, TEXT);
        }
        for files in ["files_to_create", "files_to_modify"] {
            p["inputs"]["properties"][files]["maxItems"] = json!(0);
        }
        p["inputs"]["properties"]["preceding_task"] = json!({
            "type": "object",
            "properties": {
                "task_order": {"type": "integer", "const": order - 1},
                "skill_id": maker,
                "task_name": {"type": "string", "maxLength": NAME},
                "description": {"type": "string", "minLength": 1, "maxLength": TEXT},
            },
            "required": ["task_order", "skill_id", "task_name", "description"],
            "additionalProperties": false,
        });
    }
    task
}

/// Removes the length bounds from every node of `schema`.
fn drop_bounds(schema: &mut Value) {
    match schema {
        Value::Object(node) => {
            for key in BOUNDS {
                node.remove(key);
            }
            node.values_mut().for_each(drop_bounds);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_bounds),
        Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_) => {}
    }
}

/// Closes every object schema in `schema` and makes all its properties
/// required; drops `format` (integer widths such as `uint32` are outside
/// strict mode's list). Returns whether every object could be closed — a
/// free-form map cannot.
fn strictify(schema: &mut Value) -> bool {
    let Some(node) = schema.as_object_mut() else {
        return true;
    };
    node.remove("format");
    nullable_as_any_of(node);
    match node.get("type").and_then(Value::as_str) {
        Some("string") if !node.contains_key("enum") => {
            node.entry("maxLength").or_insert(json!(MAX_STRING));
        }
        Some("array") => {
            node.entry("maxItems").or_insert(json!(MAX_ITEMS));
        }
        _ => {}
    }
    let mut strict = true;
    let is_object = match node.get("type") {
        Some(Value::String(t)) => t == "object",
        Some(Value::Array(ts)) => ts.iter().any(|t| t == "object"),
        _ => false,
    };
    if is_object {
        match node.get("properties").and_then(Value::as_object) {
            Some(properties) => {
                let names: Vec<Value> = properties.keys().map(|k| json!(k)).collect();
                node.insert("required".into(), Value::Array(names));
                node.insert("additionalProperties".into(), Value::Bool(false));
            }
            None => strict = false,
        }
    }
    if let Some(Value::Object(properties)) = node.get_mut("properties") {
        for child in properties.values_mut() {
            strict &= strictify(child);
        }
    }
    for key in ["items", "additionalProperties"] {
        if let Some(child) = node.get_mut(key) {
            strict &= strictify(child);
        }
    }
    for key in ["anyOf", "oneOf", "allOf", "prefixItems"] {
        if let Some(Value::Array(children)) = node.get_mut(key) {
            for child in children {
                strict &= strictify(child);
            }
        }
    }
    strict
}

/// `type: [T, "null"]` becomes `anyOf: [{type: T, …}, {type: null}]`, the
/// description staying outside.
fn nullable_as_any_of(node: &mut serde_json::Map<String, Value>) {
    let Some(Value::Array(types)) = node.get("type") else {
        return;
    };
    let [a, b] = types.as_slice() else {
        return;
    };
    let other = match (a.as_str(), b.as_str()) {
        (Some("null"), Some(t)) | (Some(t), Some("null")) => t.to_owned(),
        _ => return,
    };
    let description = node.remove("description");
    let mut inner = std::mem::take(node);
    inner.insert("type".into(), json!(other));
    node.insert(
        "anyOf".into(),
        json!([Value::Object(inner), {"type": "null"}]),
    );
    if let Some(d) = description {
        node.insert("description".into(), d);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plan_written_to_the_shaped_schema_passes_the_plans_checks() {
        let shaped = plan();
        let tasks = &shaped.schema["properties"]["tasks"]["anyOf"];
        assert_eq!(tasks.as_array().map(Vec::len), Some(MAX_PAIRS as usize));
        let second = &tasks[0]["prefixItems"][1]["properties"];
        let timeouts = &second["timeout_seconds"]["anyOf"][0]["enum"];
        assert!(
            timeouts.as_array().is_some_and(|t| t.iter().all(|s| s
                .as_u64()
                .is_some_and(|s| s <= super::super::plan::MAX_TIMEOUT_SECONDS))),
            "every timeout a shaped plan can give passes the checks: {timeouts}"
        );
        assert_eq!(second["task_order"]["const"], 2);
        assert_eq!(second["dependencies"]["items"]["const"], 1);
        assert_eq!(
            second["inputs"]["properties"]["preceding_task"]["properties"]["task_order"]["const"],
            1
        );
        // The portable form has neither shape nor bounds.
        let portable = shaped.portable.to_string();
        assert!(
            !portable.contains("prefixItems") && !portable.contains("maxLength"),
            "{portable}"
        );
        // The least a model held to it can write: minimal strings, empty lists.
        let minimal = r#"{"status":"planned","category":"backend",
          "architecture":{"summary":"s","endpoints":[],"data_models":[],"services":[],"external_integrations":[]},
          "tasks":[
           {"task_name":"a","description":"","skill_id":"x-implement","task_order":1,"dependencies":[],
            "inputs":{"files_to_create":["a.go"],"files_to_modify":[],"preceding_task":null,"validation_criteria":null},
            "validation_criteria":{"critical":[""],"expected":[],"nice_to_have":[]},"timeout_seconds":null},
           {"task_name":"b","description":"","skill_id":"x-critique","task_order":2,"dependencies":[1],
            "inputs":{"files_to_create":[],"files_to_modify":[],"preceding_task":{"task_order":1,"skill_id":"x-implement","task_name":"","description":"d"},"validation_criteria":null},
            "validation_criteria":{"critical":[],"expected":[],"nice_to_have":[]},"timeout_seconds":null}]}"#;
        assert!(
            crate::formats::plan::read(minimal).is_ok(),
            "{:?}",
            crate::formats::plan::read(minimal)
        );
    }
    use crate::formats::{OutputKind, Plan, Verdict};

    /// Every object in `schema`, with the path to it.
    fn objects<'a>(schema: &'a Value, path: &str, out: &mut Vec<(String, &'a Value)>) {
        match schema {
            Value::Object(node) => {
                if node.get("type") == Some(&json!("object")) || node.get("properties").is_some() {
                    out.push((path.to_owned(), schema));
                }
                for (k, v) in node {
                    objects(v, &format!("{path}/{k}"), out);
                }
            }
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    objects(v, &format!("{path}/{i}"), out);
                }
            }
            Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_) => {}
        }
    }

    #[test]
    fn plan_and_verdict_schemas_are_strict_inlined_and_closed() {
        for (kind, name) in [(OutputKind::Plan, "plan"), (OutputKind::Verdict, "verdict")] {
            let s = kind.schema().expect("structured");
            assert_eq!(s.name, name);
            assert!(s.strict, "{name}");
            let text = s.schema.to_string();
            assert!(!text.contains("$ref") && !text.contains("$defs"), "{text}");
            assert!(!text.contains("\"format\""), "{text}");
            let mut found = Vec::new();
            objects(&s.schema, "", &mut found);
            assert!(!found.is_empty());
            for (path, o) in found
                .into_iter()
                .filter(|(p, _)| !p.ends_with("/properties"))
            {
                let props: Vec<&String> =
                    o["properties"].as_object().expect(&path).keys().collect();
                let required: Vec<&str> = o["required"]
                    .as_array()
                    .expect(&path)
                    .iter()
                    .filter_map(Value::as_str)
                    .collect();
                assert_eq!(props.len(), required.len(), "{name}{path}");
                assert_eq!(o["additionalProperties"], false, "{name}{path}");
            }
        }
        assert_eq!(OutputKind::Markdown.schema(), None);
        let plan = OutputKind::Plan.schema().expect("plan").schema.to_string();
        assert!(!plan.contains(r#""type":["#), "nullable as anyOf: {plan}");
        assert!(plan.contains(r#""maxLength":200"#) && plan.contains(r#""maxItems":4"#));
        let tasks = &OutputKind::Plan.schema().expect("plan").portable["properties"]["tasks"];
        assert_eq!(tasks["minItems"].as_u64(), Some(2));
    }

    #[test]
    fn a_pipelines_skills_hold_the_skill_ids() {
        let shaped = plan_with(&["backend-implement", "backend-testing", "backend-critique"]);
        let first = &shaped.schema["properties"]["tasks"]["anyOf"][0]["prefixItems"];
        assert_eq!(
            first[0]["properties"]["skill_id"]["enum"],
            json!(["backend-implement", "backend-testing"])
        );
        assert_eq!(
            first[1]["properties"]["skill_id"]["enum"],
            json!(["backend-critique"])
        );
        let portable = &shaped.portable["properties"]["tasks"]["items"]["properties"];
        assert_eq!(
            portable["skill_id"]["enum"].as_array().map(Vec::len),
            Some(3)
        );
        assert_eq!(plan(), plan_with(&[]));
    }

    #[test]
    fn the_schema_names_what_the_parser_reads() {
        let plan = OutputKind::Plan.schema().expect("plan").portable;
        let task = &plan["properties"]["tasks"]["items"]["properties"];
        for field in [
            "task_name",
            "skill_id",
            "task_order",
            "dependencies",
            "inputs",
        ] {
            assert!(task.get(field).is_some(), "{field}");
        }
        assert!(task["inputs"].to_string().contains("preceding_task"));
        let verdict = OutputKind::Verdict.schema().expect("verdict");
        assert_eq!(
            verdict.portable["properties"]["verdict"]["enum"],
            json!(["pass", "fail"])
        );
        let fail = &verdict.schema["anyOf"][1]["properties"];
        let title = &fail["issues"]["items"]["properties"]["title"];
        assert_eq!(title["minLength"], 1, "an empty title does not read");
    }

    /// The most characters an answer held to `schema` can have: every
    /// string at its longest, every list at its most items, the biggest
    /// branch of each choice (keys, quotes and separators counted).
    fn longest(schema: &Value) -> u64 {
        let most = |key: &str| {
            schema[key]
                .as_array()
                .map(|b| b.iter().map(longest).max().unwrap_or(0))
        };
        if let Some(n) = most("anyOf").or_else(|| most("oneOf")) {
            return n;
        }
        if let Some(values) = schema["enum"].as_array() {
            return values
                .iter()
                .map(|v| v.to_string().len() as u64)
                .max()
                .unwrap_or(0);
        }
        if let Some(c) = schema.get("const") {
            return c.to_string().len() as u64;
        }
        match schema["type"].as_str() {
            Some("string") if schema.get("pattern").is_some() => 45,
            Some("string") => {
                schema["maxLength"]
                    .as_u64()
                    .unwrap_or_else(|| panic!("unbounded: {schema}"))
                    + 2
            }
            Some("integer") => 10,
            Some("boolean" | "null") => 5,
            Some("array") => {
                let items: u64 = match schema["prefixItems"].as_array() {
                    Some(fixed) => fixed.iter().map(longest).sum(),
                    None => {
                        longest(&schema["items"])
                            * schema["maxItems"].as_u64().expect("bounded list")
                    }
                };
                items + 2 + schema["maxItems"].as_u64().unwrap_or(0)
            }
            Some("object") => {
                schema["properties"]
                    .as_object()
                    .expect("properties")
                    .iter()
                    .map(|(k, v)| k.len() as u64 + 4 + longest(v))
                    .sum::<u64>()
                    + 2
            }
            other => panic!("unbounded node {other:?}: {schema}"),
        }
    }

    #[test]
    fn the_longest_plan_a_held_model_can_write_fits_a_plans_output_cap() {
        // Three characters a token is few for English and JSON alike
        // (OpenAI's tokenizers and SmolLM2's give about four).
        let cap = u64::from(OutputKind::Plan.default_cap()) * 3;
        let chars = longest(&plan().schema);
        assert!(chars <= cap, "{chars} characters against a cap of {cap}");
        let verdict = longest(&verdict().schema);
        assert!(
            verdict <= u64::from(OutputKind::Verdict.default_cap()) * 3,
            "{verdict}"
        );
        let report = longest(&report().schema);
        // A report fits even the 768-token cap the real-model test gives
        // the developer.
        assert!(report <= 768 * 3, "a task's report: {report}");
    }

    #[test]
    fn a_verdict_held_to_its_schema_cannot_fail_without_an_issue() {
        let shaped = verdict();
        let [pass, fail] = [0, 1].map(|i| &shaped.schema["anyOf"][i]["properties"]);
        assert_eq!(pass["verdict"]["enum"], json!(["pass"]));
        assert_eq!(pass["issues"]["minItems"], 0);
        assert_eq!(fail["verdict"]["enum"], json!(["fail"]));
        assert_eq!(fail["issues"]["minItems"], 1, "a fail names what fails");
        assert!(shaped.strict);
        assert!(!shaped.portable.to_string().contains("anyOf"));
    }

    #[test]
    fn an_answer_written_to_the_strict_schema_reads() {
        // What a constrained model writes: every property present, the
        // optional ones as null or empty.
        let verdict = r#"{"verdict":"pass","issues":[{"severity":"low","title":"t","detail":"","criterion":""}]}"#;
        assert!(crate::formats::verdict::read(verdict).is_ok());
        let plan = r#"{"status":"planned","category":"backend",
          "architecture":{"summary":"s","endpoints":[],"data_models":[],"services":[],"external_integrations":[]},
          "tasks":[
           {"task_name":"Do","description":"d","skill_id":"backend-implement","task_order":1,"dependencies":[],
            "inputs":{"files_to_create":[],"files_to_modify":["a.go"],"preceding_task":null,"validation_criteria":null},
            "validation_criteria":{"critical":["works"],"expected":[],"nice_to_have":[]},"timeout_seconds":null},
           {"task_name":"Check","description":"c","skill_id":"backend-critique","task_order":2,"dependencies":[1],
            "inputs":{"files_to_create":[],"files_to_modify":[],"preceding_task":{"task_order":1,"skill_id":"backend-implement","task_name":"Do","description":"d"},"validation_criteria":null},
            "validation_criteria":{"critical":["verdict"],"expected":[],"nice_to_have":[]},"timeout_seconds":null}]}"#;
        let read = crate::formats::plan::read(plan).expect("reads");
        let _: (&Plan, Option<&Verdict>) = (&read, None);
        assert_eq!(read.tasks[1].checks(), Some(1));
        assert_eq!(read.criteria_to_check(&read.tasks[1]).critical, ["works"]);
    }
}
