//! The `forkspec` command line.

use clap::{Parser, Subcommand};

/// forkspec: conformance suite for Linux process creation.
#[derive(Parser, Debug)]
#[command(name = "forkspec", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Serve the wire protocol on stdin/stdout against the running kernel (the Linux lab).
    Lab,
}

/// Runs the CLI and returns the process exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    match cli.command {
        Command::Lab => crate::lab::serve(),
    }
}
