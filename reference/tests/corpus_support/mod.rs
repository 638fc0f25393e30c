//! What the corpus-wide tests (`corpus_fp32`, `corpus_fp16`, `int8_corpus`) share: the list of
//! cases, their manifests and inputs, and evaluating one node on chosen inputs (for re-anchored,
//! node-by-node checks).
#![allow(dead_code)] // each test binary uses a different subset

use conform_ir::{npy::read_npy, Model, Tensor};
use reference::ops::{evaluate, OpCtx};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The repository's `corpus/` folder.
pub fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("corpus")
}

/// The case directories (those with a model and a manifest), sorted.
pub fn cases() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .expect("corpus directory")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("model.xml").is_file() && p.join("manifest.json").is_file())
        .collect();
    v.sort();
    v
}

/// The case's `manifest.json`.
pub fn manifest(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).expect("manifest")).expect("json")
}

/// The inputs the manifest lists, in order.
pub fn inputs(dir: &Path, m: &Value) -> Vec<Tensor> {
    m["inputs"]
        .as_array()
        .expect("inputs")
        .iter()
        .map(|i| read_npy(&dir.join(i["file"].as_str().expect("file"))).expect("input npy"))
        .collect()
}

/// `|t|` element-wise (f32), for the magnitude runs of the summation bounds.
pub fn abs_tensor(t: &Tensor) -> Tensor {
    Tensor::from_f32(t.shape.clone(), t.to_f32_vec().into_iter().map(f32::abs).collect()).expect("shape")
}

/// Runs node `i` of `model` alone on `ins`.
pub fn eval_with(model: &Model, i: usize, ins: &[Tensor]) -> Result<Vec<Tensor>, String> {
    let refs: Vec<&Tensor> = ins.iter().collect();
    let ctx = OpCtx { model, index: i, node: model.node(i), inputs: &refs };
    evaluate(&ctx).map_err(|e| e.to_string())
}
