//! The `int8-vs-fp32` check (SPEC §0.4, normative): per INT8 block, re-anchored on the FP32 run —
//! the block's activation inputs are the FP32 run's values, the block runs in INT8
//! (`reference::int8::execute_block`), and every output element must lie within
//! `reference::bound::block_bounds` of the FP32 run's value. A FakeQuantize reading the block's
//! output may select a level one away only where the flip rule allows it
//! (`reference::bound::compare_requantize`); accepted flips are counted, anything else fails.

use super::result::{CheckResult, Status};
use crate::engine::EngineError;
use conform_ir::{Model, Tensor};
use reference::bound::{block_bounds, compare_requantize, FqComparison};
use reference::int8::{self, Block, Int8Plan, ZeroPointPolicy};
use reference::{Mode, RunOptions};

const CHECK: &str = "int8-vs-fp32";

/// What the blocks of one case gave.
#[derive(Debug, Default)]
struct Tally {
    blocks: usize,
    elements: usize,
    max_abs: f64,
    /// The bound at the element where |Δ|/bound is largest, and that ratio.
    worst: (f64, f64),
    flips: u64,
    violations: Vec<String>,
}

/// A following FakeQuantize's input ranges per element of its data, and its levels.
fn fq_ranges(model: &Model, fq: usize, shape: &[usize]) -> Option<(Vec<f32>, Vec<f32>, u64)> {
    let n = conform_ir::element_count(shape)?;
    let get = |k: usize| -> Option<Vec<f32>> {
        let (src, _) = *model.sources_of(fq).get(k)?;
        let t = model.const_tensor(src).ok()?;
        let b = reference::broadcast::BroadcastIndex::new(&t.shape, shape)?;
        let v = t.to_f32_vec();
        (0..n).map(|e| v.get(b.map(e)).copied()).collect()
    };
    let levels = model.node(fq).attr_u64("levels").ok()?;
    Some((get(1)?, get(2)?, levels))
}

fn value(values: &[Vec<Option<Tensor>>], node: usize, out: usize) -> Result<&Tensor, String> {
    values.get(node).and_then(|v| v.get(out)).and_then(Option::as_ref).ok_or_else(|| "a value was not kept".into())
}

fn check_block(
    model: &Model,
    plan: &Int8Plan,
    block: &Block,
    values: &[Vec<Option<Tensor>>],
    t: &mut Tally,
) -> Result<(), String> {
    let main = &model.node(block.main).name;
    let acts: Vec<&Tensor> = block
        .act_fq
        .iter()
        .map(|&fq| {
            let (s, o) = model.source_of(fq, 0);
            value(values, s, o)
        })
        .collect::<Result<_, _>>()?;
    let y8 = int8::execute_block(model, plan, block, &acts).map_err(|e| e.to_string())?;
    let y32 = value(values, block.output, 0)?;
    let (sa, oa) = model.source_of(block.main, 0);
    let (sb, ob) = model.source_of(block.main, 1);
    let bounds =
        block_bounds(model, block, value(values, sa, oa)?, value(values, sb, ob)?).map_err(|e| e.to_string())?;
    if y8.shape != y32.shape || bounds.len() != y8.len() {
        return Err(format!("block {main}: INT8 shape {:?}, FP32 {:?}", y8.shape, y32.shape));
    }
    t.blocks += 1;
    let (a8, a32) = (y8.to_f32_vec(), y32.to_f32_vec());
    for (e, ((&a, &b), &bd)) in a8.iter().zip(&a32).zip(&bounds).enumerate() {
        t.elements += 1;
        if a.is_nan() && b.is_nan() {
            continue;
        }
        let d = (a as f64 - b as f64).abs();
        t.max_abs = t.max_abs.max(d);
        if bd > 0.0 && bd.is_finite() && d / bd > t.worst.1 {
            t.worst = (bd, d / bd);
        }
        // A NaN on one side only makes `d` NaN, which is not within any bound.
        let within = d <= bd;
        if !within && t.violations.len() < 5 {
            t.violations.push(format!("block {main} element {e}: INT8 {a} FP32 {b} |Δ| {d:e} > bound {bd:e}"));
        }
    }
    for &(c, port) in model.consumers_of(block.output, 0) {
        if model.node(c).op_type != "FakeQuantize" || port != 0 {
            continue;
        }
        let Some((il, ih, levels)) = fq_ranges(model, c, &y32.shape) else { continue };
        for e in 0..a8.len() {
            match compare_requantize(a32[e], a8[e], bounds[e], il[e], ih[e], levels) {
                FqComparison::SameLevel => {}
                FqComparison::AcceptedFlip => t.flips += 1,
                FqComparison::Violation if t.violations.len() < 5 => t.violations.push(format!(
                    "FakeQuantize {} after block {main}, element {e}: FP32 {} INT8 {}: not a permitted flip",
                    model.node(c).name,
                    a32[e],
                    a8[e]
                )),
                FqComparison::Violation => {}
            }
        }
    }
    Ok(())
}

/// Runs the check on one model and its inputs.
pub fn check(model: &Model, inputs: &[Tensor], max_memory: Option<u64>) -> CheckResult {
    let engines = vec!["reference:int8".to_string(), "reference:fp32".to_string()];
    let policy = ZeroPointPolicy::Exact;
    let fp32 = reference::run(model, inputs, &RunOptions { mode: Mode::Fp32, max_memory, keep_values: true });
    let values = match fp32 {
        Ok(out) => out.values.unwrap_or_default(),
        Err(e) => {
            return match crate::engine::reference_error(e) {
                EngineError::Cannot(why) => CheckResult::skipped(CHECK, engines, why),
                EngineError::Invalid(why) | EngineError::Failed(why) => {
                    CheckResult::bad_input(CHECK, engines, format!("reference:fp32: {why}"))
                }
            }
        }
    };
    let plan = match int8::analyze(model, policy) {
        Ok(p) => p,
        Err(e) => {
            let mut r = CheckResult::new(CHECK, engines, Status::Failed, format!("INT8 plan failed: {e}"));
            r.classification = Some("engine-error".into());
            return r;
        }
    };
    if plan.blocks.is_empty() {
        return CheckResult::skipped(CHECK, engines, "no INT8 block in this model");
    }
    let mut t = Tally::default();
    for block in &plan.blocks {
        if let Err(e) = check_block(model, &plan, block, &values, &mut t) {
            let mut r = CheckResult::new(CHECK, engines, Status::Failed, e);
            r.classification = Some("engine-error".into());
            return r;
        }
    }
    let status = if t.violations.is_empty() { Status::Passed } else { Status::Failed };
    let detail = if t.violations.is_empty() {
        format!(
            "{} blocks, {} elements, worst |Δ|/bound {:.3}, {} accepted flips",
            t.blocks, t.elements, t.worst.1, t.flips
        )
    } else {
        t.violations.join("; ")
    };
    let mut r = CheckResult::new(CHECK, engines, status, detail);
    r.max_abs = Some(t.max_abs);
    r.bound = Some(t.worst.0);
    r.flips = Some(t.flips);
    if status == Status::Failed {
        r.classification = Some("bound-violation".into());
    }
    r
}

/// The SPEC §3.2 bound of every INT8 block's output element, keyed by the block's output node,
/// computed from an FP32 run's kept values (`values[node][output]`). Blocks whose bound cannot be
/// computed are left out.
pub fn block_output_bounds(model: &Model, values: &[Vec<Option<Tensor>>]) -> Vec<(usize, Vec<f64>)> {
    let Ok(plan) = int8::analyze(model, ZeroPointPolicy::Exact) else { return Vec::new() };
    let mut out = Vec::new();
    for block in &plan.blocks {
        let (sa, oa) = model.source_of(block.main, 0);
        let (sb, ob) = model.source_of(block.main, 1);
        let (Ok(a), Ok(b)) = (value(values, sa, oa), value(values, sb, ob)) else { continue };
        if let Ok(bounds) = block_bounds(model, block, a, b) {
            out.push((block.output, bounds));
        }
    }
    out
}
