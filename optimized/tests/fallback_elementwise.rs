//! Property tests: the fallback's element-wise kernels (binary ops with numpy broadcasting,
//! activations, FakeQuantize) against the reference's, bit for bit, on random shapes, attributes
//! and values (special values included).

mod fallback_common;

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
        let op = g.pick(&["Add", "Subtract", "Multiply", "Divide", "Maximum", "Minimum", "Power"]);
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
        let computed = match g.range(0, 6) {
            0 => compare_op("Sqrt", "opset1", &[], &[x], 1),
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
