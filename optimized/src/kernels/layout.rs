//! Data movement for the dense convolution's input: 16 channel rows of level indices (planar
//! NC(D)HW u8) into pixel-major bytes (the padded NDHWC buffer), a 16 × 16 byte transpose per
//! block of 16 pixels.
//!
//! The x86-64 body uses SSE2 only (`punpck{l,h}{bw,wd,dq,qdq}`), part of the x86-64 baseline, so
//! it needs no `#[target_feature]` wrapper; the `scalar` ISA runs the twin.

use super::KernelError;
use crate::isa::Isa;

/// `dst[x·stride + j] = src[j][x]` for every pixel `x < w` and channel `j < 16`.
/// Needs `stride ≥ 16`, every `src[j]` at least `w` long, and `dst` at least
/// `(w − 1)·stride + 16` long.
pub fn interleave16(isa: Isa, src: &[&[u8]; 16], w: usize, dst: &mut [u8], stride: usize) -> Result<(), KernelError> {
    if w == 0 {
        return Ok(());
    }
    if stride < 16 || src.iter().any(|s| s.len() < w) {
        return Err(KernelError("interleave16 source rows"));
    }
    if (w - 1).checked_mul(stride).and_then(|v| v.checked_add(16)).is_none_or(|end| end > dst.len()) {
        return Err(KernelError("interleave16 destination"));
    }
    #[allow(unused_mut)]
    let mut x = 0;
    #[cfg(target_arch = "x86_64")]
    if isa != Isa::Scalar {
        while x + 16 <= w {
            // SAFETY: checked above: every `src[j]` holds `x + 16 ≤ w` bytes, and
            // `dst[x·stride + 15·stride + 15]` < `(w − 1)·stride + 16 ≤ dst.len()`. SSE2 is part of
            // the x86-64 baseline.
            unsafe { x86::block16(src, x, dst.as_mut_ptr().add(x * stride), stride) };
            x += 16;
        }
        if x < w && w >= 16 {
            // The last, partial block overlaps the previous one (rewriting the same bytes).
            // SAFETY: as above with `w − 16 + 16 = w`.
            unsafe { x86::block16(src, w - 16, dst.as_mut_ptr().add((w - 16) * stride), stride) };
            x = w;
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = isa;
    for xi in x..w {
        let d = &mut dst[xi * stride..xi * stride + 16];
        for (j, v) in d.iter_mut().enumerate() {
            *v = src[j][xi];
        }
    }
    Ok(())
}

/// The scalar twin of [`interleave16`] (same contract, plain loops).
pub fn interleave16_twin(src: &[&[u8]; 16], w: usize, dst: &mut [u8], stride: usize) {
    for x in 0..w {
        for j in 0..16 {
            dst[x * stride + j] = src[j][x];
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    /// Transposes the 16 × 16 bytes `src[j][x..x + 16]` into `dst + p·stride` (16 bytes per pixel
    /// `p`). Requires: every `src[j]` holds `x + 16` bytes, `dst` is valid for
    /// `15·stride + 16` bytes.
    #[inline]
    pub unsafe fn block16(src: &[&[u8]; 16], x: usize, dst: *mut u8, stride: usize) {
        // SAFETY (whole body): the caller guarantees the bounds above; unaligned loads/stores.
        unsafe {
            let z = _mm_setzero_si128();
            let mut r = [z; 16];
            for j in 0..16 {
                r[j] = _mm_loadu_si128(src[j].as_ptr().add(x) as *const __m128i);
            }
            // s1[8h + p]: channels 2p, 2p+1 of pixels 8h..8h+7, as byte pairs.
            let mut s1 = [z; 16];
            for p in 0..8 {
                s1[p] = _mm_unpacklo_epi8(r[2 * p], r[2 * p + 1]);
                s1[8 + p] = _mm_unpackhi_epi8(r[2 * p], r[2 * p + 1]);
            }
            // s2[4g + q]: channels 4q..4q+3 of pixels 4g..4g+3, 4 bytes per pixel.
            let mut s2 = [z; 16];
            for h in 0..2 {
                for q in 0..4 {
                    let (a, b) = (s1[8 * h + 2 * q], s1[8 * h + 2 * q + 1]);
                    s2[8 * h + q] = _mm_unpacklo_epi16(a, b);
                    s2[8 * h + 4 + q] = _mm_unpackhi_epi16(a, b);
                }
            }
            // s3[4g + 2t + e]: channels 8e..8e+7 of pixels 4g+2t, 4g+2t+1, 8 bytes per pixel.
            let mut s3 = [z; 16];
            for g in 0..4 {
                for e in 0..2 {
                    let (a, b) = (s2[4 * g + 2 * e], s2[4 * g + 2 * e + 1]);
                    s3[4 * g + e] = _mm_unpacklo_epi32(a, b);
                    s3[4 * g + 2 + e] = _mm_unpackhi_epi32(a, b);
                }
            }
            // Channels 0..15 of one pixel per store.
            for g in 0..4 {
                for t in 0..2 {
                    let (a, b) = (s3[4 * g + 2 * t], s3[4 * g + 2 * t + 1]);
                    let p = 4 * g + 2 * t;
                    _mm_storeu_si128(dst.add(p * stride) as *mut __m128i, _mm_unpacklo_epi64(a, b));
                    _mm_storeu_si128(dst.add((p + 1) * stride) as *mut __m128i, _mm_unpackhi_epi64(a, b));
                }
            }
        }
    }
}
