//! Spatial geometry of Convolution, GroupConvolution and pooling: resolving `auto_pad` into explicit
//! pads and computing output sizes, as OpenVINO's shape inference does
//! (`src/core/shape_inference/include/convolution_shape_inference_util.hpp`, opset1 specs).

/// The `auto_pad` attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AutoPad {
    /// `explicit` or `notset`: use `pads_begin`/`pads_end` as given.
    Explicit,
    /// `same_upper`: output = ceil(in / stride); an odd total pad puts the extra one at the end.
    SameUpper,
    /// `same_lower`: like same_upper, the extra one at the beginning.
    SameLower,
    /// `valid`: no padding.
    Valid,
}

impl AutoPad {
    /// Parses the attribute text (absent means explicit).
    pub fn parse(s: Option<&str>) -> Option<AutoPad> {
        match s.map(str::trim) {
            None | Some("explicit") | Some("notset") | Some("") => Some(AutoPad::Explicit),
            Some("same_upper") => Some(AutoPad::SameUpper),
            Some("same_lower") => Some(AutoPad::SameLower),
            Some("valid") => Some(AutoPad::Valid),
            _ => None,
        }
    }
}

/// Resolved geometry of a sliding-window op over `n` spatial axes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    /// Window (kernel) size per axis.
    pub kernel: Vec<usize>,
    /// Strides per axis.
    pub strides: Vec<usize>,
    /// Dilations per axis.
    pub dilations: Vec<usize>,
    /// Resolved padding at the beginning of each axis.
    pub pads_begin: Vec<usize>,
    /// Resolved padding at the end of each axis.
    pub pads_end: Vec<usize>,
    /// Input spatial sizes.
    pub input: Vec<usize>,
    /// Output spatial sizes.
    pub output: Vec<usize>,
}

impl Window {
    /// Convolution geometry: `out = floor((in + pb + pe − dil·(k−1) − 1) / stride) + 1`; for
    /// `same_*`, `out = ceil(in / stride)` and the total pad `max(0, (out−1)·stride + dil·(k−1) + 1 − in)`
    /// split as the spec says; `valid` uses zero pads. Errors are messages for the caller to attach
    /// to the layer.
    pub fn convolution(
        input: &[usize],
        kernel: &[usize],
        strides: &[usize],
        dilations: &[usize],
        pads_begin: &[usize],
        pads_end: &[usize],
        auto_pad: AutoPad,
    ) -> Result<Window, String> {
        let n = input.len();
        for (name, v) in [("kernel", kernel), ("strides", strides), ("dilations", dilations)] {
            if v.len() != n {
                return Err(format!("{name} has {} values for {n} spatial axes", v.len()));
            }
        }
        if strides.contains(&0) || dilations.contains(&0) {
            return Err("strides and dilations must be positive".into());
        }
        let (mut pb, mut pe) = (vec![0; n], vec![0; n]);
        if auto_pad == AutoPad::Explicit {
            if pads_begin.len() != n || pads_end.len() != n {
                return Err(format!("pads_begin/pads_end need {n} values"));
            }
            pb.copy_from_slice(pads_begin);
            pe.copy_from_slice(pads_end);
        }
        let mut output = vec![0; n];
        for a in 0..n {
            let eff = dilations[a]
                .checked_mul(kernel[a].saturating_sub(1))
                .and_then(|v| v.checked_add(1))
                .ok_or("kernel extent overflows")?;
            match auto_pad {
                AutoPad::SameUpper | AutoPad::SameLower => {
                    let out = input[a].div_ceil(strides[a]);
                    let need = (out.saturating_sub(1)).saturating_mul(strides[a]).saturating_add(eff);
                    let total = need.saturating_sub(input[a]);
                    let (b, e) = if auto_pad == AutoPad::SameUpper {
                        (total / 2, total - total / 2)
                    } else {
                        (total - total / 2, total / 2)
                    };
                    pb[a] = b;
                    pe[a] = e;
                    output[a] = out;
                }
                AutoPad::Explicit | AutoPad::Valid => {
                    let padded =
                        input[a].checked_add(pb[a]).and_then(|v| v.checked_add(pe[a])).ok_or("padding overflows")?;
                    if padded < eff {
                        return Err(format!(
                            "axis {a}: padded input {padded} is smaller than the dilated kernel {eff}"
                        ));
                    }
                    output[a] = (padded - eff) / strides[a] + 1;
                }
            }
        }
        Ok(Window {
            kernel: kernel.to_vec(),
            strides: strides.to_vec(),
            dilations: dilations.to_vec(),
            pads_begin: pb,
            pads_end: pe,
            input: input.to_vec(),
            output,
        })
    }

    /// The input coordinate of output position `o`, kernel tap `k` on axis `a`, or `None` when the
    /// tap falls into padding.
    #[inline]
    pub fn input_coord(&self, a: usize, o: usize, k: usize) -> Option<usize> {
        let pos = (o * self.strides[a] + k * self.dilations[a]).checked_sub(self.pads_begin[a])?;
        (pos < self.input[a]).then_some(pos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_asymmetric_pads() {
        // corpus conv_s2_asympad_relu: 15x15, k3, s2, pads begin (1,0) end (0,1) -> 7x7 (from its manifest).
        let w = Window::convolution(&[15, 15], &[3, 3], &[2, 2], &[1, 1], &[1, 0], &[0, 1], AutoPad::Explicit)
            .expect("valid");
        assert_eq!(w.output, vec![7, 7]);
        assert_eq!(w.input_coord(0, 0, 0), None); // first row tap lands in the top pad
        assert_eq!(w.input_coord(1, 0, 0), Some(0));
    }

    #[test]
    fn same_upper_puts_the_odd_pad_at_the_end() {
        // in 10, k3, s2: out = 5; total = (5-1)*2 + 3 - 10 = 1 -> begin 0, end 1.
        let w = Window::convolution(&[10], &[3], &[2], &[1], &[], &[], AutoPad::SameUpper).expect("valid");
        assert_eq!((w.output[0], w.pads_begin[0], w.pads_end[0]), (5, 0, 1));
        let w = Window::convolution(&[10], &[3], &[2], &[1], &[], &[], AutoPad::SameLower).expect("valid");
        assert_eq!((w.pads_begin[0], w.pads_end[0]), (1, 0));
    }

    #[test]
    fn dilation_and_valid() {
        // in 12, k3 dil 2 (extent 5), same_upper s1: out 12, total 4 -> 2/2.
        let w = Window::convolution(&[12], &[3], &[1], &[2], &[], &[], AutoPad::SameUpper).expect("valid");
        assert_eq!((w.output[0], w.pads_begin[0], w.pads_end[0]), (12, 2, 2));
        let w =
            Window::convolution(&[11, 9], &[3, 2], &[1, 1], &[1, 1], &[5, 5], &[5, 5], AutoPad::Valid).expect("valid");
        assert_eq!(w.output, vec![9, 8]);
        assert!(Window::convolution(&[2], &[3], &[1], &[1], &[0], &[0], AutoPad::Explicit).is_err());
    }
}
