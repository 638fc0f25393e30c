//! What every kernel needs: the node, typed access to its inputs, checked allocation and the
//! fallback's error type.

use conform_ir::shape::fmt_shape;
use conform_ir::{element_count, ElementType, LayerRef, Node, Tensor, TensorData};
use std::borrow::Cow;

/// A node the FP32 kernels cannot evaluate (bad shapes, attributes or input values), with the layer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{layer}: {message}")]
pub struct FallbackError {
    /// The layer.
    pub layer: LayerRef,
    /// What is wrong.
    pub message: String,
}

/// The largest single buffer a kernel allocates (16 GiB): shapes computed from input values
/// (Pad amounts, Reshape targets, Interpolate scales) could otherwise ask for absurd sizes.
pub const MAX_TENSOR_BYTES: u64 = 1 << 34;

/// One node and its input values.
pub(crate) struct Ctx<'a> {
    /// The node being evaluated.
    pub node: &'a Node,
    /// Its input values in input-port order.
    pub inputs: &'a [&'a Tensor],
}

impl<'a> Ctx<'a> {
    /// An error about this node.
    pub fn err(&self, message: impl Into<String>) -> FallbackError {
        FallbackError { layer: self.node.layer_ref(), message: message.into() }
    }

    /// Fails unless the node has between `min` and `max` inputs.
    pub fn expect_inputs(&self, min: usize, max: usize) -> Result<(), FallbackError> {
        let n = self.inputs.len();
        if n < min || n > max {
            let want = if min == max { format!("{min}") } else { format!("{min} to {max}") };
            return Err(self.err(format!("expects {want} inputs, got {n}")));
        }
        Ok(())
    }

    /// Input `i`.
    pub fn input(&self, i: usize) -> Result<&'a Tensor, FallbackError> {
        self.inputs.get(i).copied().ok_or_else(|| self.err(format!("input {i} is missing")))
    }

    /// Input `i` as f32 values: borrowed when it is f32, widened exactly from f16/bf16, rounded from
    /// f64. Integer inputs are refused: no op of this fallback does float arithmetic on them.
    pub fn f32_input(&self, i: usize) -> Result<(Cow<'a, [f32]>, &'a [usize]), FallbackError> {
        let t = self.input(i)?;
        match &t.data {
            TensorData::F32(v) => Ok((Cow::Borrowed(v.as_slice()), t.shape.as_slice())),
            TensorData::F16(_) | TensorData::BF16(_) | TensorData::F64(_) => {
                Ok((Cow::Owned(t.to_f32_vec()), t.shape.as_slice()))
            }
            _ => Err(self.err(format!("input {i} has element type {}, a float type is required", t.element_type))),
        }
    }

    /// Input `i` as integers (shape, axis and index inputs), refusing float tensors.
    pub fn int_input(&self, i: usize) -> Result<Vec<i64>, FallbackError> {
        let t = self.input(i)?;
        if t.element_type.is_float() {
            return Err(self.err(format!("input {i} has element type {}, an integer type is required", t.element_type)));
        }
        Ok(t.to_i64_vec())
    }

    /// The single value of a scalar (or one-element) float input.
    pub fn f32_scalar(&self, i: usize) -> Result<f32, FallbackError> {
        let (v, s) = self.f32_input(i)?;
        if v.len() != 1 {
            return Err(self.err(format!("input {i} must hold one value, it has shape {}", fmt_shape(s))));
        }
        Ok(v[0])
    }

    /// Normalizes a possibly negative axis against `rank`.
    pub fn axis(&self, axis: i64, rank: usize) -> Result<usize, FallbackError> {
        let r = rank as i64;
        let a = if axis < 0 { axis + r } else { axis };
        if a < 0 || a >= r {
            return Err(self.err(format!("axis {axis} is out of range for rank {rank}")));
        }
        Ok(a as usize)
    }

    /// The element count of `shape`, refusing overflow.
    pub fn count(&self, shape: &[usize]) -> Result<usize, FallbackError> {
        element_count(shape).ok_or_else(|| self.err(format!("shape {} has too many elements", fmt_shape(shape))))
    }

    /// A zero-filled f32 buffer of `n` elements, failing (not aborting) when it cannot be allocated.
    pub fn zeros(&self, n: usize) -> Result<Vec<f32>, FallbackError> {
        self.filled(n, 0.0f32)
    }

    /// A buffer of `n` copies of `v`, failing (not aborting) when it cannot be allocated.
    pub fn filled<T: Clone>(&self, n: usize, v: T) -> Result<Vec<T>, FallbackError> {
        let mut out = self.with_capacity(n)?;
        out.resize(n, v);
        Ok(out)
    }

    /// An empty buffer with room for `n` elements, failing when it cannot be allocated or would
    /// exceed [`MAX_TENSOR_BYTES`] (untrusted shapes must not make the engine page itself to death).
    pub fn with_capacity<T>(&self, n: usize) -> Result<Vec<T>, FallbackError> {
        let bytes = n.saturating_mul(std::mem::size_of::<T>().max(1));
        if bytes as u64 > MAX_TENSOR_BYTES {
            return Err(self.err(format!("a buffer of {n} elements ({bytes} bytes) exceeds the fallback's limit")));
        }
        let mut out = Vec::new();
        out.try_reserve_exact(n)
            .map_err(|_| self.err(format!("cannot allocate {n} elements of {} bytes", std::mem::size_of::<T>())))?;
        Ok(out)
    }

    /// A float output computed in f32, stored in the float type of input 0 (f16/bf16 rounded to
    /// nearest even, f64 widened; f32 otherwise), as the reference stores results.
    pub fn f32_tensor(&self, shape: Vec<usize>, data: Vec<f32>) -> Result<Tensor, FallbackError> {
        let like = self.inputs.first().map(|t| t.element_type).unwrap_or(ElementType::F32);
        self.float_tensor(like, shape, data)
    }

    /// A float output computed in f32, stored in element type `like` when it is a float type.
    pub fn float_tensor(&self, like: ElementType, shape: Vec<usize>, data: Vec<f32>) -> Result<Tensor, FallbackError> {
        let (et, data) = match like {
            ElementType::F16 => (like, TensorData::F16(data.into_iter().map(half::f16::from_f32).collect())),
            ElementType::BF16 => (like, TensorData::BF16(data.into_iter().map(half::bf16::from_f32).collect())),
            ElementType::F64 => (like, TensorData::F64(data.into_iter().map(f64::from).collect())),
            _ => (ElementType::F32, TensorData::F32(data)),
        };
        self.tensor(et, shape, data)
    }

    /// A tensor of any type, checking that data and shape agree.
    pub fn tensor(&self, et: ElementType, shape: Vec<usize>, data: TensorData) -> Result<Tensor, FallbackError> {
        Tensor::new(et, shape, data).map_err(|e| self.err(e.to_string()))
    }
}
