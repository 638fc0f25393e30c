//! The scalar source of truth: FakeQuantize bit-exact to OpenVINO's reference, an interpreter with
//! FP32-fallback, FP16 and INT8 modes, the INT8-vs-FP32 error bound, and weight compression and
//! expansion. Clear over fast: every op is a plain loop commented with the formula it implements.

pub mod bound;
pub mod broadcast;
pub mod compress;
pub mod error;
pub mod fq;
pub mod geometry;
pub mod int8;
pub mod interp;
pub mod ops;

pub use error::RefError;
pub use interp::{run, Mode, RunOptions, RunOutput};
