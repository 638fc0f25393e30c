//! Type-generic element access for the data-movement kernels, which copy elements of any type
//! without arithmetic.

use conform_ir::TensorData;
use half::{bf16, f16};

/// An element type a tensor can hold.
pub(crate) trait Elem: Copy + Send + Sync + 'static {
    /// The value OpenVINO writes for "zero" (Gather out of range, Pad default).
    const ZERO: Self;
    /// The elements, when `d` holds this type.
    fn slice(d: &TensorData) -> Option<&[Self]>;
    /// Wraps a vector as tensor data.
    fn wrap(v: Vec<Self>) -> TensorData;
}

macro_rules! impl_elem {
    ($t:ty, $variant:ident, $zero:expr) => {
        impl Elem for $t {
            const ZERO: Self = $zero;
            fn slice(d: &TensorData) -> Option<&[Self]> {
                match d {
                    TensorData::$variant(v) => Some(v),
                    _ => None,
                }
            }
            fn wrap(v: Vec<Self>) -> TensorData {
                TensorData::$variant(v)
            }
        }
    };
}

impl_elem!(f64, F64, 0.0);
impl_elem!(f32, F32, 0.0);
impl_elem!(f16, F16, f16::ZERO);
impl_elem!(bf16, BF16, bf16::ZERO);
impl_elem!(i64, I64, 0);
impl_elem!(i32, I32, 0);
impl_elem!(i16, I16, 0);
impl_elem!(i8, I8, 0);
impl_elem!(u64, U64, 0);
impl_elem!(u32, U32, 0);
impl_elem!(u16, U16, 0);
impl_elem!(u8, U8, 0);
impl_elem!(bool, Bool, false);

/// Calls the generic function `$f::<T>(args)` with `T` the element type held by `$data`.
macro_rules! dispatch {
    ($data:expr, $f:ident ( $($arg:expr),* $(,)? )) => {
        match $data {
            conform_ir::TensorData::F64(_) => $f::<f64>($($arg),*),
            conform_ir::TensorData::F32(_) => $f::<f32>($($arg),*),
            conform_ir::TensorData::F16(_) => $f::<half::f16>($($arg),*),
            conform_ir::TensorData::BF16(_) => $f::<half::bf16>($($arg),*),
            conform_ir::TensorData::I64(_) => $f::<i64>($($arg),*),
            conform_ir::TensorData::I32(_) => $f::<i32>($($arg),*),
            conform_ir::TensorData::I16(_) => $f::<i16>($($arg),*),
            conform_ir::TensorData::I8(_) => $f::<i8>($($arg),*),
            conform_ir::TensorData::U64(_) => $f::<u64>($($arg),*),
            conform_ir::TensorData::U32(_) => $f::<u32>($($arg),*),
            conform_ir::TensorData::U16(_) => $f::<u16>($($arg),*),
            conform_ir::TensorData::U8(_) => $f::<u8>($($arg),*),
            conform_ir::TensorData::Bool(_) => $f::<bool>($($arg),*),
        }
    };
}
pub(crate) use dispatch;
