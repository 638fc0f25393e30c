//! Slice-8: numpy-style `start:stop:step` slicing on chosen axes.
//!
//! Spec (Slice-8): for each sliced axis of size `d`, negative `start`/`stop` have `d` added; then,
//! for `step > 0`, both are clamped to `[0, d]` and the coordinates are `start, start+step, … <
//! stop`; for `step < 0`, both are clamped to `[-1, d-1]` and the coordinates are `start,
//! start+step, … > stop`. `step` 0 is an error. `axes` (optional; negative counts from the end)
//! names the axis of each entry, default `0..len(start)`; unnamed axes are kept whole.

use super::data::{checked_count, input, int_values, norm_axis, per_axis_positions, take, tensor_like};
use crate::error::{op_err, RefError};
use conform_ir::{Node, Tensor};

/// The input coordinates one axis of size `d` keeps for `start:stop:step` (spec clamping above).
pub fn slice_coords(d: usize, start: i64, stop: i64, step: i64) -> Vec<usize> {
    let d = d as i64;
    let norm = |v: i64| if v < 0 { v.saturating_add(d) } else { v };
    let mut out = Vec::new();
    if step > 0 {
        let (mut s, e) = (norm(start).clamp(0, d), norm(stop).clamp(0, d));
        while s < e {
            out.push(s as usize);
            s = s.saturating_add(step);
        }
    } else if step < 0 {
        let (mut s, e) = (norm(start).clamp(-1, d - 1), norm(stop).clamp(-1, d - 1));
        while s > e {
            out.push(s as usize);
            s = s.saturating_add(step);
        }
    }
    out
}

/// Evaluates Slice-8.
pub fn slice(node: &Node, inputs: &[&Tensor]) -> Result<Tensor, RefError> {
    let x = input(node, inputs, 0)?;
    let rank = x.shape.len();
    let start = int_values(node, input(node, inputs, 1)?, "Slice start")?;
    let stop = int_values(node, input(node, inputs, 2)?, "Slice stop")?;
    let step = int_values(node, input(node, inputs, 3)?, "Slice step")?;
    if start.len() != stop.len() || start.len() != step.len() {
        return Err(op_err(node, "Slice: start, stop and step differ in length"));
    }
    let axes: Vec<usize> = match inputs.get(4) {
        Some(a) => {
            let v = int_values(node, a, "Slice axes")?;
            if v.len() != start.len() {
                return Err(op_err(node, "Slice: axes and start differ in length"));
            }
            v.iter().map(|&a| norm_axis(node, a, rank)).collect::<Result<_, _>>()?
        }
        None => {
            if start.len() > rank {
                return Err(op_err(node, format!("Slice: {} entries for rank {rank}", start.len())));
            }
            (0..start.len()).collect()
        }
    };
    let mut per_axis: Vec<Vec<Option<usize>>> = x.shape.iter().map(|&d| (0..d).map(Some).collect()).collect();
    let mut seen = vec![false; rank];
    for (k, &ax) in axes.iter().enumerate() {
        if std::mem::replace(&mut seen[ax], true) {
            return Err(op_err(node, format!("Slice: axis {ax} appears twice")));
        }
        if step[k] == 0 {
            return Err(op_err(node, "Slice: step 0"));
        }
        per_axis[ax] = slice_coords(x.shape[ax], start[k], stop[k], step[k]).into_iter().map(Some).collect();
    }
    let out_shape: Vec<usize> = per_axis.iter().map(Vec::len).collect();
    checked_count(node, &out_shape)?;
    let idx: Vec<usize> = per_axis_positions(&x.shape, &per_axis).into_iter().flatten().collect();
    tensor_like(node, x, out_shape, take(&x.data, &idx))
}
