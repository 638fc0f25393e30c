//! The differential harness and the `conform` command line (CONTRACT.md): inspecting IRs, running
//! engines, the numeric checks with their reports, and the adapters to external engines.

pub mod adapter;
pub mod check;
pub mod classify;
pub mod cli;
pub mod compare;
pub mod engine;
pub mod error;
pub mod fuzz;
pub mod gen;
pub mod inspect;
pub mod load;
pub mod localize;
pub mod machine;
pub mod table;

pub use error::CliError;

/// The tool's version, as `conform --version` prints it and reports carry it.
pub const TOOL_VERSION: &str = env!("CARGO_PKG_VERSION");
