//! Helpers shared by the fallback tests: bit-exact tensor comparison and tiny model builders.
#![allow(dead_code)]

use conform_ir::{Tensor, TensorData};

/// Panics with the first differing element unless `got` and `want` have the same element type,
/// shape and bit patterns.
pub fn assert_same_bits(got: &Tensor, want: &Tensor, what: &str) {
    assert_eq!(got.element_type, want.element_type, "{what}: element type");
    assert_eq!(got.shape, want.shape, "{what}: shape");
    match (&got.data, &want.data) {
        (TensorData::F32(g), TensorData::F32(w)) => {
            if let Some(i) = (0..g.len()).find(|&i| g[i].to_bits() != w[i].to_bits()) {
                panic!(
                    "{what}: element {i} of {}: got {:e} ({:#010x}), reference {:e} ({:#010x})",
                    g.len(),
                    g[i],
                    g[i].to_bits(),
                    w[i],
                    w[i].to_bits()
                );
            }
        }
        (g, w) => assert_eq!(g, w, "{what}: data"),
    }
}
