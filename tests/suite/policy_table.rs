//! The command policy as a table: every shape issue 16 found getting
//! through, each command with its expected verdict under the default
//! policy (skills.toml's `backend` pipeline) and under seed 004's (the
//! permission block the product was specified from, copied below). Then
//! headless `--allow` through the real binary with a scripted model, and
//! the write policy (`write_permissions`, `.git` through a symlink).

use crate::common;

use common::server::{TestServer, answer, role_of, tool_turn, well_behaved};
use common::{REQUEST, Sandbox, events, of_kind, repository, stderr, stdout};
use handoff::pipeline::{SkillsFile, load_pipeline};
use handoff::policy::{Rules, Verdict};
use handoff::tools::ruling::check_command;
use serde_json::Value;

use Verdict::{Allow as A, Ask as K, Deny as D};

/// Seed 004's `permission.bash`, as written there.
const SEED_004: &str = r#"
"*" = "ask"
"kubectl*" = "ask"
"terraform*" = "ask"
"psql*" = "ask"
"mysql*" = "ask"
"mongo*" = "ask"
"npm*" = "allow"
"pip*" = "allow"
"go*" = "allow"
"docker build*" = "allow"
"docker run*" = "allow"
"git status*" = "allow"
"git log*" = "allow"
"git diff*" = "allow"
"git push --force*" = "ask"
"#;

/// (command, verdict under the default policy, verdict under seed 004).
const TABLE: &[(&str, Verdict, Verdict)] = &[
    // Plain commands, and patterns that match whole words only.
    ("git status", A, A),
    ("git status -s", A, A),
    ("git statusx", K, K),
    ("git status-x", K, K),
    ("git log --oneline", A, A),
    ("git diff HEAD~1", A, A),
    ("git difftool", K, K),
    ("git show HEAD", A, K),
    ("ls -la", A, K),
    ("lsblk", K, K),
    ("cat README.md", A, K),
    ("catalog x", K, K),
    ("pwd", A, K),
    ("pwd -P", K, K),
    ("echo hello", A, K),
    ("grep -r TODO src", A, K),
    ("go test ./...", A, A),
    ("go build ./cmd/x", A, A),
    ("go vet ./...", A, A),
    ("go generate ./...", K, A),
    ("gofmt -l .", K, K),
    ("golangci-lint run", K, K),
    ("cargo test", A, K),
    ("cargo build --release", A, K),
    ("cargo-fuzz run", K, K),
    ("npm test", A, A),
    ("npm install", K, A),
    ("npmx evil", K, K),
    ("pip install -r requirements.txt", K, A),
    ("pipx run evil", K, K),
    ("pytest -q", A, K),
    ("make test", A, K),
    ("make testx", K, K),
    ("kubectl get pods", K, K),
    ("terraform apply", K, K),
    ("psql -c 'drop table x'", K, K),
    ("mysql -e 'select 1'", K, K),
    ("mongosh", K, K),
    ("curl https://example.com", K, K),
    ("git push origin main", K, K),
    ("git push --force origin main", D, K),
    ("git push --force-with-lease", D, K),
    ("git reset --hard HEAD", D, K),
    ("rm -rf /", D, K),
    ("sudo ls", D, K),
    ("docker build .", K, A),
    ("docker run alpine", K, A),
    ("docker run -v /:/host alpine", K, K),
    ("docker run --privileged alpine", K, K),
    // Reads outside the workspace are the sandbox's to stop, not the policy's.
    ("cat /proc/$PPID/environ", A, K),
    // Compound lines: every simple command counts.
    ("git status; touch P", K, K),
    ("git status && bash -c 'touch P'", K, K),
    ("git status || rm -rf /", D, K),
    ("git status | sh", K, K),
    ("git status & touch P", K, K),
    ("git status\ntouch P", K, K),
    ("go test ./... && go vet ./...", A, A),
    ("ls && cat x", A, K),
    ("(git status)", A, A),
    ("{ git status; }", A, A),
    ("if git status; then touch P; fi", K, K),
    ("while true; do git status; done", K, K),
    ("for f in a b; do echo $f; done", A, K),
    ("case x in x) git status;; esac", A, A),
    // Substitutions and redirections.
    ("git status $(touch P)", K, K),
    ("git status `touch P`", K, K),
    ("git log \"$(touch P)\"", K, K),
    ("cat <(touch P)", K, K),
    ("git status > out.txt", K, K),
    ("git status >> out.txt", K, K),
    ("git log 2> err.txt", K, K),
    ("git status &> all.log", K, K),
    ("git log >| f", K, K),
    ("git status > /dev/null 2>&1", A, A),
    ("git status 2>&1", A, A),
    ("cat < README.md", K, K),
    ("cat - < README.md", A, K),
    // Expansions that evaluate code.
    ("git status ${X@P}", K, K),
    ("X='$(touch P)'; git status ${X@P}", K, K),
    ("echo $((X))", K, K),
    ("echo $((1+2))", A, K),
    ("((X))", K, K),
    ("[[ $X -eq 0 ]]", K, K),
    ("[[ $X == a ]]", K, K),
    ("echo ${A[Y]}", K, K),
    ("echo ${A[0]}", A, K),
    ("echo ${X:Y}", K, K),
    ("echo ${X:0:3}", A, K),
    ("echo ${!X}", K, K),
    ("for ((i=0; i<X; i++)); do git status; done", K, K),
    ("A[$X]=1", K, K),
    ("let X=1", K, K),
    ("echo $[X]", K, K),
    ("echo ${X:-default}", A, K),
    ("echo $HOME", A, K),
    ("test -v 'a[$(touch P)]'", K, K),
    ("printf -v 'a[$X]' %s 1", K, K),
    ("read -r 'A[$(touch P)]'", K, K),
    ("declare -n R=A; echo $R", K, K),
    ("echo \"${A[$i]}\"", K, K),
    ("echo ${X:-${Y@P}}", K, K),
    ("cat <<EOF\n$(touch P)\nEOF", K, K),
    ("cat <<'EOF'\n$(touch P)\nEOF", K, K),
    ("eval 'git status'", K, K),
    ("bash -c 'git status'", K, K),
    ("source ./env.sh", K, K),
    ("$CMD status", K, K),
    ("git $SUB", K, K),
    ("git log $OPTS", K, K),
    ("git status *", K, K),
    // Assignment prefixes.
    ("HOME=evil git status", K, K),
    ("XDG_CONFIG_HOME=/tmp/x git status", K, K),
    ("GIT_DIR=/tmp/evil git status", K, K),
    ("GIT_CONFIG_GLOBAL=/tmp/x git log", K, K),
    ("FOO=1 go test ./...", K, K),
    ("env HOME=evil git status", K, K),
    ("env -i git status", A, A),
    ("PATH=/tmp/evil:$PATH go test", K, K),
    ("LD_PRELOAD=/tmp/x.so ls", K, K),
    ("HOME=evil git push --force", D, K),
    ("X=1", K, K),
    ("export GIT_DIR=/tmp/x; git status", K, K),
    // Options that run programs or write outside, under allowed patterns.
    ("git difftool -x 'sh -c id'", K, K),
    ("git diff --ext-diff", K, K),
    ("git diff --no-ext-diff", A, A),
    ("git log --output=/tmp/x", K, K),
    ("git log --output /tmp/x", K, K),
    ("git show --output=x HEAD", K, K),
    ("git log --textconv -p", K, K),
    ("git -c core.pager=sh log", K, K),
    ("git --config-env=core.pager=X log", K, K),
    ("git --exec-path=/tmp/x status", K, K),
    ("git -C /tmp/other status", K, K),
    ("git --git-dir=/tmp/x status", K, K),
    ("git --work-tree=/tmp status", K, K),
    ("git -p log", K, K),
    ("go test -exec /tmp/evil ./...", K, K),
    ("go build -toolexec /tmp/x .", K, K),
    ("go build -o /tmp/x .", K, K),
    ("go build -o bin/x .", A, A),
    ("go test -json ./...", A, A),
    ("npm test --script-shell=/tmp/evil", K, K),
    ("cargo test --config 'target.x.runner=\"sh\"'", K, K),
    ("make test SHELL=/tmp/evil", K, K),
    ("docker build -o /tmp/out .", K, K),
    ("grep -r x . > out", K, K),
    ("sed -i s/a/b/ f", K, K),
    ("sed -n 1,5p f", K, K),
    ("rg --pre ./evil x", K, K),
    ("tar --to-command=sh -xf a.tar", K, K),
    ("find . -exec rm {} \\;", K, K),
    ("cat x | xargs rm", K, K),
    ("awk 'BEGIN{system(\"id\")}'", K, K),
    ("sort -o /etc/x f", K, K),
    ("git rebase -x 'sh -c id' main", K, K),
    ("git fetch --upload-pack=/tmp/x origin", K, K),
    ("find . -delete", K, K),
    ("fd -e go -x rm", K, K),
    ("rg --hostname-bin=./evil x", K, K),
    ("sed 's/a/b/e' f", K, K),
    ("awk '{print | \"sh\"}' f", K, K),
    // Wrappers and paths.
    ("timeout 5 git status", A, A),
    ("timeout 5 git push --force", D, K),
    ("nice -n 5 go test ./...", A, A),
    ("/usr/bin/git status", A, A),
    ("./git status", K, K),
    ("command git status", A, A),
    ("exec git status", K, K),
    ("sudo git status", D, K),
    ("nohup go test", A, A),
    ("time go test ./...", A, A),
    // Quoting: patterns match the parsed words.
    ("git 'status'", A, A),
    ("git \"status -s\"", K, K),
    ("g\"it\" status", A, A),
    ("git st\"atus\"x", K, K),
    ("git status\\x", K, K),
    // What cannot be parsed asks.
    ("git status )", K, K),
    ("git status \"unterminated", K, K),
    ("git status &&", K, K),
    ("", K, K),
];

fn default_rules() -> Rules {
    load_pipeline(&SkillsFile::builtin(), Some("backend"))
        .expect("the built-in pipeline loads")
        .permissions
}

#[test]
fn every_command_of_the_table_gets_its_verdict_under_both_policies() {
    assert!(TABLE.len() >= 150, "{} commands", TABLE.len());
    let default = default_rules();
    let seed: Rules = toml::from_str(SEED_004).expect("seed 004's patterns");
    let mut wrong = Vec::new();
    for (command, under_default, under_seed) in TABLE {
        for (name, rules, expected) in [
            ("default", &default, under_default),
            ("seed 004", &seed, under_seed),
        ] {
            let ruling = check_command(command, &[rules], &[]);
            if ruling.verdict != *expected {
                wrong.push(format!(
                    "{name}: {command:?}: expected {expected}, got {}",
                    ruling.summary()
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

/// Under a policy that allows everything (`"*" = "allow"`), what still
/// asks: code-running expansions, assignment prefixes, options that run
/// programs or write elsewhere, and what cannot be resolved.
const ASK_UNDER_ALLOW_ALL: &[&str] = &[
    "git status ${X@P}",
    "echo $((X))",
    "((X))",
    "[[ $X -eq 0 ]]",
    "echo ${A[Y]}",
    "echo ${X:Y}",
    "echo ${!X}",
    "for ((;;)); do :; done",
    "A[$X]=1",
    "let X",
    "HOME=evil git status",
    "XDG_CONFIG_HOME=/tmp/x git status",
    "GIT_DIR=/tmp/evil git status",
    "env HOME=evil git status",
    "git difftool -x sh",
    "git log --output=/tmp/x",
    "git diff --ext-diff",
    "git -c core.pager=sh log",
    "git --config-env=core.pager=X log",
    "git --exec-path=/tmp/x status",
    "git -C /tmp/other status",
    "git rebase -x sh main",
    "find . -exec sh -c id \\;",
    "find . -delete",
    "fd -x rm",
    "sed -i s/a/b/ f",
    "sed 's/a/b/w /tmp/x' f",
    "rg --pre ./evil x",
    "tar --to-command=sh -xf a.tar",
    "tar -I ./evil -xf a.tar",
    "go test -exec /tmp/evil ./...",
    "go vet -vettool=/tmp/evil ./...",
    "go build -ldflags=-extld=/tmp/evil .",
    "go test -coverprofile=/home/u/.bashrc ./...",
    "cargo build --target-dir /tmp/x",
    "npm test --prefix ../other",
    "npm test --userconfig ./npmrc",
    "pytest --basetemp=/home/u",
    "make test -C ../other",
    "go env -w GOFLAGS=-toolexec=/tmp/evil",
    "go install ./...",
    "go clean -modcache",
    "npm config set script-shell /tmp/evil",
    "npm install -g evil",
    "npm publish",
    "pip install --user evil",
    "pip install --target /tmp/x evil",
    "pip config set global.index-url http://evil",
    "cargo test --config x",
    "make test SHELL=/tmp/evil",
    "docker run -v /:/host alpine",
    "awk 'BEGIN{system(\"id\")}'",
    "sort -o /etc/x f",
    "awk -F , 'BEGIN{system(\"id\")}' f",
    "awk '@load \"x\"; BEGIN{}'",
    "git log $OPTS",
    "git status > out",
    "git status $(id)",
    "bash -c id",
];

/// And what a policy allowing everything allows.
const ALLOWED_UNDER_ALLOW_ALL: &[&str] = &[
    "git status",
    "git log --oneline -n 5",
    "git diff --no-ext-diff",
    "go build -o bin/x .",
    "sed -n 1,5p f",
    "sed s/a/b/g f",
    "find . -name '*.go' -type f",
    // The command `-exec` (or `xargs`) runs is ruled on by its own patterns.
    "find . -exec rm {} +",
    "ls | xargs rm",
    "rg -n TODO src",
    "echo ${X:-a} ${#X} ${X%.go} $((1 + 2))",
    "tar -xf a.tar",
    "go test -coverprofile=cover.out ./...",
    "cargo build --target-dir target/x",
    "pytest --basetemp=tmp/p -q",
    "go env GOPATH",
    "go clean -testcache",
    "npm config get registry",
    "npm install",
    "pip install -r requirements.txt",
    "awk -F , '{print $1}' f",
];

#[test]
fn risky_shapes_ask_even_when_every_command_is_allowed() {
    let all: Rules = toml::from_str("\"*\" = \"allow\"").expect("rules");
    for command in ASK_UNDER_ALLOW_ALL {
        let ruling = check_command(command, &[&all], &[]);
        assert_eq!(ruling.verdict, K, "{command}: {}", ruling.summary());
    }
    for command in ALLOWED_UNDER_ALLOW_ALL {
        let ruling = check_command(command, &[&all], &[]);
        assert_eq!(ruling.verdict, A, "{command}: {}", ruling.summary());
    }
}

/// The decision recorded for the call whose id ends in `id`.
fn decision<'a>(events: &'a [Value], id: &str) -> Option<&'a str> {
    of_kind(events, "permission")
        .into_iter()
        .find(|p| {
            p["call_id"]
                .as_str()
                .is_some_and(|c| c == id || c.ends_with(&format!("-{id}")))
        })
        .and_then(|p| p["decision"].as_str())
}

/// Each `--allow` case: (call id, command, allowed?, file it would make).
const ALLOW_CASES: &[(&str, &str, bool, &str)] = &[
    ("c1", "git status; touch P1", false, "P1"),
    ("c2", "git status && bash -c 'touch P2'", false, "P2"),
    ("c3", "git status $(touch P3)", false, "P3"),
    ("c4", "git status > P4", false, "P4"),
    ("c5", "X='$(touch P5)'; git status ${X@P}", false, "P5"),
    ("c6", "HOME=/tmp git status; touch P6", false, "P6"),
    ("c7", "git log --output=P7", false, "P7"),
    ("c8", "touch allowed-8 P8", false, "P8"),
    ("c9", "touch allowed-9", true, "allowed-9"),
    ("c10", "touch allowed-10 && git status", true, "allowed-10"),
];

#[test]
fn headless_allow_rules_on_each_parsed_command() {
    let calls: Vec<(String, String)> = ALLOW_CASES
        .iter()
        .map(|(id, command, _, _)| {
            let args = serde_json::json!({ "command": command }).to_string();
            ((*id).to_owned(), args)
        })
        .collect();
    let server = TestServer::start(move |_, request| {
        let role = role_of(request);
        if role == "Senior Backend Developer" && !request.has_tool_result() {
            let turn: Vec<(&str, &str, &str)> = calls
                .iter()
                .map(|(id, args)| (id.as_str(), "run_command", args.as_str()))
                .collect();
            return tool_turn(&turn);
        }
        answer(&well_behaved(&role), 10, 5)
    });
    let sandbox = Sandbox::new();
    let repo = repository(sandbox.dir.path());
    let output = sandbox
        .command()
        .env("OPENAI_API_KEY", "sk-test")
        .args(["run", "--headless", "--approve", "all", "--workspace"])
        .arg(&repo)
        .args(["--allow", "git status*", "--allow", "git log*"])
        .args(["--allow", "touch allowed-*"])
        .args(["--base-url", &server.base_url, "--model", "m", REQUEST])
        .output()
        .expect("run");
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}{}",
        stdout(&output),
        stderr(&output)
    );
    let events = events(&sandbox.log());
    for (id, command, allowed, file) in ALLOW_CASES {
        let expected = if *allowed { "allow" } else { "deny" };
        assert_eq!(decision(&events, id), Some(expected), "{command}");
        assert_eq!(repo.join(file).exists(), *allowed, "{command}: {file}");
    }
}

#[test]
fn writes_follow_their_own_rules_and_never_reach_git() {
    let skills = common::BUILTIN_SKILLS.replace(
        "[pipelines.backend.permissions]",
        "[pipelines.backend.write_permissions]\n\"*\" = \"ask\"\n\"notes/*\" = \"allow\"\n\"notes/secret*\" = \"deny\"\n\n[pipelines.backend.permissions]",
    );
    let writes = [
        ("w1", "notes/a.md", "allow"),
        ("w2", "src/x.go", "deny"),
        ("w3", "notes/secret.md", "deny"),
        ("w4", "g/hooks/pre-commit", ""),
        ("w5", ".git/hooks/pre-commit", ""),
    ];
    let calls: Vec<(String, String)> = writes
        .iter()
        .map(|(id, path, _)| {
            let args = serde_json::json!({ "path": path, "content": "#!/bin/sh\ntouch PWNED\n" });
            ((*id).to_owned(), args.to_string())
        })
        .collect();
    let server = TestServer::start(move |_, request| {
        let role = role_of(request);
        if role == "Senior Backend Developer" && !request.has_tool_result() {
            let turn: Vec<(&str, &str, &str)> = calls
                .iter()
                .map(|(id, args)| (id.as_str(), "write_file", args.as_str()))
                .collect();
            return tool_turn(&turn);
        }
        answer(&well_behaved(&role), 10, 5)
    });
    let sandbox = Sandbox::new();
    std::fs::write(sandbox.dir.path().join("skills.toml"), skills).expect("skills");
    let repo = repository(sandbox.dir.path());
    std::os::unix::fs::symlink(".git", repo.join("g")).expect("plant g -> .git");
    let output = sandbox
        .command()
        .env("OPENAI_API_KEY", "sk-test")
        .args(["run", "--headless", "--approve", "all", "--workspace"])
        .arg(&repo)
        .args(["--base-url", &server.base_url, "--model", "m", REQUEST])
        .output()
        .expect("run");
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}{}",
        stdout(&output),
        stderr(&output)
    );
    let events = events(&sandbox.log());
    let asked: Vec<&str> = of_kind(&events, "permission_asked")
        .iter()
        .filter_map(|e| e["detail"].as_str())
        .collect();
    assert!(asked.contains(&"src/x.go"), "{asked:?}");
    for (id, path, expected) in writes {
        if !expected.is_empty() {
            assert_eq!(decision(&events, id), Some(expected), "{path}");
        }
    }
    assert!(repo.join("notes/a.md").exists());
    assert!(!repo.join("src/x.go").exists());
    assert!(!repo.join("notes/secret.md").exists());
    assert!(!repo.join(".git/hooks/pre-commit").exists());
    let refused = of_kind(&events, "tool_result")
        .into_iter()
        .filter(|r| {
            r["call_id"]
                .as_str()
                .is_some_and(|c| c.ends_with("w4") || c.ends_with("w5"))
        })
        .all(|r| r["ok"] == false && r["output"].as_str().is_some_and(|o| o.contains(".git")));
    assert!(refused);
}
