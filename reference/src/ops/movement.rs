//! Data movement and type ops: Convert, Reshape, Squeeze, Transpose, Concat, Gather, Slice,
//! VariadicSplit, Pad (the corpus's), and StridedSlice, DepthToSpace, SpaceToDepth, Unsqueeze, ShapeOf, Split, Tile, Broadcast. All of them
//! work on every element type (shape subgraphs stay i64) and only move elements, except Convert.

use super::{OpCtx, OpResult};

pub mod convert;
pub mod data;
pub mod extra;
pub mod gather;
pub mod join;
pub mod layout;
pub mod pad;
pub mod slice;
pub mod space_depth;
pub mod strided_slice;

/// Evaluates the ops of this family; `None` for any other op type.
pub fn evaluate(ctx: &OpCtx<'_>) -> OpResult {
    let node = ctx.node;
    let inputs = ctx.inputs;
    let one = |r: Result<conform_ir::Tensor, crate::RefError>| Some(r.map(|t| vec![t]));
    match (node.op_type.as_str(), node.version.as_str()) {
        ("Convert", "opset1") => one(data::input(node, inputs, 0).and_then(|x| convert::convert_op(node, x))),
        ("Reshape", "opset1") => one(layout::reshape(node, inputs)),
        ("Squeeze", "opset1") => one(layout::squeeze(node, inputs)),
        ("Transpose", "opset1") => one(layout::transpose(node, inputs)),
        ("Concat", "opset1") => one(join::concat(node, inputs)),
        ("VariadicSplit", "opset1") => Some(join::variadic_split(node, inputs)),
        ("Gather", "opset8") => one(gather::gather(node, inputs)),
        ("Slice", "opset8") => one(slice::slice(node, inputs)),
        ("Pad", "opset1" | "opset12") => one(pad::pad(node, inputs)),
        ("Gather", "opset1" | "opset7") => one(gather::gather(node, inputs)),
        ("DepthToSpace", "opset1") => one(space_depth::space_depth(node, inputs, true)),
        ("SpaceToDepth", "opset1") => one(space_depth::space_depth(node, inputs, false)),
        ("StridedSlice", "opset1") => one(strided_slice::strided_slice(node, inputs)),
        ("Unsqueeze", "opset1") => one(extra::unsqueeze(node, inputs)),
        ("ShapeOf", "opset1" | "opset3") => one(extra::shape_of(node, inputs)),
        ("Split", "opset1") => Some(extra::split(node, inputs)),
        ("Tile", "opset1") => one(extra::tile(node, inputs)),
        ("Broadcast", "opset1" | "opset3") => one(extra::broadcast(node, inputs)),
        _ => None,
    }
}
