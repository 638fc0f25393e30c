//! IRs written by `compress` and `expand` through OpenVINO itself (issue 4): for every corpus
//! model, `compress --form fq`, `compress --form dq` and `expand` are applied and written with
//! `conform_ir::write_model`, and OpenVINO's CPU plugin (`INFERENCE_PRECISION_HINT=f32`, one
//! thread) must load and run every written IR on the corpus inputs.
//!
//! Where the corpus holds an OpenVINO-written IR whose weight subgraphs are bit-identical to ours
//! (our dq form of `X__expanded` vs NNCF's `X__compressed`, our fq form of `X__expanded` vs
//! `X__legacy`: integers, scales, zero points and ranges are checked equal bit for bit by
//! `reference/tests/compress_twins.rs`), the two graphs differ only in layer names and order, so
//! OpenVINO's outputs must be bitwise equal.
//!
//! Needs Python with the `openvino` package (`CONFORM_PYTHON`, default `python3`). Without it the
//! test prints why and passes, unless `CONFORM_REQUIRE_OPENVINO=1` (CI), where it fails.

use reference::compress::{compress, expand, Bits, CompressOptions, Form};
mod common;

use common::{case_inputs, corpus_cases, differ, openvino_available, repo, Adapter};

#[test]
fn compressed_and_expanded_irs_run_in_openvino() {
    if !openvino_available("ov_compress") {
        return;
    }
    let tmp = std::env::temp_dir().join(format!("conform-ov-compress-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let corpus = repo().join("corpus");
    let cases = corpus_cases();
    let mut ov = Adapter::start();
    eprintln!("OpenVINO {}", ov.version());
    let mut failures = Vec::new();
    let mut ran = 0usize;
    for case in &cases {
        let name = case.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let model = conform_ir::read_model(&case.join("model.xml")).unwrap_or_else(|e| panic!("{e}"));
        let inputs = case_inputs(case);
        let rewrites = [
            ("fq", compress(&model, &CompressOptions { form: Form::Fq, bits: Bits::Auto })),
            ("dq", compress(&model, &CompressOptions { form: Form::Dq, bits: Bits::Auto })),
            ("expand", expand(&model)),
        ];
        for (tag, result) in rewrites {
            let (out, report) = match result {
                Ok(x) => x,
                Err(e) => {
                    failures.push(format!("{name}: {tag}: {e}"));
                    continue;
                }
            };
            if report.tensors.is_empty() {
                continue;
            }
            let dir = tmp.join(&name).join(tag);
            let written = dir.join("model.xml");
            std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
            if let Err(e) = conform_ir::write_model(&out, &written) {
                failures.push(format!("{name}: {tag}: write: {e}"));
                continue;
            }
            let ours = match ov.run(&written, &inputs, &dir.join("out")) {
                Ok(o) => o,
                Err(e) => {
                    failures.push(format!("{name}: {tag}: OpenVINO cannot run the written IR: {e}"));
                    continue;
                }
            };
            ran += 1;
            // The OpenVINO-written twin with bit-identical weight subgraphs, when there is one.
            let twin = match (name.strip_suffix("__expanded"), tag) {
                (Some(stem), "dq") => Some(corpus.join(format!("{stem}__compressed"))),
                (Some(stem), "fq") => Some(corpus.join(format!("{stem}__legacy"))),
                _ => None,
            };
            if let Some(twin) = twin.filter(|t| t.join("model.xml").is_file()) {
                match ov.run(&twin.join("model.xml"), &inputs, &dir.join("twin")) {
                    Ok(theirs) => {
                        if let Some(d) = differ(&ours, &theirs) {
                            failures.push(format!("{name}: {tag}: vs {}: {d}", twin.display()));
                        }
                    }
                    Err(e) => failures.push(format!("{name}: {tag}: OpenVINO cannot run the twin: {e}")),
                }
            }
        }
    }
    let _ = std::fs::remove_dir_all(&tmp);
    assert!(ran > 0, "no rewritten IR was run");
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}
