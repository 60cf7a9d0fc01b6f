//! The layering the imports show. Every top-level module of the crate has a
//! layer, and its code may import only modules of lower layers, so the
//! import graph has no cycle and no arrow up (the clients, `tui` and
//! `headless`, never reach the engine: they speak `protocol`). Besides,
//! the session (its events, the fold, the log) names neither the engine,
//! the tools, the TUI nor the commands, so any of them can read a session.
//! Unit-test modules (from `#[cfg(test)]` on) may reach further.

use std::fs;
use std::path::{Path, PathBuf};

/// What `src/session` may not name.
const ABOVE_THE_SESSION: [&str; 4] = ["engine", "tui", "tools", "commands"];

/// Every `.rs` file under `dir`.
fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in fs::read_dir(&dir).expect("read a source folder") {
            let path = entry.expect("a folder entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// The code of `text` without its comments (`//` to the end of a line).
fn code(text: &str) -> String {
    text.lines()
        .map(|line| line.split_once("//").map_or(line, |(code, _)| code))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The first module of every `crate::` path in `code`, and each module
/// named first in a `crate::{…}` group.
fn crate_modules(code: &str) -> Vec<String> {
    let mut names = Vec::new();
    for (at, _) in code.match_indices("crate::") {
        let rest = code[at + "crate::".len()..].trim_start();
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0_usize;
            let mut item = String::new();
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        names.push(first_segment(&item));
                        item.clear();
                    }
                    _ if depth == 0 => item.push(c),
                    _ => {}
                }
            }
            names.push(first_segment(&item));
        } else {
            names.push(first_segment(rest));
        }
    }
    names
}

fn first_segment(path: &str) -> String {
    path.trim_start()
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect()
}

/// The layers, lowest first. ARCHITECTURE.md draws the same picture.
const LAYERS: &[&[&str]] = &[
    &[
        "policy",
        "clock",
        "sanitize",
        "diagnostic",
        "parallel",
        "formats",
        "changes",
        "sandbox",
    ],
    &["config", "tools"],
    &["pipeline"],
    &["session"],
    &["protocol", "cost", "provider"],
    &["stats", "agent"],
    &["engine", "headless", "tui"],
    &["cli"],
    &["commands"],
];

fn layer(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

/// The code of a file before its unit tests.
fn before_tests(text: &str) -> &str {
    text.find("#[cfg(test)]").map_or(text, |at| &text[..at])
}

#[test]
fn every_module_imports_only_from_layers_below_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut found = Vec::new();
    for file in sources(&src) {
        let relative = file.strip_prefix(&src).expect("under src");
        let module = first_segment(&relative.to_string_lossy().replace(".rs", ""));
        if module == "lib" || module == "main" {
            continue;
        }
        let Some(own) = layer(&module) else {
            found.push(format!(
                "{}: module `{module}` has no layer",
                file.display()
            ));
            continue;
        };
        let text = fs::read_to_string(&file).expect("read a source file");
        for name in crate_modules(&code(before_tests(&text))) {
            if name == module {
                continue;
            }
            match layer(&name) {
                Some(theirs) if theirs < own => {}
                _ => found.push(format!(
                    "{}: `{module}` imports crate::{name}",
                    file.display()
                )),
            }
        }
    }
    assert!(
        found.is_empty(),
        "imports that go sideways or up:\n{}",
        found.join("\n")
    );
}

#[test]
fn every_module_of_the_crate_has_a_layer() {
    let lib = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs"))
        .expect("read lib.rs");
    let modules: Vec<&str> = lib
        .lines()
        .filter_map(|l| l.strip_prefix("pub mod "))
        .map(|l| l.trim_end_matches(';'))
        .collect();
    assert!(modules.len() > 10, "{modules:?}");
    for module in modules {
        assert!(layer(module).is_some(), "`{module}` is in no layer");
    }
}

#[test]
fn the_session_imports_nothing_above_it() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/session");
    let files = sources(&root);
    assert!(
        files.iter().any(|f| f.ends_with("session/mod.rs")),
        "no session module under {}",
        root.display()
    );
    let mut found = Vec::new();
    for file in files {
        let text = fs::read_to_string(&file).expect("read a source file");
        for name in crate_modules(&code(&text)) {
            if ABOVE_THE_SESSION.contains(&name.as_str()) {
                found.push(format!("{}: crate::{name}", file.display()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "the session reaches up:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_check_sees_paths_and_groups() {
    let names = crate_modules(
        "use crate::engine::Engine;\nuse crate::{pipeline::Pipeline, tui::{self, App}};",
    );
    assert!(names.contains(&"engine".to_owned()), "{names:?}");
    assert!(names.contains(&"pipeline".to_owned()), "{names:?}");
    assert!(names.contains(&"tui".to_owned()), "{names:?}");
    assert!(!code("// crate::engine in a comment").contains("crate::engine"));
}
