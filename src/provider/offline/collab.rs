//! The offline stand-in's answers for the `go-collab` pipeline: the five
//! outputs its seed asks of a Go backend engineer working with product and
//! frontend (clarification and assumptions, architecture and data-model
//! decisions, an API contract with success and failure examples, a task
//! breakdown with priorities, owners, risks and decision dates, and a
//! release checklist gated three ways), plus the build report.
//!
//! Written in Chinese when the phase's language is Chinese and the request
//! does not ask for English, as the seed says; in English otherwise. Like
//! the rest of the stand-in, a pure function of the brief.

use std::fmt::Write as _;

use super::compose::{Topic, criteria_in};
use crate::provider::Brief;

/// The artifact `name` of the go-collab pipeline, if it is one.
pub(super) fn compose(name: &str, t: &Topic, brief: &Brief) -> Option<String> {
    let zh = chinese(brief);
    Some(match name {
        "clarification" => clarification(t, zh),
        "architecture-decisions" => architecture(t, zh),
        "api-contract" => contract(t, zh),
        "task-breakdown" => breakdown(t, zh),
        "code-decisions" => build(t, zh),
        "release-checklist" => release(t, brief, zh),
        _ => return None,
    })
}

/// Whether to answer in Chinese: the phase says so and the request does
/// not ask for English.
fn chinese(brief: &Brief) -> bool {
    let asked_english = brief.request.to_lowercase().contains("in english");
    brief.phase.language.as_deref().is_some_and(|l| {
        let l = l.to_lowercase();
        l.contains("chinese") || l.contains("中文") || l == "zh"
    }) && !asked_english
}

/// One of two texts, by language.
fn say<'a>(zh: bool, chinese: &'a str, english: &'a str) -> &'a str {
    if zh { chinese } else { english }
}

fn clarification(t: &Topic, zh: bool) -> String {
    let path = format!("/api/v1/{}", t.resource);
    if zh {
        format!(
            "# 需求澄清：{title}\n\n## 意图\n- 目标用户：调用 `{path}` 的前端与内部服务。\n- 业务价值：{feature}，减少人工处理和客服咨询。\n- 可衡量结果：上线两周内相关工单减少 30%，接口 p95 延迟不超过 200 ms。\n\n\
             ## 范围\n- 范围内：`{path}` 的后端能力、数据持久化、可观测性。\n- 范围外：前端页面改版、与本功能无关的接口。\n- 依赖：鉴权服务、数据库迁移窗口。\n- 非功能需求：p95 < 200 ms；可用性 99.9%；写操作幂等。\n\n\
             ## 验收标准\n- [ ] AC-1: {feature} 对合法请求返回 2xx，并返回约定字段\n- [ ] AC-2: 非法输入返回 400，错误码与契约一致\n- [ ] AC-3: 未认证请求返回 401，越权请求返回 403\n- [ ] AC-4: 重复提交同一请求不会产生重复数据\n- [ ] AC-5: 指标、日志、告警在上线前可见\n\n\
             ## 假设\n- 沿用现有鉴权方式，不新增登录流程。\n- 数据量在一年内不超过千万级。\n- 前端在契约冻结后开始联调。\n",
            title = t.title,
            feature = t.feature,
        )
    } else {
        format!(
            "# Requirement clarification: {title}\n\n## Intent\n- Users: the frontend and internal services calling `{path}`.\n- Value: {feature}, with less manual work and fewer support questions.\n- Measurable outcome: related tickets down 30% within two weeks; p95 latency at most 200 ms.\n\n\
             ## Scope\n- In: the backend of `{path}`, its persistence and observability.\n- Out: frontend redesign, unrelated endpoints.\n- Dependencies: the auth service, a migration window.\n- Non-functional: p95 < 200 ms, 99.9% availability, idempotent writes.\n\n\
             ## Acceptance criteria\n- [ ] AC-1: {feature} answers a valid request with 2xx and the agreed fields\n- [ ] AC-2: invalid input gets 400 with the contract's error code\n- [ ] AC-3: unauthenticated requests get 401, unauthorised ones 403\n- [ ] AC-4: submitting the same request twice creates nothing twice\n- [ ] AC-5: metrics, logs and alerts are visible before release\n\n\
             ## Assumptions\n- The existing auth stays; no new login flow.\n- Data stays under ten million rows this year.\n- The frontend integrates once the contract is frozen.\n",
            title = t.title,
            feature = t.feature,
        )
    }
}

fn architecture(t: &Topic, zh: bool) -> String {
    let table = t.package();
    let mut out = format!(
        "# {}: {}\n\n",
        say(
            zh,
            "架构与数据模型决策",
            "Architecture and data-model decisions"
        ),
        t.title
    );
    let rows: [(&str, &str, &str); 4] = [
        (
            "HTTP",
            say(
                zh,
                "标准库 net/http + chi 路由",
                "net/http with the chi router",
            ),
            say(
                zh,
                "依赖少、团队熟悉、延迟可控",
                "few dependencies, known to the team, predictable latency",
            ),
        ),
        (
            say(zh, "存储", "Storage"),
            "PostgreSQL",
            say(
                zh,
                "需要事务与强一致",
                "transactions and strong consistency are needed",
            ),
        ),
        (
            say(zh, "异步", "Async"),
            say(zh, "outbox 表 + 消费者", "an outbox table and a consumer"),
            say(
                zh,
                "写库与发事件原子完成",
                "the write and the event happen atomically",
            ),
        ),
        (
            say(zh, "缓存", "Cache"),
            say(zh, "暂不引入", "none for now"),
            say(
                zh,
                "先测量，p95 超标再加",
                "measure first; add one if p95 misses",
            ),
        ),
    ];
    let _ = writeln!(
        out,
        "| {} | {} | {} |\n|---|---|---|",
        say(zh, "方面", "Concern"),
        say(zh, "选择", "Choice"),
        say(zh, "理由", "Why")
    );
    for (what, choice, why) in rows {
        let _ = writeln!(out, "| {what} | {choice} | {why} |");
    }
    let _ = write!(
        out,
        "\n## {}\n- `{table}`(id uuid PK, owner_id uuid, status text, idempotency_key text UNIQUE, created_at timestamptz)\n- {}\n\n## {}\n- {}\n- {}\n- {}\n\n## {}\n- {}\n- {}\n",
        say(zh, "数据模型", "Data model"),
        say(
            zh,
            "索引：(owner_id, created_at)；迁移可回滚。",
            "Index (owner_id, created_at); the migration can be rolled back."
        ),
        say(zh, "可靠性", "Reliability"),
        say(
            zh,
            "写接口要求 Idempotency-Key，重复请求返回首次结果。",
            "Writes take an Idempotency-Key; a repeat returns the first result."
        ),
        say(
            zh,
            "外部调用超时预算 300 ms，最多重试 2 次（指数退避）。",
            "Outbound calls have a 300 ms budget and at most 2 retries with backoff."
        ),
        say(
            zh,
            "依赖不可用时返回 503 并带 Retry-After。",
            "When a dependency is down, answer 503 with Retry-After."
        ),
        say(zh, "安全与合规", "Security and compliance"),
        say(
            zh,
            "所有接口鉴权；按 owner_id 授权；审计日志记录每次写操作。",
            "Every endpoint authenticated, authorised by owner_id; an audit log of every write."
        ),
        say(
            zh,
            "日志中对个人信息脱敏；按用户限流 100 次/分钟。",
            "Personal data masked in logs; 100 requests a minute per user."
        ),
    );
    out
}

fn contract(t: &Topic, zh: bool) -> String {
    let path = format!("/api/v1/{}", t.resource);
    format!(
        "# {heading}: {title}\n\n{frozen}\n\n## POST {path}\n{fields}\n\n### {ok}\n```json\n{{\"id\": \"9f1c…\", \"status\": \"created\", \"created_at\": \"2026-11-29T10:00:00Z\"}}\n```\n\n### {bad}\n```json\n{{\"error\": {{\"code\": \"INVALID_ARGUMENT\", \"message\": \"{msg}\", \"field\": \"name\"}}}}\n```\n\n\
         | {code} | HTTP | {meaning} |\n|---|---|---|\n| INVALID_ARGUMENT | 400 | {m400} |\n| UNAUTHENTICATED | 401 | {m401} |\n| PERMISSION_DENIED | 403 | {m403} |\n| CONFLICT | 409 | {m409} |\n| UNAVAILABLE | 503 | {m503} |\n\n\
         ## {event}\n`{slug}.created`: {{\"id\", \"owner_id\", \"created_at\"}}\n",
        heading = say(zh, "API 契约草案", "API contract draft"),
        title = t.title,
        frozen = say(
            zh,
            "契约在前端联调前冻结；之后的变更需三方评审。",
            "The contract is frozen before frontend integration; later changes need all three sides to agree."
        ),
        fields = say(
            zh,
            "请求：`name` string（必填，1–100 字符），`Idempotency-Key` 请求头。响应：`id`、`status`、`created_at`。",
            "Request: `name` string (required, 1–100 characters), an `Idempotency-Key` header. Response: `id`, `status`, `created_at`."
        ),
        ok = say(zh, "成功示例（201）", "Success (201)"),
        bad = say(zh, "失败示例（400）", "Failure (400)"),
        msg = say(zh, "name 不能为空", "name must not be empty"),
        code = say(zh, "错误码", "Code"),
        meaning = say(zh, "含义", "Meaning"),
        m400 = say(zh, "输入不合法", "the input is not valid"),
        m401 = say(zh, "未认证", "not authenticated"),
        m403 = say(zh, "无权限", "not allowed"),
        m409 = say(
            zh,
            "幂等键冲突",
            "the idempotency key was used for another request"
        ),
        m503 = say(
            zh,
            "依赖不可用，稍后重试",
            "a dependency is down; retry later"
        ),
        event = say(zh, "事件契约", "Event contract"),
        slug = t.slug,
    )
}

fn breakdown(t: &Topic, zh: bool) -> String {
    let tasks: [(&str, &str, &str, &str); 6] = [
        (
            say(zh, "冻结 API 契约", "Freeze the API contract"),
            "P0",
            say(zh, "后端 + 前端", "backend + frontend"),
            "-",
        ),
        (
            say(zh, "数据库迁移与模型", "Migration and model"),
            "P0",
            say(zh, "后端", "backend"),
            "-",
        ),
        (
            say(zh, "领域逻辑与幂等", "Domain logic and idempotency"),
            "P0",
            say(zh, "后端", "backend"),
            say(zh, "迁移", "migration"),
        ),
        (
            say(zh, "outbox 事件发布", "Outbox events"),
            "P1",
            say(zh, "后端", "backend"),
            say(zh, "领域逻辑", "domain logic"),
        ),
        (
            say(zh, "指标、日志、告警", "Metrics, logs, alerts"),
            "P1",
            say(zh, "运维", "ops"),
            say(zh, "领域逻辑", "domain logic"),
        ),
        (
            say(zh, "前端联调", "Frontend integration"),
            "P1",
            say(zh, "前端", "frontend"),
            say(zh, "契约", "contract"),
        ),
    ];
    let mut out = format!(
        "# {}: {}\n\n| {} | {} | {} | {} |\n|---|---|---|---|\n",
        say(zh, "任务拆解", "Task breakdown"),
        t.title,
        say(zh, "任务", "Task"),
        say(zh, "优先级", "Priority"),
        say(zh, "负责人", "Owner"),
        say(zh, "依赖", "Depends on"),
    );
    for (task, priority, owner, after) in tasks {
        let _ = writeln!(out, "| {task} | {priority} | {owner} | {after} |");
    }
    let _ = write!(
        out,
        "\n## {}\n\n| {} | {} | {} | {} |\n|---|---|---|---|\n| {} | {} | {} | 2026-12-03 |\n| {} | {} | {} | 2026-12-05 |\n",
        say(zh, "风险与阻塞", "Risks and blockers"),
        say(zh, "风险", "Risk"),
        say(zh, "负责人", "Owner"),
        say(zh, "影响", "Impact"),
        say(zh, "决策日期", "Decide by"),
        say(
            zh,
            "迁移需要停机窗口",
            "The migration needs a maintenance window"
        ),
        say(zh, "运维", "ops"),
        say(zh, "上线推迟一天", "release slips a day"),
        say(
            zh,
            "前端字段命名未确认",
            "Field names not yet agreed with the frontend"
        ),
        say(zh, "产品", "product"),
        say(zh, "联调返工", "integration rework"),
    );
    out
}

fn build(t: &Topic, zh: bool) -> String {
    let package = t.package();
    format!(
        "# {heading}: {title}\n\n## {decisions}\n- {d1}\n- {d2}\n- {d3}\n\n## {files}\n- `internal/{package}/service.go`: {f1}\n- `internal/{package}/service_test.go`: {f2}\n\n## {verify}\n- `go vet ./...`、`go test ./internal/{package}/...`：{v}\n",
        heading = say(zh, "实现说明", "Code-level decisions"),
        title = t.title,
        decisions = say(zh, "决策与取舍", "Decisions and trade-offs"),
        d1 = say(
            zh,
            "处理函数只做解码与校验，业务逻辑放在 service 层，便于测试。",
            "Handlers only decode and validate; the logic lives in the service, where it is tested."
        ),
        d2 = say(
            zh,
            "所有外部调用带 context 超时；错误用 errors.Is 区分并映射到契约错误码。",
            "Every outbound call carries a context deadline; errors are told apart with errors.Is and mapped to the contract's codes."
        ),
        d3 = say(
            zh,
            "幂等键存于唯一索引，冲突时返回首次结果，而不是加锁。",
            "The idempotency key sits in a unique index: a conflict returns the first result instead of taking a lock."
        ),
        files = say(zh, "改动的文件", "Files changed"),
        f1 = say(zh, "服务与校验", "the service and its validation"),
        f2 = say(
            zh,
            "覆盖每条验收标准的表驱动测试",
            "table-driven tests, one per acceptance criterion"
        ),
        verify = say(zh, "验证", "Verification"),
        v = say(
            zh,
            "在有 Go 工具链的环境中运行。",
            "to run where the Go toolchain is installed."
        ),
    )
}

fn release(t: &Topic, brief: &Brief, zh: bool) -> String {
    let mut out = format!(
        "# {}: {}\n\n## {}\n",
        say(zh, "测试与发布清单", "Test and release checklist"),
        t.title,
        say(zh, "功能验收", "Functional acceptance"),
    );
    let criteria = criteria_in(brief, "clarification");
    if criteria.is_empty() {
        let _ = writeln!(
            out,
            "- [ ] {}",
            say(
                zh,
                "每条验收标准都有测试证据",
                "every acceptance criterion has test evidence"
            )
        );
    }
    for (id, text) in criteria {
        let _ = writeln!(out, "- [ ] {id}: {text}");
    }
    let _ = write!(
        out,
        "\n## {}\n- [ ] {}\n- [ ] {}\n\n## {}\n- [ ] {}\n- [ ] {}\n- [ ] {}\n\n## {}\n1. {}\n2. {}\n3. {}\n\n## {}\n- {}\n",
        say(zh, "性能验收", "Performance acceptance"),
        say(
            zh,
            "压测 200 RPS 下 p95 < 200 ms",
            "p95 < 200 ms at 200 requests a second under load"
        ),
        say(zh, "数据库慢查询为 0", "no slow queries"),
        say(zh, "可观测性验收", "Observability acceptance"),
        say(
            zh,
            "RED 指标（速率、错误、耗时）已上报",
            "RED metrics (rate, errors, duration) exported"
        ),
        say(
            zh,
            "结构化日志带 request_id",
            "structured logs carry the request_id"
        ),
        say(
            zh,
            "错误率 > 1% 告警并有值班手册",
            "an alert on error rate > 1%, with a runbook"
        ),
        say(zh, "发布计划", "Rollout"),
        say(
            zh,
            "灰度 5% 流量，观察 30 分钟",
            "5% of traffic for 30 minutes"
        ),
        say(
            zh,
            "无异常则扩大到 50%，再到 100%",
            "then 50%, then 100% if nothing moves"
        ),
        say(
            zh,
            "全程观察错误率与 p95",
            "error rate and p95 watched throughout"
        ),
        say(zh, "回滚条件", "Rollback"),
        say(
            zh,
            "错误率 > 1% 或 p95 > 300 ms 持续 5 分钟即回滚；迁移可逆。",
            "Roll back when error rate > 1% or p95 > 300 ms for 5 minutes; the migration is reversible."
        ),
    );
    out
}
