//! The code the offline developer and test engineer write into the
//! workspace: small, plausible Go (and one SQL migration) for the files a
//! plan task names, so a gate's Changes view has a real change to review.
//!
//! A later attempt or round writes the same files with a few lines
//! changed (the limit, a check, a comment answering the review), so a
//! second round shows a small diff of its own.

use super::compose::Topic;

/// What a later try changes: 1 for the first.
fn revised(attempt: u32) -> bool {
    attempt > 1
}

/// The source of `path` for `topic`, as written at `attempt` (or round).
pub fn source(path: &str, topic: &Topic, attempt: u32) -> String {
    let pkg = topic.package();
    let pkg = if pkg.is_empty() {
        "feature".to_owned()
    } else {
        pkg
    };
    let name = path.rsplit('/').next().unwrap_or(path);
    let package = if path.starts_with("internal/routes/") {
        "routes".to_owned()
    } else {
        pkg.clone()
    };
    let ty = type_name(&pkg);
    let limit = if revised(attempt) { 60 } else { 100 };
    let extension = std::path::Path::new(name)
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("");
    let body = match name {
        "model.go" => model(&ty, revised(attempt)),
        "service.go" => service(&ty, limit, revised(attempt)),
        "handler.go" => handler(&ty),
        "routes.go" => routes(&pkg, &ty),
        "metrics.go" => metrics(&pkg),
        n if n.ends_with("_test.go") => tests(&ty, limit),
        _ if extension == "sql" => return migration(&pkg, revised(attempt)),
        n if extension == "go" => format!(
            "// {}: part of {}.\n",
            n.trim_end_matches(".go"),
            topic.title
        ),
        _ => return format!("{}\n\nWritten for: {}\n", path, topic.title),
    };
    format!(
        "// Package {package}: {}.\npackage {package}\n\n{body}",
        topic.title
    )
}

/// `orders` → `Order`.
fn type_name(pkg: &str) -> String {
    let singular = pkg.strip_suffix('s').unwrap_or(pkg);
    let mut chars = singular.chars();
    chars.next().map_or_else(
        || "Item".to_owned(),
        |c| c.to_uppercase().collect::<String>() + chars.as_str(),
    )
}

fn model(ty: &str, revised: bool) -> String {
    let check = if revised {
        "\tif s.Limit <= 0 || s.Limit > 10000 {\n\t\treturn errors.New(\"limit must be between 1 and 10000\")\n\t}\n"
    } else {
        "\tif s.Limit <= 0 {\n\t\treturn errors.New(\"limit must be positive\")\n\t}\n"
    };
    format!(
        "import (\n\t\"errors\"\n\t\"time\"\n)\n\n\
         // {ty}Setting is the limit that applies to one API key.\n\
         type {ty}Setting struct {{\n\tID        int64\n\tScope     string\n\tLimit     int\n\tWindow    time.Duration\n\tUpdatedAt time.Time\n}}\n\n\
         // Validate says what is wrong with a setting, if anything.\n\
         func (s {ty}Setting) Validate() error {{\n{check}\
         \tif s.Window < time.Second {{\n\t\treturn errors.New(\"window must be at least a second\")\n\t}}\n\treturn nil\n}}\n"
    )
}

fn service(ty: &str, limit: u32, revised: bool) -> String {
    let note = if revised {
        "\t// Keys are counted per window; the window restarts when it ends\n\t// (review: the count must reset, not carry over).\n"
    } else {
        ""
    };
    format!(
        "import (\n\t\"sync\"\n\t\"time\"\n)\n\n\
         // DefaultLimit is the number of requests a key may make per window.\n\
         const DefaultLimit = {limit}\n\n\
         // Service decides whether a request may go on.\n\
         type Service struct {{\n\tmu     sync.Mutex\n\tlimit  int\n\twindow time.Duration\n\tcounts map[string]int\n\tstart  map[string]time.Time\n\tnow    func() time.Time\n}}\n\n\
         // New{ty}Service makes a service with the given limit per window.\n\
         func New{ty}Service(limit int, window time.Duration) *Service {{\n\treturn &Service{{limit: limit, window: window, counts: map[string]int{{}}, start: map[string]time.Time{{}}, now: time.Now}}\n}}\n\n\
         // Allow counts one request for key and says whether it is within the limit.\n\
         func (s *Service) Allow(key string) bool {{\n\ts.mu.Lock()\n\tdefer s.mu.Unlock()\n{note}\
         \tif now := s.now(); now.Sub(s.start[key]) >= s.window {{\n\t\ts.start[key] = now\n\t\ts.counts[key] = 0\n\t}}\n\
         \ts.counts[key]++\n\treturn s.counts[key] <= s.limit\n}}\n"
    )
}

fn handler(ty: &str) -> String {
    format!(
        "import \"net/http\"\n\n\
         // Middleware answers 429 with Retry-After when a key is over its limit.\n\
         func Middleware(s *Service, next http.Handler) http.Handler {{\n\
         \treturn http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {{\n\
         \t\tkey := r.Header.Get(\"X-API-Key\")\n\
         \t\tif key == \"\" {{\n\t\t\thttp.Error(w, \"missing API key\", http.StatusUnauthorized)\n\t\t\treturn\n\t\t}}\n\
         \t\tif !s.Allow(key) {{\n\t\t\tw.Header().Set(\"Retry-After\", \"60\")\n\t\t\thttp.Error(w, \"too many requests\", http.StatusTooManyRequests)\n\t\t\treturn\n\t\t}}\n\
         \t\tnext.ServeHTTP(w, r)\n\t}})\n}}\n\n\
         // {ty}Handler is the handler the middleware wraps.\n\
         type {ty}Handler struct{{}}\n"
    )
}

fn routes(pkg: &str, ty: &str) -> String {
    format!(
        "import (\n\t\"net/http\"\n\t\"time\"\n\n\t\"example.com/service/internal/{pkg}\"\n)\n\n\
         // Register mounts /api/v1/{pkg} behind the limit.\n\
         func Register(mux *http.ServeMux, handler http.Handler) {{\n\
         \tlimits := {pkg}.New{ty}Service({pkg}.DefaultLimit, time.Minute)\n\
         \tmux.Handle(\"/api/v1/{pkg}\", {pkg}.Middleware(limits, handler))\n}}\n"
    )
}

fn metrics(pkg: &str) -> String {
    format!(
        "import \"expvar\"\n\n\
         // Decisions counts what the limit decided, by outcome.\n\
         var Decisions = expvar.NewMap(\"{pkg}_decisions\")\n\n\
         // Count records one decision.\n\
         func Count(allowed bool) {{\n\tif allowed {{\n\t\tDecisions.Add(\"allowed\", 1)\n\t}} else {{\n\t\tDecisions.Add(\"limited\", 1)\n\t}}\n}}\n"
    )
}

fn tests(ty: &str, limit: u32) -> String {
    format!(
        "import (\n\t\"testing\"\n\t\"time\"\n)\n\n\
         func TestAllowStopsAtTheLimit(t *testing.T) {{\n\
         \ts := New{ty}Service({limit}, time.Minute)\n\
         \tfor i := 0; i < {limit}; i++ {{\n\t\tif !s.Allow(\"k\") {{\n\t\t\tt.Fatalf(\"request %d refused\", i+1)\n\t\t}}\n\t}}\n\
         \tif s.Allow(\"k\") {{\n\t\tt.Fatal(\"request over the limit allowed\")\n\t}}\n}}\n\n\
         func TestKeysAreCountedApart(t *testing.T) {{\n\
         \ts := New{ty}Service(1, time.Minute)\n\
         \tif !s.Allow(\"a\") || !s.Allow(\"b\") {{\n\t\tt.Fatal(\"one key's requests counted against another\")\n\t}}\n}}\n"
    )
}

fn migration(pkg: &str, revised: bool) -> String {
    let check = if revised {
        " CHECK (request_limit BETWEEN 1 AND 10000)"
    } else {
        " CHECK (request_limit > 0)"
    };
    format!(
        "-- +migrate Up\nCREATE TABLE {pkg}_settings (\n    id BIGSERIAL PRIMARY KEY,\n    scope TEXT NOT NULL,\n    request_limit INTEGER NOT NULL{check},\n    window_seconds INTEGER NOT NULL,\n    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()\n);\n\n-- +migrate Down\nDROP TABLE {pkg}_settings;\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_file_gets_code_of_its_kind_and_a_later_attempt_changes_a_few_lines() {
        let topic = Topic::of("Add rate limiting to the orders API");
        let first = source("internal/orders/service.go", &topic, 1);
        assert!(first.starts_with("// Package orders"), "{first}");
        assert!(first.contains("const DefaultLimit = 100"), "{first}");
        assert!(first.contains("func NewOrderService("), "{first}");
        let second = source("internal/orders/service.go", &topic, 2);
        let changed = similar::TextDiff::from_lines(&first, &second)
            .iter_all_changes()
            .filter(|c| c.tag() != similar::ChangeTag::Equal)
            .count();
        assert!(
            (2..=6).contains(&changed),
            "a small change: {changed} lines"
        );
        assert!(source("migrations/0042_orders.sql", &topic, 1).starts_with("-- +migrate Up"));
        assert!(source("internal/routes/routes.go", &topic, 1).contains("package routes"));
        assert!(source("internal/orders/service_test.go", &topic, 1).contains("func Test"));
    }
}
