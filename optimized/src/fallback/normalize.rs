//! Reductions along axes: SoftMax-8, ReduceMean-1 and BatchNormInference-1/5, in the operation
//! order of `reference/FP32.md`.

use super::broadcast::row_major_strides;
use super::ctx::{Ctx, FallbackError};
use conform_ir::Tensor;
use rayon::prelude::*;

/// SoftMax-8 along `axis`: `m = max` (row-major along the axis, `v > m ? v : m` from −inf);
/// `e_i = exp(x_i − m)`; `s = Σ e_i` ascending from 0; `y_i = e_i / s`.
pub(crate) fn softmax(cx: &Ctx<'_>) -> Result<Vec<Tensor>, FallbackError> {
    cx.expect_inputs(1, 1)?;
    let (x, shape) = cx.f32_input(0)?;
    let axis = cx.axis(cx.node.attr_parse_or::<i64>("axis", 1, "an integer")?, shape.len())?;
    let len = shape[axis];
    let inner: usize = shape[axis + 1..].iter().product();
    let mut out = cx.zeros(x.len())?;
    let block = len * inner;
    if block == 0 {
        return Ok(vec![cx.f32_tensor(shape.to_vec(), out)?]);
    }
    // Each block (one outer index) is independent; within it, the `inner` lanes are processed
    // side by side (contiguous loads), each lane keeping the contract's sequential order.
    out.par_chunks_mut(block).zip(x.par_chunks(block)).for_each(|(o, x)| {
        let mut m = vec![f32::NEG_INFINITY; inner];
        for i in 0..len {
            for (m, &v) in m.iter_mut().zip(&x[i * inner..(i + 1) * inner]) {
                if v > *m {
                    *m = v;
                }
            }
        }
        let mut s = vec![0.0f32; inner];
        for i in 0..len {
            let row = i * inner..(i + 1) * inner;
            for (((o, &v), &m), s) in o[row.clone()].iter_mut().zip(&x[row]).zip(&m).zip(s.iter_mut()) {
                let e = (v - m).exp();
                *o = e;
                *s += e;
            }
        }
        for i in 0..len {
            for (o, &s) in o[i * inner..(i + 1) * inner].iter_mut().zip(&s) {
                *o /= s;
            }
        }
    });
    Ok(vec![cx.f32_tensor(shape.to_vec(), out)?])
}

/// ReduceMean-1: `acc = 0`, the reduced elements in row-major order, `acc / count`.
pub(crate) fn reduce_mean(cx: &Ctx<'_>) -> Result<Vec<Tensor>, FallbackError> {
    cx.expect_inputs(2, 2)?;
    let (x, shape) = cx.f32_input(0)?;
    let rank = shape.len();
    let keep = cx.node.attr_bool_or("keep_dims", false)?;
    let mut reduced = vec![false; rank];
    for a in cx.int_input(1)? {
        reduced[cx.axis(a, rank)?] = true;
    }
    let strides = row_major_strides(shape);
    // Offsets of the reduced elements relative to an output's base, in row-major order.
    let red_dims: Vec<usize> = (0..rank).filter(|&a| reduced[a]).map(|a| shape[a]).collect();
    let red_strides: Vec<usize> = (0..rank).filter(|&a| reduced[a]).map(|a| strides[a]).collect();
    let count = cx.count(&red_dims)?;
    let mut offs = cx.with_capacity::<usize>(count)?;
    for mut r in 0..count {
        let mut off = 0;
        for k in (0..red_dims.len()).rev() {
            off += (r % red_dims[k]) * red_strides[k];
            r /= red_dims[k];
        }
        offs.push(off);
    }
    let kept_dims: Vec<usize> = (0..rank).filter(|&a| !reduced[a]).map(|a| shape[a]).collect();
    let kept_strides: Vec<usize> = (0..rank).filter(|&a| !reduced[a]).map(|a| strides[a]).collect();
    let n_out = cx.count(&kept_dims)?;
    let mut out = cx.zeros(n_out)?;
    let divisor = count as f32;
    out.par_iter_mut().enumerate().with_min_len(64).for_each(|(o, y)| {
        let mut base = 0;
        let mut r = o;
        for k in (0..kept_dims.len()).rev() {
            base += (r % kept_dims[k]) * kept_strides[k];
            r /= kept_dims[k];
        }
        let mut acc = 0.0f32;
        for &off in &offs {
            acc += x[base + off];
        }
        *y = acc / divisor;
    });
    let out_shape = if keep { (0..rank).map(|a| if reduced[a] { 1 } else { shape[a] }).collect() } else { kept_dims };
    Ok(vec![cx.f32_tensor(out_shape, out)?])
}

/// BatchNormInference (opset5 inputs: data, gamma, beta, mean, variance; opset1: gamma, beta, data,
/// mean, variance), channel axis 1: `d = x − mean; v = var + eps; r = sqrt(v); y = d / r;
/// y = y · gamma; y = y + beta`.
pub(crate) fn batch_norm(cx: &Ctx<'_>) -> Result<Vec<Tensor>, FallbackError> {
    cx.expect_inputs(5, 5)?;
    let (di, gi, bi) = if cx.node.version == "opset1" { (2, 0, 1) } else { (0, 1, 2) };
    let (x, shape) = cx.f32_input(di)?;
    let (gamma, _) = cx.f32_input(gi)?;
    let (beta, _) = cx.f32_input(bi)?;
    let (mean, _) = cx.f32_input(3)?;
    let (var, _) = cx.f32_input(4)?;
    let eps = cx.node.attr_f64("epsilon")? as f32;
    if shape.len() < 2 {
        return Err(cx.err("data must have rank 2 or more"));
    }
    let c = shape[1];
    if [gamma.len(), beta.len(), mean.len(), var.len()].iter().any(|&l| l != c) {
        return Err(cx.err(format!("gamma, beta, mean and variance must have {c} elements (the channels)")));
    }
    let inner: usize = shape[2..].iter().product();
    let mut out = cx.zeros(x.len())?;
    if inner > 0 {
        out.par_chunks_mut(inner).zip(x.par_chunks(inner)).enumerate().for_each(|(p, (o, x))| {
            let ch = p % c;
            let v = var[ch] + eps;
            let r = v.sqrt();
            for (o, &x) in o.iter_mut().zip(x) {
                let d = x - mean[ch];
                let y = d / r;
                let y = y * gamma[ch];
                *o = y + beta[ch];
            }
        });
    }
    Ok(vec![cx.f32_tensor(shape.to_vec(), out)?])
}
