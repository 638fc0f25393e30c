//! Softmax, ReduceMean and BatchNormInference against hand-derived expectations.

mod ops_support;

use ops_support::*;

#[test]
fn softmax_uniform_rows_are_exact() {
    // Each row equal: m = x, e = exp(0) = 1, s = 4, y = 1/4 exactly.
    let x = f32t(&[2, 4], &[3., 3., 3., 3., -7., -7., -7., -7.]);
    let t = eval1(node("SoftMax", "opset8", &[("axis", "1")], 1), &[x]);
    assert_eq!(f32s(&t), &[0.25; 8]);
}

#[test]
fn softmax_negative_axis_opset8() {
    // x [2,2] = [[0, 0], [ln 3, 0]]; axis -2 = 0 (columns):
    // column 0: m = ln3, e = [exp(-ln3) = 1/3, 1], s = 4/3, y = [1/4, 3/4]; column 1: [1/2, 1/2].
    let ln3 = 3f32.ln();
    let x = f32t(&[2, 2], &[0., 0., ln3, 0.]);
    let t = eval1(node("SoftMax", "opset8", &[("axis", "-2")], 1), std::slice::from_ref(&x));
    assert_ulps(f32s(&t), &[0.25, 0.5, 0.75, 0.5], 2);
    // The same with opset1 axis 0.
    let t1 = eval1(node("SoftMax", "opset1", &[("axis", "0")], 1), &[x]);
    assert_eq!(f32s(&t1), f32s(&t));
}

#[test]
fn softmax_subtracts_the_max_so_large_inputs_do_not_overflow() {
    // [1000, 1001] (exp(1000) alone would be inf): m = 1001, e = [exp(-1), 1],
    // y = [1/(1+e), e/(1+e)] with e = 2.7182818 -> [0.26894142, 0.73105858].
    let t = eval1(node("SoftMax", "opset8", &[("axis", "0")], 1), &[f32t(&[2], &[1000., 1001.])]);
    assert_ulps(f32s(&t), &[0.268_941_42, 0.731_058_6], 2);
}

#[test]
fn reduce_mean_keep_dims_and_negative_axes() {
    // x [2,3] = [[0,1,2],[3,4,5]]; axes [-1]: row means [1, 4].
    let x = iota(&[2, 3]);
    let t = eval1(node("ReduceMean", "opset1", &[("keep_dims", "true")], 1), &[x.clone(), i64t(&[1], &[-1])]);
    assert_eq!((t.shape.clone(), f32s(&t).to_vec()), (vec![2, 1], vec![1., 4.]));
    let t = eval1(node("ReduceMean", "opset1", &[("keep_dims", "false")], 1), &[x.clone(), i64t(&[1], &[0])]);
    // Column means: (0+3)/2, (1+4)/2, (2+5)/2.
    assert_eq!((t.shape.clone(), f32s(&t).to_vec()), (vec![3], vec![1.5, 2.5, 3.5]));
    // Both axes: 15 / 6 = 2.5; scalar output without keep_dims.
    let t = eval1(node("ReduceMean", "opset1", &[("keep_dims", "false")], 1), &[x.clone(), i64t(&[2], &[0, -1])]);
    assert_eq!((t.shape.clone(), f32s(&t).to_vec()), (Vec::<usize>::new(), vec![2.5]));
    // No axes: identity (count 1).
    let t = eval1(node("ReduceMean", "opset1", &[("keep_dims", "true")], 1), &[x.clone(), i64t(&[0], &[])]);
    assert_eq!(f32s(&t), f32s(&x));
}

#[test]
fn reduce_mean_uses_kahan_compensation() {
    // [1, 2^-24, 2^-24, 0]: a plain f32 sum gives 1 (1 + 2^-24 ties to even, twice). OpenVINO's
    // Kahan sum: after 1: s=1, c=0; after 2^-24: t = 1 (tie), c = (1-1) - 2^-24 = -2^-24;
    // after 2^-24: y = 2^-24 + 2^-24 = 2^-23, t = 1 + 2^-23 (exact), c = 0; after 0: unchanged.
    // Mean = (1 + 2^-23) / 4 = 0.25 + 2^-25.
    let e = 2f32.powi(-24);
    let t = eval1(
        node("ReduceMean", "opset1", &[("keep_dims", "false")], 1),
        &[f32t(&[4], &[1., e, e, 0.]), i64t(&[1], &[0])],
    );
    assert_eq!(f32s(&t), &[0.25 + 2f32.powi(-25)]);
}

#[test]
fn reduce_mean_inf_falls_back_to_plain_addition() {
    // Kahan only while finite: [1, inf, 1] -> inf; [inf, -inf] -> NaN.
    let n = || node("ReduceMean", "opset1", &[("keep_dims", "false")], 1);
    let t = eval1(n(), &[f32t(&[3], &[1., f32::INFINITY, 1.]), i64t(&[1], &[0])]);
    assert_eq!(f32s(&t), &[f32::INFINITY]);
    let t = eval1(n(), &[f32t(&[2], &[f32::INFINITY, f32::NEG_INFINITY]), i64t(&[1], &[0])]);
    assert!(f32s(&t)[0].is_nan());
}

#[test]
fn batch_norm_port_order_differs_between_versions() {
    // data [1,2,2]: channel 0 = [1,2], channel 1 = [3,4]; gamma [2,1], beta [0.5,-1], mean [1,3],
    // variance [3.75, 0.75], eps 0.25 -> sqrt(var+eps) = [2, 1] exactly.
    // ch0: (1-1)/2·2+0.5 = 0.5, (2-1)/2·2+0.5 = 1.5; ch1: (3-3)/1·1-1 = -1, (4-3)/1·1-1 = 0.
    let data = f32t(&[1, 2, 2], &[1., 2., 3., 4.]);
    let gamma = f32t(&[2], &[2., 1.]);
    let beta = f32t(&[2], &[0.5, -1.]);
    let mean = f32t(&[2], &[1., 3.]);
    let var = f32t(&[2], &[3.75, 0.75]);
    let want = [0.5, 1.5, -1., 0.];
    let v5 = eval1(
        node("BatchNormInference", "opset5", &[("epsilon", "0.25")], 1),
        &[data.clone(), gamma.clone(), beta.clone(), mean.clone(), var.clone()],
    );
    assert_eq!(f32s(&v5), &want);
    // opset1 ports: gamma, beta, data, mean, variance.
    let v1 = eval1(node("BatchNormInference", "opset1", &[("epsilon", "0.25")], 1), &[gamma, beta, data, mean, var]);
    assert_eq!(v1.shape, vec![1, 2, 2]);
    assert_eq!(f32s(&v1), &want);
}

#[test]
fn reduce_sum_max_min_prod() {
    // x [2,3] = [[0,1,2],[3,4,5]] over axis 1: sums [3, 12], max [2, 5], min [0, 3], prod [0, 60].
    let x = iota(&[2, 3]);
    let r = |op: &str| {
        let t = eval1(node(op, "opset1", &[("keep_dims", "false")], 1), &[x.clone(), i64t(&[1], &[1])]);
        f32s(&t).to_vec()
    };
    assert_eq!(r("ReduceSum"), vec![3., 12.]);
    assert_eq!(r("ReduceMax"), vec![2., 5.]);
    assert_eq!(r("ReduceMin"), vec![0., 3.]);
    assert_eq!(r("ReduceProd"), vec![0., 60.]);
    // ReduceMax of all -inf is the lowest finite f32 (OpenVINO starts from numeric_limits::lowest()).
    let t = eval1(
        node("ReduceMax", "opset1", &[("keep_dims", "true")], 1),
        &[f32t(&[2], &[f32::NEG_INFINITY, f32::NEG_INFINITY]), i64t(&[1], &[0])],
    );
    assert_eq!((t.shape.clone(), f32s(&t).to_vec()), (vec![1], vec![f32::MIN]));
}

#[test]
fn mvn6_eps_modes() {
    // x = [1,2,3,4]: mean 2.5, d = [-1.5,-0.5,0.5,1.5], mean(d²) = (2.25+0.25+0.25+2.25)/4 = 1.25.
    // inside_sqrt, eps 2.75: sqrt(1.25 + 2.75) = 2 -> d/2.
    let mvn = |mode: &str, eps: &str| {
        node("MVN", "opset6", &[("eps", eps), ("eps_mode", mode), ("normalize_variance", "true")], 1)
    };
    let t = eval1(mvn("inside_sqrt", "2.75"), &[f32t(&[4], &[1., 2., 3., 4.]), i64t(&[1], &[0])]);
    assert_eq!(f32s(&t), &[-0.75, -0.25, 0.25, 0.75]);
    // x = [0,4]: d = [-2,2], mean(d²) = 4; outside_sqrt, eps 2: sqrt(4) + 2 = 4 -> [-0.5, 0.5].
    let t = eval1(mvn("outside_sqrt", "2"), &[f32t(&[1, 2], &[0., 4.]), i64t(&[1], &[-1])]);
    assert_eq!(f32s(&t), &[-0.5, 0.5]);
    // Without variance normalization only the mean is removed.
    let n = node("MVN", "opset6", &[("eps", "1"), ("eps_mode", "inside_sqrt"), ("normalize_variance", "false")], 1);
    let t = eval1(n, &[f32t(&[4], &[1., 2., 3., 4.]), i64t(&[1], &[0])]);
    assert_eq!(f32s(&t), &[-1.5, -0.5, 0.5, 1.5]);
}

#[test]
fn normalize_l2_eps_modes() {
    // [3, 4] over axis 0: s = 9 + 16 = 25; add, eps 0: y = x/5 = [0.6, 0.8] (division rounded).
    let n = |mode: &str, eps: &str| node("NormalizeL2", "opset1", &[("eps", eps), ("eps_mode", mode)], 1);
    let t = eval1(n("add", "0"), &[f32t(&[2], &[3., 4.]), i64t(&[1], &[0])]);
    assert_eq!(f32s(&t), &[3f32 / 5f32, 4f32 / 5f32]);
    // max with eps 100 > 25: y = x / 10.
    let t = eval1(n("max", "100"), &[f32t(&[2], &[3., 4.]), i64t(&[1], &[0])]);
    assert_eq!(f32s(&t), &[3f32 / 10f32, 4f32 / 10f32]);
    // add with eps 11: sqrt(36) = 6 -> [0.5, 4/6].
    let t = eval1(n("add", "11"), &[f32t(&[2], &[3., 4.]), i64t(&[1], &[0])]);
    assert_eq!(f32s(&t), &[0.5, 4f32 / 6f32]);
    // No axes: 0 stays 0, anything else becomes 1.
    let t = eval1(n("add", "0"), &[f32t(&[3], &[0., -2., 7.]), i64t(&[0], &[])]);
    assert_eq!(f32s(&t), &[0., 1., 1.]);
}
