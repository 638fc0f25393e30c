//! Interpolate-11 (and Interpolate-4): resizing along chosen axes, as OpenVINO's TEMPLATE plugin
//! evaluates it (`template/backend/ops/interpolate.cpp` → `ov::reference::interpolate`,
//! `reference/interpolate.hpp` and `reference/src/op/interpolate.cpp`). Every coordinate and
//! weight is an f32 computation in OpenVINO's order:
//!
//! - The input is first zero-padded by `pads_begin`/`pads_end` (resized to the rank with zeros).
//! - Axes: input `axes` (port 2 for v11, 3 for v4; negative count from the end), by default
//!   `0..len(scales_or_sizes)` (v11) or `0..rank` (v4).
//! - `shape_calculation_mode=scales`: output size `trunc(f32(padded) · (scale + 1e-6))`, except a
//!   scale of exactly 1 keeps the size; `sizes`: the given sizes, with `scale = f32(size) /
//!   f32(padded)` for the coordinate transform.
//! - Coordinate transform (`GetOriginalCoordinate`): the output coordinate itself when
//!   `scale == 1` or the lengths are equal; otherwise half_pixel `(x + 0.5)/s − 0.5`,
//!   pytorch_half_pixel (same, 0 when the output length is 1), asymmetric `x/s`,
//!   tf_half_pixel_for_nn `(x + 0.5)/s`, align_corners `x·(in − 1)/(out − 1)` (0 when out = 1).
//! - nearest: `nearest_mode` rounds (round_prefer_floor, round_prefer_ceil, floor, ceil, simple)
//!   then clamps to the axis; every axis goes through the transform with its scale (1 for
//!   axes not interpolated).
//! - linear (with antialias), linear_onnx and cubic: see the functions below.
//!
//! - bilinear_pillow, bicubic_pillow: see [`pillow`].

pub mod pillow;

use super::movement::convert::convert_data;
use super::movement::data::{
    checked_count, float_tensor, float_values, input, int_values, norm_axis, per_axis_positions, take, take_or_fill,
    tensor_like, zero_like,
};
use super::{OpCtx, OpResult};
use crate::error::{op_err, RefError};
use conform_ir::{ElementType, Node, Tensor};

/// Evaluates the ops of this family; `None` for any other op type.
pub fn evaluate(ctx: &OpCtx<'_>) -> OpResult {
    let (node, inputs) = (ctx.node, ctx.inputs);
    match (node.op_type.as_str(), node.version.as_str()) {
        ("Interpolate", "opset11") => Some(interpolate_op(node, inputs, Version::V11).map(|t| vec![t])),
        ("Interpolate", "opset4") => Some(interpolate_op(node, inputs, Version::V4).map(|t| vec![t])),
        _ => None,
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Version {
    V4,
    V11,
}

/// Interpolation mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Nearest,
    Linear,
    LinearOnnx,
    Cubic,
    BilinearPillow,
    BicubicPillow,
}

/// Coordinate transformation mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CoordMode {
    HalfPixel,
    PytorchHalfPixel,
    Asymmetric,
    TfHalfPixelForNn,
    AlignCorners,
}

/// Rounding of the source coordinate in nearest mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NearestMode {
    RoundPreferFloor,
    RoundPreferCeil,
    Floor,
    Ceil,
    Simple,
}

/// The attributes that shape the arithmetic.
#[derive(Debug, Clone)]
pub struct Attrs {
    pub mode: Mode,
    pub coord: CoordMode,
    pub nearest: NearestMode,
    pub antialias: bool,
    /// `cube_coeff`, used as f32 (cubic mode).
    pub cube_coeff: f32,
    /// `cube_coeff` as the f64 the Pillow modes use.
    pub cube_coeff_f64: f64,
}

fn parse_attrs(node: &Node) -> Result<(Attrs, bool, Vec<usize>, Vec<usize>), RefError> {
    let bad = |what: &str, v: &str| op_err(node, format!("Interpolate: unknown {what} \"{v}\""));
    let mode = match node.attr_required("mode")?.trim() {
        "nearest" => Mode::Nearest,
        "linear" => Mode::Linear,
        "linear_onnx" => Mode::LinearOnnx,
        "cubic" => Mode::Cubic,
        "bilinear_pillow" => Mode::BilinearPillow,
        "bicubic_pillow" => Mode::BicubicPillow,
        other => return Err(bad("mode", other)),
    };
    let scales_mode = match node.attr_required("shape_calculation_mode")?.trim() {
        "scales" => true,
        "sizes" => false,
        other => return Err(bad("shape_calculation_mode", other)),
    };
    let coord = match node.attr("coordinate_transformation_mode").map(str::trim).unwrap_or("half_pixel") {
        "half_pixel" => CoordMode::HalfPixel,
        "pytorch_half_pixel" => CoordMode::PytorchHalfPixel,
        "asymmetric" => CoordMode::Asymmetric,
        "tf_half_pixel_for_nn" => CoordMode::TfHalfPixelForNn,
        "align_corners" => CoordMode::AlignCorners,
        other => return Err(bad("coordinate_transformation_mode", other)),
    };
    let nearest = match node.attr("nearest_mode").map(str::trim).unwrap_or("round_prefer_floor") {
        "round_prefer_floor" => NearestMode::RoundPreferFloor,
        "round_prefer_ceil" => NearestMode::RoundPreferCeil,
        "floor" => NearestMode::Floor,
        "ceil" => NearestMode::Ceil,
        "simple" => NearestMode::Simple,
        other => return Err(bad("nearest_mode", other)),
    };
    let antialias = node.attr_bool_or("antialias", false)?;
    let cube_coeff_f64 = node.attr_parse_or::<f64>("cube_coeff", -0.75, "a number")?;
    let cube_coeff = cube_coeff_f64 as f32;
    let pads_begin = node.attr_usize_list_or("pads_begin", Vec::new())?;
    let pads_end = node.attr_usize_list_or("pads_end", Vec::new())?;
    Ok((Attrs { mode, coord, nearest, antialias, cube_coeff, cube_coeff_f64 }, scales_mode, pads_begin, pads_end))
}

fn interpolate_op(node: &Node, inputs: &[&Tensor], version: Version) -> Result<Tensor, RefError> {
    let x = input(node, inputs, 0)?;
    let rank = x.shape.len();
    let (attrs, scales_mode, pb, pe) = parse_attrs(node)?;
    // correct_pad: pads resized to the rank (missing entries 0, extra dropped).
    let pad_at = |p: &[usize], i: usize| p.get(i).copied().unwrap_or(0);
    let padded: Vec<usize> = (0..rank)
        .map(|i| x.shape[i].checked_add(pad_at(&pb, i)).and_then(|v| v.checked_add(pad_at(&pe, i))))
        .collect::<Option<_>>()
        .ok_or_else(|| op_err(node, "Interpolate: padded size overflows"))?;
    checked_count(node, &padded)?;

    let (sizes_port, scales_port, axes_port) = match version {
        Version::V11 => (1, 1, 2),
        Version::V4 => (1, 2, 3),
    };
    let n_values = input(node, inputs, if scales_mode { scales_port } else { sizes_port })?.len();
    let axes: Vec<usize> = match inputs.get(axes_port) {
        Some(a) => int_values(node, a, "Interpolate axes")?
            .iter()
            .map(|&a| norm_axis(node, a, rank))
            .collect::<Result<_, _>>()?,
        None => match version {
            Version::V11 => (0..n_values).collect(),
            Version::V4 => (0..rank).collect(),
        },
    };
    if axes.iter().any(|&a| a >= rank) {
        return Err(op_err(node, format!("Interpolate: axes {axes:?} exceed rank {rank}")));
    }
    let mut out_shape = padded.clone();
    let scales: Vec<f32> = if scales_mode {
        let s = float_values(node, input(node, inputs, scales_port)?, "Interpolate scales")?;
        if s.len() < axes.len() {
            return Err(op_err(node, format!("Interpolate: {} scales for {} axes", s.len(), axes.len())));
        }
        for (i, &ax) in axes.iter().enumerate() {
            if s[i] != 1.0 {
                // static_cast<int64_t>(static_cast<float>(dim) * (scale + 1e-6f))
                let v = (padded[ax] as f32) * (s[i] + 1.0e-6f32);
                out_shape[ax] = if v.is_finite() && v >= 0.0 { v as usize } else { 0 };
            }
        }
        s[..axes.len()].to_vec()
    } else {
        let sizes = int_values(node, input(node, inputs, sizes_port)?, "Interpolate sizes")?;
        if sizes.len() < axes.len() {
            return Err(op_err(node, format!("Interpolate: {} sizes for {} axes", sizes.len(), axes.len())));
        }
        axes.iter()
            .enumerate()
            .map(|(i, &ax)| {
                out_shape[ax] = usize::try_from(sizes[i])
                    .map_err(|_| op_err(node, format!("Interpolate: negative size {}", sizes[i])))?;
                Ok(sizes[i] as f32 / padded[ax] as f32)
            })
            .collect::<Result<_, RefError>>()?
    };
    let out_count = checked_count(node, &out_shape)?;
    if out_count > 0 && padded.contains(&0) {
        return Err(op_err(node, format!("Interpolate: cannot resize the empty input {padded:?} to {out_shape:?}")));
    }
    let geo = Geometry { in_shape: padded.clone(), out_shape: out_shape.clone(), axes, scales };

    // Zero padding (OpenVINO's pad_input_data into a zero-filled buffer).
    let pad_positions: Vec<Option<usize>> = {
        let per_axis: Vec<Vec<Option<usize>>> = (0..rank)
            .map(|i| {
                let b = pad_at(&pb, i);
                (0..padded[i]).map(|o| o.checked_sub(b).filter(|&c| c < x.shape[i])).collect()
            })
            .collect();
        per_axis_positions(&x.shape, &per_axis)
    };

    let y = match attrs.mode {
        Mode::Nearest => {
            // Pure selection: works on every element type.
            let fill = zero_like(&x.data);
            let padded_data = take_or_fill(&x.data, &pad_positions, &fill)
                .ok_or_else(|| op_err(node, "Interpolate: internal type mismatch"))?;
            let idx = nearest_positions(&geo, &attrs);
            return tensor_like(node, x, out_shape, take(&padded_data, &idx));
        }
        Mode::BilinearPillow | Mode::BicubicPillow => {
            let xv = float_values(node, x, "Interpolate data (Pillow modes)")?;
            let padded_values: Vec<f32> = pad_positions.iter().map(|p| p.map_or(0.0, |i| xv[i])).collect();
            pillow_modes(node, &geo, &attrs, x.element_type, &padded_values)?
        }
        Mode::Linear | Mode::LinearOnnx | Mode::Cubic => {
            if x.element_type == ElementType::Boolean {
                return Err(op_err(node, "Interpolate: boolean data needs nearest mode"));
            }
            // Integer data (u8, i8, i32 in OpenVINO) is read as f32, like `static_cast<float>`.
            let xv = x.to_f32_vec();
            let padded_values: Vec<f32> = pad_positions.iter().map(|p| p.map_or(0.0, |i| xv[i])).collect();
            match attrs.mode {
                Mode::Linear => linear(node, &geo, &attrs, &padded_values)?,
                Mode::LinearOnnx => linear_onnx(node, &geo, &attrs, &padded_values)?,
                _ => cubic(&geo, &attrs, &padded_values),
            }
        }
    };
    if x.element_type.is_float() {
        return float_tensor(node, x.element_type, out_shape, y);
    }
    // Integer outputs: linear rounds (`std::round`, halves away from zero) before the cast, the
    // other modes cast directly (`static_cast<T>(sum)`, truncation).
    let y: Vec<f32> = if attrs.mode == Mode::Linear { y.into_iter().map(f32::round).collect() } else { y };
    let as_f32 = Tensor::from_f32(out_shape.clone(), y).map_err(|e| op_err(node, e.to_string()))?;
    tensor_like(node, x, out_shape, convert_data(&as_f32, x.element_type))
}

/// The Pillow modes over every 2-D image spanned by `axes[0]` (H) and `axes[1]` (W).
fn pillow_modes(node: &Node, geo: &Geometry, attrs: &Attrs, et: ElementType, x: &[f32]) -> Result<Vec<f32>, RefError> {
    let &[ha, wa] = geo.axes.as_slice() else {
        return Err(op_err(node, "Interpolate: the Pillow modes need exactly two axes"));
    };
    if ha == wa {
        return Err(op_err(node, "Interpolate: the Pillow modes need two different axes"));
    }
    let filter = if attrs.mode == Mode::BilinearPillow { pillow::Filter::Bilinear } else { pillow::Filter::Bicubic };
    // Each pass stores its f64 result in the data type.
    let store: Box<dyn Fn(f64) -> f64> = match et {
        ElementType::F64 => Box::new(|v| v),
        ElementType::F16 => Box::new(|v| f64::from(half::f16::from_f32(v as f32).to_f32())),
        ElementType::BF16 => Box::new(|v| f64::from(half::bf16::from_f32(v as f32).to_f32())),
        _ => Box::new(|v| f64::from(v as f32)),
    };
    let (ih, iw, oh, ow) = (geo.in_shape[ha], geo.in_shape[wa], geo.out_shape[ha], geo.out_shape[wa]);
    let in_strides = crate::broadcast::strides(&geo.in_shape);
    let out_strides = crate::broadcast::strides(&geo.out_shape);
    let others: Vec<usize> = (0..geo.in_shape.len()).filter(|&a| a != ha && a != wa).collect();
    let other_shape: Vec<usize> = others.iter().map(|&a| geo.in_shape[a]).collect();
    let mut y = vec![0f32; geo.out_shape.iter().product()];
    if other_shape.contains(&0) || y.is_empty() {
        return Ok(y);
    }
    let mut oc = vec![0usize; others.len()];
    loop {
        let in_base: usize = others.iter().zip(&oc).map(|(&a, &c)| c * in_strides[a]).sum();
        let out_base: usize = others.iter().zip(&oc).map(|(&a, &c)| c * out_strides[a]).sum();
        let img: Vec<f64> = (0..ih * iw)
            .map(|k| f64::from(x[in_base + (k / iw) * in_strides[ha] + (k % iw) * in_strides[wa]]))
            .collect();
        let res = pillow::resample(&img, ih, iw, oh, ow, filter, attrs.cube_coeff_f64, &*store);
        for (k, v) in res.into_iter().enumerate() {
            y[out_base + (k / ow) * out_strides[ha] + (k % ow) * out_strides[wa]] = v as f32;
        }
        if !next_coord(&mut oc, &other_shape) {
            break;
        }
    }
    Ok(y)
}

/// Shapes, interpolated axes and their scales (one per axis, in `axes` order).
#[derive(Debug, Clone)]
pub struct Geometry {
    /// The padded input shape.
    pub in_shape: Vec<usize>,
    /// The output shape.
    pub out_shape: Vec<usize>,
    /// Interpolated axes.
    pub axes: Vec<usize>,
    /// Scale of each interpolated axis.
    pub scales: Vec<f32>,
}

/// `GetOriginalCoordinate`: the source coordinate of output coordinate `x` in f32.
pub fn original_coordinate(mode: CoordMode, x: f32, scale: f32, len_out: f32, len_in: f32) -> f32 {
    if scale == 1.0 || len_out == len_in {
        return x;
    }
    match mode {
        CoordMode::HalfPixel => ((x + 0.5) / scale) - 0.5,
        CoordMode::PytorchHalfPixel => {
            if len_out > 1.0 {
                (x + 0.5) / scale - 0.5
            } else {
                0.0
            }
        }
        CoordMode::Asymmetric => x / scale,
        CoordMode::TfHalfPixelForNn => (x + 0.5) / scale,
        CoordMode::AlignCorners => {
            if len_out == 1.0 {
                0.0
            } else {
                x * (len_in - 1.0) / (len_out - 1.0)
            }
        }
    }
}

/// `static_cast<int64_t>(float)`: truncation toward zero (saturating here; OpenVINO's is undefined
/// out of range, and such coordinates are clamped to the axis anyway).
fn trunc_i64(v: f32) -> i64 {
    v as i64
}

/// The nearest-pixel rounding of `interpolate.cpp` (`std::round` rounds halves away from zero).
pub fn nearest_pixel(mode: NearestMode, x: f32, is_downsample: bool) -> i64 {
    match mode {
        NearestMode::RoundPreferFloor => {
            // x == static_cast<int64_t>(x) + 0.5f, compared in f32.
            if x == trunc_i64(x) as f32 + 0.5 {
                trunc_i64(x.floor())
            } else {
                trunc_i64(x.round())
            }
        }
        NearestMode::RoundPreferCeil => trunc_i64(x.round()),
        NearestMode::Floor => trunc_i64(x.floor()),
        NearestMode::Ceil => trunc_i64(x.ceil()),
        NearestMode::Simple => {
            if is_downsample {
                trunc_i64(x.ceil())
            } else {
                trunc_i64(x)
            }
        }
    }
}

/// Flat positions in the padded input of every output element, nearest mode.
fn nearest_positions(geo: &Geometry, attrs: &Attrs) -> Vec<usize> {
    let rank = geo.in_shape.len();
    let mut all_scales = vec![1.0f32; rank];
    for (i, &ax) in geo.axes.iter().enumerate() {
        all_scales[ax] = geo.scales[i];
    }
    // Each axis maps independently, so compute per-axis source coordinates once.
    let per_axis: Vec<Vec<Option<usize>>> = (0..rank)
        .map(|ax| {
            let len_in = geo.in_shape[ax];
            (0..geo.out_shape[ax])
                .map(|o| {
                    let c = original_coordinate(
                        attrs.coord,
                        o as f32,
                        all_scales[ax],
                        geo.out_shape[ax] as f32,
                        len_in as f32,
                    );
                    let p = nearest_pixel(attrs.nearest, c, all_scales[ax] < 1.0);
                    Some(p.clamp(0, (len_in as i64 - 1).max(0)) as usize)
                })
                .collect()
        })
        .collect();
    per_axis_positions(&geo.in_shape, &per_axis).into_iter().flatten().collect()
}

/// Row-major iteration helper: advances `coord` within `shape`; false after the last.
fn next_coord(coord: &mut [usize], shape: &[usize]) -> bool {
    for ax in (0..shape.len()).rev() {
        coord[ax] += 1;
        if coord[ax] < shape[ax] {
            return true;
        }
        coord[ax] = 0;
    }
    false
}

fn flat(coord: &[usize], shape: &[usize]) -> usize {
    coord.iter().zip(shape).fold(0, |acc, (&c, &d)| acc * d + c)
}

/// `linear` mode (`InterpolateEval::linear_func`): a triangle filter of radius `r` around the
/// rounded source coordinate; with antialias and downsampling, the filter is stretched by the
/// scale (`a = scale`, weights `prod(a) · Π max(0, 1 − |a·dz|)`). Out-of-range taps are skipped;
/// `y = Σ w·x / Σ w` (0 when Σ w = 0), both sums in tap order.
fn linear(node: &Node, geo: &Geometry, attrs: &Attrs, x: &[f32]) -> Result<Vec<f32>, RefError> {
    let n_axes = geo.axes.len();
    let is_downsample = geo.scales.iter().any(|&s| s < 1.0);
    let antialias = is_downsample && attrs.antialias;
    let mut a = vec![1.0f32; n_axes];
    let mut r = vec![0i64; n_axes];
    let mut prod_a = 1.0f32;
    for i in 0..n_axes {
        a[i] = if antialias { geo.scales[i] } else { 1.0 };
        prod_a *= a[i];
        r[i] = if f64::from(geo.scales[i]) > 1.0 { 2 } else { (2.0f32 / a[i]).ceil() as i64 };
    }
    let taps_shape: Vec<usize> =
        r.iter().map(|&ri| usize::try_from(ri.saturating_mul(2).saturating_add(1)).unwrap_or(0)).collect();
    // Strong antialiased downsampling widens the filter as 1/scale: bound the work per output.
    let taps = taps_shape.iter().try_fold(1usize, |a, &t| a.checked_mul(t));
    if taps.is_none_or(|t| t > 1 << 20) {
        return Err(op_err(node, format!("Interpolate linear: filter of {taps_shape:?} taps per output is too large")));
    }
    let out_count: usize = geo.out_shape.iter().product();
    let mut y = Vec::with_capacity(out_count);
    if out_count == 0 {
        return Ok(y);
    }
    let rank = geo.in_shape.len();
    let mut oc = vec![0usize; rank];
    loop {
        let mut icoords: Vec<f32> = oc.iter().map(|&c| c as f32).collect();
        let mut icoords_r: Vec<i64> = oc.iter().map(|&c| c as i64).collect();
        for (i, &ax) in geo.axes.iter().enumerate() {
            let c = original_coordinate(
                attrs.coord,
                oc[ax] as f32,
                geo.scales[i],
                geo.out_shape[ax] as f32,
                geo.in_shape[ax] as f32,
            );
            icoords[ax] = c;
            icoords_r[ax] = c.round() as i64;
        }
        let (mut summa, mut wsum) = (0.0f32, 0.0f32);
        let mut tap = vec![0usize; n_axes];
        let taps_nonempty = taps_shape.iter().all(|&t| t > 0);
        if taps_nonempty {
            loop {
                let mut inner: Vec<usize> = oc.clone();
                let mut ok = true;
                for (i, &ax) in geo.axes.iter().enumerate() {
                    let v = tap[i] as i64 + icoords_r[ax] - r[i];
                    if v < 0 || v as usize >= geo.in_shape[ax] {
                        ok = false;
                        break;
                    }
                    inner[ax] = v as usize;
                }
                if ok {
                    let mut w = prod_a;
                    for (i, &ax) in geo.axes.iter().enumerate() {
                        let dz = icoords[ax] - inner[ax] as f32;
                        w *= triangle(a[i] * dz);
                    }
                    wsum += w;
                    summa += w * x[flat(&inner, &geo.in_shape)];
                }
                if !next_coord(&mut tap, &taps_shape) {
                    break;
                }
            }
        }
        y.push(if wsum == 0.0 { 0.0 } else { summa / wsum });
        if !next_coord(&mut oc, &geo.out_shape) {
            break;
        }
    }
    Ok(y)
}

/// `max(0, 1 − |dz|)`.
fn triangle(dz: f32) -> f32 {
    let t = 1.0f32 - dz.abs();
    if 0.0 < t {
        t
    } else {
        0.0
    }
}

/// `linear_onnx` mode (`InterpolateEval::linear_onnx_func`), for the axis sets OpenVINO accepts
/// (all axes, or all but the first two, in ascending order) where the axes outside the
/// interpolated spatial block keep their size. Per spatial axis: `c = clamp(transform(o), 0,
/// len − 1)`, `i1 = min(trunc(c), len − 1)`, `i2 = min(i1 + 1, len − 1)`, `d1 = |c − i1|`,
/// `d2 = |c − i2|` (both 0.5 when `i1 = i2`); then over the `2^k` corners, `sum += coeff · v`
/// with `coeff = Π_j (bit j of n, most significant first) ? d1[j] : d2[j]` (product from j = 0,
/// starting at 1) and `v` the input at the opposite corner, `n` ascending from 0.
fn linear_onnx(node: &Node, geo: &Geometry, attrs: &Attrs, x: &[f32]) -> Result<Vec<f32>, RefError> {
    let rank = geo.in_shape.len();
    let all: Vec<usize> = (0..rank).collect();
    let spatial: Vec<usize> = (2.min(rank)..rank).collect();
    let axes_ok = rank >= 2 && (geo.axes == all || (rank >= 4 && geo.axes == spatial));
    if !axes_ok {
        return Err(op_err(
            node,
            format!("Interpolate linear_onnx: axes {:?} are not correct for rank {rank}", geo.axes),
        ));
    }
    // Interpolated spatial axes: those whose size may change. OpenVINO folds unchanged leading
    // axes into batch/channels; the reference requires them unchanged.
    let first_spatial = if rank >= 4 { 2 } else { 0 };
    for ax in 0..first_spatial {
        if geo.in_shape[ax] != geo.out_shape[ax] {
            return Err(op_err(node, "Interpolate linear_onnx: batch and channel axes must keep their size"));
        }
    }
    // Index of each spatial axis in `axes` (for its scale).
    let axis_index = |ax: usize| geo.axes.iter().position(|&a| a == ax).unwrap_or(0);
    let spatial_axes: Vec<usize> = (first_spatial..rank).collect();
    let k = spatial_axes.len();
    let out_count: usize = geo.out_shape.iter().product();
    let mut y = Vec::with_capacity(out_count);
    if out_count == 0 {
        return Ok(y);
    }
    let mut oc = vec![0usize; rank];
    loop {
        let mut in1 = vec![0usize; k];
        let mut in2 = vec![0usize; k];
        let mut d1 = vec![0f32; k];
        let mut d2 = vec![0f32; k];
        for (j, &ax) in spatial_axes.iter().enumerate() {
            let len = geo.in_shape[ax];
            let i = axis_index(ax);
            let c =
                original_coordinate(attrs.coord, oc[ax] as f32, geo.scales[i], geo.out_shape[ax] as f32, len as f32);
            // std::max(0.0f, std::min(c, len - 1)).
            let hi = (len as i64 - 1) as f32;
            let m = if hi < c { hi } else { c };
            let c = if 0.0 < m { m } else { 0.0 };
            let a1 = (c as i64).min(len as i64 - 1).max(0) as usize;
            let a2 = (a1 + 1).min(len.saturating_sub(1));
            in1[j] = a1;
            in2[j] = a2;
            d1[j] = (c - a1 as f32).abs();
            d2[j] = (c - a2 as f32).abs();
            if a1 == a2 {
                d1[j] = 0.5;
                d2[j] = 0.5;
            }
        }
        let corners = 1usize << k;
        let mut sum = 0.0f32;
        for n in 0..corners {
            let mut coeff = 1.0f32;
            for j in 0..k {
                coeff *= if n & (1 << (k - 1 - j)) != 0 { d1[j] } else { d2[j] };
            }
            // values_of_input_points[p]: bit j of p set -> in1[j], clear -> in2[j]; we read p = corners-1-n.
            let p = corners - 1 - n;
            let mut coord = oc.clone();
            for (j, &ax) in spatial_axes.iter().enumerate() {
                coord[ax] = if p & (1 << (k - 1 - j)) != 0 { in1[j] } else { in2[j] };
            }
            sum += coeff * x[flat(&coord, &geo.in_shape)];
        }
        y.push(sum);
        if !next_coord(&mut oc, &geo.out_shape) {
            break;
        }
    }
    Ok(y)
}

/// Keys' cubic weights of `InterpolateEvalHelper::get_cubic_coeff`, in its f32 operation order.
pub fn cubic_coeffs(s: f32, a: f32) -> [f32; 4] {
    let t = s.abs();
    let c0 = ((a * (t + 1.0) - 5.0 * a) * (t + 1.0) + 8.0 * a) * (t + 1.0) - 4.0 * a;
    let c1 = ((a + 2.0) * t - (a + 3.0)) * t * t + 1.0;
    let c2 = ((a + 2.0) * (1.0 - t) - (a + 3.0)) * (1.0 - t) * (1.0 - t) + 1.0;
    let c3 = ((a * (2.0 - t) - 5.0 * a) * (2.0 - t) + 8.0 * a) * (2.0 - t) - 4.0 * a;
    [c0, c1, c2, c3]
}

/// `cubic` mode (`InterpolateEval::cubic_func`): per interpolated axis `c = transform(o)`,
/// `b = floor(c)`, weights `cubic_coeffs(c − b, cube_coeff)` for taps `b − 1 .. b + 2` clamped
/// to the axis; taps visited row-major over `4^k`, `w = Π` of the axes' weights (from 1, in axes
/// order), `sum += w · x`.
fn cubic(geo: &Geometry, attrs: &Attrs, x: &[f32]) -> Vec<f32> {
    let k = geo.axes.len();
    let out_count: usize = geo.out_shape.iter().product();
    let mut y = Vec::with_capacity(out_count);
    if out_count == 0 {
        return y;
    }
    let rank = geo.in_shape.len();
    let taps_shape = vec![4usize; k];
    let mut oc = vec![0usize; rank];
    loop {
        let mut base = vec![0i64; k];
        let mut coeffs = vec![[0f32; 4]; k];
        for (i, &ax) in geo.axes.iter().enumerate() {
            let c = original_coordinate(
                attrs.coord,
                oc[ax] as f32,
                geo.scales[i],
                geo.out_shape[ax] as f32,
                geo.in_shape[ax] as f32,
            );
            let b = c.floor() as i64;
            base[i] = b;
            coeffs[i] = cubic_coeffs(c - b as f32, attrs.cube_coeff);
        }
        let mut sum = 0.0f32;
        let mut tap = vec![0usize; k];
        loop {
            let mut coord = oc.clone();
            let mut w = 1.0f32;
            for (i, &ax) in geo.axes.iter().enumerate() {
                let v = base[i] + tap[i] as i64 - 1;
                coord[ax] = v.min(geo.in_shape[ax] as i64 - 1).max(0) as usize;
                w *= coeffs[i][tap[i]];
            }
            sum += w * x[flat(&coord, &geo.in_shape)];
            if !next_coord(&mut tap, &taps_shape) {
                break;
            }
        }
        y.push(sum);
        if !next_coord(&mut oc, &geo.out_shape) {
            break;
        }
    }
    y
}
