//! Convert-1: element-wise type conversion, as `ov::reference::convert` computes it on x86-64.
//!
//! OpenVINO's reference is `static_cast<TO>(v)` per element (`reference/convert.hpp`), with JIT
//! paths for f32/f16 → i8 (`vcvttps2dq` then the low byte), f32 ↔ f16 (`vcvtps2ph` with
//! round-to-nearest-even) and u8 → f16; sub-byte types go through `lp_convert`
//! (`reference/utils/convert_util.hpp`: to u4/i4 keep the low nibble of `static_cast<u8/i8>`, to u1
//! set the bit when `static_cast<u8>(v) != 0`); to boolean is `static_cast<bool>(v)`.
//!
//! C++ leaves out-of-range float → integer casts undefined; what OpenVINO's x86-64 build produces
//! is the behaviour of the instructions GCC/Clang emit, which this module reproduces:
//! - float → i32: truncation toward zero (`cvttss2si` 32-bit); NaN or out of range → `i32::MIN`;
//! - float → i8/i16/u8/u16: the 32-bit truncation, then the low 8/16 bits (wrap);
//! - float → i64: `cvttss2si` 64-bit, NaN or out of range → `i64::MIN`; float → u32: the 64-bit
//!   truncation's low 32 bits;
//! - float → u64: below 2^63 the 64-bit truncation reinterpreted (negatives wrap), at or above
//!   2^63 `trunc(x − 2^63) ^ 2^63` (≥ 2^64 gives 0);
//! - integer → integer wraps (two's complement); integer → f32/f64 rounds to nearest even;
//!   anything → f16/bf16 goes through f32 first (OpenVINO's `float16(float)` constructor), so f64
//!   and i64 sources round twice, as OpenVINO's do.

use super::data::tensor_like;
use crate::error::{op_err, RefError};
use conform_ir::{ElementType, Node, Tensor, TensorData};
use half::{bf16, f16};

/// Evaluates Convert on one input.
pub fn convert_op(node: &Node, x: &Tensor) -> Result<Tensor, RefError> {
    let dest = node.attr_element_type("destination_type")?;
    let data = convert_data(x, dest);
    let out_like = Tensor { element_type: dest, shape: Vec::new(), data: TensorData::F32(Vec::new()) };
    tensor_like(node, &out_like, x.shape.clone(), data).map_err(|e| op_err(node, format!("Convert: {e}")))
}

/// A source value: floats keep their exact value as f64 (every f32/f16/bf16 is exact in f64),
/// integers and booleans as i128 (exact for every i64 and u64).
#[derive(Clone, Copy)]
enum Src {
    Float(f64),
    Int(i128),
}

fn source_values(t: &Tensor) -> Vec<Src> {
    match &t.data {
        TensorData::F64(v) => v.iter().map(|&x| Src::Float(x)).collect(),
        TensorData::F32(v) => v.iter().map(|&x| Src::Float(f64::from(x))).collect(),
        TensorData::F16(v) => v.iter().map(|x| Src::Float(f64::from(x.to_f32()))).collect(),
        TensorData::BF16(v) => v.iter().map(|x| Src::Float(f64::from(x.to_f32()))).collect(),
        TensorData::I64(v) => v.iter().map(|&x| Src::Int(i128::from(x))).collect(),
        TensorData::I32(v) => v.iter().map(|&x| Src::Int(i128::from(x))).collect(),
        TensorData::I16(v) => v.iter().map(|&x| Src::Int(i128::from(x))).collect(),
        TensorData::I8(v) => v.iter().map(|&x| Src::Int(i128::from(x))).collect(),
        TensorData::U64(v) => v.iter().map(|&x| Src::Int(i128::from(x))).collect(),
        TensorData::U32(v) => v.iter().map(|&x| Src::Int(i128::from(x))).collect(),
        TensorData::U16(v) => v.iter().map(|&x| Src::Int(i128::from(x))).collect(),
        TensorData::U8(v) => v.iter().map(|&x| Src::Int(i128::from(x))).collect(),
        TensorData::Bool(v) => v.iter().map(|&x| Src::Int(i128::from(x))).collect(),
    }
}

const TWO_POW_31: f64 = 2147483648.0;
const TWO_POW_63: f64 = 9223372036854775808.0;

/// `cvttss2si`/`cvttsd2si` with a 32-bit destination (NaN is outside every range).
fn trunc_i32(x: f64) -> i32 {
    let t = x.trunc();
    if !(-TWO_POW_31..TWO_POW_31).contains(&t) {
        i32::MIN
    } else {
        t as i32
    }
}

/// `cvttss2si`/`cvttsd2si` with a 64-bit destination.
fn trunc_i64(x: f64) -> i64 {
    let t = x.trunc();
    if !(-TWO_POW_63..TWO_POW_63).contains(&t) {
        i64::MIN
    } else {
        t as i64
    }
}

/// The compilers' float → u64 sequence (see the module comment).
fn trunc_u64(x: f64) -> u64 {
    if x >= TWO_POW_63 {
        (trunc_i64(x - TWO_POW_63) as u64) ^ (1u64 << 63)
    } else {
        trunc_i64(x) as u64
    }
}

/// The value as f32, the way C++ converts it (`static_cast<float>`): round to nearest even.
fn to_f32(s: Src) -> f32 {
    match s {
        Src::Float(x) => x as f32,
        Src::Int(i) => i as f32,
    }
}

/// The value as it lands in a 32-bit integer register (floats truncated as `cvtt*2si`), from which
/// narrower integer types keep the low bits.
fn to_i32_bits(s: Src) -> i32 {
    match s {
        Src::Float(x) => trunc_i32(x),
        Src::Int(i) => i as i32,
    }
}

/// The value as it lands in a 64-bit integer register.
fn to_i64_bits(s: Src) -> i64 {
    match s {
        Src::Float(x) => trunc_i64(x),
        Src::Int(i) => i as i64,
    }
}

/// Sign-extends the low nibble (i4 storage after `set_i4`/`get_i4`).
fn low_nibble_signed(v: i8) -> i8 {
    (v << 4) >> 4
}

/// Converts every element of `x` to `dest`, in the storage variant `Tensor` uses for `dest`.
pub fn convert_data(x: &Tensor, dest: ElementType) -> TensorData {
    let src = source_values(x);
    let it = src.into_iter();
    match dest {
        ElementType::F64 => TensorData::F64(
            it.map(|s| match s {
                Src::Float(v) => v,
                Src::Int(i) => i as f64,
            })
            .collect(),
        ),
        ElementType::F32 => TensorData::F32(it.map(to_f32).collect()),
        ElementType::F16 => TensorData::F16(it.map(|s| f16::from_f32(to_f32(s))).collect()),
        ElementType::BF16 => TensorData::BF16(it.map(|s| bf16::from_f32(to_f32(s))).collect()),
        ElementType::I64 => TensorData::I64(it.map(to_i64_bits).collect()),
        ElementType::I32 => TensorData::I32(it.map(to_i32_bits).collect()),
        ElementType::I16 => TensorData::I16(it.map(|s| to_i32_bits(s) as i16).collect()),
        ElementType::I8 => TensorData::I8(it.map(|s| to_i32_bits(s) as i8).collect()),
        ElementType::I4 => TensorData::I8(it.map(|s| low_nibble_signed(to_i32_bits(s) as i8)).collect()),
        ElementType::U64 => TensorData::U64(
            it.map(|s| match s {
                Src::Float(v) => trunc_u64(v),
                Src::Int(i) => i as u64,
            })
            .collect(),
        ),
        ElementType::U32 => TensorData::U32(it.map(|s| to_i64_bits(s) as u32).collect()),
        ElementType::U16 => TensorData::U16(it.map(|s| to_i32_bits(s) as u16).collect()),
        ElementType::U8 => TensorData::U8(it.map(|s| to_i32_bits(s) as u8).collect()),
        ElementType::U4 => TensorData::U8(it.map(|s| (to_i32_bits(s) as u8) & 0x0F).collect()),
        ElementType::U1 => TensorData::U8(it.map(|s| u8::from(to_i32_bits(s) as u8 != 0)).collect()),
        ElementType::Boolean => TensorData::Bool(
            it.map(|s| match s {
                // static_cast<bool>: NaN is not zero, so true.
                Src::Float(v) => v != 0.0,
                Src::Int(i) => i != 0,
            })
            .collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn x86_truncation_rules() {
        assert_eq!(trunc_i32(2.9), 2);
        assert_eq!(trunc_i32(-2.9), -2);
        assert_eq!(trunc_i32(f64::NAN), i32::MIN);
        assert_eq!(trunc_i32(3e9), i32::MIN);
        assert_eq!(trunc_i64(-1e19), i64::MIN);
        assert_eq!(trunc_u64(-1.0), u64::MAX);
        assert_eq!(trunc_u64(1e19), 10_000_000_000_000_000_000);
        assert_eq!(trunc_u64(2e19), 0);
        assert_eq!(low_nibble_signed(0x0F), -1);
        assert_eq!(low_nibble_signed(0x17), 7);
    }
}
