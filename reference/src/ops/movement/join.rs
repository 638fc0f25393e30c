//! Concat-1 and VariadicSplit-1: joining tensors along an axis and cutting one apart.

use super::data::{checked_count, concat_flat, input, int_scalar, int_values, norm_axis, take, tensor_like};
use crate::error::{op_err, RefError};
use conform_ir::{Node, Tensor};

/// Concat-1: inputs joined along `axis` (negative counts from the end); every other dimension and
/// the element type must agree.
pub fn concat(node: &Node, inputs: &[&Tensor]) -> Result<Tensor, RefError> {
    let first = input(node, inputs, 0)?;
    let rank = first.shape.len();
    let axis = norm_axis(node, node.attr_i64("axis")?, rank)?;
    let mut out_shape = first.shape.clone();
    out_shape[axis] = 0;
    for (k, t) in inputs.iter().enumerate() {
        let same_other_dims = t.shape.len() == rank
            && t.shape.iter().zip(&first.shape).enumerate().all(|(i, (a, b))| i == axis || a == b);
        if !same_other_dims || t.element_type != first.element_type {
            return Err(op_err(
                node,
                format!(
                    "Concat: input {k} ({} {:?}) does not fit input 0 ({} {:?}) on axis {axis}",
                    t.element_type, t.shape, first.element_type, first.shape
                ),
            ));
        }
        out_shape[axis] += t.shape[axis];
    }
    checked_count(node, &out_shape)?;
    // The output is, for each outer index, the rows of input 0, then input 1, ... along the axis.
    let outer: usize = first.shape[..axis].iter().product();
    let inner: usize = first.shape[axis + 1..].iter().product();
    let datas: Vec<&_> = inputs.iter().map(|t| &t.data).collect();
    let flat = concat_flat(&datas).ok_or_else(|| op_err(node, "Concat: inputs hold different element types"))?;
    let mut offsets = Vec::with_capacity(inputs.len());
    let mut acc = 0;
    for t in inputs {
        offsets.push(acc);
        acc += t.len();
    }
    let mut idx = Vec::with_capacity(acc);
    for o in 0..outer {
        for (t, &off) in inputs.iter().zip(&offsets) {
            let block = t.shape[axis] * inner;
            idx.extend(off + o * block..off + (o + 1) * block);
        }
    }
    tensor_like(node, first, out_shape, take(&flat, &idx))
}

/// VariadicSplit-1: splits input 0 along `axis` (input 1, negative counts from the end) into
/// pieces of `split_lengths` (input 2), where one −1 takes the remainder.
pub fn variadic_split(node: &Node, inputs: &[&Tensor]) -> Result<Vec<Tensor>, RefError> {
    let x = input(node, inputs, 0)?;
    let rank = x.shape.len();
    let axis = norm_axis(node, int_scalar(node, input(node, inputs, 1)?, "VariadicSplit axis")?, rank)?;
    let lengths = int_values(node, input(node, inputs, 2)?, "VariadicSplit split_lengths")?;
    let dim = x.shape[axis];
    let mut minus_one = None;
    let mut known: usize = 0;
    for (i, &l) in lengths.iter().enumerate() {
        if l == -1 {
            if minus_one.replace(i).is_some() {
                return Err(op_err(node, "VariadicSplit: more than one -1 in split_lengths"));
            }
        } else {
            let l = usize::try_from(l).map_err(|_| op_err(node, format!("VariadicSplit: length {l} is negative")))?;
            known = known.saturating_add(l);
        }
    }
    let rest = dim.checked_sub(known).ok_or_else(|| {
        op_err(node, format!("VariadicSplit: lengths {lengths:?} exceed dimension {dim} of axis {axis}"))
    })?;
    if minus_one.is_none() && rest != 0 {
        return Err(op_err(node, format!("VariadicSplit: lengths {lengths:?} do not sum to dimension {dim}")));
    }
    let sizes: Vec<usize> = lengths.iter().map(|&l| if l == -1 { rest } else { l as usize }).collect();
    let outer: usize = x.shape[..axis].iter().product();
    let inner: usize = x.shape[axis + 1..].iter().product();
    let mut outs = Vec::with_capacity(sizes.len());
    let mut start = 0;
    for &s in &sizes {
        let mut idx = Vec::with_capacity(outer * s * inner);
        for o in 0..outer {
            let base = (o * dim + start) * inner;
            idx.extend(base..base + s * inner);
        }
        let mut shape = x.shape.clone();
        shape[axis] = s;
        outs.push(tensor_like(node, x, shape, take(&x.data, &idx))?);
        start += s;
    }
    Ok(outs)
}
