//! Replays every minimized fuzz finding in `corpus/regressions/<id>/` on every engine: the
//! reference INT8 mode must reproduce `reference_K.npy` bit for bit, and the optimized engine on
//! every ISA variant usable here must equal it. With no regression folders this runs zero cases and
//! says so (asserted), rather than passing silently.

use std::path::PathBuf;

fn bits(t: &conform_ir::Tensor) -> Vec<u32> {
    t.to_f32_vec().iter().map(|v| v.to_bits()).collect()
}

fn numbered(dir: &std::path::Path, prefix: &str) -> Vec<PathBuf> {
    (0..).map(|k| dir.join(format!("{prefix}{k}.npy"))).take_while(|p| p.is_file()).collect()
}

#[test]
fn every_regression_replays_on_every_engine() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../corpus/regressions");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.join("model.xml").is_file()).collect())
        .unwrap_or_default();
    dirs.sort();
    let mut ran = 0;
    for dir in &dirs {
        let model = conform_ir::read_model(&dir.join("model.xml")).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let inputs: Vec<_> =
            numbered(dir, "input_").iter().map(|p| conform_ir::npy::read_npy(p).expect("input")).collect();
        let want: Vec<_> =
            numbered(dir, "reference_").iter().map(|p| conform_ir::npy::read_npy(p).expect("reference")).collect();
        let opts = reference::RunOptions {
            mode: reference::Mode::Int8(reference::int8::ZeroPointPolicy::Exact),
            ..Default::default()
        };
        let r = reference::run(&model, &inputs, &opts).unwrap_or_else(|e| panic!("{}: reference: {e}", dir.display()));
        assert_eq!(r.outputs.len(), want.len(), "{}", dir.display());
        for (a, b) in r.outputs.iter().zip(&want) {
            assert_eq!(bits(a), bits(b), "{}: reference INT8 no longer reproduces reference_K.npy", dir.display());
        }
        for isa in optimized::isa::detected().expect("ISA detection") {
            let plan = optimized::compile(
                &model,
                &optimized::PlanOptions { isa: Some(isa.name().into()), threads: Some(1), ..Default::default() },
            )
            .unwrap_or_else(|e| panic!("{} on {isa}: {e}", dir.display()));
            let out = plan.run(&inputs).unwrap_or_else(|e| panic!("{} on {isa}: {e}", dir.display()));
            for (a, b) in out.outputs.iter().zip(&want) {
                assert_eq!(bits(a), bits(b), "{} on {isa}: differs from the reference", dir.display());
            }
        }
        ran += 1;
    }
    assert_eq!(ran, dirs.len());
    if dirs.is_empty() {
        eprintln!("corpus/regressions holds no regression folders: 0 cases replayed");
    } else {
        eprintln!("{ran} regressions replayed on the reference and every usable ISA");
    }
}
