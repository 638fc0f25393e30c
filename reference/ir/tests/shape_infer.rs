//! Shape inference agrees with the output port dims OpenVINO declared in every corpus IR (OpenVINO
//! ran its own shape inference when it serialized them), for every output of every layer.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

mod common;

use conform_ir::read_model;
use conform_ir::shape_infer::{broadcast, infer_shapes};

#[test]
fn inferred_shapes_equal_declared_port_dims_in_every_corpus_model() {
    let mut checked = 0;
    for xml in common::corpus_models() {
        let m = read_model(&xml).unwrap();
        let shapes = infer_shapes(&m).unwrap_or_else(|e| panic!("{e}"));
        for (i, node) in m.nodes().iter().enumerate() {
            for (o, port) in node.outputs.iter().enumerate() {
                let declared = port.shape.to_static();
                assert!(declared.is_some(), "{}: corpus dims are static", xml.display());
                let inferred = shapes[i][o].as_ref().unwrap_or_else(|| {
                    panic!(
                        "{}: layer {} \"{}\" ({}) output {o}: not inferred",
                        xml.display(),
                        node.id,
                        node.name,
                        node.op_type
                    )
                });
                assert_eq!(
                    Some(inferred),
                    declared.as_ref(),
                    "{}: layer {} ({})",
                    xml.display(),
                    node.id,
                    node.op_type
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 5000, "{checked}");
}

#[test]
fn numpy_broadcasting_by_hand() {
    assert_eq!(broadcast(&[1, 16, 7, 7], &[1, 16, 1, 1]), Some(vec![1, 16, 7, 7]));
    assert_eq!(broadcast(&[8, 1, 6, 1], &[7, 1, 5]), Some(vec![8, 7, 6, 5]));
    assert_eq!(broadcast(&[], &[3]), Some(vec![3]));
    assert_eq!(broadcast(&[2, 3], &[3, 2]), None);
}

#[test]
fn declared_shapes_of_the_corpus_are_consistent_and_a_wrong_one_is_named() {
    use conform_ir::shape_infer::check_declared_shapes;
    use conform_ir::{read_model_from_bytes, IrError};
    for xml in common::corpus_models() {
        let m = read_model(&xml).unwrap();
        check_declared_shapes(&m, &infer_shapes(&m).unwrap()).unwrap();
    }
    // The ReLU of conv_s2_asympad_relu declares [1,16,7,7]; claim [1,16,7,8] on its output.
    let src = common::corpus_dir().join("conv_s2_asympad_relu__compressed/model.xml");
    let text = std::fs::read_to_string(&src).unwrap();
    let relu = text.find("type=\"ReLU\"").unwrap();
    let out = relu + text[relu..].find("<output>").unwrap();
    let pattern = "<dim>7</dim>\n\t\t\t\t\t<dim>7</dim>";
    let last = out + text[out..].find(pattern).unwrap();
    let bad = format!("{}<dim>7</dim>\n\t\t\t\t\t<dim>8</dim>{}", &text[..last], &text[last + pattern.len()..]);
    let m = read_model_from_bytes(bad.as_bytes(), std::fs::read(src.with_extension("bin")).unwrap(), &src).unwrap();
    let e = check_declared_shapes(&m, &infer_shapes(&m).unwrap()).unwrap_err();
    assert!(matches!(e, IrError::Layer { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(msg.contains("(ReLU)") && msg.contains("[1,16,7,8]") && msg.contains("[1, 16, 7, 7]"), "{msg}");
}

#[test]
fn hostile_attributes_give_errors_not_panics() {
    use conform_ir::read_model_from_bytes;
    // A ConvolutionBackpropData with a one-value `strides` for two spatial axes, and zero strides
    // on a Convolution: typed errors naming the layer.
    let dir = common::corpus_dir();
    let cases = [
        ("ppocrv4_det__expanded", "type=\"ConvolutionBackpropData\"", "strides=\"2, 2\"", "strides=\"2\""),
        ("conv_s2_asympad_relu__expanded", "type=\"Convolution\"", "strides=\"2, 2\"", "strides=\"0, 2\""),
    ];
    for (case, op, from, to) in cases {
        let src = dir.join(case).join("model.xml");
        let text = std::fs::read_to_string(&src).unwrap();
        let at = text.find(op).unwrap();
        let rel = text[at..].find(from).unwrap();
        let bad = format!("{}{}{}", &text[..at + rel], to, &text[at + rel + from.len()..]);
        let m = read_model_from_bytes(bad.as_bytes(), std::fs::read(src.with_extension("bin")).unwrap(), &src).unwrap();
        let e = infer_shapes(&m).unwrap_err().to_string();
        assert!(e.contains("shape inference") && e.contains(&op[6..op.len() - 1]), "{e}");
    }
}
