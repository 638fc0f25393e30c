//! StridedSlice-1.
//!
//! Spec (StridedSlice-1): inputs data, begin, end, optional stride (default 1). Entry `i` of
//! begin/end/stride applies to one input axis, except where masks say otherwise (a mask value of
//! 1 sets the flag; masks shorter than `begin` are padded with 0):
//! - `begin_mask[i] = 1`: begin is ignored (the axis starts at its first element in the stride's
//!   direction); `end_mask[i] = 1`: end is ignored (the slice runs to the axis end);
//! - `new_axis_mask[i] = 1`: a new size-1 output axis, no input axis consumed;
//! - `shrink_axis_mask[i] = 1`: the axis is indexed by `begin[i]` (negative counts from the end)
//!   and removed from the output;
//! - `ellipsis_mask[i] = 1`: stands for as many full input axes as the other entries leave.
//!
//! Input axes not covered by any entry are kept whole. Clamping of begin/end is Slice-8's (see
//! [`super::slice::slice_coords`]).

use super::data::{checked_count, input, int_values, per_axis_positions, take, tensor_like};
use super::slice::slice_coords;
use crate::error::{op_err, RefError};
use conform_ir::{Node, Tensor};

fn mask(node: &Node, name: &str) -> Result<Vec<bool>, RefError> {
    match node.attr(name) {
        None => Ok(Vec::new()),
        Some(_) => Ok(node.attr_i64_list(name)?.iter().map(|&v| v != 0).collect()),
    }
}

/// Evaluates StridedSlice-1.
pub fn strided_slice(node: &Node, inputs: &[&Tensor]) -> Result<Tensor, RefError> {
    let x = input(node, inputs, 0)?;
    let begin = int_values(node, input(node, inputs, 1)?, "StridedSlice begin")?;
    let end = int_values(node, input(node, inputs, 2)?, "StridedSlice end")?;
    let n = begin.len();
    let stride = match inputs.get(3) {
        Some(s) => int_values(node, s, "StridedSlice stride")?,
        None => vec![1; n],
    };
    if end.len() != n || stride.len() != n {
        return Err(op_err(node, "StridedSlice: begin, end and stride differ in length"));
    }
    let (bm, em, nm, sm, elm) = (
        mask(node, "begin_mask")?,
        mask(node, "end_mask")?,
        mask(node, "new_axis_mask")?,
        mask(node, "shrink_axis_mask")?,
        mask(node, "ellipsis_mask")?,
    );
    let at = |m: &[bool], i: usize| m.get(i).copied().unwrap_or(false);
    if (0..n).filter(|&i| at(&elm, i)).count() > 1 {
        return Err(op_err(node, "StridedSlice: more than one ellipsis"));
    }
    let rank = x.shape.len();
    // Input axes consumed by entries other than new axes and the ellipsis.
    let consumed = (0..n).filter(|&i| !at(&nm, i) && !at(&elm, i)).count();
    let mut per_axis: Vec<Vec<Option<usize>>> = Vec::with_capacity(rank);
    // Output shape including new axes; shrunk axes are dropped from it.
    let mut out_shape = Vec::new();
    let mut ax = 0usize;
    let full = |d: usize| -> Vec<Option<usize>> { (0..d).map(Some).collect() };
    for i in 0..n {
        if at(&elm, i) {
            let span = rank.checked_sub(consumed).ok_or_else(|| op_err(node, "StridedSlice: too many entries"))?;
            for _ in 0..span {
                let d = x.shape[ax];
                per_axis.push(full(d));
                out_shape.push(d);
                ax += 1;
            }
            continue;
        }
        if at(&nm, i) {
            out_shape.push(1);
            continue;
        }
        let d = *x.shape.get(ax).ok_or_else(|| op_err(node, "StridedSlice: more entries than input axes"))?;
        if at(&sm, i) {
            let b = if begin[i] < 0 { begin[i] + d as i64 } else { begin[i] };
            let b = usize::try_from(b)
                .ok()
                .filter(|&b| b < d)
                .ok_or_else(|| op_err(node, format!("StridedSlice: index {} out of range on axis {ax}", begin[i])))?;
            per_axis.push(vec![Some(b)]);
        } else {
            let s = stride[i];
            if s == 0 {
                return Err(op_err(node, "StridedSlice: stride 0"));
            }
            let b = if at(&bm, i) {
                if s > 0 {
                    0
                } else {
                    i64::MAX
                }
            } else {
                begin[i]
            };
            let e = if at(&em, i) {
                if s > 0 {
                    i64::MAX
                } else {
                    i64::MIN
                }
            } else {
                end[i]
            };
            let coords: Vec<Option<usize>> = slice_coords(d, b, e, s).into_iter().map(Some).collect();
            out_shape.push(coords.len());
            per_axis.push(coords);
        }
        ax += 1;
    }
    while ax < rank {
        per_axis.push(full(x.shape[ax]));
        out_shape.push(x.shape[ax]);
        ax += 1;
    }
    checked_count(node, &out_shape)?;
    let idx: Vec<usize> = per_axis_positions(&x.shape, &per_axis).into_iter().flatten().collect();
    tensor_like(node, x, out_shape, take(&x.data, &idx))
}
