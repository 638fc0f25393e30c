//! Quantization parameters of INT8 blocks (INT8.md §2): activation scale and zero point, and the
//! integer weights with their per-output-channel scales, computed once when the plan is built.

use super::ZeroPointPolicy;

/// Tolerance under which a zero point counts as an integer (INT8.md §2; LPT's `roundWithTolerance`
/// in `network_helper.cpp` uses the same 1e-5).
pub const ZP_TOLERANCE: f64 = 1e-5;

/// `s = (oh − ol) / (L − 1)` in two f32 steps: `d = oh − ol; s = d / f32(L−1)` (INT8.md §2).
pub fn fq_scale(ol: f32, oh: f32, levels: u64) -> f32 {
    let d = oh - ol;
    d / (levels - 1) as f32
}

/// `z = −ol·(L−1)/(oh − ol)` in f64 from the f32 values (INT8.md §2): the real level index that
/// dequantizes to 0.
pub fn fq_zero_point(ol: f32, oh: f32, levels: u64) -> f64 {
    -(ol as f64) * ((levels - 1) as f64) / ((oh as f64) - (ol as f64))
}

/// Splits a zero point into `(z_int, frac)` with `z_int = round_ties_even(z)`, `frac = z − z_int`,
/// and `frac := 0` when `|frac| ≤ 1e-5` (INT8.md §2).
pub fn split_zero_point(z: f64) -> (i64, f64) {
    let zi = z.round_ties_even();
    let frac = z - zi;
    // `as` saturates; the overflow rule (INT8.md §1.5) rejects absurd zero points afterwards.
    (zi as i64, if frac.abs() <= ZP_TOLERANCE { 0.0 } else { frac })
}

/// The quantization of one activation input: a per-tensor FakeQuantize with levels 255 or 256.
#[derive(Debug, Clone, PartialEq)]
pub struct ActQuant {
    /// input_low.
    pub il: f32,
    /// input_high.
    pub ih: f32,
    /// output_low.
    pub ol: f32,
    /// output_high.
    pub oh: f32,
    /// levels.
    pub levels: u64,
    /// `s_a`, f32 (INT8.md §2).
    pub scale: f32,
    /// The real zero point `z_a` (f64).
    pub z_real: f64,
    /// `z_int = round_ties_even(z_a)`.
    pub z_int: i64,
    /// The fraction the epilogue compensates: `z_a − z_int` under `Exact` when it exceeds the
    /// tolerance, 0 otherwise (always 0 under `Round`).
    pub frac: f64,
}

impl ActQuant {
    /// Builds the parameters from the FakeQuantize's scalar ranges (already checked finite,
    /// `il < ih`, `ol < oh`).
    pub fn new(il: f32, ih: f32, ol: f32, oh: f32, levels: u64, policy: ZeroPointPolicy) -> ActQuant {
        let z_real = fq_zero_point(ol, oh, levels);
        let (z_int, frac) = split_zero_point(z_real);
        let frac = match policy {
            ZeroPointPolicy::Exact => frac,
            ZeroPointPolicy::Round => 0.0,
        };
        ActQuant { il, ih, ol, oh, levels, scale: fq_scale(ol, oh, levels), z_real, z_int, frac }
    }

    /// `max |r − z_int|` over the levels `r ∈ [0, L−1]` (for the overflow rule).
    pub fn max_abs_q(&self) -> u128 {
        let top = self.levels as i128 - 1;
        let z = self.z_int as i128;
        z.unsigned_abs().max((top - z).unsigned_abs())
    }

    /// `q_a = fq_index(x) − z_int` (INT8.md §3), or `None` for NaN (which makes every output it
    /// feeds NaN, as in the FP32 graph).
    pub fn quantize(&self, x: f32) -> Option<i64> {
        crate::fq::fq_index(x, self.il, self.ih, self.levels).map(|r| r - self.z_int)
    }
}

/// Which of the three weight forms (SPEC §0.2) a block's weights came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeightForm {
    /// `Const(f32|f16) [→ Convert] → FakeQuantize`.
    Expanded,
    /// `Const(int) → Convert → FakeQuantize` (including Model Optimizer's u8 `[0, L−1]` variant).
    CompressedFq,
    /// `Const(int) → Convert → [Subtract(zp)] → Multiply(scale)`.
    CompressedDq,
}

/// Per-output-channel FakeQuantize parameters of FQ-form weights, kept for the error bound
/// (the dequantization rounding δ_w of SPEC §3.2 depends on them).
#[derive(Debug, Clone, PartialEq)]
pub struct WeightFqChannel {
    /// output_low of the channel.
    pub ol: f32,
    /// output_high of the channel.
    pub oh: f32,
    /// The real zero point (f64).
    pub z_real: f64,
    /// The integer zero point subtracted from the level index.
    pub z_int: i64,
}

/// Constant weights quantized once at plan build: `q_w` as i8 and `s_w` per output channel.
#[derive(Debug, Clone, PartialEq)]
pub struct WeightQuant {
    /// The form they came in.
    pub form: WeightForm,
    /// The weight tensor's shape as the main op sees it.
    pub shape: Vec<usize>,
    /// `q_w` per element, row-major over `shape` (INT8.md §2).
    pub q: Vec<i8>,
    /// `s_w[o]` per output channel id (see [`super::reduction::Reduction::taps`] for ids).
    pub scale: Vec<f32>,
    /// For the FQ forms: levels and the per-channel ranges (for the bound); empty for dq.
    pub fq: Vec<WeightFqChannel>,
    /// Levels of the FQ forms (0 for dq).
    pub levels: u64,
    /// `max |q_w|` over all elements.
    pub max_abs_q: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_points_of_spec_examples() {
        // SPEC §3.2: [-1,1] with L=256 has z = 127.5 (fractional); [-0.37, 2.11] has z ≈ 38.04.
        let z = fq_zero_point(-1.0, 1.0, 256);
        assert_eq!(z, 127.5);
        assert_eq!(split_zero_point(z), (128, -0.5)); // ties to even: 127.5 -> 128
        let (zi, f) = split_zero_point(fq_zero_point(-0.37, 2.11, 256));
        assert_eq!(zi, 38);
        // 0.37·255/2.48 = 38.04435…
        assert!((f - 0.04435).abs() < 1e-4);
        // NNCF's [-128s, 127s] gives 128 (s a power of two, so the f32 ranges are exact).
        let s = 0.0078125f32;
        assert_eq!(split_zero_point(fq_zero_point(-128.0 * s, 127.0 * s, 256)).0, 128);
        assert_eq!(split_zero_point(fq_zero_point(-128.0 * s, 127.0 * s, 256)).1, 0.0);
    }

    #[test]
    fn round_policy_drops_the_fraction() {
        let a = ActQuant::new(-1.0, 1.0, -1.0, 1.0, 256, ZeroPointPolicy::Round);
        assert_eq!((a.z_int, a.frac), (128, 0.0));
        let a = ActQuant::new(-1.0, 1.0, -1.0, 1.0, 256, ZeroPointPolicy::Exact);
        assert_eq!((a.z_int, a.frac), (128, -0.5));
        // s_a = 2/255 in f32 (one subtraction exact, one division).
        assert_eq!(a.scale, 2.0f32 / 255.0);
        // max |r - 128| over r in [0,255] is 128.
        assert_eq!(a.max_abs_q(), 128);
    }
}
