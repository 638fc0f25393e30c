//! The checks one case goes through, each returning a [`CheckResult`]:
//!
//! - `manifest`: the IR reads, and its op counts, FakeQuantize levels and weight form agree with
//!   the case's `manifest.json` (written by the OpenVINO-based generator).
//! - `fp32-vs-fallback`: the reference in FP32 against OpenVINO's reference outputs
//!   (`fallback_f32_K.npy`). The bound per output is the distance of OpenVINO's own FP32 CPU
//!   plugin from that reference (`cpu_nolpt.diff_vs_fallback[k].max_abs` in the manifest): the
//!   reference must be at least as close to OpenVINO's reference as OpenVINO's plugin is; where
//!   the plugin is bit-exact the bound is 0 (bit-exact).
//! - `int8-vs-fp32` and `optimized-vs-reference` run when their parts are in the build.

use super::case::Case;
use super::result::{CheckResult, Status};
use crate::compare;
use crate::engine::{Engine, EngineError, ModelRef};
use crate::inspect::InspectReport;
use conform_ir::forms::WeightForm;
use conform_ir::Tensor;
use serde_json::Value;
use std::collections::BTreeMap;

/// OpenVINO's Python type names (manifests) and the IR's type strings differ in case
/// (`Relu`/`ReLU`, `Softmax`/`SoftMax`) and for `Constant`/`Const`.
fn op_key(name: &str) -> String {
    let l = name.to_ascii_lowercase();
    if l == "constant" {
        "const".into()
    } else {
        l
    }
}

/// The `manifest` check.
pub fn manifest_check(case: &Case, report: &InspectReport) -> CheckResult {
    let Some(m) = &case.manifest else {
        return CheckResult::new("read", vec![], Status::Passed, "the IR reads and inspects (no manifest)");
    };
    let mut problems = Vec::new();
    let ours: BTreeMap<String, u64> = report.ops.iter().map(|(k, v)| (op_key(k), *v)).collect();
    let theirs: BTreeMap<String, u64> = m
        .get("op_counts")
        .and_then(Value::as_object)
        .map(|o| o.iter().map(|(k, v)| (op_key(k), v.as_u64().unwrap_or(u64::MAX))).collect())
        .unwrap_or_default();
    if ours != theirs {
        problems.push(format!("op counts {ours:?} != manifest {theirs:?}"));
    }
    let mut levels: BTreeMap<String, u64> = BTreeMap::new();
    for fq in &report.fake_quantize {
        *levels.entry(fq.levels.to_string()).or_default() += 1;
    }
    let want_levels: BTreeMap<String, u64> = m
        .pointer("/fake_quantize/levels")
        .and_then(Value::as_object)
        .map(|o| o.iter().map(|(k, v)| (k.clone(), v.as_u64().unwrap_or(u64::MAX))).collect())
        .unwrap_or_default();
    // Regression manifests (CONTRACT.md) need not list the levels: compare them when given.
    if m.pointer("/fake_quantize/levels").is_some() && levels != want_levels {
        problems.push(format!("FakeQuantize levels {levels:?} != manifest {want_levels:?}"));
    }
    if let Some(form) = m.get("form").and_then(Value::as_str) {
        // A model without weights has no weight form; the generator labels those `expanded`.
        let no_weights =
            m.get("weight_constant_bytes_by_element_type").and_then(Value::as_object).is_some_and(|o| o.is_empty());
        let want = if no_weights { Some(WeightForm::None) } else { WeightForm::from_name(form) };
        if want.map(|w| w.name()) != Some(report.form.as_str()) {
            problems.push(format!("weight form {} != manifest {form}", report.form));
        }
    }
    if problems.is_empty() {
        CheckResult::new("manifest", vec![], Status::Passed, "op counts, FakeQuantize levels and weight form agree")
    } else {
        let mut r = CheckResult::new("manifest", vec![], Status::Failed, problems.join("; "));
        r.classification = Some("reader".into());
        r
    }
}

/// The bound of output `k` of the fp32 check: OpenVINO's FP32 CPU plugin's distance from its
/// reference; `None` when the manifest does not give it (the plugin did not compile the model).
fn fp32_bound(case: &Case, k: usize) -> Option<f64> {
    case.manifest
        .as_ref()
        .and_then(|m| m.pointer("/cpu_nolpt/diff_vs_fallback"))
        .and_then(Value::as_array)
        .and_then(|a| a.iter().find(|d| d.get("output").and_then(Value::as_u64) == Some(k as u64)))
        .and_then(|d| d.get("max_abs"))
        .and_then(Value::as_f64)
}

/// Compares an engine's outputs with expected ones under per-output bounds (0 = bit-exact). An
/// output whose bound is `None` is reported, not bounded; when no output has a bound the check is
/// SKIPPED with the figures in its detail.
pub fn compare_outputs(
    check: &str,
    engines: Vec<String>,
    actual: &[Tensor],
    expected: &[Tensor],
    bounds: &[Option<f64>],
) -> CheckResult {
    if actual.len() != expected.len() {
        let detail = format!("{} outputs, {} expected", actual.len(), expected.len());
        let mut r = CheckResult::new(check, engines, Status::Failed, detail);
        r.classification = Some("bug".into());
        return r;
    }
    let mut max_abs = 0.0f64;
    let mut max_ulp = 0u64;
    let mut failing = Vec::new();
    let (mut degenerate, mut total) = (0.0f64, 0usize);
    let mut bound_used = 0.0f64;
    let mut unbounded = Vec::new();
    for (k, (a, e)) in actual.iter().zip(expected).enumerate() {
        if a.shape != e.shape {
            failing.push(format!("output {k}: shape {:?}, expected {:?}", a.shape, e.shape));
            continue;
        }
        let av = a.to_f32_vec();
        let ev = e.to_f32_vec();
        let Some(d) = compare::diff(&av, &ev) else { continue };
        max_abs = max_abs.max(d.max_abs);
        max_ulp = max_ulp.max(d.max_ulp);
        let Some(bound) = bounds.get(k).copied().flatten() else {
            unbounded.push(format!("output {k}: max |Δ| {:.3e} ({} ulp), no bound", d.max_abs, d.max_ulp));
            continue;
        };
        bound_used = bound_used.max(bound);
        degenerate += d.degenerate_fraction * d.elements as f64;
        total += d.elements;
        let ok = if bound == 0.0 { d.bit_exact() } else { d.max_abs <= bound };
        if !ok {
            failing.push(format!(
                "output {k}: max |Δ| {:.3e} ({} ulp, {} of {} elements differ) > bound {:.3e}",
                d.max_abs, d.max_ulp, d.differing, d.elements, bound
            ));
        }
    }
    let status = if !failing.is_empty() {
        Status::Failed
    } else if !unbounded.is_empty() && total == 0 {
        Status::Skipped
    } else if total > 0 && degenerate / total as f64 > 0.5 {
        Status::Mistrusted
    } else {
        Status::Passed
    };
    let detail = match status {
        Status::Failed => failing.join("; "),
        Status::Mistrusted => format!(
            "{:.0}% of the expected elements are zero or at the output's extremes",
            100.0 * degenerate / total as f64
        ),
        Status::Skipped => format!("reported, not bounded: {}", unbounded.join("; ")),
        _ => format!("{} outputs, {total} elements", actual.len()),
    };
    let detail = if unbounded.is_empty() || status == Status::Skipped {
        detail
    } else {
        format!("{detail}; reported, not bounded: {}", unbounded.join("; "))
    };
    let mut r = CheckResult::new(check, engines, status, detail);
    r.max_abs = Some(max_abs);
    r.max_ulp = Some(max_ulp);
    r.bound = Some(bound_used);
    if status == Status::Failed {
        r.classification = Some("unclassified".into());
    }
    r
}

/// The `fp32-vs-fallback` check.
pub fn fp32_check(
    case: &Case,
    model: ModelRef<'_>,
    inputs: &[Tensor],
    expected: &[Tensor],
    engine: &mut dyn Engine,
) -> CheckResult {
    let engines = vec![engine.name(), "openvino-reference (fallback_f32)".to_string()];
    match engine.run(model, inputs) {
        Ok(out) => {
            let bounds: Vec<Option<f64>> = (0..expected.len()).map(|k| fp32_bound(case, k)).collect();
            compare_outputs("fp32-vs-fallback", engines, &out, expected, &bounds)
        }
        Err(EngineError::Cannot(why)) => CheckResult::skipped("fp32-vs-fallback", engines, why),
        Err(EngineError::Invalid(why)) => CheckResult::bad_input("fp32-vs-fallback", engines, why),
        Err(EngineError::Failed(why)) => {
            let mut r = CheckResult::new("fp32-vs-fallback", engines, Status::Failed, why);
            r.classification = Some("engine-error".into());
            r
        }
    }
}

/// An engine's outputs against expected ones, bit for bit (the optimized engine against the
/// reference INT8 mode).
pub fn bit_exact_check(
    check: &str,
    model: ModelRef<'_>,
    inputs: &[Tensor],
    expected: &[Tensor],
    engine: &mut dyn Engine,
) -> CheckResult {
    let engines = vec![engine.name(), "reference:int8".to_string()];
    match engine.run(model, inputs) {
        Ok(out) => {
            let mut r = compare_outputs(check, engines, &out, expected, &vec![Some(0.0); expected.len()]);
            if r.status == Status::Failed {
                let (label, summary) = classify_bit_exact(model.model, inputs, &out, expected);
                r.classification = Some(label.as_str().into());
                r.detail = format!("{}; {summary}", r.detail);
            }
            r
        }
        Err(EngineError::Cannot(why)) => CheckResult::skipped(check, engines, why),
        Err(EngineError::Invalid(why)) => CheckResult::bad_input(check, engines, why),
        Err(EngineError::Failed(why)) => {
            let mut r = CheckResult::new(check, engines, Status::Failed, why);
            r.classification = Some("engine-error".into());
            r
        }
    }
}

/// Classifies a bit-exact mismatch element by element ([`crate::classify`]): the reference INT8
/// run under the `round` zero-point policy is the `zero-point-rounding` explanation, the model's
/// inputs and FakeQuantize ranges give the case context; no tolerance (bit-exact).
pub fn classify_bit_exact(
    model: &conform_ir::Model,
    inputs: &[Tensor],
    actual: &[Tensor],
    expected: &[Tensor],
) -> (crate::classify::Label, String) {
    use crate::classify::{self, Classification, Element, Label};
    use reference::int8::ZeroPointPolicy;
    let ctx = classify::context_of(model, inputs);
    let opts = reference::RunOptions { mode: reference::Mode::Int8(ZeroPointPolicy::Round), ..Default::default() };
    let round = reference::run(model, inputs, &opts).map(|o| o.outputs).unwrap_or_default();
    let mut c = Classification::default();
    for (k, (a, e)) in actual.iter().zip(expected).enumerate() {
        let (av, ev) = (a.to_f32_vec(), e.to_f32_vec());
        if av.len() != ev.len() {
            c.add_label(0, Label::Bug, f32::NAN, f32::NAN);
            continue;
        }
        let rv = round.get(k).filter(|r| r.len() == ev.len()).map(Tensor::to_f32_vec);
        for i in 0..av.len() {
            let el = Element {
                actual: av[i],
                expected: ev[i],
                tolerance: 0.0,
                expected_zp_round: rv.as_ref().map(|r| r[i]),
                fq: None,
            };
            c.add(i, &el, &ctx);
        }
    }
    (c.case_label().unwrap_or(Label::Bug), c.summary())
}
