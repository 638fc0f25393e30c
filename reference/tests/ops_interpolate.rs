//! Interpolate-11/4 against hand-derived expectations from the specification and the formulas of
//! `ov::reference::interpolate` (written out per case).

mod ops_support;

use ops_support::*;

/// An Interpolate-11 layer with the given mode attributes.
fn interp(mode: &str, calc: &str, coord: &str, nearest: &str, extra: &[(&str, &str)]) -> conform_ir::Node {
    let mut attrs = vec![
        ("mode", mode),
        ("shape_calculation_mode", calc),
        ("coordinate_transformation_mode", coord),
        ("nearest_mode", nearest),
        ("antialias", "false"),
        ("cube_coeff", "-0.75"),
    ];
    // Extra attributes replace the defaults above.
    attrs.retain(|(k, _)| !extra.iter().any(|(e, _)| e == k));
    attrs.extend_from_slice(extra);
    node("Interpolate", "opset11", &attrs, 1)
}

#[test]
fn nearest_asymmetric_floor_scales_like_the_corpus() {
    // [[1,2],[3,4]] scaled by [1,1,2,2]: out size trunc(2·(2+1e-6)) = 4; asymmetric c = o/2,
    // floor -> rows/cols 0,0,1,1.
    let x = f32t(&[1, 1, 2, 2], &[1., 2., 3., 4.]);
    let t = eval1(
        interp("nearest", "scales", "asymmetric", "floor", &[("pads_begin", "0, 0, 0, 0"), ("pads_end", "0, 0, 0, 0")]),
        &[x, f32t(&[4], &[1., 1., 2., 2.])],
    );
    assert_eq!(t.shape, vec![1, 1, 4, 4]);
    assert_eq!(f32s(&t), &[1., 1., 2., 2., 1., 1., 2., 2., 3., 3., 4., 4., 3., 3., 4., 4.]);
}

#[test]
fn nearest_round_modes_break_ties_differently() {
    // Length 2 -> scale 1.5: out size trunc(2·1.500001) = 3; half_pixel c = (o+0.5)/1.5 − 0.5:
    // o=0: −1/6, o=1: exactly 0.5, o=2: 7/6.
    // round_prefer_floor: 0.5 == trunc(0.5) + 0.5 -> floor -> 0: [a, a, b].
    // round_prefer_ceil: round(0.5) = 1: [a, b, b].
    let x = f32t(&[2], &[5., 7.]);
    let s = f32t(&[1], &[1.5]);
    let t = eval1(interp("nearest", "scales", "half_pixel", "round_prefer_floor", &[]), &[x.clone(), s.clone()]);
    assert_eq!(f32s(&t), &[5., 5., 7.]);
    let t = eval1(interp("nearest", "scales", "half_pixel", "round_prefer_ceil", &[]), &[x, s]);
    assert_eq!(f32s(&t), &[5., 7., 7.]);
}

#[test]
fn nearest_sizes_with_negative_axis_and_simple_downsampling() {
    // sizes [4] on axis -1 of [[10,20]]: scale 4/2 = 2, asymmetric c = 0, .5, 1, 1.5, floor.
    let x = f32t(&[1, 2], &[10., 20.]);
    let t = eval1(interp("nearest", "sizes", "asymmetric", "floor", &[]), &[x, i64t(&[1], &[4]), i64t(&[1], &[-1])]);
    assert_eq!((t.shape.clone(), f32s(&t).to_vec()), (vec![1, 4], vec![10., 10., 20., 20.]));
    // Downsampling 4 -> 2 (scale 0.5) with simple: ceil when downsampling.
    // tf_half_pixel_for_nn c = (o+0.5)/0.5 = 1, 3 -> [x1, x3].
    let x = f32t(&[4], &[0., 1., 2., 3.]);
    let t = eval1(interp("nearest", "sizes", "tf_half_pixel_for_nn", "simple", &[]), &[x.clone(), i64t(&[1], &[2])]);
    assert_eq!(f32s(&t), &[1., 3.]);
    // asymmetric c = 0, 2; ceil -> [x0, x2].
    let t = eval1(interp("nearest", "sizes", "asymmetric", "simple", &[]), &[x, i64t(&[1], &[2])]);
    assert_eq!(f32s(&t), &[0., 2.]);
}

#[test]
fn scales_output_size_truncates() {
    // 2 · (1.7 + 1e-6) = 3.4 -> 3; asymmetric c = o/1.7 = 0, 0.588, 1.176 -> floor 0, 0, 1.
    let t =
        eval1(interp("nearest", "scales", "asymmetric", "floor", &[]), &[f32t(&[2], &[1., 2.]), f32t(&[1], &[1.7])]);
    assert_eq!(f32s(&t), &[1., 1., 2.]);
}

#[test]
fn pads_are_zero_filled_before_resizing() {
    // [1,2] padded by 1 on both sides -> [0,1,2,0]; sizes [4] = scale 1 -> identity.
    let t = eval1(
        interp("nearest", "sizes", "half_pixel", "round_prefer_floor", &[("pads_begin", "1"), ("pads_end", "1")]),
        &[f32t(&[2], &[1., 2.]), i64t(&[1], &[4])],
    );
    assert_eq!(f32s(&t), &[0., 1., 2., 0.]);
}

#[test]
fn nearest_keeps_integer_types() {
    let t = eval1(interp("nearest", "sizes", "asymmetric", "floor", &[]), &[i32t(&[2], &[-3, 9]), i64t(&[1], &[4])]);
    assert_eq!(t.data, conform_ir::TensorData::I32(vec![-3, -3, 9, 9]));
}

#[test]
fn linear_onnx_half_pixel() {
    // [[0, 10]] to [1, 3], axes all: axis 0 keeps length 1 (c = 0, i1 = i2 = 0, d1 = d2 = 0.5).
    // Axis 1, scale 1.5, half_pixel: o=0: c = −1/6 -> clamp 0: i1=0, i2=1, d1=0, d2=1 -> 0.
    // o=1: c = 0.5: d1 = d2 = 0.5: corners 0.25·(0 + 10 + 0 + 10) = 5.
    // o=2: c = 7/6 -> clamp 1: i1 = i2 = 1 -> 0.25·4·10 = 10.
    let t = eval1(
        interp("linear_onnx", "sizes", "half_pixel", "round_prefer_floor", &[]),
        &[f32t(&[1, 2], &[0., 10.]), i64t(&[2], &[1, 3])],
    );
    assert_eq!(f32s(&t), &[0., 5., 10.]);
}

#[test]
fn linear_with_and_without_antialias() {
    // [0,4,8,12] -> 2, scale 0.5, half_pixel: c = 0.5, 2.5.
    let x = f32t(&[4], &[0., 4., 8., 12.]);
    // No antialias: a = 1, r = 2; c=0.5 rounds (away from zero) to 1, taps -1..3:
    // weights max(0, 1−|c−i|) = 0.5, 0.5, 0, 0 for i = 0..3 -> (0·.5 + 4·.5)/1 = 2.
    // c=2.5 -> round 3, taps 1..5: i=1: 0, i=2: 0.5, i=3: 0.5 -> (8+12)/2 = 10.
    let t = eval1(interp("linear", "sizes", "half_pixel", "round_prefer_floor", &[]), &[x.clone(), i64t(&[1], &[2])]);
    assert_eq!(f32s(&t), &[2., 10.]);
    // Antialias: a = 0.5, r = ceil(2/0.5) = 4, prod_a = 0.5, w = 0.5·max(0, 1 − |0.5·(c−i)|).
    // c=0.5: i=0..3 -> 0.375, 0.375, 0.125, 0 -> (0 + 1.5 + 1)/0.875 = 20/7.
    // c=2.5: i=0..3 -> 0, 0.125, 0.375, 0.375 -> (0.5 + 3 + 4.5)/0.875 = 64/7.
    let t = eval1(
        interp("linear", "sizes", "half_pixel", "round_prefer_floor", &[("antialias", "true")]),
        &[x, i64t(&[1], &[2])],
    );
    assert_eq!(f32s(&t), &[20f32 / 7f32, 64f32 / 7f32]);
}

#[test]
fn linear_upsampling_edges() {
    // [0, 10] -> 3 (scale 1.5, half_pixel): c = −1/6, 0.5, 7/6; r = 2.
    // o=0: only i=0 has weight 1 − 1/6 -> 0. o=1: 0.5/0.5 -> 5. o=2: only i=1 -> 10 (w·10/w).
    let t = eval1(
        interp("linear", "sizes", "half_pixel", "round_prefer_floor", &[]),
        &[f32t(&[2], &[0., 10.]), i64t(&[1], &[3])],
    );
    assert_ulps(f32s(&t), &[0., 5., 10.], 1);
}

#[test]
fn cubic_keys_weights() {
    // a = −0.75, s = 0.5: weights [−0.09375, 0.59375, 0.59375, −0.09375]; s = 0: [0, 1, 0, 0].
    // [0,10,20,30] -> 8 with asymmetric c = o/2; taps floor(c)−1 .. floor(c)+2 clamped.
    // o=1: taps 0,0,10,20 -> 5.9375 − 1.875 = 4.0625; o=3: 0,10,20,30 -> 5.9375 + 11.875 − 2.8125 = 15;
    // o=5: 10,20,30,30 -> −0.9375 + 11.875 + 17.8125 − 2.8125 = 25.9375;
    // o=7: 20,30,30,30 -> −1.875 + 17.8125 + 17.8125 − 2.8125 = 30.9375; even o: the sample itself.
    let t = eval1(
        interp("cubic", "sizes", "asymmetric", "floor", &[]),
        &[f32t(&[4], &[0., 10., 20., 30.]), i64t(&[1], &[8])],
    );
    assert_eq!(f32s(&t), &[0., 4.0625, 10., 15., 20., 25.9375, 30., 30.9375]);
}

#[test]
fn interpolate4_takes_sizes_and_scales_separately() {
    // v4 inputs: data, sizes, scales, axes. scales mode uses input 2.
    let n = node(
        "Interpolate",
        "opset4",
        &[
            ("mode", "nearest"),
            ("shape_calculation_mode", "scales"),
            ("coordinate_transformation_mode", "asymmetric"),
            ("nearest_mode", "floor"),
        ],
        1,
    );
    let t = eval1(n, &[f32t(&[1, 2], &[1., 2.]), i64t(&[1], &[999]), f32t(&[1], &[2.]), i64t(&[1], &[1])]);
    assert_eq!(f32s(&t), &[1., 1., 2., 2.]);
}

#[test]
fn pillow_modes_need_two_axes() {
    let r = eval(
        interp("bilinear_pillow", "sizes", "half_pixel", "floor", &[]),
        &[f32t(&[2], &[1., 2.]), i64t(&[1], &[3])],
    );
    assert!(r.is_err());
}

#[test]
fn integer_data_rounds_in_linear_and_truncates_in_cubic() {
    // u8 [0, 3] -> 3 linear (half_pixel): middle = (0·0.5 + 3·0.5)/1 = 1.5 -> std::round -> 2.
    let x = conform_ir::Tensor::new(conform_ir::ElementType::U8, vec![2], conform_ir::TensorData::U8(vec![0, 3]))
        .expect("u8");
    let t = eval1(interp("linear", "sizes", "half_pixel", "round_prefer_floor", &[]), &[x, i64t(&[1], &[3])]);
    assert_eq!(t.data, conform_ir::TensorData::U8(vec![0, 2, 3]));
    // i32 cubic (values of `cubic_keys_weights`): 4.0625 -> 4, 25.9375 -> 25, 30.9375 -> 30.
    let t =
        eval1(interp("cubic", "sizes", "asymmetric", "floor", &[]), &[i32t(&[4], &[0, 10, 20, 30]), i64t(&[1], &[8])]);
    assert_eq!(t.data, conform_ir::TensorData::I32(vec![0, 4, 10, 15, 20, 25, 30, 30]));
}

#[test]
fn bilinear_pillow_downsampling_by_hand() {
    // W 4 -> 2 (H kept: no vertical pass): scale 2, support 2, weights filter((x + xmin − c + 0.5)/2).
    // o=0: c = 1, taps 0..2: 1 − |x − 0.5|/2 = 0.75, 0.75, 0.25 -> (0·3 + 4·3 + 8·1)/7 = 20/7.
    // o=1: c = 3, taps 1..3: 0.25, 0.75, 0.75 -> (4·1 + 8·3 + 12·3)/7 = 64/7.
    let t = eval1(
        interp("bilinear_pillow", "sizes", "half_pixel", "round_prefer_floor", &[("cube_coeff", "-0.5")]),
        &[f32t(&[1, 4], &[0., 4., 8., 12.]), i64t(&[2], &[1, 2])],
    );
    assert_eq!(f32s(&t), &[(20.0f64 / 7.0) as f32, (64.0f64 / 7.0) as f32]);
}

#[test]
fn bicubic_pillow_upsampling_by_hand() {
    // W 2 -> 4, a = −0.5, scale 0.5, support 2. Bicubic weights: f(0.25) = 111/128, f(1.25) = −9/128,
    // f(0.75) = 29/128. o=0 (c = 0.25): taps 0,1 with f(0.25), f(1.25) -> normalized 37/34, −3/34
    // -> 10·(−3/34) = −15/17. o=1 (c = 0.75): f(0.25), f(0.75) -> 10·29/140 = 29/14.
    // o=2, o=3 mirror: 10 − 29/14 = 111/14, 10 + 15/17 = 185/17.
    let t = eval1(
        interp("bicubic_pillow", "sizes", "half_pixel", "round_prefer_floor", &[("cube_coeff", "-0.5")]),
        &[f32t(&[1, 2], &[0., 10.]), i64t(&[2], &[1, 4])],
    );
    let want = [-15.0f64 / 17.0, 29.0 / 14.0, 111.0 / 14.0, 185.0 / 17.0].map(|v| v as f32);
    assert_eq!(f32s(&t), &want);
}

#[test]
fn pillow_vertical_pass_and_batch_axes() {
    // The bilinear case above along H instead (vertical pass only), in a [2, 4, 1] tensor with axes
    // [1, 2]: each of the two images is resampled independently (the second is the first + 100).
    let t = eval1(
        interp("bilinear_pillow", "sizes", "half_pixel", "round_prefer_floor", &[]),
        &[f32t(&[2, 4, 1], &[0., 4., 8., 12., 100., 104., 108., 112.]), i64t(&[2], &[2, 1]), i64t(&[2], &[1, 2])],
    );
    assert_eq!(t.shape, vec![2, 2, 1]);
    let w = |v: f64| v as f32;
    assert_eq!(f32s(&t), &[w(20.0 / 7.0), w(64.0 / 7.0), w(100.0 + 20.0 / 7.0), w(100.0 + 64.0 / 7.0)]);
}
