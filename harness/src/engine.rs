//! Engines: what runs a model. An engine either produces outputs, or says it cannot run this
//! model (a value, reported as SKIPPED with its reason), or fails (a finding).
//!
//! Names follow CONTRACT.md: `reference` (with a mode), `optimized[:ISA]`, and external engines
//! `openvino-cpu` / `openvino-reference` with options after a colon (`openvino-cpu:lpt=off`).

use crate::error::CliError;
use conform_ir::{Model, Tensor};
use reference::int8::ZeroPointPolicy;
use reference::{Mode, RunOptions};
use std::fmt;
use std::path::Path;

/// Which engine, with its options, as named on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EngineSpec {
    /// The scalar reference; the mode comes from `--mode` or from the check.
    Reference,
    /// The optimized engine, optionally pinned to an ISA variant (or `mutant:NAME`).
    Optimized {
        /// `avx512vnni`, `avxvnni`, `avx2`, `scalar`, `mutant:NAME`; `None` = the default choice.
        isa: Option<String>,
    },
    /// An engine behind an adapter subprocess (`openvino-cpu`, `openvino-reference`).
    External {
        /// The engine name.
        name: String,
        /// `key=value` options in the order given.
        options: Vec<(String, String)>,
    },
}

/// Seconds one call to an external engine may take before the adapter is restarted.
pub const EXTERNAL_TIMEOUT_S: u64 = 300;

/// The external engines this build knows adapters for.
pub const EXTERNAL_ENGINES: [&str; 2] = ["openvino-cpu", "openvino-reference"];

impl EngineSpec {
    /// Parses `reference`, `optimized`, `optimized:avx2`, `openvino-cpu:lpt=off,precision=f32`.
    pub fn parse(s: &str) -> Result<EngineSpec, CliError> {
        let (name, opts) = match s.split_once(':') {
            Some((n, o)) => (n, Some(o)),
            None => (s, None),
        };
        match name {
            "reference" => match opts {
                None => Ok(EngineSpec::Reference),
                Some(o) => Err(CliError::Usage(format!(
                    "engine `{s}`: the reference takes no options after `:` (use --mode {o}?)"
                ))),
            },
            "optimized" => Ok(EngineSpec::Optimized { isa: opts.filter(|o| !o.is_empty()).map(str::to_string) }),
            n if EXTERNAL_ENGINES.contains(&n) => {
                let mut options = Vec::new();
                for kv in opts.unwrap_or("").split(',').filter(|kv| !kv.is_empty()) {
                    let (k, v) = kv.split_once('=').ok_or_else(|| {
                        CliError::Usage(format!("engine `{s}`: option `{kv}` is not of the form key=value"))
                    })?;
                    options.push((k.to_string(), v.to_string()));
                }
                Ok(EngineSpec::External { name: n.to_string(), options })
            }
            _ => Err(CliError::Usage(format!(
                "unknown engine `{name}` (known: reference, optimized[:ISA], {})",
                EXTERNAL_ENGINES.join(", ")
            ))),
        }
    }
}

impl fmt::Display for EngineSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EngineSpec::Reference => f.write_str("reference"),
            EngineSpec::Optimized { isa: None } => f.write_str("optimized"),
            EngineSpec::Optimized { isa: Some(i) } => write!(f, "optimized:{i}"),
            EngineSpec::External { name, options } if options.is_empty() => f.write_str(name),
            EngineSpec::External { name, options } => {
                let o: Vec<String> = options.iter().map(|(k, v)| format!("{k}={v}")).collect();
                write!(f, "{name}:{}", o.join(","))
            }
        }
    }
}

/// Why an engine produced no outputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EngineError {
    /// The engine cannot run this model or is not available: reported as SKIPPED with the reason.
    Cannot(String),
    /// The engine tried and failed (an error, a crash, a timeout): a finding.
    Failed(String),
    /// The reference refuses the model or its inputs: a malformed IR (bad attribute, bad shape,
    /// inputs that do not fit) or an op it does not implement. Bad input (exit 2), not a finding.
    Invalid(String),
}

impl fmt::Display for EngineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EngineError::Cannot(m) => write!(f, "cannot run: {m}"),
            EngineError::Failed(m) => write!(f, "failed: {m}"),
            EngineError::Invalid(m) => write!(f, "invalid input: {m}"),
        }
    }
}

/// The model an engine runs: the parsed model and the file it came from (external engines load
/// the file themselves).
#[derive(Debug, Clone, Copy)]
pub struct ModelRef<'a> {
    /// The parsed model.
    pub model: &'a Model,
    /// Its `.xml`.
    pub path: &'a Path,
}

/// Something that runs models.
pub trait Engine {
    /// The engine's name as reports show it (`reference:fp32`, `optimized:avx2`).
    fn name(&self) -> String;
    /// The engine's version (the tool version for built-in engines, the package version for
    /// external ones).
    fn version(&self) -> String;
    /// Runs the model on inputs given in OpenVINO's parameter order; outputs in OpenVINO's order of
    /// model outputs.
    fn run(&mut self, model: ModelRef<'_>, inputs: &[Tensor]) -> Result<Vec<Tensor>, EngineError>;
}

/// The reference interpreter in one mode.
#[derive(Debug, Clone)]
pub struct ReferenceEngine {
    /// FP32, FP16 or INT8 with a zero-point policy.
    pub mode: Mode,
    /// Refuse cases whose tensors would exceed this many bytes.
    pub max_memory: Option<u64>,
}

/// The short name of a reference mode (`fp32`, `fp16`, `int8`, `int8-round`).
pub fn mode_name(mode: Mode) -> &'static str {
    match mode {
        Mode::Fp32 => "fp32",
        Mode::Fp16 => "fp16",
        Mode::Int8(ZeroPointPolicy::Exact) => "int8",
        Mode::Int8(ZeroPointPolicy::Round) => "int8-round",
    }
}

impl Engine for ReferenceEngine {
    fn name(&self) -> String {
        format!("reference:{}", mode_name(self.mode))
    }

    fn version(&self) -> String {
        crate::TOOL_VERSION.to_string()
    }

    fn run(&mut self, model: ModelRef<'_>, inputs: &[Tensor]) -> Result<Vec<Tensor>, EngineError> {
        let opts = RunOptions { mode: self.mode, max_memory: self.max_memory, keep_values: false };
        reference::run(model.model, inputs, &opts).map(|out| out.outputs).map_err(reference_error)
    }
}

/// Sorts the reference's errors. The reference is the source of truth, so what it refuses is not
/// a finding but bad input: a malformed model, inputs that do not fit, or an op it does not
/// implement (the tool cannot check such a model at all). Only a model whose tensors exceed
/// `--max-memory` is "cannot run" (SKIPPED): the model is fine, the limit is the user's.
pub fn reference_error(e: reference::RefError) -> EngineError {
    match e {
        e @ reference::RefError::Memory { .. } => EngineError::Cannot(e.to_string()),
        e => EngineError::Invalid(e.to_string()),
    }
}

/// The optimized engine on one ISA variant. It compiles a plan per run (plans are per model).
#[derive(Debug, Clone)]
pub struct OptimizedEngine {
    /// The ISA variant's name (`avx2`, `mutant:NAME`, ...).
    pub isa: String,
    /// Worker threads (`None`: all cores).
    pub threads: Option<usize>,
    /// Fractional activation zero points.
    pub zero_point: ZeroPointPolicy,
}

impl OptimizedEngine {
    /// Compiles the plan of a model on this engine's variant (the optimized crate's own error type,
    /// large but on the cold path).
    #[allow(clippy::result_large_err)]
    pub fn compile(&self, model: &Model) -> Result<optimized::Plan, optimized::OptError> {
        let zero_point = match self.zero_point {
            ZeroPointPolicy::Exact => optimized::ZeroPointPolicy::Exact,
            ZeroPointPolicy::Round => optimized::ZeroPointPolicy::Round,
        };
        let opts = optimized::PlanOptions { isa: Some(self.isa.clone()), zero_point, threads: self.threads };
        optimized::compile(model, &opts)
    }
}

/// Sorts the optimized engine's errors: what it does not support is SKIPPED, the rest a finding.
fn optimized_error(e: optimized::OptError) -> EngineError {
    match e {
        e @ (optimized::OptError::Unsupported { .. } | optimized::OptError::Isa { .. }) => {
            EngineError::Cannot(e.to_string())
        }
        e => EngineError::Failed(e.to_string()),
    }
}

impl Engine for OptimizedEngine {
    fn name(&self) -> String {
        format!("optimized:{}", self.isa)
    }

    fn version(&self) -> String {
        crate::TOOL_VERSION.to_string()
    }

    fn run(&mut self, model: ModelRef<'_>, inputs: &[Tensor]) -> Result<Vec<Tensor>, EngineError> {
        let plan = self.compile(model.model).map_err(optimized_error)?;
        plan.run(inputs).map(|o| o.outputs).map_err(optimized_error)
    }
}

/// The ISA variants `optimized` stands for: the one named, or every variant usable here (under
/// `CONFORM_MAX_ISA`), best first.
pub fn optimized_variants(isa: Option<&str>) -> Result<Vec<String>, EngineError> {
    match isa {
        Some(name) if name.starts_with("mutant:") => Ok(vec![name.to_string()]),
        Some(name) => optimized::isa::select(Some(name))
            .map(|i| vec![i.name().to_string()])
            .map_err(|e| EngineError::Cannot(e.to_string())),
        None => optimized::isa::detected()
            .map(|v| v.into_iter().map(|i| i.name().to_string()).collect())
            .map_err(|e| EngineError::Cannot(e.to_string())),
    }
}

/// Starts an external engine's adapter and checks that it answers (`Cannot` when it is not
/// usable here: no Python, no `openvino` package, an unknown option).
pub fn build_external(name: &str, options: &[(String, String)]) -> Result<crate::adapter::AdapterEngine, EngineError> {
    let timeout = std::time::Duration::from_secs(EXTERNAL_TIMEOUT_S);
    let config = match name {
        "openvino-cpu" => crate::adapter::openvino_cpu(options, timeout),
        "openvino-reference" => crate::adapter::openvino_reference(options, timeout),
        _ => Err(format!("no adapter for the engine {name}")),
    }
    .map_err(EngineError::Cannot)?;
    let mut e = crate::adapter::AdapterEngine::new(config);
    e.probe()?;
    Ok(e)
}

/// Builds the engine a spec names, or says why it is not available. `optimized` without a
/// variant is the default variant (see [`optimized_variants`] for all of them); `threads` applies
/// to the optimized engine.
pub fn build(
    spec: &EngineSpec,
    mode: Mode,
    max_memory: Option<u64>,
    threads: Option<usize>,
) -> Result<Box<dyn Engine>, EngineError> {
    match spec {
        EngineSpec::Reference => Ok(Box::new(ReferenceEngine { mode, max_memory })),
        EngineSpec::Optimized { isa } => {
            let isa = match isa {
                Some(name) => optimized_variants(Some(name))?
                    .into_iter()
                    .next()
                    .ok_or_else(|| EngineError::Cannot(format!("no ISA variant {name}")))?,
                None => optimized::isa::default_isa().map_err(|e| EngineError::Cannot(e.to_string()))?.name().into(),
            };
            let zero_point = match mode {
                Mode::Int8(p) => p,
                _ => ZeroPointPolicy::Exact,
            };
            Ok(Box::new(OptimizedEngine { isa, threads, zero_point }))
        }
        EngineSpec::External { name, options } => Ok(Box::new(build_external(name, options)?)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_contract_engine_names() {
        assert_eq!(EngineSpec::parse("reference").ok(), Some(EngineSpec::Reference));
        assert_eq!(EngineSpec::parse("optimized").ok(), Some(EngineSpec::Optimized { isa: None }));
        assert_eq!(EngineSpec::parse("optimized:avx2").ok(), Some(EngineSpec::Optimized { isa: Some("avx2".into()) }));
        let e = EngineSpec::parse("openvino-cpu:lpt=off,precision=f32,max_isa=AVX2").ok();
        assert_eq!(
            e,
            Some(EngineSpec::External {
                name: "openvino-cpu".into(),
                options: vec![
                    ("lpt".into(), "off".into()),
                    ("precision".into(), "f32".into()),
                    ("max_isa".into(), "AVX2".into())
                ]
            })
        );
        assert_eq!(e.map(|e| e.to_string()).as_deref(), Some("openvino-cpu:lpt=off,precision=f32,max_isa=AVX2"));
        assert!(EngineSpec::parse("openvino-cpu:lpt").is_err());
        assert!(EngineSpec::parse("tensorrt").is_err());
        assert!(EngineSpec::parse("reference:int8").is_err());
    }
}
