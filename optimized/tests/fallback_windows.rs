//! Property tests: the fallback's Convolution, GroupConvolution, ConvolutionBackpropData, MatMul,
//! MaxPool and AvgPool against the reference's, bit for bit, on random geometries.

mod fallback_common;

use fallback_common::{compare_op, list, Gen};
use proptest::prelude::*;

/// Random stride/dilation/pad/auto_pad attributes for `n` spatial axes.
fn window_attrs(g: &mut Gen, n: usize, dilations: bool) -> Vec<(&'static str, String)> {
    let strides: Vec<usize> = (0..n).map(|_| g.range(1, 3)).collect();
    let dil: Vec<usize> = (0..n).map(|_| if dilations { g.range(1, 2) } else { 1 }).collect();
    let pb: Vec<usize> = (0..n).map(|_| g.range(0, 2)).collect();
    let pe: Vec<usize> = (0..n).map(|_| g.range(0, 2)).collect();
    let auto_pad = g.pick(&["explicit", "explicit", "valid", "same_upper", "same_lower"]);
    let mut a = vec![
        ("strides", list(&strides)),
        ("pads_begin", list(&pb)),
        ("pads_end", list(&pe)),
        ("auto_pad", auto_pad.to_string()),
    ];
    if dilations {
        a.push(("dilations", list(&dil)));
    }
    a
}

fn case_convolutions_match(seed: u64) -> bool {
    let mut g = Gen::new(seed);
    let n = g.range(1, 3);
    let grouped = g.chance(0.4);
    let groups = if grouped { g.range(1, 3) } else { 1 };
    let (icpg, ocpg) = (g.range(1, 3), g.range(1, 3));
    let batch = g.range(1, 2);
    let spatial: Vec<usize> = (0..n).map(|_| g.range(3, if n == 3 { 5 } else { 8 })).collect();
    let kernel: Vec<usize> = (0..n).map(|_| g.range(1, 3)).collect();
    let mut xs = vec![batch, groups * icpg];
    xs.extend(&spatial);
    let mut ws = if grouped { vec![groups, ocpg, icpg] } else { vec![ocpg, icpg] };
    ws.extend(&kernel);
    let x = {
        let sp = g.chance(0.2);
        g.tensor(&xs, 2.0, sp)
    };
    let w = g.tensor(&ws, 1.0, false);
    let attrs = window_attrs(&mut g, n, true);
    let op = if grouped { "GroupConvolution" } else { "Convolution" };
    compare_op(op, "opset1", &attrs, &[x, w], 1)
}

fn case_backprop_data_matches(seed: u64) -> bool {
    let mut g = Gen::new(seed);
    let n = g.range(1, 2);
    let grouped = g.chance(0.4);
    let groups = if grouped { g.range(1, 3) } else { 1 };
    let (icg, ocg, batch) = (g.range(1, 3), g.range(1, 3), g.range(1, 2));
    let spatial: Vec<usize> = (0..n).map(|_| g.range(1, 5)).collect();
    let kernel: Vec<usize> = (0..n).map(|_| g.range(1, 3)).collect();
    let strides: Vec<usize> = (0..n).map(|_| g.range(1, 3)).collect();
    let dil: Vec<usize> = (0..n).map(|_| g.range(1, 2)).collect();
    let pads: Vec<usize> = (0..n).map(|_| g.range(0, 1)).collect();
    let outpad: Vec<usize> = (0..n).map(|i| g.range(0, strides[i] - 1)).collect();
    let mut xs = vec![batch, groups * icg];
    xs.extend(&spatial);
    let mut ws = if grouped { vec![groups, icg, ocg] } else { vec![icg, ocg] };
    ws.extend(&kernel);
    let x = g.tensor(&xs, 2.0, false);
    let w = g.tensor(&ws, 1.0, false);
    let attrs = vec![
        ("strides", list(&strides)),
        ("dilations", list(&dil)),
        ("pads_begin", list(&pads)),
        ("pads_end", list(&pads)),
        ("output_padding", list(&outpad)),
        ("auto_pad", g.pick(&["explicit", "explicit", "valid"]).to_string()),
    ];
    let op = if grouped { "GroupConvolutionBackpropData" } else { "ConvolutionBackpropData" };
    compare_op(op, "opset1", &attrs, &[x, w], 1)
}

fn case_matmul_matches(seed: u64) -> bool {
    let mut g = Gen::new(seed);
    let (m, k, n) = (g.range(1, 6), g.range(1, 9), g.range(1, 6));
    let (ta, tb) = (g.chance(0.5), g.chance(0.5));
    let batch_rank = g.range(0, 2);
    let batch = g.shape(batch_rank, 3);
    let mut sa: Vec<usize> = batch.iter().map(|&d| if g.chance(0.3) { 1 } else { d }).collect();
    let keep_from = g.range(0, batch.len());
    let mut sb: Vec<usize> = batch[keep_from..].to_vec();
    if g.chance(0.15) {
        sa.clear();
        sa.push(k);
    } else if ta {
        sa.extend([k, m]);
    } else {
        sa.extend([m, k]);
    }
    if g.chance(0.15) {
        sb.clear();
        sb.push(k);
    } else if tb {
        sb.extend([n, k]);
    } else {
        sb.extend([k, n]);
    }
    let a = {
        let sp = g.chance(0.2);
        g.tensor(&sa, 2.0, sp)
    };
    let b = g.tensor(&sb, 2.0, false);
    let attrs = [("transpose_a", ta.to_string()), ("transpose_b", tb.to_string())];
    compare_op("MatMul", "opset1", &attrs, &[a, b], 1)
}

fn case_pooling_matches(seed: u64) -> bool {
    let mut g = Gen::new(seed);
    let n = g.range(1, 3);
    let mut xs = vec![g.range(1, 2), g.range(1, 3)];
    xs.extend((0..n).map(|_| g.range(2, if n == 3 { 5 } else { 8 })));
    let kernel: Vec<usize> = (0..n).map(|_| g.range(1, 3)).collect();
    let x = {
        let sp = g.chance(0.3);
        g.tensor(&xs, 4.0, sp)
    };
    let max = g.chance(0.5);
    let mut attrs = window_attrs(&mut g, n, max);
    attrs.push(("kernel", list(&kernel)));
    attrs.push(("rounding_type", g.pick(&["floor", "ceil"]).to_string()));
    if max {
        attrs.push(("index_element_type", g.pick(&["i64", "i32"]).to_string()));
        attrs.push(("axis", g.pick(&["0", "1", "2", "-1"]).to_string()));
        compare_op("MaxPool", "opset8", &attrs, &[x], 2)
    } else {
        attrs.push(("exclude-pad", g.chance(0.5).to_string()));
        compare_op("AvgPool", "opset1", &attrs, &[x], 1)
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(100))]

    #[test]
    fn convolutions_match(seed in any::<u64>()) {
        case_convolutions_match(seed);
    }

    #[test]
    fn backprop_data_matches(seed in any::<u64>()) {
        case_backprop_data_matches(seed);
    }

    #[test]
    fn matmul_matches(seed in any::<u64>()) {
        case_matmul_matches(seed);
    }

    #[test]
    fn pooling_matches(seed in any::<u64>()) {
        case_pooling_matches(seed);
    }
}

/// The generators must mostly produce configurations both engines accept, or the properties
/// above would only compare refusals.
#[test]
fn most_generated_cases_compute() {
    let ok = (0..100u64).filter(|&s| case_convolutions_match(s)).count();
    assert!(ok >= 50, "convolutions_match: only {ok} of 100 cases computed");
    let ok = (0..100u64).filter(|&s| case_backprop_data_matches(s)).count();
    assert!(ok >= 50, "backprop_data_matches: only {ok} of 100 cases computed");
    let ok = (0..100u64).filter(|&s| case_matmul_matches(s)).count();
    assert!(ok >= 50, "matmul_matches: only {ok} of 100 cases computed");
    let ok = (0..100u64).filter(|&s| case_pooling_matches(s)).count();
    assert!(ok >= 50, "pooling_matches: only {ok} of 100 cases computed");
}

/// Hand-derived: a 1×1×3×3 input 1..9, 2×2 all-ones kernel, stride 1, no pad → window sums
/// 1+2+4+5 = 12, 2+3+5+6 = 16, 4+5+7+8 = 24, 5+6+8+9 = 28.
#[test]
fn hand_computed_convolution() {
    use conform_ir::Tensor;
    use optimized::fallback::eval_node;
    let x = Tensor::from_f32(vec![1, 1, 3, 3], (1..=9).map(|v| v as f32).collect()).expect("x");
    let w = Tensor::from_f32(vec![1, 1, 2, 2], vec![1.0; 4]).expect("w");
    let attrs = [
        ("strides", "1, 1".to_string()),
        ("dilations", "1, 1".to_string()),
        ("pads_begin", "0, 0".to_string()),
        ("pads_end", "0, 0".to_string()),
        ("auto_pad", "explicit".to_string()),
    ];
    let (m, k) = fallback_common::single_op("Convolution", "opset1", &attrs, &[&x, &w], 1);
    let y = eval_node(&m, k, &[&x, &w]).expect("conv");
    assert_eq!(y[0].shape, vec![1, 1, 2, 2]);
    assert_eq!(y[0].as_f32().expect("f32"), &[12.0f32, 16.0, 24.0, 28.0]);
}
