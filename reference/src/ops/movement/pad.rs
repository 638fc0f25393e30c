//! Pad-1 and Pad-12: constant, edge, reflect and symmetric padding; Pad-12 also accepts negative
//! pads, which remove elements.
//!
//! Follows `ov::reference::pad` (`reference/src/op/pad.cpp`): each output coordinate `o` on an
//! axis of size `d` with `pads_begin = pb` reads input coordinate `c = o − pb` when `0 ≤ c < d`;
//! otherwise
//! - constant: the pad value (input 3, default 0);
//! - edge: `clamp(c, 0, d − 1)`;
//! - reflect (`k = 0`) / symmetric (`k = 1`): `f = c ≥ 0 ? c : −c − k`, then
//!   `f < d ? f : 2d − f − 2 + k`, which OpenVINO requires to land inside (`pad − k < d`).
//!
//! The output size on each axis is `pb + d + pe`; it must not be negative.

use super::data::{checked_count, input, int_values, per_axis_positions, take_or_fill, tensor_like, zero_like};
use crate::error::{op_err, RefError};
use conform_ir::{Node, Tensor};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Constant,
    Edge,
    Reflect,
    Symmetric,
}

/// Evaluates Pad (versions 1 and 12; version 1 in OpenVINO also crops on negative pads).
pub fn pad(node: &Node, inputs: &[&Tensor]) -> Result<Tensor, RefError> {
    let x = input(node, inputs, 0)?;
    let rank = x.shape.len();
    let pb = int_values(node, input(node, inputs, 1)?, "Pad pads_begin")?;
    let pe = int_values(node, input(node, inputs, 2)?, "Pad pads_end")?;
    if pb.len() != rank || pe.len() != rank {
        return Err(op_err(node, format!("Pad: pads {pb:?}/{pe:?} do not fit rank {rank}")));
    }
    let mode = match node.attr_required("pad_mode")?.trim() {
        "constant" => Mode::Constant,
        "edge" => Mode::Edge,
        "reflect" => Mode::Reflect,
        "symmetric" => Mode::Symmetric,
        other => return Err(op_err(node, format!("Pad: unknown pad_mode \"{other}\""))),
    };
    let fill = match (mode, inputs.get(3)) {
        (Mode::Constant, Some(v)) => {
            if v.element_type != x.element_type || v.len() != 1 {
                return Err(op_err(node, "Pad: pad_value must be one element of the data's type"));
            }
            v.data.clone()
        }
        _ => zero_like(&x.data),
    };
    let k: i64 = if mode == Mode::Symmetric { 1 } else { 0 };
    // Output sizes first, bounded before anything is allocated.
    let mut out_shape = Vec::with_capacity(rank);
    for ax in 0..rank {
        let d = x.shape[ax] as i64;
        let out_d = pb[ax]
            .checked_add(d)
            .and_then(|v| v.checked_add(pe[ax]))
            .and_then(|v| usize::try_from(v).ok())
            .ok_or_else(|| op_err(node, format!("Pad: axis {ax} would have a negative or huge size")))?;
        if matches!(mode, Mode::Reflect | Mode::Symmetric)
            && (pb[ax].saturating_sub(k) >= d || pe[ax].saturating_sub(k) >= d)
        {
            return Err(op_err(node, format!("Pad: {pb:?}/{pe:?} too large to reflect axis {ax} of size {d}")));
        }
        if mode == Mode::Edge && d == 0 && out_d > 0 {
            return Err(op_err(node, format!("Pad: edge mode cannot pad the empty axis {ax}")));
        }
        out_shape.push(out_d);
    }
    checked_count(node, &out_shape)?;
    let mut per_axis = Vec::with_capacity(rank);
    for (ax, &out_d) in out_shape.iter().enumerate() {
        let d = x.shape[ax] as i64;
        let mut picks = Vec::with_capacity(out_d);
        for o in 0..out_d as i64 {
            let c = o.saturating_sub(pb[ax]);
            let src = if (0..d).contains(&c) {
                Some(c)
            } else {
                match mode {
                    Mode::Constant => None,
                    Mode::Edge => Some(c.clamp(0, d - 1)),
                    Mode::Reflect | Mode::Symmetric => {
                        let f = if c >= 0 { c } else { -c - k };
                        let f = if f < d { f } else { 2 * d - f - 2 + k };
                        if !(0..d).contains(&f) {
                            return Err(op_err(node, format!("Pad: cannot reflect coordinate {c} on axis {ax}")));
                        }
                        Some(f)
                    }
                }
            };
            picks.push(src.map(|c| c as usize));
        }
        per_axis.push(picks);
    }
    let pos = per_axis_positions(&x.shape, &per_axis);
    let out = take_or_fill(&x.data, &pos, &fill).ok_or_else(|| op_err(node, "Pad: pad value type mismatch"))?;
    tensor_like(node, x, out_shape, out)
}
