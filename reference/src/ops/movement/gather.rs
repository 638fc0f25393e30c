//! Gather-8: picks slices of `data` along `axis` at `indices`, with leading batch dimensions.
//!
//! Spec (Gather-8): output shape `data.shape[:axis] + indices.shape[batch_dims:] +
//! data.shape[axis+1:]`; negative indices count from the end of the axis; an index still out of
//! range after that yields zeros. `batch_dims` (negative counts from the rank of `indices`) leading
//! dimensions are shared by `data` and `indices` and must be ≤ axis.

use super::data::{checked_count, input, int_scalar, int_values, norm_axis, take_or_fill, tensor_like, zero_like};
use crate::error::{op_err, RefError};
use conform_ir::{Node, Tensor};

/// Evaluates Gather-8.
pub fn gather(node: &Node, inputs: &[&Tensor]) -> Result<Tensor, RefError> {
    let data = input(node, inputs, 0)?;
    let indices_t = input(node, inputs, 1)?;
    let indices = int_values(node, indices_t, "Gather indices")?;
    let rank = data.shape.len();
    let axis = norm_axis(node, int_scalar(node, input(node, inputs, 2)?, "Gather axis")?, rank)?;
    let bd_raw = node.attr_parse_or::<i64>("batch_dims", 0, "an integer")?;
    let ind_rank = indices_t.shape.len() as i64;
    let bd = if bd_raw < 0 { bd_raw + ind_rank } else { bd_raw };
    let bd = usize::try_from(bd)
        .ok()
        .filter(|&b| b <= axis && b <= indices_t.shape.len())
        .ok_or_else(|| op_err(node, format!("Gather: batch_dims {bd_raw} is out of range (axis {axis})")))?;
    if data.shape[..bd] != indices_t.shape[..bd] {
        return Err(op_err(
            node,
            format!("Gather: batch dimensions differ: data {:?}, indices {:?}", data.shape, indices_t.shape),
        ));
    }
    let mut out_shape: Vec<usize> = data.shape[..axis].to_vec();
    out_shape.extend_from_slice(&indices_t.shape[bd..]);
    out_shape.extend_from_slice(&data.shape[axis + 1..]);
    let count = checked_count(node, &out_shape)?;

    let batch: usize = data.shape[..bd].iter().product();
    let outer: usize = data.shape[bd..axis].iter().product();
    let axis_dim = data.shape[axis];
    let inner: usize = data.shape[axis + 1..].iter().product();
    let per_batch: usize = indices_t.shape[bd..].iter().product();
    let mut pos: Vec<Option<usize>> = Vec::with_capacity(count);
    for b in 0..batch {
        for o in 0..outer {
            for j in 0..per_batch {
                let raw = indices[b * per_batch + j];
                let i = if raw < 0 { raw + axis_dim as i64 } else { raw };
                let valid = usize::try_from(i).ok().filter(|&i| i < axis_dim);
                for k in 0..inner {
                    pos.push(valid.map(|i| ((b * outer + o) * axis_dim + i) * inner + k));
                }
            }
        }
    }
    let fill = zero_like(&data.data);
    let out = take_or_fill(&data.data, &pos, &fill).ok_or_else(|| op_err(node, "Gather: internal type mismatch"))?;
    tensor_like(node, data, out_shape, out)
}
