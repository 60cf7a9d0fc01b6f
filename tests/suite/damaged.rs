//! Damaged session logs beside a good one: a corrupt line in the middle, a
//! byte-order mark, a file cut short (in its last line, and in its first),
//! an empty file and one that is not JSON at all. `sessions` lists each as
//! damaged with its line and still lists the good session; `show`,
//! `resume` and `replay` say which line is wrong and what to do.

use crate::common;

use common::{REQUEST, Sandbox, stderr, stdout};
use serde_json::Value;

/// The damaged copies of `good`: file stem, contents, the line named, and
/// words the explanation must contain.
fn damage(good: &str) -> Vec<(&'static str, Vec<u8>, usize, &'static str)> {
    let lines: Vec<&str> = good.lines().collect();
    let mut middle = lines.clone();
    middle[3] = r#"{"seq":3,"t":"2026-11-20T10:00:00.000Z","kind":"output","phase":"#;
    let middle = middle.join("\n") + "\n";
    let first_line_cut = &good.as_bytes()[..lines[0].len() / 2];
    vec![
        ("middle", middle.into_bytes(), 4, "not JSON"),
        (
            "bom",
            [b"\xEF\xBB\xBF".as_slice(), good.as_bytes()].concat(),
            1,
            "byte-order mark",
        ),
        ("cut-first-line", first_line_cut.to_vec(), 1, "cut short"),
        ("empty", Vec::new(), 1, "empty"),
        (
            "not-json",
            b"PK\x03\x04 this is a zip file, not a session\n\x00\x01\n".to_vec(),
            1,
            "not JSON",
        ),
        (
            "not-a-session",
            b"{\"name\":\"package.json\",\"version\":\"1.0.0\"}\n".to_vec(),
            1,
            "not an event",
        ),
    ]
}

#[test]
fn damaged_logs_are_listed_with_their_line_and_explained_by_show_resume_and_replay() {
    let sandbox = Sandbox::new();
    let run = sandbox.run(&["run", "--headless", "--approve", "none", REQUEST]);
    assert_eq!(run.status.code(), Some(3), "{}", stderr(&run));
    let good_path = sandbox.log();
    let good = std::fs::read_to_string(&good_path).expect("log");
    let damaged = damage(&good);
    for (stem, bytes, _, _) in &damaged {
        std::fs::write(sandbox.sessions().join(format!("{stem}.jsonl")), bytes).expect("write");
    }
    // Cut in its last line: readable, and listed with the line that was cut.
    let cut = &good[..good.len() - 30];
    let cut_line = cut.matches('\n').count() + 1;
    std::fs::write(sandbox.sessions().join("cut-last-line.jsonl"), cut).expect("write");

    let list = sandbox.run(&["sessions"]);
    assert_eq!(list.status.code(), Some(0));
    let text = stdout(&list);
    assert!(
        text.contains("awaiting_gate"),
        "the good session is listed:\n{text}"
    );
    for (stem, _, line, why) in &damaged {
        let row = text
            .lines()
            .find(|l| l.starts_with(&format!("{stem} ")))
            .unwrap_or_default();
        assert!(
            row.contains("damaged"),
            "no damaged row for {stem}:\n{text}"
        );
        assert!(row.contains(&format!("line {line}")), "{row}");
        assert!(row.contains(&format!("{stem}.jsonl:{line}:")), "{row}");
        assert!(row.contains(why), "{row}");
    }
    assert!(
        text.contains(&format!("[line {cut_line} cut short]")),
        "a torn last line is named:\n{text}"
    );

    let list = sandbox.run(&["sessions", "--json"]);
    let items: Vec<Value> = serde_json::from_slice(&list.stdout).expect("json");
    assert_eq!(items.len(), damaged.len() + 2);
    for (stem, _, line, _) in &damaged {
        let item = items
            .iter()
            .find(|i| i["id"] == *stem)
            .expect("an item for each damaged log");
        assert_eq!(item["status"], "damaged", "{item}");
        assert_eq!(item["line"], *line, "{item}");
        assert!(
            item["error"]
                .as_str()
                .is_some_and(|e| e.contains(&format!(":{line}:")))
        );
    }
    let torn = items
        .iter()
        .find(|i| i["torn_line"].is_number())
        .expect("torn");
    assert_eq!(torn["torn_line"], cut_line);
    assert!(items.iter().any(|i| i["status"] == "awaiting_gate"));

    for (stem, bytes, line, why) in &damaged {
        let first = bytes.split(|b| *b == b'\n').next().unwrap_or_default();
        let a_session = String::from_utf8_lossy(first).contains("session_started");
        for args in [
            &["show", stem][..],
            &["show", "--json", stem],
            &["resume", stem, "--headless", "--approve", "all"],
            &["replay", stem, "--headless"],
            &["export", stem, "--out", "exported"],
        ] {
            let output = sandbox.run(args);
            let err = stderr(&output);
            if !a_session {
                // Some other file: said so, not called a damaged log.
                assert_eq!(output.status.code(), Some(2), "{args:?}");
                assert!(
                    err.contains(&format!("{stem}.jsonl: not a handoff session log")),
                    "{args:?}: {err}"
                );
                continue;
            }
            assert_eq!(output.status.code(), Some(1), "{args:?}");
            assert!(
                err.contains(&format!("{stem}.jsonl:{line}:")),
                "{args:?}: {err}"
            );
            assert!(err.contains(why), "{args:?}: {err}");
            assert!(
                err.contains(&format!("damaged at line {line}")),
                "{args:?}: {err}"
            );
        }
    }
    // Nothing was changed on disk by reading or refusing.
    for (stem, bytes, _, _) in &damaged {
        let now = std::fs::read(sandbox.sessions().join(format!("{stem}.jsonl"))).expect("read");
        assert_eq!(&now, bytes, "{stem} is left as it was");
    }
    // The torn one is still usable: shown with a warning, resumed to the end.
    let show = sandbox.run(&["show", "cut-last-line"]);
    assert_eq!(show.status.code(), Some(0), "{}", stderr(&show));
    assert!(stderr(&show).contains(&format!("cut-last-line.jsonl:{cut_line}:")));
    let resumed = sandbox.run(&["resume", "cut-last-line", "--headless", "--approve", "all"]);
    assert_eq!(resumed.status.code(), Some(0), "{}", stderr(&resumed));
}
