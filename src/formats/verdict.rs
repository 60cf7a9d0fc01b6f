//! A QA verdict: `{verdict: pass|fail, issues: [{severity, title, detail,
//! criterion}]}`. A `fail` sends the work back to the developer with its
//! issues; so a fail must name at least one.

use std::fmt::Write;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What a verdict says of the work as a whole: it passes, or it goes back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PassOrFail {
    Pass,
    Fail,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Verdict {
    pub verdict: PassOrFail,
    #[serde(default)]
    pub issues: Vec<Issue>,
}

/// One thing QA found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Issue {
    pub severity: Severity,
    #[schemars(length(min = 1))]
    pub title: String,
    #[serde(default)]
    pub detail: String,
    /// The acceptance criterion it breaks, if any.
    #[serde(default)]
    pub criterion: String,
}

#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Critical,
    High,
    Medium,
    Low,
}

impl Severity {
    fn name(self) -> &'static str {
        match self {
            Self::Critical => "critical",
            Self::High => "high",
            Self::Medium => "medium",
            Self::Low => "low",
        }
    }
}

/// Reads and checks a verdict from a model's answer.
pub fn read(text: &str) -> Result<Verdict, Vec<String>> {
    let verdict: Verdict = super::parse(text, "verdict")?;
    let mut errors = Vec::new();
    if verdict.verdict == PassOrFail::Fail && verdict.issues.is_empty() {
        errors.push("verdict is fail but issues is empty: name what fails".to_owned());
    }
    for (i, issue) in verdict.issues.iter().enumerate() {
        if issue.title.trim().is_empty() {
            errors.push(format!("issues[{i}].title is empty"));
        }
    }
    if errors.is_empty() {
        Ok(verdict)
    } else {
        Err(errors)
    }
}

impl Verdict {
    pub fn passed(&self) -> bool {
        self.verdict == PassOrFail::Pass
    }

    /// The issues as a list a developer can work from.
    pub fn issues_text(&self) -> String {
        let mut out = String::new();
        for issue in &self.issues {
            let _ = write!(out, "- [{}] {}", issue.severity.name(), issue.title.trim());
            if !issue.criterion.trim().is_empty() {
                let _ = write!(out, " ({})", issue.criterion.trim());
            }
            if !issue.detail.trim().is_empty() {
                let _ = write!(out, ": {}", issue.detail.trim());
            }
            out.push('\n');
        }
        out
    }

    pub fn to_markdown(&self) -> String {
        let mut out = format!(
            "# QA verdict: {}\n\n",
            if self.passed() { "pass" } else { "fail" }
        );
        if self.issues.is_empty() {
            out.push_str("No issues found.\n");
            return out;
        }
        out.push_str("| Severity | Issue | Criterion | Detail |\n|---|---|---|---|\n");
        let mut issues: Vec<&Issue> = self.issues.iter().collect();
        issues.sort_by_key(|i| i.severity);
        for i in issues {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                i.severity.name(),
                super::cell(&i.title),
                super::cell(&i.criterion),
                super::cell(&i.detail)
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pass_and_fail_read_from_a_fence_or_bare() {
        let pass =
            read("QA done.\n```json\n{\"verdict\": \"pass\", \"issues\": []}\n```").expect("pass");
        assert!(pass.passed());
        let fail = read(
            r#"{"verdict":"fail","issues":[{"severity":"high","title":"No 429","detail":"limit ignored","criterion":"AC-5"}]}"#,
        )
        .expect("fail");
        assert!(!fail.passed());
        assert_eq!(
            fail.issues_text(),
            "- [high] No 429 (AC-5): limit ignored\n"
        );
        assert!(
            fail.to_markdown()
                .contains("| high | No 429 | AC-5 | limit ignored |")
        );
    }

    #[test]
    fn unreadable_verdicts_say_why() {
        let errors = read("{\"verdict\": \"maybe\"}").expect_err("unknown verdict");
        assert!(errors[0].contains("unknown variant `maybe`"), "{errors:?}");
        let errors = read("{\"verdict\": \"fail\"}").expect_err("no issues");
        assert_eq!(
            errors,
            ["verdict is fail but issues is empty: name what fails"]
        );
        let errors =
            read("{\"verdict\":\"fail\",\"issues\":[{\"severity\":\"urgent\",\"title\":\"x\"}]}")
                .expect_err("severity");
        assert!(errors[0].contains("unknown variant `urgent`"), "{errors:?}");
    }
}
