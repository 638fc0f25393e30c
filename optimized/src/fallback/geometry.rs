//! Sliding-window geometry shared by convolutions and pooling (OpenVINO opset1 Convolution /
//! GroupConvolution / AvgPool and opset8 MaxPool specs): `auto_pad` resolution and output sizes,
//! always expressed over three spatial axes (missing leading axes are size 1 with a 1-tap window),
//! so kernels need one loop nest.

use super::ctx::{Ctx, FallbackError};

/// Resolved geometry over three spatial axes (d, h, w).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Geom {
    /// Window size per axis.
    pub kernel: [usize; 3],
    /// Strides.
    pub strides: [usize; 3],
    /// Dilations.
    pub dilations: [usize; 3],
    /// Padding at the beginning (resolved).
    pub pads_begin: [usize; 3],
    /// Padding at the end (resolved).
    pub pads_end: [usize; 3],
    /// Input spatial sizes.
    pub input: [usize; 3],
    /// Output spatial sizes.
    pub output: [usize; 3],
}

/// `rounding_type` of pooling: how a partial last window counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rounding {
    /// Only whole windows (convolutions always).
    Floor,
    /// A window may overhang the end padding.
    Ceil,
    /// Like `Ceil`, but a last window starting beyond input + pads_begin is dropped (MaxPool-14).
    CeilTorch,
}

/// Window attributes as read from a layer, for `n` spatial axes.
pub(crate) struct WindowAttrs {
    pub kernel: Vec<usize>,
    pub strides: Vec<usize>,
    pub dilations: Vec<usize>,
    pub pads_begin: Vec<usize>,
    pub pads_end: Vec<usize>,
    /// `explicit`/`notset`, `valid`, `same_upper`, `same_lower`.
    pub auto_pad: String,
    /// `rounding_type` (pooling only).
    pub rounding: Rounding,
}

impl WindowAttrs {
    /// Reads strides, dilations (default 1), pads, auto_pad and rounding_type from the node.
    pub fn read(cx: &Ctx<'_>, kernel: Vec<usize>, with_dilations: bool) -> Result<WindowAttrs, FallbackError> {
        let n = kernel.len();
        let node = cx.node;
        let dilations = if with_dilations { node.attr_usize_list_or("dilations", vec![1; n])? } else { vec![1; n] };
        let rounding = node.attr("rounding_type").map(str::trim).unwrap_or("floor");
        let rounding = match rounding {
            "floor" => Rounding::Floor,
            "ceil" => Rounding::Ceil,
            "ceil_torch" => Rounding::CeilTorch,
            other => return Err(cx.err(format!("rounding_type \"{other}\" is not supported"))),
        };
        Ok(WindowAttrs {
            kernel,
            strides: node.attr_usize_list_or("strides", vec![1; n])?,
            dilations,
            pads_begin: node.attr_usize_list_or("pads_begin", vec![0; n])?,
            pads_end: node.attr_usize_list_or("pads_end", vec![0; n])?,
            auto_pad: node.attr("auto_pad").map(str::trim).unwrap_or("explicit").to_string(),
            rounding,
        })
    }
}

/// Resolves the geometry of a window op over `input` spatial sizes.
///
/// Explicit/valid: `out = floor_or_ceil((in + pb + pe − eff) / s) + 1` with `eff = d·(k−1) + 1`;
/// same_upper/lower: `out = ceil(in / s)`, total pad `max(0, (out−1)·s + eff − in)`, the odd one at the
/// end (upper) or the beginning (lower).
#[allow(clippy::needless_range_loop)] // one index walks six parallel per-axis arrays
pub(crate) fn resolve(cx: &Ctx<'_>, input: &[usize], a: &WindowAttrs) -> Result<Geom, FallbackError> {
    let n = input.len();
    if n == 0 || n > 3 {
        return Err(cx.err(format!("{n} spatial axes: 1 to 3 are supported")));
    }
    let explicit = match a.auto_pad.as_str() {
        "explicit" | "notset" | "" => true,
        "valid" | "same_upper" | "same_lower" => false,
        other => return Err(cx.err(format!("auto_pad \"{other}\" is not supported"))),
    };
    for (name, v) in [("kernel", &a.kernel), ("strides", &a.strides), ("dilations", &a.dilations)] {
        if v.len() != n {
            return Err(cx.err(format!("{name} has {} values for {n} spatial axes", v.len())));
        }
        if v.contains(&0) {
            return Err(cx.err(format!("{name} must be positive")));
        }
    }
    if explicit && (a.pads_begin.len() != n || a.pads_end.len() != n) {
        return Err(cx.err(format!("pads_begin/pads_end need {n} values")));
    }
    let off = 3 - n;
    let mut g = Geom {
        kernel: [1; 3],
        strides: [1; 3],
        dilations: [1; 3],
        pads_begin: [0; 3],
        pads_end: [0; 3],
        input: [1; 3],
        output: [1; 3],
    };
    for i in 0..n {
        let (k, s, d, x) = (a.kernel[i], a.strides[i], a.dilations[i], input[i]);
        let eff = d.checked_mul(k - 1).and_then(|v| v.checked_add(1)).ok_or_else(|| cx.err("window too large"))?;
        let (pb, pe, out) = match a.auto_pad.as_str() {
            "same_upper" | "same_lower" => {
                let out = x.div_ceil(s);
                let total = (out.saturating_sub(1)).saturating_mul(s).saturating_add(eff).saturating_sub(x);
                let small = total / 2;
                let big = total - small;
                let (pb, pe) = if a.auto_pad == "same_upper" { (small, big) } else { (big, small) };
                (pb, pe, out)
            }
            _ => {
                let (pb, pe) = if explicit { (a.pads_begin[i], a.pads_end[i]) } else { (0, 0) };
                let padded =
                    x.checked_add(pb).and_then(|v| v.checked_add(pe)).ok_or_else(|| cx.err("padding overflows"))?;
                if padded < eff {
                    return Err(
                        cx.err(format!("spatial axis {i}: padded input {padded} is smaller than the window {eff}"))
                    );
                }
                let span = padded - eff;
                // rounding_type only applies to explicit pads: `valid` always counts whole windows
                // (OpenVINO's shape inference: ceil_div(in − eff + 1, s) = floor((in − eff)/s) + 1).
                let rounding = if explicit { a.rounding } else { Rounding::Floor };
                let mut out = match rounding {
                    Rounding::Floor => span / s + 1,
                    Rounding::Ceil | Rounding::CeilTorch => span.div_ceil(s) + 1,
                };
                if rounding == Rounding::CeilTorch && out > 1 && (out - 1) * s >= x + pb {
                    out -= 1;
                }
                (pb, pe, out)
            }
        };
        g.kernel[off + i] = k;
        g.strides[off + i] = s;
        g.dilations[off + i] = d;
        g.pads_begin[off + i] = pb;
        g.pads_end[off + i] = pe;
        g.input[off + i] = x;
        g.output[off + i] = out;
    }
    Ok(g)
}

impl Geom {
    /// The input coordinate on axis `a` of output `o`, tap `k`, or `None` in the padding.
    #[inline(always)]
    pub fn coord(&self, a: usize, o: usize, k: usize) -> Option<usize> {
        let p = (o * self.strides[a] + k * self.dilations[a]).checked_sub(self.pads_begin[a])?;
        (p < self.input[a]).then_some(p)
    }

    /// The output range `lo..hi` on axis `a` whose tap `k` lands inside the input.
    #[inline]
    pub fn valid_outputs(&self, a: usize, k: usize) -> (usize, usize) {
        let (s, off) = (self.strides[a], k * self.dilations[a]);
        let pb = self.pads_begin[a];
        // o·s + off − pb ≥ 0  ⇔  o ≥ ceil((pb − off)/s)
        let lo = if off >= pb { 0 } else { (pb - off).div_ceil(s) };
        // o·s + off − pb < in  ⇔  o ≤ (in − 1 + pb − off)/s
        let hi = match (self.input[a] + pb).checked_sub(off + 1) {
            None => 0,
            Some(v) => v / s + 1,
        };
        (lo.min(self.output[a]), hi.min(self.output[a]).max(lo.min(self.output[a])))
    }

    /// Input spatial element count.
    pub fn in_size(&self) -> usize {
        self.input.iter().product()
    }

    /// Output spatial element count.
    pub fn out_size(&self) -> usize {
        self.output.iter().product()
    }

    /// Output spatial sizes for the `n` real axes.
    pub fn out_dims(&self, n: usize) -> Vec<usize> {
        self.output[3 - n..].to_vec()
    }
}
