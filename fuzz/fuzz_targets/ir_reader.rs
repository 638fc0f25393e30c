//! Fuzzes the IR reader with an `.xml` and a `.bin` together.
//!
//! Input layout (see `split` and fuzz/README.md): a 4-byte little-endian length `n`, then the
//! `.xml` (the next `n` bytes, fewer if the input is shorter), then the `.bin` (the rest). The
//! reader must return a model or a typed error, never panic, hang or exhaust memory. For a model
//! that reads, every Const is decoded, the weight forms are analysed (what `conform inspect`
//! prints) and shapes are inferred, as the tool does next.

#![no_main]

use conform_ir::shape_infer::{check_declared_shapes, infer_shapes};
use libfuzzer_sys::fuzz_target;
use std::path::Path;

/// Splits the fuzz input into `.xml` and `.bin` bytes.
fn split(data: &[u8]) -> (&[u8], &[u8]) {
    let Some((head, rest)) = data.split_first_chunk::<4>() else { return (data, &[]) };
    let n = (u32::from_le_bytes(*head) as usize).min(rest.len());
    rest.split_at(n)
}

fuzz_target!(|data: &[u8]| {
    let (xml, bin) = split(data);
    let Ok(model) = conform_ir::read_model_from_bytes(xml, bin.to_vec(), Path::new("fuzz.xml")) else { return };
    for i in 0..model.nodes().len() {
        if model.node(i).is_const() {
            // A Const that read has its bytes in range: decoding must succeed.
            if let Err(e) = model.const_tensor(i) {
                panic!("Const {} read but does not decode: {e}", model.node(i).id);
            }
        }
    }
    let _ = conform_ir::forms::analyze(&model);
    if let Ok(shapes) = infer_shapes(&model) {
        let _ = check_declared_shapes(&model, &shapes);
    }
});
