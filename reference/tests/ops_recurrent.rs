//! LSTMSequence-5 against cells computed by hand (the arithmetic is written out per case).
// Expected values are written with all the digits of the hand derivation.
#![allow(clippy::excessive_precision)]

mod ops_support;

use conform_ir::Tensor;
use ops_support::*;

/// One-unit LSTM weights, fico order: W = [wf, wi, wc, wo], R = [rf, ri, rc, ro], B likewise.
const W: [f32; 4] = [0.5, 1.0, 2.0, 1.0];
const R: [f32; 4] = [0.25, 0.5, 1.0, 0.5];
const B: [f32; 4] = [0.0, 0.5, 0.0, 0.25];

fn lstm(direction: &str, activations: &str, clip: &str) -> conform_ir::Node {
    node(
        "LSTMSequence",
        "opset5",
        &[
            ("direction", direction),
            ("hidden_size", "1"),
            ("activations", activations),
            ("activations_alpha", ""),
            ("activations_beta", ""),
            ("clip", clip),
        ],
        3,
    )
}

/// Inputs for batch rows `xs` (each a sequence of scalars), hidden 1, input 1, `d` directions
/// sharing the weights above, H0 = 0 and C0 = 1.
fn inputs(xs: &[&[f32]], lens: &[i64], d: usize) -> Vec<Tensor> {
    let batch = xs.len();
    let steps = xs[0].len();
    let x: Vec<f32> = xs.iter().flat_map(|r| r.iter().copied()).collect();
    let rep = |v: &[f32]| -> Vec<f32> { (0..d).flat_map(|_| v.iter().copied()).collect() };
    vec![
        f32t(&[batch, steps, 1], &x),
        f32t(&[batch, d, 1], &vec![0.0; batch * d]),
        f32t(&[batch, d, 1], &vec![1.0; batch * d]),
        i64t(&[batch], lens),
        f32t(&[d, 4, 1], &rep(&W)),
        f32t(&[d, 4, 1], &rep(&R)),
        f32t(&[d, 4], &rep(&B)),
    ]
}

// Forward, relu activations (exact arithmetic), x = [1, 2], H0 = 0, C0 = 1:
// step 1 (x=1, h=0): f = 0.5·1 + (0.25·0 + 0) = 0.5, i = 1 + (0 + 0.5) = 1.5, c = 2 + 0 = 2,
//   o = 1 + (0 + 0.25) = 1.25; C1 = 0.5·1 + 1.5·2 = 3.5; H1 = 1.25·relu(3.5) = 4.375.
// step 2 (x=2, h=4.375): f = 1 + (1.09375 + 0) = 2.09375, i = 2 + (2.1875 + 0.5) = 4.6875,
//   c = 4 + (4.375 + 0) = 8.375, o = 2 + (2.1875 + 0.25) = 4.4375;
//   C2 = 2.09375·3.5 + 4.6875·8.375 = 7.328125 + 39.2578125 = 46.5859375;
//   H2 = 4.4375·46.5859375 = 206.72509765625.
const FWD_H: [f32; 2] = [4.375, 206.725_1];
const FWD_C2: f32 = 46.585_937_5;

// Reverse (x processed as [2, 1]): step 1: f = 1, i = 2.5, c = 4, o = 2.25; C1 = 1 + 10 = 11,
//   H1 = 24.75. step 2 (x=1, h=24.75): f = 0.5 + 6.1875 = 6.6875, i = 1 + (12.375 + 0.5) = 13.875,
//   c = 2 + 24.75 = 26.75, o = 1 + (12.375 + 0.25) = 13.625;
//   C2 = 6.6875·11 + 13.875·26.75 = 73.5625 + 371.15625 = 444.71875; H2 = 13.625·444.71875 = 6059.29296875.
//   Y in original time order = [H2, H1].
const REV_Y: [f32; 2] = [6059.293, 24.75];
const REV_C2: f32 = 444.718_75;

#[test]
fn forward_relu_cell_by_hand() {
    let outs = eval(lstm("forward", "relu, relu, relu", "0"), &inputs(&[&[1., 2.]], &[2], 1)).expect("lstm");
    assert_eq!(outs[0].shape, vec![1, 1, 2, 1]);
    assert_eq!(f32s(&outs[0]), &FWD_H);
    assert_eq!(f32s(&outs[1]), &[FWD_H[1]]);
    assert_eq!(f32s(&outs[2]), &[FWD_C2]);
    assert_eq!(FWD_H[1], 206.725_097_656_25, "the constant is exactly representable");
}

#[test]
fn clip_bounds_gate_preactivations_not_the_cell() {
    // clip 3: step 1 unchanged (all gates ≤ 3; C1 = 3.5 is not clipped), H1 = 4.375.
    // step 2: f = 2.09375 stays, i = 4.6875 -> 3, c = 8.375 -> 3, o = 4.4375 -> 3;
    // C2 = 2.09375·3.5 + 3·3 = 16.328125; H2 = 3·16.328125 = 48.984375.
    let outs = eval(lstm("forward", "relu, relu, relu", "3"), &inputs(&[&[1., 2.]], &[2], 1)).expect("lstm");
    assert_eq!(f32s(&outs[0]), &[4.375, 48.984_375]);
    assert_eq!(f32s(&outs[2]), &[16.328_125]);
}

#[test]
fn reverse_direction_by_hand() {
    let outs = eval(lstm("reverse", "relu, relu, relu", "0"), &inputs(&[&[1., 2.]], &[2], 1)).expect("lstm");
    assert_eq!(f32s(&outs[0]), &REV_Y);
    assert_eq!(f32s(&outs[1]), &[REV_Y[0]]);
    assert_eq!(f32s(&outs[2]), &[REV_C2]);
}

#[test]
fn bidirectional_stacks_forward_then_reverse() {
    let outs = eval(lstm("bidirectional", "relu, relu, relu", "0"), &inputs(&[&[1., 2.]], &[2], 2)).expect("lstm");
    assert_eq!(outs[0].shape, vec![1, 2, 2, 1]);
    assert_eq!(f32s(&outs[0]), &[FWD_H[0], FWD_H[1], REV_Y[0], REV_Y[1]]);
    assert_eq!(f32s(&outs[1]), &[FWD_H[1], REV_Y[0]]);
    assert_eq!(f32s(&outs[2]), &[FWD_C2, REV_C2]);
}

#[test]
fn sequence_lengths_mask_outputs_and_final_state() {
    // Row 1 has length 1 (its second input, 100, must not matter): Y = [H1, 0], Ho = H1, Co = C1.
    // Row 2 has length 0: everything 0.
    let outs =
        eval(lstm("forward", "relu, relu, relu", "0"), &inputs(&[&[1., 2.], &[1., 100.], &[7., 9.]], &[2, 1, 0], 1))
            .expect("lstm");
    assert_eq!(f32s(&outs[0]), &[FWD_H[0], FWD_H[1], 4.375, 0., 0., 0.]);
    assert_eq!(f32s(&outs[1]), &[FWD_H[1], 4.375, 0.]);
    assert_eq!(f32s(&outs[2]), &[FWD_C2, 3.5, 0.]);
    // Reverse with length 1: only step 0 is reversed (a no-op) and used.
    let outs =
        eval(lstm("reverse", "relu, relu, relu", "0"), &inputs(&[&[1., 2.], &[1., 100.]], &[2, 1], 1)).expect("lstm");
    assert_eq!(f32s(&outs[0]), &[REV_Y[0], REV_Y[1], 4.375, 0.]);
    assert_eq!(f32s(&outs[1]), &[REV_Y[0], 4.375]);
}

#[test]
fn sigmoid_tanh_with_zero_gates_is_exact_up_to_tanh() {
    // W = R = B = 0: every gate pre-activation is 0, sigmoid(0) = 1/(1+1) = 0.5, tanh(0) = 0.
    // C0 = 2: C1 = 0.5·2 + 0.5·0 = 1, H1 = 0.5·tanh(1); C2 = 0.5, H2 = 0.5·tanh(0.5).
    // tanh(1) = 0.7615941559557649, tanh(0.5) = 0.46211715726000974.
    let mut ins = inputs(&[&[3., -4.]], &[2], 1);
    ins[2] = f32t(&[1, 1, 1], &[2.0]);
    for t in &mut ins[4..7] {
        *t = f32t(&t.shape.clone(), &vec![0.0; t.len()]);
    }
    let outs = eval(lstm("forward", "sigmoid, tanh, tanh", "0"), &ins).expect("lstm");
    assert_ulps(f32s(&outs[0]), &[0.380_797_08, 0.231_058_58], 1);
    assert_eq!(f32s(&outs[2]), &[0.5]);
}

#[test]
fn sigmoid_tanh_cell_by_hand() {
    // W = [0.5, -0.5, 1, 0.25], R = [0.25, 0.5, -0.5, 1], B = [0, 0.5, -0.25, 0.125], H0 = 0, C0 = 0.5,
    // x = [1, -2]. Step 1: gates f = 0.5, i = 0, c = 0.75, o = 0.375 ->
    //   σ(0.5) = 0.62245933, σ(0) = 0.5, tanh(0.75) = 0.63514895, σ(0.375) = 0.59266660;
    //   C1 = 0.62245933·0.5 + 0.5·0.63514895 = 0.62880414; H1 = 0.59266660·tanh(C1) = 0.33025056.
    // Step 2 (x = -2, h = H1): f = -1 + 0.25·H1 = -0.91743736, i = 1 + (0.5·H1 + 0.5) = 1.66512528,
    //   c = -2 + (-0.5·H1 - 0.25) = -2.41512528, o = -0.5 + (H1 + 0.125) = -0.04474944;
    //   σ, σ, tanh, σ = 0.28548034, 0.84092481, -0.98415745, 0.48881451;
    //   C2 = 0.28548034·C1 + 0.84092481·(-0.98415745) = -0.64809120; H2 = 0.48881451·tanh(C2) = -0.27881177.
    // (f64 evaluation of these formulas; f32 rounding of ~15 operations and libm's expf/tanhf
    // allows a few ulps.)
    let ins = vec![
        f32t(&[1, 2, 1], &[1., -2.]),
        f32t(&[1, 1, 1], &[0.]),
        f32t(&[1, 1, 1], &[0.5]),
        i64t(&[1], &[2]),
        f32t(&[1, 4, 1], &[0.5, -0.5, 1., 0.25]),
        f32t(&[1, 4, 1], &[0.25, 0.5, -0.5, 1.]),
        f32t(&[1, 4], &[0., 0.5, -0.25, 0.125]),
    ];
    let outs = eval(lstm("forward", "sigmoid, tanh, tanh", "0"), &ins).expect("lstm");
    assert_ulps(f32s(&outs[0]), &[0.330_250_56, -0.278_811_77], 8);
    assert_ulps(f32s(&outs[2]), &[-0.648_091_2], 8);
}

#[test]
fn shape_mismatch_is_an_error_not_a_panic() {
    let mut ins = inputs(&[&[1., 2.]], &[2], 1);
    ins[4] = f32t(&[1, 3, 1], &[1., 1., 1.]);
    assert!(eval(lstm("forward", "sigmoid, tanh, tanh", "0"), &ins).is_err());
    let ins = inputs(&[&[1., 2.]], &[-1], 1);
    assert!(eval(lstm("forward", "sigmoid, tanh, tanh", "0"), &ins).is_err());
}

#[test]
fn lstm_cell4_is_one_sequence_step() {
    // Step 1 of the forward case above: x = 1, H0 = 0, C0 = 1 -> H1 = 4.375, C1 = 3.5.
    let n = node("LSTMCell", "opset4", &[("hidden_size", "1"), ("activations", "relu, relu, relu"), ("clip", "0")], 2);
    let ins = vec![
        f32t(&[1, 1], &[1.]),
        f32t(&[1, 1], &[0.]),
        f32t(&[1, 1], &[1.]),
        f32t(&[4, 1], &W),
        f32t(&[4, 1], &R),
        f32t(&[4], &B),
    ];
    let outs = eval(n, &ins).expect("cell");
    assert_eq!(f32s(&outs[0]), &[4.375]);
    assert_eq!(f32s(&outs[1]), &[3.5]);
}
