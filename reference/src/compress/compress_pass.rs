//! `compress`: expanded weights (`Const [→ Convert] → FakeQuantize`) to compressed-fq or
//! compressed-dq, with the per-tensor exactness report.

use super::expand_pass::Origins;
use super::graph::{binary_node, const_node, convert_node, Graph};
use super::quant::{dq_value, fused_value, quantize_weight, scale_zero_point_tensors, signed_low, Grid, Operand};
use super::report::{Diff, Refusal, Report, TensorReport};
use super::{const_size, const_through_convert, read_const, Bits, CompressError, CompressOptions, Form};
use crate::broadcast::BroadcastIndex;
use crate::fq::fake_quantize_scalar;
use conform_ir::forms::WeightForm;
use conform_ir::model::encode;
use conform_ir::{ElementType, Model, TensorData};

/// A matched expanded weight subgraph, its values read.
struct Matched {
    fq: usize,
    data_const: usize,
    levels: u64,
    /// The values the FakeQuantize stands for when it was expanded from a dq subgraph by
    /// `compress` itself: the report compares with these.
    before: Option<Vec<f32>>,
    /// The form of the subgraph in the input model.
    from_form: WeightForm,
    shape: Vec<usize>,
    w: Vec<f32>,
    /// il, ih, ol, oh.
    ranges: [Operand; 4],
    range_nodes: [usize; 4],
}

const RANGE_NAMES: [&str; 4] = ["input_low", "input_high", "output_low", "output_high"];

/// Matches the FakeQuantize at `fq`; `Err(reason)` when it cannot be compressed.
fn match_fq(model: &Model, fq: usize, opts: &CompressOptions) -> Result<Result<Matched, String>, CompressError> {
    let node = model.node(fq);
    if node.inputs.len() != 5 || node.outputs.len() != 1 {
        return Ok(Err(format!("{} inputs and {} outputs (expected 5 and 1)", node.inputs.len(), node.outputs.len())));
    }
    let levels: u64 = match node.attr_u64("levels") {
        Ok(l) => l,
        Err(e) => return Ok(Err(e.to_string())),
    };
    if !(3..=256).contains(&levels) {
        return Ok(Err(format!("levels {levels} outside 3..=256 (no integer storage in OpenVINO's scheme)")));
    }
    if opts.bits == Bits::Four && levels > 16 {
        return Ok(Err(format!("--bits 4 with levels {levels} > 16")));
    }
    match node.attr("auto_broadcast").map(str::trim) {
        None | Some("numpy") | Some("none") => {}
        Some(other) => return Ok(Err(format!("auto_broadcast `{other}` (only numpy and none are compressed)"))),
    }
    // Data: Const, or Const → Convert(f32).
    let (src, _) = model.source_of(fq, 0);
    let src_node = model.node(src);
    let (data_const, convert): (usize, Option<usize>) = if src_node.is_const() {
        (src, None)
    } else if src_node.op_type == "Convert" {
        let dest = src_node.attr("destination_type").map(str::trim).unwrap_or("");
        if dest != "f32" {
            return Ok(Err(format!("the weights' Convert \"{}\" converts to `{dest}`, not f32", src_node.name)));
        }
        // A malformed Convert may declare no input: then it is no weight.
        let Some(&(c, _)) = model.sources_of(src).first() else {
            return Ok(Err(format!("the Convert \"{}\" has no input", src_node.name)));
        };
        if !model.node(c).is_const() {
            return Ok(Err(format!(
                "non-constant data: the Convert \"{}\" reads {} \"{}\"",
                src_node.name,
                model.node(c).op_type,
                model.node(c).name
            )));
        }
        (c, Some(src))
    } else {
        return Ok(Err(format!("non-constant data: input 0 comes from {} \"{}\"", src_node.op_type, src_node.name)));
    };
    let data_type = model.node(data_const).constant.map_or(ElementType::F32, |c| c.element_type);
    if data_type == ElementType::F64 {
        return Ok(Err("f64 weight data (OpenVINO compresses f32/f16/bf16 only)".into()));
    }
    if convert.is_none() && data_type != ElementType::F32 {
        return Ok(Err(format!("a FakeQuantize on {data_type} data (only f32 FakeQuantize are compressed)")));
    }
    let mut range_nodes = [0usize; 4];
    for (k, slot) in range_nodes.iter_mut().enumerate() {
        // A Const, or an f16/bf16 Const decompressed by a Convert to f32 (IRs saved with
        // compress_to_fp16): the values are exact in f32 either way.
        let Some((c, cvt)) = const_through_convert(model, fq, k + 1) else {
            let (s, _) = model.source_of(fq, k + 1);
            return Ok(Err(format!(
                "non-constant {}: it comes from {} \"{}\"",
                RANGE_NAMES[k],
                model.node(s).op_type,
                model.node(s).name
            )));
        };
        let et = model.node(c).constant.map_or(ElementType::F32, |v| v.element_type);
        let ok = et == ElementType::F32 || (cvt.is_some() && matches!(et, ElementType::F16 | ElementType::BF16));
        if !ok {
            return Ok(Err(format!("{} is {et} (only f32 FakeQuantize are compressed)", RANGE_NAMES[k])));
        }
        *slot = c;
    }
    let t = read_const(model, data_const)?;
    let w = t.to_f32_vec();
    if let Some(i) = w.iter().position(|x| x.is_nan()) {
        return Ok(Err(format!("weight element {i} is NaN")));
    }
    let shape = t.shape;
    let mut ranges: Vec<Operand> = Vec::with_capacity(4);
    for (k, &c) in range_nodes.iter().enumerate() {
        let r = read_const(model, c)?;
        let op = Operand { data: r.to_f32_vec(), shape: r.shape };
        if op.index(&shape).is_none() {
            return Ok(Err(format!(
                "{} of shape {:?} does not broadcast to the weights' shape {:?}",
                RANGE_NAMES[k], op.shape, shape
            )));
        }
        ranges.push(op);
    }
    let [il, ih, ol, oh]: [Operand; 4] =
        ranges.try_into().map_err(|_| CompressError::Internal("four ranges expected".into()))?;
    Ok(Ok(Matched {
        fq,
        data_const,
        before: None,
        from_form: WeightForm::Expanded,
        levels,
        shape,
        w,
        ranges: [il, ih, ol, oh],
        range_nodes,
    }))
}

/// The storage type and grid for a matched FakeQuantize.
fn grid_for(m: &Matched, opts: &CompressOptions) -> Grid {
    let four = match opts.bits {
        Bits::Auto => m.levels <= 16,
        Bits::Eight => false,
        Bits::Four => true,
    };
    // OpenVINO: unsigned when every ol and oh value is >= 0 (`is_non_negative`), dq form only.
    let unsigned = opts.form == Form::Dq && m.ranges[2].data.iter().chain(&m.ranges[3].data).all(|&v| v >= 0.0);
    let (element_type, low) = match (four, unsigned) {
        (true, true) => (ElementType::U4, 0),
        (true, false) => (ElementType::I4, signed_low(m.levels)),
        (false, true) => (ElementType::U8, 0),
        (false, false) => (ElementType::I8, signed_low(m.levels)),
    };
    Grid { levels: m.levels, low, element_type }
}

fn encode_ints(et: ElementType, q: &[i64]) -> Vec<u8> {
    let data = if matches!(et, ElementType::U8 | ElementType::U4) {
        TensorData::U8(q.iter().map(|&v| v as u8).collect())
    } else {
        TensorData::I8(q.iter().map(|&v| v as i8).collect())
    };
    encode(et, &data)
}

fn f32_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// Per-element broadcast maps of the four ranges.
fn range_maps(m: &Matched) -> Result<[BroadcastIndex; 4], CompressError> {
    let mk = |k: usize| {
        m.ranges[k].index(&m.shape).ok_or_else(|| CompressError::Internal("range no longer broadcasts".into()))
    };
    Ok([mk(0)?, mk(1)?, mk(2)?, mk(3)?])
}

/// Compresses every weight subgraph of `model` into `opts.form`. Weights already compressed (in
/// either form) are first expanded (see [`super::expand`]) and compressed again, so that the
/// output is canonical whatever the input's form; their report compares the final values with
/// the values of the subgraph they replace.
pub fn compress(model: &Model, opts: &CompressOptions) -> Result<(Model, Report), CompressError> {
    // What --bits 4 cannot store is left compressed as it is rather than expanded.
    let max_levels = (opts.bits == Bits::Four).then_some(16);
    let (m, erep, origins) = super::expand_pass::expand_with(model, max_levels)?;
    let (out, mut report) = compress_impl(&m, opts, &origins)?;
    report.refused.extend(erep.refused);
    report.finish();
    Ok((out, report))
}

fn compress_impl(model: &Model, opts: &CompressOptions, origins: &Origins) -> Result<(Model, Report), CompressError> {
    let mut g = Graph::from_model(model);
    let mut report = Report { command: "compress".into(), ..Report::default() };
    for &fq in model.topo_order() {
        let node = model.node(fq);
        if node.op_type != "FakeQuantize" {
            continue;
        }
        let m = match match_fq(model, fq, opts)? {
            Ok(mut m) => {
                if let Some((form, values)) = origins.get(&node.name) {
                    m.from_form = *form;
                    m.before = values.clone();
                }
                m
            }
            Err(reason) => {
                report.refused.push(Refusal { name: node.name.clone(), reason });
                continue;
            }
        };
        let grid = grid_for(&m, opts);
        let maps = range_maps(&m)?;
        // Integer weights exactly as OpenVINO computes them.
        let mut q = Vec::with_capacity(m.w.len());
        let mut bad = None;
        for (i, &w) in m.w.iter().enumerate() {
            match quantize_weight(w, m.ranges[0].at(&maps[0], i), m.ranges[1].at(&maps[1], i), &grid) {
                Some(v) => q.push(v),
                None => {
                    bad = Some(i);
                    break;
                }
            }
        }
        if let Some(i) = bad {
            report.refused.push(Refusal {
                name: node.name.clone(),
                reason: format!(
                    "weight element {i} quantizes outside [{}, {}] (inverted input range?)",
                    grid.low,
                    grid.high()
                ),
            });
            continue;
        }
        let entry = match opts.form {
            Form::Fq => rewrite_fq(model, &mut g, &m, &grid, &maps, &q)?,
            Form::Dq => match rewrite_dq(model, &mut g, &m, &grid, &maps, &q)? {
                Ok(e) => e,
                Err(reason) => {
                    report.refused.push(Refusal { name: node.name.clone(), reason });
                    continue;
                }
            },
        };
        report.tensors.push(entry);
    }
    report.finish();
    Ok((g.finish()?, report))
}

/// The original FakeQuantize output and `R = max(|ol|,|oh|)` of element `i`.
fn original(m: &Matched, maps: &[BroadcastIndex; 4], i: usize) -> (f32, f32) {
    let [il, ih, ol, oh] = [0, 1, 2, 3].map(|k| m.ranges[k].at(&maps[k], i));
    let value = match m.before.as_ref().and_then(|b| b.get(i)) {
        Some(&v) => v,
        None => fake_quantize_scalar(m.w[i], il, ih, ol, oh, m.levels),
    };
    (value, ol.abs().max(oh.abs()))
}

/// Adds the integer Const and its Convert next to the weights; returns the Convert's index.
fn add_integer_weights(model: &Model, g: &mut Graph, m: &Matched, grid: &Grid, q: &[i64]) -> usize {
    let wname = model.node(m.data_const).name.clone();
    let bytes = encode_ints(grid.element_type, q);
    let wq = g.add_after(m.data_const, const_node(wname.clone(), grid.element_type, &m.shape, &bytes), Some(bytes));
    let cv = g.add_after(wq, convert_node(format!("{wname}/convert"), grid.element_type, &m.shape), None);
    g.connect((wq, 0), (cv, 0));
    cv
}

fn base_report(
    model: &Model,
    m: &Matched,
    grid: &Grid,
    form: Form,
    diff: Diff,
    qparams: u64,
    note: String,
) -> TensorReport {
    let elements = m.w.len() as u64;
    TensorReport {
        name: model.node(m.fq).name.clone(),
        weights: model.node(m.data_const).name.clone(),
        form: form.name().into(),
        from_form: m.from_form.name().into(),
        element_type: grid.element_type.ir_name().into(),
        levels: m.levels,
        elements,
        not_bit_identical: diff.not_bit_identical,
        max_ulp: diff.max_ulp,
        max_ulp_steps: diff.max_ulp_steps,
        max_abs: diff.max_abs,
        stored_bytes: grid.element_type.storage_bytes(elements).unwrap_or(u64::MAX),
        quant_param_bytes: qparams,
        fp32_equivalent_bytes: elements.saturating_mul(4),
        differs_above_input_high: None,
        differs_in_sign_of_zero: diff.sign_of_zero,
        note,
    }
}

/// compressed-fq: `Const(q) → Convert → FakeQuantize(n, n+L−1, ol, oh)`.
fn rewrite_fq(
    model: &Model,
    g: &mut Graph,
    m: &Matched,
    grid: &Grid,
    maps: &[BroadcastIndex; 4],
    q: &[i64],
) -> Result<TensorReport, CompressError> {
    let (lo, hi) = (grid.low as f32, grid.high() as f32);
    let mut diff = Diff::default();
    // SPEC §2.2 predicts differences only where w > ih; count the ones it explains.
    let mut above = 0u64;
    for (i, &qi) in q.iter().enumerate() {
        let (before, r) = original(m, maps, i);
        let ol = m.ranges[2].at(&maps[2], i);
        let oh = m.ranges[3].at(&maps[3], i);
        let after = fake_quantize_scalar(qi as f32, lo, hi, ol, oh, m.levels);
        // A difference only in the sign of zero (ol = −0: the interior gives 0 + (−0) = +0, the
        // compressed grid's low end returns ol itself) is counted apart by `Diff`.
        let sign_of_zero = before == 0.0 && after == 0.0;
        if before.to_bits() != after.to_bits()
            && !sign_of_zero
            && m.w[i] > m.ranges[0].at(&maps[0], i).max(m.ranges[1].at(&maps[1], i))
        {
            above += 1;
        }
        diff.add(before, after, r);
    }
    let cv = add_integer_weights(model, g, m, grid, q);
    let fq_name = model.node(m.fq).name.clone();
    let il_bytes = f32_bytes(&[lo]);
    let ih_bytes = f32_bytes(&[hi]);
    let il =
        g.add_after(cv, const_node(format!("{fq_name}/input_low"), ElementType::F32, &[], &il_bytes), Some(il_bytes));
    let ih =
        g.add_after(il, const_node(format!("{fq_name}/input_high"), ElementType::F32, &[], &ih_bytes), Some(ih_bytes));
    // Rewire inputs 0..2 of the FakeQuantize (ol and oh stay).
    g.disconnect_input(m.fq, 0);
    g.disconnect_input(m.fq, 1);
    g.disconnect_input(m.fq, 2);
    g.connect((cv, 0), (m.fq, 0));
    g.connect((il, 0), (m.fq, 1));
    g.connect((ih, 0), (m.fq, 2));
    g.set_input_shape(m.fq, 1, &[]);
    g.set_input_shape(m.fq, 2, &[]);
    let qparams = 8 + const_size(model, m.range_nodes[2]) + const_size(model, m.range_nodes[3]);
    let mut note = format!("grid [{}, {}]", grid.low, grid.high());
    if diff.not_bit_identical > 0 {
        note.push_str(&format!(
            "; {above} of the {} differences where w > input_high (SPEC §2.2: oh vs (oh-ol)+ol), {} only in the sign of zero",
            diff.not_bit_identical, diff.sign_of_zero
        ));
    }
    let mut rep = base_report(model, m, grid, Form::Fq, diff, qparams, note);
    rep.differs_above_input_high = Some(above);
    Ok(rep)
}

/// compressed-dq: `Const(q) → Convert → [Subtract(zp)] → Multiply(scale)`, OpenVINO's arithmetic.
fn rewrite_dq(
    model: &Model,
    g: &mut Graph,
    m: &Matched,
    grid: &Grid,
    maps: &[BroadcastIndex; 4],
    q: &[i64],
) -> Result<Result<TensorReport, String>, CompressError> {
    let Some((scale, zp, zp_is_zero)) = scale_zero_point_tensors(&m.ranges[2], &m.ranges[3], m.levels, grid.low) else {
        return Ok(Err("output_low and output_high do not broadcast together".into()));
    };
    let (Some(smap), Some(zmap)) = (scale.index(&m.shape), zp.index(&m.shape)) else {
        return Ok(Err(format!("scale of shape {:?} does not broadcast to the weights' shape", scale.shape)));
    };
    // Zero point: dropped when |zp| < FLT_EPSILON everywhere, fused into q when exact.
    let (stored, keep_zp, note) = if zp_is_zero {
        (q.to_vec(), false, "no zero point (|zp| < FLT_EPSILON)".to_string())
    } else {
        let fused: Option<Vec<i64>> =
            q.iter().enumerate().map(|(i, &qi)| fused_value(qi, zp.at(&zmap, i), grid.element_type)).collect();
        match fused {
            Some(f) => (f, false, "integer zero point fused into the weights".to_string()),
            None => (q.to_vec(), true, "zero point kept (Subtract)".to_string()),
        }
    };
    let mut diff = Diff::default();
    for (i, &qi) in stored.iter().enumerate() {
        let (before, r) = original(m, maps, i);
        let z = keep_zp.then(|| zp.at(&zmap, i));
        diff.add(before, dq_value(qi, z, scale.at(&smap, i)), r);
    }
    let cv = add_integer_weights(model, g, m, grid, &stored);
    let fq_node = model.node(m.fq);
    let fq_name = fq_node.name.clone();
    let mut last = (cv, 0usize);
    let mut anchor = cv;
    let mut qparams = 0u64;
    if keep_zp {
        let zb = f32_bytes(&zp.data);
        qparams += zb.len() as u64;
        let zc = g.add_after(
            anchor,
            const_node(format!("{fq_name}/zero_point"), ElementType::F32, &zp.shape, &zb),
            Some(zb),
        );
        let sub = g.add_after(
            zc,
            binary_node(format!("{fq_name}/subtract"), "Subtract", &m.shape, &zp.shape, &m.shape),
            None,
        );
        g.connect(last, (sub, 0));
        g.connect((zc, 0), (sub, 1));
        last = (sub, 0);
        anchor = sub;
    }
    let sb = f32_bytes(&scale.data);
    qparams += sb.len() as u64;
    let sc = g.add_after(anchor, const_node(format!("{fq_name}/scale"), ElementType::F32, &scale.shape, &sb), Some(sb));
    let mut mul_node = binary_node(fq_name, "Multiply", &m.shape, &scale.shape, &m.shape);
    // The Multiply takes the FakeQuantize's place: its name, tensor names and rt_info (OpenVINO
    // keeps the friendly name and copies runtime info the same way).
    if let (Some(out), Some(orig)) = (mul_node.outputs.first_mut(), fq_node.outputs.first()) {
        out.names = orig.names.clone();
        out.rt_info = orig.rt_info.clone();
    }
    mul_node.rt_info = fq_node.rt_info.clone();
    let mul = g.add_after(sc, mul_node, None);
    g.connect(last, (mul, 0));
    g.connect((sc, 0), (mul, 1));
    g.redirect_consumers((m.fq, 0), (mul, 0));
    g.remove(m.fq);
    Ok(Ok(base_report(model, m, grid, Form::Dq, diff, qparams, note)))
}
