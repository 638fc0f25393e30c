//! Hand-computed cases of MatMul-1 (specification: transposes, rank-1 promotion, batch
//! broadcasting).

mod ops_util;
use ops_util::{assert_bits, eval_op, f, run1};

const A: [f32; 6] = [1., 2., 3., 4., 5., 6.]; // [[1,2,3],[4,5,6]]
const B: [f32; 6] = [7., 8., 9., 10., 11., 12.]; // [[7,8],[9,10],[11,12]]

#[test]
fn plain_and_transposed() {
    // A·B = [[1·7+2·9+3·11, 1·8+2·10+3·12], [4·7+5·9+6·11, 4·8+5·10+6·12]] = [[58,64],[139,154]].
    let (s, y) = run1("MatMul", "opset1", &[], &[f(&[2, 3], &A), f(&[3, 2], &B)]);
    assert_eq!(s, vec![2, 2]);
    assert_bits(&y, &[58., 64., 139., 154.]);
    // transpose_b: B stored as Bᵀ = [[7,9,11],[8,10,12]].
    let bt = [7., 9., 11., 8., 10., 12.];
    let (_, y) = run1("MatMul", "opset1", &[("transpose_b", "true")], &[f(&[2, 3], &A), f(&[2, 3], &bt)]);
    assert_bits(&y, &[58., 64., 139., 154.]);
    // transpose_a: A stored as Aᵀ = [[1,4],[2,5],[3,6]].
    let at = [1., 4., 2., 5., 3., 6.];
    let (_, y) = run1("MatMul", "opset1", &[("transpose_a", "true")], &[f(&[3, 2], &at), f(&[3, 2], &B)]);
    assert_bits(&y, &[58., 64., 139., 154.]);
}

#[test]
fn rank_one_promotion() {
    // [3]·[3,2]: A becomes [1,3], the 1 is removed: [58,64] with shape [2].
    let (s, y) = run1("MatMul", "opset1", &[], &[f(&[3], &[1., 2., 3.]), f(&[3, 2], &B)]);
    assert_eq!(s, vec![2]);
    assert_bits(&y, &[58., 64.]);
    // [2,3]·[3] (ones): row sums [6,15], shape [2]; transpose_b is ignored for a rank-1 B.
    let (s, y) = run1("MatMul", "opset1", &[("transpose_b", "true")], &[f(&[2, 3], &A), f(&[3], &[1.; 3])]);
    assert_eq!(s, vec![2]);
    assert_bits(&y, &[6., 15.]);
    // [3]·[3]: dot product 1+4+9 = 14, rank-0 result.
    let (s, y) = run1("MatMul", "opset1", &[], &[f(&[3], &[1., 2., 3.]), f(&[3], &[1., 2., 3.])]);
    assert_eq!(s, Vec::<usize>::new());
    assert_bits(&y, &[14.]);
}

#[test]
fn batch_broadcasting() {
    // A [2,1,2] = batches [[1,2]] and [[3,4]]; B [2,1] = [[1],[1]] (no batch axes): y = [2,1,1]
    // with [[3]] and [[7]].
    let (s, y) = run1("MatMul", "opset1", &[], &[f(&[2, 1, 2], &[1., 2., 3., 4.]), f(&[2, 1], &[1., 1.])]);
    assert_eq!(s, vec![2, 1, 1]);
    assert_bits(&y, &[3., 7.]);
    // A [2,1,1,2] and B [3,2,1] broadcast to batch [2,3]: A batch a ∈ {[1,2],[3,4]},
    // B batch b ∈ {[1,0]ᵀ, [0,1]ᵀ, [1,1]ᵀ}: y[a][b] = a·b = [1,2,3] for a0 and [3,4,7] for a1.
    let (s, y) =
        run1("MatMul", "opset1", &[], &[f(&[2, 1, 1, 2], &[1., 2., 3., 4.]), f(&[3, 2, 1], &[1., 0., 0., 1., 1., 1.])]);
    assert_eq!(s, vec![2, 3, 1, 1]);
    assert_bits(&y, &[1., 2., 3., 3., 4., 7.]);
}

#[test]
fn errors_are_typed() {
    // inner dimensions 3 vs 2
    assert!(eval_op("MatMul", "opset1", &[], &[f(&[2, 3], &A), f(&[2, 3], &B)], 1).is_err());
    // batch axes 2 vs 3 do not broadcast
    assert!(eval_op("MatMul", "opset1", &[], &[f(&[2, 1, 1], &[1., 1.]), f(&[3, 1, 1], &[1.; 3])], 1).is_err());
    // rank 0
    assert!(eval_op("MatMul", "opset1", &[], &[f(&[], &[1.]), f(&[1], &[1.])], 1).is_err());
}

#[test]
fn accumulates_in_f32_k_ascending() {
    // [1e8, 1, -1e8]·[1,1,1]: 0 + 1e8 = 1e8; + 1 = 1e8 (below half an ulp, ulp(1e8) = 8);
    // - 1e8 = 0. Summing in another order (or in f64) would give 1.
    let (_, y) = run1("MatMul", "opset1", &[], &[f(&[1, 3], &[1e8, 1., -1e8]), f(&[3, 1], &[1., 1., 1.])]);
    assert_bits(&y, &[0.]);
}
