//! The oracles one generated case goes through, reusing `check`'s pieces:
//!
//! - (a) `vs-reference-int8`: the optimized engine on the campaign's ISA against the
//!   reference INT8 mode, bit for bit (`check::oracle::compare_outputs` with bound 0). A mismatch
//!   names the INT8 kernels of the plan (after shrinking a case has one block, so one kernel).
//! - (b) `int8-vs-fp32`: `check::int8::check` — per INT8 block, re-anchored on the FP32 run, within
//!   `reference::bound` with the SPEC §0.4 flip rule; accepted flips are counted.
//! - (e) `fallback`: the plan runs each main op in INT8 or falls back with the reason code the
//!   generator expects.
//! - (d) `memory`: quantized weight bytes stored in the IR (when the generator built them
//!   compressed) and resident in each ISA's plan, ≤ 0.26 of fp32 for 8-bit ([`super::memory`]).
//! - (f) `determinism`: every `determinism_every`-th case, and every other case of the
//!   generator's `split` size class, also runs on 2 threads; bits must match.
//!
//! The classifier labels each failure: `implementation-defined-input` (NaN/inf inputs, degenerate
//! or inverted ranges: not a confirmed bug), `rounding-tie-flip` (the case's inputs sit on
//! rounding midpoints), `saturation` (saturating regime), `zero-point-rounding` (fractional
//! activation zero point involved), else `bug`. For the bit-exact oracles every label except
//! `implementation-defined-input` is a confirmed finding: INT8.md defines those cases exactly.

use crate::check::int8 as int8_check;
use crate::check::oracle::compare_outputs;
use crate::check::result::Status;
use crate::engine::OptimizedEngine;
use crate::gen::{GenCase, Regime};
use conform_ir::Tensor;
use optimized::Precision;
use reference::int8::ZeroPointPolicy;
use reference::{Mode, RunOptions};

/// What the oracles are run with.
#[derive(Debug, Clone)]
pub struct OracleConfig {
    /// ISA variants of the optimized engine (`avx2`, `mutant:NAME`, ...), each checked; empty:
    /// skip (a) (e) (f).
    pub isas: Vec<String>,
    /// Run the INT8-vs-FP32 oracle (b).
    pub int8_vs_fp32: bool,
    /// Check determinism on every n-th case (0: never).
    pub determinism_every: u64,
    /// Check compressed against expanded weights on every n-th expanded-form case (0: never).
    pub compression_every: u64,
    /// A case taking longer than this is a `timeout` finding (measured, not preempted).
    pub case_timeout: Option<std::time::Duration>,
    /// Run the memory oracle (d) ([`super::memory`]): stored and resident weight bytes.
    pub memory: bool,
}

/// One failed oracle.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    /// The oracle's check name.
    pub check: String,
    /// The engines compared.
    pub engines: Vec<String>,
    /// The classifier's label.
    pub classification: String,
    /// What differed.
    pub message: String,
}

impl Failure {
    /// True when this is a confirmed finding (not an implementation-defined input, nor an open
    /// finding listed in [`super::memory::KNOWN`]).
    pub fn confirmed(&self) -> bool {
        self.classification != "implementation-defined-input" && self.classification != super::memory::KNOWN_FINDING
    }
}

/// The outcome of one case.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// Failed oracles.
    pub failures: Vec<Failure>,
    /// True when a compared output was mostly zero or clamped (MISTRUSTED, not passed).
    pub mistrusted: bool,
    /// Accepted FakeQuantize flips.
    pub flips: u64,
    /// Oracles skipped, with why.
    pub skipped: Vec<String>,
    /// Oracles that compared something (passed or not).
    pub ran: Vec<&'static str>,
}

impl Outcome {
    /// The first confirmed failure.
    pub fn confirmed(&self) -> Option<&Failure> {
        self.failures.iter().find(|f| f.confirmed())
    }
}

/// Labels a failure of a case through the mismatch classifier ([`crate::classify`]) from what the
/// generator knows of it (the compared tensors are not at hand here; data-driven labels such as
/// `zero-point-rounding` by re-running the reference under the `round` policy are applied by the
/// callers that have them). On a bit-exact oracle neither ties nor a fractional zero point explain
/// a difference (INT8.md defines both exactly), so those cases are `bug` there.
pub fn classify(case: &GenCase, bit_exact: bool) -> &'static str {
    let hints = crate::classify::CaseHints {
        special_inputs: case.special_input,
        saturating: case.regime == Regime::Extremes,
        fractional_zero_point: case.descriptor.contains("act×act"),
        ties: case.regime == Regime::Ties,
    };
    crate::classify::label_from_hints(&hints, bit_exact).as_str()
}

fn fail(case: &GenCase, check: &str, engines: Vec<String>, bit_exact: bool, message: String) -> Failure {
    Failure { check: check.into(), engines, classification: classify(case, bit_exact).into(), message }
}

/// The reference INT8 outputs (exact zero-point policy).
pub fn reference_int8(case: &GenCase) -> Result<Vec<Tensor>, String> {
    let opts = RunOptions { mode: Mode::Int8(ZeroPointPolicy::Exact), max_memory: None, keep_values: false };
    reference::run(&case.model, &case.inputs, &opts).map(|o| o.outputs).map_err(|e| e.to_string())
}

/// (c) `compressed-vs-expanded`: compress the expanded weights (`reference::compress`, both
/// forms); where the compression report predicts every weight element bit-identical
/// (`not_bit_identical == 0`), the FP32 reference outputs of the two models must be identical bit
/// for bit. Where it predicts differences the check is skipped (the report's own tests bound them).
fn compression_oracle(case: &GenCase, out: &mut Outcome) {
    use reference::compress::{compress, Bits, CompressOptions, Form};
    let fp32 = |m: &conform_ir::Model| {
        let opts = RunOptions { mode: Mode::Fp32, max_memory: None, keep_values: false };
        reference::run(m, &case.inputs, &opts).map(|o| o.outputs).map_err(|e| e.to_string())
    };
    let Ok(base) = fp32(&case.model) else { return };
    for form in [Form::Fq, Form::Dq] {
        let (m2, rep) = match compress(&case.model, &CompressOptions { form, bits: Bits::Auto }) {
            Ok(x) => x,
            Err(e) => {
                out.failures.push(Failure {
                    check: "compressed-vs-expanded".into(),
                    engines: vec!["reference:compress".into()],
                    classification: "bug".into(),
                    message: format!("compress --form {}: {e}", form.name()),
                });
                continue;
            }
        };
        if rep.totals.not_bit_identical != 0 || rep.totals.tensors == 0 {
            out.skipped.push(format!(
                "compressed-vs-expanded ({}): {} elements predicted to differ",
                form.name(),
                rep.totals.not_bit_identical
            ));
            continue;
        }
        let engines = vec![format!("reference:fp32 (compressed-{})", form.name()), "reference:fp32 (expanded)".into()];
        out.ran.push("compressed-vs-expanded");
        match fp32(&m2) {
            Ok(y) => {
                let r =
                    compare_outputs("compressed-vs-expanded", engines.clone(), &y, &base, &vec![Some(0.0); base.len()]);
                if r.status == Status::Failed {
                    out.failures.push(Failure {
                        check: "compressed-vs-expanded".into(),
                        engines,
                        classification: "bug".into(),
                        message: format!("the report predicts identical weights, the outputs differ: {}", r.detail),
                    });
                }
            }
            Err(e) => out.failures.push(Failure {
                check: "compressed-vs-expanded".into(),
                engines,
                classification: "bug".into(),
                message: format!("the compressed model does not run: {e}"),
            }),
        }
    }
}

/// True when `y` equals, bit for bit, the reference INT8 outputs under the `round` policy.
fn matches_round_policy(case: &GenCase, y: &[Tensor]) -> bool {
    let opts = RunOptions { mode: Mode::Int8(ZeroPointPolicy::Round), max_memory: None, keep_values: false };
    let Ok(r) = reference::run(&case.model, &case.inputs, &opts) else { return false };
    let bits = |t: &Tensor| t.to_f32_vec().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    r.outputs.len() == y.len() && r.outputs.iter().zip(y).all(|(a, b)| bits(a) == bits(b))
}

/// Runs every configured oracle on a case.
pub fn run(case: &GenCase, cfg: &OracleConfig, index: u64) -> Outcome {
    let start = std::time::Instant::now();
    let mut out = run_untimed(case, cfg, index);
    if let Some(limit) = cfg.case_timeout {
        let took = start.elapsed();
        if took > limit {
            out.failures.push(Failure {
                check: "timeout".into(),
                engines: cfg.isas.iter().map(|i| format!("optimized:{i}")).collect(),
                classification: "timeout".into(),
                message: format!(
                    "the case took {:.2} s > --case-timeout {:.2} s",
                    took.as_secs_f64(),
                    limit.as_secs_f64()
                ),
            });
        }
    }
    out
}

fn run_untimed(case: &GenCase, cfg: &OracleConfig, index: u64) -> Outcome {
    let mut out = Outcome::default();
    if cfg.compression_every > 0
        && index.is_multiple_of(cfg.compression_every)
        && case.form == crate::gen::Form::Expanded
    {
        compression_oracle(case, &mut out);
    }
    let r8 = match reference_int8(case) {
        Ok(r) => Some(r),
        Err(e) => {
            out.failures.push(Failure {
                check: "reference".into(),
                engines: vec!["reference:int8".into()],
                classification: "bug".into(),
                message: format!("the reference INT8 run failed on a generated case: {e}"),
            });
            None
        }
    };
    let mut resident = Vec::new();
    if let Some(r8) = &r8 {
        for isa in &cfg.isas {
            if let Some(r) = optimized_oracles(case, isa, r8, cfg, index, &mut out) {
                resident.push((format!("optimized:{isa}"), r));
            }
        }
    }
    if cfg.memory {
        memory_oracle(case, &resident, &mut out);
    }
    if cfg.int8_vs_fp32 {
        let r = int8_check::check(&case.model, &case.inputs, None);
        if r.status != Status::Skipped {
            out.ran.push("int8-vs-fp32");
        }
        match r.status {
            Status::Failed => out.failures.push(fail(case, "int8-vs-fp32", r.engines, false, r.detail)),
            Status::Skipped => out.skipped.push(format!("int8-vs-fp32: {}", r.detail)),
            _ => {}
        }
        out.flips += r.flips.unwrap_or(0);
    }
    out
}

/// (d) `memory` ([`super::memory::check`]): the stored part is held when the generator built the
/// weights compressed; the resident part on every plan compiled.
fn memory_oracle(case: &GenCase, resident: &[(String, super::memory::Resident)], out: &mut Outcome) {
    use super::memory::{check, Storage};
    let storage = if case.form == crate::gen::Form::Expanded { Storage::Expanded } else { Storage::Compressed };
    let r = check(&case.model, storage, resident);
    if r.status != Status::Skipped {
        out.ran.push("memory");
    }
    match r.status {
        Status::Failed => out.failures.push(Failure {
            check: r.check,
            engines: r.engines,
            classification: r.classification.unwrap_or_else(|| "bug".into()),
            message: r.detail,
        }),
        Status::Skipped => out.skipped.push(format!("memory: {}", r.detail)),
        _ => {}
    }
}

/// (a), (e), (f) on one ISA variant; returns the plan's resident weight data for (d).
fn optimized_oracles(
    case: &GenCase,
    isa: &str,
    r8: &[Tensor],
    cfg: &OracleConfig,
    index: u64,
    out: &mut Outcome,
) -> Option<super::memory::Resident> {
    let name = format!("optimized:{isa}");
    let engines = vec![name.clone(), "reference:int8".to_string()];
    let eng = OptimizedEngine { isa: isa.to_string(), threads: Some(1), zero_point: ZeroPointPolicy::Exact };
    let plan = match eng.compile(&case.model) {
        Ok(p) => p,
        Err(e @ optimized::OptError::Unsupported { .. }) => {
            out.skipped.push(format!("{name}: {e}"));
            return None;
        }
        Err(e) => {
            out.failures.push(fail(case, "vs-reference-int8", engines, true, format!("compile failed: {e}")));
            return None;
        }
    };
    let resident = cfg.memory.then(|| super::memory::Resident::of(&plan, &case.model));
    let y = match plan.run(&case.inputs) {
        Ok(o) => o.outputs,
        Err(e) => {
            out.failures.push(fail(case, "vs-reference-int8", engines, true, format!("run failed: {e}")));
            return None;
        }
    };
    let kernels: Vec<String> = plan
        .report()
        .iter()
        .filter(|r| r.precision == Precision::Int8)
        .map(|r| format!("{} ({})", r.kernel, r.name))
        .collect();
    out.ran.push("vs-reference-int8");
    out.ran.push("fallback");
    let r = compare_outputs("vs-reference-int8", engines.clone(), &y, r8, &vec![Some(0.0); r8.len()]);
    match r.status {
        Status::Failed => {
            let msg = format!(
                "{}; INT8 kernels: {}",
                r.detail,
                if kernels.is_empty() { "none".into() } else { kernels.join(", ") }
            );
            let mut f = fail(case, "vs-reference-int8", engines.clone(), true, msg);
            // Data-driven label: when the engine's bits are those of the reference under the
            // `round` zero-point policy, it rounds (or drops the fraction of) the activation
            // zero point, as OpenVINO's CPU plugin does — still a finding under `exact`.
            if f.confirmed() && matches_round_policy(case, &y) {
                f.classification = "zero-point-rounding".into();
            }
            out.failures.push(f);
        }
        Status::Mistrusted => out.mistrusted = true,
        _ => {}
    }
    // (e) fallback decisions.
    for e in &case.expect {
        let Some(rep) = plan.report().get(e.node) else { continue };
        let ok = match (e.fallback, &rep.precision) {
            (_, Precision::Unused) => true,
            (None, p) => *p == Precision::Int8,
            (Some(code), Precision::Fp32) => rep.reason.as_deref().is_some_and(|r| r.starts_with(code)),
            (Some(_), _) => false,
        };
        if !ok {
            out.failures.push(Failure {
                check: "fallback".into(),
                engines: vec![name.clone()],
                classification: "bug".into(),
                message: format!(
                    "{} {}: expected {}, the plan has {:?} ({})",
                    rep.op_type,
                    rep.name,
                    e.fallback.map_or("INT8".to_string(), |c| format!("fallback {c}")),
                    rep.precision,
                    rep.reason.as_deref().unwrap_or("no reason")
                ),
            });
        }
    }
    // (f) determinism across thread counts: every n-th case, and every other case the generator
    // sized so that two threads partition the work (a partition bug shows there, not on tiny
    // cases; each 2-thread plan costs a thread pool, so not on all of them).
    let every = cfg.determinism_every;
    if every > 0 && (index.is_multiple_of(every) || (case.split && index.is_multiple_of(2))) {
        let eng2 = OptimizedEngine { threads: Some(2), ..eng };
        let y2 = eng2
            .compile(&case.model)
            .map_err(|e| e.to_string())
            .and_then(|p| p.run(&case.inputs).map_err(|e| e.to_string()));
        out.ran.push("determinism");
        match y2 {
            Ok(o) => {
                let r = compare_outputs(
                    "determinism",
                    vec![format!("{name} (2 threads)"), format!("{name} (1 thread)")],
                    &o.outputs,
                    &y,
                    &vec![Some(0.0); y.len()],
                );
                if r.status == Status::Failed {
                    out.failures.push(fail(case, "determinism", r.engines, true, r.detail));
                }
            }
            Err(e) => {
                out.failures.push(fail(case, "determinism", vec![name], true, format!("2-thread run failed: {e}")))
            }
        }
    }
    resident
}
