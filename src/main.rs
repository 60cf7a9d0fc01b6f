//! The `handoff` binary: parse the command line, run it, exit with its code.

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = handoff::cli::Cli::parse();
    std::process::ExitCode::from(handoff::commands::main(cli))
}
