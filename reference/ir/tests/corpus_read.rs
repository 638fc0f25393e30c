//! Every corpus model reads, and its op counts equal what OpenVINO reported in `manifest.json`.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

mod common;

use conform_ir::read_model;
use std::collections::BTreeMap;

/// OpenVINO's Python type name for an IR type string: the IR serializer renames exactly these
/// four (`translate_type_name` in OpenVINO's `src/core/src/pass/serialize.cpp` and
/// `src/frontends/ir/src/ir_deserializer.cpp`); every other type is written as its Python name.
fn python_type_name(ir_type: &str) -> &str {
    match ir_type {
        "Const" => "Constant",
        "ReLU" => "Relu",
        "SoftMax" => "Softmax",
        "PReLU" => "PRelu",
        t => t,
    }
}

#[test]
fn every_corpus_model_reads_with_manifest_op_counts() {
    for xml in common::corpus_models() {
        let model = read_model(&xml).unwrap_or_else(|e| panic!("{}: {e}", xml.display()));
        let manifest: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(xml.with_file_name("manifest.json")).unwrap()).unwrap();
        let mut counts: BTreeMap<String, u64> = BTreeMap::new();
        for n in model.nodes() {
            *counts.entry(python_type_name(&n.op_type).to_string()).or_default() += 1;
        }
        let expected: BTreeMap<String, u64> =
            manifest["op_counts"].as_object().unwrap().iter().map(|(k, v)| (k.clone(), v.as_u64().unwrap())).collect();
        assert_eq!(counts, expected, "{}", xml.display());
        let fq = model.nodes().iter().filter(|n| n.op_type == "FakeQuantize").count() as u64;
        assert_eq!(fq, manifest["fake_quantize"]["count"].as_u64().unwrap(), "{}", xml.display());
        let v = manifest["ir_xml"]["ir_version"].as_u64().unwrap();
        assert_eq!(u64::from(model.ir_version), v, "{}", xml.display());
        // Inputs and outputs in OpenVINO's order, by the names the manifest recorded.
        let params: Vec<&str> = model.parameters().iter().map(|&i| model.node(i).name.as_str()).collect();
        let inputs: Vec<&str> =
            manifest["inputs"].as_array().unwrap().iter().map(|i| i["name"].as_str().unwrap()).collect();
        assert_eq!(params.len(), inputs.len(), "{}", xml.display());
        for (&pi, want) in model.parameters().iter().zip(&inputs) {
            let n = model.node(pi);
            let known = n.name == *want || n.outputs[0].names.iter().any(|t| t == want);
            assert!(known, "{}: parameter {} is not input {want}", xml.display(), n.name);
        }
        let results = model.results();
        let outputs = manifest["outputs"].as_array().unwrap();
        assert_eq!(results.len(), outputs.len(), "{}", xml.display());
        for (k, (&ri, want)) in results.iter().zip(outputs).enumerate() {
            let shape: Vec<usize> =
                want["shape"].as_array().unwrap().iter().map(|d| d.as_u64().unwrap() as usize).collect();
            assert!(model.node(ri).inputs[0].shape.admits(&shape), "{}: result {k} shape", xml.display());
            let want = want["name"].as_str().unwrap();
            let (src, out) = model.source_of(ri, 0);
            let n = model.node(ri);
            let known = n.name == want
                || model.node(src).outputs[out].names.iter().any(|t| t == want)
                || n.attr("@output_names") == Some(want);
            // v10 files carry no tensor names; their manifests name outputs after the v11 twin.
            assert!(known || model.ir_version == 10, "{}: result {k} ({}) is not output {want}", xml.display(), n.name);
        }
        // Every constant decodes.
        for (i, n) in model.nodes().iter().enumerate() {
            if n.is_const() {
                model.const_tensor(i).unwrap_or_else(|e| panic!("{}: {e}", xml.display()));
            }
        }
    }
}

#[test]
fn v10_and_model_optimizer_u8_cases_read() {
    let dir = common::corpus_dir();
    for case in ["conv_s2_asympad_relu__legacy__v10", "conv_s2_asympad_relu__mo_u8__v10", "conv_s2_asympad_relu__mo_u8"]
    {
        let m = read_model(&dir.join(case).join("model.xml")).unwrap();
        // The MO u8 form: a u8 weight Const (16x8x3x3 = 1152 bytes) feeding a Convert.
        if case.contains("mo_u8") {
            let w = m
                .nodes()
                .iter()
                .position(|n| n.constant.is_some_and(|c| c.element_type == conform_ir::ElementType::U8))
                .unwrap();
            assert_eq!(m.const_tensor(w).unwrap().shape, vec![16, 8, 3, 3]);
            let (consumer, _) = m.consumers_of(w, 0)[0];
            assert_eq!(m.node(consumer).op_type, "Convert");
        }
        assert_eq!(m.ir_version, if case.ends_with("v10") { 10 } else { 11 });
    }
}
