//! The optimized engine's FP32 kernels for every op that does not run in an INT8 block.
//!
//! Each kernel is written from OpenVINO's operation specification and follows the f32
//! operation-order contract of `reference/FP32.md` exactly (same reduction order, no FMA, no
//! reassociation, Rust `f32` methods for transcendentals), so that the engine's output equals the
//! reference's bit for bit. Parallelism (rayon) is only ever over independent output elements,
//! never inside a reduction, so results do not depend on the thread count.
//!
//! Entry point: [`eval_node`]. Parameter, Const and Result are the plan's business and are
//! rejected here (as is any op without a kernel), with a [`FallbackError`] naming the layer.
//!
//! Modules, one op family each: `elementwise` (binary arithmetic with numpy/pdpd broadcasting,
//! activations, FakeQuantize, Convert), `movement` (reshapes, transposes, gathers, slices, pads,
//! splits, tiles, broadcasts), `normalize` (Softmax, Reduce*, MVN, NormalizeL2, BatchNorm),
//! `pool`, `conv` (Convolution, GroupConvolution, (Group)ConvolutionBackpropData), `matmul`,
//! `interpolate`, `lstm`; `geometry`, `broadcast`, `elem` and `ctx` are their shared helpers.
//! Tests: `optimized/tests/fallback_*.rs` compare every kernel with the reference bit for bit.

use conform_ir::{AttrError, LayerRef, Model, Tensor};

mod broadcast;
mod conv;
mod ctx;
mod elem;
mod elementwise;
mod geometry;
mod interpolate;
mod lstm;
mod matmul;
mod movement;
mod normalize;
mod pool;

use ctx::Ctx;
pub use ctx::FallbackError;

/// Evaluates node `node` of `model` in f32 on its input values (in input-port order), returning one
/// tensor per output port.
pub fn eval_node(model: &Model, node: usize, inputs: &[&Tensor]) -> Result<Vec<Tensor>, FallbackError> {
    let Some(n) = model.nodes().get(node) else {
        return Err(FallbackError {
            layer: LayerRef::default(),
            message: format!("node index {node} is out of range ({} nodes)", model.nodes().len()),
        });
    };
    let cx = Ctx { node: n, inputs };
    let outs = match n.op_type.as_str() {
        "Add" | "Subtract" | "Multiply" | "Divide" | "Maximum" | "Minimum" | "Power" | "SquaredDifference" => {
            elementwise::binary(&cx)?
        }
        "Sqrt" | "ReLU" | "Relu" | "Sigmoid" | "HSwish" | "Clamp" | "Exp" | "Log" | "Tanh" | "Abs" | "Negative"
        | "Floor" | "Ceiling" | "HSigmoid" | "SoftPlus" | "Mish" | "Elu" => elementwise::unary(&cx)?,
        "PRelu" => elementwise::prelu(&cx)?,
        "Swish" => elementwise::swish(&cx)?,
        "HardSigmoid" => elementwise::hard_sigmoid(&cx)?,
        "FakeQuantize" => elementwise::fake_quantize(&cx)?,
        "Convert" => elementwise::convert(&cx)?,
        "Reshape" => movement::reshape(&cx)?,
        "Squeeze" => movement::squeeze(&cx)?,
        "Unsqueeze" => movement::unsqueeze(&cx)?,
        "Transpose" => movement::transpose(&cx)?,
        "Concat" => movement::concat(&cx)?,
        "Gather" => movement::gather(&cx)?,
        "Slice" => movement::slice(&cx)?,
        "StridedSlice" => movement::strided_slice(&cx)?,
        "VariadicSplit" => movement::variadic_split(&cx)?,
        "Pad" => movement::pad(&cx)?,
        "ShapeOf" => movement::shape_of(&cx)?,
        "Split" => movement::split(&cx)?,
        "Tile" => movement::tile(&cx)?,
        "Broadcast" => movement::broadcast(&cx)?,
        "DepthToSpace" => movement::space_depth(&cx, true)?,
        "SpaceToDepth" => movement::space_depth(&cx, false)?,
        "SoftMax" | "Softmax" => normalize::softmax(&cx)?,
        "ReduceMean" => normalize::reduce(&cx, normalize::Reduce::Mean)?,
        "ReduceSum" => normalize::reduce(&cx, normalize::Reduce::Sum)?,
        "ReduceMax" => normalize::reduce(&cx, normalize::Reduce::Max)?,
        "ReduceMin" => normalize::reduce(&cx, normalize::Reduce::Min)?,
        "ReduceProd" => normalize::reduce(&cx, normalize::Reduce::Prod)?,
        "MVN" => normalize::mvn(&cx)?,
        "NormalizeL2" => normalize::normalize_l2(&cx)?,
        "BatchNormInference" => normalize::batch_norm(&cx)?,
        "MaxPool" => pool::max_pool(&cx)?,
        "AvgPool" => pool::avg_pool(&cx)?,
        "Convolution" => conv::convolution(&cx, false)?,
        "GroupConvolution" => conv::convolution(&cx, true)?,
        "ConvolutionBackpropData" => conv::backprop_data(&cx, false)?,
        "GroupConvolutionBackpropData" => conv::backprop_data(&cx, true)?,
        "MatMul" => matmul::matmul(&cx)?,
        "Interpolate" => interpolate::interpolate(&cx)?,
        "LSTMSequence" => lstm::lstm_sequence(&cx)?,
        "LSTMCell" if n.version == "opset4" => lstm::lstm_cell(&cx)?,
        other => return Err(cx.err(format!("op {other} version {} has no FP32 kernel", n.version))),
    };
    if outs.len() != n.outputs.len() {
        return Err(cx.err(format!("produced {} outputs, the layer declares {}", outs.len(), n.outputs.len())));
    }
    Ok(outs)
}

impl From<AttrError> for FallbackError {
    fn from(e: AttrError) -> Self {
        let layer = match &e {
            AttrError::Missing { layer, .. } | AttrError::Malformed { layer, .. } => layer.clone(),
        };
        // The attribute error's Display already names the layer; keep only the attribute part.
        let full = e.to_string();
        let prefix = format!("{layer}: ");
        let message = full.strip_prefix(&prefix).map(str::to_string).unwrap_or(full);
        FallbackError { layer, message }
    }
}
