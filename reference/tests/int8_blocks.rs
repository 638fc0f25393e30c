//! Hand-computed INT8 blocks (INT8.md §1–§4): the integer sums are derived in the comments, the
//! scales are powers of two wherever possible so the epilogue is exact and the expected f32 values
//! follow from the arithmetic written here.

mod int8_support;

use conform_ir::Tensor;
use int8_support::{f32s, Graph};
use reference::int8::{self, Decision, Int8Plan, ZeroPointPolicy};

fn t(shape: &[usize], v: &[f32]) -> Tensor {
    Tensor::from_f32(shape.to_vec(), v.to_vec()).expect("shape fits")
}

/// Runs the plan's only block on `acts`.
fn run_block(model: &conform_ir::Model, plan: &Int8Plan, acts: &[&Tensor]) -> Vec<f32> {
    assert_eq!(plan.blocks.len(), 1, "one INT8 block expected: {:?}", plan.decisions);
    f32s(&int8::execute_block(model, plan, &plan.blocks[0], acts).expect("block runs"))
}

fn reason_of(plan: &Int8Plan, node: usize) -> &'static str {
    match &plan.decisions[node] {
        Decision::Fallback { reason, .. } => reason,
        d => panic!("node {node} is not a fallback: {d:?}"),
    }
}

/// Conv 2×2 with pads_begin (1,1): activation FQ L=256 over [−0.5, 191/128] (S_a = 1/128, z_a = 64),
/// expanded weights L=255 per channel symmetric: channel 0 s_w = 1/64, channel 1 s_w = 1/32.
/// Bias [0.5, 0.02] then ReLU.
fn padded_conv() -> (conform_ir::Model, usize, Vec<usize>) {
    let mut g = Graph::new();
    let x = g.param(&[1, 1, 2, 2]);
    let a = g.fq(x, -0.5, 1.4921875, -0.5, 1.4921875, 256);
    // Weights q: channel 0 [[1,2],[3,4]], channel 1 [[-1,0],[2,-3]]; w = q·s_w.
    let q = [1.0f32, 2.0, 3.0, 4.0, -1.0, 0.0, 2.0, -3.0];
    let w: Vec<f32> = q.iter().enumerate().map(|(i, &v)| if i < 4 { v / 64.0 } else { v / 32.0 }).collect();
    let wc = g.f32c(&[2, 1, 2, 2], &w);
    let hi = [127.0f32 / 64.0, 127.0 / 32.0];
    let lo = [-127.0f32 / 64.0, -127.0 / 32.0];
    let wf = g.fq_ranges(wc, &[2, 1, 1, 1], [&lo, &hi, &lo, &hi], 255);
    let conv = g.op(
        "Convolution",
        &[
            ("strides", "1,1"),
            ("dilations", "1,1"),
            ("pads_begin", "1,1"),
            ("pads_end", "0,0"),
            ("auto_pad", "explicit"),
        ],
        &[a, wf],
        &[1, 2, 2, 2],
    );
    let b = g.f32c(&[1, 2, 1, 1], &[0.5, 0.02]);
    let add = g.op("Add", &[("auto_broadcast", "numpy")], &[conv, b], &[1, 2, 2, 2]);
    let relu = g.op("ReLU", &[], &[add], &[1, 2, 2, 2]);
    g.result(relu);
    (g.build(), conv, vec![add, relu])
}

#[test]
fn padded_conv_with_nonzero_zero_point() {
    let (model, conv, chain) = padded_conv();
    let plan = int8::analyze(&model, ZeroPointPolicy::Exact).expect("analyzes");
    assert_eq!(plan.decisions[conv], Decision::Main { block: 0 });
    assert_eq!(plan.blocks[0].chain, chain);
    for &c in &chain {
        assert_eq!(plan.decisions[c], Decision::Absorbed { block: 0 });
    }
    assert_eq!(plan.blocks[0].acts[0].z_int, 64);
    // Activation levels r = [[70,60],[64,100]], x = r/128 − 0.5; q_a = r − 64 = [[6,−4],[0,36]].
    let x = t(&[1, 1, 2, 2], &[70.0 / 128.0 - 0.5, 60.0 / 128.0 - 0.5, 0.0, 100.0 / 128.0 - 0.5]);
    let y = run_block(&model, &plan, &[&x]);
    // Output (i,j) tap (ki,kj) reads x[i+ki−1][j+kj−1]; padded taps contribute 0 (not −64·w):
    //   (0,0): 6·w11                         ch0: 24      ch1: −18
    //   (0,1): 6·w10 − 4·w11                 ch0: 18−16=2 ch1: 12+12=24
    //   (1,0): 6·w01 + 0·w11                 ch0: 12      ch1: 0
    //   (1,1): 6·w00 − 4·w01 + 0·w10 + 36·w11 ch0: 6−8+144=142  ch1: −6+0−108=−114
    // M = s_a·s_w: ch0 1/8192, ch1 1/4096 (exact); y = relu(S·M + b) in f32.
    let ch0 = [24.0f32, 2.0, 12.0, 142.0].map(|s| s * (1.0 / 8192.0) + 0.5);
    let ch1 = [-18.0f32, 24.0, 0.0, -114.0].map(|s| {
        let v = s * (1.0 / 4096.0) + 0.02f32;
        if v > 0.0 {
            v
        } else {
            0.0
        }
    });
    assert_eq!(ch1[3], 0.0, "ReLU clips −114/4096 + 0.02");
    let want: Vec<f32> = ch0.iter().chain(ch1.iter()).copied().collect();
    assert_eq!(y, want);
}

fn run_traced(keep_values: bool) {
    let (model, conv, chain) = padded_conv();
    let x = t(&[1, 1, 2, 2], &[70.0 / 128.0 - 0.5, 60.0 / 128.0 - 0.5, 0.0, 100.0 / 128.0 - 0.5]);
    let opts = reference::RunOptions {
        mode: reference::Mode::Int8(ZeroPointPolicy::Exact),
        keep_values,
        ..Default::default()
    };
    let out = reference::run(&model, &[x], &opts).expect("runs");
    use reference::interp::PathTaken;
    let path = |n: usize| out.trace.iter().find(|r| r.node == n).map(|r| r.path.clone());
    assert_eq!(path(conv), Some(PathTaken::Int8));
    assert_eq!(path(chain[0]), Some(PathTaken::FusedInto(conv)));
    assert_eq!(path(chain[1]), Some(PathTaken::FusedInto(conv)));
    assert_eq!(f32s(&out.outputs[0])[0], 24.0 / 8192.0 + 0.5);
}

#[test]
fn trace_says_which_nodes_ran_int8() {
    run_traced(true);
}

#[test]
fn int8_run_without_keeping_values() {
    run_traced(false);
}

#[test]
fn depthwise_dq_weights_and_clamp() {
    // GroupConvolution 1-D: x [1,2,3], weights [G=2,1,1,k=2] as i8 → Convert → Multiply([0.5, 0.25]).
    // Activation FQ over [0, 255/128]: S_a = 1/128, z_a = 0; levels ch0 [10,20,30], ch1 [1,2,3].
    let mut g = Graph::new();
    let x = g.param(&[1, 2, 3]);
    let a = g.fq(x, 0.0, 255.0 / 128.0, 0.0, 255.0 / 128.0, 256);
    let c = g.i8c(&[2, 1, 1, 2], &[1, -2, 3, 5]);
    let cv = g.convert(c);
    let s = g.f32c(&[2, 1, 1, 1], &[0.5, 0.25]);
    let w = g.op("Multiply", &[("auto_broadcast", "numpy")], &[cv, s], &[2, 1, 1, 2]);
    let conv = g.op(
        "GroupConvolution",
        &[("strides", "1"), ("dilations", "1"), ("pads_begin", "0"), ("pads_end", "0"), ("auto_pad", "explicit")],
        &[a, w],
        &[1, 2, 2],
    );
    let cl = g.op("Clamp", &[("min", "-0.125"), ("max", "0.03")], &[conv], &[1, 2, 2]);
    g.result(cl);
    let model = g.build();
    let plan = int8::analyze(&model, ZeroPointPolicy::Exact).expect("analyzes");
    assert_eq!(plan.blocks[0].weights.as_ref().map(|w| w.form), Some(int8::WeightForm::CompressedDq));
    let xv = t(&[1, 2, 3], &[10.0 / 128.0, 20.0 / 128.0, 30.0 / 128.0, 1.0 / 128.0, 2.0 / 128.0, 3.0 / 128.0]);
    let y = run_block(&model, &plan, &[&xv]);
    // Each output channel reads only its own input channel:
    //   ch0: 10·1 + 20·(−2) = −30 ; 20·1 + 30·(−2) = −40      M0 = 1/128·0.5 = 1/256
    //   ch1: 1·3 + 2·5 = 13       ; 2·3 + 3·5 = 21            M1 = 1/128·0.25 = 1/512
    // Clamp(−0.125, 0.03): −30/256 stays, −40/256 → −0.125, 13/512 stays, 21/512 → f32(0.03).
    assert_eq!(y, vec![-30.0 / 256.0, -0.125, 13.0 / 512.0, 0.03f32]);
}

#[test]
fn matmul_compressed_fq_transpose_b() {
    // A [2,3] through FQ over [−1, 127/128] (S_a = 1/128, z_a = 128); B = Const i8 [N=2, K=3]
    // → Convert → FQ(il −127, ih 127, per-row ol/oh = ∓127·s_w, L 255) with s_w = [1/64, 1/16]:
    // the Model Optimizer compressed-fq form, whose level index is c + 127, so q_w = c.
    let mut g = Graph::new();
    let x = g.param(&[2, 3]);
    let a = g.fq(x, -1.0, 127.0 / 128.0, -1.0, 127.0 / 128.0, 256);
    let c = g.i8c(&[2, 3], &[1, 2, 3, -1, 4, 0]);
    let cv = g.convert(c);
    let lo = [-127.0f32 / 64.0, -127.0 / 16.0];
    let hi = [127.0f32 / 64.0, 127.0 / 16.0];
    let il = g.scalar(-127.0);
    let ih = g.scalar(127.0);
    let ol = g.f32c(&[2, 1], &lo);
    let oh = g.f32c(&[2, 1], &hi);
    let wf = g.op("FakeQuantize", &[("levels", "255")], &[cv, il, ih, ol, oh], &[2, 3]);
    let mm = g.op("MatMul", &[("transpose_a", "false"), ("transpose_b", "true")], &[a, wf], &[2, 2]);
    g.result(mm);
    let model = g.build();
    let plan = int8::analyze(&model, ZeroPointPolicy::Exact).expect("analyzes");
    let w = plan.blocks[0].weights.as_ref().expect("constant weights");
    assert_eq!(w.form, int8::WeightForm::CompressedFq);
    assert_eq!(w.q, vec![1, 2, 3, -1, 4, 0]);
    // Levels r = [[130,128,120],[255,0,129]] → q_a = [[2,0,−8],[127,−128,1]].
    let lv = [130.0f32, 128.0, 120.0, 255.0, 0.0, 129.0];
    let xv = t(&[2, 3], &lv.map(|r| r / 128.0 - 1.0));
    let y = run_block(&model, &plan, &[&xv]);
    // y[m,n] = Σ_k q_a[m,k]·B[n,k]:
    //   [0,0] = 2 + 0 − 24 = −22   [0,1] = −2 + 0 + 0 = −2
    //   [1,0] = 127 − 256 + 3 = −126   [1,1] = −127 − 512 + 0 = −639
    // M = [1/128·1/64, 1/128·1/16] = [1/8192, 1/2048].
    assert_eq!(y, vec![-22.0 / 8192.0, -2.0 / 2048.0, -126.0 / 8192.0, -639.0 / 2048.0]);
}

#[test]
fn matmul_activation_by_activation() {
    // A [1,2,2] FQ over [0, 255/64] (S 1/64, z 0); B [1,2,2] FQ over [−1, 127/128] (S 1/128, z 128).
    let mut g = Graph::new();
    let x = g.param(&[1, 2, 2]);
    let yp = g.param(&[1, 2, 2]);
    let a = g.fq(x, 0.0, 255.0 / 64.0, 0.0, 255.0 / 64.0, 256);
    let b = g.fq(yp, -1.0, 127.0 / 128.0, -1.0, 127.0 / 128.0, 256);
    let mm = g.op("MatMul", &[("transpose_a", "false"), ("transpose_b", "false")], &[a, b], &[1, 2, 2]);
    g.result(mm);
    let model = g.build();
    let plan = int8::analyze(&model, ZeroPointPolicy::Exact).expect("analyzes");
    assert_eq!(plan.blocks[0].act_fq, vec![a, b]);
    assert!(plan.blocks[0].weights.is_none());
    // A levels [[1,2],[3,4]] (q = same); B levels [[129,126],[128,138]] → q_b = [[1,−2],[0,10]].
    let av = t(&[1, 2, 2], &[1.0 / 64.0, 2.0 / 64.0, 3.0 / 64.0, 4.0 / 64.0]);
    let bv = t(&[1, 2, 2], &[129.0f32, 126.0, 128.0, 138.0].map(|r| r / 128.0 - 1.0));
    let y = run_block(&model, &plan, &[&av, &bv]);
    // A·B = [[1·1+2·0, 1·(−2)+2·10], [3·1+4·0, 3·(−2)+4·10]] = [[1,18],[3,34]]; M = 1/8192.
    assert_eq!(y, vec![1.0 / 8192.0, 18.0 / 8192.0, 3.0 / 8192.0, 34.0 / 8192.0]);
}

/// MatMul [1,2]×[2,1] with an activation FQ over [−1, 1], L=256: z_a = 127.5 (fractional).
fn fractional_matmul() -> conform_ir::Model {
    let mut g = Graph::new();
    let x = g.param(&[1, 2]);
    let a = g.fq(x, -1.0, 1.0, -1.0, 1.0, 256);
    let c = g.i8c(&[2, 1], &[3, 5]);
    let cv = g.convert(c);
    let s = g.f32c(&[1], &[0.5]);
    let w = g.op("Multiply", &[], &[cv, s], &[2, 1]);
    let mm = g.op("MatMul", &[], &[a, w], &[1, 1]);
    g.result(mm);
    g.build()
}

#[test]
fn fractional_zero_point_under_both_policies() {
    let model = fractional_matmul();
    // Levels r = [200, 100]: x = r·(2/255) − 1 computed by the FQ recipe's own inverse is not needed;
    // any x inside level r's bucket works: take x = (r − 127.5)/127.5.
    let xv = t(&[1, 2], &[72.5 / 127.5, -27.5 / 127.5]);
    let s_a = 2.0f32 / 255.0; // fl(fl(1 − (−1)) / 255)
    let m = s_a * 0.5f32;
    // z_int = round_ties_even(127.5) = 128, q_a = [72, −28]; S = 72·3 − 28·5 = 76; W = 3 + 5 = 8.
    // Exact: t = 76 − f32(−0.5)·8 = 80 (= Σ(r − 127.5)·q_w = 72.5·3 − 27.5·5), y = 80·M.
    let exact = int8::analyze(&model, ZeroPointPolicy::Exact).expect("analyzes");
    assert_eq!(exact.blocks[0].acts[0].frac, -0.5);
    assert_eq!(run_block(&model, &exact, &[&xv]), vec![80.0 * m]);
    // Round: the fraction is dropped, y = 76·M (what OpenVINO's CPU plugin computes, SPEC §3.2).
    let round = int8::analyze(&model, ZeroPointPolicy::Round).expect("analyzes");
    assert_eq!(run_block(&model, &round, &[&xv]), vec![76.0 * m]);
}

#[test]
fn fractional_compensation_sums_valid_taps_only() {
    // Conv 1-D, k=2, pads (1,0), x [1,1,2], FQ over [−1,1] L=256 (z = 127.5, z_int 128, frac −0.5),
    // dq weights [1,1,2] = [2, 7]·0.25. Levels r = [200, 100] → q_a = [72, −28].
    let mut g = Graph::new();
    let x = g.param(&[1, 1, 2]);
    let a = g.fq(x, -1.0, 1.0, -1.0, 1.0, 256);
    let c = g.i8c(&[1, 1, 2], &[2, 7]);
    let cv = g.convert(c);
    let s = g.f32c(&[1, 1, 1], &[0.25]);
    let w = g.op("Multiply", &[], &[cv, s], &[1, 1, 2]);
    let conv = g.op(
        "Convolution",
        &[("strides", "1"), ("dilations", "1"), ("pads_begin", "1"), ("pads_end", "0")],
        &[a, w],
        &[1, 1, 2],
    );
    g.result(conv);
    let model = g.build();
    let plan = int8::analyze(&model, ZeroPointPolicy::Exact).expect("analyzes");
    let xv = t(&[1, 1, 2], &[72.5 / 127.5, -27.5 / 127.5]);
    let y = run_block(&model, &plan, &[&xv]);
    let m = (2.0f32 / 255.0) * 0.25f32;
    // p=0: only tap k=1 (k=0 is padding): S = 72·7 = 504, W = 7 → t = 504 + 0.5·7 = 507.5
    //      (= 72.5·7: the padded tap contributes nothing, not −127.5·2).
    // p=1: S = 72·2 − 28·7 = −52, W = 9 → t = −52 + 4.5 = −47.5 (= 72.5·2 − 27.5·7).
    assert_eq!(y, vec![507.5 * m, -47.5 * m]);
}

/// A Convolution block whose parts can be broken one at a time.
struct ConvSpec {
    act_levels: u64,
    act_range: [f32; 4],
    act_per_channel: bool,
    act_range_from_param: bool,
    act_via_relu: bool,
    act_relu_after_fq: bool,
    weights: WeightsSpec,
    cin: usize,
}

enum WeightsSpec {
    /// Expanded FQ: levels, ol, oh per output channel ([2,1,1,1]), and the weight values.
    Fq { levels: u64, ol: [f32; 2], oh: [f32; 2], per_input_channel_scale: bool },
    /// i8 → Convert → [Subtract zp] → Multiply(scale per channel).
    Dq { zp: Option<f32>, values: i8 },
    /// Plain f32 Const.
    Plain,
    /// Computed from the activation (not constant).
    FromActivation,
}

impl Default for ConvSpec {
    fn default() -> Self {
        ConvSpec {
            act_levels: 256,
            act_range: [0.0, 2.0, 0.0, 2.0],
            act_per_channel: false,
            act_range_from_param: false,
            act_via_relu: false,
            act_relu_after_fq: false,
            weights: WeightsSpec::Fq { levels: 255, ol: [-1.0, -2.0], oh: [1.0, 2.0], per_input_channel_scale: false },
            cin: 2,
        }
    }
}

/// Builds the model and returns its plan and the conv node.
fn conv_plan(spec: ConvSpec, policy: ZeroPointPolicy) -> (Int8Plan, usize) {
    let mut g = Graph::new();
    let cin = spec.cin;
    let x = g.param(&[1, cin, 3, 3]);
    let [il, ih, ol, oh] = spec.act_range;
    let src = if spec.act_via_relu { g.op("ReLU", &[], &[x], &[1, cin, 3, 3]) } else { x };
    let a = if spec.act_per_channel {
        let r = |v: f32| vec![v; cin];
        let (l, h, o1, o2) =
            (r(il), vec![ih, ih * 2.0].into_iter().cycle().take(cin).collect::<Vec<_>>(), r(ol), r(oh));
        g.fq_ranges(src, &[1, cin, 1, 1], [&l, &h, &o1, &o2], spec.act_levels)
    } else if spec.act_range_from_param {
        let p = g.param(&[]);
        let r = [g.scalar(ih), g.scalar(ol), g.scalar(oh)];
        let lv = spec.act_levels.to_string();
        g.op("FakeQuantize", &[("levels", &lv)], &[src, p, r[0], r[1], r[2]], &[1, cin, 3, 3])
    } else {
        g.fq(src, il, ih, ol, oh, spec.act_levels)
    };
    let a = if spec.act_relu_after_fq { g.op("ReLU", &[], &[a], &[1, cin, 3, 3]) } else { a };
    let wshape = [2usize, cin, 1, 1];
    let n = 2 * cin;
    let w = match spec.weights {
        WeightsSpec::Fq { levels, ol, oh, per_input_channel_scale } => {
            let wc = g.f32c(&wshape, &vec![0.25; n]);
            if per_input_channel_scale {
                // ranges [1, cin, 1, 1]: vary along the input channels.
                let lo: Vec<f32> = (0..cin).map(|i| ol[0] * (i + 1) as f32).collect();
                let hi: Vec<f32> = (0..cin).map(|i| oh[0] * (i + 1) as f32).collect();
                g.fq_ranges(wc, &[1, cin, 1, 1], [&lo, &hi, &lo, &hi], levels)
            } else {
                g.fq_ranges(wc, &[2, 1, 1, 1], [&ol, &oh, &ol, &oh], levels)
            }
        }
        WeightsSpec::Dq { zp, values } => {
            let c = g.i8c(&wshape, &vec![values; n]);
            let cv = g.convert(c);
            let d = match zp {
                Some(z) => {
                    let zc = g.f32c(&[2, 1, 1, 1], &[z, z]);
                    g.op("Subtract", &[], &[cv, zc], &wshape)
                }
                None => cv,
            };
            let s = g.f32c(&[2, 1, 1, 1], &[0.5, 0.25]);
            g.op("Multiply", &[], &[d, s], &wshape)
        }
        WeightsSpec::Plain => g.f32c(&wshape, &vec![0.5; n]),
        WeightsSpec::FromActivation => {
            let p = g.param(&wshape);
            g.fq(p, -1.0, 1.0, -1.0, 1.0, 255)
        }
    };
    let conv = g.op(
        "Convolution",
        &[("strides", "1,1"), ("dilations", "1,1"), ("pads_begin", "0,0"), ("pads_end", "0,0")],
        &[a, w],
        &[1, 2, 3, 3],
    );
    g.result(conv);
    let model = g.build();
    (int8::analyze(&model, policy).expect("analyzes"), conv)
}

fn conv_reason(spec: ConvSpec) -> &'static str {
    let (plan, conv) = conv_plan(spec, ZeroPointPolicy::Exact);
    reason_of(&plan, conv)
}

#[test]
fn the_base_conv_is_int8() {
    let (plan, conv) = conv_plan(ConvSpec::default(), ZeroPointPolicy::Exact);
    assert_eq!(plan.decisions[conv], Decision::Main { block: 0 });
}

#[test]
fn every_activation_reason_code() {
    // A ReLU between the FakeQuantize and the conv: input 0 is not produced directly by an FQ.
    assert_eq!(conv_reason(ConvSpec { act_relu_after_fq: true, ..Default::default() }), "act-not-fake-quantize");
    assert_eq!(conv_reason(ConvSpec { act_levels: 16, ..Default::default() }), "act-levels");
    assert_eq!(conv_reason(ConvSpec { act_range_from_param: true, ..Default::default() }), "act-ranges-not-constant");
    assert_eq!(conv_reason(ConvSpec { act_per_channel: true, ..Default::default() }), "act-not-per-tensor");
    assert_eq!(conv_reason(ConvSpec { act_range: [0.0, 0.0, 0.0, 2.0], ..Default::default() }), "act-degenerate-range");
    assert_eq!(conv_reason(ConvSpec { act_range: [0.0, 2.0, 2.0, 0.0], ..Default::default() }), "act-degenerate-range");
}

#[test]
fn every_weight_reason_code() {
    let fq =
        |levels: u64, ol: [f32; 2], oh: [f32; 2]| WeightsSpec::Fq { levels, ol, oh, per_input_channel_scale: false };
    let r = |weights| conv_reason(ConvSpec { weights, ..Default::default() });
    assert_eq!(r(WeightsSpec::FromActivation), "weights-not-constant");
    assert_eq!(r(WeightsSpec::Plain), "weights-not-quantized");
    assert_eq!(r(fq(1000, [-1.0, -2.0], [1.0, 2.0])), "weight-levels");
    assert_eq!(r(fq(255, [-1.0, 2.0], [1.0, 2.0])), "weight-degenerate-range");
    let pc = WeightsSpec::Fq { levels: 255, ol: [-1.0, -1.0], oh: [1.0, 1.0], per_input_channel_scale: true };
    assert_eq!(r(pc), "weight-scale-not-per-channel");
    // L=256 over [−1,1]: z_w = 127.5.
    assert_eq!(r(fq(256, [-1.0, -2.0], [1.0, 2.0])), "weight-zero-point-fractional");
    // dq with a Subtract of −0.49999237 (SPEC §2.1's L=256 [−s,s] outcome).
    assert_eq!(r(WeightsSpec::Dq { zp: Some(-0.49999237), values: 3 }), "weight-zero-point-fractional");
    // L=256 over [0, 1]: z_w = 0, levels up to 255 do not fit i8 (0.25 quantizes to 64 — fits —
    // so use the dq form: 100 − (−100) = 200).
    assert_eq!(r(WeightsSpec::Dq { zp: Some(-100.0), values: 100 }), "weight-out-of-i8");
    // And the dq form that fits: accepted.
    let (plan, conv) = conv_plan(
        ConvSpec { weights: WeightsSpec::Dq { zp: Some(-3.0), values: 100 }, ..Default::default() },
        ZeroPointPolicy::Exact,
    );
    assert_eq!(plan.decisions[conv], Decision::Main { block: 0 });
    assert_eq!(plan.blocks[0].weights.as_ref().map(|w| w.q[0]), Some(103));
}

#[test]
fn overflow_is_refused() {
    // Activations over [10, 10.1]: z_a = −10·255/0.1 ≈ −25500, so max|q_a| ≈ 25755; weights 0.25 in
    // ±1 L=255 quantize to 32; K = 3000: 3000·25755·32 ≈ 2.47e9 ≥ 2^31.
    let spec = ConvSpec { act_range: [10.0, 10.1, 10.0, 10.1], cin: 3000, ..Default::default() };
    let (plan, conv) = conv_plan(spec, ZeroPointPolicy::Exact);
    assert_eq!(reason_of(&plan, conv), "accumulator-overflow");
    // The same with K = 2000 (1.65e9 < 2^31) is accepted.
    let spec = ConvSpec { act_range: [10.0, 10.1, 10.0, 10.1], cin: 2000, ..Default::default() };
    let (plan, conv) = conv_plan(spec, ZeroPointPolicy::Exact);
    assert_eq!(plan.decisions[conv], Decision::Main { block: 0 });
}

#[test]
fn matmul_and_op_reason_codes() {
    // Two fractional zero points (both FQ over [−1,1], L=256) under the exact policy; rounded, fine.
    let mut g = Graph::new();
    let x = g.param(&[2, 2]);
    let y = g.param(&[2, 2]);
    let a = g.fq(x, -1.0, 1.0, -1.0, 1.0, 256);
    let b = g.fq(y, -1.0, 1.0, -1.0, 1.0, 256);
    let mm = g.op("MatMul", &[], &[a, b], &[2, 2]);
    g.result(mm);
    let model = g.build();
    let plan = int8::analyze(&model, ZeroPointPolicy::Exact).expect("analyzes");
    assert_eq!(reason_of(&plan, mm), "two-fractional-zero-points");
    let plan = int8::analyze(&model, ZeroPointPolicy::Round).expect("analyzes");
    assert_eq!(plan.decisions[mm], Decision::Main { block: 0 });

    // MatMul with a rank-1 activation.
    let mut g = Graph::new();
    let x = g.param(&[3]);
    let a = g.fq(x, 0.0, 1.0, 0.0, 1.0, 256);
    let c = g.i8c(&[3, 2], &[1; 6]);
    let cv = g.convert(c);
    let s = g.f32c(&[2], &[0.5, 0.5]);
    let w = g.op("Multiply", &[], &[cv, s], &[3, 2]);
    let mm = g.op("MatMul", &[], &[a, w], &[2]);
    // ConvolutionBackpropData is never INT8.
    let c2 = g.f32c(&[2, 2, 1], &[0.5; 4]);
    let p = g.param(&[1, 2, 3]);
    let dc = g.op("ConvolutionBackpropData", &[("strides", "1"), ("dilations", "1")], &[p, c2], &[1, 2, 3]);
    g.result(mm);
    g.result(dc);
    let model = g.build();
    let plan = int8::analyze(&model, ZeroPointPolicy::Exact).expect("analyzes");
    assert_eq!(reason_of(&plan, mm), "matmul-rank-1");
    assert_eq!(reason_of(&plan, dc), "op-not-int8");
}

#[test]
fn bias_on_a_non_channel_axis_is_not_absorbed() {
    // A bias of shape [1,1,1,2] broadcasts along the width: the block stops at the conv.
    let (model, conv, _) = padded_conv();
    let mut parts = model.to_parts();
    let add = parts.nodes.iter().position(|n| n.op_type == "Add").expect("add");
    let bias_src = parts.edges.iter().find(|e| e.to_node == add && e.to_input == 1).expect("edge").from_node;
    // Re-declare the bias Const's shape as [1,1,1,2] (same 8 bytes in the blob).
    let port = &mut parts.nodes[bias_src].outputs[0];
    port.shape = conform_ir::PartialShape::from_static(&[1, 1, 1, 2]);
    let model = conform_ir::Model::from_parts(parts).expect("valid");
    let plan = int8::analyze(&model, ZeroPointPolicy::Exact).expect("analyzes");
    assert_eq!(plan.decisions[conv], Decision::Main { block: 0 });
    assert_eq!(plan.blocks[0].chain, Vec::<usize>::new());
    assert_eq!(plan.decisions[add], Decision::NotInt8);
}

#[test]
fn nan_activation_makes_its_outputs_nan() {
    let (model, _, _) = padded_conv();
    let plan = int8::analyze(&model, ZeroPointPolicy::Exact).expect("analyzes");
    // x[1][1] = NaN feeds only output (1,1) of each channel; ReLU then maps NaN to +0 (y > 0 is false).
    let x = t(&[1, 1, 2, 2], &[70.0 / 128.0 - 0.5, 60.0 / 128.0 - 0.5, 0.0, f32::NAN]);
    let y = run_block(&model, &plan, &[&x]);
    assert_eq!(y[3], 0.0);
    assert_eq!(y[0], 24.0 / 8192.0 + 0.5);
}
