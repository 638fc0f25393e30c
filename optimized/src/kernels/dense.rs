//! The dense int8 micro-kernel family.
//!
//! Computes an `MR × (NV·LANES)` tile of exact i32 sums `Σ_k a[m,k]·w[k,n]`, `a` u8 and `w` i8,
//! wrapping modulo 2^32 like `vpdpbusd` (the plan proves the true sum fits i32, INT8.md rule 5).
//!
//! Addressing (implicit GEMM): row `m` reads, for every tap `t` in order and channel group `g`,
//! the 4 bytes at `a[bases[m] + taps[t] + 4g ..]`; the reduction index is `k = (t·cg + g)·4 + j`.
//! A MatMul is one tap at offset 0; a convolution has one tap per kernel position over a padded
//! NDHWC u8 buffer.
//!
//! Weight packing, per block of `LANES` output channels (`block_len = kg·LANES·4` elements):
//! - [`PackFmt::Dp4`] (avx512vnni: LANES 16, avxvnni: 8, scalar: 16): i8 `[kg][lane][4]`, the
//!   operand layout of `vpdpbusd` with one broadcast 4-byte activation group.
//! - [`PackFmt::Pair16`] (avx2: LANES 8): i8 `[kg][half][lane][2]`, the two pairs `(k0,k1)`,
//!   `(k2,k3)` that `vpmovsxbw` widens to i16 at load time for `vpmaddwd` (u8 activations widened
//!   with `vpshufb`, never the saturating `vpmaddubsw`). Stored as i8, like every other format, so
//!   an avx2 plan holds the same weight bytes as the VNNI ones (issue 5: int8 packed once).

use super::KernelError;
use crate::isa::Isa;

/// Weight packing formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PackFmt {
    /// i8 `[kg][lane][4]`.
    Dp4,
    /// i8 `[kg][half][lane][2]`, widened to i16 pairs at load time.
    Pair16,
}

/// Packed weights of one GEMM: `nblocks` blocks of `lanes` output channels over `kg` groups of 4.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackedW {
    /// The format.
    pub fmt: PackFmt,
    /// Channels per block.
    pub lanes: usize,
    /// Reduction groups of 4.
    pub kg: usize,
    /// Number of channel blocks.
    pub nblocks: usize,
    /// The packed weights, in the layout `fmt` names.
    pub i8s: Vec<i8>,
}

impl PackedW {
    /// The packing this ISA's kernel reads.
    pub fn format_for(isa: Isa) -> (PackFmt, usize) {
        match isa {
            Isa::Avx512Vnni | Isa::Scalar => (PackFmt::Dp4, 16),
            Isa::AvxVnni => (PackFmt::Dp4, 8),
            Isa::Avx2 => (PackFmt::Pair16, 8),
        }
    }

    /// Elements per block.
    pub fn block_len(&self) -> usize {
        self.kg * self.lanes * 4
    }

    /// Packs `n` channels × `kpad = 4·kg` reduction values given by `get(n, k)` (k < kpad; the
    /// caller returns 0 for padding).
    pub fn pack(isa: Isa, n: usize, kg: usize, get: impl Fn(usize, usize) -> i8) -> PackedW {
        let kp = kg * 4;
        let mut rows = vec![0i8; n * kp];
        for (ch, row) in rows.chunks_exact_mut(kp.max(1)).enumerate().take(n) {
            for (k, v) in row.iter_mut().enumerate() {
                *v = get(ch, k);
            }
        }
        Self::pack_rows(isa, n, kg, &rows)
    }

    /// Packs row-major `[n][4·kg]` values (one row per output channel).
    pub fn pack_rows(isa: Isa, n: usize, kg: usize, rows: &[i8]) -> PackedW {
        let (fmt, lanes) = Self::format_for(isa);
        let kp = kg * 4;
        let nblocks = n.div_ceil(lanes);
        let block_len = kg * lanes * 4;
        let mut p = PackedW { fmt, lanes, kg, nblocks, i8s: Vec::new() };
        let row = |ch: usize| if ch < n { rows.get(ch * kp..ch * kp + kp) } else { None };
        #[cfg(feature = "mutants")]
        let bstride = if crate::mutants::is(crate::mutants::Mutant::PackStride) { lanes - 1 } else { lanes };
        #[cfg(not(feature = "mutants"))]
        let bstride = lanes;
        match fmt {
            PackFmt::Dp4 => {
                let mut d = vec![0i8; nblocks * block_len];
                for b in 0..nblocks {
                    for l in 0..lanes {
                        let Some(r) = row(b * bstride + l) else { continue };
                        for g in 0..kg {
                            let o = b * block_len + (g * lanes + l) * 4;
                            d[o..o + 4].copy_from_slice(&r[g * 4..g * 4 + 4]);
                        }
                    }
                }
                p.i8s = d;
            }
            PackFmt::Pair16 => {
                let mut d = vec![0i8; nblocks * block_len];
                for b in 0..nblocks {
                    for l in 0..lanes {
                        let Some(r) = row(b * lanes + l) else { continue };
                        for g in 0..kg {
                            for half in 0..2 {
                                let o = b * block_len + ((g * 2 + half) * lanes + l) * 2;
                                d[o..o + 2].copy_from_slice(&r[g * 4 + half * 2..g * 4 + half * 2 + 2]);
                            }
                        }
                    }
                }
                p.i8s = d;
            }
        }
        p
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.i8s.len()
    }
}

/// Rows per tile the ISA's kernel computes for `nv` channel blocks (the register blocking).
pub fn tile_rows(isa: Isa, nv: usize) -> usize {
    match isa {
        Isa::Avx512Vnni | Isa::Scalar => 6,
        Isa::AvxVnni | Isa::Avx2 => {
            if nv >= 3 {
                3
            } else {
                6
            }
        }
    }
}

/// Most channel blocks one call handles.
pub const MAX_NV: usize = 4;

/// One tile: rows `bases.len()` (≤ [`tile_rows`]; 1 is special-cased for M = 1), channel blocks
/// `ob .. ob+nv` of `w`. Writes `acc[m·nv·lanes + n]` for `m < bases.len()`; `acc` must hold
/// `tile_rows(isa, nv)·nv·lanes` values (rows past `bases.len()` are scratch).
#[allow(clippy::too_many_arguments)]
pub fn tile(
    isa: Isa,
    a: &[u8],
    bases: &[usize],
    taps: &[usize],
    cg: usize,
    w: &PackedW,
    ob: usize,
    nv: usize,
    acc: &mut [i32],
) -> Result<(), KernelError> {
    let mr_full = tile_rows(isa, nv);
    let mr = bases.len();
    if mr == 0 || mr > mr_full || nv == 0 || nv > MAX_NV {
        return Err(KernelError("tile shape"));
    }
    if (w.fmt, w.lanes) != PackedW::format_for(isa) {
        return Err(KernelError("weights packed for another ISA"));
    }
    if taps.len().checked_mul(cg) != Some(w.kg) || ob + nv > w.nblocks {
        return Err(KernelError("weight blocks"));
    }
    if acc.len() < mr_full * nv * w.lanes {
        return Err(KernelError("accumulator tile too small"));
    }
    let max_tap = taps.iter().copied().max().unwrap_or(0);
    for &b in bases {
        let end = b.checked_add(max_tap).and_then(|x| x.checked_add(4 * cg));
        if end.is_none_or(|e| e > a.len()) {
            return Err(KernelError("activation row out of bounds"));
        }
    }
    // Short tiles repeat the last row so the kernel always runs its full register blocking
    // (except the dedicated single-row kernel).
    let mut padded = [0usize; 8];
    let rows = if mr == 1 { 1 } else { mr_full };
    for (i, slot) in padded.iter_mut().take(rows).enumerate() {
        *slot = bases[i.min(mr - 1)];
    }
    let bl = w.block_len();
    match isa {
        Isa::Scalar => {
            scalar_dp4(a, &padded[..rows], taps, cg, &w.i8s[ob * bl..], bl, nv, w.lanes, acc);
        }
        Isa::Avx2 => {
            #[cfg(target_arch = "x86_64")]
            dispatch_x86(isa, a, &padded, rows, taps, cg, w, ob, nv, acc);
            #[cfg(not(target_arch = "x86_64"))]
            return Err(KernelError("ISA not compiled"));
        }
        Isa::AvxVnni | Isa::Avx512Vnni => {
            #[cfg(target_arch = "x86_64")]
            dispatch_x86(isa, a, &padded, rows, taps, cg, w, ob, nv, acc);
            #[cfg(not(target_arch = "x86_64"))]
            return Err(KernelError("ISA not compiled"));
        }
    }
    Ok(())
}

/// The scalar twin of the Dp4 kernels (any LANES): the same packed data, plain loops.
#[allow(clippy::too_many_arguments)]
pub fn scalar_dp4(
    a: &[u8],
    bases: &[usize],
    taps: &[usize],
    cg: usize,
    w: &[i8],
    bstride: usize,
    nv: usize,
    lanes: usize,
    acc: &mut [i32],
) {
    let ncol = nv * lanes;
    #[cfg(feature = "mutants")]
    let (sat16, kg_used) = {
        use crate::mutants::{is, Mutant};
        let total = taps.len() * cg;
        let used = if is(Mutant::LostTail) && total >= 4 { total / 4 * 4 } else { total };
        (is(Mutant::I16Saturation), used)
    };
    for (m, &b) in bases.iter().enumerate() {
        let row = &mut acc[m * ncol..(m + 1) * ncol];
        row.fill(0);
        let mut kgi = 0;
        for &t in taps {
            for g in 0..cg {
                #[cfg(feature = "mutants")]
                if kgi >= kg_used {
                    kgi += 1;
                    continue;
                }
                let ab = &a[b + t + 4 * g..b + t + 4 * g + 4];
                for v in 0..nv {
                    let wb = &w[v * bstride + kgi * lanes * 4..v * bstride + (kgi + 1) * lanes * 4];
                    for l in 0..lanes {
                        let mut s = 0i32;
                        for j in 0..4 {
                            s += ab[j] as i32 * wb[l * 4 + j] as i32;
                        }
                        #[cfg(feature = "mutants")]
                        if sat16 {
                            let p = |j: usize| ab[j] as i32 * wb[l * 4 + j] as i32;
                            s = crate::mutants::sat16(p(0) + p(1)) + crate::mutants::sat16(p(2) + p(3));
                        }
                        row[v * lanes + l] = row[v * lanes + l].wrapping_add(s);
                    }
                }
                kgi += 1;
            }
        }
    }
}

/// The scalar twin of the Pair16 (avx2) kernel: the same packed data, plain loops.
#[allow(clippy::too_many_arguments)]
pub fn scalar_pair16(
    a: &[u8],
    bases: &[usize],
    taps: &[usize],
    cg: usize,
    w: &[i8],
    bstride: usize,
    nv: usize,
    lanes: usize,
    acc: &mut [i32],
) {
    let ncol = nv * lanes;
    for (m, &b) in bases.iter().enumerate() {
        let row = &mut acc[m * ncol..(m + 1) * ncol];
        row.fill(0);
        let mut kgi = 0;
        for &t in taps {
            for g in 0..cg {
                let ab = &a[b + t + 4 * g..b + t + 4 * g + 4];
                for v in 0..nv {
                    let wb = &w[v * bstride + kgi * lanes * 4..v * bstride + (kgi + 1) * lanes * 4];
                    for l in 0..lanes {
                        let p01 = ab[0] as i32 * wb[l * 2] as i32 + ab[1] as i32 * wb[l * 2 + 1] as i32;
                        let p23 = ab[2] as i32 * wb[lanes * 2 + l * 2] as i32
                            + ab[3] as i32 * wb[lanes * 2 + l * 2 + 1] as i32;
                        row[v * lanes + l] = row[v * lanes + l].wrapping_add(p01).wrapping_add(p23);
                    }
                }
                kgi += 1;
            }
        }
    }
}

/// Runs the scalar twin of `isa`'s kernel on the same inputs as [`tile`] (for tests).
#[allow(clippy::too_many_arguments)]
pub fn tile_twin(
    a: &[u8],
    bases: &[usize],
    taps: &[usize],
    cg: usize,
    w: &PackedW,
    ob: usize,
    nv: usize,
    acc: &mut [i32],
) {
    let bl = w.block_len();
    match w.fmt {
        PackFmt::Dp4 => scalar_dp4(a, bases, taps, cg, &w.i8s[ob * bl..], bl, nv, w.lanes, acc),
        PackFmt::Pair16 => scalar_pair16(a, bases, taps, cg, &w.i8s[ob * bl..], bl, nv, w.lanes, acc),
    }
}

#[cfg(target_arch = "x86_64")]
#[allow(clippy::too_many_arguments)]
fn dispatch_x86(
    isa: Isa,
    a: &[u8],
    bases: &[usize; 8],
    rows: usize,
    taps: &[usize],
    cg: usize,
    w: &PackedW,
    ob: usize,
    nv: usize,
    acc: &mut [i32],
) {
    use x86::*;
    let bl = w.block_len();
    macro_rules! go {
        ($f:ident, $ptr:expr, $mr:literal) => {
            match nv {
                1 => $f::<$mr, 1>(a.as_ptr(), bases, taps, cg, $ptr, bl, acc.as_mut_ptr()),
                2 => $f::<$mr, 2>(a.as_ptr(), bases, taps, cg, $ptr, bl, acc.as_mut_ptr()),
                3 => $f::<$mr, 3>(a.as_ptr(), bases, taps, cg, $ptr, bl, acc.as_mut_ptr()),
                _ => $f::<$mr, 4>(a.as_ptr(), bases, taps, cg, $ptr, bl, acc.as_mut_ptr()),
            }
        };
    }
    // SAFETY: `tile` checked every activation address (`bases[m] + tap + 4·cg ≤ a.len()`), that
    // blocks `ob..ob+nv` exist in `w`, that `acc` holds the full tile, and `isa` is only
    // constructed for a variant the CPU was detected to support (isa::select), so the
    // target-feature functions run on a CPU that has their features.
    unsafe {
        match (isa, rows) {
            (Isa::Avx512Vnni, 1) => go!(tile_avx512, w.i8s.as_ptr().add(ob * bl), 1),
            (Isa::Avx512Vnni, _) => go!(tile_avx512, w.i8s.as_ptr().add(ob * bl), 6),
            (Isa::AvxVnni, 1) => go!(tile_avxvnni, w.i8s.as_ptr().add(ob * bl), 1),
            (Isa::AvxVnni, 3) => go!(tile_avxvnni, w.i8s.as_ptr().add(ob * bl), 3),
            (Isa::AvxVnni, _) => go!(tile_avxvnni, w.i8s.as_ptr().add(ob * bl), 6),
            (Isa::Avx2, 1) => go!(tile_avx2, w.i8s.as_ptr().add(ob * bl), 1),
            (Isa::Avx2, 3) => go!(tile_avx2, w.i8s.as_ptr().add(ob * bl), 3),
            (Isa::Avx2, _) => go!(tile_avx2, w.i8s.as_ptr().add(ob * bl), 6),
            (Isa::Scalar, _) => {}
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[allow(clippy::needless_range_loop)] // const-generic register arrays, fully unrolled
mod x86 {
    //! The SIMD bodies. Each `unsafe fn` requires: every `a + bases[m] + tap + 4·cg` in bounds,
    //! `w` valid for `NV` blocks of `bstride` elements, `acc` valid for `MR·NV·LANES` i32, and the
    //! CPU features of its `target_feature`.
    use std::arch::x86_64::*;

    macro_rules! dp_body {
        ($name:ident, $feat:literal, $vec:ty, $zero:ident, $load:ident, $store:ident, $set1:ident, $dp:ident, $lanes:literal) => {
            #[target_feature(enable = $feat)]
            pub unsafe fn $name<const MR: usize, const NV: usize>(
                a: *const u8,
                bases: &[usize; 8],
                taps: &[usize],
                cg: usize,
                w: *const i8,
                bstride: usize,
                acc: *mut i32,
            ) {
                // SAFETY (whole body): the caller guarantees the bounds listed in the module doc.
                unsafe {
                    // The seeded bug (16 lanes, 4 blocks): block 3 loads block 2's weights.
                    #[cfg(feature = "mutants")]
                    let nv4_bug = NV == 4 && $lanes == 16 && crate::mutants::is(crate::mutants::Mutant::DenseNv4);
                    let mut c = [[$zero(); NV]; MR];
                    let mut wp = w;
                    for &t in taps {
                        let mut ap = [a; MR];
                        for m in 0..MR {
                            ap[m] = a.add(bases[m] + t);
                        }
                        for _ in 0..cg {
                            let mut wv = [$zero(); NV];
                            for v in 0..NV {
                                #[cfg(feature = "mutants")]
                                let vw = if v == 3 && nv4_bug { 2 } else { v };
                                #[cfg(not(feature = "mutants"))]
                                let vw = v;
                                wv[v] = $load(wp.add(vw * bstride) as *const $vec);
                            }
                            for m in 0..MR {
                                let x = $set1((ap[m] as *const i32).read_unaligned());
                                for v in 0..NV {
                                    c[m][v] = $dp(c[m][v], x, wv[v]);
                                }
                                ap[m] = ap[m].add(4);
                            }
                            wp = wp.add($lanes * 4);
                        }
                    }
                    for m in 0..MR {
                        for v in 0..NV {
                            $store(acc.add((m * NV + v) * $lanes) as *mut $vec, c[m][v]);
                        }
                    }
                }
            }
        };
    }

    dp_body!(
        tile_avx512,
        "avx512f,avx512bw,avx512vnni",
        __m512i,
        _mm512_setzero_si512,
        _mm512_loadu_si512,
        _mm512_storeu_si512,
        _mm512_set1_epi32,
        _mm512_dpbusd_epi32,
        16
    );
    dp_body!(
        tile_avxvnni,
        "avx2,avxvnni",
        __m256i,
        _mm256_setzero_si256,
        _mm256_loadu_si256,
        _mm256_storeu_si256,
        _mm256_set1_epi32,
        _mm256_dpbusd_avx_epi32,
        8
    );

    /// AVX2: `vpshufb` spreads the broadcast 4 activation bytes into i16 pairs, `vpmovsxbw` widens
    /// the i8 weight pairs, `vpmaddwd` multiplies them (exact: |255·128·2| < 2^31, no i16
    /// saturation).
    #[target_feature(enable = "avx2")]
    pub unsafe fn tile_avx2<const MR: usize, const NV: usize>(
        a: *const u8,
        bases: &[usize; 8],
        taps: &[usize],
        cg: usize,
        w: *const i8,
        bstride: usize,
        acc: *mut i32,
    ) {
        // SAFETY (whole body): the caller guarantees the bounds listed in the module doc.
        unsafe {
            let m01 = _mm256_setr_epi8(
                0, -1, 1, -1, 0, -1, 1, -1, 0, -1, 1, -1, 0, -1, 1, -1, 0, -1, 1, -1, 0, -1, 1, -1, 0, -1, 1, -1, 0,
                -1, 1, -1,
            );
            let m23 = _mm256_setr_epi8(
                2, -1, 3, -1, 2, -1, 3, -1, 2, -1, 3, -1, 2, -1, 3, -1, 2, -1, 3, -1, 2, -1, 3, -1, 2, -1, 3, -1, 2,
                -1, 3, -1,
            );
            let mut c = [[_mm256_setzero_si256(); NV]; MR];
            let mut wp = w;
            for &t in taps {
                let mut ap = [a; MR];
                for m in 0..MR {
                    ap[m] = a.add(bases[m] + t);
                }
                for _ in 0..cg {
                    let mut w01 = [_mm256_setzero_si256(); NV];
                    let mut w23 = [_mm256_setzero_si256(); NV];
                    for v in 0..NV {
                        w01[v] = _mm256_cvtepi8_epi16(_mm_loadu_si128(wp.add(v * bstride) as *const __m128i));
                        w23[v] = _mm256_cvtepi8_epi16(_mm_loadu_si128(wp.add(v * bstride + 16) as *const __m128i));
                    }
                    for m in 0..MR {
                        let x = _mm256_set1_epi32((ap[m] as *const i32).read_unaligned());
                        let x01 = _mm256_shuffle_epi8(x, m01);
                        let x23 = _mm256_shuffle_epi8(x, m23);
                        for v in 0..NV {
                            c[m][v] = _mm256_add_epi32(c[m][v], _mm256_madd_epi16(x01, w01[v]));
                            c[m][v] = _mm256_add_epi32(c[m][v], _mm256_madd_epi16(x23, w23[v]));
                        }
                        ap[m] = ap[m].add(4);
                    }
                    wp = wp.add(32);
                }
            }
            for m in 0..MR {
                for v in 0..NV {
                    _mm256_storeu_si256(acc.add((m * NV + v) * 8) as *mut __m256i, c[m][v]);
                }
            }
        }
    }
}
