//! Writing a minimized finding as a case folder (CONTRACT.md layout): `model.xml`, `model.bin`,
//! `input_K.npy`, `reference_K.npy` (our reference INT8 outputs) and `manifest.json`.

use super::oracle::{reference_int8, Failure};
use crate::gen::GenCase;
use serde_json::json;
use std::path::{Path, PathBuf};

/// FNV-1a of a string: a stable short id for a descriptor.
pub fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ b as u64).wrapping_mul(0x0100_0000_01b3))
}

/// The one-line command that replays a regression folder.
pub fn repro(dir: &Path, isa: Option<&str>) -> String {
    match isa {
        Some(i) => format!("conform check {} --engine reference --engine optimized:{i}", dir.display()),
        None => format!("conform check {} --engine reference", dir.display()),
    }
}

/// Writes the folder `<out>/<check>-<hash>` and returns its path.
pub fn write(out: &Path, case: &GenCase, failure: &Failure, seed: u64, isa: Option<&str>) -> Result<PathBuf, String> {
    let id = format!("{}-{:016x}", failure.check, fnv(&case.descriptor));
    let dir = out.join(id);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    conform_ir::write_model(&case.model, &dir.join("model.xml")).map_err(|e| e.to_string())?;
    for (k, t) in case.inputs.iter().enumerate() {
        let p = dir.join(format!("input_{k}.npy"));
        conform_ir::npy::write_npy(&p, t).map_err(|e| format!("{}: {e}", p.display()))?;
    }
    let outputs = reference_int8(case).unwrap_or_default();
    for (k, t) in outputs.iter().enumerate() {
        let p = dir.join(format!("reference_{k}.npy"));
        conform_ir::npy::write_npy(&p, t).map_err(|e| format!("{}: {e}", p.display()))?;
    }
    let report = crate::inspect::inspect(&case.model).map_err(|e| e.to_string())?;
    // The corpus manifest's FakeQuantize tally (`fake_quantize.levels`: levels → count), which
    // `conform check`'s manifest check compares with the model.
    let mut levels = std::collections::BTreeMap::<String, u64>::new();
    for fq in &report.fake_quantize {
        *levels.entry(fq.levels.to_string()).or_default() += 1;
    }
    let manifest = json!({
        "name": dir.file_name().map(|n| n.to_string_lossy().into_owned()),
        "description": format!("fuzz finding: {} ({})", failure.check, failure.classification),
        "form": report.form,
        "inputs": case.inputs.iter().map(|t| json!({"shape": t.shape, "element_type": "f32"})).collect::<Vec<_>>(),
        "outputs": outputs.iter().map(|t| json!({"shape": t.shape, "element_type": t.element_type.ir_name()})).collect::<Vec<_>>(),
        "op_counts": report.ops,
        "fake_quantize": {"levels": levels},
        "descriptor": case.descriptor,
        "seed": seed,
        "engines": failure.engines,
        "check": failure.check,
        "classification": failure.classification,
        "message": failure.message,
        "repro": repro(&dir, isa),
    });
    let text = serde_json::to_string_pretty(&manifest).map_err(|e| e.to_string())?;
    let p = dir.join("manifest.json");
    std::fs::write(&p, text).map_err(|e| format!("{}: {e}", p.display()))?;
    Ok(dir)
}
