//! Weight forms and weight-byte accounting, found from the graph's structure alone (no arithmetic
//! on any value).
//!
//! A *weighted op* is an op with a weight input (Convolution and its relatives, MatMul with a
//! constant operand, the recurrent sequences and cells). Walking up from each weight input, past
//! shape-only ops (Reshape, Transpose, Squeeze, Unsqueeze) and float-to-float Converts, the weight
//! subgraph has one of the forms of CONTRACT.md and SPEC.md §0.2:
//!
//! | form | subgraph |
//! |---|---|
//! | `expanded` | fp Const [→ Convert] → FakeQuantize (four constant ranges) |
//! | `compressed-fq` | integer Const → Convert → FakeQuantize (Model Optimizer 2020.2–2021.2, SPEC §2.2) |
//! | `compressed-dq` | integer Const → Convert → [Subtract(zero point)] → Multiply(scale) (SPEC §2.1) |
//! | `none` | a plain Const (fp weights, possibly through a Convert) |
//!
//! An input whose subgraph does not end in a Const is an activation, not a weight (a MatMul of two
//! activations has no weights). The model's form is the common form of its weighted ops, `mixed`
//! when they differ, `none` when it has none.
//!
//! Bytes are counted per Const layer (a Const layer shared by two weighted ops counts once; two
//! Const layers pointing at the same deduplicated blob range count twice, as they are two tensors):
//! `stored` = the weight data Consts only; `quant_param` = the Consts of the FakeQuantize ranges,
//! zero points and scales of those weight subgraphs; `fp32_equivalent` = weight elements × 4.

use crate::element::ElementType;
use crate::model::Model;
use crate::shape::element_count;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// The form of one weight subgraph, or (as `Mixed`) of an op or model whose weights differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum WeightForm {
    /// fp Const [→ Convert] → FakeQuantize.
    Expanded,
    /// integer Const → Convert → FakeQuantize.
    CompressedFq,
    /// integer Const → Convert → [Subtract] → Multiply.
    CompressedDq,
    /// Plain weights, no quantization subgraph.
    None,
    /// Only for an op or a model: its weight subgraphs have different forms.
    Mixed,
}

impl WeightForm {
    /// The name used by `inspect`, `compress` and CONTRACT.md.
    pub fn name(self) -> &'static str {
        match self {
            WeightForm::Expanded => "expanded",
            WeightForm::CompressedFq => "compressed-fq",
            WeightForm::CompressedDq => "compressed-dq",
            WeightForm::None => "none",
            WeightForm::Mixed => "mixed",
        }
    }

    /// Parses a CONTRACT.md name, and the older names the shared corpus manifests use
    /// (`compressed` = compressed-dq, `compressed-legacy` and `compressed-fq-u8` = compressed-fq,
    /// `fp16-weights` = none).
    pub fn from_name(s: &str) -> Option<WeightForm> {
        Some(match s {
            "expanded" => WeightForm::Expanded,
            "compressed-fq" | "compressed-legacy" | "compressed-fq-u8" => WeightForm::CompressedFq,
            "compressed-dq" | "compressed" => WeightForm::CompressedDq,
            "none" | "fp16-weights" => WeightForm::None,
            "mixed" => WeightForm::Mixed,
            _ => return None,
        })
    }

    /// The form of a set of forms: the common one, `Mixed` when they differ, `None` when empty.
    pub fn combine(forms: impl IntoIterator<Item = WeightForm>) -> WeightForm {
        let mut acc: Option<WeightForm> = None;
        for f in forms {
            acc = match acc {
                None => Some(f),
                Some(a) if a == f => Some(a),
                Some(_) => return WeightForm::Mixed,
            };
        }
        acc.unwrap_or(WeightForm::None)
    }
}

impl fmt::Display for WeightForm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One weight input of a weighted op and the subgraph that produces it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeightSlot {
    /// Input index of the weighted op.
    pub input: usize,
    /// The form of the subgraph.
    pub form: WeightForm,
    /// Node index of the Const holding the weight data.
    pub data_const: usize,
    /// Element type of the weight data as stored.
    pub element_type: ElementType,
    /// Number of weight elements.
    pub elements: u64,
    /// Bytes of weight data, `ceil(elements · bits / 8)`.
    pub stored_bytes: u64,
    /// The FakeQuantize of an `expanded` or `compressed-fq` subgraph.
    pub fake_quantize: Option<usize>,
    /// Node indices of the Consts holding ranges, zero points and scales of this subgraph.
    pub quant_param_consts: Vec<usize>,
}

/// A weighted op and its weight inputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeightedOp {
    /// Node index of the op.
    pub node: usize,
    /// Its weight inputs (at least one).
    pub slots: Vec<WeightSlot>,
}

impl WeightedOp {
    /// The op's form: the common form of its slots, or `Mixed`.
    pub fn form(&self) -> WeightForm {
        WeightForm::combine(self.slots.iter().map(|s| s.form))
    }

    /// The element type of the weight data (of the first slot; recurrent ops store W and R alike).
    pub fn element_type(&self) -> Option<ElementType> {
        self.slots.first().map(|s| s.element_type)
    }
}

/// The weight forms and weight bytes of a model.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct WeightSummary {
    /// Weighted ops in file order.
    pub ops: Vec<WeightedOp>,
    /// Weight data bytes by stored element type (each Const layer once).
    pub by_element_type: BTreeMap<ElementType, u64>,
    /// Quantization-parameter bytes by element type (each Const layer once).
    pub quant_params_by_element_type: BTreeMap<ElementType, u64>,
    /// Sum of `by_element_type`.
    pub stored_bytes: u64,
    /// Sum of `quant_params_by_element_type`.
    pub quant_param_bytes: u64,
    /// Weight elements × 4.
    pub fp32_equivalent_bytes: u64,
}

impl WeightSummary {
    /// The model's form: the common form of its weighted ops, `Mixed`, or `None` without any.
    pub fn form(&self) -> WeightForm {
        WeightForm::combine(self.ops.iter().map(WeightedOp::form))
    }

    /// `stored_bytes / fp32_equivalent_bytes`, `None` without weights.
    pub fn ratio(&self) -> Option<f64> {
        (self.fp32_equivalent_bytes > 0).then(|| self.stored_bytes as f64 / self.fp32_equivalent_bytes as f64)
    }
}

/// The weight inputs of an op type, by input index. MatMul lists both operands: only one whose
/// subgraph ends in a Const is a weight. Biases (`B` of the recurrent ops) are not weights.
pub fn weight_inputs(op_type: &str) -> &'static [usize] {
    match op_type {
        // data, filters
        "Convolution"
        | "GroupConvolution"
        | "ConvolutionBackpropData"
        | "GroupConvolutionBackpropData"
        | "BinaryConvolution" => &[1],
        // data, offsets, filters, [mask]
        "DeformableConvolution" => &[2],
        "MatMul" => &[0, 1],
        // X, H, [C], [sequence_lengths], W, R, B
        "LSTMSequence" | "GRUSequence" | "RNNSequence" => &[4, 5],
        "LSTMCell" => &[3, 4],
        "GRUCell" | "RNNCell" => &[2, 3],
        _ => &[],
    }
}

/// Ops that only move or reshape data: a weight passes through them unchanged in value.
fn is_shape_only(op_type: &str) -> bool {
    matches!(op_type, "Reshape" | "Transpose" | "Squeeze" | "Unsqueeze")
}

fn convert_types(model: &Model, node: usize) -> Option<(Option<ElementType>, ElementType)> {
    let nd = model.node(node);
    if nd.op_type != "Convert" {
        return None;
    }
    let to = nd.attr_element_type("destination_type").ok()?;
    let (src, _) = *model.sources_of(node).first()?;
    Some((output_type(model, src), to))
}

/// The element type a node's first output carries, where it is evident from the node itself.
fn output_type(model: &Model, node: usize) -> Option<ElementType> {
    let nd = model.node(node);
    if let Some(c) = nd.constant {
        return Some(c.element_type);
    }
    if nd.op_type == "Convert" {
        return nd.attr_element_type("destination_type").ok();
    }
    nd.outputs.first().and_then(|p| p.element_type())
}

/// Walks up from a node past shape-only ops (data input 0) and float-to-float Converts.
fn skip_transparent(model: &Model, mut node: usize) -> usize {
    // Bounded by the node count: the graph is acyclic, so the walk cannot revisit a node.
    for _ in 0..model.nodes().len() {
        let nd = model.node(node);
        let pass = is_shape_only(&nd.op_type)
            || matches!(convert_types(model, node), Some((Some(from), to)) if from.is_float() && to.is_float());
        match model.sources_of(node).first() {
            Some(&(src, _)) if pass => node = src,
            _ => break,
        }
    }
    node
}

/// The Const a node's value comes from when it is a Const, or a Const through shape-only ops and
/// Converts (a constant-foldable parameter such as an f16 scale decompressed to f32).
pub fn const_root(model: &Model, node: usize) -> Option<usize> {
    let mut node = node;
    for _ in 0..model.nodes().len() {
        let nd = model.node(node);
        if nd.is_const() {
            return Some(node);
        }
        if !(is_shape_only(&nd.op_type) || nd.op_type == "Convert") {
            return None;
        }
        node = model.sources_of(node).first()?.0;
    }
    None
}

/// The Const of a value that is an integer Const seen through one Convert (the data of both
/// compressed forms).
fn integer_data(model: &Model, node: usize) -> Option<usize> {
    let nd = model.node(node);
    if nd.op_type != "Convert" {
        return None;
    }
    let src = skip_transparent_shape(model, model.sources_of(node).first()?.0);
    let c = model.node(src).constant?;
    c.element_type.is_integer().then_some(src)
}

/// Walks up past shape-only ops only.
fn skip_transparent_shape(model: &Model, mut node: usize) -> usize {
    for _ in 0..model.nodes().len() {
        match model.sources_of(node).first() {
            Some(&(src, _)) if is_shape_only(&model.node(node).op_type) => node = src,
            _ => break,
        }
    }
    node
}

fn const_elements(model: &Model, node: usize) -> (ElementType, u64, u64) {
    let nd = model.node(node);
    // Callers pass Const nodes only; a Const always has a view.
    let Some(c) = nd.constant else { return (ElementType::U8, 0, 0) };
    let from_shape = nd
        .outputs
        .first()
        .and_then(|p| p.shape.to_static())
        .and_then(|s| element_count(&s))
        .and_then(|n| u64::try_from(n).ok());
    // Without a static shape (never in a valid IR), the declared size bounds the element count.
    let elements = from_shape.unwrap_or_else(|| c.size.saturating_mul(8) / c.element_type.bits());
    let bytes = c.element_type.storage_bytes(elements).unwrap_or(c.size);
    (c.element_type, elements, bytes)
}

fn slot(model: &Model, input: usize, form: WeightForm, data: usize, fq: Option<usize>, qp: Vec<usize>) -> WeightSlot {
    let (element_type, elements, stored_bytes) = const_elements(model, data);
    WeightSlot {
        input,
        form,
        data_const: data,
        element_type,
        elements,
        stored_bytes,
        fake_quantize: fq,
        quant_param_consts: qp,
    }
}

/// Classifies the subgraph producing input `input` of node `node`; `None` when it is not a weight.
pub fn classify_input(model: &Model, node: usize, input: usize) -> Option<WeightSlot> {
    let &(src, _) = model.sources_of(node).get(input)?;
    let top = skip_transparent(model, src);
    let top_node = model.node(top);
    match top_node.op_type.as_str() {
        "Const" => Some(slot(model, input, WeightForm::None, top, None, Vec::new())),
        "Convert" => {
            let c = const_root(model, top)?;
            Some(slot(model, input, WeightForm::None, c, None, Vec::new()))
        }
        "FakeQuantize" => {
            let srcs = model.sources_of(top);
            if srcs.len() != 5 {
                return None;
            }
            let ranges: Option<Vec<usize>> = srcs[1..].iter().map(|&(s, _)| const_root(model, s)).collect();
            let ranges = ranges?;
            let data = srcs[0].0;
            if let Some(c) = integer_data(model, data) {
                return Some(slot(model, input, WeightForm::CompressedFq, c, Some(top), ranges));
            }
            let data = skip_transparent(model, data);
            let c = model.node(data).constant?;
            c.element_type.is_float().then(|| slot(model, input, WeightForm::Expanded, data, Some(top), ranges))
        }
        "Multiply" => {
            let srcs = model.sources_of(top);
            if srcs.len() != 2 {
                return None;
            }
            // The scale is either operand; the other one is the (zero-point-shifted) integer data.
            [(0, 1), (1, 0)].into_iter().find_map(|(d, s)| {
                let scale = const_root(model, srcs[s].0)?;
                let (data, zp) = dq_data(model, srcs[d].0)?;
                let mut qp: Vec<usize> = zp.into_iter().collect();
                qp.push(scale);
                Some(slot(model, input, WeightForm::CompressedDq, data, None, qp))
            })
        }
        _ => None,
    }
}

/// The integer data Const and the zero-point Const of `Convert → [Subtract(zp)]`.
fn dq_data(model: &Model, node: usize) -> Option<(usize, Option<usize>)> {
    let node = skip_transparent_shape(model, node);
    if let Some(c) = integer_data(model, node) {
        return Some((c, None));
    }
    let nd = model.node(node);
    if nd.op_type != "Subtract" {
        return None;
    }
    let srcs = model.sources_of(node);
    let data = integer_data(model, skip_transparent_shape(model, srcs.first()?.0))?;
    let zp = const_root(model, srcs.get(1)?.0)?;
    Some((data, Some(zp)))
}

/// Finds every weighted op of the model, its weight forms and the weight bytes.
pub fn analyze(model: &Model) -> WeightSummary {
    let mut summary = WeightSummary::default();
    let mut counted_data = BTreeSet::new();
    let mut counted_params = BTreeSet::new();
    for (node, nd) in model.nodes().iter().enumerate() {
        let slots: Vec<WeightSlot> =
            weight_inputs(&nd.op_type).iter().filter_map(|&input| classify_input(model, node, input)).collect();
        if slots.is_empty() {
            continue;
        }
        for s in &slots {
            if counted_data.insert(s.data_const) {
                *summary.by_element_type.entry(s.element_type).or_default() += s.stored_bytes;
                summary.stored_bytes += s.stored_bytes;
                summary.fp32_equivalent_bytes += s.elements.saturating_mul(4);
            }
            for &q in &s.quant_param_consts {
                if counted_params.insert(q) {
                    let (et, _, bytes) = const_elements(model, q);
                    *summary.quant_params_by_element_type.entry(et).or_default() += bytes;
                    summary.quant_param_bytes += bytes;
                }
            }
        }
        summary.ops.push(WeightedOp { node, slots });
    }
    summary
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ConstView, Edge, ModelParts, Node, Port};
    use crate::shape::PartialShape;
    use std::sync::Arc;

    /// A tiny graph builder: nodes get ids in insertion order; inputs are wired by `connect`.
    struct G {
        nodes: Vec<Node>,
        edges: Vec<Edge>,
        blob_len: u64,
    }

    impl G {
        fn new() -> G {
            G { nodes: Vec::new(), edges: Vec::new(), blob_len: 0 }
        }

        fn node(&mut self, op: &str, attrs: &[(&str, &str)], inputs: &[usize], out: &[usize]) -> usize {
            let id = self.nodes.len();
            let mut ports: Vec<Port> = Vec::new();
            for (k, _) in inputs.iter().enumerate() {
                ports.push(port(k as u32, &[]));
            }
            let n = inputs.len() as u32;
            self.nodes.push(Node {
                id: id.to_string(),
                name: format!("n{id}"),
                op_type: op.to_string(),
                version: "opset1".into(),
                attrs: attrs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
                inputs: ports,
                outputs: if op == "Result" { vec![] } else { vec![port(n, out)] },
                rt_info: None,
                constant: None,
            });
            for (k, &src) in inputs.iter().enumerate() {
                self.edges.push(Edge { from_node: src, from_output: 0, to_node: id, to_input: k });
            }
            id
        }

        fn konst(&mut self, et: ElementType, shape: &[usize]) -> usize {
            let n: usize = shape.iter().product();
            let size = et.storage_bytes(n as u64).unwrap_or(0);
            let id = self.node("Const", &[("element_type", et.ir_name())], &[], shape);
            self.nodes[id].constant = Some(ConstView { element_type: et, offset: self.blob_len, size });
            self.blob_len += size;
            id
        }

        fn convert(&mut self, x: usize, to: ElementType) -> usize {
            self.node("Convert", &[("destination_type", to.ir_name())], &[x], &[])
        }

        fn fq(&mut self, x: usize, range_shape: &[usize]) -> usize {
            let r: Vec<usize> = (0..4).map(|_| self.konst(ElementType::F32, range_shape)).collect();
            self.node("FakeQuantize", &[("levels", "255")], &[x, r[0], r[1], r[2], r[3]], &[])
        }

        fn model(self) -> Model {
            let parts = ModelParts {
                name: "t".into(),
                ir_version: 11,
                nodes: self.nodes,
                edges: self.edges,
                rt_info: None,
                weights: Arc::new(vec![0; self.blob_len as usize]),
                source: None,
            };
            match Model::from_parts(parts) {
                Ok(m) => m,
                Err(e) => panic!("test graph invalid: {e}"),
            }
        }
    }

    fn port(id: u32, shape: &[usize]) -> Port {
        Port {
            id,
            precision: None,
            shape: PartialShape::from_static(shape),
            names: vec![],
            other_attrs: vec![],
            rt_info: None,
        }
    }

    fn conv(g: &mut G, x: usize, w: usize) -> usize {
        let c = g.node("Convolution", &[], &[x, w], &[]);
        g.node("Result", &[], &[c], &[]);
        c
    }

    #[test]
    fn expanded_conv_counts_weights_and_ranges() {
        let mut g = G::new();
        let x = g.node("Parameter", &[], &[], &[1, 4, 8, 8]);
        let w = g.konst(ElementType::F32, &[8, 4, 3, 3]);
        let fq = g.fq(w, &[8, 1, 1, 1]);
        conv(&mut g, x, fq);
        let s = analyze(&g.model());
        assert_eq!(s.ops.len(), 1);
        assert_eq!(s.form(), WeightForm::Expanded);
        assert_eq!(s.ops[0].slots[0].fake_quantize, Some(fq));
        // 288 f32 weights; four per-channel ranges of 8 f32 each.
        assert_eq!(s.stored_bytes, 288 * 4);
        assert_eq!(s.by_element_type.get(&ElementType::F32), Some(&1152));
        assert_eq!(s.quant_param_bytes, 4 * 8 * 4);
        assert_eq!(s.fp32_equivalent_bytes, 1152);
        assert_eq!(s.ratio(), Some(1.0));
    }

    #[test]
    fn f16_weights_through_convert_are_expanded_with_f16_data() {
        let mut g = G::new();
        let x = g.node("Parameter", &[], &[], &[1, 4, 8, 8]);
        let w = g.konst(ElementType::F16, &[8, 4, 3, 3]);
        let cv = g.convert(w, ElementType::F32);
        let fq = g.fq(cv, &[]);
        conv(&mut g, x, fq);
        let s = analyze(&g.model());
        assert_eq!(s.form(), WeightForm::Expanded);
        assert_eq!(s.ops[0].element_type(), Some(ElementType::F16));
        assert_eq!(s.stored_bytes, 288 * 2);
        assert_eq!(s.fp32_equivalent_bytes, 288 * 4);
        assert_eq!(s.ratio(), Some(0.5));
    }

    #[test]
    fn integer_const_convert_fq_is_compressed_fq() {
        let mut g = G::new();
        let x = g.node("Parameter", &[], &[], &[1, 4, 8, 8]);
        let w = g.konst(ElementType::U8, &[8, 4, 3, 3]);
        let cv = g.convert(w, ElementType::F32);
        let fq = g.fq(cv, &[]);
        conv(&mut g, x, fq);
        let s = analyze(&g.model());
        assert_eq!(s.form(), WeightForm::CompressedFq);
        assert_eq!(s.by_element_type.get(&ElementType::U8), Some(&288));
        assert_eq!(s.quant_param_bytes, 16);
        assert_eq!(s.ratio(), Some(0.25));
    }

    #[test]
    fn dq_with_and_without_subtract_and_i4_packing() {
        let mut g = G::new();
        let x = g.node("Parameter", &[], &[], &[1, 4, 8, 8]);
        // Without a Subtract: i8 → Convert → Multiply(scale [8,1,1,1]).
        let w = g.konst(ElementType::I8, &[8, 4, 3, 3]);
        let cv = g.convert(w, ElementType::F32);
        let sc = g.konst(ElementType::F32, &[8, 1, 1, 1]);
        let m = g.node("Multiply", &[], &[cv, sc], &[]);
        let c1 = conv(&mut g, x, m);
        // With a u8 zero point through a Convert, scale first: i4 (3 elements → 2 bytes).
        let w2 = g.konst(ElementType::I4, &[3, 1, 1, 1]);
        let cv2 = g.convert(w2, ElementType::F32);
        let zp = g.konst(ElementType::U8, &[3, 1, 1, 1]);
        let zpc = g.convert(zp, ElementType::F32);
        let sub = g.node("Subtract", &[], &[cv2, zpc], &[]);
        let sc2 = g.konst(ElementType::F16, &[3, 1, 1, 1]);
        let sc2c = g.convert(sc2, ElementType::F32);
        let m2 = g.node("Multiply", &[], &[sc2c, sub], &[]);
        conv(&mut g, c1, m2);
        let s = analyze(&g.model());
        assert_eq!(s.ops.len(), 2);
        assert!(s.ops.iter().all(|o| o.form() == WeightForm::CompressedDq));
        assert_eq!(s.by_element_type.get(&ElementType::I8), Some(&288));
        assert_eq!(s.by_element_type.get(&ElementType::I4), Some(&2));
        assert_eq!(s.quant_params_by_element_type.get(&ElementType::F32), Some(&32));
        assert_eq!(s.quant_params_by_element_type.get(&ElementType::U8), Some(&3));
        assert_eq!(s.quant_params_by_element_type.get(&ElementType::F16), Some(&6));
        assert_eq!(s.fp32_equivalent_bytes, (288 + 3) * 4);
    }

    #[test]
    fn plain_weights_are_none_and_mixing_forms_is_mixed() {
        let mut g = G::new();
        let x = g.node("Parameter", &[], &[], &[1, 4, 8, 8]);
        let w = g.konst(ElementType::F16, &[8, 4, 3, 3]);
        let cv = g.convert(w, ElementType::F32);
        let c1 = conv(&mut g, x, cv);
        let w2 = g.konst(ElementType::F32, &[8, 8, 1, 1]);
        let fq = g.fq(w2, &[]);
        conv(&mut g, c1, fq);
        let s = analyze(&g.model());
        assert_eq!(s.ops[0].form(), WeightForm::None);
        assert_eq!(s.ops[0].element_type(), Some(ElementType::F16));
        assert_eq!(s.ops[1].form(), WeightForm::Expanded);
        assert_eq!(s.form(), WeightForm::Mixed);
    }

    #[test]
    fn matmul_of_two_activations_has_no_weights_and_shared_weights_count_once() {
        let mut g = G::new();
        let a = g.node("Parameter", &[], &[], &[2, 4]);
        let b = g.node("Parameter", &[], &[], &[4, 2]);
        let fa = g.fq(a, &[]);
        let fb = g.fq(b, &[]);
        let mm = g.node("MatMul", &[], &[fa, fb], &[]);
        g.node("Result", &[], &[mm], &[]);
        // One weight Const (with a Reshape between) feeding two MatMuls.
        let w = g.konst(ElementType::F32, &[4, 4]);
        let shape = g.konst(ElementType::I64, &[2]);
        let r = g.node("Reshape", &[], &[w, shape], &[]);
        let m1 = g.node("MatMul", &[], &[a, r], &[]);
        let m2 = g.node("MatMul", &[], &[m1, r], &[]);
        g.node("Result", &[], &[m2], &[]);
        let s = analyze(&g.model());
        let nodes: Vec<usize> = s.ops.iter().map(|o| o.node).collect();
        assert_eq!(nodes, vec![m1, m2]);
        assert_eq!(s.form(), WeightForm::None);
        assert_eq!(s.stored_bytes, 64);
        assert_eq!(s.quant_param_bytes, 0);
    }

    #[test]
    fn model_without_weighted_ops_is_none() {
        let mut g = G::new();
        let x = g.node("Parameter", &[], &[], &[4]);
        let fq = g.fq(x, &[]);
        g.node("Result", &[], &[fq], &[]);
        let s = analyze(&g.model());
        assert!(s.ops.is_empty());
        assert_eq!(s.form(), WeightForm::None);
        assert_eq!(s.ratio(), None);
    }

    #[test]
    fn lstm_w_and_r_are_weights_and_b_is_not() {
        let mut g = G::new();
        let x = g.node("Parameter", &[], &[], &[1, 2, 3]);
        let h = g.node("Parameter", &[], &[], &[1, 1, 4]);
        let c = g.node("Parameter", &[], &[], &[1, 1, 4]);
        let len = g.konst(ElementType::I32, &[1]);
        let w = g.konst(ElementType::F32, &[1, 16, 3]);
        let r = g.konst(ElementType::F32, &[1, 16, 4]);
        let b = g.konst(ElementType::F32, &[1, 16]);
        let l = g.node("LSTMSequence", &[], &[x, h, c, len, w, r, b], &[]);
        g.node("Result", &[], &[l], &[]);
        let s = analyze(&g.model());
        assert_eq!(s.ops.len(), 1);
        let inputs: Vec<usize> = s.ops[0].slots.iter().map(|s| s.input).collect();
        assert_eq!(inputs, vec![4, 5]);
        assert_eq!(s.stored_bytes, (48 + 64) * 4);
    }

    #[test]
    fn form_names_round_trip_and_manifest_aliases() {
        for f in [
            WeightForm::Expanded,
            WeightForm::CompressedFq,
            WeightForm::CompressedDq,
            WeightForm::None,
            WeightForm::Mixed,
        ] {
            assert_eq!(WeightForm::from_name(f.name()), Some(f));
        }
        assert_eq!(WeightForm::from_name("compressed"), Some(WeightForm::CompressedDq));
        assert_eq!(WeightForm::from_name("compressed-legacy"), Some(WeightForm::CompressedFq));
        assert_eq!(WeightForm::from_name("compressed-fq-u8"), Some(WeightForm::CompressedFq));
        assert_eq!(WeightForm::from_name("fp16-weights"), Some(WeightForm::None));
        assert_eq!(WeightForm::from_name("bogus"), None);
    }
}
