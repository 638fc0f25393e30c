//! Dispatch of the `conform` commands, and the mapping of every outcome to an exit status:
//! 0 all good, 1 a conformance failure, 2 bad input / usage / environment. A panic is caught and
//! reported as an internal error with status 2, never left as the exit path.

pub mod args;
mod bench;
mod fuzz;
mod infer;
mod inspect;
mod isa;
mod rewrite;

use crate::error::CliError;
use args::{Cli, Command};
use clap::Parser;
use std::ffi::OsString;
use std::process::ExitCode;

/// What a command concluded when it did not stop on an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Exit 0.
    Ok,
    /// Exit 1: a conformance failure.
    Failed,
}

/// Parses the arguments, runs the command, prints errors and returns the exit status.
pub fn main_with_args(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let cli = match Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            // Help and version print to stdout and exit 0; usage errors exit 2.
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let outcome = std::panic::catch_unwind(|| run(cli));
    match outcome {
        Ok(Ok(Verdict::Ok)) => ExitCode::SUCCESS,
        Ok(Ok(Verdict::Failed)) => ExitCode::from(1),
        Ok(Err(e)) => {
            eprintln!("conform: error: {e}");
            ExitCode::from(e.exit_code())
        }
        Err(_) => {
            eprintln!("conform: internal error (a bug in conform; please report it with the command line)");
            ExitCode::from(2)
        }
    }
}

/// Runs one parsed command line.
pub fn run(cli: Cli) -> Result<Verdict, CliError> {
    match cli.command {
        None => crate::check::run(&args::CheckArgs::default()),
        Some(Command::Inspect(a)) => inspect::run(&a),
        Some(Command::Infer(a)) => infer::run(&a),
        Some(Command::Check(a)) => crate::check::run(&a),
        Some(Command::Compress(a)) => rewrite::compress(&a),
        Some(Command::Expand(a)) => rewrite::expand(&a),
        Some(Command::Fuzz(a)) => fuzz::run(&a),
        Some(Command::Bench(a)) => bench::run(&a),
        Some(Command::Isa(a)) => isa::run(&a),
    }
}

#[allow(dead_code)] // kept for commands not yet in the build
fn not_yet(command: &str, part: &str) -> CliError {
    CliError::Unavailable { what: format!("`conform {command}`"), why: format!("{part} is not in this build yet") }
}

/// Writes text to a file, or to stdout when the path is `-`.
pub(crate) fn write_out(path: &std::path::Path, text: &str) -> Result<(), CliError> {
    if path.as_os_str() == "-" {
        println!("{text}");
        return Ok(());
    }
    std::fs::write(path, text).map_err(|e| CliError::io(path, e))
}
