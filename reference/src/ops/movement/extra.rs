//! Further shape and data-movement ops OpenVINO-written IRs commonly carry beyond the corpus:
//! Unsqueeze-1, ShapeOf-1/3, Split-1, Tile-1, Broadcast-1/3.

use super::data::{checked_count, input, int_scalar, int_values, norm_axis, take, tensor_like};
use crate::broadcast::{broadcast_shapes, BroadcastIndex};
use crate::error::{op_err, RefError};
use conform_ir::{ElementType, Node, Tensor, TensorData};

/// Unsqueeze-1: inserts size-1 axes at `axes` (input 1), which index the *output* shape
/// (negative count from the end of the output rank); repeated axes are an error.
pub fn unsqueeze(node: &Node, inputs: &[&Tensor]) -> Result<Tensor, RefError> {
    let x = input(node, inputs, 0)?;
    let axes = int_values(node, input(node, inputs, 1)?, "Unsqueeze axes")?;
    let out_rank = x.shape.len() + axes.len();
    let mut is_new = vec![false; out_rank];
    for &a in &axes {
        let ax = norm_axis(node, a, out_rank)?;
        if std::mem::replace(&mut is_new[ax], true) {
            return Err(op_err(node, format!("Unsqueeze: axis {a} repeated")));
        }
    }
    let mut dims = x.shape.iter();
    let out: Vec<usize> = is_new.iter().map(|&n| if n { 1 } else { dims.next().copied().unwrap_or(1) }).collect();
    tensor_like(node, x, out, x.data.clone())
}

/// ShapeOf-1 (i64) and ShapeOf-3 (`output_type` i64 or i32): the input's shape as a 1-D tensor.
pub fn shape_of(node: &Node, inputs: &[&Tensor]) -> Result<Tensor, RefError> {
    let x = input(node, inputs, 0)?;
    let et = match node.attr("output_type") {
        Some(_) => node.attr_element_type("output_type")?,
        None => ElementType::I64,
    };
    let n = x.shape.len();
    let data = match et {
        ElementType::I64 => TensorData::I64(x.shape.iter().map(|&d| d as i64).collect()),
        ElementType::I32 => TensorData::I32(
            x.shape
                .iter()
                .map(|&d| i32::try_from(d).map_err(|_| op_err(node, format!("ShapeOf: {d} does not fit i32"))))
                .collect::<Result<_, _>>()?,
        ),
        other => return Err(op_err(node, format!("ShapeOf: output_type {other} is not i32 or i64"))),
    };
    Tensor::new(et, vec![n], data).map_err(|e| op_err(node, e.to_string()))
}

/// Split-1: `num_splits` equal pieces along `axis` (input 1, negative counts from the end).
pub fn split(node: &Node, inputs: &[&Tensor]) -> Result<Vec<Tensor>, RefError> {
    let x = input(node, inputs, 0)?;
    let axis = norm_axis(node, int_scalar(node, input(node, inputs, 1)?, "Split axis")?, x.shape.len())?;
    let n = usize::try_from(node.attr_u64("num_splits")?)
        .ok()
        .filter(|&n| n > 0 && x.shape[axis] % n == 0)
        .ok_or_else(|| op_err(node, format!("Split: num_splits does not divide dimension {}", x.shape[axis])))?;
    let part = x.shape[axis] / n;
    let outer: usize = x.shape[..axis].iter().product();
    let inner: usize = x.shape[axis + 1..].iter().product();
    (0..n)
        .map(|k| {
            let mut idx = Vec::with_capacity(outer * part * inner);
            for o in 0..outer {
                let base = (o * x.shape[axis] + k * part) * inner;
                idx.extend(base..base + part * inner);
            }
            let mut shape = x.shape.clone();
            shape[axis] = part;
            tensor_like(node, x, shape, take(&x.data, &idx))
        })
        .collect()
}

/// Tile-1: repeats the input `repeats[i]` times along axis i; a shorter `repeats` is padded with
/// leading 1s, a shorter input shape with leading 1s.
pub fn tile(node: &Node, inputs: &[&Tensor]) -> Result<Tensor, RefError> {
    let x = input(node, inputs, 0)?;
    let reps_raw = int_values(node, input(node, inputs, 1)?, "Tile repeats")?;
    let rank = x.shape.len().max(reps_raw.len());
    let pad = |v: &[usize]| -> Vec<usize> { std::iter::repeat_n(1, rank - v.len()).chain(v.iter().copied()).collect() };
    let reps: Vec<usize> = reps_raw
        .iter()
        .map(|&r| usize::try_from(r).map_err(|_| op_err(node, format!("Tile: negative repeat {r}"))))
        .collect::<Result<_, _>>()?;
    let in_shape = pad(&x.shape);
    let reps = pad(&reps);
    let out_shape: Vec<usize> = in_shape
        .iter()
        .zip(&reps)
        .map(|(&d, &r)| d.checked_mul(r))
        .collect::<Option<_>>()
        .ok_or_else(|| op_err(node, "Tile: output size overflows"))?;
    checked_count(node, &out_shape)?;
    let per_axis: Vec<Vec<Option<usize>>> =
        in_shape.iter().zip(&out_shape).map(|(&d, &o)| (0..o).map(|i| Some(i % d.max(1))).collect()).collect();
    let idx: Vec<usize> = super::data::per_axis_positions(&in_shape, &per_axis).into_iter().flatten().collect();
    tensor_like(node, x, out_shape, take(&x.data, &idx))
}

/// Broadcast-1/3: `mode` numpy (input broadcasts to `target_shape`), bidirectional (v3: the numpy
/// broadcast of both shapes) or explicit (`axes_mapping`, input 2, gives the output axis of each
/// input axis, ascending).
pub fn broadcast(node: &Node, inputs: &[&Tensor]) -> Result<Tensor, RefError> {
    let x = input(node, inputs, 0)?;
    let target: Vec<usize> = int_values(node, input(node, inputs, 1)?, "Broadcast target_shape")?
        .iter()
        .map(|&d| usize::try_from(d).map_err(|_| op_err(node, format!("Broadcast: negative dimension {d}"))))
        .collect::<Result<_, _>>()?;
    let mode = node.attr("mode").map(str::trim).unwrap_or("numpy");
    let (out_shape, in_shape_aligned): (Vec<usize>, Vec<usize>) = match mode {
        "numpy" => (target.clone(), x.shape.clone()),
        "bidirectional" => {
            let out = broadcast_shapes(&x.shape, &target)
                .ok_or_else(|| op_err(node, format!("Broadcast: {:?} and {target:?} do not broadcast", x.shape)))?;
            (out, x.shape.clone())
        }
        "explicit" => {
            let axes = int_values(node, input(node, inputs, 2)?, "Broadcast axes_mapping")?;
            if axes.len() != x.shape.len() {
                return Err(op_err(node, "Broadcast: axes_mapping must name one axis per input axis"));
            }
            // The input, reshaped to the output rank with 1s everywhere else.
            let mut aligned = vec![1usize; target.len()];
            let mut last: Option<usize> = None;
            for (k, &a) in axes.iter().enumerate() {
                let a = usize::try_from(a)
                    .ok()
                    .filter(|&a| a < target.len() && last.is_none_or(|l| a > l))
                    .ok_or_else(|| op_err(node, format!("Broadcast: bad axes_mapping {axes:?}")))?;
                aligned[a] = x.shape[k];
                last = Some(a);
            }
            (target.clone(), aligned)
        }
        other => return Err(op_err(node, format!("Broadcast: unknown mode \"{other}\""))),
    };
    checked_count(node, &out_shape)?;
    let map = BroadcastIndex::new(&in_shape_aligned, &out_shape)
        .ok_or_else(|| op_err(node, format!("Broadcast: {:?} does not broadcast to {out_shape:?}", x.shape)))?;
    let count: usize = out_shape.iter().product();
    let idx: Vec<usize> = (0..count).map(|i| map.map(i)).collect();
    tensor_like(node, x, out_shape, take(&x.data, &idx))
}
