//! Hand-derived small cases of compression and expansion, on models built in memory.
//! Expected integers come from the FakeQuantize formula worked by hand (SPEC §1.2), packing from
//! SPEC §5, scale and zero point from OpenVINO's formulas (SPEC §2.1) restated in the test.

use conform_ir::model::encode;
use conform_ir::{ConstView, Edge, ElementType, Model, ModelParts, Node, PartialShape, Port, TensorData};
use reference::compress::{compress, expand, Bits, CompressOptions, Form};
use std::sync::Arc;

fn port(id: u32, et: ElementType, dims: &[usize]) -> Port {
    Port {
        id,
        precision: Some(et.port_precision().into()),
        shape: PartialShape::from_static(dims),
        names: Vec::new(),
        other_attrs: Vec::new(),
        rt_info: None,
    }
}

struct Builder {
    nodes: Vec<Node>,
    edges: Vec<Edge>,
    blob: Vec<u8>,
}

impl Builder {
    fn new() -> Self {
        Builder { nodes: Vec::new(), edges: Vec::new(), blob: Vec::new() }
    }

    fn push(&mut self, mut n: Node) -> usize {
        n.id = self.nodes.len().to_string();
        self.nodes.push(n);
        self.nodes.len() - 1
    }

    fn constant(&mut self, name: &str, et: ElementType, dims: &[usize], data: &TensorData) -> usize {
        let bytes = encode(et, data);
        let offset = self.blob.len() as u64;
        self.blob.extend_from_slice(&bytes);
        let shape = dims.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ");
        self.push(Node {
            id: String::new(),
            name: name.into(),
            op_type: "Const".into(),
            version: "opset1".into(),
            attrs: vec![
                ("element_type".into(), et.ir_name().into()),
                ("shape".into(), shape),
                ("offset".into(), offset.to_string()),
                ("size".into(), bytes.len().to_string()),
            ],
            inputs: vec![],
            outputs: vec![port(0, et, dims)],
            rt_info: None,
            constant: Some(ConstView { element_type: et, offset, size: bytes.len() as u64 }),
        })
    }

    fn op(&mut self, name: &str, ty: &str, attrs: &[(&str, &str)], ins: &[(usize, &[usize])], out: &[usize]) -> usize {
        let inputs: Vec<Port> = ins.iter().enumerate().map(|(k, (_, d))| port(k as u32, ElementType::F32, d)).collect();
        let n = self.push(Node {
            id: String::new(),
            name: name.into(),
            op_type: ty.into(),
            version: "opset1".into(),
            attrs: attrs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            inputs,
            outputs: if ty == "Result" { vec![] } else { vec![port(ins.len() as u32, ElementType::F32, out)] },
            rt_info: None,
            constant: None,
        });
        for (k, &(src, _)) in ins.iter().enumerate() {
            self.edges.push(Edge { from_node: src, from_output: 0, to_node: n, to_input: k });
        }
        n
    }

    fn build(self) -> Model {
        Model::from_parts(ModelParts {
            name: "unit".into(),
            ir_version: 11,
            nodes: self.nodes,
            edges: self.edges,
            rt_info: None,
            weights: Arc::new(self.blob),
            source: None,
        })
        .expect("valid model")
    }
}

/// `Const(w) → FakeQuantize(levels, scalar ranges il=ol=lo, ih=oh=hi) → Result`.
fn weight_fq(w: &[f32], levels: u64, lo: f32, hi: f32) -> Model {
    weight_fq_ranges(TensorData::F32(w.to_vec()), ElementType::F32, levels, [lo, hi, lo, hi])
}

fn weight_fq_ranges(w: TensorData, et: ElementType, levels: u64, r: [f32; 4]) -> Model {
    let mut b = Builder::new();
    let n = w.len();
    let wc = b.constant("W", et, &[n], &w);
    let data = if et == ElementType::F32 {
        wc
    } else {
        b.op("W/cvt", "Convert", &[("destination_type", "f32")], &[(wc, &[n])], &[n])
    };
    let rc: Vec<usize> = ["il", "ih", "ol", "oh"]
        .iter()
        .zip(r)
        .map(|(name, v)| b.constant(name, ElementType::F32, &[], &TensorData::F32(vec![v])))
        .collect();
    let lv = levels.to_string();
    let fq = b.op(
        "FQ",
        "FakeQuantize",
        &[("levels", &lv), ("auto_broadcast", "numpy")],
        &[(data, &[n]), (rc[0], &[]), (rc[1], &[]), (rc[2], &[]), (rc[3], &[])],
        &[n],
    );
    b.op("out", "Result", &[], &[(fq, &[n])], &[]);
    b.build()
}

fn node<'a>(m: &'a Model, name: &str) -> (usize, &'a Node) {
    let i = m.nodes().iter().position(|n| n.name == name).unwrap_or_else(|| panic!("no layer {name}"));
    (i, m.node(i))
}

fn const_values(m: &Model, name: &str) -> (ElementType, Vec<i64>, Vec<f32>) {
    let (i, _) = node(m, name);
    let t = m.const_tensor(i).expect("const");
    (t.element_type, t.to_i64_vec(), t.to_f32_vec())
}

const DQ: CompressOptions = CompressOptions { form: Form::Dq, bits: Bits::Auto };
const FQ: CompressOptions = CompressOptions { form: Form::Fq, bits: Bits::Auto };

#[test]
fn levels_255_symmetric_with_a_tie() {
    // il=ol=-1, ih=oh=1, L=255: t = (w+1)/2·254. w=0.5 gives 1.5/2·254 = 190.5 exactly, a tie,
    // rounded to even 190 → q = 190-127 = 63. w=-0.25: 95.25 → 95 → -32. w=2 > ih → 254 → 127;
    // w=-3 ≤ il → 0 → -127.
    let m = weight_fq(&[-1.0, 1.0, 0.0, 0.5, -0.25, 2.0, -3.0], 255, -1.0, 1.0);
    let expect = vec![-127, 127, 0, 63, -32, 127, -127];

    let (c, rep) = compress(&m, &DQ).expect("compress dq");
    let (et, q, _) = const_values(&c, "W");
    assert_eq!((et, q.clone()), (ElementType::I8, expect.clone()));
    // scale = (oh-ol)/(L-1) in f32; zp = -127 - ol/scale must be below FLT_EPSILON or fused
    // (no Subtract either way, SPEC §2.1: "L=255 symmetric → i8 in [-127,127] × scale").
    let (_, _, s) = const_values(&c, "FQ/scale");
    assert_eq!(s, vec![2.0f32 / 254.0]);
    assert!(c.nodes().iter().all(|n| n.op_type != "Subtract" && n.op_type != "FakeQuantize"));
    let (_, mul) = node(&c, "FQ");
    assert_eq!(mul.op_type, "Multiply");
    assert_eq!(rep.tensors.len(), 1);
    assert_eq!(rep.tensors[0].element_type, "i8");
    assert_eq!((rep.tensors[0].stored_bytes, rep.tensors[0].fp32_equivalent_bytes), (7, 28));
    // The blob holds the 7 integer bytes and the 4-byte scale, nothing else.
    assert_eq!(c.weights().len(), 11);

    let (f, frep) = compress(&m, &FQ).expect("compress fq");
    let (et, q, _) = const_values(&f, "W");
    assert_eq!((et, q), (ElementType::I8, expect));
    assert_eq!(const_values(&f, "FQ/input_low").2, vec![-127.0]);
    assert_eq!(const_values(&f, "FQ/input_high").2, vec![127.0]);
    // (oh-ol)+ol = 2-1 = 1 = oh exactly, so even w=2 > ih is bit-identical here.
    assert_eq!(frep.totals.not_bit_identical, 0);
}

#[test]
fn fq_form_differs_only_above_input_high_by_at_most_one_ulp() {
    // SPEC §2.2: above ih the original gives oh exactly, the compressed form (oh-ol)+ol.
    // For ol=-0.37, oh=0.71 the f32 expression (oh-ol)+ol is not oh (checked here, independently).
    let (ol, oh) = (-0.37f32, 0.71f32);
    assert_ne!((oh - ol) + ol, oh);
    let m = weight_fq_ranges(TensorData::F32(vec![0.1, 0.9, 5.0, -1.0, 0.71]), ElementType::F32, 256, [ol, oh, ol, oh]);
    let (_, rep) = compress(&m, &FQ).expect("compress");
    // w=0.9 and w=5 lie above ih; w=0.71 = ih is interior in both forms (same expression).
    assert_eq!(rep.totals.not_bit_identical, 2);
    assert_eq!(rep.totals.max_ulp_steps, 1);
    assert!(rep.totals.max_ulp <= 1.0);
}

#[test]
fn levels_256_asymmetric_ranges_give_u8_or_a_half_zero_point() {
    // ol=0, oh=2.55, L=256: all ranges ≥ 0 → u8, zp = 0 - 0/scale = 0 → no Subtract.
    // t = w/2.55·255 = 100·w: 0 → 0, 0.01 → 1, 1 → 100, 2.55 → 255, 3 > ih → 255.
    let m = weight_fq(&[0.0, 0.01, 1.0, 2.55, 3.0], 256, 0.0, 2.55);
    let (c, _) = compress(&m, &DQ).expect("compress");
    let (et, q, _) = const_values(&c, "W");
    assert_eq!((et, q), (ElementType::U8, vec![0, 1, 100, 255, 255]));
    assert_eq!(const_values(&c, "FQ/scale").2, vec![2.55f32 / 255.0]);
    assert!(c.nodes().iter().all(|n| n.op_type != "Subtract"));

    // The fq form always uses the signed grid [-128, 127]: q = index - 128.
    let (f, _) = compress(&m, &FQ).expect("compress fq");
    assert_eq!(const_values(&f, "W").1, vec![-128, -127, -28, 127, 127]);

    // [-1, 1] with L=256: i8, zp = -128 - (-1)/(2/255) ≈ -0.5, not integer → Subtract kept
    // (SPEC §2.1: stored as -0.49999237). t = (w+1)/2·255: w=0 → 127.5 → tie → 128 → q = 0.
    let m = weight_fq(&[-1.0, 0.0, 1.0], 256, -1.0, 1.0);
    let (c, rep) = compress(&m, &DQ).expect("compress");
    let (et, q, _) = const_values(&c, "W");
    assert_eq!((et, q), (ElementType::I8, vec![-128, 0, 127]));
    let zp = const_values(&c, "FQ/zero_point").2;
    assert_eq!(zp.len(), 1);
    assert!((zp[0] + 0.5).abs() < 1e-4, "zp {}", zp[0]);
    assert!(c.nodes().iter().any(|n| n.op_type == "Subtract"));
    assert!(rep.tensors[0].max_ulp <= 2.25);
}

#[test]
fn levels_16_pack_into_i4_with_an_odd_count() {
    // ol=il=-8, oh=ih=7, L=16: scale 1, zp = -8 - (-8)/1 = 0; q = w. Packing (SPEC §5): element 2k
    // in the low nibble: (-8,-1) → 0xF8, (0,3) → 0x30, (7) → 0x07.
    let m = weight_fq(&[-8.0, -1.0, 0.0, 3.0, 7.0], 16, -8.0, 7.0);
    for opts in [DQ, FQ] {
        let (c, rep) = compress(&m, &opts).expect("compress");
        let (i, n) = node(&c, "W");
        assert_eq!(n.constant.map(|v| v.element_type), Some(ElementType::I4));
        assert_eq!(c.const_bytes(i), Some(&[0xF8u8, 0x30, 0x07][..]));
        assert_eq!(rep.tensors[0].stored_bytes, 3);
        assert!(rep.tensors[0].stored_bytes as f64 / rep.tensors[0].fp32_equivalent_bytes as f64 <= 0.135 + 0.05);
    }
    // --bits 8 stores the same levels in i8.
    let (c, _) = compress(&m, &CompressOptions { form: Form::Dq, bits: Bits::Eight }).expect("compress");
    assert_eq!(const_values(&c, "W").0, ElementType::I8);
}

#[test]
fn refusals_are_reported_not_errors() {
    let cases: Vec<(Model, CompressOptions, &str)> = vec![
        (weight_fq(&[0.0, 1.0], 2, 0.0, 1.0), DQ, "levels 2"),
        (weight_fq(&[0.0, 1.0], 257, 0.0, 1.0), DQ, "levels 257"),
        (weight_fq(&[0.0, 1.0], 255, 0.0, 1.0), CompressOptions { form: Form::Fq, bits: Bits::Four }, "--bits 4"),
        (weight_fq_ranges(TensorData::F64(vec![0.0, 1.0]), ElementType::F64, 255, [0.0, 1.0, 0.0, 1.0]), DQ, "f64"),
    ];
    for (m, opts, why) in cases {
        let (c, rep) = compress(&m, &opts).expect("refusal is not an error");
        assert!(rep.tensors.is_empty(), "{why}");
        assert_eq!(rep.refused.len(), 1, "{why}");
        assert!(rep.refused[0].reason.contains(why), "{why}: {}", rep.refused[0].reason);
        assert!(c.nodes().iter().any(|n| n.op_type == "FakeQuantize"));
    }
    // Non-constant ranges: input_low from a Parameter.
    let mut b = Builder::new();
    let w = b.constant("W", ElementType::F32, &[2], &TensorData::F32(vec![0.0, 1.0]));
    let p = b.op("p", "Parameter", &[("shape", ""), ("element_type", "f32")], &[], &[]);
    let r: Vec<usize> =
        (0..3).map(|k| b.constant(&format!("r{k}"), ElementType::F32, &[], &TensorData::F32(vec![1.0]))).collect();
    let fq = b.op(
        "FQ",
        "FakeQuantize",
        &[("levels", "255")],
        &[(w, &[2]), (p, &[]), (r[0], &[]), (r[1], &[]), (r[2], &[])],
        &[2],
    );
    b.op("out", "Result", &[], &[(fq, &[2])], &[]);
    let (_, rep) = compress(&b.build(), &DQ).expect("compress");
    assert!(rep.refused[0].reason.contains("non-constant input_low"), "{}", rep.refused[0].reason);
}

#[test]
fn f16_weights_through_convert_compress() {
    let w: Vec<half::f16> = [-1.0f32, 0.5, 1.0].iter().map(|&v| half::f16::from_f32(v)).collect();
    let m = weight_fq_ranges(TensorData::F16(w), ElementType::F16, 255, [-1.0, 1.0, -1.0, 1.0]);
    let (c, rep) = compress(&m, &DQ).expect("compress");
    assert_eq!(const_values(&c, "W").1, vec![-127, 63, 127]);
    assert_eq!(rep.tensors[0].from_form, "expanded");
    // The f16 Const and its Convert are gone from the model and from the blob.
    assert!(c.nodes().iter().all(|n| n.name != "W/cvt"));
    assert_eq!(c.weights().len(), 3 + 4);
}

#[test]
fn model_optimizer_u8_form_expands_exactly_and_recompresses_signed() {
    // MO 2020.2–2021.2: u8 index Const → Convert → FQ(il=0, ih=L-1, ol, oh), L=255.
    let m = weight_fq_ranges(TensorData::U8(vec![0, 127, 254]), ElementType::U8, 255, [0.0, 254.0, -1.0, 1.0]);
    let (e, erep) = expand(&m).expect("expand");
    assert_eq!(erep.tensors[0].from_form, "compressed-fq");
    assert_eq!(erep.tensors[0].not_bit_identical, 0);
    assert_eq!(const_values(&e, "W").2, vec![0.0, 127.0, 254.0]);
    let (c, rep) = compress(&m, &FQ).expect("compress");
    assert_eq!(rep.tensors[0].from_form, "compressed-fq");
    assert_eq!(const_values(&c, "W").1, vec![-127, 0, 127]);
    assert_eq!(rep.tensors[0].not_bit_identical, 0);
}

#[test]
fn dq_expands_to_a_fake_quantize_that_recompresses_to_the_same_bytes() {
    // [-1, 1], L=256: the dq form has a zero point of ≈ -0.5; expand must choose ranges from
    // which OpenVINO's formulas give back the same scale and zero point.
    let w: Vec<f32> = (0..64).map(|i| (i as f32 - 31.7) / 29.0).collect();
    let m = weight_fq(&w, 256, -1.0, 1.0);
    let (c, _) = compress(&m, &DQ).expect("compress");
    let (e, erep) = expand(&c).expect("expand");
    assert_eq!(erep.tensors[0].from_form, "compressed-dq");
    assert_eq!(erep.tensors[0].levels, 256);
    assert!(erep.tensors[0].max_ulp <= 2.25, "{}", erep.tensors[0].max_ulp);
    let (c2, _) = compress(&e, &DQ).expect("compress again");
    assert_eq!(
        conform_ir::write_model_to_bytes(&c).expect("write"),
        conform_ir::write_model_to_bytes(&c2).expect("write")
    );
}

#[test]
fn f16_ranges_behind_a_convert_are_constant() {
    // IRs saved with compress_to_fp16 decompress every float Const with a Convert, ranges too.
    let mut b = Builder::new();
    let wv: Vec<half::f16> = [-1.0f32, 0.5, 1.0].iter().map(|&v| half::f16::from_f32(v)).collect();
    let w = b.constant("W", ElementType::F16, &[3], &TensorData::F16(wv));
    let wc = b.op("W/cvt", "Convert", &[("destination_type", "f32")], &[(w, &[3])], &[3]);
    let mut r = Vec::new();
    for (k, v) in [-1.0f32, 1.0, -1.0, 1.0].into_iter().enumerate() {
        let c = b.constant(&format!("r{k}"), ElementType::F16, &[], &TensorData::F16(vec![half::f16::from_f32(v)]));
        r.push(b.op(&format!("r{k}/cvt"), "Convert", &[("destination_type", "f32")], &[(c, &[])], &[]));
    }
    let fq = b.op(
        "FQ",
        "FakeQuantize",
        &[("levels", "255")],
        &[(wc, &[3]), (r[0], &[]), (r[1], &[]), (r[2], &[]), (r[3], &[])],
        &[3],
    );
    b.op("out", "Result", &[], &[(fq, &[3])], &[]);
    let m = b.build();
    for opts in [DQ, FQ] {
        let (c, rep) = compress(&m, &opts).expect("compress");
        assert!(rep.refused.is_empty(), "{:?}", rep.refused);
        assert_eq!(const_values(&c, "W").1, vec![-127, 63, 127]);
    }
}

#[test]
fn zero_width_range_round_trips_through_the_integer_grid() {
    // il=ih=ol=oh=0, L=255: all ranges ≥ 0 → u8, n = 0; w > ih selects level 254, w ≤ il level 0;
    // scale = 0/254 = 0 and zp = 0 (OpenVINO's `scale != 0 ? … : 0`). Expanding cannot use the
    // dequantized weights (all 0 select level 0), so it expands on the integer grid; compressing
    // again must give the same bytes.
    let m = weight_fq(&[0.5, -0.5, 0.0], 255, 0.0, 0.0);
    let (c, rep) = compress(&m, &DQ).expect("compress");
    assert_eq!(const_values(&c, "W").0, ElementType::U8);
    assert_eq!(const_values(&c, "W").1, vec![254, 0, 0]);
    assert_eq!(const_values(&c, "FQ/scale").2, vec![0.0]);
    assert_eq!(rep.tensors[0].not_bit_identical, 0);
    let (e, erep) = expand(&c).expect("expand");
    assert!(erep.tensors[0].note.contains("integer-grid"), "{}", erep.tensors[0].note);
    assert_eq!(const_values(&e, "W").2, vec![254.0, 0.0, 0.0]);
    let (c2, _) = compress(&e, &DQ).expect("compress again");
    assert_eq!(
        conform_ir::write_model_to_bytes(&c).expect("write"),
        conform_ir::write_model_to_bytes(&c2).expect("write")
    );
}
