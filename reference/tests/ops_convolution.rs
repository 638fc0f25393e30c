//! Hand-computed cases of Convolution-1, GroupConvolution-1 and ConvolutionBackpropData-1
//! (operation specifications: padding, strides, dilations, auto_pad, groups, output_padding,
//! output_shape). Expected values derived in the comments.

mod ops_util;
use ops_util::{assert_bits, eval_op, f, i, run1};

const P11: [(&str, &str); 4] = [("strides", "1"), ("dilations", "1"), ("pads_begin", "1"), ("pads_end", "1")];

#[test]
fn conv1d_symmetric_padding() {
    // x = [1,2,3,4,5], w = [1,0,-1], pads 1/1: y[p] = x[p-1] - x[p+1] (zero outside):
    // p0: 0 - 2 = -2; p1: 1 - 3; p2: 2 - 4; p3: 3 - 5; p4: 4 - 0 = 4.
    let (s, y) =
        run1("Convolution", "opset1", &P11, &[f(&[1, 1, 5], &[1., 2., 3., 4., 5.]), f(&[1, 1, 3], &[1., 0., -1.])]);
    assert_eq!(s, vec![1, 1, 5]);
    assert_bits(&y, &[-2., -2., -2., -2., 4.]);
}

#[test]
fn conv2d_stride_and_dilation() {
    // x[r][c] = 5r + c on 5x5; w = 2x2 ones, dilation 2 (extent 3), stride 2, no pad: out 2x2,
    // y[i][j] = x[2i][2j] + x[2i][2j+2] + x[2i+2][2j] + x[2i+2][2j+2]:
    // (0,0): 0+2+10+12 = 24; (0,1): 2+4+12+14 = 32; (1,0): 10+12+20+22 = 64; (1,1): 12+14+22+24 = 72.
    let x: Vec<f32> = (0..25).map(|v| v as f32).collect();
    let (s, y) = run1(
        "Convolution",
        "opset1",
        &[("strides", "2,2"), ("dilations", "2,2"), ("pads_begin", "0,0"), ("pads_end", "0,0")],
        &[f(&[1, 1, 5, 5], &x), f(&[1, 1, 2, 2], &[1.; 4])],
    );
    assert_eq!(s, vec![1, 1, 2, 2]);
    assert_bits(&y, &[24., 32., 64., 72.]);
}

#[test]
fn conv_auto_pad_same_upper_lower_and_valid() {
    // x = [1,2,3,4], w = [1,1], stride 1: same_* gives out 4 with total pad (4-1)+2-4 = 1.
    // same_upper: pad at the end -> [1+2, 2+3, 3+4, 4+0] = [3,5,7,4];
    // same_lower: pad at the start -> [0+1, 1+2, 2+3, 3+4] = [1,3,5,7];
    // valid: no pad -> out 3 = [3,5,7]. pads_begin/end are ignored under auto_pad.
    let xs = || [f(&[1, 1, 4], &[1., 2., 3., 4.]), f(&[1, 1, 2], &[1., 1.])];
    let attrs = |ap| [("strides", "1"), ("dilations", "1"), ("pads_begin", "5"), ("pads_end", "5"), ("auto_pad", ap)];
    assert_bits(&run1("Convolution", "opset1", &attrs("same_upper"), &xs()).1, &[3., 5., 7., 4.]);
    assert_bits(&run1("Convolution", "opset1", &attrs("same_lower"), &xs()).1, &[1., 3., 5., 7.]);
    assert_bits(&run1("Convolution", "opset1", &attrs("valid"), &xs()).1, &[3., 5., 7.]);
}

#[test]
fn conv_sums_input_channels_and_batches() {
    // N=2, C=2, O=2, 1x1 kernel (1-D, length 2): w[o=0] = [1,2], w[o=1] = [-1,1].
    // n0: ch0 = [1,2], ch1 = [10,20] -> o0 = [1+20, 2+40] = [21,42]; o1 = [-1+10, -2+20] = [9,18].
    // n1: ch0 = [0,1], ch1 = [1,0]   -> o0 = [2,1]; o1 = [1,-1].
    let (s, y) = run1(
        "Convolution",
        "opset1",
        &[("strides", "1"), ("dilations", "1"), ("pads_begin", "0"), ("pads_end", "0")],
        &[f(&[2, 2, 2], &[1., 2., 10., 20., 0., 1., 1., 0.]), f(&[2, 2, 1], &[1., 2., -1., 1.])],
    );
    assert_eq!(s, vec![2, 2, 2]);
    assert_bits(&y, &[21., 42., 9., 18., 2., 1., 1., -1.]);
}

#[test]
fn conv3d_asymmetric_padding() {
    // x: 1x1x2x2x2 with values 1..8 (d,h,w row-major); w: 1x1x1x1x1 = 2; pads_begin (1,0,0),
    // pads_end (0,0,1): out (3,2,3). Depth 0 is padding (zeros); depths 1-2 are 2·x with an extra
    // zero column at w = 2.
    let (s, y) = run1(
        "Convolution",
        "opset1",
        &[("strides", "1,1,1"), ("dilations", "1,1,1"), ("pads_begin", "1,0,0"), ("pads_end", "0,0,1")],
        &[f(&[1, 1, 2, 2, 2], &[1., 2., 3., 4., 5., 6., 7., 8.]), f(&[1, 1, 1, 1, 1], &[2.])],
    );
    assert_eq!(s, vec![1, 1, 3, 2, 3]);
    assert_bits(&y, &[0., 0., 0., 0., 0., 0., 2., 4., 0., 6., 8., 0., 10., 12., 0., 14., 16., 0.]);
}

#[test]
fn conv_shape_errors_are_typed() {
    let attrs = [("strides", "1"), ("dilations", "1"), ("pads_begin", "0"), ("pads_end", "0")];
    // channel mismatch (data C=2, weights expect 3)
    assert!(eval_op("Convolution", "opset1", &attrs, &[f(&[1, 2, 4], &[0.; 8]), f(&[1, 3, 1], &[0.; 3])], 1).is_err());
    // kernel larger than the padded input
    assert!(eval_op("Convolution", "opset1", &attrs, &[f(&[1, 1, 2], &[0.; 2]), f(&[1, 1, 3], &[0.; 3])], 1).is_err());
    // stride 0, wrong attribute length, rank 2 data
    let bad = [("strides", "0"), ("dilations", "1"), ("pads_begin", "0"), ("pads_end", "0")];
    assert!(eval_op("Convolution", "opset1", &bad, &[f(&[1, 1, 2], &[0.; 2]), f(&[1, 1, 1], &[1.])], 1).is_err());
    let bad = [("strides", "1,1"), ("dilations", "1"), ("pads_begin", "0"), ("pads_end", "0")];
    assert!(eval_op("Convolution", "opset1", &bad, &[f(&[1, 1, 2], &[0.; 2]), f(&[1, 1, 1], &[1.])], 1).is_err());
    assert!(eval_op("Convolution", "opset1", &attrs, &[f(&[1, 2], &[0.; 2]), f(&[1, 1], &[1.])], 1).is_err());
}

#[test]
fn group_conv_depthwise_and_two_groups() {
    // Depthwise: C = 2, G = 2, weights [2,1,1,2]: g0 = [1,1], g1 = [1,-1]; x ch0 = [1,2,3],
    // ch1 = [4,5,6]: ch0 -> [1+2, 2+3] = [3,5]; ch1 -> [4-5, 5-6] = [-1,-1].
    let attrs = [("strides", "1"), ("dilations", "1"), ("pads_begin", "0"), ("pads_end", "0")];
    let (s, y) = run1(
        "GroupConvolution",
        "opset1",
        &attrs,
        &[f(&[1, 2, 3], &[1., 2., 3., 4., 5., 6.]), f(&[2, 1, 1, 2], &[1., 1., 1., -1.])],
    );
    assert_eq!(s, vec![1, 2, 2]);
    assert_bits(&y, &[3., 5., -1., -1.]);
    // G = 2 with 2 input channels per group and 1x1 kernels, length 1: x = [1,2,3,4];
    // g0 sees (1,2) with w [1,10] -> 21; g1 sees (3,4) with w [100,1000] -> 4300.
    let (s, y) = run1(
        "GroupConvolution",
        "opset1",
        &attrs,
        &[f(&[1, 4, 1], &[1., 2., 3., 4.]), f(&[2, 1, 2, 1], &[1., 10., 100., 1000.])],
    );
    assert_eq!(s, vec![1, 2, 1]);
    assert_bits(&y, &[21., 4300.]);
    // Channels not divisible into the groups: error.
    assert!(eval_op("GroupConvolution", "opset1", &attrs, &[f(&[1, 3, 1], &[0.; 3]), f(&[2, 1, 2, 1], &[0.; 4])], 1)
        .is_err());
}

#[test]
fn conv_accumulates_in_f32_in_channel_then_tap_order() {
    // Order matters: x = [1e8, 1, -1e8] over 3 channels, 1x1 kernel of ones, length 1.
    // acc = 0 + 1e8 = 1e8; 1e8 + 1 = 1e8 (1 is below half an ulp of 1e8, ulp = 8); 1e8 - 1e8 = 0.
    // (A different order, e.g. 1e8 - 1e8 + 1, would give 1.)
    let (_, y) = run1(
        "Convolution",
        "opset1",
        &[("strides", "1"), ("dilations", "1"), ("pads_begin", "0"), ("pads_end", "0")],
        &[f(&[1, 3, 1], &[1e8, 1., -1e8]), f(&[1, 3, 1], &[1., 1., 1.])],
    );
    assert_bits(&y, &[0.]);
}

fn bprop(attrs: &[(&str, &str)], extra: Option<conform_ir::Tensor>) -> (Vec<usize>, Vec<f32>) {
    // x = [1,2] (N=1, Ci=1), w = [1,1,1] (Ci=1, Co=1, k=3).
    let mut ins = vec![f(&[1, 1, 2], &[1., 2.]), f(&[1, 1, 3], &[1., 1., 1.])];
    ins.extend(extra);
    run1("ConvolutionBackpropData", "opset1", attrs, &ins)
}

#[test]
fn backprop_data_strides_pads_output_padding() {
    // Full transposed convolution, stride 2: y[p] = Σ x[i]·w[k] over 2i + k = p, length
    // 2·(2-1) + 3 = 5: p0 = x0 = 1; p1 = x0 = 1; p2 = x0 + x1 = 3; p3 = x1 = 2; p4 = x1 = 2.
    let (s, y) = bprop(&[("strides", "2"), ("dilations", "1"), ("pads_begin", "0"), ("pads_end", "0")], None);
    assert_eq!(s, vec![1, 1, 5]);
    assert_bits(&y, &[1., 1., 3., 2., 2.]);
    // pads 1/1 crop one element at each end: [1,3,2].
    let (_, y) = bprop(&[("strides", "2"), ("dilations", "1"), ("pads_begin", "1"), ("pads_end", "1")], None);
    assert_bits(&y, &[1., 3., 2.]);
    // output_padding 1 adds one element at the end (p = 4 of the full output): [1,3,2,2].
    let (_, y) = bprop(
        &[("strides", "2"), ("dilations", "1"), ("pads_begin", "1"), ("pads_end", "1"), ("output_padding", "1")],
        None,
    );
    assert_bits(&y, &[1., 3., 2., 2.]);
    // dilation 2, stride 1: taps at offsets 0,2,4: y[p] = Σ x[i] over p - i ∈ {0,2,4}, length
    // (2-1) + 4 + 1 = 6: [1, 2, 1, 2, 1, 2].
    let (_, y) = bprop(&[("strides", "1"), ("dilations", "2"), ("pads_begin", "0"), ("pads_end", "0")], None);
    assert_bits(&y, &[1., 2., 1., 2., 1., 2.]);
}

#[test]
fn backprop_data_output_shape_input() {
    // Full length 5 (see above) = [1,1,3,2,2]. With output_shape [4]: total pad 5 - 4 = 1.
    // explicit keeps pads_begin (0) -> [1,1,3,2]; same_lower pb = ⌊1/2⌋ = 0 -> [1,1,3,2];
    // same_upper pb = 1 - ⌊1/2⌋ = 1 (OpenVINO puts the larger half first here) -> [1,3,2,2].
    let base = [("strides", "2"), ("dilations", "1"), ("pads_begin", "0"), ("pads_end", "0")];
    let with = |ap: &'static str| {
        let mut a = base.to_vec();
        a.push(("auto_pad", ap));
        a
    };
    assert_bits(&bprop(&base, Some(i(&[1], &[4]))).1, &[1., 1., 3., 2.]);
    assert_bits(&bprop(&with("same_lower"), Some(i(&[1], &[4]))).1, &[1., 1., 3., 2.]);
    assert_bits(&bprop(&with("same_upper"), Some(i(&[1], &[4]))).1, &[1., 3., 2., 2.]);
    // explicit pads_begin 1 with output_shape [3]: starts at full position 1 -> [1,3,2].
    let a = [("strides", "2"), ("dilations", "1"), ("pads_begin", "1"), ("pads_end", "0")];
    assert_bits(&bprop(&a, Some(i(&[1], &[3]))).1, &[1., 3., 2.]);
    // An output_shape larger than the full output: the extra positions get no taps -> zeros.
    let (s, y) = bprop(&base, Some(i(&[1], &[7])));
    assert_eq!(s, vec![1, 1, 7]);
    assert_bits(&y, &[1., 1., 3., 2., 2., 0., 0.]);
    // same_* without output_shape: zero pads, out = full = 5.
    assert_bits(&bprop(&with("same_upper"), None).1, &[1., 1., 3., 2., 2.]);
    // A non-positive output_shape is an error.
    let ins = [f(&[1, 1, 2], &[1., 2.]), f(&[1, 1, 3], &[1., 1., 1.]), i(&[1], &[0])];
    assert!(eval_op("ConvolutionBackpropData", "opset1", &base, &ins, 1).is_err());
}

#[test]
fn backprop_data_channels() {
    // Ci = 2, Co = 2, k = 1, stride 1, x ch0 = [1,2], ch1 = [3,4]; w[ci][co]:
    // w[0] = [1, 10], w[1] = [100, 1000]. y[co] = Σ_ci x[ci]·w[ci][co]:
    // co0 = [1 + 300, 2 + 400] = [301, 402]; co1 = [10 + 3000, 20 + 4000] = [3010, 4020].
    let (s, y) = run1(
        "ConvolutionBackpropData",
        "opset1",
        &[("strides", "1"), ("dilations", "1"), ("pads_begin", "0"), ("pads_end", "0")],
        &[f(&[1, 2, 2], &[1., 2., 3., 4.]), f(&[2, 2, 1], &[1., 10., 100., 1000.])],
    );
    assert_eq!(s, vec![1, 2, 2]);
    assert_bits(&y, &[301., 402., 3010., 4020.]);
}

#[test]
fn huge_attributes_give_errors_not_aborts() {
    // pads of 10^15 make a 10^15-element output: the allocation is refused with a typed error.
    let a = [("strides", "1"), ("dilations", "1"), ("pads_begin", "1000000000000000"), ("pads_end", "0")];
    assert!(eval_op("Convolution", "opset1", &a, &[f(&[1, 1, 1], &[1.]), f(&[1, 1, 1], &[1.])], 1).is_err());
    // A dilation of 10^18 overflows the kernel extent.
    let a = [("strides", "1"), ("dilations", "1000000000000000000"), ("pads_begin", "0"), ("pads_end", "0")];
    assert!(eval_op("Convolution", "opset1", &a, &[f(&[1, 1, 4], &[1.; 4]), f(&[1, 1, 2], &[1.; 2])], 1).is_err());
    // Backprop with a huge output_shape and pads_begin: refused, no overflow panic.
    let a = [("strides", "1"), ("dilations", "1"), ("pads_begin", "18446744073709551615"), ("pads_end", "0")];
    let ins = [f(&[1, 1, 2], &[1., 2.]), f(&[1, 1, 3], &[1., 1., 1.]), i(&[1], &[1_000_000_000_000_000])];
    assert!(eval_op("ConvolutionBackpropData", "opset1", &a, &ins, 1).is_err());
    // MaxPool with kernel and pads of 10^12: one output, but a 10^12-entry window table: refused.
    let a = [("kernel", "1000000000000"), ("strides", "1"), ("pads_begin", "1000000000000"), ("pads_end", "0")];
    assert!(eval_op("MaxPool", "opset1", &a, &[f(&[1, 1, 1], &[1.])], 1).is_err());
}

#[test]
fn group_backprop_data() {
    // G = 2, one input and one output channel per group, k = 2, stride 2: each group is a
    // transposed convolution of its own channel: ch0 x = [1,2], w0 = [1,10] -> [1,10,2,20];
    // ch1 x = [3,4], w1 = [100,1000] -> [300,3000,400,4000].
    let (s, y) = run1(
        "GroupConvolutionBackpropData",
        "opset1",
        &[("strides", "2"), ("dilations", "1"), ("pads_begin", "0"), ("pads_end", "0")],
        &[f(&[1, 2, 2], &[1., 2., 3., 4.]), f(&[2, 1, 1, 2], &[1., 10., 100., 1000.])],
    );
    assert_eq!(s, vec![1, 2, 4]);
    assert_bits(&y, &[1., 10., 2., 20., 300., 3000., 400., 4000.]);
    // 3 channels cannot split into 2 groups of 1.
    let a = [("strides", "1"), ("dilations", "1"), ("pads_begin", "0"), ("pads_end", "0")];
    let ins = [f(&[1, 3, 1], &[0.; 3]), f(&[2, 1, 1, 1], &[0.; 2])];
    assert!(eval_op("GroupConvolutionBackpropData", "opset1", &a, &ins, 1).is_err());
}
