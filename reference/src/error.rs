//! Errors of running a model in the reference.

use conform_ir::{AttrError, IrError, LayerRef};

/// Everything that can stop a reference run. Each variant names the layer where there is one.
#[derive(Debug, thiserror::Error)]
pub enum RefError {
    /// Reading a constant or the model failed.
    #[error(transparent)]
    Ir(Box<IrError>),
    /// A bad attribute, found when the op used it.
    #[error(transparent)]
    Attr(Box<AttrError>),
    /// The op type (or this version of it) has no implementation.
    #[error("{layer}: op {op_type} version {version} is not implemented by the reference")]
    UnsupportedOp {
        /// The layer.
        layer: LayerRef,
        /// Its type.
        op_type: String,
        /// Its opset version.
        version: String,
    },
    /// The op cannot run on these inputs (shapes, types, values), with the reason.
    #[error("{layer}: {message}")]
    Op {
        /// The layer.
        layer: LayerRef,
        /// What is wrong.
        message: String,
    },
    /// The caller's inputs do not fit the model.
    #[error("input {index}: {message}")]
    Input {
        /// Input position (OpenVINO's parameter order).
        index: usize,
        /// What is wrong.
        message: String,
    },
    /// A tensor would exceed the configured memory limit; nothing was allocated.
    #[error("{layer}: output of {bytes} bytes exceeds the memory limit of {limit} bytes")]
    Memory {
        /// The layer whose output is too large.
        layer: LayerRef,
        /// Bytes it would need.
        bytes: u64,
        /// The limit.
        limit: u64,
    },
}

/// Boxed because an [`IrError`] is large (clippy's `result_large_err`) and every reference function returns `Result<_, RefError>`.
impl From<IrError> for RefError {
    fn from(e: IrError) -> Self {
        RefError::Ir(Box::new(e))
    }
}

/// Boxed for the same reason as [`IrError`].
impl From<AttrError> for RefError {
    fn from(e: AttrError) -> Self {
        RefError::Attr(Box::new(e))
    }
}

/// Builds an [`RefError::Op`] for a node.
pub fn op_err(node: &conform_ir::Node, message: impl Into<String>) -> RefError {
    RefError::Op { layer: node.layer_ref(), message: message.into() }
}
