//! The OpenVINO IR contract shared by the reference and the optimized engine: the model, element
//! types, tensors, the reader and writer of `model.xml` + `model.bin`, `.npy` files and typed
//! errors. It holds no arithmetic of any op: that belongs to the engines.

pub mod element;
pub mod error;
pub mod forms;
pub mod model;
pub mod shape;
pub mod tensor;

pub use element::ElementType;
pub use error::{AttrError, IrError, LayerRef};
pub use model::{ConstView, Edge, Model, ModelParts, Node, Port, XmlElement};
pub use shape::{element_count, Dim, PartialShape};
pub use tensor::{Tensor, TensorData};
