//! IR writer round trip through OpenVINO itself: every corpus model is read, written again with
//! `conform_ir::write_model`, and both the original and the written IR are run by OpenVINO's CPU
//! plugin (`INFERENCE_PRECISION_HINT=f32`, one thread) on the corpus inputs. Same plugin, same
//! graph: the outputs must be bitwise equal.
//!
//! Needs Python with the `openvino` package (`CONFORM_PYTHON`, default `python3`). Without it the
//! test prints why and passes, unless `CONFORM_REQUIRE_OPENVINO=1` (CI), where it fails.

mod common;

use common::{case_inputs, corpus_cases, differ, openvino_available, python, repo, Adapter};
use std::process::Command;

#[test]
fn written_models_run_in_openvino_with_bitwise_equal_outputs() {
    if !openvino_available("openvino_round_trip") {
        return;
    }
    let tmp = std::env::temp_dir().join(format!("conform-ov-rt-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let cases = corpus_cases();
    let mut ov = Adapter::start();
    eprintln!("OpenVINO {}", ov.version());
    let mut failures = Vec::new();
    for case in &cases {
        let name = case.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let model = conform_ir::read_model(&case.join("model.xml")).unwrap_or_else(|e| panic!("{e}"));
        let written = tmp.join(&name).join("model.xml");
        std::fs::create_dir_all(tmp.join(&name)).unwrap_or_else(|e| panic!("{e}"));
        if let Err(e) = conform_ir::write_model(&model, &written) {
            failures.push(format!("{name}: write: {e}"));
            continue;
        }
        let inputs = case_inputs(case);
        let a = ov.run(&case.join("model.xml"), &inputs, &tmp.join(&name).join("original"));
        let b = ov.run(&written, &inputs, &tmp.join(&name).join("written"));
        match (a, b) {
            (Ok(a), Ok(b)) => {
                if let Some(d) = differ(&a, &b) {
                    failures.push(format!("{name}: {d}"));
                }
            }
            (Err(e), _) => failures.push(format!("{name}: OpenVINO cannot run the original: {e}")),
            (_, Err(e)) => failures.push(format!("{name}: OpenVINO cannot run the written IR: {e}")),
        }
    }
    let _ = std::fs::remove_dir_all(&tmp);
    assert!(failures.is_empty(), "{} of {} cases:\n{}", failures.len(), cases.len(), failures.join("\n"));
}

/// `conform check --engine openvino-cpu` runs OpenVINO's CPU plugin through the adapter and, on
/// two corpus cases, reproduces the outputs the corpus recorded from the same plugin bit for bit;
/// the JSON report names OpenVINO's version.
#[test]
fn check_with_openvino_cpu_reproduces_the_recorded_outputs() {
    if !openvino_available("openvino_round_trip") {
        return;
    }
    let json = std::env::temp_dir().join(format!("conform-ov-check-{}.json", std::process::id()));
    let o = Command::new(env!("CARGO_BIN_EXE_conform"))
        .current_dir(repo())
        .env("CONFORM_PYTHON", python())
        .args(["check", "corpus/conv_s2_asympad_relu__mo_u8", "corpus/matmul_fc_relu__compressed"])
        .args(["--engine", "openvino-cpu", "--json"])
        .arg(&json)
        .output()
        .unwrap_or_else(|e| panic!("cannot run conform: {e}"));
    let text = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert_eq!(o.status.code(), Some(0), "{text}");
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap_or_default()).unwrap_or_default();
    let _ = std::fs::remove_file(&json);
    let version = r.pointer("/engines/0/version").and_then(|v| v.as_str()).unwrap_or("");
    assert!(version.starts_with("20"), "OpenVINO's version in the report: {version:?}");
    let statuses: Vec<&str> = r["cases"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|c| c["checks"].as_array().into_iter().flatten())
        .filter(|k| k["check"] == "vs-recorded-cpu")
        .filter_map(|k| k["status"].as_str())
        .collect();
    assert_eq!(statuses, vec!["PASSED", "PASSED"], "{text}");
}

/// `--engine openvino-reference` evaluates the model node by node with OpenVINO's own reference
/// code: the reference in FP32 matches it bit for bit on a FakeQuantize-and-MatMul case, and a
/// model with a Convolution (which OpenVINO cannot evaluate) is SKIPPED naming the node.
#[test]
fn check_with_openvino_reference_is_bit_exact_or_names_uncovered_nodes() {
    if !openvino_available("openvino_round_trip") {
        return;
    }
    let json = std::env::temp_dir().join(format!("conform-ov-ref-{}.json", std::process::id()));
    let o = Command::new(env!("CARGO_BIN_EXE_conform"))
        .current_dir(repo())
        .env("CONFORM_PYTHON", python())
        .args(["check", "corpus/matmul_fc_relu__legacy", "corpus/conv_s2_asympad_relu__mo_u8"])
        .args(["--engine", "openvino-reference", "--json"])
        .arg(&json)
        .output()
        .unwrap_or_else(|e| panic!("cannot run conform: {e}"));
    let text = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert_eq!(o.status.code(), Some(0), "{text}");
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap_or_default()).unwrap_or_default();
    let _ = std::fs::remove_file(&json);
    let find = |case: &str| -> serde_json::Value {
        r["cases"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|c| c["case"] == case)
            .flat_map(|c| c["checks"].as_array().cloned().unwrap_or_default())
            .find(|k| k["check"] == "fp32-vs-openvino-reference")
            .unwrap_or_default()
    };
    let mm = find("matmul_fc_relu__legacy");
    assert_eq!(mm["status"], "PASSED", "{text}");
    assert_eq!(mm["max_ulp"], 0);
    let conv = find("conv_s2_asympad_relu__mo_u8");
    assert_eq!(conv["status"], "SKIPPED", "{text}");
    assert!(conv["detail"].as_str().is_some_and(|d| d.contains("Convolution")), "{text}");
}
