//! Reading models and `.npy` files for the commands, with errors that name the file.
//!
//! This is the one place the harness calls the IR crate's reader, writer and `.npy` code, so the
//! commands stay independent of their exact signatures.

use crate::error::CliError;
use conform_ir::{Model, Tensor};
use std::path::Path;

/// Reads `model.xml` and the `.bin` beside it.
pub fn model(path: &Path) -> Result<Model, CliError> {
    Ok(conform_ir::read_model(path)?)
}

/// Reads a `.npy` file.
pub fn npy(path: &Path) -> Result<Tensor, CliError> {
    Ok(conform_ir::npy::read_npy(path)?)
}

/// Writes a `.npy` file.
pub fn write_npy(path: &Path, t: &Tensor) -> Result<(), CliError> {
    Ok(conform_ir::npy::write_npy(path, t)?)
}
