//! MatMul-1 in f32 (when it does not run as an INT8 block): `acc = 0`; for k ascending
//! `acc = acc + a[m,k]·b[k,n]` after the transposes (FP32.md), numpy broadcasting of batch axes,
//! 1-D operands unsqueezed (A to `[1,K]`, B to `[K,1]`) and the added axis removed from the output.

use super::broadcast::{broadcast_pair, row_offset, strides_into};
use super::ctx::{Ctx, FallbackError};
use conform_ir::shape::fmt_shape;
use conform_ir::Tensor;
use rayon::prelude::*;

/// Copies every trailing `rows×cols` matrix of `v` transposed.
fn transpose_last2(cx: &Ctx<'_>, v: &[f32], rows: usize, cols: usize) -> Result<Vec<f32>, FallbackError> {
    let mut out = cx.zeros(v.len())?;
    let m = rows * cols;
    if m == 0 {
        return Ok(out);
    }
    out.par_chunks_mut(m).zip(v.par_chunks(m)).for_each(|(o, v)| {
        for r in 0..rows {
            for c in 0..cols {
                o[c * rows + r] = v[r * cols + c];
            }
        }
    });
    Ok(out)
}

/// MatMul-1.
pub(crate) fn matmul(cx: &Ctx<'_>) -> Result<Vec<Tensor>, FallbackError> {
    cx.expect_inputs(2, 2)?;
    let (a, ash) = cx.f32_input(0)?;
    let (b, bsh) = cx.f32_input(1)?;
    if ash.is_empty() || bsh.is_empty() {
        return Err(cx.err("MatMul inputs must have rank 1 or more"));
    }
    let ta = cx.node.attr_bool_or("transpose_a", false)?;
    let tb = cx.node.attr_bool_or("transpose_b", false)?;
    // Matrix views (rows, cols) as stored, then after the transpose attribute.
    let (a1, b1) = (ash.len() == 1, bsh.len() == 1);
    let (ar, ac) = if a1 { (1, ash[0]) } else { (ash[ash.len() - 2], ash[ash.len() - 1]) };
    let (br, bc) = if b1 { (bsh[0], 1) } else { (bsh[bsh.len() - 2], bsh[bsh.len() - 1]) };
    let (ta, tb) = (ta && !a1, tb && !b1);
    let (m, k) = if ta { (ac, ar) } else { (ar, ac) };
    let (kb, n) = if tb { (bc, br) } else { (br, bc) };
    if k != kb {
        return Err(cx.err(format!(
            "inner dimensions differ: {} and {} (transpose_a={ta}, transpose_b={tb})",
            fmt_shape(ash),
            fmt_shape(bsh)
        )));
    }
    let abatch = if a1 { &[][..] } else { &ash[..ash.len() - 2] };
    let bbatch = if b1 { &[][..] } else { &bsh[..bsh.len() - 2] };
    let batch = broadcast_pair(abatch, bbatch)
        .ok_or_else(|| cx.err(format!("batch axes of {} and {} do not broadcast", fmt_shape(ash), fmt_shape(bsh))))?;
    let sa = strides_into(abatch, &batch).ok_or_else(|| cx.err("input 0 batch does not broadcast"))?;
    let sb = strides_into(bbatch, &batch).ok_or_else(|| cx.err("input 1 batch does not broadcast"))?;
    // Contiguous [M,K] and [K,N] matrices.
    let a_owned;
    let a_mk: &[f32] = if ta {
        a_owned = transpose_last2(cx, &a, ar, ac)?;
        &a_owned
    } else {
        &a
    };
    let b_owned;
    let b_kn: &[f32] = if tb {
        b_owned = transpose_last2(cx, &b, br, bc)?;
        &b_owned
    } else {
        &b
    };
    let nb: usize = cx.count(&batch)?;
    let total = cx.count(&[nb, m, n])?;
    let mut out = cx.zeros(total)?;
    // Batch index → matrix offset, with the batch "rows" being all batch axes (append a unit axis
    // so row_offset's "all axes but the last" covers every batch axis).
    let mut bshape = batch.clone();
    bshape.push(1);
    let mut sa1 = sa.clone();
    sa1.push(0);
    let mut sb1 = sb.clone();
    sb1.push(0);
    if total > 0 {
        out.par_chunks_mut(n).enumerate().with_min_len((4096 / (n * k).max(1)).max(1)).for_each(|(row, acc)| {
            let (bi, mi) = (row / m, row % m);
            let ao = row_offset(&bshape, &sa1, bi) * m * k + mi * k;
            let bo = row_offset(&bshape, &sb1, bi) * k * n;
            for kk in 0..k {
                let av = a_mk[ao + kk];
                for (acc, &bv) in acc.iter_mut().zip(&b_kn[bo + kk * n..bo + (kk + 1) * n]) {
                    *acc += av * bv;
                }
            }
        });
    }
    let mut out_shape = batch;
    if !a1 {
        out_shape.push(m);
    }
    if !b1 {
        out_shape.push(n);
    }
    Ok(vec![cx.f32_tensor(out_shape, out)?])
}
