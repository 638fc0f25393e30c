//! After compiling a plan and dropping the IR model and its weights blob, the live heap is the
//! packed int8 weights plus per-channel parameters plus packing padding, within a few percent: no
//! fp32 copy of quantized weights survives compilation. A counting global allocator (this test
//! binary only) measures live bytes.

use conform_ir::{ElementType, Tensor};
use optimized::modelgen::{Builder, Rng};
use optimized::{compile, PlanOptions};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: forwards to the system allocator unchanged and only counts sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.alloc(l) };
        if !p.is_null() {
            LIVE.fetch_add(l.size() as isize, Ordering::SeqCst);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(p, l) };
        LIVE.fetch_sub(l.size() as isize, Ordering::SeqCst);
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let q = unsafe { System.realloc(p, l, new) };
        if !q.is_null() {
            LIVE.fetch_add(new as isize - l.size() as isize, Ordering::SeqCst);
        }
        q
    }
}

#[global_allocator]
static A: Counting = Counting;

#[test]
fn plan_keeps_only_int8_weights_and_per_channel_parameters() {
    // Every variant this CPU runs: each ISA packs its own layout, and all must stay 8-bit.
    let isas = optimized::isa::detected().expect("ISA detection");
    assert!(!isas.is_empty());
    for isa in isas {
        check_isa(isa.name());
    }
}

fn check_isa(isa: &str) {
    // Conv 3x3, C = K = 256 (no channel padding at any ISA's block size), expanded f32 weights
    // with per-channel FakeQuantize levels 255: the IR holds 4 bytes per weight.
    let (k, c, kh, kw) = (256usize, 256usize, 3usize, 3usize);
    let n_w = k * c * kh * kw;
    let before = LIVE.load(Ordering::SeqCst);
    let model = {
        let mut rng = Rng::new(7);
        let mut b = Builder::new();
        let x = b.param(&[1, c, 8, 8]);
        let f = b.fq(x, &[1, c, 8, 8], 256, [0.0, 2.55, 0.0, 2.55]);
        let w: Vec<f32> = (0..n_w).map(|_| rng.normal(0.05)).collect();
        let bytes: Vec<u8> = w.iter().flat_map(|v| v.to_le_bytes()).collect();
        let wc = b.constant(ElementType::F32, &[k, c, kh, kw], &bytes);
        let lo: Vec<f32> = (0..k).map(|o| -0.2 - o as f32 * 1e-4).collect();
        let hi: Vec<f32> = lo.iter().map(|v| -v).collect();
        let (il, ih) = (b.const_f32(&[k, 1, 1, 1], &lo), b.const_f32(&[k, 1, 1, 1], &hi));
        let (ol, oh) = (b.const_f32(&[k, 1, 1, 1], &lo), b.const_f32(&[k, 1, 1, 1], &hi));
        let wf = b.op(
            "FakeQuantize",
            &[("levels", "255".into()), ("auto_broadcast", "numpy".into())],
            &[(wc, 0), (il, 0), (ih, 0), (ol, 0), (oh, 0)],
            &[vec![k, c, kh, kw]],
        );
        let attrs = [
            ("strides", "1,1".to_string()),
            ("dilations", "1,1".to_string()),
            ("pads_begin", "1,1".to_string()),
            ("pads_end", "1,1".to_string()),
            ("auto_pad", "explicit".to_string()),
        ];
        let cv = b.op("Convolution", &attrs, &[(f, 0), (wf, 0)], &[vec![1, k, 8, 8]]);
        b.result(cv);
        b.finish("mem").expect("valid model")
    };
    let with_model = LIVE.load(Ordering::SeqCst) - before;
    assert!(with_model as usize >= 4 * n_w, "the IR should hold f32 weights: {with_model}");
    let opts = PlanOptions { isa: Some(isa.to_string()), threads: Some(1), ..PlanOptions::default() };
    let plan = compile(&model, &opts).expect("compiles");
    drop(model);
    let live = (LIVE.load(Ordering::SeqCst) - before) as usize;
    // Expected: one i8 per weight (C and K are multiples of every ISA's packing block, so no
    // padding) + per output channel: scale M, the zero-point compensation and Σq_w (3 × 4 bytes).
    let expected = n_w + 3 * 4 * k;
    eprintln!(
        "{isa}: live after drop: {live} bytes; int8 weights + per-channel parameters: {expected}; resident_weight_bytes: {}",
        plan.resident_weight_bytes()
    );
    assert!(live >= n_w, "{isa}: fewer live bytes than the int8 weights: {live}");
    assert!(
        (live as f64) <= expected as f64 * 1.05,
        "{isa}: live {live} exceeds int8 weights + parameters {expected} by more than 5%"
    );
    assert_eq!(plan.resident_weight_bytes(), expected, "{isa}");
    // Still runs after the IR is gone.
    let x = Tensor::from_f32(vec![1, c, 8, 8], vec![0.5; c * 64]).expect("shape");
    let out = plan.run(&[x]).expect("runs");
    assert_eq!(out.outputs[0].shape, vec![1, k, 8, 8]);
    drop(out);
    drop(plan);
}
