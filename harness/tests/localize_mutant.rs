//! `conform check --localize` against a seeded mutant of the optimized engine (feature `mutants`):
//! `mutant:per-tensor-scale` uses the first output channel's weight scale for every channel. On a
//! real model the localiser must name an INT8 Convolution / GroupConvolution whose weight scales
//! differ between channels (read from the IR's weight FakeQuantize ranges: otherwise the mutant
//! could not change it), write a sub-IR with one convolution on which the mutant still fails, and
//! on which the optimized engine without the mutant passes. (Which convolution comes first depends
//! on the kernels the plan picks — the stem runs a kernel the mutant does not touch — so the exact
//! node is asserted by `localize_perturbed.rs`, where the culprit is known by construction.)
//! Run with `cargo test -p conform --features mutants --test localize_mutant`.
#![cfg(feature = "mutants")]

use conform_ir::Model;
use std::path::Path;
use std::process::Command;

const CASE: &str = "mp_face_detection_short__expanded";
const MUTANT: &str = "optimized:mutant:per-tensor-scale";

/// True when the weights of convolution `name` have per-channel ranges of different widths.
fn per_channel_scales_differ(model: &Model, name: &str) -> bool {
    let Some(i) = model.nodes().iter().position(|n| n.name == name) else { return false };
    let (fq, _) = model.source_of(i, 1);
    if model.node(fq).op_type != "FakeQuantize" {
        return false;
    }
    let range = |k: usize| {
        let (c, _) = model.source_of(fq, k);
        model.const_tensor(c).map(|t| t.to_f32_vec()).unwrap_or_default()
    };
    let (ol, oh) = (range(3), range(4));
    let widths: Vec<f32> = ol.iter().zip(&oh).map(|(l, h)| h - l).collect();
    widths.len() > 1 && widths.iter().any(|w| *w != widths[0])
}

#[test]
fn per_tensor_scale_mutant_is_localized_to_a_convolution_with_per_channel_scales() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let case = root.join("corpus").join(CASE);
    let model = conform_ir::read_model(&case.join("model.xml")).expect("model");
    let out = std::env::temp_dir().join(format!("conform-localize-mutant-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let json = out.join("check.json");
    std::fs::create_dir_all(&out).expect("tmp");
    let o = Command::new(env!("CARGO_BIN_EXE_conform"))
        .current_dir(&root)
        .args(["check"])
        .arg(&case)
        .args(["--engine", MUTANT, "--localize", "--localize-out"])
        .arg(out.join("regressions"))
        .arg("--json")
        .arg(&json)
        .output()
        .expect("run conform");
    assert_eq!(o.status.code(), Some(1), "{}", String::from_utf8_lossy(&o.stdout));
    let r: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).expect("json")).expect("JSON");
    let k = r["cases"][0]["checks"]
        .as_array()
        .and_then(|c| c.iter().find(|k| k["check"] == "vs-reference-int8" && k["status"] == "FAILED").cloned())
        .expect("a FAILED vs-reference-int8 check");
    let detail = k["detail"].as_str().unwrap_or_default();
    let note = detail.split("localized: ").nth(1).unwrap_or_else(|| panic!("no localisation in {detail}"));
    // "first diverging INT8 block GroupConvolution NAME (K units re-anchored, …)"
    let mut words = note.split_whitespace().skip(4);
    let (op, name) = (words.next().unwrap_or_default(), words.next().unwrap_or_default());
    assert!(note.starts_with("first diverging INT8 block"), "{note}");
    assert!(op.ends_with("Convolution"), "{note}");
    assert!(per_channel_scales_differ(&model, name), "{name}: the mutant cannot change it: {note}");
    let want = name.to_string();
    // The written sub-IR reproduces the failure with its repro command and holds one convolution.
    let dir = note.split("sub-IR: ").nth(1).and_then(|s| s.split(';').next()).expect("sub-IR path").trim();
    let sub = conform_ir::read_model(&Path::new(dir).join("model.xml")).expect("sub-IR");
    assert_eq!(sub.nodes().iter().filter(|n| n.op_type.ends_with("Convolution")).count(), 1);
    assert!(sub.nodes().iter().any(|n| n.name == want));
    let o = Command::new(env!("CARGO_BIN_EXE_conform"))
        .current_dir(&root)
        .args(["check", dir, "--engine", MUTANT])
        .output()
        .expect("run conform");
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{stdout}");
    assert!(stdout.lines().any(|l| l.contains("vs-reference-int8") && l.contains("FAILED")), "{stdout}");
    // Without the mutant the sub-IR passes: the optimized engine equals the reference there.
    let o = Command::new(env!("CARGO_BIN_EXE_conform"))
        .current_dir(&root)
        .args(["check", dir, "--engine", "optimized"])
        .output()
        .expect("run conform");
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stdout));
    let _ = std::fs::remove_dir_all(&out);
}
