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

/// Which reduction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reduce {
    /// Kahan sum / count.
    Mean,
    /// Kahan sum.
    Sum,
    /// `m = lowest finite`, `m = m < x ? x : m`.
    Max,
    /// `m = largest finite`, `m = x < m ? x : m`.
    Min,
    /// `p = 1`, `p = p·x`.
    Prod,
}

/// The reduction geometry of a set of axes: offsets of the reduced elements relative to a group's
/// first element (row-major over the reduced axes), and the kept axes (sizes and strides).
struct Groups {
    offs: Vec<usize>,
    kept_dims: Vec<usize>,
    kept_strides: Vec<usize>,
    reduced: Vec<bool>,
}

impl Groups {
    fn new(cx: &Ctx<'_>, shape: &[usize], axes: &[i64]) -> Result<Groups, FallbackError> {
        let rank = shape.len();
        let mut reduced = vec![false; rank];
        for &a in axes {
            reduced[cx.axis(a, rank)?] = true;
        }
        let strides = row_major_strides(shape);
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
        let kept_dims = (0..rank).filter(|&a| !reduced[a]).map(|a| shape[a]).collect();
        let kept_strides = (0..rank).filter(|&a| !reduced[a]).map(|a| strides[a]).collect();
        Ok(Groups { offs, kept_dims, kept_strides, reduced })
    }

    /// Number of groups (output elements).
    fn len(&self) -> usize {
        self.kept_dims.iter().product()
    }

    /// Flat input index of group `o`'s first element.
    fn base(&self, mut o: usize) -> usize {
        let mut base = 0;
        for k in (0..self.kept_dims.len()).rev() {
            base += (o % self.kept_dims[k]) * self.kept_strides[k];
            o /= self.kept_dims[k];
        }
        base
    }
}

/// Reduces `x[base + off]` over `offs` (in order) as `kind`; `divisor` for Mean.
#[inline]
fn reduce_group(kind: Reduce, x: &[f32], base: usize, offs: &[usize], divisor: f32) -> f32 {
    match kind {
        Reduce::Mean | Reduce::Sum => {
            let (mut s, mut c) = (0.0f32, 0.0f32);
            for &off in offs {
                kahan_step(&mut s, &mut c, x[base + off]);
            }
            if kind == Reduce::Mean {
                s / divisor
            } else {
                s
            }
        }
        Reduce::Max => {
            let mut m = f32::MIN;
            for &off in offs {
                let v = x[base + off];
                if m < v {
                    m = v;
                }
            }
            m
        }
        Reduce::Min => {
            let mut m = f32::MAX;
            for &off in offs {
                let v = x[base + off];
                if v < m {
                    m = v;
                }
            }
            m
        }
        Reduce::Prod => {
            let mut p = 1.0f32;
            for &off in offs {
                p *= x[base + off];
            }
            p
        }
    }
}

/// ReduceMean/Sum/Max/Min/Prod-1 (FP32.md): the reduced elements in row-major order; Mean and Sum
/// use OpenVINO's Kahan sum (`reduce_sum`), Mean divides by `f32(in_elements / out_elements)`.
pub(crate) fn reduce(cx: &Ctx<'_>, kind: Reduce) -> Result<Vec<Tensor>, FallbackError> {
    cx.expect_inputs(2, 2)?;
    let (x, shape) = cx.f32_input(0)?;
    let keep = cx.node.attr_bool_or("keep_dims", false)?;
    let grp = Groups::new(cx, shape, &cx.int_input(1)?)?;
    let n_out = cx.count(&grp.kept_dims)?;
    let mut out = cx.zeros(n_out)?;
    // Integer division first, as OpenVINO (equal to the group size unless the output is empty).
    let divisor = x.len().checked_div(n_out).unwrap_or(0) as f32;
    out.par_iter_mut().enumerate().with_min_len(64).for_each(|(o, y)| {
        *y = reduce_group(kind, &x, grp.base(o), &grp.offs, divisor);
    });
    let out_shape = if keep {
        shape.iter().zip(&grp.reduced).map(|(&d, &r)| if r { 1 } else { d }).collect()
    } else {
        grp.kept_dims.clone()
    };
    Ok(vec![cx.f32_tensor(out_shape, out)?])
}

/// MVN-6 (FP32.md): per group of the reduced axes, `mean` as ReduceMean; `d = x − mean`; with
/// `normalize_variance`, `v` = ReduceMean of `d·d` and `r = sqrt(v + eps)` (`inside_sqrt`) or
/// `sqrt(v) + eps` (`outside_sqrt`), `y = d / r`; otherwise `y = d`.
pub(crate) fn mvn(cx: &Ctx<'_>) -> Result<Vec<Tensor>, FallbackError> {
    cx.expect_inputs(2, 2)?;
    let (x, shape) = cx.f32_input(0)?;
    let normalize = cx.node.attr_bool("normalize_variance")?;
    let eps = cx.node.attr_f64("eps")? as f32;
    let inside = match cx.node.attr_required("eps_mode")?.trim() {
        "inside_sqrt" => true,
        "outside_sqrt" => false,
        other => return Err(cx.err(format!("eps_mode \"{other}\" is not inside_sqrt or outside_sqrt"))),
    };
    let grp = Groups::new(cx, shape, &cx.int_input(1)?)?;
    let groups = grp.len();
    let divisor = x.len().checked_div(groups).unwrap_or(0) as f32;
    let mut y = cx.zeros(x.len())?;
    let gs = grp.offs.len();
    // Each group writes its own elements; collect per group, then scatter (groups may interleave).
    let per_group: Vec<Vec<f32>> = (0..groups)
        .into_par_iter()
        .with_min_len(16)
        .map(|o| {
            let base = grp.base(o);
            let mean = reduce_group(Reduce::Mean, &x, base, &grp.offs, divisor);
            let mut d: Vec<f32> = grp.offs.iter().map(|&off| x[base + off] - mean).collect();
            if normalize {
                let sq: Vec<f32> = d.iter().map(|&v| v * v).collect();
                let (mut s, mut c) = (0.0f32, 0.0f32);
                for &v in &sq {
                    kahan_step(&mut s, &mut c, v);
                }
                let v = s / divisor;
                let r = if inside { (v + eps).sqrt() } else { v.sqrt() + eps };
                for v in d.iter_mut() {
                    *v /= r;
                }
            }
            d
        })
        .collect();
    for (o, d) in per_group.iter().enumerate() {
        let base = grp.base(o);
        for (k, &off) in grp.offs.iter().enumerate().take(gs) {
            y[base + off] = d[k];
        }
    }
    Ok(vec![cx.f32_tensor(shape.to_vec(), y)?])
}

/// NormalizeL2-1 (FP32.md): per group of the reduced axes, `s` = Kahan sum of `x·x`; `add`:
/// `r = sqrt(s + eps)`, `max`: `r = sqrt(s < eps ? eps : s)`; `y = x / r`. With no axes,
/// `y = x == 0 ? 0 : 1`.
pub(crate) fn normalize_l2(cx: &Ctx<'_>) -> Result<Vec<Tensor>, FallbackError> {
    cx.expect_inputs(2, 2)?;
    let (x, shape) = cx.f32_input(0)?;
    let eps = cx.node.attr_f64("eps")? as f32;
    let add = match cx.node.attr_required("eps_mode")?.trim() {
        "add" => true,
        "max" => false,
        other => return Err(cx.err(format!("eps_mode \"{other}\" is not add or max"))),
    };
    let axes = cx.int_input(1)?;
    if axes.is_empty() {
        let y = x.iter().map(|&v| if v == 0.0 { 0.0 } else { 1.0 }).collect();
        return Ok(vec![cx.f32_tensor(shape.to_vec(), y)?]);
    }
    let grp = Groups::new(cx, shape, &axes)?;
    let mut y = cx.zeros(x.len())?;
    let rs: Vec<f32> = (0..grp.len())
        .into_par_iter()
        .with_min_len(16)
        .map(|o| {
            let base = grp.base(o);
            let (mut s, mut c) = (0.0f32, 0.0f32);
            for &off in &grp.offs {
                let v = x[base + off];
                kahan_step(&mut s, &mut c, v * v);
            }
            if add {
                (s + eps).sqrt()
            } else {
                (if s < eps { eps } else { s }).sqrt()
            }
        })
        .collect();
    for (o, &r) in rs.iter().enumerate() {
        let base = grp.base(o);
        for &off in &grp.offs {
            y[base + off] = x[base + off] / r;
        }
    }
    Ok(vec![cx.f32_tensor(shape.to_vec(), y)?])
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
