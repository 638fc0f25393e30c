//! Softmax-1/8, ReduceMean/Sum/Max/Min/Prod-1, MVN-6, NormalizeL2-1, BatchNormInference-1/5, in f32 in the operation order of
//! OpenVINO's references (FP32.md):
//!
//! - `ov::reference::reduce_sum` (`reference/reduce_sum.hpp`) adds the reduced elements in
//!   row-major order with **Kahan compensation** (`details::kahan_summation`): while both the
//!   element and the running sum are finite, `t = sum + (x − c); c = (t − sum) − (x − c); sum = t`,
//!   otherwise `sum = x + sum`; `sum` and `c` start at 0.
//! - `reduce_mean` divides that sum by `static_cast<T>(in_elements / out_elements)`.
//! - `softmax` (`reference/softmax.hpp`): `m = reduce_max` (start at the lowest finite value,
//!   `m = std::max(m, x)`), `e = exp(x − m)`, `s = reduce_sum(e)` (Kahan as above), `y = e / s`.
//! - `reduce_max`/`reduce_min` start from the lowest/highest finite value and keep
//!   `std::max`/`std::min`; `reduce_prod` multiplies from 1, all in row-major order.
//! - `batch_norm_inference` (`reference/batch_norm.hpp`): `(x − mean) / sqrt(var + f32(eps)) ·
//!   gamma + beta`, each step rounded to f32.

use super::movement::data::{float_tensor, float_values, input, int_values, norm_axis};
use super::{OpCtx, OpResult};
use crate::error::{op_err, RefError};
use conform_ir::{Node, Tensor};

/// Evaluates the ops of this family; `None` for any other op type.
pub fn evaluate(ctx: &OpCtx<'_>) -> OpResult {
    let (node, inputs) = (ctx.node, ctx.inputs);
    let r = match (node.op_type.as_str(), node.version.as_str()) {
        ("SoftMax" | "Softmax", "opset1" | "opset8") => softmax(node, inputs),
        ("ReduceMean", "opset1") => reduce(node, inputs, Reduce::Mean),
        ("ReduceSum", "opset1") => reduce(node, inputs, Reduce::Sum),
        ("ReduceMax", "opset1") => reduce(node, inputs, Reduce::Max),
        ("ReduceMin", "opset1") => reduce(node, inputs, Reduce::Min),
        ("ReduceProd", "opset1") => reduce(node, inputs, Reduce::Prod),
        ("MVN", "opset6") => mvn6(node, inputs),
        ("NormalizeL2", "opset1") => normalize_l2(node, inputs),
        ("BatchNormInference", "opset1") => batch_norm(node, inputs, [2, 0, 1, 3, 4]),
        ("BatchNormInference", "opset5") => batch_norm(node, inputs, [0, 1, 2, 3, 4]),
        _ => return None,
    };
    Some(r.map(|t| vec![t]))
}

/// One step of OpenVINO's Kahan summation: returns the new sum, updating the compensation.
pub fn kahan_add(sum: f32, x: f32, comp: &mut f32) -> f32 {
    if x.is_finite() && sum.is_finite() {
        let y = x - *comp;
        let t = sum + y;
        *comp = (t - sum) - y;
        t
    } else {
        x + sum
    }
}

/// The reduction geometry of a set of axes over a shape: for each output element (the shape with
/// the reduced axes set to 1, row-major), the flat input positions it reduces, in row-major order.
struct Reduction {
    out_shape_keep: Vec<usize>,
    /// `groups[o]` = input positions of output `o`.
    groups: Vec<Vec<usize>>,
}

fn reduction(shape: &[usize], reduced: &[bool]) -> Reduction {
    let out_shape_keep: Vec<usize> = shape.iter().zip(reduced).map(|(&d, &r)| if r { 1 } else { d }).collect();
    let out_count: usize = out_shape_keep.iter().product();
    let mut groups = vec![Vec::new(); out_count];
    let total: usize = shape.iter().product();
    let rank = shape.len();
    let mut coord = vec![0usize; rank];
    for flat in 0..total {
        let mut o = 0;
        for ax in 0..rank {
            let c = if reduced[ax] { 0 } else { coord[ax] };
            o = o * out_shape_keep[ax] + c;
        }
        groups[o].push(flat);
        for ax in (0..rank).rev() {
            coord[ax] += 1;
            if coord[ax] < shape[ax] {
                break;
            }
            coord[ax] = 0;
        }
    }
    Reduction { out_shape_keep, groups }
}

/// Softmax along one axis (opset1: non-negative `axis`; opset8: negative counts from the end).
fn softmax(node: &Node, inputs: &[&Tensor]) -> Result<Tensor, RefError> {
    let x_t = input(node, inputs, 0)?;
    let x = float_values(node, x_t, "Softmax input")?;
    let axis = norm_axis(node, node.attr_i64("axis")?, x_t.shape.len())?;
    let mut reduced = vec![false; x_t.shape.len()];
    reduced[axis] = true;
    let red = reduction(&x_t.shape, &reduced);
    let mut y = vec![0f32; x.len()];
    for group in &red.groups {
        let mut m = f32::MIN;
        for &i in group {
            // std::max(m, x): keeps m unless m < x.
            if m < x[i] {
                m = x[i];
            }
        }
        for &i in group {
            y[i] = (x[i] - m).exp();
        }
        let (mut s, mut c) = (0f32, 0f32);
        for &i in group {
            s = kahan_add(s, y[i], &mut c);
        }
        for &i in group {
            y[i] /= s;
        }
    }
    float_tensor(node, x_t.element_type, x_t.shape.clone(), y)
}

/// The reductions of opset1 this module implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reduce {
    /// Kahan sum / count.
    Mean,
    /// Kahan sum (`reduce_sum.hpp`).
    Sum,
    /// `m = lowest; m = std::max(m, x)` (`reduce_max.hpp`).
    Max,
    /// `m = max; m = std::min(m, x)` (`reduce_min.hpp`).
    Min,
    /// `p = 1; p = p·x` (`reduce_prod.hpp`).
    Prod,
}

/// Reduces one group of elements (row-major order) as OpenVINO's reference for `kind` does.
fn reduce_group(kind: Reduce, x: &[f32], group: &[usize], count: f32) -> f32 {
    match kind {
        Reduce::Mean | Reduce::Sum => {
            let (mut s, mut c) = (0f32, 0f32);
            for &i in group {
                s = kahan_add(s, x[i], &mut c);
            }
            if kind == Reduce::Mean {
                s / count
            } else {
                s
            }
        }
        Reduce::Max => group.iter().fold(f32::MIN, |m, &i| if m < x[i] { x[i] } else { m }),
        Reduce::Min => group.iter().fold(f32::MAX, |m, &i| if x[i] < m { x[i] } else { m }),
        Reduce::Prod => group.iter().fold(1f32, |p, &i| p * x[i]),
    }
}

/// The set of reduced axes from an axes input (negative count from the end, repeats ignored).
fn reduced_axes(node: &Node, axes_t: &Tensor, rank: usize, what: &str) -> Result<Vec<bool>, RefError> {
    let mut reduced = vec![false; rank];
    for &a in &int_values(node, axes_t, what)? {
        reduced[norm_axis(node, a, rank)?] = true;
    }
    Ok(reduced)
}

/// ReduceMean/Sum/Max/Min/Prod-1 over the axes of input 1; `keep_dims` keeps them as size 1.
fn reduce(node: &Node, inputs: &[&Tensor], kind: Reduce) -> Result<Tensor, RefError> {
    let x_t = input(node, inputs, 0)?;
    let x = float_values(node, x_t, "reduction input")?;
    let keep_dims = node.attr_bool_or("keep_dims", false)?;
    let reduced = reduced_axes(node, input(node, inputs, 1)?, x_t.shape.len(), "reduction axes")?;
    let red = reduction(&x_t.shape, &reduced);
    // count = static_cast<float>(in_elements / out_elements) (integer division first).
    let count = x.len().checked_div(red.groups.len()).unwrap_or(0) as f32;
    let y: Vec<f32> = red.groups.iter().map(|g| reduce_group(kind, &x, g, count)).collect();
    let out_shape = if keep_dims {
        red.out_shape_keep
    } else {
        x_t.shape.iter().zip(&reduced).filter(|(_, &r)| !r).map(|(&d, _)| d).collect()
    };
    float_tensor(node, x_t.element_type, out_shape, y)
}

/// MVN-6 (`reference/mvn.hpp`, `mvn_6`): `d = x − mean(x)`; with `normalize_variance`,
/// `v = mean(d·d)`, then `inside_sqrt`: `r = sqrt(v + f32(eps))`, `outside_sqrt`:
/// `r = sqrt(v) + f32(eps)`, and `y = d / r`. Means as ReduceMean (Kahan sum / count).
fn mvn6(node: &Node, inputs: &[&Tensor]) -> Result<Tensor, RefError> {
    let x_t = input(node, inputs, 0)?;
    let x = float_values(node, x_t, "MVN input")?;
    let reduced = reduced_axes(node, input(node, inputs, 1)?, x_t.shape.len(), "MVN axes")?;
    let normalize_variance = node.attr_bool("normalize_variance")?;
    let eps = node.attr_f64("eps")? as f32;
    let inside = match node.attr_required("eps_mode")?.trim() {
        "inside_sqrt" => true,
        "outside_sqrt" => false,
        other => return Err(op_err(node, format!("MVN: unknown eps_mode \"{other}\""))),
    };
    let red = reduction(&x_t.shape, &reduced);
    let count = x.len().checked_div(red.groups.len()).unwrap_or(0) as f32;
    let mut y = vec![0f32; x.len()];
    for g in &red.groups {
        let mean = reduce_group(Reduce::Mean, &x, g, count);
        for &i in g {
            y[i] = x[i] - mean;
        }
        if normalize_variance {
            let sq: Vec<f32> = g.iter().map(|&i| y[i] * y[i]).collect();
            let all: Vec<usize> = (0..sq.len()).collect();
            let v = reduce_group(Reduce::Mean, &sq, &all, count);
            let r = if inside { (v + eps).sqrt() } else { v.sqrt() + eps };
            for &i in g {
                y[i] /= r;
            }
        }
    }
    float_tensor(node, x_t.element_type, x_t.shape.clone(), y)
}

/// NormalizeL2-1 (`reference/normalize_l2.hpp`): `s` = Kahan sum of `x·x` over the axes;
/// `y = x / sqrt(s + f32(eps))` (`eps_mode=add`) or `x / sqrt(max(s, f32(eps)))` (`max`, as
/// `std::max(s, eps)`); with no axes, `y = (x == 0) ? 0 : 1`.
fn normalize_l2(node: &Node, inputs: &[&Tensor]) -> Result<Tensor, RefError> {
    let x_t = input(node, inputs, 0)?;
    let x = float_values(node, x_t, "NormalizeL2 input")?;
    let reduced = reduced_axes(node, input(node, inputs, 1)?, x_t.shape.len(), "NormalizeL2 axes")?;
    let eps = node.attr_f64("eps")? as f32;
    let add = match node.attr_required("eps_mode")?.trim() {
        "add" => true,
        "max" => false,
        other => return Err(op_err(node, format!("NormalizeL2: unknown eps_mode \"{other}\""))),
    };
    let mut y = vec![0f32; x.len()];
    if !reduced.contains(&true) {
        for (o, &v) in y.iter_mut().zip(&x) {
            *o = if v == 0.0 { 0.0 } else { 1.0 };
        }
        return float_tensor(node, x_t.element_type, x_t.shape.clone(), y);
    }
    let sq: Vec<f32> = x.iter().map(|&v| v * v).collect();
    for g in &reduction(&x_t.shape, &reduced).groups {
        let s = reduce_group(Reduce::Sum, &sq, g, 1.0);
        let arg = if add {
            s + eps
        } else if s < eps {
            eps
        } else {
            s
        };
        let r = arg.sqrt();
        for &i in g {
            y[i] = x[i] / r;
        }
    }
    float_tensor(node, x_t.element_type, x_t.shape.clone(), y)
}

/// BatchNormInference; `ports` maps (data, gamma, beta, mean, variance) to input ports: version 1
/// takes (gamma, beta, data, mean, variance) — `ov::op::v0::BatchNormInference` builds
/// `Op({gamma, beta, input, mean, variance})` — and version 5 (data, gamma, beta, mean, variance).
fn batch_norm(node: &Node, inputs: &[&Tensor], ports: [usize; 5]) -> Result<Tensor, RefError> {
    let x_t = input(node, inputs, ports[0])?;
    let x = float_values(node, x_t, "BatchNormInference data")?;
    let names = ["gamma", "beta", "mean", "variance"];
    let mut per_channel = Vec::with_capacity(4);
    if x_t.shape.len() < 2 {
        return Err(op_err(node, format!("BatchNormInference: data rank {} is below 2", x_t.shape.len())));
    }
    let channels = x_t.shape[1];
    for (k, name) in names.iter().enumerate() {
        let t = input(node, inputs, ports[k + 1])?;
        let v = float_values(node, t, name)?;
        if v.len() != channels {
            return Err(op_err(
                node,
                format!("BatchNormInference: {name} has {} values for {channels} channels", v.len()),
            ));
        }
        per_channel.push(v);
    }
    let eps = node.attr_f64("epsilon")? as f32;
    let inner: usize = x_t.shape[2..].iter().product();
    let y: Vec<f32> = x
        .iter()
        .enumerate()
        .map(|(i, &xv)| {
            let c = i.checked_div(inner).unwrap_or(0) % channels;
            let (gamma, beta, mean, var) = (per_channel[0][c], per_channel[1][c], per_channel[2][c], per_channel[3][c]);
            let d = xv - mean;
            let r = (var + eps).sqrt();
            let n = d / r;
            let g = n * gamma;
            g + beta
        })
        .collect();
    float_tensor(node, x_t.element_type, x_t.shape.clone(), y)
}
