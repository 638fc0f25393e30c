//! Kernel-only timing (`cargo bench -p conform-optimized --bench kernels`): the dense micro-kernel
//! on a register-blocked GEMM of conv3x3_c64_k64_56's size (M = 3136 positions, K = 576, N = 64),
//! per usable ISA, without quantization or epilogue.

use optimized::isa;
use optimized::kernels::dense::{self, PackedW, MAX_NV};
use optimized::kernels::epilogue::Act;
use optimized::kernels::rowconv::{self, RowW};
use std::time::Instant;

fn main() {
    let (m, k, n) = (3136usize, 576usize, 64usize);
    let kg = k / 4;
    let a: Vec<u8> = (0..m * k).map(|i| (i * 7 % 251) as u8).collect();
    for isa in isa::detected().unwrap_or_default() {
        let w = PackedW::pack(isa, n, kg, |o, kk| ((o * 31 + kk * 17) % 255) as i8);
        let lanes = w.lanes;
        let mut acc = vec![0i32; 8 * MAX_NV * lanes];
        let mut best = f64::MAX;
        for _ in 0..7 {
            let t = Instant::now();
            let mut ob = 0;
            while ob < w.nblocks {
                let nv = MAX_NV.min(w.nblocks - ob);
                let mr = dense::tile_rows(isa, nv);
                let mut bases = [0usize; 8];
                let mut row = 0;
                while row < m {
                    let r = mr.min(m - row);
                    for (i, base) in bases.iter_mut().take(r).enumerate() {
                        *base = (row + i) * k;
                    }
                    dense::tile(isa, &a, &bases[..r], &[0], kg, &w, ob, nv, &mut acc).expect("tile");
                    row += r;
                }
                ob += nv;
            }
            best = best.min(t.elapsed().as_secs_f64());
            std::hint::black_box(&acc);
        }
        let gops = 2.0 * (m * k * n) as f64 / best / 1e9;
        println!("{:<11} dense {m}x{k}x{n}: {:8.1} us  {:6.1} GOPS", isa.name(), best * 1e6, gops);
    }
    // Row kernel (positions in the lanes, fused epilogue) over the same GEMM: 3136 positions as
    // one flat row, K = 576 as 144 groups of 4 channels in one tap.
    for isa in isa::detected().unwrap_or_default() {
        let Some((mr, lanes, nvm)) = rowconv::geometry(isa) else { continue };
        let cs = std::env::var("ROWCS").ok().and_then(|v| v.parse().ok()).unwrap_or(m * 4 + 256);
        let a: Vec<u8> = (0..kg * cs + m * 4 + 1024).map(|i| (i * 7 % 251) as u8).collect();
        let w = RowW::pack(isa, n, kg, |o, kk| ((o * 31 + kk * 17) % 255) as i8).expect("row isa");
        let add = vec![3i32; n];
        let scale = vec![0.5f32; n];
        let ep = rowconv::Epi { add: &add, scale: &scale, bias: None, act: Act::None };
        let mut out = vec![0f32; n * m];
        let mut best = f64::MAX;
        for _ in 0..7 {
            let t = Instant::now();
            let seg = nvm * lanes;
            let mut p = 0;
            while p < m {
                let len = seg.min(m - p);
                let src = rowconv::Src { a: &a, base: p * 4, taps: &[0], cg: kg, cstride: cs };
                for blk in 0..w.nblocks {
                    let mut rows: Vec<&mut [f32]> =
                        out.chunks_mut(m).skip(blk * mr).take(mr).map(|r| &mut r[p..p + len]).collect();
                    rowconv::tile(isa, &src, &w, blk, &ep, blk * mr, &mut rows).expect("row tile");
                }
                p += len;
            }
            best = best.min(t.elapsed().as_secs_f64());
            std::hint::black_box(&out);
        }
        let gops = 2.0 * (m * k * n) as f64 / best / 1e9;
        println!("{:<11} rows  {m}x{k}x{n}: {:8.1} us  {:6.1} GOPS", isa.name(), best * 1e6, gops);
    }
}
