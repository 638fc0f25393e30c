//! The INT8.md §4 f32 epilogue on an i32 tile, per element in this exact order (no FMA: Rust
//! never contracts `a*b + c`):
//! ```text
//! S = acc + col_add[n] + row_add[m]          (i32, wrapping: the true S fits i32, rule 5)
//! t = f32(S)
//! if frac ≠ 0: W = w_tile[m][n] or w_col[n] + w_row[m];  p = frac·f32(W);  t = t − p
//! y = t·M[n] ; if bias: y = y + b[n] ; ReLU: y > 0 ? y : +0 ; Clamp: y < lo ? lo : (y > hi ? hi : y)
//! ```
//! Each step is a separate loop over a row so it vectorizes; the per-element operation sequence is
//! unchanged, so the bits are those of the scalar formula. One generic body, instantiated per ISA.

use crate::isa::Isa;

/// The activation at the end of the block.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Act {
    /// None.
    None,
    /// ReLU.
    Relu,
    /// Clamp with `lo = f32(min)`, `hi = f32(max)`.
    Clamp(f32, f32),
}

/// Per-channel (column) parameters, indexed by global channel.
#[derive(Debug, Clone, Copy)]
pub struct Cols<'a> {
    /// Integer term added to the accumulator (e.g. `−z_a·Σ_k q_w`).
    pub add: &'a [i32],
    /// Combined scale `M`.
    pub scale: &'a [f32],
    /// Bias.
    pub bias: Option<&'a [f32]>,
    /// `f32(frac)` of the activation zero point, 0 when none.
    pub frac: f32,
    /// Column part of `W`.
    pub w: &'a [i32],
    /// Activation.
    pub act: Act,
}

/// Per-row parameters of one tile.
#[derive(Debug, Clone, Copy, Default)]
pub struct Rows<'a> {
    /// Integer term per row (act × act MatMul).
    pub add: Option<&'a [i32]>,
    /// Row part of `W`.
    pub w: Option<&'a [i32]>,
    /// Full `W` per element `[m][stride]` (padding-affected convolution tiles).
    pub w_tile: Option<&'a [i32]>,
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn body(
    c: &Cols<'_>,
    r: &Rows<'_>,
    acc: &[i32],
    stride: usize,
    mr: usize,
    o0: usize,
    nc: usize,
    out: &mut [f32],
    ostride: usize,
) {
    let add = &c.add[o0..o0 + nc];
    let scale = &c.scale[o0..o0 + nc];
    #[cfg(feature = "mutants")]
    let (fma, drop_frac) = {
        use crate::mutants::{is, Mutant};
        (is(Mutant::FmaEpilogue), is(Mutant::DropFracZp))
    };
    #[cfg(not(feature = "mutants"))]
    let (fma, drop_frac) = (false, false);
    if c.frac == 0.0 && !fma {
        // The common case (integer zero points): one pass per row, the same per-element steps
        // in the same order as below, so the same bits.
        for m in 0..mr {
            let a = &acc[m * stride..m * stride + nc];
            let y = &mut out[m * ostride..m * ostride + nc];
            let ra = r.add.map_or(0, |v| v[m]);
            match c.bias {
                Some(b) => {
                    let b = &b[o0..o0 + nc];
                    // The seeded bug: channels of the last, partial vector of 16 read the bias 16 before.
                    #[cfg(feature = "mutants")]
                    let tail = match crate::mutants::is(crate::mutants::Mutant::EpilogueTailBias) {
                        true if nc > 16 && !nc.is_multiple_of(16) => nc / 16 * 16,
                        _ => usize::MAX,
                    };
                    for j in 0..nc {
                        #[cfg(feature = "mutants")]
                        let bj = if j >= tail { b[j - 16] } else { b[j] };
                        #[cfg(not(feature = "mutants"))]
                        let bj = b[j];
                        y[j] = act1((a[j].wrapping_add(add[j]).wrapping_add(ra)) as f32 * scale[j] + bj, c.act);
                    }
                }
                None => {
                    for j in 0..nc {
                        y[j] = act1((a[j].wrapping_add(add[j]).wrapping_add(ra)) as f32 * scale[j], c.act);
                    }
                }
            }
        }
        return;
    }
    for m in 0..mr {
        let a = &acc[m * stride..m * stride + nc];
        let y = &mut out[m * ostride..m * ostride + nc];
        let ra = r.add.map_or(0, |v| v[m]);
        for j in 0..nc {
            y[j] = (a[j].wrapping_add(add[j]).wrapping_add(ra)) as f32;
        }
        if c.frac != 0.0 && !drop_frac {
            if let Some(wt) = r.w_tile {
                let wt = &wt[m * stride..m * stride + nc];
                for j in 0..nc {
                    let p = c.frac * (wt[j] as f32);
                    y[j] -= p;
                }
            } else {
                let wc = &c.w[o0..o0 + nc];
                let wr = r.w.map_or(0, |v| v[m]);
                for j in 0..nc {
                    let p = c.frac * (wc[j].wrapping_add(wr) as f32);
                    y[j] -= p;
                }
            }
        }
        match c.bias {
            Some(b) if fma => {
                let b = &b[o0..o0 + nc];
                for j in 0..nc {
                    y[j] = y[j].mul_add(scale[j], b[j]);
                }
            }
            _ => {
                for j in 0..nc {
                    y[j] *= scale[j];
                }
                if let Some(b) = c.bias {
                    let b = &b[o0..o0 + nc];
                    for j in 0..nc {
                        y[j] += b[j];
                    }
                }
            }
        }
        match c.act {
            Act::None => {}
            Act::Relu => {
                for v in y.iter_mut() {
                    *v = if *v > 0.0 { *v } else { 0.0 };
                }
            }
            Act::Clamp(lo, hi) => {
                for v in y.iter_mut() {
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
}

/// The activation of one value (ReLU: `y > 0 ? y : +0`; Clamp: `y < lo ? lo : (y > hi ? hi : y)`).
#[inline(always)]
fn act1(y: f32, act: Act) -> f32 {
    match act {
        Act::None => y,
        Act::Relu => {
            if y > 0.0 {
                y
            } else {
                0.0
            }
        }
        Act::Clamp(lo, hi) => {
            if y < lo {
                lo
            } else if y > hi {
                hi
            } else {
                y
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
#[allow(clippy::too_many_arguments)]
fn body_avx512(
    c: &Cols<'_>,
    r: &Rows<'_>,
    acc: &[i32],
    stride: usize,
    mr: usize,
    o0: usize,
    nc: usize,
    out: &mut [f32],
    ostride: usize,
) {
    body(c, r, acc, stride, mr, o0, nc, out, ostride)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[allow(clippy::too_many_arguments)]
fn body_avx2(
    c: &Cols<'_>,
    r: &Rows<'_>,
    acc: &[i32],
    stride: usize,
    mr: usize,
    o0: usize,
    nc: usize,
    out: &mut [f32],
    ostride: usize,
) {
    body(c, r, acc, stride, mr, o0, nc, out, ostride)
}

/// Applies the epilogue to rows `0..mr`, columns `0..nc` (global channels `o0..o0+nc`) of an i32
/// tile with row stride `stride`, writing f32 to `out` with row stride `ostride`. The caller sizes
/// the slices (`acc` ≥ `mr·stride`, `out` ≥ `(mr−1)·ostride + nc`; column arrays ≥ `o0+nc`; row
/// arrays ≥ `mr`; `w_tile` uses `stride`).
#[allow(clippy::too_many_arguments)]
pub fn apply(
    isa: Isa,
    c: &Cols<'_>,
    r: &Rows<'_>,
    acc: &[i32],
    stride: usize,
    mr: usize,
    o0: usize,
    nc: usize,
    out: &mut [f32],
    ostride: usize,
) {
    match isa {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: a non-scalar `Isa` is only selected after runtime detection of its features.
        Isa::Avx512Vnni => unsafe { body_avx512(c, r, acc, stride, mr, o0, nc, out, ostride) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: avxvnni and avx2 variants both imply avx2 (checked at detection).
        Isa::AvxVnni | Isa::Avx2 => unsafe { body_avx2(c, r, acc, stride, mr, o0, nc, out, ostride) },
        _ => body(c, r, acc, stride, mr, o0, nc, out, ostride),
    }
}

/// The epilogue of an output whose valid taps read a NaN activation (INT8.md §3): `y = NaN` after
/// the scale step, then the remaining steps as written (ReLU gives +0, Clamp keeps NaN).
pub fn nan_output(bias: Option<f32>, act: Act) -> f32 {
    let mut y = f32::NAN;
    if let Some(b) = bias {
        y += b;
    }
    match act {
        Act::None => y,
        Act::Relu => {
            if y > 0.0 {
                y
            } else {
                0.0
            }
        }
        Act::Clamp(lo, hi) => {
            if y < lo {
                lo
            } else if y > hi {
                hi
            } else {
                y
            }
        }
    }
}

#[inline(always)]
fn columns_body(ft: &[f32], stride: usize, rows: usize, nc: usize, dst: &mut [&mut [f32]], off: usize) {
    for (j, d) in dst.iter_mut().enumerate().take(nc) {
        let d = &mut d[off..off + rows];
        let col = &ft[j..];
        for (i, v) in d.iter_mut().enumerate() {
            *v = col[i * stride];
        }
    }
}

/// AVX-512: 16 rows of one column per `vgatherdps`, stored as one contiguous vector.
///
/// # Safety
/// The CPU must have avx512f; `rows·stride ≤ ft.len()`, `nc ≤ stride`, `stride·16 < 2^31`, and
/// every `dst[j]` (j < nc) must hold `off + rows` values (checked by [`write_columns`]).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
unsafe fn columns_avx512(ft: &[f32], stride: usize, rows: usize, nc: usize, dst: &mut [&mut [f32]], off: usize) {
    use std::arch::x86_64::*;
    let idx = _mm512_mullo_epi32(
        _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
        _mm512_set1_epi32(stride as i32),
    );
    let full = rows / 16 * 16;
    for (j, d) in dst.iter_mut().enumerate().take(nc) {
        let d = &mut d[off..off + rows];
        let mut i = 0;
        while i < full {
            // SAFETY: the largest index read is (i + 15)·stride + j < rows·stride ≤ ft.len(), and
            // d[i..i + 16] is inside d (i + 16 ≤ full ≤ rows).
            unsafe {
                let v = _mm512_i32gather_ps::<4>(idx, ft.as_ptr().add(i * stride + j));
                _mm512_storeu_ps(d.as_mut_ptr().add(i), v);
            }
            i += 16;
        }
        for (k, v) in d.iter_mut().enumerate().skip(full) {
            *v = ft[k * stride + j];
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn columns_avx2(ft: &[f32], stride: usize, rows: usize, nc: usize, dst: &mut [&mut [f32]], off: usize) {
    columns_body(ft, stride, rows, nc, dst, off)
}

/// Writes a `[rows][stride]` f32 tile transposed: column `j < nc` goes to `dst[j][off..off+rows]`
/// (an NC(D)HW output row per channel). The caller sizes the slices.
pub fn write_columns(isa: Isa, ft: &[f32], stride: usize, rows: usize, nc: usize, dst: &mut [&mut [f32]], off: usize) {
    match isa {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: avx512 was detected before this `Isa` was selected; the bounds the function
        // needs are checked here.
        Isa::Avx512Vnni
            if rows * stride <= ft.len()
                && nc <= stride
                && stride < 1 << 20
                && dst.iter().take(nc).all(|d| d.len() >= off + rows) =>
        unsafe { columns_avx512(ft, stride, rows, nc, dst, off) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: avxvnni and avx2 both imply avx2 (checked at detection).
        Isa::AvxVnni | Isa::Avx2 => unsafe { columns_avx2(ft, stride, rows, nc, dst, off) },
        _ => columns_body(ft, stride, rows, nc, dst, off),
    }
}
