//! The command line of CONTRACT.md, as clap derive types. Names and flags here are a contract:
//! add freely, never rename.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Conformance harness for OpenVINO INT8 IRs: inspect IRs, run them in the reference or the
/// optimized engine, and check engines against each other and against OpenVINO.
///
/// Exit status: 0 all good; 1 a conformance failure (a FAILED check, or nothing PASSED);
/// 2 bad input, bad usage or an environment problem. Without a command, runs `check corpus/`.
#[derive(Debug, Parser)]
#[command(name = "conform", version, propagate_version = true)]
pub struct Cli {
    /// The command; `check` with its defaults when absent.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Op counts, FakeQuantize layers, weight forms and weight bytes of an IR.
    Inspect(InspectArgs),
    /// Run a model on .npy inputs and write its outputs as .npy files.
    Infer(InferArgs),
    /// Compress the FakeQuantize weights of an IR into the fq or dq form.
    Compress(CompressArgs),
    /// Expand compressed weights of an IR back to fp Const → FakeQuantize.
    Expand(ExpandArgs),
    /// Check engines on corpus cases, case folders or IR files; print the verdict table.
    Check(CheckArgs),
    /// Generate random cases and check engines on them; keep minimized findings.
    Fuzz(FuzzArgs),
    /// Time the optimized engine on the benchmark workloads.
    Bench(BenchArgs),
    /// The ISA variants compiled in, detected on this CPU, and chosen by default.
    Isa(IsaArgs),
}

/// `conform inspect MODEL.xml [--json]`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The model's .xml (the .bin beside it is read too).
    pub model: PathBuf,
    /// Print one JSON object instead of tables.
    #[arg(long)]
    pub json: bool,
}

/// Execution mode of the reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ModeArg {
    /// FP32 fallback: every op in f32, FakeQuantize included.
    Fp32,
    /// FP16 fallback: f16 values, f32 arithmetic, outputs rounded to f16.
    Fp16,
    /// INT8: eligible blocks as exact integer accumulations with the INT8.md epilogue.
    Int8,
}

/// How INT8 mode treats a fractional activation zero point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ZeroPointArg {
    /// Keep the fraction exactly (an f32 compensation term).
    Exact,
    /// Round it, as OpenVINO's CPU plugin does.
    Round,
}

/// `conform infer`.
#[derive(Debug, Args)]
pub struct InferArgs {
    /// The model's .xml.
    pub model: PathBuf,
    /// Input .npy files, in OpenVINO's order of model parameters (repeat the flag).
    #[arg(long = "input", value_name = "A.npy")]
    pub inputs: Vec<PathBuf>,
    /// Engine: `reference`, `optimized`, `optimized:ISA`, `openvino-cpu[:OPTIONS]`, `openvino-reference`.
    #[arg(long, default_value = "reference")]
    pub engine: String,
    /// Execution mode of the reference.
    #[arg(long, value_enum, default_value_t = ModeArg::Fp32)]
    pub mode: ModeArg,
    /// Fractional activation zero points in INT8 mode.
    #[arg(long = "zero-point", value_enum, default_value_t = ZeroPointArg::Exact)]
    pub zero_point: ZeroPointArg,
    /// ISA variant of the optimized engine (same as `--engine optimized:NAME`).
    #[arg(long)]
    pub isa: Option<String>,
    /// Threads of the optimized engine (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Folder for output_K.npy and outputs.json (created if missing).
    #[arg(long)]
    pub out: PathBuf,
    /// Print per node the path taken (INT8, FP32, fused) and why.
    #[arg(long)]
    pub trace: bool,
    /// Refuse to run when tensors would exceed this many bytes.
    #[arg(long = "max-memory", value_name = "BYTES")]
    pub max_memory: Option<u64>,
}

/// The target form of `compress`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormArg {
    /// integer Const → Convert → FakeQuantize (Model Optimizer 2020.2–2021.2).
    Fq,
    /// integer Const → Convert → [Subtract] → Multiply (current OpenVINO).
    Dq,
}

/// `conform compress IN.xml OUT.xml --form fq|dq [--bits auto|8|4] [--json]`.
#[derive(Debug, Args)]
pub struct CompressArgs {
    /// Input .xml.
    pub input: PathBuf,
    /// Output .xml (the .bin is written beside it).
    pub output: PathBuf,
    /// Target form.
    #[arg(long, value_enum)]
    pub form: FormArg,
    /// Storage bits: `auto` (4 for levels ≤ 16, else 8), `8` or `4`.
    #[arg(long, default_value = "auto", value_parser = ["auto", "8", "4"])]
    pub bits: String,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `conform expand IN.xml OUT.xml [--json]`.
#[derive(Debug, Args)]
pub struct ExpandArgs {
    /// Input .xml.
    pub input: PathBuf,
    /// Output .xml.
    pub output: PathBuf,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `conform check`.
#[derive(Debug, Args, Default)]
pub struct CheckArgs {
    /// Corpus folders, case folders, or IR files (inputs then come from --seed). Default: corpus/.
    pub paths: Vec<PathBuf>,
    /// Engines to check (repeat). Default: reference and optimized.
    #[arg(long = "engine", value_name = "E")]
    pub engines: Vec<String>,
    /// Seed of generated inputs for IR files.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Accepted findings (JSON list of {engine, case, check, classification, reason}).
    #[arg(long, value_name = "FILE")]
    pub accepted: Option<PathBuf>,
    /// Seconds one case may take before it is reported as timed out.
    #[arg(long = "case-timeout", value_name = "S")]
    pub case_timeout: Option<f64>,
    /// Refuse a case whose tensors would exceed this many bytes, before allocating.
    #[arg(long = "max-memory", value_name = "BYTES")]
    pub max_memory: Option<u64>,
    /// Write the JSON report to FILE (`-` for stdout).
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Write a JUnit XML report to FILE.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// On a FAILED engine check, find the first diverging node (re-anchored unit by unit) and
    /// write its sub-IR with inputs as a regression case under --localize-out.
    #[arg(long)]
    pub localize: bool,
    /// Where --localize writes regression cases.
    #[arg(long = "localize-out", value_name = "DIR", default_value = "corpus/regressions")]
    pub localize_out: PathBuf,
}

/// `conform fuzz`.
#[derive(Debug, Args)]
pub struct FuzzArgs {
    /// Campaign length in seconds.
    #[arg(long, value_name = "S", conflicts_with = "cases")]
    pub time: Option<f64>,
    /// Number of cases.
    #[arg(long, value_name = "N")]
    pub cases: Option<u64>,
    /// Seed of the campaign.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Engines to check (repeat).
    #[arg(long = "engine", value_name = "E")]
    pub engines: Vec<String>,
    /// ISA variant of the optimized engine.
    #[arg(long)]
    pub isa: Option<String>,
    /// Where minimized findings are written.
    #[arg(long, default_value = "corpus/regressions")]
    pub out: PathBuf,
    /// Run shard I of N (`I/N`).
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
    /// Continue after a finding.
    #[arg(long = "keep-going")]
    pub keep_going: bool,
    /// Seconds one case may take.
    #[arg(long = "case-timeout", value_name = "S")]
    pub case_timeout: Option<f64>,
    /// Write the JSON report to FILE.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
}

/// `conform bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Workloads file (default: the repository's bench/shapes.json).
    #[arg(long, value_name = "FILE")]
    pub workloads: Option<PathBuf>,
    /// ISA variant of the optimized engine.
    #[arg(long)]
    pub isa: Option<String>,
    /// Threads.
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Timed calls per workload (after 3 warm-up calls); the median is reported.
    #[arg(long, default_value_t = 21)]
    pub reps: usize,
    /// Also time the reference's INT8 mode with this many calls (0: not timed).
    #[arg(long = "reference-reps", default_value_t = 0)]
    pub reference_reps: usize,
    /// Write the JSON report to FILE (`-` for stdout).
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
}

/// `conform isa [--json]`.
#[derive(Debug, Args)]
pub struct IsaArgs {
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}
