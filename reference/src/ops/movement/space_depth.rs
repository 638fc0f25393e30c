//! DepthToSpace-1 and SpaceToDepth-1: moving `block_size^k` channel groups into (or out of) the k
//! spatial axes of `[N, C, D1..Dk]`.
//!
//! Spec: with `b = (b1..bk)` the position inside a block (flattened row-major to `f(b)`), DepthToSpace
//! maps output `(n, c', d_i·bs + b_i)` to input channel `f(b)·C' + c'` (`blocks_first`) or
//! `c'·bs^k + f(b)` (`depth_first`) at spatial `(d_i)`; SpaceToDepth is its inverse.

use super::data::{checked_count, input, take, tensor_like};
use crate::error::{op_err, RefError};
use conform_ir::{Node, Tensor};

/// Which layout the channel index uses.
fn blocks_first(node: &Node) -> Result<bool, RefError> {
    match node.attr_required("mode")?.trim() {
        "blocks_first" => Ok(true),
        "depth_first" => Ok(false),
        other => Err(op_err(node, format!("unknown mode \"{other}\""))),
    }
}

fn block_size(node: &Node) -> Result<usize, RefError> {
    usize::try_from(node.attr_u64("block_size")?)
        .ok()
        .filter(|&b| b > 0)
        .ok_or_else(|| op_err(node, "block_size must be positive"))
}

/// Evaluates DepthToSpace (`to_space = true`) or SpaceToDepth.
pub fn space_depth(node: &Node, inputs: &[&Tensor], to_space: bool) -> Result<Tensor, RefError> {
    let x = input(node, inputs, 0)?;
    let bf = blocks_first(node)?;
    let bs = block_size(node)?;
    if x.shape.len() < 3 {
        return Err(op_err(node, format!("input rank {} is below 3", x.shape.len())));
    }
    let k = x.shape.len() - 2;
    let blocks =
        u32::try_from(k).ok().and_then(|k| bs.checked_pow(k)).ok_or_else(|| op_err(node, "block too large"))?;
    let n = x.shape[0];
    // Small side: channels and spatial dims of the "depth" layout.
    let (c_small, spatial_small): (usize, Vec<usize>) = if to_space {
        if x.shape[1] % blocks != 0 {
            return Err(op_err(node, format!("channels {} are not divisible by {blocks}", x.shape[1])));
        }
        (x.shape[1] / blocks, x.shape[2..].to_vec())
    } else {
        if x.shape[2..].iter().any(|&d| d % bs != 0) {
            return Err(op_err(node, format!("spatial dims {:?} are not divisible by {bs}", &x.shape[2..])));
        }
        (x.shape[1], x.shape[2..].iter().map(|&d| d / bs).collect())
    };
    // The depth-layout shape [N, C·bs^k, D..] and the space-layout shape [N, C, D·bs..].
    let c_depth = c_small.checked_mul(blocks).ok_or_else(|| op_err(node, "channels overflow"))?;
    let mut depth_shape = vec![n, c_depth];
    depth_shape.extend_from_slice(&spatial_small);
    let mut space_shape = vec![n, c_small];
    for &d in &spatial_small {
        space_shape.push(d.checked_mul(bs).ok_or_else(|| op_err(node, "spatial size overflows"))?);
    }
    let out_shape = if to_space { space_shape.clone() } else { depth_shape.clone() };
    checked_count(node, &out_shape)?;
    let depth_strides = crate::broadcast::strides(&depth_shape);
    let space_strides = crate::broadcast::strides(&space_shape);
    let total: usize = space_shape.iter().product();
    // Walk the space layout; pair each element with its depth-layout position.
    let mut pairs = Vec::with_capacity(total);
    let mut coord = vec![0usize; space_shape.len()];
    for _ in 0..total {
        let (ni, ci) = (coord[0], coord[1]);
        let mut fb = 0usize;
        let mut dpos = ni * depth_strides[0];
        for i in 0..k {
            let o = coord[2 + i];
            fb = fb * bs + o % bs;
            dpos += (o / bs) * depth_strides[2 + i];
        }
        let depth_c = if bf { fb * c_small + ci } else { ci * blocks + fb };
        dpos += depth_c * depth_strides[1];
        let spos: usize = coord.iter().zip(&space_strides).map(|(c, s)| c * s).sum();
        pairs.push((spos, dpos));
        for ax in (0..space_shape.len()).rev() {
            coord[ax] += 1;
            if coord[ax] < space_shape[ax] {
                break;
            }
            coord[ax] = 0;
        }
    }
    // Output position -> input position.
    let mut idx = vec![0usize; total];
    for (spos, dpos) in pairs {
        if to_space {
            idx[spos] = dpos;
        } else {
            idx[dpos] = spos;
        }
    }
    tensor_like(node, x, out_shape, take(&x.data, &idx))
}
