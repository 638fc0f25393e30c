//! Typed errors of reading, validating and writing IRs. Every variant names the file and, where
//! there is one, the layer (id, name, type) and what was expected.

use std::fmt;
use std::path::PathBuf;

/// Identifies a layer in messages: `layer 5 "conv1" (Convolution)`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LayerRef {
    /// The layer's `id` attribute as written.
    pub id: String,
    /// The layer's `name` attribute.
    pub name: String,
    /// The layer's `type` attribute.
    pub op_type: String,
}

impl fmt::Display for LayerRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "layer {} \"{}\" ({})", self.id, self.name, self.op_type)
    }
}

/// A problem with one attribute of one layer (found when reading or when an op uses it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AttrError {
    /// The attribute is required and absent.
    #[error("{layer}: missing attribute `{attribute}`")]
    Missing {
        /// The layer.
        layer: LayerRef,
        /// The attribute name.
        attribute: String,
    },
    /// The attribute is present but does not parse as expected.
    #[error("{layer}: attribute `{attribute}`=\"{value}\": expected {expected}")]
    Malformed {
        /// The layer.
        layer: LayerRef,
        /// The attribute name.
        attribute: String,
        /// The text found (truncated to 80 characters).
        value: String,
        /// What was expected, in words.
        expected: String,
    },
}

/// Everything that can go wrong reading or writing an IR.
#[derive(Debug, thiserror::Error)]
pub enum IrError {
    /// The file could not be opened or read.
    #[error("{path}: cannot read: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file could not be written.
    #[error("{path}: cannot write: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The XML is not well formed.
    #[error("{path}: malformed XML at byte {position}: {message}")]
    Xml {
        /// The file.
        path: PathBuf,
        /// Byte offset where the parser stopped.
        position: u64,
        /// The parser's message.
        message: String,
    },
    /// Well-formed XML that is not an OpenVINO IR (wrong root, missing sections).
    #[error("{path}: not an OpenVINO IR: {message}")]
    NotAnIr {
        /// The file.
        path: PathBuf,
        /// What is missing or wrong.
        message: String,
    },
    /// An IR version this reader does not read.
    #[error("{path}: IR version {version} is not supported (10 and 11 are)")]
    UnsupportedVersion {
        /// The file.
        path: PathBuf,
        /// The version attribute as written.
        version: String,
    },
    /// A bad attribute on a layer.
    #[error("{path}: {source}")]
    Attribute {
        /// The file.
        path: PathBuf,
        /// The attribute problem.
        source: AttrError,
    },
    /// A structural problem of one layer (ports, dims, element types).
    #[error("{path}: {layer}: {message}")]
    Layer {
        /// The file.
        path: PathBuf,
        /// The layer.
        layer: LayerRef,
        /// What is wrong.
        message: String,
    },
    /// Two layers share an id.
    #[error("{path}: duplicate layer id {id} (layers \"{first}\" and \"{second}\")")]
    DuplicateLayerId {
        /// The file.
        path: PathBuf,
        /// The id.
        id: String,
        /// Name of the first layer with it.
        first: String,
        /// Name of the second.
        second: String,
    },
    /// An edge that does not connect existing ports correctly.
    #[error(
        "{path}: edge from-layer={from_layer} from-port={from_port} to-layer={to_layer} to-port={to_port}: {message}"
    )]
    Edge {
        /// The file.
        path: PathBuf,
        /// from-layer as written.
        from_layer: String,
        /// from-port as written.
        from_port: String,
        /// to-layer as written.
        to_layer: String,
        /// to-port as written.
        to_port: String,
        /// What is wrong.
        message: String,
    },
    /// The graph has a cycle.
    #[error("{path}: the graph has a cycle through {layer}")]
    Cycle {
        /// The file.
        path: PathBuf,
        /// One layer on the cycle.
        layer: LayerRef,
    },
    /// A constant's bytes are not inside the weights file, or too few for its shape.
    #[error("{path}: {layer}: {message}")]
    Weights {
        /// The weights file.
        path: PathBuf,
        /// The Const layer.
        layer: LayerRef,
        /// What is wrong (offset, size, file length, bytes needed).
        message: String,
    },
    /// A documented resource limit of the reader was exceeded.
    #[error("{path}: {what} exceeds the limit of {limit}")]
    Limit {
        /// The file.
        path: PathBuf,
        /// What grew too large.
        what: String,
        /// The limit.
        limit: u64,
    },
}

impl IrError {
    /// The file the error is about.
    pub fn path(&self) -> &std::path::Path {
        match self {
            IrError::Io { path, .. }
            | IrError::Write { path, .. }
            | IrError::Xml { path, .. }
            | IrError::NotAnIr { path, .. }
            | IrError::UnsupportedVersion { path, .. }
            | IrError::Attribute { path, .. }
            | IrError::Layer { path, .. }
            | IrError::DuplicateLayerId { path, .. }
            | IrError::Edge { path, .. }
            | IrError::Cycle { path, .. }
            | IrError::Weights { path, .. }
            | IrError::Limit { path, .. } => path,
        }
    }
}
