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

/// MaxPool-8 (FP32.md): `m` starts at −FLT_MAX (OpenVINO's `numeric_limits<float>::lowest()`); for
/// each data tap in row-major order `v > m ? v : m` (first maximum wins, NaN never wins). The index
/// output is the selected tap's flat index over the whole input, `% Π shape[axis..]` when
/// `axis ≠ 0`; a window where nothing beats −FLT_MAX reports its plane's first element.
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
                        let mut m = f32::MIN;
                        let mut mi = 0usize;
                        for kd in 0..g.kernel[0] {
                            let Some(id) = g.coord(0, od, kd) else { continue };
                            for kh in 0..g.kernel[1] {
                                let Some(ih) = g.coord(1, oh, kh) else { continue };
                                for kw in 0..g.kernel[2] {
                                    let Some(iw) = g.coord(2, ow, kw) else { continue };
                                    let at = (id * g.input[1] + ih) * g.input[2] + iw;
                                    let v = plane[at];
                                    if v > m {
                                        m = v;
                                        mi = at;
                                    }
                                }
                            }
                        }
                        vo[o] = m;
                        io[o] = ((base + mi) % modulus.max(1)) as i64;
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

/// AvgPool-1 (FP32.md): `acc = 0`; the window's data taps in row-major order `acc = acc + x`; then
/// `acc / f32(count)`. `count` is every tap of the window (padding and ceil overhang included) when
/// `exclude-pad=false` and some resolved pad is non-zero, otherwise the data taps only; a window
/// without any counted tap gives 0.
pub(crate) fn avg_pool(cx: &Ctx<'_>) -> Result<Vec<Tensor>, FallbackError> {
    cx.expect_inputs(1, 1)?;
    let (x, shape) = cx.f32_input(0)?;
    let g = pool_geom(cx, shape, false)?;
    let exclude = cx.node.attr_bool_or("exclude-pad", false)?;
    let any_pad = g.pads_begin.iter().chain(&g.pads_end).any(|&p| p != 0);
    let whole_window = (!exclude && any_pad).then(|| g.kernel.iter().product::<usize>());
    let planes: usize = shape[..2].iter().product();
    let (in_sz, out_sz) = (g.in_size(), g.out_size());
    let n_out = cx.count(&[planes, out_sz])?;
    let mut vals = cx.zeros(n_out)?;
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
                        let count = whole_window.unwrap_or(inside);
                        vo[o] = if count == 0 { 0.0 } else { acc / count as f32 };
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
