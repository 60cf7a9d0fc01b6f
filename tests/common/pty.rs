//! A program in a pseudo-terminal, driven as a user would: [`Term`] owns
//! the pty, the thread reading it, a VT100 parser of the screen and every
//! raw byte written (for the terminal-injection checks), and answers key
//! presses, waits on the screen, resizes and quits.

use std::io::{Read, Write};
use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use portable_pty::{Child, CommandBuilder, MasterPty, PtySize, native_pty_system};

/// How long a wait on the screen or the process may take by default.
pub const WAIT: Duration = Duration::from_secs(60);

/// `program args…` to start in `dir` with a clean environment: a terminal
/// type, `PATH`, and `HOME` set to `dir` (so no real config is read).
pub fn command(dir: &Path, program: &str, args: &[&str]) -> CommandBuilder {
    let mut cmd = CommandBuilder::new(program);
    cmd.cwd(dir);
    cmd.env_clear();
    cmd.env("TERM", "xterm-256color");
    cmd.env("HOME", dir);
    cmd.env("PATH", std::env::var("PATH").unwrap_or_default());
    // No capability probe: a scripted server answers what a test scripts.
    cmd.env("HANDOFF_PROBE", "off");
    cmd.args(args);
    cmd
}

/// `handoff --sessions <dir>/sessions args…`, started like [`command`].
pub fn handoff(dir: &Path, args: &[&str]) -> CommandBuilder {
    let mut cmd = command(dir, env!("CARGO_BIN_EXE_handoff"), &["--sessions"]);
    cmd.arg(dir.join("sessions"));
    cmd.args(args);
    cmd
}

/// A program running in a pseudo-terminal, its screen read back.
pub struct Term {
    parser: vt100::Parser,
    output: mpsc::Receiver<Vec<u8>>,
    writer: Box<dyn Write + Send>,
    child: Box<dyn Child + Send + Sync>,
    master: Box<dyn MasterPty + Send>,
    /// Every byte the program wrote so far.
    bytes: Vec<u8>,
    /// Terminal bells (BEL bytes) seen so far.
    pub bells: usize,
}

fn size(cols: u16, rows: u16) -> PtySize {
    PtySize {
        rows,
        cols,
        pixel_width: 0,
        pixel_height: 0,
    }
}

impl Term {
    /// Starts `cmd` in a `cols`×`rows` pseudo-terminal.
    pub fn spawn(cmd: CommandBuilder, cols: u16, rows: u16) -> Self {
        let pair = native_pty_system()
            .openpty(size(cols, rows))
            .expect("openpty");
        let child = pair.slave.spawn_command(cmd).expect("spawn");
        drop(pair.slave);
        let mut reader = pair.master.try_clone_reader().expect("reader");
        let writer = pair.master.take_writer().expect("writer");
        let (tx, output) = mpsc::channel();
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                    break;
                }
            }
        });
        Self {
            parser: vt100::Parser::new(rows, cols, 0),
            output,
            writer,
            child,
            master: pair.master,
            bytes: Vec::new(),
            bells: 0,
        }
    }

    /// The text on the screen.
    pub fn contents(&self) -> String {
        self.parser.screen().contents()
    }

    /// How many times the program entered (`?1049h`) and left (`?1049l`)
    /// the alternate screen so far.
    pub fn alternate_screen(&self) -> (usize, usize) {
        let count = |needle: &[u8]| {
            self.bytes
                .windows(needle.len())
                .filter(|w| *w == needle)
                .count()
        };
        (count(b"\x1b[?1049h"), count(b"\x1b[?1049l"))
    }

    /// Whether the program ever wrote `text` (as one run of bytes), even
    /// if the screen no longer shows it.
    pub fn wrote(&self, text: &str) -> bool {
        let needle = text.as_bytes();
        self.bytes.windows(needle.len()).any(|w| w == needle)
    }

    /// The screen with its cells' colours and attributes.
    pub fn screen(&self) -> &vt100::Screen {
        self.parser.screen()
    }

    /// Reads what the program wrote until it pauses for a moment.
    pub fn pump(&mut self) {
        while let Ok(bytes) = self.output.recv_timeout(Duration::from_millis(10)) {
            #[expect(clippy::naive_bytecount, reason = "A few kilobytes per read.")]
            let bells = bytes.iter().filter(|b| **b == 7).count();
            self.bells += bells;
            self.parser.process(&bytes);
            self.bytes.extend_from_slice(&bytes);
        }
    }

    /// Reads output until the screen satisfies `done`, within `limit`.
    pub fn wait_until_within(&mut self, what: &str, limit: Duration, done: impl Fn(&str) -> bool) {
        let start = Instant::now();
        loop {
            self.pump();
            if done(&self.contents()) {
                return;
            }
            assert!(
                start.elapsed() < limit,
                "waited {limit:?} for {what}; the screen:\n{}",
                self.contents()
            );
        }
    }

    /// Reads output until the screen satisfies `done`.
    pub fn wait_until(&mut self, what: &str, done: impl Fn(&str) -> bool) {
        self.wait_until_within(what, WAIT, done);
    }

    /// Reads output until `text` shows, within `limit`.
    pub fn wait_for_within(&mut self, text: &str, limit: Duration) {
        self.wait_until_within(text, limit, |screen| screen.contains(text));
    }

    /// Reads output until `text` shows.
    pub fn wait_for(&mut self, text: &str) {
        self.wait_for_within(text, WAIT);
    }

    /// Types `keys`.
    pub fn press(&mut self, keys: &str) {
        self.writer.write_all(keys.as_bytes()).expect("type");
        self.writer.flush().expect("flush");
    }

    /// Resizes the terminal, as a user dragging its window would.
    pub fn resize(&mut self, cols: u16, rows: u16) {
        self.master.resize(size(cols, rows)).expect("resize");
        self.parser.screen_mut().set_size(rows, cols);
    }

    /// Waits for the process to exit and returns its code.
    pub fn exit_code(&mut self) -> u32 {
        self.exit_confirming_within(WAIT, false)
    }

    /// Presses `q`, answers "Quit now?" with `y` if asked, and returns the
    /// exit code.
    pub fn quit(&mut self) -> u32 {
        self.press("q");
        self.confirm_quit_within(Duration::from_secs(30))
    }

    /// Answers "Quit now?" with `y` whenever it shows until the process
    /// exits within `limit`; its exit code.
    pub fn confirm_quit_within(&mut self, limit: Duration) -> u32 {
        self.exit_confirming_within(limit, true)
    }

    fn exit_confirming_within(&mut self, limit: Duration, confirm: bool) -> u32 {
        let start = Instant::now();
        loop {
            self.pump();
            if confirm && self.contents().contains("Quit now?") {
                self.press("y");
            }
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status.exit_code();
            }
            assert!(
                start.elapsed() < limit,
                "the program did not exit within {limit:?}; the screen:\n{}",
                self.contents()
            );
        }
    }

    /// Waits for the process to exit and returns every byte it wrote.
    pub fn finish(mut self) -> Vec<u8> {
        self.exit_code();
        self.pump();
        self.bytes
    }
}
