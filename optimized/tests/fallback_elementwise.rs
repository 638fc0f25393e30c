//! Property tests: the fallback's element-wise kernels (binary ops with numpy broadcasting,
//! activations, FakeQuantize) against the reference's, bit for bit, on random shapes, attributes
//! and values (special values included).

mod fallback_common;

use conform_ir::{ElementType, Tensor, TensorData};
use fallback_common::{compare_op, Gen};
use proptest::prelude::*;

/// Two shapes that numpy-broadcast: each drops some leading axes of a common shape and sets some
/// axes to 1.
fn broadcast_pair(g: &mut Gen) -> (Vec<usize>, Vec<usize>) {
    let rank = g.range(0, 4);
    let full = g.shape(rank, 5);
    let derive = |g: &mut Gen| {
        let drop = g.range(0, rank);
        full[drop..].iter().map(|&d| if g.chance(0.3) { 1 } else { d }).collect::<Vec<_>>()
    };
    let a = derive(g);
    let b = derive(g);
    (a, b)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(100))]

    #[test]
    fn binary_ops_match(seed in any::<u64>()) {
        let mut g = Gen::new(seed);
        let op = g.pick(&["Add", "Subtract", "Multiply", "Divide", "Maximum", "Minimum", "Power", "SquaredDifference"]);
        let (sa, sb) = broadcast_pair(&mut g);
        let a = g.tensor(&sa, 4.0, true);
        let a = g.maybe_f16(a, 0.1);
        let b = g.tensor(&sb, 4.0, true);
        let attrs = [("auto_broadcast", "numpy".to_string())];
        prop_assert!(compare_op(op, "opset1", &attrs, &[a, b], 1));
    }

    #[test]
    fn activations_match(seed in any::<u64>()) {
        let mut g = Gen::new(seed);
        let rank = g.range(0, 4);
        let shape = g.shape(rank, 6);
        let x = g.tensor(&shape, 8.0, true);
        let x = g.maybe_f16(x, 0.1);
        let computed = match g.range(0, 8) {
            7 => {
                let op = g.pick(&["Exp", "Log", "Tanh", "Abs", "Negative", "Floor", "Ceiling", "HSigmoid", "SoftPlus", "Mish"]);
                let version = match op {
                    "HSigmoid" => "opset5",
                    "SoftPlus" | "Mish" => "opset4",
                    _ => "opset1",
                };
                compare_op(op, version, &[], &[x], 1)
            }
            6 => {
                if g.chance(0.5) {
                    let alpha = g.pick(&["1", "0.5", "1.6732632423543772"]);
                    compare_op("Elu", "opset1", &[("alpha", alpha.to_string())], &[x], 1)
                } else {
                    // PRelu: a per-channel 1-D slope, or a numpy-broadcast slope.
                    let slope_shape = if shape.len() > 1 && g.chance(0.5) {
                        vec![shape[1]]
                    } else {
                        shape.iter().map(|&d| if g.chance(0.5) { 1 } else { d }).collect()
                    };
                    let slope = g.tensor(&slope_shape, 1.0, false);
                    compare_op("PRelu", "opset1", &[], &[x, slope], 1)
                }
            }
            8 => compare_op("Sqrt", "opset1", &[], &[x], 1),
            1 => compare_op("ReLU", "opset1", &[], &[x], 1),
            2 => compare_op("Sigmoid", "opset1", &[], &[x], 1),
            3 => compare_op("HSwish", "opset4", &[], &[x], 1),
            4 => {
                let lo = (g.value(4.0, false) * 8.0).round() / 8.0;
                let hi = lo + (g.value(4.0, false).abs() * 8.0).round() / 8.0;
                compare_op("Clamp", "opset1", &[("min", format!("{lo}")), ("max", format!("{hi}"))], &[x], 1)
            }
            5 => {
                if g.chance(0.5) {
                    compare_op("Swish", "opset4", &[], &[x], 1)
                } else {
                    let beta = g.tensor(&[], 2.0, false);
                    compare_op("Swish", "opset4", &[], &[x, beta], 1)
                }
            }
            _ => {
                let alpha = g.tensor(&[], 1.0, false);
                let beta = g.tensor(&[], 1.0, false);
                compare_op("HardSigmoid", "opset1", &[], &[x, alpha, beta], 1)
            }
        };
        prop_assert!(computed);
    }

    #[test]
    fn fake_quantize_matches(seed in any::<u64>()) {
        let mut g = Gen::new(seed);
        let rank = g.range(1, 4);
        let shape = g.shape(rank, 5);
        let x = g.tensor(&shape, 3.0, true);
        // Each range input: a scalar, or the data shape with some axes 1 and some leading axes dropped.
        let range = |g: &mut Gen, base: f32| {
            let s: Vec<usize> = if g.chance(0.4) {
                vec![]
            } else {
                let drop = g.range(0, rank);
                shape[drop..].iter().map(|&d| if g.chance(0.6) { 1 } else { d }).collect()
            };
            let n: usize = s.iter().product();
            let v = (0..n).map(|_| base + g.value(1.0, false)).collect();
            conform_ir::Tensor::from_f32(s, v).expect("consistent")
        };
        let il = range(&mut g, -1.0);
        // Mostly il < ih; sometimes an inverted or equal range (SPEC §1.2 allows them).
        let ih_base = if g.chance(0.85) { 1.5 } else { -1.0 };
        let ih = range(&mut g, ih_base);
        let ol = range(&mut g, -2.0);
        let oh = range(&mut g, 2.0);
        let levels = g.pick(&[2u64, 3, 16, 255, 256, 65536]);
        let attrs = [("levels", levels.to_string()), ("auto_broadcast", "numpy".to_string())];
        prop_assert!(compare_op("FakeQuantize", "opset1", &attrs, &[x, il, ih, ol, oh], 1));
    }
}

/// A tensor of element type `et` with values drawn around `scale` (floats include specials and
/// out-of-range magnitudes, integers span the type).
fn typed_tensor(g: &mut Gen, et: ElementType, shape: &[usize]) -> Tensor {
    let n: usize = shape.iter().product();
    let f = |g: &mut Gen| {
        if g.chance(0.2) {
            g.value(1e10, true)
        } else {
            g.value(300.0, true)
        }
    };
    let i = |g: &mut Gen| g.next() as i64 >> g.range(0, 62);
    let data = match et {
        ElementType::F32 => TensorData::F32((0..n).map(|_| f(g)).collect()),
        ElementType::F16 => TensorData::F16((0..n).map(|_| half::f16::from_f32(f(g))).collect()),
        ElementType::F64 => TensorData::F64((0..n).map(|_| f64::from(f(g)) * 1.0000001).collect()),
        ElementType::I64 => TensorData::I64((0..n).map(|_| i(g)).collect()),
        ElementType::I32 => TensorData::I32((0..n).map(|_| i(g) as i32).collect()),
        ElementType::I8 => TensorData::I8((0..n).map(|_| i(g) as i8).collect()),
        ElementType::U8 => TensorData::U8((0..n).map(|_| i(g) as u8).collect()),
        ElementType::U64 => TensorData::U64((0..n).map(|_| g.next()).collect()),
        _ => TensorData::Bool((0..n).map(|_| g.chance(0.5)).collect()),
    };
    let et = if matches!(data, TensorData::Bool(_)) { ElementType::Boolean } else { et };
    Tensor::new(et, shape.to_vec(), data).expect("consistent")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(100))]

    #[test]
    fn convert_matches(seed in any::<u64>()) {
        let mut g = Gen::new(seed);
        let rank = g.range(0, 3);
        let shape = g.shape(rank, 5);
        let src = g.pick(&[ElementType::F32, ElementType::F16, ElementType::F64, ElementType::I64, ElementType::I32,
            ElementType::I8, ElementType::U8, ElementType::U64, ElementType::Boolean]);
        let x = typed_tensor(&mut g, src, &shape);
        let dst = g.pick(&ElementType::ALL);
        prop_assert!(compare_op("Convert", "opset1", &[("destination_type", dst.ir_name().to_string())], &[x], 1));
    }

    #[test]
    fn integer_and_pdpd_binary_ops_match(seed in any::<u64>()) {
        let mut g = Gen::new(seed);
        let op = g.pick(&["Add", "Subtract", "Multiply", "Divide", "Maximum", "Minimum", "Power"]);
        if g.chance(0.5) {
            let (sa, sb) = broadcast_pair(&mut g);
            let et = g.pick(&[ElementType::I64, ElementType::I32, ElementType::I8, ElementType::U8]);
            let a = typed_tensor(&mut g, et, &sa);
            let mut b = typed_tensor(&mut g, et, &sb);
            if op == "Power" {
                // Small exponents, some negative.
                let v: Vec<i64> = b.to_i64_vec().iter().map(|x| x.rem_euclid(9) - 2).collect();
                b = conform_ir::Tensor::new(et, sb.clone(), match et {
                    ElementType::I64 => TensorData::I64(v),
                    ElementType::I32 => TensorData::I32(v.iter().map(|&x| x as i32).collect()),
                    ElementType::I8 => TensorData::I8(v.iter().map(|&x| x as i8).collect()),
                    _ => TensorData::U8(v.iter().map(|&x| x.max(0) as u8).collect()),
                }).expect("consistent");
            }
            let pythondiv = g.chance(0.5).to_string();
            compare_op(op, "opset1", &[("auto_broadcast", "numpy".into()), ("m_pythondiv", pythondiv)], &[a, b], 1);
        } else {
            let rank = g.range(1, 4);
            let sa = g.shape(rank, 4);
            let start = g.range(0, rank - 1);
            let len = g.range(0, rank - start);
            let sb: Vec<usize> = sa[start..start + len].iter().map(|&d| if g.chance(0.3) { 1 } else { d }).collect();
            let axis = if start + len == rank && g.chance(0.5) { -1 } else { start as i64 };
            let a = g.tensor(&sa, 4.0, true);
            let b = g.tensor(&sb, 4.0, true);
            let attrs = [("auto_broadcast", "pdpd".to_string()), ("axis", axis.to_string())];
            prop_assert!(compare_op(op, "opset1", &attrs, &[a, b], 1));
        }
    }
}

/// Hand-derived values (FP32.md formulas, computed by hand): HSwish(1) = 1·4/6, HardSigmoid with
/// α = 0.5, β = 0.5 at x = 2 → min(1, 1.5) = 1, Clamp to [-1, 1] of 3 → 1.
#[test]
fn hand_computed_activations() {
    use conform_ir::Tensor;
    use optimized::fallback::eval_node;
    let x = Tensor::from_f32(vec![3], vec![1.0, 2.0, 3.0]).expect("tensor");
    let (m, k) = fallback_common::single_op("HSwish", "opset4", &[], &[&x], 1);
    let y = eval_node(&m, k, &[&x]).expect("hswish");
    assert_eq!(y[0].as_f32().expect("f32"), &[4.0f32 / 6.0, 2.0 * 5.0 / 6.0, 3.0]);
    let a = Tensor::from_f32(vec![], vec![0.5]).expect("alpha");
    let (m, k) = fallback_common::single_op("HardSigmoid", "opset1", &[], &[&x, &a, &a], 1);
    let y = eval_node(&m, k, &[&x, &a, &a]).expect("hard sigmoid");
    assert_eq!(y[0].as_f32().expect("f32"), &[1.0f32, 1.0, 1.0]);
    let attrs = [("min", "-1".to_string()), ("max", "1".to_string())];
    let (m, k) = fallback_common::single_op("Clamp", "opset1", &attrs, &[&x], 1);
    let y = eval_node(&m, k, &[&x]).expect("clamp");
    assert_eq!(y[0].as_f32().expect("f32"), &[1.0f32, 1.0, 1.0]);
}
