//! Data-movement ops against hand-derived expectations from OpenVINO's operation specifications.

mod ops_support;

use conform_ir::{ElementType, Tensor, TensorData};
use ops_support::*;

fn convert(x: Tensor, dest: &str) -> Tensor {
    eval1(node("Convert", "opset1", &[("destination_type", dest)], 1), &[x])
}

#[test]
fn convert_float_to_int_truncates_and_wraps_like_x86() {
    let x = f32t(&[8], &[2.9, -2.9, 127.5, 128.0, -129.0, 300.0, f32::NAN, 3e9]);
    // i8: truncate toward zero to i32 (NaN / out of i32 range -> i32::MIN = 0x80000000), keep low byte.
    // 128 -> 0x80 = -128; -129 -> 0x...7F = 127; 300 -> 0x12C -> 0x2C = 44; NaN, 3e9 -> low byte of 0x80000000 = 0.
    let t = convert(x.clone(), "i8");
    assert_eq!(t.element_type, ElementType::I8);
    assert_eq!(t.data, TensorData::I8(vec![2, -2, 127, -128, 127, 44, 0, 0]));
    // u8: same 32-bit truncation, low byte: -2 -> 0xFE = 254; -129 -> 0x7F = 127.
    let t = convert(x.clone(), "u8");
    assert_eq!(t.data, TensorData::U8(vec![2, 254, 127, 128, 127, 44, 0, 0]));
    // i32: NaN and 3e9 (> 2^31 - 1) -> i32::MIN.
    let t = convert(x.clone(), "i32");
    assert_eq!(t.data, TensorData::I32(vec![2, -2, 127, 128, -129, 300, i32::MIN, i32::MIN]));
    // i64: 3e9 fits.
    let t = convert(x.clone(), "i64");
    assert_eq!(t.data, TensorData::I64(vec![2, -2, 127, 128, -129, 300, i64::MIN, 3_000_000_000]));
    // boolean: static_cast<bool>, NaN is true.
    let t = convert(x, "boolean");
    assert_eq!(t.data, TensorData::Bool(vec![true, true, true, true, true, true, true, true]));
    let t = convert(f32t(&[2], &[0.0, -0.0]), "boolean");
    assert_eq!(t.data, TensorData::Bool(vec![false, false]));
}

#[test]
fn convert_to_f16_rounds_to_nearest_even_and_sub_byte_types() {
    // 1 + 2^-11 is halfway between f16 1.0 and 1 + 2^-10: ties to even -> 1.0.
    // 1 + 3·2^-11 is halfway between 1 + 2^-10 and 1 + 2^-9: ties to even -> 1 + 2^-9.
    // 70000 > f16 max 65504 -> +inf (no clamp in Convert).
    let x = f32t(&[3], &[1.0 + 2f32.powi(-11), 1.0 + 3.0 * 2f32.powi(-11), 70000.0]);
    let t = convert(x, "f16");
    let TensorData::F16(v) = &t.data else { panic!("f16 data") };
    assert_eq!(v[0].to_f32(), 1.0);
    assert_eq!(v[1].to_f32(), 1.0 + 2f32.powi(-9));
    assert!(v[2].to_f32().is_infinite());
    // u4 keeps the low nibble of the u8 cast: 17 -> 1, -1 -> 0xFF -> 15; i4: 7 -> 7, 8 -> -8, -9 -> 7.
    let t = convert(i32t(&[3], &[17, -1, 5]), "u4");
    assert_eq!((t.element_type, t.data), (ElementType::U4, TensorData::U8(vec![1, 15, 5])));
    let t = convert(i32t(&[3], &[7, 8, -9]), "i4");
    assert_eq!(t.data, TensorData::I8(vec![7, -8, 7]));
    // u1: bit set when the u8 cast is non-zero: 256 -> 0 -> 0.
    let t = convert(i32t(&[3], &[0, 3, 256]), "u1");
    assert_eq!(t.data, TensorData::U8(vec![0, 1, 0]));
}

#[test]
fn convert_integers_to_float_and_wrap() {
    // i64 2^24 + 1 is not an f32: nearest even is 2^24.
    let t = convert(i64t(&[2], &[16_777_217, -3]), "f32");
    assert_eq!(f32s(&t), &[16_777_216.0, -3.0]);
    // i64 -> i8 wraps modulo 256: 200 -> -56; -3 -> u16 65533.
    assert_eq!(convert(i64t(&[1], &[200]), "i8").data, TensorData::I8(vec![-56]));
    assert_eq!(convert(i64t(&[1], &[-3]), "u16").data, TensorData::U16(vec![65533]));
    // u8 (unpacked u4 storage too) -> f32.
    let u4 = Tensor::new(ElementType::U4, vec![2], TensorData::U8(vec![15, 0])).expect("tensor");
    assert_eq!(f32s(&convert(u4, "f32")), &[15.0, 0.0]);
}

#[test]
fn reshape_special_zero_and_minus_one() {
    let x = iota(&[2, 3, 4]);
    // special_zero: target [0, -1, 2]: 0 copies dim 0 (2), -1 = 24 / (2·2) = 6 -> [2, 6, 2].
    let n = node("Reshape", "opset1", &[("special_zero", "true")], 1);
    let t = eval1(n, &[x.clone(), i64t(&[3], &[0, -1, 2])]);
    assert_eq!(t.shape, vec![2, 6, 2]);
    assert_eq!(f32s(&t), f32s(&x));
    // special_zero=false: 0 is a real zero -> 24 elements cannot become 0 elements.
    let n = node("Reshape", "opset1", &[("special_zero", "false")], 1);
    assert!(eval(n, &[x.clone(), i64t(&[2], &[0, -1])]).is_err());
    let n = node("Reshape", "opset1", &[("special_zero", "false")], 1);
    assert_eq!(eval1(n, &[x.clone(), i64t(&[2], &[-1, 8])]).shape, vec![3, 8]);
    // Two -1 are rejected.
    let n = node("Reshape", "opset1", &[("special_zero", "false")], 1);
    assert!(eval(n, &[x, i64t(&[2], &[-1, -1])]).is_err());
}

#[test]
fn reshape_keeps_i64_shape_data() {
    let n = node("Reshape", "opset1", &[("special_zero", "false")], 1);
    let t = eval1(n, &[i64t(&[4], &[1, 2, 3, 4]), i64t(&[2], &[2, 2])]);
    assert_eq!(
        (t.element_type, t.shape.clone(), t.data),
        (ElementType::I64, vec![2, 2], TensorData::I64(vec![1, 2, 3, 4]))
    );
}

#[test]
fn squeeze_with_and_without_axes() {
    let x = iota(&[1, 3, 1, 2]);
    let t = eval1(node("Squeeze", "opset1", &[], 1), std::slice::from_ref(&x));
    assert_eq!(t.shape, vec![3, 2]);
    // Axis -2 is axis 2 (size 1).
    let t = eval1(node("Squeeze", "opset1", &[], 1), &[x.clone(), i64t(&[1], &[-2])]);
    assert_eq!(t.shape, vec![1, 3, 2]);
    assert_eq!(f32s(&t), f32s(&x));
    // Axis 1 has size 3: refused.
    assert!(eval(node("Squeeze", "opset1", &[], 1), &[x, i64t(&[1], &[1])]).is_err());
}

#[test]
fn transpose_permutes_and_empty_order_reverses() {
    // x[i][j][k] = 6i + 3j... with shape [2,2,3]: x = 0..12.
    let x = iota(&[2, 2, 3]);
    // order [2,0,1]: out[k][i][j] = x[i][j][k] = 6i + 3j + k. out shape [3,2,2].
    let t = eval1(node("Transpose", "opset1", &[], 1), &[x.clone(), i64t(&[3], &[2, 0, 1])]);
    assert_eq!(t.shape, vec![3, 2, 2]);
    assert_eq!(f32s(&t), &[0., 3., 6., 9., 1., 4., 7., 10., 2., 5., 8., 11.]);
    // Empty order = [2,1,0]: out[k][j][i] = 6i + 3j + k.
    let t = eval1(node("Transpose", "opset1", &[], 1), &[x.clone(), i64t(&[0], &[])]);
    assert_eq!(t.shape, vec![3, 2, 2]);
    assert_eq!(f32s(&t), &[0., 6., 3., 9., 1., 7., 4., 10., 2., 8., 5., 11.]);
    assert!(eval(node("Transpose", "opset1", &[], 1), &[x, i64t(&[3], &[0, 0, 1])]).is_err());
}

#[test]
fn concat_negative_axis() {
    let a = f32t(&[2, 1], &[1., 2.]);
    let b = f32t(&[2, 2], &[3., 4., 5., 6.]);
    // axis -1 = 1: rows [1 | 3 4], [2 | 5 6].
    let t = eval1(node("Concat", "opset1", &[("axis", "-1")], 1), &[a.clone(), b.clone()]);
    assert_eq!(t.shape, vec![2, 3]);
    assert_eq!(f32s(&t), &[1., 3., 4., 2., 5., 6.]);
    // axis 0 with mismatching other dims: refused.
    assert!(eval(node("Concat", "opset1", &[("axis", "0")], 1), &[a, b]).is_err());
    // i64 shape pieces stay i64.
    let t = eval1(node("Concat", "opset1", &[("axis", "0")], 1), &[i64t(&[1], &[-1]), i64t(&[2], &[3, 4])]);
    assert_eq!(t.data, TensorData::I64(vec![-1, 3, 4]));
}

#[test]
fn gather_negative_indices_batch_dims_and_out_of_range() {
    // data [3,2] = [[0,1],[2,3],[4,5]], axis 0, indices [-1, 0, 3]: rows 2, 0, and zeros (3 out of range).
    let x = iota(&[3, 2]);
    let t = eval1(
        node("Gather", "opset8", &[("batch_dims", "0")], 1),
        &[x.clone(), i64t(&[3], &[-1, 0, 3]), i64t(&[], &[0])],
    );
    assert_eq!(t.shape, vec![3, 2]);
    assert_eq!(f32s(&t), &[4., 5., 0., 1., 0., 0.]);
    // axis -1 with scalar index 1: column 1 -> shape [3].
    let t = eval1(node("Gather", "opset8", &[("batch_dims", "0")], 1), &[x, i64t(&[], &[1]), i64t(&[1], &[-1])]);
    assert_eq!(t.shape, vec![3]);
    assert_eq!(f32s(&t), &[1., 3., 5.]);
    // batch_dims 1: data [2,3] = [[0,1,2],[3,4,5]], indices [[2,0],[1,1]], axis 1:
    // out[b][j] = data[b][idx[b][j]] = [[2,0],[4,4]].
    let x = iota(&[2, 3]);
    let t = eval1(
        node("Gather", "opset8", &[("batch_dims", "1")], 1),
        &[x.clone(), i32t(&[2, 2], &[2, 0, 1, 1]), i64t(&[], &[1])],
    );
    assert_eq!(t.shape, vec![2, 2]);
    assert_eq!(f32s(&t), &[2., 0., 4., 4.]);
    // batch_dims -1 with indices rank 2 is batch_dims 1: same result.
    let t = eval1(
        node("Gather", "opset8", &[("batch_dims", "-1")], 1),
        &[x, i32t(&[2, 2], &[2, 0, 1, 1]), i64t(&[], &[1])],
    );
    assert_eq!(f32s(&t), &[2., 0., 4., 4.]);
    // Gather on an i64 shape vector stays i64.
    let t =
        eval1(node("Gather", "opset8", &[], 1), &[i64t(&[4], &[1, 3, 224, 224]), i64t(&[2], &[2, 3]), i64t(&[], &[0])]);
    assert_eq!(t.data, TensorData::I64(vec![224, 224]));
}

#[test]
fn slice_negative_clamped_and_reverse() {
    let x = iota(&[10]);
    let s = |start: i64, stop: i64, step: i64| {
        let t = eval1(
            node("Slice", "opset8", &[], 1),
            &[x.clone(), i64t(&[1], &[start]), i64t(&[1], &[stop]), i64t(&[1], &[step])],
        );
        f32s(&t).to_vec()
    };
    // numpy x[1:8:3] = [1, 4, 7].
    assert_eq!(s(1, 8, 3), vec![1., 4., 7.]);
    // x[-3:100] = [7, 8, 9] (stop clamped to 10).
    assert_eq!(s(-3, 100, 1), vec![7., 8., 9.]);
    // x[8:1:-3] = [8, 5, 2].
    assert_eq!(s(8, 1, -3), vec![8., 5., 2.]);
    // x[100:-100:-4]: start clamps to 9, stop to -1: [9, 5, 1].
    assert_eq!(s(100, -100, -4), vec![9., 5., 1.]);
    // x[i64::MAX : i64::MIN : -1] reverses all.
    assert_eq!(s(i64::MAX, i64::MIN, -1), (0..10).rev().map(|v| v as f32).collect::<Vec<_>>());
    // Empty: x[5:2].
    assert_eq!(s(5, 2, 1), Vec::<f32>::new());
    // Step 0 is refused.
    assert!(eval(node("Slice", "opset8", &[], 1), &[x, i64t(&[1], &[0]), i64t(&[1], &[1]), i64t(&[1], &[0])]).is_err());
}

#[test]
fn slice_with_axes_input() {
    // x [2,3] = [[0,1,2],[3,4,5]]; axes [-1]: columns 2:0:-1 -> [[2,1],[5,4]].
    let x = iota(&[2, 3]);
    let t = eval1(
        node("Slice", "opset8", &[], 1),
        &[x, i64t(&[1], &[2]), i64t(&[1], &[0]), i64t(&[1], &[-1]), i64t(&[1], &[-1])],
    );
    assert_eq!(t.shape, vec![2, 2]);
    assert_eq!(f32s(&t), &[2., 1., 5., 4.]);
}

#[test]
fn variadic_split_with_minus_one() {
    // x [2,5] = 0..10, axis -1, lengths [1, -1, 2] -> pieces of 1, 2, 2 columns.
    let x = iota(&[2, 5]);
    let outs =
        eval(node("VariadicSplit", "opset1", &[], 3), &[x, i64t(&[], &[-1]), i64t(&[3], &[1, -1, 2])]).expect("split");
    assert_eq!(outs.len(), 3);
    assert_eq!((outs[0].shape.clone(), f32s(&outs[0]).to_vec()), (vec![2, 1], vec![0., 5.]));
    assert_eq!((outs[1].shape.clone(), f32s(&outs[1]).to_vec()), (vec![2, 2], vec![1., 2., 6., 7.]));
    assert_eq!((outs[2].shape.clone(), f32s(&outs[2]).to_vec()), (vec![2, 2], vec![3., 4., 8., 9.]));
}

fn pad1d(mode: &str, version: &str, x: &[f32], pb: i64, pe: i64) -> Result<Vec<f32>, reference::RefError> {
    let mut inputs = vec![f32t(&[x.len()], x), i64t(&[1], &[pb]), i64t(&[1], &[pe])];
    if mode == "constant" {
        inputs.push(f32t(&[], &[9.0]));
    }
    eval(node("Pad", version, &[("pad_mode", mode)], 1), &inputs).map(|o| f32s(&o[0]).to_vec())
}

#[test]
fn pad_modes_one_dimensional() {
    let x = [1., 2., 3., 4.];
    // constant 9: [9 9 | 1 2 3 4 | 9].
    assert_eq!(pad1d("constant", "opset1", &x, 2, 1).expect("pad"), vec![9., 9., 1., 2., 3., 4., 9.]);
    // edge: [1 1 | 1 2 3 4 | 4 4 4].
    assert_eq!(pad1d("edge", "opset1", &x, 2, 3).expect("pad"), vec![1., 1., 1., 2., 3., 4., 4., 4., 4.]);
    // reflect (mirror without the edge): [3 2 | 1 2 3 4 | 3 2 1].
    assert_eq!(pad1d("reflect", "opset1", &x, 2, 3).expect("pad"), vec![3., 2., 1., 2., 3., 4., 3., 2., 1.]);
    // symmetric (mirror with the edge): [2 1 | 1 2 3 4 | 4 3 2].
    assert_eq!(pad1d("symmetric", "opset1", &x, 2, 3).expect("pad"), vec![2., 1., 1., 2., 3., 4., 4., 3., 2.]);
    // reflect needs pad < size: 4 is refused; symmetric allows pad = size.
    assert!(pad1d("reflect", "opset1", &x, 4, 0).is_err());
    assert_eq!(pad1d("symmetric", "opset1", &x, 4, 0).expect("pad"), vec![4., 3., 2., 1., 1., 2., 3., 4.]);
}

#[test]
fn pad12_negative_pads_crop() {
    let x = [1., 2., 3., 4., 5.];
    // begin -2 removes 1, 2; end 1 adds the pad value: [3 4 5 9].
    assert_eq!(pad1d("constant", "opset12", &x, -2, 1).expect("pad"), vec![3., 4., 5., 9.]);
    // edge with begin 1, end -3: [1 | 1 2].
    assert_eq!(pad1d("edge", "opset12", &x, 1, -3).expect("pad"), vec![1., 1., 2.]);
    // reflect with begin -1, end 2: [2 3 4 5 | 4 3].
    assert_eq!(pad1d("reflect", "opset12", &x, -1, 2).expect("pad"), vec![2., 3., 4., 5., 4., 3.]);
    // Cropping more than the size is refused.
    assert!(pad1d("constant", "opset12", &x, -4, -2).is_err());
}

#[test]
fn pad_two_dimensional_constant_default_zero() {
    // [[1,2],[3,4]] padded [1,0] / [0,1] with no pad value: [[0,0,0],[1,2,0],[3,4,0]].
    let t = eval1(
        node("Pad", "opset1", &[("pad_mode", "constant")], 1),
        &[f32t(&[2, 2], &[1., 2., 3., 4.]), i64t(&[2], &[1, 0]), i64t(&[2], &[0, 1])],
    );
    assert_eq!(t.shape, vec![3, 3]);
    assert_eq!(f32s(&t), &[0., 0., 0., 1., 2., 0., 3., 4., 0.]);
}

#[test]
fn unsqueeze_axes_index_the_output() {
    // [2,3] with axes [0, -1]: output rank 4, new axes 0 and 3 -> [1,2,3,1].
    let t = eval1(node("Unsqueeze", "opset1", &[], 1), &[iota(&[2, 3]), i64t(&[2], &[0, -1])]);
    assert_eq!(t.shape, vec![1, 2, 3, 1]);
    assert!(eval(node("Unsqueeze", "opset1", &[], 1), &[iota(&[2]), i64t(&[2], &[0, 0])]).is_err());
}

#[test]
fn shape_of_types() {
    let t = eval1(node("ShapeOf", "opset3", &[("output_type", "i32")], 1), &[iota(&[2, 0, 5])]);
    assert_eq!((t.shape.clone(), t.data), (vec![3], TensorData::I32(vec![2, 0, 5])));
    let t = eval1(node("ShapeOf", "opset1", &[], 1), &[iota(&[4])]);
    assert_eq!(t.data, TensorData::I64(vec![4]));
}

#[test]
fn split_equal_parts() {
    // [2,4] split in 2 along axis -1: [[0,1],[4,5]] and [[2,3],[6,7]].
    let outs =
        eval(node("Split", "opset1", &[("num_splits", "2")], 2), &[iota(&[2, 4]), i64t(&[], &[-1])]).expect("split");
    assert_eq!(f32s(&outs[0]), &[0., 1., 4., 5.]);
    assert_eq!(f32s(&outs[1]), &[2., 3., 6., 7.]);
    assert!(eval(node("Split", "opset1", &[("num_splits", "3")], 3), &[iota(&[2, 4]), i64t(&[], &[1])]).is_err());
}

#[test]
fn tile_pads_repeats_and_shape() {
    // [1,2] tiled by [2] -> repeats padded to [1,2]: [[1,2,1,2]]; by [2,1,1] -> shape [2,1,2].
    let x = f32t(&[1, 2], &[1., 2.]);
    let t = eval1(node("Tile", "opset1", &[], 1), &[x.clone(), i64t(&[1], &[2])]);
    assert_eq!((t.shape.clone(), f32s(&t).to_vec()), (vec![1, 4], vec![1., 2., 1., 2.]));
    let t = eval1(node("Tile", "opset1", &[], 1), &[x, i64t(&[3], &[2, 1, 1])]);
    assert_eq!((t.shape.clone(), f32s(&t).to_vec()), (vec![2, 1, 2], vec![1., 2., 1., 2.]));
}

#[test]
fn broadcast_modes() {
    let x = f32t(&[3, 1], &[1., 2., 3.]);
    // numpy to [2,3,2]: every row value repeated.
    let t = eval1(node("Broadcast", "opset3", &[("mode", "numpy")], 1), &[x.clone(), i64t(&[3], &[2, 3, 2])]);
    assert_eq!(t.shape, vec![2, 3, 2]);
    assert_eq!(f32s(&t), &[1., 1., 2., 2., 3., 3., 1., 1., 2., 2., 3., 3.]);
    // bidirectional with target [1,4]: result [3,4].
    let t = eval1(node("Broadcast", "opset3", &[("mode", "bidirectional")], 1), &[x, i64t(&[2], &[1, 4])]);
    assert_eq!(t.shape, vec![3, 4]);
    // explicit: [2] mapped to axis 1 of [3,2,2]: out[i][j][k] = x[j].
    let t = eval1(
        node("Broadcast", "opset3", &[("mode", "explicit")], 1),
        &[f32t(&[2], &[5., 6.]), i64t(&[3], &[3, 2, 2]), i64t(&[1], &[1])],
    );
    assert_eq!(f32s(&t), &[5., 5., 6., 6., 5., 5., 6., 6., 5., 5., 6., 6.]);
}

fn strided(x: &Tensor, b: &[i64], e: &[i64], s: &[i64], masks: &[(&str, &str)]) -> Tensor {
    let n = b.len();
    eval1(node("StridedSlice", "opset1", masks, 1), &[x.clone(), i64t(&[n], b), i64t(&[n], e), i64t(&[n], s)])
}

#[test]
fn strided_slice_masks() {
    // x [2,3,4], x[i][j][k] = 12i + 4j + k.
    let x = iota(&[2, 3, 4]);
    // x[0:2, 1:3, :] -> [2,2,4].
    let t = strided(&x, &[0, 1], &[2, 3], &[1, 1], &[]);
    assert_eq!(t.shape, vec![2, 2, 4]);
    assert_eq!(f32s(&t)[..4], [4., 5., 6., 7.]);
    // begin_mask/end_mask on axis 0 ignore the out-of-range 5 and -9: full axis; axis 1 1:2.
    let t = strided(&x, &[5, 1], &[-9, 2], &[1, 1], &[("begin_mask", "1,0"), ("end_mask", "1,0")]);
    assert_eq!(t.shape, vec![2, 1, 4]);
    assert_eq!(f32s(&t), &[4., 5., 6., 7., 16., 17., 18., 19.]);
    // shrink axis 1 at index -1 = 2: x[:, 2, :] -> [2,4] = 8..11, 20..23.
    let t = strided(&x, &[0, -1], &[2, 0], &[1, 1], &[("shrink_axis_mask", "0,1")]);
    assert_eq!(t.shape, vec![2, 4]);
    assert_eq!(f32s(&t), &[8., 9., 10., 11., 20., 21., 22., 23.]);
    // new axis first, then axis 0 0:1 -> [1,1,3,4].
    let t = strided(&x, &[0, 0], &[0, 1], &[1, 1], &[("new_axis_mask", "1,0")]);
    assert_eq!(t.shape, vec![1, 1, 3, 4]);
    // ellipsis covers axes 0 and 1; the second entry slices axis 2 as 1:3:2 -> x[..., 1:2].
    let t = strided(&x, &[0, 1], &[0, 3], &[1, 2], &[("ellipsis_mask", "1,0")]);
    assert_eq!(t.shape, vec![2, 3, 1]);
    assert_eq!(f32s(&t), &[1., 5., 9., 13., 17., 21.]);
    // Negative stride with both masks reverses axis 0.
    let t = strided(&iota(&[3]), &[0], &[0], &[-1], &[("begin_mask", "1"), ("end_mask", "1")]);
    assert_eq!(f32s(&t), &[2., 1., 0.]);
}

#[test]
fn hostile_sizes_are_errors_not_panics() {
    // Pads that overflow, huge outputs, and extreme slice bounds are refused or clamped.
    let x = f32t(&[2], &[1., 2.]);
    let pad = |b: i64, e: i64| {
        eval(node("Pad", "opset12", &[("pad_mode", "constant")], 1), &[x.clone(), i64t(&[1], &[b]), i64t(&[1], &[e])])
    };
    // i64::MIN + 2 + i64::MAX = 1 element, whose input coordinate 0 − i64::MIN is far outside: pad value 0.
    assert_eq!(f32s(&pad(i64::MIN, i64::MAX).expect("one element")[0]), &[0.]);
    assert!(pad(i64::MAX, 0).is_err());
    assert!(pad(1 << 40, 0).is_err());
    let n = node("Reshape", "opset1", &[("special_zero", "false")], 1);
    assert!(eval(n, &[x.clone(), i64t(&[2], &[1 << 40, 1 << 40])]).is_err());
    let n = node("Tile", "opset1", &[], 1);
    assert!(eval(n, &[x, i64t(&[1], &[1 << 40])]).is_err());
}

#[test]
fn depth_to_space_modes_and_inverse() {
    // [1,8,1,1] = 0..8, block 2 -> [1,2,2,2]. blocks_first: channel = f(b)·C' + c' (C' = 2):
    // c'=0 reads channels 0,2,4,6; c'=1 reads 1,3,5,7. depth_first: channel = c'·4 + f(b).
    let x = iota(&[1, 8, 1, 1]);
    let d2s = |mode: &str| node("DepthToSpace", "opset1", &[("mode", mode), ("block_size", "2")], 1);
    let t = eval1(d2s("blocks_first"), std::slice::from_ref(&x));
    assert_eq!(t.shape, vec![1, 2, 2, 2]);
    assert_eq!(f32s(&t), &[0., 2., 4., 6., 1., 3., 5., 7.]);
    let u = eval1(d2s("depth_first"), std::slice::from_ref(&x));
    assert_eq!(f32s(&u), &[0., 1., 2., 3., 4., 5., 6., 7.]);
    // SpaceToDepth with the same mode undoes it.
    let s2d = |mode: &str| node("SpaceToDepth", "opset1", &[("mode", mode), ("block_size", "2")], 1);
    let back = eval1(s2d("blocks_first"), &[t]);
    assert_eq!((back.shape.clone(), f32s(&back).to_vec()), (vec![1, 8, 1, 1], f32s(&x).to_vec()));
    let back = eval1(s2d("depth_first"), &[u]);
    assert_eq!(f32s(&back), f32s(&x));
    // Spatial: [1,1,2,2] -> SpaceToDepth -> [1,4,1,1] with channel f(b) = element (b1, b2).
    let t = eval1(s2d("blocks_first"), &[f32t(&[1, 1, 2, 2], &[10., 11., 12., 13.])]);
    assert_eq!((t.shape.clone(), f32s(&t).to_vec()), (vec![1, 4, 1, 1], vec![10., 11., 12., 13.]));
    assert!(eval(d2s("blocks_first"), &[iota(&[1, 6, 1, 1])]).is_err());
}
