//! Interpolate-11 as `ov::reference::interpolate` computes it (`src/core/reference/src/op/
//! interpolate.cpp`, `interpolate.hpp`; FP32.md): the input zero-padded by `pads_*`; output sizes
//! from scales as `int64(float(dim) · (scale + 1e-6f))` (a scale of exactly 1 keeps the size), or
//! given sizes with `scale = f32(size)/f32(dim)`; per axis the source coordinate from the
//! coordinate transformation in f32. `nearest` rounds per `nearest_mode` and copies (any element
//! type); `linear`, `linear_onnx` and `cubic` weigh f32 taps in OpenVINO's order. The Pillow
//! modes are refused.

use super::ctx::{Ctx, FallbackError};
use super::elem::{dispatch, Elem};
use super::movement::gather_axes;
use conform_ir::{Tensor, TensorData};
use rayon::prelude::*;

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
    if !matches!(mode, "nearest" | "linear" | "linear_onnx" | "cubic") {
        return Err(cx.err(format!("Interpolate mode \"{mode}\" is not supported")));
    }
    let antialias = node.attr_bool_or("antialias", false)?;
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
    // Default axes: the first len(scales_or_sizes) axes.
    let axes: Vec<usize> = if cx.inputs.len() == 3 {
        cx.int_input(2)?.into_iter().map(|a| cx.axis(a, rank)).collect::<Result<_, _>>()?
    } else {
        (0..cx.input(1)?.len().min(rank)).collect()
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
            if sc != 1.0 {
                let eps = 1.0e-6f32;
                let v = padded[a] as f32 * (sc + eps);
                out_shape[a] = v as usize; // truncation, as the C++ static_cast<int64_t>
            }
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
    if mode != "nearest" {
        let axis_scales: Vec<f32> = axes.iter().map(|&a| scales[a]).collect();
        let geo = Geo { padded, out: out_shape, axes, scales: axis_scales, pb, transform };
        let cube = node.attr_parse_or::<f64>("cube_coeff", -0.75, "a number")? as f32;
        return smooth(cx, t, &geo, mode, antialias, cube);
    }
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

/// Shapes, axes and scales of a non-nearest interpolation.
struct Geo {
    /// Padded input shape.
    padded: Vec<usize>,
    /// Output shape.
    out: Vec<usize>,
    /// Interpolated axes, in the order of the scales/sizes input.
    axes: Vec<usize>,
    /// Scale of each interpolated axis (same order).
    scales: Vec<f32>,
    /// pads_begin per axis.
    pb: Vec<usize>,
    /// The coordinate transformation.
    transform: Transform,
}

impl Geo {
    /// `get_in_coord`: the source coordinate on interpolated axis number `i` of output coordinate `o`.
    fn in_coord(&self, i: usize, o: usize) -> f32 {
        let a = self.axes[i];
        self.transform.apply(o as f32, self.scales[i], self.out[a] as f32, self.padded[a] as f32)
    }
}

/// The largest rank the weighted modes handle (their per-output scratch lives on the stack).
const MAX_RANK: usize = 8;

/// Row-major strides.
fn strides(shape: &[usize]) -> Vec<usize> {
    super::broadcast::row_major_strides(shape)
}

/// Linear, linear_onnx and cubic over f32 values of the zero-padded input.
fn smooth(
    cx: &Ctx<'_>,
    t: &Tensor,
    geo: &Geo,
    mode: &str,
    antialias: bool,
    cube: f32,
) -> Result<Vec<Tensor>, FallbackError> {
    let (x, _) = cx.f32_input(0)?;
    let rank = geo.padded.len();
    if rank > MAX_RANK {
        return Err(cx.err(format!("{mode} interpolation supports rank up to 8, not {rank}")));
    }
    if geo.padded.contains(&0) && !geo.out.contains(&0) {
        return Err(cx.err("cannot interpolate from an empty axis"));
    }
    let xp: Vec<f32> = if geo.padded == t.shape {
        x.into_owned()
    } else {
        let maps: Vec<Vec<Option<usize>>> = (0..rank)
            .map(|a| (0..geo.padded[a]).map(|o| o.checked_sub(geo.pb[a]).filter(|&c| c < t.shape[a])).collect())
            .collect();
        gather_axes(cx, &x, &t.shape, &maps, 0.0f32)?
    };
    let n = cx.count(&geo.out)?;
    let mut y = cx.zeros(n)?;
    let in_strides = strides(&geo.padded);
    // Position of each axis in `axes` (None when not interpolated).
    let axis_slot: Vec<Option<usize>> = (0..rank).map(|ax| geo.axes.iter().position(|&q| q == ax)).collect();
    let out_strides = strides(&geo.out);
    let coord_of = |flat: usize, c: &mut [usize; MAX_RANK]| {
        for a in 0..rank {
            c[a] = (flat / out_strides[a]) % geo.out[a].max(1);
        }
    };
    match mode {
        "linear" => {
            // linear_func: triangle filter; with antialias and a downscale, stretched by the scale.
            let k = geo.axes.len();
            let downsample = geo.scales.iter().any(|&s| s < 1.0);
            let aa = antialias && downsample;
            let a: Vec<f32> = geo.scales.iter().map(|&s| if aa { s } else { 1.0 }).collect();
            let mut prod_a = 1.0f32;
            for &v in &a {
                prod_a *= v;
            }
            let r: Vec<i64> =
                (0..k).map(|i| if geo.scales[i] > 1.0 { 2 } else { (2.0f32 / a[i]).ceil() as i64 }).collect();
            let taps: Vec<usize> = r.iter().map(|&r| (2 * r + 1).max(0) as usize).collect();
            let ntaps = cx.count(&taps)?;
            y.par_iter_mut().enumerate().with_min_len(64).for_each(|(o, yv)| {
                let mut oc = [0usize; MAX_RANK];
                coord_of(o, &mut oc);
                let mut ic = [0.0f32; MAX_RANK];
                let mut icr = [0i64; MAX_RANK];
                for i in 0..k {
                    ic[i] = geo.in_coord(i, oc[geo.axes[i]]);
                    icr[i] = ic[i].round() as i64;
                }
                let (mut summa, mut wsum) = (0.0f32, 0.0f32);
                let mut idx = [0usize; MAX_RANK];
                for _ in 0..ntaps {
                    let mut inside = true;
                    let mut pos = 0usize;
                    let mut w = prod_a;
                    let mut coords = [0i64; MAX_RANK];
                    for i in 0..k {
                        let c = idx[i] as i64 + icr[i] - r[i];
                        coords[i] = c;
                        inside &= c >= 0 && (c as usize) < geo.padded[geo.axes[i]];
                    }
                    if inside {
                        for i in 0..k {
                            let dz = ic[i] - coords[i] as f32;
                            let t = 1.0f32 - (a[i] * dz).abs();
                            let tri = if 0.0 < t { t } else { 0.0 };
                            w *= tri;
                        }
                        for ax in 0..rank {
                            let c = match axis_slot[ax] {
                                Some(i) => coords[i] as usize,
                                None => oc[ax],
                            };
                            pos += c * in_strides[ax];
                        }
                        wsum += w;
                        summa += w * xp[pos];
                    }
                    // Next tap, row-major over the interpolated axes.
                    for i in (0..k).rev() {
                        idx[i] += 1;
                        if idx[i] < taps[i] {
                            break;
                        }
                        idx[i] = 0;
                    }
                }
                *yv = if wsum == 0.0 { 0.0 } else { summa / wsum };
            });
        }
        "linear_onnx" => {
            let all: Vec<usize> = (0..rank).collect();
            let spatial: Vec<usize> = (2.min(rank)..rank).collect();
            if !(rank >= 2 && (geo.axes == all || (rank >= 4 && geo.axes == spatial))) {
                return Err(cx.err(format!("linear_onnx: axes {:?} are not correct for rank {rank}", geo.axes)));
            }
            let first = if rank >= 4 { 2 } else { 0 };
            if (0..first).any(|a| geo.padded[a] != geo.out[a]) {
                return Err(cx.err("linear_onnx: batch and channel axes must keep their size"));
            }
            let sp: Vec<usize> = (first..rank).collect();
            let k = sp.len();
            y.par_iter_mut().enumerate().with_min_len(64).for_each(|(o, yv)| {
                let mut oc = [0usize; MAX_RANK];
                coord_of(o, &mut oc);
                let (mut i1, mut i2) = ([0usize; MAX_RANK], [0usize; MAX_RANK]);
                let (mut d1, mut d2) = ([0.0f32; MAX_RANK], [0.0f32; MAX_RANK]);
                for (j, &ax) in sp.iter().enumerate() {
                    let len = geo.padded[ax];
                    let i = axis_slot[ax].unwrap_or(0);
                    let c = geo.in_coord(i, oc[ax]);
                    // std::max(0.0f, std::min(c, len − 1)).
                    let hi = (len as i64 - 1) as f32;
                    let m = if hi < c { hi } else { c };
                    let c = if 0.0 < m { m } else { 0.0 };
                    let a1 = (c as i64).min(len as i64 - 1).max(0) as usize;
                    let a2 = (a1 + 1).min(len.saturating_sub(1));
                    i1[j] = a1;
                    i2[j] = a2;
                    if a1 == a2 {
                        d1[j] = 0.5;
                        d2[j] = 0.5;
                    } else {
                        d1[j] = (c - a1 as f32).abs();
                        d2[j] = (c - a2 as f32).abs();
                    }
                }
                let corners = 1usize << k;
                let mut sum = 0.0f32;
                for nn in 0..corners {
                    // The weight of corner `nn` multiplies the value at the opposite corner.
                    let mut coeff = 1.0f32;
                    for j in 0..k {
                        coeff *= if nn & (1 << (k - 1 - j)) != 0 { d1[j] } else { d2[j] };
                    }
                    let p = corners - 1 - nn;
                    let mut pos = 0usize;
                    for ax in 0..rank {
                        let c = match ax.checked_sub(first) {
                            Some(j) => {
                                if p & (1 << (k - 1 - j)) != 0 {
                                    i1[j]
                                } else {
                                    i2[j]
                                }
                            }
                            None => oc[ax],
                        };
                        pos += c * in_strides[ax];
                    }
                    sum += coeff * xp[pos];
                }
                *yv = sum;
            });
        }
        _ => {
            // cubic_func: Keys weights per axis, 4 taps each, clamped to the axis.
            let k = geo.axes.len();
            let ntaps = cx.count(&vec![4; k])?;
            y.par_iter_mut().enumerate().with_min_len(64).for_each(|(o, yv)| {
                let mut oc = [0usize; MAX_RANK];
                coord_of(o, &mut oc);
                let mut base = [0i64; MAX_RANK];
                let mut coeffs = [[0.0f32; 4]; MAX_RANK];
                for i in 0..k {
                    let c = geo.in_coord(i, oc[geo.axes[i]]);
                    let b = c.floor() as i64;
                    base[i] = b;
                    coeffs[i] = cubic_coeffs(c - b as f32, cube);
                }
                let mut idx = [0usize; MAX_RANK];
                let mut sum = 0.0f32;
                for _ in 0..ntaps {
                    let mut w = 1.0f32;
                    let mut pos = 0usize;
                    let mut cc = oc;
                    for i in 0..k {
                        let ax = geo.axes[i];
                        let c = (base[i] + idx[i] as i64 - 1).min(geo.padded[ax] as i64 - 1).max(0);
                        cc[ax] = c as usize;
                        w *= coeffs[i][idx[i]];
                    }
                    for ax in 0..rank {
                        pos += cc[ax] * in_strides[ax];
                    }
                    sum += w * xp[pos];
                    for i in (0..k).rev() {
                        idx[i] += 1;
                        if idx[i] < 4 {
                            break;
                        }
                        idx[i] = 0;
                    }
                }
                *yv = sum;
            });
        }
    }
    Ok(vec![cx.f32_tensor(geo.out.clone(), y)?])
}

/// Keys' cubic convolution weights for fractional offset `s` and coefficient `a`, in the f32
/// operation order of `InterpolateEvalHelper::get_cubic_coeff`.
fn cubic_coeffs(s: f32, a: f32) -> [f32; 4] {
    let t = s.abs();
    let (p1, m1, m2) = (t + 1.0, 1.0 - t, 2.0 - t);
    [
        ((a * p1 - 5.0 * a) * p1 + 8.0 * a) * p1 - 4.0 * a,
        ((a + 2.0) * t - (a + 3.0)) * t * t + 1.0,
        ((a + 2.0) * m1 - (a + 3.0)) * m1 * m1 + 1.0,
        ((a * m2 - 5.0 * a) * m2 + 8.0 * a) * m2 - 4.0 * a,
    ]
}
