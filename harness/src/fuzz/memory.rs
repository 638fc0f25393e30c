//! (d) The `memory` oracle: quantized weight data, as stored in the IR's `.bin` and as held
//! resident by the optimized plan, against its fp32 size.
//!
//! Issue 6: "weight data, stored and resident, ≤ 0.26 of its fp32 size for 8-bit (quantization
//! parameters reported beside it)". The limit generalizes as `bits / 32 + 0.01` where `bits` is
//! the storage a weight's level count needs (8 up to 256 levels, 16 up to 65536): 0.26 for 8-bit,
//! 0.51 for 16-bit. The 0.01 leaves room for rounding of odd element counts only; scales, zero
//! points and ranges are never counted in the ratio, they are reported beside it.
//!
//! - Stored: [`conform_ir::forms::analyze`] (the numbers `conform inspect` prints) over every
//!   quantized weight subgraph (expanded, compressed-fq, compressed-dq). Only asked of models that
//!   claim compressed storage: a case the generator built compressed, or a corpus model whose form
//!   is `compressed-*`; an expanded model stores fp32 by definition (`conform compress` makes it
//!   compressed).
//! - Resident: [`optimized::Plan::resident_weight_data`]: the bytes of the packed weight arrays of
//!   the plan's INT8 blocks per packed slot (packing padding is a slot too, reported beside; it
//!   would otherwise dominate the small generated shapes), against 4 bytes per slot.
//!
//! One function, [`check`], serves `conform fuzz` (oracle (d)) and `conform check`.

use crate::check::result::{CheckResult, Status};
use conform_ir::forms::{self, WeightForm};
use conform_ir::Model;

/// The check's name (CONTRACT.md style, like `vs-reference-int8`).
pub const CHECK: &str = "memory";

/// The classification of a resident-part failure on an ISA variant listed in [`KNOWN`]: still
/// FAILED and printed, but not a new (confirmed) finding, so it does not stop a campaign.
pub const KNOWN_FINDING: &str = "known-finding";

/// Open findings of this oracle, by ISA variant, each with its test in
/// `harness/tests/fuzz_findings.rs` (ignored until fixed). Remove the entry with the fix.
pub const KNOWN: &[(&str, &str)] = &[];

/// The ratio limit of weight data stored in `bits` bits per element: `bits / 32 + 0.01`.
pub fn limit(bits: u32) -> f64 {
    bits as f64 / 32.0 + 0.01
}

/// Storage bits a quantized weight with `levels` levels needs: 8 up to 256 levels, else 16.
pub fn bits_for_levels(levels: u64) -> u32 {
    if levels <= 256 {
        8
    } else {
        16
    }
}

/// Weight bytes of a model's quantized weight subgraphs, as stored.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stored {
    /// Quantized weight subgraphs counted.
    pub slots: usize,
    /// Weight data bytes as stored.
    pub stored_bytes: u64,
    /// Weight elements × 4.
    pub fp32_bytes: u64,
    /// The allowed stored bytes: Σ per subgraph `limit(bits) × fp32 bytes`.
    pub allowed_bytes: f64,
    /// Scales, zero points and ranges of the whole model (reported, not counted).
    pub quant_param_bytes: u64,
}

impl Stored {
    /// `stored / fp32`.
    pub fn ratio(&self) -> f64 {
        if self.fp32_bytes == 0 {
            0.0
        } else {
            self.stored_bytes as f64 / self.fp32_bytes as f64
        }
    }
}

/// The level count of a weight subgraph: its FakeQuantize's `levels`, or for a
/// Convert → [Subtract] → Multiply subgraph `2^bits` of the stored integer type.
fn levels_of(model: &Model, slot: &forms::WeightSlot) -> u64 {
    if let Some(fq) = slot.fake_quantize.and_then(|i| model.nodes().get(i)) {
        if let Ok(l) = fq.attr_u64("levels") {
            return l;
        }
    }
    let bits = slot.element_type.bits().min(32);
    1u64 << bits
}

/// The stored weight bytes of every quantized weight subgraph of `model`.
pub fn stored(model: &Model) -> Stored {
    let summary = forms::analyze(model);
    let mut s = Stored { quant_param_bytes: summary.quant_param_bytes, ..Stored::default() };
    let mut seen = std::collections::BTreeSet::new();
    for op in &summary.ops {
        for slot in &op.slots {
            if slot.form == WeightForm::None || !seen.insert(slot.data_const) {
                continue;
            }
            let fp32 = slot.elements * 4;
            s.slots += 1;
            s.stored_bytes += slot.stored_bytes;
            s.fp32_bytes += fp32;
            s.allowed_bytes += limit(bits_for_levels(levels_of(model, slot))) * fp32 as f64;
        }
    }
    s
}

/// Resident weight data of a compiled plan (see [`optimized::Plan::resident_weight_data`]).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Resident {
    /// Bytes of the packed weight arrays.
    pub bytes: u64,
    /// Packed slots (weights and packing padding).
    pub slots: u64,
    /// Packing padding slots among them (reported beside).
    pub padding: u64,
    /// Per-channel parameters held beside (reported, not counted).
    pub param_bytes: u64,
}

impl Resident {
    /// Of a plan compiled from `model`: padding is the slots beyond the weight elements of the
    /// ops the plan runs in INT8.
    pub fn of(plan: &optimized::Plan, model: &Model) -> Resident {
        let r = plan.resident_weight_data();
        let int8 = |node: usize| plan.report().get(node).is_some_and(|n| n.precision == optimized::Precision::Int8);
        let weights: u64 = forms::analyze(model)
            .ops
            .iter()
            .filter(|op| int8(op.node))
            .flat_map(|op| op.slots.iter().map(|s| s.elements))
            .sum();
        Resident {
            bytes: r.bytes as u64,
            slots: r.slots as u64,
            padding: (r.slots as u64).saturating_sub(weights),
            param_bytes: r.param_bytes as u64,
        }
    }

    /// `bytes / (4 × slots)`.
    pub fn ratio(&self) -> f64 {
        if self.slots == 0 {
            0.0
        } else {
            self.bytes as f64 / (4 * self.slots) as f64
        }
    }
}

/// What the caller expects of a model: compressed storage (stored part checked) or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storage {
    /// Weights stored quantized (compressed-fq / compressed-dq): held to the limit.
    Compressed,
    /// Weights stored in fp32 (expanded): the stored part is reported only.
    Expanded,
}

impl Storage {
    /// What a model's own form claims.
    pub fn of_model(model: &Model) -> Storage {
        match forms::analyze(model).form() {
            WeightForm::CompressedFq | WeightForm::CompressedDq => Storage::Compressed,
            _ => Storage::Expanded,
        }
    }
}

/// Runs the oracle: the stored part (when `storage` is compressed) and the resident part of every
/// plan given (`(engine name, resident data)`), 8-bit resident limit [`limit`]`(8)`.
///
/// SKIPPED when the model has no quantized weights; FAILED naming the part, the ratio and the
/// limit; the detail always reports the quantization-parameter bytes beside the ratios.
pub fn check(model: &Model, storage: Storage, plans: &[(String, Resident)]) -> CheckResult {
    let s = stored(model);
    // The engines whose plans are measured; the IR alone when none is.
    let mut engines: Vec<String> = plans.iter().map(|(n, _)| n.clone()).collect();
    if engines.is_empty() {
        engines.push("ir".into());
    }
    if s.slots == 0 {
        return CheckResult::skipped(CHECK, engines, "no quantized weights");
    }
    let mut failures = Vec::new();
    let mut known = Vec::new();
    let mut parts = Vec::new();
    let stored_line = format!(
        "stored {} of {} fp32 bytes = {:.4} (limit {:.4}; quantization parameters {} bytes beside)",
        s.stored_bytes,
        s.fp32_bytes,
        s.ratio(),
        s.allowed_bytes / s.fp32_bytes.max(1) as f64,
        s.quant_param_bytes
    );
    match storage {
        Storage::Compressed if s.stored_bytes as f64 > s.allowed_bytes => failures.push(stored_line),
        Storage::Compressed => parts.push(stored_line),
        Storage::Expanded => parts.push(format!("{stored_line}, not held: expanded form")),
    }
    for (name, r) in plans {
        if r.slots == 0 {
            continue;
        }
        let line = format!(
            "{name}: resident {} bytes over {} packed slots ({} padding) = {:.4} of fp32 (limit {:.4}; per-channel parameters {} bytes beside)",
            r.bytes,
            r.slots,
            r.padding,
            r.ratio(),
            limit(8),
            r.param_bytes
        );
        let isa = name.strip_prefix("optimized:").unwrap_or(name);
        if r.ratio() > limit(8) {
            match KNOWN.iter().find(|(k, _)| *k == isa) {
                Some((_, why)) => known.push(format!("{line} [known: {why}]")),
                None => failures.push(line),
            }
        } else {
            parts.push(line);
        }
    }
    if failures.is_empty() && known.is_empty() {
        return CheckResult::new(CHECK, engines, Status::Passed, parts.join("; "));
    }
    let class = if failures.is_empty() { KNOWN_FINDING } else { "bug" };
    failures.extend(known);
    let mut r = CheckResult::new(CHECK, engines, Status::Failed, format!("over the limit: {}", failures.join("; ")));
    r.classification = Some(class.into());
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_8_bit_limit_is_the_issues_0_26() {
        assert_eq!(limit(8), 0.26);
        assert_eq!(bits_for_levels(255), 8);
        assert_eq!(bits_for_levels(256), 8);
        assert_eq!(bits_for_levels(2), 8);
        assert_eq!(bits_for_levels(65536), 16);
    }

    #[test]
    fn resident_ratio_is_bytes_per_four_byte_slot() {
        // i8 packing: one byte per slot = 0.25; i16 packing (two bytes per slot) = 0.5.
        let i8p = Resident { bytes: 64, slots: 64, padding: 60, param_bytes: 48 };
        assert_eq!(i8p.ratio(), 0.25);
        let i16p = Resident { bytes: 128, slots: 64, padding: 60, param_bytes: 48 };
        assert_eq!(i16p.ratio(), 0.5);
    }
}
