//! Helpers shared by the integration tests: the corpus location and its cases.

#![allow(dead_code)]

use std::path::PathBuf;

/// The repository's `corpus/` directory.
pub fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../corpus")
}

/// Every `corpus/*/model.xml`, sorted by case name.
pub fn corpus_models() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .expect("corpus/ exists")
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("model.xml"))
        .filter(|p| p.exists())
        .collect();
    v.sort();
    assert!(v.len() >= 50, "expected the whole corpus, found {} cases", v.len());
    v
}
