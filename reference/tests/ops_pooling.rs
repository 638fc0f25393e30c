//! Hand-computed cases of MaxPool-1/8/14 and AvgPool-1 (specifications and the pooling shape
//! rules: strides, pads, dilations, auto_pad, floor/ceil/ceil_torch, exclude-pad, indices).

mod ops_util;
use conform_ir::TensorData;
use ops_util::{assert_bits, eval_op, f, run1};

fn attrs<'a>(
    k: &'a str,
    s: &'a str,
    pb: &'a str,
    pe: &'a str,
    extra: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    let mut v = vec![("kernel", k), ("strides", s), ("pads_begin", pb), ("pads_end", pe)];
    v.extend_from_slice(extra);
    v
}

#[test]
fn maxpool8_values_and_indices() {
    // x: N=1, C=2, 4x4, channel 0 = 0..15, channel 1 = 16..31; kernel 2, stride 2: each window's
    // max is its bottom-right element: ch0 [5,7,13,15], ch1 [21,23,29,31]. Indices (axis 0) are
    // flat over the whole input: the same numbers.
    let x: Vec<f32> = (0..32).map(|v| v as f32).collect();
    let a = attrs("2,2", "2,2", "0,0", "0,0", &[("dilations", "1,1")]);
    let out = eval_op("MaxPool", "opset8", &a, &[f(&[1, 2, 4, 4], &x)], 2).expect("runs");
    assert_eq!(out[0].shape, vec![1, 2, 2, 2]);
    assert_bits(out[0].as_f32().expect("f32"), &[5., 7., 13., 15., 21., 23., 29., 31.]);
    assert_eq!(out[1].data, TensorData::I64(vec![5, 7, 13, 15, 21, 23, 29, 31]));
    // axis = 2: indices modulo H·W = 16 -> channel 1 becomes [5,7,13,15].
    let mut a2 = a.clone();
    a2.push(("axis", "2"));
    let out = eval_op("MaxPool", "opset8", &a2, &[f(&[1, 2, 4, 4], &x)], 2).expect("runs");
    assert_eq!(out[1].data, TensorData::I64(vec![5, 7, 13, 15, 5, 7, 13, 15]));
    // index_element_type i32.
    let mut a3 = a.clone();
    a3.push(("index_element_type", "i32"));
    let out = eval_op("MaxPool", "opset8", &a3, &[f(&[1, 2, 4, 4], &x)], 2).expect("runs");
    assert_eq!(out[1].data, TensorData::I32(vec![5, 7, 13, 15, 21, 23, 29, 31]));
}

#[test]
fn maxpool_padding_is_minus_infinity_and_first_max_wins() {
    // x = [-1,-2,-3], k3 s1 pads 1/1 -> out 3: max(pad,-1,-2) = -1 (a zero pad would give 0),
    // max(-1,-2,-3) = -1, max(-2,-3,pad) = -2. Indices 0, 0 (first of the window), 1.
    let a = attrs("3", "1", "1", "1", &[]);
    let out = eval_op("MaxPool", "opset8", &a, &[f(&[1, 1, 3], &[-1., -2., -3.])], 2).expect("runs");
    assert_bits(out[0].as_f32().expect("f32"), &[-1., -1., -2.]);
    assert_eq!(out[1].data, TensorData::I64(vec![0, 0, 1]));
    // Ties: x = [2,2], k2: the first maximum (index 0) is kept.
    let out =
        eval_op("MaxPool", "opset8", &attrs("2", "1", "0", "0", &[]), &[f(&[1, 1, 2], &[2., 2.])], 2).expect("runs");
    assert_eq!(out[1].data, TensorData::I64(vec![0]));
    // NaN never wins (v > m is false): [NaN, 1] -> 1; [NaN] alone -> -FLT_MAX.
    let (_, y) = run1("MaxPool", "opset1", &attrs("2", "1", "0", "0", &[]), &[f(&[1, 1, 2], &[f32::NAN, 1.])]);
    assert_bits(&y, &[1.]);
    let (_, y) = run1("MaxPool", "opset1", &attrs("1", "1", "0", "0", &[]), &[f(&[1, 1, 1], &[f32::NAN])]);
    assert_bits(&y, &[f32::MIN]);
}

#[test]
fn maxpool_dilations_and_same_upper() {
    // x = [1,5,2,4,3], k2 dilation 2 (extent 3) stride 1 -> out 3:
    // max(x0,x2) = 2, max(x1,x3) = 5, max(x2,x4) = 3.
    let (_, y) = run1(
        "MaxPool",
        "opset8",
        &attrs("2", "1", "0", "0", &[("dilations", "2")]),
        &[f(&[1, 1, 5], &[1., 5., 2., 4., 3.])],
    );
    assert_bits(&y[..3], &[2., 5., 3.]);
    // same_upper, k2 s2 on length 3: out = ceil(3/2) = 2, total pad (2-1)·2 + 2 - 3 = 1 at the
    // end: windows [1,2] and [3,pad] -> [2,3]. same_lower puts it first: [pad,1], [2,3] -> [1,3].
    let x = || [f(&[1, 1, 3], &[1., 2., 3.])];
    let (_, y) = run1("MaxPool", "opset1", &attrs("2", "2", "0", "0", &[("auto_pad", "same_upper")]), &x());
    assert_bits(&y, &[2., 3.]);
    let (_, y) = run1("MaxPool", "opset1", &attrs("2", "2", "0", "0", &[("auto_pad", "same_lower")]), &x());
    assert_bits(&y, &[1., 3.]);
}

#[test]
fn rounding_floor_ceil_ceil_torch() {
    // x = [1,3,2,5,4], k2 s2: floor -> ⌊3/2⌋+1 = 2 windows [3,5]; ceil -> ⌈3/2⌉+1 = 3, the last
    // window [4, beyond] -> [3,5,4].
    let x = || [f(&[1, 1, 5], &[1., 3., 2., 5., 4.])];
    let (s, y) = run1("MaxPool", "opset1", &attrs("2", "2", "0", "0", &[("rounding_type", "floor")]), &x());
    assert_eq!(s, vec![1, 1, 2]);
    assert_bits(&y, &[3., 5.]);
    let (s, y) = run1("MaxPool", "opset1", &attrs("2", "2", "0", "0", &[("rounding_type", "ceil")]), &x());
    assert_eq!(s, vec![1, 1, 3]);
    assert_bits(&y, &[3., 5., 4.]);
    // ceil_torch: x = [1,2,3,4], k2 s2, pads 0/1: ceil gives ⌈3/2⌉+1 = 3 windows starting at
    // 0, 2, 4; the last starts at 4 ≥ in + pb = 4 (in the end padding) and is dropped -> 2.
    let a = attrs("2", "2", "0", "1", &[("rounding_type", "ceil_torch")]);
    let out = eval_op("MaxPool", "opset14", &a, &[f(&[1, 1, 4], &[1., 2., 3., 4.])], 2).expect("runs");
    assert_eq!(out[0].shape, vec![1, 1, 2]);
    assert_bits(out[0].as_f32().expect("f32"), &[2., 4.]);
    // ceil_torch is an opset14 value.
    assert!(eval_op("MaxPool", "opset8", &a, &[f(&[1, 1, 4], &[1., 2., 3., 4.])], 2).is_err());
}

#[test]
fn avgpool_exclude_pad() {
    // x = [1,2,3,4], k2 s2 no pad: [1.5, 3.5].
    let x = || [f(&[1, 1, 4], &[1., 2., 3., 4.])];
    let (_, y) = run1("AvgPool", "opset1", &attrs("2", "2", "0", "0", &[("exclude-pad", "true")]), &x());
    assert_bits(&y, &[1.5, 3.5]);
    // pads 1/1 (out (6-2)/2+1 = 3), windows [pad,1], [2,3], [4,pad]:
    // exclude-pad=true: 1/1, 5/2, 4/1 = [1, 2.5, 4]; false: 1/2, 5/2, 4/2 = [0.5, 2.5, 2].
    let (_, y) = run1("AvgPool", "opset1", &attrs("2", "2", "1", "1", &[("exclude-pad", "true")]), &x());
    assert_bits(&y, &[1., 2.5, 4.]);
    let (_, y) = run1("AvgPool", "opset1", &attrs("2", "2", "1", "1", &[("exclude-pad", "false")]), &x());
    assert_bits(&y, &[0.5, 2.5, 2.]);
}

#[test]
fn avgpool_ceil_overhang_counting() {
    // No pads, ceil: x = [1,2,3,4,5], k2 s2 -> 3 windows; the last holds only x4 and, with no
    // pad present, divides by its one data tap even with exclude-pad=false: [1.5, 3.5, 5].
    let (_, y) = run1(
        "AvgPool",
        "opset1",
        &attrs("2", "2", "0", "0", &[("exclude-pad", "false"), ("rounding_type", "ceil")]),
        &[f(&[1, 1, 5], &[1., 2., 3., 4., 5.])],
    );
    assert_bits(&y, &[1.5, 3.5, 5.]);
    // pads 1/0, ceil: x = [1,2,3,4], P = 5, ⌈3/2⌉+1 = 3 windows: [pad,1], [2,3], [4,overhang].
    // exclude-pad=false with a pad present counts every tap: [0.5, 2.5, 2];
    // exclude-pad=true counts data taps: [1, 2.5, 4].
    let x = || [f(&[1, 1, 4], &[1., 2., 3., 4.])];
    let a = attrs("2", "2", "1", "0", &[("exclude-pad", "false"), ("rounding_type", "ceil")]);
    assert_bits(&run1("AvgPool", "opset1", &a, &x()).1, &[0.5, 2.5, 2.]);
    let a = attrs("2", "2", "1", "0", &[("exclude-pad", "true"), ("rounding_type", "ceil")]);
    assert_bits(&run1("AvgPool", "opset1", &a, &x()).1, &[1., 2.5, 4.]);
}

#[test]
fn avgpool_2d_divides_once() {
    // 2x2 window of [1,2,4,8] (sum 15, row-major: 1+2 = 3, +4 = 7, +8 = 15), /4 = 3.75.
    let (s, y) =
        run1("AvgPool", "opset1", &attrs("2,2", "1,1", "0,0", "0,0", &[]), &[f(&[1, 1, 2, 2], &[1., 2., 4., 8.])]);
    assert_eq!(s, vec![1, 1, 1, 1]);
    assert_bits(&y, &[3.75]);
}

#[test]
fn pooling_errors_are_typed() {
    // window larger than the input, kernel length mismatch, unknown rounding, rank 2 data
    assert!(eval_op("MaxPool", "opset1", &attrs("3", "1", "0", "0", &[]), &[f(&[1, 1, 2], &[1., 2.])], 1).is_err());
    assert!(eval_op("MaxPool", "opset1", &attrs("2,2", "1", "0", "0", &[]), &[f(&[1, 1, 2], &[1., 2.])], 1).is_err());
    let a = attrs("1", "1", "0", "0", &[("rounding_type", "up")]);
    assert!(eval_op("AvgPool", "opset1", &a, &[f(&[1, 1, 2], &[1., 2.])], 1).is_err());
    assert!(eval_op("AvgPool", "opset1", &attrs("1", "1", "0", "0", &[]), &[f(&[1, 2], &[1., 2.])], 1).is_err());
    let a = attrs("1", "0", "0", "0", &[]);
    assert!(eval_op("AvgPool", "opset1", &a, &[f(&[1, 1, 2], &[1., 2.])], 1).is_err());
}
