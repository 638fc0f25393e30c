//! Run-time packing of an activation × activation MatMul's B operand: the quantized level
//! indices `r` go straight into the `Dp4` layout of [`super::dense`] as `r − 128` (i8: the top bit
//! flipped), K padded with 0, together with the column sums `Σ_k r[k][n]` — one pass, one generic
//! body vectorized in each ISA's `#[target_feature]` wrapper (data movement and integer sums only).

use crate::isa::Isa;
use crate::kernels::dense::PackedW;

#[inline(always)]
fn body(lanes: usize, r: &[u8], ka: usize, nn: usize, tb: bool) -> (Vec<i8>, Vec<i32>) {
    let kg = ka.div_ceil(4);
    let bl = kg * lanes * 4;
    let nblocks = nn.div_ceil(lanes);
    let mut d = vec![0u8; nblocks * bl];
    let mut colsum = vec![0i32; nn];
    let flip = |v: u8| v ^ 0x80;
    // The group the K tail goes to (the seeded bug rounds up and so writes it past the block).
    #[cfg(feature = "mutants")]
    let tail_g = if crate::mutants::is(crate::mutants::Mutant::PackBTail) { kg } else { ka / 4 };
    #[cfg(not(feature = "mutants"))]
    let tail_g = ka / 4;
    if tb {
        // r is [nn][ka]: each dword is 4 consecutive bytes of row n. Columns of full blocks move
        // 4 columns × 4 groups at a time (a 4 × 4 dword transpose of fixed-size arrays: no bounds
        // checks inside, 16 contiguous bytes per store); the rest, and the groups past the last
        // full 16 bytes of a row, one dword at a time below.
        let quads = ka / 16;
        let quad_cols = if lanes.is_multiple_of(4) { nn / lanes * lanes } else { 0 };
        for n0 in (0..quad_cols).step_by(4) {
            let blk = &mut d[(n0 / lanes) * bl..(n0 / lanes + 1) * bl];
            let l0 = n0 % lanes;
            for gq in 0..quads {
                let src: [[u8; 16]; 4] = std::array::from_fn(|i| {
                    let mut a = [0u8; 16];
                    a.copy_from_slice(&r[(n0 + i) * ka + 16 * gq..(n0 + i) * ka + 16 * gq + 16]);
                    a
                });
                for j in 0..4 {
                    let mut v = [0u8; 16];
                    for i in 0..4 {
                        for t in 0..4 {
                            v[4 * i + t] = src[i][4 * j + t] ^ 0x80;
                        }
                    }
                    let o = ((4 * gq + j) * lanes + l0) * 4;
                    blk[o..o + 16].copy_from_slice(&v);
                }
            }
        }
        for (ni, cs) in colsum.iter_mut().enumerate() {
            let row = &r[ni * ka..ni * ka + ka];
            *cs = row.iter().map(|&v| v as i32).sum();
            let blk = &mut d[(ni / lanes) * bl..(ni / lanes + 1) * bl];
            let l = ni % lanes;
            let full = row.chunks_exact(4);
            let tail = full.remainder();
            let g0 = if ni < quad_cols { 4 * quads } else { 0 };
            for (g, q) in full.enumerate().skip(g0) {
                let o = (g * lanes + l) * 4;
                blk[o..o + 4].copy_from_slice(&[flip(q[0]), flip(q[1]), flip(q[2]), flip(q[3])]);
            }
            let o = (tail_g * lanes + l) * 4;
            for (dst, &v) in blk[o.min(bl)..].iter_mut().zip(tail) {
                *dst = flip(v);
            }
        }
    } else {
        // r is [ka][nn]: each dword interleaves 4 rows at one column.
        for k in 0..ka {
            for (cs, &v) in colsum.iter_mut().zip(&r[k * nn..k * nn + nn]) {
                *cs += v as i32;
            }
        }
        let zero = vec![0x80u8; nn]; // flips to 0: the K padding
        for g in 0..kg {
            let row = |j: usize| if 4 * g + j < ka { &r[(4 * g + j) * nn..(4 * g + j + 1) * nn] } else { &zero[..] };
            let (r0, r1, r2, r3) = (row(0), row(1), row(2), row(3));
            for b in 0..nblocks {
                let dst = &mut d[b * bl + g * lanes * 4..b * bl + (g + 1) * lanes * 4];
                let n0 = b * lanes;
                let cnt = lanes.min(nn - n0);
                if cnt == 16 {
                    // Fixed-size arrays: no bounds checks inside, so this vectorizes.
                    let arr = |s: &[u8]| -> [u8; 16] {
                        let mut a = [0u8; 16];
                        a.copy_from_slice(&s[n0..n0 + 16]);
                        a
                    };
                    let (a0, a1, a2, a3) = (arr(r0), arr(r1), arr(r2), arr(r3));
                    let mut v = [0u32; 16];
                    for i in 0..16 {
                        v[i] = (a0[i] as u32 | (a1[i] as u32) << 8 | (a2[i] as u32) << 16 | (a3[i] as u32) << 24)
                            ^ 0x8080_8080;
                    }
                    for (q, vv) in dst.chunks_exact_mut(4).zip(v) {
                        q.copy_from_slice(&vv.to_le_bytes());
                    }
                } else {
                    for (l, q) in dst.chunks_exact_mut(4).enumerate().take(cnt) {
                        let n = n0 + l;
                        q.copy_from_slice(&[flip(r0[n]), flip(r1[n]), flip(r2[n]), flip(r3[n])]);
                    }
                }
            }
        }
    }
    (d.into_iter().map(|v| v as i8).collect(), colsum)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
fn body_avx512(lanes: usize, r: &[u8], ka: usize, nn: usize, tb: bool) -> (Vec<i8>, Vec<i32>) {
    body(lanes, r, ka, nn, tb)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn body_avx2(lanes: usize, r: &[u8], ka: usize, nn: usize, tb: bool) -> (Vec<i8>, Vec<i32>) {
    body(lanes, r, ka, nn, tb)
}

/// Packs `r` (level indices, `[nn][ka]` when `tb`, else `[ka][nn]`, `ka·nn` of them) for `isa`'s
/// `Dp4` lanes: returns the i8 data (`⌈nn/lanes⌉` blocks of `⌈ka/4⌉·lanes·4`) and the column
/// sums. The caller checks that `isa` packs `Dp4` and that `r` holds `ka·nn` values.
pub fn act_b_dp4(isa: Isa, r: &[u8], ka: usize, nn: usize, tb: bool) -> (Vec<i8>, Vec<i32>) {
    let lanes = PackedW::format_for(isa).1;
    match isa {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: a non-scalar `Isa` is only selected after runtime detection of its features.
        Isa::Avx512Vnni => unsafe { body_avx512(lanes, r, ka, nn, tb) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: avxvnni and avx2 both imply avx2 (checked at detection).
        Isa::AvxVnni | Isa::Avx2 => unsafe { body_avx2(lanes, r, ka, nn, tb) },
        _ => body(lanes, r, ka, nn, tb),
    }
}
