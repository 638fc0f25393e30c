//! This engine's own FakeQuantize arithmetic (SPEC §1.2, bit-exact: division form, each step
//! rounded to f32, no FMA, ties to even) and the INT8.md §2 quantization parameters.
//!
//! Written independently of the reference crate on purpose: the two are compared bit for bit.

/// Quantizer of a per-tensor activation FakeQuantize (INT8.md §1 rule 2 guarantees `il < ih`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ActQuant {
    /// input_low.
    pub il: f32,
    /// input_high.
    pub ih: f32,
    /// `ih − il` (f32; the recipe computes the same difference per element).
    pub d: f32,
    /// `f32(L − 1)`.
    pub lm1: f32,
    /// `L − 1` as a level index.
    pub lmax: u8,
    /// Levels.
    pub levels: u32,
    /// Integer zero point `z_int`.
    pub z_int: i64,
    /// `f32(frac)`; 0 when the zero point is integer or the policy rounds.
    pub frac: f32,
    /// Scale `s_a = (oh − ol)/(L − 1)` (f32, two steps).
    pub scale: f32,
}

impl ActQuant {
    /// Builds the quantizer from scalar ranges and levels (255 or 256), applying the zero-point
    /// policy (`round_zp`: frac := 0).
    pub fn new(il: f32, ih: f32, ol: f32, oh: f32, levels: u32, round_zp: bool) -> ActQuant {
        let (z_int, frac) = split_zero_point(zero_point(ol, oh, levels));
        let frac = if round_zp { 0.0 } else { frac as f32 };
        ActQuant {
            il,
            ih,
            d: ih - il,
            lm1: (levels - 1) as f32,
            lmax: (levels - 1).min(255) as u8,
            levels,
            z_int,
            frac,
            scale: scale(ol, oh, levels),
        }
    }

    /// The level index `r` FakeQuantize selects for `x` (SPEC §1.2). NaN maps to 0 (the
    /// reference's behaviour for NaN is settled by the caller, see `plan`).
    #[inline(always)]
    pub fn index(&self, x: f32) -> u8 {
        if x <= self.il {
            0
        } else if x > self.ih {
            self.lmax
        } else {
            let t = (x - self.il) / self.d;
            let t = t * self.lm1;
            // In (il, ih] the exact quotient is in (0, 1], and f32 division is monotone, so r ∈ [0, L−1].
            t.round_ties_even() as u8
        }
    }

    /// `max |r − z_int|` over the levels `r ∈ [0, L−1]` (INT8.md rule 5).
    pub fn max_abs_q(&self) -> i64 {
        self.z_int.abs().max((self.levels as i64 - 1 - self.z_int).abs())
    }
}

/// `s = (oh − ol)/(L − 1)` in two f32 steps (INT8.md §2).
pub fn scale(ol: f32, oh: f32, levels: u32) -> f32 {
    let d = oh - ol;
    d / ((levels - 1) as f32)
}

/// `z = −ol·(L−1)/(oh − ol)` in f64 from the f32 values (INT8.md §2).
pub fn zero_point(ol: f32, oh: f32, levels: u32) -> f64 {
    let num = -(ol as f64) * ((levels - 1) as f64);
    num / ((oh as f64) - (ol as f64))
}

/// Splits a zero point into `(z_int, frac)` with the 1e-5 integer tolerance (INT8.md §2).
pub fn split_zero_point(z: f64) -> (i64, f64) {
    let zi = z.round_ties_even();
    let frac = z - zi;
    let frac = if frac.abs() <= 1e-5 { 0.0 } else { frac };
    // Saturating cast: absurd zero points are caught by the overflow rule afterwards.
    (zi as i64, frac)
}

/// The level index of one weight element under a weight FakeQuantize (il < ih checked by the caller).
#[inline]
pub fn weight_index(x: f32, il: f32, ih: f32, levels: u32) -> Option<i64> {
    if x <= il.min(ih) {
        return Some(0);
    }
    if x > il.max(ih) {
        return Some(levels as i64 - 1);
    }
    let lm1 = (levels - 1) as f32;
    let t = (x - il) / (ih - il);
    let r = (t * lm1).round_ties_even();
    if r.is_nan() {
        None
    } else {
        Some(r as i64)
    }
}

/// FakeQuantize of one element in f32 (SPEC §1.2), used for standalone FQ of activations.
#[inline]
pub fn fake_quantize(x: f32, il: f32, ih: f32, ol: f32, oh: f32, levels: u32) -> f32 {
    if x <= il.min(ih) {
        return ol;
    }
    if x > il.max(ih) {
        return oh;
    }
    let lm1 = (levels - 1) as f32;
    let t = (x - il) / (ih - il);
    let r = (t * lm1).round_ties_even();
    let y = r / lm1;
    let y = y * (oh - ol);
    y + ol
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_go_to_even_like_spec_example() {
        // SPEC §1.2 (verified on OpenVINO): il=0, ih=4, L=5 maps 0.5/1.5/2.5/3.5 to 0/2/2/4.
        let r: Vec<i64> = [0.5f32, 1.5, 2.5, 3.5].iter().map(|&x| weight_index(x, 0.0, 4.0, 5).unwrap_or(-1)).collect();
        assert_eq!(r, vec![0, 2, 2, 4]);
        let y: Vec<f32> = [0.5f32, 1.5, 2.5, 3.5].iter().map(|&x| fake_quantize(x, 0.0, 4.0, 0.0, 4.0, 5)).collect();
        assert_eq!(y, vec![0.0, 2.0, 2.0, 4.0]);
    }

    #[test]
    fn zero_points_from_spec_3_2() {
        // SPEC §3.2: [-1,1] with 256 levels has z = 127.5; [-0.37, 2.11] has z = 38.04.
        let (zi, f) = split_zero_point(zero_point(-1.0, 1.0, 256));
        assert_eq!(zi, 128); // 127.5 ties to even -> 128
        assert_eq!(f, -0.5);
        let (zi, f) = split_zero_point(zero_point(-0.37, 2.11, 256));
        assert_eq!(zi, 38);
        assert!((f - 0.0443).abs() < 1e-3);
        // NNCF signed range [-128s, 127s]: z = 128 exactly.
        let s = 0.02f32;
        assert_eq!(split_zero_point(zero_point(-128.0 * s, 127.0 * s, 256)), (128, 0.0));
    }

    #[test]
    fn act_index_matches_the_fq_recipe() {
        let q = ActQuant::new(0.0, 2.55, 0.0, 2.55, 256, false);
        for i in -10..300 {
            let x = i as f32 * 0.00999;
            let r = q.index(x) as f32;
            // Dequantizing the index with the recipe's own steps gives FakeQuantize's output.
            let y = r / 255.0;
            let y = y * 2.55;
            assert_eq!(y.to_bits(), fake_quantize(x, 0.0, 2.55, 0.0, 2.55, 256).to_bits(), "x={x}");
        }
    }
}
