//! Test helper: evaluates one op on given input tensors through `reference::ops::evaluate`, by
//! building a model of one Parameter per input feeding the op.

#![allow(dead_code)]

use conform_ir::{Edge, Model, ModelParts, Node, PartialShape, Port, Tensor};
use reference::ops::{evaluate, OpCtx};
use reference::RefError;
use std::sync::Arc;

fn port(id: u32, shape: &[usize]) -> Port {
    Port {
        id,
        precision: None,
        shape: PartialShape::from_static(shape),
        names: Vec::new(),
        other_attrs: Vec::new(),
        rt_info: None,
    }
}

fn node(
    id: usize,
    op_type: &str,
    version: &str,
    attrs: &[(&str, &str)],
    inputs: Vec<Port>,
    outputs: Vec<Port>,
) -> Node {
    Node {
        id: id.to_string(),
        name: format!("{op_type}_{id}"),
        op_type: op_type.to_string(),
        version: version.to_string(),
        attrs: attrs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        inputs,
        outputs,
        rt_info: None,
        constant: None,
    }
}

/// Runs `op_type` (opset `version`) with `attrs` on `inputs`, declaring `n_outputs` outputs.
pub fn eval_op(
    op_type: &str,
    version: &str,
    attrs: &[(&str, &str)],
    inputs: &[Tensor],
    n_outputs: usize,
) -> Result<Vec<Tensor>, RefError> {
    let mut nodes = Vec::new();
    let mut edges = Vec::new();
    for (i, t) in inputs.iter().enumerate() {
        nodes.push(node(i, "Parameter", "opset1", &[("element_type", "f32")], vec![], vec![port(0, &t.shape)]));
        edges.push(Edge { from_node: i, from_output: 0, to_node: inputs.len(), to_input: i });
    }
    let in_ports = inputs.iter().enumerate().map(|(i, t)| port(i as u32, &t.shape)).collect();
    let out_ports = (0..n_outputs).map(|o| port((inputs.len() + o) as u32, &[])).collect();
    nodes.push(node(inputs.len(), op_type, version, attrs, in_ports, out_ports));
    let model = Model::from_parts(ModelParts {
        name: "t".into(),
        ir_version: 11,
        nodes,
        edges,
        rt_info: None,
        weights: Arc::new(Vec::new()),
        source: None,
    })
    .expect("test model is valid");
    let refs: Vec<&Tensor> = inputs.iter().collect();
    let idx = inputs.len();
    let ctx = OpCtx { model: &model, index: idx, node: model.node(idx), inputs: &refs };
    evaluate(&ctx)
}

/// An f32 tensor.
pub fn f(shape: &[usize], v: &[f32]) -> Tensor {
    Tensor::from_f32(shape.to_vec(), v.to_vec()).expect("shape matches")
}

/// An i64 tensor.
pub fn i(shape: &[usize], v: &[i64]) -> Tensor {
    Tensor::from_i64(shape.to_vec(), v.to_vec()).expect("shape matches")
}

/// Runs a single-output op and returns (shape, f32 values).
pub fn run1(op_type: &str, version: &str, attrs: &[(&str, &str)], inputs: &[Tensor]) -> (Vec<usize>, Vec<f32>) {
    let out = eval_op(op_type, version, attrs, inputs, 1).expect("op runs");
    let t = out.into_iter().next().expect("one output");
    let v = t.as_f32().expect("f32 output").to_vec();
    (t.shape, v)
}

/// Asserts bitwise equality of f32 slices (NaN equal to NaN, +0 distinct from −0).
pub fn assert_bits(actual: &[f32], expected: &[f32]) {
    assert_eq!(actual.len(), expected.len(), "lengths: {actual:?} vs {expected:?}");
    for (k, (a, e)) in actual.iter().zip(expected).enumerate() {
        let same = a.to_bits() == e.to_bits() || (a.is_nan() && e.is_nan());
        assert!(same, "element {k}: got {a:?}, expected {e:?} (all: {actual:?})");
    }
}
