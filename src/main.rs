//! The `handoff` binary: parse the command line, run it, exit with its code.

use clap::Parser;

fn main() -> std::process::ExitCode {
    // First, before any thread starts: a sandbox helper (see `sandbox`).
    if let Some(code) = handoff::sandbox::helper_main() {
        return code;
    }
    let cli = handoff::cli::Cli::parse();
    std::process::ExitCode::from(handoff::commands::main(cli))
}
