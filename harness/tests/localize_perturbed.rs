//! Localisation on a real model: a deliberately perturbed engine (the reference INT8 mode with one
//! weight of one chosen GroupConvolution negated, so the culprit is known by construction) fails
//! the whole corpus model; the localiser, re-anchoring every unit on the reference's values, must
//! name that GroupConvolution as the first diverging node, and the sub-IR it writes must reproduce
//! the failure on its own (the perturbed engine differs from the written `reference_0.npy`, the
//! reference reproduces it bit for bit).

use conform_ir::{Model, Tensor};
use harness::engine::ModelRef;
use harness::localize;
use reference::int8::ZeroPointPolicy;
use reference::{Mode, RunOptions};
use std::path::{Path, PathBuf};
use std::sync::Arc;

const CASE: &str = "mp_face_detection_short__expanded";
/// A depthwise block in the middle of the model (the 3rd GroupConvolution is later, the 1st earlier).
const CULPRIT: &str = "GroupConvolution_1877610";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn int8(model: &Model, inputs: &[Tensor]) -> Vec<Tensor> {
    let opts = RunOptions { mode: Mode::Int8(ZeroPointPolicy::Exact), max_memory: None, keep_values: false };
    reference::run(model, inputs, &opts).expect("reference INT8 run").outputs
}

/// The model with the first weight of `CULPRIT` negated (the weight Const gets its own copy of
/// the data appended to the blob, so no other Const sharing the bytes changes). Unchanged when
/// the model has no node of that name.
fn perturb(model: &Model) -> Model {
    let Some(conv) = model.nodes().iter().position(|n| n.name == CULPRIT) else { return model.clone() };
    // GroupConvolution ← weight FakeQuantize ← f32 Const (expanded form).
    let (fq, _) = model.source_of(conv, 1);
    assert_eq!(model.node(fq).op_type, "FakeQuantize");
    let (c, _) = model.source_of(fq, 0);
    let view = model.node(c).constant.expect("weight Const");
    let mut parts = model.to_parts();
    let mut blob = parts.weights.as_ref().clone();
    let start = view.offset as usize;
    let mut data = blob[start..start + view.size as usize].to_vec();
    let w = f32::from_le_bytes([data[0], data[1], data[2], data[3]]);
    data[..4].copy_from_slice(&(-w - 0.05).to_le_bytes());
    let offset = blob.len() as u64;
    blob.extend_from_slice(&data);
    parts.weights = Arc::new(blob);
    parts.nodes[c].constant = Some(conform_ir::ConstView { offset, ..view });
    Model::from_parts(parts).expect("perturbed model")
}

fn bits(t: &[Tensor]) -> Vec<Vec<u32>> {
    t.iter().map(|t| t.to_f32_vec().iter().map(|v| v.to_bits()).collect()).collect()
}

#[test]
fn the_localiser_names_the_perturbed_node_and_writes_a_reproducing_sub_ir() {
    let dir = root().join("corpus").join(CASE);
    let model = conform_ir::read_model(&dir.join("model.xml")).expect("model");
    let inputs: Vec<Tensor> = (0..)
        .map(|k| dir.join(format!("input_{k}.npy")))
        .take_while(|p| p.is_file())
        .map(|p| conform_ir::npy::read_npy(&p).expect("input"))
        .collect();
    // The whole model fails: the perturbed engine's outputs differ from the reference's.
    assert_ne!(bits(&int8(&perturb(&model), &inputs)), bits(&int8(&model, &inputs)), "the perturbation shows");
    let scratch = std::env::temp_dir().join(format!("conform-localize-test-{}", std::process::id()));
    let mut compare = |m: ModelRef<'_>, feeds: &[Tensor]| -> Result<Option<(String, String)>, String> {
        let got = int8(&perturb(m.model), feeds);
        let want = int8(m.model, feeds);
        Ok((bits(&got) != bits(&want)).then(|| ("bug".to_string(), "perturbed".to_string())))
    };
    let loc = localize::localize(&model, &inputs, &scratch, &mut compare).expect("localize").expect("a divergence");
    assert_eq!(loc.node, CULPRIT);
    assert_eq!(loc.op_type, "GroupConvolution");
    assert_eq!(loc.unit.kind, "INT8 block");
    // Units before it (the first Convolution, the first GroupConvolution, ...) agreed.
    assert!(loc.compared > 3, "only {} units compared", loc.compared);
    // The smallest sub-IR: one main op, far fewer nodes than the model.
    let mains = loc.model.nodes().iter().filter(|n| n.op_type.contains("Convolution")).count();
    assert_eq!(mains, 1);
    assert!(loc.model.nodes().len() * 4 < model.nodes().len());

    let out = scratch.join("regressions");
    let (case_dir, repro) =
        localize::write_regression(&out, CASE, "perturbed", "vs-reference-int8", &loc).expect("written");
    assert!(repro.contains(&case_dir.display().to_string()));
    let sub = conform_ir::read_model(&case_dir.join("model.xml")).expect("sub-IR reads");
    let sub_inputs: Vec<Tensor> = (0..)
        .map(|k| case_dir.join(format!("input_{k}.npy")))
        .take_while(|p| p.is_file())
        .map(|p| conform_ir::npy::read_npy(&p).expect("input"))
        .collect();
    assert_eq!(sub_inputs.len(), sub.parameters().len());
    let want = vec![conform_ir::npy::read_npy(&case_dir.join("reference_0.npy")).expect("reference_0.npy")];
    assert_eq!(bits(&int8(&sub, &sub_inputs)), bits(&want), "the reference reproduces reference_0.npy");
    assert_ne!(bits(&int8(&perturb(&sub), &sub_inputs)), bits(&want), "the sub-IR reproduces the failure");
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(case_dir.join("manifest.json")).expect("manifest"))
            .expect("JSON");
    for key in [
        "name",
        "description",
        "form",
        "inputs",
        "outputs",
        "op_counts",
        "descriptor",
        "seed",
        "engines",
        "check",
        "classification",
        "message",
        "repro",
    ] {
        assert!(manifest.get(key).is_some(), "manifest key {key} missing");
    }
    let _ = std::fs::remove_dir_all(&scratch);
}
