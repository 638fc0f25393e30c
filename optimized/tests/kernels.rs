//! Per-ISA property tests of the integer kernels against their scalar twins and a naive triple
//! loop written here. A variant the CPU lacks prints a skip, or fails when `CONFORM_REQUIRE_ISA`
//! lists it.

use optimized::isa::{self, Isa};
use optimized::kernels::dense::{self, PackedW};
use optimized::kernels::depthwise;
use optimized::kernels::epilogue::Act;
use optimized::kernels::rowconv::{self, RowW};
use optimized::kernels::{layout, pack, quant};
use optimized::modelgen::Rng;

fn cases() -> usize {
    let soak: f64 = std::env::var("CONFORM_SOAK").ok().and_then(|v| v.parse().ok()).unwrap_or(1.0);
    (200.0 * soak) as usize
}

/// Runs `f` if the variant is usable; otherwise prints a skip or fails when it is required.
fn for_isa(isa: Isa, f: impl Fn(Isa)) {
    if isa::usable(isa).unwrap_or(false) {
        f(isa);
    } else if isa::required(isa) {
        panic!("{isa} is listed in CONFORM_REQUIRE_ISA but not usable on this machine");
    } else {
        eprintln!("SKIP {isa}: not detected on this CPU (or above CONFORM_MAX_ISA)");
    }
}

fn dense_prop(isa: Isa) {
    let mut rng = Rng::new(0xD15E ^ isa as u64);
    for case in 0..cases() {
        let lanes = PackedW::format_for(isa).1;
        let n = rng.int(1, 5 * lanes as i64) as usize;
        let ntaps = rng.int(1, 4) as usize;
        let cg = rng.int(1, 5) as usize;
        let kg = ntaps * cg;
        let k = kg * 4;
        // Extreme values on purpose: u8 up to 255, i8 down to -128 (vpmaddubsw would saturate).
        let extreme = case % 3 == 0;
        let w: Vec<i8> = (0..n * k)
            .map(|_| {
                if extreme {
                    if rng.int(0, 1) == 0 {
                        -128
                    } else {
                        127
                    }
                } else {
                    rng.int(-128, 127) as i8
                }
            })
            .collect();
        let packed = PackedW::pack(isa, n, kg, |o, kk| w[o * k + kk]);
        // Rows: taps at spaced offsets in a buffer.
        let stride = cg * 4 + rng.int(0, 7) as usize;
        let taps: Vec<usize> = (0..ntaps).map(|t| t * stride).collect();
        let rows = 12usize;
        let len = rows * 3 + taps[ntaps - 1] + cg * 4 + 8;
        let a: Vec<u8> = (0..len).map(|_| if extreme { 255 } else { rng.int(0, 255) as u8 }).collect();
        let nv_max = dense::MAX_NV.min(packed.nblocks);
        let nv = rng.int(1, nv_max as i64) as usize;
        let ob = rng.int(0, (packed.nblocks - nv) as i64) as usize;
        let mrf = dense::tile_rows(isa, nv);
        let mr = if rng.int(0, 4) == 0 { 1 } else { rng.int(1, mrf as i64) as usize };
        let bases: Vec<usize> = (0..mr).map(|_| rng.int(0, (rows * 3) as i64) as usize).collect();
        let mut acc = vec![0i32; 8 * dense::MAX_NV * lanes];
        dense::tile(isa, &a, &bases, &taps, cg, &packed, ob, nv, &mut acc).expect("valid tile");
        let mut twin = vec![0i32; 8 * dense::MAX_NV * lanes];
        dense::tile_twin(&a, &bases, &taps, cg, &packed, ob, nv, &mut twin);
        let ncol = nv * lanes;
        for m in 0..mr {
            for j in 0..ncol {
                let o = ob * lanes + j;
                // Naive: Σ over taps and channels of a·w (padding channels of w are 0).
                let mut s = 0i64;
                if o < n {
                    for (t, &off) in taps.iter().enumerate() {
                        for c in 0..cg * 4 {
                            s += a[bases[m] + off + c] as i64 * w[o * k + t * cg * 4 + c] as i64;
                        }
                    }
                }
                assert_eq!(acc[m * ncol + j] as i64, s, "{isa} case {case} row {m} col {j}");
                assert_eq!(twin[m * ncol + j], acc[m * ncol + j], "{isa} twin case {case}");
            }
        }
    }
}

fn dw_prop(isa: Isa) {
    let mut rng = Rng::new(0xD00D ^ isa as u64);
    for case in 0..cases() {
        let c = rng.int(1, 40) as usize;
        let ntaps = rng.int(1, 9) as usize;
        let taps: Vec<usize> = (0..ntaps).map(|t| t * c * 2).collect();
        let npos = rng.int(1, 16) as usize;
        let len = taps[ntaps - 1] + c + 64;
        let a: Vec<u8> = (0..len).map(|_| rng.int(0, 255) as u8).collect();
        let w: Vec<i8> = (0..ntaps * c).map(|_| rng.int(-128, 127) as i8).collect();
        let bases: Vec<usize> = (0..npos).map(|_| rng.int(0, 63) as usize).collect();
        let mut acc = vec![0i32; npos * c];
        depthwise::tile(isa, &a, &bases, &taps, &w, c, &mut acc).expect("valid tile");
        let mut twin = vec![0i32; npos * c];
        depthwise::twin(&a, &bases, &taps, &w, c, &mut twin);
        for p in 0..npos {
            for ch in 0..c {
                let s: i64 = (0..ntaps).map(|t| a[bases[p] + taps[t] + ch] as i64 * w[t * c + ch] as i64).sum();
                assert_eq!(acc[p * c + ch] as i64, s, "{isa} case {case}");
                assert_eq!(twin[p * c + ch], acc[p * c + ch]);
            }
        }
    }
}

/// The INT8.md §4 epilogue with an integer zero point, written out here (no FMA, this order).
fn naive_epilogue(s: i64, add: i32, scale: f32, bias: Option<f32>, act: Act) -> f32 {
    let mut y = (s as i32).wrapping_add(add) as f32;
    y *= scale;
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

fn row_prop(isa: Isa) {
    let Some((mr, lanes, nv_max)) = rowconv::geometry(isa) else {
        // avx2 and scalar run convolutions on `dense`; the row kernel must refuse them.
        let w = RowW::pack_mr(8, 8, 1, |_, _| 1);
        let ep = rowconv::Epi { add: &[0; 8], scale: &[1.0; 8], bias: None, act: Act::None };
        let src = rowconv::Src { a: &[0u8; 256], base: 0, taps: &[0], cg: 1, cstride: 64 };
        let mut o = [0f32; 4];
        assert!(rowconv::tile(isa, &src, &w, 0, &ep, 0, &mut [&mut o[..]]).is_err());
        return;
    };
    let mut rng = Rng::new(0x20C0 ^ isa as u64);
    for case in 0..cases() {
        let nch = rng.int(1, 3 * mr as i64) as usize;
        let ntaps = rng.int(1, 4) as usize;
        let cg = rng.int(1, 5) as usize;
        let kg = ntaps * cg;
        let k = kg * 4;
        let extreme = case % 3 == 0;
        let w: Vec<i8> = (0..nch * k)
            .map(|_| if extreme { [-128i8, 127][rng.int(0, 1) as usize] } else { rng.int(-128, 127) as i8 })
            .collect();
        let packed = RowW::pack(isa, nch, kg, |o, kk| w[o * k + kk]).expect("row ISA");
        let npos = rng.int(1, (nv_max * lanes) as i64) as usize;
        let cstride = npos * 4 + rng.int(0, 40) as usize * 4;
        let tstride = cg * cstride + rng.int(0, 9) as usize;
        let taps: Vec<usize> = (0..ntaps).map(|t| t * tstride).collect();
        let base = rng.int(0, 11) as usize;
        let len = base + taps[ntaps - 1] + (cg - 1) * cstride + nv_max * lanes * 4 + 3;
        let a: Vec<u8> = (0..len).map(|_| if extreme { 255 } else { rng.int(0, 255) as u8 }).collect();
        let add: Vec<i32> = (0..nch).map(|_| rng.int(-300_000, 300_000) as i32).collect();
        let scale: Vec<f32> = (0..nch).map(|_| rng.normal(1e-3)).collect();
        let bias: Vec<f32> = (0..nch).map(|_| rng.normal(1.0)).collect();
        let act = match rng.int(0, 2) {
            0 => Act::None,
            1 => Act::Relu,
            _ => Act::Clamp(-0.5, 0.75),
        };
        let has_bias = rng.int(0, 1) == 1;
        let ep = rowconv::Epi { add: &add, scale: &scale, bias: has_bias.then_some(&bias[..]), act };
        let blk = rng.int(0, packed.nblocks as i64 - 1) as usize;
        let o0 = blk * mr;
        let nc = mr.min(nch - o0);
        let src = rowconv::Src { a: &a, base, taps: &taps, cg, cstride };
        // Output rows with a sentinel tail: the kernel must store exactly `npos` values.
        let run = |twin: bool| {
            let mut buf = vec![f32::from_bits(0x7fc0_dead); nc * (npos + 16)];
            {
                let mut rows: Vec<&mut [f32]> = buf.chunks_mut(npos + 16).map(|r| &mut r[..npos]).collect();
                if twin {
                    rowconv::twin(&src, &packed, blk, &ep, o0, &mut rows);
                } else {
                    rowconv::tile(isa, &src, &packed, blk, &ep, o0, &mut rows).expect("valid row tile");
                }
            }
            buf
        };
        let (got, twin) = (run(false), run(true));
        for o in 0..nc {
            let ch = o0 + o;
            for x in 0..npos + 16 {
                let g = got[o * (npos + 16) + x];
                if x >= npos {
                    assert_eq!(g.to_bits(), 0x7fc0_dead, "{isa} case {case}: stored past n");
                    continue;
                }
                let mut s = 0i64;
                for (t, &off) in taps.iter().enumerate() {
                    for gi in 0..cg {
                        for j in 0..4 {
                            let av = a[base + off + gi * cstride + 4 * x + j] as i64;
                            s += av * w[ch * k + (t * cg + gi) * 4 + j] as i64;
                        }
                    }
                }
                let e = naive_epilogue(s, add[ch], scale[ch], has_bias.then_some(bias[ch]), act);
                assert_eq!(g.to_bits(), e.to_bits(), "{isa} case {case} ch {ch} x {x}: {g} vs {e}");
                assert_eq!(twin[o * (npos + 16) + x].to_bits(), g.to_bits(), "{isa} twin case {case}");
            }
        }
    }
}

fn dw_dp_prop(isa: Isa) {
    let mut rng = Rng::new(0xD1D1 ^ isa as u64);
    for case in 0..cases() {
        let n = rng.int(1, 70) as usize;
        let ntaps = rng.int(1, 9) as usize;
        let need = depthwise::dp_row_need(n);
        let extreme = case % 3 == 0;
        let rows: Vec<Vec<u8>> = (0..ntaps)
            .map(|_| {
                (0..need + rng.int(0, 5) as usize).map(|_| if extreme { 255 } else { rng.int(0, 255) as u8 }).collect()
            })
            .collect();
        let wb: Vec<[i8; 4]> = (0..ntaps)
            .map(|_| {
                let mut b = [0i8; 4];
                for v in b.iter_mut() {
                    *v = if extreme { -128 } else { rng.int(-128, 127) as i8 };
                }
                b
            })
            .collect();
        let w: Vec<i32> = wb.iter().map(|b| i32::from_le_bytes(b.map(|v| v as u8))).collect();
        let taps: Vec<&[u8]> = rows.iter().map(|r| &r[..]).collect();
        let add = rng.int(-300_000, 300_000) as i32;
        let (m, bias) = (rng.normal(1e-3), rng.normal(1.0));
        let has_bias = rng.int(0, 1) == 1;
        let act = match rng.int(0, 2) {
            0 => Act::None,
            1 => Act::Relu,
            _ => Act::Clamp(-0.5, 0.75),
        };
        let r = depthwise::DpRow { taps: &taps, w: &w, add, m, bias: has_bias.then_some(bias), act };
        let mut twin = vec![0f32; n];
        depthwise::dp_row_twin(&r, &mut twin);
        let mut got = vec![f32::from_bits(0x7fc0_dead); n + 16];
        let res = depthwise::dp_row(isa, &r, &mut got[..n]);
        if !depthwise::has_dp_row(isa) {
            assert!(res.is_err(), "{isa}: no dp_row kernel, must refuse");
            continue;
        }
        res.expect("valid dp row");
        for x in 0..n + 16 {
            if x >= n {
                assert_eq!(got[x].to_bits(), 0x7fc0_dead, "{isa} case {case}: stored past n");
                continue;
            }
            let s: i64 =
                (0..ntaps).map(|t| (0..4).map(|j| rows[t][4 * x + j] as i64 * wb[t][j] as i64).sum::<i64>()).sum();
            let e = naive_epilogue(s, add, m, has_bias.then_some(bias), act);
            assert_eq!(got[x].to_bits(), e.to_bits(), "{isa} case {case} x {x}");
            assert_eq!(twin[x].to_bits(), e.to_bits(), "{isa} twin case {case} x {x}");
        }
        // The row expansion feeding it: out[4x + j] = row[x·sw + offs[j]].
        let sw = rng.int(1, 2) as usize;
        let offs = [0, 1, 2, 3].map(|_| rng.int(0, 6) as usize);
        let wa = rng.int(0, 40) as usize;
        let row: Vec<u8> = (0..wa * sw + 8).map(|_| rng.int(0, 255) as u8).collect();
        let mut e = vec![0u8; wa * 4];
        depthwise::expand_row(isa, &row, offs, sw, &mut e).expect("in bounds");
        for x in 0..wa {
            for j in 0..4 {
                assert_eq!(e[4 * x + j], row[x * sw + offs[j]], "{isa} expand case {case}");
            }
        }
    }
}

/// `pack::act_b_dp4` against its twin (`PackedW::pack_rows` on rows of `r − 128` written out
/// here) and the column sums against a naive loop.
fn pack_prop(isa: Isa) {
    if PackedW::format_for(isa).0 != dense::PackFmt::Dp4 {
        return; // avx2 packs Pair16 through `pack_rows` only
    }
    let mut rng = Rng::new(0xBAC0 ^ isa as u64);
    for case in 0..cases() {
        let ka = rng.int(1, 70) as usize;
        let nn = rng.int(1, 50) as usize;
        let tb = rng.int(0, 1) == 1;
        let r: Vec<u8> = (0..ka * nn).map(|_| rng.int(0, 255) as u8).collect();
        let at = |k: usize, n: usize| if tb { r[n * ka + k] } else { r[k * nn + n] };
        let (i8s, colsum) = pack::act_b_dp4(isa, &r, ka, nn, tb);
        let kg = ka.div_ceil(4);
        let rows: Vec<i8> = (0..nn * kg * 4)
            .map(|i| if i % (kg * 4) < ka { (at(i % (kg * 4), i / (kg * 4)) ^ 0x80) as i8 } else { 0 })
            .collect();
        let twin = PackedW::pack_rows(isa, nn, kg, &rows);
        assert_eq!(i8s, twin.i8s, "{isa} case {case} ka {ka} nn {nn} tb {tb}");
        for (n, &cs) in colsum.iter().enumerate() {
            assert_eq!(cs, (0..ka).map(|k| at(k, n) as i32).sum::<i32>(), "{isa} colsum case {case}");
        }
        // The quantize pass with row sums equals quantize + a naive sum.
        let q = optimized::fq::ActQuant::new(-1.0, 1.5, -1.0, 1.5, 256, false);
        let xs: Vec<f32> = (0..ka).map(|_| rng.normal(1.0)).collect();
        let (mut d1, mut d2) = (vec![0u8; ka], vec![0u8; ka]);
        let (nan, sum) = quant::quantize_sum(isa, &q, &xs, &mut d1);
        let nan2 = quant::quantize(isa, &q, &xs, &mut d2);
        assert_eq!((nan, &d1), (nan2, &d2));
        assert_eq!(sum, d2.iter().map(|&v| v as i32).sum::<i32>());
    }
}

/// `quant::quantize` / `quantize_sum` (the multiply path with its exact fallback near ties)
/// against the scalar recipe `ActQuant::index`, on values built to sit within a few ulps of the
/// rounding ties, the range ends, and random values.
fn quant_prop(isa: Isa) {
    let mut rng = Rng::new(0x9A27 ^ isa as u64);
    for case in 0..cases() {
        let levels = match case % 4 {
            0 => 256,
            1 => 255,
            _ => rng.int(2, 256) as u32,
        };
        let s = [0.01f32, 0.02, 0.003_921_568_6, 0.1, 1.7e-3][case % 5] * (0.5 + rng.unit());
        let il = if case % 2 == 0 { 0.0 } else { -(rng.int(1, 200) as f32) * s };
        let ih = il + (levels - 1) as f32 * s * (0.9 + 0.2 * rng.unit());
        let q = optimized::fq::ActQuant::new(il, ih, il, ih, levels, false);
        let n = rng.int(1, 300) as usize;
        let step = (ih - il) / (levels - 1) as f32;
        let xs: Vec<f32> = (0..n)
            .map(|_| match rng.int(0, 9) {
                0..=4 => {
                    // Within a few ulps of a half-level.
                    let k = rng.int(0, levels as i64 - 1) as f32;
                    let x = il + (k + 0.5) * step;
                    let b = x.to_bits() as i64 + rng.int(-4, 4);
                    f32::from_bits(b.max(0) as u32)
                }
                5 => {
                    let x = if rng.int(0, 1) == 0 { il } else { ih };
                    f32::from_bits((x.to_bits() as i64 + rng.int(-2, 2)).max(0) as u32)
                }
                6 => [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 0.0, -0.0, 1e-42][rng.int(0, 5) as usize],
                _ => il - step + (ih - il + 2.0 * step) * rng.unit(),
            })
            .collect();
        let (mut d1, mut d2) = (vec![0u8; n], vec![0u8; n]);
        let nan = quant::quantize(isa, &q, &xs, &mut d1);
        let (nan2, sum) = quant::quantize_sum(isa, &q, &xs, &mut d2);
        for (i, &x) in xs.iter().enumerate() {
            assert_eq!(d1[i], q.index(x), "{isa} case {case} x={x:e} ({:#x}) levels {levels}", x.to_bits());
        }
        assert_eq!(d1, d2, "{isa} case {case}");
        let has_nan = xs.iter().any(|x| x.is_nan());
        assert_eq!((nan, nan2), (has_nan, has_nan), "{isa} case {case}");
        assert_eq!(sum, d1.iter().map(|&v| v as i32).sum::<i32>());
    }
}

/// `layout::interleave16` against its twin on whole buffers (bytes it must not touch included).
fn interleave_prop(isa: Isa) {
    let mut rng = Rng::new(0x1E16 ^ isa as u64);
    for case in 0..cases() {
        let w = rng.int(0, 70) as usize;
        let stride = rng.int(16, 80) as usize;
        let rows: Vec<Vec<u8>> =
            (0..16).map(|_| (0..w + rng.int(0, 5) as usize).map(|_| rng.int(0, 255) as u8).collect()).collect();
        let src: [&[u8]; 16] = std::array::from_fn(|j| rows[j].as_slice());
        let len = if w == 0 { 0 } else { (w - 1) * stride + 16 } + rng.int(0, 20) as usize;
        let fill: Vec<u8> = (0..len).map(|_| rng.int(0, 255) as u8).collect();
        let (mut got, mut want) = (fill.clone(), fill);
        layout::interleave16(isa, &src, w, &mut got, stride).expect("in bounds");
        layout::interleave16_twin(&src, w, &mut want, stride);
        assert_eq!(got, want, "{isa} case {case} w {w} stride {stride}");
    }
    let rows = [[0u8; 4]; 16];
    let src: [&[u8]; 16] = std::array::from_fn(|j| rows[j].as_slice());
    assert!(layout::interleave16(isa, &src, 5, &mut [0u8; 200], 16).is_err(), "short source rows");
    assert!(layout::interleave16(isa, &src, 4, &mut [0u8; 63], 16).is_err(), "short destination");
}

macro_rules! per_isa {
    ($($m:ident => $isa:expr),*) => {$(
        mod $m {
            use super::*;
            #[test]
            fn dense_matches_twin_and_naive() { for_isa($isa, dense_prop) }
            #[test]
            fn depthwise_matches_twin_and_naive() { for_isa($isa, dw_prop) }
            #[test]
            fn rowconv_matches_twin_and_naive() { for_isa($isa, row_prop) }
            #[test]
            fn depthwise_dp_row_matches_twin_and_naive() { for_isa($isa, dw_dp_prop) }
            #[test]
            fn act_b_packing_matches_pack_rows() { for_isa($isa, pack_prop) }
            #[test]
            fn quantize_matches_the_scalar_index() { for_isa($isa, quant_prop) }
            #[test]
            fn interleave16_matches_twin() { for_isa($isa, interleave_prop) }
        }
    )*};
}

per_isa!(avx512vnni => Isa::Avx512Vnni, avxvnni => Isa::AvxVnni, avx2 => Isa::Avx2, scalar => Isa::Scalar);

#[test]
fn a_tile_for_another_isas_packing_is_refused() {
    let p = PackedW::pack(Isa::Avx2, 8, 1, |_, _| 1);
    let mut acc = vec![0i32; 8 * dense::MAX_NV * 16];
    let r = dense::tile(Isa::Scalar, &[0u8; 16], &[0], &[0], 1, &p, 0, 1, &mut acc);
    assert!(r.is_err());
}
