//! INT8 mode (reference/INT8.md, SPEC §0.3, §3.2): which main ops are INT8-eligible, and their exact
//! integer accumulation followed by the documented f32 epilogue.
//!
//! Interface used by the interpreter: [`analyze`] once per model decides, per node, whether it is
//! the main op of an INT8 block, absorbed into one (bias Add, ReLU/Clamp), or falls back with a
//! reason; [`execute_block`] computes a block's output from the values that feed its activation
//! FakeQuantize nodes.

// `RefError` (owned by error.rs) is large; every fallible function of the crate returns it.
#![allow(clippy::result_large_err)]

use crate::error::RefError;
use crate::geometry::AutoPad;
use conform_ir::{Model, Tensor};

mod exec;
mod pattern;
pub mod quant;
pub mod reduction;

pub use quant::{ActQuant, WeightForm, WeightFqChannel, WeightQuant};
pub use reduction::{Channel, Reduction};

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
    /// The main op and its attributes.
    pub op: MainOp,
    /// Quantization of each activation input, in input order (INT8.md §2).
    pub acts: Vec<ActQuant>,
    /// Constant weights, quantized once (`None` for activation × activation MatMul).
    pub weights: Option<WeightQuant>,
    /// The absorbed bias per output channel (one value when it broadcasts to every channel).
    pub bias: Option<Vec<f32>>,
    /// The absorbed activation.
    pub activation: Option<Activation>,
}

/// The main op of a block with the attributes the reduction needs.
#[derive(Debug, Clone, PartialEq)]
pub enum MainOp {
    /// Convolution (`grouped = false`, weights OIHW…) or GroupConvolution (GOIHW…).
    Conv {
        /// GroupConvolution.
        grouped: bool,
        /// Strides per spatial axis.
        strides: Vec<usize>,
        /// Dilations per spatial axis.
        dilations: Vec<usize>,
        /// Explicit pads at the beginning (ignored unless `auto_pad` is explicit).
        pads_begin: Vec<usize>,
        /// Explicit pads at the end.
        pads_end: Vec<usize>,
        /// auto_pad.
        auto_pad: AutoPad,
    },
    /// MatMul-1.
    MatMul {
        /// transpose_a.
        transpose_a: bool,
        /// transpose_b.
        transpose_b: bool,
    },
}

/// The activation absorbed into a block's epilogue (INT8.md §4).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Activation {
    /// `y > 0 ? y : +0` (OpenVINO's reference relu).
    Relu,
    /// `y < lo ? lo : (y > hi ? hi : y)` with `lo = f32(min)`, `hi = f32(max)` (ov::reference::clamp).
    Clamp {
        /// f32(min).
        lo: f32,
        /// f32(max).
        hi: f32,
    },
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

/// Decides, for every node, INT8 block membership or the reason it falls back (INT8.md §1).
pub fn analyze(model: &Model, policy: ZeroPointPolicy) -> Result<Int8Plan, RefError> {
    let n = model.nodes().len();
    let mut decisions = vec![Decision::NotInt8; n];
    let mut blocks: Vec<Block> = Vec::new();
    for &i in model.topo_order() {
        let node = model.node(i);
        if pattern::NOT_INT8_CANDIDATES.contains(&node.op_type.as_str()) {
            decisions[i] = Decision::Fallback {
                reason: "op-not-int8",
                detail: format!("{} is not computed in INT8 (INT8.md §5)", node.op_type),
            };
            continue;
        }
        if !pattern::is_main_candidate(model, i) {
            continue;
        }
        match pattern::build_block(model, i, policy) {
            Ok(block) => {
                let id = blocks.len();
                decisions[i] = Decision::Main { block: id };
                for &c in &block.chain {
                    decisions[c] = Decision::Absorbed { block: id };
                }
                blocks.push(block);
            }
            Err(pattern::Fail::Reject(reason, detail)) => decisions[i] = Decision::Fallback { reason, detail },
            Err(pattern::Fail::Error(e)) => return Err(e),
        }
    }
    Ok(Int8Plan { decisions, blocks, policy })
}

/// Computes a block's output from the values feeding its activation FakeQuantize nodes
/// (`activations[i]` is input 0 of `block.act_fq[i]`): exact integer accumulation (INT8.md §3)
/// and the f32 epilogue in its documented order (INT8.md §4).
pub fn execute_block(
    model: &Model,
    plan: &Int8Plan,
    block: &Block,
    activations: &[&Tensor],
) -> Result<Tensor, RefError> {
    exec::execute(model, plan, block, activations)
}

/// The reduction of `block` over concrete operand shapes (for the error bound and tests).
pub fn block_reduction(
    model: &Model,
    block: &Block,
    a_shape: &[usize],
    b_shape: &[usize],
) -> Result<Reduction, RefError> {
    exec::reduction(model, block, a_shape, b_shape)
}
