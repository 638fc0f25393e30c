//! Reading models and `.npy` files for the commands, with errors that name the file.
//!
//! This is the one place the harness calls the IR crate's reader, writer and `.npy` code, so the
//! commands stay independent of their exact signatures.

use crate::error::CliError;
use conform_ir::{Model, Tensor};
use std::path::Path;

/// Reads `model.xml` and the `.bin` beside it.
pub fn model(path: &Path) -> Result<Model, CliError> {
    Err(CliError::Unavailable {
        what: format!("reading {}", path.display()),
        why: "the IR reader (conform_ir::reader) is not in this build yet".into(),
    })
}

/// Reads a `.npy` file.
pub fn npy(path: &Path) -> Result<Tensor, CliError> {
    Err(CliError::Unavailable {
        what: format!("reading {}", path.display()),
        why: "the .npy reader (conform_ir::npy) is not in this build yet".into(),
    })
}

/// Writes a `.npy` file.
pub fn write_npy(path: &Path, _t: &Tensor) -> Result<(), CliError> {
    Err(CliError::Unavailable {
        what: format!("writing {}", path.display()),
        why: "the .npy writer (conform_ir::npy) is not in this build yet".into(),
    })
}
