//! Property tests: the fallback's data-movement kernels (Reshape, Squeeze, Transpose, Concat,
//! Gather-8, Slice-8, VariadicSplit, Pad-1/12), reductions (SoftMax-8, ReduceMean/Sum/Max/Min/Prod,
//! MVN-6, BatchNormInference-5), Interpolate-11 (nearest) and LSTMSequence-5 against the reference's, bit
//! for bit.

mod fallback_common;

use fallback_common::{compare_op, i64s, list, Gen};
use proptest::prelude::*;

fn case_movement(seed: u64) -> bool {
    let mut g = Gen::new(seed);
    let rank = g.range(1, 4);
    let shape = g.shape(rank, 4);
    let x = g.tensor(&shape, 4.0, true);
    let n: usize = shape.iter().product();
    let r = rank as i64;
    match g.range(0, 7) {
        0 => {
            // Reshape to a permuted factorisation with one -1 and special_zero.
            let mut target: Vec<i64> = shape.iter().rev().map(|&d| d as i64).collect();
            let special_zero = g.chance(0.5);
            let k = g.range(0, target.len() - 1);
            target[k] = -1;
            if special_zero && target.len() > 1 && shape[0] == *shape.last().unwrap_or(&0) {
                target[0] = 0;
            }
            let t = i64s(vec![target.len()], target);
            compare_op("Reshape", "opset1", &[("special_zero", special_zero.to_string())], &[x, t], 1)
        }
        1 => {
            let ones: Vec<i64> =
                (0..rank).filter(|&a| shape[a] == 1).map(|a| a as i64 - if g.chance(0.5) { r } else { 0 }).collect();
            if g.chance(0.3) {
                compare_op("Squeeze", "opset1", &[], &[x], 1)
            } else {
                let axes = i64s(vec![ones.len()], ones);
                compare_op("Squeeze", "opset1", &[], &[x, axes], 1)
            }
        }
        2 => {
            let mut perm: Vec<i64> = (0..r).collect();
            for i in (1..perm.len()).rev() {
                let j = g.range(0, i);
                perm.swap(i, j);
            }
            let perm = if g.chance(0.15) { vec![] } else { perm };
            let p = i64s(vec![perm.len()], perm);
            compare_op("Transpose", "opset1", &[], &[x, p], 1)
        }
        3 => {
            let axis = g.range(0, rank - 1);
            let parts = g.range(1, 3);
            let mut inputs = vec![x];
            for _ in 1..parts {
                let mut s = shape.clone();
                s[axis] = g.range(1, 3);
                inputs.push(g.tensor(&s, 4.0, false));
            }
            let a = if g.chance(0.5) { axis as i64 } else { axis as i64 - r };
            compare_op("Concat", "opset1", &[("axis", a.to_string())], &inputs, 1)
        }
        4 => {
            let axis = g.range(0, rank - 1);
            let d = shape[axis] as i64;
            let ir = g.range(0, 2);
            let is = g.shape(ir, 3);
            let cnt: usize = is.iter().product();
            let idx: Vec<i64> = (0..cnt).map(|_| g.range(0, (2 * d) as usize) as i64 - d).collect();
            let a = i64s(vec![], vec![axis as i64]);
            compare_op("Gather", "opset8", &[("batch_dims", "0".into())], &[x, i64s(is, idx), a], 1)
        }
        5 => {
            let k = g.range(1, rank);
            let mut axes: Vec<i64> = (0..r).collect();
            for i in (1..axes.len()).rev() {
                let j = g.range(0, i);
                axes.swap(i, j);
            }
            axes.truncate(k);
            let mut start = vec![];
            let mut stop = vec![];
            let mut step = vec![];
            for &a in &axes {
                let d = shape[a as usize] as i64;
                start.push(g.range(0, (2 * d + 2) as usize) as i64 - d - 1);
                stop.push(if g.chance(0.1) { i64::MAX } else { g.range(0, (2 * d + 2) as usize) as i64 - d - 1 });
                step.push(g.pick(&[1i64, 2, 3, -1, -2]));
            }
            let kk = axes.len();
            let inputs = [x, i64s(vec![kk], start), i64s(vec![kk], stop), i64s(vec![kk], step), i64s(vec![kk], axes)];
            compare_op("Slice", "opset8", &[], &inputs, 1)
        }
        6 => {
            let axis = g.range(0, rank - 1);
            let d = shape[axis];
            let first = g.range(0, d);
            let lens = if g.chance(0.5) { vec![first as i64, -1] } else { vec![first as i64, (d - first) as i64] };
            let inputs = [x, i64s(vec![], vec![axis as i64]), i64s(vec![2], lens)];
            compare_op("VariadicSplit", "opset1", &[], &inputs, 2)
        }
        _ => {
            let mode = g.pick(&["constant", "edge", "reflect", "symmetric"]);
            let v12 = g.chance(0.5);
            let pad = |g: &mut Gen, d: usize| -> i64 {
                let max = match mode {
                    "reflect" => d as i64 - 1,
                    "symmetric" => d as i64,
                    _ => 3,
                };
                let lo = if v12 { -(d as i64 - 1).clamp(0, 1) } else { 0 };
                lo + g.range(0, (max - lo).max(0) as usize) as i64
            };
            let pb: Vec<i64> = shape.iter().map(|&d| pad(&mut g, d)).collect();
            let pe: Vec<i64> = shape.iter().map(|&d| pad(&mut g, d)).collect();
            let mut inputs = vec![x, i64s(vec![rank], pb), i64s(vec![rank], pe)];
            if mode == "constant" && g.chance(0.5) {
                inputs.push(g.tensor(&[], 9.0, false));
            }
            let _ = n;
            compare_op("Pad", if v12 { "opset12" } else { "opset1" }, &[("pad_mode", mode.into())], &inputs, 1)
        }
    }
}

fn case_strided_slice(seed: u64) -> bool {
    let mut g = Gen::new(seed);
    let rank = g.range(1, 4);
    let shape = g.shape(rank, 4);
    let x = g.tensor(&shape, 4.0, false);
    let k = g.range(1, rank + 1);
    let mut b = vec![];
    let mut e = vec![];
    let mut st = vec![];
    let mut masks: [Vec<i64>; 5] = Default::default();
    let ellipsis_at = if g.chance(0.3) { Some(g.range(0, k - 1)) } else { None };
    for i in 0..k {
        let d = shape.get(i).copied().unwrap_or(1) as i64;
        b.push(g.range(0, (2 * d + 1) as usize) as i64 - d);
        e.push(g.range(0, (2 * d + 1) as usize) as i64 - d);
        st.push(g.pick(&[1i64, 2, -1, -2]));
        masks[0].push(g.chance(0.3) as i64);
        masks[1].push(g.chance(0.3) as i64);
        masks[2].push((g.chance(0.15)) as i64);
        masks[3].push((g.chance(0.2)) as i64);
        masks[4].push((ellipsis_at == Some(i)) as i64);
    }
    let names = ["begin_mask", "end_mask", "new_axis_mask", "shrink_axis_mask", "ellipsis_mask"];
    let attrs: Vec<(&str, String)> = names
        .iter()
        .zip(&masks)
        .map(|(n, m)| (*n, m.iter().map(|v| v.to_string()).collect::<Vec<_>>().join(",")))
        .collect();
    let inputs = [x, i64s(vec![k], b), i64s(vec![k], e), i64s(vec![k], st)];
    compare_op("StridedSlice", "opset1", &attrs, &inputs, 1)
}

fn case_more_movement(seed: u64) -> bool {
    let mut g = Gen::new(seed);
    let rank = g.range(1, 4);
    let shape = g.shape(rank, 4);
    let x = g.tensor(&shape, 4.0, true);
    let r = rank as i64;
    match g.range(0, 7) {
        7 => case_strided_slice(g.next()),
        0 => {
            let ot = g.pick(&["i64", "i32"]);
            compare_op("ShapeOf", "opset3", &[("output_type", ot.into())], &[x], 1)
        }
        1 => {
            let axis = g.range(0, rank - 1);
            let d = shape[axis];
            let n = g.pick(&[1, d, if d.is_multiple_of(2) { 2 } else { 1 }]);
            let a = i64s(vec![], vec![axis as i64 - if g.chance(0.5) { r } else { 0 }]);
            compare_op("Split", "opset1", &[("num_splits", n.to_string())], &[x, a], n)
        }
        2 => {
            let k = g.range(0, 4);
            let reps: Vec<i64> = (0..k).map(|_| g.range(0, 3) as i64).collect();
            compare_op("Tile", "opset1", &[], &[x, i64s(vec![k], reps)], 1)
        }
        3 => {
            let mode = g.pick(&["numpy", "bidirectional", "explicit"]);
            let extra = g.range(0, 2);
            let mut target: Vec<i64> = (0..extra).map(|_| g.range(1, 3) as i64).collect();
            target.extend(shape.iter().map(|&d| {
                if d == 1 {
                    g.range(1, 3) as i64
                } else if mode == "bidirectional" && g.chance(0.3) {
                    1
                } else {
                    d as i64
                }
            }));
            let tl = target.len();
            let mut inputs = vec![x, i64s(vec![tl], target)];
            if mode == "explicit" {
                inputs.push(i64s(vec![rank], (extra as i64..(extra + rank) as i64).collect()));
            }
            compare_op("Broadcast", "opset3", &[("mode", mode.into())], &inputs, 1)
        }
        4 => {
            let bs = g.range(1, 2);
            let k = g.range(1, 2);
            let to_space = g.chance(0.5);
            let mut s = vec![g.range(1, 2)];
            if to_space {
                s.push(g.range(1, 2) * bs.pow(k as u32));
                s.extend(g.shape(k, 3));
            } else {
                s.push(g.range(1, 3));
                for _ in 0..k {
                    s.push(g.range(1, 2) * bs);
                }
            }
            let x = g.tensor(&s, 4.0, false);
            let attrs =
                [("mode", g.pick(&["blocks_first", "depth_first"]).to_string()), ("block_size", bs.to_string())];
            compare_op(if to_space { "DepthToSpace" } else { "SpaceToDepth" }, "opset1", &attrs, &[x], 1)
        }
        5 => {
            let k = g.range(1, 2);
            let out_rank = rank as i64 + k as i64;
            let mut axes: Vec<i64> = Vec::new();
            while axes.len() < k {
                let a = g.range(0, out_rank as usize - 1) as i64;
                if !axes.contains(&a) {
                    axes.push(a);
                }
            }
            let axes: Vec<i64> = axes.into_iter().map(|a| if g.chance(0.3) { a - out_rank } else { a }).collect();
            compare_op("Unsqueeze", "opset1", &[], &[x, i64s(vec![k], axes)], 1)
        }
        _ => {
            let axis = g.range(0, rank - 1);
            let idx: Vec<i64> = (0..3).map(|_| g.range(0, shape[axis] - 1) as i64).collect();
            let a = i64s(vec![], vec![axis as i64]);
            compare_op("Gather", "opset7", &[("batch_dims", "0".into())], &[x, i64s(vec![3], idx), a], 1)
        }
    }
}

fn case_reductions(seed: u64) -> bool {
    let mut g = Gen::new(seed);
    let rank = g.range(1, 4);
    let shape = g.shape(rank, 6);
    let specials = g.chance(0.3);
    let x = g.tensor(&shape, 6.0, specials);
    let r = rank as i64;
    match g.range(0, 3) {
        0 => {
            let axis = g.range(0, rank - 1) as i64 - if g.chance(0.5) { r } else { 0 };
            compare_op("SoftMax", "opset8", &[("axis", axis.to_string())], &[x], 1)
        }
        1 => {
            let axes: Vec<i64> = (0..r).filter(|_| g.chance(0.5)).collect();
            let keep = g.chance(0.5);
            let a = i64s(vec![axes.len()], axes);
            let op = g.pick(&["ReduceMean", "ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd"]);
            compare_op(op, "opset1", &[("keep_dims", keep.to_string())], &[x, a], 1)
        }
        2 => {
            let mut axes: Vec<i64> = Vec::new();
            for a in 0..r {
                if g.chance(0.6) {
                    axes.push(if g.chance(0.3) { a - r } else { a });
                }
            }
            let a = i64s(vec![axes.len()], axes);
            let attrs = [
                ("normalize_variance", g.chance(0.7).to_string()),
                ("eps", g.pick(&["1e-09", "0.001", "1.0000000000000001e-05"]).to_string()),
                ("eps_mode", g.pick(&["inside_sqrt", "outside_sqrt"]).to_string()),
            ];
            if g.chance(0.3) {
                let attrs = [
                    ("eps", g.pick(&["1e-10", "0.5", "1e-06"]).to_string()),
                    ("eps_mode", g.pick(&["add", "max"]).to_string()),
                ];
                return compare_op("NormalizeL2", "opset1", &attrs, &[x, a], 1);
            }
            compare_op("MVN", "opset6", &attrs, &[x, a], 1)
        }
        _ => {
            let mut s = vec![g.range(1, 2), g.range(1, 4)];
            let extra = g.range(0, 2);
            s.extend(g.shape(extra, 5));
            let data = g.tensor(&s, 4.0, specials);
            let c = s[1];
            let gamma = g.tensor(&[c], 2.0, false);
            let beta = g.tensor(&[c], 2.0, false);
            let mean = g.tensor(&[c], 2.0, false);
            let var = {
                let v = g.tensor(&[c], 2.0, false);
                let abs: Vec<f32> = v.as_f32().unwrap_or(&[]).iter().map(|x| x.abs()).collect();
                conform_ir::Tensor::from_f32(vec![c], abs).expect("var")
            };
            let eps = g.pick(&["1e-05", "0.001", "1.0000000000000001e-05"]);
            compare_op("BatchNormInference", "opset5", &[("epsilon", eps.into())], &[data, gamma, beta, mean, var], 1)
        }
    }
}

fn case_interpolate(seed: u64) -> bool {
    let mut g = Gen::new(seed);
    let shape = vec![1, g.range(1, 3), g.range(1, 5), g.range(1, 5)];
    let x = g.tensor(&shape, 4.0, false);
    let ctm = g.pick(&["half_pixel", "pytorch_half_pixel", "asymmetric", "tf_half_pixel_for_nn", "align_corners"]);
    let nm = g.pick(&["round_prefer_floor", "round_prefer_ceil", "floor", "ceil", "simple"]);
    let by_scales = g.chance(0.6);
    let mode = g.pick(&["nearest", "nearest", "linear", "linear_onnx", "cubic"]);
    let antialias = mode == "linear" && g.chance(0.5);
    let attrs = vec![
        ("mode", mode.to_string()),
        ("shape_calculation_mode", if by_scales { "scales" } else { "sizes" }.to_string()),
        ("coordinate_transformation_mode", ctm.to_string()),
        ("nearest_mode", nm.to_string()),
        ("antialias", antialias.to_string()),
        ("pads_begin", list(&[0, 0, g.range(0, 1), 0])),
        ("pads_end", list(&[0, 0, 0, g.range(0, 1)])),
        ("cube_coeff", g.pick(&["-0.75", "-0.5"]).to_string()),
    ];
    let second = if by_scales {
        let s: Vec<f32> = (0..2).map(|_| g.pick(&[0.5f32, 0.75, 1.0, 1.5, 2.0, 2.5, 3.0, 8.0])).collect();
        conform_ir::Tensor::from_f32(vec![2], s).expect("scales")
    } else {
        let s: Vec<i64> = (0..2).map(|_| g.range(1, 9) as i64).collect();
        i64s(vec![2], s)
    };
    let axes = i64s(vec![2], vec![2, 3]);
    compare_op("Interpolate", "opset11", &attrs, &[x, second, axes], 1)
}

fn case_lstm(seed: u64) -> bool {
    let mut g = Gen::new(seed);
    if g.chance(0.25) {
        let (b, i, h) = (g.range(1, 3), g.range(1, 5), g.range(1, 6));
        let inputs = [
            g.tensor(&[b, i], 2.0, false),
            g.tensor(&[b, h], 1.0, false),
            g.tensor(&[b, h], 1.0, false),
            g.tensor(&[4 * h, i], 1.0, false),
            g.tensor(&[4 * h, h], 1.0, false),
            g.tensor(&[4 * h], 1.0, false),
        ];
        let clip = if g.chance(0.3) { "0.5" } else { "0" };
        let attrs = [("hidden_size", h.to_string()), ("clip", clip.to_string())];
        return compare_op("LSTMCell", "opset4", &attrs, &inputs, 2);
    }
    let (b, t, i, h) = (g.range(1, 2), g.range(1, 4), g.range(1, 5), g.range(1, 6));
    let dir = g.pick(&["forward", "reverse", "bidirectional"]);
    let d = if dir == "bidirectional" { 2 } else { 1 };
    let lens: Vec<i64> = (0..b).map(|_| if g.chance(0.6) { t as i64 } else { g.range(0, t) as i64 }).collect();
    let clip = if g.chance(0.3) { "0.5" } else { "0" };
    let inputs = [
        g.tensor(&[b, t, i], 2.0, false),
        g.tensor(&[b, d, h], 1.0, false),
        g.tensor(&[b, d, h], 1.0, false),
        i64s(vec![b], lens),
        g.tensor(&[d, 4 * h, i], 1.0, false),
        g.tensor(&[d, 4 * h, h], 1.0, false),
        g.tensor(&[d, 4 * h], 1.0, false),
    ];
    let attrs = [
        ("direction", dir.to_string()),
        ("hidden_size", h.to_string()),
        ("activations", "sigmoid, tanh, tanh".to_string()),
        ("activations_alpha", String::new()),
        ("activations_beta", String::new()),
        ("clip", clip.to_string()),
    ];
    compare_op("LSTMSequence", "opset5", &attrs, &inputs, 3)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(100))]

    #[test]
    fn movement_matches(seed in any::<u64>()) {
        case_movement(seed);
    }

    #[test]
    fn more_movement_matches(seed in any::<u64>()) {
        case_more_movement(seed);
    }

    #[test]
    fn reductions_match(seed in any::<u64>()) {
        case_reductions(seed);
    }

    #[test]
    fn interpolate_matches(seed in any::<u64>()) {
        case_interpolate(seed);
    }

    #[test]
    fn lstm_matches(seed in any::<u64>()) {
        case_lstm(seed);
    }
}

/// The generators must mostly produce configurations both engines accept.
#[test]
fn most_generated_cases_compute() {
    for (name, f) in [
        ("movement", case_movement as fn(u64) -> bool),
        ("more movement", case_more_movement),
        ("strided slice", case_strided_slice),
        ("reductions", case_reductions),
        ("interpolate", case_interpolate),
        ("lstm", case_lstm),
    ] {
        let ok = (0..100u64).filter(|&s| f(s)).count();
        assert!(ok >= 60, "{name}: only {ok} of 100 cases computed");
    }
}

/// Hand-derived: Pad reflect of [1,2,3] by (2, 1) is [3,2,1,2,3,2]; symmetric is [2,1,1,2,3,3].
#[test]
fn hand_computed_pads() {
    use optimized::fallback::eval_node;
    let x = conform_ir::Tensor::from_f32(vec![3], vec![1.0, 2.0, 3.0]).expect("x");
    let (pb, pe) = (i64s(vec![1], vec![2]), i64s(vec![1], vec![1]));
    for (mode, want) in [("reflect", [3.0f32, 2.0, 1.0, 2.0, 3.0, 2.0]), ("symmetric", [2.0, 1.0, 1.0, 2.0, 3.0, 3.0])]
    {
        let attrs = [("pad_mode", mode.to_string())];
        let (m, k) = fallback_common::single_op("Pad", "opset1", &attrs, &[&x, &pb, &pe], 1);
        let y = eval_node(&m, k, &[&x, &pb, &pe]).expect("pad");
        assert_eq!(y[0].as_f32().expect("f32"), &want, "{mode}");
    }
}
