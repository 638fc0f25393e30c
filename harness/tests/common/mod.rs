//! Helpers shared by the tests that run OpenVINO through `tools/ov_run.py`: finding a Python with
//! `openvino`, skipping (or failing under `CONFORM_REQUIRE_OPENVINO=1`, as CI sets it) without one,
//! a minimal JSON-lines client of the adapter, and bitwise comparison of `.npy` outputs.
//!
//! The client is deliberately independent of `harness::adapter`: these tests check OpenVINO and our
//! IR writer, not the harness's process supervision (which `adapter_isolation.rs` tests).

#![allow(dead_code)] // each test binary uses a different subset

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The Python that runs the adapter: `CONFORM_PYTHON`, else `python3`.
pub fn python() -> String {
    std::env::var("CONFORM_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// `Some(why)` when OpenVINO cannot be used from Python here.
pub fn openvino_missing() -> Option<String> {
    let py = python();
    match Command::new(&py).args(["-c", "import openvino, numpy; print(openvino.get_version())"]).output() {
        Ok(o) if o.status.success() => None,
        Ok(o) => Some(format!("{py} cannot import openvino: {}", String::from_utf8_lossy(&o.stderr).trim())),
        Err(e) => Some(format!("cannot run {py}: {e}")),
    }
}

/// True when the test may go on; otherwise prints why it skips, or fails under
/// `CONFORM_REQUIRE_OPENVINO=1`.
pub fn openvino_available(test: &str) -> bool {
    let Some(why) = openvino_missing() else { return true };
    if std::env::var("CONFORM_REQUIRE_OPENVINO").is_ok_and(|v| v == "1") {
        panic!("{test}: CONFORM_REQUIRE_OPENVINO=1 but {why}");
    }
    eprintln!("SKIPPED {test}: {why} (set CONFORM_PYTHON to a Python with openvino)");
    false
}

/// The corpus cases (folders with a `model.xml`), sorted.
pub fn corpus_cases() -> Vec<PathBuf> {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(repo().join("corpus"))
        .unwrap_or_else(|e| panic!("corpus: {e}"))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("model.xml").is_file())
        .collect();
    cases.sort();
    assert!(cases.len() >= 50, "expected the corpus, found {} cases", cases.len());
    cases
}

/// The `input_K.npy` files of a case, in order.
pub fn case_inputs(case: &Path) -> Vec<PathBuf> {
    (0..).map(|k| case.join(format!("input_{k}.npy"))).take_while(|p| p.is_file()).collect()
}

/// A long-lived `tools/ov_run.py --serve` (CPU plugin, f32 precision, one thread) speaking JSON lines.
pub struct Adapter {
    child: std::process::Child,
    out: BufReader<std::process::ChildStdout>,
    next_id: u64,
}

impl Adapter {
    /// Starts the server.
    pub fn start() -> Adapter {
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

    /// Sends one request and returns its reply (checked to answer this request).
    pub fn request(&mut self, mut req: serde_json::Value) -> serde_json::Value {
        self.next_id += 1;
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

    /// OpenVINO's version string.
    pub fn version(&mut self) -> String {
        self.request(serde_json::json!({"cmd": "version"}))["version"].as_str().unwrap_or("?").to_string()
    }

    /// Runs a model on `.npy` inputs; the output `.npy` paths, or OpenVINO's error.
    pub fn run(&mut self, model: &Path, inputs: &[PathBuf], out: &Path) -> Result<Vec<PathBuf>, String> {
        let r = self.request(serde_json::json!({ "model": model, "inputs": inputs, "out": out }));
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

/// The first way in which two runs' outputs are not bitwise equal, if any.
pub fn differ(a: &[PathBuf], b: &[PathBuf]) -> Option<String> {
    if a.len() != b.len() {
        return Some(format!("{} outputs vs {}", a.len(), b.len()));
    }
    for (k, (pa, pb)) in a.iter().zip(b).enumerate() {
        let ((sa, va), (sb, vb)) = (bits(pa), bits(pb));
        if sa != sb {
            return Some(format!("output {k}: shape {sa:?} vs {sb:?}"));
        }
        if let Some(i) = va.iter().zip(&vb).position(|(x, y)| x != y) {
            let n = va.iter().zip(&vb).filter(|(x, y)| x != y).count();
            return Some(format!("output {k}: {n} elements differ, first at {i}"));
        }
    }
    None
}
