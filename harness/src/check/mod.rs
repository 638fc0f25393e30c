//! `conform check`: runs every applicable check of every case across the chosen engines, prints
//! the verdict table, writes the JSON and JUnit reports, and decides the exit status
//! (0 all good; 1 an unaccepted FAILED check, a stale accepted finding, or nothing PASSED;
//! 2 bad input or a missing engine that was asked for).
//!
//! `openvino-cpu` is checked bit for bit against recorded outputs (`vs-recorded-cpu`) on corpus
//! cases OpenVINO recorded, and against the reference with every difference classified
//! (`cpu-vs-reference`, [`external`]) on the others. With `--localize` a FAILED engine check is
//! localized to its first diverging unit ([`crate::localize`]) and written as a regression case.
//! `conform fuzz --engine openvino-cpu` is [`campaign`].

pub mod accepted;
pub mod campaign;
pub mod case;
pub mod external;
pub mod inputs;
pub mod int8;
pub mod oracle;
pub mod report;
pub mod result;

use crate::adapter::AdapterEngine;
use crate::cli::args::CheckArgs;
use crate::cli::Verdict;
use crate::engine::{self, EngineError, EngineSpec, ModelRef, ReferenceEngine};
use crate::error::CliError;
use crate::{inspect, load, machine};
use case::Case;
use conform_ir::Tensor;
use engine::Engine;
use indicatif::{ProgressBar, ProgressStyle};
use reference::Mode;
use report::{EngineInfo, Report};
use result::{CaseResult, CheckResult, Status};
use std::path::PathBuf;
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

/// Generated inputs are refused above this many elements per parameter.
const MAX_GENERATED_ELEMENTS: usize = 1 << 26;

/// What every case needs to know about the run.
#[derive(Debug, Clone)]
struct RunConfig {
    specs: Vec<EngineSpec>,
    /// The running adapter of each external engine of `specs` (shared: one process per run).
    external: Vec<Option<Arc<Mutex<AdapterEngine>>>>,
    /// Why an engine of `specs` cannot run, by index (None = available).
    unavailable: Vec<Option<String>>,
    seed: u64,
    max_memory: Option<u64>,
    /// `--localize`: where localized regression cases go.
    localize: Option<PathBuf>,
}

/// The outcome of one case, and whether its input was bad (exit 2).
struct CaseOutcome {
    result: CaseResult,
    bad_input: bool,
}

/// Runs the command.
pub fn run(a: &CheckArgs) -> Result<Verdict, CliError> {
    let paths = if a.paths.is_empty() { vec![PathBuf::from("corpus")] } else { a.paths.clone() };
    let explicit = !a.engines.is_empty();
    let names: Vec<String> =
        if explicit { a.engines.clone() } else { vec!["reference".to_string(), "optimized".to_string()] };
    let parsed: Vec<EngineSpec> = names.iter().map(|n| EngineSpec::parse(n)).collect::<Result<_, _>>()?;
    let mut specs = Vec::new();
    let mut external = Vec::new();
    let mut unavailable = Vec::new();
    let mut engine_infos = Vec::new();
    for spec in parsed {
        // `optimized` stands for every ISA variant usable here: each is checked on its own.
        let expanded: Result<Vec<EngineSpec>, EngineError> = match &spec {
            EngineSpec::Optimized { isa } => engine::optimized_variants(isa.as_deref())
                .map(|v| v.into_iter().map(|i| EngineSpec::Optimized { isa: Some(i) }).collect()),
            other => Ok(vec![other.clone()]),
        };
        if let (EngineSpec::Optimized { isa: None }, Ok(variants)) = (&spec, &expanded) {
            require_isas(variants)?;
        }
        let expanded = match expanded {
            Ok(v) => v,
            Err(EngineError::Cannot(why) | EngineError::Failed(why) | EngineError::Invalid(why)) => {
                if explicit {
                    return Err(CliError::Unavailable { what: format!("engine {spec}"), why });
                }
                engine_infos.push(EngineInfo {
                    name: spec.to_string(),
                    version: String::new(),
                    unavailable: Some(why.clone()),
                });
                specs.push(spec);
                unavailable.push(Some(why));
                continue;
            }
        };
        for spec in expanded {
            let built = match &spec {
                EngineSpec::External { name, options } => {
                    engine::build_external(name, options).map(|e| (e.version(), Some(Arc::new(Mutex::new(e)))))
                }
                other => engine::build(other, Mode::Fp32, a.max_memory, None).map(|e| (e.version(), None)),
            };
            let (version, why, adapter) = match built {
                Ok((v, adapter)) => (v, None, adapter),
                Err(EngineError::Cannot(why) | EngineError::Failed(why) | EngineError::Invalid(why)) => {
                    (String::new(), Some(why), None)
                }
            };
            external.push(adapter);
            if let (true, Some(why)) = (explicit, &why) {
                // An engine that was asked for and is missing is an environment problem.
                return Err(CliError::Unavailable { what: format!("engine {spec}"), why: why.clone() });
            }
            engine_infos.push(EngineInfo { name: spec.to_string(), version, unavailable: why.clone() });
            specs.push(spec);
            unavailable.push(why);
        }
    }
    let accepted = match &a.accepted {
        Some(p) => accepted::read(p)?,
        None => Vec::new(),
    };
    if let Some(t) = a.case_timeout {
        // `try_from` also refuses values too large for a Duration (which would panic later).
        if !(t.is_finite() && t > 0.0) || Duration::try_from_secs_f64(t).is_err() {
            return Err(CliError::Usage(format!("--case-timeout {t}: expected a positive number of seconds")));
        }
    }
    let cases = case::discover(&paths)?;
    let localize = a.localize.then(|| a.localize_out.clone());
    let config = RunConfig { specs, external, unavailable, seed: a.seed, max_memory: a.max_memory, localize };

    let bar = ProgressBar::new(cases.len() as u64);
    if let Ok(style) = ProgressStyle::with_template("{bar:30} {pos}/{len} {elapsed} {msg}") {
        bar.set_style(style);
    }
    let mut results = Vec::with_capacity(cases.len());
    let mut bad_input = false;
    for c in cases {
        bar.set_message(c.name.clone());
        let outcome = run_with_timeout(c, &config, a.case_timeout);
        bad_input |= outcome.bad_input;
        results.push(outcome.result);
        bar.inc(1);
    }
    bar.finish_and_clear();

    let stale = accepted::apply(&accepted, &mut results);
    print!("{}", report::table(&results));
    // The table has no room for details: list them for every check that did not simply pass.
    for c in &results {
        for k in c.checks.iter().filter(|k| matches!(k.status, Status::Failed | Status::Mistrusted)) {
            let accepted = k.accepted.as_deref().map(|r| format!(" (accepted: {r})")).unwrap_or_default();
            println!("{}{accepted} {} {} [{}]: {}", k.status.name(), c.case, k.check, k.engines.join(" vs "), k.detail);
        }
    }
    let stale_json: Vec<serde_json::Value> = stale.iter().filter_map(|e| serde_json::to_value(e).ok()).collect();
    for e in &stale {
        println!("stale accepted finding (not reproduced): {} {} {} — {}", e.engine, e.case, e.check, e.reason);
    }
    let failure = result::is_failure(&results) || !stale.is_empty();
    let rep = Report::new(machine::describe(), engine_infos, results, stale_json);
    let s = &rep.summary;
    println!(
        "\n{} PASSED, {} FAILED, {} MISTRUSTED, {} SKIPPED",
        s.get("PASSED").unwrap_or(&0),
        s.get("FAILED").unwrap_or(&0),
        s.get("MISTRUSTED").unwrap_or(&0),
        s.get("SKIPPED").unwrap_or(&0)
    );
    if let Some(p) = &a.json {
        let text = serde_json::to_string_pretty(&rep).map_err(|e| CliError::Usage(e.to_string()))?;
        crate::cli::write_out(p, &text)?;
    }
    if let Some(p) = &a.junit {
        crate::cli::write_out(p, &report::junit(&rep))?;
    }
    if bad_input {
        return Err(CliError::Usage(
            "some cases are not valid input (see the FAILED checks classified `bad-input`)".into(),
        ));
    }
    Ok(if failure { Verdict::Failed } else { Verdict::Ok })
}

/// `CONFORM_REQUIRE_ISA=a,b`: a listed variant that is not usable here would silently go
/// unchecked, so it is an environment problem (exit 2) instead.
fn require_isas(variants: &[EngineSpec]) -> Result<(), CliError> {
    let Ok(list) = std::env::var("CONFORM_REQUIRE_ISA") else { return Ok(()) };
    for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let present = variants.iter().any(|v| matches!(v, EngineSpec::Optimized { isa: Some(i) } if i == name));
        if !present {
            return Err(CliError::Unavailable {
                what: format!("ISA variant {name} (CONFORM_REQUIRE_ISA)"),
                why: "not compiled in, not supported by this CPU, or above CONFORM_MAX_ISA".into(),
            });
        }
    }
    Ok(())
}

/// Runs a case on a worker thread and gives up waiting after the timeout. A timed-out case is a
/// FAILED check classified `timeout`; its thread is left to finish on its own (Rust cannot stop
/// a thread), which costs CPU but not correctness.
fn run_with_timeout(c: Case, config: &RunConfig, timeout: Option<f64>) -> CaseOutcome {
    let Some(secs) = timeout else { return run_case(&c, config) };
    let (tx, rx) = mpsc::channel();
    let cfg = config.clone();
    let name = c.name.clone();
    let path = c.model.display().to_string();
    let spawned = std::thread::Builder::new().name(format!("case {name}")).spawn(move || {
        let _ = tx.send(run_case(&c, &cfg));
    });
    if let Err(e) = spawned {
        let r = CheckResult::new("case", vec![], Status::Failed, format!("cannot start a worker thread: {e}"));
        return CaseOutcome { result: CaseResult { case: name, path, checks: vec![r] }, bad_input: false };
    }
    // Validated by `run`; the fallback only keeps this function total.
    let limit = Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX);
    match rx.recv_timeout(limit) {
        Ok(o) => o,
        Err(_) => {
            let mut r = CheckResult::new("case", vec![], Status::Failed, format!("did not finish within {secs} s"));
            r.classification = Some("timeout".into());
            CaseOutcome { result: CaseResult { case: name, path, checks: vec![r] }, bad_input: false }
        }
    }
}

/// The `memory` oracle (`crate::fuzz::memory::check`, the one `conform fuzz` runs as (d)) on the
/// plan of an optimized variant: quantized weights stored (held when the model's form is
/// compressed) and resident ≤ 0.26 of fp32 for 8-bit.
fn memory_check(model: &conform_ir::Model, spec: &EngineSpec) -> CheckResult {
    use crate::fuzz::memory::{self, Resident, Storage};
    let EngineSpec::Optimized { isa } = spec else {
        return CheckResult::skipped(memory::CHECK, vec![spec.to_string()], "not an optimized engine");
    };
    let opts = optimized::PlanOptions { isa: isa.clone(), threads: Some(1), ..Default::default() };
    match optimized::compile(model, &opts) {
        Ok(plan) => memory::check(model, Storage::of_model(model), &[(spec.to_string(), Resident::of(&plan, model))]),
        Err(e) => CheckResult::skipped(memory::CHECK, vec![spec.to_string()], format!("no plan: {e}")),
    }
}

fn bad(check: &str, message: String) -> CheckResult {
    CheckResult::bad_input(check, vec![], message)
}

/// Runs every applicable check of one case.
fn run_case(c: &Case, config: &RunConfig) -> CaseOutcome {
    let mut checks = Vec::new();
    let path = c.model.display().to_string();
    let done = |checks: Vec<CheckResult>, bad_input: bool| CaseOutcome {
        // A check the reference refused (classified `bad-input`) makes the case bad input too.
        bad_input: bad_input || checks.iter().any(CheckResult::is_bad_input),
        result: CaseResult { case: c.name.clone(), path: path.clone(), checks },
    };
    let model = match load::model(&c.model) {
        Ok(m) => m,
        Err(e @ CliError::Unavailable { .. }) => {
            checks.push(CheckResult::skipped("read", vec![], e.to_string()));
            return done(checks, false);
        }
        Err(e) => {
            checks.push(bad("read", e.to_string()));
            return done(checks, true);
        }
    };
    match inspect::inspect(&model) {
        Ok(r) => checks.push(oracle::manifest_check(c, &r)),
        Err(e) => {
            checks.push(bad("read", e.to_string()));
            return done(checks, true);
        }
    }
    let inputs = if c.inputs.is_empty() {
        inputs::generate(&model, config.seed, MAX_GENERATED_ELEMENTS).map_err(|m| bad("inputs", m))
    } else {
        c.inputs.iter().map(|p| load::npy(p)).collect::<Result<Vec<_>, _>>().map_err(|e| bad("inputs", e.to_string()))
    };
    let inputs = match inputs {
        Ok(i) => i,
        Err(r) => {
            checks.push(r);
            return done(checks, true);
        }
    };
    let mref = ModelRef { model: &model, path: &c.model };
    // The reference INT8 outputs, computed once for every engine compared with them.
    let mut int8: Option<Result<Vec<Tensor>, EngineError>> = None;
    for (idx, (spec, why)) in config.specs.iter().zip(&config.unavailable).enumerate() {
        match spec {
            EngineSpec::Reference => {
                if !c.fallback.is_empty() {
                    match c.fallback.iter().map(|p| load::npy(p)).collect::<Result<Vec<_>, _>>() {
                        Ok(expected) => {
                            let mut e = ReferenceEngine { mode: Mode::Fp32, max_memory: config.max_memory };
                            checks.push(oracle::fp32_check(c, mref, &inputs, &expected, &mut e));
                        }
                        Err(e) => checks.push(bad("fp32-vs-fallback", e.to_string())),
                    }
                }
                checks.push(int8::check(&model, &inputs, config.max_memory));
            }
            EngineSpec::Optimized { .. } => {
                let engines = vec![spec.to_string(), "reference:int8".into()];
                if let Some(why) = why {
                    checks.push(CheckResult::skipped("vs-reference-int8", engines, why.clone()));
                    continue;
                }
                let expected = int8.get_or_insert_with(|| {
                    let mut r = ReferenceEngine { mode: Mode::Int8(Default::default()), max_memory: config.max_memory };
                    r.run(mref, &inputs)
                });
                let check =
                    match (expected, engine::build(spec, Mode::Int8(Default::default()), config.max_memory, None)) {
                        (Err(EngineError::Cannot(why)), _) => {
                            CheckResult::skipped("vs-reference-int8", engines, format!("reference:int8 {why}"))
                        }
                        (Err(EngineError::Invalid(why)), _) => {
                            CheckResult::bad_input("vs-reference-int8", engines, format!("reference:int8: {why}"))
                        }
                        (Err(EngineError::Failed(why)), _) => {
                            let mut r = CheckResult::new(
                                "vs-reference-int8",
                                engines,
                                Status::Failed,
                                format!("reference:int8 failed: {why}"),
                            );
                            r.classification = Some("engine-error".into());
                            r
                        }
                        (_, Err(e)) => CheckResult::skipped("vs-reference-int8", engines, e.to_string()),
                        (Ok(expected), Ok(mut opt)) => {
                            oracle::bit_exact_check("vs-reference-int8", mref, &inputs, expected, opt.as_mut())
                        }
                    };
                checks.push(check);
                checks.push(memory_check(&model, spec));
            }
            EngineSpec::External { .. } => {
                let adapter = config.external.get(idx).cloned().flatten();
                // Cases OpenVINO did not record (regressions, IR files) are checked against the
                // reference with every difference classified (`cpu-vs-reference`).
                if matches!(spec, EngineSpec::External { name, .. } if name == "openvino-cpu") && c.fallback.is_empty()
                {
                    checks.push(match (adapter.as_ref().map(|a| a.lock()), why) {
                        (Some(Ok(mut engine)), None) => external::check(&mut *engine, mref, &inputs, config.max_memory),
                        (_, why) => CheckResult::skipped(
                            external::CHECK,
                            vec![spec.to_string(), "reference:int8".into()],
                            why.clone().unwrap_or_else(|| "the engine is not available".into()),
                        ),
                    });
                    if c.cpu.is_empty() {
                        continue;
                    }
                }
                checks.push(external_check(c, spec, adapter, why.as_deref(), mref, &inputs, config.max_memory));
            }
        }
    }
    if let Some(out) = &config.localize {
        for k in checks.iter_mut() {
            localize_failure(c, config, &model, &inputs, out, k);
        }
    }
    done(checks, false)
}

/// `--localize`: for a FAILED engine check with a confirmed label, finds the first diverging unit
/// (`crate::localize`), writes its sub-IR as a regression case and appends where and the repro
/// command to the check's detail.
fn localize_failure(
    c: &Case,
    config: &RunConfig,
    model: &conform_ir::Model,
    inputs: &[Tensor],
    out: &std::path::Path,
    k: &mut CheckResult,
) {
    let confirmed = k.status == Status::Failed
        && !matches!(k.classification.as_deref(), Some("implementation-defined-input" | "bad-input" | "reader"));
    let Some(actual) = k.engines.first().cloned() else { return };
    if !confirmed || !matches!(k.check.as_str(), "vs-reference-int8" | external::CHECK) {
        return;
    }
    let scratch = std::env::temp_dir().join(format!("conform-localize-{}", std::process::id()));
    let found = if let Some(isa) = actual.strip_prefix("optimized:") {
        let mut cmp = crate::localize::optimized_vs_reference(isa);
        crate::localize::localize(model, inputs, &scratch, &mut cmp)
    } else {
        let idx = config.specs.iter().position(|s| s.to_string() == actual);
        let Some(adapter) = idx.and_then(|i| config.external.get(i).cloned().flatten()) else { return };
        let Ok(mut engine) = adapter.lock() else { return };
        let engine_errors = k.classification.as_deref() == Some("engine-error");
        let mut cmp = crate::localize::external_vs_reference(&mut *engine, engine_errors);
        crate::localize::localize(model, inputs, &scratch, &mut cmp)
    };
    let _ = std::fs::remove_dir_all(&scratch);
    let note = match found {
        Ok(Some(loc)) => match crate::localize::write_regression(out, &c.name, &actual, &k.check, &loc) {
            Ok((dir, repro)) => format!(
                "localized: first diverging {} {} {} ({} units re-anchored, {}); sub-IR: {}; repro: {repro}",
                loc.unit.kind,
                loc.op_type,
                loc.node,
                loc.compared,
                loc.classification,
                dir.display()
            ),
            Err(e) => format!("localized at {} {}, but writing the case failed: {e}", loc.op_type, loc.node),
        },
        Ok(None) => "localize: no diverging unit".into(),
        Err(e) => format!("localize: {e}"),
    };
    k.detail = format!("{}; {note}", k.detail);
}

/// The check of an external engine.
///
/// - `openvino-cpu`, in its default configuration, against the outputs the corpus recorded from
///   the same plugin and configuration (`cpu_K.npy`), bit for bit (`vs-recorded-cpu`): a plugin
///   build that computes differently from the recorded release shows here.
/// - `openvino-reference` (OpenVINO's `Node.evaluate`, node by node) against the reference in FP32,
///   bit for bit (`fp32-vs-openvino-reference`); a model with a node OpenVINO cannot evaluate
///   (Convolution, GroupConvolution, AvgPool, ...) is SKIPPED, naming the nodes.
fn external_check(
    c: &Case,
    spec: &EngineSpec,
    adapter: Option<Arc<Mutex<AdapterEngine>>>,
    why: Option<&str>,
    model: ModelRef<'_>,
    inputs: &[Tensor],
    max_memory: Option<u64>,
) -> CheckResult {
    let EngineSpec::External { name, options } = spec else {
        return CheckResult::skipped("external", vec![spec.to_string()], "not an external engine");
    };
    let reference = name == "openvino-reference";
    let check = if reference { "fp32-vs-openvino-reference" } else { "vs-recorded-cpu" };
    let engines = if reference {
        vec!["reference:fp32".to_string(), spec.to_string()]
    } else {
        vec![spec.to_string(), "openvino-cpu (cpu_K.npy)".to_string()]
    };
    let Some(adapter) = adapter else {
        return CheckResult::skipped(check, engines, why.unwrap_or("the engine is not available").to_string());
    };
    let Ok(mut engine) = adapter.lock() else {
        return CheckResult::skipped(check, engines, "the adapter is unusable after an earlier failure");
    };
    if reference {
        let expected = match engine.run(model, inputs) {
            Ok(out) => out,
            Err(EngineError::Cannot(why)) => return CheckResult::skipped(check, engines, why),
            Err(EngineError::Failed(why) | EngineError::Invalid(why)) => {
                let mut r = CheckResult::new(check, engines, Status::Failed, format!("openvino-reference: {why}"));
                r.classification = Some("engine-error".into());
                return r;
            }
        };
        let mut ours = ReferenceEngine { mode: Mode::Fp32, max_memory };
        let mut r = oracle::bit_exact_check(check, model, inputs, &expected, &mut ours);
        r.engines = engines;
        return r;
    }
    if !options.is_empty() {
        return CheckResult::skipped(
            check,
            engines,
            "the recorded outputs are for openvino-cpu's default configuration",
        );
    }
    if c.cpu.is_empty() {
        return CheckResult::skipped(check, engines, "the case has no recorded cpu_K.npy outputs");
    }
    let expected = match c.cpu.iter().map(|p| load::npy(p)).collect::<Result<Vec<_>, _>>() {
        Ok(e) => e,
        Err(e) => return bad(check, e.to_string()),
    };
    let mut r = oracle::bit_exact_check(check, model, inputs, &expected, &mut *engine);
    r.engines = engines;
    if r.status == Status::Failed && r.classification.as_deref() == Some("bug") {
        // Same plugin, same configuration: a difference means the plugin (or the CPU's kernel
        // choice, see `machine`) is not the one that recorded the case.
        r.classification = Some("plugin-differs-from-recording".into());
    }
    r
}
