//! Provenance of a run: the CPU model and the instruction-set extensions that matter for INT8
//! kernels, read from `/proc/cpuinfo` (empty elsewhere).

use serde::Serialize;

/// The machine a report was made on.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Machine {
    /// `model name` of the first CPU.
    pub cpu_model: String,
    /// Logical CPUs available to this process.
    pub logical_cpus: usize,
    /// ISA variants of CONTRACT.md this CPU can run (`avx512vnni`, `avxvnni`, `avx2`, `scalar`).
    pub isa_detected: Vec<String>,
    /// `uname`-like OS and architecture.
    pub os: String,
}

/// Describes this machine.
pub fn describe() -> Machine {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let field = |name: &str| -> String {
        info.lines()
            .find(|l| l.split(':').next().is_some_and(|k| k.trim() == name))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default()
    };
    let flags = field("flags");
    let has = |f: &str| flags.split_whitespace().any(|x| x == f);
    let mut isa = Vec::new();
    if has("avx512_vnni") && has("avx512bw") {
        isa.push("avx512vnni".to_string());
    }
    if has("avx_vnni") {
        isa.push("avxvnni".to_string());
    }
    if has("avx2") {
        isa.push("avx2".to_string());
    }
    isa.push("scalar".to_string());
    Machine {
        cpu_model: field("model name"),
        logical_cpus: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        isa_detected: isa,
        os: format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
    }
}
