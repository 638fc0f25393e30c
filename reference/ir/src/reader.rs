//! Reads OpenVINO IR v10 and v11 (`model.xml` + `model.bin`) into a validated [`Model`].
//!
//! The XML is first parsed (quick-xml) into a small tree with byte positions, under the limits of
//! [`crate::limits`]; the tree is then interpreted as an IR. The rules follow OpenVINO's own reader
//! (`src/frontends/ir/src/ir_deserializer.cpp`, `utils.hpp`) where it defines them:
//! * layer ids, port ids and the four edge attributes are unsigned integers (`get_uint64_attr`);
//!   edges name a layer id and a *port id*, mapped to the port with that id;
//! * `<dim>` values are integers ≥ -1 (we also accept `?` and ranges, as `Dim::parse` does);
//! * output ports need `precision`, input ports may omit it;
//! * `names="a,b"` is split on commas, a backslash before a comma escapes it;
//! * a Const needs `offset + size <= len(.bin)` and `size >= ceil(n·bits/8)`;
//! * versions 10 and 11 are read (`FrontEnd::supported_impl`: `version >= 10 && version <= 11`).
//!
//! How v10 differs, in OpenVINO's reader: layer and port `<rt_info>` are read only for v11
//! (`if (m_version > 10)` in `create_node`), and a v10 file without a model `<rt_info>` has its
//! legacy `<meta_data>` / `<quantization_parameters>` sections read instead. This reader keeps any
//! `<rt_info>` verbatim for both versions and ignores the legacy sections (metadata, not
//! semantics); it refuses the legacy `<pre-process>` section, which would change the results.
//! OpenVINO drops layers from which no Result is reachable (its DFS starts at the Results); this
//! reader keeps them, so that nothing in the file is silently lost.
//!
//! Unknown op types parse as ordinary (opaque) nodes. Every error names the file and the layer or
//! the XML byte position, and what was expected. Nothing is allocated from a number in the file
//! before that number is checked against the file's size or a limit.

use crate::error::{AttrError, IrError, LayerRef};
use crate::limits::Limits;
use crate::model::{ConstView, Edge, Model, ModelParts, Node, Port, XmlElement, LAYER_ATTR_PREFIX};
use crate::shape::{Dim, PartialShape};
use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Reads `xml_path` and the `.bin` with the same stem beside it. A missing `.bin` is accepted only
/// when no Const needs bytes.
pub fn read_model(xml_path: &Path) -> Result<Model, IrError> {
    read_model_with_limits(xml_path, &Limits::DEFAULT)
}

/// [`read_model`] with explicit limits.
pub fn read_model_with_limits(xml_path: &Path, limits: &Limits) -> Result<Model, IrError> {
    let meta = std::fs::metadata(xml_path).map_err(|source| IrError::Io { path: xml_path.to_path_buf(), source })?;
    if meta.len() > limits.max_xml_bytes {
        return Err(IrError::Limit {
            path: xml_path.to_path_buf(),
            what: format!("the XML file size ({} bytes)", meta.len()),
            limit: limits.max_xml_bytes,
        });
    }
    let xml = std::fs::read(xml_path).map_err(|source| IrError::Io { path: xml_path.to_path_buf(), source })?;
    let bin_path = xml_path.with_extension("bin");
    // The .bin is read whole; its length is the file's own, so nothing here is sized by the XML.
    let bin = match std::fs::read(&bin_path) {
        Ok(b) => Some(b),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(source) => return Err(IrError::Io { path: bin_path, source }),
    };
    parse(&xml, bin, xml_path, limits)
}

/// Reads an IR from memory. `path_for_messages` names the `.xml` in errors (the weights are
/// named by the same path with the extension `.bin`).
pub fn read_model_from_bytes(xml: &[u8], bin: Vec<u8>, path_for_messages: &Path) -> Result<Model, IrError> {
    parse(xml, Some(bin), path_for_messages, &Limits::DEFAULT)
}

/// [`read_model_from_bytes`] with explicit limits.
pub fn read_model_from_bytes_with_limits(
    xml: &[u8],
    bin: Vec<u8>,
    path_for_messages: &Path,
    limits: &Limits,
) -> Result<Model, IrError> {
    parse(xml, Some(bin), path_for_messages, limits)
}

fn parse(xml: &[u8], bin: Option<Vec<u8>>, path: &Path, limits: &Limits) -> Result<Model, IrError> {
    let root = parse_tree(xml, path, limits)?;
    Interpreter { path, limits, bin_present: bin.is_some() }.model(root, bin.unwrap_or_default())
}

// ---------------------------------------------------------------------------------------------
// XML → tree

/// One parsed element with the byte offset of its start tag.
#[derive(Debug)]
struct El {
    name: String,
    attrs: Vec<(String, String)>,
    children: Vec<El>,
    text: Option<String>,
    pos: u64,
}

impl El {
    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a El> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    fn into_xml_element(self) -> XmlElement {
        XmlElement {
            name: self.name,
            attrs: self.attrs,
            children: self.children.into_iter().map(El::into_xml_element).collect(),
            text: self.text,
        }
    }
}

fn xml_err(path: &Path, position: u64, message: impl Into<String>) -> IrError {
    IrError::Xml { path: path.to_path_buf(), position, message: message.into() }
}

fn limit_err(path: &Path, what: impl Into<String>, limit: u64) -> IrError {
    IrError::Limit { path: path.to_path_buf(), what: what.into(), limit }
}

fn utf8<'a>(bytes: &'a [u8], path: &Path, pos: u64, what: &str) -> Result<&'a str, IrError> {
    std::str::from_utf8(bytes).map_err(|_| xml_err(path, pos, format!("{what} is not valid UTF-8")))
}

/// Whether `name` is an XML name as pugixml (OpenVINO's XML parser) reads one: a first byte that
/// is a letter, `_`, `:` or non-ASCII (`ct_start_symbol`), then letters, digits, `_ : - .` or
/// non-ASCII (`ct_symbol`). quick-xml does not check names, and a name such as `@x` would collide
/// with the `@` prefix under which the model keeps `<layer>` attributes (`LAYER_ATTR_PREFIX`).
fn is_xml_name(name: &[u8]) -> bool {
    let start = |b: u8| b.is_ascii_alphabetic() || b == b'_' || b == b':' || b >= 0x80;
    let rest = |b: u8| start(b) || b.is_ascii_digit() || b == b'-' || b == b'.';
    name.first().is_some_and(|&b| start(b)) && name.iter().all(|&b| rest(b))
}

fn start_element(e: &BytesStart<'_>, pos: u64, path: &Path, limits: &Limits) -> Result<El, IrError> {
    let name = utf8(e.name().as_ref(), path, pos, "an element name")?.to_string();
    if !is_xml_name(name.as_bytes()) {
        return Err(xml_err(path, pos, format!("<{}> is not a valid XML element name", truncate(&name))));
    }
    let mut attrs: Vec<(String, String)> = Vec::new();
    // quick-xml's own duplicate check compares each key with every earlier one (quadratic in the
    // attributes of an element: 4,096 attributes cost 8 million comparisons); a set is linear.
    let mut keys: HashSet<&[u8]> = HashSet::new();
    let mut it = e.attributes();
    it.with_checks(false);
    for a in it {
        let a = a.map_err(|err| xml_err(path, pos, format!("in <{name}>: {err}")))?;
        if attrs.len() >= limits.max_attrs_per_element {
            return Err(limit_err(
                path,
                format!("the number of attributes of <{name}> at byte {pos}"),
                limits.max_attrs_per_element as u64,
            ));
        }
        let key = utf8(a.key.as_ref(), path, pos, "an attribute name")?.to_string();
        if !is_xml_name(key.as_bytes()) {
            return Err(xml_err(
                path,
                pos,
                format!("in <{name}>: `{}` is not a valid XML attribute name", truncate(&key)),
            ));
        }
        if !keys.insert(a.key.into_inner()) {
            return Err(xml_err(
                path,
                pos,
                format!(
                    "in <{name}>: duplicated attribute `{}` (an attribute may appear once per element)",
                    truncate(&key)
                ),
            ));
        }
        if a.value.len() > limits.max_attr_len {
            return Err(limit_err(
                path,
                format!("the length of attribute `{key}` of <{name}> at byte {pos} ({} bytes)", a.value.len()),
                limits.max_attr_len as u64,
            ));
        }
        utf8(&a.value, path, pos, "an attribute value")?;
        let value = a
            .unescape_value()
            .map_err(|err| xml_err(path, pos, format!("attribute `{key}` of <{name}>: {err}")))?
            .into_owned();
        attrs.push((key, value));
    }
    Ok(El { name, attrs, children: Vec::new(), text: None, pos })
}

/// Parses well-formed XML into a tree, enforcing the limits. Exactly one root element is allowed.
fn parse_tree(xml: &[u8], path: &Path, limits: &Limits) -> Result<El, IrError> {
    if xml.len() as u64 > limits.max_xml_bytes {
        return Err(limit_err(path, format!("the XML size ({} bytes)", xml.len()), limits.max_xml_bytes));
    }
    if xml.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(IrError::NotAnIr { path: path.to_path_buf(), message: "the file is empty".into() });
    }
    let text = std::str::from_utf8(xml).map_err(|e| {
        xml_err(path, e.valid_up_to() as u64, "the file is not UTF-8 text (binary data or another encoding)")
    })?;
    // XML 1.0 allows no control characters but tab, LF and CR (quick-xml lets them through).
    if let Some(i) = xml.iter().position(|&b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r')) {
        return Err(xml_err(path, i as u64, format!("control character 0x{:02x} is not allowed in XML", xml[i])));
    }
    let mut reader = Reader::from_str(text);
    reader.config_mut().trim_text(true);
    let mut stack: Vec<El> = Vec::new();
    let mut root: Option<El> = None;
    let mut elements = 0usize;
    let mut tree_bytes = 0u64;
    // Counts an element's estimated memory against `max_tree_bytes` (see `Limits`).
    let mut account = |el: &El, pos: u64| -> Result<(), IrError> {
        tree_bytes = tree_bytes.saturating_add(tree_cost(el));
        if tree_bytes > limits.max_tree_bytes {
            return Err(limit_err(
                path,
                format!("the estimated memory of the parsed XML tree (at <{}>, byte {pos})", el.name),
                limits.max_tree_bytes,
            ));
        }
        Ok(())
    };

    // Attaches a finished element to its parent, or makes it the root.
    fn attach(stack: &mut [El], root: &mut Option<El>, el: El, path: &Path) -> Result<(), IrError> {
        match stack.last_mut() {
            Some(parent) => parent.children.push(el),
            None => {
                if let Some(first) = root {
                    return Err(xml_err(
                        path,
                        el.pos,
                        format!("a second root element <{}> after <{}>", el.name, first.name),
                    ));
                }
                *root = Some(el);
            }
        }
        Ok(())
    }

    loop {
        let pos = reader.buffer_position();
        let event = reader.read_event().map_err(|e| {
            let mut m = e.to_string();
            if m.contains("end of input") {
                m.push_str(" (the file ends early: truncated XML?)");
            }
            xml_err(path, reader.error_position(), m)
        })?;
        match event {
            Event::Start(e) | Event::Empty(e) if stack.len() >= limits.max_depth => {
                let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                return Err(limit_err(
                    path,
                    format!("the element depth at <{name}> (byte {pos})"),
                    limits.max_depth as u64,
                ));
            }
            Event::Start(e) => {
                elements += 1;
                if elements > limits.max_elements {
                    return Err(limit_err(path, "the number of XML elements", limits.max_elements as u64));
                }
                let el = start_element(&e, pos, path, limits)?;
                account(&el, pos)?;
                stack.push(el);
            }
            Event::Empty(e) => {
                elements += 1;
                if elements > limits.max_elements {
                    return Err(limit_err(path, "the number of XML elements", limits.max_elements as u64));
                }
                let el = start_element(&e, pos, path, limits)?;
                account(&el, pos)?;
                attach(&mut stack, &mut root, el, path)?;
            }
            Event::End(_) => {
                // quick-xml checks that end names match their start tags.
                let el = stack.pop().ok_or_else(|| xml_err(path, pos, "a closing tag without an opening tag"))?;
                attach(&mut stack, &mut root, el, path)?;
            }
            Event::Text(t) => {
                let s = t.unescape().map_err(|e| xml_err(path, pos, e.to_string()))?;
                add_text(&mut stack, &s, pos, path, limits)?;
            }
            Event::CData(c) => {
                let s = utf8(&c, path, pos, "CDATA")?.to_string();
                add_text(&mut stack, &s, pos, path, limits)?;
            }
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
            Event::Eof => break,
        }
    }
    if let Some(open) = stack.last() {
        return Err(xml_err(
            path,
            xml.len() as u64,
            format!(
                "unexpected end of file: <{}> opened at byte {} is not closed (truncated XML?)",
                open.name, open.pos
            ),
        ));
    }
    root.ok_or_else(|| IrError::NotAnIr { path: path.to_path_buf(), message: "the XML has no root element".into() })
}

/// The estimated memory of one parsed element without its children and text (see
/// `Limits::max_tree_bytes`): its struct twice (the parent's list of children grows by doubling),
/// its name, and per attribute the pair of strings twice plus the key and value bytes. Text is
/// bounded per element by `max_attr_len` and by the file size in total.
fn tree_cost(el: &El) -> u64 {
    const EL: u64 = std::mem::size_of::<El>() as u64;
    const ATTR: u64 = std::mem::size_of::<(String, String)>() as u64;
    let attrs: u64 = el.attrs.iter().map(|(k, v)| 2 * ATTR + (k.len() + v.len()) as u64).sum();
    2 * EL + el.name.len() as u64 + attrs
}

fn add_text(stack: &mut [El], s: &str, pos: u64, path: &Path, limits: &Limits) -> Result<(), IrError> {
    if s.trim().is_empty() {
        return Ok(());
    }
    let Some(top) = stack.last_mut() else {
        return Err(xml_err(path, pos, "text outside the root element"));
    };
    let text = top.text.get_or_insert_with(String::new);
    if text.len() + s.len() > limits.max_attr_len {
        return Err(limit_err(
            path,
            format!("the text length of <{}> at byte {}", top.name, top.pos),
            limits.max_attr_len as u64,
        ));
    }
    text.push_str(s.trim());
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// tree → Model

/// Parses an unsigned decimal integer the way OpenVINO's `get_uint64_attr` accepts it (whole
/// string, optional surrounding spaces, no sign).
fn parse_u64(s: &str) -> Option<u64> {
    let t = s.trim();
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    t.parse().ok()
}

fn truncate(v: &str) -> String {
    let mut s: String = v.chars().take(80).collect();
    if v.chars().count() > 80 {
        s.push('…');
    }
    s
}

struct Interpreter<'a> {
    path: &'a Path,
    limits: &'a Limits,
    bin_present: bool,
}

impl Interpreter<'_> {
    fn p(&self) -> PathBuf {
        self.path.to_path_buf()
    }

    fn not_ir(&self, message: impl Into<String>) -> IrError {
        IrError::NotAnIr { path: self.p(), message: message.into() }
    }

    fn layer_err(&self, layer: &LayerRef, message: impl Into<String>) -> IrError {
        IrError::Layer { path: self.p(), layer: layer.clone(), message: message.into() }
    }

    fn missing(&self, layer: &LayerRef, attribute: &str) -> IrError {
        IrError::Attribute {
            path: self.p(),
            source: AttrError::Missing { layer: layer.clone(), attribute: attribute.to_string() },
        }
    }

    fn malformed(&self, layer: &LayerRef, attribute: &str, value: &str, expected: &str) -> IrError {
        IrError::Attribute {
            path: self.p(),
            source: AttrError::Malformed {
                layer: layer.clone(),
                attribute: attribute.to_string(),
                value: truncate(value),
                expected: expected.to_string(),
            },
        }
    }

    fn limit(&self, what: impl Into<String>, limit: u64) -> IrError {
        limit_err(self.path, what, limit)
    }

    fn model(&self, root: El, bin: Vec<u8>) -> Result<Model, IrError> {
        if root.name != "net" {
            return Err(self.not_ir(format!(
                "the root element is <{}> at byte {}, expected <net> (an OpenVINO IR .xml)",
                root.name, root.pos
            )));
        }
        let version_text =
            root.attr("version").ok_or_else(|| self.not_ir("<net> has no `version` attribute"))?.to_string();
        let ir_version = match parse_u64(&version_text) {
            Some(v @ (10 | 11)) => v as u32,
            _ => return Err(IrError::UnsupportedVersion { path: self.p(), version: truncate(&version_text) }),
        };
        let name = root.attr("name").unwrap_or("").to_string();

        let mut layers_el = None;
        let mut edges_el = None;
        let mut rt_info = None;
        for child in root.children {
            match child.name.as_str() {
                "layers" | "edges" | "rt_info" => {
                    let slot = match child.name.as_str() {
                        "layers" => &mut layers_el,
                        "edges" => &mut edges_el,
                        _ => &mut rt_info,
                    };
                    if slot.is_some() {
                        return Err(self.not_ir(format!("a second <{}> in <net> at byte {}", child.name, child.pos)));
                    }
                    *slot = Some(child);
                }
                // Legacy mean-value preprocessing changes what the model computes; refusing it is
                // better than silently computing something else.
                "pre-process" => {
                    return Err(
                        self.not_ir(format!("the legacy <pre-process> section at byte {} is not supported", child.pos))
                    )
                }
                // Legacy v10 metadata (`meta_data`, `quantization_parameters`, ...): not semantics.
                _ => {}
            }
        }
        let layers_el = layers_el.ok_or_else(|| self.not_ir("<net> has no <layers> section"))?;

        let layer_els: Vec<El> = layers_el.children.into_iter().filter(|c| c.name == "layer").collect();
        if layer_els.len() > self.limits.max_layers {
            return Err(
                self.limit(format!("the number of layers ({})", layer_els.len()), self.limits.max_layers as u64)
            );
        }
        let mut nodes = Vec::with_capacity(layer_els.len());
        let mut by_id: HashMap<u64, usize> = HashMap::with_capacity(layer_els.len());
        for el in layer_els {
            let (num_id, node) = self.layer(el, &bin)?;
            if let Some(&first) = by_id.get(&num_id) {
                let first: &Node = &nodes[first];
                return Err(IrError::DuplicateLayerId {
                    path: self.p(),
                    id: node.id.clone(),
                    first: first.name.clone(),
                    second: node.name.clone(),
                });
            }
            by_id.insert(num_id, nodes.len());
            nodes.push(node);
        }

        let edges = match edges_el {
            Some(e) => self.edges(&e, &nodes, &by_id)?,
            None => Vec::new(),
        };

        Model::from_parts(ModelParts {
            name,
            ir_version,
            nodes,
            edges,
            rt_info: rt_info.map(El::into_xml_element),
            weights: Arc::new(bin),
            source: Some(self.p()),
        })
    }

    /// One `<layer>`: returns its numeric id and the node.
    fn layer(&self, mut el: El, bin: &[u8]) -> Result<(u64, Node), IrError> {
        let lref = LayerRef {
            id: el.attr("id").map(truncate).unwrap_or_else(|| "?".into()),
            name: el.attr("name").map(truncate).unwrap_or_default(),
            op_type: el.attr("type").map(truncate).unwrap_or_default(),
        };
        let lref =
            if el.attr("id").is_none() { LayerRef { id: format!("? (at byte {})", el.pos), ..lref } } else { lref };
        let required = |key: &str| el.attr(key).map(str::to_string).ok_or_else(|| self.missing(&lref, key));
        let id_text = required("id")?;
        let num_id =
            parse_u64(&id_text).ok_or_else(|| self.malformed(&lref, "id", &id_text, "a non-negative integer"))?;
        let name = required("name")?;
        let op_type = required("type")?;
        let version = required("version")?;
        // Canonical spelling, so that "07" and "7" (the same layer for OpenVINO) are one id.
        let lref = LayerRef { id: num_id.to_string(), ..lref };

        let mut data: Option<El> = None;
        let mut inputs_el: Option<El> = None;
        let mut outputs_el: Option<El> = None;
        let mut rt_info: Option<El> = None;
        for child in std::mem::take(&mut el.children) {
            let slot = match child.name.as_str() {
                "data" => &mut data,
                "input" => &mut inputs_el,
                "output" => &mut outputs_el,
                "rt_info" => &mut rt_info,
                "body" | "then_body" | "else_body" | "port_map" | "back_edges" => {
                    return Err(self.layer_err(
                        &lref,
                        format!("sub-graph layers (<{}> at byte {}) are not supported", child.name, child.pos),
                    ))
                }
                _ => continue,
            };
            if slot.is_some() {
                return Err(self.layer_err(&lref, format!("a second <{}> element at byte {}", child.name, child.pos)));
            }
            *slot = Some(child);
        }

        let inputs = self.ports(inputs_el, true, &lref)?;
        let outputs = self.ports(outputs_el, false, &lref)?;
        if inputs.len() + outputs.len() > self.limits.max_ports_per_layer {
            return Err(self.limit(
                format!("the number of ports of {lref} ({})", inputs.len() + outputs.len()),
                self.limits.max_ports_per_layer as u64,
            ));
        }
        let mut seen_ids: HashMap<u32, bool> = HashMap::new();
        for (p, is_input) in inputs.iter().map(|p| (p, true)).chain(outputs.iter().map(|p| (p, false))) {
            if seen_ids.insert(p.id, is_input).is_some() {
                return Err(self.layer_err(&lref, format!("port id {} is used by two ports", p.id)));
            }
        }

        // Attributes of the <layer> element itself beyond the four above (Result's `output_names`
        // in OpenVINO 2026) are kept in `attrs` under the prefix `@` (see `Node::attrs`), so that
        // they survive a write; `@` cannot start an XML attribute name, so they never collide.
        let mut attrs: Vec<(String, String)> = el
            .attrs
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "id" | "name" | "type" | "version"))
            .map(|(k, v)| (format!("{LAYER_ATTR_PREFIX}{k}"), v.clone()))
            .collect();
        attrs.extend(data.map(|d| d.attrs).unwrap_or_default());
        let mut node = Node {
            id: lref.id.clone(),
            name,
            op_type,
            version,
            attrs,
            inputs,
            outputs,
            rt_info: rt_info.map(El::into_xml_element),
            constant: None,
        };
        // The graph's sources and sinks have a fixed port layout, which everything downstream
        // (engines, inputs and outputs of the model) relies on.
        let (want_in, want_out) = match node.op_type.as_str() {
            "Parameter" => (Some(0), Some(1)),
            "Result" => (Some(1), Some(0)),
            _ => (None, None),
        };
        if want_in.is_some_and(|n| n != node.inputs.len()) || want_out.is_some_and(|n| n != node.outputs.len()) {
            return Err(self.layer_err(
                &lref,
                format!(
                    "a {} needs {} input and {} output ports, found {} and {}",
                    node.op_type,
                    want_in.unwrap_or(0),
                    want_out.unwrap_or(0),
                    node.inputs.len(),
                    node.outputs.len()
                ),
            ));
        }
        if node.op_type == "Const" {
            node.constant = Some(self.constant(&node, &lref, bin)?);
        }
        Ok((num_id, node))
    }

    fn ports(&self, section: Option<El>, is_input: bool, lref: &LayerRef) -> Result<Vec<Port>, IrError> {
        let Some(section) = section else { return Ok(Vec::new()) };
        let port_els: Vec<El> = section.children.into_iter().filter(|c| c.name == "port").collect();
        if port_els.len() > self.limits.max_ports_per_layer {
            return Err(self.limit(
                format!("the number of ports of {lref} ({})", port_els.len()),
                self.limits.max_ports_per_layer as u64,
            ));
        }
        port_els.into_iter().map(|p| self.port(p, is_input, lref)).collect()
    }

    fn port(&self, el: El, is_input: bool, lref: &LayerRef) -> Result<Port, IrError> {
        let kind = if is_input { "input" } else { "output" };
        let id_text = el
            .attr("id")
            .ok_or_else(|| self.layer_err(lref, format!("an {kind} port at byte {} has no `id` attribute", el.pos)))?;
        let id = parse_u64(id_text).and_then(|v| u32::try_from(v).ok()).ok_or_else(|| {
            self.layer_err(
                lref,
                format!(
                    "{kind} port id \"{}\" at byte {}: expected a non-negative integer below 2^32",
                    truncate(id_text),
                    el.pos
                ),
            )
        })?;
        let precision = el.attr("precision").map(str::to_string);
        if precision.is_none() && !is_input {
            return Err(self.layer_err(lref, format!("output port {id} has no `precision` attribute")));
        }
        let names = match el.attr("names") {
            Some(v) => split_names(v).ok_or_else(|| {
                self.layer_err(
                    lref,
                    format!("output port {id}: `names`=\"{}\" has an empty name between commas", truncate(v)),
                )
            })?,
            None => Vec::new(),
        };
        let other_attrs =
            el.attrs.iter().filter(|(k, _)| !matches!(k.as_str(), "id" | "precision" | "names")).cloned().collect();

        let mut dims = Vec::new();
        let mut rt_info = None;
        for child in el.children {
            match child.name.as_str() {
                "dim" => {
                    if dims.len() >= self.limits.max_rank {
                        return Err(
                            self.limit(format!("the rank of {kind} port {id} of {lref}"), self.limits.max_rank as u64)
                        );
                    }
                    let text = child.text.as_deref().unwrap_or("");
                    let dim = Dim::parse(text).ok_or_else(|| {
                        self.layer_err(
                            lref,
                            format!(
                                "{kind} port {id}: <dim> \"{}\" at byte {} is not a dimension (expected an integer >= -1, `?` or a range lo..hi)",
                                truncate(text),
                                child.pos
                            ),
                        )
                    })?;
                    let biggest = match dim {
                        Dim::Static(v) => v,
                        Dim::Dynamic => 0,
                        Dim::Range(lo, hi) => hi.unwrap_or(lo).max(lo),
                    };
                    if biggest > self.limits.max_dim {
                        return Err(self
                            .limit(format!("dimension {biggest} of {kind} port {id} of {lref}"), self.limits.max_dim));
                    }
                    dims.push(dim);
                }
                "rt_info" => rt_info = Some(child.into_xml_element()),
                _ => {}
            }
        }
        let shape = PartialShape(dims);
        if shape.is_static() {
            let product = shape.0.iter().try_fold(1u64, |acc, d| acc.checked_mul(d.as_static().unwrap_or(0)));
            if product.is_none() {
                return Err(self.layer_err(
                    lref,
                    format!("{kind} port {id}: the element count of shape {shape} overflows 64 bits"),
                ));
            }
        }
        Ok(Port { id, precision, shape, names, other_attrs, rt_info })
    }

    /// Checks a Const layer and returns its view into the weights.
    fn constant(&self, node: &Node, lref: &LayerRef, bin: &[u8]) -> Result<ConstView, IrError> {
        let attr_err = |source: AttrError| IrError::Attribute { path: self.p(), source };
        if !node.inputs.is_empty() {
            return Err(self.layer_err(lref, format!("a Const has no inputs, found {}", node.inputs.len())));
        }
        if node.outputs.len() != 1 {
            return Err(
                self.layer_err(lref, format!("a Const needs exactly one output port, found {}", node.outputs.len()))
            );
        }
        let et = node.attr_element_type("element_type").map_err(attr_err)?;
        let shape_text = node.attr_required("shape").map_err(attr_err)?;
        let shape = parse_const_shape(shape_text).ok_or_else(|| {
            self.malformed(
                lref,
                "shape",
                shape_text,
                "a comma-separated list of non-negative integers (\"\" for a scalar)",
            )
        })?;
        if shape.len() > self.limits.max_rank {
            return Err(self.limit(format!("the rank of the `shape` of {lref}"), self.limits.max_rank as u64));
        }
        if let Some(&big) = shape.iter().find(|&&d| d > self.limits.max_dim) {
            return Err(self.limit(format!("dimension {big} in the `shape` of {lref}"), self.limits.max_dim));
        }
        let shape_str = format!("[{}]", shape.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(","));
        let count = shape
            .iter()
            .try_fold(1u64, |acc, &d| acc.checked_mul(d))
            .ok_or_else(|| self.layer_err(lref, format!("the element count of shape {shape_str} overflows 64 bits")))?;
        let port = &node.outputs[0];
        let matches =
            port.shape.rank() == shape.len() && port.shape.0.iter().zip(&shape).all(|(d, &s)| *d == Dim::Static(s));
        if !matches {
            return Err(self.layer_err(
                lref,
                format!(
                    "the `shape` attribute {shape_str} does not match the output port {} dims {}",
                    port.id, port.shape
                ),
            ));
        }
        let offset = node.attr_u64("offset").map_err(attr_err)?;
        let size = node.attr_u64("size").map_err(attr_err)?;
        let bin_path = self.path.with_extension("bin");
        let werr = |message: String| IrError::Weights { path: bin_path.clone(), layer: lref.clone(), message };
        let needed = et
            .storage_bytes(count)
            .ok_or_else(|| werr(format!("the byte size of {count} elements of {et} overflows 64 bits")))?;
        if size < needed {
            return Err(werr(format!(
                "size {size} is less than the {needed} bytes its shape {shape_str} of {et} needs"
            )));
        }
        if !self.bin_present && size > 0 {
            return Err(werr("the weights file does not exist, and this Const needs bytes from it".into()));
        }
        let end = offset.checked_add(size);
        if end.is_none_or(|e| e > bin.len() as u64) {
            return Err(werr(format!(
                "offset {offset} + size {size} is past the end of the weights ({} bytes; truncated .bin?)",
                bin.len()
            )));
        }
        Ok(ConstView { element_type: et, offset, size })
    }

    fn edges(&self, el: &El, nodes: &[Node], by_id: &HashMap<u64, usize>) -> Result<Vec<Edge>, IrError> {
        let mut edges = Vec::new();
        let mut producer: HashMap<(usize, usize), usize> = HashMap::new();
        // Port id → (is an output, index), per layer: one hash lookup per edge end instead of a scan
        // of the layer's ports, so a layer with 65,536 ports and as many edges is not quadratic.
        // Its size is the number of ports read, so it is bounded by the file.
        let mut port_of: HashMap<(usize, u64), (bool, usize)> = HashMap::new();
        for (n, node) in nodes.iter().enumerate() {
            for (k, p) in node.inputs.iter().enumerate() {
                port_of.insert((n, u64::from(p.id)), (false, k));
            }
            for (k, p) in node.outputs.iter().enumerate() {
                port_of.insert((n, u64::from(p.id)), (true, k));
            }
        }
        for e in el.children_named("edge") {
            let raw = |k: &str| e.attr(k).map(truncate).unwrap_or_else(|| "(missing)".into());
            let (fl, fp, tl, tp) = (raw("from-layer"), raw("from-port"), raw("to-layer"), raw("to-port"));
            let err = |message: String| IrError::Edge {
                path: self.p(),
                from_layer: fl.clone(),
                from_port: fp.clone(),
                to_layer: tl.clone(),
                to_port: tp.clone(),
                message,
            };
            let num = |k: &str| -> Result<u64, IrError> {
                let v = e.attr(k).ok_or_else(|| err(format!("the <edge> at byte {} has no `{k}` attribute", e.pos)))?;
                parse_u64(v).ok_or_else(|| err(format!("`{k}` at byte {} is not a non-negative integer", e.pos)))
            };
            let (fl_n, fp_n, tl_n, tp_n) = (num("from-layer")?, num("from-port")?, num("to-layer")?, num("to-port")?);
            let from_node = *by_id.get(&fl_n).ok_or_else(|| err(format!("no layer has id {fl_n} (dangling edge)")))?;
            let to_node = *by_id.get(&tl_n).ok_or_else(|| err(format!("no layer has id {tl_n} (dangling edge)")))?;
            let (src, dst) = (&nodes[from_node], &nodes[to_node]);
            let from_output = match port_of.get(&(from_node, fp_n)) {
                Some(&(true, i)) => i,
                Some(&(false, _)) => {
                    return Err(err(format!(
                        "port {fp_n} of {} is an input port; an edge must start at an output port",
                        src.layer_ref()
                    )))
                }
                None => return Err(err(format!("{} has no port {fp_n}", src.layer_ref()))),
            };
            let to_input = match port_of.get(&(to_node, tp_n)) {
                Some(&(false, i)) => i,
                Some(&(true, _)) => {
                    return Err(err(format!(
                        "port {tp_n} of {} is an output port; an edge must end at an input port",
                        dst.layer_ref()
                    )))
                }
                None => return Err(err(format!("{} has no port {tp_n}", dst.layer_ref()))),
            };
            if let Some(&prev) = producer.get(&(to_node, to_input)) {
                let prev: &Edge = &edges[prev];
                return Err(err(format!(
                    "input port {tp_n} of {} already has a producer (layer {})",
                    dst.layer_ref(),
                    nodes[prev.from_node].id
                )));
            }
            producer.insert((to_node, to_input), edges.len());
            edges.push(Edge { from_node, from_output, to_node, to_input });
        }
        Ok(edges)
    }
}

/// Splits `names="a,b\,c"` into `["a", "b,c"]` as OpenVINO's reader does: a name whose last
/// character is a backslash continues with a comma and the next piece. `None` for an empty piece.
pub fn split_names(v: &str) -> Option<Vec<String>> {
    if v.is_empty() {
        return Some(Vec::new());
    }
    let pieces: Vec<&str> = v.split(',').collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < pieces.len() {
        let mut name = pieces[i].to_string();
        if name.is_empty() {
            return None;
        }
        while name.ends_with('\\') && i + 1 < pieces.len() {
            name.pop();
            name.push(',');
            i += 1;
            name.push_str(pieces[i]);
        }
        out.push(name);
        i += 1;
    }
    Some(out)
}

/// Parses a Const `shape` attribute (`"8, 4, 3, 3"`, `""` for a scalar).
fn parse_const_shape(s: &str) -> Option<Vec<u64>> {
    if s.trim().is_empty() {
        return Some(Vec::new());
    }
    s.split(',').map(parse_u64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_split_on_unescaped_commas() {
        assert_eq!(split_names("a,b"), Some(vec!["a".to_string(), "b".to_string()]));
        assert_eq!(split_names("a\\,b,c"), Some(vec!["a,b".to_string(), "c".to_string()]));
        assert_eq!(split_names(""), Some(vec![]));
        assert_eq!(split_names("a,,b"), None);
    }

    #[test]
    fn xml_names_follow_pugixml() {
        for ok in ["net", "from-layer", "_x", "a:b", "x.1", "\u{e9}t\u{e9}"] {
            assert!(is_xml_name(ok.as_bytes()), "{ok}");
        }
        for bad in ["", "@auto_broadcast", "1a", "-a", "a b", "a=b", "a\"b"] {
            assert!(!is_xml_name(bad.as_bytes()), "{bad}");
        }
    }

    #[test]
    fn const_shapes_parse_like_openvino_writes_them() {
        assert_eq!(parse_const_shape("8, 4, 3, 3"), Some(vec![8, 4, 3, 3]));
        assert_eq!(parse_const_shape(""), Some(vec![]));
        assert_eq!(parse_const_shape("1,-2"), None);
        assert_eq!(parse_u64(" 12 "), Some(12));
        assert_eq!(parse_u64("+1"), None);
    }
}
