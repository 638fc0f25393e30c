//! The `conform` command: parses the arguments and hands over to [`harness::cli::run`].

use std::process::ExitCode;

fn main() -> ExitCode {
    harness::cli::main_with_args(std::env::args_os())
}
