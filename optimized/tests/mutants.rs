//! Each seeded bug of the scalar kernels (`--features mutants`, home `scalar`) is caught: on at least one of three hand-built
//! convolution blocks its outputs differ from the reference INT8 mode, while the same blocks on the
//! correct scalar kernels agree with the reference bit for bit.
//!
//! The blocks are built so every bug has something to bite on (derivations in the comments):
//! 17 input channels (a reduction of 17·9 = 153 = 38 groups of 4 + 1: not a multiple of 4 groups,
//! so a lost tail drops products), 17 output channels (a second 16-lane block, read with the wrong
//! stride), per-channel scales that differ, a bias (an FMA changes the rounding of `t·M + b`),
//! padding 1 (pad value matters when the zero point is not 0), weights 127 in adjacent reduction
//! positions with activations at the top level (255·127 + 255·127 = 64770 > 32767: an i16 pair sum
//! saturates), a fractional zero point (block A: z = 0.37·255/2.48 = 38.04…) and inputs on exact
//! rounding midpoints (block C: range [0, 255], 256 levels, t = x).
#![cfg(feature = "mutants")]

use conform_ir::{Model, Tensor};
use optimized::modelgen::{Builder, Rng};
use optimized::{compile, PlanOptions};
use reference::int8::ZeroPointPolicy;
use reference::{Mode, RunOptions};

const CIN: usize = 17;
const COUT: usize = 17;

/// A conv block: act FakeQuantize(ranges, levels) → Convolution 3×3 pad 1 (dq weights) → bias.
fn block(range: (f32, f32), levels: u32, inputs: impl Fn(usize, &mut Rng) -> f32) -> (Model, Vec<Tensor>) {
    let mut rng = Rng::new(7);
    let mut b = Builder::new();
    let xs = [1, CIN, 4, 4];
    let p = b.param(&xs);
    let fq = b.fq(p, &xs, levels, [range.0, range.1, range.0, range.1]);
    // Weights: channel-major [COUT][CIN][3][3]; runs of 127 so adjacent k positions pair up.
    let n = COUT * CIN * 9;
    let q: Vec<i8> = (0..n).map(|i| if i % 3 == 2 { rng.int(-128, 127) as i8 } else { 127 }).collect();
    let s: Vec<f32> = (0..COUT).map(|o| 0.001 + 0.0007 * o as f32).collect();
    let w = b.dq_weights(&[COUT, CIN, 3, 3], &q, &[COUT, 1, 1, 1], &s, None);
    let attrs = [
        ("strides", "1,1".to_string()),
        ("dilations", "1,1".to_string()),
        ("pads_begin", "1,1".to_string()),
        ("pads_end", "1,1".to_string()),
        ("auto_pad", "explicit".to_string()),
    ];
    let os = vec![1, COUT, 4, 4];
    let conv = b.op("Convolution", &attrs, &[(fq, 0), (w, 0)], std::slice::from_ref(&os));
    let bias: Vec<f32> = (0..COUT).map(|o| 0.1 + 0.013 * o as f32).collect();
    let bc = b.const_f32(&[1, COUT, 1, 1], &bias);
    let add = b.op("Add", &[("auto_broadcast", "numpy".into())], &[(conv, 0), (bc, 0)], &[os]);
    b.result(add);
    let model = b.finish("mutant-block").expect("a valid model");
    let x: Vec<f32> = (0..CIN * 16).map(|i| inputs(i, &mut rng)).collect();
    (model, vec![Tensor::from_f32(xs.to_vec(), x).expect("shape")])
}

fn blocks() -> Vec<(&'static str, Model, Vec<Tensor>)> {
    // A: fractional zero point, half the activations at the top level, the rest spread.
    let (a, ai) = block((-0.37, 2.11), 256, |i, r| if i % 2 == 0 { 2.11 } else { -0.37 + 2.48 * r.unit() });
    // B: integer zero point 127 (range [−1.27, 1.27], 255 levels): padding must hold 127.
    let (b, bi) = block((-1.27, 1.27), 255, |i, r| if i % 2 == 0 { 1.27 } else { -1.27 + 2.54 * r.unit() });
    // C: range [0, 255] with 256 levels, so t = x: inputs k + 0.5 are exact ties.
    let (c, ci) = block((0.0, 255.0), 256, |i, _| (i % 200) as f32 + 0.5);
    vec![("A", a, ai), ("B", b, bi), ("C", c, ci)]
}

fn run_opt(model: &Model, inputs: &[Tensor], isa: &str) -> Vec<u32> {
    let plan = compile(model, &PlanOptions { isa: Some(isa.into()), threads: Some(1), ..Default::default() })
        .unwrap_or_else(|e| panic!("{isa}: compile: {e}"));
    let out = plan.run(inputs).unwrap_or_else(|e| panic!("{isa}: run: {e}"));
    out.outputs[0].to_f32_vec().iter().map(|v| v.to_bits()).collect()
}

#[test]
fn every_seeded_bug_is_caught_and_the_correct_kernels_are_not() {
    let cases = blocks();
    let refs: Vec<Vec<u32>> = cases
        .iter()
        .map(|(_, m, x)| {
            let o =
                reference::run(m, x, &RunOptions { mode: Mode::Int8(ZeroPointPolicy::Exact), ..Default::default() })
                    .expect("reference INT8");
            o.outputs[0].to_f32_vec().iter().map(|v| v.to_bits()).collect()
        })
        .collect();
    // The correct scalar kernels agree bit for bit (so a difference below is the seeded bug's).
    for ((name, m, x), r) in cases.iter().zip(&refs) {
        assert_eq!(&run_opt(m, x, "scalar"), r, "block {name}: scalar kernels differ from the reference");
    }
    // The seeded bugs of the scalar kernels (home `scalar`); those in the SIMD kernels and the
    // newer paths need shapes these blocks lack and are asserted by the harness's fuzz_mutants.
    let names: Vec<String> = optimized::mutants::ALL
        .iter()
        .filter(|(m, _)| m.home() == optimized::isa::Isa::Scalar)
        .map(|(_, n)| n.to_string())
        .collect();
    assert!(names.len() >= 8, "at least eight seeded bugs: {names:?}");
    let mut missed = Vec::new();
    for mu in &names {
        let caught: Vec<&str> = cases
            .iter()
            .zip(&refs)
            .filter(|((_, m, x), r)| run_opt(m, x, &format!("mutant:{mu}")) != **r)
            .map(|((n, _, _), _)| *n)
            .collect();
        eprintln!("mutant:{mu}: caught on blocks {caught:?}");
        if caught.is_empty() {
            missed.push(mu.clone());
        }
    }
    // Selecting a normal variant switches the mutant off again.
    let (_, m, x) = &cases[0];
    assert_eq!(&run_opt(m, x, "scalar"), &refs[0]);
    assert!(missed.is_empty(), "seeded bugs not caught: {missed:?}");
}
