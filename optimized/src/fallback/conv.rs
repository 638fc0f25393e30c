//! Convolution-1, GroupConvolution-1 and ConvolutionBackpropData-1 in f32, over 1–3 spatial axes.
//!
//! Order (FP32.md): per output element `acc = 0`; input channels of its group ascending; kernel taps
//! row-major (kd, kh, kw); taps in the padding skipped; `acc = acc + x·w` with the product rounded
//! first. The loops run a whole output row at a time for one (channel, tap) pair, which keeps that
//! per-element order while the innermost loop is contiguous. Parallel over output planes.

use super::ctx::{Ctx, FallbackError};
use super::geometry::{resolve, WindowAttrs};
use conform_ir::shape::fmt_shape;
use conform_ir::Tensor;
use rayon::prelude::*;

/// Convolution (`grouped = false`, weights `[OC, IC, k..]`) or GroupConvolution (weights
/// `[G, OC/G, IC/G, k..]`).
pub(crate) fn convolution(cx: &Ctx<'_>, grouped: bool) -> Result<Vec<Tensor>, FallbackError> {
    cx.expect_inputs(2, 2)?;
    let (x, xs) = cx.f32_input(0)?;
    let (w, ws) = cx.f32_input(1)?;
    let rank = xs.len();
    if !(3..=5).contains(&rank) {
        return Err(cx.err(format!("data shape {} must have rank 3 to 5", fmt_shape(xs))));
    }
    let nsp = rank - 2;
    let (groups, ocpg, icpg, kernel) = if grouped {
        if ws.len() != rank + 1 {
            return Err(cx.err(format!("weights shape {} must have rank {}", fmt_shape(ws), rank + 1)));
        }
        (ws[0], ws[1], ws[2], ws[3..].to_vec())
    } else {
        if ws.len() != rank {
            return Err(cx.err(format!("weights shape {} must have rank {rank}", fmt_shape(ws))));
        }
        (1, ws[0], ws[1], ws[2..].to_vec())
    };
    if groups == 0 || groups.checked_mul(icpg) != Some(xs[1]) {
        return Err(cx.err(format!("data has {} channels, the weights expect {groups} groups of {icpg}", xs[1])));
    }
    let attrs = WindowAttrs::read(cx, kernel, true)?;
    let g = resolve(cx, &xs[2..], &attrs)?;
    let (n, oc) = (xs[0], groups * ocpg);
    let (in_sz, out_sz) = (g.in_size(), g.out_size());
    let taps: usize = g.kernel.iter().product();
    let mut out_shape = vec![n, oc];
    out_shape.extend(g.out_dims(nsp));
    let total = cx.count(&out_shape)?;
    let mut out = cx.zeros(total)?;
    if total > 0 {
        out.par_chunks_mut(out_sz).enumerate().for_each(|(plane, acc)| {
            let (b, o) = (plane / oc, plane % oc);
            let grp = o / ocpg;
            for ic in 0..icpg {
                let xc = &x[(b * xs[1] + grp * icpg + ic) * in_sz..][..in_sz];
                let wc = &w[(o * icpg + ic) * taps..][..taps];
                let mut t = 0;
                for kd in 0..g.kernel[0] {
                    for kh in 0..g.kernel[1] {
                        for kw in 0..g.kernel[2] {
                            accumulate_tap(&g, acc, xc, wc[t], [kd, kh, kw]);
                            t += 1;
                        }
                    }
                }
            }
        });
    }
    Ok(vec![cx.f32_tensor(out_shape, out)?])
}

/// `acc[o] = acc[o] + x[in(o, tap)]·w` for every output `o` whose tap lands inside the input.
#[inline]
fn accumulate_tap(g: &super::geometry::Geom, acc: &mut [f32], x: &[f32], wv: f32, k: [usize; 3]) {
    let (d0, d1) = g.valid_outputs(0, k[0]);
    let (h0, h1) = g.valid_outputs(1, k[1]);
    let (w0, w1) = g.valid_outputs(2, k[2]);
    if w0 >= w1 {
        return;
    }
    let (sw, ow_len) = (g.strides[2], g.output[2]);
    for od in d0..d1 {
        let id = od * g.strides[0] + k[0] * g.dilations[0] - g.pads_begin[0];
        for oh in h0..h1 {
            let ih = oh * g.strides[1] + k[1] * g.dilations[1] - g.pads_begin[1];
            let row = &mut acc[(od * g.output[1] + oh) * ow_len..][w0..w1];
            let iw0 = w0 * sw + k[2] * g.dilations[2] - g.pads_begin[2];
            let xrow = &x[(id * g.input[1] + ih) * g.input[2]..][..g.input[2]];
            if sw == 1 {
                for (a, &xv) in row.iter_mut().zip(&xrow[iw0..iw0 + (w1 - w0)]) {
                    *a += xv * wv;
                }
            } else {
                for (j, a) in row.iter_mut().enumerate() {
                    *a += xrow[iw0 + j * sw] * wv;
                }
            }
        }
    }
}

/// ConvolutionBackpropData-1 (weights `[IC, OC, k..]`, optional `output_shape` input).
///
/// Output size per axis: `s·(in−1) + d·(k−1) + 1 − pb − pe + output_padding` (explicit pads).
/// Output-centric, per FP32.md: for each output element `acc = 0`; input channels ascending; taps
/// in reverse row-major order whose input
/// position `(o + pb − k·d) / s` is an integer inside the input: `acc = acc + x·w`. No bias.
pub(crate) fn backprop_data(cx: &Ctx<'_>, grouped: bool) -> Result<Vec<Tensor>, FallbackError> {
    cx.expect_inputs(2, 3)?;
    let (x, xs) = cx.f32_input(0)?;
    let (w, ws) = cx.f32_input(1)?;
    let rank = xs.len();
    let wrank = if grouped { rank + 1 } else { rank };
    if !(3..=5).contains(&rank) || ws.len() != wrank {
        return Err(cx.err(format!(
            "data {} and weights {} must have ranks 3 to 5 (and {wrank} for the weights)",
            fmt_shape(xs),
            fmt_shape(ws)
        )));
    }
    let nsp = rank - 2;
    // Weights [G, IC/G, OC/G, k..] (grouped) or [IC, OC, k..].
    let (groups, icg, ocg) = if grouped { (ws[0], ws[1], ws[2]) } else { (1, ws[0], ws[1]) };
    let (ic, oc) = (groups * icg, groups * ocg);
    if xs[1] != ic {
        return Err(cx.err(format!("data has {} channels, the weights {ic}", xs[1])));
    }
    let node = cx.node;
    let strides = node.attr_usize_list_or("strides", vec![1; nsp])?;
    let dil = node.attr_usize_list_or("dilations", vec![1; nsp])?;
    let outpad = node.attr_usize_list_or("output_padding", vec![0; nsp])?;
    let auto_pad = node.attr("auto_pad").map(str::trim).unwrap_or("explicit");
    let explicit = match auto_pad {
        "explicit" | "notset" | "" => true,
        "valid" | "same_upper" | "same_lower" => false,
        other => return Err(cx.err(format!("auto_pad \"{other}\" is not supported"))),
    };
    let (pads_begin, pads_end) = if explicit {
        (node.attr_usize_list_or("pads_begin", vec![0; nsp])?, node.attr_usize_list_or("pads_end", vec![0; nsp])?)
    } else {
        (vec![0; nsp], vec![0; nsp])
    };
    for (name, v) in [
        ("strides", &strides),
        ("dilations", &dil),
        ("output_padding", &outpad),
        ("pads_begin", &pads_begin),
        ("pads_end", &pads_end),
    ] {
        if v.len() != nsp {
            return Err(cx.err(format!("{name} has {} values for {nsp} spatial axes", v.len())));
        }
    }
    if strides.contains(&0) || dil.contains(&0) {
        return Err(cx.err("strides and dilations must be positive"));
    }
    let kernel = &ws[wrank - nsp..];
    if xs[2..].contains(&0) || kernel.contains(&0) {
        return Err(cx.err("empty input or kernel axis"));
    }
    let requested = if cx.inputs.len() == 3 {
        let req = cx.int_input(2)?;
        if req.len() != nsp || req.iter().any(|&v| v <= 0) {
            return Err(cx.err(format!("output_shape {req:?} must hold {nsp} positive sizes")));
        }
        Some(req.iter().map(|&v| v as usize).collect::<Vec<_>>())
    } else {
        None
    };
    // Per axis: the full extent s·(in−1) + d·(k−1) + 1 + output_padding, then the output size and
    // the leading pad (ConvolutionBackpropData-1 spec): output_shape given → total pad split
    // same_lower-style for same_lower, same_upper-style otherwise; explicit → out = full − pb − pe;
    // valid → no pad; same_* → out = in·s.
    let split = |total: usize| if auto_pad == "same_lower" { total - total / 2 } else { total / 2 };
    let mut pb = vec![0; nsp];
    let mut out_sp = vec![0; nsp];
    for a in 0..nsp {
        let full = strides[a]
            .checked_mul(xs[2 + a] - 1)
            .and_then(|v| v.checked_add(dil[a].checked_mul(kernel[a] - 1)?))
            .and_then(|v| v.checked_add(1))
            .and_then(|v| v.checked_add(outpad[a]))
            .ok_or_else(|| cx.err("output size overflows"))?;
        (pb[a], out_sp[a]) = match (&requested, explicit, auto_pad) {
            (Some(req), _, _) => {
                let total = full
                    .checked_sub(req[a])
                    .ok_or_else(|| cx.err(format!("output_shape {} exceeds the full size {full}", req[a])))?;
                (split(total), req[a])
            }
            (None, true, _) => {
                let out = full
                    .checked_sub(pads_begin[a])
                    .and_then(|v| v.checked_sub(pads_end[a]))
                    .filter(|&v| v > 0)
                    .ok_or_else(|| cx.err(format!("spatial axis {a}: the pads leave no output")))?;
                (pads_begin[a], out)
            }
            (None, false, "valid") => (0, full),
            (None, false, _) => {
                let out = xs[2 + a].checked_mul(strides[a]).ok_or_else(|| cx.err("output size overflows"))?;
                (split(full.saturating_sub(out)), out)
            }
        };
    }
    // Lift to three spatial axes.
    let lift = |v: &[usize], fill: usize| -> [usize; 3] {
        let mut r = [fill; 3];
        r[3 - nsp..].copy_from_slice(v);
        r
    };
    let (inp, outp, k3, s3, d3, p3) =
        (lift(&xs[2..], 1), lift(&out_sp, 1), lift(kernel, 1), lift(&strides, 1), lift(&dil, 1), lift(&pb, 0));
    let (in_sz, out_sz, taps) =
        (inp.iter().product::<usize>(), outp.iter().product::<usize>(), k3.iter().product::<usize>());
    let mut out_shape = vec![xs[0], oc];
    out_shape.extend_from_slice(&out_sp);
    let total = cx.count(&out_shape)?;
    let mut out = cx.zeros(total)?;
    // Input coordinate of output `o`, tap `k` on axis `a`, when (o + pb − k·d) is a non-negative
    // multiple of s below the input size.
    let src = move |a: usize, o: usize, k: usize| -> Option<usize> {
        let num = (o + p3[a]).checked_sub(k * d3[a])?;
        (num % s3[a] == 0 && num / s3[a] < inp[a]).then_some(num / s3[a])
    };
    if total > 0 {
        out.par_chunks_mut(out_sz).enumerate().for_each(|(plane, acc)| {
            let (b, o) = (plane / oc, plane % oc);
            // GroupConvolutionBackpropData: one ConvolutionBackpropData per group.
            let (grp, ol) = (o / ocg, o % ocg);
            for cl in 0..icg {
                let c = grp * icg + cl;
                let xc = &x[(b * ic + c) * in_sz..][..in_sz];
                let wc = &w[(c * ocg + ol) * taps..][..taps];
                // Taps in reverse row-major order (FP32.md): OpenVINO convolves the zero-stuffed
                // input with the spatially flipped filter.
                for kd in (0..k3[0]).rev() {
                    for kh in (0..k3[1]).rev() {
                        for kw in (0..k3[2]).rev() {
                            let wv = wc[(kd * k3[1] + kh) * k3[2] + kw];
                            for od in 0..outp[0] {
                                let Some(id) = src(0, od, kd) else { continue };
                                for oh in 0..outp[1] {
                                    let Some(ih) = src(1, oh, kh) else { continue };
                                    let xrow = &xc[(id * inp[1] + ih) * inp[2]..][..inp[2]];
                                    let arow = &mut acc[(od * outp[1] + oh) * outp[2]..][..outp[2]];
                                    // First ow with (ow + pb − kw·d) ≡ 0 (mod s) and ≥ 0, then every s-th.
                                    let need = kw * d3[2];
                                    let mut ow = need.saturating_sub(p3[2]);
                                    while ow < outp[2] && (ow + p3[2] - need) % s3[2] != 0 {
                                        ow += 1;
                                    }
                                    while ow < outp[2] {
                                        let iw = (ow + p3[2] - need) / s3[2];
                                        if iw >= inp[2] {
                                            break;
                                        }
                                        arow[ow] += xrow[iw] * wv;
                                        ow += s3[2];
                                    }
                                }
                            }
                        }
                    }
                }
            }
        });
    }
    Ok(vec![cx.f32_tensor(out_shape, out)?])
}
