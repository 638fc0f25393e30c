//! Ops that only re-describe or permute the element order: Reshape-1, Squeeze-1, Transpose-1.

use super::data::{checked_count, input, int_values, norm_axis, strides, take, tensor_like, to_dim};
use crate::error::{op_err, RefError};
use conform_ir::{Node, Tensor};

/// Reshape-1: the target shape from input 1; with `special_zero=true` a 0 copies the input's
/// dimension at the same index, and one −1 takes whatever makes the element counts equal.
pub fn reshape(node: &Node, inputs: &[&Tensor]) -> Result<Tensor, RefError> {
    let x = input(node, inputs, 0)?;
    let target = int_values(node, input(node, inputs, 1)?, "Reshape shape")?;
    let special_zero = node.attr_bool_or("special_zero", false)?;
    let mut dims: Vec<Option<usize>> = Vec::with_capacity(target.len());
    let mut minus_one = None;
    for (i, &t) in target.iter().enumerate() {
        match t {
            -1 => {
                if minus_one.replace(i).is_some() {
                    return Err(op_err(node, "Reshape: more than one -1 in the target shape"));
                }
                dims.push(None);
            }
            0 if special_zero => {
                let d = x.shape.get(i).copied().ok_or_else(|| {
                    op_err(
                        node,
                        format!("Reshape: special_zero copies dimension {i}, the input has rank {}", x.shape.len()),
                    )
                })?;
                dims.push(Some(d));
            }
            v => dims.push(Some(to_dim(node, v, "Reshape")?)),
        }
    }
    let known: Vec<usize> = dims.iter().flatten().copied().collect();
    let known_count = checked_count(node, &known)?;
    let total = x.len();
    let out: Vec<usize> = match minus_one {
        Some(pos) => {
            if known_count == 0 || total % known_count != 0 {
                return Err(op_err(node, format!("Reshape: cannot infer -1 for {} elements into {target:?}", total)));
            }
            let mut out: Vec<usize> = dims.iter().map(|d| d.unwrap_or(0)).collect();
            out[pos] = total / known_count;
            out
        }
        None => known,
    };
    if checked_count(node, &out)? != total {
        return Err(op_err(node, format!("Reshape: {:?} ({} elements) cannot become {out:?}", x.shape, total)));
    }
    tensor_like(node, x, out, x.data.clone())
}

/// Squeeze-1: removes the given size-1 axes (negative axes count from the end), or every size-1
/// axis when the axes input is absent or empty.
pub fn squeeze(node: &Node, inputs: &[&Tensor]) -> Result<Tensor, RefError> {
    let x = input(node, inputs, 0)?;
    let rank = x.shape.len();
    let axes = match inputs.get(1) {
        Some(a) => int_values(node, a, "Squeeze axes")?,
        None => Vec::new(),
    };
    let mut remove = vec![false; rank];
    if axes.is_empty() {
        for (r, &d) in remove.iter_mut().zip(&x.shape) {
            *r = d == 1;
        }
    } else {
        for &a in &axes {
            let ax = norm_axis(node, a, rank)?;
            if x.shape[ax] != 1 {
                return Err(op_err(
                    node,
                    format!("Squeeze: axis {a} has size {}, only size-1 axes can be removed", x.shape[ax]),
                ));
            }
            remove[ax] = true;
        }
    }
    let out: Vec<usize> = x.shape.iter().zip(&remove).filter(|(_, &r)| !r).map(|(&d, _)| d).collect();
    tensor_like(node, x, out, x.data.clone())
}

/// Transpose-1: `out[i_0..i_n] = x[...]` with output axis k taken from input axis `order[k]`;
/// an empty order reverses the axes.
pub fn transpose(node: &Node, inputs: &[&Tensor]) -> Result<Tensor, RefError> {
    let x = input(node, inputs, 0)?;
    let rank = x.shape.len();
    let order_raw = int_values(node, input(node, inputs, 1)?, "Transpose order")?;
    let order: Vec<usize> = if order_raw.is_empty() {
        (0..rank).rev().collect()
    } else {
        if order_raw.len() != rank {
            return Err(op_err(node, format!("Transpose: order {order_raw:?} does not fit rank {rank}")));
        }
        order_raw.iter().map(|&a| norm_axis(node, a, rank)).collect::<Result<_, _>>()?
    };
    let mut seen = vec![false; rank];
    for &a in &order {
        if std::mem::replace(&mut seen[a], true) {
            return Err(op_err(node, format!("Transpose: order {order_raw:?} is not a permutation")));
        }
    }
    let out_shape: Vec<usize> = order.iter().map(|&a| x.shape[a]).collect();
    let in_strides = strides(&x.shape);
    // Input stride of each output axis; walk the output in row-major order.
    let walk: Vec<usize> = order.iter().map(|&a| in_strides[a]).collect();
    let idx = strided_walk(&out_shape, &walk, 0);
    tensor_like(node, x, out_shape, take(&x.data, &idx))
}

/// Flat input positions visited when walking `shape` in row-major order, starting at `base`,
/// moving by `step[k]` along axis k.
pub fn strided_walk(shape: &[usize], step: &[usize], base: usize) -> Vec<usize> {
    let count: usize = shape.iter().product();
    let mut out = Vec::with_capacity(count);
    if count == 0 {
        return out;
    }
    let rank = shape.len();
    let mut coord = vec![0usize; rank];
    let mut pos = base;
    for _ in 0..count {
        out.push(pos);
        // Increment the row-major coordinate, adjusting the position.
        for ax in (0..rank).rev() {
            coord[ax] += 1;
            pos += step[ax];
            if coord[ax] < shape[ax] {
                break;
            }
            pos -= step[ax] * shape[ax];
            coord[ax] = 0;
        }
    }
    out
}
