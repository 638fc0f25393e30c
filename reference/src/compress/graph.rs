//! A small editable graph over a [`Model`]'s parts: add nodes next to others, rewire consumers,
//! drop what a rewrite orphaned, then rebuild a validated [`Model`] with a fresh weights blob.
//!
//! The rebuilt model is canonical so that the same rewrite of equal inputs gives equal bytes
//! (CONTRACT's `compress(expand(compress(x))) == compress(x)`): layer ids are renumbered
//! `0..n-1` in file order (OpenVINO's serializer renumbers too), and the blob holds every live
//! Const's bytes once, in file order, deduplicated and unpadded (SPEC §5: OpenVINO writes it so).

use super::CompressError;
use conform_ir::{ConstView, Edge, ElementType, Model, ModelParts, Node, PartialShape, Port, XmlElement};
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;

/// The editable graph.
pub(crate) struct Graph {
    nodes: Vec<Option<Node>>,
    /// Bytes of each Const node (original bytes for existing Consts).
    bytes: Vec<Option<Vec<u8>>>,
    edges: Vec<Edge>,
    /// File order of node indices.
    order: Vec<usize>,
    /// Nodes that lost a consumer in a rewrite: removed at the end when nothing uses them.
    orphan_candidates: HashSet<usize>,
    name: String,
    ir_version: u32,
    rt_info: Option<XmlElement>,
    source: Option<PathBuf>,
}

impl Graph {
    /// Copies a model into an editable graph.
    pub fn from_model(model: &Model) -> Graph {
        let parts = model.to_parts();
        let bytes = (0..parts.nodes.len()).map(|i| model.const_bytes(i).map(<[u8]>::to_vec)).collect();
        Graph {
            order: (0..parts.nodes.len()).collect(),
            nodes: parts.nodes.into_iter().map(Some).collect(),
            bytes,
            edges: parts.edges,
            orphan_candidates: HashSet::new(),
            name: parts.name,
            ir_version: parts.ir_version,
            rt_info: parts.rt_info,
            source: parts.source,
        }
    }

    /// A live node.
    pub fn node(&self, i: usize) -> Option<&Node> {
        self.nodes.get(i).and_then(Option::as_ref)
    }

    /// Adds a node right after `anchor` in file order; returns its index.
    pub fn add_after(&mut self, anchor: usize, node: Node, bytes: Option<Vec<u8>>) -> usize {
        let idx = self.nodes.len();
        self.nodes.push(Some(node));
        self.bytes.push(bytes);
        let pos = self.order.iter().position(|&n| n == anchor).map_or(self.order.len(), |p| p + 1);
        self.order.insert(pos, idx);
        idx
    }

    /// Connects output `from.1` of `from.0` to input `to.1` of `to.0`.
    pub fn connect(&mut self, from: (usize, usize), to: (usize, usize)) {
        self.edges.push(Edge { from_node: from.0, from_output: from.1, to_node: to.0, to_input: to.1 });
    }

    /// Moves every consumer of output `old` to output `new`.
    pub fn redirect_consumers(&mut self, old: (usize, usize), new: (usize, usize)) {
        for e in &mut self.edges {
            if (e.from_node, e.from_output) == old {
                e.from_node = new.0;
                e.from_output = new.1;
            }
        }
        self.orphan_candidates.insert(old.0);
    }

    /// Removes the edge into input `input` of `node`; its producer becomes an orphan candidate.
    pub fn disconnect_input(&mut self, node: usize, input: usize) {
        let mut producers = Vec::new();
        self.edges.retain(|e| {
            if e.to_node == node && e.to_input == input {
                producers.push(e.from_node);
                false
            } else {
                true
            }
        });
        self.orphan_candidates.extend(producers);
    }

    /// Sets the declared shape of input `input` of `node`.
    pub fn set_input_shape(&mut self, node: usize, input: usize, dims: &[usize]) {
        if let Some(p) = self.nodes.get_mut(node).and_then(Option::as_mut).and_then(|n| n.inputs.get_mut(input)) {
            p.shape = PartialShape::from_static(dims);
        }
    }

    /// Removes a node and its input edges; its producers become orphan candidates. The node's
    /// consumers must have been redirected first (checked when the model is rebuilt).
    pub fn remove(&mut self, i: usize) {
        let mut producers = Vec::new();
        self.edges.retain(|e| {
            if e.to_node == i {
                producers.push(e.from_node);
                false
            } else {
                true
            }
        });
        self.orphan_candidates.extend(producers);
        if let Some(slot) = self.nodes.get_mut(i) {
            *slot = None;
        }
    }

    fn has_consumers(&self, i: usize) -> bool {
        self.edges.iter().any(|e| e.from_node == i)
    }

    /// Removes, transitively, the orphan candidates nothing consumes any more (never a Parameter
    /// or Result: those are the model's interface).
    fn collect_orphans(&mut self) {
        while let Some(&i) = self.orphan_candidates.iter().next() {
            self.orphan_candidates.remove(&i);
            let removable = self.node(i).is_some_and(|n| !n.is_parameter() && !n.is_result());
            if removable && !self.has_consumers(i) {
                self.remove(i);
            }
        }
    }

    /// Rebuilds a validated model: orphans dropped, ids renumbered in file order, a new blob.
    pub fn finish(mut self) -> Result<Model, CompressError> {
        self.collect_orphans();
        let mut new_index: HashMap<usize, usize> = HashMap::new();
        let mut nodes = Vec::new();
        let mut blob: Vec<u8> = Vec::new();
        let mut blob_index: HashMap<Vec<u8>, u64> = HashMap::new();
        for &i in &self.order {
            let Some(mut node) = self.nodes.get_mut(i).and_then(Option::take) else { continue };
            new_index.insert(i, nodes.len());
            node.id = nodes.len().to_string();
            if let Some(view) = node.constant {
                let data = self.bytes.get_mut(i).and_then(Option::take).unwrap_or_default();
                let size = data.len() as u64;
                let offset = match blob_index.get(&data) {
                    Some(&o) => o,
                    None => {
                        let o = blob.len() as u64;
                        blob.extend_from_slice(&data);
                        blob_index.insert(data, o);
                        o
                    }
                };
                node.constant = Some(ConstView { element_type: view.element_type, offset, size });
                set_attr(&mut node.attrs, "offset", offset.to_string());
                set_attr(&mut node.attrs, "size", size.to_string());
            }
            nodes.push(node);
        }
        let mut edges = Vec::with_capacity(self.edges.len());
        for e in &self.edges {
            let (Some(&f), Some(&t)) = (new_index.get(&e.from_node), new_index.get(&e.to_node)) else {
                return Err(CompressError::Internal(format!(
                    "an edge {}:{} -> {}:{} refers to a removed layer",
                    e.from_node, e.from_output, e.to_node, e.to_input
                )));
            };
            edges.push(Edge { from_node: f, from_output: e.from_output, to_node: t, to_input: e.to_input });
        }
        // Edges in the order OpenVINO writes them: by consumer, then input.
        edges.sort_by_key(|e| (e.to_node, e.to_input));
        let parts = ModelParts {
            name: self.name,
            ir_version: self.ir_version,
            nodes,
            edges,
            rt_info: self.rt_info,
            weights: Arc::new(blob),
            source: self.source,
        };
        Ok(Model::from_parts(parts)?)
    }
}

fn set_attr(attrs: &mut Vec<(String, String)>, key: &str, value: String) {
    match attrs.iter_mut().find(|(k, _)| k == key) {
        Some(slot) => slot.1 = value,
        None => attrs.push((key.to_string(), value)),
    }
}

/// A port with a static shape and the precision spelling of `et`.
pub(crate) fn port(id: u32, et: ElementType, dims: &[usize]) -> Port {
    Port {
        id,
        precision: Some(et.port_precision().to_string()),
        shape: PartialShape::from_static(dims),
        names: Vec::new(),
        other_attrs: Vec::new(),
        rt_info: None,
    }
}

/// A `Const` layer (opset1) holding `bytes` of type `et` and shape `dims`. The id is assigned
/// when the model is rebuilt; offset and size too.
pub(crate) fn const_node(name: String, et: ElementType, dims: &[usize], bytes: &[u8]) -> Node {
    let shape_text = dims.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ");
    Node {
        id: String::new(),
        name,
        op_type: "Const".into(),
        version: "opset1".into(),
        attrs: vec![
            ("element_type".into(), et.ir_name().into()),
            ("shape".into(), shape_text),
            ("offset".into(), "0".into()),
            ("size".into(), bytes.len().to_string()),
        ],
        inputs: Vec::new(),
        outputs: vec![port(0, et, dims)],
        rt_info: None,
        constant: Some(ConstView { element_type: et, offset: 0, size: bytes.len() as u64 }),
    }
}

/// A `Convert` layer (opset1) from `from` to f32 on shape `dims`.
pub(crate) fn convert_node(name: String, from: ElementType, dims: &[usize]) -> Node {
    Node {
        id: String::new(),
        name,
        op_type: "Convert".into(),
        version: "opset1".into(),
        attrs: vec![("destination_type".into(), "f32".into())],
        inputs: vec![port(0, from, dims)],
        outputs: vec![port(1, ElementType::F32, dims)],
        rt_info: None,
        constant: None,
    }
}

/// A binary elementwise layer (opset1 `Subtract` / `Multiply`, numpy broadcast) in f32.
pub(crate) fn binary_node(name: String, op_type: &str, a: &[usize], b: &[usize], out: &[usize]) -> Node {
    Node {
        id: String::new(),
        name,
        op_type: op_type.into(),
        version: "opset1".into(),
        attrs: vec![("auto_broadcast".into(), "numpy".into())],
        inputs: vec![port(0, ElementType::F32, a), port(1, ElementType::F32, b)],
        outputs: vec![port(2, ElementType::F32, out)],
        rt_info: None,
        constant: None,
    }
}

/// A `FakeQuantize` layer (opset1, numpy broadcast) in f32.
pub(crate) fn fq_node(name: String, levels: u64, data: &[usize], ranges: [&[usize]; 4]) -> Node {
    let mut inputs = vec![port(0, ElementType::F32, data)];
    for (k, r) in ranges.iter().enumerate() {
        inputs.push(port(k as u32 + 1, ElementType::F32, r));
    }
    Node {
        id: String::new(),
        name,
        op_type: "FakeQuantize".into(),
        version: "opset1".into(),
        attrs: vec![("levels".into(), levels.to_string()), ("auto_broadcast".into(), "numpy".into())],
        inputs,
        outputs: vec![port(5, ElementType::F32, data)],
        rt_info: None,
        constant: None,
    }
}
