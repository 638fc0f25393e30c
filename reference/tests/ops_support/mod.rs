//! Shared helpers of the op-family tests: build a one-layer model and evaluate the layer on given
//! input values through the op dispatch, as the interpreter does.
#![allow(dead_code)]

use conform_ir::{ElementType, Model, ModelParts, Node, PartialShape, Port, Tensor, TensorData};
use reference::ops::{self, OpCtx};
use reference::RefError;

/// A layer of `op_type`/`version` with `<data>` attributes and `outputs` output ports.
pub fn node(op_type: &str, version: &str, attrs: &[(&str, &str)], outputs: usize) -> Node {
    Node {
        id: "1".into(),
        name: format!("test_{op_type}"),
        op_type: op_type.into(),
        version: version.into(),
        attrs: attrs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        inputs: Vec::new(),
        outputs: (0..outputs)
            .map(|i| Port {
                id: i as u32,
                precision: None,
                shape: PartialShape::default(),
                names: Vec::new(),
                other_attrs: Vec::new(),
                rt_info: None,
            })
            .collect(),
        rt_info: None,
        constant: None,
    }
}

/// Evaluates the layer on `inputs`.
pub fn eval(node: Node, inputs: &[Tensor]) -> Result<Vec<Tensor>, RefError> {
    let model =
        Model::from_parts(ModelParts { name: "t".into(), ir_version: 11, nodes: vec![node], ..Default::default() })
            .expect("a one-layer model is valid");
    let refs: Vec<&Tensor> = inputs.iter().collect();
    let ctx = OpCtx { model: &model, index: 0, node: model.node(0), inputs: &refs };
    ops::evaluate(&ctx)
}

/// Evaluates a single-output layer, panicking with the error on failure.
pub fn eval1(node: Node, inputs: &[Tensor]) -> Tensor {
    let mut outs = eval(node, inputs).unwrap_or_else(|e| panic!("evaluation failed: {e}"));
    assert_eq!(outs.len(), 1, "one output expected");
    outs.remove(0)
}

/// An f32 tensor.
pub fn f32t(shape: &[usize], data: &[f32]) -> Tensor {
    Tensor::from_f32(shape.to_vec(), data.to_vec()).expect("shape fits data")
}

/// An i64 tensor.
pub fn i64t(shape: &[usize], data: &[i64]) -> Tensor {
    Tensor::from_i64(shape.to_vec(), data.to_vec()).expect("shape fits data")
}

/// An i32 tensor.
pub fn i32t(shape: &[usize], data: &[i32]) -> Tensor {
    Tensor::new(ElementType::I32, shape.to_vec(), TensorData::I32(data.to_vec())).expect("shape fits data")
}

/// The f32 data of a tensor (panics if it is not f32).
pub fn f32s(t: &Tensor) -> &[f32] {
    t.as_f32().expect("an f32 tensor")
}

/// 0, 1, 2, ... as f32, in `shape`.
pub fn iota(shape: &[usize]) -> Tensor {
    let n: usize = shape.iter().product();
    f32t(shape, &(0..n).map(|i| i as f32).collect::<Vec<_>>())
}

/// Asserts element-wise closeness within `ulps` units in the last place (bit-distance on f32).
pub fn assert_ulps(got: &[f32], want: &[f32], ulps: u32) {
    assert_eq!(got.len(), want.len(), "length");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let d = (g.to_bits() as i64 - w.to_bits() as i64).unsigned_abs();
        assert!(d <= ulps as u64 || g == w, "element {i}: got {g}, want {w} ({d} ulps)");
    }
}
