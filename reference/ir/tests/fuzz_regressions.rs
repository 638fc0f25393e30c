//! Regressions from the cargo-fuzz targets (`fuzz/`) and from the resource-bound review of issue 8,
//! run in plain `cargo test`.
//!
//! * Every file in `tests/fixtures/fuzz/` is an input that once crashed, hung or exhausted memory
//!   in a fuzz target, in that target's layout (`ir_reader-*` / `round_trip-*`: a 4-byte
//!   little-endian `.xml` length, the `.xml`, then the `.bin`; `npy_reader-*`: the `.npy` bytes).
//!   `EXPECTED` says what each must give now: a typed error containing a fragment, or a model.
//!   A file without an entry fails the test, so a crash cannot be added without its expectation.
//! * Inputs built here in code check the reader's time bounds on shapes a small fuzz input cannot
//!   reach (tens of thousands of ports or attributes).

#![allow(clippy::unwrap_used, clippy::result_large_err)] // tests: a failed unwrap is a failed test

use conform_ir::npy::read_npy_bytes;
use conform_ir::writer::model_difference;
use conform_ir::{read_model_from_bytes, write_model_to_bytes, IrError, Model};
use std::path::Path;
use std::time::{Duration, Instant};

/// What a regression input must give now.
enum Expect {
    /// A typed error whose message contains this fragment.
    Error(&'static str),
    /// A model (and, for `round_trip-*`, an equal model after write → read).
    Model,
}

/// One entry per file of `tests/fixtures/fuzz/`: (file name, expectation, what the bug was).
const EXPECTED: &[(&str, Expect, &str)] = &[
    (
        "round_trip-at-sign-attribute-name",
        Expect::Error("in <data>: `@auto_broadcast` is not a valid XML attribute name"),
        "round_trip, 2026-11-28: `<data levels=\"2\"@auto_broadcast=\"numpy\"/>` read (quick-xml does not \
     check names) and collided with the `@` prefix of <layer> attributes, so the written IR read \
     back with the attributes reordered; names are now checked as pugixml checks them",
    ),
    (
        "round_trip-control-character-reference-in-text",
        Expect::Model,
        "round_trip, 2026-11-28: rt_info text holding `&#11;` read as a raw U+000B, which the writer \
         wrote raw; the reader refuses raw control characters, so the written IR did not read back. \
         The writer now escapes them in text as pugixml does (`&#11;`)",
    ),
];

/// Splits an IR fuzz input as the targets do (fuzz/fuzz_targets/ir_reader.rs).
fn split(data: &[u8]) -> (&[u8], &[u8]) {
    let Some((head, rest)) = data.split_first_chunk::<4>() else { return (data, &[]) };
    let n = (u32::from_le_bytes(*head) as usize).min(rest.len());
    rest.split_at(n)
}

fn read_ir(data: &[u8]) -> Result<Model, IrError> {
    let (xml, bin) = split(data);
    read_model_from_bytes(xml, bin.to_vec(), Path::new("fuzz.xml"))
}

#[test]
fn every_fuzz_crash_gives_its_expected_result() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fuzz");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    files.retain(|f| !f.starts_with('.') && f != "README.md");
    files.sort();
    for f in &files {
        let Some((_, expect, what)) = EXPECTED.iter().find(|(name, _, _)| name == f) else {
            panic!("{f}: no entry in EXPECTED (add what this input must give now)");
        };
        let data = std::fs::read(dir.join(f)).unwrap();
        let outcome: Result<(), String> = if f.starts_with("npy_reader") {
            read_npy_bytes(&data, Path::new("fuzz.npy")).map(|_| ()).map_err(|e| e.to_string())
        } else {
            read_ir(&data).map_err(|e| e.to_string()).map(|a| {
                if f.starts_with("round_trip") {
                    let (xml, bin) = write_model_to_bytes(&a).unwrap();
                    let b = read_model_from_bytes(xml.as_bytes(), bin, Path::new("rewritten.xml")).unwrap();
                    assert_eq!(model_difference(&a, &b), None, "{f} ({what})");
                }
            })
        };
        match (expect, outcome) {
            (Expect::Error(frag), Err(m)) => assert!(m.contains(frag), "{f} ({what}): {m:?} lacks {frag:?}"),
            (Expect::Model, Ok(())) => {}
            (Expect::Error(frag), Ok(())) => panic!("{f} ({what}): read, expected an error with {frag:?}"),
            (Expect::Model, Err(m)) => panic!("{f} ({what}): expected a model, got {m}"),
        }
    }
    assert!(files.len() >= EXPECTED.len(), "an EXPECTED entry has no file");
}

/// A Concat with `n` input ports fed in reverse port order, a Parameter and a Result.
fn wide_layer_ir(n: u32) -> String {
    let mut x = String::from("<?xml version=\"1.0\"?>\n<net name=\"wide\" version=\"11\"><layers>");
    x.push_str(r#"<layer id="0" name="x" type="Parameter" version="opset1"><data shape="1" element_type="f32"/><output><port id="0" precision="FP32"><dim>1</dim></port></output></layer>"#);
    x.push_str(r#"<layer id="1" name="c" type="Concat" version="opset1"><data axis="0"/><input>"#);
    for k in 0..n {
        x.push_str(&format!(r#"<port id="{k}" precision="FP32"><dim>1</dim></port>"#));
    }
    x.push_str(&format!(r#"</input><output><port id="{n}" precision="FP32"><dim>{n}</dim></port></output></layer>"#));
    x.push_str(&format!(r#"<layer id="2" name="r" type="Result" version="opset1"><input><port id="0" precision="FP32"><dim>{n}</dim></port></input></layer>"#));
    x.push_str("</layers><edges>");
    for k in (0..n).rev() {
        x.push_str(&format!(r#"<edge from-layer="0" from-port="0" to-layer="1" to-port="{k}"/>"#));
    }
    x.push_str(&format!(r#"<edge from-layer="1" from-port="{n}" to-layer="2" to-port="0"/></edges></net>"#));
    x
}

#[test]
fn a_layer_with_65535_ports_and_edges_reads_in_linear_time() {
    // Edges used to find their port by scanning the layer's ports: 65,535 edges into one layer
    // took 2^31 comparisons (1.6 s for this 7.7 MB file; a 1 GiB file of such layers, minutes).
    // Ports are now looked up by id in a map. The bound is generous (a loaded 2-core machine);
    // the lookup itself is checked by the edges landing on the right ports.
    let n = 65_535u32;
    let xml = wide_layer_ir(n);
    let t = Instant::now();
    let m = read_model_from_bytes(xml.as_bytes(), Vec::new(), Path::new("wide.xml")).unwrap();
    let took = t.elapsed();
    let concat = m.find_by_id("1").unwrap();
    assert_eq!(m.sources_of(concat).len(), n as usize);
    // Input k of the Concat (port id k) is fed by the Parameter's output 0, whatever the edge order.
    assert!(m.sources_of(concat).iter().all(|&(p, o)| (p, o) == (0, 0)));
    assert_eq!(m.source_of(m.find_by_id("2").unwrap(), 0), (concat, 0));
    assert!(took < Duration::from_secs(10), "reading took {took:?}");

    // Port roles are still checked through the map: an edge into the Concat's output port.
    let bad = xml.replacen(r#"to-layer="1" to-port="0"/>"#, &format!(r#"to-layer="1" to-port="{n}"/>"#), 1);
    let e = read_model_from_bytes(bad.as_bytes(), Vec::new(), Path::new("wide.xml")).unwrap_err();
    assert!(e.to_string().contains(&format!("port {n} of layer 1 \"c\" (Concat) is an output port")), "{e}");
}

/// The tiny IR of malformed.rs in spirit: Parameter → Result, with `extra` inside `<rt_info>`.
fn with_rt_info(extra: &str) -> String {
    format!(
        r#"<?xml version="1.0"?>
<net name="t" version="11"><layers>
<layer id="0" name="x" type="Parameter" version="opset1"><data shape="1" element_type="f32"/><output><port id="0" precision="FP32"><dim>1</dim></port></output></layer>
<layer id="1" name="r" type="Result" version="opset1"><input><port id="0" precision="FP32"><dim>1</dim></port></input></layer>
</layers><edges><edge from-layer="0" from-port="0" to-layer="1" to-port="0"/></edges>
<rt_info>{extra}</rt_info></net>"#
    )
}

#[test]
fn many_attributes_per_element_are_checked_for_duplicates_in_linear_time() {
    // quick-xml's duplicate-attribute check compares each key with all earlier ones: 250 elements
    // of 4,096 attributes (9 MB) took 2.4 s. The reader now checks duplicates with a set.
    let element = format!("<a {}/>", (0..4096).map(|i| format!("k{i}=\"\"")).collect::<Vec<_>>().join(" "));
    let xml = with_rt_info(&element.repeat(250));
    let t = Instant::now();
    let m = read_model_from_bytes(xml.as_bytes(), Vec::new(), Path::new("attrs.xml")).unwrap();
    let took = t.elapsed();
    let rt = m.rt_info.as_ref().unwrap();
    assert_eq!(rt.children.len(), 250);
    assert_eq!(rt.children[249].attrs.len(), 4096);
    assert_eq!(rt.children[249].attrs[4095], ("k4095".to_string(), String::new()));
    assert!(took < Duration::from_secs(10), "reading took {took:?}");

    // A duplicate after 4,000 distinct keys is still found, and named.
    let dup = format!("<a {} k17=\"x\"/>", (0..4000).map(|i| format!("k{i}=\"\"")).collect::<Vec<_>>().join(" "));
    let e = read_model_from_bytes(with_rt_info(&dup).as_bytes(), Vec::new(), Path::new("attrs.xml")).unwrap_err();
    assert!(matches!(e, IrError::Xml { .. }), "{e:?}");
    assert!(e.to_string().contains("in <a>: duplicated attribute `k17`"), "{e}");
}

#[test]
fn the_parsed_tree_is_bounded_by_an_estimated_memory_limit() {
    use conform_ir::reader::{read_model_from_bytes_with_limits, read_model_with_limits};
    use conform_ir::Limits;
    // A file of empty elements costs over 30 times its size once parsed (a 50 MB file of `<a/>`
    // took 1.7 GB), so the file-size limit alone did not bound memory. Every corpus IR reads with
    // a tree budget of 16 times its XML size; the same budget refuses `<a/>` repeated.
    let mut n = 0;
    for xml in std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../corpus"))
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path().join("model.xml")))
        .filter(|p| p.exists())
    {
        let size = std::fs::metadata(&xml).unwrap().len();
        let limits = Limits { max_tree_bytes: 16 * size, ..Limits::DEFAULT };
        read_model_with_limits(&xml, &limits).unwrap_or_else(|e| panic!("{}: {e}", xml.display()));
        n += 1;
    }
    assert!(n >= 50, "{n} corpus IRs");

    let xml = with_rt_info(&"<a/>".repeat(100_000));
    let limits = Limits { max_tree_bytes: 16 * xml.len() as u64, ..Limits::DEFAULT };
    let e = read_model_from_bytes_with_limits(xml.as_bytes(), Vec::new(), Path::new("empty.xml"), &limits).unwrap_err();
    assert!(matches!(e, IrError::Limit { .. }), "{e:?}");
    assert!(e.to_string().contains("the estimated memory of the parsed XML tree (at <a>"), "{e}");
    // With the default budget (1 GiB) the same file reads.
    read_model_from_bytes(xml.as_bytes(), Vec::new(), Path::new("empty.xml")).unwrap();
}
