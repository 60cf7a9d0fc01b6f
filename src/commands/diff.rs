//! `show SESSION --diff PHASE`: what a phase changed in the workspace, as
//! a unified patch (coloured on a terminal, plain into a pipe), or with
//! `--stat` as the list of files and counts. The patch is read out of git
//! from the snapshot the log recorded; the list needs only the log. Every
//! line passes the sanitizer, whichever way it goes (tabs kept, and into a
//! pipe carriage returns, so the patch still applies).

use std::io::{IsTerminal, Write};
use std::path::Path;

use super::{Exit, Failure, exit};
use crate::changes::{FileStat, summary};
use crate::sanitize::{sanitize, sanitize_keeping};
use crate::session::SessionState;
use crate::session::store::Loaded;

/// Prints the change of `phase` (an id or an artifact name).
pub fn show_diff(loaded: &Loaded, phase: &str, stat: bool) -> Exit {
    let state = &loaded.state;
    let found = state
        .phases
        .iter()
        .find(|p| p.id == phase || p.artifact_name == phase)
        .ok_or_else(|| {
            let ids: Vec<&str> = state.phases.iter().map(|p| p.id.as_str()).collect();
            Failure::usage(format!(
                "no phase `{phase}` (this session has: {})",
                ids.join(", ")
            ))
        })?;
    let snapshot = state.snapshot_of(&found.id).ok_or_else(|| {
        Failure::failed(format!(
            "no workspace change recorded for `{}`: snapshots are taken at each gate of a session with a git workspace",
            found.id
        ))
    })?;
    let mut out = std::io::stdout().lock();
    if stat {
        write_stat(&mut out, &snapshot.files)?;
        return Ok(exit::OK);
    }
    let root = workspace_root(state)?;
    let change =
        crate::tools::changes::change(root, snapshot.base.as_deref(), &snapshot.commit)
            .map_err(|e| {
                Failure::failed(format!(
                    "cannot read the change of `{}` from {}: {e} (`--stat` lists the files from the log)",
                    found.id,
                    root.display()
                ))
            })?;
    let colour = out.is_terminal();
    // Tabs stay; into a pipe carriage returns too, so `git apply` takes
    // the patch. Escape sequences and other controls never pass.
    let keep: &[char] = if colour { &['\t'] } else { &['\t', '\r'] };
    let patch = change.patch();
    // Not `lines()`: it would drop the `\r` of a CRLF line.
    for line in patch.split_terminator('\n') {
        let line = sanitize_keeping(line, keep);
        let code = match line.as_bytes().first() {
            _ if !colour => None,
            _ if line.starts_with("+++") || line.starts_with("---") => Some("1"),
            Some(b'+') => Some("32"),
            Some(b'-') => Some("31"),
            Some(b'@') => Some("36"),
            Some(b'd') if line.starts_with("diff --git") => Some("1"),
            _ => None,
        };
        match code {
            Some(code) => writeln!(out, "\x1b[{code}m{line}\x1b[0m")?,
            None => writeln!(out, "{line}")?,
        }
    }
    Ok(exit::OK)
}

fn workspace_root(state: &SessionState) -> Result<&Path, Failure> {
    state
        .workspace
        .as_ref()
        .map(|w| Path::new(&w.path))
        .ok_or_else(|| Failure::failed("the session has no workspace".to_owned()))
}

/// ` M internal/orders/service.go  +4 −1`, a line a file, then the total.
fn write_stat(out: &mut impl Write, files: &[FileStat]) -> std::io::Result<()> {
    let width = files
        .iter()
        .map(|f| f.shown_path().chars().count())
        .max()
        .unwrap_or(0);
    for f in files {
        let path = sanitize(&f.shown_path()).into_owned();
        writeln!(out, " {} {path:<width$}  {}", f.status.letter(), f.counts())?;
    }
    writeln!(out, "{}", summary(files))
}
