//! MaxPool-1/8/14 and AvgPool-1/14 over 1, 2 or 3 spatial axes (specifications `max-pool-*.rst`,
//! `avg-pool-*.rst`, `pooling_shape_rules.rst`; arithmetic of `ov::reference::max_pool` and
//! `ov::reference::avg_pool`).
//!
//! Output size per axis (`eff = d·(k−1) + 1`, `P = in + pb + pe`):
//! - explicit, `floor`: `⌊(P − eff)/s⌋ + 1`; `ceil`: `⌈(P − eff)/s⌉ + 1`; `ceil_torch`: as `ceil`,
//!   minus one when the last window would start in the end padding (`(out−1)·s ≥ in + pb`);
//! - `valid`: no padding, `⌈(in − eff + 1)/s⌉`;
//! - `same_upper`/`same_lower`: `⌈in/s⌉`, total pad `max(0, (out−1)·s + eff − in)` split with the
//!   extra one at the end (upper) or the beginning (lower).
//!
//! MaxPool: `m = lowest f32` (−FLT_MAX, as `std::numeric_limits<T>::lowest()`), then for each tap
//! inside the data in row-major order `if v > m { m = v; idx = flat index }` — padding never wins,
//! NaN never wins, a window with no data tap gives −FLT_MAX and index 0 of its channel. Indices
//! (opset8+) are flat over the whole input, then taken modulo `Π shape[axis..]` when `axis ≠ 0`.
//!
//! AvgPool: `acc = 0`, data taps in row-major order `acc = acc + v`, then `acc / count` where
//! `count` counts every tap (padding and ceil overhang included) when `exclude-pad=false` and some
//! pad is non-zero, and only the data taps otherwise (current `ov::reference::avg_pool`).

use super::convolution::tap_table;
use super::elementwise::{alloc, float_input, float_output, input};
use super::{OpCtx, OpResult};
use crate::error::{op_err, RefError};
use crate::geometry::{AutoPad, Window};
use conform_ir::{ElementType, Node, Tensor, TensorData};

/// Evaluates the ops of this family; `None` for any other op type.
pub fn evaluate(ctx: &OpCtx<'_>) -> OpResult {
    match ctx.node.op_type.as_str() {
        "MaxPool" => Some(max_pool(ctx)),
        "AvgPool" => Some(avg_pool::<f32>(ctx)),
        _ => None,
    }
}

/// AvgPool with the sum and the division in **f64**, rounded once to f32: emulates the corpus
/// generator's numpy fallback (see `convolution::evaluate_f64_accumulation`); not the FP32 mode.
pub fn evaluate_f64_accumulation(ctx: &OpCtx<'_>) -> OpResult {
    (ctx.node.op_type == "AvgPool").then(|| avg_pool::<f64>(ctx))
}

/// Sum and division of AvgPool in f32 (FP32.md) or f64.
trait Averager: Copy {
    const ZERO: Self;
    fn add(self, v: f32) -> Self;
    fn mean(self, count: usize) -> f32;
}

impl Averager for f32 {
    const ZERO: f32 = 0.0;
    #[inline]
    fn add(self, v: f32) -> f32 {
        self + v
    }
    #[inline]
    fn mean(self, count: usize) -> f32 {
        self / count as f32
    }
}

impl Averager for f64 {
    const ZERO: f64 = 0.0;
    #[inline]
    fn add(self, v: f32) -> f64 {
        self + f64::from(v)
    }
    #[inline]
    fn mean(self, count: usize) -> f32 {
        (self / count as f64) as f32
    }
}

/// The `rounding_type` attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rounding {
    /// Round the output size down.
    Floor,
    /// Round up.
    Ceil,
    /// Round up, but no window may start in the end padding (opset14).
    CeilTorch,
}

impl Rounding {
    fn parse(node: &Node) -> Result<Rounding, RefError> {
        match node.attr("rounding_type").map(str::trim) {
            None | Some("floor") => Ok(Rounding::Floor),
            Some("ceil") => Ok(Rounding::Ceil),
            Some("ceil_torch") => Ok(Rounding::CeilTorch),
            Some(other) => Err(op_err(node, format!("unknown rounding_type \"{other}\""))),
        }
    }
}

/// Pooling geometry of one op (see the module documentation for the output-size rules).
#[allow(clippy::too_many_arguments)]
pub fn pooling_window(
    input: &[usize],
    kernel: &[usize],
    strides: &[usize],
    dilations: &[usize],
    pads_begin: &[usize],
    pads_end: &[usize],
    auto_pad: AutoPad,
    rounding: Rounding,
) -> Result<Window, String> {
    let n = input.len();
    for (name, v) in [("kernel", kernel), ("strides", strides), ("dilations", dilations)] {
        if v.len() != n {
            return Err(format!("{name} has {} values for {n} spatial axes", v.len()));
        }
        if v.contains(&0) {
            return Err(format!("{name} must be positive"));
        }
    }
    if auto_pad != AutoPad::Explicit {
        // same_* and valid: the convolution rules (ceil(in/s) and floor respectively).
        return Window::convolution(input, kernel, strides, dilations, pads_begin, pads_end, auto_pad);
    }
    if pads_begin.len() != n || pads_end.len() != n {
        return Err(format!("pads_begin/pads_end need {n} values"));
    }
    let mut output = vec![0; n];
    for a in 0..n {
        let eff =
            dilations[a].checked_mul(kernel[a] - 1).and_then(|v| v.checked_add(1)).ok_or("kernel extent overflows")?;
        let padded =
            input[a].checked_add(pads_begin[a]).and_then(|v| v.checked_add(pads_end[a])).ok_or("padding overflows")?;
        let span = padded
            .checked_sub(eff)
            .ok_or_else(|| format!("axis {a}: padded input {padded} is smaller than the window {eff}"))?;
        let mut out = match rounding {
            Rounding::Floor => span / strides[a] + 1,
            Rounding::Ceil | Rounding::CeilTorch => span.div_ceil(strides[a]) + 1,
        };
        if rounding == Rounding::CeilTorch && out > 1 && (out - 1) * strides[a] >= input[a] + pads_begin[a] {
            out -= 1;
        }
        output[a] = out;
    }
    Ok(Window {
        kernel: kernel.to_vec(),
        strides: strides.to_vec(),
        dilations: dilations.to_vec(),
        pads_begin: pads_begin.to_vec(),
        pads_end: pads_end.to_vec(),
        input: input.to_vec(),
        output,
    })
}

/// Reads the common attributes and builds the window of a pooling node over data `x`.
fn window_of(node: &Node, x: &Tensor, with_dilations: bool) -> Result<Window, RefError> {
    let r = x.shape.len();
    if !(3..=5).contains(&r) {
        return Err(op_err(node, format!("data has rank {r}, 3 to 5 (1 to 3 spatial axes) are supported")));
    }
    let n = r - 2;
    let kernel = node.attr_usize_list("kernel")?;
    let strides = node.attr_usize_list_or("strides", vec![1; n])?;
    let dilations = if with_dilations { node.attr_usize_list_or("dilations", vec![1; n])? } else { vec![1; n] };
    let pads_begin = node.attr_usize_list_or("pads_begin", vec![0; n])?;
    let pads_end = node.attr_usize_list_or("pads_end", vec![0; n])?;
    let auto_pad = AutoPad::parse(node.attr("auto_pad"))
        .ok_or_else(|| op_err(node, format!("unknown auto_pad \"{}\"", node.attr("auto_pad").unwrap_or(""))))?;
    let rounding = Rounding::parse(node)?;
    if rounding == Rounding::CeilTorch && version_number(node) < 14 {
        return Err(op_err(node, "rounding_type ceil_torch needs opset14"));
    }
    pooling_window(&x.shape[2..], &kernel, &strides, &dilations, &pads_begin, &pads_end, auto_pad, rounding)
        .map_err(|m| op_err(node, m))
}

/// The opset number of the node's `version` (`opset8` → 8; unknown → 1).
fn version_number(node: &Node) -> u32 {
    node.version.trim_start_matches("opset").parse().unwrap_or(1)
}

/// Input sizes, kernel sizes and output sizes over 3 axes, and per axis the input coordinate of
/// each (output, tap) pair (`None` in padding).
type TapTables = ([usize; 3], [usize; 3], [usize; 3], [Vec<Option<usize>>; 3]);

/// The [`TapTables`] of a window extended to 3 axes with leading unit axes.
fn tap_tables(node: &Node, win: &Window) -> Result<TapTables, RefError> {
    let n = win.input.len();
    let off = 3 - n;
    let (mut ind, mut k3, mut out3) = ([1usize; 3], [1usize; 3], [1usize; 3]);
    let mut taps: [Vec<Option<usize>>; 3] = [vec![Some(0)], vec![Some(0)], vec![Some(0)]];
    for a in 0..n {
        ind[off + a] = win.input[a];
        k3[off + a] = win.kernel[a];
        out3[off + a] = win.output[a];
        taps[off + a] = tap_table(node, win.output[a], win.kernel[a], |o, k| win.input_coord(a, o, k))?;
    }
    Ok((ind, k3, out3, taps))
}

fn out_shape(node: &Node, x: &Tensor, win: &Window) -> Result<(Vec<usize>, usize), RefError> {
    let mut s = vec![x.shape[0], x.shape[1]];
    s.extend_from_slice(&win.output);
    let len = conform_ir::element_count(&s).ok_or_else(|| op_err(node, "output size overflows"))?;
    Ok((s, len))
}

fn max_pool(ctx: &OpCtx<'_>) -> Result<Vec<Tensor>, RefError> {
    let node = ctx.node;
    let version = version_number(node);
    let x = input(ctx, 0, "1")?;
    let win = window_of(node, x, version >= 8)?;
    let (shape, len) = out_shape(node, x, &win)?;
    let xv = float_input(node, x, "data")?;
    let (ind, k3, out3, taps) = tap_tables(node, &win)?;
    let in_sp = ind[0] * ind[1] * ind[2];
    let channels = x.shape[0] * x.shape[1];
    let mut values = alloc(node, len)?;
    let mut indices: Vec<i64> = alloc(node, if version >= 8 { len } else { 0 })?;
    for nc in 0..channels {
        let base = nc * in_sp;
        for od in 0..out3[0] {
            for oh in 0..out3[1] {
                for ow in 0..out3[2] {
                    let mut m = f32::MIN;
                    let mut idx = 0usize;
                    for kd in 0..k3[0] {
                        let Some(id) = taps[0][od * k3[0] + kd] else { continue };
                        for kh in 0..k3[1] {
                            let Some(ih) = taps[1][oh * k3[1] + kh] else { continue };
                            for kw in 0..k3[2] {
                                let Some(iw) = taps[2][ow * k3[2] + kw] else { continue };
                                let flat = (id * ind[1] + ih) * ind[2] + iw;
                                let v = xv[base + flat];
                                if v > m {
                                    m = v;
                                    idx = flat;
                                }
                            }
                        }
                    }
                    values.push(m);
                    if version >= 8 {
                        indices.push((base + idx) as i64);
                    }
                }
            }
        }
    }
    let y = float_output(node, x.element_type, shape.clone(), values)?;
    if version < 8 {
        return Ok(vec![y]);
    }
    // Opset8+: second output, flat indices reduced modulo the size of the axes from `axis` on.
    let rank = x.shape.len() as i64;
    let axis: i64 = node.attr_parse_or("axis", 0, "an integer")?;
    let axis_n = if axis < 0 { axis + rank } else { axis };
    if !(0..rank).contains(&axis_n) {
        return Err(op_err(node, format!("axis {axis} is outside [-{rank}, {rank})")));
    }
    if axis_n != 0 {
        let modulus = x.shape[axis_n as usize..].iter().product::<usize>().max(1) as i64;
        indices.iter_mut().for_each(|i| *i %= modulus);
    }
    let et = match node.attr("index_element_type").map(str::trim) {
        None | Some("i64") => ElementType::I64,
        Some("i32") => ElementType::I32,
        Some(other) => return Err(op_err(node, format!("index_element_type \"{other}\" is not i32 or i64"))),
    };
    let data = if et == ElementType::I32 {
        TensorData::I32(indices.into_iter().map(|i| i32::try_from(i).unwrap_or(i32::MAX)).collect())
    } else {
        TensorData::I64(indices)
    };
    let idx = Tensor::new(et, shape, data).map_err(|e| op_err(node, e.to_string()))?;
    Ok(vec![y, idx])
}

fn avg_pool<A: Averager>(ctx: &OpCtx<'_>) -> Result<Vec<Tensor>, RefError> {
    let node = ctx.node;
    let x = input(ctx, 0, "1")?;
    let win = window_of(node, x, false)?;
    let exclude_pad = node.attr_bool_or("exclude-pad", false)?;
    let any_pad = win.pads_begin.iter().chain(&win.pads_end).any(|&p| p != 0);
    let pads_in_avg = !exclude_pad && any_pad;
    let (shape, len) = out_shape(node, x, &win)?;
    let xv = float_input(node, x, "data")?;
    let (ind, k3, out3, taps) = tap_tables(node, &win)?;
    let in_sp = ind[0] * ind[1] * ind[2];
    let channels = x.shape[0] * x.shape[1];
    let mut y = alloc(node, len)?;
    for nc in 0..channels {
        let base = nc * in_sp;
        for od in 0..out3[0] {
            for oh in 0..out3[1] {
                for ow in 0..out3[2] {
                    let mut acc = A::ZERO;
                    let mut count = 0usize;
                    for kd in 0..k3[0] {
                        let td = taps[0][od * k3[0] + kd];
                        for kh in 0..k3[1] {
                            let th = taps[1][oh * k3[1] + kh];
                            for kw in 0..k3[2] {
                                let tw = taps[2][ow * k3[2] + kw];
                                match (td, th, tw) {
                                    (Some(id), Some(ih), Some(iw)) => {
                                        acc = acc.add(xv[base + (id * ind[1] + ih) * ind[2] + iw]);
                                        count += 1;
                                    }
                                    _ if pads_in_avg => count += 1,
                                    _ => {}
                                }
                            }
                        }
                    }
                    y.push(if count == 0 { 0.0 } else { acc.mean(count) });
                }
            }
        }
    }
    Ok(vec![float_output(node, x.element_type, shape, y)?])
}
