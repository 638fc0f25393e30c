//! Property (SPEC §0.4, §3.2): for random small INT8 blocks — Convolution (1-D/2-D, strides,
//! dilations, pads, groups, depthwise), MatMul with constant weights (transpose_b, batched B) and
//! activation × activation, weights in all three forms, random activation ranges (fractional zero
//! points included), both zero-point policies, optional bias and ReLU — the INT8 output lies within
//! `bound::block_bounds` of the FP32 interpretation of the same graph (`reference::run` in FP32),
//! re-anchored on the FP32 run's values.
//!
//! Budget: 200 cases; `CONFORM_SOAK=n` multiplies it by n.

mod int8_support;

use conform_ir::{ElementType, Model, Tensor, TensorData};
use int8_support::Graph;
use proptest::prelude::*;
use reference::int8::{self, Decision, ZeroPointPolicy};
use reference::{run, Mode, RunOptions};

/// A tiny deterministic generator (xorshift64*), so one proptest `u64` describes a whole case.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in `lo..=hi`.
    fn int(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next() % ((hi - lo + 1) as u64)) as i64
    }
    fn usize(&mut self, lo: usize, hi: usize) -> usize {
        self.int(lo as i64, hi as i64) as usize
    }
    /// Uniform in `[lo, hi)`, rounded to f32.
    fn f(&mut self, lo: f64, hi: f64) -> f32 {
        (lo + (hi - lo) * ((self.next() >> 11) as f64 / (1u64 << 53) as f64)) as f32
    }
    fn coin(&mut self) -> bool {
        self.next() & 1 == 1
    }
}

/// The weight shape and which of its axes are output-channel axes (INT8.md §1 rule 3).
struct WeightLayout {
    shape: Vec<usize>,
    channel_axes: Vec<usize>,
}

impl WeightLayout {
    /// Shape of a per-channel range tensor: 1 on every non-channel axis.
    fn range_shape(&self) -> Vec<usize> {
        self.shape.iter().enumerate().map(|(a, &d)| if self.channel_axes.contains(&a) { d } else { 1 }).collect()
    }
    fn channels(&self) -> usize {
        self.channel_axes.iter().map(|&a| self.shape[a]).product()
    }
}

/// Adds constant weights in a random form; returns the node feeding the main op and a description.
fn weights(g: &mut Graph, rng: &mut Rng, lay: &WeightLayout) -> (usize, String) {
    let n: usize = lay.shape.iter().product();
    let rs = lay.range_shape();
    let ch = lay.channels();
    match rng.usize(0, 3) {
        0 => {
            // expanded: f32 Const → FQ, per channel symmetric L=255 [−127s,127s] or L=256 [−128s,127s]
            // with s a power of two (an exact integer zero point).
            let l256 = rng.coin();
            let s: Vec<f32> = (0..ch).map(|_| 2f32.powi(-(rng.int(3, 9) as i32))).collect();
            let lo: Vec<f32> = s.iter().map(|&s| if l256 { -128.0 * s } else { -127.0 * s }).collect();
            let hi: Vec<f32> = s.iter().map(|&s| 127.0 * s).collect();
            let w: Vec<f32> = (0..n).map(|_| rng.f(-1.2, 1.2) * 127.0 * s[0]).collect();
            let c = g.f32c(&lay.shape, &w);
            (g.fq_ranges(c, &rs, [&lo, &hi, &lo, &hi], if l256 { 256 } else { 255 }), format!("expanded L256={l256}"))
        }
        1 => {
            // compressed-fq: i8 Const → Convert → FQ(il −127, ih 127, L 255), or MO's u8 [0, 254] variant.
            let u8form = rng.coin();
            let (il, ih) = if u8form { (0.0f32, 254.0f32) } else { (-127.0, 127.0) };
            let c = if u8form {
                let v: Vec<u8> = (0..n).map(|_| rng.int(0, 254) as u8).collect();
                g.constant(ElementType::U8, &lay.shape, TensorData::U8(v))
            } else {
                let v: Vec<i8> = (0..n).map(|_| rng.int(-127, 127) as i8).collect();
                g.i8c(&lay.shape, &v)
            };
            let cv = g.convert(c);
            let s: Vec<f32> = (0..ch).map(|_| rng.f(0.001, 0.05)).collect();
            let lo: Vec<f32> = s.iter().map(|&s| -127.0 * s).collect();
            let hi: Vec<f32> = s.iter().map(|&s| 127.0 * s).collect();
            let ilc = vec![il; 1];
            let ihc = vec![ih; 1];
            let ones = vec![1usize; lay.shape.len()];
            let r = [g.f32c(&ones, &ilc), g.f32c(&ones, &ihc), g.f32c(&rs, &lo), g.f32c(&rs, &hi)];
            let sh = lay.shape.clone();
            (
                g.op("FakeQuantize", &[("levels", "255")], &[cv, r[0], r[1], r[2], r[3]], &sh),
                format!("compressed-fq u8={u8form}"),
            )
        }
        _ => {
            // compressed-dq: i8 Const → Convert → [Subtract(integer zp)] → Multiply(scale per channel).
            let v: Vec<i8> = (0..n).map(|_| rng.int(-120, 120) as i8).collect();
            let c = g.i8c(&lay.shape, &v);
            let cv = g.convert(c);
            let sub = rng.coin();
            let d = if sub {
                let z: Vec<f32> = (0..ch).map(|_| rng.int(-3, 3) as f32).collect();
                let zc = g.f32c(&rs, &z);
                let sh = lay.shape.clone();
                g.op("Subtract", &[], &[cv, zc], &sh)
            } else {
                cv
            };
            let s: Vec<f32> = (0..ch).map(|_| rng.f(0.001, 0.05)).collect();
            let sc = g.f32c(&rs, &s);
            let sh = lay.shape.clone();
            (g.op("Multiply", &[], &[d, sc], &sh), format!("compressed-dq subtract={sub}"))
        }
    }
}

/// Adds a Parameter and its activation FakeQuantize with random per-tensor ranges; returns
/// (parameter, fq, il, ih).
fn activation(g: &mut Graph, rng: &mut Rng, shape: &[usize], integer_zp: bool) -> (usize, usize, f32, f32) {
    let p = g.param(shape);
    let levels = if rng.coin() { 256 } else { 255 };
    let (ol, oh) = if integer_zp {
        // z integer: ol = −z·s, oh = (L−1−z)·s with s a power of two.
        let s = 2f32.powi(-(rng.int(4, 8) as i32));
        let z = rng.int(0, levels as i64 - 1) as f32;
        (-z * s, (levels as f32 - 1.0 - z) * s)
    } else if rng.coin() {
        (0.0, rng.f(0.1, 4.0))
    } else {
        (rng.f(-2.0, 0.5), rng.f(0.6, 3.0))
    };
    // Input range: usually the output range, sometimes a different one (it only selects the level).
    let (il, ih) = if rng.usize(0, 3) == 0 { (rng.f(-1.0, 0.0), rng.f(0.2, 2.0)) } else { (ol, oh) };
    let fq = g.fq(p, il, ih, ol, oh, levels);
    (p, fq, il, ih)
}

/// Random input data spanning the FQ input range and a margin beyond it.
fn data(rng: &mut Rng, shape: &[usize], il: f32, ih: f32) -> Tensor {
    let n: usize = shape.iter().product();
    let w = (ih - il) as f64;
    let v = (0..n).map(|_| rng.f(il as f64 - 0.2 * w, ih as f64 + 0.2 * w)).collect();
    Tensor::from_f32(shape.to_vec(), v).expect("shape")
}

fn list(v: &[usize]) -> String {
    v.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(",")
}

/// Builds a random block; returns the model, its inputs, the main node and a description.
fn random_block(seed: u64) -> (Model, Vec<Tensor>, usize, String, ZeroPointPolicy) {
    let mut rng = Rng(seed | 1);
    let policy = if rng.coin() { ZeroPointPolicy::Exact } else { ZeroPointPolicy::Round };
    let mut g = Graph::new();
    let mut inputs = Vec::new();
    let kind = rng.usize(0, 2);
    let (main, out_shape, channel_axis, desc) = match kind {
        0 => {
            // Convolution / GroupConvolution.
            let rank = rng.usize(1, 2);
            let groups_kind = rng.usize(0, 2); // 0: Convolution, 1: GroupConvolution G=2, 2: depthwise
            let (g_, cg, og) = match groups_kind {
                0 => (1, rng.usize(1, 3), rng.usize(1, 3)),
                1 => (2, rng.usize(1, 2), rng.usize(1, 2)),
                _ => (rng.usize(2, 3), 1, 1),
            };
            let (cin, cout) = (g_ * cg, g_ * og);
            let k: Vec<usize> = (0..rank).map(|_| rng.usize(1, 3)).collect();
            let s: Vec<usize> = (0..rank).map(|_| rng.usize(1, 2)).collect();
            let d: Vec<usize> = (0..rank).map(|_| rng.usize(1, 2)).collect();
            let pb: Vec<usize> = (0..rank).map(|_| rng.usize(0, 2)).collect();
            let pe: Vec<usize> = (0..rank).map(|_| rng.usize(0, 2)).collect();
            let sp: Vec<usize> = (0..rank)
                .map(|a| rng.usize(1, 6).max((d[a] * (k[a] - 1) + 1).saturating_sub(pb[a] + pe[a])).max(1))
                .collect();
            let out_sp: Vec<usize> =
                (0..rank).map(|a| (sp[a] + pb[a] + pe[a] - (d[a] * (k[a] - 1) + 1)) / s[a] + 1).collect();
            let nb = rng.usize(1, 2);
            let mut xs = vec![nb, cin];
            xs.extend(&sp);
            let (p, a, il, ih) = activation(&mut g, &mut rng, &xs, false);
            inputs.push((p, data(&mut rng, &xs, il, ih)));
            let grouped = groups_kind != 0;
            let mut ws = if grouped { vec![g_, og, cg] } else { vec![cout, cg] };
            ws.extend(&k);
            let lay = WeightLayout { shape: ws, channel_axes: if grouped { vec![0, 1] } else { vec![0] } };
            let (w, wdesc) = weights(&mut g, &mut rng, &lay);
            let mut os = vec![nb, cout];
            os.extend(&out_sp);
            let op = if grouped { "GroupConvolution" } else { "Convolution" };
            let conv = g.op(
                op,
                &[
                    ("strides", &list(&s)),
                    ("dilations", &list(&d)),
                    ("pads_begin", &list(&pb)),
                    ("pads_end", &list(&pe)),
                    ("auto_pad", "explicit"),
                ],
                &[a, w],
                &os,
            );
            (conv, os, 1, format!("{op} x{xs:?} k{k:?} s{s:?} d{d:?} pads {pb:?}/{pe:?} groups {g_} {wdesc}"))
        }
        1 => {
            // MatMul with constant weights.
            let (m, kk, n) = (rng.usize(1, 3), rng.usize(1, 9), rng.usize(1, 4));
            let batched = rng.coin();
            let tb = rng.coin();
            let xs = if batched { vec![2, m, kk] } else { vec![m, kk] };
            let (p, a, il, ih) = activation(&mut g, &mut rng, &xs, false);
            inputs.push((p, data(&mut rng, &xs, il, ih)));
            let mut bs = if tb { vec![n, kk] } else { vec![kk, n] };
            let mut axes = vec![if tb { 0 } else { 1 }];
            if batched {
                bs.insert(0, 2);
                axes = vec![0, axes[0] + 1];
            }
            let lay = WeightLayout { shape: bs.clone(), channel_axes: axes };
            let (w, wdesc) = weights(&mut g, &mut rng, &lay);
            let os = if batched { vec![2, m, n] } else { vec![m, n] };
            let tbs = tb.to_string();
            let mm = g.op("MatMul", &[("transpose_a", "false"), ("transpose_b", &tbs)], &[a, w], &os);
            let r = os.len() - 1;
            (mm, os, r, format!("MatMul A{xs:?} B{bs:?} tb={tb} {wdesc}"))
        }
        _ => {
            // Activation × activation MatMul; under Exact at most one fractional zero point.
            let (m, kk, n) = (rng.usize(1, 3), rng.usize(1, 9), rng.usize(1, 4));
            let (ta, tb) = (rng.coin(), rng.coin());
            let xs = if ta { vec![kk, m] } else { vec![m, kk] };
            let ys = if tb { vec![n, kk] } else { vec![kk, n] };
            let (p, a, il, ih) = activation(&mut g, &mut rng, &xs, false);
            inputs.push((p, data(&mut rng, &xs, il, ih)));
            let (q, b, il2, ih2) = activation(&mut g, &mut rng, &ys, policy == ZeroPointPolicy::Exact);
            inputs.push((q, data(&mut rng, &ys, il2, ih2)));
            let os = vec![m, n];
            let (tas, tbs) = (ta.to_string(), tb.to_string());
            let mm = g.op("MatMul", &[("transpose_a", &tas), ("transpose_b", &tbs)], &[a, b], &os);
            (mm, os, 1, format!("MatMul act×act A{xs:?} B{ys:?} ta={ta} tb={tb}"))
        }
    };
    let mut last = main;
    let mut desc = desc;
    if rng.coin() {
        let c = out_shape[channel_axis];
        let mut bs = vec![1; out_shape.len()];
        bs[channel_axis] = c;
        let bv: Vec<f32> = (0..c).map(|_| rng.f(-1.0, 1.0)).collect();
        let b = g.f32c(&bs, &bv);
        last = g.op("Add", &[], &[last, b], &out_shape);
        desc += " +bias";
    }
    if rng.coin() {
        last = g.op("ReLU", &[], &[last], &out_shape);
        desc += " +relu";
    }
    g.result(last);
    let model = g.build();
    // Parameters are numbered in file order, which is the order they were added.
    inputs.sort_by_key(|(p, _)| *p);
    (model, inputs.into_iter().map(|(_, t)| t).collect(), main, desc, policy)
}

fn check(seed: u64) -> Result<(), TestCaseError> {
    let (model, inputs, main, desc, policy) = random_block(seed);
    let plan = int8::analyze(&model, policy).expect("analyze");
    let Decision::Main { block } = plan.decisions[main] else {
        return Err(TestCaseError::fail(format!("seed {seed}: {desc}: not INT8: {:?}", plan.decisions[main])));
    };
    let block = &plan.blocks[block];
    let fp32 = run(&model, &inputs, &RunOptions { mode: Mode::Fp32, keep_values: true, ..Default::default() })
        .map_err(|e| TestCaseError::fail(format!("seed {seed}: {desc}: FP32 run: {e}")))?;
    let values = fp32.values.expect("kept");
    let val = |(n, o): (usize, usize)| values[n][o].as_ref().expect("value");
    let acts: Vec<&Tensor> = block.act_fq.iter().map(|&fq| val(model.source_of(fq, 0))).collect();
    let y8 = int8::execute_block(&model, &plan, block, &acts).expect("INT8 block").to_f32_vec();
    let y32 = val((block.output, 0)).to_f32_vec();
    let bounds =
        reference::bound::block_bounds(&model, block, val(model.source_of(main, 0)), val(model.source_of(main, 1)))
            .expect("bounds");
    prop_assert_eq!(y8.len(), y32.len());
    for e in 0..y8.len() {
        let d = (y8[e] as f64 - y32[e] as f64).abs();
        prop_assert!(
            d <= bounds[e],
            "seed {}: {} {:?}: element {}: INT8 {} FP32 {} |Δ| {:e} > bound {:e}",
            seed,
            desc,
            policy,
            e,
            y8[e],
            y32[e],
            d,
            bounds[e]
        );
    }
    Ok(())
}

fn cases() -> u32 {
    let soak = std::env::var("CONFORM_SOAK").ok().and_then(|v| v.parse::<u32>().ok()).unwrap_or(1).max(1);
    200 * soak
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn int8_block_within_the_bound_of_fp32(seed in any::<u64>()) {
        check(seed)?;
    }
}
