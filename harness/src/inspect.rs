//! `conform inspect`: what an IR holds — op counts by IR type string, every FakeQuantize with its
//! levels and ranges, the weight form of every weighted op and of the model, and the weight bytes.

use crate::error::CliError;
use crate::table::Table;
use conform_ir::forms::{self, WeightSummary};
use conform_ir::shape_infer;
use conform_ir::{Dim, IrError, Model, PartialShape};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// One FakeQuantize layer.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FqInfo {
    /// Layer name.
    pub name: String,
    /// The `levels` attribute.
    pub levels: u64,
    /// Declared shapes of inputs 1..=4 (input_low, input_high, output_low, output_high); a dynamic
    /// dimension is written as a string (`"-1"`, `"1..10"`).
    pub range_shapes: Vec<Vec<Value>>,
    /// Whether each of the four ranges is a constant (a Const, possibly through Convert/Reshape).
    pub constant_ranges: Vec<bool>,
}

/// One weighted op.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct WeightedOpInfo {
    /// Layer name.
    pub name: String,
    /// Layer type.
    #[serde(rename = "type")]
    pub op_type: String,
    /// Weight form (`expanded`, `compressed-fq`, `compressed-dq`, `none`, or `mixed`).
    pub form: String,
    /// Element type of the stored weight data.
    pub element_type: String,
    /// Input indices that carry weights.
    pub weight_inputs: Vec<usize>,
    /// Number of weight elements.
    pub elements: u64,
}

/// Weight bytes of the model.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct WeightsInfo {
    /// Weight data bytes by stored element type.
    pub by_element_type: BTreeMap<String, u64>,
    /// Weight data bytes (integer or fp weight data only).
    pub stored_bytes: u64,
    /// Bytes of the scales, zero points and ranges of the weight subgraphs.
    pub quant_param_bytes: u64,
    /// `quant_param_bytes` by element type.
    pub quant_params_by_element_type: BTreeMap<String, u64>,
    /// Weight elements × 4.
    pub fp32_equivalent_bytes: u64,
    /// `stored_bytes / fp32_equivalent_bytes`; null without weights.
    pub ratio: Option<f64>,
}

/// The whole `inspect --json` object.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct InspectReport {
    /// The `.xml` inspected.
    pub model: String,
    /// `<net name>`.
    pub name: String,
    /// 10 or 11.
    pub ir_version: u32,
    /// Layer count by IR type string (`Const`, `ReLU`, ...).
    pub ops: BTreeMap<String, u64>,
    /// Every FakeQuantize, in file order.
    pub fake_quantize: Vec<FqInfo>,
    /// Every weighted op, in file order.
    pub weighted_ops: Vec<WeightedOpInfo>,
    /// The model's weight form.
    pub form: String,
    /// Weight bytes.
    pub weights: WeightsInfo,
}

fn shape_json(shape: &PartialShape) -> Vec<Value> {
    shape
        .0
        .iter()
        .map(|d| match d {
            Dim::Static(v) => Value::from(*v),
            other => Value::from(other.to_string()),
        })
        .collect()
}

/// Inspects a model.
pub fn inspect(model: &Model) -> Result<InspectReport, CliError> {
    let path = model.source().map(|p| p.to_path_buf()).unwrap_or_default();
    // Declared port dims that contradict shape inference (or each other) mean a corrupt or
    // hand-edited IR: OpenVINO re-infers them, so refuse it here, naming the layer, rather than
    // let an engine trip over it later. Ops shape inference does not know stay unchecked.
    let shapes = shape_infer::infer_shapes(model)?;
    shape_infer::check_declared_shapes(model, &shapes)?;
    let mut ops: BTreeMap<String, u64> = BTreeMap::new();
    let mut fake_quantize = Vec::new();
    for (i, nd) in model.nodes().iter().enumerate() {
        *ops.entry(nd.op_type.clone()).or_default() += 1;
        if nd.op_type == "FakeQuantize" {
            let levels = nd.attr_u64("levels").map_err(|source| IrError::Attribute { path: path.clone(), source })?;
            // Fewer than two levels has no quantization step ((levels − 1) divides): no engine can run it.
            if levels < 2 {
                let message = format!("FakeQuantize levels={levels}: at least 2 levels are needed");
                return Err(IrError::Layer { path, layer: nd.layer_ref(), message }.into());
            }
            let range_shapes = nd.inputs.iter().skip(1).map(|p| shape_json(&p.shape)).collect();
            let constant_ranges =
                model.sources_of(i).iter().skip(1).map(|&(s, _)| forms::const_root(model, s).is_some()).collect();
            fake_quantize.push(FqInfo { name: nd.name.clone(), levels, range_shapes, constant_ranges });
        }
    }
    let summary = forms::analyze(model);
    Ok(InspectReport {
        model: path.display().to_string(),
        name: model.name.clone(),
        ir_version: model.ir_version,
        ops,
        fake_quantize,
        weighted_ops: weighted_ops(model, &summary),
        form: summary.form().name().to_string(),
        weights: WeightsInfo {
            by_element_type: summary.by_element_type.iter().map(|(k, v)| (k.ir_name().to_string(), *v)).collect(),
            stored_bytes: summary.stored_bytes,
            quant_param_bytes: summary.quant_param_bytes,
            quant_params_by_element_type: summary
                .quant_params_by_element_type
                .iter()
                .map(|(k, v)| (k.ir_name().to_string(), *v))
                .collect(),
            fp32_equivalent_bytes: summary.fp32_equivalent_bytes,
            ratio: summary.ratio(),
        },
    })
}

fn weighted_ops(model: &Model, summary: &WeightSummary) -> Vec<WeightedOpInfo> {
    summary
        .ops
        .iter()
        .map(|op| {
            let nd = model.node(op.node);
            WeightedOpInfo {
                name: nd.name.clone(),
                op_type: nd.op_type.clone(),
                form: op.form().name().to_string(),
                element_type: op.element_type().map(|e| e.ir_name().to_string()).unwrap_or_default(),
                weight_inputs: op.slots.iter().map(|s| s.input).collect(),
                elements: op.slots.iter().map(|s| s.elements).sum(),
            }
        })
        .collect()
}

/// The human-readable form of a report.
pub fn render(r: &InspectReport) -> String {
    let mut out = String::new();
    out.push_str(&format!("model      {}\nname       {}\nIR version {}\n\n", r.model, r.name, r.ir_version));
    let mut t = Table::new(&["op type", "count"]);
    for (k, v) in &r.ops {
        t.row(vec![k.clone(), v.to_string()]);
    }
    out.push_str(&t.render());
    if !r.fake_quantize.is_empty() {
        out.push('\n');
        let mut t = Table::new(&["FakeQuantize", "levels", "range shapes (il, ih, ol, oh)", "constant ranges"]);
        for fq in &r.fake_quantize {
            let shapes: Vec<String> = fq
                .range_shapes
                .iter()
                .map(|s| {
                    format!("[{}]", s.iter().map(|d| d.to_string().replace('"', "")).collect::<Vec<_>>().join(","))
                })
                .collect();
            let consts: Vec<&str> = fq.constant_ranges.iter().map(|&c| if c { "yes" } else { "no" }).collect();
            t.row(vec![fq.name.clone(), fq.levels.to_string(), shapes.join(" "), consts.join(" ")]);
        }
        out.push_str(&t.render());
    }
    if !r.weighted_ops.is_empty() {
        out.push('\n');
        let mut t = Table::new(&["weighted op", "type", "form", "element type", "elements"]);
        for w in &r.weighted_ops {
            t.row(vec![
                w.name.clone(),
                w.op_type.clone(),
                w.form.clone(),
                w.element_type.clone(),
                w.elements.to_string(),
            ]);
        }
        out.push_str(&t.render());
    }
    let by: Vec<String> = r.weights.by_element_type.iter().map(|(k, v)| format!("{k} {v}")).collect();
    out.push_str(&format!(
        "\nform {}\nweights: stored {} bytes ({}), quantization parameters {} bytes, fp32 equivalent {} bytes, ratio {}\n",
        r.form,
        r.weights.stored_bytes,
        if by.is_empty() { "none".to_string() } else { by.join(", ") },
        r.weights.quant_param_bytes,
        r.weights.fp32_equivalent_bytes,
        r.weights.ratio.map(|x| format!("{x:.4}")).unwrap_or_else(|| "-".into())
    ));
    out
}
