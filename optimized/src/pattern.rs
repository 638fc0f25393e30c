//! Pattern matching of INT8 blocks and the eligibility rule of `reference/INT8.md` §1, with the
//! quantization of constant weights (§2). Independent of the reference crate.
//!
//! For every candidate main op the result is either a [`BlockSpec`] (quantized weights, activation
//! quantizers, epilogue chain) or the first rule that failed as a stable kebab-case reason.

use crate::bcast::Bcast;
use crate::error::OptError;
use crate::fq::{self, ActQuant};
use crate::kernels::epilogue::Act;
use conform_ir::{Model, Node, Tensor};

/// The zero-point policy for fractional activation zero points (INT8.md §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ZeroPointPolicy {
    /// Keep the fraction as an f32 compensation term.
    #[default]
    Exact,
    /// Round it (the CPU plugin's behaviour).
    Round,
}

/// What kind of main op a block has.
#[derive(Debug, Clone, PartialEq)]
pub enum MainKind {
    /// Convolution (`groups` 1) or GroupConvolution.
    Conv {
        /// True for GroupConvolution (weights GOIHW).
        grouped: bool,
    },
    /// MatMul with a constant second input.
    MatMulConst,
    /// MatMul of two quantized activations.
    MatMulAct,
}

/// Quantized constant weights in the IR's own layout.
#[derive(Debug, Clone)]
pub struct WeightsQ {
    /// The weight tensor's shape.
    pub shape: Vec<usize>,
    /// `q_w` per element, row-major in `shape`.
    pub q: Vec<i8>,
    /// `s_w` per output channel.
    pub scale: Vec<f32>,
}

/// One INT8 block.
#[derive(Debug, Clone)]
pub struct BlockSpec {
    /// The main op.
    pub main: usize,
    /// Its kind.
    pub kind: MainKind,
    /// Activation FakeQuantize nodes (1, or 2 for act × act), in input order.
    pub act_fq: Vec<usize>,
    /// Their quantizers.
    pub act: Vec<ActQuant>,
    /// Constant weights, quantized (not for act × act).
    pub weights: Option<WeightsQ>,
    /// Nodes of the weight subgraph (folded into the packed weights).
    pub weight_nodes: Vec<usize>,
    /// Bias per output channel.
    pub bias: Option<Vec<f32>>,
    /// Final activation.
    pub act_fn: Act,
    /// Absorbed nodes (bias Add, ReLU/Clamp), in order.
    pub chain: Vec<usize>,
    /// The node whose output 0 is the block's output.
    pub output: usize,
}

/// The decision for one candidate main op.
#[derive(Debug, Clone)]
pub enum Decision {
    /// An INT8 block.
    Block(Box<BlockSpec>),
    /// FP32 fallback with the first failed rule.
    Fallback {
        /// Reason code (INT8.md §1).
        reason: &'static str,
        /// Details.
        detail: String,
    },
}

fn fb(reason: &'static str, detail: impl Into<String>) -> Decision {
    Decision::Fallback { reason, detail: detail.into() }
}

/// Which nodes compute a constant (no Parameter upstream).
pub fn constness(model: &Model) -> Vec<bool> {
    let mut c = vec![false; model.nodes().len()];
    for &n in model.topo_order() {
        let nd = model.node(n);
        c[n] = if nd.is_const() {
            true
        } else if nd.is_parameter() || nd.inputs.is_empty() {
            false
        } else {
            model.sources_of(n).iter().all(|&(s, _)| c[s])
        };
    }
    c
}

/// True for op types that can be a main op.
pub fn is_candidate(nd: &Node) -> bool {
    matches!(nd.op_type.as_str(), "Convolution" | "GroupConvolution" | "MatMul")
}

/// A Const feeding `(node, input)` directly, or through one Convert.
fn const_input(model: &Model, node: usize, input: usize) -> Option<(usize, Vec<usize>)> {
    let (src, _) = *model.sources_of(node).get(input)?;
    let s = model.node(src);
    if s.is_const() {
        return Some((src, vec![src]));
    }
    if s.op_type == "Convert" {
        let (c, _) = *model.sources_of(src).first()?;
        if model.node(c).is_const() {
            return Some((c, vec![src, c]));
        }
    }
    None
}

fn f32_of(model: &Model, c: usize, convert_path: &[usize]) -> Result<Tensor, OptError> {
    let t = model.const_tensor(c)?;
    let v = t.to_f32_vec();
    // A Convert to f16 would round; only f32 destinations are read exactly here.
    let _ = convert_path;
    Ok(Tensor { element_type: conform_ir::ElementType::F32, shape: t.shape, data: conform_ir::TensorData::F32(v) })
}

/// Per-tensor scalar of a range Const: `Err(reason)` when not per-tensor.
fn scalar_of(t: &Tensor) -> Option<f32> {
    let v = t.as_f32()?;
    let first = *v.first()?;
    if v.iter().all(|&x| x == first || (x.is_nan() && first.is_nan() && false)) {
        Some(first)
    } else {
        None
    }
}

/// Rule 2 for one activation input: the producing FakeQuantize and its quantizer.
fn act_input(model: &Model, main: usize, input: usize, policy: ZeroPointPolicy) -> Result<Result<(usize, ActQuant, bool), Decision>, OptError> {
    let (fqn, _) = model.source_of(main, input);
    let f = model.node(fqn);
    if f.op_type != "FakeQuantize" {
        return Ok(Err(fb("act-levels", format!("input {input} is produced by {} \"{}\", not a FakeQuantize", f.op_type, f.name))));
    }
    let levels: u64 = f.attr_parse("levels", "an integer").map_err(|e| OptError::layer(f, e.to_string()))?;
    if levels != 255 && levels != 256 {
        return Ok(Err(fb("act-levels", format!("activation FakeQuantize \"{}\" has levels {levels}", f.name))));
    }
    if f.inputs.len() != 5 {
        return Err(OptError::layer(f, "FakeQuantize needs 5 inputs"));
    }
    let mut r = [0f32; 4];
    for k in 0..4 {
        let (src, _) = model.source_of(fqn, k + 1);
        if !model.node(src).is_const() {
            return Ok(Err(fb("act-ranges-not-constant", format!("range input {} of \"{}\" is not a Const", k + 1, f.name))));
        }
    }
    for k in 0..4 {
        let (src, _) = model.source_of(fqn, k + 1);
        let t = f32_of(model, src, &[])?;
        match scalar_of(&t) {
            Some(v) => r[k] = v,
            None => {
                return Ok(Err(fb("act-not-per-tensor", format!("range input {} of \"{}\" is not per-tensor", k + 1, f.name))))
            }
        }
    }
    let [il, ih, ol, oh] = r;
    if !(il.is_finite() && ih.is_finite() && ol.is_finite() && oh.is_finite() && il < ih && ol < oh) {
        return Ok(Err(fb("act-degenerate-range", format!("\"{}\": il={il} ih={ih} ol={ol} oh={oh}", f.name))));
    }
    let q = ActQuant::new(il, ih, ol, oh, levels as u32, policy == ZeroPointPolicy::Round);
    let frac_nonzero = fq::split_zero_point(fq::zero_point(ol, oh, levels as u32)).1 != 0.0;
    Ok(Ok((fqn, q, frac_nonzero)))
}

/// How constant weights are given.
enum WForm {
    /// expanded / compressed-fq: data values and the FakeQuantize node.
    Fq { data: Tensor, fq: usize },
    /// compressed-dq: integer values, optional zero point, scale.
    Dq { ints: Tensor, zp: Option<Tensor>, scale: Tensor },
}

fn weight_form(model: &Model, main: usize, nodes: &mut Vec<usize>) -> Result<Option<WForm>, OptError> {
    let (p, _) = model.source_of(main, 1);
    let pn = model.node(p);
    match pn.op_type.as_str() {
        "FakeQuantize" => {
            nodes.push(p);
            let (d, _) = model.source_of(p, 0);
            let dn = model.node(d);
            let data = if dn.is_const() && dn.constant.is_some_and(|c| c.element_type.is_float()) {
                nodes.push(d);
                model.const_tensor(d)?
            } else if dn.op_type == "Convert" && dn.attr("destination_type").map(str::trim) == Some("f32") {
                let (c, _) = model.source_of(d, 0);
                if !model.node(c).is_const() {
                    return Ok(None);
                }
                nodes.extend([d, c]);
                model.const_tensor(c)?
            } else {
                return Ok(None);
            };
            Ok(Some(WForm::Fq { data, fq: p }))
        }
        "Multiply" => {
            nodes.push(p);
            for (si, di) in [(1usize, 0usize), (0, 1)] {
                let Some((sc, sp)) = const_input(model, p, si) else { continue };
                let (dsrc, _) = model.source_of(p, di);
                let dn = model.node(dsrc);
                let (conv, zp) = if dn.op_type == "Subtract" {
                    let Some((zc, zpth)) = const_input(model, dsrc, 1) else { continue };
                    let (cv, _) = model.source_of(dsrc, 0);
                    nodes.push(dsrc);
                    nodes.extend(zpth);
                    (cv, Some(zc))
                } else {
                    (dsrc, None)
                };
                let cn = model.node(conv);
                if cn.op_type != "Convert" {
                    continue;
                }
                let (ic, _) = model.source_of(conv, 0);
                let icn = model.node(ic);
                if !icn.is_const() || !icn.constant.is_some_and(|c| c.element_type.is_integer()) {
                    continue;
                }
                nodes.extend(sp);
                nodes.extend([conv, ic]);
                let zp = match zp {
                    Some(z) => Some(model.const_tensor(z)?),
                    None => None,
                };
                return Ok(Some(WForm::Dq { ints: model.const_tensor(ic)?, zp, scale: model.const_tensor(sc)? }));
            }
            Ok(None)
        }
        _ => Ok(None),
    }
}

/// Output channel of every weight element, the channel count and the reduction length.
fn channel_map(kind: &MainKind, shape: &[usize], transpose_b: bool) -> Option<(Vec<usize>, usize, usize)> {
    let n: usize = shape.iter().product();
    match kind {
        MainKind::Conv { grouped } => {
            let lead = if *grouped { 2 } else { 1 };
            if shape.len() < lead + 2 {
                return None;
            }
            let inner: usize = shape[lead..].iter().product();
            let chans: usize = shape[..lead].iter().product();
            let k: usize = shape[lead..].iter().product();
            Some(((0..n).map(|e| e / inner.max(1)).collect(), chans, k))
        }
        _ => {
            let r = shape.len();
            if r < 2 {
                return None;
            }
            let (kdim, ndim) = if transpose_b { (shape[r - 1], shape[r - 2]) } else { (shape[r - 2], shape[r - 1]) };
            let map = if transpose_b {
                (0..n).map(|e| (e / kdim.max(1)) % ndim.max(1)).collect()
            } else {
                (0..n).map(|e| e % ndim.max(1)).collect()
            };
            Some((map, ndim, kdim))
        }
    }
}

/// Rule 3: quantize constant weights. `Ok(Err(decision))` for a fallback.
fn quantize_weights(model: &Model, main: usize, kind: &MainKind, transpose_b: bool, nodes: &mut Vec<usize>) -> Result<Result<(WeightsQ, usize), Decision>, OptError> {
    let Some(form) = weight_form(model, main, nodes)? else {
        return Ok(Err(fb("weights-not-constant", "input 1 is not one of the expanded, compressed-fq or compressed-dq forms")));
    };
    let bad_range = |d: String| Ok(Err(fb("weight-degenerate-range", d)));
    match form {
        WForm::Fq { data, fq } => {
            let f = model.node(fq);
            let levels: u64 = f.attr_parse("levels", "an integer").map_err(|e| OptError::layer(f, e.to_string()))?;
            if !(2..=256).contains(&levels) {
                return Ok(Err(fb("weight-levels", format!("weight FakeQuantize \"{}\" has levels {levels}", f.name))));
            }
            let levels = levels as u32;
            let mut r: Vec<(Vec<f32>, Bcast)> = Vec::new();
            for k in 1..5 {
                let Some((c, pth)) = const_input(model, fq, k) else {
                    return bad_range(format!("range input {k} of \"{}\" is not constant", f.name));
                };
                nodes.extend(pth);
                let t = model.const_tensor(c)?;
                let b = Bcast::new(&t.shape, &data.shape)
                    .ok_or_else(|| OptError::layer(f, format!("range input {k} does not broadcast to the weights")))?;
                r.push((t.to_f32_vec(), b));
            }
            let w = data.to_f32_vec();
            let Some((chan, nch, k)) = channel_map(kind, &data.shape, transpose_b) else {
                return Err(OptError::layer(model.node(main), "weights of unexpected rank"));
            };
            let at = |j: usize, e: usize| r[j].0[r[j].1.map(e)];
            for e in 0..w.len() {
                let (il, ih, ol, oh) = (at(0, e), at(1, e), at(2, e), at(3, e));
                if !(il.is_finite() && ih.is_finite() && ol.is_finite() && oh.is_finite() && il < ih && ol < oh) {
                    return bad_range(format!("element {e}: il={il} ih={ih} ol={ol} oh={oh}"));
                }
            }
            let mut scale: Vec<Option<(f32, f64)>> = vec![None; nch];
            for e in 0..w.len() {
                let (ol, oh) = (at(2, e), at(3, e));
                let s = fq::scale(ol, oh, levels);
                let z = fq::zero_point(ol, oh, levels);
                match scale[chan[e]] {
                    None => scale[chan[e]] = Some((s, z)),
                    Some((s0, z0)) if s0.to_bits() == s.to_bits() && z0 == z => {}
                    Some(_) => return Ok(Err(fb("weight-scale-not-per-channel", format!("channel {} varies at element {e}", chan[e])))),
                }
            }
            let mut zint = vec![0i64; nch];
            for (c, sz) in scale.iter().enumerate() {
                if let Some((_, z)) = sz {
                    let zi = z.round_ties_even();
                    if (z - zi).abs() > 1e-5 {
                        return Ok(Err(fb("weight-zero-point-fractional", format!("channel {c}: zero point {z}"))));
                    }
                    zint[c] = zi as i64;
                }
            }
            let mut q = Vec::with_capacity(w.len());
            for e in 0..w.len() {
                let idx = fq::weight_index(w[e], at(0, e), at(1, e), levels);
                let v = idx.map(|r| r - zint[chan[e]]);
                match v {
                    Some(v) if (-128..=127).contains(&v) => q.push(v as i8),
                    _ => return Ok(Err(fb("weight-out-of-i8", format!("element {e}: q_w = {v:?}")))),
                }
            }
            let scale = scale.iter().map(|s| s.map_or(0.0, |x| x.0)).collect();
            Ok(Ok((WeightsQ { shape: data.shape, q, scale }, k)))
        }
        WForm::Dq { ints, zp, scale } => {
            let Some((chan, nch, k)) = channel_map(kind, &ints.shape, transpose_b) else {
                return Err(OptError::layer(model.node(main), "weights of unexpected rank"));
            };
            let node = model.node(main);
            let sv = scale.to_f32_vec();
            let sb = Bcast::new(&scale.shape, &ints.shape).ok_or_else(|| OptError::layer(node, "weight scale does not broadcast"))?;
            let (zv, zb) = match &zp {
                Some(z) => (
                    z.to_f32_vec(),
                    Some(Bcast::new(&z.shape, &ints.shape).ok_or_else(|| OptError::layer(node, "weight zero point does not broadcast"))?),
                ),
                None => (Vec::new(), None),
            };
            let zat = |e: usize| zb.as_ref().map_or(0.0, |b| zv[b.map(e)]);
            let c = ints.to_i64_vec();
            let mut per: Vec<Option<(f32, f32)>> = vec![None; nch];
            for e in 0..c.len() {
                let (s, z) = (sv[sb.map(e)], zat(e));
                match per[chan[e]] {
                    None => per[chan[e]] = Some((s, z)),
                    Some((s0, z0)) if s0.to_bits() == s.to_bits() && z0.to_bits() == z.to_bits() => {}
                    Some(_) => return Ok(Err(fb("weight-scale-not-per-channel", format!("channel {} varies at element {e}", chan[e])))),
                }
            }
            for (ch, p) in per.iter().enumerate() {
                if let Some((_, z)) = p {
                    if !z.is_finite() || z.fract() != 0.0 {
                        return Ok(Err(fb("weight-zero-point-fractional", format!("channel {ch}: zero point {z}"))));
                    }
                }
            }
            let mut q = Vec::with_capacity(c.len());
            for e in 0..c.len() {
                let z = per[chan[e]].map_or(0.0, |p| p.1) as i64;
                let v = c[e] - z;
                if !(-128..=127).contains(&v) {
                    return Ok(Err(fb("weight-out-of-i8", format!("element {e}: q_w = {v}"))));
                }
                q.push(v as i8);
            }
            let scale = per.iter().map(|p| p.map_or(0.0, |x| x.0)).collect();
            Ok(Ok((WeightsQ { shape: ints.shape, q, scale }, k)))
        }
    }
}

/// The bias of an Add whose other input is a Const broadcasting along the channel axis only.
fn bias_of(model: &Model, add: usize, from: usize, out_rank: usize, chan_axis: usize, nch: usize) -> Result<Option<Vec<f32>>, OptError> {
    let srcs = model.sources_of(add);
    if srcs.len() != 2 {
        return Ok(None);
    }
    let other = if srcs[0].0 == from { 1 } else { 0 };
    if srcs[1 - other].0 != from {
        return Ok(None);
    }
    let c = srcs[other].0;
    if !model.node(c).is_const() {
        return Ok(None);
    }
    let t = model.const_tensor(c)?;
    if !t.element_type.is_float() || t.shape.len() > out_rank {
        return Ok(None);
    }
    let off = out_rank - t.shape.len();
    for (i, &d) in t.shape.iter().enumerate() {
        let ax = off + i;
        let ok = if ax == chan_axis { d == nch || d == 1 } else { d == 1 };
        if !ok {
            return Ok(None);
        }
    }
    let v = t.to_f32_vec();
    Ok(Some(if v.len() == nch { v } else { vec![v.first().copied().unwrap_or(0.0); nch] }))
}

/// Rules 1–6 for node `main` and the epilogue chain.
pub fn analyze(model: &Model, main: usize, policy: ZeroPointPolicy, is_const: &[bool]) -> Result<Decision, OptError> {
    let nd = model.node(main);
    let kind = match nd.op_type.as_str() {
        "Convolution" => MainKind::Conv { grouped: false },
        "GroupConvolution" => MainKind::Conv { grouped: true },
        "MatMul" => {
            if nd.inputs.len() != 2 {
                return Err(OptError::layer(nd, "MatMul needs 2 inputs"));
            }
            let (b, _) = model.source_of(main, 1);
            if is_const[b] {
                MainKind::MatMulConst
            } else {
                MainKind::MatMulAct
            }
        }
        other => return Ok(fb("op-not-int8", format!("{other} is not an INT8 main op"))),
    };
    if nd.inputs.len() != 2 {
        return Err(OptError::layer(nd, "expects 2 inputs"));
    }
    let transpose_b = nd.attr_bool_or("transpose_b", false).map_err(|e| OptError::layer(nd, e.to_string()))?;
    // Rule 2.
    let mut act_fq = Vec::new();
    let mut act = Vec::new();
    let mut fracs = Vec::new();
    let n_act = if kind == MainKind::MatMulAct { 2 } else { 1 };
    for i in 0..n_act {
        match act_input(model, main, i, policy)? {
            Ok((f, q, fr)) => {
                act_fq.push(f);
                act.push(q);
                fracs.push(fr);
            }
            Err(d) => return Ok(d),
        }
    }
    // Rule 3.
    let mut weight_nodes = Vec::new();
    let (weights, kred, max_w) = if kind == MainKind::MatMulAct {
        let r = nd.inputs[0].shape.rank();
        let ta = nd.attr_bool_or("transpose_a", false).map_err(|e| OptError::layer(nd, e.to_string()))?;
        let kd = nd.inputs[0].shape.0.get(if ta { r.wrapping_sub(2) } else { r.wrapping_sub(1) }).and_then(|d| d.as_static());
        (None, kd.unwrap_or(0) as usize, act[1].max_abs_q())
    } else {
        let (src, _) = model.source_of(main, 1);
        if !is_const[src] {
            return Ok(fb("weights-not-constant", "the weights input is not constant"));
        }
        match quantize_weights(model, main, &kind, transpose_b, &mut weight_nodes)? {
            Ok((w, k)) => {
                let m = w.q.iter().map(|&v| (v as i64).abs()).max().unwrap_or(0);
                (Some(w), k, m)
            }
            Err(d) => return Ok(d),
        }
    };
    // Rule 4.
    if kind == MainKind::MatMulAct && policy == ZeroPointPolicy::Exact && fracs.iter().all(|&f| f) {
        return Ok(fb("two-fractional-zero-points", "both activation zero points are fractional"));
    }
    // Rule 5.
    let kred_eff = if kind == MainKind::MatMulAct && kred == 0 {
        // Dynamic K: bounded at run time by the same rule (see exec).
        0
    } else {
        kred
    };
    let prod = (kred_eff as i128) * (act[0].max_abs_q() as i128) * (max_w as i128);
    if prod >= (1i128 << 31) {
        return Ok(fb("accumulator-overflow", format!("K={kred} · max|q_a−z_a|={} · max|q_w|={max_w} ≥ 2^31", act[0].max_abs_q())));
    }
    // Rule 6.
    if matches!(kind, MainKind::MatMulConst | MainKind::MatMulAct) {
        let r0 = nd.inputs[0].shape.rank();
        let r1 = nd.inputs[1].shape.rank();
        if r0 < 2 || r1 < 2 {
            return Ok(fb("matmul-rank-1", format!("input ranks {r0} and {r1}")));
        }
    }
    // Epilogue chain.
    let out_rank = nd.outputs.first().map_or(0, |p| p.shape.rank());
    let (chan_axis, nch) = match &kind {
        MainKind::Conv { .. } => (1usize, weights.as_ref().map_or(0, |w| w.scale.len())),
        _ => {
            let n = nd.outputs.first().and_then(|p| p.shape.0.last()).and_then(|d| d.as_static()).unwrap_or(0) as usize;
            (out_rank.saturating_sub(1), weights.as_ref().map_or(n, |w| w.scale.len()))
        }
    };
    let mut chain = Vec::new();
    let mut output = main;
    let mut bias = None;
    let mut act_fn = Act::None;
    let single = |n: usize| -> Option<usize> {
        let nd = model.node(n);
        if nd.outputs.len() != 1 {
            return None;
        }
        match model.consumers_of(n, 0) {
            [(c, _)] => Some(*c),
            _ => None,
        }
    };
    if let Some(c) = single(output) {
        if model.node(c).op_type == "Add" && nch > 0 {
            if let Some(b) = bias_of(model, c, output, out_rank, chan_axis, nch)? {
                bias = Some(b);
                chain.push(c);
                output = c;
            }
        }
    }
    if let Some(c) = single(output) {
        let cn = model.node(c);
        match cn.op_type.as_str() {
            "ReLU" | "Relu" => {
                act_fn = Act::Relu;
                chain.push(c);
                output = c;
            }
            "Clamp" => {
                let lo = cn.attr_f64("min").map_err(|e| OptError::layer(cn, e.to_string()))? as f32;
                let hi = cn.attr_f64("max").map_err(|e| OptError::layer(cn, e.to_string()))? as f32;
                act_fn = Act::Clamp(lo, hi);
                chain.push(c);
                output = c;
            }
            _ => {}
        }
    }
    Ok(Decision::Block(Box::new(BlockSpec { main, kind, act_fq, act, weights, weight_nodes, bias, act_fn, chain, output })))
}
