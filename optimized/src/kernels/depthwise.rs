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

/// One output row of one channel of a depthwise convolution with `vpdpbusd`: the caller expands
/// each padded input row into 4-byte groups `E[x] = (a[x·sw + k₀·dw], …, a[x·sw + k₃·dw])` of up
/// to 4 horizontal taps `k₀..k₃` (one group per output position), so one `vpdpbusd` with the 4
/// tap weights broadcast adds 4 taps for 16 outputs. Then the INT8.md §4 epilogue (integer zero
/// point) in registers and a (masked) store into the NC(D)HW row.
#[derive(Debug, Clone, Copy)]
pub struct DpRow<'a> {
    /// Per (vertical tap, horizontal group): the expanded row, from the row's first output.
    pub taps: &'a [&'a [u8]],
    /// Per (vertical tap, horizontal group): the 4 i8 weights as one little-endian dword (0 for
    /// taps past the kernel width).
    pub w: &'a [i32],
    /// `−z·Σw` of the channel.
    pub add: i32,
    /// `M` of the channel.
    pub m: f32,
    /// Bias of the channel.
    pub bias: Option<f32>,
    /// Activation.
    pub act: super::epilogue::Act,
}

/// True when `isa` has the [`dp_row`] kernel (avx512vnni, avxvnni; others use [`plane_row`]).
pub fn has_dp_row(isa: Isa) -> bool {
    matches!(isa, Isa::Avx512Vnni | Isa::AvxVnni)
}

/// Bytes every tap slice of [`dp_row`] must hold for `n` outputs (whole 16-output vectors).
pub fn dp_row_need(n: usize) -> usize {
    n.div_ceil(16) * 64
}

/// Runs one expanded depthwise row (see [`DpRow`]) into `out` (`n = out.len()` outputs). Checks
/// that every tap slice holds [`dp_row_need`]`(n)` bytes and that there is one weight per tap.
pub fn dp_row(isa: Isa, r: &DpRow<'_>, out: &mut [f32]) -> Result<(), KernelError> {
    let n = out.len();
    if n == 0 {
        return Ok(());
    }
    if r.w.len() != r.taps.len() || r.taps.iter().any(|t| t.len() < dp_row_need(n)) {
        return Err(KernelError("expanded depthwise row out of bounds"));
    }
    match isa {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: every tap slice holds ⌈n/16⌉·64 bytes (checked above), the kernels read at most
        // that many per tap and store only `n` outputs; avx512vnni was detected before this `Isa`
        // was selected (isa::select).
        Isa::Avx512Vnni => unsafe { dp_x86::row_avx512(r, out) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as above (the avxvnni kernel reads ⌈n/8⌉·32 ≤ ⌈n/16⌉·64 bytes per tap).
        Isa::AvxVnni => unsafe { dp_x86::row_avxvnni(r, out) },
        _ => return Err(KernelError("no expanded depthwise kernel for this ISA")),
    }
    Ok(())
}

/// The scalar twin of [`dp_row`]: the same expanded rows and dword weights, plain loops.
pub fn dp_row_twin(r: &DpRow<'_>, out: &mut [f32]) {
    for (x, y) in out.iter_mut().enumerate() {
        let mut acc = r.add;
        for (t, &w) in r.taps.iter().zip(r.w) {
            let wb = w.to_le_bytes();
            for j in 0..4 {
                acc = acc.wrapping_add(t[4 * x + j] as i32 * wb[j] as i8 as i32);
            }
        }
        let mut v = acc as f32;
        v *= r.m;
        if let Some(b) = r.bias {
            v += b;
        }
        *y = match r.act {
            super::epilogue::Act::None => v,
            super::epilogue::Act::Relu => {
                if v > 0.0 {
                    v
                } else {
                    0.0
                }
            }
            super::epilogue::Act::Clamp(lo, hi) => {
                if v < lo {
                    lo
                } else if v > hi {
                    hi
                } else {
                    v
                }
            }
        };
    }
}

#[cfg(target_arch = "x86_64")]
mod dp_x86 {
    //! SIMD bodies of [`super::dp_row`]. Each `unsafe fn` requires every tap slice to hold
    //! `⌈n/16⌉·64` bytes and the CPU features of its `target_feature`.
    use super::super::epilogue::Act;
    use super::DpRow;
    use std::arch::x86_64::*;

    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    pub unsafe fn row_avx512(r: &DpRow<'_>, out: &mut [f32]) {
        let n = out.len();
        // SAFETY (whole body): reads below ⌈n/16⌉·64 bytes of each tap slice (the caller's
        // check); stores only the first `n` outputs (masked tail).
        unsafe {
            let add = _mm512_set1_epi32(r.add);
            let m = _mm512_set1_ps(r.m);
            let b = _mm512_set1_ps(r.bias.unwrap_or(0.0));
            let zero = _mm512_setzero_ps();
            // Bytes per output position in the expanded rows (the seeded bug takes 1).
            #[cfg(feature = "mutants")]
            let bpp = if crate::mutants::is(crate::mutants::Mutant::DwVectorOffset) { 1 } else { 4 };
            #[cfg(not(feature = "mutants"))]
            let bpp = 4;
            let mut x0 = 0;
            while x0 < n {
                let mut acc = add;
                for (t, &w) in r.taps.iter().zip(r.w) {
                    let a = _mm512_loadu_si512(t.as_ptr().add(bpp * x0) as *const __m512i);
                    acc = _mm512_dpbusd_epi32(acc, a, _mm512_set1_epi32(w));
                }
                let mut y = _mm512_mul_ps(_mm512_cvtepi32_ps(acc), m);
                if r.bias.is_some() {
                    y = _mm512_add_ps(y, b);
                }
                match r.act {
                    Act::None => {}
                    // vmaxps returns the second operand for −0/NaN: y > 0 ? y : +0.
                    Act::Relu => y = _mm512_max_ps(y, zero),
                    Act::Clamp(lo, hi) => {
                        let (lo, hi) = (_mm512_set1_ps(lo), _mm512_set1_ps(hi));
                        let mh = _mm512_cmp_ps_mask::<_CMP_GT_OQ>(y, hi);
                        let ml = _mm512_cmp_ps_mask::<_CMP_LT_OQ>(y, lo);
                        y = _mm512_mask_blend_ps(mh, y, hi);
                        y = _mm512_mask_blend_ps(ml, y, lo);
                    }
                }
                if x0 + 16 <= n {
                    _mm512_storeu_ps(out.as_mut_ptr().add(x0), y);
                } else {
                    let k: __mmask16 = ((1u32 << (n - x0)) - 1) as __mmask16;
                    _mm512_mask_storeu_ps(out.as_mut_ptr().add(x0), k, y);
                }
                x0 += 16;
            }
        }
    }

    #[target_feature(enable = "avx2,avxvnni")]
    pub unsafe fn row_avxvnni(r: &DpRow<'_>, out: &mut [f32]) {
        let n = out.len();
        // SAFETY (whole body): reads below ⌈n/8⌉·32 bytes of each tap slice; stores only the
        // first `n` outputs (masked tail).
        unsafe {
            let add = _mm256_set1_epi32(r.add);
            let m = _mm256_set1_ps(r.m);
            let b = _mm256_set1_ps(r.bias.unwrap_or(0.0));
            let zero = _mm256_setzero_ps();
            let idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
            let mut x0 = 0;
            while x0 < n {
                let mut acc = add;
                for (t, &w) in r.taps.iter().zip(r.w) {
                    let a = _mm256_loadu_si256(t.as_ptr().add(4 * x0) as *const __m256i);
                    acc = _mm256_dpbusd_avx_epi32(acc, a, _mm256_set1_epi32(w));
                }
                let mut y = _mm256_mul_ps(_mm256_cvtepi32_ps(acc), m);
                if r.bias.is_some() {
                    y = _mm256_add_ps(y, b);
                }
                match r.act {
                    Act::None => {}
                    // vmaxps returns the second operand for −0/NaN: y > 0 ? y : +0.
                    Act::Relu => y = _mm256_max_ps(y, zero),
                    Act::Clamp(lo, hi) => {
                        let (lo, hi) = (_mm256_set1_ps(lo), _mm256_set1_ps(hi));
                        let mh = _mm256_cmp_ps::<_CMP_GT_OQ>(y, hi);
                        let ml = _mm256_cmp_ps::<_CMP_LT_OQ>(y, lo);
                        y = _mm256_blendv_ps(y, hi, mh);
                        y = _mm256_blendv_ps(y, lo, ml);
                    }
                }
                if x0 + 8 <= n {
                    _mm256_storeu_ps(out.as_mut_ptr().add(x0), y);
                } else {
                    let k = _mm256_cmpgt_epi32(_mm256_set1_epi32((n - x0) as i32), idx);
                    _mm256_maskstore_ps(out.as_mut_ptr().add(x0), k, y);
                }
                x0 += 8;
            }
        }
    }
}

/// Expands one padded input row for [`dp_row`]: `out[4x + j] = row[x·sw + offs[j]]` for every
/// position `x < out.len()/4` (data movement only). Errors when a read would leave `row`.
pub fn expand_row(isa: Isa, row: &[u8], offs: [usize; 4], sw: usize, out: &mut [u8]) -> Result<(), KernelError> {
    // The seeded bug drops the group offset of the second and later groups of 4 taps.
    #[cfg(feature = "mutants")]
    let offs = if crate::mutants::is(crate::mutants::Mutant::DwTapGroup) { offs.map(|o| o - offs[0]) } else { offs };
    let wa = out.len() / 4;
    let max_off = offs.iter().copied().max().unwrap_or(0);
    if sw == 0 || !out.len().is_multiple_of(4) || (wa > 0 && (wa - 1) * sw + max_off >= row.len()) {
        return Err(KernelError("depthwise row expansion out of bounds"));
    }
    match isa {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: a non-scalar `Isa` is only selected after runtime detection of its features.
        Isa::Avx512Vnni => unsafe { expand_avx512(row, offs, sw, out) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: avxvnni and avx2 both imply avx2 (checked at detection).
        Isa::AvxVnni | Isa::Avx2 => unsafe { expand_avx2(row, offs, sw, out) },
        _ => expand_body(row, offs, sw, out),
    }
    Ok(())
}

#[inline(always)]
fn expand_body(row: &[u8], offs: [usize; 4], sw: usize, out: &mut [u8]) {
    let wa = out.len() / 4;
    if sw == 1 {
        // 16 positions per step on fixed-size arrays (no bounds checks inside, so it vectorizes:
        // zero-extend, shift, or), then the scalar tail.
        let full = wa / 16 * 16;
        let src = |j: usize| &row[offs[j]..offs[j] + wa];
        let (s0, s1, s2, s3) = (src(0), src(1), src(2), src(3));
        for (xc, d) in out[..full * 4].chunks_exact_mut(64).enumerate() {
            let x0 = xc * 16;
            let arr = |s: &[u8]| -> [u8; 16] {
                let mut a = [0u8; 16];
                a.copy_from_slice(&s[x0..x0 + 16]);
                a
            };
            let (a0, a1, a2, a3) = (arr(s0), arr(s1), arr(s2), arr(s3));
            let mut v = [0u32; 16];
            for i in 0..16 {
                v[i] = a0[i] as u32 | (a1[i] as u32) << 8 | (a2[i] as u32) << 16 | (a3[i] as u32) << 24;
            }
            for (dd, vv) in d.chunks_exact_mut(4).zip(v) {
                dd.copy_from_slice(&vv.to_le_bytes());
            }
        }
        for x in full..wa {
            for j in 0..4 {
                out[4 * x + j] = row[x + offs[j]];
            }
        }
    } else {
        for x in 0..wa {
            for j in 0..4 {
                out[4 * x + j] = row[x * sw + offs[j]];
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
fn expand_avx512(row: &[u8], offs: [usize; 4], sw: usize, out: &mut [u8]) {
    expand_body(row, offs, sw, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn expand_avx2(row: &[u8], offs: [usize; 4], sw: usize, out: &mut [u8]) {
    expand_body(row, offs, sw, out)
}
