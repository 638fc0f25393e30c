//! The in-memory IR: layers (nodes) with typed attribute accessors, ports, edges, constants as
//! bounds-checked views into the weights blob, topological order and rt_info kept verbatim.
//!
//! A [`Model`] is only built through [`Model::from_parts`], which validates the graph (edges
//! connect existing ports, each input has exactly one producer, no cycle, Const views inside the
//! blob), so code holding a `Model` can index without re-checking.

use crate::element::ElementType;
use crate::error::{AttrError, IrError, LayerRef};
use crate::shape::{element_count, PartialShape};
use crate::tensor::{Tensor, TensorData};
use half::{bf16, f16};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

/// A generic XML element kept verbatim (rt_info and any child the reader does not interpret), so
/// that read → write → read preserves it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct XmlElement {
    /// Tag name.
    pub name: String,
    /// Attributes in file order.
    pub attrs: Vec<(String, String)>,
    /// Child elements in file order.
    pub children: Vec<XmlElement>,
    /// Text content, if any (trimmed).
    pub text: Option<String>,
}

/// One input or output port of a layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Port {
    /// The port id as written (inputs 0..n-1, outputs n.. in files OpenVINO writes).
    pub id: u32,
    /// The `precision` attribute, informational (`FP32`, `I8`, ...).
    pub precision: Option<String>,
    /// The declared shape.
    pub shape: PartialShape,
    /// Tensor names (`names="a,b"` on v11 output ports), split on unescaped commas.
    pub names: Vec<String>,
    /// Other port attributes, kept verbatim.
    pub other_attrs: Vec<(String, String)>,
    /// Port-level `<rt_info>`, kept verbatim.
    pub rt_info: Option<XmlElement>,
}

impl Port {
    /// The declared element type, parsed from `precision`, if present and known.
    pub fn element_type(&self) -> Option<ElementType> {
        self.precision.as_deref().and_then(ElementType::from_port_precision)
    }
}

/// Where a Const layer's data lives in the weights blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConstView {
    /// Element type of the constant.
    pub element_type: ElementType,
    /// Byte offset into the blob.
    pub offset: u64,
    /// Byte size as declared (≥ what the shape needs; checked).
    pub size: u64,
}

/// Prefix marking, in [`Node::attrs`], an attribute of the `<layer>` element rather than of `<data>`.
pub const LAYER_ATTR_PREFIX: &str = "@";

/// One layer.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The `id` attribute as written.
    pub id: String,
    /// The `name` attribute.
    pub name: String,
    /// The `type` attribute (`Convolution`, `Const`, `ReLU`, ...).
    pub op_type: String,
    /// The `version` attribute (`opset1`, `opset8`, ...).
    pub version: String,
    /// `<data>` attributes in file order. Attributes of the `<layer>` element itself other than
    /// id/name/type/version (OpenVINO 2026 writes `output_names` on Result layers) come first,
    /// with their names prefixed by [`LAYER_ATTR_PREFIX`]; the writer puts them back on `<layer>`.
    pub attrs: Vec<(String, String)>,
    /// Input ports in file order.
    pub inputs: Vec<Port>,
    /// Output ports in file order.
    pub outputs: Vec<Port>,
    /// Layer-level `<rt_info>`, kept verbatim.
    pub rt_info: Option<XmlElement>,
    /// For `Const` layers: the validated view into the blob.
    pub constant: Option<ConstView>,
}

impl Node {
    /// A reference to this layer for messages.
    pub fn layer_ref(&self) -> LayerRef {
        LayerRef { id: self.id.clone(), name: self.name.clone(), op_type: self.op_type.clone() }
    }

    /// The raw text of an attribute.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// The raw text of a required attribute.
    pub fn attr_required(&self, name: &str) -> Result<&str, AttrError> {
        self.attr(name).ok_or_else(|| AttrError::Missing { layer: self.layer_ref(), attribute: name.to_string() })
    }

    fn malformed(&self, name: &str, value: &str, expected: &str) -> AttrError {
        let mut v: String = value.chars().take(80).collect();
        if value.chars().count() > 80 {
            v.push('…');
        }
        AttrError::Malformed {
            layer: self.layer_ref(),
            attribute: name.to_string(),
            value: v,
            expected: expected.to_string(),
        }
    }

    /// Parses a required attribute with `FromStr`.
    pub fn attr_parse<T: std::str::FromStr>(&self, name: &str, expected: &str) -> Result<T, AttrError> {
        let v = self.attr_required(name)?;
        v.trim().parse().map_err(|_| self.malformed(name, v, expected))
    }

    /// Parses an optional attribute with `FromStr`, `default` when absent.
    pub fn attr_parse_or<T: std::str::FromStr>(&self, name: &str, default: T, expected: &str) -> Result<T, AttrError> {
        match self.attr(name) {
            None => Ok(default),
            Some(v) => v.trim().parse().map_err(|_| self.malformed(name, v, expected)),
        }
    }

    /// A required unsigned integer attribute.
    pub fn attr_u64(&self, name: &str) -> Result<u64, AttrError> {
        self.attr_parse(name, "a non-negative integer")
    }

    /// A required signed integer attribute.
    pub fn attr_i64(&self, name: &str) -> Result<i64, AttrError> {
        self.attr_parse(name, "an integer")
    }

    /// A required floating-point attribute (parsed as f64, as OpenVINO stores op attributes as double).
    pub fn attr_f64(&self, name: &str) -> Result<f64, AttrError> {
        self.attr_parse(name, "a number")
    }

    /// A required boolean attribute (`true`/`false`, also `1`/`0`).
    pub fn attr_bool(&self, name: &str) -> Result<bool, AttrError> {
        let v = self.attr_required(name)?;
        parse_bool(v).ok_or_else(|| self.malformed(name, v, "true or false"))
    }

    /// An optional boolean attribute.
    pub fn attr_bool_or(&self, name: &str, default: bool) -> Result<bool, AttrError> {
        match self.attr(name) {
            None => Ok(default),
            Some(v) => parse_bool(v).ok_or_else(|| self.malformed(name, v, "true or false")),
        }
    }

    /// A comma-separated list of integers (`"1, 1"`; the empty string is the empty list).
    pub fn attr_i64_list(&self, name: &str) -> Result<Vec<i64>, AttrError> {
        let v = self.attr_required(name)?;
        parse_list(v).ok_or_else(|| self.malformed(name, v, "a comma-separated list of integers"))
    }

    /// A comma-separated list of non-negative integers.
    pub fn attr_usize_list(&self, name: &str) -> Result<Vec<usize>, AttrError> {
        let v = self.attr_required(name)?;
        parse_list(v).ok_or_else(|| self.malformed(name, v, "a comma-separated list of non-negative integers"))
    }

    /// An optional comma-separated list of non-negative integers.
    pub fn attr_usize_list_or(&self, name: &str, default: Vec<usize>) -> Result<Vec<usize>, AttrError> {
        match self.attr(name) {
            None => Ok(default),
            Some(_) => self.attr_usize_list(name),
        }
    }

    /// A comma-separated list of floats.
    pub fn attr_f64_list(&self, name: &str) -> Result<Vec<f64>, AttrError> {
        let v = self.attr_required(name)?;
        parse_list(v).ok_or_else(|| self.malformed(name, v, "a comma-separated list of numbers"))
    }

    /// An element-type attribute (`element_type`, `destination_type`, ...).
    pub fn attr_element_type(&self, name: &str) -> Result<ElementType, AttrError> {
        let v = self.attr_required(name)?;
        ElementType::from_ir_name(v.trim())
            .ok_or_else(|| self.malformed(name, v, "a known element type (f32, i8, ...)"))
    }

    /// True for `Parameter` layers.
    pub fn is_parameter(&self) -> bool {
        self.op_type == "Parameter"
    }

    /// True for `Result` layers.
    pub fn is_result(&self) -> bool {
        self.op_type == "Result"
    }

    /// True for `Const` layers.
    pub fn is_const(&self) -> bool {
        self.op_type == "Const"
    }
}

fn parse_bool(v: &str) -> Option<bool> {
    match v.trim() {
        "true" | "True" | "1" => Some(true),
        "false" | "False" | "0" => Some(false),
        _ => None,
    }
}

fn parse_list<T: std::str::FromStr>(v: &str) -> Option<Vec<T>> {
    if v.trim().is_empty() {
        return Some(Vec::new());
    }
    v.split(',').map(|p| p.trim().parse().ok()).collect()
}

/// An edge: output `from_output` (index into `outputs`) of node `from_node` feeds input
/// `to_input` (index into `inputs`) of node `to_node`. Node numbers index [`Model::nodes`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Edge {
    /// Producer node index.
    pub from_node: usize,
    /// Producer output index.
    pub from_output: usize,
    /// Consumer node index.
    pub to_node: usize,
    /// Consumer input index.
    pub to_input: usize,
}

/// The parts a reader or a transformation supplies to build a [`Model`].
#[derive(Debug, Clone, Default)]
pub struct ModelParts {
    /// `<net name>`.
    pub name: String,
    /// `<net version>`: 10 or 11.
    pub ir_version: u32,
    /// Layers in file order.
    pub nodes: Vec<Node>,
    /// Edges, with node and port *indices*.
    pub edges: Vec<Edge>,
    /// Model-level `<rt_info>`, kept verbatim.
    pub rt_info: Option<XmlElement>,
    /// The weights blob.
    pub weights: Arc<Vec<u8>>,
    /// The `.xml` the model came from, for messages.
    pub source: Option<PathBuf>,
}

/// A validated IR model.
#[derive(Debug, Clone)]
pub struct Model {
    /// `<net name>`.
    pub name: String,
    /// 10 or 11.
    pub ir_version: u32,
    nodes: Vec<Node>,
    edges: Vec<Edge>,
    /// Model-level `<rt_info>`.
    pub rt_info: Option<XmlElement>,
    weights: Arc<Vec<u8>>,
    source: Option<PathBuf>,
    /// `sources[n][i]` = (producer node, producer output) of input `i` of node `n`.
    sources: Vec<Vec<(usize, usize)>>,
    /// `consumers[n][o]` = list of (consumer node, consumer input) of output `o` of node `n`.
    consumers: Vec<Vec<Vec<(usize, usize)>>>,
    topo: Vec<usize>,
}

impl Model {
    /// Validates the parts and builds the model.
    pub fn from_parts(parts: ModelParts) -> Result<Model, IrError> {
        let path = parts.source.clone().unwrap_or_default();
        let n = parts.nodes.len();
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for (i, node) in parts.nodes.iter().enumerate() {
            if let Some(&j) = seen.get(node.id.as_str()) {
                return Err(IrError::DuplicateLayerId {
                    path,
                    id: node.id.clone(),
                    first: parts.nodes[j].name.clone(),
                    second: node.name.clone(),
                });
            }
            seen.insert(node.id.as_str(), i);
        }
        let edge_err = |e: &Edge, message: String| IrError::Edge {
            path: path.clone(),
            from_layer: parts.nodes.get(e.from_node).map(|x| x.id.clone()).unwrap_or_else(|| e.from_node.to_string()),
            from_port: e.from_output.to_string(),
            to_layer: parts.nodes.get(e.to_node).map(|x| x.id.clone()).unwrap_or_else(|| e.to_node.to_string()),
            to_port: e.to_input.to_string(),
            message,
        };
        let mut sources: Vec<Vec<Option<(usize, usize)>>> =
            parts.nodes.iter().map(|nd| vec![None; nd.inputs.len()]).collect();
        let mut consumers: Vec<Vec<Vec<(usize, usize)>>> =
            parts.nodes.iter().map(|nd| vec![Vec::new(); nd.outputs.len()]).collect();
        for e in &parts.edges {
            if e.from_node >= n || e.to_node >= n {
                return Err(edge_err(e, "layer does not exist".into()));
            }
            if e.from_output >= parts.nodes[e.from_node].outputs.len() {
                return Err(edge_err(e, "the producer has no such output port".into()));
            }
            if e.to_input >= parts.nodes[e.to_node].inputs.len() {
                return Err(edge_err(e, "the consumer has no such input port".into()));
            }
            let slot = &mut sources[e.to_node][e.to_input];
            if slot.is_some() {
                return Err(edge_err(e, "this input port already has a producer".into()));
            }
            *slot = Some((e.from_node, e.from_output));
            consumers[e.from_node][e.from_output].push((e.to_node, e.to_input));
        }
        let mut full_sources = Vec::with_capacity(n);
        for (i, s) in sources.into_iter().enumerate() {
            let mut v = Vec::with_capacity(s.len());
            for (k, src) in s.into_iter().enumerate() {
                match src {
                    Some(x) => v.push(x),
                    None => {
                        return Err(IrError::Layer {
                            path,
                            layer: parts.nodes[i].layer_ref(),
                            message: format!("input port {} has no incoming edge", parts.nodes[i].inputs[k].id),
                        })
                    }
                }
            }
            full_sources.push(v);
        }
        // Kahn's algorithm; ties broken by file order so the order is deterministic.
        let mut indeg: Vec<usize> = full_sources.iter().map(|s| s.len()).collect();
        let mut ready: std::collections::BTreeSet<usize> = (0..n).filter(|&i| indeg[i] == 0).collect();
        let mut topo = Vec::with_capacity(n);
        while let Some(&i) = ready.iter().next() {
            ready.remove(&i);
            topo.push(i);
            for outs in &consumers[i] {
                for &(c, _) in outs {
                    indeg[c] -= 1;
                    if indeg[c] == 0 {
                        ready.insert(c);
                    }
                }
            }
        }
        if topo.len() < n {
            let stuck = (0..n).find(|&i| indeg[i] > 0).unwrap_or(0);
            return Err(IrError::Cycle { path, layer: parts.nodes[stuck].layer_ref() });
        }
        for node in &parts.nodes {
            if let Some(c) = node.constant {
                let end = c.offset.checked_add(c.size);
                if end.is_none_or(|e| e > parts.weights.len() as u64) {
                    return Err(IrError::Weights {
                        path: path.with_extension("bin"),
                        layer: node.layer_ref(),
                        message: format!(
                            "offset {} + size {} is past the end of the weights ({} bytes)",
                            c.offset,
                            c.size,
                            parts.weights.len()
                        ),
                    });
                }
            }
        }
        Ok(Model {
            name: parts.name,
            ir_version: parts.ir_version,
            nodes: parts.nodes,
            edges: parts.edges,
            rt_info: parts.rt_info,
            weights: parts.weights,
            source: parts.source,
            sources: full_sources,
            consumers,
            topo,
        })
    }

    /// Back to parts, for transformations that rebuild the model.
    pub fn into_parts(self) -> ModelParts {
        ModelParts {
            name: self.name,
            ir_version: self.ir_version,
            nodes: self.nodes,
            edges: self.edges,
            rt_info: self.rt_info,
            weights: self.weights,
            source: self.source,
        }
    }

    /// A copy of the parts.
    pub fn to_parts(&self) -> ModelParts {
        self.clone().into_parts()
    }

    /// Layers in file order.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// One layer by index.
    pub fn node(&self, i: usize) -> &Node {
        &self.nodes[i]
    }

    /// Edges.
    pub fn edges(&self) -> &[Edge] {
        &self.edges
    }

    /// The weights blob.
    pub fn weights(&self) -> &Arc<Vec<u8>> {
        &self.weights
    }

    /// The `.xml` the model was read from, if any.
    pub fn source(&self) -> Option<&std::path::Path> {
        self.source.as_deref()
    }

    /// Node indices in a topological order (producers first; file order breaks ties).
    pub fn topo_order(&self) -> &[usize] {
        &self.topo
    }

    /// (producer node, producer output) of input `input` of node `node`.
    pub fn source_of(&self, node: usize, input: usize) -> (usize, usize) {
        self.sources[node][input]
    }

    /// All (producer node, producer output) pairs of a node's inputs, in input order.
    pub fn sources_of(&self, node: usize) -> &[(usize, usize)] {
        &self.sources[node]
    }

    /// (consumer node, consumer input) pairs fed by output `output` of node `node`.
    pub fn consumers_of(&self, node: usize, output: usize) -> &[(usize, usize)] {
        &self.consumers[node][output]
    }

    /// Parameter node indices in OpenVINO's order of model parameters (file order of the layers:
    /// `XmlDeserializer::parse_function` in OpenVINO's `src/frontends/ir/src/ir_deserializer.cpp`
    /// pushes Parameters in XML order, "Save Parameters order according to order in XML").
    pub fn parameters(&self) -> Vec<usize> {
        (0..self.nodes.len()).filter(|&i| self.nodes[i].is_parameter()).collect()
    }

    /// Result node indices in OpenVINO's order of model outputs (file order of the layers: the same
    /// function runs its DFS from the Result layers in XML order, and no Result is an input of
    /// another layer, so each is created, and appended to the results, in XML order; v10 and v11
    /// alike).
    pub fn results(&self) -> Vec<usize> {
        (0..self.nodes.len()).filter(|&i| self.nodes[i].is_result()).collect()
    }

    /// Finds a node by its `id` attribute.
    pub fn find_by_id(&self, id: &str) -> Option<usize> {
        self.nodes.iter().position(|n| n.id == id)
    }

    /// The raw bytes of a Const node (exactly `size` bytes, inside the blob: checked at build).
    pub fn const_bytes(&self, node: usize) -> Option<&[u8]> {
        let c = self.nodes[node].constant?;
        // In bounds: checked by from_parts.
        self.weights.get(c.offset as usize..(c.offset + c.size) as usize)
    }

    /// Decodes a Const node into a tensor (little-endian; i4/u4 low nibble first; u1 bit 7 first).
    pub fn const_tensor(&self, node: usize) -> Result<Tensor, IrError> {
        let nd = &self.nodes[node];
        let path = self.source.clone().unwrap_or_default();
        let err =
            |message: String| IrError::Weights { path: path.with_extension("bin"), layer: nd.layer_ref(), message };
        let c = nd.constant.ok_or_else(|| err("not a Const layer".into()))?;
        let shape = nd
            .outputs
            .first()
            .and_then(|p| p.shape.to_static())
            .ok_or_else(|| err("a Const needs one output port with a static shape".into()))?;
        let count = element_count(&shape).ok_or_else(|| err("the shape's element count overflows".into()))?;
        let bytes = self.const_bytes(node).ok_or_else(|| err("no bytes".into()))?;
        let needed = c.element_type.storage_bytes(count as u64).ok_or_else(|| err("size overflows".into()))?;
        if (bytes.len() as u64) < needed {
            return Err(err(format!("size {} is less than the {} bytes its shape needs", bytes.len(), needed)));
        }
        let data = decode(c.element_type, bytes, count);
        Ok(Tensor { element_type: c.element_type, shape, data })
    }
}

/// Decodes `count` elements of type `et` from little-endian bytes (caller guarantees length).
pub fn decode(et: ElementType, bytes: &[u8], count: usize) -> TensorData {
    fn chunks<const N: usize, T>(bytes: &[u8], count: usize, f: impl Fn([u8; N]) -> T) -> Vec<T> {
        bytes.chunks_exact(N).take(count).map(|c| f(c.try_into().unwrap_or([0; N]))).collect()
    }
    match et {
        ElementType::F64 => TensorData::F64(chunks(bytes, count, f64::from_le_bytes)),
        ElementType::F32 => TensorData::F32(chunks(bytes, count, f32::from_le_bytes)),
        ElementType::F16 => TensorData::F16(chunks(bytes, count, |b| f16::from_bits(u16::from_le_bytes(b)))),
        ElementType::BF16 => TensorData::BF16(chunks(bytes, count, |b| bf16::from_bits(u16::from_le_bytes(b)))),
        ElementType::I64 => TensorData::I64(chunks(bytes, count, i64::from_le_bytes)),
        ElementType::I32 => TensorData::I32(chunks(bytes, count, i32::from_le_bytes)),
        ElementType::I16 => TensorData::I16(chunks(bytes, count, i16::from_le_bytes)),
        ElementType::I8 => TensorData::I8(bytes[..count].iter().map(|&b| b as i8).collect()),
        ElementType::U64 => TensorData::U64(chunks(bytes, count, u64::from_le_bytes)),
        ElementType::U32 => TensorData::U32(chunks(bytes, count, u32::from_le_bytes)),
        ElementType::U16 => TensorData::U16(chunks(bytes, count, u16::from_le_bytes)),
        ElementType::U8 => TensorData::U8(bytes[..count].to_vec()),
        ElementType::Boolean => TensorData::Bool(bytes[..count].iter().map(|&b| b != 0).collect()),
        ElementType::I4 => TensorData::I8(
            (0..count)
                .map(|i| {
                    let nib = (bytes[i / 2] >> ((i % 2) * 4)) & 0x0F;
                    ((nib << 4) as i8) >> 4 // sign-extend the low nibble
                })
                .collect(),
        ),
        ElementType::U4 => TensorData::U8((0..count).map(|i| (bytes[i / 2] >> ((i % 2) * 4)) & 0x0F).collect()),
        ElementType::U1 => TensorData::U8((0..count).map(|i| (bytes[i / 8] >> (7 - i % 8)) & 1).collect()),
    }
}

/// Encodes tensor data as OpenVINO stores it in the blob (the inverse of [`decode`]). For i4/u4/u1
/// the declared `et` selects the packing; the data holds one element per `i8`/`u8`.
pub fn encode(et: ElementType, data: &TensorData) -> Vec<u8> {
    match (et, data) {
        (ElementType::I4, TensorData::I8(v)) => pack_nibbles(v.iter().map(|&x| x as u8)),
        (ElementType::U4, TensorData::U8(v)) => pack_nibbles(v.iter().copied()),
        (ElementType::U1, TensorData::U8(v)) => {
            let mut out = vec![0u8; v.len().div_ceil(8)];
            for (i, &b) in v.iter().enumerate() {
                if b != 0 {
                    out[i / 8] |= 0x80 >> (i % 8);
                }
            }
            out
        }
        (_, TensorData::F64(v)) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        (_, TensorData::F32(v)) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        (_, TensorData::F16(v)) => v.iter().flat_map(|x| x.to_bits().to_le_bytes()).collect(),
        (_, TensorData::BF16(v)) => v.iter().flat_map(|x| x.to_bits().to_le_bytes()).collect(),
        (_, TensorData::I64(v)) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        (_, TensorData::I32(v)) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        (_, TensorData::I16(v)) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        (_, TensorData::I8(v)) => v.iter().map(|&x| x as u8).collect(),
        (_, TensorData::U64(v)) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        (_, TensorData::U32(v)) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        (_, TensorData::U16(v)) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        (_, TensorData::U8(v)) => v.clone(),
        (_, TensorData::Bool(v)) => v.iter().map(|&x| x as u8).collect(),
    }
}

fn pack_nibbles(v: impl Iterator<Item = u8>) -> Vec<u8> {
    let v: Vec<u8> = v.collect();
    let mut out = vec![0u8; v.len().div_ceil(2)];
    for (i, &b) in v.iter().enumerate() {
        out[i / 2] |= (b & 0x0F) << ((i % 2) * 4);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packing_matches_openvino_bytes() {
        // SPEC §5, verified by bytes: u4 [0,1] -> 0x10; i4 [1,-1] -> 0xF1; u1 [1,0,1,1] -> 0xB0.
        assert_eq!(encode(ElementType::U4, &TensorData::U8(vec![0, 1])), vec![0x10]);
        assert_eq!(encode(ElementType::I4, &TensorData::I8(vec![1, -1])), vec![0xF1]);
        assert_eq!(encode(ElementType::U1, &TensorData::U8(vec![1, 0, 1, 1])), vec![0xB0]);
        assert_eq!(decode(ElementType::I4, &[0xF1], 2), TensorData::I8(vec![1, -1]));
        assert_eq!(decode(ElementType::U1, &[0xB0], 4), TensorData::U8(vec![1, 0, 1, 1]));
        // bf16 1.5 -> c0 3f
        assert_eq!(encode(ElementType::BF16, &TensorData::BF16(vec![bf16::from_f32(1.5)])), vec![0xc0, 0x3f]);
    }

    #[test]
    fn i4_round_trips_full_range() {
        let v: Vec<i8> = (-8..8).collect();
        let bytes = encode(ElementType::I4, &TensorData::I8(v.clone()));
        assert_eq!(decode(ElementType::I4, &bytes, v.len()), TensorData::I8(v));
    }
}
