//! Bad configuration: the shipped skills.toml, every theme, a keymap, a
//! config.toml and a decisions file, mutated thousands of ways with a fixed
//! seed (truncated, bytes flipped, lines deleted, duplicated and swapped,
//! values exchanged, stray tokens inserted). The loaders never panic, and
//! every refusal names the file, a line and a column inside the text; the
//! binary's `check` exits 2 with those positions.

use crate::common;

use std::panic::{AssertUnwindSafe, catch_unwind};

use common::{Sandbox, stdout};
use handoff::diagnostic::Diagnostic;
use handoff::pipeline::{SkillsFile, load_pipeline};

const KEYMAP: &str = r#"[[board]]
on = ["y", "a"]
action = "approve"

[[artifact]]
on = "ctrl-d"
action = "page_down"

[[replay]]
on = "p"
action = "play_pause"
"#;

const CONFIG: &str = r#"theme = "light"
bell = false
provider = "openai"
base_url = "http://localhost:11434/v1"
model = "llama3.1"
context_tokens = 32768

[timeouts]
connect = 10
first_byte = 120
idle = 90

[retries]
max = 4
base_ms = 500
cap_s = 30

[prices."gpt-4o-mini"]
prompt = 0.15
completion = 0.60
"#;

/// xorshift64*: a small deterministic generator, so a failure replays.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % (n.max(1) as u64)).unwrap_or(0)
    }
}

const TOKENS: [&str; 16] = [
    "[",
    "]",
    "[[",
    "]]",
    "\"",
    "'''",
    "=",
    "{",
    "}",
    ",",
    "\n",
    "1e999",
    "-9223372036854775809",
    "ü",
    "\u{0}",
    "\u{feff}",
];

/// One mutation of `text`.
fn mutate(text: &str, rng: &mut Rng) -> String {
    let mut bytes = text.as_bytes().to_vec();
    let lines: Vec<&str> = text.lines().collect();
    match rng.below(7) {
        0 => bytes.truncate(rng.below(bytes.len())),
        1 => {
            let at = rng.below(bytes.len());
            if let Some(b) = bytes.get_mut(at) {
                *b ^= 1 << rng.below(8);
            }
        }
        2 => {
            let skip = rng.below(lines.len());
            bytes = lines
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != skip)
                .map(|(_, l)| *l)
                .collect::<Vec<_>>()
                .join("\n")
                .into_bytes();
        }
        3 => {
            let mut lines = lines.clone();
            let (a, b) = (rng.below(lines.len()), rng.below(lines.len()));
            if a < lines.len() && b < lines.len() {
                lines.swap(a, b);
                let copy = lines[a];
                lines.insert(b, copy);
            }
            bytes = lines.join("\n").into_bytes();
        }
        4 => {
            // Exchange the values of two `key = value` lines.
            let mut lines: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
            let assignments: Vec<usize> = (0..lines.len())
                .filter(|i| lines[*i].contains(" = "))
                .collect();
            if assignments.len() >= 2 {
                let a = assignments[rng.below(assignments.len())];
                let b = assignments[rng.below(assignments.len())];
                let value = |l: &str| {
                    l.split_once(" = ")
                        .map(|(_, v)| v.to_owned())
                        .unwrap_or_default()
                };
                let key = |l: &str| {
                    l.split_once(" = ")
                        .map(|(k, _)| k.to_owned())
                        .unwrap_or_default()
                };
                let (va, vb) = (value(&lines[a]), value(&lines[b]));
                lines[a] = format!("{} = {vb}", key(&lines[a]));
                lines[b] = format!("{} = {va}", key(&lines[b]));
            }
            bytes = lines.join("\n").into_bytes();
        }
        5 => {
            let at = rng.below(bytes.len());
            let token = TOKENS[rng.below(TOKENS.len())];
            bytes.splice(at..at, token.bytes());
        }
        _ => {
            // Several mutations at once.
            let mut out = text.to_owned();
            for _ in 0..3 {
                out = mutate(&out, rng);
            }
            return out;
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Checks one loader's answer for `text`: no panic, and a refusal names
/// `file` and a position that exists in the text.
fn check(
    what: &str,
    file: &str,
    text: &str,
    load: impl FnOnce(&str) -> Result<(), Vec<Diagnostic>>,
) -> bool {
    let result = catch_unwind(AssertUnwindSafe(|| load(text)));
    assert!(result.is_ok(), "{what}: the loader panicked on:\n{text}");
    let Ok(result) = result else { return false };
    let Err(diagnostics) = result else {
        return false;
    };
    assert!(
        !diagnostics.is_empty(),
        "{what}: refused without a message:\n{text}"
    );
    let lines = text.split('\n').count();
    for d in &diagnostics {
        assert_eq!(d.file, file, "{what}: {d}");
        assert!(
            d.line >= 1 && d.line <= lines && d.column >= 1,
            "{what}: position outside the text: {d}\n{text}"
        );
        assert!(!d.message.trim().is_empty(), "{what}: {d}");
    }
    true
}

fn skills(text: &str) -> Result<(), Vec<Diagnostic>> {
    let file = SkillsFile {
        path: Some("skills.toml".into()),
        text: text.to_owned(),
    };
    load_pipeline(&file, None).map(drop)
}

fn theme(text: &str) -> Result<(), Vec<Diagnostic>> {
    handoff::tui::theme::parse_theme("theme.toml", text).map(drop)
}

fn keymap(text: &str) -> Result<(), Vec<Diagnostic>> {
    handoff::tui::keymap::Keymap::patched("keymap.toml", text).map(drop)
}

fn config(text: &str) -> Result<(), Vec<Diagnostic>> {
    handoff::config::parse("config.toml", text)
        .map(drop)
        .map_err(|d| vec![d])
}

fn shipped(path: &str) -> String {
    std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path))
        .expect("shipped file")
}

type Loader = fn(&str) -> Result<(), Vec<Diagnostic>>;

#[test]
fn mutated_configuration_never_panics_and_always_says_where() {
    let mut cases: Vec<(String, &str, String, Loader)> = vec![
        (
            "skills.toml".into(),
            "skills.toml",
            shipped("skills.toml"),
            skills,
        ),
        ("keymap".into(), "keymap.toml", KEYMAP.into(), keymap),
        ("config".into(), "config.toml", CONFIG.into(), config),
    ];
    for name in ["default", "light", "high-contrast", "mono"] {
        cases.push((
            format!("themes/{name}.toml"),
            "theme.toml",
            shipped(&format!("themes/{name}.toml")),
            theme,
        ));
    }
    let mut rng = Rng(0x5eed_1234_abcd_ef01);
    for (what, file, original, load) in &cases {
        assert!(
            !check(what, file, original, load),
            "{what} as shipped loads"
        );
        let mut refused = 0;
        for round in 0..600 {
            let text = mutate(original, &mut rng);
            if check(&format!("{what} mutation {round}"), file, &text, load) {
                refused += 1;
            }
        }
        assert!(
            refused > 100,
            "{what}: only {refused} mutations were refused"
        );
    }
}

#[test]
fn check_exits_2_with_file_line_and_column_for_broken_files() {
    let sandbox = Sandbox::new();
    let config = sandbox.config_dir();
    let mut rng = Rng(0xbad_c0f1_6000);
    let original = shipped("skills.toml");
    let mut tried = 0;
    while tried < 6 {
        let text = mutate(&original, &mut rng);
        if skills(&text).is_ok() {
            continue;
        }
        tried += 1;
        let path = sandbox.dir.path().join("broken-skills.toml");
        std::fs::write(&path, &text).expect("write");
        let out = sandbox.run(&["check", "--skills", path.to_str().expect("path")]);
        assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
        let expected = format!("{}:", path.display());
        let has_position = stdout(&out).lines().any(|l| {
            l.strip_prefix(&expected).is_some_and(|rest| {
                let mut parts = rest.splitn(3, ':');
                parts.next().is_some_and(|n| n.parse::<usize>().is_ok())
                    && parts.next().is_some_and(|n| n.parse::<usize>().is_ok())
            })
        });
        assert!(has_position, "no file:line:col in:\n{}", stdout(&out));
    }
    // A broken keymap and theme, through `check` too.
    std::fs::write(
        config.join("keymap.toml"),
        "[[board]]\non = \"y\"\naction = \"approve\n",
    )
    .expect("keymap");
    let theme = sandbox.dir.path().join("broken.toml");
    std::fs::write(&theme, "[styles]\nborder = { fg = \"chartreuse-ish\" }\n").expect("theme");
    let out = sandbox.run(&["check", "--theme", theme.to_str().expect("path")]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(text.contains("keymap.toml:3:"), "{text}");
    assert!(text.contains(&format!("{}:2:", theme.display())), "{text}");
    // Bytes that are not UTF-8 are a positioned mistake too.
    let binary = sandbox.dir.path().join("binary-skills.toml");
    std::fs::write(&binary, b"[pipelines.backend]\nname = \"\xff\xfe\"\n").expect("write");
    let out = sandbox.run(&["check", "--skills", binary.to_str().expect("path")]);
    assert_eq!(out.status.code(), Some(2));
    let all = format!("{}{}", stdout(&out), common::stderr(&out));
    assert!(all.contains(&format!("{}:2:", binary.display())), "{all}");
}
