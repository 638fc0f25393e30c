//! Our compression against what OpenVINO's tools wrote for the same weights: each corpus
//! `__expanded` model has twins written by OpenVINO/NNCF (`__compressed`: compressed-dq),
//! by the corpus generator from Model Optimizer's rules (`__legacy`: signed compressed-fq;
//! `__mo_u8`: Model Optimizer 2020.2–2021.2's u8 `[0, L−1]` form). Compressing the expanded
//! twin must give the same integers, scales and zero points, bit for bit, as those files hold
//! (matched by the FakeQuantize's name, which OpenVINO keeps on the dq Multiply).

use conform_ir::{read_model, Model};
use reference::compress::{compress, expand, Bits, CompressOptions, Form};
use std::path::{Path, PathBuf};

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpus")
}

fn by_name(m: &Model, name: &str) -> Option<usize> {
    m.nodes().iter().position(|n| n.name == name)
}

/// The Const behind input `k` of `n`, through at most one Convert.
fn const_of(m: &Model, n: usize, k: usize) -> Option<usize> {
    let (mut s, _) = *m.sources_of(n).get(k)?;
    if m.node(s).op_type == "Convert" {
        s = m.source_of(s, 0).0;
    }
    m.node(s).is_const().then_some(s)
}

/// (integer weights, element type, scale bits, zero point bits) of the dq subgraph ending in `mul`.
fn dq_parts(m: &Model, mul: usize) -> (Vec<i64>, String, Vec<u32>, Option<Vec<u32>>) {
    let (a, _) = m.source_of(mul, 0);
    let scale = const_of(m, mul, 1).expect("scale const");
    let (cv, zp) = if m.node(a).op_type == "Subtract" {
        (m.source_of(a, 0).0, Some(const_of(m, a, 1).expect("zp const")))
    } else {
        (a, None)
    };
    let w = m.source_of(cv, 0).0;
    let wt = m.const_tensor(w).expect("weights");
    let bits = |c: usize| m.const_tensor(c).expect("const").to_f32_vec().iter().map(|v| v.to_bits()).collect();
    (wt.to_i64_vec(), wt.element_type.to_string(), bits(scale), zp.map(bits))
}

/// (integer weights, element type, il, ih) of the compressed-fq FakeQuantize `fq`.
fn fq_parts(m: &Model, fq: usize) -> (Vec<i64>, String, Vec<f32>, Vec<f32>) {
    let w = const_of(m, fq, 0).expect("weights const");
    let wt = m.const_tensor(w).expect("weights");
    let vals = |k: usize| m.const_tensor(const_of(m, fq, k).expect("range")).expect("range").to_f32_vec();
    (wt.to_i64_vec(), wt.element_type.to_string(), vals(1), vals(2))
}

fn twins(suffix: &str) -> Vec<(PathBuf, PathBuf)> {
    let mut v = Vec::new();
    for e in std::fs::read_dir(corpus()).expect("corpus").flatten() {
        let p = e.path();
        let name = p.file_name().and_then(|s| s.to_str()).unwrap_or("").to_string();
        if let Some(stem) = name.strip_suffix("__expanded") {
            let twin = corpus().join(format!("{stem}{suffix}"));
            if twin.join("model.xml").is_file() {
                v.push((p.clone(), twin));
            }
        }
    }
    v.sort();
    v
}

#[test]
fn dq_form_matches_openvino_compressed_twins_bit_for_bit() {
    let pairs = twins("__compressed");
    assert!(pairs.len() >= 10, "expected the corpus's dq twins, found {}", pairs.len());
    let mut compared = 0;
    for (exp, ov) in pairs {
        let x = read_model(&exp.join("model.xml")).expect("read expanded");
        let theirs = read_model(&ov.join("model.xml")).expect("read compressed");
        let (ours, rep) = compress(&x, &CompressOptions { form: Form::Dq, bits: Bits::Auto }).expect("compress");
        for t in &rep.tensors {
            let Some(their_mul) = by_name(&theirs, &t.name) else { continue };
            assert_eq!(theirs.node(their_mul).op_type, "Multiply", "{}: {}", ov.display(), t.name);
            let our_mul = by_name(&ours, &t.name).expect("our Multiply keeps the FakeQuantize's name");
            let (a, b) = (dq_parts(&ours, our_mul), dq_parts(&theirs, their_mul));
            assert_eq!(a.1, b.1, "{}: {}: element type", ov.display(), t.name);
            assert!(a.0 == b.0, "{}: {}: integer weights differ", ov.display(), t.name);
            assert_eq!(a.2, b.2, "{}: {}: scale bits", ov.display(), t.name);
            assert_eq!(a.3, b.3, "{}: {}: zero point", ov.display(), t.name);
            compared += 1;
        }
    }
    assert!(compared >= 20, "only {compared} tensors compared");
}

#[test]
fn fq_form_matches_the_legacy_twins() {
    let pairs = twins("__legacy");
    assert!(pairs.len() >= 10);
    let mut compared = 0;
    for (exp, legacy) in pairs {
        let x = read_model(&exp.join("model.xml")).expect("read expanded");
        let theirs = read_model(&legacy.join("model.xml")).expect("read legacy");
        let (ours, rep) = compress(&x, &CompressOptions { form: Form::Fq, bits: Bits::Eight }).expect("compress");
        for t in &rep.tensors {
            let Some(their_fq) = by_name(&theirs, &t.name) else { continue };
            let our_fq = by_name(&ours, &t.name).expect("FakeQuantize kept");
            let (a, b) = (fq_parts(&ours, our_fq), fq_parts(&theirs, their_fq));
            assert_eq!(a.1, b.1, "{}: {}: element type", legacy.display(), t.name);
            assert!(a.0 == b.0, "{}: {}: integer weights differ", legacy.display(), t.name);
            assert_eq!((a.2, a.3), (b.2, b.3), "{}: {}: input range", legacy.display(), t.name);
            compared += 1;
        }
    }
    assert!(compared >= 20, "only {compared} tensors compared");
}

#[test]
fn model_optimizer_u8_twins_expand_and_recompress_to_the_same_integers() {
    let pairs = twins("__mo_u8");
    assert!(!pairs.is_empty());
    for (exp, mo) in pairs {
        let x = read_model(&exp.join("model.xml")).expect("read expanded");
        let u8m = read_model(&mo.join("model.xml")).expect("read mo_u8");
        let (_, erep) = expand(&u8m).expect("expand");
        assert!(erep.tensors.iter().all(|t| t.from_form == "compressed-fq" && t.not_bit_identical == 0));
        assert!(!erep.tensors.is_empty());
        let opts = CompressOptions { form: Form::Fq, bits: Bits::Auto };
        let (a, ra) = compress(&x, &opts).expect("compress expanded");
        let (b, _) = compress(&u8m, &opts).expect("compress u8");
        for t in &ra.tensors {
            let (Some(i), Some(j)) = (by_name(&a, &t.name), by_name(&b, &t.name)) else {
                panic!("{}: {} missing", mo.display(), t.name)
            };
            let (pa, pb) = (fq_parts(&a, i), fq_parts(&b, j));
            assert!(pa.0 == pb.0, "{}: {}: the u8 form's levels differ from the expanded twin's", mo.display(), t.name);
        }
    }
}
