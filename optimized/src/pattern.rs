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

/// A constant read as f32: a `Const` (any type), or `Convert(→f32)` of one. Returns the value and
/// the nodes involved.
fn const_f32(model: &Model, node: usize) -> Result<Option<(Tensor, Vec<usize>)>, OptError> {
    let nd = model.node(node);
    if nd.is_const() {
        return Ok(Some((to_f32(model.const_tensor(node)?), vec![node])));
    }
    if nd.op_type == "Convert" && convert_to_f32(nd)? {
        let (src, _) = model.source_of(node, 0);
        if model.node(src).is_const() {
            return Ok(Some((to_f32(model.const_tensor(src)?), vec![node, src])));
        }
    }
    Ok(None)
}

fn convert_to_f32(nd: &Node) -> Result<bool, OptError> {
    Ok(nd.attr_element_type("destination_type").map_err(|e| OptError::layer(nd, e.to_string()))?
        == conform_ir::ElementType::F32)
}

fn to_f32(t: Tensor) -> Tensor {
    let v = t.to_f32_vec();
    Tensor { element_type: conform_ir::ElementType::F32, shape: t.shape, data: conform_ir::TensorData::F32(v) }
}

/// A plain range input: a `Const` of a float type, read as f32.
fn range_const(model: &Model, node: usize, input: usize) -> Result<Option<(Tensor, usize)>, OptError> {
    let (src, _) = model.source_of(node, input);
    let nd = model.node(src);
    if !nd.is_const() {
        return Ok(None);
    }
    let t = model.const_tensor(src)?;
    if !t.element_type.is_float() {
        return Ok(None);
    }
    Ok(Some((to_f32(t), src)))
}

type Check<T> = Result<Result<T, Decision>, OptError>;

/// Rule 2 for one activation input: the producing FakeQuantize and its quantizer.
fn act_input(model: &Model, main: usize, input: usize, policy: ZeroPointPolicy) -> Check<(usize, ActQuant)> {
    let (fqn, _) = model.source_of(main, input);
    let f = model.node(fqn);
    if f.op_type != "FakeQuantize" {
        return Ok(Err(fb(
            "act-not-fake-quantize",
            format!("input {input} is produced by {} \"{}\", not a FakeQuantize", f.op_type, f.name),
        )));
    }
    let levels = f.attr_u64("levels").map_err(|e| OptError::layer(f, e.to_string()))?;
    if levels != 255 && levels != 256 {
        return Ok(Err(fb("act-levels", format!("activation FakeQuantize \"{}\" has levels {levels}", f.name))));
    }
    if f.inputs.len() != 5 {
        return Err(OptError::layer(f, "FakeQuantize needs 5 inputs"));
    }
    let mut r = [0f32; 4];
    for (k, slot) in r.iter_mut().enumerate() {
        let Some((t, _)) = range_const(model, fqn, k + 1)? else {
            return Ok(Err(fb(
                "act-ranges-not-constant",
                format!("range input {} of \"{}\" is not a float Const", k + 1, f.name),
            )));
        };
        let v = t.as_f32().unwrap_or(&[]);
        let first = v.first().copied().unwrap_or(f32::NAN);
        // Per-tensor: every element bitwise equal (so NaN never equals itself, −0 ≠ +0).
        if v.iter().any(|x| x.to_bits() != first.to_bits()) {
            return Ok(Err(fb(
                "act-not-per-tensor",
                format!("range input {} of \"{}\" is not one value", k + 1, f.name),
            )));
        }
        *slot = first;
    }
    let [il, ih, ol, oh] = r;
    if !(r.iter().all(|v| v.is_finite()) && il < ih && ol < oh) {
        return Ok(Err(fb("act-degenerate-range", format!("\"{}\": il={il} ih={ih} ol={ol} oh={oh}", f.name))));
    }
    Ok(Ok((fqn, ActQuant::new(il, ih, ol, oh, levels as u32, policy == ZeroPointPolicy::Round))))
}

/// Channel id of every element of a weight tensor (flat over the channel `axes`) and the count.
fn channel_ids(shape: &[usize], axes: &[usize]) -> (Vec<usize>, usize) {
    let n: usize = shape.iter().product();
    let count: usize = axes.iter().map(|&a| shape[a]).product();
    let mut strides = vec![1usize; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        strides[i] = strides[i + 1] * shape[i + 1];
    }
    let ids = (0..n)
        .map(|e| axes.iter().fold(0usize, |acc, &a| acc * shape[a] + (e / strides[a]) % shape[a].max(1)))
        .collect();
    (ids, count)
}

/// One value per channel from a per-element accessor; `None` when a channel holds two different
/// values (bitwise).
fn per_channel(ids: &[usize], count: usize, value: impl Fn(usize) -> f32) -> Option<Vec<f32>> {
    let mut out: Vec<Option<f32>> = vec![None; count];
    for (e, &c) in ids.iter().enumerate() {
        let v = value(e);
        match out[c] {
            None => out[c] = Some(v),
            Some(p) if p.to_bits() == v.to_bits() => {}
            Some(_) => return None,
        }
    }
    Some(out.into_iter().map(|v| v.unwrap_or(0.0)).collect())
}

fn onto(t: &Tensor, shape: &[usize], what: &str) -> Result<(Bcast, Vec<f32>), Decision> {
    match Bcast::new(&t.shape, shape) {
        Some(b) => Ok((b, t.to_f32_vec())),
        None => Err(fb(
            "weight-scale-not-per-channel",
            format!("{what} of shape {:?} does not broadcast into the weights {:?}", t.shape, shape),
        )),
    }
}

/// Weights in an FQ form (`expanded`, `compressed-fq`).
fn weights_fq(model: &Model, fq: usize, data: &Tensor, axes: &[usize], nodes: &mut Vec<usize>) -> Check<WeightsQ> {
    let f = model.node(fq);
    let levels = f.attr_u64("levels").map_err(|e| OptError::layer(f, e.to_string()))?;
    if !(2..=256).contains(&levels) {
        return Ok(Err(fb("weight-levels", format!("weight FakeQuantize \"{}\" has levels {levels}", f.name))));
    }
    let levels = levels as u32;
    let shape = &data.shape;
    let mut r: Vec<(Bcast, Vec<f32>)> = Vec::new();
    for k in 1..5 {
        let Some((t, c)) = range_const(model, fq, k)? else {
            return Ok(Err(fb(
                "weight-degenerate-range",
                format!("range input {k} of \"{}\" is not a float Const", f.name),
            )));
        };
        nodes.push(c);
        match onto(&t, shape, "a weight range") {
            Ok(x) => r.push(x),
            Err(d) => return Ok(Err(d)),
        }
    }
    let w = data.to_f32_vec();
    let at = |j: usize, e: usize| r[j].1[r[j].0.map(e)];
    let (ids, count) = channel_ids(shape, axes);
    for e in 0..w.len() {
        let (il, ih, ol, oh) = (at(0, e), at(1, e), at(2, e), at(3, e));
        if !([il, ih, ol, oh].iter().all(|v| v.is_finite()) && il < ih && ol < oh) {
            return Ok(Err(fb("weight-degenerate-range", format!("element {e}: il={il} ih={ih} ol={ol} oh={oh}"))));
        }
    }
    let (Some(ol), Some(oh)) = (per_channel(&ids, count, |e| at(2, e)), per_channel(&ids, count, |e| at(3, e))) else {
        return Ok(Err(fb(
            "weight-scale-not-per-channel",
            format!("output ranges of \"{}\" vary off the channel axes", f.name),
        )));
    };
    let mut zint = Vec::with_capacity(count);
    for c in 0..count {
        let (zi, frac) = fq::split_zero_point(fq::zero_point(ol[c], oh[c], levels));
        if frac != 0.0 {
            return Ok(Err(fb("weight-zero-point-fractional", format!("channel {c} of \"{}\"", f.name))));
        }
        zint.push(zi);
    }
    let mut q = Vec::with_capacity(w.len());
    for e in 0..w.len() {
        let v = fq::weight_index(w[e], at(0, e), at(1, e), levels).map(|r| r - zint[ids[e]]);
        match v.and_then(|v| i8::try_from(v).ok()) {
            Some(v) => q.push(v),
            None => return Ok(Err(fb("weight-out-of-i8", format!("element {e}: q_w = {v:?}")))),
        }
    }
    let scale = (0..count).map(|c| fq::scale(ol[c], oh[c], levels)).collect();
    Ok(Ok(WeightsQ { shape: shape.clone(), q, scale }))
}

/// `Convert(→f32)` of an integer `Const`.
fn int_const(model: &Model, node: usize) -> Result<Option<(Tensor, Vec<usize>)>, OptError> {
    let nd = model.node(node);
    if nd.op_type != "Convert" || !convert_to_f32(nd)? {
        return Ok(None);
    }
    let (src, _) = model.source_of(node, 0);
    if !model.node(src).is_const() {
        return Ok(None);
    }
    let t = model.const_tensor(src)?;
    if !t.element_type.is_integer() {
        return Ok(None);
    }
    Ok(Some((t, vec![node, src])))
}

/// Weights in the `compressed-dq` form.
fn weights_dq(
    model: &Model,
    mul: usize,
    axes_of: &dyn Fn(&[usize]) -> Vec<usize>,
    nodes: &mut Vec<usize>,
) -> Check<WeightsQ> {
    let name = &model.node(mul).name;
    for (di, si) in [(0usize, 1usize), (1, 0)] {
        let (d, _) = model.source_of(mul, di);
        let (s, _) = model.source_of(mul, si);
        let Some((scale_t, sn)) = const_f32(model, s)? else { continue };
        let (data, zp, mut used) = if model.node(d).op_type == "Subtract" {
            let (x, _) = model.source_of(d, 0);
            let (z, _) = model.source_of(d, 1);
            match (int_const(model, x)?, const_f32(model, z)?) {
                (Some((c, cn)), Some((zt, zn))) => {
                    let mut u = vec![d];
                    u.extend(cn);
                    u.extend(zn);
                    (c, Some(zt), u)
                }
                _ => continue,
            }
        } else {
            match int_const(model, d)? {
                Some((c, cn)) => (c, None, cn),
                None => continue,
            }
        };
        used.extend(sn);
        let shape = data.shape.clone();
        let (ids, count) = channel_ids(&shape, &axes_of(&shape));
        let (sb, sv) = match onto(&scale_t, &shape, "the dequantization scale") {
            Ok(x) => x,
            Err(dd) => return Ok(Err(dd)),
        };
        let Some(scale) = per_channel(&ids, count, |e| sv[sb.map(e)]) else {
            return Ok(Err(fb(
                "weight-scale-not-per-channel",
                format!("scale of \"{name}\" varies off the channel axes"),
            )));
        };
        if let Some(bad) = scale.iter().find(|v| !v.is_finite()) {
            return Ok(Err(fb("weight-degenerate-range", format!("scale {bad} of \"{name}\""))));
        }
        let zpc = match &zp {
            None => vec![0f32; count],
            Some(zt) => {
                let (zb, zv) = match onto(zt, &shape, "the weight zero point") {
                    Ok(x) => x,
                    Err(dd) => return Ok(Err(dd)),
                };
                let Some(z) = per_channel(&ids, count, |e| zv[zb.map(e)]) else {
                    return Ok(Err(fb(
                        "weight-scale-not-per-channel",
                        format!("zero point of \"{name}\" varies off the channel axes"),
                    )));
                };
                if let Some(bad) = z.iter().find(|v| !(v.is_finite() && v.fract() == 0.0)) {
                    return Ok(Err(fb("weight-zero-point-fractional", format!("zero point {bad} of \"{name}\""))));
                }
                z
            }
        };
        let c = data.to_i64_vec();
        let mut q = Vec::with_capacity(c.len());
        for (e, &v) in c.iter().enumerate() {
            let qv = v as i128 - zpc[ids[e]] as f64 as i128;
            match i8::try_from(qv) {
                Ok(x) => q.push(x),
                Err(_) => return Ok(Err(fb("weight-out-of-i8", format!("element {e}: q_w = {qv}")))),
            }
        }
        nodes.push(mul);
        nodes.extend(used);
        return Ok(Ok(WeightsQ { shape, q, scale }));
    }
    Ok(Err(fb(
        "weights-not-quantized",
        format!("\"{name}\" is not Convert(integer Const) → [Subtract] → Multiply(Const)"),
    )))
}

/// Rule 3: the constant weights feeding input 1.
fn weights(
    model: &Model,
    main: usize,
    axes_of: &dyn Fn(&[usize]) -> Vec<usize>,
    nodes: &mut Vec<usize>,
) -> Check<WeightsQ> {
    let (src, _) = model.source_of(main, 1);
    let nd = model.node(src);
    match nd.op_type.as_str() {
        "FakeQuantize" => {
            let (d, _) = model.source_of(src, 0);
            let dn = model.node(d);
            let stored = if dn.is_const() {
                true
            } else if dn.op_type == "Convert" {
                let (c, _) = model.source_of(d, 0);
                model.node(c).is_const() && convert_to_f32(dn)?
            } else {
                false
            };
            let data = if stored { const_f32(model, d)? } else { None };
            let Some((data, dnodes)) = data else {
                return Ok(Err(fb(
                    "weights-not-constant",
                    format!("the data of weight FakeQuantize \"{}\" is not constant", nd.name),
                )));
            };
            nodes.push(src);
            nodes.extend(dnodes);
            weights_fq(model, src, &data, &axes_of(&data.shape), nodes)
        }
        "Multiply" => weights_dq(model, src, axes_of, nodes),
        "Const" | "Convert" => {
            Ok(Err(fb("weights-not-quantized", format!("weights \"{}\" are not quantized", nd.name))))
        }
        _ => Ok(Err(fb("weights-not-constant", format!("weights come from {} \"{}\"", nd.op_type, nd.name)))),
    }
}

/// True when `src` is a FakeQuantize of constant data (a weight FQ rather than an activation FQ).
fn is_weight_fq(model: &Model, src: usize) -> bool {
    if model.node(src).op_type != "FakeQuantize" {
        return false;
    }
    let (d, _) = model.source_of(src, 0);
    let dn = model.node(d);
    dn.is_const() || (dn.op_type == "Convert" && model.node(model.source_of(d, 0).0).is_const())
}

/// The bias of an Add whose other input is an f32 Const broadcasting along the channel axis only.
fn bias_of(
    model: &Model,
    add: usize,
    port: usize,
    out_rank: usize,
    chan_axis: usize,
) -> Result<Option<Vec<f32>>, OptError> {
    if model.node(add).inputs.len() != 2 || port > 1 {
        return Ok(None);
    }
    let (c, _) = model.source_of(add, 1 - port);
    if !model.node(c).is_const() {
        return Ok(None);
    }
    let t = model.const_tensor(c)?;
    let Some(off) = out_rank.checked_sub(t.shape.len()) else { return Ok(None) };
    let ok = t.element_type == conform_ir::ElementType::F32
        && t.shape.iter().enumerate().all(|(k, &d)| d == 1 || k + off == chan_axis);
    Ok(if ok { Some(t.to_f32_vec()) } else { None })
}

/// Rules 1–6 for node `main` and the epilogue chain. The rule order (which decides the reported
/// reason) is: op → MatMul rank → activation input(s) → weights → zero points → overflow.
pub fn analyze(model: &Model, main: usize, policy: ZeroPointPolicy, is_const: &[bool]) -> Result<Decision, OptError> {
    let _ = is_const;
    let nd = model.node(main);
    let kind = match nd.op_type.as_str() {
        "Convolution" => MainKind::Conv { grouped: false },
        "GroupConvolution" => MainKind::Conv { grouped: true },
        "MatMul" => MainKind::MatMulConst,
        other => return Ok(fb("op-not-int8", format!("{other} is not an INT8 main op"))),
    };
    if nd.version != "opset1" || nd.inputs.len() != 2 {
        return Ok(fb("op-not-int8", format!("{} version {} with {} inputs", nd.op_type, nd.version, nd.inputs.len())));
    }
    let battr = |n: &str| nd.attr_bool_or(n, false).map_err(|e| OptError::layer(nd, e.to_string()));
    let (ta, tb) = (battr("transpose_a")?, battr("transpose_b")?);
    let out_rank = nd.outputs.first().map_or(0, |p| p.shape.rank());
    let is_mm = kind == MainKind::MatMulConst;
    if is_mm && (nd.inputs[0].shape.rank() < 2 || nd.inputs[1].shape.rank() < 2) {
        return Ok(fb(
            "matmul-rank-1",
            format!("input ranks {} and {}", nd.inputs[0].shape.rank(), nd.inputs[1].shape.rank()),
        ));
    }
    let mut act_fq = Vec::new();
    let mut act = Vec::new();
    match act_input(model, main, 0, policy)? {
        Ok((f, q)) => {
            act_fq.push(f);
            act.push(q);
        }
        Err(d) => return Ok(d),
    }
    let (src1, _) = model.source_of(main, 1);
    let t1 = model.node(src1).op_type.as_str();
    let act_x_act = is_mm
        && ((t1 == "FakeQuantize" && !is_weight_fq(model, src1))
            || !matches!(t1, "FakeQuantize" | "Multiply" | "Const" | "Convert"));
    let kind = if act_x_act { MainKind::MatMulAct } else { kind };
    let mut weight_nodes = Vec::new();
    let mut weights_q = None;
    if act_x_act {
        match act_input(model, main, 1, policy)? {
            Ok((f, q)) => {
                act_fq.push(f);
                act.push(q);
            }
            Err(d) => return Ok(d),
        }
    } else {
        let grouped = kind == MainKind::Conv { grouped: true };
        let axes_of = |s: &[usize]| -> Vec<usize> {
            if is_mm {
                let r = s.len();
                let mut axes: Vec<usize> = (0..r.saturating_sub(2)).collect();
                if r >= 2 {
                    axes.push(if tb { r - 2 } else { r - 1 });
                }
                axes
            } else if grouped {
                vec![0, 1]
            } else {
                vec![0]
            }
        };
        let w = match weights(model, main, &axes_of, &mut weight_nodes)? {
            Ok(w) => w,
            Err(d) => return Ok(d),
        };
        if is_mm && w.shape.len() < 2 {
            return Ok(fb("matmul-rank-1", "constant weights of rank 1"));
        }
        let lead = if grouped { 2 } else { 1 };
        if !is_mm && w.shape.len() < lead + 2 {
            return Err(OptError::layer(nd, format!("weights of rank {}", w.shape.len())));
        }
        weights_q = Some(w);
    }
    // Rule 4.
    if act.len() == 2 && act.iter().all(|a| a.frac != 0.0) {
        return Ok(fb("two-fractional-zero-points", "both activation zero points are fractional"));
    }
    // Rule 5.
    let k = match (&kind, &weights_q) {
        (MainKind::Conv { grouped }, Some(w)) => {
            Some(w.shape[if *grouped { 2 } else { 1 }..].iter().product::<usize>())
        }
        (MainKind::MatMulConst, Some(w)) => {
            let r = w.shape.len();
            Some(if tb { w.shape[r - 1] } else { w.shape[r - 2] })
        }
        _ => {
            let s = &nd.inputs[0].shape.0;
            let r = s.len();
            let d = if ta { s[r - 2] } else { s[r - 1] };
            d.as_static().and_then(|v| usize::try_from(v).ok())
        }
    };
    let Some(k) = k else {
        return Ok(fb("accumulator-overflow", "the reduction length is not static"));
    };
    let qb = match &weights_q {
        Some(w) => w.q.iter().map(|v| v.unsigned_abs() as u128).max().unwrap_or(0),
        None => act[1].max_abs_q() as u128,
    };
    let worst = (k as u128).saturating_mul(act[0].max_abs_q() as u128).saturating_mul(qb);
    if worst >= 1u128 << 31 {
        return Ok(fb(
            "accumulator-overflow",
            format!("K={k}, max|q_a|={}, max|q_w|={qb}: {worst} ≥ 2^31", act[0].max_abs_q()),
        ));
    }
    // Epilogue chain.
    let chan_axis = if is_mm { out_rank.saturating_sub(1) } else { 1 };
    let single = |n: usize| -> Option<(usize, usize)> {
        match (model.node(n).outputs.len(), model.consumers_of(n, 0)) {
            (1, [c]) => Some(*c),
            _ => None,
        }
    };
    let mut chain = Vec::new();
    let mut output = main;
    let mut bias = None;
    let mut act_fn = Act::None;
    if let Some((c, port)) = single(output) {
        if model.node(c).op_type == "Add" {
            if let Some(b) = bias_of(model, c, port, out_rank, chan_axis)? {
                bias = Some(b);
                chain.push(c);
                output = c;
            }
        }
    }
    if let Some((c, _)) = single(output) {
        let cn = model.node(c);
        match cn.op_type.as_str() {
            "ReLU" => {
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
    Ok(Decision::Block(Box::new(BlockSpec {
        main,
        kind,
        act_fq,
        act,
        weights: weights_q,
        weight_nodes,
        bias,
        act_fn,
        chain,
        output,
    })))
}
