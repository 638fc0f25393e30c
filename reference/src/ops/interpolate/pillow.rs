//! The Pillow-compatible modes of Interpolate-11 (`bilinear_pillow`, `bicubic_pillow`), as
//! `ov::reference::interpolate_pil` (`reference/interpolate_pil.hpp`, a port of Pillow 9.4's
//! `Resample.c`) computes them: exactly two axes (H = `axes[0]`, W = `axes[1]`), every other axis
//! a batch of independent 2-D images; a horizontal pass then a vertical pass, each accumulated in
//! f64 with its result stored in the data type (f32 rounding in between).
//!
//! Per output index `o` of an axis resized from `n` to `m` (`precompute_coeffs`), in f64:
//! `scale = n/m`, `fs = max(scale, 1)`, `support = filter_support·fs` (bilinear 1, bicubic 2),
//! `center = (o + 0.5)·scale`, taps from `xmin = trunc(center − support + 0.5)` (≥ 0) up to
//! `trunc(center + support + 0.5)` (≤ n), weights `filter((x + xmin − center + 0.5)/fs)`
//! normalized by their sum (unless it is 0). A pass is skipped when its axis keeps its size.
//! Filters: bilinear `max(0, 1 − |x|)`; bicubic (a = `cube_coeff`) `((a+2)|x| − (a+3))x² + 1`
//! for |x| < 1, `(((|x| − 5)|x| + 8)|x| − 4)·a` for |x| < 2, else 0.

/// Which Pillow filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filter {
    Bilinear,
    Bicubic,
}

impl Filter {
    fn support(self) -> f64 {
        match self {
            Filter::Bilinear => 1.0,
            Filter::Bicubic => 2.0,
        }
    }

    fn weight(self, x: f64, a: f64) -> f64 {
        let x = if x < 0.0 { -x } else { x };
        match self {
            Filter::Bilinear => {
                if x < 1.0 {
                    1.0 - x
                } else {
                    0.0
                }
            }
            Filter::Bicubic => {
                if x < 1.0 {
                    ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0
                } else if x < 2.0 {
                    (((x - 5.0) * x + 8.0) * x - 4.0) * a
                } else {
                    0.0
                }
            }
        }
    }
}

/// Per output index: first input tap and the normalized weights.
fn precompute(n: usize, m: usize, filter: Filter, a: f64) -> Vec<(usize, Vec<f64>)> {
    // (double)(in1 − in0) / out_size, with in1 − in0 = f32(n) − 0.
    let scale = f64::from(n as f32) / m as f64;
    let fs = if scale < 1.0 { 1.0 } else { scale };
    let support = filter.support() * fs;
    let ss = 1.0 / fs;
    (0..m)
        .map(|o| {
            let center = (o as f64 + 0.5) * scale;
            let xmin = ((center - support + 0.5) as i64).max(0);
            let xmax = ((center + support + 0.5) as i64).min(n as i64);
            let count = usize::try_from(xmax - xmin).unwrap_or(0);
            let mut w: Vec<f64> =
                (0..count).map(|x| filter.weight((x as f64 + xmin as f64 - center + 0.5) * ss, a)).collect();
            let ww: f64 = w.iter().fold(0.0, |s, &v| s + v);
            if ww != 0.0 {
                for v in &mut w {
                    *v /= ww;
                }
            }
            (xmin as usize, w)
        })
        .collect()
}

/// Resamples one `[h, w]` image to `[oh, ow]`; `store` rounds a pass's f64 result to the data
/// type (f32, f16, ...), as OpenVINO stores each pass in `T`.
#[allow(clippy::too_many_arguments)]
pub fn resample(
    img: &[f64],
    h: usize,
    w: usize,
    oh: usize,
    ow: usize,
    filter: Filter,
    a: f64,
    store: &dyn Fn(f64) -> f64,
) -> Vec<f64> {
    let need_h = ow != w;
    let need_v = oh != h;
    if !need_h && !need_v {
        return img.to_vec();
    }
    let ch = precompute(w, ow, filter, a);
    let cv = precompute(h, oh, filter, a);
    // The rows the vertical pass reads: from the first output row's first tap to the last's end.
    let first = cv.first().map_or(0, |t| t.0);
    let last = cv.last().map_or(0, |t| t.0 + t.1.len());
    let (tmp, row0) = if need_h {
        let rows = last.saturating_sub(first);
        let mut tmp = vec![0f64; rows * ow];
        for yy in 0..rows {
            for (xx, (xmin, k)) in ch.iter().enumerate() {
                let mut s = 0.0f64;
                for (x, &kx) in k.iter().enumerate() {
                    s += img[(yy + first) * w + x + xmin] * kx;
                }
                tmp[yy * ow + xx] = store(s);
            }
        }
        (tmp, first)
    } else {
        (img.to_vec(), 0)
    };
    if !need_v {
        return tmp;
    }
    let mut out = vec![0f64; oh * ow];
    for (yy, (ymin, k)) in cv.iter().enumerate() {
        let ymin = ymin - row0;
        for xx in 0..ow {
            let mut s = 0.0f64;
            for (y, &ky) in k.iter().enumerate() {
                s += tmp[(y + ymin) * ow + xx] * ky;
            }
            out[yy * ow + xx] = store(s);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_when_sizes_are_kept() {
        let img = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(resample(&img, 2, 2, 2, 2, Filter::Bilinear, -0.5, &|v| v), img.to_vec());
    }
}
