//! Building small IR models in memory (for the benchmark workloads and for tests): a thin builder
//! over [`ModelParts`] and the INT8 block shapes of `bench/shapes.json` (`int8_form`: activation
//! FakeQuantize levels 256, weights `compressed-dq` i8 per output channel, levels 255 symmetric).

use conform_ir::{ConstView, Edge, ElementType, IrError, Model, ModelParts, Node, PartialShape, Port};
use std::sync::Arc;

/// Incremental model builder. Port ids follow OpenVINO: inputs `0..n`, outputs from `n`.
#[derive(Debug, Default)]
pub struct Builder {
    nodes: Vec<Node>,
    edges: Vec<Edge>,
    blob: Vec<u8>,
}

fn port(id: u32, shape: &[usize], et: ElementType) -> Port {
    Port {
        id,
        precision: Some(et.port_precision().to_string()),
        shape: PartialShape::from_static(shape),
        names: Vec::new(),
        other_attrs: Vec::new(),
        rt_info: None,
    }
}

impl Builder {
    /// An empty builder.
    pub fn new() -> Builder {
        Builder::default()
    }

    /// Adds a node fed by `(node, output)` pairs; returns its index.
    pub fn op(
        &mut self,
        op: &str,
        attrs: &[(&str, String)],
        inputs: &[(usize, usize)],
        out_shapes: &[Vec<usize>],
    ) -> usize {
        let idx = self.nodes.len();
        let ins: Vec<Port> = inputs
            .iter()
            .enumerate()
            .map(|(i, &(n, o))| {
                let p = &self.nodes[n].outputs[o];
                Port { id: i as u32, ..p.clone() }
            })
            .collect();
        let nin = ins.len() as u32;
        let outs = out_shapes.iter().enumerate().map(|(k, s)| port(nin + k as u32, s, ElementType::F32)).collect();
        for (i, &(n, o)) in inputs.iter().enumerate() {
            self.edges.push(Edge { from_node: n, from_output: o, to_node: idx, to_input: i });
        }
        self.nodes.push(Node {
            id: idx.to_string(),
            name: format!("{op}_{idx}"),
            op_type: op.to_string(),
            version: "opset1".into(),
            attrs: attrs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect(),
            inputs: ins,
            outputs: outs,
            rt_info: None,
            constant: None,
        });
        idx
    }

    /// An f32 Parameter.
    pub fn param(&mut self, shape: &[usize]) -> usize {
        let s = shape.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(",");
        self.op("Parameter", &[("shape", s), ("element_type", "f32".into())], &[], &[shape.to_vec()])
    }

    /// A Const holding little-endian `bytes` of type `et`.
    pub fn constant(&mut self, et: ElementType, shape: &[usize], bytes: &[u8]) -> usize {
        let offset = self.blob.len() as u64;
        self.blob.extend_from_slice(bytes);
        let s = shape.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ");
        let idx = self.op(
            "Const",
            &[
                ("element_type", et.ir_name().into()),
                ("shape", s),
                ("offset", offset.to_string()),
                ("size", bytes.len().to_string()),
            ],
            &[],
            &[shape.to_vec()],
        );
        self.nodes[idx].outputs[0].precision = Some(et.port_precision().into());
        self.nodes[idx].constant = Some(ConstView { element_type: et, offset, size: bytes.len() as u64 });
        idx
    }

    /// An f32 Const.
    pub fn const_f32(&mut self, shape: &[usize], v: &[f32]) -> usize {
        let b: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
        self.constant(ElementType::F32, shape, &b)
    }

    /// A per-tensor FakeQuantize of `x` (output 0 of node `x`, shape `shape`).
    pub fn fq(&mut self, x: usize, shape: &[usize], levels: u32, r: [f32; 4]) -> usize {
        let c: Vec<usize> = r.iter().map(|&v| self.const_f32(&[], &[v])).collect();
        self.op(
            "FakeQuantize",
            &[("levels", levels.to_string()), ("auto_broadcast", "numpy".into())],
            &[(x, 0), (c[0], 0), (c[1], 0), (c[2], 0), (c[3], 0)],
            &[shape.to_vec()],
        )
    }

    /// `compressed-dq` weights: `Const(i8) → Convert(f32) → [Subtract(zp)] → Multiply(scale)`.
    pub fn dq_weights(
        &mut self,
        shape: &[usize],
        q: &[i8],
        scale_shape: &[usize],
        scale: &[f32],
        zp: Option<&[f32]>,
    ) -> usize {
        let bytes: Vec<u8> = q.iter().map(|&v| v as u8).collect();
        let c = self.constant(ElementType::I8, shape, &bytes);
        let cv = self.op("Convert", &[("destination_type", "f32".into())], &[(c, 0)], &[shape.to_vec()]);
        let x = match zp {
            Some(z) => {
                let zc = self.const_f32(scale_shape, z);
                self.op("Subtract", &[("auto_broadcast", "numpy".into())], &[(cv, 0), (zc, 0)], &[shape.to_vec()])
            }
            None => cv,
        };
        let s = self.const_f32(scale_shape, scale);
        self.op("Multiply", &[("auto_broadcast", "numpy".into())], &[(x, 0), (s, 0)], &[shape.to_vec()])
    }

    /// A Result of output 0 of `x`.
    pub fn result(&mut self, x: usize) -> usize {
        let shape = self.nodes[x].outputs[0].shape.to_static().unwrap_or_default();
        let idx = self.op("Result", &[], &[(x, 0)], &[]);
        let _ = shape;
        idx
    }

    /// Builds the validated model.
    #[allow(clippy::result_large_err)] // conform_ir's error type
    pub fn finish(self, name: &str) -> Result<Model, IrError> {
        Model::from_parts(ModelParts {
            name: name.into(),
            ir_version: 11,
            nodes: self.nodes,
            edges: self.edges,
            rt_info: None,
            weights: Arc::new(self.blob),
            source: None,
        })
    }
}

/// A small deterministic PRNG (xorshift64*), so workloads and tests need no extra crate.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// Seeded generator (seed 0 is remapped).
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }
    /// Uniform integer in `[lo, hi]`.
    pub fn int(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next_u64() % ((hi - lo + 1) as u64)) as i64
    }
    /// Approximately normal (sum of 4 uniforms), mean 0, standard deviation `sd`.
    pub fn normal(&mut self, sd: f32) -> f32 {
        let s: f32 = (0..4).map(|_| self.unit()).sum::<f32>() - 2.0;
        s * sd * 1.732
    }
}

/// Per-output-channel symmetric i8 weights (levels 255) for `n` channels of `k` values from
/// normal(0, 0.05): the `compressed-dq` form NNCF writes (`q = round(w/s)`, `s = max|w|/127`).
pub fn quantized_weights(rng: &mut Rng, n: usize, k: usize) -> (Vec<i8>, Vec<f32>) {
    let mut q = Vec::with_capacity(n * k);
    let mut s = Vec::with_capacity(n);
    for _ in 0..n {
        let w: Vec<f32> = (0..k).map(|_| rng.normal(0.05)).collect();
        let m = w.iter().fold(0f32, |a, &v| a.max(v.abs())).max(1e-6);
        let sc = m / 127.0;
        q.extend(w.iter().map(|&v| (v / sc).round_ties_even().clamp(-127.0, 127.0) as i8));
        s.push(sc);
    }
    (q, s)
}
