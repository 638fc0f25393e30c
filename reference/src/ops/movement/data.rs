//! Typed-data helpers shared by the data-movement ops (and by the float ops of this crate's
//! normalization, interpolation and recurrent families): picking elements by index whatever the
//! element type, reading integer and float inputs, normalizing axes and bounding output sizes.

use crate::error::{op_err, RefError};
use conform_ir::{ElementType, Node, Tensor, TensorData};
use half::{bf16, f16};

/// Largest element count an op of these families will allocate for one output. Shapes come from
/// model constants and inputs, so a corrupt model could ask for anything; this refuses before
/// allocating (2^28 elements = 1 GiB of f32, plus the index lists the data-movement ops build).
pub const MAX_OUTPUT_ELEMENTS: usize = 1 << 28;

/// Applies `$body` to the vector inside each variant, rebuilding the same variant.
macro_rules! map_same_variant {
    ($data:expr, $v:ident => $body:expr) => {
        match $data {
            TensorData::F64($v) => TensorData::F64($body),
            TensorData::F32($v) => TensorData::F32($body),
            TensorData::F16($v) => TensorData::F16($body),
            TensorData::BF16($v) => TensorData::BF16($body),
            TensorData::I64($v) => TensorData::I64($body),
            TensorData::I32($v) => TensorData::I32($body),
            TensorData::I16($v) => TensorData::I16($body),
            TensorData::I8($v) => TensorData::I8($body),
            TensorData::U64($v) => TensorData::U64($body),
            TensorData::U32($v) => TensorData::U32($body),
            TensorData::U16($v) => TensorData::U16($body),
            TensorData::U8($v) => TensorData::U8($body),
            TensorData::Bool($v) => TensorData::Bool($body),
        }
    };
}

/// The elements of `data` at the flat positions `idx`, in that order (same element type).
/// Callers compute `idx` from validated shapes, so every position is inside `data`.
pub fn take(data: &TensorData, idx: &[usize]) -> TensorData {
    map_same_variant!(data, v => idx.iter().map(|&i| v[i]).collect())
}

/// Like [`take`], with `None` positions filled by element 0 of `fill`, which must hold the same
/// element type (checked: `None` otherwise).
pub fn take_or_fill(data: &TensorData, idx: &[Option<usize>], fill: &TensorData) -> Option<TensorData> {
    macro_rules! arm {
        ($v:ident, $f:ident, $variant:ident) => {{
            let fv = *$f.first()?;
            Some(TensorData::$variant(idx.iter().map(|i| i.map_or(fv, |i| $v[i])).collect()))
        }};
    }
    match (data, fill) {
        (TensorData::F64(v), TensorData::F64(f)) => arm!(v, f, F64),
        (TensorData::F32(v), TensorData::F32(f)) => arm!(v, f, F32),
        (TensorData::F16(v), TensorData::F16(f)) => arm!(v, f, F16),
        (TensorData::BF16(v), TensorData::BF16(f)) => arm!(v, f, BF16),
        (TensorData::I64(v), TensorData::I64(f)) => arm!(v, f, I64),
        (TensorData::I32(v), TensorData::I32(f)) => arm!(v, f, I32),
        (TensorData::I16(v), TensorData::I16(f)) => arm!(v, f, I16),
        (TensorData::I8(v), TensorData::I8(f)) => arm!(v, f, I8),
        (TensorData::U64(v), TensorData::U64(f)) => arm!(v, f, U64),
        (TensorData::U32(v), TensorData::U32(f)) => arm!(v, f, U32),
        (TensorData::U16(v), TensorData::U16(f)) => arm!(v, f, U16),
        (TensorData::U8(v), TensorData::U8(f)) => arm!(v, f, U8),
        (TensorData::Bool(v), TensorData::Bool(f)) => arm!(v, f, Bool),
        _ => None,
    }
}

/// A one-element vector holding zero (false) of the same storage variant as `data`.
pub fn zero_like(data: &TensorData) -> TensorData {
    match data {
        TensorData::F64(_) => TensorData::F64(vec![0.0]),
        TensorData::F32(_) => TensorData::F32(vec![0.0]),
        TensorData::F16(_) => TensorData::F16(vec![f16::ZERO]),
        TensorData::BF16(_) => TensorData::BF16(vec![bf16::ZERO]),
        TensorData::I64(_) => TensorData::I64(vec![0]),
        TensorData::I32(_) => TensorData::I32(vec![0]),
        TensorData::I16(_) => TensorData::I16(vec![0]),
        TensorData::I8(_) => TensorData::I8(vec![0]),
        TensorData::U64(_) => TensorData::U64(vec![0]),
        TensorData::U32(_) => TensorData::U32(vec![0]),
        TensorData::U16(_) => TensorData::U16(vec![0]),
        TensorData::U8(_) => TensorData::U8(vec![0]),
        TensorData::Bool(_) => TensorData::Bool(vec![false]),
    }
}

/// The flat concatenation of several data vectors of one storage variant (`None` if they differ).
pub fn concat_flat(parts: &[&TensorData]) -> Option<TensorData> {
    let first = parts.first()?;
    let total: usize = parts.iter().map(|p| p.len()).sum();
    macro_rules! arm {
        ($variant:ident) => {{
            let mut out = Vec::with_capacity(total);
            for p in parts {
                match p {
                    TensorData::$variant(v) => out.extend_from_slice(v),
                    _ => return None,
                }
            }
            Some(TensorData::$variant(out))
        }};
    }
    match first {
        TensorData::F64(_) => arm!(F64),
        TensorData::F32(_) => arm!(F32),
        TensorData::F16(_) => arm!(F16),
        TensorData::BF16(_) => arm!(BF16),
        TensorData::I64(_) => arm!(I64),
        TensorData::I32(_) => arm!(I32),
        TensorData::I16(_) => arm!(I16),
        TensorData::I8(_) => arm!(I8),
        TensorData::U64(_) => arm!(U64),
        TensorData::U32(_) => arm!(U32),
        TensorData::U16(_) => arm!(U16),
        TensorData::U8(_) => arm!(U8),
        TensorData::Bool(_) => arm!(Bool),
    }
}

/// The input at `port`, or an error naming the missing port.
pub fn input<'a>(node: &Node, inputs: &[&'a Tensor], port: usize) -> Result<&'a Tensor, RefError> {
    inputs.get(port).copied().ok_or_else(|| op_err(node, format!("input {port} is missing")))
}

/// The values of an integer (shape, axis, index) input as i64. Booleans and floats are refused,
/// as OpenVINO's specifications type these inputs as integers.
pub fn int_values(node: &Node, t: &Tensor, what: &str) -> Result<Vec<i64>, RefError> {
    if !t.element_type.is_integer() {
        return Err(op_err(node, format!("{what} must be of an integer type, got {}", t.element_type)));
    }
    Ok(t.to_i64_vec())
}

/// A scalar (or one-element) integer input.
pub fn int_scalar(node: &Node, t: &Tensor, what: &str) -> Result<i64, RefError> {
    let v = int_values(node, t, what)?;
    match v.as_slice() {
        [x] => Ok(*x),
        _ => Err(op_err(node, format!("{what} must hold one value, got {}", v.len()))),
    }
}

/// The values of a float input as f32 (f16/bf16 widened exactly; f64 rounded to nearest).
pub fn float_values(node: &Node, t: &Tensor, what: &str) -> Result<Vec<f32>, RefError> {
    if !t.element_type.is_float() {
        return Err(op_err(node, format!("{what} must be of a floating-point type, got {}", t.element_type)));
    }
    Ok(t.to_f32_vec())
}

/// Builds an output of float type `et` from f32 results (rounded to nearest for f16/bf16, widened
/// for f64), so an op on f16 data returns f16 data.
pub fn float_tensor(node: &Node, et: ElementType, shape: Vec<usize>, values: Vec<f32>) -> Result<Tensor, RefError> {
    let data = match et {
        ElementType::F16 => TensorData::F16(values.into_iter().map(f16::from_f32).collect()),
        ElementType::BF16 => TensorData::BF16(values.into_iter().map(bf16::from_f32).collect()),
        ElementType::F64 => TensorData::F64(values.into_iter().map(f64::from).collect()),
        _ => TensorData::F32(values),
    };
    let et = if et.is_float() { et } else { ElementType::F32 };
    Tensor::new(et, shape, data).map_err(|e| op_err(node, e.to_string()))
}

/// A tensor with the element type of `like` and new shape and data.
pub fn tensor_like(node: &Node, like: &Tensor, shape: Vec<usize>, data: TensorData) -> Result<Tensor, RefError> {
    Tensor::new(like.element_type, shape, data).map_err(|e| op_err(node, e.to_string()))
}

/// The element count of `shape`, refusing overflow and counts above [`MAX_OUTPUT_ELEMENTS`].
pub fn checked_count(node: &Node, shape: &[usize]) -> Result<usize, RefError> {
    conform_ir::element_count(shape)
        .filter(|&n| n <= MAX_OUTPUT_ELEMENTS)
        .ok_or_else(|| op_err(node, format!("output shape {shape:?} has more than {MAX_OUTPUT_ELEMENTS} elements")))
}

/// Normalizes an axis in `[-rank, rank)` to `[0, rank)`.
pub fn norm_axis(node: &Node, axis: i64, rank: usize) -> Result<usize, RefError> {
    let r = rank as i64;
    let a = if axis < 0 { axis + r } else { axis };
    if (0..r).contains(&a) {
        Ok(a as usize)
    } else {
        Err(op_err(node, format!("axis {axis} is out of range for rank {rank}")))
    }
}

/// Row-major strides.
pub fn strides(shape: &[usize]) -> Vec<usize> {
    crate::broadcast::strides(shape)
}

/// Converts a dimension value to usize, refusing negatives.
pub fn to_dim(node: &Node, v: i64, what: &str) -> Result<usize, RefError> {
    usize::try_from(v).map_err(|_| op_err(node, format!("{what}: dimension {v} is negative")))
}

/// Flat input positions of the output of an op that picks, independently per axis, which input
/// coordinate each output coordinate reads (`None` = no input element, e.g. padding).
/// `per_axis[k][o]` is the input coordinate on axis k for output coordinate o; the result lists
/// output elements in row-major order.
pub fn per_axis_positions(in_shape: &[usize], per_axis: &[Vec<Option<usize>>]) -> Vec<Option<usize>> {
    let mut acc: Vec<Option<usize>> = vec![Some(0)];
    for (k, picks) in per_axis.iter().enumerate() {
        let dim = in_shape.get(k).copied().unwrap_or(1);
        let mut next = Vec::with_capacity(acc.len() * picks.len());
        for p in &acc {
            for c in picks {
                next.push(match (p, c) {
                    (Some(p), Some(c)) => Some(p * dim + c),
                    _ => None,
                });
            }
        }
        acc = next;
    }
    acc
}
