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

/// One output row of one channel of a depthwise convolution in planar (NCHW) layout:
/// `acc[x] += src[x·stride] · w` for every tap, then the INT8.md §4 epilogue with the channel's
/// constants (integer zero point only: `y = f32(acc + add)·m (+ b)`, activation) into `out`.
#[derive(Debug, Clone, Copy)]
pub struct PlaneRow<'a> {
    /// Per tap: the padded input row slice starting at the tap's first column.
    pub taps: &'a [&'a [u8]],
    /// Per tap weight.
    pub w: &'a [i32],
    /// Column stride.
    pub stride: usize,
    /// `−z·Σw` of the channel.
    pub add: i32,
    /// `M` of the channel.
    pub m: f32,
    /// Bias of the channel.
    pub bias: Option<f32>,
    /// Activation.
    pub act: super::epilogue::Act,
}

#[inline(always)]
fn plane_row_body(r: &PlaneRow<'_>, acc: &mut [i32], out: &mut [f32]) {
    let n = out.len();
    // 16 outputs at a time with every tap inner, so the sums stay in registers; the last chunk
    // runs past `n` into slack the caller provides (results discarded).
    let full = n.div_ceil(V) * V;
    let acc = &mut acc[..full];
    let st = r.stride;
    let mut x0 = 0;
    while x0 < full {
        let mut a = [r.add; V];
        for (t, src) in r.taps.iter().enumerate() {
            let w = r.w[t];
            if st == 1 {
                let s = &src[x0..x0 + V];
                for i in 0..V {
                    a[i] = a[i].wrapping_add(s[i] as i32 * w);
                }
            } else {
                let s = &src[x0 * st..x0 * st + (V - 1) * st + 1];
                for i in 0..V {
                    a[i] = a[i].wrapping_add(s[i * st] as i32 * w);
                }
            }
        }
        acc[x0..x0 + V].copy_from_slice(&a);
        x0 += V;
    }
    // INT8.md §4 with an integer zero point: t = f32(S); y = t·M; y = y + b; activation.
    for x in 0..n {
        out[x] = acc[x] as f32;
    }
    for v in out.iter_mut() {
        *v *= r.m;
    }
    if let Some(b) = r.bias {
        for v in out.iter_mut() {
            *v += b;
        }
    }
    match r.act {
        super::epilogue::Act::None => {}
        super::epilogue::Act::Relu => {
            for v in out.iter_mut() {
                *v = if *v > 0.0 { *v } else { 0.0 };
            }
        }
        super::epilogue::Act::Clamp(lo, hi) => {
            for v in out.iter_mut() {
                *v = if *v < lo {
                    lo
                } else if *v > hi {
                    hi
                } else {
                    *v
                };
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
fn plane_row_avx512(r: &PlaneRow<'_>, acc: &mut [i32], out: &mut [f32]) {
    plane_row_body(r, acc, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn plane_row_avx2(r: &PlaneRow<'_>, acc: &mut [i32], out: &mut [f32]) {
    plane_row_body(r, acc, out)
}

/// Outputs per step of the planar row kernel: callers give tap slices and `acc` slack up to the
/// next multiple of this.
pub const V: usize = 16;

/// Runs one planar depthwise row (see [`PlaneRow`]). Checks that every tap slice holds
/// `(⌈n/V⌉·V − 1)·stride + 1` values and `acc` at least `⌈n/V⌉·V` (n = `out.len()`).
pub fn plane_row(isa: Isa, r: &PlaneRow<'_>, acc: &mut [i32], out: &mut [f32]) -> Result<(), KernelError> {
    let n = out.len();
    if n == 0 {
        return Ok(());
    }
    let full = n.div_ceil(V) * V;
    let need = (full - 1) * r.stride + 1;
    if acc.len() < full || r.w.len() < r.taps.len() || r.taps.iter().any(|t| t.len() < need) {
        return Err(KernelError("planar depthwise row out of bounds"));
    }
    match isa {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: a non-scalar `Isa` is only selected after runtime detection of its features.
        Isa::Avx512Vnni => unsafe { plane_row_avx512(r, acc, out) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: avxvnni and avx2 both imply avx2 (checked at detection).
        Isa::AvxVnni | Isa::Avx2 => unsafe { plane_row_avx2(r, acc, out) },
        _ => plane_row_body(r, acc, out),
    }
    Ok(())
}
