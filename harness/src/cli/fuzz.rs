//! `conform fuzz`: runs a campaign (`crate::fuzz`), prints the category tally, the findings with
//! their repro commands and the speed; exit 1 on a confirmed finding, 0 otherwise, 2 when an
//! engine asked for is not available.

use super::args::FuzzArgs;
use super::Verdict;
use crate::engine::EngineSpec;
use crate::error::CliError;
use crate::fuzz::{self, oracle::OracleConfig, CampaignConfig};
use serde_json::json;
use std::time::Duration;

fn parse_shard(s: &str) -> Result<(u64, u64), CliError> {
    let bad = || CliError::Usage(format!("--shard {s}: expected I/N with 0 ≤ I < N"));
    let (i, n) = s.split_once('/').ok_or_else(bad)?;
    let (i, n) = (i.trim().parse::<u64>().map_err(|_| bad())?, n.trim().parse::<u64>().map_err(|_| bad())?);
    if n == 0 || i >= n {
        return Err(bad());
    }
    Ok((i, n))
}

/// The optimized variants the campaign checks: the one named by `--isa` or `--engine
/// optimized:ISA`, else every variant usable here (under `CONFORM_MAX_ISA`); none when only the
/// reference is asked for.
fn isas_of(a: &FuzzArgs) -> Result<Vec<String>, CliError> {
    let mut isa = a.isa.clone();
    let mut want_optimized = a.engines.is_empty() || a.isa.is_some();
    for e in &a.engines {
        match EngineSpec::parse(e)? {
            EngineSpec::Reference => {}
            EngineSpec::Optimized { isa: i } => {
                want_optimized = true;
                if i.is_some() {
                    isa = i;
                }
            }
            EngineSpec::External { name, .. } => {
                return Err(CliError::Unavailable {
                    what: format!("engine {name} in `conform fuzz`"),
                    why: "the fuzzer drives in-process engines only (reference, optimized); use `conform check` on its findings".into(),
                })
            }
        }
    }
    if !want_optimized {
        return Ok(Vec::new());
    }
    let Some(name) = isa else {
        let v = optimized::isa::detected().map_err(|e| CliError::Usage(e.to_string()))?;
        return Ok(v.iter().map(|i| i.name().to_string()).collect());
    };
    // Validate the name now: an unknown variant or mutant is an environment error (exit 2), not a skip.
    optimized::isa::select(Some(&name))
        .map_err(|e| CliError::Unavailable { what: format!("--isa {name}"), why: e.to_string() })?;
    Ok(vec![name])
}

/// Runs `conform fuzz`.
pub fn run(a: &FuzzArgs) -> Result<Verdict, CliError> {
    // An external engine (openvino-cpu) runs its own campaign: one adapter subprocess, the
    // classified `cpu-vs-reference` check (issue 7; crate::check::campaign).
    if crate::check::campaign::wants_external(a) {
        return crate::check::campaign::run_cli(a);
    }
    let shard = match &a.shard {
        Some(s) => parse_shard(s)?,
        None => (0, 1),
    };
    let isas = isas_of(a)?;
    let max_cases = a.cases.or(if a.time.is_none() { Some(1000) } else { None });
    let soak = std::env::var("CONFORM_SOAK").ok().and_then(|v| v.parse::<f64>().ok()).unwrap_or(1.0).max(0.0);
    let cfg = CampaignConfig {
        seed: a.seed,
        max_cases,
        max_time: a.time.map(|t| Duration::from_secs_f64(t.max(0.0))),
        shard,
        oracles: OracleConfig {
            isas: isas.clone(),
            int8_vs_fp32: true,
            determinism_every: 16,
            compression_every: 4,
            case_timeout: a.case_timeout.map(|s| Duration::from_secs_f64(s.max(0.0))),
            memory: true,
        },
        out: Some(a.out.clone()),
        keep_going: a.keep_going,
        shrink_time: Duration::from_secs_f64(8.0 * soak.max(1.0)),
        progress: true,
    };
    let sum = fuzz::run(&cfg);
    let mut engines = vec!["reference:int8".to_string(), "reference:fp32".to_string()];
    engines.extend(isas.iter().map(|i| format!("optimized:{i}")));
    eprintln!("categories:");
    for (c, n) in &sum.categories {
        eprintln!("  {c:<28} {n}");
    }
    println!(
        "{} cases in {:.2} s: {:.0} cases/s; {} findings, {} mistrusted, {} implementation-defined differences, {} accepted flips (engines: {})",
        sum.cases_run,
        sum.seconds,
        sum.cases_per_second(),
        sum.findings.len(),
        sum.mistrusted,
        sum.unconfirmed,
        sum.flips,
        engines.join(", ")
    );
    if sum.known > 0 {
        // Open findings still fail their check on every case: say so, with where they are tracked.
        println!("{} failures of known open findings (not new):", sum.known);
        for (isa, why) in crate::fuzz::memory::KNOWN {
            println!("  memory on optimized:{isa}: {why}");
        }
    }
    for f in &sum.findings {
        println!(
            "FAILED {} [{}] after {:.2} s ({} shrink steps): {}",
            f.failure.check, f.failure.classification, f.seconds, f.shrink_steps, f.descriptor
        );
        println!("  {}", f.failure.message);
        if let Some(p) = &f.path {
            println!("  minimized case: {}", p.display());
        }
        println!("  repro: {}", f.repro);
    }
    if let Some(path) = &a.json {
        let m = crate::machine::describe();
        let v = json!({
            "schema_version": 1,
            "tool_version": crate::TOOL_VERSION,
            "machine": m,
            "engines": engines.iter().map(|e| json!({"name": e, "version": crate::TOOL_VERSION})).collect::<Vec<_>>(),
            "cases_run": sum.cases_run,
            "cases_per_second": sum.cases_per_second(),
            "seconds": sum.seconds,
            "seed": a.seed,
            "shard": format!("{}/{}", shard.0, shard.1),
            "categories": sum.categories,
            "mistrusted": sum.mistrusted,
            "known_findings": sum.known,
            "flips": sum.flips,
            "checks_run": sum.checks_run,
            "findings": sum.findings.iter().map(|f| json!({
                "path": f.path.as_ref().map(|p| p.display().to_string()),
                "check": f.failure.check,
                "classification": f.failure.classification,
                "repro": f.repro,
                "descriptor": f.descriptor,
                "message": f.failure.message,
                "seconds": f.seconds,
            })).collect::<Vec<_>>(),
        });
        let text = serde_json::to_string_pretty(&v).map_err(|e| CliError::Usage(e.to_string()))?;
        super::write_out(path, &text)?;
    }
    Ok(if sum.findings.is_empty() { Verdict::Ok } else { Verdict::Failed })
}
