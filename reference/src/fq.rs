//! FakeQuantize-1, bit-exact to `ov::reference::fake_quantize` (SPEC.md §0.1 and §1.2).
//!
//! Per element, in f32, each step rounded to f32, no FMA, no reassociation:
//! ```text
//! if x <= min(il,ih) -> ol ; else if x > max(il,ih) -> oh ; else
//!   t = (x - il) / (ih - il) ; t = t * Lm1        // Lm1 = f32(levels - 1)
//!   r = nearbyint(t)                              // ties to even (FE_TONEAREST)
//!   y = r / Lm1 ; y = y * (oh - ol) ; y = y + ol
//! ```
//! Source: `src/core/reference/include/openvino/reference/fake_quantize.hpp`,
//! `fake_quantize_details::quantize`. The four range inputs broadcast numpy-style, each by its own
//! shape (the reference ignores the op's `auto_broadcast` for evaluation; `none` is validated by the
//! caller). f16 data: compute in f32 and round once (SPEC §1.2, verified on 20 000 samples).

use crate::broadcast::BroadcastIndex;

/// The FakeQuantize output for one element (SPEC §1.2 recipe).
#[inline]
pub fn fake_quantize_scalar(x: f32, il: f32, ih: f32, ol: f32, oh: f32, levels: u64) -> f32 {
    if x <= il.min(ih) {
        return ol;
    }
    if x > il.max(ih) {
        return oh;
    }
    let lm1 = (levels - 1) as f32;
    let r = pre_round(x, il, ih, levels).round_ties_even();
    let y = r / lm1;
    let y = y * (oh - ol);
    y + ol
}

/// The pre-round value `t = (x − il)/(ih − il)·(L−1)` (f32 steps) of an interior element. Used by the
/// flip rule (SPEC §0.4) and by INT8 quantization.
#[inline]
pub fn pre_round(x: f32, il: f32, ih: f32, levels: u64) -> f32 {
    let lm1 = (levels - 1) as f32;
    let t = (x - il) / (ih - il);
    t * lm1
}

/// The integer level index `r ∈ [0, L−1]` FakeQuantize selects for `x` (0 below the range, `L−1`
/// above). For inverted ranges (`il > ih`) the interior index is whatever the recipe gives, which
/// may lie outside `[0, L−1]` (SPEC §1.2); callers that need a level check `il < ih` first.
/// NaN gives `None` (the recipe propagates NaN).
#[inline]
pub fn fq_index(x: f32, il: f32, ih: f32, levels: u64) -> Option<i64> {
    if x <= il.min(ih) {
        return Some(0);
    }
    if x > il.max(ih) {
        return Some(levels as i64 - 1);
    }
    let r = pre_round(x, il, ih, levels).round_ties_even();
    if r.is_nan() {
        None
    } else {
        Some(r as i64)
    }
}

/// The four range inputs of a FakeQuantize, each with its own shape.
#[derive(Debug, Clone, Copy)]
pub struct FqRanges<'a> {
    /// input_low data and shape.
    pub il: (&'a [f32], &'a [usize]),
    /// input_high data and shape.
    pub ih: (&'a [f32], &'a [usize]),
    /// output_low data and shape.
    pub ol: (&'a [f32], &'a [usize]),
    /// output_high data and shape.
    pub oh: (&'a [f32], &'a [usize]),
}

/// A range input that does not broadcast to the data shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("FakeQuantize range input {which} of shape {range_shape:?} does not broadcast to data shape {data_shape:?}")]
pub struct FqBroadcastError {
    /// Which input (`input_low`, ...).
    pub which: &'static str,
    /// Its shape.
    pub range_shape: Vec<usize>,
    /// The data shape.
    pub data_shape: Vec<usize>,
}

/// FakeQuantize over a tensor of shape `shape`, f32 in and out.
pub fn fake_quantize(x: &[f32], shape: &[usize], r: FqRanges<'_>, levels: u64) -> Result<Vec<f32>, FqBroadcastError> {
    let idx = |which: &'static str, s: &[usize]| {
        BroadcastIndex::new(s, shape).ok_or_else(|| FqBroadcastError {
            which,
            range_shape: s.to_vec(),
            data_shape: shape.to_vec(),
        })
    };
    let (bil, bih, bol, boh) = (
        idx("input_low", r.il.1)?,
        idx("input_high", r.ih.1)?,
        idx("output_low", r.ol.1)?,
        idx("output_high", r.oh.1)?,
    );
    Ok(x.iter()
        .enumerate()
        .map(|(i, &v)| {
            fake_quantize_scalar(
                v,
                r.il.0[bil.map(i)],
                r.ih.0[bih.map(i)],
                r.ol.0[bol.map(i)],
                r.oh.0[boh.map(i)],
                levels,
            )
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_round_to_even() {
        // SPEC §1.2 (verified): il=0, ih=4, L=5 maps 0.5/1.5/2.5/3.5 to 0/2/2/4.
        let out: Vec<f32> =
            [0.5f32, 1.5, 2.5, 3.5].iter().map(|&x| fake_quantize_scalar(x, 0.0, 4.0, 0.0, 4.0, 5)).collect();
        assert_eq!(out, vec![0.0, 2.0, 2.0, 4.0]);
    }

    #[test]
    fn inverted_range_is_the_non_monotone_map() {
        // SPEC §1.2 (verified): il=1, ih=-1, ol=0, oh=10, L=11 on x=-2..2 step 0.5.
        let xs = [-2.0f32, -1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0];
        let out: Vec<f32> = xs.iter().map(|&x| fake_quantize_scalar(x, 1.0, -1.0, 0.0, 10.0, 11)).collect();
        assert_eq!(out, vec![0.0, 0.0, 0.0, 8.0, 5.0, 2.0, 0.0, 10.0, 10.0]);
    }

    #[test]
    fn specials() {
        assert!(fake_quantize_scalar(f32::NAN, 0.0, 1.0, 0.0, 1.0, 256).is_nan());
        assert_eq!(fake_quantize_scalar(f32::INFINITY, 0.0, 1.0, -3.0, 7.0, 256), 7.0);
        assert_eq!(fake_quantize_scalar(f32::NEG_INFINITY, 0.0, 1.0, -3.0, 7.0, 256), -3.0);
        // il == ih: only the comparison branches fire.
        assert_eq!(fake_quantize_scalar(0.5, 0.5, 0.5, 1.0, 2.0, 256), 1.0);
        assert_eq!(fake_quantize_scalar(0.6, 0.5, 0.5, 1.0, 2.0, 256), 2.0);
        // subnormal range width stays finite.
        assert!(fake_quantize_scalar(5e-40, 0.0, 1e-39, 0.0, 1.0, 256).is_finite());
    }

    #[test]
    fn per_channel_broadcast_uses_each_inputs_own_shape() {
        // X [2,3,4], il [1,1,4], ih [], ol [], oh [1,3,1] (SPEC §1.3, the case PR #34109 fixed).
        let shape = [2usize, 3, 4];
        let x: Vec<f32> = (0..24).map(|i| i as f32 / 24.0).collect();
        let il = [0.0f32, 0.0, 0.1, 0.1];
        let ih = [1.0f32];
        let ol = [0.0f32];
        let oh = [1.0f32, 2.0, 3.0];
        let r = FqRanges { il: (&il, &[1, 1, 4]), ih: (&ih, &[]), ol: (&ol, &[]), oh: (&oh, &[1, 3, 1]) };
        let y = fake_quantize(&x, &shape, r, 256).expect("broadcasts");
        for i in 0..24 {
            let (c, w) = ((i / 4) % 3, i % 4);
            assert_eq!(y[i].to_bits(), fake_quantize_scalar(x[i], il[w], 1.0, 0.0, oh[c], 256).to_bits());
        }
    }
}
