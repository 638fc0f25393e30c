//! Integer kernels, one generic body per kernel instantiated in thin `#[target_feature]` wrappers
//! per ISA, each with a scalar twin (see `optimized/KERNELS.md`).
//!
//! - [`dense`]: the int8 GEMM-like micro-kernel `acc[m][n] = Σ_k a[m,k]·w[k,n]` (u8 × i8 → exact
//!   i32, wrapping), with implicit-GEMM addressing (per-row base offsets plus tap offsets) so
//!   convolutions need no im2col.
//! - [`depthwise`]: per-channel `acc[p][c] = Σ_t a[p+tap_t][c]·w[t][c]`.
//! - [`epilogue`]: the INT8.md §4 f32 epilogue on an i32 tile.
//! - [`layout`]: 16 planar channel rows → pixel-major bytes (the dense convolution's input).
//! - [`pack`]: run-time packing of an activation × activation MatMul's B operand.
//! - [`rowconv`]: the dense convolution in the transposed orientation (positions in the lanes,
//!   weights broadcast) with the epilogue fused, writing NC(D)HW rows directly.
//!
//! `unsafe` lives only here: in the SIMD bodies (raw loads after the safe wrapper checked every
//! address) and in the calls of `#[target_feature]` functions (allowed because a [`crate::isa::Isa`]
//! other than scalar is only handed out after runtime detection).

pub mod dense;
pub mod depthwise;
pub mod epilogue;
pub mod layout;
pub mod pack;
pub mod quant;
pub mod rowconv;

/// A kernel precondition the caller violated (an engine bug, reported instead of panicking).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("kernel precondition violated: {0}")]
pub struct KernelError(pub &'static str);
