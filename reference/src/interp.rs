//! The interpreter: runs a [`Model`] node by node in topological order, in FP32-fallback, FP16 or
//! INT8 mode, recording per node the path taken and why.
//!
//! - **FP32**: every op, FakeQuantize included, as-is in f32 (what a plugin without INT8 support runs).
//! - **FP16**: inputs and f32 constants are rounded to f16 when read (f16 constants as stored); each
//!   op computes in f32 from those values and its f32 outputs are rounded to f16 — an f16 plugin with
//!   f32 accumulation. Values are kept as f32 tensors holding f16 values exactly.
//! - **INT8**: the main ops `int8::analyze` accepts run as exact integer accumulations with the
//!   INT8.md epilogue; everything else runs as in FP32.

use crate::error::{op_err, RefError};
use crate::int8::{self, Decision, ZeroPointPolicy};
use crate::ops::{self, OpCtx};
use conform_ir::{ElementType, Model, Tensor, TensorData};
use half::f16;

/// Execution mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// FP32 fallback.
    Fp32,
    /// FP16 fallback.
    Fp16,
    /// INT8 with the given zero-point policy.
    Int8(ZeroPointPolicy),
}

/// Options of one run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The mode.
    pub mode: Mode,
    /// Refuse to run when the tensors would exceed this many bytes (checked before allocating where
    /// the declared shapes are static, and after each op on live bytes).
    pub max_memory: Option<u64>,
    /// Keep every node's output values in [`RunOutput::values`] (for re-anchoring and tracing).
    pub keep_values: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions { mode: Mode::Fp32, max_memory: None, keep_values: false }
    }
}

/// The path one node took.
#[derive(Debug, Clone, PartialEq)]
pub enum PathTaken {
    /// Parameter, Const or Result: no arithmetic.
    Io,
    /// Computed in f32.
    Fp32,
    /// Computed in f32 from f16 values, rounded to f16.
    Fp16,
    /// Main op of an INT8 block.
    Int8,
    /// Absorbed into the epilogue of the INT8 block whose main op is this node index.
    FusedInto(usize),
}

/// Per-node record of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeTrace {
    /// Node index.
    pub node: usize,
    /// The path taken.
    pub path: PathTaken,
    /// Why the node is not INT8 when it was a candidate (INT8 mode), as `code: detail`.
    pub reason: Option<String>,
}

/// What a run produces.
#[derive(Debug, Clone)]
pub struct RunOutput {
    /// One tensor per Result, in [`Model::results`] order.
    pub outputs: Vec<Tensor>,
    /// One record per executed node, in execution order.
    pub trace: Vec<NodeTrace>,
    /// With `keep_values`: `values[node][output]`.
    pub values: Option<Vec<Vec<Option<Tensor>>>>,
}

/// Rounds every element of an f32 tensor to the nearest f16 (kept as f32).
pub fn round_to_f16(t: &mut Tensor) {
    if let TensorData::F32(v) = &mut t.data {
        for x in v.iter_mut() {
            *x = f16::from_f32(*x).to_f32();
        }
    }
}

fn tensor_bytes(t: &Tensor) -> u64 {
    t.element_type.storage_bytes(t.len() as u64).unwrap_or(u64::MAX)
}

/// Checks the caller's inputs against the model's parameters and converts them to the parameter's
/// element type where it is a float type (so f32 `.npy` files feed f16 parameters).
fn bind_inputs(model: &Model, inputs: &[Tensor]) -> Result<Vec<Tensor>, RefError> {
    let params = model.parameters();
    if params.len() != inputs.len() {
        return Err(RefError::Input {
            index: inputs.len().min(params.len()),
            message: format!("the model has {} parameters, {} inputs were given", params.len(), inputs.len()),
        });
    }
    let mut bound = Vec::with_capacity(inputs.len());
    for (i, (&p, t)) in params.iter().zip(inputs).enumerate() {
        let node = model.node(p);
        if let Some(port) = node.outputs.first() {
            if !port.shape.admits(&t.shape) {
                return Err(RefError::Input {
                    index: i,
                    message: format!(
                        "parameter \"{}\" has shape {}, the input has {}",
                        node.name,
                        port.shape,
                        conform_ir::shape::fmt_shape(&t.shape)
                    ),
                });
            }
        }
        let declared = node.attr("element_type").and_then(ElementType::from_ir_name);
        let t = match declared {
            Some(et) if et.is_float() && et != ElementType::F32 && t.element_type.is_float() => {
                // Feed a non-f32 float parameter from f32 data: values rounded to that type.
                let mut v = Tensor::from_f32(t.shape.clone(), t.to_f32_vec())
                    .map_err(|e| RefError::Input { index: i, message: e.to_string() })?;
                if et == ElementType::F16 {
                    round_to_f16(&mut v);
                }
                v
            }
            Some(et) if et == ElementType::F32 && t.element_type != ElementType::F32 => {
                Tensor::from_f32(t.shape.clone(), t.to_f32_vec())
                    .map_err(|e| RefError::Input { index: i, message: e.to_string() })?
            }
            _ => t.clone(),
        };
        bound.push(t);
    }
    Ok(bound)
}

/// Refuses, before running, a model whose statically declared output tensors exceed the limit.
fn check_declared_memory(model: &Model, limit: u64) -> Result<(), RefError> {
    for node in model.nodes() {
        for port in &node.outputs {
            let Some(dims) = port.shape.to_static() else { continue };
            let elems = conform_ir::element_count(&dims).map(|n| n as u64).unwrap_or(u64::MAX);
            let bytes = elems.saturating_mul(4);
            if bytes > limit {
                return Err(RefError::Memory { layer: node.layer_ref(), bytes, limit });
            }
        }
    }
    Ok(())
}

/// Runs the model on `inputs` (OpenVINO's parameter order).
pub fn run(model: &Model, inputs: &[Tensor], opts: &RunOptions) -> Result<RunOutput, RefError> {
    if let Some(limit) = opts.max_memory {
        check_declared_memory(model, limit)?;
    }
    let bound = bind_inputs(model, inputs)?;
    let int8_plan = match opts.mode {
        Mode::Int8(policy) => Some(int8::analyze(model, policy)?),
        _ => None,
    };
    let n = model.nodes().len();
    let mut values: Vec<Vec<Option<Tensor>>> = model.nodes().iter().map(|nd| vec![None; nd.outputs.len()]).collect();
    // Remaining consumers per node output, to free values early when not keeping them.
    let mut pending: Vec<Vec<usize>> =
        (0..n).map(|i| (0..model.node(i).outputs.len()).map(|o| model.consumers_of(i, o).len()).collect()).collect();
    // An INT8 main op reads the *input* of its activation FakeQuantize, which the graph does not
    // list as a consumer: count it so the value is not freed before the block runs.
    if let Some(plan) = &int8_plan {
        for b in &plan.blocks {
            for &fq in &b.act_fq {
                let (s, o) = model.source_of(fq, 0);
                pending[s][o] += 1;
            }
        }
    }
    let mut live_bytes: u64 = 0;
    let mut trace = Vec::with_capacity(n);
    let params = model.parameters();
    let mut outputs_by_result: Vec<(usize, Tensor)> = Vec::new();

    for &i in model.topo_order() {
        let node = model.node(i);
        let decision = int8_plan.as_ref().map(|p| &p.decisions[i]);
        let (outs, path, reason): (Vec<Tensor>, PathTaken, Option<String>) = if node.is_parameter() {
            let k = params.iter().position(|&p| p == i).unwrap_or(0);
            let mut t = bound[k].clone();
            if opts.mode == Mode::Fp16 && t.element_type == ElementType::F32 {
                // FP16 mode reads its inputs as f16 values (as it reads f32 constants).
                round_to_f16(&mut t);
            }
            (vec![t], PathTaken::Io, None)
        } else if node.is_const() {
            let mut t = model.const_tensor(i)?;
            if opts.mode == Mode::Fp16 && t.element_type == ElementType::F32 {
                round_to_f16(&mut t);
            }
            (vec![t], PathTaken::Io, None)
        } else if node.is_result() {
            let (src, out) = model.source_of(i, 0);
            let t = values[src][out].clone().ok_or_else(|| op_err(node, "its input was not computed"))?;
            outputs_by_result.push((i, t));
            trace.push(NodeTrace { node: i, path: PathTaken::Io, reason: None });
            release_inputs(model, i, &mut values, &mut pending, &mut live_bytes, opts.keep_values);
            continue;
        } else {
            match (decision, int8_plan.as_ref()) {
                (Some(Decision::Main { block }), Some(plan)) => {
                    let b = &plan.blocks[*block];
                    let acts: Vec<&Tensor> = b
                        .act_fq
                        .iter()
                        .map(|&fq| {
                            let (src, out) = model.source_of(fq, 0);
                            values[src][out].as_ref().ok_or_else(|| op_err(node, "activation input was not computed"))
                        })
                        .collect::<Result<_, _>>()?;
                    let y = int8::execute_block(model, plan, b, &acts)?;
                    for &fq in &b.act_fq {
                        let (s, o) = model.source_of(fq, 0);
                        release_value(&mut values, &mut pending, &mut live_bytes, opts.keep_values, s, o);
                    }
                    if b.output == i {
                        (vec![y], PathTaken::Int8, None)
                    } else {
                        // The block's value belongs to its last absorbed node; the main op and the
                        // absorbed nodes have single consumers inside the block.
                        values[b.output][0] = Some(y);
                        trace.push(NodeTrace { node: i, path: PathTaken::Int8, reason: None });
                        release_inputs(model, i, &mut values, &mut pending, &mut live_bytes, opts.keep_values);
                        continue;
                    }
                }
                (Some(Decision::Absorbed { block }), Some(plan)) => {
                    let main = plan.blocks[*block].main;
                    trace.push(NodeTrace { node: i, path: PathTaken::FusedInto(main), reason: None });
                    if plan.blocks[*block].output == i {
                        if let Some(t) = &values[i][0] {
                            live_bytes = live_bytes.saturating_add(tensor_bytes(t));
                        }
                    }
                    release_inputs(model, i, &mut values, &mut pending, &mut live_bytes, opts.keep_values);
                    continue;
                }
                _ => {
                    let input_refs: Vec<&Tensor> = model
                        .sources_of(i)
                        .iter()
                        .map(|&(s, o)| values[s][o].as_ref().ok_or_else(|| op_err(node, "an input was not computed")))
                        .collect::<Result<_, _>>()?;
                    let ctx = OpCtx { model, index: i, node, inputs: &input_refs };
                    let mut outs = ops::evaluate(&ctx)?;
                    let path = if opts.mode == Mode::Fp16 {
                        outs.iter_mut().for_each(round_to_f16);
                        PathTaken::Fp16
                    } else {
                        PathTaken::Fp32
                    };
                    let reason = match decision {
                        Some(Decision::Fallback { reason, detail }) => Some(format!("{reason}: {detail}")),
                        _ => None,
                    };
                    (outs, path, reason)
                }
            }
        };
        if outs.len() != node.outputs.len() {
            return Err(op_err(
                node,
                format!("produced {} outputs, the layer declares {}", outs.len(), node.outputs.len()),
            ));
        }
        for (o, t) in outs.into_iter().enumerate() {
            live_bytes = live_bytes.saturating_add(tensor_bytes(&t));
            values[i][o] = Some(t);
        }
        if let Some(limit) = opts.max_memory {
            if live_bytes > limit {
                return Err(RefError::Memory { layer: node.layer_ref(), bytes: live_bytes, limit });
            }
        }
        trace.push(NodeTrace { node: i, path, reason });
        release_inputs(model, i, &mut values, &mut pending, &mut live_bytes, opts.keep_values);
    }
    let outputs = model
        .results()
        .into_iter()
        .map(|r| {
            outputs_by_result
                .iter()
                .find(|(i, _)| *i == r)
                .map(|(_, t)| t.clone())
                .ok_or_else(|| op_err(model.node(r), "the result was not computed"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(RunOutput { outputs, trace, values: opts.keep_values.then_some(values) })
}

/// Drops input values no other node needs any more (unless all values are kept).
fn release_inputs(
    model: &Model,
    node: usize,
    values: &mut [Vec<Option<Tensor>>],
    pending: &mut [Vec<usize>],
    live_bytes: &mut u64,
    keep: bool,
) {
    for &(s, o) in model.sources_of(node) {
        release_value(values, pending, live_bytes, keep, s, o);
    }
}

/// One consumer of output `o` of node `s` is done; drops the value when it was the last.
fn release_value(
    values: &mut [Vec<Option<Tensor>>],
    pending: &mut [Vec<usize>],
    live_bytes: &mut u64,
    keep: bool,
    s: usize,
    o: usize,
) {
    pending[s][o] = pending[s][o].saturating_sub(1);
    if pending[s][o] == 0 && !keep {
        if let Some(t) = values[s][o].take() {
            *live_bytes = live_bytes.saturating_sub(tensor_bytes(&t));
        }
    }
}
