//! Register-only `vpdpbusd zmm` throughput, the "VNNI peak" that `% of peak` is measured against,
//! re-measured in the same run as the peer comparison (bench/peer.md's 722 GOPS/core came from
//! another day's clock). Standalone, so it needs no crate:
//!
//! `rustc -O -C target-cpu=native optimized/bench/vnni_peak.rs -o /tmp/vnni_peak && /tmp/vnni_peak [THREADS]`
//!
//! Each thread runs 12 independent accumulator chains (enough to hide the 5-cycle latency at two
//! issues per cycle) for a fixed number of iterations; one `vpdpbusd zmm` = 64 u8×i8 MACs =
//! 128 int8 ops. Prints the best of 7 timed rounds, in int8 GOPS for all threads together.

use std::arch::x86_64::*;
use std::time::Instant;

const ITERS: u64 = 2_000_000;
const CHAINS: u64 = 12;

#[target_feature(enable = "avx512f,avx512vnni")]
fn spin(seed: i32) -> i32 {
    let a = _mm512_set1_epi32(seed);
    let b = _mm512_set1_epi32(seed ^ 0x0101_0101);
    let mut acc = [_mm512_setzero_si512(); CHAINS as usize];
    for _ in 0..ITERS {
        for c in acc.iter_mut() {
            *c = _mm512_dpbusd_epi32(*c, a, b);
        }
    }
    let mut s = _mm512_setzero_si512();
    for c in acc {
        s = _mm512_add_epi32(s, c);
    }
    _mm512_reduce_add_epi32(s)
}

fn main() {
    if !(is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx512vnni")) {
        eprintln!("this CPU has no AVX-512 VNNI");
        std::process::exit(2);
    }
    let threads: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(1).max(1);
    let mut best = 0.0f64;
    for round in 0..7 {
        let t = Instant::now();
        let sink: i32 = std::thread::scope(|s| {
            let hs: Vec<_> = (0..threads)
                // SAFETY: the features were detected above.
                .map(|i| s.spawn(move || unsafe { spin(round + i as i32) }))
                .collect();
            hs.into_iter().map(|h| h.join().unwrap_or(0)).fold(0, i32::wrapping_add)
        });
        let secs = t.elapsed().as_secs_f64();
        let gops = (threads as u64 * ITERS * CHAINS * 128) as f64 / secs / 1e9;
        best = best.max(gops);
        std::hint::black_box(sink);
    }
    println!("{best:.0}");
}
