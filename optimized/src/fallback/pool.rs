//! MaxPool-8 (values and indices) and AvgPool-1 over 1–3 spatial axes, window taps visited in
//! row-major order (kd, kh, kw), padding taps skipped, as `reference/FP32.md` fixes.

use super::ctx::{Ctx, FallbackError};
use super::geometry::{resolve, Geom, WindowAttrs};
use conform_ir::{ElementType, Tensor, TensorData};
use rayon::prelude::*;

/// Reads the window of a pooling layer and resolves it against the input's spatial sizes.
fn pool_geom(cx: &Ctx<'_>, shape: &[usize], dilations: bool) -> Result<Geom, FallbackError> {
    if shape.len() < 3 {
        return Err(cx.err(format!("input rank {} is below 3 (N, C, spatial)", shape.len())));
    }
    let kernel = cx.node.attr_usize_list("kernel")?;
    let attrs = WindowAttrs::read(cx, kernel, dilations)?;
    resolve(cx, &shape[2..], &attrs)
}

/// MaxPool-8: `m = −inf`; for each tap in row-major order inside the input, `v > m ? v : m`; the
/// index output is the selected tap's flat input index counted from axis `axis` (the first tap
/// keeps ties). A window with no tap greater than −inf keeps −inf and the index of its first tap
/// inside the input (0 when it has none).
pub(crate) fn max_pool(cx: &Ctx<'_>) -> Result<Vec<Tensor>, FallbackError> {
    cx.expect_inputs(1, 1)?;
    let (x, shape) = cx.f32_input(0)?;
    let g = pool_geom(cx, shape, true)?;
    let rank = shape.len();
    let axis = cx.axis(cx.node.attr_parse_or::<i64>("axis", 0, "an integer")?, rank)?;
    let idx_type = match cx.node.attr("index_element_type").map(str::trim).unwrap_or("i64") {
        "i64" => ElementType::I64,
        "i32" => ElementType::I32,
        other => return Err(cx.err(format!("index_element_type \"{other}\" is not supported (i64, i32 are)"))),
    };
    let planes: usize = shape[..2].iter().product();
    let (in_sz, out_sz) = (g.in_size(), g.out_size());
    let n_out = cx.count(&[planes, out_sz])?;
    let mut vals = cx.zeros(n_out)?;
    let mut idxs = cx.filled(n_out, 0i64)?;
    // Indices count from the start of the sub-tensor that begins at `axis`.
    let modulus: usize = shape[axis..].iter().product();
    if n_out > 0 {
        vals.par_chunks_mut(out_sz).zip(idxs.par_chunks_mut(out_sz)).enumerate().for_each(|(p, (vo, io))| {
            let plane = &x[p * in_sz..(p + 1) * in_sz];
            let base = p * in_sz;
            let mut o = 0;
            for od in 0..g.output[0] {
                for oh in 0..g.output[1] {
                    for ow in 0..g.output[2] {
                        let mut m = f32::NEG_INFINITY;
                        let mut mi: Option<usize> = None;
                        let mut first: Option<usize> = None;
                        for kd in 0..g.kernel[0] {
                            let Some(id) = g.coord(0, od, kd) else { continue };
                            for kh in 0..g.kernel[1] {
                                let Some(ih) = g.coord(1, oh, kh) else { continue };
                                for kw in 0..g.kernel[2] {
                                    let Some(iw) = g.coord(2, ow, kw) else { continue };
                                    let at = (id * g.input[1] + ih) * g.input[2] + iw;
                                    first.get_or_insert(at);
                                    let v = plane[at];
                                    if v > m {
                                        m = v;
                                        mi = Some(at);
                                    }
                                }
                            }
                        }
                        vo[o] = m;
                        io[o] = ((base + mi.or(first).unwrap_or(0)) % modulus.max(1)) as i64;
                        o += 1;
                    }
                }
            }
        });
    }
    let mut out_shape = shape[..2].to_vec();
    out_shape.extend(g.out_dims(rank - 2));
    let idx_data = match idx_type {
        ElementType::I32 => TensorData::I32(idxs.into_iter().map(|v| v as i32).collect()),
        _ => TensorData::I64(idxs),
    };
    Ok(vec![cx.f32_tensor(out_shape.clone(), vals)?, cx.tensor(idx_type, out_shape, idx_data)?])
}

/// AvgPool-1: `acc = 0`, the window's taps inside the input in row-major order `acc = acc + x`,
/// then `acc / count`; `count` is the number of taps inside the input with `exclude-pad=true`,
/// otherwise the number of taps inside the padded input (input plus pads_begin/pads_end).
pub(crate) fn avg_pool(cx: &Ctx<'_>) -> Result<Vec<Tensor>, FallbackError> {
    cx.expect_inputs(1, 1)?;
    let (x, shape) = cx.f32_input(0)?;
    let g = pool_geom(cx, shape, false)?;
    let exclude = cx.node.attr_bool_or("exclude-pad", false)?;
    let planes: usize = shape[..2].iter().product();
    let (in_sz, out_sz) = (g.in_size(), g.out_size());
    let n_out = cx.count(&[planes, out_sz])?;
    let mut vals = cx.zeros(n_out)?;
    // Taps of output `o` on axis `a` inside the padded extent [−pb, in + pe).
    let padded_taps = |a: usize, o: usize| -> usize {
        (0..g.kernel[a])
            .filter(|&k| {
                let p = o * g.strides[a] + k * g.dilations[a];
                p < g.input[a] + g.pads_begin[a] + g.pads_end[a]
            })
            .count()
    };
    if n_out > 0 {
        vals.par_chunks_mut(out_sz).enumerate().for_each(|(p, vo)| {
            let plane = &x[p * in_sz..(p + 1) * in_sz];
            let mut o = 0;
            for od in 0..g.output[0] {
                for oh in 0..g.output[1] {
                    for ow in 0..g.output[2] {
                        let mut acc = 0.0f32;
                        let mut inside = 0usize;
                        for kd in 0..g.kernel[0] {
                            let Some(id) = g.coord(0, od, kd) else { continue };
                            for kh in 0..g.kernel[1] {
                                let Some(ih) = g.coord(1, oh, kh) else { continue };
                                for kw in 0..g.kernel[2] {
                                    let Some(iw) = g.coord(2, ow, kw) else { continue };
                                    acc += plane[(id * g.input[1] + ih) * g.input[2] + iw];
                                    inside += 1;
                                }
                            }
                        }
                        let count =
                            if exclude { inside } else { padded_taps(0, od) * padded_taps(1, oh) * padded_taps(2, ow) };
                        vo[o] = acc / count as f32;
                        o += 1;
                    }
                }
            }
        });
    }
    let mut out_shape = shape[..2].to_vec();
    out_shape.extend(g.out_dims(shape.len() - 2));
    Ok(vec![cx.f32_tensor(out_shape, vals)?])
}
