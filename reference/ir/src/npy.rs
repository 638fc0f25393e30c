//! `.npy` files (NumPy's array format, versions 1.0, 2.0 and 3.0) to and from [`Tensor`].
//!
//! Read: little-endian (or byte-order-free one-byte) `f32 f16 f64 i64 i32 i16 i8 u64 u32 u16 u8
//! bool`, C order. Fortran order, big-endian data, other dtypes, truncated data and trailing bytes
//! are typed errors. The header is limited to [`MAX_HEADER_LEN`] bytes (NumPy's own default limit
//! in `np.load` is 10,000), and the data length is checked against the file before anything is
//! allocated from the shape.
//!
//! Write: the bytes NumPy 2 writes with `np.save` (version 1.0 header, keys sorted, the 21-digit
//! growth space after the shape, padded with spaces to a 64-byte boundary and ended by `\n`).

use crate::element::ElementType;
use crate::tensor::{Tensor, TensorData};
use std::path::{Path, PathBuf};

/// Largest header accepted, in bytes.
pub const MAX_HEADER_LEN: usize = 1 << 16;
/// Largest rank accepted.
pub const MAX_RANK: usize = 64;

const MAGIC: &[u8; 6] = b"\x93NUMPY";

/// Everything that can go wrong reading or writing a `.npy`.
#[derive(Debug, thiserror::Error)]
pub enum NpyError {
    /// The file could not be read.
    #[error("{path}: cannot read: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file could not be written.
    #[error("{path}: cannot write: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// Not a `.npy`, or a header that does not parse.
    #[error("{path}: not a valid .npy file: {message}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A dtype this reader or writer does not handle.
    #[error("{path}: unsupported dtype {descr} (supported: <f4 <f2 <f8 <i8 <i4 <i2 |i1 <u8 <u4 <u2 |u1 |b1)")]
    UnsupportedDtype {
        /// The file.
        path: PathBuf,
        /// The dtype as written (or the element type that has no dtype).
        descr: String,
    },
    /// Big-endian data.
    #[error("{path}: big-endian dtype {descr} is not supported (save little-endian data)")]
    BigEndian {
        /// The file.
        path: PathBuf,
        /// The dtype as written.
        descr: String,
    },
    /// Fortran (column-major) order.
    #[error("{path}: Fortran-order arrays are not supported (save with np.ascontiguousarray)")]
    FortranOrder {
        /// The file.
        path: PathBuf,
    },
    /// Fewer data bytes than the shape needs.
    #[error("{path}: truncated data: the header's shape and dtype need {expected} bytes, the file holds {actual}")]
    Truncated {
        /// The file.
        path: PathBuf,
        /// Bytes the shape needs.
        expected: u64,
        /// Bytes present.
        actual: u64,
    },
}

fn format_err(path: &Path, message: impl Into<String>) -> NpyError {
    NpyError::Format { path: path.to_path_buf(), message: message.into() }
}

/// Reads a `.npy` file.
pub fn read_npy(path: &Path) -> Result<Tensor, NpyError> {
    let bytes = std::fs::read(path).map_err(|source| NpyError::Io { path: path.to_path_buf(), source })?;
    read_npy_bytes(&bytes, path)
}

/// Parses `.npy` bytes; `path` names the file in errors.
pub fn read_npy_bytes(bytes: &[u8], path: &Path) -> Result<Tensor, NpyError> {
    if bytes.len() < 10 || &bytes[..6] != MAGIC {
        return Err(format_err(path, "the file does not start with the magic string \\x93NUMPY"));
    }
    let (major, minor) = (bytes[6], bytes[7]);
    let (header_len, header_start) = match major {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 => {
            let b = bytes.get(8..12).ok_or_else(|| format_err(path, "the header length is truncated"))?;
            (u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize, 12)
        }
        _ => {
            return Err(format_err(
                path,
                format!("format version {major}.{minor} is not supported (1.0, 2.0, 3.0 are)"),
            ))
        }
    };
    if header_len > MAX_HEADER_LEN {
        return Err(format_err(path, format!("the header is {header_len} bytes, above the limit of {MAX_HEADER_LEN}")));
    }
    let header = bytes
        .get(header_start..header_start + header_len)
        .ok_or_else(|| format_err(path, format!("the header ({header_len} bytes) is truncated")))?;
    // Versions 1 and 2 are latin-1, version 3 is UTF-8; the keys and values we accept are ASCII.
    let header = std::str::from_utf8(header).map_err(|_| format_err(path, "the header is not ASCII/UTF-8 text"))?;
    let h = parse_header(header).map_err(|m| format_err(path, format!("header {:?}: {m}", truncate(header))))?;
    if h.fortran_order {
        return Err(NpyError::FortranOrder { path: path.to_path_buf() });
    }
    let (et, size) = dtype(&h.descr, path)?;
    if h.shape.len() > MAX_RANK {
        return Err(format_err(path, format!("rank {} is above the limit of {MAX_RANK}", h.shape.len())));
    }
    let count = h
        .shape
        .iter()
        .try_fold(1u64, |a, &d| a.checked_mul(d))
        .ok_or_else(|| format_err(path, "the shape's element count overflows 64 bits"))?;
    let expected = count.checked_mul(size).ok_or_else(|| format_err(path, "the data size overflows 64 bits"))?;
    let data = &bytes[header_start + header_len..];
    if (data.len() as u64) < expected {
        return Err(NpyError::Truncated { path: path.to_path_buf(), expected, actual: data.len() as u64 });
    }
    if data.len() as u64 > expected {
        return Err(format_err(path, format!("{} bytes follow the data", data.len() as u64 - expected)));
    }
    // The shape fits in memory: its byte size equals a slice we hold.
    let shape: Vec<usize> = h.shape.iter().map(|&d| d as usize).collect();
    let n = count as usize;
    Tensor::new(et, shape, crate::model::decode(et, data, n)).map_err(|e| format_err(path, e.to_string()))
}

/// Writes a tensor as a `.npy` file.
pub fn write_npy(path: &Path, tensor: &Tensor) -> Result<(), NpyError> {
    let bytes = npy_bytes_for(tensor, path)?;
    std::fs::write(path, bytes).map_err(|source| NpyError::Write { path: path.to_path_buf(), source })
}

/// The `.npy` bytes of a tensor, as `np.save` writes them.
pub fn npy_bytes(tensor: &Tensor) -> Result<Vec<u8>, NpyError> {
    npy_bytes_for(tensor, Path::new("<memory>"))
}

fn npy_bytes_for(tensor: &Tensor, path: &Path) -> Result<Vec<u8>, NpyError> {
    let descr = match (tensor.element_type, &tensor.data) {
        (ElementType::F32, TensorData::F32(_)) => "<f4",
        (ElementType::F16, TensorData::F16(_)) => "<f2",
        (ElementType::F64, TensorData::F64(_)) => "<f8",
        (ElementType::I64, TensorData::I64(_)) => "<i8",
        (ElementType::I32, TensorData::I32(_)) => "<i4",
        (ElementType::I16, TensorData::I16(_)) => "<i2",
        (ElementType::I8, TensorData::I8(_)) => "|i1",
        (ElementType::U64, TensorData::U64(_)) => "<u8",
        (ElementType::U32, TensorData::U32(_)) => "<u4",
        (ElementType::U16, TensorData::U16(_)) => "<u2",
        (ElementType::U8, TensorData::U8(_)) => "|u1",
        (ElementType::Boolean, TensorData::Bool(_)) => "|b1",
        (et, _) => return Err(NpyError::UnsupportedDtype { path: path.to_path_buf(), descr: et.to_string() }),
    };
    // `repr` of a Python tuple: `()`, `(3,)`, `(1, 2)`.
    let shape = match tensor.shape.as_slice() {
        [] => "()".to_string(),
        [d] => format!("({d},)"),
        dims => format!("({})", dims.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")),
    };
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    // NumPy leaves room to grow the first axis in place (GROWTH_AXIS_MAX_DIGITS = 21).
    if let Some(first) = tensor.shape.first() {
        header.push_str(&" ".repeat(21usize.saturating_sub(first.to_string().len())));
    }
    let hlen = header.len() + 1;
    // Version 1.0 has a 2-byte header length; only a rank far above MAX_RANK needs 2.0 (4 bytes).
    let v1_total = hlen + 64 - ((8 + 2 + hlen) % 64);
    let mut out = Vec::with_capacity(16 + v1_total + tensor.len() * 8);
    out.extend_from_slice(MAGIC);
    let padlen = match u16::try_from(v1_total) {
        Ok(t) => {
            out.extend_from_slice(&[1, 0]);
            out.extend_from_slice(&t.to_le_bytes());
            v1_total - hlen
        }
        Err(_) => {
            let padlen = 64 - ((8 + 4 + hlen) % 64);
            out.extend_from_slice(&[2, 0]);
            out.extend_from_slice(&((hlen + padlen) as u32).to_le_bytes());
            padlen
        }
    };
    out.extend_from_slice(header.as_bytes());
    out.extend(std::iter::repeat_n(b' ', padlen));
    out.push(b'\n');
    out.extend(crate::model::encode(tensor.element_type, &tensor.data));
    Ok(out)
}

fn truncate(s: &str) -> String {
    let mut t: String = s.chars().take(120).collect();
    if s.chars().count() > 120 {
        t.push('…');
    }
    t
}

/// Element type and item size for a dtype string.
fn dtype(descr: &str, path: &Path) -> Result<(ElementType, u64), NpyError> {
    let unsupported = || NpyError::UnsupportedDtype { path: path.to_path_buf(), descr: descr.to_string() };
    let mut chars = descr.chars();
    let order = chars.next().ok_or_else(unsupported)?;
    let rest = chars.as_str();
    let (et, size) = match rest {
        "f4" => (ElementType::F32, 4),
        "f2" => (ElementType::F16, 2),
        "f8" => (ElementType::F64, 8),
        "i8" => (ElementType::I64, 8),
        "i4" => (ElementType::I32, 4),
        "i2" => (ElementType::I16, 2),
        "i1" => (ElementType::I8, 1),
        "u8" => (ElementType::U64, 8),
        "u4" => (ElementType::U32, 4),
        "u2" => (ElementType::U16, 2),
        "u1" => (ElementType::U8, 1),
        "b1" => (ElementType::Boolean, 1),
        _ => return Err(unsupported()),
    };
    match order {
        // '=' is native order: this crate only runs little-endian targets' data layout.
        '<' | '=' => Ok((et, size)),
        '|' if size == 1 => Ok((et, size)),
        '>' if size == 1 => Ok((et, size)),
        '>' => Err(NpyError::BigEndian { path: path.to_path_buf(), descr: descr.to_string() }),
        _ => Err(unsupported()),
    }
}

/// The three header keys.
struct Header {
    descr: String,
    fortran_order: bool,
    shape: Vec<u64>,
}

/// Parses the Python dict literal of a header: `{'descr': '<f4', 'fortran_order': False,
/// 'shape': (2, 3), }`. Only the forms NumPy writes for plain dtypes are accepted.
fn parse_header(s: &str) -> Result<Header, String> {
    let mut p = Parser { s: s.as_bytes(), i: 0 };
    p.ws();
    p.expect(b'{')?;
    let (mut descr, mut fortran, mut shape) = (None, None, None);
    loop {
        p.ws();
        if p.eat(b'}') {
            break;
        }
        let key = p.string()?;
        p.ws();
        p.expect(b':')?;
        p.ws();
        match key.as_str() {
            "descr" => {
                if p.peek() != Some(b'\'') && p.peek() != Some(b'"') {
                    return Err("structured dtypes are not supported".into());
                }
                descr = Some(p.string()?);
            }
            "fortran_order" => fortran = Some(p.boolean()?),
            "shape" => shape = Some(p.tuple()?),
            other => return Err(format!("unexpected key '{other}'")),
        }
        p.ws();
        if !p.eat(b',') {
            p.ws();
            p.expect(b'}')?;
            break;
        }
    }
    p.ws();
    if p.i != p.s.len() {
        return Err("text after the dictionary".into());
    }
    Ok(Header {
        descr: descr.ok_or("no 'descr'")?,
        fortran_order: fortran.ok_or("no 'fortran_order'")?,
        shape: shape.ok_or("no 'shape'")?,
    })
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }
    fn ws(&mut self) {
        while self.peek().is_some_and(|c| c.is_ascii_whitespace()) {
            self.i += 1;
        }
    }
    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn expect(&mut self, c: u8) -> Result<(), String> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(format!("expected '{}' at byte {}", c as char, self.i))
        }
    }
    fn string(&mut self) -> Result<String, String> {
        let q =
            self.peek().filter(|&c| c == b'\'' || c == b'"').ok_or(format!("expected a string at byte {}", self.i))?;
        self.i += 1;
        let start = self.i;
        while let Some(c) = self.peek() {
            if c == q {
                let v = String::from_utf8_lossy(&self.s[start..self.i]).into_owned();
                self.i += 1;
                return Ok(v);
            }
            if c == b'\\' {
                return Err("escapes in strings are not supported".into());
            }
            self.i += 1;
        }
        Err("unterminated string".into())
    }
    fn boolean(&mut self) -> Result<bool, String> {
        if self.s[self.i..].starts_with(b"True") {
            self.i += 4;
            Ok(true)
        } else if self.s[self.i..].starts_with(b"False") {
            self.i += 5;
            Ok(false)
        } else {
            Err(format!("expected True or False at byte {}", self.i))
        }
    }
    fn tuple(&mut self) -> Result<Vec<u64>, String> {
        self.expect(b'(')?;
        let mut v = Vec::new();
        loop {
            self.ws();
            if self.eat(b')') {
                return Ok(v);
            }
            let start = self.i;
            while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                self.i += 1;
            }
            // Python 2 era files wrote longs as `3L`.
            let digits = &self.s[start..self.i];
            self.eat(b'L');
            let n: u64 = std::str::from_utf8(digits)
                .ok()
                .and_then(|d| d.parse().ok())
                .ok_or(format!("expected a non-negative integer at byte {start}"))?;
            if v.len() >= MAX_RANK {
                return Err(format!("more than {MAX_RANK} dimensions"));
            }
            v.push(n);
            self.ws();
            if !self.eat(b',') {
                self.ws();
                self.expect(b')')?;
                return Ok(v);
            }
        }
    }
}
