//! Thread safety of compiled plans (issue 8, item 5): a [`Plan`] is `Send + Sync`, and many
//! threads running one plan at the same time, on different inputs, get exactly the outputs a
//! single-threaded run of the same input gives (bit for bit).
//!
//! The models are two small INT8 corpus models (a Convolution block and a MatMul + ReLU block),
//! so the test stays fast in debug builds. The baseline is the same plan run from one thread,
//! one input after another, before any concurrency: any shared mutable state in the plan (scratch
//! buffers, packed weights, the worker pool) that leaks between concurrent runs shows up as a
//! difference.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use conform_ir::{npy, reader, Tensor, TensorData};
use optimized::{compile, Plan, PlanOptions, ZeroPointPolicy};
use std::path::Path;
use std::sync::Barrier;

/// Compile-time check: the plan can be shared between threads (`&Plan` sent to each).
const _: fn() = || {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Plan>();
};

const THREADS: usize = 8;
const RUNS_PER_THREAD: usize = 4;

/// `input_0.npy` of a corpus model, scaled and shifted per variant `k` so each thread also runs
/// inputs the others do not (variant 0 is the corpus input itself).
fn inputs(dir: &Path, variants: usize) -> Vec<Vec<Tensor>> {
    let base = npy::read_npy(&dir.join("input_0.npy")).unwrap();
    let TensorData::F32(x) = &base.data else { panic!("{}: f32 input expected", dir.display()) };
    (0..variants)
        .map(|k| {
            let scale = 1.0 + 0.37 * k as f32;
            let shift = 0.05 * k as f32 - 0.1;
            let data = x.iter().enumerate().map(|(i, v)| v * scale + if i % 3 == 0 { shift } else { 0.0 }).collect();
            vec![Tensor::from_f32(base.shape.clone(), data).unwrap()]
        })
        .collect()
}

/// Bitwise equality of two output lists.
fn same_bits(a: &[Tensor], b: &[Tensor]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| {
            x.shape == y.shape
                && match (&x.data, &y.data) {
                    (TensorData::F32(u), TensorData::F32(v)) => {
                        u.len() == v.len() && u.iter().zip(v).all(|(p, q)| p.to_bits() == q.to_bits())
                    }
                    _ => x == y,
                }
        })
}

fn check(model_dir: &str, plan_threads: usize) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpus").join(model_dir);
    let model = reader::read_model(&dir.join("model.xml")).unwrap();
    let opts = PlanOptions { isa: None, zero_point: ZeroPointPolicy::Exact, threads: Some(plan_threads) };
    let plan = compile(&model, &opts).unwrap();
    let ins = inputs(&dir, THREADS);

    // Baseline: one thread, one input after another.
    let expected: Vec<Vec<Tensor>> = ins.iter().map(|i| plan.run(i).unwrap().outputs).collect();
    // The variants differ, so a run that returned another thread's result would be caught.
    for k in 1..THREADS {
        assert!(!same_bits(&expected[0], &expected[k]), "{model_dir}: input variants {k} and 0 give the same output");
    }

    // All threads start together and each runs several inputs, its own first.
    let barrier = Barrier::new(THREADS);
    let mismatches: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let (plan, ins, expected, barrier) = (&plan, &ins, &expected, &barrier);
                s.spawn(move || {
                    barrier.wait();
                    let mut bad = Vec::new();
                    for r in 0..RUNS_PER_THREAD {
                        let k = (t + r * 3) % THREADS;
                        match plan.run(&ins[k]) {
                            Ok(out) if same_bits(&out.outputs, &expected[k]) => {}
                            Ok(_) => bad.push(format!("thread {t} run {r} input {k}: output differs")),
                            Err(e) => bad.push(format!("thread {t} run {r} input {k}: {e}")),
                        }
                    }
                    bad
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    assert!(mismatches.is_empty(), "{model_dir} (plan threads {plan_threads}): {mismatches:#?}");
}

#[test]
fn conv_plan_runs_concurrently_bit_identical() {
    check("conv_valid_rect__compressed", 1);
}

#[test]
fn matmul_plan_with_its_own_worker_pool_runs_concurrently_bit_identical() {
    // Two workers in the plan's pool, entered by eight callers at once.
    check("matmul_fc_relu__compressed", 2);
}
