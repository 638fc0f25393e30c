//! Row-oriented dense convolution kernel: output **positions in the vector lanes**, weights
//! broadcast, and the INT8.md §4 epilogue fused, so every output channel's NC(D)HW row segment is
//! stored straight from the registers (no transposed write, no i32 tile in memory).
//!
//! It is the transposed orientation of [`super::dense`]: there a tile is `positions × channels`
//! with the weights in the `vpdpbusd` vector, which forces a transposed f32 write into NC(D)HW and
//! costs more than the arithmetic when the reduction is short (few input channels, 1×1 kernels,
//! the C = 3 stem). Here a tile is `MR channels × NV·LANES positions`.
//!
//! Activation layout (built by `conv.rs`): u8 `[c4][…spatial…][4]`; the tile reads, for tap `t`
//! and reduction group `g`, the `NV·LANES` consecutive 4-byte groups at
//! `a[base + taps[t] + g·cstride ..]` (one group per output position), so
//! `acc[o][x] = Σ_t Σ_g Σ_j a[base + taps[t] + g·cstride + 4x + j] · w[o][(t·cg + g)·4 + j]`
//! (exact i32, wrapping like `vpdpbusd`; the plan proves the true sum fits i32, INT8.md rule 5).
//!
//! Weight packing [`RowW`], per block of `MR` output channels: i8 `[kg][MR][4]` (the `MR` 4-byte
//! groups broadcast at one reduction step are adjacent). Channels past the real count are zero
//! and never stored.
//!
//! Epilogue (integer zero point only, the caller checks): `y = f32(acc + add[o]) · M[o]`, then
//! `+ b[o]`, then ReLU (`y > 0 ? y : +0`) or Clamp (`y < lo ? lo : (y > hi ? hi : y)`), each a
//! separate rounding step in this order (no FMA), so the bits equal the scalar formula.

use super::epilogue::Act;
use super::KernelError;
use crate::isa::Isa;

/// Register blocking of the row kernel for an ISA: `(MR channels, LANES positions per vector,
/// most vectors per tile)`; `None` when the ISA has no row kernel (avx2 and scalar use
/// [`super::dense`]).
pub fn geometry(isa: Isa) -> Option<(usize, usize, usize)> {
    match isa {
        Isa::Avx512Vnni => Some((8, 16, 3)),
        Isa::AvxVnni => Some((4, 8, 3)),
        Isa::Avx2 | Isa::Scalar => None,
    }
}

/// Weights packed for the row kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowW {
    /// Channels per block.
    pub mr: usize,
    /// Reduction groups of 4.
    pub kg: usize,
    /// Channel blocks.
    pub nblocks: usize,
    /// i8 `[block][kg][mr][4]`.
    pub data: Vec<i8>,
}

impl RowW {
    /// Packs `n` channels × `4·kg` reduction values `get(channel, k)` (the caller returns 0 for
    /// padding) for `isa`'s blocking; `None` when the ISA has no row kernel.
    pub fn pack(isa: Isa, n: usize, kg: usize, get: impl Fn(usize, usize) -> i8) -> Option<RowW> {
        let (mr, _, _) = geometry(isa)?;
        Some(Self::pack_mr(mr, n, kg, get))
    }

    /// Packs with an explicit block size (tests, twins).
    pub fn pack_mr(mr: usize, n: usize, kg: usize, get: impl Fn(usize, usize) -> i8) -> RowW {
        let nblocks = n.div_ceil(mr.max(1));
        let bl = kg * mr * 4;
        let mut data = vec![0i8; nblocks * bl];
        for ch in 0..n {
            let (b, o) = (ch / mr, ch % mr);
            for g in 0..kg {
                for j in 0..4 {
                    data[b * bl + (g * mr + o) * 4 + j] = get(ch, g * 4 + j);
                }
            }
        }
        RowW { mr, kg, nblocks, data }
    }

    /// Elements per block.
    pub fn block_len(&self) -> usize {
        self.kg * self.mr * 4
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.data.len()
    }
}

/// The per-channel epilogue constants, indexed by global output channel.
#[derive(Debug, Clone, Copy)]
pub struct Epi<'a> {
    /// `−z·Σ_k q_w[o]`.
    pub add: &'a [i32],
    /// `M[o]`.
    pub scale: &'a [f32],
    /// Bias.
    pub bias: Option<&'a [f32]>,
    /// Activation.
    pub act: Act,
}

/// The activation operand of one tile.
#[derive(Debug, Clone, Copy)]
pub struct Src<'a> {
    /// The u8 buffer.
    pub a: &'a [u8],
    /// Byte offset of the segment's first output position (tap 0, group 0).
    pub base: usize,
    /// Byte offset of each tap.
    pub taps: &'a [usize],
    /// Reduction groups of 4 channels per tap.
    pub cg: usize,
    /// Byte distance between consecutive groups.
    pub cstride: usize,
}

/// One tile: channel block `blk` of `w` (global channels `o0 ..`, `out.len() ≤ MR` of them are
/// stored) × `n` positions (`1 ≤ n ≤ NV·LANES`); `out[o]` receives the `n` outputs of channel
/// `o0 + o`. Reads `NV·LANES·4` bytes per (tap, group) whatever `n` is: the caller leaves slack.
pub fn tile(
    isa: Isa,
    s: &Src<'_>,
    w: &RowW,
    blk: usize,
    ep: &Epi<'_>,
    o0: usize,
    out: &mut [&mut [f32]],
) -> Result<(), KernelError> {
    let (mr, lanes, nv_max) = geometry(isa).ok_or(KernelError("no row kernel for this ISA"))?;
    let n = out.first().map_or(0, |r| r.len());
    let nc = out.len();
    if n == 0 || n > nv_max * lanes || nc == 0 || nc > mr || out.iter().any(|r| r.len() != n) {
        return Err(KernelError("row tile shape"));
    }
    if w.mr != mr || blk >= w.nblocks || s.taps.len().checked_mul(s.cg) != Some(w.kg) {
        return Err(KernelError("row weights"));
    }
    if o0 + nc > ep.add.len() || o0 + nc > ep.scale.len() || ep.bias.is_some_and(|b| o0 + nc > b.len()) {
        return Err(KernelError("row epilogue constants"));
    }
    let nv = n.div_ceil(lanes);
    let max_tap = s.taps.iter().copied().max().unwrap_or(0);
    let end =
        s.cg.checked_sub(1)
            .and_then(|g| g.checked_mul(s.cstride))
            .and_then(|v| v.checked_add(s.base))
            .and_then(|v| v.checked_add(max_tap))
            .and_then(|v| v.checked_add(nv * lanes * 4));
    if end.is_none_or(|e| e > s.a.len()) {
        return Err(KernelError("row activation out of bounds"));
    }
    let wb = &w.data[blk * w.block_len()..(blk + 1) * w.block_len()];
    #[cfg(target_arch = "x86_64")]
    {
        let mut add = [0i32; 8];
        let mut scale = [0f32; 8];
        let mut bias = [0f32; 8];
        for o in 0..nc {
            add[o] = ep.add[o0 + o];
            scale[o] = ep.scale[o0 + o];
            bias[o] = ep.bias.map_or(0.0, |b| b[o0 + o]);
        }
        let p = x86::Params { add, scale, bias, has_bias: ep.bias.is_some(), act: ep.act };
        let mut ptrs = [std::ptr::null_mut::<f32>(); 8];
        for (d, r) in ptrs.iter_mut().zip(out.iter_mut()) {
            *d = r.as_mut_ptr();
        }
        // SAFETY: every activation read is below `end ≤ a.len()` (checked above: the largest
        // address is base + max tap + (cg−1)·cstride + nv·LANES·4); `wb` holds kg·MR·4 weights;
        // `ptrs[o]` for o < nc points at n writable f32 (the rows were checked to have length n)
        // and the kernel stores only lanes < n of rows < nc; `isa` was selected after runtime
        // detection of its features (isa::select).
        unsafe {
            match (isa, nv) {
                (Isa::Avx512Vnni, 1) => {
                    x86::tile_avx512::<1>(s.a.as_ptr(), s.base, s.taps, s.cg, s.cstride, wb.as_ptr(), &p, &ptrs, nc, n)
                }
                (Isa::Avx512Vnni, 2) => {
                    x86::tile_avx512::<2>(s.a.as_ptr(), s.base, s.taps, s.cg, s.cstride, wb.as_ptr(), &p, &ptrs, nc, n)
                }
                (Isa::Avx512Vnni, _) => {
                    x86::tile_avx512::<3>(s.a.as_ptr(), s.base, s.taps, s.cg, s.cstride, wb.as_ptr(), &p, &ptrs, nc, n)
                }
                (Isa::AvxVnni, 1) => {
                    x86::tile_avxvnni::<1>(s.a.as_ptr(), s.base, s.taps, s.cg, s.cstride, wb.as_ptr(), &p, &ptrs, nc, n)
                }
                (Isa::AvxVnni, 2) => {
                    x86::tile_avxvnni::<2>(s.a.as_ptr(), s.base, s.taps, s.cg, s.cstride, wb.as_ptr(), &p, &ptrs, nc, n)
                }
                (Isa::AvxVnni, _) => {
                    x86::tile_avxvnni::<3>(s.a.as_ptr(), s.base, s.taps, s.cg, s.cstride, wb.as_ptr(), &p, &ptrs, nc, n)
                }
                _ => return Err(KernelError("no row kernel for this ISA")),
            }
        }
        Ok(())
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (wb, ep, o0);
        Err(KernelError("ISA not compiled"))
    }
}

/// The scalar twin of [`tile`]: the same packed data and epilogue, plain loops. `out[o]` holds the
/// `n` outputs of channel `o0 + o`; reads only the `n` positions it stores.
pub fn twin(s: &Src<'_>, w: &RowW, blk: usize, ep: &Epi<'_>, o0: usize, out: &mut [&mut [f32]]) {
    let mr = w.mr;
    let wb = &w.data[blk * w.block_len()..(blk + 1) * w.block_len()];
    for (o, row) in out.iter_mut().enumerate() {
        for (x, y) in row.iter_mut().enumerate() {
            let mut acc = 0i32;
            let mut kgi = 0;
            for &t in s.taps {
                for g in 0..s.cg {
                    let at = s.base + t + g * s.cstride + 4 * x;
                    for j in 0..4 {
                        acc = acc.wrapping_add(s.a[at + j] as i32 * wb[(kgi * mr + o) * 4 + j] as i32);
                    }
                    kgi += 1;
                }
            }
            *y = scalar_epilogue(acc, ep, o0 + o);
        }
    }
}

/// The epilogue of one output (INT8.md §4, integer zero point).
pub fn scalar_epilogue(acc: i32, ep: &Epi<'_>, ch: usize) -> f32 {
    let mut y = acc.wrapping_add(ep.add[ch]) as f32;
    y *= ep.scale[ch];
    if let Some(b) = ep.bias {
        y += b[ch];
    }
    match ep.act {
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
#[allow(clippy::needless_range_loop, clippy::too_many_arguments)] // const-generic register arrays
mod x86 {
    //! The SIMD bodies. Each `unsafe fn` requires: every `a + base + tap + g·cs + [0, NV·LANES·4)`
    //! in bounds, `w` valid for `kg·MR·4` i8, `out[o]` valid for `n` f32 for `o < nc`, and the
    //! CPU features of its `target_feature`.
    use super::Act;
    use std::arch::x86_64::*;

    /// Epilogue constants of one block (rows past `nc` are zero and never stored).
    pub struct Params {
        pub add: [i32; 8],
        pub scale: [f32; 8],
        pub bias: [f32; 8],
        pub has_bias: bool,
        pub act: Act,
    }

    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    pub unsafe fn tile_avx512<const NV: usize>(
        a: *const u8,
        base: usize,
        taps: &[usize],
        cg: usize,
        cs: usize,
        w: *const i8,
        p: &Params,
        out: &[*mut f32; 8],
        nc: usize,
        n: usize,
    ) {
        const MR: usize = 8;
        // SAFETY (whole body): the caller guarantees the bounds listed in the module doc.
        unsafe {
            let mut c = [[_mm512_setzero_si512(); NV]; MR];
            let mut wp = w;
            for &t in taps {
                let mut ap = a.add(base + t);
                for _ in 0..cg {
                    let mut x = [_mm512_setzero_si512(); NV];
                    for v in 0..NV {
                        x[v] = _mm512_loadu_si512(ap.add(64 * v) as *const __m512i);
                    }
                    for o in 0..MR {
                        let b = _mm512_set1_epi32((wp.add(4 * o) as *const i32).read_unaligned());
                        for v in 0..NV {
                            c[o][v] = _mm512_dpbusd_epi32(c[o][v], x[v], b);
                        }
                    }
                    ap = ap.add(cs);
                    wp = wp.add(MR * 4);
                }
            }
            // Spill the finished sums once: indexing `c` in the (not unrolled) epilogue loop
            // would otherwise make LLVM keep `c` in memory and store it at every reduction step.
            let mut sums = [[[0i32; 16]; NV]; MR];
            for o in 0..MR {
                for v in 0..NV {
                    _mm512_storeu_si512(sums[o][v].as_mut_ptr() as *mut __m512i, c[o][v]);
                }
            }
            let zero = _mm512_setzero_ps();
            // A constant trip count keeps `c` in registers (a runtime bound would index it
            // dynamically and force it to the stack); rows past `nc` are skipped.
            for o in 0..MR {
                if o >= nc {
                    break;
                }
                let add = _mm512_set1_epi32(p.add[o]);
                let sc = _mm512_set1_ps(p.scale[o]);
                let bi = _mm512_set1_ps(p.bias[o]);
                for v in 0..NV {
                    let s = _mm512_add_epi32(_mm512_loadu_si512(sums[o][v].as_ptr() as *const __m512i), add);
                    let mut y = _mm512_mul_ps(_mm512_cvtepi32_ps(s), sc);
                    if p.has_bias {
                        y = _mm512_add_ps(y, bi);
                    }
                    match p.act {
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
                    let x0 = 16 * v;
                    if x0 + 16 <= n {
                        _mm512_storeu_ps(out[o].add(x0), y);
                    } else if x0 < n {
                        #[cfg(feature = "mutants")]
                        let n = n - usize::from(crate::mutants::is(crate::mutants::Mutant::RowTailMask));
                        let m: __mmask16 = ((1u32 << (n - x0)) - 1) as __mmask16;
                        _mm512_mask_storeu_ps(out[o].add(x0), m, y);
                    }
                }
            }
        }
    }

    #[target_feature(enable = "avx2,avxvnni")]
    pub unsafe fn tile_avxvnni<const NV: usize>(
        a: *const u8,
        base: usize,
        taps: &[usize],
        cg: usize,
        cs: usize,
        w: *const i8,
        p: &Params,
        out: &[*mut f32; 8],
        nc: usize,
        n: usize,
    ) {
        const MR: usize = 4;
        // SAFETY (whole body): the caller guarantees the bounds listed in the module doc.
        unsafe {
            let mut c = [[_mm256_setzero_si256(); NV]; MR];
            let mut wp = w;
            for &t in taps {
                let mut ap = a.add(base + t);
                for _ in 0..cg {
                    let mut x = [_mm256_setzero_si256(); NV];
                    for v in 0..NV {
                        x[v] = _mm256_loadu_si256(ap.add(32 * v) as *const __m256i);
                    }
                    for o in 0..MR {
                        let b = _mm256_set1_epi32((wp.add(4 * o) as *const i32).read_unaligned());
                        for v in 0..NV {
                            c[o][v] = _mm256_dpbusd_avx_epi32(c[o][v], x[v], b);
                        }
                    }
                    ap = ap.add(cs);
                    wp = wp.add(MR * 4);
                }
            }
            // Spill the finished sums once: indexing `c` in the (not unrolled) epilogue loop
            // would otherwise make LLVM keep `c` in memory and store it at every reduction step.
            let mut sums = [[[0i32; 8]; NV]; MR];
            for o in 0..MR {
                for v in 0..NV {
                    _mm256_storeu_si256(sums[o][v].as_mut_ptr() as *mut __m256i, c[o][v]);
                }
            }
            let zero = _mm256_setzero_ps();
            let idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
            // A constant trip count keeps `c` in registers (a runtime bound would index it
            // dynamically and force it to the stack); rows past `nc` are skipped.
            for o in 0..MR {
                if o >= nc {
                    break;
                }
                let add = _mm256_set1_epi32(p.add[o]);
                let sc = _mm256_set1_ps(p.scale[o]);
                let bi = _mm256_set1_ps(p.bias[o]);
                for v in 0..NV {
                    let s = _mm256_add_epi32(_mm256_loadu_si256(sums[o][v].as_ptr() as *const __m256i), add);
                    let mut y = _mm256_mul_ps(_mm256_cvtepi32_ps(s), sc);
                    if p.has_bias {
                        y = _mm256_add_ps(y, bi);
                    }
                    match p.act {
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
                    let x0 = 8 * v;
                    if x0 + 8 <= n {
                        _mm256_storeu_ps(out[o].add(x0), y);
                    } else if x0 < n {
                        let m = _mm256_cmpgt_epi32(_mm256_set1_epi32((n - x0) as i32), idx);
                        _mm256_maskstore_ps(out[o].add(x0), m, y);
                    }
                }
            }
        }
    }
}
