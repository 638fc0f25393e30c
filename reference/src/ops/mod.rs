//! Op implementations of the FP32 fallback, one module per op family, each a plain loop commented
//! with the formula of its OpenVINO operation specification.
//!
//! Dispatch: [`evaluate`] asks each family in turn; a family returns `None` for op types it does
//! not implement, so families can be added without touching each other.

use crate::error::RefError;
use conform_ir::{Model, Node, Tensor};

pub mod convolution;
pub mod elementwise;
pub mod fake_quantize;
pub mod interpolate;
pub mod matmul;
pub mod movement;
pub mod normalization;
pub mod pooling;
pub mod recurrent;

/// Everything an op sees: the model (for constants and attributes), its node and its input values.
pub struct OpCtx<'a> {
    /// The model.
    pub model: &'a Model,
    /// Index of the node in `model.nodes()`.
    pub index: usize,
    /// The node.
    pub node: &'a Node,
    /// Input values in input-port order.
    pub inputs: &'a [&'a Tensor],
}

/// The result of an op family's attempt: `None` = not this family's op.
pub type OpResult = Option<Result<Vec<Tensor>, RefError>>;

/// Evaluates one node on its input values, returning one tensor per output port.
pub fn evaluate(ctx: &OpCtx<'_>) -> Result<Vec<Tensor>, RefError> {
    let families: [fn(&OpCtx<'_>) -> OpResult; 9] = [
        elementwise::evaluate,
        fake_quantize::evaluate,
        convolution::evaluate,
        matmul::evaluate,
        pooling::evaluate,
        movement::evaluate,
        normalization::evaluate,
        interpolate::evaluate,
        recurrent::evaluate,
    ];
    for family in families {
        if let Some(result) = family(ctx) {
            return result;
        }
    }
    Err(RefError::UnsupportedOp {
        layer: ctx.node.layer_ref(),
        op_type: ctx.node.op_type.clone(),
        version: ctx.node.version.clone(),
    })
}
