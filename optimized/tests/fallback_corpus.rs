//! The FP32 fallback kernels against the reference, node by node, over every corpus model: each
//! node is fed the reference's FP32 values of its inputs and must reproduce the reference's FP32
//! outputs bit for bit (FP32.md is the shared contract; the reference is independent code).

mod fallback_common;

use conform_ir::npy::read_npy;
use conform_ir::read_model;
use fallback_common::assert_same_bits;
use optimized::fallback::eval_node;
use reference::{run, Mode, RefError, RunOptions};
use std::path::PathBuf;

fn corpus_dirs() -> Vec<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../corpus");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("corpus directory")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("model.xml").is_file())
        .collect();
    dirs.sort();
    dirs
}

/// Runs one model through the reference (FP32, all values kept) and every non-I/O node through the
/// fallback kernels. Returns (nodes compared, op types seen), or a skip message when the reference
/// itself cannot run the model yet.
fn check_model(dir: &std::path::Path) -> Result<(usize, Vec<String>), String> {
    let model = read_model(&dir.join("model.xml")).map_err(|e| format!("read: {e}"))?;
    let inputs: Vec<_> = (0..model.parameters().len())
        .map(|i| read_npy(&dir.join(format!("input_{i}.npy"))).map_err(|e| format!("input {i}: {e}")))
        .collect::<Result<_, _>>()?;
    let opts = RunOptions { mode: Mode::Fp32, keep_values: true, ..RunOptions::default() };
    let out = match run(&model, &inputs, &opts) {
        Ok(o) => o,
        Err(e @ RefError::UnsupportedOp { .. }) => return Err(format!("SKIP (reference incomplete): {e}")),
        Err(e) => panic!("{}: the reference failed: {e}", dir.display()),
    };
    let values = out.values.expect("keep_values");
    let mut compared = 0;
    let mut ops = Vec::new();
    for &i in model.topo_order() {
        let node = model.node(i);
        if node.is_parameter() || node.is_const() || node.is_result() {
            continue;
        }
        let ins: Vec<_> =
            model.sources_of(i).iter().map(|&(s, o)| values[s][o].as_ref().expect("kept value")).collect();
        let got = eval_node(&model, i, &ins).unwrap_or_else(|e| panic!("{}: fallback failed on {e}", dir.display()));
        for (o, t) in got.iter().enumerate() {
            let want = values[i][o].as_ref().expect("kept output");
            assert_same_bits(t, want, &format!("{}: {} output {o}", dir.display(), node.layer_ref()));
        }
        compared += 1;
        if !ops.contains(&node.op_type) {
            ops.push(node.op_type.clone());
        }
    }
    Ok((compared, ops))
}

#[test]
fn every_corpus_node_matches_the_reference_bit_for_bit() {
    let only = std::env::var("FALLBACK_CORPUS_ONLY").ok();
    let mut total = 0;
    let mut models = 0;
    let mut ops_seen: Vec<String> = Vec::new();
    for dir in corpus_dirs() {
        let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if only.as_deref().is_some_and(|o| !name.contains(o)) {
            continue;
        }
        match check_model(&dir) {
            Ok((n, ops)) => {
                eprintln!("{name}: {n} nodes bit-identical");
                total += n;
                models += 1;
                for op in ops {
                    if !ops_seen.contains(&op) {
                        ops_seen.push(op);
                    }
                }
            }
            Err(msg) => eprintln!("{name}: {msg}"),
        }
    }
    ops_seen.sort();
    eprintln!("{models} models, {total} nodes; op types: {}", ops_seen.join(", "));
    if only.is_none() {
        assert!(models >= 40, "only {models} corpus models could be compared");
    }
    assert!(total > 0, "no node was compared");
}

/// Runs a whole model through the fallback kernels only (every node, FakeQuantize included, fed
/// the fallback's own values), returning the Result tensors in [`conform_ir::Model::results`] order.
fn run_fallback_only(model: &conform_ir::Model, inputs: &[conform_ir::Tensor]) -> Vec<conform_ir::Tensor> {
    let n = model.nodes().len();
    let mut values: Vec<Vec<Option<conform_ir::Tensor>>> =
        (0..n).map(|i| vec![None; model.node(i).outputs.len()]).collect();
    let params = model.parameters();
    for &i in model.topo_order() {
        let node = model.node(i);
        let outs = if node.is_parameter() {
            let k = params.iter().position(|&p| p == i).expect("parameter");
            vec![inputs[k].clone()]
        } else if node.is_const() {
            vec![model.const_tensor(i).expect("constant")]
        } else if node.is_result() {
            continue;
        } else {
            let ins: Vec<_> = model.sources_of(i).iter().map(|&(s, o)| values[s][o].as_ref().expect("input")).collect();
            eval_node(model, i, &ins).unwrap_or_else(|e| panic!("{e}"))
        };
        for (o, t) in outs.into_iter().enumerate() {
            if o < values[i].len() {
                values[i][o] = Some(t);
            }
        }
    }
    model
        .results()
        .into_iter()
        .map(|r| {
            let (s, o) = model.source_of(r, 0);
            values[s][o].clone().expect("result")
        })
        .collect()
}

/// End to end, the fallback kernels alone reproduce the reference's FP32 outputs bit for bit (what
/// the optimized engine relies on for every node outside INT8 blocks). Also reports, without
/// asserting, how many output elements equal OpenVINO's own FP32 reference outputs
/// (`fallback_f32_*.npy`) exactly.
#[test]
fn whole_models_through_the_fallback_match_the_reference() {
    let mut models = 0;
    for dir in corpus_dirs() {
        let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let model = read_model(&dir.join("model.xml")).expect("model");
        let inputs: Vec<_> = (0..model.parameters().len())
            .map(|i| read_npy(&dir.join(format!("input_{i}.npy"))).expect("input"))
            .collect();
        let opts = RunOptions { mode: Mode::Fp32, ..RunOptions::default() };
        let want = match run(&model, &inputs, &opts) {
            Ok(o) => o.outputs,
            Err(e @ RefError::UnsupportedOp { .. }) => {
                eprintln!("{name}: SKIP (reference incomplete): {e}");
                continue;
            }
            Err(e) => panic!("{name}: the reference failed: {e}"),
        };
        let got = run_fallback_only(&model, &inputs);
        assert_eq!(got.len(), want.len(), "{name}: result count");
        let mut ov_exact = (0usize, 0usize);
        for (k, (g, w)) in got.iter().zip(&want).enumerate() {
            assert_same_bits(g, w, &format!("{name}: result {k}"));
            if let (Ok(ov), Some(gv)) = (read_npy(&dir.join(format!("fallback_f32_{k}.npy"))), g.as_f32()) {
                let ovv = ov.to_f32_vec();
                if ovv.len() == gv.len() {
                    ov_exact.0 += gv.iter().zip(&ovv).filter(|(a, b)| a.to_bits() == b.to_bits()).count();
                    ov_exact.1 += gv.len();
                }
            }
        }
        eprintln!(
            "{name}: bit-identical to the reference; {} of {} elements equal OpenVINO's FP32 output",
            ov_exact.0, ov_exact.1
        );
        models += 1;
    }
    assert!(models >= 40, "only {models} models compared");
}

/// Timing, not a check (run with `--release -- --ignored --nocapture`): per corpus model, the
/// median of 5 whole-model runs through the fallback kernels alone versus the reference's FP32
/// interpreter, with the rayon pool's default thread count.
#[test]
#[ignore]
fn fallback_speed_against_the_reference() {
    use std::time::Instant;
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    for dir in corpus_dirs() {
        let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if !(name.contains("ppocrv4") || name.contains("mp_face") || name.contains("silero") || name.contains("gconv"))
        {
            continue;
        }
        let model = read_model(&dir.join("model.xml")).expect("model");
        let inputs: Vec<_> = (0..model.parameters().len())
            .map(|i| read_npy(&dir.join(format!("input_{i}.npy"))).expect("input"))
            .collect();
        let opts = RunOptions { mode: Mode::Fp32, ..RunOptions::default() };
        let mut tf = Vec::new();
        let mut tr = Vec::new();
        for _ in 0..5 {
            let t = Instant::now();
            std::hint::black_box(run_fallback_only(&model, &inputs));
            tf.push(t.elapsed().as_secs_f64() * 1e3);
            let t = Instant::now();
            std::hint::black_box(run(&model, &inputs, &opts).expect("reference"));
            tr.push(t.elapsed().as_secs_f64() * 1e3);
        }
        let (f, r) = (median(tf), median(tr));
        eprintln!("{name}: fallback {f:.2} ms, reference {r:.2} ms ({:.1}x)", r / f);
    }
}
