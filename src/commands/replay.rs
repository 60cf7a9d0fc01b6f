//! `handoff replay`: play a saved log back, in the TUI or as printed lines.

use std::io::Write;

use super::{Exit, Failure, exit, sessions_dir};
use crate::cli::Global;
use crate::clock::Speed;
use crate::headless::print_event;
use crate::session::log::read_session;
use crate::session::{SessionState, store};
use crate::tui::{self, replay::gap};

/// Plays `session` at `speed`: by default in real time in the TUI, and all
/// at once when printing (`--headless`).
pub async fn replay(
    tty: &mut crate::tui::Tty,
    g: &Global,
    session: &str,
    speed: Option<Speed>,
    headless: bool,
    json: bool,
) -> Exit {
    let path =
        store::resolve(&sessions_dir(g), session).map_err(|e| Failure::usage(e.to_string()))?;
    let contents = read_session(&path).map_err(|e| super::unusable(&e))?;
    if let Some(line) = contents.torn_line {
        tty.say(format!(
            "{}:{line}: a torn last line is ignored",
            super::shown(path.display())
        ));
    }
    if contents.events.is_empty() {
        return Err(Failure::failed(format!(
            "{}: the log is empty",
            path.display()
        )));
    }
    if !headless {
        let speed = speed.unwrap_or(Speed::Factor(1.0));
        tui::run_replay(tty, contents.events, speed, super::ui_options(g)?).await?;
        return Ok(exit::OK);
    }
    let speed = speed.unwrap_or(Speed::Max);
    let mut state = SessionState::default();
    let mut out = std::io::stdout().lock();
    let mut previous = None;
    for event in &contents.events {
        if let (Speed::Factor(factor), Some(prev)) = (speed, previous) {
            tokio::time::sleep(gap(prev, event).div_f64(factor)).await;
        }
        state.apply(event);
        print_event(event, &state, json, &mut out)?;
        out.flush()?;
        previous = Some(event);
    }
    Ok(exit::OK)
}
