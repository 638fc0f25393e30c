//! Whole INT8 blocks (conv, grouped/depthwise conv, MatMul with constant weights, act × act MatMul)
//! built in memory with random geometry and ranges, run through every usable ISA at 1 and 2 threads,
//! compared bit for bit with a naive evaluation of INT8.md written in this file (independent of the
//! engine's kernels, packing and epilogue code), and that naive evaluation with the reference
//! crate's INT8 mode.

use conform_ir::{Model, Tensor};
use optimized::isa::{self, Isa};
use optimized::modelgen::{Builder, Rng};
use optimized::{compile, PlanOptions, Precision, ZeroPointPolicy};

fn cases() -> usize {
    let soak: f64 = std::env::var("CONFORM_SOAK").ok().and_then(|v| v.parse().ok()).unwrap_or(1.0);
    (40.0 * soak) as usize
}

// ---- INT8.md, naively -------------------------------------------------------------------------

/// `fq_index` of SPEC §1.2 (il < ih): the level index, `None` for NaN.
fn fq_index(x: f32, il: f32, ih: f32, levels: u32) -> Option<i64> {
    if x <= il {
        return Some(0);
    }
    if x > ih {
        return Some(levels as i64 - 1);
    }
    let t = (x - il) / (ih - il);
    let t = t * (levels - 1) as f32;
    let r = t.round_ties_even();
    if r.is_nan() {
        None
    } else {
        Some(r as i64)
    }
}

#[derive(Clone, Copy, Debug)]
struct Act {
    il: f32,
    ih: f32,
    ol: f32,
    oh: f32,
    levels: u32,
}

impl Act {
    /// (s_a, z_int, f32 frac) per INT8.md §2.
    fn params(&self, round: bool) -> (f32, i64, f32) {
        let d = self.oh - self.ol;
        let s = d / (self.levels - 1) as f32;
        let z = -(self.ol as f64) * ((self.levels - 1) as f64) / ((self.oh as f64) - (self.ol as f64));
        let zi = z.round_ties_even();
        let mut frac = z - zi;
        if frac.abs() <= 1e-5 || round {
            frac = 0.0;
        }
        (s, zi as i64, frac as f32)
    }
}

#[derive(Clone, Copy, Debug)]
enum Post {
    None,
    Relu,
    Clamp(f32, f32),
}

/// The epilogue of INT8.md §4 for one output (`nan`: a valid tap read NaN).
fn epilogue(s: i64, w: i64, frac: f32, m: f32, bias: Option<f32>, post: Post, nan: bool) -> f32 {
    let mut t = s as i32 as f32;
    if frac != 0.0 {
        let p = frac * (w as i32 as f32);
        t -= p;
    }
    let mut y = if nan { f32::NAN } else { t * m };
    if let Some(b) = bias {
        y += b;
    }
    match post {
        Post::None => y,
        Post::Relu => {
            if y > 0.0 {
                y
            } else {
                0.0
            }
        }
        Post::Clamp(lo, hi) => {
            if y < lo {
                lo
            } else if y > hi {
                hi
            } else {
                y
            }
        }
    }
}

fn random_act(rng: &mut Rng) -> Act {
    let levels = if rng.int(0, 3) == 0 { 255 } else { 256 };
    let (ol, oh) = match rng.int(0, 5) {
        0 => (0.0, 2.55),
        1 => (-1.28, 1.27),
        2 => (-1.0, 1.0),   // z = 127.5: fractional
        3 => (-0.37, 2.11), // z = 38.04
        4 => (0.5, 3.0),    // z < 0: outside [0, 255]
        _ => (-3.0, -0.5),  // z > 255
    };
    let (il, ih) = if rng.int(0, 1) == 0 { (ol, oh) } else { (ol * 0.9, oh * 1.1) };
    Act { il, ih, ol, oh, levels }
}

fn random_input(rng: &mut Rng, n: usize, a: &Act) -> Vec<f32> {
    (0..n)
        .map(|_| {
            let u = rng.unit();
            let span = a.ih - a.il;
            let x = a.il - 0.1 * span + u * 1.2 * span;
            // Some exact FQ ties (t = k + 0.5) to catch rounding-mode mistakes.
            if rng.int(0, 20) == 0 {
                let k = rng.int(0, a.levels as i64 - 2) as f32 + 0.5;
                a.il + k / (a.levels - 1) as f32 * span
            } else {
                x
            }
        })
        .collect()
}

fn check_all(model: &Model, inputs: &[Tensor], expect: &[f32], what: &str) {
    // The reference crate's INT8 mode must agree with the naive oracle too (a triangle: a
    // disagreement names which side drifted from INT8.md).
    let opts = reference::RunOptions {
        mode: reference::Mode::Int8(reference::int8::ZeroPointPolicy::Exact),
        ..Default::default()
    };
    let r = reference::run(model, inputs, &opts).unwrap_or_else(|e| panic!("{what}: reference: {e}"));
    let rv = r.outputs[0].as_f32().expect("f32 output");
    for i in 0..rv.len() {
        let same = rv[i].to_bits() == expect[i].to_bits() || (rv[i].is_nan() && expect[i].is_nan());
        assert!(same, "{what}: reference INT8 element {i}: {} vs naive {}", rv[i], expect[i]);
    }
    let mut ran = 0;
    for isa in isa::detected().unwrap_or_default() {
        for threads in [1usize, 2] {
            for pol in [ZeroPointPolicy::Exact] {
                let plan = compile(
                    model,
                    &PlanOptions { isa: Some(isa.name().into()), zero_point: pol, threads: Some(threads) },
                )
                .unwrap_or_else(|e| panic!("{what}: compile: {e}"));
                assert!(
                    plan.report().iter().any(|r| r.precision == Precision::Int8),
                    "{what}: no INT8 block: {:?}",
                    plan.report()
                );
                let out = plan.run(inputs).unwrap_or_else(|e| panic!("{what}: run: {e}"));
                let got = out.outputs[0].as_f32().expect("f32 output");
                assert_eq!(got.len(), expect.len(), "{what}");
                for i in 0..got.len() {
                    let same = got[i].to_bits() == expect[i].to_bits() || (got[i].is_nan() && expect[i].is_nan());
                    assert!(same, "{what} {isa} t{threads}: element {i}: got {} expected {}", got[i], expect[i]);
                }
                ran += 1;
            }
        }
    }
    assert!(ran > 0);
}

// ---- convolution ---------------------------------------------------------------------------------

#[allow(clippy::too_many_arguments)]
fn conv_case(rng: &mut Rng, case: usize) {
    let depthwise = case % 4 == 1;
    let grouped = depthwise || case % 4 == 2;
    let groups = if depthwise {
        rng.int(1, 20) as usize
    } else if grouped {
        rng.int(2, 3) as usize
    } else {
        1
    };
    // Every 8th dense and grouped case: 16 or 32 channels per group and rows up to 40 wide (the
    // 16-channel transposing scatter of the dense convolution, partial last block included).
    let wide = matches!(case % 8, 0 | 6);
    let cin_g = if depthwise {
        1
    } else if wide {
        16 * rng.int(1, 2) as usize
    } else {
        rng.int(1, 9) as usize
    };
    let cout_g = if depthwise { 1 } else { rng.int(1, 40) as usize };
    let (c, o) = (groups * cin_g, groups * cout_g);
    let kh = rng.int(1, 3) as usize;
    let kw = rng.int(1, 3) as usize;
    let (sh, sw) = (rng.int(1, 2) as usize, rng.int(1, 2) as usize);
    let (dh, dw) = (rng.int(1, 2) as usize, rng.int(1, 2) as usize);
    let (pt, pl, pbm, pr) =
        (rng.int(0, 2) as usize, rng.int(0, 2) as usize, rng.int(0, 2) as usize, rng.int(0, 2) as usize);
    let h = rng.int(((kh - 1) * dh + 1) as i64, 9) as usize;
    let w = rng.int(((kw - 1) * dw + 1) as i64, if wide { 40 } else { 11 }) as usize;
    let a = random_act(rng);
    let ntap = kh * kw;
    let q: Vec<i8> = (0..o * cin_g * ntap).map(|_| rng.int(-128, 127) as i8).collect();
    let scales: Vec<f32> = (0..o).map(|_| 0.001 + rng.unit() * 0.01).collect();
    let bias: Option<Vec<f32>> =
        if rng.int(0, 1) == 0 { Some((0..o).map(|_| rng.normal(0.5)).collect()) } else { None };
    let post = match rng.int(0, 2) {
        0 => Post::None,
        1 => Post::Relu,
        _ => Post::Clamp(-0.5, 0.7),
    };
    // Model.
    let mut b = Builder::new();
    let x = b.param(&[1, c, h, w]);
    let f = b.fq(x, &[1, c, h, w], a.levels, [a.il, a.ih, a.ol, a.oh]);
    let (wshape, sshape) = if grouped {
        (vec![groups, cout_g, cin_g, kh, kw], vec![groups, cout_g, 1, 1, 1])
    } else {
        (vec![o, cin_g, kh, kw], vec![o, 1, 1, 1])
    };
    let wn = b.dq_weights(&wshape, &q, &sshape, &scales, None);
    let oh_ = (h + pt + pbm - ((kh - 1) * dh + 1)) / sh + 1;
    let ow_ = (w + pl + pr - ((kw - 1) * dw + 1)) / sw + 1;
    let attrs = [
        ("strides", format!("{sh},{sw}")),
        ("dilations", format!("{dh},{dw}")),
        ("pads_begin", format!("{pt},{pl}")),
        ("pads_end", format!("{pbm},{pr}")),
        ("auto_pad", "explicit".to_string()),
    ];
    let op = if grouped { "GroupConvolution" } else { "Convolution" };
    let mut last = b.op(op, &attrs, &[(f, 0), (wn, 0)], &[vec![1, o, oh_, ow_]]);
    if let Some(bv) = &bias {
        let bc = b.const_f32(&[1, o, 1, 1], bv);
        last = b.op("Add", &[("auto_broadcast", "numpy".into())], &[(last, 0), (bc, 0)], &[vec![1, o, oh_, ow_]]);
    }
    match post {
        Post::None => {}
        Post::Relu => last = b.op("ReLU", &[], &[(last, 0)], &[vec![1, o, oh_, ow_]]),
        Post::Clamp(lo, hi) => {
            last = b.op(
                "Clamp",
                &[("min", lo.to_string()), ("max", hi.to_string())],
                &[(last, 0)],
                &[vec![1, o, oh_, ow_]],
            )
        }
    }
    b.result(last);
    let model = b.finish("conv").expect("valid model");
    let mut xin = random_input(rng, c * h * w, &a);
    if case % 7 == 3 {
        let i = rng.int(0, (c * h * w - 1) as i64) as usize;
        xin[i] = f32::NAN;
    }
    // Naive oracle.
    let (s_a, z, frac) = a.params(false);
    let mut expect = vec![0f32; o * oh_ * ow_];
    for oc in 0..o {
        let g = oc / cout_g;
        for oy in 0..oh_ {
            for ox in 0..ow_ {
                let (mut s, mut wsum, mut nan) = (0i64, 0i64, false);
                for ci in 0..cin_g {
                    for ky in 0..kh {
                        for kx in 0..kw {
                            let iy = (oy * sh + ky * dh) as i64 - pt as i64;
                            let ix = (ox * sw + kx * dw) as i64 - pl as i64;
                            if iy < 0 || ix < 0 || iy >= h as i64 || ix >= w as i64 {
                                continue; // padding contributes zero after the zero point
                            }
                            let ch = g * cin_g + ci;
                            let xv = xin[(ch * h + iy as usize) * w + ix as usize];
                            let qw = q[((oc * cin_g + ci) * kh + ky) * kw + kx] as i64;
                            match fq_index(xv, a.il, a.ih, a.levels) {
                                Some(r) => s += (r - z) * qw,
                                None => nan = true,
                            }
                            wsum += qw;
                        }
                    }
                }
                let m = s_a * scales[oc];
                expect[(oc * oh_ + oy) * ow_ + ox] =
                    epilogue(s, wsum, frac, m, bias.as_ref().map(|v| v[oc]), post, nan);
            }
        }
    }
    let t = Tensor::from_f32(vec![1, c, h, w], xin).expect("shape");
    check_all(
        &model,
        &[t],
        &expect,
        &format!(
            "conv case {case} ({op} g{groups} c{c} o{o} k{kh}x{kw} s{sh}{sw} d{dh}{dw} p{pt}{pl}{pbm}{pr} act {a:?})"
        ),
    );
}

#[test]
fn conv_blocks_equal_naive_int8_on_every_isa_and_thread_count() {
    let mut rng = Rng::new(0xC0);
    for case in 0..cases() {
        conv_case(&mut rng, case);
    }
}

// ---- MatMul ---------------------------------------------------------------------------------------

fn matmul_case(rng: &mut Rng, case: usize) {
    let act_x_act = case % 3 == 2;
    let batch = rng.int(1, 3) as usize;
    let m = if rng.int(0, 3) == 0 { 1 } else { rng.int(1, 20) as usize };
    let k = rng.int(1, 70) as usize;
    let n = rng.int(1, 70) as usize;
    let ta = act_x_act && rng.int(0, 1) == 0;
    let tb = rng.int(0, 1) == 0;
    let a = random_act(rng);
    let mut bq = random_act(rng);
    if act_x_act && a.params(false).2 != 0.0 {
        // Two fractional zero points fall back (rule 4): keep b integer.
        bq = Act { il: 0.0, ih: 2.55, ol: 0.0, oh: 2.55, levels: 256 };
    }
    let mut b = Builder::new();
    let ashape = if ta { vec![batch, k, m] } else { vec![batch, m, k] };
    let xa = b.param(&ashape);
    let fa = b.fq(xa, &ashape, a.levels, [a.il, a.ih, a.ol, a.oh]);
    let bshape = if tb { vec![batch, n, k] } else { vec![batch, k, n] };
    let qw: Vec<i8> = (0..k * n).map(|_| rng.int(-128, 127) as i8).collect();
    let scales: Vec<f32> = (0..n).map(|_| 0.001 + rng.unit() * 0.01).collect();
    let (second, xb) = if act_x_act {
        let xb = b.param(&bshape);
        (b.fq(xb, &bshape, bq.levels, [bq.il, bq.ih, bq.ol, bq.oh]), Some(xb))
    } else if tb {
        (b.dq_weights(&[n, k], &qw, &[n, 1], &scales, None), None)
    } else {
        (b.dq_weights(&[k, n], &qw, &[1, n], &scales, None), None)
    };
    let _ = xb;
    let bias: Option<Vec<f32>> =
        if rng.int(0, 1) == 0 { Some((0..n).map(|_| rng.normal(0.5)).collect()) } else { None };
    let post = if rng.int(0, 1) == 0 { Post::Relu } else { Post::None };
    let attrs = [("transpose_a", ta.to_string()), ("transpose_b", tb.to_string())];
    let mut last = b.op("MatMul", &attrs, &[(fa, 0), (second, 0)], &[vec![batch, m, n]]);
    if let Some(bv) = &bias {
        let bc = b.const_f32(&[n], bv);
        last = b.op("Add", &[("auto_broadcast", "numpy".into())], &[(bc, 0), (last, 0)], &[vec![batch, m, n]]);
    }
    if let Post::Relu = post {
        last = b.op("ReLU", &[], &[(last, 0)], &[vec![batch, m, n]]);
    }
    b.result(last);
    let model = b.finish("mm").expect("valid model");
    let xin = random_input(rng, batch * m * k, &a);
    let bin = if act_x_act { random_input(rng, batch * k * n, &bq) } else { Vec::new() };
    let (s_a, za, fa_) = a.params(false);
    let (s_b, zb, fb_) = bq.params(false);
    let mut expect = vec![0f32; batch * m * n];
    for bi in 0..batch {
        for mi in 0..m {
            for ni in 0..n {
                let (mut s, mut wsum, mut nan) = (0i64, 0i64, false);
                for ki in 0..k {
                    let xv = if ta { xin[(bi * k + ki) * m + mi] } else { xin[(bi * m + mi) * k + ki] };
                    let qa = fq_index(xv, a.il, a.ih, a.levels).map(|r| r - za);
                    let qb = if act_x_act {
                        let bv = if tb { bin[(bi * n + ni) * k + ki] } else { bin[(bi * k + ki) * n + ni] };
                        fq_index(bv, bq.il, bq.ih, bq.levels).map(|r| r - zb)
                    } else {
                        Some(if tb { qw[ni * k + ki] } else { qw[ki * n + ni] } as i64)
                    };
                    match (qa, qb) {
                        (Some(x), Some(y)) => {
                            s += x * y;
                            // W: along the operand whose zero point is *not* fractional.
                            wsum += if fa_ != 0.0 { y } else { x };
                        }
                        _ => nan = true,
                    }
                }
                let (mscale, frac) =
                    if act_x_act { (s_a * s_b, if fa_ != 0.0 { fa_ } else { fb_ }) } else { (s_a * scales[ni], fa_) };
                expect[(bi * m + mi) * n + ni] =
                    epilogue(s, wsum, frac, mscale, bias.as_ref().map(|v| v[ni]), post, nan);
            }
        }
    }
    let mut ins = vec![Tensor::from_f32(ashape, xin).expect("shape")];
    if act_x_act {
        ins.push(Tensor::from_f32(bshape, bin).expect("shape"));
    }
    check_all(
        &model,
        &ins,
        &expect,
        &format!("matmul case {case} (b{batch} m{m} k{k} n{n} ta{ta} tb{tb} act×act {act_x_act} a {a:?} b {bq:?})"),
    );
}

#[test]
fn matmul_blocks_equal_naive_int8_on_every_isa_and_thread_count() {
    let mut rng = Rng::new(0x33);
    for case in 0..cases() {
        matmul_case(&mut rng, case);
    }
}

#[test]
fn asking_for_an_isa_the_cpu_lacks_is_an_error() {
    let mut b = Builder::new();
    let x = b.param(&[1, 4]);
    b.result(x);
    let model = b.finish("m").expect("valid");
    for i in Isa::ALL {
        let r = compile(&model, &PlanOptions { isa: Some(i.name().into()), ..PlanOptions::default() });
        assert_eq!(r.is_ok(), isa::usable(i).unwrap_or(false), "{i}");
    }
    assert!(compile(&model, &PlanOptions { isa: Some("sse9".into()), ..PlanOptions::default() }).is_err());
}
