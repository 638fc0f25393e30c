//! Inputs generated from a seed for IR files checked without inputs: deterministic, uniform in
//! [-1, 1) for float parameters with static shapes.

use conform_ir::{ElementType, Model, Tensor, TensorData};

/// SplitMix64: a small, well-known generator (Steele, Lea, Flood 2014), enough for test data.
fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// One tensor per parameter, or why the inputs cannot be generated.
pub fn generate(model: &Model, seed: u64, max_elements: usize) -> Result<Vec<Tensor>, String> {
    let mut out = Vec::new();
    for (k, p) in model.parameters().into_iter().enumerate() {
        let nd = model.node(p);
        let shape =
            nd.outputs.first().and_then(|port| port.shape.to_static()).ok_or_else(|| {
                format!("parameter \"{}\" has a dynamic shape: give inputs in a case folder", nd.name)
            })?;
        let n = conform_ir::element_count(&shape).unwrap_or(usize::MAX);
        if n > max_elements {
            return Err(format!("parameter \"{}\" has {n} elements, more than {max_elements}", nd.name));
        }
        let et = nd.attr("element_type").and_then(ElementType::from_ir_name).unwrap_or(ElementType::F32);
        if !et.is_float() {
            return Err(format!("parameter \"{}\" is {et}: only float inputs are generated", nd.name));
        }
        let mut state = seed ^ (k as u64).wrapping_mul(0xA24B_AED4_963E_E407);
        // 24 random bits give every f32 step of [0, 1) exactly.
        let data: Vec<f32> =
            (0..n).map(|_| ((splitmix(&mut state) >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0).collect();
        out.push(Tensor { element_type: ElementType::F32, shape, data: TensorData::F32(data) });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix_matches_the_published_sequence() {
        // First outputs of SplitMix64 seeded with 0 (reference implementation, Vigna).
        let mut s = 0u64;
        assert_eq!(splitmix(&mut s), 0xE220_A839_7B1D_CDAF);
        assert_eq!(splitmix(&mut s), 0x6E78_9E6A_A1B9_65F4);
    }
}
