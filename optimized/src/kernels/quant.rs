//! Activation quantization `f32 → level index (u8)`, bit-exact to the FakeQuantize recipe
//! (SPEC §1.2): `t = (x − il)/(ih − il); t = t·(L−1); r = round_ties_even(t)`, `0` for
//! `x ≤ il`, `L−1` for `x > ih` (the plan guarantees `il < ih`). Written branch-free so the one
//! generic body vectorizes (`vdivps`, `vrndscaleps` with round-to-nearest-even); NaN gives 0.

use crate::fq::ActQuant;
use crate::isa::Isa;

#[inline(always)]
#[allow(clippy::neg_cmp_op_on_partial_ord)] // `!(x > il)` is chosen for NaN, see below
fn body(q: &ActQuant, src: &[f32], dst: &mut [u8]) -> bool {
    let (il, ih, d, lm1, top) = (q.il, q.ih, q.d, q.lm1, q.lmax as f32);
    let mut nan = false;
    #[cfg(feature = "mutants")]
    let away = crate::mutants::is(crate::mutants::Mutant::RoundHalfAway);
    #[cfg(not(feature = "mutants"))]
    let away = false;
    for (o, &x) in dst.iter_mut().zip(src) {
        nan |= x.is_nan();
        let t = (x - il) / d;
        let t = t * lm1;
        let r = if away { t.round() } else { t.round_ties_even() };
        // `!(x > il)` is `x <= il` for numbers and also catches NaN (→ 0; the caller makes NaN's
        // outputs NaN anyway), so r is an integer in [0, 255] here.
        let r = if !(x > il) {
            0.0
        } else if x > ih {
            top
        } else {
            r
        };
        // r + 2^23 is exact and holds r in its low mantissa bits: a vectorizable float→u8.
        *o = (r + 8_388_608.0).to_bits() as u8;
    }
    nan
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
fn body_avx512(q: &ActQuant, src: &[f32], dst: &mut [u8]) -> bool {
    body(q, src, dst)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn body_avx2(q: &ActQuant, src: &[f32], dst: &mut [u8]) -> bool {
    body(q, src, dst)
}

#[inline(always)]
fn body_sum(q: &ActQuant, src: &[f32], dst: &mut [u8]) -> (bool, i32) {
    let nan = body(q, src, dst);
    // Row sums of level indices (≤ 255·len, fits i32 for the lengths the plan admits).
    (nan, dst.iter().take(src.len()).map(|&v| v as i32).sum())
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
fn body_sum_avx512(q: &ActQuant, src: &[f32], dst: &mut [u8]) -> (bool, i32) {
    body_sum(q, src, dst)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn body_sum_avx2(q: &ActQuant, src: &[f32], dst: &mut [u8]) -> (bool, i32) {
    body_sum(q, src, dst)
}

/// [`quantize`] that also returns the sum of the written level indices (one pass, vectorized in
/// the ISA's target features): `(has NaN, Σ dst)`.
pub fn quantize_sum(isa: Isa, q: &ActQuant, src: &[f32], dst: &mut [u8]) -> (bool, i32) {
    match isa {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: a non-scalar `Isa` is only selected after runtime detection of its features.
        Isa::Avx512Vnni => unsafe { body_sum_avx512(q, src, dst) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: avxvnni and avx2 both imply avx2 (checked at detection).
        Isa::AvxVnni | Isa::Avx2 => unsafe { body_sum_avx2(q, src, dst) },
        _ => body_sum(q, src, dst),
    }
}

/// Quantizes `src` into `dst` (`min(len)` elements); returns true when `src` holds a NaN (which
/// has no level: the caller makes the outputs it feeds NaN, INT8.md §3).
pub fn quantize(isa: Isa, q: &ActQuant, src: &[f32], dst: &mut [u8]) -> bool {
    match isa {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: a non-scalar `Isa` is only selected after runtime detection of its features.
        Isa::Avx512Vnni => unsafe { body_avx512(q, src, dst) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: avxvnni and avx2 both imply avx2 (checked at detection).
        Isa::AvxVnni | Isa::Avx2 => unsafe { body_avx2(q, src, dst) },
        _ => body(q, src, dst),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vector_body_equals_scalar_index_on_edges() {
        let q = ActQuant::new(-1.0, 1.0, -1.0, 1.0, 256, false);
        let mut xs: Vec<f32> = (-300..300).map(|i| i as f32 / 255.0).collect();
        xs.extend([f32::NAN, f32::INFINITY, f32::NEG_INFINITY, -1.0, 1.0, 0.0, -0.0, 1e-45]);
        for isa in crate::isa::detected().unwrap_or_default() {
            let mut d = vec![0u8; xs.len()];
            quantize(isa, &q, &xs, &mut d);
            for (i, &x) in xs.iter().enumerate() {
                assert_eq!(d[i], q.index(x), "{isa} x={x}");
            }
        }
    }
}

/// Parameters of a standalone per-tensor FakeQuantize (f32 in, f32 out).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FqScalar {
    /// input_low.
    pub il: f32,
    /// input_high.
    pub ih: f32,
    /// output_low.
    pub ol: f32,
    /// output_high.
    pub oh: f32,
    /// `f32(L − 1)`.
    pub lm1: f32,
}

/// SPEC §1.2 recipe, branch-free so it vectorizes; every step is the same f32 operation as the
/// scalar recipe (`x ≤ min(il,ih)` → ol, `x > max(il,ih)` → oh, NaN passes through the formula).
#[inline(always)]
fn fq_body(p: &FqScalar, src: &[f32], dst: &mut [f32]) {
    let (lo, hi) = (p.il.min(p.ih), p.il.max(p.ih));
    let (d_in, d_out) = (p.ih - p.il, p.oh - p.ol);
    for (o, &x) in dst.iter_mut().zip(src) {
        let t = (x - p.il) / d_in;
        let t = t * p.lm1;
        let r = t.round_ties_even();
        let y = r / p.lm1;
        let y = y * d_out;
        let y = y + p.ol;
        *o = if x <= lo {
            p.ol
        } else if x > hi {
            p.oh
        } else {
            y
        };
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
fn fq_avx512(p: &FqScalar, src: &[f32], dst: &mut [f32]) {
    fq_body(p, src, dst)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn fq_avx2(p: &FqScalar, src: &[f32], dst: &mut [f32]) {
    fq_body(p, src, dst)
}

/// Standalone per-tensor FakeQuantize, f32 → f32.
pub fn fake_quantize(isa: Isa, p: &FqScalar, src: &[f32], dst: &mut [f32]) {
    match isa {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: a non-scalar `Isa` is only selected after runtime detection of its features.
        Isa::Avx512Vnni => unsafe { fq_avx512(p, src, dst) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: avxvnni and avx2 both imply avx2 (checked at detection).
        Isa::AvxVnni | Isa::Avx2 => unsafe { fq_avx2(p, src, dst) },
        _ => fq_body(p, src, dst),
    }
}

#[cfg(test)]
mod fq_tests {
    use super::*;

    #[test]
    fn vector_fq_equals_the_scalar_recipe_bitwise() {
        let cases = [
            (0.0f32, 2.55f32, 0.0f32, 2.55f32, 256u32),
            (-1.0, 1.0, -0.5, 3.0, 255),
            (1.0, -1.0, 0.0, 10.0, 11),
            (0.2, 0.9, 5.0, -5.0, 17),
        ];
        let mut xs: Vec<f32> = (-400..400).map(|i| i as f32 / 151.0).collect();
        xs.extend([f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 0.0, -0.0]);
        for (il, ih, ol, oh, l) in cases {
            let p = FqScalar { il, ih, ol, oh, lm1: (l - 1) as f32 };
            for isa in crate::isa::detected().unwrap_or_default() {
                let mut d = vec![0f32; xs.len()];
                fake_quantize(isa, &p, &xs, &mut d);
                for (i, &x) in xs.iter().enumerate() {
                    let e = crate::fq::fake_quantize(x, il, ih, ol, oh, l);
                    assert!(
                        d[i].to_bits() == e.to_bits() || (d[i].is_nan() && e.is_nan()),
                        "{isa} x={x}: {} vs {e}",
                        d[i]
                    );
                }
            }
        }
    }
}
