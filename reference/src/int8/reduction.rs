//! The reduction structure of a main op: for each output element, which (operand A element,
//! operand B element) pairs are multiplied and summed. Shared by the INT8 execution and the error
//! bound (which runs the same reduction over absolute values), so both see the same taps.
//!
//! - Convolution / GroupConvolution (opset1 specs): `y[n,o,p] = Σ_{c,k valid} x[n, g·Cg + c, p·s + k·d − pb] · w[o, c, k]`
//!   with `g = o / Og`; a tap whose input coordinate falls into padding is *not valid* (INT8.md §3:
//!   it contributes zero after zero-point subtraction).
//! - MatMul (opset1 spec): `y[b…, m, n] = Σ_k A[b…, m, k] · B[b…, k, n]` after `transpose_a/b`,
//!   batch axes broadcast numpy-style; every `k` is valid.

use crate::broadcast::{broadcast_shapes, strides, BroadcastIndex};
use crate::geometry::Window;

/// Where the per-output scale and bias of an output element come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Channel {
    /// Index into the weight scale vector (`s_w`): the output channel `o` for convolutions; for a
    /// MatMul with constant B, `b_batch_flat · N + n` (B's batch index and column); 0 for
    /// activation × activation.
    pub scale: usize,
    /// Index into the bias vector: `o` for convolutions, `n` for MatMul.
    pub bias: usize,
}

/// A resolved reduction over concrete shapes.
#[derive(Debug, Clone)]
pub enum Reduction {
    /// Convolution or GroupConvolution (`groups = 1` for Convolution).
    Conv {
        /// Input channels.
        c_in: usize,
        /// Output channels (all groups).
        c_out: usize,
        /// Groups.
        groups: usize,
        /// Spatial geometry.
        window: Window,
        /// Output shape `[N, c_out, spatial…]`.
        out_shape: Vec<usize>,
    },
    /// MatMul.
    MatMul {
        /// A's shape.
        a_shape: Vec<usize>,
        /// B's shape.
        b_shape: Vec<usize>,
        /// transpose_a.
        ta: bool,
        /// transpose_b.
        tb: bool,
        /// Rows, inner length and columns.
        m: usize,
        /// Inner length.
        k: usize,
        /// Columns.
        n: usize,
        /// Output shape `[batch…, M, N]`.
        out_shape: Vec<usize>,
        /// Maps an output batch flat index to A's batch flat index.
        a_batch: BroadcastIndex,
        /// Maps an output batch flat index to B's batch flat index.
        b_batch: BroadcastIndex,
    },
}

impl Reduction {
    /// Convolution geometry. `w_shape` is `[O, C/G, k…]` (Convolution) or `[G, O/G, C/G, k…]`
    /// (GroupConvolution, `grouped = true`).
    #[allow(clippy::too_many_arguments)]
    pub fn conv(
        x_shape: &[usize],
        w_shape: &[usize],
        grouped: bool,
        strides: &[usize],
        dilations: &[usize],
        pads_begin: &[usize],
        pads_end: &[usize],
        auto_pad: crate::geometry::AutoPad,
    ) -> Result<Reduction, String> {
        let lead = if grouped { 3 } else { 2 };
        if w_shape.len() < lead || x_shape.len() != w_shape.len() - lead + 2 || x_shape.len() < 3 {
            return Err(format!("input rank {} does not fit weights of rank {}", x_shape.len(), w_shape.len()));
        }
        let (groups, c_out, cg) =
            if grouped { (w_shape[0], w_shape[0] * w_shape[1], w_shape[2]) } else { (1, w_shape[0], w_shape[1]) };
        let c_in = x_shape[1];
        if groups == 0 || cg.checked_mul(groups) != Some(c_in) {
            return Err(format!("input has {c_in} channels, weights expect {groups} groups of {cg}"));
        }
        let window =
            Window::convolution(&x_shape[2..], &w_shape[lead..], strides, dilations, pads_begin, pads_end, auto_pad)?;
        let mut out_shape = vec![x_shape[0], c_out];
        out_shape.extend_from_slice(&window.output);
        Ok(Reduction::Conv { c_in, c_out, groups, window, out_shape })
    }

    /// MatMul geometry; both inputs must have rank ≥ 2.
    pub fn matmul(a_shape: &[usize], b_shape: &[usize], ta: bool, tb: bool) -> Result<Reduction, String> {
        let (ra, rb) = (a_shape.len(), b_shape.len());
        if ra < 2 || rb < 2 {
            return Err("MatMul inputs of rank < 2".into());
        }
        let (m, ka) = if ta { (a_shape[ra - 1], a_shape[ra - 2]) } else { (a_shape[ra - 2], a_shape[ra - 1]) };
        let (kb, n) = if tb { (b_shape[rb - 1], b_shape[rb - 2]) } else { (b_shape[rb - 2], b_shape[rb - 1]) };
        if ka != kb {
            return Err(format!("inner dimensions differ: {ka} and {kb}"));
        }
        let batch = broadcast_shapes(&a_shape[..ra - 2], &b_shape[..rb - 2])
            .ok_or_else(|| "batch dimensions do not broadcast".to_string())?;
        let a_batch = BroadcastIndex::new(&a_shape[..ra - 2], &batch).ok_or("batch broadcast")?;
        let b_batch = BroadcastIndex::new(&b_shape[..rb - 2], &batch).ok_or("batch broadcast")?;
        let mut out_shape = batch;
        out_shape.extend_from_slice(&[m, n]);
        Ok(Reduction::MatMul {
            a_shape: a_shape.to_vec(),
            b_shape: b_shape.to_vec(),
            ta,
            tb,
            m,
            k: ka,
            n,
            out_shape,
            a_batch,
            b_batch,
        })
    }

    /// The output shape.
    pub fn out_shape(&self) -> &[usize] {
        match self {
            Reduction::Conv { out_shape, .. } | Reduction::MatMul { out_shape, .. } => out_shape,
        }
    }

    /// The reduction length `K` of SPEC §0.4: `(C/groups)·Πk` for convolutions, the inner length
    /// for MatMul (padding taps included: they are terms of the FP32 sum too, equal to zero).
    pub fn k(&self) -> usize {
        match self {
            Reduction::Conv { c_in, groups, window, .. } => {
                window.kernel.iter().product::<usize>() * (c_in / groups.max(&1))
            }
            Reduction::MatMul { k, .. } => *k,
        }
    }

    /// Number of output elements.
    pub fn out_len(&self) -> usize {
        self.out_shape().iter().product()
    }

    /// The output element `p`'s channel, and its valid taps `(a_flat, b_flat)` written into `taps`
    /// (cleared first) in reduction order.
    pub fn taps(&self, p: usize, taps: &mut Vec<(usize, usize)>) -> Channel {
        taps.clear();
        match self {
            Reduction::Conv { c_in, c_out, groups, window, out_shape } => {
                let spatial = &out_shape[2..];
                let out_sp: usize = spatial.iter().product();
                let in_sp: usize = window.input.iter().product();
                let ksz: usize = window.kernel.iter().product();
                let nb = p / (c_out * out_sp);
                let o = (p / out_sp) % c_out;
                let og = c_out / groups;
                let cg = c_in / groups;
                let g = o / og;
                // Output spatial coordinates of p.
                let mut rem = p % out_sp;
                let mut oc = vec![0; spatial.len()];
                for a in (0..spatial.len()).rev() {
                    oc[a] = rem % spatial[a];
                    rem /= spatial[a];
                }
                let in_strides = strides(&window.input);
                let k_dims = &window.kernel;
                for c in 0..cg {
                    let a_chan = (nb * c_in + g * cg + c) * in_sp;
                    let b_chan = (o * cg + c) * ksz;
                    'tap: for kf in 0..ksz {
                        // Kernel multi-index of kf, and the input coordinate of each axis.
                        let mut rem = kf;
                        let mut in_flat = 0;
                        for a in (0..k_dims.len()).rev() {
                            let kk = rem % k_dims[a];
                            rem /= k_dims[a];
                            match window.input_coord(a, oc[a], kk) {
                                Some(ic) => in_flat += ic * in_strides[a],
                                None => continue 'tap, // padding: not a valid tap
                            }
                        }
                        taps.push((a_chan + in_flat, b_chan + kf));
                    }
                }
                Channel { scale: o, bias: o }
            }
            Reduction::MatMul { a_shape, b_shape, ta, tb, m, k, n, a_batch, b_batch, .. } => {
                let (m, k, n) = (*m, *k, *n);
                let bi = p / (m * n);
                let (row, col) = ((p / n) % m, p % n);
                let ab = a_batch.map(bi);
                let bb = b_batch.map(bi);
                let a_mat = a_shape[a_shape.len() - 2] * a_shape[a_shape.len() - 1];
                let b_mat = b_shape[b_shape.len() - 2] * b_shape[b_shape.len() - 1];
                for kk in 0..k {
                    // A[m,k] is at m·K + k, or at k·M + m when transposed; likewise B.
                    let a = ab * a_mat + if *ta { kk * m + row } else { row * k + kk };
                    let b = bb * b_mat + if *tb { col * k + kk } else { kk * n + col };
                    taps.push((a, b));
                }
                Channel { scale: bb * n + col, bias: col }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::AutoPad;

    #[test]
    fn conv_padding_taps_are_skipped() {
        // x [1,1,3], w [1,1,3], pad 1/1: output 0 sees taps k=1,2 at x[0], x[1] (k=0 is padding).
        let r =
            Reduction::conv(&[1, 1, 3], &[1, 1, 3], false, &[1], &[1], &[1], &[1], AutoPad::Explicit).expect("valid");
        assert_eq!(r.out_shape(), &[1, 1, 3]);
        let mut t = Vec::new();
        r.taps(0, &mut t);
        assert_eq!(t, vec![(0, 1), (1, 2)]);
        r.taps(2, &mut t);
        assert_eq!(t, vec![(1, 0), (2, 1)]);
        assert_eq!(r.k(), 3);
    }

    #[test]
    fn depthwise_reads_its_own_channel() {
        // x [1,2,2], GroupConv w [2,1,1,1]: output channel 1 reads input channel 1 only.
        let r =
            Reduction::conv(&[1, 2, 2], &[2, 1, 1, 1], true, &[1], &[1], &[0], &[0], AutoPad::Explicit).expect("valid");
        let mut t = Vec::new();
        let ch = r.taps(3, &mut t); // (n0, o1, x1)
        assert_eq!(ch, Channel { scale: 1, bias: 1 });
        assert_eq!(t, vec![(3, 1)]);
    }

    #[test]
    fn matmul_transposes_and_batches() {
        // A [2,2,3], B [3,2]^T given as [2,3] with transpose_b: y[b,m,n] = Σ A[b,m,k] B[n,k].
        let r = Reduction::matmul(&[2, 2, 3], &[2, 3], false, true).expect("valid");
        assert_eq!(r.out_shape(), &[2, 2, 2]);
        let mut t = Vec::new();
        let ch = r.taps(7, &mut t); // b1, m1, n1
        assert_eq!(t, vec![(9, 3), (10, 4), (11, 5)]);
        assert_eq!(ch, Channel { scale: 1, bias: 1 });
        let r = Reduction::matmul(&[3, 2], &[3, 2], true, false).expect("valid"); // A^T: [2,3]
        r.taps(1, &mut t); // m0, n1: A[k,0]·B[k,1]
        assert_eq!(t, vec![(0, 1), (2, 3), (4, 5)]);
    }
}
