//! Convolution-1, GroupConvolution-1, ConvolutionBackpropData-1 and GroupConvolutionBackpropData-1
//! over 1, 2 or 3 spatial axes, in
//! f32 with the accumulation order of FP32.md (that of `ov::reference::convolution` and
//! `ov::reference::convolution_backprop_in`).
//!
//! Spatial ranks 1 and 2 are computed as rank 3 with leading size-1 axes (stride 1, no padding),
//! as OpenVINO's reference does (`extend_to_3D`); this does not change any sum.

use super::elementwise::{alloc, float_input, float_output, input};
use super::{OpCtx, OpResult};
use crate::error::{op_err, RefError};
use crate::geometry::{AutoPad, Window};
use conform_ir::{Node, Tensor};

/// Evaluates the ops of this family; `None` for any other op type.
pub fn evaluate(ctx: &OpCtx<'_>) -> OpResult {
    match ctx.node.op_type.as_str() {
        "Convolution" => Some(forward::<f32>(ctx, false)),
        "GroupConvolution" => Some(forward::<f32>(ctx, true)),
        "ConvolutionBackpropData" => Some(backprop_data::<f32>(ctx, false)),
        "GroupConvolutionBackpropData" => Some(backprop_data::<f32>(ctx, true)),
        _ => None,
    }
}

/// The same ops with each output accumulated in **f64** (products and sums exact to f64, one
/// rounding to f32 at the end). Not the FP32 mode: this emulates how the corpus generator computed
/// the fallback of ops OpenVINO's core cannot evaluate (`numpy_f64_op_types`), so tests can tell
/// summation-order effects from real differences.
pub fn evaluate_f64_accumulation(ctx: &OpCtx<'_>) -> OpResult {
    match ctx.node.op_type.as_str() {
        "Convolution" => Some(forward::<f64>(ctx, false)),
        "GroupConvolution" => Some(forward::<f64>(ctx, true)),
        "ConvolutionBackpropData" => Some(backprop_data::<f64>(ctx, false)),
        "GroupConvolutionBackpropData" => Some(backprop_data::<f64>(ctx, true)),
        _ => None,
    }
}

/// An accumulator of `Σ x·w`: f32 (FP32.md: product rounded, then sum rounded) or f64.
pub(crate) trait Accumulator: Copy {
    /// The empty sum.
    const ZERO: Self;
    /// `self + x·w`.
    fn add_product(self, x: f32, w: f32) -> Self;
    /// The sum rounded to f32.
    fn to_f32(self) -> f32;
}

impl Accumulator for f32 {
    const ZERO: f32 = 0.0;
    #[inline]
    fn add_product(self, x: f32, w: f32) -> f32 {
        self + x * w
    }
    #[inline]
    fn to_f32(self) -> f32 {
        self
    }
}

impl Accumulator for f64 {
    const ZERO: f64 = 0.0;
    #[inline]
    fn add_product(self, x: f32, w: f32) -> f64 {
        self + f64::from(x) * f64::from(w)
    }
    #[inline]
    fn to_f32(self) -> f32 {
        self as f32
    }
}

/// The spatial attributes common to the three ops, checked against the spatial rank `n`.
struct SpatialAttrs {
    strides: Vec<usize>,
    dilations: Vec<usize>,
    pads_begin: Vec<usize>,
    pads_end: Vec<usize>,
    auto_pad: AutoPad,
}

fn spatial_attrs(node: &Node, n: usize) -> Result<SpatialAttrs, RefError> {
    let strides = node.attr_usize_list_or("strides", vec![1; n])?;
    let dilations = node.attr_usize_list_or("dilations", vec![1; n])?;
    let pads_begin = node.attr_usize_list_or("pads_begin", vec![0; n])?;
    let pads_end = node.attr_usize_list_or("pads_end", vec![0; n])?;
    let auto_pad = AutoPad::parse(node.attr("auto_pad"))
        .ok_or_else(|| op_err(node, format!("unknown auto_pad \"{}\"", node.attr("auto_pad").unwrap_or(""))))?;
    for (name, v) in [("strides", &strides), ("dilations", &dilations)] {
        if v.len() != n {
            return Err(op_err(node, format!("{name} has {} values for {n} spatial axes", v.len())));
        }
        if v.contains(&0) {
            return Err(op_err(node, format!("{name} must be positive")));
        }
    }
    if auto_pad == AutoPad::Explicit && (pads_begin.len() != n || pads_end.len() != n) {
        return Err(op_err(node, format!("pads_begin/pads_end need {n} values")));
    }
    Ok(SpatialAttrs { strides, dilations, pads_begin, pads_end, auto_pad })
}

/// Left-pads a per-axis list to 3 axes with `fill`.
fn to3(v: &[usize], fill: usize) -> [usize; 3] {
    let mut out = [fill; 3];
    let off = 3 - v.len();
    out[off..].copy_from_slice(v);
    out
}

/// Checks the data rank (3..=5) and returns the spatial rank.
fn spatial_rank(node: &Node, x: &Tensor) -> Result<usize, RefError> {
    let r = x.shape.len();
    if !(3..=5).contains(&r) {
        return Err(op_err(node, format!("data has rank {r}, 3 to 5 (1 to 3 spatial axes) are supported")));
    }
    Ok(r - 2)
}

/// The table `t[o·kernel + k] = f(o, k)` of one axis (input coordinate of output `o`, tap `k`),
/// allocated fallibly: its size comes from attributes.
pub(crate) fn tap_table(
    node: &Node,
    output: usize,
    kernel: usize,
    f: impl Fn(usize, usize) -> Option<usize>,
) -> Result<Vec<Option<usize>>, RefError> {
    let len = output.checked_mul(kernel).ok_or_else(|| op_err(node, "window table size overflows"))?;
    let mut t = alloc(node, len)?;
    for o in 0..output {
        for k in 0..kernel {
            t.push(f(o, k));
        }
    }
    Ok(t)
}

fn checked_len(node: &Node, dims: &[usize]) -> Result<usize, RefError> {
    conform_ir::element_count(dims).ok_or_else(|| op_err(node, format!("shape {dims:?} overflows")))
}

/// Convolution (`grouped = false`, weights `[O, C, k…]`) or GroupConvolution (weights
/// `[G, O/G, C/G, k…]`).
///
/// `y[n, g·Og+o, p] = Σ_{c<Cg} Σ_{taps k, row-major} x[n, g·Cg+c, p·s + k·d − pb] · w[g, o, c, k]`,
/// taps falling into padding skipped; `acc` starts at 0 and each product and sum is rounded to f32.
fn forward<A: Accumulator>(ctx: &OpCtx<'_>, grouped: bool) -> Result<Vec<Tensor>, RefError> {
    let node = ctx.node;
    let (x, w) = (input(ctx, 0, "2")?, input(ctx, 1, "2")?);
    let n_sp = spatial_rank(node, x)?;
    let (groups, og, cg, kernel) = if grouped {
        if w.shape.len() != n_sp + 3 {
            return Err(op_err(node, format!("weights of rank {} for data of rank {}", w.shape.len(), n_sp + 2)));
        }
        (w.shape[0], w.shape[1], w.shape[2], w.shape[3..].to_vec())
    } else {
        if w.shape.len() != n_sp + 2 {
            return Err(op_err(node, format!("weights of rank {} for data of rank {}", w.shape.len(), n_sp + 2)));
        }
        (1, w.shape[0], w.shape[1], w.shape[2..].to_vec())
    };
    let (batch, channels) = (x.shape[0], x.shape[1]);
    if groups == 0 || groups.checked_mul(cg) != Some(channels) {
        return Err(op_err(
            node,
            format!("data has {channels} channels, the weights expect {groups} groups of {cg} input channels"),
        ));
    }
    let a = spatial_attrs(node, n_sp)?;
    let win =
        Window::convolution(&x.shape[2..], &kernel, &a.strides, &a.dilations, &a.pads_begin, &a.pads_end, a.auto_pad)
            .map_err(|m| op_err(node, m))?;
    let out_channels = groups.checked_mul(og).ok_or_else(|| op_err(node, "output channels overflow"))?;
    let mut out_shape = vec![batch, out_channels];
    out_shape.extend_from_slice(&win.output);
    let out_len = checked_len(node, &out_shape)?;
    let xv = float_input(node, x, "data")?;
    let wv = float_input(node, w, "weights")?;

    // Per axis (3-D padded), the input coordinate of each (output, tap) pair, None in padding.
    let (ind, k3, outd) = (to3(&win.input, 1), to3(&kernel, 1), to3(&win.output, 1));
    let off = 3 - n_sp;
    let mut y = alloc(node, out_len)?;
    if out_len == 0 {
        return Ok(vec![float_output(node, x.element_type, out_shape, y)?]);
    }
    let mut taps: [Vec<Option<usize>>; 3] = Default::default();
    for ax in 0..3 {
        taps[ax] =
            tap_table(node, outd[ax], k3[ax], |o, k| if ax < off { Some(0) } else { win.input_coord(ax - off, o, k) })?;
    }
    let in_sp = ind[0] * ind[1] * ind[2];
    let k_sp = k3[0] * k3[1] * k3[2];
    for n in 0..batch {
        for g in 0..groups {
            for o in 0..og {
                let w_oc = (g * og + o) * cg * k_sp;
                for od in 0..outd[0] {
                    for oh in 0..outd[1] {
                        for ow in 0..outd[2] {
                            let mut acc = A::ZERO;
                            for c in 0..cg {
                                let x_c = (n * channels + g * cg + c) * in_sp;
                                let w_c = w_oc + c * k_sp;
                                for kd in 0..k3[0] {
                                    let Some(id) = taps[0][od * k3[0] + kd] else { continue };
                                    for kh in 0..k3[1] {
                                        let Some(ih) = taps[1][oh * k3[1] + kh] else { continue };
                                        for kw in 0..k3[2] {
                                            let Some(iw) = taps[2][ow * k3[2] + kw] else { continue };
                                            let xi = xv[x_c + (id * ind[1] + ih) * ind[2] + iw];
                                            let wi = wv[w_c + (kd * k3[1] + kh) * k3[2] + kw];
                                            acc = acc.add_product(xi, wi);
                                        }
                                    }
                                }
                            }
                            y.push(acc.to_f32());
                        }
                    }
                }
            }
        }
    }
    Ok(vec![float_output(node, x.element_type, out_shape, y)?])
}

/// Resolved geometry of a ConvolutionBackpropData along one axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackpropAxis {
    /// Input (gradient) size.
    pub input: usize,
    /// Kernel size.
    pub kernel: usize,
    /// Stride.
    pub stride: usize,
    /// Dilation.
    pub dilation: usize,
    /// Padding removed at the beginning of the full transposed-convolution output.
    pub pad_begin: usize,
    /// Output size.
    pub output: usize,
}

/// Output size and pads of one ConvolutionBackpropData axis, as OpenVINO's shape inference does
/// (`convolution_backprop_shape_inference_util.hpp`, `apply_padding`/`apply_auto_pad`), with
/// `full = s·(in−1) + d·(k−1) + 1 + output_padding`:
/// - without `output_shape`: `explicit` uses `pads_begin`/`pads_end`, `out = full − pb − pe`;
///   `valid`, `same_upper` and `same_lower` use **zero** pads, `out = full`;
/// - with `output_shape`: `out` is that size; `total = max(0, full − out)`; `same_upper` puts the
///   larger half **first** (`pb = total − ⌊total/2⌋`, OpenVINO swaps the pads for same_upper here,
///   as the ConvolutionBackpropData-1 specification's formula also says), `same_lower`
///   `pb = ⌊total/2⌋`, `explicit` keeps `pads_begin`, `valid` uses 0. Output positions past the
///   transposed convolution's extent receive no taps (zero).
#[allow(clippy::too_many_arguments)]
pub fn backprop_axis(
    input: usize,
    kernel: usize,
    stride: usize,
    dilation: usize,
    explicit_pads: (usize, usize),
    output_padding: usize,
    auto_pad: AutoPad,
    output_shape: Option<usize>,
) -> Result<BackpropAxis, String> {
    if input == 0 || kernel == 0 {
        return Err("empty input or kernel axis".into());
    }
    let full = stride
        .checked_mul(input - 1)
        .and_then(|v| v.checked_add(dilation.checked_mul(kernel - 1)?))
        .and_then(|v| v.checked_add(1))
        .and_then(|v| v.checked_add(output_padding))
        .ok_or("output size overflows")?;
    let (pad_begin, output) = match (output_shape, auto_pad) {
        (Some(out), ap) => {
            let total = full.saturating_sub(out);
            let pb = match ap {
                AutoPad::SameUpper => total - total / 2,
                AutoPad::SameLower => total / 2,
                AutoPad::Explicit => explicit_pads.0,
                AutoPad::Valid => 0,
            };
            (pb, out)
        }
        (None, AutoPad::Explicit) => {
            let (pb, pe) = explicit_pads;
            let out = full
                .checked_sub(pb)
                .and_then(|v| v.checked_sub(pe))
                .filter(|&v| v > 0)
                .ok_or_else(|| format!("pads {pb}+{pe} leave no output of the full size {full}"))?;
            (pb, out)
        }
        (None, _) => (0, full),
    };
    Ok(BackpropAxis { input, kernel, stride, dilation, pad_begin, output })
}

/// ConvolutionBackpropData-1: data `[N, Ci, in…]`, filter `[Ci, Co, k…]`, optional `output_shape`.
///
/// `y[n, o, p] = Σ_{c<Ci} Σ_k x[n, c, i] · w[c, o, k]` over the taps with `i·s = p + pb − k·d`.
/// Order (FP32.md, as `ov::reference::convolution_backprop_in`, which convolves the zero-stuffed
/// input with the spatially **reversed** filter): `acc = 0`; input channels ascending; taps in
/// reverse row-major order of the original kernel (kd, kh, kw descending). The zeros OpenVINO
/// inserts between strided inputs add `0·w = ±0`, which never changes a sum that starts at `+0`
/// (finite weights), so they are skipped here.
///
/// GroupConvolutionBackpropData-1 (`grouped`): filter `[G, Ci/G, Co/G, k…]`, each group as above
/// on its own channels (as `ov::reference::group_convolution_backprop_data`, one call per group).
fn backprop_data<A: Accumulator>(ctx: &OpCtx<'_>, grouped: bool) -> Result<Vec<Tensor>, RefError> {
    let node = ctx.node;
    let (x, w) = (input(ctx, 0, "2 or 3")?, input(ctx, 1, "2 or 3")?);
    let n_sp = spatial_rank(node, x)?;
    let lead = if grouped { 3 } else { 2 };
    if w.shape.len() != n_sp + lead {
        return Err(op_err(node, format!("filter of rank {} for data of rank {}", w.shape.len(), n_sp + 2)));
    }
    let (groups, cig, cog) = if grouped { (w.shape[0], w.shape[1], w.shape[2]) } else { (1, w.shape[0], w.shape[1]) };
    let (batch, ci) = (x.shape[0], x.shape[1]);
    if groups == 0 || groups.checked_mul(cig) != Some(ci) {
        return Err(op_err(node, format!("data has {ci} channels, the filter expects {groups} groups of {cig}")));
    }
    let co = groups.checked_mul(cog).ok_or_else(|| op_err(node, "output channels overflow"))?;
    let kernel: Vec<usize> = w.shape[lead..].to_vec();
    let a = spatial_attrs(node, n_sp)?;
    let output_padding = node.attr_usize_list_or("output_padding", vec![0; n_sp])?;
    if output_padding.len() != n_sp {
        return Err(op_err(node, format!("output_padding has {} values for {n_sp} axes", output_padding.len())));
    }
    let out_spatial: Option<Vec<usize>> = match ctx.inputs.get(2) {
        None => None,
        Some(t) => {
            let v = t.to_i64_vec();
            if v.len() != n_sp || v.iter().any(|&d| d <= 0) {
                return Err(op_err(node, format!("output_shape {v:?} must hold {n_sp} positive sizes")));
            }
            Some(v.into_iter().map(|d| d as usize).collect())
        }
    };
    let mut axes = Vec::with_capacity(n_sp);
    for i in 0..n_sp {
        let pads = (a.pads_begin.get(i).copied().unwrap_or(0), a.pads_end.get(i).copied().unwrap_or(0));
        let ax = backprop_axis(
            x.shape[2 + i],
            kernel[i],
            a.strides[i],
            a.dilations[i],
            pads,
            output_padding[i],
            a.auto_pad,
            out_spatial.as_ref().map(|v| v[i]),
        )
        .map_err(|m| op_err(node, format!("axis {i}: {m}")))?;
        axes.push(ax);
    }
    let mut out_shape = vec![batch, co];
    out_shape.extend(axes.iter().map(|a| a.output));
    let out_len = checked_len(node, &out_shape)?;
    let xv = float_input(node, x, "data")?;
    let wv = float_input(node, w, "filter")?;

    // Per 3-D axis: for each (output, tap), the input coordinate if `p + pb − k·d` is a
    // non-negative multiple of the stride inside the input.
    let off = 3 - n_sp;
    let unit = BackpropAxis { input: 1, kernel: 1, stride: 1, dilation: 1, pad_begin: 0, output: 1 };
    let ax3: Vec<BackpropAxis> = (0..3).map(|i| if i < off { unit } else { axes[i - off] }).collect();
    let mut y = alloc(node, out_len)?;
    if out_len == 0 {
        return Ok(vec![float_output(node, x.element_type, out_shape, y)?]);
    }
    let taps: Vec<Vec<Option<usize>>> = ax3
        .iter()
        .map(|ax| {
            tap_table(node, ax.output, ax.kernel, |p, k| {
                let pos = p.checked_add(ax.pad_begin)?.checked_sub(k.checked_mul(ax.dilation)?)?;
                (pos % ax.stride == 0).then_some(pos / ax.stride).filter(|&i| i < ax.input)
            })
        })
        .collect::<Result<_, _>>()?;
    let ind = [ax3[0].input, ax3[1].input, ax3[2].input];
    let k3 = [ax3[0].kernel, ax3[1].kernel, ax3[2].kernel];
    let in_sp = ind[0] * ind[1] * ind[2];
    let k_sp = k3[0] * k3[1] * k3[2];
    for n in 0..batch {
        for o in 0..co {
            let (g, og) = (o / cog, o % cog);
            for pd in 0..ax3[0].output {
                for ph in 0..ax3[1].output {
                    for pw in 0..ax3[2].output {
                        let mut acc = A::ZERO;
                        for c in 0..cig {
                            let x_c = (n * ci + g * cig + c) * in_sp;
                            let w_c = ((g * cig + c) * cog + og) * k_sp;
                            for kd in (0..k3[0]).rev() {
                                let Some(id) = taps[0][pd * k3[0] + kd] else { continue };
                                for kh in (0..k3[1]).rev() {
                                    let Some(ih) = taps[1][ph * k3[1] + kh] else { continue };
                                    for kw in (0..k3[2]).rev() {
                                        let Some(iw) = taps[2][pw * k3[2] + kw] else { continue };
                                        let xi = xv[x_c + (id * ind[1] + ih) * ind[2] + iw];
                                        let wi = wv[w_c + (kd * k3[1] + kh) * k3[2] + kw];
                                        acc = acc.add_product(xi, wi);
                                    }
                                }
                            }
                        }
                        y.push(acc.to_f32());
                    }
                }
            }
        }
    }
    Ok(vec![float_output(node, x.element_type, out_shape, y)?])
}
