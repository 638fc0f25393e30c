//! IR writer round trip through OpenVINO itself: every corpus model is read, written again with
//! `conform_ir::write_model`, and both the original and the written IR are run by OpenVINO's CPU
//! plugin (`INFERENCE_PRECISION_HINT=f32`, one thread) on the corpus inputs. Same plugin, same
//! graph: the outputs must be bitwise equal.
//!
//! Needs Python with the `openvino` package (`CONFORM_PYTHON`, default `python3`). Without it the
//! test prints why and passes, unless `CONFORM_REQUIRE_OPENVINO=1` (CI), where it fails.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn python() -> String {
    std::env::var("CONFORM_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// `Some(why)` when OpenVINO cannot be used from Python here.
fn openvino_missing() -> Option<String> {
    let py = python();
    match Command::new(&py).args(["-c", "import openvino, numpy; print(openvino.get_version())"]).output() {
        Ok(o) if o.status.success() => None,
        Ok(o) => Some(format!("{py} cannot import openvino: {}", String::from_utf8_lossy(&o.stderr).trim())),
        Err(e) => Some(format!("cannot run {py}: {e}")),
    }
}

/// Skips (prints why) or, under `CONFORM_REQUIRE_OPENVINO=1`, fails.
fn skip_or_fail(why: &str) {
    if std::env::var("CONFORM_REQUIRE_OPENVINO").is_ok_and(|v| v == "1") {
        panic!("CONFORM_REQUIRE_OPENVINO=1 but {why}");
    }
    eprintln!("SKIPPED openvino_round_trip: {why} (set CONFORM_PYTHON to a Python with openvino)");
}

/// A long-lived `tools/ov_run.py --serve` speaking JSON lines.
struct Adapter {
    child: std::process::Child,
    out: BufReader<std::process::ChildStdout>,
    next_id: u64,
}

impl Adapter {
    fn start() -> Adapter {
        let mut child = Command::new(python())
            .arg(repo().join("tools/ov_run.py"))
            .args(["--serve", "--precision", "f32", "--threads", "1"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start tools/ov_run.py: {e}"));
        let out = BufReader::new(child.stdout.take().unwrap_or_else(|| panic!("no stdout")));
        Adapter { child, out, next_id: 0 }
    }

    fn request(&mut self, req: serde_json::Value) -> serde_json::Value {
        self.next_id += 1;
        let mut req = req;
        req["id"] = self.next_id.into();
        let stdin = self.child.stdin.as_mut().unwrap_or_else(|| panic!("no stdin"));
        writeln!(stdin, "{req}").unwrap_or_else(|e| panic!("adapter died: {e}"));
        stdin.flush().unwrap_or_else(|e| panic!("adapter died: {e}"));
        let mut line = String::new();
        self.out.read_line(&mut line).unwrap_or_else(|e| panic!("adapter died: {e}"));
        let reply: serde_json::Value =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("adapter reply {line:?}: {e}"));
        assert_eq!(reply["id"], self.next_id, "reply to another request: {line}");
        reply
    }

    fn run(&mut self, model: &Path, inputs: &[PathBuf], out: &Path) -> Result<Vec<PathBuf>, String> {
        let r = self.request(serde_json::json!({
            "model": model, "inputs": inputs, "out": out,
        }));
        if r["ok"] != true {
            return Err(r["error"].as_str().unwrap_or("?").to_string());
        }
        Ok(r["outputs"]
            .as_array()
            .map(|a| a.iter().filter_map(|p| p.as_str().map(PathBuf::from)).collect())
            .unwrap_or_default())
    }
}

impl Drop for Adapter {
    fn drop(&mut self) {
        // Closing stdin ends the server loop.
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

fn bits(p: &Path) -> (Vec<usize>, Vec<u32>) {
    let t = conform_ir::npy::read_npy(p).unwrap_or_else(|e| panic!("{e}"));
    (t.shape.clone(), t.to_f32_vec().iter().map(|x| x.to_bits()).collect())
}

#[test]
fn written_models_run_in_openvino_with_bitwise_equal_outputs() {
    if let Some(why) = openvino_missing() {
        skip_or_fail(&why);
        return;
    }
    let tmp = std::env::temp_dir().join(format!("conform-ov-rt-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let mut cases: Vec<PathBuf> = std::fs::read_dir(repo().join("corpus"))
        .unwrap_or_else(|e| panic!("corpus: {e}"))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("model.xml").is_file())
        .collect();
    cases.sort();
    assert!(cases.len() >= 50, "expected the corpus");
    let mut ov = Adapter::start();
    let version = ov.request(serde_json::json!({"cmd": "version"}));
    eprintln!("OpenVINO {}", version["version"]);
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
        let inputs: Vec<PathBuf> =
            (0..).map(|k| case.join(format!("input_{k}.npy"))).take_while(|p| p.is_file()).collect();
        let a = ov.run(&case.join("model.xml"), &inputs, &tmp.join(&name).join("original"));
        let b = ov.run(&written, &inputs, &tmp.join(&name).join("written"));
        match (a, b) {
            (Ok(a), Ok(b)) => {
                if a.len() != b.len() {
                    failures.push(format!("{name}: {} outputs vs {}", a.len(), b.len()));
                }
                for (k, (pa, pb)) in a.iter().zip(&b).enumerate() {
                    let (sa, va) = bits(pa);
                    let (sb, vb) = bits(pb);
                    if sa != sb {
                        failures.push(format!("{name}: output {k}: shape {sa:?} vs {sb:?}"));
                    } else if let Some(i) = va.iter().zip(&vb).position(|(x, y)| x != y) {
                        let n = va.iter().zip(&vb).filter(|(x, y)| x != y).count();
                        failures.push(format!("{name}: output {k}: {n} elements differ, first at {i}"));
                    }
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
    if let Some(why) = openvino_missing() {
        skip_or_fail(&why);
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
    if let Some(why) = openvino_missing() {
        skip_or_fail(&why);
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
