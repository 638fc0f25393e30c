//! Every corpus case in `Mode::Fp32` against OpenVINO's fallback outputs (`fallback_f32_K.npy`).
//!
//! The expected values come from OpenVINO: its `ov::reference` code for the ops listed in each
//! manifest's `fallback.ov_reference_op_types`, and numpy with f64 accumulation rounded to f32 for
//! `fallback.numpy_f64_op_types` (Convolution, GroupConvolution, AvgPool, ...).
//!
//! **Synthetic cases** are checked per element against a bound propagated through the graph from
//! our own run's values (`|ours − OpenVINO| ≤ B`):
//! - Parameter, Const: `B = 0`; an op of `ov_reference_op_types` whose inputs all have `B = 0`
//!   must be **bit-exact** (`B = 0`: element-wise, FakeQuantize, MaxPool, data movement);
//! - reductions (Convolution, GroupConvolution, ConvolutionBackpropData, MatMul, AvgPool):
//!   `B = γ_K·Σ|x||w| + Σ(B_x|w| + |x|B_w + B_xB_w) + u·|y|` for an f64-computed fallback
//!   (`+ K·2⁻⁵²·Σ|x||w|` for numpy's own f64 sum), `2γ_K·Σ|x||w| + …` for an f32 `ov::reference`
//!   one, with `γ_K = K·u/(1−K·u)`, `u = 2⁻²⁴`; the sums are evaluated by the op itself on
//!   absolute values (and divided by `1 − γ_K`, which bounds their own rounding);
//! - Add/Subtract: `(B_a + B_b)(1+u) + u|y|`; Multiply: `(|a|B_b + |b|B_a + B_aB_b)(1+u) + u|y|`;
//!   Divide, BatchNormInference, Swish, ReduceMean, Softmax: Lipschitz constant times the input
//!   bound plus both sides' roundings (each rule is commented where it is computed);
//!   Relu, Clamp, Maximum, Minimum, MaxPool, Convert (f32) and data movement are 1-Lipschitz:
//!   the input bound is carried (moved by the op itself for data movement);
//! - FakeQuantize with `B_x > 0`: SPEC §0.4 flip rule — an element may change by one level only if
//!   its pre-round `t` satisfies `|t − (⌊t⌋ + ½)| ≤ B_x·(L−1)/|ih−il| + ε_t`, with SPEC §1.4's
//!   `ε_t = 16u(|x|+|il|)(L−1)/|ih−il| + 8u(L−1)`; those elements get `B = step + 4u·R`, the
//!   others `B = 0`. The number of such flip candidates is reported ("cand"), and the actual flips
//!   ("flips": FakeQuantize elements, on any FakeQuantize node, that differ from OpenVINO's — known
//!   exactly because the generator emulation below reproduces OpenVINO's fallback bit for bit) are
//!   counted; each must be a candidate within its bound.
//!
//! **Deep real models** (`ppocrv4_det*`, `mp_face_detection_short*`, `silero_vad_16k*`) and any case
//! with an op that has no bound rule here: max |Δ| per output is reported and must not exceed
//! OpenVINO's own CPU fp32 execution's distance to the same fallback
//! (`cpu_nolpt.diff_vs_fallback[k].max_abs`), where the manifest has that figure — unless the
//! excess is proven to be the summation order: the same graph run with the fallback's f64
//! accumulation emulated (see `corpus_generator_emulation_reproduces_the_fallback`) reproduces that
//! output bit for bit. Such outputs are listed as "explained".
//!
//! A case that stops on `UnsupportedOp` for an op another engineer owns is reported as waiting;
//! one that stops on an op of this file's owner (element-wise, FakeQuantize, convolutions,
//! MatMul, pooling) fails the test. Run with `--nocapture` for the table.

mod corpus_support;

use conform_ir::{npy::read_npy, read_model, Model, Tensor};
use corpus_support::{abs_tensor, eval_with};
use corpus_support::{cases, inputs, manifest};
use reference::broadcast::BroadcastIndex;
use reference::fq::pre_round;
use reference::ops::{evaluate, OpCtx};
use reference::{run, Mode, RefError, RunOptions};
use serde_json::Value;
use std::path::Path;

const U: f64 = 1.0 / 16_777_216.0; // 2^-24

/// Op types implemented by this test's owner: an `UnsupportedOp` on one of them is a failure.
const MY_OPS: &[&str] = &[
    "Add",
    "Subtract",
    "Multiply",
    "Divide",
    "Maximum",
    "Minimum",
    "Power",
    "Sqrt",
    "Relu",
    "ReLU",
    "Clamp",
    "Sigmoid",
    "Swish",
    "HSwish",
    "HardSigmoid",
    "FakeQuantize",
    "Convolution",
    "GroupConvolution",
    "ConvolutionBackpropData",
    "MatMul",
    "MaxPool",
    "AvgPool",
];

const DEEP: &[&str] = &["ppocrv4_det", "mp_face_detection_short", "silero_vad_16k"];

/// `k`-th expected fallback output.
pub fn fallback(dir: &Path, k: usize) -> Vec<f32> {
    read_npy(&dir.join(format!("fallback_f32_{k}.npy"))).expect("fallback npy").to_f32_vec()
}

/// Distance in units in the last place between two finite f32 (monotone integer mapping).
pub fn ulp_distance(a: f32, b: f32) -> u64 {
    let key = |x: f32| {
        let i = x.to_bits() as i32;
        if i < 0 {
            i64::from(i32::MIN) - i64::from(i)
        } else {
            i64::from(i)
        }
    };
    (key(a) - key(b)).unsigned_abs()
}

/// C++ class names used in the manifests for op types the IR spells differently.
fn manifest_name(op: &str) -> &str {
    match op {
        "ReLU" => "Relu",
        "SoftMax" => "Softmax",
        other => other,
    }
}

fn f32_tensor(shape: &[usize], v: &[f64]) -> Tensor {
    // Rounded up so that the f32 copy of a bound is still a bound.
    let data = v.iter().map(|&b| (b * (1.0 + 4.0 * U)) as f32).collect();
    Tensor::from_f32(shape.to_vec(), data).expect("shape")
}

fn gamma(k: f64) -> f64 {
    k * U / (1.0 - k * U)
}

/// Per-element bound of |ours − OpenVINO| for each node output, or the op that has no rule.
struct Bounds {
    b: Vec<Vec<Option<Vec<f64>>>>,
    flip_candidates: usize,
}

fn propagate(model: &Model, values: &[Vec<Option<Tensor>>], m: &Value) -> Result<Bounds, String> {
    let list = |key: &str| -> Vec<String> {
        m["fallback"][key]
            .as_array()
            .map(|a| a.iter().filter_map(|v| v.as_str().map(String::from)).collect())
            .unwrap_or_default()
    };
    let ov_ref = list("ov_reference_op_types");
    let f64_ops = list("numpy_f64_op_types");
    let mut b: Vec<Vec<Option<Vec<f64>>>> = model.nodes().iter().map(|n| vec![None; n.outputs.len()]).collect();
    let mut flip_candidates = 0;
    for &i in model.topo_order() {
        let node = model.node(i);
        if node.is_result() {
            continue;
        }
        let outs: Vec<&Tensor> =
            values[i].iter().map(|v| v.as_ref().ok_or("value not kept")).collect::<Result<_, _>>()?;
        if node.is_parameter() || node.is_const() {
            b[i][0] = Some(vec![0.0; outs[0].len()]);
            continue;
        }
        let srcs = model.sources_of(i);
        let xin: Vec<&Tensor> =
            srcs.iter().map(|&(s, o)| values[s][o].as_ref().ok_or("input not kept")).collect::<Result<_, _>>()?;
        let bin: Vec<&Vec<f64>> =
            srcs.iter().map(|&(s, o)| b[s][o].as_ref().ok_or("input bound missing")).collect::<Result<_, _>>()?;
        let exact_in = bin.iter().all(|v| v.iter().all(|&x| x == 0.0));
        let op = node.op_type.as_str();
        let name = manifest_name(op);
        let y = outs[0].to_f32_vec();
        let zero_all = |b: &mut Vec<Vec<Option<Vec<f64>>>>| {
            for (o, t) in outs.iter().enumerate() {
                b[i][o] = Some(vec![0.0; t.len()]);
            }
        };
        let reduction =
            matches!(op, "Convolution" | "GroupConvolution" | "ConvolutionBackpropData" | "MatMul" | "AvgPool");
        if reduction {
            let in_f64 = f64_ops.iter().any(|t| t == name);
            let in_ref = ov_ref.iter().any(|t| t == name);
            if !in_f64 && !in_ref {
                return Err(format!("{op}: not listed in the manifest's fallback op types"));
            }
            let k = reduction_length(model, i, &xin)? as f64;
            let g = gamma(k);
            // Σ|x||w| (or Σ|x|/count for AvgPool) evaluated by the op on absolute values.
            let n_data = if op == "AvgPool" { 1 } else { 2 };
            let mut abs_ins: Vec<Tensor> = xin.iter().map(|t| (*t).clone()).collect();
            for t in abs_ins.iter_mut().take(n_data) {
                *t = abs_tensor(t);
            }
            let s_abs = eval_with(model, i, &abs_ins)?[0].to_f32_vec();
            // Σ(B_x|w| + |x|B_w + B_xB_w) for inexact inputs.
            let mut s_prop = vec![0.0f64; y.len()];
            if !exact_in {
                let bt: Vec<Tensor> = (0..n_data).map(|j| f32_tensor(&xin[j].shape, bin[j])).collect();
                let combos: Vec<Vec<Tensor>> = if n_data == 1 {
                    vec![vec![bt[0].clone()]]
                } else {
                    vec![
                        vec![bt[0].clone(), abs_ins[1].clone()],
                        vec![abs_ins[0].clone(), bt[1].clone()],
                        vec![bt[0].clone(), bt[1].clone()],
                    ]
                };
                for mut c in combos {
                    c.extend(abs_ins.iter().skip(n_data).cloned());
                    let s = eval_with(model, i, &c)?[0].to_f32_vec();
                    for (acc, v) in s_prop.iter_mut().zip(s) {
                        *acc += f64::from(v);
                    }
                }
            }
            let scale = (1.0 + U) / (1.0 - g);
            let bound: Vec<f64> = (0..y.len())
                .map(|e| {
                    let sa = f64::from(s_abs[e]) * scale;
                    let sp = s_prop[e] * scale;
                    if in_f64 {
                        g * sa + sp + U * f64::from(y[e].abs()) + k * 2f64.powi(-52) * sa
                    } else {
                        2.0 * g * sa + sp
                    }
                })
                .collect();
            b[i][0] = Some(bound);
            continue;
        }
        if exact_in && ov_ref.iter().any(|t| t == name) {
            // OpenVINO's f32 reference on identical inputs: we claim bit-exactness.
            zero_all(&mut b);
            continue;
        }
        match op {
            "Convert" if xin[0].element_type.is_float() && outs[0].element_type == conform_ir::ElementType::F32 => {
                b[i][0] = Some(bin[0].clone());
            }
            "Relu" | "ReLU" | "Clamp" => b[i][0] = Some(bin[0].clone()),
            "Reshape" | "Squeeze" | "Unsqueeze" | "Transpose" | "Concat" => {
                let n_data = if op == "Concat" { xin.len() } else { 1 };
                let ins: Vec<Tensor> = (0..xin.len())
                    .map(|j| if j < n_data { f32_tensor(&xin[j].shape, bin[j]) } else { xin[j].clone() })
                    .collect();
                let moved = eval_with(model, i, &ins)?;
                b[i][0] = Some(moved[0].to_f32_vec().into_iter().map(f64::from).collect());
            }
            "MaxPool" => {
                let moved = eval_with(model, i, &[f32_tensor(&xin[0].shape, bin[0])])?;
                b[i][0] = Some(moved[0].to_f32_vec().into_iter().map(|v| f64::from(v).max(0.0)).collect());
                if outs.len() > 1 {
                    b[i][1] = Some(vec![f64::INFINITY; outs[1].len()]);
                }
            }
            "Add" | "Subtract" | "Multiply" | "Maximum" | "Minimum" => {
                let shape = &outs[0].shape;
                let ia = BroadcastIndex::new(&xin[0].shape, shape).ok_or("broadcast")?;
                let ib = BroadcastIndex::new(&xin[1].shape, shape).ok_or("broadcast")?;
                let (va, vb) = (xin[0].to_f32_vec(), xin[1].to_f32_vec());
                let bound = (0..y.len())
                    .map(|e| {
                        let (ba, bb) = (bin[0][ia.map(e)], bin[1][ib.map(e)]);
                        let (a, c) = (f64::from(va[ia.map(e)].abs()), f64::from(vb[ib.map(e)].abs()));
                        let ye = f64::from(y[e].abs());
                        match op {
                            "Maximum" | "Minimum" => ba.max(bb),
                            "Multiply" => (a * bb + c * ba + ba * bb) * (1.0 + U) + U * ye,
                            _ => (ba + bb) * (1.0 + U) + U * ye,
                        }
                    })
                    .collect();
                b[i][0] = Some(bound);
            }
            "FakeQuantize" => {
                if bin[1..].iter().any(|v| v.iter().any(|&x| x != 0.0)) {
                    return Err("FakeQuantize with inexact ranges".into());
                }
                let levels = node.attr_u64("levels").map_err(|e| e.to_string())?;
                let lm1 = (levels - 1) as f64;
                let shape = &xin[0].shape;
                let x = xin[0].to_f32_vec();
                let r: Vec<(Vec<f32>, BroadcastIndex)> = (1..5)
                    .map(|j| Ok((xin[j].to_f32_vec(), BroadcastIndex::new(&xin[j].shape, shape).ok_or("broadcast")?)))
                    .collect::<Result<_, String>>()?;
                let mut bound = vec![0.0; x.len()];
                for e in 0..x.len() {
                    if bin[0][e] == 0.0 {
                        continue;
                    }
                    let g = |j: usize| r[j].0[r[j].1.map(e)];
                    let (il, ih, ol, oh) = (g(0), g(1), g(2), g(3));
                    let width = f64::from((ih - il).abs());
                    let t = f64::from(pre_round(x[e], il, ih, levels));
                    let eps_t = 16.0 * U * f64::from(x[e].abs() + il.abs()) * lm1 / width + 8.0 * U * lm1;
                    let reach = bin[0][e] * lm1 / width + eps_t;
                    if (t - (t.floor() + 0.5)).abs() <= reach {
                        flip_candidates += 1;
                        let step = f64::from((oh - ol).abs()) / lm1;
                        bound[e] = step + 4.0 * U * f64::from(ol.abs().max(oh.abs()));
                    }
                }
                b[i][0] = Some(bound);
            }
            "Slice" => {
                let ins: Vec<Tensor> = (0..xin.len())
                    .map(|j| if j == 0 { f32_tensor(&xin[0].shape, bin[0]) } else { xin[j].clone() })
                    .collect();
                b[i][0] = Some(eval_with(model, i, &ins)?[0].to_f32_vec().into_iter().map(f64::from).collect());
            }
            "BatchNormInference" => {
                // y = (x − mean)/sqrt(var + ε)·γ + β: Lipschitz |γ|/sqrt(var + ε) in x; our six f32
                // roundings add ≤ 6u·|(x − mean)·γ/sqrt(var + ε)| + u|y|, OpenVINO's f64 result
                // rounded once adds u|y|. Channel axis 1; parameters are constants (B = 0).
                if bin[1..].iter().any(|v| v.iter().any(|&x| x != 0.0)) {
                    return Err("BatchNormInference with inexact parameters".into());
                }
                let eps = node.attr_f64("epsilon").map_err(|e| e.to_string())?;
                let x = xin[0].to_f32_vec();
                let p: Vec<Vec<f32>> = xin[1..].iter().map(|t| t.to_f32_vec()).collect();
                let (c, inner) = (xin[0].shape[1], xin[0].shape[2..].iter().product::<usize>());
                let bound = (0..y.len())
                    .map(|e| {
                        let ch = (e / inner) % c;
                        let (g, mean, var) = (f64::from(p[0][ch]), f64::from(p[2][ch]), f64::from(p[3][ch]));
                        let scale = g.abs() / (var + eps).sqrt();
                        scale * bin[0][e] * (1.0 + 8.0 * U)
                            + 6.0 * U * scale * (f64::from(x[e]) - mean).abs()
                            + 2.0 * U * f64::from(y[e].abs())
                    })
                    .collect();
                b[i][0] = Some(bound);
            }
            "Swish" => {
                // d/dx x·σ(βx) = σ(z) + zσ(z)(1 − σ(z)) ∈ [−0.1, 1.1] (z = βx): Lipschitz 1.1. Each
                // run's evaluation: e = exp(−x·β) within 2u + u|βx| relative (rounded product, expf
                // within one ulp), the f64 division exact enough, one rounding: per run
                // |y|·(e/(1+e))·(2u + u|βx|) + u|y|.
                let beta = xin.get(1).and_then(|t| t.to_f32_vec().first().copied()).map(f64::from).unwrap_or(1.0);
                let x = xin[0].to_f32_vec();
                let bound = (0..y.len())
                    .map(|e| {
                        let z = beta * f64::from(x[e]);
                        let ex = (-z).exp();
                        let ye = f64::from(y[e].abs());
                        1.1 * bin[0][e] * (1.0 + U) + 2.0 * (ye * ex / (1.0 + ex) * (2.0 * U + U * z.abs()) + U * ye)
                    })
                    .collect();
                b[i][0] = Some(bound);
            }
            "Divide" => {
                // |a'/b' − a/b| ≤ (B_a + |y'|·B_b)/(|b'| − B_b), plus both runs' roundings.
                let shape = &outs[0].shape;
                let ia = BroadcastIndex::new(&xin[0].shape, shape).ok_or("broadcast")?;
                let ib = BroadcastIndex::new(&xin[1].shape, shape).ok_or("broadcast")?;
                let vb = xin[1].to_f32_vec();
                let mut bound = Vec::with_capacity(y.len());
                for e in 0..y.len() {
                    let (ba, bb) = (bin[0][ia.map(e)], bin[1][ib.map(e)]);
                    let den = f64::from(vb[ib.map(e)].abs()) - bb;
                    if den <= 0.0 {
                        return Err("Divide by a value within its bound of 0".into());
                    }
                    let ye = f64::from(y[e].abs());
                    bound.push((ba + ye * bb) / den * (1.0 + 2.0 * U) + 2.0 * U * ye);
                }
                b[i][0] = Some(bound);
            }
            "ReduceMean" => {
                // mean of the input bounds (the op itself on B) + both runs' summation errors,
                // γ_n·mean|x| each (n reduced elements), + u|y| each for the division.
                let n = (xin[0].len() / y.len().max(1)) as f64;
                let mut ins_b: Vec<Tensor> = xin.iter().map(|t| (*t).clone()).collect();
                ins_b[0] = f32_tensor(&xin[0].shape, bin[0]);
                let mb = eval_with(model, i, &ins_b)?[0].to_f32_vec();
                let mut ins_a: Vec<Tensor> = xin.iter().map(|t| (*t).clone()).collect();
                ins_a[0] = abs_tensor(xin[0]);
                let ma = eval_with(model, i, &ins_a)?[0].to_f32_vec();
                let g = gamma(n + 1.0);
                let bound = (0..y.len())
                    .map(|e| {
                        f64::from(mb[e]) * (1.0 + g)
                            + 2.0 * g * f64::from(ma[e]) * (1.0 + g)
                            + 2.0 * U * f64::from(y[e].abs())
                    })
                    .collect();
                b[i][0] = Some(bound);
            }
            "Softmax" | "SoftMax" => {
                // y_i = exp(x_i − m)/Σ: with |Δx| ≤ B_max along the axis, |Δy_i| ≤ y_i(e^{2B_max} − 1)
                // exactly; each run's f32 evaluation is within y_i·(4u + 2u·range + γ_n) (exp of a
                // rounded difference, the sum, the division; range = max|x − m| on the axis).
                let rank = xin[0].shape.len() as i64;
                let axis: i64 = node.attr_parse_or("axis", 1, "an integer").map_err(|e| e.to_string())?;
                let axis = usize::try_from(if axis < 0 { axis + rank } else { axis }).map_err(|_| "axis")?;
                let shape = &xin[0].shape;
                let (len, inner) = (shape[axis], shape[axis + 1..].iter().product::<usize>());
                let x = xin[0].to_f32_vec();
                let g = gamma(len as f64);
                let mut bound = vec![0.0; y.len()];
                for outer in 0..(x.len() / (len * inner).max(1)) {
                    for k in 0..inner {
                        let idx = |a: usize| (outer * len + a) * inner + k;
                        let bmax = (0..len).map(|a| bin[0][idx(a)]).fold(0.0f64, f64::max);
                        let m = (0..len).map(|a| f64::from(x[idx(a)])).fold(f64::NEG_INFINITY, f64::max);
                        let range = (0..len).map(|a| (f64::from(x[idx(a)]) - m).abs()).fold(0.0f64, f64::max);
                        for a in 0..len {
                            let ye = f64::from(y[idx(a)].abs());
                            bound[idx(a)] =
                                ye * ((2.0 * bmax).exp_m1() + 2.0 * (4.0 * U + 2.0 * U * range + g)) * (1.0 + 4.0 * U);
                        }
                    }
                }
                b[i][0] = Some(bound);
            }
            other => return Err(format!("no bound rule for {other} with inexact inputs")),
        }
    }
    Ok(Bounds { b, flip_candidates })
}

/// K of the summation-order bound: taps per output (Convolution: C/groups·Πk; MatMul: the inner
/// dimension; AvgPool: Πkernel + 1 for the division).
fn reduction_length(model: &Model, i: usize, xin: &[&Tensor]) -> Result<usize, String> {
    let node = model.node(i);
    let w = |j: usize| xin.get(j).map(|t| t.shape.clone()).ok_or("missing input");
    Ok(match node.op_type.as_str() {
        "Convolution" => w(1)?[1..].iter().product(),
        "GroupConvolution" => w(1)?[2..].iter().product(),
        "ConvolutionBackpropData" => {
            let s = w(1)?;
            s[0] * s[2..].iter().product::<usize>()
        }
        "MatMul" => {
            let a = w(0)?;
            let ta = node.attr_bool_or("transpose_a", false).map_err(|e| e.to_string())?;
            match a.len() {
                0 => 1,
                1 => a[0],
                r => {
                    if ta {
                        a[r - 2]
                    } else {
                        a[r - 1]
                    }
                }
            }
        }
        "AvgPool" => node.attr_usize_list("kernel").map_err(|e| e.to_string())?.iter().product::<usize>() + 1,
        other => return Err(format!("{other} is not a reduction")),
    })
}

struct Row {
    case: String,
    output: usize,
    kind: &'static str,
    max_abs: f64,
    max_ulp: u64,
    max_bound: f64,
    violations: usize,
    flips: Option<usize>,
    candidates: usize,
    cpu_nolpt: Option<f64>,
    bitwise: bool,
}

#[test]
fn corpus_fp32_matches_openvino_fallback() {
    let mut rows: Vec<Row> = Vec::new();
    let mut failures: Vec<String> = Vec::new();
    let mut waiting: Vec<String> = Vec::new();
    let mut explained: Vec<String> = Vec::new();
    for dir in cases() {
        let name = dir.file_name().and_then(|s| s.to_str()).unwrap_or("?").to_string();
        let m = manifest(&dir);
        let deep = DEEP.iter().any(|p| name.starts_with(p));
        let model = match read_model(&dir.join("model.xml")) {
            Ok(m) => m,
            Err(e) => {
                failures.push(format!("{name}: cannot read: {e}"));
                continue;
            }
        };
        let opts = RunOptions { mode: Mode::Fp32, max_memory: None, keep_values: !deep };
        let out = match run(&model, &inputs(&dir, &m), &opts) {
            Ok(o) => o,
            Err(RefError::UnsupportedOp { layer, op_type, version }) => {
                let msg = format!("{name}: {op_type} ({version}) not implemented ({layer})");
                if MY_OPS.contains(&op_type.as_str()) {
                    failures.push(msg);
                } else {
                    waiting.push(msg);
                }
                continue;
            }
            Err(e) => {
                failures.push(format!("{name}: {e}"));
                continue;
            }
        };
        let bounds = if deep {
            Err("deep model".to_string())
        } else {
            propagate(&model, out.values.as_deref().unwrap_or(&[]), &m)
        };
        // Actual FakeQuantize flips (needs every node's values: a second FP32 run for deep models).
        let kept = if deep {
            run(&model, &inputs(&dir, &m), &RunOptions { keep_values: true, ..opts.clone() })
                .ok()
                .and_then(|o| o.values)
        } else {
            out.values.clone()
        };
        let (flips, flip_nodes, unjustified) = match (kept, emulate_values(&model, &inputs(&dir, &m), &m)) {
            (Some(ours), Ok(emu)) => {
                let (f, n, u) = count_flips(&model, &ours, &emu, bounds.as_ref().ok());
                (Some(f), n, u)
            }
            // No emulation (an op without an f64 model, e.g. LSTMSequence): flips unknown.
            _ => (None, 0, 0),
        };
        if unjustified > 0 {
            failures.push(format!("{name}: {unjustified} FakeQuantize flips outside the SPEC §0.4 rule"));
        }
        if let (true, Some(flips)) = (deep, flips.filter(|&f| f > 0)) {
            println!("{name}: {flips} FakeQuantize elements differ from OpenVINO's (in {flip_nodes} FakeQuantize nodes), the cascade of the f32 summation order");
        }
        let cpu = m["cpu_nolpt"]["diff_vs_fallback"].as_array().cloned().unwrap_or_default();
        for (k, &r) in model.results().iter().enumerate() {
            let ours = out.outputs[k].to_f32_vec();
            let expected = fallback(&dir, k);
            if ours.len() != expected.len() {
                failures.push(format!("{name} output {k}: {} elements, expected {}", ours.len(), expected.len()));
                continue;
            }
            let cpu_max =
                cpu.iter().find(|d| d["output"].as_u64() == Some(k as u64)).and_then(|d| d["max_abs"].as_f64());
            let (mut max_abs, mut max_ulp, mut max_bound, mut violations) = (0.0f64, 0u64, 0.0f64, 0usize);
            let mut bitwise = true;
            let (s, o) = model.source_of(r, 0);
            let bound = bounds.as_ref().ok().and_then(|bd| bd.b[s][o].as_ref());
            for (e, (&a, &x)) in ours.iter().zip(&expected).enumerate() {
                if a.is_nan() && x.is_nan() {
                    continue;
                }
                if a.to_bits() != x.to_bits() {
                    bitwise = false;
                }
                let d = (f64::from(a) - f64::from(x)).abs();
                let d = if d.is_nan() { f64::INFINITY } else { d };
                max_abs = max_abs.max(d);
                max_ulp = max_ulp.max(ulp_distance(a, x));
                if let Some(bv) = bound {
                    max_bound = max_bound.max(bv[e]);
                    let ok = if bv[e] == 0.0 { a.to_bits() == x.to_bits() } else { d <= bv[e] };
                    if !ok {
                        if violations < 3 {
                            eprintln!(
                                "{name} output {k} element {e}: ours {a:e} vs {x:e}, |Δ| {d:e} > bound {:e}",
                                bv[e]
                            );
                        }
                        violations += 1;
                    }
                }
            }
            let kind = match (&bounds, bound) {
                (Ok(_), Some(_)) if max_bound == 0.0 => "exact",
                (Ok(_), Some(_)) => "bound",
                _ if deep => "deep",
                _ => "report",
            };
            if let (Err(why), false) = (&bounds, deep) {
                eprintln!("{name}: no per-element bound ({why}); compared with cpu_nolpt");
            }
            if kind == "deep" || kind == "report" {
                if let Some(c) = cpu_max {
                    if max_abs > c {
                        // Accepted only with proof that the whole difference is the documented
                        // summation order: the same graph with the fallback's f64 accumulation
                        // emulated must reproduce this output bit for bit.
                        let proven = run_generator_emulation(&model, &inputs(&dir, &m), &m)
                            .ok()
                            .and_then(|o| o.get(k).map(|t| t.to_f32_vec()))
                            .is_some_and(|v| {
                                v.iter()
                                    .zip(&expected)
                                    .all(|(a, x)| a.to_bits() == x.to_bits() || (a.is_nan() && x.is_nan()))
                            });
                        if proven {
                            explained.push(format!(
                                "{name} output {k}: max |Δ| {max_abs:.4e} exceeds cpu_nolpt's {c:.4e}; with f64 accumulation of {} the output is bit-exact, so the excess is f32 summation order cascading through FakeQuantize flips",
                                m["fallback"]["numpy_f64_op_types"]
                            ));
                        } else {
                            failures.push(format!("{name} output {k}: max |Δ| {max_abs:e} exceeds cpu_nolpt's {c:e}"));
                        }
                    }
                }
            } else if violations > 0 {
                failures.push(format!("{name} output {k}: {violations} elements outside the bound"));
            }
            let candidates = bounds.as_ref().map(|b| b.flip_candidates).unwrap_or(0);
            rows.push(Row {
                case: name.clone(),
                output: k,
                kind,
                max_abs,
                max_ulp,
                max_bound,
                violations,
                flips,
                candidates,
                cpu_nolpt: cpu_max,
                bitwise,
            });
        }
    }
    println!(
        "\n{:<42} {:>3} {:>6} {:>12} {:>10} {:>12} {:>5} {:>6} {:>6} {:>12} {:>5}",
        "case", "out", "kind", "max|Δ|", "max ulp", "max bound", "viol", "flips", "cand", "cpu_nolpt", "bits"
    );
    for r in &rows {
        println!(
            "{:<42} {:>3} {:>6} {:>12.3e} {:>10} {:>12.3e} {:>5} {:>6} {:>6} {:>12} {:>5}",
            r.case,
            r.output,
            r.kind,
            r.max_abs,
            r.max_ulp,
            r.max_bound,
            r.violations,
            r.flips.map(|f| f.to_string()).unwrap_or_else(|| "-".into()),
            r.candidates,
            r.cpu_nolpt.map(|c| format!("{c:.3e}")).unwrap_or_else(|| "-".into()),
            if r.bitwise { "yes" } else { "no" }
        );
    }
    for e in &explained {
        println!("explained: {e}");
    }
    for w in &waiting {
        println!("waiting on another engineer's op: {w}");
    }
    for f in &failures {
        println!("FAIL: {f}");
    }
    assert!(failures.is_empty(), "{} failures (see the table above)", failures.len());
}

/// HardSigmoid in f64, rounded once (the generator's numpy fallback for it).
fn hard_sigmoid_f64(ins: &[&Tensor]) -> Result<Vec<Tensor>, String> {
    let x = ins.first().ok_or("input")?;
    let a = f64::from(*ins.get(1).ok_or("alpha")?.to_f32_vec().first().ok_or("alpha")?);
    let b = f64::from(*ins.get(2).ok_or("beta")?.to_f32_vec().first().ok_or("beta")?);
    let y = x.to_f32_vec().into_iter().map(|v| (a * f64::from(v) + b).clamp(0.0, 1.0) as f32).collect();
    Ok(vec![Tensor::from_f32(x.shape.clone(), y).map_err(|e| e.to_string())?])
}

/// BatchNormInference-5 in f64 (`(x − mean)/sqrt(var + eps)·γ + β`, channel axis 1), rounded once.
fn batch_norm_f64(model: &Model, i: usize, ins: &[&Tensor]) -> Result<Vec<Tensor>, String> {
    let eps = model.node(i).attr_f64("epsilon").map_err(|e| e.to_string())?;
    let x = ins.first().ok_or("input")?;
    let p: Vec<Vec<f32>> = ins[1..].iter().map(|t| t.to_f32_vec()).collect();
    let (c, inner) = (x.shape[1], x.shape[2..].iter().product::<usize>());
    let y = x
        .to_f32_vec()
        .into_iter()
        .enumerate()
        .map(|(e, v)| {
            let ch = (e / inner) % c;
            let (g, bt, mean, var) = (p[0][ch], p[1][ch], p[2][ch], p[3][ch]);
            ((f64::from(v) - f64::from(mean)) / (f64::from(var) + eps).sqrt() * f64::from(g) + f64::from(bt)) as f32
        })
        .collect();
    Ok(vec![Tensor::from_f32(x.shape.clone(), y).map_err(|e| e.to_string())?])
}

/// Runs the model as the corpus generator computed its fallback: every op through the reference's
/// FP32 code, except the manifest's `numpy_f64_op_types`, which are accumulated in f64 and rounded
/// once. Returns the outputs in Result order.
fn run_generator_emulation(model: &Model, inputs: &[Tensor], m: &Value) -> Result<Vec<Tensor>, String> {
    let values = emulate_values(model, inputs, m)?;
    model
        .results()
        .iter()
        .map(|&r| {
            let (s, o) = model.source_of(r, 0);
            values[s][o].clone().ok_or_else(|| "result not computed".to_string())
        })
        .collect()
}

/// Every node's values in the generator emulation (see [`run_generator_emulation`]).
fn emulate_values(model: &Model, inputs: &[Tensor], m: &Value) -> Result<Vec<Vec<Option<Tensor>>>, String> {
    let f64_ops: Vec<String> = m["fallback"]["numpy_f64_op_types"]
        .as_array()
        .map(|a| a.iter().filter_map(|v| v.as_str().map(String::from)).collect())
        .unwrap_or_default();
    let params = model.parameters();
    let mut values: Vec<Vec<Option<Tensor>>> = model.nodes().iter().map(|n| vec![None; n.outputs.len()]).collect();
    for &i in model.topo_order() {
        let node = model.node(i);
        let outs = if node.is_parameter() {
            let k = params.iter().position(|&p| p == i).ok_or("parameter")?;
            vec![inputs.get(k).ok_or("input")?.clone()]
        } else if node.is_const() {
            vec![model.const_tensor(i).map_err(|e| e.to_string())?]
        } else if node.is_result() {
            continue;
        } else {
            let ins: Vec<&Tensor> = model
                .sources_of(i)
                .iter()
                .map(|&(s, o)| values[s][o].as_ref().ok_or("input not computed"))
                .collect::<Result<_, _>>()?;
            let ctx = OpCtx { model, index: i, node, inputs: &ins };
            let op = node.op_type.as_str();
            if f64_ops.iter().any(|t| t == manifest_name(op)) {
                match op {
                    "HardSigmoid" => hard_sigmoid_f64(&ins)?,
                    "BatchNormInference" => batch_norm_f64(model, i, &ins)?,
                    _ => reference::ops::convolution::evaluate_f64_accumulation(&ctx)
                        .or_else(|| reference::ops::pooling::evaluate_f64_accumulation(&ctx))
                        .ok_or_else(|| format!("no f64 emulation of {op}"))?
                        .map_err(|e| e.to_string())?,
                }
            } else {
                evaluate(&ctx).map_err(|e| e.to_string())?
            }
        };
        for (o, t) in outs.into_iter().enumerate() {
            values[i][o] = Some(t);
        }
    }
    Ok(values)
}

/// FakeQuantize flips of our FP32 run against OpenVINO's fallback, counted on every FakeQuantize
/// node: the emulation reproduces the fallback bit for bit (tested below), so its FakeQuantize
/// outputs are OpenVINO's. Returns (flipped elements, FakeQuantize nodes with a flip, unjustified
/// flips: elements whose propagated bound is 0 or exceeded — empty bounds skip that check).
fn count_flips(
    model: &Model,
    ours: &[Vec<Option<Tensor>>],
    emulated: &[Vec<Option<Tensor>>],
    bounds: Option<&Bounds>,
) -> (usize, usize, usize) {
    let (mut flips, mut nodes, mut unjustified) = (0, 0, 0);
    for (i, node) in model.nodes().iter().enumerate() {
        if node.op_type != "FakeQuantize" {
            continue;
        }
        let (Some(Some(a)), Some(Some(b))) = (ours[i].first(), emulated[i].first()) else { continue };
        let (a, b) = (a.to_f32_vec(), b.to_f32_vec());
        let bound = bounds.and_then(|bd| bd.b[i][0].as_ref());
        let mut here = 0;
        for (e, (x, y)) in a.iter().zip(&b).enumerate() {
            if x.to_bits() != y.to_bits() && !(x.is_nan() && y.is_nan()) {
                here += 1;
                if let Some(bv) = bound {
                    let d = (f64::from(*x) - f64::from(*y)).abs();
                    if bv[e] == 0.0 || d > bv[e] {
                        unjustified += 1;
                    }
                }
            }
        }
        flips += here;
        nodes += usize::from(here > 0);
    }
    (flips, nodes, unjustified)
}

/// With the fallback's own f64 accumulation emulated for `numpy_f64_op_types`, every other op of
/// the reference must reproduce OpenVINO's fallback end to end, bit for bit, deep models included
/// (observed: every output of every case except the two silero cases, whose LSTMSequence has no
/// f64 emulation here). A difference could in principle also come from numpy's own f64 summation
/// order (a last-bit effect on a rounding boundary); none occurs in the corpus.
#[test]
fn corpus_generator_emulation_reproduces_the_fallback() {
    println!("\n{:<42} {:>3} {:>12} {:>10} {:>10} {:>10}", "case", "out", "max|Δ|", "max ulp", "differing", "elements");
    let mut failures = Vec::new();
    for dir in cases() {
        let name = dir.file_name().and_then(|s| s.to_str()).unwrap_or("?").to_string();
        let m = manifest(&dir);
        let model = read_model(&dir.join("model.xml")).expect("model");
        let outs = match run_generator_emulation(&model, &inputs(&dir, &m), &m) {
            Ok(o) => o,
            Err(e) => {
                println!("{name}: not emulated: {e}");
                continue;
            }
        };
        for (k, t) in outs.iter().enumerate() {
            let ours = t.to_f32_vec();
            let expected = fallback(&dir, k);
            let (mut max_abs, mut max_ulp, mut differing) = (0.0f64, 0u64, 0usize);
            for (&a, &x) in ours.iter().zip(&expected) {
                if a.to_bits() != x.to_bits() && !(a.is_nan() && x.is_nan()) {
                    differing += 1;
                    max_abs = max_abs.max((f64::from(a) - f64::from(x)).abs());
                    max_ulp = max_ulp.max(ulp_distance(a, x));
                }
            }
            println!("{name:<42} {k:>3} {max_abs:>12.3e} {max_ulp:>10} {differing:>10} {:>10}", ours.len());
            if differing > 0 {
                failures.push(format!("{name} output {k}: {differing} elements differ, up to {max_ulp} ulp"));
            }
        }
    }
    for f in &failures {
        println!("FAIL: {f}");
    }
    assert!(failures.is_empty(), "{failures:?}");
}
