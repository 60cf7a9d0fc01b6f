//! Specialists routed by domain and consulted (seed 004): the seed's whole
//! keyword table engages the right specialist; an engaged specialist with a
//! `prompt` gets a call of its own whose advice is recorded, shown and
//! handed to the role; a failing consult does not stop the phase; a resumed
//! session does not ask again; `check` holds the file to prompt-or-guidance.

use crate::common;

use common::server::{TestServer, answer, role_of, status, well_behaved};
use common::{Sandbox, artifacts, events, of_kind, stderr, stdout};
use handoff::pipeline::{SkillsFile, Specialist, load_pipeline};
use serde_json::Value;

const GRAPHQL: &str = "Add a GraphQL API for invoices stored in PostgreSQL";

/// `(specialist, text, error)` of every `advice` event of `phase`.
fn advice(events: &[Value], phase: &str) -> Vec<(String, String, Option<String>)> {
    of_kind(events, "advice")
        .into_iter()
        .filter(|e| e["phase"] == phase)
        .map(|e| {
            (
                e["specialist"].as_str().unwrap_or_default().to_owned(),
                e["text"].as_str().unwrap_or_default().to_owned(),
                e["error"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

fn names(advice: &[(String, String, Option<String>)]) -> Vec<&str> {
    advice.iter().map(|(n, _, _)| n.as_str()).collect()
}

#[test]
fn engaged_specialists_are_consulted_and_the_role_applies_their_advice() {
    let sandbox = Sandbox::new();
    let output = sandbox.run(&["run", "--headless", "--approve", "all", GRAPHQL]);
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{out}{}", stderr(&output));
    let events = sandbox.events();
    let plan = advice(&events, "plan");
    assert_eq!(names(&plan), ["graphql", "database"]);
    // Topic-appropriate, about what the request names.
    assert!(plan[0].1.contains("DataLoader"), "{}", plan[0].1);
    assert!(plan[1].1.contains("EXPLAIN"), "{}", plan[1].1);
    assert!(plan.iter().all(|(_, _, error)| error.is_none()));
    // The consults come after the attempt starts and before its artifact,
    // and each one's tokens are counted on the attempt.
    let seq_of = |kind: &str| {
        events
            .iter()
            .find(|e| e["kind"] == kind && e["phase"] == "plan")
            .and_then(|e| e["seq"].as_u64())
            .expect(kind)
    };
    let first_advice = seq_of("advice");
    assert!(seq_of("phase_started") < first_advice && first_advice < seq_of("artifact"));
    let plan_usage = of_kind(&events, "usage")
        .into_iter()
        .filter(|e| e["phase"] == "plan")
        .count();
    assert_eq!(plan_usage, 3, "two consults and the architect's own call");
    // The developer was handed its advice (the stand-in says what it applied).
    let developer = artifacts(&events, "implement").remove(0).to_owned();
    assert!(
        developer.contains(
            "## Specialist advice applied\n- graphql (4 points, asked because of “graphql”): Model"
        ),
        "{developer}"
    );
    assert!(out.contains("plan       ✦ graphql: 4 points"), "{out}");
    // The Business Analyst is advised by none of them.
    assert!(advice(&events, "summarize").is_empty());
    // The advice is readable after the session: export writes it out.
    let dir = sandbox.dir.path().join("export");
    let exported = sandbox.run(&[
        "export",
        sandbox.log().to_str().expect("path"),
        "--out",
        dir.to_str().expect("path"),
    ]);
    assert_eq!(exported.status.code(), Some(0), "{}", stderr(&exported));
    let written = std::fs::read_to_string(dir.join("advice/02-plan-graphql-attempt-1.md"))
        .expect("the graphql advice exported");
    assert_eq!(written, plan[0].1);
}

/// A sandbox whose retries and timeouts are fast.
fn fast_sandbox() -> Sandbox {
    let sandbox = Sandbox::new();
    sandbox.config("[retries]\nmax = 1\nbase_ms = 20\ncap_s = 1\n[timeouts]\nconnect = 2\nfirst_byte = 2\nidle = 2\n");
    sandbox
}

fn run_against(sandbox: &Sandbox, server: &TestServer, request: &str) -> std::process::Output {
    sandbox
        .command()
        .env("OPENAI_API_KEY", "sk-test-key-for-consults")
        .args([
            "run",
            "--headless",
            "--approve",
            "all",
            "--base-url",
            &server.base_url,
            "--model",
            "test-model",
            request,
        ])
        .output()
        .expect("run handoff")
}

const ADVICE: &str = "- Batch invoice lookups with a DataLoader\n- Cap query depth at 8\n- Paginate invoices as connections";

fn is_consult(request: &common::server::Recorded, name: &str) -> bool {
    request
        .system()
        .starts_with(&format!("You are the {name} specialist"))
}

#[test]
fn a_consult_is_its_own_call_and_its_advice_is_in_the_role_request() {
    let server = TestServer::start(|_, request| {
        if is_consult(request, "graphql") {
            answer(ADVICE, 50, 20)
        } else if request.system().contains(" specialist on a software team") {
            answer("- Keep it simple", 10, 5)
        } else {
            answer(&well_behaved(&role_of(request)), 100, 10)
        }
    });
    let sandbox = fast_sandbox();
    let output = run_against(&sandbox, &server, "Add a GraphQL API for invoices");
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}{}",
        stdout(&output),
        stderr(&output)
    );
    let requests = server.recorded();
    let consults: Vec<_> = requests
        .iter()
        .filter(|r| is_consult(r, "graphql"))
        .collect();
    // The architect and the developer are both advised by graphql.
    assert_eq!(consults.len(), 2, "one consult per advised phase");
    let consult = consults[0];
    assert!(
        consult.system().contains("You design GraphQL APIs"),
        "its own prompt: {}",
        consult.system()
    );
    assert!(
        consult
            .system()
            .contains("The Solution Architect is about to write")
    );
    let user = consult.body["messages"][1]["content"]
        .as_str()
        .expect("user");
    assert!(user.contains("Add a GraphQL API for invoices"), "{user}");
    assert!(
        user.contains("# Business Analyst artifact"),
        "the artifact at hand: {user}"
    );
    assert!(
        consult.body.get("tools").is_none(),
        "no tools: {}",
        consult.body
    );
    assert_eq!(consult.body["max_tokens"], 600);
    // The architect's own request carries the advice, after the consult.
    let architect = requests
        .iter()
        .position(|r| role_of(r) == "Solution Architect")
        .expect("architect asked");
    let asked = requests
        .iter()
        .position(|r| is_consult(r, "graphql"))
        .expect("consulted");
    assert!(asked < architect);
    let handed = requests[architect].body["messages"][1]["content"]
        .as_str()
        .expect("user");
    assert!(
        handed.contains(&format!(
            "## Advice from the graphql specialist (consulted because the work mentions “graphql”)\n{ADVICE}"
        )),
        "{handed}"
    );
    assert!(
        !requests[architect]
            .system()
            .contains("You design GraphQL APIs"),
        "consulted, not pasted"
    );
    let events = sandbox.events();
    let plan = advice(&events, "plan");
    assert_eq!(plan[0].1.trim(), ADVICE);
    let usage: Vec<&Value> = of_kind(&events, "usage")
        .into_iter()
        .filter(|e| e["phase"] == "plan" && e["prompt_tokens"] == 50)
        .collect();
    assert_eq!(usage.len(), 1, "the consult's tokens count");
}

/// A specialist whose server trickles an answer forever (never idle long
/// enough to time out) is given up after the attempt's bound, and the
/// phase goes on without its advice.
#[test]
fn a_consult_that_never_ends_is_given_up_at_the_attempts_bound() {
    use common::server::{Piece, Reply, text_chunk};
    let server = TestServer::start(|_, request| {
        if request.system().contains(" specialist on a software team") {
            let mut pieces = Vec::new();
            for _ in 0..600 {
                pieces.push(text_chunk("- and "));
                pieces.push(Piece::Pause(std::time::Duration::from_millis(100)));
            }
            Reply::Sse(pieces)
        } else {
            answer(&well_behaved(&role_of(request)), 100, 10)
        }
    });
    let sandbox = Sandbox::new();
    sandbox.config("[timeouts]\nidle = 5\nfirst_byte = 5\nattempt = 1\n");
    let started = std::time::Instant::now();
    let output = run_against(&sandbox, &server, "Add a GraphQL API for invoices");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
    let plan = advice(&sandbox.events(), "plan");
    let error = plan[0].2.as_deref().expect("the give-up is recorded");
    assert!(error.contains("no advice within 1 s"), "{error}");
}

#[test]
fn a_failing_consult_is_recorded_and_the_phase_goes_on_without_it() {
    let server = TestServer::start(|_, request| {
        if request.system().contains(" specialist on a software team") {
            status(500, &[], "{\"error\":{\"message\":\"upstream exploded\"}}")
        } else {
            answer(&well_behaved(&role_of(request)), 100, 10)
        }
    });
    let sandbox = fast_sandbox();
    let output = run_against(&sandbox, &server, "Add a GraphQL API for invoices");
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{out}{}", stderr(&output));
    let events = sandbox.events();
    let plan = advice(&events, "plan");
    assert_eq!(names(&plan), ["graphql"]);
    let error = plan[0].2.as_deref().expect("the failure is recorded");
    assert!(error.contains("500"), "{error}");
    assert!(plan[0].1.is_empty());
    assert_eq!(
        artifacts(&events, "plan").len(),
        1,
        "the architect still ran"
    );
    assert!(
        out.contains("plan       ✦ graphql: no advice ("),
        "said on the card's line: {out}"
    );
    let architect = server
        .recorded()
        .into_iter()
        .find(|r| role_of(r) == "Solution Architect")
        .expect("architect asked");
    assert!(
        !architect.body["messages"][1]["content"]
            .as_str()
            .unwrap_or_default()
            .contains("## Advice from"),
        "no advice handed"
    );
}

#[test]
fn an_offline_consult_that_fails_does_not_block_the_phase() {
    let sandbox = Sandbox::new();
    let request = format!("{GRAPHQL} !consult-fails:graphql");
    let output = sandbox.run(&["run", "--headless", "--approve", "all", &request]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    let events = sandbox.events();
    let implement = advice(&events, "implement");
    assert_eq!(implement[0].0, "graphql");
    assert!(
        implement[0]
            .2
            .as_deref()
            .is_some_and(|e| e.contains("simulated server error"))
    );
    assert!(implement[1].2.is_none(), "the others still advise");
    let developer = artifacts(&events, "implement").remove(0).to_owned();
    assert!(developer.contains("- database ("), "{developer}");
    assert!(!developer.contains("- graphql ("), "{developer}");
}

#[test]
fn a_resumed_session_does_not_consult_again() {
    let first = Sandbox::new();
    let output = first.run(&["run", "--headless", "--approve", "all", GRAPHQL]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    let log = first.log();
    let text = std::fs::read_to_string(&log).expect("log");
    let before = advice(&events(&log), "implement");
    assert!(before.len() >= 2, "{before:?}");
    // Cut the log as a crash would, right after the developer's consults.
    let lines: Vec<&str> = text.lines().collect();
    let last_advice = lines
        .iter()
        .rposition(|l| l.contains("\"kind\":\"advice\"") && l.contains("\"phase\":\"implement\""))
        .expect("implement advice");
    let second = Sandbox::new();
    std::fs::create_dir_all(second.sessions()).expect("sessions");
    let cut = second.sessions().join(log.file_name().expect("name"));
    std::fs::write(&cut, lines[..=last_advice].join("\n") + "\n").expect("write");
    let resumed = second.resume_approving(&cut);
    assert_eq!(
        resumed.status.code(),
        Some(0),
        "{}{}",
        stdout(&resumed),
        stderr(&resumed)
    );
    let events = events(&cut);
    assert_eq!(
        advice(&events, "implement"),
        before,
        "asked once, before the crash"
    );
    // The interrupted attempt ran again, with the recorded advice.
    let developer = artifacts(&events, "implement");
    assert_eq!(developer.len(), 1);
    assert!(
        developer[0].contains("- graphql (4 points"),
        "{}",
        developer[0]
    );
    let started: Vec<u64> = of_kind(&events, "phase_started")
        .into_iter()
        .filter(|e| e["phase"] == "implement")
        .filter_map(|e| e["attempt"].as_u64())
        .collect();
    assert_eq!(started, [1, 2]);
    // Later phases read new artifacts: they are consulted as usual.
    assert!(!advice(&events, "commit").is_empty());
}

#[test]
fn check_accepts_the_builtin_specialists_and_holds_prompt_or_guidance() {
    let sandbox = Sandbox::new();
    let file = sandbox.dir.path().join("skills.toml");
    std::fs::write(&file, common::BUILTIN_SKILLS).expect("write");
    let ok = sandbox.run(&["check", "--skills", file.to_str().expect("path")]);
    assert_eq!(ok.status.code(), Some(0), "{}{}", stdout(&ok), stderr(&ok));
    // A user's fixed guidance still loads (pasted, no call).
    let pasted = common::BUILTIN_SKILLS.replacen(
        "[[specialists]]",
        "[[specialists]]\nname = \"billing\"\nkeywords = [\"invoice\"]\nguidance = \"Money is integer cents.\"\n\n[[specialists]]",
        1,
    );
    std::fs::write(&file, &pasted).expect("write");
    let ok = sandbox.run(&["check", "--skills", file.to_str().expect("path")]);
    assert_eq!(ok.status.code(), Some(0), "{}", stderr(&ok));
    let both = common::BUILTIN_SKILLS.replacen(
        "name = \"aws\"",
        "name = \"aws\"\nguidance = \"Use IAM.\"",
        1,
    );
    std::fs::write(&file, &both).expect("write");
    let refused = sandbox.run(&["check", "--skills", file.to_str().expect("path")]);
    assert_eq!(refused.status.code(), Some(2));
    let said = stderr(&refused) + &stdout(&refused);
    assert!(said.contains("either a `prompt`"), "{said}");
}

#[test]
fn pasted_guidance_still_joins_the_prompt_with_no_call() {
    let sandbox = Sandbox::new();
    let file = sandbox.dir.path().join("skills.toml");
    let pasted = common::BUILTIN_SKILLS.replacen(
        "[[specialists]]",
        "[[specialists]]\nname = \"billing\"\nkeywords = [\"invoices\"]\nroles = [\"Senior Backend Developer\"]\nguidance = \"Money is integer cents. Round once.\"\n\n[[specialists]]",
        1,
    );
    std::fs::write(&file, &pasted).expect("write");
    let output = sandbox.run(&[
        "--skills",
        file.to_str().expect("path"),
        "run",
        "--headless",
        "--approve",
        "all",
        "Add an export of invoices",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let events = sandbox.events();
    assert!(
        advice(&events, "implement")
            .iter()
            .all(|(n, _, _)| n != "billing"),
        "pasted: no consult"
    );
    let developer = artifacts(&events, "implement").remove(0).to_owned();
    assert!(
        developer.contains("## Specialist guidance applied\n- billing (engaged by “invoices”): Money is integer cents"),
        "{developer}"
    );
}

/// The seed's table, one request per category, and the specialist each
/// must engage (for at least one role of the pipelines).
const TABLE: &[(&str, &str)] = &[
    ("Store uploads in S3 behind an AWS Lambda", "aws"),
    ("Export orders to BigQuery from Cloud Run", "gcp"),
    ("Keep carts in Azure Cosmos DB", "azure"),
    (
        "Deploy the orders service to Kubernetes with Helm",
        "kubernetes",
    ),
    ("Manage the queues with Terraform", "terraform"),
    ("Offer databases through a Crossplane XRD", "crossplane"),
    ("Ship the service through ArgoCD (GitOps)", "gitops"),
    ("Add a CI/CD workflow with GitHub Actions", "cicd"),
    (
        "Split billing into microservices behind a service mesh",
        "microservices",
    ),
    ("Add a GraphQL API with resolvers for orders", "graphql"),
    ("Design the REST API for refunds", "api-design"),
    ("Add OAuth login with JWT", "security"),
    ("Move sessions from MongoDB to PostgreSQL", "database"),
    ("Add a FastAPI endpoint in Python", "python"),
    ("Add a Node.js worker in TypeScript", "typescript"),
    ("Add a health package in Golang with goroutines", "go"),
    ("Serve the React app with Next.js", "react"),
    (
        "Cut the p99 latency of search with profiling",
        "performance",
    ),
    (
        "Add Prometheus monitoring and a Grafana dashboard",
        "observability",
    ),
];

fn builtin() -> Vec<Specialist> {
    load_pipeline(&SkillsFile::builtin(), None)
        .expect("builtin")
        .specialists
}

#[test]
fn every_category_of_the_seed_table_routes_to_its_specialist() {
    let specialists = builtin();
    let roles: Vec<String> = ["backend", "discovery"]
        .iter()
        .flat_map(|name| {
            load_pipeline(&SkillsFile::builtin(), Some(name))
                .expect("pipeline")
                .phases
                .into_iter()
                .map(|p| p.role)
        })
        .collect();
    for (request, expected) in TABLE {
        let engaged: Vec<&str> = specialists
            .iter()
            .filter(|s| s.matches(request).is_some())
            .map(|s| s.name.as_str())
            .collect();
        assert!(
            engaged.contains(expected),
            "“{request}” should engage {expected}, engaged {engaged:?}"
        );
    }
    for s in &specialists {
        assert!(s.consults(), "{} is consulted", s.name);
        assert!(
            s.roles.iter().all(|r| roles.contains(r)),
            "{} advises roles that exist: {:?}",
            s.name,
            s.roles
        );
    }
    let categories: std::collections::BTreeSet<&str> = TABLE.iter().map(|(_, s)| *s).collect();
    assert_eq!(categories.len(), 19, "every row of the seed's table");
}

#[test]
fn common_words_engage_nobody() {
    let specialists = builtin();
    for request in [
        "Go ahead and add an audit log; it should go live Friday",
        "The service must react to order events",
        "Add the rest of the pagination fields to /orders",
        "Add a health package to the pipeline of the orders service",
        "Add retry to the payments client, which is in flux",
    ] {
        let engaged: Vec<&str> = specialists
            .iter()
            .filter(|s| s.matches(request).is_some())
            .map(|s| s.name.as_str())
            .collect();
        assert!(engaged.is_empty(), "“{request}” engaged {engaged:?}");
    }
}

/// A model that never answers a consult and answers the roles offline.
struct SilentSpecialists(handoff::provider::offline::OfflineProvider);

impl handoff::provider::Provider for SilentSpecialists {
    fn name(&self) -> &'static str {
        "offline"
    }

    fn stream(
        &self,
        request: handoff::provider::CompletionRequest,
    ) -> handoff::provider::ChunkStream {
        if request.brief.consult.is_some() {
            Box::pin(futures::stream::pending())
        } else {
            self.0.stream(request)
        }
    }
}

/// Cancels at the first `engaged`, approves the plan's gate, then leaves.
struct CancelAtConsult {
    commands: tokio::sync::mpsc::UnboundedSender<handoff::protocol::Command>,
    cancelled: bool,
}

impl handoff::protocol::Sink for CancelAtConsult {
    fn publish(&mut self, event: &handoff::session::Event, state: &handoff::session::SessionState) {
        use handoff::protocol::Command;
        use handoff::session::{Action, DecidedBy, Decision, EventKind};
        if matches!(event.kind, EventKind::Engaged { .. }) && !self.cancelled {
            self.cancelled = true;
            let _ = self.commands.send(Command::Cancel);
        }
        if let EventKind::GateOpened { phase, .. } = &event.kind
            && phase == "summarize"
        {
            let decision = Decision::new(phase.clone(), Action::Approve, DecidedBy::User);
            let gate = state.gate.as_ref().map(|g| g.seq).expect("open gate");
            let _ = self.commands.send(Command::Decide(decision.at_gate(gate)));
        }
    }

    fn notice(&mut self, _text: String) {}
}

#[tokio::test]
async fn a_cancel_while_specialists_think_records_them_cancelled_and_the_role_runs() {
    use handoff::engine::{Engine, LogWriter, SessionSpec};
    use handoff::provider::offline::{OfflineProvider, Pace};
    let dir = tempfile::tempdir().expect("tempdir");
    let log = LogWriter::create(dir.path(), "s").expect("log");
    let path = log.path().to_owned();
    let (commands, commands_rx) = tokio::sync::mpsc::unbounded_channel();
    let spec = SessionSpec::new(
        "s",
        GRAPHQL,
        load_pipeline(&SkillsFile::builtin(), None).expect("pipeline"),
        std::sync::Arc::new(SilentSpecialists(OfflineProvider::new(Pace::INSTANT))),
        "offline-scripted",
    );
    let sink = CancelAtConsult {
        commands: commands.clone(),
        cancelled: false,
    };
    let engine = Engine::new(spec, log, Box::new(sink), commands_rx);
    // The plan's gate opens and nothing answers it: the run is stopped there.
    let run = tokio::spawn(engine.run());
    let waited = tokio::time::timeout(std::time::Duration::from_secs(20), async {
        loop {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            if text.contains("\"kind\":\"gate_opened\",\"phase\":\"plan\"") {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    })
    .await;
    run.abort();
    drop(commands);
    assert!(
        waited.is_ok(),
        "the plan's gate opened despite silent specialists"
    );
    let events = events(&path);
    let plan = advice(&events, "plan");
    assert_eq!(names(&plan), ["graphql", "database"]);
    assert!(
        plan.iter()
            .all(|(_, _, e)| e.as_deref() == Some("cancelled by the user")),
        "{plan:?}"
    );
    assert_eq!(artifacts(&events, "plan").len(), 1, "the architect ran");
}
