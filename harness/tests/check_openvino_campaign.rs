//! `conform fuzz --engine openvino-cpu` end to end: a short campaign against OpenVINO's CPU
//! plugin writes minimized, classified findings whose printed repro command reproduces them
//! (`conform check DIR --engine openvino-cpu` exits 1 with the same check and label).
//!
//! Needs Python with the `openvino` package (`CONFORM_PYTHON`); without it the test prints why and
//! passes, unless `CONFORM_REQUIRE_OPENVINO=1`.

mod common;

use common::{openvino_available, python, repo};
use std::process::Command;

const LABELS: [&str; 4] = ["bug", "saturation", "zero-point-rounding", "engine-error"];

#[test]
fn campaign_findings_are_minimized_classified_and_reproducible() {
    if !openvino_available("check_openvino_campaign") {
        return;
    }
    let tmp = std::env::temp_dir().join(format!("conform-ov-campaign-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let json = tmp.join("fuzz.json");
    // Seed 0's first cases include OpenVINO 2026.4.1 findings (harness/FINDINGS.md): the campaign
    // must exit 1 and write them.
    let o = Command::new(env!("CARGO_BIN_EXE_conform"))
        .current_dir(repo())
        .env("CONFORM_PYTHON", python())
        .args(["fuzz", "--engine", "openvino-cpu", "--cases", "8", "--seed", "0", "--keep-going", "--out"])
        .arg(tmp.join("found"))
        .arg("--json")
        .arg(&json)
        .output()
        .expect("run conform");
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{stdout}\n{}", String::from_utf8_lossy(&o.stderr));
    let r: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).expect("json")).expect("JSON");
    for key in [
        "schema_version",
        "tool_version",
        "machine",
        "engines",
        "cases_run",
        "cases_per_second",
        "categories",
        "findings",
    ] {
        assert!(r.get(key).is_some(), "key {key} missing");
    }
    assert_eq!(r["cases_run"], 8);
    assert!(r["engines"][0]["version"].as_str().is_some_and(|v| !v.is_empty()), "OpenVINO's version is reported");
    let findings = r["findings"].as_array().expect("findings");
    assert!(!findings.is_empty(), "{stdout}");
    for f in findings {
        let label = f["classification"].as_str().expect("classification");
        assert!(LABELS.contains(&label), "unexpected label {label}");
        let dir = std::path::PathBuf::from(f["path"].as_str().expect("path"));
        for file in ["model.xml", "model.bin", "input_0.npy", "reference_0.npy", "manifest.json"] {
            assert!(dir.join(file).is_file(), "{file} missing in {}", dir.display());
        }
        let repro = f["repro"].as_str().expect("repro");
        assert_eq!(repro, format!("conform check {} --engine openvino-cpu", dir.display()));
        // Replay the repro command.
        let o = Command::new(env!("CARGO_BIN_EXE_conform"))
            .current_dir(repo())
            .env("CONFORM_PYTHON", python())
            .args(["check", dir.to_str().expect("utf-8 path"), "--engine", "openvino-cpu", "--json"])
            .arg(tmp.join("repro.json"))
            .output()
            .expect("run conform");
        assert_eq!(o.status.code(), Some(1), "repro of {} did not fail", dir.display());
        let rep: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(tmp.join("repro.json")).expect("json")).expect("JSON");
        let k = rep["cases"][0]["checks"]
            .as_array()
            .and_then(|c| c.iter().find(|k| k["check"] == "cpu-vs-reference").cloned())
            .expect("a cpu-vs-reference check");
        assert_eq!(k["status"], "FAILED");
        assert_eq!(k["classification"], label, "{}", k["detail"]);
    }
    let _ = std::fs::remove_dir_all(&tmp);
}
