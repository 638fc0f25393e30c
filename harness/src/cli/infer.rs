//! `conform infer`: runs a model on `.npy` inputs and writes `output_K.npy` (f32) and
//! `outputs.json` (CONTRACT.md "Files").

use super::args::{InferArgs, ModeArg, ZeroPointArg};
use super::Verdict;
use crate::engine::{self, Engine, EngineError, EngineSpec, ModelRef};
use crate::error::CliError;
use crate::load;
use conform_ir::{Model, Tensor};
use reference::int8::ZeroPointPolicy;
use reference::interp::PathTaken;
use reference::{Mode, RunOptions};
use serde::Serialize;
use std::path::Path;

/// One entry of `outputs.json`.
#[derive(Debug, Serialize)]
struct OutputEntry {
    index: usize,
    names: Vec<String>,
    shape: Vec<usize>,
}

/// The reference mode the flags select.
pub fn mode_of(mode: ModeArg, zp: ZeroPointArg) -> Mode {
    match mode {
        ModeArg::Fp32 => Mode::Fp32,
        ModeArg::Fp16 => Mode::Fp16,
        ModeArg::Int8 => Mode::Int8(match zp {
            ZeroPointArg::Exact => ZeroPointPolicy::Exact,
            ZeroPointArg::Round => ZeroPointPolicy::Round,
        }),
    }
}

/// Runs the command.
pub fn run(a: &InferArgs) -> Result<Verdict, CliError> {
    let mut spec = EngineSpec::parse(&a.engine)?;
    if let (EngineSpec::Optimized { isa }, Some(flag)) = (&mut spec, &a.isa) {
        match isa {
            Some(named) if named != flag => {
                return Err(CliError::Usage(format!("--engine names ISA {named} and --isa names {flag}")))
            }
            _ => *isa = Some(flag.clone()),
        }
    }
    let model = load::model(&a.model)?;
    let inputs: Vec<Tensor> = a.inputs.iter().map(|p| load::npy(p)).collect::<Result<_, _>>()?;
    let mode = mode_of(a.mode, a.zero_point);
    let outputs = match &spec {
        EngineSpec::Reference => {
            let opts = RunOptions { mode, max_memory: a.max_memory, keep_values: false };
            let out = reference::run(&model, &inputs, &opts)
                .map_err(|e| CliError::Run { path: a.model.clone(), source: Box::new(e) })?;
            if a.trace {
                print_trace(&model, &out.trace);
            }
            out.outputs
        }
        EngineSpec::Optimized { .. } => {
            let zero_point = match mode {
                Mode::Int8(p) => p,
                _ => ZeroPointPolicy::Exact,
            };
            let unavailable = |why: String| CliError::Unavailable { what: format!("engine {spec}"), why };
            let isa = match &spec {
                EngineSpec::Optimized { isa: Some(name) } => name.clone(),
                _ => optimized::isa::default_isa().map_err(|e| unavailable(e.to_string()))?.name().to_string(),
            };
            let engine = engine::OptimizedEngine { isa, threads: a.threads, zero_point };
            let plan = engine.compile(&model).map_err(|e| match e {
                e @ optimized::OptError::Isa { .. } => unavailable(e.to_string()),
                e => CliError::BadFile { path: a.model.clone(), message: e.to_string() },
            })?;
            let out =
                plan.run(&inputs).map_err(|e| CliError::BadFile { path: a.model.clone(), message: e.to_string() })?;
            if a.trace {
                for r in out.report.iter() {
                    let nd = model.node(r.node);
                    let why = r.reason.as_deref().map(|r| format!("  ({r})")).unwrap_or_default();
                    println!("{:>5} {:<24} {:<40} {:?} {}{why}", nd.id, r.op_type, r.name, r.precision, r.kernel);
                }
            }
            out.outputs
        }
        EngineSpec::External { name, options } => {
            let unavailable = |why: String| CliError::Unavailable { what: format!("engine {spec}"), why };
            let mut e = engine::build_external(name, options).map_err(|e| unavailable(e.to_string()))?;
            if a.trace {
                eprintln!("conform: --trace is only recorded by the reference and optimized engines");
            }
            e.run(ModelRef { model: &model, path: &a.model }, &inputs).map_err(|err| match err {
                EngineError::Cannot(why) => unavailable(why),
                EngineError::Failed(message) | EngineError::Invalid(message) => {
                    CliError::BadFile { path: a.model.clone(), message }
                }
            })?
        }
    };
    write_outputs(&model, &outputs, &a.out)?;
    Ok(Verdict::Ok)
}

fn print_trace(model: &Model, trace: &[reference::interp::NodeTrace]) {
    for t in trace {
        let nd = model.node(t.node);
        let path = match &t.path {
            PathTaken::Io => "io".to_string(),
            PathTaken::Fp32 => "fp32".to_string(),
            PathTaken::Fp16 => "fp16".to_string(),
            PathTaken::Int8 => "int8".to_string(),
            PathTaken::FusedInto(m) => format!("fused into layer {}", model.node(*m).id),
        };
        let why = t.reason.as_deref().map(|r| format!("  ({r})")).unwrap_or_default();
        println!("{:>5} {:<24} {:<40} {path}{why}", nd.id, nd.op_type, nd.name);
    }
}

/// The tensor names of each model output: those of the port feeding its Result.
pub fn output_names(model: &Model) -> Vec<Vec<String>> {
    model
        .results()
        .into_iter()
        .map(|r| {
            let (src, out) = model.source_of(r, 0);
            model.node(src).outputs.get(out).map(|p| p.names.clone()).unwrap_or_default()
        })
        .collect()
}

/// Writes `output_K.npy` as f32 and `outputs.json` into `dir`.
pub fn write_outputs(model: &Model, outputs: &[Tensor], dir: &Path) -> Result<(), CliError> {
    std::fs::create_dir_all(dir).map_err(|e| CliError::io(dir, e))?;
    let names = output_names(model);
    let mut entries = Vec::with_capacity(outputs.len());
    for (k, t) in outputs.iter().enumerate() {
        let f = Tensor::from_f32(t.shape.clone(), t.to_f32_vec())
            .map_err(|e| CliError::Usage(format!("output {k}: {e}")))?;
        load::write_npy(&dir.join(format!("output_{k}.npy")), &f)?;
        entries.push(OutputEntry {
            index: k,
            names: names.get(k).cloned().unwrap_or_default(),
            shape: t.shape.clone(),
        });
    }
    let json = serde_json::to_string_pretty(&entries).map_err(|e| CliError::Usage(e.to_string()))?;
    let path = dir.join("outputs.json");
    std::fs::write(&path, json + "\n").map_err(|e| CliError::io(&path, e))
}
