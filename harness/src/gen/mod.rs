//! Proptest strategies that build valid INT8 IR models in memory, for `conform fuzz` and for kernel
//! authors' own property tests.
//!
//! A case is described by a [`CaseSpec`] (small integers and flags that proptest shrinks toward the
//! simplest case: regime `general`, no tail, one channel, ...) and built by [`build`] into a
//! [`GenCase`]: the model (through `optimized::modelgen::Builder` over `conform_ir::ModelParts`),
//! its inputs, a one-line descriptor, its categories and what the INT8 rule should decide for the
//! main op. Building never rejects: out-of-range combinations are repaired (a spatial size below
//! the kernel extent grows, a pooling that would not fit is dropped), so every spec is a case.
//!
//! Graph: `Parameter → FakeQuantize(act) → Convolution | GroupConvolution (depthwise) | MatMul
//! (const weights or act × act) → [bias Add] → [ReLU | Clamp] → [tail]`, where the tail is one of a
//! requantizing FakeQuantize (its four ranges each with its own broadcast shape), MaxPool, AvgPool,
//! Concat, Add of two branches, Reshape, or a second INT8 block behind a FakeQuantize.
//!
//! Geometry ([`Geo`]): size classes (small, wide rows, split across threads), non-square and
//! wide kernels, strides, dilations, asymmetric and automatic padding, grouped convolutions, 1-D
//! and 3-D, MatMul `transpose_a` and batched B, and the activation zero-point forms.
//!
//! Regimes ([`Regime`]): `general` (random ranges, fractional zero points), `exact` (power-of-two
//! scales, integer zero points, inputs on the level grid: the sums are exact in f32, so the INT8
//! bound is tight), `ties` (inputs on rounding midpoints and one ulp either side), `extremes`
//! (saturating u8 × s8 pairs: activations at the top level, weights at −128/127, long reductions),
//! `specials` (±0, subnormals, ±inf, NaN inputs; degenerate and inverted ranges).

use conform_ir::{ElementType, Model, Tensor};
use optimized::modelgen::{Builder, Rng};
use proptest::prelude::*;

/// Value regime of a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Regime {
    /// Random ranges, fractional zero points, values spanning the range and beyond.
    General,
    /// Integer-valued, benchdnn-style: power-of-two scales, integer zero points, values on levels.
    Exact,
    /// Values on rounding midpoints of the activation FakeQuantize and ±1 ulp.
    Ties,
    /// Saturating u8 × s8 pairs, −128 weights, long reductions.
    Extremes,
    /// ±0, subnormals, ±inf, NaN; degenerate and inverted ranges.
    Specials,
}

impl Regime {
    /// Every regime, in shrinking order (simplest first).
    pub const ALL: [Regime; 5] = [Regime::General, Regime::Exact, Regime::Ties, Regime::Extremes, Regime::Specials];

    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            Regime::General => "general",
            Regime::Exact => "exact",
            Regime::Ties => "ties",
            Regime::Extremes => "extremes",
            Regime::Specials => "specials",
        }
    }
}

/// The main op.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MainOp {
    /// Convolution (2-D).
    Conv,
    /// Depthwise GroupConvolution.
    Depthwise,
    /// MatMul with constant weights.
    MatMulConst,
    /// MatMul of two activations.
    MatMulAct,
}

/// Weight form (CONTRACT.md names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Form {
    /// f32 Const → FakeQuantize.
    Expanded,
    /// i8 Const → Convert → FakeQuantize.
    CompressedFq,
    /// i8 Const → Convert → [Subtract] → Multiply.
    CompressedDq,
}

impl Form {
    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            Form::Expanded => "expanded",
            Form::CompressedFq => "compressed-fq",
            Form::CompressedDq => "compressed-dq",
        }
    }
}

/// What follows the block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tail {
    /// Nothing.
    None,
    /// A requantizing FakeQuantize.
    FakeQuantize,
    /// MaxPool-1 2×2 stride 1 (one output).
    MaxPool,
    /// MaxPool-8 2×2 stride 1, dilations 1: values and i64 indices (the Result reads the values).
    MaxPool8,
    /// AvgPool 2×2 stride 1, padding excluded.
    AvgPool,
    /// Concat of the block output with itself along the channels.
    Concat,
    /// Add of the block output and a second block on the same quantized activation.
    AddBranch,
    /// Reshape to `[N, −1]`.
    Reshape,
    /// A FakeQuantize and a second INT8 block (1×1 conv or MatMul).
    SecondBlock,
}

/// Shrinkable description of one case.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseSpec {
    /// Value regime.
    pub regime: Regime,
    /// Main op.
    pub main: MainOp,
    /// Weight form.
    pub form: Form,
    /// Batch.
    pub batch: usize,
    /// Input channels (conv) or K (MatMul).
    pub cin: usize,
    /// Output channels (conv) or N (MatMul).
    pub cout: usize,
    /// Spatial height and width (conv) or M (MatMul: `h`).
    pub h: usize,
    /// Spatial width.
    pub w: usize,
    /// Kernel size.
    pub k: usize,
    /// Stride.
    pub stride: usize,
    /// Padding on each side.
    pub pad: usize,
    /// `transpose_b` of MatMul.
    pub transpose_b: bool,
    /// Activation levels choice (index into [`ACT_LEVELS`]).
    pub act_levels: usize,
    /// Weight levels choice (index into [`WEIGHT_LEVELS`]).
    pub weight_levels: usize,
    /// Per-channel (true) or scalar input ranges of a weight FakeQuantize.
    pub weight_il_per_channel: bool,
    /// Bias Add after the main op.
    pub bias: bool,
    /// 0: none, 1: ReLU, 2: Clamp.
    pub act_fn: usize,
    /// What follows.
    pub tail: Tail,
    /// Broadcast shape choice of the tail FakeQuantize's ranges (0 scalar, 1 per-channel, 2 full, 3 lower rank).
    pub range_shape: [u8; 4],
    /// Seed of every value (ranges, weights, inputs).
    pub seed: u64,
    /// Geometry beyond the basic shape (sizes, asymmetric kernels and padding, dilation, groups,
    /// rank, MatMul transposes and batches, zero-point form); `Geo::default()` is the basic case.
    pub geo: Geo,
}

/// The less common geometry of a case, each field 0 / `false` for the basic choice (so the
/// shrinker walks back to it): kernel paths that only open on wide rows, long reductions, grouped
/// or dilated convolutions, padding that differs between sides and axes, 1-D and 3-D, MatMul
/// transposes and batched B, and the zero-point forms that pick the kernels' border handling.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Geo {
    /// Size class: 0 small (extents 1–7), 1 wide (rows of 9–65 positions: the row kernel's
    /// multi-vector and multi-segment tiles, the VNNI depthwise's full vectors; MatMul M 8–37),
    /// 2 split (enough positions or rows that two threads partition the work; the determinism
    /// oracle runs on every other such case).
    pub size: u8,
    /// Kernel width, when not `k` (0: square kernel).
    pub kw: usize,
    /// W stride, when not `stride` (0: the same).
    pub stride_w: usize,
    /// Dilations `[H, W]` minus one.
    pub dil: [u8; 2],
    /// Padding added to `pad` at `[H begin, W begin, H end, W end]`.
    pub pad_extra: [u8; 4],
    /// `auto_pad`: 0 explicit, 1 `same_upper`, 2 `same_lower`, 3 `valid`.
    pub auto_pad: u8,
    /// Groups of a dense convolution minus one (GroupConvolution with several input channels
    /// per group).
    pub groups: u8,
    /// Spatial rank: 0 → 2-D, 1 → 1-D, 2 → 3-D.
    pub rank: u8,
    /// `transpose_a` of MatMul.
    pub transpose_a: bool,
    /// Batched MatMul B: 0 none, 1 B `[batch, K, N]` like A, 2 B `[2, K, N]` against a 2-D A
    /// (broadcast).
    pub b_batch: u8,
    /// Activation zero point of the main op: 0 as the regime draws it, 1 an integer in
    /// [0, 255], 2 an integer outside [0, 255] (ranges entirely above or below 0).
    pub zp: u8,
}

/// Activation levels, most likely first; entries past 1 make the main op fall back.
pub const ACT_LEVELS: [u32; 11] = [256, 255, 256, 255, 256, 255, 256, 255, 2, 16, 65536];
/// Weight levels; 65536 makes the main op fall back (`weight-levels`).
pub const WEIGHT_LEVELS: [u32; 6] = [255, 256, 255, 16, 2, 65536];

const CHANNELS: [usize; 20] = [1, 2, 3, 4, 5, 7, 8, 9, 12, 15, 16, 17, 24, 31, 32, 33, 48, 63, 64, 65];
const REDUCTION: [usize; 19] = [1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 31, 32, 33, 63, 64, 127, 128, 129, 200];
/// Row widths of the `wide` size class: around the 8- and 16-position vectors of the row and
/// VNNI depthwise kernels and the row kernel's 24- and 48-position segments.
const WIDE: [usize; 13] = [9, 15, 16, 17, 23, 24, 25, 31, 33, 47, 49, 50, 65];
/// Multiply-adds above which a convolution's channels are reduced (see `build`).
const WORK: usize = 30_000;
/// MatMul M of the `wide` and `split` size classes (6-row tiles, tall tasks split in 6-row units).
const TALL: [usize; 7] = [8, 12, 13, 17, 18, 25, 37];

/// The strategy of the less common geometry: each field keeps its basic choice most of the time.
pub fn geo() -> impl Strategy<Value = Geo> {
    let a = (
        prop::sample::select(vec![0u8, 0, 0, 0, 1, 2]),
        prop::sample::select(vec![0usize, 0, 0, 1, 2, 3, 5, 7]),
        prop::sample::select(vec![0usize, 0, 0, 1, 2, 3]),
        prop::sample::select(vec![[0u8, 0], [0, 0], [0, 0], [1, 1], [0, 1], [1, 0], [2, 1]]),
        prop::sample::select(vec![
            [0u8; 4],
            [0; 4],
            [1, 0, 0, 1],
            [0, 1, 1, 0],
            [1, 1, 0, 0],
            [0, 0, 1, 2],
            [2, 0, 0, 1],
        ]),
        prop::sample::select(vec![0u8, 0, 0, 0, 0, 1, 2, 3]),
    );
    let b = (
        prop::sample::select(vec![0u8, 0, 0, 1, 2]),
        prop::sample::select(vec![0u8, 0, 0, 0, 0, 0, 1, 2]),
        prop::sample::select(vec![false, false, false, true]),
        prop::sample::select(vec![0u8, 0, 1, 2]),
        prop::sample::select(vec![0u8, 0, 1, 2]),
    );
    (a, b).prop_map(|(a, b)| Geo {
        size: a.0,
        kw: a.1,
        stride_w: a.2,
        dil: a.3,
        pad_extra: a.4,
        auto_pad: a.5,
        groups: b.0,
        rank: b.1,
        transpose_a: b.2,
        b_batch: b.3,
        zp: b.4,
    })
}

/// The strategy of [`CaseSpec`]s (shapes around the kernels' tile edges: 16-channel blocks of the
/// scalar/avx512 packing, 8 of avx2/avxvnni, 4-byte reduction groups, 6-row tiles).
pub fn case_spec() -> impl Strategy<Value = CaseSpec> {
    let kinds = (
        prop::sample::select(Regime::ALL.to_vec()),
        prop::sample::select(vec![MainOp::Conv, MainOp::MatMulConst, MainOp::Depthwise, MainOp::MatMulAct]),
        prop::sample::select(vec![Form::CompressedDq, Form::Expanded, Form::CompressedFq]),
        prop::sample::select(vec![
            Tail::None,
            Tail::FakeQuantize,
            Tail::Reshape,
            Tail::Concat,
            Tail::AddBranch,
            Tail::MaxPool,
            Tail::MaxPool8,
            Tail::AvgPool,
            Tail::SecondBlock,
        ]),
    );
    let shape = (
        1usize..=2,
        prop::sample::select(REDUCTION.to_vec()),
        prop::sample::select(CHANNELS.to_vec()),
        1usize..=7,
        1usize..=7,
        1usize..=3,
        1usize..=2,
        0usize..=1,
        any::<bool>(),
    );
    let quant = (
        0usize..ACT_LEVELS.len(),
        0usize..WEIGHT_LEVELS.len(),
        any::<bool>(),
        any::<bool>(),
        0usize..=2,
        // Half the requantizing FakeQuantizes per-tensor (the plan's fused f32 FakeQuantize step).
        prop_oneof![Just([0u8; 4]), any::<[u8; 4]>()],
        any::<u64>(),
    );
    (kinds, shape, quant, geo()).prop_map(|(k, s, q, geo)| CaseSpec {
        regime: k.0,
        main: k.1,
        form: k.2,
        tail: k.3,
        batch: s.0,
        cin: s.1,
        cout: s.2,
        h: s.3,
        w: s.4,
        k: s.5,
        stride: s.6,
        pad: s.7,
        transpose_b: s.8,
        act_levels: q.0,
        weight_levels: q.1,
        weight_il_per_channel: q.2,
        bias: q.3,
        act_fn: q.4,
        range_shape: q.5.map(|v| v % 4),
        seed: q.6,
        geo,
    })
}

/// What the INT8 rule should decide for a main op.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expectation {
    /// Node index of the main op.
    pub node: usize,
    /// `None`: INT8; `Some(code)`: falls back with this INT8.md §1 reason code.
    pub fallback: Option<&'static str>,
}

/// A built case.
#[derive(Debug, Clone)]
pub struct GenCase {
    /// The model.
    pub model: Model,
    /// Its inputs in parameter order.
    pub inputs: Vec<Tensor>,
    /// One line describing the case.
    pub descriptor: String,
    /// The regime (primary category).
    pub regime: Regime,
    /// Categories for the tally (`regime:ties`, `op:conv`, `form:expanded`, `tail:none`, `int8`/`fallback`).
    pub categories: Vec<String>,
    /// The expected decision of each main op.
    pub expect: Vec<Expectation>,
    /// True when an input holds NaN/inf or a range is degenerate or inverted (implementation-defined).
    pub special_input: bool,
    /// Weight form.
    pub form: Form,
    /// Large enough that two threads partition the main op (size class `split`): the
    /// determinism oracle runs on every other such case, not only on every n-th.
    pub split: bool,
}

/// Activation FakeQuantize parameters.
#[derive(Debug, Clone, Copy)]
struct ActQ {
    il: f32,
    ih: f32,
    ol: f32,
    oh: f32,
    levels: u32,
}

impl ActQ {
    fn zero_point_fractional(&self) -> bool {
        let z = -(self.ol as f64) * (self.levels as f64 - 1.0) / (self.oh as f64 - self.ol as f64);
        (z - z.round_ties_even()).abs() > 1e-5
    }
    fn valid(&self) -> bool {
        self.il.is_finite() && self.ih.is_finite() && self.il < self.ih && self.ol < self.oh
    }
}

struct Ctx {
    b: Builder,
    rng: Rng,
    regime: Regime,
    /// Zero-point form of the main op's activation ([`Geo::zp`]).
    zp: u8,
    special: bool,
    descr: Vec<String>,
    /// Levels of every weight quantization built (for the tally).
    wlevels: Vec<u32>,
}

fn pick<T: Copy>(rng: &mut Rng, v: &[T]) -> T {
    v[(rng.next_u64() % v.len() as u64) as usize]
}

impl Ctx {
    fn f(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * self.rng.unit()
    }

    /// Activation ranges by regime.
    fn act_q(&mut self, levels: u32, allow_bad: bool) -> ActQ {
        let lm1 = (levels - 1) as f32;
        let (ol, oh) = match self.regime {
            Regime::Exact => {
                let s = 2f32.powi(-(self.rng.int(2, 7) as i32));
                let z = self.rng.int(0, levels.min(256) as i64 - 1) as f32;
                (-z * s, (lm1 - z) * s)
            }
            Regime::Extremes => (0.0, self.f(0.5, 4.0)),
            _ => {
                if self.rng.int(0, 3) == 0 {
                    (0.0, self.f(0.1, 4.0))
                } else {
                    (self.f(-2.0, 0.5), self.f(0.6, 3.0))
                }
            }
        };
        let (ol, oh) = match (self.zp, self.regime) {
            // An integer zero point in [0, 255] (planar depthwise, row kernel: no border fix) or
            // outside it (padding with the clamped value: border fix with an integer zero point).
            (1 | 2, Regime::General | Regime::Exact | Regime::Ties) if allow_bad => {
                let s = 2f32.powi(-(self.rng.int(2, 6) as i32)) * pick(&mut self.rng, &[1.0, 1.25, 1.5]);
                let top = levels.min(256) as i64 - 1;
                let z = if self.zp == 1 {
                    self.rng.int(0, top)
                } else if self.rng.int(0, 1) == 0 {
                    -self.rng.int(1, 60)
                } else {
                    top + self.rng.int(1, 60)
                };
                (-(z as f32) * s, (lm1 - z as f32) * s)
            }
            _ => (ol, oh),
        };
        let mut q = ActQ { il: ol, ih: oh, ol, oh, levels };
        if self.regime == Regime::General && self.rng.int(0, 3) == 0 {
            q.il = self.f(-1.0, 0.0);
            q.ih = self.f(0.2, 2.0);
        }
        if allow_bad && self.regime == Regime::Specials && self.rng.int(0, 2) == 0 {
            self.special = true;
            if self.rng.int(0, 1) == 0 {
                q.ih = q.il; // degenerate
                self.descr.push("act range degenerate".into());
            } else {
                std::mem::swap(&mut q.il, &mut q.ih); // inverted
                self.descr.push("act range inverted".into());
            }
        }
        q
    }

    /// Input data for an activation FakeQuantize, by regime.
    fn data(&mut self, shape: &[usize], q: &ActQ) -> Tensor {
        let n: usize = shape.iter().product();
        let (il, ih) = (q.il.min(q.ih), q.il.max(q.ih));
        let w = (ih - il).max(1e-3);
        let lm1 = (q.levels - 1) as f32;
        let step = w / lm1;
        let mut v = Vec::with_capacity(n);
        for _ in 0..n {
            let x = match self.regime {
                Regime::General => self.f(il - 0.2 * w, ih + 0.2 * w),
                Regime::Exact => il + self.rng.int(0, lm1 as i64) as f32 * step,
                Regime::Ties => {
                    let r = self.rng.int(0, lm1 as i64 - 1) as f32;
                    let x = il + (r + 0.5) * step;
                    match self.rng.int(0, 2) {
                        0 => x,
                        1 => f32::from_bits(x.to_bits().wrapping_add(1)),
                        _ => f32::from_bits(x.to_bits().wrapping_sub(1)),
                    }
                }
                Regime::Extremes => {
                    if self.rng.int(0, 3) == 0 {
                        self.f(il, ih)
                    } else {
                        ih + self.f(0.0, w)
                    }
                }
                Regime::Specials => {
                    if self.rng.int(0, 4) == 0 {
                        let s = pick(
                            &mut self.rng,
                            &[0.0, -0.0, 1e-40, -1e-40, f32::INFINITY, f32::NEG_INFINITY, f32::NAN, f32::MIN_POSITIVE],
                        );
                        if !s.is_finite() {
                            self.special = true;
                        }
                        s
                    } else {
                        self.f(il - 0.2 * w, ih + 0.2 * w)
                    }
                }
            };
            v.push(x);
        }
        // The length is the shape's element count by construction.
        Tensor { element_type: ElementType::F32, shape: shape.to_vec(), data: conform_ir::TensorData::F32(v) }
    }

    fn act_fq(&mut self, x: usize, shape: &[usize], q: &ActQ) -> usize {
        self.b.fq(x, shape, q.levels, [q.il, q.ih, q.ol, q.oh])
    }

    /// Quantized weights `[ch][per]` with per-channel scales, by regime and levels.
    fn weight_values(&mut self, ch: usize, per: usize, levels: u32) -> (Vec<i32>, Vec<f32>, i32, i32) {
        let (lo, hi) = match levels {
            256 | 65536 => (-128, 127),
            16 => (-8, 7),
            2 => (0, 1),
            _ => (-127, 127),
        };
        let mut q = Vec::with_capacity(ch * per);
        for _ in 0..ch * per {
            let v = match self.regime {
                Regime::Extremes => pick(&mut self.rng, &[lo, hi, lo, hi, 0]),
                _ => self.rng.int(lo as i64, hi as i64) as i32,
            };
            q.push(v);
        }
        let s = (0..ch)
            .map(|_| match self.regime {
                Regime::Exact => 2f32.powi(-(self.rng.int(3, 8) as i32)),
                _ => self.f(0.001, 0.05),
            })
            .collect();
        (q, s, lo, hi)
    }

    /// Adds weights of `shape` (output channel axes `axes`) in `form`; returns the node feeding
    /// the main op and the fallback the weights imply.
    fn weights(&mut self, spec: &CaseSpec, shape: &[usize], axes: &[usize]) -> (usize, Option<&'static str>) {
        let ch: usize = axes.iter().map(|&a| shape[a]).product();
        let total: usize = shape.iter().product();
        let per = total / ch.max(1);
        let rs: Vec<usize> = shape.iter().enumerate().map(|(a, &d)| if axes.contains(&a) { d } else { 1 }).collect();
        let ones = vec![1usize; shape.len()];
        // Row-major element e belongs to channel index `chan(e)`.
        let chan = |e: usize| -> usize {
            let mut rem = e;
            let mut c = 0;
            let mut mult = 1;
            let mut idx = vec![0; shape.len()];
            for a in (0..shape.len()).rev() {
                idx[a] = rem % shape[a];
                rem /= shape[a];
            }
            for a in (0..shape.len()).rev() {
                if axes.contains(&a) {
                    c += idx[a] * mult;
                    mult *= shape[a];
                }
            }
            c
        };
        let levels = match spec.form {
            Form::CompressedDq => 256,
            _ => WEIGHT_LEVELS[spec.weight_levels % WEIGHT_LEVELS.len()],
        };
        let (qv, s, lo, hi) = self.weight_values(ch, per, levels);
        // q per element in row-major order (channel-major of `qv` remapped to the layout).
        let mut counters = vec![0usize; ch];
        let q: Vec<i32> = (0..total)
            .map(|e| {
                let c = chan(e);
                let v = qv[c * per + counters[c]];
                counters[c] += 1;
                v
            })
            .collect();
        let fallback = if levels == 65536 { Some("weight-levels") } else { None };
        self.wlevels.push(levels);
        self.descr.push(format!("w={} L{levels}", spec.form.name()));
        match spec.form {
            Form::Expanded => {
                // w = (q − lo)·s + lo·s on the grid: FakeQuantize [lo·s, hi·s] per channel.
                let w: Vec<f32> = (0..total)
                    .map(|e| {
                        let sc = s[chan(e)];
                        let base = q[e] as f32 * sc;
                        if self.regime == Regime::General {
                            base + self.f(-0.5, 0.5) * sc
                        } else {
                            base
                        }
                    })
                    .collect();
                let c = self.b.const_f32(shape, &w);
                let ol: Vec<f32> = s.iter().map(|&v| lo as f32 * v).collect();
                let oh: Vec<f32> = s.iter().map(|&v| hi as f32 * v).collect();
                let (il, ih) = if spec.weight_il_per_channel {
                    (self.b.const_f32(&rs, &ol), self.b.const_f32(&rs, &oh))
                } else {
                    // One scalar input range wide enough for every channel: the level choice differs
                    // from per-channel, but both are valid (il/ih only choose the level).
                    let m = s.iter().fold(0f32, |a, &v| a.max(v));
                    (self.b.const_f32(&[], &[lo as f32 * m]), self.b.const_f32(&[], &[hi as f32 * m]))
                };
                let (olc, ohc) = (self.b.const_f32(&rs, &ol), self.b.const_f32(&rs, &oh));
                let fq = self.b.op(
                    "FakeQuantize",
                    &[("levels", levels.to_string()), ("auto_broadcast", "numpy".into())],
                    &[(c, 0), (il, 0), (ih, 0), (olc, 0), (ohc, 0)],
                    &[shape.to_vec()],
                );
                (fq, fallback)
            }
            Form::CompressedFq => {
                let bytes: Vec<u8> = q.iter().map(|&v| v as i8 as u8).collect();
                let c = self.b.constant(ElementType::I8, shape, &bytes);
                let cv = self.b.op("Convert", &[("destination_type", "f32".into())], &[(c, 0)], &[shape.to_vec()]);
                let il = self.b.const_f32(&ones, &[lo as f32]);
                let ih = self.b.const_f32(&ones, &[hi as f32]);
                let ol: Vec<f32> = s.iter().map(|&v| lo as f32 * v).collect();
                let oh: Vec<f32> = s.iter().map(|&v| hi as f32 * v).collect();
                let (olc, ohc) = (self.b.const_f32(&rs, &ol), self.b.const_f32(&rs, &oh));
                let fq = self.b.op(
                    "FakeQuantize",
                    &[("levels", levels.to_string()), ("auto_broadcast", "numpy".into())],
                    &[(cv, 0), (il, 0), (ih, 0), (olc, 0), (ohc, 0)],
                    &[shape.to_vec()],
                );
                (fq, fallback)
            }
            Form::CompressedDq => {
                let sub = self.regime != Regime::Extremes && self.rng.int(0, 1) == 0;
                let zp: Vec<i32> = (0..ch).map(|_| if sub { self.rng.int(-3, 3) as i32 } else { 0 }).collect();
                // Keep q − zp inside i8 (INT8.md rule 3): repair, don't reject.
                let raw: Vec<i8> = (0..total).map(|e| (q[e] + zp[chan(e)]).clamp(-128, 127) as i8).collect();
                let bytes: Vec<u8> = raw.iter().map(|&v| v as u8).collect();
                let c = self.b.constant(ElementType::I8, shape, &bytes);
                let cv = self.b.op("Convert", &[("destination_type", "f32".into())], &[(c, 0)], &[shape.to_vec()]);
                let x = if sub {
                    let z: Vec<f32> = zp.iter().map(|&v| v as f32).collect();
                    let zc = self.b.const_f32(&rs, &z);
                    self.b.op("Subtract", &[("auto_broadcast", "numpy".into())], &[(cv, 0), (zc, 0)], &[shape.to_vec()])
                } else {
                    cv
                };
                let sc = self.b.const_f32(&rs, &s);
                let m =
                    self.b.op("Multiply", &[("auto_broadcast", "numpy".into())], &[(x, 0), (sc, 0)], &[shape.to_vec()]);
                (m, None)
            }
        }
    }

    /// Bias and activation of the block epilogue.
    ///
    /// `center` and `sigma` estimate the centre and spread of the main op's outputs: Clamp
    /// bounds are drawn at 0.7–2 spreads on each side of the centre, so that a Clamp clips the
    /// tails rather than most outputs, and a ReLU's bias puts the centre 0.4–1.6 spreads above 0
    /// (a case whose outputs are mostly zero or at a bound is MISTRUSTED, not passed).
    fn epilogue(
        &mut self,
        spec: &CaseSpec,
        main: usize,
        shape: &[usize],
        ch_axis: usize,
        center: f32,
        sigma: f32,
    ) -> usize {
        let mut last = main;
        // A ReLU always gets a bias, positive and of the outputs' spread, so that most outputs
        // stay above 0 (a case whose outputs are mostly 0 is MISTRUSTED, not passed).
        let relu = spec.act_fn == 1;
        if spec.bias || relu {
            let c = shape[ch_axis];
            let mut bs = vec![1; shape.len()];
            bs[ch_axis] = c;
            let bv: Vec<f32> =
                (0..c).map(|_| if relu { sigma * self.f(0.4, 1.6) - center } else { self.f(-1.0, 1.0) }).collect();
            let b = self.b.const_f32(&bs, &bv);
            last = self.b.op("Add", &[("auto_broadcast", "numpy".into())], &[(last, 0), (b, 0)], &[shape.to_vec()]);
            self.descr.push("bias".into());
        }
        match spec.act_fn {
            1 => {
                last = self.b.op("ReLU", &[], &[(last, 0)], &[shape.to_vec()]);
                self.descr.push("relu".into());
            }
            2 => {
                let (lo, hi) = (center - sigma * self.f(0.7, 2.0), center + sigma * self.f(0.7, 2.0));
                last = self.b.op(
                    "Clamp",
                    &[("min", lo.to_string()), ("max", hi.to_string())],
                    &[(last, 0)],
                    &[shape.to_vec()],
                );
                self.descr.push(format!("clamp[{lo},{hi}]"));
            }
            _ => {}
        }
        last
    }
}

fn list(v: &[usize]) -> String {
    v.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(",")
}

/// Builds the case a spec describes. Never fails for any spec the strategy produces; an error
/// here is a generator bug (reported as such by the campaign).
pub fn build(spec: &CaseSpec) -> Result<GenCase, String> {
    let mut c = Ctx {
        b: Builder::new(),
        rng: Rng::new(spec.seed),
        regime: spec.regime,
        zp: spec.geo.zp,
        special: false,
        descr: Vec::new(),
        wlevels: Vec::new(),
    };
    let levels = ACT_LEVELS[spec.act_levels % ACT_LEVELS.len()];
    let mut expect = Vec::new();
    let mut inputs = Vec::new();
    let cin = spec.cin;
    let cout = spec.cout;
    let long = spec.regime == Regime::Extremes && spec.cin >= 200;
    let g = &spec.geo;
    let (main, out_shape, ch_axis, act, x_fq, main_desc, red);
    // The second activation's quantization of an act × act MatMul.
    let mut act_b: Option<ActQ> = None;
    // What the AddBranch tail repeats: op type, attributes, weight shape and channel axes.
    let (main_op, main_attrs, wshape, waxes);
    match spec.main {
        MainOp::Conv | MainOp::Depthwise => {
            let dw = spec.main == MainOp::Depthwise;
            let groups = if dw { 1 } else { 1 + g.groups as usize };
            // Channel caps keep the reference's work per case bounded in the larger size classes.
            let cap = [64, 32, 16][g.size.min(2) as usize];
            let mut cin_g = if dw { 1 } else { cin.min(if long { 600 } else { cap }) };
            let mut cout_g = if dw { 1 } else { cout.min(if g.size == 2 { 24 } else { 80 }).div_ceil(groups) };
            let (h, w) = match g.size {
                0 => (spec.h, spec.w),
                1 => (1 + spec.h % 3, WIDE[(spec.seed >> 40) as usize % WIDE.len()]),
                _ => (6 + spec.h, 6 + spec.w),
            };
            let kw = if g.kw > 0 { g.kw } else { spec.k };
            let sw = if g.stride_w > 0 { g.stride_w } else { spec.stride };
            let (dh, dwl) = (1 + g.dil[0] as usize, 1 + g.dil[1] as usize);
            let p = spec.pad;
            let e = g.pad_extra.map(|v| v as usize);
            // Per spatial axis: (input, kernel, stride, dilation, pad begin, pad end).
            let mut ax: Vec<[usize; 6]> = match g.rank {
                1 => vec![[w, kw, sw, dwl, p + e[1], p + e[3]]],
                2 => {
                    let d = 1 + (spec.seed >> 48) as usize % 3;
                    let kd = 1 + (spec.seed >> 52) as usize % 2;
                    vec![
                        [d, kd, 1, 1, p.min(kd - 1), 0],
                        [h, spec.k, spec.stride, dh, p + e[0], p + e[2]],
                        [w, kw, sw, dwl, p + e[1], p + e[3]],
                    ]
                }
                _ => vec![[h, spec.k, spec.stride, dh, p + e[0], p + e[2]], [w, kw, sw, dwl, p + e[1], p + e[3]]],
            };
            let auto = ["explicit", "same_upper", "same_lower", "valid"][g.auto_pad.min(3) as usize];
            let mut outs = Vec::new();
            for a in ax.iter_mut() {
                let [i, k, st, d, pb, pe] = *a;
                let eff = (k - 1) * d + 1;
                // Repair: the (padded) input must hold the kernel extent.
                let (i, pb, pe) = match auto {
                    "valid" => (i.max(eff), 0, 0),
                    "same_upper" | "same_lower" => {
                        let o = i.div_ceil(st);
                        let total = ((o - 1) * st + eff).saturating_sub(i);
                        let small = total / 2;
                        if auto == "same_upper" {
                            (i, small, total - small)
                        } else {
                            (i, total - small, small)
                        }
                    }
                    _ => (i.max(eff.saturating_sub(pb + pe)).max(1), pb, pe),
                };
                *a = [i, k, st, d, pb, pe];
                outs.push((i + pb + pe - eff) / st + 1);
            }
            let col = |j: usize| ax.iter().map(|a| a[j]).collect::<Vec<usize>>();
            let ks = col(1);
            // Work budget (multiply-adds of the reference's direct convolution) of the larger
            // geometry (size classes `wide`, `split`, kernels wider than 3): halve the input, then
            // the output channels per group of a case far above it, so that the campaign keeps
            // its pace; basic small cases and the long `extremes` reductions keep their size.
            let taps: usize = ks.iter().product();
            let work = |ci: usize, co: usize| groups * co * ci * taps * outs.iter().product::<usize>() * spec.batch;
            let budget = g.size > 0 || g.kw > 3 || g.rank == 2;
            while budget && !dw && !long && work(cin_g, cout_g) > WORK && (cin_g > 8 || cout_g > 16) {
                if cin_g > 8 {
                    cin_g = cin_g.div_ceil(2);
                } else {
                    cout_g = cout_g.div_ceil(2);
                }
            }
            let nch = if dw { cout } else { groups * cout_g };
            let mut xs = vec![spec.batch, groups * cin_g];
            if dw {
                xs[1] = cout;
            }
            xs.extend(col(0));
            let p_in = c.b.param(&xs);
            let q = c.act_q(levels, true);
            let fq = c.act_fq(p_in, &xs, &q);
            inputs.push(c.data(&xs, &q));
            let (ws, axes) = if dw {
                (vec![cout, 1, 1], vec![0, 1])
            } else if groups > 1 {
                (vec![groups, cout_g, cin_g], vec![0, 1])
            } else {
                (vec![cout_g, cin_g], vec![0])
            };
            let ws: Vec<usize> = ws.into_iter().chain(ks.iter().copied()).collect();
            let (wn, wfb) = c.weights(spec, &ws, &axes);
            let mut os = vec![spec.batch, nch];
            os.extend(&outs);
            let attrs = vec![
                ("strides", list(&col(2))),
                ("dilations", list(&col(3))),
                ("pads_begin", list(&col(4))),
                ("pads_end", list(&col(5))),
                ("auto_pad", auto.to_string()),
            ];
            let op = if dw || groups > 1 { "GroupConvolution" } else { "Convolution" };
            main = c.b.op(op, &attrs, &[(fq, 0), (wn, 0)], std::slice::from_ref(&os));
            main_desc = format!(
                "{op} x{xs:?} k{ks:?} s{:?} d{:?} p{:?}/{:?}{}{} → {os:?}",
                col(2),
                col(3),
                col(4),
                col(5),
                if auto == "explicit" { String::new() } else { format!(" {auto}") },
                if groups > 1 { format!(" groups {groups}") } else { String::new() },
            );
            red = cin_g * ks.iter().product::<usize>();
            out_shape = os;
            ch_axis = 1;
            act = (q, wfb);
            x_fq = fq;
            (main_op, main_attrs, wshape, waxes) = (op, attrs, ws, axes);
        }
        MainOp::MatMulConst | MainOp::MatMulAct => {
            let m = match g.size {
                0 => spec.h,
                1 => TALL[(spec.seed >> 40) as usize % TALL.len()],
                _ => TALL[2 + (spec.seed >> 40) as usize % (TALL.len() - 2)],
            };
            let kk = if long { 600 } else { cin.min(if g.size > 0 { 64 } else { 200 }) };
            let n = cout;
            let (ta, tb) = (g.transpose_a, spec.transpose_b);
            let (a_batch, b_batch): (Vec<usize>, Vec<usize>) = match g.b_batch {
                1 => (vec![spec.batch], vec![spec.batch]),
                2 => (vec![], vec![2]),
                _ => (if spec.batch > 1 { vec![spec.batch] } else { vec![] }, vec![]),
            };
            let mut xs = a_batch.clone();
            xs.extend(if ta { [kk, m] } else { [m, kk] });
            let p_in = c.b.param(&xs);
            let q = c.act_q(levels, true);
            let fq = c.act_fq(p_in, &xs, &q);
            inputs.push(c.data(&xs, &q));
            let mut bs = b_batch.clone();
            bs.extend(if tb { [n, kk] } else { [kk, n] });
            let nb = b_batch.len();
            let axes: Vec<usize> = (0..nb).chain([if tb { nb } else { nb + 1 }]).collect();
            let mut wfb = None;
            let wn = if spec.main == MainOp::MatMulConst {
                let (wn, f) = c.weights(spec, &bs, &axes);
                wfb = f;
                wn
            } else {
                let p2 = c.b.param(&bs);
                let q2 = c.act_q(256, false);
                act_b = Some(q2);
                let fq2 = c.act_fq(p2, &bs, &q2);
                inputs.push(c.data(&bs, &q2));
                if q.valid()
                    && q2.zero_point_fractional()
                    && q.zero_point_fractional()
                    && ACT_LEVELS[spec.act_levels % ACT_LEVELS.len()] >= 255
                {
                    wfb = Some("two-fractional-zero-points");
                }
                c.descr.push("act×act".into());
                fq2
            };
            let mut os = if a_batch.len() >= b_batch.len() { a_batch.clone() } else { b_batch.clone() };
            os.extend([m, n]);
            let attrs = vec![("transpose_a", ta.to_string()), ("transpose_b", tb.to_string())];
            main = c.b.op("MatMul", &attrs, &[(fq, 0), (wn, 0)], &[os.clone()]);
            main_desc = format!("MatMul A{xs:?} B{bs:?} ta={ta} tb={tb}");
            red = kk;
            ch_axis = os.len() - 1;
            out_shape = os;
            act = (q, wfb);
            x_fq = fq;
            (main_op, main_attrs, wshape, waxes) = ("MatMul", attrs, bs, axes);
        }
    }
    let (q, wfb) = act;
    // Expected decision, in the INT8.md rule order (2 before 3).
    let fb = if levels != 255 && levels != 256 {
        Some("act-levels")
    } else if !q.valid() {
        Some("act-degenerate-range")
    } else {
        wfb
    };
    expect.push(Expectation { node: main, fallback: fb });
    c.descr.insert(0, format!("act L{levels} [{},{}]→[{},{}]", q.il, q.ih, q.ol, q.oh));
    c.descr.insert(0, main_desc);
    // Spread of the main op's outputs, √K·σ_w·rms_x with uniform-distribution deviations (range/√12):
    // activations over the FakeQuantize's output range, weights q·s with s ≈ 0.025 (the regimes'
    // typical scale) and q over the weight levels' integer range (another activation for act×act).
    let wl =
        if spec.form == Form::CompressedDq { 256 } else { WEIGHT_LEVELS[spec.weight_levels % WEIGHT_LEVELS.len()] };
    let q_range = match wl {
        2 => 1.0,
        16 => 15.0,
        _ => 254.0,
    };
    // `extremes` puts weights at the integer range's ends and activations at the top level.
    let ext = spec.regime == Regime::Extremes;
    let q_dev = if ext { q_range / 2.0 } else { q_range / 12f32.sqrt() };
    let sigma_w = if spec.main == MainOp::MatMulAct { 0.72 } else { 0.025 * q_dev };
    // Root mean square of the activations: their mean (the range's centre) counts too.
    let (mu_x, dev_x) = ((q.ol + q.oh) / 2.0, (q.oh - q.ol).abs() / 12f32.sqrt());
    let rms_x = if ext { q.ol.abs().max(q.oh.abs()) } else { (mu_x * mu_x + dev_x * dev_x).sqrt() };
    let sigma_x = rms_x.clamp(1e-3, 1e3);
    let mut sigma = ((red as f32).sqrt() * sigma_w * sigma_x).clamp(1e-2, 1e4);
    // Centre of the main op's outputs: 0 for the zero-mean weights; K·μ_a·μ_b for act × act,
    // whose operands both have a mean (their spread then has the cross terms too).
    let mut center = 0.0f32;
    if let Some(b) = act_b {
        let (mu_b, dev_b) = ((b.ol + b.oh) / 2.0, (b.oh - b.ol).abs() / 12f32.sqrt());
        let k = red as f32;
        center = (k * mu_x * mu_b).clamp(-1e4, 1e4);
        let var = dev_x * dev_x * dev_b * dev_b + dev_x * dev_x * mu_b * mu_b + mu_x * mu_x * dev_b * dev_b;
        sigma = (k * var).sqrt().clamp(1e-2, 1e4);
    }
    let mut last = c.epilogue(spec, main, &out_shape, ch_axis, center, sigma);
    // Centre of the block's outputs (a ReLU's bias moves it to about one spread above 0).
    let center = if spec.act_fn == 1 { sigma } else { center };
    let mut shape = out_shape.clone();
    let conv = matches!(spec.main, MainOp::Conv | MainOp::Depthwise);
    // The tail actually built (a pooling that does not fit is dropped): what the tally counts.
    let mut tail = spec.tail;
    // The MaxPool-8 node: the builder writes opset1 and f32 ports; fixed up after `finish`.
    let mut maxpool8 = None;
    match spec.tail {
        Tail::None => {}
        Tail::FakeQuantize => {
            // Ranges of the outputs' spread, so that the requantization clips tails, not most values.
            let (lo, hi) = (center - sigma * c.f(0.5, 1.5), center + sigma * c.f(1.5, 3.0));
            let rank = shape.len();
            let mut rng_ids = Vec::new();
            for (i, &choice) in spec.range_shape.iter().enumerate() {
                let rs: Vec<usize> = match choice {
                    0 => vec![],
                    1 => (0..rank).map(|a| if a == ch_axis { shape[a] } else { 1 }).collect(),
                    2 => shape.clone(),
                    _ => shape[1..].iter().enumerate().map(|(a, &d)| if a + 1 == ch_axis { d } else { 1 }).collect(),
                };
                let n: usize = rs.iter().product();
                let base = if i % 2 == 0 { lo } else { hi };
                let v: Vec<f32> = (0..n).map(|_| base + sigma * c.f(-0.05, 0.05)).collect();
                rng_ids.push((c.b.const_f32(&rs, &v), 0));
            }
            let mut ins = vec![(last, 0)];
            ins.extend(rng_ids);
            last = c.b.op(
                "FakeQuantize",
                &[("levels", "256".into()), ("auto_broadcast", "numpy".into())],
                &ins,
                &[shape.clone()],
            );
            c.descr.push(format!("fq-tail ranges{:?}", spec.range_shape));
        }
        Tail::MaxPool | Tail::MaxPool8 | Tail::AvgPool if conv => {
            // Window 2 along every spatial axis that has 2 positions (1 along the others), stride 1.
            let sp = &shape[2..];
            let kern: Vec<usize> = sp.iter().map(|&d| if d >= 2 { 2 } else { 1 }).collect();
            let mut os = shape[..2].to_vec();
            os.extend(sp.iter().zip(&kern).map(|(d, k)| d + 1 - k));
            let (ones, zeros) = (list(&vec![1; sp.len()]), list(&vec![0; sp.len()]));
            let mut attrs = vec![
                ("strides", ones.clone()),
                ("pads_begin", zeros.clone()),
                ("pads_end", zeros),
                ("kernel", list(&kern)),
                ("rounding_type", "floor".to_string()),
            ];
            let op = if spec.tail == Tail::AvgPool { "AvgPool" } else { "MaxPool" };
            if op == "AvgPool" {
                attrs.push(("exclude-pad", "true".to_string()));
            }
            let outs = if spec.tail == Tail::MaxPool8 {
                attrs.extend([
                    ("dilations", ones),
                    ("axis", "0".to_string()),
                    ("index_element_type", "i64".to_string()),
                ]);
                vec![os.clone(), os.clone()]
            } else {
                vec![os.clone()]
            };
            last = c.b.op(op, &attrs, &[(last, 0)], &outs);
            if spec.tail == Tail::MaxPool8 {
                maxpool8 = Some(last);
            }
            shape = os;
            c.descr.push(if spec.tail == Tail::MaxPool8 { "maxpool-8".into() } else { op.to_lowercase() });
        }
        Tail::Concat => {
            let mut os = shape.clone();
            os[ch_axis] *= 2;
            last = c.b.op("Concat", &[("axis", ch_axis.to_string())], &[(last, 0), (last, 0)], &[os.clone()]);
            shape = os;
            c.descr.push("concat".into());
        }
        Tail::AddBranch if spec.main != MainOp::MatMulAct => {
            // A second block reading the same quantized activation (a DAG with a shared FakeQuantize).
            let (wn, _) = c.weights(spec, &wshape, &waxes);
            let main2 = c.b.op(main_op, &main_attrs, &[(x_fq, 0), (wn, 0)], std::slice::from_ref(&shape));
            expect.push(Expectation { node: main2, fallback: fb });
            last = c.b.op("Add", &[("auto_broadcast", "numpy".into())], &[(last, 0), (main2, 0)], &[shape.clone()]);
            c.descr.push("add-branch".into());
        }
        Tail::Reshape => {
            let n0 = shape[0];
            let rest: usize = shape[1..].iter().product();
            let bytes: Vec<u8> = [n0 as i64, -1i64].iter().flat_map(|v| v.to_le_bytes()).collect();
            let sc = c.b.constant(ElementType::I64, &[2], &bytes);
            last = c.b.op("Reshape", &[("special_zero", "false".into())], &[(last, 0), (sc, 0)], &[vec![n0, rest]]);
            shape = vec![n0, rest];
            c.descr.push("reshape".into());
        }
        Tail::SecondBlock => {
            let q2 = ActQ { il: -1.0, ih: 2.0, ol: -1.0, oh: 2.0, levels: 256 };
            let fq2 = c.act_fq(last, &shape, &q2);
            let c2 = 1 + (spec.seed % 5) as usize;
            let (main2, os) = if conv {
                let sub = CaseSpec { form: spec.form, ..spec.clone() };
                let sr = shape.len() - 2;
                let mut ws = vec![c2, shape[1]];
                ws.extend(vec![1; sr]);
                let (wn, wfb2) = c.weights(&sub, &ws, &[0]);
                let mut os = vec![shape[0], c2];
                os.extend(&shape[2..]);
                let (ones, zeros) = (list(&vec![1; sr]), list(&vec![0; sr]));
                let attrs = [
                    ("strides", ones.clone()),
                    ("dilations", ones),
                    ("pads_begin", zeros.clone()),
                    ("pads_end", zeros),
                    ("auto_pad", "explicit".to_string()),
                ];
                let m2 = c.b.op("Convolution", &attrs, &[(fq2, 0), (wn, 0)], std::slice::from_ref(&os));
                expect.push(Expectation { node: m2, fallback: wfb2 });
                (m2, os)
            } else {
                let kk = shape[shape.len() - 1];
                let (wn, wfb2) = c.weights(spec, &[kk, c2], &[1]);
                let mut os = shape.clone();
                let r = os.len();
                os[r - 1] = c2;
                let attrs = [("transpose_a", "false".to_string()), ("transpose_b", "false".to_string())];
                let m2 = c.b.op("MatMul", &attrs, &[(fq2, 0), (wn, 0)], &[os.clone()]);
                expect.push(Expectation { node: m2, fallback: wfb2 });
                (m2, os)
            };
            last = main2;
            shape = os;
            c.descr.push("second-block".into());
        }
        _ => tail = Tail::None,
    }
    let _ = shape;
    c.b.result(last);
    let mut model = c.b.finish("fuzz").map_err(|e| format!("generator built an invalid model: {e}"))?;
    if let Some(k) = maxpool8 {
        let mut parts = model.into_parts();
        if let Some(n) = parts.nodes.get_mut(k) {
            n.version = "opset8".into();
            if let Some(p) = n.outputs.get_mut(1) {
                p.precision = Some(ElementType::I64.port_precision().to_string());
            }
        }
        model = Model::from_parts(parts).map_err(|e| format!("generator built an invalid MaxPool-8: {e}"))?;
    }
    let regime = spec.regime;
    let op = match spec.main {
        MainOp::Conv => "conv",
        MainOp::Depthwise => "depthwise",
        MainOp::MatMulConst => "matmul",
        MainOp::MatMulAct => "matmul-act",
    };
    let int8 = if expect.iter().all(|e| e.fallback.is_none()) { "int8" } else { "fallback" };
    let mut categories = vec![
        format!("regime:{}", regime.name()),
        format!("op:{op}"),
        format!("form:{}", if spec.main == MainOp::MatMulAct { "none" } else { spec.form.name() }),
        format!("tail:{tail:?}").to_lowercase(),
        int8.to_string(),
        format!("levels:act:{levels}"),
    ];
    // Each weight level count and each tail FakeQuantize range shape once per case.
    let mut wl = c.wlevels.clone();
    wl.sort_unstable();
    wl.dedup();
    categories.extend(wl.iter().map(|l| format!("levels:w:{l}")));
    if tail == Tail::FakeQuantize {
        let mut shapes: Vec<&str> = spec
            .range_shape
            .iter()
            .map(|&r| match r {
                0 => "scalar",
                1 => "per-channel",
                2 => "full",
                _ => "lower-rank",
            })
            .collect();
        shapes.sort_unstable();
        shapes.dedup();
        categories.extend(shapes.iter().map(|s| format!("fq-range:{s}")));
    }
    categories.push(format!("act:{}", ["none", "relu", "clamp"][spec.act_fn.min(2)]));
    categories.push(format!("size:{}", ["small", "wide", "split"][g.size.min(2) as usize]));
    categories.push(format!(
        "zp:{}",
        if !q.valid() {
            "invalid"
        } else if q.zero_point_fractional() {
            "fractional"
        } else if (0.0..=255.0).contains(&(-(q.ol as f64) * (levels as f64 - 1.0) / (q.oh as f64 - q.ol as f64))) {
            "integer"
        } else {
            "integer-outside"
        }
    ));
    if conv {
        let geo = [
            (g.groups > 0 && spec.main == MainOp::Conv, "grouped"),
            (g.rank == 1, "1d"),
            (g.rank == 2, "3d"),
            (g.dil != [0, 0], "dilated"),
            (g.auto_pad > 0, "auto-pad"),
            (g.pad_extra != [0; 4] && g.auto_pad == 0, "asymmetric-pad"),
            (g.kw > 4 || (g.kw == 0 && spec.k > 4), "wide-kernel"),
        ];
        categories.extend(geo.iter().filter(|(on, _)| *on).map(|(_, n)| format!("conv:{n}")));
    } else {
        let geo = [(g.transpose_a, "transpose-a"), (spec.transpose_b, "transpose-b"), (g.b_batch > 0, "batched-b")];
        categories.extend(geo.iter().filter(|(on, _)| *on).map(|(_, n)| format!("matmul:{n}")));
    }
    let descriptor = format!("[{}] {}", regime.name(), c.descr.join(" | "));
    Ok(GenCase {
        model,
        inputs,
        descriptor,
        regime,
        categories,
        expect,
        special_input: c.special,
        form: spec.form,
        split: g.size == 2,
    })
}

/// Strategy of built cases (for kernel authors' property tests): `case_spec().prop_map(build)`,
/// keeping only what builds (every spec does; a failure is a generator bug and shows as an error).
pub fn cases() -> impl Strategy<Value = Result<GenCase, String>> {
    case_spec().prop_map(|s| build(&s))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    #[test]
    fn every_generated_spec_builds_and_runs_in_the_reference() {
        let mut runner = TestRunner::deterministic();
        let strat = case_spec();
        for _ in 0..150 {
            let spec = strat.new_tree(&mut runner).map(|t| t.current());
            let spec = match spec {
                Ok(s) => s,
                Err(e) => panic!("strategy: {e}"),
            };
            let case = build(&spec).unwrap_or_else(|e| panic!("{spec:?}: {e}"));
            let opts = reference::RunOptions { mode: reference::Mode::Fp32, ..Default::default() };
            if let Err(e) = reference::run(&case.model, &case.inputs, &opts) {
                panic!("{}: reference FP32 failed: {e}", case.descriptor);
            }
        }
    }
}
