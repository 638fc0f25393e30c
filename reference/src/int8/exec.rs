//! Execution of one INT8 block (INT8.md §3–§4): exact integer accumulation of `(q_a − z)·q_w`
//! over the valid taps, then the f32 epilogue in exactly the documented operation order.

use super::reduction::Reduction;
use super::{Activation, Block, Int8Plan, MainOp};
use crate::error::{op_err, RefError};
use conform_ir::{Model, Tensor};
use std::borrow::Cow;

/// The block's reduction over the concrete shapes of this run.
pub(crate) fn reduction(model: &Model, block: &Block, a: &[usize], b: &[usize]) -> Result<Reduction, RefError> {
    let node = model.node(block.main);
    let r = match &block.op {
        MainOp::Conv { grouped, strides, dilations, pads_begin, pads_end, auto_pad } => {
            Reduction::conv(a, b, *grouped, strides, dilations, pads_begin, pads_end, *auto_pad)
        }
        MainOp::MatMul { transpose_a, transpose_b } => Reduction::matmul(a, b, *transpose_a, *transpose_b),
    };
    r.map_err(|m| op_err(node, m))
}

fn f32_data(t: &Tensor) -> Cow<'_, [f32]> {
    match t.as_f32() {
        Some(v) => Cow::Borrowed(v),
        None => Cow::Owned(t.to_f32_vec()),
    }
}

/// Which operand's zero point carries a kept fraction (INT8.md §2, exact policy).
enum Frac {
    None,
    /// On operand A (input 0): `W` sums operand B along the reduction.
    OnA(f32),
    /// On operand B (input 1 of an activation × activation MatMul): `W` sums operand A.
    OnB(f32),
}

/// Computes the block's output (INT8.md §3–§4) from the values feeding its activation FQs.
pub(crate) fn execute(model: &Model, plan: &Int8Plan, block: &Block, acts: &[&Tensor]) -> Result<Tensor, RefError> {
    let _ = plan; // the parameters were fixed for plan.policy when the block was built
    let node = model.node(block.main);
    if acts.len() != block.acts.len() {
        return Err(op_err(node, format!("INT8 block needs {} activations, got {}", block.acts.len(), acts.len())));
    }
    // q = fq_index(x) − z_int per activation element; None marks NaN.
    let q: Vec<Vec<Option<i64>>> =
        acts.iter().zip(&block.acts).map(|(t, aq)| f32_data(t).iter().map(|&x| aq.quantize(x)).collect()).collect();
    let a_shape = &acts[0].shape;
    let b_shape: &[usize] = match &block.weights {
        Some(w) => &w.shape,
        None => &acts[1].shape,
    };
    let red = reduction(model, block, a_shape, b_shape)?;
    // M[o] = s_a · s_w[o] (one f32 multiply); activation × activation: M = s_a · s_b.
    let s_a = block.acts[0].scale;
    let m: Vec<f32> = match &block.weights {
        Some(w) => w.scale.iter().map(|&s_w| s_a * s_w).collect(),
        None => vec![s_a * block.acts[1].scale],
    };
    let frac = if block.acts[0].frac != 0.0 {
        Frac::OnA(block.acts[0].frac as f32)
    } else if block.acts.len() == 2 && block.acts[1].frac != 0.0 {
        Frac::OnB(block.acts[1].frac as f32)
    } else {
        Frac::None
    };
    let mut out = Vec::with_capacity(red.out_len());
    let mut taps = Vec::new();
    for p in 0..red.out_len() {
        let ch = red.taps(p, &mut taps);
        // S = Σ_valid q_a·q_w (exact, i64 here), W = Σ_valid of the other operand (frac only).
        let (mut s, mut w, mut nan) = (0i64, 0i64, false);
        for &(ia, ib) in &taps {
            let qa = q[0][ia];
            let qb = match &block.weights {
                Some(wq) => Some(wq.q[ib] as i64),
                None => q[1][ib],
            };
            let (Some(qa), Some(qb)) = (qa, qb) else {
                nan = true;
                continue;
            };
            s += qa * qb;
            match frac {
                Frac::OnA(_) => w += qb,
                Frac::OnB(_) => w += qa,
                Frac::None => {}
            }
        }
        if i32::try_from(s).is_err() {
            return Err(op_err(node, format!("INT8 accumulator {s} at output {p} does not fit i32")));
        }
        let m_o = if m.len() == 1 { m[0] } else { m[ch.scale] };
        // INT8.md §4, each line one f32 operation, no FMA.
        let mut t = s as f32; // i32 → f32, nearest even
        if let Frac::OnA(f) | Frac::OnB(f) = frac {
            let pw = f * (w as f32); // p = f32(frac)·f32(W)
            t -= pw; // t = t − p
        }
        let mut y = if nan { f32::NAN } else { t * m_o }; // y = t · M[o]
        if let Some(b) = &block.bias {
            let bo = if b.len() == 1 { b.first() } else { b.get(ch.bias) };
            let bo =
                bo.ok_or_else(|| op_err(node, format!("bias has {} values, output channel {}", b.len(), ch.bias)))?;
            y += *bo; // y = y + b[o]
        }
        y = match block.activation {
            None => y,
            Some(Activation::Relu) => {
                if y > 0.0 {
                    y
                } else {
                    0.0
                }
            }
            Some(Activation::Clamp { lo, hi }) => {
                if y < lo {
                    lo
                } else if y > hi {
                    hi
                } else {
                    y
                }
            }
        };
        out.push(y);
    }
    Tensor::from_f32(red.out_shape().to_vec(), out).map_err(|e| op_err(node, e.to_string()))
}
