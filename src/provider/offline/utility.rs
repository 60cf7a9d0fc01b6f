//! The offline stand-in's answer when a utility role is summoned at a
//! gate: short Markdown with a section per artifact the utility writes,
//! topic-appropriate (a debug report with suspected causes and steps to
//! reproduce, a list of known issues, a server configuration, …), about
//! what the request names and, where the gate's phase answers in Chinese,
//! in Chinese. A pure function of the brief. A utility the stand-in has
//! no words for gets bullets drawn from its own prompt. A role handed a
//! report says so at the end of its answer ([`acknowledged`]).

use std::fmt::Write;

use super::compose::Topic;
use crate::pipeline::Utility;
use crate::provider::Brief;

/// The lines of one artifact, `{r}` standing for the request's resource
/// and `{p}` for its path, in English or Chinese.
fn section(artifact: &str, chinese: bool) -> Option<&'static [&'static str]> {
    Some(match (artifact, chinese) {
        ("debug-report", false) => &[
            "### Suspected causes",
            "- Concurrent requests for the same {r} race on the shared counter: no lock or atomic update around the read-modify-write.",
            "- Input that is empty or too long reaches `{p}` unvalidated and fails deep in the handler with a 500.",
            "- An error from the store is logged and swallowed, so the client sees success for a write that did not happen.",
            "### Steps to reproduce",
            "1. Start the service with an empty store.",
            "2. Send 20 parallel `POST {p}` requests with the same key.",
            "3. Compare the count the store holds with the number of 2xx answers.",
            "### How to confirm",
            "- Run the handler tests with `-race`; add one that fails on a lost update.",
        ],
        ("debug-report", true) => &[
            "### 可能的原因",
            "- 同一 {r} 的并发请求在共享计数上竞争：读改写没有加锁或原子操作。",
            "- 空输入或超长输入未经校验到达 `{p}`，在处理函数深处以 500 失败。",
            "### 复现步骤",
            "1. 以空存储启动服务。",
            "2. 用同一个键并发发送 20 个 `POST {p}` 请求。",
            "3. 比较存储中的计数与 2xx 响应的数量。",
        ],
        ("known-issues", false) => &[
            "- high: lost updates under concurrent writes to the same {r}.",
            "- medium: malformed input on `{p}` answers 500 instead of 400.",
            "- low: store errors are not surfaced to the client.",
        ],
        ("known-issues", true) => &[
            "- 高：同一 {r} 并发写入时更新丢失。",
            "- 中：`{p}` 的非法输入返回 500 而不是 400。",
        ],
        ("server-config", false) => &[
            "```toml",
            "[server]",
            "listen = \"0.0.0.0:8080\"        # HANDOFF_LISTEN",
            "read_timeout_s = 5",
            "write_timeout_s = 10",
            "[{r}]",
            "max_body_bytes = 65536",
            "rate_limit_per_minute = 120    # per client key",
            "[health]",
            "path = \"/healthz\"              # liveness; /readyz checks the store",
            "```",
            "- Never enable debug endpoints or permissive CORS in production.",
        ],
        ("server-config", true) => &[
            "```toml",
            "[server]",
            "listen = \"0.0.0.0:8080\"",
            "read_timeout_s = 5",
            "[{r}]",
            "rate_limit_per_minute = 120",
            "```",
            "- 生产环境不要开启调试端点或宽松的 CORS。",
        ],
        ("refactoring-overview", false) => &[
            "1. Move the {r} logic out of the HTTP handler into its own service type (no behaviour change; the handler tests prove it).",
            "2. Put the store behind a small interface so tests use an in-memory fake.",
            "3. Replace ad-hoc error strings with typed errors mapped to status codes in one place.",
            "- Risk: step 1 touches every route of `{p}`; do it before adding features, in one reviewed change.",
        ],
        ("refactoring-overview", true) => &[
            "1. 把 {r} 的逻辑从 HTTP 处理函数移到独立的服务类型（行为不变，由处理函数测试保证）。",
            "2. 用小接口封装存储，测试使用内存实现。",
            "- 风险：第 1 步涉及 `{p}` 的所有路由，应在加新功能之前单独完成。",
        ],
        ("doc-cleanup", false) => &[
            "- README: add `{p}` to the API list with one request and one response example.",
            "- CHANGELOG: one line for the new {r} behaviour and its configuration.",
            "- Remove comments that describe the handler as it was before this change.",
        ],
        ("doc-cleanup", true) => &[
            "- README：在 API 列表中加入 `{p}`，附一个请求和响应示例。",
            "- CHANGELOG：为新的 {r} 行为及其配置写一行。",
        ],
        ("project-overview", false) => &[
            "- The work is about {r}, served under `{p}`.",
            "- Build and test with the project's usual commands (`go build ./...`, `go test ./...`).",
            "- Next: agree the acceptance criteria, write the contract for `{p}`, then the smallest end-to-end slice.",
        ],
        ("project-overview", true) => &[
            "- 这项工作关于 {r}，服务路径为 `{p}`。",
            "- 下一步：确认验收标准，写好 `{p}` 的接口约定，再做最小的端到端切片。",
        ],
        _ => return None,
    })
}

/// What `utility` writes, summoned at the gate of the brief's phase.
pub(super) fn compose(brief: &Brief, utility: &Utility) -> String {
    let topic = Topic::of(&brief.request);
    let chinese = brief
        .phase
        .language
        .as_deref()
        .is_some_and(|l| l.eq_ignore_ascii_case("chinese"));
    let path = format!("/api/v1/{}", topic.resource);
    let fill = |line: &str| line.replace("{r}", &topic.resource).replace("{p}", &path);
    let mut out = String::new();
    for artifact in &utility.artifacts {
        let _ = writeln!(out, "## {artifact}");
        match section(artifact, chinese) {
            Some(lines) => {
                for line in lines {
                    let _ = writeln!(out, "{}", fill(line));
                }
            }
            None => out.push_str(&super::advice::prompt_points(
                &utility.prompt,
                &topic.resource,
                3,
            )),
        }
        out.push('\n');
    }
    out
}

/// What a role's answer says of the utility reports it was handed.
pub(super) fn acknowledged(brief: &Brief) -> String {
    let mut out = String::new();
    let reports: Vec<_> = brief.reports.iter().filter(|r| r.given()).collect();
    if !reports.is_empty() {
        out.push_str("\n## Utility reports read\n");
        for r in reports {
            let first = r
                .text
                .lines()
                .map(|l| l.trim().trim_start_matches(['-', '*', '+', '#']).trim())
                .find(|l| !l.is_empty() && !r.artifacts.iter().any(|a| a == l))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "- {} from the {}: {}",
                r.artifacts.join(", "),
                r.name,
                super::compose::one_line(first)
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::{SkillsFile, load_pipeline};

    #[test]
    fn every_builtin_utility_writes_each_of_its_artifacts_about_the_request() {
        let pipeline = load_pipeline(&SkillsFile::builtin(), None).expect("builtin");
        assert_eq!(pipeline.utilities.len(), 5);
        let brief = Brief::new("Add rate limiting to orders", pipeline.phases[2].clone());
        for utility in &pipeline.utilities {
            let text = compose(&brief, utility);
            for artifact in &utility.artifacts {
                assert!(
                    section(artifact, false).is_some(),
                    "{artifact} has no words"
                );
                assert!(text.contains(&format!("## {artifact}\n")), "{text}");
            }
            assert!(text.contains("orders"), "{text}");
            assert_eq!(text, compose(&brief, utility), "the same every time");
        }
        let debugger = pipeline.utility("debugger").expect("debugger");
        let report = compose(&brief, debugger);
        assert!(
            report.contains("### Suspected causes") && report.contains("### Steps to reproduce")
        );
        let mut chinese = brief.clone();
        chinese.phase.language = Some("Chinese".into());
        assert!(compose(&chinese, debugger).contains("### 复现步骤"));
    }
}
