//! `conform bench [--workloads FILE] [--isa NAME] [--threads N] [--json FILE]`: times the optimized
//! engine end to end on every workload of `bench/shapes.json` (`optimized::bench`), optionally the
//! reference too, and prints a table (and the CONTRACT.md JSON).

use super::args::BenchArgs;
use super::Verdict;
use crate::error::CliError;
use crate::table::Table;
use std::path::PathBuf;

/// The repository's own copy of the workloads, else `bench/shapes.json` under the current folder.
fn default_workloads() -> PathBuf {
    let built = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../bench/shapes.json");
    if built.is_file() {
        built.canonicalize().unwrap_or(built)
    } else {
        PathBuf::from("bench/shapes.json")
    }
}

/// Runs the command.
pub fn run(a: &BenchArgs) -> Result<Verdict, CliError> {
    let path = a.workloads.clone().unwrap_or_else(default_workloads);
    if a.threads == 0 || a.reps == 0 {
        return Err(CliError::Usage("--threads and --reps must be at least 1".into()));
    }
    let reference_opts =
        reference::RunOptions { mode: reference::Mode::Int8(Default::default()), ..Default::default() };
    let reference_fn = |m: &conform_ir::Model, inputs: &[conform_ir::Tensor]| -> Result<(), String> {
        reference::run(m, inputs, &reference_opts).map(|_| ()).map_err(|e| e.to_string())
    };
    let with_reference: Option<optimized::bench::ReferenceFn<'_>> =
        if a.reference_reps > 0 { Some(&reference_fn) } else { None };
    let report =
        optimized::bench::run_bench_with(&path, a.isa.as_deref(), a.threads, a.reps, with_reference, a.reference_reps)
            .map_err(|e| match e {
                e @ optimized::OptError::Isa { .. } => {
                    CliError::Unavailable { what: "the ISA variant".into(), why: e.to_string() }
                }
                e => CliError::BadFile { path: path.clone(), message: e.to_string() },
            })?;
    let mut json = report.to_json();
    json["machine"] = serde_json::to_value(crate::machine::describe()).unwrap_or_default();
    let to_stdout = a.json.as_deref().is_some_and(|p| p.as_os_str() == "-");
    if !to_stdout {
        let mut t = Table::new(&[
            "workload",
            "threads",
            "isa",
            "median µs",
            "min µs",
            "max µs",
            "runs",
            "GOPS",
            "% peak",
            "reference µs",
        ]);
        for w in &report.workloads {
            t.row(vec![
                w.id.clone(),
                w.threads.to_string(),
                w.isa.clone(),
                format!("{:.1}", w.median_us),
                format!("{:.1}", w.min_us),
                format!("{:.1}", w.max_us),
                w.runs.to_string(),
                format!("{:.1}", w.gops),
                format!("{:.1}", w.percent_of_peak),
                w.reference_median_us.map(|r| format!("{r:.0}")).unwrap_or_else(|| "-".into()),
            ]);
        }
        print!("{}", t.render());
        println!("peak: {:.0} int8 GOPS (measured vpdpbusd zmm, bench/peer.md)", report.peak_gops);
    }
    if let Some(p) = &a.json {
        let text = serde_json::to_string_pretty(&json).map_err(|e| CliError::Usage(e.to_string()))?;
        super::write_out(p, &text)?;
    }
    Ok(Verdict::Ok)
}
