//! Focused corpus checks of the data-movement, normalization, Interpolate and LSTMSequence ops on
//! the corpus models that use them, against OpenVINO's fallback outputs (`fallback_f32_*.npy`).

use conform_ir::{npy::read_npy, read_model, Tensor};
use reference::ops::{evaluate, OpCtx};
use reference::{run, RunOptions};
use std::path::{Path, PathBuf};

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpus")
}

/// Runs a case in FP32; returns (ours, OpenVINO's) per output.
fn run_case(case: &str) -> Vec<(Tensor, Tensor)> {
    let dir = corpus().join(case);
    let model = read_model(&dir.join("model.xml")).unwrap_or_else(|e| panic!("{case}: {e}"));
    let mut inputs = Vec::new();
    for k in 0.. {
        let p = dir.join(format!("input_{k}.npy"));
        if !p.exists() {
            break;
        }
        inputs.push(read_npy(&p).unwrap_or_else(|e| panic!("{case}: {e}")));
    }
    let out = run(&model, &inputs, &RunOptions::default()).unwrap_or_else(|e| panic!("{case}: {e}"));
    out.outputs
        .into_iter()
        .enumerate()
        .map(|(k, t)| {
            let want = read_npy(&dir.join(format!("fallback_f32_{k}.npy"))).unwrap_or_else(|e| panic!("{case}: {e}"));
            (t, want)
        })
        .collect()
}

/// (max |Δ|, max |expected|, count of differing elements).
fn diff(got: &Tensor, want: &Tensor) -> (f64, f64, usize) {
    assert_eq!(got.shape, want.shape, "shape");
    let (g, w) = (got.to_f32_vec(), want.to_f32_vec());
    let mut m = 0f64;
    let mut mx = 0f64;
    let mut n = 0;
    for (a, b) in g.iter().zip(&w) {
        if a.to_bits() != b.to_bits() && !(a.is_nan() && b.is_nan()) {
            n += 1;
            m = m.max((f64::from(*a) - f64::from(*b)).abs());
        }
        mx = mx.max(f64::from(b.abs()));
    }
    (m, mx, n)
}

const U: f64 = 1.0 / 16_777_216.0; // 2^-24, f32 unit roundoff

/// A forward LSTMSequence of one time step (the corpus case) computed in f64 and rounded once to
/// f32, written independently of the reference's f32 code from the LSTMSequence-5 specification
/// (gates in fico order; `C = f·C + i·c`, `H = o·tanh(C)`): OpenVINO's core has no evaluate() for
/// LSTMSequence, so the corpus generator computed it in numpy with f64 arithmetic.
///
/// Also returns, per output element, a bound on the error of any f32 evaluation of the same
/// formulas: a gate pre-activation over `K = I + Hs` products and two additions is off by at most
/// `γ_{K+2}·S` with `S = Σ|x·w| + Σ|h·r| + |b|` and `γ_n = n·u/(1 − n·u)`; sigmoid (slope ≤ 1/4)
/// and tanh (slope ≤ 1) carry that error, plus 4u relative for their own evaluation (libm's
/// `expf`/`tanhf` are within 1 ulp, then one addition and one division); `C = f·C₀ + i·c` adds
/// `|C₀|e_f + |c|e_i + |i|e_c + 3u(|f·C₀| + |i·c|)`; `H = o·tanh(C)` adds
/// `|tanh C|e_o + |o|(e_C + 4u|tanh C|) + u|H|`.
fn lstm_step_f64(ins: &[&Tensor], hidden: usize) -> (Vec<f32>, Vec<f32>, Vec<f64>, Vec<f64>) {
    let v = |t: &Tensor| -> Vec<f64> { t.to_f32_vec().into_iter().map(f64::from).collect() };
    let (x, h0, c0, w, r, b) = (v(ins[0]), v(ins[1]), v(ins[2]), v(ins[4]), v(ins[5]), v(ins[6]));
    let (batch, steps, input) = (ins[0].shape[0], ins[0].shape[1], ins[0].shape[2]);
    assert_eq!(steps, 1, "the bound below is for one step");
    let k = (input + hidden + 2) as f64;
    let gamma = k * U / (1.0 - k * U);
    let sig = |z: f64| 1.0 / (1.0 + (-z).exp());
    let (mut ho, mut co, mut eh, mut ec) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for bi in 0..batch {
        let h = &h0[bi * hidden..(bi + 1) * hidden];
        let xt = &x[bi * input..(bi + 1) * input];
        // (value, error bound) of gate row g's pre-activation.
        let gate = |g: usize| -> (f64, f64) {
            let xw: f64 = (0..input).map(|k| xt[k] * w[g * input + k]).sum();
            let hr: f64 = (0..hidden).map(|k| h[k] * r[g * hidden + k]).sum();
            let s: f64 = (0..input).map(|k| (xt[k] * w[g * input + k]).abs()).sum::<f64>()
                + (0..hidden).map(|k| (h[k] * r[g * hidden + k]).abs()).sum::<f64>()
                + b[g].abs();
            (xw + hr + b[g], gamma * s)
        };
        for j in 0..hidden {
            let c_prev = c0[bi * hidden + j];
            let ((gf, ef), (gi, ei), (gc, ecc), (go, eo)) =
                (gate(j), gate(hidden + j), gate(2 * hidden + j), gate(3 * hidden + j));
            let (f, i, cc, o) = (sig(gf), sig(gi), gc.tanh(), sig(go));
            let (ef, ei, eo) = (0.25 * ef + 4.0 * U * f, 0.25 * ei + 4.0 * U * i, 0.25 * eo + 4.0 * U * o);
            let ecc = ecc + 4.0 * U * cc.abs();
            let c = f * c_prev + i * cc;
            let e_c = c_prev.abs() * ef + cc.abs() * ei + i * ecc + 3.0 * U * ((f * c_prev).abs() + (i * cc).abs());
            let th = c.tanh();
            let hv = o * th;
            let e_h = th.abs() * eo + o * (e_c + 4.0 * U * th.abs()) + U * hv.abs();
            ho.push(hv as f32);
            co.push(c as f32);
            eh.push(e_h);
            ec.push(e_c);
        }
    }
    (ho, co, eh, ec)
}

/// silero_vad's output 1 is `Concat(Ho, Co)` of its LSTMSequence. With the LSTM's own inputs from
/// our run, an f64 LSTM reproduces OpenVINO's fallback exactly (checking the gate layout and the
/// cell formula against OpenVINO's outputs), and our f32 LSTM (OpenVINO's f32 reference order) is
/// within a few ulps of it.
#[test]
fn silero_lstm_state_matches_openvino() {
    for case in ["silero_vad_16k__expanded", "silero_vad_16k__compressed"] {
        let dir = corpus().join(case);
        let model = read_model(&dir.join("model.xml")).expect("model");
        let inputs: Vec<Tensor> = (0..)
            .map(|k| dir.join(format!("input_{k}.npy")))
            .take_while(|p| p.exists())
            .map(|p| read_npy(&p).expect("npy"))
            .collect();
        let out = run(&model, &inputs, &RunOptions { keep_values: true, ..RunOptions::default() }).expect("run");
        let values = out.values.expect("kept values");
        let lstm = (0..model.nodes().len()).find(|&i| model.node(i).op_type == "LSTMSequence").expect("an LSTM");
        let ins: Vec<&Tensor> =
            model.sources_of(lstm).iter().map(|&(s, o)| values[s][o].as_ref().expect("computed")).collect();
        let hidden = model.node(lstm).attr_u64("hidden_size").expect("hidden_size") as usize;
        let (ho, co, eh, ec) = lstm_step_f64(&ins, hidden);
        let want = read_npy(&dir.join("fallback_f32_1.npy")).expect("fallback");
        let want = want.as_f32().expect("f32");
        let emulated: Vec<f32> = ho.iter().chain(&co).copied().collect();
        assert_eq!(emulated.len(), want.len());
        let bit_diff = emulated.iter().zip(want).filter(|(a, b)| a.to_bits() != b.to_bits()).count();
        assert_eq!(bit_diff, 0, "{case}: f64 LSTM from our inputs differs from OpenVINO's in {bit_diff} elements");
        // Our f32 LSTM (the contract of FP32.md), evaluated on the same inputs.
        let ctx = OpCtx { model: &model, index: lstm, node: model.node(lstm), inputs: &ins };
        let ours = evaluate(&ctx).expect("lstm");
        let got: Vec<f32> = ours[1].to_f32_vec().into_iter().chain(ours[2].to_f32_vec()).collect();
        let bounds: Vec<f64> = eh.iter().chain(&ec).copied().collect();
        let mut worst = 0f64;
        for (n, ((&g, &w), &e)) in got.iter().zip(want).zip(&bounds).enumerate() {
            // The fallback itself is the f64 value rounded once: u·|w| more.
            let d = (f64::from(g) - f64::from(w)).abs();
            let limit = e + U * f64::from(w.abs());
            worst = worst.max(d / limit);
            assert!(d <= limit, "{case}: element {n}: ours {g}, OpenVINO {w}, |Δ| {d:.3e} > bound {limit:.3e}");
        }
        println!("{case}: f32 LSTM vs OpenVINO's f64 fallback: worst |Δ|/bound = {worst:.3}");
    }
}

/// fallback_ops_mix: output 1 is a tensor `T` and output 0 = Softmax(Squeeze(ReduceMean(Slice(T)))),
/// all four evaluated by OpenVINO's `ov::reference` code. Anchoring our Slice on OpenVINO's own `T`
/// (fallback output 1) and re-running the nodes downstream of it must reproduce OpenVINO's output 0
/// bit for bit (Kahan-summed ReduceMean and Softmax included).
#[test]
fn ops_mix_softmax_path_is_bit_exact_on_openvinos_input() {
    let dir = corpus().join("fallback_ops_mix");
    let model = read_model(&dir.join("model.xml")).expect("model");
    let inputs = vec![read_npy(&dir.join("input_0.npy")).expect("input")];
    let out = run(&model, &inputs, &RunOptions { keep_values: true, ..RunOptions::default() }).expect("run");
    let mut values = out.values.expect("kept values");
    let results = model.results();
    let anchor = model.source_of(results[1], 0);
    values[anchor.0][anchor.1] = Some(read_npy(&dir.join("fallback_f32_1.npy")).expect("fallback 1"));
    // Re-evaluate every node downstream of the anchor, in topological order.
    let mut dirty = vec![false; model.nodes().len()];
    dirty[anchor.0] = true;
    let mut recomputed = Vec::new();
    for &i in model.topo_order() {
        let node = model.node(i);
        if i == anchor.0 || node.is_const() || node.is_parameter() {
            continue;
        }
        if !model.sources_of(i).iter().any(|&(s, _)| dirty[s]) {
            continue;
        }
        dirty[i] = true;
        if node.is_result() {
            continue;
        }
        let ins: Vec<&Tensor> =
            model.sources_of(i).iter().map(|&(s, o)| values[s][o].as_ref().expect("computed")).collect();
        let ctx = OpCtx { model: &model, index: i, node, inputs: &ins };
        let outs = evaluate(&ctx).unwrap_or_else(|e| panic!("{e}"));
        recomputed.push(node.op_type.clone());
        for (o, t) in outs.into_iter().enumerate() {
            values[i][o] = Some(t);
        }
    }
    for op in ["Slice", "ReduceMean", "Squeeze", "SoftMax"] {
        assert!(recomputed.iter().any(|r| r == op), "{op} was not on the re-anchored path: {recomputed:?}");
    }
    let src0 = model.source_of(results[0], 0);
    let got = values[src0.0][src0.1].as_ref().expect("output 0");
    let want = read_npy(&dir.join("fallback_f32_0.npy")).expect("fallback 0");
    assert_eq!(got.shape, want.shape);
    let (g, w) = (got.as_f32().expect("f32"), want.as_f32().expect("f32"));
    for (n, (a, b)) in g.iter().zip(w).enumerate() {
        assert_eq!(a.to_bits(), b.to_bits(), "element {n}: ours {a}, OpenVINO {b}");
    }
}

/// Every model using these ops runs end to end and has OpenVINO's output shapes; the differences
/// are printed (`--nocapture`). Their bounds are checked by `corpus_fp32.rs`.
#[test]
fn corpus_models_run_end_to_end() {
    for case in [
        "fallback_ops_mix",
        "matmul_batched_act",
        "mp_face_detection_short__expanded",
        "ppocrv4_det__expanded",
        "silero_vad_16k__expanded",
    ] {
        for (k, (g, w)) in run_case(case).iter().enumerate() {
            let (m, mx, n) = diff(g, w);
            println!(
                "{case} output {k}: shape {:?} max|Δ| {m:.3e} (max|y| {mx:.3e}), {n} of {} differ",
                g.shape,
                g.len()
            );
        }
    }
}
