//! INT8 mode (reference/INT8.md, SPEC §0.3, §3.2): which main ops are INT8-eligible, and their exact
//! integer accumulation followed by the documented f32 epilogue.
//!
//! Interface used by the interpreter: [`analyze`] once per model decides, per node, whether it is
//! the main op of an INT8 block, absorbed into one (bias Add, ReLU/Clamp), or falls back with a
//! reason; [`execute_block`] computes a block's output from the values that feed its activation
//! FakeQuantize nodes.

use crate::error::RefError;
use conform_ir::{Model, Tensor};

/// How a fractional activation zero point is treated (INT8.md §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ZeroPointPolicy {
    /// Keep the fraction as an f32 compensation term (FakeQuantize semantics).
    #[default]
    Exact,
    /// Round the zero point, as OpenVINO's CPU plugin does.
    Round,
}

/// What INT8 mode does with one node.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Not a candidate main op (and not absorbed): runs in FP32.
    NotInt8,
    /// The main op of block `block`.
    Main {
        /// Index into [`Int8Plan::blocks`].
        block: usize,
    },
    /// A bias Add or activation absorbed into block `block`'s epilogue.
    Absorbed {
        /// Index into [`Int8Plan::blocks`].
        block: usize,
    },
    /// A candidate main op that falls back to FP32.
    Fallback {
        /// Stable reason code of INT8.md §1 (`act-levels`, `weight-scale-not-per-channel`, ...).
        reason: &'static str,
        /// Details for people.
        detail: String,
    },
}

/// One INT8 block.
#[derive(Debug, Clone, PartialEq)]
pub struct Block {
    /// The main op (Convolution, GroupConvolution or MatMul).
    pub main: usize,
    /// The activation FakeQuantize node of each quantized activation input, in input order.
    pub act_fq: Vec<usize>,
    /// Absorbed epilogue nodes in order (bias Add, ReLU/Clamp).
    pub chain: Vec<usize>,
    /// The node whose output 0 is the block's output (the last of `chain`, or `main`).
    pub output: usize,
}

/// The INT8 decisions for a model.
#[derive(Debug, Clone, PartialEq)]
pub struct Int8Plan {
    /// One decision per node, indexed like `model.nodes()`.
    pub decisions: Vec<Decision>,
    /// The blocks.
    pub blocks: Vec<Block>,
    /// The zero-point policy the plan was made for.
    pub policy: ZeroPointPolicy,
}

/// Decides, for every node, INT8 block membership or the reason it falls back.
pub fn analyze(model: &Model, policy: ZeroPointPolicy) -> Result<Int8Plan, RefError> {
    Ok(Int8Plan { decisions: vec![Decision::NotInt8; model.nodes().len()], blocks: Vec::new(), policy })
}

/// Computes a block's output from the values feeding its activation FakeQuantize nodes
/// (`activations[i]` is input 0 of `block.act_fq[i]`).
pub fn execute_block(
    model: &Model,
    plan: &Int8Plan,
    block: &Block,
    activations: &[&Tensor],
) -> Result<Tensor, RefError> {
    let _ = (plan, activations);
    Err(crate::error::op_err(model.node(block.main), "INT8 execution is not implemented yet"))
}
