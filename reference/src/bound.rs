//! The INT8-vs-FP32 error bound of an INT8 block (SPEC §3.2, normative per §0.4) and the flip rule
//! for a following FakeQuantize (SPEC §0.4, with `ε_t` from §1.4).
//!
//! # The bound
//! Notation (SPEC §3.2): `u = 2⁻²⁴`, `γ_n = n·u/(1 − n·u)` (Higham, *Accuracy and Stability of
//! Numerical Algorithms*, 2nd ed., Lemma 3.1 and Thm 3.1: any-order f32 dot product of n terms errs
//! by at most `γ_n·Σ|x_i||y_i|`). For one output element of a block, with `K` the reduction length:
//!
//! - `a_i = (r_i − z_used)·S_a` is the *ideal* activation value the INT8 path represents (S_a the
//!   real scale `(oh−ol)/(L−1)`, `z_used = z_int + frac_kept`), `â_i` the FP32 run's f32 FakeQuantize
//!   output; likewise `w_i = q_w·S_w` and `ŵ_i` for the weights (or the second activation).
//! - `δ_a ≥ |â − a|`: the FakeQuantize recipe (SPEC §1.2) `y = fl(fl(fl(r/(L−1))·fl(oh−ol)) + ol)`
//!   errs from the real `ol + r·(oh−ol)/(L−1)` by at most `γ₃(1+u)|oh−ol| + u·max(|ol|,|oh|)`, and that
//!   real value differs from `a` by `S·|z_real − z_used|` (0 for an exact integer zero point; the
//!   tolerated ≤ 1e-5, or the whole rounding under the `round` policy). For `compressed-dq`
//!   weights `ŵ = fl((c − z)·s)` (Convert and Subtract exact), so `δ_w = u·|(c−z)s| ≤ γ₁|ŵ|`.
//! - `T = Σ|â||ŵ| + D`, `D = Σ(δ_a|ŵ| + |â|δ_w + δ_aδ_w)`, so `T ≥ Σ|a||w| ≥ |Y|` where
//!   `Y = Σ a_i w_i` is the exact result both paths approximate, and `|Σâŵ − Y| ≤ D`.
//! - `F = |frac|·S·Σ(|other operand| + δ)` bounds the scaled fractional compensation `|frac·W|·S_aS_w`
//!   (exact policy, INT8.md §4; 0 otherwise).
//!
//! FP32 path: `|y₃₂ − Y| ≤ γ_K·Σ|â||ŵ| + D`.
//! INT8 path (INT8.md §4): `f32(S)` errs by `u|S|`, the compensation `fl(f32(frac)·f32(W))` by
//! `γ₃|frac·W|`, the subtraction by `u|t|`, and `y = t·M` with `M = fl(s_a·s_w)` carries `m`
//! relative roundings against `S_a·S_w` (`m = 6` for FQ scales: 2 per scale, 1 for `M`, 1 for the
//! product; `m = 4` for dq weights whose scale is stored exactly). Scaled by `S_aS_w`:
//! `|y₈ − Y| ≤ (1+γ_m)·[u(T+F) + γ₃F + u((1+u)(T+F) + (1+γ₃)F)] + γ_m·T`.
//! Bias: both paths add the same f32 `b` with one rounding each, `|fl(y₈+b) − fl(y₃₂+b)| ≤
//! B₀(1+u) + 2u·V` with `V = (1+γ_K)Σ|â||ŵ| + D + |b| ≥ |y₃₂ + b|`. ReLU and Clamp are exact and
//! 1-Lipschitz, so they keep the bound. This is SPEC §3.2's
//! `γ_K·Σ|â||b̂| + Σ(δ_a|b| + |a|δ_b) + 3u|y| + 2u|bias|` with the epilogue terms written out for
//! INT8.md's exact operation order (they are bounded by `T ≥ |y|`, slightly looser than `3u|y|`).
//!
//! Underflow adds at most `2⁻¹⁵⁰` per f32 rounding; `(K + 16)·2⁻¹⁴⁹` covers it. The bound itself is
//! computed in f64 (relative error ≲ 10⁻¹⁰ for the sums here) and finally multiplied by `1 + 10⁻⁹`.

// `RefError` (owned by error.rs) is large; every fallible function of the crate returns it.
#![allow(clippy::result_large_err)]

use crate::error::{op_err, RefError};
use crate::int8::{Block, WeightForm};
use conform_ir::{Model, Tensor};

/// The f32 unit roundoff `u = 2⁻²⁴`.
pub const U: f64 = 1.0 / 16_777_216.0;

/// `γ_n = n·u / (1 − n·u)` (Higham Lemma 3.1); `+∞` when `n·u ≥ 1`.
pub fn gamma(n: usize) -> f64 {
    let nu = n as f64 * U;
    if nu >= 1.0 {
        f64::INFINITY
    } else {
        nu / (1.0 - nu)
    }
}

/// `δ ≥ |fl_FQ(r) − (r − z_used)·S|` for a value FakeQuantize produced from level `r` with output
/// range `[ol, oh]` and `levels` (module docs): `γ₃(1+u)|oh−ol| + u·max(|ol|,|oh|) + S·|z_real − z_used|`.
pub fn fq_dequant_delta(ol: f32, oh: f32, levels: u64, z_real: f64, z_used: f64) -> f64 {
    let (ol, oh) = (ol as f64, oh as f64);
    let d = (oh - ol).abs();
    let s = d / (levels.saturating_sub(1).max(1)) as f64;
    // The f64 evaluation of z_real errs by a few f64 ulps of |z|: add a generous 1e-12·(|z|+1).
    let zp = (z_real - z_used).abs() + 1e-12 * (z_real.abs() + 1.0);
    gamma(3) * (1.0 + U) * d + U * ol.abs().max(oh.abs()) + s * zp
}

/// The per-output-element sums the bound needs (module docs), computed over the block's valid taps.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct DotTerms {
    /// The reduction length `K` (all taps, padding included: SPEC §0.4).
    pub k: usize,
    /// `Σ|â_i||ŵ_i|`.
    pub abs_dot: f64,
    /// `D = Σ(δ_a|ŵ| + |â|δ_w + δ_aδ_w)`.
    pub mixed: f64,
    /// `F`, the scaled fractional compensation (0 without a kept fraction).
    pub frac_mass: f64,
}

/// The epilogue of the block for the bound.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct EpilogueTerms {
    /// Relative f32 roundings between `t` and `t·S_a·S_w`: 6 for FakeQuantize scales, 4 with
    /// `compressed-dq` weights (module docs).
    pub scale_roundings: usize,
    /// The absorbed bias value of this output element, if any.
    pub bias: Option<f32>,
}

/// The bound on `|y_INT8 − y_FP32|` for one output element of an INT8 block (SPEC §3.2, derived in
/// the module docs), re-anchored: both paths see the same activations.
pub fn int8_vs_fp32_bound(t: &DotTerms, e: &EpilogueTerms) -> f64 {
    let (u, g3, gk, gm) = (U, gamma(3), gamma(t.k), gamma(e.scale_roundings));
    let tt = t.abs_dot + t.mixed;
    let f = t.frac_mass;
    let int8 = (1.0 + gm) * (u * (tt + f) + g3 * f + u * ((1.0 + u) * (tt + f) + (1.0 + g3) * f)) + gm * tt;
    let fp32 = gk * t.abs_dot + t.mixed;
    let mut b = int8 + fp32;
    if let Some(bias) = e.bias {
        let v = (1.0 + gk) * t.abs_dot + t.mixed + (bias as f64).abs();
        b = b * (1.0 + u) + 2.0 * u * v;
    }
    let underflow = (t.k as f64 + 16.0) * 2f64.powi(-149);
    (b + underflow) * (1.0 + 1e-9)
}

/// The bound for every output element of `block`, from the FP32 run's values of the main op's two
/// inputs (`fp32_a` = input 0, the activation FakeQuantize output; `fp32_b` = input 1, the
/// dequantized weights or the second FakeQuantize output). Output elements fed by a NaN get `+∞`
/// (both paths give NaN there).
pub fn block_bounds(model: &Model, block: &Block, fp32_a: &Tensor, fp32_b: &Tensor) -> Result<Vec<f64>, RefError> {
    let node = model.node(block.main);
    let red = crate::int8::block_reduction(model, block, &fp32_a.shape, &fp32_b.shape)?;
    let a = fp32_a.to_f32_vec();
    let b = fp32_b.to_f32_vec();
    let qa = &block.acts[0];
    let delta_a = fq_dequant_delta(qa.ol, qa.oh, qa.levels, qa.z_real, qa.z_int as f64 + qa.frac);
    let s_real = |ol: f32, oh: f32, levels: u64| (oh as f64 - ol as f64) / (levels - 1) as f64;
    // δ of operand B: per tensor (activation), per channel (FQ weights) or per element (dq).
    let delta_b_chan: Vec<f64> = match &block.weights {
        None => {
            let qb = &block.acts[1];
            vec![fq_dequant_delta(qb.ol, qb.oh, qb.levels, qb.z_real, qb.z_int as f64 + qb.frac)]
        }
        Some(w) if w.form != WeightForm::CompressedDq => {
            w.fq.iter().map(|c| fq_dequant_delta(c.ol, c.oh, w.levels, c.z_real, c.z_int as f64)).collect()
        }
        Some(_) => Vec::new(),
    };
    let scale_roundings = match &block.weights {
        Some(w) if w.form == WeightForm::CompressedDq => 4,
        _ => 6,
    };
    let frac_b = block.acts.get(1).map(|q| q.frac).unwrap_or(0.0);
    let mut out = Vec::with_capacity(red.out_len());
    let mut taps = Vec::new();
    for p in 0..red.out_len() {
        let ch = red.taps(p, &mut taps);
        let db_chan = match delta_b_chan.len() {
            0 => None,
            1 => Some(delta_b_chan[0]),
            _ => Some(*delta_b_chan.get(ch.scale).ok_or_else(|| op_err(node, "weight channel out of range"))?),
        };
        let (mut abs_dot, mut mixed, mut sum_b, mut sum_a, mut nan) = (0f64, 0f64, 0f64, 0f64, false);
        for &(ia, ib) in &taps {
            let (x, y) = (a[ia] as f64, b[ib] as f64);
            if x.is_nan() || y.is_nan() {
                nan = true;
                continue;
            }
            // dq weights: δ_w = γ₁|ŵ| per element.
            let db = db_chan.unwrap_or(gamma(1) * y.abs());
            abs_dot += x.abs() * y.abs();
            mixed += delta_a * y.abs() + x.abs() * db + delta_a * db;
            sum_b += y.abs() + db;
            sum_a += x.abs() + delta_a;
        }
        if nan {
            out.push(f64::INFINITY);
            continue;
        }
        // F = |frac|·S·Σ(|other operand| + δ) for the operand whose fraction is kept.
        let frac_mass = if qa.frac != 0.0 {
            qa.frac.abs() * s_real(qa.ol, qa.oh, qa.levels) * sum_b
        } else if frac_b != 0.0 {
            let qb = &block.acts[1];
            frac_b.abs() * s_real(qb.ol, qb.oh, qb.levels) * sum_a
        } else {
            0.0
        };
        let bias = match &block.bias {
            None => None,
            Some(v) if v.len() == 1 => Some(v[0]),
            Some(v) => Some(*v.get(ch.bias).ok_or_else(|| op_err(node, "bias channel out of range"))?),
        };
        let terms = DotTerms { k: red.k(), abs_dot, mixed, frac_mass };
        out.push(int8_vs_fp32_bound(&terms, &EpilogueTerms { scale_roundings, bias }));
    }
    Ok(out)
}

/// `ε_t` of SPEC §1.4: `16·u·(|x| + |il|)·(L−1)/|ih − il| + 8u·(L−1)`, the slack of the pre-round
/// value of a FakeQuantize computed in f32.
pub fn eps_t(x: f32, il: f32, ih: f32, levels: u64) -> f64 {
    let lm1 = (levels - 1) as f64;
    16.0 * U * ((x as f64).abs() + (il as f64).abs()) * lm1 / (ih as f64 - il as f64).abs() + 8.0 * U * lm1
}

/// The flip rule of SPEC §0.4: a following FakeQuantize may differ by one level only where the FP32
/// path's pre-round value `t = (x−il)/(ih−il)·(L−1)` satisfies
/// `|t − (⌊t⌋ + ½)| ≤ B_y·(L−1)/|ih−il| + ε_t`, with `B_y` the bound of the quantized value.
pub fn flip_allowed(x_fp32: f32, bound_y: f64, il: f32, ih: f32, levels: u64) -> bool {
    let t = crate::fq::pre_round(x_fp32, il, ih, levels) as f64;
    let dist = (t - (t.floor() + 0.5)).abs();
    let lm1 = (levels - 1) as f64;
    dist <= bound_y * lm1 / (ih as f64 - il as f64).abs() + eps_t(x_fp32, il, ih, levels)
}

/// Outcome of comparing a following FakeQuantize on the FP32 and INT8 values (SPEC §0.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FqComparison {
    /// Both select the same level (or both are NaN).
    SameLevel,
    /// One level apart, and the flip rule allows it (count and report these).
    AcceptedFlip,
    /// Any other difference: a failure.
    Violation,
}

/// Compares the level a FakeQuantize selects for the FP32 value `x_fp32` and for the INT8 value
/// `y_int8` (which differ by at most `bound_y`), under the flip rule.
pub fn compare_requantize(x_fp32: f32, y_int8: f32, bound_y: f64, il: f32, ih: f32, levels: u64) -> FqComparison {
    let r32 = crate::fq::fq_index(x_fp32, il, ih, levels);
    let r8 = crate::fq::fq_index(y_int8, il, ih, levels);
    match (r32, r8) {
        (None, None) => FqComparison::SameLevel,
        (Some(a), Some(b)) if a == b => FqComparison::SameLevel,
        (Some(a), Some(b)) if (a - b).abs() == 1 && flip_allowed(x_fp32, bound_y, il, ih, levels) => {
            FqComparison::AcceptedFlip
        }
        _ => FqComparison::Violation,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gamma_matches_higham() {
        assert_eq!(gamma(0), 0.0);
        assert!((gamma(1) - U / (1.0 - U)).abs() < 1e-30);
        assert_eq!(gamma(1 << 24), f64::INFINITY);
    }

    #[test]
    fn fq_delta_covers_the_recipe() {
        // Recipe vs exact value for every level of a few ranges: |fl_recipe(r) − (ol + r·S)| ≤ δ.
        for &(ol, oh, l) in &[(-0.9f32, 1.1f32, 256u64), (0.0, 6.0, 256), (-1.0, 1.0, 255), (-3.3e-3, 7.1e-2, 256)] {
            let z = crate::int8::quant::fq_zero_point(ol, oh, l);
            let d = fq_dequant_delta(ol, oh, l, z, z);
            let lm1 = (l - 1) as f32;
            for r in 0..l {
                let y = (r as f32 / lm1) * (oh - ol) + ol; // SPEC §1.2 recipe tail
                let exact = ol as f64 + r as f64 * (oh as f64 - ol as f64) / (l - 1) as f64;
                assert!(((y as f64) - exact).abs() <= d, "range [{ol},{oh}] level {r}");
            }
        }
    }

    #[test]
    fn flip_rule_near_a_half() {
        // il=0, ih=255, L=256: t = x. x = 2.5 is exactly on the boundary: a flip is allowed for any
        // bound; x = 2.0 is half a level away, so a flip needs B_y ≥ 0.5 − ε_t.
        assert!(flip_allowed(2.5, 0.0, 0.0, 255.0, 256));
        assert!(!flip_allowed(2.0, 0.1, 0.0, 255.0, 256));
        assert!(flip_allowed(2.0, 0.5, 0.0, 255.0, 256));
        assert_eq!(compare_requantize(2.4, 2.6, 0.2, 0.0, 255.0, 256), FqComparison::AcceptedFlip);
        assert_eq!(compare_requantize(2.4, 2.6, 0.01, 0.0, 255.0, 256), FqComparison::Violation);
        assert_eq!(compare_requantize(2.4, 4.6, 5.0, 0.0, 255.0, 256), FqComparison::Violation); // two levels
        assert_eq!(compare_requantize(2.1, 2.2, 0.0, 0.0, 255.0, 256), FqComparison::SameLevel);
    }

    #[test]
    fn bound_grows_with_k_and_bias() {
        let t = DotTerms { k: 9, abs_dot: 1.0, mixed: 0.0, frac_mass: 0.0 };
        let e = EpilogueTerms { scale_roundings: 6, bias: None };
        let b0 = int8_vs_fp32_bound(&t, &e);
        // ≈ (9 + 6 + 2)·u for Σ|â||ŵ| = 1.
        assert!(b0 > 16.0 * U && b0 < 18.0 * U, "{b0}");
        let b1 = int8_vs_fp32_bound(&t, &EpilogueTerms { bias: Some(3.0), ..e });
        assert!(b1 > b0 + 8.0 * U - 1e-12);
    }
}
