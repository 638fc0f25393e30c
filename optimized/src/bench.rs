//! Benchmark support for `conform bench`: builds every workload of `bench/shapes.json` as an IR
//! model in memory and times the optimized engine end to end (f32 in → FakeQuantize → kernel →
//! epilogue → f32 out, exactly an inference call).
//!
//! # API for the harness
//! ```ignore
//! let report = optimized::bench::run_bench(Path::new("bench/shapes.json"), None /* isa */, 1 /* threads */, 21 /* reps */)?;
//! for w in &report.workloads { println!("{} {} us {} GOPS", w.id, w.median_us, w.gops); }
//! // With the reference's latency (the harness owns the reference engine):
//! let report = optimized::bench::run_bench_with(path, None, 1, 21, Some(&|model, inputs| {
//!     reference::run(model, inputs, &opts).map(|_| ()).map_err(|e| e.to_string())
//! }), 3 /* reference reps */)?;
//! ```
//! - [`load_workloads`] parses the file; [`build_workload`] gives `(Model, inputs)` for one entry.
//! - Timing ([`time_runs`]): 3 warm-up calls, then `reps` timed calls of `Plan::run`; median, min,
//!   max in microseconds. GOPS = 2·MACs / median. `percent_of_peak` compares with the measured
//!   AVX-512 VNNI `vpdpbusd zmm` peak of `bench/peer.md` (722 int8 GOPS on 1 core, 1432 on 2).
//! - JSON keys of CONTRACT.md (`id`, `threads`, `isa`, `median_us`, `min_us`, `max_us`, `runs`,
//!   `gops`, `percent_of_peak`, `reference_median_us`) are the field names of [`WorkloadResult`];
//!   [`BenchReport::to_json`] renders them.

use crate::error::OptError;
use crate::modelgen::{quantized_weights, Builder, Rng};
use crate::plan::{compile, PlanOptions};
use conform_ir::{Model, Tensor};
use serde_json::Value;
use std::path::Path;
use std::time::Instant;

/// Measured `vpdpbusd zmm` peak, int8 GOPS per core (bench/peer.md, median of 11 samples).
pub const VNNI_PEAK_GOPS_1CORE: f64 = 722.0;
/// The same on two cores.
pub const VNNI_PEAK_GOPS_2CORES: f64 = 1432.0;

/// One workload as read from the file.
#[derive(Debug, Clone)]
pub struct WorkloadSpec {
    /// `id`.
    pub id: String,
    /// `op`: conv, matmul, fakequantize.
    pub op: String,
    /// The raw JSON entry.
    pub raw: Value,
}

/// Timing of repeated calls.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timing {
    /// Median, µs.
    pub median_us: f64,
    /// Minimum, µs.
    pub min_us: f64,
    /// Maximum, µs.
    pub max_us: f64,
    /// Timed calls.
    pub runs: usize,
}

/// The result of one workload.
#[derive(Debug, Clone)]
pub struct WorkloadResult {
    /// Workload id.
    pub id: String,
    /// Threads.
    pub threads: usize,
    /// ISA variant.
    pub isa: String,
    /// Median latency, µs.
    pub median_us: f64,
    /// Minimum, µs.
    pub min_us: f64,
    /// Maximum, µs.
    pub max_us: f64,
    /// Timed calls.
    pub runs: usize,
    /// Multiply-accumulates of the main op.
    pub macs: u64,
    /// 2·MACs / median, in GOPS.
    pub gops: f64,
    /// GOPS as % of the VNNI peak for this thread count.
    pub percent_of_peak: f64,
    /// The reference's median latency, µs, when measured.
    pub reference_median_us: Option<f64>,
}

/// All workloads of one bench run.
#[derive(Debug, Clone)]
pub struct BenchReport {
    /// Per workload.
    pub workloads: Vec<WorkloadResult>,
    /// The peak used for `percent_of_peak` (GOPS).
    pub peak_gops: f64,
}

impl BenchReport {
    /// The CONTRACT.md JSON object (`workloads`, plus `peak_gops`; the harness adds `machine`).
    pub fn to_json(&self) -> Value {
        let w: Vec<Value> = self
            .workloads
            .iter()
            .map(|r| {
                serde_json::json!({
                    "id": r.id, "threads": r.threads, "isa": r.isa, "median_us": r.median_us,
                    "min_us": r.min_us, "max_us": r.max_us, "runs": r.runs, "macs": r.macs, "gops": r.gops,
                    "percent_of_peak": r.percent_of_peak, "reference_median_us": r.reference_median_us,
                })
            })
            .collect();
        serde_json::json!({ "workloads": w, "peak_gops": self.peak_gops })
    }
}

fn wl_err(path: &Path, m: impl Into<String>) -> OptError {
    OptError::Workloads { path: path.display().to_string(), message: m.into() }
}

/// Parses a workloads file (`peer-bench workloads v1`).
pub fn load_workloads(path: &Path) -> Result<Vec<WorkloadSpec>, OptError> {
    let text = std::fs::read_to_string(path).map_err(|e| wl_err(path, e.to_string()))?;
    let v: Value = serde_json::from_str(&text).map_err(|e| wl_err(path, e.to_string()))?;
    let list = v.get("workloads").and_then(Value::as_array).ok_or_else(|| wl_err(path, "no `workloads` list"))?;
    list.iter()
        .map(|w| {
            let id = w.get("id").and_then(Value::as_str).ok_or_else(|| wl_err(path, "a workload without `id`"))?;
            let op = w.get("op").and_then(Value::as_str).ok_or_else(|| wl_err(path, format!("{id}: no `op`")))?;
            Ok(WorkloadSpec { id: id.into(), op: op.into(), raw: w.clone() })
        })
        .collect()
}

fn num(w: &WorkloadSpec, key: &str) -> Result<usize, OptError> {
    w.raw
        .get(key)
        .and_then(Value::as_u64)
        .map(|v| v as usize)
        .filter(|&v| v <= 1 << 20)
        .ok_or_else(|| OptError::Workloads { path: w.id.clone(), message: format!("`{key}` missing or out of range") })
}

fn dims(w: &WorkloadSpec, key: &str) -> Result<Vec<usize>, OptError> {
    let bad = || OptError::Workloads { path: w.id.clone(), message: format!("`{key}` is not a list of sizes") };
    let a = w.raw.get(key).and_then(Value::as_array).ok_or_else(bad)?;
    a.iter().map(|d| d.as_u64().filter(|&v| v > 0 && v <= 1 << 20).map(|v| v as usize).ok_or_else(bad)).collect()
}

/// FakeQuantize ranges of an `act_fq` entry: unsigned `[0, 255·s]`, signed `[−128·s, 127·s]`.
fn act_range(w: &WorkloadSpec, key: &str) -> Result<(u32, [f32; 4], bool, f32), OptError> {
    let bad = || OptError::Workloads { path: w.id.clone(), message: format!("`{key}` missing or malformed") };
    let a = w.raw.get(key).ok_or_else(bad)?;
    let levels = a.get("levels").and_then(Value::as_u64).unwrap_or(256) as u32;
    let signed = a.get("signed").and_then(Value::as_bool).ok_or_else(bad)?;
    let s = a.get("scale").and_then(Value::as_f64).ok_or_else(bad)? as f32;
    let (lo, hi) = if signed { (-128.0 * s, 127.0 * s) } else { (0.0, 255.0 * s) };
    Ok((levels, [lo, hi, lo, hi], signed, s))
}

fn data(rng: &mut Rng, n: usize, signed: bool, s: f32) -> Vec<f32> {
    (0..n).map(|_| if signed { rng.normal(32.0 * s) } else { rng.unit() * 255.0 * s }).collect()
}

fn seed(id: &str) -> u64 {
    id.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ b as u64).wrapping_mul(0x1000_0000_01b3))
}

/// Builds one workload as `(model, inputs, MACs)`.
pub fn build_workload(w: &WorkloadSpec) -> Result<(Model, Vec<Tensor>, u64), OptError> {
    let mut rng = Rng::new(seed(&w.id));
    let mut b = Builder::new();
    let ir = OptError::from;
    let shape_err =
        |e: conform_ir::tensor::ShapeMismatch| OptError::Workloads { path: w.id.clone(), message: e.to_string() };
    match w.op.as_str() {
        "conv" => {
            let (n, c, h, wd, k) = (num(w, "N")?, num(w, "C")?, num(w, "H")?, num(w, "W")?, num(w, "K")?);
            let kk = dims(w, "kernel")?;
            let (stride, pad, groups) = (num(w, "stride")?, num(w, "pad")?, num(w, "groups")?);
            if kk.len() != 2 || groups == 0 || c % groups != 0 || k % groups != 0 || stride == 0 {
                return Err(OptError::Workloads { path: w.id.clone(), message: "unsupported conv geometry".into() });
            }
            let (levels, r, signed, s) = act_range(w, "act_fq")?;
            let x = b.param(&[n, c, h, wd]);
            let f = b.fq(x, &[n, c, h, wd], levels, r);
            let (cin_g, cout_g) = (c / groups, k / groups);
            let (q, sc) = quantized_weights(&mut rng, k, cin_g * kk[0] * kk[1]);
            let wn = if groups == 1 {
                b.dq_weights(&[k, c, kk[0], kk[1]], &q, &[k, 1, 1, 1], &sc, None)
            } else {
                b.dq_weights(&[groups, cout_g, cin_g, kk[0], kk[1]], &q, &[groups, cout_g, 1, 1, 1], &sc, None)
            };
            let oh = (h + 2 * pad - kk[0]) / stride + 1;
            let ow = (wd + 2 * pad - kk[1]) / stride + 1;
            let attrs = [
                ("strides", format!("{stride},{stride}")),
                ("dilations", "1,1".to_string()),
                ("pads_begin", format!("{pad},{pad}")),
                ("pads_end", format!("{pad},{pad}")),
                ("auto_pad", "explicit".to_string()),
            ];
            let op = if groups == 1 { "Convolution" } else { "GroupConvolution" };
            let cv = b.op(op, &attrs, &[(f, 0), (wn, 0)], &[vec![n, k, oh, ow]]);
            b.result(cv);
            let macs = (n * k * oh * ow * cin_g * kk[0] * kk[1]) as u64;
            let input =
                Tensor::from_f32(vec![n, c, h, wd], data(&mut rng, n * c * h * wd, signed, s)).map_err(shape_err)?;
            Ok((b.finish(&w.id).map_err(ir)?, vec![input], macs))
        }
        "matmul" => {
            let ash = dims(w, "a_shape")?;
            let nn = num(w, "N")?;
            let b_const = w.raw.get("b_const").and_then(Value::as_bool).unwrap_or(true);
            let tb = w.raw.get("transpose_b").and_then(Value::as_bool).unwrap_or(false);
            let r = ash.len();
            if r < 2 {
                return Err(OptError::Workloads { path: w.id.clone(), message: "a_shape of rank < 2".into() });
            }
            let (m, kd) = (ash[r - 2], ash[r - 1]);
            let batch: usize = ash[..r - 2].iter().product();
            let (levels, ra, signed, s) = act_range(w, "act_fq")?;
            let xa = b.param(&ash);
            let fa = b.fq(xa, &ash, levels, ra);
            let mut out_shape = ash[..r - 2].to_vec();
            out_shape.extend([m, nn]);
            let mut inputs =
                vec![Tensor::from_f32(ash.clone(), data(&mut rng, batch * m * kd, signed, s)).map_err(shape_err)?];
            let second = if b_const {
                let (q, sc) = quantized_weights(&mut rng, nn, kd);
                // Stored [N, K] with transpose_b, as a Linear layer.
                if tb {
                    b.dq_weights(&[nn, kd], &q, &[nn, 1], &sc, None)
                } else {
                    let qt: Vec<i8> = (0..kd * nn).map(|i| q[(i % nn) * kd + i / nn]).collect();
                    b.dq_weights(&[kd, nn], &qt, &[1, nn], &sc, None)
                }
            } else {
                let bsh = dims(w, "b_shape")?;
                let (lb, rb, sb, scb) = act_range(w, "b_fq")?;
                let xb = b.param(&bsh);
                let count: usize = bsh.iter().product();
                inputs.push(Tensor::from_f32(bsh.clone(), data(&mut rng, count, sb, scb)).map_err(shape_err)?);
                b.fq(xb, &bsh, lb, rb)
            };
            let attrs = [("transpose_a", "false".to_string()), ("transpose_b", tb.to_string())];
            let mm = b.op("MatMul", &attrs, &[(fa, 0), (second, 0)], &[out_shape]);
            b.result(mm);
            Ok((b.finish(&w.id).map_err(ir)?, inputs, (batch * m * nn * kd) as u64))
        }
        "fakequantize" => {
            let sh = dims(w, "shape")?;
            let (levels, r, signed, s) = act_range(w, "act_fq")?;
            let x = b.param(&sh);
            let f = b.fq(x, &sh, levels, r);
            b.result(f);
            let count: usize = sh.iter().product();
            let input = Tensor::from_f32(sh, data(&mut rng, count, signed, s)).map_err(shape_err)?;
            Ok((b.finish(&w.id).map_err(ir)?, vec![input], 0))
        }
        other => Err(OptError::Workloads { path: w.id.clone(), message: format!("unknown op `{other}`") }),
    }
}

/// Times `reps` calls of `f` after 3 warm-up calls.
pub fn time_runs<E>(reps: usize, mut f: impl FnMut() -> Result<(), E>) -> Result<Timing, E> {
    for _ in 0..3 {
        f()?;
    }
    let mut t = Vec::with_capacity(reps.max(1));
    for _ in 0..reps.max(1) {
        let s = Instant::now();
        f()?;
        t.push(s.elapsed().as_secs_f64() * 1e6);
    }
    t.sort_by(f64::total_cmp);
    Ok(Timing { median_us: t[t.len() / 2], min_us: t[0], max_us: t[t.len() - 1], runs: t.len() })
}

/// The reference engine as a closure: runs the model on the inputs.
pub type ReferenceFn<'a> = &'a dyn Fn(&Model, &[Tensor]) -> Result<(), String>;

/// [`run_bench_with`] without the reference.
pub fn run_bench(
    workloads_path: &Path,
    isa: Option<&str>,
    threads: usize,
    reps: usize,
) -> Result<BenchReport, OptError> {
    run_bench_with(workloads_path, isa, threads, reps, None, 0)
}

/// Benchmarks every workload of the file; with `reference`, also times it (`ref_reps` calls).
pub fn run_bench_with(
    workloads_path: &Path,
    isa: Option<&str>,
    threads: usize,
    reps: usize,
    reference: Option<ReferenceFn<'_>>,
    ref_reps: usize,
) -> Result<BenchReport, OptError> {
    let specs = load_workloads(workloads_path)?;
    let threads = threads.max(1);
    let peak = match threads {
        1 => VNNI_PEAK_GOPS_1CORE,
        2 => VNNI_PEAK_GOPS_2CORES,
        t => VNNI_PEAK_GOPS_1CORE * t as f64,
    };
    let mut out = Vec::new();
    for spec in &specs {
        let (model, inputs, macs) = build_workload(spec)?;
        let plan = compile(
            &model,
            &PlanOptions { isa: isa.map(str::to_string), threads: Some(threads), ..PlanOptions::default() },
        )?;
        let t = time_runs(reps, || plan.run(&inputs).map(|_| ()))?;
        let gops = 2.0 * macs as f64 / (t.median_us * 1e3);
        let reference_median_us = match reference {
            Some(r) => Some(
                time_runs(ref_reps.max(1), || r(&model, &inputs))
                    .map_err(|m| OptError::Workloads { path: spec.id.clone(), message: format!("reference: {m}") })?
                    .median_us,
            ),
            None => None,
        };
        out.push(WorkloadResult {
            id: spec.id.clone(),
            threads,
            isa: plan.isa().name().into(),
            median_us: t.median_us,
            min_us: t.min_us,
            max_us: t.max_us,
            runs: t.runs,
            macs,
            gops,
            percent_of_peak: 100.0 * gops / peak,
            reference_median_us,
        });
    }
    Ok(BenchReport { workloads: out, peak_gops: peak })
}
