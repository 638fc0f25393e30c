//! External engines behind a long-lived adapter subprocess speaking JSON lines (README, "External
//! engines"): one request per line on its stdin (`{"id", "model", "inputs", "out"}`), one reply per
//! line on its stdout (`{"id", "ok", "outputs"}` or `{"id", "ok": false, "error"}`).
//!
//! Plugins crash on odd inputs, so every call is isolated: a reply that does not come within the
//! timeout, or an adapter that dies, is a failed call (a finding), the process is killed and the
//! next call starts a fresh one.

use crate::engine::{Engine, EngineError, ModelRef};
use conform_ir::Tensor;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

/// How to start an adapter.
#[derive(Debug, Clone)]
pub struct AdapterConfig {
    /// The engine's name with its options, for reports (`openvino-cpu:lpt=off`).
    pub name: String,
    /// The program (a Python interpreter).
    pub program: String,
    /// Its arguments (the script and its options).
    pub args: Vec<String>,
    /// Extra environment variables (the ISA cap, ...).
    pub env: Vec<(String, String)>,
    /// How long one call may take.
    pub timeout: Duration,
}

struct Running {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<String>,
}

/// An external engine behind an adapter process.
pub struct AdapterEngine {
    config: AdapterConfig,
    running: Option<Running>,
    next_id: u64,
    version: Option<String>,
    scratch: PathBuf,
}

impl std::fmt::Debug for AdapterEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdapterEngine").field("config", &self.config).finish_non_exhaustive()
    }
}

/// The Python that runs the adapters: `CONFORM_PYTHON`, else `python3`.
pub fn python() -> String {
    std::env::var("CONFORM_PYTHON").ok().filter(|s| !s.is_empty()).unwrap_or_else(|| "python3".into())
}

/// Where the adapter scripts are: `tools/` of the source tree this binary was built from, else
/// `tools/` under the current directory.
pub fn tool(name: &str) -> PathBuf {
    let built = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("tools").join(name);
    if built.is_file() {
        built.canonicalize().unwrap_or(built)
    } else {
        PathBuf::from("tools").join(name)
    }
}

impl AdapterEngine {
    /// An engine that starts its process on first use.
    pub fn new(config: AdapterConfig) -> AdapterEngine {
        let scratch = std::env::temp_dir().join(format!(
            "conform-adapter-{}-{}",
            std::process::id(),
            config.name.replace([':', ',', '=', '/'], "_")
        ));
        AdapterEngine { config, running: None, next_id: 0, version: None, scratch }
    }

    /// Starts the adapter and asks its version: `Cannot` when the engine is not usable here.
    pub fn probe(&mut self) -> Result<String, EngineError> {
        if let Some(v) = &self.version {
            return Ok(v.clone());
        }
        let v =
            self.call(serde_json::json!({"cmd": "version"})).map_err(|e| match e {
                EngineError::Failed(m) | EngineError::Cannot(m) | EngineError::Invalid(m) => EngineError::Cannot(
                    format!("{} ({} {}): {m}", self.config.name, self.config.program, self.config.args.join(" ")),
                ),
            })?;
        if v["ok"] != true {
            return Err(EngineError::Cannot(format!("{}: {}", self.config.name, v["error"])));
        }
        let version = v["version"].as_str().unwrap_or("?").to_string();
        self.version = Some(version.clone());
        Ok(version)
    }

    fn start(&mut self) -> Result<&mut Running, EngineError> {
        if self.running.is_none() {
            let mut cmd = Command::new(&self.config.program);
            // The adapter's stderr goes to a file whose tail explains a crash.
            let _ = std::fs::create_dir_all(&self.scratch);
            let stderr = std::fs::File::create(self.stderr_path()).map(Stdio::from).unwrap_or_else(|_| Stdio::null());
            cmd.args(&self.config.args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(stderr);
            for (k, v) in &self.config.env {
                cmd.env(k, v);
            }
            let mut child = cmd.spawn().map_err(|e| {
                EngineError::Cannot(format!("cannot start {} {}: {e}", self.config.program, self.config.args.join(" ")))
            })?;
            let (stdin, stdout) = match (child.stdin.take(), child.stdout.take()) {
                (Some(i), Some(o)) => (i, o),
                _ => return Err(EngineError::Cannot("the adapter has no stdin/stdout".into())),
            };
            // A reader thread turns the blocking pipe into a channel that can be waited on with a
            // timeout; it ends when the pipe closes.
            let (tx, rx) = mpsc::channel();
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
            self.running = Some(Running { child, stdin, lines: rx });
        }
        self.running.as_mut().ok_or_else(|| EngineError::Cannot("adapter not running".into()))
    }

    fn stderr_path(&self) -> PathBuf {
        self.scratch.join("adapter.stderr")
    }

    /// The last lines the adapter wrote on stderr.
    fn stderr_tail(&self) -> String {
        let text = std::fs::read_to_string(self.stderr_path()).unwrap_or_default();
        let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        lines[lines.len().saturating_sub(3)..].join(" | ")
    }

    fn kill(&mut self) {
        if let Some(mut r) = self.running.take() {
            let _ = r.child.kill();
            let _ = r.child.wait();
        }
    }

    /// Sends one request and waits for its reply.
    pub fn call(&mut self, mut request: serde_json::Value) -> Result<serde_json::Value, EngineError> {
        self.next_id += 1;
        let id = self.next_id;
        request["id"] = id.into();
        let timeout = self.config.timeout;
        let running = self.start()?;
        let sent = writeln!(running.stdin, "{request}").and_then(|_| running.stdin.flush());
        if let Err(e) = sent {
            self.kill();
            return Err(EngineError::Failed(format!("the adapter died before the request: {e}")));
        }
        loop {
            match running.lines.recv_timeout(timeout) {
                Ok(line) => {
                    let Ok(reply) = serde_json::from_str::<serde_json::Value>(&line) else {
                        continue; // not a protocol line (a library printing to stdout)
                    };
                    if reply["id"] != id {
                        continue; // a late reply to a request that timed out
                    }
                    return Ok(reply);
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    self.kill();
                    return Err(EngineError::Failed(format!(
                        "no reply within {} s (adapter restarted)",
                        timeout.as_secs_f64()
                    )));
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let status = running.child.wait().map(|s| s.to_string()).unwrap_or_default();
                    self.running = None;
                    return Err(EngineError::Failed(format!(
                        "the adapter crashed ({status}): {} (restarted for the next call)",
                        self.stderr_tail()
                    )));
                }
            }
        }
    }
}

impl Drop for AdapterEngine {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.scratch);
    }
}

impl Engine for AdapterEngine {
    fn name(&self) -> String {
        self.config.name.clone()
    }

    fn version(&self) -> String {
        self.version.clone().unwrap_or_default()
    }

    fn run(&mut self, model: ModelRef<'_>, inputs: &[Tensor]) -> Result<Vec<Tensor>, EngineError> {
        self.probe()?;
        let dir = self.scratch.join(format!("call{}", self.next_id + 1));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| EngineError::Cannot(format!("{}: {e}", dir.display())))?;
        let mut paths = Vec::with_capacity(inputs.len());
        for (k, t) in inputs.iter().enumerate() {
            let p = dir.join(format!("input_{k}.npy"));
            conform_ir::npy::write_npy(&p, t).map_err(|e| EngineError::Cannot(e.to_string()))?;
            paths.push(p);
        }
        let out = dir.join("out");
        let reply = self.call(serde_json::json!({"model": model.path, "inputs": paths, "out": out}))?;
        if reply["ok"] != true {
            let error = reply["error"].as_str().unwrap_or("unknown error").to_string();
            // Nodes the engine has no implementation for: a limit of the engine, not a finding.
            if reply.get("not_covered").is_some() {
                return Err(EngineError::Cannot(error));
            }
            return Err(EngineError::Failed(error));
        }
        let outputs: Vec<PathBuf> = reply["outputs"]
            .as_array()
            .map(|a| a.iter().filter_map(|p| p.as_str().map(PathBuf::from)).collect())
            .unwrap_or_default();
        let tensors = outputs
            .iter()
            .map(|p| conform_ir::npy::read_npy(p).map_err(|e| EngineError::Failed(e.to_string())))
            .collect();
        let _ = std::fs::remove_dir_all(&dir);
        tensors
    }
}

/// The adapter configuration of `openvino-cpu` with its options (`lpt=on|off`,
/// `precision=f32|bf16|f16`, `max_isa=NAME` → `ONEDNN_MAX_CPU_ISA`, `threads=N`).
pub fn openvino_cpu(options: &[(String, String)], timeout: Duration) -> Result<AdapterConfig, String> {
    let mut args = vec![tool("ov_run.py").display().to_string(), "--serve".to_string()];
    let mut env = Vec::new();
    let mut name = "openvino-cpu".to_string();
    for (k, v) in options {
        match k.as_str() {
            "lpt" if v == "on" || v == "off" => args.extend(["--lpt".to_string(), v.clone()]),
            "precision" if matches!(v.as_str(), "f32" | "bf16" | "f16") => {
                args.extend(["--precision".to_string(), v.clone()])
            }
            "threads" if v.parse::<u32>().is_ok_and(|n| n > 0) => args.extend(["--threads".to_string(), v.clone()]),
            "max_isa" if !v.is_empty() => env.push(("ONEDNN_MAX_CPU_ISA".to_string(), v.clone())),
            _ => {
                return Err(format!(
                    "openvino-cpu option `{k}={v}` (known: lpt=on|off, precision=f32|bf16|f16, threads=N, max_isa=ISA)"
                ))
            }
        }
    }
    if !options.is_empty() {
        let o: Vec<String> = options.iter().map(|(k, v)| format!("{k}={v}")).collect();
        name = format!("{name}:{}", o.join(","));
    }
    Ok(AdapterConfig { name, program: python(), args, env, timeout })
}

/// The adapter configuration of `openvino-reference`: OpenVINO's reference implementations run
/// node by node (`Node.evaluate`), no plugin; it takes no options.
pub fn openvino_reference(options: &[(String, String)], timeout: Duration) -> Result<AdapterConfig, String> {
    if let Some((k, v)) = options.first() {
        return Err(format!("openvino-reference takes no options (got `{k}={v}`)"));
    }
    Ok(AdapterConfig {
        name: "openvino-reference".into(),
        program: python(),
        args: vec![tool("ov_run.py").display().to_string(), "--serve".into(), "--reference".into()],
        env: Vec::new(),
        timeout,
    })
}
