//! IRs written by `compress` and `expand` through OpenVINO itself (issue 4): for every corpus
//! model, `compress --form fq`, `compress --form dq` and `expand` are applied and written with
//! `conform_ir::write_model`, and OpenVINO's CPU plugin (`INFERENCE_PRECISION_HINT=f32`, one
//! thread) must load and run every written IR on the corpus inputs.
//!
//! Where the corpus holds an OpenVINO-written IR whose weight subgraphs are bit-identical to ours
//! (our dq form of `X__expanded` vs NNCF's `X__compressed`, our fq form of `X__expanded` vs
//! `X__legacy`: integers, scales, zero points and ranges are checked equal bit for bit by
//! `reference/tests/compress_twins.rs`), the two graphs differ only in layer names and order, so
//! OpenVINO's outputs must be bitwise equal.
//!
//! Needs Python with the `openvino` package (`CONFORM_PYTHON`, default `python3`). Without it the
//! test prints why and passes, unless `CONFORM_REQUIRE_OPENVINO=1` (CI), where it fails.

use reference::compress::{compress, expand, Bits, CompressOptions, Form};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn python() -> String {
    std::env::var("CONFORM_PYTHON").unwrap_or_else(|_| "python3".into())
}

fn openvino_missing() -> Option<String> {
    let py = python();
    match Command::new(&py).args(["-c", "import openvino, numpy; print(openvino.get_version())"]).output() {
        Ok(o) if o.status.success() => None,
        Ok(o) => Some(format!("{py} cannot import openvino: {}", String::from_utf8_lossy(&o.stderr).trim())),
        Err(e) => Some(format!("cannot run {py}: {e}")),
    }
}

fn skip_or_fail(why: &str) {
    if std::env::var("CONFORM_REQUIRE_OPENVINO").is_ok_and(|v| v == "1") {
        panic!("CONFORM_REQUIRE_OPENVINO=1 but {why}");
    }
    eprintln!("SKIPPED ov_compress: {why} (set CONFORM_PYTHON to a Python with openvino)");
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

    fn request(&mut self, mut req: serde_json::Value) -> serde_json::Value {
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

    fn run(&mut self, model: &Path, inputs: &[PathBuf], out: &Path) -> Result<Vec<PathBuf>, String> {
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
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

fn bits(p: &Path) -> (Vec<usize>, Vec<u32>) {
    let t = conform_ir::npy::read_npy(p).unwrap_or_else(|e| panic!("{e}"));
    (t.shape.clone(), t.to_f32_vec().iter().map(|x| x.to_bits()).collect())
}

/// First difference between two runs' outputs, if any.
fn differ(a: &[PathBuf], b: &[PathBuf]) -> Option<String> {
    if a.len() != b.len() {
        return Some(format!("{} outputs vs {}", a.len(), b.len()));
    }
    for (k, (pa, pb)) in a.iter().zip(b).enumerate() {
        let ((sa, va), (sb, vb)) = (bits(pa), bits(pb));
        if sa != sb {
            return Some(format!("output {k}: shape {sa:?} vs {sb:?}"));
        }
        let n = va.iter().zip(&vb).filter(|(x, y)| x != y).count();
        if n > 0 {
            return Some(format!("output {k}: {n} elements differ"));
        }
    }
    None
}

#[test]
fn compressed_and_expanded_irs_run_in_openvino() {
    if let Some(why) = openvino_missing() {
        skip_or_fail(&why);
        return;
    }
    let tmp = std::env::temp_dir().join(format!("conform-ov-compress-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let corpus = repo().join("corpus");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&corpus)
        .unwrap_or_else(|e| panic!("corpus: {e}"))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("model.xml").is_file())
        .collect();
    cases.sort();
    assert!(cases.len() >= 50, "expected the corpus");
    let mut ov = Adapter::start();
    eprintln!("OpenVINO {}", ov.request(serde_json::json!({"cmd": "version"}))["version"]);
    let mut failures = Vec::new();
    let mut ran = 0usize;
    for case in &cases {
        let name = case.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let model = conform_ir::read_model(&case.join("model.xml")).unwrap_or_else(|e| panic!("{e}"));
        let inputs: Vec<PathBuf> =
            (0..).map(|k| case.join(format!("input_{k}.npy"))).take_while(|p| p.is_file()).collect();
        let rewrites = [
            ("fq", compress(&model, &CompressOptions { form: Form::Fq, bits: Bits::Auto })),
            ("dq", compress(&model, &CompressOptions { form: Form::Dq, bits: Bits::Auto })),
            ("expand", expand(&model)),
        ];
        for (tag, result) in rewrites {
            let (out, report) = match result {
                Ok(x) => x,
                Err(e) => {
                    failures.push(format!("{name}: {tag}: {e}"));
                    continue;
                }
            };
            if report.tensors.is_empty() {
                continue;
            }
            let dir = tmp.join(&name).join(tag);
            let written = dir.join("model.xml");
            std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
            if let Err(e) = conform_ir::write_model(&out, &written) {
                failures.push(format!("{name}: {tag}: write: {e}"));
                continue;
            }
            let ours = match ov.run(&written, &inputs, &dir.join("out")) {
                Ok(o) => o,
                Err(e) => {
                    failures.push(format!("{name}: {tag}: OpenVINO cannot run the written IR: {e}"));
                    continue;
                }
            };
            ran += 1;
            // The OpenVINO-written twin with bit-identical weight subgraphs, when there is one.
            let twin = match (name.strip_suffix("__expanded"), tag) {
                (Some(stem), "dq") => Some(corpus.join(format!("{stem}__compressed"))),
                (Some(stem), "fq") => Some(corpus.join(format!("{stem}__legacy"))),
                _ => None,
            };
            if let Some(twin) = twin.filter(|t| t.join("model.xml").is_file()) {
                match ov.run(&twin.join("model.xml"), &inputs, &dir.join("twin")) {
                    Ok(theirs) => {
                        if let Some(d) = differ(&ours, &theirs) {
                            failures.push(format!("{name}: {tag}: vs {}: {d}", twin.display()));
                        }
                    }
                    Err(e) => failures.push(format!("{name}: {tag}: OpenVINO cannot run the twin: {e}")),
                }
            }
        }
    }
    let _ = std::fs::remove_dir_all(&tmp);
    assert!(ran > 0, "no rewritten IR was run");
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}
