//! Compression and expansion over every corpus model with weights (issue 4, "Done when").
//!
//! For each model and each form:
//! * the FP32-fallback outputs of `compress(x)` equal those of `x` bit for bit when the report says
//!   every weight is bit-identical, and those of `expand(compress(x))` always for the fq form
//!   (the fq expansion is exact by construction, the report says 0);
//! * the dq form's weights stay within SPEC §2.1's measured bound (≤ 2.25 ulp(R), asserted ≤ 3);
//! * `compress(expand(compress(x)))` writes the same bytes as `compress(x)`;
//! * 8-bit weight data ≤ 0.26 of fp32, 4-bit ≤ 0.135, data + parameters ≤ 0.30 on the real models.

use conform_ir::npy::read_npy;
use conform_ir::{read_model, write_model_to_bytes, Model, Tensor};
use reference::compress::{compress, expand, Bits, CompressOptions, Form, Report};
use reference::{run, RunOptions};
use std::path::{Path, PathBuf};

fn corpus_models() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpus");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("corpus directory")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("model.xml").is_file())
        .collect();
    v.sort();
    v
}

fn inputs(dir: &Path, model: &Model) -> Vec<Tensor> {
    (0..model.parameters().len()).map(|k| read_npy(&dir.join(format!("input_{k}.npy"))).expect("input npy")).collect()
}

/// FP32-fallback outputs; `None` while the interpreter lacks an op of the model (the output
/// checks are then skipped for that model, the weight-level checks still run).
fn outputs(model: &Model, ins: &[Tensor]) -> Option<Vec<Tensor>> {
    match run(model, ins, &RunOptions::default()) {
        Ok(o) => Some(o.outputs),
        Err(reference::RefError::UnsupportedOp { op_type, .. }) => {
            eprintln!("skipping output comparison: {op_type} not implemented");
            None
        }
        Err(e) => panic!("fp32 run failed: {e}"),
    }
}

fn bits_equal(a: &Option<Vec<Tensor>>, b: &Option<Vec<Tensor>>) -> bool {
    let (Some(a), Some(b)) = (a, b) else { return true };
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| {
            let (xs, ys) = (x.to_f32_vec(), y.to_f32_vec());
            xs.len() == ys.len() && xs.iter().zip(&ys).all(|(p, q)| p.to_bits() == q.to_bits())
        })
}

fn bytes(model: &Model) -> (String, Vec<u8>) {
    write_model_to_bytes(model).expect("write")
}

fn is_real(dir: &Path) -> bool {
    let n = dir.file_name().and_then(|s| s.to_str()).unwrap_or("");
    ["ppocrv4_det", "mp_face_detection_short", "silero_vad_16k"].iter().any(|r| n.starts_with(r))
}

fn check_ratios(dir: &Path, r: &Report, bits: Bits) {
    let four = r.tensors.iter().filter(|t| matches!(t.element_type.as_str(), "i4" | "u4"));
    let eight = r.tensors.iter().filter(|t| matches!(t.element_type.as_str(), "i8" | "u8"));
    for (set, bound) in [(four.collect::<Vec<_>>(), 0.135), (eight.collect::<Vec<_>>(), 0.26)] {
        let stored: u64 = set.iter().map(|t| t.stored_bytes).sum();
        let fp32: u64 = set.iter().map(|t| t.fp32_equivalent_bytes).sum();
        if fp32 > 0 {
            let ratio = stored as f64 / fp32 as f64;
            assert!(ratio <= bound, "{}: {bits:?}: weight data ratio {ratio} > {bound}", dir.display());
        }
    }
    if is_real(dir) && bits != Bits::Four {
        let t = &r.totals;
        assert!(t.ratio_with_params <= 0.30, "{}: data + params ratio {}", dir.display(), t.ratio_with_params);
    }
}

#[test]
fn every_corpus_model_round_trips_through_both_forms() {
    let mut compressed_any = 0;
    for dir in corpus_models() {
        let x = read_model(&dir.join("model.xml")).expect("read");
        let ins = inputs(&dir, &x);
        let base = outputs(&x, &ins);
        for form in [Form::Fq, Form::Dq] {
            // Without levels ≤ 16 anywhere, --bits 8 writes what --bits auto writes (checked
            // once by comparing the bytes) and --bits 4 refuses everything: skip re-running them.
            let mut auto_bytes = None;
            let mut has_4bit = true;
            for bits in [Bits::Auto, Bits::Eight, Bits::Four] {
                let opts = CompressOptions { form, bits };
                let (c, rep) = compress(&x, &opts).expect("compress");
                match bits {
                    Bits::Auto => {
                        has_4bit = rep.tensors.iter().any(|t| t.levels <= 16);
                        auto_bytes = Some(bytes(&c));
                    }
                    _ if !has_4bit => {
                        if bits == Bits::Eight {
                            assert!(
                                auto_bytes.as_ref() == Some(&bytes(&c)),
                                "{}: --bits 8 differs from auto",
                                dir.display()
                            );
                        } else {
                            assert!(rep.tensors.iter().all(|t| t.levels <= 16), "{}", dir.display());
                        }
                        continue;
                    }
                    _ => {}
                }
                eprintln!("{} {form:?} {bits:?}\n{rep}", dir.display());
                compressed_any += usize::from(!rep.tensors.is_empty());
                check_ratios(&dir, &rep, bits);
                let out_c = outputs(&c, &ins);
                if rep.totals.not_bit_identical == 0 {
                    assert!(
                        bits_equal(&base, &out_c),
                        "{}: {form:?}: all weights identical, outputs differ",
                        dir.display()
                    );
                }
                for t in &rep.tensors {
                    let bound = if form == Form::Fq && t.from_form != "compressed-dq" {
                        // SPEC §2.2: at most 1 ulp, only where w > ih.
                        1.0
                    } else {
                        // SPEC §2.1: up to 2.25 ulp(R) measured.
                        3.0
                    };
                    assert!(
                        t.max_ulp <= bound,
                        "{}: {form:?}: {}: max ulp {} > {bound}",
                        dir.display(),
                        t.name,
                        t.max_ulp
                    );
                    if form == Form::Fq && t.from_form != "compressed-dq" {
                        // Every difference is one SPEC §2.2 explains (a weight above input_high)
                        // or only in the sign of zero.
                        assert_eq!(
                            t.differs_above_input_high.map(|a| a + t.differs_in_sign_of_zero),
                            Some(t.not_bit_identical),
                            "{}: {}",
                            dir.display(),
                            t.name
                        );
                    }
                }
                let (e, erep) = expand(&c).expect("expand");
                for t in &erep.tensors {
                    match t.from_form.as_str() {
                        // Folding the Convert is exact by construction; the report must say so.
                        "compressed-fq" => assert_eq!(t.not_bit_identical, 0, "{}: {}", dir.display(), t.name),
                        _ => assert!(
                            t.max_ulp <= 3.0,
                            "{}: {}: dq expansion max ulp {}",
                            dir.display(),
                            t.name,
                            t.max_ulp
                        ),
                    }
                    // Every channel's scale and zero point re-derive from the chosen ranges.
                    assert!(!t.note.contains("cannot re-derive"), "{}: {}: {}", dir.display(), t.name, t.note);
                }
                if erep.totals.not_bit_identical == 0 {
                    assert!(
                        bits_equal(&out_c, &outputs(&e, &ins)),
                        "{}: exact expansion changed outputs",
                        dir.display()
                    );
                }
                // A weight that --bits 4 refused stays as it was in compress(x) but is expanded by
                // expand; compressing it again is refused again, so it stays expanded: the
                // identity only holds when nothing was refused for its width.
                if rep.refused.iter().any(|r| r.reason.contains("--bits 4") || r.reason.contains("4 bits")) {
                    continue;
                }
                let (c2, _) = compress(&e, &opts).expect("compress again");
                assert!(
                    bytes(&c2) == bytes(&c),
                    "{}: {form:?} {bits:?}: compress(expand(compress(x))) differs: {:?}\n{erep}",
                    dir.display(),
                    conform_ir::writer::model_difference(&c, &c2)
                );
            }
        }
    }
    assert!(compressed_any > 0);
}
