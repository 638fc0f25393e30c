//! `conform inspect --json` agrees with every corpus manifest (written by the OpenVINO-based
//! generator, an independent source): op counts, FakeQuantize count and levels, the weight form,
//! and the weight and quantization-parameter bytes by element type.
//!
//! Two documented differences between the manifests and CONTRACT.md's definitions are accounted
//! for explicitly:
//! - a model without weights has form `none` here; the generator labels such models `expanded`;
//! - the generator counts the ranges of a FakeQuantize on a MatMul's *activation* input as weight
//!   quantization parameters (it walks both MatMul inputs); CONTRACT.md's `quant_param_bytes`
//!   covers weight subgraphs only, so those range bytes are subtracted from the manifest's figure
//!   (computed here from the graph: FakeQuantize on a MatMul input whose data is not a Const).

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpus")
}

fn cases() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(corpus())
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.join("manifest.json").is_file()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

fn op_key(name: &str) -> String {
    let l = name.to_ascii_lowercase();
    if l == "constant" {
        "const".into()
    } else {
        l
    }
}

fn u64_map(v: Option<&Value>) -> BTreeMap<String, u64> {
    v.and_then(Value::as_object)
        .map(|o| o.iter().map(|(k, v)| (k.clone(), v.as_u64().unwrap_or(u64::MAX))).collect())
        .unwrap_or_default()
}

/// Bytes of the range Consts of FakeQuantize layers that quantize a MatMul's activation input.
fn matmul_activation_fq_range_bytes(xml: &Path) -> u64 {
    let model = match conform_ir::read_model(xml) {
        Ok(m) => m,
        Err(e) => panic!("{}: {e}", xml.display()),
    };
    let mut total = 0;
    for (i, nd) in model.nodes().iter().enumerate() {
        if nd.op_type != "MatMul" {
            continue;
        }
        for &(src, _) in model.sources_of(i) {
            if model.node(src).op_type != "FakeQuantize" {
                continue;
            }
            let (data, _) = model.source_of(src, 0);
            let data_type = &model.node(data).op_type;
            if data_type == "Const" || data_type == "Convert" {
                continue;
            }
            for &(r, _) in &model.sources_of(src)[1..] {
                total += model.node(r).constant.map(|c| c.size).unwrap_or(0);
            }
        }
    }
    total
}

#[test]
fn inspect_json_agrees_with_every_manifest() {
    let cases = cases();
    assert!(cases.len() >= 50, "expected the shared corpus under {}", corpus().display());
    let mut failures = Vec::new();
    for dir in &cases {
        let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let manifest: Value = match std::fs::read_to_string(dir.join("manifest.json")) {
            Ok(t) => serde_json::from_str(&t).unwrap_or(Value::Null),
            Err(e) => panic!("{name}: {e}"),
        };
        let out = match Command::new(env!("CARGO_BIN_EXE_conform"))
            .args(["inspect", "--json"])
            .arg(dir.join("model.xml"))
            .output()
        {
            Ok(o) => o,
            Err(e) => panic!("cannot run conform: {e}"),
        };
        if !out.status.success() {
            failures.push(format!("{name}: exit {:?}: {}", out.status.code(), String::from_utf8_lossy(&out.stderr)));
            continue;
        }
        let r: Value = match serde_json::from_slice(&out.stdout) {
            Ok(v) => v,
            Err(e) => panic!("{name}: inspect --json is not JSON: {e}"),
        };
        // Op counts, with OpenVINO's Python type names mapped to IR type strings.
        let ours: BTreeMap<String, u64> = u64_map(r.get("ops")).into_iter().map(|(k, v)| (op_key(&k), v)).collect();
        let theirs: BTreeMap<String, u64> =
            u64_map(manifest.get("op_counts")).into_iter().map(|(k, v)| (op_key(&k), v)).collect();
        if ours != theirs {
            failures.push(format!("{name}: ops {ours:?} != {theirs:?}"));
        }
        // FakeQuantize count and levels.
        let fqs = r.get("fake_quantize").and_then(Value::as_array).cloned().unwrap_or_default();
        let mut levels: BTreeMap<String, u64> = BTreeMap::new();
        for fq in &fqs {
            *levels.entry(fq.get("levels").map(|l| l.to_string()).unwrap_or_default()).or_default() += 1;
            let consts = fq.get("constant_ranges").and_then(Value::as_array).map(|a| a.len());
            if consts != Some(4) {
                failures.push(format!("{name}: a FakeQuantize without four constant_ranges entries"));
            }
        }
        if Some(fqs.len() as u64) != manifest.pointer("/fake_quantize/count").and_then(Value::as_u64) {
            failures.push(format!(
                "{name}: {} FakeQuantize layers, manifest {:?}",
                fqs.len(),
                manifest.pointer("/fake_quantize/count")
            ));
        }
        if levels != u64_map(manifest.pointer("/fake_quantize/levels")) {
            failures.push(format!("{name}: levels {levels:?}"));
        }
        // Weight form (manifest names: compressed = compressed-dq, compressed-legacy and
        // compressed-fq-u8 = compressed-fq, fp16-weights = none).
        let weight_bytes = u64_map(manifest.get("weight_constant_bytes_by_element_type"));
        let want_form = match manifest.get("form").and_then(Value::as_str).unwrap_or("") {
            _ if weight_bytes.is_empty() => "none",
            "expanded" => "expanded",
            "compressed" => "compressed-dq",
            "compressed-legacy" | "compressed-fq-u8" => "compressed-fq",
            "fp16-weights" => "none",
            other => panic!("{name}: unknown manifest form {other}"),
        };
        let form = r.get("form").and_then(Value::as_str).unwrap_or("");
        if form != want_form {
            failures.push(format!("{name}: form {form}, manifest says {want_form}"));
        }
        let ops = r.get("weighted_ops").and_then(Value::as_array).cloned().unwrap_or_default();
        if ops.iter().any(|o| o.get("form").and_then(Value::as_str) != Some(want_form)) {
            failures.push(format!("{name}: a weighted op's form differs from {want_form}"));
        }
        // Weight bytes by element type.
        let w = r.get("weights").cloned().unwrap_or(Value::Null);
        if u64_map(w.get("by_element_type")) != weight_bytes {
            failures.push(format!("{name}: weight bytes {:?} != {weight_bytes:?}", w.get("by_element_type")));
        }
        let stored: u64 = weight_bytes.values().sum();
        if w.get("stored_bytes").and_then(Value::as_u64) != Some(stored) {
            failures.push(format!("{name}: stored_bytes {:?} != {stored}", w.get("stored_bytes")));
        }
        let manifest_qp: u64 =
            u64_map(manifest.get("weight_quant_param_constant_bytes_by_element_type")).values().sum();
        let want_qp = manifest_qp - matmul_activation_fq_range_bytes(&dir.join("model.xml"));
        if w.get("quant_param_bytes").and_then(Value::as_u64) != Some(want_qp) {
            failures.push(format!("{name}: quant_param_bytes {:?} != {want_qp}", w.get("quant_param_bytes")));
        }
        // The fp32 equivalent of the expanded twin's f32 weights equals its stored bytes.
        let fp32_equivalent = w.get("fp32_equivalent_bytes").and_then(Value::as_u64);
        if want_form == "expanded" && weight_bytes.keys().all(|k| k == "f32") && fp32_equivalent != Some(stored) {
            failures.push(format!("{name}: fp32_equivalent_bytes {fp32_equivalent:?} != {stored}"));
        }
        if r.get("ir_version").and_then(Value::as_u64) != manifest.pointer("/ir_xml/ir_version").and_then(Value::as_u64)
        {
            failures.push(format!("{name}: ir_version {:?}", r.get("ir_version")));
        }
    }
    assert!(failures.is_empty(), "{} disagreements:\n{}", failures.len(), failures.join("\n"));
}

/// Twins hold the same weights in different forms: the fp32-equivalent bytes must agree across
/// a case's expanded and compressed versions, and the compressed weights take 1/4 (i8) or 1/8
/// (i4) of their fp32 equivalent.
#[test]
fn twins_have_equal_fp32_equivalent_bytes() {
    let inspect = |dir: &Path| -> Value {
        let out = Command::new(env!("CARGO_BIN_EXE_conform"))
            .args(["inspect", "--json"])
            .arg(dir.join("model.xml"))
            .output()
            .unwrap_or_else(|e| panic!("cannot run conform: {e}"));
        serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
    };
    let mut checked = 0;
    for dir in cases() {
        let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let Some(base) = name.strip_suffix("__compressed") else { continue };
        let twin = corpus().join(format!("{base}__expanded"));
        if !twin.is_dir() {
            continue;
        }
        let (c, e) = (inspect(&dir), inspect(&twin));
        let fp = |v: &Value| v.pointer("/weights/fp32_equivalent_bytes").and_then(Value::as_u64);
        assert_eq!(fp(&c), fp(&e), "{name}");
        let stored = |v: &Value| v.pointer("/weights/stored_bytes").and_then(Value::as_u64).unwrap_or(0);
        let i4 = c.pointer("/weights/by_element_type/i4").is_some();
        assert_eq!(fp(&c), Some(stored(&c) * if i4 { 8 } else { 4 }), "{name}");
        assert!(stored(&e) > stored(&c), "{name}");
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} twin pairs found");
}
