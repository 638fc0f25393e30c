//! Fuzzes the reference interpreter on small models that read: with a memory limit, a run must
//! return outputs or a typed error, never panic or exhaust memory.
//!
//! Input layout as in `ir_reader`. Each parameter with a static shape of at most 4,096 elements
//! gets an f32 input filled from a small deterministic sequence; models with a dynamic or larger
//! parameter, or more than 64 layers, are skipped (the reader target covers them).

#![no_main]

use conform_ir::Tensor;
use libfuzzer_sys::fuzz_target;
use reference::interp::{run, RunOptions};
use std::path::Path;

fn split(data: &[u8]) -> (&[u8], &[u8]) {
    let Some((head, rest)) = data.split_first_chunk::<4>() else { return (data, &[]) };
    let n = (u32::from_le_bytes(*head) as usize).min(rest.len());
    rest.split_at(n)
}

/// The memory limit of one run: small, so that a model whose tensors would be large is refused.
const MAX_MEMORY: u64 = 64 << 20;

fuzz_target!(|data: &[u8]| {
    let (xml, bin) = split(data);
    let Ok(model) = conform_ir::read_model_from_bytes(xml, bin.to_vec(), Path::new("fuzz.xml")) else { return };
    if model.nodes().len() > 64 {
        return;
    }
    let mut inputs = Vec::new();
    for p in model.parameters() {
        let Some(dims) = model.node(p).outputs.first().and_then(|port| port.shape.to_static()) else { return };
        let Some(n) = conform_ir::element_count(&dims).filter(|&n| n <= 4096) else { return };
        let values: Vec<f32> = (0..n).map(|k| ((k * 37 % 17) as f32 - 8.0) * 0.25).collect();
        let Ok(t) = Tensor::from_f32(dims, values) else { return };
        inputs.push(t);
    }
    let opts = RunOptions { max_memory: Some(MAX_MEMORY), ..RunOptions::default() };
    let _ = run(&model, &inputs, &opts);
});
