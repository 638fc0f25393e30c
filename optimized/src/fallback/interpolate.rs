//! Interpolate-11, mode `nearest` (the mode in the corpus), as `ov::reference::interpolate` computes
//! it (`src/core/reference/src/op/interpolate.cpp`, `interpolate.hpp`): output sizes from scales as
//! `int64(float(dim) · (scale + 1e-6f))` (shape inference), per axis the source coordinate from the
//! coordinate transformation in f32, then the nearest mode, clamped to the input. Other modes are
//! refused with an error naming them.

use super::ctx::{Ctx, FallbackError};
use super::elem::{dispatch, Elem};
use super::movement::gather_axes;
use conform_ir::{Tensor, TensorData};

/// `coordinate_transformation_mode`.
#[derive(Clone, Copy)]
enum Transform {
    HalfPixel,
    PytorchHalfPixel,
    Asymmetric,
    TfHalfPixelForNn,
    AlignCorners,
}

/// `nearest_mode`.
#[derive(Clone, Copy)]
enum Nearest {
    RoundPreferFloor,
    RoundPreferCeil,
    Floor,
    Ceil,
    Simple,
}

impl Transform {
    /// The source coordinate of resized coordinate `x` (all f32, in the spec's formula order).
    fn apply(self, x: f32, scale: f32, len_resized: f32, len_original: f32) -> f32 {
        if scale == 1.0 || len_resized == len_original {
            return x;
        }
        match self {
            Transform::HalfPixel => (x + 0.5) / scale - 0.5,
            Transform::PytorchHalfPixel => {
                if len_resized > 1.0 {
                    (x + 0.5) / scale - 0.5
                } else {
                    0.0
                }
            }
            Transform::Asymmetric => x / scale,
            Transform::TfHalfPixelForNn => (x + 0.5) / scale,
            Transform::AlignCorners => {
                if len_resized == 1.0 {
                    0.0
                } else {
                    x * (len_original - 1.0) / (len_resized - 1.0)
                }
            }
        }
    }
}

impl Nearest {
    /// The nearest input pixel of source coordinate `x`.
    fn apply(self, x: f32, downsample: bool) -> i64 {
        match self {
            Nearest::RoundPreferFloor => {
                // A tie (x = int + 0.5) goes down, anything else rounds half away from zero.
                if x == (x as i64) as f32 + 0.5 {
                    x.floor() as i64
                } else {
                    x.round() as i64
                }
            }
            Nearest::RoundPreferCeil => x.round() as i64,
            Nearest::Floor => x.floor() as i64,
            Nearest::Ceil => x.ceil() as i64,
            Nearest::Simple => {
                if downsample {
                    x.ceil() as i64
                } else {
                    x as i64
                }
            }
        }
    }
}

/// Interpolate-11 (inputs: data, scales or sizes, optional axes).
pub(crate) fn interpolate(cx: &Ctx<'_>) -> Result<Vec<Tensor>, FallbackError> {
    cx.expect_inputs(2, 3)?;
    let node = cx.node;
    if node.version != "opset11" {
        return Err(cx.err(format!("Interpolate {} is not supported (opset11 is)", node.version)));
    }
    let mode = node.attr_required("mode")?.trim();
    if mode != "nearest" {
        return Err(cx.err(format!("Interpolate mode \"{mode}\" is not supported (nearest is)")));
    }
    if node.attr_bool_or("antialias", false)? {
        return Err(cx.err("antialias is not supported with nearest"));
    }
    let transform = match node.attr("coordinate_transformation_mode").map(str::trim).unwrap_or("half_pixel") {
        "half_pixel" => Transform::HalfPixel,
        "pytorch_half_pixel" => Transform::PytorchHalfPixel,
        "asymmetric" => Transform::Asymmetric,
        "tf_half_pixel_for_nn" => Transform::TfHalfPixelForNn,
        "align_corners" => Transform::AlignCorners,
        other => return Err(cx.err(format!("coordinate_transformation_mode \"{other}\" is not known"))),
    };
    let nearest = match node.attr("nearest_mode").map(str::trim).unwrap_or("round_prefer_floor") {
        "round_prefer_floor" => Nearest::RoundPreferFloor,
        "round_prefer_ceil" => Nearest::RoundPreferCeil,
        "floor" => Nearest::Floor,
        "ceil" => Nearest::Ceil,
        "simple" => Nearest::Simple,
        other => return Err(cx.err(format!("nearest_mode \"{other}\" is not known"))),
    };
    let t = cx.input(0)?;
    let rank = t.shape.len();
    let mut pb = node.attr_usize_list_or("pads_begin", vec![0; rank])?;
    let mut pe = node.attr_usize_list_or("pads_end", vec![0; rank])?;
    pb.resize(rank, 0);
    pe.resize(rank, 0);
    let padded: Vec<usize> = (0..rank)
        .map(|a| {
            t.shape[a].checked_add(pb[a]).and_then(|v| v.checked_add(pe[a])).ok_or_else(|| cx.err("pads overflow"))
        })
        .collect::<Result<_, _>>()?;
    let axes: Vec<usize> = if cx.inputs.len() == 3 {
        cx.int_input(2)?.into_iter().map(|a| cx.axis(a, rank)).collect::<Result<_, _>>()?
    } else {
        (0..rank).collect()
    };
    let by_scales = match node.attr_required("shape_calculation_mode")?.trim() {
        "scales" => true,
        "sizes" => false,
        other => return Err(cx.err(format!("shape_calculation_mode \"{other}\" is not known"))),
    };
    let mut scales = vec![1.0f32; rank];
    let mut out_shape = padded.clone();
    if by_scales {
        let (s, _) = cx.f32_input(1)?;
        if s.len() != axes.len() {
            return Err(cx.err(format!("{} scales for {} axes", s.len(), axes.len())));
        }
        for (&a, &sc) in axes.iter().zip(s.iter()) {
            if !(sc.is_finite() && sc > 0.0) {
                return Err(cx.err(format!("scale {sc} must be positive and finite")));
            }
            scales[a] = sc;
            let eps = 1.0e-6f32;
            let v = padded[a] as f32 * (sc + eps);
            out_shape[a] = v as usize; // truncation, as the C++ static_cast<int64_t>
        }
    } else {
        let sizes = cx.int_input(1)?;
        if sizes.len() != axes.len() {
            return Err(cx.err(format!("{} sizes for {} axes", sizes.len(), axes.len())));
        }
        for (&a, &sz) in axes.iter().zip(&sizes) {
            let sz = usize::try_from(sz).map_err(|_| cx.err(format!("size {sz} is negative")))?;
            out_shape[a] = sz;
            scales[a] = sz as f32 / padded[a] as f32;
        }
    }
    cx.count(&out_shape)?;
    // Per-axis source coordinate maps into the padded input.
    let mut maps = Vec::with_capacity(rank);
    for a in 0..rank {
        let (lr, lo) = (out_shape[a] as f32, padded[a] as f32);
        let mut m = cx.with_capacity(out_shape[a])?;
        for o in 0..out_shape[a] {
            let c = transform.apply(o as f32, scales[a], lr, lo);
            let p = nearest.apply(c, scales[a] < 1.0);
            let p = p.clamp(0, padded[a] as i64 - 1).max(0);
            m.push(Some(p as usize));
        }
        if padded[a] == 0 && out_shape[a] > 0 {
            return Err(cx.err(format!("axis {a} is empty and cannot be resized")));
        }
        maps.push(m);
    }
    let data = dispatch!(&t.data, nearest_t(cx, t, &pb, &padded, &maps))?;
    Ok(vec![cx.tensor(t.element_type, out_shape, data)?])
}

/// Zero-pads `t` to `padded` (pads_begin `pb`) when needed, then gathers by `maps`.
fn nearest_t<T: Elem>(
    cx: &Ctx<'_>,
    t: &Tensor,
    pb: &[usize],
    padded: &[usize],
    maps: &[Vec<Option<usize>>],
) -> Result<TensorData, FallbackError> {
    let v = T::slice(&t.data).ok_or_else(|| cx.err("element type mismatch"))?;
    let src: Vec<T>;
    let data: &[T] = if padded == t.shape.as_slice() {
        v
    } else {
        let pad_maps: Vec<Vec<Option<usize>>> = (0..padded.len())
            .map(|a| (0..padded[a]).map(|o| o.checked_sub(pb[a]).filter(|&c| c < t.shape[a])).collect())
            .collect();
        src = gather_axes(cx, v, &t.shape, &pad_maps, T::ZERO)?;
        &src
    };
    Ok(T::wrap(gather_axes(cx, data, padded, maps, T::ZERO)?))
}
