//! Dense tensors in row-major (C) order, typed by element type.
//!
//! Sub-byte types are unpacked: i4 into `I8` data, u4 and u1 into `U8` data; the `element_type`
//! field keeps the declared type.

use crate::element::ElementType;
use crate::shape::{element_count, fmt_shape};
use half::{bf16, f16};

/// The elements of a tensor.
#[derive(Debug, Clone, PartialEq)]
pub enum TensorData {
    F64(Vec<f64>),
    F32(Vec<f32>),
    F16(Vec<f16>),
    BF16(Vec<bf16>),
    I64(Vec<i64>),
    I32(Vec<i32>),
    I16(Vec<i16>),
    /// i8, and unpacked i4.
    I8(Vec<i8>),
    U64(Vec<u64>),
    U32(Vec<u32>),
    U16(Vec<u16>),
    /// u8, and unpacked u4 and u1.
    U8(Vec<u8>),
    Bool(Vec<bool>),
}

macro_rules! each_variant {
    ($data:expr, $v:ident => $body:expr) => {
        match $data {
            TensorData::F64($v) => $body,
            TensorData::F32($v) => $body,
            TensorData::F16($v) => $body,
            TensorData::BF16($v) => $body,
            TensorData::I64($v) => $body,
            TensorData::I32($v) => $body,
            TensorData::I16($v) => $body,
            TensorData::I8($v) => $body,
            TensorData::U64($v) => $body,
            TensorData::U32($v) => $body,
            TensorData::U16($v) => $body,
            TensorData::U8($v) => $body,
            TensorData::Bool($v) => $body,
        }
    };
}

impl TensorData {
    /// Number of elements.
    pub fn len(&self) -> usize {
        each_variant!(self, v => v.len())
    }

    /// True when there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A tensor: declared element type, concrete shape and data.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    /// Declared element type (i4/u4/u1 are stored unpacked in `data`).
    pub element_type: ElementType,
    /// Concrete dimensions.
    pub shape: Vec<usize>,
    /// Elements, row-major.
    pub data: TensorData,
}

/// A tensor whose data length does not match its shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("tensor of shape {shape} needs {expected} elements, got {actual}")]
pub struct ShapeMismatch {
    /// The shape, formatted.
    pub shape: String,
    /// Elements the shape needs (`usize::MAX` if the product overflows).
    pub expected: usize,
    /// Elements supplied.
    pub actual: usize,
}

impl Tensor {
    /// Builds a tensor, checking that the data length matches the shape.
    pub fn new(element_type: ElementType, shape: Vec<usize>, data: TensorData) -> Result<Self, ShapeMismatch> {
        let expected = element_count(&shape).unwrap_or(usize::MAX);
        if expected != data.len() {
            return Err(ShapeMismatch { shape: fmt_shape(&shape), expected, actual: data.len() });
        }
        Ok(Tensor { element_type, shape, data })
    }

    /// An f32 tensor.
    pub fn from_f32(shape: Vec<usize>, data: Vec<f32>) -> Result<Self, ShapeMismatch> {
        Self::new(ElementType::F32, shape, TensorData::F32(data))
    }

    /// An i64 tensor.
    pub fn from_i64(shape: Vec<usize>, data: Vec<i64>) -> Result<Self, ShapeMismatch> {
        Self::new(ElementType::I64, shape, TensorData::I64(data))
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// True when the tensor has no elements.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The f32 data, if this is an f32 tensor.
    pub fn as_f32(&self) -> Option<&[f32]> {
        match &self.data {
            TensorData::F32(v) => Some(v),
            _ => None,
        }
    }

    /// Every element converted to f32 the way OpenVINO's `Convert` does for floats and integers
    /// (integers to the nearest f32; f64 rounded to nearest; booleans 0/1).
    pub fn to_f32_vec(&self) -> Vec<f32> {
        match &self.data {
            TensorData::F64(v) => v.iter().map(|&x| x as f32).collect(),
            TensorData::F32(v) => v.clone(),
            TensorData::F16(v) => v.iter().map(|x| x.to_f32()).collect(),
            TensorData::BF16(v) => v.iter().map(|x| x.to_f32()).collect(),
            TensorData::I64(v) => v.iter().map(|&x| x as f32).collect(),
            TensorData::I32(v) => v.iter().map(|&x| x as f32).collect(),
            TensorData::I16(v) => v.iter().map(|&x| x as f32).collect(),
            TensorData::I8(v) => v.iter().map(|&x| x as f32).collect(),
            TensorData::U64(v) => v.iter().map(|&x| x as f32).collect(),
            TensorData::U32(v) => v.iter().map(|&x| x as f32).collect(),
            TensorData::U16(v) => v.iter().map(|&x| x as f32).collect(),
            TensorData::U8(v) => v.iter().map(|&x| x as f32).collect(),
            TensorData::Bool(v) => v.iter().map(|&x| if x { 1.0 } else { 0.0 }).collect(),
        }
    }

    /// Every element as i64 when the tensor is of an integer or boolean type (floats are
    /// truncated toward zero, as a shape input would never carry them). Used for shape and index inputs.
    pub fn to_i64_vec(&self) -> Vec<i64> {
        match &self.data {
            TensorData::F64(v) => v.iter().map(|&x| x as i64).collect(),
            TensorData::F32(v) => v.iter().map(|&x| x as i64).collect(),
            TensorData::F16(v) => v.iter().map(|x| x.to_f32() as i64).collect(),
            TensorData::BF16(v) => v.iter().map(|x| x.to_f32() as i64).collect(),
            TensorData::I64(v) => v.clone(),
            TensorData::I32(v) => v.iter().map(|&x| x as i64).collect(),
            TensorData::I16(v) => v.iter().map(|&x| x as i64).collect(),
            TensorData::I8(v) => v.iter().map(|&x| x as i64).collect(),
            TensorData::U64(v) => v.iter().map(|&x| x.min(i64::MAX as u64) as i64).collect(),
            TensorData::U32(v) => v.iter().map(|&x| x as i64).collect(),
            TensorData::U16(v) => v.iter().map(|&x| x as i64).collect(),
            TensorData::U8(v) => v.iter().map(|&x| x as i64).collect(),
            TensorData::Bool(v) => v.iter().map(|&x| x as i64).collect(),
        }
    }
}
