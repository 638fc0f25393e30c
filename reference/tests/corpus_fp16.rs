//! Every corpus case in `Mode::Fp16` against the same case in `Mode::Fp32`.
//!
//! 1. Every float value the FP16 run produces (every node output, not only the results) is
//!    exactly f16-representable.
//! 2. **Per node, re-anchored**: each node's FP16 output differs from its FP32 output by at most
//!    the bound of [`local_bound`], computed from the two runs' *actual* inputs of that node (so
//!    the check is local and holds on deep models too, where end-to-end differences cascade
//!    through FakeQuantize levels). Ops without a rule here (transcendentals, Interpolate,
//!    normalizations, recurrent ops) are counted as unchecked.
//! 3. End to end, max |Δ| relative to max |y_fp32| per output is reported (the figures of
//!    `reference/FP16.md`); it is bounded only trivially (finite, ≤ 1·max|y| — deep models cascade).
//!
//! Run with `--nocapture` for the tables.

mod corpus_support;

use conform_ir::{read_model, Model, Tensor, TensorData};
use corpus_support::{abs_tensor, cases, eval_with, inputs, manifest};
use half::f16;
use reference::broadcast::BroadcastIndex;
use reference::{run, Mode, RefError, RunOptions};
use std::collections::BTreeMap;

/// The first output of node `i` alone on `ins`, as f32.
fn eval_f32(model: &Model, i: usize, ins: &[Tensor]) -> Result<Vec<f32>, String> {
    eval_with(model, i, ins).map(|o| o[0].to_f32_vec())
}

fn is_f16_value(v: f32) -> bool {
    v.is_nan() || f16::from_f32(v).to_f32().to_bits() == v.to_bits()
}

#[test]
fn corpus_fp16_is_f16_and_within_local_bounds_of_fp32() {
    println!(
        "\n{:<42} {:>3} {:>12} {:>12} {:>12} {:>8} {:>9} {:>5}",
        "case", "out", "max|y32|", "max|Δ|", "rel", "checked", "unchecked", "viol"
    );
    let mut failures = Vec::new();
    let mut unchecked_types: BTreeMap<String, usize> = BTreeMap::new();
    let mut worst_ratio = 0.0f64;
    for dir in cases() {
        let name = dir.file_name().and_then(|s| s.to_str()).unwrap_or("?").to_string();
        let model = read_model(&dir.join("model.xml")).expect("model");
        let ins = inputs(&dir, &manifest(&dir));
        let opts = |mode| RunOptions { mode, max_memory: None, keep_values: true };
        let (r32, r16) = match (run(&model, &ins, &opts(Mode::Fp32)), run(&model, &ins, &opts(Mode::Fp16))) {
            (Ok(a), Ok(b)) => (a, b),
            (Err(RefError::UnsupportedOp { op_type, .. }), _) | (_, Err(RefError::UnsupportedOp { op_type, .. })) => {
                println!("{name}: waiting on {op_type}");
                continue;
            }
            (Err(e), _) | (_, Err(e)) => {
                failures.push(format!("{name}: {e}"));
                continue;
            }
        };
        let (vals32, vals16) = (r32.values.expect("kept"), r16.values.expect("kept"));
        let (mut checked, mut unchecked, mut violations) = (0usize, 0usize, 0usize);
        for &i in model.topo_order() {
            let node = model.node(i);
            if node.is_result() {
                continue;
            }
            for (o, t) in vals16[i].iter().enumerate() {
                let Some(t) = t else { continue };
                if let TensorData::F32(v) = &t.data {
                    if let Some(bad) = v.iter().find(|x| !is_f16_value(**x)) {
                        failures.push(format!("{name}: node {} output {o} holds {bad:e}, not an f16 value", node.name));
                    }
                }
            }
            if node.is_parameter() || node.is_const() {
                continue;
            }
            let srcs = model.sources_of(i);
            let x32: Option<Vec<&Tensor>> = srcs.iter().map(|&(s, o)| vals32[s][o].as_ref()).collect();
            let x16: Option<Vec<&Tensor>> = srcs.iter().map(|&(s, o)| vals16[s][o].as_ref()).collect();
            let (Some(x32), Some(x16), Some(Some(y32)), Some(Some(y16))) =
                (x32, x16, vals32[i].first(), vals16[i].first())
            else {
                continue;
            };
            if !y32.element_type.is_float() {
                continue;
            }
            let Some(bound) = local_bound(&model, i, &x32, &x16, y32, y16) else {
                unchecked += 1;
                *unchecked_types.entry(node.op_type.clone()).or_default() += 1;
                continue;
            };
            checked += 1;
            for (e, (a, b)) in y32.to_f32_vec().iter().zip(y16.to_f32_vec()).enumerate() {
                if a.is_nan() && b.is_nan() {
                    continue;
                }
                let d = (f64::from(*a) - f64::from(b)).abs();
                if bound[e] > 0.0 {
                    worst_ratio = worst_ratio.max(d / bound[e]);
                }
                // NaN in only one run, or beyond the bound.
                if d.is_nan() || d > bound[e] {
                    if violations < 3 {
                        println!(
                            "{name}: {} ({}) element {e}: fp32 {a:e} fp16 {b:e} |Δ| {d:e} > bound {:e}",
                            node.name, node.op_type, bound[e]
                        );
                    }
                    violations += 1;
                }
            }
        }
        if violations > 0 {
            failures.push(format!("{name}: {violations} elements outside their local bound"));
        }
        for (k, (a, b)) in r32.outputs.iter().zip(&r16.outputs).enumerate() {
            let (y32, y16) = (a.to_f32_vec(), b.to_f32_vec());
            let max_y = y32.iter().fold(0.0f64, |m, v| m.max(f64::from(v.abs())));
            let max_d = y32.iter().zip(&y16).fold(0.0f64, |m, (p, q)| m.max((f64::from(*p) - f64::from(*q)).abs()));
            let rel = if max_y > 0.0 { max_d / max_y } else { max_d };
            println!("{name:<42} {k:>3} {max_y:>12.4e} {max_d:>12.4e} {rel:>12.4e} {checked:>8} {unchecked:>9} {violations:>5}");
            if !rel.is_finite() || rel > 1.0 {
                failures.push(format!("{name} output {k}: relative error {rel:e} is not finite or exceeds 1"));
            }
        }
    }
    println!("unchecked node types: {unchecked_types:?}");
    println!("worst |Δ|/bound over checked elements: {worst_ratio:.4e}");
    for f in &failures {
        println!("FAIL: {f}");
    }
    assert!(failures.is_empty(), "{failures:?}");
}

const U32: f64 = 1.0 / 16_777_216.0; // 2^-24
const U16: f64 = 1.0 / 2048.0; // 2^-11, f16 unit roundoff
const HALF_F16_SUBNORMAL: f64 = 1.0 / 33_554_432.0; // 2^-25

fn gamma(k: f64) -> f64 {
    k * U32 / (1.0 - k * U32)
}

fn f32_bound_tensor(shape: &[usize], v: &[f64]) -> Tensor {
    // Rounded up so that the f32 copy of a bound is still a bound.
    let data = v.iter().map(|&b| (b * (1.0 + 4.0 * U32)) as f32).collect();
    Tensor::from_f32(shape.to_vec(), data).expect("shape")
}

/// K of a reduction (taps per output; AvgPool: Πkernel + 1 for the division).
fn reduction_length(model: &Model, i: usize, xin: &[&Tensor]) -> Option<f64> {
    let node = model.node(i);
    let s = |j: usize| xin.get(j).map(|t| t.shape.clone());
    let k: usize = match node.op_type.as_str() {
        "Convolution" => s(1)?[1..].iter().product(),
        "GroupConvolution" => s(1)?[2..].iter().product(),
        "ConvolutionBackpropData" => {
            let w = s(1)?;
            w[0] * w[2..].iter().product::<usize>()
        }
        "MatMul" => {
            let a = s(0)?;
            let ta = node.attr_bool_or("transpose_a", false).ok()?;
            match a.len() {
                0 => 1,
                1 => a[0],
                r if ta => a[r - 2],
                r => a[r - 1],
            }
        }
        "AvgPool" => node.attr_usize_list("kernel").ok()?.iter().product::<usize>() + 1,
        _ => return None,
    };
    Some(k as f64)
}

/// The bound of |y16 − y32| for node `i`, given both runs' actual inputs (re-anchored: the input
/// differences are measured, not propagated), or `None` when the op has no rule here.
///
/// Both runs compute in f32; the FP16 run's inputs are f16 values and its output is rounded to
/// f16 (`+ u16·|y16| + 2⁻²⁵`, the last term for f16 subnormals). Rules, with `D = |x16 − x32|` per input element:
/// - Add/Subtract: `(D_a + D_b)(1+u) + u|y32| + u16|y16|`; Multiply: `(|a16|D_b + |b32|D_a)(1+u) + …`;
/// - Relu, Clamp, Maximum, Minimum, MaxPool, Convert (float), data movement: 1-Lipschitz, `D` carried;
/// - reductions: `Σ(D_x|w16| + |x32|D_w) + γ_K(Σ|x16||w16| + Σ|x32||w32|) + u16|y16|` (each run's
///   own f32 summation error), sums evaluated by the op on absolute values, divided by `1 − γ_K`;
/// - FakeQuantize: with `reach = ((D_x + D_il)(L−1) + |t32|(D_il + D_ih))/w_min + 2ε_t` (`w_min`
///   the smaller possible range width, `ε_t` of SPEC §1.4), the level may move by the number `n` of
///   rounding boundaries `k + ½` within `t32 ± reach`: `n·step + 2D_ol + D_oh + 4u·R + u16|y16|`.
fn local_bound(
    model: &Model,
    i: usize,
    x32: &[&Tensor],
    x16: &[&Tensor],
    y32: &Tensor,
    y16: &Tensor,
) -> Option<Vec<f64>> {
    let node = model.node(i);
    let op = node.op_type.as_str();
    let diff = |j: usize| -> Vec<f64> {
        x32[j].to_f32_vec().iter().zip(x16[j].to_f32_vec()).map(|(a, b)| (f64::from(*a) - f64::from(b)).abs()).collect()
    };
    let (v32, v16) = (y32.to_f32_vec(), y16.to_f32_vec());
    // f16 rounding of the output: relative u16 for normal values, plus half the subnormal spacing
    // (2^-25) for results below the smallest normal f16 (6.1e-5).
    let round16: Vec<f64> = v16.iter().map(|v| U16 * f64::from(v.abs()) + HALF_F16_SUBNORMAL).collect();
    let carried = |d: Vec<f64>| -> Vec<f64> { d.iter().zip(&round16).map(|(a, b)| a + b).collect() };
    match op {
        "Relu" | "ReLU" | "Clamp" => Some(carried(diff(0))),
        // Float or integer source (integer inputs are the same in both runs, D = 0).
        "Convert" if y32.element_type.is_float() => Some(carried(diff(0))),
        "Reshape" | "Squeeze" | "Unsqueeze" | "Transpose" | "Concat" | "MaxPool" | "Gather" | "Slice" | "Pad" => {
            // Data inputs carry their difference through the op itself; index, shape and axis
            // inputs are the same in both runs. Pad's pad value (input 3) is data too.
            let is_data = |j: usize| match op {
                "Concat" => true,
                "Pad" => j == 0 || j == 3,
                _ => j == 0,
            };
            let ins: Vec<Tensor> = (0..x32.len())
                .map(|j| if is_data(j) { f32_bound_tensor(&x32[j].shape, &diff(j)) } else { x32[j].clone() })
                .collect();
            let moved = eval_f32(model, i, &ins).ok()?;
            Some(carried(moved.into_iter().map(|v| f64::from(v).max(0.0)).collect()))
        }
        // Lipschitz constants: σ' ≤ 1/4; HSwish' ∈ [−1/2, 3/2]. Each run's own f32 evaluation
        // (exp within 1 ulp, then one addition and one division; or three roundings for HSwish)
        // adds at most 4u·|y| per run.
        "Sigmoid" | "HSwish" => {
            let lip = if op == "Sigmoid" { 0.25 } else { 1.5 };
            Some(
                diff(0)
                    .iter()
                    .zip(v32.iter().zip(&v16))
                    .zip(&round16)
                    .map(|((d, (a, b)), r)| lip * d + 4.0 * U32 * f64::from(a.abs() + b.abs()) + r)
                    .collect(),
            )
        }
        // max(0, min(1, α·x + β)): |α16·x16 − α32·x32| ≤ |α16|D_x + |x32|D_α, plus D_β; each run's
        // two f32 roundings add u(2|α·x| + |β|).
        "HardSigmoid" => {
            let (x32v, x16v) = (x32[0].to_f32_vec(), x16[0].to_f32_vec());
            let a32 = f64::from(*x32[1].to_f32_vec().first()?);
            let a16 = f64::from(*x16[1].to_f32_vec().first()?);
            let b32 = f64::from(*x32[2].to_f32_vec().first()?);
            let b16 = f64::from(*x16[2].to_f32_vec().first()?);
            Some(
                (0..v32.len())
                    .map(|e| {
                        let (p, q) = (f64::from(x32v[e]), f64::from(x16v[e]));
                        let d = a16.abs() * (p - q).abs() + p.abs() * (a16 - a32).abs() + (b16 - b32).abs();
                        let r = U32 * (2.0 * a32.abs() * p.abs() + b32.abs())
                            + U32 * (2.0 * a16.abs() * q.abs() + b16.abs());
                        d + 2.0 * r + round16[e]
                    })
                    .collect(),
            )
        }
        "Add" | "Subtract" | "Multiply" | "Maximum" | "Minimum" => {
            let shape = &y32.shape;
            let ia = BroadcastIndex::new(&x32[0].shape, shape)?;
            let ib = BroadcastIndex::new(&x32[1].shape, shape)?;
            let (da, db) = (diff(0), diff(1));
            let (a16, b32) = (x16[0].to_f32_vec(), x32[1].to_f32_vec());
            Some(
                (0..v32.len())
                    .map(|e| {
                        let (pa, pb) = (ia.map(e), ib.map(e));
                        let d = match op {
                            "Maximum" | "Minimum" => return da[pa].max(db[pb]) + round16[e],
                            "Multiply" => f64::from(a16[pa].abs()) * db[pb] + f64::from(b32[pb].abs()) * da[pa],
                            _ => da[pa] + db[pb],
                        };
                        d * (1.0 + U32) + U32 * f64::from(v32[e].abs()) + round16[e]
                    })
                    .collect(),
            )
        }
        "Convolution" | "GroupConvolution" | "ConvolutionBackpropData" | "MatMul" | "AvgPool" => {
            let k = reduction_length(model, i, x32)?;
            let g = gamma(k);
            let n_data = if op == "AvgPool" { 1 } else { 2 };
            let with = |f: &dyn Fn(usize) -> Tensor| -> Vec<Tensor> {
                (0..x32.len()).map(|j| if j < n_data { f(j) } else { x32[j].clone() }).collect()
            };
            let abs32 = eval_f32(model, i, &with(&|j| abs_tensor(x32[j]))).ok()?;
            let abs16 = eval_f32(model, i, &with(&|j| abs_tensor(x16[j]))).ok()?;
            let dx = f32_bound_tensor(&x32[0].shape, &diff(0));
            let p1 = if n_data == 1 {
                eval_f32(model, i, &with(&|_| dx.clone())).ok()?
            } else {
                eval_f32(model, i, &with(&|j| if j == 0 { dx.clone() } else { abs_tensor(x16[1]) })).ok()?
            };
            let p2 = if n_data == 1 {
                vec![0.0; v32.len()]
            } else {
                let dw = f32_bound_tensor(&x32[1].shape, &diff(1));
                eval_f32(model, i, &with(&|j| if j == 0 { abs_tensor(x32[0]) } else { dw.clone() })).ok()?
            };
            let scale = (1.0 + U32) / (1.0 - g);
            Some(
                (0..v32.len())
                    .map(|e| {
                        let prop = (f64::from(p1[e]) + f64::from(p2[e])) * scale;
                        let sums = (f64::from(abs32[e]) + f64::from(abs16[e])) * scale;
                        prop + g * sums + round16[e]
                    })
                    .collect(),
            )
        }
        "FakeQuantize" => {
            let levels = node.attr_u64("levels").ok()?;
            let lm1 = (levels - 1) as f64;
            let shape = &x32[0].shape;
            let d: Vec<Vec<f64>> = (0..5).map(diff).collect();
            let idx: Vec<BroadcastIndex> =
                (0..5).map(|j| BroadcastIndex::new(&x32[j].shape, shape)).collect::<Option<_>>()?;
            let v: Vec<Vec<f32>> = (0..5).map(|j| x32[j].to_f32_vec()).collect();
            Some(
                (0..v32.len())
                    .map(|e| {
                        let g = |j: usize| (f64::from(v[j][idx[j].map(e)]), d[j][idx[j].map(e)]);
                        let ((x, dx), (il, dil), (ih, dih), (ol, dol), (oh, doh)) = (g(0), g(1), g(2), g(3), g(4));
                        let width = (ih - il).abs();
                        let w_min = width - dil - dih;
                        let r = ol.abs().max(oh.abs());
                        let tail = 2.0 * dol + doh + 4.0 * U32 * r + round16[e];
                        if w_min.is_nan() || w_min <= 0.0 {
                            // Degenerate ranges: anything within the output range.
                            return (oh - ol).abs() + tail;
                        }
                        let t = (x - il) / width * lm1;
                        let eps_t = 16.0 * U32 * (x.abs() + il.abs()) * lm1 / w_min + 8.0 * U32 * lm1;
                        let reach = ((dx + dil) * lm1 + t.abs() * (dil + dih)) / w_min + 2.0 * eps_t;
                        // Rounding boundaries k + ½ inside [t − reach, t + reach].
                        let n = ((t + reach - 0.5).floor() - (t - reach - 0.5).floor()).max(0.0);
                        n * (oh - ol).abs() / lm1 * (1.0 + 4.0 * U32) + tail
                    })
                    .collect(),
            )
        }
        _ => None,
    }
}
