//! The optimized INT8 engine: compiled plans with weights quantized and packed once, SIMD kernels
//! per ISA (AVX-512 VNNI, AVX-VNNI, AVX2, scalar) selected at run time, bit-exact with the
//! reference INT8 mode (`reference/INT8.md`) for every ISA and thread count.
//!
//! Entry points: [`plan::compile`] → [`plan::Plan::run`]; [`isa::report`] for `conform isa`;
//! [`bench::run_bench`] for `conform bench`.

pub mod bcast;
pub mod bench;
pub mod conv;
pub mod error;
pub mod fallback;
pub mod fq;
pub mod isa;
pub mod kernels;
pub mod matmul;
pub mod modelgen;
#[cfg(feature = "mutants")]
pub mod mutants;
pub mod par;
pub mod pattern;
pub mod plan;

pub use error::OptError;
pub use isa::Isa;
pub use plan::{compile, NodeReport, Plan, PlanOptions, Precision, ResidentWeights, RunOutput, ZeroPointPolicy};
