//! Seeded kernel bugs (`mutant:NAME`, cargo feature `mutants` only), for testing the harness.

/// Names of the seeded-bug variants.
pub fn names() -> Vec<String> {
    Vec::new()
}
