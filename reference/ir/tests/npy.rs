//! `.npy` reading and writing against files NumPy wrote (fixtures made by
//! `tests/fixtures/npy/gen_npy.py`, and the corpus inputs and expected outputs).

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

mod common;

use conform_ir::npy::{npy_bytes, read_npy, read_npy_bytes, write_npy, NpyError};
use conform_ir::{ElementType, Tensor, TensorData};
use half::f16;
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/npy").join(name)
}

#[test]
fn reads_every_supported_dtype_numpy_wrote() {
    // Values as gen_npy.py wrote them.
    let t = read_npy(&fixture("f32_2x3.npy")).unwrap();
    assert_eq!((t.element_type, t.shape.clone()), (ElementType::F32, vec![2, 3]));
    assert_eq!(t.data, TensorData::F32(vec![-1.0, -0.5, 0.0, 0.5, 1.0, 1.5]));
    let t = read_npy(&fixture("f16_3.npy")).unwrap();
    assert_eq!(t.data, TensorData::F16(vec![f16::from_f32(1.0), f16::from_f32(-2.5), f16::MAX]));
    let t = read_npy(&fixture("f64_scalar.npy")).unwrap();
    assert_eq!((t.shape.clone(), t.data), (vec![], TensorData::F64(vec![3.25])));
    let t = read_npy(&fixture("i64_2x2.npy")).unwrap();
    assert_eq!(t.data, TensorData::I64(vec![1, -2, 3, 1 << 40]));
    let t = read_npy(&fixture("i32_4.npy")).unwrap();
    assert_eq!(t.data, TensorData::I32(vec![-1, 0, 1, i32::MAX]));
    let t = read_npy(&fixture("i8_3.npy")).unwrap();
    assert_eq!(t.data, TensorData::I8(vec![-128, 0, 127]));
    let t = read_npy(&fixture("u8_2x2.npy")).unwrap();
    assert_eq!((t.shape.clone(), t.data), (vec![2, 2], TensorData::U8(vec![0, 1, 254, 255])));
    let t = read_npy(&fixture("bool_3.npy")).unwrap();
    assert_eq!((t.element_type, t.data), (ElementType::Boolean, TensorData::Bool(vec![true, false, true])));
    let t = read_npy(&fixture("f32_empty_0x3.npy")).unwrap();
    assert_eq!((t.shape.clone(), t.len()), (vec![0, 3], 0));
}

#[test]
fn version_2_and_3_headers_read_like_version_1() {
    let v1 = read_npy(&fixture("f32_2x3.npy")).unwrap();
    assert_eq!(read_npy(&fixture("f32_2x3_v2.npy")).unwrap(), v1);
    assert_eq!(read_npy(&fixture("f32_2x3_v3.npy")).unwrap(), v1);
}

#[test]
fn writing_gives_numpys_bytes() {
    for name in ["f32_2x3", "f16_3", "f64_scalar", "i64_2x2", "i32_4", "i8_3", "u8_2x2", "bool_3", "f32_empty_0x3"] {
        let path = fixture(&format!("{name}.npy"));
        let t = read_npy(&path).unwrap();
        assert_eq!(npy_bytes(&t).unwrap(), std::fs::read(&path).unwrap(), "{name}");
    }
    // And every corpus .npy (inputs, OpenVINO's outputs), byte for byte.
    let mut n = 0;
    for xml in common::corpus_models() {
        for e in std::fs::read_dir(xml.parent().unwrap()).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "npy") {
                let bytes = std::fs::read(&p).unwrap();
                let t = read_npy_bytes(&bytes, &p).unwrap();
                assert_eq!(npy_bytes(&t).unwrap(), bytes, "{}", p.display());
                n += 1;
            }
        }
    }
    assert!(n > 100, "only {n} corpus .npy files");
}

#[test]
fn write_npy_then_read_npy_gives_the_tensor_back() {
    let t = Tensor::from_f32(vec![1, 2, 2], vec![0.1, f32::NAN, -0.0, f32::INFINITY]).unwrap();
    let p = std::env::temp_dir().join(format!("conform-ir-npy-{}.npy", std::process::id()));
    write_npy(&p, &t).unwrap();
    let back = read_npy(&p).unwrap();
    std::fs::remove_file(&p).unwrap();
    let bits = |t: &Tensor| t.as_f32().unwrap().iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&back), bits(&t));
    assert_eq!(back.shape, vec![1, 2, 2]);
}

fn read_err(bytes: &[u8]) -> NpyError {
    read_npy_bytes(bytes, Path::new("x.npy")).unwrap_err()
}

#[test]
fn fortran_order_is_a_typed_error() {
    let e = read_npy(&fixture("f32_fortran_2x3.npy")).unwrap_err();
    assert!(matches!(e, NpyError::FortranOrder { .. }), "{e}");
    assert!(e.to_string().contains("Fortran"), "{e}");
}

#[test]
fn big_endian_is_a_typed_error() {
    let e = read_npy(&fixture("f32_bigendian_3.npy")).unwrap_err();
    assert!(matches!(&e, NpyError::BigEndian { descr, .. } if descr == ">f4"), "{e}");
}

#[test]
fn other_dtypes_are_typed_errors() {
    let e = read_npy(&fixture("c64_2.npy")).unwrap_err();
    assert!(matches!(&e, NpyError::UnsupportedDtype { descr, .. } if descr == "<c8"), "{e}");
    let e = read_npy(&fixture("structured_2.npy")).unwrap_err();
    assert!(matches!(&e, NpyError::Format { message, .. } if message.contains("structured")), "{e}");
    // Writing a type NumPy has no dtype for.
    let t = Tensor::new(ElementType::BF16, vec![1], TensorData::BF16(vec![half::bf16::ONE])).unwrap();
    assert!(matches!(npy_bytes(&t), Err(NpyError::UnsupportedDtype { .. })));
}

#[test]
fn truncated_data_is_a_typed_error() {
    let bytes = std::fs::read(fixture("f32_2x3.npy")).unwrap();
    let e = read_err(&bytes[..bytes.len() - 3]);
    assert!(matches!(e, NpyError::Truncated { expected: 24, actual: 21, .. }), "{e}");
    // Extra bytes after the data are an error too.
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(matches!(read_err(&longer), NpyError::Format { .. }));
}

#[test]
fn bad_magic_headers_and_shapes_are_typed_errors() {
    assert!(matches!(read_err(b""), NpyError::Format { .. }));
    assert!(matches!(read_err(b"PK\x03\x04 not an npy at all"), NpyError::Format { .. }));
    let good = std::fs::read(fixture("f32_2x3.npy")).unwrap();
    // Unknown major version.
    let mut v = good.clone();
    v[6] = 9;
    assert!(matches!(read_err(&v), NpyError::Format { message, .. } if message.contains("9.0")));
    // Header length past the end of the file.
    let mut v = good.clone();
    v[8] = 0xff;
    v[9] = 0x7f;
    assert!(matches!(read_err(&v), NpyError::Format { .. }));
    // A shape whose element count overflows, and a negative dimension.
    for shape in ["(4294967296, 4294967296, 16)", "(-1, 3)  "] {
        let h = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}");
        let mut v = b"\x93NUMPY\x01\x00".to_vec();
        v.extend_from_slice(&(h.len() as u16).to_le_bytes());
        v.extend_from_slice(h.as_bytes());
        assert!(matches!(read_err(&v), NpyError::Format { .. }), "{shape}");
    }
}
