//! `conform fuzz --engine openvino-cpu`: a fuzz campaign against an external plugin. The cases are
//! the generator's ([`crate::gen`], case `i` of seed `s` is `crate::fuzz::tree(s, i)` as in the
//! in-process campaign); each is written as an IR, run by the plugin through its adapter
//! (one long-lived subprocess, restarted after a crash or a timeout) and compared with the
//! reference by the `cpu-vs-reference` check ([`super::external`]), every difference classified.
//!
//! A failed case whose label is confirmed (`bug`, `saturation`, `zero-point-rounding`,
//! `engine-error`) is shrunk through the generator's value tree while the plugin still fails with
//! the same label, then its input elements are zeroed one at a time under the same condition, and
//! the minimized case is written as a regression folder with the plugin's outputs (`cpu_K.npy`) and
//! the repro command `conform check DIR --engine ENGINE`. Labels that recur are expected to be the
//! same difference over and over (the plugin's fractional zero-point rounding shows in most
//! asymmetric cases): a finding is shrunk and written only for the first case of each structure
//! ([`signature`]: op names, levels, weight form) and label, at most `per_label` per label; the
//! others are counted. `implementation-defined-input` differences are counted, not findings.

use super::external;
use super::result::{CheckResult, Status};
use crate::adapter::{self, AdapterEngine};
use crate::cli::args::FuzzArgs;
use crate::cli::Verdict;
use crate::engine::{Engine, EngineSpec, ModelRef};
use crate::error::CliError;
use crate::fuzz;
use crate::gen::{self, GenCase};
use proptest::strategy::ValueTree;
use serde_json::json;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A minimized finding.
#[derive(Debug, Clone)]
pub struct Finding {
    /// Regression folder.
    pub path: Option<PathBuf>,
    /// The check on the minimized case.
    pub result: CheckResult,
    /// The minimized case's descriptor.
    pub descriptor: String,
    /// The original case's index.
    pub index: u64,
    /// Shrinking steps kept.
    pub steps: u64,
    /// Repro command.
    pub repro: String,
    /// Seconds from the start.
    pub seconds: f64,
}

/// What a campaign found.
#[derive(Debug, Default)]
pub struct Summary {
    /// Cases run.
    pub cases_run: u64,
    /// Seconds of the campaign.
    pub seconds: f64,
    /// Generator categories.
    pub categories: BTreeMap<String, u64>,
    /// Failed cases per label (before deduplication).
    pub failed_by_label: BTreeMap<String, u64>,
    /// Cases SKIPPED (the plugin or the reference cannot run them), with a few reasons.
    pub skipped: u64,
    /// Example skip reasons.
    pub skip_reasons: Vec<String>,
    /// Accepted flips.
    pub flips: u64,
    /// Cases passed with at least one accepted flip.
    pub cases_with_flips: u64,
    /// Minimized findings.
    pub findings: Vec<Finding>,
}

/// Options of a campaign.
#[derive(Debug, Clone)]
pub struct Options {
    /// Seed.
    pub seed: u64,
    /// Case limit (of this shard).
    pub max_cases: Option<u64>,
    /// Time limit.
    pub max_time: Option<Duration>,
    /// Shard `(I, N)`.
    pub shard: (u64, u64),
    /// Where findings go.
    pub out: PathBuf,
    /// Continue after a finding.
    pub keep_going: bool,
    /// Findings shrunk and written per label.
    pub per_label: u64,
    /// Shrinking budget of one finding.
    pub shrink_time: Duration,
    /// The engine as named on the command line (for the repro).
    pub engine_name: String,
}

/// Scratch space: one IR file rewritten for every call.
struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    fn new() -> Result<Scratch, CliError> {
        let dir = std::env::temp_dir().join(format!("conform-ext-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| CliError::io(&dir, e))?;
        Ok(Scratch { dir })
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Runs the check on one generated case (the IR is written to the scratch folder first).
fn evaluate(engine: &mut AdapterEngine, scratch: &Scratch, case: &GenCase) -> CheckResult {
    let path = scratch.dir.join("case.xml");
    if let Err(e) = conform_ir::write_model(&case.model, &path) {
        let mut r = CheckResult::new(external::CHECK, vec![engine.name()], Status::Failed, format!("writing: {e}"));
        r.classification = Some("bug".into());
        return r;
    }
    external::check(engine, ModelRef { model: &case.model, path: &path }, &case.inputs, None)
}

/// Labels that are findings (confirmed, and worth a minimized case).
fn confirmed(r: &CheckResult) -> Option<&str> {
    if r.status != Status::Failed {
        return None;
    }
    r.classification.as_deref().filter(|l| *l != "implementation-defined-input")
}

/// The case fails with the same label (and, for an engine error, at the same place in the plugin:
/// shrinking must not wander from one plugin error to another).
fn fails_same(
    engine: &mut AdapterEngine,
    scratch: &Scratch,
    case: &GenCase,
    label: &str,
    error: Option<&str>,
) -> Option<CheckResult> {
    let r = evaluate(engine, scratch, case);
    let same_error = error.is_none_or(|e| error_signature(&r.detail) == e);
    (confirmed(&r) == Some(label) && same_error).then_some(r)
}

/// Shrinks case `index` (structure, then input constants) while it fails with `label`.
fn shrink(
    engine: &mut AdapterEngine,
    scratch: &Scratch,
    seed: u64,
    index: u64,
    label: &str,
    budget: Duration,
) -> Option<(GenCase, CheckResult, u64)> {
    let start = Instant::now();
    let mut t = fuzz::tree(seed, index)?;
    let mut best_case = gen::build(&t.current()).ok()?;
    let first = evaluate(engine, scratch, &best_case);
    let error = (label == "engine-error").then(|| error_signature(&first.detail));
    let error = error.as_deref();
    let mut best = fails_same(engine, scratch, &best_case, label, error)?;
    let mut steps = 0u64;
    if t.simplify() {
        while start.elapsed() < budget {
            let cur = gen::build(&t.current()).ok();
            match cur.and_then(|c| fails_same(engine, scratch, &c, label, error).map(|r| (c, r))) {
                Some((c, r)) => {
                    best_case = c;
                    best = r;
                    steps += 1;
                    if !t.simplify() {
                        break;
                    }
                }
                None => {
                    if !t.complicate() {
                        break;
                    }
                }
            }
        }
    }
    // Constants: zero input elements one at a time while the same label fails.
    let mut zeroed = 0u64;
    'inputs: for k in 0..best_case.inputs.len() {
        let n = best_case.inputs[k].len().min(4096);
        for e in 0..n {
            if start.elapsed() >= budget {
                break 'inputs;
            }
            let mut v = best_case.inputs[k].to_f32_vec();
            if v.get(e).is_none_or(|x| x.to_bits() == 0) {
                continue;
            }
            v[e] = 0.0;
            let Ok(tensor) = conform_ir::Tensor::from_f32(best_case.inputs[k].shape.clone(), v) else { continue };
            let mut trial = best_case.clone();
            trial.inputs[k] = tensor;
            if let Some(r) = fails_same(engine, scratch, &trial, label, error) {
                best_case = trial;
                best = r;
                zeroed += 1;
            }
        }
    }
    if zeroed > 0 {
        best_case.descriptor.push_str(&format!(" | {zeroed} input elements zeroed"));
    }
    Some((best_case, best, steps + zeroed))
}

/// Writes a minimized finding: the regression folder of `fuzz::regression::write`, the plugin's
/// outputs as `cpu_K.npy`, and a manifest naming the plugin and its repro command.
fn write_finding(
    engine: &mut AdapterEngine,
    scratch: &Scratch,
    opts: &Options,
    case: &GenCase,
    r: &CheckResult,
) -> Result<(PathBuf, String), String> {
    let failure = fuzz::oracle::Failure {
        check: r.check.clone(),
        engines: r.engines.clone(),
        classification: r.classification.clone().unwrap_or_default(),
        message: r.detail.clone(),
    };
    let dir = fuzz::regression::write(&opts.out, case, &failure, opts.seed, None)?;
    let repro = format!("conform check {} --engine {}", dir.display(), opts.engine_name);
    let path = scratch.dir.join("case.xml");
    conform_ir::write_model(&case.model, &path).map_err(|e| e.to_string())?;
    if let Ok(outs) = engine.run(ModelRef { model: &case.model, path: &path }, &case.inputs) {
        for (k, t) in outs.iter().enumerate() {
            let p = dir.join(format!("cpu_{k}.npy"));
            conform_ir::npy::write_npy(&p, t).map_err(|e| format!("{}: {e}", p.display()))?;
        }
    }
    let mp = dir.join("manifest.json");
    let text = std::fs::read_to_string(&mp).map_err(|e| format!("{}: {e}", mp.display()))?;
    let mut m: serde_json::Value = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", mp.display()))?;
    m["repro"] = repro.clone().into();
    m["engine_version"] = engine.version().into();
    m["description"] = format!(
        "fuzz finding against {}: {} ({}); cpu_K.npy are the plugin's outputs, reference_K.npy ours (INT8, exact zero point)",
        opts.engine_name,
        r.check,
        r.classification.as_deref().unwrap_or("")
    )
    .into();
    let text = serde_json::to_string_pretty(&m).map_err(|e| e.to_string())?;
    std::fs::write(&mp, text).map_err(|e| format!("{}: {e}", mp.display()))?;
    Ok((dir, repro))
}

/// The structure of a case from its descriptor (op names, levels, weight form; no values), so that
/// the same difference found again on another case of the same shape is counted, not re-shrunk.
pub fn signature(descriptor: &str) -> String {
    descriptor
        .split(|c: char| c.is_whitespace() || c == '|')
        .filter(|t| {
            let op = t.chars().next().is_some_and(char::is_uppercase) && t.chars().all(char::is_alphabetic);
            let levels = t.len() > 1 && t.starts_with('L') && t[1..].chars().all(|c| c.is_ascii_digit());
            op || levels
                || t.starts_with("w=")
                || t.starts_with("act×act")
                || t.starts_with('[') && t.ends_with(']') && t[1..t.len() - 1].chars().all(char::is_alphabetic)
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Where a plugin error failed, without node or constant names (they differ from case to case):
/// the `Check '…' failed at FILE:LINE` part when there is one, else the innermost
/// `Exception from FILE:LINE`.
pub fn error_signature(detail: &str) -> String {
    if let Some(i) = detail.rfind("Check '") {
        let rest = &detail[i..];
        let end = rest.find(" failed at ").map(|j| {
            let tail = &rest[j + " failed at ".len()..];
            // FILE:LINE ends at the first whitespace.
            j + " failed at ".len() + tail.find(char::is_whitespace).unwrap_or(tail.len())
        });
        return rest[..end.unwrap_or(rest.len())].trim_end_matches(':').to_string();
    }
    detail.lines().rev().find(|l| l.contains("Exception from src/")).unwrap_or(detail).trim().to_string()
}

/// Runs a campaign against an external engine.
pub fn run(engine: &mut AdapterEngine, opts: &Options) -> Result<Summary, CliError> {
    let scratch = Scratch::new()?;
    let start = Instant::now();
    let mut sum = Summary::default();
    let mut written: BTreeMap<String, u64> = BTreeMap::new();
    let mut seen = std::collections::BTreeSet::new();
    let (si, sn) = (opts.shard.0, opts.shard.1.max(1));
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
    let mut j = 0u64;
    loop {
        if opts.max_cases.is_some_and(|m| j >= m) || opts.max_time.is_some_and(|t| start.elapsed() >= t) {
            break;
        }
        let i = j * sn + si;
        j += 1;
        let Some(t) = fuzz::tree(opts.seed, i) else { continue };
        let case = match gen::build(&t.current()) {
            Ok(c) => c,
            Err(_) => continue, // a generator error: the in-process campaign reports these
        };
        sum.cases_run += 1;
        for c in &case.categories {
            *sum.categories.entry(c.clone()).or_default() += 1;
        }
        let r = evaluate(engine, &scratch, &case);
        match r.status {
            Status::Skipped => {
                sum.skipped += 1;
                if sum.skip_reasons.len() < 5 && !sum.skip_reasons.contains(&r.detail) {
                    sum.skip_reasons.push(r.detail.clone());
                }
            }
            Status::Passed if r.flips.unwrap_or(0) > 0 => {
                sum.flips += r.flips.unwrap_or(0);
                sum.cases_with_flips += 1;
            }
            _ => {}
        }
        if r.status == Status::Failed {
            let l = r.classification.clone().unwrap_or_else(|| "unclassified".into());
            *sum.failed_by_label.entry(l).or_default() += 1;
        }
        if let Some(label) = confirmed(&r).map(str::to_string) {
            // An engine error is identified by the plugin's message (its first line naming the
            // failed check, without node names); a numeric difference by the case's structure.
            let sig = if label == "engine-error" {
                format!("{label} {}", error_signature(&r.detail))
            } else {
                format!("{label} {}", signature(&case.descriptor))
            };
            let n = *written.get(&label).unwrap_or(&0);
            if n < opts.per_label && seen.insert(sig) {
                *written.entry(label.clone()).or_default() += 1;
                bar.set_message(format!("case {i}: {} FAILED ({label}), shrinking", r.check));
                let left = opts.max_time.map(|t| t.saturating_sub(start.elapsed()));
                let budget = left.map_or(opts.shrink_time, |l| l.min(opts.shrink_time).max(Duration::from_secs(5)));
                let (case, res, steps) =
                    shrink(engine, &scratch, opts.seed, i, &label, budget).unwrap_or((case, r.clone(), 0));
                let (path, repro) = match write_finding(engine, &scratch, opts, &case, &res) {
                    Ok((p, rp)) => (Some(p), rp),
                    Err(e) => (
                        None,
                        format!(
                            "conform fuzz --engine {} --seed {} --cases {} ({e})",
                            opts.engine_name,
                            opts.seed,
                            i + 1
                        ),
                    ),
                };
                // The same minimized case again (shrinking converged on a known finding): counted.
                if path.is_some() && sum.findings.iter().any(|f| f.path == path) {
                    continue;
                }
                sum.findings.push(Finding {
                    path,
                    result: res,
                    descriptor: case.descriptor,
                    index: i,
                    steps,
                    repro,
                    seconds: start.elapsed().as_secs_f64(),
                });
                if !opts.keep_going {
                    break;
                }
            }
        }
        if sum.cases_run.is_multiple_of(8) {
            let el = start.elapsed().as_secs_f64().max(1e-9);
            bar.set_message(format!(
                "{} cases, {:.1} cases/s, failed {:?}, {} findings",
                sum.cases_run,
                sum.cases_run as f64 / el,
                sum.failed_by_label,
                sum.findings.len()
            ));
            bar.tick();
        }
    }
    bar.finish_and_clear();
    sum.seconds = start.elapsed().as_secs_f64();
    Ok(sum)
}

fn parse_shard(s: &str) -> Result<(u64, u64), CliError> {
    let bad = || CliError::Usage(format!("--shard {s}: expected I/N with 0 ≤ I < N"));
    let (i, n) = s.split_once('/').ok_or_else(bad)?;
    let (i, n) = (i.trim().parse::<u64>().map_err(|_| bad())?, n.trim().parse::<u64>().map_err(|_| bad())?);
    if n == 0 || i >= n {
        return Err(bad());
    }
    Ok((i, n))
}

/// True when `conform fuzz` names an external engine (then this campaign runs it).
pub fn wants_external(a: &FuzzArgs) -> bool {
    a.engines.iter().any(|e| matches!(EngineSpec::parse(e), Ok(EngineSpec::External { .. })))
}

/// `conform fuzz --engine openvino-cpu[:OPTIONS]`: prints the summary and the findings, writes the
/// JSON (CONTRACT.md keys); exit 1 on a confirmed finding.
pub fn run_cli(a: &FuzzArgs) -> Result<Verdict, CliError> {
    let mut externals = Vec::new();
    for e in &a.engines {
        match EngineSpec::parse(e)? {
            EngineSpec::External { name, options } => externals.push((e.clone(), name, options)),
            other => {
                return Err(CliError::Usage(format!(
                    "engine {other} with an external engine: run one campaign per kind of engine"
                )))
            }
        }
    }
    let [(engine_name, name, options)] =
        <[_; 1]>::try_from(externals).map_err(|_| CliError::Usage("one external engine per campaign".into()))?;
    if name != "openvino-cpu" {
        return Err(CliError::Unavailable {
            what: format!("engine {name} in `conform fuzz`"),
            why: "the campaign against an external engine compares the plugin openvino-cpu with the reference".into(),
        });
    }
    let timeout = Duration::from_secs_f64(a.case_timeout.unwrap_or(60.0).clamp(1.0, 3600.0));
    let config = adapter::openvino_cpu(&options, timeout)
        .map_err(|why| CliError::Unavailable { what: format!("engine {engine_name}"), why })?;
    let mut engine = AdapterEngine::new(config);
    let version = engine
        .probe()
        .map_err(|why| CliError::Unavailable { what: format!("engine {engine_name}"), why: why.to_string() })?;
    let shard = match &a.shard {
        Some(s) => parse_shard(s)?,
        None => (0, 1),
    };
    let soak = std::env::var("CONFORM_SOAK").ok().and_then(|v| v.parse::<f64>().ok()).unwrap_or(1.0).max(1.0);
    let opts = Options {
        seed: a.seed,
        max_cases: a.cases.or(if a.time.is_none() { Some(200) } else { None }),
        max_time: a.time.map(|t| Duration::from_secs_f64(t.max(0.0))),
        shard,
        out: a.out.clone(),
        keep_going: a.keep_going,
        per_label: 8,
        shrink_time: Duration::from_secs_f64(30.0 * soak),
        engine_name: engine_name.clone(),
    };
    let sum = run(&mut engine, &opts)?;
    eprintln!("categories:");
    for (c, n) in &sum.categories {
        eprintln!("  {c:<28} {n}");
    }
    println!(
        "{} cases in {:.2} s: {:.1} cases/s against {engine_name} (OpenVINO {version}); failed cases by label {:?}; {} findings written; {} cases with {} accepted flips; {} skipped",
        sum.cases_run,
        sum.seconds,
        sum.cases_run as f64 / sum.seconds.max(1e-9),
        sum.failed_by_label,
        sum.findings.len(),
        sum.cases_with_flips,
        sum.flips,
        sum.skipped
    );
    for why in &sum.skip_reasons {
        println!("  skipped, e.g.: {why}");
    }
    for f in &sum.findings {
        println!(
            "FAILED {} [{}] case {} after {:.2} s ({} shrink steps): {}",
            f.result.check,
            f.result.classification.as_deref().unwrap_or(""),
            f.index,
            f.seconds,
            f.steps,
            f.descriptor
        );
        println!("  {}", f.result.detail);
        if let Some(p) = &f.path {
            println!("  minimized case: {}", p.display());
        }
        println!("  repro: {}", f.repro);
    }
    if let Some(path) = &a.json {
        write_json(path, a, &sum, &engine_name, &version, shard)?;
    }
    Ok(if sum.findings.is_empty() { Verdict::Ok } else { Verdict::Failed })
}

fn write_json(
    path: &Path,
    a: &FuzzArgs,
    sum: &Summary,
    engine_name: &str,
    version: &str,
    shard: (u64, u64),
) -> Result<(), CliError> {
    let v = json!({
        "schema_version": 1,
        "tool_version": crate::TOOL_VERSION,
        "machine": crate::machine::describe(),
        "engines": [
            {"name": engine_name, "version": version},
            {"name": "reference:int8", "version": crate::TOOL_VERSION},
            {"name": "reference:fp32", "version": crate::TOOL_VERSION},
        ],
        "cases_run": sum.cases_run,
        "cases_per_second": sum.cases_run as f64 / sum.seconds.max(1e-9),
        "seconds": sum.seconds,
        "seed": a.seed,
        "shard": format!("{}/{}", shard.0, shard.1),
        "categories": sum.categories,
        "failed_by_classification": sum.failed_by_label,
        "skipped": sum.skipped,
        "flips": sum.flips,
        "cases_with_flips": sum.cases_with_flips,
        "findings": sum.findings.iter().map(|f| json!({
            "path": f.path.as_ref().map(|p| p.display().to_string()),
            "check": f.result.check,
            "classification": f.result.classification,
            "repro": f.repro,
            "descriptor": f.descriptor,
            "message": f.result.detail,
            "index": f.index,
            "shrink_steps": f.steps,
            "seconds": f.seconds,
        })).collect::<Vec<_>>(),
    });
    let text = serde_json::to_string_pretty(&v).map_err(|e| CliError::Usage(e.to_string()))?;
    crate::cli::write_out(path, &text)
}

#[cfg(test)]
mod tests {
    use super::error_signature;

    #[test]
    fn error_signatures_drop_node_names() {
        // Two plugin messages of the same failure on different cases (constant names differ).
        let a = "RuntimeError: Exception from src/inference/src/cpp/core.cpp:117:\n[FakeQuantizeDecomposition] END: node: opset1::FakeQuantize FakeQuantize_5 (opset1::Constant Constant_16819189[0]:f32[1,1]) CALLBACK HAS THROWN: Check 'CommonFakeQuantizeDecomposition::is_supported_fq(fake_quantize_node)' failed at src/common/snippets/src/pass/fq_decomposition.cpp:70:\n";
        let b = a.replace("Constant_16819189", "Constant_60148058").replace("FakeQuantize_5", "FakeQuantize_9");
        assert_eq!(error_signature(a), error_signature(&b));
        assert_eq!(
            error_signature(a),
            "Check 'CommonFakeQuantizeDecomposition::is_supported_fq(fake_quantize_node)' failed at src/common/snippets/src/pass/fq_decomposition.cpp:70"
        );
        let c = "RuntimeError: Exception from src/inference/src/cpp/core.cpp:117:\nException from src/common/snippets/src/utils/utils.cpp:71:\nLayout rank can't be larger than tensor rank\n";
        assert_eq!(error_signature(c), "Exception from src/common/snippets/src/utils/utils.cpp:71:");
    }
}
