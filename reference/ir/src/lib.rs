//! The OpenVINO IR contract shared by the reference and the optimized engine: the model, element
//! types, tensors, the reader and writer of `model.xml` + `model.bin`, `.npy` files and typed
//! errors. It holds no arithmetic of any op: that belongs to the engines.

// Errors carry the file, the layer and a message by value: they are the cold path, and their size
// does not matter next to reading a model.
#![allow(clippy::result_large_err)]

pub mod element;
pub mod error;
pub mod forms;
pub mod limits;
pub mod model;
pub mod npy;
pub mod reader;
pub mod shape;
pub mod shape_infer;
pub mod tensor;
pub mod writer;

pub use element::ElementType;
pub use error::{AttrError, IrError, LayerRef};
pub use limits::Limits;
pub use model::{ConstView, Edge, Model, ModelParts, Node, Port, XmlElement};
pub use reader::{read_model, read_model_from_bytes};
pub use shape::{element_count, Dim, PartialShape};
pub use tensor::{Tensor, TensorData};
pub use writer::{write_model, write_model_to_bytes};
