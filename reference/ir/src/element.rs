//! Element types of OpenVINO IR tensors, with the spellings the IR uses and OpenVINO's bit packing.
//!
//! Layer attributes spell types in lower case (`element_type="f32"`, `destination_type="i8"`); port
//! `precision` attributes use upper case (`FP32`, `I8`, `BIN` for u1). See SPEC.md §5.

use std::fmt;

/// An element type of an IR tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ElementType {
    F64,
    F32,
    F16,
    BF16,
    I64,
    I32,
    I16,
    I8,
    U64,
    U32,
    U16,
    U8,
    /// Signed 4-bit, two per byte, element 2k in the low nibble.
    I4,
    /// Unsigned 4-bit, two per byte, element 2k in the low nibble.
    U4,
    /// One bit, eight per byte, element 0 in bit 7.
    U1,
    /// One byte per element, 0 or 1.
    Boolean,
}

impl ElementType {
    /// Every element type this crate reads.
    pub const ALL: [ElementType; 16] = [
        Self::F64,
        Self::F32,
        Self::F16,
        Self::BF16,
        Self::I64,
        Self::I32,
        Self::I16,
        Self::I8,
        Self::U64,
        Self::U32,
        Self::U16,
        Self::U8,
        Self::I4,
        Self::U4,
        Self::U1,
        Self::Boolean,
    ];

    /// Parses the lower-case spelling of layer attributes (`f32`, `i8`, `boolean`, ...).
    pub fn from_ir_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.ir_name() == s)
    }

    /// The lower-case spelling used in layer attributes.
    pub fn ir_name(self) -> &'static str {
        match self {
            Self::F64 => "f64",
            Self::F32 => "f32",
            Self::F16 => "f16",
            Self::BF16 => "bf16",
            Self::I64 => "i64",
            Self::I32 => "i32",
            Self::I16 => "i16",
            Self::I8 => "i8",
            Self::U64 => "u64",
            Self::U32 => "u32",
            Self::U16 => "u16",
            Self::U8 => "u8",
            Self::I4 => "i4",
            Self::U4 => "u4",
            Self::U1 => "u1",
            Self::Boolean => "boolean",
        }
    }

    /// Parses the upper-case spelling of port `precision` attributes (`FP32`, `I8`, `BIN`, `BOOL`).
    pub fn from_port_precision(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.port_precision() == s)
    }

    /// The upper-case spelling used in port `precision` attributes.
    pub fn port_precision(self) -> &'static str {
        match self {
            Self::F64 => "FP64",
            Self::F32 => "FP32",
            Self::F16 => "FP16",
            Self::BF16 => "BF16",
            Self::I64 => "I64",
            Self::I32 => "I32",
            Self::I16 => "I16",
            Self::I8 => "I8",
            Self::U64 => "U64",
            Self::U32 => "U32",
            Self::U16 => "U16",
            Self::U8 => "U8",
            Self::I4 => "I4",
            Self::U4 => "U4",
            Self::U1 => "BIN",
            Self::Boolean => "BOOL",
        }
    }

    /// Storage bits per element.
    pub fn bits(self) -> u64 {
        match self {
            Self::F64 | Self::I64 | Self::U64 => 64,
            Self::F32 | Self::I32 | Self::U32 => 32,
            Self::F16 | Self::BF16 | Self::I16 | Self::U16 => 16,
            Self::I8 | Self::U8 | Self::Boolean => 8,
            Self::I4 | Self::U4 => 4,
            Self::U1 => 1,
        }
    }

    /// Bytes needed to store `n` elements, `ceil(n·bits/8)`, or `None` on overflow.
    pub fn storage_bytes(self, n: u64) -> Option<u64> {
        n.checked_mul(self.bits()).map(|b| b.div_ceil(8))
    }

    /// True for f64, f32, f16 and bf16.
    pub fn is_float(self) -> bool {
        matches!(self, Self::F64 | Self::F32 | Self::F16 | Self::BF16)
    }

    /// True for the signed and unsigned integer types (boolean excluded).
    pub fn is_integer(self) -> bool {
        !self.is_float() && self != Self::Boolean
    }

    /// True for types with a sign (floats and i*).
    pub fn is_signed(self) -> bool {
        matches!(
            self,
            Self::F64 | Self::F32 | Self::F16 | Self::BF16 | Self::I64 | Self::I32 | Self::I16 | Self::I8 | Self::I4
        )
    }
}

impl fmt::Display for ElementType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.ir_name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_round_trip() {
        for t in ElementType::ALL {
            assert_eq!(ElementType::from_ir_name(t.ir_name()), Some(t));
            assert_eq!(ElementType::from_port_precision(t.port_precision()), Some(t));
        }
        assert_eq!(ElementType::from_port_precision("BIN"), Some(ElementType::U1));
        assert_eq!(ElementType::from_ir_name("f8e4m3"), None);
    }

    #[test]
    fn storage_rounds_up_partial_bytes() {
        assert_eq!(ElementType::I4.storage_bytes(3), Some(2));
        assert_eq!(ElementType::U1.storage_bytes(9), Some(2));
        assert_eq!(ElementType::F32.storage_bytes(u64::MAX), None);
    }
}
