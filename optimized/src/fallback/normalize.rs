//! Reductions along axes: SoftMax-8, ReduceMean-1 and BatchNormInference-1/5, in the operation
//! order of `reference/FP32.md`.

use super::broadcast::row_major_strides;
use super::ctx::{Ctx, FallbackError};
use conform_ir::Tensor;
use rayon::prelude::*;

/// One step of OpenVINO's compensated (Kahan) summation, `details::kahan_summation` of
/// `ov::reference::reduce_sum` (FP32.md): while the element and the running sum are both finite,
/// `y = x − c; t = s + y; c = (t − s) − y; s = t`; otherwise `s = x + s`.
#[inline(always)]
#[allow(clippy::assign_op_pattern)] // `x + s` is OpenVINO's operand order
pub(crate) fn kahan_step(s: &mut f32, c: &mut f32, x: f32) {
    if x.is_finite() && s.is_finite() {
        let y = x - *c;
        let t = *s + y;
        *c = (t - *s) - y;
        *s = t;
    } else {
        *s = x + *s;
    }
}

/// SoftMax-1/8 along `axis` (FP32.md, `ov::reference::softmax`): `m` starts at the lowest finite
/// f32 and becomes `x` when `m < x` (row-major along the axis); `e_i = exp(x_i − m)`; `s` is the
/// Kahan sum of the `e_i` in order; `y_i = e_i / s`.
pub(crate) fn softmax(cx: &Ctx<'_>) -> Result<Vec<Tensor>, FallbackError> {
    cx.expect_inputs(1, 1)?;
    let (x, shape) = cx.f32_input(0)?;
    let axis = cx.axis(cx.node.attr_i64("axis")?, shape.len())?;
    let len = shape[axis];
    let inner: usize = shape[axis + 1..].iter().product();
    let mut out = cx.zeros(x.len())?;
    let block = len * inner;
    if block == 0 {
        return Ok(vec![cx.f32_tensor(shape.to_vec(), out)?]);
    }
    // Each block (one outer index) is independent; within it the `inner` lanes are processed side
    // by side (contiguous loads), each lane keeping the contract's sequential order.
    out.par_chunks_mut(block).zip(x.par_chunks(block)).for_each(|(o, x)| {
        let mut m = vec![f32::MIN; inner];
        for i in 0..len {
            for (m, &v) in m.iter_mut().zip(&x[i * inner..(i + 1) * inner]) {
                if *m < v {
                    *m = v;
                }
            }
        }
        let mut s = vec![0.0f32; inner];
        let mut c = vec![0.0f32; inner];
        for i in 0..len {
            let row = i * inner..(i + 1) * inner;
            for ((((o, &v), &m), s), c) in
                o[row.clone()].iter_mut().zip(&x[row]).zip(&m).zip(s.iter_mut()).zip(c.iter_mut())
            {
                let e = (v - m).exp();
                *o = e;
                kahan_step(s, c, e);
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

/// ReduceMean-1 (FP32.md, `ov::reference::reduce_mean`): the Kahan sum of the reduced elements in
/// row-major order, divided by `f32(in_elements / out_elements)`.
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
    // Integer division first, as OpenVINO (equal to `count` unless the output is empty).
    let divisor = x.len().checked_div(n_out).unwrap_or(0) as f32;
    out.par_iter_mut().enumerate().with_min_len(64).for_each(|(o, y)| {
        let mut base = 0;
        let mut r = o;
        for k in (0..kept_dims.len()).rev() {
            base += (r % kept_dims[k]) * kept_strides[k];
            r /= kept_dims[k];
        }
        let (mut acc, mut comp) = (0.0f32, 0.0f32);
        for &off in &offs {
            kahan_step(&mut acc, &mut comp, x[base + off]);
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
    let like = cx.input(di)?.element_type;
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
    Ok(vec![cx.float_tensor(like, shape.to_vec(), out)?])
}
