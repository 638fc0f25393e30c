//! Helpers shared by the fallback tests: bit-exact tensor comparison and tiny model builders.
#![allow(dead_code)]

use conform_ir::{Tensor, TensorData};

/// Panics with the first differing element unless `got` and `want` have the same element type,
/// shape and bit patterns — except that any two NaNs are equal: a NaN's sign and payload depend
/// on operand order inside `addss`/`mulss`, which LLVM may commute (IEEE addition is commutative,
/// NaN propagation is not specified by it), so neither engine controls them (reported to the lead
/// as a gap in FP32.md).
pub fn assert_same_bits(got: &Tensor, want: &Tensor, what: &str) {
    assert_eq!(got.element_type, want.element_type, "{what}: element type");
    assert_eq!(got.shape, want.shape, "{what}: shape");
    match (&got.data, &want.data) {
        (TensorData::F32(g), TensorData::F32(w)) => {
            let same = |a: f32, b: f32| a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan());
            if let Some(i) = (0..g.len()).find(|&i| !same(g[i], w[i])) {
                panic!(
                    "{what}: element {i} of {}: got {:e} ({:#010x}), reference {:e} ({:#010x})",
                    g.len(),
                    g[i],
                    g[i].to_bits(),
                    w[i],
                    w[i].to_bits()
                );
            }
        }
        (TensorData::F16(g), TensorData::F16(w)) => {
            let same = |a: half::f16, b: half::f16| a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan());
            let bad = (0..g.len()).find(|&i| !same(g[i], w[i]));
            assert!(
                bad.is_none(),
                "{what}: f16 element {bad:?}: got {:?}, reference {:?}",
                bad.map(|i| g[i]),
                bad.map(|i| w[i])
            );
        }
        (TensorData::F64(g), TensorData::F64(w)) => {
            let same = |a: f64, b: f64| a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan());
            let bad = (0..g.len()).find(|&i| !same(g[i], w[i]));
            assert!(
                bad.is_none(),
                "{what}: f64 element {bad:?}: got {:?}, reference {:?}",
                bad.map(|i| g[i]),
                bad.map(|i| w[i])
            );
        }
        (TensorData::BF16(g), TensorData::BF16(w)) => {
            let same = |a: half::bf16, b: half::bf16| a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan());
            let bad = (0..g.len()).find(|&i| !same(g[i], w[i]));
            assert!(
                bad.is_none(),
                "{what}: bf16 element {bad:?}: got {:?}, reference {:?}",
                bad.map(|i| g[i]),
                bad.map(|i| w[i])
            );
        }
        (g, w) => assert_eq!(g, w, "{what}: data"),
    }
}

use conform_ir::{Edge, ElementType, Model, ModelParts, Node, PartialShape, Port};
use std::sync::Arc;

fn port(id: u32, t: &Tensor) -> Port {
    Port {
        id,
        precision: Some(t.element_type.port_precision().to_string()),
        shape: PartialShape::from_static(&t.shape),
        names: vec![],
        other_attrs: vec![],
        rt_info: None,
    }
}

/// A model holding one Parameter per input feeding one layer `op_type`/`version` with `attrs` and
/// `n_out` outputs; returns the model and the layer's node index.
pub fn single_op(
    op_type: &str,
    version: &str,
    attrs: &[(&str, String)],
    inputs: &[&Tensor],
    n_out: usize,
) -> (Model, usize) {
    let mut nodes = Vec::new();
    let mut edges = Vec::new();
    for (i, t) in inputs.iter().enumerate() {
        nodes.push(Node {
            id: i.to_string(),
            name: format!("in{i}"),
            op_type: "Parameter".into(),
            version: "opset1".into(),
            attrs: vec![
                ("shape".into(), t.shape.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(",")),
                ("element_type".into(), t.element_type.ir_name().into()),
            ],
            inputs: vec![],
            outputs: vec![port(0, t)],
            rt_info: None,
            constant: None,
        });
        edges.push(Edge { from_node: i, from_output: 0, to_node: inputs.len(), to_input: i });
    }
    let k = inputs.len();
    let out_port = |j: usize| Port {
        id: (k + j) as u32,
        precision: Some("FP32".into()),
        shape: PartialShape(vec![]),
        names: vec![],
        other_attrs: vec![],
        rt_info: None,
    };
    nodes.push(Node {
        id: k.to_string(),
        name: "op".into(),
        op_type: op_type.into(),
        version: version.into(),
        attrs: attrs.iter().map(|(a, v)| (a.to_string(), v.clone())).collect(),
        inputs: inputs.iter().enumerate().map(|(i, t)| port(i as u32, t)).collect(),
        outputs: (0..n_out).map(out_port).collect(),
        rt_info: None,
        constant: None,
    });
    let parts = ModelParts {
        name: "single".into(),
        ir_version: 11,
        nodes,
        edges,
        rt_info: None,
        weights: Arc::new(Vec::new()),
        source: None,
    };
    (Model::from_parts(parts).expect("valid single-op model"), k)
}

/// Evaluates one op in both engines and requires the same outcome: both fail, or both succeed
/// with bit-identical outputs. Returns whether both succeeded.
pub fn compare_op(op_type: &str, version: &str, attrs: &[(&str, String)], inputs: &[Tensor], n_out: usize) -> bool {
    let refs: Vec<&Tensor> = inputs.iter().collect();
    let (model, k) = single_op(op_type, version, attrs, &refs, n_out);
    let ctx = reference::ops::OpCtx { model: &model, index: k, node: model.node(k), inputs: &refs };
    let want = reference::ops::evaluate(&ctx);
    let got = optimized::fallback::eval_node(&model, k, &refs);
    let what = format!("{op_type}-{version} {attrs:?} on {:?}", inputs.iter().map(|t| &t.shape).collect::<Vec<_>>());
    match (got, want) {
        (Ok(g), Ok(w)) => {
            assert_eq!(g.len(), w.len(), "{what}: output count");
            for (o, (g, w)) in g.iter().zip(&w).enumerate() {
                assert_same_bits(g, w, &format!("{what}: output {o}"));
            }
            true
        }
        (Err(_), Err(_)) => false,
        (Ok(_), Err(e)) => panic!("{what}: the reference refuses ({e}) but the fallback computes"),
        (Err(e), Ok(_)) => panic!("{what}: the fallback refuses ({e}) but the reference computes"),
    }
}

/// A small deterministic generator (xorshift64*) driven by a proptest seed, so each property can
/// build shapes, attributes and values in plain code.
pub struct Gen(u64);

impl Gen {
    /// Seeds the generator (0 is mapped to a fixed non-zero state).
    pub fn new(seed: u64) -> Self {
        Gen(seed.max(1).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// The next 64 random bits.
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + (self.next() % (hi - lo + 1) as u64) as usize
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }

    /// One of `items`.
    pub fn pick<T: Clone>(&mut self, items: &[T]) -> T {
        items[self.range(0, items.len() - 1)].clone()
    }

    /// A float, mostly in `[-scale, scale]`, sometimes a special value (±0, ±inf, NaN, tiny, huge).
    pub fn value(&mut self, scale: f32, specials: bool) -> f32 {
        if specials && self.chance(0.04) {
            return self.pick(&[0.0, -0.0, f32::INFINITY, f32::NEG_INFINITY, f32::NAN, 1e-39, -3e38, 3e38, 0.5, 2.5]);
        }
        let u = (self.next() >> 40) as f32 / (1u64 << 24) as f32;
        (u * 2.0 - 1.0) * scale
    }

    /// An f32 tensor of `shape` with [`Gen::value`] elements.
    pub fn tensor(&mut self, shape: &[usize], scale: f32, specials: bool) -> Tensor {
        let n: usize = shape.iter().product();
        let v = (0..n).map(|_| self.value(scale, specials)).collect();
        Tensor::from_f32(shape.to_vec(), v).expect("consistent")
    }

    /// `t` converted to f16 with probability `p` (values rounded to nearest even), to exercise
    /// float types other than f32 (computed in f32, stored back in f16).
    pub fn maybe_f16(&mut self, t: Tensor, p: f64) -> Tensor {
        if !self.chance(p) {
            return t;
        }
        let v = t.to_f32_vec().into_iter().map(half::f16::from_f32).collect();
        Tensor::new(ElementType::F16, t.shape, TensorData::F16(v)).expect("consistent")
    }

    /// A random shape of `rank` with dims in `1..=max`.
    pub fn shape(&mut self, rank: usize, max: usize) -> Vec<usize> {
        (0..rank).map(|_| self.range(1, max)).collect()
    }
}

/// An i64 tensor.
pub fn i64s(shape: Vec<usize>, v: Vec<i64>) -> Tensor {
    Tensor::from_i64(shape, v).expect("consistent")
}

/// Formats a list attribute `"1, 2"`.
pub fn list(v: &[usize]) -> String {
    v.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")
}
