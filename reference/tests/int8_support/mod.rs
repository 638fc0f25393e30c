//! A small graph builder for the INT8 tests: Parameters, Consts (stored in a weights blob as
//! OpenVINO does), ops with `<data>` attributes and declared output shapes, and Results.
#![allow(dead_code)]

use conform_ir::model::encode;
use conform_ir::{ConstView, Edge, ElementType, Model, ModelParts, Node, PartialShape, Port, TensorData};
use std::sync::Arc;

/// Builds a model node by node; every node has one output port (Result has none).
#[derive(Default)]
pub struct Graph {
    nodes: Vec<Node>,
    edges: Vec<Edge>,
    blob: Vec<u8>,
    shapes: Vec<Vec<usize>>,
}

fn port(id: usize, shape: &[usize]) -> Port {
    Port {
        id: id as u32,
        precision: None,
        shape: PartialShape::from_static(shape),
        names: Vec::new(),
        other_attrs: Vec::new(),
        rt_info: None,
    }
}

impl Graph {
    /// A new empty graph.
    pub fn new() -> Self {
        Self::default()
    }

    fn push(&mut self, op: &str, attrs: &[(&str, String)], inputs: &[usize], out: Option<&[usize]>) -> usize {
        let i = self.nodes.len();
        let in_ports = inputs.iter().enumerate().map(|(k, &s)| port(k, &self.shapes[s])).collect();
        for (k, &s) in inputs.iter().enumerate() {
            self.edges.push(Edge { from_node: s, from_output: 0, to_node: i, to_input: k });
        }
        let outputs = out.map(|o| vec![port(inputs.len(), o)]).unwrap_or_default();
        self.nodes.push(Node {
            id: i.to_string(),
            name: format!("{op}_{i}"),
            op_type: op.into(),
            version: "opset1".into(),
            attrs: attrs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect(),
            inputs: in_ports,
            outputs,
            rt_info: None,
            constant: None,
        });
        self.shapes.push(out.map(|o| o.to_vec()).unwrap_or_default());
        i
    }

    /// A Parameter of f32 data.
    pub fn param(&mut self, shape: &[usize]) -> usize {
        let s = shape.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(",");
        self.push("Parameter", &[("shape", s), ("element_type", "f32".into())], &[], Some(shape))
    }

    /// A Const of any element type.
    pub fn constant(&mut self, et: ElementType, shape: &[usize], data: TensorData) -> usize {
        let bytes = encode(et, &data);
        let offset = self.blob.len() as u64;
        self.blob.extend_from_slice(&bytes);
        let s = shape.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ");
        let i = self.push(
            "Const",
            &[("element_type", et.ir_name().into()), ("shape", s), ("offset", offset.to_string())],
            &[],
            Some(shape),
        );
        self.nodes[i].constant = Some(ConstView { element_type: et, offset, size: bytes.len() as u64 });
        i
    }

    /// An f32 Const.
    pub fn f32c(&mut self, shape: &[usize], v: &[f32]) -> usize {
        self.constant(ElementType::F32, shape, TensorData::F32(v.to_vec()))
    }

    /// A scalar f32 Const.
    pub fn scalar(&mut self, v: f32) -> usize {
        self.f32c(&[], &[v])
    }

    /// An i8 Const.
    pub fn i8c(&mut self, shape: &[usize], v: &[i8]) -> usize {
        self.constant(ElementType::I8, shape, TensorData::I8(v.to_vec()))
    }

    /// An op with attributes; its output shape is declared as `out`.
    pub fn op(&mut self, op: &str, attrs: &[(&str, &str)], inputs: &[usize], out: &[usize]) -> usize {
        let a: Vec<(&str, String)> = attrs.iter().map(|(k, v)| (*k, v.to_string())).collect();
        self.push(op, &a, inputs, Some(out))
    }

    /// The declared output shape of a node.
    pub fn shape(&self, n: usize) -> Vec<usize> {
        self.shapes[n].clone()
    }

    /// FakeQuantize of `x` with scalar ranges.
    pub fn fq(&mut self, x: usize, il: f32, ih: f32, ol: f32, oh: f32, levels: u64) -> usize {
        let r = [self.scalar(il), self.scalar(ih), self.scalar(ol), self.scalar(oh)];
        let s = self.shape(x);
        let lv = levels.to_string();
        self.op("FakeQuantize", &[("levels", &lv), ("auto_broadcast", "numpy")], &[x, r[0], r[1], r[2], r[3]], &s)
    }

    /// FakeQuantize of `x` with range Consts of the given shape.
    pub fn fq_ranges(&mut self, x: usize, shape: &[usize], r: [&[f32]; 4], levels: u64) -> usize {
        let c: Vec<usize> = r.iter().map(|v| self.f32c(shape, v)).collect();
        let s = self.shape(x);
        let lv = levels.to_string();
        self.op("FakeQuantize", &[("levels", &lv), ("auto_broadcast", "numpy")], &[x, c[0], c[1], c[2], c[3]], &s)
    }

    /// Convert to f32.
    pub fn convert(&mut self, x: usize) -> usize {
        let s = self.shape(x);
        self.op("Convert", &[("destination_type", "f32")], &[x], &s)
    }

    /// A Result.
    pub fn result(&mut self, x: usize) -> usize {
        self.push("Result", &[], &[x], None)
    }

    /// Builds the validated model.
    pub fn build(self) -> Model {
        Model::from_parts(ModelParts {
            name: "int8_test".into(),
            ir_version: 11,
            nodes: self.nodes,
            edges: self.edges,
            rt_info: None,
            weights: Arc::new(self.blob),
            source: None,
        })
        .expect("test graph is valid")
    }
}

/// The f32 data of a tensor.
pub fn f32s(t: &conform_ir::Tensor) -> Vec<f32> {
    t.to_f32_vec()
}
