//! The typed error of the `conform` command. Every variant is a bad input, a bad usage or an
//! environment problem, so every one exits with status 2 (CONTRACT.md); a failed check is not an
//! error but a verdict (status 1).

use conform_ir::IrError;
use reference::RefError;
use std::path::PathBuf;

/// Everything that stops a command before it reaches a verdict.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The IR could not be read (the message names the file and the layer).
    #[error(transparent)]
    Ir(Box<IrError>),
    /// The reference could not run the model (the message names the layer).
    #[error("{path}: {source}")]
    Run {
        /// The model.
        path: PathBuf,
        /// What stopped the run.
        source: Box<RefError>,
    },
    /// A `.npy` file could not be read or written (the message names the file).
    #[error(transparent)]
    Npy(Box<conform_ir::npy::NpyError>),
    /// A file or folder could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A file that is not what the command expects (a manifest, an accepted-findings file...).
    #[error("{path}: {message}")]
    BadFile {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// Arguments that parse but do not make sense together.
    #[error("{0}")]
    Usage(String),
    /// An engine or feature this build does not provide yet, or that is missing on this machine.
    #[error("{what} is not available: {why}")]
    Unavailable {
        /// What was asked for.
        what: String,
        /// Why it cannot be provided.
        why: String,
    },
}

impl From<IrError> for CliError {
    fn from(e: IrError) -> CliError {
        CliError::Ir(Box::new(e))
    }
}

impl From<conform_ir::npy::NpyError> for CliError {
    fn from(e: conform_ir::npy::NpyError) -> CliError {
        CliError::Npy(Box::new(e))
    }
}

impl CliError {
    /// The exit status for this error: always 2 (bad input, usage, or environment).
    pub fn exit_code(&self) -> u8 {
        2
    }

    /// Wraps an I/O error with its path.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> CliError {
        CliError::Io { path: path.into(), source }
    }
}
