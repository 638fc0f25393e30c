//! INT8 MatMul blocks: constant weights (packed once) and activation × activation (both operands
//! quantized per run). Numpy batch broadcasting, `transpose_a` / `transpose_b`.
//!
//! Const weights: `S = T − z_a·Σ_k q_w` with `T = Σ_k r_a·q_w` from the dense kernel.
//! Act × act: the B side enters the kernel as `r_b − 128` (i8), so
//! `S = T + (128 − z_b)·Σ_k r_a − z_a·Σ_k r_b + K·z_a·z_b` (all wrapping i32; the true S fits).
//! With one fractional zero point, `W` is `Σ_k (r_b − z_b)` per column (fraction on a) or
//! `Σ_k (r_a − z_a)` per row (fraction on b). Output rows are written straight from the tile.

use crate::error::OptError;
use crate::fq::ActQuant;
use crate::isa::Isa;
use crate::kernels::dense::{self, PackFmt, PackedW, MAX_NV};
use crate::kernels::epilogue::{self, Act, Cols, Rows};
use crate::kernels::{pack, quant, KernelError};
use crate::par;
use crate::pattern::WeightsQ;
use conform_ir::{Node, Tensor};

/// One task: (output batch, first row, rows, first column, columns, output slice).
type Task<'a> = (usize, usize, usize, usize, usize, &'a mut [f32]);

/// Per-B-batch constant operand.
#[derive(Debug)]
struct ConstB {
    w: PackedW,
    colsum: Vec<i32>,
    col_add: Vec<i32>,
    /// `M[n] = s_a·s_w[n]` (per B batch: the weight scale may vary along B's batch axes).
    scale: Vec<f32>,
}

/// The second operand.
#[derive(Debug)]
enum Second {
    Const { batch_shape: Vec<usize>, k: usize, n: usize, per: Vec<ConstB> },
    Act(ActQuant),
}

/// A compiled INT8 MatMul.
#[derive(Debug)]
pub struct MatMulExec {
    isa: Isa,
    ta: bool,
    tb: bool,
    a: ActQuant,
    second: Second,
    bias: Option<Vec<f32>>,
    act_fn: Act,
    /// Kernel name for reports.
    pub kernel: String,
}

fn broadcast_batch(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let r = a.len().max(b.len());
    let mut o = vec![0; r];
    for i in 0..r {
        let da = if i + a.len() >= r { a[i + a.len() - r] } else { 1 };
        let db = if i + b.len() >= r { b[i + b.len() - r] } else { 1 };
        o[i] = if da == db || db == 1 {
            da
        } else if da == 1 {
            db
        } else {
            return None;
        };
    }
    Some(o)
}

/// Flat index into a batch shape `src` (right-aligned, broadcast) of output batch index `i`.
fn batch_index(out: &[usize], src: &[usize], mut i: usize) -> usize {
    let mut r = 0;
    let mut mul = 1;
    for k in (0..out.len()).rev() {
        let coord = i % out[k].max(1);
        i /= out[k].max(1);
        if k + src.len() >= out.len() {
            let d = src[k + src.len() - out.len()];
            if d != 1 {
                r += coord * mul;
            }
            mul *= d;
        }
    }
    r
}

impl MatMulExec {
    /// Compiles a MatMul block; `w` is `None` for act × act (`b` is then B's quantizer).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        isa: Isa,
        node: &Node,
        a: ActQuant,
        b: Option<ActQuant>,
        w: Option<&WeightsQ>,
        bias: Option<Vec<f32>>,
        act_fn: Act,
    ) -> Result<MatMulExec, OptError> {
        let err = |m: &str| OptError::layer(node, m);
        let ta = node.attr_bool_or("transpose_a", false).map_err(|e| OptError::layer(node, e.to_string()))?;
        let tb = node.attr_bool_or("transpose_b", false).map_err(|e| OptError::layer(node, e.to_string()))?;
        let second = match (w, b) {
            (Some(w), _) => {
                let r = w.shape.len();
                if r < 2 {
                    return Err(err("constant MatMul weights of rank < 2"));
                }
                let (k, n) = if tb { (w.shape[r - 1], w.shape[r - 2]) } else { (w.shape[r - 2], w.shape[r - 1]) };
                let batch_shape = w.shape[..r - 2].to_vec();
                let nb: usize = batch_shape.iter().product();
                let kg = k.div_ceil(4);
                let mut per = Vec::with_capacity(nb);
                for bi in 0..nb {
                    let off = bi * k * n;
                    let q = |ni: usize, ki: usize| {
                        if ki >= k {
                            0
                        } else if tb {
                            w.q[off + ni * k + ki]
                        } else {
                            w.q[off + ki * n + ni]
                        }
                    };
                    let packed = PackedW::pack(isa, n, kg, q);
                    let colsum: Vec<i32> = (0..n).map(|ni| (0..k).map(|ki| q(ni, ki) as i32).sum()).collect();
                    let col_add = colsum.iter().map(|&s| (s as i64).wrapping_mul(-a.z_int) as i32).collect();
                    #[cfg(feature = "mutants")]
                    let ch =
                        |ni: usize| if crate::mutants::is(crate::mutants::Mutant::PerTensorScale) { 0 } else { ni };
                    #[cfg(not(feature = "mutants"))]
                    let ch = |ni: usize| ni;
                    let scale =
                        (0..n).map(|ni| a.scale * w.scale.get(bi * n + ch(ni)).copied().unwrap_or(0.0)).collect();
                    per.push(ConstB { w: packed, colsum, col_add, scale });
                }
                if w.scale.len() != nb * n {
                    return Err(err("weight scales do not match the weights' channels"));
                }
                Second::Const { batch_shape, k, n, per }
            }
            (None, Some(b)) => Second::Act(b),
            (None, None) => return Err(err("MatMul block without a second operand")),
        };
        let nch = match &second {
            Second::Const { n, .. } => Some(*n),
            Second::Act(_) => {
                node.outputs.first().and_then(|p| p.shape.0.last()).and_then(|d| d.as_static()).map(|v| v as usize)
            }
        };
        let bias = match (bias, nch) {
            (Some(b), Some(n)) if b.len() == 1 => Some(vec![b[0]; n]),
            (Some(b), Some(n)) if b.len() == n => Some(b),
            (Some(_), _) => return Err(err("bias length does not match the output channels")),
            (None, _) => None,
        };
        let kernel = match second {
            Second::Const { .. } => format!("{}_gemm_u8s8s32", isa.name()),
            Second::Act(_) => format!("{}_bmm_u8u8s32", isa.name()),
        };
        Ok(MatMulExec { isa, ta, tb, a, second, bias, act_fn, kernel })
    }

    /// Bytes of packed weights and per-channel parameters held.
    pub fn resident_bytes(&self) -> usize {
        let b = 4 * self.bias.as_ref().map_or(0, Vec::len);
        match &self.second {
            Second::Const { per, .. } => {
                b + per
                    .iter()
                    .map(|p| p.w.bytes() + 4 * (p.colsum.len() + p.col_add.len() + p.scale.len()))
                    .sum::<usize>()
            }
            Second::Act(_) => b,
        }
    }

    /// The packed weight data held, `(bytes, slots)`: slots count packing padding too (an i8
    /// slot is one byte, an i16 slot two); `(0, 0)` for a product of two activations. The rest of
    /// [`MatMulExec::resident_bytes`] is per-channel parameters. Read by the harness's memory oracle.
    pub fn weight_data(&self) -> (usize, usize) {
        match &self.second {
            Second::Const { per, .. } => per.iter().fold((0, 0), |(b, s), p| (b + p.w.bytes(), s + p.w.i8s.len())),
            Second::Act(_) => (0, 0),
        }
    }

    /// Quantizes an `[batch…, rows, cols]` f32 operand into `[batch][m][kp]` u8 (transposing when
    /// the reduction axis is not the last), with row sums over the real K.
    /// Also returns, per row, whether it holds a NaN.
    #[allow(clippy::too_many_arguments, clippy::type_complexity)]
    fn quantize_a(
        &self,
        q: &ActQuant,
        x: &[f32],
        nb: usize,
        m: usize,
        k: usize,
        kp: usize,
        trans: bool,
    ) -> (Vec<u8>, Vec<i32>, Vec<bool>) {
        let mut buf = vec![0u8; nb * m * kp];
        let mut meta = vec![(0i32, false); nb * m];
        par::for_each_chunk2(&mut buf, kp, &mut meta, 1, |row, dst, meta| {
            let (s, nan) = &mut meta[0];
            let (bi, mi) = (row / m.max(1), row % m.max(1));
            let base = bi * m * k;
            if trans {
                for ki in 0..k {
                    let v = x[base + ki * m + mi];
                    *nan |= v.is_nan();
                    dst[ki] = q.index(v);
                }
                *s = dst[..k].iter().map(|&v| v as i32).sum();
            } else {
                (*nan, *s) = quant::quantize_sum(self.isa, q, &x[base + mi * k..base + mi * k + k], &mut dst[..k]);
            }
        });
        let (sums, nans) = meta.into_iter().unzip();
        (buf, sums, nans)
    }

    /// Runs on `a` (and `b` for act × act).
    pub fn run(&self, node: &Node, a: &Tensor, b: Option<&Tensor>, threads: usize) -> Result<Tensor, OptError> {
        let err = |m: String| OptError::layer(node, m);
        let av = a.as_f32().ok_or_else(|| err(format!("INT8 MatMul input must be f32, got {}", a.element_type)))?;
        let ra = a.shape.len();
        if ra < 2 {
            return Err(err("MatMul input of rank < 2".into()));
        }
        let (m, ka) = if self.ta { (a.shape[ra - 1], a.shape[ra - 2]) } else { (a.shape[ra - 2], a.shape[ra - 1]) };
        let a_batch = &a.shape[..ra - 2];
        let nba: usize = a_batch.iter().product();
        let kp = ka.div_ceil(4) * 4;
        let (abuf, asum, a_nan) = self.quantize_a(&self.a, av, nba, m, ka, kp, self.ta);
        // Second operand: packed weights per B batch and per-column arrays.
        let owned: Vec<ConstB>;
        let (b_batch, n, per): (Vec<usize>, usize, &[ConstB]);
        let mut b_nan: Vec<bool> = Vec::new(); // per (B batch, column), act × act only
        let mut row_terms: Option<(i64, i64)> = None; // (128 − z_b, K·z_a·z_b) for act × act
        let mut w_row_from_a = false;
        match &self.second {
            Second::Const { batch_shape, k, n: nn, per: p } => {
                if *k != ka {
                    return Err(err(format!("reduction length {ka} does not match the weights' {k}")));
                }
                b_batch = batch_shape.clone();
                n = *nn;
                per = p;
            }
            Second::Act(qb) => {
                let bt = b.ok_or_else(|| err("act × act MatMul needs input 1".into()))?;
                let bv =
                    bt.as_f32().ok_or_else(|| err(format!("MatMul input 1 must be f32, got {}", bt.element_type)))?;
                let rb = bt.shape.len();
                if rb < 2 {
                    return Err(err("MatMul input 1 of rank < 2".into()));
                }
                let (kb, nn) =
                    if self.tb { (bt.shape[rb - 1], bt.shape[rb - 2]) } else { (bt.shape[rb - 2], bt.shape[rb - 1]) };
                if kb != ka {
                    return Err(err(format!("reduction lengths differ: {ka} and {kb}")));
                }
                let maxq = (ka as i128) * (self.a.max_abs_q() as i128) * (qb.max_abs_q() as i128);
                if maxq >= 1i128 << 31 {
                    return Err(err(format!("K={ka}: the i32 accumulator could overflow (INT8.md rule 5)")));
                }
                b_batch = bt.shape[..rb - 2].to_vec();
                n = nn;
                let nbb: usize = b_batch.iter().product();
                let kg = ka.div_ceil(4);
                // One B batch per task (quantize, pack, column terms); batches are independent.
                let per_batch = |bi: usize| -> (ConstB, Vec<bool>) {
                    let off = bi * ka * nn;
                    let mut r = vec![0u8; ka * nn];
                    let has_nan = quant::quantize(self.isa, qb, &bv[off..off + ka * nn], &mut r);
                    let src = &bv[off..off + ka * nn];
                    let nan_cols: Vec<bool> = if has_nan {
                        (0..nn)
                            .map(|ni| {
                                (0..ka).any(|ki| if self.tb { src[ni * ka + ki] } else { src[ki * nn + ni] }.is_nan())
                            })
                            .collect()
                    } else {
                        vec![false; nn]
                    };
                    let (w, colsum) = if self.isa != Isa::Scalar && PackedW::format_for(self.isa).0 == PackFmt::Dp4 {
                        let (fmt, lanes) = PackedW::format_for(self.isa);
                        let (i8s, colsum) = pack::act_b_dp4(self.isa, &r, ka, nn, self.tb);
                        let (kg, nblocks) = (ka.div_ceil(4), nn.div_ceil(lanes));
                        (PackedW { fmt, lanes, kg, nblocks, i8s }, colsum)
                    } else {
                        // Rows [n][kp] of r_b − 128 (i8: flip the top bit), K padded with 0.
                        let kp4 = kg * 4;
                        let mut rows = vec![0i8; nn * kp4];
                        let mut colsum = vec![0i32; nn];
                        if self.tb {
                            for (ni, (dst, cs)) in rows.chunks_exact_mut(kp4.max(1)).zip(colsum.iter_mut()).enumerate()
                            {
                                let srow = &r[ni * ka..ni * ka + ka];
                                for (d, &v) in dst.iter_mut().zip(srow) {
                                    *d = (v ^ 0x80) as i8;
                                }
                                *cs = srow.iter().map(|&v| v as i32).sum();
                            }
                        } else {
                            for ki in 0..ka {
                                let srow = &r[ki * nn..ki * nn + nn];
                                for (ni, &v) in srow.iter().enumerate() {
                                    rows[ni * kp4 + ki] = (v ^ 0x80) as i8;
                                    colsum[ni] += v as i32;
                                }
                            }
                        }
                        let w = PackedW::pack_rows(self.isa, nn, kg, &rows);
                        (w, colsum)
                    };
                    let col_add: Vec<i32> =
                        colsum.iter().map(|&s| (s as i64).wrapping_mul(-self.a.z_int) as i32).collect();
                    // W per column (fraction on a): Σ_k (r_b − z_b).
                    let wcol = colsum.iter().map(|&s| (s as i64 - ka as i64 * qb.z_int) as i32).collect();
                    (ConstB { w, colsum: wcol, col_add, scale: vec![self.a.scale * qb.scale; nn] }, nan_cols)
                };
                let v: Vec<(ConstB, Vec<bool>)> = par::map_range(nbb, per_batch);
                let mut cbs = Vec::with_capacity(nbb);
                for (cb, nc) in v {
                    cbs.push(cb);
                    b_nan.extend(nc);
                }
                owned = cbs;
                per = &owned;
                row_terms = Some((128 - qb.z_int, (ka as i64).wrapping_mul(self.a.z_int).wrapping_mul(qb.z_int)));
                w_row_from_a = qb.frac != 0.0;
            }
        }
        let out_batch = broadcast_batch(a_batch, &b_batch)
            .ok_or_else(|| err(format!("batch dims {a_batch:?} and {b_batch:?} do not broadcast")))?;
        let nbo: usize = out_batch.iter().product();
        let out_len =
            nbo.checked_mul(m).and_then(|v| v.checked_mul(n)).ok_or_else(|| err("output size overflows".into()))?;
        let mut out = vec![0f32; out_len];
        // Per-row integer terms of act × act, per A batch.
        let (row_add, w_row): (Vec<i32>, Vec<i32>) = match row_terms {
            Some((c1, c2)) => (
                asum.iter().map(|&s| (s as i64).wrapping_mul(c1).wrapping_add(c2) as i32).collect(),
                asum.iter().map(|&s| (s as i64 - ka as i64 * self.a.z_int) as i32).collect(),
            ),
            None => (Vec::new(), Vec::new()),
        };
        let frac = match &self.second {
            Second::Act(qb) if qb.frac != 0.0 => qb.frac,
            _ => self.a.frac,
        };
        let lanes = per.first().map_or(16, |p| p.w.lanes);
        // Tasks: (output batch, first row, rows, first column, columns, output slice).
        let mut tasks: Vec<Task<'_>> = Vec::new();
        if m == 1 {
            let nblocks = n.div_ceil(lanes);
            let parts = if threads <= 1 { 1 } else { (threads * 4).min(nblocks.max(1)) };
            let cols_per = nblocks.div_ceil(parts.max(1)).max(1) * lanes;
            for (bi, row) in out.chunks_mut(n.max(1)).enumerate() {
                let mut c0 = 0;
                let mut rest = row;
                while c0 < n {
                    let w = cols_per.min(n - c0);
                    let (x, y) = rest.split_at_mut(w);
                    tasks.push((bi, 0, 1, c0, w, x));
                    rest = y;
                    c0 += w;
                }
            }
        } else {
            // Few, tall tasks: a task walks its column blocks once and reuses each packed B
            // panel (e.g. 24 KB for K = 384) from L1 across all its row tiles; only as many tasks
            // per batch as the threads need (≥ 2 per thread overall), rows a multiple of 6.
            let per_batch = (threads.max(1) * 2).div_ceil(nbo.max(1)).max(1);
            let rows_per = m.div_ceil(per_batch).div_ceil(6).max(1) * 6;
            for (bi, mat) in out.chunks_mut((m * n).max(1)).enumerate() {
                for (ti, chunk) in mat.chunks_mut((rows_per * n).max(1)).enumerate() {
                    let r = chunk.len() / n.max(1);
                    tasks.push((bi, ti * rows_per, r, 0, n, chunk));
                }
            }
        }
        let run_task = |(bi, m0, mr_total, c0, nc_total, dst): Task<'_>| -> Result<(), KernelError> {
            let ab = batch_index(&out_batch, a_batch, bi);
            let bb = batch_index(&out_batch, &b_batch, bi);
            let cb = per.get(bb).ok_or(KernelError("B batch"))?;
            let zero_w = vec![0i32; if w_row_from_a { n } else { 0 }];
            // With the fraction on b, W comes from the rows only.
            let wcol: &[i32] = if w_row_from_a { &zero_w } else { &cb.colsum };
            let cols = Cols {
                add: &cb.col_add,
                scale: &cb.scale,
                bias: self.bias.as_deref(),
                frac,
                w: wcol,
                act: self.act_fn,
            };
            let mut acc = vec![0i32; 8 * MAX_NV * lanes];
            let mut bases = [0usize; 8];
            let ob_first = c0 / lanes;
            let ob_end = (c0 + nc_total).div_ceil(lanes);
            let mut ob = ob_first;
            while ob < ob_end {
                let nv = MAX_NV.min(ob_end - ob);
                let mrf = if mr_total == 1 { 1 } else { dense::tile_rows(self.isa, nv) };
                let stride = nv * lanes;
                let o0 = ob * lanes;
                let nc = stride.min(c0 + nc_total - o0);
                let mut mi = 0;
                while mi < mr_total {
                    let mr = mrf.min(mr_total - mi);
                    for (i, b) in bases.iter_mut().take(mr).enumerate() {
                        *b = (ab * m + m0 + mi + i) * kp;
                    }
                    dense::tile(self.isa, &abuf, &bases[..mr], &[0], kp / 4, &cb.w, ob, nv, &mut acc)?;
                    let ridx = ab * m + m0 + mi;
                    let rows = Rows {
                        add: if row_terms.is_some() { Some(&row_add[ridx..ridx + mr]) } else { None },
                        w: if w_row_from_a { Some(&w_row[ridx..ridx + mr]) } else { None },
                        w_tile: None,
                    };
                    let off = mi * nc_total + (o0 - c0);
                    epilogue::apply(self.isa, &cols, &rows, &acc, stride, mr, o0, nc, &mut dst[off..], nc_total);
                    mi += mr;
                }
                ob += nv;
            }
            Ok(())
        };
        let res: Result<(), KernelError> = par::try_for_each(tasks, run_task);
        res.map_err(|e| err(e.to_string()))?;
        if a_nan.iter().any(|&v| v) || b_nan.iter().any(|&v| v) {
            for bi in 0..nbo {
                let ab = batch_index(&out_batch, a_batch, bi);
                let bb = batch_index(&out_batch, &b_batch, bi);
                for mi in 0..m {
                    for ni in 0..n {
                        if a_nan[ab * m + mi] || b_nan.get(bb * n + ni).copied().unwrap_or(false) {
                            let b = self.bias.as_ref().map(|b| b[ni]);
                            out[(bi * m + mi) * n + ni] = epilogue::nan_output(b, self.act_fn);
                        }
                    }
                }
            }
        }
        let mut shape = out_batch;
        shape.extend([m, n]);
        Tensor::from_f32(shape, out).map_err(|e| err(e.to_string()))
    }
}
