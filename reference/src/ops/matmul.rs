//! MatMul-1 (specification `matmul-1.rst`; order of `ov::reference::matmul`, FP32.md).
//!
//! - Rank-1 operands are promoted: A `[K]` → `[1, K]`, B `[K]` → `[K, 1]`; the added axis is
//!   removed from the result; `transpose_a/b` are ignored for rank-1 operands.
//! - Otherwise `transpose_a/b` swap the last two axes; the batch axes (all but the last two)
//!   broadcast numpy-style.
//! - `y[b, m, n] = Σ_k a[b, m, k] · b[b, k, n]` with `acc = 0`, k ascending, each product and sum
//!   rounded to f32.

use super::elementwise::{alloc, float_input, float_output, input};
use super::{OpCtx, OpResult};
use crate::broadcast::{broadcast_shapes, strides};
use crate::error::{op_err, RefError};
use conform_ir::Tensor;

/// Evaluates the ops of this family; `None` for any other op type.
pub fn evaluate(ctx: &OpCtx<'_>) -> OpResult {
    (ctx.node.op_type == "MatMul").then(|| matmul(ctx))
}

fn matmul(ctx: &OpCtx<'_>) -> Result<Vec<Tensor>, RefError> {
    let node = ctx.node;
    let (a, b) = (input(ctx, 0, "2")?, input(ctx, 1, "2")?);
    let ta = node.attr_bool_or("transpose_a", false)?;
    let tb = node.attr_bool_or("transpose_b", false)?;
    if a.shape.is_empty() || b.shape.is_empty() {
        return Err(op_err(node, "MatMul inputs must have rank at least 1"));
    }
    // Promote rank-1 operands (transposes ignored for them).
    let (a_shape, ta, a_vec) =
        if a.shape.len() == 1 { (vec![1, a.shape[0]], false, true) } else { (a.shape.clone(), ta, false) };
    let (b_shape, tb, b_vec) =
        if b.shape.len() == 1 { (vec![b.shape[0], 1], false, true) } else { (b.shape.clone(), tb, false) };
    let (ar, br) = (a_shape.len(), b_shape.len());
    let (m, ka) = if ta { (a_shape[ar - 1], a_shape[ar - 2]) } else { (a_shape[ar - 2], a_shape[ar - 1]) };
    let (kb, n) = if tb { (b_shape[br - 1], b_shape[br - 2]) } else { (b_shape[br - 2], b_shape[br - 1]) };
    if ka != kb {
        return Err(op_err(
            node,
            format!(
                "inner dimensions differ: A {:?} (transpose_a={ta}) and B {:?} (transpose_b={tb})",
                a.shape, b.shape
            ),
        ));
    }
    let k = ka;
    let (a_batch, b_batch) = (&a_shape[..ar - 2], &b_shape[..br - 2]);
    let batch = broadcast_shapes(a_batch, b_batch)
        .ok_or_else(|| op_err(node, format!("batch axes {a_batch:?} and {b_batch:?} do not broadcast")))?;
    let mut out_shape = batch.clone();
    if !a_vec {
        out_shape.push(m);
    }
    if !b_vec {
        out_shape.push(n);
    }
    let nb = conform_ir::element_count(&batch).ok_or_else(|| op_err(node, "batch size overflows"))?;
    let out_len = conform_ir::element_count(&out_shape).ok_or_else(|| op_err(node, "output size overflows"))?;
    let av = float_input(node, a, "A")?;
    let bv = float_input(node, b, "B")?;

    // Batch index of each operand for output batch `i` (numpy broadcasting of the batch axes).
    let batch_strides = strides(&batch);
    let operand_batch = |shape: &[usize], i: usize| -> usize {
        let off = batch.len() - shape.len();
        let st = strides(shape);
        let mut idx = 0;
        for (ax, (&d, &s)) in shape.iter().zip(&st).enumerate() {
            let coord = (i / batch_strides[off + ax]) % batch[off + ax].max(1);
            if d != 1 {
                idx += coord * s;
            }
        }
        idx
    };
    let (a_mat, b_mat) = (m * k, k * n);
    let mut y = alloc(node, out_len)?;
    for bi in 0..nb {
        let a0 = operand_batch(a_batch, bi) * a_mat;
        let b0 = operand_batch(b_batch, bi) * b_mat;
        for i in 0..m {
            for j in 0..n {
                let mut acc = 0.0f32;
                for kk in 0..k {
                    let x = if ta { av[a0 + kk * m + i] } else { av[a0 + i * k + kk] };
                    let w = if tb { bv[b0 + j * k + kk] } else { bv[b0 + kk * n + j] };
                    acc += x * w;
                }
                y.push(acc);
            }
        }
    }
    Ok(vec![float_output(node, a.element_type, out_shape, y)?])
}
