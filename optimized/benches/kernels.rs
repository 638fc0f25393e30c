//! Kernel-only timing (`cargo bench -p conform-optimized --bench kernels`): the dense micro-kernel
//! on a register-blocked GEMM of conv3x3_c64_k64_56's size (M = 3136 positions, K = 576, N = 64),
//! per usable ISA, without quantization or epilogue.

use optimized::isa;
use optimized::kernels::dense::{self, PackedW, MAX_NV};
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
}
