//! INT8 convolution blocks (Convolution, GroupConvolution, depthwise included), 1-D to 3-D.
//!
//! Run: quantize the f32 NC(D)HW input straight into a padded N·D·H·W·C u8 buffer (padding holds
//! the pad value `pv`, = `z_int` whenever `z_int ∈ [0,255]`, so padded taps contribute
//! `(z − z)·w = 0`); then implicit GEMM over output positions with the dense kernel (per group) or
//! the depthwise kernel; the epilogue writes f32 NC(D)HW directly. Parallel over output positions
//! (never over the reduction), so any thread count gives the same bits.
//!
//! Exactness: the kernel sums `T = Σ_k a·w` over all taps (padding included); then
//! `S = T − z·Σ_k w − (pv − z)·PadSum` where `PadSum[o,p]` sums the weights of the taps of `p`
//! that fall into padding, and `W[o,p] = Σ_k w − PadSum[o,p]` (INT8.md §3 "valid" taps). Both
//! border terms are only computed when `pv ≠ z` or the zero point is fractional.

use crate::error::OptError;
use crate::fq::ActQuant;
use crate::isa::Isa;
use crate::kernels::dense::{self, PackedW, MAX_NV};
use crate::kernels::depthwise::{self, PlaneRow};
use crate::kernels::epilogue::{self, Act, Cols, Rows};
use crate::kernels::rowconv::{self, RowW};
use crate::kernels::{layout, quant, KernelError};
use crate::par;
use crate::pattern::WeightsQ;
use conform_ir::{Node, Tensor};

/// Longest reduction (padded channels × taps) for which the row kernel is chosen.
const ROW_MAX_REDUCTION: usize = 128;

/// Padding mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AutoPad {
    Explicit,
    SameUpper,
    SameLower,
    Valid,
}

/// A compiled INT8 convolution.
#[derive(Debug)]
pub struct ConvExec {
    isa: Isa,
    sr: usize,
    groups: usize,
    cin_g: usize,
    cout_g: usize,
    k: [usize; 3],
    stride: [usize; 3],
    dil: [usize; 3],
    pads_begin: [usize; 3],
    pads_end: [usize; 3],
    auto_pad: AutoPad,
    depthwise: bool,
    /// Channels of one group in the u8 buffer (multiple of 4; 1 for depthwise).
    cgp: usize,
    dense: Vec<PackedW>,
    /// Row-kernel packing per group (instead of `dense`, see [`ConvExec::run_row`]).
    row: Vec<RowW>,
    dw: Vec<i8>,
    colsum: Vec<i32>,
    col_add: Vec<i32>,
    scale: Vec<f32>,
    bias: Option<Vec<f32>>,
    tapsum: Vec<i32>,
    act: ActQuant,
    pv: u8,
    act_fn: Act,
    border_fix: bool,
    /// Kernel name for reports.
    pub kernel: String,
    /// Run-time buffers kept between runs (see [`Scratch`]).
    scratch: std::sync::Mutex<Scratch>,
}

/// Reusable run-time buffers (quantized input, padded layout). Kept between runs so a stream of
/// inferences does not page-fault freshly mapped allocations on every call (glibc returns large
/// freed blocks to the OS); a concurrent run that finds them in use allocates its own.
#[derive(Debug, Default)]
struct Scratch {
    qx: Vec<u8>,
    buf: Vec<u8>,
}

fn three(v: &[usize], sr: usize, fill: usize) -> [usize; 3] {
    let mut o = [fill; 3];
    for i in 0..sr {
        o[3 - sr + i] = v[i];
    }
    o
}

impl ConvExec {
    /// Compiles a block: packs the quantized weights for `isa`.
    pub fn new(
        isa: Isa,
        node: &Node,
        grouped: bool,
        w: &WeightsQ,
        act: ActQuant,
        bias: Option<Vec<f32>>,
        act_fn: Act,
    ) -> Result<ConvExec, OptError> {
        let lead = if grouped { 2 } else { 1 };
        let sr = w.shape.len().checked_sub(lead + 1).filter(|s| (1..=3).contains(s)).ok_or_else(|| {
            OptError::layer(node, format!("weights of rank {} are not a 1-D to 3-D convolution", w.shape.len()))
        })?;
        let (groups, cout_g, cin_g) =
            if grouped { (w.shape[0], w.shape[1], w.shape[2]) } else { (1, w.shape[0], w.shape[1]) };
        let kk = &w.shape[lead + 1..];
        let attr = |n: &str, def: usize| -> Result<Vec<usize>, OptError> {
            let v = node.attr_usize_list_or(n, vec![def; sr]).map_err(|e| OptError::layer(node, e.to_string()))?;
            if v.len() != sr {
                return Err(OptError::layer(node, format!("`{n}` has {} values for {sr} spatial dims", v.len())));
            }
            Ok(v)
        };
        let stride = attr("strides", 1)?;
        let dil = attr("dilations", 1)?;
        let pb = attr("pads_begin", 0)?;
        let pe = attr("pads_end", 0)?;
        if stride.contains(&0) || dil.contains(&0) {
            return Err(OptError::layer(node, "zero stride or dilation"));
        }
        let auto_pad = match node.attr("auto_pad").map(str::trim).unwrap_or("explicit") {
            "explicit" | "notset" | "" => AutoPad::Explicit,
            "same_upper" => AutoPad::SameUpper,
            "same_lower" => AutoPad::SameLower,
            "valid" => AutoPad::Valid,
            other => return Err(OptError::layer(node, format!("unknown auto_pad `{other}`"))),
        };
        let depthwise = grouped && cin_g == 1 && cout_g == 1;
        let ntaps: usize = kk.iter().product();
        let kred = cin_g * ntaps;
        let nch = groups * cout_g;
        // q_w in IR order: [g][o][c][taps].
        let qw = |g: usize, o: usize, c: usize, t: usize| w.q[((g * cout_g + o) * cin_g + c) * ntaps + t];
        let mut colsum = vec![0i32; nch];
        let mut tapsum = vec![0i32; nch * ntaps];
        for g in 0..groups {
            for o in 0..cout_g {
                let oc = g * cout_g + o;
                for c in 0..cin_g {
                    for t in 0..ntaps {
                        let v = qw(g, o, c, t) as i32;
                        colsum[oc] += v;
                        tapsum[oc * ntaps + t] += v;
                    }
                }
            }
        }
        let cgp = if depthwise { 1 } else { cin_g.div_ceil(4) * 4 };
        let z = act.z_int;
        let pv = z.clamp(0, 255) as u8;
        let border_fix = act.frac != 0.0 || pv as i64 != z;
        // The row kernel (positions in the lanes, fused epilogue) needs no border correction.
        // It wins when the reduction is short (measured: 1×1 C = 24 and the C = 3 stem about 1.5–1.9×
        // faster); with long reductions (3×3 C = 64, 1×1 C = 256) the positions × channels tiles
        // of `dense` keep more of the VNNI peak.
        let use_row = !depthwise && !border_fix && rowconv::geometry(isa).is_some() && cgp * ntaps <= ROW_MAX_REDUCTION;
        let (mut dense_w, mut dw, mut row_w) = (Vec::new(), Vec::new(), Vec::new());
        if depthwise {
            dw = vec![0i8; ntaps * groups];
            for t in 0..ntaps {
                for c in 0..groups {
                    dw[t * groups + c] = qw(c, 0, 0, t);
                }
            }
        } else {
            let cg4 = cgp / 4;
            for g in 0..groups {
                // k = (tap·cg4 + c4)·4 + j  ↔  channel c = c4·4 + j of tap `tap`.
                let get = |o: usize, k: usize| {
                    let (tap, c) = (k / cgp, k % cgp);
                    if c < cin_g {
                        qw(g, o, c, tap)
                    } else {
                        0
                    }
                };
                match use_row.then(|| RowW::pack(isa, cout_g, ntaps * cg4, get)).flatten() {
                    Some(r) => row_w.push(r),
                    None => dense_w.push(PackedW::pack(isa, cout_g, ntaps * cg4, get)),
                }
            }
        }
        let bias = match bias {
            Some(b) if b.len() == 1 => Some(vec![b[0]; nch]),
            Some(b) if b.len() == nch => Some(b),
            Some(_) => return Err(OptError::layer(node, "bias length does not match the output channels")),
            None => None,
        };
        let col_add = colsum.iter().map(|&s| (s as i64).wrapping_mul(-z) as i32).collect();
        #[cfg(feature = "mutants")]
        let per_tensor = crate::mutants::is(crate::mutants::Mutant::PerTensorScale);
        #[cfg(not(feature = "mutants"))]
        let per_tensor = false;
        let s0 = w.scale.first().copied().unwrap_or(0.0);
        let scale = w.scale.iter().map(|&s| act.scale * if per_tensor { s0 } else { s }).collect();
        #[cfg(feature = "mutants")]
        let pv = if crate::mutants::is(crate::mutants::Mutant::PadZero) && !border_fix { 0 } else { pv };
        let name = if depthwise {
            format!("{}_dwconv_u8s8s32", isa.name())
        } else if !row_w.is_empty() {
            format!("{}_conv_u8s8s32_rows_fused", isa.name())
        } else {
            format!("{}_conv_u8s8s32_implicit_gemm", isa.name())
        };
        let _ = kred;
        Ok(ConvExec {
            isa,
            sr,
            groups,
            cin_g,
            cout_g,
            k: three(kk, sr, 1),
            stride: three(&stride, sr, 1),
            dil: three(&dil, sr, 1),
            pads_begin: three(&pb, sr, 0),
            pads_end: three(&pe, sr, 0),
            auto_pad,
            depthwise,
            cgp,
            dense: dense_w,
            row: row_w,
            dw,
            colsum,
            col_add,
            scale,
            bias,
            tapsum: if border_fix { tapsum } else { Vec::new() },
            act,
            pv,
            act_fn,
            border_fix,
            kernel: name,
            scratch: std::sync::Mutex::new(Scratch::default()),
        })
    }

    /// Bytes of packed weights and per-channel parameters held.
    pub fn resident_bytes(&self) -> usize {
        self.dense.iter().map(PackedW::bytes).sum::<usize>()
            + self.row.iter().map(RowW::bytes).sum::<usize>()
            + self.dw.len()
            + 4 * (self.colsum.len() + self.col_add.len() + self.scale.len() + self.tapsum.len())
            + 4 * self.bias.as_ref().map_or(0, Vec::len)
    }

    /// The packed weight data held, `(bytes, slots)`: slots count packing padding too (an i8
    /// slot is one byte, an i16 slot two). The rest of [`ConvExec::resident_bytes`] is per-channel
    /// parameters. Read by the harness's memory oracle.
    pub fn weight_data(&self) -> (usize, usize) {
        let bytes = self.dense.iter().map(PackedW::bytes).sum::<usize>()
            + self.row.iter().map(RowW::bytes).sum::<usize>()
            + self.dw.len();
        let slots = self.dense.iter().map(|p| p.i8s.len()).sum::<usize>()
            + self.row.iter().map(|r| r.data.len()).sum::<usize>()
            + self.dw.len();
        (bytes, slots)
    }

    /// Runs on input `x` (f32, `[N, C, spatial…]`).
    pub fn run(&self, node: &Node, x: &Tensor, threads: usize) -> Result<Tensor, OptError> {
        let mut s = self.scratch.try_lock().map(|mut g| std::mem::take(&mut *g)).unwrap_or_default();
        let r = self.run_with(node, x, threads, &mut s);
        if let Ok(mut g) = self.scratch.try_lock() {
            *g = s;
        }
        r
    }

    fn run_with(&self, node: &Node, x: &Tensor, threads: usize, s: &mut Scratch) -> Result<Tensor, OptError> {
        let err = |m: String| OptError::layer(node, m);
        let xs =
            x.as_f32().ok_or_else(|| err(format!("INT8 convolution input must be f32, got {}", x.element_type)))?;
        let sr = self.sr;
        if x.shape.len() != sr + 2 {
            return Err(err(format!("input rank {} for a {sr}-D convolution", x.shape.len())));
        }
        let (n, c) = (x.shape[0], x.shape[1]);
        if c != self.groups * self.cin_g {
            return Err(err(format!("input has {c} channels, the weights expect {}", self.groups * self.cin_g)));
        }
        let ind = three(&x.shape[2..], sr, 1);
        let mut pb = self.pads_begin;
        let mut pe = self.pads_end;
        let mut outd = [1usize; 3];
        for i in 0..3 {
            let eff = (self.k[i] - 1) * self.dil[i] + 1;
            match self.auto_pad {
                AutoPad::Valid => {
                    pb[i] = 0;
                    pe[i] = 0;
                }
                AutoPad::SameUpper | AutoPad::SameLower => {
                    let o = ind[i].div_ceil(self.stride[i]);
                    let total = ((o.max(1) - 1) * self.stride[i] + eff).saturating_sub(ind[i]);
                    let small = total / 2;
                    if self.auto_pad == AutoPad::SameUpper {
                        pb[i] = small;
                        pe[i] = total - small;
                    } else {
                        pb[i] = total - small;
                        pe[i] = small;
                    }
                }
                AutoPad::Explicit => {}
            }
            let padded = ind[i] + pb[i] + pe[i];
            if padded < eff {
                return Err(err(format!("padded input {padded} is smaller than the kernel extent {eff}")));
            }
            outd[i] = (padded - eff) / self.stride[i] + 1;
        }
        let dp = [ind[0] + pb[0] + pe[0], ind[1] + pb[1] + pe[1], ind[2] + pb[2] + pe[2]];
        let cp = self.groups * self.cgp;
        let img = dp[0]
            .checked_mul(dp[1])
            .and_then(|v| v.checked_mul(dp[2]))
            .and_then(|v| v.checked_mul(cp))
            .ok_or_else(|| err("padded input size overflows".into()))?;
        let total = img.checked_mul(n).ok_or_else(|| err("padded input size overflows".into()))?;
        // 1. Quantize the whole NC(D)HW input (contiguous, vectorized) into u8 level indices.
        let (qx, buf) = (&mut s.qx, &mut s.buf);
        qx.clear();
        qx.resize(xs.len(), 0);
        let chunk = 16384;
        let any_nan = par::any_zip_chunks(qx, xs, chunk, |d, s| quant::quantize(self.isa, &self.act, s, d));
        if self.depthwise && !self.border_fix {
            return self.run_planar(node, qx, any_nan, xs, n, &ind, &outd, &pb, &dp);
        }
        if !self.row.is_empty() {
            let g = Geo { outd, pb, ind, dp, cp: 0, img: 0, stride: self.stride };
            return self.run_row(node, qx, buf, any_nan, xs, n, &g, threads);
        }
        // 2. Scatter into the padded N·D·H·W·C buffer (pad value `pv`), one padded row per task.
        buf.clear();
        buf.resize(total, self.pv);
        let rowlen = dp[2] * cp;
        let spatial_in = ind[0] * ind[1] * ind[2];
        let (cin_g, cgp) = (self.cin_g, self.cgp);
        let res = par::try_for_each_chunk_init(
            buf,
            rowlen,
            || (),
            |_, ri, row| {
                let (ni, rem) = (ri / (dp[0] * dp[1]), ri % (dp[0] * dp[1]));
                let (zd, zy) = (rem / dp[1], rem % dp[1]);
                if zd < pb[0] || zd >= pb[0] + ind[0] || zy < pb[1] || zy >= pb[1] + ind[1] {
                    return Ok(());
                }
                let (id, iy) = (zd - pb[0], zy - pb[1]);
                let src_row = |ch: usize| {
                    let off = (ni * c + ch) * spatial_in + (id * ind[1] + iy) * ind[2];
                    &qx[off..off + ind[2]]
                };
                let row = &mut row[pb[2] * cp..(pb[2] + ind[2]) * cp];
                if cin_g % 16 == 0 && cgp == cin_g {
                    // 16 channels at a time: a 16 × 16 byte transpose per 16 pixels.
                    for g in 0..self.groups {
                        for c16 in 0..cin_g / 16 {
                            let ch = g * cin_g + 16 * c16;
                            let srcs: [&[u8]; 16] = std::array::from_fn(|j| src_row(ch + j));
                            layout::interleave16(self.isa, &srcs, ind[2], &mut row[g * cgp + 16 * c16..], cp)?;
                        }
                    }
                } else if cgp % 4 == 0 && cin_g % 4 == 0 {
                    // Four channels at a time as one u32 store.
                    for g in 0..self.groups {
                        for c4 in 0..cin_g / 4 {
                            let ch = g * cin_g + 4 * c4;
                            let (s0, s1, s2, s3) = (src_row(ch), src_row(ch + 1), src_row(ch + 2), src_row(ch + 3));
                            let base = g * cgp + 4 * c4;
                            for (ix, px) in row.chunks_exact_mut(cp).enumerate() {
                                px[base..base + 4].copy_from_slice(&[s0[ix], s1[ix], s2[ix], s3[ix]]);
                            }
                        }
                    }
                } else {
                    for ch in 0..c {
                        let (g, cc) = (ch / cin_g, ch % cin_g);
                        let s = src_row(ch);
                        let base = g * cgp + cc;
                        for (ix, px) in row.chunks_exact_mut(cp).enumerate() {
                            px[base] = s[ix];
                        }
                    }
                }
                Ok(())
            },
        );
        res.map_err(|e: KernelError| err(e.to_string()))?;
        // Taps.
        let mut taps = Vec::with_capacity(self.k[0] * self.k[1] * self.k[2]);
        let mut tap_xyz = Vec::with_capacity(taps.capacity());
        for kd in 0..self.k[0] {
            for ky in 0..self.k[1] {
                for kx in 0..self.k[2] {
                    taps.push(((kd * self.dil[0] * dp[1] + ky * self.dil[1]) * dp[2] + kx * self.dil[2]) * cp);
                    tap_xyz.push([kd * self.dil[0], ky * self.dil[1], kx * self.dil[2]]);
                }
            }
        }
        let p_total = outd[0] * outd[1] * outd[2];
        let nch = self.groups * self.cout_g;
        let out_len = n
            .checked_mul(nch)
            .and_then(|v| v.checked_mul(p_total))
            .ok_or_else(|| err("output size overflows".into()))?;
        let mut out = vec![0f32; out_len];
        // Tasks: position ranges per image, each holding one slice per output channel.
        let unit = 6 * 4;
        let ntasks = if threads <= 1 { 1 } else { (p_total / unit).clamp(1, threads * 8) };
        let per = p_total.div_ceil(ntasks).div_ceil(unit) * unit;
        let mut tasks: Vec<(usize, usize, Vec<&mut [f32]>)> = Vec::new();
        for (ni, image) in out.chunks_mut((nch * p_total).max(1)).enumerate() {
            let first = tasks.len();
            let mut lo = 0;
            while lo < p_total {
                tasks.push((ni, lo, Vec::with_capacity(nch)));
                lo += per;
            }
            for row in image.chunks_mut(p_total.max(1)) {
                let mut rest = row;
                for t in tasks[first..].iter_mut() {
                    let take = per.min(rest.len());
                    let (a, b) = rest.split_at_mut(take);
                    t.2.push(a);
                    rest = b;
                }
            }
        }
        let geo = Geo { outd, pb, ind, dp, cp, img, stride: self.stride };
        let res: Result<(), KernelError> = par::try_for_each(tasks, |(ni, lo, mut rows)| {
            let hi = (lo + per).min(p_total);
            self.task(buf, &taps, &tap_xyz, &geo, ni, lo, hi, &mut rows)
        });
        res.map_err(|e| err(e.to_string()))?;
        if any_nan {
            self.nan_pass(xs, n, &ind, &outd, &pb, &mut out);
        }
        let mut shape = vec![n, nch];
        shape.extend_from_slice(&outd[3 - sr..]);
        Tensor::from_f32(shape, out).map_err(|e| err(e.to_string()))
    }

    #[allow(clippy::too_many_arguments)]
    fn task(
        &self,
        buf: &[u8],
        taps: &[usize],
        tap_xyz: &[[usize; 3]],
        g: &Geo,
        ni: usize,
        lo: usize,
        hi: usize,
        rows: &mut [&mut [f32]],
    ) -> Result<(), KernelError> {
        let base_of = |p: usize| {
            let (zd, r) = (p / (g.outd[1] * g.outd[2]), p % (g.outd[1] * g.outd[2]));
            let (zy, zx) = (r / g.outd[2], r % g.outd[2]);
            ni * g.img + ((zd * g.stride[0] * g.dp[1] + zy * g.stride[1]) * g.dp[2] + zx * g.stride[2]) * g.cp
        };
        // Padding sum of the weights of channel `o` at position `p` (border correction).
        let padsum = |o: usize, p: usize| -> i32 {
            let (zd, r) = (p / (g.outd[1] * g.outd[2]), p % (g.outd[1] * g.outd[2]));
            let (zy, zx) = (r / g.outd[2], r % g.outd[2]);
            let pos = [zd * g.stride[0], zy * g.stride[1], zx * g.stride[2]];
            let mut s = 0i32;
            for (t, off) in tap_xyz.iter().enumerate() {
                let inside = (0..3).all(|i| {
                    let c = pos[i] + off[i];
                    c >= g.pb[i] && c < g.pb[i] + g.ind[i]
                });
                if !inside {
                    s = s.wrapping_add(self.tapsum[o * tap_xyz.len() + t]);
                }
            }
            s
        };
        let z = self.act.z_int;
        let cols = Cols {
            add: &self.col_add,
            scale: &self.scale,
            bias: self.bias.as_deref(),
            frac: self.act.frac,
            w: &self.colsum,
            act: self.act_fn,
        };
        if self.depthwise {
            let c = self.groups;
            const T: usize = 16;
            let mut acc = vec![0i32; T * c];
            let mut wt = if self.border_fix { vec![0i32; T * c] } else { Vec::new() };
            let mut ft = vec![0f32; T * c];
            let mut bases = [0usize; T];
            let mut p0 = lo;
            while p0 < hi {
                let mr = T.min(hi - p0);
                for (i, b) in bases.iter_mut().take(mr).enumerate() {
                    *b = base_of(p0 + i);
                }
                depthwise::tile(self.isa, buf, &bases[..mr], taps, &self.dw, c, &mut acc)?;
                self.fix_border(&mut acc, &mut wt, c, mr, 0, c, p0, &padsum, z);
                let r = Rows { w_tile: if self.border_fix { Some(&wt) } else { None }, ..Rows::default() };
                epilogue::apply(self.isa, &cols, &r, &acc, c, mr, 0, c, &mut ft, c);
                for (o, row) in rows.iter_mut().enumerate() {
                    let dst = &mut row[p0 - lo..p0 - lo + mr];
                    for (i, d) in dst.iter_mut().enumerate() {
                        *d = ft[i * c + o];
                    }
                }
                p0 += mr;
            }
            return Ok(());
        }
        let lanes = self.dense.first().map_or(16, |w| w.lanes);
        let cg4 = self.cgp / 4;
        // Positions are processed in chunks of CH (a multiple of every tile height), so the
        // epilogue and the transposed NC(D)HW write work on long rows.
        const CH: usize = 48;
        let smax = MAX_NV * lanes;
        let mut acc = vec![0i32; (CH + 8) * smax];
        let mut wt = if self.border_fix { vec![0i32; (CH + 8) * smax] } else { Vec::new() };
        let mut ft = vec![0f32; (CH + 8) * smax];
        let mut bases = [0usize; 8];
        for (gi, w) in self.dense.iter().enumerate() {
            let mut ob = 0;
            while ob < w.nblocks {
                let nv = MAX_NV.min(w.nblocks - ob);
                let mrf = dense::tile_rows(self.isa, nv);
                let stride = nv * lanes;
                let o_first = ob * lanes;
                let nc = stride.min(self.cout_g - o_first);
                let o0 = gi * self.cout_g + o_first;
                let mut p0 = lo;
                while p0 < hi {
                    let chunk = CH.min(hi - p0);
                    let mut sub = 0;
                    while sub < chunk {
                        let mr = mrf.min(chunk - sub);
                        for (i, b) in bases.iter_mut().take(mr).enumerate() {
                            *b = base_of(p0 + sub + i) + gi * self.cgp;
                        }
                        dense::tile(self.isa, buf, &bases[..mr], taps, cg4, w, ob, nv, &mut acc[sub * stride..])?;
                        sub += mr;
                    }
                    // The seeded bug takes the border of the task-relative position `p0 − lo`.
                    #[cfg(feature = "mutants")]
                    let pb0 = if crate::mutants::is(crate::mutants::Mutant::SplitBorder) { p0 - lo } else { p0 };
                    #[cfg(not(feature = "mutants"))]
                    let pb0 = p0;
                    self.fix_border(&mut acc, &mut wt, stride, chunk, o0, nc, pb0, &padsum, z);
                    let r = Rows { w_tile: if self.border_fix { Some(&wt) } else { None }, ..Rows::default() };
                    epilogue::apply(self.isa, &cols, &r, &acc, stride, chunk, o0, nc, &mut ft, stride);
                    epilogue::write_columns(self.isa, &ft, stride, chunk, nc, &mut rows[o0..o0 + nc], p0 - lo);
                    p0 += chunk;
                }
                ob += nv;
            }
        }
        Ok(())
    }

    /// Dense convolution with the row kernel ([`rowconv`]): the quantized input is laid out as
    /// u8 `[n][group·cg4][D][H][sw phase][⌈W/sw⌉][4]` (padded; columns split into `sw` phases so a
    /// strided tap still reads consecutive 4-byte groups for consecutive outputs), then each tile
    /// computes `MR` channels × up to `NV·LANES` positions of one output row and stores them,
    /// epilogue applied, straight into NC(D)HW. When the kernel is 1 wide with stride 1 and no W
    /// padding and the H stride is 1, output rows are contiguous in the buffer and a whole
    /// (H, W) plane is one row. Parallel over output positions.
    #[allow(clippy::too_many_arguments)]
    fn run_row(
        &self,
        node: &Node,
        qx: &[u8],
        buf: &mut Vec<u8>,
        any_nan: bool,
        xs: &[f32],
        n: usize,
        g: &Geo,
        threads: usize,
    ) -> Result<Tensor, OptError> {
        let err = |m: String| OptError::layer(node, m);
        let (mut outd, mut pb, mut ind, mut dp) = (g.outd, g.pb, g.ind, g.dp);
        let Some((_, lanes, nv_max)) = rowconv::geometry(self.isa) else {
            return Err(err("row kernel without an ISA that has it".into()));
        };
        let s = self.stride;
        // Pointwise in (H, W) without H/W padding: a whole (H, W) plane is one contiguous row.
        let flat = self.k[1] == 1 && self.k[2] == 1 && s[1] == 1 && s[2] == 1 && dp[1] == ind[1] && dp[2] == ind[2];
        if flat {
            (outd[2], outd[1], ind[2], ind[1], dp[2], dp[1]) =
                (outd[1] * outd[2], 1, ind[1] * ind[2], 1, dp[1] * dp[2], 1);
            (pb[1], pb[2]) = (0, 0);
        }
        let sw = s[2];
        let wq = dp[2].div_ceil(sw);
        let cg4 = self.cgp / 4;
        let ngr = self.groups * cg4;
        // Layout [n][D][H][group·cg4][phase][wq][4]: the channel groups of one input row are
        // adjacent, so a tile's reduction walks a few KB, not whole planes (TLB, prefetch).
        let cs = sw * wq * 4; // bytes of one padded row (all phases) of one group of 4 channels
        let rs = ngr * cs; // bytes of one padded input row, all channels
        let plane = dp[1] * rs;
        let img = dp[0] * plane;
        let slack = nv_max * lanes * 4 + 64;
        let total = img
            .checked_mul(n)
            .and_then(|v| v.checked_add(slack))
            .ok_or_else(|| err("padded input size overflows".into()))?;
        buf.clear();
        buf.resize(total, self.pv);
        let c = self.groups * self.cin_g;
        let spatial_in = ind[0] * ind[1] * ind[2];
        let (cin_g, groups) = (self.cin_g, self.groups);
        // One padded input row (all phases) of one group of 4 channels per task.
        par::for_each_chunk(&mut buf[..img * n], cs, |ri, row| {
            let gc = ri % ngr;
            let zy = (ri / ngr) % dp[1];
            let zd = (ri / (ngr * dp[1])) % dp[0];
            let ni = ri / (ngr * dp[1] * dp[0]);
            if zd < pb[0] || zd >= pb[0] + ind[0] || zy < pb[1] || zy >= pb[1] + ind[1] {
                return;
            }
            let (gi, c4) = (gc / cg4, gc % cg4);
            let (id, iy) = (zd - pb[0], zy - pb[1]);
            for j in 0..4 {
                let cc = c4 * 4 + j;
                if cc >= cin_g || gi >= groups {
                    continue;
                }
                let off = (ni * c + gi * cin_g + cc) * spatial_in + (id * ind[1] + iy) * ind[2];
                let src = &qx[off..off + ind[2]];
                if sw == 1 {
                    for (d, &v) in row[pb[2] * 4 + j..].iter_mut().step_by(4).zip(src) {
                        *d = v;
                    }
                } else {
                    // Column x = q·sw + phase lands at [phase][q]; per phase a strided copy.
                    for phase in 0..sw {
                        let q0 = pb[2].saturating_sub(phase).div_ceil(sw);
                        let x0 = q0 * sw + phase - pb[2];
                        if x0 >= src.len() {
                            continue;
                        }
                        let dst = row[(phase * wq + q0) * 4 + j..].iter_mut().step_by(4);
                        for (d, &v) in dst.zip(src[x0..].iter().step_by(sw)) {
                            *d = v;
                        }
                    }
                }
            }
        });
        let mut taps = Vec::with_capacity(self.k[0] * self.k[1] * self.k[2]);
        for kd in 0..self.k[0] {
            for ky in 0..self.k[1] {
                for kx in 0..self.k[2] {
                    let x = kx * self.dil[2];
                    taps.push(kd * self.dil[0] * plane + ky * self.dil[1] * rs + ((x % sw) * wq + x / sw) * 4);
                }
            }
        }
        // Output rows: (zd, zy) of outd[2] positions.
        let rowlen = outd[2];
        let p_total = outd[0] * outd[1] * outd[2];
        let nch = self.groups * self.cout_g;
        let out_len = n
            .checked_mul(nch)
            .and_then(|v| v.checked_mul(p_total))
            .ok_or_else(|| err("output size overflows".into()))?;
        let mut out = vec![0f32; out_len];
        let seg = nv_max * lanes;
        let nrows = p_total / rowlen.max(1);
        let per = if threads <= 1 {
            p_total
        } else if nrows >= 2 * threads {
            nrows.div_ceil((threads * 4).min(nrows)) * rowlen
        } else {
            p_total.div_ceil(threads * 2).div_ceil(seg) * seg
        };
        let per = per.max(1);
        let mut tasks: Vec<(usize, usize, Vec<&mut [f32]>)> = Vec::new();
        for (ni, image) in out.chunks_mut((nch * p_total).max(1)).enumerate() {
            let first = tasks.len();
            let mut lo = 0;
            while lo < p_total {
                tasks.push((ni, lo, Vec::with_capacity(nch)));
                lo += per;
            }
            for orow in image.chunks_mut(p_total.max(1)) {
                let mut rest = orow;
                for t in tasks[first..].iter_mut() {
                    let take = per.min(rest.len());
                    let (a, b) = rest.split_at_mut(take);
                    t.2.push(a);
                    rest = b;
                }
            }
        }
        let ep = rowconv::Epi { add: &self.col_add, scale: &self.scale, bias: self.bias.as_deref(), act: self.act_fn };
        let run_task = |(ni, lo, mut rows): (usize, usize, Vec<&mut [f32]>)| -> Result<(), KernelError> {
            let hi = (lo + per).min(p_total);
            let mut p = lo;
            while p < hi {
                let r = p / rowlen;
                let x0 = p - r * rowlen;
                let len = seg.min(hi - p).min(rowlen - x0);
                let (zd, zy) = (r / outd[1], r % outd[1]);
                let pos = ni * img + zd * s[0] * plane + zy * s[1] * rs + x0 * 4;
                for (gi, w) in self.row.iter().enumerate() {
                    let src = rowconv::Src { a: buf, base: pos + gi * cg4 * cs, taps: &taps, cg: cg4, cstride: cs };
                    for blk in 0..w.nblocks {
                        let o_first = blk * w.mr;
                        let nc = w.mr.min(self.cout_g - o_first);
                        let o0 = gi * self.cout_g + o_first;
                        let mut dst: [&mut [f32]; 8] = Default::default();
                        for (d, r) in dst.iter_mut().zip(rows[o0..o0 + nc].iter_mut()) {
                            *d = &mut r[p - lo..p - lo + len];
                        }
                        rowconv::tile(self.isa, &src, w, blk, &ep, o0, &mut dst[..nc])?;
                    }
                }
                p += len;
            }
            Ok(())
        };
        let res: Result<(), KernelError> = par::try_for_each(tasks, run_task);
        res.map_err(|e| err(e.to_string()))?;
        if any_nan {
            self.nan_pass(xs, n, &g.ind, &g.outd, &g.pb, &mut out);
        }
        let mut shape = vec![n, nch];
        shape.extend_from_slice(&g.outd[3 - self.sr..]);
        Tensor::from_f32(shape, out).map_err(|e| err(e.to_string()))
    }

    /// Depthwise in planar layout (no border correction needed): per (image, channel) plane, a
    /// padded u8 plane and output rows computed and written straight into NC(D)HW.
    #[allow(clippy::too_many_arguments)]
    fn run_planar(
        &self,
        node: &Node,
        qx: &[u8],
        any_nan: bool,
        xs: &[f32],
        n: usize,
        ind: &[usize; 3],
        outd: &[usize; 3],
        pb: &[usize; 3],
        dp: &[usize; 3],
    ) -> Result<Tensor, OptError> {
        let err = |m: String| OptError::layer(node, m);
        let c = self.groups;
        let p_total = outd[0] * outd[1] * outd[2];
        let sp_in = ind[0] * ind[1] * ind[2];
        let ntaps = self.k[0] * self.k[1] * self.k[2];
        let mut out = vec![0f32; n * c * p_total];
        // One expansion buffer per worker, reused across its planes (every byte is rewritten).
        let res: Result<(), KernelError> =
            par::try_for_each_chunk_init(&mut out, p_total, <(Vec<u8>, Vec<u8>)>::default, |st, plane, dst| {
                let (e, padded) = st;
                let ch = plane % c;
                let src = &qx[plane * sp_in..(plane + 1) * sp_in];
                // Rows padded with V·stride slack columns for the kernel's last 16-wide chunk. One
                // padded plane per worker: filled with `pv` once, then only its interior rows are
                // rewritten (the same positions for every plane of this run), so the border stays `pv`.
                let pw = dp[2] + depthwise::V * self.stride[2];
                let plen = dp[0] * dp[1] * pw + pw;
                if padded.len() != plen {
                    padded.clear();
                    padded.resize(plen, self.pv);
                }
                for d in 0..ind[0] {
                    for y in 0..ind[1] {
                        let o = ((d + pb[0]) * dp[1] + y + pb[1]) * pw + pb[2];
                        let i = (d * ind[1] + y) * ind[2];
                        padded[o..o + ind[2]].copy_from_slice(&src[i..i + ind[2]]);
                    }
                }
                let padded = &padded[..];
                if depthwise::has_dp_row(self.isa) {
                    return self.planar_dp_plane(padded, pw, ch, dp, outd, dst, e);
                }
                let w: Vec<i32> = (0..ntaps).map(|t| self.dw[t * c + ch] as i32).collect();
                let mut acc = vec![0i32; outd[2].div_ceil(depthwise::V) * depthwise::V];
                let mut taps: Vec<&[u8]> = Vec::with_capacity(ntaps);
                for zd in 0..outd[0] {
                    for zy in 0..outd[1] {
                        taps.clear();
                        for kd in 0..self.k[0] {
                            for ky in 0..self.k[1] {
                                let row = ((zd * self.stride[0] + kd * self.dil[0]) * dp[1]
                                    + zy * self.stride[1]
                                    + ky * self.dil[1])
                                    * pw;
                                for kx in 0..self.k[2] {
                                    taps.push(&padded[row + kx * self.dil[2]..row + 2 * pw]);
                                }
                            }
                        }
                        let r = PlaneRow {
                            taps: &taps,
                            w: &w,
                            stride: self.stride[2],
                            add: self.col_add[ch],
                            m: self.scale[ch],
                            bias: self.bias.as_ref().map(|b| b[ch]),
                            act: self.act_fn,
                        };
                        let o = (zd * outd[1] + zy) * outd[2];
                        depthwise::plane_row(self.isa, &r, &mut acc, &mut dst[o..o + outd[2]])?;
                    }
                }
                Ok(())
            });
        res.map_err(|e| err(e.to_string()))?;
        if any_nan {
            self.nan_pass(xs, n, ind, outd, pb, &mut out);
        }
        let mut shape = vec![n, c];
        shape.extend_from_slice(&outd[3 - self.sr..]);
        Tensor::from_f32(shape, out).map_err(|e| err(e.to_string()))
    }

    /// One channel plane of a planar depthwise convolution with [`depthwise::dp_row`]: every
    /// padded input row (width `pw`, slack included) is expanded once into 4-byte groups of up
    /// to 4 horizontal taps per output position, then each output row is `kd·kh·⌈kw/4⌉`
    /// `vpdpbusd` steps per 16 outputs, epilogue fused, stored straight into the NC(D)HW plane.
    #[allow(clippy::too_many_arguments)]
    fn planar_dp_plane(
        &self,
        padded: &[u8],
        pw: usize,
        ch: usize,
        dp: &[usize; 3],
        outd: &[usize; 3],
        dst: &mut [f32],
        e: &mut Vec<u8>,
    ) -> Result<(), KernelError> {
        let c = self.groups;
        let (sw, dw) = (self.stride[2], self.dil[2]);
        let kw = self.k[2];
        let ngk = kw.div_ceil(4);
        let wa = depthwise::dp_row_need(outd[2]) / 4; // positions per expanded row
        let nrows = dp[0] * dp[1];
        // E[row][g][x][j] = padded[row][x·sw + k_j·dw] with k_j = 4g + j (clamped to the last
        // tap past the kernel width: its weight byte is 0, any in-bounds value works).
        // Every byte of `e` is rewritten below, so a reused buffer needs no clearing.
        e.resize(nrows * ngk * wa * 4, 0);
        e.truncate(nrows * ngk * wa * 4);
        for (ri, erow) in e.chunks_exact_mut((ngk * wa * 4).max(1)).enumerate() {
            let prow = &padded[ri * pw..(ri + 1) * pw];
            for (g, eg) in erow.chunks_exact_mut(wa * 4).enumerate() {
                let off = |j: usize| (4 * g + j).min(kw - 1) * dw;
                depthwise::expand_row(self.isa, prow, [off(0), off(1), off(2), off(3)], sw, eg)?;
            }
        }
        let mut wd = Vec::with_capacity(self.k[0] * self.k[1] * ngk);
        for kd in 0..self.k[0] {
            for ky in 0..self.k[1] {
                for g in 0..ngk {
                    let mut b = [0u8; 4];
                    for (j, v) in b.iter_mut().enumerate() {
                        let kx = 4 * g + j;
                        if kx < kw {
                            let t = (kd * self.k[1] + ky) * kw + kx;
                            *v = self.dw[t * c + ch] as u8;
                        }
                    }
                    wd.push(i32::from_le_bytes(b));
                }
            }
        }
        let mut taps: Vec<&[u8]> = Vec::with_capacity(wd.len());
        for zd in 0..outd[0] {
            for zy in 0..outd[1] {
                taps.clear();
                for kd in 0..self.k[0] {
                    for ky in 0..self.k[1] {
                        let row =
                            (zd * self.stride[0] + kd * self.dil[0]) * dp[1] + zy * self.stride[1] + ky * self.dil[1];
                        for g in 0..ngk {
                            let o = (row * ngk + g) * wa * 4;
                            taps.push(&e[o..o + wa * 4]);
                        }
                    }
                }
                let r = depthwise::DpRow {
                    taps: &taps,
                    w: &wd,
                    add: self.col_add[ch],
                    m: self.scale[ch],
                    bias: self.bias.as_ref().map(|b| b[ch]),
                    act: self.act_fn,
                };
                let o = (zd * outd[1] + zy) * outd[2];
                depthwise::dp_row(self.isa, &r, &mut dst[o..o + outd[2]])?;
            }
        }
        Ok(())
    }

    /// Makes every output with a NaN among its valid taps NaN (then bias and activation), INT8.md §3.
    /// A rare path: plain loops.
    fn nan_pass(&self, xs: &[f32], n: usize, ind: &[usize; 3], outd: &[usize; 3], pb: &[usize; 3], out: &mut [f32]) {
        let c = self.groups * self.cin_g;
        let sp_in = ind[0] * ind[1] * ind[2];
        let p_total = outd[0] * outd[1] * outd[2];
        let nch = self.groups * self.cout_g;
        for ni in 0..n {
            for g in 0..self.groups {
                for p in 0..p_total {
                    let (zd, r) = (p / (outd[1] * outd[2]), p % (outd[1] * outd[2]));
                    let (zy, zx) = (r / outd[2], r % outd[2]);
                    let pos = [zd * self.stride[0], zy * self.stride[1], zx * self.stride[2]];
                    let mut nan = false;
                    'taps: for kd in 0..self.k[0] {
                        for ky in 0..self.k[1] {
                            for kx in 0..self.k[2] {
                                let cc =
                                    [pos[0] + kd * self.dil[0], pos[1] + ky * self.dil[1], pos[2] + kx * self.dil[2]];
                                if (0..3).any(|i| cc[i] < pb[i] || cc[i] >= pb[i] + ind[i]) {
                                    continue;
                                }
                                let sp = ((cc[0] - pb[0]) * ind[1] + cc[1] - pb[1]) * ind[2] + cc[2] - pb[2];
                                for ch in g * self.cin_g..(g + 1) * self.cin_g {
                                    if xs[(ni * c + ch) * sp_in + sp].is_nan() {
                                        nan = true;
                                        break 'taps;
                                    }
                                }
                            }
                        }
                    }
                    if nan {
                        for o in g * self.cout_g..(g + 1) * self.cout_g {
                            let b = self.bias.as_ref().map(|b| b[o]);
                            out[(ni * nch + o) * p_total + p] = epilogue::nan_output(b, self.act_fn);
                        }
                    }
                }
            }
        }
    }

    /// Border correction of a tile (see the module doc); a no-op unless `border_fix`.
    #[allow(clippy::too_many_arguments)]
    fn fix_border(
        &self,
        acc: &mut [i32],
        wt: &mut [i32],
        stride: usize,
        mr: usize,
        o0: usize,
        nc: usize,
        p0: usize,
        padsum: &dyn Fn(usize, usize) -> i32,
        z: i64,
    ) {
        if !self.border_fix {
            return;
        }
        let d = (self.pv as i64 - z) as i32;
        for i in 0..mr {
            for j in 0..nc {
                let ps = padsum(o0 + j, p0 + i);
                acc[i * stride + j] = acc[i * stride + j].wrapping_sub(d.wrapping_mul(ps));
                wt[i * stride + j] = self.colsum[o0 + j].wrapping_sub(ps);
            }
        }
    }
}

/// Run-time geometry shared by the tasks.
struct Geo {
    outd: [usize; 3],
    pb: [usize; 3],
    ind: [usize; 3],
    dp: [usize; 3],
    cp: usize,
    img: usize,
    stride: [usize; 3],
}

#[cfg(test)]
mod tests {
    //! Shapes the block property tests do not generate (batch 2, 1-D and 3-D, a flat pointwise
    //! conv with depth, depthwise 1-D): every usable ISA (row kernel, VNNI depthwise) must give the
    //! bits of the scalar variant, whose kernels `tests/blocks.rs` and `tests/corpus.rs` check
    //! against the reference INT8 mode.
    use crate::modelgen::{Builder, Rng};
    use crate::plan::{compile, PlanOptions};
    use conform_ir::Tensor;

    fn conv_model(
        x: &[usize],
        w: &[usize],
        grouped: bool,
        stride: &[usize],
        pad: &[usize],
        out: &[usize],
        rng: &mut Rng,
    ) -> conform_ir::Model {
        let mut b = Builder::new();
        let p = b.param(x);
        let f = b.fq(p, x, 256, [0.0, 2.55, 0.0, 2.55]);
        let n: usize = w.iter().product();
        let q: Vec<i8> = (0..n).map(|_| rng.int(-127, 127) as i8).collect();
        let nch = if grouped { w[0] * w[1] } else { w[0] };
        let mut sshape = vec![1usize; w.len()];
        sshape[0] = w[0];
        if grouped {
            sshape[1] = w[1];
        }
        let scales: Vec<f32> = (0..nch).map(|_| 0.001 + rng.unit() * 0.01).collect();
        let wn = b.dq_weights(w, &q, &sshape, &scales, None);
        let list = |v: &[usize]| v.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(",");
        let ones = vec![1usize; stride.len()];
        let attrs = [
            ("strides", list(stride)),
            ("dilations", list(&ones)),
            ("pads_begin", list(pad)),
            ("pads_end", list(pad)),
            ("auto_pad", "explicit".to_string()),
        ];
        let op = if grouped { "GroupConvolution" } else { "Convolution" };
        let c = b.op(op, &attrs, &[(f, 0), (wn, 0)], &[out.to_vec()]);
        b.result(c);
        b.finish("t").expect("valid model")
    }

    #[test]
    fn every_isa_gives_the_scalar_bits_on_batched_1d_3d_and_flat_convolutions() {
        let mut rng = Rng::new(0xC0DE);
        #[allow(clippy::type_complexity)]
        let cases: Vec<(Vec<usize>, Vec<usize>, bool, Vec<usize>, Vec<usize>, Vec<usize>)> = vec![
            // batch 2, 2-D, stride 2 (row kernel with column phases)
            (vec![2, 3, 9, 11], vec![5, 3, 3, 3], false, vec![2, 2], vec![1, 1], vec![2, 5, 5, 6]),
            // 1-D
            (vec![2, 5, 17], vec![9, 5, 3], false, vec![1], vec![1], vec![2, 9, 17]),
            // 3-D pointwise (flat planes, depth kept)
            (vec![1, 6, 3, 4, 5], vec![10, 6, 1, 1, 1], false, vec![1, 1, 1], vec![0, 0, 0], vec![1, 10, 3, 4, 5]),
            // 3-D 3×3×3, padded
            (vec![2, 4, 4, 5, 6], vec![7, 4, 3, 3, 3], false, vec![1, 1, 1], vec![1, 1, 1], vec![2, 7, 4, 5, 6]),
            // depthwise 1-D and 2-D stride 2, batch 2
            (vec![2, 6, 21], vec![6, 1, 1, 3], true, vec![1], vec![1], vec![2, 6, 21]),
            (vec![2, 5, 9, 35], vec![5, 1, 1, 3, 3], true, vec![2, 2], vec![1, 1], vec![2, 5, 5, 18]),
        ];
        for (x, w, grouped, stride, pad, out) in cases {
            let model = conv_model(&x, &w, grouped, &stride, &pad, &out, &mut rng);
            let len: usize = x.iter().product();
            let input = Tensor::from_f32(x.clone(), (0..len).map(|_| rng.unit() * 2.6).collect()).expect("shape");
            let run = |isa: &str, threads: usize| {
                let opts = PlanOptions { isa: Some(isa.into()), threads: Some(threads), ..PlanOptions::default() };
                let plan = compile(&model, &opts).expect("compiles");
                // The convolution must run as an INT8 block (not the fp32 fallback).
                let int8 =
                    plan.report().iter().any(|r| r.kernel.contains("conv_u8s8s32") || r.kernel.contains("dwconv"));
                assert!(int8, "{isa}: no INT8 convolution block in {:?}", plan.report());
                let o = plan.run(std::slice::from_ref(&input)).expect("runs");
                o.outputs[0].as_f32().expect("f32").iter().map(|v| v.to_bits()).collect::<Vec<u32>>()
            };
            let want = run("scalar", 1);
            assert_eq!(want.len(), out.iter().product::<usize>());
            for isa in crate::isa::detected().unwrap_or_default() {
                for threads in [1, 2, 3] {
                    assert_eq!(run(isa.name(), threads), want, "{isa} threads {threads} x {x:?} w {w:?}");
                }
            }
        }
    }
}
