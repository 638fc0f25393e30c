//! Pattern matching of INT8 blocks (INT8.md §1): for each candidate main op, either a [`Block`]
//! with its quantization parameters precomputed, or the first rule that failed as a stable reason
//! code.
//!
//! Rule order (the first failing rule is the recorded reason): op → MatMul rank → activation
//! input(s) → weights → zero points → overflow.

use super::quant::{fq_scale, fq_zero_point, split_zero_point, ActQuant, WeightForm, WeightFqChannel, WeightQuant};
use super::{Activation, Block, MainOp, ZeroPointPolicy};
use crate::broadcast::BroadcastIndex;
use crate::error::RefError;
use crate::geometry::AutoPad;
use conform_ir::{ElementType, Model};

/// Why a candidate is not an INT8 block, or a real error (malformed attributes).
pub(crate) enum Fail {
    /// A rule of INT8.md §1 failed: stable code and details.
    Reject(&'static str, String),
    /// The model itself is malformed.
    Error(RefError),
}

impl From<RefError> for Fail {
    fn from(e: RefError) -> Self {
        Fail::Error(e)
    }
}

impl From<conform_ir::AttrError> for Fail {
    fn from(e: conform_ir::AttrError) -> Self {
        Fail::Error(e.into())
    }
}

impl From<conform_ir::IrError> for Fail {
    fn from(e: conform_ir::IrError) -> Self {
        Fail::Error(e.into())
    }
}

type Check<T> = Result<T, Fail>;

fn reject<T>(code: &'static str, detail: impl Into<String>) -> Check<T> {
    Err(Fail::Reject(code, detail.into()))
}

/// Op types that look like main ops but are never INT8 here (INT8.md §5).
pub(crate) const NOT_INT8_CANDIDATES: &[&str] = &[
    "ConvolutionBackpropData",
    "GroupConvolutionBackpropData",
    "LSTMSequence",
    "GRUSequence",
    "RNNSequence",
    "LSTMCell",
    "GRUCell",
    "DeformableConvolution",
    "BinaryConvolution",
];

/// True for Convolution, GroupConvolution and MatMul (opset1), the candidates of rule 1.
pub(crate) fn is_main_candidate(model: &Model, i: usize) -> bool {
    matches!(model.node(i).op_type.as_str(), "Convolution" | "GroupConvolution" | "MatMul")
}

/// A constant's values as f32 with its shape: a `Const`, or `Convert(→f32)` of a `Const`
/// (how OpenVINO stores f16 or integer constants feeding f32 ops).
fn const_f32(model: &Model, node: usize) -> Check<Option<(Vec<f32>, Vec<usize>)>> {
    let nd = model.node(node);
    if nd.is_const() {
        let t = model.const_tensor(node)?;
        return Ok(Some((t.to_f32_vec(), t.shape)));
    }
    if nd.op_type == "Convert" && nd.attr_element_type("destination_type")? == ElementType::F32 {
        let (src, _) = model.source_of(node, 0);
        if model.node(src).is_const() {
            let t = model.const_tensor(src)?;
            return Ok(Some((t.to_f32_vec(), t.shape)));
        }
    }
    Ok(None)
}

/// A `Const` (any float type) that is a plain range input, read as f32.
fn range_const(model: &Model, node: usize, input: usize) -> Check<Option<(Vec<f32>, Vec<usize>)>> {
    let (src, _) = model.source_of(node, input);
    let nd = model.node(src);
    if !nd.is_const() {
        return Ok(None);
    }
    let t = model.const_tensor(src)?;
    if !t.element_type.is_float() {
        return Ok(None);
    }
    Ok(Some((t.to_f32_vec(), t.shape)))
}

/// Rule 2: the activation FakeQuantize feeding input `input` of `main`.
fn activation(model: &Model, main: usize, input: usize, policy: ZeroPointPolicy) -> Check<(usize, ActQuant)> {
    let (fq, _) = model.source_of(main, input);
    let nd = model.node(fq);
    if nd.op_type != "FakeQuantize" {
        return reject(
            "act-not-fake-quantize",
            format!("input {input} comes from {} \"{}\", not a FakeQuantize", nd.op_type, nd.name),
        );
    }
    let levels = nd.attr_u64("levels")?;
    if levels != 255 && levels != 256 {
        return reject("act-levels", format!("input {input}: FakeQuantize \"{}\" has levels {levels}", nd.name));
    }
    let mut vals = [0f32; 4];
    for (k, v) in vals.iter_mut().enumerate() {
        let Some((data, _)) = range_const(model, fq, k + 1)? else {
            return reject(
                "act-ranges-not-constant",
                format!("input {input}: range input {} of \"{}\" is not a float Const", k + 1, nd.name),
            );
        };
        let first = data.first().copied().unwrap_or(f32::NAN);
        // Per-tensor: every element equal (bitwise, so NaN never counts as equal to itself).
        if data.iter().any(|x| x.to_bits() != first.to_bits()) {
            return reject(
                "act-not-per-tensor",
                format!("input {input}: range input {} of \"{}\" is not one value", k + 1, nd.name),
            );
        }
        *v = first;
    }
    let [il, ih, ol, oh] = vals;
    if !(vals.iter().all(|v| v.is_finite()) && il < ih && ol < oh) {
        return reject(
            "act-degenerate-range",
            format!("input {input}: ranges il={il} ih={ih} ol={ol} oh={oh} of \"{}\"", nd.name),
        );
    }
    Ok((fq, ActQuant::new(il, ih, ol, oh, levels, policy)))
}

/// For each element of `shape`, its channel id over `axes` (flat index over those axes in order),
/// and the number of channels.
fn channel_ids(shape: &[usize], axes: &[usize]) -> (Vec<usize>, usize) {
    let n: usize = shape.iter().product();
    let count: usize = axes.iter().map(|&a| shape[a]).product();
    let st = crate::broadcast::strides(shape);
    let ids = (0..n).map(|e| axes.iter().fold(0usize, |acc, &a| acc * shape[a] + (e / st[a]) % shape[a])).collect();
    (ids, count)
}

/// Collects one value per channel from a per-element accessor, failing when a channel holds two
/// different values (bitwise).
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
    out.into_iter().map(|v| v.or(Some(0.0))).collect()
}

/// A range or scale tensor mapped onto the weight shape (numpy broadcasting into it).
fn onto(data: &(Vec<f32>, Vec<usize>), shape: &[usize], what: &str) -> Check<(BroadcastIndex, Vec<f32>)> {
    match BroadcastIndex::new(&data.1, shape) {
        Some(b) => Ok((b, data.0.clone())),
        None => reject(
            "weight-scale-not-per-channel",
            format!("{what} of shape {:?} does not broadcast into the weights {:?}", data.1, shape),
        ),
    }
}

/// Weights in an FQ form (`expanded` or `compressed-fq`), INT8.md §1.3 and §2.
fn weights_fq(
    model: &Model,
    fq: usize,
    w: &[f32],
    shape: &[usize],
    form: WeightForm,
    axes: &[usize],
) -> Check<WeightQuant> {
    let nd = model.node(fq);
    let levels = nd.attr_u64("levels")?;
    if !(2..=256).contains(&levels) {
        return reject("weight-levels", format!("weight FakeQuantize \"{}\" has levels {levels}", nd.name));
    }
    let mut ranges = Vec::with_capacity(4);
    for k in 1..5 {
        let Some(r) = range_const(model, fq, k)? else {
            return reject(
                "weight-degenerate-range",
                format!("range input {k} of \"{}\" is not a float Const", nd.name),
            );
        };
        ranges.push(onto(&r, shape, "a weight range")?);
    }
    let at = |k: usize, e: usize| ranges[k].1[ranges[k].0.map(e)];
    let (ids, count) = channel_ids(shape, axes);
    for e in 0..ids.len() {
        let (il, ih, ol, oh) = (at(0, e), at(1, e), at(2, e), at(3, e));
        if !([il, ih, ol, oh].iter().all(|v| v.is_finite()) && il < ih && ol < oh) {
            return reject(
                "weight-degenerate-range",
                format!("element {e}: il={il} ih={ih} ol={ol} oh={oh} (\"{}\")", nd.name),
            );
        }
    }
    let (Some(ol), Some(oh)) = (per_channel(&ids, count, |e| at(2, e)), per_channel(&ids, count, |e| at(3, e))) else {
        return reject(
            "weight-scale-not-per-channel",
            format!("output ranges of \"{}\" vary along an axis other than the output channels", nd.name),
        );
    };
    let mut chans = Vec::with_capacity(count);
    for c in 0..count {
        let z_real = fq_zero_point(ol[c], oh[c], levels);
        let (z_int, frac) = split_zero_point(z_real);
        if frac != 0.0 {
            return reject(
                "weight-zero-point-fractional",
                format!("channel {c}: zero point {z_real} of \"{}\" is not an integer", nd.name),
            );
        }
        chans.push(WeightFqChannel { ol: ol[c], oh: oh[c], z_real, z_int });
    }
    let mut q = Vec::with_capacity(w.len());
    for (e, &x) in w.iter().enumerate() {
        // q_w = fq_index(w) − z_w[o] (INT8.md §2), checked to fit i8.
        let v = crate::fq::fq_index(x, at(0, e), at(1, e), levels).map(|r| r - chans[ids[e]].z_int);
        match v.and_then(|v| i8::try_from(v).ok()) {
            Some(v) => q.push(v),
            None => return reject("weight-out-of-i8", format!("element {e} quantizes to {v:?}, outside [-128, 127]")),
        }
    }
    let scale = chans.iter().map(|c| fq_scale(c.ol, c.oh, levels)).collect();
    let max_abs_q = q.iter().map(|v| v.unsigned_abs() as u32).max().unwrap_or(0);
    Ok(WeightQuant { form, shape: shape.to_vec(), q, scale, fq: chans, levels, max_abs_q })
}

/// `Convert(→f32)` of an integer `Const`: the stored integers and shape.
fn int_const(model: &Model, node: usize) -> Check<Option<(Vec<i64>, Vec<usize>)>> {
    let nd = model.node(node);
    if nd.op_type != "Convert" || nd.attr_element_type("destination_type")? != ElementType::F32 {
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
    Ok(Some((t.to_i64_vec(), t.shape)))
}

/// Weights in the `compressed-dq` form: `Const(int) → Convert → [Subtract(zp)] → Multiply(scale)`.
fn weights_dq(model: &Model, mul: usize, axes_of: &dyn Fn(&[usize]) -> Vec<usize>) -> Check<WeightQuant> {
    let name = &model.node(mul).name;
    for (di, si) in [(0, 1), (1, 0)] {
        let (d, _) = model.source_of(mul, di);
        let (s, _) = model.source_of(mul, si);
        let Some(scale_t) = const_f32(model, s)? else { continue };
        let (data, zp) = if model.node(d).op_type == "Subtract" {
            let (x, _) = model.source_of(d, 0);
            let (z, _) = model.source_of(d, 1);
            match (int_const(model, x)?, const_f32(model, z)?) {
                (Some(c), Some(zp)) => (c, Some(zp)),
                _ => continue,
            }
        } else {
            match int_const(model, d)? {
                Some(c) => (c, None),
                None => continue,
            }
        };
        let (c, shape) = data;
        let (ids, count) = channel_ids(&shape, &axes_of(&shape));
        let (sb, sv) = onto(&scale_t, &shape, "the dequantization scale")?;
        let Some(scale) = per_channel(&ids, count, |e| sv[sb.map(e)]) else {
            return reject(
                "weight-scale-not-per-channel",
                format!("scale of \"{name}\" varies along an axis other than the output channels"),
            );
        };
        if let Some(bad) = scale.iter().find(|v| !v.is_finite()) {
            return reject("weight-degenerate-range", format!("scale {bad} of \"{name}\""));
        }
        let zpc = match &zp {
            None => vec![0f32; count],
            Some(zt) => {
                let (zb, zv) = onto(zt, &shape, "the weight zero point")?;
                let Some(z) = per_channel(&ids, count, |e| zv[zb.map(e)]) else {
                    return reject(
                        "weight-scale-not-per-channel",
                        format!("zero point of \"{name}\" varies along an axis other than the output channels"),
                    );
                };
                if let Some(bad) = z.iter().find(|v| !(v.is_finite() && v.fract() == 0.0)) {
                    return reject(
                        "weight-zero-point-fractional",
                        format!("zero point {bad} of \"{name}\" is not an exact integer"),
                    );
                }
                z
            }
        };
        let mut q = Vec::with_capacity(c.len());
        for (e, &v) in c.iter().enumerate() {
            // q_w = c − z_w[o] (INT8.md §2); z is an exact integer, |z| < 2^24 as a finite f32 integer
            // may be larger, so compute in i128 via f64 (exact for f32 integers).
            let qv = v as i128 - zpc[ids[e]] as f64 as i128;
            match i8::try_from(qv) {
                Ok(x) => q.push(x),
                Err(_) => {
                    return reject(
                        "weight-out-of-i8",
                        format!("element {e} is {qv} after the zero point, outside [-128, 127]"),
                    )
                }
            }
        }
        let max_abs_q = q.iter().map(|v| v.unsigned_abs() as u32).max().unwrap_or(0);
        return Ok(WeightQuant {
            form: WeightForm::CompressedDq,
            shape,
            q,
            scale,
            fq: Vec::new(),
            levels: 0,
            max_abs_q,
        });
    }
    reject(
        "weights-not-quantized",
        format!("\"{name}\" is not Convert(integer Const) → [Subtract(Const)] → Multiply(Const)"),
    )
}

/// Rule 3: the constant weights feeding input 1 of `main`, in one of the three forms.
fn weights(model: &Model, main: usize, axes_of: impl Fn(&[usize]) -> Vec<usize>) -> Check<WeightQuant> {
    let (src, _) = model.source_of(main, 1);
    let nd = model.node(src);
    match nd.op_type.as_str() {
        "FakeQuantize" => {
            let (d, _) = model.source_of(src, 0);
            let dn = model.node(d);
            // The stored constant: a Const, or Convert(→f32) of one.
            let stored = if dn.is_const() {
                Some(d)
            } else if dn.op_type == "Convert" {
                let (c, _) = model.source_of(d, 0);
                (model.node(c).is_const() && dn.attr_element_type("destination_type")? == ElementType::F32).then_some(c)
            } else {
                None
            };
            let Some(c) = stored else {
                return reject(
                    "weights-not-constant",
                    format!("the data of weight FakeQuantize \"{}\" is not constant", nd.name),
                );
            };
            let et = model.node(c).constant.map(|v| v.element_type).unwrap_or(ElementType::F32);
            let form = if et.is_float() { WeightForm::Expanded } else { WeightForm::CompressedFq };
            let Some((w, shape)) = const_f32(model, d)? else {
                return reject("weights-not-constant", format!("the data of \"{}\" is not constant", nd.name));
            };
            let axes = axes_of(&shape);
            weights_fq(model, src, &w, &shape, form, &axes)
        }
        "Multiply" => weights_dq(model, src, &axes_of),
        "Const" | "Convert" => reject("weights-not-quantized", format!("weights \"{}\" are not quantized", nd.name)),
        _ => reject("weights-not-constant", format!("weights come from {} \"{}\"", nd.op_type, nd.name)),
    }
}

/// True when node `src` is a FakeQuantize of constant data (a weight FQ rather than an activation FQ).
fn is_weight_fq(model: &Model, src: usize) -> bool {
    if model.node(src).op_type != "FakeQuantize" {
        return false;
    }
    let (d, _) = model.source_of(src, 0);
    let dn = model.node(d);
    dn.is_const() || (dn.op_type == "Convert" && model.node(model.source_of(d, 0).0).is_const())
}

/// Parses the main op's attributes.
fn main_op(model: &Model, i: usize) -> Check<MainOp> {
    let nd = model.node(i);
    Ok(match nd.op_type.as_str() {
        "MatMul" => MainOp::MatMul {
            transpose_a: nd.attr_bool_or("transpose_a", false)?,
            transpose_b: nd.attr_bool_or("transpose_b", false)?,
        },
        t => {
            let auto_pad = AutoPad::parse(nd.attr("auto_pad")).ok_or_else(|| {
                Fail::Error(crate::error::op_err(nd, format!("unknown auto_pad {:?}", nd.attr("auto_pad"))))
            })?;
            MainOp::Conv {
                grouped: t == "GroupConvolution",
                strides: nd.attr_usize_list("strides")?,
                dilations: nd.attr_usize_list("dilations")?,
                pads_begin: nd.attr_usize_list_or("pads_begin", Vec::new())?,
                pads_end: nd.attr_usize_list_or("pads_end", Vec::new())?,
                auto_pad,
            }
        }
    })
}

/// The single consumer of output 0 of `node`, if it has exactly one.
fn single_consumer(model: &Model, node: usize) -> Option<(usize, usize)> {
    match (model.node(node).outputs.len(), model.consumers_of(node, 0)) {
        (1, [c]) => Some(*c),
        _ => None,
    }
}

/// An absorbed epilogue chain: its nodes, bias and activation.
struct Chain {
    nodes: Vec<usize>,
    bias: Option<Vec<f32>>,
    activation: Option<Activation>,
}

/// The epilogue chain (INT8.md §1): at most one bias Add along the output-channel axis, then at
/// most one ReLU or Clamp, each only if the previous output has exactly one consumer.
fn chain(model: &Model, main: usize, out_rank: usize, channel_axis: usize) -> Check<Chain> {
    let mut nodes = Vec::new();
    let mut last = main;
    let mut bias = None;
    if let Some((add, port)) = single_consumer(model, last) {
        let nd = model.node(add);
        if nd.op_type == "Add" && nd.inputs.len() == 2 {
            let (other, _) = model.source_of(add, 1 - port);
            if model.node(other).is_const() {
                let t = model.const_tensor(other)?;
                let shape = &t.shape;
                // Channel-only: right-aligned against the output, every dim 1 except the channel axis.
                let off = out_rank.checked_sub(shape.len());
                let ok = t.element_type == ElementType::F32
                    && off.is_some_and(|off| shape.iter().enumerate().all(|(k, &d)| d == 1 || k + off == channel_axis));
                if ok {
                    bias = Some(t.to_f32_vec());
                    nodes.push(add);
                    last = add;
                }
            }
        }
    }
    let mut act = None;
    if let Some((a, _)) = single_consumer(model, last) {
        let nd = model.node(a);
        match nd.op_type.as_str() {
            "ReLU" => act = Some(Activation::Relu),
            "Clamp" => {
                // ov::reference::clamp receives min/max cast to the element type (f32).
                act = Some(Activation::Clamp { lo: nd.attr_f64("min")? as f32, hi: nd.attr_f64("max")? as f32 })
            }
            _ => {}
        }
        if act.is_some() {
            nodes.push(a);
        }
    }
    Ok(Chain { nodes, bias, activation: act })
}

/// Builds the block whose main op is node `i`, or says which rule failed.
pub(crate) fn build_block(model: &Model, i: usize, policy: ZeroPointPolicy) -> Check<Block> {
    let nd = model.node(i);
    if nd.version != "opset1" || nd.inputs.len() != 2 {
        return reject("op-not-int8", format!("{} version {} with {} inputs", nd.op_type, nd.version, nd.inputs.len()));
    }
    let op = main_op(model, i)?;
    let in_rank = |k: usize| nd.inputs[k].shape.rank();
    let out_rank = nd.outputs.first().map(|p| p.shape.rank()).unwrap_or(0);
    if let MainOp::MatMul { .. } = op {
        if in_rank(0) < 2 || in_rank(1) < 2 {
            return reject("matmul-rank-1", format!("input ranks {} and {}", in_rank(0), in_rank(1)));
        }
    }
    let mut act_fq = Vec::new();
    let mut acts = Vec::new();
    let (fq0, a0) = activation(model, i, 0, policy)?;
    act_fq.push(fq0);
    acts.push(a0);
    let (src1, _) = model.source_of(i, 1);
    let src1_type = model.node(src1).op_type.as_str();
    let act_x_act = match op {
        MainOp::MatMul { .. } => {
            (src1_type == "FakeQuantize" && !is_weight_fq(model, src1))
                || !matches!(src1_type, "FakeQuantize" | "Multiply" | "Const" | "Convert")
        }
        MainOp::Conv { .. } => false,
    };
    let mut weights_q = None;
    if act_x_act {
        let (fq1, a1) = activation(model, i, 1, policy)?;
        act_fq.push(fq1);
        acts.push(a1);
    } else {
        let w = match &op {
            MainOp::Conv { grouped, .. } => {
                let g = *grouped;
                weights(model, i, move |_s: &[usize]| if g { vec![0, 1] } else { vec![0] })?
            }
            MainOp::MatMul { transpose_b, .. } => {
                let tb = *transpose_b;
                weights(model, i, move |s: &[usize]| {
                    // B's batch axes and its column axis N (after transpose_b).
                    let r = s.len();
                    let mut axes: Vec<usize> = (0..r.saturating_sub(2)).collect();
                    if r >= 2 {
                        axes.push(if tb { r - 2 } else { r - 1 });
                    }
                    axes
                })?
            }
        };
        if let MainOp::MatMul { .. } = op {
            if w.shape.len() < 2 {
                return reject("matmul-rank-1", "constant weights of rank 1");
            }
        }
        weights_q = Some(w);
    }
    // Rule 4: two fractional zero points in an activation × activation MatMul.
    if acts.len() == 2 && acts.iter().all(|a| a.frac != 0.0) {
        return reject(
            "two-fractional-zero-points",
            format!("zero points {} and {} are both fractional", acts[0].z_real, acts[1].z_real),
        );
    }
    // Rule 5: K · max|q_a − z_a| · max|q_w| < 2^31.
    let k = match (&op, &weights_q) {
        (MainOp::Conv { grouped, .. }, Some(w)) => {
            let lead = if *grouped { 2 } else { 1 };
            Some(w.shape[lead..].iter().product::<usize>())
        }
        (MainOp::MatMul { transpose_b, .. }, Some(w)) => {
            let r = w.shape.len();
            Some(if *transpose_b { w.shape[r - 1] } else { w.shape[r - 2] })
        }
        (MainOp::MatMul { transpose_a, .. }, None) => {
            let s = &nd.inputs[0].shape.0;
            let r = s.len();
            let d = if *transpose_a { s[r - 2] } else { s[r - 1] };
            d.as_static().and_then(|v| usize::try_from(v).ok())
        }
        (MainOp::Conv { .. }, None) => None,
    };
    let Some(k) = k else {
        return reject("accumulator-overflow", "the reduction length is not static, so overflow cannot be excluded");
    };
    let qb = match &weights_q {
        Some(w) => w.max_abs_q as u128,
        None => acts[1].max_abs_q(),
    };
    let worst = (k as u128).saturating_mul(acts[0].max_abs_q()).saturating_mul(qb);
    if worst >= 1u128 << 31 {
        return reject(
            "accumulator-overflow",
            format!("K={k}, max|q_a|={}, max|q_w|={qb}: {worst} ≥ 2^31", acts[0].max_abs_q()),
        );
    }
    let channel_axis = match op {
        MainOp::Conv { .. } => 1,
        MainOp::MatMul { .. } => out_rank.saturating_sub(1),
    };
    let Chain { nodes: chain_nodes, bias, activation } = chain(model, i, out_rank, channel_axis)?;
    let output = chain_nodes.last().copied().unwrap_or(i);
    Ok(Block { main: i, act_fq, chain: chain_nodes, output, op, acts, weights: weights_q, bias, activation })
}
