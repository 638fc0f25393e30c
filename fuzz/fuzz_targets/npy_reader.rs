//! Fuzzes the `.npy` reader: any bytes give a tensor or a typed error. A tensor that reads is
//! written back and must read again to the same tensor (bitwise, through the written bytes).

#![no_main]

use conform_ir::npy::{npy_bytes, read_npy_bytes};
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Ok(t) = read_npy_bytes(data, Path::new("fuzz.npy")) else { return };
    let written = match npy_bytes(&t) {
        Ok(b) => b,
        Err(e) => panic!("a tensor that read does not write: {e}"),
    };
    let back = match read_npy_bytes(&written, Path::new("rewritten.npy")) {
        Ok(b) => b,
        Err(e) => panic!("a written .npy does not read back: {e}"),
    };
    // Compare through the bytes: NaN payloads must survive, and NaN != NaN as a value.
    assert_eq!(npy_bytes(&back).ok(), Some(written), "read -> write -> read changed the tensor");
    assert_eq!(t.shape, back.shape);
    assert_eq!(t.element_type, back.element_type);
});
