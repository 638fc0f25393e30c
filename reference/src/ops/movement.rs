//! Data movement and type ops: Convert, Reshape, Squeeze, Transpose, Concat, Gather, Slice, VariadicSplit, Pad.

use super::{OpCtx, OpResult};

/// Evaluates the ops of this family; `None` for any other op type.
pub fn evaluate(_ctx: &OpCtx<'_>) -> OpResult {
    None
}
