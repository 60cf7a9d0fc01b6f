//! The offline stand-in's advice when a specialist is consulted: a few
//! concrete bullets for the specialist's topic, about what the request
//! names (its resource) and for the role that asked. A pure function of
//! the brief, so a session's advice is the same every time. A specialist
//! the stand-in has no topic for gets advice drawn from its own prompt.

use std::fmt::Write;

use super::compose::Topic;
use crate::provider::Brief;

/// The bullets for a topic, with `{r}` standing for the request's resource
/// and `{role}` for the role advised.
fn topic(name: &str) -> Option<&'static [&'static str]> {
    Some(match name {
        "aws" => &[
            "Give the {r} component its own IAM role with only the actions and resources it uses; no wildcards on `Resource`.",
            "Retry AWS calls with exponential backoff and jitter, and send an idempotency key with writes that may be repeated.",
            "Keep every resource for {r} in infrastructure code (CloudFormation or Terraform), tagged with owner and cost centre.",
            "Check the service quotas the {r} traffic will hit (Lambda concurrency, DynamoDB capacity) before launch.",
        ],
        "gcp" => &[
            "Run the {r} service under its own service account through workload identity; no exported JSON keys.",
            "Pub/Sub delivers at least once: make the {r} handler idempotent and ack only after the write commits.",
            "Set Cloud Run concurrency and a max instance count so a spike cannot exhaust the database's connections.",
            "Estimate BigQuery scan costs for the {r} reports and partition the tables by date.",
        ],
        "azure" => &[
            "Authenticate the {r} service with a managed identity and read secrets from Key Vault, never from app settings.",
            "Choose the Cosmos DB partition key for {r} from the query that runs most, and budget its request units.",
            "Put the {r} endpoints behind the API Management policy the other services use (rate limit, auth).",
        ],
        "kubernetes" => &[
            "Set CPU and memory requests and limits for the {r} deployment from a load test, not a guess.",
            "Add a readiness probe that checks the {r} dependencies and a liveness probe that does not.",
            "Roll out with `maxUnavailable: 0` and a PodDisruptionBudget so a node drain keeps {r} up.",
            "Keep {r} configuration in a ConfigMap and its credentials in a Secret, mounted, not baked into the image.",
        ],
        "terraform" => &[
            "Put the {r} resources in a module with typed variables and outputs; no hard-coded account ids or regions.",
            "Keep state remote with locking, and review `terraform plan` output in the pull request before apply.",
            "Guard the {r} data stores with `prevent_destroy` so a rename cannot delete them.",
        ],
        "crossplane" => &[
            "Expose {r} to teams as a composite resource (XRD) with only the fields they should set.",
            "Give the provider its credentials through a ProviderConfig backed by workload identity, not a static secret.",
            "Set the deletion policy of the {r} data stores to Orphan so deleting a claim keeps the data.",
        ],
        "gitops" => &[
            "Describe the {r} deployment in git per environment (overlays) and promote by pull request, not by hand.",
            "Alert when the {r} application is out of sync or degraded for more than a few minutes.",
            "Make a rollback of {r} a `git revert` of the promotion commit, and rehearse it once.",
        ],
        "cicd" => &[
            "Run unit and integration tests for {r} on every pull request, with lint and a dependency scan, before merge.",
            "Build the {r} artifact once, tag it with the commit, and promote that same artifact through environments.",
            "Gate the production deploy on a green staging smoke test of the {r} endpoints.",
            "Watch error rate after deploy and roll back automatically when it rises.",
        ],
        "microservices" => &[
            "Keep {r} data owned by one service; other services get it through its API or its events, never its tables.",
            "Put a timeout, a bounded retry and a circuit breaker on every call the {r} service makes to another.",
            "Publish {r} changes as events through an outbox so a crash cannot lose or duplicate them.",
            "Trace each request across services with one correlation id.",
        ],
        "graphql" => &[
            "Model {r} as a type with non-null fields only where the value always exists; lists paginate as connections.",
            "Batch the {r} lookups in resolvers with a DataLoader so a list query does not make N+1 database calls.",
            "Limit query depth and cost, and reject queries over the limit with a clear error.",
            "Authorize per field: check in the resolver that the caller may see each {r} it returns.",
        ],
        "api-design" => &[
            "Name the collection `/{r}` with GET (list, paginated), POST (create), and `/{r}/{id}` for one item.",
            "Return 201 with a Location header on create, 404 for a missing {r}, 409 on a conflict, 422 on invalid input.",
            "Use one error body for every failure: a machine-readable code, a message and the offending field.",
            "Accept an Idempotency-Key on POST so a retried create does not make two {r}.",
            "Write the contract in OpenAPI before the code, and version the path (`/v1`).",
        ],
        "security" => &[
            "Check authorization on every {r} endpoint: the caller may act on this {r}, not only be logged in.",
            "Validate and bound every input field of {r}; reject unknown fields.",
            "Never log tokens, passwords or personal data of {r}; mask them in errors too.",
            "Test the refusals: no token, an expired token, and another tenant's {r} each get 401 or 403.",
        ],
        "database" => &[
            "Index the columns the {r} queries filter and sort on, and check the plan with EXPLAIN on realistic volumes.",
            "Ship the {r} schema change as a forward migration with a tested rollback; backfill in batches.",
            "Wrap multi-row {r} writes in one transaction and pick the isolation level on purpose.",
            "In MongoDB, shape {r} documents after the reads and add the compound index that serves them.",
        ],
        "redis" => &[
            "Count {r} requests atomically (INCR with EXPIRE in one script) per client key.",
            "Set a TTL on every key and prefix keys with the feature name (`{r}:limit:<client>`).",
            "Decide what happens when Redis is unreachable: fail open for reads, closed for abuse limits, and log it.",
        ],
        "python" => &[
            "Validate {r} input with Pydantic models at the edge and keep the core typed (mypy or pyright in CI).",
            "Stay async end to end in FastAPI; run blocking calls for {r} in a thread pool.",
            "Pin dependencies with a lock file and test {r} with pytest fixtures for the database.",
        ],
        "typescript" => &[
            "Turn on `strict` and validate {r} request bodies at runtime with a schema (zod), since types vanish at runtime.",
            "Await every promise in the {r} handlers and send unhandled rejections to the error tracker.",
            "Keep the lock file committed and audit {r}'s dependencies in CI.",
        ],
        "go" => &[
            "Put {r} in its own package with a small exported API; keep handlers thin.",
            "Wrap errors with context (`fmt.Errorf(\"… %w\", err)`) and check every one.",
            "Pass `context.Context` through every {r} call for deadlines and cancellation; no goroutine without an end.",
            "Write table-driven tests for {r} and run them with `-race`.",
        ],
        "react" => &[
            "Return {r} in the shape the screens render, with pagination cursors, so the UI does not reshape data.",
            "Give the UI distinct error codes for {r} so it can show the right message, and a loading state for slow lists.",
            "Authenticate the React app with short-lived tokens refreshed by the backend; never keep secrets in the bundle.",
        ],
        "performance" => &[
            "Set a target for {r}: p95 latency under 100 ms at the expected peak requests per second.",
            "Find where {r} time goes with a profile before optimizing: queries, remote calls or serialization.",
            "Cache or batch the hottest {r} reads and bound every list with pagination.",
            "Add a load test for the {r} endpoints to CI and fail on a regression past the target.",
        ],
        "observability" => &[
            "Export rate, errors and duration for each {r} endpoint, labelled by route and status only.",
            "Log {r} failures as structured events with the request's correlation id.",
            "Add trace spans around the database and remote calls {r} makes.",
            "Alert on the {r} error rate and latency users feel, and link the dashboard in the runbook.",
        ],
        _ => return None,
    })
}

/// The advice `specialist` gives the brief's role on the brief's request.
pub(super) fn compose(brief: &Brief, specialist: &crate::pipeline::Specialist) -> String {
    let topic = Topic::of(&brief.request);
    let role = &brief.phase.role;
    let fill = |line: &str| line.replace("{r}", &topic.resource).replace("{role}", role);
    let mut out = String::new();
    if let Some(lines) = topic_lines(&specialist.name) {
        for line in lines {
            let _ = writeln!(out, "- {}", fill(line));
        }
        return out;
    }
    // No topic of its own: the sentences of its prompt, as advice on this work.
    let prompt = specialist.prompt.as_deref().unwrap_or_default();
    out.push_str(&prompt_points(prompt, &topic.resource, 4));
    if out.is_empty() {
        let _ = writeln!(
            out,
            "- Apply {} practice to {}.",
            specialist.name, topic.resource
        );
    }
    out
}

/// Up to `most` sentences of `prompt`, each a bullet about `resource`:
/// what a helper the stand-in has no words of its own for says.
pub(super) fn prompt_points(prompt: &str, resource: &str, most: usize) -> String {
    let mut out = String::new();
    for sentence in prompt
        .split_terminator(". ")
        .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|s| !s.is_empty())
        .take(most)
    {
        let _ = writeln!(out, "- For {resource}: {}", sentence.trim_end_matches('.'));
    }
    out
}

fn topic_lines(name: &str) -> Option<&'static [&'static str]> {
    topic(&name.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::{SkillsFile, load_pipeline};

    #[test]
    fn every_builtin_specialist_has_a_topic_of_its_own() {
        let pipeline = load_pipeline(&SkillsFile::builtin(), None).expect("builtin");
        for s in &pipeline.specialists {
            assert!(
                topic_lines(&s.name).is_some(),
                "{} has no offline topic",
                s.name
            );
        }
    }

    #[test]
    fn advice_is_about_the_request_and_the_same_every_time() {
        let pipeline = load_pipeline(&SkillsFile::builtin(), None).expect("builtin");
        let brief = Brief::new("Add a GraphQL API for invoices", pipeline.phases[1].clone());
        let graphql = pipeline
            .specialists
            .iter()
            .find(|s| s.name == "graphql")
            .expect("graphql");
        let advice = compose(&brief, graphql);
        assert!(advice.contains("DataLoader"), "{advice}");
        assert!(advice.contains("invoices"), "{advice}");
        assert_eq!(advice, compose(&brief, graphql));
        let custom = crate::pipeline::Specialist {
            name: "billing".into(),
            prompt: Some("Think about proration. Mind the currency.".into()),
            ..graphql.clone()
        };
        assert_eq!(
            compose(&brief, &custom),
            "- For invoices: Think about proration\n- For invoices: Mind the currency\n"
        );
    }
}
