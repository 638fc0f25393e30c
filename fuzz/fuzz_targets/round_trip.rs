//! Fuzzes read -> write -> read: a model that reads must write, the written IR must read back,
//! and the two models must be equal (`model_difference`, which documents the normalisations the
//! writer makes: IR version 11, Const offset/size re-laid, dynamic dims written as -1). Writing
//! the second model again must give the same bytes (the writer is deterministic and stable).
//!
//! Input layout as in `ir_reader`: a 4-byte little-endian `.xml` length, the `.xml`, the `.bin`.

#![no_main]

use conform_ir::writer::model_difference;
use conform_ir::{read_model_from_bytes, write_model_to_bytes};
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fn split(data: &[u8]) -> (&[u8], &[u8]) {
    let Some((head, rest)) = data.split_first_chunk::<4>() else { return (data, &[]) };
    let n = (u32::from_le_bytes(*head) as usize).min(rest.len());
    rest.split_at(n)
}

fuzz_target!(|data: &[u8]| {
    let (xml, bin) = split(data);
    let Ok(a) = read_model_from_bytes(xml, bin.to_vec(), Path::new("fuzz.xml")) else { return };
    let (text, bin2) = match write_model_to_bytes(&a) {
        Ok(w) => w,
        Err(e) => panic!("a model that read does not write: {e}"),
    };
    let b = match read_model_from_bytes(text.as_bytes(), bin2.clone(), Path::new("rewritten.xml")) {
        Ok(b) => b,
        Err(e) => panic!("the written IR does not read back: {e}\n--- written XML ---\n{text}"),
    };
    if let Some(d) = model_difference(&a, &b) {
        panic!("read -> write -> read changed the model: {d}\n--- written XML ---\n{text}");
    }
    match write_model_to_bytes(&b) {
        Ok((text3, bin3)) => {
            assert_eq!(text, text3, "writing the re-read model gives other XML");
            assert_eq!(bin2, bin3, "writing the re-read model gives another .bin");
        }
        Err(e) => panic!("the re-read model does not write: {e}"),
    }
});
