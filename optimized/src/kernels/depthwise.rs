//! Depthwise (one input channel per output channel) integer kernel over a padded NDHWC u8 buffer:
//! `acc[p][c] = Σ_t a[bases[p] + taps[t] + c] · w[t][c]`, exact i32 (wrapping, like the dense
//! kernels). Channels are contiguous in both operands, so one generic body vectorizes along the
//! channels; it is instantiated in a `#[target_feature]` wrapper per ISA and runs unmodified as
//! the scalar twin.

use super::KernelError;
use crate::isa::Isa;

#[inline(always)]
fn body(a: &[u8], bases: &[usize], taps: &[usize], w: &[i8], c: usize, acc: &mut [i32]) {
    for (p, &b) in bases.iter().enumerate() {
        let dst = &mut acc[p * c..(p + 1) * c];
        dst.fill(0);
        for (t, &off) in taps.iter().enumerate() {
            let src = &a[b + off..b + off + c];
            let wt = &w[t * c..(t + 1) * c];
            for i in 0..c {
                dst[i] = dst[i].wrapping_add(src[i] as i32 * wt[i] as i32);
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
fn body_avx512(a: &[u8], bases: &[usize], taps: &[usize], w: &[i8], c: usize, acc: &mut [i32]) {
    body(a, bases, taps, w, c, acc)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,avxvnni")]
fn body_avxvnni(a: &[u8], bases: &[usize], taps: &[usize], w: &[i8], c: usize, acc: &mut [i32]) {
    body(a, bases, taps, w, c, acc)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn body_avx2(a: &[u8], bases: &[usize], taps: &[usize], w: &[i8], c: usize, acc: &mut [i32]) {
    body(a, bases, taps, w, c, acc)
}

/// Depthwise tile: `bases.len()` positions × `c` channels; `w` is `[tap][c]` i8.
pub fn tile(
    isa: Isa,
    a: &[u8],
    bases: &[usize],
    taps: &[usize],
    w: &[i8],
    c: usize,
    acc: &mut [i32],
) -> Result<(), KernelError> {
    if w.len() < taps.len() * c || acc.len() < bases.len() * c {
        return Err(KernelError("depthwise weights or accumulator too small"));
    }
    let max_tap = taps.iter().copied().max().unwrap_or(0);
    if bases.iter().any(|&b| b.checked_add(max_tap + c).is_none_or(|e| e > a.len())) {
        return Err(KernelError("depthwise activation out of bounds"));
    }
    match isa {
        Isa::Scalar => body(a, bases, taps, w, c, acc),
        #[cfg(target_arch = "x86_64")]
        // SAFETY: an `Isa` other than scalar is only selected after runtime detection of its
        // features (isa::select), so the target-feature function runs on a capable CPU.
        Isa::Avx512Vnni => unsafe { body_avx512(a, bases, taps, w, c, acc) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as above.
        Isa::AvxVnni => unsafe { body_avxvnni(a, bases, taps, w, c, acc) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as above.
        Isa::Avx2 => unsafe { body_avx2(a, bases, taps, w, c, acc) },
        #[cfg(not(target_arch = "x86_64"))]
        _ => return Err(KernelError("ISA not compiled")),
    }
    Ok(())
}

/// The scalar twin (the same body without target features).
pub fn twin(a: &[u8], bases: &[usize], taps: &[usize], w: &[i8], c: usize, acc: &mut [i32]) {
    body(a, bases, taps, w, c, acc)
}
