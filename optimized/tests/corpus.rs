//! Every corpus model through the optimized engine equals the reference INT8 mode bit for bit,
//! under both zero-point policies, for every ISA variant usable here and 1 and 2 threads.
//! The expected values come from the reference crate (an independent implementation).

use conform_ir::{npy, reader, Model, Tensor, TensorData};
use optimized::{compile, PlanOptions, ZeroPointPolicy};
use reference::int8::ZeroPointPolicy as RefPolicy;
use reference::{Mode, RunOptions};
use std::path::{Path, PathBuf};

fn corpus_dirs() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpus");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&root)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.join("model.xml").exists()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

fn inputs(dir: &Path) -> Vec<Tensor> {
    let mut v = Vec::new();
    for k in 0.. {
        let p = dir.join(format!("input_{k}.npy"));
        if !p.exists() {
            break;
        }
        v.push(npy::read_npy(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())));
    }
    v
}

/// Bitwise equality of f32 data (any NaN equals any NaN).
pub fn same_bits(a: &Tensor, b: &Tensor) -> Result<(), String> {
    if a.shape != b.shape {
        return Err(format!("shape {:?} vs {:?}", a.shape, b.shape));
    }
    match (&a.data, &b.data) {
        (TensorData::F32(x), TensorData::F32(y)) => {
            let bad: Vec<usize> = (0..x.len())
                .filter(|&i| x[i].to_bits() != y[i].to_bits() && !(x[i].is_nan() && y[i].is_nan()))
                .collect();
            if let Some(&i) = bad.first() {
                return Err(format!(
                    "{} of {} elements differ; first at {i}: {} vs {}",
                    bad.len(),
                    x.len(),
                    x[i],
                    y[i]
                ));
            }
            Ok(())
        }
        _ => {
            if a == b {
                Ok(())
            } else {
                Err("non-f32 outputs differ".into())
            }
        }
    }
}

fn check_model(dir: &Path, model: &Model, ins: &[Tensor], failures: &mut Vec<String>, skipped: &mut Vec<String>) {
    let name = dir.file_name().map(|s| s.to_string_lossy().to_string()).unwrap_or_default();
    for (pol, rpol) in [(ZeroPointPolicy::Exact, RefPolicy::Exact), (ZeroPointPolicy::Round, RefPolicy::Round)] {
        // Every variant and thread count must run the model; the scalar single-thread output is the
        // baseline for bitwise agreement between variants (independent of the reference's state).
        let mut baseline: Option<Vec<Tensor>> = None;
        let mut runs = Vec::new();
        for isa in std::iter::once(optimized::Isa::Scalar).chain(optimized::isa::detected().unwrap_or_default()) {
            for threads in [1usize, 2] {
                let po = PlanOptions { isa: Some(isa.name().into()), zero_point: pol, threads: Some(threads) };
                match compile(model, &po).and_then(|p| p.run(ins)) {
                    Err(e) => failures.push(format!("{name} {pol:?} {isa} t{threads}: optimized fails: {e}")),
                    Ok(out) => {
                        if let Some(b) = &baseline {
                            for (k, (g, e)) in out.outputs.iter().zip(b).enumerate() {
                                if let Err(m) = same_bits(g, e) {
                                    failures
                                        .push(format!("{name} {pol:?} {isa} t{threads} vs scalar t1, output {k}: {m}"));
                                }
                            }
                        } else {
                            baseline = Some(out.outputs.clone());
                        }
                        runs.push((isa, threads, out.outputs));
                    }
                }
            }
        }
        let opts = RunOptions { mode: Mode::Int8(rpol), ..RunOptions::default() };
        let expected = match reference::run(model, ins, &opts) {
            Ok(r) => r.outputs,
            Err(e) => {
                skipped.push(format!("{name} {pol:?}: the reference INT8 mode fails ({e}); optimized checked across ISAs and threads only"));
                continue;
            }
        };
        for (isa, threads, outs) in runs {
            if outs.len() != expected.len() {
                failures.push(format!("{name}: {} outputs vs {}", outs.len(), expected.len()));
                continue;
            }
            for (k, (g, e)) in outs.iter().zip(&expected).enumerate() {
                if let Err(m) = same_bits(g, e) {
                    failures.push(format!("{name} {pol:?} {isa} t{threads} output {k} vs reference: {m}"));
                }
            }
        }
    }
}

#[test]
fn corpus_matches_reference_int8_bit_for_bit() {
    let dirs = corpus_dirs();
    assert!(!dirs.is_empty(), "no corpus found");
    let only = std::env::var("CONFORM_CORPUS_ONLY").ok();
    let (mut failures, mut skipped) = (Vec::new(), Vec::new());
    let mut checked = 0;
    for dir in &dirs {
        let name = dir.file_name().map(|s| s.to_string_lossy().to_string()).unwrap_or_default();
        if only.as_deref().is_some_and(|o| !name.contains(o)) {
            continue;
        }
        let model = match reader::read_model(&dir.join("model.xml")) {
            Ok(m) => m,
            Err(e) => {
                skipped.push(format!("{name}: cannot read: {e}"));
                continue;
            }
        };
        let ins = inputs(dir);
        check_model(dir, &model, &ins, &mut failures, &mut skipped);
        checked += 1;
    }
    for s in &skipped {
        eprintln!("SKIP {s}");
    }
    eprintln!("{checked} models checked, {} model×policy comparisons with the reference skipped", skipped.len());
    for f in &failures {
        eprintln!("FAIL {f}");
    }
    assert!(checked > 0);
    assert!(failures.is_empty(), "{} failures (first: {})", failures.len(), failures[0]);
}
