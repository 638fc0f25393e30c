//! read → write → read gives an equal model for every corpus IR, and the written XML has the
//! shape OpenVINO 2026 gives it (SPEC.md §5).

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

mod common;

use conform_ir::writer::model_difference;
use conform_ir::{read_model, read_model_from_bytes, write_model, write_model_to_bytes};
use std::collections::HashSet;
use std::path::Path;

#[test]
fn every_corpus_model_round_trips() {
    for xml in common::corpus_models() {
        let a = read_model(&xml).unwrap();
        let (text, bin) = write_model_to_bytes(&a).unwrap();
        let b = read_model_from_bytes(text.as_bytes(), bin.clone(), Path::new("rewritten.xml"))
            .unwrap_or_else(|e| panic!("{}: the written IR does not read back: {e}", xml.display()));
        assert_eq!(b.ir_version, 11);
        if let Some(d) = model_difference(&a, &b) {
            panic!("{}: {d}", xml.display());
        }
        // Written again, the bytes are identical: the writer is deterministic and stable.
        let (text2, bin2) = write_model_to_bytes(&b).unwrap();
        assert_eq!(text, text2, "{}", xml.display());
        assert_eq!(bin, bin2, "{}", xml.display());
        // The .bin holds each distinct constant blob once, with no padding: its length is the sum
        // of the distinct (offset, size) ranges, which tile it from 0.
        let mut ranges: Vec<(u64, u64)> = b
            .nodes()
            .iter()
            .filter_map(|n| n.constant)
            .map(|c| (c.offset, c.size))
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        ranges.sort();
        let mut end = 0;
        for (o, s) in &ranges {
            assert_eq!(*o, end, "{}: gap or overlap in the written .bin", xml.display());
            end = o + s;
        }
        assert_eq!(end, bin.len() as u64, "{}", xml.display());
    }
}

#[test]
fn every_openvino_written_v11_file_is_reproduced_byte_for_byte() {
    // OpenVINO 2026.4.1 serialized every v11 corpus IR (manifest `produced_by`). Their layer ids,
    // constants and edges are in OpenVINO's order already, so the writer must give back the same
    // XML and .bin, byte for byte: layout, attribute spelling, escaping, blob deduplication and
    // the order of edges sharing a producer (OpenVINO's unstable `std::sort`, replayed).
    let mut n = 0;
    for xml in common::corpus_models() {
        let m = read_model(&xml).unwrap();
        if m.ir_version != 11 {
            continue;
        }
        let (text, bin) = write_model_to_bytes(&m).unwrap();
        let original = std::fs::read_to_string(&xml).unwrap();
        for (k, (o, t)) in original.lines().zip(text.lines()).enumerate() {
            assert_eq!(o, t, "{}: line {}", xml.display(), k + 1);
        }
        assert_eq!(original, text, "{}", xml.display());
        assert_eq!(bin, std::fs::read(xml.with_extension("bin")).unwrap(), "{}", xml.display());
        n += 1;
    }
    assert!(n >= 50, "{n}");
}

#[test]
fn libstdcxx_sort_matches_gcc_std_sort() {
    use conform_ir::writer::libstdcxx_sort;
    // 17 elements: one partition step, then insertion sort. Keys with ties, tagged by position.
    // The expected order is what `std::sort` of GCC 12's libstdc++ printed for this input (a
    // 10-line C++ program sorting {key, tag} by key); 400 random inputs agreed likewise.
    let keys = [2, 3, 1, 3, 2, 1, 3, 2, 1, 3, 2, 1, 3, 2, 1, 3, 2];
    let mut v: Vec<(u32, usize)> = keys.iter().copied().zip(0..).collect();
    libstdcxx_sort(&mut v, |a, b| a.0 < b.0);
    let keys_sorted: Vec<u32> = v.iter().map(|e| e.0).collect();
    assert_eq!(keys_sorted, vec![1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3]);
    let tags: Vec<usize> = v.iter().map(|e| e.1).collect();
    assert_eq!(tags, vec![2, 14, 5, 11, 8, 16, 0, 13, 10, 7, 4, 9, 6, 12, 3, 15, 1]);
}

#[test]
fn write_model_writes_xml_and_bin_beside_it() {
    let src = common::corpus_dir().join("conv_s2_asympad_relu__mo_u8__v10/model.xml");
    let m = read_model(&src).unwrap();
    let dir = std::env::temp_dir().join(format!("conform-ir-rt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("copy.xml");
    write_model(&m, &out).unwrap();
    let back = read_model(&out).unwrap();
    assert_eq!(back.ir_version, 11);
    assert_eq!(model_difference(&m, &back), None);
    assert!(dir.join("copy.bin").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn attribute_values_are_escaped() {
    let src = common::corpus_dir().join("conv_s2_asympad_relu__compressed/model.xml");
    let text = std::fs::read_to_string(&src).unwrap();
    let weird = "a&b<c>d\"e'f\tg,h";
    let escaped = "a&amp;b&lt;c&gt;d&quot;e&apos;f&#9;g,h";
    let text = text.replacen("name=\"x\" type=\"Parameter\"", &format!("name=\"{escaped}\" type=\"Parameter\""), 1);
    let m = read_model_from_bytes(text.as_bytes(), std::fs::read(src.with_extension("bin")).unwrap(), &src).unwrap();
    let p = m.parameters()[0];
    assert_eq!(m.node(p).name, weird);
    let (out, bin) = write_model_to_bytes(&m).unwrap();
    let back = read_model_from_bytes(out.as_bytes(), bin, &src).unwrap();
    assert_eq!(back.node(p).name, weird);
    // A tensor name with a comma survives as one name.
    assert_eq!(model_difference(&m, &back), None);
}

#[test]
fn const_element_type_and_shape_are_rewritten_in_openvino_spelling() {
    // Found by the mutation test: `shape=" "` is a scalar like `shape=""`; the writer spells it
    // as OpenVINO does, and the models still compare equal.
    let src = common::corpus_dir().join("conv_s2_asympad_relu__compressed/model.xml");
    let text = std::fs::read_to_string(&src).unwrap();
    assert!(text.contains("element_type=\"f32\" shape=\"\" offset=\"0\""));
    let text = text.replacen(
        "element_type=\"f32\" shape=\"\" offset=\"0\"",
        "element_type=\" f32\" shape=\" \" offset=\"0\"",
        1,
    );
    let m = read_model_from_bytes(text.as_bytes(), std::fs::read(src.with_extension("bin")).unwrap(), &src).unwrap();
    let (out, bin) = write_model_to_bytes(&m).unwrap();
    assert!(!out.contains("shape=\" \""));
    let back = read_model_from_bytes(out.as_bytes(), bin, &src).unwrap();
    assert_eq!(model_difference(&m, &back), None);
}
