//! The `cpu-vs-reference` check: an external plugin (OpenVINO's CPU plugin) against our
//! reference, every differing element explained by the mismatch classifier ([`crate::classify`])
//! instead of a flat tolerance (SPEC §0.4, §6.3).
//!
//! Expected values: the reference INT8 mode (exact zero point) and the FP32 mode. A plugin may
//! run a block in INT8 (exact accumulation, its own f32 epilogue order) or in FP32 (any summation
//! order), so an element agrees when it lies within its tolerance of either:
//!
//! - an element an INT8 block produced: the block's SPEC §3.2 bound (which covers INT8 vs FP32,
//!   any summation order and the epilogue's roundings) plus 4·ulp(R), R the output's largest
//!   magnitude (SPEC §1.4's FakeQuantize slack);
//! - an element a FakeQuantize produced: 4·ulp(R) (SPEC §1.4); one level away is a permitted flip
//!   when the FP32 path's value lies in the §0.4 window, with `B_x` the bound of the quantized
//!   value (its block's bound, else the model's largest block bound);
//! - anything else: twice the model's largest block bound plus 4·ulp(R) (selections, movement and
//!   sums of block outputs).
//!
//! A differing element is classified against the INT8 expectation with the `round` zero-point
//! policy's value beside it (`zero-point-rounding`), and against the FP32 expectation; the less
//! serious label wins (a plugin that ran a block in FP32 and flipped a level against the FP32 path
//! is a flip, not a bug). The check FAILS with the case's label unless every difference is a
//! permitted flip (PASSED, flips counted); `implementation-defined-input` fails unconfirmed.

use super::int8::block_output_bounds;
use super::result::{CheckResult, Status};
use crate::classify::{self, CaseContext, Classification, Element, FqElement, Label};
use crate::engine::{Engine, EngineError, ModelRef};
use conform_ir::{Model, Tensor};
use reference::int8::ZeroPointPolicy;
use reference::{Mode, RunOptions};
use std::collections::HashMap;

/// The check's name.
pub const CHECK: &str = "cpu-vs-reference";

fn ulp(r: f64) -> f64 {
    if r == 0.0 || !r.is_finite() {
        return f32::MIN_POSITIVE as f64 * f32::EPSILON as f64;
    }
    let r = r as f32;
    (f32::from_bits(r.abs().to_bits() + 1) - r.abs()) as f64
}

/// The reference's three expectations of a model, with what the classifier needs.
pub struct Expectations {
    /// INT8 mode, exact zero point.
    pub int8: Vec<Tensor>,
    /// INT8 mode, zero point rounded (the CPU plugin's policy).
    pub int8_round: Vec<Tensor>,
    /// FP32 mode.
    pub fp32: Vec<Tensor>,
    /// The FP32 run's kept values.
    pub values: Vec<Vec<Option<Tensor>>>,
    /// SPEC §3.2 bound per INT8 block output node.
    pub bounds: HashMap<usize, Vec<f64>>,
    /// Largest block bound of the model (0 without blocks).
    pub max_bound: f64,
    /// Case-level context.
    pub context: CaseContext,
    /// The expectations on inputs whose elements on a rounding midpoint are re-anchored to the
    /// other level (see [`tie_anchored_inputs`]): as the CPU plugin's formula picks, and all of
    /// them; empty when no element moves.
    pub tie_anchored: Vec<Expectations>,
}

/// The level the CPU plugin's FakeQuantize JIT kernel selects (SPEC §1.4: crop with min/max,
/// `fma(x, isc, ish)`, round half to even, with `isc = (L−1)/(ih−il)`, `ish = −il·isc` in f32).
fn cpu_level(x: f32, il: f32, ih: f32, levels: u64) -> f32 {
    let isc = (levels - 1) as f32 / (ih - il);
    let ish = -il * isc;
    x.min(ih).max(il).mul_add(isc, ish).round_ties_even()
}

/// Inputs in which elements of a Parameter that feeds a FakeQuantize directly and lie in the
/// SPEC §1.4 window of a rounding midpoint (`flip_allowed` with `B_x = 0`: only `ε_t`, a few ulp)
/// are moved to the centre of the neighbouring level, so that the reference selects it: which of
/// them is the [`Anchor`] (the plugin's exact f32 steps are not documented; SPEC §1.4 lets either
/// level be selected inside the window). `None` when no element moves. A plugin that agrees
/// with the reference on such inputs differs only by permitted flips at its input FakeQuantize.
pub fn tie_anchored_inputs(model: &Model, inputs: &[Tensor], anchor: Anchor) -> Option<Vec<Tensor>> {
    let mut out = inputs.to_vec();
    let mut moved = false;
    let mut index = 0usize;
    for (k, &p) in model.parameters().iter().enumerate() {
        let Some(t) = inputs.get(k) else { continue };
        let mut v = t.to_f32_vec();
        for &(c, port) in model.consumers_of(p, 0) {
            if model.node(c).op_type != "FakeQuantize" || port != 0 {
                continue;
            }
            let Ok(levels) = model.node(c).attr_u64("levels") else { continue };
            let Some([il, ih, _, _]) = fq_ranges(model, c, &t.shape) else { continue };
            for (e, x) in v.iter_mut().enumerate() {
                let (l, h) = (il[e], ih[e]);
                let ordered = l < h;
                if !ordered || !x.is_finite() || *x <= l || *x > h || levels < 2 {
                    continue;
                }
                if !reference::bound::flip_allowed(*x, 0.0, l, h, levels) {
                    continue;
                }
                let t = reference::fq::pre_round(*x, l, h, levels);
                let ours = t.round_ties_even();
                let other = if t >= ours { ours + 1.0 } else { ours - 1.0 };
                let cpu = match anchor {
                    Anchor::CpuFormula => cpu_level(*x, l, h, levels),
                    Anchor::All => other,
                    Anchor::One(j) => {
                        index += 1;
                        if index - 1 == j {
                            other
                        } else {
                            ours
                        }
                    }
                };
                if cpu != ours && (cpu - ours).abs() == 1.0 && cpu >= 0.0 && cpu <= (levels - 1) as f32 {
                    *x = l + cpu / (levels - 1) as f32 * (h - l);
                    moved = true;
                }
            }
        }
        if let Ok(nt) = Tensor::from_f32(t.shape.clone(), v) {
            out[k] = nt;
        }
    }
    moved.then_some(out)
}

/// Which midpoint inputs [`tie_anchored_inputs`] moves to the other level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    /// Those the CPU plugin's formula ([`cpu_level`]) rounds the other way.
    CpuFormula,
    /// All of them.
    All,
    /// Only the `j`-th (in Parameter and element order).
    One(usize),
}

/// At most this many midpoint inputs are tried one at a time (each costs three reference runs).
const MAX_SINGLE_ANCHORS: usize = 8;

/// Runs the reference in INT8 (both policies) and FP32 with kept values.
pub fn expectations(model: &Model, inputs: &[Tensor], max_memory: Option<u64>) -> Result<Expectations, EngineError> {
    // The plugin may round each midpoint input either way (SPEC §1.4): as its formula says, all
    // the other way, or (for a few of them) any one the other way.
    let mut anchors = vec![Anchor::CpuFormula, Anchor::All];
    let count =
        (0..=MAX_SINGLE_ANCHORS).take_while(|&j| tie_anchored_inputs(model, inputs, Anchor::One(j)).is_some()).count();
    if count > 1 && count <= MAX_SINGLE_ANCHORS {
        anchors.extend((0..count).map(Anchor::One));
    }
    let tie_anchored = anchors
        .into_iter()
        .filter_map(|a| tie_anchored_inputs(model, inputs, a))
        .filter_map(|alt| expectations_plain(model, &alt, max_memory).ok())
        .collect();
    let mut x = expectations_plain(model, inputs, max_memory)?;
    x.tie_anchored = tie_anchored;
    Ok(x)
}

fn expectations_plain(model: &Model, inputs: &[Tensor], max_memory: Option<u64>) -> Result<Expectations, EngineError> {
    let run = |mode, keep| {
        reference::run(model, inputs, &RunOptions { mode, max_memory, keep_values: keep })
            .map_err(crate::engine::reference_error)
    };
    let fp32 = run(Mode::Fp32, true)?;
    let int8 = run(Mode::Int8(ZeroPointPolicy::Exact), false)?.outputs;
    let int8_round = run(Mode::Int8(ZeroPointPolicy::Round), false)?.outputs;
    let values = fp32.values.unwrap_or_default();
    let bounds: HashMap<usize, Vec<f64>> = block_output_bounds(model, &values).into_iter().collect();
    let max_bound = bounds.values().flatten().copied().filter(|b| b.is_finite()).fold(0.0, f64::max);
    Ok(Expectations {
        tie_anchored: Vec::new(),
        int8,
        int8_round,
        fp32: fp32.outputs,
        values,
        bounds,
        max_bound,
        context: classify::context_of(model, inputs),
    })
}

/// A FakeQuantize's constant ranges broadcast to `shape`, and its levels.
fn fq_ranges(model: &Model, fq: usize, shape: &[usize]) -> Option<[Vec<f32>; 4]> {
    let n = conform_ir::element_count(shape)?;
    let get = |k: usize| -> Option<Vec<f32>> {
        let (src, _) = *model.sources_of(fq).get(k)?;
        let t = model.const_tensor(src).ok()?;
        let b = reference::broadcast::BroadcastIndex::new(&t.shape, shape)?;
        let v = t.to_f32_vec();
        (0..n).map(|e| v.get(b.map(e)).copied()).collect()
    };
    Some([get(1)?, get(2)?, get(3)?, get(4)?])
}

/// Classifies output `k` of a plugin against the expectations; returns the classification and the
/// largest |Δ| against the INT8 expectation.
pub fn classify_output(
    model: &Model,
    x: &Expectations,
    k: usize,
    actual: &Tensor,
) -> Result<(Classification, f64), String> {
    let results = model.results();
    let res = *results.get(k).ok_or_else(|| format!("no Result {k}"))?;
    let (producer, port) = model.source_of(res, 0);
    let e8 = x.int8.get(k).ok_or("missing INT8 output")?.to_f32_vec();
    let er = x.int8_round.get(k).ok_or("missing INT8 output")?.to_f32_vec();
    let e32 = x.fp32.get(k).ok_or("missing FP32 output")?.to_f32_vec();
    let a = actual.to_f32_vec();
    let shape = &x.fp32[k].shape;
    if actual.shape != *shape || a.len() != e8.len() || e8.len() != e32.len() || er.len() != e8.len() {
        return Err(format!("output {k}: shape {:?}, expected {:?}", actual.shape, shape));
    }
    let r = e8.iter().chain(&e32).filter(|v| v.is_finite()).fold(0.0f64, |m, v| m.max(v.abs() as f64));
    let slack = 4.0 * ulp(r);
    let node = model.node(producer);
    // What the producer tells about each element.
    let block_bound = (port == 0).then(|| x.bounds.get(&producer)).flatten();
    let fq = if node.op_type == "FakeQuantize" { fq_ranges(model, producer, shape) } else { None };
    let levels = node.attr_u64("levels").unwrap_or(0);
    let (fq_src, fq_port) = model.source_of(producer, 0);
    let fq_x = fq.as_ref().and_then(|_| x.values.get(fq_src)?.get(fq_port)?.as_ref()).map(Tensor::to_f32_vec);
    let fq_xb = fq.as_ref().and_then(|_| if fq_port == 0 { x.bounds.get(&fq_src) } else { None });
    let mut c = Classification::default();
    let mut max_abs = 0.0f64;
    for i in 0..a.len() {
        let tol = match (block_bound, &fq) {
            (Some(b), _) => b.get(i).copied().unwrap_or(x.max_bound) + slack,
            (None, Some(_)) => slack,
            (None, None) => 2.0 * x.max_bound + slack,
        };
        let d = (a[i] as f64 - e8[i] as f64).abs();
        if d.is_finite() {
            max_abs = max_abs.max(d);
        }
        let fqe = |expected_x: Option<f32>| -> Option<FqElement> {
            let [il, ih, ol, oh] = fq.as_ref()?;
            Some(FqElement {
                x: expected_x?,
                bound_x: fq_xb.and_then(|b| b.get(i).copied()).unwrap_or(x.max_bound),
                il: il[i],
                ih: ih[i],
                ol: ol[i],
                oh: oh[i],
                levels,
            })
        };
        let xi = fq_x.as_ref().and_then(|v| v.get(i).copied());
        let vs8 =
            Element { actual: a[i], expected: e8[i], tolerance: tol, expected_zp_round: Some(er[i]), fq: fqe(xi) };
        let vs32 = Element { actual: a[i], expected: e32[i], tolerance: tol, expected_zp_round: None, fq: fqe(xi) };
        let l8 = classify::label_element(&vs8, &x.context);
        let l32 = classify::label_element(&vs32, &x.context);
        // Agreeing with either expectation is agreement; otherwise the less serious label.
        let (label, e) = match (l8, l32) {
            (None, _) | (_, None) => continue,
            (Some(p), Some(q)) if q < p => (q, vs32),
            (Some(p), _) => (p, vs8),
        };
        // A permitted flip at an input FakeQuantize moves everything downstream: explained when
        // the plugin agrees with the reference on the re-anchored inputs.
        let alt = x
            .tie_anchored
            .iter()
            .filter_map(|t| {
                let v8 = t.int8.get(k)?.to_f32_vec();
                let vr = t.int8_round.get(k)?.to_f32_vec();
                let v32 = t.fp32.get(k)?.to_f32_vec();
                let a8 = Element { expected: *v8.get(i)?, expected_zp_round: vr.get(i).copied(), fq: None, ..vs8 };
                let a32 = Element { expected: *v32.get(i)?, expected_zp_round: None, fq: None, ..vs8 };
                let l = [a8, a32].iter().map(|e| classify::label_element(e, &x.context)).min()?;
                Some(l.map_or(Label::RoundingTieFlip, |l| l.max(Label::RoundingTieFlip)))
            })
            .min();
        match alt {
            Some(l) if l < label => c.add_label(i, l, e.actual, e.expected),
            _ => c.add_label(i, label, e.actual, e.expected),
        }
    }
    Ok((c, max_abs))
}

/// Runs the check: the engine on the model, then every output classified.
pub fn check(engine: &mut dyn Engine, model: ModelRef<'_>, inputs: &[Tensor], max_memory: Option<u64>) -> CheckResult {
    let engines = vec![engine.name(), "reference:int8".to_string()];
    let x = match expectations(model.model, inputs, max_memory) {
        Ok(x) => x,
        Err(EngineError::Cannot(why)) => return CheckResult::skipped(CHECK, engines, format!("reference: {why}")),
        Err(EngineError::Invalid(why)) => return CheckResult::bad_input(CHECK, engines, format!("reference: {why}")),
        Err(EngineError::Failed(why)) => {
            let mut r = CheckResult::new(CHECK, engines, Status::Failed, format!("reference failed: {why}"));
            r.classification = Some("engine-error".into());
            return r;
        }
    };
    let actual = match engine.run(model, inputs) {
        Ok(a) => a,
        Err(EngineError::Cannot(why)) => return CheckResult::skipped(CHECK, engines, why),
        Err(EngineError::Failed(why) | EngineError::Invalid(why)) => {
            let mut r = CheckResult::new(CHECK, engines, Status::Failed, why);
            r.classification = Some("engine-error".into());
            return r;
        }
    };
    compare(model.model, &x, &actual, engines)
}

/// Compares a plugin's outputs with the expectations (see the module docs).
pub fn compare(model: &Model, x: &Expectations, actual: &[Tensor], engines: Vec<String>) -> CheckResult {
    if actual.len() != x.int8.len() {
        let mut r = CheckResult::new(
            CHECK,
            engines,
            Status::Failed,
            format!("{} outputs, {} expected", actual.len(), x.int8.len()),
        );
        r.classification = Some(Label::Bug.as_str().into());
        return r;
    }
    let mut all = Classification::default();
    let mut max_abs = 0.0f64;
    let mut details = Vec::new();
    let mut elements = 0usize;
    for (k, a) in actual.iter().enumerate() {
        elements += a.len();
        match classify_output(model, x, k, a) {
            Ok((c, m)) => {
                max_abs = max_abs.max(m);
                if c.differing() > 0 {
                    details.push(format!("output {k}: {}", c.summary()));
                }
                for (l, n) in c.counts {
                    *all.counts.entry(l).or_default() += n;
                }
            }
            Err(e) => {
                details.push(e);
                *all.counts.entry(Label::Bug).or_default() += 1;
            }
        }
    }
    let flips = all.counts.get(&Label::RoundingTieFlip).copied().unwrap_or(0);
    let label = all.case_label();
    let status = match label {
        None | Some(Label::RoundingTieFlip) => Status::Passed,
        _ => Status::Failed,
    };
    let detail = if details.is_empty() {
        format!("{} outputs, {elements} elements agree", actual.len())
    } else {
        details.join("; ")
    };
    let mut r = CheckResult::new(CHECK, engines, status, detail);
    r.max_abs = Some(max_abs);
    r.bound = Some(x.max_bound);
    r.flips = Some(flips);
    if status == Status::Failed {
        r.classification = label.map(|l| l.as_str().to_string());
    }
    r
}
