//! FakeQuantize-1 as an op: attribute validation and broadcasting of the range inputs
//! (fake-quantize-1 specification, SPEC §1.1–1.2). Expected values derived by hand.

mod ops_util;
use ops_util::{assert_bits, eval_op, f, run1};

fn fq(
    levels: &str,
    bc: &str,
    x: conform_ir::Tensor,
    r: [conform_ir::Tensor; 4],
) -> Result<Vec<f32>, reference::RefError> {
    let [il, ih, ol, oh] = r;
    eval_op("FakeQuantize", "opset1", &[("levels", levels), ("auto_broadcast", bc)], &[x, il, ih, ol, oh], 1)
        .map(|o| o[0].as_f32().expect("f32").to_vec())
}

#[test]
fn per_tensor_levels_256() {
    // il=0, ih=2.55, L=256 -> step 0.01 in t: x=1.0 -> t = 1/2.55·255 = 100 (f32 steps: 1/2.55 =
    // 0.39215687, ·255 = 100.0) -> 100/255·2.55 = 1.0 (0.39215687·2.55 = 1.0 after rounding);
    // x=-1 -> below il -> ol = 0; x=3 -> above ih -> oh = 2.55.
    let (_, y) = run1(
        "FakeQuantize",
        "opset1",
        &[("levels", "256")],
        &[f(&[3], &[1.0, -1.0, 3.0]), f(&[], &[0.]), f(&[], &[2.55]), f(&[], &[0.]), f(&[], &[2.55])],
    );
    assert_eq!(y[1], 0.0);
    assert_eq!(y[2], 2.55);
    assert!((y[0] - 1.0).abs() <= 1.2e-7, "{}", y[0]);
}

#[test]
fn per_channel_ranges_broadcast_and_round_ties_to_even() {
    // X [1,3] all 0.5; il = 0; ih = oh = [1,2,4] per column; ol = 0; L = 3 (Lm1 = 2):
    // col0: t = 0.5/1·2 = 1 -> r = 1 -> 1/2·1 = 0.5;
    // col1: t = 0.5/2·2 = 0.5 -> tie -> even 0 -> 0;
    // col2: t = 0.5/4·2 = 0.25 -> 0 -> 0.
    let y = fq(
        "3",
        "numpy",
        f(&[1, 3], &[0.5, 0.5, 0.5]),
        [f(&[], &[0.]), f(&[3], &[1., 2., 4.]), f(&[], &[0.]), f(&[1, 3], &[1., 2., 4.])],
    )
    .expect("runs");
    assert_bits(&y, &[0.5, 0., 0.]);
}

#[test]
fn levels_are_validated() {
    let r = || [f(&[], &[0.]), f(&[], &[1.]), f(&[], &[0.]), f(&[], &[1.])];
    assert!(fq("1", "numpy", f(&[1], &[0.5]), r()).is_err());
    assert!(fq("65537", "numpy", f(&[1], &[0.5]), r()).is_err());
    // levels = 2 (binarization): x = 0.5 -> t = 0.5 -> tie to 0 -> ol; x = 0.6 -> 1 -> oh.
    assert_bits(&fq("2", "numpy", f(&[2], &[0.5, 0.6]), r()).expect("runs"), &[0., 1.]);
    // levels = 65536 is accepted: x = 1 (== ih, not above) -> t = 65535 -> y = 1.
    assert_bits(&fq("65536", "numpy", f(&[1], &[1.0]), r()).expect("runs"), &[1.]);
}

#[test]
fn auto_broadcast_none_requires_identical_shapes() {
    let r = [f(&[], &[0.]), f(&[], &[1.]), f(&[], &[0.]), f(&[], &[1.])];
    assert!(fq("256", "none", f(&[2], &[0.5, 0.6]), r).is_err());
    let same = [f(&[2], &[0., 0.]), f(&[2], &[1., 1.]), f(&[2], &[0., 0.]), f(&[2], &[1., 1.])];
    // L = 3 on [0,1]: x = 0.25 -> t = 0.5 -> tie to even 0 -> 0; x = 0.75 -> t = 1.5 -> 2 -> 1.
    assert_bits(&fq("3", "none", f(&[2], &[0.25, 0.75]), same).expect("runs"), &[0., 1.]);
}

#[test]
fn ranges_that_do_not_broadcast_to_x_are_rejected() {
    // SPEC §1.1 quirk: OpenVINO accepts X [2,1] with ranges [1,3] (broadcast_merge) and reads
    // column 0; we reject it (documented in ops/fake_quantize.rs).
    let r = [f(&[1, 3], &[0.; 3]), f(&[1, 3], &[1.; 3]), f(&[1, 3], &[0.; 3]), f(&[1, 3], &[1.; 3])];
    assert!(fq("256", "numpy", f(&[2, 1], &[0.5, 0.6]), r).is_err());
    // Plain incompatibility: [3] against X [2].
    let r = [f(&[3], &[0.; 3]), f(&[], &[1.]), f(&[], &[0.]), f(&[], &[1.])];
    assert!(fq("256", "numpy", f(&[2], &[0.5, 0.6]), r).is_err());
    // Missing inputs are an error, not a panic.
    assert!(eval_op("FakeQuantize", "opset1", &[("levels", "256")], &[f(&[1], &[0.])], 1).is_err());
}
