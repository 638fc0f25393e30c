//! Hand-computed cases of the element-wise ops (OpenVINO operation specifications; the f32 steps
//! of FP32.md). Each expected value is derived in the comment next to it.

mod ops_util;
use conform_ir::TensorData;
use ops_util::{assert_bits, eval_op, f, i, run1};

#[test]
fn add_broadcasts_numpy_style() {
    // [2,3] + [3]: the row [10,20,30] is added to each row.
    let (s, y) = run1("Add", "opset1", &[], &[f(&[2, 3], &[1., 2., 3., 4., 5., 6.]), f(&[3], &[10., 20., 30.])]);
    assert_eq!(s, vec![2, 3]);
    assert_bits(&y, &[11., 22., 33., 14., 25., 36.]);
    // [2,1] - [1,3] -> [2,3]: a[i] - b[j] = {1,2} - {1,2,3}.
    let (s, y) = run1("Subtract", "opset1", &[], &[f(&[2, 1], &[1., 2.]), f(&[1, 3], &[1., 2., 3.])]);
    assert_eq!(s, vec![2, 3]);
    assert_bits(&y, &[0., -1., -2., 1., 0., -1.]);
    // Scalar (rank 0) times [2,2].
    let (s, y) = run1("Multiply", "opset1", &[], &[f(&[], &[0.5]), f(&[2, 2], &[2., 4., 6., -8.])]);
    assert_eq!(s, vec![2, 2]);
    assert_bits(&y, &[1., 2., 3., -4.]);
}

#[test]
fn broadcast_modes_none_and_pdpd() {
    // none: shapes must be equal.
    let r = eval_op("Add", "opset1", &[("auto_broadcast", "none")], &[f(&[2], &[1., 2.]), f(&[1], &[1.])], 1);
    assert!(r.is_err());
    let (_, y) = run1("Add", "opset1", &[("auto_broadcast", "none")], &[f(&[2], &[1., 2.]), f(&[2], &[3., 4.])]);
    assert_bits(&y, &[4., 6.]);
    // pdpd, axis=1: B [3] aligns with A's axis 1 of [2,3,2], i.e. B acts as [1,3,1].
    let a: Vec<f32> = vec![0.; 12];
    let (s, y) = run1(
        "Add",
        "opset1",
        &[("auto_broadcast", "pdpd"), ("axis", "1")],
        &[f(&[2, 3, 2], &a), f(&[3], &[1., 2., 3.])],
    );
    assert_eq!(s, vec![2, 3, 2]);
    assert_bits(&y, &[1., 1., 2., 2., 3., 3., 1., 1., 2., 2., 3., 3.]);
    // pdpd trims B's trailing 1s: A [2,3], B [3,1] with axis 1 acts as [1,3].
    let (_, y) = run1(
        "Add",
        "opset1",
        &[("auto_broadcast", "pdpd"), ("axis", "1")],
        &[f(&[2, 3], &[0.; 6]), f(&[3, 1], &[1., 2., 3.])],
    );
    assert_bits(&y, &[1., 2., 3., 1., 2., 3.]);
    // numpy: incompatible shapes are an error, not a panic.
    assert!(eval_op("Add", "opset1", &[], &[f(&[2], &[1., 2.]), f(&[3], &[1., 2., 3.])], 1).is_err());
}

#[test]
fn divide_float_and_python_integer_division() {
    // 1/3 in f32 is the nearest float to 1/3: 11184811·2^-25 = 0.3333333432674408.
    let (_, y) = run1("Divide", "opset1", &[], &[f(&[1], &[1.]), f(&[1], &[3.])]);
    assert_eq!(y[0], 11184811.0 * 2f32.powi(-25));
    // 1/0 = +inf, -1/0 = -inf, 0/0 = NaN (IEEE).
    let (_, y) = run1("Divide", "opset1", &[], &[f(&[3], &[1., -1., 0.]), f(&[1], &[0.])]);
    assert_bits(&y, &[f32::INFINITY, f32::NEG_INFINITY, f32::NAN]);
    // i64 with m_pythondiv (default true): floor division: -7/2 = -4, 7/-2 = -4, 7/2 = 3, -8/2 = -4.
    let out = eval_op("Divide", "opset1", &[], &[i(&[4], &[-7, 7, 7, -8]), i(&[4], &[2, -2, 2, 2])], 1).expect("runs");
    assert_eq!(out[0].data, TensorData::I64(vec![-4, -4, 3, -4]));
    // C-style truncation when m_pythondiv=false: -7/2 = -3.
    let out =
        eval_op("Divide", "opset1", &[("m_pythondiv", "false")], &[i(&[1], &[-7]), i(&[1], &[2])], 1).expect("runs");
    assert_eq!(out[0].data, TensorData::I64(vec![-3]));
    // Integer division by zero is an error.
    assert!(eval_op("Divide", "opset1", &[], &[i(&[1], &[1]), i(&[1], &[0])], 1).is_err());
}

#[test]
fn integer_shape_arithmetic() {
    // i64 Add/Multiply as used by shape subgraphs: [2,3]·[4] + [1].
    let out = eval_op("Multiply", "opset1", &[], &[i(&[2], &[2, 3]), i(&[1], &[4])], 1).expect("runs");
    assert_eq!(out[0].data, TensorData::I64(vec![8, 12]));
    let out = eval_op("Add", "opset1", &[], &[i(&[2], &[2, 3]), i(&[], &[1])], 1).expect("runs");
    assert_eq!(out[0].data, TensorData::I64(vec![3, 4]));
    // Mixed i64 and f32 inputs are rejected.
    assert!(eval_op("Add", "opset1", &[], &[i(&[1], &[1]), f(&[1], &[1.])], 1).is_err());
}

#[test]
fn maximum_minimum_are_ternaries() {
    // max(a,b) = a > b ? a : b: max(NaN,1) = 1 (comparison false -> b), max(1,NaN) = NaN.
    let (_, y) = run1("Maximum", "opset1", &[], &[f(&[3], &[f32::NAN, 1., -2.]), f(&[3], &[1., f32::NAN, -3.])]);
    assert_bits(&y, &[1., f32::NAN, -2.]);
    // min(a,b) = a < b ? a : b: min(-0, +0) = +0 (neither is less -> b).
    let (_, y) = run1("Minimum", "opset1", &[], &[f(&[2], &[-0.0, 2.]), f(&[2], &[0.0, 5.])]);
    assert_bits(&y, &[0.0, 2.]);
}

#[test]
fn power_and_sqrt() {
    // 2^10 = 1024, 9^0.5 = 3, 4^-1 = 0.25 (all exact).
    let (_, y) = run1("Power", "opset1", &[], &[f(&[3], &[2., 9., 4.]), f(&[3], &[10., 0.5, -1.])]);
    assert_bits(&y, &[1024., 3., 0.25]);
    // sqrt is correctly rounded: sqrt(2.25) = 1.5, sqrt(-1) = NaN, sqrt(-0) = -0.
    let (_, y) = run1("Sqrt", "opset1", &[], &[f(&[3], &[2.25, -1., -0.0])]);
    assert_bits(&y, &[1.5, f32::NAN, -0.0]);
}

#[test]
fn relu_and_clamp() {
    // relu: x > 0 ? x : 0, so NaN -> 0 and -0 -> +0.
    let (_, y) = run1("ReLU", "opset1", &[], &[f(&[4], &[-1., -0.0, 2.5, f32::NAN])]);
    assert_bits(&y, &[0., 0., 2.5, 0.]);
    // clamp [-1,1]: x < lo ? lo : x > hi ? hi : x (NaN passes through).
    let (_, y) = run1("Clamp", "opset1", &[("min", "-1"), ("max", "1")], &[f(&[5], &[-2., -1., 0.5, 3., f32::NAN])]);
    assert_bits(&y, &[-1., -1., 0.5, 1., f32::NAN]);
    // min 0.1 is rounded to the f32 nearest 0.1 (13421773·2^-27) before comparing.
    let (_, y) = run1("Clamp", "opset1", &[("min", "0.1"), ("max", "6")], &[f(&[1], &[0.0])]);
    assert_eq!(y[0], 13421773.0 * 2f32.powi(-27));
    assert!(eval_op("Clamp", "opset1", &[("min", "2"), ("max", "1")], &[f(&[1], &[0.])], 1).is_err());
    // Integer data: bounds ceil(-1.5) = -1 and floor(2.5) = 2 -> [-3, 0, 5] becomes [-1, 0, 2].
    let out = eval_op("Clamp", "opset1", &[("min", "-1.5"), ("max", "2.5")], &[i(&[3], &[-3, 0, 5])], 1).expect("runs");
    assert_eq!(out[0].data, TensorData::I64(vec![-1, 0, 2]));
}

#[test]
fn sigmoid_values() {
    // 1/(1+exp(-0)) = 1/2; exp(100) = inf -> 1/inf = 0; exp(-100) ~ 3.7e-44 is lost in 1 + e -> 1.
    let (_, y) = run1("Sigmoid", "opset1", &[], &[f(&[3], &[0., -100., 100.])]);
    assert_bits(&y, &[0.5, 0., 1.]);
}

#[test]
fn swish_values() {
    // x/(1+exp(-x·β)), β = 1: swish(0) = 0/2 = 0; swish(100) = 100/(1+3.7e-44) = 100 (the f64 sum
    // rounds to 1); swish(-100) = -100/(1+inf) = -0.
    let (_, y) = run1("Swish", "opset4", &[], &[f(&[3], &[0., 100., -100.])]);
    assert_bits(&y, &[0., 100., -0.0]);
    // β input = 0: x/(1+exp(0)) = x/2 exactly.
    let (_, y) = run1("Swish", "opset4", &[], &[f(&[2], &[1., -3.]), f(&[], &[0.])]);
    assert_bits(&y, &[0.5, -1.5]);
    // β = 2, x = 0.5: 0.5/(1+e^-1) = 0.5/1.3678794411714423 = 0.36552928931500245 (the f64
    // quotient, rounded once to f32).
    let (_, y) = run1("Swish", "opset4", &[], &[f(&[1], &[0.5]), f(&[1], &[2.])]);
    assert_eq!(y[0], 0.365_529_289_315_002_45_f64 as f32);
    // A β with more than one value is an error.
    assert!(eval_op("Swish", "opset4", &[], &[f(&[1], &[1.]), f(&[2], &[1., 2.])], 1).is_err());
}

#[test]
fn hswish_values() {
    // x·min(max(x+3,0),6)/6: x=-4 -> t=0 -> -4·0 = -0, /6 = -0; x=1 -> 1·4/6 = 4/6 rounded to f32
    // (11184811·2^-24); x=3 -> 3·6/6 = 3; x=5 -> t = 6 -> 5.
    let (_, y) = run1("HSwish", "opset4", &[], &[f(&[4], &[-4., 1., 3., 5.])]);
    assert_bits(&y, &[-0.0, 11184811.0 * 2f32.powi(-24), 3., 5.]);
}

#[test]
fn hard_sigmoid_values() {
    // α = 0.2 (f32: 13421773·2^-26), β = 0.5: max(0, min(1, α·x + β)).
    // x=0 -> 0.5; x=-5 -> α·-5 = -67108865·2^-26, rounds to -1.0 -> -0.5 -> 0; x=5 -> 1.5 -> 1;
    // x=1 -> 0.2f + 0.5 = 0.70000000298..., nearest f32 is 0.699999988079071 (= 0.7f32);
    // NaN -> min(1,NaN) = 1 (NaN < 1 is false) -> 1.
    let (_, y) =
        run1("HardSigmoid", "opset1", &[], &[f(&[5], &[0., -5., 5., 1., f32::NAN]), f(&[], &[0.2]), f(&[], &[0.5])]);
    assert_bits(&y, &[0.5, 0., 1., 0.7, 1.]);
    assert!(eval_op("HardSigmoid", "opset1", &[], &[f(&[1], &[0.])], 1).is_err());
}

#[test]
fn unknown_op_is_not_claimed() {
    let r = eval_op("NoSuchOp", "opset1", &[], &[f(&[1], &[0.])], 1);
    assert!(matches!(r, Err(reference::RefError::UnsupportedOp { .. })));
}

#[test]
fn more_activations() {
    // HSigmoid: min(max(x+3,0),6)/6: -4 -> 0; 0 -> 3/6 = 0.5; 4 -> 6/6 = 1.
    let (_, y) = run1("HSigmoid", "opset5", &[], &[f(&[3], &[-4., 0., 4.])]);
    assert_bits(&y, &[0., 0.5, 1.]);
    // SoftPlus: 0 -> ln(1+1) = ln 2 (f32 0.6931472); -100 -> ln(1 + 3.7e-44) = ln 1 = 0;
    // 100 ≥ ln(FLT_MAX) = 88.72 -> 100 (passed through).
    let (_, y) = run1("SoftPlus", "opset4", &[], &[f(&[3], &[0., -100., 100.])]);
    assert_bits(&y, &[std::f32::consts::LN_2, 0., 100.]);
    // Mish: x·tanh(ln(e^x + 1)): 0 -> 0; 100 -> e^100 overflows f32 to inf, tanh(inf) = 1 -> 100.
    let (_, y) = run1("Mish", "opset4", &[], &[f(&[2], &[0., 100.])]);
    assert_bits(&y, &[0., 100.]);
    // Elu α = 0.5: x ≥ 0 passes; -inf -> 0.5·(0 - 1) = -0.5.
    let (_, y) = run1("Elu", "opset1", &[("alpha", "0.5")], &[f(&[3], &[0., 2., f32::NEG_INFINITY])]);
    assert_bits(&y, &[0., 2., -0.5]);
    // Log, Floor, Ceiling: ln 1 = 0, ln 0 = -inf; floor(-1.5) = -2; ceil(-1.5) = -1.
    assert_bits(&run1("Log", "opset1", &[], &[f(&[2], &[1., 0.])]).1, &[0., f32::NEG_INFINITY]);
    assert_bits(&run1("Floor", "opset1", &[], &[f(&[1], &[-1.5])]).1, &[-2.]);
    assert_bits(&run1("Ceiling", "opset1", &[], &[f(&[1], &[-1.5])]).1, &[-1.]);
    // SquaredDifference: (5 - 2)² = 9, broadcast over [2]: (1 - 2)² = 1.
    assert_bits(&run1("SquaredDifference", "opset1", &[], &[f(&[2], &[5., 1.]), f(&[1], &[2.])]).1, &[9., 1.]);
}

#[test]
fn prelu_slope_per_channel() {
    // x [1,2,2] = [[-2, 2], [-4, 4]], slope [2] = [0.5, 0.25] applies along axis 1 (channels):
    // [[-1, 2], [-1, 4]] (numpy broadcasting would have used the last axis instead).
    let (_, y) = run1("PRelu", "opset1", &[], &[f(&[1, 2, 2], &[-2., 2., -4., 4.]), f(&[2], &[0.5, 0.25])]);
    assert_bits(&y, &[-1., 2., -1., 4.]);
    // A scalar slope broadcasts everywhere; a slope that fits nothing is an error.
    let (_, y) = run1("PRelu", "opset1", &[], &[f(&[2], &[-2., 2.]), f(&[], &[0.5])]);
    assert_bits(&y, &[-1., 2.]);
    assert!(eval_op("PRelu", "opset1", &[], &[f(&[1, 2, 2], &[0.; 4]), f(&[3], &[0.; 3])], 1).is_err());
}

#[test]
fn comparisons_logical_and_select() {
    // [1, NaN, 3] vs scalar 2: Less -> [true, false (NaN), false]; NotEqual -> all true
    // (NaN != 2); GreaterEqual -> [false, false, true].
    let x = || f(&[3], &[1., f32::NAN, 3.]);
    let b = |op: &str| eval_op(op, "opset1", &[], &[x(), f(&[], &[2.])], 1).expect("runs")[0].data.clone();
    assert_eq!(b("Less"), TensorData::Bool(vec![true, false, false]));
    assert_eq!(b("NotEqual"), TensorData::Bool(vec![true, true, true]));
    assert_eq!(b("GreaterEqual"), TensorData::Bool(vec![false, false, true]));
    // i64: [2,3] == [3] -> [false, true].
    let out = eval_op("Equal", "opset1", &[], &[i(&[2], &[2, 3]), i(&[1], &[3])], 1).expect("runs");
    assert_eq!(out[0].data, TensorData::Bool(vec![false, true]));
    // Logical ops on the boolean results: (x < 2) AND NOT (x != 2) = [true AND false, ...] = false.
    let lt = eval_op("Less", "opset1", &[], &[x(), f(&[], &[2.])], 1).expect("runs").remove(0);
    let ne = eval_op("NotEqual", "opset1", &[], &[x(), f(&[], &[2.])], 1).expect("runs").remove(0);
    let not_ne = eval_op("LogicalNot", "opset1", &[], std::slice::from_ref(&ne), 1).expect("runs").remove(0);
    assert_eq!(not_ne.data, TensorData::Bool(vec![false, false, false]));
    let and = eval_op("LogicalAnd", "opset1", &[], &[lt.clone(), not_ne], 1).expect("runs");
    assert_eq!(and[0].data, TensorData::Bool(vec![false, false, false]));
    let xor = eval_op("LogicalXor", "opset1", &[], &[lt.clone(), ne], 1).expect("runs");
    assert_eq!(xor[0].data, TensorData::Bool(vec![false, true, true]));
    // Select(cond [3], then [3], else scalar): [1, 0, 0] picks then[0], else, else.
    let (_, y) = run1("Select", "opset1", &[], &[lt, f(&[3], &[10., 20., 30.]), f(&[], &[-1.])]);
    assert_bits(&y, &[10., -1., -1.]);
}
