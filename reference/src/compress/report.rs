//! The exactness and memory report of `compress` and `expand` (CONTRACT.md JSON keys), and the
//! per-element comparison it is built from.

use super::quant::ulp_f32;
use serde::Serialize;
use std::fmt;

/// How one rewritten weight tensor compares with what it replaced, and what it costs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TensorReport {
    /// The FakeQuantize's name (kept by the Multiply of the dq form, so stable across forms).
    pub name: String,
    /// The weight Const's name.
    pub weights: String,
    /// The form written: `compressed-fq`, `compressed-dq` or `expanded`.
    pub form: String,
    /// The form read.
    pub from_form: String,
    /// Element type of the weight data written.
    pub element_type: String,
    /// FakeQuantize levels (inferred from the storage type for a dq tensor being expanded).
    pub levels: u64,
    /// Number of weight elements.
    pub elements: u64,
    /// Elements whose value after the rewrite is not bit-identical to the value before (both
    /// computed in f32 as OpenVINO's reference evaluates the two subgraphs).
    pub not_bit_identical: u64,
    /// The largest difference in units of `ulp(R)`, `R = max(|ol|,|oh|)` of the element's channel
    /// (the unit SPEC §2 states its bounds in); 0 when all are identical.
    pub max_ulp: f64,
    /// The largest difference in f32 values between the two (`|Δ bits|` on the ordered line).
    pub max_ulp_steps: u64,
    /// The largest absolute difference.
    pub max_abs: f64,
    /// Weight data bytes written (`ceil(elements·bits/8)`).
    pub stored_bytes: u64,
    /// Bytes of the quantization parameters written (ranges, scale, zero point).
    pub quant_param_bytes: u64,
    /// `elements · 4`.
    pub fp32_equivalent_bytes: u64,
    /// compressed-fq only: how many of the differing elements have a weight above input_high,
    /// where SPEC §2.2 predicts the only differences (`oh` vs `(oh − ol) + ol`, ≤ 1 ulp).
    pub differs_above_input_high: Option<u64>,
    /// How many of the differing elements differ only in the sign of zero (+0 vs −0: equal
    /// values, different bits; e.g. `ol = −0`, where the original's interior gives `0 + (−0) = +0`).
    pub differs_in_sign_of_zero: u64,
    /// What the rewrite did, in words (zero point dropped or fused, grid, fallback choices).
    pub note: String,
}

/// A FakeQuantize (or weight subgraph) left as it was, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refusal {
    /// The layer's name.
    pub name: String,
    /// Why it was not rewritten.
    pub reason: String,
}

/// Sums over the rewritten tensors.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Totals {
    /// Rewritten tensors.
    pub tensors: u64,
    /// Refused FakeQuantize layers.
    pub refused: u64,
    /// Weight subgraphs already in the requested form (or not convertible by this command).
    pub unchanged: u64,
    /// Sum of elements.
    pub elements: u64,
    /// Sum of not bit-identical elements.
    pub not_bit_identical: u64,
    /// Largest `max_ulp` of any tensor.
    pub max_ulp: f64,
    /// Largest `max_ulp_steps` of any tensor.
    pub max_ulp_steps: u64,
    /// Largest `max_abs` of any tensor.
    pub max_abs: f64,
    /// Sum of weight data bytes written.
    pub stored_bytes: u64,
    /// Sum of quantization-parameter bytes written.
    pub quant_param_bytes: u64,
    /// Sum of fp32-equivalent bytes.
    pub fp32_equivalent_bytes: u64,
    /// `stored_bytes / fp32_equivalent_bytes` (0 without tensors).
    pub ratio: f64,
    /// `(stored_bytes + quant_param_bytes) / fp32_equivalent_bytes` (0 without tensors).
    pub ratio_with_params: f64,
}

/// The report of one `compress` or `expand`.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Report {
    /// `compress` or `expand`.
    pub command: String,
    /// One entry per rewritten weight tensor, in file order.
    pub tensors: Vec<TensorReport>,
    /// FakeQuantize layers that could not be rewritten, with the reason.
    pub refused: Vec<Refusal>,
    /// Weight subgraphs left as they were because there was nothing to do.
    pub unchanged: Vec<Refusal>,
    /// Sums.
    pub totals: Totals,
}

impl Report {
    /// Fills `totals` from the lists.
    pub(crate) fn finish(&mut self) {
        let mut t = Totals {
            tensors: self.tensors.len() as u64,
            refused: self.refused.len() as u64,
            unchanged: self.unchanged.len() as u64,
            ..Totals::default()
        };
        for r in &self.tensors {
            t.elements += r.elements;
            t.not_bit_identical += r.not_bit_identical;
            t.max_ulp = t.max_ulp.max(r.max_ulp);
            t.max_ulp_steps = t.max_ulp_steps.max(r.max_ulp_steps);
            t.max_abs = t.max_abs.max(r.max_abs);
            t.stored_bytes += r.stored_bytes;
            t.quant_param_bytes += r.quant_param_bytes;
            t.fp32_equivalent_bytes += r.fp32_equivalent_bytes;
        }
        if t.fp32_equivalent_bytes > 0 {
            let f = t.fp32_equivalent_bytes as f64;
            t.ratio = t.stored_bytes as f64 / f;
            t.ratio_with_params = (t.stored_bytes + t.quant_param_bytes) as f64 / f;
        }
        self.totals = t;
    }
}

/// Running comparison of "before" and "after" values of one tensor.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Diff {
    pub not_bit_identical: u64,
    pub max_ulp: f64,
    pub max_ulp_steps: u64,
    pub max_abs: f64,
    /// Differences between +0 and −0 only (equal values, different bits).
    pub sign_of_zero: u64,
}

impl Diff {
    /// Records one element; `r` is the range magnitude `max(|ol|,|oh|)` of its channel.
    pub fn add(&mut self, before: f32, after: f32, r: f32) {
        if before.to_bits() == after.to_bits() {
            return;
        }
        self.not_bit_identical += 1;
        if before == 0.0 && after == 0.0 {
            self.sign_of_zero += 1;
        }
        let d = (f64::from(before) - f64::from(after)).abs();
        // NaN on either side: an unbounded difference (serialized as the largest finite f64).
        let d = if d.is_nan() { f64::MAX } else { d.min(f64::MAX) };
        self.max_abs = self.max_abs.max(d);
        self.max_ulp = self.max_ulp.max((d / ulp_f32(r)).min(f64::MAX));
        self.max_ulp_steps = self.max_ulp_steps.max(ulp_steps(before, after));
    }
}

/// The number of f32 values between `a` and `b` on the ordered line (+0 and −0 are 0 apart).
pub fn ulp_steps(a: f32, b: f32) -> u64 {
    fn key(x: f32) -> i64 {
        let bits = x.to_bits() as i32;
        if bits < 0 {
            -i64::from(bits & 0x7fff_ffff)
        } else {
            i64::from(bits)
        }
    }
    if a.is_nan() || b.is_nan() {
        return u64::MAX;
    }
    (key(a) - key(b)).unsigned_abs()
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<40} {:<14} {:<5} {:>6} {:>9} {:>8} {:>8} {:>10} {:>9} {:>10}",
            "tensor", "form", "type", "levels", "elements", "not_bit", "max_ulp", "stored", "qparams", "fp32"
        )?;
        for t in &self.tensors {
            writeln!(
                f,
                "{:<40} {:<14} {:<5} {:>6} {:>9} {:>8} {:>8.3} {:>10} {:>9} {:>10}",
                truncate(&t.name, 40),
                t.form,
                t.element_type,
                t.levels,
                t.elements,
                t.not_bit_identical,
                t.max_ulp,
                t.stored_bytes,
                t.quant_param_bytes,
                t.fp32_equivalent_bytes
            )?;
        }
        // Notes that explain differences or fallbacks (all notes are in the JSON).
        for t in &self.tensors {
            let notable = (t.form == "compressed-fq" && t.not_bit_identical > 0)
                || t.note.contains("integer-grid")
                || t.note.contains("cannot re-derive");
            if notable {
                writeln!(f, "  {}: {}", t.name, t.note)?;
            }
        }
        let t = &self.totals;
        writeln!(
            f,
            "total: {} tensors, {} elements, {} not bit-identical (max {:.3} ulp(R), {} f32 steps, {:.3e} abs)",
            t.tensors, t.elements, t.not_bit_identical, t.max_ulp, t.max_ulp_steps, t.max_abs
        )?;
        writeln!(
            f,
            "memory: weight data {} B, quantization parameters {} B, fp32 equivalent {} B (data {:.4}, data+params {:.4} of fp32)",
            t.stored_bytes, t.quant_param_bytes, t.fp32_equivalent_bytes, t.ratio, t.ratio_with_params
        )?;
        writeln!(f, "(max_ulp in ulp(R), R = max(|ol|,|oh|) of the element's channel)")?;
        for r in &self.refused {
            writeln!(f, "refused: {}: {}", r.name, r.reason)?;
        }
        for r in &self.unchanged {
            writeln!(f, "unchanged: {}: {}", r.name, r.reason)?;
        }
        Ok(())
    }
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n - 1).collect();
        t.push('…');
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ulp_steps_cross_zero() {
        assert_eq!(ulp_steps(0.0, -0.0), 0);
        assert_eq!(ulp_steps(1.0, f32::from_bits(1.0f32.to_bits() + 2)), 2);
        assert_eq!(ulp_steps(f32::from_bits(1), -f32::from_bits(1)), 2);
    }

    #[test]
    fn diff_counts_and_measures_in_ulp_of_r() {
        let mut d = Diff::default();
        d.add(1.0, 1.0, 2.0);
        let next = f32::from_bits(1.0f32.to_bits() + 1);
        d.add(1.0, next, 1.0);
        assert_eq!(d.not_bit_identical, 1);
        assert_eq!(d.max_ulp, 1.0);
        // Measured against ulp(R) with R = 2: half an ulp.
        let mut e = Diff::default();
        e.add(1.0, next, 2.0);
        assert_eq!(e.max_ulp, 0.5);
    }
}
