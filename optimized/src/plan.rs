//! Plan compilation and execution.
//!
//! [`compile`] decides every candidate main op by the INT8.md rule ([`crate::pattern`]), quantizes
//! and packs the weights of INT8 blocks once for the chosen ISA (the IR's fp32/int weights are not
//! kept), works out which nodes still have to run (the weight subgraphs and activation
//! FakeQuantize nodes of INT8 blocks only run if something else reads them) and keeps a *residual*
//! copy of the model without its weights blob for the FP32 fallback kernels.
//!
//! [`Plan::run`] executes the steps in topological order inside the plan's own rayon pool.
//! Parallelism is over output channels and positions only, never over a reduction, so outputs
//! are bit-identical for every thread count. `Plan` is `Send + Sync`.

use crate::conv::ConvExec;
use crate::error::OptError;
use crate::fallback;
use crate::isa::{self, Isa};
use crate::matmul::MatMulExec;
pub use crate::pattern::ZeroPointPolicy;
use crate::pattern::{self, BlockSpec, Decision, MainKind};
use conform_ir::{Model, Tensor};
use std::borrow::Cow;
use std::sync::Arc;

/// Options of [`compile`].
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    /// ISA variant by name (`avx512vnni`, `avxvnni`, `avx2`, `scalar`, or `mutant:NAME` with the
    /// `mutants` feature); `None` = the best detected under `CONFORM_MAX_ISA`.
    pub isa: Option<String>,
    /// Treatment of fractional activation zero points.
    pub zero_point: ZeroPointPolicy,
    /// Worker threads; `None` = all cores.
    pub threads: Option<usize>,
}

/// How a node is executed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Precision {
    /// Main op of an INT8 block.
    Int8,
    /// Absorbed into the INT8 block whose main op is this node index (bias Add, ReLU/Clamp, the
    /// activation FakeQuantize).
    FusedInto(usize),
    /// Part of a weight subgraph folded into packed weights at compile time.
    Folded,
    /// FP32 fallback kernel.
    Fp32,
    /// Parameter, Const or Result.
    Io,
    /// Not needed by any output (never executed).
    Unused,
}

/// The per-node report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeReport {
    /// Node index.
    pub node: usize,
    /// Layer name.
    pub name: String,
    /// Layer type.
    pub op_type: String,
    /// Kernel name (`avx512vnni_conv_u8s8s32_implicit_gemm`, `fp32:Add`, ...).
    pub kernel: String,
    /// Precision used.
    pub precision: Precision,
    /// For a candidate main op that falls back, or any non-INT8 op: `code: detail` (INT8.md §1).
    pub reason: Option<String>,
}

/// Weight data resident in a plan's INT8 blocks ([`Plan::resident_weight_data`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ResidentWeights {
    /// Bytes of the packed weight arrays.
    pub bytes: usize,
    /// Their slots, packing padding included (one byte per i8 slot, two per i16 slot).
    pub slots: usize,
    /// Per-channel parameters held beside (scales, compensation sums, bias).
    pub param_bytes: usize,
}

/// What a run produces.
#[derive(Debug, Clone)]
pub struct RunOutput {
    /// One tensor per Result, in the model's Result order.
    pub outputs: Vec<Tensor>,
    /// The per-node report (shared with the plan).
    pub report: Arc<Vec<NodeReport>>,
}

/// A compiled INT8 block.
#[derive(Debug)]
enum BlockExec {
    Conv(Box<ConvExec>),
    MatMul(Box<MatMulExec>),
}

#[derive(Debug)]
enum Step {
    Const {
        slot: usize,
        value: Box<Tensor>,
    },
    Fallback {
        node: usize,
        inputs: Vec<usize>,
        first_out: usize,
    },
    /// A standalone per-tensor FakeQuantize (f32 → f32, vectorized; the fallback if not f32).
    Fq {
        node: usize,
        inputs: Vec<usize>,
        out: usize,
        p: crate::kernels::quant::FqScalar,
    },
    Block {
        main: usize,
        exec: BlockExec,
        inputs: Vec<usize>,
        out: usize,
    },
}

/// A compiled plan.
#[derive(Debug)]
pub struct Plan {
    isa: Isa,
    threads: usize,
    pool: rayon::ThreadPool,
    /// The whole plan is INT8 blocks with static shapes and at most [`SMALL_WORK`] MACs: run on
    /// the calling thread whatever `threads` says (see [`Plan::run`]).
    small: bool,
    steps: Vec<Step>,
    params: Vec<(usize, usize)>,
    params_nodes: Vec<usize>,
    results: Vec<usize>,
    nslots: usize,
    residual: Option<Model>,
    /// Stripped copies of the nodes the plan itself needs (parameters, INT8 main ops), by index.
    own_nodes: std::collections::HashMap<usize, conform_ir::Node>,
    report: Arc<Vec<NodeReport>>,
    /// The seeded bug this plan was compiled with (re-armed by `run`).
    #[cfg(feature = "mutants")]
    mutant: Option<crate::mutants::Mutant>,
}

/// Multiply-accumulates below which a multi-thread plan still runs on the calling thread: the
/// hand-off to the pool and back costs 10–35 µs on the 2-core guest (two cross-thread wake-ups),
/// more than such a block takes on one core (fc_1x1024_n1000, 1 M MACs: 9 µs).
pub const SMALL_WORK: u64 = 2 << 20;

/// MACs of an INT8 main op from its static port shapes (`None` when a shape is not static).
fn block_macs(node: &conform_ir::Node, kind: &MainKind) -> Option<u64> {
    let dims = |p: &conform_ir::Port| p.shape.0.iter().map(|d| d.as_static()).collect::<Option<Vec<u64>>>();
    let out = dims(node.outputs.first()?)?;
    let out_elems: u64 = out.iter().product();
    let red = match kind {
        MainKind::Conv { .. } => {
            let w: u64 = dims(node.inputs.get(1)?)?.iter().product();
            w / (*out.get(1)?).max(1)
        }
        MainKind::MatMulConst | MainKind::MatMulAct => {
            let a = dims(node.inputs.first()?)?;
            let ta = node.attr_bool_or("transpose_a", false).ok()?;
            *a.get(a.len().checked_sub(if ta { 2 } else { 1 })?)?
        }
    };
    out_elems.checked_mul(red)
}

/// Compiles `model` into a plan.
pub fn compile(model: &Model, opts: &PlanOptions) -> Result<Plan, OptError> {
    let isa = isa::select(opts.isa.as_deref())?;
    let threads = opts.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())).max(1);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| OptError::Threads { threads, message: e.to_string() })?;
    let nodes = model.nodes();
    let nn = nodes.len();
    let is_const = pattern::constness(model);
    let mut decisions: Vec<Option<Decision>> = vec![None; nn];
    for (n, d) in decisions.iter_mut().enumerate() {
        if pattern::is_candidate(model.node(n)) {
            *d = Some(pattern::analyze(model, n, opts.zero_point, &is_const)?);
        }
    }
    // Block membership.
    let mut block_of_output: Vec<Option<usize>> = vec![None; nn];
    let mut fused_into: Vec<Option<usize>> = vec![None; nn];
    let mut folded = vec![false; nn];
    for d in decisions.iter().flatten() {
        if let Decision::Block(b) = d {
            block_of_output[b.output] = Some(b.main);
            for &c in &b.chain {
                fused_into[c] = Some(b.main);
            }
            for &w in &b.weight_nodes {
                folded[w] = true;
            }
        }
    }
    let block = |main: usize| -> Option<&BlockSpec> {
        match decisions[main].as_ref() {
            Some(Decision::Block(b)) => Some(b),
            _ => None,
        }
    };
    // Liveness from the Results backwards.
    let mut needed = vec![false; nn];
    let mut stack: Vec<usize> = model.results();
    while let Some(n) = stack.pop() {
        if needed[n] {
            continue;
        }
        needed[n] = true;
        let srcs: Vec<usize> = if let Some(main) = block_of_output[n] {
            let b = block(main).ok_or_else(|| OptError::layer(model.node(main), "internal: block lost"))?;
            b.act_fq.iter().map(|&f| model.source_of(f, 0).0).collect()
        } else {
            model.sources_of(n).iter().map(|&(s, _)| s).collect()
        };
        stack.extend(srcs);
    }
    // Slots.
    let mut slot0 = vec![0usize; nn + 1];
    for n in 0..nn {
        slot0[n + 1] = slot0[n] + nodes[n].outputs.len().max(1);
    }
    let slot = |n: usize, o: usize| slot0[n] + o;
    let mut steps = Vec::new();
    let mut report = Vec::with_capacity(nn);
    let mut params = Vec::new();
    let mut any_fallback = false;
    for (pi, &p) in model.parameters().iter().enumerate() {
        params.push((pi, p));
    }
    let mut resident = vec![None; nn];
    let mut work: Option<u64> = Some(0);
    let mut fq_nodes = vec![false; nn];
    for &n in model.topo_order() {
        let nd = model.node(n);
        if !needed[n] {
            continue;
        }
        if nd.is_const() {
            steps.push(Step::Const { slot: slot(n, 0), value: Box::new(model.const_tensor(n)?) });
        } else if nd.is_parameter() || nd.is_result() {
        } else if let Some(main) = block_of_output[n] {
            let b = block(main).ok_or_else(|| OptError::layer(model.node(main), "internal: block lost"))?;
            let mnode = model.node(main);
            work = work.zip(block_macs(mnode, &b.kind)).and_then(|(w, m)| w.checked_add(m));
            let exec = match &b.kind {
                MainKind::Conv { grouped } => {
                    let w = b.weights.as_ref().ok_or_else(|| OptError::layer(mnode, "internal: no weights"))?;
                    BlockExec::Conv(Box::new(ConvExec::new(
                        isa,
                        mnode,
                        *grouped,
                        w,
                        b.act[0],
                        b.bias.clone(),
                        b.act_fn,
                    )?))
                }
                MainKind::MatMulConst => BlockExec::MatMul(Box::new(MatMulExec::new(
                    isa,
                    mnode,
                    b.act[0],
                    None,
                    b.weights.as_ref(),
                    b.bias.clone(),
                    b.act_fn,
                )?)),
                MainKind::MatMulAct => BlockExec::MatMul(Box::new(MatMulExec::new(
                    isa,
                    mnode,
                    b.act[0],
                    b.act.get(1).copied(),
                    None,
                    b.bias.clone(),
                    b.act_fn,
                )?)),
            };
            resident[main] = Some(match &exec {
                BlockExec::Conv(c) => (c.kernel.clone(), c.resident_bytes()),
                BlockExec::MatMul(m) => (m.kernel.clone(), m.resident_bytes()),
            });
            let inputs = b.act_fq.iter().map(|&f| {
                let (s, o) = model.source_of(f, 0);
                slot(s, o)
            });
            steps.push(Step::Block { main, exec, inputs: inputs.collect(), out: slot(n, 0) });
        } else {
            any_fallback = true;
            work = None;
            let inputs = model.sources_of(n).iter().map(|&(s, o)| slot(s, o)).collect();
            match scalar_fq(model, n)? {
                Some(p) => {
                    fq_nodes[n] = true;
                    steps.push(Step::Fq { node: n, inputs, out: slot(n, 0), p })
                }
                None => steps.push(Step::Fallback { node: n, inputs, first_out: slot(n, 0) }),
            }
        }
    }
    for n in 0..nn {
        let nd = model.node(n);
        let (kernel, precision, reason) = if let Some(Decision::Block(_)) = &decisions[n] {
            let k = resident[n].as_ref().map_or_else(|| "int8 (unused)".to_string(), |r| r.0.clone());
            (k, if needed[block(n).map_or(n, |b| b.output)] { Precision::Int8 } else { Precision::Unused }, None)
        } else if let Some(m) = fused_into[n] {
            ("epilogue".to_string(), Precision::FusedInto(m), None)
        } else if nd.is_parameter() || nd.is_result() || nd.is_const() {
            ("io".to_string(), if needed[n] || folded[n] { Precision::Io } else { Precision::Unused }, None)
        } else if !needed[n] && folded[n] {
            ("packed-weights".to_string(), Precision::Folded, None)
        } else if !needed[n]
            && decisions.iter().flatten().any(|d| matches!(d, Decision::Block(b) if b.act_fq.contains(&n)))
        {
            let m = decisions
                .iter()
                .flatten()
                .find_map(|d| match d {
                    Decision::Block(b) if b.act_fq.contains(&n) => Some(b.main),
                    _ => None,
                })
                .unwrap_or(n);
            ("quantize-in-block".to_string(), Precision::FusedInto(m), None)
        } else {
            let reason = match &decisions[n] {
                Some(Decision::Fallback { reason, detail }) => format!("{reason}: {detail}"),
                _ => "op-not-int8".to_string(),
            };
            let k =
                if fq_nodes[n] { format!("{}_fakequantize_f32", isa.name()) } else { format!("fp32:{}", nd.op_type) };
            (k, if needed[n] { Precision::Fp32 } else { Precision::Unused }, Some(reason))
        };
        report.push(NodeReport {
            node: n,
            name: nd.name.clone(),
            op_type: nd.op_type.clone(),
            kernel,
            precision,
            reason,
        });
    }
    let results = model
        .results()
        .iter()
        .map(|&r| {
            let (s, o) = model.sources_of(r).first().copied().unwrap_or((r, 0));
            slot(s, o)
        })
        .collect();
    let residual = if any_fallback {
        let mut parts = model.to_parts();
        parts.weights = Arc::new(Vec::new());
        for node in parts.nodes.iter_mut() {
            node.constant = None;
        }
        Some(Model::from_parts(parts)?)
    } else {
        None
    };
    let mut own_nodes = std::collections::HashMap::new();
    for &p in &model.parameters() {
        own_nodes.insert(p, strip_node(model.node(p).clone()));
    }
    for s in &steps {
        if let Step::Block { main, .. } = s {
            own_nodes.insert(*main, strip_node(model.node(*main).clone()));
        }
    }
    Ok(Plan {
        isa,
        threads,
        pool,
        small: work.is_some_and(|w| w <= SMALL_WORK),
        steps,
        params_nodes: params.iter().map(|&(_, p)| p).collect(),
        params: params.into_iter().map(|(i, p)| (i, slot(p, 0))).collect(),
        results,
        nslots: slot0[nn],
        residual,
        own_nodes,
        report: Arc::new(report),
        #[cfg(feature = "mutants")]
        mutant: crate::mutants::active(),
    })
}

/// A FakeQuantize whose four ranges are single-element float Consts with `il < ih` and
/// `levels ≥ 2`: run by the vectorized SPEC §1.2 recipe.
fn scalar_fq(model: &Model, n: usize) -> Result<Option<crate::kernels::quant::FqScalar>, OptError> {
    let nd = model.node(n);
    if nd.op_type != "FakeQuantize" || nd.version != "opset1" || nd.inputs.len() != 5 || nd.outputs.len() != 1 {
        return Ok(None);
    }
    let Ok(levels) = nd.attr_u64("levels") else { return Ok(None) };
    if !(2..=1 << 24).contains(&levels) {
        return Ok(None);
    }
    let mut r = [0f32; 4];
    for (k, v) in r.iter_mut().enumerate() {
        let (c, _) = model.source_of(n, k + 1);
        if !model.node(c).is_const() {
            return Ok(None);
        }
        let t = model.const_tensor(c)?;
        if t.element_type != conform_ir::ElementType::F32 || t.len() != 1 {
            return Ok(None);
        }
        *v = t.to_f32_vec()[0];
    }
    let [il, ih, ol, oh] = r;
    if il.partial_cmp(&ih) != Some(std::cmp::Ordering::Less) {
        return Ok(None);
    }
    Ok(Some(crate::kernels::quant::FqScalar { il, ih, ol, oh, lm1: (levels - 1) as f32 }))
}

/// Keeps what error messages and parameter checks need of a node (no rt_info).
fn strip_node(mut n: conform_ir::Node) -> conform_ir::Node {
    n.rt_info = None;
    n.constant = None;
    n
}

impl Plan {
    /// The ISA variant the plan's kernels use.
    pub fn isa(&self) -> Isa {
        self.isa
    }

    /// Worker threads.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// The per-node report.
    pub fn report(&self) -> &Arc<Vec<NodeReport>> {
        &self.report
    }

    /// Bytes held for INT8 blocks: packed int8 weights (with packing padding) and per-channel
    /// parameters (scales, compensation sums, bias). Constants kept for FP32 fallback nodes are
    /// not included (see [`Plan::fallback_const_bytes`]).
    pub fn resident_weight_bytes(&self) -> usize {
        self.steps
            .iter()
            .map(|s| match s {
                Step::Block { exec: BlockExec::Conv(c), .. } => c.resident_bytes(),
                Step::Block { exec: BlockExec::MatMul(m), .. } => m.resident_bytes(),
                _ => 0,
            })
            .sum()
    }

    /// The packed weight data of the INT8 blocks apart from their per-channel parameters (what
    /// the harness's `memory` oracle holds to ≤ 0.26 of fp32 per slot, INT8 weights being 8-bit).
    pub fn resident_weight_data(&self) -> ResidentWeights {
        let mut r = ResidentWeights::default();
        for s in &self.steps {
            let (bytes, slots) = match s {
                Step::Block { exec: BlockExec::Conv(c), .. } => c.weight_data(),
                Step::Block { exec: BlockExec::MatMul(m), .. } => m.weight_data(),
                _ => continue,
            };
            r.bytes += bytes;
            r.slots += slots;
        }
        r.param_bytes = self.resident_weight_bytes().saturating_sub(r.bytes);
        r
    }

    /// Bytes of constants kept for FP32 fallback nodes.
    pub fn fallback_const_bytes(&self) -> usize {
        self.steps
            .iter()
            .map(|s| match s {
                Step::Const { value, .. } => value.len() * (value.element_type.bits() as usize).div_ceil(8),
                _ => 0,
            })
            .sum()
    }

    /// Runs the plan on `inputs` (model parameter order).
    pub fn run(&self, inputs: &[Tensor]) -> Result<RunOutput, OptError> {
        if inputs.len() != self.params.len() {
            return Err(OptError::Input {
                index: inputs.len(),
                message: format!("the model has {} parameters, {} inputs given", self.params.len(), inputs.len()),
            });
        }
        #[cfg(feature = "mutants")]
        crate::mutants::set(self.mutant);
        let mut vals: Vec<Option<Cow<'_, Tensor>>> = vec![None; self.nslots];
        for (&(i, s), t) in self.params.iter().zip(inputs) {
            if let Some(p) = self.params_nodes.get(i).and_then(|n| self.own_nodes.get(n)) {
                if let Some(port) = p.outputs.first().filter(|port| !port.shape.admits(&t.shape)) {
                    return Err(OptError::Input {
                        index: i,
                        message: format!(
                            "parameter \"{}\" has shape {}, the input has {:?}",
                            p.name, port.shape, t.shape
                        ),
                    });
                }
            }
            vals[s] = Some(Cow::Borrowed(t));
        }
        if self.threads == 1 || self.small {
            // One thread, or too little work to pay for the hand-off: the INT8 blocks run on the
            // calling thread (crate::par, the same tasks); fallback nodes run in the pool.
            let _inline = crate::par::enter_inline();
            self.exec(&mut vals, true)?;
        } else {
            self.pool.install(|| self.exec(&mut vals, false))?;
        }
        // Move each result out of its slot (a copy only when a later result reads the same slot
        // or the value is borrowed): the output write is part of the measured time.
        let outputs = self
            .results
            .iter()
            .enumerate()
            .map(|(i, &s)| {
                let again = self.results[i + 1..].contains(&s);
                let v =
                    if again { vals.get(s).and_then(|v| v.clone()) } else { vals.get_mut(s).and_then(Option::take) };
                v.map(Cow::into_owned)
                    .ok_or_else(|| OptError::Input { index: s, message: "internal: a result was not computed".into() })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(RunOutput { outputs, report: Arc::clone(&self.report) })
    }

    /// `inline`: running on the caller's thread, so the fallback kernels go into the pool.
    fn exec<'a>(&'a self, vals: &mut [Option<Cow<'a, Tensor>>], inline: bool) -> Result<(), OptError> {
        let missing = |s: usize| OptError::Input { index: s, message: "internal: value not computed".into() };
        for step in &self.steps {
            match step {
                Step::Const { slot, value } => vals[*slot] = Some(Cow::Borrowed(&**value)),
                Step::Fallback { node, inputs, first_out } => {
                    let model = self.residual.as_ref().ok_or_else(|| missing(*node))?;
                    let ins: Vec<&Tensor> = inputs
                        .iter()
                        .map(|&s| vals[s].as_deref().ok_or_else(|| missing(s)))
                        .collect::<Result<_, _>>()?;
                    let outs = if inline {
                        self.pool.install(|| fallback::eval_node(model, *node, &ins))?
                    } else {
                        fallback::eval_node(model, *node, &ins)?
                    };
                    for (k, t) in outs.into_iter().enumerate() {
                        vals[first_out + k] = Some(Cow::Owned(t));
                    }
                }
                Step::Fq { node, inputs, out, p } => {
                    let x = vals[inputs[0]].as_deref().ok_or_else(|| missing(inputs[0]))?;
                    let y = match x.as_f32() {
                        Some(xs) => {
                            let mut y = vec![0f32; xs.len()];
                            let chunk = 32768;
                            let isa = self.isa;
                            crate::par::any_zip_chunks(&mut y, xs, chunk, |d, s| {
                                crate::kernels::quant::fake_quantize(isa, p, s, d);
                                false
                            });
                            Tensor::from_f32(x.shape.clone(), y)
                                .map_err(|e| OptError::Input { index: *node, message: e.to_string() })?
                        }
                        None => {
                            let model = self.residual.as_ref().ok_or_else(|| missing(*node))?;
                            let ins: Vec<&Tensor> = inputs
                                .iter()
                                .map(|&s| vals[s].as_deref().ok_or_else(|| missing(s)))
                                .collect::<Result<_, _>>()?;
                            let outs = if inline {
                                self.pool.install(|| fallback::eval_node(model, *node, &ins))?
                            } else {
                                fallback::eval_node(model, *node, &ins)?
                            };
                            outs.into_iter().next().ok_or_else(|| missing(*node))?
                        }
                    };
                    vals[*out] = Some(Cow::Owned(y));
                }
                Step::Block { main, exec, inputs, out } => {
                    let node = self.own_nodes.get(main).ok_or_else(|| missing(*main))?;
                    let x = vals[inputs[0]].as_deref().ok_or_else(|| missing(inputs[0]))?;
                    let y = match exec {
                        BlockExec::Conv(c) => c.run(node, x, self.threads)?,
                        BlockExec::MatMul(m) => {
                            let b = match inputs.get(1) {
                                Some(&s) => Some(vals[s].as_deref().ok_or_else(|| missing(s))?),
                                None => None,
                            };
                            m.run(node, x, b, self.threads)?
                        }
                    };
                    vals[*out] = Some(Cow::Owned(y));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Plan>();
    }

    #[test]
    fn wrong_input_count_is_an_error_not_a_panic() {
        let mut b = crate::modelgen::Builder::new();
        let x = b.param(&[1, 4]);
        b.result(x);
        let model = b.finish("m").expect("valid");
        let plan =
            compile(&model, &PlanOptions { isa: Some("scalar".into()), threads: Some(1), ..PlanOptions::default() })
                .expect("compiles");
        assert!(matches!(plan.run(&[]), Err(OptError::Input { .. })));
        let bad = Tensor::from_f32(vec![1, 5], vec![0.0; 5]).expect("shape");
        assert!(matches!(plan.run(&[bad]), Err(OptError::Input { .. })));
    }
}
