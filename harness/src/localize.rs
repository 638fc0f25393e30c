//! Localising a mismatch in a whole model (issue 7 item 4): split the model into units — each INT8
//! block with its activation FakeQuantize nodes, epilogue and requantizing FakeQuantize (the
//! reference's `int8::analyze` decides the blocks), and every other computing node on its own —
//! then, in topological order, re-anchor each unit on the expected engine's values (a sub-IR whose
//! Parameters carry the values that fed the unit in the reference INT8 run), run it on both sides
//! and compare. The first unit that diverges is the culprit; its sub-IR with its inputs is the
//! smallest regression case, written in the case layout of CONTRACT.md with the repro command.
//!
//! Re-anchoring makes a difference upstream (an accepted flip, say) unable to show as a failure
//! downstream: every unit sees exactly the inputs the reference saw.

use crate::classify::Label;
use crate::engine::ModelRef;
use conform_ir::{Edge, Model, ModelParts, Node, PartialShape, Port, Tensor};
use reference::int8::{self, ZeroPointPolicy};
use reference::{Mode, RunOptions};
use serde_json::json;
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

/// A piece of the model compared on its own.
#[derive(Debug, Clone, PartialEq)]
pub struct Unit {
    /// The nodes of the unit (computing nodes and the constants they read), in topological order.
    pub nodes: Vec<usize>,
    /// The node whose output 0 is the unit's output.
    pub output: usize,
    /// The main node (an INT8 block's main op, or the node itself), for messages.
    pub main: usize,
    /// What the unit is (`INT8 block`, `node`).
    pub kind: &'static str,
}

/// True per node when its value is a constant (a Const, or computed only from constants).
fn constant_nodes(model: &Model) -> Vec<bool> {
    let mut c = vec![false; model.nodes().len()];
    for &i in model.topo_order() {
        let n = model.node(i);
        c[i] = n.is_const()
            || (!n.is_parameter()
                && !n.is_result()
                && !model.sources_of(i).is_empty()
                && model.sources_of(i).iter().all(|&(s, _)| c[s]));
    }
    c
}

/// Adds the constant ancestors of `node`'s inputs to `set`.
fn add_constant_inputs(model: &Model, constant: &[bool], node: usize, set: &mut BTreeSet<usize>) {
    let mut stack: Vec<usize> = model.sources_of(node).iter().map(|&(s, _)| s).filter(|&s| constant[s]).collect();
    while let Some(s) = stack.pop() {
        if set.insert(s) {
            stack.extend(model.sources_of(s).iter().map(|&(p, _)| p));
        }
    }
}

/// The units of a model in topological order of their outputs.
pub fn units(model: &Model) -> Vec<Unit> {
    let constant = constant_nodes(model);
    let mut taken = vec![false; model.nodes().len()];
    let mut out: Vec<Unit> = Vec::new();
    if let Ok(plan) = int8::analyze(model, ZeroPointPolicy::Exact) {
        for b in &plan.blocks {
            let mut core: Vec<usize> = b.act_fq.clone();
            core.push(b.main);
            core.extend(&b.chain);
            let mut output = b.output;
            // The requantizing FakeQuantize, when it is the block output's only consumer.
            if let [(c, 0)] = model.consumers_of(b.output, 0) {
                if model.node(*c).op_type == "FakeQuantize" {
                    core.push(*c);
                    output = *c;
                }
            }
            // An activation FakeQuantize that also feeds something else stays its own unit.
            core.retain(|&n| !taken[n]);
            let mut set: BTreeSet<usize> = core.iter().copied().collect();
            for &n in &core {
                add_constant_inputs(model, &constant, n, &mut set);
            }
            for &n in &core {
                taken[n] = true;
            }
            out.push(Unit { nodes: set.into_iter().collect(), output, main: b.main, kind: "INT8 block" });
        }
    }
    for &i in model.topo_order() {
        let n = model.node(i);
        if taken[i] || constant[i] || n.is_parameter() || n.is_result() {
            continue;
        }
        let mut set = BTreeSet::from([i]);
        add_constant_inputs(model, &constant, i, &mut set);
        out.push(Unit { nodes: set.into_iter().collect(), output: i, main: i, kind: "node" });
    }
    let pos: HashMap<usize, usize> = model.topo_order().iter().enumerate().map(|(k, &n)| (n, k)).collect();
    out.sort_by_key(|u| pos.get(&u.output).copied().unwrap_or(usize::MAX));
    for u in &mut out {
        u.nodes.sort_by_key(|n| pos.get(n).copied().unwrap_or(usize::MAX));
    }
    out
}

fn port(id: u32, shape: &[usize]) -> Port {
    Port {
        id,
        precision: Some("FP32".into()),
        shape: PartialShape::from_static(shape),
        names: Vec::new(),
        other_attrs: Vec::new(),
        rt_info: None,
    }
}

/// Where an input of a sub-IR node comes from.
enum Src {
    /// Parameter `p` of the sub-IR.
    Param(usize),
    /// Output `o` of the sub-IR's unit node `k`.
    Node(usize, usize),
}

/// The sub-IR of a unit: its nodes, a Parameter for every value that enters it from outside
/// (shaped like `values`, the reference's value there), one Result for its output. Returns the
/// model and its inputs in Parameter order.
pub fn extract(model: &Model, unit: &Unit, values: &[Vec<Option<Tensor>>]) -> Result<(Model, Vec<Tensor>), String> {
    let inside: HashMap<usize, usize> = unit.nodes.iter().enumerate().map(|(k, &n)| (n, k)).collect();
    let mut nodes: Vec<Node> = unit.nodes.iter().map(|&n| model.node(n).clone()).collect();
    for n in &mut nodes {
        n.rt_info = None;
    }
    let mut edges: Vec<(Src, usize, usize)> = Vec::new();
    let mut params: Vec<(usize, usize)> = Vec::new();
    let mut param_nodes = Vec::new();
    let mut feeds = Vec::new();
    let base = model.nodes().len() + 1;
    for (k, &n) in unit.nodes.iter().enumerate() {
        for (i, &(s, o)) in model.sources_of(n).iter().enumerate() {
            if let Some(&sk) = inside.get(&s) {
                edges.push((Src::Node(sk, o), k, i));
                continue;
            }
            let pk = match params.iter().position(|&p| p == (s, o)) {
                Some(p) => p,
                None => {
                    let t = values
                        .get(s)
                        .and_then(|v| v.get(o))
                        .and_then(Option::as_ref)
                        .ok_or_else(|| format!("no reference value for {} output {o}", model.node(s).name))?;
                    let t = Tensor::from_f32(t.shape.clone(), t.to_f32_vec()).map_err(|e| e.to_string())?;
                    let shape_attr = t.shape.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(",");
                    param_nodes.push(Node {
                        id: (base + params.len()).to_string(),
                        name: format!("{}_out{o}", model.node(s).name),
                        op_type: "Parameter".into(),
                        version: "opset1".into(),
                        attrs: vec![("shape".into(), shape_attr), ("element_type".into(), "f32".into())],
                        inputs: Vec::new(),
                        outputs: vec![port(0, &t.shape)],
                        rt_info: None,
                        constant: None,
                    });
                    feeds.push(t);
                    params.push((s, o));
                    params.len() - 1
                }
            };
            edges.push((Src::Param(pk), k, i));
        }
    }
    // Parameters first (OpenVINO's parameter order is their order in the file), then the unit.
    let np = param_nodes.len();
    let mut edges: Vec<Edge> = edges
        .into_iter()
        .map(|(src, k, i)| {
            let (from_node, from_output) = match src {
                Src::Param(p) => (p, 0),
                Src::Node(n, o) => (n + np, o),
            };
            Edge { from_node, from_output, to_node: k + np, to_input: i }
        })
        .collect();
    let out_k = *inside.get(&unit.output).ok_or("the unit's output is not in the unit")? + np;
    let out_shape = values
        .get(unit.output)
        .and_then(|v| v.first())
        .and_then(Option::as_ref)
        .map(|t| t.shape.clone())
        .ok_or("no reference value for the unit's output")?;
    let mut all = param_nodes;
    all.extend(nodes);
    all.push(Node {
        id: (base + np + 1).to_string(),
        name: format!("{}_result", model.node(unit.output).name),
        op_type: "Result".into(),
        version: "opset1".into(),
        attrs: Vec::new(),
        inputs: vec![port(0, &out_shape)],
        outputs: Vec::new(),
        rt_info: None,
        constant: None,
    });
    edges.push(Edge { from_node: out_k, from_output: 0, to_node: all.len() - 1, to_input: 0 });
    let parts = ModelParts {
        name: format!("{}_{}", model.name, model.node(unit.main).name),
        ir_version: 11,
        nodes: all,
        edges,
        rt_info: None,
        weights: model.weights().clone(),
        source: None,
    };
    let sub = Model::from_parts(parts).map_err(|e| e.to_string())?;
    Ok((sub, feeds))
}

/// A comparison of one sub-IR: `Ok(None)` when the actual engine agrees (or cannot run it),
/// `Ok(Some((classification, detail)))` when it diverges.
pub type Compare<'a> = dyn FnMut(ModelRef<'_>, &[Tensor]) -> Result<Option<(String, String)>, String> + 'a;

/// Where a model first diverges.
#[derive(Debug, Clone)]
pub struct Localized {
    /// The unit.
    pub unit: Unit,
    /// Its main node's name and type.
    pub node: String,
    /// The op type of the main node.
    pub op_type: String,
    /// The classification of the divergence.
    pub classification: String,
    /// What differs.
    pub detail: String,
    /// The sub-IR.
    pub model: Model,
    /// Its inputs.
    pub inputs: Vec<Tensor>,
    /// Units compared before (and including) the culprit.
    pub compared: usize,
}

/// Finds the first unit (topological order) on which `compare` says the engine diverges when
/// re-anchored on the reference INT8 run's values. `scratch` holds the sub-IR files.
///
/// When every unit agrees alone, a second pass compares windows of two units, each unit merged
/// with the unit producing its first input: a bug that needs two ops planned together (a layout
/// kept between them, a fused pair) shows there. When those agree too the error says so, with the
/// units that could not be re-anchored (the difference then builds up across units).
pub fn localize(
    model: &Model,
    inputs: &[Tensor],
    scratch: &Path,
    compare: &mut Compare<'_>,
) -> Result<Option<Localized>, String> {
    let opts = RunOptions { mode: Mode::Int8(ZeroPointPolicy::Exact), max_memory: None, keep_values: true };
    let run = reference::run(model, inputs, &opts).map_err(|e| format!("reference INT8 run: {e}"))?;
    let values = run.values.unwrap_or_default();
    std::fs::create_dir_all(scratch).map_err(|e| format!("{}: {e}", scratch.display()))?;
    let all = units(model);
    let mut skipped = Vec::new();
    let mut compared = 0usize;
    // Windows: every unit alone, then every unit with the unit that produces its first input.
    let mut windows: Vec<Unit> = all.clone();
    for u in &all {
        let first_feed = u.nodes.iter().find_map(|&n| {
            model.sources_of(n).iter().map(|&(s, _)| s).find(|s| !u.nodes.contains(s) && !model.node(*s).is_const())
        });
        let Some(p) = first_feed.and_then(|s| all.iter().find(|v| v.output == s)) else { continue };
        let mut nodes: Vec<usize> = p.nodes.iter().chain(&u.nodes).copied().collect();
        let pos: HashMap<usize, usize> = model.topo_order().iter().enumerate().map(|(k, &n)| (n, k)).collect();
        nodes.sort_by_key(|n| pos.get(n).copied().unwrap_or(usize::MAX));
        nodes.dedup();
        windows.push(Unit { nodes, output: u.output, main: u.main, kind: "pair of units" });
    }
    for (k, unit) in windows.into_iter().enumerate() {
        let (sub, feeds) = match extract(model, &unit, &values) {
            Ok(x) => x,
            Err(e) => {
                // A unit fed by a value the reference did not keep: it cannot be re-anchored.
                skipped.push(format!("{} {}: {e}", model.node(unit.main).op_type, model.node(unit.main).name));
                continue;
            }
        };
        let path = scratch.join(format!("unit{k}.xml"));
        conform_ir::write_model(&sub, &path).map_err(|e| e.to_string())?;
        // The engines read the written file: compare on what was read back, so the sub-IR that is
        // kept is exactly what diverged.
        let sub = conform_ir::read_model(&path).map_err(|e| e.to_string())?;
        compared += 1;
        if let Some((classification, detail)) = compare(ModelRef { model: &sub, path: &path }, &feeds)? {
            let main = model.node(unit.main);
            return Ok(Some(Localized {
                node: main.name.clone(),
                op_type: main.op_type.clone(),
                classification,
                detail,
                model: sub,
                inputs: feeds,
                compared,
                unit,
            }));
        }
    }
    Err(format!(
        "every unit agrees when re-anchored, alone and in pairs ({} units, {compared} sub-IRs{})",
        all.len(),
        if skipped.is_empty() {
            String::new()
        } else {
            format!(", {} not re-anchorable: {}", skipped.len(), skipped.join("; "))
        }
    ))
}

/// Writes a localized divergence as a regression case folder `<out>/<id>/` (CONTRACT.md layout:
/// `model.xml`, `model.bin`, `input_K.npy`, `reference_K.npy` from the reference INT8 mode, and a
/// manifest with the regression keys). Returns the folder and the repro command.
pub fn write_regression(
    out: &Path,
    source_case: &str,
    engine: &str,
    check: &str,
    loc: &Localized,
) -> Result<(PathBuf, String), String> {
    let descriptor = format!(
        "localized from {source_case}: {} {} ({}, {} nodes)",
        loc.op_type,
        loc.node,
        loc.unit.kind,
        loc.unit.nodes.len()
    );
    let id = format!("localized-{}-{:016x}", check, crate::fuzz::regression::fnv(&format!("{descriptor} {engine}")));
    let dir = out.join(id);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    conform_ir::write_model(&loc.model, &dir.join("model.xml")).map_err(|e| e.to_string())?;
    for (k, t) in loc.inputs.iter().enumerate() {
        let p = dir.join(format!("input_{k}.npy"));
        conform_ir::npy::write_npy(&p, t).map_err(|e| format!("{}: {e}", p.display()))?;
    }
    let opts = RunOptions { mode: Mode::Int8(ZeroPointPolicy::Exact), max_memory: None, keep_values: false };
    let outs = reference::run(&loc.model, &loc.inputs, &opts).map_err(|e| e.to_string())?.outputs;
    for (k, t) in outs.iter().enumerate() {
        let p = dir.join(format!("reference_{k}.npy"));
        conform_ir::npy::write_npy(&p, t).map_err(|e| format!("{}: {e}", p.display()))?;
    }
    let report = crate::inspect::inspect(&loc.model).map_err(|e| e.to_string())?;
    let repro = format!("conform check {} --engine {engine}", dir.display());
    let manifest = json!({
        "name": dir.file_name().map(|n| n.to_string_lossy().into_owned()),
        "description": format!("localized {check} divergence of {engine}: first diverging unit, re-anchored on the reference INT8 run"),
        "form": report.form,
        "inputs": loc.inputs.iter().map(|t| json!({"shape": t.shape, "element_type": "f32"})).collect::<Vec<_>>(),
        "outputs": outs.iter().map(|t| json!({"shape": t.shape, "element_type": t.element_type.ir_name()})).collect::<Vec<_>>(),
        "op_counts": report.ops,
        "descriptor": descriptor,
        "seed": 0,
        "engines": [engine, "reference:int8"],
        "check": check,
        "classification": loc.classification,
        "message": loc.detail,
        "repro": repro,
    });
    let text = serde_json::to_string_pretty(&manifest).map_err(|e| e.to_string())?;
    std::fs::write(dir.join("manifest.json"), text).map_err(|e| e.to_string())?;
    Ok((dir, repro))
}

/// A comparator for the optimized engine on one ISA variant against the reference INT8 mode, bit
/// for bit (`vs-reference-int8`).
pub fn optimized_vs_reference(
    isa: &str,
) -> impl FnMut(ModelRef<'_>, &[Tensor]) -> Result<Option<(String, String)>, String> {
    let isa = isa.to_string();
    move |m: ModelRef<'_>, feeds: &[Tensor]| {
        // The configuration `check` builds (all threads), so each unit runs the kernels the whole
        // model ran.
        let eng =
            crate::engine::OptimizedEngine { isa: isa.clone(), threads: None, zero_point: ZeroPointPolicy::Exact };
        let opts = RunOptions { mode: Mode::Int8(ZeroPointPolicy::Exact), max_memory: None, keep_values: false };
        let Ok(want) = reference::run(m.model, feeds, &opts) else { return Ok(None) };
        let Ok(plan) = eng.compile(m.model) else { return Ok(None) };
        let got = match plan.run(feeds) {
            Ok(o) => o.outputs,
            Err(e) => return Ok(Some(("engine-error".into(), e.to_string()))),
        };
        let r = crate::check::oracle::compare_outputs(
            "vs-reference-int8",
            vec![format!("optimized:{isa}"), "reference:int8".into()],
            &got,
            &want.outputs,
            &vec![Some(0.0); want.outputs.len()],
        );
        if r.status != crate::check::result::Status::Failed {
            return Ok(None);
        }
        let (label, summary) = crate::check::oracle::classify_bit_exact(m.model, feeds, &got, &want.outputs);
        Ok(Some((label.as_str().to_string(), format!("{}; {summary}", r.detail))))
    }
}

/// A comparator for an external engine (`cpu-vs-reference`, classified): diverges when the check
/// fails with a confirmed label. A sub-IR the plugin refuses (`engine-error`) counts only when the
/// whole model failed that way (`engine_errors`): cutting a model can give a plugin graphs it
/// never compiles otherwise (a Parameter where it expects a constant), which is not the mismatch
/// being localized.
pub fn external_vs_reference<'a>(
    engine: &'a mut dyn crate::engine::Engine,
    engine_errors: bool,
) -> impl FnMut(ModelRef<'_>, &[Tensor]) -> Result<Option<(String, String)>, String> + 'a {
    move |m: ModelRef<'_>, feeds: &[Tensor]| {
        let r = crate::check::external::check(engine, m, feeds, None);
        let label = r.classification.as_deref();
        let confirmed = r.status == crate::check::result::Status::Failed
            && label != Some(Label::ImplementationDefinedInput.as_str())
            && (engine_errors || label != Some("engine-error"));
        Ok(confirmed.then(|| (r.classification.unwrap_or_default(), r.detail)))
    }
}
