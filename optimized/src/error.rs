//! Typed errors of the optimized engine. Every variant that concerns a layer names it (id, name,
//! type) so a message points at the model, not at engine internals.

use conform_ir::{IrError, LayerRef};

/// Everything that can go wrong compiling or running a plan.
#[derive(Debug, thiserror::Error)]
pub enum OptError {
    /// An ISA variant was asked for that is unknown, not compiled in, or not available on this CPU
    /// (never silently substituted).
    #[error("ISA variant `{name}`: {reason}")]
    Isa {
        /// The name asked for.
        name: String,
        /// Why it cannot be used.
        reason: String,
    },
    /// A node the engine cannot execute (no INT8 kernel and no FP32 fallback kernel yet).
    #[error("{layer}: not supported by the optimized engine: {detail}")]
    Unsupported {
        /// The layer.
        layer: LayerRef,
        /// What is missing.
        detail: String,
    },
    /// A layer whose attributes, ports or constants are malformed for its op.
    #[error("{layer}: {message}")]
    Layer {
        /// The layer.
        layer: LayerRef,
        /// What is wrong.
        message: String,
    },
    /// A run input that does not match the model's parameters.
    #[error("input {index}: {message}")]
    Input {
        /// Index of the input (model parameter order).
        index: usize,
        /// What is wrong.
        message: String,
    },
    /// An FP32 fallback kernel failed.
    #[error(transparent)]
    Fallback(#[from] crate::fallback::FallbackError),
    /// An IR error (decoding a constant, building the residual model); boxed to keep results small.
    #[error(transparent)]
    Ir(Box<IrError>),
    /// The rayon thread pool could not be built.
    #[error("cannot build a pool of {threads} threads: {message}")]
    Threads {
        /// Requested thread count.
        threads: usize,
        /// rayon's message.
        message: String,
    },
    /// A benchmark workload file problem.
    #[error("{path}: {message}")]
    Workloads {
        /// The workloads file.
        path: String,
        /// What is wrong.
        message: String,
    },
}

impl From<IrError> for OptError {
    fn from(e: IrError) -> Self {
        OptError::Ir(Box::new(e))
    }
}

impl OptError {
    /// A layer error from a node.
    pub fn layer(node: &conform_ir::Node, message: impl Into<String>) -> Self {
        OptError::Layer { layer: node.layer_ref(), message: message.into() }
    }

    /// An unsupported-node error.
    pub fn unsupported(node: &conform_ir::Node, detail: impl Into<String>) -> Self {
        OptError::Unsupported { layer: node.layer_ref(), detail: detail.into() }
    }
}
