//! MaxPool-1 (values), MaxPool-8/14 (values and indices) and AvgPool-1 over 1–3 spatial axes,
//! window taps visited in row-major order (kd, kh, kw), padding taps skipped, as
//! `reference/FP32.md` fixes.

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

/// MaxPool (FP32.md): `m` starts at −FLT_MAX (OpenVINO's `numeric_limits<float>::lowest()`); for
/// each data tap in row-major order `v > m ? v : m` (first maximum wins, NaN never wins).
///
/// MaxPool-1 has one output (the values) and no `dilations`, `axis` or `index_element_type`
/// attributes (OpenVINO's `max-pool-1.rst`); MaxPool-8 and -14 add dilations and a second output,
/// the selected tap's flat index over the whole input, `% Π shape[axis..]` when `axis ≠ 0`; a
/// window where nothing beats −FLT_MAX reports its plane's first element. The version is read as
/// the reference does (`opsetN`, anything unparsable counts as 1).
pub(crate) fn max_pool(cx: &Ctx<'_>) -> Result<Vec<Tensor>, FallbackError> {
    cx.expect_inputs(1, 1)?;
    let (x, shape) = cx.f32_input(0)?;
    let version: u32 = cx.node.version.trim_start_matches("opset").parse().unwrap_or(1);
    let with_indices = version >= 8;
    let g = pool_geom(cx, shape, with_indices)?;
    let rank = shape.len();
    // MaxPool-1 has neither attribute; like the reference, ignore them there.
    let axis = if with_indices { cx.axis(cx.node.attr_parse_or::<i64>("axis", 0, "an integer")?, rank)? } else { 0 };
    let idx_type = match cx.node.attr("index_element_type").map(str::trim).unwrap_or("i64") {
        _ if !with_indices => ElementType::I64,
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
    if !with_indices {
        return Ok(vec![cx.f32_tensor(out_shape, vals)?]);
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use conform_ir::{Node, PartialShape, Port};

    /// A MaxPool node of `version` with a 2×2 kernel, stride 2, over a 1×1×2×4 input.
    fn node(version: &str, n_out: usize) -> Node {
        let port = |id: u32| Port {
            id,
            precision: Some("FP32".into()),
            shape: PartialShape(vec![]),
            names: vec![],
            other_attrs: vec![],
            rt_info: None,
        };
        Node {
            id: "1".into(),
            name: "pool".into(),
            op_type: "MaxPool".into(),
            version: version.into(),
            attrs: vec![("kernel".into(), "2,2".into()), ("strides".into(), "2,2".into())],
            inputs: vec![port(0)],
            outputs: (0..n_out as u32).map(|i| port(1 + i)).collect(),
            rt_info: None,
            constant: None,
        }
    }

    /// Hand-derived: windows {1, 5, −2, 0} and {3, 3, 7, 7}; maxima 5 (flat index 1) and 7
    /// (flat index 6, the first of the two sevens in row-major order).
    fn input() -> Tensor {
        Tensor::from_f32(vec![1, 1, 2, 4], vec![1.0, 5.0, 3.0, 3.0, -2.0, 0.0, 7.0, 7.0]).expect("valid tensor")
    }

    #[test]
    fn maxpool_1_has_one_output_and_maxpool_8_two() {
        let x = input();
        let n1 = node("opset1", 1);
        let out = max_pool(&Ctx { node: &n1, inputs: &[&x] }).expect("MaxPool-1 runs");
        assert_eq!(out.len(), 1, "MaxPool-1 declares one output (max-pool-1.rst)");
        assert_eq!(out[0].shape, vec![1, 1, 1, 2]);
        assert_eq!(out[0].to_f32_vec(), vec![5.0, 7.0]);

        let n8 = node("opset8", 2);
        let out = max_pool(&Ctx { node: &n8, inputs: &[&x] }).expect("MaxPool-8 runs");
        assert_eq!(out.len(), 2, "MaxPool-8 has values and indices (max-pool-8.rst)");
        assert_eq!(out[0].to_f32_vec(), vec![5.0, 7.0]);
        assert_eq!(out[1].data, TensorData::I64(vec![1, 6]));
    }
}
