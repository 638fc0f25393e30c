//! Property tests of compression on random per-channel weights and ranges (levels 3..=256,
//! symmetric, asymmetric and non-negative ranges, weights inside and outside the input range):
//! * fq form: differences only where `w > ih`, by at most 1 ulp(R) (SPEC §2.2);
//! * fq form expanded again: exact, and compressing again gives the same bytes;
//! * dq form: within SPEC §2.1's measured 2.25 ulp(R); expanded and compressed again: same bytes.
//!
//! Budget: 64 cases; `CONFORM_SOAK=n` multiplies it by n.

use conform_ir::model::encode;
use conform_ir::{
    write_model_to_bytes, ConstView, Edge, ElementType, Model, ModelParts, Node, PartialShape, Port, TensorData,
};
use proptest::prelude::*;
use reference::compress::{compress, expand, Bits, CompressOptions, Form};
use std::sync::Arc;

fn port(id: u32, dims: &[usize]) -> Port {
    Port {
        id,
        precision: Some("FP32".into()),
        shape: PartialShape::from_static(dims),
        names: Vec::new(),
        other_attrs: Vec::new(),
        rt_info: None,
    }
}

fn node(id: usize, name: &str, ty: &str, attrs: Vec<(String, String)>, ins: Vec<Port>, outs: Vec<Port>) -> Node {
    Node {
        id: id.to_string(),
        name: name.into(),
        op_type: ty.into(),
        version: "opset1".into(),
        attrs,
        inputs: ins,
        outputs: outs,
        rt_info: None,
        constant: None,
    }
}

/// `Const W[C,K] → FakeQuantize(levels, il/ih of shape il_shape, ol/oh of shape [C,1]) → Result`.
fn model(cs: &Case, il: &[f32], ih: &[f32], il_shape: &[usize], ol: &[f32], oh: &[f32]) -> Model {
    let (w, c, k, levels) = (&cs.w[..], cs.c, cs.k, cs.levels);
    let mut nodes = Vec::new();
    let mut blob = Vec::new();
    let mut add_const = |nodes: &mut Vec<Node>, name: &str, v: &[f32], dims: &[usize]| {
        let bytes = encode(ElementType::F32, &TensorData::F32(v.to_vec()));
        let offset = blob.len() as u64;
        blob.extend_from_slice(&bytes);
        let mut n = node(
            nodes.len(),
            name,
            "Const",
            vec![
                ("element_type".into(), "f32".into()),
                ("shape".into(), dims.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")),
                ("offset".into(), offset.to_string()),
                ("size".into(), bytes.len().to_string()),
            ],
            vec![],
            vec![port(0, dims)],
        );
        n.constant = Some(ConstView { element_type: ElementType::F32, offset, size: bytes.len() as u64 });
        nodes.push(n);
        nodes.len() - 1
    };
    let wd = [c, k];
    let rd = [c, 1];
    let ids = [
        add_const(&mut nodes, "W", w, &wd),
        add_const(&mut nodes, "il", il, il_shape),
        add_const(&mut nodes, "ih", ih, il_shape),
        add_const(&mut nodes, "ol", ol, &rd),
        add_const(&mut nodes, "oh", oh, &rd),
    ];
    let fq = nodes.len();
    nodes.push(node(
        fq,
        "FQ",
        "FakeQuantize",
        vec![("levels".into(), levels.to_string()), ("auto_broadcast".into(), "numpy".into())],
        vec![port(0, &wd), port(1, il_shape), port(2, il_shape), port(3, &rd), port(4, &rd)],
        vec![port(5, &wd)],
    ));
    nodes.push(node(fq + 1, "out", "Result", vec![], vec![port(0, &wd)], vec![]));
    let mut edges: Vec<Edge> =
        ids.iter().enumerate().map(|(i, &n)| Edge { from_node: n, from_output: 0, to_node: fq, to_input: i }).collect();
    edges.push(Edge { from_node: fq, from_output: 0, to_node: fq + 1, to_input: 0 });
    Model::from_parts(ModelParts {
        name: "prop".into(),
        ir_version: 11,
        nodes,
        edges,
        rt_info: None,
        weights: Arc::new(blob),
        source: None,
    })
    .expect("valid")
}

#[derive(Debug, Clone)]
struct Case {
    levels: u64,
    c: usize,
    k: usize,
    /// Per channel (lo, hi) of the output range; the input range equals it or is scalar.
    ranges: Vec<(f32, f32)>,
    scalar_input_range: bool,
    w: Vec<f32>,
}

fn case() -> impl Strategy<Value = Case> {
    (
        prop_oneof![Just(255u64), Just(256), Just(16), Just(15), 3u64..=256],
        1usize..4,
        1usize..24,
        prop_oneof![Just(0u8), Just(1), Just(2)],
        any::<bool>(),
    )
        .prop_flat_map(|(levels, c, k, kind, scalar)| {
            let range = (1e-3f32..10.0, 0.0f32..1.0).prop_map(move |(m, a)| match kind {
                0 => (-m, m),                        // symmetric
                1 => (-m * a, m * (1.0 - a) + 1e-3), // asymmetric
                _ => (0.0, m),                       // non-negative
            });
            (
                Just(levels),
                Just(c),
                Just(k),
                proptest::collection::vec(range, c),
                Just(scalar),
                proptest::collection::vec(-1.5f32..1.5, c * k),
            )
        })
        .prop_map(|(levels, c, k, ranges, scalar_input_range, u)| {
            // Weights spread over 1.5× each channel's range, so some lie outside it.
            let w = u
                .iter()
                .enumerate()
                .map(|(i, &t)| {
                    let (lo, hi) = ranges[i / k];
                    let mid = 0.5 * (lo + hi);
                    mid + t * (hi - lo)
                })
                .collect();
            Case { levels, c, k, ranges, scalar_input_range, w }
        })
}

fn build(cs: &Case) -> Model {
    let ol: Vec<f32> = cs.ranges.iter().map(|r| r.0).collect();
    let oh: Vec<f32> = cs.ranges.iter().map(|r| r.1).collect();
    if cs.scalar_input_range {
        let (lo, hi) = cs.ranges[0];
        model(cs, &[lo], &[hi], &[], &ol, &oh)
    } else {
        model(cs, &ol, &oh, &[cs.c, 1], &ol, &oh)
    }
}

fn ulp(x: f32) -> f64 {
    let e = ((x.abs().to_bits() >> 23) & 0xff) as i32;
    if e == 0 {
        2f64.powi(-149)
    } else {
        2f64.powi(e - 150)
    }
}

/// (elements not bit-identical, largest |Δ| in ulp(R)) between the original FakeQuantize output
/// and the dq subgraph of `d` (read back from its constants), every step in f32.
fn dq_differences(cs: &Case, d: &Model) -> (u64, f64) {
    let find = |name: &str| d.nodes().iter().position(|n| n.name == name).expect("layer");
    let mul = find("FQ");
    let scale = d.const_tensor(d.source_of(mul, 1).0).expect("scale").to_f32_vec();
    let (mut a, _) = d.source_of(mul, 0);
    let zp = if d.node(a).op_type == "Subtract" {
        let z = d.const_tensor(d.source_of(a, 1).0).expect("zp").to_f32_vec();
        a = d.source_of(a, 0).0;
        Some(z)
    } else {
        None
    };
    let q = d.const_tensor(d.source_of(a, 0).0).expect("q").to_i64_vec();
    let at = |v: &[f32], ch: usize| if v.len() == 1 { v[0] } else { v[ch] };
    let (mut count, mut worst) = (0u64, 0f64);
    for (i, &w) in cs.w.iter().enumerate() {
        let ch = i / cs.k;
        let (ol, oh) = cs.ranges[ch];
        let (il, ih) = if cs.scalar_input_range { cs.ranges[0] } else { (ol, oh) };
        let before = reference::fq::fake_quantize_scalar(w, il, ih, ol, oh, cs.levels);
        let qf = q[i] as f32;
        let after = match &zp {
            Some(z) => (qf - at(z, ch)) * at(&scale, ch),
            None => qf * at(&scale, ch),
        };
        if before.to_bits() != after.to_bits() {
            count += 1;
            let r = ol.abs().max(oh.abs());
            worst = worst.max((f64::from(before) - f64::from(after)).abs() / ulp(r));
        }
    }
    (count, worst)
}

fn bytes(m: &Model) -> (String, Vec<u8>) {
    write_model_to_bytes(m).expect("write")
}

fn budget() -> u32 {
    let soak: f64 = std::env::var("CONFORM_SOAK").ok().and_then(|v| v.parse().ok()).unwrap_or(1.0);
    (64.0 * soak).max(1.0) as u32
}

proptest! {
    #![proptest_config(ProptestConfig { cases: budget(), ..ProptestConfig::default() })]

    #[test]
    fn compression_invariants(cs in case()) {
        let m = build(&cs);
        let fq = CompressOptions { form: Form::Fq, bits: Bits::Auto };
        let (c, rep) = compress(&m, &fq).expect("compress fq");
        prop_assert_eq!(rep.tensors.len(), 1, "{:?}", rep.refused);
        let t = &rep.tensors[0];
        prop_assert_eq!(t.differs_above_input_high.map(|a| a + t.differs_in_sign_of_zero), Some(t.not_bit_identical));
        prop_assert!(t.max_ulp <= 1.0, "fq max ulp {}", t.max_ulp);
        let (e, erep) = expand(&c).expect("expand fq");
        prop_assert_eq!(erep.totals.not_bit_identical, 0);
        let (c2, _) = compress(&e, &fq).expect("compress again");
        prop_assert!(bytes(&c2) == bytes(&c), "fq round trip");

        let dq = CompressOptions { form: Form::Dq, bits: Bits::Auto };
        let (d, drep) = compress(&m, &dq).expect("compress dq");
        // The report is checked against values recomputed here from the written constants:
        // FakeQuantize of the original weights vs (q − zp)·scale, each step in f32.
        let (count, worst) = dq_differences(&cs, &d);
        prop_assert_eq!(drep.totals.not_bit_identical, count);
        prop_assert_eq!(drep.totals.max_ulp, worst);
        // SPEC §2.1 measured up to 2.25 ulp(R); this test has found 3.0 (levels 255, ±1.9858886).
        // Rounding analysis (COMPRESSION.md): FakeQuantize's three roundings are within 4 ulp(R)
        // of r/(L−1)·(oh−ol)+ol, the dq form's within 2; so the two differ by less than 6.
        // OpenVINO also fuses a zero point within 1e-4 of an integer, shifting every value by up
        // to 1e-4·scale ≤ 1e-4·2R/(L−1), i.e. 1e-4·2·2^24/(L−1) ulp(R) (found: 354 ulp(R) at
        // levels 4, ranges [-2.2141252, 1.1069357]).
        let fused = drep.tensors[0].note.contains("fused");
        let bound = 6.0 + if fused { 1e-4 * 2.0 * 2f64.powi(24) / (cs.levels - 1) as f64 } else { 0.0 };
        prop_assert!(drep.totals.max_ulp < bound, "dq max ulp {} (bound {bound})", drep.totals.max_ulp);
        let (e, erep) = expand(&d).expect("expand dq");
        prop_assert!(!erep.tensors[0].note.contains("cannot re-derive"), "{}", erep.tensors[0].note);
        let (d2, _) = compress(&e, &dq).expect("compress dq again");
        prop_assert!(bytes(&d2) == bytes(&d), "dq round trip: {:?}", conform_ir::writer::model_difference(&d, &d2));
    }
}
