//! Writes a [`Model`] as IR v11 (`.xml` + `.bin`) in the style OpenVINO 2026 serializes
//! (`src/core/src/pass/serialize.cpp`, `ngfunction_2_ir`), also for models read from v10:
//! * `<?xml version="1.0"?>`, tab indentation, empty elements as `<x a="b" />`;
//! * `<layer id name type version>` holding `<data>` (omitted when empty), `<rt_info>`, `<input>`,
//!   `<output>`; ports as `<port id precision names>` with `<dim>` children, then `<rt_info>`;
//! * Const `offset`/`size` rewritten for the new `.bin`, which holds only the bytes the constants
//!   need (`ceil(n·bits/8)`), identical blobs written once (`ConstantWriter::write` deduplicates by
//!   content), no padding;
//! * tensor names joined with `,`, a comma inside a name escaped as `\,` (`escape_delim`);
//! * edges sorted by producer layer id (`create_edge_mapping` sorts by `from_layer` with the
//!   unstable `std::sort`; [`libstdcxx_sort`] replays it, so even edges sharing a producer come
//!   out in OpenVINO's order: every v11 corpus IR is reproduced byte for byte);
//! * dynamic port dims as `-1` (OpenVINO's reader parses port dims as integers, so ranges are not
//!   written there).
//!
//! Layer ids, layer order and port ids are kept as in the model (OpenVINO renumbers in topological
//! order; a model OpenVINO wrote is already numbered so), so read → write → read gives an equal model.

use crate::error::IrError;
use crate::model::{Model, Node, Port, XmlElement, LAYER_ATTR_PREFIX};
use crate::shape::{element_count, Dim};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;

/// Writes `xml_path` and the `.bin` with the same stem beside it.
pub fn write_model(model: &Model, xml_path: &Path) -> Result<(), IrError> {
    let (xml, bin) = write_model_to_bytes(model)?;
    let bin_path = xml_path.with_extension("bin");
    std::fs::write(&bin_path, bin).map_err(|source| IrError::Write { path: bin_path, source })?;
    std::fs::write(xml_path, xml).map_err(|source| IrError::Write { path: xml_path.to_path_buf(), source })
}

/// The `.xml` text and `.bin` bytes of a model.
pub fn write_model_to_bytes(model: &Model) -> Result<(String, Vec<u8>), IrError> {
    let path = model.source().map(Path::to_path_buf).unwrap_or_default();
    let mut bin: Vec<u8> = Vec::new();
    // Content → offset of its first copy in the new blob.
    let mut written: HashMap<&[u8], u64> = HashMap::new();
    let mut const_pos: Vec<Option<(u64, u64)>> = vec![None; model.nodes().len()];
    for (i, node) in model.nodes().iter().enumerate() {
        if node.is_const() && node.constant.is_none() {
            return Err(IrError::Layer {
                path: path.clone(),
                layer: node.layer_ref(),
                message: "a Const layer without data (no view into the weights)".into(),
            });
        }
        let Some(view) = node.constant else { continue };
        let err =
            |message: String| IrError::Weights { path: path.with_extension("bin"), layer: node.layer_ref(), message };
        let dims = node
            .outputs
            .first()
            .and_then(|p| p.shape.to_static())
            .ok_or_else(|| err("a Const needs one output port with a static shape".into()))?;
        let count = element_count(&dims).ok_or_else(|| err("the element count overflows".into()))?;
        let needed =
            view.element_type.storage_bytes(count as u64).ok_or_else(|| err("the byte size overflows".into()))?;
        let bytes = model
            .const_bytes(i)
            .and_then(|b| b.get(..needed as usize))
            .ok_or_else(|| err(format!("the weights hold fewer than the {needed} bytes the shape needs")))?;
        let offset = match written.get(bytes) {
            Some(&o) => o,
            None => {
                let o = bin.len() as u64;
                bin.extend_from_slice(bytes);
                written.insert(bytes, o);
                o
            }
        };
        const_pos[i] = Some((offset, needed));
    }

    let mut x = String::with_capacity(256 + model.nodes().len() * 512);
    x.push_str("<?xml version=\"1.0\"?>\n");
    let _ = writeln!(x, "<net name=\"{}\" version=\"11\">", esc_attr(&model.name));
    x.push_str("\t<layers>\n");
    for (i, node) in model.nodes().iter().enumerate() {
        write_layer(&mut x, node, const_pos[i], &path)?;
    }
    x.push_str("\t</layers>\n");

    // Edges in the order `create_edge_mapping` builds them: consumers in `get_ordered_ops()` order
    // (the order OpenVINO numbered the layers in, so by layer id), each consumer's inputs in
    // order; then sorted by producer layer id with the same algorithm OpenVINO's (libstdc++)
    // `std::sort` runs, so that edges sharing a producer come out in OpenVINO's order too.
    let mut edges: Vec<(u64, u32, u64, u32, usize)> = Vec::with_capacity(model.edges().len());
    for (c, node) in model.nodes().iter().enumerate() {
        for (k, port) in node.inputs.iter().enumerate() {
            let (p, o) = model.source_of(c, k);
            let producer = model.node(p);
            edges.push((layer_id(producer, &path)?, producer.outputs[o].id, layer_id(node, &path)?, port.id, k));
        }
    }
    edges.sort_by_key(|e| (e.2, e.4));
    libstdcxx_sort(&mut edges, |a, b| a.0 < b.0);
    x.push_str("\t<edges>\n");
    for (fl, fp, tl, tp, _) in edges {
        let _ = writeln!(x, "\t\t<edge from-layer=\"{fl}\" from-port=\"{fp}\" to-layer=\"{tl}\" to-port=\"{tp}\" />");
    }
    x.push_str("\t</edges>\n");
    if let Some(rt) = &model.rt_info {
        write_element(&mut x, rt, 1);
    }
    x.push_str("</net>\n");
    Ok((x, bin))
}

/// libstdc++'s `std::sort` (introsort: median-of-three quicksort down to runs of 16, then
/// insertion sort), step for step, so that elements comparing equal end up where OpenVINO's
/// serializer puts them. When the recursion depth limit is reached libstdc++ switches to heap sort;
/// this falls back to a stable sort of that range instead (never reached by edge lists sorted on
/// a key with many distinct values). `less` must be a strict weak order, as `std::sort` requires
/// (the partition relies on it to stay in bounds).
pub fn libstdcxx_sort<T>(v: &mut [T], less: impl Fn(&T, &T) -> bool + Copy) {
    const THRESHOLD: usize = 16;
    fn introsort_loop<T>(v: &mut [T], mut depth: u32, less: impl Fn(&T, &T) -> bool + Copy) {
        let mut last = v.len();
        while last > THRESHOLD {
            if depth == 0 {
                v[..last].sort_by(|a, b| {
                    if less(a, b) {
                        std::cmp::Ordering::Less
                    } else if less(b, a) {
                        std::cmp::Ordering::Greater
                    } else {
                        std::cmp::Ordering::Equal
                    }
                });
                return;
            }
            depth -= 1;
            // __unguarded_partition_pivot: median of v[1], v[mid], v[last-1] moved to v[0].
            let mid = last / 2;
            let (a, b, c) = (1, mid, last - 1);
            let pick = if less(&v[a], &v[b]) {
                if less(&v[b], &v[c]) {
                    b
                } else if less(&v[a], &v[c]) {
                    c
                } else {
                    a
                }
            } else if less(&v[a], &v[c]) {
                a
            } else if less(&v[b], &v[c]) {
                c
            } else {
                b
            };
            v.swap(0, pick);
            // __unguarded_partition(first + 1, last, pivot = first).
            let (mut lo, mut hi) = (1, last);
            let cut = loop {
                while less(&v[lo], &v[0]) {
                    lo += 1;
                }
                hi -= 1;
                while less(&v[0], &v[hi]) {
                    hi -= 1;
                }
                if lo >= hi {
                    break lo;
                }
                v.swap(lo, hi);
                lo += 1;
            };
            introsort_loop(&mut v[cut..last], depth, less);
            last = cut;
        }
    }
    // __unguarded_linear_insert: moves v[i] left past every element it is less than.
    fn linear_insert<T>(v: &mut [T], mut i: usize, less: impl Fn(&T, &T) -> bool) {
        while i > 0 && less(&v[i], &v[i - 1]) {
            v.swap(i, i - 1);
            i -= 1;
        }
    }
    let n = v.len();
    if n < 2 {
        return;
    }
    let depth = 2 * (usize::BITS - 1 - n.leading_zeros());
    introsort_loop(v, depth, less);
    // __final_insertion_sort: insertion sort, unguarded past the first 16 (same result).
    for i in 1..n {
        linear_insert(v, i, less);
    }
}

fn layer_id(node: &Node, path: &Path) -> Result<u64, IrError> {
    node.id.trim().parse::<u64>().map_err(|_| IrError::Layer {
        path: path.to_path_buf(),
        layer: node.layer_ref(),
        message: "the layer id must be a non-negative integer for OpenVINO to read the IR".into(),
    })
}

fn write_layer(x: &mut String, node: &Node, const_pos: Option<(u64, u64)>, path: &Path) -> Result<(), IrError> {
    let id = layer_id(node, path)?;
    let _ = write!(
        x,
        "\t\t<layer id=\"{id}\" name=\"{}\" type=\"{}\" version=\"{}\"",
        esc_attr(&node.name),
        esc_attr(&node.op_type),
        esc_attr(&node.version)
    );
    for (k, v) in node.attrs.iter().filter_map(|(k, v)| k.strip_prefix(LAYER_ATTR_PREFIX).map(|k| (k, v))) {
        let _ = write!(x, " {k}=\"{}\"", esc_attr(v));
    }
    x.push_str(">\n");

    let mut data: Vec<(String, String)> =
        node.attrs.iter().filter(|(k, _)| !k.starts_with(LAYER_ATTR_PREFIX)).cloned().collect();
    if let (Some(view), Some((offset, size))) = (node.constant, const_pos) {
        // OpenVINO's Constant writes element_type, shape, offset, size in this order.
        let shape = node.outputs.first().map(|p| p.shape.0.iter().map(|d| d.to_string()).collect::<Vec<_>>());
        let shape = shape.unwrap_or_default().join(", ");
        let mut rest: Vec<(String, String)> = data
            .into_iter()
            .filter(|(k, _)| !matches!(k.as_str(), "element_type" | "shape" | "offset" | "size"))
            .collect();
        data = vec![
            ("element_type".into(), view.element_type.ir_name().into()),
            ("shape".into(), shape),
            ("offset".into(), offset.to_string()),
            ("size".into(), size.to_string()),
        ];
        data.append(&mut rest);
    }
    if !data.is_empty() {
        x.push_str("\t\t\t<data");
        for (k, v) in &data {
            let _ = write!(x, " {k}=\"{}\"", esc_attr(v));
        }
        x.push_str(" />\n");
    }
    if let Some(rt) = &node.rt_info {
        write_element(x, rt, 3);
    }
    for (tag, ports) in [("input", &node.inputs), ("output", &node.outputs)] {
        if ports.is_empty() {
            continue;
        }
        let _ = writeln!(x, "\t\t\t<{tag}>");
        for p in ports.iter() {
            write_port(x, p);
        }
        let _ = writeln!(x, "\t\t\t</{tag}>");
    }
    x.push_str("\t\t</layer>\n");
    Ok(())
}

fn write_port(x: &mut String, p: &Port) {
    let _ = write!(x, "\t\t\t\t<port id=\"{}\"", p.id);
    if let Some(prec) = &p.precision {
        let _ = write!(x, " precision=\"{}\"", esc_attr(prec));
    }
    if !p.names.is_empty() {
        let names: Vec<String> = p.names.iter().map(|n| n.replace(',', "\\,")).collect();
        let _ = write!(x, " names=\"{}\"", esc_attr(&names.join(",")));
    }
    for (k, v) in &p.other_attrs {
        let _ = write!(x, " {k}=\"{}\"", esc_attr(v));
    }
    if p.shape.0.is_empty() && p.rt_info.is_none() {
        x.push_str(" />\n");
        return;
    }
    x.push_str(">\n");
    for d in &p.shape.0 {
        let text = match d {
            Dim::Static(v) => v.to_string(),
            Dim::Dynamic | Dim::Range(..) => "-1".to_string(),
        };
        let _ = writeln!(x, "\t\t\t\t\t<dim>{text}</dim>");
    }
    if let Some(rt) = &p.rt_info {
        write_element(x, rt, 5);
    }
    x.push_str("\t\t\t\t</port>\n");
}

/// Writes a kept element (rt_info) verbatim at `depth` tabs.
fn write_element(x: &mut String, el: &XmlElement, depth: usize) {
    let indent = "\t".repeat(depth);
    let _ = write!(x, "{indent}<{}", el.name);
    for (k, v) in &el.attrs {
        let _ = write!(x, " {k}=\"{}\"", esc_attr(v));
    }
    match (&el.text, el.children.is_empty()) {
        (None, true) => x.push_str(" />\n"),
        (Some(t), true) => {
            let _ = writeln!(x, ">{}</{}>", esc_text(t), el.name);
        }
        (text, false) => {
            x.push_str(">\n");
            if let Some(t) = text {
                let _ = writeln!(x, "{indent}\t{}", esc_text(t));
            }
            for c in &el.children {
                write_element(x, c, depth + 1);
            }
            let _ = writeln!(x, "{indent}</{}>", el.name);
        }
    }
}

/// Escapes an attribute value as pugixml does: `& < > "` as entities, control characters as
/// character references (so tabs and newlines survive the reader's attribute normalization).
pub fn esc_attr(v: &str) -> String {
    let mut s = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '&' => s.push_str("&amp;"),
            '<' => s.push_str("&lt;"),
            '>' => s.push_str("&gt;"),
            '"' => s.push_str("&quot;"),
            c if (c as u32) < 0x20 => {
                let _ = write!(s, "&#{};", c as u32);
            }
            c => s.push(c),
        }
    }
    s
}

/// Escapes text content as pugixml does (`ctx_special_pcdata`): `& < >` as entities, control
/// characters other than tab, LF and CR as character references. Raw control characters are not
/// XML, and the reader refuses them; a text read from `&#11;` must be written back so.
fn esc_text(v: &str) -> String {
    let mut s = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '&' => s.push_str("&amp;"),
            '<' => s.push_str("&lt;"),
            '>' => s.push_str("&gt;"),
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {
                let _ = write!(s, "&#{};", c as u32);
            }
            c => s.push(c),
        }
    }
    s
}

/// The first difference between two models that read → write → read must preserve: name, layers
/// (id, name, type, version, attributes, ports, rt_info, constant element types), edges, model
/// rt_info and every constant's tensor (compared bitwise). Const `offset`/`size` are where the
/// bytes sit, not what they are, and are not compared; a Const's `element_type` and `shape` are
/// compared as values (its element type and output dims), since the writer spells them as
/// OpenVINO does; the IR version is not compared (the writer always writes 11). Dynamic and
/// ranged port dims compare equal (the writer writes both as `-1`).
pub fn model_difference(a: &Model, b: &Model) -> Option<String> {
    if a.name != b.name {
        return Some(format!("name {:?} vs {:?}", a.name, b.name));
    }
    if a.nodes().len() != b.nodes().len() {
        return Some(format!("{} layers vs {}", a.nodes().len(), b.nodes().len()));
    }
    for (i, (x, y)) in a.nodes().iter().zip(b.nodes()).enumerate() {
        let at = || format!("layer {} \"{}\"", x.id, x.name);
        if (&x.id, &x.name, &x.op_type, &x.version) != (&y.id, &y.name, &y.op_type, &y.version) {
            return Some(format!("{}: header differs from layer {} \"{}\" ({})", at(), y.id, y.name, y.op_type));
        }
        let attrs = |n: &Node| -> Vec<(String, String)> {
            let mut v: Vec<(String, String)> = n
                .attrs
                .iter()
                .filter(|(k, _)| {
                    !(n.constant.is_some() && matches!(k.as_str(), "element_type" | "shape" | "offset" | "size"))
                })
                .cloned()
                .collect();
            if n.constant.is_some() {
                v.sort();
            }
            v
        };
        if attrs(x) != attrs(y) {
            return Some(format!("{}: attributes {:?} vs {:?}", at(), attrs(x), attrs(y)));
        }
        if x.rt_info != y.rt_info {
            return Some(format!("{}: rt_info differs", at()));
        }
        for (kind, px, py) in [("inputs", &x.inputs, &y.inputs), ("outputs", &x.outputs, &y.outputs)] {
            if px.len() != py.len() {
                return Some(format!("{}: {} {kind} vs {}", at(), px.len(), py.len()));
            }
            for (p, q) in px.iter().zip(py.iter()) {
                let same_dims = p.shape.rank() == q.shape.rank()
                    && p.shape.0.iter().zip(&q.shape.0).all(|(d, e)| match (d, e) {
                        (Dim::Static(u), Dim::Static(v)) => u == v,
                        (Dim::Static(_), _) | (_, Dim::Static(_)) => false,
                        _ => true,
                    });
                if p.id != q.id
                    || p.precision != q.precision
                    || p.names != q.names
                    || p.other_attrs != q.other_attrs
                    || p.rt_info != q.rt_info
                    || !same_dims
                {
                    return Some(format!("{}: {kind} port {} differs: {:?} vs {:?}", at(), p.id, p, q));
                }
            }
        }
        match (x.constant, y.constant) {
            (None, None) => {}
            (Some(cx), Some(cy)) if cx.element_type == cy.element_type => {
                let tx = a.const_tensor(i).map(|t| crate::model::encode(t.element_type, &t.data));
                let ty = b.const_tensor(i).map(|t| crate::model::encode(t.element_type, &t.data));
                match (tx, ty) {
                    (Ok(u), Ok(v)) if u == v => {}
                    (Ok(_), Ok(_)) => return Some(format!("{}: constant values differ", at())),
                    (Err(e), _) | (_, Err(e)) => return Some(format!("{}: {e}", at())),
                }
            }
            _ => return Some(format!("{}: constant views differ", at())),
        }
    }
    let mut ea = a.edges().to_vec();
    let mut eb = b.edges().to_vec();
    let key = |e: &crate::model::Edge| (e.to_node, e.to_input, e.from_node, e.from_output);
    ea.sort_by_key(key);
    eb.sort_by_key(key);
    if ea != eb {
        return Some("edges differ".into());
    }
    if a.rt_info != b.rt_info {
        return Some("model rt_info differs".into());
    }
    None
}
