//! Budgeted mutation test: corpus IRs with mutated XML bytes, lines, attribute values and `.bin`
//! bytes must read as `Ok` or `Err`, never panic; and a model that reads must write and read back
//! equal. A seeded generator keeps it reproducible; the fuzz targets go further.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

mod common;

use conform_ir::shape_infer::{check_declared_shapes, infer_shapes};
use conform_ir::writer::model_difference;
use conform_ir::{read_model_from_bytes, write_model_to_bytes};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::time::{Duration, Instant};

/// xorshift64*: small, seeded, good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// Values that probe number parsing, limits and overflow.
const NASTY: &[&str] = &[
    "",
    "-1",
    "0",
    "1",
    "?",
    "-0",
    "1..0",
    "0..",
    "2, 2",
    "1,-1",
    ",",
    " ",
    "abc",
    "1e3",
    "0x10",
    "+5",
    "4294967295",
    "4294967296",
    "18446744073709551615",
    "18446744073709551616",
    "99999999999999999999999",
    "9223372036854775807",
    "281474976710656",
    "f8e4m3",
    "f32",
    "u1",
    "i4",
    "boolean",
    "numpy",
    "Const",
    "&amp;",
    "&lt;&gt;",
    "a\\,b",
    "\u{1F600}",
];

/// Byte ranges of every attribute value (between the quotes) in the XML.
fn attribute_values(xml: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i + 1 < xml.len() {
        if xml[i] == b'=' && xml[i + 1] == b'"' {
            let start = i + 2;
            if let Some(len) = xml[start..].iter().position(|&b| b == b'"') {
                out.push((start, start + len));
                i = start + len;
            }
        }
        i += 1;
    }
    out
}

fn mutate(rng: &mut Rng, xml: &[u8], bin: &[u8]) -> (Vec<u8>, Vec<u8>, String) {
    let mut x = xml.to_vec();
    let mut b = bin.to_vec();
    let what = match rng.below(9) {
        0..=2 => {
            // An attribute value replaced by a nasty one, or a random number.
            let vals = attribute_values(&x);
            let (s, e) = vals[rng.below(vals.len())];
            let v = if rng.below(3) == 0 { rng.next().to_string() } else { NASTY[rng.below(NASTY.len())].to_string() };
            x.splice(s..e, v.bytes());
            format!("attribute at {s} := {v:?}")
        }
        3 => {
            let i = rng.below(x.len());
            x[i] = rng.next() as u8;
            format!("xml byte {i} changed")
        }
        4 => {
            let i = rng.below(x.len());
            x.truncate(i);
            format!("xml truncated to {i}")
        }
        5 => {
            // A line deleted or duplicated (drops ports, edges, dims; doubles them).
            let lines: Vec<&[u8]> = xml.split(|&c| c == b'\n').collect();
            let k = rng.below(lines.len());
            let dup = rng.below(2) == 0;
            let mut out = Vec::with_capacity(x.len() + 100);
            for (j, l) in lines.iter().enumerate() {
                if j == k && !dup {
                    continue;
                }
                out.extend_from_slice(l);
                out.push(b'\n');
                if j == k {
                    out.extend_from_slice(l);
                    out.push(b'\n');
                }
            }
            x = out;
            format!("line {k} {}", if dup { "duplicated" } else { "deleted" })
        }
        6 => {
            let i = rng.below(b.len() + 1);
            b.truncate(i);
            format!("bin truncated to {i}")
        }
        7 => {
            for _ in 0..8 {
                if !b.is_empty() {
                    let i = rng.below(b.len());
                    b[i] = rng.next() as u8;
                }
            }
            "bin bytes changed".into()
        }
        _ => {
            // Two attribute values swapped (ids, ports, offsets exchanged).
            let vals = attribute_values(&x);
            let (a, c) = (vals[rng.below(vals.len())], vals[rng.below(vals.len())]);
            let (first, second) = if a.0 <= c.0 { (a, c) } else { (c, a) };
            if first.1 <= second.0 {
                let va = x[first.0..first.1].to_vec();
                let vc = x[second.0..second.1].to_vec();
                x.splice(second.0..second.1, va);
                x.splice(first.0..first.1, vc);
            }
            "two attribute values swapped".into()
        }
    };
    (x, b, what)
}

#[test]
fn mutated_corpus_irs_never_panic_and_readable_ones_round_trip() {
    // CONFORM_MUTATION_CASES / CONFORM_MUTATION_SEED / CONFORM_MUTATION_SECS run it longer by hand.
    let env = |k: &str, d: u64| std::env::var(k).ok().and_then(|v| v.parse().ok()).unwrap_or(d);
    let max_cases = env("CONFORM_MUTATION_CASES", 1500);
    let budget = Duration::from_secs(env("CONFORM_MUTATION_SECS", 15));
    let start = Instant::now();
    // All but the two largest models, so that thousands of cases fit the budget in a debug build.
    let models: Vec<(Vec<u8>, Vec<u8>)> = common::corpus_models()
        .into_iter()
        .map(|p| (std::fs::read(&p).unwrap(), std::fs::read(p.with_extension("bin")).unwrap()))
        .filter(|(x, _)| x.len() < 400_000)
        .collect();
    assert!(models.len() > 30);
    let mut rng = Rng(env("CONFORM_MUTATION_SEED", 0x5EED_1234_ABCD_0001) | 1);
    let (mut ok, mut err, mut cases) = (0, 0, 0);
    while cases < max_cases && start.elapsed() < budget {
        let (xml, bin) = &models[rng.below(models.len())];
        let (x, b, what) = mutate(&mut rng, xml, bin);
        cases += 1;
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            let m = match read_model_from_bytes(&x, b.clone(), Path::new("mutant.xml")) {
                Ok(m) => m,
                Err(e) => {
                    // Messages are for people: non-empty and name the file.
                    let msg = e.to_string();
                    assert!(msg.contains("mutant"), "{msg}");
                    return false;
                }
            };
            for i in 0..m.nodes().len() {
                if m.node(i).is_const() {
                    m.const_tensor(i).unwrap();
                }
            }
            // Shape inference and the declared-shape check take any readable model: Ok or Err.
            if let Ok(shapes) = infer_shapes(&m) {
                let _ = check_declared_shapes(&m, &shapes);
            }
            let (text, bin2) = write_model_to_bytes(&m).unwrap_or_else(|e| panic!("read but cannot write: {e}"));
            let back = read_model_from_bytes(text.as_bytes(), bin2, Path::new("rewritten.xml"))
                .unwrap_or_else(|e| panic!("written but cannot re-read: {e}"));
            if let Some(d) = model_difference(&m, &back) {
                panic!("round trip differs: {d}");
            }
            true
        }));
        match outcome {
            Ok(true) => ok += 1,
            Ok(false) => err += 1,
            Err(_) => panic!("case {cases} ({what}) panicked"),
        }
    }
    assert!(cases >= 200, "only {cases} cases ran within the budget");
    // Both outcomes occur: the mutations reach past the XML parser into the IR checks.
    assert!(ok > 20 && err > 20, "ok {ok}, err {err}");
    eprintln!("mutation test: {cases} cases, {ok} read, {err} rejected, {:?}", start.elapsed());
}

#[test]
fn mutated_npy_files_never_panic() {
    use conform_ir::npy::{npy_bytes, read_npy_bytes};
    let files: Vec<Vec<u8>> = common::corpus_models()
        .iter()
        .take(12)
        .map(|p| std::fs::read(p.with_file_name("input_0.npy")).unwrap())
        .collect();
    let mut rng = Rng(0xA11C_E5ED_0000_0003);
    let (mut ok, mut err) = (0, 0);
    for case in 0..3000 {
        let mut b = files[rng.below(files.len())].clone();
        match rng.below(4) {
            // Most mutations in the header, where the parsing is.
            0..=1 => {
                let i = rng.below(b.len().min(140));
                b[i] = match rng.below(3) {
                    0 => rng.next() as u8,
                    1 => b"0123456789(),' :TrueFalse<>|fiub"[rng.below(32)],
                    _ => b' ',
                };
            }
            2 => {
                let i = rng.below(b.len());
                b.truncate(i);
            }
            _ => {
                let i = rng.below(b.len().min(140));
                b.insert(i, b"0123456789,"[rng.below(11)]);
            }
        }
        let r = catch_unwind(AssertUnwindSafe(|| match read_npy_bytes(&b, Path::new("m.npy")) {
            Ok(t) => {
                let again = read_npy_bytes(&npy_bytes(&t).unwrap(), Path::new("again.npy")).unwrap();
                assert_eq!(npy_bytes(&again).unwrap(), npy_bytes(&t).unwrap());
                true
            }
            Err(_) => false,
        }));
        match r {
            Ok(true) => ok += 1,
            Ok(false) => err += 1,
            Err(_) => panic!("npy case {case} panicked"),
        }
    }
    assert!(ok > 100 && err > 100, "ok {ok}, err {err}");
}
