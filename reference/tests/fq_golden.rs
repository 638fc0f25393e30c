//! Every record of `corpus/fakequantize_golden.json` (OpenVINO 2026.4.1's reference answers)
//! matches our FakeQuantize bit for bit; NaN matches NaN.

use reference::fq::fake_quantize_scalar;
use serde_json::Value;

fn bits(v: &Value, key: &str) -> u32 {
    let hex = v[key]["hex"].as_str().unwrap_or_else(|| panic!("record lacks {key}.hex"));
    u32::from_str_radix(hex.trim_start_matches("0x"), 16).expect("hex f32 bits")
}

#[test]
fn every_golden_record_matches_openvino_reference_bit_for_bit() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../corpus/fakequantize_golden.json");
    let records: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(path).expect("golden file")).expect("json");
    assert!(records.len() >= 300, "expected the full golden set, got {}", records.len());
    let mut failures = Vec::new();
    for r in &records {
        let f = |k: &str| f32::from_bits(bits(r, k));
        let levels = r["levels"].as_u64().expect("levels");
        let got =
            fake_quantize_scalar(f("x"), f("input_low"), f("input_high"), f("output_low"), f("output_high"), levels);
        let want = f("fallback");
        let ok = if want.is_nan() { got.is_nan() } else { got.to_bits() == want.to_bits() };
        if !ok {
            failures.push(format!(
                "id {} ({}): got {got:e} ({:#x}), OpenVINO {want:e}",
                r["id"],
                r["category"],
                got.to_bits()
            ));
        }
    }
    assert!(failures.is_empty(), "{} of {} records differ:\n{}", failures.len(), records.len(), failures.join("\n"));
}
