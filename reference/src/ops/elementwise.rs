//! Element-wise arithmetic and activations with numpy broadcasting: Add, Subtract, Multiply, Divide,
//! Maximum, Minimum, Power, SquaredDifference (binary, `auto_broadcast` numpy / none / pdpd) and
//! Sqrt, Relu, Clamp, Sigmoid, Swish, HSwish, HSigmoid, HardSigmoid, SoftPlus, Mish, Elu, PRelu,
//! Exp, Log, Tanh, Abs, Negative, Floor, Ceiling (unary).
//!
//! Float tensors compute in f32, one IEEE operation per step in the order of FP32.md (which follows
//! `ov::reference::*`); other float element types (f16, bf16, f64) are widened to f32, computed, and
//! stored back in their own type. Integer tensors (i32/i64 shape arithmetic) compute in i64 with
//! wrapping arithmetic, as OpenVINO's C++ templates do on two's-complement machines.

use super::{OpCtx, OpResult};
use crate::broadcast::{broadcast_shapes, BroadcastIndex};
use crate::error::{op_err, RefError};
use conform_ir::{ElementType, Node, Tensor, TensorData};
use half::{bf16, f16};

/// Evaluates the ops of this family; `None` for any other op type.
pub fn evaluate(ctx: &OpCtx<'_>) -> OpResult {
    let op = ctx.node.op_type.as_str();
    if let Some(bin) = BinaryOp::from_type(op) {
        return Some(binary(ctx, bin));
    }
    let r = match op {
        "Sqrt" => unary(ctx, f32::sqrt),
        // ov::reference::relu: `x > 0 ? x : 0` (NaN -> 0).
        // The IR spells it `ReLU`; `Relu` is the C++ class name.
        "Relu" | "ReLU" => unary(ctx, |x| if x > 0.0 { x } else { 0.0 }),
        "Exp" => unary(ctx, f32::exp),
        "Tanh" => unary(ctx, f32::tanh),
        "Abs" => unary(ctx, f32::abs),
        "Negative" => unary(ctx, |x| -x),
        "Sigmoid" => unary(ctx, sigmoid),
        "HSwish" => unary(ctx, hswish),
        "HSigmoid" => unary(ctx, hsigmoid),
        "SoftPlus" => unary(ctx, softplus),
        "Mish" => unary(ctx, mish),
        "Log" => unary(ctx, f32::ln),
        "Floor" => unary(ctx, f32::floor),
        "Ceiling" => unary(ctx, f32::ceil),
        "Elu" => elu(ctx),
        "Equal" | "NotEqual" | "Less" | "LessEqual" | "Greater" | "GreaterEqual" => compare(ctx),
        "LogicalAnd" | "LogicalOr" | "LogicalXor" => logical(ctx),
        "LogicalNot" => logical_not(ctx),
        "Select" => select(ctx),
        "PRelu" => prelu(ctx),
        "Clamp" => clamp(ctx),
        "Swish" => swish(ctx),
        "HardSigmoid" => hard_sigmoid(ctx),
        _ => return None,
    };
    Some(r)
}

// ---------------------------------------------------------------------------------------------
// Shared helpers (also used by the other op families of this engineer: pooling, convolution, ...).

/// The f32 values of a float input, or an error naming the input for any other element type.
pub(crate) fn float_input(node: &Node, t: &Tensor, which: &str) -> Result<Vec<f32>, RefError> {
    if !t.element_type.is_float() {
        return Err(op_err(
            node,
            format!("input {which} has element type {}, a float type is required", t.element_type),
        ));
    }
    Ok(match &t.data {
        TensorData::F32(v) => v.clone(),
        _ => t.to_f32_vec(),
    })
}

/// Builds an output tensor of float element type `et` from f32 values (rounded to `et` when it is
/// narrower: f16 and bf16 round to nearest even, as OpenVINO's `static_cast` of an f32 result).
pub(crate) fn float_output(node: &Node, et: ElementType, shape: Vec<usize>, v: Vec<f32>) -> Result<Tensor, RefError> {
    let data = match et {
        ElementType::F16 => TensorData::F16(v.into_iter().map(f16::from_f32).collect()),
        ElementType::BF16 => TensorData::BF16(v.into_iter().map(bf16::from_f32).collect()),
        ElementType::F64 => TensorData::F64(v.into_iter().map(f64::from).collect()),
        _ => TensorData::F32(v),
    };
    let et = if et.is_float() { et } else { ElementType::F32 };
    Tensor::new(et, shape, data).map_err(|e| op_err(node, e.to_string()))
}

/// An empty vector with room for `len` elements, or a typed error instead of an abort when the
/// size (derived from the model's shapes and attributes) cannot be allocated.
pub(crate) fn alloc<T>(node: &Node, len: usize) -> Result<Vec<T>, RefError> {
    let mut v = Vec::new();
    v.try_reserve_exact(len).map_err(|_| op_err(node, format!("cannot allocate an output of {len} elements")))?;
    Ok(v)
}

/// The input at `port`, or an error saying how many inputs the op needs.
pub(crate) fn input<'a>(ctx: &OpCtx<'a>, port: usize, needed: &str) -> Result<&'a Tensor, RefError> {
    ctx.inputs
        .get(port)
        .copied()
        .ok_or_else(|| op_err(ctx.node, format!("needs {needed} inputs, got {}", ctx.inputs.len())))
}

/// The single value of a scalar-like (one-element) float input such as Swish's β or HardSigmoid's α.
pub(crate) fn scalar_input(node: &Node, t: &Tensor, which: &str) -> Result<f32, RefError> {
    let v = float_input(node, t, which)?;
    match v.as_slice() {
        [x] => Ok(*x),
        _ => Err(op_err(node, format!("input {which} must hold exactly one value, it has shape {:?}", t.shape))),
    }
}

// ---------------------------------------------------------------------------------------------
// Binary ops.

/// The binary arithmetic ops of this family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    /// `a + b`
    Add,
    /// `a − b`
    Subtract,
    /// `a · b`
    Multiply,
    /// `a / b` (integers: floor division when `m_pythondiv`, else truncation)
    Divide,
    /// `a > b ? a : b`
    Maximum,
    /// `a < b ? a : b`
    Minimum,
    /// `powf(a, b)`
    Power,
    /// `(a − b)·(a − b)`
    SquaredDifference,
}

impl BinaryOp {
    fn from_type(op: &str) -> Option<BinaryOp> {
        Some(match op {
            "Add" => BinaryOp::Add,
            "Subtract" => BinaryOp::Subtract,
            "Multiply" => BinaryOp::Multiply,
            "Divide" => BinaryOp::Divide,
            "Maximum" => BinaryOp::Maximum,
            "Minimum" => BinaryOp::Minimum,
            "Power" => BinaryOp::Power,
            "SquaredDifference" => BinaryOp::SquaredDifference,
            _ => return None,
        })
    }

    /// The f32 result: one IEEE operation (FP32.md). Maximum/Minimum are OpenVINO's ternaries,
    /// so a NaN in `a` yields `b` and a NaN in `b` yields `b` (the comparison is false).
    #[inline]
    pub fn apply_f32(self, a: f32, b: f32) -> f32 {
        match self {
            BinaryOp::Add => a + b,
            BinaryOp::Subtract => a - b,
            BinaryOp::Multiply => a * b,
            BinaryOp::Divide => a / b,
            BinaryOp::Maximum => {
                if a > b {
                    a
                } else {
                    b
                }
            }
            BinaryOp::Minimum => {
                if a < b {
                    a
                } else {
                    b
                }
            }
            BinaryOp::Power => a.powf(b),
            BinaryOp::SquaredDifference => (a - b) * (a - b),
        }
    }

    /// The integer result in i64 (wrapping), or `None` for a division by zero.
    fn apply_i64(self, a: i64, b: i64, pythondiv: bool) -> Option<i64> {
        Some(match self {
            BinaryOp::Add => a.wrapping_add(b),
            BinaryOp::Subtract => a.wrapping_sub(b),
            BinaryOp::Multiply => a.wrapping_mul(b),
            BinaryOp::Divide => {
                if b == 0 {
                    return None;
                }
                let q = a.wrapping_div(b);
                // ov::reference::divide with pythondiv: floor the truncated quotient when the signs
                // differ and the division is inexact.
                if pythondiv && (a % b != 0) && ((a < 0) != (b < 0)) {
                    q - 1
                } else {
                    q
                }
            }
            BinaryOp::Maximum => a.max(b),
            BinaryOp::Minimum => a.min(b),
            BinaryOp::SquaredDifference => a.wrapping_sub(b).wrapping_mul(a.wrapping_sub(b)),
            BinaryOp::Power => {
                // Integer power as repeated multiplication; negative exponents truncate toward 0.
                if b < 0 {
                    match a {
                        1 => 1,
                        -1 => {
                            if b % 2 == 0 {
                                1
                            } else {
                                -1
                            }
                        }
                        _ => 0,
                    }
                } else {
                    a.wrapping_pow(u32::try_from(b).unwrap_or(u32::MAX))
                }
            }
        })
    }
}

/// The output shape and the two index maps of a binary op under its `auto_broadcast` attribute.
fn binary_shapes(
    node: &Node,
    a: &[usize],
    b: &[usize],
) -> Result<(Vec<usize>, BroadcastIndex, BroadcastIndex), RefError> {
    let mode = node.attr("auto_broadcast").map(str::trim).unwrap_or("numpy");
    let incompatible = || op_err(node, format!("input shapes {a:?} and {b:?} do not broadcast ({mode})"));
    let (out, b_eff): (Vec<usize>, Vec<usize>) = match mode {
        "numpy" => (broadcast_shapes(a, b).ok_or_else(incompatible)?, b.to_vec()),
        "none" => {
            if a != b {
                return Err(incompatible());
            }
            (a.to_vec(), b.to_vec())
        }
        "pdpd" => {
            // PDPD: B aligns to A starting at `axis` (−1: right-aligned); the output is A's shape.
            let axis: i64 = node.attr_parse_or("axis", -1, "an integer")?;
            if b.len() > a.len() {
                return Err(incompatible());
            }
            // As `autobroadcast_binop`: the axis from the untrimmed ranks, then B's trailing 1s
            // dropped before aligning.
            let start = if axis < 0 { a.len() - b.len() } else { usize::try_from(axis).unwrap_or(usize::MAX) };
            let trimmed_len = b.len() - b.iter().rev().take_while(|&&d| d == 1).count();
            let trimmed = &b[..trimmed_len];
            if start.checked_add(trimmed.len()).is_none_or(|e| e > a.len()) {
                return Err(incompatible());
            }
            let mut padded = vec![1; start];
            padded.extend_from_slice(trimmed);
            padded.resize(a.len(), 1);
            (a.to_vec(), padded)
        }
        other => return Err(op_err(node, format!("auto_broadcast=\"{other}\" is not numpy, none or pdpd"))),
    };
    let ia = BroadcastIndex::new(a, &out).ok_or_else(incompatible)?;
    let ib = BroadcastIndex::new(&b_eff, &out).ok_or_else(incompatible)?;
    Ok((out, ia, ib))
}

fn binary(ctx: &OpCtx<'_>, op: BinaryOp) -> Result<Vec<Tensor>, RefError> {
    let node = ctx.node;
    let (a, b) = (input(ctx, 0, "2")?, input(ctx, 1, "2")?);
    if a.element_type != b.element_type && !(a.element_type.is_float() && b.element_type.is_float()) {
        return Err(op_err(node, format!("input element types differ: {} and {}", a.element_type, b.element_type)));
    }
    let (out_shape, ia, ib) = binary_shapes(node, &a.shape, &b.shape)?;
    let n = conform_ir::element_count(&out_shape).ok_or_else(|| op_err(node, "output size overflows"))?;
    if a.element_type.is_float() {
        let (va, vb) = (float_input(node, a, "0")?, float_input(node, b, "1")?);
        let y: Vec<f32> = (0..n).map(|i| op.apply_f32(va[ia.map(i)], vb[ib.map(i)])).collect();
        return Ok(vec![float_output(node, a.element_type, out_shape, y)?]);
    }
    let pythondiv = node.attr_bool_or("m_pythondiv", true)?;
    let (va, vb) = (a.to_i64_vec(), b.to_i64_vec());
    let mut y = alloc(node, n)?;
    for i in 0..n {
        y.push(
            op.apply_i64(va[ia.map(i)], vb[ib.map(i)], pythondiv)
                .ok_or_else(|| op_err(node, "integer division by zero"))?,
        );
    }
    let data = match a.element_type {
        ElementType::I64 => TensorData::I64(y),
        // Wrapping to the narrower type, as the C++ template computes in that type.
        ElementType::I32 => TensorData::I32(y.into_iter().map(|v| v as i32).collect()),
        ElementType::U64 => TensorData::U64(y.into_iter().map(|v| v as u64).collect()),
        ElementType::U32 => TensorData::U32(y.into_iter().map(|v| v as u32).collect()),
        ElementType::I8 => TensorData::I8(y.into_iter().map(|v| v as i8).collect()),
        ElementType::U8 => TensorData::U8(y.into_iter().map(|v| v as u8).collect()),
        other => return Err(op_err(node, format!("element type {other} is not supported by {}", node.op_type))),
    };
    Ok(vec![Tensor::new(a.element_type, out_shape, data).map_err(|e| op_err(node, e.to_string()))?])
}

// ---------------------------------------------------------------------------------------------
// Unary ops.

fn unary(ctx: &OpCtx<'_>, f: impl Fn(f32) -> f32) -> Result<Vec<Tensor>, RefError> {
    let x = input(ctx, 0, "1")?;
    let v = float_input(ctx.node, x, "0")?;
    let y = v.into_iter().map(f).collect();
    Ok(vec![float_output(ctx.node, x.element_type, x.shape.clone(), y)?])
}

/// `ov::reference::sigmoid` for floats: `e = exp(−x)` in f32, then `1 / (1 + e)` in f32.
#[inline]
pub fn sigmoid(x: f32) -> f32 {
    let e = (-x).exp();
    1.0 / (1.0 + e)
}

/// `ov::reference::hswish`: `x · min(max(x + 3, 0), 6) / 6` with `std::max`/`std::min` semantics
/// (`max(a,b) = a < b ? b : a`, `min(a,b) = b < a ? b : a`, so a NaN in `a` survives).
#[inline]
pub fn hswish(x: f32) -> f32 {
    let t = x + 3.0;
    let t = if t < 0.0 { 0.0 } else { t };
    let t = if 6.0 < t { 6.0 } else { t };
    let y = x * t;
    y / 6.0
}

/// `ov::reference::hsigmoid`: `min(max(x + 3, 0), 6) / 6` with `std::max`/`std::min` semantics.
#[inline]
pub fn hsigmoid(x: f32) -> f32 {
    let t = x + 3.0;
    let t = if t < 0.0 { 0.0 } else { t };
    let t = if 6.0 < t { 6.0 } else { t };
    t / 6.0
}

/// `ov::reference::softplus`: `x < ln(FLT_MAX) ? ln(exp(x) + 1) : x`, all in f32 (`logf`,
/// `expf`; the threshold is `logf(FLT_MAX)`).
#[inline]
pub fn softplus(x: f32) -> f32 {
    let threshold = f32::MAX.ln();
    if x < threshold {
        (x.exp() + 1.0).ln()
    } else {
        x
    }
}

/// `ov::reference::mish`: `x · tanh(log(exp(x) + 1.0))`: `expf` in f32, then (the `1.0` is a
/// double) the sum, `log`, `tanh` and the product in f64, rounded once to f32.
#[inline]
pub fn mish(x: f32) -> f32 {
    let e = f64::from(x.exp());
    (f64::from(x) * (e + 1.0).ln().tanh()) as f32
}

/// `ov::reference::elu`: `x < 0 ? α·(exp(x) − 1.0) : x` with `α` a double: `expf` in f32, then the
/// difference and the product in f64, rounded once to f32.
#[inline]
pub fn elu_scalar(x: f32, alpha: f64) -> f32 {
    if x < 0.0 {
        (alpha * (f64::from(x.exp()) - 1.0)) as f32
    } else {
        x
    }
}

fn elu(ctx: &OpCtx<'_>) -> Result<Vec<Tensor>, RefError> {
    let alpha = ctx.node.attr_f64("alpha")?;
    unary(ctx, move |x| elu_scalar(x, alpha))
}

/// PRelu-1 (`ov::reference::prelu`): `x < 0 ? x·slope : x`, the slope broadcast numpy-style,
/// except that a 1-D slope whose length equals the channel count (axis 1, or axis 0 for 1-D data)
/// applies per channel.
fn prelu(ctx: &OpCtx<'_>) -> Result<Vec<Tensor>, RefError> {
    let node = ctx.node;
    let (x, slope) = (input(ctx, 0, "2")?, input(ctx, 1, "2")?);
    let channel_axis = usize::from(x.shape.len() > 1);
    let slope_shape = match (slope.shape.as_slice(), x.shape.get(channel_axis)) {
        ([n], Some(&c)) if *n == c => {
            let mut s = vec![1; x.shape.len()];
            s[channel_axis] = c;
            s
        }
        _ => slope.shape.clone(),
    };
    let idx = BroadcastIndex::new(&slope_shape, &x.shape)
        .ok_or_else(|| op_err(node, format!("slope of shape {:?} does not broadcast to {:?}", slope.shape, x.shape)))?;
    let (xv, sv) = (float_input(node, x, "data")?, float_input(node, slope, "slope")?);
    let y = xv.iter().enumerate().map(|(i, &v)| if v < 0.0 { v * sv[idx.map(i)] } else { v }).collect();
    Ok(vec![float_output(node, x.element_type, x.shape.clone(), y)?])
}

/// `ov::reference::swish`: `static_cast<T>(v / (1.0 + std::exp(-v * beta)))`. The `1.0` literal is
/// a double, so the exponential is f32 (`expf` of the f32 product `(−v)·β`) and the sum and the
/// division are f64, rounded once to f32 at the end.
#[inline]
pub fn swish_scalar(x: f32, beta: f32) -> f32 {
    let e = ((-x) * beta).exp();
    (f64::from(x) / (1.0 + f64::from(e))) as f32
}

/// `ov::reference::hard_sigmoid`: `std::max(0, std::min(1, α·x + β))`, f32 steps: `t = α·x;
/// t = t + β`; `min(1,t) = t < 1 ? t : 1`; `max(0,m) = 0 < m ? m : 0` (so NaN gives 1).
#[inline]
pub fn hard_sigmoid_scalar(x: f32, alpha: f32, beta: f32) -> f32 {
    let t = alpha * x;
    let t = t + beta;
    let m = if t < 1.0 { t } else { 1.0 };
    if 0.0 < m {
        m
    } else {
        0.0
    }
}

/// `ov::reference::clamp`: `x < lo ? lo : (x > hi ? hi : x)`.
#[inline]
pub fn clamp_scalar(x: f32, lo: f32, hi: f32) -> f32 {
    if x < lo {
        lo
    } else if x > hi {
        hi
    } else {
        x
    }
}

fn clamp(ctx: &OpCtx<'_>) -> Result<Vec<Tensor>, RefError> {
    let node = ctx.node;
    // Attributes are doubles in OpenVINO; the float evaluation casts them to T.
    let lo = node.attr_f64("min")?;
    let hi = node.attr_f64("max")?;
    if lo > hi {
        return Err(op_err(node, format!("min {lo} is greater than max {hi}")));
    }
    let x = input(ctx, 0, "1")?;
    if x.element_type.is_float() {
        let (lo, hi) = (lo as f32, hi as f32);
        return unary(ctx, move |v| clamp_scalar(v, lo, hi));
    }
    // Integer clamp: the bounds round inward and saturate to the type (`double_to_int` with
    // ceil(min) and floor(max) in `src/core/src/op/clamp.cpp`).
    let (tmin, tmax) = match x.element_type {
        ElementType::I32 => (f64::from(i32::MIN), f64::from(i32::MAX)),
        _ => (i64::MIN as f64, i64::MAX as f64),
    };
    let (lo, hi) = (lo.ceil().clamp(tmin, tmax) as i64, hi.floor().clamp(tmin, tmax) as i64);
    let y: Vec<i64> = x.to_i64_vec().into_iter().map(|v| v.clamp(lo, hi.max(lo))).collect();
    let data = match x.element_type {
        ElementType::I64 => TensorData::I64(y),
        ElementType::I32 => TensorData::I32(y.into_iter().map(|v| v as i32).collect()),
        other => return Err(op_err(node, format!("element type {other} is not supported by Clamp"))),
    };
    Ok(vec![Tensor::new(x.element_type, x.shape.clone(), data).map_err(|e| op_err(node, e.to_string()))?])
}

fn swish(ctx: &OpCtx<'_>) -> Result<Vec<Tensor>, RefError> {
    // Swish-4: the optional second input is a scalar β (default 1).
    let beta = match ctx.inputs.get(1) {
        Some(b) => scalar_input(ctx.node, b, "beta")?,
        None => 1.0,
    };
    unary(ctx, move |x| swish_scalar(x, beta))
}

fn hard_sigmoid(ctx: &OpCtx<'_>) -> Result<Vec<Tensor>, RefError> {
    let alpha = scalar_input(ctx.node, input(ctx, 1, "3")?, "alpha")?;
    let beta = scalar_input(ctx.node, input(ctx, 2, "3")?, "beta")?;
    unary(ctx, move |x| hard_sigmoid_scalar(x, alpha, beta))
}

// ---------------------------------------------------------------------------------------------
// Comparisons, logical ops and Select (masks and shape subgraphs).

fn bool_tensor(node: &Node, shape: Vec<usize>, v: Vec<bool>) -> Result<Tensor, RefError> {
    Tensor::new(ElementType::Boolean, shape, TensorData::Bool(v)).map_err(|e| op_err(node, e.to_string()))
}

/// Equal, NotEqual, Less, LessEqual, Greater, GreaterEqual (opset1): boolean output, IEEE
/// comparisons for floats (NaN compares unequal), exact for integers.
fn compare(ctx: &OpCtx<'_>) -> Result<Vec<Tensor>, RefError> {
    let node = ctx.node;
    let (a, b) = (input(ctx, 0, "2")?, input(ctx, 1, "2")?);
    let (out_shape, ia, ib) = binary_shapes(node, &a.shape, &b.shape)?;
    let n = conform_ir::element_count(&out_shape).ok_or_else(|| op_err(node, "output size overflows"))?;
    let op = node.op_type.as_str();
    fn cmp<T: PartialOrd>(op: &str, x: T, y: T) -> bool {
        match op {
            "Equal" => x == y,
            "NotEqual" => x != y,
            "Less" => x < y,
            "LessEqual" => x <= y,
            "Greater" => x > y,
            _ => x >= y,
        }
    }
    let mut y = alloc(node, n)?;
    if a.element_type.is_float() || b.element_type.is_float() {
        let (va, vb) = (float_input(node, a, "0")?, float_input(node, b, "1")?);
        y.extend((0..n).map(|i| cmp(op, va[ia.map(i)], vb[ib.map(i)])));
    } else {
        let (va, vb) = (a.to_i64_vec(), b.to_i64_vec());
        y.extend((0..n).map(|i| cmp(op, va[ia.map(i)], vb[ib.map(i)])));
    }
    Ok(vec![bool_tensor(node, out_shape, y)?])
}

/// The truth value of each element (non-zero is true), as OpenVINO's logical ops read booleans.
fn truth(t: &Tensor) -> Vec<bool> {
    match &t.data {
        TensorData::Bool(v) => v.clone(),
        _ if t.element_type.is_float() => t.to_f32_vec().into_iter().map(|x| x != 0.0).collect(),
        _ => t.to_i64_vec().into_iter().map(|x| x != 0).collect(),
    }
}

/// LogicalAnd, LogicalOr, LogicalXor (opset1), numpy broadcasting.
fn logical(ctx: &OpCtx<'_>) -> Result<Vec<Tensor>, RefError> {
    let node = ctx.node;
    let (a, b) = (input(ctx, 0, "2")?, input(ctx, 1, "2")?);
    let (out_shape, ia, ib) = binary_shapes(node, &a.shape, &b.shape)?;
    let n = conform_ir::element_count(&out_shape).ok_or_else(|| op_err(node, "output size overflows"))?;
    let (va, vb) = (truth(a), truth(b));
    let mut y = alloc(node, n)?;
    y.extend((0..n).map(|i| {
        let (x, z) = (va[ia.map(i)], vb[ib.map(i)]);
        match node.op_type.as_str() {
            "LogicalAnd" => x && z,
            "LogicalOr" => x || z,
            _ => x != z,
        }
    }));
    Ok(vec![bool_tensor(node, out_shape, y)?])
}

fn logical_not(ctx: &OpCtx<'_>) -> Result<Vec<Tensor>, RefError> {
    let x = input(ctx, 0, "1")?;
    Ok(vec![bool_tensor(ctx.node, x.shape.clone(), truth(x).into_iter().map(|v| !v).collect())?])
}

/// Select-1: `cond ? then : else`, the three inputs broadcast together (numpy by default); the
/// output has the element type of `then`.
fn select(ctx: &OpCtx<'_>) -> Result<Vec<Tensor>, RefError> {
    let node = ctx.node;
    let (c, t, e) = (input(ctx, 0, "3")?, input(ctx, 1, "3")?, input(ctx, 2, "3")?);
    if t.element_type != e.element_type {
        return Err(op_err(node, format!("then/else element types differ: {} and {}", t.element_type, e.element_type)));
    }
    let bad = || op_err(node, format!("shapes {:?}, {:?}, {:?} do not broadcast", c.shape, t.shape, e.shape));
    let te = broadcast_shapes(&t.shape, &e.shape).ok_or_else(bad)?;
    let out = broadcast_shapes(&c.shape, &te).ok_or_else(bad)?;
    if node.attr("auto_broadcast").map(str::trim) == Some("none") && !(c.shape == t.shape && t.shape == e.shape) {
        return Err(bad());
    }
    let (ic, it, ie) = (
        BroadcastIndex::new(&c.shape, &out).ok_or_else(bad)?,
        BroadcastIndex::new(&t.shape, &out).ok_or_else(bad)?,
        BroadcastIndex::new(&e.shape, &out).ok_or_else(bad)?,
    );
    let n = conform_ir::element_count(&out).ok_or_else(|| op_err(node, "output size overflows"))?;
    let cv = truth(c);
    let pick = |i: usize| if cv[ic.map(i)] { (true, it.map(i)) } else { (false, ie.map(i)) };
    macro_rules! gather {
        ($tv:expr, $ev:expr, $variant:ident) => {{
            let mut y = alloc(node, n)?;
            y.extend((0..n).map(|i| match pick(i) {
                (true, k) => $tv[k],
                (false, k) => $ev[k],
            }));
            TensorData::$variant(y)
        }};
    }
    let data = match (&t.data, &e.data) {
        (TensorData::F32(tv), TensorData::F32(ev)) => gather!(tv, ev, F32),
        (TensorData::F16(tv), TensorData::F16(ev)) => gather!(tv, ev, F16),
        (TensorData::I64(tv), TensorData::I64(ev)) => gather!(tv, ev, I64),
        (TensorData::I32(tv), TensorData::I32(ev)) => gather!(tv, ev, I32),
        (TensorData::Bool(tv), TensorData::Bool(ev)) => gather!(tv, ev, Bool),
        _ => return Err(op_err(node, format!("Select on element type {} is not supported", t.element_type))),
    };
    Ok(vec![Tensor::new(t.element_type, out, data).map_err(|e| op_err(node, e.to_string()))?])
}
