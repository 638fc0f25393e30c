//! One test per malformed-input class: each asserts the typed error variant and that the message
//! names the file and the problem (and, where there is one, the layer). ERRORS.md lists them.

#![allow(clippy::unwrap_used, clippy::result_large_err)] // tests: a failed unwrap is a failed test

use conform_ir::reader::{read_model_from_bytes_with_limits, read_model_with_limits};
use conform_ir::{read_model, read_model_from_bytes, AttrError, IrError, Limits, Model};
use std::path::Path;

/// A valid IR: Parameter x[1,2] + Const c[1,2] → Add → Result.
const TINY: &str = r#"<?xml version="1.0"?>
<net name="tiny" version="11">
	<layers>
		<layer id="0" name="x" type="Parameter" version="opset1">
			<data shape="1,2" element_type="f32" />
			<output>
				<port id="0" precision="FP32" names="x">
					<dim>1</dim>
					<dim>2</dim>
				</port>
			</output>
		</layer>
		<layer id="1" name="c" type="Const" version="opset1">
			<data element_type="f32" shape="1, 2" offset="0" size="8" />
			<output>
				<port id="0" precision="FP32">
					<dim>1</dim>
					<dim>2</dim>
				</port>
			</output>
		</layer>
		<layer id="2" name="add" type="Add" version="opset1">
			<data auto_broadcast="numpy" />
			<input>
				<port id="0" precision="FP32"><dim>1</dim><dim>2</dim></port>
				<port id="1" precision="FP32"><dim>1</dim><dim>2</dim></port>
			</input>
			<output>
				<port id="2" precision="FP32" names="y"><dim>1</dim><dim>2</dim></port>
			</output>
		</layer>
		<layer id="3" name="out" type="Result" version="opset1">
			<input>
				<port id="0" precision="FP32"><dim>1</dim><dim>2</dim></port>
			</input>
		</layer>
	</layers>
	<edges>
		<edge from-layer="0" from-port="0" to-layer="2" to-port="0" />
		<edge from-layer="1" from-port="0" to-layer="2" to-port="1" />
		<edge from-layer="2" from-port="2" to-layer="3" to-port="0" />
	</edges>
	<rt_info />
</net>
"#;

fn bin() -> Vec<u8> {
    [1.0f32, 2.0].iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn read(xml: &str) -> Result<Model, IrError> {
    read_model_from_bytes(xml.as_bytes(), bin(), Path::new("tiny.xml"))
}

/// Replaces exactly one occurrence (so a typo in a test cannot silently test nothing).
fn with(from: &str, to: &str) -> String {
    assert_eq!(TINY.matches(from).count(), 1, "{from:?} must occur once in TINY");
    TINY.replacen(from, to, 1)
}

/// The error, with its message checked for the file name and every expected fragment.
fn err_of(r: Result<Model, IrError>, fragments: &[&str]) -> IrError {
    let e = r.expect_err("the reader accepted a malformed IR");
    let msg = e.to_string();
    // Shown with --nocapture: the messages ERRORS.md lists.
    eprintln!("MESSAGE\t{}\t{msg}", std::thread::current().name().unwrap_or("?"));
    assert!(msg.contains("tiny.xml") || msg.contains("tiny.bin"), "message does not name the file: {msg}");
    for f in fragments {
        assert!(msg.contains(f), "message {msg:?} does not contain {f:?}");
    }
    e
}

#[test]
fn the_base_model_is_valid() {
    let m = read(TINY).unwrap();
    assert_eq!(m.nodes().len(), 4);
    assert_eq!(m.const_tensor(1).unwrap().as_f32().unwrap(), &[1.0, 2.0]);
}

// --- files that are not XML, or not an IR ------------------------------------------------------

#[test]
fn empty_file() {
    let e = err_of(read(""), &["empty"]);
    assert!(matches!(e, IrError::NotAnIr { .. }), "{e:?}");
}

#[test]
fn binary_garbage() {
    let garbage: Vec<u8> = (0..512u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    let e = err_of(read_model_from_bytes(&garbage, bin(), Path::new("tiny.xml")), &["not UTF-8"]);
    assert!(matches!(e, IrError::Xml { .. }), "{e:?}");
}

#[test]
fn non_xml_text() {
    let e = err_of(read("this is a README, not a model\n"), &["text outside the root element"]);
    assert!(matches!(e, IrError::Xml { position: 0, .. }), "{e:?}");
}

#[test]
fn truncated_xml() {
    let cut = &TINY[..TINY.len() / 2];
    let e = err_of(read(cut), &["not closed", "truncated"]);
    assert!(matches!(e, IrError::Xml { .. }), "{e:?}");
}

#[test]
fn mismatched_closing_tag() {
    let e = err_of(read(&with("\t</edges>", "\t</edgez>")), &["edgez"]);
    assert!(matches!(e, IrError::Xml { .. }), "{e:?}");
}

#[test]
fn undefined_entity() {
    let e = err_of(read(&with("name=\"add\"", "name=\"a&bogus;\"")), &["bogus"]);
    assert!(matches!(e, IrError::Xml { .. }), "{e:?}");
}

#[test]
fn entity_expansion_bomb() {
    // "Billion laughs": entities declared in a DOCTYPE are never expanded, so the first use is an
    // unknown entity, found at once and without memory growth.
    let mut dtd = String::from("<!DOCTYPE net [<!ENTITY lol \"lol\">");
    for k in 1..10 {
        let prev = if k == 1 { "lol".to_string() } else { format!("lol{}", k - 1) };
        dtd.push_str(&format!("<!ENTITY lol{k} \"{}\">", format!("&{prev};").repeat(10)));
    }
    dtd.push_str("]>\n");
    let xml = with("name=\"add\"", "name=\"&lol9;\"").replacen("<net ", &format!("{dtd}<net "), 1);
    let e = err_of(read(&xml), &["lol9"]);
    assert!(matches!(e, IrError::Xml { .. }), "{e:?}");
}

#[test]
fn duplicate_xml_attribute() {
    let e = err_of(
        read(&with("<data auto_broadcast=\"numpy\" />", "<data auto_broadcast=\"numpy\" auto_broadcast=\"none\" />")),
        &["<data>", "duplicated attribute"],
    );
    assert!(matches!(e, IrError::Xml { .. }), "{e:?}");
}

#[test]
fn two_root_elements() {
    let e = err_of(read(&format!("{TINY}<net version=\"11\" />")), &["second root element"]);
    assert!(matches!(e, IrError::Xml { .. }), "{e:?}");
}

#[test]
fn xml_that_is_not_an_ir() {
    let e = err_of(read("<?xml version=\"1.0\"?><html><body>hello</body></html>"), &["<html>", "expected <net>"]);
    assert!(matches!(e, IrError::NotAnIr { .. }), "{e:?}");
}

#[test]
fn unsupported_version() {
    let e = err_of(read(&with("version=\"11\">", "version=\"7\">")), &["version 7", "10 and 11"]);
    assert!(matches!(e, IrError::UnsupportedVersion { ref version, .. } if version == "7"), "{e:?}");
}

#[test]
fn missing_version() {
    let e = err_of(read(&with("<net name=\"tiny\" version=\"11\">", "<net name=\"tiny\">")), &["no `version`"]);
    assert!(matches!(e, IrError::NotAnIr { .. }), "{e:?}");
}

#[test]
fn missing_layers_section() {
    let start = TINY.find("\t<layers>").unwrap();
    let end = TINY.find("</layers>\n").unwrap() + "</layers>\n".len();
    let xml = format!("{}{}", &TINY[..start], &TINY[end..]);
    let e = err_of(read(&xml), &["no <layers>"]);
    assert!(matches!(e, IrError::NotAnIr { .. }), "{e:?}");
}

#[test]
fn legacy_preprocess_section() {
    let e = err_of(read(&with("\t<rt_info />", "\t<pre-process reference-layer-name=\"x\" />")), &["pre-process"]);
    assert!(matches!(e, IrError::NotAnIr { .. }), "{e:?}");
}

// --- weights ------------------------------------------------------------------------------------

#[test]
fn truncated_bin() {
    let e = err_of(
        read_model_from_bytes(TINY.as_bytes(), bin()[..5].to_vec(), Path::new("tiny.xml")),
        &["layer 1 \"c\" (Const)", "past the end", "5 bytes"],
    );
    assert!(matches!(e, IrError::Weights { .. }), "{e:?}");
}

#[test]
fn offset_past_end() {
    let e =
        err_of(read(&with("offset=\"0\" size=\"8\"", "offset=\"4096\" size=\"8\"")), &["offset 4096", "past the end"]);
    assert!(matches!(e, IrError::Weights { .. }), "{e:?}");
}

#[test]
fn offset_plus_size_overflows() {
    let e =
        err_of(read(&with("offset=\"0\" size=\"8\"", "offset=\"18446744073709551615\" size=\"8\"")), &["past the end"]);
    assert!(matches!(e, IrError::Weights { .. }), "{e:?}");
}

#[test]
fn size_too_small_for_shape() {
    let e = err_of(read(&with("offset=\"0\" size=\"8\"", "offset=\"0\" size=\"7\"")), &["size 7", "8 bytes", "[1,2]"]);
    assert!(matches!(e, IrError::Weights { .. }), "{e:?}");
}

#[test]
fn missing_bin_when_a_const_needs_bytes() {
    let dir = std::env::temp_dir().join(format!("conform-ir-nobin-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let xml = dir.join("tiny.xml");
    std::fs::write(&xml, TINY).unwrap();
    let e = err_of(read_model(&xml), &["does not exist", "layer 1 \"c\""]);
    assert!(matches!(e, IrError::Weights { .. }), "{e:?}");
    // Without any Const needing bytes the missing .bin is fine.
    std::fs::write(&xml, with("offset=\"0\" size=\"8\"", "offset=\"0\" size=\"8\"").replace("shape=\"1, 2\" offset=\"0\" size=\"8\"", "shape=\"1, 0\" offset=\"0\" size=\"0\"").replace(
        "<port id=\"0\" precision=\"FP32\">\n\t\t\t\t\t<dim>1</dim>\n\t\t\t\t\t<dim>2</dim>\n\t\t\t\t</port>\n\t\t\t</output>\n\t\t</layer>\n\t\t<layer id=\"2\"",
        "<port id=\"0\" precision=\"FP32\">\n\t\t\t\t\t<dim>1</dim>\n\t\t\t\t\t<dim>0</dim>\n\t\t\t\t</port>\n\t\t\t</output>\n\t\t</layer>\n\t\t<layer id=\"2\"",
    )).unwrap();
    let m = read_model_with_limits(&xml, &Limits::default()).unwrap();
    assert_eq!(m.const_tensor(1).unwrap().len(), 0);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn missing_xml_file() {
    let e = read_model(Path::new("/nonexistent/dir/model.xml")).unwrap_err();
    assert!(matches!(e, IrError::Io { .. }), "{e:?}");
    assert!(e.to_string().contains("/nonexistent/dir/model.xml"));
}

// --- Const layers -------------------------------------------------------------------------------

#[test]
fn shape_product_overflowing_u64() {
    let xml = with("shape=\"1, 2\" offset", "shape=\"4294967296, 4294967296, 16\" offset").replace(
        "<port id=\"0\" precision=\"FP32\">\n\t\t\t\t\t<dim>1</dim>\n\t\t\t\t\t<dim>2</dim>\n\t\t\t\t</port>\n\t\t\t</output>\n\t\t</layer>\n\t\t<layer id=\"2\"",
        "<port id=\"0\" precision=\"FP32\">\n\t\t\t\t\t<dim>4294967296</dim>\n\t\t\t\t\t<dim>4294967296</dim>\n\t\t\t\t\t<dim>16</dim>\n\t\t\t\t</port>\n\t\t\t</output>\n\t\t</layer>\n\t\t<layer id=\"2\"",
    );
    let e = err_of(read(&xml), &["overflows 64 bits", "layer 1 \"c\" (Const)"]);
    assert!(matches!(e, IrError::Layer { .. }), "{e:?}");
}

#[test]
fn unknown_element_type() {
    let e = err_of(
        read(&with("element_type=\"f32\" shape=\"1, 2\"", "element_type=\"f8e4m3\" shape=\"1, 2\"")),
        &["element_type", "f8e4m3", "known element type"],
    );
    assert!(matches!(e, IrError::Attribute { source: AttrError::Malformed { .. }, .. }), "{e:?}");
}

#[test]
fn missing_attribute() {
    let e = err_of(
        read(&with("offset=\"0\" size=\"8\"", "size=\"8\"")),
        &["missing attribute `offset`", "layer 1 \"c\" (Const)"],
    );
    assert!(matches!(e, IrError::Attribute { source: AttrError::Missing { .. }, .. }), "{e:?}");
}

#[test]
fn malformed_number() {
    let e = err_of(read(&with("size=\"8\"", "size=\"8bytes\"")), &["`size`", "8bytes", "non-negative integer"]);
    assert!(matches!(e, IrError::Attribute { source: AttrError::Malformed { .. }, .. }), "{e:?}");
}

#[test]
fn malformed_const_shape() {
    let e = err_of(read(&with("shape=\"1, 2\" offset", "shape=\"1, -2\" offset")), &["`shape`", "1, -2"]);
    assert!(matches!(e, IrError::Attribute { source: AttrError::Malformed { .. }, .. }), "{e:?}");
}

#[test]
fn const_without_output_port() {
    let xml = with(
        "\t\t\t<output>\n\t\t\t\t<port id=\"0\" precision=\"FP32\">\n\t\t\t\t\t<dim>1</dim>\n\t\t\t\t\t<dim>2</dim>\n\t\t\t\t</port>\n\t\t\t</output>\n\t\t</layer>\n\t\t<layer id=\"2\"",
        "\t\t</layer>\n\t\t<layer id=\"2\"",
    );
    let e = err_of(read(&xml), &["exactly one output port, found 0", "layer 1 \"c\""]);
    assert!(matches!(e, IrError::Layer { .. }), "{e:?}");
}

#[test]
fn const_shape_port_mismatch() {
    let e = err_of(
        read(&with("shape=\"1, 2\" offset=\"0\" size=\"8\"", "shape=\"2, 1\" offset=\"0\" size=\"8\"")),
        &["[2,1]", "does not match", "[1,2]"],
    );
    assert!(matches!(e, IrError::Layer { .. }), "{e:?}");
}

// --- ports and dims -----------------------------------------------------------------------------

#[test]
fn negative_dim() {
    let xml = with("names=\"x\">\n\t\t\t\t\t<dim>1</dim>", "names=\"x\">\n\t\t\t\t\t<dim>-5</dim>");
    let e = err_of(read(&xml), &["\"-5\"", "not a dimension", "layer 0 \"x\" (Parameter)"]);
    assert!(matches!(e, IrError::Layer { .. }), "{e:?}");
}

#[test]
fn bad_dim_text() {
    let xml = with("names=\"x\">\n\t\t\t\t\t<dim>1</dim>", "names=\"x\">\n\t\t\t\t\t<dim>one</dim>");
    let e = err_of(read(&xml), &["\"one\"", "not a dimension"]);
    assert!(matches!(e, IrError::Layer { .. }), "{e:?}");
}

#[test]
fn dim_beyond_u64() {
    let xml =
        with("names=\"x\">\n\t\t\t\t\t<dim>1</dim>", "names=\"x\">\n\t\t\t\t\t<dim>99999999999999999999999</dim>");
    let e = err_of(read(&xml), &["not a dimension"]);
    assert!(matches!(e, IrError::Layer { .. }), "{e:?}");
}

#[test]
fn absurd_dim() {
    let xml = with("names=\"x\">\n\t\t\t\t\t<dim>1</dim>", "names=\"x\">\n\t\t\t\t\t<dim>1000000000000000</dim>");
    let e = err_of(read(&xml), &["dimension 1000000000000000", "exceeds the limit"]);
    assert!(matches!(e, IrError::Limit { limit, .. } if limit == Limits::DEFAULT.max_dim), "{e:?}");
}

#[test]
fn port_element_count_overflow() {
    let xml = with(
        "names=\"x\">\n\t\t\t\t\t<dim>1</dim>\n\t\t\t\t\t<dim>2</dim>",
        "names=\"x\">\n\t\t\t\t\t<dim>100000000000000</dim>\n\t\t\t\t\t<dim>100000000000000</dim>",
    );
    let e = err_of(read(&xml), &["overflows 64 bits", "layer 0 \"x\""]);
    assert!(matches!(e, IrError::Layer { .. }), "{e:?}");
}

#[test]
fn output_port_without_precision() {
    let e = err_of(
        read(&with("<port id=\"2\" precision=\"FP32\" names=\"y\">", "<port id=\"2\" names=\"y\">")),
        &["output port 2", "precision"],
    );
    assert!(matches!(e, IrError::Layer { .. }), "{e:?}");
}

#[test]
fn duplicate_port_id_in_a_layer() {
    let e = err_of(
        read(&with("<port id=\"2\" precision=\"FP32\" names=\"y\">", "<port id=\"1\" precision=\"FP32\" names=\"y\">")),
        &["port id 1 is used by two ports", "layer 2 \"add\""],
    );
    assert!(matches!(e, IrError::Layer { .. }), "{e:?}");
}

#[test]
fn bad_port_id() {
    let e = err_of(
        read(&with(
            "<port id=\"2\" precision=\"FP32\" names=\"y\">",
            "<port id=\"two\" precision=\"FP32\" names=\"y\">",
        )),
        &["\"two\"", "non-negative integer"],
    );
    assert!(matches!(e, IrError::Layer { .. }), "{e:?}");
}

#[test]
fn empty_tensor_name() {
    let e = err_of(read(&with("names=\"y\"", "names=\"y,,z\"")), &["empty name"]);
    assert!(matches!(e, IrError::Layer { .. }), "{e:?}");
}

// --- layers -------------------------------------------------------------------------------------

#[test]
fn duplicate_layer_id() {
    let e = err_of(
        read(&with("<layer id=\"3\" name=\"out\"", "<layer id=\"2\" name=\"out\"")),
        &["duplicate layer id 2", "\"add\"", "\"out\""],
    );
    assert!(matches!(e, IrError::DuplicateLayerId { .. }), "{e:?}");
}

#[test]
fn layer_id_not_an_integer() {
    let e = err_of(
        read(&with("<layer id=\"3\" name=\"out\"", "<layer id=\"r3\" name=\"out\"")),
        &["`id`", "r3", "non-negative integer"],
    );
    assert!(matches!(e, IrError::Attribute { source: AttrError::Malformed { .. }, .. }), "{e:?}");
}

#[test]
fn layer_without_type() {
    let e =
        err_of(read(&with("name=\"out\" type=\"Result\"", "name=\"out\"")), &["missing attribute `type`", "\"out\""]);
    assert!(matches!(e, IrError::Attribute { source: AttrError::Missing { .. }, .. }), "{e:?}");
}

#[test]
fn sub_graph_layer() {
    let e = err_of(
        read(&with(
            "\t\t\t<data auto_broadcast=\"numpy\" />",
            "\t\t\t<data auto_broadcast=\"numpy\" /><body><layers /></body>",
        )),
        &["sub-graph", "layer 2 \"add\""],
    );
    assert!(matches!(e, IrError::Layer { .. }), "{e:?}");
}

#[test]
fn unknown_op_type_reads_as_an_opaque_node() {
    // Not an error for the reader: running it is the engine's error.
    let m = read(&with("type=\"Add\"", "type=\"FancyNewOp\"")).unwrap();
    assert_eq!(m.node(2).op_type, "FancyNewOp");
    assert_eq!(m.node(2).attr("auto_broadcast"), Some("numpy"));
}

// --- edges and graph ----------------------------------------------------------------------------

#[test]
fn dangling_edge() {
    let e = err_of(
        read(&with("from-layer=\"1\" from-port=\"0\"", "from-layer=\"17\" from-port=\"0\"")),
        &["from-layer=17", "no layer has id 17", "dangling"],
    );
    assert!(matches!(e, IrError::Edge { .. }), "{e:?}");
}

#[test]
fn nonexistent_port_id() {
    let e = err_of(
        read(&with("to-layer=\"2\" to-port=\"1\"", "to-layer=\"2\" to-port=\"7\"")),
        &["has no port 7", "layer 2 \"add\""],
    );
    assert!(matches!(e, IrError::Edge { .. }), "{e:?}");
}

#[test]
fn edge_to_an_output_port() {
    let e = err_of(
        read(&with("to-layer=\"2\" to-port=\"1\"", "to-layer=\"2\" to-port=\"2\"")),
        &["port 2", "is an output port"],
    );
    assert!(matches!(e, IrError::Edge { .. }), "{e:?}");
}

#[test]
fn edge_from_an_input_port() {
    let e = err_of(
        read(&with("from-layer=\"2\" from-port=\"2\"", "from-layer=\"2\" from-port=\"0\"")),
        &["port 0", "is an input port"],
    );
    assert!(matches!(e, IrError::Edge { .. }), "{e:?}");
}

#[test]
fn edge_with_missing_or_bad_attribute() {
    let e = err_of(read(&with("to-layer=\"3\" to-port=\"0\"", "to-layer=\"3\"")), &["no `to-port`"]);
    assert!(matches!(e, IrError::Edge { .. }), "{e:?}");
    let e = err_of(
        read(&with("to-layer=\"3\" to-port=\"0\"", "to-layer=\"3\" to-port=\"-1\"")),
        &["`to-port`", "non-negative integer"],
    );
    assert!(matches!(e, IrError::Edge { .. }), "{e:?}");
}

#[test]
fn duplicate_producer_on_an_input() {
    let xml =
        with("\t</edges>", "\t\t<edge from-layer=\"0\" from-port=\"0\" to-layer=\"2\" to-port=\"1\" />\n\t</edges>");
    let e = err_of(read(&xml), &["already has a producer", "input port 1"]);
    assert!(matches!(e, IrError::Edge { .. }), "{e:?}");
}

#[test]
fn unconnected_input() {
    let e = err_of(
        read(&with("\t\t<edge from-layer=\"1\" from-port=\"0\" to-layer=\"2\" to-port=\"1\" />\n", "")),
        &["input port 1 has no incoming edge", "layer 2 \"add\""],
    );
    assert!(matches!(e, IrError::Layer { .. }), "{e:?}");
}

#[test]
fn cycle() {
    let xml =
        with("from-layer=\"0\" from-port=\"0\" to-layer=\"2\"", "from-layer=\"2\" from-port=\"2\" to-layer=\"2\"");
    let e = err_of(read(&xml), &["cycle", "layer 2 \"add\""]);
    assert!(matches!(e, IrError::Cycle { .. }), "{e:?}");
}

// --- resource limits ----------------------------------------------------------------------------

#[test]
fn over_deep_xml() {
    let deep = format!("\t<rt_info>{}{}</rt_info>", "<a>".repeat(1000), "</a>".repeat(1000));
    let e = err_of(read(&with("\t<rt_info />", &deep)), &["element depth", "exceeds the limit of 128"]);
    assert!(matches!(e, IrError::Limit { limit: 128, .. }), "{e:?}");
}

#[test]
fn over_long_attribute() {
    let long = "n".repeat(Limits::DEFAULT.max_attr_len + 1);
    let e = err_of(
        read(&with("name=\"add\"", &format!("name=\"{long}\""))),
        &["length of attribute `name`", "exceeds the limit"],
    );
    assert!(matches!(e, IrError::Limit { .. }), "{e:?}");
}

#[test]
fn too_many_layers_for_the_configured_limit() {
    let limits = Limits { max_layers: 3, ..Limits::DEFAULT };
    let e = err_of(
        read_model_from_bytes_with_limits(TINY.as_bytes(), bin(), Path::new("tiny.xml"), &limits),
        &["number of layers (4)"],
    );
    assert!(matches!(e, IrError::Limit { limit: 3, .. }), "{e:?}");
}

#[test]
fn too_many_elements_or_too_large_a_file_for_the_configured_limit() {
    let limits = Limits { max_elements: 20, ..Limits::DEFAULT };
    let e = err_of(
        read_model_from_bytes_with_limits(TINY.as_bytes(), bin(), Path::new("tiny.xml"), &limits),
        &["number of XML elements"],
    );
    assert!(matches!(e, IrError::Limit { limit: 20, .. }), "{e:?}");
    let limits = Limits { max_xml_bytes: 100, ..Limits::DEFAULT };
    let e = err_of(
        read_model_from_bytes_with_limits(TINY.as_bytes(), bin(), Path::new("tiny.xml"), &limits),
        &["XML size"],
    );
    assert!(matches!(e, IrError::Limit { limit: 100, .. }), "{e:?}");
}

#[test]
fn rank_over_the_limit() {
    let dims = "<dim>1</dim>".repeat(65);
    let e = err_of(
        read(&with(
            "<port id=\"2\" precision=\"FP32\" names=\"y\"><dim>1</dim><dim>2</dim></port>",
            &format!("<port id=\"2\" precision=\"FP32\" names=\"y\">{dims}</port>"),
        )),
        &["rank of output port 2"],
    );
    assert!(matches!(e, IrError::Limit { limit: 64, .. }), "{e:?}");
}

#[test]
fn parameter_or_result_with_wrong_ports() {
    let no_output = with(
        "\t\t\t<output>\n\t\t\t\t<port id=\"0\" precision=\"FP32\" names=\"x\">\n\t\t\t\t\t<dim>1</dim>\n\t\t\t\t\t<dim>2</dim>\n\t\t\t\t</port>\n\t\t\t</output>\n",
        "",
    );
    let e = err_of(read(&no_output), &["a Parameter needs 0 input and 1 output ports, found 0 and 0", "layer 0 \"x\""]);
    assert!(matches!(e, IrError::Layer { .. }), "{e:?}");
    let extra_output = with(
        "\t\t\t</input>\n\t\t</layer>\n\t</layers>",
        "\t\t\t</input>\n\t\t\t<output><port id=\"1\" precision=\"FP32\" /></output>\n\t\t</layer>\n\t</layers>",
    );
    let e =
        err_of(read(&extra_output), &["a Result needs 1 input and 0 output ports, found 1 and 1", "layer 3 \"out\""]);
    assert!(matches!(e, IrError::Layer { .. }), "{e:?}");
}

// --- regressions found by the mutation test -------------------------------------------------------

#[test]
fn control_character_in_xml() {
    // A raw NUL inside an attribute: quick-xml accepts it, but XML 1.0 does not, and the writer
    // could not write it back (`&#0;` is not allowed either).
    let e = err_of(read(&with("name=\"add\"", "name=\"a\u{0}d\"")), &["control character 0x00"]);
    assert!(matches!(e, IrError::Xml { .. }), "{e:?}");
}
